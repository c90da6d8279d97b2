package sqldb_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

func TestOrgTreeFromCityDownToTeam(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		levels := []struct {
			name string
			kind jifen.OrgKind
		}{
			{"a county hangs under the city", jifen.OrgCounty},
			{"a town hangs under the county", jifen.OrgTown},
			{"a village hangs under the town", jifen.OrgVillage},
			{"a team hangs under the village", jifen.OrgTeam},
			{"a sub-team hangs under the team", jifen.OrgTeam},
		}
		parent := f.root
		for _, lv := range levels {
			t.Run(lv.name, func(t *testing.T) {
				o := f.org(t, f.super.ctx, parent, lv.kind, "层级"+string(lv.kind))
				if o.ParentID == nil || *o.ParentID != parent.ID {
					t.Fatalf("parent = %v, want %d", o.ParentID, parent.ID)
				}
				if want := parent.Path + strconv.FormatInt(o.ID, 10) + "/"; o.Path != want {
					t.Fatalf("path = %q, want %q", o.Path, want)
				}
				if o.Depth != parent.Depth+1 || o.Kind != lv.kind || o.ArchivedAt != nil || o.CreatedAt.IsZero() {
					t.Fatalf("org = %+v", o)
				}
				anc := must(f.orgs.Ancestors(f.super.ctx, o.ID))(t)
				if len(anc) != o.Depth+1 || anc[0].ID != f.root.ID || anc[len(anc)-1].ID != o.ID {
					t.Fatalf("ancestors of %s: %d orgs", o.Path, len(anc))
				}
				parent = o
			})
		}
	})
}

func TestOrgKindRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		parent, child jifen.OrgKind
		ok            bool
	}{
		{"a city holds a county", jifen.OrgCity, jifen.OrgCounty, true},
		{"a county holds a town", jifen.OrgCounty, jifen.OrgTown, true},
		{"a town holds a village", jifen.OrgTown, jifen.OrgVillage, true},
		{"a town holds a community", jifen.OrgTown, jifen.OrgCommunity, true},
		{"a village holds a team", jifen.OrgVillage, jifen.OrgTeam, true},
		{"a team holds a sub-team", jifen.OrgTeam, jifen.OrgTeam, true},
		{"a county holds a work unit", jifen.OrgCounty, jifen.OrgWorkUnit, true},
		{"a work unit holds a work unit", jifen.OrgWorkUnit, jifen.OrgWorkUnit, true},
		{"a work unit holds a team", jifen.OrgWorkUnit, jifen.OrgTeam, true},
		{"a village under a team is refused", jifen.OrgTeam, jifen.OrgVillage, false},
		{"a work unit under a team is refused", jifen.OrgTeam, jifen.OrgWorkUnit, false},
		{"a county under a town is refused", jifen.OrgTown, jifen.OrgCounty, false},
		{"a city under a county is refused", jifen.OrgCounty, jifen.OrgCity, false},
		{"a county under a county is refused", jifen.OrgCounty, jifen.OrgCounty, false},
		{"a village under a community is refused", jifen.OrgCommunity, jifen.OrgVillage, false},
		{"a work unit under a village is refused", jifen.OrgVillage, jifen.OrgWorkUnit, false},
		{"a town under a work unit is refused", jifen.OrgWorkUnit, jifen.OrgTown, false},
	}
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		// One parent of every kind.
		parents := map[jifen.OrgKind]*jifen.Org{
			jifen.OrgCity: f.root, jifen.OrgCounty: f.countyA, jifen.OrgTown: f.townA,
			jifen.OrgVillage: f.villageA, jifen.OrgTeam: f.teamA,
		}
		parents[jifen.OrgCommunity] = f.org(t, f.super.ctx, f.townA, jifen.OrgCommunity, "东街社区")
		parents[jifen.OrgWorkUnit] = f.org(t, f.super.ctx, f.countyA, jifen.OrgWorkUnit, "县总工会")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if jifen.CanParent(tc.parent, tc.child) != tc.ok {
					t.Fatalf("jifen.CanParent(%s, %s) disagrees with this table", tc.parent, tc.child)
				}
				o, err := f.orgs.CreateOrg(f.super.ctx, jifen.OrgInput{Name: tc.name, Kind: tc.child, ParentID: &parents[tc.parent].ID})
				if tc.ok {
					wantErr(t, err, "", "", "")
					if o.Kind != tc.child {
						t.Fatalf("kind = %s", o.Kind)
					}
					return
				}
				wantErr(t, err, jifen.KindInvalid, "invalid", "kind")
				if _, err := f.orgs.FindOrgByName(f.super.ctx, f.root.ID, tc.name); jifen.ErrorKind(err) != jifen.KindNotFound {
					t.Fatalf("a refused org was written: %v", err)
				}
			})
		}
		t.Run("every pair of kinds follows jifen.CanParent", func(t *testing.T) {
			for _, pk := range jifen.OrgKinds {
				for _, ck := range jifen.OrgKinds {
					_, err := f.orgs.CreateOrg(f.super.ctx, jifen.OrgInput{Name: "矩阵" + string(pk) + string(ck), Kind: ck, ParentID: &parents[pk].ID})
					if ok := err == nil; ok != jifen.CanParent(pk, ck) {
						t.Errorf("%s under %s: err = %v, CanParent = %v", ck, pk, err, jifen.CanParent(pk, ck))
					}
				}
			}
		})
		t.Run("an unknown kind is refused on kind", func(t *testing.T) {
			_, err := f.orgs.CreateOrg(f.super.ctx, jifen.OrgInput{Name: "星球", Kind: "planet", ParentID: &f.root.ID})
			wantErr(t, err, jifen.KindInvalid, "invalid", "kind")
		})
	})
}

