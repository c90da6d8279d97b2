package sqldb_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen/demo"
	"jifen/loadgen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
	"jifen/web"
	"jifen/wire"
)

// growing are the tables that grow with use: a statement of the everyday
// paths that reads one of them whole gets slower every day. (A pay-code
// delete that did so took two thirds of the server's time under a counter
// rush before it was found by a profile; this test finds the next one.)
var growing = map[string]bool{
	"people": true, "sessions": true, "accounts": true, "ledger_transactions": true, "postings": true,
	"awards": true, "award_evidence": true, "audit_log": true, "messages": true, "paycodes": true,
	"redemptions": true, "redemption_lines": true, "stock_movements": true, "attendance": true,
	"signups": true, "service_records": true, "households": true, "household_members": true,
	"report_months": true, "report_people": true, "report_stores": true, "failures": true,
	"block_items": true, "grants": true, "memberships": true, "activities": true,
}

// TestHotPathsUseIndexes runs the load tool's setup and every kind of
// request it makes (awards, check-ins and check-outs, orders, pay codes and
// counter sales, people, stores, activities) against a real server on
// SQLite, hears every statement the server runs, and asks SQLite for each
// one's query plan: none may scan a growing table.
func TestHotPathsUseIndexes(t *testing.T) {
	db := sqldbtest.Open(t, "sqlite:"+filepath.Join(t.TempDir(), "plan.db"))
	svc := wire.Services(db)
	if _, err := demo.Load(context.Background(), demo.Services{Orgs: svc.Orgs, People: svc.People, Auth: svc.Auth}); err != nil {
		t.Fatal(err)
	}
	ts := demoServer(t, db, svc)
	heard, stop := hear()
	cfg := loadgen.Config{URL: ts.URL, Clients: 4, Requests: 200,
		Mix:     loadgen.Mix{loadgen.Awards: 25, loadgen.Checkins: 25, loadgen.Orders: 25, loadgen.Redemptions: 25},
		Popular: 0.5, PopularStock: 20, People: 8, Clerks: 2, Stores: 2, Activities: 2,
		AdminPhone: "13900000000", AdminPassword: demo.Password, State: filepath.Join(t.TempDir(), "state.json")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := loadgen.Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	stop()

	var queries []string
	for q := range heard {
		queries = append(queries, q)
	}
	sort.Strings(queries)
	scan := regexp.MustCompile(`\bSCAN (\w+)`)
	checked := 0
	for _, q := range queries {
		head := strings.ToUpper(strings.TrimSpace(q))
		if !strings.HasPrefix(head, "SELECT") && !strings.HasPrefix(head, "INSERT") && !strings.HasPrefix(head, "UPDATE") &&
			!strings.HasPrefix(head, "DELETE") && !strings.HasPrefix(head, "WITH") {
			continue // BEGIN, SAVEPOINT, PRAGMA…
		}
		if strings.HasPrefix(head, "INSERT") && !strings.Contains(head, "SELECT") {
			// A plain insert reads nothing; the scans its plan lists are
			// the foreign-key checks SQLite runs for a parent row only
			// while a deferred violation is outstanding, which jifen's
			// immediate keys never leave.
			continue
		}
		// The plan does not depend on the values: NULL for each.
		plan, err := queryPlan(ctx, db, q, make([]any, strings.Count(q, "?"))...)
		if err != nil {
			t.Errorf("explain %q: %v", q, err)
			continue
		}
		checked++
		for _, step := range plan {
			m := scan.FindStringSubmatch(step)
			if m == nil || !growing[m[1]] {
				continue
			}
			t.Errorf("reads %s whole (%s):\n  %s\n  plan: %s", m[1], step, strings.Join(strings.Fields(q), " "), strings.Join(plan, " | "))
		}
	}
	// A floor that only a broken hearing misses: the caches and the rows
	// written at the end make the distinct statements fewer as the paths
	// get faster (47 when sales stopped reading back what they wrote).
	if checked < 40 {
		t.Fatalf("heard only %d statements", checked)
	}
	t.Logf("%d statements, each indexed", checked)
}

// queryPlan is SQLite's plan for a statement, one line per step.
func queryPlan(ctx context.Context, db *sqldb.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryForTest(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

// demoServer serves the web app over db until the test ends.
func demoServer(t *testing.T, db *sqldb.DB, svc web.Services) *httptest.Server {
	t.Helper()
	srv, err := web.New(web.Config{PublicURL: "http://jifen.test", Version: "test"}, svc, db.Keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// hear collects every statement SQLite runs, its white space folded,
// until stop is called; read the set after stop.
func hear() (heard map[string]bool, stop func()) {
	var mu sync.Mutex
	heard = map[string]bool{}
	stop = sqldb.HearStatements(func(q string) {
		mu.Lock()
		heard[strings.Join(strings.Fields(q), " ")] = true
		mu.Unlock()
	})
	return heard, stop
}
