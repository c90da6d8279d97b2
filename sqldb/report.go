package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"time"

	"jifen"
)

// Report roll-ups (0006_reports.sql) are written beside each write in its
// transaction and read by ReportService. The rules that keep them exact:
//   - report_months holds a leaf org's month, split into stripes rows
//     by person (or household), so writers in one village rarely meet on a
//     row and nobody ever writes a county-wide one; a subtree is the sum of
//     its rows found by a path range.
//   - Service minutes count in the month the service started, points
//     awarded in the month of the award's day, points spent in the month of
//     the sale (a cancelled order takes them back from that month, a refund
//     from the refund's month).
//   - report_people keeps each volunteer's minutes at their home org, and
//     report_stars the number of volunteers at each star level per org; a
//     move of home org carries both along.
//
// RebuildReports recomputes everything from the source tables with the
// same rules; the tests compare the two.

// stripes is how many rows a leaf org's month is split into: 8 on
// PostgreSQL, where writers in one village run side by side; 1 on SQLite,
// whose one writer never waits on a row, and whose reports then read an
// eighth of the rows.
func stripes(d dialect) int64 {
	if d.name() == "postgres" {
		return 8
	}
	return 1
}

func month(t time.Time) string { return t.In(jifen.Zone).Format("2006-01") }

func stripeOf(key, n int64) int64 {
	if key < 0 {
		key = -key
	}
	return key % n
}

type monthKey struct {
	orgID  int64
	path   string
	month  string
	stripe int64
}

type storeKey struct {
	storeID int64
	month   string
}

type storeTally struct{ sales, points, refunded int64 }

// tallies are a transaction's additions to the roll-ups, kept in memory
// and written by flushTallies just before it commits: the shared report
// rows are then locked for the commit alone, and a transaction of many
// awards writes each row once.
type tallies struct {
	months map[monthKey]*jifen.Tally
	stores map[storeKey]*storeTally
	// opens is the stripe a month opens on PostgreSQL when every one is
	// held (monthOnFreeStripe).
	opens map[monthKey]int64
	stars map[starKey]int64
}

// openStripes bounds the stripes of an org's month on PostgreSQL: as many
// as writers ever held it at once, at most this.
const openStripes = 32

// tally adds to a leaf org's month.
func (t *Tx) tally(_ context.Context, orgID int64, path, month string, key int64, d jifen.Tally) error {
	if t.pending.months == nil {
		t.pending.months = map[monthKey]*jifen.Tally{}
	}
	// On PostgreSQL the database picks the stripe when it writes
	// (monthOnFreeStripe); the key only says which stripe to open.
	var stripe int64
	if t.db.dialect.name() != "postgres" {
		stripe = stripeOf(key, stripes(t.db.dialect))
	}
	k := monthKey{orgID, path, month, stripe}
	if t.pending.opens == nil {
		t.pending.opens = map[monthKey]int64{}
	}
	if _, ok := t.pending.opens[k]; !ok {
		t.pending.opens[k] = stripeOf(key, openStripes)
	}
	if cur := t.pending.months[k]; cur != nil {
		cur.Add(d)
	} else {
		t.pending.months[k] = &d
	}
	return nil
}

