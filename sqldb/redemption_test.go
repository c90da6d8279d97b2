package sqldb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jifen"
)

// forgedCode is an 18-digit code nobody was issued.
func forgedCode(i int) string { return fmt.Sprintf("9%017d", 31_415_926_535+int64(i)*7_919) }

// ringUp rings up a pay code at the shop as clerk.
func (s *shopFx) ringUp(clerk user, code string, lines ...jifen.Line) (*jifen.Redemption, error) {
	return s.stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: code, Lines: lines, Key: s.key()})
}

// card rings up a printed card and its PIN at the shop as clerk.
func (s *shopFx) card(clerk user, who user, pin string, lines ...jifen.Line) (*jifen.Redemption, error) {
	return s.stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, VolunteerNo: who.p.VolunteerNo, PIN: pin, Lines: lines, Key: s.key()})
}

func TestPaycode(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		soap := s.goods(t, "肥皂", 10, ptr[int64](100))
		s.fund(t, s.resident.p.ID, 1000)
		s.fund(t, s.leader.p.ID, 1000)

		t.Run("18 digits, starting with 9, for one minute", func(t *testing.T) {
			now := s.now()
			seen := map[string]bool{}
			for range 20 {
				pc := must(s.stores.NewPaycode(s.resident.ctx))(t)
				if len(pc.Code) != 18 || pc.Code[0] != '9' || strings.Trim(pc.Code, "0123456789") != "" {
					t.Fatalf("pay code %q", pc.Code)
				}
				if !pc.ExpiresAt.Equal(now.Add(time.Minute)) {
					t.Fatalf("expires at %s, want %s", pc.ExpiresAt, now.Add(time.Minute))
				}
				if seen[pc.Code] {
					t.Fatalf("pay code %s issued twice", pc.Code)
				}
				seen[pc.Code] = true
			}
			if n := s.one(t, "SELECT COUNT(*) FROM paycodes WHERE person_id = ?", s.resident.p.ID); n != 20 {
				t.Fatalf("%d live codes for one person, want the 20 issued", n)
			}
			for code := range seen {
				if n := s.one(t, "SELECT COUNT(*) FROM paycodes WHERE code_hash = ?", code); n != 0 {
					t.Fatal("a pay code is stored in the clear")
				}
			}
			_, err := s.stores.NewPaycode(context.Background())
			wantErr(t, err, jifen.KindUnauthorized, "", "")
		})

		t.Run("codes fetched and never used do not stop the next", func(t *testing.T) {
			// The 20 of the subtest above are live: a page opened often.
			for range 30 {
				must(s.stores.NewPaycode(s.resident.ctx))(t)
			}
			must(s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(soap, 1)))(t)
		})

		t.Run("a code works once", func(t *testing.T) {
			clerk := s.newClerk(t, s.shop, "店员一次")
			code := s.code(t, s.resident)
			r := must(s.ringUp(clerk, code, lineOf(soap, 1)))(t)
			if r.PersonID != s.resident.p.ID || r.Status != jifen.RedemptionCompleted {
				t.Fatalf("sale %+v", r)
			}
			before := s.rows(t)
			_, err := s.ringUp(clerk, code, lineOf(soap, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
			_, err = s.ringUp(s.clerk, code, lineOf(soap, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
			s.unchanged(t, before)
		})

		t.Run("read out with spaces it still works", func(t *testing.T) {
			code := s.code(t, s.resident)
			spaced := code[:6] + " " + code[6:12] + " " + code[12:]
			must(s.ringUp(s.clerk, " "+spaced+" ", lineOf(soap, 1)))(t)
		})

		t.Run("a code expires after a minute", func(t *testing.T) {
			clerk := s.newClerk(t, s.shop, "店员过期")
			code := s.code(t, s.resident)
			s.clock.Advance(59 * time.Second)
			must(s.ringUp(clerk, code, lineOf(soap, 1)))(t)
			code = s.code(t, s.resident)
			s.clock.Advance(time.Minute)
			before := s.rows(t)
			_, err := s.ringUp(clerk, code, lineOf(soap, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
			s.clock.Advance(time.Hour)
			_, err = s.ringUp(clerk, code, lineOf(soap, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
			s.unchanged(t, before)
		})

		t.Run("an older code still works, once, for its minute; each is its holder's", func(t *testing.T) {
			clerk := s.newClerk(t, s.shop, "店员旧码")
			old := s.code(t, s.resident)
			theirs := s.code(t, s.leader)
			s.clock.Advance(30 * time.Second)
			newer := s.code(t, s.resident)
			if r := must(s.ringUp(clerk, old, lineOf(soap, 1)))(t); r.PersonID != s.resident.p.ID {
				t.Fatalf("the older code bought for %d", r.PersonID)
			}
			if r := must(s.ringUp(clerk, newer, lineOf(soap, 1)))(t); r.PersonID != s.resident.p.ID {
				t.Fatalf("the newer code bought for %d", r.PersonID)
			}
			if r := must(s.ringUp(clerk, theirs, lineOf(soap, 1)))(t); r.PersonID != s.leader.p.ID {
				t.Fatalf("the leader's code bought for %d", r.PersonID)
			}
			unspent := s.code(t, s.resident)
			s.clock.Advance(30 * time.Second)
			newer = s.code(t, s.resident)
			s.clock.Advance(31 * time.Second)
			before := s.rows(t)
			_, err := s.ringUp(clerk, unspent, lineOf(soap, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
			s.unchanged(t, before)
			must(s.ringUp(clerk, newer, lineOf(soap, 1)))(t)
		})

		t.Run("a spent or expired code is told as such and is not a guess", func(t *testing.T) {
			clerk := s.newClerk(t, s.shop, "店员重放")
			spent := s.code(t, s.resident)
			must(s.ringUp(clerk, spent, lineOf(soap, 1)))(t)
			expired := s.code(t, s.resident)
			s.clock.Advance(time.Minute + time.Second)
			before := s.rows(t)
			// More than the 10 wrong codes that throttle a counter.
			for range 12 {
				_, err := s.ringUp(clerk, spent, lineOf(soap, 1))
				wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
				if !strings.Contains(err.Error(), "has been used") {
					t.Fatalf("a spent code was told %q", err)
				}
				_, err = s.ringUp(clerk, expired, lineOf(soap, 1))
				wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
				if !strings.Contains(err.Error(), "has expired") {
					t.Fatalf("an expired code was told %q", err)
				}
			}
			s.unchanged(t, before)
			if n := s.one(t, "SELECT COUNT(*) FROM throttles WHERE key = ?", fmt.Sprintf("paycode:clerk:%d", clerk.p.ID)); n != 0 {
				t.Fatal("spent and expired codes counted against the counter")
			}
			must(s.sellAt(t, clerk, s.shop.ID, s.resident, lineOf(soap, 1)))(t)
			// An hour past its minute a code is swept by the next fetch,
			// and is then a stranger, counted like a guess.
			s.clock.Advance(time.Hour)
			s.code(t, s.leader)
			_, err := s.ringUp(clerk, expired, lineOf(soap, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
			if n := s.one(t, "SELECT failures FROM throttles WHERE key = ?", fmt.Sprintf("paycode:clerk:%d", clerk.p.ID)); n != 1 {
				t.Fatalf("%d failures counted for a swept code, want 1", n)
			}
		})

		t.Run("forged codes are 422 invalid_paycode", func(t *testing.T) {
			clerk := s.newClerk(t, s.shop, "店员伪造")
			before := s.rows(t)
			real := s.code(t, s.resident)
			for _, code := range []string{forgedCode(0), "123", real[:17], real + "0", strings.Repeat("a", 18), "９" + real[1:], "-" + real[1:], real[:17] + "x"} {
				_, err := s.ringUp(clerk, code, lineOf(soap, 1))
				wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
			}
			s.unchanged(t, before)
			if n := s.one(t, "SELECT failures FROM throttles WHERE key = ?", fmt.Sprintf("paycode:clerk:%d", clerk.p.ID)); n != 8 {
				t.Fatalf("%d failures counted, want 8", n)
			}
		})

		t.Run("after 10 wrong codes the clerk gets 429 until the window passes", func(t *testing.T) {
			clerk := s.newClerk(t, s.shop, "店员猜码")
			for i := range 10 {
				_, err := s.ringUp(clerk, forgedCode(100+i), lineOf(soap, 1))
				wantErr(t, err, jifen.KindInvalid, "invalid_paycode", "paycode")
			}
			real := s.code(t, s.resident)
			before := s.rows(t)
			_, err := s.ringUp(clerk, real, lineOf(soap, 1))
			wantErr(t, err, jifen.KindTooMany, "too_many_attempts", "")
			_, err = s.stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: real, PIN: "000000", Lines: []jifen.Line{lineOf(soap, 1)}, Key: s.key()})
			wantErr(t, err, jifen.KindTooMany, "too_many_attempts", "")
			s.unchanged(t, before)
			// Another clerk is not held up, and the real code was not spent.
			must(s.ringUp(s.clerk, real, lineOf(soap, 1)))(t)
			s.clock.Advance(14 * time.Minute)
			_, err = s.sellAt(t, clerk, s.shop.ID, s.resident, lineOf(soap, 1))
			wantErr(t, err, jifen.KindTooMany, "too_many_attempts", "")
			s.clock.Advance(time.Minute + time.Second)
			must(s.sellAt(t, clerk, s.shop.ID, s.resident, lineOf(soap, 1)))(t)
		})
	})
}

func TestPaycodeCardAndPIN(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		s.edit(t, func(in *jifen.StoreInput) { in.ConfirmAbove = 50 })
		oil := s.goods(t, "食用油", 30, ptr[int64](100))
		s.fund(t, s.resident.p.ID, 2000)
		s.fund(t, s.leader.p.ID, 2000)

		t.Run("setting a PIN", func(t *testing.T) {
			for _, pin := range []string{"12345", "1234567", "12a456", ""} {
				err := s.people.SetPIN(s.resident.ctx, s.resident.p.ID, pin)
				wantErr(t, err, jifen.KindInvalid, "invalid", "pin")
			}
			err := s.people.SetPIN(s.residentB.ctx, s.resident.p.ID, "123456")
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			must(0, s.people.SetPIN(s.resident.ctx, s.resident.p.ID, "123456"))(t)
			if n := s.one(t, "SELECT COUNT(*) FROM people WHERE pin_hash = '123456'"); n != 0 {
				t.Fatal("a PIN is stored in the clear")
			}
		})

		t.Run("card and PIN buy, above the threshold at once", func(t *testing.T) {
			r := must(s.card(s.clerk, s.resident, "123456", lineOf(oil, 2)))(t)
			if r.Status != jifen.RedemptionCompleted || r.Points != 60 || r.PersonID != s.resident.p.ID || r.DoneAt == nil {
				t.Fatalf("card sale %+v", r)
			}
			s.wantBal(t, s.resident, 1940)
			padded := jifen.RedemptionInput{StoreID: s.shop.ID, VolunteerNo: " " + s.resident.p.VolunteerNo + " ", PIN: "123456", Lines: []jifen.Line{lineOf(oil, 1)}, Key: s.key()}
			must(s.stores.Redeem(s.clerk.ctx, padded))(t)
		})

		t.Run("a wrong PIN, an unknown card or a card without a PIN is 422 invalid_pin and writes nothing", func(t *testing.T) {
			clerk := s.newClerk(t, s.shop, "店员验卡")
			before := s.rows(t)
			_, err := s.card(clerk, s.resident, "654321", lineOf(oil, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid_pin", "pin")
			_, err = s.card(clerk, s.resident, "", lineOf(oil, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid_pin", "pin")
			_, err = s.card(clerk, s.leader, "123456", lineOf(oil, 1)) // no PIN set
			wantErr(t, err, jifen.KindInvalid, "invalid_pin", "pin")
			_, err = s.stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, VolunteerNo: "202699999999", PIN: "123456", Lines: []jifen.Line{lineOf(oil, 1)}, Key: s.key()})
			wantErr(t, err, jifen.KindInvalid, "invalid_pin", "pin")
			s.unchanged(t, before)
		})

		t.Run("the PIN with a pay code completes a sale above the threshold; a wrong one leaves the code unspent", func(t *testing.T) {
			clerk := s.newClerk(t, s.shop, "店员密码")
			code := s.code(t, s.resident)
			r := must(s.stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: code, PIN: "123456", Lines: []jifen.Line{lineOf(oil, 2)}, Key: s.key()}))(t)
			if r.Status != jifen.RedemptionCompleted {
				t.Fatalf("pay code and PIN: %s, want completed", r.Status)
			}
			code = s.code(t, s.resident)
			before := s.rows(t)
			_, err := s.stores.Redeem(clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: code, PIN: "000000", Lines: []jifen.Line{lineOf(oil, 2)}, Key: s.key()})
			wantErr(t, err, jifen.KindInvalid, "invalid_pin", "pin")
			s.unchanged(t, before)
			r = must(s.ringUp(clerk, code, lineOf(oil, 2)))(t)
			if r.Status != jifen.RedemptionConfirming {
				t.Fatalf("pay code alone above the threshold: %s, want confirming", r.Status)
			}
			must(s.stores.Confirm(s.resident.ctx, r.ID))(t)
		})

		t.Run("10 wrong PINs lock the card for every counter until the window passes", func(t *testing.T) {
			holder := s.user(t, "持卡老人", s.villageA, nil, "")
			s.fund(t, holder.p.ID, 500)
			must(0, s.people.SetPIN(s.adminA.ctx, holder.p.ID, "112233"))(t)
			clerk := s.newClerk(t, s.shop, "店员试密")
			for i := range 10 {
				_, err := s.card(clerk, holder, fmt.Sprintf("%06d", 500_000+i), lineOf(oil, 1))
				wantErr(t, err, jifen.KindInvalid, "invalid_pin", "pin")
			}
			before := s.rows(t)
			_, err := s.card(clerk, holder, "112233", lineOf(oil, 1))
			wantErr(t, err, jifen.KindTooMany, "too_many_attempts", "")
			_, err = s.card(s.clerk, holder, "112233", lineOf(oil, 1))
			wantErr(t, err, jifen.KindTooMany, "too_many_attempts", "")
			s.unchanged(t, before)
			// Other cards, and the holder's pay code, still work.
			must(s.card(clerk, s.resident, "123456", lineOf(oil, 1)))(t)
			must(s.sellAt(t, clerk, s.shop.ID, holder, lineOf(oil, 1)))(t)
			s.clock.Advance(15*time.Minute + time.Second)
			r := must(s.card(clerk, holder, "112233", lineOf(oil, 1)))(t)
			if r.PersonID != holder.p.ID {
				t.Fatalf("the card bought for %d", r.PersonID)
			}
		})
	})
}

func TestRedemptionSale(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		soap := s.goods(t, "肥皂", 10, ptr[int64](5))
		rice := s.goods(t, "大米", 25, ptr[int64](3))
		s.fund(t, s.resident.p.ID, 100)
		person, store := s.acct(t, jifen.AccountPerson, s.resident.p.ID), s.acct(t, jifen.AccountStore, s.shop.ID)
		var r *jifen.Redemption

		t.Run("one transaction: stock down, points to the store, the lines recorded", func(t *testing.T) {
			r = s.sell(t, s.resident, lineOf(rice, 1), lineOf(soap, 2))
			if r.Points != 45 || r.StoreID != s.shop.ID || r.StoreName != s.shop.Name || r.PersonID != s.resident.p.ID || r.PersonName != s.resident.p.Name ||
				r.HouseholdID != nil || r.ClerkID == nil || *r.ClerkID != s.clerk.p.ID || r.TxID == nil || r.DoneAt == nil || r.PickupCode != "" || r.HeldUntil != nil {
				t.Fatalf("sale %+v", r)
			}
			want := []jifen.Line{{ItemID: soap.ID, Name: "肥皂", Quantity: 2, Points: 10}, {ItemID: rice.ID, Name: "大米", Quantity: 1, Points: 25}}
			if len(r.Lines) != 2 || r.Lines[0] != want[0] || r.Lines[1] != want[1] {
				t.Fatalf("lines %+v, want %+v", r.Lines, want)
			}
			s.wantStock(t, soap, 3)
			s.wantStock(t, rice, 2)
			s.wantBal(t, s.resident, 55)
			if got := s.storeBal(t, s.shop.ID); got != 45 {
				t.Fatalf("store account %d, want 45", got)
			}
			tx := s.tx(t, *r.TxID)
			if tx.Kind != jifen.TxRedemption || tx.OrgID != s.villageA.ID || tx.Key != fmt.Sprintf("redemption:%d", r.ID) || !strings.Contains(tx.Reason, "肥皂×2") {
				t.Fatalf("transaction %+v", tx)
			}
			wantLegs(t, tx, map[int64]int64{person.ID: -45, store.ID: 45})
			if n := s.one(t, "SELECT COUNT(*) FROM stock_movements WHERE redemption_id = ? AND kind = 'sale'", r.ID); n != 2 {
				t.Fatalf("%d sale movements, want 2", n)
			}
		})

		t.Run("who sees the sale", func(t *testing.T) {
			for _, u := range []user{s.resident, s.clerk, s.adminA, s.super} {
				if got := must(s.stores.Redemption(u.ctx, r.ID))(t); got.ID != r.ID || got.Points != 45 {
					t.Fatalf("%s reads %+v", u.p.Name, got)
				}
			}
			for _, u := range []user{s.residentB, s.leader, s.adminB} {
				_, err := s.stores.Redemption(u.ctx, r.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
			_, err := s.stores.Redemption(s.resident.ctx, 99_999_999)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			if l, n := must2(s.stores.Redemptions(s.resident.ctx, jifen.RedemptionFilter{Mine: true}))(t); n != 1 || l[0].ID != r.ID {
				t.Fatalf("the buyer's list: %d", n)
			}
			if _, n := must2(s.stores.Redemptions(s.leader.ctx, jifen.RedemptionFilter{Mine: true}))(t); n != 0 {
				t.Fatalf("the leader's own list has %d", n)
			}
			for day, want := range map[string]int{"2026-06-01": 1, "2026-06-02": 0, "2026-05-31": 0} {
				if _, n := must2(s.stores.Redemptions(s.clerk.ctx, jifen.RedemptionFilter{StoreID: s.shop.ID, Day: day}))(t); n != want {
					t.Fatalf("%s: %d sales, want %d", day, n, want)
				}
			}
			if _, n := must2(s.stores.Redemptions(s.clerk.ctx, jifen.RedemptionFilter{StoreID: s.shop.ID, Status: jifen.RedemptionHeld}))(t); n != 0 {
				t.Fatalf("%d held", n)
			}
			_, _, err = s.stores.Redemptions(s.clerk.ctx, jifen.RedemptionFilter{StoreID: s.shop.ID, Day: "6/1"})
			wantErr(t, err, jifen.KindInvalid, "invalid", "day")
			for _, u := range []user{s.resident, s.residentB} {
				_, _, err = s.stores.Redemptions(u.ctx, jifen.RedemptionFilter{StoreID: s.shop.ID})
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
		})

		t.Run("insufficient points: 409, stock untouched, nothing written, the code still good", func(t *testing.T) {
			before := s.rows(t)
			code := s.code(t, s.resident)
			_, err := s.ringUp(s.clerk, code, lineOf(rice, 2), lineOf(soap, 1)) // 60 > 55
			wantErr(t, err, jifen.KindConflict, "insufficient_points", "")
			_, err = s.tryOrder(s.resident, s.shop.ID, lineOf(rice, 2), lineOf(soap, 1))
			wantErr(t, err, jifen.KindConflict, "insufficient_points", "")
			s.unchanged(t, before)
			s.wantStock(t, soap, 3)
			s.wantStock(t, rice, 2)
			s.wantBal(t, s.resident, 55)
			// What the points cover goes through with the same code.
			r2 := must(s.ringUp(s.clerk, code, lineOf(rice, 2)))(t)
			if r2.Points != 50 || r2.PersonID != s.resident.p.ID {
				t.Fatalf("sale %+v", r2)
			}
			s.wantBal(t, s.resident, 5)
			s.wantStock(t, rice, 0)
		})
	})
}

func TestRedemptionBasket(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		soap := s.goods(t, "肥皂", 5, ptr[int64](2))
		towel := s.goods(t, "毛巾", 8, ptr[int64](5))
		wash := must(s.stores.CreateStore(s.adminA.ctx, jifen.StoreInput{OrgID: s.villageA.ID, Name: "李记洗车", Kind: jifen.Merchant}))(t)
		theirs := s.itemAt(t, wash.ID, jifen.ItemInput{Name: "洗车", Points: 5})
		s.fund(t, s.resident.p.ID, 10_000)

		t.Run("malformed baskets are 422 on their field and write nothing", func(t *testing.T) {
			before := s.rows(t)
			many := make([]jifen.Line, jifen.MaxLines+1)
			for i := range many {
				many[i] = jifen.Line{ItemID: int64(i + 1), Quantity: 1}
			}
			for _, c := range []struct {
				name  string
				in    jifen.RedemptionInput
				field string
			}{
				{"another store's item", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1), lineOf(theirs, 1)}}, "item_id"},
				{"an unknown item", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{{ItemID: 99_999_999, Quantity: 1}}}, "item_id"},
				{"item 0", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{{ItemID: 0, Quantity: 1}}}, "item_id"},
				{"quantity 0", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 0)}}, "quantity"},
				{"quantity -1", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(towel, 1), lineOf(soap, -1)}}, "quantity"},
				{"quantity 1001", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1001)}}, "quantity"},
				{"a huge quantity", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1<<62)}}, "quantity"},
				{"a negative huge quantity", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, -1<<62)}}, "quantity"},
				{"one item twice", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1), lineOf(soap, 1)}}, "lines"},
				{"no lines", jifen.RedemptionInput{StoreID: s.shop.ID}, "lines"},
				{"51 lines", jifen.RedemptionInput{StoreID: s.shop.ID, Lines: many}, "lines"},
				{"no store", jifen.RedemptionInput{Lines: []jifen.Line{lineOf(soap, 1)}}, "store_id"},
			} {
				for _, counter := range []bool{false, true} {
					in := c.in
					in.Key = s.key()
					ctx := s.resident.ctx
					if counter {
						in.Paycode, ctx = s.code(t, s.resident), s.clerk.ctx
					}
					_, err := s.stores.Redeem(ctx, in)
					if errFieldOf(err) != c.field {
						t.Errorf("%s (counter %t): %v, want an error on %s", c.name, counter, err, c.field)
					}
					wantErr(t, err, jifen.KindInvalid, "invalid", c.field)
				}
			}
			_, err := s.stores.Redeem(s.resident.ctx, jifen.RedemptionInput{StoreID: 99_999_999, Lines: []jifen.Line{lineOf(soap, 1)}, Key: s.key()})
			wantErr(t, err, jifen.KindNotFound, "not_found", "store_id")
			for _, key := range []string{"", "   ", strings.Repeat("k", 201)} {
				_, err = s.stores.Redeem(s.resident.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1)}, Key: key})
				wantErr(t, err, jifen.KindInvalid, "invalid", "idempotency_key")
			}
			_, err = s.stores.Redeem(context.Background(), jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1)}, Key: s.key()})
			wantErr(t, err, jifen.KindUnauthorized, "", "")
			s.unchanged(t, before)
			s.wantBal(t, s.resident, 10_000)
		})

		t.Run("out of stock is 409 and leaves every line's stock as it was", func(t *testing.T) {
			before := s.rows(t)
			_, err := s.tryOrder(s.resident, s.shop.ID, lineOf(soap, 3))
			wantErr(t, err, jifen.KindConflict, "out_of_stock", "")
			_, err = s.tryOrder(s.resident, s.shop.ID, lineOf(towel, 1), lineOf(soap, 3)) // the towel comes first and is there
			wantErr(t, err, jifen.KindConflict, "out_of_stock", "")
			_, err = s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(soap, 3), lineOf(towel, 5))
			wantErr(t, err, jifen.KindConflict, "out_of_stock", "")
			s.unchanged(t, before)
			s.wantStock(t, towel, 5)
			s.wantStock(t, soap, 2)
			// The last two go, then none.
			s.sell(t, s.resident, lineOf(soap, 2))
			s.wantStock(t, soap, 0)
			_, err = s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(soap, 1))
			wantErr(t, err, jifen.KindConflict, "out_of_stock", "")
			empty := s.goods(t, "空货架", 1, ptr[int64](0))
			_, err = s.tryOrder(s.resident, s.shop.ID, lineOf(empty, 1))
			wantErr(t, err, jifen.KindConflict, "out_of_stock", "")
		})

		t.Run("only items on sale today: valid dates and archived items", func(t *testing.T) {
			from := s.itemAt(t, s.shop.ID, jifen.ItemInput{Name: "端午粽子", Points: 5, ValidFrom: "2026-06-02"})
			to := s.itemAt(t, s.shop.ID, jifen.ItemInput{Name: "五月特价", Points: 5, ValidTo: "2026-05-31"})
			today := s.itemAt(t, s.shop.ID, jifen.ItemInput{Name: "六一特价", Points: 5, ValidFrom: "2026-06-01", ValidTo: "2026-06-01"})
			gone := s.goods(t, "下架商品", 5, ptr[int64](10))
			s.exec(t, "UPDATE items SET archived_at = CURRENT_TIMESTAMP WHERE id = ?", gone.ID)
			before := s.rows(t)
			for _, it := range []*jifen.Item{from, to, gone} {
				_, err := s.tryOrder(s.resident, s.shop.ID, lineOf(it, 1))
				wantErr(t, err, jifen.KindInvalid, "invalid", "item_id")
				_, err = s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(towel, 1), lineOf(it, 1))
				wantErr(t, err, jifen.KindInvalid, "invalid", "item_id")
			}
			s.unchanged(t, before)
			s.order(t, s.resident, lineOf(today, 1))
			// At midnight the window moves.
			s.clock.Set(time.Date(2026, 6, 1, 23, 59, 59, 0, jifen.Zone))
			s.order(t, s.resident, lineOf(today, 1))
			s.clock.Set(time.Date(2026, 6, 2, 0, 0, 1, 0, jifen.Zone))
			_, err := s.tryOrder(s.resident, s.shop.ID, lineOf(today, 1))
			wantErr(t, err, jifen.KindInvalid, "invalid", "item_id")
			s.order(t, s.resident, lineOf(from, 1))
		})

		t.Run("a closed store sells nothing", func(t *testing.T) {
			s.exec(t, "UPDATE stores SET archived_at = CURRENT_TIMESTAMP WHERE id = ?", wash.ID)
			before := s.rows(t)
			_, err := s.tryOrder(s.resident, wash.ID, lineOf(theirs, 1))
			wantErr(t, err, jifen.KindConflict, "store_closed", "")
			if l := must(s.stores.Stores(s.resident.ctx, false))(t); len(l) != 1 || l[0].ID != s.shop.ID {
				t.Fatalf("the resident is offered %+v, want the open shop alone", l)
			}
			s.unchanged(t, before)
		})
	})
}

