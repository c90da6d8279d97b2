package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"jifen"
)

// The layout as integrators see it, written out here rather than taken from
// the package so that a change to the columns fails a test.
var (
	wantZh = []string{"序号", "志愿者编号", "姓名", "服务组织", "服务内容", "服务地点", "开始时间", "结束时间",
		"服务时长（分钟）", "服务时长（小时）", "记录方式", "核验时间", "记录编号", "更正记录", "记录方式代码"}
	wantEn = []string{"seq", "volunteer_no", "name", "org", "content", "place", "started_at", "ended_at",
		"minutes", "hours", "how", "verified_at", "record_id", "corrects_id", "how_code"}
)

const (
	n         = 1000
	sampleSeq = 502 // the hand-made record below sits at this row number
)

var meta = Meta{
	Title:       "崇信县志愿服务记录台账",
	From:        time.Date(2024, 1, 1, 0, 0, 0, 0, jifen.Zone),
	To:          time.Date(2025, 1, 1, 0, 0, 0, 0, jifen.Zone),
	GeneratedAt: time.Date(2025, 1, 2, 2, 0, 0, 0, time.UTC),
}

// sample is a record whose every value the tests spell out. Its times are
// in UTC, as a driver may return them; the export shows them in China time.
func sample() *jifen.ServiceRecord {
	return &jifen.ServiceRecord{
		ID: 90001, PersonName: "李秀英", VolunteerNo: "62082300012345", OrgName: "崇信县锦屏镇志愿服务队",
		Content: "清扫街道、劝导文明出行", Place: "锦屏镇东街",
		StartedAt:  time.Date(2024, 3, 5, 1, 30, 0, 0, time.UTC),
		EndedAt:    time.Date(2024, 3, 5, 3, 5, 0, 0, time.UTC),
		Minutes:    95,
		How:        jifen.HowBackfilled,
		VerifiedAt: time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC),
	}
}

// genRecord makes the i-th (from 1) of a varied run of records: every way a
// record comes about, corrections with negative minutes, times in UTC and
// in China time.
func genRecord(i int) *jifen.ServiceRecord {
	if i == sampleSeq {
		return sample()
	}
	hows := []string{jifen.HowSelf, jifen.HowScan, jifen.HowBackfilled, jifen.HowCorrection}
	start := time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC).Add(time.Duration(i) * 487 * time.Minute)
	if i%2 == 0 {
		start = start.In(jifen.Zone)
	}
	r := &jifen.ServiceRecord{
		ID: int64(i), PersonID: int64(i%97 + 1), PersonName: fmt.Sprintf("志愿者%03d", i%97),
		VolunteerNo: fmt.Sprintf("6208%010d", i%97), OrgID: 3, OrgName: "崇信县新时代文明实践中心",
		Content: "敬老院探访", Place: "崇信县敬老院",
		StartedAt: start, Minutes: 30 + i*37%240, How: hows[i%4],
	}
	if r.How == jifen.HowCorrection {
		r.Minutes = -(i%50 + 1)
		prev := int64(i - 1)
		r.Corrects, r.Reason = &prev, "时长录入有误"
	}
	r.EndedAt = start.Add(time.Duration(max(r.Minutes, 0)) * time.Minute)
	r.VerifiedAt = r.EndedAt.Add(2 * time.Hour)
	return r
}

