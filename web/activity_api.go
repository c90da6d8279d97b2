package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"jifen"
)

// The volunteer-service API. Field names are fixed with integrators.
type (
	idResponse struct {
		ID int64 `json:"id"`
	}
	signupRequest struct {
		PersonID int64 `json:"person_id"`
	}
	signupResponse struct {
		Status jifen.SignupStatus `json:"status"`
	}
	codeResponse struct {
		Code      string    `json:"code"`
		ExpiresAt time.Time `json:"expires_at"`
		URL       string    `json:"url"`
	}
	checkinRequest struct {
		Code string   `json:"code"`
		Lat  *float64 `json:"lat"`
		Lon  *float64 `json:"lon"`
	}
	backfillRequest struct {
		PersonID  int64     `json:"person_id"`
		StartedAt time.Time `json:"started_at"`
		EndedAt   time.Time `json:"ended_at"`
		Reason    string    `json:"reason"`
	}
	verifyResponse struct {
		Status  jifen.ActivityStatus `json:"status"`
		Records int                  `json:"records"`
	}
	cancelRequest struct {
		Reason string `json:"reason"`
	}
	transferRequest struct {
		PersonID int64  `json:"person_id"`
		ToOrgID  int64  `json:"to_org_id"`
		Reason   string `json:"reason"`
	}
	answerRequest struct {
		Answer string `json:"answer"`
	}
	// consentRequest is required to say yes or no: a missing answer must
	// not read as a refusal.
	consentRequest struct {
		Agree *bool `json:"agree"`
	}
	certificateRequest struct {
		PersonID int64 `json:"person_id"`
		// OrgID: the org that recorded the service issues it, for what it
		// recorded (0: the home org, for all service).
		OrgID int64    `json:"org_id"`
		From  flexDate `json:"from"`
		To    flexDate `json:"to"`
	}
	certificateResponse struct {
		Serial     string `json:"serial"`
		URL        string `json:"url"`
		PDF        string `json:"pdf_url"`
		Minutes    int    `json:"minutes"`
		IssuedAt   string `json:"issued_at"`
		IssuerName string `json:"issuer_name"`
		OrgID      int64  `json:"org_id"`
		OrgOnly    bool   `json:"org_only"`
	}
	correctionRequest struct {
		WantedMinutes int    `json:"wanted_minutes"`
		Reason        string `json:"reason"`
	}
	statusResponse struct {
		Status string `json:"status"`
	}
)

func (signupRequest) optional() {}
func (answerRequest) optional() {}

// flexDate takes a date ("2026-11-01", read in Asia/Shanghai) or a full
// RFC 3339 time; people type dates, programs send times.
type flexDate struct{ time.Time }

func (d *flexDate) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, jifen.Zone); err == nil {
		d.Time = t
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string " + s, Type: nil}
	}
	d.Time = t
	return nil
}