func TestRedemptionLimits(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		limited := func(name string, n int64, p jifen.LimitPeriod) *jifen.Item {
			return s.itemAt(t, s.shop.ID, jifen.ItemInput{Name: name, Points: 1, Stock: ptr[int64](100), PerPersonLimit: n, LimitPeriod: p})
		}
		day, week, month, year := limited("每日一份", 1, jifen.PerDay), limited("每周一份", 1, jifen.PerWeek), limited("每月一份", 1, jifen.PerMonth), limited("每年一份", 1, jifen.PerYear)
		two := limited("每日两份", 2, jifen.PerDay)
		s.fund(t, s.resident.p.ID, 1000)
		s.fund(t, s.leader.p.ID, 1000)
		ok := func(t *testing.T, it *jifen.Item, q int64) {
			t.Helper()
			s.order(t, s.resident, lineOf(it, q))
		}
		refused := func(t *testing.T, it *jifen.Item, q int64) {
			t.Helper()
			before := s.rows(t)
			_, err := s.tryOrder(s.resident, s.shop.ID, lineOf(it, q))
			wantErr(t, err, jifen.KindConflict, "limit_reached", "")
			_, err = s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(it, q))
			wantErr(t, err, jifen.KindConflict, "limit_reached", "")
			s.unchanged(t, before)
		}
		at := func(y int, m time.Month, d, h, mi, sec int) {
			s.clock.Set(time.Date(y, m, d, h, mi, sec, 0, jifen.Zone))
		}

		t.Run("one of each, then the limit", func(t *testing.T) {
			for _, it := range []*jifen.Item{day, week, month, year} {
				ok(t, it, 1)
				refused(t, it, 1)
			}
			ok(t, two, 1)
			refused(t, two, 2)
			s.sell(t, s.resident, lineOf(two, 1)) // counter sales count with orders
			refused(t, two, 1)
			refused(t, limited("每日三份", 3, jifen.PerDay), 4) // more than the limit at once
			// The limit is per person.
			s.order(t, s.leader, lineOf(day, 1))
		})

		t.Run("cancelled orders and refunded sales no longer count", func(t *testing.T) {
			once := limited("限一份", 1, jifen.PerDay)
			o := s.order(t, s.resident, lineOf(once, 1))
			refused(t, once, 1)
			must(s.stores.Cancel(s.resident.ctx, o.ID))(t)
			r := s.sell(t, s.resident, lineOf(once, 1))
			refused(t, once, 1)
			must(s.stores.Refund(s.clerk.ctx, r.ID, "买错了"))(t)
			ok(t, once, 1)
		})

		t.Run("a day ends at local midnight", func(t *testing.T) {
			at(2026, 6, 1, 23, 59, 59)
			refused(t, day, 1)
			at(2026, 6, 2, 0, 0, 1) // still 1 June in UTC
			ok(t, day, 1)
			for _, it := range []*jifen.Item{week, month, year} {
				refused(t, it, 1)
			}
			at(2026, 6, 2, 9, 0, 0) // 2 June in UTC too: the 00:00:01 purchase still counts
			refused(t, day, 1)
		})

		t.Run("a week ends on Sunday night", func(t *testing.T) {
			at(2026, 6, 7, 23, 59, 59)
			refused(t, week, 1)
			at(2026, 6, 8, 0, 0, 1)
			ok(t, week, 1)
			refused(t, week, 1)
		})

		t.Run("a month ends on its last night", func(t *testing.T) {
			at(2026, 6, 30, 23, 59, 59)
			refused(t, month, 1)
			at(2026, 7, 1, 0, 0, 1)
			ok(t, month, 1)
			refused(t, year, 1)
		})

		t.Run("a year ends on New Year's Eve", func(t *testing.T) {
			at(2026, 12, 31, 23, 59, 59)
			refused(t, year, 1)
			at(2027, 1, 1, 0, 0, 1)
			ok(t, year, 1)
			refused(t, year, 1)
		})
	})
}

