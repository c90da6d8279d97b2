package sqldb

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jifen/secret"
)

// benchDSNs returns SQLite always and PostgreSQL (in a fresh schema) when
// JIFEN_TEST_POSTGRES is set.
func benchDSNs(b testing.TB) map[string]string {
	m := map[string]string{"sqlite": "sqlite:" + filepath.Join(b.TempDir(), "bench.db")}
	pg := os.Getenv("JIFEN_TEST_POSTGRES")
	if pg == "" {
		return m
	}
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	schema := "b_" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(secret.Token(9)))
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if a, err := sql.Open("pgx", pg); err == nil {
			a.Exec("DROP SCHEMA " + schema + " CASCADE")
			a.Close()
		}
	})
	u, _ := url.Parse(pg)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	m["postgres"] = u.String()
	return m
}
