package sqldb_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// ptsFx is the fixture of the points tests: the volunteer-service fixture
// (the org tree, its users and a clock the test moves) with the points and
// ledger services, a reviewer of county A, and a plain connection to the
// same database for counting rows and tampering behind the services' back.
//
// Everyone signs in at base (1 June 2026, 08:00 China time) and the clock
// stands still until a test moves it.
type ptsFx struct {
	*vs
	pts    *sqldb.PointsService
	ledger *sqldb.LedgerService
	raw    *sql.DB
	pg     bool
	// reviewer holds the reviewer role on county A and lives there.
	reviewer user
	keys     atomic.Int64
}

// eachPoints runs fn on a fresh points fixture on every configured database.
func eachPoints(t *testing.T, fn func(t *testing.T, p *ptsFx)) {
	eachSQL(t, func(t *testing.T, db *sqldb.DB, raw *sql.DB) {
		fn(t, newPtsFx(t, db, raw))
	})
}

// pgPoints is eachPoints on PostgreSQL alone (pgSQL).
func pgPoints(t *testing.T, fn func(t *testing.T, p *ptsFx)) {
	pgSQL(t, func(t *testing.T, db *sqldb.DB, raw *sql.DB) {
		fn(t, newPtsFx(t, db, raw))
	})
}

// sqlitePoints is eachPoints on SQLite alone, for what its one writer
// orders (writes queued behind another connection's write lock).
func sqlitePoints(t *testing.T, fn func(t *testing.T, p *ptsFx)) {
	lite, ok := sqldbtest.DSNs(t)["sqlite"]
	if !ok {
		t.Fatal("no SQLite database configured")
	}
	sqlOn(t, map[string]func(testing.TB) string{"sqlite": lite}, func(t *testing.T, db *sqldb.DB, raw *sql.DB) {
		fn(t, newPtsFx(t, db, raw))
	})
}

func newPtsFx(t *testing.T, db *sqldb.DB, raw *sql.DB) *ptsFx {
	t.Helper()
	v := newVS(t, db)
	p := &ptsFx{vs: v, pts: sqldb.NewPointsService(db), ledger: sqldb.NewLedgerService(db), raw: raw, pg: db.Dialect() == "postgres"}
	p.reviewer = v.user(t, "评审甲", v.countyA, v.countyA, jifen.RoleReviewer)
	return p
}

// key is a fresh Idempotency-Key.
func (p *ptsFx) key() string { return fmt.Sprintf("k-%d", p.keys.Add(1)) }

// ruleIn is a plain per-event rule: no caps, no evidence, no review.
func ruleIn(code string, points int64) jifen.RuleInput {
	return jifen.RuleInput{Code: code, Name: "规则" + code, Category: jifen.CatCivility, Points: points}
}

// rule creates a rule in org's catalogue as the actor in ctx.
func (p *ptsFx) rule(t *testing.T, ctx context.Context, org *jifen.Org, in jifen.RuleInput) *jifen.Rule {
	t.Helper()
	r, err := p.pts.CreateRule(ctx, org.ID, in)
	if err != nil {
		t.Fatalf("create rule %s at %s: %v", in.Code, org.Name, err)
	}
	return r
}

// give asks for an award of quantity 1 of rule for a person, as by, with
// a fresh key.
func (p *ptsFx) give(ctx context.Context, personID int64, r *jifen.Rule) (*jifen.Award, error) {
	return p.pts.Award(ctx, jifen.AwardInput{PersonID: personID, RuleID: r.ID, Key: p.key()})
}

// award is give that must succeed.
func (p *ptsFx) award(t *testing.T, ctx context.Context, personID int64, r *jifen.Rule) *jifen.Award {
	t.Helper()
	aw, err := p.give(ctx, personID, r)
	if err != nil {
		t.Fatalf("award %s to %d: %v", r.Code, personID, err)
	}
	p.sameAsRead(t, ctx, aw)
	return aw
}

// sameAsRead checks that what Award answered, built from what it wrote,
// is what GetAward reads back.
func (p *ptsFx) sameAsRead(t *testing.T, ctx context.Context, aw *jifen.Award) {
	t.Helper()
	read, err := p.pts.GetAward(ctx, aw.ID)
	if err != nil {
		t.Fatalf("read back award %d: %v", aw.ID, err)
	}
	got, _ := json.Marshal(aw)
	want, _ := json.Marshal(read)
	if string(got) != string(want) {
		t.Fatalf("Award answered\n%s\nbut GetAward reads\n%s", got, want)
	}
}

