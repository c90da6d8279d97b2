package sqldb_test

import (
	"fmt"
	"testing"
	"time"

	"jifen"
)

// shanghai is a China time.
func shanghai(y int, m time.Month, d, h, mi, sec int) time.Time {
	return time.Date(y, m, d, h, mi, sec, 0, jifen.Zone)
}

// statementByOrg maps a statement's split by the buyers' org.
func statementByOrg(st *jifen.Settlement) map[int64]int64 {
	m := map[int64]int64{}
	for _, l := range st.ByOrg {
		m[l.OrgID] += l.Points
	}
	return m
}

// sameSettledFigures reports whether two statements show the same settled figures.
func sameSettledFigures(a, b *jifen.Settlement) bool {
	if a.Sales != b.Sales || a.Refunds != b.Refunds || a.Points != b.Points || a.AmountFen != b.AmountFen || a.FenPerPoint != b.FenPerPoint ||
		a.Settled != b.Settled || a.BlockHash != b.BlockHash || fmt.Sprint(a.ByOrg) != fmt.Sprint(b.ByOrg) ||
		(a.TxID == nil) != (b.TxID == nil) || (a.TxID != nil && *a.TxID != *b.TxID) ||
		(a.SettledAt == nil) != (b.SettledAt == nil) || (a.SettledAt != nil && !a.SettledAt.Equal(*b.SettledAt)) {
		return false
	}
	return true
}

