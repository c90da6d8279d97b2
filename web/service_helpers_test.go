package web_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"jifen"
	"jifen/demo"
	"jifen/sqldb/sqldbtest"
)

// svcBase is "now" when a volunteer-service test starts: 1 June 2026,
// 08:00 China time, on a 30-second boundary, so check-in code windows
// start exactly there.
var svcBase = time.Date(2026, 6, 1, 8, 0, 0, 0, jifen.Zone)

// svcClock is the database clock of one test. It stands still unless the
// test moves it; with a tick every reading moves it on by that much.
type svcClock struct {
	mu   sync.Mutex
	t    time.Time
	tick time.Duration
}

func (c *svcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.tick)
	return t
}

// Set moves the clock to t.
func (c *svcClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d.
func (c *svcClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Tick makes every reading move the clock on by d (0: stand still).
func (c *svcClock) Tick(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick = d
}

// svcEnv is a server whose database clock the test controls.
type svcEnv struct {
	*env
	clock *svcClock
}

// newServiceServer is newServer with the database clock set to svcBase.
// The clock is installed before the first request, so the request's trip
// through the socket orders it before every read in a handler.
func newServiceServer(t testing.TB, dsn string) *svcEnv {
	t.Helper()
	e := newServer(t, dsn)
	c := &svcClock{t: svcBase}
	e.db.Now = c.Now
	return &svcEnv{env: e, clock: c}
}

// eachServiceDB runs fn on a fresh clock-controlled server per database.
func eachServiceDB(t *testing.T, fn func(t *testing.T, e *svcEnv)) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) { fn(t, newServiceServer(t, dsn(t))) })
	}
}

// at is svcBase's day at hh:mm China time.
func at(hh, mm int) time.Time {
	return time.Date(svcBase.Year(), svcBase.Month(), svcBase.Day(), hh, mm, 0, 0, jifen.Zone)
}

// member is a person the test registered, signed in through the API.
type member struct {
	id    int64
	name  string
	phone string
	no    string // volunteer number
	home  int64  // home org (a team's members live in the team's parent)
	tok   string
}

// member registers a person with a phone and the demo password in org as
// the super admin, and signs them in. extra overrides body fields.
func (e *svcEnv) member(t testing.TB, name string, org int64, extra map[string]any) member {
	t.Helper()
	phone := newPhone()
	body := map[string]any{"phone": phone, "password": demo.Password}
	for k, v := range extra {
		body[k] = v
	}
	p := e.createPerson(t, name, org, body)
	no, _ := p["volunteer_no"].(string)
	return member{id: jsonInt(t, p, "id"), name: name, phone: phone, no: no, home: jsonInt(t, p, "home_org_id"), tok: e.token(t, phone)}
}

// demoMember is a demo login as a member.
func (e *svcEnv) demoMember(t testing.TB, phone string) member {
	t.Helper()
	tok := e.token(t, phone)
	r := e.api(t, "GET", "/api/v1/me", tok, nil)
	r.wantStatus(t, "me "+phone, http.StatusOK)
	m := r.JSON(t)
	name, _ := m["name"].(string)
	no, _ := m["volunteer_no"].(string)
	return member{id: jsonInt(t, m, "id"), name: name, phone: phone, no: no, home: jsonInt(t, m, "home_org_id"), tok: tok}
}

