package sqldb_test

import (
	"testing"
	"time"

	"jifen"
)

// Rules of points an outside review found unguarded (2026-11-30), each
// checked on both databases: corrections of service hours keep the caps,
// the version, the account and the budget of the award they correct;
// households, appeal windows and budgets.

// The service-hours rule's daily cap of 2 hours holds through corrections:
// a record of 4 hours earns 2 hours' points; corrected down to 1 hour and
// back up to 4 it must still earn 2 hours' points, not 4.
func TestServiceCorrectionKeepsCaps(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.rule(t, p.adminA.ctx, p.villageA, jifen.RuleInput{Code: jifen.ServiceHoursCode, Name: "村志愿服务时长", Category: jifen.CatVolunteerService,
			Points: 10, Unit: jifen.PerHour, DailyCap: 2})
		v := p.member(t, "服务者", p.villageA)
		act := p.serveAt(t, p.teamA, 4*time.Hour, 10, []user{v}, nil)
		rec := p.recordOf(t, v.p.ID, act.ID, jifen.HowSelf)
		if rec == nil || rec.Minutes != 240 {
			t.Fatalf("record %+v", rec)
		}
		p.wantPoints(t, v.p.ID, 20, 20) // 2 of 4 hours earn, at 10
		must(p.recs.Correct(p.adminA.ctx, rec.ID, 60, "核对签到表：只有1小时"))(t)
		p.wantPoints(t, v.p.ID, 10, 10)
		must(p.recs.Correct(p.adminA.ctx, rec.ID, 240, "再次核对：确为4小时"))(t)
		p.wantPoints(t, v.p.ID, 20, 20) // the daily cap is 2 hours: 20 at most
	})
}

// The org-wide daily cap (Yeji: 100 points a day) clamps a service award's
// points; correcting the record DOWN must never raise them above the cap.
func TestServiceCorrectionKeepsOrgDailyCap(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.DailyCap = 30 })
		v := p.member(t, "服务者", p.villageA)
		act := p.serveAt(t, p.teamA, 5*time.Hour, 10, []user{v}, nil)
		rec := p.recordOf(t, v.p.ID, act.ID, jifen.HowSelf)
		if rec == nil || rec.Minutes != 300 {
			t.Fatalf("record %+v", rec)
		}
		p.wantPoints(t, v.p.ID, 30, 30) // 5 hours × 10 = 50, clamped to the org's 30
		must(p.recs.Correct(p.adminA.ctx, rec.ID, 240, "核对签到表：少记1小时"))(t)
		p.wantPoints(t, v.p.ID, 30, 30) // 4 hours × 10 = 40 is still over 30
	})
}

// An award reversed after most of it was spent gives back to the yearly
// budget only what came back to the issuer; the year's net issuance must
// not pass the budget.
func TestReversalBudgetAfterSpending(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.YearlyBudget = 100 })
		big := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("big", 100))
		me := p.resident
		aw := p.posted(t, p.adminA.ctx, me.p.ID, big)
		p.spend(t, me.p.ID, 80)
		ap := must(p.pts.Appeal(me.ctx, *aw.TxID, "不应得"))(t)
		must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "核实后撤销"))(t)
		p.wantPoints(t, me.p.ID, 0, 0)
		issuance := must(p.ledger.Account(p.super.ctx, jifen.AccountIssuance, p.countyA.ID))(t)
		net := -p.one(t, "SELECT COALESCE(SUM(amount), 0) FROM postings WHERE account_id = ?", issuance.ID)
		if net != 80 {
			t.Fatalf("net issued after the reversal = %d, want 80 (20 came back)", net)
		}
		other := p.member(t, "另一人", p.villageA)
		_, err := p.give(p.adminA.ctx, other.p.ID, big)
		net = -p.one(t, "SELECT COALESCE(SUM(amount), 0) FROM postings WHERE account_id = ?", issuance.ID)
		if err == nil {
			t.Fatalf("a second award of 100 posted: the county's net issuance this year is %d against a budget of 100", net)
		}
		wantCode(t, err, jifen.KindConflict, "budget_exceeded")
	})
}

