package web

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"jifen"
	"jifen/export"
)

// Spreadsheets of the points pages: the bulk-award sheet read from an
// upload, and the 台账 written for download (a person's or a household's
// ledger, an org's awards). The export package's record writer is for
// service records; these sheets follow its look: a title row, a line with
// the time it was made, a header, the rows, a totals row.

// bulkHeaders maps the bulk sheet's header words to its fields.
var bulkHeaders = map[string]string{
	"志愿者编号": "volunteer_no", "志愿编号": "volunteer_no", "志愿者号": "volunteer_no", "volunteer_no": "volunteer_no",
	"手机号": "phone", "手机": "phone", "手机号码": "phone", "联系电话": "phone", "phone": "phone",
	"规则编码": "rule", "编码": "rule", "规则代码": "rule", "规则编号": "rule", "rule_code": "rule",
	"数量": "quantity", "次数": "quantity", "quantity": "quantity",
	"备注": "note", "说明": "note", "note": "note",
}

// parseBulkSheet reads the first sheet of a bulk-award workbook: a header
// row (within the first ten) naming 志愿者编号 or 手机号 and 规则编码, with
// 数量 (default 1) and 备注 optional. Rows it cannot read come back with
// Bad set, for the page to list; a file it cannot read at all is an error.
func parseBulkSheet(data []byte, filename string) ([]bulkLine, error) {
	if !bytes.HasPrefix(data, []byte("PK")) {
		return nil, jifen.Invalid("file", "请上传Excel工作簿（.xlsx）；旧版 .xls 请另存为 .xlsx", "Upload an Excel workbook (.xlsx); save an old .xls as .xlsx first")
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{RawCellValue: true, UnzipSizeLimit: 64 << 20, UnzipXMLSizeLimit: 32 << 20})
	if err != nil {
		return nil, jifen.Invalid("file", "无法读取这个Excel文件："+filename, "This Excel file cannot be read: "+filename)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, jifen.Invalid("file", "Excel文件中没有工作表", "The workbook has no sheet")
	}
	rows, err := f.GetRows(sheets[0], excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, jifen.Invalid("file", "无法读取这个Excel文件："+filename, "This Excel file cannot be read: "+filename)
	}
	header, cols := -1, map[string]int{}
	for i := 0; i < len(rows) && i < 10 && header < 0; i++ {
		found := map[string]int{}
		for j, c := range rows[i] {
			if k, ok := bulkHeaders[strings.ToLower(strings.Join(strings.Fields(c), ""))]; ok {
				if _, dup := found[k]; !dup {
					found[k] = j
				}
			}
		}
		_, vno := found["volunteer_no"]
		_, phone := found["phone"]
		if _, rule := found["rule"]; rule && (vno || phone) {
			header, cols = i, found
		}
	}
	if header < 0 {
		return nil, jifen.Invalid("file", "找不到表头：第一行应包含“志愿者编号”或“手机号”，以及“规则编码”、“数量”、“备注”",
			"No header found: the first row must name 志愿者编号 or 手机号, and 规则编码, 数量, 备注")
	}
	cell := func(row []string, key string) string {
		j, ok := cols[key]
		if !ok || j >= len(row) {
			return ""
		}
		return strings.TrimSpace(row[j])
	}
	var out []bulkLine
	for i := header + 1; i < len(rows); i++ {
		row := rows[i]
		if strings.TrimSpace(strings.Join(row, "")) == "" {
			continue
		}
		l := bulkLine{Row: i + 1, Who: strings.TrimSuffix(cell(row, "volunteer_no"), ".0"), RuleCode: cell(row, "rule"), Quantity: 1, Note: cell(row, "note")}
		if l.Who == "" {
			l.Who = strings.TrimSuffix(cell(row, "phone"), ".0")
		}
		switch q := strings.TrimSuffix(cell(row, "quantity"), ".0"); {
		case l.Who == "":
			l.Bad = "bulk.no_who"
		case l.RuleCode == "":
			l.Bad = "bulk.no_rule_code"
		case q != "":
			n, err := strconv.ParseInt(q, 10, 64)
			if err != nil || n < 1 {
				l.Bad, l.Who = "bulk.bad_quantity", q
			}
			l.Quantity = n
		}
		out = append(out, l)
	}
	return out, nil
}

// sheet writes one titled table as a workbook, streamed row by row.
type sheet struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	row    int
	cols   int
	header int // style ids
	text   int
	when   int
	bold   int
}

const ledgerSheet = "积分台账"

