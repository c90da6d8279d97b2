package sqldb_test

import (
	"database/sql"
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
// audit lines, and those of awards to it, and not out of another household
// that only shares the words, nor out of a member's name that holds theirs;
// the household then follows the head an admin hands it to.
func TestErasureUnnamesTheHousehold(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		zhou := p.member(t, "周建国", p.villageA)
		hong := p.member(t, "周小红", p.villageA)
		zheng := p.member(t, "郑大海", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: zhou.p.ID, MemberIDs: []int64{hong.p.ID}}))(t)
		other := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: zheng.p.ID, Name: "周建国户"}))(t)
		// An award to the household itself names it in its audit line.
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("tidy", 5))
		must(p.pts.Award(p.adminA.ctx, jifen.AwardInput{HouseholdID: h.ID, RuleID: r.ID, Key: p.key()}))(t)
		// 李建 lives in 李建国's household: his name holds hers.
		li := p.member(t, "李建国", p.villageA)
		jian := p.member(t, "李建", p.villageA)
		lis := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: li.p.ID, MemberIDs: []int64{jian.p.ID}}))(t)

		must(0, p.people.ErasePerson(p.adminA.ctx, zhou.p.ID, "本人书面申请"))(t)
		must(0, p.people.ErasePerson(p.adminA.ctx, jian.p.ID, "本人书面申请"))(t)
		if got := must(p.pts.Household(p.adminA.ctx, lis.ID))(t); got.Name != "李建国户" {
			t.Errorf("a member's erasure turned the head's household into %q", got.Name)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'household' AND target_id = ? AND detail LIKE ?", lis.ID, "%李建国%"); n != 1 {
			t.Errorf("%d audit lines of 李建国户 name it whole, want its creation's", n)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'award' AND detail LIKE ?", "%周建国%"); n != 0 {
			t.Errorf("%d award audit lines still name the erased head's household", n)
		}
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

// An erasure reaches the households a person has left: their audit lines
// and those of awards made to them lose the name, and a household still
// called after them is renamed; one they never belonged to keeps a name
// like theirs.
func TestErasureUnnamesHouseholdsLeft(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		zhang := p.member(t, "张德福", p.villageA)
		son := p.member(t, "张小军", p.villageA)
		liu := p.member(t, "刘桂兰", p.villageA)
		wang := p.member(t, "王秀英", p.villageA)
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("tidy", 5))
		// Their own household, handed to the son (it follows his name),
		// awarded while still theirs, and then left.
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: zhang.p.ID, MemberIDs: []int64{son.p.ID}}))(t)
		must(p.pts.Award(p.adminA.ctx, jifen.AwardInput{HouseholdID: h.ID, RuleID: r.ID, Key: p.key()}))(t)
		must(p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{HeadID: son.p.ID}))(t)
		must(0, p.pts.RemoveMember(p.adminA.ctx, h.ID, zhang.p.ID))(t)
		// A household named after them by its head, which they then joined
		// and left.
		named := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: liu.p.ID, Name: "张德福家"}))(t)
		must(0, p.pts.AddMember(p.adminA.ctx, named.ID, zhang.p.ID))(t)
		must(0, p.pts.RemoveMember(p.adminA.ctx, named.ID, zhang.p.ID))(t)
		never := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: wang.p.ID, Name: "张德福户"}))(t)
		// 李建 and 李建国 both left 李建国's old household: his name, which
		// holds hers, stays whole in its lines.
		li := p.member(t, "李建国", p.villageA)
		jian := p.member(t, "李建", p.villageA)
		zhao := p.member(t, "赵五", p.villageA)
		lis := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: li.p.ID, MemberIDs: []int64{jian.p.ID, zhao.p.ID}}))(t)
		must(p.pts.ChangeHousehold(p.adminA.ctx, lis.ID, jifen.HouseholdChange{HeadID: zhao.p.ID}))(t)
		must(0, p.pts.RemoveMember(p.adminA.ctx, lis.ID, li.p.ID))(t)
		must(0, p.pts.RemoveMember(p.adminA.ctx, lis.ID, jian.p.ID))(t)
		must(0, p.people.ErasePerson(p.adminA.ctx, jian.p.ID, "本人书面申请"))(t)
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'household' AND target_id = ? AND detail LIKE ?", lis.ID, "%李建国%"); n != 2 {
			t.Errorf("%d audit lines of the household 李建国 left still name him whole, want its creation's and its change's", n)
		}

		must(0, p.people.ErasePerson(p.adminA.ctx, zhang.p.ID, "本人书面申请"))(t)
		for _, hh := range []*jifen.Household{h, named} {
			if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'household' AND target_id = ? AND detail LIKE ?", hh.ID, "%张德福%"); n != 0 {
				t.Errorf("%d audit lines of household %d, which they left, still name them", n, hh.ID)
			}
		}
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'award' AND detail LIKE ?", "%张德福%"); n != 0 {
			t.Errorf("%d audit lines of awards to the household they left still name them", n)
		}
		if got := must(p.pts.Household(p.adminA.ctx, h.ID))(t); got.Name != "张小军户" {
			t.Errorf("the household they left, now the son's: %q", got.Name)
		}
		if got := must(p.pts.Household(p.adminA.ctx, named.ID))(t); got.Name != "已注销家" {
			t.Errorf("the household named after them, which they left: %q, want 已注销家", got.Name)
		}
		if got := must(p.pts.Household(p.adminA.ctx, never.ID))(t); got.Name != "张德福户" {
			t.Errorf("a household they never belonged to: %q, want its own name kept", got.Name)
		}
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'household' AND target_id = ? AND detail LIKE ?", never.ID, "%张德福%"); n != 1 {
			t.Errorf("%d audit lines of a household they never belonged to name it, want its creation's", n)
		}
	})
}