// A person who moves to another county keeps their household membership
// in the old village; awards made for them in the new county must not
// land in the old village's household account.
func TestMovedMemberEarnsOutsideTheOldHousehold(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.root, func(s *jifen.PointsSettings) { s.PointsTo = jifen.ToHousehold })
		son := p.member(t, "王小军", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: p.resident.p.ID, MemberIDs: []int64{son.p.ID}}))(t)
		// son moves to 新村 in county B.
		in := jifen.PersonInput{Name: son.p.Name, Gender: son.p.Gender, BirthDate: son.p.BirthDate, Phone: son.phone, OrgID: p.villageB.ID}
		if _, err := p.people.UpdatePerson(p.super.ctx, son.p.ID, in); err != nil {
			t.Fatalf("move: %v", err)
		}
		ruleB := p.rule(t, p.adminB.ctx, p.countyB, ruleIn("helpB", 40))
		aw := p.posted(t, p.adminB.ctx, son.p.ID, ruleB)
		hh := must(p.pts.HouseholdPoints(p.super.ctx, h.ID))(t)
		if hh.Balance != 0 || (aw.HouseholdID != nil && *aw.HouseholdID == h.ID) {
			t.Fatalf("county B's award for a person now living in 新村 went to 城关村's household %d (household balance %d, award %+v)", h.ID, hh.Balance, aw)
		}
	})
}

// Where a village credits households, a rule capped at once a day gives
// the household as much whichever order the two awards come in.
func TestHouseholdCapOrder(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.PointsTo = jifen.ToHousehold })
		r := p.rule(t, p.adminA.ctx, p.villageA, jifen.RuleInput{Code: "yard", Name: "庭院整洁", Category: jifen.CatEnvironment, Points: 5, DailyCap: 1})
		a1, a2 := p.member(t, "甲户主", p.villageA), p.member(t, "乙户主", p.villageA)
		h1 := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: a1.p.ID}))(t)
		h2 := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: a2.p.ID}))(t)
		// household 1: household award first, then the head's.
		_, e1 := p.pts.Award(p.adminA.ctx, jifen.AwardInput{HouseholdID: h1.ID, RuleID: r.ID, Key: p.key()})
		_, e2 := p.give(p.adminA.ctx, a1.p.ID, r)
		// household 2: the head's first, then the household's.
		_, e3 := p.give(p.adminA.ctx, a2.p.ID, r)
		_, e4 := p.pts.Award(p.adminA.ctx, jifen.AwardInput{HouseholdID: h2.ID, RuleID: r.ID, Key: p.key()})
		b1 := must(p.pts.HouseholdPoints(p.super.ctx, h1.ID))(t).Balance
		b2 := must(p.pts.HouseholdPoints(p.super.ctx, h2.ID))(t).Balance
		if b1 != b2 {
			t.Fatalf("same two awards, different order: household 1 has %d (errors %v, %v), household 2 has %d (errors %v, %v)", b1, e1, e2, b2, e3, e4)
		}
	})
}

// The appeal window: an award posted at 00:30 on 2 June with 7 appeal days.
// Under the Civil Code (arts. 201, 203) a period in days starts the next
// day and ends at 24:00 of its last day: 9 June, all day.
func TestAppealWindowDays(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 10))
		me := p.resident
		p.clock.Set(time.Date(2026, 6, 2, 0, 30, 0, 0, jifen.Zone))
		aw := p.posted(t, p.adminA.ctx, me.p.ID, r)
		p.clock.Set(time.Date(2026, 6, 9, 12, 0, 0, 0, jifen.Zone))
		if _, err := p.pts.Appeal(me.ctx, *aw.TxID, "分值记错"); err != nil {
			t.Fatalf("appeal at noon on 9 June (posted 00:30 on 2 June, 7 days): %v; window ends %v", err, aw.AppealUntil)
		}
	})
}

// Where the village credits households, an admin's award to a member of
// their own household puts points in their own household's account: it is
// "for one's own household" and must not post without a second person.
func TestAwardIntoOwnHouseholdWaits(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.PointsTo = jifen.ToHousehold })
		boss := p.user(t, "村主任", p.villageA, p.villageA, jifen.RoleOrgAdmin)
		son := p.member(t, "主任之子", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: boss.p.ID, MemberIDs: []int64{son.p.ID}}))(t)
		r := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("good", 50))
		// The household as such: a claim, as the decision says.
		viaHousehold := must(p.pts.Award(boss.ctx, jifen.AwardInput{HouseholdID: h.ID, RuleID: r.ID, Key: p.key()}))(t)
		if viaHousehold.Status != jifen.AwardPending {
			t.Fatalf("award to own household is %s", viaHousehold.Status)
		}
		// The son, whose points go to the same household account.
		aw, err := p.pts.Award(boss.ctx, jifen.AwardInput{PersonID: son.p.ID, RuleID: r.ID, Key: p.key()})
		if err == nil && aw.Status == jifen.AwardPosted {
			bal := must(p.pts.HouseholdPoints(p.super.ctx, h.ID))(t).Balance
			t.Fatalf("the admin's award to his son posted at once into his own household (award household %v, household balance %d)", *aw.HouseholdID, bal)
		}
	})
}

