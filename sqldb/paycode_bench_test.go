package sqldb

import (
	"context"
	"testing"
	"time"

	"jifen"
)

// BenchmarkPaycodeFetch is "my pay code" (StoreService.NewPaycode: the
// sweep of used codes, then the upsert of the person's one unused code),
// first on a new county, then with 100,000 residents each holding a stale
// unused code, as a county has after residents open the page and buy
// nothing. The two figures should match: the sweep reads used codes only
// (0014_paycode_sweep). Before, it read every stale code on every fetch.
func BenchmarkPaycodeFetch(b *testing.B) {
	const stale, buyers = 100_000, 100
	for name, dsn := range benchDSNs(b) {
		b.Run(name, func(b *testing.B) {
			db := benchDB(b, dsn)
			sys := jifen.WithActor(context.Background(), jifen.SystemActor())
			village, err := NewOrgService(db).CreateOrg(sys, jifen.OrgInput{Name: "新窑村", Kind: jifen.OrgVillage})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC()
			people := func(prefix string, n int) {
				b.Helper()
				if _, err := db.w.ExecContext(sys, db.q(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
					INSERT INTO people (name, gender, political_status, home_org_id, home_org_path, volunteer_no, status, created_at, updated_at)
					SELECT '村民' || i, 'male', 'masses', ?, ?, ? || i, 'active', ?, ? FROM n`), n, village.ID, village.Path, prefix, now, now); err != nil {
					b.Fatal(err)
				}
			}
			people("BUYER", buyers)
			var ctxs []context.Context
			rows, err := db.w.QueryContext(sys, "SELECT id FROM people WHERE volunteer_no LIKE 'BUYER%' ORDER BY id")
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					b.Fatal(err)
				}
				ctxs = append(ctxs, jifen.WithActor(context.Background(), &jifen.Actor{PersonID: id, HomeOrgID: village.ID, HomeOrgPath: village.Path}))
			}
			rows.Close()
			stores := NewStoreService(db)
			fetch := func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := stores.NewPaycode(ctxs[i%len(ctxs)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			}
			b.Run("new_county", fetch)
			people("STALE", stale)
			if _, err := db.w.ExecContext(sys, db.q(`INSERT INTO paycodes (code_hash, person_id, expires_at)
				SELECT 'stale-' || id, id, ? FROM people WHERE volunteer_no LIKE 'STALE%'`), now.Add(-24*time.Hour)); err != nil {
				b.Fatal(err)
			}
			if db.dialect.name() == "postgres" {
				if _, err := db.w.ExecContext(sys, "ANALYZE paycodes"); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("100k_stale_codes", fetch)
		})
	}
}
