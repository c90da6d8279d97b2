package sqldb_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// activityCount is the number of activities, drafts included.
func (v *vs) activityCount(t *testing.T) int {
	t.Helper()
	_, n, err := v.acts.Activities(v.super.ctx, jifen.ActivityFilter{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listed reports whether the actor in ctx finds activity id in a list.
func (v *vs) listed(t *testing.T, ctx context.Context, f jifen.ActivityFilter, id int64) bool {
	t.Helper()
	f.PerPage = 100
	list, _, err := v.acts.Activities(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(list, func(a *jifen.Activity) bool { return a.ID == id })
}

// signupOf is a person's place on an activity as its leaders see it, or nil.
func (v *vs) signupOf(t *testing.T, activityID, personID int64) *jifen.Signup {
	t.Helper()
	for _, s := range must(v.acts.Signups(v.super.ctx, activityID))(t) {
		if s.PersonID == personID {
			return s
		}
	}
	return nil
}

func TestActivityCreate(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		archived := v.org(t, v.super.ctx, v.townA, jifen.OrgVillage, "已撤并村")
		wantErr(t, v.orgs.ArchiveOrg(v.super.ctx, archived.ID), "", "", "")
		forbidden := []jifen.Kind{jifen.KindForbidden}
		cases := []struct {
			name        string
			by          user
			org         *jifen.Org
			kinds       []jifen.Kind
			code, field string
		}{
			{"the team's leader creates a draft for the team", v.leader, v.teamA, nil, "", ""},
			{"the county's admin creates a draft for a village below", v.adminA, v.villageA, nil, "", ""},
			{"the super admin creates a draft anywhere", v.super, v.villageB, nil, "", ""},
			{"a resident is forbidden", v.resident, v.villageA, forbidden, "forbidden", ""},
			{"a team leader is forbidden for the village above the team", v.leader, v.villageA, forbidden, "forbidden", ""},
			{"another county's admin is forbidden or finds nothing", v.adminB, v.villageA, refused, "", ""},
			{"an org that does not exist is an invalid org_id", v.super, &jifen.Org{ID: 987654}, []jifen.Kind{jifen.KindInvalid}, "invalid", "org_id"},
			{"an archived org takes no new activity", v.super, archived, []jifen.Kind{jifen.KindConflict}, "org_archived", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := v.activityCount(t)
				in := v.input(tc.org, base.Add(24*time.Hour), 2*time.Hour)
				in.Capacity, in.MinAge, in.PointsPerHour, in.Skills = 30, 16, 10, []string{"急救", " ", "驾驶"}
				a, err := v.acts.CreateActivity(tc.by.ctx, in)
				if tc.kinds != nil {
					if len(tc.kinds) == 1 {
						wantErr(t, err, tc.kinds[0], tc.code, tc.field)
					} else {
						wantKinds(t, err, tc.kinds...)
					}
					if n := v.activityCount(t); n != before {
						t.Fatalf("%d activities after a refused create, want %d", n, before)
					}
					return
				}
				wantErr(t, err, "", "", "")
				if a.Status != jifen.ActivityDraft || a.OrgID != tc.org.ID || a.OrgPath != tc.org.Path || a.Title != in.Title ||
					!a.StartsAt.Equal(in.StartsAt) || !a.EndsAt.Equal(in.EndsAt) || a.Capacity != 30 || a.MinAge != 16 ||
					a.PointsPerHour != 10 || a.Confirmed != 0 || a.Waitlisted != 0 || !a.CreatedAt.Equal(base) {
					t.Fatalf("activity = %+v", a)
				}
				if !slices.Equal(a.Skills, []string{"急救", "驾驶"}) {
					t.Fatalf("skills = %q, want the blank one dropped", a.Skills)
				}
				if !slices.ContainsFunc(v.auditEntries(t, "activity.create"), func(e *jifen.AuditEntry) bool {
					return e.TargetID == a.ID && e.ActorID == tc.by.p.ID
				}) {
					t.Fatal("no audit entry names who created the activity")
				}
			})
		}
		t.Run("nobody signed in creates nothing", func(t *testing.T) {
			_, err := v.acts.CreateActivity(context.Background(), v.input(v.villageA, base.Add(time.Hour), time.Hour))
			wantErr(t, err, jifen.KindUnauthorized, "unauthorized", "")
		})
	})
}

func TestActivityValidation(t *testing.T) {
	t.Parallel()
	lat, lon, far := 35.3, 107.0, 100.0
	cases := []struct {
		name  string
		mod   func(in *jifen.ActivityInput)
		field string // "" when valid
	}{
		{"an end before the start is refused on ends_at", func(in *jifen.ActivityInput) { in.EndsAt = in.StartsAt.Add(-time.Hour) }, "ends_at"},
		{"an end equal to the start is refused on ends_at", func(in *jifen.ActivityInput) { in.EndsAt = in.StartsAt }, "ends_at"},
		{"an activity over seven days is refused on ends_at", func(in *jifen.ActivityInput) { in.EndsAt = in.StartsAt.Add(jifen.MaxActivityLength + time.Minute) }, "ends_at"},
		{"an activity of exactly seven days is accepted", func(in *jifen.ActivityInput) { in.EndsAt = in.StartsAt.Add(jifen.MaxActivityLength) }, ""},
		{"a missing start is refused on starts_at", func(in *jifen.ActivityInput) { in.StartsAt = time.Time{} }, "starts_at"},
		{"a radius without latitude and longitude is refused on location.radius_m", func(in *jifen.ActivityInput) { in.Location.RadiusM = 200 }, "location.radius_m"},
		{"a latitude without a longitude is refused on location.lat", func(in *jifen.ActivityInput) { in.Location.Lat = &lat }, "location.lat"},
		{"a latitude beyond the pole is refused on location.lat", func(in *jifen.ActivityInput) { in.Location.Lat, in.Location.Lon = &far, &lon }, "location.lat"},
		{"a radius with latitude and longitude is accepted", func(in *jifen.ActivityInput) {
			in.Location.Lat, in.Location.Lon, in.Location.RadiusM = &lat, &lon, 200
		}, ""},
		{"a negative capacity is refused on capacity", func(in *jifen.ActivityInput) { in.Capacity = -1 }, "capacity"},
		{"capacity 0 means no limit and is accepted", func(in *jifen.ActivityInput) { in.Capacity = 0 }, ""},
		{"a minimum age of 200 is refused on min_age", func(in *jifen.ActivityInput) { in.MinAge = 200 }, "min_age"},
		{"a negative minimum age is refused on min_age", func(in *jifen.ActivityInput) { in.MinAge = -1 }, "min_age"},
		{"a sign-up deadline after the end is refused on signup_deadline", func(in *jifen.ActivityInput) { in.SignupDeadline = ptr(in.EndsAt.Add(time.Minute)) }, "signup_deadline"},
		{"negative points per hour are refused on points_per_hour", func(in *jifen.ActivityInput) { in.PointsPerHour = -5 }, "points_per_hour"},
		{"a blank title is refused on title", func(in *jifen.ActivityInput) { in.Title = "  " }, "title"},
		{"more than ten required skills are refused", func(in *jifen.ActivityInput) {
			in.Skills = strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")
		}, "required_skills"},
	}
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := v.activityCount(t)
				in := v.input(v.villageA, base.Add(24*time.Hour), 2*time.Hour)
				tc.mod(&in)
				_, err := v.acts.CreateActivity(v.adminA.ctx, in)
				if tc.field == "" {
					wantErr(t, err, "", "", "")
					return
				}
				wantErr(t, err, jifen.KindInvalid, "invalid", tc.field)
				if n := v.activityCount(t); n != before {
					t.Fatalf("%d activities after an invalid create, want %d", n, before)
				}
			})
		}
		t.Run("a project of another county is refused on project_id", func(t *testing.T) {
			p := must(v.acts.CreateProject(v.adminB.ctx, jifen.ProjectInput{OrgID: v.villageB.ID, Name: "关爱同行"}))(t)
			in := v.input(v.villageA, base.Add(24*time.Hour), 2*time.Hour)
			in.ProjectID = &p.ID
			_, err := v.acts.CreateActivity(v.adminA.ctx, in)
			wantErr(t, err, jifen.KindInvalid, "invalid", "project_id")
		})
	})
}

