package web_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"jifen"
)

// templateKeys are the catalog keys the templates ask for by name.
func templateKeys(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("templates", "*.html"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found: %v", err)
	}
	re := regexp.MustCompile(`\b(?:t|tf)\s+\$?\.Lang\s+"([^"]+)"`)
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d keys found in the templates: is the pattern right?", len(out))
	}
	return out
}

var (
	scriptOrStyle = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>`)
	textAttr      = regexp.MustCompile(`\b(?:placeholder|alt|title|aria-label)="([^"]*)"`)
	anyTag        = regexp.MustCompile(`(?s)<[^>]*>`)
	keyShape      = regexp.MustCompile(`\b[a-z][a-z_]*(?:\.[a-z][a-z_]*)+\b`)
)

// visibleText is what a reader sees of a page: text and the attributes
// a browser shows.
func visibleText(page string) string {
	page = scriptOrStyle.ReplaceAllString(page, " ")
	var b strings.Builder
	for _, m := range textAttr.FindAllStringSubmatch(page, -1) {
		b.WriteString(m[1] + "\n")
	}
	b.WriteString(anyTag.ReplaceAllString(page, "\n"))
	return html.UnescapeString(b.String())
}

// untranslated finds catalog keys shown instead of their text: a missing
// key renders as itself.
func untranslated(page string, keys []string) []string {
	text := visibleText(page)
	var out []string
	for _, k := range keys {
		if strings.Contains(k, ".") && strings.Contains(text, k) {
			out = append(out, k)
		}
	}
	for _, m := range keyShape.FindAllString(text, -1) {
		if m != "e.g" && m != "i.e" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// TestPages renders every page the server has, signed in as the super
// admin, in both languages and by every way of choosing one.
func TestPages(t *testing.T) {
	keys := templateKeys(t)
	eachDB(t, func(t *testing.T, e *env) {
		sys := e.as(t, "")
		city := e.org(t, "平凉市")
		if err := e.svc.Orgs.SetSeal(sys, city, pngSeal); err != nil {
			t.Fatal(err)
		}
		person := e.createPerson(t, "页面测试", e.org(t, "新窑村"), map[string]any{"gender": "male", "id_number": validID("19800102", 11), "skills": []string{"理发"}})
		pid := jsonInt(t, person, "id")
		project, activity := e.activity(t, e.org(t, "新窑村志愿服务队"))
		sb := e.signedIn(t, superAdmin)
		// Leave entries of every kind in the audit log and a message in the inbox.
		sb.post(t, "/people/"+itoa(pid)+"/reveal", nil).wantStatus(t, "reveal", 200)
		sb.post(t, "/people/"+itoa(pid)+"/pin", form("pin", "123456", "pin2", "123456")).wantStatus(t, "pin", 303)
		sb.post(t, "/people/"+itoa(pid)+"/code", nil).wantStatus(t, "code", 200)
		sb.post(t, "/people/"+itoa(pid)+"/message", form("title", "通知", "body", "明天活动")).wantStatus(t, "message", 303)

		// Every page in both languages, chosen by cookie (which beats the
		// browser's Accept-Language) and by Accept-Language alone.
		zhB, enB := e.signedIn(t, superAdmin), e.signedIn(t, superAdmin)
		zhB.setCookie(langCookie, "zh")
		enB.setCookie(langCookie, "en")
		type variant struct {
			name, lang string
			b          *browser
			hdr        []string
		}
		variants := []variant{
			{"cookie zh", "zh", zhB, []string{"Accept-Language", "en"}},
			{"cookie en", "en", enB, []string{"Accept-Language", "zh-CN"}},
			{"Accept-Language en", "en", sb, []string{"Accept-Language", "en-US,en;q=0.9,zh;q=0.5"}},
		}
		// Chinese readers get Chinese whatever their region or script.
		negotiation := []variant{
			{"no preference", "zh", sb, nil},
			{"Accept-Language zh-CN", "zh", sb, []string{"Accept-Language", "zh-CN,zh;q=0.9"}},
			{"Accept-Language zh-HK", "zh", sb, []string{"Accept-Language", "zh-HK"}},
			{"Accept-Language zh-TW", "zh", sb, []string{"Accept-Language", "zh-TW,en;q=0.5"}},
			{"Accept-Language zh-Hant", "zh", sb, []string{"Accept-Language", "zh-Hant-TW"}},
			{"Accept-Language fr then zh", "zh", sb, []string{"Accept-Language", "fr-FR,zh;q=0.8"}},
		}
		checkPage := func(t *testing.T, path string, v variant, r *result) {
			t.Helper()
			wantLang := map[string]string{"zh": `<html lang="zh-CN">`, "en": `<html lang="en">`}[v.lang]
			if !strings.Contains(r.Body, wantLang) {
				t.Errorf("GET %s (%s): want %s", path, v.name, wantLang)
			}
			if cl := r.Header.Get("Content-Language"); cl != map[string]string{"zh": "zh-CN", "en": "en"}[v.lang] {
				t.Errorf("GET %s (%s): Content-Language %q", path, v.name, cl)
			}
			brand := map[string]string{"zh": "文明积分 · 志愿服务", "en": "jifen · Volunteer Points"}[v.lang]
			if !strings.Contains(r.Body, brand) {
				t.Errorf("GET %s (%s): the page is not in %s", path, v.name, v.lang)
			}
			if bad := untranslated(r.Body, keys); len(bad) > 0 {
				t.Errorf("GET %s (%s) shows untranslated keys %v", path, v.name, bad)
			}
			if !strings.Contains(r.Body, `name="csrf"`) {
				t.Errorf("GET %s: a signed-in page carries the sign-out form with its csrf field", path)
			}
		}
		n := 0
		for _, rt := range e.srv.Routes() {
			if rt.API || rt.Method != "GET" {
				continue
			}
			// Pages of things the test can make must render; a page of a
			// thing it cannot (a certificate file, a verification code)
			// must at least answer with a proper page.
			path, must200 := rt.Path, true
			switch {
			case strings.HasPrefix(path, "/orgs/{id}"):
				path = concrete(path, city)
			case strings.HasPrefix(path, "/people/{id}"):
				path = concrete(path, pid)
			case strings.HasPrefix(path, "/activities/{id}"), strings.HasPrefix(path, "/checkin/{id}"):
				path = concrete(path, activity)
			case strings.HasPrefix(path, "/projects/{id}"):
				path = concrete(path, project)
			case wildcard.MatchString(strings.ReplaceAll(strings.ReplaceAll(path, "{$}", ""), "{lang}", "")):
				t.Logf("GET %s: no fixture for its wildcard; checking the page it answers with", rt.Path)
				path, must200 = concrete(path, 1), false
			default:
				path = concrete(path, 0)
			}
			path += pageQuery[rt.Path]
			t.Run(path, func(t *testing.T) {
				if strings.HasPrefix(rt.Path, "/lang/") {
					e.browser(t).get(t, path).wantStatus(t, path, http.StatusSeeOther)
					return
				}
				for _, v := range variants {
					r := v.b.get(t, path, v.hdr...)
					ct := r.Header.Get("Content-Type")
					switch {
					case r.Status != http.StatusOK && (must200 || r.Status >= 500):
						t.Fatalf("GET %s (%s): %d: %.300s", path, v.name, r.Status, r.Body)
					case strings.HasSuffix(path, ".png"):
						if ct != "image/png" || !strings.HasPrefix(r.Body, "\x89PNG") {
							t.Errorf("GET %s: %s, not a PNG", path, ct)
						}
						return
					case !strings.HasPrefix(ct, "text/html"):
						return // static files, health, metrics: no language
					}
					n++
					checkPage(t, path, v, r)
				}
			})
		}
		if n < 15*len(variants) {
			t.Errorf("only %d HTML pages were checked", n)
		}
		for _, path := range []string{"/", "/people", "/signin", "/orgs/" + itoa(city)} {
			for _, v := range negotiation {
				checkPage(t, path, v, v.b.get(t, path, v.hdr...))
			}
		}

		t.Run("the language switch sets a cookie and goes back", func(t *testing.T) {
			b := e.signedIn(t, superAdmin)
			r := b.get(t, "/lang/en?next="+url.QueryEscape("/people?q=王"))
			if loc, _ := url.PathUnescape(r.Header.Get("Location")); r.Status != http.StatusSeeOther || loc != "/people?q=王" {
				t.Fatalf("switch: %d to %q", r.Status, r.Header.Get("Location"))
			}
			if b.cookie(langCookie) != "en" {
				t.Errorf("no language cookie")
			}
			if p := b.get(t, "/people", "Accept-Language", "zh-CN"); !strings.Contains(p.Body, `<html lang="en">`) {
				t.Errorf("the chosen language loses to Accept-Language")
			}
			b.get(t, "/lang/fr")
			if b.cookie(langCookie) != "zh" {
				t.Errorf("an unknown language gives %q, want zh", b.cookie(langCookie))
			}
		})

		t.Run("a form error is shown in the page's language", func(t *testing.T) {
			b := e.signedIn(t, superAdmin)
			b.setCookie(langCookie, "en")
			r := b.post(t, "/people", form("name", "坏身份证", "gender", "male", "org_id", itoa(e.org(t, "新窑村")), "id_number", withBadCheckDigit(validID("19800102", 13))))
			r.wantStatus(t, "bad ID number", http.StatusUnprocessableEntity)
			if !strings.Contains(r.Body, "check digit") || !strings.Contains(r.Body, `id="form-error"`) {
				t.Errorf("the form error is not shown in English: %.500s", r.Body)
			}
			if bad := untranslated(r.Body, keys); len(bad) > 0 {
				t.Errorf("form error page shows untranslated keys %v", bad)
			}
		})
	})
}

// pageQuery completes pages that need a query to answer.
var pageQuery = map[string]string{"/records/export": "?format=csv"}

var volunteerNoOnPage = regexp.MustCompile(`id="volunteer-no">(\d{12})<`)

// signupForm fills the sign-up form as a person would, from the page.
func signupForm(t *testing.T, b *browser, name, phone string, org int64) url.Values {
	t.Helper()
	page := b.get(t, "/signup")
	page.wantStatus(t, "sign-up page", http.StatusOK)
	m := regexp.MustCompile(`name="consent_version" value="([^"]+)"`).FindStringSubmatch(page.Body)
	if m == nil || m[1] != jifen.PrivacyNoticeVersion {
		t.Fatalf("the sign-up form carries no current consent version: %v", m)
	}
	if !strings.Contains(page.Body, `<option value="`+itoa(org)+`"`) {
		t.Fatalf("org %d is not offered on the sign-up form", org)
	}
	return url.Values{
		"name": {name}, "gender": {"female"}, "birth_date": {"1966-03-04"}, "phone": {phone},
		"org_id": {itoa(org)}, "political_status": {"masses"}, "skills": {"理发、义诊"},
		"password": {"signup-pass-1"}, "password2": {"signup-pass-1"},
		"consent": {"yes"}, "consent_version": {m[1]},
	}
}

// TestSignup registers residents through the real form.
func TestSignup(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		t.Run("a resident signs up and lands on their page", func(t *testing.T) {
			b := e.browser(t)
			phone := newPhone()
			r := b.post(t, "/signup", signupForm(t, b, "新居民", phone, e.org(t, "新窑村")))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/me?done=welcome" {
				t.Fatalf("sign up: %d to %q: %.500s", r.Status, r.Header.Get("Location"), r.Body)
			}
			if b.cookie(sessionCookie) == "" {
				t.Fatal("signed up but not signed in")
			}
			me := b.get(t, "/me?done=welcome")
			me.wantStatus(t, "me", http.StatusOK)
			m := volunteerNoOnPage.FindStringSubmatch(me.Body)
			if m == nil {
				t.Fatalf("/me shows no volunteer number: %.800s", me.Body)
			}
			if !strings.Contains(me.Body, "新居民") || !strings.Contains(me.Body, "注册成功") || !strings.Contains(me.Body, "新窑村") {
				t.Errorf("/me does not welcome the new resident")
			}
			p := e.personByPhone(t, phone)
			if p.VolunteerNo != m[1] || p.HomeOrgID != e.org(t, "新窑村") || p.Status != jifen.PersonActive || len(p.Skills) != 2 {
				t.Errorf("registered %+v, page shows %s", p, m[1])
			}
			b.get(t, "/messages").wantStatus(t, "messages", http.StatusOK)
			// The new password works on a fresh browser too.
			r = e.browser(t).post(t, "/signin", url.Values{"phone": {phone}, "password": {"signup-pass-1"}})
			r.wantStatus(t, "sign in with the new password", http.StatusSeeOther)
		})

		t.Run("a sign-up into 城关社区 waits for its ancestor's admin", func(t *testing.T) {
			b := e.browser(t)
			phone := newPhone()
			r := b.post(t, "/signup", signupForm(t, b, "待审核", phone, e.org(t, "城关社区")))
			r.wantStatus(t, "sign up", http.StatusOK)
			if !strings.Contains(r.Body, "注册已提交") || !regexp.MustCompile(`<strong>\d{12}</strong>`).MatchString(r.Body) {
				t.Fatalf("not the pending page: %.800s", r.Body)
			}
			if b.cookie(sessionCookie) != "" {
				t.Fatal("a pending person got a session")
			}
			form := url.Values{"phone": {phone}, "password": {"signup-pass-1"}}
			if r := e.browser(t).post(t, "/signin", form); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "等待") {
				t.Errorf("pending sign-in through the form: %d, want 403 with the reason", r.Status)
			}
			if r := e.api(t, "POST", "/api/v1/sessions", "", map[string]string{"phone": phone, "password": "signup-pass-1"}); r.Status != http.StatusForbidden || r.apiError(t)["code"] != "pending_approval" {
				t.Errorf("pending sign-in through the API: %d %s", r.Status, r.Body)
			}
			pending := e.api(t, "GET", "/api/v1/people?status=pending&q="+phone, e.token(t, countyAdmin), nil)
			items := listShape(t, pending.JSON(t))
			if len(items) != 1 {
				t.Fatalf("the 崇信县 admin does not see the pending sign-up: %s", pending.Body)
			}
			id := jsonInt(t, items[0].(map[string]any), "id")

			if r := e.signedIn(t, villageAdmin).post(t, "/people/"+itoa(id)+"/approve", nil); r.Status != http.StatusNotFound {
				t.Errorf("the 新窑村 admin approves a 城关社区 sign-up: %d, want 404", r.Status)
			}
			if r := e.signedIn(t, reviewer).post(t, "/people/"+itoa(id)+"/approve", nil); r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
				t.Errorf("a reviewer approves: %d, want 403 or 404", r.Status)
			}
			if r := e.browser(t).post(t, "/signin", form); r.Status != http.StatusForbidden {
				t.Fatalf("still pending after refused approvals, but sign-in gives %d", r.Status)
			}

			admin := e.signedIn(t, countyAdmin)
			page := admin.get(t, "/people/"+itoa(id))
			if !strings.Contains(page.Body, `action="/people/`+itoa(id)+`/approve"`) {
				t.Errorf("the admin's person page offers no approve button")
			}
			r = admin.post(t, "/people/"+itoa(id)+"/approve", nil)
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/people/"+itoa(id)+"?done=approved" {
				t.Fatalf("approve: %d to %q: %.300s", r.Status, r.Header.Get("Location"), r.Body)
			}
			if r := admin.post(t, "/people/"+itoa(id)+"/approve", nil); r.Status != http.StatusConflict {
				t.Errorf("approving twice: %d, want 409", r.Status)
			}
			nb := e.browser(t)
			nb.post(t, "/signin", form).wantStatus(t, "sign in after approval", http.StatusSeeOther)
			if msgs := nb.get(t, "/messages"); !strings.Contains(msgs.Body, "注册已通过审核") {
				t.Errorf("no approval message in the inbox")
			}
		})

		t.Run("a bad sign-up shows the form again and keeps what was typed", func(t *testing.T) {
			b := e.browser(t)
			f := signupForm(t, b, "重填", newPhone(), e.org(t, "新窑村"))
			f.Set("password2", "something-else")
			r := b.post(t, "/signup", f)
			r.wantStatus(t, "password mismatch", http.StatusUnprocessableEntity)
			if !strings.Contains(r.Body, `value="重填"`) || strings.Contains(r.Body, "signup-pass-1") || !strings.Contains(r.Body, `id="form-error"`) {
				t.Errorf("the form is not shown again properly: %.600s", r.Body)
			}
			f = signupForm(t, b, "重复", resident, e.org(t, "新窑村"))
			if r := b.post(t, "/signup", f); r.Status != http.StatusConflict || !strings.Contains(r.Body, "已被登记") {
				t.Errorf("duplicate phone: %d", r.Status)
			}
			f = signupForm(t, b, "不同意", newPhone(), e.org(t, "新窑村"))
			f.Del("consent")
			if r := b.post(t, "/signup", f); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("no consent: %d, want 422", r.Status)
			}
			f = signupForm(t, b, "小孩", newPhone(), e.org(t, "新窑村"))
			f.Set("birth_date", "2020-01-01")
			if r := b.post(t, "/signup", f); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "监护人") {
				t.Errorf("a child without a guardian: %d, want 422", r.Status)
			}
			f = signupForm(t, b, "无令牌", newPhone(), e.org(t, "新窑村"))
			f.Set("csrf", "")
			if r := b.post(t, "/signup", f); r.Status != http.StatusForbidden {
				t.Errorf("sign-up without the CSRF token: %d, want 403", r.Status)
			}
			for _, name := range []string{"重填", "不同意", "小孩", "无令牌"} {
				if r := e.api(t, "GET", "/api/v1/people?q="+url.QueryEscape(name), e.token(t, superAdmin), nil); jsonInt(t, r.JSON(t), "total") != 0 {
					t.Errorf("a refused sign-up registered %s", name)
				}
			}
		})
	})
}

