package importer

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"jifen"
)

func openingOf(t *testing.T, data []byte, filename string) *Openings {
	t.Helper()
	o, err := parseOpening(bytes.NewReader(data), filename, Options{Now: testNow})
	if err != nil {
		t.Fatalf("ParseOpening(%s): %v", filename, err)
	}
	return o
}

func openingText(t *testing.T, text string) *Openings {
	t.Helper()
	return openingOf(t, []byte(text), "opening.csv")
}

func sampleOpenings() []OpeningRow {
	return []OpeningRow{
		{Row: 1, SheetRow: 2, Kind: IdentVolunteerNo, Ident: "202412345678", Raw: "202412345678", VolunteerNo: "202412345678",
			Name: "彭刚", Points: 120, Note: "2025年台账结转", OK: true},
		{Row: 2, SheetRow: 3, Kind: IdentPhone, Ident: "13800138000", Raw: "13800138000", Phone: "13800138000", Name: "史飞", Points: 85, OK: true},
		{Row: 3, SheetRow: 4, Kind: IdentIDNumber, Ident: "411102197603010468", Raw: "411102197603010468", IDNumber: "411102197603010468",
			Name: "孙庆英", Points: 0, Note: "新户", OK: true},
		{Row: 4, SheetRow: 5, Kind: IdentVolunteerNo, Ident: "202587654321", Raw: "202587654321", VolunteerNo: "202587654321", Phone: "13900139000",
			Name: "王芳", Points: 1200, Note: "编号与手机都填", OK: true},
		{Row: 5, SheetRow: 6, Kind: IdentIDNumber, Ident: "411102198808219315", Raw: "411102198808219315", IDNumber: "411102198808219315",
			Phone: "13700137000", Name: "李明", Points: 1500, OK: true},
	}
}

func TestSampleOpeningSheetNamesEachKindOfIdentifier(t *testing.T) {
	o := openingOf(t, testdata(t, "opening_sample.csv"), "opening_sample.csv")
	if len(o.Problems) != 0 || len(o.Warnings) != 0 || o.Total != 5 {
		t.Fatalf("problems %+v warnings %q total %d", o.Problems, o.Warnings, o.Total)
	}
	if !reflect.DeepEqual(o.Items, sampleOpenings()) || !reflect.DeepEqual(o.Rows, o.Items) {
		t.Errorf("items:\n got %+v\nwant %+v", o.Items, sampleOpenings())
	}
	if in := o.Items[0].Input(42); in != (jifen.OpeningInput{PersonID: 42, Points: 120, Note: "2025年台账结转"}) {
		t.Errorf("Input = %+v", in)
	}
	// The exported entry point reads the same file the same way.
	p, err := ParseOpening(bytes.NewReader(testdata(t, "opening_sample.csv")), "a.csv")
	if err != nil || !reflect.DeepEqual(p.Items, o.Items) {
		t.Errorf("ParseOpening: %v, %+v", err, p)
	}
}

func TestOpeningSheetInGBKAndXLSX(t *testing.T) {
	utf := testdata(t, "opening_sample.csv")
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(bytes.TrimPrefix(utf, []byte("\ufeff")))
	if err != nil {
		t.Fatal(err)
	}
	if o := openingOf(t, gbk, "台账.csv"); !reflect.DeepEqual(o.Items, sampleOpenings()) {
		t.Errorf("GBK items %+v problems %+v", o.Items, o.Problems)
	}
	// Typed into Excel: the identifiers and points become number cells.
	x := openingOf(t, xlsxFile(t, [][]any{
		{"姓名", "志愿者编号", "联系电话", "公民身份号码", "余额"},
		{"彭刚", 202412345678.0, nil, nil, 120.0},
		{"史飞", nil, 13800138000.0, nil, 85.0},
		{"孙庆英", nil, nil, rawNumber("4.1110219760301005E+17"), 10.0},
		{"王芳", nil, rawNumber("1.39001390E+10"), nil, 12.5},
	}), "台账.xlsx")
	if len(x.Items) != 2 || x.Items[0].Ident != "202412345678" || x.Items[0].Points != 120 ||
		x.Items[1].Kind != IdentPhone || x.Items[1].Ident != "13800138000" || x.Items[1].Points != 85 {
		t.Errorf("items %+v", x.Items)
	}
	if len(x.Problems) != 2 || x.Problems[0].Field != "id_number" || x.Problems[0].Reason != mangledZh ||
		x.Problems[1].Field != "points" || x.Problems[1].Reason != "期初积分应为整数，表中是“12.5”" || x.Problems[1].Column != "余额" {
		t.Errorf("problems %+v", x.Problems)
	}
}

