package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"jifen/demo"
	"jifen/web"
)

// bugSkip reports a missing protection found in code this test does not
// own: a skip naming it, or a failure when JIFEN_TEST_BUGS=1.
func bugSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("JIFEN_TEST_BUGS") == "1" {
		t.Fatalf("BUG: "+format, args...)
	}
	t.Skipf("BUG: "+format, args...)
}

// csrfRefusal is the page a refused form gets, in either language.
var csrfRefusal = regexp.MustCompile(`页面已过期|This page has expired`)

// TestSecurityExtra adds to TestSecurity what it leaves open: CSRF on every
// state-changing page route (taken from Server.Routes, so a new route is
// covered the day it is added), the remaining headers, the Secure flag of
// every cookie once TLS is on, the sign-up throttle, and a sign-in page
// that answers an unknown phone as it answers a wrong password.
func TestSecurityExtra(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		t.Run("every state-changing page route refuses a missing, forged or cross-site CSRF token", func(t *testing.T) {
			b := e.signedIn(t, superAdmin)
			foreign := e.browser(t).token(t)
			city := e.org(t, "平凉市")
			n := 0
			for _, rt := range e.srv.Routes() {
				if rt.API || rt.Method == "GET" || rt.Method == "HEAD" {
					continue
				}
				n++
				path := concrete(rt.Path, city)
				for _, c := range []struct {
					name string
					form url.Values
					hdr  []string
				}{
					{"no token", form("csrf", ""), nil},
					{"another browser's token", form("csrf", foreign), nil},
					{"a made-up token", form("csrf", strings.Repeat("A", 43)), nil},
					{"the right token from another site", nil, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
				} {
					r := b.send(t, rt.Method, path, c.form, c.hdr...)
					if r.Status != http.StatusForbidden || !csrfRefusal.MatchString(r.Body) {
						t.Errorf("%s %s with %s: %d, want 403 and the expired-page answer", rt.Method, rt.Path, c.name, r.Status)
					}
				}
			}
			if n < 20 {
				t.Fatalf("only %d state-changing page routes found; Routes() must list them all", n)
			}
			t.Logf("%d state-changing page routes refuse forged requests", n)
			// The same browser's own token works, so the refusals above were the token's doing.
			if r := b.post(t, "/orgs/"+itoa(city), form("name", "平凉市")); r.Status != http.StatusSeeOther {
				t.Errorf("the page's own token: %d, want 303", r.Status)
			}
		})

		t.Run("referrer, framing and browser features are locked down", func(t *testing.T) {
			sb := e.signedIn(t, superAdmin)
			answers := map[string]*result{
				"sign-in page": e.browser(t).get(t, "/signin"),
				"people page":  sb.get(t, "/people"),
				"API answer":   e.api(t, "GET", "/api/v1/me", e.token(t, superAdmin), nil),
				"API error":    e.api(t, "GET", "/api/v1/me", "", nil),
				"not found":    sb.get(t, "/no/such/page"),
			}
			for name, r := range answers {
				if v := r.Header.Get("Referrer-Policy"); v != "same-origin" && v != "no-referrer" {
					t.Errorf("%s: Referrer-Policy %q: links to other sites would carry our addresses (ids, search words)", name, v)
				}
				if v := r.Header.Get("X-Frame-Options"); v != "DENY" {
					t.Errorf("%s: X-Frame-Options %q, want DENY for browsers without CSP frame-ancestors", name, v)
				}
				pp := r.Header.Get("Permissions-Policy")
				for _, want := range []string{"microphone=()", "camera=(self)", "geolocation=(self)"} {
					if !strings.Contains(pp, want) {
						t.Errorf("%s: Permissions-Policy %q lacks %s", name, pp, want)
					}
				}
			}
			if r := answers["people page"]; !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
				t.Errorf("a signed-in page with personal data may be cached: Cache-Control %q", r.Header.Get("Cache-Control"))
			}
		})

		t.Run("with TLS on, every cookie is Secure, HttpOnly and SameSite=Lax", func(t *testing.T) {
			srv, err := web.New(web.Config{PublicURL: "https://jifen.test", Secure: true, Version: "test"}, e.svc, e.db.Keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			do := func(method, path string, body url.Values, cookies ...*http.Cookie) *http.Response {
				t.Helper()
				req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", ts.URL)
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				for _, k := range cookies {
					req.AddCookie(k)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				resp.Header.Set("X-Test-Body", string(b[:min(len(b), 4000)]))
				if m := csrfField.FindSubmatch(b); m != nil {
					resp.Header.Set("X-Test-Csrf", string(m[1]))
				}
				return resp
			}
			var set []*http.Cookie
			page := do("GET", "/signin", nil)
			set = append(set, page.Cookies()...)
			csrfC := cookieNamed(page.Cookies(), csrfCookie)
			if csrfC == nil || page.Header.Get("X-Test-Csrf") == "" {
				t.Fatalf("no CSRF cookie or field on the sign-in page")
			}
			in := do("POST", "/signin", url.Values{"phone": {countyAdmin}, "password": {demo.Password}, "csrf": {page.Header.Get("X-Test-Csrf")}}, csrfC)
			if in.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign in over the TLS-configured server: %d", in.StatusCode)
			}
			set = append(set, in.Cookies()...)
			session := cookieNamed(in.Cookies(), sessionCookie)
			set = append(set, do("GET", "/lang/en", nil).Cookies()...)
			out := do("POST", "/signout", url.Values{"csrf": {page.Header.Get("X-Test-Csrf")}}, csrfC, session)
			set = append(set, out.Cookies()...)
			names := map[string]bool{}
			for _, k := range set {
				names[k.Name] = true
				if !k.Secure || !k.HttpOnly || k.SameSite != http.SameSiteLaxMode {
					t.Errorf("cookie %s: Secure %v, HttpOnly %v, SameSite %v", k.Name, k.Secure, k.HttpOnly, k.SameSite)
				}
			}
			for _, want := range []string{csrfCookie, sessionCookie, langCookie} {
				if !names[want] {
					t.Errorf("cookie %s was never set (got %v)", want, names)
				}
			}
			if cookieNamed(out.Cookies(), sessionCookie) == nil {
				t.Errorf("sign-out does not clear the session cookie")
			}
			if page.Header.Get("Strict-Transport-Security") == "" {
				bugSkip(t, "web/middleware.go securityHeaders (line ~118): no Strict-Transport-Security header when the server runs with --tls-cert (Config.Secure); a first visit over http:// can be downgraded. Reproduce: jifen serve --tls-cert c --tls-key k; curl -kI https://…/signin")
			}
		})

		t.Run("sign-ups are throttled per address", func(t *testing.T) {
			village := e.org(t, "新窑村")
			before := e.total(t, village, "")
			made := 0
			for i := 0; i < 40; i++ {
				b := e.browser(t)
				r := b.post(t, "/signup", signupForm(t, b, "批量注册", newPhone(), village))
				if r.Status == http.StatusTooManyRequests {
					break
				}
				if r.Status != http.StatusSeeOther {
					t.Fatalf("sign-up %d: %d %.300s", i+1, r.Status, r.Body)
				}
				made++
			}
			if made != 30 {
				t.Fatalf("%d sign-ups from one address went through before the throttle, want 30", made)
			}
			if n := e.total(t, village, ""); n != before+int64(made) {
				t.Errorf("people after the throttled sign-up: %d, want %d", n, before+int64(made))
			}
			// A known person from the same address can still sign in.
			e.signedIn(t, resident)
		})

		t.Run("a person's data can be erased on request, as the privacy notice promises", func(t *testing.T) {
			for _, rt := range e.srv.Routes() {
				if strings.HasPrefix(rt.Path, "/api/v1/people/{id}") || strings.HasPrefix(rt.Path, "/people/{id}") {
					if rt.Method == "DELETE" || strings.Contains(rt.Path, "erase") || strings.Contains(rt.Path, "anonymi") {
						t.Logf("erasure route: %s %s", rt.Method, rt.Path)
						return
					}
				}
			}
			bugSkip(t, "web/catalog.go:58 (privacy.body4) promises deletion on request with records kept without personal data, but nothing erases a person: no route, no PersonService method, no DELETE/anonymising UPDATE of people in sqldb (only status 'archived', which keeps every field)")
		})

		t.Run("the sign-in page answers an unknown phone as it answers a wrong password", func(t *testing.T) {
			known, unknown := countyAdmin, "13812345670"
			answer := func(phone string) (int, string) {
				b := e.browser(t)
				r := b.post(t, "/signin", url.Values{"phone": {phone}, "password": {"not-the-password"}})
				body := csrfField.ReplaceAllString(r.Body, `name="csrf" value="-"`)
				return r.Status, strings.ReplaceAll(body, phone, "PHONE")
			}
			ks, kb := answer(known)
			us, ub := answer(unknown)
			if ks != us || kb != ub {
				t.Errorf("wrong password answers %d, unknown phone %d; the pages differ: %v", ks, us, kb != ub)
			}
			if ks != http.StatusUnauthorized {
				t.Errorf("a failed sign-in through the form: %d, want 401", ks)
			}
			// By volunteer number too: a made-up number looks like a real one's wrong password.
			vno := e.personByPhone(t, countyAdmin).VolunteerNo
			vs, vb := answer(vno)
			ms, mb := answer(vno[:4] + "99999999")
			if vs != ms || strings.ReplaceAll(vb, vno, "") != strings.ReplaceAll(mb, vno[:4]+"99999999", "") {
				t.Errorf("volunteer number: real %d, made-up %d; the pages differ", vs, ms)
			}
		})
	})
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// send submits a form with any method, as post does for POST; a nil form
// sends the browser's own token.
func (b *browser) send(t testing.TB, method, path string, f url.Values, hdr ...string) *result {
	t.Helper()
	if method == "POST" {
		return b.post(t, path, f, hdr...)
	}
	f = cloneValues(f)
	if _, ok := f["csrf"]; !ok {
		f.Set("csrf", b.token(t))
	} else if f.Get("csrf") == "" {
		f.Del("csrf")
	}
	req, err := http.NewRequest(method, b.e.ts.URL+path, strings.NewReader(f.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	setHeaders(req, hdr)
	return send(t, b.c, req)
}
