package jifen

import "testing"

// TestEveryCodeHasAnEnglishLabel: English pages show a label for every
// code that has a Chinese one, never the code itself ("masses", "held").
func TestEveryCodeHasAnEnglishLabel(t *testing.T) {
	check := func(kind string, zh map[string]string, en func(string) string) {
		t.Helper()
		for code := range zh {
			if got := en(code); got == "" || got == code {
				t.Errorf("%s %q has no English label (%q)", kind, code, got)
			}
		}
	}
	keys := func(m any) map[string]string {
		out := map[string]string{}
		switch m := m.(type) {
		case map[PoliticalStatus]string:
			for k, v := range m {
				out[string(k)] = v
			}
		case map[ActivityStatus]string:
			for k, v := range m {
				out[string(k)] = v
			}
		case map[RuleCategory]string:
			for k, v := range m {
				out[string(k)] = v
			}
		case map[AwardStatus]string:
			for k, v := range m {
				out[string(k)] = v
			}
		case map[AppealStatus]string:
			for k, v := range m {
				out[string(k)] = v
			}
		case map[RedemptionStatus]string:
			for k, v := range m {
				out[string(k)] = v
			}
		}
		return out
	}
	check("political status", keys(politicalZh), func(c string) string { return PoliticalStatus(c).En() })
	check("activity status", keys(activityStatusZh), func(c string) string { return ActivityStatus(c).En() })
	check("rule category", keys(categoryZh), func(c string) string { return RuleCategory(c).En() })
	check("award status", keys(awardStatusZh), func(c string) string { return AwardStatus(c).En() })
	check("appeal status", keys(appealStatusZh), func(c string) string { return AppealStatus(c).En() })
	check("sale status", keys(redemptionZh), func(c string) string { return RedemptionStatus(c).En() })
	for _, g := range []Gender{Male, Female} {
		if g.En() == "" || g.En() == string(g) {
			t.Errorf("gender %q has no English label", g)
		}
	}
}
