package certpdf

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"

	"jifen"
)

// The document is laid out by the same code in passes that only measure,
// then once more to draw: the measuring passes count the pages, so that
// every footer can print 第 p 页，共 n 页 as it is drawn, and keep the
// issuer's block and seal from standing alone on a last page.
type flow struct {
	r     *renderer
	draw  bool
	page  int
	y     float64
	table bool // a page break inside the table repeats its header

	// breakAt forces a page break before the table row of that index
	// (0-based, the total row counts), -1 for none.
	breakAt int
	next    int // index of the next table row
	// pageFirstRow is the index of the first row on the current page;
	// signOffAlone is set when the sign-off block needed a page of its own.
	pageFirstRow      int
	signOffAlone      bool
	tablePageFirstRow int // pageFirstRow of the table's last page
}

// keepRows is how many records (with the total) move to the next page
// rather than let the sign-off and seal stand there alone.
const keepRows = 2

type layout struct {
	pages   int
	breakAt int
}

func (r *renderer) layout() layout {
	f := &flow{r: r, breakAt: -1}
	f.run()
	if f.signOffAlone {
		total := f.next - 1
		if at := total - keepRows; at > f.tablePageFirstRow {
			f = &flow{r: r, breakAt: at}
			f.run()
		}
	}
	return layout{pages: f.page, breakAt: f.breakAt}
}

func (r *renderer) draw(l layout) {
	f := &flow{r: r, draw: true, breakAt: l.breakAt}
	f.run()
}

func (f *flow) run() {
	r := f.r
	f.newPage()
	f.titleBlock()
	f.paragraph(r.statement(), 12, 8, 2)
	f.paragraph("特此证明。", 12, 8, 2)
	f.y += 3
	f.recordTable()
	f.signOff()
}

// newPage starts a page; its footer (serial, page number, check URL and QR)
// is drawn at once since it sits at fixed places.
func (f *flow) newPage() {
	f.page++
	f.pageFirstRow = f.next
	f.y = 20
	if f.draw {
		f.r.pdf.AddPage()
		f.r.footer(f.page)
	}
	if f.page > 1 {
		f.text(marginX, 14, contentW, 7, 13, "志愿服务证明（续）", "C")
		f.y = 26
		if f.table {
			f.tableHeader()
		}
	}
}

// need breaks the page unless h more millimetres fit.
func (f *flow) need(h float64) {
	if f.y+h > contentBottom {
		f.newPage()
	}
}

func (f *flow) text(x, y, w, h, size float64, s, align string) {
	if !f.draw {
		return
	}
	pdf := f.r.pdf
	pdf.SetFontSize(size)
	pdf.SetXY(x, y)
	pdf.CellFormat(w, h, s, "", 0, align, false, 0, "")
}

func (f *flow) titleBlock() {
	r := f.r
	pdf := r.pdf
	title := []rune("志愿服务证明")
	const size, gap = 24.0, 3.5
	pdf.SetFontSize(size)
	total := 0.0
	for _, ch := range title {
		total += pdf.GetStringWidth(string(ch))
	}
	total += gap * float64(len(title)-1)
	x := (pageW - total) / 2
	for _, ch := range title {
		w := pdf.GetStringWidth(string(ch))
		f.text(x, 22, w, 12, size, string(ch), "L")
		x += w + gap
	}
	f.y = 36
	if r.opts.Masked {
		f.text(marginX, f.y, contentW, 6, 11, "（公开核验副本）", "C")
		f.y += 7
	}
	f.text(marginX, f.y, contentW, 6, 10.5, "证明编号："+r.serial, "R")
	f.y += 10
}

// paragraph sets text wrapped to the content width with a first-line
// indent of indent characters.
func (f *flow) paragraph(s string, size, lineH float64, indent int) {
	pdf := f.r.pdf
	pdf.SetFontSize(size)
	ind := pdf.GetStringWidth(strings.Repeat("国", indent))
	lines := wrapText(pdf.GetStringWidth, s, contentW, contentW-ind)
	for i, ln := range lines {
		f.need(lineH)
		x, w := marginX, contentW
		if i == 0 {
			x, w = marginX+ind, contentW-ind
		}
		f.text(x, f.y, w, lineH, size, ln, "L")
		f.y += lineH
	}
}

