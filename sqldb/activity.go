package sqldb

import (
	"context"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"jifen"
	"jifen/secret"
)

// ActivityService implements jifen.ActivityService.
type ActivityService struct{ db *DB }

// NewActivityService returns the activity service on db.
func NewActivityService(db *DB) *ActivityService { return &ActivityService{db} }

// The check-in window: volunteers may check in from half an hour before
// the start; a forgotten check-out may still be done for two hours after
// the end (the minutes are clipped to the activity anyway).
const (
	checkinEarly  = 30 * time.Minute
	checkoutGrace = 2 * time.Hour
	codeWindow    = 30 * time.Second
)

// leaderRoles may run an activity of their subtree.
var leaderRoles = []jifen.Role{jifen.RoleTeamLeader, jifen.RoleOrgAdmin}

const activityCols = `a.id, a.org_id, o.name, a.org_path, a.project_id, COALESCE(pr.name, ''), a.title, a.description, a.category,
	a.address, a.lat, a.lon, a.radius_m, a.starts_at, a.ends_at, a.capacity, a.signup_deadline, a.min_age, a.skills,
	a.points_per_hour, a.status, a.cancel_reason, a.confirmed,
	(SELECT COUNT(*) FROM signups w WHERE w.activity_id = a.id AND w.status = 'waitlisted'), a.created_at, a.verified_at`

const activityFrom = ` FROM activities a JOIN orgs o ON o.id = a.org_id LEFT JOIN projects pr ON pr.id = a.project_id`

func scanActivity(row interface{ Scan(...any) error }) (*jifen.Activity, error) {
	a := &jifen.Activity{}
	var project sql.NullInt64
	var lat, lon sql.NullFloat64
	var deadline, verified sql.NullTime
	var skills string
	if err := row.Scan(&a.ID, &a.OrgID, &a.OrgName, &a.OrgPath, &project, &a.ProjectName, &a.Title, &a.Description, &a.Category,
		&a.Location.Address, &lat, &lon, &a.Location.RadiusM, &a.StartsAt, &a.EndsAt, &a.Capacity, &deadline, &a.MinAge, &skills,
		&a.PointsPerHour, &a.Status, &a.CancelReason, &a.Confirmed, &a.Waitlisted, &a.CreatedAt, &verified); err != nil {
		return nil, err
	}
	if project.Valid {
		a.ProjectID = &project.Int64
	}
	if lat.Valid && lon.Valid {
		a.Location.Lat, a.Location.Lon = &lat.Float64, &lon.Float64
	}
	a.StartsAt, a.EndsAt, a.CreatedAt = a.StartsAt.In(jifen.Zone), a.EndsAt.In(jifen.Zone), a.CreatedAt.In(jifen.Zone)
	if deadline.Valid {
		t := deadline.Time.In(jifen.Zone)
		a.SignupDeadline = &t
	}
	if verified.Valid {
		t := verified.Time.In(jifen.Zone)
		a.VerifiedAt = &t
	}
	a.Skills = []string{}
	if skills != "" {
		a.Skills = strings.Split(skills, ",")
	}
	return a, nil
}

