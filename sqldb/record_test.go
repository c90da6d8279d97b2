package sqldb_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// recordOf is a person's one record of a kind on an activity, or nil.
func (v *vs) recordOf(t *testing.T, personID, activityID int64, how string) *jifen.ServiceRecord {
	t.Helper()
	var out *jifen.ServiceRecord
	for _, r := range activityRecords(v.records(t, personID), activityID) {
		if r.How == how {
			if out != nil {
				t.Fatalf("two %s records of person %d on activity %d", how, personID, activityID)
			}
			out = r
		}
	}
	return out
}

// sameRecord compares two readings of a record, pointers by value.
func sameRecord(a, b *jifen.ServiceRecord) bool {
	flat := func(r *jifen.ServiceRecord) string {
		c := *r
		c.ActivityID, c.RecordedBy, c.Corrects = nil, nil, nil
		return fmt.Sprintf("%+v %v %v %v", c, deref(r.ActivityID), deref(r.RecordedBy), deref(r.Corrects))
	}
	return flat(a) == flat(b)
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestVerifyTurnsAttendanceIntoRecords(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		S := base.Add(time.Hour)
		E := S.Add(2 * time.Hour)
		at := func(m int) time.Time { return S.Add(time.Duration(m) * time.Minute) }
		act := v.published(t, v.input(v.teamA, S, 2*time.Hour))
		twin := v.published(t, v.input(v.teamA, S, 2*time.Hour))
		later := v.published(t, v.input(v.teamA, E.Add(time.Hour), time.Hour))
		early, forgetful, twice := v.member(t, "早到", v.villageA), v.member(t, "忘签退", v.villageA), v.member(t, "两进两出", v.villageA)
		backOnly, overlap, trimmed := v.member(t, "补录", v.villageA), v.member(t, "部分补录", v.villageA), v.member(t, "重叠", v.villageA)
		noshow := v.member(t, "未到", v.villageA)
		// backOnly signed up but came without a phone: the leader back-fills.
		for _, u := range []user{early, forgetful, twice, overlap, trimmed, noshow, backOnly} {
			v.signUp(t, u, act, jifen.SignupConfirmed)
		}

		v.checkIn(t, early, act, at(-30))
		v.checkIn(t, twice, act, at(0))
		v.checkIn(t, overlap, act, at(0))
		v.checkIn(t, trimmed, act, at(0))
		v.checkIn(t, forgetful, act, at(30))
		v.checkOut(t, twice, act, at(30))
		v.checkOut(t, trimmed, act, at(40))
		second := v.checkIn(t, trimmed, act, at(50))
		v.checkIn(t, twice, act, at(60))
		v.checkOut(t, overlap, act, at(60))
		v.checkOut(t, trimmed, act, at(70))
		v.checkOut(t, twice, act, at(90))

		v.clock.Set(at(100))
		t.Run("verifying before the end is refused with not_finished", func(t *testing.T) {
			_, err := v.acts.Verify(v.leader.ctx, act.ID)
			wantErr(t, err, jifen.KindConflict, "not_finished", "")
		})
		backfills := []struct {
			name        string
			by          user
			act         *jifen.Activity
			who         int64
			from, to    time.Time
			reason      string
			kinds       []jifen.Kind
			code, field string
		}{
			{"a back-fill needs a reason", v.leader, act, backOnly.p.ID, at(0), at(60), " ", []jifen.Kind{jifen.KindInvalid}, "invalid", "reason"},
			{"a back-fill starting before the activity is invalid", v.leader, act, backOnly.p.ID, at(-10), at(60), "补录", []jifen.Kind{jifen.KindInvalid}, "invalid", "started_at"},
			{"a back-fill ending after the activity is invalid", v.leader, act, backOnly.p.ID, at(0), E.Add(time.Minute), "补录", []jifen.Kind{jifen.KindInvalid}, "invalid", "started_at"},
			{"a back-fill ending before it starts is invalid", v.leader, act, backOnly.p.ID, at(60), at(0), "补录", []jifen.Kind{jifen.KindInvalid}, "invalid", "ended_at"},
			{"a back-fill for a person who does not exist is invalid", v.leader, act, 987654, at(0), at(60), "补录", []jifen.Kind{jifen.KindInvalid}, "invalid", "person_id"},
			{"a back-fill before the activity has started is refused with not_started", v.leader, later, backOnly.p.ID, later.StartsAt, later.EndsAt, "补录", []jifen.Kind{jifen.KindConflict}, "not_started", ""},
			{"a resident cannot back-fill", v.resident, act, v.resident.p.ID, at(0), at(60), "补录", []jifen.Kind{jifen.KindForbidden}, "forbidden", ""},
			{"another county's admin cannot back-fill", v.adminB, act, backOnly.p.ID, at(0), at(60), "补录", refused, "", ""},
			{"the leader back-fills an hour with a reason", v.leader, act, backOnly.p.ID, at(0), at(60), "忘带手机，纸质签到表为证", nil, "", ""},
			{"a back-fill may overlap self-recorded time", v.leader, act, overlap.p.ID, at(30), at(90), "手机没电未能签退", nil, "", ""},
			{"the admin above back-fills the twin activity", v.adminA, twin, early.p.ID, at(0), at(120), "现场名单补录", nil, "", ""},
			{"the admin above back-fills the twin activity for a second person", v.adminA, twin, twice.p.ID, at(0), at(60), "现场名单补录", nil, "", ""},
		}
		for _, tc := range backfills {
			t.Run(tc.name, func(t *testing.T) {
				audits := v.auditTotal(t)
				att, err := v.acts.Backfill(tc.by.ctx, tc.act.ID, tc.who, tc.from, tc.to, tc.reason)
				if tc.kinds != nil {
					if len(tc.kinds) == 1 {
						wantErr(t, err, tc.kinds[0], tc.code, tc.field)
					} else {
						wantKinds(t, err, tc.kinds...)
					}
					if n := v.auditTotal(t); n != audits {
						t.Fatal("a refused back-fill wrote to the audit log")
					}
					return
				}
				wantErr(t, err, "", "", "")
				if att.How != jifen.HowBackfilled || att.Reason != tc.reason || !att.StartedAt.Equal(tc.from) || att.EndedAt == nil || !att.EndedAt.Equal(tc.to) {
					t.Fatalf("attendance = %+v", att)
				}
				if !slices.ContainsFunc(v.auditEntries(t, "attendance.backfill"), func(e *jifen.AuditEntry) bool {
					return e.TargetID == tc.who && e.ActorID == tc.by.p.ID && strings.Contains(e.Detail, tc.reason)
				}) {
					t.Fatal("the back-fill is not in the audit log with who and why")
				}
			})
		}
		t.Run("a resident cannot trim attendance", func(t *testing.T) {
			wantErr(t, v.acts.TrimAttendance(v.resident.ctx, second.ID, at(20), at(70)), jifen.KindForbidden, "forbidden", "")
		})
		t.Run("trimming cannot stretch an interval: more time is a back-fill", func(t *testing.T) {
			wantErr(t, v.acts.TrimAttendance(v.leader.ctx, second.ID, at(20), at(70)), jifen.KindInvalid, "invalid", "started_at")
			wantErr(t, v.acts.TrimAttendance(v.leader.ctx, second.ID, at(50), at(80)), jifen.KindInvalid, "invalid", "started_at")
		})
		t.Run("the leader shortens an interval", func(t *testing.T) {
			wantErr(t, v.acts.TrimAttendance(v.leader.ctx, second.ID, at(55), at(70)), "", "", "")
		})

		v.checkOut(t, early, act, E.Add(20*time.Minute))
		t.Run("another county's admin cannot verify", func(t *testing.T) {
			_, err := v.acts.Verify(v.adminB.ctx, act.ID)
			wantKinds(t, err, refused...)
			if a := v.activity(t, act.ID); a.Status != jifen.ActivityFinished {
				t.Fatalf("status %s after a refused verify, want finished", a.Status)
			}
		})
		t.Run("the leader verifies after the end: one record per person and kind", func(t *testing.T) {
			n := must(v.acts.Verify(v.leader.ctx, act.ID))(t)
			if n != 7 {
				t.Fatalf("%d records, want 7", n)
			}
			a := v.activity(t, act.ID)
			if a.Status != jifen.ActivityVerified || a.VerifiedAt == nil || !a.VerifiedAt.Equal(E.Add(20*time.Minute)) {
				t.Fatalf("activity = %s at %v", a.Status, a.VerifiedAt)
			}
		})
		minutes := []struct {
			name                string
			who                 user
			how                 string
			minutes             int
			from, to            time.Time
			recordedBy          int64
			total, self, filled int
		}{
			{"arriving 30 minutes early counts from the start, staying late is clipped at the end", early, jifen.HowSelf, 120, S, E, early.p.ID, 120, 120, 0},
			{"a forgotten check-out is closed at the end", forgetful, jifen.HowSelf, 90, at(30), E, forgetful.p.ID, 90, 90, 0},
			{"leaving and coming back counts both intervals", twice, jifen.HowSelf, 60, S, at(90), twice.p.ID, 60, 60, 0},
			{"a shortened interval counts as shortened", trimmed, jifen.HowSelf, 55, S, at(70), trimmed.p.ID, 55, 55, 0},
			{"a back-fill is a separate back-filled record naming who entered it", backOnly, jifen.HowBackfilled, 60, S, at(60), v.leader.p.ID, 60, 0, 60},
			{"an overlapping back-fill adds only what self-recorded time did not cover", overlap, jifen.HowBackfilled, 30, at(30), at(90), v.leader.p.ID, 90, 60, 30},
			{"an overlapping back-fill leaves the self-recorded record whole", overlap, jifen.HowSelf, 60, S, at(60), overlap.p.ID, 90, 60, 30},
		}
		for _, tc := range minutes {
			t.Run(tc.name, func(t *testing.T) {
				r := v.recordOf(t, tc.who.p.ID, act.ID, tc.how)
				if r == nil {
					t.Fatalf("no %s record", tc.how)
				}
				if r.Minutes != tc.minutes || !r.StartedAt.Equal(tc.from) || !r.EndedAt.Equal(tc.to) {
					t.Fatalf("record %d minutes %s–%s, want %d minutes %s–%s", r.Minutes, r.StartedAt.Format("15:04"), r.EndedAt.Format("15:04"),
						tc.minutes, tc.from.Format("15:04"), tc.to.Format("15:04"))
				}
				if r.RecordedBy == nil || *r.RecordedBy != tc.recordedBy || r.VerifiedBy != v.leader.p.ID || r.OrgID != v.teamA.ID ||
					r.Content != "环境整治："+act.Title || r.Place != act.Location.Address || !r.VerifiedAt.Equal(E.Add(20*time.Minute)) {
					t.Fatalf("record = %+v", r)
				}
				h := v.hours(t, tc.who.p.ID)
				if h.VerifiedMinutes != tc.total || h.SelfMinutes != tc.self || h.BackfillMinutes != tc.filled {
					t.Fatalf("hours = %+v, want %d = %d self + %d back-filled", h, tc.total, tc.self, tc.filled)
				}
			})
		}
		t.Run("a person who signed up but never came has no record", func(t *testing.T) {
			if r := activityRecords(v.records(t, noshow.p.ID), act.ID); len(r) != 0 {
				t.Fatalf("records %+v", r)
			}
			if h := v.hours(t, noshow.p.ID); h.VerifiedMinutes != 0 || h.Records != 0 {
				t.Fatalf("hours %+v", h)
			}
		})
		t.Run("the forgotten check-out stays flagged auto_closed", func(t *testing.T) {
			for _, a := range must(v.acts.Attendance(v.leader.ctx, act.ID))(t) {
				if a.PersonID == forgetful.p.ID && (a.EndedAt == nil || !a.EndedAt.Equal(E) || !a.AutoClosed) {
					t.Fatalf("attendance %+v", a)
				}
				if a.PersonID == early.p.ID && a.AutoClosed {
					t.Fatalf("a check-out was flagged auto-closed: %+v", a)
				}
			}
		})
		t.Run("each person is told their hours", func(t *testing.T) {
			for _, c := range []struct {
				u     user
				hours string
			}{{early, "2.0小时"}, {forgetful, "1.5小时"}, {twice, "1.0小时"}, {trimmed, "0.9小时"}, {backOnly, "1.0小时"}, {overlap, "1.5小时"}} {
				m := v.msgs(t, c.u.ctx, "服务时长已核验")
				if len(m) != 1 || !strings.Contains(m[0].Body, c.hours) || !strings.Contains(m[0].Body, act.Title) {
					t.Fatalf("%s: messages %+v, want one saying %s", c.u.p.Name, m, c.hours)
				}
			}
			if m := v.msgs(t, noshow.ctx, "服务时长已核验"); len(m) != 0 {
				t.Fatalf("a no-show was told %+v", m)
			}
		})
		t.Run("verifying twice is refused with already_verified and writes nothing", func(t *testing.T) {
			before := len(v.records(t, overlap.p.ID))
			_, err := v.acts.Verify(v.adminA.ctx, act.ID)
			wantErr(t, err, jifen.KindConflict, "already_verified", "")
			if n := len(v.records(t, overlap.p.ID)); n != before {
				t.Fatalf("%d records, was %d", n, before)
			}
		})
		t.Run("a verified activity takes no more attendance", func(t *testing.T) {
			_, err := v.acts.Backfill(v.leader.ctx, act.ID, noshow.p.ID, at(0), at(30), "迟到的补录")
			wantErr(t, err, jifen.KindConflict, "already_verified", "")
			wantErr(t, v.acts.TrimAttendance(v.leader.ctx, second.ID, at(50), at(70)), jifen.KindConflict, "already_verified", "")
			_, err = v.acts.CheckOut(early.ctx, act.ID, "ANYCODE", nil, nil)
			wantErr(t, err, jifen.KindConflict, "already_verified", "")
		})
		t.Run("two verifications at once produce one set of records", func(t *testing.T) {
			var wg sync.WaitGroup
			var ns [2]int
			var errs [2]error
			ready := make(chan struct{})
			for i, u := range []user{v.leader, v.adminA} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-ready
					ns[i], errs[i] = v.acts.Verify(u.ctx, twin.ID)
				}()
			}
			close(ready)
			wg.Wait()
			ok := 0
			for i := range 2 {
				if errs[i] == nil {
					ok++
					if ns[i] != 2 {
						t.Fatalf("the verification wrote %d records, want 2", ns[i])
					}
				} else {
					wantErr(t, errs[i], jifen.KindConflict, "already_verified", "")
				}
			}
			if ok != 1 {
				t.Fatalf("%d verifications succeeded, want 1", ok)
			}
			for _, u := range []user{early, twice} {
				if r := activityRecords(v.records(t, u.p.ID), twin.ID); len(r) != 1 {
					t.Fatalf("%s has %d records of the twin activity", u.p.Name, len(r))
				}
			}
			if m := v.msgs(t, early.ctx, "服务时长已核验"); len(m) != 2 {
				t.Fatalf("%d hour messages, want one per activity", len(m))
			}
		})
		t.Run("a back-filled record says why it was entered", func(t *testing.T) {
			if r := v.recordOf(t, backOnly.p.ID, act.ID, jifen.HowBackfilled); r == nil || !strings.Contains(r.Reason, "忘带手机") {
				t.Fatalf("record = %+v", r)
			}
		})
	})
}

