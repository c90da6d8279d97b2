package jifen

// CommitStats is what a database's shared commits have carried since it
// opened (group commit, ARCHITECTURE.md), for /metrics and `jifen bench`.
// Under a steady load, writes per commit and the share of the time the
// writer is busy tell how near the load is to the writer's ceiling, and
// whether the commit or the writes' own statements take that time.
type CommitStats struct {
	// Commits are the committers' transactions: a group, or a write
	// that found no one to share with.
	Commits int64 `json:"commits"`
	// Writes are the writes those transactions carried.
	Writes int64 `json:"writes"`
	// BusySeconds is the time spent in them, summed over the leaders
	// that run at once (one on SQLite, two on PostgreSQL).
	BusySeconds float64 `json:"busy_seconds"`
	// CommitSeconds is the part of it spent in COMMIT, counted for
	// groups of two or more (a write alone commits inside its retries).
	CommitSeconds float64 `json:"commit_seconds"`
}
