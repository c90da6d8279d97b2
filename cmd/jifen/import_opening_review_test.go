package main

import (
	"context"
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
			if _, err := jifenCmd(t, "s3cret-pass\n", append([]string{"admin", "create", "--name", "赵文明", "--phone", "13900000000"}, common...)...); err != nil {
				t.Fatal(err)
			}
			db := openForTest(t, common)
			ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
			p, err := sqldb.NewPersonService(db).CreatePerson(ctx, jifen.PersonInput{Name: "李桂兰", Gender: jifen.Female, Phone: "13800000001", OrgID: 1})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			opening := filepath.Join(t.TempDir(), "opening.csv")
			os.WriteFile(opening, []byte("手机号,姓名,期初积分\n13800000001,王建国,800\n"), 0o600)
			out, err := jifenCmd(t, "", append([]string{"import", "opening", opening, "--org", "1"}, common...)...)
			t.Logf("out=%q err=%v", out, err)
			db = openForTest(t, common)
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
			if _, err := jifenCmd(t, "s3cret-pass\n", append([]string{"admin", "create", "--name", "赵文明", "--phone", "13900000000"}, common...)...); err != nil {
				t.Fatal(err)
			}
			db := openForTest(t, common)
			ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
			ps := sqldb.NewPersonService(db)
			for i, n := range []string{"甲", "乙", "丙"} {
				if _, err := ps.CreatePerson(ctx, jifen.PersonInput{Name: "人" + n, Gender: jifen.Female, Phone: "1380000000" + string(rune('1'+i)), OrgID: 1}); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			opening := filepath.Join(t.TempDir(), "opening.csv")
			os.WriteFile(opening, []byte("手机号,期初积分\n13800000003,10\n"), 0o600)
			args := append([]string{"import", "opening", opening, "--org", "1"}, common...)
			if _, err := jifenCmd(t, "", args...); err != nil {
				t.Fatal(err)
			}
			// sheet rows 2,3 have 0 points (skipped), row 4 is the repeat.
			os.WriteFile(opening, []byte("手机号,期初积分\n13800000001,0\n13800000002,0\n13800000003,10\n"), 0o600)
			out, err := jifenCmd(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), "row 4:") {
				t.Errorf("error should name sheet row 4: out=%q err=%v", out, err)
			}
		})
	}
}
