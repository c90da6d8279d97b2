package sqldb_test

import (
	"testing"
	"time"

	"jifen"
)

// TestNoApprovalForSomeoneErased: a claim filed before its claimant's
// erasure stayed pending, and approving it afterwards posted it: points
// and a message to the erased person. The erasure now closes it.
func TestNoApprovalForSomeoneErased(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 20))
		me := p.resident
		aw := must(p.give(me.ctx, me.p.ID, r))(t)
		if aw.Status != jifen.AwardPending {
			t.Fatalf("claim is %s", aw.Status)
		}
		must(0, p.people.ErasePerson(p.adminA.ctx, me.p.ID, "本人书面申请"))(t)
		if got := must(p.pts.GetAward(p.reviewer.ctx, aw.ID))(t); got.Status != jifen.AwardRejected {
			t.Errorf("an erased person's claim is %s after the erasure, want rejected", got.Status)
		}
		_, err := p.pts.Approve(p.reviewer.ctx, aw.ID)
		if code := jifen.ErrorCode(err); code != "already_decided" && code != "person_erased" {
			t.Errorf("approving an erased person's claim: %v, want it refused", err)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM awards WHERE person_id = ? AND status = 'posted'", me.p.ID); n > 0 {
			t.Errorf("%d awards posted to the erased person", n)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM messages WHERE person_id = ?", me.p.ID); n > 0 {
			t.Errorf("%d messages for the erased person", n)
		}
	})
}

// TestVerifyingAnErasedPersonsHoursEarnsWithoutAMessage: hours served
// before an erasure still earn when verified after it (by design), but
// the verification wrote them a message ("服务时长已核验"), which the
// erasure had deleted and nobody can read.
func TestVerifyingAnErasedPersonsHoursEarnsWithoutAMessage(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.BackfillEarns = true })
		x := p.member(t, "冯秀珍", p.villageA)
		start := p.now().Truncate(time.Minute).Add(time.Hour)
		in := p.input(p.villageA, start, 2*time.Hour)
		in.PointsPerHour = 10
		act := p.published(t, in)
		p.clock.Set(act.EndsAt.Add(time.Minute))
		must(p.acts.Backfill(p.super.ctx, act.ID, x.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)
		must(0, p.people.ErasePerson(p.adminA.ctx, x.p.ID, "本人书面申请"))(t)
		must(p.acts.Verify(p.super.ctx, act.ID))(t)
		if n := p.one(t, "SELECT COUNT(*) FROM awards WHERE person_id = ? AND status = 'posted'", x.p.ID); n != 1 {
			t.Errorf("%d service awards for the erased person's verified hours, want 1", n)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM messages WHERE person_id = ?", x.p.ID); n > 0 {
			t.Errorf("%d messages for the erased person", n)
		}
	})
}

// TestAGroupWithAnErasedPersonsAwardPostsTheOthers: SQLite groups every
// write: an erasure, an award decided before it for the erased person and
// another person's award share a group; the group's end refuses the first
// award, the group runs again alone, and the other award still posts.
func TestAGroupWithAnErasedPersonsAwardPostsTheOthers(t *testing.T) {
	sqlitePoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		x := p.member(t, "冯秀珍", p.villageA)
		y := p.member(t, "另一人", p.villageA)
		p.posted(t, p.adminA.ctx, x.p.ID, r)
		p.posted(t, p.adminA.ctx, y.p.ID, r)
		hold, erased := eraseFirstAtTheWriter(t, p, x)
		ax := awardLater(p, p.adminA.ctx, jifen.AwardInput{PersonID: x.p.ID, RuleID: r.ID, Key: "x-after"})
		ay := awardLater(p, p.adminA.ctx, jifen.AwardInput{PersonID: y.p.ID, RuleID: r.ID, Key: "y-after"})
		awaitQueued(t, p, hold, 2)
		if err := <-erased; err != nil {
			t.Fatalf("erase: %v", err)
		}
		if err := <-ax; jifen.ErrorCode(err) != "person_erased" {
			t.Errorf("award to the erased person: %v", err)
		}
		if err := <-ay; err != nil {
			t.Errorf("the other award in the group: %v", err)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM awards WHERE person_id = ? AND status = 'posted'", y.p.ID); n != 2 {
			t.Errorf("%d awards posted to the other person, want 2", n)
		}
	})
}

