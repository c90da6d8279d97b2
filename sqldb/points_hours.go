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
	return t.postService(ctx, g, r, act.OrgID, recordID, minutes, points, fmt.Sprintf("%s（%s小时）", act.Title, jifen.HoursText(int(minutes))), day)
}

// postService records a service award and posts it. When the issuing
// org's budget is used up the award is kept as rejected, saying so, and
// the verification of hours still stands.
func (t *Tx) postService(ctx context.Context, g *target, r *jifen.Rule, issuer, recordID, minutes, points int64, note, day string) error {
	a := jifen.ActorFrom(ctx)
	now := t.db.now()
	const cols = `org_id, org_path, issuer_org_id, rule_id, rule_version_id, person_id, household_id, account_id, quantity,
		minutes, points, note, status, source, record_id, idem_key, day, created_by, created_at`
	args := []any{g.orgID, g.path, issuer, r.ID, r.VersionID, nullZero(g.personID), nullZero(g.householdID), g.accountID, (minutes + 30) / 60,
		minutes, points, note, recordID, fmt.Sprintf("service:%d", recordID), day, actorIDOrZero(a), now}
	const values = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 'service', ?, ?, ?, ?, ?"
	id, err := t.insertRow(ctx, &t.db.awardIDs, cols, values, args...)
	if err != nil {
		return err
	}
	aw, err := getAward(ctx, t, id)
	if err != nil {
		return err
	}
	err = t.postAward(ctx, aw, g, nil)
	if jifen.ErrorCode(err) == "budget_exceeded" {
		_, err = t.exec(ctx, "UPDATE awards SET status = 'rejected', reject_reason = ? WHERE id = ?", "发放组织本年度积分预算已用完", id)
	}
	return err
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
func (t *Tx) correctService(ctx context.Context, original, correction int64, before, after int64) error {
	var issuer, ruleID, personID, earned, minutes int64
	var activity sql.NullInt64
	err := t.queryRow(ctx, `SELECT MIN(a.issuer_org_id), MIN(a.rule_id), MIN(a.person_id), COALESCE(SUM(a.points), 0), COALESCE(SUM(a.minutes), 0)
		FROM awards a JOIN service_records s ON s.id = a.record_id
		WHERE (s.id = ? OR s.corrects_id = ?) AND a.source = 'service' AND a.status = 'posted' HAVING COUNT(*) > 0`, original, original).
		Scan(&issuer, &ruleID, &personID, &earned, &minutes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.queryRow(ctx, "SELECT activity_id FROM service_records WHERE id = ?", original).Scan(&activity); err != nil {
		return err
	}
	var rate int64
	var title, day string
	if activity.Valid {
		var starts sql.NullTime
		if err := t.queryRow(ctx, "SELECT points_per_hour, title, starts_at FROM activities WHERE id = ?", activity.Int64).Scan(&rate, &title, &starts); err != nil {
			return err
		}
		day = localDay(starts.Time)
	}
	r, err := getRule(ctx, t, ruleID)
	if err != nil {
		return err
	}
	if rate == 0 {
		rate = r.Points
	}
	// Hours past a cap earned nothing, so a record that was capped is
	// only ever corrected down to below what its awards covered.
	target := after
	if minutes < before {
		target = min(after, minutes)
	}
	delta := pointsFor(rate, target) - earned
	if delta == 0 {
		return nil
	}
	g, err := t.resolveTarget(ctx, personID, 0)
	if err != nil {
		return err
	}
	if err := t.lockAccount(ctx, g.accountID); err != nil {
		return err
	}
	if day == "" {
		day = localDay(t.db.now())
	}
	return t.postService(ctx, g, r.Rule, issuer, correction, target-minutes, delta, fmt.Sprintf("%s：时长更正", title), day)
}
