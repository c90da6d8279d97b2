package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"jifen"
)

// The reports dashboard (统计报表) for org admins and reviewers: a
// subtree's months of service hours and points, its child orgs, star
// volunteers, the top ten and the stores. Every chart stands on a table of
// the same numbers, which is what prints and what a phone without script
// shows; static/reports.js draws the charts with the vendored ECharts,
// loaded on this page alone (it is a megabyte).

func init() {
	funcs["hours64"] = func(minutes int64) string { return jifen.HoursText(int(minutes)) }
	funcs["reportHref"] = reportHref
	funcs["starName"] = starName
}

func (s *Server) registerReportPages() {
	s.handle(Route{Method: "GET", Path: "/reports"}, s.reportsPage)
}

// reportFilter reads org_id, from and to. Without org_id the report is of
// the first org the caller runs, so the menu link needs no parameter.
func (s *Server) reportFilter(r *http.Request) (jifen.ReportFilter, error) {
	q := r.URL.Query()
	f := jifen.ReportFilter{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	id, err := queryInt(q.Get("org_id"))
	if err != nil {
		return f, badQuery("org_id")
	}
	if id == 0 {
		orgs, err := s.pointsOrgs(r)
		if err != nil {
			return f, err
		}
		if len(orgs) == 0 {
			return f, jifen.NotFound("org")
		}
		id = orgs[0].ID
	}
	f.OrgID = id
	return f, nil
}

// reportChart is what static/reports.js draws, with its labels in the
// page's language; the template writes it into a JSON data block, since
// the CSP runs no inline script.
type reportChart struct {
	Labels   map[string]string `json:"labels"`
	Months   []string          `json:"months"`
	Hours    []float64         `json:"hours"`
	Awarded  []int64           `json:"awarded"`
	Deducted []int64           `json:"deducted"`
	Redeemed []int64           `json:"redeemed"`
	Children []reportChartOrg  `json:"children"`
	Stars    []reportChartStar `json:"stars"`
}

type reportChartOrg struct {
	Name    string  `json:"name"`
	Href    string  `json:"href"`
	Hours   float64 `json:"hours"`
	Awarded int64   `json:"awarded"`
}

type reportChartStar struct {
	Label  string `json:"label"`
	People int64  `json:"people"`
}

// chartHours is minutes as hours to a tenth, rounded as HoursText rounds,
// so a chart's tooltip and the table agree.
func chartHours(minutes int64) float64 { return math.Round(float64(minutes)/6) / 10 }

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	ctx := r.Context()
	rep := s.svc.Reports
	f, err := s.reportFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := rep.Monthly(ctx, f)
	// Months typed by hand into the address are shown as an error above
	// the default range, rather than as an error page.
	var bad *jifen.Error
	if jifen.ErrorKind(err) == jifen.KindInvalid {
		bad = asError(err)
		f.From, f.To = "", ""
		m, err = rep.Monthly(ctx, f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.From, f.To = m.From, m.To
	top, err := rep.TopVolunteers(ctx, f.OrgID, 10)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stars, err := rep.Stars(ctx, f.OrgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stores, err := rep.StoreSales(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orgs, err := s.pointsOrgs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := langOf(r)
	data := map[string]any{"R": m, "Top": top, "Stars": stars, "Stores": stores, "Orgs": orgs,
		"Crumbs": reportCrumbs(m.Org, orgs), "Chart": reportChartOf(lang, m, stars)}
	// The org's own rows (awards to people living at the org itself, a
	// county's own activities) are in the total but in no child.
	own := m.Total
	for _, c := range m.Children {
		own.Add(jifen.Tally{Minutes: -c.Minutes, Records: -c.Records, Awarded: -c.Awarded, Deducted: -c.Deducted, Redeemed: -c.Redeemed})
	}
	if own != (jifen.Tally{}) {
		data["Own"] = own
	}
	code := http.StatusOK
	if bad != nil {
		code = status(bad.Kind)
		data["Error"], data["Field"] = bad.Message(lang), bad.Field
	}
	s.render(w, r, code, "reports", data)
}

// reportCrumbs are the org's ancestors the caller also runs, from the
// top: the way back up from a drill-down, never past the caller's scope.
func reportCrumbs(o *jifen.Org, mine []*jifen.Org) []*jifen.Org {
	byID := map[int64]*jifen.Org{}
	for _, m := range mine {
		byID[m.ID] = m
	}
	var out []*jifen.Org
	for _, id := range jifen.PathIDs(o.Path) {
		if a := byID[id]; a != nil && id != o.ID {
			out = append(out, a)
		}
	}
	return out
}

func reportChartOf(lang string, m *jifen.MonthlyReport, stars []jifen.StarCount) reportChart {
	c := reportChart{Labels: map[string]string{}}
	for _, k := range []string{"hours", "awarded", "deducted", "redeemed", "people", "axis_hours", "axis_points"} {
		c.Labels[k] = tr(lang, "report."+k)
	}
	for _, mt := range m.Months {
		c.Months = append(c.Months, mt.Month)
		c.Hours = append(c.Hours, chartHours(mt.Minutes))
		c.Awarded = append(c.Awarded, mt.Awarded)
		c.Deducted = append(c.Deducted, mt.Deducted)
		c.Redeemed = append(c.Redeemed, mt.Redeemed)
	}
	for _, ch := range m.Children {
		c.Children = append(c.Children, reportChartOrg{Name: ch.Name, Href: reportHref(ch.OrgID, m.From, m.To),
			Hours: chartHours(ch.Minutes), Awarded: ch.Awarded})
	}
	for _, st := range stars {
		c.Stars = append(c.Stars, reportChartStar{Label: starName(lang, st.Star), People: st.People})
	}
	return c
}

// starName is a star level as people say it: 三星级, 3-star.
func starName(lang string, n int) string {
	num := strconv.Itoa(n)
	if lang != "en" && n >= 1 && n <= 5 {
		num = []string{"一", "二", "三", "四", "五"}[n-1]
	}
	return fmt.Sprintf(tr(lang, "report.star"), num)
}

// reportHref is the dashboard of an org over the same months.
func reportHref(org int64, from, to string) string {
	return "/reports?org_id=" + itoa(org) + "&from=" + from + "&to=" + to
}
