package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"jifen"
)

// DemoCounty makes up the names and happenings of a generated county;
// demo.County is the one jifen ships. Every draw comes from r, so a seed
// gives the same county.
type DemoCounty interface {
	Surname(r *rand.Rand) string
	GivenName(r *rand.Rand, female bool, birthYear int) string
	Town(r *rand.Rand) string
	Village(r *rand.Rand) string
	Activity(r *rand.Rand, month time.Month) (category, title string)
	Place(r *rand.Rand, village string) string
	StoreItems() (names []string, points []int64)
}

// DemoGen asks for a generated county of People residents with Years of
// history, built under an org of the demo county.
type DemoGen struct {
	People int
	Years  int
	Seed   uint64
	County DemoCounty
	// Under names the org the generated towns belong to (the demo's 崇信县),
	// so the demo's county admin and reviewer see the generated people.
	Under string
	// AwardBy and ReviewBy are the phones of the staff who award points by
	// rule and who approve the awards that wait for review.
	AwardBy, ReviewBy string
	// beforeCommit lets a test stop a village at the end of its transaction.
	beforeCommit func(step int) error
}

// DemoGenReport is what a generation run did and what the database holds.
type DemoGenReport struct {
	Villages int
	// Resumed counts villages an earlier, interrupted run had written.
	Resumed int
	Tables  []TableCount
	// Bytes is the database's size on disk.
	Bytes int64
}

// TableCount is the number of rows in one table.
type TableCount struct {
	Table string
	Rows  int64
}

// The shape of a generated county, from the issue: about ten verified
// service records per person over the history, a household per three
// people, one activity per village a week, three awards by rule and one
// purchase per person a year.
const (
	genVillageSize    = 800
	genVillagesInTown = 12
	genRecordsPerHead = 10
	genAwardsPerYear  = 3
	genPointsPerHour  = 10
	// A village of ~800 is the unit of work and of resumption: each is
	// written in one database transaction together with its progress row.
	genBlock = maxBlock
	// genWritersPG villages are written at once on PostgreSQL, each on its
	// own connection: one backend taking a village's COPY (index and
	// foreign-key upkeep) is slower than drawing it, so one writer left a
	// core idle. SQLite has one writer connection and stays at one.
	genWritersPG = 2
)

// demogenProgress records finished steps: step 0 the org tree and its
// parameters, step k the k-th village with the ids and chain head it left
// (demogen_resume.go), step -1 where that bookkeeping began. It is created
// here, not by a migration, because only a generated demo database has it.
const demogenProgress = `CREATE TABLE IF NOT EXISTS demogen_progress (step INTEGER PRIMARY KEY, note TEXT NOT NULL)`

// genTable is rows for one table, in column order.
type genTable struct {
	name string
	cols []string
	rows [][]any
}

func (t *genTable) add(row ...any) { t.rows = append(t.rows, row) }

// genSink writes a chunk's rows in one transaction: multi-row INSERTs on
// SQLite, COPY on PostgreSQL.
type genSink interface {
	copyRows(ctx context.Context, t *genTable) error
	exec(ctx context.Context, query string, args ...any) error
}

// sqliteSink batches rows into INSERTs of up to 500 rows. The statements
// are prepared once per run on the single writer connection (parsing an
// INSERT of 8,000 parameters costs more than running it) and bound to
// each village's transaction.
type sqliteSink struct {
	tx    *sql.Tx
	stmts *genStmts
}

// genStmts holds, per table, an INSERT of a full batch and one of a single row.
type genStmts struct {
	db    *DB
	batch map[string]*sql.Stmt
	one   map[string]*sql.Stmt
}

func genPer(t *genTable) int { return min(500, 30000/len(t.cols)) }

func insertSQL(t *genTable, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") VALUES ")
	one := "(" + marks(len(t.cols)) + ")"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

// prepare readies the statements of tables; it must run while no
// transaction holds the writer.
func (g *genStmts) prepare(ctx context.Context, tables []*genTable) error {
	for _, t := range tables {
		if g.batch[t.name] != nil {
			continue
		}
		b, err := g.db.w.PrepareContext(ctx, insertSQL(t, genPer(t)))
		if err != nil {
			return fmt.Errorf("demogen: %s: %w", t.name, err)
		}
		o, err := g.db.w.PrepareContext(ctx, insertSQL(t, 1))
		if err != nil {
			b.Close()
			return fmt.Errorf("demogen: %s: %w", t.name, err)
		}
		g.batch[t.name], g.one[t.name] = b, o
	}
	return nil
}

func (g *genStmts) close() {
	for _, m := range []map[string]*sql.Stmt{g.batch, g.one} {
		for _, st := range m {
			st.Close()
		}
	}
}

func (s *sqliteSink) copyRows(ctx context.Context, t *genTable) error {
	per := genPer(t)
	batch, one := s.tx.StmtContext(ctx, s.stmts.batch[t.name]), s.tx.StmtContext(ctx, s.stmts.one[t.name])
	args := make([]any, 0, per*len(t.cols))
	for start := 0; start < len(t.rows); start += per {
		chunk := t.rows[start:min(start+per, len(t.rows))]
		if len(chunk) < per {
			for _, r := range chunk {
				if _, err := one.ExecContext(ctx, r...); err != nil {
					return fmt.Errorf("demogen: %s: %w", t.name, err)
				}
			}
			break
		}
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := batch.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("demogen: %s: %w", t.name, err)
		}
	}
	return nil
}

func (s *sqliteSink) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.tx.ExecContext(ctx, query, args...)
	return err
}

