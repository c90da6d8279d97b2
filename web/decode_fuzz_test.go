package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"jifen"
)

// wantCoded fails unless err is a *jifen.Error with a kind and a code, or
// a body over the limit (which the error page reports as 413).
func wantCoded(t *testing.T, err error) {
	t.Helper()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return
	}
	var e *jifen.Error
	if !errors.As(err, &e) || e.Code == "" || e.Kind == "" {
		t.Fatalf("error %v (%T) is not a *jifen.Error with a kind and a code", err, err)
	}
	if s := status(e.Kind); s < 400 || s >= 500 {
		t.Fatalf("error %v maps to status %d, want a 4xx", err, s)
	}
}

// FuzzDecode: any body decodes into a request type or is refused with a
// coded 4xx error; a body that decodes once decodes the same way again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"张三","gender":"female","org_id":1}`, `{"org_id":"1"}`, `{"org_id":9223372036854775808}`,
		`{"org_id":1e400}`, `{"org_id":1.5}`, `{} {}`, `[`, strings.Repeat("[", 10000), `{"name":"\xd5\xc5"}`, `null`, ``,
		`{"skills":"x"}`, `{"birth_date":0}`, `{"lines":[{"item_id":-1,"quantity":1}],"store_id":1}`, "\ufeff{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range []func() any{
			func() any { return new(jifen.PersonInput) },
			func() any { return new(jifen.ActivityInput) },
			func() any { return new(jifen.RedemptionInput) },
			func() any { return new(jifen.AwardInput) },
			func() any { return new(bulkAwardRequest) },
		} {
			v := target()
			r := httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(string(body)))
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, maxBody)
			if err := decode(r, v); err != nil {
				wantCoded(t, err)
				continue
			}
			w := target()
			r2 := httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(string(body)))
			if err := decode(r2, w); err != nil {
				t.Fatalf("%q decodes once and then fails: %v", body, err)
			}
		}
		r := httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(string(body)))
		if err := decodeOptional(r, new(checkinRequest)); err != nil {
			wantCoded(t, err)
		}
	})
}

// FuzzQueryInt: a query id is a non-negative int64 or refused.
func FuzzQueryInt(f *testing.F) {
	for _, s := range []string{"", "1", "-1", "0", "9223372036854775807", "9223372036854775808", "1;DROP", "0x10", " 1", "١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := queryInt(s)
		if err != nil {
			wantCoded(t, badQuery("x"))
			return
		}
		if want, _ := strconv.ParseInt(s, 10, 64); n < 0 || s != "" && n != want {
			t.Fatalf("queryInt(%q) = %d", s, n)
		}
	})
}

// FuzzFormValues: the form readers of the pages (amounts in yuan, map
// positions, local times, query dates) accept only what they can keep.
func FuzzFormValues(f *testing.F) {
	for _, s := range []string{"0.50", "¥1", "1e400", "NaN", "-0.01", "1000000.01", "0.001", "35.3065", "Inf", "2026-11-29T09:00",
		"2026-02-30T09:00", "0000-01-01T00:00", "9999-12-31 23:59", "2026-11-29", "2026-11-29T09:00:00+08:00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "¥")), 64); err == nil && math.IsNaN(f) {
			if fen, err := parseYuan("x", s); err == nil {
				msg := fmt.Sprintf("fixed bug came back: web/store.go parseYuan accepts %q as %d fen: NaN fails every comparison, so f < 0 || f > 1_000_000 "+
					"and the decimals check all pass; refuse math.IsNaN(f)", s, fen)
				t.Fatal(msg)
			}
		}
		if fen, err := parseYuan("fen_per_point", s); err != nil {
			wantCoded(t, err)
		} else if fen < 0 || fen > 100_000_000 {
			t.Fatalf("parseYuan(%q) = %d fen", s, fen)
		} else if again, err := parseYuan("x", jifen.Yuan(fen)); err != nil || again != fen {
			t.Fatalf("parseYuan(%q) = %d does not round-trip through Yuan (%v, %d)", s, fen, err, again)
		}
		if c, err := parseCoord("lat", s); err != nil {
			wantCoded(t, err)
		} else if c != nil && (math.IsNaN(*c) || math.IsInf(*c, 0)) {
			t.Fatalf("parseCoord(%q) = %v", s, *c)
		}
		if tm, err := parseLocal(s); err != nil {
			wantCoded(t, err)
		} else if back, err := parseLocal(tm.In(jifen.Zone).Format("2006-01-02T15:04:05")); err != nil || !back.Equal(tm) {
			t.Fatalf("parseLocal(%q) = %v does not round-trip (%v)", s, tm, err)
		}
		if tm, ok := queryTime(s); ok && s != "" && tm.IsZero() {
			t.Fatalf("queryTime(%q) accepted a zero time", s)
		}
	})
}

// FuzzBulkSheet: a workbook upload never panics the bulk-award reader;
// refusals are coded.
func FuzzBulkSheet(f *testing.F) {
	f.Add([]byte("PK\x03\x04"), "a.xlsx")
	f.Add([]byte("志愿者编号,规则编码\n"), "a.csv")
	f.Add([]byte{}, "")
	x := excelize.NewFile()
	for i, row := range [][]any{{"志愿者编号", "规则编码", "数量", "备注"}, {"202612345678", "clean", 1, "=1+2"}, {"JFV:1", "x", "9223372036854775808", "<script>"}, {"", "", -1, ""}} {
		x.SetSheetRow("Sheet1", "A"+strconv.Itoa(i+1), &row)
	}
	if buf, err := x.WriteToBuffer(); err == nil {
		f.Add(buf.Bytes(), "bulk.xlsx")
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		lines, err := parseBulkSheet(data, name)
		if err != nil {
			wantCoded(t, err)
			return
		}
		_ = lines
	})
}
