// Command jifen runs the civility-points and volunteer-service platform.
//
//	jifen serve [--demo]            run the web server (SQLite in ./jifen-data by default)
//	jifen migrate                   apply database migrations
//	jifen admin create              make a super admin
//	jifen admin reset-password      set someone's password
//	jifen import people FILE --org ID
//	jifen export records --org ID [--format xlsx|csv|json]
//	jifen verify [--anchor HASH]
//	jifen version
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"jifen"
	"jifen/secret"
	"jifen/sqldb"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		var je *jifen.Error
		if errors.As(err, &je) {
			fmt.Fprintln(os.Stderr, "jifen:", je.Message("zh"), "/", je.Message("en"))
		} else if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "jifen:", err)
		}
		os.Exit(1)
	}
}

const usage = `jifen: 文明积分 · 志愿服务 (civility points and volunteer service)

Commands:
  serve [--demo]                  run the web server
  migrate                         apply database migrations and list them
  admin create --name N --phone P [--password W | password on stdin]
  admin reset-password --phone P [--password W | password on stdin]
  import people FILE --org ID [--dry-run] [--skip-invalid]
  import rules FILE --org ID [--dry-run]      a points rule catalogue (积分规则)
  import opening FILE --org ID [--dry-run]    opening balances from a paper ledger (台账), once per person
  export records --org ID [--from DAY] [--to DAY] [--format xlsx|csv|json] [--out FILE]
  verify [--anchor HASH]          recompute the points ledger's hashes, chain and balances
  demo [--people N] [--years Y] [--seed S]   the demo county plus a generated one of N people (resumable)
  backup [--out FILE]             one archive of the database (photos included), taken while the server runs
  restore FILE                    load a backup into an empty database, then check it (needs the same secret file)
  bench --url URL [--clients 32 --duration 30s --rate R --mix … --state FILE --db DSN]   load a running server over the API
  expire                          lapse points as each org's expiry setting says (the server also runs it)
  version
Run "jifen COMMAND -h" for a command's flags.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "admin":
		if len(rest) == 0 {
			fmt.Fprint(stderr, usage)
			return flag.ErrHelp
		}
		switch rest[0] {
		case "create":
			return runAdminCreate(ctx, rest[1:], stdin, stdout, stderr)
		case "reset-password":
			return runAdminReset(ctx, rest[1:], stdin, stdout, stderr)
		}
	case "import":
		if len(rest) > 0 {
			switch rest[0] {
			case "people":
				return runImport(ctx, rest[1:], stdout, stderr)
			case "rules":
				return runImportRules(ctx, rest[1:], stdout, stderr)
			case "opening":
				return runImportOpening(ctx, rest[1:], stdout, stderr)
			}
		}
	case "export":
		if len(rest) > 0 && rest[0] == "records" {
			return runExport(ctx, rest[1:], stdout, stderr)
		}
	case "verify":
		return runVerify(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, stdout, stderr)
	case "restore":
		return runRestore(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "expire":
		return runExpire(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "jifen", version)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", strings.Join(args, " "))
}

// open connects to the database with the deployment's keys. The secret
// file is generated on first use only for the default single-machine
// setup; a configured JIFEN_SECRET_FILE must already exist, or two
// instances could each make their own.
func open(ctx context.Context, c *Config) (*sqldb.DB, error) {
	c.resolve()
	// Instances on one PostgreSQL must share one secret: a path named by
	// flag or environment is never invented, lest each make its own.
	create := c.secretDefault || strings.HasPrefix(c.DB, "sqlite:")
	keys, err := secret.Load(c.SecretFile, create)
	if err != nil {
		return nil, err
	}
	db, err := sqldb.Open(ctx, c.DB, keys)
	if err != nil {
		return nil, err
	}
	db.Log = slog.Default()
	return db, nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
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
	vs, err := db.Migrations(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema up to date (%d migrations: %s)\n", db.Dialect(), len(vs), strings.Join(vs, ", "))
	return nil
}

// readPassword takes --password or the first line of stdin, so a password
// need not appear in the shell history or the process list.
func readPassword(flagValue string, stdin io.Reader) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("give --password or the password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runAdminCreate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	name := fs.String("name", "", "the admin's real name")
	phone := fs.String("phone", "", "mobile phone, used to sign in")
	pw := fs.String("password", "", "password (or give it on standard input)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password, err := readPassword(*pw, stdin)
	if err != nil {
		return err
	}
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	p, err := sqldb.NewAuthService(db).CreateSuperAdmin(ctx, *name, *phone, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "super admin %s created: sign in with %s (volunteer number %s)\n", p.Name, p.Phone, p.VolunteerNo)
	return nil
}

func runAdminReset(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("admin reset-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindCommon(fs)
	phone := fs.String("phone", "", "the person's mobile phone")
	pw := fs.String("password", "", "new password (or give it on standard input)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password, err := readPassword(*pw, stdin)
	if err != nil {
		return err
	}
	db, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	if err := sqldb.NewAuthService(db).SetPasswordByPhone(ctx, *phone, password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password set for %s; their old sessions are signed out\n", *phone)
	return nil
}
