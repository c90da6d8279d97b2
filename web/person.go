package web

import (
	"net/http"
	"slices"
	"strconv"

	"jifen"
)

// PersonQRPrefix starts the text of a person's QR code: a counter or a
// team leader's console reads the volunteer number after it.
const PersonQRPrefix = "JFV:"

func (s *Server) peoplePage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	q := r.URL.Query()
	f := jifen.PersonFilter{Q: q.Get("q"), Status: jifen.PersonStatus(q.Get("status"))}
	f.OrgID, _ = strconv.ParseInt(q.Get("org_id"), 10, 64)
	f.Page, _ = strconv.Atoi(q.Get("page"))
	people, total, err := s.svc.People.People(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Normalize()
	pages := (total + f.PerPage - 1) / f.PerPage
	s.render(w, r, http.StatusOK, "people", map[string]any{"People": people, "Total": total, "F": f, "Pages": pages,
		"Prev": f.Page - 1, "Next": nextPage(f.Page, pages)})
}

func nextPage(page, pages int) int {
	if page < pages {
		return page + 1
	}
	return 0
}

func personInput(r *http.Request) jifen.PersonInput {
	in := jifen.PersonInput{
		Name: r.FormValue("name"), Gender: jifen.Gender(r.FormValue("gender")), BirthDate: r.FormValue("birth_date"),
		Phone: r.FormValue("phone"), IDNumber: r.FormValue("id_number"),
		PoliticalStatus: jifen.PoliticalStatus(r.FormValue("political_status")), Skills: jifen.SplitSkills(r.FormValue("skills")),
		OrgID: formInt(r, "org_id"),
	}
	if t := formInt(r, "team_id"); t > 0 {
		in.TeamIDs = []int64{t}
	}
	return in
}

// formOrgs lists the orgs the actor may register people into.
func (s *Server) formOrgs(r *http.Request) ([]*jifen.Org, error) {
	all, err := s.svc.Orgs.SignupOrgs(r.Context())
	if err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(r.Context())
	var out []*jifen.Org
	for _, o := range all {
		if a.Has(o.Path, jifen.RoleOrgAdmin) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (s *Server) personFormData(r *http.Request, in jifen.PersonInput, id int64) (map[string]any, error) {
	orgs, err := s.formOrgs(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"In": in, "ID": id, "Orgs": orgs, "Political": jifen.PoliticalStatuses}, nil
}

func (s *Server) personNewPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	in := jifen.PersonInput{OrgID: formInt(r, "org_id")}
	data, err := s.personFormData(r, in, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "person_form", data)
}

func (s *Server) personCreate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	in := personInput(r)
	p, err := s.svc.People.CreatePerson(r.Context(), in)
	if err != nil {
		data, derr := s.personFormData(r, in, 0)
		if derr != nil {
			s.fail(w, r, derr)
			return
		}
		s.formFail(w, r, "person_form", data, err)
		return
	}
	redirect(w, r, "/people/"+itoa(p.ID)+"?done=created")
}

func (s *Server) personData(r *http.Request, id int64) (map[string]any, error) {
	p, err := s.svc.People.Person(r.Context(), id)
	if err != nil {
		return nil, err
	}
	grants, err := s.svc.Auth.Grants(r.Context(), id)
	if err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(r.Context())
	org, err := s.svc.Orgs.Org(r.Context(), p.HomeOrgID)
	if err != nil {
		return nil, err
	}
	hours, err := s.svc.Records.Hours(r.Context(), id)
	if err != nil {
		return nil, err
	}
	// The orgs this admin may issue a certificate in the name of.
	issuers, err := s.svc.Certificates.Issuers(r.Context(), id)
	if err != nil {
		return nil, err
	}
	issuers = slices.DeleteFunc(issuers, func(i jifen.CertificateIssuer) bool { return !i.CanIssue })
	// P is what a failed form sent, for it to show again.
	return map[string]any{"Person": p, "Grants": grants, "Roles": jifen.Roles, "Org": org, "Political": jifen.PoliticalStatuses, "Hours": hours, "Issuers": issuers,
		"Admin": a.Has(org.Path, jifen.RoleOrgAdmin), "Self": a.PersonID == p.ID, "P": postedForm(r)}, nil
}

// personDetail is the person page and the admin's actions on it.
func (s *Server) personDetail() detail {
	return detail{s: s, name: "person", path: "/people/%d", data: s.personData}
}

func (s *Server) personReveal(r *http.Request, id int64) (map[string]any, error) {
	full, err := s.svc.People.RevealIDNumber(r.Context(), id)
	return map[string]any{"Revealed": full}, err
}

