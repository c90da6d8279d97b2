package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jifen"
	"jifen/demo"
	"jifen/sqldb/sqldbtest"
)

var volunteerNo = regexp.MustCompile(`^\d{12}$`)

// TestJourneys walks a resident and every demo role through the real pages
// in Chromium on a phone, once per configured database (SQLite always,
// PostgreSQL with JIFEN_TEST_POSTGRES). One browser serves each database;
// each journey gets tabs of its own with their own cookies.
func TestJourneys(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			browser := startBrowser(t)
			a := startApp(t, dsn(t))
			t.Logf("%s: browser and demo county ready in %s", name, time.Since(start).Round(time.Millisecond))
			t.Run("signup", func(t *testing.T) { journeySignup(t, newTab(t, browser, a), name) })
			t.Run("roles", func(t *testing.T) { journeyRoles(t, browser, a) })
			t.Run("language", func(t *testing.T) { journeyLanguage(t, newTab(t, browser, a)) })
			t.Run("wrong_password", func(t *testing.T) { journeyWrongPassword(t, newTab(t, browser, a)) })
			t.Logf("%s: all journeys in %s", name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// journeySignup: a new resident signs up through /signup, gets a volunteer
// number and QR code on /me, signs out, signs in again with phone and
// password and sees the same number on the home page.
func journeySignup(t *testing.T, tb *tab, db string) {
	const (
		name     = "张小梅"
		phone    = "13812345678"
		password = "xiaomei-2026"
	)
	tb.open("/")
	if got := evalJS[string](tb, `document.documentElement.lang`); got != "zh-CN" {
		t.Fatalf("a Chinese phone gets lang=%q, want zh-CN", got)
	}
	// The welcome page leads to sign-up.
	tb.submit(`main a.button[href="/signup"]`)
	if p := tb.path(); p != "/signup" {
		tb.fatalf("the sign-up button led to %s", p)
	}
	tb.noHorizontalScroll("signup form")
	org := evalJS[string](tb, `(() => {
	  const o = [...document.querySelectorAll("#org_id option")].find(o => o.textContent.trim() === "新窑村");
	  return o ? o.value : "";
	})()`)
	if org == "" {
		tb.fatalf("新窑村 is not offered in the org list")
	}
	tb.do("fill the sign-up form",
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.Click(chromedp.CSS(`input[name="gender"][value="female"]`)),
		chromedp.SetValue(chromedp.ID("birth_date"), "1956-04-18"),
		chromedp.SendKeys(chromedp.ID("phone"), phone),
		chromedp.SetValue(chromedp.ID("org_id"), org),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password2"), password),
		chromedp.Click(chromedp.ID("consent")),
	)
	tb.extraScreenshot("signup-" + db + ".png")
	resp := tb.submit("#signup-submit")
	if p := tb.path(); !strings.HasPrefix(p, "/me") {
		tb.fatalf("after sign-up the resident is at %s (HTTP %d), want /me", p, resp.Status)
	}
	if h := tb.text("main h1"); h != name {
		t.Errorf("/me heading = %q, want %q", h, name)
	}
	if f := tb.text("main .flash"); !strings.Contains(f, "注册成功") {
		t.Errorf("welcome flash = %q, want it to say 注册成功", f)
	}
	no := tb.text("#volunteer-no")
	if !volunteerNo.MatchString(no) {
		t.Errorf("volunteer number on /me = %q, want 12 digits", no)
	}
	// The QR code is an image from /me/qr.png; wait for it to load.
	w := run(tb, "wait for the QR image", chromedp.Poll[int](
		`(() => { const i = document.querySelector("img.qr"); return i && i.complete && i.naturalWidth; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if w <= 0 {
		t.Errorf("QR image naturalWidth = %d, want > 0", w)
	}
	qr := evalJS[[2]int](tb, `(() => { const i = document.querySelector("img.qr"); return [i.naturalWidth, Math.round(i.getBoundingClientRect().width)]; })()`)
	if qr[0] <= 0 {
		t.Errorf("QR image did not load: naturalWidth = %d", qr[0])
	}
	t.Logf("QR image: %d px natural, shown %d px wide", qr[0], qr[1])
	if facts := tb.text("dl.facts"); !strings.Contains(facts, "新窑村") || !strings.Contains(facts, "1956-04-18") || !strings.Contains(facts, "女") {
		t.Errorf("/me facts = %q, want 新窑村, 女 and 1956-04-18", facts)
	}
	tb.noHorizontalScroll("/me after sign-up")
	img := tb.screenshot(t.TempDir(), "me-"+db+".png")
	if img.Bounds().Dy() < phoneHeight/2 {
		t.Errorf("/me screenshot is only %d px tall", img.Bounds().Dy())
	}

	// Sign out from the menu (behind 更多 on a phone): back on the welcome page, signed out.
	tb.openMenu()
	tb.submit(`nav.menu form[action="/signout"] button`)
	if p := tb.path(); p != "/" {
		t.Errorf("after sign-out the page is %s, want /", p)
	}
	if tb.has("#volunteer-no") || tb.has("nav.menu") {
		tb.fatalf("still looks signed in after sign-out")
	}
	// /me now asks to sign in first.
	tb.open("/me")
	if p := tb.path(); !strings.HasPrefix(p, "/signin") {
		t.Errorf("/me while signed out went to %s, want /signin", p)
	}

	// Sign in again with phone and password: home shows the same number.
	tb.signIn(phone, password)
	if p := tb.path(); p != "/" {
		tb.fatalf("after sign-in the page is %s, want /", p)
	}
	if h := tb.text("main h1"); !strings.Contains(h, name) {
		t.Errorf("home heading = %q, want it to greet %s", h, name)
	}
	if got := tb.text("#volunteer-no"); got != no {
		t.Errorf("home shows volunteer number %q, /me showed %q", got, no)
	}
	tb.noHorizontalScroll("home after sign-in")
	tb.extraScreenshot("home-" + db + ".png")
}

// journeyRoles: every demo login signs in on the phone and lands on the
// home page with their name; staff see 人员 in the menu and the resident
// does not; no page of theirs scrolls sideways.
func journeyRoles(t *testing.T, browser context.Context, a *app) {
	if len(a.Logins) != 7 {
		t.Fatalf("the demo county has %d logins, want 7 (13900000000…13900000006)", len(a.Logins))
	}
	for i, l := range a.Logins {
		if want := fmt.Sprintf("139000000%02d", i); l.Phone != want {
			t.Fatalf("demo login %d is %s, want %s", i, l.Phone, want)
		}
		t.Run(fmt.Sprintf("%s_%s", l.Phone, l.Role), func(t *testing.T) {
			tb := newTab(t, browser, a)
			journeyRole(t, tb, l)
		})
	}
}

func journeyRole(t *testing.T, tb *tab, l demo.Login) {
	resp := tb.signIn(l.Phone, demo.Password)
	if p := tb.path(); p != "/" {
		tb.fatalf("%s (%s) signed in and landed on %s (HTTP %d), want /", l.Name, l.Role, p, resp.Status)
	}
	if h := tb.text("main h1"); !strings.Contains(h, l.Name) {
		t.Errorf("home heading = %q, want it to greet %s", h, l.Name)
	}
	if no := tb.text("#volunteer-no"); !volunteerNo.MatchString(no) {
		t.Errorf("home volunteer number = %q, want 12 digits", no)
	}
	staff := l.Role == jifen.RoleSuperAdmin || slices.Contains(jifen.StaffRoles, l.Role)
	menu := evalJS[[]string](tb, `[...document.querySelectorAll("nav.menu a")].map(a => a.textContent.trim())`)
	hasPeople := slices.ContainsFunc(menu, func(s string) bool { return s == "人员" })
	switch {
	case staff && !hasPeople:
		t.Errorf("%s is staff (%s) but the menu %q has no 人员", l.Name, l.Role, menu)
	case !staff && hasPeople:
		t.Errorf("%s is not staff (%s) but the menu %q shows 人员", l.Name, l.Role, menu)
	}
	tb.noHorizontalScroll("home")
	pages := []string{"/me", "/orgs"}
	if staff {
		pages = append(pages, "/people")
	}
	for _, p := range pages {
		resp := tb.open(p)
		if resp.Status != http.StatusOK {
			t.Errorf("%s for %s: HTTP %d", p, l.Role, resp.Status)
			continue
		}
		if got := tb.path(); got != p {
			t.Errorf("%s for %s ended at %s", p, l.Role, got)
		}
		tb.noHorizontalScroll(p)
	}
	if !staff {
		// Typing the address is no way around the menu.
		resp := tb.open("/people")
		if resp.Status == http.StatusOK {
			t.Errorf("/people answers 200 to %s (%s); want it refused", l.Name, l.Role)
		}
	}
	if l.Role == jifen.RoleSuperAdmin && keepScreenshots() {
		tb.open("/people")
		tb.extraScreenshot("people-super-admin.png")
	}
}

// journeyLanguage: the English switch turns the page to English and the
// choice sticks across pages until 中文 is chosen again.
func journeyLanguage(t *testing.T, tb *tab) {
	tb.open("/signin")
	if got := tb.text("#signin-submit"); got != "登录" {
		t.Errorf("sign-in button = %q before the switch, want 登录", got)
	}
	tb.submit(`nav.lang a[href^="/lang/en"]`)
	if p := tb.path(); p != "/signin" {
		t.Errorf("the language switch went to %s, want back to /signin", p)
	}
	if got := tb.text("#signin-submit"); got != "Sign in" {
		t.Errorf("sign-in button = %q after choosing English, want Sign in", got)
	}
	if got := evalJS[string](tb, `document.documentElement.lang`); got != "en" {
		t.Errorf("html lang = %q after choosing English, want en", got)
	}
	// Other pages, reached by links and by address, stay English.
	tb.submit(`main a[href="/signup"]`)
	if h := tb.text("main h1"); h != "Sign up" {
		t.Errorf("/signup heading = %q, want Sign up", h)
	}
	tb.open("/")
	if h := tb.text("main h1"); h != "Welcome to jifen" {
		t.Errorf("home heading = %q, want Welcome to jifen", h)
	}
	// And after signing in.
	tb.signIn("13900000006", demo.Password)
	if h := tb.text("main h1"); h != "Hello, 陈桂兰" {
		t.Errorf("home heading = %q, want Hello, 陈桂兰", h)
	}
	tb.open("/me")
	if got := tb.text(`nav.menu a[href="/me"]`); got != "Me" {
		t.Errorf("menu link to /me = %q, want Me", got)
	}
	tb.noHorizontalScroll("/me in English")
	tb.extraScreenshot("me-english.png")
	// Back to Chinese.
	tb.submit(`nav.lang a[href^="/lang/zh"]`)
	if p := tb.path(); p != "/me" {
		t.Errorf("the language switch went to %s, want back to /me", p)
	}
	if got := tb.text(`nav.menu a[href="/me"]`); got != "我的" {
		t.Errorf("menu link to /me = %q after choosing 中文, want 我的", got)
	}
}

// journeyWrongPassword: a wrong password shows the Chinese error on the
// sign-in page, keeps the phone and offers the form again.
func journeyWrongPassword(t *testing.T, tb *tab) {
	resp := tb.signIn("13900000005", "not-the-password")
	if resp.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: HTTP %d, want 401", resp.Status)
	}
	if p := tb.path(); p != "/signin" {
		t.Errorf("wrong password: page is %s, want /signin", p)
	}
	if got := tb.text("#form-error"); got != "手机号或密码不正确" {
		t.Errorf("error message = %q, want 手机号或密码不正确", got)
	}
	if got := evalJS[string](tb, `document.getElementById("form-error").getAttribute("role")`); got != "alert" {
		t.Errorf("error role = %q, want alert so screen readers announce it", got)
	}
	if got := run(tb, "phone value", chromedp.Value(chromedp.ID("phone"))); got != "13900000005" {
		t.Errorf("phone field = %q after the error, want it kept", got)
	}
	if got := run(tb, "password value", chromedp.Value(chromedp.ID("password"))); got != "" {
		t.Errorf("password field kept %q after the error, want it empty", got)
	}
	if got := tb.text("#signin-submit"); got != "登录" {
		t.Errorf("sign-in button = %q, want the form offered again", got)
	}
	tb.noHorizontalScroll("sign-in error")
	tb.extraScreenshot("signin-error.png")
	// The right password still works afterwards.
	tb.do("retype the password", chromedp.SendKeys(chromedp.ID("password"), demo.Password))
	tb.submit("#signin-submit")
	if p := tb.path(); p != "/" {
		t.Errorf("right password after a wrong one: page is %s, want /", p)
	}
}

// TestMetricsRouteLabels: the request log and /metrics should name each
// request by its route pattern, so a dashboard can tell sign-ins from QR
// codes. The pages the journeys visit are all counted as "unmatched".
func TestMetricsRouteLabels(t *testing.T) {
	a := startApp(t, "sqlite:"+t.TempDir()+"/jifen.db")
	for _, p := range []string{"/signin", "/signup", "/static/app.css"} {
		resp, err := http.Get(a.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// A request is counted after its response has gone out, so the client
	// may ask for /metrics a moment before the last count lands: poll.
	var body []byte
	var missing []string
	for try := 0; try < 50; try++ {
		resp, err := http.Get(a.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		missing = missing[:0]
		for _, route := range []string{"GET /signin", "GET /signup", "GET /static/"} {
			if want := fmt.Sprintf(`jifen_http_requests_total{method="GET",route=%q,status="200"} 1`, route); !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range missing {
		t.Errorf("/metrics lacks %s", m)
	}
	if strings.Contains(string(body), `route="unmatched",status="200"`) {
		t.Errorf("/metrics counts successful requests as unmatched")
	}
	if !strings.Contains(a.logs.tail(1<<20), `route="GET /signin"`) {
		t.Errorf(`the request log does not name the route of /signin (route="GET /signin")`)
	}
}