func TestRecordCorrections(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		vol := v.born(t, "志愿者", v.teamA, "1990-01-01")
		other := v.born(t, "另一位", v.teamA, "1991-02-02")
		act := v.serve(t, v.teamA, 2*time.Hour, vol, other, v.leader)
		rec := v.recordOf(t, vol.p.ID, act.ID, jifen.HowSelf)
		otherRec := v.recordOf(t, other.p.ID, act.ID, jifen.HowSelf)
		leaderRec := v.recordOf(t, v.leader.p.ID, act.ID, jifen.HowSelf)
		if rec.Minutes != 120 || otherRec.Minutes != 120 || leaderRec.Minutes != 120 {
			t.Fatalf("minutes %d %d %d, want 120 each", rec.Minutes, otherRec.Minutes, leaderRec.Minutes)
		}

		refusals := []struct {
			name        string
			by          user
			rec         *jifen.ServiceRecord
			minutes     int
			reason      string
			kind        jifen.Kind
			code, field string
		}{
			{"a correction needs a reason", v.adminA, rec, 60, " ", jifen.KindInvalid, "invalid", "reason"},
			{"negative minutes are invalid", v.adminA, rec, -1, "录错了", jifen.KindInvalid, "invalid", "minutes"},
			{"more minutes than the record spans are invalid", v.adminA, rec, 121, "录错了", jifen.KindInvalid, "invalid", "minutes"},
			{"the same minutes are refused with no_change", v.adminA, rec, 120, "录错了", jifen.KindConflict, "no_change", ""},
			{"another county's admin finds no record", v.adminB, rec, 60, "录错了", jifen.KindNotFound, "not_found", ""},
			{"a volunteer finds no record to correct, not even their own", vol, rec, 60, "录错了", jifen.KindNotFound, "not_found", ""},
			{"a leader cannot correct their own record", v.leader, leaderRec, 60, "录错了", jifen.KindConflict, "self_approval", ""},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				before := len(v.records(t, tc.rec.PersonID))
				_, err := v.recs.Correct(tc.by.ctx, tc.rec.ID, tc.minutes, tc.reason)
				wantErr(t, err, tc.kind, tc.code, tc.field)
				if n := len(v.records(t, tc.rec.PersonID)); n != before {
					t.Fatalf("%d records after a refused correction, was %d", n, before)
				}
			})
		}
		var correction *jifen.ServiceRecord
		t.Run("a correction is a new record with its reason; the original is never edited", func(t *testing.T) {
			got := must(v.recs.Correct(v.adminA.ctx, rec.ID, 90, "中途离开半小时"))(t)
			if got.ID != rec.ID {
				t.Fatalf("Correct answered record %d, want the original %d", got.ID, rec.ID)
			}
			list := activityRecords(v.records(t, vol.p.ID), act.ID)
			if len(list) != 2 {
				t.Fatalf("%d records, want the original and a correction", len(list))
			}
			orig := v.recordOf(t, vol.p.ID, act.ID, jifen.HowSelf)
			if !sameRecord(orig, rec) {
				t.Fatalf("the original changed: %+v, was %+v", orig, rec)
			}
			correction = v.recordOf(t, vol.p.ID, act.ID, jifen.HowCorrection)
			if correction.Minutes != -30 || correction.Corrects == nil || *correction.Corrects != rec.ID || correction.Reason != "中途离开半小时" ||
				correction.RecordedBy == nil || *correction.RecordedBy != v.adminA.p.ID || correction.VerifiedBy != v.adminA.p.ID {
				t.Fatalf("correction = %+v", correction)
			}
			if h := v.hours(t, vol.p.ID); h.VerifiedMinutes != 90 || h.SelfMinutes != 90 || h.Records != 1 {
				t.Fatalf("hours = %+v, want 90 minutes in one record", h)
			}
			if m := v.msgs(t, vol.ctx, "服务记录已更正"); len(m) != 1 || !strings.Contains(m[0].Body, "中途离开半小时") {
				t.Fatalf("messages %+v", m)
			}
			if !slices.ContainsFunc(v.auditEntries(t, "record.correct"), func(e *jifen.AuditEntry) bool { return e.TargetID == rec.ID }) {
				t.Fatal("the correction is not in the audit log")
			}
		})
		if correction == nil {
			t.Fatal("the steps below need the correction record")
		}
		t.Run("a correction record cannot itself be corrected", func(t *testing.T) {
			_, err := v.recs.Correct(v.adminA.ctx, correction.ID, 10, "再改")
			wantErr(t, err, jifen.KindInvalid, "invalid", "record_id")
		})
		t.Run("a second correction adjusts from the corrected total", func(t *testing.T) {
			must(v.recs.Correct(v.leader.ctx, rec.ID, 100, "核对签到表"))(t)
			if h := v.hours(t, vol.p.ID); h.VerifiedMinutes != 100 {
				t.Fatalf("hours = %+v, want 100 minutes", h)
			}
		})

		var req *jifen.CorrectionRequest
		t.Run("a volunteer asks for their own record to be corrected", func(t *testing.T) {
			req = must(v.recs.RequestCorrection(other.ctx, otherRec.ID, 110, "提前十分钟离开"))(t)
			if req.Status != "pending" || req.Minutes != 120 || req.Wanted != 110 || req.PersonID != other.p.ID || req.RecordID != otherRec.ID {
				t.Fatalf("request = %+v", req)
			}
		})
		requestRefusals := []struct {
			name        string
			by          user
			rec         *jifen.ServiceRecord
			wanted      int
			reason      string
			kind        jifen.Kind
			code, field string
		}{
			{"a second request for the same record waits for the first", other, otherRec, 100, "再申请", jifen.KindConflict, "correction_pending", ""},
			{"nobody asks to correct someone else's record", vol, otherRec, 100, "帮他申请", jifen.KindNotFound, "not_found", ""},
			{"a request needs a reason", vol, rec, 110, "", jifen.KindInvalid, "invalid", "reason"},
			{"a request for negative minutes is invalid", vol, rec, -5, "太多了", jifen.KindInvalid, "invalid", "wanted_minutes"},
			{"a correction record cannot be the subject of a request", vol, correction, 10, "改更正", jifen.KindNotFound, "not_found", ""},
		}
		for _, tc := range requestRefusals {
			t.Run(tc.name, func(t *testing.T) {
				_, err := v.recs.RequestCorrection(tc.by.ctx, tc.rec.ID, tc.wanted, tc.reason)
				wantErr(t, err, tc.kind, tc.code, tc.field)
			})
		}
		pending := func(t *testing.T, u user) bool {
			t.Helper()
			list, err := v.recs.CorrectionRequests(u.ctx, 0)
			if err != nil {
				return false
			}
			return slices.ContainsFunc(list, func(c *jifen.CorrectionRequest) bool { return c.ID == req.ID })
		}
		t.Run("the leaders above see the pending request, another county does not", func(t *testing.T) {
			if !pending(t, v.leader) || !pending(t, v.adminA) || pending(t, v.adminB) {
				t.Fatalf("leader %v, admin A %v, admin B %v", pending(t, v.leader), pending(t, v.adminA), pending(t, v.adminB))
			}
		})
		t.Run("rejecting needs an answer", func(t *testing.T) {
			wantErr(t, v.recs.AnswerCorrection(v.leader.ctx, req.ID, false, " "), jifen.KindInvalid, "invalid", "answer")
		})
		t.Run("another county's admin cannot answer", func(t *testing.T) {
			wantErr(t, v.recs.AnswerCorrection(v.adminB.ctx, req.ID, true, "同意"), jifen.KindNotFound, "not_found", "")
		})
		t.Run("rejecting tells the volunteer why and writes no record", func(t *testing.T) {
			wantErr(t, v.recs.AnswerCorrection(v.leader.ctx, req.ID, false, "签到记录显示全程在场"), "", "", "")
			if m := v.msgs(t, other.ctx, "时长更正申请结果"); len(m) != 1 || !strings.Contains(m[0].Body, "签到记录显示全程在场") {
				t.Fatalf("messages %+v", m)
			}
			if len(activityRecords(v.records(t, other.p.ID), act.ID)) != 1 || v.hours(t, other.p.ID).VerifiedMinutes != 120 || pending(t, v.leader) {
				t.Fatal("a rejected request changed the records or is still pending")
			}
		})
		t.Run("an answered request cannot be answered again", func(t *testing.T) {
			wantErr(t, v.recs.AnswerCorrection(v.adminA.ctx, req.ID, true, "改判"), jifen.KindConflict, "already_answered", "")
		})
		t.Run("accepting writes a correction record and the hours change", func(t *testing.T) {
			again := must(v.recs.RequestCorrection(other.ctx, otherRec.ID, 110, "确实提前十分钟离开"))(t)
			wantErr(t, v.recs.AnswerCorrection(v.leader.ctx, again.ID, true, "核实无误"), "", "", "")
			c := v.recordOf(t, other.p.ID, act.ID, jifen.HowCorrection)
			if c == nil || c.Minutes != -10 || c.Corrects == nil || *c.Corrects != otherRec.ID || !strings.Contains(c.Reason, fmt.Sprint("#", again.ID)) {
				t.Fatalf("correction = %+v", c)
			}
			if h := v.hours(t, other.p.ID); h.VerifiedMinutes != 110 || h.Records != 1 {
				t.Fatalf("hours = %+v", h)
			}
			if m := v.msgs(t, other.ctx, "时长更正申请结果"); len(m) != 2 || !strings.Contains(m[0].Body, "1.8小时") {
				t.Fatalf("messages %+v", m)
			}
		})
		t.Run("a leader cannot answer their own request; the admin above can", func(t *testing.T) {
			own := must(v.recs.RequestCorrection(v.leader.ctx, leaderRec.ID, 100, "我提前走了"))(t)
			wantErr(t, v.recs.AnswerCorrection(v.leader.ctx, own.ID, true, "自己批"), jifen.KindConflict, "self_approval", "")
			if h := v.hours(t, v.leader.p.ID); h.VerifiedMinutes != 120 {
				t.Fatalf("hours after a refused self-approval: %+v", h)
			}
			wantErr(t, v.recs.AnswerCorrection(v.adminA.ctx, own.ID, true, "同意"), "", "", "")
			if h := v.hours(t, v.leader.p.ID); h.VerifiedMinutes != 100 {
				t.Fatalf("hours = %+v, want 100 minutes", h)
			}
		})
		t.Run("accepting a request cannot raise a record beyond its span", func(t *testing.T) {
			_, err := v.recs.RequestCorrection(vol.ctx, rec.ID, 600, "我一直在")
			wantErr(t, err, jifen.KindInvalid, "invalid", "wanted_minutes")
			if h := v.hours(t, vol.p.ID); h.VerifiedMinutes > 120 {
				t.Fatalf("%d verified minutes from a 120-minute record", h.VerifiedMinutes)
			}
		})
		t.Run("correcting a back-filled record keeps self-recorded and back-filled minutes apart", func(t *testing.T) {
			filler := v.member(t, "纯补录", v.villageA)
			bf := v.backfilled(t, v.teamA, time.Hour, filler)
			r := v.recordOf(t, filler.p.ID, bf.ID, jifen.HowBackfilled)
			must(v.recs.Correct(v.adminA.ctx, r.ID, 30, "只来了半小时"))(t)
			if h := v.hours(t, filler.p.ID); h.VerifiedMinutes != 30 || h.BackfillMinutes != 30 || h.SelfMinutes != 0 {
				t.Fatalf("hours = %+v, want 30 back-filled minutes and no self-recorded ones", h)
			}
		})
	})
}

