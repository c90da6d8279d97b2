package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/demo"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
	"jifen/web"
	"jifen/wire"
)

// The demo logins, one per role (see demo.Load).
const (
	superAdmin   = "13900000000" // super_admin on 平凉市
	countyAdmin  = "13900000001" // org_admin on 崇信县
	villageAdmin = "13900000002" // org_admin on 新窑村
	teamLeader   = "13900000003" // team_leader on 新窑村志愿服务队
	reviewer     = "13900000004" // reviewer on 崇信县
	volunteer    = "13900000005" // volunteer on 新窑村志愿服务队
	resident     = "13900000006" // resident of 新窑村, no grant
)

// env is one running server over a fresh database holding the demo county.
type env struct {
	srv    *web.Server
	ts     *httptest.Server
	db     *sqldb.DB
	svc    web.Services
	logins map[string]demo.Login // by phone
	orgs   map[string]int64      // by name
	logs   *syncBuffer

	mu     sync.Mutex
	tokens map[string]string // API tokens by phone
}

// syncBuffer collects the server's log for a failing test to print.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// services is the wiring cmd/jifen uses.
func services(db *sqldb.DB) web.Services { return wire.Services(db) }

// newServer opens a fresh database at dsn, loads the demo county's orgs
// and people and serves it over real HTTP until the test ends.
func newServer(t testing.TB, dsn string) *env {
	t.Helper()
	return serveDemo(t, sqldbtest.Open(t, dsn), func(svc web.Services) demo.Services {
		return demo.Services{Orgs: svc.Orgs, People: svc.People, Auth: svc.Auth}
	})
}

// serveDemo loads what demo gets of the services on db and serves it.
func serveDemo(t testing.TB, db *sqldb.DB, load func(web.Services) demo.Services) *env {
	t.Helper()
	svc := services(db)
	ctx := context.Background()
	logins, err := demo.Load(ctx, load(svc))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, svc: svc, logins: map[string]demo.Login{}, orgs: map[string]int64{}, logs: &syncBuffer{}, tokens: map[string]string{}}
	for _, l := range logins {
		e.logins[l.Phone] = l
	}
	orgs, err := svc.Orgs.SignupOrgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		e.orgs[o.Name] = o.ID
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.srv, err = web.New(web.Config{PublicURL: "http://jifen.test", Version: "test"}, svc, db.Keys, log)
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(func() {
		e.ts.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

// eachDB runs fn on a fresh server over every configured database.
func eachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) { fn(t, newServer(t, dsn(t))) })
	}
}

// org returns the id of a demo org by name.
func (e *env) org(t testing.TB, name string) int64 {
	t.Helper()
	id, ok := e.orgs[name]
	if !ok {
		t.Fatalf("no org named %s", name)
	}
	return id
}

// as returns ctx carrying the actor of a signed-in person, for setting
// up data through the services directly.
func (e *env) as(t testing.TB, phone string) context.Context {
	t.Helper()
	ctx := context.Background()
	if phone == "" {
		return jifen.WithActor(ctx, jifen.SystemActor())
	}
	a, err := e.svc.Auth.Authenticate(ctx, e.token(t, phone), localhost)
	if err != nil {
		t.Fatal(err)
	}
	return jifen.WithActor(ctx, a)
}

// peopleIn lists the people whose home is in the subtree of an org.
func (e *env) peopleIn(t testing.TB, org string) []*jifen.Person {
	t.Helper()
	ps, _, err := e.svc.People.People(e.as(t, ""), jifen.PersonFilter{OrgID: e.org(t, org), PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// personByPhone finds anyone by phone, as the system.
func (e *env) personByPhone(t testing.TB, phone string) *jifen.Person {
	t.Helper()
	ps, _, err := e.svc.People.People(e.as(t, ""), jifen.PersonFilter{Q: phone})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Phone == phone {
			return p
		}
	}
	t.Fatalf("nobody has phone %s", phone)
	return nil
}

// result is an answer as the test sees it.
type result struct {
	Status  int
	Header  http.Header
	Body    string
	Cookies []*http.Cookie
}

// JSON decodes the body, failing the test when it is not JSON.
func (r *result) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object (%v): %.300s", err, r.Body)
	}
	return m
}