// TestNoMessagesToTheErasedFromMovesAndCorrections: after an erasure a
// bulk move of the person and a correction of their record each wrote
// them a message (the stress run found hundreds), which the erasure
// deleted and nobody can read; the move's message to the old village's
// admins names them as "已注销".
func TestNoMessagesToTheErasedFromMovesAndCorrections(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		x := p.member(t, "冯秀珍", p.villageA)
		p.backfillAt(t, p.villageA, 2*time.Hour, 0, x)
		rec := p.one(t, "SELECT id FROM service_records WHERE person_id = ?", x.p.ID)
		must(0, p.people.ErasePerson(p.adminA.ctx, x.p.ID, "本人书面申请"))(t)
		must(p.moves.BulkMove(p.super.ctx, []int64{x.p.ID}, p.villageB.ID, "行政村调整"))(t)
		must(p.recs.Correct(p.super.ctx, rec, 60, "核对"))(t)
		if n := p.one(t, "SELECT COUNT(*) FROM messages WHERE person_id = ?", x.p.ID); n > 0 {
			t.Errorf("%d messages for the erased person", n)
		}
	})
}

// TestErasedMemberLeavesHouseholdAndListAwardsStanding: the erasure check
// refuses awards to the erased person only: an award to their household,
// a list naming others and their household, and an award group sharing
// a moment with the refused award still post. Holds.
func TestErasedMemberLeavesHouseholdAndListAwardsStanding(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		head := p.member(t, "户主", p.villageA)
		x := p.member(t, "冯秀珍", p.villageA)
		y := p.member(t, "另一人", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: head.p.ID, MemberIDs: []int64{x.p.ID}}))(t)
		p.posted(t, p.adminA.ctx, x.p.ID, r)
		must(0, p.people.ErasePerson(p.adminA.ctx, x.p.ID, "本人书面申请"))(t)
		if _, err := p.pts.Award(p.adminA.ctx, jifen.AwardInput{HouseholdID: h.ID, RuleID: r.ID, Key: p.key()}); err != nil {
			t.Errorf("household award: %v", err)
		}
		if _, err := p.pts.AwardBulk(p.adminA.ctx, p.key(), []jifen.AwardInput{{PersonID: y.p.ID, RuleID: r.ID}, {HouseholdID: h.ID, RuleID: r.ID}, {PersonID: head.p.ID, RuleID: r.ID}}); err != nil {
			t.Errorf("list: %v", err)
		}
		_, err := p.pts.AwardBulk(p.adminA.ctx, p.key(), []jifen.AwardInput{{PersonID: y.p.ID, RuleID: r.ID}, {PersonID: x.p.ID, RuleID: r.ID}})
		if jifen.ErrorCode(err) != "person_erased" {
			t.Errorf("list naming the erased person: %v", err)
		}
		p.verify(t)
	})
}

// TestAnAwardGroupWithAnErasedPersonsAwardPostsTheOthers: PostgreSQL's
// award groups: two groups wait at their ends (their accounts held), so
// awards for x and z queue for a third; x is erased meanwhile. The third
// group's end refuses x's award, runs again alone, and z's posts. Holds.
func TestAnAwardGroupWithAnErasedPersonsAwardPostsTheOthers(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		w1 := p.member(t, "甲", p.villageA)
		w2 := p.member(t, "乙", p.villageA)
		x := p.member(t, "冯秀珍", p.villageA)
		z := p.member(t, "丙", p.villageA)
		for _, u := range []user{w1, w2, x, z} {
			p.posted(t, p.adminA.ctx, u.p.ID, r)
		}
		acct := func(u user) int64 { return p.one(t, "SELECT account_id FROM awards WHERE person_id = ?", u.p.ID) }
		hold := holdRows(t, p.raw, "SELECT id FROM accounts WHERE id IN ($1, $2) FOR UPDATE", acct(w1), acct(w2))
		give := func(u user, key string) chan error {
			c := make(chan error, 1)
			go func() {
				_, err := p.pts.Award(p.adminA.ctx, jifen.AwardInput{PersonID: u.p.ID, RuleID: r.ID, Key: key})
				c <- err
			}()
			return c
		}
		e1 := give(w1, "g1")
		ptsLockWaiters(t, p, 1)
		e2 := give(w2, "g2")
		ptsLockWaiters(t, p, 2)
		ex, ez := give(x, "gx"), give(z, "gz")
		for i := 0; p.db.AwardQueued() < 2; i++ {
			if i > 250 {
				hold.Rollback()
				t.Fatal("the awards never queued for a group")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := p.people.ErasePerson(p.adminA.ctx, x.p.ID, "本人书面申请"); err != nil {
			hold.Rollback()
			t.Fatalf("erase: %v", err)
		}
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, e := range []chan error{e1, e2, ez} {
			if err := <-e; err != nil {
				t.Errorf("award: %v", err)
			}
		}
		if err := <-ex; jifen.ErrorCode(err) != "person_erased" {
			t.Errorf("award to the erased person: %v, want person_erased", err)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM awards WHERE person_id = ? AND status = 'posted'", z.p.ID); n != 2 {
			t.Errorf("%d awards posted to z, want 2", n)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM messages WHERE person_id = ?", x.p.ID); n > 0 {
			t.Errorf("%d messages for the erased person", n)
		}
	})
}
