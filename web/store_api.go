package web

import (
	"context"
	"net/http"
	"slices"

	"jifen"
)

// The stores API: supermarkets and merchants, their catalogue and stock,
// pay codes, counter sales and pick-up orders, settlements. Paths, field
// names and status codes are fixed with integrators.
type (
	// storeRequest is jifen.StoreInput: org_id, name, kind, address, lat,
	// lon, opening_hours, serves_org_id, confirm_above, fen_per_point,
	// hold_hours, refund_days.
	storeRequest = jifen.StoreInput
	// itemRequest is jifen.ItemInput: name, points, stock (null or absent:
	// unlimited), per_person_limit, limit_period, low_stock, valid_from,
	// valid_to.
	itemRequest    = jifen.ItemInput
	restockRequest struct {
		Quantity int64  `json:"quantity"`
		Note     string `json:"note"`
	}
	stocktakeRequest struct {
		Counted int64  `json:"counted"`
		Reason  string `json:"reason"`
	}
	// redemptionRequest is jifen.RedemptionInput: store_id, lines
	// [{item_id, quantity}], and paycode or volunteer_no with pin at the
	// counter, neither for a pick-up order; the key comes in the
	// Idempotency-Key header.
	redemptionRequest  = jifen.RedemptionInput
	redemptionResponse struct {
		ID     int64                  `json:"id"`
		Status jifen.RedemptionStatus `json:"status"`
		Points int64                  `json:"points"`
		// PickupCode is an order's, for the buyer's phone to show at once
		// (a sale has none).
		PickupCode string `json:"pickup_code,omitempty"`
	}
	fulfilRequest struct {
		Code string `json:"code"`
	}
	refundRequest struct {
		Reason string `json:"reason"`
	}
	settleRequest struct {
		Period string `json:"period"`
	}
)

// redemptionStatuses are the statuses a list may be filtered by.
var redemptionStatuses = []jifen.RedemptionStatus{jifen.RedemptionCompleted, jifen.RedemptionHeld, jifen.RedemptionConfirming,
	jifen.RedemptionCancelled, jifen.RedemptionReleased, jifen.RedemptionRefunded}