func TestSettlementPeriods(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		s.clock.Set(shanghai(2026, 11, 10, 10, 0, 0))

		t.Run("a month or a year; anything else is 422", func(t *testing.T) {
			for p, want := range map[string][2]time.Time{
				"2026-11":   {shanghai(2026, 11, 1, 0, 0, 0), shanghai(2026, 12, 1, 0, 0, 0)},
				" 2026-12 ": {shanghai(2026, 12, 1, 0, 0, 0), shanghai(2027, 1, 1, 0, 0, 0)},
				"2026":      {shanghai(2026, 1, 1, 0, 0, 0), shanghai(2027, 1, 1, 0, 0, 0)},
				"2000-01":   {shanghai(2000, 1, 1, 0, 0, 0), shanghai(2000, 2, 1, 0, 0, 0)},
			} {
				from, to, err := jifen.ParsePeriod(p)
				if err != nil || !from.Equal(want[0]) || !to.Equal(want[1]) {
					t.Fatalf("%q: %s – %s (%v), want %s – %s", p, from, to, err, want[0], want[1])
				}
			}
			st := must(s.stores.Settlement(s.adminA.ctx, s.shop.ID, " 2026-11 "))(t)
			if st.Period != "2026-11" || st.Settled || st.Sales != 0 || st.Points != 0 || st.FenPerPoint != 100 || st.StoreName != s.shop.Name || st.OrgName != "城关村" {
				t.Fatalf("empty statement %+v", st)
			}
			must(s.stores.Settlement(s.adminA.ctx, s.shop.ID, "2026"))(t)
			before := s.rows(t)
			for _, p := range []string{"", "2026-13", "2026-00", "2026-1", "26-11", "2026/11", "2026-11-01", "11-2026", "1999", "2101", "2101-01", "abcd", "２０２６"} {
				_, err := s.stores.Settlement(s.adminA.ctx, s.shop.ID, p)
				wantErr(t, err, jifen.KindInvalid, "invalid", "period")
				_, err = s.stores.Settle(s.adminA.ctx, s.shop.ID, p)
				wantErr(t, err, jifen.KindInvalid, "invalid", "period")
			}
			s.unchanged(t, before)
		})

		t.Run("a period is settled only once it has ended", func(t *testing.T) {
			before := s.rows(t)
			for _, p := range []string{"2026-11", "2026", "2027-01", "2030"} {
				_, err := s.stores.Settle(s.adminA.ctx, s.shop.ID, p)
				wantErr(t, err, jifen.KindConflict, "period_open", "")
			}
			s.clock.Set(shanghai(2026, 11, 30, 23, 59, 59))
			_, err := s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11")
			wantErr(t, err, jifen.KindConflict, "period_open", "")
			s.unchanged(t, before)
			s.clock.Set(shanghai(2026, 12, 1, 0, 9, 59))
			_, err = s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11")
			wantErr(t, err, jifen.KindConflict, "period_open", "") // the last sales may still be committing
			s.unchanged(t, before)
			s.clock.Set(shanghai(2026, 12, 1, 0, 10, 0))
			st := must(s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11"))(t)
			if !st.Settled || st.Points != 0 || st.TxID != nil || st.SettledAt == nil {
				t.Fatalf("an empty month settled: %+v", st)
			}
		})

		t.Run("only the store's admins read and settle statements", func(t *testing.T) {
			for _, u := range []user{s.clerk, s.resident} {
				_, err := s.stores.Settlement(u.ctx, s.shop.ID, "2026-10")
				wantErr(t, err, jifen.KindForbidden, "forbidden", "")
				_, err = s.stores.Settle(u.ctx, s.shop.ID, "2026-10")
				wantErr(t, err, jifen.KindForbidden, "forbidden", "")
			}
			for _, u := range []user{s.adminB, s.residentB} {
				_, err := s.stores.Settlement(u.ctx, s.shop.ID, "2026-10")
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
				_, err = s.stores.Settle(u.ctx, s.shop.ID, "2026-10")
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
			_, err := s.stores.Settle(s.adminA.ctx, 99_999_999, "2026-10")
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})

		t.Run("a month overlaps its year and a year its months", func(t *testing.T) {
			s.clock.Set(shanghai(2027, 1, 2, 9, 0, 0))
			_, err := s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026")
			wantErr(t, err, jifen.KindConflict, "already_settled", "")
			must(s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-12"))(t)
			_, err = s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-12")
			wantErr(t, err, jifen.KindConflict, "already_settled", "")
			y := must(s.stores.Settle(s.adminA.ctx, s.shop.ID, "2025"))(t)
			if !y.Settled || y.Period != "2025" {
				t.Fatalf("year %+v", y)
			}
			for _, p := range []string{"2025", "2025-01", "2025-12"} {
				_, err = s.stores.Settle(s.adminA.ctx, s.shop.ID, p)
				wantErr(t, err, jifen.KindConflict, "already_settled", "")
			}
			// Another store's periods are its own.
			other := must(s.stores.CreateStore(s.adminA.ctx, jifen.StoreInput{OrgID: s.villageA.ID, Name: "城关村二店"}))(t)
			must(s.stores.Settle(s.adminA.ctx, other.ID, "2026"))(t)
			if n := s.one(t, "SELECT COUNT(*) FROM settlements"); n != 4 {
				t.Fatalf("%d settlements, want 4 (2026-11, 2026-12, 2025 and the other store's 2026)", n)
			}
		})
	})
}

func TestSettlementStatement(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		s.edit(t, func(in *jifen.StoreInput) { in.ServesOrgID, in.FenPerPoint, in.ConfirmAbove = s.countyA.ID, 50, 100 })
		neighbour, nanjie := s.neighbour(t, "南街村民")
		item := func(name string, points int64) *jifen.Item { return s.goods(t, name, points, ptr[int64](50)) }
		p1, p2, p5, p7, p10, p20, p30, p40, p60, p150 := item("一分", 1), item("两分", 2), item("五分", 5), item("七分", 7), item("十分", 10),
			item("二十分", 20), item("三十分", 30), item("四十分", 40), item("六十分", 60), item("一百五十分", 150)
		s.fund(t, s.resident.p.ID, 1000)
		s.fund(t, neighbour.p.ID, 100)
		store, issuer := s.acct(t, jifen.AccountStore, s.shop.ID), s.acct(t, jifen.AccountIssuance, s.villageA.ID)
		var nov *jifen.Settlement
		var late *jifen.Redemption

		t.Run("November's sales", func(t *testing.T) {
			s.clock.Set(shanghai(2026, 10, 31, 23, 0, 0))
			s.sell(t, s.resident, lineOf(p5, 1)) // October
			s.clock.Set(shanghai(2026, 11, 10, 10, 0, 0))
			s.sell(t, s.resident, lineOf(p30, 1))
			o := s.order(t, neighbour, lineOf(p20, 1))
			refunded := s.sell(t, s.resident, lineOf(p10, 1))
			s.clock.Set(shanghai(2026, 11, 11, 10, 0, 0))
			must(s.stores.Fulfil(s.clerk.ctx, o.ID, o.PickupCode))(t)
			s.clock.Set(shanghai(2026, 11, 12, 10, 0, 0))
			must(s.stores.Refund(s.clerk.ctx, refunded.ID, "尺码不对"))(t)
			s.clock.Set(shanghai(2026, 11, 29, 10, 0, 0))
			late = s.sell(t, neighbour, lineOf(p40, 1)) // refunded in December
			s.clock.Set(shanghai(2026, 11, 29, 20, 0, 0))
			held := s.order(t, s.resident, lineOf(p7, 1)) // fetched in December
			s.clock.Set(shanghai(2026, 11, 30, 23, 58, 0))
			waiting := must(s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(p150, 1)))(t) // confirmed in December
			if waiting.Status != jifen.RedemptionConfirming {
				t.Fatalf("150 points above 100: %s", waiting.Status)
			}
			s.clock.Set(shanghai(2026, 11, 30, 23, 59, 59))
			s.sell(t, s.resident, lineOf(p1, 1))
			s.clock.Set(shanghai(2026, 12, 1, 0, 0, 0))
			s.sell(t, s.resident, lineOf(p2, 1)) // December
			s.clock.Set(shanghai(2026, 12, 1, 0, 5, 0))
			must(s.stores.Confirm(s.resident.ctx, waiting.ID))(t)
			s.clock.Set(shanghai(2026, 12, 1, 8, 0, 0))
			must(s.stores.Fulfil(s.clerk.ctx, held.ID, held.PickupCode))(t)
		})

		t.Run("the statement: sales and refunds in the period, net points, by the buyers' org, the amount at the store's rate", func(t *testing.T) {
			s.clock.Set(shanghai(2026, 12, 1, 9, 0, 0))
			s.check(t) // sealed: the statement names the latest block
			st := must(s.stores.Settlement(s.adminA.ctx, s.shop.ID, "2026-11"))(t)
			// 30 + 20 + 10 - 10 (refunded in November) + 40 + 1
			if st.Settled || st.Sales != 5 || st.Refunds != 1 || st.Points != 91 || st.FenPerPoint != 50 || st.AmountFen != 4550 || jifen.Yuan(st.AmountFen) != "45.50" {
				t.Fatalf("November before settling: %+v", st)
			}
			if got := statementByOrg(st); len(got) != 2 || got[s.villageA.ID] != 31 || got[nanjie.ID] != 60 {
				t.Fatalf("by org %+v, want 城关村 31 and 南街村 60", st.ByOrg)
			}
			if b := must(s.ledger.LatestBlock(s.super.ctx))(t); b == nil || st.BlockHash != b.Hash {
				t.Fatalf("block hash %q, want the latest block's", st.BlockHash)
			}
			if len(st.Lines) != 5 {
				t.Fatalf("%d lines, want 5", len(st.Lines))
			}
			for _, l := range st.Lines {
				if l.PickupCode != "" {
					t.Fatal("a statement shows a pick-up code")
				}
			}
		})

		t.Run("settling moves November's points out of the store account", func(t *testing.T) {
			held := s.storeBal(t, s.shop.ID)
			nov = must(s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-11"))(t)
			if !nov.Settled || nov.Points != 91 || nov.Sales != 5 || nov.Refunds != 1 || nov.AmountFen != 4550 || nov.TxID == nil ||
				nov.SettledAt == nil || !nov.SettledAt.Equal(s.now()) || nov.BlockHash == "" {
				t.Fatalf("settled %+v", nov)
			}
			tx := s.tx(t, *nov.TxID)
			if tx.Kind != jifen.TxSettlement || tx.OrgID != s.villageA.ID || tx.Key != fmt.Sprintf("settlement:%d:2026-11", s.shop.ID) {
				t.Fatalf("settlement transaction %+v", tx)
			}
			wantLegs(t, tx, map[int64]int64{store.ID: -91, issuer.ID: 91})
			if got := s.storeBal(t, s.shop.ID); got != held-91 {
				t.Fatalf("store account %d, want %d", got, held-91)
			}
			if len(s.auditEntries(t, "store.settle")) != 1 {
				t.Fatal("no audit entry")
			}
			before := s.rows(t)
			for _, p := range []string{"2026-11", " 2026-11"} {
				_, err := s.stores.Settle(s.adminA.ctx, s.shop.ID, p)
				wantErr(t, err, jifen.KindConflict, "already_settled", "")
			}
			s.unchanged(t, before)
		})

		t.Run("a refund of a settled sale is paid from the org's issuance account", func(t *testing.T) {
			held := s.storeBal(t, s.shop.ID)
			s.clock.Set(shanghai(2026, 12, 2, 10, 0, 0))
			r := must(s.stores.Refund(s.clerk.ctx, late.ID, "质量问题"))(t)
			wantLegs(t, s.tx(t, *r.RefundTxID), map[int64]int64{issuer.ID: -40, s.acct(t, jifen.AccountPerson, neighbour.p.ID).ID: 40})
			if got := s.storeBal(t, s.shop.ID); got != held {
				t.Fatalf("store account %d, want %d: a settled sale's refund came out of it", got, held)
			}
			s.wantBal(t, neighbour, 80)
		})

		t.Run("a settled period never changes", func(t *testing.T) {
			s.clock.Set(shanghai(2026, 12, 3, 10, 0, 0))
			s.sell(t, s.resident, lineOf(p60, 1))
			s.edit(t, func(in *jifen.StoreInput) { in.FenPerPoint = 80 })
			row := func() string {
				var sales, refunds, points, amount, rate int64
				var by, hash string
				if err := s.raw.QueryRow(s.q("SELECT sales, refunds, points, amount_fen, fen_per_point, by_org, block_hash FROM settlements WHERE store_id = ? AND period = '2026-11'"), s.shop.ID).
					Scan(&sales, &refunds, &points, &amount, &rate, &by, &hash); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprint(sales, refunds, points, amount, rate, by, hash)
			}
			stored := row()
			s.check(t) // a new block
			again := must(s.stores.Settlement(s.adminA.ctx, s.shop.ID, "2026-11"))(t)
			if !sameSettledFigures(nov, again) {
				t.Fatalf("November changed after settlement:\nsettled %+v\nnow     %+v", nov, again)
			}
			if row() != stored {
				t.Fatal("the stored settlement row changed")
			}
		})

		t.Run("December carries the late refund as a negative line and settles after November", func(t *testing.T) {
			s.clock.Set(shanghai(2027, 1, 1, 9, 0, 0))
			dec := must(s.stores.Settlement(s.adminA.ctx, s.shop.ID, "2026-12"))(t)
			// 2 + 150 (confirmed in December) + 7 (fetched in December) + 60 - 40 (November's, refunded in December)
			if dec.Settled || dec.Sales != 4 || dec.Refunds != 1 || dec.Points != 179 || dec.FenPerPoint != 80 || dec.AmountFen != 179*80 {
				t.Fatalf("December %+v", dec)
			}
			if got := statementByOrg(dec); len(got) != 2 || got[s.villageA.ID] != 219 || got[nanjie.ID] != -40 {
				t.Fatalf("by org %+v, want 城关村 219 and 南街村 -40", dec.ByOrg)
			}
			held := s.storeBal(t, s.shop.ID)
			settled := must(s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-12"))(t)
			// 179 is due; 219 leaves the store's account, since the org, not
			// the store, paid November's refund back.
			if !settled.Settled || settled.Points != 179 || settled.Transferred != 219 || settled.TxID == nil {
				t.Fatalf("December settled %+v", settled)
			}
			wantLegs(t, s.tx(t, *settled.TxID), map[int64]int64{store.ID: -219, issuer.ID: 219})
			if got := s.storeBal(t, s.shop.ID); got != held-219 {
				t.Fatalf("store account %d, want %d", got, held-219)
			}
			_, err := s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026")
			wantErr(t, err, jifen.KindConflict, "already_settled", "")
			oct := must(s.stores.Settle(s.adminA.ctx, s.shop.ID, "2026-10"))(t)
			if oct.Points != 5 || oct.Sales != 1 || oct.AmountFen != 400 {
				t.Fatalf("October %+v", oct)
			}
		})
	})
}

