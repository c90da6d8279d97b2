package web

import (
	"net/http"
	"time"

	"jifen"
)

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", map[string]any{"Next": r.URL.Query().Get("next")})
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	phone, next := r.FormValue("phone"), r.FormValue("next")
	token, err := s.svc.Auth.SignIn(r.Context(), phone, r.FormValue("password"), "web", s.clientIP(r))
	if err != nil {
		s.formFail(w, r, "signin", map[string]any{"Phone": phone, "Next": next}, err)
		return
	}
	s.setCookie(w, sessionCookie, token, 30*24*time.Hour)
	if !safeNext(next) {
		next = "/"
	}
	redirect(w, r, next)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.svc.Auth.SignOut(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.clearCookie(w, sessionCookie)
	redirect(w, r, "/")
}

func (s *Server) signupData(r *http.Request) (map[string]any, error) {
	orgs, err := s.svc.Orgs.SignupOrgs(r.Context())
	if err != nil {
		return nil, err
	}
	return map[string]any{"Orgs": orgs, "Political": jifen.PoliticalStatuses, "NoticeVersion": jifen.PrivacyNoticeVersion}, nil
}

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) {
	data, err := s.signupData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["In"] = jifen.SignupInput{}
	s.render(w, r, http.StatusOK, "signup", data)
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	in := jifen.SignupInput{
		PersonInput: jifen.PersonInput{
			Name: r.FormValue("name"), Gender: jifen.Gender(r.FormValue("gender")), BirthDate: r.FormValue("birth_date"),
			Phone: r.FormValue("phone"), Password: r.FormValue("password"), IDNumber: r.FormValue("id_number"),
			PoliticalStatus: jifen.PoliticalStatus(r.FormValue("political_status")), Skills: jifen.SplitSkills(r.FormValue("skills")),
			OrgID: formInt(r, "org_id"),
		},
		GuardianName: r.FormValue("guardian_name"), GuardianPhone: r.FormValue("guardian_phone"),
		GuardianConsent: r.FormValue("guardian_consent") == "yes",
	}
	if r.FormValue("consent") == "yes" {
		in.ConsentVersion = r.FormValue("consent_version")
	}
	if r.FormValue("password") != r.FormValue("password2") {
		s.signupFail(w, r, in, jifen.Invalid("password2", "两次输入的密码不一致", "The two passwords differ"))
		return
	}
	p, token, err := s.svc.Auth.Signup(r.Context(), in, s.clientIP(r))
	if err != nil {
		s.signupFail(w, r, in, err)
		return
	}
	if token == "" {
		s.render(w, r, http.StatusOK, "signup_pending", map[string]any{"Person": p})
		return
	}
	s.setCookie(w, sessionCookie, token, 30*24*time.Hour)
	redirect(w, r, "/me?done=welcome")
}

func (s *Server) signupFail(w http.ResponseWriter, r *http.Request, in jifen.SignupInput, err error) {
	data, derr := s.signupData(r)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	in.Password = ""
	data["In"] = in
	s.formFail(w, r, "signup", data, err)
}

func (s *Server) privacy(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "privacy", map[string]any{"Version": jifen.PrivacyNoticeVersion})
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "reset", map[string]any{})
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	login := r.FormValue("login")
	data := map[string]any{"Login": login}
	if r.FormValue("password") != r.FormValue("password2") {
		s.formFail(w, r, "reset", data, jifen.Invalid("password2", "两次输入的密码不一致", "The two passwords differ"))
		return
	}
	if err := s.svc.Auth.ResetPassword(r.Context(), login, r.FormValue("code"), r.FormValue("password"), s.clientIP(r)); err != nil {
		s.formFail(w, r, "reset", data, err)
		return
	}
	redirect(w, r, "/signin?done=password_set")
}
