package sqldb_test

import (
	"fmt"
	"testing"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// TestArchiveItemAndStore: an edit takes an item off sale and a store out
// of business, and back again.
func TestArchiveItemAndStore(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		stores, ledger := sqldb.NewStoreService(db), sqldb.NewLedgerService(db)
		st := must(stores.CreateStore(f.adminA.ctx, jifen.StoreInput{OrgID: f.villageA.ID, Name: "城关村积分超市"}))(t)
		in := jifen.ItemInput{Name: "毛巾", Points: 5}
		it := must(stores.CreateItem(f.adminA.ctx, st.ID, in))(t)
		iss := must(ledger.Account(f.super.ctx, jifen.AccountIssuance, f.villageA.ID))(t)
		acct := must(ledger.Account(f.super.ctx, jifen.AccountPerson, f.resident.p.ID))(t)
		must(ledger.Post(f.super.ctx, jifen.TxInput{Kind: jifen.TxOpening, Key: "o", Postings: []jifen.Posting{{AccountID: iss.ID, Amount: -50}, {AccountID: acct.ID, Amount: 50, Score: 50}}}))(t)
		order := func(key string) error {
			_, err := stores.Redeem(f.resident.ctx, jifen.RedemptionInput{StoreID: st.ID, Key: key, Lines: []jifen.Line{{ItemID: it.ID, Quantity: 1}}})
			return err
		}
		in.Archived = true
		if got := must(stores.UpdateItem(f.adminA.ctx, it.ID, in))(t); !got.Archived {
			t.Fatal("the item is still on sale")
		}
		wantErr(t, order("a"), jifen.KindInvalid, "invalid", "item_id")
		in.Archived = false
		must(stores.UpdateItem(f.adminA.ctx, it.ID, in))(t)
		must(0, order("b"))(t)

		sin := jifen.StoreInput{Name: "城关村积分超市", Archived: true}
		if got := must(stores.UpdateStore(f.adminA.ctx, st.ID, sin))(t); !got.Archived {
			t.Fatal("the store is still open")
		}
		wantErr(t, order("c"), jifen.KindConflict, "store_closed", "")
		if list := must(stores.Stores(f.resident.ctx, false))(t); len(list) != 0 {
			t.Fatalf("a closed store is listed to residents: %+v", list)
		}
	})
}

// TestPINGuessesAcrossCardsAreThrottled: a counter trying PINs on many
// cards is stopped, not only each card.
func TestPINGuessesAcrossCardsAreThrottled(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		stores := sqldb.NewStoreService(db)
		st := must(stores.CreateStore(f.adminA.ctx, jifen.StoreInput{OrgID: f.villageA.ID, Name: "城关村积分超市"}))(t)
		it := must(stores.CreateItem(f.adminA.ctx, st.ID, jifen.ItemInput{Name: "毛巾", Points: 5}))(t)
		clerk := f.user(t, "店员", f.villageA, nil, "")
		must(0, stores.AddClerk(f.adminA.ctx, st.ID, clerk.p.ID))(t)
		try := func(i int) error {
			_, err := stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: st.ID, VolunteerNo: fmt.Sprintf("2026%08d", i), PIN: "000000",
				Key: fmt.Sprint("k", i), Lines: []jifen.Line{{ItemID: it.ID, Quantity: 1}}})
			return err
		}
		for i := range 30 {
			wantErr(t, try(i), jifen.KindInvalid, "invalid_pin", "pin")
		}
		wantErr(t, try(99), jifen.KindTooMany, "too_many_attempts", "")
	})
}
