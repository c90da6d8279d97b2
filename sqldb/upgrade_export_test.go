package sqldb

import (
	"context"
	"database/sql"
	"io/fs"
	"sort"
	"strings"

	"jifen/secret"
)

// This file lends the upgrade test (upgrade_test.go) what it needs to stop
// the schema part-way: opening without migrating, applying migrations up
// to one version, and raw SQL to write rows as an older jifen would have.

// OpenUnmigrated connects to dsn like Open but applies no migration.
func OpenUnmigrated(ctx context.Context, dsn string, keys *secret.Keys) (*DB, error) {
	db := newDB(keys)
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		db.dialect = sqliteDialect{}
		err = db.openSQLite(strings.TrimPrefix(dsn, "sqlite:"))
	default:
		db.dialect = postgresDialect{}
		err = db.openPostgres(dsn)
	}
	if err != nil {
		return nil, err
	}
	return db, db.w.PingContext(ctx)
}

// MigrationFiles lists the embedded migrations of db's dialect, in order.
func (db *DB) MigrationFiles() ([]string, error) {
	entries, err := fs.ReadDir(migrations, "migrations/"+db.dialect.name())
	if err != nil {
		return nil, err
	}
	var versions []string
	for _, e := range entries {
		if v, ok := strings.CutSuffix(e.Name(), ".sql"); ok {
			versions = append(versions, v)
		}
	}
	sort.Strings(versions)
	return versions, nil
}

// MigrateOne applies one embedded migration the way Migrate does: its file
// in one transaction with its row in schema_migrations.
func (db *DB) MigrateOne(ctx context.Context, version string) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil {
		return err
	}
	return db.applyMigration(ctx, db.w, version)
}

// ExecForTest runs a statement written with ? placeholders.
func (db *DB) ExecForTest(ctx context.Context, query string, args ...any) error {
	_, err := db.w.ExecContext(ctx, db.q(query), args...)
	return err
}

// QueryForTest runs a query written with ? placeholders on the writer, so
// INSERT … RETURNING works too; close the rows before the next call (the
// SQLite writer is one connection).
func (db *DB) QueryForTest(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.w.QueryContext(ctx, db.q(query), args...)
}
