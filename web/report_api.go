package web

import (
	"net/http"

	"jifen"
)

// The reports API: the roll-ups the dashboard draws, for integrators
// (a county's big screen, a spreadsheet). Staff of an org (org admin,
// reviewer) read its subtree; any other org is not found. Months are
// "2026-01"; without them the twelve months up to this one.
func (s *Server) registerReportAPI() {
	api := func(path, summary string, resp any, h http.HandlerFunc) {
		s.handle(Route{Method: "GET", Path: "/api/v1/reports" + path, API: true, Summary: summary, Resp: resp}, h)
	}
	rep := s.svc.Reports

	api("/monthly", "Service minutes, records and points (awarded, deducted, spent) of an org's subtree by month and by child org: org_id (default: the first org the caller runs), from, to", jifen.MonthlyReport{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, _ int64, _ *none) (*jifen.MonthlyReport, error) {
			f, err := s.reportFilter(r)
			if err != nil {
				return nil, err
			}
			return rep.Monthly(r.Context(), f)
		}))
	api("/top-volunteers", "The volunteers of an org's subtree with the most verified minutes, all time: org_id, n (1 to 100, default 10)", list[jifen.TopVolunteer]{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, _ int64, _ *none) (list[jifen.TopVolunteer], error) {
			f, err := s.reportFilter(r)
			if err != nil {
				return list[jifen.TopVolunteer]{}, err
			}
			n, err := queryInt(r.URL.Query().Get("n"))
			if err != nil {
				return list[jifen.TopVolunteer]{}, badQuery("n")
			}
			// The service quietly answers ten for a count it will not
			// give; an integrator who asks for 500 should hear why not.
			if r.URL.Query().Has("n") && (n < 1 || n > 100) {
				return list[jifen.TopVolunteer]{}, jifen.Invalid("n", "人数应在 1 到 100 之间", "n is between 1 and 100")
			}
			if n == 0 {
				n = 10
			}
			out, err := rep.TopVolunteers(r.Context(), f.OrgID, int(n))
			return valueList(out), err
		}))
	api("/stars", "How many volunteers of an org's subtree hold each star level, 1 to 5: org_id", list[jifen.StarCount]{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, _ int64, _ *none) (list[jifen.StarCount], error) {
			f, err := s.reportFilter(r)
			if err != nil {
				return list[jifen.StarCount]{}, err
			}
			out, err := rep.Stars(r.Context(), f.OrgID)
			return valueList(out), err
		}))
	api("/stores", "The stores of an org's subtree with their sales, points and refunds over the months, and their stock now: org_id, from, to", list[jifen.StoreSales]{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, _ int64, _ *none) (list[jifen.StoreSales], error) {
			f, err := s.reportFilter(r)
			if err != nil {
				return list[jifen.StoreSales]{}, err
			}
			out, err := rep.StoreSales(r.Context(), f)
			return valueList(out), err
		}))
}

// valueList is listOf for a slice of values: the whole answer as one page.
func valueList[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, Total: len(items), Page: 1, PerPage: max(len(items), 1)}
}
