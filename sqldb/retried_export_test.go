package sqldb

// Retried is how many writes the database aborted (a deadlock, a
// serialization failure) and were run again.
func (db *DB) Retried() int64 { return db.retried.Load() }
