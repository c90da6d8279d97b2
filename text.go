package jifen

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PlainText reports whether s is valid UTF-8 without NUL bytes: what a
// database text column can hold (PostgreSQL refuses both). Values used
// as lookup keys rather than cleaned text are checked with it.
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

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
	// A title (an activity's, a message's) is called one, not a name.
	zh, en := "名称", "Name"
	if field == "title" {
		zh, en = "标题", "Title"
	}
	if CleanText(s) == "" {
		return Invalid(field, zh+"不能为空", en+" is required")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return &Error{Kind: KindInvalid, Code: "invalid", Field: field,
			Zh: zh + "太长，最多" + strconv.Itoa(max) + "个字", En: en + " is too long (at most " + strconv.Itoa(max) + " characters)"}
	}
	if strings.ContainsAny(s, "\n\t") {
		return Invalid(field, zh+"不能包含换行", en+" must be on one line")
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

// checkValidDates normalises an optional from–to pair of days (YYYY-MM-DD,
// both inclusive, either may be empty) as rules and items use them.
func checkValidDates(from, to *string) error {
	for _, d := range []struct {
		field string
		v     *string
	}{{"valid_from", from}, {"valid_to", to}} {
		*d.v = strings.TrimSpace(*d.v)
		if *d.v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", *d.v)
		if err != nil || t.Year() < 2000 || t.Year() > 2100 {
			return Invalid(d.field, "日期格式应为 年-月-日，如 2026-01-01", "Dates look like 2026-01-01")
		}
	}
	if *from != "" && *to != "" && *to < *from {
		return Invalid("valid_to", "截止日期不能早于开始日期", "The end date is before the start date")
	}
	return nil
}

// english is an English label, or the code itself where none is known
// (a code added without its label still shows something readable).
func english(label, code string) string {
	if label != "" {
		return label
	}
	return strings.ReplaceAll(code, "_", " ")
}
