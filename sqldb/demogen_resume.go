package sqldb

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

// Resuming a generated county whose villages finished out of order.
//
// A village takes its ids (people, postings, blocks, …) and the chain head
// it links its first block to from the village before it. Written one at a
// time, the next village could start from MAX(id) in the database; with two
// in flight, village k+1 can commit while k does not, and then MAX(id) is
// past ids that k must still take. So each village's progress row keeps the
// ids and chain head it leaves ("… | next people=… block=… hash=…"), and a
// row at step -1 keeps those before the first village this bookkeeping
// wrote, with the one time every generated block is sealed at. A rerun
// starts at the lowest missing village from the state of the one before,
// and skips over finished ones by taking the state they left.
//
// A database an older jifen began (no step -1; its villages were written in
// order, so they are 1…d) goes on from MAX(id) as it used to, and gets its
// step -1 then.

// genStepStart is the progress step holding where this bookkeeping began.
const genStepStart = -1

// genStateSep separates a progress note's text from the state it keeps.
const genStateSep = " | "

// genDone is what earlier runs left in demogen_progress.
type genDone struct {
	// villages holds the finished steps, each with the ids and chain head it
	// left; nil for a village written by a jifen that kept none.
	villages map[int]*genIDs
	// start is the state before village from, and sealed the time the
	// generated blocks are sealed at; from is 0 before a step -1 is written.
	start  *genIDs
	from   int
	sealed time.Time
}

// String is the ids and chain head as a progress row keeps them.
func (ids *genIDs) String() string {
	var b strings.Builder
	b.WriteString("next")
	for _, t := range genIDTables {
		fmt.Fprintf(&b, " %s=%d", t, ids.next[t])
	}
	fmt.Fprintf(&b, " block=%d hash=%s", ids.block, ids.blockHash)
	return b.String()
}

func parseGenIDs(s string) (*genIDs, error) {
	f := strings.Fields(s)
	if len(f) == 0 || f[0] != "next" {
		return nil, fmt.Errorf("demogen: unreadable progress state %q", s)
	}
	ids := &genIDs{next: map[string]int64{}}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("demogen: unreadable progress state %q", s)
		}
		if k == "hash" {
			ids.blockHash = v
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("demogen: unreadable progress state %q: %w", s, err)
		}
		if k == "block" {
			ids.block = n
		} else {
			ids.next[k] = n
		}
	}
	for _, t := range genIDTables {
		if _, ok := ids.next[t]; !ok {
			return nil, fmt.Errorf("demogen: progress state %q has no %s", s, t)
		}
	}
	if ids.blockHash == "" {
		return nil, fmt.Errorf("demogen: progress state %q has no chain head", s)
	}
	return ids, nil
}

func (ids *genIDs) clone() *genIDs {
	return &genIDs{next: maps.Clone(ids.next), block: ids.block, blockHash: ids.blockHash}
}

// atLeast moves ids past those the database already holds.
func (ids *genIDs) atLeast(db *genIDs) {
	for t, n := range db.next {
		ids.next[t] = max(ids.next[t], n)
	}
	if db.block > ids.block {
		ids.block, ids.blockHash = db.block, db.blockHash
	}
}

// genProgress reads the finished villages and the start of the
// bookkeeping; steps is the number of villages in the plan.
func (db *DB) genProgress(ctx context.Context, steps int) (*genDone, error) {
	d := &genDone{villages: map[int]*genIDs{}}
	rows, err := db.w.QueryContext(ctx, "SELECT step, note FROM demogen_progress WHERE step <> 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var step int
		var note string
		if err := rows.Scan(&step, &note); err != nil {
			return nil, err
		}
		i := strings.LastIndex(note, genStateSep)
		switch {
		case step == genStepStart:
			var micro int64
			if i < 0 {
				return nil, fmt.Errorf("demogen: unreadable progress %q", note)
			}
			if _, err := fmt.Sscanf(note[:i], "from=%d sealed=%d", &d.from, &micro); err != nil {
				return nil, fmt.Errorf("demogen: unreadable progress %q: %w", note, err)
			}
			if d.start, err = parseGenIDs(note[i+len(genStateSep):]); err != nil {
				return nil, err
			}
			d.sealed = time.UnixMicro(micro).UTC()
		case step < 1 || step > steps:
			return nil, fmt.Errorf("demogen: progress step %d is not a village of this county", step)
		case i < 0:
			d.villages[step] = nil // an older jifen's village: no state kept
		default:
			if d.villages[step], err = parseGenIDs(note[i+len(genStateSep):]); err != nil {
				return nil, err
			}
		}
	}
	return d, rows.Err()
}

// genStart finds the first village not written (0-based) and the state it
// is drawn from. The first run that keeps state on a database (a new county,
// or one an older jifen began) records where it starts, and the seal time,
// before it writes any village.
func (db *DB) genStart(ctx context.Context, d *genDone, steps int) (int, *genIDs, error) {
	first := 0
	for first < steps {
		if _, ok := d.villages[first+1]; !ok {
			break
		}
		first++
	}
	if d.start == nil {
		for step := range d.villages {
			if step > first {
				return 0, nil, fmt.Errorf("demogen: village %d is written but village %d is not, and the progress keeps no ids to write it with", step, first+1)
			}
		}
		ids, err := db.genNextIDs(ctx)
		if err != nil {
			return 0, nil, err
		}
		sealed := time.UnixMicro(db.now().UnixMicro()).UTC()
		note := fmt.Sprintf("from=%d sealed=%d%s%s", first+1, sealed.UnixMicro(), genStateSep, ids)
		if _, err := db.w.ExecContext(ctx, db.q("INSERT INTO demogen_progress (step, note) VALUES (?, ?)"), genStepStart, note); err != nil {
			return 0, nil, err
		}
		d.start, d.from, d.sealed = ids, first+1, sealed
	}
	if first+1 == d.from {
		return first, d.start.clone(), nil
	}
	// The village before is finished and was written with this bookkeeping
	// (every village before d.from was finished when it began).
	prev := d.villages[first]
	if first+1 < d.from || prev == nil {
		return 0, nil, fmt.Errorf("demogen: village %d keeps no ids for village %d to start from", first, first+1)
	}
	return first, prev.clone(), nil
}
