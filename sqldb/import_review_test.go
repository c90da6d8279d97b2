package sqldb_test

import (
	"errors"
	"strings"
	"testing"

	"jifen"
	"jifen/importer"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// The web commit (web/import.go importCommit) passes roster.Valid() to
// ImportPeople, whose row errors count positions in that slice. With a bad
// row skipped, the error names the wrong row of the spreadsheet.
func TestImportErrorsNameTheSheetRow(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		csv := "姓名,性别,手机号\n" +
			"坏行,男,12345\n" + // sheet row 2: bad phone, skipped
			"好人,男," + f.phone() + "\n" + // sheet row 3
			"外县人,男," + f.residentB.phone + "\n" // sheet row 4: registered in county B
		r, err := importer.Parse(strings.NewReader(csv), "r.csv", importer.Options{DefaultOrgID: f.villageA.ID})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.people.ImportPeople(f.adminA.ctx, f.villageA.ID, r.Valid())
		var e *jifen.Error
		if err == nil || !errors.As(err, &e) {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(e.Zh, "第4行") {
			t.Errorf("error names %q; the person is on sheet row 4 (data row 3)", e.Zh)
		}
	})
}

// Re-importing the same roster must not add people twice. Rows with
// neither ID number nor phone (both optional) are created again each time.
func TestReimportOfNameOnlyRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		csv := "姓名,性别\n老人甲,女\n"
		for i := 0; i < 2; i++ {
			r, err := importer.Parse(strings.NewReader(csv), "r.csv", importer.Options{DefaultOrgID: f.villageA.ID})
			if err != nil {
				t.Fatal(err)
			}
			res := must(f.people.ImportPeople(f.adminA.ctx, f.villageA.ID, r.Valid()))(t)
			t.Logf("import %d: created %d updated %d", i+1, res.Created, res.Updated)
		}
		l, _ := must2(f.people.People(f.adminA.ctx, jifen.PersonFilter{Q: "老人甲"}))(t)
		if len(l) != 1 {
			t.Errorf("after importing the same file twice there are %d people named 老人甲", len(l))
		}
	})
}

// A roster row with a new ID number and a phone that an existing person
// (with another ID number) holds: the import matches by phone and rewrites
// that person into someone else (name, ID number), keeping their hours and
// points under the new identity.
func TestImportByPhoneNeverRenamesSomeoneElse(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		idA17, idB17 := "11010119600307002", "11010119880821003"
		idA := idA17 + string(jifen.IDCheckDigit(idA17))
		idB := idB17 + string(jifen.IDCheckDigit(idB17))
		phone := f.phone()
		mother := must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "李桂兰", Gender: jifen.Female, Phone: phone, IDNumber: idA, OrgID: f.villageA.ID}))(t)
		res, err := f.people.ImportPeople(f.adminA.ctx, f.villageA.ID, []jifen.PersonInput{{Name: "王建国", Gender: jifen.Male, Phone: phone, IDNumber: idB, PoliticalStatus: jifen.Masses}})
		t.Logf("res=%+v err=%v", res, err)
		p := must(f.people.Person(f.adminA.ctx, mother.ID))(t)
		if p.Name != "李桂兰" {
			t.Errorf("person %d (李桂兰, ID %s) is now %q with ID %s", mother.ID, jifen.MaskIDNumber(idA), p.Name, p.IDMasked)
		}
	})
}
