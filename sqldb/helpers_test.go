package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// pw is every test user's password.
const pw = "password1"

var localIP = netip.MustParseAddr("10.0.0.1")

// user is a signed-in person: ctx carries their actor.
type user struct {
	ctx   context.Context
	p     *jifen.Person
	phone string
}

// fx is a fresh database holding this tree, with the users below:
//
//	本市 (city, root)
//	├── 崇信县 county A ── 锦屏镇 town ── 城关村 village ── 红马甲服务队 team
//	└── 华亭县 county B ── 安口镇 town ── 新村 village
//
// super: super admin; adminA, adminB: org admins of the counties; leader:
// team leader of the team, living in 城关村; resident: lives in 城关村;
// residentB: lives in 新村. Residents hold no grant.
type fx struct {
	db     *sqldb.DB
	orgs   *sqldb.OrgService
	people *sqldb.PersonService
	auth   *sqldb.AuthService
	audit  *sqldb.AuditService
	inbox  *sqldb.MessageService

	root, countyA, townA, villageA, teamA, countyB, townB, villageB *jifen.Org

	super, adminA, adminB, leader, resident, residentB user
	phones                                             int
}

func newFx(t *testing.T, db *sqldb.DB) *fx {
	t.Helper()
	ctx := context.Background()
	f := &fx{db: db, orgs: sqldb.NewOrgService(db), people: sqldb.NewPersonService(db), auth: sqldb.NewAuthService(db),
		audit: sqldb.NewAuditService(db), inbox: sqldb.NewMessageService(db)}
	f.super.phone = f.phone()
	f.super.p = must(f.auth.CreateSuperAdmin(ctx, "超管", f.super.phone, pw))(t)
	f.super.ctx = f.signIn(t, f.super.phone)
	f.root = must(f.orgs.Org(f.super.ctx, f.super.p.HomeOrgID))(t)
	f.countyA = f.org(t, f.super.ctx, f.root, jifen.OrgCounty, "崇信县")
	f.countyB = f.org(t, f.super.ctx, f.root, jifen.OrgCounty, "华亭县")
	f.townA = f.org(t, f.super.ctx, f.countyA, jifen.OrgTown, "锦屏镇")
	f.villageA = f.org(t, f.super.ctx, f.townA, jifen.OrgVillage, "城关村")
	f.teamA = f.org(t, f.super.ctx, f.villageA, jifen.OrgTeam, "红马甲服务队")
	f.townB = f.org(t, f.super.ctx, f.countyB, jifen.OrgTown, "安口镇")
	f.villageB = f.org(t, f.super.ctx, f.townB, jifen.OrgVillage, "新村")
	f.adminA = f.user(t, "管理甲", f.countyA, f.countyA, jifen.RoleOrgAdmin)
	f.adminB = f.user(t, "管理乙", f.countyB, f.countyB, jifen.RoleOrgAdmin)
	f.leader = f.user(t, "队长", f.villageA, f.teamA, jifen.RoleTeamLeader)
	f.resident = f.user(t, "居民甲", f.villageA, nil, "")
	f.residentB = f.user(t, "居民乙", f.villageB, nil, "")
	return f
}

// must unwraps a (value, error) pair: must(call())(t) fails t on error.
func must[T any](v T, err error) func(t testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// must2 is must for calls that return two values and an error.
func must2[A, B any](a A, b B, err error) func(t testing.TB) (A, B) {
	return func(t testing.TB) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return a, b
	}
}

// phone returns a fresh mobile number.
func (f *fx) phone() string {
	f.phones++
	return fmt.Sprintf("139%08d", f.phones)
}

// org creates an org as the actor in ctx.
func (f *fx) org(t *testing.T, ctx context.Context, parent *jifen.Org, kind jifen.OrgKind, name string) *jifen.Org {
	t.Helper()
	in := jifen.OrgInput{Name: name, Kind: kind}
	if parent != nil {
		in.ParentID = &parent.ID
	}
	o, err := f.orgs.CreateOrg(ctx, in)
	if err != nil {
		t.Fatalf("create org %s: %v", name, err)
	}
	return o
}

