package sqldb

import "testing"

// TestQuoteZh: a rule's name is quoted once in a Chinese message.
func TestQuoteZh(t *testing.T) {
	for in, want := range map[string]string{
		"庭院整洁":       "“庭院整洁”",
		"评为“优秀志愿者”":  "评为“优秀志愿者”",
		"参加「道德讲堂」":   "参加「道德讲堂」",
		`获得"五好家庭"称号`: `获得"五好家庭"称号`,
	} {
		if got := quoteZh(in); got != want {
			t.Errorf("quoteZh(%q) = %q, want %q", in, got, want)
		}
	}
}
