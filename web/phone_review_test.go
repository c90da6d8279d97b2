package web_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
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

var (
	ruleGroupRe = regexp.MustCompile(`(?s)<fieldset class="stack rule-group" id="rules-([a-z_]+)"><legend>([^<]+)</legend>(.*?)</fieldset>`)
	ruleRadioRe = regexp.MustCompile(`name="rule_id" value="(\d+)"`)
)

// TestClaimRulesByCategory: the claim form's forty-odd rules are grouped
// under their category's name, each category once, with a link to each
// group at the top, so a resident finds a rule without reading them all.
func TestClaimRulesByCategory(t *testing.T) {
	e := newDemoCountyServer(t)
	body := e.signedIn(t, resident).get(t, "/me/claim").Body
	rules, err := e.svc.Points.Rules(e.as(t, resident), e.personByPhone(t, resident).HomeOrgID)
	if err != nil {
		t.Fatal(err)
	}
	category := map[string]string{}
	for _, ru := range rules {
		category[strconv.FormatInt(ru.ID, 10)] = string(ru.Category)
	}
	all := ruleRadioRe.FindAllStringSubmatch(body, -1)
	if len(all) < 30 {
		t.Fatalf("the claim form offers %d rules; the demo county has forty or so", len(all))
	}
	groups := ruleGroupRe.FindAllStringSubmatch(body, -1)
	if len(groups) < 2 {
		t.Fatalf("the claim form's %d rules are not grouped by category", len(all))
	}
	seen, grouped := map[string]bool{}, 0
	for _, g := range groups {
		cat, name := g[1], html.UnescapeString(g[2])
		if seen[cat] {
			t.Errorf("the category %s has two groups", cat)
		}
		seen[cat] = true
		if !strings.Contains(body, fmt.Sprintf(`<a href="#rules-%s">%s <span class="muted">`, cat, g[2])) {
			t.Errorf("no link at the top to the group %s (%s)", cat, name)
		}
		for _, m := range ruleRadioRe.FindAllStringSubmatch(g[3], -1) {
			grouped++
			if category[m[1]] != cat {
				t.Errorf("the rule %s (%s) is under %s", m[1], category[m[1]], name)
			}
		}
	}
	if grouped != len(all) {
		t.Errorf("%d of the %d rules are in a category's group", grouped, len(all))
	}
	for _, want := range []string{"环境卫生", "志愿服务", `id="rule-filter"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the claim form does not show %s", want)
		}
	}
}

// TestAwardPageTechnicalIDsForStaff: on an award's page a resident reads
// the rule's name, points, status and dates; the rule's code and the
// ledger transaction are for the staff who trace it.
func TestAwardPageTechnicalIDsForStaff(t *testing.T) {
	e := newDemoCountyServer(t)
	village := e.org(t, "新窑村")
	admin := e.token(t, villageAdmin)
	r := e.api(t, "POST", fmt.Sprintf("/api/v1/orgs/%d/rules", village), admin,
		map[string]any{"code": "zz_phone_code", "name": "帮邻居收玉米", "category": "civility", "points": 4, "unit": "per_event"})
	r.wantStatus(t, "rule", http.StatusCreated)
	rule := jsonInt(t, r.JSON(t), "id")
	r = e.api(t, "POST", "/api/v1/awards", admin, map[string]any{"person_id": e.personByPhone(t, resident).ID, "rule_id": rule, "note": "秋收"},
		"Idempotency-Key", "phone-review-1")
	r.wantStatus(t, "award", http.StatusCreated)
	id := jsonInt(t, r.JSON(t), "id")
	r = e.api(t, "GET", "/api/v1/awards/"+itoa(id), admin, nil)
	r.wantStatus(t, "the award", http.StatusOK)
	tx := jsonInt(t, r.JSON(t), "transaction_id")
	path := "/awards/" + itoa(id)

	body := e.signedIn(t, resident).get(t, path).Body
	contains(t, "the resident's award page", body, "帮邻居收玉米", "+4", "已入账", "秋收")
	for _, hidden := range []string{"zz_phone_code", `id="award-tx"`, `id="award-rule-code"`} {
		if strings.Contains(body, hidden) {
			t.Errorf("the resident's award page shows %s", hidden)
		}
	}
	for _, who := range []string{villageAdmin, reviewer} {
		body := e.signedIn(t, who).get(t, path).Body
		contains(t, who+"'s award page", body, "zz_phone_code", `<dd class="mono" id="award-tx">`+itoa(tx)+`</dd>`)
	}
}

// TestRulesAddAtTop: those who may add a rule find 新增积分规则 at the top
// of the catalogue, before its rules, and it opens the form without
// script; a resident, who may not, is not offered it.
func TestRulesAddAtTop(t *testing.T) {
	e := newDemoCountyServer(t)
	v := itoa(e.org(t, "新窑村"))
	admin := e.signedIn(t, villageAdmin)
	body := admin.get(t, "/orgs/"+v+"/rules").Body
	link := `<a class="button" id="add-rule" href="/orgs/` + v + `/rules?form=new#new-rule">新增积分规则</a>`
	at, first := strings.Index(body, link), strings.Index(body, `class="card rule`)
	if at < 0 || first < 0 || at > first {
		t.Errorf("the rules page has no 新增积分规则 link before its first rule (link at %d, first rule at %d)", at, first)
	}
	if strings.Contains(body, `<details id="new-rule" open>`) {
		t.Errorf("the form is open before anyone asks for it")
	}
	if body := admin.get(t, "/orgs/"+v+"/rules?form=new").Body; !strings.Contains(body, `<details id="new-rule" open>`) {
		t.Errorf("the link at the top does not open the form")
	}
	if body := e.signedIn(t, resident).get(t, "/orgs/"+v+"/rules").Body; strings.Contains(body, `id="add-rule"`) {
		t.Errorf("a resident is offered 新增积分规则")
	}
}

// TestAwardFormRulesByCategory: the staff's award form offers the same
// forty-odd rules in one list; they come under their category's name
// (optgroup), each rule once.
func TestAwardFormRulesByCategory(t *testing.T) {
	e := newDemoCountyServer(t)
	body := e.signedIn(t, villageAdmin).get(t, "/awards/new?person_id="+itoa(e.personByPhone(t, resident).ID)).Body
	groups := regexp.MustCompile(`(?s)<optgroup label="([^"]+)">(.*?)</optgroup>`).FindAllStringSubmatch(body, -1)
	if len(groups) < 2 {
		t.Fatalf("the award form's rules are not grouped by category (%d groups)", len(groups))
	}
	option := regexp.MustCompile(`<option value="(\d+)"`)
	seen := map[string]bool{}
	for _, g := range groups {
		for _, m := range option.FindAllStringSubmatch(g[2], -1) {
			if seen[m[1]] {
				t.Errorf("the rule %s is offered twice", m[1])
			}
			seen[m[1]] = true
		}
	}
	if all := option.FindAllStringSubmatch(body, -1); len(all) != len(seen) || len(seen) < 30 {
		t.Errorf("%d of the form's %d rules are under a category", len(seen), len(all))
	}
	contains(t, "the award form", body, `<optgroup label="环境卫生">`)
}
