package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"jifen"
)

// TransferService implements jifen.TransferService.
type TransferService struct{ db *DB }

// NewTransferService returns the transfer service on db.
func NewTransferService(db *DB) *TransferService { return &TransferService{db} }

// RequestTransfer asks to move a person to another org or team. The person
// asks for themselves, or an admin of their current org asks for them;
// the receiving side decides.
func (s *TransferService) RequestTransfer(ctx context.Context, personID, toOrgID int64, reason string) (*jifen.Transfer, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return nil, jifen.Invalid("reason", "请填写转接原因", "Give a reason for the transfer")
	}
	var id int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, personID)
		if err != nil {
			return err
		}
		if personID != a.PersonID && !a.Has(p.path, jifen.RoleOrgAdmin) {
			if a.Has(p.path, jifen.StaffRoles...) {
				return jifen.ErrForbidden
			}
			return jifen.NotFound("person")
		}
		to, err := tx.getOrg(ctx, toOrgID)
		if err != nil || to.ArchivedAt != nil {
			return jifen.Invalid("to_org_id", "要转入的组织不存在", "The organisation to move to does not exist")
		}
		if to.ID == p.HomeOrgID {
			return jifen.Invalid("to_org_id", "已经在该组织", "Already in this organisation")
		}
		if to.Kind == jifen.OrgTeam {
			var n int
			if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM memberships WHERE person_id = ? AND team_id = ?", personID, to.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return jifen.Invalid("to_org_id", "已经是该志愿服务队成员", "Already a member of this team")
			}
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM transfers WHERE person_id = ? AND status = 'pending'", personID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return jifen.Conflict("transfer_pending", "已有一个待审批的转接申请", "A transfer is already waiting for approval")
		}
		// Asked by the person, it is consented; asked by an admin, it
		// waits for the person (STANDARDS), who is told. Someone with no
		// phone cannot sign in to answer: their admin asks with their
		// consent given in person (代办), as for their other requests.
		now := s.db.now()
		var consented any
		if personID == a.PersonID || p.Phone == "" {
			consented = now
		}
		if id, err = tx.insert(ctx, "INSERT INTO transfers (person_id, from_org_id, to_org_id, reason, status, requested_by, created_at, consented_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
			personID, p.HomeOrgID, to.ID, reason, actorID(a), now, consented); err != nil {
			return err
		}
		if consented == nil {
			if err := tx.sendMessage(ctx, personID, say("转接待您确认", "A transfer needs your answer"),
				say(fmt.Sprintf("%s申请将您从%s转到%s（%s）。请在“关系转接”页面同意或拒绝；您同意后，转入方才会审批。", a.Name, p.HomeOrgName, to.Name, reason),
					fmt.Sprintf("%s asks to move you from %s to %s (%s). Agree or decline on the Transfers page; %s decides only once you agree.",
						a.Name, p.HomeOrgName, to.Name, reason, to.Name))); err != nil {
				return err
			}
		}
		return tx.audit(ctx, to.ID, to.Path, "transfer.request", "person", personID, fmt.Sprintf("%s → %s: %s", p.HomeOrgName, to.Name, reason))
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, id)
}

func (s *TransferService) get(ctx context.Context, id int64) (*jifen.Transfer, error) {
	list, err := s.list(ctx, "t.id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, jifen.NotFound("transfer")
	}
	return list[0], nil
}

