package loadgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/demo"
	"jifen/loadgen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
	"jifen/web"
	"jifen/wire"
)

// lockedBuffer keeps the server's warnings for a failing test to print.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// serve starts the real server over a fresh database holding the demo
// county's orgs and logins, and returns its address and the database.
func serve(t *testing.T, dsn string) (string, *sqldb.DB) {
	t.Helper()
	db := sqldbtest.Open(t, dsn)
	svc := wire.Services(db)
	if _, err := demo.Load(context.Background(), demo.Services{Orgs: svc.Orgs, People: svc.People, Auth: svc.Auth}); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	srv, err := web.New(web.Config{PublicURL: "http://jifen.test", Version: "test"}, svc, db.Keys, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("server log:\n%s", logs.b.String())
			logs.mu.Unlock()
		}
	})
	return ts.URL, db
}

// verifier is what `jifen bench --db` does after a run: seal, recompute.
func verifier(db *sqldb.DB) func(context.Context) (*jifen.VerifyReport, error) {
	ledger := sqldb.NewLedgerService(db)
	return func(ctx context.Context) (*jifen.VerifyReport, error) {
		ctx = jifen.WithActor(ctx, jifen.SystemActor())
		for {
			b, err := ledger.Seal(ctx)
			if err != nil {
				return nil, err
			}
			if b == nil {
				return ledger.Verify(ctx, "")
			}
		}
	}
}

// expected are the only failures a run may see: the popular item selling
// out. Anything else (a 5xx, a tripped throttle, a wrong pay code, a
// rejected check-in code) is the bench or the server going wrong.
var expected = map[string]map[string]bool{
	"sale":  {"409 out_of_stock": true},
	"order": {"409 out_of_stock": true},
}

func checkReport(t *testing.T, rep *loadgen.Report, popularStock int64, want []string) {
	t.Helper()
	var b strings.Builder
	rep.Write(&b)
	t.Logf("\n%s", b.String())
	if n := rep.Errors5xx(); n > 0 {
		t.Errorf("%d answers were 5xx or transport errors", n)
	}
	for _, name := range want {
		row := rep.Row(name)
		if row == nil || row.OK == 0 {
			t.Errorf("no successful %s requests", name)
			continue
		}
		for code, n := range row.Errors {
			if !expected[name][code] {
				t.Errorf("%s: %d unexpected failures %q", name, n, code)
			}
		}
		if !(row.P50 > 0 && row.P50 <= row.P95 && row.P95 <= row.P99 && row.P99 <= row.Max && row.Max < rep.Seconds*1000+60_000) {
			t.Errorf("%s: percentiles out of order: p50 %.2f p95 %.2f p99 %.2f max %.2f ms", name, row.P50, row.P95, row.P99, row.Max)
		}
		if row.Count != row.OK+uint64(sum(row.Errors)) {
			t.Errorf("%s: %d requests but %d ok and %d failed", name, row.Count, row.OK, sum(row.Errors))
		}
	}
	if rep.Total.Count == 0 || rep.Total.PerSec <= 0 {
		t.Errorf("total: %d requests at %.1f/s", rep.Total.Count, rep.Total.PerSec)
	}
	// The popular item can never be oversold, and once anyone heard
	// "out of stock" every unit must have gone.
	soldOut := rep.Row("sale").Errors["409 out_of_stock"] + rep.Row("order").Errors["409 out_of_stock"]
	if rep.PopularSold > popularStock || (soldOut > 0 && rep.PopularSold != popularStock) {
		t.Errorf("popular item: %d sold of %d in stock, %d told it was out of stock", rep.PopularSold, popularStock, soldOut)
	}
	if rep.Verify == nil || !rep.Verify.OK {
		t.Errorf("ledger not verified after the run: %+v", rep.Verify)
	}
	// The server publishes its commits (/metrics): a commit carries one
	// write or more.
	if w := rep.Writer; w == nil || w.Writes < w.Commits || w.BusyShare < 0 || w.CommitShare < 0 || w.CommitShare > 1 {
		t.Errorf("writer: %+v", rep.Writer)
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// stock reads an item's stock over the API, as the super admin of the
// state file.
func stock(t *testing.T, base, statePath string) int64 {
	t.Helper()
	b, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st loadgen.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/stores/"+strconv.FormatInt(st.Popular.StoreID, 10)+"/items/"+strconv.FormatInt(st.Popular.ItemID, 10), nil)
	req.Header.Set("Authorization", "Bearer "+st.Admin.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var it jifen.Item
	if err := json.NewDecoder(resp.Body).Decode(&it); err != nil || it.Stock == nil {
		t.Fatalf("item: %v %+v", err, it)
	}
	return *it.Stock
}

// TestBench runs the whole tool against a real server: setup through the
// API, a timed closed-loop run of every operation, then a second run that
// reuses the saved state, open loop and bounded by count.
func TestBench(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			base, db := serve(t, dsn(t))
			const popular = 40
			state := filepath.Join(t.TempDir(), "state.json")
			cfg := loadgen.Config{URL: base, Clients: 4, Duration: 3 * time.Second,
				Mix: loadgen.Mix{loadgen.Awards: 20, loadgen.Checkins: 20, loadgen.Orders: 20, loadgen.Redemptions: 20, loadgen.Cancels: 20,
					loadgen.Refunds: 20, loadgen.Pickups: 20, loadgen.Deductions: 20},
				Popular: 0.5, PopularStock: popular, People: 12, Clerks: 2, Stores: 2, Activities: 2,
				AdminPhone: "13900000000", AdminPassword: demo.Password, State: state, Verify: verifier(db)}
			ctx := context.Background()

			rep, err := loadgen.Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.SetupRan || rep.Mode != "closed" {
				t.Errorf("first run: setup ran %v, mode %s", rep.SetupRan, rep.Mode)
			}
			checkReport(t, rep, popular, []string{"award", "checkin", "checkout", "paycode", "sale", "order", "cancel", "refund", "fulfil", "deduct"})
			if name == "sqlite" && (rep.Writer == nil || uint64(rep.Writer.Writes) < rep.Total.OK || rep.Writer.BusyShare <= 0) {
				// On SQLite every write goes through the one committer:
				// each successful request wrote.
				t.Errorf("sqlite writer: %+v for %d requests that succeeded", rep.Writer, rep.Total.OK)
			}
			if got := stock(t, base, state); got != popular-rep.PopularSold {
				t.Errorf("popular item: stock %d after selling %d of %d", got, rep.PopularSold, popular)
			}

			// The state file lets the second run skip setup; the stock is
			// counted back first, so it sells out after as many sales.
			cfg.Duration, cfg.Requests, cfg.Rate = 0, 60, 100
			rep, err = loadgen.Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.SetupRan || rep.Mode != "rate" || rep.Operations != 60 || rep.Unsent != 0 {
				t.Errorf("second run: setup ran %v, mode %s, %d operations (%d unsent), want 60", rep.SetupRan, rep.Mode, rep.Operations, rep.Unsent)
			}
			// 60 operations due 10 ms apart take about 0.6 s.
			if rep.Seconds < 0.55 || rep.Seconds > 10 {
				t.Errorf("second run took %.2f s for 60 operations at 100/s", rep.Seconds)
			}
			checkReport(t, rep, popular, []string{"award", "paycode", "sale"})
			if got := stock(t, base, state); got != popular-rep.PopularSold {
				t.Errorf("popular item: stock %d after selling %d of %d", got, rep.PopularSold, popular)
			}
		})
	}
}

