package export

import (
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"jifen"
)

// sheetName is the one worksheet of the ledger.
const sheetName = "服务记录"

// The sheet's fixed rows; records start on the row after the header.
const (
	titleRow  = 1
	periodRow = 2
	headerRow = 3
)

// MaxXLSXRecords is how many records fit on one sheet: Excel's 1,048,576
// rows less the title, period, header and totals rows. Check a count
// against it before streaming, while an error can still be shown; beyond
// it, offer CSV.
const MaxXLSXRecords = excelize.TotalRows - headerRow - 1

// errTooManyRows is what Write says past MaxXLSXRecords.
var errTooManyRows = jifen.Errorf(jifen.KindTooLarge, "too_many_rows", "",
	"记录超过 Excel 单表上限（1048572 条），请缩小时间范围或导出 CSV",
	"More records than one Excel sheet holds (1,048,572); narrow the period or export CSV")

type xlsxWriter struct {
	base
	out    io.Writer
	file   *excelize.File
	sw     *excelize.StreamWriter
	styles xlsxStyles
	cells  []excelize.Cell // reused for every row, so a row allocates little
	values []any
}

type xlsxStyles struct {
	title, period, header, text, datetime, hours, total, totalHours int
}

func newXLSXWriter(w io.Writer, meta Meta) (_ *xlsxWriter, err error) {
	f := excelize.NewFile()
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	if err := f.SetSheetName("Sheet1", sheetName); err != nil {
		return nil, err
	}
	title := meta.Title
	generated := meta.GeneratedAt.UTC().Format(time.RFC3339)
	if err := f.SetDocProps(&excelize.DocProperties{Title: title, Creator: "jifen",
		Created: generated, Modified: generated}); err != nil {
		return nil, err
	}
	st, err := newXLSXStyles(f)
	if err != nil {
		return nil, err
	}
	// Page set-up lives in the worksheet the stream writer copies, so it
	// must come first: landscape A4, one page wide, header on every page.
	landscape, a4, wide, tall := "landscape", 9, 1, 0
	if err := f.SetPageLayout(sheetName, &excelize.PageLayoutOptions{Orientation: &landscape, Size: &a4, FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return nil, err
	}
	fit := true
	if err := f.SetSheetProps(sheetName, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return nil, err
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", Scope: sheetName,
		RefersTo: "'" + sheetName + "'!$" + strconv.Itoa(headerRow) + ":$" + strconv.Itoa(headerRow)}); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheetName)
	if err != nil {
		return nil, err
	}
	// excelize puts each new width before the ones already set, and Excel
	// wants <col> elements in ascending order: set them last column first.
	for i := xlsxColumns - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, columns[i].width); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: headerRow,
		TopLeftCell: cellName(1, headerRow+1), ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	last, err := excelize.ColumnNumberToName(xlsxColumns)
	if err != nil {
		return nil, err
	}
	if err := sw.SetRow(cellName(1, titleRow), []any{excelize.Cell{StyleID: st.title, Value: title}},
		excelize.RowOpts{Height: 28}); err != nil {
		return nil, err
	}
	period := "统计期间：" + periodText(meta.From, meta.To) +
		"　　生成时间：" + meta.GeneratedAt.In(jifen.Zone).Format("2006-01-02 15:04")
	if err := sw.SetRow(cellName(1, periodRow), []any{excelize.Cell{StyleID: st.period, Value: period}}); err != nil {
		return nil, err
	}
	header := make([]any, xlsxColumns)
	for i, c := range columns[:xlsxColumns] {
		header[i] = excelize.Cell{StyleID: st.header, Value: c.zh}
	}
	if err := sw.SetRow(cellName(1, headerRow), header, excelize.RowOpts{Height: 30}); err != nil {
		return nil, err
	}
	for _, r := range []int{titleRow, periodRow} {
		if err := sw.MergeCell(cellName(1, r), last+strconv.Itoa(r)); err != nil {
			return nil, err
		}
	}
	x := &xlsxWriter{out: w, file: f, sw: sw, styles: st,
		cells: make([]excelize.Cell, xlsxColumns), values: make([]any, xlsxColumns)}
	return x, nil
}

