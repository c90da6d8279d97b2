package sqldb

import (
	"context"
	"database/sql"
)

// DemoQueryRowForTest reads one row for the generated-county test.
func (db *DB) DemoQueryRowForTest(query string) *sql.Row {
	return db.queryRow(context.Background(), query)
}

// DemoQueryForTest reads rows for the generated-county test.
func (db *DB) DemoQueryForTest(query string) (*sql.Rows, error) {
	return db.query(context.Background(), query)
}
