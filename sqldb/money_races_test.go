package sqldb_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"jifen"
)

// waitLockWaiters waits until n sessions of this test's schema wait on a
// lock (sqldbtest names each schema's sessions after it).
func waitLockWaiters(t *testing.T, s *shopFx, n int64) {
	t.Helper()
	awaitLockWaiters(t, func(q string) int64 { return s.one(t, q) }, n)
}

// rowWaiters counts this test's sessions waiting on a row. Waits on a row
// only: a write briefly waiting to extend a table (also a 'Lock' wait) is
// not yet queued on the row, and counted, let a later write reach the
// row first.
const rowWaiters = `SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple')
	AND application_name = current_setting('application_name')`

// awaitLockWaiters is waitLockWaiters for any fixture that counts rows.
func awaitLockWaiters(t *testing.T, count func(query string) int64, n int64) {
	t.Helper()
	for i := 0; i < 250; i++ {
		if count(rowWaiters) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never saw %d lock waiters", n)
}

// ptsWaitersOrDone waits until n sessions of the test wait on a row, or
// until the write whose result done carries has finished without waiting
// (the bug a test looks for), whose result it puts back.
func ptsWaitersOrDone(t *testing.T, p *ptsFx, n int64, done chan error) {
	t.Helper()
	for i := 0; i < 250; i++ {
		select {
		case err := <-done:
			done <- err
			return
		default:
		}
		if p.one(t, rowWaiters) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never saw %d lock waiters", n)
}

// raceBehind runs first, which waits on the rows hold holds, and then
// second beside it; once second waits too, or has finished without
// waiting (the bug a test looks for), hold lets go. It returns both
// writes' errors and how many writes the database aborted meanwhile and
// jifen ran again (a deadlock broken).
func raceBehind(t *testing.T, p *ptsFx, hold *sql.Tx, first, second func() error) (e1, e2 error, retried int64) {
	t.Helper()
	before := p.db.Retried()
	one, two := make(chan error, 1), make(chan error, 1)
	go func() { one <- first() }()
	ptsLockWaiters(t, p, 1)
	go func() { two <- second() }()
	ptsWaitersOrDone(t, p, 2, two)
	if err := hold.Commit(); err != nil {
		t.Fatal(err)
	}
	e1, e2 = <-one, <-two
	return e1, e2, p.db.Retried() - before
}

// holdWriter takes SQLite's write lock on another connection: the
// service's writes queue for the one writer until it rolls back.
func holdWriter(t *testing.T, p *ptsFx) *sql.Tx {
	t.Helper()
	hold, err := p.raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec("UPDATE orgs SET name = name WHERE id = ?", p.countyA.ID); err != nil {
		hold.Rollback()
		t.Fatal(err)
	}
	return hold
}

// awaitQueued waits until n writes queue for the writer that hold holds
// up, and then lets it go.
func awaitQueued(t *testing.T, p *ptsFx, hold *sql.Tx, n int) {
	t.Helper()
	for i := 0; p.db.Queued() < n; i++ {
		if i > 250 {
			hold.Rollback()
			t.Fatalf("never saw %d writes wait for the writer", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
}

// eraseFirstAtTheWriter holds SQLite's writer and starts x's erasure,
// which leads the next group: writes started after it wait behind it.
// The erasure answers on the channel once the hold goes (awaitQueued).
// A leader waiting to begin is not counted as queued, so it is given
// 100 ms to get there.
func eraseFirstAtTheWriter(t *testing.T, p *ptsFx, x user) (*sql.Tx, <-chan error) {
	t.Helper()
	hold := holdWriter(t, p)
	erased := make(chan error, 1)
	go func() { erased <- p.people.ErasePerson(p.adminA.ctx, x.p.ID, "本人书面申请") }()
	time.Sleep(100 * time.Millisecond)
	return hold, erased
}

// awardLater makes the award on its own goroutine; its error comes on
// the channel.
func awardLater(p *ptsFx, ctx context.Context, in jifen.AwardInput) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := p.pts.Award(ctx, in)
		done <- err
	}()
	return done
}

// wantNoRetry fails t if what made the database abort a write (a
// deadlock it broke) that jifen then ran again.
func wantNoRetry(t *testing.T, retried int64, what string) {
	t.Helper()
	if retried > 0 {
		t.Errorf("%s deadlocked: %d writes aborted and run again", what, retried)
	}
}

// holdRows begins a transaction on raw that locks the rows query names,
// so that a write the test starts waits on them until it rolls back.
func holdRows(t *testing.T, raw *sql.DB, query string, args ...any) *sql.Tx {
	t.Helper()
	hold, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(query, args...); err != nil {
		hold.Rollback()
		t.Fatal(err)
	}
	return hold
}

// A refund racing the settlement of its sale's period: the refund waits
// for the store's account, which Settle holds, and then sees whether the
// settlement paid for the sale. It decided "not settled" before waiting,
// was paid from the store's account after the settlement had emptied it
// of that sale, and the next period could not be settled. PostgreSQL
// races them; SQLite runs whole writes one at a time, in that order.
func TestRefundRacingSettlement(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shopFx) {
		item := s.goods(t, "米", 10, ptr[int64](50))
		s.fund(t, s.resident.p.ID, 100)
		s.clock.Set(shanghai(2026, 11, 29, 10, 0, 0))
		nov := s.sell(t, s.resident, lineOf(item, 1)) // November
		s.clock.Set(shanghai(2026, 12, 2, 10, 0, 0))
		s.sell(t, s.resident, lineOf(item, 1)) // December
		storeAcct := s.acct(t, jifen.AccountStore, s.shop.ID)

		settleAndRefund := func() (settled, refunded error) {
			_, settled = s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11")
			_, refunded = s.stores.Refund(s.clerk.ctx, nov.ID, "坏了")
			return
		}
		if s.pg {
			settleAndRefund = func() (error, error) {
				// Hold the store account's row for a moment, as any sale's
				// credit does at its commit. Locked, not updated: after an
				// update the waiters follow the row to its new version, and
				// the second could lock it before the first (the refund
				// went first once in CI); on one version they go in order.
				hold, err := s.raw.Begin()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := hold.Exec("SELECT id FROM accounts WHERE id = $1 FOR UPDATE", storeAcct.ID); err != nil {
					t.Fatal(err)
				}
				settled := make(chan error, 1)
				go func() { _, err := s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11"); settled <- err }()
				waitLockWaiters(t, s, 1)
				refunded := make(chan error, 1)
				go func() { _, err := s.stores.Refund(s.clerk.ctx, nov.ID, "坏了"); refunded <- err }()
				waitLockWaiters(t, s, 2)
				if err := hold.Commit(); err != nil {
					t.Fatal(err)
				}
				return <-settled, <-refunded
			}
		}
		if err1, err2 := settleAndRefund(); err1 != nil || err2 != nil {
			t.Fatalf("settle: %v; refund: %v", err1, err2)
		}
		st := must(s.stores.Settlement(s.adminA.ctx, s.shop.ID, "2026-11"))(t)
		r := must(s.stores.Redemption(s.clerk.ctx, nov.ID))(t)
		if !r.RefundFromOrg || st.Transferred != 10 {
			t.Errorf("November transferred %d, the refund from the org %v: want 10, true (the settlement went first)", st.Transferred, r.RefundFromOrg)
		}
		// December's one sale (10 points) is all the store should hold.
		if got := s.storeBal(t, s.shop.ID); got != 10 {
			t.Errorf("store account holds %d, want 10 (December's unsettled sale)", got)
		}
		s.clock.Set(shanghai(2027, 1, 2, 10, 0, 0))
		if _, err := s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-12"); err != nil {
			t.Errorf("settling December: %v", err)
		}
	})
}

// A second AwardBulk under a used key with a longer or shorter list is a
// different request: idempotency_mismatch, nothing written. Each line was
// checked against its own key/n, so a longer list's new lines were posted.
func TestBulkKeyReusedForAnotherList(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		a, _ := p.person(t, "名单甲", p.villageA)
		b, _ := p.person(t, "名单乙", p.villageA)
		must(p.pts.AwardBulk(p.adminA.ctx, "bulk-x", []jifen.AwardInput{{PersonID: a.ID, RuleID: r.ID}}))(t)
		before := p.rows(t)
		_, err := p.pts.AwardBulk(p.adminA.ctx, "bulk-x", []jifen.AwardInput{{PersonID: a.ID, RuleID: r.ID}, {PersonID: b.ID, RuleID: r.ID}})
		if jifen.ErrorCode(err) != "idempotency_mismatch" {
			t.Errorf("a longer list under a used key: err %v, want idempotency_mismatch", err)
		}
		if got := p.points(t, b.ID).Balance; got != 0 {
			t.Errorf("the reused key posted %d points to a person the first request never named", got)
		}
		p.unchanged(t, before)
		must(p.pts.AwardBulk(p.adminA.ctx, "bulk-y", []jifen.AwardInput{{PersonID: a.ID, RuleID: r.ID}, {PersonID: b.ID, RuleID: r.ID}}))(t)
		before = p.rows(t)
		_, err = p.pts.AwardBulk(p.adminA.ctx, "bulk-y", []jifen.AwardInput{{PersonID: a.ID, RuleID: r.ID}})
		if jifen.ErrorCode(err) != "idempotency_mismatch" {
			t.Errorf("a shorter list under a used key: err %v, want idempotency_mismatch", err)
		}
		p.unchanged(t, before)
		// Another bulk whose key begins with this one's is another request.
		must(p.pts.AwardBulk(p.adminA.ctx, "june/extra", []jifen.AwardInput{{PersonID: a.ID, RuleID: r.ID}, {PersonID: b.ID, RuleID: r.ID}}))(t)
		must(p.pts.AwardBulk(p.adminA.ctx, "june", []jifen.AwardInput{{PersonID: a.ID, RuleID: r.ID}}))(t)
		before = p.rows(t)
		// The same list again is the same request, answered as before.
		got := must(p.pts.AwardBulk(p.adminA.ctx, "bulk-y", []jifen.AwardInput{{PersonID: a.ID, RuleID: r.ID}, {PersonID: b.ID, RuleID: r.ID}}))(t)
		if len(got) != 2 {
			t.Errorf("a retry answered %d awards, want 2", len(got))
		}
		p.unchanged(t, before)
	})
}