// A renamed household's new name reaches the kept boards of its org and of
// the orgs above it, on every server, and of the village below it where a
// member lives (whose awards for the household are the village's); a
// board of another branch stays, and so does every board when only the
// head changes (boards show the name). Not parallel: it sets which boards
// are kept.
func TestHouseholdRenameReachesKeptBoards(t *testing.T) {
	keptBoardsOnTwoServers(t, func(t *testing.T, p *ptsFx, other *sqldb.PointsService) {
		for _, org := range []*jifen.Org{p.countyA, p.countyB} {
			p.set(t, org, func(s *jifen.PointsSettings) { s.PointsTo, s.MaskNames = jifen.ToHousehold, false })
		}
		good := p.rule(t, p.super.ctx, p.root, ruleIn("good", 5))
		wu := p.member(t, "吴志强", p.townA)
		son := p.member(t, "吴小强", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.townA.ID, HeadID: wu.p.ID, MemberIDs: []int64{son.p.ID}}))(t)
		must(p.pts.Award(p.adminA.ctx, jifen.AwardInput{PersonID: son.p.ID, RuleID: good.ID, Key: p.key()}))(t)
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
		// Put right where they were kept (patchBoards), not made again.
		if n := made.Count(); n != 0 {
			t.Errorf("the boards were made %d times after the rename, want none: the kept ones, with the new name", n)
		}
		must(other.Board(p.super.ctx, p.countyB.ID, ""))(t)
		if n := made.Count(); n != 0 {
			t.Errorf("another county's board was made again after the rename; want the kept one")
		}
		must(p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{HeadID: son.p.ID}))(t)
		must(other.Board(p.super.ctx, p.countyA.ID, ""))(t)
		if n := made.Count(); n != 0 {
			t.Errorf("a change of head alone made the county's board again; want the kept one")
		}
	})
}

