package sqldb

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"jifen"
)

// BenchmarkAward measures the points service's writes beside the bare SQL
// of a transfer, on each database, serially and from 32 goroutines, in one
// run so the ratios hold on a noisy machine:
//
//   - award: PointsService.Award by a village's org admin, a rule without
//     caps or review, a person picked round-robin from 200, a fresh
//     Idempotency-Key each time (target, access, rule in force, caps, the
//     award row, audit, ledger posting, inbox message, the award read back);
//   - deduction: the same with a negative rule (a conditional debit with
//     clamp);
//   - redemption: LedgerService.Post of a person → store transfer, over 8
//     stores and all into one store (one hot row);
//   - sale: a counter sale as the API makes it, two writes: the buyer's
//     StoreService.NewPaycode, then a clerk's StoreService.Redeem with it
//     (store, clerk, throttle, pay code, buyer, item, stock, debit, the
//     sale's rows, roll-ups), over 8 stores with one stocked item each;
//   - bare_sql: one transaction of the same writes a transfer needs (the
//     transaction row with its idempotency key, two postings, two balance
//     updates, the sealing queue row), over 8 stores and into one.
//
// The numbers are ops/s; run with e.g. -benchtime 2000x (BENCHMARKS.md).
func BenchmarkAward(b *testing.B) {
	for name, dsn := range benchDSNs(b) {
		b.Run(name, func(b *testing.B) {
			db := benchDB(b, dsn)
			sys := jifen.WithActor(context.Background(), jifen.SystemActor())
			orgs, people, auth := NewOrgService(db), NewPersonService(db), NewAuthService(db)
			points, ledger := NewPointsService(db), NewLedgerService(db)
			fatal := func(err error) {
				b.Helper()
				if err != nil {
					b.Fatal(err)
				}
			}

			// A real depth of tree: settings and the catalogue are looked up
			// along the whole path.
			var parent *int64
			var tree []*jifen.Org
			for _, o := range []struct {
				name string
				kind jifen.OrgKind
			}{{"市", jifen.OrgCity}, {"县", jifen.OrgCounty}, {"镇", jifen.OrgTown}, {"村", jifen.OrgVillage}} {
				org, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: o.name, Kind: o.kind, ParentID: parent})
				fatal(err)
				parent, tree = &org.ID, append(tree, org)
			}
			countyID, village := tree[1].ID, tree[3]
			// The county sets the policy (no daily cap, no budget) and a
			// catalogue the village inherits, as counties do.
			fatal(points.SaveSettings(sys, countyID, jifen.PointsSettings{PointsTo: jifen.ToPerson, PublicDays: 7, AppealDays: 7, MaskNames: true}))
			catalogue := make([]jifen.RuleInput, 30)
			for i := range catalogue {
				catalogue[i] = jifen.RuleInput{Code: fmt.Sprintf("county-%02d", i), Name: fmt.Sprintf("县级规则%02d", i),
					Category: jifen.RuleCategories[i%len(jifen.RuleCategories)], Points: int64(i%10 + 1)}
			}
			_, err := points.ImportRules(sys, countyID, catalogue)
			fatal(err)
			give, err := points.CreateRule(sys, village.ID, jifen.RuleInput{Code: "clean-yard", Name: "庭院整洁", Category: jifen.CatEnvironment, Points: 10})
			fatal(err)
			take, err := points.CreateRule(sys, village.ID, jifen.RuleInput{Code: "litter", Name: "乱扔垃圾", Category: jifen.CatEnvironment, Points: -1})
			fatal(err)

			// 200 villagers, and the village's admin, signed in as
			// Authenticate would build the actor.
			const n = 200
			rows := make([]jifen.PersonInput, n)
			for i := range rows {
				rows[i] = jifen.PersonInput{Name: fmt.Sprintf("村民%03d", i), Gender: jifen.Male, OrgID: village.ID}
				fatal(rows[i].Validate(time.Now()))
			}
			_, err = people.ImportPeople(sys, village.ID, rows)
			fatal(err)
			ids := make([]int64, 0, n)
			q, err := db.query(sys, "SELECT id FROM people WHERE home_org_id = ? ORDER BY id", village.ID)
			fatal(err)
			for q.Next() {
				var id int64
				fatal(q.Scan(&id))
				ids = append(ids, id)
			}
			fatal(q.Err())
			q.Close()
			if len(ids) != n {
				b.Fatalf("%d villagers, want %d", len(ids), n)
			}
			admin, err := people.CreatePerson(sys, jifen.PersonInput{Name: "村管理员", Gender: jifen.Female, OrgID: village.ID})
			fatal(err)
			_, err = auth.Grant(sys, admin.ID, village.ID, jifen.RoleOrgAdmin)
			fatal(err)
			actor := &jifen.Actor{PersonID: admin.ID, Name: admin.Name, HomeOrgID: village.ID, HomeOrgPath: village.Path}
			actor.Grants, err = db.grants(sys, admin.ID)
			fatal(err)
			adminCtx := jifen.WithActor(context.Background(), actor)

			// Opening balances, so no redemption runs dry and deductions
			// take real points whichever sub-benchmarks run.
			opening := make([]jifen.OpeningInput, n)
			for i, id := range ids {
				opening[i] = jifen.OpeningInput{PersonID: id, Points: 10_000_000}
			}
			_, err = points.ImportOpening(adminCtx, village.ID, opening)
			fatal(err)
			accounts := make([]int64, n)
			const nStores = 8
			stores := make([]int64, nStores)
			fatal(db.inTx(sys, func(tx *Tx) error {
				for i, id := range ids {
					a, err := tx.account(sys, jifen.AccountPerson, id)
					if err != nil {
						return err
					}
					accounts[i] = a.ID
				}
				for i := range stores {
					a, err := tx.account(sys, jifen.AccountStore, int64(i+1))
					if err != nil {
						return err
					}
					stores[i] = a.ID
				}
				return nil
			}))

			// Eight stores of the village, one stocked item and one clerk
			// each; the buyers are the villagers.
			shops := NewStoreService(db)
			type till struct {
				store, item int64
				clerk       context.Context
			}
			tills := make([]till, nStores)
			for i := range tills {
				st, err := shops.CreateStore(adminCtx, jifen.StoreInput{OrgID: village.ID, Name: fmt.Sprintf("积分超市%d", i+1)})
				fatal(err)
				it, err := shops.CreateItem(adminCtx, st.ID, jifen.ItemInput{Name: "肥皂", Points: 1, Stock: func(n int64) *int64 { return &n }(1_000_000)})
				fatal(err)
				clerk, err := people.CreatePerson(sys, jifen.PersonInput{Name: fmt.Sprintf("店员%d", i+1), Gender: jifen.Female, OrgID: village.ID})
				fatal(err)
				fatal(shops.AddClerk(adminCtx, st.ID, clerk.ID))
				tills[i] = till{st.ID, it.ID, jifen.WithActor(context.Background(),
					&jifen.Actor{PersonID: clerk.ID, Name: clerk.Name, HomeOrgID: village.ID, HomeOrgPath: village.Path})}
			}
			buyers := make([]context.Context, n)
			for i, id := range ids {
				buyers[i] = jifen.WithActor(context.Background(), &jifen.Actor{PersonID: id, Name: rows[i].Name, HomeOrgID: village.ID, HomeOrgPath: village.Path})
			}

			var seq atomic.Int64
			key := func() string { return fmt.Sprintf("%s-%d-%d", name, time.Now().UnixNano(), seq.Add(1)) }
			byRule := func(rule int64) func(int64) error {
				return func(i int64) error {
					aw, err := points.Award(adminCtx, jifen.AwardInput{PersonID: ids[i%n], RuleID: rule, Key: key()})
					if err == nil && aw.Status != jifen.AwardPosted {
						err = fmt.Errorf("award %d is %s, want posted", aw.ID, aw.Status)
					}
					return err
				}
			}
			redeem := func(spread int64) func(int64) error {
				return func(i int64) error {
					_, err := ledger.Post(sys, jifen.TxInput{Kind: jifen.TxRedemption, Key: key(), Reason: "兑换", OrgID: village.ID,
						Postings: []jifen.Posting{{AccountID: accounts[i%n], Amount: -1}, {AccountID: stores[i%spread], Amount: 1}}})
					return err
				}
			}
			sale := func(i int64) error {
				pc, err := shops.NewPaycode(buyers[i%n])
				if err != nil {
					return err
				}
				t := tills[i%nStores]
				_, err = shops.Redeem(t.clerk, jifen.RedemptionInput{StoreID: t.store, Paycode: pc.Code, Key: key(),
					Lines: []jifen.Line{{ItemID: t.item, Quantity: 1}}})
				return err
			}
			// The same SQL as BenchmarkLedgerPost's bare transfer.
			bare := func(spread int64) func(int64) error {
				return func(i int64) error {
					return db.retryTx(context.Background(), func(tx *Tx) error {
						person, store := accounts[i%n], stores[i%spread]
						res, err := tx.exec(context.Background(), "UPDATE accounts SET balance = balance - 1 WHERE id = ? AND balance >= 1", person)
						if err != nil {
							return err
						}
						if k, _ := res.RowsAffected(); k != 1 {
							return fmt.Errorf("no balance")
						}
						if _, err := tx.exec(context.Background(), "UPDATE accounts SET balance = balance + 1 WHERE id = ?", store); err != nil {
							return err
						}
						id, err := tx.insert(context.Background(), "INSERT INTO ledger_transactions (kind, idem_key, request_hash, created_at, hash) VALUES ('redemption', ?, '', ?, '')", key(), time.Now().UTC())
						if err != nil {
							return err
						}
						if _, err := tx.exec(context.Background(), "INSERT INTO postings (tx_id, account_id, amount) VALUES (?, ?, -1), (?, ?, 1)", id, person, id, store); err != nil {
							return err
						}
						_, err = tx.exec(context.Background(), "INSERT INTO unsealed (tx_id) VALUES (?)", id)
						return err
					})
				}
			}

			// The grouped ceiling (LEDGER.md): one writer takes every
			// transfer queued (up to 1,000) and applies them with four
			// set-based statements in one transaction.
			type transfer struct {
				person, store int64
				done          chan error
			}
			queue := make(chan transfer, 4096)
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				for {
					var batch []transfer
					select {
					case <-stop:
						return
					case t := <-queue:
						batch = append(batch, t)
					}
				drain:
					for len(batch) < 1000 {
						select {
						case t := <-queue:
							batch = append(batch, t)
						default:
							break drain
						}
					}
					err := db.retryTx(context.Background(), func(tx *Tx) error {
						ctx := context.Background()
						delta := map[int64]int64{}
						for _, t := range batch {
							delta[t.person]--
							delta[t.store]++
						}
						var sb strings.Builder
						var args, ids []any
						sb.WriteString("UPDATE accounts SET balance = balance + CASE id")
						for id, d := range delta {
							sb.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
							args = append(args, id, d)
							ids = append(ids, id)
						}
						sb.WriteString(" END WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")")
						if _, err := tx.exec(ctx, sb.String(), append(args, ids...)...); err != nil {
							return err
						}
						sb.Reset()
						args = args[:0]
						now := time.Now().UTC()
						sb.WriteString("INSERT INTO ledger_transactions (kind, idem_key, request_hash, created_at, hash) VALUES ")
						for i := range batch {
							if i > 0 {
								sb.WriteString(", ")
							}
							sb.WriteString("('redemption', ?, '', ?, '')")
							args = append(args, key(), now)
						}
						rows, err := tx.query(ctx, sb.String()+" RETURNING id", args...)
						if err != nil {
							return err
						}
						var txIDs []int64
						for rows.Next() {
							var id int64
							if err := rows.Scan(&id); err != nil {
								rows.Close()
								return err
							}
							txIDs = append(txIDs, id)
						}
						rows.Close()
						if err := rows.Err(); err != nil {
							return err
						}
						sb.Reset()
						args = args[:0]
						sb.WriteString("INSERT INTO postings (tx_id, account_id, amount) VALUES ")
						for i, t := range batch {
							if i > 0 {
								sb.WriteString(", ")
							}
							sb.WriteString("(?, ?, -1), (?, ?, 1)")
							args = append(args, txIDs[i], t.person, txIDs[i], t.store)
						}
						if _, err := tx.exec(ctx, sb.String(), args...); err != nil {
							return err
						}
						sb.Reset()
						args = args[:0]
						sb.WriteString("INSERT INTO unsealed (tx_id) VALUES ")
						for i, id := range txIDs {
							if i > 0 {
								sb.WriteString(", ")
							}
							sb.WriteString("(?)")
							args = append(args, id)
						}
						_, err = tx.exec(ctx, sb.String(), args...)
						return err
					})
					for _, t := range batch {
						t.done <- err
					}
				}
			}()
			grouped := func(spread int64) func(int64) error {
				return func(i int64) error {
					done := make(chan error, 1)
					queue <- transfer{accounts[i%n], stores[i%spread], done}
					return <-done
				}
			}

			// 32 goroutines whatever GOMAXPROCS is (16 per core on 2 cores,
			// as BenchmarkLedgerPost and BenchmarkSignUp use).
			par := (32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
			for _, c := range []struct {
				name string
				fn   func(int64) error
			}{
				{"award", byRule(give.ID)},
				{"deduction", byRule(take.ID)},
				{"redemption_stores", redeem(nStores)},
				{"redemption_one_store", redeem(1)},
				{"sale", sale},
				{"bare_sql_stores", bare(nStores)},
				{"bare_sql_one_store", bare(1)},
				{"bare_sql_grouped_stores", grouped(nStores)},
			} {
				b.Run(c.name+"/serial", func(b *testing.B) {
					var i int64
					for b.Loop() {
						if err := c.fn(i); err != nil {
							b.Fatal(err)
						}
						i++
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				})
				b.Run(c.name+"/32", func(b *testing.B) {
					var next atomic.Int64
					b.SetParallelism(par)
					before := db.CommitStats()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := c.fn(next.Add(1)); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
					reportCommits(b, before, db.CommitStats())
				})
			}
		})
	}
}

// reportCommits adds what the group committers did during a benchmark:
// writes per commit, and the committers' time per write, all of it and
// in COMMIT alone. On SQLite their time is the one writer's, the serial
// part of every write.
func reportCommits(b *testing.B, before, after jifen.CommitStats) {
	commits, writes := after.Commits-before.Commits, after.Writes-before.Writes
	if commits == 0 || writes == 0 {
		return
	}
	b.ReportMetric(float64(writes)/float64(commits), "writes/commit")
	b.ReportMetric((after.BusySeconds-before.BusySeconds)*1e6/float64(writes), "µs-writer/write")
	b.ReportMetric((after.CommitSeconds-before.CommitSeconds)*1e6/float64(writes), "µs-commit/write")
}
