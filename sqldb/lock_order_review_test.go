package sqldb_test

import (
	"testing"
	"time"

	"jifen"
)

// TestBulkMoveBesideAVerificationOfItsSecondPerson: a bulk move takes each
// person's row and then their report rows (rehome: report_stars) one person
// after another, so by its second person it holds the first one's star
// rows while it waits for the second's row. A verification takes its
// people's rows first (lockBeneficiaries) and then their report rows: the
// second person's star at the same village. Each holds what the other
// waits for; PostgreSQL aborts one (40P01) and retryTx runs it again.
func TestBulkMoveBesideAVerificationOfItsSecondPerson(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		p1 := p.member(t, "甲", p.villageA) // one star, moved first
		p2 := p.member(t, "乙", p.villageA) // 96 hours, earns a star in the verification
		p.backfillAt(t, p.villageA, 12*time.Hour, 0, p1)
		for day := 1; day <= 8; day++ {
			p.backfillAt(t, p.villageA, 12*time.Hour, 0, p1, p2)
			p.clock.Advance(24 * time.Hour)
		}
		start := p.now().Truncate(time.Minute).Add(time.Hour)
		act := p.published(t, p.input(p.villageA, start, 12*time.Hour))
		p.clock.Set(act.EndsAt.Add(time.Minute))
		must(p.acts.Backfill(p.super.ctx, act.ID, p2.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)

		// The verification holds p2's row and waits for p2's report row,
		// held here; the move moves p1 (their one-star row at village A)
		// and waits for p2's row.
		hold := holdRows(t, p.raw, "SELECT person_id FROM report_people WHERE person_id = $1 FOR UPDATE", p2.p.ID)
		verr, merr, n := raceBehind(t, p, hold,
			func() error { _, err := p.acts.Verify(p.super.ctx, act.ID); return err },
			func() error {
				_, err := p.moves.BulkMove(p.super.ctx, []int64{p1.p.ID, p2.p.ID}, p.villageB.ID, "行政村调整")
				return err
			})
		if verr != nil || merr != nil {
			t.Errorf("verify: %v; move: %v", verr, merr)
		}
		wantNoRetry(t, n, "a bulk move beside a verification")
	})
}

// TestTwoVerificationsCrossingStarsInTwoVillages: a verification moves
// each volunteer's star as it reaches them, in person order, at their
// home org: one with a volunteer of village A before one of village B
// takes (A, 1) then (B, 1); one with the other way round (B's volunteer
// has the smaller id) takes (B, 1) then (A, 1). moveStar orders the two
// rows of one move, not the rows of a whole write.
func TestTwoVerificationsCrossingStarsInTwoVillages(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		a1 := p.member(t, "甲", p.villageA)
		b1 := p.member(t, "乙", p.villageB)
		b2 := p.member(t, "丙", p.villageB)
		a2 := p.member(t, "丁", p.villageA)
		for day := 1; day <= 8; day++ { // 96 hours each
			p.backfillAt(t, p.villageA, 12*time.Hour, 0, a1, b1, b2, a2)
			p.clock.Advance(24 * time.Hour)
		}
		start := p.now().Truncate(time.Minute).Add(time.Hour)
		first := p.published(t, p.input(p.villageA, start, 12*time.Hour))
		second := p.published(t, p.input(p.villageA, start, 12*time.Hour))
		p.clock.Set(first.EndsAt.Add(time.Minute))
		for _, x := range []struct {
			act int64
			who user
		}{{first.ID, a1}, {first.ID, b2}, {second.ID, b1}, {second.ID, a2}} {
			must(p.acts.Backfill(p.super.ctx, x.act, x.who.p.ID, first.StartsAt, first.EndsAt, "纸质签到表补录"))(t)
		}

		// The first verification takes (A, 1) for a1 and waits for b2's
		// report row; the second takes (B, 1) for b1 and waits for (A, 1).
		hold := holdRows(t, p.raw, "SELECT person_id FROM report_people WHERE person_id = $1 FOR UPDATE", b2.p.ID)
		e1, e2, n := raceBehind(t, p, hold,
			func() error { _, err := p.acts.Verify(p.super.ctx, first.ID); return err },
			func() error { _, err := p.acts.Verify(p.super.ctx, second.ID); return err })
		if e1 != nil || e2 != nil {
			t.Errorf("first verify: %v; second verify: %v", e1, e2)
		}
		wantNoRetry(t, n, "two verifications crossing star rows")
	})
}