func TestActivityVisibilityAndPublish(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		d := v.draft(t, v.leader.ctx, v.input(v.teamA, base.Add(2*time.Hour), 2*time.Hour))
		stale := v.draft(t, v.leader.ctx, v.input(v.teamA, base.Add(time.Hour), time.Hour))
		t.Run("a draft is invisible to residents", func(t *testing.T) {
			for _, u := range []user{v.resident, v.residentB} {
				_, err := v.acts.Activity(u.ctx, d.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
				if v.listed(t, u.ctx, jifen.ActivityFilter{}, d.ID) {
					t.Fatalf("%s finds the draft in a list", u.p.Name)
				}
			}
		})
		t.Run("a draft is invisible to another county's admin", func(t *testing.T) {
			_, err := v.acts.Activity(v.adminB.ctx, d.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			if v.listed(t, v.adminB.ctx, jifen.ActivityFilter{}, d.ID) {
				t.Fatal("county B's admin finds county A's draft in a list")
			}
		})
		t.Run("a draft is visible to the staff above it", func(t *testing.T) {
			for _, u := range []user{v.leader, v.adminA, v.super} {
				if a := must(v.acts.Activity(u.ctx, d.ID))(t); a.Status != jifen.ActivityDraft {
					t.Fatalf("%s reads status %s", u.p.Name, a.Status)
				}
				if !v.listed(t, u.ctx, jifen.ActivityFilter{Status: jifen.ActivityDraft}, d.ID) {
					t.Fatalf("%s does not find the draft in a list", u.p.Name)
				}
			}
		})
		t.Run("a resident cannot sign up for a draft: it is not found", func(t *testing.T) {
			_, err := v.acts.SignUp(v.resident.ctx, d.ID, v.resident.p.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("only the activity's leaders may publish", func(t *testing.T) {
			for _, u := range []user{v.resident, v.adminB} {
				wantErr(t, v.acts.Publish(u.ctx, d.ID), jifen.KindNotFound, "not_found", "")
			}
			if a := v.activity(t, d.ID); a.Status != jifen.ActivityDraft {
				t.Fatalf("status %s after refused publishes", a.Status)
			}
		})
		t.Run("publishing opens the activity to everyone signed in", func(t *testing.T) {
			wantErr(t, v.acts.Publish(v.leader.ctx, d.ID), "", "", "")
			for _, u := range []user{v.resident, v.residentB, v.adminB} {
				if a := must(v.acts.Activity(u.ctx, d.ID))(t); a.Status != jifen.ActivityPublished {
					t.Fatalf("%s reads status %s", u.p.Name, a.Status)
				}
				if !v.listed(t, u.ctx, jifen.ActivityFilter{Status: jifen.ActivityPublished}, d.ID) {
					t.Fatalf("%s does not find the published activity", u.p.Name)
				}
			}
			if !slices.ContainsFunc(v.auditEntries(t, "activity.publish"), func(e *jifen.AuditEntry) bool { return e.TargetID == d.ID }) {
				t.Fatal("publishing is not in the audit log")
			}
		})
		t.Run("publishing twice is harmless", func(t *testing.T) {
			wantErr(t, v.acts.Publish(v.leader.ctx, d.ID), "", "", "")
		})
		t.Run("another county's admin sees a published activity but may not run it", func(t *testing.T) {
			wantErr(t, v.acts.Cancel(v.adminB.ctx, d.ID, "越权"), jifen.KindForbidden, "forbidden", "")
		})
		t.Run("nobody signed in sees nothing", func(t *testing.T) {
			_, err := v.acts.Activity(context.Background(), d.ID)
			wantErr(t, err, jifen.KindUnauthorized, "unauthorized", "")
		})
		v.clock.Set(d.EndsAt)
		t.Run("a published activity whose end has passed reads as finished", func(t *testing.T) {
			if a := must(v.acts.Activity(v.resident.ctx, d.ID))(t); a.Status != jifen.ActivityFinished {
				t.Fatalf("status %s at the end, want finished", a.Status)
			}
			if v.listed(t, v.resident.ctx, jifen.ActivityFilter{Status: jifen.ActivityPublished}, d.ID) ||
				!v.listed(t, v.resident.ctx, jifen.ActivityFilter{Status: jifen.ActivityFinished}, d.ID) {
				t.Fatal("the finished activity is listed under the wrong status")
			}
		})
		t.Run("a draft whose end has passed cannot be published", func(t *testing.T) {
			wantErr(t, v.acts.Publish(v.leader.ctx, stale.ID), jifen.KindConflict, "activity_ended", "")
		})
	})
}

func TestActivityCancel(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		in := v.input(v.villageA, base.Add(24*time.Hour), 2*time.Hour)
		in.Capacity = 2
		act := v.published(t, in)
		a, b, c, d := v.member(t, "甲", v.villageA), v.member(t, "乙", v.villageA), v.member(t, "丙", v.villageA), v.member(t, "丁", v.villageA)
		v.signUp(t, a, act, jifen.SignupConfirmed)
		v.signUp(t, b, act, jifen.SignupConfirmed)
		v.signUp(t, c, act, jifen.SignupWaitlisted)
		v.signUp(t, d, act, jifen.SignupWaitlisted)
		wantErr(t, v.acts.CancelSignup(d.ctx, act.ID, d.p.ID), "", "", "")
		title := "活动已取消：" + act.Title

		t.Run("a cancellation needs a reason", func(t *testing.T) {
			wantErr(t, v.acts.Cancel(v.adminA.ctx, act.ID, " \t "), jifen.KindInvalid, "invalid", "reason")
		})
		t.Run("a resident may not cancel", func(t *testing.T) {
			wantErr(t, v.acts.Cancel(v.resident.ctx, act.ID, "不想办了"), jifen.KindForbidden, "forbidden", "")
		})
		t.Run("another county's admin may not cancel", func(t *testing.T) {
			wantKinds(t, v.acts.Cancel(v.adminB.ctx, act.ID, "不想办了"), refused...)
		})
		t.Run("refused cancellations leave the activity published and tell nobody", func(t *testing.T) {
			if got := v.activity(t, act.ID); got.Status != jifen.ActivityPublished || got.CancelReason != "" {
				t.Fatalf("activity = %s %q", got.Status, got.CancelReason)
			}
			if len(v.msgs(t, a.ctx, title)) != 0 {
				t.Fatal("someone was told of a cancellation that did not happen")
			}
		})
		t.Run("cancelling tells every signed-up person why, confirmed and waitlisted", func(t *testing.T) {
			wantErr(t, v.acts.Cancel(v.adminA.ctx, act.ID, "暴雨橙色预警"), "", "", "")
			got := v.activity(t, act.ID)
			if got.Status != jifen.ActivityCancelled || got.CancelReason != "暴雨橙色预警" {
				t.Fatalf("activity = %s %q", got.Status, got.CancelReason)
			}
			for _, u := range []user{a, b, c} {
				m := v.msgs(t, u.ctx, title)
				if len(m) != 1 || !strings.Contains(m[0].Body, "暴雨橙色预警") || m[0].ReadAt != nil {
					t.Fatalf("%s has %d cancellation messages: %+v", u.p.Name, len(m), m)
				}
			}
			if len(v.msgs(t, d.ctx, title)) != 0 {
				t.Fatal("a person who had cancelled their sign-up was told")
			}
			if !slices.ContainsFunc(v.auditEntries(t, "activity.cancel"), func(e *jifen.AuditEntry) bool { return e.TargetID == act.ID }) {
				t.Fatal("the cancellation is not in the audit log")
			}
		})
		t.Run("cancelling again tells nobody twice", func(t *testing.T) {
			wantErr(t, v.acts.Cancel(v.adminA.ctx, act.ID, "再说一遍"), "", "", "")
			if m := v.msgs(t, a.ctx, title); len(m) != 1 {
				t.Fatalf("%d cancellation messages after cancelling twice", len(m))
			}
		})
		t.Run("a cancelled activity takes no sign-up and no check-in", func(t *testing.T) {
			_, err := v.acts.SignUp(v.resident.ctx, act.ID, v.resident.p.ID)
			wantErr(t, err, jifen.KindConflict, "not_open", "")
			_, err = v.acts.CheckIn(a.ctx, act.ID, "ANYCODE", nil, nil)
			wantErr(t, err, jifen.KindConflict, "activity_cancelled", "")
		})
		t.Run("a verified activity cannot be cancelled", func(t *testing.T) {
			e := v.member(t, "戊", v.villageA)
			done := v.serve(t, v.villageA, time.Hour, e)
			wantErr(t, v.acts.Cancel(v.adminA.ctx, done.ID, "补办取消"), jifen.KindConflict, "already_verified", "")
			if got := v.activity(t, done.ID); got.Status != jifen.ActivityVerified {
				t.Fatalf("status %s", got.Status)
			}
			if len(v.msgs(t, e.ctx, "活动已取消")) != 0 {
				t.Fatal("a volunteer was told of a refused cancellation")
			}
		})
	})
}

func TestActivitySignupCapacityUnderConcurrency(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		crowd := v.crowd(t, 200, v.villageA)
		in := v.input(v.villageA, base.Add(24*time.Hour), 2*time.Hour)
		in.Capacity = 40
		act := v.published(t, in)

		// Every reading of the clock advances it a microsecond, so each
		// place is stamped with its own moment of joining.
		v.clock.Tick(time.Microsecond)
		answers := make(map[int64]jifen.SignupStatus, len(crowd))
		window := make(map[int64][2]time.Time, len(crowd)) // the clock just before and after each call
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, len(crowd))
		start := make(chan struct{})
		for _, u := range crowd {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				before := v.clock.Now()
				st, err := v.acts.SignUp(u.ctx, act.ID, u.p.ID)
				after := v.clock.Now()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				answers[u.p.ID], window[u.p.ID] = st, [2]time.Time{before, after}
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		v.clock.Tick(0)
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent sign-up: %v", err)
		}

		t.Run("exactly 40 are confirmed and 160 waitlisted", func(t *testing.T) {
			n := map[jifen.SignupStatus]int{}
			for _, st := range answers {
				n[st]++
			}
			if n[jifen.SignupConfirmed] != 40 || n[jifen.SignupWaitlisted] != 160 {
				t.Fatalf("answers: %v", n)
			}
			if a := v.activity(t, act.ID); a.Confirmed != 40 || a.Waitlisted != 160 {
				t.Fatalf("activity counts %d confirmed, %d waitlisted", a.Confirmed, a.Waitlisted)
			}
		})
		list := must(v.acts.Signups(v.super.ctx, act.ID))(t)
		t.Run("each person holds the place they were told", func(t *testing.T) {
			if len(list) != 200 {
				t.Fatalf("%d sign-ups listed", len(list))
			}
			for i, s := range list {
				if s.Status != answers[s.PersonID] {
					t.Fatalf("%s holds %s but was told %s", s.Name, s.Status, answers[s.PersonID])
				}
				if want := i < 40; (s.Status == jifen.SignupConfirmed) != want {
					t.Fatalf("place %d is %s: confirmed places come first", i, s.Status)
				}
			}
		})
		t.Run("the waitlist is in the order people joined it", func(t *testing.T) {
			for _, s := range list {
				if w := window[s.PersonID]; s.CreatedAt.Before(w[0]) || s.CreatedAt.After(w[1]) {
					t.Fatalf("%s's place is stamped %s, outside their call %s–%s", s.Name, s.CreatedAt.Format(time.StampMicro),
						w[0].Format(time.StampMicro), w[1].Format(time.StampMicro))
				}
			}
			for i := 41; i < len(list); i++ {
				if !list[i].CreatedAt.After(list[i-1].CreatedAt) {
					t.Fatalf("waitlist place %d joined %s, not after place %d at %s", i-40, list[i].CreatedAt.Format(time.StampMicro),
						i-41, list[i-1].CreatedAt.Format(time.StampMicro))
				}
			}
			if !list[40].CreatedAt.After(list[39].CreatedAt) {
				t.Fatal("someone on the waitlist joined before someone confirmed")
			}
		})
		byID := map[int64]user{}
		for _, u := range crowd {
			byID[u.p.ID] = u
		}
		t.Run("cancelling confirmed places promotes the first waitlisted people in order, and each is told", func(t *testing.T) {
			for k := 0; k < 3; k++ {
				leaving, first := byID[list[k].PersonID], byID[list[40+k].PersonID]
				wantErr(t, v.acts.CancelSignup(leaving.ctx, act.ID, leaving.p.ID), "", "", "")
				if s := v.signupOf(t, act.ID, first.p.ID); s == nil || s.Status != jifen.SignupConfirmed {
					t.Fatalf("after cancel %d the first waitlisted holds %+v", k, s)
				}
				if m := v.msgs(t, first.ctx, "候补成功"); len(m) != 1 || !strings.Contains(m[0].Title, act.Title) {
					t.Fatalf("the promoted person has %d promotion messages", len(m))
				}
				if s := v.signupOf(t, act.ID, leaving.p.ID); s != nil {
					t.Fatalf("a cancelled place is still listed: %+v", s)
				}
			}
			if second := byID[list[43].PersonID]; len(v.msgs(t, second.ctx, "候补成功")) != 0 {
				t.Fatal("someone still waiting was told they moved up")
			}
			if a := v.activity(t, act.ID); a.Confirmed != 40 || a.Waitlisted != 157 {
				t.Fatalf("after three cancellations: %d confirmed, %d waitlisted, want 40 and 157", a.Confirmed, a.Waitlisted)
			}
		})
		t.Run("cancelling a waitlisted place moves nobody up", func(t *testing.T) {
			last := byID[list[199].PersonID]
			wantErr(t, v.acts.CancelSignup(last.ctx, act.ID, last.p.ID), "", "", "")
			if a := v.activity(t, act.ID); a.Confirmed != 40 || a.Waitlisted != 156 {
				t.Fatalf("%d confirmed, %d waitlisted, want 40 and 156", a.Confirmed, a.Waitlisted)
			}
			if next := byID[list[43].PersonID]; len(v.msgs(t, next.ctx, "候补成功")) != 0 {
				t.Fatal("a waitlisted cancellation promoted someone")
			}
		})
	})
}

