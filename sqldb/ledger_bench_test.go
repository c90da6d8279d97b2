package sqldb

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"jifen"
)

// BenchmarkLedgerPost measures the ledger core posting an award (issuance
// to person: no stored issuer balance) and a redemption-like transfer
// (person to store: a conditional debit), one transaction each, serially
// and from 32 goroutines, beside the bare SQL of the same writes (two
// balance updates, one transaction row, two postings, one queue row).
func BenchmarkLedgerPost(b *testing.B) {
	for name, dsn := range benchDSNs(b) {
		b.Run(name, func(b *testing.B) {
			db := benchDB(b, dsn)
			ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
			ledger := NewLedgerService(db)
			const people = 200
			persons := make([]int64, people)
			var issuer, store int64
			err := db.inTx(ctx, func(tx *Tx) error {
				a, err := tx.account(ctx, jifen.AccountIssuance, 1)
				if err != nil {
					return err
				}
				issuer = a.ID
				if a, err = tx.account(ctx, jifen.AccountStore, 1); err != nil {
					return err
				}
				store = a.ID
				for i := range persons {
					if a, err = tx.account(ctx, jifen.AccountPerson, int64(i+1)); err != nil {
						return err
					}
					persons[i] = a.ID
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			key := func() string { return fmt.Sprintf("%s-%d-%d", name, time.Now().UnixNano(), seq.Add(1)) }
			award := func(i int64) error {
				_, err := ledger.Post(ctx, jifen.TxInput{Kind: jifen.TxAward, Key: key(), Reason: "bench",
					Postings: []jifen.Posting{{AccountID: issuer, Amount: -10}, {AccountID: persons[i%people], Amount: 10, Score: 10}}})
				return err
			}
			redeem := func(i int64) error {
				_, err := ledger.Post(ctx, jifen.TxInput{Kind: jifen.TxRedemption, Key: key(), Reason: "bench",
					Postings: []jifen.Posting{{AccountID: persons[i%people], Amount: -1}, {AccountID: store, Amount: 1}}})
				return err
			}
			bare := func(i int64) error {
				return db.inTx(ctx, func(tx *Tx) error {
					person := persons[i%people]
					res, err := tx.exec(ctx, "UPDATE accounts SET balance = balance - 1 WHERE id = ? AND balance >= 1", person)
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n != 1 {
						return fmt.Errorf("no balance")
					}
					if _, err := tx.exec(ctx, "UPDATE accounts SET balance = balance + 1 WHERE id = ?", store); err != nil {
						return err
					}
					now := time.Now().UTC()
					id, err := tx.insert(ctx, "INSERT INTO ledger_transactions (kind, idem_key, request_hash, created_at, hash) VALUES ('redemption', ?, '', ?, '')", key(), now)
					if err != nil {
						return err
					}
					if _, err := tx.exec(ctx, "INSERT INTO postings (tx_id, account_id, amount) VALUES (?, ?, -1), (?, ?, 1)", id, person, id, store); err != nil {
						return err
					}
					_, err = tx.exec(ctx, "INSERT INTO unsealed (tx_id) VALUES (?)", id)
					return err
				})
			}
			// Enough points for every redemption below.
			for i := int64(0); i < people*10; i++ {
				if err := award(i); err != nil {
					b.Fatal(err)
				}
			}
			for _, c := range []struct {
				name string
				fn   func(int64) error
			}{{"award", award}, {"redemption", redeem}, {"bare_sql_transfer", bare}} {
				b.Run(c.name+"/serial", func(b *testing.B) {
					var i int64
					for b.Loop() {
						if err := c.fn(i); err != nil {
							b.Fatal(err)
						}
						i++
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
				})
				b.Run(c.name+"/32", func(b *testing.B) {
					var next atomic.Int64
					b.SetParallelism(16)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := c.fn(next.Add(1)); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
				})
			}
		})
	}
}
