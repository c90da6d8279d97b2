package sqldb_test

import (
	"bytes"
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb/sqldbtest"
)

// rulesByCode lists the rules in force at an org, by code, as the super admin.
func (p *ptsFx) rulesByCode(t *testing.T, org *jifen.Org) map[string]*jifen.Rule {
	t.Helper()
	m := map[string]*jifen.Rule{}
	for _, r := range must(p.pts.Rules(p.super.ctx, org.ID))(t) {
		if m[r.Code] != nil {
			t.Fatalf("two rules with code %s in force at %s", r.Code, org.Name)
		}
		m[r.Code] = r
	}
	return m
}

func TestPointsRuleCatalogues(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		county := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("clean-yard", 5))
		elder := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help-elder", 10))
		village := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("clean-yard", 8))
		townPerson, _ := p.person(t, "镇居民", p.townA)

		t.Run("a county's rules are its own there, and the built-in service_hours rule is inherited everywhere", func(t *testing.T) {
			m := p.rulesByCode(t, p.countyA)
			if r := m["clean-yard"]; r == nil || r.ID != county.ID || r.Inherited || r.Points != 5 || r.OrgID != p.countyA.ID {
				t.Fatalf("clean-yard at the county = %+v", r)
			}
			if r := m["help-elder"]; r == nil || r.ID != elder.ID || r.Inherited {
				t.Fatalf("help-elder at the county = %+v", r)
			}
			if r := m[jifen.ServiceHoursCode]; r == nil || r.OrgID != 0 || !r.Inherited {
				t.Fatalf("service_hours at the county = %+v", r)
			}
		})
		t.Run("orgs below inherit the county's rules", func(t *testing.T) {
			m := p.rulesByCode(t, p.townA)
			if r := m["clean-yard"]; r == nil || r.ID != county.ID || !r.Inherited {
				t.Fatalf("clean-yard at the town = %+v", r)
			}
			if r := m["help-elder"]; r == nil || r.ID != elder.ID || !r.Inherited {
				t.Fatalf("help-elder at the town = %+v", r)
			}
		})
		t.Run("the same code at a lower org hides the upper rule there and below", func(t *testing.T) {
			m := p.rulesByCode(t, p.villageA)
			if r := m["clean-yard"]; r == nil || r.ID != village.ID || r.Inherited || r.Points != 8 {
				t.Fatalf("clean-yard at the village = %+v, want the village's own", r)
			}
			if r := m["help-elder"]; r == nil || r.ID != elder.ID || !r.Inherited {
				t.Fatalf("help-elder at the village = %+v", r)
			}
			m = p.rulesByCode(t, p.teamA)
			if r := m["clean-yard"]; r == nil || r.ID != village.ID || !r.Inherited {
				t.Fatalf("clean-yard at the team below the village = %+v, want the village's, inherited", r)
			}
		})
		t.Run("another branch inherits nothing from county A", func(t *testing.T) {
			m := p.rulesByCode(t, p.villageB)
			if m["clean-yard"] != nil || m["help-elder"] != nil || m[jifen.ServiceHoursCode] == nil {
				t.Fatalf("rules at village B: %v", m)
			}
		})
		t.Run("an award in the village uses the village's rule; the hidden county rule is refused on rule_id", func(t *testing.T) {
			aw := p.posted(t, p.adminA.ctx, p.resident.p.ID, village)
			if aw.Points != 8 || aw.RuleID != village.ID {
				t.Fatalf("award = %+v", aw)
			}
			before := p.rows(t)
			_, err := p.give(p.adminA.ctx, p.resident.p.ID, county)
			wantErr(t, err, jifen.KindInvalid, "invalid", "rule_id")
			p.unchanged(t, before)
			if aw := p.posted(t, p.adminA.ctx, townPerson.ID, county); aw.Points != 5 {
				t.Fatalf("the town's award = %+v, want the county rule's 5", aw)
			}
		})
		t.Run("a rule of another branch is refused on rule_id", func(t *testing.T) {
			other := p.rule(t, p.adminB.ctx, p.countyB, ruleIn("b-only", 3))
			_, err := p.give(p.super.ctx, p.resident.p.ID, other)
			wantErr(t, err, jifen.KindInvalid, "invalid", "rule_id")
		})
		t.Run("a second rule with the same code in one org is refused with code_taken", func(t *testing.T) {
			_, err := p.pts.CreateRule(p.adminA.ctx, p.countyA.ID, ruleIn("clean-yard", 6))
			wantErr(t, err, jifen.KindConflict, "code_taken", "")
		})
		t.Run("a village admin keeps the village's catalogue, not the county's", func(t *testing.T) {
			vadmin := p.user(t, "村管理员", p.villageA, p.villageA, jifen.RoleOrgAdmin)
			_, err := p.pts.UpdateRule(vadmin.ctx, county.ID, ruleIn("clean-yard", 50))
			wantKinds(t, err, refused...)
			must(p.pts.UpdateRule(vadmin.ctx, village.ID, ruleIn("clean-yard", 9)))(t)
			_, err = p.pts.CreateRule(p.adminB.ctx, p.villageA.ID, ruleIn("b-rule", 1))
			wantKinds(t, err, refused...)
		})
	})
}

func TestPointsRuleVersions(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		in := jifen.RuleInput{Code: "sweep", Name: "清扫街巷", Category: jifen.CatEnvironment, Points: 5}
		r := p.rule(t, p.adminA.ctx, p.countyA, in)
		if r.Version != 1 {
			t.Fatalf("a new rule is version %d, want 1", r.Version)
		}
		first := p.posted(t, p.adminA.ctx, p.resident.p.ID, r)
		if first.RuleVersion != 1 || first.Points != 5 || first.RuleName != "清扫街巷" {
			t.Fatalf("first award = %+v", first)
		}
		in.Name, in.Points = "清扫街巷（新标准）", 7
		up := must(p.pts.UpdateRule(p.adminA.ctx, r.ID, in))(t)
		t.Run("UpdateRule writes version 2 of the same rule", func(t *testing.T) {
			if up.ID != r.ID || up.Version != 2 || up.VersionID == r.VersionID || up.Points != 7 || up.Name != in.Name {
				t.Fatalf("updated rule = %+v (was %+v)", up, r)
			}
			if got := must(p.pts.Rule(p.resident.ctx, r.ID))(t); got.Version != 2 || got.Points != 7 {
				t.Fatalf("rule read back = %+v", got)
			}
		})
		t.Run("an award keeps the version it used after the rule changes", func(t *testing.T) {
			got := must(p.pts.GetAward(p.adminA.ctx, first.ID))(t)
			if got.RuleVersion != 1 || got.Points != 5 || got.RuleName != "清扫街巷" {
				t.Fatalf("the first award now reads %+v, want version 1 as it was", got)
			}
		})
		t.Run("a new award uses the new version", func(t *testing.T) {
			second := p.posted(t, p.adminA.ctx, p.resident.p.ID, r)
			if second.RuleVersion != 2 || second.Points != 7 || second.RuleName != in.Name {
				t.Fatalf("second award = %+v", second)
			}
			p.wantPoints(t, p.resident.p.ID, 12, 12)
		})
		t.Run("each update adds one version", func(t *testing.T) {
			in.Points = 9
			if got := must(p.pts.UpdateRule(p.adminA.ctx, r.ID, in))(t); got.Version != 3 {
				t.Fatalf("third update: version %d, want 3", got.Version)
			}
			if n := p.one(t, "SELECT COUNT(*) FROM rule_versions WHERE rule_id = ?", r.ID); n != 3 {
				t.Fatalf("%d versions stored, want 3", n)
			}
		})
		t.Run("the code of a rule cannot change", func(t *testing.T) {
			bad := in
			bad.Code = "sweep2"
			_, err := p.pts.UpdateRule(p.adminA.ctx, r.ID, bad)
			wantErr(t, err, jifen.KindInvalid, "invalid", "code")
		})
	})
}