func TestOrgCreatePermissions(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		archived := f.org(t, f.super.ctx, f.countyA, jifen.OrgTown, "已撤并镇")
		wantErr(t, f.orgs.ArchiveOrg(f.super.ctx, archived.ID), "", "", "")
		missing := int64(999999)
		cases := []struct {
			name   string
			actor  func() context.Context
			parent *int64
			kind   jifen.OrgKind
			want   jifen.Kind
			code   string
			field  string
		}{
			{"the super admin creates a root", func() context.Context { return f.super.ctx }, nil, jifen.OrgCity, "", "", ""},
			{"a county admin cannot create a root", func() context.Context { return f.adminA.ctx }, nil, jifen.OrgCity, jifen.KindForbidden, "forbidden", ""},
			{"a resident cannot create a root", func() context.Context { return f.resident.ctx }, nil, jifen.OrgCity, jifen.KindForbidden, "forbidden", ""},
			{"a county admin creates a town in their county", func() context.Context { return f.adminA.ctx }, &f.countyA.ID, jifen.OrgTown, "", "", ""},
			{"a county admin creates deep below their county", func() context.Context { return f.adminA.ctx }, &f.villageA.ID, jifen.OrgTeam, "", "", ""},
			{"a county admin cannot create in the sibling county", func() context.Context { return f.adminA.ctx }, &f.countyB.ID, jifen.OrgTown, jifen.KindNotFound, "not_found", ""},
			{"a county admin cannot create beside their county", func() context.Context { return f.adminA.ctx }, &f.root.ID, jifen.OrgCounty, jifen.KindForbidden, "forbidden", ""},
			{"a team leader cannot create a sub-team", func() context.Context { return f.leader.ctx }, &f.teamA.ID, jifen.OrgTeam, jifen.KindForbidden, "forbidden", ""},
			{"a resident cannot create in their village", func() context.Context { return f.resident.ctx }, &f.villageA.ID, jifen.OrgTeam, jifen.KindForbidden, "forbidden", ""},
			{"nobody signed in cannot create", func() context.Context { return context.Background() }, &f.countyA.ID, jifen.OrgTown, jifen.KindUnauthorized, "unauthorized", ""},
			{"a missing parent is refused on parent_id", func() context.Context { return f.super.ctx }, &missing, jifen.OrgTown, jifen.KindInvalid, "invalid", "parent_id"},
			{"an archived org is refused as a parent", func() context.Context { return f.adminA.ctx }, &archived.ID, jifen.OrgVillage, jifen.KindConflict, "org_archived", ""},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				name := fmt.Sprintf("新组织%d", i)
				o, err := f.orgs.CreateOrg(tc.actor(), jifen.OrgInput{Name: name, Kind: tc.kind, ParentID: tc.parent})
				wantErr(t, err, tc.want, tc.code, tc.field)
				if tc.want != "" {
					if l := f.auditEntries(t, "org.create"); l[0].Detail == name {
						t.Fatal("a refused create was audited")
					}
					return
				}
				if tc.parent == nil && (o.ParentID != nil || o.Depth != 0 || o.Path != "/"+strconv.FormatInt(o.ID, 10)+"/") {
					t.Fatalf("root = %+v", o)
				}
				if l := f.auditEntries(t, "org.create"); l[0].TargetID != o.ID || l[0].ActorID != jifen.ActorFrom(tc.actor()).PersonID {
					t.Fatalf("audit = %+v", l[0])
				}
			})
		}
		t.Run("a name over 60 characters is refused on name", func(t *testing.T) {
			_, err := f.orgs.CreateOrg(f.super.ctx, jifen.OrgInput{Name: strings.Repeat("村", 61), Kind: jifen.OrgTown, ParentID: &f.countyA.ID})
			wantErr(t, err, jifen.KindInvalid, "invalid", "name")
		})
	})
}