// statement is the certificate's body: who served how long doing what.
func (r *renderer) statement() string {
	c := r.c
	name := r.cov.clean(c.PersonName)
	if r.opts.Masked {
		name = jifen.MaskName(name)
	}
	if name == "" {
		name = "（姓名未登记）"
	}
	id := maskID(r.cov.clean(c.IDMasked))
	if id == "" {
		id = "未登记"
	}
	no := r.cov.clean(c.VolunteerNo)
	if no == "" {
		no = "未登记"
	}
	var b strings.Builder
	b.WriteString("兹证明 " + name + "（证件类型：居民身份证，证件号码：" + id + "，志愿者编号：" + no + "）")
	from, to := r.period()
	switch {
	case !from.IsZero() && !to.IsZero():
		b.WriteString("于 " + longDate(from) + "至" + longDate(to) + "期间，")
	case !to.IsZero():
		b.WriteString("截至 " + longDate(to) + "，")
	}
	b.WriteString("参加志愿服务 " + strconv.Itoa(r.count()) + " 次，累计服务时长 " + hours(c.Minutes) + " 小时")
	if back, ok := r.backfilled(); ok && back != 0 {
		// the parts are rounded so that they add up to the total shown
		b.WriteString("，其中信用时长 " + tenths(roundTenths(c.Minutes)-roundTenths(back)) +
			" 小时、荣誉时长（补录）" + hours(back) + " 小时")
	}
	b.WriteString("。")
	if s := strings.TrimRight(r.cov.clean(c.Content), "。. "); s != "" {
		b.WriteString("主要服务内容：" + s + "。")
	}
	if s := strings.TrimRight(r.cov.clean(c.Training), "。. "); s != "" {
		b.WriteString("参加培训：" + s + "。")
	}
	return b.String()
}

// maskID makes sure an ID number is shown masked even if a full one was
// passed: only the first and last four characters stay.
func maskID(s string) string {
	if s == "" || strings.ContainsRune(s, '*') {
		return s
	}
	return jifen.MaskIDNumber(s)
}

// period is the certificate's span, or the records' when it has none.
func (r *renderer) period() (from, to time.Time) {
	from, to = r.c.From, r.c.LastDay()
	for _, rec := range r.records {
		if rec == nil || rec.StartedAt.IsZero() {
			continue
		}
		if r.c.From.IsZero() && (from.IsZero() || rec.StartedAt.Before(from)) {
			from = rec.StartedAt
		}
		end := rec.EndedAt
		if end.IsZero() {
			end = rec.StartedAt
		}
		if r.c.To.IsZero() && (to.IsZero() || end.After(to)) {
			to = end
		}
	}
	return from, to
}

// count is the number of services: the register's, else the records that
// are not corrections.
func (r *renderer) count() int {
	if r.c.Records > 0 {
		return r.c.Records
	}
	n := 0
	for _, rec := range r.records {
		if rec != nil && rec.How != jifen.HowCorrection {
			n++
		}
	}
	return n
}

// backfilled is the part of the total that organisers entered afterwards
// (荣誉时长); the rest is on-site time (信用时长). A correction counts with
// the record it corrects. ok is false when the records do not add up to
// the certificate's total.
func (r *renderer) backfilled() (back int, ok bool) {
	self := 0
	how := map[int64]string{}
	for _, rec := range r.records {
		if rec != nil {
			how[rec.ID] = rec.How
		}
	}
	for _, rec := range r.records {
		if rec == nil {
			continue
		}
		h := rec.How
		if h == jifen.HowCorrection && rec.Corrects != nil {
			h = how[*rec.Corrects]
		}
		if h == jifen.HowBackfilled {
			back += rec.Minutes
		} else {
			self += rec.Minutes
		}
	}
	return back, self+back == r.c.Minutes
}

