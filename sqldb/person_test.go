package sqldb_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

func TestCreatePersonWithIDNumber(t *testing.T) {
	t.Parallel()
	female := idNo("19950818", 882)
	male := idNo("19600501", 123)
	withX := ""
	for seq := 1; withX == ""; seq++ {
		if id := idNo("19881231", seq); strings.HasSuffix(id, "X") {
			withX = id
		}
	}
	future := idNo(time.Now().AddDate(1, 0, 0).Format("20060102"), 1)
	wrongCheck := female[:17] + string("0123456789"[(strings.IndexByte("0123456789", female[17])+1)%10])
	cases := []struct {
		name   string
		in     jifen.PersonInput
		masked string
		birth  string
		want   jifen.Kind
		field  string
	}{
		{"the ID number is masked as four characters, ten stars and four characters, the birth date comes from it",
			jifen.PersonInput{Name: "李四", Gender: jifen.Female, IDNumber: female}, female[:4] + "**********" + female[14:], "1995-08-18", "", ""},
		{"a birth date that matches the ID number is kept",
			jifen.PersonInput{Name: "张伯", Gender: jifen.Male, IDNumber: male, BirthDate: "1960-05-01"}, male[:4] + "**********" + male[14:], "1960-05-01", "", ""},
		{"a lowercase x check letter is stored upper-case",
			jifen.PersonInput{Name: "赵叉", Gender: jifen.IDGender(withX), IDNumber: " " + strings.ToLower(withX) + " "}, withX[:4] + "**********" + withX[14:], "1988-12-31", "", ""},
		{"a person without an ID number has no mask and no birth date",
			jifen.PersonInput{Name: "无证", Gender: jifen.Male}, "", "", "", ""},
		{"a birth date that differs from the ID number is refused",
			jifen.PersonInput{Name: "错生日", Gender: jifen.Female, IDNumber: idNo("19950818", 884), BirthDate: "1995-08-19"}, "", "", jifen.KindInvalid, "birth_date"},
		{"a gender that differs from the ID number is refused",
			jifen.PersonInput{Name: "错性别", Gender: jifen.Male, IDNumber: idNo("19950818", 886)}, "", "", jifen.KindInvalid, "gender"},
		{"a wrong check digit is refused",
			jifen.PersonInput{Name: "错校验", Gender: jifen.Female, IDNumber: wrongCheck}, "", "", jifen.KindInvalid, "id_number"},
		{"an ID number of 17 characters is refused",
			jifen.PersonInput{Name: "短号", Gender: jifen.Female, IDNumber: female[:17]}, "", "", jifen.KindInvalid, "id_number"},
		{"an ID number mangled by a spreadsheet is refused",
			jifen.PersonInput{Name: "表格", Gender: jifen.Female, IDNumber: "1.10102E+17"}, "", "", jifen.KindInvalid, "id_number"},
		{"an ID number born in the future is refused",
			jifen.PersonInput{Name: "未来人", Gender: jifen.Male, IDNumber: future}, "", "", jifen.KindInvalid, "id_number"},
	}
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := f.peopleCount(t)
				in := tc.in
				in.OrgID = f.villageA.ID
				p, err := f.people.CreatePerson(f.adminA.ctx, in)
				wantErr(t, err, tc.want, "", tc.field)
				if tc.want != "" {
					if n := f.peopleCount(t); n != before {
						t.Fatalf("%d people after a refused create, want %d", n, before)
					}
					return
				}
				if p.IDMasked != tc.masked || p.BirthDate != tc.birth || p.Gender != tc.in.Gender || p.Status != jifen.PersonActive {
					t.Fatalf("person = masked %q birth %q gender %s status %s", p.IDMasked, p.BirthDate, p.Gender, p.Status)
				}
				if len(p.VolunteerNo) != 12 || !strings.HasPrefix(p.VolunteerNo, fmt.Sprint(time.Now().In(jifen.Zone).Year())) {
					t.Fatalf("volunteer number %q", p.VolunteerNo)
				}
				if tc.masked != "" && strings.Contains(fmt.Sprintf("%+v", *p), strings.TrimSpace(strings.ToUpper(tc.in.IDNumber))) {
					t.Fatal("the clear ID number leaks into the person record")
				}
			})
		}
	})
}

