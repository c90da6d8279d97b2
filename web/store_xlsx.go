package web

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"jifen"
	"jifen/certpdf"
)

// A store's settlement as a workbook and as a PDF. Both list the same
// lines: each sale completed in the period (+points) and each refund made
// in it (−points), which add up to the statement's net points; buyers'
// names are masked, since the files leave the system (the page, for the
// store's managers, shows them whole).

// statementLine is one line of a statement's detail.
type statementLine = certpdf.StatementLine

// statementLines works out a statement's detail from its redemptions, as
// the service counts them: a sale completed in the period is a line; a
// refund is a line of its own, dated by its ledger transaction, in its
// sale's statement when the store paid it back (the sale's period was
// still open) and in the statement of the period it was made in when the
// org did (the sale's period was settled).
func (s *Server) statementLines(r *http.Request, st *jifen.Settlement) ([]statementLine, error) {
	from, to, err := jifen.ParsePeriod(st.Period)
	if err != nil {
		return nil, err
	}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	var out []statementLine
	for _, o := range st.Lines {
		line := statementLine{RedemptionID: o.ID, Buyer: o.PersonName, Items: linesText(o.Lines)}
		if o.DoneAt != nil && in(*o.DoneAt) {
			l := line
			l.At, l.Points = *o.DoneAt, o.Points
			out = append(out, l)
		}
		if o.Status == jifen.RedemptionRefunded && o.RefundTxID != nil {
			tx, err := s.svc.Ledger.Transaction(r.Context(), *o.RefundTxID)
			if err != nil {
				return nil, err
			}
			if o.RefundFromOrg && in(tx.CreatedAt) || !o.RefundFromOrg && o.DoneAt != nil && in(*o.DoneAt) {
				l := line
				l.At, l.Points, l.Refund = tx.CreatedAt, -o.Points, true
				out = append(out, l)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b statementLine) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return int(a.RedemptionID - b.RedemptionID)
	})
	return out, nil
}

// maskedLines is the detail with the buyers' names masked, for files.
func maskedLines(lines []statementLine) []statementLine {
	out := slices.Clone(lines)
	for i := range out {
		out[i].Buyer = jifen.MaskName(out[i].Buyer)
	}
	return out
}

func renderStatementPDF(w io.Writer, st *jifen.Settlement, lines []statementLine, now time.Time) error {
	return certpdf.RenderStatement(w, st, certpdf.StatementOptions{Lines: maskedLines(lines), GeneratedAt: now})
}

// Sheet names of the settlement workbook.
const (
	settlementSheet = "结算单"
	byOrgSheet      = "按组织"
)

