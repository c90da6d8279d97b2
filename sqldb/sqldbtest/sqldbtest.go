// Package sqldbtest opens fresh databases for tests: SQLite always, and
// PostgreSQL when JIFEN_TEST_POSTGRES holds a DSN. Every PostgreSQL run
// gets a schema of its own, so parallel runs never collide.
package sqldbtest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jifen/secret"
	"jifen/sqldb"
)

// Keys are fixed test keys.
func Keys(t testing.TB) *secret.Keys {
	k, err := secret.New([]byte("jifen-test-master-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Fast argon2 costs keep suites quick; production costs are tested once in secret.
var Fast = secret.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// DSNs returns the databases to run a suite on, by name.
func DSNs(t testing.TB) map[string]func(testing.TB) string {
	m := map[string]func(testing.TB) string{
		"sqlite": func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "jifen.db") },
	}
	if pg := os.Getenv("JIFEN_TEST_POSTGRES"); pg != "" {
		m["postgres"] = func(t testing.TB) string { return FreshSchema(t, pg) }
	}
	return m
}

// FreshSchema creates an empty schema on the server and returns a DSN
// whose search_path points at it; the schema is dropped after the test.
func FreshSchema(t testing.TB, dsn string) string {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("t_%s", strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(secret.Token(9))))
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema (is JIFEN_TEST_POSTGRES right?): %v", err)
	}
	t.Cleanup(func() {
		if os.Getenv("JIFEN_TEST_KEEP") != "" {
			return
		}
		a, err := sql.Open("pgx", dsn)
		if err == nil {
			a.Exec("DROP SCHEMA " + name + " CASCADE")
			a.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	// A test finds its own sessions in pg_stat_activity by this name
	// (tests of other schemas run beside it).
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a fresh, migrated database from dsn with fast password costs.
func Open(t testing.TB, dsn string) *sqldb.DB {
	db, err := sqldb.Open(context.Background(), dsn, Keys(t))
	if err != nil {
		t.Fatal(err)
	}
	db.PasswordParams = Fast
	t.Cleanup(func() { db.Close() })
	return db
}

// Each runs fn as a subtest on every configured database.
func Each(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	for name, dsn := range DSNs(t) {
		t.Run(name, func(t *testing.T) {
			fn(t, Open(t, dsn(t)))
		})
	}
}

// PNG returns a real 64×64 seal image (a red ring) padded to size bytes
// after its end chunk, which PNG readers ignore; size 0 means unpadded.
func PNG(size int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	red := color.RGBA{200, 30, 30, 255}
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			d := (x-32)*(x-32) + (y-32)*(y-32)
			if d > 24*24 && d < 30*30 {
				img.Set(x, y, red)
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	if size > buf.Len() {
		buf.Write(make([]byte, size-buf.Len()))
	}
	return buf.Bytes()
}
