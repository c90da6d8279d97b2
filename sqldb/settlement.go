package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"jifen"
)

// statement works out a store's figures for a period: sales completed in
// it, less refunds made in it (a refund of a sale from a settled period
// lands in the statement of the period it was made in), split by the
// buyer's org.
func statement(ctx context.Context, q querier, st *storeRow, period string, from, to time.Time) (*jifen.Settlement, error) {
	out := &jifen.Settlement{StoreID: st.ID, StoreName: st.Name, OrgName: st.OrgName, Period: period, FenPerPoint: st.FenPerPoint, ByOrg: []jifen.SettlementLine{}}
	byOrg := map[int64]*jifen.SettlementLine{}
	var order []int64
	add := func(org int64, name string, points int64) {
		l := byOrg[org]
		if l == nil {
			l = &jifen.SettlementLine{OrgID: org, OrgName: name}
			byOrg[org] = l
			order = append(order, org)
		}
		l.Points += points
	}
	// A sale counts in the period it was handed over; a refund the store
	// paid counts against its sale's period (which was still open); a
	// refund the org paid (its sale's period was settled) counts in the
	// period it was made, in the money due only.
	rows, err := q.query(ctx, `SELECT r.id, o.id, o.name, r.points, r.done_at >= ? AND r.done_at < ?, r.status = 'refunded', r.refund_from_org,
		r.refunded_at IS NOT NULL AND r.refunded_at >= ? AND r.refunded_at < ?
		FROM redemptions r JOIN orgs o ON o.id = r.buyer_org_id
		WHERE r.store_id = ? AND ((r.done_at >= ? AND r.done_at < ?) OR (r.refund_from_org AND r.refunded_at >= ? AND r.refunded_at < ?))
		ORDER BY r.id`, from.UTC(), to.UTC(), from.UTC(), to.UTC(), st.ID, from.UTC(), to.UTC(), from.UTC(), to.UTC())
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id, org, points int64
		var name string
		var sold, refunded, byOrg, refundedIn bool
		if err := rows.Scan(&id, &org, &name, &points, &sold, &refunded, &byOrg, &refundedIn); err != nil {
			rows.Close()
			return nil, err
		}
		if sold {
			out.Sales++
			out.Points += points
			out.Transferred += points
			add(org, name, points)
			if refunded && !byOrg {
				out.Refunds++
				out.Points -= points
				out.Transferred -= points
				add(org, name, -points)
			}
		}
		if refunded && byOrg && refundedIn {
			out.Refunds++
			out.Points -= points
			add(org, name, -points)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, o := range order {
		out.ByOrg = append(out.ByOrg, *byOrg[o])
	}
	out.AmountFen = out.Points * st.FenPerPoint
	for _, id := range ids {
		r, err := getRedemption(ctx, q, id)
		if err != nil {
			return nil, err
		}
		r.PickupCode = ""
		out.Lines = append(out.Lines, r.Redemption)
	}
	return out, nil
}

// loadSettled fills a statement's settled figures, which never change.
func loadSettled(ctx context.Context, q querier, out *jifen.Settlement) error {
	var byOrg string
	var tx sql.NullInt64
	var at time.Time
	err := q.queryRow(ctx, `SELECT sales, refunds, points, transferred, amount_fen, fen_per_point, by_org, tx_id, block_hash, settled_at
		FROM settlements WHERE store_id = ? AND period = ?`, out.StoreID, out.Period).
		Scan(&out.Sales, &out.Refunds, &out.Points, &out.Transferred, &out.AmountFen, &out.FenPerPoint, &byOrg, &tx, &out.BlockHash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	out.Settled, out.TxID = true, nullID(tx)
	at = at.In(jifen.Zone)
	out.SettledAt = &at
	out.ByOrg = nil
	return json.Unmarshal([]byte(byOrg), &out.ByOrg)
}

// Settlement returns a store's statement for a period, to its managers.
func (s *StoreService) Settlement(ctx context.Context, storeID int64, period string) (*jifen.Settlement, error) {
	period = strings.TrimSpace(period)
	from, to, err := jifen.ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	st, err := s.manageStore(ctx, s.db, storeID)
	if err != nil {
		return nil, err
	}
	var out *jifen.Settlement
	err = s.db.snapshot(ctx, func(tx *Tx) error {
		var err error
		if out, err = statement(ctx, tx, st, period, from, to); err != nil {
			return err
		}
		if err := loadSettled(ctx, tx, out); err != nil {
			return err
		}
		if !out.Settled {
			b, err := NewLedgerService(s.db).LatestBlock(ctx)
			if err == nil && b != nil {
				out.BlockHash = b.Hash
			}
			return err
		}
		return nil
	})
	return out, err
}

// settleGrace is how long after a period's end its settlement waits: a
// sale stamped with the period's last second may still be waiting on a
// row then, and would commit into a statement already read (and paid).
const settleGrace = 10 * time.Minute

// Settle closes a period that has ended: its figures are kept as they
// are, and a settlement transaction moves the period's points out of the
// store's account to its org's issuance account (the points are retired;
// the org pays the store the money).
func (s *StoreService) Settle(ctx context.Context, storeID int64, period string) (*jifen.Settlement, error) {
	period = strings.TrimSpace(period)
	from, to, err := jifen.ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	st, err := s.manageStore(ctx, s.db, storeID)
	if err != nil {
		return nil, err
	}
	if s.db.now().Before(to) {
		return nil, jifen.Conflict("period_open", "这个结算周期还没有结束", "This period has not ended yet")
	}
	if opens := to.Add(settleGrace); s.db.now().Before(opens) {
		at := opens.In(jifen.Zone).Format("15:04")
		return nil, jifen.Conflict("period_open", "周期刚结束，请在"+at+"之后结算", "The period has just ended; settle after "+at)
	}
	a := jifen.ActorFrom(ctx)
	err = s.db.inTx(ctx, func(tx *Tx) error {
		// One settlement per store at a time: its account row is the lock.
		storeAcct, err := tx.account(ctx, jifen.AccountStore, st.ID)
		if err != nil {
			return err
		}
		if err := tx.lockAccount(ctx, storeAcct.ID); err != nil {
			return err
		}
		// A month overlaps its year; a year overlaps its months.
		overlap := "period = ? OR period = ?"
		args := []any{st.ID, period, period[:4]}
		if len(period) == 4 {
			overlap = "period = ? OR period LIKE ?"
			args = []any{st.ID, period, period + "-%"}
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM settlements WHERE store_id = ? AND ("+overlap+")", args...).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return jifen.Conflict("already_settled", "这个周期（或与它重叠的周期）已经结算过了", "This period, or one overlapping it, is already settled")
		}
		out, err := statement(ctx, tx, st, period, from, to)
		if err != nil {
			return err
		}
		var txID any
		if out.Transferred > 0 {
			issuer, err := tx.account(ctx, jifen.AccountIssuance, st.OrgID)
			if err != nil {
				return err
			}
			t, err := tx.post(ctx, jifen.TxInput{Kind: jifen.TxSettlement, Key: fmt.Sprintf("settlement:%d:%s", st.ID, period), OrgID: st.OrgID,
				Reason:   fmt.Sprintf("%s %s 结算：%d笔，%d积分，应付%s元", st.Name, period, out.Sales, out.Points, jifen.Yuan(out.AmountFen)),
				Postings: []jifen.Posting{{AccountID: storeAcct.ID, Amount: -out.Transferred}, {AccountID: issuer.ID, Amount: out.Transferred}}})
			if err != nil {
				return err
			}
			txID = t.ID
		}
		block := ""
		if b, err := NewLedgerService(s.db).LatestBlock(ctx); err != nil {
			return err
		} else if b != nil {
			block = b.Hash
		}
		byOrg, _ := json.Marshal(out.ByOrg)
		if _, err := tx.exec(ctx, `INSERT INTO settlements (store_id, period, sales, refunds, points, transferred, amount_fen, fen_per_point, by_org, tx_id, block_hash, settled_by, settled_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, st.ID, period, out.Sales, out.Refunds, out.Points, out.Transferred, out.AmountFen, out.FenPerPoint, string(byOrg),
			txID, block, actorID(a), s.db.now()); err != nil {
			return err
		}
		return tx.audit(ctx, st.OrgID, st.path, "store.settle", "store", st.ID, fmt.Sprintf("%s：%d积分，%s元", period, out.Points, jifen.Yuan(out.AmountFen)))
	})
	if err != nil {
		return nil, err
	}
	return s.Settlement(ctx, storeID, period)
}
