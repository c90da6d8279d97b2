package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jifen"
	"jifen/demo"
	"jifen/sqldb/sqldbtest"
)

// storeCrew are the phones of the store journeys, signed in once: the
// resident 陈桂兰's, the clerk 马小燕's and the village admin 王润莲's;
// and what one journey leaves for the next.
type storeCrew struct {
	sa                *storeApp
	res, clerk, adm   *tab
	period            string            // this month, 2026-11
	before            *jifen.Settlement // this month's statement before the journeys
	score             int64             // 陈桂兰's 累计积分 before the journeys
	sale              int64             // the counter sale
	saleTotal         int64             // its points
	saleLines         map[string]int64  // item name → quantity
	stockBefore       map[string]int64  // item name → stock before the sale
	order, cancelled  int64             // the fetched and the cancelled pick-up orders
	orderPts, cancPts int64
}

// TestStoreJourneys walks the store pages in Chromium on 360×740 phones,
// once per configured database, over the demo county with its stores: a
// counter sale by pay code seen on the resident's phone within a second,
// a spent code refused; a pick-up order fetched by its code and another
// cancelled; a refund from today's sales; the month's statement with its
// XLSX and PDF. The journeys build on each other, so they run in order.
func TestStoreJourneys(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			br := startBrowser(t)
			sa := startStoreApp(t, dsn(t))
			t.Logf("%s: browser and demo county with stores ready in %s", name, time.Since(start).Round(time.Millisecond))
			tabs := newTabs(t, br, sa.app, 3)
			for _, tb := range tabs {
				tb.resize(storePhoneW, storePhoneH)
			}
			c := &storeCrew{sa: sa, res: tabs[0], clerk: tabs[1], adm: tabs[2],
				period: time.Now().In(jifen.Zone).Format("2006-01")}
			c.before = sa.statement(t, c.period)
			c.res.signIn(residentPhone, demo.Password)
			c.clerk.signIn(storeClerkPhone, demo.Password)
			c.adm.signIn(adminPhone, demo.Password)
			t.Logf("%s: tabs open and signed in after %s", name, time.Since(start).Round(time.Millisecond))
			steps := []struct {
				name string
				fn   func(t *testing.T)
			}{
				{"counter_sale", func(t *testing.T) { journeyCounterSale(t, c, name) }},
				{"pickup_order", func(t *testing.T) { journeyPickupOrder(t, c, name) }},
				{"refund", func(t *testing.T) { journeyRefund(t, c, name) }},
				{"settlement", func(t *testing.T) { journeySettlement(t, c, name) }},
			}
			for _, s := range steps {
				began := time.Now()
				t.Run(s.name, s.fn)
				t.Logf("%s: %s in %s", name, s.name, time.Since(began).Round(time.Millisecond))
			}
			t.Logf("%s: all store journeys in %s", name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// storeShot keeps a screenshot for a person only with JIFEN_SCREENSHOTS=1.
func storeShot(tb *tab, name string) {
	tb.t.Helper()
	if keepScreenshots() {
		tb.shot(name, storePhoneW, true)
	}
}

func (c *storeCrew) counterPath() string { return fmt.Sprintf("/stores/%d/counter", c.sa.store.ID) }

func itemPage(it *jifen.Item) string { return "/items/" + strconv.FormatInt(it.ID, 10) }

var (
	soldPath     = regexp.MustCompile(`^/stores/(\d+)/counter\?done=sold_([a-z]+)&sale=(\d+)$`)
	orderedPath  = regexp.MustCompile(`^/me/orders\?done=ordered#order-(\d+)$`)
	storeSaleRow = `#today tbody tr[id^="sale-"]`
)

// scanView is what the counter offers for scanning.
type scanView struct {
	Button, Shown, Camera, Script bool
	Text, JsQR                    string
}

// journeyCounterSale: 陈桂兰 opens 我的付款码 (a QR code and 18 digits);
// 马小燕 opens the counter from her home page, finds the scan button and
// the vendored jsQR, types the code as it is read out, puts two items in
// the basket and confirms: the counter says 已完成; within about a second
// the resident's phone shows the sale and a fresh code; 可用积分 fell by
// the total and 累计积分 did not move; the admin's item pages show the
// stock down and the movements. The spent code, typed again, is refused.
func journeyCounterSale(t *testing.T, c *storeCrew, db string) {
	sa := c.sa
	soap, powder := sa.item(t, "香皂"), sa.item(t, "洗衣粉（1kg）")
	if soap.Stock == nil || powder.Stock == nil || soap.PerPersonLimit != 0 || powder.PerPersonLimit != 0 {
		t.Fatalf("the demo's 香皂 and 洗衣粉 changed: want counted stock and no per-person limit, got %+v, %+v", soap, powder)
	}
	c.saleLines = map[string]int64{soap.Name: 2, powder.Name: 1}
	c.saleTotal = 2*soap.Points + powder.Points
	if c.saleTotal > sa.store.ConfirmAbove && sa.store.ConfirmAbove > 0 {
		t.Fatalf("the basket (%d points) is above the store's confirmation threshold %d", c.saleTotal, sa.store.ConfirmAbove)
	}

	// The admin reads the stock on the item pages first.
	adm := c.adm.in(t)
	c.stockBefore = map[string]int64{}
	for _, it := range []*jifen.Item{soap, powder} {
		adm.open(itemPage(it))
		c.stockBefore[it.Name] = adm.stockShown()
		if c.stockBefore[it.Name] != *it.Stock {
			t.Errorf("%s's page shows stock %d, the service %d", it.Name, c.stockBefore[it.Name], *it.Stock)
		}
	}
	adm.noSideways("商品 " + powder.Name)

	res := c.res.in(t)
	balance, score := res.myPoints()
	c.score = score
	if balance < c.saleTotal {
		t.Fatalf("陈桂兰 has %d points, too few for a basket of %d", balance, c.saleTotal)
	}
	res.open("/")
	res.submit(`ul.tiles a[href="/me/paycode"]`)
	if h := res.text("main h1"); h != "我的付款码" {
		t.Errorf("the 我的付款码 tile opens a page headed %q", h)
	}
	if w := res.waitImage("#paycode-qr"); w <= 0 {
		t.Errorf("the pay code's QR image did not load")
	}
	shown := res.text("#paycode-digits")
	if !paycodeShown.MatchString(shown) {
		res.fatalf("the pay code shows %q, want 18 digits grouped 4 4 4 3 3", shown)
	}
	code := strings.ReplaceAll(shown, " ", "")
	if qr := res.qrText("#paycode-qr"); qr != code {
		t.Errorf("the pay code's QR code reads %q, the digits say %s", qr, code)
	}
	if b := res.number("#paycode-balance"); b != balance {
		t.Errorf("我的付款码 shows 可用积分 %d, 我的积分 %d", b, balance)
	}
	res.noSideways("我的付款码")
	storeShot(res, "paycode-"+db+".png")

	// The clerk's counter, from her home page.
	clerk := c.clerk.in(t)
	clerk.open("/")
	clerk.noSideways("the clerk's home page")
	clerk.submit(chromedp.CSS(clerk.must("ul.tiles a.counter-tile", demoStoreName)))
	if p := clerk.path(); p != c.counterPath() {
		clerk.fatalf("the counter tile led to %s, want %s", p, c.counterPath())
	}
	if h := clerk.text("main h1"); h != "收银台" {
		t.Errorf("the counter is headed %q, want 收银台", h)
	}
	sv := evalJS[scanView](clerk, `(() => {
	  const b = document.getElementById("scan-paycode");
	  return {Button: !!b, Shown: !!b && !b.hidden, Text: b ? b.textContent.trim() : "",
	    Camera: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
	    Script: !!document.querySelector('script[src="/static/vendor/jsQR.js"]'), JsQR: typeof window.jsQR};
	})()`)
	switch {
	case !sv.Button:
		t.Errorf("the counter has no scan button (#scan-paycode)")
	case sv.Text != "扫描付款码":
		t.Errorf("the scan button says %q, want 扫描付款码", sv.Text)
	case sv.Camera && !sv.Shown:
		t.Errorf("the browser offers a camera, but the scan button stays hidden")
	}
	t.Logf("the counter's scan button: present %v, shown %v (camera API %v); jsQR %s", sv.Button, sv.Shown, sv.Camera, sv.JsQR)
	if !sv.Script || sv.JsQR != "function" {
		t.Errorf("the counter does not load the vendored jsQR (script tag %v, typeof jsQR %q)", sv.Script, sv.JsQR)
	}
	salesBefore := evalJS[int](clerk, `document.querySelectorAll('`+storeSaleRow+`').length`)

	// Two items in the basket, with the + buttons, and the code as it is
	// read out, in its groups.
	if q := clerk.tapPlus(fmt.Sprintf("#counter-item-%d", soap.ID), 2); q != 2 {
		t.Errorf("two taps on + put %d of %s in the basket", q, soap.Name)
	}
	if q := clerk.tapPlus(fmt.Sprintf("#counter-item-%d", powder.ID), 1); q != 1 {
		t.Errorf("one tap on + put %d of %s in the basket", q, powder.Name)
	}
	if sum := clerk.number("#sell-form .basket-sum"); sum != c.saleTotal {
		t.Errorf("the basket's total shows %d, want %d", sum, c.saleTotal)
	}
	clerk.do("type the pay code", chromedp.SendKeys(chromedp.ID("paycode-input"), shown))
	clerk.noSideways("收银台 with a basket")
	storeShot(clerk, "counter-basket-"+db+".png")
	clerk.submit("#sell-submit")
	sold := time.Now()
	m := soldPath.FindStringSubmatch(clerk.path())
	if m == nil || m[1] != strconv.FormatInt(sa.store.ID, 10) {
		msg := ""
		if clerk.has("#form-error") {
			msg = clerk.text("#form-error")
		}
		clerk.fatalf("after 确认兑换 the counter is at %s (error %q), want %s?done=sold_completed&sale=…", clerk.path(), msg, c.counterPath())
	}
	if m[2] != "completed" {
		t.Errorf("a sale of %d points (threshold %d) ended %s, want completed", c.saleTotal, sa.store.ConfirmAbove, m[2])
	}
	c.sale, _ = strconv.ParseInt(m[3], 10, 64)

	// The resident's phone shows the sale and a fresh code by itself.
	ok, _ := res.waitUntil(fmt.Sprintf(`(() => {
	  const r = document.getElementById("paycode-result"), d = document.getElementById("paycode-digits").textContent.trim();
	  return !r.hidden && r.textContent.includes("兑换成功") && d !== %q && /^\d{4} \d{4} \d{4} \d{3} \d{3}$/.test(d);
	})()`, shown), 3*time.Second)
	took := time.Since(sold)
	if !ok {
		result := evalJS[string](res, `(() => { const r = document.getElementById("paycode-result"); return r.hidden ? "(hidden)" : r.innerText; })()`)
		res.fatalf("3 s after the sale 我的付款码 shows the result %q and the code %q (the spent one was %q); want 兑换成功 and a fresh code",
			result, res.text("#paycode-digits"), shown)
	}
	t.Logf("%s: the resident's phone showed the sale and a fresh code %s after the counter's answer", db, took.Round(10*time.Millisecond))
	if st := clerk.text("#sale-status"); st != "已完成" {
		t.Errorf("the counter shows the sale as %q, want 已完成", st)
	}
	got := clerk.text("#sale")
	for _, want := range []string{residentName, signed(-c.saleTotal), soap.Name + "×2", powder.Name + "×1"} {
		if !strings.Contains(got, want) {
			t.Errorf("the counter shows the sale as %q, want it to mention %s", got, want)
		}
	}
	if f := clerk.text("p.flash"); f != "兑换成功" {
		t.Errorf("the counter's message after the sale is %q, want 兑换成功", f)
	}
	row := fmt.Sprintf("#sale-%d", c.sale)
	if !clerk.has(row) {
		t.Errorf("today's sales do not list sale %d", c.sale)
	} else if got := clerk.text(chromedp.CSS(row)); !strings.Contains(got, "已完成") || !strings.Contains(got, residentName) {
		t.Errorf("today's sales list sale %d as %q", c.sale, got)
	}
	clerk.noSideways("收银台 after the sale")
	storeShot(clerk, "counter-sold-"+db+".png")

	result := res.text("#paycode-result")
	for _, want := range []string{demoStoreName, soap.Name + "×2", powder.Name + "×1", strconv.FormatInt(c.saleTotal, 10)} {
		if !strings.Contains(result, want) {
			t.Errorf("the phone shows the sale as %q, want it to mention %s", result, want)
		}
	}
	if b := res.number("#paycode-balance"); b != balance-c.saleTotal {
		t.Errorf("after the sale 我的付款码 shows 可用积分 %d, want %d", b, balance-c.saleTotal)
	}
	fresh := strings.ReplaceAll(res.text("#paycode-digits"), " ", "")
	if qr := res.qrText("#paycode-qr"); qr != fresh {
		t.Errorf("the fresh code's QR reads %q, its digits %s", qr, fresh)
	}
	res.noSideways("我的付款码 after the sale")
	storeShot(res, "paycode-paid-"+db+".png")

	b, s := res.myPoints()
	if b != balance-c.saleTotal || s != score {
		t.Errorf("after the sale 可用积分/累计积分 = %d/%d, want %d/%d (spending lowers the balance, never the score)", b, s, balance-c.saleTotal, score)
	}
	if lines := res.ledger(); len(lines) == 0 || !strings.Contains(lines[0], signed(-c.saleTotal)) {
		t.Errorf("the newest ledger line is %q, want the sale %s", first(lines), signed(-c.saleTotal))
	}
	res.noSideways("我的积分 after the sale")

	// The stock, on the admin's item pages.
	for _, it := range []*jifen.Item{soap, powder} {
		q := c.saleLines[it.Name]
		adm.open(itemPage(it))
		if got := adm.stockShown(); got != c.stockBefore[it.Name]-q {
			t.Errorf("after selling %d, %s's stock shows %d, want %d", q, it.Name, got, c.stockBefore[it.Name]-q)
		}
		moves := adm.tableRows("#movements")
		want := []string{"兑换", signed(-q), strconv.FormatInt(c.stockBefore[it.Name]-q, 10), "订单号 " + strconv.FormatInt(c.sale, 10)}
		if len(moves) == 0 || !containsAll(moves[0], want...) {
			t.Errorf("%s's newest stock movement is %q, want %q", it.Name, first(moves), want)
		}
	}
	adm.noSideways("商品 " + powder.Name + " after the sale")
	storeShot(adm, "item-"+db+".png")

	// The spent code, typed again: refused, and no sale.
	clerk.open(c.counterPath())
	clerk.tapPlus(fmt.Sprintf("#counter-item-%d", soap.ID), 1)
	clerk.do("type the spent code", chromedp.SendKeys(chromedp.ID("paycode-input"), shown))
	resp := clerk.submit("#sell-submit")
	if m := soldPath.FindStringSubmatch(clerk.path()); m != nil {
		t.Fatalf("%s: a spent pay code rang up another sale (%s)", c.counterPath(), clerk.path())
	}
	if resp.Status != http.StatusUnprocessableEntity && resp.Status != http.StatusBadRequest {
		t.Errorf("a spent pay code answered HTTP %d, want 422", resp.Status)
	}
	if !clerk.has("#form-error") {
		clerk.fatalf("a spent pay code shows no error")
	}
	if msg := clerk.text("#form-error"); !strings.Contains(msg, "这个付款码已经用过了") {
		t.Errorf("a spent pay code says %q, want 这个付款码已经用过了，请让居民刷新付款码", msg)
	}
	if n := evalJS[int](clerk, `document.querySelectorAll('`+storeSaleRow+`').length`); n != salesBefore+1 {
		t.Errorf("today's sales list %d sales after one sale and a refused code, %d before", n, salesBefore)
	}
	clerk.noSideways("收银台 refusing a spent code")
	if b, _ := res.myPoints(); b != balance-c.saleTotal {
		t.Errorf("after the refused code 可用积分 is %d, want %d unchanged", b, balance-c.saleTotal)
	}
}

// journeyPickupOrder: 陈桂兰 orders from the supermarket's catalogue on
// her phone; 我的订单 shows it 待取货 with the pick-up code as a QR code
// and digits; 马小燕 hands it over at the counter by typing the code and
// the order shows 已完成. Another order she cancels herself, and her
// points and the stock come back.
func journeyPickupOrder(t *testing.T, c *storeCrew, db string) {
	sa := c.sa
	sauce, towel := sa.item(t, "酱油（500ml）"), sa.item(t, "毛巾")
	res := c.res.in(t)
	balance, _ := res.myPoints()

	res.open("/")
	res.submit(`ul.tiles a[href="/shop"]`)
	if h := res.text("main h1"); h != "积分商城" {
		t.Errorf("the 积分商城 tile opens a page headed %q", h)
	}
	card := fmt.Sprintf("#store-%d", sa.store.ID)
	if !res.has(card) {
		res.fatalf("积分商城 does not list %s", demoStoreName)
	}
	res.noSideways("积分商城")
	res.submit(chromedp.CSS(card + " h2 a"))
	storePage := fmt.Sprintf("/stores/%d", sa.store.ID)
	if p := res.path(); p != storePage {
		res.fatalf("the store's link led to %s, want %s", p, storePage)
	}
	if res.has("#staff-links") {
		t.Errorf("a resident's catalogue shows the staff links: %q", res.text("#staff-links"))
	}
	order := func(it *jifen.Item) int64 {
		t.Helper()
		if q := res.tapPlus(fmt.Sprintf("#item-%d", it.ID), 1); q != 1 {
			t.Errorf("one tap on + put %d of %s in the basket", q, it.Name)
		}
		if sum := res.number("#order-form .basket-sum"); sum != it.Points {
			t.Errorf("the basket's total shows %d, want %d", sum, it.Points)
		}
		res.noSideways(demoStoreName + " with a basket")
		res.submit("#order-submit")
		m := orderedPath.FindStringSubmatch(res.path())
		if m == nil {
			msg := ""
			if res.has("#form-error") {
				msg = res.text("#form-error")
			}
			res.fatalf("after 预订 the resident is at %s (error %q), want /me/orders?done=ordered#order-…", res.path(), msg)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		return id
	}
	c.order, c.orderPts = order(sauce), sauce.Points
	if f := res.text("p.flash"); !strings.Contains(f, "下单成功") {
		t.Errorf("after ordering the message is %q, want 下单成功，请凭取货码到店取货", f)
	}
	oc := fmt.Sprintf("#order-%d", c.order)
	if got := res.text(chromedp.CSS(oc + " .tag")); got != "待取货" {
		t.Errorf("the new order shows %q, want 待取货", got)
	}
	if got := res.text(chromedp.CSS(oc)); !containsAll(got, sauce.Name+"×1", signed(-sauce.Points)) {
		t.Errorf("the new order reads %q, want %s×1 and %s", got, sauce.Name, signed(-sauce.Points))
	}
	if w := res.waitImage(oc + " img.pickup-qr"); w <= 0 {
		t.Errorf("the pick-up QR code did not load")
	}
	codes := evalJS[[]string](res, fmt.Sprintf(`[...document.querySelectorAll("#pickup-%d strong.code-digits")].map(s => s.textContent.trim())`, c.order))
	if len(codes) != 2 || codes[0] != strconv.FormatInt(c.order, 10) || !regexp.MustCompile(`^\d[\d ]*\d$`).MatchString(codes[1]) {
		res.fatalf("the order's pick-up line shows %q, want its number %d and the code's digits", codes, c.order)
	}
	pickup := codes[1]
	if qr, want := res.qrText(oc+" img.pickup-qr"), fmt.Sprintf("JFP:%d:%s", c.order, strings.ReplaceAll(pickup, " ", "")); qr != want {
		t.Errorf("the pick-up QR code reads %q, want %q", qr, want)
	}
	res.noSideways("我的订单 with a pick-up code")
	storeShot(res, "orders-held-"+db+".png")
	if b, _ := res.myPoints(); b != balance-sauce.Points {
		t.Errorf("after ordering 可用积分 is %d, want %d (the points are taken at once)", b, balance-sauce.Points)
	}

	// The clerk hands it over by the typed code.
	clerk := c.clerk.in(t)
	clerk.open(c.counterPath())
	waiting := fmt.Sprintf("#waiting-%d", c.order)
	if !clerk.has(waiting) {
		t.Errorf("the counter's pick-up list does not show order %d", c.order)
	} else if got := clerk.text(chromedp.CSS(waiting)); !containsAll(got, residentName, sauce.Name+"×1") {
		t.Errorf("the counter lists order %d as %q", c.order, got)
	}
	clerk.do("type the order number and the pick-up code",
		chromedp.SendKeys(chromedp.ID("pickup-order"), strconv.FormatInt(c.order, 10)),
		chromedp.SendKeys(chromedp.ID("pickup-code"), pickup))
	clerk.submit(`#pickup-form button[type="submit"]`)
	if p, want := clerk.path(), fmt.Sprintf("%s?done=fulfilled&sale=%d", c.counterPath(), c.order); p != want {
		msg := ""
		if clerk.has("#form-error") {
			msg = clerk.text("#form-error")
		}
		clerk.fatalf("after 确认取货 the counter is at %s (error %q), want %s", p, msg, want)
	}
	if st := clerk.text("#sale-status"); st != "已完成" {
		t.Errorf("the counter shows the handed-over order as %q, want 已完成", st)
	}
	if f := clerk.text("p.flash"); f != "已取货" {
		t.Errorf("the counter's message after the hand-over is %q, want 已取货", f)
	}
	if clerk.has(waiting) {
		t.Errorf("order %d is still waiting after it was handed over", c.order)
	}
	clerk.noSideways("收银台 after a hand-over")

	res.open("/me/orders")
	if got := res.text(chromedp.CSS(oc + " .tag")); got != "已完成" {
		t.Errorf("after the hand-over the order shows %q, want 已完成", got)
	}
	if res.has(oc + " img.pickup-qr") {
		t.Errorf("the fetched order still shows its pick-up code")
	}

	// Another order, cancelled before pick-up.
	towelStock := *towel.Stock
	before, _ := res.myPoints()
	res.open(storePage)
	c.cancelled, c.cancPts = order(towel), towel.Points
	if b, _ := res.myPoints(); b != before-towel.Points {
		t.Errorf("after ordering %s 可用积分 is %d, want %d", towel.Name, b, before-towel.Points)
	}
	if got := *sa.item(t, towel.Name).Stock; got != towelStock-1 {
		t.Errorf("an order of one %s left its stock at %d, want %d", towel.Name, got, towelStock-1)
	}
	res.open("/me/orders")
	cc := fmt.Sprintf("#order-%d", c.cancelled)
	res.submitConfirmed(chromedp.CSS(cc + ` form[action$="/cancel"] button`))
	if p, want := res.path(), fmt.Sprintf("/me/orders?done=order_cancelled#order-%d", c.cancelled); p != want {
		res.fatalf("after 取消订单 the resident is at %s, want %s", p, want)
	}
	if got := res.text(chromedp.CSS(cc + " .tag")); got != "已取消" {
		t.Errorf("the cancelled order shows %q, want 已取消", got)
	}
	if f := res.text("p.flash"); !strings.Contains(f, "积分已退回") {
		t.Errorf("after cancelling the message is %q, want 已取消，积分已退回", f)
	}
	res.noSideways("我的订单 after cancelling")
	storeShot(res, "orders-"+db+".png")
	if b, _ := res.myPoints(); b != before {
		t.Errorf("after cancelling 可用积分 is %d, want %d back", b, before)
	}
	if got := *sa.item(t, towel.Name).Stock; got != towelStock {
		t.Errorf("after cancelling, %s's stock is %d, want %d back", towel.Name, got, towelStock)
	}
}

// journeyRefund: 马小燕 refunds the counter sale from today's sales with
// a reason; 陈桂兰's points and the stock come back.
func journeyRefund(t *testing.T, c *storeCrew, db string) {
	if c.sale == 0 {
		t.Skip("no counter sale: the counter journey did not get that far")
	}
	sa := c.sa
	res := c.res.in(t)
	balance, score := res.myPoints()

	clerk := c.clerk.in(t)
	clerk.open(c.counterPath())
	row := fmt.Sprintf("#sale-%d", c.sale)
	if !clerk.has(row + " details.refund") {
		clerk.fatalf("today's sales offer no 退货 for sale %d", c.sale)
	}
	const reason = "香皂包装破损，居民退回"
	clerk.do("open 退货 and give the reason",
		chromedp.Click(chromedp.CSS(row+" details.refund summary")),
		chromedp.SendKeys(chromedp.CSS(row+` details.refund input[name="reason"]`), reason))
	clerk.noSideways("收银台 refund form")
	storeShot(clerk, "counter-refund-"+db+".png")
	clerk.submitConfirmed(chromedp.CSS(row + " details.refund button.danger"))
	if p, want := clerk.path(), fmt.Sprintf("%s?done=sale_refunded&sale=%d", c.counterPath(), c.sale); p != want {
		msg := ""
		if clerk.has("#form-error") {
			msg = clerk.text("#form-error")
		}
		clerk.fatalf("after 退货 the counter is at %s (error %q), want %s", p, msg, want)
	}
	if st := clerk.text("#sale-status"); st != "已退货" {
		t.Errorf("the refunded sale shows %q, want 已退货", st)
	}
	if got := clerk.text(chromedp.CSS(row)); !containsAll(got, "已退货", reason) {
		t.Errorf("today's sales list the refunded sale as %q, want 已退货 and the reason", got)
	}
	if clerk.has(row + " details.refund") {
		t.Errorf("the refunded sale still offers 退货")
	}
	clerk.noSideways("收银台 after the refund")

	b, s := res.myPoints()
	if b != balance+c.saleTotal || s != score || s != c.score {
		t.Errorf("after the refund 可用积分/累计积分 = %d/%d, want %d/%d (the points back, the score untouched)", b, s, balance+c.saleTotal, c.score)
	}
	res.open("/me/orders")
	if got := res.text(chromedp.CSS(fmt.Sprintf("#order-%d", c.sale))); !containsAll(got, "已退货", reason) {
		t.Errorf("我的订单 shows the refunded sale as %q, want 已退货 and the reason", got)
	}

	adm := c.adm.in(t)
	for name, q := range c.saleLines {
		it := sa.item(t, name)
		adm.open(itemPage(it))
		if got := adm.stockShown(); got != c.stockBefore[name] {
			t.Errorf("after the refund %s's stock shows %d, want %d back", name, got, c.stockBefore[name])
		}
		moves := adm.tableRows("#movements")
		want := []string{"退货", signed(q), "订单号 " + strconv.FormatInt(c.sale, 10)}
		if len(moves) == 0 || !containsAll(moves[0], want...) {
			t.Errorf("%s's newest stock movement is %q, want %q", name, first(moves), want)
		}
	}
	adm.noSideways("商品 after the refund")
}

// journeySettlement: 王润莲 opens the supermarket's settlement page from
// its page, asks for this month and sees the sales, refunds, net points,
// the amount in yuan and the chain's latest block; the XLSX and PDF
// links answer with the right files.
func journeySettlement(t *testing.T, c *storeCrew, db string) {
	sa := c.sa
	block := sa.seal(t)
	adm := c.adm.in(t)
	adm.open(fmt.Sprintf("/stores/%d", sa.store.ID))
	adm.submit(`#staff-links a[href$="/settlement"]`)
	base := fmt.Sprintf("/stores/%d/settlement", sa.store.ID)
	if p := adm.path(); p != base {
		adm.fatalf("the 结算 link led to %s, want %s", p, base)
	}
	if h := adm.text("main h1"); !strings.Contains(h, "结算") || !strings.Contains(h, demoStoreName) {
		t.Errorf("the settlement page is headed %q", h)
	}
	adm.do("ask for this month", chromedp.SetValue(chromedp.CSS(`form.settlement-pick input[name="period"]`), c.period))
	adm.submit(`form.settlement-pick button[type="submit"]`)
	if p, want := adm.path(), base+"?period="+c.period; p != want {
		adm.fatalf("showing %s led to %s, want %s", c.period, p, want)
	}
	want := sa.statement(t, c.period)
	// What the journeys did this month, on top of what was there: the
	// counter sale (refunded) and the fetched order are sales; the refund
	// takes the sale's points back; the cancelled order is neither.
	if c.sale != 0 && c.order != 0 {
		if want.Sales != c.before.Sales+2 || want.Refunds != c.before.Refunds+1 || want.Points != c.before.Points+c.orderPts {
			t.Errorf("this month's statement: %d sales, %d refunds, %d points; before the journeys %d, %d, %d; want +2 sales, +1 refund, +%d points",
				want.Sales, want.Refunds, want.Points, c.before.Sales, c.before.Refunds, c.before.Points, c.orderPts)
		}
	}
	if want.Settled {
		t.Errorf("this month is settled already")
	}
	for _, f := range []struct{ sel, got, want string }{
		{"#st-sales", adm.text("#st-sales"), strconv.Itoa(want.Sales)},
		{"#st-refunds", adm.text("#st-refunds"), strconv.Itoa(want.Refunds)},
		{"#st-points", adm.text("#st-points"), strconv.FormatInt(want.Points, 10)},
		{"#st-amount", adm.text("#st-amount"), "¥" + jifen.Yuan(want.Points*want.FenPerPoint)},
		{"#st-block", adm.text("#st-block"), block.Hash},
	} {
		if f.got != f.want {
			t.Errorf("the settlement page shows %s = %q, want %q", f.sel, f.got, f.want)
		}
	}
	if want.AmountFen != want.Points*want.FenPerPoint {
		t.Errorf("the service's amount is %d fen for %d points at %d fen a point", want.AmountFen, want.Points, want.FenPerPoint)
	}
	if !adm.has("#unsettled") {
		t.Errorf("this month is not marked 未结算")
	}
	// The month has not ended: it cannot be settled yet.
	if adm.has("#settle-form button") && !evalJS[bool](adm, `document.querySelector("#settle-form button").disabled`) {
		t.Errorf("确认结算 is enabled for %s, a month that has not ended", c.period)
	}
	lines := adm.tableRows("#statement-lines")
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	count := func(pred func(string) bool) int {
		n := 0
		for _, l := range lines {
			if pred(l) {
				n++
			}
		}
		return n
	}
	has := func(l, no string) bool { return strings.Contains(" "+l+" ", " "+no+" ") }
	if c.sale != 0 {
		if n := count(func(l string) bool { return has(l, id(c.sale)) && strings.Contains(l, signed(c.saleTotal)) }); n != 1 {
			t.Errorf("the statement's lines show the counter sale %d (%s) %d times, want once: %q", c.sale, signed(c.saleTotal), n, lines)
		}
		if n := count(func(l string) bool {
			return has(l, id(c.sale)) && strings.Contains(l, signed(-c.saleTotal)) && strings.Contains(l, "退货")
		}); n != 1 {
			t.Errorf("the statement's lines show the refund of sale %d %d times, want once: %q", c.sale, n, lines)
		}
	}
	if c.order != 0 && count(func(l string) bool { return has(l, id(c.order)) && strings.Contains(l, signed(c.orderPts)) }) != 1 {
		t.Errorf("the statement's lines lack the fetched order %d (%s): %q", c.order, signed(c.orderPts), lines)
	}
	if c.cancelled != 0 && count(func(l string) bool { return has(l, id(c.cancelled)) }) != 0 {
		t.Errorf("the statement's lines list the cancelled order %d: %q", c.cancelled, lines)
	}
	adm.noSideways("结算 " + c.period)
	storeShot(adm, "settlement-"+db+".png")

	for _, d := range []struct{ link, ctype, magic, ext string }{
		{"#xlsx-link", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK\x03\x04", ".xlsx"},
		{"#pdf-link", "application/pdf", "%PDF-", ".pdf"},
	} {
		href, got := adm.fetchLink(d.link)
		if !strings.Contains(href, "period="+c.period) {
			t.Errorf("%s points to %s, want this month's (period=%s)", d.link, href, c.period)
		}
		if got.Status != http.StatusOK || got.Type != d.ctype || !strings.HasPrefix(got.Head, d.magic) || got.Size < 100 {
			t.Errorf("%s (%s) answered %d %q, %d bytes starting %q; want 200 %s starting %q", d.link, href, got.Status, got.Type, got.Size, got.Head, d.ctype, d.magic)
		}
		if !strings.Contains(got.Disposition, "attachment") || !strings.Contains(got.Disposition, d.ext) {
			t.Errorf("%s is sent as %q, want an attachment named …%s", d.link, got.Disposition, d.ext)
		}
	}
}

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
