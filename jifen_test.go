package jifen_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jifen"
)

var today = time.Date(2026, 11, 29, 0, 0, 0, 0, jifen.Zone)

func TestIDNumbers(t *testing.T) {
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"a valid number with a digit check", "411102198808219315", true},
		{"a valid number with X as check", "11010519491231002X", true},
		{"a wrong check digit", "411102198808219316", false},
		{"seventeen digits", "41110219880821931", false},
		{"letters inside", "4111021988O8219315", false},
		{"an impossible birth date", "411102198802309315", false},
		{"a birth date in the future", "411102203001019315", false},
		{"a spreadsheet float", "4.11102198808219E+17", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := jifen.CheckIDNumber(jifen.NormalizeIDNumber(tt.id), today)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckIDNumber(%s) = %v, want ok=%v", tt.id, err, tt.ok)
			}
			if err != nil && jifen.ErrorKind(err) != jifen.KindInvalid {
				t.Fatalf("kind %s", jifen.ErrorKind(err))
			}
		})
	}
	if err := jifen.CheckIDNumber("4.11102198808219E+17", today); err == nil || !strings.Contains(err.(*jifen.Error).Zh, "数字") {
		t.Fatalf("a spreadsheet float must be explained plainly: %v", err)
	}
	if got := jifen.MaskIDNumber("411102198808219315"); got != "4111**********9315" {
		t.Fatalf("mask: %s", got)
	}
	if jifen.IDBirthDate("411102198808219315") != "1988-08-21" || jifen.IDGender("411102198808219315") != jifen.Male {
		t.Fatal("birth date or gender not read from the ID number")
	}
}

func TestMobiles(t *testing.T) {
	for in, ok := range map[string]bool{
		"13800138000": true, "+86 138 0013 8000": true, "138-0013-8000": true, "8613800138000": true,
		"1380013800": false, "12800138000": false, "23800138000": false, "1380013800a": false, "": false,
	} {
		if jifen.ValidMobile(jifen.NormalizeMobile(in)) != ok {
			t.Errorf("ValidMobile(%q) != %v", in, ok)
		}
	}
}

func TestPersonValidation(t *testing.T) {
	base := func() jifen.PersonInput {
		return jifen.PersonInput{Name: "张三", Gender: jifen.Male, OrgID: 1}
	}
	tests := []struct {
		name  string
		edit  func(*jifen.PersonInput)
		field string
	}{
		{"a minimal person is valid", func(*jifen.PersonInput) {}, ""},
		{"an empty name is refused", func(p *jifen.PersonInput) { p.Name = "  " }, "name"},
		{"a 31-character name is refused", func(p *jifen.PersonInput) { p.Name = strings.Repeat("张", 31) }, "name"},
		{"markup in a name is kept as text", func(p *jifen.PersonInput) { p.Name = "<script>alert(1)</script>" }, ""},
		{"an unknown gender is refused", func(p *jifen.PersonInput) { p.Gender = "x" }, "gender"},
		{"a 10-digit phone is refused", func(p *jifen.PersonInput) { p.Phone = "1380013800" }, "phone"},
		{"an ID whose gender disagrees is refused", func(p *jifen.PersonInput) { p.IDNumber = "110102199508188820" }, "gender"},
		{"an ID whose birth date disagrees is refused", func(p *jifen.PersonInput) {
			p.IDNumber, p.BirthDate = "411102198808219315", "1988-08-22"
		}, "birth_date"},
		{"a birth date in the future is refused", func(p *jifen.PersonInput) { p.BirthDate = "2030-01-01" }, "birth_date"},
		{"an unknown political status is refused", func(p *jifen.PersonInput) { p.PoliticalStatus = "alien" }, "political_status"},
		{"a short password is refused", func(p *jifen.PersonInput) { p.Password = "1234567" }, "password"},
		{"no org is refused", func(p *jifen.PersonInput) { p.OrgID = 0 }, "org_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.edit(&in)
			err := in.Validate(today)
			field := ""
			if err != nil {
				field = err.(*jifen.Error).Field
			}
			if field != tt.field {
				t.Fatalf("field %q (%v), want %q", field, err, tt.field)
			}
		})
	}
	in := base()
	in.IDNumber = "411102198808219315"
	if err := in.Validate(today); err != nil || in.BirthDate != "1988-08-21" {
		t.Fatalf("birth date not taken from the ID: %v %q", err, in.BirthDate)
	}
}

