package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"jifen"
	"jifen/demo"
	"jifen/sqldb/sqldbtest"
)

const (
	countyAdminPhone = "13900000001" // 李秀英, org admin of 崇信县
	reportDesktopW   = 1280
	reportDesktopH   = 900
)

// TestReportJourney walks the reports dashboard in Chromium over the demo
// county with its history, once per configured database: the county admin
// opens it from the menu on a desktop screen, the charts are drawn (an
// ECharts instance per box, and the bars' own colour on the canvas), the
// tables hold the service's numbers; a click on a child org's bar drills
// into its dashboard and the breadcrumb leads back; at 360 px the page
// never scrolls sideways while charts follow the width and tables scroll
// in their box; the English switch relabels the charts. No script error
// and no CSP refusal happens on the way.
func TestReportJourney(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			br := startBrowser(t)
			sa := startStoreApp(t, dsn(t))
			t.Logf("%s: browser and demo county ready in %s", name, time.Since(start).Round(time.Millisecond))
			tb := newTabs(t, br, sa.app, 1)[0]
			errs := watchErrors(tb)
			tb.resize(reportDesktopW, reportDesktopH)
			tb.signIn(countyAdminPhone, demo.Password)
			journeyReports(t, tb, sa, name)
			if e := errs.list(); len(e) > 0 {
				t.Errorf("the browser reported %d error(s):\n%s", len(e), strings.Join(e, "\n"))
			}
			t.Logf("%s: the reports journey in %s", name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// pageErrors collects uncaught exceptions and the browser's own error
// log (a CSP refusal lands there) of a tab.
type pageErrors struct {
	mu   sync.Mutex
	errs []string
}

func (p *pageErrors) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, s)
}

func (p *pageErrors) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

func watchErrors(tb *tab) *pageErrors {
	tb.t.Helper()
	p := &pageErrors{}
	err := chromedp.Listen(tb.ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			p.add(fmt.Sprintf("exception: %s at %s:%d", msg, d.URL, d.LineNumber))
		case *cdplog.EventEntryAdded:
			// Chromium asks every site for a favicon; jifen has none.
			if e.Entry.Level == cdplog.EntryLevelError && !strings.HasSuffix(e.Entry.URL, "/favicon.ico") {
				where := ""
				if st := e.Entry.StackTrace; st != nil {
					for _, f := range st.CallFrames {
						where += fmt.Sprintf(" <- %s@%d:%d", f.FunctionName, f.LineNumber, f.ColumnNumber)
					}
				}
				p.add(fmt.Sprintf("%s: %.60s (%s)%s", e.Entry.Source, e.Entry.Text, e.Entry.URL, where))
			}
		}
	})
	if err != nil {
		tb.t.Fatalf("listen to the tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		tb.t.Fatalf("enable the browser log: %v", err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		tb.t.Fatalf("enable runtime events: %v", err)
	}
	return p
}

// chartState is what a chart box shows: whether ECharts holds an instance
// for it, the size it drew at, the pixels of the given colour on its
// canvas and what its first series is called.
type chartState struct {
	Instance bool      `json:"instance"`
	Width    int       `json:"width"`
	Box      int       `json:"box"`
	Inked    int       `json:"inked"`
	Colored  int       `json:"colored"`
	Series   string    `json:"series"`
	Data     []float64 `json:"data"`
}

// chartJS reads a chart box; colour is the series' colour, r,g,b.
func chartJS(id string, r, g, b int) string {
	return fmt.Sprintf(`(() => {
  const el = document.getElementById(%q);
  const c = el && window.echarts && echarts.getInstanceByDom(el);
  const out = {instance: !!c, width: 0, box: el ? el.clientWidth : 0, inked: 0, colored: 0, series: "", data: []};
  if (!c) return out;
  out.width = c.getWidth();
  const s = c.getOption().series[0];
  out.series = s.name;
  out.data = s.data.map(Number);
  const cv = el.querySelector("canvas");
  const px = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] > 0) out.inked++;
    if (Math.abs(px[i] - %d) < 12 && Math.abs(px[i + 1] - %d) < 12 && Math.abs(px[i + 2] - %d) < 12 && px[i + 3] > 200) out.colored++;
  }
  return out;
})()`, id, r, g, b)
}

// waitChart waits until the chart is drawn with some of its colour and
// has stopped changing: the bars grow in over a short animation.
func waitChart(tb *tab, id string, r, g, b int) chartState {
	tb.t.Helper()
	var last chartState
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		now := evalJS[chartState](tb, chartJS(id, r, g, b))
		if now.Instance && now.Colored > 50 && now.Colored == last.Colored && now.Inked == last.Inked && now.Width == last.Width {
			return now
		}
		last = now
		time.Sleep(200 * time.Millisecond)
	}
	tb.fatalf("the chart %s was not drawn within 10s: %+v", id, last)
	return last
}

