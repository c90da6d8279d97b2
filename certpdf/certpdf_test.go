package certpdf

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"jifen"
)

const verifyURL = "https://jifen.example.cn/check/ZS2026-000123-7KQ4M9XW"

func sampleCert() *jifen.Certificate {
	return &jifen.Certificate{
		ID:           123,
		Serial:       "ZS2026-000123",
		Check:        "7KQ4M9XW",
		PersonID:     7,
		PersonName:   "张三丰",
		VolunteerNo:  "202612345678",
		IDMasked:     "4101**********1234",
		OrgID:        3,
		From:         time.Date(2026, 1, 1, 0, 0, 0, 0, jifen.Zone),
		To:           time.Date(2026, 11, 30, 0, 0, 0, 0, jifen.Zone), // exclusive: the period ends on the 29th
		Minutes:      0,                                               // set by sampleRecords' caller
		IssuedBy:     9,
		IssuedByName: "王经办",
		IssuedAt:     time.Date(2026, 11, 29, 10, 30, 0, 0, jifen.Zone),
		IssuerName:   "金水区文化路街道志愿服务站",
		IssuerLeader: "李站长",
		IssuerPhone:  "0371-65551234",
		IssuerAddr:   "郑州市金水区文化路88号",
		Content:      "助老服务、环境整治、文明交通劝导",
		Training:     "应急救护培训（4学时）",
		Notes:        "本证明仅用于证明志愿服务经历。",
	}
}

var places = []string{"文化路社区活动中心", "北环路口", "金水河沿岸", "社区卫生服务站", "幸福里小区"}
var contents = []string{"助老服务：陪伴独居老人", "环境整治", "文明交通劝导", "义诊协助", "垃圾分类宣传"}

// sampleRecords makes n records, every fourth backfilled, plus one
// correction; it sets c's totals to match.
func sampleRecords(c *jifen.Certificate, n int) []*jifen.ServiceRecord {
	var recs []*jifen.ServiceRecord
	total := 0
	start := time.Date(2026, 1, 3, 9, 0, 0, 0, jifen.Zone)
	for i := 0; i < n; i++ {
		how := jifen.HowSelf
		if i%4 == 3 {
			how = jifen.HowBackfilled
		}
		mins := 60 + (i%5)*45
		st := start.AddDate(0, 0, i*7)
		recs = append(recs, &jifen.ServiceRecord{
			ID: int64(i + 1), PersonID: c.PersonID, OrgID: c.OrgID,
			Content: contents[i%len(contents)], Place: places[i%len(places)],
			StartedAt: st, EndedAt: st.Add(time.Duration(mins) * time.Minute),
			Minutes: mins, How: how, VerifiedAt: st.Add(24 * time.Hour),
		})
		total += mins
	}
	corr := int64(2)
	recs = append(recs, &jifen.ServiceRecord{
		ID: int64(n + 1), PersonID: c.PersonID, OrgID: c.OrgID, Content: contents[1], Place: places[1],
		StartedAt: recs[1].StartedAt, EndedAt: recs[1].EndedAt, Minutes: -30,
		How: jifen.HowCorrection, Corrects: &corr, Reason: "签退时间登记有误",
	})
	total -= 30
	c.Minutes = total
	c.Records = n
	return recs
}

// testSeal draws a red round seal (double ring and a five-pointed star) on
// a transparent ground, like an organisation's stamp.
func testSeal() []byte {
	const n = 400
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red := color.NRGBA{R: 215, G: 25, B: 30, A: 200}
	c := float64(n) / 2
	var star [10][2]float64 // outer and inner points, alternating
	for i := range star {
		r := 62.0
		if i%2 == 1 {
			r = 25
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		star[i] = [2]float64{r * math.Cos(a), r * math.Sin(a)}
	}
	inStar := func(x, y float64) bool { // even-odd ray casting
		in := false
		for i, j := 0, len(star)-1; i < len(star); j, i = i, i+1 {
			xi, yi, xj, yj := star[i][0], star[i][1], star[j][0], star[j][1]
			if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
				in = !in
			}
		}
		return in
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := float64(x)-c, float64(y)-c
			r := math.Hypot(dx, dy)
			if (r > 180 && r < 196) || (r > 166 && r < 169) || inStar(dx, dy) {
				img.SetNRGBA(x, y, red)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// tool finds a poppler command: it must exist in CI, elsewhere its
// absence skips the test.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (Debian poppler-utils): %v", name, err)
		}
		t.Skipf("%s not installed (Debian poppler-utils)", name)
	}
	return p
}

func render(t *testing.T, c *jifen.Certificate, recs []*jifen.ServiceRecord, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, c, recs, opts); err != nil {
		t.Fatalf("Render: %v", err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", buf.Bytes()[:min(20, buf.Len())])
	}
	return buf.Bytes()
}

