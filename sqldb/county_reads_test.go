package sqldb_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/demo"
	"jifen/sqldb/sqldbtest"
	"jifen/wire"
)

// countyReads are reads that grew with what a county piles up over the
// years though the rows they want do not (0014_paycode_sweep,
// 0015_county_reads, 0020_paycodes_live): each searched an index and threw most of what it
// read away row by row, or had no index. Each is a piece of the statement
// as the code writes it, and what SQLite's plan for it must search:
// the index and how far it is bounded. TestHotPathsUseIndexes forbids
// whole-table reads; these were index searches too wide to be caught so.
var countyReads = []struct{ statement, search string }{
	{"SELECT code_hash FROM paycodes WHERE expires_at < ? ORDER BY expires_at LIMIT 100", "paycodes_expiry (expires_at<?)"},
	{"a.status = 'published' AND a.ends_at > ?", "activities_open (ends_at>?)"},
	{"ap.person_id = ?", "appeals_person (person_id=?)"},
	{"WHERE id = ? OR corrects_id = ?", "service_records_corrects (corrects_id=?)"},
	{"x.id = r.id OR x.corrects_id = r.id", "service_records_corrects (corrects_id=?)"},
	{"a.record_id IN (SELECT s.id FROM service_records s WHERE s.id = ? OR s.corrects_id = ?)", "awards_record (record_id=? AND status=?)"},
	{"FROM awards WHERE issuer_org_id = ? AND status = 'posted'", "awards_issuer (issuer_org_id=? AND posted_at>? AND posted_at<?)"},
	{"AND day = ? AND points > 0", "awards_person (person_id=? AND day=?)"},
	{"a.status = 'posted' AND a.public_until > ? ORDER BY a.id DESC LIMIT 500", "awards_status (status=? AND org_path=? AND public_until>?)"},
	{"a.status = 'posted' AND a.day >= ? AND a.day <= ? AND a.person_id IS NOT NULL", "awards_path (org_path=? AND status=? AND day>? AND day<?)"},
	{"r.store_id = ? AND r.created_at >= ? AND r.created_at < ?", "redemptions_store_created (store_id=? AND created_at>? AND created_at<?)"},
	{"r.store_id + 0 = ? AND r.status = ?", "redemptions_held (status=?)"},
	// The pending corrections, from the requests to their records: from
	// the records, a county's 10 M by path (1.5 s at 1 M people).
	{"FROM correction_requests c CROSS JOIN service_records r", "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"},
}

