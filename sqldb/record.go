package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"jifen"
)

// RecordService implements jifen.RecordService.
type RecordService struct{ db *DB }

// NewRecordService returns the service-record service on db.
func NewRecordService(db *DB) *RecordService { return &RecordService{db} }

const recordCols = `r.id, r.person_id, p.name, p.volunteer_no, r.org_id, o.name, r.activity_id, r.content, r.place, r.started_at, r.ended_at,
	r.minutes, r.how, r.recorded_by, r.verified_by, r.verified_at, r.corrects_id, r.reason`

const recordFrom = ` FROM service_records r` + recordJoins

const recordJoins = ` JOIN people p ON p.id = r.person_id JOIN orgs o ON o.id = r.org_id`

func scanRecord(row interface{ Scan(...any) error }) (*jifen.ServiceRecord, error) {
	r := &jifen.ServiceRecord{}
	var activity, recordedBy, corrects sql.NullInt64
	if err := row.Scan(&r.ID, &r.PersonID, &r.PersonName, &r.VolunteerNo, &r.OrgID, &r.OrgName, &activity, &r.Content, &r.Place,
		&r.StartedAt, &r.EndedAt, &r.Minutes, &r.How, &recordedBy, &r.VerifiedBy, &r.VerifiedAt, &corrects, &r.Reason); err != nil {
		return nil, err
	}
	if activity.Valid {
		r.ActivityID = &activity.Int64
	}
	if recordedBy.Valid {
		r.RecordedBy = &recordedBy.Int64
	}
	if corrects.Valid {
		r.Corrects = &corrects.Int64
	}
	r.StartedAt, r.EndedAt, r.VerifiedAt = r.StartedAt.In(jifen.Zone), r.EndedAt.In(jifen.Zone), r.VerifiedAt.In(jifen.Zone)
	return r, nil
}

// recordWhere limits records to what the actor may read: their own, or
// those of a person or org in their staff scope.
func (s *RecordService) recordWhere(ctx context.Context, f jifen.RecordFilter) (string, []any, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return "", nil, jifen.ErrUnauthorized
	}
	where, args := "1=1", []any{}
	switch {
	case f.PersonID != 0:
		if err := s.db.selfOrSeen(ctx, a, f.PersonID); err != nil {
			return "", nil, err
		}
		where, args = "r.person_id = ?", []any{f.PersonID}
	default:
		w, sargs, err := s.db.scopeWhere(ctx, a, "r.org_path", f.OrgID, jifen.StaffRoles...)
		if err != nil {
			return "", nil, err
		}
		where, args = w, sargs
	}
	if !f.From.IsZero() {
		where += " AND r.started_at >= ?"
		args = append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		where += " AND r.started_at < ?"
		args = append(args, f.To.UTC())
	}
	return where, args, nil
}

