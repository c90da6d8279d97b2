package web

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/yeqown/go-qrcode/v2"
	"github.com/yeqown/go-qrcode/writer/standard"
)

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// qrPNG encodes text as a PNG QR code with a quiet zone that phone
// cameras and counter scanners read reliably.
func qrPNG(text string, blockPx uint8) ([]byte, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	wr := standard.NewWithWriter(nopCloser{&buf}, standard.WithBuiltinImageEncoder(standard.PNG_FORMAT),
		standard.WithQRWidth(blockPx), standard.WithBorderWidth(int(blockPx)*4))
	if err := q.Save(wr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Server) writeQR(w http.ResponseWriter, r *http.Request, text string) {
	png, err := qrPNG(text, 10)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	w.Write(png)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