func TestCreatePersonConflictsWriteNothing(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		id := idNo("19700101", 11)
		first := must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "先来", Gender: jifen.Male, Phone: "13712345678", IDNumber: id, OrgID: f.villageA.ID}))(t)
		cases := []struct {
			name  string
			in    jifen.PersonInput
			code  string
			field string
		}{
			{"a phone already registered is refused with phone_taken",
				jifen.PersonInput{Name: "后到", Gender: jifen.Male, Phone: "13712345678"}, "phone_taken", "phone"},
			{"the same phone typed with +86 and spaces is still taken",
				jifen.PersonInput{Name: "后到", Gender: jifen.Male, Phone: "+86 137 1234 5678"}, "phone_taken", "phone"},
			{"an ID number already registered is refused with id_number_taken",
				jifen.PersonInput{Name: "后到", Gender: jifen.Male, Phone: "13712345679", IDNumber: id}, "id_number_taken", "id_number"},
			{"an ID number already registered is taken in another county too",
				jifen.PersonInput{Name: "后到", Gender: jifen.Male, IDNumber: id, OrgID: -1}, "id_number_taken", "id_number"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				people, audits := f.peopleCount(t), f.auditTotal(t)
				in, ctx := tc.in, f.adminA.ctx
				in.OrgID = f.villageA.ID
				if tc.in.OrgID == -1 {
					in.OrgID, ctx = f.villageB.ID, f.adminB.ctx
				}
				_, err := f.people.CreatePerson(ctx, in)
				wantErr(t, err, jifen.KindConflict, tc.code, tc.field)
				if n, a := f.peopleCount(t), f.auditTotal(t); n != people || a != audits {
					t.Fatalf("people %d → %d, audit %d → %d", people, n, audits, a)
				}
			})
		}
		t.Run("a person whose team is refused is not written either", func(t *testing.T) {
			people := f.peopleCount(t)
			in := jifen.PersonInput{Name: "半截", Gender: jifen.Female, Phone: "13712340000", OrgID: f.villageA.ID, TeamIDs: []int64{f.townA.ID}}
			_, err := f.people.CreatePerson(f.adminA.ctx, in)
			wantErr(t, err, jifen.KindInvalid, "invalid", "team_ids")
			if n := f.peopleCount(t); n != people {
				t.Fatalf("people %d → %d", people, n)
			}
			in.TeamIDs = nil // the phone is still free
			must(f.people.CreatePerson(f.adminA.ctx, in))(t)
		})
		t.Run("the first person is untouched", func(t *testing.T) {
			p := must(f.people.Person(f.adminA.ctx, first.ID))(t)
			if p.Name != "先来" || p.Phone != "13712345678" || p.IDMasked != first.IDMasked {
				t.Fatalf("first = %+v", p)
			}
		})
	})
}

func TestPersonNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     string
		stored string
		want   jifen.Kind
	}{
		{"a name of 30 characters is accepted", strings.Repeat("名", 30), strings.Repeat("名", 30), ""},
		{"a name of 31 characters is refused", strings.Repeat("名", 31), "", jifen.KindInvalid},
		{"markup is stored verbatim, to be escaped on output", "<script>alert(1)</script>", "<script>alert(1)</script>", ""},
		{"quotes and ampersands are stored verbatim", `阿"凡'提&`, `阿"凡'提&`, ""},
		{"surrounding spaces and control characters are dropped", " \u200b王\x00五 ", "王五", ""},
		{"an ethnic-minority name with a middle dot is kept", "阿依古丽·买买提", "阿依古丽·买买提", ""},
		{"a name on two lines is refused", "王\n五", "", jifen.KindInvalid},
		{"an empty name is refused", "   ", "", jifen.KindInvalid},
	}
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p, err := f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: tc.in, Gender: jifen.Male, OrgID: f.villageA.ID})
				if tc.want != "" {
					wantErr(t, err, tc.want, "invalid", "name")
					return
				}
				wantErr(t, err, "", "", "")
				if got := must(f.people.Person(f.adminA.ctx, p.ID))(t); got.Name != tc.stored {
					t.Fatalf("stored %q, want %q", got.Name, tc.stored)
				}
			})
		}
	})
}

