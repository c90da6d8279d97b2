package sqldb

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"jifen"
)

// Snapshot describes a database at one moment: what a backup holds and
// what a restore must find again. It is read inside the same snapshot the
// copy is taken from, so its figures are those of the copy exactly.
type Snapshot struct {
	Dialect string `json:"dialect"`
	// Schema is the PostgreSQL schema the tables lived in.
	Schema     string   `json:"pg_schema,omitempty"`
	Migrations []string `json:"migrations"`
	// Tables counts the rows of every table.
	Tables      map[string]int64 `json:"tables"`
	BlockNumber int64            `json:"latest_block_number"`
	BlockHash   string           `json:"latest_block_hash"`
	// Photos counts the pictures kept in the database (there are none on
	// disk): claim evidence, item photos and org seals.
	Photos map[string]int64 `json:"photos"`
}

// SchemaVersion is the last migration applied.
func (s *Snapshot) SchemaVersion() string {
	if len(s.Migrations) == 0 {
		return ""
	}
	return s.Migrations[len(s.Migrations)-1]
}

// catalogQuerier is what describe needs: a transaction or a pool.
type catalogQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Describe reads the database's snapshot figures now, for comparing a
// restored database with its backup's manifest.
func (db *DB) Describe(ctx context.Context) (*Snapshot, error) {
	var s *Snapshot
	err := db.snapshot(ctx, func(tx *Tx) error {
		var err error
		s, err = describe(ctx, tx.tx, db.dialect.name())
		return err
	})
	return s, err
}

// tableNames lists the tables of the database (PostgreSQL: of the current schema).
func tableNames(ctx context.Context, q catalogQuerier, dialect string) ([]string, error) {
	query := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	if dialect == "postgres" {
		query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, rows.Err()
}

func describe(ctx context.Context, q catalogQuerier, dialect string) (*Snapshot, error) {
	s := &Snapshot{Dialect: dialect, Tables: map[string]int64{}, Photos: map[string]int64{}}
	if dialect == "postgres" {
		if err := q.QueryRowContext(ctx, "SELECT current_schema()").Scan(&s.Schema); err != nil {
			return nil, err
		}
	}
	names, err := tableNames(ctx, q, dialect)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		var c int64
		// Table names come from the catalogue, not from input.
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+n+`"`).Scan(&c); err != nil {
			return nil, err
		}
		s.Tables[n] = c
	}
	if _, ok := s.Tables["schema_migrations"]; ok {
		rows, err := q.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, err
			}
			s.Migrations = append(s.Migrations, v)
		}
		rows.Close()
	}
	if _, ok := s.Tables["blocks"]; ok {
		err := q.QueryRowContext(ctx, "SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1").Scan(&s.BlockNumber, &s.BlockHash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	photos := map[string]string{
		"claim_evidence": "SELECT COUNT(*) FROM award_evidence",
		"item_photos":    "SELECT COUNT(*) FROM items WHERE photo IS NOT NULL",
		"org_seals":      "SELECT COUNT(*) FROM orgs WHERE seal IS NOT NULL",
	}
	tableOf := map[string]string{"claim_evidence": "award_evidence", "item_photos": "items", "org_seals": "orgs"}
	for k, query := range photos {
		if _, ok := s.Tables[tableOf[k]]; !ok {
			continue
		}
		var c int64
		if err := q.QueryRowContext(ctx, query).Scan(&c); err != nil {
			return nil, err
		}
		s.Photos[k] = c
	}
	return s, nil
}

// Backup writes a consistent copy of the running database into dir and
// returns the file's path with the figures of the copy. Writers carry on
// meanwhile: SQLite copies with VACUUM INTO inside one read transaction;
// PostgreSQL runs pg_dump on a snapshot exported from a REPEATABLE READ
// transaction, the same one the figures are read in. dsn is the one the
// database was opened with; pg_dump needs it.
func (db *DB) Backup(ctx context.Context, dsn, dir string) (string, *Snapshot, error) {
	if db.dialect.name() == "postgres" {
		return db.backupPostgres(ctx, dsn, dir)
	}
	return db.backupSQLite(ctx, dir)
}

func (db *DB) backupSQLite(ctx context.Context, dir string) (string, *Snapshot, error) {
	path := filepath.Join(dir, "jifen.db")
	// The read pool is query_only, which refuses VACUUM INTO, so the writer
	// connection runs it. It holds only a read snapshot of the WAL: writers
	// of other processes (the server) go on; this process's own wait.
	if _, err := db.w.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return "", nil, fmt.Errorf("sqldb: backup: %w", err)
	}
	cp, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return "", nil, err
	}
	defer cp.Close()
	// The copy carries the WAL flag of its source; a single file travels better.
	if _, err := cp.ExecContext(ctx, "PRAGMA journal_mode=DELETE"); err != nil {
		return "", nil, err
	}
	var ok string
	if err := cp.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return "", nil, fmt.Errorf("sqldb: backup copy fails its integrity check: %s %v", ok, err)
	}
	s, err := describe(ctx, cp, "sqlite")
	return path, s, err
}

func (db *DB) backupPostgres(ctx context.Context, dsn, dir string) (string, *Snapshot, error) {
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		return "", nil, errors.New("sqldb: backup: pg_dump is not on PATH; install the PostgreSQL client (apt-get install postgresql-client) of the server's major version or newer")
	}
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return "", nil, err
	}
	defer tx.Rollback()
	var snapID string
	if err := tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&snapID); err != nil {
		return "", nil, err
	}
	s, err := describe(ctx, tx, "postgres")
	if err != nil {
		return "", nil, err
	}
	target, env, err := libpqTarget(dsn)
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "jifen.dump")
	// The snapshot stays valid while tx is open: pg_dump sees exactly what
	// describe counted.
	cmd := exec.CommandContext(ctx, pgDump, "--format=custom", "--no-owner", "--no-privileges",
		"--snapshot="+snapID, "--schema="+s.Schema, "--file="+path, "--dbname="+target)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("sqldb: pg_dump: %v: %s", err, bytes.TrimSpace(out))
	}
	return path, s, tx.Commit()
}

