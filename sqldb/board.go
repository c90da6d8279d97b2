package sqldb

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
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
	kept, at, err := s.db.keptBoard(ctx, orgID)
	if err != nil {
		return nil, err
	}
	// (Another server's clock may run a little ahead: a board it kept
	// "in the future" is fresh.)
	if age := time.Since(at); kept != nil && age <= boardStale {
		if age > boardKeep {
			s.shareBoard(org) // for the next reader
		}
		return kept, nil
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
// made at a time in a server (on the county's festival day, the first
// minute after a start must not make it once per resident).
//
// Boards are kept in the database (kept_boards), not in memory: a restart
// or a second server shows the kept board at once, and a write that changes
// what boards may show (an erasure takes a name off them, a change of
// settings may mask names) drops them for every server in one statement.
// Such a write moves the generation on (dropBoards); a board is kept only
// if the generation has not moved since its reads began, and shown only
// under the generation it was kept in.
var (
	boardSlow  = 300 * time.Millisecond
	boardKeep  = time.Minute
	boardStale = time.Hour
)

// boardMaking, when set (by a test), runs as each board starts being made,
// after it has read the generation.
var boardMaking func()

// boardCache is the boards being made in this server.
type boardCache struct {
	mu     sync.Mutex
	making map[int64]*boardCall
}

// boardCall is a board being made; done closes when b or err is set.
type boardCall struct {
	done chan struct{}
	b    *jifen.Board
	err  error
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

// finish answers everyone waiting for org's board.
func (c *boardCache) finish(orgID int64, b *jifen.Board, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call := c.making[orgID]
	delete(c.making, orgID)
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
			ctx := jifen.WithActor(s.db.closed, jifen.SystemActor())
			began := time.Now()
			gen, err := s.db.boardGeneration(ctx)
			var b *jifen.Board
			if err == nil {
				if boardMaking != nil {
					boardMaking()
				}
				b, err = s.makeBoard(ctx, org)
			}
			if err == nil && time.Since(began) > boardSlow {
				// A board that cannot be kept is still shown to those who
				// waited for it.
				if kerr := s.db.keepBoard(ctx, org.ID, b, gen, began); kerr != nil {
					s.db.Log.Warn("board not kept", "org", org.ID, "err", kerr)
				}
			}
			s.db.boards.finish(org.ID, b, err)
		}()
	}
	return c
}

// boardGeneration reads the generation boards are kept under.
func (db *DB) boardGeneration(ctx context.Context) (int64, error) {
	var gen int64
	err := db.queryRow(ctx, "SELECT generation FROM kept_boards WHERE org_id = 0").Scan(&gen)
	return gen, err
}

// keptBoard reads org's kept board, if there is one under the current
// generation, and when it was made.
func (db *DB) keptBoard(ctx context.Context, orgID int64) (*jifen.Board, time.Time, error) {
	var at time.Time
	var body string
	err := db.queryRow(ctx, `SELECT b.made_at, b.body FROM kept_boards b JOIN kept_boards g ON g.org_id = 0 AND g.generation = b.generation
		WHERE b.org_id = ?`, orgID).Scan(&at, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	b := &jifen.Board{}
	if err := json.Unmarshal([]byte(body), b); err != nil {
		// Kept by a version of jifen whose board this one cannot read:
		// made again.
		return nil, time.Time{}, nil
	}
	return b, at, nil
}

// keepBoard keeps org's board b, made from reads that began under
// generation gen at began, unless the generation has moved on since.
func (db *DB) keepBoard(ctx context.Context, orgID int64, b *jifen.Board, gen int64, began time.Time) error {
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		// On PostgreSQL a share of the generation's row: a write dropping
		// the boards that has moved it on is waited for and then seen,
		// and one that has not yet deletes this board after it.
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
			orgID, gen, began, string(body))
		return err
	})
}

// dropBoards, in a write that changes what boards may show, forgets every
// kept board: the generation first, whose row a board being kept takes
// a share of (keepBoard), then the boards.
func (t *Tx) dropBoards(ctx context.Context) error {
	if _, err := t.exec(ctx, "UPDATE kept_boards SET generation = generation + 1 WHERE org_id = 0"); err != nil {
		return err
	}
	_, err := t.exec(ctx, "DELETE FROM kept_boards WHERE org_id <> 0")
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
	if st.PointsTo == jifen.ToHousehold {
		q := `SELECT h.name, o.name, s.total FROM (SELECT a.household_id AS id, SUM(a.points) AS total, MIN(a.id) AS first FROM awards a
		WHERE ` + s.db.inSubtree("a.org_path") + ` AND a.status = 'posted' AND a.day >= ? AND a.day <= ? AND a.household_id IS NOT NULL
		GROUP BY a.household_id HAVING SUM(a.points) > 0 ORDER BY total DESC, first LIMIT ?) s
		JOIN households h ON h.id = s.id JOIN orgs o ON o.id = h.org_id ORDER BY s.total DESC, s.first`
		return s.rows(ctx, st, q, path, jifen.PathUpper(path), from, to, boardSize)
	}
	// People erased on request are left off (their points stay in the
	// reports' sums): the sum takes as many more lines as there are
	// erased people (a partial index counts them), so that ten remain.
	var erased int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM people WHERE status = 'erased'").Scan(&erased); err != nil {
		return nil, err
	}
	q := `SELECT p.name, o.name, s.total FROM (SELECT a.person_id AS id, SUM(a.points) AS total, MIN(a.id) AS first FROM awards a
		WHERE ` + s.db.inSubtree("a.org_path") + ` AND a.status = 'posted' AND a.day >= ? AND a.day <= ? AND a.person_id IS NOT NULL
		GROUP BY a.person_id HAVING SUM(a.points) > 0 ORDER BY total DESC, first LIMIT ?) s
		JOIN people p ON p.id = s.id JOIN orgs o ON o.id = p.home_org_id WHERE p.status <> 'erased' ORDER BY s.total DESC, s.first LIMIT ?`
	return s.rows(ctx, st, q, path, jifen.PathUpper(path), from, to, boardSize+erased, boardSize)
}

// allTime ranks by the score kept on each account.
func (s *PointsService) allTime(ctx context.Context, path string, st jifen.PointsSettings) ([]jifen.BoardRow, error) {
	q := `SELECT p.name, o.name, ac.score FROM accounts ac JOIN people p ON p.id = ac.owner_id JOIN orgs o ON o.id = p.home_org_id
		WHERE ac.kind = 'person' AND p.home_org_path >= ? AND p.home_org_path < ? AND ac.score > 0 AND p.status <> 'erased'
		ORDER BY ac.score DESC, ac.id LIMIT ?`
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
