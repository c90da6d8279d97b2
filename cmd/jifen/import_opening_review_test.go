package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jifen"
	"jifen/sqldb"
)

// An opening-balance row names 王建国 but gives 李桂兰's phone: the points
// must not silently land on 李桂兰 (OpeningRow.Name is "for cross-checking").
func TestOpeningRowNamingAnotherPersonIsAProblem(t *testing.T) {
	for name, common := range commandDSNs(t) {
		t.Run(name, func(t *testing.T) {
			p := residents(t, common, "李桂兰")[0]
			opening := writeSheet(t, "手机号,姓名,期初积分\n13800000001,王建国,800\n")
			out, err := jifenCmd(t, "", append([]string{"import", "opening", opening, "--org", "1"}, common...)...)
			t.Logf("out=%q err=%v", out, err)
			db := openForTest(t, common)
			ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
			sum, _ := sqldb.NewPointsService(db).Points(ctx, p.ID)
			db.Close()
			if sum.Balance != 0 {
				t.Errorf("row named 王建国 posted %d points to 李桂兰 without any warning", sum.Balance)
			}
		})
	}
}

// Row numbers of ImportOpening errors count the posted lines, not the sheet.
func TestOpeningErrorNamesTheSheetRow(t *testing.T) {
	for name, common := range commandDSNs(t) {
		t.Run(name, func(t *testing.T) {
			residents(t, common, "人甲", "人乙", "人丙")
			opening := writeSheet(t, "手机号,期初积分\n13800000003,10\n")
			args := append([]string{"import", "opening", opening, "--org", "1"}, common...)
			if _, err := jifenCmd(t, "", args...); err != nil {
				t.Fatal(err)
			}
			// sheet rows 2,3 have 0 points (skipped), row 4 is the repeat.
			if err := os.WriteFile(opening, []byte("手机号,期初积分\n13800000001,0\n13800000002,0\n13800000003,10\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := jifenCmd(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), "row 4:") {
				t.Errorf("error should name sheet row 4: out=%q err=%v", out, err)
			}
		})
	}
}

// residents makes a fresh database's super admin, then people of the root
// org with the given names and phones 13800000001, 13800000002, … in turn.
func residents(t *testing.T, common []string, names ...string) []*jifen.Person {
	t.Helper()
	if _, err := jifenCmd(t, "s3cret-pass\n", append([]string{"admin", "create", "--name", "赵文明", "--phone", "13900000000"}, common...)...); err != nil {
		t.Fatal(err)
	}
	db := openForTest(t, common)
	defer db.Close()
	ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
	var out []*jifen.Person
	for i, name := range names {
		p, err := sqldb.NewPersonService(db).CreatePerson(ctx, jifen.PersonInput{Name: name, Gender: jifen.Female, Phone: fmt.Sprintf("138%08d", i+1), OrgID: 1})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// writeSheet writes a CSV sheet to a temporary file and returns its path.
func writeSheet(t *testing.T, csv string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opening.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
