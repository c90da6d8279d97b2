package sqldb_test

import (
	"encoding/json"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
)

// TestReports drives every write that a report counts (verified service,
// corrections, awards, deductions, a reversal, counter sales, a cancelled
// order, a refund in the next month, a village moving to another county),
// checks the reports against the source tables, and checks that the
// roll-ups kept by the writes equal the ones RebuildReports computes.
func TestReports(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		reports := sqldb.NewReportService(p.db)
		stores := sqldb.NewStoreService(p.db)
		june := jifen.ReportFilter{OrgID: p.root.ID, From: "2026-01", To: "2026-12"}

		// Service: 3 hours each for two volunteers at 10 points an hour,
		// and the leader's record corrected down to 2 hours.
		act := p.serveAt(t, p.villageA, 3*time.Hour, 10, []user{p.resident, p.leader}, nil)
		var leaderRec int64
		if err := p.raw.QueryRow(p.q("SELECT id FROM service_records WHERE activity_id = ? AND person_id = ?"), act.ID, p.leader.p.ID).Scan(&leaderRec); err != nil {
			t.Fatal(err)
		}
		must(p.recs.Correct(p.adminA.ctx, leaderRec, 120, "提前离开"))(t)

		// Awards and a deduction, one award reversed on appeal.
		plus := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("HELP", 5))
		minus := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("LITTER", -3))
		p.posted(t, p.adminA.ctx, p.resident.p.ID, plus)
		undone := p.posted(t, p.adminA.ctx, p.leader.p.ID, plus)
		p.posted(t, p.adminA.ctx, p.leader.p.ID, minus)
		ap := must(p.pts.Appeal(p.leader.ctx, *undone.TxID, "不是我"))(t)
		must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "核实有误"))(t)

		// The store, at the end of June: a sale, an order cancelled, a sale
		// refunded in July.
		p.clock.Set(time.Date(2026, 6, 29, 9, 0, 0, 0, jifen.Zone))
		shop := must(stores.CreateStore(p.adminA.ctx, jifen.StoreInput{OrgID: p.villageA.ID, Name: "城关村积分超市"}))(t)
		stock := int64(10)
		soap := must(stores.CreateItem(p.super.ctx, shop.ID, jifen.ItemInput{Name: "肥皂", Points: 7, Stock: &stock}))(t)
		clerk := p.user(t, "店员", p.villageA, nil, "")
		must(0, stores.AddClerk(p.super.ctx, shop.ID, clerk.p.ID))(t)
		sell := func(buyer user) *jifen.Redemption {
			code := must(stores.NewPaycode(buyer.ctx))(t).Code
			return must(stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: shop.ID, Paycode: code, Key: p.key(),
				Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}}))(t)
		}
		sell(p.resident)
		refunded := sell(p.resident)
		order := must(stores.Redeem(p.resident.ctx, jifen.RedemptionInput{StoreID: shop.ID, Key: p.key(), Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}}))(t)
		must(stores.Cancel(p.resident.ctx, order.ID))(t)
		p.clock.Set(time.Date(2026, 7, 2, 9, 0, 0, 0, jifen.Zone))
		must(stores.Refund(clerk.ctx, refunded.ID, "买错了"))(t)

		m := must(reports.Monthly(p.super.ctx, june))(t)
		var junT, julT jifen.Tally
		for _, mt := range m.Months {
			switch mt.Month {
			case "2026-06":
				junT = mt.Tally
			case "2026-07":
				julT = mt.Tally
			}
		}
		// 180 + 180 − 60 minutes in two records; awards 30 + 30 (service),
		// −10 corrected, 5 + 5 − 5 reversed; 3 deducted; 14 spent in June,
		// 7 refunded in July.
		wantJune := jifen.Tally{Minutes: 300, Records: 2, Awarded: 30 + 30 - 10 + 5, Deducted: 3, Redeemed: 14}
		if junT != wantJune || julT != (jifen.Tally{Redeemed: -7}) {
			t.Fatalf("June %+v, want %+v; July %+v", junT, wantJune, julT)
		}
		var minutes, posted int64
		if err := p.raw.QueryRow("SELECT SUM(minutes) FROM service_records").Scan(&minutes); err != nil {
			t.Fatal(err)
		}
		if err := p.raw.QueryRow("SELECT SUM(points) FROM awards WHERE status = 'posted'").Scan(&posted); err != nil {
			t.Fatal(err)
		}
		if m.Total.Minutes != minutes || m.Total.Awarded-m.Total.Deducted != posted {
			t.Fatalf("total %+v; source: %d minutes, %d points posted", m.Total, minutes, posted)
		}
		if len(m.Children) != 2 || m.Children[0].OrgID != p.countyA.ID || m.Children[0].Tally != m.Total || m.Children[1].Tally != (jifen.Tally{}) {
			t.Fatalf("children %+v", m.Children)
		}
		sales := must(reports.StoreSales(p.super.ctx, june))(t)
		if len(sales) != 1 || sales[0].Sales != 2 || sales[0].Points != 14 || sales[0].Refunded != 7 || sales[0].Stock != 9 || sales[0].Items != 1 {
			t.Fatalf("store sales %+v", sales)
		}
		top := must(reports.TopVolunteers(p.adminA.ctx, p.countyA.ID, 10))(t)
		if len(top) != 2 || top[0].PersonID != p.resident.p.ID || top[0].Minutes != 180 || top[1].Minutes != 120 {
			t.Fatalf("top volunteers %+v", top)
		}

		// Scope: county B's admin cannot read county A; a resident reads nothing.
		if _, err := reports.Monthly(p.adminB.ctx, jifen.ReportFilter{OrgID: p.countyA.ID}); jifen.ErrorCode(err) != "not_found" {
			t.Fatalf("county B reads county A: %v", err)
		}
		if _, err := reports.Stars(p.resident.ctx, p.villageA.ID); jifen.ErrorCode(err) != "not_found" {
			t.Fatalf("a resident reads stars: %v", err)
		}
		if _, err := reports.Monthly(p.super.ctx, jifen.ReportFilter{OrgID: p.root.ID, From: "2026-13"}); jifen.ErrorCode(err) != "invalid" {
			t.Fatalf("month 13: %v", err)
		}

		// 城关村 moves to county B's town: its history goes with it.
		must(p.orgs.MoveOrg(p.super.ctx, p.villageA.ID, p.townB.ID))(t)
		b := must(reports.Monthly(p.adminB.ctx, jifen.ReportFilter{OrgID: p.countyB.ID, From: "2026-06", To: "2026-07"}))(t)
		if b.Total.Minutes != 300 {
			t.Fatalf("county B after the move: %+v", b.Total)
		}
		if top := must(reports.TopVolunteers(p.adminB.ctx, p.countyB.ID, 10))(t); len(top) != 2 {
			t.Fatalf("county B's volunteers after the move: %+v", top)
		}

		snap := func() string {
			var all []any
			for _, o := range []int64{p.root.ID, p.countyA.ID, p.countyB.ID, p.villageA.ID} {
				f := june
				f.OrgID = o
				all = append(all, must(reports.Monthly(p.super.ctx, f))(t), must(reports.StoreSales(p.super.ctx, f))(t),
					must(reports.Stars(p.super.ctx, o))(t), must(reports.TopVolunteers(p.super.ctx, o, 10))(t))
			}
			b, _ := json.Marshal(all)
			return string(b)
		}
		kept := snap()
		must(0, p.db.RebuildReports(p.super.ctx))(t)
		if rebuilt := snap(); rebuilt != kept {
			t.Fatalf("roll-ups kept by the writes differ from a rebuild:\nkept    %s\nrebuilt %s", kept, rebuilt)
		}
	})
}

