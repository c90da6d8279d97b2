package sqldb_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"jifen"
)

// outcomes counts the results of racing calls by error code ("" for
// success) and keeps the first unexpected error.
type outcomes struct {
	mu    sync.Mutex
	codes map[string]int
	first error
}

func (o *outcomes) add(err error, expected ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.codes == nil {
		o.codes = map[string]int{}
	}
	code := ""
	if err != nil {
		code = jifen.ErrorCode(err)
		known := false
		for _, e := range expected {
			known = known || e == code
		}
		if !known && o.first == nil {
			o.first = err
		}
	}
	o.codes[code]++
}

func TestPointsBudgetUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		const budget, each, workers = 1000, 30, 64
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.YearlyBudget = budget })
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("county-30", each))
		crowd := p.crowd(t, workers, p.villageA)

		var o outcomes
		var deadlocks atomic.Int64
		awarded := make([]*jifen.Award, workers)
		// A deadlock (the bug below) costs a second of PostgreSQL's
		// deadlock_timeout each: once one is seen the rest are called off.
		ctx, cancel := context.WithCancel(p.adminA.ctx)
		defer cancel()
		var wg sync.WaitGroup
		for i, u := range crowd {
			wg.Go(func() {
				aw, err := p.give(ctx, u.p.ID, r)
				if err != nil && strings.Contains(err.Error(), "40P01") {
					deadlocks.Add(1) // PostgreSQL's "deadlock detected"
					cancel()
					return
				}
				if err != nil && ctx.Err() != nil {
					return // called off
				}
				o.add(err, "budget_exceeded")
				awarded[i] = aw
			})
		}
		wg.Wait()
		if o.first != nil {
			t.Fatalf("outcomes %v; unexpected error: %v", o.codes, o.first)
		}
		// Whatever else happened, the budget is never overspent and every
		// point issued reached an account.
		issued := p.one(t, "SELECT COALESCE(SUM(points), 0) FROM awards WHERE issuer_org_id = ? AND status = 'posted'", p.countyA.ID)
		var received int64
		for _, u := range crowd {
			received += p.points(t, u.p.ID).Balance
		}
		issuer := must(p.ledger.Account(p.super.ctx, jifen.AccountIssuance, p.countyA.ID))(t)
		out := -p.one(t, "SELECT COALESCE(SUM(amount), 0) FROM postings WHERE account_id = ?", issuer.ID)
		// What was written, read back: a call called off after its commit
		// has no answer but its award stands.
		var ok int64
		for i, u := range crowd {
			list, _ := must2(p.pts.Awards(p.super.ctx, jifen.AwardFilter{PersonID: u.p.ID}))(t)
			awarded[i] = nil
			for _, aw := range list {
				if aw.Status != jifen.AwardPosted || aw.Points != each || awarded[i] != nil {
					t.Fatalf("%s has awards %+v", u.p.Name, list)
				}
				awarded[i] = aw
				ok++
			}
		}
		if issued > budget || issued != ok*each || received != issued || out != issued {
			t.Fatalf("issued %d in %d awards, received %d, out of the issuance account %d; budget %d", issued, ok, received, out, budget)
		}
		left := p.one(t, "SELECT COALESCE(SUM(remaining), 0) FROM budget_stripes WHERE org_id = ?", p.countyA.ID)
		if left != budget-issued {
			t.Fatalf("%d left in the stripes, want %d", left, budget-issued)
		}

		t.Run("a reversed award gives its points back to the budget", func(t *testing.T) {
			var back *jifen.Award
			var backer user
			var refused []user
			for i, aw := range awarded {
				if aw != nil && back == nil {
					back, backer = aw, crowd[i]
				}
				if aw == nil {
					refused = append(refused, crowd[i])
				}
			}
			fits := int((left + each) / each)
			if back == nil || len(refused) <= fits {
				t.Fatalf("needs an award and %d refused people", fits+1)
			}
			ap := must(p.pts.Appeal(backer.ctx, *back.TxID, "并非本人"))(t)
			must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "撤销"))(t)
			if now := p.one(t, "SELECT COALESCE(SUM(remaining), 0) FROM budget_stripes WHERE org_id = ?", p.countyA.ID); now != left+each {
				t.Fatalf("%d left after the reversal, want %d", now, left+each)
			}
			for _, u := range refused[:fits] {
				p.posted(t, p.adminA.ctx, u.p.ID, r)
			}
			_, err := p.give(p.adminA.ctx, refused[fits].p.ID, r)
			wantCode(t, err, jifen.KindConflict, "budget_exceeded")
		})
		p.verify(t)
		if n := deadlocks.Load(); n > 0 {
			// An update that waited for a short stripe keeps its lock on
			// PostgreSQL; locking every stripe after it deadlocked
			// (takeFromBudget now runs the write again, stripes first).
			t.Fatalf("%d of %d racing awards (the rest called off) failed with PostgreSQL 40P01 deadlock detected instead of posting or budget_exceeded", n, workers)
		}
		// The budget pools its stripes: every award fits until less than
		// one award's worth is left anywhere.
		if o.codes[""] != budget/each || o.codes["budget_exceeded"] != workers-budget/each {
			t.Fatalf("outcomes %v, want %d awards and %d budget_exceeded", o.codes, budget/each, workers-budget/each)
		}
	})
}

func TestPointsIdempotentRetriesUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		in := jifen.AwardInput{PersonID: p.resident.p.ID, RuleID: r.ID, Quantity: 3, Key: "retry-storm"}
		const retries = 16
		ids := make([]int64, retries)
		var o outcomes
		var wg sync.WaitGroup
		for i := range retries {
			wg.Go(func() {
				aw, err := p.pts.Award(p.adminA.ctx, in)
				o.add(err)
				if aw != nil {
					ids[i] = aw.ID
				}
			})
		}
		wg.Wait()
		if o.first != nil || o.codes[""] != retries {
			t.Fatalf("outcomes %v; first error %v", o.codes, o.first)
		}
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("retries answered awards %v, want one", ids)
			}
		}
		if n := p.one(t, "SELECT COUNT(*) FROM awards WHERE person_id = ?", p.resident.p.ID); n != 1 {
			t.Fatalf("%d awards written", n)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM ledger_transactions WHERE idem_key = ?", fmt.Sprintf("award:%d", ids[0])); n != 1 {
			t.Fatalf("%d transactions posted", n)
		}
		p.wantPoints(t, p.resident.p.ID, 30, 30)
		p.verify(t)
	})
}

func TestPointsCapsUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		in := ruleIn("daily-3", 5)
		in.DailyCap = 3
		r := p.rule(t, p.adminA.ctx, p.countyA, in)
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.DailyCap = 40 })
		big := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("ten", 10))
		const workers = 20
		var o, d outcomes
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				_, err := p.give(p.adminA.ctx, p.resident.p.ID, r)
				o.add(err, "cap_exceeded")
			})
			wg.Go(func() {
				_, err := p.give(p.adminA.ctx, p.leader.p.ID, big)
				d.add(err, "cap_exceeded")
			})
		}
		wg.Wait()
		if o.first != nil || o.codes[""] != 3 || o.codes["cap_exceeded"] != workers-3 {
			t.Fatalf("a rule's daily cap of 3 under %d racing awards: %v (%v)", workers, o.codes, o.first)
		}
		if d.first != nil || d.codes[""] != 4 || d.codes["cap_exceeded"] != workers-4 {
			t.Fatalf("the org's daily cap of 40 under %d racing awards of 10: %v (%v)", workers, d.codes, d.first)
		}
		p.wantPoints(t, p.resident.p.ID, 15, 15)
		p.wantPoints(t, p.leader.p.ID, 40, 40)
	})
}

func TestPointsDeductionsRaceTheBalance(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		const start, deductions, each, spends = 300, 500, 3, 60
		must(p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: p.resident.p.ID, Points: start}}))(t)
		fine := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("litter", -each))
		who := p.resident.p.ID
		p.store(t)

		var o, s outcomes
		var taken, shortfall, spent atomic.Int64
		var bad atomic.Value
		var wg sync.WaitGroup
		for i := range deductions {
			wg.Go(func() {
				aw, err := p.give(p.adminA.ctx, who, fine)
				o.add(err)
				if err != nil {
					return
				}
				if aw.Points != -each || aw.Shortfall < 0 || aw.Shortfall > each || aw.Status != jifen.AwardPosted {
					bad.CompareAndSwap(nil, fmt.Sprintf("deduction %d: %+v", i, aw))
				}
				taken.Add(each - aw.Shortfall)
				shortfall.Add(aw.Shortfall)
			})
			if i%(deductions/spends) == 0 {
				wg.Go(func() {
					_, err := p.trySpend(who, 2)
					s.add(err, "insufficient_points")
					if err == nil {
						spent.Add(2)
					}
				})
			}
		}
		wg.Wait()
		if o.first != nil || o.codes[""] != deductions {
			t.Fatalf("deductions: %v (%v)", o.codes, o.first)
		}
		if s.first != nil {
			t.Fatalf("spending: %v (%v)", s.codes, s.first)
		}
		if b := bad.Load(); b != nil {
			t.Fatal(b)
		}
		sum := p.points(t, who)
		if sum.Balance != 0 || sum.Score != start-deductions*each {
			t.Fatalf("after the race: %+v, want balance 0 and score %d", sum, start-deductions*each)
		}
		if taken.Load()+spent.Load() != start || shortfall.Load() != deductions*each-taken.Load() {
			t.Fatalf("deductions took %d with %d short, spending took %d, from %d", taken.Load(), shortfall.Load(), spent.Load(), start)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM awards a JOIN ledger_transactions t ON t.id = a.tx_id WHERE a.person_id = ? AND a.shortfall <> t.shortfall", who); n != 0 {
			t.Fatalf("%d awards disagree with their transaction on the shortfall", n)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM accounts WHERE balance < 0"); n != 0 {
			t.Fatalf("%d accounts below zero", n)
		}
		p.verify(t)
	})
}

func TestPointsDecisionsUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		in := ruleIn("reviewed", 20)
		in.NeedsReview = true
		reviewed := p.rule(t, p.adminA.ctx, p.countyA, in)
		help := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		second := p.user(t, "评审乙", p.countyA, p.countyA, jifen.RoleReviewer)
		deciders := []user{p.reviewer, second, p.super, p.reviewer, second, p.super}
		const n = 6

		t.Run("racing approvals of one award post it once; the rest are already_decided", func(t *testing.T) {
			who := p.member(t, "待审", p.villageA)
			aw := p.award(t, p.adminA.ctx, who.p.ID, reviewed)
			var o outcomes
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					var err error
					if i%2 == 0 {
						_, err = p.pts.Approve(deciders[i].ctx, aw.ID)
					} else {
						_, err = p.pts.Reject(deciders[i].ctx, aw.ID, "不符合")
					}
					o.add(err, "already_decided")
				})
			}
			wg.Wait()
			if o.first != nil || o.codes[""] != 1 || o.codes["already_decided"] != n-1 {
				t.Fatalf("outcomes %v (%v)", o.codes, o.first)
			}
			got := must(p.pts.GetAward(p.adminA.ctx, aw.ID))(t)
			want := int64(0)
			if got.Status == jifen.AwardPosted {
				want = 20
			}
			p.wantPoints(t, who.p.ID, want, want)
			if n := p.one(t, "SELECT COUNT(*) FROM ledger_transactions WHERE idem_key = ?", fmt.Sprintf("award:%d", aw.ID)); n != want/20 {
				t.Fatalf("%d transactions for a %s award", n, got.Status)
			}
		})
		t.Run("racing appeals on one award open one; the rest are appeal_open", func(t *testing.T) {
			aw := p.posted(t, p.adminA.ctx, p.resident.p.ID, help)
			var o outcomes
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, err := p.pts.Appeal(p.resident.ctx, *aw.TxID, "不服")
					o.add(err, "appeal_open")
				})
			}
			wg.Wait()
			if o.first != nil || o.codes[""] != 1 || o.codes["appeal_open"] != n-1 {
				t.Fatalf("outcomes %v (%v)", o.codes, o.first)
			}
		})
		t.Run("racing decisions on one appeal reverse the award once", func(t *testing.T) {
			who := p.member(t, "申诉人", p.villageA)
			aw := p.posted(t, p.adminA.ctx, who.p.ID, help)
			ap := must(p.pts.Appeal(who.ctx, *aw.TxID, "不服"))(t)
			var o outcomes
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, err := p.pts.Reverse(deciders[i].ctx, ap.ID, "撤销")
					o.add(err, "already_decided")
				})
			}
			wg.Wait()
			if o.first != nil || o.codes[""] != 1 || o.codes["already_decided"] != n-1 {
				t.Fatalf("outcomes %v (%v)", o.codes, o.first)
			}
			p.wantPoints(t, who.p.ID, 0, 0)
			if n := p.one(t, "SELECT COUNT(*) FROM ledger_transactions WHERE reverses_id = ?", *aw.TxID); n != 1 {
				t.Fatalf("%d reversals", n)
			}
		})
		// The two races below have a narrow window: more racers.
		const many = 12
		t.Run("racing households for one person: one is created, the rest are already_in_household", func(t *testing.T) {
			const n = many
			shared := p.noPhone(t, "共同成员", p.villageA)
			heads := make([]*jifen.Person, n)
			for i := range heads {
				heads[i], _ = p.person(t, fmt.Sprintf("户主%d", i), p.villageA)
			}
			var o outcomes
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, err := p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: heads[i].ID, MemberIDs: []int64{shared.ID}})
					o.add(err, "already_in_household", "duplicate")
				})
			}
			wg.Wait()
			if o.first != nil || o.codes[""] != 1 {
				t.Fatalf("outcomes %v (%v)", o.codes, o.first)
			}
			if d := o.codes["duplicate"]; d > 0 {
				bug(t, fmt.Sprintf("%d of %d racing CreateHousehold calls for one member failed with the generic conflict code duplicate instead of "+
					"already_in_household: sqldb/household.go:62 addMember checks membership with a plain SELECT and then inserts (:72), so on PostgreSQL a "+
					"second transaction passes the check and hits the household_members primary key, which mapErr (sqldb/db.go) turns into duplicate", d, n))
			}
			if o.codes["already_in_household"] != n-1 {
				t.Fatalf("outcomes %v", o.codes)
			}
		})
		t.Run("racing opening imports for one person post once; the rest are opening_exists", func(t *testing.T) {
			const n = many
			who, _ := p.person(t, "期初", p.villageA)
			// The accounts exist, as after any earlier points: creating one
			// would queue the racers behind its first writer.
			must(p.ledger.Account(p.super.ctx, jifen.AccountPerson, who.ID))(t)
			must(p.ledger.Account(p.super.ctx, jifen.AccountIssuance, p.villageA.ID))(t)
			var o outcomes
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, err := p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: who.ID, Points: 70}})
					o.add(err, "opening_exists", "duplicate")
				})
			}
			wg.Wait()
			if o.first != nil || o.codes[""] < 1 {
				t.Fatalf("outcomes %v (%v)", o.codes, o.first)
			}
			// However the racers were answered, one opening is posted.
			p.wantPoints(t, who.ID, 70, 70)
			if k := p.one(t, "SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'opening' AND idem_key = ?", fmt.Sprintf("opening:person:%d", who.ID)); k != 1 {
				t.Fatalf("%d openings posted", k)
			}
			if d, ok := o.codes["duplicate"], o.codes[""]; d > 0 || ok > 1 {
				bug(t, fmt.Sprintf("of %d racing ImportOpening calls for one person %d succeeded and %d failed with the generic conflict code "+
					"duplicate; all but one should be opening_exists: sqldb/points.go:851 ImportOpening counts earlier openings with a plain SELECT "+
					"and then posts, so on PostgreSQL a second import passes the check and either hits the unique idempotency key of "+
					"ledger_transactions (duplicate) or, when the first has committed by then, is answered by the ledger's idempotent replay "+
					"in tx.post (sqldb/ledger.go:163) as a success that wrote nothing (and still audits an import)", n, ok, d))
			}
			if o.codes[""] != 1 {
				t.Fatalf("outcomes %v", o.codes)
			}
			if o.codes["opening_exists"] != n-1 {
				t.Fatalf("outcomes %v", o.codes)
			}
		})
		p.verify(t)
	})
}

func TestPointsBulkRetriesUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		people := make([]int64, 3)
		lines := make([]jifen.AwardInput, 3)
		for i := range people {
			who, _ := p.person(t, fmt.Sprintf("名单%d", i), p.villageA)
			must(p.ledger.Account(p.super.ctx, jifen.AccountPerson, who.ID))(t) // as anyone who has had points has one
			people[i] = who.ID
			lines[i] = jifen.AwardInput{PersonID: who.ID, RuleID: r.ID, Quantity: int64(i + 1)}
		}
		const retries = 8
		answers := make([][]*jifen.Award, retries)
		var o outcomes
		var wg sync.WaitGroup
		for i := range retries {
			wg.Go(func() {
				aws, err := p.pts.AwardBulk(p.adminA.ctx, "bulk-storm", lines)
				o.add(err, "duplicate")
				answers[i] = aws
			})
		}
		wg.Wait()
		if o.first != nil {
			t.Fatalf("outcomes %v (%v)", o.codes, o.first)
		}
		for i, id := range people {
			p.wantPoints(t, id, int64(10*(i+1)), int64(10*(i+1)))
		}
		if n := p.one(t, "SELECT COUNT(*) FROM awards"); n != 3 {
			t.Fatalf("%d awards written, want 3", n)
		}
		if d := o.codes["duplicate"]; d > 0 {
			bug(t, fmt.Sprintf("%d of %d concurrent retries of one AwardBulk (same key, same list) failed with 409 duplicate instead of answering "+
				"the first call's awards: sqldb/points.go:322 AwardBulk runs its transaction once, without the second try Award makes when a racing "+
				"retry wins the awards (created_by, idem_key) unique key", d, retries))
		}
		for i := range answers {
			if len(answers[i]) != 3 {
				t.Fatalf("retry %d answered %d awards", i, len(answers[i]))
			}
			for j := range answers[i] {
				if answers[i][j].ID != answers[0][j].ID {
					t.Fatalf("retries answered different awards")
				}
			}
		}
	})
}
