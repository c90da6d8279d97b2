package web

import (
	"net/http"
	"strconv"
)

func (s *Server) messagesPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
	}
	msgs, total, err := s.svc.Messages.Messages(r.Context(), page, 20)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := (total + 19) / 20
	s.render(w, r, http.StatusOK, "messages", map[string]any{"Messages": msgs, "Total": total, "Page": page,
		"Prev": page - 1, "Next": nextPage(page, pages)})
}

func (s *Server) messageRead(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.Messages.MarkRead(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/messages")
}
