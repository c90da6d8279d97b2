package sqldb_test

import (
	"testing"
	"time"

	"jifen"
)

// TestSignUpOfSomeoneErased: nobody signs an erased person up, and the
// answer says why.
func TestSignUpOfSomeoneErased(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		x := p.member(t, "冯秀珍", p.villageA)
		act := p.published(t, p.input(p.villageA, p.now().Add(48*time.Hour), 2*time.Hour))
		must(0, p.people.ErasePerson(p.adminA.ctx, x.p.ID, "本人书面申请"))(t)
		_, err := p.acts.SignUp(p.super.ctx, act.ID, x.p.ID)
		wantErr(t, err, jifen.KindConflict, "person_erased", "")
	})
}

// TestSignUpDuringAnErasure: a sign-up read the person's status without a
// lock, so one that read them active while their erasure was under way
// inserted its place once the erasure committed (its foreign key waited
// for the erasure's lock and then found the row), after the erasure had
// given up the person's places: a place held by someone erased. The
// status is now read under a key share, which waits for the erasure and
// then sees it. PostgreSQL; SQLite's one writer runs each whole.
func TestSignUpDuringAnErasure(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		x := p.member(t, "冯秀珍", p.villageA)
		act := p.published(t, p.input(p.villageA, p.now().Add(48*time.Hour), 2*time.Hour))
		// The erasure as far as its lock on the person and their new status.
		hold := holdRows(t, p.raw, "SELECT id FROM people WHERE id = $1 FOR UPDATE", x.p.ID)
		if _, err := hold.Exec("UPDATE people SET status = 'erased' WHERE id = $1", x.p.ID); err != nil {
			hold.Rollback()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := p.acts.SignUp(x.ctx, act.ID, x.p.ID)
			done <- err
		}()
		ptsWaitersOrDone(t, p, 1, done)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; jifen.ErrorCode(err) != "person_erased" {
			t.Errorf("the sign-up answered %v, want person_erased", err)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM signups WHERE person_id = ?", x.p.ID); n != 0 {
			t.Errorf("%d places taken for someone erased", n)
		}
	})
}