func TestRedemptionIdempotency(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		soap := s.goods(t, "肥皂", 10, ptr[int64](20))
		towel := s.goods(t, "毛巾", 10, ptr[int64](20))
		s.fund(t, s.resident.p.ID, 1000)

		t.Run("the same key twice is one sale", func(t *testing.T) {
			in := jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: s.code(t, s.resident), Lines: []jifen.Line{lineOf(soap, 1)}, Key: "pos-1"}
			first := must(s.stores.Redeem(s.clerk.ctx, in))(t)
			before := s.rows(t)
			again := must(s.stores.Redeem(s.clerk.ctx, in))(t)
			in.Key = "  pos-1 "
			padded := must(s.stores.Redeem(s.clerk.ctx, in))(t)
			if again.ID != first.ID || padded.ID != first.ID || again.Points != first.Points || *again.TxID != *first.TxID {
				t.Fatalf("a retry answered %d and %d, want the first sale %d", again.ID, padded.ID, first.ID)
			}
			s.unchanged(t, before)
			s.wantBal(t, s.resident, 990)
			s.wantStock(t, soap, 19)
		})

		t.Run("the same key with another request is 409 idempotency_mismatch", func(t *testing.T) {
			before := s.rows(t)
			code := s.code(t, s.resident)
			for _, in := range []jifen.RedemptionInput{
				{StoreID: s.shop.ID, Paycode: code, Lines: []jifen.Line{lineOf(soap, 2)}, Key: "pos-1"},
				{StoreID: s.shop.ID, Paycode: code, Lines: []jifen.Line{lineOf(towel, 1)}, Key: "pos-1"},
				{StoreID: s.shop.ID, Paycode: code, Lines: []jifen.Line{lineOf(soap, 1), lineOf(towel, 1)}, Key: "pos-1"},
			} {
				_, err := s.stores.Redeem(s.clerk.ctx, in)
				wantErr(t, err, jifen.KindConflict, "idempotency_mismatch", "")
			}
			s.unchanged(t, before)
			// The unspent code still buys under a new key.
			must(s.stores.Redeem(s.clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: code, Lines: []jifen.Line{lineOf(soap, 2)}, Key: "pos-2"}))(t)
		})

		t.Run("keys are each actor's own", func(t *testing.T) {
			other := s.newClerk(t, s.shop, "店员乙")
			r := must(s.stores.Redeem(other.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: s.code(t, s.resident), Lines: []jifen.Line{lineOf(soap, 1)}, Key: "pos-1"}))(t)
			o := must(s.stores.Redeem(s.resident.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1)}, Key: "pos-1"}))(t)
			if r.ID == o.ID || *r.ClerkID != other.p.ID || o.Status != jifen.RedemptionHeld {
				t.Fatalf("sale %+v, order %+v", r, o)
			}
		})

		t.Run("orders too", func(t *testing.T) {
			in := jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(towel, 2)}, Key: "app-1"}
			first := must(s.stores.Redeem(s.resident.ctx, in))(t)
			before := s.rows(t)
			again := must(s.stores.Redeem(s.resident.ctx, in))(t)
			if again.ID != first.ID || again.PickupCode != first.PickupCode {
				t.Fatalf("a retried order: %+v, want %+v", again, first)
			}
			in.Lines = []jifen.Line{lineOf(towel, 3)}
			_, err := s.stores.Redeem(s.resident.ctx, in)
			wantErr(t, err, jifen.KindConflict, "idempotency_mismatch", "")
			s.unchanged(t, before)
		})

		t.Run("a refused request does not use up its key", func(t *testing.T) {
			in := jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(towel, 100)}, Key: "app-2"}
			_, err := s.stores.Redeem(s.resident.ctx, in)
			wantErr(t, err, jifen.KindConflict, "out_of_stock", "")
			in.Lines = []jifen.Line{lineOf(towel, 1)}
			must(s.stores.Redeem(s.resident.ctx, in))(t)
		})
	})
}

