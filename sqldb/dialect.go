package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds what differs between the two databases. Queries do not:
// they are written once, with ? placeholders.
type dialect interface {
	name() string
	// uniqueViolation returns the violated constraint's text, or "".
	uniqueViolation(err error) string
	// retryable reports an error that running the whole transaction again
	// may clear: a deadlock the database broke or a serialization failure.
	retryable(err error) bool
	// badText: the database refused text (a NUL, invalid UTF-8).
	badText(err error) bool
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) uniqueViolation(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return se.Error()
	}
	return ""
}

// SQLite has one writer connection, so its transactions never deadlock.
func (sqliteDialect) retryable(error) bool { return false }

func (sqliteDialect) badText(error) bool { return false }

type postgresDialect struct{}

func (postgresDialect) retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) badText(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05")
}

func (postgresDialect) uniqueViolation(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		// The constraint's name only: the detail holds the values, and a
		// value (an idempotency key) must not decide which error it is.
		return pe.ConstraintName
	}
	return ""
}

// openSQLite opens one writer connection and a pool of readers. The
// pragmas ride on the DSN so every new connection gets them; busy_timeout
// comes before WAL so the switch to WAL itself waits instead of failing.
func (db *DB) openSQLite(path string) error {
	if path == "" {
		return errors.New("sqldb: sqlite: empty path")
	}
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	}
	base := "file:" + strings.TrimPrefix(path, "file:")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	pragmas := sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)"
	// The writer's commit that finds the write-ahead log over
	// wal_autocheckpoint pages copies what is not yet copied into the
	// database file, while every other write waits. At SQLite's 1,000
	// pages that was a seventh of the writer's time under the award load;
	// at 10,000 (40 MiB) awards over HTTP went from 6,371–6,611/s to
	// 7,362–7,547/s (run J), but after a busy stretch that one commit
	// copied thousands of pages and stalled every write 100–400 ms. The
	// checkpointer beside the writer (checkpoint.go) now copies the log
	// as it grows, so the writer's checkpoint finds little left; the
	// writer's is kept because only a checkpoint in a commit, with no
	// frame added meanwhile, lets the log start over (the checkpointer
	// alone let it grow without end under a steady load, run K).
	w, err := openCached("sqlite", base+pragmas+"&_pragma=wal_autocheckpoint(10000)&_txlock=immediate")
	if err != nil {
		return err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := openCached("sqlite", base+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return err
	}
	// Idle readers stay open: each keeps its compiled statements.
	r.SetMaxOpenConns(max(4, runtime.NumCPU()*2))
	r.SetMaxIdleConns(max(4, runtime.NumCPU()*2))
	if err := db.checkpoints(base + pragmas); err != nil {
		w.Close()
		r.Close()
		return err
	}
	db.w, db.r = w, r
	return nil
}

func (db *DB) openPostgres(dsn string) error {
	p, err := openPostgresPool(dsn)
	if err != nil {
		return err
	}
	p.SetMaxOpenConns(32)
	p.SetMaxIdleConns(32)
	// After a burst the pool gives its spare connections back to the
	// server, where a second instance or a backup may need them.
	p.SetConnMaxIdleTime(time.Minute)
	db.w, db.r = p, p
	return nil
}

// openPostgresPool opens a pool whose new connections wait out a full
// server. PostgreSQL refuses a connection past max_connections (or a
// role's or database's limit) with SQLSTATE 53300, and database/sql
// passes that straight to the request as a 500. Connections come free
// again within milliseconds as other pools' queries end (a second
// instance, a backup, tests of other schemas on one server), so a new
// connection tries again for a while before it gives up.
func openPostgresPool(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(patientConnector{stdlib.GetConnector(*cfg), connectPatience}), nil
}

// connectPatience is how long a new connection waits for the server to
// have room: longer than a burst of other pools' queries, shorter than
// a person waits for a page.
const connectPatience = 10 * time.Second

type patientConnector struct {
	driver.Connector
	patience time.Duration
}

func (c patientConnector) Connect(ctx context.Context) (driver.Conn, error) {
	giveUp := time.Now().Add(c.patience)
	pause := 10 * time.Millisecond
	for {
		conn, err := c.Connector.Connect(ctx)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "53300" || time.Now().Add(pause).After(giveUp) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

//go:embed migrations
var migrations embed.FS

// Migrate applies the embedded migrations of the dialect that are not yet
// recorded, each in its own transaction. Several instances may start at
// once: on PostgreSQL an advisory lock lets one migrate while the others wait.
func (db *DB) Migrate(ctx context.Context) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if db.dialect.name() == "postgres" {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7351001)"); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7351001)")
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil {
		return fmt.Errorf("sqldb: migrations table: %w", err)
	}
	dir := "migrations/" + db.dialect.name()
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		var n int
		if err := conn.QueryRowContext(ctx, db.q("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if err := db.applyMigration(ctx, conn, version); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs one embedded migration in one transaction with its
// row in schema_migrations, and fills what it adds from what is there.
func (db *DB) applyMigration(ctx context.Context, conn interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, version string) error {
	body, err := migrations.ReadFile("migrations/" + db.dialect.name() + "/" + version + ".sql")
	if err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("sqldb: migration %s: %w", version, err)
	}
	// Derived tables a migration adds are filled from what is there.
	if version == "0006_reports" {
		for _, q := range reportSQL(db.dialect, true) {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("sqldb: migration %s: %w", version, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, db.q("INSERT INTO schema_migrations (version) VALUES (?)"), version); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: migration %s: %w", version, err)
	}
	return nil
}

// Migrations lists the versions applied, for `jifen migrate`.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