func (s *Server) registerActivityAPI() {
	api := func(method, path, summary string, body, resp any, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: "/api/v1" + path, API: true, Summary: summary, Body: body, Resp: resp}, h)
	}
	acts, recs := s.svc.Activities, s.svc.Records
	ctx := func(r *http.Request) context.Context { return r.Context() }
	me := func(r *http.Request) int64 { return jifen.ActorFrom(r.Context()).PersonID }
	// after answers with the activity as it is after an action.
	after := func(r *http.Request, id int64, err error) (*jifen.Activity, error) {
		if err != nil {
			return nil, err
		}
		return acts.Activity(ctx(r), id)
	}

	api("POST", "/projects", "Create a volunteer-service project in an org", jifen.ProjectInput{}, jifen.Project{},
		endpoint(s, "project", http.StatusCreated, func(r *http.Request, _ int64, in *jifen.ProjectInput) (*jifen.Project, error) {
			return acts.CreateProject(ctx(r), *in)
		}))
	api("GET", "/projects/{id}", "A project with its totals", nil, jifen.Project{},
		endpoint(s, "project", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Project, error) {
			return acts.Project(ctx(r), id)
		}))
	api("POST", "/activities", "Create a draft activity", jifen.ActivityInput{}, jifen.Activity{},
		endpoint(s, "activity", http.StatusCreated, func(r *http.Request, _ int64, in *jifen.ActivityInput) (*jifen.Activity, error) {
			return acts.CreateActivity(ctx(r), *in)
		}))
	api("GET", "/activities", "Activities: org_id, category, status, from, to (RFC 3339 or date), mine=true, page", nil, list[jifen.Activity]{}, s.apiActivities)
	api("GET", "/activities/{id}", "One activity", nil, jifen.Activity{},
		endpoint(s, "activity", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Activity, error) {
			return acts.Activity(ctx(r), id)
		}))
	api("POST", "/activities/{id}/publish", "Open a draft for sign-up", nil, jifen.Activity{},
		endpoint(s, "activity", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Activity, error) {
			return after(r, id, acts.Publish(ctx(r), id))
		}))
	api("POST", "/activities/{id}/cancel", "Cancel with a reason; everyone signed up is told", cancelRequest{}, jifen.Activity{},
		endpoint(s, "activity", http.StatusOK, func(r *http.Request, id int64, in *cancelRequest) (*jifen.Activity, error) {
			return after(r, id, acts.Cancel(ctx(r), id, in.Reason))
		}))
	api("POST", "/activities/{id}/signups", "Sign up (self, empty body) or add someone (leader, person_id)", signupRequest{}, signupResponse{},
		endpoint(s, "activity", http.StatusCreated, func(r *http.Request, id int64, in *signupRequest) (signupResponse, error) {
			if in.PersonID == 0 {
				in.PersonID = me(r)
			}
			st, err := acts.SignUp(ctx(r), id, in.PersonID)
			return signupResponse{Status: st}, err
		}))
	api("GET", "/activities/{id}/signups", "Sign-ups, confirmed first, the waitlist in order (leader)", nil, list[jifen.Signup]{},
		endpoint(s, "activity", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.Signup], error) {
			sus, err := acts.Signups(ctx(r), id)
			return listOf(sus), err
		}))
	api("DELETE", "/activities/{id}/signups/{person_id}", "Cancel a sign-up; the waitlist moves up", nil, nil,
		endpoint(s, "activity", http.StatusNoContent, func(r *http.Request, id int64, _ *none) (*none, error) {
			pid, err := pathID(r, "person_id")
			if err != nil {
				return nil, jifen.NotFound("person")
			}
			return nil, acts.CancelSignup(ctx(r), id, pid)
		}))
	api("GET", "/activities/{id}/checkin-code", "The rotating check-in code for the screen (leader)", nil, codeResponse{},
		endpoint(s, "activity", http.StatusOK, func(r *http.Request, id int64, _ *none) (codeResponse, error) {
			code, exp, err := acts.CheckinCode(ctx(r), id)
			return codeResponse{Code: code, ExpiresAt: exp, URL: s.checkinURL(id, code)}, err
		}))
	api("POST", "/activities/{id}/checkins", "Check in with the code on the screen (self)", checkinRequest{}, jifen.Attendance{},
		endpoint(s, "activity", http.StatusCreated, func(r *http.Request, id int64, in *checkinRequest) (*jifen.Attendance, error) {
			return acts.CheckIn(ctx(r), id, in.Code, in.Lat, in.Lon)
		}))
	api("POST", "/activities/{id}/checkouts", "Check out with the code on the screen (self)", checkinRequest{}, jifen.Attendance{},
		endpoint(s, "activity", http.StatusCreated, func(r *http.Request, id int64, in *checkinRequest) (*jifen.Attendance, error) {
			return acts.CheckOut(ctx(r), id, in.Code, in.Lat, in.Lon)
		}))
	api("POST", "/activities/{id}/attendance", "Back-fill presence with a reason (leader)", backfillRequest{}, jifen.Attendance{},
		endpoint(s, "activity", http.StatusCreated, func(r *http.Request, id int64, in *backfillRequest) (*jifen.Attendance, error) {
			return acts.Backfill(ctx(r), id, in.PersonID, in.StartedAt, in.EndedAt, in.Reason)
		}))
	api("GET", "/activities/{id}/attendance", "Presence intervals (leader)", nil, list[jifen.Attendance]{},
		endpoint(s, "activity", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.Attendance], error) {
			atts, err := acts.Attendance(ctx(r), id)
			return listOf(atts), err
		}))
	api("POST", "/activities/{id}/verify", "Turn attendance into verified service records (leader)", nil, verifyResponse{},
		endpoint(s, "activity", http.StatusOK, func(r *http.Request, id int64, _ *none) (verifyResponse, error) {
			n, err := acts.Verify(ctx(r), id)
			return verifyResponse{Status: jifen.ActivityVerified, Records: n}, err
		}))
	api("GET", "/people/{id}/service-records", "A person's verified service records, newest first (page)", nil, list[jifen.ServiceRecord]{},
		endpoint(s, "person", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.ServiceRecord], error) {
			page, err := queryInt(r.URL.Query().Get("page"))
			if err != nil {
				return list[jifen.ServiceRecord]{}, badQuery("page")
			}
			f := jifen.RecordFilter{PersonID: id, PerPage: 50}
			f.Page, f.PerPage = jifen.Paging(int(page), f.PerPage, 50, 50)
			rs, total, err := recs.Records(ctx(r), f)
			l := listOf(rs)
			l.Total, l.Page, l.PerPage = total, f.Page, f.PerPage
			return l, err
		}))
	api("GET", "/people/{id}/hours", "A person's verified hours and star level", nil, jifen.Hours{},
		endpoint(s, "person", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Hours, error) {
			return recs.Hours(ctx(r), id)
		}))
	api("GET", "/people/{id}/certificate-issuers", "The orgs that recorded a person's service, most hours first, and whether the caller may ask each for a certificate (org_id of POST /certificates)",
		nil, list[jifen.CertificateIssuer]{},
		endpoint(s, "person", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.CertificateIssuer], error) {
			is, err := s.svc.Certificates.Issuers(ctx(r), id)
			return list[jifen.CertificateIssuer]{Items: is, Total: len(is), Page: 1, PerPage: max(len(is), 1)}, err
		}))
	api("POST", "/service-records/{id}/corrections", "Ask for one's own record to be corrected", correctionRequest{}, jifen.CorrectionRequest{},
		endpoint(s, "record", http.StatusCreated, func(r *http.Request, id int64, in *correctionRequest) (*jifen.CorrectionRequest, error) {
			return recs.RequestCorrection(ctx(r), id, in.WantedMinutes, in.Reason)
		}))
	api("POST", "/transfers", "Ask to move a person (default: oneself) to another org or team", transferRequest{}, jifen.Transfer{},
		endpoint(s, "transfer", http.StatusCreated, func(r *http.Request, _ int64, in *transferRequest) (*jifen.Transfer, error) {
			if in.PersonID == 0 {
				in.PersonID = me(r)
			}
			return s.svc.Transfers.RequestTransfer(ctx(r), in.PersonID, in.ToOrgID, in.Reason)
		}))
	api("POST", "/transfers/{id}/consent", "The person's answer to a transfer someone else asked for (agree: true or false)", consentRequest{}, statusResponse{},
		endpoint(s, "transfer", http.StatusOK, func(r *http.Request, id int64, in *consentRequest) (statusResponse, error) {
			if in.Agree == nil {
				return statusResponse{}, jifen.Invalid("agree", "请回答是否同意（agree: true 或 false）", "Say whether you agree (agree: true or false)")
			}
			if err := s.svc.Transfers.Consent(ctx(r), id, *in.Agree); err != nil {
				return statusResponse{}, err
			}
			if *in.Agree {
				return statusResponse{jifen.TransferPending}, nil
			}
			return statusResponse{jifen.TransferRejected}, nil
		}))
	api("POST", "/transfers/{id}/approve", "Approve a transfer (receiving side)", nil, statusResponse{},
		endpoint(s, "transfer", http.StatusOK, func(r *http.Request, id int64, _ *none) (statusResponse, error) {
			return statusResponse{jifen.TransferApproved}, s.svc.Transfers.Approve(ctx(r), id)
		}))
	api("POST", "/transfers/{id}/reject", "Reject a transfer (receiving side), optionally with an answer", answerRequest{}, statusResponse{},
		endpoint(s, "transfer", http.StatusOK, func(r *http.Request, id int64, in *answerRequest) (statusResponse, error) {
			return statusResponse{jifen.TransferRejected}, s.svc.Transfers.Reject(ctx(r), id, in.Answer)
		}))
	api("POST", "/certificates", "Issue a service certificate for a period (from, to: dates; person_id default: oneself; org_id: the org that recorded the service issues it for what it recorded, default the home org for all service)", certificateRequest{}, certificateResponse{},
		endpoint(s, "person", http.StatusCreated, func(r *http.Request, _ int64, in *certificateRequest) (certificateResponse, error) {
			if in.PersonID == 0 {
				in.PersonID = me(r)
			}
			to := in.To.Time
			if !to.IsZero() && to.Hour() == 0 && to.Minute() == 0 && to.Second() == 0 {
				to = to.AddDate(0, 0, 1) // a date as the end means the whole of that day
			}
			c, err := s.svc.Certificates.Issue(ctx(r), jifen.CertificateRequest{PersonID: in.PersonID, OrgID: in.OrgID, From: in.From.Time, To: to})
			if err != nil {
				return certificateResponse{}, err
			}
			return certificateResponse{Serial: c.Serial, URL: s.verifyURL(c), PDF: s.cfg.PublicURL + "/certificates/" + c.Serial + ".pdf",
				Minutes: c.Minutes, IssuedAt: c.IssuedAt.Format(time.RFC3339), IssuerName: c.IssuerName, OrgID: c.OrgID, OrgOnly: c.OrgOnly}, nil
		}))
}