func TestPointsRulesNotInForce(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		// The clock is 1 June 2026.
		archived := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("archived", 5))
		if err := p.pts.ArchiveRule(p.adminA.ctx, archived.ID); err != nil {
			t.Fatal(err)
		}
		early := ruleIn("not-yet", 5)
		early.ValidFrom = "2026-06-02"
		notYet := p.rule(t, p.adminA.ctx, p.countyA, early)
		late := ruleIn("expired", 5)
		late.ValidTo = "2026-05-31"
		expired := p.rule(t, p.adminA.ctx, p.countyA, late)
		today := ruleIn("today-only", 5)
		today.ValidFrom, today.ValidTo = "2026-06-01", "2026-06-01"
		todayOnly := p.rule(t, p.adminA.ctx, p.countyA, today)
		var builtin *jifen.Rule
		for _, r := range must(p.pts.Rules(p.super.ctx, p.villageA.ID))(t) {
			if r.Code == jifen.ServiceHoursCode {
				builtin = r
			}
		}
		override := p.rule(t, p.adminA.ctx, p.villageA, jifen.RuleInput{Code: jifen.ServiceHoursCode, Name: "村志愿服务时长", Points: 6, Unit: jifen.PerHour, DailyCap: 4})

		for _, tc := range []struct {
			name string
			rule *jifen.Rule
		}{
			{"an archived rule is refused on rule_id", archived},
			{"a rule not valid until tomorrow is refused on rule_id", notYet},
			{"a rule valid until yesterday is refused on rule_id", expired},
			{"the built-in service_hours rule cannot be awarded by hand", builtin},
			{"an org's override of service_hours cannot be awarded by hand either", override},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.rule == nil {
					t.Fatal("no rule")
				}
				before := p.rows(t)
				_, err := p.give(p.adminA.ctx, p.resident.p.ID, tc.rule)
				wantErr(t, err, jifen.KindInvalid, "invalid", "rule_id")
				_, err = p.give(p.super.ctx, p.resident.p.ID, tc.rule)
				wantErr(t, err, jifen.KindInvalid, "invalid", "rule_id")
				p.unchanged(t, before)
			})
		}
		t.Run("a rule valid only today can be used today", func(t *testing.T) {
			p.posted(t, p.adminA.ctx, p.resident.p.ID, todayOnly)
		})
		t.Run("the next day the rule not yet valid is in force and today's is expired", func(t *testing.T) {
			p.clock.Set(onDay(2026, 6, 2))
			p.posted(t, p.adminA.ctx, p.resident.p.ID, notYet)
			_, err := p.give(p.adminA.ctx, p.resident.p.ID, todayOnly)
			wantErr(t, err, jifen.KindInvalid, "invalid", "rule_id")
		})
		t.Run("updating an archived rule brings it back", func(t *testing.T) {
			must(p.pts.UpdateRule(p.adminA.ctx, archived.ID, ruleIn("archived", 6)))(t)
			if aw := p.posted(t, p.adminA.ctx, p.resident.p.ID, archived); aw.Points != 6 {
				t.Fatalf("award = %+v", aw)
			}
		})
	})
}

// capStep is one award in a cap scenario: on a day, a quantity, and the
// error code wanted ("" for success).
type capStep struct {
	at   time.Time
	qty  int64
	want string
}

func TestPointsRuleCaps(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		// The cases run in order and the clock only moves forward.
		cases := []struct {
			name  string
			caps  func(in *jifen.RuleInput)
			steps []capStep
		}{
			{"a daily cap of 2 refuses the third award of a day and allows one the next day",
				func(in *jifen.RuleInput) { in.DailyCap = 2 },
				[]capStep{{onDay(2026, 6, 1), 1, ""}, {onDay(2026, 6, 1), 1, ""}, {onDay(2026, 6, 1), 1, "cap_exceeded"}, {onDay(2026, 6, 2), 1, ""}}},
			{"a monthly cap of 3 counts quantities over the calendar month",
				func(in *jifen.RuleInput) { in.MonthlyCap = 3 },
				[]capStep{{onDay(2026, 6, 3), 1, ""}, {onDay(2026, 6, 15), 3, "cap_exceeded"}, {onDay(2026, 6, 15), 2, ""}, {onDay(2026, 6, 30), 1, "cap_exceeded"}, {onDay(2026, 7, 1), 1, ""}}},
			{"a yearly cap of 2 counts over the calendar year",
				func(in *jifen.RuleInput) { in.YearlyCap = 2 },
				[]capStep{{onDay(2026, 7, 2), 1, ""}, {onDay(2026, 12, 31), 1, ""}, {onDay(2026, 12, 31), 1, "cap_exceeded"}, {onDay(2027, 1, 1), 1, ""}}},
			{"a life cap of 1 allows the award once only, ever",
				func(in *jifen.RuleInput) { in.LifeCap = 1 },
				[]capStep{{onDay(2027, 1, 2), 1, ""}, {onDay(2027, 1, 3), 1, "cap_exceeded"}, {onDay(2028, 6, 1), 1, "cap_exceeded"}}},
			{"the quantity counts against the cap, not the number of awards",
				func(in *jifen.RuleInput) { in.DailyCap = 3 },
				[]capStep{{onDay(2028, 6, 2), 4, "cap_exceeded"}, {onDay(2028, 6, 2), 3, ""}, {onDay(2028, 6, 2), 1, "cap_exceeded"}}},
			{"a day is the China calendar day: 23:30 and 00:30 are two days, 00:30 and 07:59 one",
				func(in *jifen.RuleInput) { in.DailyCap = 1 },
				[]capStep{{time.Date(2028, 6, 10, 23, 30, 0, 0, jifen.Zone), 1, ""}, {time.Date(2028, 6, 11, 0, 30, 0, 0, jifen.Zone), 1, ""},
					{time.Date(2028, 6, 11, 7, 59, 0, 0, jifen.Zone), 1, "cap_exceeded"}}},
			{"the tighter of several caps applies",
				func(in *jifen.RuleInput) { in.DailyCap, in.MonthlyCap = 2, 3 },
				[]capStep{{onDay(2028, 7, 1), 2, ""}, {onDay(2028, 7, 1), 1, "cap_exceeded"}, {onDay(2028, 7, 2), 2, "cap_exceeded"}, {onDay(2028, 7, 2), 1, ""}, {onDay(2028, 7, 3), 1, "cap_exceeded"}}},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				in := ruleIn(fmt.Sprintf("capped-%d", i), 2)
				tc.caps(&in)
				r := p.rule(t, p.adminA.ctx, p.countyA, in)
				who, _ := p.person(t, fmt.Sprintf("上限%d", i), p.villageA)
				var want int64
				for j, s := range tc.steps {
					p.clock.Set(s.at)
					before := p.rows(t)
					aw, err := p.pts.Award(p.adminA.ctx, jifen.AwardInput{PersonID: who.ID, RuleID: r.ID, Quantity: s.qty, Key: p.key()})
					if s.want == "" {
						if err != nil {
							t.Fatalf("step %d (%s ×%d): %v", j, s.at.Format("2006-01-02"), s.qty, err)
						}
						if aw.Points != 2*s.qty || aw.Status != jifen.AwardPosted {
							t.Fatalf("step %d: award %+v", j, aw)
						}
						want += 2 * s.qty
						continue
					}
					if err == nil {
						t.Fatalf("step %d (%s ×%d): awarded %+v, want %s", j, s.at.Format("2006-01-02"), s.qty, aw, s.want)
					}
					wantCode(t, err, jifen.KindConflict, s.want)
					p.unchanged(t, before)
				}
				p.wantPoints(t, who.ID, want, want)
			})
		}
		t.Run("a pending claim counts against the cap until it is rejected", func(t *testing.T) {
			in := ruleIn("capped-claim", 2)
			in.DailyCap = 1
			r := p.rule(t, p.adminA.ctx, p.countyA, in)
			me := p.member(t, "申报人", p.villageA)
			claim := p.award(t, me.ctx, me.p.ID, r)
			if claim.Status != jifen.AwardPending {
				t.Fatalf("claim = %+v", claim)
			}
			_, err := p.give(p.adminA.ctx, me.p.ID, r)
			wantCode(t, err, jifen.KindConflict, "cap_exceeded")
			must(p.pts.Reject(p.reviewer.ctx, claim.ID, "照片看不清"))(t)
			p.posted(t, p.adminA.ctx, me.p.ID, r)
		})
		t.Run("caps count per person", func(t *testing.T) {
			in := ruleIn("capped-each", 2)
			in.LifeCap = 1
			r := p.rule(t, p.adminA.ctx, p.countyA, in)
			a, _ := p.person(t, "甲某", p.villageA)
			b, _ := p.person(t, "乙某", p.villageA)
			p.posted(t, p.adminA.ctx, a.ID, r)
			p.posted(t, p.adminA.ctx, b.ID, r)
		})
	})
}

