package sqldb_test

import (
	"context"
	"net/netip"
	"testing"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

func TestSmoke(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		auth := sqldb.NewAuthService(db)
		p, err := auth.CreateSuperAdmin(ctx, "张三", "13800000000", "password1")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := auth.SignIn(ctx, "13800000000", "password1", "api", netipAddr())
		if err != nil {
			t.Fatal(err)
		}
		a, err := auth.Authenticate(ctx, tok, netipAddr())
		if err != nil {
			t.Fatal(err)
		}
		ctx = jifen.WithActor(ctx, a)
		orgs := sqldb.NewOrgService(db)
		o, err := orgs.CreateOrg(ctx, jifen.OrgInput{Name: "崇信县", Kind: jifen.OrgCounty, ParentID: &p.HomeOrgID})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(o.Path, o.CreatedAt, p.VolunteerNo)
		people := sqldb.NewPersonService(db)
		q, err := people.CreatePerson(ctx, jifen.PersonInput{Name: "李四", Gender: jifen.Female, OrgID: o.ID, IDNumber: "110102199508188820"})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(q.IDMasked, q.BirthDate)
		list, n, err := people.People(ctx, jifen.PersonFilter{Q: "李"})
		if err != nil || n != 1 || len(list) != 1 {
			t.Fatal(err, n)
		}
		if _, err := orgs.MoveOrg(ctx, o.ID, p.HomeOrgID); err == nil {
			t.Log("moved same")
		}
	})
}

func netipAddr() netip.Addr { return netip.MustParseAddr("127.0.0.1") }