// person creates a person as the super admin; the phone is fresh and the
// password is pw.
func (f *fx) person(t *testing.T, name string, home *jifen.Org) (*jifen.Person, string) {
	t.Helper()
	phone := f.phone()
	p, err := f.people.CreatePerson(f.super.ctx, jifen.PersonInput{Name: name, Gender: jifen.Male, Phone: phone, Password: pw, OrgID: home.ID})
	if err != nil {
		t.Fatalf("create person %s: %v", name, err)
	}
	return p, phone
}

// user creates a person at home, grants role on org (unless role is ""),
// and signs them in.
func (f *fx) user(t *testing.T, name string, home, org *jifen.Org, role jifen.Role) user {
	t.Helper()
	p, phone := f.person(t, name, home)
	if role != "" {
		if _, err := f.auth.Grant(f.super.ctx, p.ID, org.ID, role); err != nil {
			t.Fatalf("grant %s: %v", role, err)
		}
	}
	return user{ctx: f.signIn(t, phone), p: p, phone: phone}
}

// signIn opens a session for phone with pw and returns a ctx carrying the actor.
func (f *fx) signIn(t *testing.T, phone string) context.Context {
	t.Helper()
	ctx := context.Background()
	tok, err := f.auth.SignIn(ctx, phone, pw, "web", localIP)
	if err != nil {
		t.Fatalf("sign in %s: %v", phone, err)
	}
	a, err := f.auth.Authenticate(ctx, tok, localIP)
	if err != nil {
		t.Fatalf("authenticate %s: %v", phone, err)
	}
	return jifen.WithActor(ctx, a)
}

// peopleCount is the number of people rows, whatever their status.
func (f *fx) peopleCount(t *testing.T) int {
	t.Helper()
	_, n, err := f.people.People(f.super.ctx, jifen.PersonFilter{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// auditEntries lists the newest audit entries with action, as the super admin.
func (f *fx) auditEntries(t *testing.T, action string) []*jifen.AuditEntry {
	t.Helper()
	l, _, err := f.audit.Audit(f.super.ctx, jifen.AuditFilter{Action: action, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// auditTotal counts every audit entry.
func (f *fx) auditTotal(t *testing.T) int {
	t.Helper()
	_, n, err := f.audit.Audit(f.super.ctx, jifen.AuditFilter{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// wantErr checks err's kind, code and field; kind "" expects no error.
func wantErr(t *testing.T, err error, kind jifen.Kind, code, field string) {
	t.Helper()
	if kind == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *jifen.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want %s/%s", err, kind, code)
	}
	if e.Kind != kind || (code != "" && e.Code != code) || e.Field != field {
		t.Fatalf("error = %s/%s field %q (%v), want %s/%s field %q", e.Kind, e.Code, e.Field, e, kind, code, field)
	}
}

// idNo builds a valid resident ID number: region 110102, birth YYYYMMDD,
// sequence seq (odd: male) and the GB 11643 check character.
func idNo(birth string, seq int) string {
	s := "110102" + birth + fmt.Sprintf("%03d", seq)
	return s + string(jifen.IDCheckDigit(s))
}

// eachSQL is sqldbtest.Each that also hands the test a plain connection to
// the same database, for tables no service reads (consents).
func eachSQL(t *testing.T, fn func(t *testing.T, db *sqldb.DB, raw *sql.DB)) {
	sqlOn(t, sqldbtest.DSNs(t), fn)
}

// pgSQL is eachSQL on PostgreSQL alone, for what happens only there (two
// writers at once: SQLite has one). Where no PostgreSQL is configured it
// says so; CI always has one.
func pgSQL(t *testing.T, fn func(t *testing.T, db *sqldb.DB, raw *sql.DB)) {
	pg, ok := sqldbtest.DSNs(t)["postgres"]
	if !ok {
		t.Skip("needs PostgreSQL: set JIFEN_TEST_POSTGRES")
	}
	sqlOn(t, map[string]func(testing.TB) string{"postgres": pg}, fn)
}

func sqlOn(t *testing.T, dsns map[string]func(testing.TB) string, fn func(t *testing.T, db *sqldb.DB, raw *sql.DB)) {
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			d := dsn(t)
			fn(t, sqldbtest.Open(t, d), rawOn(t, d))
		})
	}
}

// rawOn is a plain connection to the database at dsn, beside jifen's.
func rawOn(t *testing.T, dsn string) *sql.DB {
	driver, src := "pgx", dsn
	if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, src = "sqlite", "file:"+p+"?_pragma=busy_timeout(10000)"
	}
	raw, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}