// genTx runs fn in one write transaction: a *sql.Tx on SQLite, a pgx
// transaction (for COPY) on PostgreSQL. tables are the ones fn will fill.
func (db *DB) genTx(ctx context.Context, stmts *genStmts, tables []*genTable, fn func(genSink) error) error {
	if db.dialect.name() == "postgres" {
		return db.pgTx(ctx, fn)
	}
	if err := stmts.prepare(ctx, tables); err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(&sqliteSink{tx: tx, stmts: stmts}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// genVillage is a village of the plan with the ids its setup gave it.
type genVillage struct {
	name, path           string
	id, store, issuance  int64
	storeAcct, firstItem int64
	people, offset       int // residents, and how many came before in other villages
}

// genPlan is everything about the county that does not depend on one
// village: it is the same every run with the same parameters.
type genPlan struct {
	g                     DemoGen
	anchor, start         time.Time
	under                 *jifen.Org
	villages              []genVillage
	towns                 []string
	townOf                []int
	awardBy, reviewBy     int64
	issuers               map[int64]int64 // org → its issuance account
	itemNames             []string
	itemPoints            []int64
	rules                 []*jifen.Rule
	serviceRule           *jifen.Rule
	publicDays, appealDay int
	// sealed is when the generated blocks are sealed: one time for the
	// county, kept in its progress, so a village written again after an
	// interruption hashes to the block the next village already links to.
	sealed time.Time
}

// GenerateDemo writes a generated county of g.People residents on top of
// the demo county, village by village, each in one transaction with its
// progress row, so a run that is killed continues where it stopped (on
// PostgreSQL two villages are written at once and may finish in either
// order; a rerun writes whichever are missing). The
// rows are the ones the services would write (people, households,
// activities with their sign-ups, attendance and verified records, awards
// by rule, sales at each village's points supermarket, and every ledger
// transaction with its postings, sealed into blocks), but written in bulk:
// generated people have no password, phone or ID number, and the inbox
// messages and per-row audit lines the services would add are left out
// (one audit line per village says it was generated). Progress is
// reported through jifen.ProgressFrom(ctx) in people.
func (db *DB) GenerateDemo(ctx context.Context, g DemoGen) (*DemoGenReport, error) {
	if g.People <= 0 || g.Years <= 0 || g.Years > 20 {
		return nil, jifen.Invalid("people", "人数须大于0，年数为1到20", "People must be positive and years 1 to 20")
	}
	if g.County == nil {
		return nil, errors.New("demogen: no county to draw names from")
	}
	if _, err := db.w.ExecContext(ctx, demogenProgress); err != nil {
		return nil, err
	}
	if db.dialect.name() == "sqlite" {
		// Only while loading: a crash loses at most the village being
		// written, which the next run writes again. A large page cache
		// keeps the indexes' upper levels in memory as they grow. Foreign
		// keys are not looked up row by row for rows made consistent by
		// construction (the test runs PRAGMA foreign_key_check after a load).
		for _, q := range []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -1000000", "PRAGMA foreign_keys = OFF"} {
			if _, err := db.w.ExecContext(ctx, q); err != nil {
				return nil, err
			}
		}
		// The cache is left large: shrinking it frees a gigabyte page by
		// page (20 s of madvise calls), and the command exits next.
		defer func() {
			for _, q := range []string{"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"} {
				db.w.ExecContext(context.WithoutCancel(ctx), q)
			}
		}()
	}
	var note string
	err := db.w.QueryRowContext(ctx, "SELECT note FROM demogen_progress WHERE step = 0").Scan(&note)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	params := fmt.Sprintf("people=%d years=%d seed=%d under=%s", g.People, g.Years, g.Seed, g.Under)
	now := db.Now().In(jifen.Zone)
	anchor := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, jifen.Zone)
	var bases [4]int64
	if note != "" {
		// A rerun continues the same county: same parameters, same dates.
		var got string
		var unix int64
		if i := strings.Index(note, " anchor="); i < 0 {
			return nil, fmt.Errorf("demogen: unreadable progress %q", note)
		} else {
			got = note[:i]
			if _, err := fmt.Sscanf(note[i:], " anchor=%d bases=%d,%d,%d,%d", &unix, &bases[0], &bases[1], &bases[2], &bases[3]); err != nil {
				return nil, fmt.Errorf("demogen: unreadable progress %q: %w", note, err)
			}
		}
		if got != params {
			return nil, jifen.Conflict("demo_exists", "数据库里已有用其他参数生成的示例县（"+got+"）",
				"This database already holds a county generated with other parameters ("+got+")")
		}
		anchor = time.Unix(unix, 0).In(jifen.Zone)
	}
	// Names the county may not take are those of orgs older than it: on a
	// rerun its own towns and villages are not in the way of themselves.
	orgsBefore := int64(1 << 62)
	if note != "" {
		orgsBefore = bases[0]
	}
	plan, err := db.genPlan(ctx, g, anchor, orgsBefore)
	if err != nil {
		return nil, err
	}
	// The demo's own transactions go into blocks first, so the generated
	// blocks continue a chain with nothing waiting before them.
	if err := db.sealAll(ctx); err != nil {
		return nil, err
	}
	if note == "" {
		if bases, err = db.genSetup(ctx, plan, params); err != nil {
			return nil, err
		}
	}
	plan.assign(bases)
	if plan.rules, plan.serviceRule, err = db.genRules(ctx, plan); err != nil {
		return nil, err
	}
	done, err := db.genProgress(ctx, len(plan.villages))
	if err != nil {
		return nil, err
	}
	rep := &DemoGenReport{Villages: len(plan.villages), Resumed: len(done.villages)}
	progress := jifen.ProgressFrom(ctx)
	total := 0
	for step := range done.villages {
		total += plan.villages[step-1].people
	}
	progress(total, g.People)
	if len(done.villages) < len(plan.villages) {
		err := db.genVillages(ctx, plan, done, func(people int) {
			total += people
			progress(total, g.People)
		})
		if err != nil {
			return nil, err
		}
	}
	// The bulk rows bypassed the services, so the report roll-ups are
	// computed from them once, at the end.
	if err := db.RebuildReports(ctx); err != nil {
		return nil, err
	}
	if err := db.genVacuum(ctx); err != nil {
		return nil, err
	}
	if rep.Tables, err = db.genCounts(ctx); err != nil {
		return nil, err
	}
	rep.Bytes, err = db.Size(ctx)
	return rep, err
}

// genVacuum gives PostgreSQL's planner the statistics of what was loaded,
// and its visibility map, at the end, as after any bulk load: autovacuum
// may be off (it is on this project's machine), and until it runs, a
// fresh county's planner guessed 42 thousand of its 12.7 M awards and
// sorted them all for each page of a list (3.3–8.3 s), and its counts
// read the table where the index alone would do (1.8 s against 0.4).
// SQLite keeps no statistics by design (county_reads_test.go).
func (db *DB) genVacuum(ctx context.Context) error {
	if db.dialect.name() != "postgres" {
		return nil
	}
	rows, err := db.query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, quoteIdent(t))
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(tables) == 0 {
		return err
	}
	// VACUUM runs outside a transaction: on the pool, as one statement.
	_, err = db.w.ExecContext(ctx, "VACUUM (ANALYZE) "+strings.Join(tables, ", "))
	return err
}