// recordTable lists the records, repeating the header on each page.
func (f *flow) recordTable() {
	r := f.r
	pdf := r.pdf
	n := 0
	for _, rec := range r.records {
		if rec != nil {
			n++
		}
	}
	f.need(7 + headRowH + 12)
	f.text(marginX, f.y, contentW, 7, 11, "附：志愿服务记录明细（共 "+strconv.Itoa(n)+" 条）", "L")
	f.y += 8
	f.table = true
	f.tableHeader()
	pdf.SetFontSize(tableFont)
	i := 0
	for _, rec := range r.records {
		if rec == nil {
			continue
		}
		i++
		f.row([]string{strconv.Itoa(i), shortDate(recordDate(rec)), r.recordContent(rec),
			r.cov.clean(rec.Place), hours(rec.Minutes), kind(rec.How)}, false)
	}
	if n == 0 {
		f.row([]string{"", "", "（无服务记录）", "", "", ""}, false)
	}
	f.row([]string{"", "", "合计", "", hours(r.c.Minutes), ""}, true)
	f.table = false
}

func recordDate(rec *jifen.ServiceRecord) time.Time {
	if !rec.StartedAt.IsZero() {
		return rec.StartedAt
	}
	return rec.VerifiedAt
}

func (r *renderer) recordContent(rec *jifen.ServiceRecord) string {
	s := r.cov.clean(rec.Content)
	if rec.How == jifen.HowCorrection {
		if reason := r.cov.clean(rec.Reason); reason != "" {
			if s != "" {
				s += "\n"
			}
			s += "更正原因：" + reason
		}
	}
	return s
}

func (f *flow) tableHeader() {
	pdf := f.r.pdf
	if f.draw {
		pdf.SetFillColor(236, 236, 236)
		pdf.SetDrawColor(60, 60, 60)
		pdf.SetLineWidth(0.25)
		x := marginX
		for _, w := range colW {
			pdf.Rect(x, f.y, w, headRowH, "FD")
			x += w
		}
	}
	x := marginX
	for i, w := range colW {
		lines := strings.Split(colHead[i], "\n")
		top := f.y + (headRowH-float64(len(lines))*tableLineH)/2
		for j, ln := range lines {
			f.text(x, top+float64(j)*tableLineH, w, tableLineH, tableFont, ln, "C")
		}
		x += w
	}
	f.y += headRowH
	pdf.SetFontSize(tableFont)
}

const (
	cellPadX     = 1.4
	maxCellLines = 12
)

// row draws one table row whose height fits its longest cell; total rows
// merge the first four columns.
func (f *flow) row(cells []string, total bool) {
	pdf := f.r.pdf
	pdf.SetFontSize(tableFont)
	widths := colW[:]
	aligns := colAlign[:]
	if total {
		merged := colW[0] + colW[1] + colW[2] + colW[3]
		widths = []float64{merged, colW[4], colW[5]}
		aligns = []string{"C", "C", "C"}
		cells = []string{cells[2], cells[4], cells[5]}
	}
	lines := make([][]string, len(cells))
	most := 1
	for i, s := range cells {
		for _, part := range strings.Split(s, "\n") {
			lines[i] = append(lines[i], wrapText(pdf.GetStringWidth, part, widths[i]-2*cellPadX, widths[i]-2*cellPadX)...)
		}
		if len(lines[i]) > maxCellLines { // a runaway text cannot outgrow the page
			lines[i] = append(lines[i][:maxCellLines-1], "……")
		}
		most = max(most, len(lines[i]))
	}
	h := float64(most)*tableLineH + 2*tablePadY
	if f.y+h > contentBottom || f.next == f.breakAt && f.next > f.pageFirstRow {
		f.newPage()
		pdf.SetFontSize(tableFont)
	}
	f.next++
	x := marginX
	for i, w := range widths {
		if f.draw {
			pdf.SetDrawColor(60, 60, 60)
			pdf.SetLineWidth(0.25)
			pdf.Rect(x, f.y, w, h, "D")
		}
		top := f.y + (h-float64(len(lines[i]))*tableLineH)/2
		for j, ln := range lines[i] {
			f.text(x+cellPadX, top+float64(j)*tableLineH, w-2*cellPadX, tableLineH, tableFont, ln, aligns[i])
		}
		x += w
	}
	f.y += h
}

