package sqldb

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
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
	b, stale := s.db.boards.get(orgID)
	if b != nil {
		if stale {
			s.shareBoard(org) // for the next reader
		}
		return b, nil
	}
	c := s.shareBoard(org)
	select {
	case <-c.done:
		if c.err != nil {
			return nil, c.err
		}
		b := *c.b // a copy: callers may set its fields
		return &b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// A board that took longer than boardSlow to make (a county's, summed
// from a million awards) is kept, so a lobby screen and every resident who
// opens it share one reading; it says when it was made. After boardKeep
// the next reader still gets it and one new board is made meanwhile; only
// a board older than boardStale (nobody looked for an hour) is waited for:
// a county's took 21–26 s at 1 M people, and a resident opening it after
// a quiet half hour is better shown the rankings of half an hour ago, with
// their time, than a wait.
// A board made quicker (a village's) is never kept, and shows an award
// the moment it posts. However many ask at once, one board of an org is
// made at a time (on the county's festival day, the first minute after a
// start must not make it once per resident).
var (
	boardSlow  = 300 * time.Millisecond
	boardKeep  = time.Minute
	boardStale = time.Hour
)

// boardMaking, when set (by a test), runs as each board starts being made.
var boardMaking func()

type boardCache struct {
	mu     sync.Mutex
	m      map[int64]keptBoard
	making map[int64]*boardCall
}

type keptBoard struct {
	b  *jifen.Board
	at time.Time
}

// boardCall is a board being made; done closes when b or err is set.
type boardCall struct {
	done chan struct{}
	b    *jifen.Board
	err  error
}

// get returns a copy of the kept board of org (nil if none or too old),
// and whether it is older than boardKeep.
func (c *boardCache) get(orgID int64) (*jifen.Board, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[orgID]
	if !ok || time.Since(k.at) > boardStale {
		return nil, false
	}
	b := *k.b
	return &b, time.Since(k.at) > boardKeep
}

// start returns the board of org being made, and whether it is new: the
// caller then makes it and calls finish.
func (c *boardCache) start(orgID int64) (*boardCall, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call := c.making[orgID]; call != nil {
		return call, false
	}
	if c.making == nil {
		c.making = map[int64]*boardCall{}
	}
	call := &boardCall{done: make(chan struct{})}
	c.making[orgID] = call
	return call, true
}

// finish records the board made for org, keeping it if it was slow.
func (c *boardCache) finish(orgID int64, b *jifen.Board, err error, slow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call := c.making[orgID]
	delete(c.making, orgID)
	if err == nil && slow {
		if c.m == nil {
			c.m = map[int64]keptBoard{}
		}
		for id, k := range c.m { // the expired go as others come
			if time.Since(k.at) > boardStale {
				delete(c.m, id)
			}
		}
		c.m[orgID] = keptBoard{b, time.Now()}
	}
	call.b, call.err = b, err
	close(call.done)
}

// shareBoard returns org's board being made for whoever asks, starting it
// if none is. It is made apart from any one request: a reader who leaves
// does not end it for the others; closing the database does.
func (s *PointsService) shareBoard(org *jifen.Org) *boardCall {
	c, fresh := s.db.boards.start(org.ID)
	if fresh {
		s.db.after.Add(1)
		go func() {
			defer s.db.after.Done()
			made := time.Now()
			if boardMaking != nil {
				boardMaking()
			}
			b, err := s.makeBoard(jifen.WithActor(s.db.closed, jifen.SystemActor()), org)
			s.db.boards.finish(org.ID, b, err, time.Since(made) > boardSlow)
		}()
	}
	return c
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
	if b.Month, err = s.ranking(ctx, org.Path, st, month+"-01", month+"-31"); err != nil {
		return nil, err
	}
	if b.Year, err = s.ranking(ctx, org.Path, st, year+"-01-01", year+"-12-31"); err != nil {
		return nil, err
	}
	if b.Honour, err = s.ranking(ctx, org.Path, st, lastMonth+"-01", lastMonth+"-31"); err != nil {
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
		aw.PersonName, aw.HouseholdName = s.show(st, aw.PersonName), s.show(st, aw.HouseholdName)
		aw.CreatedBy, aw.CreatedByName, aw.DecidedBy = 0, "", nil
		b.Recent = append(b.Recent, aw)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	b.Block, err = NewLedgerService(s.db).LatestBlock(ctx)
	return b, err
}

func (s *PointsService) show(st jifen.PointsSettings, name string) string {
	if st.MaskNames {
		return jifen.MaskMiddle(name)
	}
	return name
}

// ranking ranks by score earned between two days (awards less
// deductions), people or households as the org credits.
func (s *PointsService) ranking(ctx context.Context, path string, st jifen.PointsSettings, from, to string) ([]jifen.BoardRow, error) {
	// The awards are summed alone and only the top lines get their names:
	// joined first, every award of a county's year met its person and org
	// before the sum (1.4 s for 1.3 M awards; 0.6 s summed alone).
	q := `SELECT p.name, o.name, s.total FROM (SELECT a.person_id AS id, SUM(a.points) AS total, MIN(a.id) AS first FROM awards a
		WHERE ` + s.db.inSubtree("a.org_path") + ` AND a.status = 'posted' AND a.day >= ? AND a.day <= ? AND a.person_id IS NOT NULL
		GROUP BY a.person_id HAVING SUM(a.points) > 0 ORDER BY total DESC, first LIMIT ?) s
		JOIN people p ON p.id = s.id JOIN orgs o ON o.id = p.home_org_id ORDER BY s.total DESC, s.first`
	if st.PointsTo == jifen.ToHousehold {
		q = `SELECT h.name, o.name, s.total FROM (SELECT a.household_id AS id, SUM(a.points) AS total, MIN(a.id) AS first FROM awards a
		WHERE ` + s.db.inSubtree("a.org_path") + ` AND a.status = 'posted' AND a.day >= ? AND a.day <= ? AND a.household_id IS NOT NULL
		GROUP BY a.household_id HAVING SUM(a.points) > 0 ORDER BY total DESC, first LIMIT ?) s
		JOIN households h ON h.id = s.id JOIN orgs o ON o.id = h.org_id ORDER BY s.total DESC, s.first`
	}
	return s.rows(ctx, st, q, path, jifen.PathUpper(path), from, to, boardSize)
}

// allTime ranks by the score kept on each account.
func (s *PointsService) allTime(ctx context.Context, path string, st jifen.PointsSettings) ([]jifen.BoardRow, error) {
	q := `SELECT p.name, o.name, ac.score FROM accounts ac JOIN people p ON p.id = ac.owner_id JOIN orgs o ON o.id = p.home_org_id
		WHERE ac.kind = 'person' AND p.home_org_path >= ? AND p.home_org_path < ? AND ac.score > 0 ORDER BY ac.score DESC, ac.id LIMIT ?`
	if st.PointsTo == jifen.ToHousehold {
		q = `SELECT h.name, o.name, ac.score FROM accounts ac JOIN households h ON h.id = ac.owner_id JOIN orgs o ON o.id = h.org_id
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
		if err := rows.Scan(&r.Name, &r.OrgName, &r.Score); err != nil {
			return nil, err
		}
		r.Rank, r.Name = len(out)+1, s.show(st, r.Name)
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