func (s *Server) personCode(r *http.Request, id int64) (map[string]any, error) {
	code, expires, err := s.svc.Auth.IssueResetCode(r.Context(), id)
	return map[string]any{"Code": code, "CodeExpires": expires}, err
}

func (s *Server) personPIN(r *http.Request, id int64) error {
	if r.FormValue("pin") != r.FormValue("pin2") {
		return jifen.Invalid("pin2", "两次输入的密码不一致", "The two PINs differ")
	}
	return s.svc.People.SetPIN(r.Context(), id, r.FormValue("pin"))
}

// personMessage sends the person a message.
func (s *Server) personMessage(r *http.Request, id int64) error {
	return s.svc.Messages.SendMessage(r.Context(), id, r.FormValue("title"), r.FormValue("body"))
}

func (s *Server) personGrant(r *http.Request, id int64) error {
	_, err := s.svc.Auth.Grant(r.Context(), id, formInt(r, "org_id"), jifen.Role(r.FormValue("role")))
	return err
}

func (s *Server) personEditPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if a := jifen.ActorFrom(r.Context()); a != nil && a.PersonID == id {
		if paths, all := a.ScopePaths(jifen.StaffRoles...); !all && len(paths) == 0 {
			// Someone without a staff role edits themselves on 我的: the
			// staff form's name, birth date and org are not theirs to change.
			redirect(w, r, "/me")
			return
		}
	}
	p, err := s.svc.People.Person(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := jifen.PersonInput{Name: p.Name, Gender: p.Gender, BirthDate: p.BirthDate, Phone: p.Phone,
		PoliticalStatus: p.PoliticalStatus, Skills: p.Skills, OrgID: p.HomeOrgID}
	data, err := s.personFormData(r, in, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["Person"] = p
	s.render(w, r, http.StatusOK, "person_form", data)
}

func (s *Server) personUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := personInput(r)
	if _, err := s.svc.People.UpdatePerson(r.Context(), id, in); err != nil {
		data, derr := s.personFormData(r, in, id)
		if derr != nil {
			s.fail(w, r, derr)
			return
		}
		s.formFail(w, r, "person_form", data, err)
		return
	}
	redirect(w, r, "/people/"+r.PathValue("id")+"?done=saved")
}

func (s *Server) grantRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.Auth.RevokeGrant(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	back := r.FormValue("back")
	if !safeNext(back) {
		back = "/people"
	}
	redirect(w, r, back)
}

func (s *Server) personCard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.svc.People.Person(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "card", map[string]any{"Person": p})
}

func (s *Server) personQR(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.svc.People.Person(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeQR(w, r, PersonQRPrefix+p.VolunteerNo)
}

// Me pages: the signed-in person's own profile.

func (s *Server) mePage(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	data, err := s.personData(r, a.PersonID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "me", data)
}

func (s *Server) meFail(w http.ResponseWriter, r *http.Request, err error) {
	s.meFormFail(w, r, "", err)
}

// meFormFail shows the page again with err; form names the form that
// failed, which then shows what was typed instead of what is stored.
func (s *Server) meFormFail(w http.ResponseWriter, r *http.Request, form string, err error) {
	a := jifen.ActorFrom(r.Context())
	data, derr := s.personData(r, a.PersonID)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	data["Form"] = form
	s.formFail(w, r, "me", data, err)
}

func (s *Server) meUpdate(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	p, err := s.svc.People.Person(r.Context(), a.PersonID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := jifen.PersonInput{Name: p.Name, Gender: p.Gender, BirthDate: p.BirthDate, OrgID: p.HomeOrgID,
		Phone: r.FormValue("phone"), PoliticalStatus: jifen.PoliticalStatus(r.FormValue("political_status")),
		Skills: jifen.SplitSkills(r.FormValue("skills"))}
	if _, err := s.svc.People.UpdatePerson(r.Context(), a.PersonID, in); err != nil {
		s.meFormFail(w, r, "profile", err)
		return
	}
	redirect(w, r, "/me?done=saved")
}

func (s *Server) mePassword(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	if r.FormValue("password") != r.FormValue("password2") {
		s.meFail(w, r, jifen.Invalid("password2", "两次输入的密码不一致", "The two passwords differ"))
		return
	}
	if err := s.svc.Auth.ChangePassword(r.Context(), r.FormValue("old_password"), r.FormValue("password")); err != nil {
		s.meFail(w, r, err)
		return
	}
	redirect(w, r, "/me?done=password_set")
}

func (s *Server) meQR(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	p, err := s.svc.People.Person(r.Context(), a.PersonID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeQR(w, r, PersonQRPrefix+p.VolunteerNo)
}