// signOff is the issuer's block: person in charge, handler and contacts on
// the left, the issuing organisation and date under its seal on the right,
// then the notes.
func (f *flow) signOff() {
	r := f.r
	c := r.c
	pdf := r.pdf
	const (
		leftW   = 88.0
		rightX  = 112.0
		rightW  = pageW - marginX - rightX
		lh      = 7.0
		size    = 11.0
		nameSz  = 13.0
		nameLH  = 8.0
		notesSz = 10.0
		notesLH = 6.0
		itemX   = marginX + 11.0
	)
	orDash := func(s string) string {
		if s = r.cov.clean(s); s == "" {
			return "—"
		}
		return s
	}
	pdf.SetFontSize(size)
	type line struct {
		text string
		x    float64
	}
	var left []line
	for _, kv := range [][2]string{
		{"负责人：", c.IssuerLeader},
		{"经办人：", c.IssuedByName},
		{"联系电话：", c.IssuerPhone},
		{"地址：", c.IssuerAddr},
	} {
		// continuation lines hang under the value, not the label
		lw := pdf.GetStringWidth(kv[0])
		for i, ln := range wrapText(pdf.GetStringWidth, orDash(kv[1]), leftW-lw, leftW-lw) {
			if i == 0 {
				left = append(left, line{kv[0] + ln, marginX})
			} else {
				left = append(left, line{ln, marginX + lw})
			}
		}
	}
	pdf.SetFontSize(nameSz)
	names := wrapText(pdf.GetStringWidth, orDash(c.IssuerName), rightW, rightW)
	rightH := lh + float64(len(names))*nameLH + 2 + lh

	url := r.url
	pdf.SetFontSize(notesSz)
	items := []string{"本证明免费出具，可扫描页面右下角二维码或访问以下网址核验："}
	if s := r.cov.clean(c.Notes); s != "" {
		items = append(items, s)
	}
	if r.opts.Masked {
		items = append(items, "本件为公开核验副本，姓名与证件号码已部分隐藏。")
	}
	type noteLine struct {
		text     string
		x, w, sz float64
	}
	var notes []noteLine
	for i, it := range items {
		num := strconv.Itoa(i+1) + ". "
		numW := pdf.GetStringWidth(num)
		for j, ln := range wrapText(pdf.GetStringWidth, it, contentW-(itemX-marginX)-numW, contentW-(itemX-marginX)-numW) {
			if j == 0 {
				ln = num + ln
				notes = append(notes, noteLine{ln, itemX, contentW, notesSz})
			} else {
				notes = append(notes, noteLine{ln, itemX + numW, contentW, notesSz})
			}
		}
		if i == 0 {
			numW := pdf.GetStringWidth("1. ")
			w := contentW - (itemX - marginX) - numW
			notes = append(notes, noteLine{url, itemX + numW, w, fitSize(pdf.GetStringWidth, url, w, notesSz, 6)})
		}
	}

	blockH := max(float64(len(left))*lh, rightH, sealSize*3/4) // the seal may reach into the notes
	if f.y+8+blockH+4+float64(len(notes))*notesLH > contentBottom {
		f.signOffAlone = true
		f.tablePageFirstRow = f.pageFirstRow
		f.newPage()
	}
	f.y += 8
	top := f.y
	for i, ln := range left {
		f.text(ln.x, top+float64(i)*lh, leftW, lh, size, ln.text, "L")
	}
	y := top
	f.text(rightX, y, rightW, lh, size, "出具单位（盖章）：", "C")
	y += lh
	nameTop := y
	for _, ln := range names {
		f.text(rightX, y, rightW, nameLH, nameSz, ln, "C")
		y += nameLH
	}
	y += 2
	f.text(rightX, y, rightW, lh, size, "出具日期："+longDate(c.IssuedAt), "C")
	dateBottom := y + lh
	if f.draw && len(r.opts.Seal) > 0 {
		cy := (nameTop + dateBottom) / 2
		cx := rightX + rightW/2
		pdf.ImageOptions("seal", cx-sealSize/2, cy-sealSize/2, sealSize, sealSize, false,
			fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
	f.y = top + blockH + 4
	f.text(marginX, f.y, itemX-marginX, notesLH, notesSz, "备注：", "L")
	for _, n := range notes {
		f.text(n.x, f.y, n.w, notesLH, n.sz, n.text, "L")
		f.y += notesLH
	}
}

// footer sits under every page: the serial, the page count, the check URL
// and its QR code in the bottom right corner.
func (r *renderer) footer(page int) {
	pdf := r.pdf
	pdf.SetDrawColor(150, 150, 150)
	pdf.SetLineWidth(0.2)
	pdf.Line(marginX, footerLine, pageW-marginX, footerLine)
	const size, lh, w = 9.0, 5.0, contentW - qrSize - 6
	put := func(y float64, s string, sz float64) {
		pdf.SetFontSize(sz)
		pdf.SetXY(marginX, y)
		pdf.CellFormat(w, lh, s, "", 0, "L", false, 0, "")
	}
	y := footerLine + 3
	put(y, "证明编号："+r.serial+"　　第 "+strconv.Itoa(page)+" 页，共 "+strconv.Itoa(r.pages)+" 页", size)
	put(y+lh, "核验：扫描右侧二维码，或访问", size)
	pdf.SetFontSize(size)
	put(y+2*lh, r.url, fitSize(pdf.GetStringWidth, r.url, w, size, 5.5))
	pdf.ImageOptions("qr", pageW-marginX-qrSize, footerLine+2, qrSize, qrSize, false,
		fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
}

// fitSize is the largest font size up to size (and at least min) at which
// s fits in w; widthAt measures at the current size.
func fitSize(widthAt func(string) float64, s string, w, size, min float64) float64 {
	cur := widthAt(s)
	if cur <= w || cur == 0 {
		return size
	}
	return max(min, size*w/cur)
}

// Line breaking: CJK characters break anywhere, runs of other characters
// (numbers, Latin words, URLs) only at spaces unless longer than a line;
// closing punctuation may hang past the edge rather than start a line
// (避头), and opening punctuation never ends one (避尾).
const (
	noLineStart = "，。、；：？！）」』》〉”’…—,.;:?!)]}%"
	noLineEnd   = "（「『《〈“‘([{"
)

func wide(r rune) bool {
	return r >= 0x2E80 && r <= 0xFFEF && !(r >= 0xFF61 && r <= 0xFFDC) || unicode.Is(unicode.Han, r)
}

func tokens(s string) []string {
	var out []string
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if wide(r) || r == ' ' || strings.ContainsRune(noLineStart+noLineEnd, r) {
			out = append(out, s[:n])
			s = s[n:]
			continue
		}
		end := n
		for end < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[end:])
			if wide(r2) || r2 == ' ' || strings.ContainsRune(noLineStart+noLineEnd, r2) {
				break
			}
			end += n2
		}
		// a number keeps the date unit after it: 2026年, 11月, 29日
		if r2, n2 := utf8.DecodeRuneInString(s[end:]); strings.ContainsRune("年月日", r2) {
			end += n2
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// wrapText breaks s into lines no wider than w (the first no wider than
// first), measuring with width.
func wrapText(width func(string) float64, s string, w, first float64) []string {
	if s == "" {
		return []string{""}
	}
	var lines []string
	var cur []string
	curW := 0.0
	limit := first
	flush := func() {
		ln := strings.TrimRight(strings.Join(cur, ""), " ")
		lines = append(lines, ln)
		cur, curW, limit = nil, 0, w
	}
	toks := tokens(s)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		tw := width(t)
		if len(cur) == 0 && t == " " {
			continue
		}
		if curW+tw <= limit || len(cur) == 0 && tw <= limit {
			cur = append(cur, t)
			curW += tw
			continue
		}
		if strings.Contains(noLineStart, t) && len(cur) > 0 {
			cur = append(cur, t) // hang it
			curW += tw
			flush()
			continue
		}
		if len(cur) == 0 || tw > w {
			// a run longer than a line: start it on a line of its own and
			// break it by character
			if len(cur) > 0 {
				flush()
			}
			for _, ch := range t {
				cw := width(string(ch))
				if curW+cw > limit && len(cur) > 0 {
					flush()
				}
				cur = append(cur, string(ch))
				curW += cw
			}
			continue
		}
		// keep an opening bracket with what follows it
		var carry []string
		if n := len(cur); n > 1 && strings.Contains(noLineEnd, cur[n-1]) {
			carry = cur[n-1:]
			cur = cur[:n-1]
		}
		flush()
		for _, c := range carry {
			cur = append(cur, c)
			curW += width(c)
		}
		i--
	}
	if len(cur) > 0 {
		flush()
	}
	return lines
}
