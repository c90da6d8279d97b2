package main

import (
	"context"
	"log/slog"
	"time"

	"jifen/sqldb"
)

// releaseOrders gives back the points and stock of pick-up orders nobody
// fetched and counter sales nobody confirmed, once a minute. Each is
// released in its own transaction that re-checks its status, so several
// instances may run it side by side.
func releaseOrders(ctx context.Context, stores *sqldb.StoreService, log *slog.Logger) {
	every(ctx, time.Minute, func(ctx context.Context) {
		if n, err := stores.ReleaseExpired(ctx); err != nil && ctx.Err() == nil {
			log.Error("release orders", "err", err)
		} else if n > 0 {
			log.Info("released orders", "count", n)
		}
	})
}
