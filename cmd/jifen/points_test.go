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

func TestImportRulesOpeningAndExpire(t *testing.T) {
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
			dir := t.TempDir()
			rules := filepath.Join(dir, "rules.csv")
			os.WriteFile(rules, []byte("编码,名称,类别,分值,单位,每日上限\nenv.sweep,门前三包,环境卫生,5,每次,1\nbad,乱倒垃圾,没有这个类别,-5,每次,0\n"), 0o600)
			args := append([]string{"import", "rules", rules, "--org", "1"}, common...)
			out, err := jifenCmd(t, "", args...)
			if err == nil || !strings.Contains(out, "第3行") || !strings.Contains(err.Error(), "nothing imported") {
				t.Fatalf("a bad row must stop the import: %q %v", out, err)
			}
			os.WriteFile(rules, []byte("编码,名称,类别,分值,单位,每日上限\nenv.sweep,门前三包,环境卫生,5,每次,1\nenv.dump,乱倒垃圾,环境卫生,-5,每次,0\n"), 0o600)
			if out, err = jifenCmd(t, "", args...); err != nil || !strings.Contains(out, "imported: 2 rules new or changed, 0 unchanged") {
				t.Fatalf("import rules: %q %v", out, err)
			}
			if out, err = jifenCmd(t, "", args...); err != nil || !strings.Contains(out, "0 rules new or changed, 2 unchanged") {
				t.Fatalf("re-import must change nothing: %q %v", out, err)
			}

			opening := filepath.Join(dir, "opening.csv")
			os.WriteFile(opening, []byte("手机号,姓名,期初积分,备注\n13800000001,李桂兰,120,2025年台账\n13800000999,无此人,5,\n"), 0o600)
			oargs := append([]string{"import", "opening", opening, "--org", "1"}, common...)
			if out, err = jifenCmd(t, "", oargs...); err == nil || !strings.Contains(out, "13800000999") {
				t.Fatalf("an unknown person must stop the import: %q %v", out, err)
			}
			os.WriteFile(opening, []byte("手机号,姓名,期初积分,备注\n13800000001,李桂兰,120,2025年台账\n"), 0o600)
			if out, err = jifenCmd(t, "", oargs...); err != nil || !strings.Contains(out, "imported: 1 opening balances") {
				t.Fatalf("import opening: %q %v", out, err)
			}
			if out, err = jifenCmd(t, "", oargs...); err == nil || !strings.Contains(err.Error(), "opening_exists") {
				t.Fatalf("a second opening for the same person must fail: %q %v", out, err)
			}
			db = openForTest(t, common)
			sum, err := sqldb.NewPointsService(db).Points(ctx, p.ID)
			db.Close()
			if err != nil || sum.Balance != 120 || sum.Score != 120 {
				t.Fatalf("opening balance: %+v %v", sum, err)
			}
			for range 2 {
				if out, err = jifenCmd(t, "", append([]string{"expire"}, common...)...); err != nil || !strings.Contains(out, "expired 0 points") {
					t.Fatalf("expire: %q %v", out, err)
				}
			}
			if out, err = jifenCmd(t, "", append([]string{"verify"}, common...)...); err != nil {
				t.Fatalf("verify: %q %v", out, err)
			}
		})
	}
}
