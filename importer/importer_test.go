package importer

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"jifen"
)

// testNow is fixed so the fixture's ages and birth dates never drift.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)

// teams are the five teams the fixture names, as a database would number them.
var teams = map[string]int64{
	"市总工会机关志愿服务队": 1,
	"新窑村志愿服务队":    2,
	"史河街道邻里志愿服务队": 3,
	"掘进二队志愿服务队":   4,
	"万佛社区志愿服务队":   5,
}

func testOptions() Options {
	return Options{
		Now:          testNow,
		DefaultOrgID: 9,
		ResolveOrg: func(name string) (int64, error) {
			if id, ok := teams[name]; ok {
				return id, nil
			}
			return 0, jifen.NotFound("org")
		},
	}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseBytes(t *testing.T, data []byte, filename string, opts Options) *Roster {
	t.Helper()
	r, err := Parse(bytes.NewReader(data), filename, opts)
	if err != nil {
		t.Fatalf("Parse(%s): %v", filename, err)
	}
	return r
}

func parseText(t *testing.T, text string) *Roster {
	t.Helper()
	return parseBytes(t, []byte(text), "roster.csv", testOptions())
}

// badRow is what the fixture's bad-rows list promises about one row.
type badRow struct {
	Row, SheetRow int
	Field         string
}

// fixtureBadRows reads roster-sample.bad-rows.txt, so the test follows the
// fixture rather than a copy of it. The markup-name row is left out: a name
// with markup is accepted as text and escaped on output.
func fixtureBadRows(t *testing.T) []badRow {
	t.Helper()
	fields := map[string]string{
		"bad ID check digit":       "id_number",
		"empty name":               "name",
		"phone 10 digits":          "phone",
		"duplicate phone":          "phone",
		"gender unknown":           "gender",
		"unknown political status": "political_status",
	}
	re := regexp.MustCompile(`^data row (\d+) \(sheet row (\d+)\): (.+)$`)
	var out []badRow
	sc := bufio.NewScanner(bytes.NewReader(fixture(t, "roster-sample.bad-rows.txt")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected line in bad-rows list: %q", line)
		}
		if strings.HasPrefix(m[3], "markup name") {
			continue
		}
		field, ok := fields[m[3]]
		if !ok {
			t.Fatalf("bad-rows list has a reason this test does not know: %q", m[3])
		}
		row, _ := strconv.Atoi(m[1])
		sheetRow, _ := strconv.Atoi(m[2])
		out = append(out, badRow{row, sheetRow, field})
	}
	slicesSort(out)
	return out
}

func slicesSort(rows []badRow) {
	slices.SortFunc(rows, func(a, b badRow) int { return cmp.Compare(a.Row, b.Row) })
}

func gotBadRows(r *Roster) []badRow {
	var out []badRow
	for _, e := range r.Errors {
		out = append(out, badRow{e.Row, e.SheetRow, e.Field})
	}
	slicesSort(out)
	return out
}

// checkFixture holds for every encoding and format of the sample roster.
//
// The bad-rows list names data row 40 for "duplicate phone", the first of
// the two rows with 15839710144; the rule is that the later row (data row
// 41, sheet row 42) is the bad one, so the test finds the pair in the
// roster and expects the error on its later row.
func checkFixture(t *testing.T, r *Roster) {
	t.Helper()
	want := fixtureBadRows(t)
	if len(want) != 6 {
		t.Fatalf("fixture list has %d bad rows besides the markup name, want 6", len(want))
	}
	// The fixture marks the first row of the duplicate-phone pair (data row
	// 40); both rows of the pair are reported, each naming the other.
	want = append(want, badRow{41, 42, "phone"})
	sort.Slice(want, func(a, b int) bool { return want[a].SheetRow < want[b].SheetRow })
	if got := gotBadRows(r); !reflect.DeepEqual(got, want) {
		t.Errorf("bad rows:\n got %v\nwant %v\nerrors: %+v", got, want, r.Errors)
	}
	if r.Total != 60 || len(r.Rows) != 60 {
		t.Errorf("Total = %d, len(Rows) = %d, want 60", r.Total, len(r.Rows))
	}
	if n := len(r.Valid()); n != 53 {
		t.Errorf("len(Valid()) = %d, want 53", n)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %q, want none", r.Warnings)
	}
	for _, e := range r.Errors {
		if e.Reason == "" || e.ReasonEn == "" || e.Column == "" {
			t.Errorf("row %d: incomplete error %+v", e.Row, e)
		}
		if e.Field == "phone" && e.Row == 41 && (e.Reason != "与第41行手机号重复" || e.ReasonEn != "Same phone number as row 41") {
			t.Errorf("duplicate phone reason = %q, want it to name sheet row 41", e.Reason)
		}
		if e.Field == "phone" && e.Row == 40 && e.Reason != "与第42行手机号重复" {
			t.Errorf("duplicate phone reason = %q, want it to name sheet row 42", e.Reason)
		}
		if e.Field == "political_status" && e.Column != "政治面貌" {
			t.Errorf("political status column = %q", e.Column)
		}
	}
	markup := r.Rows[3]
	if !markup.OK || markup.Input.Name != "<script>alert(1)</script>" {
		t.Errorf("markup name row: OK=%v name=%q, want it accepted as typed", markup.OK, markup.Input.Name)
	}
	first := r.Rows[0]
	want0 := jifen.PersonInput{Name: "彭刚", Gender: jifen.Male, BirthDate: "1988-08-21", Phone: "19181282193",
		IDNumber: "411102198808219315", PoliticalStatus: jifen.ProbationaryMember, OrgID: 1}
	if !first.OK || first.SheetRow != 2 || first.Row != 1 || first.Org != "市总工会机关志愿服务队" || !reflect.DeepEqual(first.Input, want0) {
		t.Errorf("first row = %+v, want %+v", first, want0)
	}
}

func TestSampleCSVReportsTheBadRowsAndAcceptsMarkupNames(t *testing.T) {
	checkFixture(t, parseBytes(t, fixture(t, "roster-sample.csv"), "roster-sample.csv", testOptions()))
}

func TestSampleXLSXReportsTheSameRowsAsTheCSV(t *testing.T) {
	x := parseBytes(t, fixture(t, "roster-sample.xlsx"), "roster-sample.xlsx", testOptions())
	checkFixture(t, x)
	c := parseBytes(t, fixture(t, "roster-sample.csv"), "roster-sample.csv", testOptions())
	if !reflect.DeepEqual(x.Valid(), c.Valid()) {
		t.Error("XLSX and CSV give different valid people")
	}
}

func TestGBKCSVParsesLikeUTF8(t *testing.T) {
	utf := fixture(t, "roster-sample.csv")
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(utf)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(gbk, utf) {
		t.Fatal("GBK encoding changed nothing")
	}
	g := parseBytes(t, gbk, "花名册.csv", testOptions())
	checkFixture(t, g)
	u := parseBytes(t, utf, "roster-sample.csv", testOptions())
	if !reflect.DeepEqual(g, u) {
		t.Error("GBK and UTF-8 rosters differ")
	}
}

func TestUTF8WithBOMAndTabsParseLikePlainCSV(t *testing.T) {
	utf := fixture(t, "roster-sample.csv")
	u := parseBytes(t, utf, "a.csv", testOptions())
	bom := parseBytes(t, append([]byte("\ufeff"), utf...), "a.csv", testOptions())
	if !reflect.DeepEqual(bom, u) {
		t.Error("a BOM changes the result")
	}
	tabs := parseBytes(t, bytes.ReplaceAll(utf, []byte(","), []byte("\t")), "a.txt", testOptions())
	if !reflect.DeepEqual(tabs, u) {
		t.Error("tab-separated file differs from the comma-separated one")
	}
}

// rawNumber is a number cell written with exactly these characters, the
// way Excel stores "4.1110219880821901E+17".
type rawNumber string

// xlsxFile builds a one-sheet workbook; a float64, a time.Time or a
// rawNumber becomes a number cell, a string a text cell.
func xlsxFile(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			var err error
			if n, ok := v.(rawNumber); ok {
				err = f.SetCellDefault("Sheet1", cell, string(n))
			} else {
				err = f.SetCellValue("Sheet1", cell, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func errorsOf(r *Roster, row int) map[string]RowError {
	m := map[string]RowError{}
	for _, e := range r.Errors {
		if e.Row == row {
			m[e.Field] = e
		}
	}
	return m
}

func TestIDNumberInANumberCellIsReportedAsLostDigits(t *testing.T) {
	data := xlsxFile(t, [][]any{
		{"姓名", "性别", "身份证号"},
		{"彭刚", "男", 4.11102198808219e17},
		{"彭刚", "男", rawNumber("4.1110219880821901E+17")},
		// Not the 000 tail of SpreadsheetMangledID: only the cell type
		// tells this one apart from a mistyped check digit.
		{"彭刚", "男", rawNumber("411102198808219001")},
		{"彭刚", "男", "411102198808219001"},
		{"史飞", "男", "411102197412013092"},
	})
	r := parseBytes(t, data, "roster.xlsx", testOptions())
	for row := 1; row <= 3; row++ {
		e, ok := errorsOf(r, row)["id_number"]
		if !ok || e.Reason != mangledZh || !strings.Contains(e.ReasonEn, "spreadsheet number") || e.Column != "身份证号" {
			t.Errorf("row %d: errors %+v, want the saved-as-number message on 身份证号", row, r.Errors)
		}
	}
	if e := errorsOf(r, 4)["id_number"]; e.Reason != "身份证号校验位不正确，请核对" {
		t.Errorf("text cell with a wrong check digit: %+v", e)
	}
	if len(r.Errors) != 4 || !r.Rows[4].OK {
		t.Errorf("the correct text ID row should be fine: %+v", r.Errors)
	}
}

func TestAnOrgCellMergedDownATeamAppliesToEveryRow(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetRow("Sheet1", "A1", &[]any{"姓名", "性别", "所属组织"})
	_ = f.SetSheetRow("Sheet1", "A2", &[]any{"王芳", "女", "新窑村志愿服务队"})
	_ = f.SetSheetRow("Sheet1", "A3", &[]any{"李明", "男"})
	_ = f.SetSheetRow("Sheet1", "A4", &[]any{"赵强", "男"})
	if err := f.MergeCell("Sheet1", "C2", "C4"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	r := parseBytes(t, buf.Bytes(), "roster.xlsx", testOptions())
	if len(r.Errors) != 0 || len(r.Rows) != 3 {
		t.Fatalf("rows %+v errors %+v", r.Rows, r.Errors)
	}
	for _, row := range r.Rows {
		if row.Input.OrgID != 2 || row.Org != "新窑村志愿服务队" {
			t.Errorf("row %d: org %q id %d, want the merged team (2)", row.Row, row.Org, row.Input.OrgID)
		}
	}
}

func TestIDNumberMangledInCSVIsReportedAsLostDigits(t *testing.T) {
	r := parseText(t, "姓名,性别,身份证号\n彭刚,男,4.11102E+17\n史飞,男,411102198808219000\n")
	for row := 1; row <= 2; row++ {
		if e := errorsOf(r, row)["id_number"]; e.Reason != mangledZh {
			t.Errorf("row %d: reason %q, want the saved-as-number message", row, e.Reason)
		}
	}
}

func TestBirthDatesInEveryCommonFormBecomeISO(t *testing.T) {
	for _, in := range []string{"1988-08-21", "1988/8/21", "1988.08.21", "19880821", "1988年8月21日", "1988-08-21 00:00:00"} {
		if got, kind := parseDate(in, false, false); got != "1988-08-21" || kind != dateFull {
			t.Errorf("parseDate(%q) = %q, %v", in, got, kind)
		}
	}
	for _, in := range []string{"1988-02-30", "明年", "88-8-21x"} {
		if _, kind := parseDate(in, false, false); kind != dateBad {
			t.Errorf("parseDate(%q) accepted", in)
		}
	}
	data := xlsxFile(t, [][]any{
		{"姓名", "性别", "出生日期"},
		{"彭刚", "男", time.Date(1988, 8, 21, 0, 0, 0, 0, time.UTC)},
		{"史飞", "男", 19741201.0},
	})
	r := parseBytes(t, data, "roster.xlsx", testOptions())
	if len(r.Errors) != 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if a, b := r.Rows[0].Input.BirthDate, r.Rows[1].Input.BirthDate; a != "1988-08-21" || b != "1974-12-01" {
		t.Errorf("birth dates %q, %q", a, b)
	}
}

func TestShuffledHeadersWithSynonymsWork(t *testing.T) {
	r := parseText(t, "备注,联系电话,*性别,队伍,特长,姓  名,公民身份号码,生日,政治面貌（必填）\n"+
		"老党员,138 0013 8000,男,新窑村志愿服务队,理发、维修,张　三,411102198808219315,1988年8月21日,党员\n")
	if len(r.Errors) != 0 || len(r.Valid()) != 1 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	want := jifen.PersonInput{Name: "张三", Gender: jifen.Male, BirthDate: "1988-08-21", Phone: "13800138000",
		IDNumber: "411102198808219315", PoliticalStatus: jifen.PartyMember, Skills: []string{"理发", "维修"}, OrgID: 2, Row: 2}
	if got := r.Valid()[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "备注") {
		t.Errorf("warnings %q, want one naming 备注", r.Warnings)
	}
}

func TestEnglishHeadersAndATitleRowWork(t *testing.T) {
	r := parseText(t, "2026年志愿者名册,,\n\nname,gender,phone\n王芳,女,13900139000\n")
	if len(r.Errors) != 0 || r.Total != 1 {
		t.Fatalf("errors %+v total %d", r.Errors, r.Total)
	}
	if row := r.Rows[0]; row.SheetRow != 4 || row.Row != 1 || row.Input.OrgID != 9 {
		t.Errorf("row %+v, want sheet row 4, data row 1, default org 9", row)
	}
}

func TestACSVCellWithALineBreakIsStillOneRow(t *testing.T) {
	r := parseText(t, "姓名,性别\n\"王\n芳\",女\n李明,男\n")
	if len(r.Errors) != 1 || r.Errors[0].SheetRow != 2 || r.Errors[0].Reason != "姓名不能包含换行" {
		t.Errorf("errors %+v", r.Errors)
	}
	if row := r.Rows[1]; row.SheetRow != 3 || row.Row != 2 || !row.OK {
		t.Errorf("row after the line break: %+v", row)
	}
}

func TestARowWithSeveralProblemsListsEachOfThem(t *testing.T) {
	r := parseText(t, "姓名,性别,手机号,身份证号,政治面貌,所属组织,出生日期\n"+
		"李四,未知,123,411102198808219316,外星人,不存在的队,1988-13-01\n")
	got := errorsOf(r, 1)
	for _, f := range []string{"gender", "phone", "id_number", "political_status", "org", "birth_date"} {
		if _, ok := got[f]; !ok {
			t.Errorf("no %s error; errors %+v", f, r.Errors)
		}
	}
	if len(r.Errors) != 6 {
		t.Errorf("%d errors, want one per bad field: %+v", len(r.Errors), r.Errors)
	}
	if e := got["org"]; e.Reason != "组织不存在：不存在的队" || e.Column != "所属组织" || e.ReasonEn != "No such organisation: 不存在的队" {
		t.Errorf("org error %+v", e)
	}
	if r.Rows[0].OK || len(r.Valid()) != 0 {
		t.Error("a bad row counts as valid")
	}
}

func TestGenderAndBirthDateComeFromTheIDNumberWhenLeftEmpty(t *testing.T) {
	r := parseText(t, "姓名,性别,身份证号,出生年月\n孙庆英,,411102197603010468,1976.03\n")
	if len(r.Errors) != 0 {
		t.Fatalf("errors %+v", r.Errors)
	}
	if in := r.Valid()[0]; in.Gender != jifen.Female || in.BirthDate != "1976-03-01" {
		t.Errorf("got %+v", in)
	}
	r = parseText(t, "姓名,性别,身份证号,出生年月\n孙庆英,女,411102197603010468,1977.03\n")
	if e := errorsOf(r, 1)["birth_date"]; e.Reason != "出生年月与身份证号不一致" {
		t.Errorf("errors %+v, want a birth month mismatch", r.Errors)
	}
}

func TestBothRowsWithTheSameIDNumberAreBad(t *testing.T) {
	r := parseText(t, "姓名,性别,身份证号\n彭刚,男,411102198808219315\n\n彭刚,男,411102198808219315\n")
	if len(r.Errors) != 2 || r.Errors[0].SheetRow != 2 || r.Errors[0].Reason != "与第4行身份证号重复" ||
		r.Errors[1].SheetRow != 4 || r.Errors[1].Reason != "与第2行身份证号重复" || len(r.Valid()) != 0 {
		t.Errorf("errors %+v", r.Errors)
	}
}

func TestAnEmptyOrgCellUsesTheDefaultOrg(t *testing.T) {
	r := parseText(t, "姓名,性别,所属组织\n王芳,女,\n李明,男,掘进二队志愿服务队\n")
	if len(r.Errors) != 0 || r.Rows[0].Input.OrgID != 9 || r.Rows[1].Input.OrgID != 4 {
		t.Errorf("rows %+v errors %+v", r.Rows, r.Errors)
	}
}

func TestADatabaseFailureWhileResolvingOrgsAbortsTheParse(t *testing.T) {
	calls := 0
	down := errors.New("connection refused")
	opts := testOptions()
	opts.ResolveOrg = func(string) (int64, error) { calls++; return 0, down }
	_, err := Parse(strings.NewReader("姓名,性别,所属组织\n王芳,女,甲队\n李明,男,甲队\n"), "a.csv", opts)
	if !errors.Is(err, down) || calls != 1 {
		t.Errorf("err = %v after %d calls, want the database error after one", err, calls)
	}
}

func checkBadFile(t *testing.T, err error, code string) {
	t.Helper()
	var e *jifen.Error
	if !errors.As(err, &e) || e.Code != code || e.Zh == "" || e.En == "" {
		t.Fatalf("err = %#v, want a *jifen.Error with code %s and both messages", err, code)
	}
	if code == "bad_file" && e.Kind != jifen.KindInvalid {
		t.Errorf("kind = %s, want invalid", e.Kind)
	}
}

func TestABrokenXLSXGivesAClearErrorNotAPanic(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		junk := make([]byte, 50+i*100)
		for j := range junk {
			junk[j] = byte(rnd.UintN(256))
		}
		for _, head := range []string{"PK", "PK\x03\x04"} {
			_, err := Parse(bytes.NewReader(append([]byte(head), junk...)), "roster.xlsx", testOptions())
			checkBadFile(t, err, "bad_file")
		}
	}
	// A real workbook cut in half.
	whole := fixture(t, "roster-sample.xlsx")
	_, err := Parse(bytes.NewReader(whole[:len(whole)/2]), "roster.xlsx", testOptions())
	checkBadFile(t, err, "bad_file")
}

func TestFilesThatAreNotRostersAreRefusedClearly(t *testing.T) {
	cases := []struct {
		name, file, data, code string
	}{
		{"empty", "a.csv", "", "bad_file"},
		{"old xls", "a.xls", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "bad_file"},
		{"html named xls", "a.xls", "<html><table></table></html>", "bad_file"},
		{"binary", "a.csv", "abc\x00\x01\x02", "bad_file"},
		{"no name column", "a.csv", "性别,手机号\n男,13800138000\n", "missing_name_column"},
		{"header only", "a.csv", "姓名,性别\n", "no_rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.data), c.file, testOptions())
			checkBadFile(t, err, c.code)
		})
	}
}

func TestFilesOverTheLimitsAreRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("姓名,性别\n")
	for i := range 5 {
		fmt.Fprintf(&b, "人%d,男\n", i)
	}
	opts := testOptions()
	opts.MaxRows = 4
	_, err := Parse(strings.NewReader(b.String()), "a.csv", opts)
	checkBadFile(t, err, "too_many_rows")
	opts.MaxRows = 5
	if _, err := Parse(strings.NewReader(b.String()), "a.csv", opts); err != nil {
		t.Errorf("exactly MaxRows rows: %v", err)
	}
	opts.MaxBytes = 10
	_, err = Parse(strings.NewReader(b.String()), "a.csv", opts)
	checkBadFile(t, err, "file_too_large")
}

func TestProgressWritesOnlyAFinalLineWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 1000, "导入")
	for range 1000 {
		p.Add(1)
	}
	p.Done()
	p.Done()
	if got := buf.String(); got != "导入 1000/1000 100%\n" {
		t.Errorf("output %q", got)
	}
}

func TestProgressRedrawsOneLineOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &Progress{w: &buf, total: 1000, label: "导入", tty: true, lastPct: -1}
	p.Add(523)
	if got := buf.String(); got != "\r导入 [###############---------------] 523/1000 52%" {
		t.Errorf("frame %q", got)
	}
	p.Add(477)
	p.Done()
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "1000/1000 100%\n") || strings.Count(out, "\r") != 3 {
		t.Errorf("output %q", out)
	}
}

// FuzzParseNeverPanics feeds arbitrary bytes as CSV and XLSX: every outcome
// must be a roster or a *jifen.Error, and no panic may be needed to get it
// (Parse recovers panics, so a recovered one is reported here).
func FuzzParseNeverPanics(f *testing.F) {
	f.Add([]byte("姓名,性别\n王芳,女\n"), "a.csv")
	f.Add([]byte("姓名\t手机号\n\"王\n芳\"\t13900139000\n"), "a.txt")
	f.Add([]byte("PK\x03\x04garbage"), "a.xlsx")
	f.Add(fixture(f, "roster-sample.xlsx"), "a.xlsx")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		r, err := Parse(bytes.NewReader(data), name, testOptions())
		if err == nil {
			if r == nil || r.Total != len(r.Rows) {
				t.Fatalf("roster %+v", r)
			}
			return
		}
		var e *jifen.Error
		if !errors.As(err, &e) {
			t.Fatalf("not a *jifen.Error: %v", err)
		}
		if e.Err != nil && strings.HasPrefix(e.Err.Error(), "panic:") {
			t.Fatalf("recovered %v", e.Err)
		}
	})
}
