package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"jifen"
	"jifen/secret"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// jifenCmd runs the command in-process with args, as a shell would.
func jifenCmd(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String() + errb.String(), err
}

// commandDSNs: every database the suite runs on, with a data folder each.
func commandDSNs(t *testing.T) map[string][]string {
	m := map[string][]string{}
	for name, dsn := range sqldbtest.DSNs(t) {
		dir := t.TempDir()
		d := dsn(t)
		if name == "sqlite" {
			d = "sqlite:" + filepath.Join(dir, "jifen.db")
		}
		m[name] = []string{"--data", dir, "--db", d}
	}
	return m
}

func TestVersionPrintsTheVersion(t *testing.T) {
	out, err := jifenCmd(t, "", "version")
	if err != nil || !strings.Contains(out, "jifen") {
		t.Fatalf("version: %q %v", out, err)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	if _, err := jifenCmd(t, "", "frobnicate"); err == nil {
		t.Fatal("unknown command succeeded")
	}
}

func TestAdminCreateImportAndReset(t *testing.T) {
	fixture := filepath.Join("..", "..", "..", "shared", "fixtures", "roster-sample.csv")
	for name, common := range commandDSNs(t) {
		t.Run(name, func(t *testing.T) {
			if out, err := jifenCmd(t, "", append([]string{"migrate"}, common...)...); err != nil || !strings.Contains(out, "0001_foundation") {
				t.Fatalf("migrate: %q %v", out, err)
			}
			out, err := jifenCmd(t, "s3cret-pass\n", append([]string{"admin", "create", "--name", "赵文明", "--phone", "13900000000"}, common...)...)
			if err != nil || !strings.Contains(out, "super admin 赵文明 created") {
				t.Fatalf("admin create: %q %v", out, err)
			}
			// A weak password is refused with a message in both languages.
			if _, err := jifenCmd(t, "", append([]string{"admin", "create", "--name", "A", "--phone", "13900000009", "--password", "short"}, common...)...); err == nil {
				t.Fatal("short password accepted")
			}

			// The roster names five teams; make them under the root org.
			db := openForTest(t, common)
			ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
			orgs := sqldb.NewOrgService(db)
			root := int64(1)
			for _, team := range []string{"市总工会机关志愿服务队", "新窑村志愿服务队", "万佛社区志愿服务队", "史河街道邻里志愿服务队", "掘进二队志愿服务队"} {
				if _, err := orgs.CreateOrg(ctx, jifen.OrgInput{Name: team, Kind: jifen.OrgTeam, ParentID: &root}); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()

			args := append([]string{"import", "people", fixture, "--org", "1"}, common...)
			out, err = jifenCmd(t, "", append(args, "--dry-run")...)
			if err != nil || !strings.Contains(out, "60 rows, 53 valid, 7 problems") || !strings.Contains(out, "第31行") {
				t.Fatalf("dry run: %q %v", out, err)
			}
			if out, err = jifenCmd(t, "", args...); err == nil || !strings.Contains(err.Error(), "nothing imported") {
				t.Fatalf("import with bad rows must refuse: %q %v", out, err)
			}
			if n := countPeople(t, common); n != 1 {
				t.Fatalf("refused import wrote people: %d", n)
			}
			if out, err = jifenCmd(t, "", append(args, "--skip-invalid")...); err != nil || !strings.Contains(out, "imported: 53 added, 0 updated, 7 skipped") {
				t.Fatalf("import: %q %v", out, err)
			}
			if out, err = jifenCmd(t, "", append(args, "--skip-invalid")...); err != nil || !strings.Contains(out, "imported: 0 added, 53 updated") {
				t.Fatalf("re-import must update: %q %v", out, err)
			}
			if n := countPeople(t, common); n != 54 {
				t.Fatalf("people after two imports: %d, want 54", n)
			}

			if out, err = jifenCmd(t, "", append([]string{"admin", "reset-password", "--phone", "13900000000", "--password", "another-pass"}, common...)...); err != nil {
				t.Fatalf("reset: %q %v", out, err)
			}
		})
	}
}

func openForTest(t *testing.T, common []string) *sqldb.DB {
	t.Helper()
	c := Config{DataDir: common[1], DB: common[3]}
	c.resolve()
	keys, err := secret.Load(c.SecretFile, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.Open(context.Background(), c.DB, keys)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func countPeople(t *testing.T, common []string) int {
	db := openForTest(t, common)
	defer db.Close()
	ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
	_, n, err := sqldb.NewPersonService(db).People(ctx, jifen.PersonFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
