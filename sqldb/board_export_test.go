package sqldb

import (
	"sync/atomic"
	"time"
)

// KeepBoards sets when a board counts as slow, how long it is kept, and
// until when it is still shown while the next is made, until the returned
// function is called. Not for parallel tests.
func KeepBoards(slow, keep, stale time.Duration) (restore func()) {
	s, k, st := boardSlow, boardKeep, boardStale
	boardSlow, boardKeep, boardStale = slow, keep, stale
	return func() { boardSlow, boardKeep, boardStale = s, k, st }
}

// WaitForBoards sets how long a reader waits for a new board before being
// shown a kept one older than the stale time, and before being told that
// it is being made when none is kept, until the returned function is
// called. Not for parallel tests.
func WaitForBoards(wait, patience time.Duration) (restore func()) {
	w, p := boardWait, boardPatience
	boardWait, boardPatience = wait, patience
	return func() { boardWait, boardPatience = w, p }
}

// BoardMaking counts the boards made while it is set.
type BoardMaking struct {
	n       atomic.Int64
	restore func()
}

// SlowBoardMaking makes every board take at least d more after its reads,
// and counts them, until Restore. Not for parallel tests.
func SlowBoardMaking(d time.Duration) *BoardMaking {
	m := &BoardMaking{}
	old := boardMaking
	boardMaking = func() {
		m.n.Add(1)
		time.Sleep(d)
	}
	m.restore = func() { boardMaking = old }
	return m
}

func (m *BoardMaking) Count() int64 { return m.n.Load() }
func (m *BoardMaking) Restore()     { m.restore() }
