package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jifen"
	"jifen/demo"
	"jifen/secret"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// TestBackupWhileWritingRestoresAConsistentCopy loads the demo county,
// keeps three writers busy (an admin deducting with photos, direct ledger
// postings, the sealer) and takes `jifen backup` in the middle of it. The
// archive restored into a fresh database must verify, hold only rows the
// source had, with every balance what the source's postings of exactly the
// backed-up transactions add up to, and the photos byte for byte.
func TestBackupWhileWritingRestoresAConsistentCopy(t *testing.T) {
	for name, common := range commandDSNs(t) {
		t.Run(name, func(t *testing.T) {
			if name == "postgres" {
				for _, tool := range []string{"pg_dump", "pg_restore"} {
					if _, err := exec.LookPath(tool); err != nil {
						t.Skipf("%s is not on PATH", tool)
					}
				}
			}
			if out, err := jifenCmd(t, "", append([]string{"migrate"}, common...)...); err != nil {
				t.Fatalf("migrate: %q %v", out, err)
			}
			db := openForTest(t, common)
			defer db.Close()
			ctx := context.Background()
			start := time.Now()
			if err := loadDemo(ctx, db, "http://127.0.0.1:8080", io.Discard); err != nil {
				t.Fatal(err)
			}
			t.Logf("demo loaded in %v", time.Since(start).Round(time.Millisecond))
			w := startWriters(t, db)

			archive := filepath.Join(t.TempDir(), "backup.tar.gz")
			w.waitFor(t, 10)
			before := w.awards.Load()
			start = time.Now()
			out, err := jifenCmd(t, "", append([]string{"backup", "--out", archive}, common...)...)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("backup: %q %v", out, err)
			}
			secretPath, _ := filepath.Abs(filepath.Join(common[1], "secret.key"))
			for _, want := range []string{"backup written: " + archive, "The secret file is NOT in the backup", secretPath, "claim photos"} {
				if !strings.Contains(out, want) {
					t.Fatalf("backup output lacks %q:\n%s", want, out)
				}
			}
			w.waitFor(t, w.awards.Load()+5)
			w.stop(t)
			t.Logf("backup took %v while %d awards were made during it; %d awards, %d postings, %d seals in all",
				took.Round(time.Millisecond), w.awards.Load()-before, w.awards.Load(), w.posts.Load(), w.seals.Load())
			if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("the archive holds personal data and must be private: %v %v", st.Mode(), err)
			}

			target := restoreTarget(t, name)
			restore := func(extra ...string) (string, error) {
				return jifenCmd(t, "", append([]string{"restore", archive, "--secret-file", secretPath}, append(target, extra...)...)...)
			}
			start = time.Now()
			out, err = restore()
			if err != nil || !strings.Contains(out, "ledger verified") || !strings.Contains(out, "hold what the backup counted") {
				t.Fatalf("restore: %q %v", out, err)
			}
			t.Logf("restore took %v", time.Since(start).Round(time.Millisecond))
			// Compared before `jifen verify`, which seals the restored queue
			// into blocks of its own: from here on the copy has its own history.
			src, dst := rawDB(t, common[3]), rawDB(t, target[3])
			compareRestored(t, src, dst)
			if out, err := jifenCmd(t, "", append([]string{"verify"}, append(target, "--secret-file", secretPath)...)...); err != nil || !strings.Contains(out, "ledger verified") {
				t.Fatalf("verify on the restored database: %q %v", out, err)
			}

			if out, err := restore(); err == nil || !strings.Contains(err.Error(), "restore needs an empty database") {
				t.Fatalf("a second restore into the now full database must be refused: %q %v", out, err)
			}

			// The backup was taken while writing: some of the writers' awards
			// are in it, and some came after.
			mine := func(q *sql.DB) int {
				var n int
				if err := q.QueryRow("SELECT COUNT(*) FROM awards WHERE idem_key LIKE 'bk-%'").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if in, all := mine(dst), mine(src); in == 0 || in >= all {
				t.Fatalf("restored %d of the writers' %d awards: the backup was not taken in the middle of the writes", in, all)
			}
		})
	}
}