// The subtree of /1/2/ must not take in /1/20/ … /1/29/: the range
// [path, PathUpper(path)) does what a LIKE '/1/2%' would get wrong.
func TestOrgSubtreeIsThePathRange(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		if f.countyA.Path != "/1/2/" {
			t.Fatalf("county A path = %q, the test needs /1/2/", f.countyA.Path)
		}
		var twin *jifen.Org // a county whose id starts with 2: /1/2x/
		for i := 0; twin == nil && i < 40; i++ {
			o := f.org(t, f.super.ctx, f.root, jifen.OrgCounty, fmt.Sprintf("填充县%d", i))
			if o.ID >= 20 && o.ID <= 29 {
				twin = o
			}
		}
		if twin == nil || !strings.HasPrefix(twin.Path, "/1/2") {
			t.Fatalf("no county with an id of 20-29")
		}
		village := f.org(t, f.super.ctx, f.org(t, f.super.ctx, twin, jifen.OrgTown, "孪生镇"), jifen.OrgVillage, "孪生村")
		outsider, _ := f.person(t, "孪生人", village)
		cases := []struct {
			name  string
			check func(t *testing.T)
		}{
			{"people of county A exclude county 2x", func(t *testing.T) {
				for _, u := range []user{f.super, f.adminA} {
					l, _ := must2(f.people.People(u.ctx, jifen.PersonFilter{OrgID: f.countyA.ID, PerPage: 100}))(t)
					for _, p := range l {
						if p.ID == outsider.ID {
							t.Fatalf("%s: county A's people include %s of %s", u.p.Name, p.Name, twin.Path)
						}
					}
				}
			}},
			{"people of county 2x are found in its own range", func(t *testing.T) {
				l, n := must2(f.people.People(f.super.ctx, jifen.PersonFilter{OrgID: twin.ID}))(t)
				if n != 1 || l[0].ID != outsider.ID {
					t.Fatalf("got %d people", n)
				}
			}},
			{"finding by name inside county A misses county 2x's village", func(t *testing.T) {
				_, err := f.orgs.FindOrgByName(f.super.ctx, f.countyA.ID, "孪生村")
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
				o := must(f.orgs.FindOrgByName(f.super.ctx, f.root.ID, "孪生村"))(t)
				if o.ID != village.ID {
					t.Fatalf("found %d", o.ID)
				}
			}},
			{"county A's admin cannot see county 2x", func(t *testing.T) {
				_, err := f.orgs.Org(f.adminA.ctx, twin.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
				_, err = f.people.Person(f.adminA.ctx, outsider.ID)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}},
			{"county A's audit log excludes county 2x", func(t *testing.T) {
				l, _ := must2(f.audit.Audit(f.adminA.ctx, jifen.AuditFilter{PerPage: 100}))(t)
				for _, e := range l {
					if e.OrgID == twin.ID || e.OrgID == village.ID {
						t.Fatalf("county A sees %+v", e)
					}
				}
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, tc.check)
		}
	})
}