// sealAll seals whatever is waiting. On PostgreSQL the sealer's lock may be
// held by another instance (or another test schema): wait for it.
func (db *DB) sealAll(ctx context.Context) error {
	ledger := NewLedgerService(db)
	sctx := jifen.WithActor(ctx, jifen.SystemActor())
	for deadline := time.Now().Add(time.Minute); ; {
		b, err := ledger.Seal(sctx)
		if err != nil {
			return err
		}
		if b != nil {
			continue
		}
		var waiting int
		if err := db.queryRow(ctx, "SELECT COUNT(*) FROM unsealed").Scan(&waiting); err != nil {
			return err
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("demogen: the ledger's sealer lock stayed taken for a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// genVillages draws the villages not yet written, in plan order, on one
// goroutine, and writes them as they come: two at a time on PostgreSQL, one
// on SQLite. Each village is drawn from the ids and chain head the village
// before it left, so its rows are the same whichever transaction commits
// first, and the same as in a run that wrote one village at a time.
// wrote is called on this goroutine after each commit.
func (db *DB) genVillages(ctx context.Context, p *genPlan, done *genDone, wrote func(people int)) error {
	first, ids, err := db.genStart(ctx, done, len(p.villages))
	if err != nil {
		return err
	}
	p.sealed = done.sealed
	// Rows that something other than the generator added after the last
	// finished village (the services on a half-generated county) keep their
	// ids: the villages after it start past them, as they always did.
	latest, err := db.genNextIDs(ctx)
	if err != nil {
		return err
	}
	high := 0
	for step := range done.villages {
		high = max(high, step)
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan *genChunk, 1)
	go func() {
		defer close(chunks)
		for k := first; k < len(p.villages); k++ {
			if after, ok := done.villages[k+1]; ok {
				// Written by an earlier run: go on from where it left off.
				ids = after.clone()
				continue
			}
			if k+1 > high && latest != nil {
				ids.atLeast(latest)
				latest = nil
			}
			c := p.village(k, ids, db.now())
			select {
			case chunks <- c:
			case <-gctx.Done():
				return
			}
		}
	}()
	writers := 1
	if db.dialect.name() == "postgres" {
		writers = genWritersPG
	}
	// Only SQLite's one writer uses the prepared statements.
	stmts := &genStmts{db: db, batch: map[string]*sql.Stmt{}, one: map[string]*sql.Stmt{}}
	defer stmts.close()
	type written struct {
		people int
		err    error
	}
	results := make(chan written)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for c := range chunks {
				if gctx.Err() != nil {
					return
				}
				results <- written{c.people, db.genWrite(gctx, stmts, c, p.g.beforeCommit)}
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	var failed error
	for r := range results {
		switch {
		case r.err != nil && failed == nil:
			// The other village in flight is rolled back too; the next
			// run writes both.
			failed = r.err
			cancel()
		case r.err == nil:
			wrote(r.people)
		}
	}
	if failed != nil {
		return failed
	}
	return ctx.Err()
}

// genPlan draws the org tree's shape and names and finds the demo's staff.
func (db *DB) genPlan(ctx context.Context, g DemoGen, anchor time.Time, orgsBefore int64) (*genPlan, error) {
	p := &genPlan{g: g, anchor: anchor, start: anchor.AddDate(-g.Years, 0, 0)}
	var uid int64
	if err := db.queryRow(ctx, "SELECT id FROM orgs WHERE name = ? AND archived_at IS NULL ORDER BY id LIMIT 1", g.Under).Scan(&uid); err != nil {
		return nil, fmt.Errorf("demogen: the org %q to build under (load the demo county first): %w", g.Under, err)
	}
	var err error
	if p.under, err = db.getOrg(ctx, uid); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		phone string
		id    *int64
	}{{g.AwardBy, &p.awardBy}, {g.ReviewBy, &p.reviewBy}} {
		if err := db.queryRow(ctx, "SELECT id FROM people WHERE phone = ?", s.phone).Scan(s.id); err != nil {
			return nil, fmt.Errorf("demogen: staff %s: %w", s.phone, err)
		}
	}
	p.itemNames, p.itemPoints = g.County.StoreItems()
	// Names already taken stay taken, so the demo's 新窑村 remains the
	// only one and lookups by name find it.
	taken := map[string]bool{}
	rows, err := db.query(ctx, "SELECT name FROM orgs WHERE id <= ?", orgsBefore)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		taken[n] = true
	}
	rows.Close()
	r := rand.New(rand.NewPCG(g.Seed, 0))
	// Towns are unique in the county, villages within their town (real
	// counties repeat village names across towns); none repeats a name
	// the database already holds. A name space that runs out gets numbers.
	draw := func(f func(*rand.Rand) string, scope string, used map[string]bool) string {
		for try := 0; ; try++ {
			n := f(r)
			if try > 200 {
				n = fmt.Sprintf("%s%d", n, try)
			}
			if !taken[n] && !used[scope+"|"+n] {
				used[scope+"|"+n] = true
				return n
			}
		}
	}
	used := map[string]bool{}
	nv := max(1, (g.People+genVillageSize/2)/genVillageSize)
	nt := (nv + genVillagesInTown - 1) / genVillagesInTown
	for range nt {
		p.towns = append(p.towns, draw(g.County.Town, "", used))
	}
	// Villages vary from half to one and a half times the mean; the last
	// takes what is left so the total is exact.
	weights := make([]float64, nv)
	sum := 0.0
	for i := range weights {
		weights[i] = 0.5 + r.Float64()
		sum += weights[i]
	}
	left := g.People
	for i := range nv {
		n := int(float64(g.People) * weights[i] / sum)
		if i == nv-1 || n > left {
			n = left
		}
		n = max(n, 0)
		p.villages = append(p.villages, genVillage{name: draw(g.County.Village, strconv.Itoa(i/genVillagesInTown), used), people: n, offset: g.People - left})
		p.townOf = append(p.townOf, i/genVillagesInTown)
		left -= n
	}
	return p, nil
}

// assign gives the plan's villages the ids setup wrote them with: orgs,
// stores, items and accounts each from a base, in plan order.
func (p *genPlan) assign(bases [4]int64) {
	org, store, item, acct := bases[0], bases[1], bases[2], bases[3]
	nt, nv, ni := int64(len(p.towns)), int64(len(p.villages)), int64(len(p.itemNames))
	for i := range p.villages {
		v := &p.villages[i]
		k := int64(i)
		v.id = org + nt + k + 1
		v.path = jifen.OrgPath(jifen.OrgPath(p.under.Path, org+int64(p.townOf[i])+1), v.id)
		v.store = store + k + 1
		v.firstItem = item + k*ni + 1
		v.issuance = acct + k + 1
		v.storeAcct = acct + nv + k + 1
	}
}

func maxID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, table, col string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX("+col+"), 0) FROM "+table).Scan(&n)
	return n, err
}

// genSetup writes the towns, villages, their supermarkets with a shelf of
// goods, and the villages' issuance and store accounts, with step 0.
func (db *DB) genSetup(ctx context.Context, p *genPlan, params string) ([4]int64, error) {
	var bases [4]int64
	for i, t := range []string{"orgs", "stores", "items", "accounts"} {
		var err error
		if bases[i], err = maxID(ctx, db.w, t, "id"); err != nil {
			return bases, err
		}
	}
	p.assign(bases)
	r := rand.New(rand.NewPCG(p.g.Seed, 1))
	created := p.start.AddDate(-3, 0, 0).UTC()
	orgs := &genTable{name: "orgs", cols: []string{"id", "parent_id", "kind", "name", "path", "depth", "leader_name", "contact_phone", "address", "created_at"}}
	county := strings.TrimSuffix(strings.TrimSuffix(p.g.Under, "县"), "区")
	for i, t := range p.towns {
		id := bases[0] + int64(i) + 1
		leader := p.g.County.Surname(r) + p.g.County.GivenName(r, r.IntN(2) == 0, 1970)
		orgs.add(id, p.under.ID, string(jifen.OrgTown), t, jifen.OrgPath(p.under.Path, id), p.under.Depth+1, leader,
			fmt.Sprintf("0933-6%06d", r.IntN(1000000)), county+"县"+t, created)
	}
	stores := &genTable{name: "stores", cols: []string{"id", "org_id", "org_path", "name", "kind", "address", "hours", "serves_org_id", "serves_path",
		"confirm_above", "fen_per_point", "hold_hours", "refund_days", "created_at"}}
	items := &genTable{name: "items", cols: []string{"id", "store_id", "name", "points", "stock", "per_person_limit", "limit_period", "low_stock",
		"valid_from", "valid_to", "created_at"}}
	accts := &genTable{name: "accounts", cols: []string{"id", "kind", "owner_id", "balance", "score", "created_at"}}
	opened := p.start.UTC()
	for i, v := range p.villages {
		town := bases[0] + int64(p.townOf[i]) + 1
		orgs.add(v.id, town, string(jifen.OrgVillage), v.name, v.path, p.under.Depth+2, "", "", p.towns[p.townOf[i]]+v.name+"村委会", created)
		stores.add(v.store, v.id, v.path, v.name+"积分超市", string(jifen.Supermarket), v.name+"村委会一楼", "周一至周六 8:30–17:30",
			v.id, v.path, 0, 100, 48, 7, opened)
		for j, name := range p.itemNames {
			items.add(v.firstItem+int64(j), v.store, name, p.itemPoints[j], nil, 0, string(jifen.PerMonth), 0, "", "", opened)
		}
	}
	for _, v := range p.villages {
		accts.add(v.issuance, string(jifen.AccountIssuance), v.id, 0, 0, opened)
	}
	for _, v := range p.villages {
		accts.add(v.storeAcct, string(jifen.AccountStore), v.store, 0, 0, opened)
	}
	// Read before the transaction: on SQLite it holds the only writer.
	audit, err := maxID(ctx, db.w, "audit_log", "id")
	if err != nil {
		return bases, err
	}
	stmts := &genStmts{db: db, batch: map[string]*sql.Stmt{}, one: map[string]*sql.Stmt{}}
	defer stmts.close()
	tables := []*genTable{orgs, stores, items, accts}
	err = db.genTx(ctx, stmts, tables, func(sink genSink) error {
		for _, t := range tables {
			if err := sink.copyRows(ctx, t); err != nil {
				return err
			}
		}
		if err := sink.exec(ctx, db.q(`INSERT INTO audit_log (id, at, org_id, org_path, action, target_type, target_id, detail) VALUES (?, ?, ?, ?, 'demo.generate', 'org', ?, ?)`),
			audit+1, db.now(), p.under.ID, p.under.Path, p.under.ID, fmt.Sprintf("%d towns, %d villages (%s)", len(p.towns), len(p.villages), params)); err != nil {
			return err
		}
		if err := sink.exec(ctx, db.q("INSERT INTO demogen_progress (step, note) VALUES (0, ?)"),
			fmt.Sprintf("%s anchor=%d bases=%d,%d,%d,%d", params, p.anchor.Unix(), bases[0], bases[1], bases[2], bases[3])); err != nil {
			return err
		}
		return db.genSequences(ctx, sink, "orgs", "stores", "items", "accounts", "audit_log")
	})
	return bases, err
}

// genSequences moves PostgreSQL's identity sequences past the ids written
// explicitly, so the services' next inserts do not collide with them.
func (db *DB) genSequences(ctx context.Context, s genSink, tables ...string) error {
	if db.dialect.name() != "postgres" {
		return nil
	}
	for _, t := range tables {
		if err := s.exec(ctx, fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), GREATEST((SELECT MAX(id) FROM %s), 1))", t, t)); err != nil {
			return err
		}
	}
	return nil
}

