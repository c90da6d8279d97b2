package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"jifen"
	"jifen/demo"
	"jifen/sqldb"
	"jifen/web"
	"jifen/wire"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindServe(fs)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the server to this file until it stops (for BENCHMARKS.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stopProfile, err := profileCPU(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("give both --tls-cert and --tls-key")
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	slog.SetDefault(log)
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := wire.Services(db)
	if c.Demo {
		if err := loadDemo(ctx, db, strings.TrimRight(c.PublicURL, "/"), stdout); err != nil {
			return err
		}
	}
	srv, err := web.New(web.Config{PublicURL: c.PublicURL, Secure: c.TLSCert != "" || strings.HasPrefix(c.PublicURL, "https://"), TrustProxy: c.TrustProxy, Version: version}, svc, db.Keys, log)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Addr:              c.Addr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "jifen %s on %s (%s)\n  open %s\n  secret file: %s (back it up with the data)\n", version, c.Addr, db.Dialect(), c.PublicURL, c.SecretFile)
	// The sealer chains committed ledger transactions into blocks five
	// times a second; on PostgreSQL one instance at a time does it.
	go seal(ctx, sqldb.NewLedgerService(db), log)
	go expireDaily(ctx, sqldb.NewPointsService(db), log)
	go releaseOrders(ctx, sqldb.NewStoreService(db), log)
	go purgeSessions(ctx, sqldb.NewAuthService(db), log)
	go refreshBoards(ctx, sqldb.NewPointsService(db), log)
	errc := make(chan error, 1)
	go func() {
		if c.TLSCert != "" {
			errc <- hs.ServeTLS(ln, c.TLSCert, c.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// SIGTERM: stop taking requests and let those in flight finish.
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

func loadDemo(ctx context.Context, db *sqldb.DB, publicURL string, stdout io.Writer) error {
	ds := wire.Demo(db)
	empty, err := demo.Empty(ctx, ds)
	if err != nil {
		return err
	}
	if !empty {
		fmt.Fprintln(stdout, "demo: the database already has data; nothing loaded")
		return nil
	}
	logins, err := demo.Load(ctx, ds)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo county loaded. Sign in with any of these (password %s):\n", demo.Password)
	for _, l := range logins {
		fmt.Fprintf(stdout, "  %-12s %s  %s  %s\n", l.Role, l.Phone, l.Name, l.Org)
	}
	// A lobby screen opens the village's public board with a kiosk token.
	sys := jifen.WithActor(ctx, jifen.SystemActor())
	if village, err := ds.Orgs.FindOrgByName(sys, 1, "新窑村"); err == nil {
		if token, err := ds.Points.NewKioskToken(sys, village.ID); err == nil {
			fmt.Fprintf(stdout, "  public board for a lobby screen: %s/board/%d?k=%s&tv=1\n", publicURL, village.ID, token)
		}
	}
	return nil
}

// purgeSessions deletes expired sessions when the server starts and then
// every ten minutes, until ctx ends, so the table keeps only live ones
// (and no client address outlives its session by more than that). The
// purge goes in bounded batches and runs side by side on several instances.
func purgeSessions(ctx context.Context, auth *sqldb.AuthService, log *slog.Logger) {
	every(ctx, 10*time.Minute, func(ctx context.Context) {
		if n, err := auth.PurgeExpiredSessions(ctx); err != nil && ctx.Err() == nil {
			log.Error("session purge", "err", err, "count", n)
		} else if n > 0 {
			log.Info("purged expired sessions", "count", n)
		}
	})
}

// refreshBoards makes again, when the server starts and then every ten
// minutes, the kept boards that rank the month just ended
// (PointsService.RefreshBoards), so that a county's board is ready for its
// readers on the first morning of a month.
func refreshBoards(ctx context.Context, points *sqldb.PointsService, log *slog.Logger) {
	every(ctx, 10*time.Minute, func(ctx context.Context) {
		if n, err := points.RefreshBoards(ctx); err != nil && ctx.Err() == nil {
			log.Error("board refresh", "err", err, "made", n)
		} else if n > 0 {
			log.Info("boards of the month just ended made again", "count", n)
		}
	})
}

// every runs do as the system when the server starts and then every d,
// until ctx ends: the server's own chores.
func every(ctx context.Context, d time.Duration, do func(ctx context.Context)) {
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		do(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sealEvery is how often the sealer looks for transactions to seal. On
// SQLite a seal holds the one writer, every write waiting, for as long as
// its block takes to write: a block of a fifth of a second under load
// keeps that short (BENCHMARKS.md, run T).
const sealEvery = 200 * time.Millisecond

// seal runs the ledger's sealer until ctx ends.
func seal(ctx context.Context, ledger *sqldb.LedgerService, log *slog.Logger) {
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	t := time.NewTicker(sealEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A backlog is sealed block after block, up to a bound per tick.
			for range 20 {
				b, err := ledger.Seal(ctx)
				if err != nil && ctx.Err() == nil {
					log.Error("ledger sealer", "err", err)
				}
				if b == nil {
					break
				}
			}
		}
	}
}