func TestMoveOrg(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		// subtree builds town → village → team → sub-team in county A, with
		// a person living in the village.
		type subtree struct {
			town, village, team, sub *jifen.Org
			phone                    string
		}
		n := 0
		build := func(t *testing.T) subtree {
			n++
			s := subtree{town: f.org(t, f.adminA.ctx, f.countyA, jifen.OrgTown, fmt.Sprintf("迁移镇%d", n))}
			s.village = f.org(t, f.adminA.ctx, s.town, jifen.OrgVillage, fmt.Sprintf("迁移村%d", n))
			s.team = f.org(t, f.adminA.ctx, s.village, jifen.OrgTeam, fmt.Sprintf("迁移队%d", n))
			s.sub = f.org(t, f.adminA.ctx, s.team, jifen.OrgTeam, fmt.Sprintf("迁移分队%d", n))
			_, s.phone = f.person(t, fmt.Sprintf("迁移人%d", n), s.village)
			return s
		}
		get := func(t *testing.T, id int64) *jifen.Org { return must(f.orgs.Org(f.super.ctx, id))(t) }

		t.Run("a town moves to county B with its villages, teams, people and audit trail", func(t *testing.T) {
			s := build(t)
			moved := must(f.orgs.MoveOrg(f.super.ctx, s.town.ID, f.countyB.ID))(t)
			if *moved.ParentID != f.countyB.ID || moved.Path != jifen.OrgPath(f.countyB.Path, s.town.ID) || moved.Depth != 2 {
				t.Fatalf("moved = %+v", moved)
			}
			for _, o := range []*jifen.Org{s.village, s.team, s.sub} {
				now := get(t, o.ID)
				want := moved.Path + strings.TrimPrefix(o.Path, s.town.Path)
				if now.Path != want || now.Depth != o.Depth || *now.ParentID != *o.ParentID {
					t.Errorf("%s: path %q depth %d, want %q depth %d", o.Name, now.Path, now.Depth, want, o.Depth)
				}
			}
			if a := jifen.ActorFrom(f.signIn(t, s.phone)); a.HomeOrgPath != moved.Path+strings.TrimPrefix(s.village.Path, s.town.Path) {
				t.Errorf("home_org_path = %q", a.HomeOrgPath)
			}
			_, nb := must2(f.people.People(f.adminB.ctx, jifen.PersonFilter{OrgID: s.town.ID}))(t)
			_, _, err := f.people.People(f.adminA.ctx, jifen.PersonFilter{OrgID: s.town.ID})
			if nb != 1 || jifen.ErrorKind(err) != jifen.KindNotFound {
				t.Errorf("after the move county B sees %d people, county A gets %v", nb, err)
			}
			// The entries of the subtree's creation now belong to county B.
			l, _ := must2(f.audit.Audit(f.adminB.ctx, jifen.AuditFilter{OrgID: s.sub.ID}))(t)
			if len(l) != 1 || l[0].Action != "org.create" {
				t.Errorf("county B's audit of the moved sub-team: %d entries", len(l))
			}
			if _, err := f.orgs.Org(f.adminA.ctx, s.sub.ID); jifen.ErrorKind(err) != jifen.KindNotFound {
				t.Errorf("county A still sees the moved sub-team: %v", err)
			}
			if e := f.auditEntries(t, "org.move")[0]; e.TargetID != s.town.ID || e.Detail != s.town.Path+" → "+moved.Path {
				t.Errorf("audit = %+v", e)
			}
		})
		t.Run("a town moved up under the city lowers every descendant's depth by one", func(t *testing.T) {
			s := build(t)
			moved := must(f.orgs.MoveOrg(f.super.ctx, s.town.ID, f.root.ID))(t)
			if moved.Depth != 1 || moved.Path != jifen.OrgPath(f.root.Path, s.town.ID) {
				t.Fatalf("moved = %+v", moved)
			}
			for _, o := range []*jifen.Org{s.village, s.team, s.sub} {
				if now := get(t, o.ID); now.Depth != o.Depth-1 || !strings.HasPrefix(now.Path, moved.Path) {
					t.Errorf("%s: path %q depth %d", o.Name, now.Path, now.Depth)
				}
			}
		})
		t.Run("a village moves between towns inside the admin's own county", func(t *testing.T) {
			s := build(t)
			moved := must(f.orgs.MoveOrg(f.adminA.ctx, s.village.ID, f.townA.ID))(t)
			if moved.Path != jifen.OrgPath(f.townA.Path, s.village.ID) || get(t, s.sub.ID).Path != moved.Path+strconv.FormatInt(s.team.ID, 10)+"/"+strconv.FormatInt(s.sub.ID, 10)+"/" {
				t.Fatalf("moved = %+v", moved)
			}
		})

		refusals := []struct {
			name   string
			actor  func() context.Context
			org    func(s subtree) int64
			parent func(s subtree) int64
			want   jifen.Kind
			code   string
			field  string
		}{
			{"an org cannot move under itself", func() context.Context { return f.super.ctx },
				func(s subtree) int64 { return s.team.ID }, func(s subtree) int64 { return s.team.ID }, jifen.KindInvalid, "invalid", "parent_id"},
			{"a team cannot move under its own sub-team", func() context.Context { return f.super.ctx },
				func(s subtree) int64 { return s.team.ID }, func(s subtree) int64 { return s.sub.ID }, jifen.KindInvalid, "invalid", "parent_id"},
			{"the kind rules hold for moves: a village under a team", func() context.Context { return f.super.ctx },
				func(s subtree) int64 { return s.village.ID }, func(s subtree) int64 { return f.teamA.ID }, jifen.KindInvalid, "invalid", "parent_id"},
			{"county A's admin cannot move a town into county B", func() context.Context { return f.adminA.ctx },
				func(s subtree) int64 { return s.town.ID }, func(s subtree) int64 { return f.countyB.ID }, jifen.KindForbidden, "forbidden", ""},
			{"county B's admin cannot pull a town out of county A", func() context.Context { return f.adminB.ctx },
				func(s subtree) int64 { return s.town.ID }, func(s subtree) int64 { return f.countyB.ID }, jifen.KindForbidden, "forbidden", ""},
			{"a missing new parent is refused on parent_id", func() context.Context { return f.super.ctx },
				func(s subtree) int64 { return s.town.ID }, func(s subtree) int64 { return 999999 }, jifen.KindInvalid, "invalid", "parent_id"},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				s := build(t)
				before := get(t, s.sub.ID)
				_, err := f.orgs.MoveOrg(tc.actor(), tc.org(s), tc.parent(s))
				wantErr(t, err, tc.want, tc.code, tc.field)
				if after := get(t, s.sub.ID); after.Path != before.Path || after.Depth != before.Depth {
					t.Fatalf("a refused move changed %q to %q", before.Path, after.Path)
				}
			})
		}
		t.Run("moving the root is refused with org_root", func(t *testing.T) {
			other := f.org(t, f.super.ctx, nil, jifen.OrgCity, "外市")
			_, err := f.orgs.MoveOrg(f.super.ctx, f.root.ID, other.ID)
			wantErr(t, err, jifen.KindConflict, "org_root", "")
		})
		t.Run("an archived org is refused as the new parent", func(t *testing.T) {
			s := build(t)
			closed := f.org(t, f.adminA.ctx, f.countyA, jifen.OrgTown, "撤并镇")
			wantErr(t, f.orgs.ArchiveOrg(f.adminA.ctx, closed.ID), "", "", "")
			_, err := f.orgs.MoveOrg(f.adminA.ctx, s.village.ID, closed.ID)
			wantErr(t, err, jifen.KindConflict, "org_archived", "")
		})
	})
}