func TestRedemptionHousehold(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		soap := s.goods(t, "肥皂", 10, ptr[int64](50))
		set := *must(s.pts.Settings(s.super.ctx, s.villageA.ID))(t)
		set.PointsTo = jifen.ToHousehold
		must(0, s.pts.SaveSettings(s.super.ctx, s.villageA.ID, set))(t)
		member := s.user(t, "家人", s.villageA, nil, "")
		loner := s.user(t, "独居老人", s.villageA, nil, "")
		hh := must(s.pts.CreateHousehold(s.super.ctx, jifen.HouseholdInput{OrgID: s.villageA.ID, HeadID: s.resident.p.ID, MemberIDs: []int64{member.p.ID}}))(t)
		home := s.acct(t, jifen.AccountHousehold, hh.ID)
		s.fundAcct(t, home.ID, 100)
		s.fund(t, loner.p.ID, 30)
		homeBal := func() int64 { return s.acct(t, jifen.AccountHousehold, hh.ID).Balance }

		t.Run("members spend the household's points", func(t *testing.T) {
			r := s.sell(t, member, lineOf(soap, 2))
			if r.HouseholdID == nil || *r.HouseholdID != hh.ID || r.PersonID != member.p.ID {
				t.Fatalf("sale %+v, want it on household %d", r, hh.ID)
			}
			wantLegs(t, s.tx(t, *r.TxID), map[int64]int64{home.ID: -20, s.acct(t, jifen.AccountStore, s.shop.ID).ID: 20})
			o := s.order(t, s.resident, lineOf(soap, 1))
			if o.HouseholdID == nil || *o.HouseholdID != hh.ID {
				t.Fatalf("order %+v", o)
			}
			if got := homeBal(); got != 70 {
				t.Fatalf("household balance %d, want 70", got)
			}
			s.wantBal(t, member, 0)
			s.wantBal(t, s.resident, 0)
			// The head sees a member's purchase; other villagers do not.
			must(s.stores.Redemption(s.resident.ctx, r.ID))(t)
			_, err := s.stores.Redemption(loner.ctx, r.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")

			before := s.rows(t)
			_, err = s.tryOrder(member, s.shop.ID, lineOf(soap, 8))
			wantErr(t, err, jifen.KindConflict, "insufficient_points", "")
			s.unchanged(t, before)

			must(s.stores.Refund(s.clerk.ctx, r.ID, "重复购买"))(t)
			if got := homeBal(); got != 90 {
				t.Fatalf("household balance after the refund %d, want 90", got)
			}
		})

		t.Run("someone in no household spends their own", func(t *testing.T) {
			r := s.sell(t, loner, lineOf(soap, 3))
			if r.HouseholdID != nil {
				t.Fatalf("sale %+v on a household", r)
			}
			s.wantBal(t, loner, 0)
			if got := homeBal(); got != 90 {
				t.Fatalf("household balance %d, want 90", got)
			}
		})
	})
}

