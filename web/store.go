package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"jifen"
	"jifen/qr"
)

// The store pages: the points mall (积分商城) and a store's catalogue with
// pick-up orders for residents, "my pay code" and "my orders"; the clerk's
// counter (收银台) on a phone; the admin pages of stores, clerks, items and
// stock; the monthly or yearly settlement with its XLSX and PDF.

func init() {
	funcs["storeKind"] = func(lang string, k jifen.StoreKind) string {
		if lang == "en" {
			return string(k)
		}
		return k.Zh()
	}
	funcs["redemptionStatus"] = func(lang string, st jifen.RedemptionStatus) string { return redemptionStatusText(lang, st) }
	funcs["limitPeriod"] = func(lang string, p jifen.LimitPeriod) string {
		if lang == "en" {
			return "a " + string(p)
		}
		return p.Zh()
	}
	funcs["movementKind"] = func(lang, k string) string { return tr(lang, "movement."+k) }
	funcs["yuan"] = jifen.Yuan
	funcs["digits"] = groupDigits
	funcs["linesText"] = linesText
	funcs["deref64"] = func(p *float64) float64 { return *p }
	funcs["mul"] = func(a, b int64) int64 { return a * b }
	// dict passes several values to a shared part of a template.
	funcs["dict"] = func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	}
	// onSale: an item a resident may buy today (not archived, in its dates).
	funcs["onSale"] = func(it *jifen.Item, day string) bool { return itemOnSale(it, day) }
}

func redemptionStatusText(lang string, st jifen.RedemptionStatus) string {
	if lang == "en" {
		return st.En()
	}
	return st.Zh()
}

// linesText is a basket as one line: 洗衣粉×1、香皂×2.
func linesText(lines []jifen.Line) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = l.Name + "×" + strconv.FormatInt(l.Quantity, 10)
	}
	return strings.Join(parts, "、")
}

// groupDigits spaces a code out so it can be read aloud and typed: the
// 18 digits of a pay code as 4 4 4 3 3, shorter codes in fours.
func groupDigits(code string) string {
	sizes := []int{4, 4, 4, 3, 3}
	if len(code) != jifen.PaycodeDigits {
		sizes = nil
		for n := len(code); n > 0; n -= 4 {
			sizes = append(sizes, min(4, n))
		}
	}
	var parts []string
	for _, n := range sizes {
		if n > len(code) {
			n = len(code)
		}
		parts = append(parts, code[:n])
		code = code[n:]
	}
	if code != "" {
		parts = append(parts, code)
	}
	return strings.Join(parts, " ")
}

func itemOnSale(it *jifen.Item, day string) bool {
	return !it.Archived && (it.ValidFrom == "" || it.ValidFrom <= day) && (it.ValidTo == "" || it.ValidTo >= day)
}

// storePhotoUpload names the pages that take an item's photo (the
// catalogue's new-item and edit forms), which get the upload body limit.
func storePhotoUpload(path string) bool {
	return storeItemsPath.MatchString(path) || itemPath.MatchString(path)
}

var (
	storeItemsPath = regexp.MustCompile(`^/stores/\d+/items$`)
	itemPath       = regexp.MustCompile(`^/items/\d+$`)
)

// PickupQRPrefix starts the text of a pick-up order's QR code: the
// order's number and its code, so one scan names both.
const PickupQRPrefix = "JFP:"

