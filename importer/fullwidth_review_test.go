package importer

import (
	"strings"
	"testing"

	"jifen"
)

func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0' + '０'
		}
		return r
	}, s)
}

// A roster whose phone or ID number is typed with full-width digits, or a
// phone spaced with ideographic spaces, by a Chinese input method.
// ParseOpening accepts all three (halfWidth); Parse rejects the rows.
func TestRosterReadsFullWidthPhoneAndID(t *testing.T) {
	id17 := "11010119900307123"
	id := id17 + string(jifen.IDCheckDigit(id17))
	csv := "姓名,性别,手机号,身份证号\n" +
		"张三,男,１３８００１３８０００,\n" +
		"李四,男,138　0013　8001,\n" +
		"王五,男,," + fullWidth(id) + "\n"
	r, err := Parse(strings.NewReader(csv), "r.csv", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Errors {
		t.Errorf("roster: sheet row %d %s: %s", e.SheetRow, e.Column, e.Reason)
	}
	o, err := ParseOpening(strings.NewReader("手机号,身份证号,积分\n１３８００１３８０００,,5\n138　0013　8001,,5\n,"+fullWidth(id)+",5\n"), "o.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range o.Problems {
		t.Errorf("opening: sheet row %d %s: %s", e.SheetRow, e.Column, e.Reason)
	}
}

// A birth date typed with full-width digits: ParseRules reads such dates
// (halfWidth before parseDate), the roster does not.
func TestRosterReadsFullWidthBirthDate(t *testing.T) {
	csv := "姓名,性别,出生日期\n张三,男,１９８８-０８-２１\n"
	r, err := Parse(strings.NewReader(csv), "r.csv", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Errors {
		t.Errorf("roster: sheet row %d %s: %s", e.SheetRow, e.Column, e.Reason)
	}
}