// tallyStatements are the statements that add to the roll-ups, in key
// order so two transactions meet on the rows in the same order (later.go
// runs them).
func tallyStatements(dl dialect, tl *tallies) []laterStmt {
	var out []laterStmt
	months := make([]monthKey, 0, len(tl.months))
	for k := range tl.months {
		months = append(months, k)
	}
	sort.Slice(months, func(i, j int) bool {
		a, b := months[i], months[j]
		if a.orgID != b.orgID {
			return a.orgID < b.orgID
		}
		if a.month != b.month {
			return a.month < b.month
		}
		return a.stripe < b.stripe
	})
	for _, k := range months {
		d := tl.months[k]
		if dl.name() == "postgres" {
			out = append(out, monthOnFreeStripe(k, d, tl.opens[k]))
			continue
		}
		out = append(out, laterStmt{query: `INSERT INTO report_months (org_id, org_path, month, stripe, minutes, records, awarded, deducted, redeemed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, month, stripe) DO UPDATE SET minutes = report_months.minutes + excluded.minutes,
		records = report_months.records + excluded.records, awarded = report_months.awarded + excluded.awarded,
		deducted = report_months.deducted + excluded.deducted, redeemed = report_months.redeemed + excluded.redeemed`,
			args: []any{k.orgID, k.path, k.month, k.stripe, d.Minutes, d.Records, d.Awarded, d.Deducted, d.Redeemed}})
	}
	stores := make([]storeKey, 0, len(tl.stores))
	for k := range tl.stores {
		stores = append(stores, k)
	}
	sort.Slice(stores, func(i, j int) bool {
		if stores[i].storeID != stores[j].storeID {
			return stores[i].storeID < stores[j].storeID
		}
		return stores[i].month < stores[j].month
	})
	for _, k := range stores {
		d := tl.stores[k]
		out = append(out, laterStmt{query: `INSERT INTO report_stores (store_id, month, sales, points, refunded) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (store_id, month) DO UPDATE SET sales = report_stores.sales + excluded.sales,
		points = report_stores.points + excluded.points, refunded = report_stores.refunded + excluded.refunded`,
			args: []any{k.storeID, k.month, d.sales, d.points, d.refunded}})
	}
	stars := make([]starKey, 0, len(tl.stars))
	for k, n := range tl.stars {
		if n != 0 {
			stars = append(stars, k)
		}
	}
	slices.SortFunc(stars, func(a, b starKey) int { return cmp.Or(cmp.Compare(a.orgID, b.orgID), cmp.Compare(a.star, b.star)) })
	for _, k := range stars {
		out = append(out, laterStmt{query: `INSERT INTO report_stars (org_id, org_path, star, people) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, star) DO UPDATE SET people = report_stars.people + excluded.people`,
			args: []any{k.orgID, k.path, k.star, tl.stars[k]}})
	}
	return out
}

// monthOnFreeStripe adds to an org's month on PostgreSQL, on whichever
// committed stripe no other transaction holds (FOR UPDATE SKIP LOCKED);
// when every one is held, or none is committed yet, it writes to stripe
// open (picked by person), adding to it if it is there. Writers in one
// village then rarely queue on a report row however many run at once, and
// a quiet org's month stays a row or two. (With 8 stripes fixed by person,
// 32 awards at once in one village queued on them: it was most of
// PostgreSQL's waiting in the awards load.)
func monthOnFreeStripe(k monthKey, d *jifen.Tally, open int64) laterStmt {
	return laterStmt{
		with: `free{n} AS (SELECT stripe FROM report_months WHERE org_id = ? AND month = ? ORDER BY stripe LIMIT 1 FOR UPDATE SKIP LOCKED),
		took{n} AS (UPDATE report_months r SET minutes = r.minutes + ?, records = r.records + ?, awarded = r.awarded + ?, deducted = r.deducted + ?,
		redeemed = r.redeemed + ? FROM free{n} WHERE r.org_id = ? AND r.month = ? AND r.stripe = free{n}.stripe RETURNING 1)`,
		withArgs: []any{k.orgID, k.month, d.Minutes, d.Records, d.Awarded, d.Deducted, d.Redeemed, k.orgID, k.month},
		query: `INSERT INTO report_months (org_id, org_path, month, stripe, minutes, records, awarded, deducted, redeemed)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM took{n})
		ON CONFLICT (org_id, month, stripe) DO UPDATE SET minutes = report_months.minutes + excluded.minutes,
		records = report_months.records + excluded.records, awarded = report_months.awarded + excluded.awarded,
		deducted = report_months.deducted + excluded.deducted, redeemed = report_months.redeemed + excluded.redeemed`,
		args: []any{k.orgID, k.path, k.month, open, d.Minutes, d.Records, d.Awarded, d.Deducted, d.Redeemed},
	}
}

// tallyPoints counts an award's points (sign 1) or takes them back when
// it is reversed (sign -1), in the month of the award's day. A deduction
// is a negative award by rule; service hours corrected down lower what
// was awarded instead.
func (t *Tx) tallyPoints(ctx context.Context, orgID int64, path, day, source string, key int64, points int64, sign int64) error {
	var d jifen.Tally
	if points > 0 || source == jifen.SourceService {
		d.Awarded = sign * points
	} else {
		d.Deducted = -sign * points
	}
	return t.tally(ctx, orgID, path, day[:7], key, d)
}

