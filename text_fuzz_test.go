package jifen_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"jifen"
)

// FuzzCleanText: the result is valid UTF-8 without control characters
// (tabs and newlines aside) or surrounding space, and cleaning it again
// changes nothing.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"张三", " \t张\x00三\n ", "\xff\xfe\xd5\xc5", "<script>alert(1)</script>", "\u200b\ufeff\u202e",
		"a\r\nb", "\x1b[31m红\x1b[0m", "' OR 1=1--", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := jifen.CleanText(s)
		if !utf8.ValidString(c) {
			t.Fatalf("CleanText(%q) = %q is not UTF-8", s, c)
		}
		if jifen.CleanText(c) != c {
			t.Fatalf("CleanText is not idempotent: %q → %q → %q", s, c, jifen.CleanText(c))
		}
		if c != strings.TrimSpace(c) {
			t.Fatalf("CleanText(%q) = %q keeps surrounding space", s, c)
		}
		for _, r := range c {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r == '\u200b' || r == '\ufeff' {
				t.Fatalf("CleanText(%q) = %q keeps %U", s, c, r)
			}
		}
	})
}

// FuzzCheckName: an accepted name is non-empty once cleaned, within the
// limit and on one line; a refused one gets a coded error on its field.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"新窑村", "", " ", "\x00", "a\nb", strings.Repeat("长", 61), strings.Repeat("长", 60), "\xd5\xc5\xc8\xfd"} {
		f.Add(s, 60)
	}
	f.Add("x", 0)
	f.Add("x", -1)
	f.Fuzz(func(t *testing.T, s string, max int) {
		err := jifen.CheckName("name", s, max)
		if err != nil {
			wantCoded(t, err)
			if err.(*jifen.Error).Field != "name" {
				t.Fatalf("CheckName's error names field %q", err.(*jifen.Error).Field)
			}
			return
		}
		if jifen.CleanText(s) == "" || utf8.RuneCountInString(s) > max || strings.ContainsAny(s, "\n\t") {
			t.Fatalf("CheckName accepted %q (max %d)", s, max)
		}
	})
}

// FuzzPaging: pages start at 1 and stop at MaxPage, sizes stay within
// [1, max], so an offset never overflows.
func FuzzPaging(f *testing.F) {
	f.Add(1, 20, 20, 100)
	f.Add(-1, -1, 20, 100)
	f.Add(1<<62, 1<<62, 20, 100)
	f.Add(0, 1000000, 50, 200)
	f.Fuzz(func(t *testing.T, page, per, def, max int) {
		if def < 1 || def > max {
			return
		}
		p, pp := jifen.Paging(page, per, def, max)
		if p < 1 || p > jifen.MaxPage || pp < 1 || pp > max {
			t.Fatalf("Paging(%d, %d, %d, %d) = %d, %d", page, per, def, max, p, pp)
		}
		if off := (p - 1) * pp; off < 0 {
			t.Fatalf("offset %d overflows", off)
		}
	})
}
