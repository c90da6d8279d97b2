package web

import "testing"

// TestEnglishPlurals: "1 appeal", "2 appeals"; Chinese has no plural.
func TestEnglishPlurals(t *testing.T) {
	for _, c := range []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"en", "appeal.total", []any{1}, "1 appeal"},
		{"en", "appeal.total", []any{2}, "2 appeals"},
		{"en", "audit.total", []any{1}, "1 entry"},
		{"en", "audit.total", []any{0}, "0 entries"},
		{"en", "points.lines", []any{int64(1)}, "1 line"},
		{"en", "rules.import_summary", []any{1, 1, 2}, "1 row, 1 valid, 2 problems"},
		{"en", "counter.today_sum", []any{3, 1}, "3 sales, 1 point completed"},
		{"en", "activity.places", []any{1, 1}, "1 of 1 place taken"},
		{"en", "activity.places", []any{1, 20}, "1 of 20 places taken"},
		{"zh", "appeal.total", []any{1}, "共 1 条"},
	} {
		if got := trf(c.lang, c.key, c.args...); got != c.want {
			t.Errorf("%s %s %v: %q, want %q", c.lang, c.key, c.args, got, c.want)
		}
	}
}

// TestSingularKeepsOtherVerbs: widths, %s and %% leave the counting of
// arguments right.
func TestSingularKeepsOtherVerbs(t *testing.T) {
	for _, c := range []struct {
		format string
		args   []any
		want   string
	}{
		{"%s has %d points", []any{"李", 1}, "%s has %d point"},
		{"%5d lines, %d%% done", []any{1, 1}, "%5d line, %d%% done"},
		{"%d of %d entries", []any{2, 1}, "%d of %d entry"},
	} {
		if got := singular(c.format, c.args); got != c.want {
			t.Errorf("singular(%q, %v) = %q, want %q", c.format, c.args, got, c.want)
		}
	}
}
