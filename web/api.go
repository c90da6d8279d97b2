package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"jifen"
)

// The API's request bodies. Field names are a contract with integrators.
type (
	sessionRequest struct {
		Phone    string `json:"phone"`
		Password string `json:"password"`
	}
	sessionResponse struct {
		Token string `json:"token"`
	}
	grantRequest struct {
		PersonID int64      `json:"person_id"`
		Role     jifen.Role `json:"role"`
	}
	meResponse struct {
		*jifen.Person
		Grants []jifen.Grant `json:"grants"`
	}
	list[T any] struct {
		Items   []T `json:"items"`
		Total   int `json:"total"`
		Page    int `json:"page"`
		PerPage int `json:"per_page"`
	}
)

func (s *Server) registerAPI() {
	api := func(method, path string, public bool, summary string, body, resp any, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: "/api/v1" + path, API: true, Public: public, Summary: summary, Body: body, Resp: resp}, h)
	}
	api("GET", "/openapi.json", true, "This document", nil, nil, s.openAPI)
	api("POST", "/sessions", true, "Sign in with phone (or volunteer number) and password; returns a bearer token", sessionRequest{}, sessionResponse{}, s.apiSignIn)
	api("DELETE", "/sessions", false, "Sign out: the bearer token stops working", nil, nil, s.apiSignOut)
	api("GET", "/me", false, "The signed-in person with their roles", nil, meResponse{}, s.apiMe)
	ctx := func(r *http.Request) context.Context { return r.Context() }
	api("POST", "/orgs", false, "Create an organisation under a parent the caller administers", jifen.OrgInput{}, jifen.Org{},
		endpoint(s, "org", http.StatusCreated, func(r *http.Request, _ int64, in *jifen.OrgInput) (*jifen.Org, error) {
			return s.svc.Orgs.CreateOrg(ctx(r), *in)
		}))
	api("GET", "/orgs/{id}", false, "One organisation", nil, jifen.Org{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Org, error) {
			return s.svc.Orgs.Org(ctx(r), id)
		}))
	api("GET", "/orgs/{id}/children", false, "The direct children of an organisation (archived=true to include archived ones)", nil, list[jifen.Org]{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.Org], error) {
			kids, err := s.svc.Orgs.Children(ctx(r), id, r.URL.Query().Get("archived") == "true")
			return listOf(kids), err
		}))
	api("POST", "/orgs/{id}/roles", false, "Grant a role on this organisation (valid for its subtree)", grantRequest{}, jifen.Grant{},
		endpoint(s, "org", http.StatusCreated, func(r *http.Request, id int64, in *grantRequest) (*jifen.Grant, error) {
			return s.svc.Auth.Grant(ctx(r), in.PersonID, id, in.Role)
		}))
	api("POST", "/people", false, "Register a person in an organisation", jifen.PersonInput{}, jifen.Person{},
		endpoint(s, "person", http.StatusCreated, func(r *http.Request, _ int64, in *jifen.PersonInput) (*jifen.Person, error) {
			return s.svc.People.CreatePerson(ctx(r), *in)
		}))
	api("GET", "/people/{id}", false, "One person", nil, jifen.Person{},
		endpoint(s, "person", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Person, error) {
			return s.svc.People.Person(ctx(r), id)
		}))
	api("GET", "/people", false, "Search people in the caller's scope by name, phone or volunteer number (q), org_id, page, per_page", nil, list[jifen.Person]{}, s.apiPeople)
	api("POST", "/people/{id}/erase", false, "Erase a person's personal data on their request (PIPL); records, points and the ledger stay", eraseRequest{}, jifen.Person{},
		endpoint(s, "person", http.StatusOK, func(r *http.Request, id int64, in *eraseRequest) (*jifen.Person, error) {
			if err := s.svc.People.ErasePerson(ctx(r), id, in.Reason); err != nil {
				return nil, err
			}
			return s.svc.People.Person(ctx(r), id)
		}))
}

// eraseRequest says on what grounds a person's data is erased.
type eraseRequest struct {
	Reason string `json:"reason"`
}

// decode reads a JSON body. Unreadable JSON is malformed (400); a value of
// the wrong type names its field.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return &jifen.Error{Kind: jifen.KindMalformed, Code: "malformed", Zh: "请求内容为空", En: "The request body is empty"}
		case errors.As(err, new(*time.ParseError)):
			return &jifen.Error{Kind: jifen.KindMalformed, Code: "malformed",
				Zh: "时间格式不正确，应为带时区的 RFC 3339 格式，如 2026-11-29T09:00:00+08:00", En: "A time is not valid: use RFC 3339 with an offset, e.g. 2026-11-29T09:00:00+08:00"}
		case errors.As(err, &te) && te.Field == "":
			// The body itself is of the wrong type (an array, a string).
			return &jifen.Error{Kind: jifen.KindMalformed, Code: "malformed", Zh: "请求内容应为JSON对象", En: "The request body must be a JSON object"}
		case errors.As(err, &te):
			return &jifen.Error{Kind: jifen.KindMalformed, Code: "malformed", Field: te.Field,
				Zh: "字段 " + te.Field + " 的类型不正确", En: "Field " + te.Field + " has the wrong type"}
		}
		return &jifen.Error{Kind: jifen.KindMalformed, Code: "malformed", Zh: "请求不是有效的JSON", En: "The request body is not valid JSON"}
	}
	if dec.More() {
		return &jifen.Error{Kind: jifen.KindMalformed, Code: "malformed", Zh: "请求包含多余内容", En: "Unexpected data after the JSON body"}
	}
	return nil
}

func (s *Server) apiSignIn(w http.ResponseWriter, r *http.Request) {
	var in sessionRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	token, err := s.svc.Auth.SignIn(r.Context(), in.Phone, in.Password, "api", s.clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sessionResponse{Token: token})
}

func (s *Server) apiSignOut(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	if err := s.svc.Auth.SignOut(r.Context(), bearer(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	p, err := s.svc.People.Person(r.Context(), a.PersonID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	grants := a.Grants
	if grants == nil {
		grants = []jifen.Grant{}
	}
	writeJSON(w, http.StatusOK, meResponse{Person: p, Grants: grants})
}

func (s *Server) apiPeople(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	q := r.URL.Query()
	f := jifen.PersonFilter{Q: q.Get("q"), Status: jifen.PersonStatus(q.Get("status"))}
	var err error
	if f.OrgID, err = queryInt(q.Get("org_id")); err != nil {
		s.fail(w, r, badQuery("org_id"))
		return
	}
	page, err := queryInt(q.Get("page"))
	if err != nil {
		s.fail(w, r, badQuery("page"))
		return
	}
	perPage, err := queryInt(q.Get("per_page"))
	if err != nil {
		s.fail(w, r, badQuery("per_page"))
		return
	}
	f.Page, f.PerPage = int(page), int(perPage)
	people, total, err := s.svc.People.People(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Normalize()
	items := make([]jifen.Person, len(people))
	for i, p := range people {
		items[i] = *p
	}
	writeJSON(w, http.StatusOK, list[jifen.Person]{Items: items, Total: total, Page: f.Page, PerPage: f.PerPage})
}

func queryInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("bad")
	}
	return n, nil
}

func badQuery(field string) error {
	return &jifen.Error{Kind: jifen.KindMalformed, Code: "malformed", Field: field, Zh: "参数 " + field + " 应为非负整数", En: "Parameter " + field + " must be a non-negative integer"}
}
