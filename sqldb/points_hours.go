package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"jifen"
)

// serviceRule is the service-hours rule in force at an org path.
func (t *Tx) serviceRule(ctx context.Context, path string) (*jifen.Rule, error) {
	rules, err := rulesAt(ctx, t, path)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		if r.Code == jifen.ServiceHoursCode {
			return r.Rule, nil
		}
	}
	return nil, errors.New("the built-in service-hours rule is missing")
}

// pointsFor is what minutes earn at a rate per hour, rounded half up.
func pointsFor(rate int64, minutes int64) int64 {
	if minutes >= 0 {
		return (rate*minutes + 30) / 60
	}
	return -((rate*-minutes + 30) / 60)
}

// awardService posts the points a verified service record earns, at the
// activity's rate (or the service-hours rule's, where the activity sets
// none), within the rule's caps (counted in hours) and the org-wide daily
// cap: hours over a cap earn nothing rather than failing the verification.
// Back-filled hours earn only where the activity's org says so.
func (t *Tx) awardService(ctx context.Context, recordID, personID int64, act *jifen.Activity, minutes int64, how, day string) error {
	if minutes <= 0 {
		return nil
	}
	if how == jifen.HowBackfilled {
		st, err := settingsAt(ctx, t, act.OrgID, act.OrgPath)
		if err != nil {
			return err
		}
		if !st.BackfillEarns {
			return nil
		}
	}
	r, err := t.serviceRule(ctx, act.OrgPath)
	if err != nil {
		return err
	}
	if !r.ActiveOn(day) {
		return nil
	}
	rate := act.PointsPerHour
	if rate == 0 {
		rate = r.Points
	}
	if rate <= 0 {
		return nil
	}
	g, err := t.resolveTarget(ctx, personID, 0)
	if err != nil {
		return err
	}
	// Caps are counted by person: under their row's lock, as an award's
	// are (lockSubject; a verification takes it before anything else).
	if err := t.lockSubject(ctx, g.personID); err != nil {
		return err
	}
	if err := t.lockAccount(ctx, g.accountID); err != nil {
		return err
	}
	room, _, err := t.capRoom(ctx, g, r, day, "minutes", 60, 0)
	if err != nil {
		return err
	}
	if room >= 0 {
		minutes = min(minutes, room)
	}
	points := pointsFor(rate, minutes)
	left, err := t.dailyRoom(ctx, g, day, 0)
	if err != nil {
		return err
	}
	if left >= 0 {
		points = min(points, left)
	}
	if points <= 0 {
		return nil
	}
	_, err = t.postService(ctx, g, r, act.OrgID, recordID, minutes, points, fmt.Sprintf("%s（%s小时）", act.Title, jifen.HoursText(int(minutes))), day)
	return err
}

// postService records a service award and posts it. When the issuing
// org's budget is used up the award is kept as rejected, saying so, and
// the verification of hours still stands. It returns the award's id.
func (t *Tx) postService(ctx context.Context, g *target, r *jifen.Rule, issuer, recordID, minutes, points int64, note, day string) (int64, error) {
	a := jifen.ActorFrom(ctx)
	now := t.db.now()
	const cols = `org_id, org_path, issuer_org_id, rule_id, rule_version_id, person_id, household_id, account_id, quantity,
		minutes, points, note, status, source, record_id, idem_key, day, created_by, created_at`
	args := []any{g.orgID, g.path, issuer, r.ID, r.VersionID, nullZero(g.personID), nullZero(g.householdID), g.accountID, (minutes + 30) / 60,
		minutes, points, note, recordID, fmt.Sprintf("service:%d", recordID), day, actorIDOrZero(a), now}
	const values = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 'service', ?, ?, ?, ?, ?"
	id, err := t.insertRow(ctx, &t.db.awardIDs, cols, values, args...)
	if err != nil {
		return 0, err
	}
	aw, err := getAward(ctx, t, id)
	if err != nil {
		return 0, err
	}
	err = t.postAward(ctx, aw, g, nil)
	if jifen.ErrorCode(err) == "budget_exceeded" {
		_, err = t.exec(ctx, "UPDATE awards SET status = 'rejected', reject_reason = ? WHERE id = ?", "发放组织本年度积分预算已用完", id)
	}
	return id, err
}

func actorIDOrZero(a *jifen.Actor) int64 {
	if a == nil {
		return 0
	}
	return a.PersonID
}

