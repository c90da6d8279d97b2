package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"jifen"
	"jifen/demo"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// stillClock is the database clock of a journey: it stands where the test
// puts it, so the rotating code, the activity's window and the hours are
// the test's to decide.
type stillClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stillClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stillClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// startServiceApp is startApp with the database clock under the test's
// control.
func startServiceApp(t *testing.T, dsn string, now time.Time) (*app, *stillClock) {
	t.Helper()
	clock := &stillClock{t: now}
	return startApp(t, dsn, func(db *sqldb.DB) { db.Now = clock.Now }), clock
}

var activityPath = regexp.MustCompile(`^/activities/(\d+)\?done=`)

// TestServiceJourney: on a phone, the team leader of 新窑村志愿服务队
// creates an activity through the form and publishes it; a volunteer signs
// up; at the start the leader puts the check-in code on the screen and the
// volunteer checks in with it (the browser shares its position), and out
// later; after the end the leader verifies from the console; the
// volunteer sees the hours and downloads the certificate, a PDF.
func TestServiceJourney(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			began := time.Now()
			br := startBrowser(t)
			// The activity is two days ahead of real time: the screen's
			// refresh counts real seconds to the code's expiry.
			d := time.Now().In(jifen.Zone).AddDate(0, 0, 2)
			day := func(h, m int) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, jifen.Zone) }
			a, clock := startServiceApp(t, dsn(t), day(8, 0))
			journeyService(t, br, a, clock, day, name)
			t.Logf("%s: service journey in %s", name, time.Since(began).Round(time.Millisecond))
		})
	}
}

func journeyService(t *testing.T, br context.Context, a *app, clock *stillClock, day func(h, m int) time.Time, db string) {
	shots := t.TempDir()
	local := func(t time.Time) string { return t.Format("2006-01-02T15:04") }

	// The leader creates a draft through the form, then publishes it.
	leader := newTab(t, br, a)
	leader.signIn("13900000003", demo.Password)
	leader.open("/activities/new")
	if org := evalJS[string](leader, `document.querySelector("#org_id option:checked").textContent.trim()`); org != "新窑村志愿服务队" {
		t.Errorf("the form offers %q first, want the leader's team 新窑村志愿服务队", org)
	}
	leader.do("fill the activity form",
		chromedp.SendKeys(chromedp.ID("title"), "村口清扫"),
		chromedp.SetValue(chromedp.ID("starts_at"), local(day(9, 0))),
		chromedp.SetValue(chromedp.ID("ends_at"), local(day(11, 0))),
		chromedp.SetValue(chromedp.CSS(`input[name="capacity"]`), "5"),
		chromedp.SetValue(chromedp.CSS(`input[name="address"]`), "新窑村村口"),
	)
	if evalJS[bool](leader, `document.querySelector('input[name="publish"]').checked`) {
		leader.do("save as a draft", chromedp.Click(chromedp.CSS(`input[name="publish"]`)))
	}
	leader.noHorizontalScroll("activity form")
	leader.extraScreenshot("activity-form-" + db + ".png")
	leader.submit("#activity-submit")
	m := activityPath.FindStringSubmatch(leader.path())
	if m == nil {
		leader.fatalf("after saving the form the leader is at %s, want /activities/{id}?done=…", leader.path())
	}
	id := m[1]
	if st := leader.text("#activity-status"); st != "草稿" {
		t.Errorf("a saved draft shows status %q, want 草稿", st)
	}
	leader.submit("#publish-button")
	if st := leader.text("#activity-status"); st != "报名中" {
		t.Errorf("after publishing the status is %q, want 报名中", st)
	}
	leader.noHorizontalScroll("activity page (leader)")

	// The volunteer signs up on the activity page.
	vol := newTab(t, br, a)
	vol.signIn("13900000005", demo.Password)
	vol.open("/activities/" + id)
	vol.submit("#signup-button")
	if got := vol.text("#my-signup"); !strings.Contains(got, "报名") {
		t.Errorf("after signing up the page says %q", got)
	}
	vol.noHorizontalScroll("activity page (volunteer)")
	vol.extraScreenshot("activity-" + db + ".png")

	// At the start the leader opens the console from the activity page,
	// and the screen from the console.
	clock.Set(day(9, 0))
	leader.open("/activities/" + id)
	leader.submit("#console-link")
	leader.submit("#screen-link")
	code := leader.screenCode()
	leader.noHorizontalScroll("check-in screen")
	leader.extraScreenshot("screen-" + db + ".png")

	// The volunteer's phone shares its position (the page asks whenever
	// the browser can) and checks in with the code.
	vol.geolocation(a.URL, browser.PermissionSettingGranted, 35.3062, 107.0358)
	vol.open("/checkin/" + id + "?code=" + code)
	pos := run(vol, "read the phone's position", chromedp.Evaluate[[2]float64](`new Promise((ok, fail) =>
	  navigator.geolocation.getCurrentPosition(p => ok([p.coords.latitude, p.coords.longitude]), e => fail(e.message)))`, chromedp.EvalAwaitPromise))
	if pos != [2]float64{35.3062, 107.0358} {
		t.Errorf("the page reads the position %v, want the one set", pos)
	}
	if got := run(vol, "code field", chromedp.Value(chromedp.ID("code"))); got != code {
		t.Errorf("the check-in page holds code %q, want %q from the screen", got, code)
	}
	vol.submit("#checkin-button")
	if got := vol.text("#checkin-result"); !strings.Contains(got, "签到") {
		t.Errorf("after 签到 the page says %q", got)
	}
	vol.noHorizontalScroll("check-in page")
	vol.extraScreenshot("checkin-" + db + ".png")

	// An hour and a half later, with the code then on the screen, 签退;
	// this time the phone refuses its position, which an activity without
	// a radius does not need.
	clock.Set(day(10, 30))
	vol.geolocation(a.URL, browser.PermissionSettingDenied, 0, 0)
	leader.open("/activities/" + id + "/screen")
	code = leader.screenCode()
	vol.open("/checkin/" + id + "?code=" + code)
	vol.submit("#checkout-button")
	if got := vol.text("#checkin-result"); !strings.Contains(got, "签退") {
		t.Errorf("after 签退 the page says %q", got)
	}

	// After the end the leader verifies from the console.
	clock.Set(day(11, 30))
	leader.open("/activities/" + id + "/console")
	if got := leader.text("#attendance tbody"); !strings.Contains(got, "刘志强") {
		t.Errorf("the console's attendance %q lacks the volunteer", got)
	}
	leader.noHorizontalScroll("console")
	leader.screenshot(shots, "console-"+db+".png")
	leader.submit("#verify-button")
	if p := leader.path(); !strings.Contains(p, "done=verified") {
		t.Errorf("after verifying the console is at %s", p)
	}
	leader.extraScreenshot("console-verified-" + db + ".png")

	// The volunteer sees the 1.5 hours and downloads the certificate.
	vol.open("/me/service")
	if got := vol.text("#verified-hours"); !strings.HasPrefix(got, "1.5") {
		t.Errorf("/me/service shows %q, want 1.5 hours (09:00–10:30)", got)
	}
	vol.noHorizontalScroll("/me/service")
	vol.screenshot(shots, "service-"+db+".png")
	date := day(0, 0).Format("2006-01-02")
	vol.do("choose the activity's day",
		chromedp.SetValue(chromedp.CSS(`input[name="from"]`), date),
		chromedp.SetValue(chromedp.CSS(`input[name="to"]`), date),
	)
	pdf := vol.download("#certificate-button", "/certificates/")
	if pdf.MimeType != "application/pdf" || pdf.Status != http.StatusOK {
		t.Errorf("the certificate answered %d %s, want 200 application/pdf", pdf.Status, pdf.MimeType)
	}
	body := vol.fetch(pdf.URL)
	if !strings.HasPrefix(body, "%PDF-") {
		t.Errorf("the certificate at %s starts %q, want %%PDF-", pdf.URL, body[:min(len(body), 16)])
	}
}

