package web_test

import (
	"html"
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
	return serveDemo(t, db, func(web.Services) demo.Services { return wire.Demo(db) })
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
