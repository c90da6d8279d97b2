package sqldb_test

import (
	"slices"
	"testing"

	"jifen"
)

func TestHouseholds(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		head := p.resident
		grandma := p.noPhone(t, "王奶奶", p.villageA)
		son := p.member(t, "王小军", p.villageA)
		townsman := p.member(t, "镇上人", p.townA)
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("filial", 20))

		var h *jifen.Household
		t.Run("a household takes its head in automatically, with the members named", func(t *testing.T) {
			h = must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: head.p.ID, MemberIDs: []int64{grandma.ID, son.p.ID}}))(t)
			if h.HeadID != head.p.ID || h.OrgID != p.villageA.ID || h.Name != head.p.Name+"户" || len(h.Members) != 3 {
				t.Fatalf("household = %+v", h)
			}
			got := map[int64]jifen.HouseholdMember{}
			for _, m := range h.Members {
				got[m.PersonID] = m
			}
			if m := got[head.p.ID]; !m.IsHead || !m.HasPhone {
				t.Fatalf("head = %+v", m)
			}
			if m := got[grandma.ID]; m.IsHead || m.HasPhone || m.Name != "王奶奶" {
				t.Fatalf("grandma = %+v", m)
			}
			if m := got[son.p.ID]; m.IsHead || !m.HasPhone {
				t.Fatalf("son = %+v", m)
			}
			if !slices.ContainsFunc(p.auditEntries(t, "household.create"), func(e *jifen.AuditEntry) bool { return e.TargetID == h.ID }) {
				t.Fatal("no audit line")
			}
		})
		if h == nil {
			t.Fatal("the steps below need the household")
		}
		refusals := []struct {
			name  string
			by    user
			in    jifen.HouseholdInput
			kinds []jifen.Kind
			code  string
			field string
		}{
			{"a member from outside the household's org is refused on member_ids, even one the admin manages", p.adminA,
				jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: p.leader.p.ID, MemberIDs: []int64{townsman.p.ID}}, []jifen.Kind{jifen.KindInvalid}, "invalid", "member_ids"},
			{"a member of another branch is refused on member_ids", p.adminA,
				jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: p.leader.p.ID, MemberIDs: []int64{p.residentB.p.ID}}, []jifen.Kind{jifen.KindInvalid}, "invalid", "member_ids"},
			{"a person already in a household cannot join a second: already_in_household", p.adminA,
				jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: p.leader.p.ID, MemberIDs: []int64{grandma.ID}}, []jifen.Kind{jifen.KindConflict}, "already_in_household", "member_ids"},
			{"a head already in a household cannot head a second", p.adminA,
				jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: son.p.ID}, []jifen.Kind{jifen.KindConflict}, "already_in_household", "head_person_id"},
			{"another county's admin cannot create one here", p.adminB,
				jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: p.leader.p.ID}, refused, "", ""},
			{"a resident cannot create one", p.leader,
				jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: p.leader.p.ID}, refused, "", ""},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				before := p.rows(t)
				_, err := p.pts.CreateHousehold(tc.by.ctx, tc.in)
				if len(tc.kinds) == 1 {
					wantErr(t, err, tc.kinds[0], tc.code, tc.field)
				} else {
					wantKinds(t, err, tc.kinds...)
				}
				p.unchanged(t, before)
			})
		}
		t.Run("adding a member of another household is already_in_household", func(t *testing.T) {
			other := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: p.leader.p.ID}))(t)
			err := p.pts.AddMember(p.adminA.ctx, other.ID, son.p.ID)
			wantErr(t, err, jifen.KindConflict, "already_in_household", "person_id")
		})

		t.Run("while the village credits people, a member's award goes to their own account", func(t *testing.T) {
			aw := p.posted(t, p.adminA.ctx, son.p.ID, r)
			if aw.HouseholdID != nil {
				t.Fatalf("award = %+v", aw)
			}
			p.wantPoints(t, son.p.ID, 20, 20)
		})
		p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.PointsTo = jifen.ToHousehold })
		var toHousehold *jifen.Award
		t.Run("once the village credits households, a member's award credits the household's account", func(t *testing.T) {
			toHousehold = p.posted(t, p.adminA.ctx, son.p.ID, r)
			if toHousehold.HouseholdID == nil || *toHousehold.HouseholdID != h.ID || toHousehold.PersonID == nil || *toHousehold.PersonID != son.p.ID {
				t.Fatalf("award = %+v", toHousehold)
			}
			s := p.wantPoints(t, son.p.ID, 20, 20) // unchanged: the earlier award stays his
			if s.HouseholdID == nil || *s.HouseholdID != h.ID {
				t.Fatalf("summary %+v, want the household named", s)
			}
			hp := must(p.pts.HouseholdPoints(head.ctx, h.ID))(t)
			if hp.Balance != 20 || hp.Score != 20 || hp.Earned != 20 || hp.HouseholdID == nil || *hp.HouseholdID != h.ID {
				t.Fatalf("household points %+v", hp)
			}
			if got := must(p.pts.Household(son.ctx, h.ID))(t); got.Balance != 20 || got.Score != 20 {
				t.Fatalf("household %+v", got)
			}
			lines, total := must2(p.pts.Ledger(head.ctx, jifen.LedgerFilter{HouseholdID: h.ID}))(t)
			if total != 1 || len(lines) != 1 || lines[0].Amount != 20 || lines[0].Balance != 20 || lines[0].AwardID == nil || *lines[0].AwardID != toHousehold.ID {
				t.Fatalf("household ledger %+v (total %d)", lines, total)
			}
		})
		var onBehalf *jifen.Award
		t.Run("the head claims for a member without a phone: a pending claim on behalf, audited as such", func(t *testing.T) {
			onBehalf = p.award(t, head.ctx, grandma.ID, r)
			if onBehalf.Status != jifen.AwardPending || !onBehalf.OnBehalf || onBehalf.Source != jifen.SourceClaim ||
				onBehalf.CreatedBy != head.p.ID || onBehalf.PersonID == nil || *onBehalf.PersonID != grandma.ID {
				t.Fatalf("claim = %+v", onBehalf)
			}
			if !slices.ContainsFunc(p.auditEntries(t, "award.claim_on_behalf"), func(e *jifen.AuditEntry) bool { return e.TargetID == onBehalf.ID }) {
				t.Fatal("the claim on behalf is not in the audit log as award.claim_on_behalf")
			}
			got := must(p.pts.Approve(p.reviewer.ctx, onBehalf.ID))(t)
			if got.Status != jifen.AwardPosted {
				t.Fatalf("approved %+v", got)
			}
			if hp := must(p.pts.HouseholdPoints(head.ctx, h.ID))(t); hp.Balance != 40 {
				t.Fatalf("household points %+v", hp)
			}
		})
		t.Run("an award to the household as such credits its account; a member's claim for it waits for review", func(t *testing.T) {
			aw := must(p.pts.Award(p.adminA.ctx, jifen.AwardInput{HouseholdID: h.ID, RuleID: r.ID, Key: p.key()}))(t)
			p.sameAsRead(t, p.adminA.ctx, aw)
			if aw.Status != jifen.AwardPosted || aw.PersonID != nil || aw.HouseholdID == nil || *aw.HouseholdID != h.ID || aw.HouseholdName != h.Name {
				t.Fatalf("award %+v", aw)
			}
			if hp := must(p.pts.HouseholdPoints(son.ctx, h.ID))(t); hp.Balance != 60 || hp.Score != 60 {
				t.Fatalf("household points %+v", hp)
			}
			claim := must(p.pts.Award(son.ctx, jifen.AwardInput{HouseholdID: h.ID, RuleID: r.ID, Key: p.key()}))(t)
			p.sameAsRead(t, son.ctx, claim)
			if claim.Status != jifen.AwardPending || claim.Source != jifen.SourceClaim {
				t.Fatalf("claim %+v", claim)
			}
			_, err := p.pts.Award(p.residentB.ctx, jifen.AwardInput{HouseholdID: h.ID, RuleID: r.ID, Key: p.key()})
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			must(p.pts.Reject(p.reviewer.ctx, claim.ID, "重复申报"))(t)
		})
		t.Run("the head cannot claim for a member who has a phone", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.give(head.ctx, son.p.ID, r)
			wantKinds(t, err, refused...)
			p.unchanged(t, before)
		})
		t.Run("a member who is not the head cannot claim for another", func(t *testing.T) {
			_, err := p.give(son.ctx, grandma.ID, r)
			wantKinds(t, err, refused...)
		})
		t.Run("members see their household; outsiders get not_found everywhere", func(t *testing.T) {
			if mine := must(p.pts.MyHousehold(son.ctx))(t); mine == nil || mine.ID != h.ID {
				t.Fatalf("son's household %+v", mine)
			}
			if mine := must(p.pts.MyHousehold(p.residentB.ctx))(t); mine != nil {
				t.Fatalf("an outsider's household %+v", mine)
			}
			for _, out := range []user{p.residentB, p.adminB} {
				_, err := p.pts.Household(out.ctx, h.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
				_, err = p.pts.HouseholdPoints(out.ctx, h.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
				_, _, err = p.pts.Ledger(out.ctx, jifen.LedgerFilter{HouseholdID: h.ID})
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
				_, err = p.pts.Points(out.ctx, grandma.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
				_, err = p.give(out.ctx, grandma.ID, r)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
		})
		t.Run("the head sees a member's points; the award's household member cannot approve it", func(t *testing.T) {
			must(p.pts.Points(head.ctx, grandma.ID))(t)
			// The son is made a reviewer: an award to his household benefits him.
			if _, err := p.auth.Grant(p.super.ctx, son.p.ID, p.villageA.ID, jifen.RoleReviewer); err != nil {
				t.Fatal(err)
			}
			sonReviewer := user{ctx: p.signIn(t, son.phone), p: son.p}
			in := ruleIn("reviewed-filial", 5)
			in.NeedsReview = true
			rv := p.rule(t, p.adminA.ctx, p.countyA, in)
			aw := p.award(t, p.adminA.ctx, grandma.ID, rv)
			_, err := p.pts.Approve(sonReviewer.ctx, aw.ID)
			wantCode(t, err, jifen.KindConflict, "self_approval")
		})
		p.verify(t)
	})
}
