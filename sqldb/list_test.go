package sqldb_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// A county's list is a page of a subtree that holds most of a table: on
// SQLite it walks the table in the list's order and skips the rest
// (pageFrom), a village's few rows are read by path and sorted. Either
// way a page holds the same rows in the same order as the whole list in
// one piece, and the pages together hold every row once.
func TestListPagesWalkInOrder(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		many := v.crowd(t, 45, v.villageA)
		few := v.crowd(t, 3, v.villageB)
		first := v.attended(t, v.input(v.villageA, v.now().Truncate(time.Minute).Add(time.Hour), time.Hour), many...)
		v.serve(t, v.villageB, 2*time.Hour, few...)
		v.serve(t, v.villageA, 30*time.Minute, many[:10]...)
		// Verified last, begun first: the list's order is not the ids'.
		must(v.acts.Verify(v.super.ctx, first.ID))(t)
		ctx := v.super.ctx

		for _, org := range []*jifen.Org{v.root, v.countyA, v.villageB} {
			var whole []int64
			if err := v.recs.EachRecord(ctx, jifen.RecordFilter{OrgID: org.ID}, func(r *jifen.ServiceRecord) error {
				whole = append(whole, r.ID)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			slices.Reverse(whole) // EachRecord is oldest first, the list newest first
			var paged []int64
			for page := 1; ; page++ {
				list, total := must2(v.recs.Records(ctx, jifen.RecordFilter{OrgID: org.ID, Page: page, PerPage: 7}))(t)
				if total != len(whole) {
					t.Fatalf("%s: total %d, want %d", org.Name, total, len(whole))
				}
				if len(list) == 0 {
					break
				}
				for _, r := range list {
					paged = append(paged, r.ID)
				}
			}
			if !slices.Equal(paged, whole) {
				t.Errorf("%s: records page by page %v, want %v", org.Name, paged, whole)
			}
		}

		// The root's people, and village A's: made together, after the
		// first few, their ids lie in a run of their own, which SQLite's
		// walk is held to (pageFrom's bound). Village B's few, made after
		// them, are read by path on SQLite; on PostgreSQL, held to their
		// ids (a subtree of less than a tenth of the table, countList).
		for _, org := range []*jifen.Org{v.root, v.villageA, v.villageB} {
			whole, total := must2(v.people.People(ctx, jifen.PersonFilter{OrgID: org.ID, PerPage: 100}))(t)
			var people []int64
			for page := 1; ; page++ {
				list, n := must2(v.people.People(ctx, jifen.PersonFilter{OrgID: org.ID, Page: page, PerPage: 7}))(t)
				if n != total {
					t.Fatalf("%s: people page %d counts %d, want %d", org.Name, page, n, total)
				}
				if len(list) == 0 {
					break
				}
				for _, p := range list {
					people = append(people, p.ID)
				}
			}
			ids := make([]int64, len(whole))
			for i, p := range whole {
				ids[i] = p.ID
			}
			// The count's span: the run of ids the page may be held to,
			// on PostgreSQL for a subtree of less than a tenth of the
			// table only (village B's).
			n, lo, hi, err := db.PeopleSpan(ctx, org.Path)
			if err != nil {
				t.Fatal(err)
			}
			wantLo, wantHi := slices.Min(ids), slices.Max(ids)
			if db.Dialect() != "sqlite" && org.ID != v.villageB.ID {
				wantLo, wantHi = 0, 0
			}
			if int(n) != total || lo != wantLo || hi != wantHi {
				t.Errorf("%s: the count's span %d, %d–%d; want %d, %d–%d", org.Name, n, lo, hi, total, wantLo, wantHi)
			}
			if len(ids) != total || !slices.Equal(people, ids) || !slices.IsSortedFunc(people, func(a, b int64) int { return int(b - a) }) {
				t.Errorf("%s: people page by page %v, in one piece %v of %d; want each once, newest first", org.Name, people, ids, total)
			}
		}

		// What the lists above ran: the walk for a subtree holding most
		// of the table or of a run of its ids, the path index for one
		// holding a few rows spread over it.
		if db.Dialect() == "sqlite" {
			walk, _ := db.PageFrom(ctx, "service_records", "r", "service_records_started", 43, 1, 43, 0, 7)
			sorted, _ := db.PageFrom(ctx, "service_records", "r", "service_records_started", 3, 1, 43, 0, 7)
			if !strings.Contains(walk, "INDEXED BY service_records_started") || sorted != "service_records r" {
				t.Errorf("a page of 43 records of 43 from %q, of 3 from %q; want the walk, then the path index", walk, sorted)
			}
			// Ten people of a million, made together long ago: the walk
			// from the newest would read the million; held to their run
			// of ids it reads seven.
			from, bound := db.PageFrom(ctx, "people", "p", "", 10, 101, 110, 0, 7)
			if from != "people p NOT INDEXED" || bound != " AND p.id BETWEEN 101 AND 110" {
				t.Errorf("ten people with ids 101 to 110: FROM %q%q, want the walk held to their ids", from, bound)
			}
			if from, bound := db.PageFrom(ctx, "people", "p", "", 10, 101, 1_000_000, 0, 7); from != "people p" || bound != "" {
				t.Errorf("ten people spread over a million ids: FROM %q%q, want the path index", from, bound)
			}
		} else {
			// PostgreSQL plans the page itself, held to the ids when
			// countList found them (a subtree of less than a tenth of the
			// table: village B's few people above).
			if from, bound := db.PageFrom(ctx, "people", "p", "", 10, 101, 110, 0, 7); from != "people p" || bound != " AND p.id BETWEEN 101 AND 110" {
				t.Errorf("ten people with ids 101 to 110: FROM %q%q, want the table held to their ids", from, bound)
			}
			if from, bound := db.PageFrom(ctx, "people", "p", "", 30, 0, 0, 0, 7); from != "people p" || bound != "" {
				t.Errorf("a list whose ids were not taken: FROM %q%q, want the table as it is", from, bound)
			}
		}
	})
}
