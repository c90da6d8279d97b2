package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"jifen"
	"jifen/loadgen"
	"jifen/secret"
	"jifen/sqldb"
)

// runBench drives a running server over the API (see package loadgen) and
// verifies the ledger afterwards when it can reach the database.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.Config
	fs.StringVar(&cfg.URL, "url", env("JIFEN_BENCH_URL", "http://127.0.0.1:8080"), "the running server, or several instances of one on one PostgreSQL database separated by commas, the clients spread over them (JIFEN_BENCH_URL)")
	fs.IntVar(&cfg.Clients, "clients", 32, "concurrent clients, one keep-alive connection each")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to run (with --requests alone: until that many operations)")
	fs.Int64Var(&cfg.Requests, "requests", 0, "stop after this many operations (a counter redemption is one operation of two requests)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: start this many operations per second, latency counted from when each was due (0: each client back to back)")
	mix := fs.String("mix", "awards=40,checkins=20,orders=10,redemptions=30", "operations and their weights: awards, checkins, orders, redemptions, cancels (an everyday item ordered and cancelled), refunds (sold at the counter and refunded), pickups (ordered and handed over), deductions")
	fs.Float64Var(&cfg.Popular, "popular", 0.5, "share of orders and counter sales that go to the one popular item")
	fs.Int64Var(&cfg.PopularStock, "popular-stock", 500, "the popular item's stock, restored before each run")
	fs.BoolVar(&cfg.SharedBuyers, "shared-buyers", false, "counter sales pick any resident at random, so clients may hold pay codes of one resident at once (by default each client sells to residents of its own)")
	fs.BoolVar(&cfg.Setup, "setup", false, "set up afresh even when --state holds a usable setup")
	fs.IntVar(&cfg.People, "setup-people", 200, "residents setup creates (buyers, volunteers, award receivers); at least --clients")
	fs.IntVar(&cfg.Clerks, "clerks", 8, "clerks setup creates, each serving at every bench store")
	fs.IntVar(&cfg.Stores, "stores", 4, "stores setup creates (the popular item is in the first)")
	fs.IntVar(&cfg.Activities, "activities", 4, "running activities setup creates; residents are spread over them")
	fs.StringVar(&cfg.AdminPhone, "admin-phone", "13900000000", "a super admin who sets up (the demo's by default)")
	fs.StringVar(&cfg.AdminPassword, "admin-password", "jifen2026", "the super admin's password")
	fs.StringVar(&cfg.State, "state", "", "file keeping setup's accounts, tokens and ids, so the next run skips setup")
	dsn := fs.String("db", env("JIFEN_DB", ""), "the server's database (sqlite:PATH or postgres://…) to verify the ledger after the run (JIFEN_DB)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress lines on standard error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	if cfg.Requests > 0 && !durationSet {
		cfg.Duration = 0
	}
	var err error
	if cfg.Mix, err = loadgen.ParseMix(*mix); err != nil {
		return err
	}
	if !*quiet {
		cfg.Log = stderr
	}
	if *dsn != "" {
		cfg.Verify = verifyLedger(*dsn)
	}
	rep, err := loadgen.Run(ctx, cfg)
	if rep == nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.Write(stdout)
	}
	if err != nil {
		return err // interrupted after a partial run, reported above
	}
	if rep.Verify != nil && !rep.Verify.OK {
		return errors.New("ledger verification FAILED after the bench: " + rep.Verify.Error)
	}
	if n := rep.Errors5xx(); n > 0 {
		return fmt.Errorf("the server answered %d requests with 5xx or not at all", n)
	}
	return nil
}

// verifyLedger is `jifen verify` against the server's database: seal what
// is queued, then recompute. It opens the database with a throwaway key:
// the ledger's hashes use none, and the bench must not create or need the
// server's secret file.
func verifyLedger(dsn string) func(context.Context) (*jifen.VerifyReport, error) {
	return func(ctx context.Context) (*jifen.VerifyReport, error) {
		master := make([]byte, 32)
		rand.Read(master)
		keys, err := secret.New(master)
		if err != nil {
			return nil, err
		}
		db, err := sqldb.Open(ctx, dsn, keys)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		ledger := sqldb.NewLedgerService(db)
		ctx = jifen.WithActor(ctx, jifen.SystemActor())
		for {
			b, err := ledger.Seal(ctx)
			if err != nil {
				return nil, err
			}
			if b == nil {
				break
			}
		}
		return ledger.Verify(ctx, "")
	}
}
