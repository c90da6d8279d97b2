package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb/sqldbtest"
)

// FuzzCodes types anything into the boxes where a code is scanned or read
// out: a pay code at the counter (API), a pick-up code (API, and the
// counter form, which also reads the JFP:order:code of the QR), a
// volunteer number or JFV: QR text at the leader's scan box, a check-in
// code. The real server over SQLite answers; it never fails with a 5xx,
// the API's refusals have the documented shape, and nothing but the real
// code sells, hands over or checks in.
func FuzzCodes(f *testing.F) {
	for _, s := range []string{"123456789012345678", "912345678901234567", " 9123 4567-8901 2345 67 ", "JFP:1:00000000", "JFP:99999999999999999999:1",
		"JFP::", "JFV:202600000000", "JFV:", "AAAAAAAAAA", "\x00", "\xff\xfe", "' OR 1=1--", "９１２３", "", strings.Repeat("9", 1000)} {
		f.Add(s)
	}
	e := newServer(f, sqldbtest.DSNs(f)["sqlite"](f))
	// Each try moves the clock on, past the counter's throttle window, so
	// the fuzzer keeps reaching the code checks instead of the throttle.
	var offset atomic.Int64
	e.db.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	super := e.as(f, superAdmin)
	org := e.org(f, "新窑村")
	st, err := e.svc.Stores.CreateStore(super, jifen.StoreInput{OrgID: org, Name: "模糊测试超市"})
	if err != nil {
		f.Fatal(err)
	}
	stock := int64(1000000)
	it, err := e.svc.Stores.CreateItem(super, st.ID, jifen.ItemInput{Name: "香皂", Points: 1, Stock: &stock})
	if err != nil {
		f.Fatal(err)
	}
	buyer := e.personByPhone(f, resident)
	e.fund(f, buyer.ID, org, 1000, "fuzz-codes")
	order, err := e.svc.Stores.Redeem(e.as(f, resident), jifen.RedemptionInput{StoreID: st.ID, Key: "fuzz-order", Lines: []jifen.Line{{ItemID: it.ID, Quantity: 1}}})
	if err != nil || order.PickupCode == "" {
		f.Fatalf("no pick-up order: %v", err)
	}
	_, act := e.activity(f, e.org(f, "新窑村志愿服务队"))
	tok := e.token(f, superAdmin)
	b := e.signedIn(f, superAdmin)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, code string) {
		offset.Add(int64(16 * time.Minute))
		key := "fuzz-" + itoa(n.Add(1))
		check := func(what string, r *result, api bool, mayPass bool) {
			t.Helper()
			if r.Status >= 500 {
				t.Fatalf("%s with %q: %d %.300s", what, code, r.Status, r.Body)
			}
			if r.Status < 400 && !mayPass {
				t.Fatalf("%s accepted the forged code %q: %d %.300s", what, code, r.Status, r.Body)
			}
			if api && r.Status >= 400 {
				if msg := apiErrorShape(r); msg != "" {
					t.Fatalf("%s with %q: %s", what, code, msg)
				}
			}
		}
		check("a sale by pay code", e.api(t, "POST", "/api/v1/redemptions", tok, map[string]any{"store_id": st.ID, "paycode": code,
			"lines": []map[string]any{{"item_id": it.ID, "quantity": 1}}}, "Idempotency-Key", key), true, false)
		real := strings.TrimSpace(code) == order.PickupCode
		check("a pick-up by code", e.api(t, "POST", "/api/v1/redemptions/"+itoa(order.ID)+"/fulfil", tok, map[string]any{"code": code}), true, real)
		check("the counter's pick-up box", b.post(t, "/stores/"+itoa(st.ID)+"/pickup", url.Values{"code": {code}}), false,
			strings.Contains(code, order.PickupCode))
		check("the leader's scan box", b.post(t, "/activities/"+itoa(act)+"/scan", url.Values{"volunteer_no": {code}, "direction": {"in"}}), false, true)
		check("a check-in", e.api(t, "POST", "/api/v1/activities/"+itoa(act)+"/checkins", tok, map[string]any{"code": code}), true, false)
		if r := e.api(t, "GET", "/api/v1/redemptions/"+itoa(order.ID), tok, nil); r.Status != http.StatusOK {
			t.Fatalf("the order cannot be read: %d", r.Status)
		} else if r.JSON(t)["status"] == string(jifen.RedemptionCompleted) && !real && !strings.Contains(code, order.PickupCode) {
			t.Fatalf("the order was handed over for %q", code)
		}
	})
}
