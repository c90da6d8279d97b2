package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"jifen"
)

const appealCols = `ap.id, ap.award_id, COALESCE(a.tx_id, 0), ap.person_id, p.name, ap.reason, ap.status, ap.answer, ap.decided_by, ap.decided_at, ap.created_at, ap.org_path`

const appealFrom = ` FROM appeals ap JOIN awards a ON a.id = ap.award_id JOIN people p ON p.id = ap.person_id`

func scanAppeal(row interface{ Scan(...any) error }) (*jifen.Appeal, string, error) {
	ap := &jifen.Appeal{}
	var decidedBy sql.NullInt64
	var decidedAt sql.NullTime
	var path string
	if err := row.Scan(&ap.ID, &ap.AwardID, &ap.TxID, &ap.PersonID, &ap.PersonName, &ap.Reason, &ap.Status, &ap.Answer, &decidedBy, &decidedAt, &ap.CreatedAt, &path); err != nil {
		return nil, "", err
	}
	ap.DecidedBy, ap.DecidedAt, ap.CreatedAt = nullID(decidedBy), timeOrNil(decidedAt), ap.CreatedAt.In(jifen.Zone)
	return ap, path, nil
}

// Appeal (申诉) asks for an award or deduction to be reversed, by whoever
// it affects (the person, a member of the household, or the head for a
// member), within the org's appeal window.
func (s *PointsService) Appeal(ctx context.Context, txID int64, reason string) (*jifen.Appeal, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return nil, jifen.Invalid("reason", "请写明申诉理由", "Say why you appeal")
	}
	if len([]rune(reason)) > 500 {
		return nil, jifen.Invalid("reason", "申诉理由不能超过500字", "The reason is at most 500 characters")
	}
	var id int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var awardID int64
		err := tx.queryRow(ctx, "SELECT id FROM awards WHERE tx_id = ?", txID).Scan(&awardID)
		if errors.Is(err, sql.ErrNoRows) {
			return jifen.Errorf(jifen.KindNotFound, "not_found", "transaction_id", "没有找到这笔积分记录（只能对奖励或扣减申诉）", "No such award or deduction")
		}
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE awards SET status = status WHERE id = ?", awardID); err != nil {
			return err
		}
		aw, err := getAward(ctx, tx, awardID)
		if err != nil {
			return err
		}
		affected, err := tx.benefits(ctx, a.PersonID, aw)
		if err != nil {
			return err
		}
		if !affected && aw.PersonID != nil {
			if affected, err = headOf(ctx, tx, a.PersonID, *aw.PersonID); err != nil {
				return err
			}
		}
		if !affected {
			return jifen.Errorf(jifen.KindNotFound, "not_found", "transaction_id", "没有找到这笔积分记录（只能对奖励或扣减申诉）", "No such award or deduction")
		}
		if aw.Status != jifen.AwardPosted {
			return jifen.Conflict("not_appealable", "这笔积分已撤销，无需申诉", "This award is no longer in force")
		}
		if aw.AppealUntil == nil || !s.db.now().Before(*aw.AppealUntil) {
			return jifen.Conflict("appeal_window_closed", "已超过申诉期限", "The time to appeal has passed")
		}
		id, err = tx.insert(ctx, "INSERT INTO appeals (award_id, org_path, person_id, reason, status, created_at) VALUES (?, ?, ?, ?, 'open', ?)",
			awardID, aw.path, a.PersonID, reason, s.db.now())
		if jifen.ErrorCode(err) == "duplicate" {
			return jifen.Conflict("appeal_open", "这笔积分已有申诉正在处理", "An appeal on this award is already open")
		}
		if err != nil {
			return err
		}
		return tx.audit(ctx, aw.OrgID, aw.path, "appeal.create", "appeal", id, reason)
	})
	if err != nil {
		return nil, err
	}
	return s.appeal(ctx, id)
}