// tallyService counts verified minutes: in the record's org and month, and
// in the volunteer's own total, moving their star when it crosses a level.
func (t *Tx) tallyService(ctx context.Context, personID, orgID int64, orgPath string, started time.Time, minutes, records int64) error {
	if err := t.tally(ctx, orgID, orgPath, month(started), personID, jifen.Tally{Minutes: minutes, Records: records}); err != nil {
		return err
	}
	var homeID int64
	var homePath string
	if err := t.queryRow(ctx, "SELECT home_org_id, home_org_path FROM people WHERE id = ?", personID).Scan(&homeID, &homePath); err != nil {
		return err
	}
	// One statement that adds and answers the total: a look then an
	// insert let two verifications of a new volunteer's first records
	// (PostgreSQL) both insert, and one fail.
	var after int64
	// The star moves where the row says the volunteer lives, as locked
	// by this statement: a transfer committed since the home was read
	// above has moved the row, and its star with it
	// (TestStarsFollowATransferBesideAVerification).
	if err := t.queryRow(ctx, `INSERT INTO report_people (person_id, org_id, org_path, minutes) VALUES (?, ?, ?, ?)
		ON CONFLICT (person_id) DO UPDATE SET minutes = report_people.minutes + excluded.minutes RETURNING minutes, org_id, org_path`,
		personID, homeID, homePath, minutes).Scan(&after, &homeID, &homePath); err != nil {
		return err
	}
	from, to := jifen.Stars(int(after-minutes)), jifen.Stars(int(after))
	if from == to {
		return nil
	}
	t.star(homeID, homePath, from, -1)
	t.star(homeID, homePath, to, 1)
	return nil
}

// starKey is one count of report_stars: an org's volunteers at one star.
type starKey struct {
	orgID int64
	path  string
	star  int
}

// star moves the count of an org's volunteers at a star by n. It waits
// with the other roll-ups for the transaction's end, where the counts
// are written in (org, star) order (tallyStatements): written as each
// volunteer was reached, two verifications with volunteers of two
// villages took the villages' rows in opposite orders and waited in a
// circle (TestTwoVerificationsCrossingStarsInTwoVillages), as a
// verification raising a star and a correction lowering one did.
func (t *Tx) star(orgID int64, path string, star int, n int64) {
	if star == 0 {
		return
	}
	if t.pending.stars == nil {
		t.pending.stars = map[starKey]int64{}
	}
	t.pending.stars[starKey{orgID, path, star}] += n
}

// rehome carries a volunteer's minutes and star to a new home org.
func (t *Tx) rehome(ctx context.Context, personID, orgID int64, path string) error {
	var oldID, minutes int64
	var oldPath string
	q := "SELECT org_id, org_path, minutes FROM report_people WHERE person_id = ?"
	if t.db.dialect.name() == "postgres" {
		q += " FOR UPDATE" // the minutes a verification adds meanwhile move with the star
	}
	err := t.queryRow(ctx, q, personID).Scan(&oldID, &oldPath, &minutes)
	if err == sql.ErrNoRows || err == nil && oldID == orgID {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, "UPDATE report_people SET org_id = ?, org_path = ? WHERE person_id = ?", orgID, path, personID); err != nil {
		return err
	}
	s := jifen.Stars(int(minutes))
	t.star(oldID, oldPath, s, -1)
	t.star(orgID, path, s, 1)
	return nil
}

// tallySale counts points spent by a buyer (at their home org) and a
// store's sale; a give-back passes negative points (refund says which kind).
func (t *Tx) tallySale(ctx context.Context, orgID int64, path string, key, storeID int64, month string, points int64, refund bool) error {
	if err := t.tally(ctx, orgID, path, month, key, jifen.Tally{Redeemed: points}); err != nil {
		return err
	}
	if t.pending.stores == nil {
		t.pending.stores = map[storeKey]*storeTally{}
	}
	k := storeKey{storeID, month}
	d := t.pending.stores[k]
	if d == nil {
		d = &storeTally{}
		t.pending.stores[k] = d
	}
	switch {
	case refund:
		d.refunded -= points
	case points > 0:
		d.sales, d.points = d.sales+1, d.points+points
	default:
		d.sales, d.points = d.sales-1, d.points+points
	}
	return nil
}

