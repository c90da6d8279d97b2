package sqldb

import (
	"context"
	"sync"
)

// idBlock hands out ids drawn from a PostgreSQL sequence a block at a
// time, so a write that needs its id before it starts (an award's ledger
// key names it) does not pay a round trip for each. Ids are unique as the
// sequence's are; like any sequence's, they may leave gaps (a block not
// used up when the server stops, a write that fails) and, between two
// servers, do not follow the order of commits.
type idBlock struct {
	table string
	mu    sync.Mutex
	ids   []int64
}

// idBlockSize is how many ids one round trip draws.
const idBlockSize = 64

func (b *idBlock) next(ctx context.Context, t *Tx) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ids) == 0 {
		rows, err := t.query(ctx, "SELECT nextval(pg_get_serial_sequence('"+b.table+"', 'id')) FROM generate_series(1, ?)", idBlockSize)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return 0, err
			}
			b.ids = append(b.ids, id)
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	id := b.ids[0]
	b.ids = b.ids[1:]
	return id, nil
}