func (s *Server) registerStorePages() {
	page := func(method, path string, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: path}, h)
	}
	// Residents: the mall, a store's catalogue and orders, the pay code.
	page("GET", "/shop", s.shopPage)
	page("GET", "/stores/{id}", s.storePage)
	page("POST", "/stores/{id}/orders", s.orderCreate)
	page("GET", "/me/orders", s.ordersPage)
	page("GET", "/me/paycode", s.paycodePage)
	page("GET", "/me/paycode.json", s.paycodeJSON)
	page("GET", "/me/redemptions.json", s.myRedemptionsJSON)
	page("GET", "/redemptions/{id}/state", s.redemptionState)
	page("POST", "/redemptions/{id}/confirm", s.redemptionAction("sale_confirmed", func(r *http.Request, id int64) error {
		_, err := s.svc.Stores.Confirm(r.Context(), id)
		return err
	}))
	page("POST", "/redemptions/{id}/cancel", s.redemptionAction("order_cancelled", func(r *http.Request, id int64) error {
		_, err := s.svc.Stores.Cancel(r.Context(), id)
		return err
	}))
	page("POST", "/redemptions/{id}/refund", s.redemptionAction("sale_refunded", func(r *http.Request, id int64) error {
		_, err := s.svc.Stores.Refund(r.Context(), id, r.FormValue("reason"))
		return err
	}))

	// The counter.
	page("GET", "/stores/{id}/counter", s.counterPage)
	page("POST", "/stores/{id}/counter", s.counterSell)
	page("POST", "/stores/{id}/pickup", s.counterPickup)

	// Admin: stores, clerks, items and stock.
	page("GET", "/stores", s.storesPage)
	page("POST", "/stores", s.storeCreate)
	edit := s.storeEditDetail()
	page("GET", "/stores/{id}/edit", s.signedInFirst(edit.show))
	page("POST", "/stores/{id}", edit.action(then("saved", func(r *http.Request, id int64) error {
		in, err := storeInput(r)
		if err != nil {
			return err
		}
		_, err = s.svc.Stores.UpdateStore(r.Context(), id, in)
		return err
	})))
	page("POST", "/stores/{id}/clerks", edit.action(then("clerk_added", func(r *http.Request, id int64) error {
		return s.svc.Stores.AddClerk(r.Context(), id, formInt(r, "person_id"))
	})))
	page("POST", "/stores/{id}/clerks/{person_id}/remove", edit.action(then("clerk_removed", func(r *http.Request, id int64) error {
		pid, err := pathID(r, "person_id")
		if err != nil {
			return err
		}
		return s.svc.Stores.RemoveClerk(r.Context(), id, pid)
	})))
	page("POST", "/stores/{id}/items", s.itemCreate)
	item := s.itemDetail()
	page("GET", "/items/{id}", s.signedInFirst(item.show))
	page("POST", "/items/{id}", s.itemUpdate)
	page("POST", "/items/{id}/restock", item.action(then("restocked", func(r *http.Request, id int64) error {
		n, err := formNumber(r, "quantity")
		if err != nil {
			return err
		}
		_, err = s.svc.Stores.Restock(r.Context(), id, n, r.FormValue("note"))
		return err
	})))
	page("POST", "/items/{id}/stocktake", item.action(then("stocktaken", func(r *http.Request, id int64) error {
		if strings.TrimSpace(r.FormValue("counted")) == "" {
			return jifen.Invalid("counted", "请填写盘点数量", "Enter the counted stock")
		}
		n, err := formNumber(r, "counted")
		if err != nil {
			return jifen.Invalid("counted", "请填写整数", "Enter a whole number")
		}
		_, err = s.svc.Stores.StockTake(r.Context(), id, n, r.FormValue("reason"))
		return err
	})))
	page("GET", "/items/{id}/photo", s.itemPhoto)

	// Settlement.
	page("GET", "/stores/{id}/settlement", s.settlementPage)
	page("POST", "/stores/{id}/settlement", s.settle)
	page("GET", "/stores/{id}/settlement.xlsx", s.settlementXLSX)
	page("GET", "/stores/{id}/settlement.pdf", s.settlementPDF)
}

// signedInFirst sends the signed-out to sign in before a page reads
// anything.
func (s *Server) signedInFirst(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.signedIn(w, r) != nil {
			h(w, r)
		}
	}
}

// homeStores is what the home page offers about stores: a counter tile
// for each store the person runs (a clerk, or an admin of a few), and
// whether they administer any.
func (s *Server) homeStores(r *http.Request) (counters []*jifen.Store, admin bool, err error) {
	a := jifen.ActorFrom(r.Context())
	paths, all := a.ScopePaths(jifen.RoleOrgAdmin)
	admin = all || len(paths) > 0
	if all {
		return nil, admin, nil // the whole county's stores are on /stores
	}
	run, err := s.svc.Stores.Stores(r.Context(), true)
	if err != nil {
		return nil, admin, err
	}
	if len(run) > maxCounterTiles {
		return nil, admin, nil
	}
	return run, admin, nil
}

// maxCounterTiles bounds the counter tiles on the home page; more stores
// are reached through /stores.
const maxCounterTiles = 6

// qrDataURL is a QR code as a data: URL, for codes that must not appear
// in an address (and so in logs or history): pay codes and pick-up codes.
func qrDataURL(text string) (template.URL, error) {
	png, err := qr.PNG(text, 8)
	if err != nil {
		return "", err
	}
	// Trusted: our own encoder's PNG, base64; html/template would otherwise
	// refuse a data: URL.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// The mall and a store's catalogue.

func (s *Server) shopPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	stores, err := s.svc.Stores.Stores(r.Context(), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "store_shop", map[string]any{"Stores": stores})
}

// storeRoles tells what the actor may do at a store beyond buying: sell
// (its clerks and managers) and manage (org admins of its org).
func (s *Server) storeRoles(r *http.Request, id int64) (seller, manager bool) {
	seller, manager, err := s.svc.Stores.Roles(r.Context(), id)
	if err != nil {
		return false, false
	}
	return seller, manager
}

