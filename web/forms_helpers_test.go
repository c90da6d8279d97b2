package web_test

import (
	"context"
	"html"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"jifen/demo"
	"jifen/sqldb/sqldbtest"
	"jifen/web"
	"jifen/wire"
)

// newDemoCountyServer is newServer over the whole demo county (service
// history, points, households and stores), as `jifen serve --demo` loads it.
func newDemoCountyServer(t testing.TB) *env {
	t.Helper()
	db := sqldbtest.Open(t, "sqlite:"+t.TempDir()+"/jifen.db")
	svc := services(db)
	ctx := context.Background()
	logins, err := demo.Load(ctx, wire.Demo(db))
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

var (
	formAlertRe = regexp.MustCompile(`(?s)<p class="error" role="alert" id="form-error">(.*?)</p>`)
	pageMainRe  = regexp.MustCompile(`(?s)<main>(.*?)</main>`)
	pageTagRe   = regexp.MustCompile(`<[^>]+>`)
)

// formAlert is the error a form page shows above the form, or "".
func formAlert(body string) string {
	if m := formAlertRe.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// answerText is what a person sees as the answer, for failure messages:
// the form's error, or the start of the error page's text.
func answerText(body string) string {
	if a := formAlert(body); a != "" {
		return "form error: " + a
	}
	if m := pageMainRe.FindStringSubmatch(body); m != nil {
		s := strings.Join(strings.Fields(html.UnescapeString(pageTagRe.ReplaceAllString(m[1], " "))), " ")
		if r := []rune(s); len(r) > 120 {
			s = string(r[:120])
		}
		return "page: " + s
	}
	return "?"
}
