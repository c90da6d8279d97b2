package sqldb

import (
	"database/sql"
	"log/slog"
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
// Its PASSIVE checkpoint waits on no lock: it copies what no reader still
// needs, and the writer goes on meanwhile (the copy costs two flushes of
// the disk, and while it runs the writer's own checkpoint is skipped to
// its next commit). The writer's, when the log is full, then finds most
// of it copied already. The log still starts over as before: the
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
	// Not db.Log: the caller may set it after Open, while this runs.
	log := slog.Default()
	go func() {
		defer db.after.Done()
		defer c.Close()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		// data_version changes when another connection has committed:
		// an idle database is left alone. A checkpoint that could not
		// copy everything (a long read still needs older pages) is tried
		// again at the next tick.
		last := int64(-1)
		var warned time.Time
		for {
			select {
			case <-db.closed.Done():
				return
			case <-t.C:
			}
			var v int64
			err := c.QueryRowContext(db.closed, "PRAGMA data_version").Scan(&v)
			if err == nil && v != last {
				var busy, frames, copied int64
				err = c.QueryRowContext(db.closed, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
				if err == nil && copied >= frames {
					last = v
				}
			}
			// A lasting failure (a full disk) is told once a minute.
			if err != nil && db.closed.Err() == nil && time.Since(warned) > time.Minute {
				warned = time.Now()
				log.Warn("checkpoint", "err", err)
			}
		}
	}()
	return nil
}
