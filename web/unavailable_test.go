package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jifen"
)

// Something not ready yet (a county's board being counted up) is a 503
// with Retry-After, not a fault: the API names its code, and a page says
// so in the reader's language and asks again by itself.
func TestUnavailableAsksAgain(t *testing.T) {
	var logged bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logged, nil)), now: time.Now}
	if err := s.parseTemplates(); err != nil {
		t.Fatal(err)
	}
	notYet := &jifen.Error{Kind: jifen.KindUnavailable, Code: "board_making", Zh: "光荣榜正在统计，请稍候", En: "The board is being counted up; one moment"}

	w := httptest.NewRecorder()
	s.fail(w, httptest.NewRequest("GET", "/api/v1/board/2", nil), notYet)
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("the API's answer %q: %v", w.Body, err)
	}
	if w.Code != 503 || w.Header().Get("Retry-After") != "10" || body.Error.Code != "board_making" {
		t.Errorf("the API: %d, Retry-After %q, %+v; want 503, 10, board_making", w.Code, w.Header().Get("Retry-After"), body.Error)
	}

	w = httptest.NewRecorder()
	s.fail(w, httptest.NewRequest("GET", "/board/2?tv=1", nil), notYet)
	page := w.Body.String()
	for _, want := range []string{`<meta http-equiv="refresh" content="10">`, "请稍候", "光荣榜正在统计", "自动刷新"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if w.Code != 503 || strings.Contains(page, "出错了") || strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("the page: %d, says 出错了 %t, logged %q; want 503, not a fault", w.Code, strings.Contains(page, "出错了"), logged.String())
	}
}