func TestPointsOrgDailyCap(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		// Yeji's rule: at most 100 points a person a day across all rules.
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.DailyCap = 100 })
		if s := must(p.pts.Settings(p.super.ctx, p.villageA.ID))(t); s.DailyCap != 100 || s.FromOrgID != p.countyA.ID {
			t.Fatalf("the village's settings = %+v, want the county's daily cap", s)
		}
		r60 := p.rule(t, p.super.ctx, p.root, ruleIn("r60", 60))
		r50 := p.rule(t, p.super.ctx, p.root, ruleIn("r50", 50))
		r40 := p.rule(t, p.super.ctx, p.root, ruleIn("r40", 40))
		fine := p.rule(t, p.super.ctx, p.root, ruleIn("fine", -10))
		who := p.resident.p.ID

		t.Run("60 then 50 in a day is over 100 across rules: cap_exceeded", func(t *testing.T) {
			p.posted(t, p.adminA.ctx, who, r60)
			before := p.rows(t)
			_, err := p.give(p.adminA.ctx, who, r50)
			wantCode(t, err, jifen.KindConflict, "cap_exceeded")
			p.unchanged(t, before)
		})
		t.Run("40 more reaches exactly 100", func(t *testing.T) {
			p.posted(t, p.adminA.ctx, who, r40)
		})
		t.Run("a deduction is not limited and frees nothing", func(t *testing.T) {
			p.posted(t, p.adminA.ctx, who, fine)
			_, err := p.give(p.adminA.ctx, who, r40)
			wantCode(t, err, jifen.KindConflict, "cap_exceeded")
		})
		t.Run("another person has their own 100", func(t *testing.T) {
			other, _ := p.person(t, "另一位", p.villageA)
			p.posted(t, p.adminA.ctx, other.ID, r60)
			p.posted(t, p.adminA.ctx, other.ID, r40)
		})
		t.Run("another county without a cap is not limited", func(t *testing.T) {
			for _, r := range []*jifen.Rule{r60, r50, r40} {
				p.posted(t, p.adminB.ctx, p.residentB.p.ID, r)
			}
		})
		t.Run("the next day starts again", func(t *testing.T) {
			p.clock.Set(onDay(2026, 6, 2))
			p.posted(t, p.adminA.ctx, who, r50)
			p.posted(t, p.adminA.ctx, who, r50)
			p.wantPoints(t, who, 60+40-10+100, 60+40-10+100)
		})
	})
}

func TestPointsBudget(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.YearlyBudget = 100 })
		p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.YearlyBudget = 10 })
		county := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("county-30", 30))
		town := p.rule(t, p.adminA.ctx, p.townA, ruleIn("town-30", 30))
		fine := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("county-fine", -30))
		review := ruleIn("county-review", 30)
		review.NeedsReview = true
		reviewed := p.rule(t, p.adminA.ctx, p.countyA, review)
		people := make([]*jifen.Person, 6)
		users := make([]user, 6)
		for i := range people {
			users[i] = p.member(t, fmt.Sprintf("预算%d", i), p.villageA)
			people[i] = users[i].p
		}

		t.Run("the budget is the org's own and never inherited", func(t *testing.T) {
			if s := must(p.pts.Settings(p.super.ctx, p.countyA.ID))(t); s.YearlyBudget != 100 {
				t.Fatalf("county settings %+v", s)
			}
			if s := must(p.pts.Settings(p.super.ctx, p.townA.ID))(t); s.YearlyBudget != 0 || s.FromOrgID != p.countyA.ID {
				t.Fatalf("town settings %+v, want the county's without its budget", s)
			}
		})
		var awarded []*jifen.Award
		t.Run("a county rule draws on the county's budget, not the village's, where the person lives", func(t *testing.T) {
			for i := range 3 {
				awarded = append(awarded, p.posted(t, p.adminA.ctx, people[i].ID, county))
			}
		})
		t.Run("a village rule draws on the village's own budget of 10", func(t *testing.T) {
			village := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("village-30", 30))
			_, err := p.give(p.adminA.ctx, people[5].ID, village)
			wantCode(t, err, jifen.KindConflict, "budget_exceeded")
		})
		pending := p.award(t, p.adminA.ctx, people[4].ID, reviewed)
		t.Run("the fourth award of 30 from a budget of 100 is budget_exceeded and writes nothing", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.give(p.adminA.ctx, people[3].ID, county)
			wantCode(t, err, jifen.KindConflict, "budget_exceeded")
			p.unchanged(t, before)
		})
		t.Run("approving a pending award beyond the budget is budget_exceeded and it stays pending", func(t *testing.T) {
			_, err := p.pts.Approve(p.reviewer.ctx, pending.ID)
			wantCode(t, err, jifen.KindConflict, "budget_exceeded")
			if got := must(p.pts.GetAward(p.adminA.ctx, pending.ID))(t); got.Status != jifen.AwardPending {
				t.Fatalf("the award is %s", got.Status)
			}
		})
		t.Run("a town rule is the town's to issue: the county's budget does not limit it", func(t *testing.T) {
			p.posted(t, p.adminA.ctx, people[3].ID, town)
		})
		t.Run("a deduction needs no budget", func(t *testing.T) {
			p.posted(t, p.adminA.ctx, people[0].ID, fine)
		})
		t.Run("an award reversed after an appeal gives its points back to the budget", func(t *testing.T) {
			if len(awarded) != 3 {
				t.Fatal("needs the three awards above")
			}
			ap := must(p.pts.Appeal(users[1].ctx, *awarded[1].TxID, "不是我做的"))(t)
			must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "核实属实，撤销"))(t)
			p.posted(t, p.adminA.ctx, people[5].ID, county)
			_, err := p.give(p.adminA.ctx, people[3].ID, county)
			wantCode(t, err, jifen.KindConflict, "budget_exceeded")
		})
		t.Run("a new calendar year, in China time, has the whole budget again", func(t *testing.T) {
			p.clock.Set(time.Date(2027, 1, 1, 0, 30, 0, 0, jifen.Zone)) // still 2026 in UTC
			for range 3 {
				p.posted(t, p.adminA.ctx, people[3].ID, county)
			}
			_, err := p.give(p.adminA.ctx, people[3].ID, county)
			wantCode(t, err, jifen.KindConflict, "budget_exceeded")
		})
		t.Run("raising the budget mid-year takes effect at once", func(t *testing.T) {
			p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.YearlyBudget = 130 })
			p.posted(t, p.adminA.ctx, people[3].ID, county)
			_, err := p.give(p.adminA.ctx, people[3].ID, county)
			wantCode(t, err, jifen.KindConflict, "budget_exceeded")
		})
		t.Run("a reversal gives the budget only what it took back, not points already spent", func(t *testing.T) {
			// 120 of 160 used: 40 left, 10 after this award.
			p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.YearlyBudget = 160 })
			aw := p.posted(t, p.adminA.ctx, people[4].ID, county)
			p.spend(t, people[4].ID, 20)
			ap := must(p.pts.Appeal(users[4].ctx, *aw.TxID, "不是我做的"))(t)
			must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "核实属实，撤销"))(t)
			if got := p.points(t, people[4].ID); got.Balance != 0 {
				t.Fatalf("balance after the reversal %d, want 0", got.Balance)
			}
			// The reversal took back 10 (20 were spent): 20 left, not 40.
			ten := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("county-10", 10))
			p.posted(t, p.adminA.ctx, people[3].ID, ten)
			p.posted(t, p.adminA.ctx, people[3].ID, ten)
			_, err := p.give(p.adminA.ctx, people[3].ID, ten)
			wantCode(t, err, jifen.KindConflict, "budget_exceeded")
		})
		p.verify(t)
	})
}