// write exports records 1..count made by gen in format f.
func write(t testing.TB, f Format, count int, gen func(int) *jifen.ServiceRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewRecordWriter(&buf, f, meta)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= count; i++ {
		if err := w.Write(gen(i)); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withOne is genRecord with record i replaced by r.
func withOne(i int, r *jifen.ServiceRecord) func(int) *jifen.ServiceRecord {
	return func(j int) *jifen.ServiceRecord {
		if j == i {
			return r
		}
		return genRecord(j)
	}
}

func openXLSX(t *testing.T, data []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if got := f.GetSheetList(); !slices.Equal(got, []string{"服务记录"}) {
		t.Fatalf("sheets = %q", got)
	}
	return f
}

func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	body, ok := bytes.CutPrefix(data, []byte("\xEF\xBB\xBF"))
	if !ok {
		t.Fatalf("CSV does not start with a UTF-8 BOM: % x", data[:min(len(data), 8)])
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func decodeJSON(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("data after the top-level object: %v", err)
	}
	return doc
}

func pad(row []string, n int) []string {
	for len(row) < n {
		row = append(row, "")
	}
	return row
}

func TestXLSXLedgerReadsBackWithTitleHeaderRowsAndTotals(t *testing.T) {
	f := openXLSX(t, write(t, XLSX, n, genRecord))
	rows, err := f.GetRows("服务记录")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3+n+1 {
		t.Fatalf("rows = %d, want title, period, header, %d records and totals", len(rows), n)
	}
	if rows[0][0] != "崇信县志愿服务记录台账" {
		t.Errorf("title row = %q", rows[0])
	}
	if want := "统计期间：2024-01-01 至 2024-12-31　　生成时间：2025-01-02 10:00"; rows[1][0] != want {
		t.Errorf("period row = %q, want %q", rows[1][0], want)
	}
	if !slices.Equal(rows[2], wantZh[:14]) {
		t.Errorf("header = %q\nwant     %q", rows[2], wantZh[:14])
	}

	want := []string{"502", "62082300012345", "李秀英", "崇信县锦屏镇志愿服务队", "清扫街道、劝导文明出行", "锦屏镇东街",
		"2024-03-05 09:30", "2024-03-05 11:05", "95", "1.6", "补录", "2024-03-06 08:00", "90001", ""}
	if got := pad(rows[2+sampleSeq], 14); !slices.Equal(got, want) {
		t.Errorf("sample row = %q\nwant         %q", got, want)
	}
	// The correction after it: negative minutes and a link to what it corrects.
	if got := pad(rows[3+sampleSeq], 14); got[8] != "-4" || got[9] != "-0.1" || got[10] != "更正" || got[13] != "502" {
		t.Errorf("correction row = %q", got)
	}

	// Times are real datetimes: a serial number behind the format.
	sampleRow := strconv.Itoa(3 + sampleSeq)
	raw, err := f.GetCellValue("服务记录", "G"+sampleRow, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	serial, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		t.Fatalf("开始时间 holds %q, not a number", raw)
	}
	got, err := excelize.ExcelDateToTime(serial, false)
	if err != nil {
		t.Fatal(err)
	}
	if wantWall := time.Date(2024, 3, 5, 9, 30, 0, 0, time.UTC); got.Sub(wantWall).Abs() > time.Second {
		t.Errorf("开始时间 serial %v = %v, want %v", serial, got, wantWall)
	}
	// Numbers are number cells, so that Excel sums and sorts them as numbers.
	for _, col := range []string{"A", "I", "J", "M"} {
		typ, _ := f.GetCellType("服务记录", col+sampleRow)
		if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
			t.Errorf("%s%s has cell type %v, want a number", col, sampleRow, typ)
		}
	}
	// Hours hold the exact minutes/60 behind their one-decimal format.
	raw, _ = f.GetCellValue("服务记录", "J"+sampleRow, excelize.Options{RawCellValue: true})
	if h, err := strconv.ParseFloat(raw, 64); err != nil || math.Abs(h-95.0/60) > 1e-9 {
		t.Errorf("服务时长（小时） holds %q, want 95/60", raw)
	}

	// Every record minute sums to the totals row, which is a number and not a formula.
	total := rows[len(rows)-1]
	if total[0] != "合计（共 1000 条记录）" {
		t.Errorf("totals row = %q", total)
	}
	sum, hours := 0, 0.0
	for i, row := range rows[3 : 3+n] {
		m, err := strconv.Atoi(row[8])
		if err != nil {
			t.Fatalf("record row %d minutes %q", i+1, row[8])
		}
		sum += m
		raw, _ := f.GetCellValue("服务记录", "J"+strconv.Itoa(4+i), excelize.Options{RawCellValue: true})
		h, _ := strconv.ParseFloat(raw, 64)
		hours += h
	}
	if total[8] != strconv.Itoa(sum) {
		t.Errorf("total minutes = %q, column sums to %d", total[8], sum)
	}
	totalRow := strconv.Itoa(len(rows))
	for _, col := range []string{"I", "J"} {
		if formula, _ := f.GetCellFormula("服务记录", col+totalRow); formula != "" {
			t.Errorf("total %s%s is a formula %q", col, totalRow, formula)
		}
	}
	raw, _ = f.GetCellValue("服务记录", "J"+totalRow, excelize.Options{RawCellValue: true})
	if h, err := strconv.ParseFloat(raw, 64); err != nil || math.Abs(h-hours) > 1e-6 || math.Abs(h-float64(sum)/60) > 1e-9 {
		t.Errorf("total hours = %q, hours column sums to %v, minutes/60 = %v", raw, hours, float64(sum)/60)
	}

	// The header is bold and frozen.
	styleID, err := f.GetCellStyle("服务记录", "A3")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := f.GetStyle(styleID); err != nil || st.Font == nil || !st.Font.Bold {
		t.Errorf("header style = %+v, %v; want bold", st, err)
	}
	panes, err := f.GetPanes("服务记录")
	if err != nil {
		t.Fatal(err)
	}
	if !panes.Freeze || panes.YSplit != 3 || panes.TopLeftCell != "A4" {
		t.Errorf("panes = %+v, want frozen below row 3", panes)
	}
	if w, _ := f.GetColWidth("服务记录", "E"); w < 20 {
		t.Errorf("服务内容 width = %v, too narrow", w)
	}
}

func TestCSVHasBOMOneChineseHeaderAndEveryRecord(t *testing.T) {
	rows := readCSV(t, write(t, CSV, n, genRecord))
	if len(rows) != 1+n {
		t.Fatalf("rows = %d, want a header and %d records", len(rows), n)
	}
	if !slices.Equal(rows[0], wantZh) {
		t.Errorf("header = %q\nwant     %q", rows[0], wantZh)
	}
	want := []string{"502", "62082300012345", "李秀英", "崇信县锦屏镇志愿服务队", "清扫街道、劝导文明出行", "锦屏镇东街",
		"2024-03-05T09:30:00+08:00", "2024-03-05T11:05:00+08:00", "95", "1.6", "补录", "2024-03-06T08:00:00+08:00",
		"90001", "", "backfilled"}
	if !slices.Equal(rows[sampleSeq], want) {
		t.Errorf("sample row = %q\nwant         %q", rows[sampleSeq], want)
	}
	sum := 0
	for i, row := range rows[1:] {
		if row[0] != strconv.Itoa(i+1) {
			t.Fatalf("row %d seq = %q", i+1, row[0])
		}
		m, err := strconv.Atoi(row[8])
		if err != nil {
			t.Fatalf("row %d minutes = %q", i+1, row[8])
		}
		sum += m
		for _, c := range []int{6, 7, 11} {
			if _, err := time.Parse(time.RFC3339, row[c]); err != nil || !strings.HasSuffix(row[c], "+08:00") {
				t.Fatalf("row %d %s = %q, want RFC 3339 in +08:00", i+1, wantZh[c], row[c])
			}
		}
		if row[14] == "correction" && (row[10] != "更正" || row[13] == "") {
			t.Fatalf("correction row %d = %q", i+1, row)
		}
	}
	if sum == 0 {
		t.Error("minutes sum to zero: the generator is broken")
	}
}

func TestJSONIsOneObjectWithTypedRecords(t *testing.T) {
	doc := decodeJSON(t, write(t, JSON, n, genRecord))
	for k, want := range map[string]any{
		"format": "jifen.service_records.v1", "title": "崇信县志愿服务记录台账",
		"generated_at": "2025-01-02T10:00:00+08:00", "from": "2024-01-01T00:00:00+08:00",
		"to": "2025-01-01T00:00:00+08:00", "count": json.Number("1000"),
	} {
		if doc[k] != want {
			t.Errorf("%s = %#v, want %#v", k, doc[k], want)
		}
	}
	recs, ok := doc["records"].([]any)
	if !ok || len(recs) != n {
		t.Fatalf("records = %T with %d, want %d", doc["records"], len(recs), n)
	}
	sum := int64(0)
	for i, x := range recs {
		rec := x.(map[string]any)
		keys := make([]string, 0, len(rec))
		for k := range rec {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := slices.Sorted(slices.Values(wantEn)); !slices.Equal(keys, want) {
			t.Fatalf("record %d fields = %q\nwant %q", i+1, keys, want)
		}
		for _, k := range []string{"seq", "record_id", "minutes", "corrects_id"} {
			if k == "corrects_id" && rec[k] == nil {
				continue
			}
			num, ok := rec[k].(json.Number)
			if _, err := num.Int64(); !ok || err != nil {
				t.Fatalf("record %d %s = %#v, want an integer", i+1, k, rec[k])
			}
		}
		m, _ := rec["minutes"].(json.Number).Int64()
		sum += m
		if h, ok := rec["hours"].(json.Number); !ok || !oneDecimal(string(h)) {
			t.Fatalf("record %d hours = %#v, want a number with one decimal", i+1, rec["hours"])
		}
		for _, k := range []string{"started_at", "ended_at", "verified_at"} {
			s, _ := rec[k].(string)
			if _, err := time.Parse(time.RFC3339, s); err != nil || !strings.HasSuffix(s, "+08:00") {
				t.Fatalf("record %d %s = %#v, want RFC 3339 in +08:00", i+1, k, rec[k])
			}
		}
	}
	if doc["total_minutes"] != json.Number(strconv.FormatInt(sum, 10)) {
		t.Errorf("total_minutes = %v, records sum to %d", doc["total_minutes"], sum)
	}
	got, _ := json.Marshal(recs[sampleSeq-1])
	want := `{"content":"清扫街道、劝导文明出行","corrects_id":null,"ended_at":"2024-03-05T11:05:00+08:00",` +
		`"hours":1.6,"how":"补录","how_code":"backfilled","minutes":95,"name":"李秀英","org":"崇信县锦屏镇志愿服务队",` +
		`"place":"锦屏镇东街","record_id":90001,"seq":502,"started_at":"2024-03-05T09:30:00+08:00",` +
		`"verified_at":"2024-03-06T08:00:00+08:00","volunteer_no":"62082300012345"}`
	if string(got) != want {
		t.Errorf("sample record = %s\nwant            %s", got, want)
	}
	corr := recs[sampleSeq].(map[string]any)
	if corr["corrects_id"] != json.Number("502") || corr["how"] != "更正" || corr["minutes"] != json.Number("-4") || corr["hours"] != json.Number("-0.1") {
		t.Errorf("correction record = %v", corr)
	}
}

func oneDecimal(s string) bool {
	whole, frac, ok := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	_, err := strconv.Atoi(whole)
	return ok && err == nil && len(frac) == 1 && frac[0] >= '0' && frac[0] <= '9'
}

func TestAwkwardTextRoundTripsInEveryFormat(t *testing.T) {
	name := "<b>王\"小明\"</b>, 第二行\n第三行\t'尾 & 完"
	r := sample()
	r.PersonName = name
	r.Place = "锦屏镇,东街 \"广场\""
	gen := withOne(1, r)

	rows := readCSV(t, write(t, CSV, 3, gen))
	if len(rows) != 4 || rows[1][2] != name || rows[1][5] != r.Place {
		t.Errorf("CSV name, place = %q, %q; want %q, %q (rows %d)", rows[1][2], rows[1][5], name, r.Place, len(rows))
	}

	doc := decodeJSON(t, write(t, JSON, 3, gen))
	rec := doc["records"].([]any)[0].(map[string]any)
	if rec["name"] != name || rec["place"] != r.Place {
		t.Errorf("JSON name, place = %q, %q", rec["name"], rec["place"])
	}

	f := openXLSX(t, write(t, XLSX, 3, gen))
	for cell, want := range map[string]string{"C4": name, "F4": r.Place} {
		if got, _ := f.GetCellValue("服务记录", cell); got != want {
			t.Errorf("XLSX %s = %q, want %q", cell, got, want)
		}
	}
}

func TestFormulaLikeTextIsNeutralised(t *testing.T) {
	for _, content := range []string{
		`=HYPERLINK("http://example.com/x","点我")`, "=1+1", "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "'=1",
	} {
		t.Run(content, func(t *testing.T) {
			r := sample()
			r.Content = content
			r.PersonName = content
			gen := withOne(1, r)

			// CSV: one leading quote, which a reader drops to get the text back.
			row := readCSV(t, write(t, CSV, 2, gen))[1]
			for _, c := range []int{2, 4} {
				if row[c] != "'"+content {
					t.Errorf("CSV %s = %q, want %q", wantZh[c], row[c], "'"+content)
				}
				if back := strings.TrimPrefix(row[c], "'"); back != content {
					t.Errorf("CSV %s undoes to %q", wantZh[c], back)
				}
			}

			// XLSX: the exact text in a string cell, no formula.
			f := openXLSX(t, write(t, XLSX, 2, gen))
			for _, cell := range []string{"C4", "E4"} {
				got, _ := f.GetCellValue("服务记录", cell)
				formula, _ := f.GetCellFormula("服务记录", cell)
				typ, _ := f.GetCellType("服务记录", cell)
				if got != content || formula != "" || typ != excelize.CellTypeInlineString {
					t.Errorf("XLSX %s = %q (formula %q, type %v), want the string %q", cell, got, formula, typ, content)
				}
			}

			// JSON is for programs: the text as it is.
			rec := decodeJSON(t, write(t, JSON, 2, gen))["records"].([]any)[0].(map[string]any)
			if rec["content"] != content {
				t.Errorf("JSON content = %q", rec["content"])
			}
		})
	}
	t.Run("ordinary text and negative minutes are left alone", func(t *testing.T) {
		r := sample()
		r.Content, r.Minutes, r.How = "改正：多记了半小时", -30, jifen.HowCorrection
		row := readCSV(t, write(t, CSV, 1, withOne(1, r)))[1]
		if row[4] != r.Content || row[8] != "-30" || row[9] != "-0.5" {
			t.Errorf("CSV row = %q", row)
		}
	})
}

func TestEmptyExportIsStillAWholeFile(t *testing.T) {
	none := func(int) *jifen.ServiceRecord { return nil }
	rows := readCSV(t, write(t, CSV, 0, none))
	if len(rows) != 1 {
		t.Errorf("CSV rows = %d, want the header only", len(rows))
	}
	doc := decodeJSON(t, write(t, JSON, 0, none))
	if recs, ok := doc["records"].([]any); !ok || len(recs) != 0 || doc["count"] != json.Number("0") {
		t.Errorf("JSON = %v, want an empty records array", doc)
	}
	f := openXLSX(t, write(t, XLSX, 0, none))
	xrows, _ := f.GetRows("服务记录")
	if len(xrows) != 4 || xrows[3][0] != "合计（共 0 条记录）" || xrows[3][8] != "0" {
		t.Errorf("XLSX rows = %q, want title, period, header and a zero total", xrows)
	}
}

// countingWriter counts what reaches it and can be made to fail.
type countingWriter struct {
	n   int
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.n += len(p)
	return len(p), nil
}

func TestCSVAndJSONStreamBeforeClose(t *testing.T) {
	for _, f := range []Format{CSV, JSON} {
		out := &countingWriter{}
		w, err := NewRecordWriter(out, f, meta)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 5000; i++ {
			if err := w.Write(genRecord(i)); err != nil {
				t.Fatal(err)
			}
		}
		before := out.n
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if before < out.n/2 {
			t.Errorf("%s: %d of %d bytes had been written before Close; records are being held", f, before, out.n)
		}
	}
}

func TestWriterReportsAFailedDestinationAndMisuse(t *testing.T) {
	boom := errors.New("disk full")
	for _, f := range []Format{XLSX, CSV, JSON} {
		t.Run(string(f), func(t *testing.T) {
			w, err := NewRecordWriter(&countingWriter{err: boom}, f, meta)
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for i := 1; i <= 2000 && werr == nil; i++ {
				werr = w.Write(genRecord(i))
			}
			cerr := w.Close()
			if !errors.Is(cerr, boom) || (werr != nil && !errors.Is(werr, boom)) {
				t.Errorf("Write = %v, Close = %v; want %v", werr, cerr, boom)
			}
			if err := w.Write(sample()); !errors.Is(err, errClosed) {
				t.Errorf("Write after Close = %v", err)
			}

			w, _ = NewRecordWriter(io.Discard, f, meta)
			if err := w.Write(nil); err == nil {
				t.Error("Write(nil) succeeded")
			}
			if err := w.Close(); err != nil {
				t.Errorf("Close after a refused nil = %v", err)
			}
		})
	}
}

func TestXLSXRefusesMoreRecordsThanASheetHolds(t *testing.T) {
	w, err := NewRecordWriter(io.Discard, XLSX, meta)
	if err != nil {
		t.Fatal(err)
	}
	x := w.(*xlsxWriter)
	x.seq = MaxXLSXRecords - 1 // as if the sheet were nearly full
	if err := w.Write(sample()); err != nil {
		t.Fatalf("the last record that fits: %v", err)
	}
	if err := w.Write(sample()); jifen.ErrorKind(err) != jifen.KindTooLarge {
		t.Errorf("one record more: %v, want too_large", err)
	}
	if got := headerRow + MaxXLSXRecords + 1; got != 1048576 {
		t.Errorf("the totals row would be row %d, want Excel's last, 1048576", got)
	}
	_ = w.Close()
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in          string
		want        Format
		contentType string
		ext         string
	}{
		{"xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"},
		{"XLSX", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"},
		{" Csv ", CSV, "text/csv; charset=utf-8", ".csv"},
		{"JSON", JSON, "application/json", ".json"},
	} {
		got, err := ParseFormat(tc.in)
		if err != nil || got != tc.want || got.ContentType() != tc.contentType || got.Ext() != tc.ext {
			t.Errorf("ParseFormat(%q) = %q (%q, %q), %v", tc.in, got, got.ContentType(), got.Ext(), err)
		}
	}
	for _, in := range []string{"", "xls", "pdf", ".csv", "csv2"} {
		if _, err := ParseFormat(in); jifen.ErrorKind(err) != jifen.KindInvalid {
			t.Errorf("ParseFormat(%q) error = %v, want invalid", in, err)
		}
	}
	if _, err := NewRecordWriter(io.Discard, Format("pdf"), meta); jifen.ErrorKind(err) != jifen.KindInvalid {
		t.Errorf("NewRecordWriter(pdf) error = %v, want invalid", err)
	}
}

func TestHoursHaveOneDecimalRoundedHalfAwayFromZero(t *testing.T) {
	for minutes, want := range map[int]string{
		0: "0.0", 2: "0.0", 3: "0.1", 60: "1.0", 90: "1.5", 95: "1.6", 100: "1.7", 6000: "100.0",
		-2: "0.0", -3: "-0.1", -30: "-0.5", -95: "-1.6",
	} {
		if got := hoursText(minutes); got != want {
			t.Errorf("hoursText(%d) = %q, want %q", minutes, got, want)
		}
	}
}

func TestPeriodShowsTheLastDayIncluded(t *testing.T) {
	d := func(y, m, day, h int) time.Time { return time.Date(y, time.Month(m), day, h, 0, 0, 0, jifen.Zone) }
	for _, tc := range []struct {
		from, to time.Time
		want     string
	}{
		{d(2024, 1, 1, 0), d(2025, 1, 1, 0), "2024-01-01 至 2024-12-31"},
		{d(2024, 3, 1, 0), d(2024, 3, 1, 18), "2024-03-01 至 2024-03-01 18:00"},
		{time.Time{}, d(2024, 7, 1, 0), "截至 2024-06-30"},
		{d(2024, 7, 1, 0), time.Time{}, "2024-07-01 起"},
		{time.Time{}, time.Time{}, "全部记录"},
		{d(2024, 1, 1, 0).UTC(), d(2024, 2, 1, 0).UTC(), "2024-01-01 至 2024-01-31"},
	} {
		if got := periodText(tc.from, tc.to); got != tc.want {
			t.Errorf("periodText(%v, %v) = %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}

// benchRecords is a pool the benchmarks cycle through, so that they measure
// the writer and not the making of records.
var benchRecords = func() []*jifen.ServiceRecord {
	rs := make([]*jifen.ServiceRecord, 1000)
	for i := range rs {
		rs[i] = genRecord(i + 1)
	}
	return rs
}()

func bench(b *testing.B, f Format, count int) {
	b.ReportAllocs()
	var size int
	for b.Loop() {
		out := &countingWriter{}
		w, err := NewRecordWriter(out, f, meta)
		if err != nil {
			b.Fatal(err)
		}
		for i := range count {
			if err := w.Write(benchRecords[i%len(benchRecords)]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		size = out.n
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB/file")
}

func BenchmarkXLSX100k(b *testing.B) { bench(b, XLSX, 100_000) }
func BenchmarkCSV100k(b *testing.B)  { bench(b, CSV, 100_000) }
func BenchmarkJSON100k(b *testing.B) { bench(b, JSON, 100_000) }