func TestOpeningPointsMustBeWholeNonNegativeAndBounded(t *testing.T) {
	o := openingText(t, "手机号,期初积分\n"+
		"13800138001,-5\n"+
		"13800138002,12.5\n"+
		"13800138003,99999999999999999999999\n"+
		"13800138004,10000001\n"+
		"13800138005,很多\n"+
		"13800138006,\n"+
		"13800138007,－３\n"+
		"13800138008,-99999999999999999999999\n"+
		"13800138009,１２０分\n"+
		"13800138010,\"10,000,000\"\n"+
		"13800138011,120.00\n")
	want := map[int]string{
		2: "期初积分不能为负数，表中是“-5”",
		3: "期初积分应为整数，表中是“12.5”",
		4: "期初积分太大，最多为10000000，表中是“99999999999999999999…”",
		5: "期初积分太大，最多为10000000，表中是“10000001”",
		6: "期初积分“很多”不是数字",
		7: "期初积分不能为空，没有积分请填0",
		8: "期初积分不能为负数，表中是“－３”",
		9: "期初积分不能为负数，表中是“-9999999999999999999…”",
	}
	if len(o.Problems) != len(want) {
		t.Fatalf("problems %+v", o.Problems)
	}
	for _, p := range o.Problems {
		if w := want[p.SheetRow]; p.Reason != w || p.Field != "points" || p.Column != "期初积分" || p.ReasonEn == "" {
			t.Errorf("sheet row %d: %+v, want %q", p.SheetRow, p, w)
		}
	}
	if len(o.Items) != 3 || o.Items[0].Points != 120 || o.Items[1].Points != 10_000_000 || o.Items[2].Points != 120 {
		t.Errorf("items %+v", o.Items)
	}
}

func TestBadIdentifiersAreReported(t *testing.T) {
	o := openingText(t, "姓名,志愿者编号,手机号,身份证号,积分,备注\n"+
		"甲,2024123,,,1,\n"+
		"乙,,1380013800,,1,\n"+
		"丙,,,411102198808219316,1,\n"+
		"丁,,,,1,没写是谁\n"+
		"戊,,,4.11102E+17,1,\n"+
		"己,２０２４１２３４５６７８,138-0013-8000,411102198808219315,1,"+strings.Repeat("长", 201)+"\n")
	want := []struct {
		row           int
		field, column string
		reason        string
	}{
		{2, "volunteer_no", "志愿者编号", "志愿者编号应为12位数字，表中是“2024123”"},
		{3, "phone", "手机号", "手机号应为11位手机号码，表中是“1380013800”"},
		{4, "id_number", "身份证号", "身份证号校验位不正确，请核对"},
		{5, "identifier", "志愿者编号/身份证号/手机号", "请填写志愿者编号、身份证号、手机号中的一项，以确定是谁的积分"},
		{6, "id_number", "身份证号", mangledZh},
		{7, "note", "备注", "备注不能超过200字"},
	}
	if len(o.Problems) != len(want) {
		t.Fatalf("problems %+v", o.Problems)
	}
	for i, w := range want {
		p := o.Problems[i]
		if p.SheetRow != w.row || p.Row != w.row-1 || p.Field != w.field || p.Column != w.column || p.Reason != w.reason || p.ReasonEn == "" {
			t.Errorf("problem %d = %+v, want %+v", i, p, w)
		}
	}
	last := o.Rows[5]
	if last.Kind != IdentVolunteerNo || last.Ident != "202412345678" || last.Phone != "13800138000" || last.IDNumber != "411102198808219315" {
		t.Errorf("last row %+v", last)
	}
	if len(o.Items) != 0 {
		t.Errorf("items %+v", o.Items)
	}
}

