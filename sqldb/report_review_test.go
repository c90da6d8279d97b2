package sqldb_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
)

// Report roll-ups an outside review found disagreeing with the records
// (2026-11-30): each compares the kept roll-ups with the source tables
// and with a rebuild, on both databases.

// revTotal is the Monthly total of an org's subtree over 2026.
func revTotal(t *testing.T, p *ptsFx, org *jifen.Org) jifen.Tally {
	t.Helper()
	reports := sqldb.NewReportService(p.db)
	return must(reports.Monthly(p.super.ctx, jifen.ReportFilter{OrgID: org.ID, From: "2026-01", To: "2026-12"}))(t).Total
}

// revSnap is every report of the fixture's orgs, compactly: per org its
// monthly total, its non-empty months, stores, stars and top volunteers.
func revSnap(t *testing.T, p *ptsFx) map[string]string {
	t.Helper()
	reports := sqldb.NewReportService(p.db)
	out := map[string]string{}
	for _, o := range []*jifen.Org{p.root, p.countyA, p.countyB, p.townA, p.townB, p.villageA, p.villageB, p.teamA} {
		f := jifen.ReportFilter{OrgID: o.ID, From: "2026-01", To: "2027-12"}
		m := must(reports.Monthly(p.super.ctx, f))(t)
		s := fmt.Sprintf("total %+v;", m.Total)
		for _, mt := range m.Months {
			if mt.Tally != (jifen.Tally{}) {
				s += fmt.Sprintf(" %s %+v;", mt.Month, mt.Tally)
			}
		}
		for _, st := range must(reports.StoreSales(p.super.ctx, f))(t) {
			s += fmt.Sprintf(" store %d %+v;", st.StoreID, st)
		}
		s += fmt.Sprintf(" stars %v;", must(reports.Stars(p.super.ctx, o.ID))(t))
		for _, v := range must(reports.TopVolunteers(p.super.ctx, o.ID, 10))(t) {
			s += fmt.Sprintf(" top %d %dmin;", v.PersonID, v.Minutes)
		}
		out[o.Name] = s
	}
	return out
}

// revSameAsRebuild fails when the kept roll-ups differ from a rebuild.
func revSameAsRebuild(t *testing.T, p *ptsFx) {
	t.Helper()
	kept := revSnap(t, p)
	must(0, p.db.RebuildReports(p.super.ctx))(t)
	rebuilt := revSnap(t, p)
	for _, o := range []*jifen.Org{p.root, p.countyA, p.countyB, p.townA, p.townB, p.villageA, p.villageB, p.teamA} {
		if kept[o.Name] != rebuilt[o.Name] {
			t.Errorf("%s: kept roll-ups differ from a rebuild:\n  kept    %s\n  rebuilt %s", o.Name, kept[o.Name], rebuilt[o.Name])
		}
	}
}

// TestReportPendingAwardApprovedAfterTransfer: an award filed for
// a resident of 城关村 (county A) waits for review; the resident moves to
// 新村 (county B); the award is approved. The award row belongs to 城关村
// (awards.org_id), so its 5 points are county A's.
func TestReportPendingAwardApprovedAfterTransfer(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		in := ruleIn("REVIEWED", 5)
		in.NeedsReview = true
		r := p.rule(t, p.adminA.ctx, p.villageA, in)
		aw := p.award(t, p.adminA.ctx, p.resident.p.ID, r)
		if aw.Status != jifen.AwardPending {
			t.Fatalf("award is %s, want pending", aw.Status)
		}
		must(p.moves.BulkMove(p.super.ctx, []int64{p.resident.p.ID}, p.villageB.ID, "行政村合并"))(t)
		must(p.pts.Approve(p.super.ctx, aw.ID))(t)

		truthA := p.one(t, "SELECT COALESCE(SUM(a.points), 0) FROM awards a JOIN orgs o ON o.id = a.org_id WHERE a.status = 'posted' AND o.path >= ? AND o.path < ?",
			p.countyA.Path, jifen.PathUpper(p.countyA.Path))
		truthB := p.one(t, "SELECT COALESCE(SUM(a.points), 0) FROM awards a JOIN orgs o ON o.id = a.org_id WHERE a.status = 'posted' AND o.path >= ? AND o.path < ?",
			p.countyB.Path, jifen.PathUpper(p.countyB.Path))
		a, b := revTotal(t, p, p.countyA), revTotal(t, p, p.countyB)
		if a.Awarded != truthA || b.Awarded != truthB {
			t.Errorf("awarded: county A %d, county B %d; the awards table says %d and %d", a.Awarded, b.Awarded, truthA, truthB)
		}
		revSameAsRebuild(t, p)
	})
}