// writeSettlementXLSX writes the statement: a head with the store, the
// period, the figures and the ledger's block hash; the lines with a totals
// row; and on a second sheet the split by the buyers' orgs.
func writeSettlementXLSX(w io.Writer, st *jifen.Settlement, lines []statementLine, now time.Time) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", settlementSheet); err != nil {
		return err
	}
	if _, err := f.NewSheet(byOrgSheet); err != nil {
		return err
	}
	title := st.StoreName + " 积分兑换结算单（" + st.Period + "）"
	if err := f.SetDocProps(&excelize.DocProperties{Title: title, Creator: "jifen", Created: now.UTC().Format(time.RFC3339)}); err != nil {
		return err
	}
	thin := []excelize.Border{{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}}
	datetime, money := "yyyy-mm-dd hh:mm", "0.00"
	style := func(s *excelize.Style) int {
		id, err := f.NewStyle(s)
		if err != nil {
			panic(err) // the styles are constants: this cannot fail
		}
		return id
	}
	titleStyle := style(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}, Alignment: &excelize.Alignment{Horizontal: "center"}})
	header := style(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: thin, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7ECF3"}},
		Alignment: &excelize.Alignment{Horizontal: "center", WrapText: true}})
	text := style(&excelize.Style{NumFmt: 49, Border: thin})
	when := style(&excelize.Style{CustomNumFmt: &datetime, Border: thin})
	num := style(&excelize.Style{Border: thin})
	yuan := style(&excelize.Style{CustomNumFmt: &money, Border: thin})
	bold := style(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: thin})
	boldYuan := style(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: thin, CustomNumFmt: &money})

	status := "未结算（仅供核对）"
	if st.Settled && st.SettledAt != nil {
		status = "已结算（" + st.SettledAt.In(jifen.Zone).Format("2006-01-02 15:04") + "）"
	}
	hash := st.BlockHash
	if hash == "" {
		hash = "（账本尚未封存区块）"
	}
	head := []string{
		title,
		"商户：" + st.StoreName + "　所属组织：" + st.OrgName + "　结算周期：" + st.Period + "　状态：" + status,
		"兑换 " + strconv.Itoa(st.Sales) + " 笔，退货 " + strconv.Itoa(st.Refunds) + " 笔；净兑换积分 " + strconv.FormatInt(st.Points, 10) +
			" 分；折算标准每分 " + jifen.Yuan(st.FenPerPoint) + " 元；应付金额 " + jifen.Yuan(st.AmountFen) + " 元",
		"账本最新区块哈希：" + hash,
		"生成时间：" + now.In(jifen.Zone).Format("2006-01-02 15:04"),
	}
	cols := []string{"序号", "时间", "单号", "兑换人", "商品", "类型", "积分", "金额（元）"}
	widths := []float64{7, 17, 9, 12, 36, 8, 10, 12}
	sh := settlementSheet
	for i, wd := range widths {
		c, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sh, c, c, wd); err != nil {
			return err
		}
	}
	last, _ := excelize.ColumnNumberToName(len(cols))
	for i, h := range head {
		row := strconv.Itoa(i + 1)
		if err := f.SetCellStr(sh, "A"+row, h); err != nil {
			return err
		}
		if err := f.MergeCell(sh, "A"+row, last+row); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(sh, "A1", "A1", titleStyle); err != nil {
		return err
	}
	if err := f.SetRowHeight(sh, 1, 28); err != nil {
		return err
	}
	row := len(head) + 1
	set := func(sheet string, row int, styles []int, values ...any) error {
		for i, v := range values {
			cell, _ := excelize.CoordinatesToCellName(i+1, row)
			var err error
			switch x := v.(type) {
			case string:
				err = f.SetCellStr(sheet, cell, x)
			case nil:
			default:
				err = f.SetCellValue(sheet, cell, x)
			}
			if err != nil {
				return err
			}
			if err := f.SetCellStyle(sheet, cell, cell, styles[i]); err != nil {
				return err
			}
		}
		return nil
	}
	hdr := make([]int, len(cols))
	vals := make([]any, len(cols))
	for i, c := range cols {
		hdr[i], vals[i] = header, c
	}
	if err := set(sh, row, hdr, vals...); err != nil {
		return err
	}
	lineStyles := []int{num, when, num, text, text, text, num, yuan}
	var sum int64
	for i, l := range lines {
		row++
		kind := "兑换"
		if l.Refund {
			kind = "退货"
		}
		sum += l.Points
		if err := set(sh, row, lineStyles, i+1, l.At.In(jifen.Zone), l.RedemptionID, jifen.MaskName(l.Buyer), l.Items, kind, l.Points,
			float64(l.Points*st.FenPerPoint)/100); err != nil {
			return err
		}
	}
	row++
	totals := []int{bold, bold, bold, bold, bold, bold, bold, boldYuan}
	if err := set(sh, row, totals, "合计（共 "+strconv.Itoa(len(lines))+" 条）", "", "", "", "", "", sum, float64(sum*st.FenPerPoint)/100); err != nil {
		return err
	}
	if err := f.SetPanes(sh, &excelize.Panes{Freeze: true, YSplit: len(head) + 1, TopLeftCell: "A" + strconv.Itoa(len(head)+2), ActivePane: "bottomLeft"}); err != nil {
		return err
	}

	// By the buyers' orgs.
	sh = byOrgSheet
	for i, wd := range []float64{7, 30, 12, 14} {
		c, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sh, c, c, wd); err != nil {
			return err
		}
	}
	if err := set(sh, 1, []int{header, header, header, header}, "序号", "居民所属组织", "净积分", "金额（元）"); err != nil {
		return err
	}
	for i, l := range st.ByOrg {
		if err := set(sh, i+2, []int{num, text, num, yuan}, i+1, l.OrgName, l.Points, float64(l.Points*st.FenPerPoint)/100); err != nil {
			return err
		}
	}
	if err := set(sh, len(st.ByOrg)+2, []int{bold, bold, bold, boldYuan}, "合计", "", st.Points, float64(st.AmountFen)/100); err != nil {
		return err
	}
	return f.Write(w)
}
