package sqldb

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"jifen"
	"jifen/photo"
)

// target is who an award is for and which account it moves: a person's
// own, or their household's when their org credits households.
type target struct {
	personID    int64 // 0 for an award to a household as such
	householdID int64 // the household, when the points go there
	orgID       int64
	orgName     string
	path        string
	name        string
	// householdName names the household the points go to, when the
	// target is a person whose org sends points to households.
	householdName string
	hasPhone      bool
	erased        bool  // the person's data is erased on request
	accountID     int64 // 0 until the first award opens it
	// accountKind and accountOwner name the account before it exists.
	accountKind  jifen.AccountKind
	accountOwner int64
	settings     jifen.PointsSettings
}

// subject is whose caps an award counts against: the person, or the
// household when the award names only the household.
func (g *target) subject() (col string, id int64) {
	if g.personID != 0 {
		return "person_id", g.personID
	}
	return "household_id", g.householdID
}

// capsWhere is the condition on awards that counts against the subject's
// caps. A household as such counts its own awards only, not its members'
// (which their own caps count, whichever account their points go to), so
// two awards come to the same whichever order they are made in.
func (g *target) capsWhere() (string, int64) {
	col, id := g.subject()
	if col == "household_id" {
		return "household_id = ? AND person_id IS NULL", id
	}
	return col + " = ?", id
}

// resolveTarget finds the beneficiary and the account their points go
// to, opening the account on first use.
func (t *Tx) resolveTarget(ctx context.Context, personID, householdID int64) (*target, error) {
	g, err := t.findTarget(ctx, personID, householdID)
	if err != nil || g.accountID != 0 {
		return g, err
	}
	acct, err := t.account(ctx, g.accountKind, g.accountOwner)
	if err != nil {
		return nil, err
	}
	g.accountID = acct.ID
	return g, nil
}

