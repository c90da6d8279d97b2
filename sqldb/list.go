package sqldb

import (
	"context"
	"database/sql"
	"fmt"
)

// listSpan is what a list's count found: how many rows, and the lowest
// and highest id among them when pageFrom may use them (else 0 and 0).
type listSpan struct{ total, lo, hi int64 }

// countList counts a list's rows, FROM table alias WHERE where, listed in
// the order of index ("" for the id; see pageFrom). In the id's order it
// also finds their lowest and highest id:
//   - on SQLite with the count, from the same index entries (every SQLite
//     index holds the rowid);
//   - on PostgreSQL, whose path indexes do not hold the id, by a second
//     statement that reads the subtree's rows, and only for a subtree
//     holding less than a tenth of the table (a town, a village):
//     PostgreSQL pages such a list by walking the table's key from the
//     newest and skipping the rest, expecting the subtree's rows spread
//     through it, and for a town whose rows were all old (a village that
//     stopped awarding last year, one imported in the county's first
//     week) it read every newer row first (2.7 s for a town's 99 k of
//     2.5 M awards; the two ids cost 0.1 s). For a bigger subtree,
//     reading its rows costs more than the longest walk saves.
func (db *DB) countList(ctx context.Context, table, alias, index, where string, args []any) (listSpan, error) {
	var s listSpan
	if db.dialect.name() == "sqlite" && index == "" {
		err := db.queryRow(ctx, fmt.Sprintf("SELECT COUNT(*), COALESCE(MIN(%[1]s.id), 0), COALESCE(MAX(%[1]s.id), 0) FROM %[2]s %[1]s WHERE %[3]s", alias, table, where),
			args...).Scan(&s.total, &s.lo, &s.hi)
		return s, err
	}
	if err := db.queryRow(ctx, "SELECT COUNT(*) FROM "+table+" "+alias+" WHERE "+where, args...).Scan(&s.total); err != nil {
		return s, err
	}
	if db.dialect.name() != "postgres" || index != "" || s.total == 0 {
		return s, nil
	}
	var rows sql.NullInt64
	if err := db.queryRow(ctx, "SELECT MAX(id) FROM "+table).Scan(&rows); err != nil || !rows.Valid || 10*s.total >= rows.Int64 {
		return s, err
	}
	// "+ 0": by the key, MIN and MAX would walk it from each end as the
	// list would, the very walk this is to spare.
	err := db.queryRow(ctx, fmt.Sprintf("SELECT COALESCE(MIN(%[1]s.id + 0), 0), COALESCE(MAX(%[1]s.id + 0), 0) FROM %[2]s %[1]s WHERE %[3]s", alias, table, where),
		args...).Scan(&s.lo, &s.hi)
	return s, err
}

// listPage counts a list of a subtree's rows (countList) and returns the
// FROM item and the bound for its page (pageFrom): what every list in the
// order of its id or of an index asks, in that order.
func (db *DB) listPage(ctx context.Context, table, alias, index, where string, args []any, offset, limit int) (total int, from, bound string, err error) {
	span, err := db.countList(ctx, table, alias, index, where, args)
	if err != nil {
		return 0, "", "", err
	}
	from, bound = db.pageFrom(ctx, table, alias, index, span, offset, limit)
	return int(span.total), from, bound, nil
}

// pageFrom is the FROM item for a page of a subtree's rows in the order of
// the table's id (index "") or of an index (newest first, or oldest):
// "table alias", or on SQLite, when walking the table in that order and
// skipping the rows outside the subtree finds the page sooner than
// reading the subtree by its path index and sorting all of it, the same
// table held to that walk (NOT INDEXED walks the id, INDEXED BY the
// index). bound, when not empty, is a condition to add to the page's
// WHERE: in the id's order the walk is held to the ids between the
// subtree's lowest and highest (span), which it reaches by the table's
// key at once, so a subtree whose rows are all old (a town imported in
// the county's first week) is not found after the whole table's newer
// rows. The walk reads about (offset+limit)·rows/total rows, where rows
// are the table's rows between the ends it walks, and the sort reads
// total.
//
// On SQLite, with no statistics of a path range, its planner always took
// the path index, and a county's list sorted millions of rows for every
// page (at 1 M people the first page of a county's awards took 2.3 s,
// its records 13–21 s). PostgreSQL weighs the same from its statistics,
// and is given only the bound (countList says when).
func (db *DB) pageFrom(ctx context.Context, table, alias, index string, span listSpan, offset, limit int) (from, bound string) {
	from = table + " " + alias
	if span.total == 0 {
		return from, ""
	}
	if db.dialect.name() != "sqlite" {
		// PostgreSQL chooses the walk or the sort itself; held to the
		// subtree's ids, its walk starts among them.
		if index == "" && span.hi > 0 {
			return from, fmt.Sprintf(" AND %s.id BETWEEN %d AND %d", alias, span.lo, span.hi)
		}
		return from, ""
	}
	rows := span.hi - span.lo + 1
	if index != "" {
		// In an index's order the ends are not known: the whole table,
		// as its largest id stands for its rows (one step down its key).
		var max sql.NullInt64
		if err := db.queryRow(ctx, "SELECT MAX(id) FROM "+table).Scan(&max); err != nil || !max.Valid {
			return from, ""
		}
		rows = max.Int64
	}
	if float64(offset+limit)*float64(rows) >= float64(span.total)*float64(span.total) {
		return from, ""
	}
	if index != "" {
		return from + " INDEXED BY " + index, ""
	}
	return from + " NOT INDEXED", fmt.Sprintf(" AND %s.id BETWEEN %d AND %d", alias, span.lo, span.hi)
}
