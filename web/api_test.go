package web_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jifen/demo"
)

var (
	han         = regexp.MustCompile(`\p{Han}`)
	volunteerNo = regexp.MustCompile(`^\d{12}$`)
)

// TestAPIContract pins the JSON API integrators rely on: routes, field
// names, status codes, error shape and time format.
func TestAPIContract(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		super := e.token(t, superAdmin)

		t.Run("sign in returns a bearer token; bad credentials all look alike", func(t *testing.T) {
			r := e.api(t, "POST", "/api/v1/sessions", "", map[string]string{"phone": countyAdmin, "password": demo.Password})
			r.wantStatus(t, "sign in", http.StatusCreated)
			m := r.JSON(t)
			tok, _ := m["token"].(string)
			if len(tok) < 20 || len(m) != 1 {
				t.Fatalf("want exactly {\"token\"}, got %s", r.Body)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("a token answer must not be cached: Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			me := e.api(t, "GET", "/api/v1/me", tok, nil)
			me.wantStatus(t, "me with the new token", http.StatusOK)

			wrong := e.api(t, "POST", "/api/v1/sessions", "", map[string]string{"phone": countyAdmin, "password": "not-the-password"})
			wrong.wantStatus(t, "wrong password", http.StatusUnauthorized)
			unknown := e.api(t, "POST", "/api/v1/sessions", "", map[string]string{"phone": "13812345678", "password": "not-the-password"})
			unknown.wantStatus(t, "unknown phone", http.StatusUnauthorized)
			we, ue := wrong.apiError(t), unknown.apiError(t)
			if we["code"] != ue["code"] || we["message"] != ue["message"] {
				t.Errorf("wrong password %v and unknown phone %v must answer alike", we, ue)
			}
			if we["code"] != "bad_credentials" {
				t.Errorf("code %v, want bad_credentials", we["code"])
			}

			out := e.api(t, "DELETE", "/api/v1/sessions", tok, nil)
			out.wantStatus(t, "sign out", http.StatusNoContent)
			after := e.api(t, "GET", "/api/v1/me", tok, nil)
			after.wantStatus(t, "me after sign out", http.StatusUnauthorized)
			if after.apiError(t)["code"] != "unauthorized" {
				t.Errorf("after sign out: %s", after.Body)
			}
		})

		t.Run("me is the person with their grants", func(t *testing.T) {
			r := e.api(t, "GET", "/api/v1/me", e.token(t, countyAdmin), nil)
			r.wantStatus(t, "me", http.StatusOK)
			m := r.JSON(t)
			for _, k := range []string{"id", "name", "gender", "phone", "volunteer_no", "home_org_id", "status", "created_at", "grants"} {
				if _, ok := m[k]; !ok {
					t.Errorf("me has no %q: %s", k, r.Body)
				}
			}
			if m["phone"] != countyAdmin || m["name"] != "李秀英" {
				t.Errorf("me is %v %v, want 李秀英 %s", m["name"], m["phone"], countyAdmin)
			}
			grants, _ := m["grants"].([]any)
			if len(grants) != 1 {
				t.Fatalf("grants %v, want one", m["grants"])
			}
			g := grants[0].(map[string]any)
			if g["role"] != "org_admin" || jsonInt(t, g, "org_id") != e.org(t, "崇信县") || g["org_name"] != "崇信县" {
				t.Errorf("grant %v, want org_admin on 崇信县", g)
			}
			if _, ok := g["OrgPath"]; ok {
				t.Errorf("grant leaks its path: %v", g)
			}
			checkTimes(t, r.Body)

			res := e.api(t, "GET", "/api/v1/me", e.token(t, resident), nil)
			res.wantStatus(t, "me of a resident", http.StatusOK)
			if g, ok := res.JSON(t)["grants"].([]any); !ok || len(g) != 0 {
				t.Errorf("a resident's grants must be an empty list, got %s", res.Body)
			}
		})

		t.Run("orgs: create, read, list children", func(t *testing.T) {
			admin := e.token(t, countyAdmin)
			town := e.org(t, "新窑镇")
			r := e.api(t, "POST", "/api/v1/orgs", admin, map[string]any{"name": "东沟村", "kind": "village", "parent_id": town})
			r.wantStatus(t, "create org", http.StatusCreated)
			m := r.JSON(t)
			id := jsonInt(t, m, "id")
			if m["name"] != "东沟村" || m["kind"] != "village" || jsonInt(t, m, "parent_id") != town {
				t.Errorf("created org %s", r.Body)
			}
			checkTimes(t, r.Body)

			got := e.api(t, "GET", "/api/v1/orgs/"+itoa(id), admin, nil)
			got.wantStatus(t, "get org", http.StatusOK)
			gm := got.JSON(t)
			if jsonInt(t, gm, "id") != id || gm["name"] != "东沟村" {
				t.Errorf("get org %s", got.Body)
			}
			for _, k := range []string{"id", "parent_id", "kind", "name", "path", "depth", "leader_name", "contact_phone", "address",
				"has_seal", "signup_requires_approval", "archived_at", "created_at"} {
				if _, ok := gm[k]; !ok {
					t.Errorf("org has no %q: %s", k, got.Body)
				}
			}
			checkTimes(t, got.Body)

			kids := e.api(t, "GET", "/api/v1/orgs/"+itoa(town)+"/children", admin, nil)
			kids.wantStatus(t, "children", http.StatusOK)
			km := kids.JSON(t)
			items := listShape(t, km)
			names := map[string]bool{}
			for _, it := range items {
				names[it.(map[string]any)["name"].(string)] = true
			}
			if !names["东沟村"] || !names["新窑村"] || len(items) != 2 {
				t.Errorf("children of 新窑镇: %v, want 新窑村 and 东沟村", names)
			}
			if jsonInt(t, km, "total") != 2 || jsonInt(t, km, "page") != 1 {
				t.Errorf("children paging: %s", kids.Body)
			}

			empty := e.api(t, "GET", "/api/v1/orgs/"+itoa(id)+"/children", admin, nil)
			empty.wantStatus(t, "children of a leaf", http.StatusOK)
			if !strings.Contains(empty.Body, `"items":[]`) {
				t.Errorf("a leaf's children must be an empty list, not null: %s", empty.Body)
			}
		})

		t.Run("people: create masks the ID number; read and list", func(t *testing.T) {
			admin := e.token(t, countyAdmin)
			idno := validID("19800102", 3)
			phone := newPhone()
			body := map[string]any{"name": "测试甲", "phone": phone, "password": "secret-pass-1", "org_id": e.org(t, "新窑村"),
				"gender": "male", "birth_date": "1980-01-02", "id_number": idno, "political_status": "party_member"}
			r := e.api(t, "POST", "/api/v1/people", admin, body)
			r.wantStatus(t, "create person", http.StatusCreated)
			m := r.JSON(t)
			id := jsonInt(t, m, "id")
			if no, _ := m["volunteer_no"].(string); !volunteerNo.MatchString(no) {
				t.Errorf("volunteer_no %q, want 12 digits", m["volunteer_no"])
			}
			if m["name"] != "测试甲" || m["phone"] != phone || m["gender"] != "male" || m["birth_date"] != "1980-01-02" ||
				m["political_status"] != "party_member" || jsonInt(t, m, "home_org_id") != e.org(t, "新窑村") || m["status"] != "active" {
				t.Errorf("created person %s", r.Body)
			}
			if masked, _ := m["id_number_masked"].(string); masked != idno[:4]+strings.Repeat("*", 10)+idno[14:] {
				t.Errorf("id_number_masked %q for %s", masked, idno)
			}
			for _, secret := range []string{idno, idno[4:14], "secret-pass-1"} {
				if strings.Contains(r.Body, secret) {
					t.Errorf("create answer leaks %q: %s", secret, r.Body)
				}
			}
			if _, ok := m["password"]; ok {
				t.Errorf("answer carries a password field: %s", r.Body)
			}
			checkTimes(t, r.Body)

			got := e.api(t, "GET", "/api/v1/people/"+itoa(id), admin, nil)
			got.wantStatus(t, "get person", http.StatusOK)
			if strings.Contains(got.Body, idno) || jsonInt(t, got.JSON(t), "id") != id {
				t.Errorf("get person: %s", got.Body)
			}
			checkTimes(t, got.Body)

			list := e.api(t, "GET", "/api/v1/people?q=测试甲&org_id="+itoa(e.org(t, "崇信县"))+"&page=1", admin, nil)
			list.wantStatus(t, "list people", http.StatusOK)
			lm := list.JSON(t)
			items := listShape(t, lm)
			if len(items) != 1 || jsonInt(t, items[0].(map[string]any), "id") != id || jsonInt(t, lm, "total") != 1 {
				t.Errorf("search 测试甲: %s", list.Body)
			}
			if strings.Contains(list.Body, idno) {
				t.Errorf("list leaks the ID number")
			}
			if jsonInt(t, lm, "page") != 1 || jsonInt(t, lm, "per_page") < 1 {
				t.Errorf("paging: %s", list.Body)
			}

			all := e.api(t, "GET", "/api/v1/people?q=&org_id=&page=", admin, nil)
			all.wantStatus(t, "list with empty parameters", http.StatusOK)
			am := all.JSON(t)
			if n := len(listShape(t, am)); n == 0 || int64(n) > jsonInt(t, am, "total") || int64(n) > jsonInt(t, am, "per_page") {
				t.Errorf("list: %d items, %s", n, all.Body)
			}
			p2 := e.api(t, "GET", "/api/v1/people?page=2&per_page=5", admin, nil)
			p2.wantStatus(t, "page 2", http.StatusOK)
			pm := p2.JSON(t)
			if jsonInt(t, pm, "page") != 2 || jsonInt(t, pm, "per_page") != 5 || len(listShape(t, pm)) != 5 {
				t.Errorf("page 2 of 5: %s", p2.Body)
			}
		})

		t.Run("roles: grant on an org", func(t *testing.T) {
			admin := e.token(t, countyAdmin)
			phone := newPhone()
			p := e.createPerson(t, "授权测试", e.org(t, "锦屏镇"), map[string]any{"phone": phone, "password": demo.Password})
			pid := jsonInt(t, p, "id")
			org := e.org(t, "锦屏镇")
			r := e.api(t, "POST", "/api/v1/orgs/"+itoa(org)+"/roles", admin, map[string]any{"person_id": pid, "role": "reviewer"})
			r.wantStatus(t, "grant", http.StatusCreated)
			g := r.JSON(t)
			if jsonInt(t, g, "id") <= 0 || jsonInt(t, g, "person_id") != pid || g["role"] != "reviewer" || jsonInt(t, g, "org_id") != org {
				t.Errorf("grant answer %s", r.Body)
			}
			me := e.api(t, "GET", "/api/v1/me", e.token(t, phone), nil)
			if !strings.Contains(me.Body, `"role":"reviewer"`) {
				t.Errorf("the grantee's me does not show the role: %s", me.Body)
			}
			bad := e.api(t, "POST", "/api/v1/orgs/"+itoa(org)+"/roles", admin, map[string]any{"person_id": pid, "role": "king"})
			bad.wantStatus(t, "unknown role", http.StatusUnprocessableEntity)
			if bad.apiError(t)["field"] != "role" {
				t.Errorf("unknown role: %s", bad.Body)
			}
			sa := e.api(t, "POST", "/api/v1/orgs/"+itoa(org)+"/roles", admin, map[string]any{"person_id": pid, "role": "super_admin"})
			sa.wantStatus(t, "an org admin grants super_admin", http.StatusForbidden)
			self := e.api(t, "POST", "/api/v1/orgs/"+itoa(org)+"/roles", admin, map[string]any{"person_id": e.personByPhone(t, countyAdmin).ID, "role": "reviewer"})
			self.wantStatus(t, "grant to oneself", http.StatusConflict)
		})

		t.Run("errors have one shape and the right status", func(t *testing.T) {
			admin := e.token(t, countyAdmin)
			village := e.org(t, "新窑村")
			foreignOrg := e.org(t, "叶集区")
			foreignPerson := e.peopleIn(t, "万佛社区")[0].ID
			goodPerson := func(extra map[string]any) map[string]any {
				m := map[string]any{"name": "错误测试", "gender": "male", "org_id": village}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}
			badDigit := withBadCheckDigit(validID("19900101", 5))
			cases := []struct {
				name         string
				method, path string
				token        string
				body         any
				hdr          []string
				status       int
				code, field  string
			}{
				{"malformed JSON", "POST", "/api/v1/orgs", admin, `{"name":`, nil, 400, "malformed", ""},
				{"not JSON at all", "POST", "/api/v1/people", admin, `name=x`, nil, 400, "malformed", ""},
				{"wrong type names its field", "POST", "/api/v1/orgs", admin, `{"name": 5, "kind": "village"}`, nil, 400, "malformed", "name"},
				{"string for an id", "POST", "/api/v1/people", admin, `{"name": "x", "org_id": "12"}`, nil, 400, "malformed", "org_id"},
				{"fraction for an id", "POST", "/api/v1/orgs/" + itoa(village) + "/roles", admin, `{"person_id": 1.5, "role": "resident"}`, nil, 400, "malformed", "person_id"},
				{"empty body", "POST", "/api/v1/people", admin, "", nil, 400, "malformed", ""},
				{"two JSON values", "POST", "/api/v1/sessions", "", `{"phone":"1","password":"2"} {}`, nil, 400, "malformed", ""},
				{"array instead of object", "POST", "/api/v1/orgs", admin, `[]`, nil, 400, "malformed", ""},
				{"no token", "GET", "/api/v1/me", "", nil, nil, 401, "unauthorized", ""},
				{"made-up token", "GET", "/api/v1/people", "not-a-real-token", nil, nil, 401, "unauthorized", ""},
				{"cookie is not a credential for the API", "GET", "/api/v1/me", "", nil, []string{"Cookie", sessionCookie + "=" + admin}, 401, "unauthorized", ""},
				{"foreign org is not found", "GET", "/api/v1/orgs/" + itoa(foreignOrg), admin, nil, nil, 404, "not_found", ""},
				{"foreign org's children are not found", "GET", "/api/v1/orgs/" + itoa(foreignOrg) + "/children", admin, nil, nil, 404, "not_found", ""},
				{"foreign person is not found", "GET", "/api/v1/people/" + itoa(foreignPerson), admin, nil, nil, 404, "not_found", ""},
				{"no such org", "GET", "/api/v1/orgs/987654321", admin, nil, nil, 404, "not_found", ""},
				{"create under a foreign org is not found, like reading it", "POST", "/api/v1/orgs", admin, map[string]any{"name": "越权村", "kind": "village", "parent_id": e.org(t, "史河街道")}, nil, 404, "not_found", ""},
				{"register into a foreign org", "POST", "/api/v1/people", admin, goodPerson(map[string]any{"org_id": e.org(t, "万佛社区")}), nil, 404, "not_found", ""},
				{"list a foreign org", "GET", "/api/v1/people?org_id=" + itoa(foreignOrg), admin, nil, nil, 404, "not_found", ""},
				{"resident lists people", "GET", "/api/v1/people", e.token(t, resident), nil, nil, 403, "forbidden", ""},
				{"resident creates an org", "POST", "/api/v1/orgs", e.token(t, resident), map[string]any{"name": "越权村", "kind": "village", "parent_id": e.org(t, "新窑镇")}, nil, 403, "forbidden", ""},
				{"duplicate phone", "POST", "/api/v1/people", admin, goodPerson(map[string]any{"phone": resident}), nil, 409, "phone_taken", "phone"},
				{"bad ID check digit", "POST", "/api/v1/people", admin, goodPerson(map[string]any{"id_number": badDigit}), nil, 422, "invalid", "id_number"},
				{"bad phone", "POST", "/api/v1/people", admin, goodPerson(map[string]any{"phone": "12345"}), nil, 422, "invalid", "phone"},
				{"unknown gender", "POST", "/api/v1/people", admin, goodPerson(map[string]any{"gender": "x"}), nil, 422, "invalid", "gender"},
				{"unknown political status", "POST", "/api/v1/people", admin, goodPerson(map[string]any{"political_status": "alien"}), nil, 422, "invalid", "political_status"},
				{"short password", "POST", "/api/v1/people", admin, goodPerson(map[string]any{"password": "short"}), nil, 422, "invalid", "password"},
				{"unknown org kind", "POST", "/api/v1/orgs", admin, map[string]any{"name": "某地", "kind": "planet", "parent_id": village}, nil, 422, "invalid", "kind"},
				{"org kind that cannot sit there", "POST", "/api/v1/orgs", admin, map[string]any{"name": "某县", "kind": "county", "parent_id": village}, nil, 422, "invalid", "kind"},
				{"empty org name", "POST", "/api/v1/orgs", admin, map[string]any{"name": " ", "kind": "team", "parent_id": village}, nil, 422, "invalid", "name"},
				{"negative page", "GET", "/api/v1/people?page=-1", admin, nil, nil, 400, "malformed", "page"},
				{"unknown API path is JSON", "GET", "/api/v1/nothing-here", admin, nil, nil, 404, "not_found", ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := e.api(t, c.method, c.path, c.token, c.body, c.hdr...)
					r.wantStatus(t, c.name, c.status)
					er := r.apiError(t)
					if er["code"] != c.code {
						t.Errorf("code %v, want %s: %s", er["code"], c.code, r.Body)
					}
					if c.field != "" && er["field"] != c.field {
						t.Errorf("field %v, want %s: %s", er["field"], c.field, r.Body)
					}
					if _, ok := er["request_id"]; ok {
						t.Errorf("only internal errors carry a request id: %s", r.Body)
					}
				})
			}
		})

		t.Run("messages are Chinese by default and English on request", func(t *testing.T) {
			admin := e.token(t, countyAdmin)
			bad := withBadCheckDigit(validID("19900101", 7))
			body := map[string]any{"name": "语言测试", "gender": "male", "org_id": e.org(t, "新窑村"), "id_number": bad}
			zh := e.api(t, "POST", "/api/v1/people", admin, body).apiError(t)
			en := e.api(t, "POST", "/api/v1/people", admin, body, "Accept-Language", "en-US,en;q=0.9").apiError(t)
			hk := e.api(t, "POST", "/api/v1/people", admin, body, "Accept-Language", "zh-HK").apiError(t)
			if zh["field"] != "id_number" || en["field"] != "id_number" {
				t.Fatalf("field: zh %v, en %v", zh, en)
			}
			if !han.MatchString(zh["message"].(string)) {
				t.Errorf("default message %q is not Chinese", zh["message"])
			}
			if m := en["message"].(string); han.MatchString(m) || !strings.Contains(m, "check digit") {
				t.Errorf("English message %q", m)
			}
			if hk["message"] != zh["message"] {
				t.Errorf("zh-HK gets %q, want the Chinese %q", hk["message"], zh["message"])
			}
			un := e.api(t, "GET", "/api/v1/me", "", nil, "Accept-Language", "en").apiError(t)
			if han.MatchString(un["message"].(string)) {
				t.Errorf("401 in English: %q", un["message"])
			}
		})

		t.Run("every API answer is JSON with no-store", func(t *testing.T) {
			for _, path := range []string{"/api/v1/me", "/api/v1/people", "/api/v1/orgs/" + itoa(e.org(t, "平凉市"))} {
				for _, tok := range []string{super, ""} {
					r := e.api(t, "GET", path, tok, nil)
					if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("Cache-Control") != "no-store" {
						t.Errorf("GET %s (token %v): Content-Type %q, Cache-Control %q", path, tok != "", r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
					}
					if !json.Valid([]byte(r.Body)) {
						t.Errorf("GET %s: not JSON: %.200s", path, r.Body)
					}
				}
			}
		})
	})
}