// findTarget is resolveTarget reading only: accountID is 0 when the
// account is not open yet.
func (t *Tx) findTarget(ctx context.Context, personID, householdID int64) (*target, error) {
	if g, ok := t.locked[beneficiary{personID, householdID}]; ok {
		return &g, nil
	}
	g := &target{}
	if personID != 0 {
		p, err := t.person(ctx, personID)
		if err != nil {
			return nil, err
		}
		g.personID, g.orgID, g.orgName, g.path, g.name, g.hasPhone = p.ID, p.HomeOrgID, p.HomeOrgName, p.path, p.Name, p.Phone != ""
		g.erased = p.Status == jifen.PersonErased
	} else {
		err := t.queryRow(ctx, "SELECT h.org_id, o.name, h.org_path, h.name FROM households h JOIN orgs o ON o.id = h.org_id WHERE h.id = ?",
			householdID).Scan(&g.orgID, &g.orgName, &g.path, &g.name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, jifen.NotFound("household")
		}
		if err != nil {
			return nil, err
		}
		g.householdID = householdID
	}
	var err error
	if g.settings, err = t.settings(ctx, g.orgID, g.path); err != nil {
		return nil, err
	}
	kind, owner := jifen.AccountPerson, g.personID
	if g.personID == 0 {
		kind, owner = jifen.AccountHousehold, g.householdID
	} else if g.settings.PointsTo == jifen.ToHousehold {
		var hh int64
		var name string
		var hpath string
		err := t.queryRow(ctx, "SELECT m.household_id, h.name, h.org_path FROM household_members m JOIN households h ON h.id = m.household_id WHERE m.person_id = ?",
			g.personID).Scan(&hh, &name, &hpath)
		// Only a household whose org holds the person's home (as joining
		// one requires): someone who has moved away (a transfer, a
		// correction of their home) earns for themselves, not into a
		// household of a village they left, whose account the new org's
		// staff must not touch.
		if err == nil && jifen.PathContains(hpath, g.path) {
			g.householdID, g.householdName, kind, owner = hh, name, jifen.AccountHousehold, hh
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	g.accountKind, g.accountOwner = kind, owner
	// Read, not opened: resolveTarget also runs on read snapshots
	// (planAward); writeAward opens a missing account.
	g.accountID, err = t.accountID(ctx, kind, owner)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// lockSubject takes, on PostgreSQL, the lock of the person whose caps
// or per-person limits are counted, before the paying account's lock:
// caps and limits are counted by person, while the account locked may be
// their household's or their own as membership changes, so two writes for
// one person counted under two different accounts' locks at once and
// both passed (TestCapHoldsAcrossAHouseholdChange, and through a
// verification TestCapHoldsAcrossAHouseholdChangeInAVerification).
//
// Every write takes people's rows first (in id order when several:
// lockBeneficiaries), then accounts, then report rows: a transfer or an
// erasure updates the person's row and then their report rows, a
// correction takes the person's row first (currentMinutes), so a write
// that held an account or a report row while it waited for a person met
// them in a circle. FOR NO KEY UPDATE does not stop foreign-key checks
// (KEY SHARE). SQLite's one writer needs none.
func (t *Tx) lockSubject(ctx context.Context, personID int64) error {
	if personID == 0 || t.db.dialect.name() != "postgres" || t.subjects[personID] {
		return nil
	}
	if _, err := t.exec(ctx, "SELECT id FROM people WHERE id = ? FOR NO KEY UPDATE", personID); err != nil {
		return err
	}
	if t.subjects == nil {
		t.subjects = map[int64]bool{}
	}
	t.subjects[personID] = true
	return nil
}

// lockAccount takes the account's row lock, so caps are counted and
// checked by one award at a time per beneficiary.
func (t *Tx) lockAccount(ctx context.Context, id int64) error {
	_, err := t.exec(ctx, "UPDATE accounts SET balance = balance WHERE id = ?", id)
	return err
}

// beneficiary names whom one line of a list is for: a person, or a
// household (personID 0), as an award names them.
type beneficiary struct{ personID, householdID int64 }

// lockBeneficiaries takes, before a list's lines are written, the rows
// of the people it names and then the accounts its lines will move, each
// in id order (lockSubject says why people come first). A line locks its account as
// it goes (caps, an opening balance), so two lists naming the same
// people in different orders, or a list and an award group (which
// credits its accounts in id order, later.go), would each hold one
// account the other waits for. Accounts not open yet are opened first,
// in one order too: a second list opening the same account waits for
// the first. A line that names nobody it may reach is left to its own
// turn, which says what is wrong. The lines then find their targets as
// they were locked (Tx.locked). On SQLite the one writer never waits.
func (t *Tx) lockBeneficiaries(ctx context.Context, who []beneficiary) error {
	if t.db.dialect.name() != "postgres" {
		return nil
	}
	if err := t.lockSubjects(ctx, who); err != nil {
		return err
	}
	found := map[beneficiary]target{}
	var missing []beneficiary
	for _, w := range who {
		if _, ok := found[w]; ok {
			continue
		}
		g, err := t.findTarget(ctx, w.personID, w.householdID)
		var refused *jifen.Error
		switch {
		case errors.As(err, &refused):
			continue
		case err != nil:
			return err
		}
		found[w] = *g
		if g.accountID == 0 {
			missing = append(missing, w)
		}
	}
	owner := func(w beneficiary) (jifen.AccountKind, int64) { return found[w].accountKind, found[w].accountOwner }
	slices.SortFunc(missing, func(a, b beneficiary) int {
		ka, oa := owner(a)
		kb, ob := owner(b)
		return cmp.Or(strings.Compare(string(ka), string(kb)), cmp.Compare(oa, ob))
	})
	for _, w := range missing {
		g := found[w]
		acct, err := t.account(ctx, g.accountKind, g.accountOwner) // opened once, then found
		if err != nil {
			return err
		}
		g.accountID = acct.ID
		found[w] = g
	}
	ids := make([]int64, 0, len(found))
	for _, g := range found {
		ids = append(ids, g.accountID)
	}
	slices.Sort(ids)
	if err := t.lockInOrder(ctx, "accounts", slices.Compact(ids)); err != nil {
		return err
	}
	t.locked = found
	return nil
}

// lockInOrder takes the rows of table with the ids given, sorted, in that
// order (FOR NO KEY UPDATE: the lock an UPDATE of a non-key column takes).
func (t *Tx) lockInOrder(ctx context.Context, table string, ids []int64) error {
	rows, err := t.query(ctx, "SELECT id FROM "+table+" WHERE id = ANY(?::bigint[]) ORDER BY id FOR NO KEY UPDATE", ids)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	return rows.Err()
}

// lockSubjects takes the rows of the people a list names, in id order
// (lockSubject).
func (t *Tx) lockSubjects(ctx context.Context, who []beneficiary) error {
	ids := make([]int64, 0, len(who))
	for _, w := range who {
		ids = append(ids, w.personID)
	}
	return t.lockPeople(ctx, ids)
}

// lockPeople takes, on PostgreSQL, the rows of the people a write will
// change or count for, in id order, before anything else it locks
// (lockSubject says why): a bulk move or an import changing them in the
// list's order met a verification, which takes its people in id order,
// in a circle (TestBulkMoveInListOrderBesideAVerification).
func (t *Tx) lockPeople(ctx context.Context, ids []int64) error {
	if t.db.dialect.name() != "postgres" {
		return nil
	}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 || t.subjects[id] })
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if err := t.lockInOrder(ctx, "people", ids); err != nil {
		return err
	}
	if t.subjects == nil {
		t.subjects = map[int64]bool{}
	}
	for _, id := range ids {
		t.subjects[id] = true
	}
	return nil
}

// localDay is the Asia/Shanghai calendar day of t.
func localDay(t time.Time) string { return t.In(jifen.Zone).Format("2006-01-02") }

var errCap = func(zh, en string) error { return jifen.Conflict("cap_exceeded", zh, en) }

// capRoom returns how many more units the subject may have of a rule on
// day under each of its caps (-1 for no cap at all). measure is the
// column summed: quantity, or minutes for the service-hours rule.
func (t *Tx) capRoom(ctx context.Context, g *target, r *jifen.Rule, day, measure string, per int64, exclude int64) (int64, string, error) {
	where, id := g.capsWhere()
	room := int64(-1)
	which := ""
	for _, c := range []struct {
		limit    int64
		from, to string
		name     string
	}{
		{r.DailyCap, day, day, "每日"},
		{r.MonthlyCap, day[:7] + "-01", day[:7] + "-31", "每月"},
		{r.YearlyCap, day[:4] + "-01-01", day[:4] + "-12-31", "每年"},
		{r.LifeCap, "0000-00-00", "9999-99-99", "终身"},
	} {
		if c.limit <= 0 {
			continue
		}
		var used int64
		if err := t.queryRow(ctx, "SELECT COALESCE(SUM("+measure+"), 0) FROM awards WHERE "+where+" AND rule_id = ? AND status IN ('pending', 'posted') AND day >= ? AND day <= ? AND id <> ?",
			id, r.ID, c.from, c.to, exclude).Scan(&used); err != nil {
			return 0, "", err
		}
		left := max(c.limit*per-used, 0)
		if room < 0 || left < room {
			room, which = left, c.name
		}
	}
	return room, which, nil
}

// dailyRoom is how many more points the subject may earn on day across
// all rules under the org-wide daily cap (-1 for none).
func (t *Tx) dailyRoom(ctx context.Context, g *target, day string, exclude int64) (int64, error) {
	if g.settings.DailyCap <= 0 {
		return -1, nil
	}
	where, id := g.capsWhere()
	var used int64
	if err := t.queryRow(ctx, "SELECT COALESCE(SUM(points), 0) FROM awards WHERE "+where+" AND day = ? AND points > 0 AND status IN ('pending', 'posted') AND id <> ?",
		id, day, exclude).Scan(&used); err != nil {
		return 0, err
	}
	return max(g.settings.DailyCap-used, 0), nil
}

// checkCaps refuses an award that would pass a rule cap or the org-wide
// daily cap.
func (t *Tx) checkCaps(ctx context.Context, g *target, r *jifen.Rule, day string, quantity, points, exclude int64) error {
	if err := t.lockSubject(ctx, g.personID); err != nil {
		return err
	}
	room, which, err := t.capRoom(ctx, g, r, day, "quantity", 1, exclude)
	if err != nil {
		return err
	}
	if room >= 0 && quantity > room {
		if room == 0 {
			return errCap(fmt.Sprintf("%s已达到%s上限", quoteZh(r.Name), which), fmt.Sprintf("%q has reached its %s cap", r.Name, capEn(which)))
		}
		return errCap(fmt.Sprintf("%s%s最多还能记%d次（件/小时）", quoteZh(r.Name), which, room), fmt.Sprintf("%q allows %d more under its %s cap", r.Name, room, capEn(which)))
	}
	if points > 0 {
		left, err := t.dailyRoom(ctx, g, day, exclude)
		if err != nil {
			return err
		}
		if left >= 0 && points > left {
			return errCap(fmt.Sprintf("超过了组织规定的每人每日积分上限（%d分），今天最多还能得%d分", g.settings.DailyCap, left),
				fmt.Sprintf("Over the org's daily cap of %d points per person; %d left today", g.settings.DailyCap, left))
		}
	}
	return nil
}

func capEn(zh string) string {
	return map[string]string{"每日": "daily", "每月": "monthly", "每年": "yearly", "终身": "lifetime"}[zh]
}

// awardRow is an award with what its decisions and postings need.
type awardRow struct {
	*jifen.Award
	path      string
	issuer    int64
	accountID int64
	versionID int64
	recordID  sql.NullInt64
	minutes   int64
	// onDay is the award's day: when it was made, or for service hours
	// the day served. Reports count it in that month.
	onDay string
	// fresh is an award written in this transaction: no ledger
	// transaction can hold its key yet.
	fresh bool
	// issuerAccount is the issuer's issuance account when already known.
	issuerAccount int64
	// budget is the issuer's yearly budget (0 for none) when already
	// read; the taking itself is a conditional update under the writer.
	budget *int64
	// txID is its ledger transaction's id when drawn ahead.
	txID int64
}

const awardCols = `a.id, a.org_id, o.name, a.org_path, a.issuer_org_id, a.rule_id, v.version, a.rule_version_id, r.code, v.name, v.category,
	a.person_id, COALESCE(pe.name, ''), a.household_id, COALESCE(h.name, ''), a.account_id, a.quantity, a.minutes, a.points, a.note, a.status, a.source,
	a.record_id, EXISTS (SELECT 1 FROM award_evidence e WHERE e.award_id = a.id), a.created_by, COALESCE(cb.name, ''), a.on_behalf,
	a.decided_by, a.decided_at, a.reject_reason, a.tx_id, a.shortfall, a.created_at, a.posted_at, a.public_until, a.appeal_until, a.day`

const awardFrom = ` FROM awards a JOIN orgs o ON o.id = a.org_id JOIN rules r ON r.id = a.rule_id JOIN rule_versions v ON v.id = a.rule_version_id
	LEFT JOIN people pe ON pe.id = a.person_id LEFT JOIN households h ON h.id = a.household_id LEFT JOIN people cb ON cb.id = a.created_by`

func scanAward(row interface{ Scan(...any) error }) (*awardRow, error) {
	aw := &jifen.Award{}
	r := &awardRow{Award: aw}
	var person, household, decidedBy, tx sql.NullInt64
	var decidedAt, postedAt, publicUntil, appealUntil sql.NullTime
	if err := row.Scan(&aw.ID, &aw.OrgID, &aw.OrgName, &r.path, &r.issuer, &aw.RuleID, &aw.RuleVersion, &r.versionID, &aw.RuleCode, &aw.RuleName, &aw.Category,
		&person, &aw.PersonName, &household, &aw.HouseholdName, &r.accountID, &aw.Quantity, &r.minutes, &aw.Points, &aw.Note, &aw.Status, &aw.Source,
		&r.recordID, &aw.HasEvidence, &aw.CreatedBy, &aw.CreatedByName, &aw.OnBehalf,
		&decidedBy, &decidedAt, &aw.RejectReason, &tx, &aw.Shortfall, &aw.CreatedAt, &postedAt, &publicUntil, &appealUntil, &r.onDay); err != nil {
		return nil, err
	}
	aw.CreatedAt = aw.CreatedAt.In(jifen.Zone)
	aw.PersonID, aw.HouseholdID, aw.DecidedBy, aw.TxID = nullID(person), nullID(household), nullID(decidedBy), nullID(tx)
	aw.DecidedAt, aw.PostedAt, aw.PublicUntil, aw.AppealUntil = timeOrNil(decidedAt), timeOrNil(postedAt), timeOrNil(publicUntil), timeOrNil(appealUntil)
	return r, nil
}

func nullID(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func timeOrNil(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	v := n.Time.In(jifen.Zone)
	return &v
}

func getAward(ctx context.Context, q querier, id int64) (*awardRow, error) {
	r, err := scanAward(q.queryRow(ctx, "SELECT "+awardCols+awardFrom+" WHERE a.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("award")
	}
	return r, err
}

// inHousehold reports whether a person belongs to a household.
func (t *Tx) inHousehold(ctx context.Context, personID, householdID int64) (bool, error) {
	var n int
	err := t.queryRow(ctx, "SELECT COUNT(*) FROM household_members WHERE person_id = ? AND household_id = ?", personID, householdID).Scan(&n)
	return n > 0, err
}

// headOf reports whether actor heads the household a person belongs to.
func headOf(ctx context.Context, q querier, actor, personID int64) (bool, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM household_members m JOIN households h ON h.id = m.household_id
		WHERE m.person_id = ? AND h.head_person_id = ?`, personID, actor).Scan(&n)
	return n > 0, err
}

// benefits reports whether the actor is who an award is for: the person,
// or a member of the household it credits.
func (t *Tx) benefits(ctx context.Context, actor int64, aw *awardRow) (bool, error) {
	if aw.PersonID != nil && *aw.PersonID == actor {
		return true, nil
	}
	if aw.HouseholdID != nil {
		return t.inHousehold(ctx, actor, *aw.HouseholdID)
	}
	return false, nil
}

func awardRequestHash(in jifen.AwardInput) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%d|%d|%d|%s|", in.PersonID, in.HouseholdID, in.RuleID, in.Quantity, in.Note)
	h.Write(in.Evidence)
	return hex.EncodeToString(h.Sum(nil))
}

// Award awards or deducts by rule, or files a claim.
func (s *PointsService) Award(ctx context.Context, in jifen.AwardInput) (*jifen.Award, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if in.Source == "" {
		in.Source = jifen.SourceManual
	}
	if err := checkKey(in.Key); err != nil {
		return nil, err
	}
	var err error
	for try := 0; try < 2; try++ {
		// Decide on a read snapshot, beside other writers; then write.
		var p *awardPlan
		err = s.db.reads(ctx, func(tx *Tx) error {
			var err error
			p, err = tx.planAward(ctx, in)
			return err
		})
		var aw *jifen.Award
		if err == nil {
			write := func(tx *Tx) error {
				var err error
				aw, err = tx.writeAward(ctx, p)
				return err
			}
			if s.db.awardGroup != nil && !p.waits() {
				err = s.db.awardGroup.do(ctx, write)
			} else {
				err = s.db.inTx(ctx, write)
			}
		}
		if err == nil {
			return aw, nil
		}
		// Only a request that did not go through looks for its key: a
		// retry of one already done is answered with that award, whatever
		// its plan now says (the rule archived since, a cap reached by the
		// first) or its write met (the key's unique index). Looking first
		// would cost every award a read for the sake of the few retries.
		var existing int64
		if kerr := s.db.reads(ctx, func(tx *Tx) error {
			var err error
			existing, err = tx.awardByKey(ctx, in)
			return err
		}); kerr != nil {
			return nil, kerr
		}
		if existing != 0 {
			return s.GetAward(ctx, existing)
		}
		// Two retries racing on one key: the loser runs again and finds
		// the winner's award once it has committed.
		if jifen.ErrorCode(err) != "duplicate" {
			break
		}
	}
	return nil, err
}

// awardByKey finds the award an earlier request of the actor's under the
// same idempotency key made: 0 for none, errMismatch when that request
// asked for something else.
func (t *Tx) awardByKey(ctx context.Context, in jifen.AwardInput) (int64, error) {
	if err := in.Validate(); err != nil {
		return 0, err
	}
	in.Key = strings.TrimSpace(in.Key)
	var id int64
	var hash string
	err := t.queryRow(ctx, "SELECT id, request_hash FROM awards WHERE created_by = ? AND idem_key = ?", jifen.ActorFrom(ctx).PersonID, in.Key).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if hash != awardRequestHash(in) {
		return 0, errMismatch
	}
	return id, nil
}

func checkKey(key string) error {
	if k := strings.TrimSpace(key); k == "" || len(k) > 200 || !jifen.PlainText(k) {
		return jifen.Invalid("idempotency_key", "缺少幂等键（Idempotency-Key），或长度超过200", "An Idempotency-Key of 1 to 200 characters is required")
	}
	return nil
}

// AwardBulk posts a list in one transaction, each line under key/n.
func (s *PointsService) AwardBulk(ctx context.Context, key string, in []jifen.AwardInput) ([]*jifen.Award, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, jifen.Invalid("items", "名单为空", "The list is empty")
	}
	if len(in) > 2000 {
		return nil, jifen.Invalid("items", "一次最多2000条", "At most 2000 lines at a time")
	}
	out := make([]*jifen.Award, len(in))
	ids := make([]int64, len(in))
	var err error
	for try := 0; try < 2; try++ {
		err = s.db.inTx(ctx, func(tx *Tx) error {
			// A run rolled back (a deadlock, a failed group) leaves
			// nothing behind for the next.
			clear(out)
			clear(ids)
			if err := tx.sameBulk(ctx, key, len(in)); err != nil {
				return err
			}
			who := make([]beneficiary, len(in))
			for i, line := range in {
				who[i] = beneficiary{line.PersonID, line.HouseholdID}
			}
			if err := tx.lockBeneficiaries(ctx, who); err != nil {
				return err
			}
			for i, line := range in {
				line.Key = key + "/" + strconv.Itoa(i+1)
				line.Source = jifen.SourceBulk
				var err error
				if out[i], ids[i], err = tx.award(ctx, line); err != nil {
					return rowErr(i, err)
				}
			}
			return nil
		})
		// A retry racing the first run loses on the unique key: run once
		// more to find the first run's awards.
		if jifen.ErrorCode(err) != "duplicate" {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if out[i] != nil {
			continue // written now: answered as written
		}
		r, err := getAward(ctx, s.db, id) // a retry's: the first run's award
		if err != nil {
			return nil, err
		}
		out[i] = r.Award
	}
	return out, nil
}

// sameBulk refuses a list under a key used before for a list of another
// length: each line is checked against its own key/n, which a longer
// list's new lines would pass as new awards, and a shorter list would
// leave the rest of the first unanswered. A bulk writes its lines key/1…
// key/N in one transaction, so three of them tell the earlier list's
// length: key/1 (used at all), key/lines (as long) and key/lines+1 (no
// longer). Exact keys, so no other bulk's lines or collation come in.
func (t *Tx) sameBulk(ctx context.Context, key string, lines int) error {
	line := func(n int) string { return strings.TrimSpace(key + "/" + strconv.Itoa(n)) } // as line keys are kept
	var first, last, beyond int
	if err := t.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM awards WHERE created_by = ? AND idem_key = ?),
		(SELECT COUNT(*) FROM awards WHERE created_by = ? AND idem_key = ?),
		(SELECT COUNT(*) FROM awards WHERE created_by = ? AND idem_key = ?)`,
		jifen.ActorFrom(ctx).PersonID, line(1), jifen.ActorFrom(ctx).PersonID, line(lines), jifen.ActorFrom(ctx).PersonID, line(lines+1)).
		Scan(&first, &last, &beyond); err != nil {
		return err
	}
	if first > 0 && (last == 0 || beyond > 0) {
		return errMismatch
	}
	return nil
}

// award does the work of Award inside one transaction: the award it
// wrote, or the id of the one a retry's key names.
func (t *Tx) award(ctx context.Context, in jifen.AwardInput) (*jifen.Award, int64, error) {
	existing, err := t.awardByKey(ctx, in)
	if err != nil || existing != 0 {
		return nil, existing, err
	}
	p, err := t.planAward(ctx, in)
	if err != nil {
		return nil, 0, err
	}
	// A list's people are locked before its lines are planned
	// (lockBeneficiaries): what the plan read of them stands.
	p.inWrite = true
	aw, err := t.writeAward(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	return aw, aw.ID, nil
}

// awardPlan is an award decided and not yet written: who it is for, by
// which rule, how many points, whether it posts now.
type awardPlan struct {
	id              int64 // the award's id when drawn ahead (PostgreSQL)
	txID            int64 // its ledger transaction's, when it posts now
	in              jifen.AwardInput
	requestHash     string
	g               *target
	r               *ruleRow
	claim, onBehalf bool
	points          int64
	status          jifen.AwardStatus
	source          string
	evidence        []byte
	issuerAccount   int64 // 0 until the issuer's first award opens it
	budget          int64 // the issuer's yearly budget, 0 for none
	now             time.Time
	day             string
	// inWrite marks a plan made in the writing transaction, under the
	// person's lock (a list's line), not on a read snapshot before it.
	inWrite bool
}

// planAward checks an award and decides it, reading only: Award runs it on
// a read snapshot before it takes the writer, so the writer does nothing
// but write. What must be exact against concurrent writes is settled
// again by writeAward under the writer: the idempotency key by its unique
// index, caps and balances under the account's lock, the budget by a
// conditional update. What the plan read (the person's org, the rule, the
// settings) is as of the snapshot, which is what PostgreSQL's READ
// COMMITTED gave every statement of the single transaction before.
// The idempotency key is not looked at: Award looks only when a request
// fails, and the unique index stops a second award under one key.
func (t *Tx) planAward(ctx context.Context, in jifen.AwardInput) (p *awardPlan, err error) {
	a := jifen.ActorFrom(ctx)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	in.Key = strings.TrimSpace(in.Key)
	rh := awardRequestHash(in)
	g, err := t.findTarget(ctx, in.PersonID, in.HouseholdID)
	if err != nil {
		return nil, err
	}
	if g.erased {
		// Someone erased on request has left: no award or claim is made to
		// their name (service hours already served still earn at Verify).
		return nil, errErased
	}
	// Who is asking: staff of the beneficiary's org award; the person
	// (or a member of the household) claims; a household head claims for
	// a member who has no phone (代办).
	claim, onBehalf := false, false
	switch {
	case g.personID == a.PersonID:
		claim = true
	case g.personID == 0:
		if claim, err = t.inHousehold(ctx, a.PersonID, g.householdID); err != nil {
			return nil, err
		}
	}
	if !claim && !a.Has(g.path, jifen.RoleOrgAdmin, jifen.RoleReviewer) {
		head, err := headOf(ctx, t, a.PersonID, g.personID)
		if err != nil {
			return nil, err
		}
		if !head || g.personID == 0 {
			if g.personID != 0 {
				return nil, jifen.NotFound("person")
			}
			return nil, jifen.NotFound("household")
		}
		if g.hasPhone {
			return nil, jifen.Errorf(jifen.KindForbidden, "forbidden", "person_id", "此人有手机，请本人申报", "This person has a phone and claims for themselves")
		}
		claim, onBehalf = true, true
	}
	r, err := t.rule(ctx, in.RuleID)
	if err != nil {
		return nil, jifen.Invalid("rule_id", "积分规则不存在", "No such rule")
	}
	if r.Code == jifen.ServiceHoursCode {
		return nil, jifen.Invalid("rule_id", "服务时长积分在活动核验时自动发放", "Service-hours points are posted when an activity is verified")
	}
	// The rule must be the one in force for its code at the person's org:
	// its own org's or the nearest ancestor's (an override hides the rule
	// above it, archived or not).
	inForce, err := t.ruleInForce(ctx, r.Code, g.path)
	if err != nil {
		return nil, err
	}
	if inForce != r.ID {
		return nil, jifen.Invalid("rule_id", "该规则不适用于此人所在的组织", "This rule does not apply in the person's org")
	}
	now := t.db.now()
	day := localDay(now)
	if !r.ActiveOn(day) {
		return nil, jifen.Invalid("rule_id", "该规则已停用、已过期或尚未生效", "The rule is archived, expired or not yet in force")
	}
	if claim && r.Points < 0 {
		return nil, jifen.Invalid("rule_id", "扣分项不能自己申报", "A deduction cannot be claimed")
	}
	var evidence []byte
	if len(in.Evidence) > 0 {
		if evidence, err = photo.Clean(in.Evidence); err != nil {
			return nil, err
		}
	} else if claim && r.NeedsEvidence {
		return nil, jifen.Invalid("photo", "申报此项需要上传照片作为佐证", "This claim needs a photo as evidence")
	}
	issuerAccount, err := t.accountID(ctx, jifen.AccountIssuance, r.OrgID)
	if err != nil {
		return nil, err
	}
	budget, err := t.yearlyBudget(ctx, r.OrgID)
	if err != nil {
		return nil, err
	}
	var id int64
	if t.db.dialect.name() == "postgres" {
		// Drawn outside the write, like any id of a sequence: a write
		// that fails leaves a gap (idblock.go).
		if id, err = t.db.awardIDs.next(ctx, t); err != nil {
			return nil, err
		}
	}
	p = &awardPlan{id: id, in: in, requestHash: rh, g: g, r: r, claim: claim, onBehalf: onBehalf, issuerAccount: issuerAccount, budget: budget,
		points: r.Points * in.Quantity, status: jifen.AwardPosted, source: sourceOf(in.Source, claim),
		evidence: evidence, now: now, day: day}
	if claim || r.NeedsReview {
		p.status = jifen.AwardPending
	}
	if p.status == jifen.AwardPosted && g.personID != 0 && g.householdID != 0 && p.points > 0 {
		// A member's points go into their household's account: staff
		// who belong to that household would be awarding their own
		// household, which waits for another reviewer as their claim
		// would (nobody awards themselves; Approve refuses them too).
		own, err := t.inHousehold(ctx, a.PersonID, g.householdID)
		if err != nil {
			return nil, err
		}
		if own {
			p.status = jifen.AwardPending
		}
	}
	if id != 0 && p.status == jifen.AwardPosted {
		// Its ledger transaction's id too, so that in an award group
		// neither row needs a round trip of its own (later.go, defersRows).
		if p.txID, err = t.db.txIDs.next(ctx, t); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// writeAward writes a planned award: the award row, its audit line and,
// when it posts now, the ledger transaction, the roll-up and the message.
// It returns the award as GetAward would read it back.
func (t *Tx) writeAward(ctx context.Context, p *awardPlan) (*jifen.Award, error) {
	a := jifen.ActorFrom(ctx)
	// The plan is left as it was: a write that rolls back (a deadlock, a
	// group's failed commit) runs again from it.
	target := *p.g
	g, r, in := &target, p.r, p.in
	if p.countsCaps() {
		// The person before their account: the order every write takes
		// them in (lockSubject).
		if err := t.lockSubject(ctx, g.personID); err != nil {
			return nil, err
		}
	}
	if g.accountID == 0 {
		// The beneficiary's first points: the plan, reading only, could
		// not open the account.
		acct, err := t.account(ctx, g.accountKind, g.accountOwner)
		if err != nil {
			return nil, err
		}
		g.accountID = acct.ID
	}
	// Caps are counted under the account's lock, so two awards for one
	// person are counted one after the other; with nothing to count there
	// is nothing to lock. On PostgreSQL an award that takes from a budget,
	// or opens its issuer's issuance account, locks the account first
	// too, as every write that takes both does (a list, a verification,
	// an approval, an opening import): taking the stripe or the new
	// account's insert first and the person's account with its credit at
	// the end, it waited in a circle with a list naming the same person.
	if p.countsCaps() || (t.db.dialect.name() == "postgres" && p.status == jifen.AwardPosted && ((p.budget != 0 && p.points > 0) || p.issuerAccount == 0)) {
		if err := t.lockAccount(ctx, g.accountID); err != nil {
			return nil, err
		}
	}
	if p.countsCaps() {
		if err := t.checkCaps(ctx, g, r.Rule, p.day, in.Quantity, p.points, 0); err != nil {
			return nil, err
		}
	}
	if !t.defersRows() && !p.inWrite {
		// Written now, so looked at now; rows that wait are looked at
		// when they are written (later.go).
		if err := t.refuseErased(ctx, []int64{g.personID}); err != nil {
			return nil, err
		}
	}
	issuer := r.OrgID
	id := p.id
	txID := p.txID
	if id == 0 {
		// SQLite: the one writer is the only one adding awards.
		var err error
		if id, err = t.nextID(ctx, "awards"); err != nil {
			return nil, err
		}
		if p.status == jifen.AwardPosted && t.defersRows() {
			// In a group its ledger transaction waits with it, so it
			// needs its id now.
			if txID, err = t.nextID(ctx, "ledger_transactions"); err != nil {
				return nil, err
			}
		}
	}
	// An award that posts now is written once, posted: the ledger first
	// (its key names the award's id, taken above), then the row. Written
	// pending and then updated, PostgreSQL checked the row's seven foreign
	// keys again, as it does for a row its own transaction inserted.
	// out is the award as GetAward would read it back, so Award need not.
	out := &jifen.Award{ID: id, OrgID: g.orgID, OrgName: g.orgName, RuleID: r.ID, RuleVersion: r.Version, RuleCode: r.Code, RuleName: r.Name,
		Category: r.Category, Quantity: in.Quantity, Points: p.points, Note: in.Note, Status: jifen.AwardPending, Source: p.source,
		HasEvidence: p.evidence != nil, CreatedBy: a.PersonID, CreatedByName: a.Name, OnBehalf: p.onBehalf, CreatedAt: p.now.In(jifen.Zone)}
	if g.personID != 0 {
		out.PersonID, out.PersonName = &g.personID, g.name
		if g.householdID != 0 {
			out.HouseholdID, out.HouseholdName = &g.householdID, g.householdName
		}
	} else {
		out.HouseholdID, out.HouseholdName = &g.householdID, g.name
	}
	var postedTx, postedAt, publicUntil, appealUntil any // NULL while pending
	aw := &awardRow{Award: out, issuer: issuer, accountID: g.accountID, onDay: p.day, fresh: true, issuerAccount: p.issuerAccount, budget: &p.budget, txID: txID}
	if p.status == jifen.AwardPosted {
		tx, err := t.postAwardLedger(ctx, aw, g)
		if err != nil {
			return nil, err
		}
		now := t.db.now()
		public, appeal := jifen.DaysAfter(now, g.settings.PublicDays), jifen.DaysAfter(now, g.settings.AppealDays)
		postedTx, postedAt, publicUntil, appealUntil = tx.ID, now, public, appeal
		posted, public, appeal := now.In(jifen.Zone), public.In(jifen.Zone), appeal.In(jifen.Zone)
		out.Status, out.TxID, out.Shortfall, out.PostedAt, out.PublicUntil, out.AppealUntil = jifen.AwardPosted, &tx.ID, tx.Shortfall, &posted, &public, &appeal
	}
	// A retry that raced this one past the plan meets the unique key on
	// (created_by, idem_key) here and is answered as a duplicate, which
	// Award turns into the first request's award.
	const cols = `id, org_id, org_path, issuer_org_id, rule_id, rule_version_id, person_id, household_id, account_id, quantity,
		points, note, status, source, on_behalf, idem_key, request_hash, day, created_by, created_at, tx_id, shortfall, posted_at, public_until, appeal_until`
	args := []any{id, g.orgID, g.path, issuer, r.ID, r.VersionID, nullZero(g.personID), nullZero(g.householdID), g.accountID, in.Quantity,
		p.points, in.Note, out.Status, p.source, p.onBehalf, in.Key, p.requestHash, p.day, a.PersonID, p.now,
		postedTx, out.Shortfall, postedAt, publicUntil, appealUntil}
	if t.defersRows() {
		// In a group the rows wait for the group's end, where a duplicate
		// key fails the group and its writes run again alone (later.go,
		// defersRows).
		t.insertLater("awards", cols, args...)
		if p.evidence != nil {
			t.insertLater("award_evidence", "award_id, data", id, p.evidence)
		}
	} else {
		if _, err := t.exec(ctx, "INSERT INTO awards ("+cols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args...); err != nil {
			return nil, err
		}
		if p.evidence != nil {
			if _, err := t.exec(ctx, "INSERT INTO award_evidence (award_id, data) VALUES (?, ?)", id, p.evidence); err != nil {
				return nil, err
			}
		}
	}
	action := "award.create"
	if p.onBehalf {
		action = "award.claim_on_behalf" // 代办: logged as such
	}
	if err := t.audit(ctx, g.orgID, g.path, action, "award", id, fmt.Sprintf("%s ×%d = %+d → %s", r.Code, in.Quantity, p.points, g.name)); err != nil {
		return nil, err
	}
	if out.Status == jifen.AwardPosted {
		if err := t.tellBeneficiary(ctx, aw, g, out.Shortfall); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// errErased refuses an award or a claim to someone erased on request.
var errErased = jifen.Errorf(jifen.KindConflict, "person_erased", "person_id", "该人员的个人信息已删除，不能再记积分", "This person's data is erased; nothing more can be recorded for them")

// refuseErased refuses awards to people erased since they were planned
// (erasedAmong).
func (t *Tx) refuseErased(ctx context.Context, ids []int64) error {
	erased, err := t.erasedAmong(ctx, ids)
	if err == nil && len(erased) > 0 {
		err = errErased
	}
	return err
}

// erasedAmong are those of the people given who are erased, read as
// their rows are written to: an award is decided on a read snapshot and
// written later, in a group at its end, and was posted to someone erased
// in between, their name in its audit line and a message to them. On
// PostgreSQL the rows are read under KEY SHARE, which an erasure (FOR
// UPDATE, ErasePerson) waits for, and which waits for an erasure under
// way and then reads the row as it left it: the erasure comes after the
// write, and scrubs it as anything earlier, or before it, and the write
// is refused. KEY SHARE stops nothing else: a verification or a transfer
// holding the person's row does not hold up an award group. SQLite's one
// writer reads the rows as they are.
func (t *Tx) erasedAmong(ctx context.Context, ids []int64) (map[int64]bool, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 })
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var rows *sql.Rows
	var err error
	if t.db.dialect.name() == "postgres" {
		// Every row is locked, so no condition on the status: a row a
		// condition left out would be left unlocked.
		rows, err = t.queryAround(ctx, "SELECT id, status FROM people WHERE id = ANY(?::bigint[]) ORDER BY id FOR KEY SHARE", ids)
	} else {
		list, _ := json.Marshal(ids)
		rows, err = t.queryAround(ctx, "SELECT id, status FROM people WHERE id IN (SELECT value FROM json_each(?)) AND status = 'erased'", string(list))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var erased map[int64]bool
	for rows.Next() {
		var id int64
		var status jifen.PersonStatus
		if err := rows.Scan(&id, &status); err != nil {
			return nil, err
		}
		if status != jifen.PersonErased {
			continue
		}
		if erased == nil {
			erased = map[int64]bool{}
		}
		erased[id] = true
	}
	return erased, rows.Err()
}

// quoteZh puts a name in Chinese quotes, unless it quotes something
// itself (评为“优秀志愿者” was shown as “评为“优秀志愿者””).
func quoteZh(name string) string {
	if strings.ContainsAny(name, "“”「」\"") {
		return name
	}
	return "“" + name + "”"
}

// countsCaps tells whether the write must count caps, under the
// beneficiary account's lock.
func (p *awardPlan) countsCaps() bool {
	r := p.r
	return r.DailyCap+r.MonthlyCap+r.YearlyCap+r.LifeCap > 0 || (p.points > 0 && p.g.settings.DailyCap > 0)
}

// waits tells whether writing the award may wait on a row another
// transaction holds: the beneficiary's account for its caps or for a
// deduction's debit, a budget stripe, or an account not open yet (two
// first awards for one person, or of one issuer, each opening the
// account, wait on each other's insert). Awards that wait on nothing may
// share commits on PostgreSQL (DB.awardGroup).
func (p *awardPlan) waits() bool {
	return p.countsCaps() || p.points < 0 || (p.budget != 0 && p.points > 0) || p.g.accountID == 0 || p.issuerAccount == 0
}

func sourceOf(source string, claim bool) string {
	if claim {
		return jifen.SourceClaim
	}
	return source
}

func nullZero(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// postAward moves an award's points in the ledger and puts it on public
// display. Awards take from the issuer's budget; a deduction takes what
// the balance holds and records the rest as the shortfall.
func (t *Tx) postAward(ctx context.Context, aw *awardRow, g *target, decider *int64) error {
	tx, err := t.postAwardLedger(ctx, aw, g)
	if err != nil {
		return err
	}
	now := t.db.now()
	decidedBy := any(nil)
	decidedAt := any(nil)
	if decider != nil {
		decidedBy, decidedAt = *decider, now
	}
	if _, err := t.exec(ctx, `UPDATE awards SET status = 'posted', tx_id = ?, shortfall = ?, posted_at = ?, public_until = ?, appeal_until = ?,
		decided_by = COALESCE(?, decided_by), decided_at = COALESCE(?, decided_at) WHERE id = ?`,
		tx.ID, tx.Shortfall, now, jifen.DaysAfter(now, g.settings.PublicDays), jifen.DaysAfter(now, g.settings.AppealDays), decidedBy, decidedAt, aw.ID); err != nil {
		return err
	}
	return t.tellBeneficiary(ctx, aw, g, tx.Shortfall)
}

// postAwardLedger is the ledger's part of posting an award: the budget,
// the transaction and the roll-up.
func (t *Tx) postAwardLedger(ctx context.Context, aw *awardRow, g *target) (*jifen.Transaction, error) {
	issuer := aw.issuerAccount
	if issuer == 0 {
		acct, err := t.account(ctx, jifen.AccountIssuance, aw.issuer)
		if err != nil {
			return nil, err
		}
		issuer = acct.ID
	}
	kind := jifen.TxAward
	if aw.Points < 0 {
		kind = jifen.TxDeduction
	}
	if aw.Source == jifen.SourceService && aw.recordID.Valid {
		var how string
		if err := t.queryRow(ctx, "SELECT how FROM service_records WHERE id = ?", aw.recordID.Int64).Scan(&how); err != nil {
			return nil, err
		}
		if how == jifen.HowCorrection {
			kind = jifen.TxCorrection
		}
	}
	if aw.Points > 0 {
		_, key := g.subject()
		take := t.takeBudget
		if aw.budget != nil {
			take = func(ctx context.Context, orgID, key, points int64) error {
				return t.takeFromBudget(ctx, orgID, *aw.budget, key, points)
			}
		}
		if err := take(ctx, aw.issuer, key, aw.Points); err != nil {
			return nil, err
		}
	}
	reason := aw.RuleName
	if aw.Note != "" {
		reason += "：" + aw.Note
	}
	post := t.post
	if aw.fresh {
		post = func(ctx context.Context, in jifen.TxInput) (*jifen.Transaction, error) {
			return t.postFresh(ctx, in, aw.txID)
		}
	}
	tx, err := post(ctx, jifen.TxInput{
		Kind: kind, Key: "award:" + strconv.FormatInt(aw.ID, 10), Reason: reason, OrgID: aw.OrgID,
		Postings: []jifen.Posting{
			{AccountID: issuer, Amount: -aw.Points},
			{AccountID: aw.accountID, Amount: aw.Points, Score: aw.Points},
		},
		Clamp: aw.Points < 0,
	})
	if err != nil {
		return nil, err
	}
	_, key := g.subject()
	if err := t.tallyPoints(ctx, aw.OrgID, g.path, aw.onDay, aw.Source, key, aw.Points, 1); err != nil {
		return nil, err
	}
	return tx, nil
}

// tellBeneficiary writes to the person (or the household head) about a
// posted award or deduction.
func (t *Tx) tellBeneficiary(ctx context.Context, aw *awardRow, g *target, shortfall int64) error {
	to := g.personID
	if to == 0 {
		if err := t.queryRow(ctx, "SELECT head_person_id FROM households WHERE id = ?", g.householdID).Scan(&to); err != nil {
			return err
		}
	}
	var title, body text
	switch {
	case aw.Points > 0:
		title = say("获得积分", "Points earned")
		body = say(fmt.Sprintf("您因“%s”获得%d积分。", aw.RuleName, aw.Points), fmt.Sprintf("You earned %s for “%s”.", pointsEn(aw.Points), aw.RuleName))
	default:
		title = say("积分扣减", "Points deducted")
		body = say(fmt.Sprintf("因“%s”扣减%d积分。", aw.RuleName, -aw.Points), fmt.Sprintf("%s deducted for “%s”.", pointsEn(-aw.Points), aw.RuleName))
		if shortfall > 0 {
			body.zh += fmt.Sprintf("可用积分不足，实际扣减%d分。", -aw.Points-shortfall)
			body.en += fmt.Sprintf(" Your balance was short: %s taken.", pointsEn(-aw.Points-shortfall))
		}
		body.zh += fmt.Sprintf("如有异议，可在%d天内申诉。", g.settings.AppealDays)
		body.en += fmt.Sprintf(" You may appeal within %d days.", g.settings.AppealDays)
	}
	if aw.Note != "" {
		body.zh += "说明：" + aw.Note
		body.en += " Note: " + aw.Note
	}
	return t.sendMessage(ctx, to, title, body)
}

// decide locks a pending award for a reviewer and checks they may decide.
func (t *Tx) decide(ctx context.Context, id int64) (*awardRow, *target, error) {
	a := jifen.ActorFrom(ctx)
	if _, err := t.exec(ctx, "UPDATE awards SET status = status WHERE id = ?", id); err != nil {
		return nil, nil, err
	}
	aw, err := getAward(ctx, t, id)
	if err != nil {
		return nil, nil, err
	}
	if !a.Has(aw.path, jifen.RoleOrgAdmin, jifen.RoleReviewer) {
		return nil, nil, jifen.NotFound("award")
	}
	self, err := t.benefits(ctx, a.PersonID, aw)
	if err != nil {
		return nil, nil, err
	}
	if self || aw.CreatedBy == a.PersonID {
		return nil, nil, jifen.Conflict("self_approval", "不能审核自己提交或与自己有关的积分", "You cannot review an award you made or that is for you")
	}
	if aw.Status != jifen.AwardPending {
		return nil, nil, jifen.Conflict("already_decided", "这条积分已经审核过了（"+aw.Status.Zh()+"）", "This award has already been decided")
	}
	pid, hid := int64(0), int64(0)
	if aw.PersonID != nil {
		pid = *aw.PersonID
	} else if aw.HouseholdID != nil {
		hid = *aw.HouseholdID
	}
	g, err := t.resolveTarget(ctx, pid, hid)
	if err != nil {
		return nil, nil, err
	}
	// The award keeps the account it was filed against, even if the
	// household's membership has changed since, and the org it was filed
	// in, even if the person has moved since: its report is that org's.
	g.accountID = aw.accountID
	g.orgID, g.orgName, g.path = aw.OrgID, aw.OrgName, aw.path
	// and that org's settings (its daily cap, its public and appeal days).
	if g.settings, err = t.settings(ctx, g.orgID, g.path); err != nil {
		return nil, nil, err
	}
	return aw, g, nil
}

// Approve posts a pending award or claim.
func (s *PointsService) Approve(ctx context.Context, id int64) (*jifen.Award, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		aw, g, err := tx.decide(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.lockSubject(ctx, g.personID); err != nil {
			return err
		}
		// A claim waits days for review: its claimant may have been
		// erased meanwhile (their claims are closed then, ErasePerson;
		// this one was read before).
		if err := tx.refuseErased(ctx, []int64{g.personID}); err != nil {
			return err
		}
		if err := tx.lockAccount(ctx, aw.accountID); err != nil {
			return err
		}
		r, err := getRule(ctx, tx, aw.RuleID)
		if err != nil {
			return err
		}
		if err := tx.checkCaps(ctx, g, r.Rule, aw.day(), aw.Quantity, aw.Points, aw.ID); err != nil {
			return err
		}
		pid := a.PersonID
		if err := tx.postAward(ctx, aw, g, &pid); err != nil {
			return err
		}
		return tx.audit(ctx, aw.OrgID, aw.path, "award.approve", "award", id, fmt.Sprintf("%+d", aw.Points))
	})
	if err != nil {
		return nil, err
	}
	return s.GetAward(ctx, id)
}

// day is the award's day for caps, from its creation.
func (aw *awardRow) day() string { return localDay(aw.CreatedAt) }

// Reject turns a pending award or claim down with a reason.
func (s *PointsService) Reject(ctx context.Context, id int64, reason string) (*jifen.Award, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return nil, jifen.Invalid("reason", "驳回必须说明原因", "A rejection needs a reason")
	}
	if len([]rune(reason)) > 200 {
		return nil, jifen.Invalid("reason", "原因不能超过200字", "The reason is at most 200 characters")
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		aw, g, err := tx.decide(ctx, id)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE awards SET status = 'rejected', reject_reason = ?, decided_by = ?, decided_at = ? WHERE id = ?",
			reason, a.PersonID, s.db.now(), id); err != nil {
			return err
		}
		to := g.personID
		if aw.OnBehalf || to == 0 {
			to = aw.CreatedBy
		}
		if err := tx.sendMessage(ctx, to, say("积分申报未通过", "Claim not approved"),
			say(fmt.Sprintf("“%s”的积分申报未通过：%s", aw.RuleName, reason), fmt.Sprintf("Your claim for “%s” was not approved: %s", aw.RuleName, reason))); err != nil {
			return err
		}
		return tx.audit(ctx, aw.OrgID, aw.path, "award.reject", "award", id, reason)
	})
	if err != nil {
		return nil, err
	}
	return s.GetAward(ctx, id)
}

// seesAward: staff over its org, whoever filed it, whoever it is for and
// the head of their household. Others see it only as the public board
// and notice list show it (names as the org chooses, no photo).
func (s *PointsService) seesAward(ctx context.Context, aw *awardRow) (bool, error) {
	a := jifen.ActorFrom(ctx)
	if a.Has(aw.path, jifen.StaffRoles...) || aw.CreatedBy == a.PersonID {
		return true, nil
	}
	if aw.PersonID != nil {
		if *aw.PersonID == a.PersonID {
			return true, nil
		}
		if head, err := headOf(ctx, s.db, a.PersonID, *aw.PersonID); err != nil || head {
			return head, err
		}
	}
	if aw.HouseholdID != nil {
		var n int
		if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM household_members WHERE person_id = ? AND household_id = ?", a.PersonID, *aw.HouseholdID).Scan(&n); err != nil || n > 0 {
			return n > 0, err
		}
	}
	return false, nil
}

// GetAward returns one award to those who may see it.
func (s *PointsService) GetAward(ctx context.Context, id int64) (*jifen.Award, error) {
	if jifen.ActorFrom(ctx) == nil {
		return nil, jifen.ErrUnauthorized
	}
	aw, err := getAward(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	ok, err := s.seesAward(ctx, aw)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, jifen.NotFound("award")
	}
	return aw.Award, nil
}

// AwardEvidence returns an award's photo to those who may see the award.
func (s *PointsService) AwardEvidence(ctx context.Context, id int64) ([]byte, error) {
	if _, err := s.GetAward(ctx, id); err != nil {
		return nil, err
	}
	var data []byte
	err := s.db.queryRow(ctx, "SELECT data FROM award_evidence WHERE award_id = ?", id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("photo")
	}
	return data, err
}

// Awards lists awards, newest first: for staff by org and status, for a
// person or household their own, and with Public those on display in an
// org for anyone of it.
func (s *PointsService) Awards(ctx context.Context, f jifen.AwardFilter) ([]*jifen.Award, int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 50, 200)
	var where string
	var args []any
	var public *jifen.PointsSettings // the displaying org's, for names
	switch {
	case f.Public:
		path, err := s.db.orgPath(ctx, f.OrgID)
		if err != nil {
			return nil, 0, err
		}
		if !canSeeOrgPath(a, path) && !jifen.PathContains(path, a.HomeOrgPath) {
			return nil, 0, jifen.NotFound("org")
		}
		st, err := settingsAt(ctx, s.db, f.OrgID, path)
		if err != nil {
			return nil, 0, err
		}
		public = &st
		where = s.db.inSubtree("a.org_path") + " AND a.status = 'posted' AND a.public_until > ?"
		args = []any{path, jifen.PathUpper(path), s.db.now()}
	case f.PersonID != 0:
		if err := s.canSeePoints(ctx, f.PersonID); err != nil {
			return nil, 0, err
		}
		where, args = "a.person_id = ?", []any{f.PersonID}
	case f.HouseholdID != 0:
		if _, err := s.Household(ctx, f.HouseholdID); err != nil {
			return nil, 0, err
		}
		where, args = "a.household_id = ?", []any{f.HouseholdID}
	default:
		w, sargs, err := s.db.scopeWhere(ctx, a, "a.org_path", f.OrgID, jifen.RoleOrgAdmin, jifen.RoleReviewer)
		if err != nil {
			return nil, 0, err
		}
		where, args = w, sargs
	}
	if f.Status != "" {
		where += " AND a.status = ?"
		args = append(args, f.Status)
	}
	offset := (f.Page - 1) * f.PerPage
	total, from, bound, err := s.db.listPage(ctx, "awards", "a", "", where, args, offset, f.PerPage)
	if err != nil {
		return nil, 0, err
	}
	// The page's ids first, from the awards alone, then their names: as
	// one query SQLite joined every award of the subtree to its org, rule
	// and version before sorting (4 s for a county of 1.3 M awards).
	rows, err := s.db.query(ctx, "SELECT "+awardCols+awardFrom+" WHERE a.id IN (SELECT a.id FROM "+from+" WHERE "+where+bound+" ORDER BY a.id DESC LIMIT ? OFFSET ?) ORDER BY a.id DESC",
		append(args, f.PerPage, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*jifen.Award{}
	for rows.Next() {
		r, err := scanAward(rows)
		if err != nil {
			return nil, 0, err
		}
		if aw := r.Award; public != nil {
			// On display, as on the board: names as the org chooses, and
			// nothing about who entered it, whoever asks.
			aw.PersonName, aw.HouseholdName = showName(*public, aw.PersonName), showName(*public, aw.HouseholdName)
			aw.CreatedBy, aw.CreatedByName, aw.DecidedBy = 0, "", nil
		}
		out = append(out, r.Award)
	}
	return out, total, rows.Err()
}

// ImportOpening posts opening balances from a paper ledger, once per
// person: a second opening for anyone fails the whole import.
func (s *PointsService) ImportOpening(ctx context.Context, orgID int64, in []jifen.OpeningInput) (int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return 0, jifen.ErrUnauthorized
	}
	path, err := s.manageRules(ctx, orgID)
	if err != nil {
		return 0, err
	}
	if len(in) == 0 || len(in) > 50000 {
		return 0, jifen.Invalid("lines", "期初余额应有1到50000行", "An opening import has 1 to 50000 lines")
	}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		// People's accounts before the org's issuance account, which the
		// first import may open: the order of every write that takes both.
		who := make([]beneficiary, len(in))
		for i, line := range in {
			who[i] = beneficiary{personID: line.PersonID}
		}
		if err := tx.lockBeneficiaries(ctx, who); err != nil {
			return err
		}
		issuer, err := tx.account(ctx, jifen.AccountIssuance, orgID)
		if err != nil {
			return err
		}
		for i, line := range in {
			n := line.Row // the file's row, which the errors name
			if n == 0 {
				n = i + 1
			}
			if line.Points <= 0 || line.Points > 100_000_000 {
				return rowErrAt(n, jifen.Invalid("points", "期初积分应为1到1亿之间的整数", "Opening points must be 1 to 100,000,000"))
			}
			g, err := tx.resolveTarget(ctx, line.PersonID, 0)
			if err != nil {
				return rowErrAt(n, err)
			}
			if !jifen.PathContains(path, g.path) {
				return rowErrAt(n, jifen.NotFound("person"))
			}
			// Under the account's lock, so two imports naming one person
			// find each other's opening rather than racing to post it.
			if err := tx.lockAccount(ctx, g.accountID); err != nil {
				return err
			}
			key := "opening:person:" + strconv.FormatInt(line.PersonID, 10)
			var held int
			if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM ledger_transactions WHERE idem_key = ?", key).Scan(&held); err != nil {
				return err
			}
			if held > 0 {
				return rowErrAt(n, jifen.Conflict("opening_exists", g.name+"已导入过期初积分，每人只能导入一次", g.name+" already has an opening balance"))
			}
			reason := "期初积分（原台账）"
			if note := jifen.CleanText(line.Note); note != "" {
				reason += "：" + note
			}
			if _, err := tx.post(ctx, jifen.TxInput{Kind: jifen.TxOpening, Key: key, Reason: reason, OrgID: g.orgID,
				Postings: []jifen.Posting{{AccountID: issuer.ID, Amount: -line.Points}, {AccountID: g.accountID, Amount: line.Points, Score: line.Points}}}); err != nil {
				return rowErrAt(n, err)
			}
		}
		return tx.audit(ctx, orgID, path, "points.opening_import", "org", orgID, fmt.Sprintf("%d行", len(in)))
	})
	if err != nil {
		return 0, err
	}
	return len(in), nil
}