func TestRedemptionConfirm(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		s.edit(t, func(in *jifen.StoreInput) { in.ConfirmAbove = 50 })
		oil := s.goods(t, "食用油", 25, ptr[int64](20))
		s.fund(t, s.resident.p.ID, 1000)
		must(0, s.people.SetPIN(s.resident.ctx, s.resident.p.ID, "123456"))(t)
		store := s.acct(t, jifen.AccountStore, s.shop.ID)
		var r *jifen.Redemption

		t.Run("at the threshold a sale completes; above it it waits for the buyer", func(t *testing.T) {
			s.sell(t, s.resident, lineOf(oil, 2)) // exactly 50
			r = must(s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(oil, 3)))(t)
			if r.Status != jifen.RedemptionConfirming || r.DoneAt != nil || r.HeldUntil == nil || !r.HeldUntil.Equal(s.now().Add(10*time.Minute)) {
				t.Fatalf("sale above the threshold %+v", r)
			}
			// Its points and stock are taken meanwhile.
			s.wantBal(t, s.resident, 1000-50-75)
			s.wantStock(t, oil, 15)
			if got := s.storeBal(t, s.shop.ID); got != 125 {
				t.Fatalf("store account %d, want 125", got)
			}
		})

		t.Run("only the buyer confirms: others get 404", func(t *testing.T) {
			for _, u := range []user{s.clerk, s.adminA, s.residentB, s.leader} {
				_, err := s.stores.Confirm(u.ctx, r.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
			_, err := s.stores.Confirm(s.resident.ctx, 99_999_999)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			s.clock.Advance(5 * time.Minute)
			c := must(s.stores.Confirm(s.resident.ctx, r.ID))(t)
			if c.Status != jifen.RedemptionCompleted || c.DoneAt == nil || !c.DoneAt.Equal(s.now()) || c.HeldUntil != nil {
				t.Fatalf("confirmed %+v", c)
			}
			_, err = s.stores.Confirm(s.resident.ctx, r.ID)
			wantErr(t, err, jifen.KindConflict, "not_confirming", "")
			s.wantBal(t, s.resident, 875)
		})

		t.Run("the PIN with the pay code completes it at once", func(t *testing.T) {
			c := must(s.stores.Redeem(s.clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: s.code(t, s.resident), PIN: "123456",
				Lines: []jifen.Line{lineOf(oil, 3)}, Key: s.key()}))(t)
			if c.Status != jifen.RedemptionCompleted || c.DoneAt == nil {
				t.Fatalf("sale with PIN %+v", c)
			}
			_, err := s.stores.Confirm(s.resident.ctx, c.ID)
			wantErr(t, err, jifen.KindConflict, "not_confirming", "")
		})

		t.Run("unconfirmed for 10 minutes, it is released: points and stock back", func(t *testing.T) {
			w := must(s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(oil, 4)))(t)
			balance, stock, held := s.bal(t, s.resident.p.ID), *s.stock(t, oil.ID), s.storeBal(t, s.shop.ID)
			s.clock.Advance(10*time.Minute - time.Second)
			if n := s.release(t); n != 0 {
				t.Fatalf("released %d before the 10 minutes were up", n)
			}
			s.clock.Advance(2 * time.Second)
			_, err := s.stores.ReleaseExpired(s.adminA.ctx)
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
			if n := s.release(t); n != 1 {
				t.Fatalf("released %d, want 1", n)
			}
			got := must(s.stores.Redemption(s.resident.ctx, w.ID))(t)
			if got.Status != jifen.RedemptionReleased || got.RefundTxID == nil {
				t.Fatalf("released %+v", got)
			}
			s.wantBal(t, s.resident, balance+100)
			s.wantStock(t, oil, stock+4)
			if now := s.storeBal(t, s.shop.ID); now != held-100 {
				t.Fatalf("store account %d, want %d", now, held-100)
			}
			back := s.tx(t, *got.RefundTxID)
			if back.Kind != jifen.TxRefund || back.Reverses == nil || *back.Reverses != *w.TxID {
				t.Fatalf("release transaction %+v", back)
			}
			wantLegs(t, back, map[int64]int64{store.ID: -100, s.acct(t, jifen.AccountPerson, s.resident.p.ID).ID: 100})
			_, err = s.stores.Confirm(s.resident.ctx, w.ID)
			wantErr(t, err, jifen.KindConflict, "not_confirming", "")
			if n := s.release(t); n != 0 {
				t.Fatalf("released %d more", n)
			}
			if len(s.msgs(t, s.resident.ctx, "预订已释放")) != 1 {
				t.Fatal("the buyer was not told")
			}
		})

		t.Run("confirmed too late, the sale is released instead: 409 confirmation_expired", func(t *testing.T) {
			w := must(s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(oil, 3)))(t)
			balance, stock := s.bal(t, s.resident.p.ID), *s.stock(t, oil.ID)
			s.clock.Advance(10 * time.Minute) // the deadline itself is too late
			_, err := s.stores.Confirm(s.resident.ctx, w.ID)
			wantErr(t, err, jifen.KindConflict, "confirmation_expired", "")
			got := must(s.stores.Redemption(s.resident.ctx, w.ID))(t)
			if got.Status != jifen.RedemptionReleased || got.DoneAt != nil || got.RefundTxID == nil {
				t.Fatalf("after a late confirmation %+v", got)
			}
			s.wantBal(t, s.resident, balance+75)
			s.wantStock(t, oil, stock+3)
			if n := s.release(t); n != 0 {
				t.Fatalf("the sweeper released it again (%d)", n)
			}
			_, err = s.stores.Confirm(s.resident.ctx, w.ID)
			wantErr(t, err, jifen.KindConflict, "not_confirming", "")
		})

		t.Run("a waiting sale can be called off by the buyer or the counter", func(t *testing.T) {
			for _, who := range []user{s.resident, s.clerk} {
				w := must(s.sellAt(t, s.clerk, s.shop.ID, s.resident, lineOf(oil, 3)))(t)
				c := must(s.stores.Cancel(who.ctx, w.ID))(t)
				if c.Status != jifen.RedemptionCancelled {
					t.Fatalf("cancelled by %s: %+v", who.p.Name, c)
				}
			}
			s.wantBal(t, s.resident, 875-75)
		})
	})
}