func TestArchiveOrg(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		town := f.org(t, f.adminA.ctx, f.countyA, jifen.OrgTown, "待撤镇")
		village := f.org(t, f.adminA.ctx, town, jifen.OrgVillage, "待撤村")
		p, _ := f.person(t, "留守人", town)
		steps := []struct {
			name  string
			do    func() error
			want  jifen.Kind
			code  string
			field string
		}{
			{"county B's admin cannot archive county A's town", func() error { return f.orgs.ArchiveOrg(f.adminB.ctx, town.ID) }, jifen.KindForbidden, "forbidden", ""},
			{"a resident cannot archive their village", func() error { return f.orgs.ArchiveOrg(f.resident.ctx, f.villageA.ID) }, jifen.KindForbidden, "forbidden", ""},
			{"an org with an active child is refused", func() error { return f.orgs.ArchiveOrg(f.adminA.ctx, town.ID) }, jifen.KindConflict, "org_has_children", ""},
			{"the childless village archives", func() error { return f.orgs.ArchiveOrg(f.adminA.ctx, village.ID) }, "", "", ""},
			{"an org with people is refused", func() error { return f.orgs.ArchiveOrg(f.adminA.ctx, town.ID) }, jifen.KindConflict, "org_has_people", ""},
			{"its people move elsewhere", func() error {
				_, err := f.people.UpdatePerson(f.adminA.ctx, p.ID, jifen.PersonInput{Name: p.Name, Gender: p.Gender, Phone: p.Phone, OrgID: f.townA.ID})
				return err
			}, "", "", ""},
			{"the town with archived children and no people archives", func() error { return f.orgs.ArchiveOrg(f.adminA.ctx, town.ID) }, "", "", ""},
			{"archiving again is a no-op", func() error { return f.orgs.ArchiveOrg(f.adminA.ctx, town.ID) }, "", "", ""},
			{"an archived org is refused as a parent", func() error {
				_, err := f.orgs.CreateOrg(f.adminA.ctx, jifen.OrgInput{Name: "新村", Kind: jifen.OrgVillage, ParentID: &town.ID})
				return err
			}, jifen.KindConflict, "org_archived", ""},
			{"an archived org is refused as a home org", func() error {
				_, err := f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "新人", Gender: jifen.Female, OrgID: town.ID})
				return err
			}, jifen.KindInvalid, "invalid", "org_id"},
			{"an archived org is refused for sign-up", func() error {
				_, _, err := f.auth.Signup(context.Background(), jifen.SignupInput{PersonInput: jifen.PersonInput{Name: "报名人", Gender: jifen.Male,
					BirthDate: "1990-01-01", Phone: f.phone(), Password: pw, OrgID: town.ID}, ConsentVersion: jifen.PrivacyNoticeVersion}, localIP)
				return err
			}, jifen.KindInvalid, "invalid", "org_id"},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) { wantErr(t, st.do(), st.want, st.code, st.field) })
		}
		t.Run("lists hide archived orgs unless asked", func(t *testing.T) {
			has := func(l []*jifen.Org, id int64) bool {
				for _, o := range l {
					if o.ID == id {
						return true
					}
				}
				return false
			}
			if has(must(f.orgs.Children(f.adminA.ctx, f.countyA.ID, false))(t), town.ID) {
				t.Error("Children lists the archived town")
			}
			if !has(must(f.orgs.Children(f.adminA.ctx, f.countyA.ID, true))(t), town.ID) {
				t.Error("Children with archived omits the archived town")
			}
			if has(must(f.orgs.SignupOrgs(context.Background()))(t), town.ID) {
				t.Error("SignupOrgs offers the archived town")
			}
			if o := must(f.orgs.Org(f.adminA.ctx, town.ID))(t); o.ArchivedAt == nil {
				t.Error("ArchivedAt not set")
			}
			if l := f.auditEntries(t, "org.archive"); len(l) != 2 || l[0].TargetID != town.ID || l[1].TargetID != village.ID {
				t.Errorf("archive audit: %d entries", len(l))
			}
		})
	})
}

