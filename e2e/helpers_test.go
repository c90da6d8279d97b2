package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"jifen/demo"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
	"jifen/web"
	"jifen/wire"
)

// Phone-sized window: the smallest common Android width in CSS pixels.
const (
	phoneWidth  = 360
	phoneHeight = 780
)

// stepTimeout bounds one browser step; a query for an element that never
// appears would otherwise wait for the whole test timeout.
const stepTimeout = 15 * time.Second

// app is the real web handler over a fresh database with the demo county.
type app struct {
	URL    string
	Logins []demo.Login
	logs   *logBuffer
}

// services is the wiring cmd/jifen uses.
func services(db *sqldb.DB) web.Services { return wire.Services(db) }

// startApp opens a fresh database from dsn, loads the demo county and
// serves the web handler on 127.0.0.1. Any error the server logs fails
// the test. prepare, if given, runs on the database before anything else
// (a test sets the clock there, before the server takes requests).
func startApp(t *testing.T, dsn string, prepare ...func(*sqldb.DB)) *app {
	t.Helper()
	db := sqldbtest.Open(t, dsn)
	for _, p := range prepare {
		p(db)
	}
	svc := services(db)
	logins, err := demo.Load(context.Background(), demo.Services{Orgs: svc.Orgs, People: svc.People, Auth: svc.Auth})
	if err != nil {
		t.Fatalf("load demo: %v", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Listener.Close()
	ts.Listener = ln
	url := "http://" + ln.Addr().String()

	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := web.New(web.Config{PublicURL: url, Version: "e2e"}, svc, db.Keys, log)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Config.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	// Cleanups run last first: close the server, then judge its log, then
	// (registered earlier by sqldbtest.Open) close the database.
	t.Cleanup(func() {
		if errs := logs.errors(); len(errs) > 0 {
			t.Errorf("the server logged %d error(s):\n%s", len(errs), strings.Join(errs, "\n"))
		}
		if t.Failed() {
			t.Logf("server log (tail):\n%s", logs.tail(6000))
		}
	})
	ts.Start()
	t.Cleanup(ts.Close)
	return &app{URL: url, Logins: logins, logs: logs}
}

// logBuffer collects the server's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.Lines(l.buf.String()) {
		if strings.Contains(line, "level=ERROR") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

func (l *logBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// chromiumPath finds the browser: $JIFEN_CHROMIUM, /usr/bin/chromium, or
// chromium on PATH. Without one the journeys skip locally and fail on CI,
// which must run them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("JIFEN_CHROMIUM"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("JIFEN_CHROMIUM=%s: %v", p, err)
		}
		return found
	}
	candidates := []string{"/usr/bin/chromium", "chromium", "chromium-browser"}
	for _, c := range candidates {
		if found, err := exec.LookPath(c); err == nil {
			return found
		}
	}
	msg := "no Chromium found (tried $JIFEN_CHROMIUM, " + strings.Join(candidates, ", ") +
		"); install chromium and fonts-noto-cjk, or set JIFEN_CHROMIUM to the browser's path"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " — CI must run the browser journeys")
	}
	t.Skip(msg)
	return ""
}

// startBrowser launches one headless Chromium with a phone-sized window for
// the test and returns its context; journeys open tabs from it with newTab.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("force-device-scale-factor", "1"),
		// A resident's phone asks for Chinese; the server honours Accept-Language.
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("accept-lang", "zh-CN,zh"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(phoneWidth, phoneHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Run starts the browser; it must have no timeout, or the
	// timeout would end the browser, so a watchdog reports a hang instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browser) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Chromium did not start within 30s")
	}
	return browser
}

// tab is one browser tab in a browser context of its own: its own cookie
// jar, like a separate phone.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newTab(t *testing.T, browser context.Context, a *app) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	tb := &tab{t: t, ctx: ctx, base: a.URL}
	// A new window should already be phone-sized; emulate only if the
	// browser ignored --window-size, so the layout checks stay honest.
	if w := evalJS[int](tb, `window.innerWidth`); w != phoneWidth {
		tb.do("emulate phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(1)))
	}
	return tb
}

// fatalf fails the test with where the tab is and what it shows.
func (tb *tab) fatalf(format string, args ...any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 3*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len([]rune(body)) > 600 {
		body = string([]rune(body)[:600]) + "…"
	}
	tb.t.Fatalf("%s\n  at %s\n  page text: %q", fmt.Sprintf(format, args...), loc, body)
}

func run[T any](tb *tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (nothing happened within %s)", err, stepTimeout)
		}
		tb.fatalf("%s: %v", what, err)
	}
	return v
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	run(tb, what, chromedp.Steps(steps...))
}

func evalJS[T any](tb *tab, js string) T {
	tb.t.Helper()
	return run(tb, "evaluate "+js, chromedp.Evaluate[T](js))
}

// open navigates to a path of the app and returns the document's response.
func (tb *tab) open(path string) *network.Response {
	tb.t.Helper()
	resp := run(tb, "open "+path, chromedp.NavigateResponse(tb.base+path))
	tb.checkResponse("open "+path, resp)
	return resp
}