func TestRedemptionPickup(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		rice := s.goods(t, "大米", 10, ptr[int64](20))
		other := must(s.stores.CreateStore(s.adminA.ctx, jifen.StoreInput{OrgID: s.townA.ID, Name: "锦屏镇积分超市"}))(t)
		otherClerk := s.newClerk(t, other, "镇店员")
		s.fund(t, s.resident.p.ID, 1000)
		person, store := s.acct(t, jifen.AccountPerson, s.resident.p.ID), s.acct(t, jifen.AccountStore, s.shop.ID)
		var o *jifen.Redemption

		t.Run("an order is held with a pick-up code, its points and stock taken", func(t *testing.T) {
			o = s.order(t, s.resident, lineOf(rice, 2))
			if len(o.PickupCode) != 8 || strings.Trim(o.PickupCode, "0123456789") != "" || o.HeldUntil == nil || !o.HeldUntil.Equal(s.now().Add(48*time.Hour)) ||
				o.ClerkID != nil || o.DoneAt != nil || o.TxID == nil {
				t.Fatalf("order %+v", o)
			}
			s.wantStock(t, rice, 18)
			s.wantBal(t, s.resident, 980)
			wantLegs(t, s.tx(t, *o.TxID), map[int64]int64{person.ID: -20, store.ID: 20})
			// The code is the buyer's to show.
			if got := must(s.stores.Redemption(s.clerk.ctx, o.ID))(t); got.PickupCode != "" {
				t.Fatal("the clerk is shown the pick-up code")
			}
			if l, _ := must2(s.stores.Redemptions(s.clerk.ctx, jifen.RedemptionFilter{StoreID: s.shop.ID, Status: jifen.RedemptionHeld}))(t); len(l) != 1 || l[0].PickupCode != "" {
				t.Fatalf("the store's list: %+v", l)
			}
			if l, _ := must2(s.stores.Redemptions(s.resident.ctx, jifen.RedemptionFilter{Mine: true}))(t); len(l) != 1 || l[0].PickupCode != o.PickupCode {
				t.Fatalf("the buyer's list: %+v", l)
			}
		})

		t.Run("fulfilled by a clerk with the right code", func(t *testing.T) {
			wrong := o.PickupCode[:7] + string('0'+(o.PickupCode[7]-'0'+1)%10)
			_, err := s.stores.Fulfil(s.clerk.ctx, o.ID, wrong)
			wantErr(t, err, jifen.KindInvalid, "invalid_code", "code")
			_, err = s.stores.Fulfil(s.clerk.ctx, o.ID, "")
			wantErr(t, err, jifen.KindInvalid, "invalid_code", "code")
			for _, u := range []user{s.resident, s.leader, otherClerk} {
				_, err = s.stores.Fulfil(u.ctx, o.ID, o.PickupCode)
				wantErr(t, err, jifen.KindForbidden, "not_clerk", "store_id")
			}
			// Someone who cannot see the store learns nothing of the order.
			_, err = s.stores.Fulfil(s.residentB.ctx, o.ID, o.PickupCode)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			_, err = s.stores.Fulfil(s.clerk.ctx, 99_999_999, o.PickupCode)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			if got := must(s.stores.Redemption(s.resident.ctx, o.ID))(t); got.Status != jifen.RedemptionHeld {
				t.Fatalf("after refused pick-ups: %s", got.Status)
			}
			s.clock.Advance(time.Hour)
			f := must(s.stores.Fulfil(s.clerk.ctx, o.ID, " "+o.PickupCode+" "))(t)
			if f.Status != jifen.RedemptionCompleted || f.ClerkID == nil || *f.ClerkID != s.clerk.p.ID || f.DoneAt == nil || !f.DoneAt.Equal(s.now()) {
				t.Fatalf("fulfilled %+v", f)
			}
			_, err = s.stores.Fulfil(s.clerk.ctx, o.ID, o.PickupCode)
			wantErr(t, err, jifen.KindConflict, "not_held", "")
			_, err = s.stores.Cancel(s.resident.ctx, o.ID)
			wantErr(t, err, jifen.KindConflict, "not_cancellable", "")
			s.wantStock(t, rice, 18)
			s.wantBal(t, s.resident, 980)
		})

		t.Run("the buyer cancels before pick-up: points and stock back", func(t *testing.T) {
			c := s.order(t, s.resident, lineOf(rice, 3))
			for _, u := range []user{s.residentB, s.leader, otherClerk} {
				_, err := s.stores.Cancel(u.ctx, c.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
			got := must(s.stores.Cancel(s.resident.ctx, c.ID))(t)
			if got.Status != jifen.RedemptionCancelled || got.RefundTxID == nil || got.HeldUntil != nil {
				t.Fatalf("cancelled %+v", got)
			}
			back := s.tx(t, *got.RefundTxID)
			if back.Kind != jifen.TxRefund || *back.Reverses != *c.TxID {
				t.Fatalf("cancellation transaction %+v", back)
			}
			wantLegs(t, back, map[int64]int64{store.ID: -30, person.ID: 30})
			wantLegs(t, s.tx(t, *c.TxID), map[int64]int64{person.ID: -30, store.ID: 30}) // the order's own entry stays
			s.wantStock(t, rice, 18)
			s.wantBal(t, s.resident, 980)
			_, err := s.stores.Cancel(s.resident.ctx, c.ID)
			wantErr(t, err, jifen.KindConflict, "not_cancellable", "")
			_, err = s.stores.Fulfil(s.clerk.ctx, c.ID, c.PickupCode)
			wantErr(t, err, jifen.KindConflict, "not_held", "")
			// The store may call an order off too.
			c2 := s.order(t, s.resident, lineOf(rice, 1))
			must(s.stores.Cancel(s.clerk.ctx, c2.ID))(t)
			s.wantBal(t, s.resident, 980)
		})

		t.Run("an order nobody fetches is released after the store's hold hours, once", func(t *testing.T) {
			s.edit(t, func(in *jifen.StoreInput) { in.HoldHours = 24 })
			e := s.order(t, s.resident, lineOf(rice, 4))
			if !e.HeldUntil.Equal(s.now().Add(24 * time.Hour)) {
				t.Fatalf("held until %s, want a day", e.HeldUntil)
			}
			_, err := s.stores.ReleaseExpired(s.resident.ctx)
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
			s.clock.Advance(24*time.Hour - time.Minute)
			if n := s.release(t); n != 0 {
				t.Fatalf("released %d early", n)
			}
			s.clock.Advance(2 * time.Minute)
			if n := s.release(t); n != 1 {
				t.Fatalf("released %d, want 1", n)
			}
			if n := s.release(t); n != 0 {
				t.Fatalf("the second run released %d more", n)
			}
			got := must(s.stores.Redemption(s.resident.ctx, e.ID))(t)
			if got.Status != jifen.RedemptionReleased {
				t.Fatalf("released order %+v", got)
			}
			s.wantStock(t, rice, 18)
			s.wantBal(t, s.resident, 980)
			_, err = s.stores.Fulfil(s.clerk.ctx, e.ID, e.PickupCode)
			wantErr(t, err, jifen.KindConflict, "not_held", "")
			if n := s.one(t, "SELECT COUNT(*) FROM ledger_transactions WHERE idem_key = ?", fmt.Sprintf("release:%d", e.ID)); n != 1 {
				t.Fatalf("%d release transactions, want 1", n)
			}
			if len(s.msgs(t, s.resident.ctx, "预订已释放")) != 1 {
				t.Fatal("the buyer was not told")
			}
		})
	})
}

