package sqldb_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"jifen"
	"jifen/sqldb"
)

func TestChangeHousehold(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		dad := p.member(t, "孙大伟", p.villageA)
		son := p.member(t, "孙小伟", p.villageA)
		grandma := p.noPhone(t, "孙奶奶", p.villageA)
		neighbour := p.member(t, "李四", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: dad.p.ID, MemberIDs: []int64{son.p.ID, grandma.ID}}))(t)
		state := func() string {
			t.Helper()
			got := must(p.pts.Household(p.adminA.ctx, h.ID))(t)
			return fmt.Sprintf("%s, head %d", got.Name, got.HeadID)
		}
		change := func(in jifen.HouseholdChange) *jifen.Household {
			t.Helper()
			return must(p.pts.ChangeHousehold(p.adminA.ctx, h.ID, in))(t)
		}

		refusals := []struct {
			name  string
			by    user
			in    jifen.HouseholdChange
			kinds []jifen.Kind
			code  string
			field string
		}{
			{"nothing to change is refused on name", p.adminA, jifen.HouseholdChange{Name: "  "}, []jifen.Kind{jifen.KindInvalid}, "invalid", "name"},
			{"a name of 41 characters is refused", p.adminA, jifen.HouseholdChange{Name: strings.Repeat("孙", 41)}, []jifen.Kind{jifen.KindInvalid}, "invalid", "name"},
			{"a head from outside the household is refused on head_person_id", p.adminA, jifen.HouseholdChange{HeadID: neighbour.p.ID}, []jifen.Kind{jifen.KindInvalid}, "invalid", "head_person_id"},
			{"a head nobody has is refused on head_person_id", p.adminA, jifen.HouseholdChange{HeadID: 999999}, []jifen.Kind{jifen.KindInvalid}, "invalid", "head_person_id"},
			{"another county's admin cannot change it", p.adminB, jifen.HouseholdChange{Name: "别家"}, refused, "", ""},
			{"a member cannot change it", son, jifen.HouseholdChange{HeadID: son.p.ID}, refused, "", ""},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				before, lines := state(), len(p.auditEntries(t, "household.change"))
				_, err := p.pts.ChangeHousehold(tc.by.ctx, h.ID, tc.in)
				if len(tc.kinds) == 1 {
					wantErr(t, err, tc.kinds[0], tc.code, tc.field)
				} else {
					wantKinds(t, err, tc.kinds...)
				}
				if after := state(); after != before {
					t.Fatalf("household %s, was %s", after, before)
				}
				if n := len(p.auditEntries(t, "household.change")); n != lines {
					t.Fatalf("%d audit lines, was %d", n, lines)
				}
			})
		}

		t.Run("a household named after its head follows the new head", func(t *testing.T) {
			got := change(jifen.HouseholdChange{HeadID: son.p.ID})
			if got.Name != "孙小伟户" || got.HeadID != son.p.ID || got.HeadName != "孙小伟" {
				t.Fatalf("household = %+v", got)
			}
			for _, m := range got.Members {
				if m.IsHead != (m.PersonID == son.p.ID) {
					t.Fatalf("members = %+v", got.Members)
				}
			}
			if !slices.ContainsFunc(p.auditEntries(t, "household.change"), func(e *jifen.AuditEntry) bool {
				return e.TargetID == h.ID && strings.Contains(e.Detail, "孙大伟户 → 孙小伟户")
			}) {
				t.Fatal("no audit line of the change")
			}
		})
		t.Run("a name given is kept, and a household with a name of its own keeps it under a new head", func(t *testing.T) {
			if got := change(jifen.HouseholdChange{Name: " 孙家大院 "}); got.Name != "孙家大院" || got.HeadID != son.p.ID {
				t.Fatalf("household = %+v", got)
			}
			if got := change(jifen.HouseholdChange{HeadID: dad.p.ID}); got.Name != "孙家大院" || got.HeadID != dad.p.ID {
				t.Fatalf("household = %+v", got)
			}
		})
		t.Run("the name and head it has already are no change: no audit line", func(t *testing.T) {
			lines := len(p.auditEntries(t, "household.change"))
			if got := change(jifen.HouseholdChange{Name: "孙家大院", HeadID: dad.p.ID}); got.Name != "孙家大院" || got.HeadID != dad.p.ID {
				t.Fatalf("household = %+v", got)
			}
			if n := len(p.auditEntries(t, "household.change")); n != lines {
				t.Fatalf("%d audit lines, was %d", n, lines)
			}
		})
		t.Run("an erased member cannot be the head", func(t *testing.T) {
			must(0, p.people.ErasePerson(p.adminA.ctx, grandma.ID, "家属书面申请"))(t)
			before := state()
			_, err := p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{HeadID: grandma.ID})
			wantErr(t, err, jifen.KindInvalid, "invalid", "head_person_id")
			if after := state(); after != before {
				t.Fatalf("household %s, was %s", after, before)
			}
		})
	})
}

