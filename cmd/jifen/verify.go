package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"jifen"
	"jifen/sqldb"
)

// runVerify recomputes the ledger and exits non-zero on the first
// mismatch. It seals what is waiting first, so the report covers it.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	anchor := fs.String("anchor", "", "a block hash copied earlier (from the board or a statement): history up to it must be unchanged")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ledger := sqldb.NewLedgerService(db)
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	for {
		b, err := ledger.Seal(ctx)
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
	}
	r, err := ledger.Verify(ctx, *anchor)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	} else {
		fmt.Fprintf(stdout, "transactions %d, postings %d, accounts %d, blocks %d, waiting to be sealed %d\nlatest block %s\n",
			r.Transactions, r.Postings, r.Accounts, r.Blocks, r.Unsealed, r.LastBlock)
	}
	if r.Problem != "" {
		return errors.New("ledger verification FAILED: " + r.Problem)
	}
	if !*asJSON {
		fmt.Fprintln(stdout, "ledger verified: every hash, block, sum and balance checks out")
	}
	return nil
}
