package certpdf

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jifen"
)

const blockHash = "3f9a1c0e5b7d2468ace013579bdf02468ace13579bdf02468ace13579bdf0246"

// sampleSettlement is 新窑村积分超市's November: n sales of 20 points to
// residents of two villages and one refund of an October sale, at 50 fen
// a point, settled on 1 December.
func sampleSettlement(n int) (*jifen.Settlement, []StatementLine) {
	settled := time.Date(2026, 12, 1, 9, 30, 0, 0, jifen.Zone)
	s := &jifen.Settlement{StoreID: 4, StoreName: "新窑村积分超市", OrgName: "新窑村", Period: "2026-11", FenPerPoint: 50,
		Settled: true, SettledAt: &settled, BlockHash: blockHash}
	var lines []StatementLine
	orgs := map[string]int64{}
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, jifen.Zone)
	for i := 0; i < n; i++ {
		org := "新窑村"
		if i%3 == 2 {
			org = "锦屏村"
		}
		lines = append(lines, StatementLine{At: start.Add(time.Duration(i) * 7 * time.Hour), RedemptionID: int64(100 + i), Buyer: jifen.MaskName("陈桂兰"),
			Items: "洗衣粉（1kg）×1", Points: 20})
		orgs[org] += 20
		s.Sales++
		s.Points += 20
	}
	lines = append(lines, StatementLine{At: time.Date(2026, 11, 20, 15, 0, 0, 0, jifen.Zone), RedemptionID: 42, Buyer: "王*明",
		Items: "食用油（5L）×1", Points: -60, Refund: true})
	orgs["新窑村"] -= 60
	s.Refunds++
	s.Points -= 60
	s.ByOrg = []jifen.SettlementLine{{OrgID: 7, OrgName: "新窑村", Points: orgs["新窑村"]}, {OrgID: 9, OrgName: "锦屏村", Points: orgs["锦屏村"]}}
	s.AmountFen = s.Points * s.FenPerPoint
	return s, lines
}