// tableText is the text of a table's body cells, row by row.
func tableText(tb *tab, id string) [][]string {
	tb.t.Helper()
	return evalJS[[][]string](tb, fmt.Sprintf(`[...document.querySelectorAll("#%s tbody tr")].map(r => [...r.cells].map(c => c.innerText.replace(/\s+/g, " ").trim()))`, id))
}

func journeyReports(t *testing.T, tb *tab, sa *storeApp, db string) {
	county, err := sa.svc.Orgs.Org(sysCtx(), orgID(t, sa, "崇信县"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := sa.svc.Reports.Monthly(sysCtx(), jifen.ReportFilter{OrgID: county.ID})
	if err != nil {
		t.Fatal(err)
	}
	if want.Total.Minutes == 0 || want.Total.Awarded == 0 || want.Total.Redeemed == 0 {
		t.Errorf("the demo county shows nothing to chart: %+v", want.Total)
	}
	active := 0
	for _, m := range want.Months {
		if m.Minutes > 0 || m.Awarded > 0 {
			active++
		}
	}
	t.Logf("the demo's dashboard for 崇信县 (%s to %s): %d of %d months with data; total %+v", want.From, want.To, active, len(want.Months), want.Total)

	// From the menu, on a desktop screen.
	tb.open("/")
	tb.submit(`nav.menu a[href="/reports"]`)
	if p := tb.path(); p != "/reports" {
		tb.fatalf("the menu's 统计报表 led to %s", p)
	}
	if h := tb.text("h1"); h != "崇信县 · 统计报表" {
		tb.fatalf("the dashboard's heading is %q", h)
	}
	months := waitChart(tb, "chart-months", 0xb3, 0x26, 0x1e)
	if len(months.Data) != len(want.Months) || months.Width < 900 || months.Width > months.Box+1 {
		t.Errorf("the month chart: %d months drawn %d px wide in a %d px box; want %d months across a desktop box", len(months.Data), months.Width, months.Box, len(want.Months))
	}
	for i, m := range want.Months {
		if i < len(months.Data) && fmt.Sprintf("%.1f", months.Data[i]) != jifen.HoursText(int(m.Minutes)) {
			t.Errorf("the month chart's %s is %.1f hours, the service says %s", m.Month, months.Data[i], jifen.HoursText(int(m.Minutes)))
		}
	}
	if months.Series != "服务时长（小时）" {
		t.Errorf("the month chart's bars are called %q", months.Series)
	}
	kids := waitChart(tb, "chart-children", 0xb3, 0x26, 0x1e)
	stars := evalJS[chartState](tb, chartJS("chart-stars", 0xd4, 0xa0, 0x17))
	if !stars.Instance || stars.Inked < 500 {
		t.Errorf("the star chart is not drawn: %+v", stars)
	}
	t.Logf("canvas pixels: months %d inked, %d in the bars' red; children %d, %d; stars %d", months.Inked, months.Colored, kids.Inked, kids.Colored, stars.Inked)

	// The tables carry the service's numbers.
	rows := tableText(tb, "table-months")
	if len(rows) != len(want.Months) {
		t.Fatalf("the month table has %d rows, want %d", len(rows), len(want.Months))
	}
	for i, m := range want.Months {
		w := []string{m.Month, jifen.HoursText(int(m.Minutes)), fmt.Sprint(m.Records), fmt.Sprint(m.Awarded), fmt.Sprint(m.Deducted), fmt.Sprint(m.Redeemed)}
		if strings.Join(rows[i], "|") != strings.Join(w, "|") {
			t.Errorf("month row %d: %q, want %q", i+1, rows[i], w)
		}
	}
	if got := tb.text("#total-hours"); got != jifen.HoursText(int(want.Total.Minutes)) {
		t.Errorf("the total hours read %s, the service says %s", got, jifen.HoursText(int(want.Total.Minutes)))
	}
	if buf := tb.shot("reports-desktop-"+db+".png", reportDesktopW, true); keepScreenshots() && db == "sqlite" {
		writeShot(t, docs, "screenshot-reports.png", buf)
	}

	// A click on a child org's bar opens its dashboard over the same months.
	var child jifen.OrgTally
	for _, c := range want.Children {
		if c.Minutes > 0 {
			child = c
			break
		}
	}
	if child.OrgID == 0 {
		t.Fatalf("no child of 崇信县 has hours to click: %+v", want.Children)
	}
	x, y := barCentre(tb, "chart-children", child.Name)
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	resp, err := chromedp.RunResponse(ctx, chromedp.MouseClickXY(x, y))
	cancel()
	if err != nil {
		tb.fatalf("click %s's bar at %.0f,%.0f: %v", child.Name, x, y, err)
	}
	tb.checkResponse("the drill-down", resp)
	wantPath := "/reports?org_id=" + fmt.Sprint(child.OrgID) + "&from=" + want.From + "&to=" + want.To
	if p := tb.path(); p != wantPath {
		tb.fatalf("the bar of %s led to %s, want %s", child.Name, p, wantPath)
	}
	if h := tb.text("h1"); h != child.Name+" · 统计报表" {
		tb.fatalf("the drill-down's heading is %q", h)
	}
	if got := tb.text("#total-hours"); got != jifen.HoursText(int(child.Minutes)) {
		t.Errorf("%s's dashboard shows %s hours; its bar on the county's said %s", child.Name, got, jifen.HoursText(int(child.Minutes)))
	}
	waitChart(tb, "chart-months", 0xb3, 0x26, 0x1e)
	tb.submit(`#report-crumbs a`)
	if h := tb.text("h1"); h != "崇信县 · 统计报表" {
		tb.fatalf("the breadcrumb led to %q, want back to 崇信县", h)
	}

	// On a phone: the charts shrink with the window, the page does not
	// scroll sideways, the wide tables scroll inside their box.
	tb.resize(phoneWidth, phoneHeight)
	phone := waitChart(tb, "chart-months", 0xb3, 0x26, 0x1e)
	if phone.Width > phone.Box+1 || phone.Width > phoneWidth {
		t.Errorf("after turning into a phone the month chart is %d px wide in a %d px box", phone.Width, phone.Box)
	}
	tb.noHorizontalScroll("the dashboard resized to a phone")
	tb.open("/reports")
	phone = waitChart(tb, "chart-months", 0xb3, 0x26, 0x1e)
	if phone.Width > phone.Box+1 || phone.Width < 250 {
		t.Errorf("on a phone the month chart is %d px wide in a %d px box", phone.Width, phone.Box)
	}
	tb.noHorizontalScroll("the dashboard on a phone")
	inBox := evalJS[bool](tb, `(() => { const s = document.querySelector("#table-months").closest(".scroll");
	  return s.scrollWidth > s.clientWidth && getComputedStyle(s).overflowX === "auto"; })()`)
	if !inBox {
		t.Errorf("the month table neither needs nor has a scrolling box of its own at %d px", phoneWidth)
	}
	if big := evalJS[float64](tb, `parseFloat(getComputedStyle(document.querySelector("#total-hours")).fontSize)`); big < 24 {
		t.Errorf("the totals are %.0f px on a phone; want big type", big)
	}
	tb.extraScreenshot("reports-phone-" + db + ".png")

	// English.
	tb.submit(`nav.lang a[href^="/lang/en"]`)
	if p := tb.path(); p != "/reports" {
		t.Errorf("the language switch went to %s, not back to the dashboard", p)
	}
	if h := tb.text("h1"); h != "崇信县 · Reports" {
		tb.fatalf("in English the heading is %q", h)
	}
	en := waitChart(tb, "chart-months", 0xb3, 0x26, 0x1e)
	if en.Series != "Service hours" {
		t.Errorf("in English the month chart's bars are called %q", en.Series)
	}
	if label := evalJS[string](tb, `echarts.getInstanceByDom(document.getElementById("chart-months")).getOption().xAxis[0].axisLabel.formatter("2026-01", 3)`); label != "Jan\n2026" {
		t.Errorf("in English a January is labelled %q", label)
	}
	if th := tableText(tb, "table-stars"); len(th) != 5 || !strings.HasSuffix(th[0][0], "1-star") {
		t.Errorf("the star table in English: %q", th)
	}
	tb.noHorizontalScroll("the English dashboard on a phone")

	// The home page stays light: ECharts is the dashboard's alone.
	tb.open("/")
	if evalJS[bool](tb, `!!window.echarts || [...document.scripts].some(s => s.src.includes("echarts"))`) {
		t.Errorf("the home page loads ECharts")
	}
}

// barCentre is where on the page a child org's hours bar is, to click it
// as a person would.
func barCentre(tb *tab, id, name string) (float64, float64) {
	tb.t.Helper()
	p := evalJS[[]float64](tb, fmt.Sprintf(`(() => {
  const el = document.getElementById(%q), c = echarts.getInstanceByDom(el);
  el.scrollIntoView({block: "center"});
  const i = c.getOption().yAxis[0].data.indexOf(%q);
  const rect = c.getModel().getSeriesByIndex(0).getData().getItemLayout(i);
  const box = el.getBoundingClientRect();
  return [box.left + rect.x + rect.width / 2, box.top + rect.y + rect.height / 2, rect.width];
})()`, id, name))
	if len(p) != 3 || p[2] < 4 {
		tb.fatalf("the bar of %s in %s is not there to click: %v", name, id, p)
	}
	return p[0], p[1]
}

// orgID finds a demo org by name.
func orgID(t *testing.T, sa *storeApp, name string) int64 {
	t.Helper()
	orgs, err := sa.svc.Orgs.SignupOrgs(sysCtx())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		if o.Name == name {
			return o.ID
		}
	}
	t.Fatalf("no org named %s", name)
	return 0
}