func TestPeopleSearch(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		village := f.org(t, f.adminA.ctx, f.townA, jifen.OrgVillage, "搜索村")
		byName := map[string]*jifen.Person{}
		for i, n := range []string{"王建国", "李建国", "王建", "百分%号", "下_划线", `反\斜杠`, "张三", "建"} {
			byName[n] = must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: n, Gender: jifen.Male,
				Phone: fmt.Sprintf("1581234%04d", i), OrgID: village.ID}))(t)
		}
		byName["外号"] = must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "外号", Gender: jifen.Female,
			Phone: "15899990000", OrgID: village.ID}))(t)
		cases := []struct {
			name string
			q    string
			want []string
		}{
			{"a two-character fragment finds every name containing it", "建国", []string{"王建国", "李建国"}},
			{"a family name and given name prefix", "王建", []string{"王建国", "王建"}},
			{"one character finds all names with it", "建", []string{"王建国", "李建国", "王建", "建"}},
			{"a percent sign is literal", "%", []string{"百分%号"}},
			{"an underscore is literal", "_", []string{"下_划线"}},
			{"a backslash is literal", `\`, []string{`反\斜杠`}},
			{"a phone prefix finds the phones starting with it", "1581234", []string{"王建国", "李建国", "王建", "百分%号", "下_划线", `反\斜杠`, "张三", "建"}},
			{"a longer phone prefix narrows it", "15812340006", []string{"张三"}},
			{"a phone's middle digits are not a prefix", "12340006", nil},
			{"a volunteer number finds its person", byName["外号"].VolunteerNo, []string{"外号"}},
			{"surrounding spaces are ignored", "  李建国 ", []string{"李建国"}},
			{"no match is an empty list", "欧阳", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				l, n := must2(f.people.People(f.adminA.ctx, jifen.PersonFilter{Q: tc.q, OrgID: village.ID, PerPage: 100}))(t)
				var got []string
				for _, p := range l {
					got = append(got, p.Name)
				}
				slices.Sort(got)
				want := slices.Clone(tc.want)
				slices.Sort(want)
				if !slices.Equal(got, want) || n != len(want) {
					t.Fatalf("q %q: got %q (total %d), want %q", tc.q, got, n, want)
				}
			})
		}
		t.Run("a long query is cut without splitting a character", func(t *testing.T) {
			q := "a" + strings.Repeat("建", 30) // 91 bytes: byte 60 falls inside a character
			_, _, err := f.people.People(f.adminA.ctx, jifen.PersonFilter{Q: q, OrgID: village.ID})
			wantErr(t, err, "", "", "")
		})
	})
}

func TestPeoplePaging(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		village := f.org(t, f.adminA.ctx, f.townA, jifen.OrgVillage, "分页村")
		var rows []jifen.PersonInput
		for i := range 25 {
			rows = append(rows, jifen.PersonInput{Name: fmt.Sprintf("村民%02d", i), Gender: jifen.Female, PoliticalStatus: jifen.Masses,
				Phone: fmt.Sprintf("1361111%04d", i), OrgID: village.ID})
		}
		must(f.people.ImportPeople(f.adminA.ctx, village.ID, rows))(t)
		cases := []struct {
			name          string
			page, perPage int
			items         int
		}{
			{"the first page holds per-page people", 1, 10, 10},
			{"the last page holds the rest", 3, 10, 5},
			{"a page past the end is empty but keeps the total", 4, 10, 0},
			{"page zero is the first page", 0, 10, 10},
			{"per-page zero falls back to 20", 1, 0, 20},
			{"per-page over 100 falls back to 20", 1, 500, 20},
			{"per-page 100 is allowed", 1, 100, 25},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				l, n := must2(f.people.People(f.adminA.ctx, jifen.PersonFilter{OrgID: village.ID, Page: tc.page, PerPage: tc.perPage}))(t)
				if n != 25 || len(l) != tc.items {
					t.Fatalf("got %d items of %d, want %d of 25", len(l), n, tc.items)
				}
			})
		}
		t.Run("the pages cover everyone once, newest first", func(t *testing.T) {
			var ids []int64
			for page := 1; page <= 3; page++ {
				l, _ := must2(f.people.People(f.adminA.ctx, jifen.PersonFilter{OrgID: village.ID, Page: page, PerPage: 10}))(t)
				for _, p := range l {
					ids = append(ids, p.ID)
				}
			}
			if len(ids) != 25 || !slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }) || len(slices.Compact(slices.Clone(ids))) != 25 {
				t.Fatalf("ids = %v", ids)
			}
		})
	})
}

func TestPeopleScope(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		// A volunteer who lives in county B and serves in county A's team.
		member := must(f.people.CreatePerson(f.super.ctx, jifen.PersonInput{Name: "跨县队员", Gender: jifen.Female, Phone: f.phone(),
			OrgID: f.villageB.ID, TeamIDs: []int64{f.teamA.ID}}))(t)
		ids := func(t *testing.T, u user, filter jifen.PersonFilter) []int64 {
			filter.PerPage = 100
			l, _ := must2(f.people.People(u.ctx, filter))(t)
			var out []int64
			for _, p := range l {
				out = append(out, p.ID)
			}
			return out
		}
		cases := []struct {
			name       string
			who        user
			sees       []*jifen.Person
			doesNotSee []*jifen.Person
		}{
			{"county A's admin sees county A's people and county A's team members", f.adminA,
				[]*jifen.Person{f.adminA.p, f.leader.p, f.resident.p, member}, []*jifen.Person{f.residentB.p, f.adminB.p, f.super.p}},
			{"county B's admin sees county B's people but not county A's", f.adminB,
				[]*jifen.Person{f.residentB.p, f.adminB.p, member}, []*jifen.Person{f.resident.p, f.leader.p, f.adminA.p}},
			{"a team leader sees the members of their team, also those living elsewhere", f.leader,
				[]*jifen.Person{member}, []*jifen.Person{f.resident.p, f.residentB.p, f.adminA.p}},
			{"the super admin sees everyone", f.super,
				[]*jifen.Person{f.super.p, f.adminA.p, f.adminB.p, f.resident.p, f.residentB.p, member}, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				list := ids(t, tc.who, jifen.PersonFilter{})
				for _, p := range tc.sees {
					if !slices.Contains(list, p.ID) {
						t.Errorf("the list misses %s", p.Name)
					}
					if got, err := f.people.Person(tc.who.ctx, p.ID); err != nil || got.ID != p.ID {
						t.Errorf("Person(%s): %v", p.Name, err)
					}
				}
				for _, p := range tc.doesNotSee {
					if slices.Contains(list, p.ID) {
						t.Errorf("the list shows %s", p.Name)
					}
					if l := ids(t, tc.who, jifen.PersonFilter{Q: p.Phone}); len(l) != 0 {
						t.Errorf("a search for %s's phone finds %v", p.Name, l)
					}
					_, err := f.people.Person(tc.who.ctx, p.ID)
					wantErr(t, err, jifen.KindNotFound, "not_found", "")
				}
			})
		}
		t.Run("county A's admin is refused county B as a filter", func(t *testing.T) {
			_, _, err := f.people.People(f.adminA.ctx, jifen.PersonFilter{OrgID: f.countyB.ID})
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("a team leader's member shows under the team's filter", func(t *testing.T) {
			if l := ids(t, f.leader, jifen.PersonFilter{OrgID: f.teamA.ID}); !slices.Equal(l, []int64{member.ID}) {
				t.Fatalf("team list = %v", l)
			}
			if p := must(f.people.Person(f.leader.ctx, member.ID))(t); len(p.Teams) != 1 || p.Teams[0].ID != f.teamA.ID || p.HomeOrgID != f.villageB.ID {
				t.Fatalf("member = %+v", p)
			}
		})
		t.Run("a resident may not list people but sees themselves", func(t *testing.T) {
			_, _, err := f.people.People(f.resident.ctx, jifen.PersonFilter{})
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
			if p := must(f.people.Person(f.resident.ctx, f.resident.p.ID))(t); p.ID != f.resident.p.ID {
				t.Fatal("wrong person")
			}
			_, err = f.people.Person(f.resident.ctx, f.leader.p.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("a team leader cannot enrol a stranger into the team to read their record", func(t *testing.T) {
			err := f.people.JoinTeam(f.leader.ctx, f.residentB.p.ID, f.teamA.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			_, err = f.people.Person(f.leader.ctx, f.residentB.p.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
	})
}

func TestRevealIDNumber(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		id := idNo("19820304", 567)
		p := must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "实名人", Gender: jifen.Male, IDNumber: id, Phone: f.phone(),
			Password: pw, OrgID: f.villageA.ID, TeamIDs: []int64{f.teamA.ID}}))(t)
		self := f.signIn(t, p.Phone)
		noID, _ := f.person(t, "未登记", f.villageA)
		cases := []struct {
			name   string
			actor  func() context.Context
			person int64
			want   jifen.Kind
			code   string
		}{
			{"the county admin reads the clear number and the read is audited", func() context.Context { return f.adminA.ctx }, p.ID, "", ""},
			{"the person reads their own number", func() context.Context { return self }, p.ID, "", ""},
			{"the super admin reads it", func() context.Context { return f.super.ctx }, p.ID, "", ""},
			{"the leader of the person's team cannot reveal", func() context.Context { return f.leader.ctx }, p.ID, jifen.KindNotFound, "not_found"},
			{"county B's admin cannot reveal", func() context.Context { return f.adminB.ctx }, p.ID, jifen.KindNotFound, "not_found"},
			{"a neighbour cannot reveal", func() context.Context { return f.resident.ctx }, p.ID, jifen.KindNotFound, "not_found"},
			{"a person without an ID number has nothing to reveal", func() context.Context { return f.adminA.ctx }, noID.ID, jifen.KindNotFound, "no_id_number"},
			{"nobody signed in cannot reveal", func() context.Context { return context.Background() }, p.ID, jifen.KindUnauthorized, "unauthorized"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := len(f.auditEntries(t, "person.reveal_id"))
				got, err := f.people.RevealIDNumber(tc.actor(), tc.person)
				after := f.auditEntries(t, "person.reveal_id")
				if tc.want != "" {
					field := ""
					if tc.code == "no_id_number" {
						field = "id_number"
					}
					wantErr(t, err, tc.want, tc.code, field)
					if got != "" || len(after) != before {
						t.Fatalf("a refused reveal returned %q and wrote %d audit entries", got, len(after)-before)
					}
					return
				}
				wantErr(t, err, "", "", "")
				if got != id {
					t.Fatalf("revealed %q, want %q", got, id)
				}
				if len(after) != before+1 || after[0].TargetID != p.ID || after[0].ActorID != jifen.ActorFrom(tc.actor()).PersonID || after[0].OrgID != f.villageA.ID {
					t.Fatalf("audit = %+v", after[0])
				}
			})
		}
	})
}

func TestRegisterIntoTeam(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		sub := f.org(t, f.adminA.ctx, f.teamA, jifen.OrgTeam, "一分队")
		unit := f.org(t, f.adminA.ctx, f.countyA, jifen.OrgWorkUnit, "县医院")
		unitTeam := f.org(t, f.adminA.ctx, unit, jifen.OrgTeam, "医疗队")
		cases := []struct {
			name string
			org  *jifen.Org
			home *jifen.Org
			team *jifen.Org
		}{
			{"a person registered into a team lives in the team's village and joins the team", f.teamA, f.villageA, f.teamA},
			{"a person registered into a sub-team lives in the village above the teams", sub, f.villageA, sub},
			{"a person registered into a work unit's team lives in the work unit", unitTeam, unit, unitTeam},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: fmt.Sprintf("队员%d", i), Gender: jifen.Male, OrgID: tc.org.ID}))(t)
				if p.HomeOrgID != tc.home.ID || p.HomeOrgName != tc.home.Name {
					t.Fatalf("home = %d %s, want %s", p.HomeOrgID, p.HomeOrgName, tc.home.Name)
				}
				if !slices.ContainsFunc(p.Teams, func(o *jifen.Org) bool { return o.ID == tc.team.ID }) {
					t.Fatalf("teams = %v", p.Teams)
				}
				if l, _ := must2(f.people.People(f.adminA.ctx, jifen.PersonFilter{OrgID: tc.home.ID, Q: p.Name}))(t); len(l) != 1 {
					t.Fatal("not listed under the home org")
				}
			})
		}
		t.Run("the team leader cannot register people", func(t *testing.T) {
			_, err := f.people.CreatePerson(f.leader.ctx, jifen.PersonInput{Name: "队员", Gender: jifen.Male, OrgID: f.teamA.ID})
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
		})
		t.Run("a team outside the admin's county is refused", func(t *testing.T) {
			_, err := f.people.CreatePerson(f.adminB.ctx, jifen.PersonInput{Name: "队员", Gender: jifen.Male, OrgID: f.villageB.ID, TeamIDs: []int64{f.teamA.ID}})
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
		})
	})
}

func TestImportPeople(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		village := f.org(t, f.adminA.ctx, f.townA, jifen.OrgVillage, "导入村")
		team := f.org(t, f.adminA.ctx, village, jifen.OrgTeam, "导入队")
		roster := func(suffix string) []jifen.PersonInput {
			return []jifen.PersonInput{
				{Name: "赵一" + suffix, Gender: jifen.Male, IDNumber: idNo("19700101", 1), PoliticalStatus: jifen.PartyMember, Skills: []string{"电工"}},
				{Name: "钱二" + suffix, Gender: jifen.Female, IDNumber: idNo("19800202", 2), Phone: "13522220002", PoliticalStatus: jifen.Masses},
				{Name: "孙三" + suffix, Gender: jifen.Male, Phone: "13522220003", PoliticalStatus: jifen.Masses, OrgID: team.ID},
			}
		}
		names := func(t *testing.T) []string {
			l, _ := must2(f.people.People(f.adminA.ctx, jifen.PersonFilter{OrgID: village.ID, PerPage: 100}))(t)
			var out []string
			for _, p := range l {
				out = append(out, p.Name)
			}
			slices.Sort(out)
			return out
		}
		total := f.peopleCount(t)
		steps := []struct {
			name             string
			rows             []jifen.PersonInput
			created, updated int
			names            []string
		}{
			{"a first import creates everyone", roster(""), 3, 0, []string{"孙三", "赵一", "钱二"}},
			{"a re-run with changed names updates them without duplicates", roster("（改）"), 0, 3, []string{"孙三（改）", "赵一（改）", "钱二（改）"}},
			{"a re-run mixing known and new people counts both", append(roster(""), jifen.PersonInput{Name: "李四", Gender: jifen.Female,
				Phone: "13522220004", PoliticalStatus: jifen.Masses}), 1, 3, []string{"孙三", "李四", "赵一", "钱二"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				res := must(f.people.ImportPeople(f.adminA.ctx, village.ID, st.rows))(t)
				if res.Created != st.created || res.Updated != st.updated {
					t.Fatalf("result = %+v, want created %d updated %d", res, st.created, st.updated)
				}
				total += st.created
				if n := f.peopleCount(t); n != total {
					t.Fatalf("%d people, want %d", n, total)
				}
				if got := names(t); !slices.Equal(got, st.names) {
					t.Fatalf("village holds %q, want %q", got, st.names)
				}
				if e := f.auditEntries(t, "person.import")[0]; e.Detail != fmt.Sprintf("新增%d人，更新%d人", st.created, st.updated) || e.OrgID != village.ID {
					t.Fatalf("audit = %+v", e)
				}
			})
		}
		t.Run("a row naming a team lands in the team's village with the membership", func(t *testing.T) {
			l, _ := must2(f.people.People(f.adminA.ctx, jifen.PersonFilter{OrgID: team.ID}))(t)
			if len(l) != 1 || l[0].Name != "孙三" || l[0].HomeOrgID != village.ID {
				t.Fatalf("team members = %v", l)
			}
			if p := must(f.people.Person(f.adminA.ctx, l[0].ID))(t); len(p.Teams) != 1 || p.Teams[0].ID != team.ID {
				t.Fatalf("teams = %v", p.Teams)
			}
		})
	})
}

func TestImportWithOneBadRowWritesNothing(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		village := f.org(t, f.adminA.ctx, f.townA, jifen.OrgVillage, "导入村")
		known := must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "老住户", Gender: jifen.Male, IDNumber: idNo("19500101", 1), OrgID: village.ID}))(t)
		other, otherPhone := f.person(t, "邻居", village)
		elsewhere := must(f.people.CreatePerson(f.adminB.ctx, jifen.PersonInput{Name: "外县人", Gender: jifen.Male, IDNumber: idNo("19600101", 1), OrgID: f.villageB.ID}))(t)
		good := func(i int) jifen.PersonInput {
			return jifen.PersonInput{Name: fmt.Sprintf("新人%d", i), Gender: jifen.Female, PoliticalStatus: jifen.Masses, Phone: fmt.Sprintf("1335555%04d", i)}
		}
		cases := []struct {
			name  string
			bad   jifen.PersonInput
			kind  jifen.Kind
			code  string
			field string
		}{
			{"a row whose org lies outside the imported org", jifen.PersonInput{Name: "越界", Gender: jifen.Male, PoliticalStatus: jifen.Masses, OrgID: f.villageB.ID},
				jifen.KindInvalid, "invalid", "org_id"},
			{"a row naming an org that does not exist", jifen.PersonInput{Name: "无组织", Gender: jifen.Male, PoliticalStatus: jifen.Masses, OrgID: 999999},
				jifen.KindInvalid, "invalid", "org_id"},
			{"a row naming a team that does not exist", jifen.PersonInput{Name: "无队", Gender: jifen.Male, PoliticalStatus: jifen.Masses, TeamIDs: []int64{999999}},
				jifen.KindInvalid, "invalid", "team_ids"},
			{"a row matching a person registered in another county", jifen.PersonInput{Name: "外县人", Gender: jifen.Male, PoliticalStatus: jifen.Masses, IDNumber: idNo("19600101", 1)},
				jifen.KindConflict, "person_elsewhere", ""},
			{"a row that would give a known person a neighbour's phone", jifen.PersonInput{Name: "老住户", Gender: jifen.Male, PoliticalStatus: jifen.Masses, IDNumber: idNo("19500101", 1), Phone: otherPhone},
				jifen.KindConflict, "phone_taken", "phone"},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				people, audits := f.peopleCount(t), f.auditTotal(t)
				rows := []jifen.PersonInput{good(3 * i), tc.bad, good(3*i + 2)}
				res, err := f.people.ImportPeople(f.adminA.ctx, village.ID, rows)
				wantErr(t, err, tc.kind, tc.code, tc.field)
				if e := err.(*jifen.Error); !strings.HasPrefix(e.En, "row 2: ") || !strings.HasPrefix(e.Zh, "第2行") {
					t.Errorf("the error does not name row 2: %q / %q", e.En, e.Zh)
				}
				if res != (jifen.ImportResult{}) {
					t.Errorf("result = %+v", res)
				}
				if n, a := f.peopleCount(t), f.auditTotal(t); n != people || a != audits {
					t.Fatalf("people %d → %d, audit %d → %d", people, n, audits, a)
				}
				if l, _ := must2(f.people.People(f.super.ctx, jifen.PersonFilter{Q: rows[0].Phone}))(t); len(l) != 0 {
					t.Fatal("the first row was written")
				}
			})
		}
		t.Run("the people the bad rows matched are untouched", func(t *testing.T) {
			for _, p := range []*jifen.Person{known, other, elsewhere} {
				got := must(f.people.Person(f.super.ctx, p.ID))(t)
				if got.Name != p.Name || got.Phone != p.Phone || got.HomeOrgID != p.HomeOrgID {
					t.Errorf("%s changed: %+v", p.Name, got)
				}
			}
		})
	})
}

func TestUpdatePersonKeepsIDNumberConsistent(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		id := idNo("19900615", 3) // male
		p := must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "周五", Gender: jifen.Male, IDNumber: id, OrgID: f.villageA.ID}))(t)
		cases := []struct {
			name  string
			in    jifen.PersonInput
			want  jifen.Kind
			field string
		}{
			{"a rename keeps the stored ID number", jifen.PersonInput{Name: "周六", Gender: jifen.Male, BirthDate: "1990-06-15"}, "", ""},
			{"a new ID number must match the gender", jifen.PersonInput{Name: "周六", Gender: jifen.Male, IDNumber: idNo("19900615", 4)}, jifen.KindInvalid, "gender"},
			{"resending the person's own ID number is accepted", jifen.PersonInput{Name: "周六", Gender: jifen.Male, IDNumber: id}, "", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.in
				in.OrgID = f.villageA.ID
				got, err := f.people.UpdatePerson(f.adminA.ctx, p.ID, in)
				wantErr(t, err, tc.want, "", tc.field)
				if err == nil && (got.IDMasked != p.IDMasked || got.Name != in.Name) {
					t.Fatalf("updated = %+v", got)
				}
			})
		}
		t.Run("an ID number of another person is refused with id_number_taken", func(t *testing.T) {
			q := must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "吴七", Gender: jifen.Female, IDNumber: idNo("19910101", 2), OrgID: f.villageA.ID}))(t)
			_, err := f.people.UpdatePerson(f.adminA.ctx, q.ID, jifen.PersonInput{Name: "吴七", Gender: jifen.Male, IDNumber: id, OrgID: f.villageA.ID})
			wantErr(t, err, jifen.KindConflict, "id_number_taken", "id_number")
			if got := must(f.people.Person(f.adminA.ctx, q.ID))(t); got.Gender != jifen.Female {
				t.Fatal("the refused update was half written")
			}
		})
		t.Run("gender and birth date cannot drift from the stored ID number", func(t *testing.T) {
			_, err := f.people.UpdatePerson(f.adminA.ctx, p.ID, jifen.PersonInput{Name: "周六", Gender: jifen.Female, BirthDate: "2001-01-01", OrgID: f.villageA.ID})
			wantErr(t, err, jifen.KindInvalid, "invalid", "birth_date")
			_, err = f.people.UpdatePerson(f.adminA.ctx, p.ID, jifen.PersonInput{Name: "周六", Gender: jifen.Female, OrgID: f.villageA.ID})
			wantErr(t, err, jifen.KindInvalid, "invalid", "gender")
		})
	})
}