// Records lists service records, newest first.
func (s *RecordService) Records(ctx context.Context, f jifen.RecordFilter) ([]*jifen.ServiceRecord, int, error) {
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 50, 200)
	where, args, err := s.recordWhere(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	offset := (f.Page - 1) * f.PerPage
	total, from, bound, err := s.db.listPage(ctx, "service_records", "r", "service_records_started", where, args, offset, f.PerPage)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, "SELECT "+recordCols+" FROM "+from+recordJoins+" WHERE "+where+bound+" ORDER BY r.started_at DESC, r.id DESC LIMIT ? OFFSET ?",
		append(args, f.PerPage, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*jifen.ServiceRecord{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// EachRecord streams records in time order for an export.
func (s *RecordService) EachRecord(ctx context.Context, f jifen.RecordFilter, fn func(*jifen.ServiceRecord) error) error {
	where, args, err := s.recordWhere(ctx, f)
	if err != nil {
		return err
	}
	rows, err := s.db.query(ctx, "SELECT "+recordCols+recordFrom+" WHERE "+where+" ORDER BY r.started_at, r.id", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CountRecords counts what EachRecord would stream, for a progress bar.
func (s *RecordService) CountRecords(ctx context.Context, f jifen.RecordFilter) (int, error) {
	where, args, err := s.recordWhere(ctx, f)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.db.queryRow(ctx, "SELECT COUNT(*) FROM service_records r WHERE "+where, args...).Scan(&n)
	return n, err
}

// Hours sums a person's verified minutes; back-filled minutes count toward
// hours and stars, and are shown apart.
func (s *RecordService) Hours(ctx context.Context, personID int64) (*jifen.Hours, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := s.db.selfOrSeen(ctx, a, personID); err != nil {
		return nil, err
	}
	h := &jifen.Hours{PersonID: personID}
	// A correction counts as the kind of the record it corrects.
	err := s.db.queryRow(ctx, `SELECT COALESCE(SUM(r.minutes), 0),
		COALESCE(SUM(CASE WHEN r.how = 'backfilled' OR o.how = 'backfilled' THEN r.minutes ELSE 0 END), 0),
		COUNT(CASE WHEN r.how <> 'correction' THEN 1 END)
		FROM service_records r LEFT JOIN service_records o ON o.id = r.corrects_id WHERE r.person_id = ?`, personID).Scan(&h.VerifiedMinutes, &h.BackfillMinutes, &h.Records)
	if err != nil {
		return nil, err
	}
	if h.VerifiedMinutes < 0 {
		h.VerifiedMinutes = 0
	}
	h.SelfMinutes = h.VerifiedMinutes - h.BackfillMinutes
	h.Stars, h.NextStarHours = jifen.Stars(h.VerifiedMinutes), jifen.NextStar(h.VerifiedMinutes)
	return h, nil
}

// currentMinutes is a record's minutes with its corrections applied. It
// first takes the person's row lock, so two corrections of one person's
// records never both compute their delta from the same total.
func (t *Tx) currentMinutes(ctx context.Context, recordID int64) (int, error) {
	if _, err := t.exec(ctx, "UPDATE people SET updated_at = updated_at WHERE id = (SELECT person_id FROM service_records WHERE id = ?)", recordID); err != nil {
		return 0, err
	}
	var m int
	err := t.queryRow(ctx, "SELECT COALESCE(SUM(minutes), 0) FROM service_records WHERE id = ? OR corrects_id = ?", recordID, recordID).Scan(&m)
	return m, err
}

// correctionLimit is the most a record may be corrected to: its own span,
// and for an activity's record what the activity's length leaves beside
// the person's other records of it (a back-filled record spans the whole
// activity, overlapping the time their own check-ins already count).
// Called after currentMinutes, which holds the person's row.
func (t *Tx) correctionLimit(ctx context.Context, r *jifen.ServiceRecord) (limit int, others int, err error) {
	limit = int(r.EndedAt.Sub(r.StartedAt) / time.Minute)
	if r.ActivityID == nil {
		return limit, 0, nil
	}
	var starts, ends time.Time
	if err := t.queryRow(ctx, "SELECT starts_at, ends_at FROM activities WHERE id = ?", *r.ActivityID).Scan(&starts, &ends); err != nil {
		return 0, 0, err
	}
	if err := t.queryRow(ctx, `SELECT COALESCE(SUM(minutes), 0) FROM service_records WHERE person_id = ? AND activity_id = ?
		AND id <> ? AND (corrects_id IS NULL OR corrects_id <> ?)`, r.PersonID, *r.ActivityID, r.ID, r.ID).Scan(&others); err != nil {
		return 0, 0, err
	}
	return max(0, min(limit, int(ends.Sub(starts)/time.Minute)-others)), others, nil
}

// overLimit explains a correction beyond correctionLimit.
func overLimit(field string, limit, others int) error {
	if others > 0 {
		return jifen.Invalid(field, fmt.Sprintf("这项活动的其他记录已有%d分钟，这条记录最多%d分钟，合计不能超过活动时长", others, limit),
			fmt.Sprintf("The activity's other records already hold %d minutes; this one can be at most %d, so the total stays within the activity", others, limit))
	}
	return jifen.Invalid(field, fmt.Sprintf("时长不能超过这条记录的起止时间（%d分钟）", limit), fmt.Sprintf("At most the record's span (%d minutes)", limit))
}

func (t *Tx) getRecord(ctx context.Context, id int64) (*jifen.ServiceRecord, string, error) {
	var path string
	r, err := scanRecord(prefixRowScan{t.queryRow(ctx, "SELECT r.org_path, "+recordCols+recordFrom+" WHERE r.id = ?", id), &path})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", jifen.NotFound("record")
	}
	return r, path, err
}

type prefixRowScan struct {
	row  *sql.Row
	path *string
}

func (p prefixRowScan) Scan(dest ...any) error { return p.row.Scan(append([]any{p.path}, dest...)...) }

// RequestCorrection asks for one of the actor's own records to be fixed.
func (s *RecordService) RequestCorrection(ctx context.Context, recordID int64, wanted int, reason string) (*jifen.CorrectionRequest, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return nil, jifen.Invalid("reason", "请说明需要更正的原因", "Say why the record is wrong")
	}
	if wanted < 0 || wanted > int(jifen.MaxActivityLength/time.Minute) {
		return nil, jifen.Invalid("wanted_minutes", "时长不合理", "The minutes are not plausible")
	}
	req := &jifen.CorrectionRequest{RecordID: recordID, PersonID: a.PersonID, Wanted: wanted, Reason: reason, Status: "pending"}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		r, path, err := tx.getRecord(ctx, recordID)
		if err != nil {
			return err
		}
		if r.PersonID != a.PersonID || r.How == jifen.HowCorrection {
			return jifen.NotFound("record")
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM correction_requests WHERE record_id = ? AND status = 'pending'", recordID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return jifen.Conflict("correction_pending", "这条记录已有待处理的更正申请", "A correction request for this record is already waiting")
		}
		if req.Minutes, err = tx.currentMinutes(ctx, recordID); err != nil {
			return err
		}
		if limit, others, err := tx.correctionLimit(ctx, r); err != nil {
			return err
		} else if wanted > limit {
			return overLimit("wanted_minutes", limit, others)
		}
		req.CreatedAt = s.db.now()
		if req.ID, err = tx.insert(ctx, "INSERT INTO correction_requests (record_id, person_id, wanted_minutes, reason, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
			recordID, a.PersonID, wanted, reason, req.CreatedAt); err != nil {
			return err
		}
		return tx.audit(ctx, r.OrgID, path, "record.correction_request", "record", recordID, reason)
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

// CorrectionRequests lists pending requests in the actor's scope.
func (s *RecordService) CorrectionRequests(ctx context.Context, orgID int64) ([]*jifen.CorrectionRequest, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	where, args, err := s.db.scopeWhere(ctx, a, "r.org_path", orgID, leaderRoles...)
	if err != nil {
		return nil, err
	}
	// From the requests to their records (CROSS JOIN keeps that order on
	// SQLite): the other way round read a county's 10 M records by path
	// to find the few asked about (1.5 s at 1 M people).
	rows, err := s.db.query(ctx, `SELECT c.id, c.record_id, c.person_id, p.name, r.content, c.wanted_minutes, c.reason, c.status, c.created_at,
		(SELECT COALESCE(SUM(x.minutes), 0) FROM service_records x WHERE x.id = r.id OR x.corrects_id = r.id)
		FROM correction_requests c CROSS JOIN service_records r JOIN people p ON p.id = c.person_id
		WHERE r.id = c.record_id AND c.status = 'pending' AND `+where+" ORDER BY c.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*jifen.CorrectionRequest{}
	for rows.Next() {
		c := &jifen.CorrectionRequest{}
		if err := rows.Scan(&c.ID, &c.RecordID, &c.PersonID, &c.PersonName, &c.Content, &c.Wanted, &c.Reason, &c.Status, &c.CreatedAt, &c.Minutes); err != nil {
			return nil, err
		}
		c.CreatedAt = c.CreatedAt.In(jifen.Zone)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AnswerCorrection accepts a request, writing a correction record, or
// rejects it; either way the volunteer is told. Nobody answers their own.
func (s *RecordService) AnswerCorrection(ctx context.Context, requestID int64, accept bool, answer string) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	answer = jifen.CleanText(answer)
	if !accept && answer == "" {
		return jifen.Invalid("answer", "驳回时请说明原因", "Give a reason for rejecting")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		// Lock the request: two leaders answering at once are applied once.
		if _, err := tx.exec(ctx, "UPDATE correction_requests SET status = status WHERE id = ?", requestID); err != nil {
			return err
		}
		var recordID, personID int64
		var wanted int
		var status string
		err := tx.queryRow(ctx, "SELECT record_id, person_id, wanted_minutes, status FROM correction_requests WHERE id = ?", requestID).Scan(&recordID, &personID, &wanted, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return jifen.NotFound("request")
		}
		if err != nil {
			return err
		}
		r, path, err := tx.getRecord(ctx, recordID)
		if err != nil {
			return err
		}
		if !a.Has(path, leaderRoles...) {
			return jifen.NotFound("request")
		}
		if personID == a.PersonID {
			return jifen.Conflict("self_approval", "不能处理自己的更正申请", "You cannot answer your own request")
		}
		if status != "pending" {
			return jifen.Conflict("already_answered", "该申请已处理", "This request has been answered")
		}
		newStatus := "rejected"
		msg := say(fmt.Sprintf("您对“%s”的更正申请未通过：%s", r.Content, answer),
			fmt.Sprintf("Your correction request for “%s” was not approved: %s", r.Content, answer))
		if accept {
			newStatus = "accepted"
			cur, err := tx.currentMinutes(ctx, recordID)
			if err != nil {
				return err
			}
			limit, others, err := tx.correctionLimit(ctx, r)
			if err != nil {
				return err
			}
			if wanted > limit {
				return jifen.Invalid("wanted_minutes", fmt.Sprintf("申请的时长超过了这条记录最多可记的%d分钟，只能驳回或直接更正", limit),
					fmt.Sprintf("The request exceeds the %d minutes this record can hold (the activity's other records: %d); reject it or correct the record directly", limit, others))
			}
			if wanted != cur {
				if err := tx.correction(ctx, r, path, cur, wanted, "更正申请#"+fmt.Sprint(requestID)+"："+answer); err != nil {
					return err
				}
			}
			msg = say(fmt.Sprintf("您对“%s”的更正申请已通过，时长更正为%s小时。", r.Content, jifen.HoursText(wanted)),
				fmt.Sprintf("Your correction request for “%s” is approved: now %s hours.", r.Content, jifen.HoursText(wanted)))
		}
		if _, err := tx.exec(ctx, "UPDATE correction_requests SET status = ?, answer = ?, decided_by = ?, decided_at = ? WHERE id = ?",
			newStatus, answer, a.PersonID, s.db.now(), requestID); err != nil {
			return err
		}
		if err := tx.sendMessage(ctx, personID, say("时长更正申请结果", "Correction request decided"), msg); err != nil {
			return err
		}
		return tx.audit(ctx, r.OrgID, path, "record.correction_"+newStatus, "record", recordID, answer)
	})
}

// correction writes a record whose minutes take an earlier one from cur
// to wanted, and posts the matching change of its points.
func (t *Tx) correction(ctx context.Context, r *jifen.ServiceRecord, path string, cur, wanted int, reason string) error {
	a := jifen.ActorFrom(ctx)
	id, err := t.insert(ctx, `INSERT INTO service_records (person_id, org_id, org_path, activity_id, content, place, started_at, ended_at, minutes, how,
		recorded_by, verified_by, verified_at, corrects_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'correction', ?, ?, ?, ?, ?)`,
		r.PersonID, r.OrgID, path, r.ActivityID, r.Content, r.Place, r.StartedAt.UTC(), r.EndedAt.UTC(), wanted-cur,
		actorID(a), actorID(a), t.db.now(), r.ID, reason)
	if err != nil {
		return err
	}
	// Points (the account's lock) before the report rows: the order of
	// every write (lockSubject), a verification's among them.
	if err := t.correctService(ctx, r.ID, id, int64(cur), int64(wanted)); err != nil {
		return err
	}
	return t.tallyService(ctx, r.PersonID, r.OrgID, path, r.StartedAt, int64(wanted-cur), 0)
}

// Correct sets a record's minutes to a new total with a correction record.
func (s *RecordService) Correct(ctx context.Context, recordID int64, minutes int, reason string) (*jifen.ServiceRecord, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return nil, jifen.Invalid("reason", "更正必须填写原因", "A correction needs a reason")
	}
	if minutes < 0 {
		return nil, jifen.Invalid("minutes", "时长不能为负数", "Minutes cannot be negative")
	}
	var out *jifen.ServiceRecord
	err := s.db.inTx(ctx, func(tx *Tx) error {
		r, path, err := tx.getRecord(ctx, recordID)
		if err != nil {
			return err
		}
		if !a.Has(path, leaderRoles...) {
			return jifen.NotFound("record")
		}
		if r.PersonID == a.PersonID {
			return jifen.Conflict("self_approval", "不能更正自己的服务记录", "You cannot correct your own record")
		}
		if r.How == jifen.HowCorrection {
			return jifen.Invalid("record_id", "请更正原始记录", "Correct the original record")
		}
		cur, err := tx.currentMinutes(ctx, recordID)
		if err != nil {
			return err
		}
		if limit, others, err := tx.correctionLimit(ctx, r); err != nil {
			return err
		} else if minutes > limit {
			return overLimit("minutes", limit, others)
		}
		if cur == minutes {
			return jifen.Conflict("no_change", "时长没有变化", "The minutes are unchanged")
		}
		if err := tx.correction(ctx, r, path, cur, minutes, reason); err != nil {
			return err
		}
		if err := tx.sendMessage(ctx, r.PersonID, say("服务记录已更正", "Service record corrected"),
			say(fmt.Sprintf("“%s”的时长更正为%s小时。原因：%s", r.Content, jifen.HoursText(minutes), reason),
				fmt.Sprintf("Your hours at “%s” are corrected to %s. Reason: %s", r.Content, jifen.HoursText(minutes), reason))); err != nil {
			return err
		}
		out = r
		return tx.audit(ctx, r.OrgID, path, "record.correct", "record", recordID, fmt.Sprintf("%d → %d: %s", cur, minutes, reason))
	})
	return out, err
}
