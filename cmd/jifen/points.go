package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"jifen"
	"jifen/sqldb"
)

// runExpire lapses points as each org's expiry setting says. It is safe to
// run twice or beside a running server: each account's expiry is posted
// once under a key naming the account and the cutoff day.
func runExpire(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("expire", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := sqldb.NewPointsService(db).Expire(jifen.WithActor(ctx, jifen.SystemActor()))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "expired %d points from %d accounts\n", rep.Points, rep.Accounts)
	return nil
}

// expireDaily runs expiry when the server starts and then every few
// hours; the keys make repeated runs post nothing twice, and on several
// instances the second to reach an account finds it done.
func expireDaily(ctx context.Context, points *sqldb.PointsService, log *slog.Logger) {
	every(ctx, 6*time.Hour, func(ctx context.Context) {
		if rep, err := points.Expire(ctx); err != nil && ctx.Err() == nil {
			log.Error("points expiry", "err", err)
		} else if rep != nil && rep.Points > 0 {
			log.Info("points expiry", "points", rep.Points, "accounts", rep.Accounts)
		}
	})
}
