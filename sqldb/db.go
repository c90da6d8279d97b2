// Package sqldb implements jifen's services on database/sql. One set of
// queries serves SQLite (modernc.org/sqlite, pure Go) and PostgreSQL (pgx);
// the differences are confined to dialect.go: opening, pragmas, migrations,
// placeholders and error codes.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"jifen"
	"jifen/secret"
)

// DB is an open database with the keys that its encrypted fields need.
type DB struct {
	// w takes every write; on SQLite it is a pool of one connection so
	// writers queue in Go instead of spinning on SQLITE_BUSY.
	w *sql.DB
	// r serves reads; on PostgreSQL it is the same pool as w.
	r       *sql.DB
	dialect dialect
	Keys    *secret.Keys
	// Now is the clock; tests replace it.
	Now func() time.Time
	// PasswordParams are argon2id's costs; tests lower them.
	PasswordParams secret.PasswordParams
	Log            *slog.Logger

	rebindMu sync.RWMutex
	rebinds  map[string]string
	flags    map[string]statementFlag // what each statement text touches

	// group shares commits between concurrent writes; nil writes alone.
	group *committer
	// awardGroup shares commits between awards that wait on no row, on
	// PostgreSQL (group.go).
	awardGroup *committer
	// accounts names accounts already seen (accounts.go).
	accounts accountNames
	// config keeps the rules and settings decisions read (cache.go).
	config configCache
	// awardIDs, txIDs and redemptionIDs are award, ledger transaction
	// and sale ids drawn ahead on PostgreSQL (idblock.go).
	awardIDs, txIDs, redemptionIDs idBlock
	// boards keeps the public boards that were slow to make (board.go).
	boards boardCache
	// closed ends what runs after a write (a move's repair, org.go) when
	// the database is closed.
	closed context.Context
	close  context.CancelFunc
	after  sync.WaitGroup
	// retried counts writes the database aborted (a deadlock, a
	// serialization failure) and ran again, alone or in a group: each is
	// a second of PostgreSQL's deadlock_timeout, so tests of lock order
	// count them.
	retried atomic.Int64
}

