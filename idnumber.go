package jifen

import (
	"strings"
	"time"
	"unicode"
)

// NormalizeIDNumber drops every space (a copied number often carries
// full-width or non-breaking ones) and upper-cases the check letter. It
// works rune by rune and strings.Map turns each stray byte into U+FFFD, so
// dropping a space can never join two stray bytes into a new space:
// normalising twice changes nothing.
func NormalizeIDNumber(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// IDCheckDigit computes the GB 11643 check character for the first 17 digits.
func IDCheckDigit(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// CheckIDNumber validates an 18-character resident ID number: digits, a
// real birth date not in the future, and the GB 11643 check character.
func CheckIDNumber(s string, now time.Time) error {
	if len(s) != 18 {
		if looksLikeSpreadsheetNumber(s) {
			return Invalid("id_number", "身份证号被表格软件存成了数字，后几位已丢失，请将该列设为文本后重新导出", "The ID number was saved as a spreadsheet number and its last digits are lost; format the column as text and export again")
		}
		return Invalid("id_number", "身份证号应为18位", "ID number must have 18 characters")
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return Invalid("id_number", "身份证号前17位应为数字", "The first 17 characters of an ID number are digits")
		}
	}
	last := s[17]
	if (last < '0' || last > '9') && last != 'X' {
		return Invalid("id_number", "身份证号最后一位应为数字或X", "The last character of an ID number is a digit or X")
	}
	b, err := time.Parse("20060102", s[6:14])
	if err != nil || b.After(now) || b.Year() < 1900 {
		return Invalid("id_number", "身份证号中的出生日期不正确", "The birth date inside the ID number is not valid")
	}
	if IDCheckDigit(s) != last {
		return Invalid("id_number", "身份证号校验位不正确，请核对", "The ID number's check digit is wrong; please check it")
	}
	return nil
}

// looksLikeSpreadsheetNumber spots ID numbers that a spreadsheet turned
// into a float: "4.11102E+17", or 15+ digits ending in zeros after the
// 15 significant digits Excel keeps.
func looksLikeSpreadsheetNumber(s string) bool {
	u := strings.ToUpper(s)
	if strings.Contains(u, "E+") || strings.Contains(u, ".") {
		return true
	}
	return false
}

// SpreadsheetMangledID reports whether an 18-digit value has the shape of
// a number that went through a spreadsheet's 15-significant-digit float:
// the last three digits are zero and the check digit fails.
func SpreadsheetMangledID(s string) bool {
	return len(s) == 18 && strings.HasSuffix(s, "000") && IDCheckDigit(s) != s[17]
}

// IDBirthDate returns YYYY-MM-DD from a valid ID number.
func IDBirthDate(s string) string { return s[6:10] + "-" + s[10:12] + "-" + s[12:14] }

// IDGender returns the gender encoded in the 17th digit (odd: male).
func IDGender(s string) Gender {
	if (s[16]-'0')%2 == 1 {
		return Male
	}
	return Female
}

// MaskIDNumber shows the first four and last four characters only.
func MaskIDNumber(s string) string {
	if len(s) < 8 {
		return strings.Repeat("*", len(s))
	}
	return s[:4] + strings.Repeat("*", len(s)-8) + s[len(s)-4:]
}

// NormalizeMobile removes spaces, dashes and a +86 prefix.
func NormalizeMobile(s string) string {
	s = strings.TrimSpace(s)
	s = strings.NewReplacer(" ", "", "-", "", "\u00a0", "").Replace(s)
	s = strings.TrimPrefix(s, "+86")
	if len(s) == 13 && strings.HasPrefix(s, "86") {
		s = s[2:]
	}
	return s
}

// ValidMobile reports whether s is an 11-digit mainland mobile number
// (1 followed by 3-9 and nine digits).
func ValidMobile(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' {
		return false
	}
	for i := 2; i < 11; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MaskMobile shows 138****5678.
func MaskMobile(s string) string {
	if len(s) != 11 {
		return s
	}
	return s[:3] + "****" + s[7:]
}

// MaskName shows the family name and hides the rest: 张** .
func MaskName(s string) string {
	r := []rune(s)
	if len(r) <= 1 {
		return s
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}
