package web_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Findings of a review on a 360 px phone, each as the page must now be.
// The layout itself (how tall the menu is on a phone) is measured in real
// Chromium (e2e.TestPhoneLayout).

var (
	menuRe     = regexp.MustCompile(`(?s)<nav class="menu">(.*?)</nav>`)
	menuMoreRe = regexp.MustCompile(`(?s)^(.*?)<details class="menu-more"><summary>([^<]*)</summary></details>\s*<div class="menu-rest">(.*)</div>\s*$`)
)

// TestMenuShortOnPhones: the menu starts with the links most people use
// (messages with its unread count), then 更多, whose summary reveals the
// rest without script (app.css: details[open] + .menu-rest), and every
// link the person had stays in the menu.
func TestMenuShortOnPhones(t *testing.T) {
	e := newDemoCountyServer(t)
	short := []string{"/", "/activities", "/me/points", "/shop", "/messages", "/me"}
	everyone := []string{"/me/service", "/orgs"}
	clerk := "13900000007"
	for _, c := range []struct {
		who  string
		rest []string // beyond everyone's, in the order shown
	}{
		{resident, nil},
		{volunteer, nil},
		{clerk, nil},
		{teamLeader, []string{"/people", "/records", "/transfers", "/corrections"}},
		{reviewer, []string{"/people", "/records", "/transfers", "/awards", "/reports"}},
		{villageAdmin, []string{"/people", "/import", "/records", "/transfers", "/corrections", "/audit", "/awards", "/reports", "/stores"}},
		{superAdmin, []string{"/people", "/import", "/records", "/transfers", "/corrections", "/audit", "/awards", "/reports", "/stores"}},
	} {
		b := e.signedIn(t, c.who)
		for _, lang := range []struct{ code, more, messages string }{{"zh-CN", "更多", "消息"}, {"en", "More", "Messages"}} {
			body := b.get(t, "/", "Accept-Language", lang.code).Body
			nav := menuRe.FindStringSubmatch(body)
			if nav == nil {
				t.Fatalf("%s: home has no menu", c.who)
			}
			parts := menuMoreRe.FindStringSubmatch(nav[1])
			if parts == nil {
				t.Errorf("%s (%s): the menu has no 更多 followed by the rest of its links: %v", c.who, lang.code, links(nav[1]))
				continue
			}
			if got := links(parts[1]); !slices.Equal(got, short) {
				t.Errorf("%s (%s): the menu starts with %v, want %v", c.who, lang.code, got, short)
			}
			if parts[2] != lang.more {
				t.Errorf("%s (%s): the menu's summary says %q, want %q", c.who, lang.code, parts[2], lang.more)
			}
			if want := append(slices.Clone(everyone), c.rest...); !slices.Equal(links(parts[3]), want) {
				t.Errorf("%s (%s): behind 更多 are %v, want %v", c.who, lang.code, links(parts[3]), want)
			}
			if !strings.Contains(parts[3], `action="/signout"`) {
				t.Errorf("%s (%s): no sign-out behind 更多", c.who, lang.code)
			}
			if c.who == resident && !regexp.MustCompile(`<a href="/messages">`+lang.messages+` <span class="badge">\d+</span></a>`).MatchString(parts[1]) {
				t.Errorf("%s (%s): the short menu's messages link shows no unread count: %s", c.who, lang.code, parts[1])
			}
		}
	}
}

// links lists the hrefs in a piece of a page, in order.
func links(s string) []string {
	var out []string
	for _, m := range hrefRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}