// posted is award that must also be in the ledger at once.
func (p *ptsFx) posted(t *testing.T, ctx context.Context, personID int64, r *jifen.Rule) *jifen.Award {
	t.Helper()
	aw := p.award(t, ctx, personID, r)
	if aw.Status != jifen.AwardPosted || aw.TxID == nil {
		t.Fatalf("award %s to %d is %s (tx %v), want posted", r.Code, personID, aw.Status, aw.TxID)
	}
	return aw
}

// points reads a person's summary as the super admin.
func (p *ptsFx) points(t *testing.T, personID int64) *jifen.PointsSummary {
	t.Helper()
	return must(p.pts.Points(p.super.ctx, personID))(t)
}

// wantPoints checks a person's balance and score.
func (p *ptsFx) wantPoints(t *testing.T, personID, balance, score int64) *jifen.PointsSummary {
	t.Helper()
	s := p.points(t, personID)
	if s.Balance != balance || s.Score != score {
		t.Fatalf("person %d: balance %d score %d, want %d and %d (%+v)", personID, s.Balance, s.Score, balance, score, s)
	}
	return s
}

// set changes an org's own points settings, starting from those in force
// there, as the super admin.
func (p *ptsFx) set(t *testing.T, org *jifen.Org, change func(s *jifen.PointsSettings)) {
	t.Helper()
	s := *must(p.pts.Settings(p.super.ctx, org.ID))(t)
	change(&s)
	if err := p.pts.SaveSettings(p.super.ctx, org.ID, s); err != nil {
		t.Fatalf("save settings of %s: %v", org.Name, err)
	}
}

// store is a store account for redemptions.
func (p *ptsFx) store(t *testing.T) *jifen.Account {
	t.Helper()
	return must(p.ledger.Account(p.super.ctx, jifen.AccountStore, 9001))(t)
}

// spend redeems n points of a person at a store: a transaction the super
// admin posts through the ledger, as the store feature will.
func (p *ptsFx) spend(t *testing.T, personID, n int64) *jifen.Transaction {
	t.Helper()
	tx, err := p.trySpend(personID, n)
	if err != nil {
		t.Fatalf("spend %d of person %d: %v", n, personID, err)
	}
	return tx
}

func (p *ptsFx) trySpend(personID, n int64) (*jifen.Transaction, error) {
	ctx := p.super.ctx
	from, err := p.ledger.Account(ctx, jifen.AccountPerson, personID)
	if err != nil {
		return nil, err
	}
	to, err := p.ledger.Account(ctx, jifen.AccountStore, 9001)
	if err != nil {
		return nil, err
	}
	return p.ledger.Post(ctx, spendIn("spend-"+p.key(), from, to, n))
}

// q rewrites ? placeholders for the raw connection's dialect.
func (p *ptsFx) q(query string) string {
	if !p.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// exec runs a statement on the raw connection.
func (p *ptsFx) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := p.raw.Exec(p.q(query), args...); err != nil {
		t.Fatalf("raw %s: %v", query, err)
	}
}

// one reads one integer with the raw connection.
func (p *ptsFx) one(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var v int64
	if err := p.raw.QueryRow(p.q(query), args...).Scan(&v); err != nil {
		t.Fatalf("raw %s: %v", query, err)
	}
	return v
}

// rows counts every table points write to, to show that a refused or
// repeated request wrote nothing.
func (p *ptsFx) rows(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"awards", "award_evidence", "ledger_transactions", "postings", "appeals", "households", "household_members", "messages"} {
		fmt.Fprintf(&b, "%s=%d ", table, p.one(t, "SELECT COUNT(*) FROM "+table))
	}
	return b.String()
}

// unchanged fails when the row counts differ from before.
func (p *ptsFx) unchanged(t *testing.T, before string) {
	t.Helper()
	if after := p.rows(t); after != before {
		t.Fatalf("rows changed:\nbefore %s\nafter  %s", before, after)
	}
}

// tx reads a ledger transaction as the super admin.
func (p *ptsFx) tx(t *testing.T, id int64) *jifen.Transaction {
	t.Helper()
	return must(p.ledger.Transaction(p.super.ctx, id))(t)
}

// seal seals everything waiting.
func (p *ptsFx) seal(t *testing.T) *jifen.Block {
	t.Helper()
	var last *jifen.Block
	for range 100 {
		b, err := p.ledger.Seal(p.super.ctx)
		if err != nil {
			t.Fatalf("seal: %v", err)
		}
		if b == nil {
			return last
		}
		last = b
	}
	t.Fatal("still sealing after 100 blocks")
	return nil
}

// verify seals and wants the ledger whole.
func (p *ptsFx) verify(t *testing.T) *jifen.VerifyReport {
	t.Helper()
	p.seal(t)
	r := must(p.ledger.Verify(p.super.ctx, ""))(t)
	if r.Problem != "" {
		t.Fatalf("verify: %s", r.Problem)
	}
	return r
}

