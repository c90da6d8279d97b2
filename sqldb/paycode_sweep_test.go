package sqldb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// TestPaycodeSweepReadsUsedCodesOnly: every pay-code fetch deletes the
// used codes an hour past their minute, and must not read the unused codes
// residents leave behind (one each at most, kept until their next fetch):
// a county's worth of them made every fetch read them all, in SQLite's one
// writer. 3,000 residents each hold a stale unused code, two a used one;
// the sweep deletes the used two and reads no unused code.
func TestPaycodeSweepReadsUsedCodesOnly(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
		village, err := sqldb.NewOrgService(db).CreateOrg(ctx, jifen.OrgInput{Name: "新窑村", Kind: jifen.OrgVillage})
		if err != nil {
			t.Fatal(err)
		}
		const residents = 3000
		now := time.Now().UTC().Truncate(time.Microsecond)
		stale := now.Add(-2 * time.Hour)
		exec := func(query string, args ...any) {
			t.Helper()
			if err := db.ExecForTest(ctx, query, args...); err != nil {
				t.Fatal(err)
			}
		}
		exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO people (name, gender, political_status, home_org_id, home_org_path, volunteer_no, status, created_at, updated_at)
			SELECT '村民' || i, 'male', 'masses', ?, ?, 'SWEEP' || i, 'active', ?, ? FROM n`, residents, village.ID, village.Path, now, now)
		exec(`INSERT INTO paycodes (code_hash, person_id, expires_at)
			SELECT 'unused-' || id, id, ? FROM people WHERE volunteer_no LIKE 'SWEEP%'`, stale)
		exec(`INSERT INTO paycodes (code_hash, person_id, expires_at, used_at)
			SELECT 'used-' || id, id, ?, ? FROM people WHERE volunteer_no IN ('SWEEP1', 'SWEEP2')`, stale, stale)
		count := func(where string) int {
			t.Helper()
			rows, err := db.QueryForTest(ctx, "SELECT COUNT(*) FROM paycodes WHERE "+where)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			if !rows.Next() || rows.Scan(&n) != nil {
				t.Fatalf("count paycodes where %s: %v", where, rows.Err())
			}
			return n
		}
		if n := count("used_at IS NULL"); n != residents {
			t.Fatalf("%d unused codes, want %d", n, residents)
		}

		// What the sweep reads: PostgreSQL runs it and tells how many rows
		// it read and threw away; SQLite tells which index it searches, and
		// that index must hold used codes alone.
		var read []string
		if db.Dialect() == "postgres" {
			exec("ANALYZE paycodes")
			rows, err := db.QueryForTest(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+sqldb.PaycodeSweep, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				read = append(read, line)
			}
			rows.Close()
			if plan := strings.Join(read, "\n"); strings.Contains(plan, "Rows Removed by Filter") || strings.Contains(plan, "Seq Scan") {
				t.Fatalf("the sweep read unused codes:\n%s", plan)
			}
		} else {
			read, err = sqliteIndexes(ctx, db, sqldb.PaycodeSweep, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(read) == 0 {
				t.Fatal("the sweep searches no index: it reads every code")
			}
			for _, index := range read {
				def := sqliteIndexSQL(t, ctx, db, index)
				if !strings.Contains(def, "WHERE used_at IS NOT NULL") {
					t.Fatalf("the sweep searches %s, which holds unused codes too: %s", index, def)
				}
			}
			exec(sqldb.PaycodeSweep, now.Add(-time.Hour))
		}
		if n := count("used_at IS NOT NULL"); n != 0 {
			t.Fatalf("%d used codes an hour past their minute left after the sweep, want 0", n)
		}
		if n := count("used_at IS NULL"); n != residents {
			t.Fatalf("%d unused codes after the sweep, want all %d", n, residents)
		}
	})
}

// sqliteIndexes are the indexes SQLite's plan for a statement searches.
func sqliteIndexes(ctx context.Context, db *sqldb.DB, query string, args ...any) ([]string, error) {
	plan, err := queryPlan(ctx, db, query, args...)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, step := range plan {
		if _, after, ok := strings.Cut(step, " USING INDEX "); ok {
			out = append(out, strings.Fields(after)[0])
		}
	}
	return out, nil
}

// sqliteIndexSQL is the statement that made an index.
func sqliteIndexSQL(t *testing.T, ctx context.Context, db *sqldb.DB, index string) string {
	t.Helper()
	rows, err := db.QueryForTest(ctx, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", index)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var def string
	if !rows.Next() || rows.Scan(&def) != nil {
		t.Fatalf("no index %s: %v", index, rows.Err())
	}
	return def
}
