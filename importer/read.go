package importer

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// sheetRow is one non-blank row as read from the file.
type sheetRow struct {
	n     int      // 1-based row number as a spreadsheet shows it
	cells []string // raw cell texts
}

// table is one sheet of a workbook, or the whole of a CSV file. Blank rows
// are not stored: a file of empty lines must not cost memory.
type table struct {
	name string
	rows []sheetRow
	// numeric reports whether the cell at sheet row n, column col (0-based)
	// is a number cell; nil for text files, which have no cell types.
	numeric  func(n, col int) bool
	date1904 bool
}

// headerSearch is how many leading rows may hold a title above the header.
const headerSearch = 10

// xlsxUnzipLimit bounds what a workbook may expand to: 20 MB of zip can
// inflate a thousandfold, and a roster never needs more than this.
const xlsxUnzipLimit = 256 << 20

// readTables splits the file into tables. The returned func releases the
// workbook; it must be called after the last use of table.numeric.
func readTables(data []byte, filename string, opts Options) ([]*table, func(), error) {
	ext := strings.ToLower(filepath.Ext(filename))
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return nil, nil, badFile("文件是空的", "The file is empty", nil)
	case hasPrefix(data, "PK"):
		return readXLSX(data, opts)
	case hasPrefix(data, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
		// Compound file: an .xls from Excel 97-2003, a WPS .et, or an
		// XLSX with a password. None of them can be read here.
		return nil, nil, badFile("这是旧版 Excel（.xls）或加了密码的文件，请在 Excel 或 WPS 中另存为 .xlsx 或 CSV 后再导入",
			"This is an old Excel (.xls) or password-protected file; save it as .xlsx or CSV and try again", nil)
	case ext == ".xlsx" || ext == ".xlsm" || ext == ".xls" || ext == ".et":
		// Government systems often export HTML under an .xls name.
		return nil, nil, badFile("文件扩展名是 "+ext+"，但内容不是 Excel 工作簿；请用 Excel 打开后另存为 .xlsx 或 CSV",
			"The file is named "+ext+" but is not an Excel workbook; open it in Excel and save it as .xlsx or CSV", nil)
	}
	text, err := decodeText(data)
	if err != nil {
		return nil, nil, err
	}
	t, err := readCSV(text, opts)
	if err != nil {
		return nil, nil, err
	}
	return []*table{t}, func() {}, nil
}

// decodeText turns the bytes of a text file into UTF-8. Excel in China saves
// "CSV" as GBK and "Unicode text" as UTF-16; everything else is UTF-8. Valid
// UTF-8 is taken as UTF-8: GBK text of any length is almost never valid UTF-8.
func decodeText(data []byte) (string, error) {
	var s string
	switch {
	case hasPrefix(data, "\xff\xfe") || hasPrefix(data, "\xfe\xff"):
		b, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return "", badFile("无法识别文件的文字编码", "The file's text encoding is not recognised", err)
		}
		s = string(b)
	case utf8.Valid(data):
		s = string(data)
	default:
		b, err := simplifiedchinese.GBK.NewDecoder().Bytes(data)
		if err != nil {
			return "", badFile("无法识别文件的文字编码，请另存为 UTF-8 或 GBK 编码的 CSV",
				"The file's text encoding is not recognised; save it as CSV in UTF-8 or GBK", err)
		}
		s = string(b)
	}
	s = strings.TrimPrefix(s, "\ufeff")
	if strings.ContainsRune(s, 0) {
		// NUL never appears in text: this is a binary file (a PDF, an
		// image, a damaged workbook) under a text name.
		return "", badFile("文件不是 Excel 表格或 CSV 文件", "The file is not an Excel workbook or a CSV file", nil)
	}
	return s, nil
}

// separator picks comma or tab from the first non-blank line: Excel writes
// commas to .csv and tabs to "Unicode text" .txt.
func separator(text string) rune {
	for line := range strings.Lines(text) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.Count(line, "\t") > strings.Count(line, ",") {
			return '\t'
		}
		break
	}
	return ','
}

func readCSV(text string, opts Options) (*table, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = separator(text)
	r.FieldsPerRecord = -1 // rows may be ragged: trailing empty cells are often dropped
	r.LazyQuotes = true    // hand-edited files have stray quotes; keep them as text
	t := &table{}
	extra := 0 // lines taken up by line breaks inside quoted cells so far
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badFile("CSV 文件格式有误，无法读取", "The CSV file is malformed and cannot be read", err)
		}
		line, _ := r.FieldPos(0)
		// A spreadsheet shows a blank line as a row and a quoted cell
		// with line breaks as one row, so count lines minus the breaks.
		n := line - extra
		last := len(rec) - 1
		lastLine, _ := r.FieldPos(last)
		extra += lastLine + strings.Count(rec[last], "\n") - line
		if blank(rec) {
			continue
		}
		t.rows = append(t.rows, sheetRow{n: n, cells: rec})
		if len(t.rows) > opts.MaxRows+headerSearch {
			return nil, tooManyRows(opts.MaxRows)
		}
	}
	return t, nil
}

