package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"jifen"
	"jifen/demo"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
	"jifen/web"
	"jifen/wire"
)

// The store journeys need the whole demo county, stores included:
// 新窑村积分超市 with its shelf, its clerk 马小燕 and a few weeks of sales,
// and the pick-up order waiting for 陈桂兰. startPointsApp leaves the
// stores out, so these journeys load the demo as `jifen serve --demo`
// does, through wire.Demo.

const (
	storeClerkPhone = "13900000007" // 马小燕, clerk of 新窑村积分超市
	storeClerkName  = "马小燕"
	demoStoreName   = "新窑村积分超市"
)

// The phone of the store journeys: 360×740 CSS pixels.
const storePhoneW, storePhoneH = 360, 740

// storeApp is the served demo county with its stores, and the handles a
// journey needs to check the pages against the services.
type storeApp struct {
	*app
	db    *sqldb.DB
	svc   web.Services
	store *jifen.Store // 新窑村积分超市
}

// startStoreApp opens a fresh database from dsn, loads the whole demo
// county (service history, points and stores) and serves the web handler
// on 127.0.0.1, failing the test on any error the server logs.
func startStoreApp(t *testing.T, dsn string) *storeApp {
	t.Helper()
	db := sqldbtest.Open(t, dsn)
	svc := services(db)
	logins, err := demo.Load(context.Background(), wire.Demo(db))
	if err != nil {
		t.Fatalf("load the demo county with its stores: %v", err)
	}
	clerk := false
	for _, l := range logins {
		clerk = clerk || (l.Phone == storeClerkPhone && l.Role == jifen.RoleClerk)
	}
	if !clerk {
		t.Fatalf("the demo's logins %v lack the clerk %s %s: were the stores loaded?", logins, storeClerkName, storeClerkPhone)
	}
	sa := &storeApp{app: serveDB(t, db, svc, logins), db: db, svc: svc}
	stores, err := svc.Stores.Stores(sysCtx(), true)
	if err != nil {
		t.Fatalf("list the stores: %v", err)
	}
	for _, s := range stores {
		if s.Name == demoStoreName {
			sa.store = s
		}
	}
	if sa.store == nil {
		t.Fatalf("the demo has no %s", demoStoreName)
	}
	return sa
}

// item is the supermarket's item with this name, as the service holds it
// now (its stock included).
func (sa *storeApp) item(t *testing.T, name string) *jifen.Item {
	t.Helper()
	items, err := sa.svc.Stores.Items(sysCtx(), sa.store.ID)
	if err != nil {
		t.Fatalf("items of %s: %v", demoStoreName, err)
	}
	for _, it := range items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("%s sells no %s", demoStoreName, name)
	return nil
}

// statement is the service's statement of the supermarket for period.
func (sa *storeApp) statement(t *testing.T, period string) *jifen.Settlement {
	t.Helper()
	st, err := sa.svc.Stores.Settlement(sysCtx(), sa.store.ID, period)
	if err != nil {
		t.Fatalf("statement of %s for %s: %v", demoStoreName, period, err)
	}
	return st
}

// seal does what the server's sealer does five times a second and returns the
// chain's head.
func (sa *storeApp) seal(t *testing.T) *jifen.Block {
	t.Helper()
	l := sqldb.NewLedgerService(sa.db)
	if _, err := l.Seal(sysCtx()); err != nil {
		t.Fatalf("seal: %v", err)
	}
	b, err := l.LatestBlock(sysCtx())
	if err != nil || b == nil {
		t.Fatalf("latest block after sealing: %v, %v", b, err)
	}
	return b
}