func TestActivityCancelWhileBeingPromoted(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		crowd := v.crowd(t, 40, v.villageA)
		for i := range 20 {
			in := v.input(v.villageA, base.Add(24*time.Hour), time.Hour)
			in.Capacity = 1
			act := v.published(t, in)
			c, w := crowd[2*i], crowd[2*i+1]
			v.signUp(t, c, act, jifen.SignupConfirmed)
			v.signUp(t, w, act, jifen.SignupWaitlisted)
			var wg sync.WaitGroup
			var errs [2]error
			ready := make(chan struct{})
			for k, u := range []user{c, w} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-ready
					errs[k] = v.acts.CancelSignup(u.ctx, act.ID, u.p.ID)
				}()
			}
			close(ready)
			wg.Wait()
			for _, err := range errs {
				wantErr(t, err, "", "", "")
			}
			if s := v.signupOf(t, act.ID, w.p.ID); s != nil {
				t.Fatalf("round %d: the waitlisted person cancelled yet holds %+v", i, s)
			}
			if a := v.activity(t, act.ID); a.Confirmed != 0 || a.Waitlisted != 0 {
				t.Fatalf("round %d: both cancelled yet the activity counts %d confirmed, %d waitlisted", i, a.Confirmed, a.Waitlisted)
			}
		}
	})
}