func writeTemp(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cert.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pdfText is pdftotext -layout's reading of the PDF, one string per page.
func pdfText(t *testing.T, pdf []byte) []string {
	t.Helper()
	bin := tool(t, "pdftotext")
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", writeTemp(t, pdf), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	pages := strings.Split(string(out), "\f")
	if len(pages) > 0 && strings.TrimSpace(pages[len(pages)-1]) == "" {
		pages = pages[:len(pages)-1]
	}
	return pages
}

// squash drops all white space, so values that the layout spaced out or
// wrapped still match.
func squash(s string) string {
	return strings.Join(strings.Fields(s), "")
}

func TestRenderShowsEveryRequiredField(t *testing.T) {
	c := sampleCert()
	recs := sampleRecords(c, 45)
	start := time.Now()
	pdf := render(t, c, recs, Options{VerifyURL: verifyURL, Seal: testSeal()})
	t.Logf("rendered %d records in %v, %d bytes", len(recs), time.Since(start), len(pdf))
	if out := os.Getenv("CERTPDF_SAMPLE"); out != "" {
		if err := os.WriteFile(out, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pages := pdfText(t, pdf)
	if len(pages) < 2 {
		t.Fatalf("%d records fit on %d page(s); want the table to flow on", len(recs), len(pages))
	}
	all := squash(strings.Join(pages, "\n"))
	total := hours(c.Minutes)
	for _, want := range []string{
		"志愿服务证明",
		"张三丰",                      // volunteer name
		"证件类型：居民身份证",               // ID type
		"4101**********1234",       // masked ID number
		"志愿者编号：202612345678",       // volunteer number
		"累计服务时长" + total + "小时",    // hours
		"参加志愿服务45次",                // count
		"于2026年1月1日至2026年11月29日期间", // period
		"主要服务内容：助老服务、环境整治、文明交通劝导", // content
		"参加培训：应急救护培训（4学时）",        // training
		"出具单位（盖章）：",               // issuing org label
		"金水区文化路街道志愿服务站",           // issuing org
		"负责人：李站长",                 // person in charge
		"经办人：王经办",                 // handler
		"联系电话：0371-65551234",      // contact
		"地址：郑州市金水区文化路88号",         // address
		"证明编号：ZS2026-000123",      // certificate number
		"出具日期：2026年11月29日",        // issue date
		"备注：",                     // notes
		"本证明仅用于证明志愿服务经历。",         // notes text
		"本证明免费出具，可扫描页面右下角二维码或访问以下网址核验：" + verifyURL, // verification note
		"荣誉时长（补录）",      // backfilled marking
		"信用时长",          // on-site marking
		"更正原因：签退时间登记有误", // correction
		"合计" + total,    // table total
		"2026-01-03",    // first record's date
		"-0.5",          // correction hours
	} {
		if !strings.Contains(all, squash(want)) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	// the on-site and backfilled parts add up to the total shown
	back := 0
	for _, r := range recs {
		if r.How == jifen.HowBackfilled {
			back += r.Minutes
		}
	}
	split := "其中信用时长" + tenths(roundTenths(c.Minutes)-roundTenths(back)) + "小时、荣誉时长（补录）" + hours(back) + "小时"
	if !strings.Contains(all, split) {
		t.Errorf("PDF text lacks %q", split)
	}
	// every page carries the table header (repeated), the serial, the
	// page count and the check URL
	for i, p := range pages {
		sp := squash(p)
		for _, want := range []string{
			"序号服务日期服务内容服务地点",
			"证明编号：ZS2026-000123",
			"第" + strconv.Itoa(i+1) + "页，共" + strconv.Itoa(len(pages)) + "页",
			verifyURL,
		} {
			if i == len(pages)-1 && strings.HasPrefix(want, "序号") && !strings.Contains(sp, "合计") {
				continue
			}
			if !strings.Contains(sp, want) {
				t.Errorf("page %d lacks %q", i+1, want)
			}
		}
	}
	// each record's hours, one decimal
	for _, r := range recs[:5] {
		if !strings.Contains(all, hours(r.Minutes)) {
			t.Errorf("no %s hours in the table", hours(r.Minutes))
		}
	}
	if strings.Count(all, "幸福里小区") != 9 {
		t.Errorf("place 幸福里小区 shows %d times, want 9", strings.Count(all, "幸福里小区"))
	}
}

// decodeQR rasterises one page at 150 dpi with pdftoppm and reads its QR
// code with gozxing, an independent decoder.
func decodeQR(t *testing.T, pdf []byte, page int) string {
	t.Helper()
	bin := tool(t, "pdftoppm")
	dir := t.TempDir()
	p := strconv.Itoa(page)
	if out, err := exec.Command(bin, "-png", "-r", "150", "-f", p, "-l", p, "-singlefile",
		writeTemp(t, pdf), filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{
		gozxing.DecodeHintType_TRY_HARDER: true,
	})
	if err != nil {
		t.Fatalf("no QR code found on page %d: %v", page, err)
	}
	return res.GetText()
}

func TestQRCodeDecodesToVerifyURL(t *testing.T) {
	c := sampleCert()
	recs := sampleRecords(c, 45)
	pdf := render(t, c, recs, Options{VerifyURL: verifyURL, Seal: testSeal()})
	if got := decodeQR(t, pdf, 1); got != verifyURL {
		t.Errorf("QR on page 1 reads %q, want %q", got, verifyURL)
	}
	n := len(pdfText(t, pdf))
	if got := decodeQR(t, pdf, n); got != verifyURL {
		t.Errorf("QR on page %d reads %q, want %q", n, got, verifyURL)
	}
	// a long URL makes a denser code that must still read at 150 dpi
	long := verifyURL + "?lang=zh-CN&utm_source=printed-certificate&utm_medium=qr&ref=" + strings.Repeat("x", 40)
	pdf = render(t, c, recs[:3], Options{VerifyURL: long, Seal: testSeal()})
	if got := decodeQR(t, pdf, 1); got != long {
		t.Errorf("long QR reads %q, want %q", got, long)
	}
}

func TestNoSealAndShortList(t *testing.T) {
	c := sampleCert()
	recs := sampleRecords(c, 3)
	pdf := render(t, c, recs, Options{VerifyURL: verifyURL})
	pages := pdfText(t, pdf)
	if len(pages) != 1 {
		t.Errorf("3 records take %d pages, want 1", len(pages))
	}
	all := squash(pages[0])
	for _, want := range []string{"张三丰", "金水区文化路街道志愿服务站", "负责人：李站长", "出具日期：2026年11月29日", "第1页，共1页"} {
		if !strings.Contains(all, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if got := decodeQR(t, pdf, 1); got != verifyURL {
		t.Errorf("QR reads %q, want %q", got, verifyURL)
	}
}

func TestNoRecords(t *testing.T) {
	c := sampleCert()
	c.From, c.To = time.Time{}, time.Time{}
	pdf := render(t, c, nil, Options{VerifyURL: verifyURL})
	all := squash(strings.Join(pdfText(t, pdf), ""))
	for _, want := range []string{"（无服务记录）", "参加志愿服务0次，累计服务时长0.0小时", "合计0.0"} {
		if !strings.Contains(all, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
}

func TestMaskedPublicCopy(t *testing.T) {
	c := sampleCert()
	c.IDMasked = "410105199001011234" // a full number must not get through
	recs := sampleRecords(c, 5)
	pdf := render(t, c, recs, Options{VerifyURL: verifyURL, Seal: testSeal(), Masked: true})
	all := squash(strings.Join(pdfText(t, pdf), ""))
	for _, want := range []string{"张**", "4101**********1234", "公开核验副本", "志愿者编号：202612345678"} {
		if !strings.Contains(all, want) {
			t.Errorf("public copy lacks %q", want)
		}
	}
	for _, bad := range []string{"张三丰", "410105199001011234"} {
		if strings.Contains(all, bad) {
			t.Errorf("public copy shows %q", bad)
		}
	}
}

func TestOddCharactersDoNotBreakRendering(t *testing.T) {
	c := sampleCert()
	c.PersonName = "<b>张&三</b>\"O'Brien\" (x) \\ \u202e𠮷\u0000\n李\u200b四"
	c.IssuerName = "<script>alert(1)</script>）（"
	c.Content = "%PDF-1.4 endobj ) ( \\) BT /F1 12 Tf ET"
	c.Notes = strings.Repeat("很长的备注", 60)
	recs := sampleRecords(c, 4)
	recs[0].Content = "<img src=x onerror=alert(1)>" + strings.Repeat("服务", 40)
	recs[1].Place = "\xff\xfe invalid utf-8"
	recs[2].Content = strings.Repeat("超长的服务内容", 200) // capped, not run off the page
	recs = append(recs, nil)
	pdf := render(t, c, recs, Options{VerifyURL: verifyURL, Seal: testSeal()})
	all := squash(strings.Join(pdfText(t, pdf), ""))
	for _, want := range []string{
		`<b>张&三</b>"O'Brien"(x)\〓`, // markup kept as text; 𠮷 is outside the font
		"李四",
		"<script>alert(1)</script>",
		`%PDF-1.4endobj)(\)BT/F112TfET`,
		"<imgsrc=xonerror=alert(1)>",
		"invalidutf-8",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if got := decodeQR(t, pdf, 1); got != verifyURL {
		t.Errorf("QR reads %q, want %q", got, verifyURL)
	}
}

func TestDeterministic(t *testing.T) {
	c := sampleCert()
	recs := sampleRecords(c, 45)
	opts := Options{VerifyURL: verifyURL, Seal: testSeal()}
	a := render(t, c, recs, opts)
	b := render(t, c, recs, opts)
	if !bytes.Equal(a, b) {
		t.Error("two renderings of the same certificate differ")
	}
	if !bytes.Contains(a, []byte("D:20261129023000")) { // 10:30 in Shanghai
		t.Error("creation date is not the issue time")
	}
}

// The web server renders certificates concurrently from one embedded font.
func TestConcurrentRenders(t *testing.T) {
	c := sampleCert()
	recs := sampleRecords(c, 20)
	opts := Options{VerifyURL: verifyURL, Seal: testSeal()}
	want := render(t, c, recs, opts)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var buf bytes.Buffer
			if err := Render(&buf, c, recs, opts); err != nil {
				t.Error(err)
			} else if !bytes.Equal(buf.Bytes(), want) {
				t.Error("a concurrent rendering differs")
			}
		})
	}
	wg.Wait()
}

func TestErrors(t *testing.T) {
	c := sampleCert()
	var buf bytes.Buffer
	if err := Render(&buf, nil, nil, Options{VerifyURL: verifyURL}); err == nil {
		t.Error("nil certificate rendered")
	}
	if err := Render(&buf, c, nil, Options{}); err == nil {
		t.Error("certificate without a check URL rendered")
	}
	if err := Render(&buf, c, nil, Options{VerifyURL: verifyURL, Seal: []byte("GIF89a not a png")}); err == nil {
		t.Error("a broken seal image rendered")
	}
}

// The issuer's block and seal never stand alone on a page: the last
// records and the total go with them.
func TestSignOffKeepsRecordsWithIt(t *testing.T) {
	alone := 0
	for n := 2; n <= 60; n++ { // sampleRecords corrects record 2
		c := sampleCert()
		r := &renderer{c: c, records: sampleRecords(c, n), opts: Options{VerifyURL: verifyURL}}
		var err error
		if r.cov, err = newCoverage(); err != nil {
			t.Fatal(err)
		}
		if err := r.setup(); err != nil {
			t.Fatal(err)
		}
		l := r.layout()
		if l.breakAt >= 0 {
			alone++
		}
		f := &flow{r: r, breakAt: l.breakAt}
		f.run()
		if f.signOffAlone {
			t.Errorf("%d records: the sign-off stands alone on page %d", n, f.page)
		}
		if f.page != l.pages {
			t.Errorf("%d records: planned %d pages, laid out %d", n, l.pages, f.page)
		}
	}
	if alone == 0 {
		t.Error("no record count needed the sign-off kept with the table; the test proves nothing")
	}
}

func TestHours(t *testing.T) {
	for _, tc := range []struct {
		min  int
		want string
	}{
		{0, "0.0"}, {1, "0.0"}, {3, "0.1"}, {45, "0.8"}, {60, "1.0"}, {75, "1.3"},
		{90, "1.5"}, {599, "10.0"}, {-30, "-0.5"}, {-2, "0.0"}, {6000, "100.0"},
	} {
		if got := hours(tc.min); got != tc.want {
			t.Errorf("hours(%d) = %q, want %q", tc.min, got, tc.want)
		}
	}
}

func TestWrapText(t *testing.T) {
	width := func(s string) float64 { // CJK 2, others 1
		w := 0.0
		for _, r := range s {
			if wide(r) {
				w += 2
			} else {
				w++
			}
		}
		return w
	}
	for _, tc := range []struct {
		s    string
		w    float64
		want []string
	}{
		{"", 10, []string{""}},
		{"一二三四五六", 6, []string{"一二三", "四五六"}},
		{"一二三，四五", 6, []string{"一二三，", "四五"}},                  // comma hangs
		{"一二（三四", 6, []string{"一二", "（三四"}},                    // bracket not at line end
		{"ab 4101**1234", 8, []string{"ab", "4101**12", "34"}}, // long run breaks by char
		{"号 20261234", 8, []string{"号", "20261234"}},
		{"一二2026年11月29日", 8, []string{"一二", "2026年", "11月29日"}}, // no break before a date unit
	} {
		got := wrapText(width, tc.s, tc.w, tc.w)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrap(%q, %v) = %q, want %q", tc.s, tc.w, got, tc.want)
		}
	}
}

func TestEmbeddedFontIsPlainTrueType(t *testing.T) {
	if len(fontTTF) < 4_000_000 || string(fontTTF[:4]) != "\x00\x01\x00\x00" {
		t.Fatalf("embedded font is %d bytes starting %q; want a TrueType (not .ttc/CFF) file", len(fontTTF), fontTTF[:4])
	}
}
