package importer

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"
)

// headerKeys maps the header words offices actually use to field keys.
var headerKeys = map[string]string{
	"姓名": "name", "名字": "name",
	"性别":  "gender",
	"手机号": "phone", "手机": "phone", "手机号码": "phone", "联系电话": "phone", "电话": "phone",
	"身份证号": "id_number", "身份证": "id_number", "身份证号码": "id_number", "公民身份号码": "id_number",
	"政治面貌": "political_status",
	"所属组织": "org", "组织": "org", "所在组织": "org", "队伍": "org", "志愿服务队": "org",
	"出生日期": "birth_date", "出生年月": "birth_date", "生日": "birth_date",
	"技能": "skills", "特长": "skills", "专业技能": "skills",
	// The English field names, for files made by other programs.
	"name": "name", "gender": "gender", "phone": "phone", "id_number": "id_number",
	"political_status": "political_status", "org": "org", "birth_date": "birth_date", "skills": "skills",
}

// fieldZh names a field's column when the file has no such column.
var fieldZh = map[string]string{
	"name": "姓名", "gender": "性别", "phone": "手机号", "id_number": "身份证号",
	"political_status": "政治面貌", "org": "所属组织", "birth_date": "出生日期", "skills": "技能",
}

// clean trims what spreadsheets leave around a value: spaces of every
// width, the BOM and zero-width spaces pasted from web pages.
func clean(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b'
	})
}

// headerKey returns the field key of a header cell, or "" when unknown.
// Forms often write "姓  名" (padded to line up), "*姓名" (required) or
// "出生日期（格式：1988-08-21）" (a hint): all of these still mean the field.
func headerKey(h string) string { return headerKeys[normHeader(h)] }

// normHeader strips the padding, required-markers and hints from a header
// cell and lower-cases it, leaving the word to look up.
func normHeader(h string) string {
	h = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b' || r == '*' || r == '＊' {
			return -1
		}
		return r
	}, h)
	if i := strings.IndexAny(h, "(（"); i > 0 {
		h = h[:i]
	}
	return strings.ToLower(h)
}

// joinHanSpaces removes the spaces people type inside two-character names
// to line them up with three-character ones ("张  三", "张　三"). Line
// breaks and tabs are left for Validate to refuse: they are mistakes, not
// padding.
func joinHanSpaces(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		if padding(r[i]) {
			j := i
			for j < len(r) && padding(r[j]) {
				j++
			}
			if i > 0 && j < len(r) && unicode.Is(unicode.Han, r[i-1]) && unicode.Is(unicode.Han, r[j]) {
				i = j - 1
				continue
			}
		}
		b.WriteRune(r[i])
	}
	return b.String()
}

// padding reports the horizontal spaces used to line up names.
func padding(r rune) bool { return r == ' ' || r == '\u3000' || r == '\u00a0' }

// unquoteText undoes the tricks other systems use to keep Excel from turning
// long digit strings into numbers: a leading apostrophe or ="...".
func unquoteText(s string) string {
	if strings.HasPrefix(s, `="`) && strings.HasSuffix(s, `"`) && len(s) >= 3 {
		return s[2 : len(s)-1]
	}
	return strings.TrimPrefix(s, "'")
}

// numberText writes a numeric cell's raw value (which may be "1.3800138E+10")
// as plain digits when it is a whole number Excel holds exactly.
func numberText(raw string) string {
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1e15 {
		return raw
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}

// dateKind says how much of a date a birth-date cell holds.
type dateKind int

const (
	dateBad       dateKind = iota
	dateFull               // YYYY-MM-DD
	dateYearMonth          // YYYY-MM: a "出生年月" column often stops at the month
)

// parseDate normalises a birth-date cell. Text forms are 1988-08-21,
// 1988/8/21, 1988.08.21, 19880821 and 1988年8月21日, optionally with a time
// after them; a numeric XLSX cell is an Excel serial day number.
func parseDate(s string, numeric, date1904 bool) (string, dateKind) {
	if numeric {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 1 && f < 100000 {
			t, err := excelize.ExcelDateToTime(f, date1904)
			if err != nil {
				return "", dateBad
			}
			return t.Format("2006-01-02"), dateFull
		}
		// Otherwise a number like 19880821 typed into a General cell.
		s = numberText(s)
	}
	if i := strings.IndexAny(s, " T"); i > 0 {
		s = s[:i] // "1988-08-21 00:00:00" from a date-time export
	}
	if len(s) == 8 && strings.Trim(s, "0123456789") == "" {
		if t, err := time.Parse("20060102", s); err == nil {
			return t.Format("2006-01-02"), dateFull
		}
		return "", dateBad
	}
	s = strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-").Replace(s)
	s = strings.TrimSuffix(s, "-")
	if t, err := time.Parse("2006-1-2", s); err == nil {
		return t.Format("2006-01-02"), dateFull
	}
	if t, err := time.Parse("2006-1", s); err == nil {
		return t.Format("2006-01"), dateYearMonth
	}
	return "", dateBad
}