// Open connects to dsn ("sqlite:PATH" or "postgres://…") and migrates.
func Open(ctx context.Context, dsn string, keys *secret.Keys) (*DB, error) {
	db := newDB(keys)
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		db.dialect = sqliteDialect{}
		err = db.openSQLite(strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db.dialect = postgresDialect{}
		err = db.openPostgres(dsn)
	default:
		return nil, fmt.Errorf("sqldb: database %q: use sqlite:PATH or a postgres:// URL", dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := db.w.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: connect: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.dialect.name() == "sqlite" {
		db.group = newCommitter(db, 1, groupMax)
	} else {
		db.awardGroup = newCommitter(db, awardGroupLeaders, groupMax)
		db.awardGroup.defers = true
	}
	return db, nil
}

// newDB is a DB not yet connected.
func newDB(keys *secret.Keys) *DB {
	db := &DB{Keys: keys, Now: time.Now, PasswordParams: secret.DefaultPasswordParams,
		Log: slog.Default(), rebinds: map[string]string{}, awardIDs: idBlock{table: "awards"}, txIDs: idBlock{table: "ledger_transactions"},
		redemptionIDs: idBlock{table: "redemptions"}}
	db.closed, db.close = context.WithCancel(context.Background())
	return db
}

// Close closes both pools, once what runs after a write has stopped.
func (db *DB) Close() error {
	db.close()
	db.after.Wait()
	err := db.w.Close()
	if db.r != db.w {
		if e := db.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Dialect names the database: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.name() }

// Ping checks the database for /healthz.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// q rewrites a query written with ? placeholders for the dialect, once.
func (db *DB) q(query string) string {
	if db.dialect.name() != "postgres" {
		return query
	}
	db.rebindMu.RLock()
	out, ok := db.rebinds[query]
	db.rebindMu.RUnlock()
	if ok {
		return out
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(query[i])
	}
	out = b.String()
	db.rebindMu.Lock()
	db.rebinds[query] = out
	db.rebindMu.Unlock()
	return out
}

// conn is what a Tx runs its statements on: a database transaction, or
// for reads that need no transaction of their own, the pool (reads).
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a write transaction with the dialect's placeholder rewriting.
type Tx struct {
	tx conn
	db *DB
	// grouped is a transaction shared by a group of writes (group.go):
	// one request's cancellation must not end the others' statements.
	grouped bool
	// defers is an award group's write run alone, which leaves its rows
	// for its end as in a group (committer.defers).
	defers bool
	// pending is what this write left to write at its end (later.go);
	// in a group, held is what the group's earlier writes left, and
	// heldWritten what of it the current write's statements made
	// written.
	pending, held, heldWritten later
	// laterErr is a failure to write what waited before a queryRow,
	// which the write then returns.
	laterErr error
	// readOnly is a transaction on a read snapshot: what it reads is
	// committed.
	readOnly bool
	// configGen is the config cache's generation before the
	// transaction's first read; wroteConfig marks a write to a table the
	// cache keeps (cache.go). cacheReads lets a write transaction decide
	// on the cache, as a read-only one does, until it writes such a table.
	configGen   uint64
	wroteConfig bool
	cacheReads  bool
	// openedAccount marks a transaction that opened an account: an
	// account it reads may then be its own, not yet committed, and is not
	// kept in memory (accounts.go).
	openedAccount bool
	// locked are the targets a list's write found and locked first
	// (lockBeneficiaries): its lines find them here, each as locked,
	// rather than reading them again.
	locked map[beneficiary]target
	// heldFailed marks a failure to write the group's earlier writes'
	// rows (later.go), which is no fault of the current write.
	heldFailed bool
	// drawn are the last ids nextID handed out, by table (SQLite).
	drawn map[string]drawnID
	// stripesFirst takes a yearly budget by locking all its stripes, in
	// order, before looking at any (takeFromBudget).
	stripesFirst bool
	// subjects are the people whose caps or limits this transaction
	// counts under their person row's lock (lockSubject).
	subjects map[int64]bool
}

// readOnlyTx wraps a connection or transaction that reads only. The
// cache's generation is taken first, before any read fixes the snapshot.
func (db *DB) readOnlyTx(c conn) *Tx {
	return &Tx{tx: c, db: db, readOnly: true, configGen: db.config.gen.Load()}
}

// ended is called when a write transaction has ended, committed or not,
// before anyone is told: what it changed must not be served from memory.
func (t *Tx) ended() {
	if t.wroteConfig {
		t.db.config.changed()
	}
}

// noteWrite marks the transaction when a statement writes a table of the
// config cache.
func (t *Tx) noteWrite(query string) {
	if !t.wroteConfig && !t.readOnly && t.db.statementFlags(query)&flagWritesConfig != 0 {
		t.wroteConfig = true
	}
}

// finish runs fn and writes what it left for the end of the
// transaction; in a group that is the group's end (group.go).
func (t *Tx) finish(fn func(tx *Tx) error) error {
	t.pending, t.laterErr = later{}, nil
	err := fn(t)
	if t.laterErr != nil {
		// The cause comes first: after a failed write of what waited,
		// PostgreSQL refuses every statement (25P02), and the write's
		// own error would hide a deadlock that a retry resolves.
		return t.laterErr
	}
	if err != nil {
		return err
	}
	if t.grouped {
		return nil
	}
	return t.writeLater(context.Background())
}

func (t *Tx) ctx(ctx context.Context) context.Context {
	if t.grouped {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.beforeStatement(ctx, query); err != nil {
		return nil, err
	}
	return t.rawExec(ctx, query, args...)
}

// rawExec is exec without writing what waits first (later.go).
func (t *Tx) rawExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.noteWrite(query)
	res, err := t.tx.ExecContext(t.ctx(ctx), t.db.q(query), args...)
	return res, t.db.mapErr(err)
}

// queryRowAround is queryRow without writing what waits first (later.go),
// for a sale's idempotency lookup in a group (SQLite), which looks among
// the group's waiting sales in memory first (redeem). Such a statement
// must add no rows: it skips the marking of nextID's counts as stale.
func (t *Tx) queryRowAround(ctx context.Context, query string, args ...any) *sql.Row {
	t.noteWrite(query)
	return t.tx.QueryRowContext(t.ctx(ctx), t.db.q(query), args...)
}

// queryAround is query without writing what waits first, as
// queryRowAround.
func (t *Tx) queryAround(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.noteWrite(query)
	return t.tx.QueryContext(t.ctx(ctx), t.db.q(query), args...)
}

func (t *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if err := t.beforeStatement(ctx, query); err != nil {
		// A Row cannot carry the error: the write fails at its end.
		t.laterErr = err
	}
	t.noteWrite(query)
	return t.tx.QueryRowContext(t.ctx(ctx), t.db.q(query), args...)
}

func (t *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.beforeStatement(ctx, query); err != nil {
		return nil, err
	}
	t.noteWrite(query)
	return t.tx.QueryContext(t.ctx(ctx), t.db.q(query), args...)
}

// insert runs an INSERT … RETURNING id.
func (t *Tx) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := t.queryRow(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, t.db.mapErr(err)
}

// inTx runs fn in one write transaction: every write of jifen is atomic.
// Writes that arrive together share a commit (group.go), each still all
// or nothing on its own. A transaction the database aborted to break a
// deadlock runs again, a few times: fn only touches the database, so
// running it again is safe.
func (db *DB) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.group != nil {
		return db.group.do(ctx, fn)
	}
	return db.retryTx(ctx, fn)
}

func (db *DB) retryTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	stripesFirst := false
	for try := 0; try < 4; try++ {
		err = db.tryTx(ctx, fn, stripesFirst)
		if errors.Is(err, errStripeShort) {
			stripesFirst = true // again, taking the budget the slow way (takeFromBudget)
			continue
		}
		if err == nil || !db.dialect.retryable(err) {
			return err
		}
		db.retried.Add(1)
	}
	return err
}

func (db *DB) tryTx(ctx context.Context, fn func(tx *Tx) error, stripesFirst bool) error {
	gen := db.config.gen.Load()
	sqltx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return db.mapErr(err)
	}
	tx := &Tx{tx: sqltx, db: db, configGen: gen, stripesFirst: stripesFirst}
	defer tx.ended()
	if err := tx.finish(fn); err != nil {
		sqltx.Rollback()
		return err
	}
	return db.mapErr(sqltx.Commit())
}

