package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"jifen"
)

// budgetStripes is how many rows a yearly budget is spread over. An award
// takes from one stripe, picked by who receives it, with a conditional
// update; only when that stripe runs dry does it lock them all and take
// from the rest. So awards from one org's budget run side by side instead
// of queueing on one row, and the budget is never overspent.
const budgetStripes = 8

// yearBounds are the UTC instants of the local calendar year of t.
func yearBounds(t time.Time) (int, time.Time, time.Time) {
	l := t.In(jifen.Zone)
	from := time.Date(l.Year(), 1, 1, 0, 0, 0, 0, jifen.Zone)
	return l.Year(), from.UTC(), from.AddDate(1, 0, 0).UTC()
}

// issued is what an org has issued by awards in the year of now, net of
// what came back as the awards and corrections gave it back: a reversed
// award keeps only what its reversal could not take back (the person had
// spent it), and a service-hours correction down returns what it took
// when the hours' first award was posted this year (as returnBudget does:
// a year's budget gets back only what it gave).
func (t *Tx) issued(ctx context.Context, orgID int64, now time.Time) (int64, error) {
	_, from, to := yearBounds(now)
	var n int64
	err := t.queryRow(ctx, `SELECT
		(SELECT COALESCE(SUM(points), 0) FROM awards WHERE issuer_org_id = ? AND status = 'posted' AND points > 0 AND posted_at >= ? AND posted_at < ?)
		+ (SELECT COALESCE(SUM(r.shortfall), 0) FROM awards a JOIN ledger_transactions r ON r.reverses_id = a.tx_id
			WHERE a.issuer_org_id = ? AND a.status = 'reversed' AND a.points > 0 AND a.posted_at >= ? AND a.posted_at < ?)
		- (SELECT COALESCE(SUM(-c.points - c.shortfall), 0) FROM awards c JOIN service_records s ON s.id = c.record_id
			WHERE c.issuer_org_id = ? AND c.status = 'posted' AND c.source = 'service' AND c.points < 0 AND c.posted_at >= ? AND c.posted_at < ?
			AND (SELECT f.posted_at FROM awards f WHERE f.record_id = s.corrects_id AND f.source = 'service' AND f.status = 'posted'
				ORDER BY f.id LIMIT 1) >= ?)`,
		orgID, from, to, orgID, from, to, orgID, from, to, from).Scan(&n)
	return n, err
}

// fillStripes spreads what is left of a budget over the stripes of the
// current year, replacing any there were.
func (t *Tx) fillStripes(ctx context.Context, orgID, budget int64) error {
	now := t.db.now()
	year, _, _ := yearBounds(now)
	if _, err := t.exec(ctx, "DELETE FROM budget_stripes WHERE org_id = ? AND year = ?", orgID, year); err != nil {
		return err
	}
	if budget <= 0 {
		return nil
	}
	used, err := t.issued(ctx, orgID, now)
	if err != nil {
		return err
	}
	left := max(budget-used, 0)
	for i := int64(0); i < budgetStripes; i++ {
		share := left / budgetStripes
		if i == 0 {
			share += left % budgetStripes
		}
		if _, err := t.exec(ctx, "INSERT INTO budget_stripes (org_id, year, stripe, remaining) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", orgID, year, i, share); err != nil {
			return err
		}
	}
	return nil
}

// resetBudget applies a changed budget to the current year.
func (t *Tx) resetBudget(ctx context.Context, orgID, budget int64) error {
	// Lock the stripes first so awards in flight finish before the
	// remainder is worked out.
	year, _, _ := yearBounds(t.db.now())
	if err := t.lockStripes(ctx, orgID, year); err != nil {
		return err
	}
	return t.fillStripes(ctx, orgID, budget)
}

// lockStripes locks a year's stripes one by one in stripe order: two
// awards that both fall back to taking from every stripe then queue
// instead of each holding some stripes the other waits for.
func (t *Tx) lockStripes(ctx context.Context, orgID int64, year int) error {
	for i := int64(0); i < budgetStripes; i++ {
		if _, err := t.exec(ctx, "UPDATE budget_stripes SET remaining = remaining WHERE org_id = ? AND year = ? AND stripe = ?", orgID, year, i); err != nil {
			return err
		}
	}
	return nil
}

