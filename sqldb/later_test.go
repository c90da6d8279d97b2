package sqldb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"jifen"
)

// TestGroupLaterRows runs one group by hand: rows left for later by a
// write that succeeds are written once at the group's end; those of a
// write that fails are not; and a later write that reads the table sees
// the earlier writes' rows, even when it then fails and takes them out of
// the database with its rollback.
func TestGroupLaterRows(t *testing.T) {
	for name, dsn := range benchDSNs(t) {
		t.Run(name, func(t *testing.T) {
			db := benchDB(t, dsn)
			ctx := context.Background()
			count := func(tx *Tx) (n int) {
				if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'later.%'").Scan(&n); err != nil {
					t.Error(err)
				}
				return n
			}
			note := func(tx *Tx, what string) {
				tx.audit(ctx, 0, "", "later."+what, "test", 1, what)
			}
			boom := errors.New("refused")
			var seenB, seenC int
			fns := []func(tx *Tx) error{
				func(tx *Tx) error { note(tx, "a"); return nil },
				func(tx *Tx) error { note(tx, "b"); seenB = count(tx); return boom },
				func(tx *Tx) error { note(tx, "c"); seenC = count(tx); return nil },
				func(tx *Tx) error { note(tx, "d"); return boom },
				func(tx *Tx) error { note(tx, "e"); return nil },
			}
			batch := make([]*groupReq, len(fns))
			for i, fn := range fns {
				batch[i] = &groupReq{fn: fn, done: make(chan struct{})}
			}
			newCommitter(db, 1, groupMax).run(batch)
			for i, want := range []error{nil, boom, nil, boom, nil} {
				<-batch[i].done
				if !errors.Is(batch[i].err, want) {
					t.Errorf("write %d answered %v, want %v", i, batch[i].err, want)
				}
			}
			// b saw a and itself; c saw a (again waiting after b's
			// rollback) and itself.
			if seenB != 2 || seenC != 2 {
				t.Errorf("b saw %d rows and c %d, want 2 and 2", seenB, seenC)
			}
			var got []string
			rows, err := db.query(ctx, "SELECT detail FROM audit_log WHERE action LIKE 'later.%' ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				rows.Scan(&s)
				got = append(got, s)
			}
			if len(got) != 3 || got[0] != "a" || got[1] != "c" || got[2] != "e" {
				t.Errorf("written %v, want [a c e]", got)
			}
		})
	}
}