func TestActivitySignupRules(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		start := base.Add(24 * time.Hour) // 2 June 2026
		open := v.published(t, v.input(v.villageA, start, 2*time.Hour))
		team := v.published(t, v.input(v.teamA, start, 2*time.Hour))
		adultIn := v.input(v.villageA, start, 2*time.Hour)
		adultIn.MinAge = 18
		adult := v.published(t, adultIn)
		closedIn := v.input(v.villageA, start, 2*time.Hour)
		closedIn.SignupDeadline = ptr(base.Add(-time.Minute))
		closed := v.published(t, closedIn)
		draft := v.draft(t, v.super.ctx, v.input(v.villageA, start, 2*time.Hour))

		kid := v.born(t, "少年", v.villageA, "2010-06-01")
		dayShort := v.born(t, "差一天", v.villageA, "2008-06-03")
		eighteen := v.born(t, "刚成年", v.villageA, "2008-06-02")
		teamMember := v.born(t, "队员", v.teamA, "1990-03-04")
		neighbour := v.member(t, "邻居", v.villageA)
		cases := []struct {
			name        string
			by          user
			who         int64
			act         *jifen.Activity
			want        jifen.SignupStatus
			kind        jifen.Kind
			code, field string
		}{
			{"a resident signs themselves up and is confirmed", v.resident, v.resident.p.ID, open, jifen.SignupConfirmed, "", "", ""},
			{"someone from another county may sign up for a published activity", v.residentB, v.residentB.p.ID, open, jifen.SignupConfirmed, "", "", ""},
			{"a person below the minimum age is refused with below_min_age", kid, kid.p.ID, adult, "", jifen.KindConflict, "below_min_age", ""},
			{"a person one day short of the minimum age is refused with below_min_age", dayShort, dayShort.p.ID, adult, "", jifen.KindConflict, "below_min_age", ""},
			{"a person who comes of age on the day is confirmed", eighteen, eighteen.p.ID, adult, jifen.SignupConfirmed, "", "", ""},
			{"a person whose birth date is unknown is refused where there is a minimum age", v.resident, v.resident.p.ID, adult, "", jifen.KindConflict, "birth_date_unknown", ""},
			{"sign-up after the deadline is refused with signup_closed", v.resident, v.resident.p.ID, closed, "", jifen.KindConflict, "signup_closed", ""},
			{"a draft is not found", v.resident, v.resident.p.ID, draft, "", jifen.KindNotFound, "not_found", ""},
			{"the team leader adds a member of the team", v.leader, teamMember.p.ID, team, jifen.SignupConfirmed, "", "", ""},
			{"the team leader cannot add a resident outside the team", v.leader, neighbour.p.ID, team, "", jifen.KindInvalid, "invalid", "person_id"},
			{"the team leader cannot add someone of another county", v.leader, v.residentB.p.ID, team, "", jifen.KindInvalid, "invalid", "person_id"},
			{"the team leader cannot add people to the village's activity above the team", v.leader, teamMember.p.ID, open, "", jifen.KindForbidden, "forbidden", ""},
			{"the county's admin adds a resident of a village below", v.adminA, neighbour.p.ID, open, jifen.SignupConfirmed, "", "", ""},
			{"another county's admin cannot add anyone", v.adminB, v.residentB.p.ID, team, "", jifen.KindForbidden, "forbidden", ""},
			{"a resident cannot sign someone else up", v.resident, teamMember.p.ID, open, "", jifen.KindForbidden, "forbidden", ""},
			{"a person who does not exist is invalid", v.adminA, 987654, open, "", jifen.KindInvalid, "invalid", "person_id"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				st, err := v.acts.SignUp(tc.by.ctx, tc.act.ID, tc.who)
				wantErr(t, err, tc.kind, tc.code, tc.field)
				s := v.signupOf(t, tc.act.ID, tc.who)
				if tc.kind != "" {
					if s != nil {
						t.Fatalf("a refused sign-up was written: %+v", s)
					}
					return
				}
				if st != tc.want || s == nil || s.Status != tc.want {
					t.Fatalf("answered %s, holds %+v, want %s", st, s, tc.want)
				}
				added := slices.ContainsFunc(v.auditEntries(t, "signup.add"), func(e *jifen.AuditEntry) bool {
					return e.TargetID == tc.who && e.ActorID == tc.by.p.ID
				})
				if added != (tc.who != tc.by.p.ID) {
					t.Fatalf("audit of someone added by another: %v", added)
				}
			})
		}

		capIn := v.input(v.villageA, start, 2*time.Hour)
		capIn.Capacity = 1
		one := v.published(t, capIn)
		x, y := v.member(t, "先来", v.villageA), v.member(t, "后到", v.villageA)
		v.signUp(t, x, one, jifen.SignupConfirmed)
		v.clock.Advance(time.Second)
		v.signUp(t, y, one, jifen.SignupWaitlisted)
		t.Run("signing up twice answers the same status and writes nothing new", func(t *testing.T) {
			before, audits := must(v.acts.Signups(v.super.ctx, one.ID))(t), v.auditTotal(t)
			v.clock.Advance(time.Minute)
			for _, c := range []struct {
				u    user
				want jifen.SignupStatus
			}{{x, jifen.SignupConfirmed}, {y, jifen.SignupWaitlisted}} {
				v.signUp(t, c.u, one, c.want)
			}
			after := must(v.acts.Signups(v.super.ctx, one.ID))(t)
			if len(after) != len(before) {
				t.Fatalf("%d sign-ups, was %d", len(after), len(before))
			}
			for i := range after {
				if *after[i] != *before[i] {
					t.Fatalf("sign-up changed: %+v, was %+v", after[i], before[i])
				}
			}
			if a := v.activity(t, one.ID); a.Confirmed != 1 || a.Waitlisted != 1 {
				t.Fatalf("counts %d/%d", a.Confirmed, a.Waitlisted)
			}
			if n := v.auditTotal(t); n != audits {
				t.Fatalf("%d audit entries, was %d", n, audits)
			}
		})
		t.Run("a double tap, two sign-ups of one person at once, answers one status and takes one place", func(t *testing.T) {
			twice := v.published(t, v.input(v.villageA, start, 2*time.Hour))
			for _, u := range v.crowd(t, 10, v.villageB) {
				var wg sync.WaitGroup
				var sts [2]jifen.SignupStatus
				var errs [2]error
				ready := make(chan struct{})
				for i := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-ready
						sts[i], errs[i] = v.acts.SignUp(u.ctx, twice.ID, u.p.ID)
					}()
				}
				close(ready)
				wg.Wait()
				for i := range 2 {
					if errs[i] != nil || sts[i] != jifen.SignupConfirmed {
						t.Fatalf("%s tap %d: %s, %v", u.p.Name, i, sts[i], errs[i])
					}
				}
			}
			if a := v.activity(t, twice.ID); a.Confirmed != 10 {
				t.Fatalf("%d confirmed, want 10", a.Confirmed)
			}
		})
		t.Run("a resident cannot cancel someone else's sign-up", func(t *testing.T) {
			wantErr(t, v.acts.CancelSignup(y.ctx, one.ID, x.p.ID), jifen.KindForbidden, "forbidden", "")
		})
		t.Run("cancelling a sign-up that does not exist is not found", func(t *testing.T) {
			wantErr(t, v.acts.CancelSignup(v.residentB.ctx, one.ID, v.residentB.p.ID), jifen.KindNotFound, "not_signed_up", "")
		})
		t.Run("cancelling moves the waitlist up and signing up again joins its end", func(t *testing.T) {
			wantErr(t, v.acts.CancelSignup(x.ctx, one.ID, x.p.ID), "", "", "")
			if s := v.signupOf(t, one.ID, y.p.ID); s == nil || s.Status != jifen.SignupConfirmed {
				t.Fatalf("the waitlisted person holds %+v", s)
			}
			v.signUp(t, x, one, jifen.SignupWaitlisted)
			if a := v.activity(t, one.ID); a.Confirmed != 1 || a.Waitlisted != 1 {
				t.Fatalf("counts %d/%d, want 1/1", a.Confirmed, a.Waitlisted)
			}
		})

		t.Run("raising the capacity moves the waitlist up and tells who moved", func(t *testing.T) {
			in := capIn
			in.Capacity = 2
			a := must(v.acts.UpdateActivity(v.adminA.ctx, one.ID, in))(t)
			if a.Capacity != 2 || a.Confirmed != 2 || a.Waitlisted != 0 {
				t.Fatalf("after raising the capacity: %d of %d confirmed, %d waitlisted", a.Confirmed, a.Capacity, a.Waitlisted)
			}
			if m := v.msgs(t, x.ctx, "候补成功"); len(m) != 1 {
				t.Fatalf("the promoted person has %d messages", len(m))
			}
		})
		t.Run("the capacity cannot drop below the people already confirmed", func(t *testing.T) {
			in := capIn
			in.Capacity = 1
			_, err := v.acts.UpdateActivity(v.adminA.ctx, one.ID, in)
			wantErr(t, err, jifen.KindConflict, "capacity_below_confirmed", "")
		})
		t.Run("a person lists their own sign-ups, not the cancelled ones", func(t *testing.T) {
			mine := must(v.acts.MySignups(x.ctx))(t)
			if len(mine) != 1 || mine[0].ActivityID != one.ID || mine[0].Status != jifen.SignupConfirmed || mine[0].Activity == nil || mine[0].Activity.Title != one.Title {
				t.Fatalf("my sign-ups: %+v", mine)
			}
			wantErr(t, v.acts.CancelSignup(x.ctx, one.ID, x.p.ID), "", "", "")
			if mine := must(v.acts.MySignups(x.ctx))(t); len(mine) != 0 {
				t.Fatalf("a cancelled sign-up is still listed: %+v", mine[0])
			}
		})

		soon := v.published(t, v.input(v.villageA, base.Add(10*time.Minute), time.Hour))
		present := v.member(t, "到场", v.villageA)
		v.signUp(t, present, soon, jifen.SignupConfirmed)
		v.checkIn(t, present, soon, base.Add(2*time.Minute))
		t.Run("cancelling a sign-up after checking in is refused with already_attended", func(t *testing.T) {
			for _, by := range []user{present, v.adminA} {
				wantErr(t, v.acts.CancelSignup(by.ctx, soon.ID, present.p.ID), jifen.KindConflict, "already_attended", "")
			}
			if s := v.signupOf(t, soon.ID, present.p.ID); s == nil || s.Status != jifen.SignupConfirmed {
				t.Fatalf("the sign-up is %+v", s)
			}
		})
		t.Run("sign-up closes when the activity ends", func(t *testing.T) {
			v.clock.Set(soon.EndsAt)
			_, err := v.acts.SignUp(v.residentB.ctx, soon.ID, v.residentB.p.ID)
			wantErr(t, err, jifen.KindConflict, "signup_closed", "")
		})
	})
}