func (s *Server) storeData(r *http.Request, id int64) (map[string]any, error) {
	st, err := s.svc.Stores.Store(r.Context(), id)
	if err != nil {
		return nil, err
	}
	items, err := s.svc.Stores.Items(r.Context(), id)
	if err != nil {
		return nil, err
	}
	seller, manager := s.storeRoles(r, id)
	day := s.today()
	var onSale, low []*jifen.Item
	for _, it := range items {
		if itemOnSale(it, day) {
			onSale = append(onSale, it)
		}
		if !it.Archived && it.Low() {
			low = append(low, it)
		}
	}
	data := map[string]any{"S": st, "Items": onSale, "Seller": seller, "Manager": manager, "Key": formKey(), "P": postedForm(r), "Day": day}
	if seller {
		data["Low"] = low
	}
	return data, nil
}

func (s *Server) storePage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	detail{s: s, name: "store", data: s.storeData}.show(w, r)
}

// basketLines reads the quantities of a basket (qty_ITEM fields; empty or
// 0 leaves the item out), in item order.
func basketLines(r *http.Request) ([]jifen.Line, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	var lines []jifen.Line
	for k, vs := range r.PostForm {
		id, ok := strings.CutPrefix(k, "qty_")
		if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		item, err := strconv.ParseInt(id, 10, 64)
		if err != nil || item <= 0 {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64)
		if err != nil || n < 0 {
			return nil, jifen.Invalid("quantity", "数量应为整数", "A quantity is a whole number")
		}
		if n > 0 {
			lines = append(lines, jifen.Line{ItemID: item, Quantity: n})
		}
	}
	slices.SortFunc(lines, func(a, b jifen.Line) int { return int(a.ItemID - b.ItemID) })
	return lines, nil
}

var errFormExpired = jifen.Invalid("key", "表单已过期，请刷新后重试", "This form has expired; reload and try again")

// orderCreate places a pick-up order from the catalogue.
func (s *Server) orderCreate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = func() error {
		lines, err := basketLines(r)
		if err != nil {
			return err
		}
		key := r.FormValue("key")
		if key == "" {
			return errFormExpired
		}
		o, err := s.svc.Stores.Redeem(r.Context(), jifen.RedemptionInput{StoreID: id, Lines: lines, Key: key})
		if err != nil {
			return err
		}
		redirect(w, r, "/me/orders?done=ordered#order-"+itoa(o.ID))
		return nil
	}()
	if err != nil {
		detail{s: s, name: "store", data: s.storeData}.fail(w, r, id, err)
	}
}

// My orders and my pay code.

// orderView is one of my redemptions with its pick-up QR code.
type orderView struct {
	*jifen.Redemption
	QR template.URL
}

const ordersPerPage = 20

func (s *Server) ordersData(r *http.Request) (map[string]any, error) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page, _ = jifen.Paging(page, 1, 1, 1)
	rs, total, err := s.svc.Stores.Redemptions(r.Context(), jifen.RedemptionFilter{Mine: true, Page: page, PerPage: ordersPerPage})
	if err != nil {
		return nil, err
	}
	out := make([]orderView, len(rs))
	for i, o := range rs {
		out[i] = orderView{Redemption: o}
		if o.Status == jifen.RedemptionHeld && o.PickupCode != "" {
			if out[i].QR, err = qrDataURL(PickupQRPrefix + itoa(o.ID) + ":" + o.PickupCode); err != nil {
				return nil, err
			}
		}
	}
	return map[string]any{"Orders": out, "Total": total, "Prev": page - 1, "Next": nextPage(page, (total+ordersPerPage-1)/ordersPerPage)}, nil
}

func (s *Server) ordersPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "orders", s.ordersData)
}

// paycodeView is a pay code as the page and its script show it.
type paycodeView struct {
	Code      string    `json:"code"`
	Digits    string    `json:"digits"`
	ExpiresAt time.Time `json:"expires_at"`
	// ExpiresIn is the lifetime in seconds, so the phone's own clock (often
	// wrong) does not decide when to refresh.
	ExpiresIn int          `json:"expires_in"`
	QR        template.URL `json:"qr"`
}

func (s *Server) newPaycode(r *http.Request) (*paycodeView, error) {
	pc, err := s.svc.Stores.NewPaycode(r.Context())
	if err != nil {
		return nil, err
	}
	qr, err := qrDataURL(pc.Code)
	if err != nil {
		return nil, err
	}
	return &paycodeView{Code: pc.Code, Digits: groupDigits(pc.Code), ExpiresAt: pc.ExpiresAt, ExpiresIn: int(jifen.PaycodeLifetime.Seconds()), QR: qr}, nil
}

func (s *Server) paycodeData(r *http.Request) (map[string]any, error) {
	a := jifen.ActorFrom(r.Context())
	pc, err := s.newPaycode(r)
	if err != nil {
		return nil, err
	}
	latest, _, err := s.svc.Stores.Redemptions(r.Context(), jifen.RedemptionFilter{Mine: true, PerPage: 1})
	if err != nil {
		return nil, err
	}
	var after int64
	if len(latest) > 0 {
		after = latest[0].ID
	}
	waiting, _, err := s.svc.Stores.Redemptions(r.Context(), jifen.RedemptionFilter{Mine: true, Status: jifen.RedemptionConfirming, PerPage: 10})
	if err != nil {
		return nil, err
	}
	return map[string]any{"PC": pc, "After": after, "Waiting": waiting, "Balance": s.spendable(r, a.PersonID)}, nil
}