// TestRestoreRefusesWhatItCannotTrust: a damaged archive, a missing or
// different secret file, a backup of the other database kind.
func TestRestoreRefusesWhatItCannotTrust(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--data", dir, "--db", "sqlite:" + filepath.Join(dir, "jifen.db")}
	if out, err := jifenCmd(t, "", append([]string{"admin", "create", "--name", "赵文明", "--phone", "13900000000", "--password", "s3cret-pass"}, common...)...); err != nil {
		t.Fatalf("admin create: %q %v", out, err)
	}
	archive := filepath.Join(t.TempDir(), "b.tar.gz")
	if out, err := jifenCmd(t, "", append([]string{"backup", "--out", archive}, common...)...); err != nil {
		t.Fatalf("backup: %q %v", out, err)
	}
	unpacked := t.TempDir()
	m, dbFile, err := readArchive(archive, unpacked)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tables["people"] != 1 || m.Dialect != "sqlite" || m.SchemaVersion == "" || m.Secret.Included || m.Secret.Fingerprint == "" {
		t.Fatalf("manifest: %+v", m)
	}
	damaged := filepath.Join(t.TempDir(), "damaged.tar.gz")
	bad := *m
	bad.Database.SHA256 = strings.Repeat("0", 64)
	if err := writeArchive(damaged, bad, dbFile); err != nil {
		t.Fatal(err)
	}
	otherSecret := filepath.Join(t.TempDir(), "other.key")
	if _, err := secret.Load(otherSecret, true); err != nil {
		t.Fatal(err)
	}
	pgKind := *m
	pgKind.Dialect = "postgres"
	pgArchive := filepath.Join(t.TempDir(), "pg.tar.gz")
	if err := writeArchive(pgArchive, pgKind, dbFile); err != nil {
		t.Fatal(err)
	}

	empty := t.TempDir()
	if out, err := jifenCmd(t, "", "backup", "--data", empty, "--out", filepath.Join(empty, "b.tar.gz")); err == nil || !strings.Contains(err.Error(), "no database to back up") {
		t.Fatalf("a backup of a folder without a database must fail: %q %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(empty, "secret.key")); err == nil {
		t.Fatal("a refused backup made a secret file")
	}

	for _, c := range []struct {
		name, file, secretFile, want string
	}{
		{"a damaged archive", damaged, filepath.Join(dir, "secret.key"), "is damaged"},
		{"a missing secret file", archive, filepath.Join(t.TempDir(), "none.key"), "does not exist: copy the original deployment's secret file"},
		{"another deployment's secret", archive, otherSecret, "is not the one this backup was made with"},
		{"a backup of the other database kind", pgArchive, filepath.Join(dir, "secret.key"), "this backup is of a postgres database"},
		{"not a backup at all", filepath.Join(dir, "secret.key"), filepath.Join(dir, "secret.key"), "is not a jifen backup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "restored.db")
			out, err := jifenCmd(t, "", "restore", c.file, "--db", "sqlite:"+target, "--secret-file", c.secretFile)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error with %q, got %q %v", c.want, out, err)
			}
			if _, err := os.Stat(target); err == nil {
				t.Fatal("a refused restore left a database behind")
			}
		})
	}
}

// restoreTarget is a fresh, empty database: a new SQLite file, or a new
// PostgreSQL database (public schema, unlike the source's own schema, so
// the restore's rename is exercised too).
func restoreTarget(t *testing.T, name string) []string {
	dir := t.TempDir()
	if name == "sqlite" {
		return []string{"--data", dir, "--db", "sqlite:" + filepath.Join(dir, "restored.db")}
	}
	base := os.Getenv("JIFEN_TEST_POSTGRES")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	dbname := "jifen_restore_" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(secret.Token(6)))
	if _, err := admin.Exec("CREATE DATABASE " + dbname); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err == nil {
			a.Exec("DROP DATABASE IF EXISTS " + dbname + " WITH (FORCE)")
			a.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbname
	return []string{"--data", dir, "--db", u.String()}
}