// An erasure takes the person's name out of their household's name and
// audit lines, and not out of another household that only shares the
// words; the household then follows the head an admin hands it to.
func TestErasureUnnamesTheHousehold(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		zhou := p.member(t, "周建国", p.villageA)
		hong := p.member(t, "周小红", p.villageA)
		zheng := p.member(t, "郑大海", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: zhou.p.ID, MemberIDs: []int64{hong.p.ID}}))(t)
		other := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: zheng.p.ID, Name: "周建国户"}))(t)

		must(0, p.people.ErasePerson(p.adminA.ctx, zhou.p.ID, "本人书面申请"))(t)
		if got := must(p.pts.Household(p.adminA.ctx, h.ID))(t); got.Name != "已注销户" || got.HeadName != "已注销" {
			t.Fatalf("their household after the erasure: %+v", got)
		}
		if got := must(p.pts.Household(p.adminA.ctx, other.ID))(t); got.Name != "周建国户" {
			t.Fatalf("another household, named the same but not theirs: %q", got.Name)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'household' AND target_id = ? AND detail LIKE ?", h.ID, "%周建国%"); n != 0 {
			t.Errorf("%d audit lines of their household still name them", n)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'household' AND target_id = ? AND action = 'household.create'", h.ID); n != 1 {
			t.Errorf("the household's creation has %d audit lines, want it kept", n)
		}
		if got := must(p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{HeadID: hong.p.ID}))(t); got.Name != "周小红户" || got.HeadID != hong.p.ID {
			t.Fatalf("handed to 周小红: %+v", got)
		}
	})
}

// A renamed household's new name reaches the kept boards of its org and
// of the orgs above it, on every server; a board of another branch stays.
// Not parallel: it sets which boards are kept.
func TestHouseholdRenameReachesKeptBoards(t *testing.T) {
	keptBoardsOnTwoServers(t, func(t *testing.T, p *ptsFx, other *sqldb.PointsService) {
		for _, org := range []*jifen.Org{p.countyA, p.countyB} {
			p.set(t, org, func(s *jifen.PointsSettings) { s.PointsTo, s.MaskNames = jifen.ToHousehold, false })
		}
		good := p.rule(t, p.super.ctx, p.root, ruleIn("good", 5))
		wu := p.member(t, "吴志强", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: wu.p.ID}))(t)
		must(p.pts.Award(p.adminA.ctx, jifen.AwardInput{PersonID: wu.p.ID, RuleID: good.ID, Key: p.key()}))(t)
		boards := []*jifen.Org{p.villageA, p.townA, p.countyA}
		for _, org := range boards {
			wantBoard(t, org.Name+"'s first board", must(p.pts.Board(p.super.ctx, org.ID, ""))(t).Month, false, "吴志强户", 5)
		}
		must(p.pts.Board(p.super.ctx, p.countyB.ID, ""))(t)

		made := sqldb.SlowBoardMaking(0)
		defer made.Restore()
		must(p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{Name: "吴家小院"}))(t)
		for _, org := range boards {
			wantBoard(t, org.Name+"'s board on the second server", must(other.Board(p.super.ctx, org.ID, ""))(t).Month, false, "吴家小院", 5)
		}
		if n := made.Count(); n != int64(len(boards)) {
			t.Errorf("the boards were made %d times after the rename, want %d (its org's and those above)", n, len(boards))
		}
		must(other.Board(p.super.ctx, p.countyB.ID, ""))(t)
		if n := made.Count(); n != int64(len(boards)) {
			t.Errorf("another county's board was made again after the rename; want the kept one")
		}
	})
}