func TestOrgTreeRules(t *testing.T) {
	for _, tt := range []struct {
		parent, child jifen.OrgKind
		ok            bool
	}{
		{jifen.OrgCity, jifen.OrgCounty, true}, {jifen.OrgCounty, jifen.OrgTown, true},
		{jifen.OrgTown, jifen.OrgVillage, true}, {jifen.OrgTown, jifen.OrgCommunity, true},
		{jifen.OrgVillage, jifen.OrgTeam, true}, {jifen.OrgTeam, jifen.OrgTeam, true},
		{jifen.OrgCity, jifen.OrgWorkUnit, true}, {jifen.OrgWorkUnit, jifen.OrgTeam, true},
		{jifen.OrgVillage, jifen.OrgTown, false}, {jifen.OrgTeam, jifen.OrgVillage, false},
		{jifen.OrgCounty, jifen.OrgCity, false}, {jifen.OrgVillage, jifen.OrgWorkUnit, false},
	} {
		if jifen.CanParent(tt.parent, tt.child) != tt.ok {
			t.Errorf("CanParent(%s, %s) != %v", tt.parent, tt.child, tt.ok)
		}
	}
	path := jifen.OrgPath("/1/5/", 23)
	if path != "/1/5/23/" || !jifen.PathContains("/1/5/", path) || jifen.PathContains("/1/50/", path) {
		t.Fatal("paths")
	}
	// Every descendant sorts inside [path, PathUpper(path)); a sibling whose id
	// shares a prefix (/1/50/) does not.
	lo, hi := "/1/5/", jifen.PathUpper("/1/5/")
	for _, p := range []string{"/1/5/", "/1/5/23/", "/1/5/999/1/"} {
		if p < lo || p >= hi {
			t.Errorf("%s outside [%s, %s)", p, lo, hi)
		}
	}
	for _, p := range []string{"/1/50/", "/1/6/", "/1/4/9/"} {
		if p >= lo && p < hi {
			t.Errorf("%s inside [%s, %s)", p, lo, hi)
		}
	}
}

func TestActorScope(t *testing.T) {
	a := &jifen.Actor{Grants: []jifen.Grant{{Role: jifen.RoleOrgAdmin, OrgPath: "/1/5/"}, {Role: jifen.RoleTeamLeader, OrgPath: "/1/7/9/"}}}
	if !a.Has("/1/5/23/", jifen.RoleOrgAdmin) || a.Has("/1/6/", jifen.RoleOrgAdmin) || a.Has("/1/7/9/", jifen.RoleOrgAdmin) {
		t.Fatal("org admin scope")
	}
	if !a.Has("/1/7/9/", jifen.RoleTeamLeader) || a.Has("/1/", jifen.RoleOrgAdmin) {
		t.Fatal("team leader scope")
	}
	if !jifen.SystemActor().Has("/anything/", jifen.RoleOrgAdmin) {
		t.Fatal("the system actor holds every role")
	}
	var none *jifen.Actor
	if none.Has("/1/", jifen.RoleResident) {
		t.Fatal("nobody holds nothing")
	}
}

func TestAges(t *testing.T) {
	if jifen.AgeOn("2012-11-30", today) != 13 || jifen.AgeOn("2012-11-29", today) != 14 || jifen.AgeOn("", today) != -1 {
		t.Fatal("ages around a birthday")
	}
}

// Every NotFound the code raises says in Chinese what was not found, as
// it does in English.
func TestNotFoundNamesWhatInChinese(t *testing.T) {
	re := regexp.MustCompile(`NotFound\("([a-z_]+)"\)`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			if e := jifen.NotFound(m[1]); e.Zh == "未找到" {
				t.Errorf("%s: NotFound(%q) has no Chinese name (whatZh)", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
