package sqldb_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// Rules of volunteer time an outside review found unguarded (2026-11-30),
// each checked on both databases.

// A person's verified minutes for one activity must never exceed the
// activity's length (STANDARDS: back-filled hours are capped at the
// activity's length). Correcting the back-filled record up to its own
// span double-counts the time the self-recorded record already covers.
func TestCorrectionStaysWithinTheActivity(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		vol := v.born(t, "志愿者", v.teamA, "1990-01-01")
		start := v.now().Truncate(time.Minute).Add(time.Hour)
		act := v.published(t, v.input(v.teamA, start, 3*time.Hour)) // 180 minutes
		v.signUp(t, vol, act, jifen.SignupConfirmed)
		v.checkIn(t, vol, act, start)
		v.checkOut(t, vol, act, start.Add(time.Hour)) // 60 self minutes
		v.clock.Set(act.EndsAt.Add(time.Minute))
		// The leader back-fills the whole activity from the paper sheet.
		must(v.acts.Backfill(v.adminA.ctx, act.ID, vol.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)
		must(v.acts.Verify(v.adminA.ctx, act.ID))(t)
		if h := v.hours(t, vol.p.ID); h.VerifiedMinutes != 180 {
			t.Fatalf("after verify: %d minutes, want 180", h.VerifiedMinutes)
		}
		back := v.recordOf(t, vol.p.ID, act.ID, jifen.HowBackfilled) // 120 minutes, spanning 180
		_, err := v.recs.Correct(v.adminA.ctx, back.ID, 180, "按签到表全程")
		wantErr(t, err, jifen.KindInvalid, "invalid", "minutes")
		_, err = v.recs.RequestCorrection(vol.ctx, back.ID, 150, "按签到表全程")
		wantErr(t, err, jifen.KindInvalid, "invalid", "wanted_minutes")
		// Within what the activity leaves, a correction goes through.
		must(v.recs.Correct(v.adminA.ctx, back.ID, 100, "签到表核对后减少"))(t)
		if h := v.hours(t, vol.p.ID); h.VerifiedMinutes != 160 {
			t.Fatalf("after correcting to 100: %d verified minutes, want 160", h.VerifiedMinutes)
		}
	})
}

// Erasing a person (PIPL) frees their places at activities to come: the
// first on the waitlist moves up.
func TestErasingAPersonFreesTheirPlaces(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		a := v.member(t, "甲", v.villageA)
		b := v.member(t, "乙", v.villageA)
		in := v.input(v.villageA, base.Add(24*time.Hour), time.Hour)
		in.Capacity = 1
		act := v.published(t, in)
		v.signUp(t, a, act, jifen.SignupConfirmed)
		v.signUp(t, b, act, jifen.SignupWaitlisted)
		if err := v.people.ErasePerson(v.adminA.ctx, a.p.ID, "本人书面申请"); err != nil {
			t.Fatal(err)
		}
		got := v.activity(t, act.ID)
		s := v.signupOf(t, act.ID, b.p.ID)
		if got.Confirmed != 1 || got.Waitlisted != 0 || s == nil || s.Status != jifen.SignupConfirmed {
			t.Fatalf("after erasing the confirmed person: confirmed=%d, the waitlisted person holds %+v", got.Confirmed, s)
		}
		// Check-in opens before the start: someone already on site keeps
		// their place (and their time), as cancelling would refuse.
		early := v.member(t, "丙", v.villageA)
		soon := v.published(t, v.input(v.villageA, v.now().Add(20*time.Minute), time.Hour))
		v.signUp(t, early, soon, jifen.SignupConfirmed)
		v.checkIn(t, early, soon, v.now())
		if err := v.people.ErasePerson(v.adminA.ctx, early.p.ID, "本人书面申请"); err != nil {
			t.Fatal(err)
		}
		if s := v.signupOf(t, soon.ID, early.p.ID); s == nil || s.Status != jifen.SignupConfirmed || v.activity(t, soon.ID).Confirmed != 1 {
			t.Fatalf("an erased person already checked in lost their place: %+v", s)
		}
	})
}