// revShop is a store of 城关村 with a clerk and an item of 7 points.
func revShop(t *testing.T, p *ptsFx) (stores *sqldb.StoreService, shop *jifen.Store, soap *jifen.Item, clerk user) {
	t.Helper()
	stores = sqldb.NewStoreService(p.db)
	shop = must(stores.CreateStore(p.adminA.ctx, jifen.StoreInput{OrgID: p.villageA.ID, Name: "城关村积分超市"}))(t)
	stock := int64(10)
	soap = must(stores.CreateItem(p.super.ctx, shop.ID, jifen.ItemInput{Name: "肥皂", Points: 7, Stock: &stock}))(t)
	clerk = p.user(t, "店员", p.villageA, nil, "")
	must(0, stores.AddClerk(p.super.ctx, shop.ID, clerk.p.ID))(t)
	return
}

// TestReportOrderCancelledAfterTransfer: the resident of 城关村
// orders a 7-point item for pick-up, moves to 新村, and cancels the order.
// Nothing was spent: every org's "redeemed" should be 0.
func TestReportOrderCancelledAfterTransfer(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		plus := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("HELP", 20))
		p.posted(t, p.adminA.ctx, p.resident.p.ID, plus)
		stores, shop, soap, _ := revShop(t, p)
		order := must(stores.Redeem(p.resident.ctx, jifen.RedemptionInput{StoreID: shop.ID, Key: p.key(), Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}}))(t)
		must(p.moves.BulkMove(p.super.ctx, []int64{p.resident.p.ID}, p.villageB.ID, "行政村合并"))(t)
		must(stores.Cancel(p.resident.ctx, order.ID))(t)

		a, b := revTotal(t, p, p.countyA), revTotal(t, p, p.countyB)
		if a.Redeemed != 0 || b.Redeemed != 0 {
			t.Errorf("redeemed after a cancelled order: county A %d, county B %d; want 0 and 0", a.Redeemed, b.Redeemed)
		}
		revSameAsRebuild(t, p)
	})
}

// TestReportRefundAfterTransfer: the resident buys a 7-point item at
// the counter in June, moves to 新村, and the sale is refunded in July.
// Whichever org the spending belongs to, the two months net to 0 there and
// no org should show a negative spend it never had.
func TestReportRefundAfterTransfer(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		plus := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("HELP", 20))
		p.posted(t, p.adminA.ctx, p.resident.p.ID, plus)
		p.clock.Set(time.Date(2026, 6, 29, 9, 0, 0, 0, jifen.Zone))
		stores, shop, soap, clerk := revShop(t, p)
		code := must(stores.NewPaycode(p.resident.ctx))(t).Code
		sale := must(stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: shop.ID, Paycode: code, Key: p.key(),
			Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}}))(t)
		must(p.moves.BulkMove(p.super.ctx, []int64{p.resident.p.ID}, p.villageB.ID, "行政村合并"))(t)
		p.clock.Set(time.Date(2026, 7, 2, 9, 0, 0, 0, jifen.Zone))
		must(stores.Refund(clerk.ctx, sale.ID, "买错了"))(t)

		a, b := revTotal(t, p, p.countyA), revTotal(t, p, p.countyB)
		if a.Redeemed != 0 || b.Redeemed != 0 {
			t.Errorf("redeemed over June and July after a refunded sale: county A %d, county B %d; want 0 and 0", a.Redeemed, b.Redeemed)
		}
		revSameAsRebuild(t, p)
	})
}