// libpqTarget turns a pgx URL into one pg_dump and pg_restore accept: the
// schema (search_path, a pgx run-time parameter libpq refuses in a URL) is
// taken out, and so is the password, which goes into PGPASSWORD rather
// than the process list.
func libpqTarget(dsn string) (string, []string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("sqldb: database URL: %w", err)
	}
	var env []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String(), env, nil
}

// schemaOf is the schema a pgx URL's tables live in.
func schemaOf(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "public"
	}
	first, _, _ := strings.Cut(u.Query().Get("search_path"), ",")
	if first = strings.Trim(strings.TrimSpace(first), `"`); first != "" {
		return first
	}
	return "public"
}

func errNotEmpty(where string, tables []string) error {
	ex := strings.Join(tables[:min(3, len(tables))], ", ")
	return jifen.Errorf(jifen.KindConflict, "not_empty", "",
		fmt.Sprintf("恢复只能写入空数据库：%s 已有 %d 张表（%s），请新建一个数据库或换一个文件", where, len(tables), ex),
		fmt.Sprintf("restore needs an empty database: %s already has %d tables (%s); create a new database or choose a new file", where, len(tables), ex))
}

// Restore loads a backup's database file (the SQLite copy or the pg_dump
// archive) into dsn, which must be empty: a restore never merges. The
// result is not migrated; opening it with Open brings an older backup up
// to date. srcSchema is the PostgreSQL schema the backup was taken from;
// its tables end up in the schema dsn names (search_path, else public).
func Restore(ctx context.Context, dsn, file, srcSchema string) error {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return restoreSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), file)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return restorePostgres(ctx, dsn, file, srcSchema)
	}
	return fmt.Errorf("sqldb: database %q: use sqlite:PATH or a postgres:// URL", dsn)
}

func restoreSQLite(ctx context.Context, path, file string) error {
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if _, err := os.Stat(path); err == nil {
		cur, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			return err
		}
		names, err := tableNames(ctx, cur, "sqlite")
		cur.Close()
		if err != nil {
			return fmt.Errorf("sqldb: restore: %s is not a database jifen can read: %w", path, err)
		}
		if len(names) > 0 {
			return errNotEmpty(path, names)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	// Copy beside the target and rename, so a crash leaves either nothing
	// or the whole file, never half a database under the real name.
	tmp := path + ".restoring"
	if err := copyFile(file, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
	return os.Rename(tmp, path)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func restorePostgres(ctx context.Context, dsn, file, srcSchema string) error {
	pgRestore, err := exec.LookPath("pg_restore")
	if err != nil {
		return errors.New("sqldb: restore: pg_restore is not on PATH; install the PostgreSQL client (apt-get install postgresql-client)")
	}
	if srcSchema == "" {
		return errors.New("sqldb: restore: the backup does not name its PostgreSQL schema")
	}
	target, env, err := libpqTarget(dsn)
	if err != nil {
		return err
	}
	schema := schemaOf(dsn)
	conn, err := sql.Open("pgx", target)
	if err != nil {
		return err
	}
	defer conn.Close()
	inSchema := func(name string) ([]string, error) {
		rows, err := conn.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", name)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, rows.Err()
	}
	names, err := inSchema(schema)
	if err != nil {
		return fmt.Errorf("sqldb: restore: connect: %w", err)
	}
	if len(names) > 0 {
		return errNotEmpty("schema "+schema, names)
	}
	if schema != srcSchema {
		// The dump names its schema in every statement, so it is restored
		// under its own name and renamed; that name must be free here.
		if names, err := inSchema(srcSchema); err != nil {
			return err
		} else if len(names) > 0 {
			return errNotEmpty("schema "+srcSchema+" (the backup's own, restored first and then renamed to "+schema+")", names)
		}
	}
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(srcSchema)); err != nil {
		return err
	}
	// The schema exists now (public always does), so its own entry in the
	// archive is left out; pg_restore would fail on it.
	list, err := exec.CommandContext(ctx, pgRestore, "--list", file).Output()
	if err != nil {
		return fmt.Errorf("sqldb: pg_restore --list: %w", err)
	}
	var keep bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && (f[3] == "SCHEMA" || (f[3] == "COMMENT" && len(f) >= 6 && f[5] == "SCHEMA")) {
			continue
		}
		keep.WriteString(sc.Text() + "\n")
	}
	listFile := file + ".list"
	if err := os.WriteFile(listFile, keep.Bytes(), 0o600); err != nil {
		return err
	}
	defer os.Remove(listFile)
	cmd := exec.CommandContext(ctx, pgRestore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
		"--use-list="+listFile, "--dbname="+target, file)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sqldb: pg_restore: %v: %s", err, bytes.TrimSpace(out))
	}
	if schema == srcSchema {
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Without CASCADE: the drop fails rather than lose anything that was there.
	if _, err := tx.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+quoteIdent(schema)); err != nil {
		return fmt.Errorf("sqldb: restore: make room for schema %s: %w", schema, err)
	}
	if _, err := tx.ExecContext(ctx, "ALTER SCHEMA "+quoteIdent(srcSchema)+" RENAME TO "+quoteIdent(schema)); err != nil {
		return err
	}
	return tx.Commit()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