// submit clicks the element and waits for the page that answers it.
func (tb *tab) submit(sel chromedp.CSS) *network.Response {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		tb.fatalf("click %s and wait for the page: %v", sel, err)
	}
	tb.checkResponse(fmt.Sprintf("click %s", sel), resp)
	return resp
}

// checkResponse fails on a server error: a resident must never meet a 500.
func (tb *tab) checkResponse(what string, resp *network.Response) {
	tb.t.Helper()
	if resp == nil {
		tb.fatalf("%s: no response", what)
	}
	if resp.Status >= 500 {
		tb.fatalf("%s: HTTP %d %s", what, resp.Status, resp.StatusText)
	}
}

// path is the tab's current path and query, without the origin.
func (tb *tab) path() string {
	tb.t.Helper()
	return strings.TrimPrefix(run(tb, "location", chromedp.Location()), tb.base)
}

func (tb *tab) text(sel chromedp.CSS) string {
	tb.t.Helper()
	return strings.TrimSpace(run(tb, "text of "+string(sel), chromedp.Text(sel)))
}

// has reports whether the selector matches now, without waiting.
func (tb *tab) has(sel string) bool {
	tb.t.Helper()
	return evalJS[bool](tb, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// signIn goes through /signin with phone and password.
func (tb *tab) signIn(phone, password string) *network.Response {
	tb.t.Helper()
	tb.open("/signin")
	tb.do("fill the sign-in form",
		chromedp.SendKeys(chromedp.ID("phone"), phone),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	return tb.submit("#signin-submit")
}

// openMenu opens the menu's 更多 where it is shown (a phone), as a person
// would tap it; there the links beyond the most used wait behind it.
func (tb *tab) openMenu() {
	tb.t.Helper()
	if evalJS[bool](tb, `(() => { const s = document.querySelector("nav.menu details.menu-more summary"); return !!s && s.getClientRects().length > 0 && !s.parentElement.open })()`) {
		tb.do("open 更多", chromedp.Click("nav.menu details.menu-more summary"))
	}
}

// layout is what the overflow check needs from the page.
type layout struct {
	ScrollWidth int      `json:"scrollWidth"`
	InnerWidth  int      `json:"innerWidth"`
	Culprits    []string `json:"culprits"`
}

// layoutJS measures the document and names the elements that stick out
// past the right edge of the viewport.
const layoutJS = `(() => {
  const w = document.documentElement.clientWidth, out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) {
      let name = el.tagName.toLowerCase();
      if (el.id) name += "#" + el.id;
      if (typeof el.className === "string" && el.className) name += "." + el.className.trim().split(/\s+/).join(".");
      out.push(name + " right=" + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, culprits: out.slice(0, 8)};
})()`

// noHorizontalScroll fails when the page is wider than the phone.
func (tb *tab) noHorizontalScroll(what string) {
	tb.t.Helper()
	l := evalJS[layout](tb, layoutJS)
	if l.InnerWidth != phoneWidth {
		tb.t.Errorf("%s: viewport is %d px wide, want %d", what, l.InnerWidth, phoneWidth)
	}
	if l.ScrollWidth > phoneWidth+1 {
		tb.t.Errorf("%s (%s): page is %d px wide on a %d px phone, so it scrolls sideways; sticking out: %s",
			what, tb.path(), l.ScrollWidth, phoneWidth, strings.Join(l.Culprits, ", "))
	}
}

// screenshot takes a full-page PNG, checks it decodes at phone width and
// saves it under dir; with JIFEN_SCREENSHOTS=1 it also keeps a copy in
// testdata/screenshots for a person to look at.
func (tb *tab) screenshot(dir, name string) image.Image {
	tb.t.Helper()
	buf := run(tb, "screenshot "+name, chromedp.FullScreenshot(100))
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		tb.t.Fatalf("screenshot %s does not decode as PNG: %v", name, err)
	}
	if got := img.Bounds().Dx(); got != phoneWidth {
		tb.t.Errorf("screenshot %s is %d px wide, want %d (device scale 1)", name, got, phoneWidth)
	}
	write := func(dir string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			tb.t.Fatal(err)
		}
		tb.t.Logf("screenshot %s (%dx%d)", p, img.Bounds().Dx(), img.Bounds().Dy())
	}
	write(dir)
	if keepScreenshots() {
		write(filepath.Join("testdata", "screenshots"))
	}
	return img
}

// keepScreenshots reports whether screenshots go to testdata as well; off
// by default so that CI runs leave the tree clean.
func keepScreenshots() bool { return os.Getenv("JIFEN_SCREENSHOTS") == "1" }

// extraScreenshot is a screenshot only a person reviewing the layout needs.
func (tb *tab) extraScreenshot(name string) {
	tb.t.Helper()
	if keepScreenshots() {
		tb.screenshot(tb.t.TempDir(), name)
	}
}
