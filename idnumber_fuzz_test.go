package jifen_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"jifen"
)

// fuzzNow is a fixed day, so what the fuzzer finds does not age.
var fuzzNow = time.Date(2026, 11, 29, 12, 0, 0, 0, jifen.Zone)

// wantCoded fails unless err is a *jifen.Error with a code.
func wantCoded(t *testing.T, err error) {
	t.Helper()
	var e *jifen.Error
	if !errors.As(err, &e) || e.Code == "" || e.Kind == "" {
		t.Fatalf("error %v (%T) is not a *jifen.Error with a kind and a code", err, err)
	}
}

// FuzzCheckIDNumber: any text is either refused with a coded error or is a
// number that re-validates, keeps its birth date and gender readable, and
// masks to its first and last four characters.
func FuzzCheckIDNumber(f *testing.F) {
	for _, s := range []string{"62082119800102111X", "620821198001021118", "620821198001021110", " 62082119800102111x ",
		"6.20821E+17", "620821000001011118", "62082120261231111X", "", "６２０８２１１９８００１０２１１１８", "620821198002301118"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := jifen.NormalizeIDNumber(s)
		if jifen.NormalizeIDNumber(n) != n {
			t.Fatalf("NormalizeIDNumber is not idempotent on %q", s)
		}
		err := jifen.CheckIDNumber(n, fuzzNow)
		if err != nil {
			wantCoded(t, err)
			return
		}
		if len(n) != 18 || jifen.IDCheckDigit(n) != n[17] {
			t.Fatalf("%q passed with a wrong check digit", n)
		}
		b, perr := time.Parse("2006-01-02", jifen.IDBirthDate(n))
		if perr != nil || b.After(fuzzNow) {
			t.Fatalf("%q passed with birth date %q", n, jifen.IDBirthDate(n))
		}
		if g := jifen.IDGender(n); g != jifen.Male && g != jifen.Female {
			t.Fatalf("%q has gender %q", n, g)
		}
		if m := jifen.MaskIDNumber(n); len(m) != 18 || m[:4] != n[:4] || m[14:] != n[14:] || strings.Trim(m[4:14], "*") != "" {
			t.Fatalf("MaskIDNumber(%q) = %q", n, m)
		}
		if err := jifen.CheckIDNumber(jifen.NormalizeIDNumber(" "+strings.ToLower(n)+" "), fuzzNow); err != nil {
			t.Fatalf("%q does not re-validate after a round trip through the form: %v", n, err)
		}
	})
}

// FuzzMobile: a phone that normalises to a valid one stays valid when
// normalised again, and masks to 138****5678.
func FuzzMobile(f *testing.F) {
	for _, s := range []string{"13900000000", "+86 139-0000-0000", "8613900000000", "1390000000", "139000000000", "12900000000",
		"１３９００００００００", "139 0000 0000\u00a0", "+8613900000000x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := jifen.NormalizeMobile(s)
		if !jifen.ValidMobile(n) {
			return
		}
		if jifen.NormalizeMobile(n) != n || !jifen.ValidMobile(jifen.NormalizeMobile(n)) {
			t.Fatalf("valid %q does not survive normalising again", n)
		}
		if m := jifen.MaskMobile(n); len(m) != 11 || m[:3] != n[:3] || m[7:] != n[7:] || m[3:7] != "****" {
			t.Fatalf("MaskMobile(%q) = %q", n, m)
		}
		in := jifen.PersonInput{Name: "张三", Gender: jifen.Female, Phone: s}
		var e *jifen.Error
		if err := in.Validate(fuzzNow); errors.As(err, &e) && e.Field == "phone" {
			t.Fatalf("a person with phone %q (normalised %q, valid) is refused: %v", s, n, err)
		}
	})
}