// qrText decodes the QR code an <img> shows from a data: URL with
// gozxing, a reader that shares nothing with the server's encoder.
func (tb *tab) qrText(sel string) string {
	tb.t.Helper()
	src := evalJS[string](tb, fmt.Sprintf(`(() => { const i = document.querySelector(%q); return i ? i.src : ""; })()`, sel))
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		tb.fatalf("%s is %.60q, want a data:image/png URL (a code must never be an address)", sel, src)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.fatalf("%s: the data URL is not base64: %v", sel, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		tb.fatalf("%s is not a PNG: %v", sel, err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		tb.fatalf("%s: %v", sel, err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		tb.fatalf("%s: no QR code found: %v", sel, err)
	}
	return res.GetText()
}

// waitUntil polls js in the page until it is true or timeout passes, and
// says how long it took.
func (tb *tab) waitUntil(js string, timeout time.Duration) (bool, time.Duration) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+2*time.Second)
	defer cancel()
	began := time.Now()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	return err == nil, time.Since(began)
}

// fetched is what a page's fetch of a download link got.
type fetched struct {
	Status      int    `json:"status"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	Size        int    `json:"size"`
	Head        string `json:"head"`
}

// fetchLink fetches the href of a link from the page, as a click would,
// with the page's session cookie, and reports the answer.
func (tb *tab) fetchLink(sel string) (string, fetched) {
	tb.t.Helper()
	href := evalJS[string](tb, fmt.Sprintf(`(() => { const a = document.querySelector(%q); return a ? a.href : ""; })()`, sel))
	if href == "" {
		tb.fatalf("no link %s on the page", sel)
	}
	js := fmt.Sprintf(`fetch(%q, {credentials: "same-origin", cache: "no-store"}).then(r => r.arrayBuffer().then(buf => {
	  const b = new Uint8Array(buf);
	  return {status: r.status, type: r.headers.get("Content-Type") || "", disposition: r.headers.get("Content-Disposition") || "",
	    size: b.length, head: String.fromCharCode(...b.slice(0, 5))};
	}))`, href)
	return strings.TrimPrefix(href, tb.base), run(tb, "fetch "+href, chromedp.Evaluate[fetched](js, chromedp.EvalAwaitPromise))
}

// tapPlus taps the + beside an item's quantity n times (the steppers the
// basket script adds) and returns the quantity the field then holds.
func (tb *tab) tapPlus(row string, n int) int {
	tb.t.Helper()
	btn := chromedp.CSS(row + ` button.step[aria-label="加一"]`)
	if !tb.has(string(btn)) {
		tb.fatalf("%s has no + button (the basket script did not run?)", row)
	}
	for range n {
		tb.do("tap + in "+row, chromedp.Click(btn))
	}
	v := evalJS[string](tb, fmt.Sprintf(`document.querySelector(%q).value`, row+` input[type="number"]`))
	q, _ := strconv.Atoi(v)
	return q
}

var leadingInt = regexp.MustCompile(`^-?\d+`)

// stockShown reads the stock an item's admin page shows (#item-stock:
// "12" or "4 库存不足").
func (tb *tab) stockShown() int64 {
	tb.t.Helper()
	s := tb.text("#item-stock")
	m := leadingInt.FindString(s)
	if m == "" {
		tb.fatalf("#item-stock shows %q, want a number", s)
	}
	n, _ := strconv.ParseInt(m, 10, 64)
	return n
}

// tableRows is the text of each row of a table's body, whitespace folded.
func (tb *tab) tableRows(table string) []string {
	tb.t.Helper()
	return evalJS[[]string](tb, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(r => r.innerText.replace(/\s+/g, " ").trim())`, table+" tbody tr"))
}

var paycodeShown = regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{3} \d{3}$`)

// noSideways fails when the page scrolls sideways on the phone: its
// document is wider than the window (scrollWidth > innerWidth, no
// tolerance), naming what sticks out.
func (tb *tab) noSideways(what string) {
	tb.t.Helper()
	l := evalJS[layout](tb, layoutJS)
	if l.InnerWidth != storePhoneW {
		tb.t.Errorf("%s: the window is %d px wide, want %d", what, l.InnerWidth, storePhoneW)
	}
	if l.ScrollWidth > l.InnerWidth {
		tb.t.Errorf("%s (%s): the page is %d px wide in a %d px window, so it scrolls sideways; sticking out: %s",
			what, tb.path(), l.ScrollWidth, l.InnerWidth, strings.Join(l.Culprits, ", "))
	}
}
