package sqldb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"jifen"
)

// BenchmarkReports reads the dashboard's four reports for a whole county
// and for one village, at the size of county a 10-million-record history
// leaves in the roll-ups: JIFEN_BENCH_REPORT_PEOPLE people (default 20,000
// so CI stays quick; BENCHMARKS.md runs 1,000,000) in villages of 800,
// twelve villages a town, 12 months × 8 stripes of report rows per
// village, 70 % of the people volunteers with minutes, a store per village.
// Reports never read the records themselves, so this is their whole cost.
func BenchmarkReports(b *testing.B) {
	people := 20_000
	if v, err := strconv.Atoi(os.Getenv("JIFEN_BENCH_REPORT_PEOPLE")); err == nil && v > 0 {
		people = v
	}
	for name, dsn := range benchDSNs(b) {
		b.Run(name, func(b *testing.B) {
			db := benchDB(b, dsn)
			sys := jifen.WithActor(context.Background(), jifen.SystemActor())
			orgs := NewOrgService(db)
			fatal := func(err error) {
				b.Helper()
				if err != nil {
					b.Fatal(err)
				}
			}
			start := time.Now()
			city, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: "市", Kind: jifen.OrgCity})
			fatal(err)
			county, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: "县", Kind: jifen.OrgCounty, ParentID: &city.ID})
			fatal(err)
			villages := max(1, people/800)
			var vs []*jifen.Org
			var town *jifen.Org
			for i := range villages {
				if i%12 == 0 {
					town, err = orgs.CreateOrg(sys, jifen.OrgInput{Name: fmt.Sprintf("镇%03d", i/12), Kind: jifen.OrgTown, ParentID: &county.ID})
					fatal(err)
				}
				v, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: fmt.Sprintf("村%04d", i), Kind: jifen.OrgVillage, ParentID: &town.ID})
				fatal(err)
				vs = append(vs, v)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			now := time.Now().UTC()
			// Rows go in with multi-row inserts, 400 a statement, in one
			// transaction per table.
			bulk := func(table, cols string, n int, row func(i int) []any) {
				b.Helper()
				fatal(db.retryTx(sys, func(tx *Tx) error {
					width := strings.Count(cols, ",") + 1
					one := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
					for lo := 0; lo < n; lo += 400 {
						hi := min(n, lo+400)
						args := make([]any, 0, (hi-lo)*width)
						for i := lo; i < hi; i++ {
							args = append(args, row(i)...)
						}
						q := "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", hi-lo), ", ")
						if _, err := tx.exec(sys, q, args...); err != nil {
							return err
						}
					}
					return nil
				}))
			}
			bulk("people", "name, gender, political_status, home_org_id, home_org_path, volunteer_no, status, created_at, updated_at", people, func(i int) []any {
				v := vs[i%len(vs)]
				return []any{fmt.Sprintf("村民%07d", i), "male", "masses", v.ID, v.Path, fmt.Sprintf("B%011d", i), "active", now, now}
			})
			var firstPerson int64
			fatal(db.queryRow(sys, "SELECT MIN(id) FROM people WHERE volunteer_no LIKE 'B%'").Scan(&firstPerson))
			volunteers := people * 7 / 10
			bulk("report_people", "person_id, org_id, org_path, minutes", volunteers, func(i int) []any {
				v := vs[i%len(vs)]
				// Most have a few dozen hours; a long tail has hundreds.
				return []any{firstPerson + int64(i), v.ID, v.Path, int64(rng.ExpFloat64() * 60 * 40)}
			})
			months := make([]string, 12)
			for m := range months {
				months[m] = time.Date(now.Year(), now.Month()-time.Month(m), 1, 0, 0, 0, 0, jifen.Zone).Format("2006-01")
			}
			bulk("report_months", "org_id, org_path, month, stripe, minutes, records, awarded, deducted, redeemed", len(vs)*12*int(stripes(db.dialect)), func(i int) []any {
				n := int(stripes(db.dialect))
				v := vs[i/(12*n)]
				return []any{v.ID, v.Path, months[i/n%12], i % n, rng.Int64N(60_000), rng.Int64N(800), rng.Int64N(30_000), rng.Int64N(500), rng.Int64N(20_000)}
			})
			bulk("report_stars", "org_id, org_path, star, people", len(vs)*5, func(i int) []any {
				v := vs[i/5]
				return []any{v.ID, v.Path, i%5 + 1, rng.Int64N(50)}
			})
			bulk("stores", "org_id, org_path, name, kind, serves_org_id, serves_path, created_at", len(vs), func(i int) []any {
				return []any{vs[i].ID, vs[i].Path, vs[i].Name + "积分超市", "supermarket", vs[i].ID, vs[i].Path, now}
			})
			b.Logf("%d people, %d villages loaded in %s", people, len(vs), time.Since(start).Round(time.Millisecond))

			reports := NewReportService(db)
			whole := jifen.ReportFilter{OrgID: county.ID}
			village := jifen.ReportFilter{OrgID: vs[len(vs)/2].ID}
			for _, c := range []struct {
				name string
				fn   func() error
			}{
				{"monthly_county", func() error { _, err := reports.Monthly(sys, whole); return err }},
				{"monthly_village", func() error { _, err := reports.Monthly(sys, village); return err }},
				{"top_volunteers_county", func() error { _, err := reports.TopVolunteers(sys, county.ID, 10); return err }},
				{"top_volunteers_village", func() error { _, err := reports.TopVolunteers(sys, village.OrgID, 10); return err }},
				{"stars_county", func() error { _, err := reports.Stars(sys, county.ID); return err }},
				{"stores_county", func() error { _, err := reports.StoreSales(sys, whole); return err }},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						fatal(c.fn())
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/report")
				})
			}
		})
	}
}