// spendable is what the signed-in person can spend: their own balance,
// or their household's where their org credits households (as a sale
// then debits it); nil when unknown. The summary names the household of
// anyone who has one, so the org's setting decides.
func (s *Server) spendable(r *http.Request, person int64) *int64 {
	sum, err := s.svc.Points.Points(r.Context(), person)
	if err != nil {
		return nil
	}
	if sum.HouseholdID != nil {
		st, err := s.svc.Points.Settings(r.Context(), jifen.ActorFrom(r.Context()).HomeOrgID)
		if err == nil && st.PointsTo == jifen.ToHousehold {
			if h, err := s.svc.Points.HouseholdPoints(r.Context(), *sum.HouseholdID); err == nil {
				return &h.Balance
			}
		}
	}
	return &sum.Balance
}

func (s *Server) paycodePage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "paycode", s.paycodeData)
}

// failJSON answers a script's request with the API's error shape.
func (s *Server) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Kind == jifen.KindInternal {
		s.log.Error("internal error", "id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeAPIError(w, r, e)
}

// paycodeJSON is a fresh pay code for the page's script, which asks for
// one before the shown code expires and right after a sale spent it.
func (s *Server) paycodeJSON(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	pc, err := s.newPaycode(r)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pc)
}

// redemptionView is a sale or order as the pages' scripts show it.
type redemptionView struct {
	ID         int64                  `json:"id"`
	Status     jifen.RedemptionStatus `json:"status"`
	StatusText string                 `json:"status_text"`
	Points     int64                  `json:"points"`
	StoreName  string                 `json:"store_name"`
	PersonName string                 `json:"person_name"`
	Items      string                 `json:"items"`
	CreatedAt  time.Time              `json:"created_at"`
}

func viewOf(lang string, o *jifen.Redemption) redemptionView {
	return redemptionView{ID: o.ID, Status: o.Status, StatusText: redemptionStatusText(lang, o.Status), Points: o.Points, StoreName: o.StoreName,
		PersonName: o.PersonName, Items: linesText(o.Lines), CreatedAt: o.CreatedAt}
}

// myRedemptionsJSON is what the pay-code page polls once a second: the
// person's latest sales and orders, so a sale shows on the phone within a
// second of the clerk's confirming it, and their balance when there is a
// redemption newer than ?after= (the page's newest), which most polls
// are spared.
func (s *Server) myRedemptionsJSON(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	rs, _, err := s.svc.Stores.Redemptions(r.Context(), jifen.RedemptionFilter{Mine: true, PerPage: 3})
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	lang := langOf(r)
	out := struct {
		Items   []redemptionView `json:"items"`
		Balance *int64           `json:"balance"`
	}{Items: make([]redemptionView, len(rs))}
	for i, o := range rs {
		out.Items[i] = viewOf(lang, o)
	}
	if len(rs) > 0 && rs[0].ID > after {
		out.Balance = s.spendable(r, a.PersonID)
	}
	writeJSON(w, http.StatusOK, out)
}

// redemptionState is one sale as the counter polls it while the buyer
// confirms on their phone.
func (s *Server) redemptionState(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.failJSON(w, r, jifen.NotFound("redemption"))
		return
	}
	o, err := s.svc.Stores.Redemption(r.Context(), id)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(langOf(r), o))
}