// reportSQL recomputes the roll-ups from the source tables. A sale counts
// for its buyer's org at the time (redemptions.buyer_org_id); before
// migration 0011 kept it, the buyer's home was taken (beforeBuyerOrg, for
// migration 0006 filling the roll-ups as of its time).
func reportSQL(d dialect, beforeBuyerOrg bool) []string {
	salesOrg := "JOIN orgs o ON o.id = r.buyer_org_id"
	if beforeBuyerOrg {
		salesOrg = "JOIN people p ON p.id = r.person_id JOIN orgs o ON o.id = p.home_org_id"
	}
	mod := fmt.Sprintf(" %% %d", stripes(d))
	m := func(col string) string {
		if d.name() == "postgres" {
			return "to_char(" + col + " AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
		}
		// Times are stored in UTC as text, "2006-01-02 15:04:05.999 +0000 UTC".
		return "strftime('%Y-%m', substr(" + col + ", 1, 19), '+8 hours')"
	}
	stars := "CASE"
	for i := len(jifen.StarHours) - 1; i >= 0; i-- {
		stars += fmt.Sprintf(" WHEN minutes >= %d THEN %d", jifen.StarHours[i]*60, i+1)
	}
	stars += " ELSE 0 END"
	upsertMonths := ` ON CONFLICT (org_id, month, stripe) DO UPDATE SET awarded = report_months.awarded + excluded.awarded,
		deducted = report_months.deducted + excluded.deducted, redeemed = report_months.redeemed + excluded.redeemed`
	live := "('completed', 'held', 'confirming', 'refunded')"
	return []string{
		"DELETE FROM report_months", "DELETE FROM report_people", "DELETE FROM report_stars", "DELETE FROM report_stores",
		`INSERT INTO report_months (org_id, org_path, month, stripe, minutes, records)
		SELECT r.org_id, o.path, ` + m("r.started_at") + `, r.person_id` + mod + `, SUM(r.minutes), SUM(CASE WHEN r.how = 'correction' THEN 0 ELSE 1 END)
		FROM service_records r JOIN orgs o ON o.id = r.org_id GROUP BY r.org_id, o.path, ` + m("r.started_at") + `, r.person_id` + mod + ``,
		`INSERT INTO report_months (org_id, org_path, month, stripe, awarded, deducted)
		SELECT a.org_id, o.path, substr(a.day, 1, 7), COALESCE(a.person_id, a.household_id)` + mod + `,
		SUM(CASE WHEN a.points > 0 OR a.source = 'service' THEN a.points ELSE 0 END),
		SUM(CASE WHEN a.points < 0 AND a.source <> 'service' THEN -a.points ELSE 0 END)
		FROM awards a JOIN orgs o ON o.id = a.org_id WHERE a.status = 'posted'
		GROUP BY a.org_id, o.path, substr(a.day, 1, 7), COALESCE(a.person_id, a.household_id)` + mod + `` + upsertMonths,
		`INSERT INTO report_months (org_id, org_path, month, stripe, redeemed)
		SELECT o.id, o.path, ` + m("r.created_at") + `, COALESCE(r.household_id, r.person_id)` + mod + `, SUM(r.points)
		FROM redemptions r ` + salesOrg + ` WHERE r.status IN ` + live + `
		GROUP BY o.id, o.path, ` + m("r.created_at") + `, COALESCE(r.household_id, r.person_id)` + mod + `` + upsertMonths,
		`INSERT INTO report_months (org_id, org_path, month, stripe, redeemed)
		SELECT o.id, o.path, ` + m("r.refunded_at") + `, COALESCE(r.household_id, r.person_id)` + mod + `, -SUM(r.points)
		FROM redemptions r ` + salesOrg + ` WHERE r.status = 'refunded'
		GROUP BY o.id, o.path, ` + m("r.refunded_at") + `, COALESCE(r.household_id, r.person_id)` + mod + `` + upsertMonths,
		`INSERT INTO report_people (person_id, org_id, org_path, minutes)
		SELECT r.person_id, p.home_org_id, p.home_org_path, SUM(r.minutes)
		FROM service_records r JOIN people p ON p.id = r.person_id GROUP BY r.person_id, p.home_org_id, p.home_org_path`,
		`INSERT INTO report_stars (org_id, org_path, star, people)
		SELECT org_id, org_path, star, COUNT(*) FROM (SELECT org_id, org_path, ` + stars + ` AS star FROM report_people) s
		WHERE star > 0 GROUP BY org_id, org_path, star`,
		`INSERT INTO report_stores (store_id, month, sales, points)
		SELECT store_id, ` + m("created_at") + `, COUNT(*), SUM(points) FROM redemptions WHERE status IN ` + live + `
		GROUP BY store_id, ` + m("created_at"),
		`INSERT INTO report_stores (store_id, month, refunded)
		SELECT store_id, ` + m("refunded_at") + `, SUM(points) FROM redemptions WHERE status = 'refunded'
		GROUP BY store_id, ` + m("refunded_at") + `
		ON CONFLICT (store_id, month) DO UPDATE SET refunded = report_stores.refunded + excluded.refunded`,
	}
}

