package sqldb_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"jifen"
	"jifen/sqldb"
)

// TestSaleStatements: a counter sale answers with the sale exactly as it
// reads back, without reading it back, and sends only the statements that
// decide it (redeem: the idempotency lookup, the pay code, the debit, the
// item, the stock and the rows written at the end); the buyer, the
// settings, the accounts, the store and the clerk come from memory once
// seen. Not parallel: it hears every statement the package sends.
func TestSaleStatements(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shopFx) {
		soap := s.goods(t, "肥皂", 10, ptr[int64](100))
		s.fund(t, s.resident.p.ID, 1000)

		same := func(t *testing.T, got *jifen.Redemption, reader user) {
			t.Helper()
			back := must(s.stores.Redemption(reader.ctx, got.ID))(t)
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(back)
			if string(a) != string(b) {
				t.Fatalf("the answer\n  %s\nreads back as\n  %s", a, b)
			}
		}
		same(t, s.sell(t, s.resident, lineOf(soap, 2)), s.clerk)
		same(t, s.order(t, s.resident, lineOf(soap, 1)), s.resident)

		code := s.code(t, s.resident)
		var mu sync.Mutex
		var heard []string
		stop := sqldb.HearStatements(func(q string) {
			mu.Lock()
			heard = append(heard, strings.Join(strings.Fields(q), " "))
			mu.Unlock()
		})
		r, err := s.ringUp(s.clerk, code, lineOf(soap, 1))
		stop()
		if err != nil {
			t.Fatal(err)
		}
		same(t, r, s.clerk)
		if s.pg {
			return // HearStatements hears SQLite's statements only
		}
		// Six decide: the idempotency lookup, the pay code, the two ids
		// counted on, the debit and the stock (the store, the clerk, the
		// counter's failure count, the buyer and the item are
		// remembered). Ten write what waited, one a table and kind of row
		// (on PostgreSQL they are one statement). Before the caches and
		// the rows at the end a sale sent 28 in all, and four more read
		// it back.
		if len(heard) > 16 {
			t.Fatalf("a warm sale sent %d statements, want at most 16:\n  %s", len(heard), strings.Join(heard, "\n  "))
		}
		t.Logf("%d statements", len(heard))
	})
}

// TestRedeemRacingRetry: a retry sent while its first try is still
// running gets the first try's order, not insufficient_points. When the
// buyer can pay only once, the retry is refused by the first try's debit
// (waiting on it, or behind it in one SQLite group); the order's row,
// which would make it a duplicate, is written only at the end (redeem),
// so Redeem looks the key up after any refusal, and a group tells a
// refusal only after its commit (group.go). When the buyer can pay twice,
// the second finds the first's sale among the group's waiting rows (SQLite)
// or meets the key's unique index at its end (PostgreSQL).
func TestRedeemRacingRetry(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		soap := s.goods(t, "肥皂", 10, ptr[int64](1000))
		balance := int64(0)
		for round := range 30 {
			// Every other round the buyer could pay twice: then no
			// refusal stops the retry, only its key.
			before := int64(10 + 10*(round%2))
			if before > balance {
				s.fund(t, s.resident.p.ID, before-balance)
			}
			balance = before - 10
			in := jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1)}, Key: s.key()}
			// Two orders of another buyer, started first, keep the
			// writer busy, so that on SQLite both tries often queue for
			// one group.
			s.fund(t, s.clerk.p.ID, 20)
			var got [2]*jifen.Redemption
			var errs [4]error
			var wg sync.WaitGroup
			for i := 2; i < 4; i++ {
				other := jifen.RedemptionInput{StoreID: s.shop.ID, Lines: []jifen.Line{lineOf(soap, 1)}, Key: s.key()}
				wg.Go(func() { _, errs[i] = s.stores.Redeem(s.clerk.ctx, other) })
			}
			for i := range got {
				wg.Go(func() { got[i], errs[i] = s.stores.Redeem(s.resident.ctx, in) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: request %d: %v", round, i, err)
				}
			}
			if got[0].ID != got[1].ID {
				t.Fatalf("round %d: two orders %d and %d for one key", round, got[0].ID, got[1].ID)
			}
			s.wantBal(t, s.resident, balance)
		}
	})
}

// TestRedeemRacingKeys: at the counter, a retry racing its first try with
// the same pay code gets the first try's sale (the code it spent refuses
// the retry, on PostgreSQL in the statement that also looks the key up);
// a different request under the same key hears idempotency_mismatch, as
// one transaction after the other would say, not the refusal the first
// caused, and a refused pay code is no wrong guess for the throttle.
func TestRedeemRacingKeys(t *testing.T) {
	t.Parallel()
	eachShop(t, func(t *testing.T, s *shopFx) {
		soap := s.goods(t, "肥皂", 10, ptr[int64](1000))
		towel := s.goods(t, "毛巾", 10, ptr[int64](1000))
		for round := range 20 {
			s.fund(t, s.resident.p.ID, 10)
			pc := must(s.stores.NewPaycode(s.resident.ctx))(t)
			key := s.key()
			sale := func(it *jifen.Item) jifen.RedemptionInput {
				return jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: pc.Code, Key: key, Lines: []jifen.Line{lineOf(it, 1)}}
			}
			// Even rounds: the same sale twice. Odd rounds: a different
			// one (another item at the same price) under the same key.
			ins := [2]jifen.RedemptionInput{sale(soap), sale(soap)}
			if round%2 == 1 {
				ins[1] = sale(towel)
			}
			var got [2]*jifen.Redemption
			var errs [2]error
			var wg sync.WaitGroup
			for i := range ins {
				wg.Go(func() { got[i], errs[i] = s.stores.Redeem(s.clerk.ctx, ins[i]) })
			}
			wg.Wait()
			if round%2 == 0 {
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d: try %d: %v", round, i, err)
					}
				}
				if got[0].ID != got[1].ID {
					t.Fatalf("round %d: two sales %d and %d for one key", round, got[0].ID, got[1].ID)
				}
			} else {
				sold := 0
				for i, err := range errs {
					switch code := jifen.ErrorCode(err); {
					case err == nil:
						sold++
					case code != "idempotency_mismatch":
						t.Fatalf("round %d: request %d: %v, want a sale or idempotency_mismatch", round, i, err)
					}
				}
				if sold != 1 {
					t.Fatalf("round %d: %d sales, want 1", round, sold)
				}
			}
		}
		// Ten mismatches refused by a spent code would have locked the
		// counter out (maxPaycodeFailures): it still sells.
		s.fund(t, s.resident.p.ID, 10)
		pc := must(s.stores.NewPaycode(s.resident.ctx))(t)
		must(s.stores.Redeem(s.clerk.ctx, jifen.RedemptionInput{StoreID: s.shop.ID, Paycode: pc.Code, Key: s.key(), Lines: []jifen.Line{lineOf(soap, 1)}}))(t)
	})
}