// redemptionAction confirms, cancels or refunds a sale or order, then
// goes back where it was asked from: the counter, the pay code or my
// orders.
func (s *Server) redemptionAction(done string, fn func(r *http.Request, id int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.signedIn(w, r) == nil {
			return
		}
		id, err := pathID(r, "id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		o, err := s.svc.Stores.Redemption(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		back := r.FormValue("back")
		if err := fn(r, id); err != nil {
			switch back {
			case "counter":
				s.counterFail(w, r, o.StoreID, err)
			case "paycode":
				data, derr := s.paycodeData(r)
				if derr != nil {
					s.fail(w, r, derr)
					return
				}
				s.formFail(w, r, "paycode", data, err)
			default:
				data, derr := s.ordersData(r)
				if derr != nil {
					s.fail(w, r, derr)
					return
				}
				s.formFail(w, r, "orders", data, err)
			}
			return
		}
		switch back {
		case "counter":
			redirect(w, r, "/stores/"+itoa(o.StoreID)+"/counter?done="+done+"&sale="+itoa(id))
		case "paycode":
			redirect(w, r, "/me/paycode?done="+done)
		default:
			redirect(w, r, "/me/orders?done="+done+"#order-"+itoa(id))
		}
	}
}

// The counter.

func (s *Server) counterData(r *http.Request, id int64) (map[string]any, error) {
	st, err := s.svc.Stores.Store(r.Context(), id)
	if err != nil {
		return nil, err
	}
	day := s.today()
	// The store's lists are for its clerks and managers: anyone else is
	// refused here.
	sales, total, err := s.svc.Stores.Redemptions(r.Context(), jifen.RedemptionFilter{StoreID: id, Day: day, PerPage: 200})
	if err != nil {
		return nil, err
	}
	waiting, _, err := s.svc.Stores.Redemptions(r.Context(), jifen.RedemptionFilter{StoreID: id, Status: jifen.RedemptionHeld, PerPage: 100})
	if err != nil {
		return nil, err
	}
	items, err := s.svc.Stores.Items(r.Context(), id)
	if err != nil {
		return nil, err
	}
	var onSale []*jifen.Item
	for _, it := range items {
		if itemOnSale(it, day) {
			onSale = append(onSale, it)
		}
	}
	var net int64
	for _, o := range sales {
		if o.Status == jifen.RedemptionCompleted {
			net += o.Points
		}
	}
	data := map[string]any{"S": st, "Items": onSale, "Sales": sales, "Total": total, "Net": net, "Waiting": waiting,
		"Key": formKey(), "P": postedForm(r), "Day": day}
	if sale := formInt(r, "sale"); sale > 0 && r.Method == http.MethodGet {
		if o, err := s.svc.Stores.Redemption(r.Context(), sale); err == nil && o.StoreID == id {
			data["Sale"] = o
		}
	}
	return data, nil
}

func (s *Server) counterPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	detail{s: s, name: "counter", data: s.counterData}.show(w, r)
}

func (s *Server) counterFail(w http.ResponseWriter, r *http.Request, id int64, err error) {
	detail{s: s, name: "counter", data: s.counterData}.fail(w, r, id, err)
}

// codeSpace is what people put between digits when they type a code.
var codeSpace = strings.NewReplacer(" ", "", "\u3000", "", "\u00a0", "", "-", "", "\t", "")

// counterSell rings up a basket against a pay code (scanned or typed), or
// a printed card's volunteer number and the resident's PIN. A PIN given
// with a pay code stands for the resident's confirmation.
func (s *Server) counterSell(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = func() error {
		lines, err := basketLines(r)
		if err != nil {
			return err
		}
		in := jifen.RedemptionInput{StoreID: id, Lines: lines, Key: r.FormValue("key"), PIN: strings.TrimSpace(r.FormValue("pin")),
			Paycode: codeSpace.Replace(r.FormValue("paycode")), VolunteerNo: strings.TrimSpace(r.FormValue("volunteer_no"))}
		// A person's QR code (a printed card) scanned into the pay-code box.
		if no, ok := strings.CutPrefix(in.Paycode, PersonQRPrefix); ok {
			in.Paycode, in.VolunteerNo = "", no
		}
		in.VolunteerNo = strings.TrimPrefix(in.VolunteerNo, PersonQRPrefix)
		if in.Key == "" {
			return errFormExpired
		}
		switch {
		case in.Paycode == "" && in.VolunteerNo == "":
			// Without either the service would take it as the clerk's own order.
			return jifen.Invalid("paycode", "请扫描或输入居民的付款码，或输入志愿者编号和密码", "Scan or type the resident's pay code, or enter their volunteer number and PIN")
		case in.Paycode == "" && in.PIN == "":
			return jifen.Invalid("pin", "刷卡兑换需要居民输入密码", "A card needs the resident's PIN")
		}
		o, err := s.svc.Stores.Redeem(r.Context(), in)
		if err != nil {
			return err
		}
		redirect(w, r, "/stores/"+itoa(id)+"/counter?done=sold_"+string(o.Status)+"&sale="+itoa(o.ID))
		return nil
	}()
	if err != nil {
		s.counterFail(w, r, id, err)
	}
}

// counterPickup hands over a pick-up order: its number and code typed, or
// its QR code (JFP:number:code) scanned into the code box.
func (s *Server) counterPickup(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = func() error {
		order, code := strings.TrimSpace(r.FormValue("order")), codeSpace.Replace(r.FormValue("code"))
		if rest, ok := strings.CutPrefix(code, PickupQRPrefix); ok {
			order, code, _ = strings.Cut(rest, ":")
		}
		oid, err := strconv.ParseInt(order, 10, 64)
		if err != nil || oid <= 0 {
			return jifen.Invalid("order", "请填写订单号", "Enter the order number")
		}
		o, err := s.svc.Stores.Redemption(r.Context(), oid)
		if err != nil || o.StoreID != id {
			if err != nil && jifen.ErrorKind(err) != jifen.KindNotFound {
				return err
			}
			return jifen.Invalid("order", "本店没有这个订单号", "This store has no such order")
		}
		if _, err := s.svc.Stores.Fulfil(r.Context(), oid, code); err != nil {
			return err
		}
		redirect(w, r, "/stores/"+itoa(id)+"/counter?done=fulfilled&sale="+itoa(oid))
		return nil
	}()
	if err != nil {
		s.counterFail(w, r, id, err)
	}
}