func TestPointsIdempotency(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		in := jifen.AwardInput{PersonID: p.resident.p.ID, RuleID: r.ID, Quantity: 2, Note: "帮助邻居收麦", Key: "idem-1"}
		first := must(p.pts.Award(p.adminA.ctx, in))(t)
		if first.Status != jifen.AwardPosted || first.Points != 20 || first.TxID == nil {
			t.Fatalf("first = %+v", first)
		}

		t.Run("the same key and body returns the same award and writes nothing", func(t *testing.T) {
			before := p.rows(t)
			for range 3 {
				again := must(p.pts.Award(p.adminA.ctx, in))(t)
				if again.ID != first.ID || again.TxID == nil || *again.TxID != *first.TxID || again.Points != 20 {
					t.Fatalf("retry = %+v, want award %d", again, first.ID)
				}
			}
			p.unchanged(t, before)
			p.wantPoints(t, p.resident.p.ID, 20, 20)
		})
		for _, tc := range []struct {
			name   string
			change func(in *jifen.AwardInput)
		}{
			{"the same key with another quantity is idempotency_mismatch", func(in *jifen.AwardInput) { in.Quantity = 3 }},
			{"the same key with another note is idempotency_mismatch", func(in *jifen.AwardInput) { in.Note = "别的事" }},
			{"the same key for another person is idempotency_mismatch", func(in *jifen.AwardInput) { in.PersonID = p.leader.p.ID }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				other := in
				tc.change(&other)
				before := p.rows(t)
				_, err := p.pts.Award(p.adminA.ctx, other)
				wantCode(t, err, jifen.KindConflict, "idempotency_mismatch")
				p.unchanged(t, before)
			})
		}
		t.Run("an award needs a key", func(t *testing.T) {
			noKey := in
			noKey.Key = " "
			_, err := p.pts.Award(p.adminA.ctx, noKey)
			wantErr(t, err, jifen.KindInvalid, "invalid", "idempotency_key")
		})
		t.Run("a key is its sender's: another admin using the same key makes a new award", func(t *testing.T) {
			aw := must(p.pts.Award(p.reviewer.ctx, in))(t)
			if aw.ID == first.ID || aw.Status != jifen.AwardPosted {
				t.Fatalf("the reviewer's award = %+v", aw)
			}
			p.wantPoints(t, p.resident.p.ID, 40, 40)
		})
		t.Run("a retried claim returns the same pending claim", func(t *testing.T) {
			claim := jifen.AwardInput{PersonID: p.resident.p.ID, RuleID: r.ID, Key: "claim-1"}
			a := must(p.pts.Award(p.resident.ctx, claim))(t)
			before := p.rows(t)
			b := must(p.pts.Award(p.resident.ctx, claim))(t)
			if a.ID != b.ID || b.Status != jifen.AwardPending {
				t.Fatalf("claims %+v and %+v", a, b)
			}
			p.unchanged(t, before)
		})
	})
}

func TestPointsMakerChecker(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		rv := ruleIn("reviewed", 20)
		rv.NeedsReview = true
		reviewed := p.rule(t, p.adminA.ctx, p.countyA, rv)
		fine := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("fine", -5))

		var own *jifen.Award
		t.Run("an admin awarding themselves files a pending claim and posts nothing", func(t *testing.T) {
			before := p.one(t, "SELECT COUNT(*) FROM ledger_transactions")
			own = p.award(t, p.adminA.ctx, p.adminA.p.ID, r)
			if own.Status != jifen.AwardPending || own.Source != jifen.SourceClaim || own.TxID != nil || own.CreatedBy != p.adminA.p.ID {
				t.Fatalf("own award = %+v", own)
			}
			if n := p.one(t, "SELECT COUNT(*) FROM ledger_transactions"); n != before {
				t.Fatal("a pending claim was posted to the ledger")
			}
			p.wantPoints(t, p.adminA.p.ID, 0, 0)
		})
		if own == nil {
			t.Fatal("the steps below need the claim")
		}
		t.Run("approving one's own claim is self_approval", func(t *testing.T) {
			_, err := p.pts.Approve(p.adminA.ctx, own.ID)
			wantCode(t, err, jifen.KindConflict, "self_approval")
			_, err = p.pts.Reject(p.adminA.ctx, own.ID, "不行")
			wantCode(t, err, jifen.KindConflict, "self_approval")
		})
		t.Run("a resident or another county's admin cannot decide it at all", func(t *testing.T) {
			_, err := p.pts.Approve(p.resident.ctx, own.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			_, err = p.pts.Approve(p.adminB.ctx, own.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("a reviewer approves it: posted, decided by the reviewer", func(t *testing.T) {
			got := must(p.pts.Approve(p.reviewer.ctx, own.ID))(t)
			if got.Status != jifen.AwardPosted || got.TxID == nil || got.DecidedBy == nil || *got.DecidedBy != p.reviewer.p.ID || got.PostedAt == nil {
				t.Fatalf("approved = %+v", got)
			}
			p.wantPoints(t, p.adminA.p.ID, 10, 10)
		})
		t.Run("approving or rejecting again is already_decided", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.pts.Approve(p.reviewer.ctx, own.ID)
			wantCode(t, err, jifen.KindConflict, "already_decided")
			_, err = p.pts.Reject(p.super.ctx, own.ID, "重复")
			wantCode(t, err, jifen.KindConflict, "already_decided")
			p.unchanged(t, before)
			p.wantPoints(t, p.adminA.p.ID, 10, 10)
		})
		t.Run("a rule that needs review makes an admin's award pending; its maker cannot approve it", func(t *testing.T) {
			aw := p.award(t, p.adminA.ctx, p.resident.p.ID, reviewed)
			if aw.Status != jifen.AwardPending || aw.Source != jifen.SourceManual {
				t.Fatalf("award = %+v", aw)
			}
			_, err := p.pts.Approve(p.adminA.ctx, aw.ID)
			wantCode(t, err, jifen.KindConflict, "self_approval")
			p.wantPoints(t, p.resident.p.ID, 0, 0)
			must(p.pts.Approve(p.reviewer.ctx, aw.ID))(t)
			p.wantPoints(t, p.resident.p.ID, 20, 20)
		})
		t.Run("an award that benefits the reviewer is self_approval for them", func(t *testing.T) {
			aw := p.award(t, p.adminA.ctx, p.reviewer.p.ID, reviewed)
			_, err := p.pts.Approve(p.reviewer.ctx, aw.ID)
			wantCode(t, err, jifen.KindConflict, "self_approval")
			if got := must(p.pts.Approve(p.super.ctx, aw.ID))(t); got.Status != jifen.AwardPosted {
				t.Fatalf("approved by the super admin: %+v", got)
			}
		})
		t.Run("a rejection needs a reason, posts nothing and tells the person", func(t *testing.T) {
			claim := p.award(t, p.resident.ctx, p.resident.p.ID, r)
			_, err := p.pts.Reject(p.reviewer.ctx, claim.ID, " ")
			wantErr(t, err, jifen.KindInvalid, "invalid", "reason")
			got := must(p.pts.Reject(p.reviewer.ctx, claim.ID, "没有这回事"))(t)
			if got.Status != jifen.AwardRejected || got.RejectReason != "没有这回事" || got.TxID != nil {
				t.Fatalf("rejected = %+v", got)
			}
			if m := p.msgs(t, p.resident.ctx, "积分申报未通过"); len(m) != 1 || !strings.Contains(m[0].Body, "没有这回事") {
				t.Fatalf("messages %+v", m)
			}
			_, err = p.pts.Approve(p.reviewer.ctx, claim.ID)
			wantCode(t, err, jifen.KindConflict, "already_decided")
			p.wantPoints(t, p.resident.p.ID, 20, 20)
		})
		t.Run("a resident cannot claim a deduction", func(t *testing.T) {
			_, err := p.give(p.resident.ctx, p.resident.p.ID, fine)
			wantErr(t, err, jifen.KindInvalid, "invalid", "rule_id")
		})
		t.Run("a resident, a team leader or another county's admin cannot award someone else", func(t *testing.T) {
			before := p.rows(t)
			for _, by := range []user{p.residentB, p.leader, p.adminB} {
				_, err := p.give(by.ctx, p.resident.p.ID, r)
				wantKinds(t, err, refused...)
			}
			_, err := p.give(p.resident.ctx, p.leader.p.ID, r)
			wantKinds(t, err, refused...)
			p.unchanged(t, before)
		})
	})
}

