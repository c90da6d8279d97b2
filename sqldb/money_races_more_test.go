package sqldb_test

import (
	"database/sql"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
)

// TestExpiryCatchesPointsGivenBackLater: last year's points held by a
// pick-up order when expiry runs are
// given back by the order's cancellation (or release) afterwards and then
// never lapse: the year's expiry key expiry:ACCOUNT:CUTOFF is taken, so
// every later run that year posts nothing for the account.
func TestExpiryCatchesPointsGivenBackLater(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shopFx) {
		item := s.goods(t, "米", 60, nil)
		s.clock.Set(shanghai(2026, 12, 1, 10, 0, 0))
		s.fund(t, s.resident.p.ID, 100) // earned in 2026
		set := *must(s.pts.Settings(s.super.ctx, s.countyA.ID))(t)
		set.Expiry = jifen.ExpiryYearEnd
		must(0, s.pts.SaveSettings(s.super.ctx, s.countyA.ID, set))(t)

		s.clock.Set(shanghai(2026, 12, 31, 20, 0, 0))
		o := s.order(t, s.resident, lineOf(item, 1)) // held for 48 hours
		s.clock.Set(shanghai(2027, 1, 1, 6, 0, 0))
		must(s.pts.Expire(s.super.ctx))(t) // the server's run at 06:00: 60 of the 100 are held, 40 lapse
		s.clock.Set(shanghai(2027, 1, 1, 9, 0, 0))
		must(s.stores.Cancel(s.resident.ctx, o.ID))(t) // 60 points of 2026 back
		s.clock.Set(shanghai(2027, 1, 1, 12, 0, 0))
		rep := must(s.pts.Expire(s.super.ctx))(t) // the next run
		s.clock.Set(shanghai(2027, 6, 1, 12, 0, 0))
		rep2 := must(s.pts.Expire(s.super.ctx))(t)
		if b := s.bal(t, s.resident.p.ID); b != 0 {
			t.Errorf("after year-end expiry runs (%+v, %+v) the resident still holds %d points, all earned in 2026 (want 0): "+
				"the run that found them held in an order used the key expiry:ACCOUNT:2027-01-01, so no run this year lapses them", rep, rep2, b)
		}
	})
}

// ptsLockWaiters waits until n sessions of this test's schema wait on a lock.
func ptsLockWaiters(t *testing.T, p *ptsFx, n int64) {
	t.Helper()
	awaitLockWaiters(t, func(q string) int64 { return p.one(t, q) }, n)
}

// TestErasureScrubsTheNameFromAwardAudit: erasure scrubbed only audit lines whose target is the
// person; an award's audit line ("help ×1 = +10 → NAME", target award)
// keeps the erased person's name.
func TestErasureScrubsTheNameFromAwardAudit(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		who := p.member(t, "李秀英", p.villageA)
		p.posted(t, p.adminA.ctx, who.p.ID, r)
		must(0, p.people.ErasePerson(p.adminA.ctx, who.p.ID, "本人书面申请"))(t)
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE detail LIKE ?", "%李秀英%"); n != 0 {
			t.Errorf("%d audit lines still name the erased person", n)
		}
	})
}

// TestCapHoldsAcrossAHouseholdChange: caps are counted under the lock of the account the points go to
// (writeAward), but counted by person. A member's award decided while they
// belong to a household locks the household's account; an award for the
// same person decided after they leave it locks their own account: the two
// count each other's caps at once and both pass. PostgreSQL.
func TestCapHoldsAcrossAHouseholdChange(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		in := ruleIn("once", 10)
		in.DailyCap = 1
		r := p.rule(t, p.adminA.ctx, p.countyA, in)
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.PointsTo = jifen.ToHousehold })
		head := p.member(t, "户主", p.villageA)
		x := p.member(t, "成员", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: head.p.ID, MemberIDs: []int64{x.p.ID}}))(t)

		// Hold x's people row: an award's rows referring to x wait for it
		// at the end of the award, after its caps are counted.
		hold := holdRows(t, p.raw, "SELECT id FROM people WHERE id = $1 FOR UPDATE", x.p.ID)
		first := awardLater(p, p.adminA.ctx, jifen.AwardInput{PersonID: x.p.ID, RuleID: r.ID, Key: "in-household"})
		ptsLockWaiters(t, p, 1)
		if err := p.pts.RemoveMember(p.adminA.ctx, h.ID, x.p.ID); err != nil {
			hold.Rollback()
			t.Fatalf("remove member: %v", err)
		}
		second := awardLater(p, p.adminA.ctx, jifen.AwardInput{PersonID: x.p.ID, RuleID: r.ID, Key: "on-own"})
		ptsLockWaiters(t, p, 2)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		e1, e2 := <-first, <-second
		n := p.one(t, "SELECT COUNT(*) FROM awards WHERE person_id = ? AND rule_id = ? AND status = 'posted'", x.p.ID, r.ID)
		if n > 1 {
			t.Errorf("a rule with a daily cap of 1 was awarded %d times to one person on one day (errors: %v, %v)", n, e1, e2)
		}
	})
}