func newSheet(title string, headers []string, widths []float64) (*sheet, error) {
	f := excelize.NewFile()
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	if err := f.SetSheetName("Sheet1", ledgerSheet); err != nil {
		return nil, err
	}
	now := time.Now()
	if err := f.SetDocProps(&excelize.DocProperties{Title: title, Creator: "jifen", Created: now.UTC().Format(time.RFC3339)}); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(ledgerSheet)
	if err != nil {
		return nil, err
	}
	s := &sheet{f: f, sw: sw, cols: len(headers)}
	thin := []excelize.Border{{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}}
	datetime := "yyyy-mm-dd hh:mm"
	titleStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}, Alignment: &excelize.Alignment{Horizontal: "center"}})
	if err != nil {
		return nil, err
	}
	if s.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: thin,
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7ECF3"}}, Alignment: &excelize.Alignment{Horizontal: "center", WrapText: true}}); err != nil {
		return nil, err
	}
	if s.text, err = f.NewStyle(&excelize.Style{NumFmt: 49}); err != nil {
		return nil, err
	}
	if s.when, err = f.NewStyle(&excelize.Style{CustomNumFmt: &datetime}); err != nil {
		return nil, err
	}
	if s.bold, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: thin}); err != nil {
		return nil, err
	}
	for i := len(widths) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, widths[i]); err != nil {
			return nil, err
		}
	}
	last, _ := excelize.ColumnNumberToName(len(headers))
	if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: titleStyle, Value: title}}, excelize.RowOpts{Height: 28}); err != nil {
		return nil, err
	}
	if err := sw.SetRow("A2", []any{"生成时间：" + now.In(jifen.Zone).Format("2006-01-02 15:04")}); err != nil {
		return nil, err
	}
	hdr := make([]any, len(headers))
	for i, h := range headers {
		hdr[i] = excelize.Cell{StyleID: s.header, Value: h}
	}
	if err := sw.SetRow("A3", hdr); err != nil {
		return nil, err
	}
	for _, r := range []string{"1", "2"} {
		if err := sw.MergeCell("A"+r, last+r); err != nil {
			return nil, err
		}
	}
	s.row, ok = 3, true
	return s, nil
}

// add writes a row: strings as text cells (never formulas), times in
// China time, numbers as numbers, nil as an empty cell.
func (s *sheet) add(values ...any) error {
	s.row++
	cells := make([]any, len(values))
	for i, v := range values {
		switch x := v.(type) {
		case string:
			cells[i] = excelize.Cell{StyleID: s.text, Value: x}
		case time.Time:
			if !x.IsZero() {
				cells[i] = excelize.Cell{StyleID: s.when, Value: x.In(jifen.Zone)}
			}
		case *time.Time:
			if x != nil {
				cells[i] = excelize.Cell{StyleID: s.when, Value: x.In(jifen.Zone)}
			}
		case *int64:
			if x != nil {
				cells[i] = *x
			}
		default:
			cells[i] = v
		}
	}
	cell, _ := excelize.CoordinatesToCellName(1, s.row)
	return s.sw.SetRow(cell, cells)
}

// close writes the bold totals row and the workbook.
func (s *sheet) close(w io.Writer, values ...any) error {
	defer s.f.Close()
	s.row++
	cells := make([]any, s.cols)
	for i := range cells {
		cells[i] = excelize.Cell{StyleID: s.bold}
		if i < len(values) && values[i] != nil {
			cells[i] = excelize.Cell{StyleID: s.bold, Value: values[i]}
		}
	}
	cell, _ := excelize.CoordinatesToCellName(1, s.row)
	if err := s.sw.SetRow(cell, cells); err != nil {
		return err
	}
	if err := s.sw.Flush(); err != nil {
		return err
	}
	return s.f.Write(w)
}

// writeLedgerXLSX writes an account's lines, oldest first, as its 台账.
func writeLedgerXLSX(w io.Writer, title string, lines []*jifen.LedgerLine) error {
	lines = slices.Clone(lines)
	slices.SortFunc(lines, func(a, b *jifen.LedgerLine) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.TxID - b.TxID)
	})
	s, err := newSheet(title, []string{"序号", "时间", "类型", "摘要", "积分变动", "累计积分变动", "可用积分余额", "交易编号", "冲正的交易", "未扣足", "积分记录编号"},
		[]float64{7, 17, 10, 36, 11, 13, 13, 11, 11, 9, 13})
	if err != nil {
		return err
	}
	var amount, score int64
	for i, l := range lines {
		amount += l.Amount
		score += l.Score
		if err := s.add(i+1, l.CreatedAt, tr("zh", "tx."+string(l.Kind)), l.Reason, l.Amount, l.Score, l.Balance, l.TxID, l.Reverses, l.Shortfall, l.AwardID); err != nil {
			s.f.Close()
			return err
		}
	}
	return s.close(w, "合计（共 "+strconv.Itoa(len(lines))+" 条）", nil, nil, nil, amount, score)
}

// writeAwardsXLSX writes an org's awards as a list.
func writeAwardsXLSX(w io.Writer, title string, awards []*jifen.Award) error {
	s, err := newSheet(title, []string{"序号", "时间", "组织", "对象", "规则编码", "规则名称", "类别", "规则版本", "数量", "积分", "状态", "来源", "说明", "交易编号", "未扣足", "公示截止", "驳回原因", "记录编号"},
		[]float64{7, 17, 18, 14, 14, 24, 10, 9, 7, 9, 9, 8, 28, 11, 9, 17, 20, 10})
	if err != nil {
		return err
	}
	var sum int64
	for i, a := range awards {
		who := a.PersonName
		if a.HouseholdID != nil {
			who = a.HouseholdName
		}
		if a.Status == jifen.AwardPosted {
			sum += a.Points
		}
		if err := s.add(i+1, a.CreatedAt, a.OrgName, who, a.RuleCode, a.RuleName, a.Category.Zh(), a.RuleVersion, a.Quantity, a.Points,
			a.Status.Zh(), tr("zh", "source."+a.Source), a.Note, a.TxID, a.Shortfall, a.PublicUntil, a.RejectReason, a.ID); err != nil {
			s.f.Close()
			return err
		}
	}
	return s.close(w, "合计（共 "+strconv.Itoa(len(awards))+" 条，已入账积分）", nil, nil, nil, nil, nil, nil, nil, nil, sum)
}

// sendXLSX answers with a finished workbook.
func sendXLSX(w http.ResponseWriter, name string, data []byte) {
	w.Header().Set("Content-Type", export.XLSX.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+export.XLSX.Ext()+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(data)
}
