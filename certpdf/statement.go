package certpdf

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"jifen"
)

// StatementLine is one line of a settlement's detail: a sale completed in
// the period (positive points) or a refund made in it (negative).
type StatementLine struct {
	At           time.Time
	RedemptionID int64
	Buyer        string // as the caller wants it printed (masked, say)
	Items        string
	Points       int64
	Refund       bool
}

// StatementOptions controls one rendering of a settlement statement.
type StatementOptions struct {
	// Lines is the detail; nil prints the totals and the split by org only.
	Lines []StatementLine
	// GeneratedAt is printed and set as the document's date, so the same
	// statement renders to the same bytes; zero uses the settlement's time
	// or, failing that, 2000-01-01.
	GeneratedAt time.Time
}

// Columns of the two tables of a statement.
var (
	orgColW  = []float64{14, 96, 30, 30}
	orgHead  = []string{"序号", "居民所属组织", "净积分", "金额（元）"}
	orgAlign = []string{"C", "L", "R", "R"}

	lineColW  = []float64{11, 27, 16, 22, 60, 16, 18}
	lineHead  = []string{"序号", "时间", "单号", "兑换人", "商品", "类型", "积分"}
	lineAlign = []string{"C", "C", "C", "C", "L", "C", "R"}
)

const stmtBottom = 272.0 // the text stops here; the page footer is below

// RenderStatement writes a store's settlement statement (积分兑换结算单) as
// an A4 PDF: the period, the sales and refunds, the net points and the
// amount the store's org owes at its rate, the split by the buyers' orgs,
// the detail lines, the ledger's latest block hash (so the statement can
// be checked against the ledger later) and places to sign.
func RenderStatement(w io.Writer, s *jifen.Settlement, opts StatementOptions) error {
	if s == nil {
		return errors.New("certpdf: no settlement")
	}
	from, to, err := jifen.ParsePeriod(s.Period)
	if err != nil {
		return fmt.Errorf("certpdf: period %q: %w", s.Period, err)
	}
	cov, err := newCoverage()
	if err != nil {
		return fmt.Errorf("certpdf: font: %w", err)
	}
	gen := opts.GeneratedAt
	if gen.IsZero() && s.SettledAt != nil {
		gen = *s.SettledAt
	}
	if gen.IsZero() {
		gen = time.Date(2000, 1, 1, 0, 0, 0, 0, jifen.Zone)
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(gen.UTC())
	pdf.SetModificationDate(gen.UTC())
	pdf.AddUTF8FontFromBytes(font, "", fontTTF)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("certpdf: font: %w", err)
	}
	store := cov.clean(s.StoreName)
	title := "积分兑换结算单 " + store + " " + s.Period
	pdf.SetTitle(title, true)
	pdf.SetAuthor(cov.clean(s.OrgName), true)
	pdf.SetCreator("jifen", false)
	pdf.SetLang("zh-CN")
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(marginX, 18, marginX)
	pdf.SetCellMargin(0)
	pdf.AliasNbPages("{nb}")
	pdf.SetFont(font, "", 11)
	st := &stmt{pdf: pdf, cov: cov, footer: store + "　" + s.Period + " 结算单"}
	st.page()
	st.render(s, from, to, gen, opts.Lines)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("certpdf: %w", err)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("certpdf: %w", err)
	}
	return nil
}

// stmt draws a statement top to bottom, breaking pages as it goes.
type stmt struct {
	pdf    *fpdf.Fpdf
	cov    *coverage
	footer string
	y      float64
	n      int // pages so far
	// head redraws a table's header on a new page; nil outside tables.
	head func()
}

func (st *stmt) page() {
	pdf := st.pdf
	pdf.AddPage()
	st.n++
	pdf.SetDrawColor(150, 150, 150)
	pdf.SetLineWidth(0.2)
	pdf.Line(marginX, stmtBottom+4, pageW-marginX, stmtBottom+4)
	pdf.SetFontSize(9)
	pdf.SetXY(marginX, stmtBottom+6)
	pdf.CellFormat(contentW, 5, st.footer+"　　第 "+strconv.Itoa(st.n)+" 页，共 {nb} 页", "", 0, "L", false, 0, "")
	st.y = 18
	if st.n > 1 {
		st.text(marginX, st.y, contentW, 6, 10, st.footer+"（续）", "C")
		st.y += 9
		if st.head != nil {
			st.head()
		}
	}
}

func (st *stmt) need(h float64) {
	if st.y+h > stmtBottom {
		st.page()
	}
}

func (st *stmt) text(x, y, w, h, size float64, s, align string) {
	st.pdf.SetFontSize(size)
	st.pdf.SetXY(x, y)
	st.pdf.CellFormat(w, h, s, "", 0, align, false, 0, "")
}

// para sets a wrapped paragraph at the left margin.
func (st *stmt) para(s string, size, lh float64) {
	st.pdf.SetFontSize(size)
	for _, ln := range wrapText(st.pdf.GetStringWidth, s, contentW, contentW) {
		st.need(lh)
		st.text(marginX, st.y, contentW, lh, size, ln, "L")
		st.y += lh
	}
}

