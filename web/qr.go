package web

import (
	"net/http"
	"strconv"

	"jifen/qr"
)

func (s *Server) writeQR(w http.ResponseWriter, r *http.Request, text string) {
	png, err := qr.PNG(text, 10)
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