func TestSetSeal(t *testing.T) {
	t.Parallel()
	png := sqldbtest.PNG
	cases := []struct {
		name  string
		actor func(f *fx) context.Context
		img   []byte
		want  jifen.Kind
	}{
		{"a small PNG is stored", func(f *fx) context.Context { return f.adminA.ctx }, png(1000), ""},
		{"a PNG of exactly 512 KB is stored", func(f *fx) context.Context { return f.adminA.ctx }, png(512 << 10), ""},
		{"a PNG one byte over 512 KB is refused", func(f *fx) context.Context { return f.adminA.ctx }, png(512<<10 + 1), jifen.KindInvalid},
		{"a JPEG is refused", func(f *fx) context.Context { return f.adminA.ctx }, append([]byte{0xff, 0xd8, 0xff, 0xe0}, make([]byte, 100)...), jifen.KindInvalid},
		{"a truncated PNG signature is refused", func(f *fx) context.Context { return f.adminA.ctx }, []byte("\x89PNG"), jifen.KindInvalid},
		{"a PNG signature on garbage is refused", func(f *fx) context.Context { return f.adminA.ctx }, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...), jifen.KindInvalid},
		{"an empty image is refused", func(f *fx) context.Context { return f.adminA.ctx }, nil, jifen.KindInvalid},
		{"county B's admin cannot set county A's seal", func(f *fx) context.Context { return f.adminB.ctx }, png(1000), jifen.KindForbidden},
		{"a team leader cannot set the county's seal", func(f *fx) context.Context { return f.leader.ctx }, png(1000), jifen.KindForbidden},
	}
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		t.Run("an org without a seal has none to read", func(t *testing.T) {
			_, err := f.orgs.Seal(f.adminA.ctx, f.countyA.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				img := append([]byte(nil), tc.img...)
				if len(img) > 16 {
					img[len(img)-1] = byte(i) // tell the stored images apart
				}
				before, _ := f.orgs.Seal(f.super.ctx, f.countyA.ID)
				err := f.orgs.SetSeal(tc.actor(f), f.countyA.ID, img)
				switch tc.want {
				case "":
					wantErr(t, err, "", "", "")
				case jifen.KindInvalid:
					wantErr(t, err, jifen.KindInvalid, "invalid", "seal")
				default:
					wantErr(t, err, tc.want, "forbidden", "")
				}
				got, _ := f.orgs.Seal(f.resident.ctx, f.countyA.ID) // a resident of the county reads it for certificates
				if tc.want == "" && !bytes.Equal(got, img) {
					t.Fatalf("read back %d bytes, want %d", len(got), len(img))
				}
				if tc.want != "" && !bytes.Equal(got, before) {
					t.Fatal("a refused seal replaced the stored one")
				}
			})
		}
		t.Run("the org reports its seal and the upload is audited", func(t *testing.T) {
			if !must(f.orgs.Org(f.adminA.ctx, f.countyA.ID))(t).HasSeal {
				t.Error("HasSeal = false")
			}
			if l := f.auditEntries(t, "org.seal"); len(l) != 2 || l[0].Detail != "524288字节" {
				t.Errorf("seal audit: %d entries", len(l))
			}
		})
		t.Run("county B's admin cannot read county A's seal", func(t *testing.T) {
			_, err := f.orgs.Seal(f.adminB.ctx, f.countyA.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
	})
}