// genRules reads the rules in force in the generated villages (all have
// the same ancestors) and keeps those an award by staff can use the same
// way every year: no life caps, no org-wide caps or budgets to count.
func (db *DB) genRules(ctx context.Context, p *genPlan) ([]*jifen.Rule, *jifen.Rule, error) {
	v := p.villages[0]
	st, err := settingsAt(ctx, db, v.id, v.path)
	if err != nil {
		return nil, nil, err
	}
	if st.DailyCap > 0 || st.YearlyBudget > 0 || st.PointsTo != jifen.ToPerson || st.Expiry != jifen.ExpiryNever {
		return nil, nil, fmt.Errorf("demogen: %s sets caps, budgets, household points or expiry; generate under an org without them", p.g.Under)
	}
	p.publicDays, p.appealDay = st.PublicDays, st.AppealDays
	rows, err := rulesAt(ctx, db, v.path)
	if err != nil {
		return nil, nil, err
	}
	var out []*jifen.Rule
	var service *jifen.Rule
	for _, r := range rows {
		switch {
		case r.Code == jifen.ServiceHoursCode:
			service = r.Rule
		case r.Archived || r.LifeCap > 0 || r.ValidFrom != "" || r.ValidTo != "" || r.Points == 0:
		default:
			out = append(out, r.Rule)
		}
	}
	if service == nil {
		return nil, nil, errors.New("demogen: the built-in service-hours rule is missing")
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("demogen: no rules in force at %s: import the demo rules first", p.g.Under)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	// Awards by rule are paid by the rule's org, as the services do.
	p.issuers = map[int64]int64{}
	err = db.inTx(ctx, func(tx *Tx) error {
		for _, r := range out {
			if _, ok := p.issuers[r.OrgID]; ok {
				continue
			}
			a, err := tx.account(ctx, jifen.AccountIssuance, r.OrgID)
			if err != nil {
				return err
			}
			p.issuers[r.OrgID] = a.ID
		}
		return nil
	})
	return out, service, err
}

// genIDs are the next ids per table, handed out in order as a village is
// drawn; the block chain's head moves with them.
type genIDs struct {
	next      map[string]int64
	block     int64
	blockHash string
}

func (ids *genIDs) take(table string) int64 {
	ids.next[table]++
	return ids.next[table]
}

var genIDTables = []string{"people", "households", "accounts", "activities", "signups", "attendance", "service_records", "awards",
	"ledger_transactions", "postings", "redemptions", "grants", "audit_log"}

func (db *DB) genNextIDs(ctx context.Context) (*genIDs, error) {
	ids := &genIDs{next: map[string]int64{}, blockHash: genesis}
	for _, t := range genIDTables {
		n, err := maxID(ctx, db.w, t, "id")
		if err != nil {
			return nil, err
		}
		ids.next[t] = n
	}
	err := db.w.QueryRowContext(ctx, "SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1").Scan(&ids.block, &ids.blockHash)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return ids, err
}

// genChunk is one village's rows, ready to write.
type genChunk struct {
	step      int
	people    int
	tables    []*genTable
	storeAcct int64
	storeGain int64
	note      string
	// after is the ids and chain head the village leaves for the next one,
	// kept with its progress row.
	after string
}

type genPerson struct {
	id        int64
	name      string
	female    bool
	born      time.Time
	account   int64
	balance   int64
	score     int64
	opened    time.Time
	volunteer bool
}

// genEvent is something that moves points, put in time order before the
// ledger sees it, so balances (and deductions that find too little, and
// purchases that cannot be afforded) come out as they would have.
type genEvent struct {
	at     time.Time
	seq    int
	person int
	kind   int // genService, genAward, genSale
	// service
	record, minutes int64
	title           string
	day             string
	// award
	rule *jifen.Rule
	qty  int64
	// when an award waited for review: its filing time
	filed time.Time
}

const (
	genService = iota
	genAward
	genSale
)

func (p *genPlan) village(k int, ids *genIDs, now time.Time) *genChunk {
	v := p.villages[k]
	c := p.g.County
	r := rand.New(rand.NewPCG(p.g.Seed, uint64(k)+2))
	utc := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
	at := func(from, to time.Time) time.Time {
		if to.Sub(from) < time.Second {
			return from
		}
		return from.Add(time.Duration(r.Int64N(int64(to.Sub(from)/time.Second))) * time.Second)
	}
	ch := &genChunk{step: k + 1, people: v.people, storeAcct: v.storeAcct}
	people := &genTable{name: "people", cols: []string{"id", "name", "gender", "birth_date", "political_status", "home_org_id", "home_org_path",
		"volunteer_no", "status", "created_at", "updated_at"}}
	households := &genTable{name: "households", cols: []string{"id", "org_id", "org_path", "name", "head_person_id", "created_at"}}
	members := &genTable{name: "household_members", cols: []string{"person_id", "household_id", "joined_at"}}
	var ps []*genPerson
	registered := func() time.Time { return at(p.start.AddDate(-2, 0, 0), p.start) }
	for len(ps) < v.people {
		size := min([]int{1, 2, 2, 3, 3, 3, 4, 4, 5, 6}[r.IntN(10)], v.people-len(ps))
		surname := c.Surname(r)
		headAge := 28 + r.IntN(50)
		headFemale := r.IntN(5) == 0
		joined := registered()
		hid := ids.take("households")
		for m := range size {
			age, female, sn := headAge, headFemale, surname
			switch {
			case m == 1: // the spouse keeps their own surname
				age, female, sn = max(20, headAge-3+r.IntN(7)), !headFemale, c.Surname(r)
			case m == 2 && headAge < 60 && r.IntN(4) == 0: // a parent living with them
				age, female = min(95, headAge+22+r.IntN(10)), r.IntN(2) == 0
			case m >= 2:
				age, female = max(1, headAge-22-r.IntN(14)), r.IntN(2) == 0
			}
			by := p.start.Year() - age
			born := time.Date(by, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, jifen.Zone)
			pp := &genPerson{id: ids.take("people"), name: sn + c.GivenName(r, female, by), female: female, born: born}
			pp.volunteer = age >= 16 && age <= 72 && r.IntN(2) == 0
			ps = append(ps, pp)
			gender, party := jifen.Male, jifen.Masses
			if female {
				gender = jifen.Female
			}
			switch x := r.IntN(100); {
			case age >= 18 && x < 9:
				party = jifen.PartyMember
			case age >= 14 && age <= 28 && x < 30:
				party = jifen.LeagueMember
			}
			reg := utc(joined)
			idx := int64(v.offset + len(ps))
			no := fmt.Sprintf("%d%08d", reg.In(jifen.Zone).Year(), (idx*7919+int64(p.g.Seed%1000)*104729+12345)%100_000_000)
			people.add(pp.id, pp.name, string(gender), born.Format("2006-01-02"), string(party), v.id, v.path, no, string(jifen.PersonActive), reg, reg)
			if m == 0 {
				households.add(hid, v.id, v.path, pp.name+"户", pp.id, reg)
			}
			members.add(pp.id, hid, reg)
		}
	}
	// The first resident runs the village (and its volunteer team), the
	// second keeps the supermarket's till.
	leader, clerk := ps[0].id, ps[min(1, len(ps)-1)].id
	grants := &genTable{name: "grants", cols: []string{"id", "person_id", "org_id", "role", "created_at"}}
	grants.add(ids.take("grants"), leader, v.id, string(jifen.RoleOrgAdmin), utc(p.start))
	clerks := &genTable{name: "store_clerks", cols: []string{"store_id", "person_id", "created_at"}}
	clerks.add(v.store, clerk, utc(p.start))

	var pool []int
	for i, pp := range ps {
		if pp.volunteer {
			pool = append(pool, i)
		}
	}
	if len(pool) == 0 {
		for i := range ps {
			pool = append(pool, i)
		}
	}
	acts := &genTable{name: "activities", cols: []string{"id", "org_id", "org_path", "title", "description", "category", "address", "starts_at", "ends_at",
		"capacity", "points_per_hour", "status", "confirmed", "created_by", "created_at", "published_at", "verified_at", "verified_by"}}
	signups := &genTable{name: "signups", cols: []string{"id", "activity_id", "person_id", "status", "queued_at", "added_by", "updated_at"}}
	attendance := &genTable{name: "attendance", cols: []string{"id", "activity_id", "person_id", "started_at", "ended_at", "how", "auto_closed",
		"recorded_by", "created_at"}}
	records := &genTable{name: "service_records", cols: []string{"id", "person_id", "org_id", "org_path", "activity_id", "content", "place",
		"started_at", "ended_at", "minutes", "how", "recorded_by", "verified_by", "verified_at"}}
	var events []genEvent
	weeks := 52 * p.g.Years
	type slot struct{ starts, ends time.Time }
	var slots []slot
	for w := range weeks {
		d := p.start.AddDate(0, 0, 7*w+r.IntN(7))
		hours := []int{1, 2, 2, 2, 3, 3, 3, 4}[r.IntN(8)]
		starts := time.Date(d.Year(), d.Month(), d.Day(), 8+r.IntN(8), 30*r.IntN(2), 0, 0, jifen.Zone)
		ends := starts.Add(time.Duration(hours) * time.Hour)
		// Verified three hours after it ends, all before today.
		if ends.Add(3 * time.Hour).After(p.anchor) {
			continue
		}
		slots = append(slots, slot{starts, ends})
	}
	want := genRecordsPerHead * v.people
	seq := 0
	for i, s := range slots {
		n := want / len(slots)
		if i < want%len(slots) {
			n++
		}
		n = min(n, len(pool))
		category, title := c.Activity(r, s.starts.Month())
		place := c.Place(r, v.name)
		created := s.starts.AddDate(0, 0, -5)
		verified := utc(s.ends.Add(3 * time.Hour))
		aid := ids.take("activities")
		acts.add(aid, v.id, v.path, title, "请穿志愿者马甲，提前10分钟到场签到。", category, place, utc(s.starts), utc(s.ends),
			n, genPointsPerHour, string(jifen.ActivityVerified), n, leader, utc(created), utc(created), verified, leader)
		// n distinct volunteers: the front of a partial shuffle.
		for j := range n {
			x := j + r.IntN(len(pool)-j)
			pool[j], pool[x] = pool[x], pool[j]
		}
		picked := slices.Clone(pool[:n])
		slices.Sort(picked)
		for _, pi := range picked {
			pp := ps[pi]
			queued := utc(at(created, s.starts.Add(-time.Hour)))
			signups.add(ids.take("signups"), aid, pp.id, string(jifen.SignupConfirmed), queued, pp.id, queued)
			arrive := s.starts.Add(time.Duration(r.IntN(25*60)-10*60) * time.Second)
			leave := s.ends.Add(time.Duration(r.IntN(30*60)-20*60) * time.Second)
			autoClosed := r.IntN(25) == 0 // forgot to check out: closed at the end
			if autoClosed {
				leave = s.ends
			}
			arrive, leave = utc(arrive), utc(leave)
			attendance.add(ids.take("attendance"), aid, pp.id, arrive, leave, jifen.HowSelf, autoClosed, pp.id, arrive)
			span := [][2]time.Time{{arrive, leave}}
			minutes := jifen.Presence(span, s.starts, s.ends)
			if minutes <= 0 {
				continue
			}
			first, last := bounds(span, s.starts, s.ends)
			rid := ids.take("service_records")
			records.add(rid, pp.id, v.id, v.path, aid, category+"："+title, place, utc(first), utc(last), minutes, jifen.HowSelf, pp.id, leader, verified)
			seq++
			events = append(events, genEvent{at: verified, seq: seq, person: pi, kind: genService, record: rid, minutes: int64(minutes),
				title: title, day: localDay(first)})
		}
	}
	// Awards by rule, about three a person a year; within a calendar year
	// each rule at most once, so no daily, monthly or yearly cap is passed.
	end := p.anchor.AddDate(0, 0, -1)
	for pi := range ps {
		for y := p.start.Year(); y <= end.Year(); y++ {
			from, to := time.Date(y, 1, 1, 0, 0, 0, 0, jifen.Zone), time.Date(y+1, 1, 1, 0, 0, 0, 0, jifen.Zone)
			if from.Before(p.start) {
				from = p.start
			}
			if to.After(end) {
				to = end
			}
			if !to.After(from) {
				continue
			}
			frac := float64(to.Sub(from)) / float64(365*24*time.Hour)
			n := int(frac*float64(genAwardsPerYear)*(0.4+1.2*r.Float64()) + 0.5)
			used := map[int]bool{}
			for range n {
				var ri int
				for {
					ri = r.IntN(len(p.rules))
					neg := p.rules[ri].Points < 0
					// Deductions are about one award in eight.
					if !used[ri] && neg == (r.IntN(8) == 0) {
						break
					}
					if len(used) >= len(p.rules)/2 {
						break
					}
				}
				if used[ri] {
					continue
				}
				used[ri] = true
				rule := p.rules[ri]
				qty := int64(1)
				if rule.Unit != jifen.PerEvent {
					limit := int64(3)
					for _, cp := range []int64{rule.DailyCap, rule.MonthlyCap, rule.YearlyCap} {
						if cp > 0 {
							limit = min(limit, cp)
						}
					}
					qty = 1 + r.Int64N(limit)
				}
				d := at(from, to)
				filed := time.Date(d.Year(), d.Month(), d.Day(), 9+r.IntN(8), r.IntN(60), r.IntN(60), 0, jifen.Zone)
				posted := filed
				if rule.NeedsReview {
					posted = filed.Add(time.Duration(1+r.IntN(48)) * time.Hour)
				}
				if !posted.Before(p.anchor) {
					continue
				}
				seq++
				events = append(events, genEvent{at: utc(posted), seq: seq, person: pi, kind: genAward, rule: rule, qty: qty, filed: utc(filed)})
			}
			// About one purchase a person a year, when there are points for it.
			if r.Float64() < frac {
				d := at(from, to)
				t := time.Date(d.Year(), d.Month(), d.Day(), 9+r.IntN(8), r.IntN(60), r.IntN(60), 0, jifen.Zone)
				if t.Before(p.anchor) {
					seq++
					events = append(events, genEvent{at: utc(t), seq: seq, person: pi, kind: genSale})
				}
			}
		}
	}
	sort.Slice(events, func(i, j int) bool {
		if !events[i].at.Equal(events[j].at) {
			return events[i].at.Before(events[j].at)
		}
		return events[i].seq < events[j].seq
	})

	awards := &genTable{name: "awards", cols: []string{"id", "org_id", "org_path", "issuer_org_id", "rule_id", "rule_version_id", "person_id",
		"account_id", "quantity", "minutes", "points", "note", "status", "source", "record_id", "on_behalf", "idem_key", "request_hash", "day",
		"created_by", "created_at", "decided_by", "decided_at", "tx_id", "shortfall", "posted_at", "public_until", "appeal_until"}}
	sales := &genTable{name: "redemptions", cols: []string{"id", "store_id", "person_id", "account_id", "status", "points", "pickup_code",
		"clerk_id", "tx_id", "idem_key", "request_hash", "created_by", "created_at", "done_at", "buyer_org_id"}}
	lines := &genTable{name: "redemption_lines", cols: []string{"redemption_id", "item_id", "name", "quantity", "points"}}
	txs := &genTable{name: "ledger_transactions", cols: []string{"id", "kind", "idem_key", "request_hash", "reason", "org_id", "shortfall",
		"created_by", "created_at", "hash"}}
	postings := &genTable{name: "postings", cols: []string{"id", "tx_id", "account_id", "amount", "score"}}
	accounts := &genTable{name: "accounts", cols: []string{"id", "kind", "owner_id", "balance", "score", "created_at"}}
	accts := map[int64]accountID{
		v.issuance:  {jifen.AccountIssuance, v.id},
		v.storeAcct: {jifen.AccountStore, v.store},
	}
	for org, id := range p.issuers {
		accts[id] = accountID{jifen.AccountIssuance, org}
	}
	var txIDs []int64
	var txHashes []string
	post := func(in jifen.TxInput, shortfall int64, by int64, when time.Time, ps []jifen.Posting) int64 {
		id := ids.take("ledger_transactions")
		ps = append([]jifen.Posting(nil), ps...)
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].AccountID < ps[j].AccountID })
		h := txHash(in.Kind, in.Key, in.OrgID, when, nil, shortfall, ps, accts)
		txs.add(id, string(in.Kind), in.Key, requestHash(in), in.Reason, in.OrgID, shortfall, by, when, h)
		for _, x := range ps {
			postings.add(ids.take("postings"), id, x.AccountID, x.Amount, x.Score)
		}
		txIDs, txHashes = append(txIDs, id), append(txHashes, h)
		return id
	}
	open := func(pp *genPerson, when time.Time) {
		if pp.account == 0 {
			pp.account, pp.opened = ids.take("accounts"), when
			accts[pp.account] = accountID{jifen.AccountPerson, pp.id}
		}
	}
	cheapest := slices.Min(p.itemPoints)
	for _, e := range events {
		pp := ps[e.person]
		switch e.kind {
		case genService:
			points := pointsFor(genPointsPerHour, e.minutes)
			if points <= 0 {
				continue
			}
			open(pp, e.at)
			aid := ids.take("awards")
			note := fmt.Sprintf("%s（%s小时）", e.title, jifen.HoursText(int(e.minutes)))
			in := jifen.TxInput{Kind: jifen.TxAward, Key: "award:" + strconv.FormatInt(aid, 10), Reason: p.serviceRule.Name + "：" + note, OrgID: v.id,
				Postings: []jifen.Posting{{AccountID: v.issuance, Amount: -points}, {AccountID: pp.account, Amount: points, Score: points}}}
			tx := post(in, 0, leader, e.at, in.Postings)
			pp.balance, pp.score = pp.balance+points, pp.score+points
			awards.add(aid, v.id, v.path, v.id, p.serviceRule.ID, p.serviceRule.VersionID, pp.id, pp.account, (e.minutes+30)/60, e.minutes, points, note,
				string(jifen.AwardPosted), jifen.SourceService, e.record, false, fmt.Sprintf("service:%d", e.record), "", e.day, leader, e.at,
				nil, nil, tx, 0, e.at, jifen.DaysAfter(e.at, p.publicDays), jifen.DaysAfter(e.at, p.appealDay))
		case genAward:
			open(pp, e.filed)
			rule := e.rule
			points := rule.Points * e.qty
			aid := ids.take("awards")
			kind := jifen.TxAward
			if points < 0 {
				kind = jifen.TxDeduction
			}
			in := jifen.TxInput{Kind: kind, Key: "award:" + strconv.FormatInt(aid, 10), Reason: rule.Name, OrgID: v.id, Clamp: points < 0,
				Postings: []jifen.Posting{{AccountID: p.issuers[rule.OrgID], Amount: -points}, {AccountID: pp.account, Amount: points, Score: points}}}
			applied := slices.Clone(in.Postings)
			var shortfall int64
			if points < 0 && -points > pp.balance {
				// What the balance cannot cover is recorded, not taken.
				shortfall = -points - pp.balance
				applied[1].Amount += shortfall
				applied[0].Amount -= shortfall
			}
			by, decidedBy, decidedAt := p.awardBy, any(nil), any(nil)
			if rule.NeedsReview {
				by, decidedBy, decidedAt = p.reviewBy, p.reviewBy, e.at
			}
			tx := post(in, shortfall, by, e.at, applied)
			pp.balance += applied[1].Amount
			pp.score += points
			key := fmt.Sprintf("demogen-%d", aid)
			rh := awardRequestHash(jifen.AwardInput{PersonID: pp.id, RuleID: rule.ID, Quantity: e.qty})
			awards.add(aid, v.id, v.path, rule.OrgID, rule.ID, rule.VersionID, pp.id, pp.account, e.qty, 0, points, "",
				string(jifen.AwardPosted), jifen.SourceManual, nil, false, key, rh, localDay(e.filed), p.awardBy, e.filed,
				decidedBy, decidedAt, tx, shortfall, e.at, jifen.DaysAfter(e.at, p.publicDays), jifen.DaysAfter(e.at, p.appealDay))
		case genSale:
			if pp.account == 0 || pp.balance < cheapest {
				continue
			}
			// One or two goods the buyer can afford, one of each.
			var ls []jifen.Line
			var total int64
			for range 1 + r.IntN(2) {
				j := r.IntN(len(p.itemNames))
				item := v.firstItem + int64(j)
				if total+p.itemPoints[j] > pp.balance || slices.ContainsFunc(ls, func(l jifen.Line) bool { return l.ItemID == item }) {
					continue
				}
				ls = append(ls, jifen.Line{ItemID: item, Quantity: 1, Name: p.itemNames[j], Points: p.itemPoints[j]})
				total += p.itemPoints[j]
			}
			if len(ls) == 0 {
				continue
			}
			sort.Slice(ls, func(i, j int) bool { return ls[i].ItemID < ls[j].ItemID })
			rid := ids.take("redemptions")
			in := jifen.TxInput{Kind: jifen.TxRedemption, Key: "redemption:" + strconv.FormatInt(rid, 10), OrgID: v.id,
				Reason:   fmt.Sprintf("%s积分超市：%s", v.name, linesText(ls)),
				Postings: []jifen.Posting{{AccountID: pp.account, Amount: -total}, {AccountID: v.storeAcct, Amount: total}}}
			tx := post(in, 0, clerk, e.at, in.Postings)
			pp.balance -= total
			ch.storeGain += total
			rh := redemptionRequestHash(jifen.RedemptionInput{StoreID: v.store, Lines: ls})
			sales.add(rid, v.store, pp.id, pp.account, string(jifen.RedemptionCompleted), total, "", clerk, tx,
				fmt.Sprintf("demogen-sale-%d", rid), rh, clerk, e.at, e.at, v.id)
			for _, l := range ls {
				lines.add(rid, l.ItemID, l.Name, l.Quantity, l.Points)
			}
		}
	}
	for _, pp := range ps {
		if pp.account != 0 {
			accounts.add(pp.account, string(jifen.AccountPerson), pp.id, pp.balance, pp.score, pp.opened)
		}
	}
	// Accounts are written before the postings that name them, and in id order.
	sort.Slice(accounts.rows, func(i, j int) bool { return accounts.rows[i][0].(int64) < accounts.rows[j][0].(int64) })
	// The village's transactions sealed into blocks, as the sealer would.
	blocks := &genTable{name: "blocks", cols: []string{"number", "tx_count", "root", "prev_hash", "hash", "sealed_at"}}
	items := &genTable{name: "block_items", cols: []string{"block_number", "tx_id"}}
	for i := 0; i < len(txIDs); i += genBlock {
		bids, bh := txIDs[i:min(i+genBlock, len(txIDs))], txHashes[i:min(i+genBlock, len(txIDs))]
		ids.block++
		root := blockRoot(bids, bh)
		hash := blockHash(ids.block, ids.blockHash, root, len(bids), p.sealed)
		blocks.add(ids.block, len(bids), root, ids.blockHash, hash, p.sealed)
		for _, id := range bids {
			items.add(ids.block, id)
		}
		ids.blockHash = hash
	}
	audit := &genTable{name: "audit_log", cols: []string{"id", "at", "org_id", "org_path", "action", "target_type", "target_id", "detail"}}
	ch.note = fmt.Sprintf("%s: %d people, %d activities, %d records, %d awards, %d sales", v.name, v.people, len(acts.rows), len(records.rows),
		len(awards.rows), len(sales.rows))
	audit.add(ids.take("audit_log"), now, v.id, v.path, "demo.generate", "org", v.id, ch.note)
	ch.tables = []*genTable{people, households, members, grants, clerks, acts, signups, attendance, records, accounts, txs, postings,
		awards, sales, lines, blocks, items, audit}
	ch.after = ids.String()
	return ch
}