func (s *Server) registerStoreAPI() {
	api := func(method, path, summary string, body, resp any, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: "/api/v1" + path, API: true, Summary: summary, Body: body, Resp: resp}, h)
	}
	st := s.svc.Stores
	ctx := func(r *http.Request) context.Context { return r.Context() }

	// Stores and their clerks.
	api("POST", "/stores", "Open a points supermarket or sign up a partner merchant under an org (org admin)", storeRequest{}, idResponse{},
		endpoint(s, "store", http.StatusCreated, func(r *http.Request, _ int64, in *storeRequest) (idResponse, error) {
			out, err := st.CreateStore(ctx(r), *in)
			if err != nil {
				return idResponse{}, err
			}
			return idResponse{ID: out.ID}, nil
		}))
	api("GET", "/stores", "The stores the caller may buy at, or with manage=true those they run as an org admin or a clerk", nil, list[jifen.Store]{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, _ int64, _ *none) (list[jifen.Store], error) {
			out, err := st.Stores(ctx(r), r.URL.Query().Get("manage") == "true")
			return listOf(out), err
		}))
	api("GET", "/stores/{id}", "One store", nil, jifen.Store{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Store, error) {
			return st.Store(ctx(r), id)
		}))
	api("POST", "/stores/{id}", "Edit a store (org admin of its org)", storeRequest{}, jifen.Store{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, in *storeRequest) (*jifen.Store, error) {
			return st.UpdateStore(ctx(r), id, *in)
		}))
	api("GET", "/stores/{id}/clerks", "A store's clerks (org admin)", nil, list[jifen.Person]{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.Person], error) {
			out, err := st.Clerks(ctx(r), id)
			return listOf(out), err
		}))
	api("POST", "/stores/{id}/clerks", "Make a person a clerk of this store only (org admin)", memberRequest{}, nil,
		endpoint(s, "store", http.StatusNoContent, func(r *http.Request, id int64, in *memberRequest) (*none, error) {
			return nil, st.AddClerk(ctx(r), id, in.PersonID)
		}))
	api("DELETE", "/stores/{id}/clerks/{person_id}", "Take the clerk role away (org admin)", nil, nil,
		endpoint(s, "store", http.StatusNoContent, func(r *http.Request, id int64, _ *none) (*none, error) {
			pid, err := pathID(r, "person_id")
			if err != nil {
				return nil, jifen.NotFound("person")
			}
			return nil, st.RemoveClerk(ctx(r), id, pid)
		}))

	// The catalogue and its stock.
	api("GET", "/stores/{id}/items", "A store's catalogue: what is on sale for residents, everything for its staff", nil, list[jifen.Item]{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.Item], error) {
			out, err := st.Items(ctx(r), id)
			return listOf(out), err
		}))
	api("POST", "/stores/{id}/items", "Add an item to the catalogue (org admin); stock null or absent is unlimited", itemRequest{}, idResponse{},
		endpoint(s, "store", http.StatusCreated, func(r *http.Request, id int64, in *itemRequest) (idResponse, error) {
			it, err := st.CreateItem(ctx(r), id, *in)
			if err != nil {
				return idResponse{}, err
			}
			return idResponse{ID: it.ID}, nil
		}))
	api("GET", "/stores/{id}/items/{item_id}", "One item of the store", nil, jifen.Item{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Item, error) {
			return s.storeItem(r, id)
		}))
	api("POST", "/stores/{id}/items/{item_id}", "Edit an item (org admin); its stock changes only by restock and stock-take", itemRequest{}, jifen.Item{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, in *itemRequest) (*jifen.Item, error) {
			it, err := s.storeItem(r, id)
			if err != nil {
				return nil, err
			}
			return st.UpdateItem(ctx(r), it.ID, *in)
		}))
	api("POST", "/stores/{id}/items/{item_id}/restock", "Add to an item's stock, with a note (org admin); a recorded movement", restockRequest{}, jifen.Item{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, in *restockRequest) (*jifen.Item, error) {
			it, err := s.storeItem(r, id)
			if err != nil {
				return nil, err
			}
			return st.Restock(ctx(r), it.ID, in.Quantity, in.Note)
		}))
	api("POST", "/stores/{id}/items/{item_id}/stocktake", "Set an item's stock to what was counted, with a reason (org admin); a recorded movement",
		stocktakeRequest{}, jifen.Item{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, in *stocktakeRequest) (*jifen.Item, error) {
			it, err := s.storeItem(r, id)
			if err != nil {
				return nil, err
			}
			return st.StockTake(ctx(r), it.ID, in.Counted, in.Reason)
		}))
	api("GET", "/stores/{id}/items/{item_id}/movements", "An item's stock movements, newest first (page; staff)", nil, list[jifen.Movement]{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.Movement], error) {
			it, err := s.storeItem(r, id)
			if err != nil {
				return list[jifen.Movement]{}, err
			}
			p, err := queryInt(r.URL.Query().Get("page"))
			if err != nil || p > jifen.MaxPage {
				return list[jifen.Movement]{}, badQuery("page")
			}
			ms, total, err := st.Movements(ctx(r), it.ID, int(p))
			l := listOf(ms)
			l.Total, l.Page, l.PerPage = total, max(int(p), 1), movementsPerPage
			return l, err
		}))

	// Sales and orders.
	api("GET", "/stores/{id}/redemptions", "A store's sales and orders for its clerks and managers: day (YYYY-MM-DD), status, page, per_page", nil, list[jifen.Redemption]{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.Redemption], error) {
			return s.apiRedemptions(r, jifen.RedemptionFilter{StoreID: id, Day: r.URL.Query().Get("day")})
		}))
	api("GET", "/me/paycode", "A new one-time pay code for the counter, valid a minute; earlier ones stay valid for their minute", nil, jifen.Paycode{},
		endpoint(s, "paycode", http.StatusOK, func(r *http.Request, _ int64, _ *none) (*jifen.Paycode, error) {
			return st.NewPaycode(ctx(r))
		}))
	api("GET", "/me/redemptions", "The caller's own sales and orders, newest first (status, page, per_page)", nil, list[jifen.Redemption]{},
		endpoint(s, "redemption", http.StatusOK, func(r *http.Request, _ int64, _ *none) (list[jifen.Redemption], error) {
			return s.apiRedemptions(r, jifen.RedemptionFilter{Mine: true})
		}))
	api("POST", "/redemptions", "Sell at the counter (a clerk, with paycode, or volunteer_no and pin) or order for pick-up (the signed-in resident, with neither); "+
		"header Idempotency-Key required", redemptionRequest{}, redemptionResponse{},
		endpoint(s, "redemption", http.StatusCreated, func(r *http.Request, _ int64, in *redemptionRequest) (redemptionResponse, error) {
			if in.Key = idempotencyKey(r); in.Key == "" {
				return redemptionResponse{}, missingKey
			}
			out, err := st.Redeem(ctx(r), *in)
			if err != nil {
				return redemptionResponse{}, err
			}
			return redemptionResponse{ID: out.ID, Status: out.Status, Points: out.Points, PickupCode: out.PickupCode}, nil
		}))
	api("GET", "/redemptions/{id}", "One sale or order: to its buyer, the store's clerks and managers (the pick-up code to the buyer only)", nil, jifen.Redemption{},
		endpoint(s, "redemption", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Redemption, error) {
			return st.Redemption(ctx(r), id)
		}))
	api("POST", "/redemptions/{id}/fulfil", "Hand over a pick-up order: its code, as the buyer shows it (clerk)", fulfilRequest{}, jifen.Redemption{},
		endpoint(s, "redemption", http.StatusOK, func(r *http.Request, id int64, in *fulfilRequest) (*jifen.Redemption, error) {
			return st.Fulfil(ctx(r), id, in.Code)
		}))
	api("POST", "/redemptions/{id}/cancel", "Cancel an order before pick-up, or a sale waiting for confirmation (the buyer or the store); points and stock come back",
		nil, jifen.Redemption{},
		endpoint(s, "redemption", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Redemption, error) {
			return st.Cancel(ctx(r), id)
		}))
	api("POST", "/redemptions/{id}/confirm", "Agree, as the buyer, to a counter sale above the store's threshold", nil, jifen.Redemption{},
		endpoint(s, "redemption", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Redemption, error) {
			return st.Confirm(ctx(r), id)
		}))
	api("POST", "/redemptions/{id}/refund", "Refund a completed sale within the store's window, with a reason (clerk)", refundRequest{}, jifen.Redemption{},
		endpoint(s, "redemption", http.StatusOK, func(r *http.Request, id int64, in *refundRequest) (*jifen.Redemption, error) {
			return st.Refund(ctx(r), id, in.Reason)
		}))

	// Settlements.
	api("GET", "/stores/{id}/settlements", "A store's statement for a period (period=2026-11 or 2026): sales, refunds, net points, by org, amount due (org admin)",
		nil, jifen.Settlement{},
		endpoint(s, "store", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Settlement, error) {
			return st.Settlement(ctx(r), id, r.URL.Query().Get("period"))
		}))
	api("POST", "/stores/{id}/settlements", "Settle a period that has ended: its figures are kept and its points retired (org admin)", settleRequest{}, jifen.Settlement{},
		endpoint(s, "store", http.StatusCreated, func(r *http.Request, id int64, in *settleRequest) (*jifen.Settlement, error) {
			return st.Settle(ctx(r), id, in.Period)
		}))
}