// TestSettlementBillsTheBuyersOrgAtSale: a settlement split the money due by the buyer's home org as it
// is when the statement is read (settlement.go statement: JOIN people …
// p.home_org_id), not the org the buyer lived in when they bought
// (redemptions.buyer_org_id, which reports, cancellations and refunds
// use): a buyer moved between their purchase and the settlement bills
// their new village for what they bought as a resident of the old one.
func TestSettlementBillsTheBuyersOrgAtSale(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shopFx) {
		item := s.goods(t, "米", 10, nil)
		s.fund(t, s.resident.p.ID, 100)
		s.clock.Set(shanghai(2026, 11, 10, 10, 0, 0))
		s.sell(t, s.resident, lineOf(item, 1)) // a resident of 城关村
		_, south := s.neighbour(t, "邻居")
		s.clock.Set(shanghai(2026, 11, 20, 10, 0, 0))
		must(s.moves.BulkMove(s.super.ctx, []int64{s.resident.p.ID}, south.ID, "行政村调整"))(t)
		s.clock.Set(shanghai(2026, 12, 2, 10, 0, 0))
		st := must(s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11"))(t)
		by := statementByOrg(st)
		if by[s.villageA.ID] != 10 || by[south.ID] != 0 {
			t.Errorf("November's settlement bills %v by org; want all 10 points to 城关村 (%d), where the buyer lived when buying, not 南街村 (%d)",
				by, s.villageA.ID, south.ID)
		}
	})
}

// TestLimitHoldsAcrossAHouseholdChange: the per-person limit of an item is counted by person under the
// lock of the account that pays (redeem), so, as with award caps, a sale
// decided while the buyer is in a household (its account locked) and one
// decided after they leave it (their own account locked) count at once and
// both pass. PostgreSQL.
func TestLimitHoldsAcrossAHouseholdChange(t *testing.T) {
	pgSQL(t, func(t *testing.T, db *sqldb.DB, raw *sql.DB) {
		s := newShop(t, db, raw)
		item := s.itemAt(t, s.shop.ID, jifen.ItemInput{Name: "鸡蛋", Points: 5, PerPersonLimit: 1, LimitPeriod: jifen.PerDay})
		set := *must(s.pts.Settings(s.super.ctx, s.countyA.ID))(t)
		set.PointsTo = jifen.ToHousehold
		must(0, s.pts.SaveSettings(s.super.ctx, s.countyA.ID, set))(t)
		head := s.member(t, "户主", s.villageA)
		x := s.member(t, "成员", s.villageA)
		h := must(s.pts.CreateHousehold(s.adminA.ctx, jifen.HouseholdInput{OrgID: s.villageA.ID, HeadID: head.p.ID, MemberIDs: []int64{x.p.ID}}))(t)
		s.fundAcct(t, s.acct(t, jifen.AccountHousehold, h.ID).ID, 50)
		s.fund(t, x.p.ID, 50) // what x earned before joining

		must(0, s.people.SetPIN(s.adminA.ctx, x.p.ID, "246810"))(t)
		code1 := s.code(t, x)
		hold := holdRows(t, s.raw, "SELECT id FROM people WHERE id = $1 FOR UPDATE", x.p.ID)
		errs := make(chan error, 2)
		go func() {
			_, err := s.stores.Redeem(s.clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: code1, Lines: []jifen.Line{lineOf(item, 1)}, Key: "one"})
			errs <- err
		}()
		waitLockWaiters(t, s, 1)
		if err := s.pts.RemoveMember(s.adminA.ctx, h.ID, x.p.ID); err != nil {
			hold.Rollback()
			t.Fatalf("remove member: %v", err)
		}
		go func() {
			_, err := s.card(s.clerk, x, "246810", lineOf(item, 1)) // the printed card and PIN
			errs <- err
		}()
		waitLockWaiters(t, s, 2)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		e1, e2 := <-errs, <-errs
		n := s.one(t, "SELECT COUNT(*) FROM redemptions WHERE person_id = ? AND status = 'completed'", x.p.ID)
		if n > 1 {
			t.Errorf("an item limited to 1 per person per day was sold %d times to one person on one day (errors: %v, %v)", n, e1, e2)
		}
	})
}