// TestReportFreeStripes has many transactions add to one org's month at
// once, each holding its report row for a while: none waits for another's
// row (on PostgreSQL each takes a free stripe or opens one; SQLite's one
// writer takes them in turn), and the month's total is exact.
func TestReportFreeStripes(t *testing.T) {
	for name, dsn := range benchDSNs(t) {
		t.Run(name, func(t *testing.T) {
			db := benchDB(t, dsn)
			sys := jifen.WithActor(context.Background(), jifen.SystemActor())
			org, err := NewOrgService(db).CreateOrg(sys, jifen.OrgInput{Name: "村", Kind: jifen.OrgVillage})
			if err != nil {
				t.Fatal(err)
			}
			const writers = 12
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for i := range writers {
				wg.Go(func() {
					errs <- db.retryTx(sys, func(tx *Tx) error {
						tx.tally(sys, org.ID, org.Path, "2026-11", int64(i), jifen.Tally{Awarded: 10})
						if err := tx.writeLater(sys); err != nil {
							return err
						}
						time.Sleep(100 * time.Millisecond) // hold the row
						return nil
					})
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			var rows, total int64
			if err := db.queryRow(sys, "SELECT COUNT(*), SUM(awarded) FROM report_months WHERE org_id = ? AND month = '2026-11'", org.ID).Scan(&rows, &total); err != nil {
				t.Fatal(err)
			}
			if total != writers*10 {
				t.Errorf("the month holds %d points, want %d", total, writers*10)
			}
			if name == "postgres" && rows < 2 {
				t.Errorf("%d writers at once used %d stripe(s): they queued on one row", writers, rows)
			}
			if name == "sqlite" && rows != 1 {
				t.Errorf("SQLite's month is %d rows, want 1", rows)
			}
		})
	}
}

// TestWaitingRow: a write in a group finds an earlier write's waiting row
// by its columns (a sale's key, redeem), whatever the column list's
// spacing, and nothing when one value differs.
func TestWaitingRow(t *testing.T) {
	var l later
	l.append("redemptions", "id, status,\n\t\tidem_key, created_by", 4, []any{int64(7), "completed", "k1", int64(3)})
	l.append("redemptions", "id, status,\n\t\tidem_key, created_by", 4, []any{int64(8), "held", "k2", int64(3)})
	l.append("postings", "tx_id, account_id", 2, []any{int64(8), int64(3)})
	row := l.waitingRow("redemptions", "created_by", int64(3), "idem_key", "k2")
	if row == nil || row["id"] != int64(8) || row["status"] != "held" {
		t.Fatalf("got %v, want sale 8", row)
	}
	for _, match := range [][]any{{"created_by", int64(4), "idem_key", "k2"}, {"created_by", int64(3), "idem_key", "k3"}, {"created_by", 3, "idem_key", "k1"}} {
		if row := l.waitingRow("redemptions", match...); row != nil {
			t.Errorf("%v: got %v, want none", match, row)
		}
	}
	if row := l.waitingRow("postings", "account_id", int64(3)); row == nil || row["tx_id"] != int64(8) {
		t.Errorf("postings: got %v", row)
	}
}

// TestGroupSeesWaitingSale: in one group, a retry of an order whose row
// still waits for the group's end is answered with that order from memory
// (redeem, later.waitingRow), with nothing written twice and the group
// not run again write by write.
func TestGroupSeesWaitingSale(t *testing.T) {
	for name, dsn := range benchDSNs(t) {
		t.Run(name, func(t *testing.T) {
			db := benchDB(t, dsn)
			sys := jifen.WithActor(context.Background(), jifen.SystemActor())
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			org, err := NewOrgService(db).CreateOrg(sys, jifen.OrgInput{Name: "城关村", Kind: jifen.OrgCity})
			must(err)
			p, err := NewPersonService(db).CreatePerson(sys, jifen.PersonInput{Name: "张三", Gender: jifen.Male, OrgID: org.ID})
			must(err)
			shops, ledger := NewStoreService(db), NewLedgerService(db)
			shop, err := shops.CreateStore(sys, jifen.StoreInput{OrgID: org.ID, Name: "积分超市"})
			must(err)
			stock := int64(100)
			soap, err := shops.CreateItem(sys, shop.ID, jifen.ItemInput{Name: "肥皂", Points: 10, Stock: &stock})
			must(err)
			iss, err := ledger.Account(sys, jifen.AccountIssuance, org.ID)
			must(err)
			mine, err := ledger.Account(sys, jifen.AccountPerson, p.ID)
			must(err)
			// Enough for two: only the key may stop the retry.
			_, err = ledger.Post(sys, jifen.TxInput{Kind: jifen.TxOpening, Key: "fund", Postings: []jifen.Posting{{AccountID: iss.ID, Amount: -20}, {AccountID: mine.ID, Amount: 20}}})
			must(err)
			st, err := db.cachedStore(sys, shop.ID)
			must(err)
			buyer := jifen.WithActor(context.Background(), &jifen.Actor{PersonID: p.ID, Name: p.Name, HomeOrgID: org.ID, HomeOrgPath: org.Path})
			in := jifen.RedemptionInput{StoreID: shop.ID, Lines: []jifen.Line{{ItemID: soap.ID, Quantity: 1}}, Key: "once"}
			var runs int
			var ids [2]int64
			batch := make([]*groupReq, 2)
			for i := range batch {
				batch[i] = &groupReq{done: make(chan struct{}), fn: func(tx *Tx) error {
					runs++
					var err error
					ids[i], _, err = tx.redeem(buyer, st, in, false)
					return err
				}}
			}
			newCommitter(db, 1, groupMax).run(batch)
			for i, r := range batch {
				<-r.done
				if r.err != nil {
					t.Fatalf("try %d: %v", i, r.err)
				}
			}
			if ids[0] == 0 || ids[0] != ids[1] || runs != 2 {
				t.Fatalf("orders %v in %d runs, want one order in 2 runs", ids, runs)
			}
			if a, err := ledger.Account(sys, jifen.AccountPerson, p.ID); err != nil || a.Balance != 10 {
				t.Fatalf("balance %+v (%v), want 10", a, err)
			}
		})
	}
}