// TestReportSaleThenTransfer: a counter sale in 城关村, then the
// buyer moves to 新村. The kept roll-up and a rebuild should agree on
// which county spent the 7 points.
func TestReportSaleThenTransfer(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		plus := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("HELP", 20))
		p.posted(t, p.adminA.ctx, p.resident.p.ID, plus)
		stores, shop, soap, clerk := revShop(t, p)
		code := must(stores.NewPaycode(p.resident.ctx))(t).Code
		must(stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: shop.ID, Paycode: code, Key: p.key(),
			Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}}))(t)
		must(p.moves.BulkMove(p.super.ctx, []int64{p.resident.p.ID}, p.villageB.ID, "行政村合并"))(t)
		a, b := revTotal(t, p, p.countyA), revTotal(t, p, p.countyB)
		t.Logf("kept: county A redeemed %d, county B %d", a.Redeemed, b.Redeemed)
		must(0, p.db.RebuildReports(p.super.ctx))(t)
		ra, rb := revTotal(t, p, p.countyA), revTotal(t, p, p.countyB)
		if a.Redeemed != ra.Redeemed || b.Redeemed != rb.Redeemed {
			t.Errorf("redeemed: kept county A %d, B %d; rebuilt county A %d, B %d", a.Redeemed, b.Redeemed, ra.Redeemed, rb.Redeemed)
		}
	})
}

// revMonth is one month of an org's Monthly report.
func revMonth(t *testing.T, p *ptsFx, org *jifen.Org, month string) jifen.Tally {
	t.Helper()
	reports := sqldb.NewReportService(p.db)
	m := must(reports.Monthly(p.super.ctx, jifen.ReportFilter{OrgID: org.ID, From: month, To: month}))(t)
	return m.Months[0].Tally
}

// TestReportCorrectionAcrossMidnight: an activity runs from 30 June
// 23:00 to 1 July 02:00 (China time); the resident checks in at 00:30 on
// 1 July and stays to the end, 90 minutes at 10 points an hour: a July
// record earning 15 points. Corrected to 60 minutes, the record earns 10:
// July should show 60 minutes and 10 points, June nothing.
func TestReportCorrectionAcrossMidnight(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.clock.Set(time.Date(2026, 6, 30, 22, 0, 0, 0, jifen.Zone))
		act := p.serveAt(t, p.villageA, 3*time.Hour, 10, []user{p.resident}, []time.Duration{90 * time.Minute})
		rec := p.one(t, "SELECT id FROM service_records WHERE activity_id = ? AND person_id = ?", act.ID, p.resident.p.ID)
		jun, jul := revMonth(t, p, p.root, "2026-06"), revMonth(t, p, p.root, "2026-07")
		if jul.Minutes != 90 || jul.Awarded != 15 || jun != (jifen.Tally{}) {
			t.Fatalf("before the correction: June %+v, July %+v", jun, jul)
		}
		must(p.recs.Correct(p.adminA.ctx, rec, 60, "提前离开"))(t)
		jun, jul = revMonth(t, p, p.root, "2026-06"), revMonth(t, p, p.root, "2026-07")
		if jul.Minutes != 60 || jul.Awarded != 10 || jun != (jifen.Tally{}) {
			t.Errorf("after correcting the July record from 90 to 60 minutes: June %+v, July %+v; want June empty, July 60 minutes and 10 points", jun, jul)
		}
		revSameAsRebuild(t, p)
	})
}

// TestReportPendingAwardPoisonsMonth: after the award of
// TestReportPendingAwardApprovedAfterTransfer, a plain award to
// another resident of 城关村 in the same month also lands in county B.
func TestReportPendingAwardPoisonsMonth(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		in := ruleIn("REVIEWED", 5)
		in.NeedsReview = true
		r := p.rule(t, p.adminA.ctx, p.villageA, in)
		plain := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("HELP", 3))
		aw := p.award(t, p.adminA.ctx, p.resident.p.ID, r)
		must(p.moves.BulkMove(p.super.ctx, []int64{p.resident.p.ID}, p.villageB.ID, "行政村合并"))(t)
		must(p.pts.Approve(p.super.ctx, aw.ID))(t)
		p.posted(t, p.adminA.ctx, p.leader.p.ID, plain) // the leader still lives in 城关村
		a, b := revTotal(t, p, p.countyA), revTotal(t, p, p.countyB)
		if a.Awarded != 8 || b.Awarded != 0 {
			t.Errorf("awarded: county A %d, county B %d; want 8 (5 + 3, both awards of 城关村) and 0", a.Awarded, b.Awarded)
		}
	})
}

