package sqldb

import (
	"context"

	"jifen"
)

// Retried is how many writes the database aborted (a deadlock, a
// serialization failure) and were run again.
func (db *DB) Retried() int64 { return db.retried.Load() }

// Queued is how many writes wait for the writer (SQLite's group commit).
func (db *DB) Queued() int { return db.group.queued() }

// AwardQueued is how many awards wait for an award group (PostgreSQL).
func (db *DB) AwardQueued() int { return db.awardGroup.queued() }

func (c *committer) queued() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// PageFrom is pageFrom for a list of total rows whose ids run from lo to
// hi, for the tests of the lists that walk in order.
func (db *DB) PageFrom(ctx context.Context, table, alias, index string, total, lo, hi int64, offset, limit int) (from, bound string) {
	return db.pageFrom(ctx, table, alias, index, listSpan{total, lo, hi}, offset, limit)
}

// PeopleSpan is countList for the people who live in an org's subtree:
// how many, and their lowest and highest id when pageFrom may use them.
func (db *DB) PeopleSpan(ctx context.Context, path string) (total, lo, hi int64, err error) {
	s, err := db.countList(ctx, "people", "p", "", db.inSubtree("p.home_org_path"), []any{path, jifen.PathUpper(path)})
	return s.total, s.lo, s.hi, err
}
