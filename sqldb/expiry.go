package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"jifen"
)

// cutoff is the instant before which points have lapsed under a setting,
// as of now: the start of this year for year_end, the same local day N
// months ago for months; zero for never.
func cutoff(st jifen.PointsSettings, now time.Time) time.Time {
	l := now.In(jifen.Zone)
	switch st.Expiry {
	case jifen.ExpiryYearEnd:
		return time.Date(l.Year(), 1, 1, 0, 0, 0, 0, jifen.Zone)
	case jifen.ExpiryMonths:
		// The same day N months back, or that month's last day when it is
		// shorter (31 March less a month is 28 or 29 February, not 3 March).
		first := time.Date(l.Year(), l.Month()-time.Month(st.ExpiryMonths), 1, 0, 0, 0, 0, jifen.Zone)
		last := first.AddDate(0, 1, -1).Day()
		return time.Date(first.Year(), first.Month(), min(l.Day(), last), 0, 0, 0, 0, jifen.Zone)
	}
	return time.Time{}
}

// Expire lapses points as each org's settings say. Spending takes the
// oldest points first, so what lapses from an account is what it was
// credited before the cutoff less everything ever taken from it (spent,
// deducted or lapsed already), when that is positive. Each account's
// expiry is its own transaction under a key naming the account and the
// cutoff day, so a second run (or one running beside it) posts nothing
// twice.
func (s *PointsService) Expire(ctx context.Context) (*jifen.ExpiryReport, error) {
	a := jifen.ActorFrom(ctx)
	if !a.IsSuperAdmin() {
		return nil, jifen.ErrForbidden
	}
	rep := &jifen.ExpiryReport{}
	rows, err := s.db.query(ctx, "SELECT s.org_id, o.path FROM points_settings s JOIN orgs o ON o.id = s.org_id WHERE s.expiry <> 'never'")
	if err != nil {
		return nil, err
	}
	type root struct {
		id   int64
		path string
	}
	var roots []root
	for rows.Next() {
		var r root
		if err := rows.Scan(&r.id, &r.path); err != nil {
			rows.Close()
			return nil, err
		}
		roots = append(roots, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	now := s.db.now()
	for _, r := range roots {
		// Accounts of people and households under the org with points to
		// lose; each is checked against the settings in force at its own
		// org, since a sub-org may have set its own.
		accts, err := s.db.query(ctx, `SELECT ac.id, p.home_org_id, p.home_org_path FROM accounts ac JOIN people p ON ac.kind = 'person' AND p.id = ac.owner_id
			WHERE p.home_org_path >= ? AND p.home_org_path < ? AND ac.balance > 0
			UNION ALL
			SELECT ac.id, h.org_id, h.org_path FROM accounts ac JOIN households h ON ac.kind = 'household' AND h.id = ac.owner_id
			WHERE h.org_path >= ? AND h.org_path < ? AND ac.balance > 0`, r.path, jifen.PathUpper(r.path), r.path, jifen.PathUpper(r.path))
		if err != nil {
			return nil, err
		}
		type acct struct {
			id, org int64
			path    string
		}
		var list []acct
		for accts.Next() {
			var x acct
			if err := accts.Scan(&x.id, &x.org, &x.path); err != nil {
				accts.Close()
				return nil, err
			}
			list = append(list, x)
		}
		accts.Close()
		if err := accts.Err(); err != nil {
			return nil, err
		}
		settings := map[int64]jifen.PointsSettings{}
		for _, x := range list {
			st, ok := settings[x.org]
			if !ok {
				if st, err = settingsAt(ctx, s.db, x.org, x.path); err != nil {
					return nil, err
				}
				settings[x.org] = st
			}
			if st.FromOrgID != r.id {
				continue // another org's settings govern it; that root handles it
			}
			n, err := s.expireAccount(ctx, x.id, st, now)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				rep.Accounts++
				rep.Points += n
			}
		}
	}
	return rep, nil
}

// expireAccount lapses one account's old points; it returns how many.
func (s *PointsService) expireAccount(ctx context.Context, acct int64, st jifen.PointsSettings, now time.Time) (int64, error) {
	cut := cutoff(st, now)
	if cut.IsZero() {
		return 0, nil
	}
	key := "expiry:" + strconv.FormatInt(acct, 10) + ":" + cut.Format("2006-01-02")
	// A run after the first at this cutoff finds its key taken. Points
	// from before the cutoff can only have come back since by being given
	// back (a refund, an order cancelled or released, an award's
	// reversal): held by an order at the first run, they escaped it for a
	// year. So the account is read again when a transaction made before
	// the cutoff was given back to it after the last expiry at this cutoff
	// (an hour's margin for two servers' clocks), and never otherwise: a
	// give-back of newer points does not make every six-hourly run re-sum
	// the account, nor do runs re-sum a county's accounts each time.
	var last time.Time
	if err := s.db.reads(ctx, func(tx *Tx) error {
		var err error
		last, _, err = tx.expiredAt(ctx, key)
		return err
	}); err != nil {
		return 0, err
	}
	if !last.IsZero() {
		var back int
		if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id
			JOIN ledger_transactions r ON r.id = t.reverses_id
			WHERE p.account_id = ? AND p.amount > 0 AND r.created_at < ? AND t.created_at > ?`, acct, cut.UTC(), last.Add(-time.Hour)).Scan(&back); err != nil {
			return 0, err
		}
		if back == 0 {
			return 0, nil
		}
	}
	var lapsed int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		// Under the account's lock what lapsed before at this cutoff counts
		// as taken, so a second run posts only what came back.
		if err := tx.lockAccount(ctx, acct); err != nil {
			return err
		}
		// A reversal (an appeal upheld, a refund, a cancelled order) is not
		// spending: it folds into the transaction it reverses, which then
		// counts for what is left of it, on its own date.
		var old, taken int64
		if err := tx.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN e.amt > 0 AND e.created_at < ? THEN e.amt ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN e.amt < 0 THEN -e.amt ELSE 0 END), 0)
			FROM (SELECT t.created_at, p.amount + COALESCE((SELECT SUM(p2.amount) FROM ledger_transactions t2 JOIN postings p2 ON p2.tx_id = t2.id
					WHERE t2.reverses_id = t.id AND p2.account_id = p.account_id), 0) AS amt
				FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id
				WHERE p.account_id = ? AND (t.reverses_id IS NULL
					OR NOT EXISTS (SELECT 1 FROM postings p3 WHERE p3.tx_id = t.reverses_id AND p3.account_id = p.account_id))) e`,
			cut.UTC(), acct).Scan(&old, &taken); err != nil {
			return err
		}
		if lapsed = old - taken; lapsed <= 0 {
			lapsed = 0
			return nil
		}
		_, k, err := tx.expiredAt(ctx, key)
		if err != nil {
			return err
		}
		issuer, err := tx.account(ctx, jifen.AccountIssuance, st.FromOrgID)
		if err != nil {
			return err
		}
		_, err = tx.post(ctx, jifen.TxInput{Kind: jifen.TxExpiry, Key: k, OrgID: st.FromOrgID,
			Reason:   fmt.Sprintf("积分过期（%s前获得的积分）", cut.Format("2006年1月2日")),
			Postings: []jifen.Posting{{AccountID: acct, Amount: -lapsed}, {AccountID: issuer.ID, Amount: lapsed}}})
		return err
	})
	if jifen.ErrorCode(err) == "duplicate" {
		return 0, nil // a run beside this one got there first
	}
	return lapsed, err
}

// expiredAt finds the expiries of an account at a cutoff: the first under
// key, each later one (for points given back since) under key:2, key:3…
// It returns when the last was made (zero for none) and the next free key.
func (t *Tx) expiredAt(ctx context.Context, key string) (time.Time, string, error) {
	var last time.Time
	k := key
	for n := 2; ; n++ {
		var at time.Time
		err := t.queryRow(ctx, "SELECT created_at FROM ledger_transactions WHERE idem_key = ?", k).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return last, k, nil
		}
		if err != nil {
			return time.Time{}, "", err
		}
		last, k = at, key+":"+strconv.Itoa(n)
	}
}
