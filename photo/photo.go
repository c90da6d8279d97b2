// Package photo cleans uploaded photos before they are kept: it decodes
// them, shrinks large ones and encodes a fresh JPEG, so EXIF data (the
// camera's GPS position, the owner's name, the time) never reaches the
// database or a backup.
package photo

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	_ "image/png" // phones and screenshots send PNG too

	xdraw "golang.org/x/image/draw"

	"jifen"
)

// Limits on what is accepted and what is kept.
const (
	MaxBytes  = 10 << 20 // an upload larger than this is refused
	maxPixels = 50_000_000
	maxSide   = 1600 // the longer side of what is kept
)

var errNotPhoto = jifen.Invalid("photo", "照片无法识别，请上传JPG或PNG格式的图片", "The photo could not be read; upload a JPG or PNG")

// Clean returns the photo re-encoded as a JPEG without metadata, no
// larger than maxSide on its longer side.
func Clean(data []byte) ([]byte, error) {
	if len(data) > MaxBytes {
		return nil, jifen.Invalid("photo", "照片不能超过10MB", "The photo must be at most 10 MB")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png") {
		return nil, errNotPhoto
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, jifen.Invalid("photo", "照片尺寸过大", "The photo has too many pixels")
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, errNotPhoto
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > maxSide || h > maxSide {
		if w >= h {
			w, h = maxSide, h*maxSide/w
		} else {
			w, h = w*maxSide/h, maxSide
		}
	}
	// Drawing onto a fresh RGBA flattens transparency onto white and drops
	// everything but the pixels.
	dst := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, b, xdraw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
