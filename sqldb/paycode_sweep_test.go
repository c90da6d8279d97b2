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

// TestPaycodeSweepReadsOnlyWhatItDeletes: every pay-code fetch deletes the
// codes an hour past their minute, used or not, and must not read the
// codes of the hour, which are kept so that a replay is told as one: a
// county's worth of codes read on every fetch, in SQLite's one writer, was
// 41 ms at 300,000 (0014_paycode_sweep, 0020_paycodes_live). 3,000
// residents each hold a code of the last hour; three codes, two of them
// used, are two hours old. The sweep deletes the three and reads no other.
func TestPaycodeSweepReadsOnlyWhatItDeletes(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
		village, err := sqldb.NewOrgService(db).CreateOrg(ctx, jifen.OrgInput{Name: "新窑村", Kind: jifen.OrgVillage})
		if err != nil {
			t.Fatal(err)
		}
		const residents = 3000
		now := time.Now().UTC().Truncate(time.Microsecond)
		stale, recent := now.Add(-2*time.Hour), now.Add(-30*time.Minute)
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
			SELECT 'recent-' || id, id, ? FROM people WHERE volunteer_no LIKE 'SWEEP%'`, recent)
		exec(`INSERT INTO paycodes (code_hash, person_id, expires_at, used_at)
			SELECT 'used-' || id, id, ?, ? FROM people WHERE volunteer_no IN ('SWEEP1', 'SWEEP2')`, stale, stale)
		exec(`INSERT INTO paycodes (code_hash, person_id, expires_at)
			SELECT 'stale-' || id, id, ? FROM people WHERE volunteer_no = 'SWEEP3'`, stale)
		count := func(where string, args ...any) int {
			t.Helper()
			rows, err := db.QueryForTest(ctx, "SELECT COUNT(*) FROM paycodes WHERE "+where, args...)
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
		if n := count("1 = 1"); n != residents+3 {
			t.Fatalf("%d codes, want %d", n, residents+3)
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
				t.Fatalf("the sweep read codes of the hour:\n%s", plan)
			}
		} else {
			read, err = sqliteIndexes(ctx, db, sqldb.PaycodeSweep, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(read) == 0 {
				t.Fatal("the sweep searches no index: it reads every code")
			}
			// A range of the expiry index reads just the rows below the
			// hour (then each by its key); an index of anything else
			// would read them all.
			ranged := false
			for _, index := range read {
				def := sqliteIndexSQL(t, ctx, db, index)
				switch {
				case strings.HasSuffix(def, "ON paycodes(expires_at)"):
					ranged = true
				case def != "": // the primary key's, SQLite's own: no statement
					t.Fatalf("the sweep searches %s, not the expiry index: %s", index, def)
				}
			}
			if !ranged {
				t.Fatalf("the sweep does not search the expiry index: %v", read)
			}
			exec(sqldb.PaycodeSweep, now.Add(-time.Hour))
		}
		if n := count("expires_at < ?", now.Add(-time.Hour)); n != 0 {
			t.Fatalf("%d codes an hour past their minute left after the sweep, want 0", n)
		}
		if n := count("1 = 1"); n != residents {
			t.Fatalf("%d codes after the sweep, want the hour's %d", n, residents)
		}

		// A backlog (the codes of an evening, or of the days before 0020)
		// goes a hundred a fetch, oldest first, not all in one.
		exec(`INSERT INTO paycodes (code_hash, person_id, expires_at)
			SELECT 'backlog-' || id, id, ? FROM people WHERE volunteer_no LIKE 'SWEEP%' AND id % 20 = 0`, stale)
		backlog := count("expires_at < ?", now.Add(-time.Hour))
		for want := backlog - 100; want >= 0; want -= 100 {
			exec(sqldb.PaycodeSweep, now.Add(-time.Hour))
			if n := count("expires_at < ?", now.Add(-time.Hour)); n != want {
				t.Fatalf("%d of a backlog of %d left after a sweep, want %d", n, backlog, want)
			}
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
		if _, after, ok := strings.Cut(strings.Replace(step, " COVERING INDEX ", " INDEX ", 1), " USING INDEX "); ok {
			out = append(out, strings.Fields(after)[0])
		}
	}
	return out, nil
}

// sqliteIndexSQL is the statement that made an index, empty for an index
// SQLite made itself (a primary key's).
func sqliteIndexSQL(t *testing.T, ctx context.Context, db *sqldb.DB, index string) string {
	t.Helper()
	rows, err := db.QueryForTest(ctx, "SELECT COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' AND name = ?", index)
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
