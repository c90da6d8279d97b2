package sqldb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"jifen"
)

// BenchmarkCountyReads measures reads that must not grow with what a
// county piles up over the years (0015_county_reads): each first on a new
// village, then after 100,000 rows of the past beside the few it wants,
// in the same run. The two figures should be alike.
//
//   - board: a village's public board made (rankings of the month, the
//     year and last month, the awards on display), beside 100,000 awards
//     of last year;
//   - counter: a store's sales of the day and its held orders, beside
//     100,000 sales of last year;
//   - activities: the activities open to sign up, beside 100,000
//     finished ones;
//   - appeals: a resident's own appeals, beside 100,000 of someone else;
//   - issued: what the village issued this year (a budget's first award
//     of the year), beside 100,000 awards issued by the county.
func BenchmarkCountyReads(b *testing.B) {
	const old = 100_000
	for name, dsn := range benchDSNs(b) {
		b.Run(name, func(b *testing.B) {
			db := benchDB(b, dsn)
			ctx := context.Background()
			sys := jifen.WithActor(ctx, jifen.SystemActor())
			exec := func(q string, args ...any) {
				b.Helper()
				if _, err := db.w.ExecContext(ctx, db.q(q), args...); err != nil {
					b.Fatalf("%s: %v", q, err)
				}
			}
			orgs := NewOrgService(db)
			county, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: "县", Kind: jifen.OrgCounty})
			if err != nil {
				b.Fatal(err)
			}
			village, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: "新窑村", Kind: jifen.OrgVillage, ParentID: &county.ID})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			lastYear := now.AddDate(-1, 0, 0)
			exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3)
				INSERT INTO people (name, gender, political_status, home_org_id, home_org_path, volunteer_no, status, created_at, updated_at)
				SELECT '村民' || i, 'male', 'masses', ?, ?, 'READS' || i, 'active', ?, ? FROM n`, village.ID, village.Path, now, now)
			exec("INSERT INTO accounts (kind, owner_id, created_at) SELECT 'person', id, ? FROM people", now)
			var me, other, account int64
			if err := db.w.QueryRowContext(ctx, "SELECT MIN(id), MAX(id) FROM people").Scan(&me, &other); err != nil {
				b.Fatal(err)
			}
			if err := db.w.QueryRowContext(ctx, db.q("SELECT id FROM accounts WHERE owner_id = ?"), other).Scan(&account); err != nil {
				b.Fatal(err)
			}
			rule, err := NewPointsService(db).CreateRule(sys, county.ID, jifen.RuleInput{Code: "clean-yard", Name: "庭院整洁", Category: jifen.CatEnvironment, Points: 5})
			if err != nil {
				b.Fatal(err)
			}
			var version int64
			if err := db.w.QueryRowContext(ctx, db.q("SELECT id FROM rule_versions WHERE rule_id = ?"), rule.ID).Scan(&version); err != nil {
				b.Fatal(err)
			}
			exec(`INSERT INTO stores (org_id, org_path, name, kind, serves_org_id, serves_path, created_at) VALUES (?, ?, '积分超市', 'supermarket', ?, ?, ?)`,
				village.ID, village.Path, village.ID, village.Path, now)
			var store int64
			if err := db.w.QueryRowContext(ctx, "SELECT MAX(id) FROM stores").Scan(&store); err != nil {
				b.Fatal(err)
			}
			// The rows wanted: today's awards on display, sales and held
			// orders, open activities, the resident's appeals.
			awards := func(from, n int, day string, at time.Time, issuer int64) {
				exec(`WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < CAST(? AS INTEGER))
					INSERT INTO awards (id, org_id, org_path, issuer_org_id, rule_id, rule_version_id, person_id, account_id, quantity, points, status, source,
						day, created_by, created_at, posted_at, public_until, appeal_until)
					SELECT i, ?, ?, ?, ?, ?, ?, ?, 1, 5, 'posted', 'rule', ?, ?, ?, ?, ?, ? FROM n`,
					from, from+n-1, village.ID, village.Path, issuer, rule.ID, version, other, account, day, me, at, at, at.AddDate(0, 0, 7), at.AddDate(0, 0, 7))
			}
			sales := func(from, n int, status string, at time.Time) {
				exec(`WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < CAST(? AS INTEGER))
					INSERT INTO redemptions (id, store_id, person_id, account_id, status, points, idem_key, request_hash, created_by, created_at, done_at, held_until)
					SELECT i, ?, ?, ?, ?, 10, 'sale-' || i, '', ?, ?, ?, ? FROM n`, from, from+n-1, store, other, account, status, me, at, at, at.Add(48*time.Hour))
			}
			activities := func(n int, starts time.Time) {
				exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < CAST(? AS INTEGER))
					INSERT INTO activities (org_id, org_path, title, category, starts_at, ends_at, status, created_at)
					SELECT ?, ?, '清扫街道', 'other', ?, ?, 'published', ? FROM n`, n, village.ID, village.Path, starts, starts.Add(2*time.Hour), now)
			}
			appeals := func(from, to int, person int64) {
				exec(`INSERT INTO appeals (award_id, org_path, person_id, reason, status, created_at)
					SELECT id, org_path, ?, '分数有误', 'rejected', ? FROM awards WHERE id >= ? AND id <= ?`, person, now, from, to)
			}
			today := localDay(now)
			awards(1, 20, today, now, village.ID)
			sales(1, 5, "completed", now)
			sales(6, 2, "held", now)
			activities(5, now.Add(24*time.Hour))
			appeals(1, 2, me)

			points, stores, acts := NewPointsService(db), NewStoreService(db), NewActivityService(db)
			resident := jifen.WithActor(ctx, &jifen.Actor{PersonID: me, HomeOrgID: village.ID, HomeOrgPath: village.Path})
			reads := []struct {
				name string
				fn   func() error
			}{
				{"board", func() error { _, err := points.makeBoard(sys, village); return err }},
				{"counter", func() error {
					if _, _, err := stores.Redemptions(sys, jifen.RedemptionFilter{StoreID: store, Day: today, PerPage: 200}); err != nil {
						return err
					}
					_, _, err := stores.Redemptions(sys, jifen.RedemptionFilter{StoreID: store, Status: jifen.RedemptionHeld, PerPage: 100})
					return err
				}},
				{"activities", func() error {
					l, _, err := acts.Activities(resident, jifen.ActivityFilter{Status: jifen.ActivityPublished})
					if err == nil && len(l) != 5 {
						err = fmt.Errorf("%d open activities, want 5", len(l))
					}
					return err
				}},
				{"appeals", func() error {
					l, _, err := points.Appeals(resident, 0, "", 1)
					if err == nil && len(l) != 2 {
						err = fmt.Errorf("%d appeals, want 2", len(l))
					}
					return err
				}},
				{"issued", func() error {
					return db.reads(sys, func(tx *Tx) error { _, err := tx.issued(sys, village.ID, now); return err })
				}},
			}
			run := func(setting string) {
				if db.dialect.name() == "postgres" {
					exec("ANALYZE")
				}
				for _, r := range reads {
					b.Run(r.name+"/"+setting, func(b *testing.B) {
						for b.Loop() {
							if err := r.fn(); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/read")
					})
				}
			}
			run("new_village")
			lastDay := localDay(lastYear)
			awards(1000, old, lastDay, lastYear, county.ID)
			sales(1000, old, "completed", lastYear)
			activities(old, lastYear)
			appeals(1000, 1000+old-1, other)
			run("100k_old_rows")
		})
	}
}
