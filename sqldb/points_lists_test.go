package sqldb_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"jifen"
)

// Lists (bulk awards) naming the same people in different orders, beside
// single awards that PostgreSQL groups and credits in account order: each
// list takes its accounts in one order before its lines, so no two writes
// hold an account the other waits for. Before, a list locked each line's
// account as it came to it, and PostgreSQL broke the circles it made, a
// second's wait each (counted here as writes it aborted and ran again).
// Half the people have no account yet, so the lists also open accounts
// side by side.
func TestListsBesideAwardGroups(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		const people, lists, listers, givers, gifts = 16, 5, 6, 4, 30
		capped := ruleIn("capped", 10)
		capped.DailyCap = 1000 // counted under each line's account lock
		listed := p.rule(t, p.adminA.ctx, p.countyA, capped)
		plain := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("plain", 1))
		crowd := make([]int64, people)
		for i := range crowd {
			person, _ := p.person(t, fmt.Sprintf("名单%02d", i), p.villageA)
			crowd[i] = person.ID
			if i%2 == 0 {
				p.award(t, p.adminA.ctx, person.ID, plain) // opens the account
			}
		}
		before := p.db.Retried()
		var wg sync.WaitGroup
		errs := make(chan error, listers*lists+givers*gifts)
		for l := range listers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(l), 7))
				for n := range lists {
					order := append([]int64(nil), crowd...)
					rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
					in := make([]jifen.AwardInput, len(order))
					for i, id := range order {
						in[i] = jifen.AwardInput{PersonID: id, RuleID: listed.ID}
					}
					_, err := p.pts.AwardBulk(p.adminA.ctx, fmt.Sprintf("list-%d-%d", l, n), in)
					errs <- err
				}
			})
		}
		given := p.alongside(&wg, errs, givers, gifts, crowd, plain)
		wg.Wait()
		p.noneAborted(t, errs, before)
		for i, id := range crowd {
			want := int64(listers*lists*10) + given[i]
			if i%2 == 0 {
				want++
			}
			p.wantPoints(t, id, want, want)
		}
		if problem := must(p.ledger.Verify(p.super.ctx, ""))(t).Problem; problem != "" {
			t.Fatalf("ledger: %s", problem)
		}
	})
}

// Verifying activities, which posts each attendee's hours in person
// order, beside award groups crediting the same people in account order:
// the accounts were opened in the reverse order of the people, so the
// two orders cross. A verification takes its attendees' accounts in
// account order first, as a list does.
func TestVerificationsBesideAwardGroups(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		const activities, givers, gifts = 8, 16, 20
		plain := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("plain", 1))
		crowd := p.crowd(t, 40, p.villageA)
		// Accounts opened from the newest person to the oldest, so that
		// account order is the reverse of person order.
		slices.SortFunc(crowd, func(a, b user) int { return cmp.Compare(b.p.ID, a.p.ID) })
		for _, u := range crowd {
			p.award(t, p.adminA.ctx, u.p.ID, plain)
		}
		var acts []*jifen.Activity
		for range activities {
			in := p.input(p.villageA, p.now().Truncate(time.Minute).Add(time.Hour), time.Hour)
			in.PointsPerHour = 10
			acts = append(acts, p.attended(t, in, crowd...))
		}
		before := p.db.Retried()
		var wg sync.WaitGroup
		errs := make(chan error, activities+givers*gifts)
		for _, act := range acts {
			wg.Go(func() {
				_, err := p.acts.Verify(p.super.ctx, act.ID)
				errs <- err
			})
		}
		ids := make([]int64, len(crowd))
		for i, u := range crowd {
			ids[i] = u.p.ID
		}
		p.alongside(&wg, errs, givers, gifts, ids, plain)
		wg.Wait()
		p.noneAborted(t, errs, before)
		for _, u := range crowd {
			if got := p.points(t, u.p.ID).Balance; got < activities*10 {
				t.Errorf("%s has %d points, want at least %d from the verified hours", u.p.Name, got, activities*10)
			}
		}
		if problem := must(p.ledger.Verify(p.super.ctx, ""))(t).Problem; problem != "" {
			t.Fatalf("ledger: %s", problem)
		}
	})
}

