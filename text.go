package jifen

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanText trims a free-text value and drops control characters that no
// form should carry (they break exports and printed notices). Markup is
// kept as typed: it is escaped on output, never stripped on input.
func CleanText(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == '\u200b' || r == '\ufeff' {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// CheckName checks a required single-line name of at most max characters.
func CheckName(field, s string, max int) error {
	if s == "" {
		return Invalid(field, "名称不能为空", "Name is required")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return &Error{Kind: KindInvalid, Code: "invalid", Field: field,
			Zh: "名称太长，最多" + strconv.Itoa(max) + "个字", En: "Name is too long (at most " + strconv.Itoa(max) + " characters)"}
	}
	if strings.ContainsAny(s, "\n\t") {
		return Invalid(field, "名称不能包含换行", "Name must be on one line")
	}
	return nil
}

// MaxPage bounds page numbers: nobody reads page ten million, and an
// unbounded one overflows the offset.
const MaxPage = 100000

// Paging normalises a page number and size: pages start at 1, sizes
// default to def and stay at most max.
func Paging(page, perPage, def, max int) (int, int) {
	if page < 1 {
		page = 1
	}
	if page > MaxPage {
		page = MaxPage
	}
	if perPage < 1 || perPage > max {
		perPage = def
	}
	return page, perPage
}
