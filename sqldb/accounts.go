package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"jifen"
)

// accountNames keeps which account belongs to whom. An account never
// changes kind or owner and is never deleted, so once seen committed the
// pair holds for the life of the database; an award then needs no query to
// name its two accounts. Only what a transaction saw committed is kept:
// one that opened an account (openedAccount) may see that account, which
// it may yet roll back, and whose id SQLite would then hand out again.
type accountNames struct {
	mu      sync.RWMutex
	byID    map[int64]accountID
	byOwner map[accountID]int64
}

// accountNamesMax bounds the memory: about 100 bytes an entry. When full
// it starts again, which costs a query per account until it refills.
const accountNamesMax = 200_000

func (c *accountNames) lookup(id int64) (accountID, bool) {
	c.mu.RLock()
	a, ok := c.byID[id]
	c.mu.RUnlock()
	return a, ok
}

func (c *accountNames) find(kind jifen.AccountKind, owner int64) int64 {
	c.mu.RLock()
	id := c.byOwner[accountID{kind, owner}]
	c.mu.RUnlock()
	return id
}

func (c *accountNames) keep(id int64, kind jifen.AccountKind, owner int64) {
	c.mu.Lock()
	if c.byID == nil || len(c.byID) >= accountNamesMax {
		c.byID, c.byOwner = map[int64]accountID{}, map[accountID]int64{}
	}
	c.byID[id] = accountID{kind, owner}
	c.byOwner[accountID{kind, owner}] = id
	c.mu.Unlock()
}

// accountID returns the id of an owner's account, or 0 if it is not open.
func (t *Tx) accountID(ctx context.Context, kind jifen.AccountKind, owner int64) (int64, error) {
	if id := t.db.accounts.find(kind, owner); id != 0 {
		return id, nil
	}
	// Around what waits, as nameAccounts: waiting credits open no account.
	var id int64
	err := t.queryRowAround(ctx, "SELECT id FROM accounts WHERE kind = ? AND owner_id = ?", kind, owner).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if t.sawCommittedAccounts() {
		t.db.accounts.keep(id, kind, owner)
	}
	return id, nil
}

// sawCommittedAccounts tells whether every account t can read is
// committed: t opened none. In a group the flag stays set for the group's
// later writes, which read the earlier ones' accounts.
func (t *Tx) sawCommittedAccounts() bool {
	return t.readOnly || !t.openedAccount
}