func TestPointsEvidence(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		in := ruleIn("photo", 10)
		in.NeedsEvidence = true
		r := p.rule(t, p.adminA.ctx, p.countyA, in)
		photo := exifJPEG(t)

		t.Run("a resident's claim without the photo the rule needs is refused on photo", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.give(p.resident.ctx, p.resident.p.ID, r)
			wantErr(t, err, jifen.KindInvalid, "invalid", "photo")
			p.unchanged(t, before)
		})
		t.Run("what is not a photo is refused on photo", func(t *testing.T) {
			_, err := p.pts.Award(p.resident.ctx, jifen.AwardInput{PersonID: p.resident.p.ID, RuleID: r.ID, Key: p.key(), Evidence: []byte("not a photo at all")})
			wantErr(t, err, jifen.KindInvalid, "invalid", "photo")
		})
		var claim *jifen.Award
		t.Run("with the photo it is a pending claim with evidence", func(t *testing.T) {
			claim = must(p.pts.Award(p.resident.ctx, jifen.AwardInput{PersonID: p.resident.p.ID, RuleID: r.ID, Key: p.key(), Evidence: photo}))(t)
			p.sameAsRead(t, p.resident.ctx, claim)
			if claim.Status != jifen.AwardPending || !claim.HasEvidence || claim.Source != jifen.SourceClaim {
				t.Fatalf("claim = %+v", claim)
			}
		})
		if claim == nil {
			t.Fatal("the steps below need the claim")
		}
		t.Run("the stored photo is a fresh JPEG without the EXIF segment", func(t *testing.T) {
			for _, by := range []user{p.resident, p.reviewer} {
				got := must(p.pts.AwardEvidence(by.ctx, claim.ID))(t)
				if _, format, err := image.DecodeConfig(bytes.NewReader(got)); err != nil || format != "jpeg" {
					t.Fatalf("stored evidence is not a JPEG: %v %q", err, format)
				}
				if hasExif(got) {
					t.Fatal("the stored photo still carries an EXIF segment")
				}
				if bytes.Contains(got, []byte("GPS 35.0700N")) || bytes.Equal(got, photo) {
					t.Fatal("the stored photo still holds the camera's metadata")
				}
			}
		})
		t.Run("someone of another branch cannot see the award or its photo", func(t *testing.T) {
			_, err := p.pts.AwardEvidence(p.residentB.ctx, claim.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			_, err = p.pts.GetAward(p.residentB.ctx, claim.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("a PNG is accepted and kept as JPEG", func(t *testing.T) {
			aw := must(p.pts.Award(p.leader.ctx, jifen.AwardInput{PersonID: p.leader.p.ID, RuleID: r.ID, Key: p.key(), Evidence: sqldbtest.PNG(0)}))(t)
			got := must(p.pts.AwardEvidence(p.leader.ctx, aw.ID))(t)
			if _, format, err := image.DecodeConfig(bytes.NewReader(got)); err != nil || format != "jpeg" {
				t.Fatalf("stored evidence: %v %q", err, format)
			}
		})
		t.Run("an award without a photo has no evidence to read", func(t *testing.T) {
			aw := p.posted(t, p.adminA.ctx, p.resident.p.ID, r)
			if aw.HasEvidence {
				t.Fatalf("award %+v", aw)
			}
			_, err := p.pts.AwardEvidence(p.adminA.ctx, aw.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
	})
}

func TestPointsDeductions(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		plus := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("plus", 15))
		minus := p.rule(t, p.adminA.ctx, p.countyA, jifen.RuleInput{Code: "litter", Name: "乱扔垃圾", Category: jifen.CatEnvironment, Points: -20})
		who := p.resident.p.ID
		p.posted(t, p.adminA.ctx, who, plus)

		t.Run("a deduction larger than the balance takes it to zero and records the shortfall on award and transaction", func(t *testing.T) {
			aw := p.posted(t, p.adminA.ctx, who, minus)
			if aw.Points != -20 || aw.Shortfall != 5 {
				t.Fatalf("deduction = %+v, want -20 with shortfall 5", aw)
			}
			tx := p.tx(t, *aw.TxID)
			if tx.Kind != jifen.TxDeduction || tx.Shortfall != 5 {
				t.Fatalf("transaction = %+v", tx)
			}
			acct := must(p.ledger.Account(p.super.ctx, jifen.AccountPerson, who))(t)
			var leg *jifen.Posting
			for i := range tx.Postings {
				if tx.Postings[i].AccountID == acct.ID {
					leg = &tx.Postings[i]
				}
			}
			if leg == nil || leg.Amount != -15 || leg.Score != -20 {
				t.Fatalf("the person's leg = %+v", leg)
			}
			s := p.wantPoints(t, who, 0, -5)
			if s.Earned != 15 || s.Deducted != 20 || s.Spent != 0 {
				t.Fatalf("summary = %+v", s)
			}
			if m := p.msgs(t, p.resident.ctx, "积分扣减"); len(m) != 1 || !strings.Contains(m[0].Body, "实际扣减15分") {
				t.Fatalf("messages %+v", m)
			}
		})
		t.Run("a deduction from nothing takes nothing and the score still takes it all", func(t *testing.T) {
			aw := p.posted(t, p.adminA.ctx, who, minus)
			if aw.Shortfall != 20 {
				t.Fatalf("deduction = %+v", aw)
			}
			p.wantPoints(t, who, 0, -25)
		})
		t.Run("a deduction within the balance has no shortfall", func(t *testing.T) {
			p.posted(t, p.adminA.ctx, who, plus)
			p.posted(t, p.adminA.ctx, who, plus)
			aw := p.posted(t, p.adminA.ctx, who, minus)
			if aw.Shortfall != 0 || p.tx(t, *aw.TxID).Shortfall != 0 {
				t.Fatalf("deduction = %+v", aw)
			}
			p.wantPoints(t, who, 10, -15)
		})
		p.verify(t)
	})
}

func TestPointsTwoFaces(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 50))
		fine := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("fine", -20))
		who := p.resident.p.ID
		must(p.pts.Award(p.adminA.ctx, jifen.AwardInput{PersonID: who, RuleID: r.ID, Quantity: 2, Key: p.key()}))(t)
		p.posted(t, p.adminA.ctx, who, fine)

		t.Run("awards and deductions move balance and score together", func(t *testing.T) {
			s := p.wantPoints(t, who, 80, 80)
			if s.Earned != 100 || s.Deducted != 20 || s.Spent != 0 || s.Expired != 0 {
				t.Fatalf("summary %+v", s)
			}
		})
		t.Run("spending lowers the balance and not the score", func(t *testing.T) {
			p.spend(t, who, 30)
			s := p.wantPoints(t, who, 50, 80)
			if s.Earned != 100 || s.Deducted != 20 || s.Spent != 30 {
				t.Fatalf("summary %+v", s)
			}
			if own := must(p.pts.Points(p.resident.ctx, who))(t); own.Balance != 50 || own.Score != 80 {
				t.Fatalf("the person's own view %+v", own)
			}
		})
		t.Run("spending more than the balance is insufficient_points and writes nothing", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.trySpend(who, 51)
			wantCode(t, err, jifen.KindConflict, "insufficient_points")
			p.unchanged(t, before)
		})
		t.Run("only a super admin posts to the ledger directly", func(t *testing.T) {
			from := must(p.ledger.Account(p.super.ctx, jifen.AccountPerson, who))(t)
			_, err := p.ledger.Post(p.adminA.ctx, spendIn("by-admin", from, p.store(t), 1))
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
		})
		t.Run("someone of another branch cannot read the points", func(t *testing.T) {
			_, err := p.pts.Points(p.residentB.ctx, who)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		p.verify(t)
	})
}