// decodeOptional reads a JSON body that may be absent.
func decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Transfer-Encoding") == "" {
		return nil
	}
	err := decode(r, v)
	if e, ok := err.(*jifen.Error); ok && e.Code == "malformed" && strings.Contains(e.En, "empty") {
		return nil
	}
	return err
}

func queryTime(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.ParseInLocation("2006-01-02", v, jifen.Zone); err == nil {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

func (s *Server) apiActivities(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	q := r.URL.Query()
	f := jifen.ActivityFilter{Category: q.Get("category"), Status: jifen.ActivityStatus(q.Get("status")), Mine: q.Get("mine") == "true"}
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
	f.Page = int(page)
	var ok bool
	if f.From, ok = queryTime(q.Get("from")); !ok {
		s.fail(w, r, badQuery("from"))
		return
	}
	if f.To, ok = queryTime(q.Get("to")); !ok {
		s.fail(w, r, badQuery("to"))
		return
	}
	acts, total, err := s.svc.Activities.Activities(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]jifen.Activity, len(acts))
	for i, a := range acts {
		items[i] = *a
	}
	served, _ := jifen.Paging(f.Page, 20, 20, 20) // the page the service served
	writeJSON(w, http.StatusOK, list[jifen.Activity]{Items: items, Total: total, Page: served, PerPage: 20})
}

// listOf wraps a whole (unpaged) list in the list envelope.
func listOf[T any](items []*T) list[T] {
	out := make([]T, len(items))
	for i, x := range items {
		out[i] = *x
	}
	return list[T]{Items: out, Total: len(out), Page: 1, PerPage: max(len(out), 1)}
}

// checkinURL is the page a volunteer's camera opens from the screen's QR.
func (s *Server) checkinURL(activityID int64, code string) string {
	return s.cfg.PublicURL + "/checkin/" + itoa(activityID) + "?code=" + code
}

// verifyURL is the public check page printed on a certificate.
func (s *Server) verifyURL(c *jifen.Certificate) string {
	return s.cfg.PublicURL + "/verify/" + c.VerifyCode()
}
