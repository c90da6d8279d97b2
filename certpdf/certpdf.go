// Package certpdf renders a service certificate (志愿服务证明) as an A4 PDF
// that shows every field 民发〔2015〕149号 asks for: the volunteer's name, ID
// type and (masked) number and volunteer number; the service hours and
// content with the records they come from; the issuing organisation, its
// person in charge, the handler and contact details; the certificate number,
// issue date and notes, with a QR code of the public check URL on every page.
//
// The text is set in WenQuanYi Micro Hei, embedded in the binary (see
// fonts/README.md); the PDF carries only the subset of glyphs it uses.
package certpdf

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"

	"jifen"
	"jifen/qr"
)

//go:embed fonts/wqy-microhei.ttf
var fontTTF []byte

// Options controls one rendering.
type Options struct {
	// VerifyURL is the full public check URL (with the certificate's
	// verify code); it is printed and drawn as a QR code on every page.
	VerifyURL string
	// Seal is a PNG of the issuing organisation's seal, drawn over the
	// issuer's name; nil leaves the place for a hand stamp.
	Seal []byte
	// Masked renders the public copy: the volunteer's name is masked too
	// (the ID number is always shown masked) and the page says so.
	Masked bool
}

// Page geometry in millimetres (A4 portrait).
const (
	pageW         = 210.0
	marginX       = 20.0
	contentW      = pageW - 2*marginX
	contentBottom = 254.0 // body text stops here; the footer is below
	footerLine    = 258.0
	qrSize        = 27.0
	sealSize      = 40.0
	font          = "wqy"
)

// Table columns: 序号, 服务日期, 服务内容, 服务地点, 时长（小时）, 类别.
var (
	colW     = [...]float64{11, 23, 56, 43, 17, 20}
	colHead  = [...]string{"序号", "服务日期", "服务内容", "服务地点", "时长\n（小时）", "类别"}
	colAlign = [...]string{"C", "C", "L", "L", "C", "C"}
)

const (
	tableFont  = 9.5
	tableLineH = 4.6
	tablePadY  = 1.5
	headRowH   = 11.0
)

// missingGlyph stands in for a character the font lacks (〓, the
// conventional mark for a character that cannot be typeset).
const missingGlyph = '〓'

var glyphs = sync.OnceValues(func() (*sfnt.Font, error) { return sfnt.Parse(fontTTF) })

// Render writes the certificate c, listing records, as a PDF to w.
func Render(w io.Writer, c *jifen.Certificate, records []*jifen.ServiceRecord, opts Options) error {
	if c == nil {
		return errors.New("certpdf: no certificate")
	}
	if strings.TrimSpace(opts.VerifyURL) == "" {
		return errors.New("certpdf: a certificate needs its public check URL")
	}
	cov, err := newCoverage()
	if err != nil {
		return fmt.Errorf("certpdf: font: %w", err)
	}
	r := &renderer{c: c, records: records, opts: opts, cov: cov}
	return r.render(w)
}

// coverage tells which characters the embedded font can draw.
type coverage struct {
	f   *sfnt.Font
	buf sfnt.Buffer
	has map[rune]bool
}

func newCoverage() (*coverage, error) {
	f, err := glyphs()
	if err != nil {
		return nil, err
	}
	return &coverage{f: f, has: map[rune]bool{}}, nil
}

func (cv *coverage) covers(r rune) bool {
	if r > 0xFFFF { // fpdf measures only the Basic Multilingual Plane
		return false
	}
	ok, seen := cv.has[r]
	if !seen {
		gi, err := cv.f.GlyphIndex(&cv.buf, r)
		ok = err == nil && gi != 0
		cv.has[r] = ok
	}
	return ok
}

