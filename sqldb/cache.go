package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"jifen"
)

// Every award is decided on the same few rows: the beneficiary, its rule,
// the rule in force for that code at the beneficiary's org, the points
// settings along the org's path, the issuing org's budget setting. They
// change a few times a day (people) or a year (rules); awards read them
// thousands of times a second. config keeps what a decision read, so the
// next decision reads memory.
//
// An entry is as good as a read of the committed database, because of how
// it is dropped:
//   - every statement that writes one of configTables marks its
//     transaction, and after that transaction ends (committed or
//     not) the generation moves on, which drops every entry;
//   - an entry carries the generation its transaction saw before its first
//     read, so a read that raced a commit is never kept past it;
//   - only read-only transactions (the plans of awards), writes that
//     ask to and have not written a config table (a counter sale), and
//     reads on the pool outside any transaction (cachedRead: the signed-in
//     actor, a sale's store and clerk) use and fill it: a write that
//     changed a rule reads its own change from the database.
//
// Another process on the same database (a second server on PostgreSQL, a
// command-line import) does not move this one's generation, so entries also
// expire configTTL after they were read: its change reaches this server's
// decisions within that time, as if the request had come that much earlier.
type configCache struct {
	gen     atomic.Uint64
	mu      sync.RWMutex
	entries map[any]configEntry
}

// configTTL bounds how long another process's change to a rule or setting
// can go unseen here.
const configTTL = time.Second

// configTables are the tables whose rows the cache keeps (as query
// results): a write to any of them drops every entry. Orgs are here for
// the org names a person's row carries; sessions and grants for the
// signed-in actor every request is authenticated as (a sign-in, a
// sign-out or a grant changed drops the lot, and the next award reads its
// few rows again); stores and their clerks for a counter sale.
var configTables = []string{"rules", "rule_versions", "points_settings", "people", "orgs", "sessions", "grants", "stores", "store_clerks"}

type configEntry struct {
	gen  uint64
	read time.Time
	v    any
}

func (c *configCache) get(gen uint64, now time.Time, key any) (any, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	// A clock that went back (or a test's) expires the entry too.
	if age := now.Sub(e.read); !ok || e.gen != gen || age < 0 || age > configTTL {
		return nil, false
	}
	return e.v, true
}

func (c *configCache) put(gen uint64, read time.Time, key, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return // already stale
	}
	if c.entries == nil || len(c.entries) > 100_000 {
		// Keys are rules, codes by org path, org paths and the people
		// awarded in the last second (configTTL): the bound keeps memory
		// small whatever the county's size.
		c.entries = map[any]configEntry{}
	}
	c.entries[key] = configEntry{gen: gen, read: read, v: v}
}

// forget drops one entry.
func (c *configCache) forget(key any) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// changed moves the generation on after a transaction that wrote a config
// table ended.
func (c *configCache) changed() {
	c.gen.Add(1)
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

// cached returns the value for key from the cache when t may use it, and
// otherwise reads it with load. t may use it when it is a read-only
// transaction, or a write that asked to (cacheReads: a counter sale
// decides on the buyer and the settings as an award's plan does) and has
// written none of configTables yet: until then what it would read of them
// is what others committed, which is what the cache holds. Other writes
// read the database, so that one which updates a row reads the row as it
// is, not as another server had it a second ago.
func cached[T any](t *Tx, key any, load func() (T, error)) (T, error) {
	if !t.mayCache() {
		return load()
	}
	// The database's clock, which tests move.
	c, read := &t.db.config, t.db.Now()
	if v, ok := c.get(t.configGen, read, key); ok {
		return v.(T), nil
	}
	v, err := load()
	if err == nil {
		c.put(t.configGen, read, key, v)
	}
	return v, err
}

func (t *Tx) mayCache() bool { return t.readOnly || t.cacheReads && !t.wroteConfig }

// changesConfig marks t as writing what the cache keeps through a table
// that is not one of configTables: an item's name, price, limits and
// dates (saleItem), whose table every sale also writes (the stock).
func (t *Tx) changesConfig() { t.wroteConfig = true }

// saleItem is an item for a sale of quantity: from the cache when t may
// use it and the stock it remembers covers the quantity, which then only
// saves a read (the conditional update at the end decides the stock);
// otherwise, and before refusing for stock, read now. A miss is read in t, never on
// the pool: on PostgreSQL a sale holding its connection while it waits
// for a second one starves the pool when many sell at once. What t reads
// of an item it has not edited (mayCache) is the committed row but for
// the stock, which is only a hint.
func (t *Tx) saleItem(ctx context.Context, id, quantity int64) (*jifen.Item, error) {
	if t.mayCache() {
		it, err := cachedRead(t.db, itemKey(id), func() (*jifen.Item, error) { return getItem(ctx, t, id) })
		if err == nil && (it.Stock == nil || *it.Stock >= quantity) {
			return it, nil
		}
	}
	return getItem(ctx, t, id)
}

// cachedRead is cached for a read on the pool, outside any transaction:
// the generation is taken before the read, as readOnlyTx takes it.
func cachedRead[T any](db *DB, key any, load func() (T, error)) (T, error) {
	c, gen, read := &db.config, db.config.gen.Load(), db.Now()
	if v, ok := c.get(gen, read, key); ok {
		return v.(T), nil
	}
	v, err := load()
	if err == nil {
		c.put(gen, read, key, v)
	}
	return v, err
}

// writesConfig tells whether a statement writes one of configTables.
func writesConfig(query string) bool {
	head := strings.ToUpper(strings.TrimSpace(query))
	if !strings.HasPrefix(head, "INSERT") && !strings.HasPrefix(head, "UPDATE") && !strings.HasPrefix(head, "DELETE") &&
		!strings.HasPrefix(head, "WITH") && !strings.HasPrefix(head, "ALTER") && !strings.HasPrefix(head, "DROP") {
		return false
	}
	lower := strings.ToLower(query)
	for _, table := range configTables {
		for i := 0; ; {
			j := strings.Index(lower[i:], table)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(table)
			if (start == 0 || !identByte(lower[start-1])) && (end == len(lower) || !identByte(lower[end])) {
				return true
			}
			i = end
		}
	}
	return false
}

func identByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
}

