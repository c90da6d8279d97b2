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
		p.noRetries(t, before)
		for i, u := range crowd {
			p.wantPoints(t, u.p.ID, 1+given[i], 1+given[i])
		}
	})
}

// alongside starts givers, each giving gifts awards of r
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
	p.noRetries(t, before)
}

// noRetries wants no write since before to have been aborted by the
// database and run again.
func (p *ptsFx) noRetries(t *testing.T, before int64) {
	t.Helper()
	if n := p.db.Retried() - before; n > 0 {
		t.Errorf("%d writes were aborted by the database (deadlocks) and run again, want none", n)
	}
}

// A list of awards for two people, held up after taking its accounts
// (another transaction holds the second person's), meets another write
// for the first person that takes a budget's stripe or opens an issuer's
// issuance account. Every such write takes the person's account first;
// one that took the stripe or the new account's insert first, and the
// account at its end, waited in a circle with the list (found by a code
// review, one deadlock in each case).
func TestListsBesideBudgetsAndNewIssuers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		other func(p *ptsFx, county, village *jifen.Rule, first, second int64) error
		list  func(county, village *jifen.Rule) *jifen.Rule
	}{
		{"an award from a budget", func(p *ptsFx, county, _ *jifen.Rule, first, _ int64) error {
			_, err := p.give(p.adminA.ctx, first, county)
			return err
		}, func(county, _ *jifen.Rule) *jifen.Rule { return county }},
		{"the issuer's first award", func(p *ptsFx, _, village *jifen.Rule, first, _ int64) error {
			_, err := p.give(p.adminA.ctx, first, village)
			return err
		}, func(_, village *jifen.Rule) *jifen.Rule { return village }},
		{"the issuer's first opening import", func(p *ptsFx, _, _ *jifen.Rule, first, second int64) error {
			_, err := p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: first, Points: 5}, {PersonID: second, Points: 5}})
			return err
		}, func(_, village *jifen.Rule) *jifen.Rule { return village }},
	} {
		t.Run(c.name, func(t *testing.T) {
			pgPoints(t, func(t *testing.T, p *ptsFx) {
				p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.YearlyBudget = 100000 })
				county := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("county", 1))
				village := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("village", 1)) // its issuance account not open yet
				var people [2]int64
				for i := range people {
					person, _ := p.person(t, fmt.Sprintf("名单%d", i), p.villageA)
					people[i] = person.ID
					p.award(t, p.adminA.ctx, person.ID, county) // opens the account
				}
				var second int64
				if err := p.raw.QueryRow("SELECT id FROM accounts WHERE kind = 'person' AND owner_id = $1", people[1]).Scan(&second); err != nil {
					t.Fatal(err)
				}
				hold, err := p.raw.Begin()
				if err != nil {
					t.Fatal(err)
				}
				defer hold.Rollback()
				if _, err := hold.Exec("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE", second); err != nil {
					t.Fatal(err)
				}
				before := p.db.Retried()
				errs := make(chan error, 2)
				var wg sync.WaitGroup
				r := c.list(county, village)
				wg.Go(func() {
					_, err := p.pts.AwardBulk(p.adminA.ctx, p.key(), []jifen.AwardInput{{PersonID: people[0], RuleID: r.ID}, {PersonID: people[1], RuleID: r.ID}})
					errs <- err
				})
				time.Sleep(300 * time.Millisecond) // the list holds the first's account and waits for the second's
				wg.Go(func() { errs <- c.other(p, county, village, people[0], people[1]) })
				time.Sleep(300 * time.Millisecond) // the other write has gone as far as it can
				if err := hold.Commit(); err != nil {
					t.Fatal(err)
				}
				wg.Wait()
				p.noneAborted(t, errs, before)
			})
		})
	}
}
