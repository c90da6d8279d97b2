package web

import (
	"net/http"
	"strconv"

	"jifen"
)

func (s *Server) registerPages() {
	page := func(method, path string, public bool, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: path, Public: public}, h)
	}
	page("GET", "/signin", true, s.signinPage)
	page("POST", "/signin", true, s.signin)
	page("POST", "/signout", true, s.signout)
	page("GET", "/signup", true, s.signupPage)
	page("POST", "/signup", true, s.signup)
	page("GET", "/reset", true, s.resetPage)
	page("POST", "/reset", true, s.reset)
	page("GET", "/privacy", true, s.privacy)

	page("GET", "/me", false, s.mePage)
	page("POST", "/me", false, s.meUpdate)
	page("POST", "/me/password", false, s.mePassword)
	page("GET", "/me/qr.png", false, s.meQR)
	page("GET", "/messages", false, s.messagesPage)
	page("POST", "/messages/{id}/read", false, s.messageRead)

	page("GET", "/orgs", false, s.orgsPage)
	org := s.orgDetail()
	page("GET", "/orgs/{id}", false, org.show)
	page("POST", "/orgs/{id}", false, org.action(then("saved", s.orgUpdate)))
	page("POST", "/orgs/{id}/children", false, s.orgCreateChild)
	page("POST", "/orgs/{id}/move", false, org.action(then("moved", s.orgMove)))
	page("POST", "/orgs/{id}/archive", false, org.action(then("archived", func(r *http.Request, id int64) error {
		return s.svc.Orgs.ArchiveOrg(r.Context(), id)
	})))
	page("POST", "/orgs/{id}/seal", false, org.action(then("saved", s.orgSealUpload)))
	page("GET", "/orgs/{id}/seal.png", false, s.orgSeal)

	page("GET", "/people", false, s.peoplePage)
	page("GET", "/people/new", false, s.personNewPage)
	page("POST", "/people", false, s.personCreate)
	person := s.personDetail()
	page("GET", "/people/{id}", false, person.show)
	page("GET", "/people/{id}/edit", false, s.personEditPage)
	page("POST", "/people/{id}", false, s.personUpdate)
	page("POST", "/people/{id}/reveal", false, person.reply(s.personReveal))
	page("POST", "/people/{id}/code", false, person.reply(s.personCode))
	page("POST", "/people/{id}/pin", false, person.action(then("pin_set", s.personPIN)))
	page("POST", "/people/{id}/erase", false, person.action(then("erased", func(r *http.Request, id int64) error {
		return s.svc.People.ErasePerson(r.Context(), id, r.FormValue("reason"))
	})))
	page("POST", "/people/{id}/approve", false, person.action(then("approved", func(r *http.Request, id int64) error {
		return s.svc.People.ApprovePerson(r.Context(), id)
	})))
	page("POST", "/people/{id}/roles", false, person.action(then("granted", s.personGrant)))
	page("POST", "/people/{id}/message", false, person.action(then("sent", s.personMessage)))
	page("POST", "/grants/{id}/revoke", false, s.grantRevoke)
	page("GET", "/people/{id}/card", false, s.personCard)
	page("GET", "/people/{id}/qr.png", false, s.personQR)

	page("GET", "/import", false, s.importPage)
	page("POST", "/import", false, s.importUpload)
	page("POST", "/import/{id}/commit", false, s.importCommit)

	page("GET", "/audit", false, s.auditPage)
}

// home shows what the person can do, or the welcome page when signed out.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	a := jifen.ActorFrom(r.Context())
	data := map[string]any{}
	if a != nil {
		p, err := s.svc.People.Person(r.Context(), a.PersonID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		data["Me"] = p
		msgs, _, err := s.svc.Messages.Messages(r.Context(), 1, 3)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		data["Messages"] = msgs
		if data["Counters"], data["StoreAdmin"], err = s.homeStores(r); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "home", data)
}

// pathID reads a positive integer id from the path.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, jifen.NotFound("page")
	}
	return id, nil
}

// signedIn returns the actor or fails the request with 401/redirect.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) *jifen.Actor {
	a := jifen.ActorFrom(r.Context())
	if a == nil {
		s.fail(w, r, jifen.ErrUnauthorized)
	}
	return a
}

// formFail re-renders a form with the error next to its field when the
// person can fix it, and falls back to the error page otherwise.
func (s *Server) formFail(w http.ResponseWriter, r *http.Request, name string, data map[string]any, err error) {
	e := asError(err)
	switch e.Kind {
	case jifen.KindInvalid, jifen.KindConflict, jifen.KindTooMany, jifen.KindMalformed, jifen.KindTooLarge:
	case jifen.KindUnauthorized:
		if name != "signin" && name != "reset" {
			s.fail(w, r, err)
			return
		}
	default:
		s.fail(w, r, err)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	data["Error"] = e.Message(langOf(r))
	data["Field"] = e.Field
	s.render(w, r, status(e.Kind), name, data)
}

func formInt(r *http.Request, name string) int64 {
	n, _ := strconv.ParseInt(r.FormValue(name), 10, 64)
	return n
}

// signedInPage renders a page for a signed-in person from what data finds
// for the request, or the error page.
func signedInPage(s *Server, w http.ResponseWriter, r *http.Request, name string, data func(*http.Request) (map[string]any, error)) {
	if s.signedIn(w, r) == nil {
		return
	}
	d, err := data(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, name, d)
}