// TestReportAwardRacingOrgMove (PostgreSQL): a deduction for a
// resident of 城关村 has read the person (and so the village's path) and
// waits for the resident's account; meanwhile 城关村 moves from county A
// to county B. The deduction then writes the village's first July row.
// County B should show it, county A not.
func TestReportAwardRacingOrgMove(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) { // SQLite runs writes one at a time
		plus := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("HELP", 20))
		minus := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("LITTER", -3))
		p.posted(t, p.adminA.ctx, p.resident.p.ID, plus) // June: opens the account
		p.clock.Set(time.Date(2026, 7, 5, 9, 0, 0, 0, jifen.Zone))
		acct := must(p.ledger.Account(p.super.ctx, jifen.AccountPerson, p.resident.p.ID))(t)

		hold, err := p.raw.Begin()
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := hold.QueryRow("SELECT id FROM accounts WHERE id = $1 FOR UPDATE", acct.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := p.give(p.adminA.ctx, p.resident.p.ID, minus); done <- err }()
		for i := 0; ; i++ {
			if p.one(t, `SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = current_setting('application_name')`) >= 1 {
				break
			}
			if i == 200 {
				t.Fatal("the deduction never waited")
			}
			time.Sleep(20 * time.Millisecond)
		}
		must(p.orgs.MoveOrg(p.super.ctx, p.villageA.ID, p.townB.ID))(t)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The deduction stamped the old path after the move; the move's
		// repair puts it right within seconds (once the deduction's
		// transaction, begun before the move, has ended).
		var a, b jifen.Tally
		var stale int64
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			a, b = revMonth(t, p, p.countyA, "2026-07"), revMonth(t, p, p.countyB, "2026-07")
			stale = p.one(t, "SELECT COUNT(*) FROM awards a JOIN orgs o ON o.id = a.org_id WHERE a.org_path <> o.path")
			if a.Deducted == 0 && b.Deducted == 3 && stale == 0 || time.Now().After(deadline) {
				break
			}
		}
		if a.Deducted != 0 || b.Deducted != 3 || stale != 0 {
			t.Errorf("July deducted 10 s after: county A %d, county B %d; want 0 and 3 (awards with a stale org_path: %d)", a.Deducted, b.Deducted, stale)
		}
		revSameAsRebuild(t, p)
	})
}

// TestReportCorrectionAfterTransfer: 3 hours served in 城关村 at 10
// points an hour earn the resident 30 points, counted in county A. The
// resident moves to 新村 (county B); the record is then corrected to 2
// hours. The record, its minutes and its original award stay in county A,
// so the 10 points taken back should come off county A: A 20, B 0.
func TestReportCorrectionAfterTransfer(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		act := p.serveAt(t, p.villageA, 3*time.Hour, 10, []user{p.resident}, nil)
		rec := p.one(t, "SELECT id FROM service_records WHERE activity_id = ? AND person_id = ?", act.ID, p.resident.p.ID)
		must(p.moves.BulkMove(p.super.ctx, []int64{p.resident.p.ID}, p.villageB.ID, "迁居"))(t)
		must(p.recs.Correct(p.adminA.ctx, rec, 120, "提前离开"))(t)
		a, b := revTotal(t, p, p.countyA), revTotal(t, p, p.countyB)
		if a.Minutes != 120 || a.Awarded != 20 || b.Awarded != 0 {
			t.Errorf("county A %+v, county B %+v; want A 120 minutes and 20 points, B nothing", a, b)
		}
	})
}

// TestReportFirstRecordsAtOnce: two activities with the same new
// volunteers are verified at once; both verifications must succeed and the
// roll-ups equal a rebuild. (PostgreSQL raced them; SQLite's one writer
// takes them in turn.)
func TestReportFirstRecordsAtOnce(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		people := p.crowd(t, 30, p.villageA)
		var acts [2]*jifen.Activity
		start := p.now().Truncate(time.Minute).Add(time.Hour)
		for i := range acts {
			acts[i] = p.published(t, p.input(p.villageA, start.Add(time.Duration(i)*time.Hour), time.Hour))
		}
		p.clock.Set(start.Add(3 * time.Hour))
		for _, a := range acts {
			for _, u := range people {
				must(p.acts.Backfill(p.super.ctx, a.ID, u.p.ID, a.StartsAt, a.EndsAt, "纸质签到表补录"))(t)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, a := range acts {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = p.acts.Verify(p.super.ctx, a.ID) }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("verify activity %d: %v", i, err)
			}
		}
		revSameAsRebuild(t, p)
	})
}
