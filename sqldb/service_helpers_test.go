package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
)

// base is "now" when a volunteer-service test starts: 1 June 2026, 08:00
// China time. It lies on a 30-second boundary, so check-in code windows
// start exactly there.
var base = time.Date(2026, 6, 1, 8, 0, 0, 0, jifen.Zone)

// clock is the database clock of one test: it stands still unless the
// test moves it; with a step it advances by that much on every reading,
// so rows written one after another get distinct times.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// Set moves the clock to t (never backwards in these tests).
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Tick makes every reading advance the clock by step (0: stand still).
func (c *clock) Tick(step time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step = step
}

// vs is the fixture of the volunteer-service tests: the foundation's tree
// and users (fx) on a database whose clock the test controls, with the
// volunteer-service services.
type vs struct {
	*fx
	clock *clock
	acts  *sqldb.ActivityService
	recs  *sqldb.RecordService
	moves *sqldb.TransferService
	certs *sqldb.CertificateService
	n     int
}

func newVS(t *testing.T, db *sqldb.DB) *vs {
	t.Helper()
	c := &clock{t: base}
	db.Now = c.Now
	return &vs{fx: newFx(t, db), clock: c, acts: sqldb.NewActivityService(db), recs: sqldb.NewRecordService(db),
		moves: sqldb.NewTransferService(db), certs: sqldb.NewCertificateService(db)}
}

// now is the test's current time.
func (v *vs) now() time.Time { return v.clock.Now() }

// input is a valid activity of org from start lasting d, no capacity.
func (v *vs) input(org *jifen.Org, start time.Time, d time.Duration) jifen.ActivityInput {
	v.n++
	return jifen.ActivityInput{OrgID: org.ID, Title: fmt.Sprintf("志愿活动%03d", v.n), Category: "环境整治",
		Description: "清扫街巷", StartsAt: start, EndsAt: start.Add(d), Location: jifen.Location{Address: org.Name + "文化广场"}}
}

// draft creates an activity as the actor in ctx.
func (v *vs) draft(t *testing.T, ctx context.Context, in jifen.ActivityInput) *jifen.Activity {
	t.Helper()
	a, err := v.acts.CreateActivity(ctx, in)
	if err != nil {
		t.Fatalf("create activity %s: %v", in.Title, err)
	}
	return a
}

// published creates and publishes an activity as the super admin.
func (v *vs) published(t *testing.T, in jifen.ActivityInput) *jifen.Activity {
	t.Helper()
	a := v.draft(t, v.super.ctx, in)
	if err := v.acts.Publish(v.super.ctx, a.ID); err != nil {
		t.Fatalf("publish %s: %v", in.Title, err)
	}
	return v.activity(t, a.ID)
}

// activity reads an activity as the super admin.
func (v *vs) activity(t *testing.T, id int64) *jifen.Activity {
	t.Helper()
	return must(v.acts.Activity(v.super.ctx, id))(t)
}

// member is a signed-in person living at home without any grant.
func (v *vs) member(t *testing.T, name string, home *jifen.Org) user {
	t.Helper()
	return v.user(t, name, home, nil, "")
}

// born is a signed-in person living at home with a birth date.
func (v *vs) born(t *testing.T, name string, home *jifen.Org, birth string) user {
	t.Helper()
	phone := v.phone()
	p, err := v.people.CreatePerson(v.super.ctx, jifen.PersonInput{Name: name, Gender: jifen.Female, BirthDate: birth, Phone: phone, Password: pw, OrgID: home.ID})
	if err != nil {
		t.Fatalf("create person %s: %v", name, err)
	}
	return user{ctx: v.signIn(t, phone), p: p, phone: phone}
}

// crowd registers n people at home in one import and gives each a ctx of
// their own. Their actors are what Authenticate builds for a person
// without grants; building them directly keeps 200 sign-ins out of the run.
func (v *vs) crowd(t *testing.T, n int, home *jifen.Org) []user {
	t.Helper()
	rows := make([]jifen.PersonInput, n)
	for i := range rows {
		rows[i] = jifen.PersonInput{Name: fmt.Sprintf("群众%03d", i), Gender: jifen.Male, OrgID: home.ID}
		if err := rows[i].Validate(base); err != nil {
			t.Fatal(err)
		}
	}
	if res := must(v.people.ImportPeople(v.super.ctx, home.ID, rows))(t); res.Created != n {
		t.Fatalf("imported %+v, want %d created", res, n)
	}
	var out []user
	for page := 1; len(out) < n; page++ {
		list, _ := must2(v.people.People(v.super.ctx, jifen.PersonFilter{OrgID: home.ID, Q: "群众", Page: page, PerPage: 100}))(t)
		if len(list) == 0 {
			t.Fatalf("found %d of %d imported people", len(out), n)
		}
		for _, p := range list {
			a := &jifen.Actor{PersonID: p.ID, Name: p.Name, HomeOrgID: p.HomeOrgID, HomeOrgPath: home.Path, IP: localIP}
			out = append(out, user{ctx: jifen.WithActor(context.Background(), a), p: p})
		}
	}
	return out
}

// signUp puts u on act themselves and wants the status.
func (v *vs) signUp(t *testing.T, u user, act *jifen.Activity, want jifen.SignupStatus) {
	t.Helper()
	st, err := v.acts.SignUp(u.ctx, act.ID, u.p.ID)
	if err != nil {
		t.Fatalf("%s signs up for %s: %v", u.p.Name, act.Title, err)
	}
	if st != want {
		t.Fatalf("%s signs up for %s: %s, want %s", u.p.Name, act.Title, st, want)
	}
}