func TestRedemptionRefund(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		rice := s.goods(t, "大米", 10, ptr[int64](20))
		other := must(s.stores.CreateStore(s.adminA.ctx, jifen.StoreInput{OrgID: s.townA.ID, Name: "锦屏镇积分超市"}))(t)
		otherClerk := s.newClerk(t, other, "镇店员")
		s.fund(t, s.resident.p.ID, 1000)
		person, store := s.acct(t, jifen.AccountPerson, s.resident.p.ID), s.acct(t, jifen.AccountStore, s.shop.ID)

		t.Run("a clerk refunds with a reason: points and stock back as new entries", func(t *testing.T) {
			r := s.sell(t, s.resident, lineOf(rice, 2))
			before := s.rows(t)
			_, err := s.stores.Refund(s.clerk.ctx, r.ID, "  ")
			wantErr(t, err, jifen.KindInvalid, "invalid", "reason")
			_, err = s.stores.Refund(s.clerk.ctx, r.ID, strings.Repeat("因", 201))
			wantErr(t, err, jifen.KindInvalid, "invalid", "reason")
			_, err = s.stores.Refund(s.resident.ctx, r.ID, "不想要了")
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
			for _, u := range []user{s.residentB, s.leader, otherClerk, s.adminB} {
				_, err = s.stores.Refund(u.ctx, r.ID, "不想要了")
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
			s.unchanged(t, before)

			got := must(s.stores.Refund(s.clerk.ctx, r.ID, "大米受潮"))(t)
			if got.Status != jifen.RedemptionRefunded || got.RefundTxID == nil || got.Reason != "大米受潮" {
				t.Fatalf("refunded %+v", got)
			}
			back := s.tx(t, *got.RefundTxID)
			if back.Kind != jifen.TxRefund || back.Reverses == nil || *back.Reverses != *r.TxID || back.Key != fmt.Sprintf("refund:%d", r.ID) {
				t.Fatalf("refund transaction %+v", back)
			}
			wantLegs(t, back, map[int64]int64{store.ID: -20, person.ID: 20})
			wantLegs(t, s.tx(t, *r.TxID), map[int64]int64{person.ID: -20, store.ID: 20})
			s.wantBal(t, s.resident, 1000)
			s.wantStock(t, rice, 20)
			if got := s.storeBal(t, s.shop.ID); got != 0 {
				t.Fatalf("store account %d, want 0", got)
			}
			if n := s.one(t, "SELECT COUNT(*) FROM stock_movements WHERE redemption_id = ? AND kind = 'refund' AND delta = 2 AND note = '大米受潮'", r.ID); n != 1 {
				t.Fatalf("%d refund movements, want 1", n)
			}
			if len(s.msgs(t, s.resident.ctx, "兑换已退货")) != 1 {
				t.Fatal("the buyer was not told")
			}
			if len(s.auditEntries(t, "redemption.refund")) != 1 {
				t.Fatal("no audit entry")
			}
			before = s.rows(t)
			_, err = s.stores.Refund(s.clerk.ctx, r.ID, "再退一次")
			wantErr(t, err, jifen.KindConflict, "already_refunded", "")
			_, err = s.stores.Refund(s.adminA.ctx, r.ID, "再退一次")
			wantErr(t, err, jifen.KindConflict, "already_refunded", "")
			s.unchanged(t, before)
		})

		t.Run("the admin may refund too; orders not handed over cannot be", func(t *testing.T) {
			r := s.sell(t, s.resident, lineOf(rice, 1))
			must(s.stores.Refund(s.adminA.ctx, r.ID, "店长同意"))(t)
			o := s.order(t, s.resident, lineOf(rice, 1))
			_, err := s.stores.Refund(s.clerk.ctx, o.ID, "未取货")
			wantErr(t, err, jifen.KindConflict, "not_refundable", "")
			must(s.stores.Cancel(s.resident.ctx, o.ID))(t)
			_, err = s.stores.Refund(s.clerk.ctx, o.ID, "已取消")
			wantErr(t, err, jifen.KindConflict, "not_refundable", "")
			s.wantBal(t, s.resident, 1000)
		})

		t.Run("within the store's refund days, and not after", func(t *testing.T) {
			early := s.sell(t, s.resident, lineOf(rice, 1))
			s.clock.Advance(time.Hour)
			late := s.sell(t, s.resident, lineOf(rice, 1))
			// Seven whole days after the day of the sale (jifen.DaysAfter):
			// the window closes at midnight, China time, ending the 7th day.
			s.clock.Set(jifen.DaysAfter(*early.DoneAt, 7).Add(-time.Minute)) // both: the last minute of the 7th day
			must(s.stores.Refund(s.clerk.ctx, early.ID, "七天内"))(t)
			s.clock.Set(jifen.DaysAfter(*late.DoneAt, 7).Add(time.Minute)) // late: the first minute after
			before := s.rows(t)
			_, err := s.stores.Refund(s.clerk.ctx, late.ID, "超期")
			wantErr(t, err, jifen.KindConflict, "refund_window_closed", "")
			s.unchanged(t, before)
			// A store with a longer window takes it.
			s.edit(t, func(in *jifen.StoreInput) { in.RefundDays = 30 })
			must(s.stores.Refund(s.clerk.ctx, late.ID, "延长退货期"))(t)
			s.wantBal(t, s.resident, 1000)
		})
	})
}
