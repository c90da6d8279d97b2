// Package qr draws the QR codes jifen shows and prints (a volunteer's
// personal code, an activity's check-in screen, a certificate's check
// link) as PNG images, and makes sure each one can be read back.
package qr

import (
	"bytes"
	"image/png"
	"io"

	"github.com/makiuchi-d/gozxing"
	zxing "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/yeqown/go-qrcode/v2"
	"github.com/yeqown/go-qrcode/writer/standard"
)

// PNG encodes text as a QR code of blockPx pixels per module with a
// four-module quiet zone, at error correction M.
//
// About one code in a thousand that the encoder draws cannot be found by
// ZXing's detector, the one many phone and counter scanners are built on:
// a volunteer number such as 202657160712 came out unreadable every time.
// So each code is read back with ZXing before it is used, and one that
// does not read is drawn again at the next level of error correction,
// which lays out other modules; the first that reads is kept.
func PNG(text string, blockPx int) ([]byte, error) {
	var first []byte
	for _, level := range []qrcode.EncodeOption{
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium),
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionQuart),
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionHighest),
	} {
		b, err := draw(text, blockPx, level)
		if err != nil {
			return nil, err
		}
		if Read(b) == text {
			return b, nil
		}
		if first == nil {
			first = b
		}
	}
	// None read back (never seen): the first is still a valid code.
	return first, nil
}

func draw(text string, blockPx int, level qrcode.EncodeOption) ([]byte, error) {
	q, err := qrcode.NewWith(text, level)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	wr := standard.NewWithWriter(nopCloser{&buf}, standard.WithBuiltinImageEncoder(standard.PNG_FORMAT),
		standard.WithQRWidth(uint8(blockPx)), standard.WithBorderWidth(4*blockPx))
	if err := q.Save(wr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Read returns the text of the QR code in a PNG image as ZXing finds it
// (a scanner looking at the whole picture, not told where the code is),
// or "" when it finds none.
func Read(b []byte) string {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return ""
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return ""
	}
	res, err := zxing.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return ""
	}
	return res.GetText()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
