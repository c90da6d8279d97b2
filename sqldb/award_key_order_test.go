package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"jifen"
)

// TestGroupOfOnePersonTakesTheAccountBeforeTheKeys: an award group of
// three awards to one person, whose rows take more than one statement to
// write, beside a retry of one of them run alone (PostgreSQL). The
// group's first statement inserted the awards, and so took their keys,
// while its last credited the person's account; the retry's one
// statement credits the account first and then meets the key. A third
// transaction holding the first award's id stops the group with the
// second's key taken: without the account locked first, the retry takes
// the account, waits for the key, and the group waits for the account,
// and PostgreSQL aborts one of them (TestSameAwardTwiceAtOnce saw it
// three times in CI). Both must go through with nothing run again: the
// group's three awards, and the retry answered as a duplicate.
func TestGroupOfOnePersonTakesTheAccountBeforeTheKeys(t *testing.T) {
	dsns := benchDSNs(t)
	dsn, ok := dsns["postgres"]
	if !ok {
		t.Skip("PostgreSQL only (JIFEN_TEST_POSTGRES): SQLite has one writer")
	}
	db := benchDB(t, dsn)
	watch, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	v := newAwarding(t, db)
	sys, ctx, village, rule, people, points := v.sys, v.ctx, v.village, v.rule, v.people, v.points
	in := jifen.PersonInput{Name: "村民", Gender: jifen.Male, OrgID: village.ID}
	must(in.Validate(time.Now()))
	folk, err := people.CreatePerson(sys, in)
	must(err)
	// The first award opens the account, and the village's issuance
	// account: an award that opens one is never grouped.
	first, err := points.Award(ctx, jifen.AwardInput{PersonID: folk.ID, RuleID: rule.ID, Quantity: 1, Key: "first"})
	must(err)

	plan := func(key string) *awardPlan {
		var p *awardPlan
		must(db.reads(ctx, func(tx *Tx) error {
			var err error
			p, err = tx.planAward(ctx, jifen.AwardInput{PersonID: folk.ID, RuleID: rule.ID, Quantity: 1, Key: key})
			return err
		}))
		if p.waits() {
			t.Fatalf("award %s waits on a row; the test needs awards a group takes", key)
		}
		return p
	}
	write := func(p *awardPlan) *groupReq {
		return &groupReq{done: make(chan struct{}), fn: func(tx *Tx) error {
			_, err := tx.writeAward(ctx, p)
			return err
		}}
	}
	group := []*awardPlan{plan("k1"), plan("k2"), plan("k3")}
	retry := plan("k2")

	// The holder inserts a row under the first award's id and keeps it.
	holder, err := db.w.BeginTx(context.Background(), nil)
	must(err)
	defer holder.Rollback()
	var holderPID int
	must(holder.QueryRow("SELECT pg_backend_pid()").Scan(&holderPID))
	_, err = holder.Exec(`INSERT INTO awards (id, org_id, org_path, issuer_org_id, rule_id, rule_version_id, person_id, account_id,
		quantity, points, status, source, idem_key, day, created_by, created_at)
		SELECT $1, org_id, org_path, issuer_org_id, rule_id, rule_version_id, person_id, account_id,
		quantity, points, 'pending', source, 'held', day, created_by, created_at FROM awards WHERE id = $2`, group[0].id, first.ID)
	must(err)
	// blockedBy waits for a backend that waits on pid, and returns its pid.
	blockedBy := func(pid int, who string) int {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var waiter int
			err := watch.QueryRow("SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) LIMIT 1", pid).Scan(&waiter)
			if err == nil {
				return waiter
			}
			if err != sql.ErrNoRows {
				t.Fatal(err)
			}
		}
		t.Fatalf("%s never waited", who)
		return 0
	}

	before := db.Retried()
	grouped := []*groupReq{write(group[0]), write(group[1]), write(group[2])}
	alone := write(retry)
	var wg sync.WaitGroup
	committer := func() *committer {
		c := newCommitter(db, 1, groupMax)
		c.defers = true // as DB.awardGroup on PostgreSQL
		return c
	}
	wg.Go(func() { committer().run(grouped) })
	groupPID := blockedBy(holderPID, "the group")
	wg.Go(func() { committer().run([]*groupReq{alone}) })
	blockedBy(groupPID, "the retry")
	must(holder.Rollback())
	wg.Wait()

	for i, r := range grouped {
		if r.err != nil {
			t.Errorf("grouped award k%d: %v", i+1, r.err)
		}
	}
	if code := jifen.ErrorCode(alone.err); code != "duplicate" {
		t.Errorf("the retry of k2 answered %v (%q), want duplicate", alone.err, code)
	}
	if n := db.Retried() - before; n > 0 {
		t.Errorf("%d writes were aborted by the database (deadlocks) and run again, want none", n)
	}
	var n int
	must(watch.QueryRow("SELECT COUNT(*) FROM awards WHERE idem_key IN ('k1', 'k2', 'k3')").Scan(&n))
	if n != 3 {
		t.Errorf("%d awards under the three keys, want 3", n)
	}
	acct, err := points.Points(sys, folk.ID)
	must(err)
	if want := int64(4 * 10); acct.Balance != want {
		t.Errorf("balance %d, want %d", acct.Balance, want)
	}
}