// errStripeShort asks retryTx to run a write again with stripesFirst.
var errStripeShort = errors.New("sqldb: the budget stripe is short; run again locking every stripe first")

var errBudget = jifen.Conflict("budget_exceeded", "本年度积分发放预算已用完", "The org's yearly points budget is used up")

// takeBudget takes points from an issuing org's yearly budget, if it has
// one; key spreads takers over the stripes.
func (t *Tx) takeBudget(ctx context.Context, orgID, key, points int64) error {
	if points <= 0 {
		return nil
	}
	budget, err := t.yearlyBudget(ctx, orgID)
	if err != nil {
		return err
	}
	return t.takeFromBudget(ctx, orgID, budget, key, points)
}

// yearlyBudget is an issuing org's yearly budget, 0 for none.
func (t *Tx) yearlyBudget(ctx context.Context, orgID int64) (int64, error) {
	return cached(t, budgetKey(orgID), func() (int64, error) {
		var budget int64
		err := t.queryRow(ctx, "SELECT yearly_budget FROM points_settings WHERE org_id = ?", orgID).Scan(&budget)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // no settings: unlimited
		}
		return budget, err
	})
}

// takeFromBudget is takeBudget with the budget already read.
func (t *Tx) takeFromBudget(ctx context.Context, orgID, budget, key, points int64) error {
	if points <= 0 || budget == 0 {
		return nil
	}
	now := t.db.now()
	year, _, _ := yearBounds(now)
	stripe := key % budgetStripes
	if stripe < 0 {
		stripe = -stripe
	}
	if !t.stripesFirst {
		res, err := t.exec(ctx, "UPDATE budget_stripes SET remaining = remaining - ? WHERE org_id = ? AND year = ? AND stripe = ? AND remaining >= ?",
			points, orgID, year, stripe, points)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		// The stripe is short (or this is the year's first award). On
		// PostgreSQL an update that waited for the stripe and then found
		// it short still holds its lock, and locking every stripe in
		// order while holding it out of order deadlocked with awards
		// doing the same; the write runs again instead, locking the
		// stripes first (retryTx). A group (SQLite's, where nothing
		// deadlocks) goes on.
		if t.db.dialect.name() == "postgres" && !t.grouped {
			return errStripeShort
		}
	}
	// Lock every stripe and take from them in order.
	if err := t.lockStripes(ctx, orgID, year); err != nil {
		return err
	}
	var count int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM budget_stripes WHERE org_id = ? AND year = ?", orgID, year).Scan(&count); err != nil {
		return err
	}
	if count == 0 {
		if err := t.fillStripes(ctx, orgID, budget); err != nil {
			return err
		}
	}
	rows, err := t.query(ctx, "SELECT stripe, remaining FROM budget_stripes WHERE org_id = ? AND year = ? ORDER BY stripe", orgID, year)
	if err != nil {
		return err
	}
	type part struct{ stripe, left int64 }
	var parts []part
	var total int64
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.stripe, &p.left); err != nil {
			rows.Close()
			return err
		}
		parts = append(parts, p)
		total += p.left
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if total < points {
		return errBudget
	}
	need := points
	for _, p := range parts {
		take := min(p.left, need)
		if take == 0 {
			continue
		}
		if _, err := t.exec(ctx, "UPDATE budget_stripes SET remaining = remaining - ? WHERE org_id = ? AND year = ? AND stripe = ?", take, orgID, year, p.stripe); err != nil {
			return err
		}
		if need -= take; need == 0 {
			break
		}
	}
	return nil
}

// returnBudget gives back what a reversed award took, when it was taken
// this year.
func (t *Tx) returnBudget(ctx context.Context, orgID, key, points int64, postedAt time.Time) error {
	if points <= 0 {
		return nil
	}
	year, _, _ := yearBounds(t.db.now())
	if y, _, _ := yearBounds(postedAt); y != year {
		return nil
	}
	stripe := key % budgetStripes
	if stripe < 0 {
		stripe = -stripe
	}
	_, err := t.exec(ctx, "UPDATE budget_stripes SET remaining = remaining + ? WHERE org_id = ? AND year = ? AND stripe = ?", points, orgID, year, stripe)
	return err
}
