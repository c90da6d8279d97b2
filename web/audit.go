package web

import (
	"net/http"
	"strconv"

	"jifen"
)

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	q := r.URL.Query()
	f := jifen.AuditFilter{Action: q.Get("action"), PerPage: 50}
	f.OrgID, _ = strconv.ParseInt(q.Get("org_id"), 10, 64)
	f.Page, _ = strconv.Atoi(q.Get("page"))
	if f.Page < 1 {
		f.Page = 1
	}
	entries, total, err := s.svc.Audit.Audit(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := (total + f.PerPage - 1) / f.PerPage
	s.render(w, r, http.StatusOK, "audit", map[string]any{"Entries": entries, "Total": total, "F": f,
		"Prev": f.Page - 1, "Next": nextPage(f.Page, pages)})
}
