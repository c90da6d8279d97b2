package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"jifen"
)

// Group commit. Each write of jifen is one closure run in one transaction
// (inTx). When writers arrive together, one of them (the leader) takes
// every closure queued at that moment, runs them one after another in a
// single database transaction, each inside its own savepoint, and commits
// once: one commit, one fsync and one round of locking shared by the
// group. A closure that fails rolls back to its savepoint and fails alone;
// the others commit. Each closure sees the ones before it exactly as if
// they had committed first, so idempotency keys, caps, stock and balances
// behave as under one transaction each (a sale's key is looked up among
// the group's waiting rows in memory, then in the database around them);
// a refusal is told only after the group's commit, so a retry refused on
// its first try's doing finds that try's row when it looks (Redeem). If the commit itself fails, every
// closure of the group runs again in a transaction of its own, so nobody
// is told of a write that did not happen. A writer that arrives while the
// database is idle leads a group of one and pays nothing for waiting.
//
// On SQLite every write goes through one committer. SQLite has one
// writer, so a group is the only transaction holding locks and groups
// cannot wait on each other.
//
// On PostgreSQL only awards that wait on no row share commits
// (DB.awardGroup: no caps to count and no deduction to debit under the
// account's lock, no account to open, no budget stripe to take),
// awardGroupLeaders groups at a
// time. What such a group touches that others may hold is taken at its
// very end, in one statement (later.go): credits in account order, and a
// report stripe no one holds (FOR UPDATE SKIP LOCKED; only when all are
// held does it queue on one). Two groups then almost never wait on each
// other in a circle; if they do, PostgreSQL breaks the circle and the
// loser's awards run again alone. Other writes stay one transaction each:
// PostgreSQL already shares a WAL flush among commits that arrive
// together, and groups of sales would hold buyers', items' and stripes'
// locks of all their members at once in no common order: with every write
// grouped, two groups of up to 16 at a time, redemptions fell to 12/s
// while awards ran at 1,883/s. Grouped by store (a store's sales wait on
// one another anyway), they ran one store's sales one after another
// instead of side by side until the store's rows: the mixed load fell by
// a sixth, and a sale group debiting a buyer whom an award group credits
// waited on it in a circle (a second's stall until PostgreSQL broke it).

// groupMax bounds a group.
const groupMax = 64

// awardGroupLeaders is how many award groups run at once on PostgreSQL:
// one group's statements go while the other's commit waits on the WAL
// flush. Measured in process, 32 clients: 3,030 awards/s with two,
// 2,004/s with one, 2,160/s with none.
const awardGroupLeaders = 2

type groupReq struct {
	fn   func(tx *Tx) error
	err  error
	done chan struct{}
}

type committer struct {
	db      *DB
	mu      sync.Mutex
	queue   []*groupReq
	leaders chan struct{}
	max     int
	// defers makes a write run alone (a group of one, or again after its
	// group failed) leave its own rows for its end, as in a group
	// (Tx.defersRows): PostgreSQL's award groups. Two copies of one award
	// (a retry under the same key), one grouped and one alone, then take
	// the beneficiary's account and the key's index entry in the same
	// order. Alone, the award took the key first and the account at its
	// end, grouped the other way round, and they deadlocked (8 times in a
	// 15-second load of such retries).
	defers bool
	// What the committer has done, for CommitStats; times in
	// nanoseconds.
	commits, writes, busy, committing atomic.Int64
}

// CommitStats sums the database's committers (group commit) since it
// opened.
func (db *DB) CommitStats() jifen.CommitStats {
	var out jifen.CommitStats
	for _, c := range []*committer{db.group, db.awardGroup} {
		if c == nil {
			continue
		}
		out.Commits += c.commits.Load()
		out.Writes += c.writes.Load()
		out.BusySeconds += time.Duration(c.busy.Load()).Seconds()
		out.CommitSeconds += time.Duration(c.committing.Load()).Seconds()
	}
	return out
}

func newCommitter(db *DB, leaders, max int) *committer {
	return &committer{db: db, leaders: make(chan struct{}, leaders), max: max}
}

