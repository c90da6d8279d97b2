package sqldb

import (
	"database/sql"
	"strings"
	"time"
)

// SQLite writes each commit to the write-ahead log; a checkpoint copies
// the log's pages into the database file. Left to the writer, the commit
// that finds the log past wal_autocheckpoint (10,000 pages, openSQLite)
// makes the copy itself, and every write queued behind it waits: after a
// busy stretch the log holds thousands of distinct pages, and that one
// commit took 100–400 ms (BENCHMARKS.md, run T: at 500 writes a second
// just after a closed-loop run, p99 19–96 ms). So a connection of its own
// checkpoints beside the writer, a moment after anything was committed.
// Its PASSIVE checkpoint never waits for the writer or a reader and never
// makes them wait; the writer's own, when the log is full, then finds
// most of it copied already. The log still starts over as before: the
// writer's checkpoint, in its commit, copies what is left, and the next
// write begins the log again (a checkpointer alone, never catching the
// last commit, let the log grow without end).
const checkpointEvery = 200 * time.Millisecond

// checkpoints starts the checkpointer of a SQLite database file; it stops
// when the database is closed.
func (db *DB) checkpoints(dsn string) error {
	if strings.Contains(dsn, ":memory:") || strings.Contains(dsn, "mode=memory") {
		return nil
	}
	c, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	c.SetMaxOpenConns(1)
	c.SetConnMaxIdleTime(0)
	db.after.Add(1)
	go func() {
		defer db.after.Done()
		defer c.Close()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		// data_version changes when another connection has committed:
		// an idle database is left alone.
		last := int64(-1)
		for {
			select {
			case <-db.closed.Done():
				return
			case <-t.C:
			}
			var v int64
			err := c.QueryRowContext(db.closed, "PRAGMA data_version").Scan(&v)
			if err == nil && v != last {
				last = v
				_, err = c.ExecContext(db.closed, "PRAGMA wal_checkpoint(PASSIVE)")
			}
			if err != nil && db.closed.Err() == nil {
				db.Log.Warn("checkpoint", "err", err)
			}
		}
	}()
	return nil
}