// Admin: stores.

func (s *Server) storesData(r *http.Request) (map[string]any, error) {
	stores, err := s.svc.Stores.Stores(r.Context(), true)
	if err != nil {
		return nil, err
	}
	all, err := s.svc.Orgs.SignupOrgs(r.Context())
	if err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(r.Context())
	managed := map[int64]bool{}
	path := map[int64]string{}
	var orgs []*jifen.Org
	for _, o := range all {
		path[o.ID] = o.Path
		if a.Has(o.Path, jifen.RoleOrgAdmin) {
			orgs = append(orgs, o)
		}
	}
	for _, st := range stores {
		managed[st.ID] = a.Has(path[st.OrgID], jifen.RoleOrgAdmin)
	}
	p := postedForm(r)
	if r.Method == http.MethodGet {
		p = url.Values{"kind": {"supermarket"}, "fen_per_point": {"1.00"}, "hold_hours": {"48"}, "refund_days": {"7"}}
	}
	return map[string]any{"Stores": stores, "Managed": managed, "Orgs": orgs, "P": p, "Kinds": []jifen.StoreKind{jifen.Supermarket, jifen.Merchant}}, nil
}

func (s *Server) storesPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "stores", s.storesData)
}

// parseYuan reads an amount of yuan with at most two decimals as fen.
func parseYuan(field, v string) (int64, error) {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "¥"))
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	fen := math.Round(f * 100)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1_000_000 || math.Abs(f*100-fen) > 1e-6 {
		return 0, jifen.Invalid(field, "金额应为数字，最多两位小数，如 0.50", "An amount has at most two decimals, e.g. 0.50")
	}
	return int64(fen), nil
}

// parseCoord reads an optional latitude or longitude.
func parseCoord(field, v string) (*float64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, jifen.Invalid(field, "地图位置应为数字，如 35.3065", "A map position is a number, e.g. 35.3065")
	}
	return &f, nil
}

// storeInput reads the store form.
func storeInput(r *http.Request) (jifen.StoreInput, error) {
	in := jifen.StoreInput{OrgID: formInt(r, "org_id"), Name: r.FormValue("name"), Kind: jifen.StoreKind(r.FormValue("kind")),
		Address: r.FormValue("address"), Hours: r.FormValue("opening_hours"), ServesOrgID: formInt(r, "serves_org_id"),
		Archived: r.FormValue("archived") == "yes"}
	var err error
	if in.Lat, err = parseCoord("lat", r.FormValue("lat")); err != nil {
		return in, err
	}
	if in.Lon, err = parseCoord("lon", r.FormValue("lon")); err != nil {
		return in, err
	}
	if in.FenPerPoint, err = parseYuan("fen_per_point", r.FormValue("fen_per_point")); err != nil {
		return in, err
	}
	if in.ConfirmAbove, err = formNumber(r, "confirm_above"); err != nil {
		return in, err
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"hold_hours", &in.HoldHours}, {"refund_days", &in.RefundDays}} {
		n, err := formNumber(r, f.name)
		if err != nil {
			return in, err
		}
		if n > 1<<20 || n < -1<<20 {
			return in, jifen.Invalid(f.name, "数字太大", "The number is too large")
		}
		*f.v = int(n)
	}
	return in, nil
}

// storeValues fills the store form from a store.
func storeValues(st *jifen.Store) url.Values {
	v := url.Values{"name": {st.Name}, "kind": {string(st.Kind)}, "address": {st.Address}, "opening_hours": {st.Hours},
		"confirm_above": {strconv.FormatInt(st.ConfirmAbove, 10)}, "fen_per_point": {jifen.Yuan(st.FenPerPoint)},
		"hold_hours": {strconv.Itoa(st.HoldHours)}, "refund_days": {strconv.Itoa(st.RefundDays)}}
	if st.Archived {
		v.Set("archived", "yes")
	}
	if st.Lat != nil && st.Lon != nil {
		v.Set("lat", strconv.FormatFloat(*st.Lat, 'f', -1, 64))
		v.Set("lon", strconv.FormatFloat(*st.Lon, 'f', -1, 64))
	}
	if st.ServesOrgID != st.OrgID {
		v.Set("serves_org_id", itoa(st.ServesOrgID))
	}
	return v
}

func (s *Server) storeCreate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	in, err := storeInput(r)
	if err == nil {
		var st *jifen.Store
		if st, err = s.svc.Stores.CreateStore(r.Context(), in); err == nil {
			redirect(w, r, "/stores/"+itoa(st.ID)+"/edit?done=store_created")
			return
		}
	}
	data, derr := s.storesData(r)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	s.formFail(w, r, "stores", data, err)
}