func renderStatement(t *testing.T, s *jifen.Settlement, opts StatementOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderStatement(&buf, s, opts); err != nil {
		t.Fatalf("RenderStatement: %v", err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	return buf.Bytes()
}

// TestStatementShowsTheFigures reads the statement back with pdftotext:
// the store, the period, the counts, the net points, the amount in yuan
// (in figures and in capitals), the split by org, every detail line and
// their sum, the block hash, the page numbers.
func TestStatementShowsTheFigures(t *testing.T) {
	s, lines := sampleSettlement(70) // enough lines for a second page
	pages := pdfText(t, renderStatement(t, s, StatementOptions{Lines: lines, GeneratedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, jifen.Zone)}))
	if len(pages) < 2 {
		t.Fatalf("%d pages, want the detail to run onto a second", len(pages))
	}
	all := squash(strings.Join(pages, "\n"))
	// 70 sales of 20, one refund of 60: 1340 points, at 0.50 yuan 670.00.
	if s.Points != 1340 || s.AmountFen != 67000 {
		t.Fatalf("the sample adds up to %d points, %d fen", s.Points, s.AmountFen)
	}
	for _, want := range []string{
		"积分兑换结算单", "商户：新窑村积分超市", "所属组织：新窑村", "结算周期：2026-11（2026年11月1日至2026年11月30日）",
		"兑换笔数：70笔；退货1笔", "净兑换积分：1340分", "折算标准：每分0.50元", "应付金额：￥670.00元（大写：陆佰柒拾元整）",
		"状态：已结算（2026-12-0109:30）",
		"一、按居民所属组织", "新窑村", "锦屏村", "二、兑换明细（共71条）", "食用油（5L）×1", "退货", "-60", "王*明",
		"账本存证", blockHash, "生成时间：2026-12-0110:00", "商户（签章）：", "组织经办人（签字）：",
	} {
		if !strings.Contains(all, squash(want)) {
			t.Errorf("the statement does not show %q", want)
		}
	}
	for i, p := range pages {
		want := "第" + strconv.Itoa(i+1) + "页，共" + strconv.Itoa(len(pages)) + "页"
		if !strings.Contains(squash(p), want) {
			t.Errorf("page %d does not say %s", i+1, want)
		}
	}
	// The split by org: 新窑村 47 sales less the refund, 锦屏村 23 sales.
	byOrg := map[string]int64{}
	for _, l := range s.ByOrg {
		byOrg[l.OrgName] = l.Points
	}
	for name, pts := range byOrg {
		re := regexp.MustCompile(`\d+\s+` + name + `\s+(-?\d+)\s+(-?\d+\.\d\d)`)
		m := re.FindStringSubmatch(pages[0])
		if m == nil {
			t.Errorf("no row for %s in the table by org", name)
			continue
		}
		if m[1] != strconv.FormatInt(pts, 10) || m[2] != jifen.Yuan(pts*s.FenPerPoint) {
			t.Errorf("%s: %s points, %s yuan; want %d, %s", name, m[1], m[2], pts, jifen.Yuan(pts*s.FenPerPoint))
		}
	}
	// Every detail line is printed once, and the lines add up to the total.
	lineRE := regexp.MustCompile(`(?m)^\s*(\d+)\s+\d\d-\d\d \d\d:\d\d\s+(\d+)\s+.*?(兑换|退货)\s+([+-]\d+)\s*$`)
	var sum int64
	seen := map[string]bool{}
	for _, p := range pages {
		for _, m := range lineRE.FindAllStringSubmatch(p, -1) {
			if seen[m[2]] {
				t.Errorf("line %s printed twice", m[2])
			}
			seen[m[2]] = true
			n, _ := strconv.ParseInt(m[4], 10, 64)
			sum += n
		}
	}
	if len(seen) != len(lines) {
		t.Errorf("read %d detail lines, want %d", len(seen), len(lines))
	}
	if sum != s.Points {
		t.Errorf("the detail lines add up to %d, want the net %d", sum, s.Points)
	}
	if !strings.Contains(all, "合计1340670.00") || !strings.Contains(all, "合计+1340") {
		t.Errorf("the totals rows are missing")
	}
}

// An open period says it is not settled, a period without sales says so,
// a year reads as one, and a ledger without blocks says that.
func TestStatementOpenEmptyYear(t *testing.T) {
	s := &jifen.Settlement{StoreName: "锦屏洗车行", OrgName: "崇信县", Period: "2026", FenPerPoint: 100, ByOrg: []jifen.SettlementLine{}}
	all := squash(strings.Join(pdfText(t, renderStatement(t, s, StatementOptions{Lines: []StatementLine{}})), "\n"))
	for _, want := range []string{"结算周期：2026（2026年1月1日至2026年12月31日）", "未结算（仅供核对，数字可能变化）", "（本期没有兑换）",
		"二、兑换明细（共0条）", "（无）", "（账本尚未封存区块）", "应付金额：￥0.00元（大写：零元整）", "第1页，共1页"} {
		if !strings.Contains(all, squash(want)) {
			t.Errorf("the statement does not show %q", want)
		}
	}
	// Without lines the detail is left out.
	all = squash(strings.Join(pdfText(t, renderStatement(t, s, StatementOptions{})), "\n"))
	if strings.Contains(all, "兑换明细") {
		t.Errorf("a statement without lines prints a detail table")
	}
}

func TestStatementOddTextAndErrors(t *testing.T) {
	s, lines := sampleSettlement(3)
	s.StoreName = "店\u202e名\x00𠀀"
	lines[0].Items = strings.Repeat("很长的商品名称", 60)
	lines[1].Buyer = ""
	all := squash(strings.Join(pdfText(t, renderStatement(t, s, StatementOptions{Lines: lines})), "\n"))
	if !strings.Contains(all, "店名〓") {
		t.Errorf("control characters and characters outside the font are not cleaned: %.200s", all)
	}
	var buf bytes.Buffer
	if err := RenderStatement(&buf, nil, StatementOptions{}); err == nil {
		t.Error("no settlement renders")
	}
	if err := RenderStatement(&buf, &jifen.Settlement{Period: "2026-13"}, StatementOptions{}); err == nil {
		t.Error("a bad period renders")
	}
	// The same statement renders to the same bytes.
	a := renderStatement(t, s, StatementOptions{Lines: lines})
	b := renderStatement(t, s, StatementOptions{Lines: lines})
	if !bytes.Equal(a, b) {
		t.Error("two renderings of one statement differ")
	}
}

func TestUpperYuan(t *testing.T) {
	for fen, want := range map[int64]string{
		0: "零元整", 5: "伍分", 50: "伍角整", 100: "壹元整", 105: "壹元零伍分", 150: "壹元伍角整", 67000: "陆佰柒拾元整",
		100500: "壹仟零伍元整", 1001000: "壹万零壹拾元整", 10000000: "壹拾万元整", 20300000: "贰拾万叁仟元整",
		10000000100: "壹亿零壹元整", 10000100000: "壹亿零壹仟元整", 123456789: "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分",
		-1234: "负壹拾贰元叁角肆分",
	} {
		if got := UpperYuan(fen); got != want {
			t.Errorf("UpperYuan(%d) = %s, want %s", fen, got, want)
		}
	}
}
