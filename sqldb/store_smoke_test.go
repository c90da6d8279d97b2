package sqldb_test

import (
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// TestStoreSmoke walks a store from opening to settlement once: the
// thorough suite is store_test.go.
func TestStoreSmoke(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		clock := &clock{t: time.Date(2026, 11, 10, 10, 0, 0, 0, jifen.Zone)}
		db.Now = clock.Now
		stores, ledger := sqldb.NewStoreService(db), sqldb.NewLedgerService(db)
		clerk := f.user(t, "店员", f.villageA, nil, "")
		st := must(stores.CreateStore(f.adminA.ctx, jifen.StoreInput{OrgID: f.villageA.ID, Name: "城关村积分超市"}))(t)
		must(0, stores.AddClerk(f.adminA.ctx, st.ID, clerk.p.ID))(t)
		stock := int64(2)
		soap := must(stores.CreateItem(f.adminA.ctx, st.ID, jifen.ItemInput{Name: "肥皂", Points: 10, Stock: &stock, PerPersonLimit: 3, LimitPeriod: jifen.PerMonth}))(t)
		// Points for the resident.
		iss := must(ledger.Account(f.super.ctx, jifen.AccountIssuance, f.villageA.ID))(t)
		acct := must(ledger.Account(f.super.ctx, jifen.AccountPerson, f.resident.p.ID))(t)
		must(ledger.Post(f.super.ctx, jifen.TxInput{Kind: jifen.TxOpening, Key: "o1", Postings: []jifen.Posting{{AccountID: iss.ID, Amount: -100}, {AccountID: acct.ID, Amount: 100, Score: 100}}}))(t)

		pc := must(stores.NewPaycode(f.resident.ctx))(t)
		if len(pc.Code) != jifen.PaycodeDigits {
			t.Fatalf("pay code %q", pc.Code)
		}
		r := must(stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: st.ID, Paycode: pc.Code, Key: "k1", Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}}))(t)
		if r.Status != jifen.RedemptionCompleted || r.Points != 10 {
			t.Fatalf("sale: %+v", r)
		}
		// The same key again: the same sale; the code is spent.
		again := must(stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: st.ID, Paycode: pc.Code, Key: "k1", Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}}))(t)
		if again.ID != r.ID {
			t.Fatal("a retry made a second sale")
		}
		_, err := stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: st.ID, Paycode: pc.Code, Key: "k2", Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}})
		wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
		// An order: held, then fetched with its code.
		o := must(stores.Redeem(f.resident.ctx, jifen.RedemptionInput{StoreID: st.ID, Key: "o1", Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}}))(t)
		if o.Status != jifen.RedemptionHeld || o.PickupCode == "" {
			t.Fatalf("order: %+v", o)
		}
		_, err = stores.Redeem(f.resident.ctx, jifen.RedemptionInput{StoreID: st.ID, Key: "o2", Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}})
		wantErr(t, err, jifen.KindConflict, "out_of_stock", "")
		must(stores.Fulfil(clerk.ctx, o.ID, o.PickupCode))(t)
		must(stores.Restock(f.adminA.ctx, soap.ID, 5, "到货"))(t)
		_, err = stores.Redeem(f.resident.ctx, jifen.RedemptionInput{StoreID: st.ID, Key: "o3", Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 2}}})
		wantErr(t, err, jifen.KindConflict, "limit_reached", "")
		// A refund gives points and stock back.
		must(stores.Refund(clerk.ctx, r.ID, "质量问题"))(t)
		_, err = stores.Refund(clerk.ctx, r.ID, "质量问题")
		wantErr(t, err, jifen.KindConflict, "already_refunded", "")
		it := must(stores.Item(f.adminA.ctx, soap.ID))(t)
		if *it.Stock != 6 {
			t.Fatalf("stock %d, want 6", *it.Stock)
		}
		// November settles in December: one sale of 10 stands.
		_, err = stores.Settle(f.adminA.ctx, st.ID, "2026-11")
		wantErr(t, err, jifen.KindConflict, "period_open", "")
		clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, jifen.Zone))
		s := must(stores.Settle(f.adminA.ctx, st.ID, "2026-11"))(t)
		if !s.Settled || s.Points != 10 || s.Sales != 2 || s.Refunds != 1 || s.AmountFen != 1000 {
			t.Fatalf("settlement: %+v", s)
		}
		_, err = stores.Settle(f.adminA.ctx, st.ID, "2026-11")
		wantErr(t, err, jifen.KindConflict, "already_settled", "")
		must(ledger.Seal(f.super.ctx))(t)
		rep := must(ledger.Verify(f.super.ctx, ""))(t)
		if rep.Problem != "" {
			t.Fatal(rep.Problem)
		}
	})
}