func (s *Server) storeEditDetail() detail {
	return detail{s: s, name: "store_edit", path: "/stores/%d/edit", data: s.storeEditData}
}

// storeEditData is the store's admin page: its details, clerks (and the
// people search to add one), items with low-stock warnings, the new-item
// form.
func (s *Server) storeEditData(r *http.Request, id int64) (map[string]any, error) {
	st, err := s.svc.Stores.Store(r.Context(), id)
	if err != nil {
		return nil, err
	}
	clerks, err := s.svc.Stores.Clerks(r.Context(), id) // managers only
	if err != nil {
		return nil, err
	}
	items, err := s.svc.Stores.Items(r.Context(), id)
	if err != nil {
		return nil, err
	}
	var low []*jifen.Item
	for _, it := range items {
		if !it.Archived && it.Low() {
			low = append(low, it)
		}
	}
	serveOrgs, err := s.formOrgs(r)
	if err != nil {
		return nil, err
	}
	p := storeValues(st)
	form := r.PostFormValue("form")
	if r.Method == http.MethodPost && r.URL.Path == "/stores/"+itoa(id) {
		p, form = postedForm(r), "store"
	}
	data := map[string]any{"S": st, "Clerks": clerks, "Items": items, "Low": low, "P": p, "Form": form, "Day": s.today(), "ServeOrgs": serveOrgs, "Kinds": []jifen.StoreKind{jifen.Supermarket, jifen.Merchant},
		"Periods": []jifen.LimitPeriod{jifen.PerDay, jifen.PerWeek, jifen.PerMonth, jifen.PerYear}, "Q": r.URL.Query().Get("q")}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/items") {
		data["IP"], data["Form"] = postedForm(r), "item"
	} else {
		data["IP"] = url.Values{"limit_period": {"month"}}
	}
	if term := strings.TrimSpace(r.URL.Query().Get("q")); term != "" {
		found, _, err := s.svc.People.People(r.Context(), jifen.PersonFilter{Q: term, PerPage: 20})
		if err != nil {
			return nil, err
		}
		data["Found"], data["Searched"] = found, true
	}
	return data, nil
}

// Admin: items and stock.

// itemInput reads the item form, with its photo when one was sent.
func itemInput(r *http.Request) (jifen.ItemInput, error) {
	in := jifen.ItemInput{Name: r.FormValue("name"), LimitPeriod: jifen.LimitPeriod(r.FormValue("limit_period")),
		ValidFrom: r.FormValue("valid_from"), ValidTo: r.FormValue("valid_to"), Archived: r.FormValue("archived") == "yes"}
	var err error
	if in.Points, err = formNumber(r, "points"); err != nil {
		return in, jifen.Invalid("points", "请填写整数", "Enter a whole number")
	}
	if strings.TrimSpace(r.FormValue("stock")) != "" {
		n, err := formNumber(r, "stock")
		if err != nil {
			return in, err
		}
		in.Stock = &n
	}
	if in.PerPersonLimit, err = formNumber(r, "per_person_limit"); err != nil {
		return in, err
	}
	if in.LowStock, err = formNumber(r, "low_stock"); err != nil {
		return in, err
	}
	_, b, err := readUpload(r, "photo", maxPhoto)
	switch {
	case errors.Is(err, http.ErrMissingFile), errors.Is(err, http.ErrNotMultipart):
	case err != nil:
		return in, err
	default:
		in.Photo = b
	}
	return in, nil
}

func (s *Server) itemCreate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := itemInput(r)
	if err == nil {
		var it *jifen.Item
		if it, err = s.svc.Stores.CreateItem(r.Context(), id, in); err == nil {
			redirect(w, r, "/items/"+itoa(it.ID)+"?done=item_created")
			return
		}
	}
	s.storeEditDetail().fail(w, r, id, err)
}

func (s *Server) itemDetail() detail {
	return detail{s: s, name: "item", path: "/items/%d", data: s.itemData}
}

// itemValues fills the item form from an item.
func itemValues(it *jifen.Item) url.Values {
	v := url.Values{"name": {it.Name}, "points": {strconv.FormatInt(it.Points, 10)}, "limit_period": {string(it.LimitPeriod)},
		"valid_from": {it.ValidFrom}, "valid_to": {it.ValidTo}, "low_stock": {strconv.FormatInt(it.LowStock, 10)}}
	if it.PerPersonLimit > 0 {
		v.Set("per_person_limit", strconv.FormatInt(it.PerPersonLimit, 10))
	}
	if it.Archived {
		v.Set("archived", "yes")
	}
	return v
}

