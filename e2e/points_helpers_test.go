package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"jifen"
	"jifen/demo"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
	"jifen/web"
)

// The points journeys need the demo county with its points side: the rule
// catalogue at 崇信县, 新窑村's settings (masked names, seven days public
// and open to appeal, a 100-point daily cap), 陈桂兰's household and two
// months of awards. startApp loads the demo without points, so these
// journeys load it with its points and service history, as
// `jifen serve --demo` does.

// The demo logins the points journeys use.
const (
	residentPhone = "13900000006" // 陈桂兰, resident of 新窑村, heads a household
	residentName  = "陈桂兰"
	reviewerPhone = "13900000004" // 张丽, reviewer on 崇信县
	adminPhone    = "13900000002" // 王润莲, org admin of 新窑村
)

// pointsApp is the served demo county with the handles a journey needs to
// check the pages against the services.
type pointsApp struct {
	*app
	db        *sqldb.DB
	svc       web.Services
	village   *jifen.Org // 新窑村
	community *jifen.Org // 城关社区, another village-level org
}

// startPointsApp opens a fresh database from dsn, loads the whole demo
// county (service history and points included) and serves the web handler
// on 127.0.0.1, failing the test on any error the server logs.
func startPointsApp(t *testing.T, dsn string) *pointsApp {
	t.Helper()
	db := sqldbtest.Open(t, dsn)
	svc := services(db)
	// wire.Demo's services, but only those the points journeys stand on,
	// so that other parts of the demo (the stores) neither slow them nor
	// spend the points they count.
	ds := demo.Services{Orgs: svc.Orgs, People: svc.People, Auth: svc.Auth, Activities: svc.Activities, Points: svc.Points,
		Travel: func(at time.Time) {
			if at.IsZero() {
				db.Now = time.Now
				return
			}
			db.Now = func() time.Time { return at }
		}}
	logins, err := demo.Load(context.Background(), ds)
	if err != nil {
		t.Fatalf("load the demo county with points: %v", err)
	}
	pa := &pointsApp{app: serveDB(t, db, svc, logins), db: db, svc: svc}
	ctx := sysCtx()
	if pa.village, err = svc.Orgs.FindOrgByName(ctx, 1, "新窑村"); err != nil {
		t.Fatalf("find 新窑村: %v", err)
	}
	if pa.community, err = svc.Orgs.FindOrgByName(ctx, 1, "城关社区"); err != nil {
		t.Fatalf("find 城关社区: %v", err)
	}
	return pa
}

// serveDB is the serving half of startApp: the web handler over db on
// 127.0.0.1, its log judged when the test ends.
func serveDB(t *testing.T, db *sqldb.DB, svc web.Services, logins []demo.Login) *app {
	t.Helper()
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

func sysCtx() context.Context { return jifen.WithActor(context.Background(), jifen.SystemActor()) }

// rule is the rule in force at 新窑村 with this name.
func (pa *pointsApp) rule(t *testing.T, name string) *jifen.Rule {
	t.Helper()
	rules, err := pa.svc.Points.Rules(sysCtx(), pa.village.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rule %q in force at 新窑村", name)
	return nil
}

// seal does what the server's sealer does five times a second: puts the
// committed transactions into a block. It returns the chain's head.
func (pa *pointsApp) seal(t *testing.T) *jifen.Block {
	t.Helper()
	l := sqldb.NewLedgerService(pa.db)
	if _, err := l.Seal(sysCtx()); err != nil {
		t.Fatalf("seal: %v", err)
	}
	b, err := l.LatestBlock(sysCtx())
	if err != nil || b == nil {
		t.Fatalf("latest block after sealing: %v, %v", b, err)
	}
	return b
}

// publicAwards are the village's awards on public display, as the service
// lists them to someone who may see them all (full names).
// publicAwards are the village's awards on public display, as the service
// lists them but with full names (the list masks them as the village
// chooses): what the pages must show, and must not show, is checked
// against them.
func (pa *pointsApp) publicAwards(t *testing.T) []*jifen.Award {
	t.Helper()
	aws, _, err := pa.svc.Points.Awards(sysCtx(), jifen.AwardFilter{OrgID: pa.village.ID, Public: true, PerPage: 200})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range aws {
		full, err := pa.svc.Points.GetAward(sysCtx(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		aws[i] = full
	}
	return aws
}

var awardPath = regexp.MustCompile(`^/awards/(\d+)\?done=`)

// awardID is the award the tab was sent to after a form.
func (tb *tab) awardID() string {
	tb.t.Helper()
	m := awardPath.FindStringSubmatch(tb.path())
	if m == nil {
		tb.fatalf("want the award's page /awards/{id}?done=…, the tab is at %s", tb.path())
	}
	return m[1]
}

// submitConfirmed clicks a button that asks 确定要这样做吗？ first (every
// button.danger does), accepts the question as a person would, and waits
// for the page that answers the form. It returns the question.
func (tb *tab) submitConfirmed(sel chromedp.CSS) (*network.Response, string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	asked := make(chan string, 1)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			select {
			case asked <- ev.Message:
			default:
			}
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	}()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		tb.fatalf("click %s, accept its question and wait for the page: %v", sel, err)
	}
	tb.checkResponse(fmt.Sprintf("click %s", sel), resp)
	select {
	case q := <-asked:
		return resp, q
	default:
		return resp, ""
	}
}

// newTabs opens n tabs side by side, each in a browser context of its own
// (its own cookies, like separate phones), at phone size. Opening a tab
// takes a second or two; the journeys need several at once.
func newTabs(t *testing.T, browser context.Context, a *app, n int) []*tab {
	t.Helper()
	tabs := make([]*tab, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		tabs[i] = &tab{t: t, ctx: ctx, base: a.URL}
		wg.Go(func() {
			errs[i] = chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(1)))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("open tab: %v", err)
		}
	}
	return tabs
}

var marks atomic.Int64

// find tags the first element matching sel whose text contains every one
// of texts and returns a selector for it, or "" when none does.
func (tb *tab) find(sel string, texts ...string) string {
	tb.t.Helper()
	n := strconv.FormatInt(marks.Add(1), 10)
	quoted := make([]string, len(texts))
	for i, s := range texts {
		quoted[i] = strconv.Quote(s)
	}
	ok := evalJS[bool](tb, fmt.Sprintf(`(() => {
	  const want = [%s];
	  const el = [...document.querySelectorAll(%q)].find(e => want.every(w => e.textContent.includes(w)));
	  if (!el) return false;
	  el.setAttribute("data-e2e", %q);
	  return true;
	})()`, strings.Join(quoted, ", "), sel, n))
	if !ok {
		return ""
	}
	return `[data-e2e="` + n + `"]`
}

// must is find that fails when nothing matches.
func (tb *tab) must(sel string, texts ...string) string {
	tb.t.Helper()
	s := tb.find(sel, texts...)
	if s == "" {
		tb.fatalf("no %s containing %q", sel, texts)
	}
	return s
}

// number reads a whole number shown in an element.
func (tb *tab) number(sel string) int64 {
	tb.t.Helper()
	s := tb.text(chromedp.CSS(sel))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		tb.fatalf("%s shows %q, want a whole number", sel, s)
	}
	return n
}