// TestSharedBuyers: eight clients sell to three residents, each sale to
// any of them, so a resident often has pay codes out at several counters
// at once. Every code works (none voids another), so every sale sells:
// no invalid_paycode, and no counter throttled by codes the server
// issued. Up to migration 0020 a new code voided the last, and this mix
// locked the clerks out within seconds.
func TestSharedBuyers(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			base, db := serve(t, dsn(t))
			cfg := loadgen.Config{URL: base, Clients: 8, Requests: 300, Mix: loadgen.Mix{loadgen.Redemptions: 3, loadgen.Refunds: 1},
				Popular: 0.5, PopularStock: 1000, People: 3, Clerks: 2, Stores: 2, Activities: 1, SharedBuyers: true,
				AdminPhone: "13900000000", AdminPassword: demo.Password, State: filepath.Join(t.TempDir(), "state.json"), Verify: verifier(db)}
			rep, err := loadgen.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			rep.Write(&b)
			t.Logf("\n%s", b.String())
			for _, name := range []string{"paycode", "sale", "refund"} {
				if row := rep.Row(name); row == nil || row.OK == 0 || len(row.Errors) > 0 {
					t.Errorf("%s: %+v, want successes and no failure", name, row)
				}
			}
			if n := rep.Errors5xx(); n > 0 {
				t.Errorf("%d answers were 5xx or transport errors", n)
			}
			if rep.Verify == nil || !rep.Verify.OK {
				t.Errorf("ledger not verified after the run: %+v", rep.Verify)
			}
			if sale := rep.Row("sale"); sale == nil || sale.OK < 250 {
				t.Errorf("sales: %+v, want every one of about 300 sold", sale)
			}
		})
	}
}

func TestConfigRefused(t *testing.T) {
	base := loadgen.Config{URL: "http://127.0.0.1:1", Clients: 4, Duration: time.Second, Mix: loadgen.Mix{loadgen.Redemptions: 1},
		People: 4, Clerks: 1, Stores: 1, Activities: 1, PopularStock: 1}
	for _, tc := range []struct {
		name string
		edit func(*loadgen.Config)
		want string
	}{
		{"fewer residents than clients would share pay codes", func(c *loadgen.Config) { c.People = 3 }, "at least --clients"},
		{"shared buyers, but check-ins are a client's own", func(c *loadgen.Config) {
			c.People, c.SharedBuyers, c.Mix = 3, true, loadgen.Mix{loadgen.Redemptions: 1, loadgen.Checkins: 1}
		}, "at least --clients"},
		{"no bound never ends", func(c *loadgen.Config) { c.Duration = 0 }, "never ends"},
		{"popular is a share", func(c *loadgen.Config) { c.Popular = 1.5 }, "share"},
		{"a URL is http", func(c *loadgen.Config) { c.URL = "127.0.0.1:8080" }, "not an http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			_, err := loadgen.Run(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	m, err := loadgen.ParseMix("awards=40, checkins=20,orders=10,redemptions=30")
	if err != nil || m[loadgen.Awards] != 40 || m[loadgen.Redemptions] != 30 || m.String() != "awards=40,checkins=20,orders=10,redemptions=30" {
		t.Fatalf("got %v, %v", m, err)
	}
	if m, err := loadgen.ParseMix("cancels=5,awards=1"); err != nil || m.String() != "awards=1,cancels=5" {
		t.Errorf("with cancels: got %v, %v", m, err)
	}
	if m, err := loadgen.ParseMix("deductions=1,pickups=2,refunds=3,awards=4"); err != nil || m.String() != "awards=4,refunds=3,pickups=2,deductions=1" {
		t.Errorf("with refunds, pick-ups and deductions: got %v, %v", m, err)
	}
	for _, bad := range []string{"", "awards", "awards=x", "bribes=10", "awards=-1", "awards=0"} {
		if _, err := loadgen.ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}
