package web_test

import (
	"net/http"
	"testing"
)

// TestOpenAPISaysEachSuccessStatus: the document gives each API route the
// status its handler answers with: 201 for what creates, 200 for an
// action on something that exists, 204 for no body.
func TestOpenAPISaysEachSuccessStatus(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) { checkOpenAPIStatuses(t, e) })
}

func checkOpenAPIStatuses(t *testing.T, e *env) {
	r := e.api(t, "GET", "/api/v1/openapi.json", "", nil)
	r.wantStatus(t, "the document", http.StatusOK)
	paths := r.JSON(t)["paths"].(map[string]any)
	for _, c := range []struct {
		method, path, status string
	}{
		{"post", "/api/v1/stores", "201"},
		{"post", "/api/v1/redemptions", "201"},
		{"post", "/api/v1/redemptions/{id}/refund", "200"},
		{"post", "/api/v1/redemptions/{id}/fulfil", "200"},
		{"post", "/api/v1/awards/{id}/approve", "200"},
		{"post", "/api/v1/awards", "201"},
		{"get", "/api/v1/people/{id}/points", "200"},
	} {
		op, ok := paths[c.path].(map[string]any)[c.method].(map[string]any)
		if !ok {
			t.Errorf("%s %s is not documented", c.method, c.path)
			continue
		}
		if _, ok := op["responses"].(map[string]any)[c.status]; !ok {
			t.Errorf("%s %s documents %v, want %s", c.method, c.path, op["responses"], c.status)
		}
	}
}