func (c *committer) do(ctx context.Context, fn func(tx *Tx) error) error {
	r := &groupReq{fn: fn, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	for {
		select {
		case <-r.done:
			return r.err
		case c.leaders <- struct{}{}:
		}
		c.mu.Lock()
		n := min(len(c.queue), c.max)
		batch := append([]*groupReq(nil), c.queue[:n]...)
		c.queue = c.queue[n:]
		c.mu.Unlock()
		if len(batch) > 0 {
			c.run(batch)
		}
		<-c.leaders
		if len(batch) == 0 {
			// Another leader took this request: it answers.
			<-r.done
			return r.err
		}
	}
}

// run applies a group and answers each of its requests.
func (c *committer) run(batch []*groupReq) {
	start := time.Now()
	c.commits.Add(1)
	c.writes.Add(int64(len(batch)))
	defer func() { c.busy.Add(int64(time.Since(start))) }()
	answer := func(r *groupReq, err error) {
		r.err = err
		close(r.done)
	}
	if len(batch) == 1 {
		r := batch[0]
		answer(r, c.db.retryTx(context.Background(), c.alone(r.fn)))
		return
	}
	// The group's transaction belongs to no one request, so no request's
	// cancellation may end it.
	ctx := context.Background()
	gen := c.db.config.gen.Load()
	sqltx, err := c.db.w.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			answer(r, c.db.mapErr(err))
		}
		return
	}
	tx := &Tx{tx: sqltx, db: c.db, grouped: true, configGen: gen}
	var ok, failed, refused []*groupReq
	broken := false
	for _, r := range batch {
		if broken {
			failed = append(failed, r)
			continue
		}
		sp := &savepointConn{tx: sqltx}
		tx.tx, tx.heldWritten, tx.heldFailed = sp, later{}, false
		err := runSafely(tx, r.fn)
		tx.tx = sqltx
		if sp.err != nil || tx.heldFailed {
			// The savepoint did not open, or the rows the group's
			// earlier writes left failed to be written (a duplicate key
			// of a retried award): not this write's fault, and they would
			// fail every write after it. All run again alone.
			broken = true
			failed = append(failed, r)
			continue
		}
		if err != nil {
			if sp.open {
				if _, rerr := sqltx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT g"); rerr != nil {
					broken = true
					failed = append(failed, r)
					continue
				}
			}
			// Its rows are dropped; the group's rows it wrote are
			// rolled back with it and wait again (later.go). So are the
			// person locks it took (lockSubject), which it forgets.
			tx.subjects = nil
			tx.heldWritten.add(&tx.held)
			tx.held, tx.heldWritten, tx.pending = tx.heldWritten, later{}, later{}
		}
		if sp.open {
			if _, rerr := sqltx.ExecContext(ctx, "RELEASE SAVEPOINT g"); rerr != nil {
				broken = true
				failed = append(failed, r)
				continue
			}
		}
		if err == nil {
			tx.held.add(&tx.pending)
			tx.pending, tx.heldWritten = later{}, later{}
		}
		if err != nil {
			if c.db.dialect.retryable(err) {
				// A deadlock victim rolled back alone: it runs again on
				// its own below.
				c.db.retried.Add(1)
				failed = append(failed, r)
				continue
			}
			// Refused, on what the group's earlier writes did: told
			// once they are committed, as if they had committed first
			// (a racing retry then finds its first try's sale).
			r.err = err
			refused = append(refused, r)
			continue
		}
		ok = append(ok, r)
	}
	if !broken {
		// The rows the group's writes left for the end (later.go).
		if err := tx.writeLater(ctx); err != nil {
			broken = true
			if c.db.dialect.retryable(err) {
				// The database aborted the group (a deadlock at its
				// end): each of its writes runs again.
				c.db.retried.Add(int64(len(ok) + len(refused)))
			}
		}
	}
	if broken {
		sqltx.Rollback()
		failed = append(append(ok, refused...), failed...)
		ok, refused = nil, nil
	} else {
		commitStart := time.Now()
		err := sqltx.Commit()
		c.committing.Add(int64(time.Since(commitStart)))
		if err != nil {
			failed = append(append(ok, refused...), failed...)
			ok, refused = nil, nil
		}
	}
	tx.ended()
	for _, r := range ok {
		answer(r, nil)
	}
	for _, r := range refused {
		answer(r, r.err)
	}
	// What the group could not commit runs alone, as without grouping.
	for _, r := range failed {
		c.commits.Add(1)
		c.writes.Add(1)
		answer(r, c.db.retryTx(context.Background(), c.alone(r.fn)))
	}
}

// alone is fn as the committer runs it in a transaction of its own.
func (c *committer) alone(fn func(tx *Tx) error) func(tx *Tx) error {
	if !c.defers {
		return fn
	}
	return func(tx *Tx) error {
		tx.defers = true
		return fn(tx)
	}
}

// savepointConn runs a grouped write's statements inside its savepoint,
// opened with the write's first statement: a write that sends none (a
// grouped award leaves all its rows for the group's end, later.go
// defersRows) costs no savepoint it would not use.
type savepointConn struct {
	tx   *sql.Tx
	open bool
	// err is a failure to open the savepoint: the group's transaction is
	// then in doubt, and the group runs again write by write.
	err error
}

func (s *savepointConn) begin(ctx context.Context) error {
	if !s.open && s.err == nil {
		if _, err := s.tx.ExecContext(ctx, "SAVEPOINT g"); err != nil {
			s.err = err
		} else {
			s.open = true
		}
	}
	return s.err
}

func (s *savepointConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	return s.tx.ExecContext(ctx, query, args...)
}

func (s *savepointConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	return s.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext cannot hand back the savepoint's failure in a Row; the
// group sees it in err, and the query itself fails in the transaction
// that the failed SAVEPOINT left aborted.
func (s *savepointConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s.begin(ctx)
	return s.tx.QueryRowContext(ctx, query, args...)
}

// runSafely turns a panic in one request into its own error, so the rest
// of the group is still answered.
func runSafely(tx *Tx, fn func(tx *Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqldb: panic in a grouped write: %v\n%s", p, debug.Stack())
		}
	}()
	return tx.finish(fn)
}