// movementsPerPage is the service's page size of stock movements.
const movementsPerPage = 50

// storeItem reads {item_id} and checks that the item belongs to the store
// in {id}: an item of another store is not found.
func (s *Server) storeItem(r *http.Request, storeID int64) (*jifen.Item, error) {
	itemID, err := pathID(r, "item_id")
	if err != nil {
		return nil, jifen.NotFound("item")
	}
	it, err := s.svc.Stores.Item(r.Context(), itemID)
	if err != nil {
		return nil, err
	}
	if it.StoreID != storeID {
		return nil, jifen.NotFound("item")
	}
	return it, nil
}

// apiRedemptions reads status, page and per_page into f and lists.
func (s *Server) apiRedemptions(r *http.Request, f jifen.RedemptionFilter) (list[jifen.Redemption], error) {
	q := r.URL.Query()
	if st := jifen.RedemptionStatus(q.Get("status")); st != "" {
		if !slices.Contains(redemptionStatuses, st) {
			return list[jifen.Redemption]{}, jifen.Invalid("status", "状态应为 completed、held、confirming、cancelled、released 或 refunded",
				"The status is completed, held, confirming, cancelled, released or refunded")
		}
		f.Status = st
	}
	for _, p := range []struct {
		name string
		v    *int
	}{{"page", &f.Page}, {"per_page", &f.PerPage}} {
		n, err := queryInt(q.Get(p.name))
		if err != nil || n > jifen.MaxPage {
			return list[jifen.Redemption]{}, badQuery(p.name)
		}
		*p.v = int(n)
	}
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 50, 200)
	rs, total, err := s.svc.Stores.Redemptions(r.Context(), f)
	l := listOf(rs)
	l.Total, l.Page, l.PerPage = total, f.Page, f.PerPage
	return l, err
}
