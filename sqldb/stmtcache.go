package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync/atomic"
)

// SQLite compiles every statement it runs, and modernc's connection
// compiles afresh for each Exec and Query: parsing and planning were a
// third of an award's CPU. stmtCache wraps the driver so each connection
// keeps its compiled statements by query text and runs them again.
// database/sql prepares, executes and closes when a connection offers no
// ExecContext of its own, so the wrapper leaves those out; a statement
// "closed" goes back to the cache, and one still busy (rows open while
// the same query runs again) is compiled afresh and finalized after.
//
// PostgreSQL needs none of this: pgx caches prepared statements per
// connection itself.

// stmtCacheLimit bounds a connection's cache: queries built with a
// variable number of placeholders beyond it are compiled each time.
const stmtCacheLimit = 1024

type stmtCacheConnector struct {
	dsn string
	d   driver.Driver
}

func (c stmtCacheConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	if _, ok := conn.(driver.ConnPrepareContext); !ok {
		return nil, errors.New("sqldb: sqlite driver cannot prepare with a context")
	}
	return &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.d }

// openCached opens a pool whose connections keep their statements.
func openCached(driverName, dsn string) (*sql.DB, error) {
	probe, err := sql.Open(driverName, "")
	if err != nil {
		return nil, err
	}
	d := probe.Driver()
	probe.Close()
	return sql.OpenDB(stmtCacheConnector{dsn: dsn, d: d}), nil
}

// cachingConn is used by one goroutine at a time (database/sql's rule for
// a driver connection), so the map needs no lock.
type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	driver.Stmt
	busy bool
}

// Close puts the statement back for the next use.
func (s *cachedStmt) Close() error {
	s.busy = false
	return nil
}

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// statementSeen, when set (by a test), hears the text of every statement
// SQLite is asked to run (plan_test.go checks their query plans).
var statementSeen atomic.Pointer[func(query string)]

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if seen := statementSeen.Load(); seen != nil {
		(*seen)(query)
	}
	if s, ok := c.stmts[query]; ok {
		if !s.busy {
			s.busy = true
			return s, nil
		}
		return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil || len(c.stmts) >= stmtCacheLimit {
		return st, err
	}
	if _, ok := st.(driver.StmtExecContext); !ok {
		return st, nil
	}
	if _, ok := st.(driver.StmtQueryContext); !ok {
		return st, nil
	}
	s := &cachedStmt{Stmt: st, busy: true}
	c.stmts[query] = s
	return s, nil
}

func (c *cachingConn) Close() error {
	for _, s := range c.stmts {
		s.Stmt.Close()
	}
	c.stmts = nil
	return c.Conn.Close()
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
