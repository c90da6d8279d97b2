package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgSink writes a generated village with COPY inside one pgx transaction.
type pgSink struct{ tx pgx.Tx }

func (s pgSink) copyRows(ctx context.Context, t *genTable) error {
	if len(t.rows) == 0 {
		return nil
	}
	if _, err := s.tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
		return fmt.Errorf("demogen: copy %s: %w", t.name, err)
	}
	return nil
}

func (s pgSink) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.tx.Exec(ctx, query, args...)
	return err
}

// pgTx runs fn in a transaction on the pgx connection under database/sql,
// which COPY needs. The connection is used only inside Raw, as Raw asks.
func (db *DB) pgTx(ctx context.Context, fn func(genSink) error) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("demogen: not a pgx connection")
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		// A village lost to a crash is written again by the next run, so
		// its commit need not wait for the disk.
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
		if err := fn(pgSink{tx}); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}