// TestCountyReadsSearchWhatTheyNeed runs the demo county's pages as each
// of its people and the writes behind the reads above (a budget and a
// daily cap set, an award under them, a record corrected, a pay code
// fetched), hears every statement, and checks each read's plan. SQLite
// plans without statistics (jifen keeps none), so the plan on the small
// demo is the plan at a county's size. PostgreSQL plans by its
// statistics; BenchmarkCountyReads measures both at a county's size.
func TestCountyReadsSearchWhatTheyNeed(t *testing.T) {
	db := sqldbtest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "county.db"))
	logins, err := demo.Load(context.Background(), wire.Demo(db))
	if err != nil {
		t.Fatal(err)
	}
	svc := wire.Services(db)
	ts := demoServer(t, db, svc)
	heard, stop := hear()
	defer stop()

	as := map[jifen.Role]context.Context{}
	for _, l := range logins {
		token, err := svc.Auth.SignIn(context.Background(), l.Phone, demo.Password, "web", netip.MustParseAddr("127.0.0.1"))
		if err != nil {
			t.Fatalf("sign in %s: %v", l.Phone, err)
		}
		actor, err := svc.Auth.Authenticate(context.Background(), token, netip.MustParseAddr("127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		if as[l.Role] == nil {
			as[l.Role] = jifen.WithActor(context.Background(), actor)
		}
		// The pages, as this person sees them (a page someone may not
		// open is refused early, which is fine: another person opens it).
		for _, p := range []string{"/", "/activities", "/appeals", "/corrections", "/stores/1", "/stores/1/counter", "/board/1", "/board/1/notice",
			"/board/2", "/board/2/notice", "/board/3", "/board/3/notice", "/me/paycode"} {
			req, _ := http.NewRequest("GET", ts.URL+p, nil)
			req.AddCookie(&http.Cookie{Name: "jifen_session", Value: token})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	resident, admin, super := as[jifen.RoleResident], as[jifen.RoleOrgAdmin], as[jifen.RoleSuperAdmin]
	if resident == nil || admin == nil || super == nil {
		t.Fatalf("the demo lacks a resident, an org admin or a super admin: %v", logins)
	}
	if _, err := svc.Stores.NewPaycode(resident); err != nil {
		t.Fatal(err)
	}

	// A daily cap at the admin's org and a budget at the issuer's (set by
	// the org above, here the super admin), then an award there.
	village := jifen.ActorFrom(admin).Grants[0].OrgID
	rules, err := svc.Points.Rules(admin, village)
	if err != nil {
		t.Fatal(err)
	}
	var rule *jifen.Rule
	for _, r := range rules {
		if r.Points > 0 && r.Code != jifen.ServiceHoursCode && !r.NeedsReview && r.ActiveOn(time.Now().In(jifen.Zone).Format("2006-01-02")) {
			rule = r
			break
		}
	}
	if rule == nil {
		t.Fatal("no rule to award by in the demo village")
	}
	settings := jifen.PointsSettings{PointsTo: jifen.ToPerson, PublicDays: 7, AppealDays: 7, DailyCap: 1000}
	if err := svc.Points.SaveSettings(super, village, settings); err != nil {
		t.Fatal(err)
	}
	if rule.OrgID != village {
		settings.DailyCap = 0
	}
	settings.YearlyBudget = 1_000_000
	if err := svc.Points.SaveSettings(super, rule.OrgID, settings); err != nil {
		t.Fatal(err)
	}
	people, _, err := svc.People.People(admin, jifen.PersonFilter{OrgID: village})
	if err != nil || len(people) == 0 {
		t.Fatalf("the village's people: %v (%d)", err, len(people))
	}
	awarded := false
	for _, p := range people {
		if p.ID == jifen.ActorFrom(admin).PersonID {
			continue
		}
		if _, err := svc.Points.Award(admin, jifen.AwardInput{PersonID: p.ID, RuleID: rule.ID, Quantity: 1, Key: fmt.Sprintf("county-reads-%d", p.ID)}); err == nil {
			awarded = true
			break
		}
	}
	if !awarded {
		t.Fatal("no award could be made in the demo village")
	}

	// A service record corrected, as its org's admin would.
	records, _, err := svc.Records.Records(super, jifen.RecordFilter{})
	if err != nil || len(records) == 0 {
		t.Fatalf("the demo's service records: %v (%d)", err, len(records))
	}
	corrected := false
	for _, r := range records {
		if r.Minutes > 30 {
			if _, err := svc.Records.Correct(super, r.ID, r.Minutes-10, "少记了路上时间以外的部分，更正"); err != nil {
				t.Fatalf("correct record %d: %v", r.ID, err)
			}
			corrected = true
			break
		}
	}
	if !corrected {
		t.Fatal("no record to correct in the demo")
	}
	stop()

	for _, want := range countyReads {
		found := 0
		for q := range heard {
			if !strings.Contains(q, want.statement) {
				continue
			}
			found++
			// SQLite plans again with the values bound (a LIMIT of
			// NULL is no limit): 20 for each, a page's size.
			args := make([]any, strings.Count(q, "?"))
			for i := range args {
				args[i] = 20
			}
			plan, err := queryPlan(context.Background(), db, q, args...)
			if err != nil {
				t.Errorf("explain %q: %v", q, err)
				continue
			}
			if !strings.Contains(strings.Join(plan, " | "), want.search) {
				t.Errorf("%q does not search %s:\n  %s\n  plan: %s", want.statement, want.search, q, strings.Join(plan, " | "))
			}
		}
		if found == 0 {
			t.Errorf("no statement heard with %q: the test no longer reaches it", want.statement)
		}
	}
}