// screenCode reads the code off the check-in screen and checks its QR
// image loaded.
func (tb *tab) screenCode() string {
	tb.t.Helper()
	code := tb.text("#checkin-code")
	if !regexp.MustCompile(`^[A-Z2-7]{10}$`).MatchString(code) {
		tb.fatalf("the screen shows code %q", code)
	}
	w := run(tb, "wait for the screen's QR image", chromedp.Poll[int](
		`(() => { const i = document.querySelector("img.qr"); return i && i.complete && i.naturalWidth; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if w <= 0 {
		tb.t.Errorf("the screen's QR image did not load")
	}
	return code
}

// geolocation grants or refuses the tab's origin the phone's position,
// and puts the phone at lat, lon.
func (tb *tab) geolocation(origin string, setting browser.PermissionSetting, lat, lon float64) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "geolocation"}, Setting: setting,
		Origin: origin, BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID,
	}); err != nil {
		tb.fatalf("set the geolocation permission: %v", err)
	}
	acc := 10.0
	if _, err := chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
		Latitude: &lat, Longitude: &lon, Accuracy: &acc,
	}); err != nil {
		tb.fatalf("set the position: %v", err)
	}
}

// download clicks the button and returns the response of the first
// request whose URL contains part: a PDF may be shown or saved, so no
// page load is waited for.
func (tb *tab) download(sel, part string) *network.Response {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	got := make(chan *network.Response, 1)
	if err := chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventResponseReceived); ok && strings.Contains(r.Response.URL, part) {
			select {
			case got <- r.Response:
			default:
			}
		}
	}); err != nil {
		tb.fatalf("listen: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		tb.fatalf("click %s: %v", sel, err)
	}
	select {
	case r := <-got:
		return r
	case <-ctx.Done():
		tb.fatalf("no response for %s after clicking %s", part, sel)
	}
	return nil
}

// fetch GETs a URL with the tab's cookies, as the browser would.
func (tb *tab) fetch(url string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		tb.fatalf("cookies: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		tb.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.t.Errorf("GET %s with the browser's cookies: %d", url, resp.StatusCode)
	}
	return string(b)
}