// TestErasureBesideCancellingAnActivityTheyJoined: an erasure now takes the
// person's row FOR UPDATE first, which also waits for every foreign key
// check naming them (KEY SHARE), and then the activities they signed up
// for (releasePlaces). Cancelling such an activity holds the activity's
// row and at its end writes a message to everyone signed up, whose
// foreign key waits for the erasure: a circle that the UPDATE's own lock
// (FOR NO KEY UPDATE) did not make. PostgreSQL.
func TestErasureBesideCancellingAnActivityTheyJoined(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		z := p.member(t, "先报名", p.villageA)
		x := p.member(t, "冯秀珍", p.villageA)
		act := p.published(t, p.input(p.villageA, p.now().Add(48*time.Hour), 2*time.Hour))
		must(p.acts.SignUp(p.super.ctx, act.ID, x.p.ID))(t)
		must(p.acts.SignUp(p.super.ctx, act.ID, z.p.ID))(t)

		// The cancellation holds the activity and waits at its end for
		// z's row (its message's foreign key), held here, before x's.
		// The erasure takes x's row and waits for the activity.
		hold := holdRows(t, p.raw, "SELECT id FROM people WHERE id = $1 FOR UPDATE", z.p.ID)
		cerr, eerr, n := raceBehind(t, p, hold,
			func() error { return p.acts.Cancel(p.super.ctx, act.ID, "天气原因") },
			func() error { return p.people.ErasePerson(p.adminA.ctx, x.p.ID, "本人书面申请") })
		if cerr != nil || eerr != nil {
			t.Errorf("cancel: %v; erase: %v", cerr, eerr)
		}
		wantNoRetry(t, n, "an erasure beside cancelling an activity the person joined")
		if n := p.one(t, "SELECT COUNT(*) FROM messages WHERE person_id = ?", x.p.ID); n > 0 {
			t.Errorf("%d messages kept for the erased person", n)
		}
	})
}

// TestBulkMoveInListOrderBesideAVerification: a bulk move takes its
// people's rows in the order it was given them (the page's order), a
// verification (lockBeneficiaries) in id order since this change: a move
// of [p2, p1] and a verification of p1 and p2 each hold one and wait for
// the other. Before the change a verification took no person's row (this
// test passes at 8a62f9f^). The people import (ImportPeople: an UPDATE
// per row, in file order) has the same shape. PostgreSQL.
func TestBulkMoveInListOrderBesideAVerification(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		p1 := p.member(t, "甲", p.villageA)
		p2 := p.member(t, "乙", p.villageA)
		p.backfillAt(t, p.villageA, 2*time.Hour, 0, p2) // p2's report row
		start := p.now().Truncate(time.Minute).Add(time.Hour)
		act := p.published(t, p.input(p.villageA, start, 2*time.Hour))
		p.clock.Set(act.EndsAt.Add(time.Minute))
		for _, u := range []user{p1, p2} {
			must(p.acts.Backfill(p.super.ctx, act.ID, u.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)
		}

		// The move takes p2's row and waits for p2's report row, held here.
		// The verification takes p1's row and waits for p2's.
		hold := holdRows(t, p.raw, "SELECT person_id FROM report_people WHERE person_id = $1 FOR UPDATE", p2.p.ID)
		merr, verr, n := raceBehind(t, p, hold,
			func() error {
				_, err := p.moves.BulkMove(p.super.ctx, []int64{p2.p.ID, p1.p.ID}, p.villageB.ID, "行政村调整")
				return err
			},
			func() error { _, err := p.acts.Verify(p.super.ctx, act.ID); return err })
		if merr != nil || verr != nil {
			t.Errorf("move: %v; verify: %v", merr, verr)
		}
		wantNoRetry(t, n, "a bulk move of [p2, p1] beside a verification of p1 and p2")
	})
}

// TestPeopleImportBesideAVerification: a people import updates its rows
// in the file's order (and rehomes each); a verification locks its
// people in id order (new in 8a62f9f): re-importing a village's roster
// [p2, p1] beside verifying p1's and p2's hours deadlocks. PostgreSQL.
func TestPeopleImportBesideAVerification(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		p1 := p.user(t, "甲", p.villageA, nil, "")
		p2 := p.user(t, "乙", p.villageA, nil, "")
		p.backfillAt(t, p.villageA, 2*time.Hour, 0, p2) // p2's report row
		start := p.now().Truncate(time.Minute).Add(time.Hour)
		act := p.published(t, p.input(p.villageA, start, 2*time.Hour))
		p.clock.Set(act.EndsAt.Add(time.Minute))
		for _, u := range []user{p1, p2} {
			must(p.acts.Backfill(p.super.ctx, act.ID, u.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)
		}
		row := func(u user) jifen.PersonInput {
			return jifen.PersonInput{Name: u.p.Name, Gender: u.p.Gender, BirthDate: u.p.BirthDate, Phone: u.phone, PoliticalStatus: u.p.PoliticalStatus, OrgID: p.villageA.ID}
		}

		hold := holdRows(t, p.raw, "SELECT person_id FROM report_people WHERE person_id = $1 FOR UPDATE", p2.p.ID)
		ierr, verr, n := raceBehind(t, p, hold,
			func() error {
				_, err := p.people.ImportPeople(p.adminA.ctx, p.villageA.ID, []jifen.PersonInput{row(p2), row(p1)})
				return err
			},
			func() error { _, err := p.acts.Verify(p.super.ctx, act.ID); return err })
		if ierr != nil || verr != nil {
			t.Errorf("import: %v; verify: %v", ierr, verr)
		}
		wantNoRetry(t, n, "a people import [p2, p1] beside a verification of p1 and p2")
	})
}
