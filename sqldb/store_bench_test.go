package sqldb

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"jifen"
)

// BenchmarkContestedRedemption is the flash sale of a points supermarket:
// 1,000 residents, each with points to spare, order one item with 100 in
// stock at the same moment (one goroutine each, released together), through
// StoreService.Redeem as pick-up orders (actor, store, idempotency lookup,
// the buyer's account lock, the conditional stock update, the order row and
// its line, the stock movement, the ledger posting into the store account).
// Each iteration is one such rush on a fresh item; exactly 100 must get the
// item and 900 out_of_stock, and the ledger must verify afterwards.
//
// Reported: attempts/s (1,000 attempts over the wall time of the rush),
// the p50/p95/p99 latency of one attempt, queueing for a connection
// included, as a buyer's phone would see it, and sold-out-ms, when the
// last of the 100 winners had their answer.
func BenchmarkContestedRedemption(b *testing.B) {
	const buyers, stock, price = 1000, 100, 10
	for name, dsn := range benchDSNs(b) {
		b.Run(name, func(b *testing.B) {
			db := benchDB(b, dsn)
			sys := jifen.WithActor(context.Background(), jifen.SystemActor())
			fatal := func(err error) {
				b.Helper()
				if err != nil {
					b.Fatal(err)
				}
			}
			orgs, people, points, stores := NewOrgService(db), NewPersonService(db), NewPointsService(db), NewStoreService(db)
			var parent *int64
			var village *jifen.Org
			for _, o := range []struct {
				name string
				kind jifen.OrgKind
			}{{"市", jifen.OrgCity}, {"县", jifen.OrgCounty}, {"镇", jifen.OrgTown}, {"村", jifen.OrgVillage}} {
				org, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: o.name, Kind: o.kind, ParentID: parent})
				fatal(err)
				parent, village = &org.ID, org
			}
			rows := make([]jifen.PersonInput, buyers)
			for i := range rows {
				rows[i] = jifen.PersonInput{Name: fmt.Sprintf("村民%04d", i), Gender: jifen.Female, OrgID: village.ID}
				fatal(rows[i].Validate(time.Now()))
			}
			_, err := people.ImportPeople(sys, village.ID, rows)
			fatal(err)
			q, err := db.query(sys, "SELECT id FROM people WHERE home_org_id = ? ORDER BY id", village.ID)
			fatal(err)
			var ctxs []context.Context
			var opening []jifen.OpeningInput
			for q.Next() {
				var id int64
				fatal(q.Scan(&id))
				ctxs = append(ctxs, jifen.WithActor(context.Background(), &jifen.Actor{PersonID: id, HomeOrgID: village.ID, HomeOrgPath: village.Path}))
				opening = append(opening, jifen.OpeningInput{PersonID: id, Points: 10_000_000})
			}
			fatal(q.Err())
			q.Close()
			if len(ctxs) != buyers {
				b.Fatalf("%d buyers, want %d", len(ctxs), buyers)
			}
			_, err = points.ImportOpening(sys, village.ID, opening)
			fatal(err)
			shop, err := stores.CreateStore(sys, jifen.StoreInput{OrgID: village.ID, Name: "积分超市"})
			fatal(err)

			var lat []time.Duration
			var wall, sellout time.Duration
			b.ResetTimer()
			for round := 0; round < b.N; round++ {
				b.StopTimer()
				n := int64(stock)
				item, err := stores.CreateItem(sys, shop.ID, jifen.ItemInput{Name: fmt.Sprintf("限量大米%d", round), Points: price, Stock: &n})
				fatal(err)
				errs := make([]error, buyers)
				took, end := make([]time.Duration, buyers), make([]time.Time, buyers)
				start := make(chan struct{})
				var ready, done sync.WaitGroup
				for i := range buyers {
					ready.Add(1)
					done.Add(1)
					go func() {
						defer done.Done()
						in := jifen.RedemptionInput{StoreID: shop.ID, Lines: []jifen.Line{{ItemID: item.ID, Quantity: 1}}, Key: fmt.Sprintf("rush-%d-%d", round, i)}
						ready.Done()
						<-start
						t0 := time.Now()
						_, errs[i] = stores.Redeem(ctxs[i], in)
						end[i] = time.Now()
						took[i] = end[i].Sub(t0)
					}()
				}
				ready.Wait()
				b.StartTimer()
				t0 := time.Now()
				close(start)
				done.Wait()
				wall += time.Since(t0)
				b.StopTimer()

				codes := map[string]int{}
				var last time.Duration
				for i, err := range errs {
					if err == nil {
						codes[""]++
						last = max(last, end[i].Sub(t0))
					} else {
						codes[jifen.ErrorCode(err)]++
					}
				}
				if codes[""] != stock || codes["out_of_stock"] != buyers-stock {
					for _, err := range errs {
						if err != nil && jifen.ErrorCode(err) != "out_of_stock" {
							b.Logf("e.g. %v", err)
							break
						}
					}
					b.Fatalf("round %d: outcomes %v, want %d orders and %d out_of_stock", round, codes, stock, buyers-stock)
				}
				var left int64
				fatal(db.queryRow(sys, "SELECT stock FROM items WHERE id = ?", item.ID).Scan(&left))
				if left != 0 {
					b.Fatalf("round %d: %d left in stock, want 0", round, left)
				}
				lat = append(lat, took...)
				sellout += last
				b.StartTimer()
			}
			b.StopTimer()

			ledger := NewLedgerService(db)
			for {
				blk, err := ledger.Seal(sys)
				fatal(err)
				if blk == nil {
					break
				}
			}
			rep, err := ledger.Verify(sys, "")
			fatal(err)
			if rep.Problem != "" {
				b.Fatalf("verify: %s", rep.Problem)
			}
			var sold int64
			fatal(db.queryRow(sys, "SELECT balance FROM accounts WHERE kind = 'store' AND owner_id = ?", shop.ID).Scan(&sold))
			if sold != int64(b.N*stock*price) {
				b.Fatalf("the store account holds %d, want %d", sold, b.N*stock*price)
			}

			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N*buyers)/wall.Seconds(), "attempts/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(sellout.Microseconds())/1000/float64(b.N), "sold-out-ms")
		})
	}
}