// genWrite writes one village and its progress row in one transaction.
// beforeCommit, when set, runs last in it (before the sequences' lock).
func (db *DB) genWrite(ctx context.Context, stmts *genStmts, c *genChunk, beforeCommit func(step int) error) error {
	return db.genTx(ctx, stmts, c.tables, func(sink genSink) error {
		for _, t := range c.tables {
			if err := sink.copyRows(ctx, t); err != nil {
				return err
			}
		}
		if err := sink.exec(ctx, db.q("UPDATE accounts SET balance = balance + ? WHERE id = ?"), c.storeGain, c.storeAcct); err != nil {
			return err
		}
		if err := sink.exec(ctx, db.q("INSERT INTO demogen_progress (step, note) VALUES (?, ?)"), c.step, c.note+genStateSep+c.after); err != nil {
			return err
		}
		if beforeCommit != nil {
			if err := beforeCommit(c.step); err != nil {
				return err
			}
		}
		if db.dialect.name() == "postgres" {
			// setval is not transactional: without the lock, a village with
			// lower ids could set a sequence back to its own MAX(id) after the
			// other village in flight had moved it further, and the services'
			// next ids would collide with the other's rows once it commits.
			// Held to the commit, the lock makes the later setval see them.
			if err := sink.exec(ctx, "SELECT pg_advisory_xact_lock(7351003, hashtext(current_schema()))"); err != nil {
				return err
			}
		}
		return db.genSequences(ctx, sink, genIDTables...)
	})
}

// genCounts counts the rows of the tables a generation fills.
func (db *DB) genCounts(ctx context.Context) ([]TableCount, error) {
	var out []TableCount
	for _, t := range []string{"orgs", "people", "households", "activities", "signups", "attendance", "service_records", "awards",
		"redemptions", "ledger_transactions", "postings", "blocks"} {
		var n int64
		if err := db.queryRow(ctx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, TableCount{t, n})
	}
	return out, nil
}

// Size is the database's size on disk: the SQLite file with its WAL, or
// PostgreSQL's pg_database_size.
func (db *DB) Size(ctx context.Context) (int64, error) {
	if db.dialect.name() == "postgres" {
		var n int64
		err := db.queryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
		return n, err
	}
	var file string
	rows, err := db.query(ctx, "PRAGMA database_list")
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var seq int
		var name, path string
		if err := rows.Scan(&seq, &name, &path); err != nil {
			rows.Close()
			return 0, err
		}
		if name == "main" {
			file = path
		}
	}
	rows.Close()
	var total int64
	for _, f := range []string{file, file + "-wal"} {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	return total, nil
}