// TestHouseholdChangesBesideEachOther: on PostgreSQL, writes to one
// household at once.
//   - A change of head, waiting to commit (at the kept boards' generation,
//     held here), beside the removal of that member: the removal read the
//     head as it was and took the member out, leaving a head outside their
//     household. Both now take the household's row: the removal waits and
//     sees the new head.
//   - A rename, waiting to commit, beside the erasure of the member the
//     household was named after: the erasure read the old name and wrote
//     "已注销户" over the new one. It now locks the household and reads the
//     name the rename left.
//   - An erasure, waiting to commit, beside making that member head: the
//     change waits for the erasure (a share of the member's row, taken
//     before the household's, as the erasure takes them) and is refused.
//   - A removal under way beside making that member head: the change waits
//     for the household and sees them gone.
func TestHouseholdChangesBesideEachOther(t *testing.T) {
	pgPoints(t, func(t *testing.T, p *ptsFx) {
		dad := p.member(t, "钱大伯", p.villageA)
		son := p.member(t, "钱小弟", p.villageA)
		uncle := p.member(t, "钱三叔", p.villageA)
		h := must(p.pts.CreateHousehold(p.adminA.ctx, jifen.HouseholdInput{OrgID: p.villageA.ID, HeadID: dad.p.ID, MemberIDs: []int64{son.p.ID, uncle.p.ID}}))(t)
		holdBoards := func() *sql.Tx {
			return holdRows(t, p.raw, "SELECT org_id FROM kept_boards WHERE org_id = 0 FOR UPDATE")
		}
		change := func(in jifen.HouseholdChange) func() error {
			return func() error { _, err := p.pts.ChangeHousehold(p.adminA.ctx, h.ID, in); return err }
		}
		household := func() *jifen.Household { return must(p.pts.Household(p.adminA.ctx, h.ID))(t) }

		cerr, rerr, n := raceBehind(t, p, holdBoards(), change(jifen.HouseholdChange{HeadID: son.p.ID}),
			func() error { return p.pts.RemoveMember(p.adminA.ctx, h.ID, son.p.ID) })
		if cerr != nil {
			t.Errorf("change of head: %v", cerr)
		}
		if jifen.ErrorCode(rerr) != "head_member" {
			t.Errorf("removing the new head answered %v, want head_member", rerr)
		}
		wantNoRetry(t, n, "a change of head beside removing that member")
		got := household()
		if !slices.ContainsFunc(got.Members, func(m jifen.HouseholdMember) bool { return m.PersonID == got.HeadID }) {
			t.Fatalf("the head %d is not among the members %+v", got.HeadID, got.Members)
		}

		must(p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{Name: "钱大伯户"}))(t)
		cerr, eerr, n := raceBehind(t, p, holdBoards(), change(jifen.HouseholdChange{Name: "钱家"}),
			func() error { return p.people.ErasePerson(p.adminA.ctx, dad.p.ID, "本人书面申请") })
		if cerr != nil || eerr != nil {
			t.Errorf("rename: %v; erasure: %v", cerr, eerr)
		}
		wantNoRetry(t, n, "a rename beside the erasure of the member it was named after")
		if got := household(); got.Name != "钱家" {
			t.Errorf("after the rename and the erasure the household is %q, want the rename's 钱家", got.Name)
		}

		must(p.pts.ChangeHousehold(p.adminA.ctx, h.ID, jifen.HouseholdChange{Name: "钱三叔户"}))(t)
		eerr, cerr, n = raceBehind(t, p, holdBoards(),
			func() error { return p.people.ErasePerson(p.adminA.ctx, uncle.p.ID, "本人书面申请") },
			change(jifen.HouseholdChange{HeadID: uncle.p.ID}))
		if eerr != nil {
			t.Errorf("erasure: %v", eerr)
		}
		if jifen.ErrorCode(cerr) != "invalid" {
			t.Errorf("making the member under erasure head answered %v, want invalid", cerr)
		}
		wantNoRetry(t, n, "an erasure beside making that member head")
		if got := household(); got.HeadID != son.p.ID || got.Name != "已注销户" {
			t.Errorf("household %q, head %d; want 已注销户 under %d", got.Name, got.HeadID, son.p.ID)
		}

		aunt := p.member(t, "钱二姑", p.villageA)
		must(0, p.pts.AddMember(p.adminA.ctx, h.ID, aunt.p.ID))(t)
		hold := holdRows(t, p.raw, "SELECT id FROM households WHERE id = $1 FOR NO KEY UPDATE", h.ID)
		if _, err := hold.Exec("DELETE FROM household_members WHERE person_id = $1", aunt.p.ID); err != nil {
			hold.Rollback()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- change(jifen.HouseholdChange{HeadID: aunt.p.ID})() }()
		ptsWaitersOrDone(t, p, 1, done)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; jifen.ErrorCode(err) != "invalid" {
			t.Errorf("making a member just removed head answered %v, want invalid", err)
		}
		if got := household(); got.HeadID != son.p.ID {
			t.Errorf("head %d, want %d", got.HeadID, son.p.ID)
		}
	})
}
