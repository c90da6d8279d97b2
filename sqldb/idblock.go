package sqldb

import (
	"context"
	"slices"
	"sync"
)

// idBlock hands out ids drawn from a PostgreSQL sequence a block at a
// time, so a write that needs its id before it starts (an award's ledger
// key names it) does not pay a round trip for each. Every row of its
// table this process adds takes its id from the block, never from the
// sequence directly: ids then grow with time within the process (a
// person's history, newest first by id, stays in order), as SQLite's do.
// Ids are unique as the sequence's are; like any sequence's, they may
// leave gaps (a block not used up when the server stops, a write that
// fails) and, between two servers, do not follow the order of commits.
type idBlock struct {
	table string
	mu    sync.Mutex
	ids   []int64
}

// idBlockSize is how many ids one round trip draws.
const idBlockSize = 64

// next hands out the smallest id left, drawing a block when none is. The
// draw runs on t's connection as it is, writing nothing that waits
// (nextval reads no table), and without the lock held: a write waiting
// on a row must never hold up another goroutine's id.
func (b *idBlock) next(ctx context.Context, t *Tx) (int64, error) {
	for {
		b.mu.Lock()
		if len(b.ids) > 0 {
			id := b.ids[0]
			b.ids = b.ids[1:]
			b.mu.Unlock()
			return id, nil
		}
		b.mu.Unlock()
		drawn, err := b.draw(ctx, t)
		if err != nil {
			return 0, err
		}
		b.mu.Lock()
		// Two goroutines may draw at once: both blocks are used,
		// smallest first.
		b.ids = append(b.ids, drawn...)
		slices.Sort(b.ids)
		b.mu.Unlock()
	}
}

func (b *idBlock) draw(ctx context.Context, t *Tx) ([]int64, error) {
	rows, err := t.tx.QueryContext(t.ctx(ctx), t.db.q("SELECT nextval(pg_get_serial_sequence('"+b.table+"', 'id')) FROM generate_series(1, ?)"), idBlockSize)
	if err != nil {
		return nil, t.db.mapErr(err)
	}
	defer rows.Close()
	ids := make([]int64, 0, idBlockSize)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// insertRow adds a row of b's table and returns its id: on PostgreSQL the
// next one of the process's block, so that ids grow with time; on SQLite
// the one SQLite picks. values are the placeholders of cols.
func (t *Tx) insertRow(ctx context.Context, b *idBlock, cols, values string, args ...any) (int64, error) {
	if t.db.dialect.name() != "postgres" {
		return t.insert(ctx, "INSERT INTO "+b.table+" ("+cols+") VALUES ("+values+")", args...)
	}
	id, err := b.next(ctx, t)
	if err != nil {
		return 0, err
	}
	_, err = t.exec(ctx, "INSERT INTO "+b.table+" (id, "+cols+") VALUES (?, "+values+")", append([]any{id}, args...)...)
	return id, err
}