func newXLSXStyles(f *excelize.File) (st xlsxStyles, err error) {
	datetime, oneDecimal := "yyyy-mm-dd hh:mm", "0.0"
	thin := []excelize.Border{{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}}
	defs := []struct {
		id    *int
		style excelize.Style
	}{
		{&st.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 16},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}}},
		{&st.period, excelize.Style{Font: &excelize.Font{Color: "555555"}}},
		{&st.header, excelize.Style{Font: &excelize.Font{Bold: true}, Border: thin,
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7ECF3"}},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}},
		// Text cells are formatted as Text (@) so that a cell someone edits
		// later stays text, even if it starts with "=" (see xlsxWriter.Write).
		{&st.text, excelize.Style{NumFmt: 49}},
		{&st.datetime, excelize.Style{CustomNumFmt: &datetime}},
		{&st.hours, excelize.Style{CustomNumFmt: &oneDecimal}},
		{&st.total, excelize.Style{Font: &excelize.Font{Bold: true}, Border: thin}},
		{&st.totalHours, excelize.Style{Font: &excelize.Font{Bold: true}, Border: thin, CustomNumFmt: &oneDecimal}},
	}
	for _, d := range defs {
		if *d.id, err = f.NewStyle(&d.style); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Write adds one record as a row. Free text (names, content, places) is
// written as a string cell and never as a formula, so a value such as
// "=HYPERLINK(…)" is shown exactly as typed and Excel does not run it. We do
// not prefix a quote as the CSV does: in a typed cell it would only change
// what the ledger shows and what a program reading the cell gets.
func (x *xlsxWriter) Write(r *jifen.ServiceRecord) error {
	if x.seq >= MaxXLSXRecords && !x.closed && x.err == nil {
		return x.fail(errTooManyRows)
	}
	if err := x.next(r); err != nil {
		return err
	}
	c, st := x.cells, &x.styles
	text := func(i int, s string) { c[i] = excelize.Cell{StyleID: st.text, Value: s} }
	when := func(i int, t time.Time) {
		c[i] = excelize.Cell{}
		if !t.IsZero() {
			// excelize writes the wall clock of t's location: show China time.
			c[i] = excelize.Cell{StyleID: st.datetime, Value: t.In(jifen.Zone)}
		}
	}
	c[colSeq] = excelize.Cell{Value: x.seq}
	text(colVolunteerNo, r.VolunteerNo)
	text(colName, r.PersonName)
	text(colOrg, r.OrgName)
	text(colContent, r.Content)
	text(colPlace, r.Place)
	when(colStartedAt, r.StartedAt)
	when(colEndedAt, r.EndedAt)
	c[colMinutes] = excelize.Cell{Value: r.Minutes}
	// The exact hours behind a one-decimal format: the column then sums to
	// the total row, where rounded values could drift from it by a tenth.
	c[colHours] = excelize.Cell{StyleID: st.hours, Value: float64(r.Minutes) / 60}
	text(colHow, howLabel(r.How))
	when(colVerifiedAt, r.VerifiedAt)
	c[colRecordID] = excelize.Cell{Value: r.ID}
	c[colCorrectsID] = excelize.Cell{}
	if r.Corrects != nil {
		c[colCorrectsID] = excelize.Cell{Value: *r.Corrects}
	}
	for i := range c {
		x.values[i] = &c[i] // a nil Value leaves the cell empty
		if c[i].Value == nil {
			x.values[i] = nil
		}
	}
	return x.fail(x.sw.SetRow(cellName(1, headerRow+x.seq), x.values))
}

// Close writes the totals row and the workbook. The totals are numbers,
// not SUM formulas, so that readers which do not calculate (programs, some
// previewers) see them too.
func (x *xlsxWriter) Close() error {
	if x.closed {
		return errClosed
	}
	x.closed = true
	defer x.file.Close() // removes the stream writer's temporary file
	if x.err != nil {
		return x.err
	}
	row := headerRow + x.seq + 1
	st := x.styles
	totals := make([]any, xlsxColumns)
	for i := range totals {
		totals[i] = excelize.Cell{StyleID: st.total}
	}
	totals[0] = excelize.Cell{StyleID: st.total, Value: "合计（共 " + strconv.Itoa(x.seq) + " 条记录）"}
	totals[colMinutes] = excelize.Cell{StyleID: st.total, Value: x.minutes}
	totals[colHours] = excelize.Cell{StyleID: st.totalHours, Value: float64(x.minutes) / 60}
	if err := x.sw.SetRow(cellName(1, row), totals); err != nil {
		return x.fail(err)
	}
	if err := x.sw.MergeCell(cellName(1, row), cellName(colMinutes, row)); err != nil {
		return x.fail(err)
	}
	if err := x.sw.Flush(); err != nil {
		return x.fail(err)
	}
	return x.fail(x.file.Write(x.out))
}

// cellName is excelize.CoordinatesToCellName for coordinates we know are valid.
func cellName(col, row int) string {
	s, _ := excelize.CoordinatesToCellName(col, row)
	return s
}