// clean makes s safe to typeset on one line: invalid UTF-8, control and
// format characters (bidi overrides, zero-width marks) go, line breaks and
// tabs become spaces, and characters the font lacks become 〓.
func (cv *coverage) clean(s string) string {
	s = strings.ToValidUTF8(s, "")
	var b strings.Builder
	space := false
	for _, ch := range s {
		switch {
		case ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ' || ch == '\u00a0':
			if b.Len() > 0 {
				space = true
			}
			continue
		case unicode.IsControl(ch) || unicode.Is(unicode.Cf, ch) || unicode.Is(unicode.Mn, ch) && !cv.covers(ch):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if !cv.covers(ch) {
			ch = missingGlyph
		}
		b.WriteRune(ch)
	}
	return b.String()
}

type renderer struct {
	c       *jifen.Certificate
	records []*jifen.ServiceRecord
	opts    Options
	cov     *coverage
	pdf     *fpdf.Fpdf
	pages   int // total, known after planning
	url     string
	serial  string
}

func (r *renderer) render(w io.Writer) error {
	if err := r.setup(); err != nil {
		return err
	}
	l := r.layout()
	r.pages = l.pages
	r.draw(l)
	if err := r.pdf.Error(); err != nil {
		return fmt.Errorf("certpdf: %w", err)
	}
	if err := r.pdf.Output(w); err != nil {
		return fmt.Errorf("certpdf: %w", err)
	}
	return nil
}

// setup makes the document: metadata, font, QR code and seal.
func (r *renderer) setup() error {
	c := r.c
	pdf := fpdf.New("P", "mm", "A4", "")
	r.pdf = pdf
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	issued := c.IssuedAt
	if issued.IsZero() {
		issued = time.Date(2000, 1, 1, 0, 0, 0, 0, jifen.Zone)
	}
	pdf.SetCreationDate(issued.UTC()) // fpdf writes no offset; readers take UTC
	pdf.SetModificationDate(issued.UTC())
	pdf.AddUTF8FontFromBytes(font, "", fontTTF)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("certpdf: font: %w", err)
	}
	pdf.SetFont(font, "", 12)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("certpdf: font: %w", err)
	}
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(marginX, 20, marginX)
	pdf.SetCellMargin(0)
	r.serial = r.cov.clean(c.Serial)
	r.url = strings.TrimSpace(r.opts.VerifyURL)
	pdf.SetTitle("志愿服务证明 "+r.serial, true)
	pdf.SetSubject("志愿服务证明（民发〔2015〕149号）", true)
	pdf.SetAuthor(r.cov.clean(c.IssuerName), true)
	pdf.SetCreator("jifen", false)
	pdf.SetLang("zh-CN")

	qrPNG, err := qr.PNG(r.url, 10)
	if err != nil {
		return fmt.Errorf("certpdf: QR code: %w", err)
	}
	pdf.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(qrPNG))
	if len(r.opts.Seal) > 0 {
		seal, err := normalisePNG(r.opts.Seal)
		if err != nil {
			return fmt.Errorf("certpdf: seal: %w", err)
		}
		pdf.RegisterImageOptionsReader("seal", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(seal))
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("certpdf: %w", err)
	}
	return nil
}

// normalisePNG re-encodes an uploaded seal as an 8-bit non-interlaced RGBA
// PNG, the kind fpdf can embed (it rejects 16-bit and interlaced files).
func normalisePNG(b []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	bounds := img.Bounds()
	if bounds.Dx() < 1 || bounds.Dy() < 1 || bounds.Dx() > 4000 || bounds.Dy() > 4000 {
		return nil, fmt.Errorf("seal image is %dx%d pixels", bounds.Dx(), bounds.Dy())
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, bounds.Dx(), bounds.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, bounds.Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, rgba); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// hours shows minutes as hours with one decimal, rounding half away from
// zero (四舍五入): 75 minutes is 1.3.
func hours(minutes int) string { return tenths(roundTenths(minutes)) }

// roundTenths is minutes in tenths of an hour, rounded half away from zero.
func roundTenths(minutes int) int {
	if minutes < 0 {
		return -((-minutes + 3) / 6)
	}
	return (minutes + 3) / 6
}

// tenths shows tenths of an hour as 12.5.
func tenths(t int) string {
	s := ""
	if t < 0 {
		s, t = "-", -t
	}
	return s + strconv.Itoa(t/10) + "." + strconv.Itoa(t%10)
}

// longDate is 2026年1月5日 in China's time zone.
func longDate(t time.Time) string {
	t = t.In(jifen.Zone)
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

func shortDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(jifen.Zone).Format("2006-01-02")
}

// kind is the table's 类别 cell: on-site time is 信用时长, time an organiser
// entered afterwards is 荣誉时长 and marked 补录.
func kind(how string) string {
	switch how {
	case jifen.HowSelf, jifen.HowScan:
		return "信用时长"
	case jifen.HowBackfilled:
		return "荣誉时长\n（补录）"
	case jifen.HowCorrection:
		return "更正"
	}
	return "—"
}
