package sqldb

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/secret"
)

// benchDB opens a fresh database for a benchmark; it mirrors sqldbtest,
// which this package's own tests cannot import (it imports sqldb).
func benchDB(b testing.TB, dsn string) *DB {
	keys, _ := secret.New([]byte("jifen-bench-master-key-0123456789abcdef"))
	db, err := Open(context.Background(), dsn, keys)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// seedOrgTree writes a county-scale tree straight into the table in
// multi-row batches: 1 city, 10 counties, 20 towns each, 20 villages per
// town, 24 teams per village: 100,211 orgs.
func seedOrgTree(b *testing.B, db *DB) (countyPath string, countyID int64) {
	ctx := context.Background()
	type row struct {
		id, parent int64
		kind       jifen.OrgKind
		path       string
		depth      int
	}
	var rows []row
	next := int64(1)
	add := func(parent int64, parentPath string, kind jifen.OrgKind, depth int) (int64, string) {
		id := next
		next++
		path := jifen.OrgPath(parentPath, id)
		rows = append(rows, row{id, parent, kind, path, depth})
		return id, path
	}
	city, cityPath := add(0, "/", jifen.OrgCity, 0)
	for c := 0; c < 10; c++ {
		county, cp := add(city, cityPath, jifen.OrgCounty, 1)
		if c == 3 {
			countyPath, countyID = cp, county
		}
		for t := 0; t < 20; t++ {
			town, tp := add(county, cp, jifen.OrgTown, 2)
			for v := 0; v < 20; v++ {
				village, vp := add(town, tp, jifen.OrgVillage, 3)
				for k := 0; k < 24; k++ {
					add(village, vp, jifen.OrgTeam, 4)
				}
			}
		}
	}
	now := time.Now().UTC()
	err := db.inTx(ctx, func(tx *Tx) error {
		for start := 0; start < len(rows); start += 500 {
			end := min(start+500, len(rows))
			var sb strings.Builder
			var args []any
			sb.WriteString("INSERT INTO orgs (id, parent_id, kind, name, path, depth, created_at) VALUES ")
			for i, r := range rows[start:end] {
				if i > 0 {
					sb.WriteString(",")
				}
				sb.WriteString("(?, ?, ?, ?, ?, ?, ?)")
				var parent any
				if r.parent != 0 {
					parent = r.parent
				}
				args = append(args, r.id, parent, r.kind, fmt.Sprintf("org %d", r.id), r.path, r.depth, now)
			}
			if _, err := tx.exec(ctx, sb.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if db.Dialect() == "postgres" {
		if _, err := db.w.Exec("ANALYZE orgs"); err != nil {
			b.Fatal(err)
		}
	}
	return countyPath, countyID
}

// BenchmarkSubtree compares the materialised-path range scan jifen uses
// with a recursive walk over parent_id on the same 100 k-org tree: how
// many orgs lie in one county's subtree (10 k of them).
func BenchmarkSubtree(b *testing.B) {
	for name, dsn := range benchDSNs(b) {
		b.Run(name, func(b *testing.B) {
			db := benchDB(b, dsn)
			path, id := seedOrgTree(b, db)
			ctx := context.Background()
			const want = 1 + 20 + 20*20 + 20*20*24
			b.Run("path_range", func(b *testing.B) {
				for b.Loop() {
					var n int
					if err := db.queryRow(ctx, "SELECT COUNT(*) FROM orgs WHERE path >= ? AND path < ?", path, jifen.PathUpper(path)).Scan(&n); err != nil || n != want {
						b.Fatal(n, err)
					}
				}
			})
			b.Run("recursive_cte", func(b *testing.B) {
				for b.Loop() {
					var n int
					if err := db.queryRow(ctx, `WITH RECURSIVE sub(id) AS (SELECT id FROM orgs WHERE id = ?
						UNION ALL SELECT o.id FROM orgs o JOIN sub ON o.parent_id = sub.id) SELECT COUNT(*) FROM sub`, id).Scan(&n); err != nil || n != want {
						b.Fatal(n, err)
					}
				}
			})
			b.Run("is_ancestor_check", func(b *testing.B) {
				// The access check on every request: is this org inside that subtree?
				for b.Loop() {
					var p string
					if err := db.queryRow(ctx, "SELECT path FROM orgs WHERE id = ?", id+500).Scan(&p); err != nil || !jifen.PathContains(path, p) {
						b.Fatal(p, err)
					}
				}
			})
		})
	}
}