// TestSettleStoreAccount follows the points of a sale refunded after its
// month ended through the settlements on either side of the refund: once
// every period with sales is settled and nothing is waiting for pick-up or
// confirmation, the store account is empty.
func TestSettleStoreAccount(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		s.fund(t, s.resident.p.ID, 1000)

		t.Run("refunded after its month ended, before the month was settled", func(t *testing.T) {
			st := must(s.stores.CreateStore(s.adminA.ctx, jifen.StoreInput{OrgID: s.villageA.ID, Name: "城关村一店"}))(t)
			clerk := s.newClerk(t, st, "一店店员")
			it := s.itemAt(t, st.ID, jifen.ItemInput{Name: "香油", Points: 10, Stock: ptr[int64](10)})
			s.clock.Set(shanghai(2026, 11, 30, 20, 0, 0))
			r := must(s.sellAt(t, clerk, st.ID, s.resident, lineOf(it, 1)))(t)
			s.clock.Set(shanghai(2026, 12, 1, 9, 0, 0))
			must(s.stores.Refund(clerk.ctx, r.ID, "漏油"))(t)
			s.clock.Set(shanghai(2026, 12, 2, 9, 0, 0))
			nov, err := s.stores.Settle(s.adminA.ctx, st.ID, "2026-11")
			if jifen.ErrorCode(err) == "insufficient_points" {
				bug(t, "settling a month fails with 409 insufficient_points when one of its sales was refunded after the month ended but before it was "+
					"settled and the store has taken no other points since: the refund was paid back out of the store account (sqldb/redemption.go:426-442, "+
					"the month is not settled yet) but the month's statement counts the sale and leaves the refund to the next month "+
					"(sqldb/settlement.go:32-57), so Settle (sqldb/settlement.go:178-185) moves points the store account no longer holds; "+
					"it succeeds only once later sales happen to refill the account")
			}
			if err != nil {
				t.Fatalf("settle November: %v", err)
			}
			// The store paid the refund back itself while November was
			// open, so it counts against November: nothing is due, and
			// nothing moves.
			if nov.Sales != 1 || nov.Refunds != 1 || nov.Points != 0 || nov.Transferred != 0 || nov.TxID != nil {
				t.Fatalf("November %+v", nov)
			}
			s.clock.Set(shanghai(2027, 1, 1, 9, 0, 0))
			dec := must(s.stores.Settle(s.adminA.ctx, st.ID, "2026-12"))(t)
			if dec.Points != 0 || dec.Refunds != 0 || dec.AmountFen != 0 {
				t.Fatalf("December %+v", dec)
			}
			if got := s.storeBal(t, st.ID); got != 0 {
				t.Fatalf("store account %d after settling everything, want 0", got)
			}
		})

		t.Run("refunded after its month was settled", func(t *testing.T) {
			st := must(s.stores.CreateStore(s.adminA.ctx, jifen.StoreInput{OrgID: s.villageA.ID, Name: "城关村二店"}))(t)
			clerk := s.newClerk(t, st, "二店店员")
			it := s.itemAt(t, st.ID, jifen.ItemInput{Name: "酱油", Points: 10, Stock: ptr[int64](10)})
			big := s.itemAt(t, st.ID, jifen.ItemInput{Name: "米面礼包", Points: 30, Stock: ptr[int64](10)})
			s.clock.Set(shanghai(2027, 3, 28, 10, 0, 0))
			r := must(s.sellAt(t, clerk, st.ID, s.resident, lineOf(it, 1)))(t)
			s.clock.Set(shanghai(2027, 4, 1, 9, 0, 0))
			must(s.stores.Settle(s.adminA.ctx, st.ID, "2027-03"))(t)
			if got := s.storeBal(t, st.ID); got != 0 {
				t.Fatalf("store account %d after settling March, want 0", got)
			}
			s.clock.Set(shanghai(2027, 4, 2, 9, 0, 0))
			must(s.stores.Refund(clerk.ctx, r.ID, "过期"))(t) // paid from the issuance account
			s.clock.Set(shanghai(2027, 4, 3, 9, 0, 0))
			must(s.sellAt(t, clerk, st.ID, s.resident, lineOf(big, 1)))(t)
			s.clock.Set(shanghai(2027, 5, 1, 9, 0, 0))
			apr := must(s.stores.Settle(s.adminA.ctx, st.ID, "2027-04"))(t)
			if apr.Points != 20 || apr.AmountFen != 2000 || apr.Sales != 1 || apr.Refunds != 1 {
				t.Fatalf("April %+v: the store is owed 30 less the 10 it was paid in March for what came back", apr)
			}
			if got := s.storeBal(t, st.ID); got != 0 {
				bug(t, fmt.Sprintf("after every month is settled the store account still holds %d points: a refund of a sale from a settled month is paid "+
					"from the org's issuance account (sqldb/redemption.go:435-441) and never touches the store account, yet the next settlement "+
					"nets it against that month's sales and moves only the net out of the store account (sqldb/settlement.go:178-185, "+
					"Points = sales - refunds), so the store account keeps the refunded amount for good; the settlement transaction should "+
					"move what the store account took in the period (sales less refunds paid from it) while the money owed stays the net", got))
				t.Fatalf("store account %d, want 0", got)
			}
		})
	})
}