// Two opening imports naming the same people in opposite orders: one
// posts them all and the other finds the first's openings, with no
// circle of waits between them.
func TestOpeningImportsInOppositeOrders(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		crowd := p.crowd(t, 24, p.villageA)
		// One opening first, so that the village's issuance account is
		// open: the second import would otherwise queue behind the
		// first's opening it.
		first, _ := p.person(t, "期初甲", p.villageA)
		must(p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: first.ID, Points: 5}}))(t)
		lists := make([][]jifen.OpeningInput, 2)
		for i := range crowd {
			lists[0] = append(lists[0], jifen.OpeningInput{PersonID: crowd[i].p.ID, Points: 10})
			lists[1] = append(lists[1], jifen.OpeningInput{PersonID: crowd[len(crowd)-1-i].p.ID, Points: 10})
		}
		before := p.db.Retried()
		errs := make([]error, len(lists))
		var wg sync.WaitGroup
		for i, list := range lists {
			wg.Go(func() { _, errs[i] = p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, list) })
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || jifen.ErrorCode(cmp.Or(errs[0], errs[1])) != "opening_exists" {
			t.Fatalf("imports: %v and %v, want one done and one opening_exists", errs[0], errs[1])
		}
		if n := p.db.Retried() - before; n > 0 {
			t.Errorf("%d writes were aborted by the database (deadlocks) and run again, want none", n)
		}
		for _, u := range crowd {
			p.wantPoints(t, u.p.ID, 10, 10)
		}
	})
}

// One award sent twice at the same moment under one key (a client's
// retry racing its first try), beside other awards so that on PostgreSQL
// one copy may share a group's commit while the other runs alone: both
// get the one award, and the two copies take the beneficiary's account
// and the key in one order. Alone, an award used to insert its row (the
// key) first and credit the account at its end, while a group credits
// first; the copies deadlocked (8 times in a 15-second load).
func TestSameAwardTwiceAtOnce(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		const pairs, others = 200, 4
		plain := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("plain", 1))
		crowd := p.crowd(t, 12, p.villageA)
		for _, u := range crowd {
			p.award(t, p.adminA.ctx, u.p.ID, plain) // accounts open, so the awards may be grouped
		}
		before := p.db.Retried()
		stop := make(chan struct{})
		var background sync.WaitGroup
		var given [12]int64
		var mu sync.Mutex
		for g := range others {
			background.Go(func() {
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					i := (g*7 + n) % len(crowd)
					if _, err := p.give(p.adminA.ctx, crowd[i].p.ID, plain); err != nil {
						t.Errorf("background award: %v", err)
						return
					}
					mu.Lock()
					given[i]++
					mu.Unlock()
				}
			})
		}
		for n := range pairs {
			i := n % len(crowd)
			in := jifen.AwardInput{PersonID: crowd[i].p.ID, RuleID: plain.ID, Key: p.key()}
			var got [2]*jifen.Award
			var errs [2]error
			var wg sync.WaitGroup
			for c := range got {
				wg.Go(func() { got[c], errs[c] = p.pts.Award(p.adminA.ctx, in) })
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("pair %d: %v, %v", n, errs[0], errs[1])
			}
			if got[0].ID != got[1].ID {
				t.Fatalf("pair %d: awards %d and %d for one key, want one", n, got[0].ID, got[1].ID)
			}
			mu.Lock()
			given[i]++
			mu.Unlock()
		}
		close(stop)
		background.Wait()
		if n := p.db.Retried() - before; n > 0 {
			t.Errorf("%d writes were aborted by the database (deadlocks) and run again, want none", n)
		}
		for i, u := range crowd {
			p.wantPoints(t, u.p.ID, 1+given[i], 1+given[i])
		}
	})
}

// alongside starts givers, each giving gifts awards of r (1 point each)
// to people in turn, and sends every answer's error to errs. It returns
// how many points each person will have been given.
func (p *ptsFx) alongside(wg *sync.WaitGroup, errs chan<- error, givers, gifts int, people []int64, r *jifen.Rule) []int64 {
	given := make([]int64, len(people))
	for g := range givers {
		for n := range gifts {
			given[(g*gifts+n)%len(people)] += r.Points
		}
		wg.Go(func() {
			for n := range gifts {
				_, err := p.give(p.adminA.ctx, people[(g*gifts+n)%len(people)], r)
				errs <- err
			}
		})
	}
	return given
}

// noneAborted closes errs and wants every write sent there to have
// succeeded, and none since before to have been aborted by the database
// and run again (a deadlock: a second's wait on PostgreSQL).
func (p *ptsFx) noneAborted(t *testing.T, errs chan error, before int64) {
	t.Helper()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a write failed: %v", err)
		}
	}
	if n := p.db.Retried() - before; n > 0 {
		t.Errorf("%d writes were aborted by the database (deadlocks) and run again, want none", n)
	}
}
