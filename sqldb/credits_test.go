package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"jifen"
)

// TestCreditsBehindAnUpdate queues two writes' credits behind a third
// transaction that has updated the same account, while a fourth holds
// the KEY SHARE lock a fresh posting's foreign key takes. When the
// credits locked their accounts in a WITH clause of the crediting
// statement, the first to get the row's new version then went back for
// the old version's tuple lock, which the second held while waiting for
// it: PostgreSQL found a deadlock every time (a review's three psql
// sessions; once or twice in a 30-second load of two instances). Both
// must now go through, with one account and with several.
func TestCreditsBehindAnUpdate(t *testing.T) {
	dsns := benchDSNs(t)
	if _, ok := dsns["postgres"]; !ok {
		t.Skip("PostgreSQL only (JIFEN_TEST_POSTGRES): SQLite has one writer")
	}
	db := benchDB(t, dsns["postgres"])
	ctx := context.Background()
	ids := openAccounts(t, db, 900000, 3)
	begin := func() *sql.Tx {
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	for _, credited := range [][]int64{ids[:1], ids} {
		hot := credited[0]
		keyShare := begin()
		if _, err := keyShare.Exec("SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE", hot); err != nil {
			t.Fatal(err)
		}
		debit := begin()
		if _, err := debit.Exec("UPDATE accounts SET balance = balance + 0 WHERE id = $1", hot); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				sqltx := begin()
				tx := &Tx{tx: sqltx, db: db, configGen: db.config.gen.Load()}
				var l later
				for _, id := range credited {
					l.credit(id, 1, 1)
				}
				if errs[i] = tx.writeRows(ctx, &l); errs[i] != nil {
					sqltx.Rollback()
					return
				}
				errs[i] = sqltx.Commit()
			})
			time.Sleep(300 * time.Millisecond) // the first queues behind debit before the second
		}
		if err := debit.Commit(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		keyShare.Rollback()
		for i, err := range errs {
			if err != nil {
				t.Errorf("%d accounts: credit %d: %v", len(credited), i+1, err)
			}
		}
	}
	var sum int64
	if err := db.queryRow(ctx, "SELECT SUM(balance) FROM accounts WHERE id = ANY($1::bigint[])", ids).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if want := int64(2*1 + 2*3); sum != want {
		t.Errorf("the accounts hold %d, want %d: every credit once", sum, want)
	}
}

// TestNamingAccountsLeavesCreditsWaiting: in a group, naming a posting's
// accounts that are not remembered (the names kept in memory start again
// at 200,000 accounts) reads around the credits waiting for the group's
// end rather than writing them first, so a group still takes all its
// accounts in one round, in id order, at its end.
func TestNamingAccountsLeavesCreditsWaiting(t *testing.T) {
	for name, dsn := range benchDSNs(t) {
		t.Run(name, func(t *testing.T) {
			db := benchDB(t, dsn)
			ctx := context.Background()
			ids := openAccounts(t, db, 800000, 2)
			db.accounts = accountNames{} // forgotten, as when the memory starts again
			sqltx, err := db.w.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sqltx.Rollback()
			tx := &Tx{tx: sqltx, db: db, grouped: true, configGen: db.config.gen.Load()}
			tx.held.credit(ids[0], 5, 5) // an earlier write of the group
			kinds, accts := map[int64]jifen.AccountKind{}, map[int64]accountID{}
			if err := tx.nameAccounts(ctx, []jifen.Posting{{AccountID: ids[1]}}, kinds, accts); err != nil {
				t.Fatal(err)
			}
			if kinds[ids[1]] != jifen.AccountPerson || accts[ids[1]].owner != 800001 {
				t.Fatalf("named %v %v, want person 800001", kinds, accts)
			}
			if !tx.held.credited(ids[0]) {
				t.Error("the group's waiting credit was written to name another account")
			}
			if id, err := tx.accountID(ctx, jifen.AccountPerson, 800000); err != nil || id != ids[0] || !tx.held.credited(ids[0]) {
				t.Errorf("accountID: %d, %v; the credit still waits: %v", id, err, tx.held.credited(ids[0]))
			}
		})
	}
}

// openAccounts opens n people's accounts, for owners from first on, and
// returns their ids.
func openAccounts(t *testing.T, db *DB, first int64, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := make([]int64, n)
	for i := range ids {
		if err := db.retryTx(ctx, func(tx *Tx) error {
			a, err := tx.account(ctx, jifen.AccountPerson, first+int64(i))
			if err == nil {
				ids[i] = a.ID
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}