// TestRemovingTheNewHeadBesideTheChange: a change of head and the removal
// of that member from the household, at once, on PostgreSQL. The change
// has written the new head and waits (at the kept boards' generation,
// held here) when the removal starts: the removal read the head as it was
// and took the member out, leaving a head outside their household. Both
// now take the household's row: the removal waits and then sees the new
// head. Beside it, an erasure of a member being made head waits for the
// change's share of their row, or the change for the erasure; and a change
// waits for a removal under way.
func TestRemovingTheNewHeadBesideTheChange(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		dad := p.member(t, "钱大伯", p.villageA)
		son := p.member(t, "钱小弟", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: dad.p.ID, MemberIDs: []int64{son.p.ID}}))(t)

		hold := holdRows(t, p.raw, "SELECT org_id FROM kept_boards WHERE org_id = 0 FOR UPDATE")
		cerr, rerr, n := raceBehind(t, p, hold,
			func() error {
				_, err := p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{HeadID: son.p.ID})
				return err
			},
			func() error { return p.pts.RemoveMember(p.adminA.ctx, h.ID, son.p.ID) })
		if cerr != nil {
			t.Errorf("change of head: %v", cerr)
		}
		if jifen.ErrorCode(rerr) != "head_member" {
			t.Errorf("removing the new head answered %v, want head_member", rerr)
		}
		wantNoRetry(t, n, "a change of head beside removing that member")
		got := must(p.pts.Household(p.adminA.ctx, h.ID))(t)
		if !slices.ContainsFunc(got.Members, func(m jifen.HouseholdMember) bool { return m.PersonID == got.HeadID }) {
			t.Fatalf("the head %d is not among the members %+v", got.HeadID, got.Members)
		}

		hold = holdRows(t, p.raw, "SELECT org_id FROM kept_boards WHERE org_id = 0 FOR UPDATE")
		eerr, cerr, n := raceBehind(t, p, hold,
			func() error { return p.people.ErasePerson(p.adminA.ctx, dad.p.ID, "本人书面申请") },
			func() error {
				_, err := p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{HeadID: dad.p.ID})
				return err
			})
		if eerr != nil {
			t.Errorf("erasure: %v", eerr)
		}
		if jifen.ErrorCode(cerr) != "invalid" {
			t.Errorf("making the member under erasure head answered %v, want invalid", cerr)
		}
		wantNoRetry(t, n, "an erasure beside making that member head")
		if got := must(p.pts.Household(p.adminA.ctx, h.ID))(t); got.HeadID != son.p.ID {
			t.Errorf("head %d, want %d", got.HeadID, son.p.ID)
		}

		// A removal under way (as RemoveMember takes the household and
		// deletes the member), and a change making that member head: the
		// change waits for the household and then sees them gone.
		aunt := p.member(t, "钱二姑", p.villageA)
		must(0, p.pts.AddMember(p.adminA.ctx, h.ID, aunt.p.ID))(t)
		hold = holdRows(t, p.raw, "SELECT id FROM households WHERE id = $1 FOR NO KEY UPDATE", h.ID)
		if _, err := hold.Exec("DELETE FROM household_members WHERE person_id = $1", aunt.p.ID); err != nil {
			hold.Rollback()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{HeadID: aunt.p.ID})
			done <- err
		}()
		ptsWaitersOrDone(t, p, 1, done)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; jifen.ErrorCode(err) != "invalid" {
			t.Errorf("making a member just removed head answered %v, want invalid", err)
		}
		if got := must(p.pts.Household(p.adminA.ctx, h.ID))(t); got.HeadID != son.p.ID {
			t.Errorf("head %d, want %d", got.HeadID, son.p.ID)
		}
	})
}
