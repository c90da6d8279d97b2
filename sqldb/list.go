package sqldb

import (
	"context"
	"database/sql"
)

// pageFrom is the FROM item for a page of a subtree's rows in the order of
// the table's id (index "") or of an index (newest first, or oldest):
// "table alias", or on SQLite, when walking the whole table in that order
// and skipping the rows outside the subtree finds the page sooner than
// reading the subtree by its path index and sorting all of it, the same
// table held to that walk (NOT INDEXED walks the id, INDEXED BY the
// index). The walk reads about (offset+limit)·rows/total rows, the sort
// total; total is the list's count, already taken.
//
// SQLite only: with no statistics of a path range its planner always took
// the path index, and a county's list sorted millions of rows for every
// page (at 1 M people the first page of a county's awards took 2.3 s,
// its records 13–21 s). PostgreSQL weighs the same from its statistics.
func (db *DB) pageFrom(ctx context.Context, table, alias, index string, total, offset, limit int) string {
	from := table + " " + alias
	if db.dialect.name() != "sqlite" || total == 0 {
		return from
	}
	// The largest id stands for the table's rows: one step down its key.
	var rows sql.NullInt64
	if err := db.queryRow(ctx, "SELECT MAX(id) FROM "+table).Scan(&rows); err != nil || !rows.Valid {
		return from
	}
	if float64(offset+limit)*float64(rows.Int64) >= float64(total)*float64(total) {
		return from
	}
	if index == "" {
		return from + " NOT INDEXED"
	}
	return from + " INDEXED BY " + index
}