func (s *PointsService) appeal(ctx context.Context, id int64) (*jifen.Appeal, error) {
	ap, _, err := scanAppeal(s.db.queryRow(ctx, "SELECT "+appealCols+appealFrom+" WHERE ap.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("appeal")
	}
	if err != nil {
		return nil, err
	}
	aw, err := getAward(ctx, s.db, ap.AwardID)
	if err != nil {
		return nil, err
	}
	ap.Award = aw.Award
	return ap, nil
}

// Uphold keeps the award and closes the appeal.
func (s *PointsService) Uphold(ctx context.Context, id int64, answer string) (*jifen.Appeal, error) {
	return s.answerAppeal(ctx, id, answer, false)
}

// Reverse undoes the award in the ledger with a reversing transaction
// that points at it. Points already spent cannot come back: the balance
// goes to zero and the shortfall is recorded, as with a deduction.
func (s *PointsService) Reverse(ctx context.Context, id int64, answer string) (*jifen.Appeal, error) {
	return s.answerAppeal(ctx, id, answer, true)
}

func (s *PointsService) answerAppeal(ctx context.Context, id int64, answer string, reverse bool) (*jifen.Appeal, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	answer = jifen.CleanText(answer)
	if answer == "" {
		return nil, jifen.Invalid("answer", "请写明处理意见", "Give an answer")
	}
	if len([]rune(answer)) > 500 {
		return nil, jifen.Invalid("answer", "处理意见不能超过500字", "The answer is at most 500 characters")
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "UPDATE appeals SET status = status WHERE id = ?", id); err != nil {
			return err
		}
		ap, path, err := scanAppeal(tx.queryRow(ctx, "SELECT "+appealCols+appealFrom+" WHERE ap.id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return jifen.NotFound("appeal")
		}
		if err != nil {
			return err
		}
		if !a.Has(path, jifen.RoleOrgAdmin, jifen.RoleReviewer) {
			return jifen.NotFound("appeal")
		}
		if _, err := tx.exec(ctx, "UPDATE awards SET status = status WHERE id = ?", ap.AwardID); err != nil {
			return err
		}
		aw, err := getAward(ctx, tx, ap.AwardID)
		if err != nil {
			return err
		}
		self, err := tx.benefits(ctx, a.PersonID, aw)
		if err != nil {
			return err
		}
		// Maker-checker: not the appellant, not whoever it is for, and not
		// whoever made the award being appealed.
		if self || ap.PersonID == a.PersonID || aw.CreatedBy == a.PersonID {
			return jifen.Conflict("self_approval", "不能处理自己的申诉，或对自己发放的积分的申诉", "You cannot decide an appeal that is yours or about an award you made")
		}
		if ap.Status != jifen.AppealOpen {
			return jifen.Conflict("already_decided", "这条申诉已经处理过了", "This appeal has already been decided")
		}
		status := jifen.AppealUpheld
		msg := say(fmt.Sprintf("您对“%s”的申诉已处理：维持原结果。%s", aw.RuleName, answer),
			fmt.Sprintf("Your appeal about “%s” is decided: the award stands. %s", aw.RuleName, answer))
		if reverse {
			status = jifen.AppealReversed
			if err := tx.reverseAward(ctx, aw, "申诉#"+strconv.FormatInt(id, 10)+"："+answer); err != nil {
				return err
			}
			msg = say(fmt.Sprintf("您对“%s”的申诉已处理：撤销该笔积分。%s", aw.RuleName, answer),
				fmt.Sprintf("Your appeal about “%s” is decided: the award is reversed. %s", aw.RuleName, answer))
		}
		if _, err := tx.exec(ctx, "UPDATE appeals SET status = ?, answer = ?, decided_by = ?, decided_at = ? WHERE id = ?",
			status, answer, a.PersonID, s.db.now(), id); err != nil {
			return err
		}
		if err := tx.sendMessage(ctx, ap.PersonID, say("申诉处理结果", "Your appeal is decided"), msg); err != nil {
			return err
		}
		return tx.audit(ctx, aw.OrgID, path, "appeal."+string(status), "appeal", id, answer)
	})
	if err != nil {
		return nil, err
	}
	return s.appeal(ctx, id)
}

// reverseAward posts the mirror of an award's transaction and marks it
// reversed; a reversed award gives back to its budget what it took back.
func (t *Tx) reverseAward(ctx context.Context, aw *awardRow, reason string) error {
	if aw.TxID == nil {
		return jifen.Conflict("not_appealable", "这笔积分尚未入账", "This award was never posted")
	}
	orig, err := t.loadTx(ctx, *aw.TxID)
	if err != nil {
		return err
	}
	ps := make([]jifen.Posting, 0, len(orig.Postings))
	for _, p := range orig.Postings {
		// An award's reversal takes back the whole score even where the
		// points were spent; a deduction's gives back the whole score and
		// what it actually took.
		ps = append(ps, jifen.Posting{AccountID: p.AccountID, Amount: -p.Amount, Score: -p.Score})
	}
	rev := *aw.TxID
	posted, err := t.post(ctx, jifen.TxInput{Kind: jifen.TxCorrection, Key: "reverse:" + strconv.FormatInt(rev, 10), Reason: "撤销：" + aw.RuleName + "（" + reason + "）",
		OrgID: aw.OrgID, Reverses: &rev, Postings: ps, Clamp: aw.Points > 0})
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, "UPDATE awards SET status = 'reversed' WHERE id = ?", aw.ID); err != nil {
		return err
	}
	key := int64(0)
	if aw.PersonID != nil {
		key = *aw.PersonID
	} else if aw.HouseholdID != nil {
		key = *aw.HouseholdID
	}
	if err := t.tallyPoints(ctx, aw.OrgID, aw.path, aw.onDay, aw.Source, key, aw.Points, -1); err != nil {
		return err
	}
	if aw.Points > 0 && aw.PostedAt != nil {
		// The budget gets back what the reversal took back. Points the
		// person had already spent stay issued (the shortfall): returning
		// them too would let the org issue them a second time within the
		// year. The same stripe the award took from: see postAward's
		// subject.
		if err := t.returnBudget(ctx, aw.issuer, key, aw.Points-posted.Shortfall, *aw.PostedAt); err != nil {
			return err
		}
	}
	return nil
}

// Appeals lists appeals in an org's subtree for reviewers; a resident sees
// their own with orgID 0 and no reviewer role.
func (s *PointsService) Appeals(ctx context.Context, orgID int64, status jifen.AppealStatus, page int) ([]*jifen.Appeal, int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	where, args, err := s.db.scopeWhere(ctx, a, "ap.org_path", orgID, jifen.RoleOrgAdmin, jifen.RoleReviewer)
	if err != nil {
		if orgID != 0 {
			return nil, 0, err
		}
		where, args = "ap.person_id = ?", []any{a.PersonID}
	}
	if status != "" {
		where += " AND ap.status = ?"
		args = append(args, status)
	}
	page, per := jifen.Paging(page, 50, 50, 50)
	var total int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*)"+appealFrom+" WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, "SELECT "+appealCols+appealFrom+" WHERE "+where+" ORDER BY ap.id DESC LIMIT ? OFFSET ?", append(args, per, (page-1)*per)...)
	if err != nil {
		return nil, 0, err
	}
	var out []*jifen.Appeal
	for rows.Next() {
		ap, _, err := scanAppeal(rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, ap)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for _, ap := range out {
		aw, err := getAward(ctx, s.db, ap.AwardID)
		if err != nil {
			return nil, 0, err
		}
		ap.Award = aw.Award
	}
	if out == nil {
		out = []*jifen.Appeal{}
	}
	return out, total, nil
}
