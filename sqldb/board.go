package sqldb

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"jifen"
	"jifen/secret"
)

// boardSize is how many lines each ranking shows.
const boardSize = 10

// Board returns an org's public board: to anyone of the org or above it,
// or to a lobby screen holding the org's kiosk token.
func (s *PointsService) Board(ctx context.Context, orgID int64, kiosk string) (*jifen.Board, error) {
	org, err := s.db.getOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(ctx)
	allowed := a != nil && (canSeeOrgPath(a, org.Path) || jifen.PathContains(org.Path, a.HomeOrgPath))
	if !allowed && kiosk != "" {
		var hash string
		err := s.db.queryRow(ctx, "SELECT token_hash FROM kiosk_tokens WHERE org_id = ?", orgID).Scan(&hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		allowed = err == nil && subtle.ConstantTimeCompare([]byte(hash), []byte(secret.SHA256(kiosk))) == 1
	}
	if !allowed {
		if a == nil {
			return nil, jifen.ErrUnauthorized
		}
		return nil, jifen.NotFound("org")
	}
	gen, at, err := s.db.keptAt(ctx, orgID)
	if err != nil {
		return nil, err
	}
	// A board ranks the month its making began in: one made last month,
	// kept in the hour before midnight or still being made, is not this
	// month's.
	thisMonths := func(b *jifen.Board) bool { return b != nil && month(b.Generated) == month(s.db.now()) }
	// (Another server's clock may run a little ahead: a board it kept
	// "in the future" is fresh.)
	if age := time.Since(at); !at.IsZero() && age <= boardStale {
		kept, r, err := s.db.keptBoard(ctx, orgID, gen, at)
		if err != nil {
			return nil, err
		}
		if thisMonths(kept) {
			if age > boardKeep || r.due {
				s.shareBoard(org, gen, true) // for the next reader
			}
			return kept, nil
		}
	}
	c := s.shareBoard(org, gen, !at.IsZero())
	// A kept board older than boardStale (a county's, the morning after a
	// quiet night) is still shown, with its time, once its reader has
	// waited boardWait for the new one (a county's takes 21–26 s at 1 M
	// people, a minute from a cold cache: longer than a request may take),
	// if it ranks the month this is. The new one is there for the next.
	var late <-chan time.Time
	if !at.IsZero() {
		wait := time.NewTimer(boardWait)
		defer wait.Stop()
		late = wait.C
	}
	// With none to show, a reader waits boardPatience and is then told the
	// board is being made (a page that asks again by itself), not left
	// before a blank screen for half a minute or cut off at the server's
	// write timeout; the making goes on, and is kept.
	patience := time.NewTimer(boardPatience)
	defer patience.Stop()
	for {
		select {
		case <-c.done:
			if c.err != nil {
				return nil, c.err
			}
			if !thisMonths(c.b) {
				// A making begun in the last moments of last month's last
				// day: wait for this month's.
				c = s.shareBoard(org, gen, true)
				continue
			}
			b := *c.b // a copy: callers may set its fields
			return &b, nil
		case <-late:
			late = nil
			kept, _, err := s.db.keptBoard(ctx, orgID, gen, at)
			if err != nil {
				return nil, err
			}
			if thisMonths(kept) {
				return kept, nil
			}
		case <-patience.C:
			return nil, errBoardMaking
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// A board that took longer than boardSlow to make (a county's, summed
// from a million awards) is kept, so a lobby screen and every resident who
// opens it share one reading; it says when it was made. After boardKeep
// the next reader still gets it and one new board is made meanwhile; a
// board older than boardStale (nobody looked for an hour) is waited for,
// but for boardWait only, and then shown if it ranks this month: a
// county's took 21–26 s at 1 M people, and a resident opening it after a
// quiet night is better shown last night's rankings, with their time,
// than a wait.
// A board made quicker (a village's) is never kept, and shows an award
// the moment it posts. However many ask at once, one board of an org is
// made at a time in a server (on the county's festival day, the first
// minute after a start must not make it once per resident).
//
// Boards are kept in the database (kept_boards), not in memory: a restart
// or a second server shows the kept board at once, and a write that changes
// what boards may show drops them, or puts them right, for every server in
// its own transaction (dropBoards: a change of an org's points settings,
// which may mask names, or a move of the org drops its subtree's boards;
// patchBoards: an erasure takes a name off every board, a household's new
// name is written on the boards ranking it). Such a write moves the
// generation on. A board is
// shown only under the generation it was kept in, kept only if the
// generation has not moved since its reads began, and a reader who finds
// the generation moved on since a making began does not wait for that
// making but starts another.
var (
	boardSlow  = 300 * time.Millisecond
	boardKeep  = time.Minute
	boardStale = time.Hour
	boardWait  = 2 * time.Second
	// boardPatience is how long a reader with no board to be shown waits
	// for one being made.
	boardPatience = 5 * time.Second
)

// errBoardMaking answers a reader who has waited boardPatience for a
// board being made.
var errBoardMaking = &jifen.Error{Kind: jifen.KindUnavailable, Code: "board_making",
	Zh: "光荣榜正在统计，请稍候", En: "The board is being counted up; one moment"}

// boardMaking, when set (by a test), runs as each board has been read,
// before it is kept or shown.
var boardMaking func()

// boardCache is what a server knows of boards: those being made, and the
// kept board it last read of each org, decoded.
type boardCache struct {
	mu     sync.Mutex
	making map[int64]*boardCall
	read   map[int64]readBoard
	// refreshed is the month whose start RefreshBoards has seen to.
	refreshed string
}

// readBoard is a kept board as read, with the generation and time it was
// kept under: while the database still names them, it is not read again.
type readBoard struct {
	gen int64
	at  time.Time
	b   *jifen.Board
	due bool // a ranking is a line short (patchBoards): made again
	// refreshed: made as its month began, and not since (keptBody).
	refreshed bool
}

// boardCall is a board being made from reads that began under gen; done
// closes when b or err is set.
type boardCall struct {
	gen  int64
	done chan struct{}
	b    *jifen.Board
	err  error
	// refresh: started by RefreshBoards, not a reader.
	refresh bool
}

// start returns the board of org being made under generation gen or a
// later one, and whether it is new: the caller then makes it and calls
// finish. One begun under an earlier generation may show what a write
// since took off the boards (an erased name): it goes on for those who
// wait for it, and this reader gets a new one.
func (c *boardCache) start(orgID, gen int64) (*boardCall, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call := c.making[orgID]; call != nil && call.gen >= gen {
		return call, false
	}
	if c.making == nil {
		c.making = map[int64]*boardCall{}
	}
	call := &boardCall{gen: gen, done: make(chan struct{})}
	c.making[orgID] = call
	return call, true
}

// finish answers everyone waiting for call, org's board.
func (c *boardCache) finish(orgID int64, call *boardCall, b *jifen.Board, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.making[orgID] == call {
		delete(c.making, orgID)
	}
	call.b, call.err = b, err
	close(call.done)
}

// shareBoard returns org's board being made for whoever asks, starting it
// under generation gen if none is. It is made apart from any one request:
// a reader who leaves does not end it for the others; closing the database
// does. A slow one is kept; a quick one that replaces a kept board (an
// org's board that was slow once) removes it, so the readers after it are
// shown the org's board as it is rather than the old one for an hour.
func (s *PointsService) shareBoard(org *jifen.Org, gen int64, replaces bool) *boardCall {
	return s.shareMaking(org, gen, replaces, false)
}

// shareMaking is shareBoard, saying whether a refresh asks.
func (s *PointsService) shareMaking(org *jifen.Org, gen int64, replaces, refresh bool) *boardCall {
	c, fresh := s.db.boards.start(org.ID, gen)
	if fresh {
		c.refresh = refresh
		s.db.after.Add(1)
		go func() {
			defer s.db.after.Done()
			ctx := jifen.WithActor(s.db.closed, jifen.SystemActor())
			began := time.Now()
			b, err := s.makeBoard(ctx, org)
			if boardMaking != nil {
				boardMaking()
			}
			if err == nil {
				// A board that cannot be kept is still shown to those who
				// waited for it.
				var kerr error
				if time.Since(began) > boardSlow {
					kerr = s.db.keepBoard(ctx, org.ID, b, gen, began, c.refresh)
				} else if replaces {
					kerr = s.db.inTx(ctx, func(tx *Tx) error {
						_, err := tx.exec(ctx, "DELETE FROM kept_boards WHERE org_id = ?", org.ID)
						return err
					})
				}
				if kerr != nil {
					s.db.Log.Warn("board not kept", "org", org.ID, "err", kerr)
				}
			}
			s.db.boards.finish(org.ID, c, b, err)
		}()
	}
	return c
}

// RefreshBoards makes again, one after another, each kept board that
// ranks the month just ended, and says how many it made. A kept board of
// last month is never shown as this month's (Board), so without this the
// first reader of a county's board in a new month would wait for its
// making, 21–26 s at 1 M people, and be told after boardPatience that it
// is being made. The server runs it every ten minutes (cmd/jifen serve):
// the boards are made once, in the first minutes of the month, and the
// runs after that find the month done and read nothing. Left alone: a
// board of an earlier month (nobody read it all last month: a reading
// past boardKeep makes it again), and one that a refresh made and that
// was not made again for a reader since, so a board nobody reads is not
// made every month for ever. Two servers may both make a board at a
// month's start, twice a county's making once a month; a board that
// fails is told and the others are made.
func (s *PointsService) RefreshBoards(ctx context.Context) (int, error) {
	if !jifen.ActorFrom(ctx).IsSuperAdmin() {
		return 0, jifen.ErrForbidden // the server's own work
	}
	now := s.db.now().In(jifen.Zone)
	this := month(now)
	c := &s.db.boards
	c.mu.Lock()
	done := c.refreshed == this
	c.mu.Unlock()
	if done {
		return 0, nil
	}
	ended := month(time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, jifen.Zone))
	rows, err := s.db.query(ctx, `SELECT b.org_id FROM kept_boards b JOIN kept_boards g ON g.org_id = 0 AND g.generation = b.generation
		WHERE b.org_id <> 0 ORDER BY b.org_id`)
	if err != nil {
		return 0, err
	}
	var orgs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		orgs = append(orgs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	made := 0
	var errs []error
	for _, id := range orgs {
		if err := ctx.Err(); err != nil {
			return made, err
		}
		ok, err := s.refreshBoard(ctx, id, ended)
		if err != nil {
			errs = append(errs, fmt.Errorf("org %d: %w", id, err))
		} else if ok {
			made++
		}
	}
	if len(errs) > 0 {
		return made, errors.Join(errs...) // the next run tries them again
	}
	c.mu.Lock()
	c.refreshed = this
	c.mu.Unlock()
	return made, nil
}

// refreshBoard makes org's kept board again if it ranks the month ended
// and a reader, not a refresh, made it.
func (s *PointsService) refreshBoard(ctx context.Context, orgID int64, ended string) (bool, error) {
	// Read again now: a reader, a write or another server may have made
	// or dropped it since.
	gen, at, err := s.db.keptAt(ctx, orgID)
	if err != nil || at.IsZero() {
		return false, err
	}
	kept, r, err := s.db.keptBoard(ctx, orgID, gen, at)
	if err != nil || kept == nil || month(kept.Generated) != ended || r.refreshed {
		return false, err
	}
	org, err := s.db.getOrg(ctx, orgID)
	if jifen.ErrorCode(err) == "not_found" {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	call := s.shareMaking(org, gen, true, true)
	select {
	case <-call.done:
		return call.err == nil, call.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// keptAt reads the generation boards are kept under, and when org's board
// kept under it was made (zero if none is).
func (db *DB) keptAt(ctx context.Context, orgID int64) (int64, time.Time, error) {
	var gen int64
	var at sql.NullTime
	err := db.queryRow(ctx, `SELECT g.generation, b.made_at FROM kept_boards g
		LEFT JOIN kept_boards b ON b.org_id = ? AND b.generation = g.generation WHERE g.org_id = 0`, orgID).Scan(&gen, &at)
	return gen, at.Time, err
}

// keptBoard is org's board kept under generation gen, made at at: from
// memory when this server has read it, else read and decoded (a county's
// is about 300 KB of JSON), and whether it is due to be made again. Nil
// if it has gone since keptAt.
func (db *DB) keptBoard(ctx context.Context, orgID, gen int64, at time.Time) (*jifen.Board, readBoard, error) {
	c := &db.boards
	c.mu.Lock()
	r, ok := c.read[orgID]
	c.mu.Unlock()
	if !ok || r.gen != gen || !r.at.Equal(at) {
		var body string
		err := db.queryRow(ctx, "SELECT made_at, body FROM kept_boards WHERE org_id = ? AND generation = ?", orgID, gen).Scan(&at, &body)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, readBoard{}, nil
		}
		if err != nil {
			return nil, readBoard{}, err
		}
		k, err := decodeKept(body)
		if err != nil {
			// Kept by a version of jifen whose board this one cannot
			// read: made again.
			db.Log.Warn("kept board unreadable", "org", orgID, "err", err)
			return nil, readBoard{}, nil
		}
		r = readBoard{gen: gen, at: at, b: k.Board, due: k.Short, refreshed: k.Refreshed}
		c.mu.Lock()
		if c.read == nil {
			c.read = map[int64]readBoard{}
		}
		for id, old := range c.read { // the expired go as others come
			if time.Since(old.at) > boardStale {
				delete(c.read, id)
			}
		}
		c.read[orgID] = r
		c.mu.Unlock()
	}
	b := *r.b // a copy: callers may set its fields
	return &b, r, nil
}

// keptBody is a board as kept: the board, and whom each line of its
// rankings ranks, which its JSON does not show (patchBoards reads them).
// A board kept before the subjects were has none, and is dropped where
// it would be patched. Short marks a board whose ranking lost a line to
// an erasure: shown, and made again meanwhile.
type keptBody struct {
	*jifen.Board
	Subjects map[string][]int64 `json:"subjects,omitempty"`
	Short    bool               `json:"short,omitempty"`
	// Refreshed marks a board made as its month began (RefreshBoards),
	// not for a reader: if nobody reads it enough to have it made again,
	// it is not made again at the next month's start.
	Refreshed bool `json:"refreshed,omitempty"`
}

// rankings are a board's rankings by name.
func rankings(b *jifen.Board) map[string]*[]jifen.BoardRow {
	return map[string]*[]jifen.BoardRow{"month": &b.Month, "year": &b.Year, "all_time": &b.AllTime, "honour": &b.Honour}
}

func encodeKept(k keptBody) (string, error) {
	k.Subjects = map[string][]int64{}
	for name, rows := range rankings(k.Board) {
		ids := make([]int64, len(*rows))
		for i, r := range *rows {
			ids[i] = r.Subject
		}
		k.Subjects[name] = ids
	}
	body, err := json.Marshal(k)
	return string(body), err
}

// decodeKept reads a kept board back, with its lines' subjects (Subjects
// is nil for a board kept without them).
func decodeKept(body string) (keptBody, error) {
	k := keptBody{Board: &jifen.Board{}}
	if err := json.Unmarshal([]byte(body), &k); err != nil {
		return k, err
	}
	for name, rows := range rankings(k.Board) {
		ids, found := k.Subjects[name]
		if !found || len(ids) != len(*rows) {
			k.Subjects = nil
			return k, nil
		}
		for i := range *rows {
			(*rows)[i].Subject = ids[i]
		}
	}
	return k, nil
}

// keepBoard keeps org's board b, made from reads that began under
// generation gen at began, unless the generation has moved on since.
func (db *DB) keepBoard(ctx context.Context, orgID int64, b *jifen.Board, gen int64, began time.Time, refreshed bool) error {
	body, err := encodeKept(keptBody{Board: b, Refreshed: refreshed})
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		// On PostgreSQL a share of the generation's row: a write dropping
		// boards that has moved it on is waited for and then seen, and one
		// that has not yet drops this board after it.
		q := "SELECT generation FROM kept_boards WHERE org_id = 0"
		if db.dialect.name() == "postgres" {
			q += " FOR SHARE"
		}
		var now int64
		if err := tx.queryRow(ctx, q).Scan(&now); err != nil || now != gen {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO kept_boards (org_id, generation, made_at, body) VALUES (?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET generation = excluded.generation, made_at = excluded.made_at, body = excluded.body`,
			orgID, gen, began, body)
		return err
	})
}

// dropBoards, in a write that changes what boards may show, drops the
// kept boards of the orgs in the subtree of path, or every kept board when
// path is "" (an erasure: the person may be on any of them). The
// generation moves on first, whose row a board being kept takes a share
// of (keepBoard); the boards left move on with it. It comes last in its
// write, after every other lock the write takes: an erasure holding the
// person's row then never waits here for a write that waits on that row.
func (t *Tx) dropBoards(ctx context.Context, path string) error {
	if path == "" {
		return t.dropKept(ctx, "org_id <> 0")
	}
	return t.dropKept(ctx, "org_id IN (SELECT id FROM orgs WHERE path >= ? AND path < ?)", path, jifen.PathUpper(path))
}

// boardPatch is what a write changes on the boards it leaves kept: a
// person erased (off the rankings of people, 已注销 on the awards shown)
// and households' new names.
type boardPatch struct {
	erased     int64
	households map[int64]string
}

// patchBoards, in a write that renames what boards show (an erasure, a
// household's new name), puts the change right on the kept boards where
// says, rather than dropping them:
// a county's board takes 21–26 s to make at 1 M people, and after an
// erasure every reader would wait for it again. A ranking the erased
// person leaves is a line short until the board is made again, which its
// next reader starts while being shown it (Short). Boards kept without
// their lines' subjects (by an older jifen), or past boardStale (never
// shown again), are dropped. Like dropBoards it moves the generation on
// first and comes last in its write.
func (t *Tx) patchBoards(ctx context.Context, p boardPatch, where string, args ...any) error {
	return t.newGeneration(ctx, func() error { return t.patchKept(ctx, p, where, args...) })
}

func (t *Tx) patchKept(ctx context.Context, p boardPatch, where string, args ...any) error {
	q := "SELECT org_id, made_at, body FROM kept_boards WHERE org_id <> 0 AND (" + where + ")"
	type kept struct {
		org  int64
		at   time.Time
		body string
	}
	var boards []kept
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k kept
		if err := rows.Scan(&k.org, &k.at, &k.body); err != nil {
			rows.Close()
			return err
		}
		boards = append(boards, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, kb := range boards {
		k, err := decodeKept(kb.body)
		if err != nil || k.Subjects == nil || time.Since(kb.at) > boardStale {
			if _, err := t.exec(ctx, "DELETE FROM kept_boards WHERE org_id = ?", kb.org); err != nil {
				return err
			}
			continue
		}
		changed, short := p.apply(k.Board)
		if !changed {
			continue // (a county's is 300 KB to write again)
		}
		k.Short = k.Short || short
		body, err := encodeKept(k)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE kept_boards SET body = ? WHERE org_id = ?", body, kb.org); err != nil {
			return err
		}
	}
	return nil
}

// apply puts p right on b, as makeBoard would have shown it, and says
// whether it changed b and whether a ranking lost a line.
func (p boardPatch) apply(b *jifen.Board) (changed, short bool) {
	households := b.Settings.PointsTo == jifen.ToHousehold
	for _, rows := range rankings(b) {
		kept := (*rows)[:0]
		for _, r := range *rows {
			switch {
			case households:
				if name, ok := p.households[r.Subject]; ok {
					r.Name, changed = showName(b.Settings, name), true
				}
			case p.erased != 0 && r.Subject == p.erased:
				changed, short = true, true
				continue
			}
			r.Rank = len(kept) + 1
			kept = append(kept, r)
		}
		*rows = kept
	}
	for _, aw := range b.Recent {
		if p.erased != 0 && aw.PersonID != nil && *aw.PersonID == p.erased {
			aw.PersonName, changed = showName(b.Settings, jifen.ErasedName), true
		}
		if aw.HouseholdID != nil {
			if name, ok := p.households[*aw.HouseholdID]; ok {
				aw.HouseholdName, changed = showName(b.Settings, name), true
			}
		}
	}
	return changed, short
}

// dropKept moves the generation on, deletes the kept boards where says,
// and stamps the rest (none after an erasure's) with the new generation.
func (t *Tx) dropKept(ctx context.Context, where string, args ...any) error {
	return t.newGeneration(ctx, func() error {
		_, err := t.exec(ctx, "DELETE FROM kept_boards WHERE "+where, args...)
		return err
	})
}

// newGeneration moves the generation on (its row first, which a board
// being kept takes a share of), runs change on the kept boards, and
// stamps those left with the new generation.
func (t *Tx) newGeneration(ctx context.Context, change func() error) error {
	if _, err := t.exec(ctx, "UPDATE kept_boards SET generation = generation + 1 WHERE org_id = 0"); err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	_, err := t.exec(ctx, "UPDATE kept_boards SET generation = generation + 1 WHERE org_id <> 0")
	return err
}

func (s *PointsService) makeBoard(ctx context.Context, org *jifen.Org) (*jifen.Board, error) {
	orgID := org.ID
	st, err := settingsAt(ctx, s.db, orgID, org.Path)
	if err != nil {
		return nil, err
	}
	now := s.db.now()
	local := now.In(jifen.Zone)
	b := &jifen.Board{Org: org, Settings: st, Generated: local}
	month := local.Format("2006-01")
	lastMonth := time.Date(local.Year(), local.Month()-1, 1, 0, 0, 0, 0, jifen.Zone).Format("2006-01")
	year := local.Format("2006")
	// People erased on request are left off the rankings of people: each
	// sum takes as many more lines as there are erased people (a partial
	// index counts them), so that ten remain.
	var erased int
	if st.PointsTo != jifen.ToHousehold {
		if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM people WHERE status = 'erased'").Scan(&erased); err != nil {
			return nil, err
		}
	}
	if b.Month, err = s.ranking(ctx, org.Path, st, erased, month+"-01", month+"-31"); err != nil {
		return nil, err
	}
	if b.Year, err = s.ranking(ctx, org.Path, st, erased, year+"-01-01", year+"-12-31"); err != nil {
		return nil, err
	}
	if b.Honour, err = s.ranking(ctx, org.Path, st, erased, lastMonth+"-01", lastMonth+"-31"); err != nil {
		return nil, err
	}
	if b.AllTime, err = s.allTime(ctx, org.Path, st); err != nil {
		return nil, err
	}
	// The ids first, from the awards alone (see Awards).
	rows, err := s.db.query(ctx, "SELECT "+awardCols+awardFrom+` WHERE a.id IN (SELECT a.id FROM awards a WHERE `+s.db.inSubtree("a.org_path")+`
		AND a.status = 'posted' AND a.public_until > ? ORDER BY a.id DESC LIMIT 500) ORDER BY a.id DESC`, org.Path, jifen.PathUpper(org.Path), now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b.Recent = []*jifen.Award{}
	for rows.Next() {
		r, err := scanAward(rows)
		if err != nil {
			return nil, err
		}
		aw := r.Award
		// The board is public inside the org: names as the org chooses,
		// and nothing about who entered it.
		aw.PersonName, aw.HouseholdName = showName(st, aw.PersonName), showName(st, aw.HouseholdName)
		aw.CreatedBy, aw.CreatedByName, aw.DecidedBy = 0, "", nil
		b.Recent = append(b.Recent, aw)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	b.Block, err = NewLedgerService(s.db).LatestBlock(ctx)
	return b, err
}

// showName is a name as an org's board shows it.
func showName(st jifen.PointsSettings, name string) string {
	if st.MaskNames {
		return jifen.MaskMiddle(name)
	}
	return name
}

// ranking ranks by score earned between two days (awards less
// deductions), people or households as the org credits.
func (s *PointsService) ranking(ctx context.Context, path string, st jifen.PointsSettings, erased int, from, to string) ([]jifen.BoardRow, error) {
	// The awards are summed alone and only the top lines get their names:
	// joined first, every award of a county's year met its person and org
	// before the sum (1.4 s for 1.3 M awards; 0.6 s summed alone).
	if st.PointsTo == jifen.ToHousehold {
		q := `SELECT h.id, h.name, o.name, s.total FROM (SELECT a.household_id AS id, SUM(a.points) AS total, MIN(a.id) AS first FROM awards a
		WHERE ` + s.db.inSubtree("a.org_path") + ` AND a.status = 'posted' AND a.day >= ? AND a.day <= ? AND a.household_id IS NOT NULL
		GROUP BY a.household_id HAVING SUM(a.points) > 0 ORDER BY total DESC, first LIMIT ?) s
		JOIN households h ON h.id = s.id JOIN orgs o ON o.id = h.org_id ORDER BY s.total DESC, s.first`
		return s.rows(ctx, st, q, path, jifen.PathUpper(path), from, to, boardSize)
	}
	// People erased on request are left off (their points stay in the
	// reports' sums), erased of them at most.
	q := `SELECT p.id, p.name, o.name, s.total FROM (SELECT a.person_id AS id, SUM(a.points) AS total, MIN(a.id) AS first FROM awards a
		WHERE ` + s.db.inSubtree("a.org_path") + ` AND a.status = 'posted' AND a.day >= ? AND a.day <= ? AND a.person_id IS NOT NULL
		GROUP BY a.person_id HAVING SUM(a.points) > 0 ORDER BY total DESC, first LIMIT ?) s
		JOIN people p ON p.id = s.id JOIN orgs o ON o.id = p.home_org_id WHERE p.status <> 'erased' ORDER BY s.total DESC, s.first LIMIT ?`
	return s.rows(ctx, st, q, path, jifen.PathUpper(path), from, to, boardSize+erased, boardSize)
}

// allTime ranks by the score kept on each account.
func (s *PointsService) allTime(ctx context.Context, path string, st jifen.PointsSettings) ([]jifen.BoardRow, error) {
	q := `SELECT p.id, p.name, o.name, ac.score FROM accounts ac JOIN people p ON p.id = ac.owner_id JOIN orgs o ON o.id = p.home_org_id
		WHERE ac.kind = 'person' AND p.home_org_path >= ? AND p.home_org_path < ? AND ac.score > 0 AND p.status <> 'erased'
		ORDER BY ac.score DESC, ac.id LIMIT ?`
	if st.PointsTo == jifen.ToHousehold {
		q = `SELECT h.id, h.name, o.name, ac.score FROM accounts ac JOIN households h ON h.id = ac.owner_id JOIN orgs o ON o.id = h.org_id
		WHERE ac.kind = 'household' AND h.org_path >= ? AND h.org_path < ? AND ac.score > 0 ORDER BY ac.score DESC, ac.id LIMIT ?`
	}
	return s.rows(ctx, st, q, path, jifen.PathUpper(path), boardSize)
}

func (s *PointsService) rows(ctx context.Context, st jifen.PointsSettings, q string, args ...any) ([]jifen.BoardRow, error) {
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []jifen.BoardRow{}
	for rows.Next() {
		var r jifen.BoardRow
		if err := rows.Scan(&r.Subject, &r.Name, &r.OrgName, &r.Score); err != nil {
			return nil, err
		}
		r.Rank, r.Name = len(out)+1, showName(st, r.Name)
		out = append(out, r)
	}
	return out, rows.Err()
}

// NewKioskToken makes (or replaces) the read-only token with which a lobby
// screen opens an org's board. Only its hash is kept.
func (s *PointsService) NewKioskToken(ctx context.Context, orgID int64) (string, error) {
	path, err := s.manageRules(ctx, orgID)
	if err != nil {
		return "", err
	}
	token := secret.Token(24)
	a := jifen.ActorFrom(ctx)
	err = s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO kiosk_tokens (org_id, token_hash, created_by, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET token_hash = excluded.token_hash, created_by = excluded.created_by, created_at = excluded.created_at`,
			orgID, secret.SHA256(token), actorID(a), s.db.now()); err != nil {
			return err
		}
		return tx.audit(ctx, orgID, path, "board.kiosk_token", "org", orgID, "")
	})
	if err != nil {
		return "", err
	}
	return token, nil
}