// A finished (not yet verified) activity's end cannot move: it would turn
// a forgotten check-out into days of self-recorded (信用) hours.
func TestActivityTimesFixedOnceUnderWay(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		vol := v.born(t, "志愿者", v.teamA, "1990-01-01")
		start := v.now().Truncate(time.Minute).Add(time.Hour)
		in := v.input(v.teamA, start, 2*time.Hour)
		act := v.published(t, in)
		v.signUp(t, vol, act, jifen.SignupConfirmed)
		v.checkIn(t, vol, act, start) // forgets to check out
		// Under way, the end may move, but not to a time already past.
		v.clock.Set(start.Add(time.Hour))
		in.EndsAt = start.Add(30 * time.Minute)
		_, err := v.acts.UpdateActivity(v.leader.ctx, act.ID, in)
		wantErr(t, err, jifen.KindInvalid, "invalid", "ends_at")
		in.EndsAt = start.Add(3 * time.Hour)
		must(v.acts.UpdateActivity(v.leader.ctx, act.ID, in))(t)
		act = v.activity(t, act.ID)
		v.clock.Set(act.EndsAt.Add(3 * time.Hour))
		in.EndsAt = start.Add(6 * 24 * time.Hour)
		_, err = v.acts.UpdateActivity(v.leader.ctx, act.ID, in)
		wantErr(t, err, jifen.KindConflict, "activity_ended", "")
		in.EndsAt = act.EndsAt
		in.StartsAt = start.Add(-time.Hour)
		_, err = v.acts.UpdateActivity(v.leader.ctx, act.ID, in)
		wantErr(t, err, jifen.KindConflict, "activity_started", "")
		in.StartsAt = start.Add(30 * time.Second) // the same minute, as the form sends it
		in.Title = "改个名字"
		must(v.acts.UpdateActivity(v.leader.ctx, act.ID, in))(t) // the rest may still change
		in.StartsAt = start
		// A draft nobody could sign up for is rescheduled freely, even
		// after the date it first had.
		din := v.input(v.teamA, start, time.Hour)
		d := v.draft(t, v.leader.ctx, din)
		din.StartsAt, din.EndsAt = v.now().Add(24*time.Hour), v.now().Add(25*time.Hour)
		must(v.acts.UpdateActivity(v.leader.ctx, d.ID, din))(t)
	})
}

// One pending correction request per record: concurrent requests each
// pass the COUNT check before any of them inserts (PostgreSQL). The first
// rounds warm the connection pool so the requests really overlap.
func TestOnePendingCorrectionRequestPerRecord(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		var vols []user
		for i := range 6 {
			vols = append(vols, v.born(t, fmt.Sprintf("志愿者%d", i), v.teamA, "1990-01-01"))
		}
		act := v.serve(t, v.teamA, 2*time.Hour, vols...)
		worst := 0
		for _, vol := range vols {
			rec := v.recordOf(t, vol.p.ID, act.ID, jifen.HowSelf)
			ok := race(t, 8, "correction_pending", func(i int) error {
				_, err := v.recs.RequestCorrection(vol.ctx, rec.ID, 100+i, fmt.Sprintf("少记了%d", i))
				return err
			})
			worst = max(worst, ok)
		}
		if worst != 1 {
			t.Fatalf("up to %d pending correction requests accepted for one record, want 1", worst)
		}
	})
}

// One pending transfer per person: concurrent requests all pass the COUNT
// check (PostgreSQL), leaving several pending transfers.
func TestOnePendingTransferPerPerson(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		targets := []*jifen.Org{v.villageB, v.townB, v.countyB, v.townA, v.countyA, v.root}
		worst := 0
		for i := range 6 {
			u := v.member(t, fmt.Sprintf("居民%d", i), v.villageA)
			ok := race(t, len(targets), "transfer_pending", func(i int) error {
				_, err := v.moves.RequestTransfer(u.ctx, u.p.ID, targets[i].ID, "搬家")
				return err
			})
			worst = max(worst, ok)
		}
		if worst != 1 {
			t.Fatalf("up to %d pending transfers accepted for one person, want 1", worst)
		}
	})
}

// race runs fn(0…n-1) at once and counts the successes; every failure
// must be the conflict named.
func race(t *testing.T, n int, conflict string, fn func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if jifen.ErrorCode(err) != conflict {
			t.Errorf("a racing request failed with %v, want %s", err, conflict)
		}
	}
	return ok
}

// The message at verification says 1.3 hours for 75 minutes, as the
// certificate and every page do (HoursText, 四舍五入; %.1f said 1.2).
func TestVerifyMessageRoundsAsTheCertificate(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		vol := v.born(t, "志愿者", v.teamA, "1990-01-01")
		v.serve(t, v.teamA, 75*time.Minute, vol)
		m := v.msgs(t, vol.ctx, "服务时长已核验")
		if len(m) != 1 {
			t.Fatalf("%d messages", len(m))
		}
		want := jifen.HoursText(75)
		if !strings.Contains(m[0].Body, want+"小时") {
			t.Fatalf("message %q, want %s小时 as on the certificate", m[0].Body, want)
		}
	})
}

// A leader cannot scan their own volunteer number (no code, no location):
// Backfill and TrimAttendance refuse the same person as self_approval too.
func TestLeaderCannotScanThemselves(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		start := v.now().Truncate(time.Minute).Add(time.Hour)
		act := v.published(t, v.input(v.teamA, start, 2*time.Hour))
		v.clock.Set(start)
		_, err := v.acts.ScanIn(v.leader.ctx, act.ID, v.leader.p.VolunteerNo)
		wantErr(t, err, jifen.KindConflict, "self_approval", "")
		_, err = v.acts.ScanOut(v.leader.ctx, act.ID, v.leader.p.VolunteerNo)
		wantErr(t, err, jifen.KindConflict, "self_approval", "")
	})
}

