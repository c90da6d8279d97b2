package sqldb

import "time"

// KeepBoards sets when a board counts as slow and how long it is kept,
// until the returned function is called. Not for parallel tests.
func KeepBoards(slow, keep time.Duration) (restore func()) {
	s, k := boardSlow, boardKeep
	boardSlow, boardKeep = slow, keep
	return func() { boardSlow, boardKeep = s, k }
}
