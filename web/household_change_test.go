package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A household is renamed, or handed to another member as head, through
// the API and on its page: 陈桂兰户, with 陈秀兰.
func TestHouseholdChange(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		village := e.org(t, "新窑村")
		vAdmin := e.token(t, villageAdmin)
		head := e.personByPhone(t, resident).ID
		member := jsonInt(t, e.createPerson(t, "陈秀兰", village, nil), "id")
		r := e.api(t, "POST", "/api/v1/households", vAdmin, map[string]any{"org_id": village, "head_person_id": head, "member_ids": []int64{member}})
		r.wantStatus(t, "create", http.StatusCreated)
		id := jsonInt(t, r.JSON(t), "id")
		if h, err := e.svc.Points.Household(e.as(t, villageAdmin), id); err != nil || h.Name != "陈桂兰户" {
			t.Fatalf("the household: %+v, %v", h, err)
		}
		path := fmt.Sprintf("/api/v1/households/%d", id)

		t.Run("the API hands it to a member, and the name follows", func(t *testing.T) {
			r := e.api(t, "POST", path, vAdmin, map[string]any{"head_person_id": member})
			r.wantStatus(t, "change the head", http.StatusOK)
			got := r.JSON(t)
			if got["name"] != "陈秀兰户" || jsonInt(t, got, "head_person_id") != member {
				t.Fatalf("answer %s", r.Body)
			}
		})
		t.Run("the API refuses what it cannot do, in Chinese, with the field", func(t *testing.T) {
			stranger := e.personByPhone(t, volunteer)
			for _, tc := range []struct {
				body  any
				field string
			}{
				{map[string]any{"name": strings.Repeat("陈", 41)}, "name"},
				{map[string]any{}, "name"},
				{map[string]any{"head_person_id": stranger.ID}, "head_person_id"},
			} {
				r := e.api(t, "POST", path, vAdmin, tc.body)
				r.wantStatus(t, fmt.Sprint(tc.body), http.StatusUnprocessableEntity)
				if f, _ := r.apiError(t)["field"].(string); f != tc.field {
					t.Errorf("%v: field %q, want %q", tc.body, f, tc.field)
				}
				if m, _ := r.apiError(t)["message"].(string); !strings.ContainsAny(m, "户名成员") {
					t.Errorf("%v: message %q is not the Chinese one", tc.body, m)
				}
			}
			e.api(t, "POST", path, vAdmin, "{").wantStatus(t, "malformed", http.StatusBadRequest)
			e.api(t, "POST", path, e.token(t, resident), map[string]any{"name": "我家"}).wantStatus(t, "a member", http.StatusForbidden, http.StatusNotFound)
			e.api(t, "POST", "/api/v1/households/999999", vAdmin, map[string]any{"name": "无"}).wantStatus(t, "nobody's", http.StatusNotFound)
		})
		t.Run("the page renames it; the name as shown and the head as they are change nothing", func(t *testing.T) {
			admin := e.signedIn(t, villageAdmin)
			body := admin.page(t, fmt.Sprintf("/households/%d", id), nil)
			for _, want := range []string{`id="household-change"`, `name="name"`, "陈秀兰户", fmt.Sprintf(`<option value="%d" selected>`, member), fmt.Sprintf(`<option value="%d">`, head)} {
				if !strings.Contains(body, want) {
					t.Fatalf("the household page lacks %s", want)
				}
			}
			shown := func(name string, head int64) url.Values {
				return form("name_was", name, "head_was", fmt.Sprint(head))
			}
			post := func(f url.Values, name string, head int64) *result {
				f.Set("name", name)
				f.Set("head_person_id", fmt.Sprint(head))
				return admin.post(t, fmt.Sprintf("/households/%d", id), f)
			}
			r := post(shown("陈秀兰户", member), "陈家老屋", member)
			r.wantStatus(t, "rename", http.StatusSeeOther)
			if loc := r.Header.Get("Location"); loc != fmt.Sprintf("/households/%d?done=saved", id) {
				t.Fatalf("went to %s", loc)
			}
			if body := admin.page(t, fmt.Sprintf("/households/%d?done=saved", id), nil); !strings.Contains(body, "陈家老屋") || !strings.Contains(body, "已保存") ||
				!strings.Contains(body, `name="name_was" value="陈家老屋"`) || !strings.Contains(body, fmt.Sprintf(`name="head_was" value="%d"`, member)) {
				t.Fatal("the page after the rename shows neither the name nor 已保存, or not what the form was shown")
			}
			r = post(shown("陈家老屋", member), "陈家老屋", member)
			r.wantStatus(t, "nothing changed", http.StatusUnprocessableEntity)
			if !strings.Contains(r.Body, "请填写新户名，或选择新户主") {
				t.Errorf("the page says nothing of what to change")
			}
			// Someone hands the household back meanwhile; a form shown
			// before that renames it and leaves the head they chose.
			e.api(t, "POST", path, vAdmin, map[string]any{"head_person_id": head}).wantStatus(t, "hand back", http.StatusOK)
			post(shown("陈家老屋", member), "陈家新屋", member).wantStatus(t, "a stale form's rename", http.StatusSeeOther)
			got := e.api(t, "GET", path, vAdmin, nil).JSON(t)
			if got["name"] != "陈家新屋" || jsonInt(t, got, "head_person_id") != head {
				t.Errorf("after a stale form's rename: %v, head %v; want 陈家新屋 under %d", got["name"], got["head_person_id"], head)
			}
			resident := e.signedIn(t, resident)
			if body := resident.page(t, fmt.Sprintf("/households/%d", id), nil); strings.Contains(body, `id="household-change"`) {
				t.Errorf("a member is shown the form to change the household")
			}
		})
	})
}
