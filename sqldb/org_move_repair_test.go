package sqldb_test

import (
	"database/sql"
	"os"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// The repair that follows an org move (DB.repairMove, PostgreSQL) must
// never move rows away from where the org is: an org moved and moved back
// keeps its path under its parent, also when the server stops between the
// two moves' repairs. (TestReportAwardRacingOrgMove checks what it puts
// right.)
func TestMoveBackKeepsThePath(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		v := f.org(t, f.adminA.ctx, f.townA, jifen.OrgVillage, "来回村")
		must(f.orgs.MoveOrg(f.super.ctx, v.ID, f.townB.ID))(t)
		back := must(f.orgs.MoveOrg(f.super.ctx, v.ID, f.townA.ID))(t)
		if back.Path != jifen.OrgPath(f.townA.Path, v.ID) {
			t.Fatalf("back = %q", back.Path)
		}
		for i := 0; i < 20; i++ {
			time.Sleep(100 * time.Millisecond)
			now := must(f.orgs.Org(f.super.ctx, v.ID))(t)
			if now.Path != back.Path {
				t.Fatalf("after %d ms: parent %d, path %q, want %q", (i+1)*100, *now.ParentID, now.Path, back.Path)
			}
		}
	})
}

// The same, with the server shut down (Close) between the two repairs.
func TestMoveBackThenCloseKeepsThePath(t *testing.T) {
	pg := os.Getenv("JIFEN_TEST_POSTGRES")
	if pg == "" {
		t.Skip("PostgreSQL only")
	}
	dsn := sqldbtest.FreshSchema(t, pg)
	db := sqldbtest.Open(t, dsn)
	f := newFx(t, db)
	v := f.org(t, f.adminA.ctx, f.townA, jifen.OrgVillage, "来回村")
	must(f.orgs.MoveOrg(f.super.ctx, v.ID, f.townB.ID))(t)
	back := must(f.orgs.MoveOrg(f.super.ctx, v.ID, f.townA.ID))(t)
	time.Sleep(1500 * time.Millisecond) // the first repair has run, the second not yet
	db.Close()
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var path string
	var parent int64
	if err := raw.QueryRow("SELECT path, parent_id FROM orgs WHERE id = $1", v.ID).Scan(&path, &parent); err != nil {
		t.Fatal(err)
	}
	if path != back.Path {
		t.Fatalf("after Close: parent %d (town A %d), path %q, want %q", parent, f.townA.ID, path, back.Path)
	}
}