// ledgerOf lists a person's ledger lines as the super admin, newest first.
func (p *ptsFx) ledgerOf(t *testing.T, personID int64) []*jifen.LedgerLine {
	t.Helper()
	l, _ := must2(p.pts.Ledger(p.super.ctx, jifen.LedgerFilter{PersonID: personID, PerPage: 500}))(t)
	return l
}

// noPhone creates a person at home without a phone (an elderly member who
// shares the family's).
func (p *ptsFx) noPhone(t *testing.T, name string, home *jifen.Org) *jifen.Person {
	t.Helper()
	return must(p.people.CreatePerson(p.super.ctx, jifen.PersonInput{Name: name, Gender: jifen.Female, OrgID: home.ID}))(t)
}

// serveAt runs an activity of org with a rate in points per hour: it
// starts an hour from the clock and lasts d; each person checks in late by
// their offset and out at the end; the super admin verifies a minute
// after the end.
func (p *ptsFx) serveAt(t *testing.T, org *jifen.Org, d time.Duration, rate int64, people []user, late []time.Duration) *jifen.Activity {
	t.Helper()
	start := p.now().Truncate(time.Minute).Add(time.Hour)
	in := p.input(org, start, d)
	in.PointsPerHour = rate
	act := p.published(t, in)
	for _, u := range people {
		p.signUp(t, u, act, jifen.SignupConfirmed)
	}
	for i, u := range people {
		off := time.Duration(0)
		if i < len(late) {
			off = late[i]
		}
		p.checkIn(t, u, act, start.Add(off))
	}
	for _, u := range people {
		p.checkOut(t, u, act, act.EndsAt)
	}
	p.clock.Set(act.EndsAt.Add(time.Minute))
	must(p.acts.Verify(p.super.ctx, act.ID))(t)
	return act
}

// backfillAt is an activity of org with a rate in which nobody checked in:
// the super admin back-fills all of it for each person and verifies.
func (p *ptsFx) backfillAt(t *testing.T, org *jifen.Org, d time.Duration, rate int64, people ...user) *jifen.Activity {
	t.Helper()
	start := p.now().Truncate(time.Minute).Add(time.Hour)
	in := p.input(org, start, d)
	in.PointsPerHour = rate
	act := p.published(t, in)
	p.clock.Set(act.EndsAt.Add(time.Minute))
	for _, u := range people {
		must(p.acts.Backfill(p.super.ctx, act.ID, u.p.ID, act.StartsAt, act.EndsAt, "纸质签到表补录"))(t)
	}
	must(p.acts.Verify(p.super.ctx, act.ID))(t)
	return act
}

// serviceAwards lists a person's awards from service hours, oldest first.
func (p *ptsFx) serviceAwards(t *testing.T, personID int64) []*jifen.Award {
	t.Helper()
	l, _ := must2(p.pts.Awards(p.super.ctx, jifen.AwardFilter{PersonID: personID, PerPage: 200}))(t)
	var out []*jifen.Award
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].Source == jifen.SourceService {
			out = append(out, l[i])
		}
	}
	return out
}

// exifJPEG is a real 48×32 JPEG carrying an APP1 "Exif" segment with a
// GPS-looking payload, spliced in right after the SOI marker as cameras
// write it.
func exifJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 7), 90, 255})
		}
	}
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), []byte("GPS 35.0700N 107.0300E 张三的手机")...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	data := plain.Bytes()
	out := append(append(append([]byte{}, data[:2]...), seg...), data[2:]...)
	if !hasExif(out) {
		t.Fatal("the test photo lacks the EXIF segment it was built with")
	}
	if _, format, err := image.DecodeConfig(bytes.NewReader(out)); err != nil || format != "jpeg" {
		t.Fatalf("the test photo does not decode: %v %s", err, format)
	}
	return out
}

// hasExif walks a JPEG's segments up to the start of scan and reports
// whether one is an APP1 segment holding Exif data.
func hasExif(data []byte) bool {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return false
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return false
		}
		marker := data[i+1]
		if marker == 0xDA || marker == 0xD9 {
			return false
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xE1 && i+4+4 <= len(data) && string(data[i+4:i+8]) == "Exif" {
			return true
		}
		i += 2 + n
	}
	return false
}

// wantCode checks err's code only (kind and code together with wantErr
// when the field matters).
func wantCode(t *testing.T, err error, kind jifen.Kind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s/%s", kind, code)
	}
	if jifen.ErrorKind(err) != kind || jifen.ErrorCode(err) != code {
		t.Fatalf("error = %v (%s/%s), want %s/%s", err, jifen.ErrorKind(err), jifen.ErrorCode(err), kind, code)
	}
}

// onDay is a local time on a calendar day at 10:00 China time.
func onDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, jifen.Zone) }