func TestUpdateOrg(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		cases := []struct {
			name  string
			actor func() context.Context
			in    jifen.OrgInput
			want  jifen.Kind
			field string
		}{
			{"the county admin renames a town and the rename is audited", func() context.Context { return f.adminA.ctx },
				jifen.OrgInput{Name: "锦屏镇（新）", LeaderName: "王书记", ContactPhone: "0933-1234567", SignupRequiresApproval: true}, "", ""},
			{"the kind stays what it was", func() context.Context { return f.adminA.ctx },
				jifen.OrgInput{Name: "锦屏街道", Kind: jifen.OrgVillage}, "", ""},
			{"an empty name is refused", func() context.Context { return f.adminA.ctx }, jifen.OrgInput{Name: "  "}, jifen.KindInvalid, "name"},
			{"a bad contact phone is refused", func() context.Context { return f.adminA.ctx }, jifen.OrgInput{Name: "锦屏镇", ContactPhone: "call me"}, jifen.KindInvalid, "contact_phone"},
			{"a resident of the town may see it but not rename it", func() context.Context { return f.resident.ctx }, jifen.OrgInput{Name: "居民镇"}, jifen.KindForbidden, ""},
			{"county B's admin does not even see it", func() context.Context { return f.adminB.ctx }, jifen.OrgInput{Name: "乙镇"}, jifen.KindNotFound, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := must(f.orgs.Org(f.super.ctx, f.townA.ID))(t)
				o, err := f.orgs.UpdateOrg(tc.actor(), f.townA.ID, tc.in)
				if tc.want != "" {
					wantErr(t, err, tc.want, "", tc.field)
					if after := must(f.orgs.Org(f.super.ctx, f.townA.ID))(t); after.Name != before.Name {
						t.Fatalf("a refused update renamed the town to %q", after.Name)
					}
					return
				}
				wantErr(t, err, "", "", "")
				if o.Name != tc.in.Name || o.Kind != jifen.OrgTown || o.LeaderName != tc.in.LeaderName || o.SignupRequiresApproval != tc.in.SignupRequiresApproval || o.Path != before.Path {
					t.Fatalf("updated = %+v", o)
				}
				e := f.auditEntries(t, "org.update")[0]
				if e.TargetID != f.townA.ID || e.ActorID != f.adminA.p.ID || e.Detail != before.Name+" → "+tc.in.Name {
					t.Fatalf("audit = %+v", e)
				}
			})
		}
	})
}