// A month is settled only ten minutes after it ends: a sale stamped with
// its last second that was still waiting on a row at midnight would have
// committed into a statement already read and paid, and been in none.
func TestSettlementWaitsForTheMonthsLastSales(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shopFx) {
		item := s.goods(t, "米", 10, ptr[int64](50))
		s.fund(t, s.resident.p.ID, 100)
		s.clock.Set(shanghai(2026, 11, 30, 23, 59, 59))
		s.sell(t, s.resident, lineOf(item, 1))
		s.clock.Set(shanghai(2026, 12, 1, 0, 0, 1))
		_, err := s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11")
		wantErr(t, err, jifen.KindConflict, "period_open", "")
		s.clock.Set(shanghai(2026, 12, 1, 0, 10, 0))
		nov := must(s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11"))(t)
		if nov.Sales != 1 || nov.Points != 10 {
			t.Fatalf("November settled %d sales, %d points; want 1, 10", nov.Sales, nov.Points)
		}
	})
}

// Someone erased on request gets nothing new to their name: an award, or a
// household head's claim for them, is refused and writes nothing.
func TestNoAwardToAnErasedPerson(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		gone, _ := p.person(t, "已搬走", p.villageA)
		if err := p.people.ErasePerson(p.adminA.ctx, gone.ID, "本人书面申请"); err != nil {
			t.Fatal(err)
		}
		before := p.rows(t)
		_, err := p.pts.Award(p.adminA.ctx, jifen.AwardInput{PersonID: gone.ID, RuleID: r.ID, Key: "erased-1"})
		wantErr(t, err, jifen.KindConflict, "person_erased", "person_id")
		p.unchanged(t, before)
	})
}