// activityBody is a valid activity of org from start to end.
func activityBody(org int64, title string, start, end time.Time, extra map[string]any) map[string]any {
	b := map[string]any{"org_id": org, "title": title, "category": "环境整治", "description": "清扫街巷",
		"starts_at": start.Format(time.RFC3339), "ends_at": end.Format(time.RFC3339),
		"location": map[string]any{"address": "新窑村文化广场"}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// newActivity creates an activity as tok and returns its JSON.
func (e *svcEnv) newActivity(t testing.TB, tok string, body map[string]any) map[string]any {
	t.Helper()
	r := e.api(t, "POST", "/api/v1/activities", tok, body)
	r.wantStatus(t, "create activity", http.StatusCreated)
	return r.JSON(t)
}

// published creates and publishes an activity as tok; it returns its id.
func (e *svcEnv) published(t testing.TB, tok string, body map[string]any) int64 {
	t.Helper()
	id := jsonInt(t, e.newActivity(t, tok, body), "id")
	e.api(t, "POST", "/api/v1/activities/"+itoa(id)+"/publish", tok, nil).wantStatus(t, "publish", http.StatusOK)
	return id
}

// signUp signs the member up themselves and returns the status answered.
func (e *svcEnv) signUp(t testing.TB, act int64, m member) string {
	t.Helper()
	r := e.api(t, "POST", "/api/v1/activities/"+itoa(act)+"/signups", m.tok, nil)
	r.wantStatus(t, "sign up "+m.name, http.StatusCreated)
	st, _ := r.JSON(t)["status"].(string)
	return st
}

// code reads the rotating check-in code as the leader.
func (e *svcEnv) code(t testing.TB, leader string, act int64) string {
	t.Helper()
	r := e.api(t, "GET", "/api/v1/activities/"+itoa(act)+"/checkin-code", leader, nil)
	r.wantStatus(t, "check-in code", http.StatusOK)
	c, _ := r.JSON(t)["code"].(string)
	if c == "" {
		t.Fatalf("no code in %s", r.Body)
	}
	return c
}

// presence checks the member in ("checkins") or out ("checkouts").
func (e *svcEnv) presence(t testing.TB, dir string, act int64, tok, code string, lat, lon *float64) *result {
	t.Helper()
	body := map[string]any{"code": code}
	if lat != nil {
		body["lat"], body["lon"] = *lat, *lon
	}
	return e.api(t, "POST", "/api/v1/activities/"+itoa(act)+"/"+dir, tok, body)
}

// hours reads a person's verified minutes as tok.
func (e *svcEnv) hours(t testing.TB, tok string, person int64) map[string]any {
	t.Helper()
	r := e.api(t, "GET", "/api/v1/people/"+itoa(person)+"/hours", tok, nil)
	r.wantStatus(t, "hours", http.StatusOK)
	return r.JSON(t)
}

// wantAPIError checks an error answer to the letter: the status, exactly
// {"error":{"code","message","field"}} with the code, a message, and the
// field (none when field is "").
func wantAPIError(t testing.TB, what string, r *result, status int, code, field string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d (%s); body %.300s", what, r.Status, status, code, r.Body)
		return
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Body), &top); err != nil {
		t.Errorf("%s: body is not a JSON object: %.300s", what, r.Body)
		return
	}
	if len(top) != 1 || top["error"] == nil {
		t.Errorf("%s: body has keys %v, want only error: %.300s", what, slices.Sorted(maps.Keys(top)), r.Body)
		return
	}
	e := r.apiError(t)
	for k := range e {
		if k != "code" && k != "message" && k != "field" {
			t.Errorf("%s: error has an unexpected key %q: %.300s", what, k, r.Body)
		}
	}
	if e["code"] != code {
		t.Errorf("%s: code %v, want %s: %.300s", what, e["code"], code, r.Body)
	}
	if msg, _ := e["message"].(string); strings.TrimSpace(msg) == "" || msg == code {
		t.Errorf("%s: message %q says nothing a person can read", what, msg)
	}
	got, has := e["field"].(string)
	switch {
	case field == "" && has:
		t.Errorf("%s: field %q, want none: %.300s", what, got, r.Body)
	case field != "" && got != field:
		t.Errorf("%s: field %q, want %q: %.300s", what, got, field, r.Body)
	}
}

// try is api for goroutines: it returns an error instead of failing the
// test, which only the test's own goroutine may do.
func (e *env) try(method, path, token string, body any) (*result, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := fanClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &result{Status: res.StatusCode, Header: res.Header, Body: string(b)}, nil
}

// fanClient keeps a connection per goroutine of a fan-out alive, instead
// of the default two, so a crowd does not pay a TCP handshake per request.
var fanClient = &http.Client{
	Transport:     &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 64},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// tryJSON calls the API from a goroutine and decodes an answer of status want.
func (e *env) tryJSON(method, path, token string, body any, want int) (map[string]any, error) {
	r, err := e.try(method, path, token, body)
	if err != nil {
		return nil, err
	}
	if r.Status != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %.300s", method, path, r.Status, want, r.Body)
	}
	if want == http.StatusNoContent {
		return nil, nil
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s %s: not JSON: %.300s", method, path, r.Body)
	}
	return m, nil
}

// fanOut runs fn(i) for i in [0, n) on at most workers goroutines and
// returns the errors, at most a few of each.
func fanOut(n, workers int, fn func(i int) error) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("#%d: %w", i, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// noErrors fails the test with the first few errors of a fan-out.
func noErrors(t testing.TB, what string, errs []error) {
	t.Helper()
	if len(errs) == 0 {
		return
	}
	t.Fatalf("%s: %d request(s) failed, the first: %v", what, len(errs), errors.Join(errs[:min(len(errs), 5)]...))
}

// decodeQR reads the QR code in a PNG with gozxing, a decoder that shares
// nothing with the encoder the server uses.
func decodeQR(t testing.TB, what string, pngData []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", what, err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("%s: no QR code found: %v", what, err)
	}
	return res.GetText()
}

// f64 is a pointer to a float, for positions.
func f64(v float64) *float64 { return &v }

// orgInfo reads an org's name, person in charge and phone as the super admin.
func (e *svcEnv) orgInfo(t testing.TB, id int64) (name, leader, phone string) {
	t.Helper()
	r := e.api(t, "GET", "/api/v1/orgs/"+itoa(id), e.token(t, superAdmin), nil)
	r.wantStatus(t, "org", http.StatusOK)
	m := r.JSON(t)
	name, _ = m["name"].(string)
	leader, _ = m["leader_name"].(string)
	phone, _ = m["contact_phone"].(string)
	if name == "" || leader == "" || phone == "" {
		t.Fatalf("org %d has no name, leader or phone: %s", id, r.Body)
	}
	return name, leader, phone
}
