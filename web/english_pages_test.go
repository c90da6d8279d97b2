package web_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestEnglishPagesSpeakEnglish: what the system itself writes (activity
// categories, the built-in rules' origin, labels and their colons, points
// per unit) reads as English on English pages, and stays as it was in
// Chinese. Names people typed and rules stored in the database are data
// and are left as written.
func TestEnglishPagesSpeakEnglish(t *testing.T) {
	e := newDemoCountyServer(t)
	person := e.personByPhone(t, volunteer)
	award := "/awards/new?person_id=" + itoa(person.ID)
	for _, c := range []struct {
		name, who, page string
		zh, en          []string // shown in that language
		notEn           []string // never shown in English
	}{
		{"activity categories", volunteer, "/activities",
			[]string{">学雷锋<"}, []string{">Learn from Lei Feng<"}, []string{">学雷锋<", ">社区服务<"}},
		{"built-in rules name their origin", volunteer, "/orgs/4/rules",
			[]string{"上级：系统内置"}, []string{"From the built-in set"}, []string{"系统内置"}},
		{"home labels", volunteer, "/",
			[]string{"志愿者编号：", "所属组织："}, []string{"Volunteer number: ", "Organisation: "}, []string{"number：", "Organisation："}},
		{"store labels", volunteer, "/shop",
			[]string{"地址："}, []string{"Address: "}, []string{"Address：", "hours："}},
		{"appeal labels", villageAdmin, "/appeals",
			[]string{"申诉理由：</strong>"}, []string{"Why: </strong>"}, []string{"Why：</strong>"}},
		{"points per unit", villageAdmin, award,
			[]string{"每次 · "}, []string{" per event · "}, []string{"per_event", "每次"}},
		{"messages jifen wrote", volunteer, "/messages",
			[]string{"服务时长已核验"}, []string{"Service hours verified", "Your hours at “"}, []string{"服务时长已核验", "获得积分", "的服务时长已核验"}},
		{"points per unit in bulk", villageAdmin, "/awards/bulk",
			[]string{"每次 · "}, []string{" per event · "}, []string{"每次"}},
	} {
		b := e.signedIn(t, c.who)
		for _, lang := range []string{"zh", "en"} {
			b.get(t, "/lang/"+lang+"?next=/")
			r := b.get(t, c.page)
			r.wantStatus(t, c.page, 200)
			want := c.zh
			if lang == "en" {
				want = c.en
				for _, s := range c.notEn {
					if strings.Contains(r.Body, s) {
						t.Errorf("%s: English %s shows %q: …%s…", c.name, c.page, s, nearText(r.Body, s))
					}
				}
			}
			for _, s := range want {
				if !strings.Contains(r.Body, s) {
					t.Errorf("%s: %s %s does not show %q", c.name, lang, c.page, s)
				}
			}
		}
	}
	// No number runs into its unit: "+2per event".
	b := e.signedIn(t, villageAdmin)
	b.get(t, "/lang/en?next=/")
	if m := regexp.MustCompile(`[0-9]per `).FindString(b.get(t, award).Body); m != "" {
		t.Errorf("English %s runs points into their unit: %q", award, m)
	}
}

// nearText is the visible text near s in page, to show in a failure.
func nearText(page, s string) string {
	i := strings.Index(page, s)
	lo, hi := max(0, i-80), min(len(page), i+len(s)+80)
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(page[lo:hi], " ")), " ")
}