// listShape checks {"items","total","page","per_page"} and returns items.
func listShape(t testing.TB, m map[string]any) []any {
	t.Helper()
	items, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("items is %T, want a list: %v", m["items"], m)
	}
	for _, k := range []string{"total", "page", "per_page"} {
		jsonInt(t, m, k)
	}
	if len(m) != 4 {
		t.Errorf("a list has exactly items, total, page, per_page; got %v", keys(m))
	}
	return items
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkTimes finds every time in a JSON document and wants RFC 3339 in
// China's zone (+08:00), so integrators never guess the offset.
func checkTimes(t testing.TB, body string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	n := 0
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(k, c)
			}
		case []any:
			for _, c := range x {
				walk(key, c)
			}
		case string:
			if strings.HasSuffix(key, "_at") {
				tm, err := time.Parse(time.RFC3339Nano, x)
				if err != nil {
					t.Errorf("%s = %q is not RFC 3339", key, x)
					return
				}
				n++
				if !strings.HasSuffix(x, "+08:00") {
					t.Errorf("%s = %q, want the +08:00 offset", key, x)
				}
				if tm.IsZero() || tm.Year() < 2000 {
					t.Errorf("%s = %q is not a real time", key, x)
				}
			}
		}
	}
	walk("", v)
	if n == 0 {
		t.Errorf("no times in %.200s", body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestOpenAPI checks that the document and the router agree both ways.
func TestOpenAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		r := e.api(t, "GET", "/api/v1/openapi.json", "", nil)
		r.wantStatus(t, "openapi.json", http.StatusOK)
		if !json.Valid([]byte(r.Body)) {
			t.Fatalf("openapi.json is not valid JSON")
		}
		doc := r.JSON(t)
		if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
			t.Errorf("openapi version %q", doc["openapi"])
		}
		// The served document is the one the server builds.
		built, err := json.Marshal(e.srv.OpenAPI())
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		json.Unmarshal(built, &a)
		json.Unmarshal([]byte(r.Body), &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("served document differs from srv.OpenAPI()")
		}
		paths, ok := doc["paths"].(map[string]any)
		if !ok || len(paths) == 0 {
			t.Fatalf("no paths in the document")
		}
		if _, ok := lookup(doc, "components", "securitySchemes", "bearer").(map[string]any); !ok {
			t.Errorf("no bearer security scheme")
		}

		t.Run("every API route is documented", func(t *testing.T) {
			n := 0
			for _, rt := range e.srv.Routes() {
				if strings.HasPrefix(rt.Path, "/api/") != rt.API {
					t.Errorf("%s %s: API flag %v disagrees with its path", rt.Method, rt.Path, rt.API)
				}
				if !rt.API {
					continue
				}
				n++
				op, ok := lookup(doc, "paths", rt.Path, strings.ToLower(rt.Method)).(map[string]any)
				if !ok {
					t.Errorf("%s %s is not in openapi.json", rt.Method, rt.Path)
					continue
				}
				_, secured := op["security"]
				if secured == rt.Public {
					t.Errorf("%s %s: security %v but public %v", rt.Method, rt.Path, secured, rt.Public)
				}
			}
			if n < 10 {
				t.Errorf("only %d API routes", n)
			}
		})

		t.Run("every documented operation is answered by the router", func(t *testing.T) {
			ids := map[string]bool{}
			for path, item := range paths {
				for method, v := range item.(map[string]any) {
					op := v.(map[string]any)
					name := strings.ToUpper(method) + " " + path
					if id, _ := op["operationId"].(string); id == "" || ids[id] {
						t.Errorf("%s: operationId %q missing or repeated", name, id)
					} else {
						ids[id] = true
					}
					for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
						if !hasParam(op, m[1]) {
							t.Errorf("%s: path parameter %s is not declared", name, m[1])
						}
					}
					ok := false
					for code := range op["responses"].(map[string]any) {
						ok = ok || strings.HasPrefix(code, "2")
					}
					if !ok {
						t.Errorf("%s: no success response documented", name)
					}
					url := pathParam.ReplaceAllString(path, "1")
					res := e.api(t, strings.ToUpper(method), url, "", nil)
					if _, secured := op["security"]; secured {
						if res.Status != http.StatusUnauthorized || res.apiError(t)["code"] != "unauthorized" {
							t.Errorf("%s without a token: %d %.200s, want 401 unauthorized", name, res.Status, res.Body)
						}
						continue
					}
					if res.Status == http.StatusNotFound || res.Status == http.StatusMethodNotAllowed {
						t.Errorf("%s is documented but the router answers %d: %.200s", name, res.Status, res.Body)
					}
				}
			}
		})

		t.Run("request bodies document the contract's field names", func(t *testing.T) {
			want := map[string][]string{
				"POST /api/v1/sessions":        {"phone", "password"},
				"POST /api/v1/orgs":            {"name", "kind", "parent_id"},
				"POST /api/v1/people":          {"name", "phone", "password", "org_id", "gender", "birth_date", "id_number", "political_status"},
				"POST /api/v1/orgs/{id}/roles": {"person_id", "role"},
			}
			for key, fields := range want {
				method, path, _ := strings.Cut(key, " ")
				props, ok := lookup(doc, "paths", path, strings.ToLower(method), "requestBody", "content", "application/json", "schema", "properties").(map[string]any)
				if !ok {
					t.Errorf("%s: no request schema", key)
					continue
				}
				for _, f := range fields {
					if _, ok := props[f]; !ok {
						t.Errorf("%s: request schema lacks %q (has %v)", key, f, keys(props))
					}
				}
			}
			props, _ := lookup(doc, "paths", "/api/v1/people/{id}", "get", "responses", "200", "content", "application/json", "schema", "properties").(map[string]any)
			for _, f := range []string{"id", "volunteer_no", "id_number_masked", "created_at"} {
				if _, ok := props[f]; !ok {
					t.Errorf("person schema lacks %q", f)
				}
			}
			if _, ok := props["id_number"]; ok {
				t.Errorf("the person schema offers the clear ID number")
			}
		})
	})
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// lookup walks nested JSON objects by key.
func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func hasParam(op map[string]any, name string) bool {
	ps, _ := op["parameters"].([]any)
	for _, p := range ps {
		if m, ok := p.(map[string]any); ok && m["name"] == name && m["in"] == "path" {
			return true
		}
	}
	return false
}
