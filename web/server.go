// Package web serves jifen over HTTP: server-rendered pages for people and
// a JSON API under /api/v1 for integrators, both over the same services.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jifen"
	"jifen/secret"
)

// Services are what the web layer calls; it never touches the database.
type Services struct {
	Orgs     jifen.OrgService
	People   jifen.PersonService
	Auth     jifen.AuthService
	Audit    jifen.AuditService
	Messages jifen.MessageService
	Uploads  jifen.UploadService
	// Volunteer service.
	Activities   jifen.ActivityService
	Records      jifen.RecordService
	Transfers    jifen.TransferService
	Certificates jifen.CertificateService
	// Points.
	Points jifen.PointsService
	Ledger jifen.LedgerService
	// Stores and merchants.
	Stores jifen.StoreService
	// Reports from the roll-ups.
	Reports jifen.ReportService
	// Ping checks the database for /healthz.
	Ping func(ctx context.Context) error
	// CommitStats tells what the database's committers (group commit)
	// did, for /metrics; nil leaves them out.
	CommitStats func() jifen.CommitStats
}

// Config is what the web layer needs from the command line.
type Config struct {
	// PublicURL is the address people reach, used in QR codes and links.
	PublicURL string
	// Secure marks cookies Secure; set when serving TLS or behind an HTTPS proxy.
	Secure bool
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// Version is printed in the footer and /healthz.
	Version string
}

// Server is the HTTP face of jifen.
type Server struct {
	cfg    Config
	svc    Services
	keys   *secret.Keys
	log    *slog.Logger
	pages  map[string]*template.Template
	mux    *http.ServeMux
	routes []Route
	reg    *prometheus.Registry
	reqs   *prometheus.CounterVec
	dur    *prometheus.HistogramVec
	// now is the clock; tests replace it.
	now func() time.Time
	// nextStatus is the success status of the endpoint built for the route
	// being registered; see endpoint.
	nextStatus int
}

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Body limits: forms and JSON are small; a roster upload may be large.
const (
	maxBody   = 1 << 20
	maxUpload = 20 << 20
)

// New builds the server and its routes.
func New(cfg Config, svc Services, keys *secret.Keys, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, svc: svc, keys: keys, log: log, mux: http.NewServeMux(), now: time.Now}
	s.cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.initMetrics()
	s.registerRoutes()
	return s, nil
}

// Handler returns the whole middleware chain around the router, outermost
// first as a request meets it.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	h = s.authenticate(h)
	h = s.csrf(h)
	h = limitBody(h)
	h = securityHeaders(s.cfg.Secure, h)
	h = s.recoverPanics(h)
	h = s.observe(h)
	return h
}

// Route is one registered endpoint. The API routes carry what the OpenAPI
// document and the authorization test need; every route of the server is
// registered through handle, so tests can enumerate them all.
type Route struct {
	Method  string
	Path    string
	API     bool
	Public  bool   // reachable without signing in
	Summary string // for the OpenAPI document
	Body    any    // example request body type, for the OpenAPI document
	Resp    any    // example response type
	Status  int    // the success status of an API route, when known
}

// Routes lists every route the server answers.
func (s *Server) Routes() []Route { return s.routes }

func (s *Server) handle(rt Route, h http.HandlerFunc) {
	if rt.API && rt.Status == 0 {
		rt.Status = s.nextStatus
	}
	s.nextStatus = 0
	s.routes = append(s.routes, rt)
	s.mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
		notePattern(r)
		h(w, r)
	})
}

func (s *Server) registerRoutes() {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.handle(Route{Method: "GET", Path: "/static/", Public: true}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		fileServer.ServeHTTP(w, r)
	})
	s.handle(Route{Method: "GET", Path: "/healthz", Public: true}, s.healthz)
	s.handle(Route{Method: "GET", Path: "/metrics", Public: true}, s.metrics)
	s.handle(Route{Method: "GET", Path: "/lang/{lang}", Public: true}, s.setLang)
	s.registerPages()
	s.registerActivityPages()
	s.registerServicePages()
	s.registerPointsPages()
	s.registerStorePages()
	s.registerReportPages()
	s.registerAPI()
	s.registerActivityAPI()
	s.registerPointsAPI()
	s.registerStoreAPI()
	s.registerReportAPI()
	// Anything else is a 404 page (or JSON under /api/).
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		notePattern(r)
		if r.URL.Path == "/" {
			s.home(w, r)
			return
		}
		s.fail(w, r, jifen.NotFound("page"))
	})
	s.routes = append(s.routes, Route{Method: "GET", Path: "/{$}", Public: true})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		s.log.Error("healthz: database", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

// clientIP is the address a request came from; X-Forwarded-For is only
// believed when the operator says a proxy sits in front, and then only
// its last address, the one that proxy saw: whatever comes before it the
// visitor may have written.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return a.Unmap()
			}
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(r.RemoteAddr)
	return a
}

// notePattern tells the observe middleware which route answered.
func notePattern(r *http.Request) {
	if p, ok := r.Context().Value(patternKey).(*string); ok {
		*p = r.Pattern
	}
}