func (st *stmt) render(s *jifen.Settlement, from, to time.Time, gen time.Time, lines []StatementLine) {
	cl := st.cov.clean
	// The title, letter-spaced like the certificate's.
	title := []rune("积分兑换结算单")
	const size, gap = 20.0, 2.5
	st.pdf.SetFontSize(size)
	total := gap * float64(len(title)-1)
	for _, ch := range title {
		total += st.pdf.GetStringWidth(string(ch))
	}
	x := (pageW - total) / 2
	for _, ch := range title {
		w := st.pdf.GetStringWidth(string(ch))
		st.text(x, st.y, w, 10, size, string(ch), "L")
		x += w + gap
	}
	st.y += 14

	status := "未结算（仅供核对，数字可能变化）"
	if s.Settled && s.SettledAt != nil {
		status = "已结算（" + s.SettledAt.In(jifen.Zone).Format("2006-01-02 15:04") + "）"
	}
	period := longDate(from) + "至" + longDate(to.AddDate(0, 0, -1))
	facts := [][2]string{
		{"商户：", cl(s.StoreName)},
		{"所属组织：", orDash(cl(s.OrgName))},
		{"结算周期：", s.Period + "（" + period + "）"},
		{"兑换笔数：", strconv.Itoa(s.Sales) + " 笔；退货 " + strconv.Itoa(s.Refunds) + " 笔"},
		{"净兑换积分：", strconv.FormatInt(s.Points, 10) + " 分"},
		{"折算标准：", "每分 " + jifen.Yuan(s.FenPerPoint) + " 元"},
		{"应付金额：", "￥" + jifen.Yuan(s.AmountFen) + " 元（大写：" + UpperYuan(s.AmountFen) + "）"},
		{"状态：", status},
	}
	const lh, fs = 7.0, 11.5
	st.pdf.SetFontSize(fs)
	labelW := 0.0
	for _, f := range facts {
		labelW = max(labelW, st.pdf.GetStringWidth(f[0]))
	}
	for _, f := range facts {
		for i, ln := range wrapText(st.pdf.GetStringWidth, f[1], contentW-labelW, contentW-labelW) {
			st.need(lh)
			if i == 0 {
				st.text(marginX, st.y, labelW, lh, fs, f[0], "L")
			}
			st.text(marginX+labelW, st.y, contentW-labelW, lh, fs, ln, "L")
			st.y += lh
		}
	}

	// By the buyers' orgs.
	st.y += 4
	st.need(8 + 9 + 8)
	st.text(marginX, st.y, contentW, 7, 12, "一、按居民所属组织", "L")
	st.y += 8
	tb := table{st: st, w: orgColW, align: orgAlign}
	st.head = func() { tb.header(orgHead) }
	st.head()
	for i, l := range s.ByOrg {
		tb.row([]string{strconv.Itoa(i + 1), cl(l.OrgName), strconv.FormatInt(l.Points, 10), jifen.Yuan(l.Points * s.FenPerPoint)}, false)
	}
	if len(s.ByOrg) == 0 {
		tb.row([]string{"", "（本期没有兑换）", "", ""}, false)
	}
	tb.row([]string{"", "合计", strconv.FormatInt(s.Points, 10), jifen.Yuan(s.AmountFen)}, true)
	st.head = nil

	// The detail.
	if lines != nil {
		st.y += 6
		st.need(8 + 9 + 8)
		st.text(marginX, st.y, contentW, 7, 12, "二、兑换明细（共 "+strconv.Itoa(len(lines))+" 条）", "L")
		st.y += 8
		tb := table{st: st, w: lineColW, align: lineAlign}
		st.head = func() { tb.header(lineHead) }
		st.head()
		var sum int64
		for i, l := range lines {
			kind := "兑换"
			if l.Refund {
				kind = "退货"
			}
			sum += l.Points
			tb.row([]string{strconv.Itoa(i + 1), l.At.In(jifen.Zone).Format("01-02 15:04"), strconv.FormatInt(l.RedemptionID, 10),
				orDash(cl(l.Buyer)), cl(l.Items), kind, signed(l.Points)}, false)
		}
		if len(lines) == 0 {
			tb.row([]string{"", "", "", "", "（无）", "", ""}, false)
		}
		tb.row([]string{"", "", "", "", "合计", "", signed(sum)}, true)
		st.head = nil
	}

	// The ledger's seal and the signatures.
	st.y += 6
	hash := cl(s.BlockHash)
	if hash == "" {
		hash = "（账本尚未封存区块）"
	}
	st.need(7 + 6 + 6 + 30)
	st.text(marginX, st.y, contentW, 7, 12, "账本存证", "L")
	st.y += 7
	when := "生成"
	if s.Settled {
		when = "结算"
	}
	st.para(when+"时账本的最新区块哈希如下；可用“jifen verify --anchor 哈希”核对此后账本没有被改动。", 9.5, 5.5)
	st.pdf.SetFontSize(9)
	st.text(marginX, st.y, contentW, 6, fitSize(st.pdf.GetStringWidth, hash, contentW, 9, 5.5), hash, "L")
	st.y += 8
	st.text(marginX, st.y, contentW, 6, 9.5, "生成时间："+gen.In(jifen.Zone).Format("2006-01-02 15:04"), "L")
	st.y += 12
	half := contentW / 2
	st.text(marginX, st.y, half, 7, 11.5, "商户（签章）：", "L")
	st.text(marginX+half, st.y, half, 7, 11.5, "组织经办人（签字）：", "L")
	st.y += 12
	st.text(marginX, st.y, half, 7, 11.5, "日期：", "L")
	st.text(marginX+half, st.y, half, 7, 11.5, "日期：", "L")
	st.y += 7
}