// TestStarsFollowATransferBesideAVerification: a verification crossing a star level racing the volunteer's
// transfer: rehome (report.go) reads the volunteer's minutes with a plain
// SELECT and moves their star by that reading, while tallyService adds the
// new minutes and moves the star at the home it read before the move.
// PostgreSQL.
func TestStarsFollowATransferBesideAVerification(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		reports := sqldb.NewReportService(p.db)
		stars := func(org *jifen.Org) int64 {
			t.Helper()
			return must(reports.Stars(p.super.ctx, org.ID))(t)[0].People
		}
		for day := 1; day <= 8; day++ { // 96 hours: no star yet
			p.backfillAt(t, p.villageA, 12*time.Hour, 0, p.resident)
			p.clock.Advance(24 * time.Hour)
		}
		start := p.now().Truncate(time.Minute).Add(time.Hour)
		act := p.published(t, p.input(p.villageA, start, 12*time.Hour))
		p.clock.Set(act.EndsAt.Add(time.Minute))
		must(p.acts.Backfill(p.super.ctx, act.ID, p.resident.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)

		hold := holdRows(t, p.raw, "SELECT person_id FROM report_people WHERE person_id = $1 FOR UPDATE", p.resident.p.ID)
		errs := make(chan error, 2)
		go func() { _, err := p.acts.Verify(p.super.ctx, act.ID); errs <- err }() // 108 hours: one star
		ptsLockWaiters(t, p, 1)
		go func() {
			_, err := p.moves.BulkMove(p.super.ctx, []int64{p.resident.p.ID}, p.villageB.ID, "行政村调整")
			errs <- err
		}()
		ptsLockWaiters(t, p, 2)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		e1, e2 := <-errs, <-errs
		if e1 != nil || e2 != nil {
			t.Fatalf("verify/move: %v, %v", e1, e2)
		}
		a, b := stars(p.countyA), stars(p.countyB)
		must(0, p.db.RebuildReports(p.super.ctx))(t)
		ra, rb := stars(p.countyA), stars(p.countyB)
		if a != ra || b != rb {
			t.Errorf("one-star volunteers kept: county A %d, county B %d; a rebuild says %d, %d", a, b, ra, rb)
		}
	})
}

// TestCapHoldsAcrossAHouseholdChangeInAVerification: a verification counted its hours' points against the org's
// daily cap under the paying account's lock alone. An award for a member
// of a household, held after counting, and a verification after the
// member left (their own account) each counted without the other and
// both posted: 20 points under a daily cap of 10. PostgreSQL.
func TestCapHoldsAcrossAHouseholdChangeInAVerification(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.PointsTo = jifen.ToHousehold; s.DailyCap = 10; s.BackfillEarns = true })
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		head := p.member(t, "户主", p.villageA)
		x := p.member(t, "成员", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: head.p.ID, MemberIDs: []int64{x.p.ID}}))(t)

		start := p.now().Truncate(time.Minute).Add(time.Hour)
		in := p.input(p.villageA, start, 2*time.Hour)
		in.PointsPerHour = 10
		act := p.published(t, in)
		p.clock.Set(act.EndsAt.Add(time.Minute))
		must(p.acts.Backfill(p.super.ctx, act.ID, x.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)

		// The award counts its cap and then waits at its end: its row
		// names the rule, whose row the test holds.
		hold := holdRows(t, p.raw, "SELECT id FROM rules WHERE id = $1 FOR UPDATE", r.ID)
		award := awardLater(p, p.adminA.ctx, jifen.AwardInput{PersonID: x.p.ID, RuleID: r.ID, Key: "in-household"})
		ptsLockWaiters(t, p, 1)
		if err := p.pts.RemoveMember(p.adminA.ctx, h.ID, x.p.ID); err != nil {
			hold.Rollback()
			t.Fatalf("remove member: %v", err)
		}
		// The verification, on x's own account now, waits for the award
		// (x's row), or counts and posts beside it.
		verified := make(chan error, 1)
		go func() { _, err := p.acts.Verify(p.super.ctx, act.ID); verified <- err }()
		ptsWaitersOrDone(t, p, 2, verified)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-award; err != nil {
			t.Fatalf("award: %v", err)
		}
		if err := <-verified; err != nil {
			t.Fatalf("verify: %v", err)
		}
		if n := p.one(t, "SELECT COALESCE(SUM(points), 0) FROM awards WHERE person_id = ? AND status = 'posted'", x.p.ID); n > 10 {
			t.Errorf("%d points posted to one person in one day under a daily cap of 10", n)
		}
	})
}

