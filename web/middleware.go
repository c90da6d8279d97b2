package web

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"jifen"
	"jifen/secret"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	langKey
	csrfKey
	patternKey
)

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) initMetrics() {
	s.reg = prometheus.NewRegistry()
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jifen_http_requests_total", Help: "HTTP requests by route and status."},
		[]string{"method", "route", "status"})
	s.dur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "jifen_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"method", "route"})
	s.reg.MustRegister(s.reqs, s.dur, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	if stats := s.svc.CommitStats; stats != nil {
		// Read when scraped: the database keeps the counts (group.go).
		// Each counter reads them afresh; over a run the few
		// nanoseconds between the reads do not matter.
		for _, m := range []struct {
			name, help string
			value      func(jifen.CommitStats) float64
		}{
			{"jifen_db_commits_total", "Transactions of the database's committers (group commit: every write on SQLite, awards that wait on no row on PostgreSQL).",
				func(c jifen.CommitStats) float64 { return float64(c.Commits) }},
			{"jifen_db_commit_writes_total", "Writes those transactions ran, refused ones too.",
				func(c jifen.CommitStats) float64 { return float64(c.Writes) }},
			{"jifen_db_writer_busy_seconds_total", "Time spent in those transactions, summed over the leaders running at once.",
				func(c jifen.CommitStats) float64 { return c.BusySeconds }},
			{"jifen_db_commit_seconds_total", "Of it, time spent in COMMIT, timed for groups of two or more writes.",
				func(c jifen.CommitStats) float64 { return c.CommitSeconds }},
		} {
			s.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help},
				func() float64 { return m.value(stats()) }))
		}
	}
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// observe gives each request an id, logs it as JSON and counts it by
// route pattern (never by raw path, which would explode the label set).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = secret.Token(9)
		}
		w.Header().Set("X-Request-Id", id)
		// The router sets Pattern on the request it is handed, a copy made
		// by inner middleware; the route handler reports it back here.
		route := "unmatched"
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), patternKey, &route)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		s.reqs.WithLabelValues(r.Method, route, strconv.Itoa(sw.status)).Inc()
		s.dur.WithLabelValues(r.Method, route).Observe(d.Seconds())
		if route != "GET /static/" && route != "GET /healthz" && route != "GET /metrics" {
			s.log.Info("request", "id", id, "method", r.Method, "route", route, "status", sw.status,
				"ms", float64(d.Microseconds())/1000, "bytes", sw.bytes, "ip", s.clientIP(r).String())
		}
	})
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.fail(w, r, jifen.Internal(fmt.Errorf("panic: %v\n%s", v, debug.Stack())))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// csp forbids inline script and any outside origin: every asset is embedded.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every answer carries; served over
// HTTPS (secure), browsers are also told to never use plain HTTP again.
func securityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies; uploads get a larger cap.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxBody)
		if strings.HasPrefix(r.URL.Path, "/import") || photoUpload(r.URL.Path) || storePhotoUpload(r.URL.Path) {
			limit = maxUpload
		}
		if r.ContentLength > limit {
			writeTooLarge(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

func writeTooLarge(w http.ResponseWriter, r *http.Request) {
	e := &jifen.Error{Kind: jifen.KindTooLarge, Code: "too_large", Zh: "提交的内容太大", En: "The request body is too large"}
	if isAPI(r) {
		writeAPIError(w, r, e)
		return
	}
	http.Error(w, e.Message(langOf(r)), http.StatusRequestEntityTooLarge)
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

const (
	sessionCookie = "jifen_session"
	csrfCookie    = "jifen_csrf"
	langCookie    = "jifen_lang"
)

// authenticate resolves the bearer token (API) or session cookie (pages)
// to an actor. The API never reads cookies, so it needs no CSRF token.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var token string
		if isAPI(r) {
			token = bearer(r)
		} else if c, err := r.Cookie(sessionCookie); err == nil {
			token = c.Value
		}
		if token != "" {
			a, err := s.svc.Auth.Authenticate(r.Context(), token, s.clientIP(r))
			switch {
			case err == nil:
				r = r.WithContext(jifen.WithActor(r.Context(), a))
			case jifen.ErrorKind(err) == jifen.KindUnauthorized:
				if !isAPI(r) {
					s.clearCookie(w, sessionCookie)
				}
			default:
				s.fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// csrf protects every state-changing page request twice over: the
// browser's own Sec-Fetch-Site/Origin check, and a double-submit token (a
// random cookie whose HMAC must come back in the form). The HMAC uses the
// shared secret, so any instance can check a token another one issued.
func (s *Server) csrf(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) {
			next.ServeHTTP(w, r)
			return
		}
		raw := ""
		if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
			raw = c.Value
		}
		if raw == "" {
			raw = secret.Token(18)
			http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: raw, Path: "/", HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode})
		}
		want := s.csrfToken(raw)
		r = r.WithContext(context.WithValue(r.Context(), csrfKey, want))
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			if err := cop.Check(r); err != nil {
				s.fail(w, r, csrfError)
				return
			}
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostFormValue("csrf") // never from the URL, where it would leak into logs
			}
			if !hmac.Equal([]byte(got), []byte(want)) {
				s.fail(w, r, csrfError)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

var csrfError = &jifen.Error{Kind: jifen.KindForbidden, Code: "csrf", Zh: "页面已过期，请返回刷新后重试", En: "This page has expired; go back, reload and try again"}

func (s *Server) csrfToken(raw string) string {
	return base64.RawURLEncoding.EncodeToString(secret.MAC(s.keys.Session, "csrf:"+raw))
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.cfg.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// bearer is the token of an "Authorization: Bearer …" header; the scheme's
// name is case-insensitive (RFC 9110), as some HTTP clients write it.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