// The config cache's keys, one type per kind of read.
type (
	ruleKey     int64
	inForceKey  struct{ code, path string }
	settingsKey struct {
		org  int64
		path string
	}
	budgetKey   int64
	personKey   int64
	sessionKey  string // the token's hash
	storeIDKey  int64
	clerkKey    struct{ store, person int64 }
	throttleKey string
	itemKey     int64
)

// cachedStore is getStore through the config cache, and cachedSells
// sells: a till rings up many sales a minute at one store. The row is
// shared: callers must not change it.
func (db *DB) cachedStore(ctx context.Context, id int64) (*storeRow, error) {
	return cachedRead(db, storeIDKey(id), func() (*storeRow, error) { return getStore(ctx, db, id) })
}

// cachedStore is a store through the config cache inside a write, as a
// counter sale reads it before its transaction (Redeem): a give-back or a
// hand-over at the counter. A miss is read in t, never on the pool (see
// saleItem).
func (t *Tx) cachedStore(ctx context.Context, id int64) (*storeRow, error) {
	was := t.cacheReads
	t.cacheReads = true
	defer func() { t.cacheReads = was }()
	return cached(t, storeIDKey(id), func() (*storeRow, error) { return getStore(ctx, t, id) })
}

// cachedSells is cachedSells inside a write, a miss read in t.
func (t *Tx) cachedSells(ctx context.Context, a *jifen.Actor, st *storeRow) (bool, error) {
	if manages(a, st) {
		return true, nil
	}
	was := t.cacheReads
	t.cacheReads = true
	defer func() { t.cacheReads = was }()
	return cached(t, clerkKey{st.ID, a.PersonID}, func() (bool, error) { return isClerk(ctx, t, st.ID, a.PersonID) })
}

// cachedFailures is failures through the config cache: every counter
// sale asks whether its clerk is throttled. A failure recorded here drops
// its key's entry alone (recordFailure): with the throttles among
// configTables, every wrong password anyone typed would empty the whole
// cache. A count read just before a failure and kept just after it may
// then stand for a second (configTTL), as another instance's does.
func (db *DB) cachedFailures(ctx context.Context, key string) (int, error) {
	return cachedRead(db, throttleKey(key), func() (int, error) { return db.failures(ctx, key) })
}

func (db *DB) cachedSells(ctx context.Context, a *jifen.Actor, st *storeRow) (bool, error) {
	if manages(a, st) {
		return true, nil
	}
	return cachedRead(db, clerkKey{st.ID, a.PersonID}, func() (bool, error) { return isClerk(ctx, db, st.ID, a.PersonID) })
}

// person is getPerson through the config cache. The row is shared:
// callers must not change it.
func (t *Tx) person(ctx context.Context, id int64) (*personRow, error) {
	return cached(t, personKey(id), func() (*personRow, error) { return t.db.getPerson(ctx, t.tx, id) })
}

// rule is getRule through the config cache. The row is shared: callers
// must not change it.
func (t *Tx) rule(ctx context.Context, id int64) (*ruleRow, error) {
	return cached(t, ruleKey(id), func() (*ruleRow, error) { return getRule(ctx, t, id) })
}

// settings is settingsAt through the config cache.
func (t *Tx) settings(ctx context.Context, orgID int64, path string) (jifen.PointsSettings, error) {
	return cached(t, settingsKey{orgID, path}, func() (jifen.PointsSettings, error) { return settingsAt(ctx, t, orgID, path) })
}

// ruleInForce is the id of the rule in force for code at an org path: its
// own org's or the nearest ancestor's (an override hides the rule above
// it, archived or not); 0 for none.
func (t *Tx) ruleInForce(ctx context.Context, code, path string) (int64, error) {
	return cached(t, inForceKey{code, path}, func() (int64, error) {
		ids := append([]int64{0}, jifen.PathIDs(path)...)
		args := []any{code}
		for _, id := range ids {
			args = append(args, id)
		}
		var id int64
		err := t.queryRow(ctx, "SELECT id FROM rules WHERE code = ? AND org_id IN ("+marks(len(ids))+
			") ORDER BY LENGTH(org_path) DESC LIMIT 1", args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return id, err
	})
}
