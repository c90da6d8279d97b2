package sqldb

import (
	"context"
	"testing"
)

// TestCommitStats: a group counts as one commit of all its writes, with
// time in COMMIT; a write alone as one commit of one, its commit inside
// its own transaction; and DB.CommitStats adds the database's committers,
// on PostgreSQL the award groups'.
func TestCommitStats(t *testing.T) {
	for name, dsn := range benchDSNs(t) {
		t.Run(name, func(t *testing.T) {
			db := benchDB(t, dsn)
			ctx := context.Background()
			before := db.CommitStats()
			c := newCommitter(db, 1, groupMax)
			write := func(tx *Tx) error {
				_, err := tx.exec(ctx, "INSERT INTO audit_log (at, action) VALUES (?, 'stats.test')", db.now())
				return err
			}
			batch := func(n int) []*groupReq {
				b := make([]*groupReq, n)
				for i := range b {
					b[i] = &groupReq{fn: write, done: make(chan struct{})}
				}
				return b
			}
			c.run(batch(3))
			if c.commits.Load() != 1 || c.writes.Load() != 3 || c.busy.Load() <= 0 || c.committing.Load() <= 0 {
				t.Errorf("after a group of 3: %d commits, %d writes, busy %d ns, committing %d ns", c.commits.Load(), c.writes.Load(), c.busy.Load(), c.committing.Load())
			}
			committing := c.committing.Load()
			c.run(batch(1))
			if c.commits.Load() != 2 || c.writes.Load() != 4 || c.committing.Load() != committing {
				t.Errorf("after a write alone: %d commits, %d writes, committing %d ns (was %d)", c.commits.Load(), c.writes.Load(), c.committing.Load(), committing)
			}
			if c.busy.Load() < c.committing.Load() {
				t.Errorf("busy %d ns, less than its commits' %d", c.busy.Load(), c.committing.Load())
			}
			// The database's own committer (SQLite: every write; PostgreSQL:
			// the award groups) counts what goes through it.
			own := db.group
			if own == nil {
				own = db.awardGroup
			}
			if err := own.do(ctx, write); err != nil {
				t.Fatal(err)
			}
			after := db.CommitStats()
			if after.Commits != before.Commits+1 || after.Writes != before.Writes+1 || after.BusySeconds <= before.BusySeconds {
				t.Errorf("a write through the database's committer: %+v, before %+v", after, before)
			}
		})
	}
}