func TestOrgVisibility(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		type see struct {
			org     *jifen.Org
			visible bool
		}
		cases := []struct {
			name string
			who  user
			orgs []see
		}{
			{"county A's admin sees their county, its subtree and the city above", f.adminA,
				[]see{{f.root, true}, {f.countyA, true}, {f.townA, true}, {f.villageA, true}, {f.teamA, true}}},
			{"county A's admin gets not found for county B and below", f.adminA,
				[]see{{f.countyB, false}, {f.townB, false}, {f.villageB, false}}},
			{"a resident sees the orgs on the way up to their village", f.resident,
				[]see{{f.root, true}, {f.countyA, true}, {f.townA, true}, {f.villageA, true}}},
			{"a resident does not see other counties or teams they are not in", f.resident,
				[]see{{f.countyB, false}, {f.villageB, false}, {f.teamA, false}}},
			{"a team leader sees their team and the way up", f.leader,
				[]see{{f.teamA, true}, {f.villageA, true}, {f.root, true}, {f.townB, false}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, s := range tc.orgs {
					o, err := f.orgs.Org(tc.who.ctx, s.org.ID)
					_, cerr := f.orgs.Children(tc.who.ctx, s.org.ID, false)
					if s.visible {
						if err != nil || o.ID != s.org.ID || cerr != nil {
							t.Errorf("%s: %v / children: %v", s.org.Name, err, cerr)
						}
						continue
					}
					if jifen.ErrorKind(err) != jifen.KindNotFound || jifen.ErrorKind(cerr) != jifen.KindNotFound {
						t.Errorf("%s: Org = %v, Children = %v, want not found", s.org.Name, err, cerr)
					}
				}
			})
		}
		t.Run("a resident's ancestors run from the city to their village", func(t *testing.T) {
			l := must(f.orgs.Ancestors(f.resident.ctx, f.resident.p.HomeOrgID))(t)
			var got []int64
			for _, o := range l {
				got = append(got, o.ID)
			}
			if want := []int64{f.root.ID, f.countyA.ID, f.townA.ID, f.villageA.ID}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("ancestors = %v, want %v", got, want)
			}
		})
		t.Run("children of the city list only what the admin may see", func(t *testing.T) {
			l := must(f.orgs.Children(f.adminA.ctx, f.root.ID, false))(t)
			if len(l) != 1 || l[0].ID != f.countyA.ID || l[0].Children != 1 {
				t.Fatalf("children = %d orgs", len(l))
			}
			if l := must(f.orgs.Children(f.super.ctx, f.root.ID, false))(t); len(l) != 2 {
				t.Fatalf("the super admin sees %d counties", len(l))
			}
		})
		t.Run("nobody signed in sees nothing", func(t *testing.T) {
			_, err := f.orgs.Org(context.Background(), f.root.ID)
			wantErr(t, err, jifen.KindUnauthorized, "unauthorized", "")
		})
	})
}