func rawDB(t *testing.T, dsn string) *sql.DB {
	driver, src := "pgx", dsn
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, src = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rowsOf reads a query's rows as strings, binary columns as their digest.
func rowsOf(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				h := sha256.Sum256(v)
				fmt.Fprintf(&b, "|%s", hex.EncodeToString(h[:8]))
			case time.Time:
				fmt.Fprintf(&b, "|%d", v.UnixMicro())
			default:
				fmt.Fprintf(&b, "|%v", v)
			}
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// compareRestored checks the restored database against the source, which
// has moved on since: rows that are never changed must all be in the
// source as they are, and each account's balance and score must be what
// the source's postings of the restored transactions add up to.
func compareRestored(t *testing.T, src, dst *sql.DB) {
	t.Helper()
	appendOnly := map[string]string{
		"ledger transactions": "SELECT id, kind, idem_key, org_id, reverses_id, shortfall, created_at, hash FROM ledger_transactions",
		"postings":            "SELECT tx_id, account_id, amount, score FROM postings",
		"blocks":              "SELECT number, tx_count, root, prev_hash, hash, sealed_at FROM blocks",
		"claim photos":        "SELECT award_id, data FROM award_evidence",
		"audit log":           "SELECT id, at, actor_id, action, target_type, target_id, detail FROM audit_log",
		"people":              "SELECT id, name, volunteer_no, id_hash, id_cipher, home_org_path FROM people",
		"item photos":         "SELECT id, photo FROM items",
		"org seals":           "SELECT id, path, seal FROM orgs",
	}
	for what, q := range appendOnly {
		have := map[string]bool{}
		for _, r := range rowsOf(t, src, q) {
			have[r] = true
		}
		got := rowsOf(t, dst, q)
		if len(got) == 0 && what != "item photos" && what != "org seals" {
			t.Errorf("%s: nothing restored", what)
		}
		for _, r := range got {
			if !have[r] {
				t.Errorf("%s: restored row %s is not in the source", what, r)
				break
			}
		}
	}
	var photos int
	if err := dst.QueryRow("SELECT COUNT(*) FROM award_evidence").Scan(&photos); err != nil || photos < 2 {
		t.Errorf("restored claim photos: %d %v; want the demo's and some of the writers'", photos, err)
	}
	// The backup's point: exactly the restored transactions' postings.
	ids := map[int64]bool{}
	for _, r := range rowsOf(t, dst, "SELECT id FROM ledger_transactions") {
		var id int64
		fmt.Sscanf(r, "|%d", &id)
		ids[id] = true
	}
	type sums struct{ balance, score int64 }
	want := map[int64]*sums{}
	rows, err := src.Query("SELECT p.tx_id, p.account_id, p.amount, p.score FROM postings p")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tx, acct, amount, score int64
		if err := rows.Scan(&tx, &acct, &amount, &score); err != nil {
			t.Fatal(err)
		}
		if ids[tx] {
			if want[acct] == nil {
				want[acct] = &sums{}
			}
			want[acct].balance += amount
			want[acct].score += score
		}
	}
	rows.Close()
	rows, err = dst.Query("SELECT id, kind, balance, score FROM accounts")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var id, balance, score int64
		var kind string
		if err := rows.Scan(&id, &kind, &balance, &score); err != nil {
			t.Fatal(err)
		}
		w := want[id]
		if w == nil {
			w = &sums{}
		}
		// Issuance accounts keep no balance: theirs is the sum of postings.
		if kind != string(jifen.AccountIssuance) && balance != w.balance {
			t.Errorf("account %d (%s): restored balance %d, the source's postings up to the backup add up to %d", id, kind, balance, w.balance)
		}
		if kind != string(jifen.AccountIssuance) && score != w.score {
			t.Errorf("account %d (%s): restored score %d, want %d", id, kind, score, w.score)
		}
		checked++
	}
	if checked == 0 {
		t.Error("no accounts restored")
	}
}