// table draws rows whose height fits their longest cell.
type table struct {
	st    *stmt
	w     []float64
	align []string
}

func (tb table) header(cells []string) {
	pdf := tb.st.pdf
	const h = 8.0
	pdf.SetFillColor(236, 236, 236)
	pdf.SetDrawColor(60, 60, 60)
	pdf.SetLineWidth(0.25)
	x := marginX
	for i, w := range tb.w {
		pdf.Rect(x, tb.st.y, w, h, "FD")
		tb.st.text(x, tb.st.y+(h-tableLineH)/2, w, tableLineH, tableFont, cells[i], "C")
		x += w
	}
	tb.st.y += h
}

func (tb table) row(cells []string, bold bool) {
	st, pdf := tb.st, tb.st.pdf
	pdf.SetFontSize(tableFont)
	lines := make([][]string, len(cells))
	most := 1
	for i, c := range cells {
		lines[i] = wrapText(pdf.GetStringWidth, c, tb.w[i]-2*cellPadX, tb.w[i]-2*cellPadX)
		if len(lines[i]) > maxCellLines {
			lines[i] = append(lines[i][:maxCellLines-1], "……")
		}
		most = max(most, len(lines[i]))
	}
	h := float64(most)*tableLineH + 2*tablePadY
	if st.y+h > stmtBottom {
		st.page()
		pdf.SetFontSize(tableFont)
	}
	x := marginX
	for i, w := range tb.w {
		pdf.SetDrawColor(60, 60, 60)
		pdf.SetLineWidth(0.25)
		if bold {
			pdf.SetFillColor(246, 246, 246)
			pdf.Rect(x, st.y, w, h, "FD")
		} else {
			pdf.Rect(x, st.y, w, h, "D")
		}
		top := st.y + (h-float64(len(lines[i]))*tableLineH)/2
		for j, ln := range lines[i] {
			st.text(x+cellPadX, top+float64(j)*tableLineH, w-2*cellPadX, tableLineH, tableFont, ln, tb.align[i])
		}
		x += w
	}
	st.y += h
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func signed(n int64) string {
	if n > 0 {
		return "+" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// UpperYuan writes an amount in fen in capital numerals as invoices and
// receipts do (人民币大写): 123456 fen is 壹仟贰佰叁拾肆元伍角陆分, whole
// yuan end in 整.
func UpperYuan(fen int64) string {
	digits := []string{"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"}
	neg := fen < 0
	if neg {
		fen = -fen
	}
	yuan, jiao, fenPart := fen/100, fen/10%10, fen%10
	var b strings.Builder
	if neg {
		b.WriteString("负")
	}
	if yuan > 0 {
		b.WriteString(upperInt(yuan, digits))
		b.WriteString("元")
	}
	switch {
	case jiao == 0 && fenPart == 0:
		if yuan == 0 {
			b.WriteString("零元")
		}
		b.WriteString("整")
	default:
		if jiao > 0 {
			b.WriteString(digits[jiao] + "角")
		} else if yuan > 0 {
			b.WriteString("零")
		}
		if fenPart > 0 {
			b.WriteString(digits[fenPart] + "分")
		} else {
			b.WriteString("整")
		}
	}
	return b.String()
}

// upperInt writes n > 0 in capital numerals, by sections of four digits
// (万, 亿) with 零 where a run of zeros falls inside the number.
func upperInt(n int64, digits []string) string {
	units := []string{"", "拾", "佰", "仟"}
	sections := []string{"", "万", "亿", "万亿"}
	var secs []int64
	for n > 0 {
		secs = append(secs, n%10000)
		n /= 10000
	}
	var b strings.Builder
	zero := false // a zero is owed before the next digit
	for i := len(secs) - 1; i >= 0; i-- {
		sec := secs[i]
		if sec == 0 {
			zero = b.Len() > 0
			continue
		}
		if b.Len() > 0 && sec < 1000 {
			zero = true
		}
		for p := 3; p >= 0; p-- {
			d := sec / pow10(p) % 10
			if d == 0 {
				if b.Len() > 0 {
					zero = true
				}
				continue
			}
			if zero {
				b.WriteString("零")
				zero = false
			}
			b.WriteString(digits[d] + units[p])
		}
		zero = false
		b.WriteString(sections[i])
	}
	return b.String()
}

func pow10(p int) int64 {
	n := int64(1)
	for range p {
		n *= 10
	}
	return n
}
