package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"jifen/secret"
)

// The server refuses a connection past its limit with 53300 (CI once saw
// "too many clients already" turn six sales into 500s while other tests'
// pools filled the server). A role limited to one connection stands in for
// a full server: a pool's new connection waits until another pool lets
// the one connection go, where a plain pool fails at once.
func TestANewConnectionWaitsForRoomOnTheServer(t *testing.T) {
	base := os.Getenv("JIFEN_TEST_POSTGRES")
	if base == "" {
		t.Skip("needs PostgreSQL: set JIFEN_TEST_POSTGRES")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	role := "t_limited_" + secret.Token(6)
	if _, err := admin.Exec(fmt.Sprintf(`CREATE ROLE %q LOGIN CONNECTION LIMIT 1`, role)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(fmt.Sprintf(`DROP ROLE IF EXISTS %q`, role)) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	dsn := u.String()
	ctx := context.Background()

	holder, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	held, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}

	plain, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var pe *pgconn.PgError
	if err := plain.PingContext(ctx); !errors.As(err, &pe) || pe.Code != "53300" {
		t.Fatalf("a plain pool beside the held connection: %v, want SQLSTATE 53300 (else this test shows nothing)", err)
	}

	patient, err := openPostgresPool(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer patient.Close()
	freed := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		held.Close()
		holder.Close() // the pool closes the physical connection
		close(freed)
	}()
	var one int
	if err := patient.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("a query while the server was full: %d, %v; want it to wait for room", one, err)
	}
	select {
	case <-freed:
	default:
		t.Fatal("the query ran before the held connection was let go: the role's limit did not hold")
	}

	// Patience ends: a server that stays full is an error, not a hang.
	held2, err := patient.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held2.Close()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	short := sql.OpenDB(patientConnector{stdlib.GetConnector(*cfg), 200 * time.Millisecond})
	defer short.Close()
	start := time.Now()
	err = short.PingContext(ctx)
	if !errors.As(err, &pe) || pe.Code != "53300" {
		t.Fatalf("a server that stays full: %v, want SQLSTATE 53300", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("gave up after %v, want about its patience (200 ms)", waited)
	}
}