func TestPointsLedgerLines(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r10 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("r10", 10))
		r20 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("r20", 20))
		fine := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("fine", -5))
		who := p.resident.p.ID
		a1 := p.posted(t, p.adminA.ctx, who, r10)
		p.clock.Advance(time.Minute)
		a2 := p.posted(t, p.adminA.ctx, who, r20)
		p.clock.Advance(time.Minute)
		a3 := p.posted(t, p.adminA.ctx, who, fine)
		p.clock.Advance(time.Minute)
		spent := p.spend(t, who, 7)
		type line struct {
			tx      int64
			kind    jifen.TxKind
			amount  int64
			balance int64
			award   int64
		}
		want := []line{{spent.ID, jifen.TxRedemption, -7, 18, 0}, {*a3.TxID, jifen.TxDeduction, -5, 25, a3.ID}, {*a2.TxID, jifen.TxAward, 20, 30, a2.ID}, {*a1.TxID, jifen.TxAward, 10, 10, a1.ID}}
		check := func(t *testing.T, got []*jifen.LedgerLine, want []line) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%d lines, want %d", len(got), len(want))
			}
			for i, l := range got {
				award := int64(0)
				if l.AwardID != nil {
					award = *l.AwardID
				}
				if (line{l.TxID, l.Kind, l.Amount, l.Balance, award}) != want[i] {
					t.Fatalf("line %d = %+v (award %d), want %+v", i, l, award, want[i])
				}
			}
		}
		t.Run("lines are newest first with the balance after each", func(t *testing.T) {
			got, total := must2(p.pts.Ledger(p.resident.ctx, jifen.LedgerFilter{PersonID: who}))(t)
			if total != 4 {
				t.Fatalf("total %d", total)
			}
			check(t, got, want)
			if !got[0].CreatedAt.After(got[3].CreatedAt) {
				t.Fatalf("newest %s, oldest %s", got[0].CreatedAt, got[3].CreatedAt)
			}
		})
		t.Run("pages keep the total and the running balance", func(t *testing.T) {
			page1, total := must2(p.pts.Ledger(p.resident.ctx, jifen.LedgerFilter{PersonID: who, PerPage: 3}))(t)
			if total != 4 {
				t.Fatalf("total %d", total)
			}
			check(t, page1, want[:3])
			page2, total := must2(p.pts.Ledger(p.resident.ctx, jifen.LedgerFilter{PersonID: who, PerPage: 3, Page: 2}))(t)
			if total != 4 {
				t.Fatalf("total on page 2: %d", total)
			}
			check(t, page2, want[3:])
		})
		t.Run("staff over the person read it; someone of another branch does not", func(t *testing.T) {
			l, _ := must2(p.pts.Ledger(p.adminA.ctx, jifen.LedgerFilter{PersonID: who}))(t)
			check(t, l, want)
			_, _, err := p.pts.Ledger(p.residentB.ctx, jifen.LedgerFilter{PersonID: who})
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("someone with no points has no lines", func(t *testing.T) {
			l, total := must2(p.pts.Ledger(p.leader.ctx, jifen.LedgerFilter{PersonID: p.leader.p.ID}))(t)
			if len(l) != 0 || total != 0 {
				t.Fatalf("%d lines, total %d", len(l), total)
			}
		})
	})
}

