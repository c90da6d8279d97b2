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

// Someone without a staff role who types their own /people/{id}/edit is
// sent to 我的, where their own details are edited: the staff form's name,
// birth date and org are not theirs to change. Staff still get the form;
// a team leader opening the households page sees no 积分管理 link.
func TestOwnEditGoesToMe(t *testing.T) {
	e := newDemoCountyServer(t)
	res := e.signedIn(t, resident)
	me := e.personByPhone(t, resident)
	r := res.get(t, "/people/"+itoa(me.ID)+"/edit")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/me" {
		t.Fatalf("a resident's own staff form: %d to %q, want 303 to /me", r.Status, r.Header.Get("Location"))
	}
	admin := e.signedIn(t, villageAdmin)
	admin.get(t, "/people/"+itoa(me.ID)+"/edit").wantStatus(t, "the admin's form", http.StatusOK)
	lead := e.signedIn(t, teamLeader)
	hh := lead.get(t, "/households")
	hh.wantStatus(t, "the households page", http.StatusOK)
	if strings.Contains(hh.Body, `href="/awards"`) {
		t.Error("a team leader's households page links to 积分管理, which answers 403")
	}
}
