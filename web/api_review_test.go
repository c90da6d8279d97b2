package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// What an outside review of the API found (2026-11-30): names shown where
// the org masks them or the caller cannot see the person, existence told
// by 403 against 404, messages that name nothing, and envelopes or fields
// that say other than what was served or sent.
func TestAPIPrivacyAndContract(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		village := e.org(t, "新窑村")
		vAdmin, res := e.token(t, villageAdmin), e.token(t, resident)
		sa := e.token(t, superAdmin)

		// A rule, names masked on the board, and an award to someone
		// other than the resident, entered by the village admin.
		r := e.api(t, "POST", fmt.Sprintf("/api/v1/orgs/%d/rules", village), vAdmin,
			map[string]any{"code": "zz.test", "name": "测试", "category": "other", "points": 3, "unit": "per_event"})
		r.wantStatus(t, "rule", http.StatusCreated)
		rule := jsonInt(t, r.JSON(t), "id")
		e.api(t, "PUT", fmt.Sprintf("/api/v1/orgs/%d/points-settings", village), vAdmin,
			map[string]any{"points_to": "person", "mask_names": true, "public_days": 7, "appeal_days": 7, "expiry": "never"}).
			wantStatus(t, "settings", http.StatusOK)
		other := e.personByPhone(t, volunteer)
		e.api(t, "POST", "/api/v1/awards", vAdmin, map[string]any{"person_id": other.ID, "rule_id": rule, "note": "私下的备注"},
			"Idempotency-Key", "zz-1").wantStatus(t, "award", http.StatusCreated)

		t.Run("the public awards list masks names as the org chooses and hides who entered them", func(t *testing.T) {
			r := e.api(t, "GET", fmt.Sprintf("/api/v1/awards?public=true&org_id=%d", village), res, nil)
			r.wantStatus(t, "public list", http.StatusOK)
			if strings.Contains(r.Body, `"person_name":"`+other.Name+`"`) {
				t.Errorf("resident sees the unmasked name %s although mask_names is on", other.Name)
			}
			if strings.Contains(r.Body, `"created_by_name":"王润莲"`) {
				t.Errorf("resident sees who entered the award (the board hides it)")
			}
		})

		t.Run("a household of someone out of view names nobody", func(t *testing.T) {
			boss := e.personByPhone(t, superAdmin)
			e.api(t, "GET", fmt.Sprintf("/api/v1/people/%d", boss.ID), vAdmin, nil).wantStatus(t, "person out of view", http.StatusNotFound)
			head := e.personByPhone(t, resident)
			r := e.api(t, "POST", "/api/v1/households", vAdmin,
				map[string]any{"org_id": village, "head_person_id": head.ID, "member_ids": []int64{boss.ID}, "name": "测试户"})
			if strings.Contains(r.Body, boss.Name) {
				t.Errorf("village admin learns the name of person %d out of view: %d %s", boss.ID, r.Status, r.Body)
			}
			if f, _ := r.apiError(t)["field"].(string); r.Status != http.StatusUnprocessableEntity || f != "member_ids" {
				t.Errorf("%d, field %q: want 422 on member_ids, as for an id nobody has", r.Status, f)
			}
		})

		t.Run("an order at a store out of view finds no store", func(t *testing.T) {
			far := e.org(t, "万佛社区")
			r := e.api(t, "POST", "/api/v1/stores", sa, map[string]any{"org_id": far, "name": "远店", "kind": "supermarket",
				"fen_per_point": 10, "hold_hours": 24, "refund_days": 7})
			r.wantStatus(t, "store", http.StatusCreated)
			store := jsonInt(t, r.JSON(t), "id")
			e.api(t, "GET", fmt.Sprintf("/api/v1/stores/%d", store), res, nil).wantStatus(t, "store out of view", http.StatusNotFound)
			r = e.api(t, "POST", "/api/v1/redemptions", res, map[string]any{"store_id": store, "lines": []map[string]any{{"item_id": 1, "quantity": 1}}},
				"Idempotency-Key", "zz-2")
			if r.Status != http.StatusNotFound {
				t.Errorf("order at a store out of view: %d %s, want 404 as for one that does not exist", r.Status, r.Body)
			}
		})

		t.Run("not_found says in Chinese what was not found", func(t *testing.T) {
			for _, p := range []string{"/api/v1/awards/999999", "/api/v1/stores/999999", "/api/v1/households/999999", "/api/v1/rules/999999", "/api/v1/redemptions/999999"} {
				r := e.api(t, "GET", p, vAdmin, nil)
				if m, _ := r.apiError(t)["message"].(string); m == "未找到" {
					t.Errorf("%s: message %q (English names the thing)", p, m)
				}
			}
		})

		t.Run("a JSON array body is told to be an object", func(t *testing.T) {
			r := e.api(t, "POST", "/api/v1/people", vAdmin, "[]", "Accept-Language", "en")
			if m, _ := r.apiError(t)["message"].(string); strings.Contains(m, "Field  ") {
				t.Errorf("message %q", m)
			}
		})

		t.Run("page says the page served", func(t *testing.T) {
			for _, p := range []string{"/api/v1/activities?page=9223372036854775807", "/api/v1/appeals?page=9223372036854775807"} {
				r := e.api(t, "GET", p, vAdmin, nil)
				r.wantStatus(t, p, http.StatusOK)
				if got := jsonInt(t, r.JSON(t), "page"); got > 100000 {
					t.Errorf("%s: page %d (the service clamps to 100000; /people says 100000)", p, got)
				}
			}
		})

		t.Run("a transfer an admin asks for waits for the person's yes", func(t *testing.T) {
			who := e.personByPhone(t, resident)
			r := e.api(t, "POST", "/api/v1/transfers", vAdmin, map[string]any{"person_id": who.ID, "to_org_id": e.org(t, "万佛社区"), "reason": "搬到城里"})
			r.wantStatus(t, "request", http.StatusCreated)
			tr := jsonInt(t, r.JSON(t), "id")
			if r.JSON(t)["consented_at"] != nil {
				t.Errorf("an admin's request is consented at once: %s", r.Body)
			}
			approve := func() *result { return e.api(t, "POST", fmt.Sprintf("/api/v1/transfers/%d/approve", tr), sa, nil) }
			wantAPIError(t, "approve before consent", approve(), http.StatusConflict, "consent_needed", "")
			consent := fmt.Sprintf("/api/v1/transfers/%d/consent", tr)
			wantAPIError(t, "no answer", e.api(t, "POST", consent, res, map[string]any{}), http.StatusUnprocessableEntity, "invalid", "agree")
			wantAPIError(t, "the admin answers for them", e.api(t, "POST", consent, vAdmin, map[string]any{"agree": true}), http.StatusNotFound, "not_found", "")
			e.api(t, "POST", consent, res, map[string]any{"agree": true}).wantStatus(t, "consent", http.StatusOK)
			approve().wantStatus(t, "approve after consent", http.StatusOK)
		})

		t.Run("on the 关系转接 page the person sees the request and agrees", func(t *testing.T) {
			who := e.personByPhone(t, volunteer)
			r := e.api(t, "POST", "/api/v1/transfers", vAdmin, map[string]any{"person_id": who.ID, "to_org_id": e.org(t, "万佛社区"), "reason": "随子女进城"})
			r.wantStatus(t, "request", http.StatusCreated)
			tr := jsonInt(t, r.JSON(t), "id")
			b := e.signedIn(t, volunteer)
			page := b.get(t, "/transfers")
			action := fmt.Sprintf(`action="/transfers/%d/consent"`, tr)
			if !strings.Contains(page.Body, "等待您同意的转接") || strings.Count(page.Body, action) != 2 {
				t.Fatalf("the page does not offer a yes and a no (%s)", action)
			}
			b.post(t, fmt.Sprintf("/transfers/%d/consent", tr), form("agree", "1")).wantStatus(t, "agree", http.StatusSeeOther)
			if page := b.get(t, "/transfers"); strings.Contains(page.Body, action) {
				t.Error("the page still asks after the person agreed")
			}
			e.api(t, "POST", fmt.Sprintf("/api/v1/transfers/%d/approve", tr), sa, nil).wantStatus(t, "approve after consent", http.StatusOK)
		})

		t.Run("the bearer scheme is read in any case", func(t *testing.T) {
			for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
				e.api(t, "GET", "/api/v1/me", "", nil, "Authorization", scheme+" "+res).wantStatus(t, scheme, http.StatusOK)
			}
			e.api(t, "GET", "/api/v1/me", "", nil, "Authorization", "Basic "+res).wantStatus(t, "Basic", http.StatusUnauthorized)
		})

		t.Run("a bulk award error names the body field items", func(t *testing.T) {
			r := e.api(t, "POST", "/api/v1/awards/bulk", vAdmin, map[string]any{"items": []any{}}, "Idempotency-Key", "zz-3")
			if f, _ := r.apiError(t)["field"].(string); f != "items" {
				t.Errorf("field %q, want items", f)
			}
		})
	})
}