// apiError returns the {"error":{…}} object of an API error answer.
func (r *result) apiError(t testing.TB) map[string]any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error answer has Content-Type %q, want JSON: %.300s", ct, r.Body)
	}
	e, ok := r.JSON(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %.300s", r.Body)
	}
	if _, ok := e["code"].(string); !ok {
		t.Fatalf("error has no code: %.300s", r.Body)
	}
	if _, ok := e["message"].(string); !ok {
		t.Fatalf("error has no message: %.300s", r.Body)
	}
	return e
}

// wantStatus fails the test unless the status is one of want.
func (r *result) wantStatus(t testing.TB, what string, want ...int) {
	t.Helper()
	for _, w := range want {
		if r.Status == w {
			return
		}
	}
	t.Fatalf("%s: status %d, want %v; body: %.400s", what, r.Status, want, r.Body)
}

// client never follows redirects, so tests see every 303.
func client(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var plainClient = client(nil)

func send(t testing.TB, c *http.Client, req *http.Request) *result {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &result{Status: res.StatusCode, Header: res.Header, Body: string(b), Cookies: res.Cookies()}
}

// headers is a list of name, value pairs.
func setHeaders(req *http.Request, hdr []string) {
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
}

// api calls the JSON API. body is nil, a string or []byte sent as is, or
// any value sent as JSON; hdr are extra header name, value pairs.
func (e *env) api(t testing.TB, method, path, token string, body any, hdr ...string) *result {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	setHeaders(req, hdr)
	return send(t, plainClient, req)
}

// token signs a demo (or test) login in through the API once and keeps
// the bearer token.
func (e *env) token(t testing.TB, phone string) string {
	t.Helper()
	e.mu.Lock()
	tok, ok := e.tokens[phone]
	e.mu.Unlock()
	if ok {
		return tok
	}
	r := e.api(t, "POST", "/api/v1/sessions", "", map[string]string{"phone": phone, "password": demo.Password})
	r.wantStatus(t, "sign in "+phone, http.StatusCreated)
	tok, _ = r.JSON(t)["token"].(string)
	if tok == "" {
		t.Fatalf("sign in %s: no token in %s", phone, r.Body)
	}
	e.mu.Lock()
	e.tokens[phone] = tok
	e.mu.Unlock()
	return tok
}

// jsonInt reads an integer field of a decoded JSON object.
func jsonInt(t testing.TB, m map[string]any, key string) int64 {
	t.Helper()
	n, ok := m[key].(json.Number)
	if !ok {
		t.Fatalf("%s is %T (%v), want an integer", key, m[key], m[key])
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s = %s is not an integer", key, n)
	}
	return i
}

// browser is a person at a web browser: cookies, the CSRF token of the
// forms it was shown, and the headers a browser sends on its own.
type browser struct {
	e    *env
	jar  *cookiejar.Jar
	c    *http.Client
	csrf string
}

func (e *env) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{e: e, jar: jar, c: client(jar)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(t testing.TB, path string, hdr ...string) *result {
	t.Helper()
	req, err := http.NewRequest("GET", b.e.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	setHeaders(req, hdr)
	r := send(t, b.c, req)
	if m := csrfField.FindStringSubmatch(r.Body); m != nil {
		b.csrf = m[1]
	}
	return r
}

// token makes sure the browser holds a CSRF cookie and the form token.
func (b *browser) token(t testing.TB) string {
	t.Helper()
	if b.csrf == "" {
		b.get(t, "/signin")
		if b.csrf == "" {
			t.Fatal("the sign-in page carries no csrf field")
		}
	}
	return b.csrf
}

// post submits a form as the page would, with the hidden csrf field,
// unless form already has one (set it to "" to send none).
func (b *browser) post(t testing.TB, path string, form url.Values, hdr ...string) *result {
	t.Helper()
	form = cloneValues(form)
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.token(t))
	} else if form.Get("csrf") == "" {
		form.Del("csrf")
	}
	req, err := http.NewRequest("POST", b.e.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	setHeaders(req, hdr)
	return send(t, b.c, req)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// upload submits a multipart form with one file, as the page would.
func (b *browser) upload(t testing.TB, path string, form url.Values, field, filename string, data []byte) *result {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.token(t))
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest("POST", b.e.ts.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.e.ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return send(t, b.c, req)
}

// signIn signs in through the real form and checks the redirect.
func (b *browser) signIn(t testing.TB, phone string) {
	t.Helper()
	r := b.post(t, "/signin", url.Values{"phone": {phone}, "password": {demo.Password}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign in %s through the form: status %d: %.400s", phone, r.Status, r.Body)
	}
	if b.cookie(sessionCookie) == "" {
		t.Fatalf("sign in %s: no session cookie", phone)
	}
}

// signedIn returns a browser signed in as phone.
func (e *env) signedIn(t testing.TB, phone string) *browser {
	t.Helper()
	b := e.browser(t)
	b.signIn(t, phone)
	return b
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.ts.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.e.ts.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

var localhost = netip.MustParseAddr("127.0.0.1")

const (
	sessionCookie = "jifen_session"
	csrfCookie    = "jifen_csrf"
	langCookie    = "jifen_lang"
)

// validID builds a valid resident ID number born on birth (YYYYMMDD) with
// sequence seq (odd last digit: male).
func validID(birth string, seq int) string {
	first := "620821" + birth + strconv.Itoa(100+seq%900)
	return first + string(jifen.IDCheckDigit(first))
}

// withBadCheckDigit changes the check character of a valid ID number.
func withBadCheckDigit(id string) string {
	const chars = "0123456789X"
	return id[:17] + string(chars[(strings.IndexByte(chars, id[17])+1)%len(chars)])
}

// testPhone hands out unused mobile numbers.
var (
	phoneMu   sync.Mutex
	nextPhone = 0
)

func newPhone() string {
	phoneMu.Lock()
	defer phoneMu.Unlock()
	nextPhone++
	return "1520000" + strconv.Itoa(1000+nextPhone)
}

// createPerson registers a person through the API as the super admin.
func (e *env) createPerson(t testing.TB, name string, org int64, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"name": name, "gender": "female", "org_id": org, "birth_date": "1980-01-02"}
	for k, v := range extra {
		body[k] = v
	}
	r := e.api(t, "POST", "/api/v1/people", e.token(t, superAdmin), body)
	r.wantStatus(t, "create person "+name, http.StatusCreated)
	return r.JSON(t)
}

// activity creates a project and a published activity in an org through
// the API as the super admin; it returns their ids.
func (e *env) activity(t testing.TB, org int64) (project, activity int64) {
	t.Helper()
	super := e.token(t, superAdmin)
	r := e.api(t, "POST", "/api/v1/projects", super, map[string]any{"org_id": org, "name": "测试项目"})
	r.wantStatus(t, "create project", http.StatusCreated)
	project = jsonInt(t, r.JSON(t), "id")
	start := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	r = e.api(t, "POST", "/api/v1/activities", super, map[string]any{"org_id": org, "project_id": project, "title": "清扫街道",
		"starts_at": start, "ends_at": start.Add(2 * time.Hour), "capacity": 10})
	r.wantStatus(t, "create activity", http.StatusCreated)
	activity = jsonInt(t, r.JSON(t), "id")
	e.api(t, "POST", "/api/v1/activities/"+itoa(activity)+"/publish", super, nil).wantStatus(t, "publish", http.StatusOK, http.StatusCreated, http.StatusNoContent)
	return project, activity
}

// total counts people in the subtree of an org (q optional) through the API.
func (e *env) total(t testing.TB, org int64, q string) int64 {
	t.Helper()
	r := e.api(t, "GET", "/api/v1/people?per_page=100&org_id="+strconv.FormatInt(org, 10)+"&q="+url.QueryEscape(q), e.token(t, superAdmin), nil)
	r.wantStatus(t, "list people", http.StatusOK)
	return jsonInt(t, r.JSON(t), "total")
}
