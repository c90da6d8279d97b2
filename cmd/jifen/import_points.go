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

// pointsImportFlags parses FILE --org ID [--dry-run] for the points imports.
func pointsImportFlags(name string, args []string, stderr io.Writer) (c Config, file string, org int64, dry bool, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	orgID := fs.Int64("org", 0, "id of the organisation")
	dryRun := fs.Bool("dry-run", false, "check the file and list bad rows without writing")
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err = fs.Parse(args); err != nil {
		return
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" || *orgID <= 0 {
		err = fmt.Errorf("usage: jifen %s FILE --org ID [--dry-run]", name)
	}
	return c, file, *orgID, *dryRun, err
}

func printProblems(stdout io.Writer, ps []importer.RowError) {
	for _, e := range ps {
		fmt.Fprintf(stdout, "  第%d行 [%s] %s (row %d: %s)\n", e.SheetRow, e.Column, e.Reason, e.SheetRow, e.ReasonEn)
	}
}

// runImportRules writes a rule catalogue into an org: new codes become
// rules, changed ones a new version; nothing is written while a row is bad.
func runImportRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, file, orgID, dry, err := pointsImportFlags("import rules", args, stderr)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rules, err := importer.ParseRules(f, file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d rules, %d problems\n", file, rules.Total, len(rules.Problems))
	printProblems(stdout, rules.Problems)
	if dry {
		return nil
	}
	if len(rules.Problems) > 0 {
		return fmt.Errorf("nothing imported: fix the rows above")
	}
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := sqldb.NewPointsService(db).ImportRules(jifen.WithActor(ctx, jifen.SystemActor()), orgID, rules.Items)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported: %d rules new or changed, %d unchanged\n", n, len(rules.Items)-n)
	return nil
}

// runImportOpening posts opening balances, once per person.
func runImportOpening(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, file, orgID, dry, err := pointsImportFlags("import opening", args, stderr)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sheet, err := importer.ParseOpening(f, file)
	if err != nil {
		return err
	}
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	people := sqldb.NewPersonService(db)
	problems := sheet.Problems
	var lines []jifen.OpeningInput
	for _, row := range sheet.Items {
		if row.Points == 0 {
			continue // nothing to carry over
		}
		p, err := people.LookupPerson(ctx, orgID, row.Ident)
		if err != nil {
			problems = append(problems, importer.RowError{Row: row.Row, SheetRow: row.SheetRow, Column: row.Kind.Zh(),
				Reason: jifen.ErrorMessage(err, "zh"), ReasonEn: jifen.ErrorMessage(err, "en")})
			continue
		}
		// The row's other identifiers and its name must be that person's:
		// a phone or number typed on the wrong line would otherwise carry
		// one resident's balance to another.
		if bad := openingMismatch(row, p); bad != "" {
			problems = append(problems, importer.RowError{Row: row.Row, SheetRow: row.SheetRow, Column: "姓名",
				Reason: bad + "，请核对本行", ReasonEn: "the row does not match the person its " + row.Kind.Zh() + " names; check it"})
			continue
		}
		lines = append(lines, jifen.OpeningInput{PersonID: p.ID, Points: row.Points, Note: row.Note, Row: row.SheetRow})
	}
	fmt.Fprintf(stdout, "%s: %d rows, %d problems\n", file, sheet.Total, len(problems))
	printProblems(stdout, problems)
	if dry {
		return nil
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing imported: fix the rows above")
	}
	n, err := sqldb.NewPointsService(db).ImportOpening(ctx, orgID, lines)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported: %d opening balances\n", n)
	return nil
}

// openingMismatch says how an opening-balance row disagrees with the person
// its identifier found ("" when it does not): another name, phone or
// volunteer number than theirs.
func openingMismatch(row importer.OpeningRow, p *jifen.Person) string {
	switch {
	case row.Name != "" && jifen.CleanText(row.Name) != p.Name:
		return "本行姓名是" + jifen.CleanText(row.Name) + "，该" + row.Kind.Zh() + "对应的人员是" + p.Name
	case row.Phone != "" && p.Phone != "" && row.Phone != p.Phone:
		return "本行手机号与" + p.Name + "登记的不同"
	case row.VolunteerNo != "" && row.VolunteerNo != p.VolunteerNo:
		return "本行志愿者编号与" + p.Name + "的不同"
	}
	return ""
}