func TestPointsServiceHours(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		v1, v2, v3 := p.member(t, "服务一", p.villageA), p.member(t, "服务二", p.villageA), p.member(t, "服务三", p.villageA)
		act := p.serveAt(t, p.teamA, 93*time.Minute, 10, []user{v1, v2, v3}, []time.Duration{0, 6 * time.Minute, 7 * time.Minute})

		t.Run("verified hours post service awards at the activity's rate, rounded half up per record", func(t *testing.T) {
			for _, c := range []struct {
				u       user
				minutes int
				points  int64
			}{{v1, 93, 16}, {v2, 87, 15}, {v3, 86, 14}} {
				rec := p.recordOf(t, c.u.p.ID, act.ID, jifen.HowSelf)
				if rec == nil || rec.Minutes != c.minutes {
					t.Fatalf("%s's record %+v, want %d minutes", c.u.p.Name, rec, c.minutes)
				}
				aws := p.serviceAwards(t, c.u.p.ID)
				if len(aws) != 1 {
					t.Fatalf("%s has %d service awards", c.u.p.Name, len(aws))
				}
				aw := aws[0]
				if aw.Points != c.points || aw.Status != jifen.AwardPosted || aw.RuleCode != jifen.ServiceHoursCode || aw.TxID == nil {
					t.Fatalf("%s's service award %+v, want %d points", c.u.p.Name, aw, c.points)
				}
				if tx := p.tx(t, *aw.TxID); tx.Kind != jifen.TxAward {
					t.Fatalf("transaction kind %s", tx.Kind)
				}
				p.wantPoints(t, c.u.p.ID, c.points, c.points)
			}
		})
		t.Run("a record correction posts a correction so the points match the new minutes", func(t *testing.T) {
			rec := p.recordOf(t, v1.p.ID, act.ID, jifen.HowSelf)
			for _, c := range []struct {
				minutes int
				points  int64
				delta   int64
			}{{60, 10, -6}, {93, 16, 6}, {30, 5, -11}} {
				must(p.recs.Correct(p.adminA.ctx, rec.ID, c.minutes, fmt.Sprintf("核对签到表：%d分钟", c.minutes)))(t)
				p.wantPoints(t, v1.p.ID, c.points, c.points)
				top := p.ledgerOf(t, v1.p.ID)[0]
				if top.Kind != jifen.TxCorrection || top.Amount != c.delta {
					t.Fatalf("after correcting to %d minutes the newest line is %+v, want a correction of %+d", c.minutes, top, c.delta)
				}
			}
		})
		v4 := p.member(t, "补录者", p.villageA)
		t.Run("back-filled hours earn nothing unless the activity's org lets them", func(t *testing.T) {
			act := p.backfillAt(t, p.teamA, 2*time.Hour, 10, v4)
			if rec := p.recordOf(t, v4.p.ID, act.ID, jifen.HowBackfilled); rec == nil || rec.Minutes != 120 {
				t.Fatalf("back-filled record %+v", rec)
			}
			if aws := p.serviceAwards(t, v4.p.ID); len(aws) != 0 {
				t.Fatalf("back-filled hours earned %+v", aws)
			}
			p.wantPoints(t, v4.p.ID, 0, 0)
		})
		t.Run("with BackfillEarns set above the activity's org, back-filled hours earn at the rate", func(t *testing.T) {
			p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.BackfillEarns = true })
			p.backfillAt(t, p.teamA, 2*time.Hour, 10, v4)
			p.wantPoints(t, v4.p.ID, 20, 20)
		})
		t.Run("an activity without a rate earns nothing under the built-in rule", func(t *testing.T) {
			v := p.member(t, "无积分", p.villageA)
			p.serveAt(t, p.townA, time.Hour, 0, []user{v}, nil)
			if aws := p.serviceAwards(t, v.p.ID); len(aws) != 0 {
				t.Fatalf("awards %+v", aws)
			}
		})
		t.Run("the caps of an org's override of service_hours clamp the minutes that earn", func(t *testing.T) {
			p.rule(t, p.adminA.ctx, p.villageA, jifen.RuleInput{Code: jifen.ServiceHoursCode, Name: "村志愿服务时长", Category: jifen.CatVolunteerService,
				Points: 6, Unit: jifen.PerHour, DailyCap: 1})
			p.clock.Set(onDay(2026, 7, 1).Add(-2 * time.Hour))
			v5, v6 := p.member(t, "封顶一", p.villageA), p.member(t, "封顶二", p.villageA)
			p.serveAt(t, p.teamA, 3*time.Hour, 10, []user{v5}, nil)
			p.wantPoints(t, v5.p.ID, 10, 10) // one hour of three, at the activity's 10
			p.clock.Set(onDay(2026, 7, 1).Add(3 * time.Hour))
			p.serveAt(t, p.teamA, time.Hour, 10, []user{v5, v6}, nil)
			p.wantPoints(t, v5.p.ID, 10, 10) // the day's hour is used up
			p.wantPoints(t, v6.p.ID, 10, 10)
			p.clock.Set(onDay(2026, 7, 2))
			v7 := p.member(t, "按村费率", p.villageA)
			p.serveAt(t, p.teamA, 2*time.Hour, 0, []user{v7}, nil)
			p.wantPoints(t, v7.p.ID, 6, 6) // the override's rate of 6, one hour
		})
		t.Run("when the activity org's budget is used up the service award is kept as rejected and the hours stand", func(t *testing.T) {
			p.set(t, p.teamA, func(s *jifen.PointsSettings) { s.YearlyBudget = 15 })
			p.clock.Set(onDay(2026, 7, 3))
			v8 := p.member(t, "超预算", p.villageA)
			act := p.serveAt(t, p.teamA, 2*time.Hour, 10, []user{v8}, nil)
			if rec := p.recordOf(t, v8.p.ID, act.ID, jifen.HowSelf); rec == nil || rec.Minutes != 120 {
				t.Fatalf("record %+v", rec)
			}
			aws := p.serviceAwards(t, v8.p.ID)
			if len(aws) != 1 || aws[0].Status != jifen.AwardRejected || aws[0].TxID != nil || aws[0].RejectReason == "" {
				t.Fatalf("service awards %+v", aws)
			}
			p.wantPoints(t, v8.p.ID, 0, 0)
		})
		p.verify(t)
	})
}

func TestPointsOpening(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		who := p.resident.p.ID
		t.Run("an opening balance counts in balance and score", func(t *testing.T) {
			n := must(p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: who, Points: 200, Note: "2025年纸质台账"}}))(t)
			if n != 1 {
				t.Fatalf("imported %d", n)
			}
			s := p.wantPoints(t, who, 200, 200)
			if s.Earned != 200 {
				t.Fatalf("summary %+v", s)
			}
			if l := p.ledgerOf(t, who); len(l) != 1 || l[0].Kind != jifen.TxOpening || l[0].Amount != 200 || !strings.Contains(l[0].Reason, "2025年纸质台账") {
				t.Fatalf("ledger %+v", l[0])
			}
		})
		t.Run("a second opening for the same person is opening_exists and writes nothing", func(t *testing.T) {
			other, _ := p.person(t, "新台账", p.villageA)
			before := p.rows(t)
			_, err := p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: other.ID, Points: 50}, {PersonID: who, Points: 10}})
			wantCode(t, err, jifen.KindConflict, "opening_exists")
			p.unchanged(t, before)
			p.wantPoints(t, other.ID, 0, 0)
			p.wantPoints(t, who, 200, 200)
		})
		t.Run("two lines for one person in one import are opening_exists", func(t *testing.T) {
			other, _ := p.person(t, "重复行", p.villageA)
			before := p.rows(t)
			_, err := p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: other.ID, Points: 50}, {PersonID: other.ID, Points: 50}})
			wantCode(t, err, jifen.KindConflict, "opening_exists")
			p.unchanged(t, before)
		})
		t.Run("a person outside the org is refused and nothing is written", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.pts.ImportOpening(p.adminA.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: p.residentB.p.ID, Points: 50}})
			wantKinds(t, err, refused...)
			p.unchanged(t, before)
		})
		t.Run("only an admin of the org imports", func(t *testing.T) {
			_, err := p.pts.ImportOpening(p.resident.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: p.leader.p.ID, Points: 50}})
			wantKinds(t, err, refused...)
			_, err = p.pts.ImportOpening(p.adminB.ctx, p.villageA.ID, []jifen.OpeningInput{{PersonID: p.leader.p.ID, Points: 50}})
			wantKinds(t, err, refused...)
		})
		p.verify(t)
	})
}

