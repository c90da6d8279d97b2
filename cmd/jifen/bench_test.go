package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"jifen/demo"
	"jifen/loadgen"
	"jifen/sqldb/sqldbtest"
	"jifen/web"
	"jifen/wire"
)

// `jifen bench` end to end against a real server: setup, a short run of
// every operation, the ledger verified on --db; then a balance tampered
// with behind the ledger's back makes the next run fail its verify.
func TestBenchVerifiesTheLedger(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			d := dsn(t)
			db := sqldbtest.Open(t, d)
			svc := wire.Services(db)
			if _, err := demo.Load(context.Background(), demo.Services{Orgs: svc.Orgs, People: svc.People, Auth: svc.Auth}); err != nil {
				t.Fatal(err)
			}
			srv, err := web.New(web.Config{PublicURL: "http://jifen.test", Version: "test"}, svc, db.Keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			args := []string{"bench", "--url", ts.URL, "--clients", "2", "--requests", "40", "--setup-people", "4", "--clerks", "1",
				"--stores", "1", "--activities", "1", "--state", filepath.Join(t.TempDir(), "state.json"), "--db", d, "--json", "--quiet"}
			out, err := jifenCmd(t, "", args...)
			if err != nil {
				t.Fatalf("bench: %v\n%s", err, out)
			}
			var rep loadgen.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("the JSON report does not read back (%v): %s", err, out)
			}
			if rep.Operations != 40 || rep.Verify == nil || !rep.Verify.OK || rep.Verify.Report.Transactions == 0 || len(rep.Requests) == 0 {
				t.Fatalf("report: %d operations, verify %+v", rep.Operations, rep.Verify)
			}

			tamper(t, d, "UPDATE accounts SET balance = balance + 1 WHERE kind = 'person'")
			out, err = jifenCmd(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), "ledger verification FAILED") {
				t.Fatalf("a tampered balance went unnoticed: %v\n%s", err, out)
			}
		})
	}
}

// tamper changes the database behind the services' back, as someone with
// a database client could.
func tamper(t *testing.T, dsn, query string) {
	t.Helper()
	driver, src := "pgx", dsn
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, src = "sqlite", path+"?_pragma=busy_timeout(5000)"
	}
	raw, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(query); err != nil {
		t.Fatal(err)
	}
}
