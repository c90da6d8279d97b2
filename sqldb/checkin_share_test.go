package sqldb_test

import (
	"database/sql"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
)

// TestCheckInsAtOneActivityRunSideBySide: volunteers' own check-ins at
// one activity share its row (sharedActivity), so one in flight does not
// hold up the next, as each did holding the row itself to its commit; a
// sign-up, which takes the row, still waits for the check-in in flight.
// PostgreSQL: SQLite's one writer runs writes one at a time.
func TestCheckInsAtOneActivityRunSideBySide(t *testing.T) {
	pgSQL(t, func(t *testing.T, db *sqldb.DB, raw *sql.DB) {
		v := newVS(t, db)
		start := v.now().Truncate(time.Minute).Add(time.Hour)
		act := v.published(t, v.input(v.villageA, start, 2*time.Hour))
		first, second, late := v.member(t, "甲", v.villageA), v.member(t, "乙", v.villageA), v.member(t, "丙", v.villageA)
		v.signUp(t, first, act, jifen.SignupConfirmed)
		v.signUp(t, second, act, jifen.SignupConfirmed)
		v.clock.Set(start.Add(time.Minute))
		code := v.code(t, act)

		// The first volunteer's check-in, in flight: its share of the row.
		hold := holdRows(t, raw, "SELECT 1 FROM activities WHERE id = $1 FOR SHARE", act.ID)
		defer hold.Rollback()
		checkedIn := make(chan error, 1)
		go func() {
			_, err := v.acts.CheckIn(second.ctx, act.ID, code, nil, nil)
			checkedIn <- err
		}()
		select {
		case err := <-checkedIn:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a check-in waited for another one at the same activity")
		}

		signedUp := make(chan error, 1)
		go func() {
			_, err := v.acts.SignUp(late.ctx, act.ID, late.p.ID)
			signedUp <- err
		}()
		awaitLockWaiters(t, func(q string) int64 {
			var n int64
			if err := raw.QueryRow(q).Scan(&n); err != nil {
				t.Error(err)
			}
			return n
		}, 1)
		select {
		case err := <-signedUp:
			t.Fatalf("a sign-up went past a check-in in flight (%v)", err)
		default:
		}
		if err := hold.Rollback(); err != nil {
			t.Fatal(err)
		}
		if err := <-signedUp; err != nil {
			t.Fatal(err)
		}
	})
}