func TestActivityCheckInAndOut(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		S := base.Add(time.Hour)
		E := S.Add(2 * time.Hour)
		lat, lon := 35.3, 107.0
		x := v.published(t, v.input(v.villageA, S, 2*time.Hour))
		geoIn := v.input(v.villageA, S, 2*time.Hour)
		geoIn.Location.Lat, geoIn.Location.Lon, geoIn.Location.RadiusM = &lat, &lon, 200
		geo := v.published(t, geoIn)
		fullIn := v.input(v.villageA, S, 2*time.Hour)
		fullIn.Capacity = 1
		full := v.published(t, fullIn)
		scanIn := v.input(v.teamA, S, 2*time.Hour)
		scanIn.Capacity = 3
		scan := v.published(t, scanIn)

		var p [6]user
		for i := range p {
			p[i] = v.member(t, "志愿者"+string(rune('A'+i)), v.villageA)
			v.signUp(t, p[i], x, jifen.SignupConfirmed)
		}
		// Someone at x too would leave x by checking in at geo.
		g := v.member(t, "志愿者G", v.villageA)
		v.signUp(t, g, geo, jifen.SignupConfirmed)
		v.signUp(t, p[5], full, jifen.SignupConfirmed)
		v.signUp(t, p[4], full, jifen.SignupWaitlisted)
		h := v.member(t, "志愿者H", v.villageA)
		v.signUp(t, h, scan, jifen.SignupConfirmed)
		walkIn := [3]user{v.member(t, "路人甲", v.villageA), v.member(t, "路人乙", v.villageA), v.member(t, "路人丙", v.villageA)}

		checkIn := func(u user, act *jifen.Activity, code string) (*jifen.Attendance, error) {
			return v.acts.CheckIn(u.ctx, act.ID, code, nil, nil)
		}

		v.clock.Set(S.Add(-31 * time.Minute))
		t.Run("check-in earlier than 30 minutes before the start is refused with not_started", func(t *testing.T) {
			_, err := checkIn(p[0], x, v.code(t, x))
			wantErr(t, err, jifen.KindConflict, "not_started", "")
		})
		v.clock.Set(S.Add(-30 * time.Minute))
		t.Run("check-in from 30 minutes before the start is accepted", func(t *testing.T) {
			att := must(checkIn(p[0], x, v.code(t, x)))(t)
			if att.How != jifen.HowSelf || !att.StartedAt.Equal(S.Add(-30*time.Minute)) || att.EndedAt != nil || att.PersonID != p[0].p.ID {
				t.Fatalf("attendance = %+v", att)
			}
		})
		t.Run("checking in twice is refused with already_checked_in", func(t *testing.T) {
			_, err := checkIn(p[0], x, v.code(t, x))
			wantErr(t, err, jifen.KindConflict, "already_checked_in", "")
		})
		t.Run("checking out without checking in is refused with not_checked_in", func(t *testing.T) {
			_, err := v.acts.CheckOut(p[1].ctx, x.ID, v.code(t, x), nil, nil)
			wantErr(t, err, jifen.KindConflict, "not_checked_in", "")
		})
		t.Run("a person who did not sign up cannot check in", func(t *testing.T) {
			_, err := checkIn(v.residentB, x, v.code(t, x))
			wantErr(t, err, jifen.KindConflict, "not_signed_up", "")
		})
		t.Run("a waitlisted person cannot check in", func(t *testing.T) {
			_, err := checkIn(p[4], full, v.code(t, full))
			wantErr(t, err, jifen.KindConflict, "waitlisted", "")
		})
		t.Run("a forged code is refused with bad_code", func(t *testing.T) {
			for _, code := range []string{"ABCDEFGHJK", "", strings.Repeat("Z", 500)} {
				_, err := checkIn(p[1], x, code)
				wantErr(t, err, jifen.KindInvalid, "bad_code", "code")
			}
		})
		t.Run("the code of another activity is refused with bad_code", func(t *testing.T) {
			_, err := checkIn(p[1], x, v.code(t, geo))
			wantErr(t, err, jifen.KindInvalid, "bad_code", "code")
		})

		w := S.Add(10*time.Minute + time.Second) // one second into a 30-second window
		v.clock.Set(w)
		c := v.code(t, x)
		t.Run("the code works in its own window", func(t *testing.T) {
			must(checkIn(p[1], x, c))(t)
		})
		v.clock.Set(w.Add(30 * time.Second))
		t.Run("the code still works in the next window", func(t *testing.T) {
			if fresh := v.code(t, x); fresh == c {
				t.Fatal("the code did not rotate after 30 seconds")
			}
			must(checkIn(p[2], x, c))(t)
		})
		v.clock.Set(w.Add(60 * time.Second))
		t.Run("the code has expired two windows later: bad_code", func(t *testing.T) {
			_, err := checkIn(p[3], x, c)
			wantErr(t, err, jifen.KindInvalid, "bad_code", "code")
		})
		t.Run("the current code typed in lower case is accepted", func(t *testing.T) {
			must(checkIn(p[3], x, " "+strings.ToLower(v.code(t, x))+" "))(t)
		})

		north := func(m float64) *float64 { l := lat + m/111195; return &l }
		t.Run("with a radius, check-in without a location is refused with location_required", func(t *testing.T) {
			_, err := v.acts.CheckIn(g.ctx, geo.ID, v.code(t, geo), nil, nil)
			wantErr(t, err, jifen.KindInvalid, "location_required", "lat")
		})
		t.Run("with a radius, check-in 2 km away is refused with outside_radius", func(t *testing.T) {
			_, err := v.acts.CheckIn(g.ctx, geo.ID, v.code(t, geo), north(2000), &lon)
			wantErr(t, err, jifen.KindInvalid, "outside_radius", "lat")
		})
		t.Run("with a radius, check-in 50 m away is accepted", func(t *testing.T) {
			must(v.acts.CheckIn(g.ctx, geo.ID, v.code(t, geo), north(50), &lon))(t)
		})
		t.Run("with a radius, check-out 2 km away is refused too, 50 m away accepted", func(t *testing.T) {
			_, err := v.acts.CheckOut(g.ctx, geo.ID, v.code(t, geo), north(2000), &lon)
			wantErr(t, err, jifen.KindInvalid, "outside_radius", "lat")
			must(v.acts.CheckOut(g.ctx, geo.ID, v.code(t, geo), north(50), &lon))(t)
		})

		t.Run("leaving and coming back records two intervals", func(t *testing.T) {
			out := v.checkOut(t, p[0], x, S.Add(30*time.Minute))
			if out.EndedAt == nil || !out.EndedAt.Equal(S.Add(30*time.Minute)) || !out.StartedAt.Equal(S.Add(-30*time.Minute)) {
				t.Fatalf("check-out = %+v", out)
			}
			v.checkIn(t, p[0], x, S.Add(60*time.Minute))
			v.checkOut(t, p[0], x, S.Add(90*time.Minute))
			var mine []*jifen.Attendance
			for _, a := range must(v.acts.Attendance(v.super.ctx, x.ID))(t) {
				if a.PersonID == p[0].p.ID {
					mine = append(mine, a)
				}
			}
			if len(mine) != 2 || mine[1].EndedAt == nil || !mine[1].EndedAt.Equal(S.Add(90*time.Minute)) {
				t.Fatalf("intervals: %+v", mine)
			}
		})

		v.clock.Set(S.Add(95 * time.Minute))
		t.Run("the leader scans a walk-in's volunteer number and adds them while a place is free", func(t *testing.T) {
			att := must(v.acts.ScanIn(v.leader.ctx, scan.ID, walkIn[0].p.VolunteerNo))(t)
			if att.How != jifen.HowScan || att.PersonID != walkIn[0].p.ID {
				t.Fatalf("attendance = %+v", att)
			}
			if s := v.signupOf(t, scan.ID, walkIn[0].p.ID); s == nil || s.Status != jifen.SignupConfirmed {
				t.Fatalf("the walk-in holds %+v", s)
			}
		})
		t.Run("the text of the volunteer's QR code, JFV: and the number, works too", func(t *testing.T) {
			must(v.acts.ScanIn(v.leader.ctx, scan.ID, " JFV:"+walkIn[1].p.VolunteerNo+" "))(t)
			if a := v.activity(t, scan.ID); a.Confirmed != 3 {
				t.Fatalf("%d confirmed, want 3", a.Confirmed)
			}
		})
		t.Run("a walk-in is refused when the activity is full, and nothing is written", func(t *testing.T) {
			_, err := v.acts.ScanIn(v.leader.ctx, scan.ID, walkIn[2].p.VolunteerNo)
			wantErr(t, err, jifen.KindConflict, "waitlisted", "")
			if s := v.signupOf(t, scan.ID, walkIn[2].p.ID); s != nil {
				t.Fatalf("the refused walk-in holds %+v", s)
			}
			if a := v.activity(t, scan.ID); a.Confirmed != 3 || a.Waitlisted != 0 {
				t.Fatalf("counts %d/%d", a.Confirmed, a.Waitlisted)
			}
		})
		t.Run("a signed-up volunteer is scanned in", func(t *testing.T) {
			must(v.acts.ScanIn(v.leader.ctx, scan.ID, "JFV:"+h.p.VolunteerNo))(t)
		})
		t.Run("scanning someone present again is refused with already_checked_in", func(t *testing.T) {
			_, err := v.acts.ScanIn(v.leader.ctx, scan.ID, walkIn[0].p.VolunteerNo)
			wantErr(t, err, jifen.KindConflict, "already_checked_in", "")
		})
		t.Run("an unknown volunteer number is invalid", func(t *testing.T) {
			_, err := v.acts.ScanIn(v.leader.ctx, scan.ID, "JFV:000000000000")
			wantErr(t, err, jifen.KindInvalid, "invalid", "volunteer_no")
		})
		t.Run("a resident cannot scan people in", func(t *testing.T) {
			_, err := v.acts.ScanIn(v.resident.ctx, scan.ID, walkIn[2].p.VolunteerNo)
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
		})
		t.Run("the leader scans a volunteer out", func(t *testing.T) {
			att := must(v.acts.ScanOut(v.leader.ctx, scan.ID, walkIn[0].p.VolunteerNo))(t)
			if att.EndedAt == nil || !att.EndedAt.Equal(S.Add(95*time.Minute)) {
				t.Fatalf("attendance = %+v", att)
			}
		})

		v.clock.Set(E)
		t.Run("check-in at the end is refused with activity_ended", func(t *testing.T) {
			_, err := checkIn(p[4], x, v.code(t, x))
			wantErr(t, err, jifen.KindConflict, "activity_ended", "")
		})
		t.Run("check-out at the end is still accepted", func(t *testing.T) {
			must(v.acts.CheckOut(p[1].ctx, x.ID, v.code(t, x), nil, nil))(t)
		})
		v.clock.Set(E.Add(2*time.Hour + time.Minute))
		t.Run("check-out more than two hours after the end is refused with activity_ended", func(t *testing.T) {
			_, err := v.acts.CheckOut(p[2].ctx, x.ID, v.code(t, x), nil, nil)
			wantErr(t, err, jifen.KindConflict, "activity_ended", "")
		})
		t.Run("the attendance shows a forgotten check-out closed at the end, flagged", func(t *testing.T) {
			for _, a := range must(v.acts.Attendance(v.adminA.ctx, x.ID))(t) {
				if a.PersonID != p[2].p.ID && a.PersonID != p[3].p.ID {
					continue
				}
				if a.EndedAt == nil || !a.EndedAt.Equal(E) || !a.AutoClosed {
					t.Fatalf("forgotten check-out shows as %+v", a)
				}
			}
		})
		t.Run("after verifying, both intervals of who left and came back count", func(t *testing.T) {
			must(v.acts.Verify(v.super.ctx, x.ID))(t)
			want := map[int64]int{p[0].p.ID: 60, p[1].p.ID: 109, p[2].p.ID: 109, p[3].p.ID: 108}
			for pid, m := range want {
				recs := activityRecords(v.records(t, pid), x.ID)
				if len(recs) != 1 || recs[0].Minutes != m || recs[0].How != jifen.HowSelf {
					t.Fatalf("person %d: records %+v, want one of %d minutes", pid, recs, m)
				}
			}
			if recs := activityRecords(v.records(t, p[4].p.ID), x.ID); len(recs) != 0 {
				t.Fatalf("a no-show has records %+v", recs)
			}
		})
	})
}