// A correction of hours served under version 1 of the service-hours rule
// (6 points an hour) is priced at version 1, not at a later version 2
// (10 an hour): an award keeps the version it used.
func TestServiceCorrectionUsesAwardVersion(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		sh := p.rule(t, p.adminA.ctx, p.villageA, jifen.RuleInput{Code: jifen.ServiceHoursCode, Name: "村志愿服务时长", Category: jifen.CatVolunteerService,
			Points: 6, Unit: jifen.PerHour})
		v := p.member(t, "服务者", p.villageA)
		act := p.serveAt(t, p.teamA, 2*time.Hour, 0, []user{v}, nil) // no rate of its own: the rule's
		p.wantPoints(t, v.p.ID, 12, 12)
		must(p.pts.UpdateRule(p.adminA.ctx, sh.ID, jifen.RuleInput{Name: "村志愿服务时长", Category: jifen.CatVolunteerService, Points: 10, Unit: jifen.PerHour}))(t)
		rec := p.recordOf(t, v.p.ID, act.ID, jifen.HowSelf)
		must(p.recs.Correct(p.adminA.ctx, rec.ID, 60, "核对签到表：只有1小时"))(t)
		aws := p.serviceAwards(t, v.p.ID)
		last := aws[len(aws)-1]
		if pts := p.points(t, v.p.ID); pts.Balance != 6 {
			t.Fatalf("1 hour served under v1 (6/h) now holds %d points; the correction is %+d under rule version %d", pts.Balance, last.Points, last.RuleVersion)
		}
	})
}

// A correction that takes service points back gives them back to the
// budget, as a reversal does: net issued 10 of a budget of 20 leaves 10.
func TestServiceCorrectionDownReturnsBudget(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.teamA, func(s *jifen.PointsSettings) { s.YearlyBudget = 20 })
		v := p.member(t, "服务者", p.villageA)
		act := p.serveAt(t, p.teamA, 2*time.Hour, 10, []user{v}, nil)
		p.wantPoints(t, v.p.ID, 20, 20)
		rec := p.recordOf(t, v.p.ID, act.ID, jifen.HowSelf)
		must(p.recs.Correct(p.adminA.ctx, rec.ID, 60, "核对签到表：只有1小时"))(t)
		p.wantPoints(t, v.p.ID, 10, 10)
		w := p.member(t, "第二人", p.villageA)
		p.serveAt(t, p.teamA, time.Hour, 10, []user{w}, nil)
		aws := p.serviceAwards(t, w.p.ID)
		if len(aws) != 1 || aws[0].Status != jifen.AwardPosted {
			t.Fatalf("the team has issued a net 10 of its 20, yet the next 10 is refused: %+v", aws[0])
		}
	})
}

// The county sets 城关村's yearly budget; the village's own admin lifts it.
func TestBudgetIsSetFromAbove(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		vadmin := p.user(t, "村管理员", p.villageA, p.villageA, jifen.RoleOrgAdmin)
		s := *must(p.pts.Settings(p.adminA.ctx, p.villageA.ID))(t)
		s.YearlyBudget = 100
		must(0, p.pts.SaveSettings(p.adminA.ctx, p.villageA.ID, s))(t)
		s.YearlyBudget = 0 // unlimited
		err := p.pts.SaveSettings(vadmin.ctx, p.villageA.ID, s)
		got := must(p.pts.Settings(p.super.ctx, p.villageA.ID))(t).YearlyBudget
		if err == nil {
			t.Fatalf("the village admin lifted the budget the county set: now %d (0 = unlimited)", got)
		}
	})
}