func readXLSX(data []byte, opts Options) ([]*table, func(), error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{RawCellValue: true, UnzipSizeLimit: xlsxUnzipLimit})
	if err != nil {
		// excelize has no sentinel for this one, only the message.
		if strings.Contains(err.Error(), "size exceeds") {
			return nil, nil, tooLarge("file_too_large", "Excel 文件解压后太大，请分成几个文件导入",
				"The workbook is too large once unpacked; split it into several files")
		}
		return nil, nil, badFile("Excel 文件已损坏或不是 .xlsx 格式，请在 Excel 中另存为 .xlsx 后再导入",
			"The Excel file is damaged or not in .xlsx format; save it again as .xlsx and retry", err)
	}
	release := func() { _ = f.Close() }
	done := false
	defer func() {
		if !done { // an error or a panic: nobody else will close it
			release()
		}
	}()
	date1904 := false
	if p, err := f.GetWorkbookProps(); err == nil && p.Date1904 != nil {
		date1904 = *p.Date1904
	}
	var tables []*table
	for _, name := range f.GetSheetList() {
		if visible, err := f.GetSheetVisible(name); err == nil && !visible {
			continue // hidden sheets hold lookup lists, not people
		}
		t, err := readSheet(f, name, opts)
		if err != nil {
			return nil, nil, err
		}
		t.date1904 = date1904
		tables = append(tables, t)
	}
	if len(tables) == 0 {
		return nil, nil, badFile("Excel 文件中没有可读的工作表", "The workbook has no visible sheet", nil)
	}
	done = true
	return tables, release, nil
}

func readSheet(f *excelize.File, name string, opts Options) (*table, error) {
	rows, err := f.Rows(name)
	if err != nil {
		return nil, badFile("Excel 工作表“"+name+"”已损坏，无法读取", "Sheet “"+name+"” is damaged and cannot be read", err)
	}
	defer rows.Close()
	t := &table{name: name}
	for n := 1; rows.Next(); n++ {
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, badFile("Excel 工作表“"+name+"”已损坏，无法读取", "Sheet “"+name+"” is damaged and cannot be read", err)
		}
		if blank(cells) {
			continue
		}
		t.rows = append(t.rows, sheetRow{n: n, cells: cells})
		if len(t.rows) > opts.MaxRows+headerSearch {
			return nil, tooManyRows(opts.MaxRows)
		}
	}
	if err := rows.Error(); err != nil {
		if errors.Is(err, excelize.ErrMaxRows) {
			return nil, tooManyRows(opts.MaxRows)
		}
		return nil, badFile("Excel 工作表“"+name+"”已损坏，无法读取", "Sheet “"+name+"” is damaged and cannot be read", err)
	}
	if err := fillMerged(f, t); err != nil {
		return nil, err
	}
	t.numeric = func(n, col int) bool {
		cell, err := excelize.CoordinatesToCellName(col+1, n)
		if err != nil {
			return false
		}
		typ, err := f.GetCellType(name, cell)
		// A cell without a type attribute is a number in OOXML.
		return err == nil && (typ == excelize.CellTypeNumber || typ == excelize.CellTypeUnset)
	}
	return t, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if clean(c) != "" {
			return false
		}
	}
	return true
}

// mergeBudget bounds the cells fillMerged writes, so that a crafted file
// with huge overlapping merges cannot keep the server busy.
const mergeBudget = 5_000_000

// fillMerged copies the value of each merged range into all its cells.
// Rosters often merge 所属组织 down all members of a team; excelize gives
// the value to the top-left cell only, and the other rows would silently
// land in the default org.
func fillMerged(f *excelize.File, t *table) error {
	merges, err := f.GetMergeCells(t.name, true)
	if err != nil {
		return badFile("Excel 工作表“"+t.name+"”的合并单元格已损坏", "The merged cells of sheet “"+t.name+"” are damaged", err)
	}
	budget := mergeBudget
	for _, m := range merges {
		if len(m) == 0 {
			continue
		}
		from, to, ok := strings.Cut(m[0], ":")
		if !ok {
			continue
		}
		c1, r1, err1 := excelize.CellNameToCoordinates(from)
		c2, r2, err2 := excelize.CellNameToCoordinates(to)
		if err1 != nil || err2 != nil || c2 < c1 || r2 < r1 {
			continue
		}
		i, found := slices.BinarySearchFunc(t.rows, r1, func(sr sheetRow, n int) int { return cmp.Compare(sr.n, n) })
		if !found || c1 > len(t.rows[i].cells) || t.rows[i].cells[c1-1] == "" {
			continue
		}
		v := t.rows[i].cells[c1-1]
		for ; i < len(t.rows) && t.rows[i].n <= r2; i++ {
			sr := &t.rows[i]
			if budget -= c2 - c1 + 1; budget < 0 {
				return badFile("Excel 工作表“"+t.name+"”的合并单元格过多，请取消合并后再导入",
					"Sheet “"+t.name+"” has too many merged cells; unmerge them and try again", nil)
			}
			for len(sr.cells) < c2 {
				sr.cells = append(sr.cells, "")
			}
			for c := c1; c <= c2; c++ {
				if sr.cells[c-1] == "" {
					sr.cells[c-1] = v
				}
			}
		}
	}
	return nil
}