// writers keeps the database busy the way a running server does.
type writers struct {
	cancel               context.CancelFunc
	wg                   sync.WaitGroup
	awards, posts, seals atomic.Int64
	mu                   sync.Mutex
	errs                 []error
}

func (w *writers) fail(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
}

func (w *writers) waitFor(t *testing.T, awards int64) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); w.awards.Load() < awards; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.stop(t)
			t.Fatalf("the writers made only %d awards", w.awards.Load())
		}
	}
}

func (w *writers) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, err := range w.errs {
		t.Errorf("writer: %v", err)
	}
	w.errs = nil
}

func startWriters(t *testing.T, db *sqldb.DB) *writers {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &writers{cancel: cancel}
	sys := jifen.WithActor(ctx, jifen.SystemActor())
	auth := sqldb.NewAuthService(db)
	// The village's reviewer-in-practice: its org admin, signed in for real.
	token, err := auth.SignIn(sys, "13900000002", demo.Password, "web", netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	actor, err := auth.Authenticate(sys, token, netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	admin := jifen.WithActor(ctx, actor)
	points := sqldb.NewPointsService(db)
	rules, err := points.Rules(admin, actor.HomeOrgID)
	if err != nil {
		t.Fatal(err)
	}
	var ruleID int64
	for _, r := range rules {
		// 乱堆乱放: a deduction with a photo, no review and no cap, so the
		// writers never run into the org's daily cap of points however long
		// the backup takes.
		if r.Code == "env.clutter" {
			ruleID = r.ID
		}
	}
	all, _, err := sqldb.NewPersonService(db).People(admin, jifen.PersonFilter{OrgID: actor.HomeOrgID, PerPage: 100})
	var people []*jifen.Person
	for _, p := range all {
		if p.ID != actor.PersonID { // for herself it would be a claim, and a deduction cannot be claimed
			people = append(people, p)
		}
	}
	if err != nil || ruleID == 0 || len(people) < 3 {
		t.Fatalf("demo village: rule %d, %d people, %v", ruleID, len(people), err)
	}
	photo := sqldbtest.PNG(0)

	w.wg.Add(3)
	go func() { // deductions with a photo each, as an admin enters them
		defer w.wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			p := people[i%len(people)]
			_, err := points.Award(admin, jifen.AwardInput{PersonID: p.ID, RuleID: ruleID, Quantity: 1, Note: "柴草堆放在巷道",
				Evidence: photo, Key: fmt.Sprintf("bk-%d", i)})
			switch {
			case err == nil:
				w.awards.Add(1)
			case ctx.Err() == nil:
				w.fail(fmt.Errorf("award %d for %s: %w", i, p.Name, err))
				return
			}
		}
	}()
	go func() { // ledger postings straight from the village's issuance account
		defer w.wg.Done()
		ledger := sqldb.NewLedgerService(db)
		iss, err := ledger.Account(sys, jifen.AccountIssuance, actor.HomeOrgID)
		if err != nil {
			w.fail(err)
			return
		}
		for i := 0; ctx.Err() == nil; i++ {
			acct, err := ledger.Account(sys, jifen.AccountPerson, people[(i*7)%len(people)].ID)
			if err == nil {
				_, err = ledger.Post(sys, jifen.TxInput{Kind: jifen.TxAward, Key: fmt.Sprintf("bk-post-%d", i), Reason: "backup test", OrgID: actor.HomeOrgID,
					Postings: []jifen.Posting{{AccountID: acct.ID, Amount: 3, Score: 3}, {AccountID: iss.ID, Amount: -3}}})
			}
			if err != nil {
				if ctx.Err() == nil {
					w.fail(fmt.Errorf("post %d: %w", i, err))
				}
				return
			}
			w.posts.Add(1)
		}
	}()
	go func() { // the sealer, as the server runs it, a little faster
		defer w.wg.Done()
		ledger := sqldb.NewLedgerService(db)
		for ctx.Err() == nil {
			b, err := ledger.Seal(sys)
			if err != nil && ctx.Err() == nil {
				w.fail(fmt.Errorf("seal: %w", err))
				return
			}
			if b != nil {
				w.seals.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return w
}
