package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"jifen"
	"jifen/importer"
	"jifen/sqldb"
)

// runImport imports a roster: a dry run lists every bad row; nothing is
// written while any row is bad unless --skip-invalid.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("import people", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	orgID := fs.Int64("org", 0, "id of the organisation to import into; names in the 所属组织 column are looked up below it")
	dry := fs.Bool("dry-run", false, "check the file and list bad rows without writing")
	skip := fs.Bool("skip-invalid", false, "import the valid rows even if some are bad")
	// Accept the file before or after the flags.
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" || *orgID <= 0 {
		return fmt.Errorf("usage: jifen import people FILE --org ID [--dry-run] [--skip-invalid]")
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	orgs, people := sqldb.NewOrgService(db), sqldb.NewPersonService(db)
	root, err := orgs.Org(ctx, *orgID)
	if err != nil {
		return err
	}
	roster, err := importer.Parse(f, file, importer.Options{
		DefaultOrgID: root.ID,
		ResolveOrg: func(name string) (int64, error) {
			o, err := orgs.FindOrgByName(ctx, root.ID, name)
			if err != nil {
				return 0, err
			}
			return o.ID, nil
		},
	})
	if err != nil {
		return err
	}
	valid := roster.Valid()
	fmt.Fprintf(stdout, "%s → %s: %d rows, %d valid, %d problems\n", file, root.Name, roster.Total, len(valid), len(roster.Errors))
	for _, w := range roster.Warnings {
		fmt.Fprintln(stdout, "  note:", w)
	}
	for _, e := range roster.Errors {
		fmt.Fprintf(stdout, "  第%d行 [%s] %s (row %d: %s)\n", e.SheetRow, e.Column, e.Reason, e.SheetRow, e.ReasonEn)
	}
	if *dry {
		return nil
	}
	if len(roster.Errors) > 0 && !*skip {
		return fmt.Errorf("nothing imported: fix the rows above or run again with --skip-invalid")
	}
	bar := importer.NewProgress(stderr, len(valid), "导入 import")
	shown := 0
	ctx = jifen.WithProgress(ctx, func(done, total int) {
		bar.Add(done - shown)
		shown = done
	})
	res, err := people.ImportPeople(ctx, root.ID, valid)
	bar.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported: %d added, %d updated, %d skipped\n", res.Created, res.Updated, len(roster.Errors))
	return nil
}
