package sqldb

// AwardQueued is how many awards wait for an award group (PostgreSQL).
func (db *DB) AwardQueued() int {
	if db.awardGroup == nil {
		return 0
	}
	db.awardGroup.mu.Lock()
	defer db.awardGroup.mu.Unlock()
	return len(db.awardGroup.queue)
}
