package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"jifen"
	"jifen/demo"
	"jifen/importer"
	"jifen/sqldb"
	"jifen/wire"
)

// runDemo loads the demo county (when the database is empty) and adds a
// generated county of --people residents with --years of history under
// it. A run that is stopped continues where it left off when run again
// with the same flags.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	people := fs.Int("people", 10000, "residents to generate")
	years := fs.Int("years", 1, "years of history: activities, service records, awards, purchases")
	seed := fs.Uint64("seed", 1, "the same seed draws the same county")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the load to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stopProfile, err := profileCPU(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	began := time.Now()
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ds := wire.Demo(db)
	empty, err := demo.Empty(ctx, ds)
	if err != nil {
		return err
	}
	if empty {
		if _, err := demo.Load(ctx, ds); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "demo county loaded")
	}
	bar := importer.NewProgress(stderr, *people, "生成 generating")
	last := 0
	pctx := jifen.WithProgress(ctx, func(done, total int) {
		bar.Add(done - last)
		last = done
	})
	rep, err := db.GenerateDemo(pctx, sqldb.DemoGen{People: *people, Years: *years, Seed: *seed, County: demo.County{},
		Under: "崇信县", AwardBy: "13900000001", ReviewBy: "13900000004"})
	bar.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated county: %d villages", rep.Villages)
	if rep.Resumed > 0 {
		fmt.Fprintf(stdout, " (%d written by an earlier run)", rep.Resumed)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "sign in with 13900000000–13900000007, password %s (generated people have no password)\n", demo.Password)
	fmt.Fprintf(stdout, "demo: %s, %s, database %.1f MB:", time.Since(began).Round(time.Second), db.Dialect(), float64(rep.Bytes)/(1<<20))
	for _, t := range rep.Tables {
		fmt.Fprintf(stdout, " %s %d", t.Table, t.Rows)
	}
	fmt.Fprintln(stdout)
	return nil
}
