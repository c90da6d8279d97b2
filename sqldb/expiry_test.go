package sqldb_test

import (
	"sync"
	"testing"
	"time"

	"jifen"
)

func TestExpiryYearEnd(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r100 := p.rule(t, p.super.ctx, p.root, ruleIn("r100", 100))
		r80 := p.rule(t, p.super.ctx, p.root, ruleIn("r80", 80))
		r50 := p.rule(t, p.super.ctx, p.root, ruleIn("r50", 50))
		me := p.resident.p.ID
		b := p.residentB.p.ID
		// Year 1 (2026): earn 100, spend 30; in county B earn 80.
		p.posted(t, p.adminA.ctx, me, r100)
		p.spend(t, me, 30)
		p.posted(t, p.adminB.ctx, b, r80)
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.Expiry = jifen.ExpiryYearEnd })
		// Year 2: earn 50 half an hour into it, China time (still 2026 in UTC).
		p.clock.Set(time.Date(2027, 1, 1, 0, 30, 0, 0, jifen.Zone))
		p.posted(t, p.adminA.ctx, me, r50)
		p.wantPoints(t, me, 120, 150)
		p.clock.Set(onDay(2027, 2, 1))

		t.Run("only a super admin runs expiry", func(t *testing.T) {
			_, err := p.pts.Expire(p.adminA.ctx)
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
		})
		t.Run("year_end lapses what was earned before 1 January, spending the oldest first", func(t *testing.T) {
			rep := must(p.pts.Expire(p.super.ctx))(t)
			if rep.Accounts != 1 || rep.Points != 70 {
				t.Fatalf("report %+v, want 70 points of one account", rep)
			}
			s := p.wantPoints(t, me, 50, 150)
			if s.Expired != 70 || s.Spent != 30 || s.Earned != 150 {
				t.Fatalf("summary %+v", s)
			}
			top := p.ledgerOf(t, me)[0]
			if top.Kind != jifen.TxExpiry || top.Amount != -70 || top.Score != 0 || top.Balance != 50 {
				t.Fatalf("newest line %+v", top)
			}
		})
		t.Run("an org without expiry keeps its points", func(t *testing.T) {
			p.wantPoints(t, b, 80, 80)
		})
		t.Run("running it again posts nothing", func(t *testing.T) {
			before := p.rows(t)
			rep := must(p.pts.Expire(p.super.ctx))(t)
			if rep.Accounts != 0 || rep.Points != 0 {
				t.Fatalf("second run %+v", rep)
			}
			p.unchanged(t, before)
			p.wantPoints(t, me, 50, 150)
		})
		t.Run("two runs side by side post once", func(t *testing.T) {
			p.set(t, p.countyB, func(s *jifen.PointsSettings) { s.Expiry = jifen.ExpiryYearEnd })
			var wg sync.WaitGroup
			reps := make([]*jifen.ExpiryReport, 4)
			errs := make([]error, 4)
			for i := range reps {
				wg.Go(func() { reps[i], errs[i] = p.pts.Expire(p.super.ctx) })
			}
			wg.Wait()
			var points int64
			var accounts int
			for i := range reps {
				if errs[i] != nil {
					t.Fatalf("run %d: %v", i, errs[i])
				}
				points += reps[i].Points
				accounts += reps[i].Accounts
			}
			if points != 80 || accounts != 1 {
				t.Fatalf("the runs together lapsed %d points of %d accounts, want 80 of 1", points, accounts)
			}
			p.wantPoints(t, b, 0, 80)
			acct := must(p.ledger.Account(p.super.ctx, jifen.AccountPerson, b))(t)
			if n := p.one(t, "SELECT COUNT(*) FROM postings po JOIN ledger_transactions t ON t.id = po.tx_id WHERE po.account_id = ? AND t.kind = 'expiry'", acct.ID); n != 1 {
				t.Fatalf("%d expiry transactions, want 1", n)
			}
		})
		t.Run("the next year lapses what the previous year left", func(t *testing.T) {
			p.clock.Set(onDay(2028, 1, 2))
			rep := must(p.pts.Expire(p.super.ctx))(t)
			if rep.Points != 50 || rep.Accounts != 1 {
				t.Fatalf("report %+v", rep)
			}
			p.wantPoints(t, me, 0, 150)
		})
		p.verify(t)
	})
}