// correctService posts the difference a corrected service record makes:
// what the corrected total earns less what the record has earned so far,
// so rounding never drifts. Records that earned nothing stay at nothing.
// The correction is priced as the record's first award was: at the rule
// version it used, within the same caps (the record's own awards left out
// of what they count), into the account it credited (a household the
// person has left since keeps its points and its corrections). Shortening
// the hours never adds points and lengthening them never takes any away,
// whatever other awards have used of the caps since; points taken back go
// back to the issuer's budget, as a reversal's do.
//
// The awards are found by the records' ids (awards_record): joined to the
// records, SQLite drove the join from every posted award in the county.
func (t *Tx) correctService(ctx context.Context, original, correction int64, before, after int64) error {
	var firstID, earned, gained, minutes int64
	err := t.queryRow(ctx, `SELECT MIN(a.id), COALESCE(SUM(a.points), 0), COALESCE(SUM(CASE WHEN a.points > 0 THEN a.points ELSE 0 END), 0), COALESCE(SUM(a.minutes), 0)
		FROM awards a WHERE a.record_id IN (SELECT s.id FROM service_records s WHERE s.id = ? OR s.corrects_id = ?)
		AND a.source = 'service' AND a.status = 'posted' HAVING COUNT(*) > 0`, original, original).
		Scan(&firstID, &earned, &gained, &minutes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	first, err := getAward(ctx, t, firstID)
	if err != nil {
		return err
	}
	var activity sql.NullInt64
	if err := t.queryRow(ctx, "SELECT activity_id FROM service_records WHERE id = ?", original).Scan(&activity); err != nil {
		return err
	}
	var rate int64
	var title string
	// The correction counts on the day the record's award did (the day
	// its service began, which for an activity past midnight is not the
	// activity's first day), so caps and the month's report see one day.
	day := first.onDay
	if activity.Valid {
		if err := t.queryRow(ctx, "SELECT points_per_hour, title FROM activities WHERE id = ?", activity.Int64).Scan(&rate, &title); err != nil {
			return err
		}
	}
	r, err := getRule(ctx, t, first.RuleID)
	if err != nil {
		return err
	}
	rule := *r.Rule
	rule.VersionID = first.versionID
	if err := t.queryRow(ctx, "SELECT version, points, daily_cap, monthly_cap, yearly_cap, life_cap FROM rule_versions WHERE id = ?", first.versionID).
		Scan(&rule.Version, &rule.Points, &rule.DailyCap, &rule.MonthlyCap, &rule.YearlyCap, &rule.LifeCap); err != nil {
		return err
	}
	if rate == 0 {
		rate = rule.Points
	}
	pid := int64(0)
	if first.PersonID != nil {
		pid = *first.PersonID
	}
	g, err := t.resolveTarget(ctx, pid, 0)
	if err != nil {
		return err
	}
	// The record's org and account, not the person's home now: a
	// correction after a transfer belongs where the hours were counted.
	g.orgID, g.path = first.OrgID, first.path
	if g.settings, err = t.settings(ctx, g.orgID, g.path); err != nil {
		return err
	}
	g.accountID, g.householdID = first.accountID, 0
	if first.HouseholdID != nil {
		g.householdID = *first.HouseholdID
	}
	if err := t.lockAccount(ctx, g.accountID); err != nil {
		return err
	}
	// The caps count the record's own awards: what they left, plus what
	// the record already has, is what the record may have in all.
	target := after
	room, _, err := t.capRoom(ctx, g, &rule, day, "minutes", 60, 0)
	if err != nil {
		return err
	}
	if room >= 0 {
		target = min(target, room+minutes)
	}
	points := pointsFor(rate, target)
	left, err := t.dailyRoom(ctx, g, day, 0)
	if err != nil {
		return err
	}
	if left >= 0 {
		points = min(points, left+gained)
	}
	delta := points - earned
	if after >= before {
		delta = max(delta, 0)
	} else {
		delta = min(delta, 0)
	}
	if delta == 0 {
		return nil
	}
	id, err := t.postService(ctx, g, &rule, first.issuer, correction, target-minutes, delta, fmt.Sprintf("%s：时长更正", title), day)
	if err != nil || delta > 0 || first.PostedAt == nil {
		return err
	}
	var status jifen.AwardStatus
	var shortfall int64
	if err := t.queryRow(ctx, "SELECT status, shortfall FROM awards WHERE id = ?", id).Scan(&status, &shortfall); err != nil {
		return err
	}
	if status != jifen.AwardPosted {
		return nil
	}
	// What was taken back (not what the person had spent already) goes
	// back to the stripe the first award took from: see postAward.
	_, key := g.subject()
	return t.returnBudget(ctx, first.issuer, key, -delta-shortfall, *first.PostedAt)
}