func TestDuplicateIdentifiersAreBadOnBothRows(t *testing.T) {
	o := openingText(t, "姓名,身份证号,手机号,积分\n"+
		"彭刚,411102198808219315,13800138000,10\n"+
		"彭刚妻,411102197603010468,13800138000,20\n"+ // a shared phone beside ID numbers is fine
		"史飞,,13900139000,5\n"+
		"彭刚,411102198808219315,,30\n"+
		"史飞,,139 0013 9000,6\n")
	want := []struct {
		row    int
		field  string
		reason string
	}{
		{2, "id_number", "与第5行身份证号重复"},
		{4, "phone", "与第6行手机号重复"},
		{5, "id_number", "与第2行身份证号重复"},
		{6, "phone", "与第4行手机号重复"},
	}
	if len(o.Problems) != len(want) {
		t.Fatalf("problems %+v", o.Problems)
	}
	for i, w := range want {
		if p := o.Problems[i]; p.SheetRow != w.row || p.Field != w.field || p.Reason != w.reason || !strings.HasPrefix(p.ReasonEn, "Same ") {
			t.Errorf("problem %d = %+v, want %+v", i, p, w)
		}
	}
	if len(o.Items) != 1 || o.Items[0].Name != "彭刚妻" {
		t.Errorf("items %+v", o.Items)
	}
	o = openingText(t, "志愿者编号,积分\n202412345678,1\n202412345678,2\n")
	if len(o.Problems) != 2 || o.Problems[0].Reason != "与第3行志愿者编号重复" || o.Problems[1].ReasonEn != "Same volunteer no as row 2" {
		t.Errorf("problems %+v", o.Problems)
	}
}

func TestOpeningFilesThatAreNotLedgersAreRefused(t *testing.T) {
	cases := []struct{ name, data, code string }{
		{"empty", "", "bad_file"},
		{"no identifier column", "姓名,积分\n王芳,10\n", "missing_columns"},
		{"no points column", "姓名,手机号\n王芳,13900139000\n", "missing_columns"},
		{"rule catalogue", "名称,分值\n门前三包,5\n", "missing_columns"},
		{"header only", "手机号,余额\n", "no_rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseOpening(strings.NewReader(c.data), "o.csv")
			checkBadFile(t, err, c.code)
		})
	}
	_, err := parseOpening(strings.NewReader("手机号,积分\n13800138000,1\n13800138001,1\n"), "o.csv", Options{MaxRows: 1})
	checkBadFile(t, err, "too_many_rows")
	_, err = parseOpening(strings.NewReader("手机号,积分\n13800138000,1\n"), "o.csv", Options{MaxBytes: 8})
	checkBadFile(t, err, "file_too_large")
}

// FuzzParseOpeningNeverPanics: every outcome is a sheet or a *jifen.Error.
func FuzzParseOpeningNeverPanics(f *testing.F) {
	f.Add(testdata(f, "opening_sample.csv"), "a.csv")
	f.Add([]byte("手机号,积分\n1,-\n"), "a.csv")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		o, err := ParseOpening(bytes.NewReader(data), name)
		if err == nil {
			if o == nil || o.Total != len(o.Rows) {
				t.Fatalf("openings %+v", o)
			}
			for _, it := range o.Items {
				if it.Points < 0 || it.Points > MaxOpeningPoints || it.Ident == "" {
					t.Fatalf("item %+v", it)
				}
			}
			return
		}
		var e *jifen.Error
		if !errors.As(err, &e) {
			t.Fatalf("not a *jifen.Error: %v", err)
		}
	})
}
