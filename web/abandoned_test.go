package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// A request whose visitor left (its context cancelled) and whose work
// failed for that reason is not a server fault: no ERROR line, no 500.
// A cancelled context inside a request still open is a fault as before.
func TestAbandonedRequestIsNotAnError(t *testing.T) {
	var logged bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logged, nil))}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("POST", "/api/v1/awards", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	s.fail(w, r, fmt.Errorf("awarding: %w", context.Canceled))
	if w.Code != statusClientClosed || strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("an abandoned request: status %d, log %q; want 499 and no ERROR", w.Code, logged.String())
	}

	logged.Reset()
	r = httptest.NewRequest("POST", "/api/v1/awards", nil)
	w = httptest.NewRecorder()
	s.fail(w, r, fmt.Errorf("a job of its own: %w", context.Canceled))
	if w.Code != 500 || !strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("a cancelled job inside a live request: status %d, log %q; want 500 and an ERROR line", w.Code, logged.String())
	}
}