// TestReportStars crosses a star level and moves the volunteer's home.
func TestReportStars(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		reports := sqldb.NewReportService(p.db)
		stars := func(org *jifen.Org) int64 {
			t.Helper()
			return must(reports.Stars(p.super.ctx, org.ID))(t)[0].People
		}
		// Twelve-hour days: 96 hours is no star, 108 hours is one.
		for day := 1; day <= 9; day++ {
			p.backfillAt(t, p.villageA, 12*time.Hour, 0, p.resident)
			p.clock.Advance(24 * time.Hour)
			want := int64(0)
			if day == 9 {
				want = 1
			}
			if got := stars(p.root); got != want {
				t.Fatalf("after %d hours: %d one-star volunteers, want %d", day*12, got, want)
			}
		}
		if stars(p.countyA) != 1 || stars(p.countyB) != 0 {
			t.Fatal("the star is not counted at the volunteer's home")
		}
		in := jifen.PersonInput{Name: p.resident.p.Name, Gender: p.resident.p.Gender, Phone: p.resident.phone, OrgID: p.villageB.ID}
		must(p.people.UpdatePerson(p.super.ctx, p.resident.p.ID, in))(t)
		if stars(p.countyA) != 0 || stars(p.countyB) != 1 {
			t.Fatal("the star did not move with the volunteer")
		}
		top := must(reports.TopVolunteers(p.super.ctx, p.countyB.ID, 5))(t)
		if len(top) != 1 || top[0].Star != 1 || top[0].Minutes != 108*60 {
			t.Fatalf("county B's top volunteers %+v", top)
		}
		before := stars(p.countyB)
		must(0, p.db.RebuildReports(p.super.ctx))(t)
		if stars(p.countyB) != before || stars(p.countyA) != 0 {
			t.Fatal("a rebuild disagrees with the kept stars")
		}
	})
}
