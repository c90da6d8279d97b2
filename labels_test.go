package jifen

import "testing"

// TestEveryCodeHasAnEnglishLabel: English pages show a label for every
// code that has a Chinese one, never the code itself ("masses", "held").
func TestEveryCodeHasAnEnglishLabel(t *testing.T) {
	// Each Chinese table's codes must be in the English one: En() falls
	// back to the code with its underscores as spaces, which would pass
	// for a label.
	missing := func(kind string, zh, en []string) {
		t.Helper()
		have := map[string]bool{}
		for _, c := range en {
			have[c] = true
		}
		for _, c := range zh {
			if !have[c] {
				t.Errorf("%s %q has no English label", kind, c)
			}
		}
	}
	missing("political status", keysOf(politicalZh), keysOf(politicalEn))
	missing("activity status", keysOf(activityStatusZh), keysOf(activityStatusEn))
	missing("rule category", keysOf(categoryZh), keysOf(categoryEn))
	missing("award status", keysOf(awardStatusZh), keysOf(awardStatusEn))
	missing("appeal status", keysOf(appealStatusZh), keysOf(appealStatusEn))
	missing("sale status", keysOf(redemptionZh), keysOf(redemptionEn))
	for _, g := range []Gender{Male, Female} {
		if g.En() == "" || g.En() == string(g) {
			t.Errorf("gender %q has no English label", g)
		}
	}
}

// keysOf lists a label table's codes.
func keysOf[K ~string](m map[K]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		if v != "" {
			out = append(out, string(k))
		}
	}
	return out
}
