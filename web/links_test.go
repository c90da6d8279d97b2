package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var hrefRe = regexp.MustCompile(`href="(/[^"#]*)"`)

// TestNoLinkLeadsToAForbiddenPage: a link a person sees must not answer
// 您没有权限进行此操作, nor open a form whose required 组织 list is empty
// (a form nobody can send). Each page is followed one link deep.
func TestNoLinkLeadsToAForbiddenPage(t *testing.T) {
	e := newDemoCountyServer(t)
	clerk := "13900000007"
	for _, c := range []struct{ who, page string }{
		{resident, "/"},
		{resident, "/orgs/4"},
		{resident, "/orgs/4/rules"},
		{resident, "/orgs/4/points"},
		{volunteer, "/"},
		{volunteer, "/orgs/5/rules"},
		{volunteer, "/orgs/5/points"},
		{clerk, "/"},
		{clerk, "/orgs/4/rules"},
		{clerk, "/orgs/4/points"},
		{teamLeader, "/"},
		{teamLeader, "/people"},
		{teamLeader, "/awards/new"},
		{teamLeader, "/awards/bulk"},
		{teamLeader, "/orgs/5/rules"},
		{reviewer, "/"},
		{reviewer, "/people"},
		{reviewer, "/awards/new"},
		{reviewer, "/orgs/4/rules"},
	} {
		b := e.signedIn(t, c.who)
		body := b.get(t, c.page).Body
		seen := map[string]bool{}
		for _, m := range hrefRe.FindAllStringSubmatch(body, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			if seen[link] || strings.HasPrefix(link, "/lang/") || strings.HasPrefix(link, "/static/") {
				continue
			}
			seen[link] = true
			r := b.get(t, link)
			if r.Status == http.StatusForbidden {
				t.Errorf("%s on %s: the link %s answers 403", c.who, c.page, link)
			}
			if i := strings.Index(r.Body, `<select name="org_id"`); i >= 0 {
				j := strings.Index(r.Body[i:], "</select>")
				if !strings.Contains(r.Body[i:i+j], "<option") {
					t.Errorf("%s on %s: the link %s opens a form whose 组织 list is empty", c.who, c.page, link)
				}
			}
		}
	}
}

// TestStaffLinksFollowTheRole: the menu shows each staff page to those who
// can use it, and still shows it to them.
func TestStaffLinksFollowTheRole(t *testing.T) {
	e := newDemoCountyServer(t)
	for _, c := range []struct {
		who        string
		see, avoid []string
	}{
		{villageAdmin, []string{`href="/people"`, `href="/import"`, `href="/corrections"`, `href="/audit"`, `href="/awards"`}, nil},
		{teamLeader, []string{`href="/people"`, `href="/records"`, `href="/corrections"`}, []string{`href="/import"`, `href="/audit"`, `href="/awards"`}},
		{reviewer, []string{`href="/people"`, `href="/records"`, `href="/awards"`}, []string{`href="/import"`, `href="/audit"`, `href="/corrections"`}},
		{resident, nil, []string{`href="/people"`, `href="/import"`, `href="/audit"`, `href="/corrections"`, `href="/awards"`}},
	} {
		body := e.signedIn(t, c.who).get(t, "/").Body
		for _, s := range c.see {
			if !strings.Contains(body, s) {
				t.Errorf("%s: home has no %s", c.who, s)
			}
		}
		for _, s := range c.avoid {
			if strings.Contains(body, s) {
				t.Errorf("%s: home shows %s, which the role cannot use", c.who, s)
			}
		}
	}
}