// Hours are time actually served: checking in at a second activity ends
// the person's time at the first, so no hour counts twice.
func TestCheckingInElsewhereLeaves(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		vol := v.born(t, "志愿者", v.teamA, "1990-01-01")
		start := v.now().Truncate(time.Minute).Add(time.Hour)
		a1 := v.published(t, v.input(v.teamA, start, 2*time.Hour))
		a2 := v.published(t, v.input(v.villageA, start, 2*time.Hour))
		v.signUp(t, vol, a1, jifen.SignupConfirmed)
		v.signUp(t, vol, a2, jifen.SignupConfirmed)
		v.checkIn(t, vol, a1, start)
		v.clock.Set(start.Add(30 * time.Minute))
		must(v.acts.CheckIn(vol.ctx, a2.ID, v.code(t, a2), nil, nil))(t)
		_, err := v.acts.CheckOut(vol.ctx, a1.ID, v.code(t, a1), nil, nil)
		wantErr(t, err, jifen.KindConflict, "not_checked_in", "")
		v.checkOut(t, vol, a2, a2.EndsAt)
		v.clock.Set(a1.EndsAt.Add(time.Minute))
		must(v.acts.Verify(v.adminA.ctx, a1.ID))(t)
		must(v.acts.Verify(v.adminA.ctx, a2.ID))(t)
		if h := v.hours(t, vol.p.ID); h.VerifiedMinutes != 120 {
			t.Fatalf("30 minutes at one activity, then 90 at another: %d minutes, want 120", h.VerifiedMinutes)
		}
	})
}

// Two check-ins by one person at two running activities at the same
// instant: each closes the other's open interval before it writes its own,
// so without one lock per person both could stay open (PostgreSQL).
func TestRacingCheckInsLeaveOneOpen(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		vol := v.born(t, "志愿者", v.teamA, "1990-01-01")
		start := v.now().Truncate(time.Minute).Add(time.Hour)
		acts := []*jifen.Activity{
			v.published(t, v.input(v.teamA, start, 2*time.Hour)),
			v.published(t, v.input(v.villageA, start, 2*time.Hour)),
		}
		for _, a := range acts {
			v.signUp(t, vol, a, jifen.SignupConfirmed)
		}
		v.clock.Set(start)
		codes := make([]string, len(acts))
		for i, a := range acts {
			codes[i] = v.code(t, a)
		}
		for round := range 20 {
			race(t, 2, "already_checked_in", func(i int) error {
				_, err := v.acts.CheckIn(vol.ctx, acts[i].ID, codes[i], nil, nil)
				return err
			})
			open := 0
			for _, a := range acts {
				for _, att := range must(v.acts.Attendance(v.adminA.ctx, a.ID))(t) {
					if att.PersonID == vol.p.ID && att.EndedAt == nil {
						open++
					}
				}
			}
			if open != 1 {
				t.Fatalf("round %d: %d intervals open after checking in at two places at once, want 1", round, open)
			}
			for i, a := range acts {
				if _, err := v.acts.CheckOut(vol.ctx, a.ID, codes[i], nil, nil); err != nil && jifen.ErrorCode(err) != "not_checked_in" {
					t.Fatal(err)
				}
			}
		}
	})
}

// Two organisers back-fill one person's time: the record keeps the first
// as who entered it, and its reason names each beside what they entered
// (STANDARDS: back-filled hours always name who entered them).
func TestBackfillByTwoOrganisersNamesBoth(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		vol := v.born(t, "志愿者", v.teamA, "1990-01-01")
		start := v.now().Truncate(time.Minute).Add(time.Hour)
		act := v.published(t, v.input(v.teamA, start, 4*time.Hour))
		v.clock.Set(act.EndsAt.Add(time.Minute))
		must(v.acts.Backfill(v.leader.ctx, act.ID, vol.p.ID, start, start.Add(3*time.Hour), "上午签到表"))(t)
		must(v.acts.Backfill(v.adminA.ctx, act.ID, vol.p.ID, start.Add(3*time.Hour), act.EndsAt, "下午签到表"))(t)
		must(v.acts.Verify(v.adminA.ctx, act.ID))(t)
		r := v.recordOf(t, vol.p.ID, act.ID, jifen.HowBackfilled)
		want := "上午签到表（" + v.leader.p.Name + "录入）；下午签到表（" + v.adminA.p.Name + "录入）"
		if r.Minutes != 240 || r.Reason != want || deref(r.RecordedBy) != v.leader.p.ID {
			t.Fatalf("record of %d minutes, reason %q, recorded_by %v; want 240, %q, %d", r.Minutes, r.Reason, deref(r.RecordedBy), want, v.leader.p.ID)
		}
	})
}
