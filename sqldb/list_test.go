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
		many := v.crowd(t, 30, v.villageA)
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

		var people []int64
		for page := 1; ; page++ {
			list, total := must2(v.people.People(ctx, jifen.PersonFilter{OrgID: v.root.ID, Page: page, PerPage: 7}))(t)
			if len(list) == 0 {
				if len(people) != total {
					t.Fatalf("people: %d listed, total %d", len(people), total)
				}
				break
			}
			for _, p := range list {
				people = append(people, p.ID)
			}
		}
		if !slices.IsSortedFunc(people, func(a, b int64) int { return int(b - a) }) || len(slices.Compact(slices.Clone(people))) != len(people) {
			t.Errorf("people page by page: %v, want each once, newest first", people)
		}

		// What the lists above ran: the walk for a subtree holding most
		// of the table, the path index for one holding a few of its rows.
		if db.Dialect() == "sqlite" {
			walk := db.PageFrom(ctx, "service_records", "r", "service_records_started", 43, 0, 7)
			sorted := db.PageFrom(ctx, "service_records", "r", "service_records_started", 3, 0, 7)
			if !strings.Contains(walk, "INDEXED BY service_records_started") || sorted != "service_records r" {
				t.Errorf("a page of 43 records of 43 from %q, of 3 from %q; want the walk, then the path index", walk, sorted)
			}
		}
	})
}
