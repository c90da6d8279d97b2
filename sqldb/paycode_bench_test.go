package sqldb

import (
	"context"
	"testing"
	"time"

	"jifen"
)

// BenchmarkPaycodeFetch is "my pay code" (StoreService.NewPaycode: the
// sweep of codes an hour past their minute, then the new code), first on
// a new county, then with 100,000 residents each holding an unused code of
// the last hour, as a county has in a busy hour of residents opening the
// page and buying nothing. The two figures should match: the sweep reads
// what it deletes (0020_paycodes_live). Before 0014, the sweep read every
// stale code on every fetch.
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
			// The clock moves a minute every ten fetches of each buyer, so
			// the sweep finds codes to delete as a county's would. The
			// stale codes are written half an hour in the past, so none of
			// them passes its hour in under 30 minutes' fetches (30,000).
			fetched := 0
			clock := func() time.Time { return now.Add(time.Duration(fetched/(10*len(ctxs))) * time.Minute) }
			db.Now = clock
			defer func() { db.Now = time.Now }()
			fetch := func(b *testing.B) {
				for b.Loop() {
					if _, err := stores.NewPaycode(ctxs[fetched%len(ctxs)]); err != nil {
						b.Fatal(err)
					}
					fetched++
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			}
			b.Run("new_county", fetch)
			people("STALE", stale)
			if _, err := db.w.ExecContext(sys, db.q(`INSERT INTO paycodes (code_hash, person_id, expires_at)
				SELECT 'stale-' || id, id, ? FROM people WHERE volunteer_no LIKE 'STALE%'`), clock().Add(-30*time.Minute)); err != nil {
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