func (s *TransferService) list(ctx context.Context, where string, args ...any) ([]*jifen.Transfer, error) {
	rows, err := s.db.query(ctx, `SELECT t.id, t.person_id, p.name, t.from_org_id, f.name, t.to_org_id, o.name, t.reason, t.status,
		COALESCE(t.requested_by, 0), t.decided_by, t.decided_at, t.answer, t.created_at, t.consented_at
		FROM transfers t JOIN people p ON p.id = t.person_id JOIN orgs f ON f.id = t.from_org_id JOIN orgs o ON o.id = t.to_org_id
		WHERE `+where+" ORDER BY t.id DESC LIMIT 200", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*jifen.Transfer{}
	for rows.Next() {
		t := &jifen.Transfer{}
		var decidedBy sql.NullInt64
		var decidedAt, consentedAt sql.NullTime
		if err := rows.Scan(&t.ID, &t.PersonID, &t.PersonName, &t.FromOrgID, &t.FromOrgName, &t.ToOrgID, &t.ToOrgName, &t.Reason, &t.Status,
			&t.RequestedBy, &decidedBy, &decidedAt, &t.Answer, &t.CreatedAt, &consentedAt); err != nil {
			return nil, err
		}
		if consentedAt.Valid {
			c := consentedAt.Time.In(jifen.Zone)
			t.ConsentedAt = &c
		}
		if decidedBy.Valid {
			t.DecidedBy = &decidedBy.Int64
		}
		if decidedAt.Valid {
			d := decidedAt.Time.In(jifen.Zone)
			t.DecidedAt = &d
		}
		t.CreatedAt = t.CreatedAt.In(jifen.Zone)
		out = append(out, t)
	}
	return out, rows.Err()
}

// decide loads a pending transfer the actor may decide on the receiving side.
func (s *TransferService) decide(ctx context.Context, tx *Tx, id int64) (*jifen.Transfer, *jifen.Org, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, nil, jifen.ErrUnauthorized
	}
	// Lock the request first: of an approve and a reject at once, the
	// second sees the first's decision.
	if _, err := tx.exec(ctx, "UPDATE transfers SET status = status WHERE id = ?", id); err != nil {
		return nil, nil, err
	}
	var t jifen.Transfer
	var requestedBy sql.NullInt64
	var consentedAt sql.NullTime
	err := tx.queryRow(ctx, "SELECT id, person_id, from_org_id, to_org_id, status, requested_by, consented_at FROM transfers WHERE id = ?", id).
		Scan(&t.ID, &t.PersonID, &t.FromOrgID, &t.ToOrgID, &t.Status, &requestedBy, &consentedAt)
	if consentedAt.Valid {
		t.ConsentedAt = &consentedAt.Time
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, jifen.NotFound("transfer")
	}
	if err != nil {
		return nil, nil, err
	}
	to, err := tx.getOrg(ctx, t.ToOrgID)
	if err != nil {
		return nil, nil, err
	}
	roles := []jifen.Role{jifen.RoleOrgAdmin}
	if to.Kind == jifen.OrgTeam {
		roles = leaderRoles
	}
	if !a.Has(to.Path, roles...) {
		return nil, nil, jifen.NotFound("transfer")
	}
	if t.PersonID == a.PersonID || (requestedBy.Valid && requestedBy.Int64 == a.PersonID) {
		return nil, nil, jifen.Conflict("self_approval", "不能审批自己提出的转接", "You cannot decide a transfer you asked for")
	}
	if t.Status != jifen.TransferPending {
		return nil, nil, jifen.Conflict("already_decided", "该转接已处理", "This transfer has been decided")
	}
	return &t, to, nil
}

// Consent records the person's answer to a transfer someone else asked
// for. Agreeing lets the receiving side decide; refusing rejects it, and
// whoever asked is told.
func (s *TransferService) Consent(ctx context.Context, id int64, agree bool) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		// Locked first, as decide does: an answer and a decision at once
		// see each other.
		if _, err := tx.exec(ctx, "UPDATE transfers SET status = status WHERE id = ?", id); err != nil {
			return err
		}
		var personID, toOrgID int64
		var requestedBy sql.NullInt64
		var status string
		var consentedAt sql.NullTime
		err := tx.queryRow(ctx, "SELECT person_id, to_org_id, requested_by, status, consented_at FROM transfers WHERE id = ?", id).
			Scan(&personID, &toOrgID, &requestedBy, &status, &consentedAt)
		if errors.Is(err, sql.ErrNoRows) || err == nil && personID != a.PersonID {
			return jifen.NotFound("transfer") // only the person answers
		}
		if err != nil {
			return err
		}
		if status != jifen.TransferPending {
			return jifen.Conflict("already_decided", "该转接已处理", "This transfer has been decided")
		}
		if consentedAt.Valid {
			return jifen.Conflict("already_consented", "您已同意过这次转接", "You have already agreed to this transfer")
		}
		to, err := tx.getOrg(ctx, toOrgID)
		if err != nil {
			return err
		}
		now := s.db.now()
		if agree {
			if _, err := tx.exec(ctx, "UPDATE transfers SET consented_at = ? WHERE id = ?", now, id); err != nil {
				return err
			}
			return tx.audit(ctx, to.ID, to.Path, "transfer.consent", "person", personID, to.Name)
		}
		if _, err := tx.exec(ctx, "UPDATE transfers SET status = 'rejected', answer = ?, decided_by = ?, decided_at = ? WHERE id = ?",
			"本人不同意转接", personID, now, id); err != nil {
			return err
		}
		if requestedBy.Valid && requestedBy.Int64 != personID {
			if err := tx.sendMessage(ctx, requestedBy.Int64, say("转接未获本人同意", "Transfer declined"),
				say(fmt.Sprintf("%s不同意转到%s，这次转接已结束。", a.Name, to.Name), fmt.Sprintf("%s declined the move to %s; the transfer is closed.", a.Name, to.Name))); err != nil {
				return err
			}
		}
		return tx.audit(ctx, to.ID, to.Path, "transfer.decline", "person", personID, to.Name)
	})
}

