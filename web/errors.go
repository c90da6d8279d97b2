package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"jifen"
)

// status maps an error kind to its HTTP status: the one place this happens.
func status(k jifen.Kind) int {
	switch k {
	case jifen.KindMalformed:
		return http.StatusBadRequest
	case jifen.KindUnauthorized:
		return http.StatusUnauthorized
	case jifen.KindForbidden:
		return http.StatusForbidden
	case jifen.KindNotFound:
		return http.StatusNotFound
	case jifen.KindConflict:
		return http.StatusConflict
	case jifen.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case jifen.KindInvalid:
		return http.StatusUnprocessableEntity
	case jifen.KindTooMany:
		return http.StatusTooManyRequests
	case jifen.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// asError turns anything a handler returns into a jifen error; a body over
// the limit is reported as such, not as a server fault.
func asError(err error) *jifen.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &jifen.Error{Kind: jifen.KindTooLarge, Code: "too_large", Zh: "提交的内容太大", En: "The request body is too large"}
	}
	return jifen.AsError(err)
}

// retryAfter is how many seconds a request answered "not ready yet"
// (KindUnavailable) is told to wait before asking again.
const retryAfter = 10

// statusClientClosed is nginx's "client closed request".
const statusClientClosed = 499

// fail answers a failed request as JSON (API) or as a page, and logs
// internal errors with the request id; their details never reach the user.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The visitor left before the answer (closed the page, gave up
		// waiting): no fault of the server's, and nothing reaches them.
		// 499 as nginx logs it, so neither the log nor the metrics count
		// it as a 500.
		s.log.Info("request abandoned by the client", "id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path)
		w.WriteHeader(statusClientClosed)
		return
	}
	e := asError(err)
	if e.Kind == jifen.KindInternal {
		s.log.Error("internal error", "id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Kind == jifen.KindUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	if isAPI(r) {
		writeAPIError(w, r, e)
		return
	}
	if e.Kind == jifen.KindUnauthorized && r.Method == http.MethodGet {
		http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	data := map[string]any{"Message": e.Message(langOf(r))}
	if e.Kind == jifen.KindUnavailable {
		data["Retry"] = retryAfter // the page asks again by itself
	}
	if e.Kind == jifen.KindInternal {
		data["RequestID"] = requestID(r.Context()) // for the operator's logs, never the cause
	}
	s.render(w, r, status(e.Kind), "error", data)
}

type apiError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func writeAPIError(w http.ResponseWriter, r *http.Request, e *jifen.Error) {
	body := apiError{Code: e.Code, Message: e.Message(langOf(r)), Field: e.Field}
	if e.Kind == jifen.KindInternal {
		body.RequestID = requestID(r.Context())
	}
	writeJSON(w, status(e.Kind), map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}