func TestExpiryMonths(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r10 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("r10", 10))
		r20 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("r20", 20))
		r40 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("r40", 40))
		me := p.resident.p.ID
		p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.Expiry, s.ExpiryMonths = jifen.ExpiryMonths, 3 })
		p.clock.Set(onDay(2026, 6, 1))
		p.posted(t, p.adminA.ctx, me, r10)
		p.clock.Set(onDay(2026, 8, 5))
		p.posted(t, p.adminA.ctx, me, r20)
		p.clock.Set(onDay(2026, 10, 20))
		p.posted(t, p.adminA.ctx, me, r40)
		p.clock.Set(onDay(2026, 10, 21))
		p.spend(t, me, 5)

		t.Run("points older than three months lapse, less what was spent from them", func(t *testing.T) {
			p.clock.Set(onDay(2026, 11, 1)) // before 1 August: the 10 of June, 5 of it spent
			rep := must(p.pts.Expire(p.super.ctx))(t)
			if rep.Points != 5 {
				t.Fatalf("report %+v, want 5", rep)
			}
			p.wantPoints(t, me, 60, 70)
		})
		t.Run("as time passes the next earnings lapse in turn", func(t *testing.T) {
			p.clock.Set(onDay(2026, 11, 10)) // before 10 August: the 20 of 5 August too
			rep := must(p.pts.Expire(p.super.ctx))(t)
			if rep.Points != 20 {
				t.Fatalf("report %+v, want 20", rep)
			}
			s := p.wantPoints(t, me, 40, 70)
			if s.Expired != 25 {
				t.Fatalf("summary %+v", s)
			}
			if rep := must(p.pts.Expire(p.super.ctx))(t); rep.Points != 0 {
				t.Fatalf("a second run the same day lapsed %+v", rep)
			}
		})
		t.Run("a sub-org's own setting of never keeps its people's points from the county's year_end", func(t *testing.T) {
			p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.Expiry = jifen.ExpiryYearEnd })
			p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.Expiry = jifen.ExpiryNever })
			p.clock.Set(onDay(2027, 6, 1))
			if rep := must(p.pts.Expire(p.super.ctx))(t); rep.Points != 0 {
				t.Fatalf("report %+v", rep)
			}
			p.wantPoints(t, me, 40, 70)
		})
		p.verify(t)
	})
}

func TestExpiryMonthsAtMonthEnd(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminB.ctx, p.countyB, ruleIn("r20", 20))
		who := p.residentB.p.ID
		p.set(t, p.villageB, func(s *jifen.PointsSettings) { s.Expiry, s.ExpiryMonths = jifen.ExpiryMonths, 1 })
		p.clock.Set(onDay(2027, 3, 1))
		p.posted(t, p.adminB.ctx, who, r)

		t.Run("points earned on 1 March are not a month old on 31 March", func(t *testing.T) {
			p.clock.Set(onDay(2027, 3, 31))
			rep := must(p.pts.Expire(p.super.ctx))(t)
			if rep.Points == 20 {
				bug(t, "Expire in months mode lapses points less than N months old at the end of a month: sqldb/expiry.go:21 cutoff builds "+
					"time.Date(year, month-N, day), which normalises 31 February to 3 March, so on 31 March with N=1 everything earned before "+
					"3 March lapses, points of 1 and 2 March included; clamp the day to the length of the target month")
			}
			if rep.Points != 0 {
				t.Fatalf("report %+v, want nothing lapsed", rep)
			}
			p.wantPoints(t, who, 20, 20)
		})
		t.Run("a month and a day later they have lapsed, once", func(t *testing.T) {
			p.clock.Set(onDay(2027, 4, 2))
			must(p.pts.Expire(p.super.ctx))(t)
			if s := p.wantPoints(t, who, 0, 20); s.Expired != 20 {
				t.Fatalf("summary %+v", s)
			}
		})
		p.verify(t)
	})
}

func TestExpiryAfterAReversal(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r100 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("r100", 100))
		r50 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("r50", 50))
		r30 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("r30", 30))
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.Expiry = jifen.ExpiryYearEnd })
		me := p.resident

		t.Run("an old award reversed in the new year is not lapsed again", func(t *testing.T) {
			who := p.member(t, "旧分撤销", p.villageA)
			p.clock.Set(onDay(2026, 12, 1))
			p.posted(t, p.adminA.ctx, who.p.ID, r100)
			p.clock.Set(onDay(2026, 12, 30))
			old := p.posted(t, p.adminA.ctx, who.p.ID, r30)
			p.clock.Set(onDay(2027, 1, 3))
			ap := must(p.pts.Appeal(who.ctx, *old.TxID, "记错了"))(t)
			must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "撤销"))(t)
			p.clock.Set(onDay(2027, 2, 1))
			must(p.pts.Expire(p.super.ctx))(t)
			if s := p.wantPoints(t, who.p.ID, 0, 100); s.Expired != 100 {
				t.Fatalf("summary %+v", s)
			}
		})
		t.Run("reversing a new-year award does not save last year's points from lapsing", func(t *testing.T) {
			p.clock.Set(onDay(2027, 6, 1))
			p.posted(t, p.adminA.ctx, me.p.ID, r100) // last year's, by the time it lapses
			p.clock.Set(onDay(2028, 1, 5))
			fresh := p.posted(t, p.adminA.ctx, me.p.ID, r50)
			p.clock.Set(onDay(2028, 1, 6))
			ap := must(p.pts.Appeal(me.ctx, *fresh.TxID, "不是我"))(t)
			must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "撤销"))(t)
			p.wantPoints(t, me.p.ID, 100, 100)
			p.clock.Set(onDay(2028, 2, 1))
			rep := must(p.pts.Expire(p.super.ctx))(t)
			s := p.points(t, me.p.ID)
			if rep.Points == 50 && s.Balance == 50 {
				bug(t, "a reversal counts as spending the oldest points first: sqldb/expiry.go:133 subtracts every debit ever posted (the reversal "+
					"of a 2028 award included) from what was credited before the cutoff, so reversing a new award of 50 keeps 50 of last year's "+
					"100 points alive; a reversal (reverses_id set) should cancel its own credit, not older ones")
			}
			if rep.Points != 100 || s.Balance != 0 || s.Score != 100 {
				t.Fatalf("expiry %+v, summary %+v: want all 100 of 2027 lapsed and nothing left", rep, s)
			}
		})
		p.verify(t)
	})
}