// Service points credited to a household are corrected in that household's
// account, even after the volunteer has left it.
func TestServiceCorrectionAfterLeavingHousehold(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.PointsTo = jifen.ToHousehold })
		v := p.member(t, "儿子", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: p.resident.p.ID, MemberIDs: []int64{v.p.ID}}))(t)
		act := p.serveAt(t, p.teamA, 2*time.Hour, 10, []user{v}, nil)
		if b := must(p.pts.HouseholdPoints(p.super.ctx, h.ID))(t).Balance; b != 20 {
			t.Fatalf("household balance %d, want 20", b)
		}
		must(0, p.pts.RemoveMember(p.adminA.ctx, h.ID, v.p.ID))(t) // 分户
		rec := p.recordOf(t, v.p.ID, act.ID, jifen.HowSelf)
		must(p.recs.Correct(p.adminA.ctx, rec.ID, 60, "核对签到表：只有1小时"))(t)
		hb := must(p.pts.HouseholdPoints(p.super.ctx, h.ID))(t).Balance
		own := p.points(t, v.p.ID)
		if hb != 10 {
			t.Fatalf("after correcting 2h to 1h the household that got the 20 still holds %d; the volunteer's own account: balance %d score %d", hb, own.Balance, own.Score)
		}
	})
}

// A second review (of the fixes above):

// A household of the town may hold people living in its villages
// (AddMember allows any home inside the household's org); their awards
// must still go to the household's account.
func TestHouseholdAboveTheHomeIsCredited(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.root, func(s *jifen.PointsSettings) { s.PointsTo = jifen.ToHousehold })
		son := p.member(t, "王小军", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.townA.ID, HeadID: p.resident.p.ID, MemberIDs: []int64{son.p.ID}}))(t)
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 40))
		aw := p.posted(t, p.adminA.ctx, son.p.ID, r)
		hh := must(p.pts.HouseholdPoints(p.super.ctx, h.ID))(t)
		if hh.Balance != 40 || aw.HouseholdID == nil {
			t.Fatalf("member of household %d (org %s, member lives in %s, which it contains): household balance %d, award household %v; want 40 in the household",
				h.ID, p.townA.Name, p.villageA.Name, hh.Balance, aw.HouseholdID)
		}
	})
}

// A correction is priced as the record's first award, within the caps of
// the record's org: county A's daily cap of 30 clamped a 5-hour record at
// 10 an hour to 30 points. After the volunteer moved to county B (no
// daily cap), a correction down to 4 hours and back to 5 must leave the
// record at 30, not lift it to 50.
func TestCorrectionKeepsTheRecordOrgsDailyCap(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.DailyCap = 30 })
		v := p.member(t, "服务者", p.villageA)
		act := p.serveAt(t, p.teamA, 5*time.Hour, 10, []user{v}, nil)
		rec := p.recordOf(t, v.p.ID, act.ID, jifen.HowSelf)
		p.wantPoints(t, v.p.ID, 30, 30)
		in := jifen.PersonInput{Name: v.p.Name, Gender: v.p.Gender, BirthDate: v.p.BirthDate, Phone: v.phone, OrgID: p.villageB.ID}
		if _, err := p.people.UpdatePerson(p.super.ctx, v.p.ID, in); err != nil {
			t.Fatalf("move: %v", err)
		}
		must(p.recs.Correct(p.super.ctx, rec.ID, 240, "核对签到表：4小时"))(t)
		p.wantPoints(t, v.p.ID, 30, 30)
		must(p.recs.Correct(p.super.ctx, rec.ID, 300, "再次核对：确为5小时"))(t)
		p.wantPoints(t, v.p.ID, 30, 30)
	})
}

// A reversal after 80 of 100 points were spent gives the budget back 20
// (fix 1). Saving the county's settings afterwards (a daily cap, the
// budget unchanged) re-spreads the budget from issued(), which leaves the
// reversed award out entirely: the 80 come back and a second award of
// 100 posts, 180 issued against a budget of 100.
func TestSavingSettingsKeepsAReversalsBudget(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.YearlyBudget = 100 })
		big := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("big", 100))
		me := p.resident
		aw := p.posted(t, p.adminA.ctx, me.p.ID, big)
		p.spend(t, me.p.ID, 80)
		ap := must(p.pts.Appeal(me.ctx, *aw.TxID, "不应得"))(t)
		must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "核实后撤销"))(t)
		left := func() int64 {
			return p.one(t, "SELECT COALESCE(SUM(remaining), 0) FROM budget_stripes WHERE org_id = ?", p.countyA.ID)
		}
		if l := left(); l != 20 {
			t.Fatalf("budget left after the reversal = %d, want 20", l)
		}
		p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.DailyCap = 500 }) // budget untouched
		if l := left(); l != 20 {
			t.Fatalf("budget left after saving the settings with the same budget = %d, want 20", l)
		}
	})
}