func TestRecordStars(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		star := v.member(t, "星级", v.villageA)
		// Hours come in activities of at most a week each.
		add := func(t *testing.T, hours int, self bool) {
			for hours > 0 {
				h := min(hours, int(jifen.MaxActivityLength/time.Hour))
				if self {
					v.serve(t, v.villageA, time.Duration(h)*time.Hour, star)
				} else {
					v.backfilled(t, v.villageA, time.Duration(h)*time.Hour, star)
				}
				hours -= h
			}
		}
		steps := []struct {
			name        string
			add         int
			self        bool
			stars, next int
		}{
			{"99 self-recorded hours earn no star; the next comes at 100", 99, true, 0, 100},
			{"100 hours make one star (1★)", 1, false, 1, 300},
			{"299 hours are still one star", 199, false, 1, 300},
			{"300 hours make two stars (2★)", 1, false, 2, 600},
			{"600 hours make three stars (3★)", 300, false, 3, 1000},
			{"1000 hours make four stars (4★)", 400, false, 4, 1500},
			{"1500 hours make five stars (5★), the top", 500, false, 5, 0},
		}
		total := 0
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				add(t, s.add, s.self)
				total += s.add
				h := v.hours(t, star.p.ID)
				if h.VerifiedMinutes != total*60 || h.SelfMinutes != 99*60 || h.BackfillMinutes != (total-99)*60 {
					t.Fatalf("hours = %+v after %d hours", h, total)
				}
				if h.Stars != s.stars || h.NextStarHours != s.next || jifen.Stars(h.VerifiedMinutes) != s.stars {
					t.Fatalf("%d hours: %d stars, next at %d; want %d, next at %d", total, h.Stars, h.NextStarHours, s.stars, s.next)
				}
			})
		}
		t.Run("the volunteer reads their own hours", func(t *testing.T) {
			if h := must(v.recs.Hours(star.ctx, star.p.ID))(t); h.Stars != 5 {
				t.Fatalf("hours = %+v", h)
			}
		})
		t.Run("nobody else outside their scope reads them", func(t *testing.T) {
			_, err := v.recs.Hours(v.residentB.ctx, star.p.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			_, err = v.recs.Hours(v.adminB.ctx, star.p.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
	})
}

func TestMoveOrgCarriesActivitiesAndRecords(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		member := v.born(t, "队员", v.teamA, "1990-01-01")
		draft := v.draft(t, v.adminA.ctx, v.input(v.villageA, base.Add(30*24*time.Hour), time.Hour))
		village := v.serve(t, v.villageA, 2*time.Hour, v.resident)
		team := v.serve(t, v.teamA, time.Hour, member)
		elsewhere := v.serve(t, v.townA, time.Hour, v.resident)
		rec := v.recordOf(t, v.resident.p.ID, village.ID, jifen.HowSelf)

		moved := must(v.orgs.MoveOrg(v.super.ctx, v.villageA.ID, v.townB.ID))(t)
		teamPath := moved.Path + fmt.Sprint(v.teamA.ID) + "/"
		orgRecords := func(t *testing.T, u user, orgID int64) []*jifen.ServiceRecord {
			t.Helper()
			list, _ := must2(v.recs.Records(u.ctx, jifen.RecordFilter{OrgID: orgID, PerPage: 200}))(t)
			return list
		}
		has := func(list []*jifen.ServiceRecord, activityID int64) bool {
			return len(activityRecords(list, activityID)) > 0
		}
		t.Run("the activities' org paths follow the org and its subtree", func(t *testing.T) {
			for id, want := range map[int64]string{draft.ID: moved.Path, village.ID: moved.Path, team.ID: teamPath} {
				if a := v.activity(t, id); a.OrgPath != want {
					t.Fatalf("activity %d path %s, want %s", id, a.OrgPath, want)
				}
			}
			if a := v.activity(t, elsewhere.ID); a.OrgPath != v.townA.Path {
				t.Fatalf("an activity outside the moved subtree has path %s", a.OrgPath)
			}
		})
		t.Run("an admin of the new parent sees the draft, the old county's admin does not", func(t *testing.T) {
			must(v.acts.Activity(v.adminB.ctx, draft.ID))(t)
			if !v.listed(t, v.adminB.ctx, jifen.ActivityFilter{Status: jifen.ActivityDraft}, draft.ID) {
				t.Fatal("county B's admin does not list the moved draft")
			}
			_, err := v.acts.Activity(v.adminA.ctx, draft.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("an admin of the new parent lists the records of the moved subtree", func(t *testing.T) {
			list := orgRecords(t, v.adminB, v.countyB.ID)
			if !has(list, village.ID) || !has(list, team.ID) || has(list, elsewhere.ID) {
				t.Fatalf("county B lists %d records", len(list))
			}
			list = orgRecords(t, v.adminA, v.countyA.ID)
			if has(list, village.ID) || has(list, team.ID) || !has(list, elsewhere.ID) {
				t.Fatalf("county A still lists moved records (%d)", len(list))
			}
		})
		t.Run("an admin of the new parent may correct a moved record, the old county's may not", func(t *testing.T) {
			_, err := v.recs.Correct(v.adminA.ctx, rec.ID, 100, "迁移后更正")
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			must(v.recs.Correct(v.adminB.ctx, rec.ID, 100, "迁移后更正"))(t)
		})
		t.Run("an admin of the new parent may run the moved activities", func(t *testing.T) {
			wantErr(t, v.acts.Publish(v.adminB.ctx, draft.ID), "", "", "")
		})
	})
}
