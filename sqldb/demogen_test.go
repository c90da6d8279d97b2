package sqldb_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/demo"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
	"jifen/wire"
)

// demoGen is a small generated county: 2,000 people over a year, three
// villages, so an interruption can land between them and inside one.
var demoGen = sqldb.DemoGen{People: 2000, Years: 1, Seed: 7, County: demo.County{}, Under: "崇信县",
	AwardBy: "13900000001", ReviewBy: "13900000004"}

// demoLogins are the printed demo phones; generating must leave them working.
var demoLogins = []string{"13900000000", "13900000001", "13900000002", "13900000003", "13900000004", "13900000005", "13900000006", "13900000007"}

func loadDemoCounty(t *testing.T, dsn string) *sqldb.DB {
	t.Helper()
	db := sqldbtest.Open(t, dsn)
	db.Now = demoClock
	if _, err := demo.Load(context.Background(), wire.Demo(db)); err != nil {
		t.Fatal(err)
	}
	return db
}

// demoClock runs from noon today in Asia/Shanghai. The generated county
// is dated from the local day its first run saw, so the runs one test
// compares must not see midnight pass between them; the real clock did,
// in a CI run that began just before midnight in Shanghai.
var demoClock = func() func() time.Time {
	began := time.Now()
	y, m, d := began.In(jifen.Zone).Date()
	noon := time.Date(y, m, d, 12, 0, 0, 0, jifen.Zone)
	return func() time.Time { return noon.Add(time.Since(began)).UTC() }
}()