// Approve moves the person: to a team, as a membership; to any other org,
// as their new home. The person and the sending side are told.
func (s *TransferService) Approve(ctx context.Context, id int64) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		t, to, err := s.decide(ctx, tx, id)
		if err != nil {
			return err
		}
		if t.ConsentedAt == nil {
			return jifen.Conflict("consent_needed", "须等本人同意后才能审批", "The person has not agreed yet")
		}
		if err := tx.move(ctx, t.PersonID, t.FromOrgID, to); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE transfers SET status = 'approved', decided_by = ?, decided_at = ? WHERE id = ?",
			actorID(jifen.ActorFrom(ctx)), s.db.now(), id); err != nil {
			return err
		}
		return tx.audit(ctx, to.ID, to.Path, "transfer.approve", "person", t.PersonID, to.Name)
	})
}

// move applies a transfer and tells the person and the sending org's admins.
func (t *Tx) move(ctx context.Context, personID, fromOrgID int64, to *jifen.Org) error {
	p, err := t.db.getPerson(ctx, t.tx, personID)
	if err != nil {
		return err
	}
	if to.Kind == jifen.OrgTeam {
		// Joining a team leaves the home org as it is: nobody moved out.
		if err := t.joinTeamUnchecked(ctx, personID, to.ID); err != nil {
			return err
		}
		return t.sendMessage(ctx, personID, say("已加入志愿服务队", "Joined a volunteer team"), say(fmt.Sprintf("您已加入%s。", to.Name), fmt.Sprintf("You have joined %s.", to.Name)))
	}
	if _, err := t.exec(ctx, "UPDATE people SET home_org_id = ?, home_org_path = ?, updated_at = ? WHERE id = ?", to.ID, to.Path, t.db.now(), personID); err != nil {
		return err
	}
	if err := t.rehome(ctx, personID, to.ID, to.Path); err != nil {
		return err
	}
	if err := t.sendMessage(ctx, personID, say("关系转接已完成", "Transfer done"),
		say(fmt.Sprintf("您已从%s转入%s。您的服务记录、时长和积分随您一起转移。", p.HomeOrgName, to.Name),
			fmt.Sprintf("You have moved from %s to %s. Your service records, hours and points moved with you.", p.HomeOrgName, to.Name))); err != nil {
		return err
	}
	from, err := t.getOrg(ctx, fromOrgID)
	if err != nil {
		return err
	}
	// The sending side: the admins nearest the old home org.
	for _, oid := range reverse(jifen.PathIDs(from.Path)) {
		admins, err := t.ids(ctx, "SELECT person_id FROM grants WHERE org_id = ? AND role = 'org_admin'", oid)
		if err != nil {
			return err
		}
		for _, aid := range admins {
			if err := t.sendMessage(ctx, aid, say("人员转出通知", "Someone has moved out"),
				say(fmt.Sprintf("%s（志愿者编号%s）已从%s转入%s。", p.Name, p.VolunteerNo, from.Name, to.Name),
					fmt.Sprintf("%s (volunteer no. %s) has moved from %s to %s.", p.Name, p.VolunteerNo, from.Name, to.Name))); err != nil {
				return err
			}
		}
		if len(admins) > 0 {
			break
		}
	}
	return t.audit(ctx, from.ID, from.Path, "transfer.out", "person", personID, to.Name)
}

func reverse(ids []int64) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}

