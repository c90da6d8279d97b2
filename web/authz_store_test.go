package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"jifen"
)

// The stores feature's own things in a foreign subtree, made by the super
// admin (see storeFixtures).
const (
	storeTarget target = appealTarget + 1 + iota // a store of the foreign org, with a clerk
	itemTarget                                   // an item of it, with a photo
	saleTarget                                   // a completed counter sale to the foreign person
	orderTarget                                  // the foreign person's pick-up order, waiting
)

type storeForeign struct {
	store, item, sale, order, clerk int64
	pickup                          string
}

func (s storeForeign) id(tg target) int64 {
	switch tg {
	case storeTarget:
		return s.store
	case itemTarget:
		return s.item
	case saleTarget:
		return s.sale
	case orderTarget:
		return s.order
	}
	return 0
}

// storeFixtures makes, as the super admin, a store of f's org with a
// clerk and an item with a photo, a counter sale to the foreign person
// (paid with their pay code) and their pick-up order.
func storeFixtures(t *testing.T, e *env, f *foreign) {
	t.Helper()
	super := e.as(t, superAdmin)
	st, err := e.svc.Stores.CreateStore(super, jifen.StoreInput{OrgID: f.org, Name: f.orgName + "积分超市"})
	if err != nil {
		t.Fatal(err)
	}
	f.stores.store = st.ID
	clerk := e.createPerson(t, f.orgName+"店员", f.personOrg, nil)
	f.stores.clerk = jsonInt(t, clerk, "id")
	if err := e.svc.Stores.AddClerk(super, st.ID, f.stores.clerk); err != nil {
		t.Fatal(err)
	}
	stock := int64(100)
	it, err := e.svc.Stores.CreateItem(super, st.ID, jifen.ItemInput{Name: "香皂", Points: 5, Stock: &stock, Photo: sealPNG(t)})
	if err != nil {
		t.Fatal(err)
	}
	f.stores.item = it.ID
	e.fund(t, f.person, f.org, 100, "authz-store-"+itoa(f.org))
	p, err := e.svc.People.Person(e.as(t, ""), f.person)
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.svc.Orgs.Org(e.as(t, ""), p.HomeOrgID)
	if err != nil {
		t.Fatal(err)
	}
	buyer := jifen.WithActor(t.Context(), &jifen.Actor{PersonID: f.person, HomeOrgID: o.ID, HomeOrgPath: o.Path})
	pc, err := e.svc.Stores.NewPaycode(buyer)
	if err != nil {
		t.Fatal(err)
	}
	sale, err := e.svc.Stores.Redeem(super, jifen.RedemptionInput{StoreID: st.ID, Paycode: pc.Code, Key: "authz-sale-" + itoa(f.org), Lines: []jifen.Line{{ItemID: it.ID, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	order, err := e.svc.Stores.Redeem(buyer, jifen.RedemptionInput{StoreID: st.ID, Key: "authz-order-" + itoa(f.org), Lines: []jifen.Line{{ItemID: it.ID, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if sale.Status != jifen.RedemptionCompleted || order.Status != jifen.RedemptionHeld || order.PickupCode == "" {
		t.Fatalf("the foreign sale is %s and the order %s", sale.Status, order.Status)
	}
	f.stores.sale, f.stores.order, f.stores.pickup = sale.ID, order.ID, order.PickupCode
}

// storesUnchanged checks that the out-of-scope requests of the matrix
// left the foreign stores as the fixtures made them.
func storesUnchanged(t *testing.T, e *env, sets map[string]*foreign) {
	t.Helper()
	super := e.as(t, superAdmin)
	for name, f := range sets {
		st, err := e.svc.Stores.Store(super, f.stores.store)
		if err != nil {
			t.Fatal(err)
		}
		if st.Name != f.orgName+"积分超市" || st.ConfirmAbove != 0 {
			t.Errorf("the foreign store of %s changed: %+v", name, st)
		}
		items, err := e.svc.Stores.Items(super, f.stores.store)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].Name != "香皂" || *items[0].Stock != 98 || items[0].Points != 5 {
			t.Errorf("the foreign store's items of %s changed: %d items, the first %+v", name, len(items), items[0])
		}
		clerks, err := e.svc.Stores.Clerks(super, f.stores.store)
		if err != nil {
			t.Fatal(err)
		}
		if len(clerks) != 1 || clerks[0].ID != f.stores.clerk {
			t.Errorf("the foreign store's clerks of %s changed: %d clerks", name, len(clerks))
		}
		for id, want := range map[int64]jifen.RedemptionStatus{f.stores.sale: jifen.RedemptionCompleted, f.stores.order: jifen.RedemptionHeld} {
			r, err := e.svc.Stores.Redemption(super, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != want {
				t.Errorf("the foreign redemption %d of %s is %s, want %s", id, name, r.Status, want)
			}
		}
		_, total, err := e.svc.Stores.Redemptions(super, jifen.RedemptionFilter{StoreID: f.stores.store})
		if err != nil {
			t.Fatal(err)
		}
		if total != 2 {
			t.Errorf("the foreign store of %s has %d redemptions, want the 2 fixtures", name, total)
		}
		s, err := e.svc.Stores.Settlement(super, f.stores.store, lastMonth())
		if err != nil {
			t.Fatal(err)
		}
		if s.Settled {
			t.Errorf("the foreign store's last month of %s was settled", name)
		}
	}
	all, err := e.svc.Stores.Stores(super, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range all {
		if strings.Contains(st.Name, "越权") {
			t.Errorf("a store %s was opened by an out-of-scope request", st.Name)
		}
	}
}

// lastMonth is the period a settle request names: one that has ended.
func lastMonth() string {
	// An hour ago: in the first minutes of a month the month just ended
	// cannot be settled yet (settleGrace), the one before it can.
	now := time.Now().Add(-time.Hour).In(jifen.Zone)
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, jifen.Zone).AddDate(0, -1, 0).Format("2006-01")
}

func init() {
	itemPath := func(tail string) func(f *foreign) string {
		return func(f *foreign) string {
			return "/api/v1/stores/" + itoa(f.stores.store) + "/items/" + itoa(f.stores.item) + tail
		}
	}
	period := func(*foreign) string { return "period=" + lastMonth() }
	storeForm := func(*foreign) any {
		return form("name", "越权改名", "kind", "merchant", "confirm_above", "1", "fen_per_point", "1.00", "hold_hours", "48", "refund_days", "7")
	}
	itemForm := func(*foreign) any { return form("name", "越权商品", "points", "1", "stock", "5") }
	for k, v := range map[string]access{
		// Anyone signed in: their own mall, orders and pay code.
		"GET /shop":                {},
		"GET /me/orders":           {},
		"GET /me/paycode":          {},
		"GET /me/paycode.json":     {},
		"GET /me/redemptions.json": {},
		"GET /stores":              {},
		// A store that does not serve the actor is not found, and neither
		// are its sales and orders.
		"GET /stores/{id}": {id: storeTarget},
		"POST /stores/{id}/orders": {id: storeTarget, body: func(f *foreign) any {
			return form("key", "authz-order-page", "qty_"+itoa(f.stores.item), "1")
		}},
		"GET /redemptions/{id}/state":    {id: saleTarget},
		"POST /redemptions/{id}/confirm": {id: saleTarget},
		"POST /redemptions/{id}/cancel":  {id: orderTarget, body: func(*foreign) any { return form("back", "counter") }},
		"POST /redemptions/{id}/refund":  {id: saleTarget, body: func(*foreign) any { return form("back", "counter", "reason", "越权退货") }},
		// The counter is for the store's clerks and managers.
		"GET /stores/{id}/counter": {id: storeTarget},
		"POST /stores/{id}/counter": {id: storeTarget, body: func(f *foreign) any {
			return form("key", "authz-counter", "qty_"+itoa(f.stores.item), "1", "paycode", forgedPaycode())
		}},
		"POST /stores/{id}/pickup": {id: storeTarget, body: func(f *foreign) any {
			return form("order", itoa(f.stores.order), "code", f.stores.pickup)
		}},
		// Admin pages: org admins of the store's org.
		"POST /stores": {body: func(f *foreign) any {
			return form("org_id", itoa(f.org), "name", "越权超市", "kind", "supermarket")
		}},
		"GET /stores/{id}/edit":    {id: storeTarget},
		"POST /stores/{id}":        {id: storeTarget, body: storeForm},
		"POST /stores/{id}/clerks": {id: storeTarget, body: func(f *foreign) any { return form("person_id", itoa(f.person)) }},
		"POST /stores/{id}/clerks/{person_id}/remove": {id: storeTarget, path: func(f *foreign) string {
			return "/stores/" + itoa(f.stores.store) + "/clerks/" + itoa(f.stores.clerk) + "/remove"
		}},
		"POST /stores/{id}/items":          {id: storeTarget, body: itemForm},
		"GET /items/{id}":                  {id: itemTarget},
		"POST /items/{id}":                 {id: itemTarget, body: itemForm},
		"POST /items/{id}/restock":         {id: itemTarget, body: func(*foreign) any { return form("quantity", "5", "note", "越权补货") }},
		"POST /items/{id}/stocktake":       {id: itemTarget, body: func(*foreign) any { return form("counted", "0", "reason", "越权盘点") }},
		"GET /items/{id}/photo":            {id: itemTarget},
		"GET /stores/{id}/settlement":      {id: storeTarget, query: period},
		"POST /stores/{id}/settlement":     {id: storeTarget, body: func(*foreign) any { return form("period", lastMonth()) }},
		"GET /stores/{id}/settlement.xlsx": {id: storeTarget, query: period},
		"GET /stores/{id}/settlement.pdf":  {id: storeTarget, query: period},

		// The API.
		"POST /api/v1/stores":             {body: func(f *foreign) any { return map[string]any{"org_id": f.org, "name": "越权超市"} }},
		"GET /api/v1/stores":              {},
		"GET /api/v1/stores/{id}":         {id: storeTarget},
		"POST /api/v1/stores/{id}":        {id: storeTarget, body: func(*foreign) any { return map[string]any{"name": "越权改名", "confirm_above": 1} }},
		"GET /api/v1/stores/{id}/clerks":  {id: storeTarget},
		"POST /api/v1/stores/{id}/clerks": {id: storeTarget, body: func(f *foreign) any { return map[string]any{"person_id": f.person} }},
		"DELETE /api/v1/stores/{id}/clerks/{person_id}": {id: storeTarget, path: func(f *foreign) string {
			return "/api/v1/stores/" + itoa(f.stores.store) + "/clerks/" + itoa(f.stores.clerk)
		}},
		"GET /api/v1/stores/{id}/items":           {id: storeTarget},
		"POST /api/v1/stores/{id}/items":          {id: storeTarget, body: func(*foreign) any { return map[string]any{"name": "越权商品", "points": 1} }},
		"GET /api/v1/stores/{id}/items/{item_id}": {id: storeTarget, path: itemPath("")},
		"POST /api/v1/stores/{id}/items/{item_id}": {id: storeTarget, path: itemPath(""), body: func(*foreign) any {
			return map[string]any{"name": "越权商品", "points": 1}
		}},
		"POST /api/v1/stores/{id}/items/{item_id}/restock": {id: storeTarget, path: itemPath("/restock"), body: func(*foreign) any {
			return map[string]any{"quantity": 5, "note": "越权补货"}
		}},
		"POST /api/v1/stores/{id}/items/{item_id}/stocktake": {id: storeTarget, path: itemPath("/stocktake"), body: func(*foreign) any {
			return map[string]any{"counted": 0, "reason": "越权盘点"}
		}},
		"GET /api/v1/stores/{id}/items/{item_id}/movements": {id: storeTarget, path: itemPath("/movements")},
		"GET /api/v1/stores/{id}/redemptions":               {id: storeTarget},
		"GET /api/v1/me/paycode":                            {},
		"GET /api/v1/me/redemptions":                        {},
		// The matrix sends no Idempotency-Key, which the API asks for first
		// (422); TestStoreAPIScope sends one and is refused.
		"POST /api/v1/redemptions": {body: func(f *foreign) any {
			return map[string]any{"store_id": f.stores.store, "paycode": forgedPaycode(), "lines": basket(f.stores.item, 1)}
		}, deny: []int{403, 404, 422}},
		"GET /api/v1/redemptions/{id}":          {id: saleTarget},
		"POST /api/v1/redemptions/{id}/fulfil":  {id: orderTarget, body: func(f *foreign) any { return map[string]any{"code": f.stores.pickup} }},
		"POST /api/v1/redemptions/{id}/cancel":  {id: orderTarget},
		"POST /api/v1/redemptions/{id}/confirm": {id: saleTarget},
		"POST /api/v1/redemptions/{id}/refund":  {id: saleTarget, body: func(*foreign) any { return map[string]any{"reason": "越权退货"} }},
		"GET /api/v1/stores/{id}/settlements":   {id: storeTarget, query: period},
		"POST /api/v1/stores/{id}/settlements":  {id: storeTarget, body: func(*foreign) any { return map[string]any{"period": lastMonth()} }},
	} {
		matrix[k] = v
	}
}

// TestStoreAPIScope sends the counter's and the order's requests with
// their Idempotency-Key to a store outside the actor's reach: refused,
// and nothing is sold.
func TestStoreAPIScope(t *testing.T) {
	t.Parallel()
	eachServiceDB(t, func(t *testing.T, e *svcEnv) {
		super := e.token(t, superAdmin)
		town := e.org(t, "城关社区")
		r := e.api(t, "POST", "/api/v1/stores", super, map[string]any{"org_id": town, "name": "城关社区积分超市"})
		r.wantStatus(t, "a store", http.StatusCreated)
		store := jsonInt(t, r.JSON(t), "id")
		r = e.api(t, "POST", "/api/v1/stores/"+itoa(store)+"/items", super, map[string]any{"name": "香皂", "points": 5})
		r.wantStatus(t, "an item", http.StatusCreated)
		item := jsonInt(t, r.JSON(t), "id")
		buyer := e.member(t, "城关居民", town, nil)
		e.fund(t, buyer.id, town, 50, "scope-open")
		for _, phone := range []string{villageAdmin, teamLeader, volunteer, resident} {
			tok := e.token(t, phone)
			// A store out of sight is not there at all.
			wantAPIError(t, phone+" at the counter", e.redeem(t, tok, "scope-"+phone, map[string]any{"store_id": store, "paycode": e.paycode(t, buyer.tok),
				"lines": basket(item, 1)}), http.StatusNotFound, "not_found", "")
			wantAPIError(t, phone+" orders", e.redeem(t, tok, "scope-order-"+phone, map[string]any{"store_id": store, "lines": basket(item, 1)}),
				http.StatusNotFound, "not_found", "store_id")
		}
		if b := e.balance(t, buyer.tok, buyer.id); b != 50 {
			t.Errorf("the buyer's balance is %d after refused sales, want 50", b)
		}
	})
}
