package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"jifen"
	"jifen/export"
	"jifen/importer"
	"jifen/sqldb"
)

// runExport writes an org's service records (its 台账) as XLSX, CSV or
// JSON, with a progress bar for big ones.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("export records", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	orgID := fs.Int64("org", 0, "id of the organisation whose subtree's records to export")
	from := fs.String("from", "", "first day, YYYY-MM-DD (default: all)")
	to := fs.String("to", "", "last day, YYYY-MM-DD (default: today)")
	format := fs.String("format", "xlsx", "xlsx, csv or json (layout: export/FORMAT.md)")
	out := fs.String("out", "", "output file (default: records-ORG.FORMAT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgID <= 0 {
		return fmt.Errorf("usage: jifen export records --org ID [--from DAY] [--to DAY] [--format xlsx|csv|json] [--out FILE]")
	}
	f, err := export.ParseFormat(*format)
	if err != nil {
		return err
	}
	filter := jifen.RecordFilter{OrgID: *orgID}
	if *from != "" {
		if filter.From, err = time.ParseInLocation("2006-01-02", *from, jifen.Zone); err != nil {
			return fmt.Errorf("--from: want YYYY-MM-DD")
		}
	}
	if *to != "" {
		t, err := time.ParseInLocation("2006-01-02", *to, jifen.Zone)
		if err != nil {
			return fmt.Errorf("--to: want YYYY-MM-DD")
		}
		filter.To = t.AddDate(0, 0, 1)
	}
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	org, err := sqldb.NewOrgService(db).Org(ctx, *orgID)
	if err != nil {
		return err
	}
	records := sqldb.NewRecordService(db)
	total, err := records.CountRecords(ctx, filter)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = fmt.Sprintf("records-%d%s", org.ID, f.Ext())
	}
	file, err := os.Create(*out)
	if err != nil {
		return err
	}
	w, err := export.NewRecordWriter(file, f, export.Meta{Title: org.Name + "志愿服务记录台账", From: filter.From, To: filter.To, GeneratedAt: time.Now()})
	if err != nil {
		file.Close()
		return err
	}
	bar := importer.NewProgress(stderr, total, "导出 export")
	err = records.EachRecord(ctx, filter, func(r *jifen.ServiceRecord) error {
		bar.Add(1)
		return w.Write(r)
	})
	bar.Done()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "%d records of %s written to %s\n", total, org.Name, *out)
	return nil
}