// demoFigures are what two runs with one seed must agree on: row counts
// and the sums that a difference in any generated value would move.
func demoFigures(t *testing.T, db *sqldb.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, q := range []string{
		"SELECT COUNT(*) FROM orgs", "SELECT COUNT(*) FROM people", "SELECT COUNT(*) FROM households", "SELECT COUNT(*) FROM household_members",
		"SELECT COUNT(*) FROM grants", "SELECT COUNT(*) FROM stores", "SELECT COUNT(*) FROM items", "SELECT COUNT(*) FROM activities",
		"SELECT COUNT(*) FROM signups", "SELECT COUNT(*) FROM attendance", "SELECT COUNT(*) FROM service_records",
		"SELECT COUNT(*) FROM awards", "SELECT COUNT(*) FROM redemptions", "SELECT COUNT(*) FROM redemption_lines",
		"SELECT COUNT(*) FROM accounts", "SELECT COUNT(*) FROM ledger_transactions", "SELECT COUNT(*) FROM postings",
		"SELECT COUNT(*) FROM block_items", "SELECT COUNT(*) FROM unsealed",
		"SELECT COALESCE(SUM(minutes), 0) FROM service_records", "SELECT COALESCE(SUM(points), 0) FROM awards",
		"SELECT COALESCE(SUM(shortfall), 0) FROM awards", "SELECT COALESCE(SUM(points), 0) FROM redemptions",
		"SELECT COALESCE(SUM(balance), 0) FROM accounts", "SELECT COALESCE(SUM(score), 0) FROM accounts",
		"SELECT COUNT(*) FROM awards WHERE source = 'manual' AND points < 0",
		"SELECT COUNT(*) FROM awards WHERE decided_by IS NOT NULL",
		"SELECT COUNT(DISTINCT name) FROM people",
	} {
		var n int64
		if err := db.DemoQueryRowForTest(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out[q] = n
	}
	return out
}

// demoBase is the last id of the demo county's own rows, before a county
// is generated on top.
type demoBase struct{ people, records, txs int64 }

func demoBases(t *testing.T, db *sqldb.DB) demoBase {
	t.Helper()
	var b demoBase
	for q, n := range map[string]*int64{"people": &b.people, "service_records": &b.records, "ledger_transactions": &b.txs} {
		if err := db.DemoQueryRowForTest("SELECT COALESCE(MAX(id), 0) FROM " + q).Scan(n); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// demoDigest hashes the generated rows that carry ids and the ledger's
// hashes: people, service records, every transaction's hash, and each
// generated block's size and root (its own hash holds the seal time,
// which differs from database to database). A village written with other
// ids or linked elsewhere in the chain changes it.
func demoDigest(t *testing.T, db *sqldb.DB, b demoBase) string {
	t.Helper()
	h := sha256.New()
	for _, q := range []string{
		fmt.Sprintf("SELECT id, name, home_org_id, volunteer_no FROM people WHERE id > %d ORDER BY id", b.people),
		fmt.Sprintf("SELECT id, person_id, activity_id, minutes FROM service_records WHERE id > %d ORDER BY id", b.records),
		fmt.Sprintf("SELECT id, hash, '' , '' FROM ledger_transactions WHERE id > %d ORDER BY id", b.txs),
		fmt.Sprintf(`SELECT number, tx_count, root, '' FROM blocks
			WHERE number > (SELECT COALESCE(MAX(block_number), 0) FROM block_items WHERE tx_id <= %d) ORDER BY number`, b.txs),
	} {
		rows, err := db.DemoQueryForTest(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		n := 0
		for rows.Next() {
			var c [4]string
			if err := rows.Scan(&c[0], &c[1], &c[2], &c[3]); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			fmt.Fprintf(h, "%q\n", c)
			n++
		}
		rows.Close()
		if n == 0 {
			t.Fatalf("%s: no rows", q)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// demoSteps lists the villages the progress table holds as finished.
func demoSteps(t *testing.T, db *sqldb.DB) []int {
	t.Helper()
	rows, err := db.DemoQueryForTest("SELECT step FROM demogen_progress WHERE step > 0 ORDER BY step")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var s int
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// afterStep returns a function for DemoGenHooked that holds a village
// listed in fail open until village wait has committed beside it, then
// fails it.
func afterStep(db *sqldb.DB, wait int, fail ...int) func(step int) error {
	return func(step int) error {
		if !slices.Contains(fail, step) {
			return nil
		}
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var n int
			if err := db.DemoQueryRowForTest(fmt.Sprintf("SELECT COUNT(*) FROM demogen_progress WHERE step = %d", wait)).Scan(&n); err != nil {
				return err
			}
			if n == 1 {
				return errStopped
			}
		}
		return fmt.Errorf("village %d never committed while village %d waited", wait, step)
	}
}

var errStopped = errors.New("stopped on purpose")

func TestGenerateDemo(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			bg := context.Background()
			sys := jifen.WithActor(bg, jifen.SystemActor())

			// An uninterrupted run.
			whole := loadDemoCounty(t, dsn(t))
			before := demoFigures(t, whole)
			base := demoBases(t, whole)
			began := time.Now()
			rep, err := whole.GenerateDemo(bg, demoGen)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d villages in %s", name, rep.Villages, time.Since(began).Round(time.Millisecond))
			want := demoFigures(t, whole)
			wantDigest := demoDigest(t, whole, base)
			if name == "postgres" {
				// The planner's statistics and the visibility map of what
				// was loaded (genVacuum): autovacuum may be off.
				var unseen int
				if err := whole.DemoQueryRowForTest(`SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = current_schema()
					AND relname IN ('awards', 'service_records', 'people', 'postings') AND (last_vacuum IS NULL OR last_analyze IS NULL)`).Scan(&unseen); err != nil {
					t.Fatal(err)
				}
				if unseen != 0 {
					t.Errorf("%d of the loaded tables were left without VACUUM (ANALYZE)", unseen)
				}
			}

			// The ratios of the issue.
			people := want["SELECT COUNT(*) FROM people"] - before["SELECT COUNT(*) FROM people"]
			records := want["SELECT COUNT(*) FROM service_records"] - before["SELECT COUNT(*) FROM service_records"]
			households := want["SELECT COUNT(*) FROM households"] - before["SELECT COUNT(*) FROM households"]
			awards := want["SELECT COUNT(*) FROM awards"] - before["SELECT COUNT(*) FROM awards"] - records
			sales := want["SELECT COUNT(*) FROM redemptions"] - before["SELECT COUNT(*) FROM redemptions"]
			switch {
			case people != 2000:
				t.Errorf("generated %d people, want 2000", people)
			case records != 10*people:
				t.Errorf("generated %d service records for %d people, want ten each", records, people)
			case households < people/4 || households > people/2:
				t.Errorf("%d households for %d people, want about one per three", households, people)
			case awards < 2*people || awards > 4*people:
				t.Errorf("%d awards by rule for %d people in a year, want about three each", awards, people)
			case sales < people/2 || sales > people:
				t.Errorf("%d purchases for %d people in a year, want up to one each", sales, people)
			case want["SELECT COUNT(*) FROM awards WHERE source = 'manual' AND points < 0"] == 0:
				t.Error("no deductions were generated")
			case want["SELECT COUNT(DISTINCT name) FROM people"] < people/2:
				t.Errorf("only %d distinct names among %d people", want["SELECT COUNT(DISTINCT name) FROM people"], people)
			}

			// Interrupted a little after 40%, then run again.
			resumed := loadDemoCounty(t, dsn(t))
			resumedBase := demoBases(t, resumed)
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			var stopAt int
			pctx := jifen.WithProgress(ctx, func(done, total int) {
				if stopAt == 0 && done*10 >= total*4 {
					stopAt = done
					// Let the next village start writing, so the cancel
					// usually lands inside its transaction.
					time.AfterFunc(30*time.Millisecond, cancel)
				}
			})
			if _, err := resumed.GenerateDemo(pctx, demoGen); err == nil || ctx.Err() == nil {
				t.Fatalf("an interrupted run answered %v", err)
			}
			half := demoFigures(t, resumed)
			got := half["SELECT COUNT(*) FROM people"] - before["SELECT COUNT(*) FROM people"]
			if got == 0 || got >= 2000 {
				t.Fatalf("after the interruption %d people are written; want some, not all", got)
			}
			// A village is written whole or not at all.
			var finished int64
			rows, err := resumed.DemoQueryForTest("SELECT note FROM demogen_progress WHERE step > 0")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var note string
				var n int64
				rows.Scan(&note)
				if _, err := fmt.Sscanf(note[strings.Index(note, ": ")+2:], "%d people", &n); err != nil {
					t.Fatalf("progress note %q: %v", note, err)
				}
				finished += n
			}
			rows.Close()
			if finished != got {
				t.Fatalf("%d people written, but the finished villages hold %d: a village was half written", got, finished)
			}
			rep, err = resumed.GenerateDemo(bg, demoGen)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Resumed == 0 || rep.Resumed >= rep.Villages {
				t.Errorf("the rerun found %d of %d villages written before", rep.Resumed, rep.Villages)
			}
			again := demoFigures(t, resumed)
			for q, n := range want {
				if again[q] != n {
					t.Errorf("%s: %d after an interrupted run and a rerun, %d after one run", q, again[q], n)
				}
			}
			if d := demoDigest(t, resumed, resumedBase); d != wantDigest {
				t.Error("after an interrupted run and a rerun, the generated ids or ledger hashes differ from one run's")
			}
			// Rerunning a finished county writes nothing more.
			if _, err := resumed.GenerateDemo(bg, demoGen); err != nil {
				t.Fatal(err)
			}
			if n := demoFigures(t, resumed)["SELECT COUNT(*) FROM people"]; n != want["SELECT COUNT(*) FROM people"] {
				t.Errorf("a rerun of a finished county changed people from %d to %d", want["SELECT COUNT(*) FROM people"], n)
			}
			// Other parameters on the same database are refused.
			other := demoGen
			other.Seed = 8
			if _, err := resumed.GenerateDemo(bg, other); jifen.ErrorCode(err) != "demo_exists" {
				t.Errorf("another seed on a generated database: %v", err)
			}

			dbs := []*sqldb.DB{whole, resumed}

			// Two villages are written at once on PostgreSQL: village 3
			// commits while village 2 fails. The rerun must write village 2
			// with the ids and chain head it had, not after village 3's.
			if name == "postgres" {
				gap := loadDemoCounty(t, dsn(t))
				gapBase := demoBases(t, gap)
				_, err := gap.GenerateDemo(bg, sqldb.DemoGenHooked(demoGen, afterStep(gap, 3, 2)))
				if !errors.Is(err, errStopped) {
					t.Fatalf("a run whose village 2 fails answered %v", err)
				}
				if got := demoSteps(t, gap); !slices.Equal(got, []int{1, 3}) {
					t.Fatalf("finished villages %v after village 2 failed beside village 3, want [1 3]", got)
				}
				rep, err := gap.GenerateDemo(bg, demoGen)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Resumed != 2 {
					t.Errorf("the rerun found %d villages written before, want 2", rep.Resumed)
				}
				checkSame(t, "villages finished out of order, then a rerun", gap, gapBase, want, wantDigest)
				dbs = append(dbs, gap)
			}

			// A county an older jifen began: its progress rows keep no ids
			// (it wrote villages in order and went on from MAX(id)).
			old := loadDemoCounty(t, dsn(t))
			oldBase := demoBases(t, old)
			if _, err := old.GenerateDemo(bg, sqldb.DemoGenHooked(demoGen, afterStep(old, 1, 2, 3))); !errors.Is(err, errStopped) {
				t.Fatalf("a run stopped after village 1 answered %v", err)
			}
			if got := demoSteps(t, old); !slices.Equal(got, []int{1}) {
				t.Fatalf("finished villages %v, want [1]", got)
			}
			rows, err = old.DemoQueryForTest("SELECT step, note FROM demogen_progress WHERE step > 0")
			if err != nil {
				t.Fatal(err)
			}
			notes := map[int]string{}
			for rows.Next() {
				var step int
				var note string
				rows.Scan(&step, &note)
				notes[step] = note
			}
			rows.Close()
			if err := old.ExecForTest(bg, "DELETE FROM demogen_progress WHERE step < 0"); err != nil {
				t.Fatal(err)
			}
			for step, note := range notes {
				text, _, ok := strings.Cut(note, " | ")
				if !ok {
					t.Fatalf("progress note %q keeps no ids", note)
				}
				if err := old.ExecForTest(bg, "UPDATE demogen_progress SET note = ? WHERE step = ?", text, step); err != nil {
					t.Fatal(err)
				}
			}
			if rep, err := old.GenerateDemo(bg, demoGen); err != nil {
				t.Fatal(err)
			} else if rep.Resumed != 1 {
				t.Errorf("the rerun of an older county found %d villages written before, want 1", rep.Resumed)
			}
			checkSame(t, "a county an older jifen began, then a rerun", old, oldBase, want, wantDigest)
			dbs = append(dbs, old)

			for _, db := range dbs {
				if name == "sqlite" {
					// The load does not check foreign keys row by row on
					// SQLite; every reference must hold all the same.
					rows, err := db.DemoQueryForTest("PRAGMA foreign_key_check")
					if err != nil {
						t.Fatal(err)
					}
					for rows.Next() {
						var table, parent string
						var rowid, fk any
						rows.Scan(&table, &rowid, &parent, &fk)
						t.Errorf("foreign key broken: %s row %v → %s", table, rowid, parent)
					}
					rows.Close()
				}
				r, err := sqldb.NewLedgerService(db).Verify(sys, "")
				if err != nil {
					t.Fatal(err)
				}
				if r.Problem != "" || r.Unsealed != 0 || r.Transactions == 0 {
					t.Fatalf("verify after generating: %+v", r)
				}
				auth := sqldb.NewAuthService(db)
				for _, phone := range demoLogins {
					if _, err := auth.SignIn(bg, phone, demo.Password, "api", localIP); err != nil {
						t.Errorf("demo login %s: %v", phone, err)
					}
				}
				// The services keep working on top: the next ids do not collide.
				if _, err := sqldb.NewLedgerService(db).Account(sys, jifen.AccountPerson, 1<<40); err != nil {
					t.Errorf("a new account after generating: %v", err)
				}
			}
		})
	}
}

// checkSame compares a county with the one an uninterrupted run wrote.
func checkSame(t *testing.T, what string, db *sqldb.DB, base demoBase, want map[string]int64, wantDigest string) {
	t.Helper()
	got := demoFigures(t, db)
	for q, n := range want {
		if got[q] != n {
			t.Errorf("%s: %s: %d, %d after one run", what, q, got[q], n)
		}
	}
	if d := demoDigest(t, db, base); d != wantDigest {
		t.Errorf("%s: the generated ids or ledger hashes differ from one run's", what)
	}
}