// RebuildReports recomputes the report roll-ups from the records, awards
// and redemptions, in one transaction: after a bulk load, or to check them.
func (db *DB) RebuildReports(ctx context.Context) error {
	return db.inTx(ctx, func(tx *Tx) error {
		for _, q := range reportSQL(db.dialect, false) {
			if _, err := tx.exec(ctx, q); err != nil {
				return fmt.Errorf("sqldb: rebuild reports: %w", err)
			}
		}
		return nil
	})
}

// ReportService reads the roll-ups.
type ReportService struct{ db *DB }

// NewReportService returns the report service on db.
func NewReportService(db *DB) *ReportService { return &ReportService{db} }

// staffOrg is the org whose subtree an admin or reviewer asks about.
func (s *ReportService) staffOrg(ctx context.Context, orgID int64) (*jifen.Org, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	o, err := s.db.getOrg(ctx, orgID)
	if err != nil || !a.Has(o.Path, jifen.RoleOrgAdmin, jifen.RoleReviewer) {
		return nil, jifen.NotFound("org")
	}
	return o, nil
}

// Monthly sums a subtree's months, and each child's subtree over them.
func (s *ReportService) Monthly(ctx context.Context, f jifen.ReportFilter) (*jifen.MonthlyReport, error) {
	if err := f.Normalize(s.db.Now()); err != nil {
		return nil, err
	}
	o, err := s.staffOrg(ctx, f.OrgID)
	if err != nil {
		return nil, err
	}
	out := &jifen.MonthlyReport{Org: o, From: f.From, To: f.To}
	byMonth := map[string]*jifen.Tally{}
	for _, m := range f.Months() {
		out.Months = append(out.Months, jifen.MonthTally{Month: m})
	}
	for i := range out.Months {
		byMonth[out.Months[i].Month] = &out.Months[i].Tally
	}
	children, err := childOrgs(ctx, s.db, o.ID)
	if err != nil {
		return nil, err
	}
	byChild := map[int64]*jifen.Tally{}
	for _, c := range children {
		out.Children = append(out.Children, jifen.OrgTally{OrgID: c.ID, Name: c.Name})
	}
	for i := range out.Children {
		byChild[out.Children[i].OrgID] = &out.Children[i].Tally
	}
	depth := len(jifen.PathIDs(o.Path))
	// One row per leaf org and month (the stripes summed by the database):
	// a county's year is a few tens of thousands of rows.
	rows, err := s.db.query(ctx, `SELECT org_path, month, SUM(minutes), SUM(records), SUM(awarded), SUM(deducted), SUM(redeemed)
		FROM report_months WHERE org_path >= ? AND org_path < ? AND month >= ? AND month <= ? GROUP BY org_path, month`,
		o.Path, jifen.PathUpper(o.Path), f.From, f.To)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var path, m string
		var t jifen.Tally
		if err := rows.Scan(&path, &m, &t.Minutes, &t.Records, &t.Awarded, &t.Deducted, &t.Redeemed); err != nil {
			return nil, err
		}
		if bm := byMonth[m]; bm != nil {
			bm.Add(t)
		}
		out.Total.Add(t)
		if ids := jifen.PathIDs(path); len(ids) > depth {
			if bc := byChild[ids[depth]]; bc != nil {
				bc.Add(t)
			}
		}
	}
	return out, rows.Err()
}

