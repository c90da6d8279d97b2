package sqldb_test

import (
	"context"
	"testing"
	"time"

	"jifen"
)

// A change of points settings, an erasure and an award from a budget, on
// PostgreSQL: the change waits for a budget stripe the award holds, the
// erasure holds the person's row, and the award then asks for that row
// (as an award's foreign key does). When the change took the kept boards'
// generation before the stripes, the erasure waited for it at its end: a
// circle of three, which PostgreSQL broke by aborting one of them (a
// review's session). dropBoards comes last in its write: the erasure goes
// through, then the award, then the change.
func TestSettingsBesideAnErasureAndABudgetAward(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.YearlyBudget = 1000 })
		zhao := p.member(t, "赵一明", p.villageA)
		award, err := p.raw.BeginTx(context.Background(), nil) // an award holding a stripe
		if err != nil {
			t.Fatal(err)
		}
		defer award.Rollback()
		if _, err := award.Exec("UPDATE budget_stripes SET remaining = remaining WHERE org_id = $1 AND stripe = 0", p.villageA.ID); err != nil {
			t.Fatal(err)
		}
		before := p.db.Retried()
		settings := make(chan error, 1)
		in := *must(p.pts.Settings(p.super.ctx, p.villageA.ID))(t)
		in.YearlyBudget = 2000
		go func() { settings <- p.pts.SaveSettings(p.super.ctx, p.villageA.ID, in) }()
		awaitLockWaiters(t, func(q string) int64 { return p.one(t, q) }, 1) // the change, at the stripe
		erased := make(chan error, 1)
		go func() { erased <- p.people.ErasePerson(p.adminA.ctx, zhao.p.ID, "本人书面申请") }()
		select {
		case err := <-erased:
			if err != nil {
				t.Fatalf("erase: %v", err)
			}
			erased <- nil
		case <-time.After(3 * time.Second):
			// Still waiting (for the change): the award's next step
			// closes the circle.
		}
		if _, err := award.Exec("SELECT id FROM people WHERE id = $1 FOR KEY SHARE", zhao.p.ID); err != nil {
			t.Errorf("the award, asking for the person's row: %v", err)
		}
		award.Rollback()
		if err := <-settings; err != nil {
			t.Errorf("settings: %v", err)
		}
		if err := <-erased; err != nil {
			t.Errorf("erase: %v", err)
		}
		if n := p.db.Retried() - before; n > 0 {
			t.Errorf("%d writes were aborted by the database (deadlocks) and run again, want none", n)
		}
	})
}