// code is the check-in code on the screen of act now.
func (v *vs) code(t *testing.T, act *jifen.Activity) string {
	t.Helper()
	c, _, err := v.acts.CheckinCode(v.super.ctx, act.ID)
	if err != nil {
		t.Fatalf("check-in code of %s: %v", act.Title, err)
	}
	return c
}

// checkIn and checkOut move the clock to at and record u's own presence
// with the code then on the screen.
func (v *vs) checkIn(t *testing.T, u user, act *jifen.Activity, at time.Time) *jifen.Attendance {
	t.Helper()
	v.clock.Set(at)
	att, err := v.acts.CheckIn(u.ctx, act.ID, v.code(t, act), nil, nil)
	if err != nil {
		t.Fatalf("%s checks in at %s: %v", u.p.Name, at.Format("15:04"), err)
	}
	return att
}

func (v *vs) checkOut(t *testing.T, u user, act *jifen.Activity, at time.Time) *jifen.Attendance {
	t.Helper()
	v.clock.Set(at)
	att, err := v.acts.CheckOut(u.ctx, act.ID, v.code(t, act), nil, nil)
	if err != nil {
		t.Fatalf("%s checks out at %s: %v", u.p.Name, at.Format("15:04"), err)
	}
	return att
}

// serve runs a whole activity of org lasting d, starting an hour from the
// clock: everyone signs up, checks in at the start and out at the end,
// and the super admin verifies. The clock ends a minute after the end.
func (v *vs) serve(t *testing.T, org *jifen.Org, d time.Duration, people ...user) *jifen.Activity {
	t.Helper()
	act := v.attended(t, v.input(org, v.now().Truncate(time.Minute).Add(time.Hour), d), people...)
	must(v.acts.Verify(v.super.ctx, act.ID))(t)
	return act
}

// attended publishes in, and everyone signs up, checks in at its start
// and out at its end; the clock ends a minute after the end, and the
// activity waits to be verified.
func (v *vs) attended(t *testing.T, in jifen.ActivityInput, people ...user) *jifen.Activity {
	t.Helper()
	act := v.published(t, in)
	for _, u := range people {
		v.signUp(t, u, act, jifen.SignupConfirmed)
	}
	for _, u := range people {
		v.checkIn(t, u, act, act.StartsAt)
	}
	for _, u := range people {
		v.checkOut(t, u, act, act.EndsAt)
	}
	v.clock.Set(act.EndsAt.Add(time.Minute))
	return act
}

// backfilled runs an activity of org lasting d in which nobody checked in
// and the super admin back-fills the whole of it for each person.
func (v *vs) backfilled(t *testing.T, org *jifen.Org, d time.Duration, people ...user) *jifen.Activity {
	t.Helper()
	start := v.now().Truncate(time.Minute).Add(time.Hour)
	act := v.published(t, v.input(org, start, d))
	v.clock.Set(act.EndsAt.Add(time.Minute))
	for _, u := range people {
		must(v.acts.Backfill(v.super.ctx, act.ID, u.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)
	}
	must(v.acts.Verify(v.super.ctx, act.ID))(t)
	return act
}

// records lists a person's service records as the super admin, oldest first.
func (v *vs) records(t *testing.T, personID int64) []*jifen.ServiceRecord {
	t.Helper()
	var out []*jifen.ServiceRecord
	err := v.recs.EachRecord(v.super.ctx, jifen.RecordFilter{PersonID: personID}, func(r *jifen.ServiceRecord) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// activityRecords keeps the records of one activity.
func activityRecords(list []*jifen.ServiceRecord, activityID int64) []*jifen.ServiceRecord {
	var out []*jifen.ServiceRecord
	for _, r := range list {
		if r.ActivityID != nil && *r.ActivityID == activityID {
			out = append(out, r)
		}
	}
	return out
}

// hours reads a person's hours as the super admin.
func (v *vs) hours(t *testing.T, personID int64) *jifen.Hours {
	t.Helper()
	return must(v.recs.Hours(v.super.ctx, personID))(t)
}

// msgs lists the messages of the person in ctx whose title starts with
// prefix, newest first.
func (v *vs) msgs(t *testing.T, ctx context.Context, prefix string) []*jifen.Message {
	t.Helper()
	list, _, err := v.fx.inbox.Messages(ctx, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jifen.Message
	for _, m := range list {
		if strings.HasPrefix(m.Title, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// wantKinds checks that err has one of kinds: where either answer is
// right (forbidden or not found), the test accepts both.
func wantKinds(t *testing.T, err error, kinds ...jifen.Kind) {
	t.Helper()
	var e *jifen.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want one of %v", err, kinds)
	}
	for _, k := range kinds {
		if e.Kind == k {
			return
		}
	}
	t.Fatalf("error = %s/%s (%v), want one of %v", e.Kind, e.Code, e, kinds)
}

// refused is forbidden or not found: the two answers to someone out of scope.
var refused = []jifen.Kind{jifen.KindForbidden, jifen.KindNotFound}

// eitherRefusal in a table's kind column means forbidden or not found.
const eitherRefusal jifen.Kind = "forbidden or not found"

// bug skips a test that shows a known bug, with a precise description;
// JIFEN_TEST_BUGS=1 runs it anyway, to see it fail or to check a fix.
func bug(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("JIFEN_TEST_BUGS") == "" {
		t.Skip("BUG: " + what)
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
