package web

import (
	"io"
	"net/http"

	"jifen"
)

// orgsPage lists the roots of the actor's view: the orgs where they hold a
// staff role, or else the orgs on the path to their home.
func (s *Server) orgsPage(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	var roots []*jifen.Org
	seen := map[int64]bool{}
	add := func(id int64) {
		if seen[id] {
			return
		}
		seen[id] = true
		if o, err := s.svc.Orgs.Org(r.Context(), id); err == nil {
			roots = append(roots, o)
		}
	}
	for _, g := range a.Grants {
		add(g.OrgID)
	}
	if len(roots) == 0 {
		add(a.HomeOrgID)
	}
	s.render(w, r, http.StatusOK, "orgs", map[string]any{"Roots": roots})
}

func (s *Server) orgData(r *http.Request, id int64) (map[string]any, error) {
	o, err := s.svc.Orgs.Org(r.Context(), id)
	if err != nil {
		return nil, err
	}
	anc, err := s.svc.Orgs.Ancestors(r.Context(), id)
	if err != nil {
		return nil, err
	}
	kids, err := s.svc.Orgs.Children(r.Context(), id, false)
	if err != nil {
		return nil, err
	}
	// A failed form opens again with what was typed (P): each form names
	// itself in a hidden field.
	return map[string]any{"Org": o, "Ancestors": anc, "Children": kids, "Kinds": jifen.OrgKinds, "Form": r.PostFormValue("form"), "P": postedForm(r)}, nil
}

// orgDetail is the org page and the admin's forms on it.
func (s *Server) orgDetail() detail {
	return detail{s: s, name: "org", path: "/orgs/%d", data: s.orgData}
}

func (s *Server) orgUpdate(r *http.Request, id int64) error {
	_, err := s.svc.Orgs.UpdateOrg(r.Context(), id, orgInput(r))
	return err
}

func (s *Server) orgMove(r *http.Request, id int64) error {
	_, err := s.svc.Orgs.MoveOrg(r.Context(), id, formInt(r, "parent_id"))
	return err
}

func (s *Server) orgSealUpload(r *http.Request, id int64) error {
	f, _, err := r.FormFile("seal")
	if err != nil {
		return jifen.Invalid("seal", "请选择印章图片（PNG）", "Choose a seal image (PNG)")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return err
	}
	return s.svc.Orgs.SetSeal(r.Context(), id, b)
}

func orgInput(r *http.Request) jifen.OrgInput {
	return jifen.OrgInput{
		Name: r.FormValue("name"), Kind: jifen.OrgKind(r.FormValue("kind")), LeaderName: r.FormValue("leader_name"),
		ContactPhone: r.FormValue("contact_phone"), Address: r.FormValue("address"),
		SignupRequiresApproval: r.FormValue("signup_requires_approval") == "yes",
	}
}

func (s *Server) orgCreateChild(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := orgInput(r)
	in.ParentID = &id
	o, err := s.svc.Orgs.CreateOrg(r.Context(), in)
	if err != nil {
		s.orgDetail().fail(w, r, id, err)
		return
	}
	redirect(w, r, "/orgs/"+itoa(o.ID)+"?done=created")
}

func (s *Server) orgSeal(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.svc.Orgs.Seal(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(b)
}