var (
	importErrRow  = regexp.MustCompile(`<tr><td>(\d+)</td><td>`)
	commitAction  = regexp.MustCompile(`action="/import/(\d+)/commit"`)
	importSummary = regexp.MustCompile(`共 (\d+) 行，有效 (\d+) 行，错误 (\d+) 处`)
	importDone    = regexp.MustCompile(`id="import-result">导入完成：新增 (\d+) 人，更新 (\d+) 人<`)
)

// TestImportRoster imports the sample roster through the upload form.
func TestImportRoster(t *testing.T) {
	roster, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "roster-sample.csv"))
	if err != nil {
		t.Fatalf("the shared fixture: %v", err)
	}
	eachDB(t, func(t *testing.T, e *env) {
		city := e.org(t, "平凉市")
		b := e.signedIn(t, superAdmin)
		page := b.get(t, "/import")
		page.wantStatus(t, "import page", http.StatusOK)
		if !strings.Contains(page.Body, `<option value="`+itoa(city)+`"`) {
			t.Fatalf("平凉市 is not offered")
		}
		before := e.total(t, city, "")

		// roster-sample.bad-rows.txt names these sheet rows as bad; the
		// markup name on sheet row 5 is valid and must only be escaped. The
		// importer reports both rows of a duplicate phone, so the partner of
		// sheet row 41 (row 42) may be listed too.
		documented := []string{"3", "7", "31", "41", "52", "61"}
		partners := []string{"42"}
		valid := 0
		preview := func(t *testing.T) string {
			t.Helper()
			had := e.total(t, city, "")
			r := b.upload(t, "/import", form("org_id", itoa(city)), "file", "roster-sample.csv", roster)
			r.wantStatus(t, "upload", http.StatusOK)
			if strings.Contains(r.Body, "<script>alert(1)</script>") {
				t.Errorf("the preview shows markup from the file unescaped")
			}
			i := strings.Index(r.Body, `id="import-errors"`)
			if i < 0 {
				t.Fatalf("the preview lists no bad rows: %.600s", r.Body)
			}
			table := r.Body[i:]
			table = table[:strings.Index(table, "</table>")]
			var rows []string
			for _, m := range importErrRow.FindAllStringSubmatch(table, -1) {
				if !slices.Contains(rows, m[1]) {
					rows = append(rows, m[1])
				}
			}
			for _, want := range documented {
				if !slices.Contains(rows, want) {
					t.Errorf("bad sheet row %s is not listed (listed %v)", want, rows)
				}
			}
			for _, got := range rows {
				if !slices.Contains(documented, got) && !slices.Contains(partners, got) {
					t.Errorf("sheet row %s is listed as bad, but the fixture says it is fine", got)
				}
			}
			m := importSummary.FindStringSubmatch(r.Body)
			valid = 60 - len(rows)
			if m == nil || m[1] != "60" || m[2] != strconv.Itoa(valid) || m[3] != strconv.Itoa(len(importErrRow.FindAllString(table, -1))) {
				t.Errorf("summary %v, want 60 rows, %d valid, one problem per listed line", m, valid)
			}
			c := commitAction.FindStringSubmatch(r.Body)
			if c == nil {
				t.Fatalf("no commit form")
			}
			if e.total(t, city, "") != had {
				t.Errorf("the preview wrote people")
			}
			return c[1]
		}

		id := preview(t)
		r := b.post(t, "/import/"+id+"/commit", form("org_id", itoa(city)))
		r.wantStatus(t, "commit with bad rows", http.StatusUnprocessableEntity)
		if !strings.Contains(r.Body, `id="form-error"`) {
			t.Errorf("commit with bad rows shows no error")
		}
		if n := e.total(t, city, ""); n != before {
			t.Fatalf("a refused commit wrote %d people", n-before)
		}

		r = b.post(t, "/import/"+id+"/commit", form("org_id", itoa(city), "skip_invalid", "yes"))
		r.wantStatus(t, "commit skipping bad rows", http.StatusOK)
		if m := importDone.FindStringSubmatch(r.Body); m == nil || m[1] != strconv.Itoa(valid) || m[2] != "0" {
			t.Fatalf("first import: %v, want %d added: %.500s", m, valid, r.Body)
		}
		after := e.total(t, city, "")
		if after != before+int64(valid) {
			t.Fatalf("people in 平凉市: %d before, %d after, want +%d", before, after, valid)
		}
		if n := e.total(t, e.org(t, "市总工会"), "彭刚"); n != 1 {
			t.Errorf("a row naming a team is not placed under its work unit: %d", n)
		}

		id2 := preview(t)
		if id2 == id {
			t.Errorf("a new upload reused id %s", id)
		}
		r = b.post(t, "/import/"+id2+"/commit", form("org_id", itoa(city), "skip_invalid", "yes"))
		r.wantStatus(t, "commit again", http.StatusOK)
		if m := importDone.FindStringSubmatch(r.Body); m == nil || m[1] != "0" || m[2] != strconv.Itoa(valid) {
			t.Errorf("second import: %v, want 0 added, %d updated", m, valid)
		}
		if n := e.total(t, city, ""); n != after {
			t.Errorf("re-importing duplicated people: %d, want %d", n, after)
		}
		if n := e.total(t, city, "<script>"); n != 1 {
			t.Errorf("the markup-named row: %d people, want 1", n)
		}
	})
}
