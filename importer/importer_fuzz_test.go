package importer

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"jifen"
)

// fuzzFiles seeds the import fuzzers: CSV in UTF-8, with a BOM and in GBK,
// an XLSX, and broken zips.
func fuzzFiles(f *testing.F, csvs ...string) {
	f.Helper()
	gbk := []byte("\xd0\xd5\xc3\xfb,\xd0\xd4\xb1\xf0\n\xd5\xc5\xc8\xfd,\xc4\xd0\n") // 姓名,性别 / 张三,男
	for _, c := range csvs {
		f.Add([]byte(c), "a.csv")
		f.Add(append([]byte("\ufeff"), c...), "a.csv")
	}
	f.Add(gbk, "gbk.csv")
	f.Add([]byte("PK\x03\x04broken"), "a.xlsx")
	f.Add([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "old.xls")
	f.Add([]byte(`"unterminated,quote`+"\n"), "a.csv")
	f.Add([]byte{}, "empty.csv")
	x := excelize.NewFile()
	for i, c := range strings.Split(csvs[0], "\n") {
		row := []any{}
		for _, v := range strings.Split(c, ",") {
			row = append(row, v)
		}
		x.SetSheetRow("Sheet1", "A"+strconv.Itoa(i+1), &row)
	}
	if buf, err := x.WriteToBuffer(); err == nil {
		f.Add(buf.Bytes(), "a.xlsx")
	}
}

// checkFileError: a file-level refusal is a coded *jifen.Error.
func checkFileError(t *testing.T, err error) {
	t.Helper()
	var e *jifen.Error
	if !errors.As(err, &e) || e.Code == "" {
		t.Fatalf("error %v (%T) is not a *jifen.Error with a code", err, err)
	}
}

var fuzzNow = time.Date(2026, 11, 29, 12, 0, 0, 0, jifen.Zone)

// FuzzParse (people): never panics; every row it calls good re-validates
// as a person; rows are listed once each, in file order, numbered from 1
// (a blank line keeps its number, so numbers may skip) and the spreadsheet
// row follows the data row.
func FuzzParse(f *testing.F) {
	fuzzFiles(f, "姓名,性别,手机号,身份证号,出生日期\n张三,男,13900000000,62082119800102111X,1980-01-02\n",
		"姓名,性别\n<script>,女\n=1+2,男\n",
		"name,gender,phone\n李四,female,+86 139-0000-0001\n",
		"姓名,性别,身份证号\n王五,男,6.20821E+17\n")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		opts := Options{Now: fuzzNow, DefaultOrgID: 1, MaxRows: 200, ResolveOrg: func(string) (int64, error) { return 1, nil }}
		r, err := Parse(bytes.NewReader(data), name, opts)
		if err != nil {
			checkFileError(t, err)
			return
		}
		if len(r.Rows) != r.Total {
			t.Fatalf("%d rows listed, %d counted", len(r.Rows), r.Total)
		}
		for i, row := range r.Rows {
			if row.Row < 1 || (i > 0 && row.Row <= r.Rows[i-1].Row) {
				t.Fatalf("row number %d after %d", row.Row, r.Rows[max(i-1, 0)].Row)
			}
			if row.SheetRow-row.Row != r.Rows[0].SheetRow-r.Rows[0].Row || row.SheetRow <= row.Row {
				t.Fatalf("data row %d is spreadsheet row %d", row.Row, row.SheetRow)
			}
			if !row.OK {
				continue
			}
			in := row.Input
			if err := in.Validate(fuzzNow); err != nil {
				t.Fatalf("row %d is good but does not re-validate: %v (%+v)", row.Row, err, row.Input)
			}
		}
		for _, e := range r.Errors {
			if e.Reason == "" || e.Row < 1 {
				t.Fatalf("row error without a reason or row: %+v", e)
			}
		}
	})
}

// FuzzParseRules: never panics; every rule it reads validates.
func FuzzParseRules(f *testing.F) {
	fuzzFiles(f, "编码,名称,类别,分值\nclean,清扫,environment,5\n",
		"规则编码,规则名称,分类,积分,每日上限\nfight,打架,conduct,-10,1\nbig,大,conduct,9223372036854775808,x\n",
		"编码,名称,类别,分值,有效期起\nx,<script>,环境,5,2026-02-30\n")
	if x, err := os.ReadFile("testdata/rules_sample.csv"); err == nil {
		f.Add(x, "rules.csv")
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		r, err := parseRules(bytes.NewReader(data), name, Options{Now: fuzzNow, MaxRows: 200})
		if err != nil {
			checkFileError(t, err)
			return
		}
		for _, row := range r.Rows {
			if !row.OK {
				continue
			}
			in := row.Input
			if err := in.Validate(); err != nil {
				t.Fatalf("rule row %d is good but does not validate: %v (%+v)", row.Row, err, row.Input)
			}
		}
	})
}

// FuzzParseOpening: never panics; balances it accepts are positive
// integers on rows it calls good.
func FuzzParseOpening(f *testing.F) {
	fuzzFiles(f, "志愿者编号,姓名,积分\n202612345678,张三,100\n",
		"志愿者编号,姓名,积分\n202612345678,张三,-5\n202612345679,李四,1e400\n,,9223372036854775808\n")
	if x, err := os.ReadFile("testdata/opening_sample.csv"); err == nil {
		f.Add(x, "opening.csv")
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		o, err := parseOpening(bytes.NewReader(data), name, Options{Now: fuzzNow, MaxRows: 200})
		if err != nil {
			checkFileError(t, err)
			return
		}
		for _, row := range o.Rows {
			if !row.OK {
				continue
			}
			if row.Points < 0 || row.Points > MaxOpeningPoints || row.Ident == "" {
				t.Fatalf("opening row %d is good with points %d and identifier %q", row.Row, row.Points, row.Ident)
			}
			if row.Kind == IdentIDNumber && jifen.CheckIDNumber(row.Ident, fuzzNow) != nil {
				t.Fatalf("opening row %d is good with ID number %q that does not validate", row.Row, row.Ident)
			}
		}
	})
}