func (s *Server) itemData(r *http.Request, id int64) (map[string]any, error) {
	it, err := s.svc.Stores.Item(r.Context(), id)
	if err != nil {
		return nil, err
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page, _ = jifen.Paging(page, 1, 1, 1)
	// Movements are for the store's staff: residents are refused here.
	moves, total, err := s.svc.Stores.Movements(r.Context(), id, page)
	if err != nil {
		return nil, err
	}
	st, err := s.svc.Stores.Store(r.Context(), it.StoreID)
	if err != nil {
		return nil, err
	}
	_, merr := s.svc.Stores.Clerks(r.Context(), it.StoreID)
	p := itemValues(it)
	if r.Method == http.MethodPost && r.URL.Path == "/items/"+itoa(id) {
		p = postedForm(r)
	}
	return map[string]any{"I": it, "S": st, "Moves": moves, "Total": total, "Prev": page - 1, "Next": nextPage(page, (total+movementsPerPage-1)/movementsPerPage),
		"Manager": merr == nil, "P": p, "Periods": []jifen.LimitPeriod{jifen.PerDay, jifen.PerWeek, jifen.PerMonth, jifen.PerYear},
		"Form": r.PostFormValue("form")}, nil
}

func (s *Server) itemUpdate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := itemInput(r)
	if err == nil {
		if _, err = s.svc.Stores.UpdateItem(r.Context(), id, in); err == nil {
			redirect(w, r, "/items/"+itoa(id)+"?done=saved")
			return
		}
	}
	s.itemDetail().failWith(w, r, id, err, map[string]any{"Form": "edit"})
}

// itemPhoto serves an item's photo to whoever may see its store.
func (s *Server) itemPhoto(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.svc.Stores.ItemPhoto(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(b))
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// Settlement.

// defaultPeriod is last month, the one a manager settles at the start of
// this one.
func (s *Server) defaultPeriod() string {
	now := s.now().In(jifen.Zone)
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, jifen.Zone).AddDate(0, -1, 0).Format("2006-01")
}

func (s *Server) settlementData(r *http.Request, id int64) (map[string]any, error) {
	st, err := s.svc.Stores.Store(r.Context(), id)
	if err != nil {
		return nil, err
	}
	period := strings.TrimSpace(r.FormValue("period"))
	if period == "" {
		period = s.defaultPeriod()
	}
	now := s.now().In(jifen.Zone)
	var recent []string
	for i := 1; i <= 3; i++ {
		recent = append(recent, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, jifen.Zone).AddDate(0, -i, 0).Format("2006-01"))
	}
	recent = append(recent, strconv.Itoa(now.Year()-1))
	data := map[string]any{"S": st, "Period": period, "Recent": recent}
	stmt, err := s.svc.Stores.Settlement(r.Context(), id, period)
	if err != nil {
		if jifen.ErrorKind(err) != jifen.KindInvalid {
			return nil, err
		}
		// A period that cannot be read: the page asks again.
		e := asError(err)
		data["Error"], data["Field"] = e.Message(langOf(r)), e.Field
		return data, nil
	}
	lines, err := s.statementLines(r, stmt)
	if err != nil {
		return nil, err
	}
	_, to, _ := jifen.ParsePeriod(period)
	data["St"], data["Lines"], data["Ended"] = stmt, lines, !s.now().Before(to)
	return data, nil
}

func (s *Server) settlementPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := s.settlementData(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if data["Error"] != nil {
		code = http.StatusUnprocessableEntity
	}
	s.render(w, r, code, "settlement", data)
}

func (s *Server) settle(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	period := strings.TrimSpace(r.FormValue("period"))
	if _, err := s.svc.Stores.Settle(r.Context(), id, period); err != nil {
		detail{s: s, name: "settlement", data: s.settlementData}.fail(w, r, id, err)
		return
	}
	redirect(w, r, "/stores/"+itoa(id)+"/settlement?period="+url.QueryEscape(period)+"&done=settled")
}

// statement reads a store's statement for the exports.
func (s *Server) statement(w http.ResponseWriter, r *http.Request) (*jifen.Settlement, []statementLine, bool) {
	if s.signedIn(w, r) == nil {
		return nil, nil, false
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	st, err := s.svc.Stores.Settlement(r.Context(), id, r.URL.Query().Get("period"))
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	lines, err := s.statementLines(r, st)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	return st, lines, true
}

func (s *Server) settlementXLSX(w http.ResponseWriter, r *http.Request) {
	st, lines, ok := s.statement(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := writeSettlementXLSX(&buf, st, lines, s.now()); err != nil {
		s.fail(w, r, err)
		return
	}
	sendXLSX(w, fmt.Sprintf("settlement-%d-%s", st.StoreID, st.Period), buf.Bytes())
}

func (s *Server) settlementPDF(w http.ResponseWriter, r *http.Request) {
	st, lines, ok := s.statement(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := renderStatementPDF(&buf, st, lines, s.now()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="settlement-%d-%s.pdf"`, st.StoreID, st.Period))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(buf.Bytes())
}