// snapshot runs fn in a read-only transaction that sees one moment of the
// database throughout: REPEATABLE READ on PostgreSQL; on SQLite in WAL mode
// every read transaction already does.
func (db *DB) snapshot(ctx context.Context, fn func(tx *Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect.name() == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	t := db.readOnlyTx(nil)
	sqltx, err := db.r.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer sqltx.Rollback()
	t.tx = sqltx
	return fn(t)
}

// reads runs fn's reads of committed data, each statement on its own
// snapshot (as READ COMMITTED gives inside a transaction). On PostgreSQL
// that saves the round trips of BEGIN and COMMIT; on SQLite, where those
// cost nothing, it is readTx.
func (db *DB) reads(ctx context.Context, fn func(tx *Tx) error) error {
	if db.dialect.name() != "postgres" {
		return db.readTx(ctx, fn)
	}
	return fn(db.readOnlyTx(db.r))
}

// readTx runs fn in a read-only transaction on the read pool: a
// consistent snapshot that never waits for SQLite's writer.
func (db *DB) readTx(ctx context.Context, fn func(tx *Tx) error) error {
	t := db.readOnlyTx(nil)
	sqltx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer sqltx.Rollback()
	t.tx = sqltx
	return fn(t)
}

// marks is n placeholders for a statement's IN list or VALUES row:
// "?, ?, ?".
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// idList is the placeholders and the arguments of an IN list of ids.
func idList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return marks(len(ids)), args
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.r.QueryRowContext(ctx, db.q(query), args...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.r.QueryContext(ctx, db.q(query), args...)
}

// mapErr turns driver errors into domain errors where the cause is the
// caller's (a duplicate), and leaves the rest for the internal-error path.
func (db *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var je *jifen.Error
	if errors.As(err, &je) {
		return err
	}
	if db.dialect.badText(err) {
		return &jifen.Error{Kind: jifen.KindInvalid, Code: "invalid", Zh: "内容含有无法保存的字符", En: "The text holds characters that cannot be stored", Err: err}
	}
	if c := db.dialect.uniqueViolation(err); c != "" {
		switch {
		case strings.Contains(c, "phone"):
			return &jifen.Error{Kind: jifen.KindConflict, Code: "phone_taken", Field: "phone", Zh: "该手机号已被登记", En: "This phone number is already registered", Err: err}
		case strings.Contains(c, "id_hash"):
			return &jifen.Error{Kind: jifen.KindConflict, Code: "id_number_taken", Field: "id_number", Zh: "该身份证号已被登记", En: "This ID number is already registered", Err: err}
		// The services look first; these meet two requests at once.
		case strings.Contains(c, "correction_requests_pending"), strings.Contains(c, "correction_requests.record_id"):
			return &jifen.Error{Kind: jifen.KindConflict, Code: "correction_pending", Zh: "这条记录已有待处理的更正申请", En: "A correction request for this record is already waiting", Err: err}
		case strings.Contains(c, "transfers_pending"), strings.Contains(c, "transfers.person_id"):
			return &jifen.Error{Kind: jifen.KindConflict, Code: "transfer_pending", Zh: "已有一个待审批的转接申请", En: "A transfer is already waiting for approval", Err: err}
		}
		return &jifen.Error{Kind: jifen.KindConflict, Code: "duplicate", Zh: "记录已存在", En: "It already exists", Err: err}
	}
	return err
}

// now returns the clock in UTC with microseconds, which both databases keep exactly.
func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// randomSuffix makes a unique placeholder value.
func randomSuffix() string { return secret.Token(12) }