// myPoints opens 我的积分 and reads 可用积分 and 累计积分.
func (tb *tab) myPoints() (balance, score int64) {
	tb.t.Helper()
	tb.open("/me/points")
	return tb.number("#balance"), tb.number("#score")
}

// ledger is the text of each line of the ledger on the page, newest first.
func (tb *tab) ledger() []string {
	tb.t.Helper()
	return evalJS[[]string](tb, `[...document.querySelectorAll("#ledger li.line")].map(l => l.innerText.replace(/\s+/g, " ").trim())`)
}

// pickOption chooses the option of a select whose text contains text.
func (tb *tab) pickOption(sel, text string) {
	tb.t.Helper()
	v := evalJS[string](tb, fmt.Sprintf(`(() => {
	  const o = [...document.querySelectorAll(%q + " option")].find(o => o.textContent.includes(%q));
	  return o ? o.value : "";
	})()`, sel, text))
	if v == "" {
		tb.fatalf("%s offers no option containing %q", sel, text)
	}
	tb.do("choose "+text, chromedp.SetValue(chromedp.CSS(sel), v))
}

// resize sets the tab's viewport to a phone or a lobby screen.
func (tb *tab) resize(w, h int) {
	tb.t.Helper()
	tb.do(fmt.Sprintf("viewport %dx%d", w, h), chromedp.EmulateViewport(int64(w), int64(h), chromedp.EmulateScale(1)))
	if got := evalJS[int](tb, `window.innerWidth`); got != w {
		tb.fatalf("the viewport is %d px wide after emulating %d", got, w)
	}
}

// shot takes a screenshot (the whole page, or the viewport as a screen
// shows it), checks its width, writes it to each of dirs and returns it.
func (tb *tab) shot(name string, width int, full bool, dirs ...string) []byte {
	tb.t.Helper()
	var buf []byte
	if full {
		buf = run(tb, "screenshot "+name, chromedp.FullScreenshot(100))
	} else {
		buf = run(tb, "screenshot "+name, chromedp.CaptureScreenshot())
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		tb.t.Fatalf("screenshot %s does not decode as PNG: %v", name, err)
	}
	if got := img.Bounds().Dx(); got != width {
		tb.t.Errorf("screenshot %s is %d px wide, want %d", name, got, width)
	}
	if keepScreenshots() {
		dirs = append(dirs, filepath.Join("testdata", "screenshots"))
	}
	for _, dir := range dirs {
		writeShot(tb.t, dir, name, buf)
	}
	return buf
}

// writeShot writes a screenshot into dir.
func writeShot(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// waitImage waits for an image to load and returns its natural width.
func (tb *tab) waitImage(sel string) int {
	tb.t.Helper()
	return run(tb, "wait for the image "+sel, chromedp.Poll[int](
		fmt.Sprintf(`(() => { const i = document.querySelector(%q); return i && i.complete && i.naturalWidth; })()`, sel),
		chromedp.WithPollingTimeout(10*time.Second)))
}

// writeJPEG writes a small phone-like photo to a temporary file.
func writeJPEG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{R: uint8(80 + x/2), G: uint8(120 + y), B: 70, A: 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "wallet.jpg")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// signed shows points as the pages do: +10, -3.
func signed(n int64) string {
	if n > 0 {
		return "+" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}
