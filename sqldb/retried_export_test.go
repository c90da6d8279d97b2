package sqldb

// Retried is how many writes the database aborted (a deadlock, a
// serialization failure) and were run again.
func (db *DB) Retried() int64 { return db.retried.Load() }

// Queued is how many writes wait for the writer (SQLite's group commit).
func (db *DB) Queued() int {
	if db.group == nil {
		return 0
	}
	db.group.mu.Lock()
	defer db.group.mu.Unlock()
	return len(db.group.queue)
}