type rowQuerier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func (db *DB) getActivity(ctx context.Context, q rowQuerier, id int64) (*jifen.Activity, error) {
	a, err := scanActivity(q.QueryRowContext(ctx, db.q("SELECT "+activityCols+activityFrom+" WHERE a.id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("activity")
	}
	return a, err
}

// canSeeActivity: anything but a draft is public to signed-in people;
// drafts belong to the staff of the org's subtree.
func canSeeActivity(a *jifen.Actor, act *jifen.Activity) bool {
	if a == nil {
		return false
	}
	return act.Status != jifen.ActivityDraft || a.Has(act.OrgPath, jifen.StaffRoles...)
}

// leads returns the activity when the actor may run it, not found when
// they cannot even see it, forbidden otherwise.
func (db *DB) leads(ctx context.Context, q rowQuerier, id int64) (*jifen.Activity, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	act, err := db.getActivity(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if !a.Has(act.OrgPath, leaderRoles...) {
		if canSeeActivity(a, act) {
			return nil, jifen.ErrForbidden
		}
		return nil, jifen.NotFound("activity")
	}
	return act, nil
}

// CreateProject adds a project to an org the actor leads.
func (s *ActivityService) CreateProject(ctx context.Context, in jifen.ProjectInput) (*jifen.Project, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		org, err := tx.lockedOrg(ctx, in.OrgID)
		if err != nil {
			return jifen.Invalid("org_id", "组织不存在", "The organisation does not exist")
		}
		if !a.Has(org.Path, leaderRoles...) {
			return refuse(a, org.Path)
		}
		if id, err = tx.insert(ctx, "INSERT INTO projects (org_id, name, description, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
			org.ID, in.Name, in.Description, actorID(a), s.db.now()); err != nil {
			return err
		}
		return tx.audit(ctx, org.ID, org.Path, "project.create", "project", id, in.Name)
	})
	if err != nil {
		return nil, err
	}
	return s.Project(ctx, id)
}

// actorPerson is the acting person's id, 0 for the system.
func actorPerson(ctx context.Context) int64 {
	if a := jifen.ActorFrom(ctx); a != nil {
		return a.PersonID
	}
	return 0
}

func actorID(a *jifen.Actor) any {
	if a == nil || a.PersonID == 0 {
		return nil
	}
	return a.PersonID
}

// Project returns a project with its totals.
func (s *ActivityService) Project(ctx context.Context, id int64) (*jifen.Project, error) {
	if jifen.ActorFrom(ctx) == nil {
		return nil, jifen.ErrUnauthorized
	}
	p := &jifen.Project{}
	err := s.db.queryRow(ctx, `SELECT p.id, p.org_id, o.name, p.name, p.description, p.created_at,
		(SELECT COUNT(*) FROM activities a WHERE a.project_id = p.id AND a.status <> 'draft'),
		(SELECT COUNT(DISTINCT r.person_id) FROM service_records r JOIN activities a ON a.id = r.activity_id WHERE a.project_id = p.id),
		(SELECT COALESCE(SUM(r.minutes), 0) FROM service_records r JOIN activities a ON a.id = r.activity_id WHERE a.project_id = p.id)
		FROM projects p JOIN orgs o ON o.id = p.org_id WHERE p.id = ?`, id).
		Scan(&p.ID, &p.OrgID, &p.OrgName, &p.Name, &p.Description, &p.CreatedAt, &p.Activities, &p.People, &p.Minutes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("project")
	}
	p.CreatedAt = p.CreatedAt.In(jifen.Zone)
	return p, err
}

// Projects lists the projects an activity of org may belong to: those of
// the org and of every org above it.
func (s *ActivityService) Projects(ctx context.Context, orgID int64) ([]*jifen.Project, error) {
	if jifen.ActorFrom(ctx) == nil {
		return nil, jifen.ErrUnauthorized
	}
	path, err := s.db.orgPath(ctx, orgID)
	if err != nil {
		return nil, err
	}
	ids := jifen.PathIDs(path)
	ph, args := idList(ids)
	rows, err := s.db.query(ctx, "SELECT p.id, p.org_id, o.name, p.name, p.description, p.created_at FROM projects p JOIN orgs o ON o.id = p.org_id WHERE p.org_id IN ("+ph+") ORDER BY p.name", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*jifen.Project
	for rows.Next() {
		p := &jifen.Project{}
		if err := rows.Scan(&p.ID, &p.OrgID, &p.OrgName, &p.Name, &p.Description, &p.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// checkProject makes sure a project belongs to the activity's org or above.
func (t *Tx) checkProject(ctx context.Context, projectID *int64, orgPath string) error {
	if projectID == nil {
		return nil
	}
	var p string
	err := t.queryRow(ctx, "SELECT o.path FROM projects pr JOIN orgs o ON o.id = pr.org_id WHERE pr.id = ?", *projectID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !jifen.PathContains(p, orgPath)) {
		return jifen.Invalid("project_id", "项目不存在或不属于该组织", "No such project for this organisation")
	}
	return err
}

// CreateActivity adds a draft activity to an org the actor leads.
func (s *ActivityService) CreateActivity(ctx context.Context, in jifen.ActivityInput) (*jifen.Activity, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		org, err := tx.getOrg(ctx, in.OrgID)
		if err != nil {
			if jifen.ErrorKind(err) == jifen.KindNotFound {
				return jifen.Invalid("org_id", "组织不存在", "The organisation does not exist")
			}
			return err
		}
		if !a.Has(org.Path, leaderRoles...) {
			return refuse(a, org.Path)
		}
		if org.ArchivedAt != nil {
			return jifen.Conflict("org_archived", "该组织已归档", "The organisation is archived")
		}
		if err := tx.checkProject(ctx, in.ProjectID, org.Path); err != nil {
			return err
		}
		id, err = tx.insert(ctx, `INSERT INTO activities (org_id, org_path, project_id, title, description, category, address, lat, lon, radius_m,
			starts_at, ends_at, capacity, signup_deadline, min_age, skills, points_per_hour, status, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?)`,
			org.ID, org.Path, in.ProjectID, in.Title, in.Description, in.Category, in.Location.Address, nullFloat(in.Location.Lat), nullFloat(in.Location.Lon),
			in.Location.RadiusM, in.StartsAt.UTC(), in.EndsAt.UTC(), in.Capacity, nullTime(in.SignupDeadline), in.MinAge,
			strings.Join(in.Skills, ","), in.PointsPerHour, actorID(a), s.db.now())
		if err != nil {
			return err
		}
		return tx.audit(ctx, org.ID, org.Path, "activity.create", "activity", id, in.Title)
	})
	if err != nil {
		return nil, err
	}
	return s.db.getActivity(ctx, s.db.r, id)
}

// UpdateActivity edits a draft or published activity. Raising the
// capacity moves people up from the waitlist.
func (s *ActivityService) UpdateActivity(ctx context.Context, id int64, in jifen.ActivityInput) (*jifen.Activity, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.leadsLocked(ctx, id)
		if err != nil {
			return err
		}
		if act.Status != jifen.ActivityDraft && act.Status != jifen.ActivityPublished {
			return jifen.Conflict("activity_closed", "活动已核验或已取消，不能修改", "A verified or cancelled activity cannot change")
		}
		if in.OrgID != act.OrgID {
			return jifen.Invalid("org_id", "活动不能改到其他组织", "An activity cannot move to another organisation")
		}
		if err := tx.lockActivity(ctx, id); err != nil {
			return err
		}
		if act, err = tx.lockedActivity(ctx, id); err != nil {
			return err
		}
		// Check-ins count between a published activity's start and end:
		// moving them once people may be on site would rewrite their time
		// after the fact (a forgotten check-out closed at an end pushed
		// days later). A running activity may still end earlier or later;
		// time that was missed is back-filled, with a reason and a name. A
		// draft nobody could sign up for is rescheduled freely.
		now := s.db.now()
		published := act.Status == jifen.ActivityPublished
		// To the minute, as the edit form shows and sends them.
		same := func(a, b time.Time) bool { return a.Truncate(time.Minute).Equal(b.Truncate(time.Minute)) }
		if published && !now.Before(act.StartsAt) && !same(in.StartsAt, act.StartsAt) {
			return jifen.Conflict("activity_started", "活动已开始，开始时间不能再改", "The activity has started; its start cannot change")
		}
		if published && !now.Before(act.EndsAt) && !same(in.EndsAt, act.EndsAt) {
			return jifen.Conflict("activity_ended", "活动已结束，结束时间不能再改；少记的时长请补录并写明原因",
				"The activity has ended; its end cannot change. Back-fill missed time with a reason")
		}
		if published && !now.Before(act.StartsAt) && !same(in.EndsAt, act.EndsAt) && in.EndsAt.Before(now) {
			return jifen.Invalid("ends_at", "活动进行中，结束时间不能改到已经过去的时刻", "The activity is under way; its end cannot move to a time already past")
		}
		if in.Capacity > 0 && in.Capacity < act.Confirmed {
			return jifen.Conflict("capacity_below_confirmed", fmt.Sprintf("已有%d人报名成功，人数上限不能低于此数", act.Confirmed),
				fmt.Sprintf("%d people are already confirmed; the capacity cannot go below that", act.Confirmed))
		}
		if err := tx.checkProject(ctx, in.ProjectID, act.OrgPath); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE activities SET project_id = ?, title = ?, description = ?, category = ?, address = ?, lat = ?, lon = ?,
			radius_m = ?, starts_at = ?, ends_at = ?, capacity = ?, signup_deadline = ?, min_age = ?, skills = ?, points_per_hour = ? WHERE id = ?`,
			in.ProjectID, in.Title, in.Description, in.Category, in.Location.Address, nullFloat(in.Location.Lat), nullFloat(in.Location.Lon),
			in.Location.RadiusM, in.StartsAt.UTC(), in.EndsAt.UTC(), in.Capacity, nullTime(in.SignupDeadline), in.MinAge,
			strings.Join(in.Skills, ","), in.PointsPerHour, id); err != nil {
			return err
		}
		if err := tx.promote(ctx, id); err != nil {
			return err
		}
		return tx.audit(ctx, act.OrgID, act.OrgPath, "activity.update", "activity", id, in.Title)
	})
	if err != nil {
		return nil, err
	}
	return s.db.getActivity(ctx, s.db.r, id)
}

// Activity returns one activity the actor may see.
func (s *ActivityService) Activity(ctx context.Context, id int64) (*jifen.Activity, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	act, err := s.db.getActivity(ctx, s.db.r, id)
	if err != nil {
		return nil, err
	}
	if !canSeeActivity(a, act) {
		return nil, jifen.NotFound("activity")
	}
	act.Status = act.EffectiveStatus(s.db.Now())
	return act, nil
}

// Activities lists activities: everything published to anyone signed in,
// drafts to the staff of their subtree. "Near me" and "my skills" filter
// and sort a bounded candidate set in Go.
func (s *ActivityService) Activities(ctx context.Context, f jifen.ActivityFilter) ([]*jifen.Activity, int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 20, 100)
	where, args := "a.status <> 'draft'", []any{}
	if staff, all := a.ScopePaths(jifen.StaffRoles...); all {
		where = "1=1"
	} else if len(staff) > 0 {
		var conds []string
		for _, p := range staff {
			conds = append(conds, "(a.org_path >= ? AND a.org_path < ?)")
			args = append(args, p, jifen.PathUpper(p))
		}
		where = "(a.status <> 'draft' OR " + strings.Join(conds, " OR ") + ")"
	}
	if f.OrgID != 0 {
		path, err := s.db.orgPath(ctx, f.OrgID)
		if err != nil {
			return nil, 0, err
		}
		where += " AND a.org_path >= ? AND a.org_path < ?"
		args = append(args, path, jifen.PathUpper(path))
	}
	if f.Category != "" {
		where += " AND a.category = ?"
		args = append(args, f.Category)
	}
	if !f.From.IsZero() {
		where += " AND a.ends_at > ?"
		args = append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		where += " AND a.starts_at < ?"
		args = append(args, f.To.UTC())
	}
	now := s.db.Now()
	switch f.Status {
	case "":
	case jifen.ActivityPublished:
		where += " AND a.status = 'published' AND a.ends_at > ?"
		args = append(args, now.UTC())
	case jifen.ActivityFinished:
		where += " AND a.status = 'published' AND a.ends_at <= ?"
		args = append(args, now.UTC())
	default:
		where += " AND a.status = ?"
		args = append(args, f.Status)
	}
	if f.Mine {
		where += " AND a.id IN (SELECT activity_id FROM signups WHERE person_id = ? AND status <> 'cancelled')"
		args = append(args, a.PersonID)
	}
	inGo := f.Near != nil || f.MySkills
	if f.Near != nil {
		where += " AND a.lat IS NOT NULL"
	}
	order := " ORDER BY a.starts_at DESC, a.id DESC"
	if f.Status == jifen.ActivityPublished {
		order = " ORDER BY a.starts_at, a.id"
	}
	var total int
	if !inGo {
		if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM activities a WHERE "+where, args...).Scan(&total); err != nil {
			return nil, 0, err
		}
	}
	q := "SELECT " + activityCols + activityFrom + " WHERE " + where + order
	if inGo {
		q += " LIMIT 500"
	} else {
		q += " LIMIT ? OFFSET ?"
		args = append(args, f.PerPage, (f.Page-1)*f.PerPage)
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*jifen.Activity{}
	for rows.Next() {
		act, err := scanActivity(rows)
		if err != nil {
			return nil, 0, err
		}
		act.Status = act.EffectiveStatus(now)
		out = append(out, act)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if !inGo {
		return out, total, nil
	}
	if f.MySkills {
		var skills string
		if err := s.db.queryRow(ctx, "SELECT skills FROM people WHERE id = ?", a.PersonID).Scan(&skills); err != nil {
			return nil, 0, err
		}
		mine := map[string]bool{}
		for _, sk := range strings.Split(skills, ",") {
			if sk != "" {
				mine[sk] = true
			}
		}
		kept := out[:0]
		for _, act := range out {
			for _, sk := range act.Skills {
				if mine[sk] {
					kept = append(kept, act)
					break
				}
			}
		}
		out = kept
	}
	if f.Near != nil {
		lat, lon := f.Near[0], f.Near[1]
		sort.SliceStable(out, func(i, j int) bool {
			return jifen.DistanceM(lat, lon, *out[i].Location.Lat, *out[i].Location.Lon) < jifen.DistanceM(lat, lon, *out[j].Location.Lat, *out[j].Location.Lon)
		})
	}
	total = len(out)
	lo := min((f.Page-1)*f.PerPage, total)
	hi := min(lo+f.PerPage, total)
	return out[lo:hi], total, nil
}

// Publish opens a draft for sign-up.
func (s *ActivityService) Publish(ctx context.Context, id int64) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.leadsLocked(ctx, id)
		if err != nil {
			return err
		}
		if act.Status == jifen.ActivityPublished {
			return nil
		}
		if act.Status != jifen.ActivityDraft {
			return jifen.Conflict("not_draft", "只有草稿可以发布", "Only a draft can be published")
		}
		if !s.db.Now().Before(act.EndsAt) {
			return jifen.Conflict("activity_ended", "活动结束时间已过，不能发布", "The activity has already ended")
		}
		if _, err := tx.exec(ctx, "UPDATE activities SET status = 'published', published_at = ? WHERE id = ?", s.db.now(), id); err != nil {
			return err
		}
		return tx.audit(ctx, act.OrgID, act.OrgPath, "activity.publish", "activity", id, act.Title)
	})
}

// Cancel calls an activity off; everyone signed up is told why.
func (s *ActivityService) Cancel(ctx context.Context, id int64, reason string) error {
	reason = jifen.CleanText(reason)
	if reason == "" {
		return jifen.Invalid("reason", "请填写取消原因", "Give a reason for cancelling")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.leadsLocked(ctx, id)
		if err != nil {
			return err
		}
		if act.Status == jifen.ActivityCancelled {
			return nil
		}
		if act.Status == jifen.ActivityVerified {
			return jifen.Conflict("already_verified", "活动已核验，不能取消", "A verified activity cannot be cancelled")
		}
		if _, err := tx.exec(ctx, "UPDATE activities SET status = 'cancelled', cancel_reason = ? WHERE id = ?", reason, id); err != nil {
			return err
		}
		ids, err := tx.ids(ctx, "SELECT person_id FROM signups WHERE activity_id = ? AND status <> 'cancelled'", id)
		if err != nil {
			return err
		}
		for _, pid := range ids {
			starts := act.StartsAt.In(jifen.Zone)
			if err := tx.sendMessage(ctx, pid, say("活动已取消："+act.Title, "Activity cancelled: "+act.Title),
				say(fmt.Sprintf("您报名的活动“%s”（%s）已取消。原因：%s", act.Title, starts.Format("1月2日 15:04"), reason),
					fmt.Sprintf("The activity you signed up for, “%s” (%s), is cancelled. Reason: %s", act.Title, starts.Format("2 Jan 15:04"), reason))); err != nil {
				return err
			}
		}
		return tx.audit(ctx, act.OrgID, act.OrgPath, "activity.cancel", "activity", id, reason)
	})
}

// ids runs a query returning one integer column.
func (t *Tx) ids(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SignUp puts a person on an activity: themselves, or a leader adding
// someone from their subtree. A repeated sign-up answers the status held.
func (s *ActivityService) SignUp(ctx context.Context, activityID, personID int64) (jifen.SignupStatus, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return "", jifen.ErrUnauthorized
	}
	var status jifen.SignupStatus
	err := s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.lockedActivity(ctx, activityID)
		if err != nil {
			return err
		}
		if !canSeeActivity(a, act) {
			return jifen.NotFound("activity")
		}
		if personID != a.PersonID {
			if !a.Has(act.OrgPath, leaderRoles...) {
				return jifen.ErrForbidden
			}
			p, err := s.db.getPerson(ctx, tx.tx, personID)
			if err != nil {
				return jifen.Invalid("person_id", "该人员不存在", "No such person")
			}
			teams, err := tx.teamsOf(ctx, personID)
			if err != nil {
				return err
			}
			if !canSeePerson(a, p, teams, leaderRoles...) {
				return jifen.Invalid("person_id", "该人员不存在", "No such person")
			}
		}
		status, err = tx.signUp(ctx, act, personID)
		return err
	})
	return status, err
}

func (t *Tx) teamsOf(ctx context.Context, personID int64) ([]*jifen.Org, error) {
	rows, err := t.query(ctx, "SELECT "+orgCols+" FROM memberships m JOIN orgs o ON o.id = m.team_id WHERE m.person_id = ?", personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*jifen.Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// signUp takes a place: confirmed while the capacity lasts, else on the
// waitlist. The capacity is held by a conditional update of the
// activity's counter, which both databases serialise per row.
func (t *Tx) signUp(ctx context.Context, act *jifen.Activity, personID int64) (jifen.SignupStatus, error) {
	now := t.db.Now()
	if act.Status != jifen.ActivityPublished {
		return "", jifen.Conflict("not_open", "活动未开放报名", "The activity is not open for sign-up")
	}
	deadline := act.EndsAt
	if act.SignupDeadline != nil {
		deadline = *act.SignupDeadline
	}
	if !now.Before(deadline) {
		return "", jifen.Conflict("signup_closed", "报名已截止", "Sign-up has closed")
	}
	if err := t.lockActivity(ctx, act.ID); err != nil {
		return "", err
	}
	var cur string
	err := t.queryRow(ctx, "SELECT status FROM signups WHERE activity_id = ? AND person_id = ?", act.ID, personID).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	if cur == string(jifen.SignupConfirmed) || cur == string(jifen.SignupWaitlisted) {
		return jifen.SignupStatus(cur), nil
	}
	// A new place only: on PostgreSQL the person's row is read under a key
	// share, which an erasure's lock holds off, so a sign-up that read them
	// active while their erasure was under way does not take a place after
	// the erasure gave theirs up. (A place they hold already is answered
	// above without their row: an erasure holding it may be about to take
	// this activity to give that place up.)
	q := "SELECT birth_date, status FROM people WHERE id = ?"
	if t.db.dialect.name() == "postgres" {
		q += " FOR KEY SHARE"
	}
	var birth, pstatus string
	if err := t.queryRow(ctx, q, personID).Scan(&birth, &pstatus); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", jifen.Invalid("person_id", "该人员不存在", "No such person")
		}
		return "", err
	}
	if pstatus == string(jifen.PersonErased) {
		return "", jifen.Conflict("person_erased", "该人员的个人信息已删除", "This person's data was erased")
	}
	if pstatus != string(jifen.PersonActive) {
		return "", jifen.Conflict("person_inactive", "该人员尚未激活", "This person is not active")
	}
	if act.MinAge > 0 {
		age := jifen.AgeOn(birth, act.StartsAt)
		if age < 0 {
			return "", jifen.Conflict("birth_date_unknown", "该活动有年龄要求，请先在“我的”中补充出生日期", "This activity has a minimum age; add the birth date first")
		}
		if age < act.MinAge {
			return "", jifen.Conflict("below_min_age", fmt.Sprintf("该活动要求年满%d周岁", act.MinAge), fmt.Sprintf("This activity needs volunteers aged %d or over", act.MinAge))
		}
	}
	status := jifen.SignupWaitlisted
	res, err := t.exec(ctx, "UPDATE activities SET confirmed = confirmed + 1 WHERE id = ? AND (capacity = 0 OR confirmed < capacity)", act.ID)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		status = jifen.SignupConfirmed
	}
	ts := t.db.now()
	a := jifen.ActorFrom(ctx)
	if cur == "" {
		_, err = t.exec(ctx, "INSERT INTO signups (activity_id, person_id, status, queued_at, added_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
			act.ID, personID, status, ts, actorID(a), ts)
	} else {
		_, err = t.exec(ctx, "UPDATE signups SET status = ?, queued_at = ?, added_by = ?, updated_at = ? WHERE activity_id = ? AND person_id = ?",
			status, ts, actorID(a), ts, act.ID, personID)
	}
	if err != nil {
		return "", err
	}
	if a != nil && a.PersonID != personID {
		if err := t.audit(ctx, act.OrgID, act.OrgPath, "signup.add", "person", personID, act.Title); err != nil {
			return "", err
		}
	}
	return status, nil
}

// lockActivity takes the activity's row lock for the rest of the
// transaction, so sign-ups, cancellations and promotions of one activity
// happen one after another and each reads what the last one committed.
// SQLite's single writer serialises them anyway.
func (t *Tx) lockActivity(ctx context.Context, id int64) error {
	_, err := t.exec(ctx, "UPDATE activities SET confirmed = confirmed WHERE id = ?", id)
	return err
}

// lockedActivity takes the activity's row lock, then reads it. Whatever
// changes an activity or its sign-ups and attendance reads it this way, so
// a concurrent verify, cancel or sign-up is seen, never raced.
func (t *Tx) lockedActivity(ctx context.Context, id int64) (*jifen.Activity, error) {
	if err := t.lockActivity(ctx, id); err != nil {
		return nil, err
	}
	return t.db.getActivity(ctx, t.tx, id)
}

// sharedActivity reads the activity under a share of its row lock, for a
// volunteer's own check-in or check-out: those at one activity run side
// by side (at a festival thousands arrive in the same minutes, and under
// the row itself they went one at a time, each holding it to its
// commit), while a verify, a cancel, an edit or a sign-up, which take the
// row (lockedActivity), still wait for them and are seen by them. Two
// check-ins of one person meet at their presence lock (lockPresence).
// SQLite's one writer runs them one at a time anyway: no lock is taken.
func (t *Tx) sharedActivity(ctx context.Context, id int64) (*jifen.Activity, error) {
	if t.db.dialect.name() == "postgres" {
		if _, err := t.exec(ctx, "SELECT 1 FROM activities WHERE id = ? FOR SHARE", id); err != nil {
			return nil, err
		}
	}
	return t.db.getActivity(ctx, t.tx, id)
}

// leadsLocked is leads under the activity's row lock.
func (t *Tx) leadsLocked(ctx context.Context, id int64) (*jifen.Activity, error) {
	if err := t.lockActivity(ctx, id); err != nil {
		return nil, err
	}
	return t.db.leads(ctx, t.tx, id)
}

// promote fills free places from the waitlist in the order people joined
// it and tells each one promoted.
func (t *Tx) promote(ctx context.Context, activityID int64) error {
	for {
		var title string
		var capacity, confirmed int
		if err := t.queryRow(ctx, "SELECT title, capacity, confirmed FROM activities WHERE id = ?", activityID).Scan(&title, &capacity, &confirmed); err != nil {
			return err
		}
		if capacity != 0 && confirmed >= capacity {
			return nil
		}
		var id, personID int64
		err := t.queryRow(ctx, "SELECT id, person_id FROM signups WHERE activity_id = ? AND status = 'waitlisted' ORDER BY queued_at, id LIMIT 1", activityID).Scan(&id, &personID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, "UPDATE activities SET confirmed = confirmed + 1 WHERE id = ? AND (capacity = 0 OR confirmed < capacity)", activityID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := t.exec(ctx, "UPDATE signups SET status = 'confirmed', updated_at = ? WHERE id = ?", t.db.now(), id); err != nil {
			return err
		}
		if err := t.sendMessage(ctx, personID, say("候补成功："+title, "Off the waitlist: "+title),
			say("有人取消了报名，您已从候补转为正式报名：“"+title+"”。", "Someone cancelled, so you have a place at “"+title+"”.")); err != nil {
			return err
		}
	}
}

// CancelSignup frees a place; the first on the waitlist moves up.
func (s *ActivityService) CancelSignup(ctx context.Context, activityID, personID int64) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.lockedActivity(ctx, activityID)
		if err != nil {
			return err
		}
		if !canSeeActivity(a, act) {
			return jifen.NotFound("activity")
		}
		if personID != a.PersonID && !a.Has(act.OrgPath, leaderRoles...) {
			return jifen.ErrForbidden
		}
		if act.Status == jifen.ActivityVerified || act.Status == jifen.ActivityCancelled {
			return jifen.Conflict("activity_closed", "活动已结束核验或已取消", "The activity is verified or cancelled")
		}
		if err := tx.lockActivity(ctx, activityID); err != nil {
			return err
		}
		var cur string
		err = tx.queryRow(ctx, "SELECT status FROM signups WHERE activity_id = ? AND person_id = ?", activityID, personID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) || cur == string(jifen.SignupCancelled) {
			return jifen.Errorf(jifen.KindNotFound, "not_signed_up", "", "没有找到报名记录", "No sign-up found")
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM attendance WHERE activity_id = ? AND person_id = ?", activityID, personID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return jifen.Conflict("already_attended", "已有签到记录，不能取消报名", "There is attendance already; the sign-up cannot be cancelled")
		}
		if err := tx.cancelPlace(ctx, activityID, personID, cur); err != nil {
			return err
		}
		if personID != a.PersonID {
			return tx.audit(ctx, act.OrgID, act.OrgPath, "signup.remove", "person", personID, act.Title)
		}
		return nil
	})
}

// cancelPlace cancels a sign-up whose status was cur, read under the
// activity's lock; a confirmed place goes to the first on the waitlist.
func (t *Tx) cancelPlace(ctx context.Context, activityID, personID int64, cur string) error {
	if _, err := t.exec(ctx, "UPDATE signups SET status = 'cancelled', updated_at = ? WHERE activity_id = ? AND person_id = ?", t.db.now(), activityID, personID); err != nil {
		return err
	}
	if cur != string(jifen.SignupConfirmed) {
		return nil
	}
	if _, err := t.exec(ctx, "UPDATE activities SET confirmed = confirmed - 1 WHERE id = ?", activityID); err != nil {
		return err
	}
	return t.promote(ctx, activityID)
}

// Signups lists an activity's sign-ups for its leaders, waitlist in order.
func (s *ActivityService) Signups(ctx context.Context, activityID int64) ([]*jifen.Signup, error) {
	if _, err := s.db.leads(ctx, s.db.r, activityID); err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `SELECT s.activity_id, s.person_id, p.name, p.volunteer_no, s.status, s.queued_at FROM signups s
		JOIN people p ON p.id = s.person_id WHERE s.activity_id = ? AND s.status <> 'cancelled'
		ORDER BY CASE s.status WHEN 'confirmed' THEN 0 ELSE 1 END, s.queued_at, s.id`, activityID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*jifen.Signup{}
	for rows.Next() {
		su := &jifen.Signup{}
		if err := rows.Scan(&su.ActivityID, &su.PersonID, &su.Name, &su.VolunteerNo, &su.Status, &su.CreatedAt); err != nil {
			return nil, err
		}
		su.CreatedAt = su.CreatedAt.In(jifen.Zone)
		out = append(out, su)
	}
	return out, rows.Err()
}

// MySignups lists the actor's own sign-ups with their activities.
func (s *ActivityService) MySignups(ctx context.Context) ([]*jifen.Signup, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	rows, err := s.db.query(ctx, "SELECT s.status, s.queued_at, "+activityCols+activityFrom+
		" JOIN signups s ON s.activity_id = a.id WHERE s.person_id = ? AND s.status <> 'cancelled' ORDER BY a.starts_at DESC LIMIT 200", a.PersonID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := s.db.Now()
	out := []*jifen.Signup{}
	for rows.Next() {
		su := &jifen.Signup{PersonID: a.PersonID}
		act, err := scanActivity(prefixScan{rows, []any{&su.Status, &su.CreatedAt}})
		if err != nil {
			return nil, err
		}
		act.Status = act.EffectiveStatus(now)
		su.ActivityID, su.Activity = act.ID, act
		out = append(out, su)
	}
	return out, rows.Err()
}

// prefixScan scans leading columns before a row scanner's own.
type prefixScan struct {
	rows   *sql.Rows
	prefix []any
}

func (p prefixScan) Scan(dest ...any) error { return p.rows.Scan(append(p.prefix, dest...)...) }

// code is the check-in code for one 30-second window: an HMAC of the
// activity and the window under the shared secret, so every instance
// agrees on it and a photo of the screen stops working within a minute.
func (db *DB) code(activityID, window int64) string {
	mac := secret.MAC(db.Keys.Code, "checkin:"+strconv.FormatInt(activityID, 10)+":"+strconv.FormatInt(window, 10))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac[:6])
}

// CheckinCode is the code for the leader's screen and when it expires.
func (s *ActivityService) CheckinCode(ctx context.Context, activityID int64) (string, time.Time, error) {
	act, err := s.db.leads(ctx, s.db.r, activityID)
	if err != nil {
		return "", time.Time{}, err
	}
	if act.Status != jifen.ActivityPublished {
		return "", time.Time{}, jifen.Conflict("not_open", "活动未发布或已结束核验", "The activity is not running")
	}
	now := s.db.Now()
	w := now.UnixNano() / int64(codeWindow)
	return s.db.code(activityID, w), time.Unix(0, (w+1)*int64(codeWindow)).In(jifen.Zone), nil
}

var errBadCode = &jifen.Error{Kind: jifen.KindInvalid, Code: "bad_code", Field: "code",
	Zh: "二维码无效或已过期，请重新扫描现场大屏上的二维码", En: "The code is invalid or expired; scan the code on the screen again"}

// checkCode accepts the current window and the one before it, so a scan
// in the last seconds of a window still works.
func (db *DB) checkCode(activityID int64, code string) error {
	code = strings.ToUpper(strings.TrimSpace(code))
	w := db.Now().UnixNano() / int64(codeWindow)
	for _, x := range []int64{w, w - 1} {
		if secretEqual(code, db.code(activityID, x)) {
			return nil
		}
	}
	return errBadCode
}

func secretEqual(a, b string) bool {
	return len(a) == len(b) && secret.SHA256(a) == secret.SHA256(b)
}

// onSite checks the phone's position against the activity's radius.
func onSite(act *jifen.Activity, lat, lon *float64) error {
	if act.Location.RadiusM <= 0 || act.Location.Lat == nil {
		return nil
	}
	if lat == nil || lon == nil || math.IsNaN(*lat) || math.IsNaN(*lon) || math.Abs(*lat) > 90 || math.Abs(*lon) > 180 {
		return &jifen.Error{Kind: jifen.KindInvalid, Code: "location_required", Field: "lat",
			Zh: "本活动需要定位签到：请允许浏览器获取位置后重试", En: "This activity checks your location: allow the browser to use it and try again"}
	}
	d := jifen.DistanceM(*act.Location.Lat, *act.Location.Lon, *lat, *lon)
	if d > float64(act.Location.RadiusM) {
		return &jifen.Error{Kind: jifen.KindInvalid, Code: "outside_radius", Field: "lat",
			Zh: fmt.Sprintf("您距离活动地点约%.0f米，需在%d米范围内签到", d, act.Location.RadiusM),
			En: fmt.Sprintf("You are about %.0f m from the activity; check in within %d m", d, act.Location.RadiusM)}
	}
	return nil
}

// running checks the activity takes attendance now.
func (db *DB) running(act *jifen.Activity, checkout bool) error {
	now := db.Now()
	switch {
	case act.Status == jifen.ActivityCancelled:
		return jifen.Conflict("activity_cancelled", "活动已取消", "The activity was cancelled")
	case act.Status == jifen.ActivityVerified:
		return jifen.Conflict("already_verified", "活动已核验，不能再签到签退", "The activity is verified; attendance is closed")
	case act.Status != jifen.ActivityPublished:
		return jifen.Conflict("not_open", "活动未发布", "The activity is not published")
	case now.Before(act.StartsAt.Add(-checkinEarly)):
		return jifen.Conflict("not_started", "活动还未开始，开始前30分钟可签到", "The activity has not started; check-in opens 30 minutes before")
	case !checkout && !now.Before(act.EndsAt):
		return jifen.Conflict("activity_ended", "活动已结束，不能签到", "The activity has ended; check-in is closed")
	case checkout && now.After(act.EndsAt.Add(checkoutGrace)):
		return jifen.Conflict("activity_ended", "活动已结束超过2小时，请联系负责人核验时长", "The activity ended over 2 hours ago; ask the leader to verify your time")
	}
	return nil
}

// CheckIn records the actor's own arrival with the code on the screen.
func (s *ActivityService) CheckIn(ctx context.Context, activityID int64, code string, lat, lon *float64) (*jifen.Attendance, error) {
	return s.selfPresence(ctx, activityID, code, lat, lon, false)
}

// CheckOut records the actor's own departure.
func (s *ActivityService) CheckOut(ctx context.Context, activityID int64, code string, lat, lon *float64) (*jifen.Attendance, error) {
	return s.selfPresence(ctx, activityID, code, lat, lon, true)
}

// selfPresence is a volunteer's own check-in or check-out: the activity is
// running, the code is the screen's, the phone is on site, and (to come in)
// the place is confirmed.
func (s *ActivityService) selfPresence(ctx context.Context, activityID int64, code string, lat, lon *float64, out bool) (*jifen.Attendance, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	var att *jifen.Attendance
	err := s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.sharedActivity(ctx, activityID)
		if err != nil {
			return err
		}
		if !canSeeActivity(a, act) {
			return jifen.NotFound("activity")
		}
		if err := s.db.running(act, out); err != nil {
			return err
		}
		if err := s.db.checkCode(activityID, code); err != nil {
			return err
		}
		if err := onSite(act, lat, lon); err != nil {
			return err
		}
		if out {
			att, err = tx.leave(ctx, act, a.PersonID)
			return err
		}
		if err := tx.confirmed(ctx, activityID, a.PersonID); err != nil {
			return err
		}
		att, err = tx.arrive(ctx, act, a.PersonID, jifen.HowSelf, lat, lon)
		return err
	})
	return att, err
}

func (t *Tx) confirmed(ctx context.Context, activityID, personID int64) error {
	var st string
	err := t.queryRow(ctx, "SELECT status FROM signups WHERE activity_id = ? AND person_id = ?", activityID, personID).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) || st == string(jifen.SignupCancelled) {
		return jifen.Conflict("not_signed_up", "您还没有报名这个活动", "You have not signed up for this activity")
	}
	if err != nil {
		return err
	}
	if st == string(jifen.SignupWaitlisted) {
		return jifen.Conflict("waitlisted", "您在候补名单中，尚未报名成功", "You are on the waitlist, not confirmed yet")
	}
	return nil
}

// arrive opens a presence interval unless one is open already.
func (t *Tx) arrive(ctx context.Context, act *jifen.Activity, personID int64, how string, lat, lon *float64) (*jifen.Attendance, error) {
	if err := t.lockPresence(ctx, personID); err != nil {
		return nil, err
	}
	var open int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM attendance WHERE activity_id = ? AND person_id = ? AND ended_at IS NULL", act.ID, personID).Scan(&open); err != nil {
		return nil, err
	}
	if open > 0 {
		return nil, jifen.Conflict("already_checked_in", "已经签到过了，离开时请签退", "Already checked in; check out when you leave")
	}
	now := t.db.now()
	// Whoever arrives here has left any other activity still running
	// where they are checked in: their time there ends now, so the same
	// hour is never counted at two places. (An open check-in at an
	// activity already over is closed at its end when it is verified.)
	if _, err := t.exec(ctx, `UPDATE attendance SET ended_at = ? WHERE person_id = ? AND ended_at IS NULL AND activity_id <> ?
		AND EXISTS (SELECT 1 FROM activities a WHERE a.id = attendance.activity_id AND a.ends_at > ?)`, now, personID, act.ID, now); err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(ctx)
	id, err := t.insert(ctx, "INSERT INTO attendance (activity_id, person_id, started_at, how, lat, lon, recorded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		act.ID, personID, now, how, nullFloat(lat), nullFloat(lon), actorID(a), now)
	if err != nil {
		return nil, err
	}
	return &jifen.Attendance{ID: id, ActivityID: act.ID, PersonID: personID, StartedAt: now.In(jifen.Zone), How: how}, nil
}

// lockPresence holds a person's presence (their open check-ins at every
// activity) until the transaction ends. A check-in closes the person's
// intervals elsewhere before writing its own, and a trim reads an interval
// before rewriting it; on PostgreSQL two of these side by side would each
// miss the other's write (both check-ins left open, or a closed interval
// reopened), and the activities' locks do not meet when the activities
// differ. SQLite's one writer already runs them one at a time.
func (t *Tx) lockPresence(ctx context.Context, personID int64) error {
	if t.db.dialect.name() != "postgres" {
		return nil
	}
	// Keyed by schema too, so that other jifens on the server do not wait
	// on ours (a collision would only make two writes wait, never wrong).
	_, err := t.exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), 7351004) # ?)", personID)
	return err
}

// leave closes the open presence interval.
func (t *Tx) leave(ctx context.Context, act *jifen.Activity, personID int64) (*jifen.Attendance, error) {
	att := &jifen.Attendance{ActivityID: act.ID, PersonID: personID}
	err := t.queryRow(ctx, "SELECT id, started_at, how FROM attendance WHERE activity_id = ? AND person_id = ? AND ended_at IS NULL", act.ID, personID).
		Scan(&att.ID, &att.StartedAt, &att.How)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.Conflict("not_checked_in", "还没有签到，不能签退", "Not checked in; nothing to check out")
	}
	if err != nil {
		return nil, err
	}
	now := t.db.now()
	if _, err := t.exec(ctx, "UPDATE attendance SET ended_at = ? WHERE id = ?", now, att.ID); err != nil {
		return nil, err
	}
	end := now.In(jifen.Zone)
	att.StartedAt, att.EndedAt = att.StartedAt.In(jifen.Zone), &end
	return att, nil
}

// personByNo finds a person by volunteer number or the text of their QR code.
func (t *Tx) personByNo(ctx context.Context, no string) (int64, error) {
	no = strings.TrimPrefix(strings.TrimSpace(no), "JFV:")
	var id int64
	err := t.queryRow(ctx, "SELECT id FROM people WHERE volunteer_no = ? AND status = 'active'", no).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, jifen.Invalid("volunteer_no", "没有找到这个志愿者编号", "No volunteer with this number")
	}
	return id, err
}

// notSelfScan refuses a leader's scan of their own code: a scan is a
// witness to someone else's presence, and a leader's own time is checked
// in like anyone's (the rotating code, the place) or back-filled by
// another organiser.
func notSelfScan(ctx context.Context, personID int64) error {
	if a := jifen.ActorFrom(ctx); a != nil && a.PersonID == personID {
		return jifen.Conflict("self_approval", "不能扫描自己的志愿者码，请用现场签到码签到", "You cannot scan your own code; check in with the activity's code")
	}
	return nil
}

// ScanIn is the leader scanning a volunteer's own QR code or printed card;
// someone who came without signing up is added if a place is free.
func (s *ActivityService) ScanIn(ctx context.Context, activityID int64, volunteerNo string) (*jifen.Attendance, error) {
	var att *jifen.Attendance
	err := s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.leadsLocked(ctx, activityID)
		if err != nil {
			return err
		}
		if err := s.db.running(act, false); err != nil {
			return err
		}
		pid, err := tx.personByNo(ctx, volunteerNo)
		if err != nil {
			return err
		}
		if err := notSelfScan(ctx, pid); err != nil {
			return err
		}
		if st, err := tx.signUp(ctx, act, pid); err != nil {
			if jifen.ErrorCode(err) != "signup_closed" {
				return err
			}
			if err := tx.confirmed(ctx, activityID, pid); err != nil {
				return err
			}
		} else if st != jifen.SignupConfirmed {
			return jifen.Conflict("waitlisted", "活动人数已满，此人在候补名单中", "The activity is full; this person is on the waitlist")
		}
		att, err = tx.arrive(ctx, act, pid, jifen.HowScan, nil, nil)
		return err
	})
	return att, err
}

// ScanOut closes a volunteer's presence by their code.
func (s *ActivityService) ScanOut(ctx context.Context, activityID int64, volunteerNo string) (*jifen.Attendance, error) {
	var att *jifen.Attendance
	err := s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.leadsLocked(ctx, activityID)
		if err != nil {
			return err
		}
		if err := s.db.running(act, true); err != nil {
			return err
		}
		pid, err := tx.personByNo(ctx, volunteerNo)
		if err != nil {
			return err
		}
		if err := notSelfScan(ctx, pid); err != nil {
			return err
		}
		att, err = tx.leave(ctx, act, pid)
		return err
	})
	return att, err
}

// Backfill records presence entered by a leader afterwards. It needs a
// reason, stays inside the activity's window and is marked everywhere.
func (s *ActivityService) Backfill(ctx context.Context, activityID, personID int64, start, end time.Time, reason string) (*jifen.Attendance, error) {
	reason = jifen.CleanText(reason)
	if reason == "" {
		return nil, jifen.Invalid("reason", "补录必须填写原因", "A back-fill needs a reason")
	}
	if !end.After(start) {
		return nil, jifen.Invalid("ended_at", "结束时间必须晚于开始时间", "The end must be after the start")
	}
	var att *jifen.Attendance
	err := s.db.inTx(ctx, func(tx *Tx) error {
		act, err := tx.leadsLocked(ctx, activityID)
		if err != nil {
			return err
		}
		if act.Status == jifen.ActivityVerified {
			return jifen.Conflict("already_verified", "活动已核验，请改用更正记录", "The activity is verified; use a correction instead")
		}
		if act.Status != jifen.ActivityPublished {
			return jifen.Conflict("not_open", "活动未发布或已取消", "The activity is not published or was cancelled")
		}
		if start.Before(act.StartsAt) || end.After(act.EndsAt) {
			return jifen.Invalid("started_at", "补录时间不能超出活动时间（"+act.StartsAt.Format("01-02 15:04")+"至"+act.EndsAt.Format("01-02 15:04")+"）",
				"Back-filled time must lie within the activity ("+act.StartsAt.Format("01-02 15:04")+" to "+act.EndsAt.Format("01-02 15:04")+")")
		}
		if !s.db.Now().After(act.StartsAt) {
			return jifen.Conflict("not_started", "活动还未开始，不能补录", "The activity has not started yet")
		}
		if personID == actorPerson(ctx) {
			return jifen.Conflict("self_approval", "不能给自己补录时长", "You cannot back-fill your own time")
		}
		// Hours go to people the leader can answer for: those signed up, or
		// those in the leader's own subtree. Anyone else is "no such person".
		p, err := s.db.getPerson(ctx, tx.tx, personID)
		if err != nil {
			return jifen.Invalid("person_id", "该人员不存在", "No such person")
		}
		var signed int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM signups WHERE activity_id = ? AND person_id = ? AND status <> 'cancelled'", activityID, personID).Scan(&signed); err != nil {
			return err
		}
		if signed == 0 {
			teams, err := tx.teamsOf(ctx, personID)
			if err != nil {
				return err
			}
			if !canSeePerson(jifen.ActorFrom(ctx), p, teams, leaderRoles...) {
				return jifen.Invalid("person_id", "该人员不存在", "No such person")
			}
		}
		now := s.db.now()
		id, err := tx.insert(ctx, "INSERT INTO attendance (activity_id, person_id, started_at, ended_at, how, reason, recorded_by, created_at) VALUES (?, ?, ?, ?, 'backfilled', ?, ?, ?)",
			activityID, personID, start.UTC(), end.UTC(), reason, actorID(jifen.ActorFrom(ctx)), now)
		if err != nil {
			return err
		}
		e := end.In(jifen.Zone)
		att = &jifen.Attendance{ID: id, ActivityID: activityID, PersonID: personID, StartedAt: start.In(jifen.Zone), EndedAt: &e, How: jifen.HowBackfilled, Reason: reason}
		return tx.audit(ctx, act.OrgID, act.OrgPath, "attendance.backfill", "person", personID,
			fmt.Sprintf("%s %s–%s %s", act.Title, start.In(jifen.Zone).Format("15:04"), end.In(jifen.Zone).Format("15:04"), reason))
	})
	return att, err
}

// TrimAttendance corrects one interval before the activity is verified,
// e.g. a forgotten check-out closed at the end.
func (s *ActivityService) TrimAttendance(ctx context.Context, attendanceID int64, start, end time.Time) error {
	if !end.After(start) {
		return jifen.Invalid("ended_at", "结束时间必须晚于开始时间", "The end must be after the start")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		var activityID, personID int64
		var from time.Time
		var to sql.NullTime
		err := tx.queryRow(ctx, "SELECT activity_id, person_id, started_at, ended_at FROM attendance WHERE id = ?", attendanceID).Scan(&activityID, &personID, &from, &to)
		if errors.Is(err, sql.ErrNoRows) {
			return jifen.NotFound("attendance")
		}
		if err != nil {
			return err
		}
		act, err := tx.leadsLocked(ctx, activityID)
		if err != nil {
			return err
		}
		if personID == actorPerson(ctx) {
			return jifen.Conflict("self_approval", "不能修改自己的签到时间", "You cannot adjust your own attendance")
		}
		// Read again under the person's presence lock (after the
		// activity's, as a check-in takes them): a check-in elsewhere may
		// just have closed this interval, and the trim must not reopen it.
		if err := tx.lockPresence(ctx, personID); err != nil {
			return err
		}
		if err := tx.queryRow(ctx, "SELECT started_at, ended_at FROM attendance WHERE id = ?", attendanceID).Scan(&from, &to); err != nil {
			return err
		}
		if act.Status == jifen.ActivityVerified {
			return jifen.Conflict("already_verified", "活动已核验，请改用更正记录", "The activity is verified; use a correction instead")
		}
		// Trimming only shortens what was recorded on site (a forgotten
		// check-out, someone who left early): more time is a back-fill,
		// which needs a reason and is marked as such.
		limit := act.EndsAt
		if to.Valid {
			limit = to.Time
		}
		if start.Before(from) || end.After(limit) {
			return jifen.Invalid("started_at", "只能缩短签到记录；要增加时长请使用补录（需填写原因）",
				"Attendance can only be shortened; to add time, back-fill it with a reason")
		}
		if _, err := tx.exec(ctx, "UPDATE attendance SET started_at = ?, ended_at = ?, auto_closed = ? WHERE id = ?", start.UTC(), end.UTC(), false, attendanceID); err != nil {
			return err
		}
		return tx.audit(ctx, act.OrgID, act.OrgPath, "attendance.trim", "person", personID,
			fmt.Sprintf("%s %s–%s", act.Title, start.In(jifen.Zone).Format("15:04"), end.In(jifen.Zone).Format("15:04")))
	})
}

// Attendance lists the intervals of an activity for its leaders. An
// interval still open after the end shows as closed at the end, flagged.
func (s *ActivityService) Attendance(ctx context.Context, activityID int64) ([]*jifen.Attendance, error) {
	act, err := s.db.leads(ctx, s.db.r, activityID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `SELECT t.id, t.person_id, p.name, t.started_at, t.ended_at, t.how, t.auto_closed, t.reason FROM attendance t
		JOIN people p ON p.id = t.person_id WHERE t.activity_id = ? ORDER BY p.name, t.started_at`, activityID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := s.db.Now()
	out := []*jifen.Attendance{}
	for rows.Next() {
		t := &jifen.Attendance{ActivityID: activityID}
		var ended sql.NullTime
		if err := rows.Scan(&t.ID, &t.PersonID, &t.Name, &t.StartedAt, &ended, &t.How, &t.AutoClosed, &t.Reason); err != nil {
			return nil, err
		}
		t.StartedAt = t.StartedAt.In(jifen.Zone)
		if ended.Valid {
			e := ended.Time.In(jifen.Zone)
			t.EndedAt = &e
		} else if !now.Before(act.EndsAt) {
			e := act.EndsAt
			t.EndedAt, t.AutoClosed = &e, true
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Verify turns attendance into final service records, one per person and
// kind (self-recorded or back-filled), and closes the activity. Open
// intervals close at the activity's end and stay flagged.
func (s *ActivityService) Verify(ctx context.Context, activityID int64) (int, error) {
	a := jifen.ActorFrom(ctx)
	var n int
	err := s.db.inTx(ctx, func(tx *Tx) error {
		n = 0 // a retried transaction counts afresh
		act, err := tx.leadsLocked(ctx, activityID)
		if err != nil {
			return err
		}
		switch {
		case act.Status == jifen.ActivityVerified:
			return jifen.Conflict("already_verified", "活动已经核验过了", "The activity is already verified")
		case act.Status != jifen.ActivityPublished:
			return jifen.Conflict("not_open", "只有已发布的活动可以核验", "Only a published activity can be verified")
		case s.db.Now().Before(act.EndsAt):
			return jifen.Conflict("not_finished", "活动结束后才能核验时长", "Hours can be verified once the activity has ended")
		}
		// Guard against a concurrent verification: only one flips the status.
		res, err := tx.exec(ctx, "UPDATE activities SET status = 'verified', verified_at = ?, verified_by = ? WHERE id = ? AND status = 'published'",
			s.db.now(), actorID(a), activityID)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return jifen.Conflict("already_verified", "活动已经核验过了", "The activity is already verified")
		}
		if _, err := tx.exec(ctx, "UPDATE attendance SET ended_at = ?, auto_closed = ? WHERE activity_id = ? AND ended_at IS NULL", act.EndsAt.UTC(), true, activityID); err != nil {
			return err
		}
		type span struct {
			self, back [][2]time.Time
			by         int64    // whose back-filled time comes first, kept on the record
			bys        []int64  // everyone who back-filled
			reasons    []string // why, each with who when several did
			plain      []string // why, without who
		}
		people := map[int64]*span{}
		var order []int64
		rows, err := tx.query(ctx, `SELECT a.person_id, a.started_at, a.ended_at, a.how, COALESCE(a.recorded_by, 0), a.reason, COALESCE(p.name, '')
			FROM attendance a LEFT JOIN people p ON p.id = a.recorded_by WHERE a.activity_id = ? ORDER BY a.person_id, a.started_at`, activityID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var pid, by int64
			var st, en time.Time
			var how, reason, byName string
			if err := rows.Scan(&pid, &st, &en, &how, &by, &reason, &byName); err != nil {
				rows.Close()
				return err
			}
			sp := people[pid]
			if sp == nil {
				sp = &span{}
				people[pid] = sp
				order = append(order, pid)
			}
			if how == jifen.HowBackfilled {
				sp.back = append(sp.back, [2]time.Time{st, en})
				if sp.by == 0 {
					sp.by = by
				}
				if !slices.Contains(sp.bys, by) {
					sp.bys = append(sp.bys, by)
				}
				if !slices.Contains(sp.plain, reason) {
					sp.plain = append(sp.plain, reason)
				}
				if r := reason + "（" + byName + "录入）"; !slices.Contains(sp.reasons, r) {
					sp.reasons = append(sp.reasons, r)
				}
			} else {
				sp.self = append(sp.self, [2]time.Time{st, en})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		who := make([]beneficiary, len(order))
		for i, pid := range order {
			who[i] = beneficiary{personID: pid}
		}
		if err := tx.lockBeneficiaries(ctx, who); err != nil {
			return err
		}
		now := s.db.now()
		for _, pid := range order {
			sp := people[pid]
			selfMin := jifen.Presence(sp.self, act.StartsAt, act.EndsAt)
			// Back-filled minutes are what they add beyond the self-recorded ones.
			backMin := jifen.Presence(append(append([][2]time.Time{}, sp.self...), sp.back...), act.StartsAt, act.EndsAt) - selfMin
			// A back-filled record keeps who entered it and why (STANDARDS:
			// back-filled hours always name both); when several organisers
			// back-filled, the reason names each beside what they entered.
			why := strings.Join(sp.plain, "；")
			if len(sp.bys) > 1 {
				why = strings.Join(sp.reasons, "；")
			}
			for _, r := range []struct {
				how     string
				minutes int
				spans   [][2]time.Time
				by      any
				reason  string
			}{{jifen.HowSelf, selfMin, sp.self, pid, ""}, {jifen.HowBackfilled, backMin, sp.back, sp.by, why}} {
				if r.minutes <= 0 {
					continue
				}
				first, last := bounds(r.spans, act.StartsAt, act.EndsAt)
				recordID, err := tx.insert(ctx, `INSERT INTO service_records (person_id, org_id, org_path, activity_id, content, place, started_at, ended_at, minutes, how,
					recorded_by, verified_by, verified_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					pid, act.OrgID, act.OrgPath, activityID, act.Category+"："+act.Title, act.Location.Address, first.UTC(), last.UTC(), r.minutes, r.how,
					r.by, actorID(a), now, r.reason)
				if err != nil {
					return err
				}
				if err := tx.tallyService(ctx, pid, act.OrgID, act.OrgPath, first, int64(r.minutes), 1); err != nil {
					return err
				}
				// Verified hours earn points through the service-hours rule.
				if err := tx.awardService(ctx, recordID, pid, act, int64(r.minutes), r.how, localDay(first)); err != nil {
					return err
				}
				n++
			}
			total := selfMin + backMin
			if total > 0 {
				if err := tx.sendMessage(ctx, pid, say("服务时长已核验", "Service hours verified"),
					say(fmt.Sprintf("“%s”的服务时长已核验：%s小时。", act.Title, jifen.HoursText(total)),
						fmt.Sprintf("Your hours at “%s” are verified: %s hours.", act.Title, jifen.HoursText(total)))); err != nil {
					return err
				}
			}
		}
		return tx.audit(ctx, act.OrgID, act.OrgPath, "activity.verify", "activity", activityID, fmt.Sprintf("%s：核验%d条记录", act.Title, n))
	})
	return n, err
}

// bounds is the earliest start and latest end of spans inside [from, to].
func bounds(spans [][2]time.Time, from, to time.Time) (time.Time, time.Time) {
	first, last := to, from
	for _, s := range spans {
		st, en := s[0], s[1]
		if st.Before(from) {
			st = from
		}
		if en.After(to) {
			en = to
		}
		if st.Before(first) {
			first = st
		}
		if en.After(last) {
			last = en
		}
	}
	return first, last
}