// A correction down from 5 to 2 hours gives the issuer's budget back 30
// (fix 3). Saving the issuer's settings afterwards re-spreads the budget
// from issued(), which counts only positive awards: the 30 are taken
// again.
func TestSavingSettingsKeepsACorrectionsBudget(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.teamA, func(s *jifen.PointsSettings) { s.YearlyBudget = 100 })
		v := p.member(t, "服务者", p.villageA)
		act := p.serveAt(t, p.teamA, 5*time.Hour, 10, []user{v}, nil)
		rec := p.recordOf(t, v.p.ID, act.ID, jifen.HowSelf)
		p.wantPoints(t, v.p.ID, 50, 50)
		left := func() int64 {
			return p.one(t, "SELECT COALESCE(SUM(remaining), 0) FROM budget_stripes WHERE org_id = ?", p.teamA.ID)
		}
		if l := left(); l != 50 {
			t.Fatalf("budget left after the award = %d, want 50", l)
		}
		must(p.recs.Correct(p.super.ctx, rec.ID, 120, "核对签到表：2小时"))(t)
		p.wantPoints(t, v.p.ID, 20, 20)
		if l := left(); l != 80 {
			t.Fatalf("budget left after the correction = %d, want 80", l)
		}
		p.set(t, p.teamA, func(s *jifen.PointsSettings) { s.DailyCap = 500 }) // budget untouched
		if l := left(); l != 80 {
			t.Fatalf("budget left after saving the settings with the same budget = %d, want 80", l)
		}
	})
}

// decide() keeps the award's org and path (fix 8) but not its org's
// settings: a claim filed in county A (no daily cap) by someone who then
// moved to county B (daily cap 10) is checked against county B's cap
// when county A's reviewer approves it.
func TestApprovalAfterAMoveUsesTheFilingOrgsSettings(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.countyB, func(s *jifen.PointsSettings) { s.DailyCap = 10 })
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 20))
		me := p.resident
		aw := must(p.give(me.ctx, me.p.ID, r))(t)
		if aw.Status != jifen.AwardPending {
			t.Fatalf("claim is %s", aw.Status)
		}
		in := jifen.PersonInput{Name: me.p.Name, Gender: me.p.Gender, BirthDate: me.p.BirthDate, Phone: me.phone, OrgID: p.villageB.ID}
		if _, err := p.people.UpdatePerson(p.super.ctx, me.p.ID, in); err != nil {
			t.Fatalf("move: %v", err)
		}
		got, err := p.pts.Approve(p.reviewer.ctx, aw.ID)
		if err != nil {
			t.Fatalf("approving county A's claim (county A has no daily cap): %v", err)
		}
		if got.OrgID != p.villageA.ID {
			t.Fatalf("award org %d, want village A %d", got.OrgID, p.villageA.ID)
		}
	})
}

// Hours awarded in one year and corrected down in the next give nothing
// back to the new year's budget, so a new year's budget is not inflated.
func TestCorrectionAcrossYearsKeepsTheNewYearsBudget(t *testing.T) {
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.set(t, p.teamA, func(s *jifen.PointsSettings) { s.YearlyBudget = 100 })
		v := p.member(t, "服务者", p.villageA)
		act := p.serveAt(t, p.teamA, 5*time.Hour, 10, []user{v}, nil)
		rec := p.recordOf(t, v.p.ID, act.ID, jifen.HowSelf)
		p.wantPoints(t, v.p.ID, 50, 50)
		p.clock.Set(time.Date(2027, 1, 10, 9, 0, 0, 0, jifen.Zone))
		must(p.recs.Correct(p.super.ctx, rec.ID, 120, "核对签到表：2小时"))(t)
		p.set(t, p.teamA, func(s *jifen.PointsSettings) { s.YearlyBudget = 200 })
		if l := p.one(t, "SELECT COALESCE(SUM(remaining), 0) FROM budget_stripes WHERE org_id = ? AND year = 2027", p.teamA.ID); l != 200 {
			t.Fatalf("2027 budget left = %d, want 200 (nothing issued in 2027)", l)
		}
	})
}
