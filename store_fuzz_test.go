package jifen_test

import (
	"strconv"
	"strings"
	"testing"

	"jifen"
)

// FuzzParsePeriod: an accepted period is a month or a year of 2000–2100
// whose bounds are ordered, and formats back to the same text.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2026-11", "2026", " 2026-01 ", "2026-13", "0000-01", "9999-12", "2026-1", "1999", "2101", "２０２６", "2026-11-01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := jifen.ParsePeriod(s)
		if err != nil {
			wantCoded(t, err)
			return
		}
		if !to.After(from) || from.Year() < 2000 || from.Year() > 2100 {
			t.Fatalf("ParsePeriod(%q) = [%v, %v)", s, from, to)
		}
		back := from.Format("2006-01")
		if to.Sub(from).Hours() > 24*31 {
			back = from.Format("2006")
		}
		if back != strings.TrimSpace(s) {
			t.Fatalf("ParsePeriod(%q) formats back as %q", s, back)
		}
		if f2, t2, err := jifen.ParsePeriod(back); err != nil || !f2.Equal(from) || !t2.Equal(to) {
			t.Fatalf("%q does not parse back: %v", back, err)
		}
	})
}

// FuzzYuan: every amount of fen formats with two decimals and reads back.
func FuzzYuan(f *testing.F) {
	for _, n := range []int64{0, 1, -1, 99, 100, 12345, -12345, 1 << 62, -(1 << 62), 9223372036854775807} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, fen int64) {
		if fen == -9223372036854775808 {
			return // its negation does not fit: no amount is near it
		}
		s := jifen.Yuan(fen)
		whole, dec, ok := strings.Cut(strings.TrimPrefix(s, "-"), ".")
		if !ok || len(dec) != 2 {
			t.Fatalf("Yuan(%d) = %q", fen, s)
		}
		w, err1 := strconv.ParseInt(whole, 10, 64)
		d, err2 := strconv.ParseInt(dec, 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("Yuan(%d) = %q does not read back", fen, s)
		}
		back := w*100 + d
		if strings.HasPrefix(s, "-") {
			back = -back
		}
		if back != fen {
			t.Fatalf("Yuan(%d) = %q reads back as %d", fen, s, back)
		}
	})
}

// FuzzRedemptionInput: a basket that validates is in bounds, and its pay
// code has no spaces left.
func FuzzRedemptionInput(f *testing.F) {
	f.Add(int64(1), int64(1), int64(1), "912345678901234567")
	f.Add(int64(1), int64(1), int64(0), " 9123 4567 8901 2345 67 ")
	f.Add(int64(0), int64(-1), int64(1001), "")
	f.Add(int64(1), int64(9223372036854775807), int64(1000), "９１２")
	f.Fuzz(func(t *testing.T, store, item, qty int64, code string) {
		in := jifen.RedemptionInput{StoreID: store, Lines: []jifen.Line{{ItemID: item, Quantity: qty}}, Paycode: code}
		if err := in.Validate(); err != nil {
			wantCoded(t, err)
			return
		}
		if in.StoreID <= 0 || item <= 0 || qty < 1 || qty > 1000 || strings.Contains(in.Paycode, " ") || in.Paycode != strings.TrimSpace(in.Paycode) {
			t.Fatalf("accepted %+v", in)
		}
	})
}