func TestPointsLedgerTampering(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		plus := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("plus", 30))
		minus := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("minus", -50))
		who := p.resident.p.ID
		award := p.posted(t, p.adminA.ctx, who, plus)
		deduction := p.posted(t, p.adminA.ctx, who, minus)
		p.posted(t, p.adminA.ctx, p.leader.p.ID, plus)
		if deduction.Shortfall != 20 {
			t.Fatalf("deduction %+v", deduction)
		}
		p.verify(t)
		acct := must(p.ledger.Account(p.super.ctx, jifen.AccountPerson, who))(t)
		issuer := must(p.ledger.Account(p.super.ctx, jifen.AccountIssuance, p.countyA.ID))(t)
		problem := func(t *testing.T) string {
			t.Helper()
			return must(p.ledger.Verify(p.super.ctx, ""))(t).Problem
		}
		whole := func(t *testing.T) {
			t.Helper()
			if pr := problem(t); pr != "" {
				t.Fatalf("after undoing the tampering verify still says %q", pr)
			}
		}

		t.Run("changing one posting's amount is named by its transaction", func(t *testing.T) {
			id := p.one(t, "SELECT id FROM postings WHERE tx_id = ? AND account_id = ?", *award.TxID, acct.ID)
			p.exec(t, "UPDATE postings SET amount = amount + 5 WHERE id = ?", id)
			want := fmt.Sprintf("transaction %d ", *award.TxID)
			if pr := problem(t); !strings.Contains(pr+" ", want) {
				t.Fatalf("verify says %q, want it to name transaction %d", pr, *award.TxID)
			}
			p.exec(t, "UPDATE postings SET amount = amount - 5 WHERE id = ?", id)
			whole(t)
		})
		t.Run("changing a posting with its counterpart and the cached balance breaks the hash", func(t *testing.T) {
			mine := p.one(t, "SELECT id FROM postings WHERE tx_id = ? AND account_id = ?", *award.TxID, acct.ID)
			theirs := p.one(t, "SELECT id FROM postings WHERE tx_id = ? AND account_id = ?", *award.TxID, issuer.ID)
			p.exec(t, "UPDATE postings SET amount = amount + 100, score = score + 100 WHERE id = ?", mine)
			p.exec(t, "UPDATE postings SET amount = amount - 100 WHERE id = ?", theirs)
			p.exec(t, "UPDATE accounts SET balance = balance + 100, score = score + 100 WHERE id = ?", acct.ID)
			if pr := problem(t); pr != fmt.Sprintf("transaction %d: hash mismatch (its content was changed)", *award.TxID) {
				t.Fatalf("verify says %q", pr)
			}
			p.exec(t, "UPDATE postings SET amount = amount - 100, score = score - 100 WHERE id = ?", mine)
			p.exec(t, "UPDATE postings SET amount = amount + 100 WHERE id = ?", theirs)
			p.exec(t, "UPDATE accounts SET balance = balance - 100, score = score - 100 WHERE id = ?", acct.ID)
			whole(t)
		})
		t.Run("deleting a posting is named by its transaction", func(t *testing.T) {
			var id, txID, account, amount, score int64
			if err := p.raw.QueryRow(p.q("SELECT id, tx_id, account_id, amount, score FROM postings WHERE tx_id = ? AND account_id = ?"), *deduction.TxID, acct.ID).
				Scan(&id, &txID, &account, &amount, &score); err != nil {
				t.Fatal(err)
			}
			p.exec(t, "DELETE FROM postings WHERE id = ?", id)
			if pr := problem(t); !strings.Contains(pr, fmt.Sprintf("transaction %d ", *deduction.TxID)) {
				t.Fatalf("verify says %q, want it to name transaction %d", pr, *deduction.TxID)
			}
			p.exec(t, "INSERT INTO postings (id, tx_id, account_id, amount, score) VALUES (?, ?, ?, ?, ?)", id, txID, account, amount, score)
			whole(t)
		})
		t.Run("a transaction inserted behind the ledger's back, with a correct hash and balances, is named", func(t *testing.T) {
			lf := &ledgerFx{raw: p.raw, pg: p.pg}
			at := p.now().Add(time.Second).UTC().Truncate(time.Microsecond)
			ps := []jifen.Posting{{AccountID: issuer.ID, Amount: -9}, {AccountID: acct.ID, Amount: 9, Score: 9}}
			h := specTxHash(t, lf, jifen.TxAward, "slipped-in", p.countyA.ID, at, nil, 0, ps)
			var id int64
			if err := p.raw.QueryRow(p.q("INSERT INTO ledger_transactions (kind, idem_key, request_hash, reason, org_id, created_at, hash) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"),
				jifen.TxAward, "slipped-in", "x", "", p.countyA.ID, at, h).Scan(&id); err != nil {
				t.Fatal(err)
			}
			for _, q := range ps {
				p.exec(t, "INSERT INTO postings (tx_id, account_id, amount, score) VALUES (?, ?, ?, ?)", id, q.AccountID, q.Amount, q.Score)
			}
			p.exec(t, "UPDATE accounts SET balance = balance + 9, score = score + 9 WHERE id = ?", acct.ID)
			if pr := problem(t); pr != fmt.Sprintf("transaction %d is neither sealed nor waiting to be: it was inserted outside the ledger", id) {
				t.Fatalf("verify says %q, want it to name transaction %d", pr, id)
			}
			p.exec(t, "DELETE FROM postings WHERE tx_id = ?", id)
			p.exec(t, "DELETE FROM ledger_transactions WHERE id = ?", id)
			p.exec(t, "UPDATE accounts SET balance = balance - 9, score = score - 9 WHERE id = ?", acct.ID)
			whole(t)
		})
		t.Run("a transaction inserted with a made-up hash is named", func(t *testing.T) {
			var id int64
			if err := p.raw.QueryRow(p.q("INSERT INTO ledger_transactions (kind, idem_key, request_hash, reason, created_at, hash) VALUES (?, ?, ?, ?, ?, ?) RETURNING id"),
				jifen.TxAward, "made-up", "x", "", p.now().UTC(), strings.Repeat("ab", 32)).Scan(&id); err != nil {
				t.Fatal(err)
			}
			p.exec(t, "INSERT INTO postings (tx_id, account_id, amount, score) VALUES (?, ?, ?, ?)", id, issuer.ID, -9, 0)
			p.exec(t, "INSERT INTO postings (tx_id, account_id, amount, score) VALUES (?, ?, ?, ?)", id, acct.ID, 9, 9)
			if pr := problem(t); !strings.Contains(pr, fmt.Sprintf("transaction %d", id)) {
				t.Fatalf("verify says %q, want it to name transaction %d", pr, id)
			}
		})
	})
}

func TestPointsAwardBulk(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		a, _ := p.person(t, "名单甲", p.villageA)
		b, _ := p.person(t, "名单乙", p.villageA)
		lines := []jifen.AwardInput{{PersonID: a.ID, RuleID: r.ID}, {PersonID: b.ID, RuleID: r.ID, Quantity: 2}}
		t.Run("a list with one line out of scope writes nothing", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.pts.AwardBulk(p.adminA.ctx, "bulk-bad", append(lines, jifen.AwardInput{PersonID: p.residentB.p.ID, RuleID: r.ID}))
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			p.unchanged(t, before)
		})
		var first []*jifen.Award
		t.Run("a list posts every line as a bulk award", func(t *testing.T) {
			first = must(p.pts.AwardBulk(p.adminA.ctx, "bulk-1", lines))(t)
			if len(first) != 2 || first[0].Source != jifen.SourceBulk || first[1].Points != 20 || first[1].Status != jifen.AwardPosted {
				t.Fatalf("bulk %+v", first)
			}
			p.wantPoints(t, a.ID, 10, 10)
			p.wantPoints(t, b.ID, 20, 20)
			// Answered as written, with no read-back: as GetAward reads it.
			for _, aw := range first {
				p.sameAsRead(t, p.adminA.ctx, aw)
			}
		})
		t.Run("the same list under the same key again answers the same awards and writes nothing", func(t *testing.T) {
			before := p.rows(t)
			again := must(p.pts.AwardBulk(p.adminA.ctx, "bulk-1", lines))(t)
			if len(again) != 2 || again[0].ID != first[0].ID || again[1].ID != first[1].ID {
				t.Fatalf("retry %+v", again)
			}
			for _, aw := range again {
				p.sameAsRead(t, p.adminA.ctx, aw)
			}
			p.unchanged(t, before)
		})
		t.Run("another list under the same key is idempotency_mismatch", func(t *testing.T) {
			other := append([]jifen.AwardInput(nil), lines...)
			other[1].Quantity = 3
			_, err := p.pts.AwardBulk(p.adminA.ctx, "bulk-1", other)
			wantCode(t, err, jifen.KindConflict, "idempotency_mismatch")
		})
	})
}
