package jifen

// CommitStats is what a database's committers (group commit,
// ARCHITECTURE.md) have done since it opened, for /metrics and `jifen
// bench`. On SQLite every write goes through the one committer; on
// PostgreSQL only awards that wait on no row do (the award groups), and
// other writes are not counted. Under a steady load, writes per commit and
// the share of the time the committers are busy tell how much a commit is
// shared and whether its statements or the COMMIT take the time.
type CommitStats struct {
	// Commits are the committers' transactions, committed or not: a
	// group, or a write alone (one of a group that could not commit,
	// run again alone, counts as one more).
	Commits int64
	// Writes are the writes those transactions ran, refused ones too.
	Writes int64
	// BusySeconds is the time spent in them, summed over the leaders
	// that run at once (one on SQLite, two on PostgreSQL); on PostgreSQL
	// it includes waiting for rows other transactions hold.
	BusySeconds float64
	// CommitSeconds is the part of it spent in COMMIT, timed for groups
	// of two or more only: a write alone commits inside its retries.
	CommitSeconds float64
}