func childOrgs(ctx context.Context, q querier, parent int64) ([]*jifen.Org, error) {
	rows, err := q.query(ctx, "SELECT id, name FROM orgs WHERE parent_id = ? ORDER BY id", parent)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*jifen.Org
	for rows.Next() {
		o := &jifen.Org{}
		if err := rows.Scan(&o.ID, &o.Name); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// TopVolunteers ranks a subtree's volunteers by verified minutes. A small
// subtree is read whole and sorted; in a big one the global ranking is
// walked from the top, where its members are dense, until n are found.
// Either way a few thousand index entries at most, at any county size.
func (s *ReportService) TopVolunteers(ctx context.Context, orgID int64, n int) ([]jifen.TopVolunteer, error) {
	o, err := s.staffOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if n <= 0 || n > 100 {
		n = 10
	}
	const small = 5000
	lo, hi := o.Path, jifen.PathUpper(o.Path)
	var in int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM report_people WHERE org_path >= ? AND org_path < ? LIMIT ?) s",
		lo, hi, small+1).Scan(&in); err != nil {
		return nil, err
	}
	cols := `SELECT r.person_id, p.name, p.volunteer_no, r.org_id, o.name, r.minutes FROM report_people r
		JOIN people p ON p.id = r.person_id JOIN orgs o ON o.id = r.org_id `
	var rows *sql.Rows
	if in <= small {
		rows, err = s.db.query(ctx, cols+"WHERE r.org_path >= ? AND r.org_path < ? ORDER BY r.minutes DESC, r.person_id LIMIT ?", lo, hi, n)
	} else {
		// Concatenating an empty string keeps the planner off the path
		// index, so it walks report_people_minutes from the top.
		rows, err = s.db.query(ctx, cols+"WHERE r.org_path || '' >= ? AND r.org_path || '' < ? ORDER BY r.minutes DESC LIMIT ?", lo, hi, n)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jifen.TopVolunteer
	for rows.Next() {
		var v jifen.TopVolunteer
		if err := rows.Scan(&v.PersonID, &v.Name, &v.VolunteerNo, &v.OrgID, &v.OrgName, &v.Minutes); err != nil {
			return nil, err
		}
		v.Star = jifen.Stars(int(v.Minutes))
		out = append(out, v)
	}
	return out, rows.Err()
}

// Stars counts a subtree's volunteers at each star level, 1 to 5.
func (s *ReportService) Stars(ctx context.Context, orgID int64) ([]jifen.StarCount, error) {
	o, err := s.staffOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]jifen.StarCount, len(jifen.StarHours))
	for i := range out {
		out[i].Star = i + 1
	}
	rows, err := s.db.query(ctx, "SELECT star, SUM(people) FROM report_stars WHERE org_path >= ? AND org_path < ? GROUP BY star",
		o.Path, jifen.PathUpper(o.Path))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var star int
		var n int64
		if err := rows.Scan(&star, &n); err != nil {
			return nil, err
		}
		if star >= 1 && star <= len(out) {
			out[star-1].People = n
		}
	}
	return out, rows.Err()
}

// StoreSales lists the stores of a subtree with their sales over the
// months and their stock now.
func (s *ReportService) StoreSales(ctx context.Context, f jifen.ReportFilter) ([]jifen.StoreSales, error) {
	if err := f.Normalize(s.db.Now()); err != nil {
		return nil, err
	}
	o, err := s.staffOrg(ctx, f.OrgID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `SELECT s.id, s.name, s.org_id,
		(SELECT COALESCE(SUM(r.sales), 0) FROM report_stores r WHERE r.store_id = s.id AND r.month >= ? AND r.month <= ?),
		(SELECT COALESCE(SUM(r.points), 0) FROM report_stores r WHERE r.store_id = s.id AND r.month >= ? AND r.month <= ?),
		(SELECT COALESCE(SUM(r.refunded), 0) FROM report_stores r WHERE r.store_id = s.id AND r.month >= ? AND r.month <= ?),
		(SELECT COUNT(*) FROM items i WHERE i.store_id = s.id AND i.archived_at IS NULL),
		(SELECT COALESCE(SUM(i.stock), 0) FROM items i WHERE i.store_id = s.id AND i.archived_at IS NULL),
		(SELECT COUNT(*) FROM items i WHERE i.store_id = s.id AND i.archived_at IS NULL AND i.stock IS NOT NULL AND i.stock <= i.low_stock),
		(SELECT COUNT(*) FROM items i WHERE i.store_id = s.id AND i.archived_at IS NULL AND i.stock IS NULL)
		FROM stores s JOIN orgs o ON o.id = s.org_id WHERE o.path >= ? AND o.path < ? ORDER BY s.id`,
		f.From, f.To, f.From, f.To, f.From, f.To, o.Path, jifen.PathUpper(o.Path))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jifen.StoreSales
	for rows.Next() {
		var v jifen.StoreSales
		if err := rows.Scan(&v.StoreID, &v.Name, &v.OrgID, &v.Sales, &v.Points, &v.Refunded, &v.Items, &v.Stock, &v.LowStock, &v.Unlimited); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Points > out[j].Points })
	return out, rows.Err()
}
