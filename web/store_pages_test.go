package web_test

import (
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jifen"
)

var (
	storeCreatedRE = regexp.MustCompile(`^/stores/(\d+)/edit\?done=store_created$`)
	itemCreatedRE  = regexp.MustCompile(`^/items/(\d+)\?done=item_created$`)
	soldRE         = regexp.MustCompile(`^/stores/(\d+)/counter\?done=sold_([a-z]+)&sale=(\d+)$`)
	orderedRE      = regexp.MustCompile(`^/me/orders\?done=ordered#order-(\d+)$`)
	dataQRRE       = regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`)
	digitsRE       = regexp.MustCompile(`id="paycode-digits">([0-9 ]+)<`)
)

// location reads the id a redirect names, failing unless it matches re.
func location(t testing.TB, what string, r *result, re *regexp.Regexp) []string {
	t.Helper()
	r.wantStatus(t, what, http.StatusSeeOther)
	m := re.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("%s went to %q", what, r.Header.Get("Location"))
	}
	return m
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// pageQRs decodes every QR code a page carries as a data: URL.
func pageQRs(t testing.TB, what, body string) []string {
	t.Helper()
	var out []string
	for _, m := range dataQRRE.FindAllStringSubmatch(body, -1) {
		png, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("%s: the QR code is not base64: %v", what, err)
		}
		out = append(out, decodeQR(t, what, png))
	}
	return out
}

// pageJSON gets a page's JSON endpoint as a browser's script would.
func (b *browser) pageJSON(t testing.TB, path string) map[string]any {
	t.Helper()
	r := b.get(t, path, "Accept", "application/json")
	r.wantStatus(t, path, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s answered %s", path, ct)
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("%s may be cached: %q", path, cc)
	}
	return r.JSON(t)
}

// TestStorePages walks the store pages as the people who use them: the
// village admin opens a store, adds a clerk and items with a photo,
// restocks and counts; a resident orders for pick-up and opens their pay
// code; the clerk rings up sales at the counter from the pay code, hands
// over the order by its code, refunds, and waits for a resident's
// confirmation; the admin reads the month's statement; every page in
// Chinese and English.
func TestStorePages(t *testing.T) {
	t.Parallel()
	keys := templateKeys(t)
	// The real clock: the counter lists today's sales by the server's day.
	eachDB(t, func(t *testing.T, e *env) {
		village := e.org(t, "新窑村")
		admin, res := e.signedIn(t, villageAdmin), e.signedIn(t, resident)
		resM := (&svcEnv{env: e}).demoMember(t, resident)
		clerkM := (&svcEnv{env: e}).member(t, "马小燕", village, nil)
		clerk := e.signedIn(t, clerkM.phone)
		e.fund(t, resM.id, village, 300, "pages-open")
		var store, soap, wash, order, sale int64
		var pickup string
		steps := []struct {
			name string
			fn   func(t *testing.T)
		}{
			{"open a store", func(t *testing.T) {
				admin.page(t, "/stores", keys)
				storeForm := form("org_id", itoa(village), "name", "新窑村积分超市", "kind", "supermarket", "address", "新窑村村部一楼",
					"lat", "35.3065", "lon", "107.0352", "opening_hours", "周一至周六 8:30–17:30", "fen_per_point", "0.50", "hold_hours", "48", "refund_days", "7")
				bad := cloneValues(storeForm)
				bad.Set("fen_per_point", "0.505")
				r := admin.post(t, "/stores", bad)
				r.wantStatus(t, "a rate with three decimals", http.StatusUnprocessableEntity)
				contains(t, "the form after an error", r.Body, `id="form-error"`, "最多两位小数", `value="新窑村积分超市"`)
				store = atoi64(location(t, "create a store", admin.post(t, "/stores", storeForm), storeCreatedRE)[1])
				body := admin.page(t, "/stores/"+itoa(store)+"/edit", keys)
				contains(t, "the store's admin page", body, "新窑村积分超市", `value="0.50"`, `value="35.3065"`, "还没有店员")
				body = admin.page(t, "/stores", keys)
				contains(t, "the stores list", body, `id="store-`+itoa(store)+`"`, "积分超市", "/stores/"+itoa(store)+"/settlement")
			}},
			{"clerks", func(t *testing.T) {
				body := admin.page(t, "/stores/"+itoa(store)+"/edit?q="+url.QueryEscape(clerkM.phone), keys)
				contains(t, "the people search", body, `id="found"`, "马小燕", `name="person_id" value="`+itoa(clerkM.id)+`"`)
				r := admin.post(t, "/stores/"+itoa(store)+"/clerks", form("person_id", itoa(clerkM.id)))
				r.wantStatus(t, "add a clerk", http.StatusSeeOther)
				if r.Header.Get("Location") != "/stores/"+itoa(store)+"/edit?done=clerk_added" {
					t.Errorf("adding a clerk went to %s", r.Header.Get("Location"))
				}
				other := e.personByPhone(t, volunteer)
				admin.post(t, "/stores/"+itoa(store)+"/clerks", form("person_id", itoa(other.ID))).wantStatus(t, "a second clerk", http.StatusSeeOther)
				admin.post(t, "/stores/"+itoa(store)+"/clerks/"+itoa(other.ID)+"/remove", nil).wantStatus(t, "remove", http.StatusSeeOther)
				body = admin.page(t, "/stores/"+itoa(store)+"/edit?done=clerk_removed", keys)
				clerks := body[strings.Index(body, `id="clerks"`):]
				clerks = clerks[:strings.Index(clerks, "</ul>")]
				if !strings.Contains(clerks, "马小燕") || strings.Contains(clerks, other.Name) {
					t.Errorf("the clerks are %s, want 马小燕 alone", clerks)
				}
				if r := res.get(t, "/stores/"+itoa(store)+"/edit"); r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
					t.Errorf("a resident opens the store's admin page: %d", r.Status)
				}
				if r := clerk.get(t, "/stores/"+itoa(store)+"/edit"); r.Status != http.StatusForbidden {
					t.Errorf("the clerk opens the store's admin page: %d, want 403", r.Status)
				}
				// The clerk finds the counter on their home page.
				contains(t, "the clerk's home page", clerk.page(t, "/", keys), "/stores/"+itoa(store)+"/counter", "收银台", "新窑村积分超市")
			}},
			{"items and stock", func(t *testing.T) {
				r := admin.upload(t, "/stores/"+itoa(store)+"/items", form("name", "香皂", "points", "5", "stock", "3", "low_stock", "2",
					"per_person_limit", "5", "limit_period", "month"), "photo", "soap.png", sealPNG(t))
				soap = atoi64(location(t, "add an item with a photo", r, itemCreatedRE)[1])
				r = admin.upload(t, "/stores/"+itoa(store)+"/items", form("name", "理发一次", "points", "20"), "photo", "", nil)
				wash = atoi64(location(t, "an unlimited item without a photo", r, itemCreatedRE)[1])
				// A phone's photo is several megabytes: the form takes it (and
				// finds it is no photo).
				r = admin.upload(t, "/stores/"+itoa(store)+"/items", form("name", "坏照片", "points", "5"), "photo", "x.jpg", []byte(strings.Repeat("not a photo ", 300_000)))
				r.wantStatus(t, "a large file that is not a photo", http.StatusUnprocessableEntity)
				contains(t, "the form after a bad photo", r.Body, "照片无法识别")
				r = admin.upload(t, "/stores/"+itoa(store)+"/items", form("name", "零分", "points", "0"), "photo", "", nil)
				r.wantStatus(t, "no points", http.StatusUnprocessableEntity)
				contains(t, "the item form after an error", r.Body, `<details id="new-item" open>`, `value="零分"`)

				body := admin.page(t, "/items/"+itoa(soap), keys)
				contains(t, "the item page", body, "香皂", `src="/items/`+itoa(soap)+`/photo"`, "每月限兑 5 件", "上架")
				photo := res.get(t, "/items/"+itoa(soap)+"/photo")
				if photo.Status != http.StatusOK || photo.Header.Get("Content-Type") != "image/jpeg" {
					t.Errorf("the photo: %d %s, want a JPEG", photo.Status, photo.Header.Get("Content-Type"))
				}
				admin.post(t, "/items/"+itoa(soap)+"/restock", form("quantity", "4", "note", "镇供销社到货")).wantStatus(t, "restock", http.StatusSeeOther)
				r = admin.post(t, "/items/"+itoa(soap)+"/stocktake", form("form", "stocktake", "counted", "2"))
				r.wantStatus(t, "a stock-take without a reason", http.StatusUnprocessableEntity)
				contains(t, "the stock-take after an error", r.Body, `<details id="stocktake" open>`, "盘点调整必须说明原因")
				admin.post(t, "/items/"+itoa(soap)+"/stocktake", form("counted", "2", "reason", "受潮报损5块")).wantStatus(t, "stock-take", http.StatusSeeOther)
				body = admin.page(t, "/items/"+itoa(soap), keys)
				contains(t, "the movements", body, "镇供销社到货", "+4", "受潮报损5块", "-5", "库存不足")
				r = admin.upload(t, "/items/"+itoa(soap), form("name", "香皂（大块）", "points", "6", "low_stock", "2", "limit_period", "month", "per_person_limit", "5"), "photo", "", nil)
				r.wantStatus(t, "edit the item", http.StatusSeeOther)
				if r := clerk.post(t, "/items/"+itoa(soap)+"/restock", form("quantity", "1")); r.Status != http.StatusForbidden {
					t.Errorf("the clerk restocks: %d, want 403", r.Status)
				}
				if r := res.get(t, "/items/"+itoa(soap)); r.Status != http.StatusNotFound {
					t.Errorf("a resident opens the item's stock page: %d, want 404", r.Status)
				}
				// The warning shows on the store's pages for its staff alone.
				contains(t, "the store page for its admin", admin.page(t, "/stores/"+itoa(store), keys), `id="low-stock"`, "香皂（大块）", "剩 2 件")
				contains(t, "the admin page", admin.page(t, "/stores/"+itoa(store)+"/edit", keys), `id="low-stock"`)
				if strings.Contains(res.page(t, "/stores/"+itoa(store), keys), `id="low-stock"`) {
					t.Errorf("a resident is shown the low-stock warning")
				}
			}},
			{"a pick-up order", func(t *testing.T) {
				contains(t, "the resident's home", res.page(t, "/", keys), `href="/shop"`, `href="/me/paycode"`, `href="/me/orders"`)
				contains(t, "the mall", res.page(t, "/shop", keys), "新窑村积分超市", "周一至周六 8:30–17:30", "uri.amap.com/marker?position=107.0352,35.3065")
				body := res.page(t, "/stores/"+itoa(store), keys)
				contains(t, "the catalogue", body, "香皂（大块）", "6 积分", "理发一次", "不限量", `name="qty_`+itoa(soap)+`"`, "48 小时")
				if strings.Contains(body, "/counter") || strings.Contains(body, "/settlement") {
					t.Errorf("a resident is offered the staff's pages")
				}
				key := formKey(t, body)
				r := res.post(t, "/stores/"+itoa(store)+"/orders", form("key", key, "qty_"+itoa(soap), "1"))
				order = atoi64(location(t, "order", r, orderedRE)[1])
				// A double tap sends the same key: the same order.
				r = res.post(t, "/stores/"+itoa(store)+"/orders", form("key", key, "qty_"+itoa(soap), "1"))
				if got := atoi64(location(t, "the same order again", r, orderedRE)[1]); got != order {
					t.Errorf("a double submit made order %d besides %d", got, order)
				}
				r = res.post(t, "/stores/"+itoa(store)+"/orders", form("key", "", "qty_"+itoa(soap), "1"))
				r.wantStatus(t, "an order without its key", http.StatusUnprocessableEntity)
				r = res.post(t, "/stores/"+itoa(store)+"/orders", form("key", "k-empty"))
				r.wantStatus(t, "an empty basket", http.StatusUnprocessableEntity)
				contains(t, "the empty basket", r.Body, "请至少选择一件商品")

				body = res.page(t, "/me/orders", keys)
				contains(t, "my orders", body, `id="order-`+itoa(order)+`"`, "待取货", "香皂（大块）×1", "-6", "取消订单")
				qrs := pageQRs(t, "the pick-up QR", body)
				if len(qrs) != 1 || !strings.HasPrefix(qrs[0], "JFP:"+itoa(order)+":") {
					t.Fatalf("the order's QR codes read %v, want JFP:%d:code", qrs, order)
				}
				pickup = strings.TrimPrefix(qrs[0], "JFP:"+itoa(order)+":")
				contains(t, "the pick-up digits", body, pickup[:4]+" "+pickup[4:])
			}},
			{"my pay code", func(t *testing.T) {
				body := res.page(t, "/me/paycode", keys)
				contains(t, "the pay code page", body, `data-code-url="/me/paycode.json"`, `data-poll-url="/me/redemptions.json"`, `src="/static/store.js"`,
					`<noscript><meta http-equiv="refresh"`, "294")
				qrs := pageQRs(t, "the pay code", body)
				m := digitsRE.FindStringSubmatch(body)
				if len(qrs) != 1 || m == nil {
					t.Fatalf("the pay code page shows %d QR codes and digits %v", len(qrs), m)
				}
				if !paycodeShape.MatchString(qrs[0]) || strings.ReplaceAll(m[1], " ", "") != qrs[0] {
					t.Errorf("the QR code reads %q, the digits %q", qrs[0], m[1])
				}
				if len(strings.Fields(m[1])) < 4 {
					t.Errorf("the digits %q are not grouped", m[1])
				}
				j := res.pageJSON(t, "/me/paycode.json")
				if c, _ := j["code"].(string); !paycodeShape.MatchString(c) || c == qrs[0] || jsonInt(t, j, "expires_in") != 60 ||
					strings.ReplaceAll(j["digits"].(string), " ", "") != c || !strings.HasPrefix(j["qr"].(string), "data:image/png;base64,") {
					t.Errorf("the script's pay code reads %v", j)
				}
				if r := e.browser(t).get(t, "/me/paycode.json"); r.Status != http.StatusSeeOther {
					t.Errorf("a pay code signed out: %d", r.Status)
				}
			}},
			{"the counter", func(t *testing.T) {
				body := clerk.page(t, "/stores/"+itoa(store)+"/counter", keys)
				contains(t, "the counter", body, `src="/static/vendor/jsQR.js"`, `id="scan-paycode"`, `name="qty_`+itoa(soap)+`"`, `id="waiting-`+itoa(order)+`"`)
				for _, b := range []*browser{res, e.signedIn(t, volunteer)} {
					if r := b.get(t, "/stores/"+itoa(store)+"/counter"); r.Status != http.StatusNotFound {
						t.Errorf("someone who is not a clerk opens the counter: %d, want 404", r.Status)
					}
				}
				code := res.pageJSON(t, "/me/paycode.json")
				key := formKey(t, body)
				// Without a pay code or a card the counter sells nothing (the
				// service would take it for the clerk's own order).
				r := clerk.post(t, "/stores/"+itoa(store)+"/counter", form("key", key, "qty_"+itoa(wash), "1"))
				r.wantStatus(t, "no pay code", http.StatusUnprocessableEntity)
				contains(t, "the counter after an error", r.Body, "请扫描或输入居民的付款码", `value="1"`)
				r = clerk.post(t, "/stores/"+itoa(store)+"/counter", form("key", key, "qty_"+itoa(wash), "1", "volunteer_no", resM.no))
				r.wantStatus(t, "a card without a PIN", http.StatusUnprocessableEntity)
				contains(t, "the card form after an error", r.Body, `<details id="card-pay" open>`)
				if rs := clerk.pageJSON(t, "/me/redemptions.json")["items"].([]any); len(rs) != 0 {
					t.Errorf("the clerk has redemptions of their own: %v", rs)
				}
				// The digits as the resident reads them out, spaces and all.
				m := location(t, "sell", clerk.post(t, "/stores/"+itoa(store)+"/counter", form("key", key, "qty_"+itoa(wash), "2", "paycode", code["digits"].(string))), soldRE)
				if m[2] != "completed" {
					t.Errorf("the sale is %s", m[2])
				}
				sale = atoi64(m[3])
				body = clerk.page(t, "/stores/"+itoa(store)+"/counter?done=sold_completed&sale="+itoa(sale), keys)
				contains(t, "the result", body, "兑换成功", `id="sale"`, `data-status="completed"`, resM.name, "理发一次×2", "-40", `id="sale-`+itoa(sale)+`"`)
				// The resident's phone sees it at its next poll.
				j := res.pageJSON(t, "/me/redemptions.json?after="+itoa(order))
				items := j["items"].([]any)
				if len(items) == 0 || jsonInt(t, items[0].(map[string]any), "id") != sale || items[0].(map[string]any)["status"] != "completed" ||
					items[0].(map[string]any)["status_text"] != "已完成" {
					t.Errorf("the resident's poll reads %v", j)
				}
				if jsonInt(t, j, "balance") != 300-6-40 {
					t.Errorf("the poll's balance is %v, want %d", j["balance"], 300-6-40)
				}
				if j := res.pageJSON(t, "/me/redemptions.json?after="+itoa(sale)); j["balance"] != nil {
					t.Errorf("a poll with nothing new reads the balance: %v", j)
				}
				// The spent code again is refused with the form kept.
				r = clerk.post(t, "/stores/"+itoa(store)+"/counter", form("key", "k-again", "qty_"+itoa(wash), "1", "paycode", code["code"].(string)))
				r.wantStatus(t, "the spent code", http.StatusUnprocessableEntity)
				contains(t, "the spent code", r.Body, "这个付款码已经用过了")

				// The order, by its QR code scanned into the code box.
				r = clerk.post(t, "/stores/"+itoa(store)+"/pickup", form("order", itoa(order), "code", "12345678"))
				r.wantStatus(t, "a wrong pick-up code", http.StatusUnprocessableEntity)
				r = clerk.post(t, "/stores/"+itoa(store)+"/pickup", form("code", "JFP:987654:"+pickup))
				r.wantStatus(t, "an order the store does not have", http.StatusUnprocessableEntity)
				r = clerk.post(t, "/stores/"+itoa(store)+"/pickup", form("code", "JFP:"+itoa(order)+":"+pickup))
				r.wantStatus(t, "hand over", http.StatusSeeOther)
				if want := "/stores/" + itoa(store) + "/counter?done=fulfilled&sale=" + itoa(order); r.Header.Get("Location") != want {
					t.Errorf("handing over went to %s", r.Header.Get("Location"))
				}
				contains(t, "my orders after the pick-up", res.page(t, "/me/orders", keys), "已完成")

				r = clerk.post(t, "/redemptions/"+itoa(sale)+"/refund", form("back", "counter", "reason", ""))
				r.wantStatus(t, "a refund without a reason", http.StatusUnprocessableEntity)
				contains(t, "the counter after an error", r.Body, "退货必须说明原因", "收银台")
				r = clerk.post(t, "/redemptions/"+itoa(sale)+"/refund", form("back", "counter", "reason", "理发师请假"))
				r.wantStatus(t, "refund", http.StatusSeeOther)
				if !strings.HasPrefix(r.Header.Get("Location"), "/stores/"+itoa(store)+"/counter?done=sale_refunded") {
					t.Errorf("the refund went to %s", r.Header.Get("Location"))
				}
				contains(t, "today's sales", clerk.page(t, "/stores/"+itoa(store)+"/counter", keys), "已退货", "理发师请假")
			}},
			{"a sale the resident confirms", func(t *testing.T) {
				p := storeValuesForm(t, admin, store)
				p.Set("confirm_above", "30")
				admin.post(t, "/stores/"+itoa(store), p).wantStatus(t, "a confirmation threshold", http.StatusSeeOther)
				body := clerk.page(t, "/stores/"+itoa(store)+"/counter", keys)
				code := res.pageJSON(t, "/me/paycode.json")["code"].(string)
				m := location(t, "a big sale", clerk.post(t, "/stores/"+itoa(store)+"/counter", form("key", formKey(t, body), "qty_"+itoa(wash), "2", "paycode", code)), soldRE)
				if m[2] != "confirming" {
					t.Fatalf("a sale of 40 above 30 is %s", m[2])
				}
				big := atoi64(m[3])
				contains(t, "the waiting sale", clerk.page(t, "/stores/"+itoa(store)+"/counter?done=sold_confirming&sale="+itoa(big), keys),
					`data-status="confirming"`, `data-state-url="/redemptions/`+itoa(big)+`/state"`, `id="sale-waiting"`)
				if st := clerk.pageJSON(t, "/redemptions/"+itoa(big)+"/state"); st["status"] != "confirming" {
					t.Errorf("the counter's poll reads %v", st)
				}
				if r := e.signedIn(t, volunteer).get(t, "/redemptions/"+itoa(big)+"/state"); r.Status != http.StatusNotFound {
					t.Errorf("someone else polls the sale: %d", r.Status)
				}
				body = res.page(t, "/me/paycode", keys)
				contains(t, "the pay code with a sale waiting", body, `id="waiting-`+itoa(big)+`"`, `action="/redemptions/`+itoa(big)+`/confirm"`, "确认兑换")
				if r := clerk.post(t, "/redemptions/"+itoa(big)+"/confirm", form("back", "counter")); r.Status != http.StatusNotFound {
					t.Errorf("the clerk confirms for the resident: %d, want 404", r.Status)
				}
				r := res.post(t, "/redemptions/"+itoa(big)+"/confirm", form("back", "paycode"))
				r.wantStatus(t, "confirm", http.StatusSeeOther)
				if r.Header.Get("Location") != "/me/paycode?done=sale_confirmed" {
					t.Errorf("confirming went to %s", r.Header.Get("Location"))
				}
				if st := clerk.pageJSON(t, "/redemptions/"+itoa(big)+"/state"); st["status"] != "completed" {
					t.Errorf("after the confirmation the counter reads %v", st)
				}
				r = res.post(t, "/redemptions/"+itoa(big)+"/confirm", form("back", "paycode"))
				r.wantStatus(t, "confirming twice", http.StatusConflict)
			}},
			{"cancel an order", func(t *testing.T) {
				body := res.page(t, "/stores/"+itoa(store), keys)
				o := atoi64(location(t, "order", res.post(t, "/stores/"+itoa(store)+"/orders", form("key", formKey(t, body), "qty_"+itoa(wash), "1")), orderedRE)[1])
				r := res.post(t, "/redemptions/"+itoa(o)+"/cancel", nil)
				r.wantStatus(t, "cancel", http.StatusSeeOther)
				if r.Header.Get("Location") != "/me/orders?done=order_cancelled#order-"+itoa(o) {
					t.Errorf("cancelling went to %s", r.Header.Get("Location"))
				}
				contains(t, "my orders", res.page(t, "/me/orders?done=order_cancelled", keys), "已取消，积分已退回", "已取消")
				r = res.post(t, "/redemptions/"+itoa(o)+"/cancel", nil)
				r.wantStatus(t, "cancelling twice", http.StatusConflict)
			}},
			{"the month's statement", func(t *testing.T) {
				if _, err := e.svc.Ledger.Seal(e.as(t, superAdmin)); err != nil {
					t.Fatal(err)
				}
				month := time.Now().In(jifen.Zone).Format("2006-01")
				body := admin.page(t, "/stores/"+itoa(store)+"/settlement?period="+month, keys)
				// The order of 6, the sale of 40 refunded, the confirmed 40.
				contains(t, "the statement", body, `id="unsettled"`, `<dd id="st-points"><strong>46</strong>`, "¥23.00",
					`href="/stores/`+itoa(store)+`/settlement.xlsx?period=`+month+`"`, "这个周期还没有结束")
				b, err := e.svc.Ledger.LatestBlock(e.as(t, superAdmin))
				if err != nil || b == nil {
					t.Fatalf("no block: %v", err)
				}
				if !strings.Contains(body, b.Hash) {
					t.Errorf("the statement does not show the latest block %s", b.Hash)
				}
				r := admin.get(t, "/stores/"+itoa(store)+"/settlement.xlsx?period="+month)
				r.wantStatus(t, "XLSX", http.StatusOK)
				if sum, n, total, _ := settlementSheet(t, r); sum != 46 || total != 46 || n != 4 {
					t.Errorf("the workbook's %d lines add up to %d (totals %d), want 4 lines of 46", n, sum, total)
				}
				r = admin.post(t, "/stores/"+itoa(store)+"/settlement", form("period", month))
				r.wantStatus(t, "settling this month", http.StatusConflict)
				contains(t, "the refusal", r.Body, "这个结算周期还没有结束")
				r = admin.get(t, "/stores/"+itoa(store)+"/settlement?period=11-2026")
				r.wantStatus(t, "a bad period", http.StatusUnprocessableEntity)
				contains(t, "the bad period", r.Body, "结算周期应为月份")
				if r := clerk.get(t, "/stores/"+itoa(store)+"/settlement"); r.Status != http.StatusForbidden {
					t.Errorf("the clerk opens the statement: %d, want 403", r.Status)
				}
			}},
			{"every page in both languages", func(t *testing.T) {
				month := time.Now().In(jifen.Zone).Format("2006-01")
				pages := map[*browser][]string{
					admin: {"/stores", "/stores/" + itoa(store), "/stores/" + itoa(store) + "/edit?q=马", "/items/" + itoa(soap), "/items/" + itoa(wash),
						"/stores/" + itoa(store) + "/counter", "/stores/" + itoa(store) + "/settlement?period=" + month, "/"},
					clerk: {"/", "/stores", "/stores/" + itoa(store) + "/counter?sale=" + itoa(sale)},
					res:   {"/", "/shop", "/stores/" + itoa(store), "/me/orders", "/me/paycode"},
				}
				for b, paths := range pages {
					for _, lang := range []string{"zh", "en"} {
						b.setCookie(langCookie, lang)
						for _, p := range paths {
							body := b.page(t, p, keys)
							if !strings.Contains(body, `<html lang="`+map[string]string{"zh": "zh-CN", "en": "en"}[lang]+`"`) {
								t.Errorf("%s is not in %s", p, lang)
							}
							if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(body) || strings.Contains(body, "#ZgotmplZ") {
								t.Errorf("%s carries inline script or a refused URL", p)
							}
						}
					}
					b.setCookie(langCookie, "zh")
				}
				b := admin
				b.setCookie(langCookie, "en")
				contains(t, "the counter in English", b.page(t, "/stores/"+itoa(store)+"/counter", keys), "Counter", "Confirm the sale")
				b.setCookie(langCookie, "zh")
			}},
		}
		for _, s := range steps {
			if !t.Run(s.name, s.fn) {
				return
			}
		}
	})
}

var inputValueRE = regexp.MustCompile(`<input name="([a-z_]+)"[^>]* value="([^"]*)"`)

// storeValuesForm reads the store form as its admin page fills it.
func storeValuesForm(t *testing.T, b *browser, store int64) url.Values {
	t.Helper()
	body := b.get(t, "/stores/"+itoa(store)+"/edit").Body
	body = body[strings.Index(body, `id="store-form"`):]
	v := url.Values{}
	for _, m := range inputValueRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	v.Set("kind", "supermarket")
	return v
}