// joinTeamUnchecked adds a membership decided elsewhere (an approved transfer).
func (t *Tx) joinTeamUnchecked(ctx context.Context, personID, teamID int64) error {
	var n int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM memberships WHERE person_id = ? AND team_id = ?", personID, teamID).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := t.exec(ctx, "INSERT INTO memberships (person_id, team_id, joined_at) VALUES (?, ?, ?)", personID, teamID, t.db.now())
	return err
}

// Reject turns a transfer down with an answer the person sees.
func (s *TransferService) Reject(ctx context.Context, id int64, answer string) error {
	answer = jifen.CleanText(answer)
	return s.db.inTx(ctx, func(tx *Tx) error {
		t, to, err := s.decide(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE transfers SET status = 'rejected', answer = ?, decided_by = ?, decided_at = ? WHERE id = ?",
			answer, actorID(jifen.ActorFrom(ctx)), s.db.now(), id); err != nil {
			return err
		}
		if err := tx.sendMessage(ctx, t.PersonID, say("关系转接未通过", "Transfer not approved"),
			say(fmt.Sprintf("转入%s的申请未通过。%s", to.Name, answer), fmt.Sprintf("Your move to %s was not approved. %s", to.Name, answer))); err != nil {
			return err
		}
		return tx.audit(ctx, to.ID, to.Path, "transfer.reject", "person", t.PersonID, answer)
	})
}

// Transfers lists a person's transfers (history stays visible), or those
// waiting on an org's side.
func (s *TransferService) Transfers(ctx context.Context, personID, orgID int64) ([]*jifen.Transfer, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if personID != 0 {
		if err := s.db.selfOrSeen(ctx, a, personID); err != nil {
			return nil, err
		}
		return s.list(ctx, "t.person_id = ?", personID)
	}
	where, args, err := s.db.scopeWhere(ctx, a, "o.path", orgID, leaderRoles...)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, "t.status = 'pending' AND "+where, args...)
}

// BulkMove moves people at once when orgs merge or split: an admin of
// both sides decides, with a reason, and each person is told.
func (s *TransferService) BulkMove(ctx context.Context, personIDs []int64, toOrgID int64, reason string) (int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return 0, jifen.ErrUnauthorized
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return 0, jifen.Invalid("reason", "批量转移必须填写原因", "A bulk move needs a reason")
	}
	if len(personIDs) == 0 || len(personIDs) > 10000 {
		return 0, jifen.Invalid("person_ids", "请选择1到10000人", "Choose 1 to 10000 people")
	}
	n := 0
	err := s.db.inTx(ctx, func(tx *Tx) error {
		n = 0 // a retried transaction counts afresh
		to, err := tx.getOrg(ctx, toOrgID)
		if err != nil || to.ArchivedAt != nil {
			return jifen.Invalid("to_org_id", "要转入的组织不存在", "The organisation to move to does not exist")
		}
		if !a.Has(to.Path, jifen.RoleOrgAdmin) {
			return jifen.ErrForbidden
		}
		// Everyone's row first, in id order, then each person's report
		// rows as they move (lockPeople).
		if err := tx.lockPeople(ctx, personIDs); err != nil {
			return err
		}
		for _, pid := range personIDs {
			p, err := s.db.getPerson(ctx, tx.tx, pid)
			if err != nil {
				return err
			}
			if !a.Has(p.path, jifen.RoleOrgAdmin) {
				return jifen.NotFound("person")
			}
			if p.HomeOrgID == to.ID {
				continue
			}
			if _, err := tx.exec(ctx, `INSERT INTO transfers (person_id, from_org_id, to_org_id, reason, status, requested_by, decided_by, decided_at, created_at)
				VALUES (?, ?, ?, ?, 'approved', ?, ?, ?, ?)`, pid, p.HomeOrgID, to.ID, reason, actorID(a), actorID(a), s.db.now(), s.db.now()); err != nil {
				return err
			}
			if err := tx.move(ctx, pid, p.HomeOrgID, to); err != nil {
				return err
			}
			n++
		}
		return tx.audit(ctx, to.ID, to.Path, "transfer.bulk", "org", to.ID, fmt.Sprintf("%d: %s", n, reason))
	})
	if err != nil {
		return 0, err // rolled back: nobody moved
	}
	return n, nil
}