// TestFirstVerificationFollowsATransfer: a volunteer's first verification raced their transfer: it read
// their home before the transfer committed and wrote their new report row
// (their minutes, and a star when they earn one) there, after the
// transfer had found no row to move: the hours stayed with the old
// village. PostgreSQL.
func TestFirstVerificationFollowsATransfer(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		start := p.now().Truncate(time.Minute).Add(time.Hour)
		act := p.published(t, p.input(p.villageA, start, 2*time.Hour))
		p.clock.Set(act.EndsAt.Add(time.Minute))
		must(p.acts.Backfill(p.super.ctx, act.ID, p.resident.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)

		// The transfer tells the old county's admin at its end, after it
		// moved the person and found no report row: the admin's row, which
		// the message names, holds it there.
		hold := holdRows(t, p.raw, "SELECT id FROM people WHERE id = $1 FOR UPDATE", p.adminA.p.ID)
		merr, verr, _ := raceBehind(t, p, hold,
			func() error {
				_, err := p.moves.BulkMove(p.super.ctx, []int64{p.resident.p.ID}, p.villageB.ID, "行政村调整")
				return err
			},
			func() error { _, err := p.acts.Verify(p.super.ctx, act.ID); return err })
		if merr != nil || verr != nil {
			t.Fatalf("move: %v; verify: %v", merr, verr)
		}
		if org := p.one(t, "SELECT org_id FROM report_people WHERE person_id = ?", p.resident.p.ID); org != p.villageB.ID {
			t.Errorf("the volunteer's hours are reported at org %d; they live in %d (village B) now", org, p.villageB.ID)
		}
	})
}

// TestNoAwardToSomeoneErasedWhileItWaited: an award is decided on a read snapshot and written later. On
// PostgreSQL one waiting at its end for the person's account (here held)
// committed after an erasure that ran meanwhile: the person's name stayed
// in its audit line, and its message to them was kept.
func TestNoAwardToSomeoneErasedWhileItWaited(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		x := p.member(t, "冯秀珍", p.villageA)
		p.posted(t, p.adminA.ctx, x.p.ID, r) // the accounts are open: the next award is grouped
		acct := p.one(t, "SELECT account_id FROM awards WHERE person_id = ?", x.p.ID)

		hold := holdRows(t, p.raw, "SELECT id FROM accounts WHERE id = $1 FOR UPDATE", acct)
		aerr, eerr, _ := raceBehind(t, p, hold,
			func() error {
				_, err := p.pts.Award(p.adminA.ctx, jifen.AwardInput{PersonID: x.p.ID, RuleID: r.ID, Key: "while-erased"})
				return err
			},
			func() error { return p.people.ErasePerson(p.adminA.ctx, x.p.ID, "本人书面申请") })
		if eerr != nil {
			t.Fatalf("erase: %v", eerr)
		}
		if aerr != nil && jifen.ErrorCode(aerr) != "person_erased" {
			t.Fatalf("award: %v", aerr)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE detail LIKE ?", "%冯秀珍%"); n > 0 {
			t.Errorf("%d audit lines still name the erased person", n)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM messages WHERE person_id = ?", x.p.ID); n > 0 {
			t.Errorf("%d messages kept for the erased person", n)
		}
	})
}

// TestNoAwardToSomeoneErasedBeforeItWasWritten: an award decided while the person was there and written after
// their erasure committed (SQLite: both waited for the one writer, the
// erasure first) was posted to them, their name in its audit line.
// PostgreSQL: TestNoAwardToSomeoneErasedWhileItWaited.
func TestNoAwardToSomeoneErasedBeforeItWasWritten(t *testing.T) {
	sqlitePoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		x := p.member(t, "冯秀珍", p.villageA)
		p.posted(t, p.adminA.ctx, x.p.ID, r)
		before := p.one(t, "SELECT COUNT(*) FROM awards WHERE person_id = ?", x.p.ID)

		// Another connection holds the database's write lock: the erasure
		// waits for it first, then the award, decided meanwhile.
		hold, erased := eraseFirstAtTheWriter(t, p, x)
		award := awardLater(p, p.adminA.ctx, jifen.AwardInput{PersonID: x.p.ID, RuleID: r.ID, Key: "after-erased"})
		awaitQueued(t, p, hold, 1)
		if err := <-erased; err != nil {
			t.Fatalf("erase: %v", err)
		}
		aerr := <-award
		wantErr(t, aerr, jifen.KindConflict, "person_erased", "person_id")
		if n := p.one(t, "SELECT COUNT(*) FROM awards WHERE person_id = ?", x.p.ID); n != before {
			t.Errorf("%d awards to the erased person, %d before", n, before)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE detail LIKE ?", "%冯秀珍%"); n > 0 {
			t.Errorf("%d audit lines name the erased person", n)
		}
	})
}
