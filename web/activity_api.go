package web

import (
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
	certificateRequest struct {
		PersonID int64    `json:"person_id"`
		From     flexDate `json:"from"`
		To       flexDate `json:"to"`
	}
	certificateResponse struct {
		Serial     string `json:"serial"`
		URL        string `json:"url"`
		PDF        string `json:"pdf_url"`
		Minutes    int    `json:"minutes"`
		IssuedAt   string `json:"issued_at"`
		IssuerName string `json:"issuer_name"`
	}
	correctionRequest struct {
		WantedMinutes int    `json:"wanted_minutes"`
		Reason        string `json:"reason"`
	}
)

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
	api("POST", "/projects", "Create a volunteer-service project in an org", jifen.ProjectInput{}, jifen.Project{}, s.apiCreateProject)
	api("GET", "/projects/{id}", "A project with its totals", nil, jifen.Project{}, s.apiProject)
	api("POST", "/activities", "Create a draft activity", jifen.ActivityInput{}, jifen.Activity{}, s.apiCreateActivity)
	api("GET", "/activities", "Activities: org_id, category, status, from, to (RFC 3339 or date), mine=true, page", nil, list[jifen.Activity]{}, s.apiActivities)
	api("GET", "/activities/{id}", "One activity", nil, jifen.Activity{}, s.apiActivity)
	api("POST", "/activities/{id}/publish", "Open a draft for sign-up", nil, jifen.Activity{}, s.apiPublish)
	api("POST", "/activities/{id}/cancel", "Cancel with a reason; everyone signed up is told", cancelRequest{}, jifen.Activity{}, s.apiCancelActivity)
	api("POST", "/activities/{id}/signups", "Sign up (self, empty body) or add someone (leader, person_id)", signupRequest{}, signupResponse{}, s.apiSignUp)
	api("GET", "/activities/{id}/signups", "Sign-ups, confirmed first, the waitlist in order (leader)", nil, list[jifen.Signup]{}, s.apiSignups)
	api("DELETE", "/activities/{id}/signups/{person_id}", "Cancel a sign-up; the waitlist moves up", nil, nil, s.apiCancelSignup)
	api("GET", "/activities/{id}/checkin-code", "The rotating check-in code for the screen (leader)", nil, codeResponse{}, s.apiCheckinCode)
	api("POST", "/activities/{id}/checkins", "Check in with the code on the screen (self)", checkinRequest{}, jifen.Attendance{}, s.apiCheckin)
	api("POST", "/activities/{id}/checkouts", "Check out with the code on the screen (self)", checkinRequest{}, jifen.Attendance{}, s.apiCheckout)
	api("POST", "/activities/{id}/attendance", "Back-fill presence with a reason (leader)", backfillRequest{}, jifen.Attendance{}, s.apiBackfill)
	api("GET", "/activities/{id}/attendance", "Presence intervals (leader)", nil, list[jifen.Attendance]{}, s.apiAttendance)
	api("POST", "/activities/{id}/verify", "Turn attendance into verified service records (leader)", nil, verifyResponse{}, s.apiVerify)
	api("GET", "/people/{id}/service-records", "A person's verified service records", nil, list[jifen.ServiceRecord]{}, s.apiServiceRecords)
	api("GET", "/people/{id}/hours", "A person's verified hours and star level", nil, jifen.Hours{}, s.apiHours)
	api("POST", "/service-records/{id}/corrections", "Ask for one's own record to be corrected", correctionRequest{}, jifen.CorrectionRequest{}, s.apiRequestCorrection)
	api("POST", "/transfers", "Ask to move a person to another org or team", transferRequest{}, jifen.Transfer{}, s.apiRequestTransfer)
	api("POST", "/transfers/{id}/approve", "Approve a transfer (receiving side)", nil, nil, s.apiApproveTransfer)
	api("POST", "/transfers/{id}/reject", "Reject a transfer (receiving side)", answerRequest{}, nil, s.apiRejectTransfer)
	api("POST", "/certificates", "Issue a service certificate for a period (from, to: dates)", certificateRequest{}, certificateResponse{}, s.apiIssueCertificate)
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

// apiID reads {name} or answers 404 for what.
func (s *Server) apiID(w http.ResponseWriter, r *http.Request, name, what string) (int64, bool) {
	if s.signedIn(w, r) == nil {
		return 0, false
	}
	id, err := pathID(r, name)
	if err != nil {
		s.fail(w, r, jifen.NotFound(what))
		return 0, false
	}
	return id, true
}

func (s *Server) apiCreateProject(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	var in jifen.ProjectInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.svc.Activities.CreateProject(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) apiProject(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "project")
	if !ok {
		return
	}
	p, err := s.svc.Activities.Project(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) apiCreateActivity(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	var in jifen.ActivityInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.svc.Activities.CreateActivity(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
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
	if f.Page < 1 {
		f.Page = 1
	}
	writeJSON(w, http.StatusOK, list[jifen.Activity]{Items: items, Total: total, Page: f.Page, PerPage: 20})
}

func (s *Server) apiActivity(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	a, err := s.svc.Activities.Activity(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) apiPublish(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	if err := s.svc.Activities.Publish(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.apiActivity(w, r)
}

func (s *Server) apiCancelActivity(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	var in cancelRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.Activities.Cancel(r.Context(), id, in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	s.apiActivity(w, r)
}

func (s *Server) apiSignUp(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	var in signupRequest
	if err := decodeOptional(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.PersonID == 0 {
		in.PersonID = jifen.ActorFrom(r.Context()).PersonID
	}
	st, err := s.svc.Activities.SignUp(r.Context(), id, in.PersonID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, signupResponse{Status: st})
}

func (s *Server) apiSignups(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	list0, err := s.svc.Activities.Signups(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listOf(list0))
}

// listOf wraps a whole (unpaged) list in the list envelope.
func listOf[T any](items []*T) list[T] {
	out := make([]T, len(items))
	for i, x := range items {
		out[i] = *x
	}
	return list[T]{Items: out, Total: len(out), Page: 1, PerPage: max(len(out), 1)}
}

func (s *Server) apiCancelSignup(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	pid, err := pathID(r, "person_id")
	if err != nil {
		s.fail(w, r, jifen.NotFound("person"))
		return
	}
	if err := s.svc.Activities.CancelSignup(r.Context(), id, pid); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkinURL is the page a volunteer's camera opens from the screen's QR.
func (s *Server) checkinURL(activityID int64, code string) string {
	return s.cfg.PublicURL + "/checkin/" + itoa(activityID) + "?code=" + code
}

func (s *Server) apiCheckinCode(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	code, exp, err := s.svc.Activities.CheckinCode(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, codeResponse{Code: code, ExpiresAt: exp, URL: s.checkinURL(id, code)})
}

func (s *Server) apiCheckin(w http.ResponseWriter, r *http.Request)  { s.apiPresence(w, r, true) }
func (s *Server) apiCheckout(w http.ResponseWriter, r *http.Request) { s.apiPresence(w, r, false) }

func (s *Server) apiPresence(w http.ResponseWriter, r *http.Request, in bool) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	var req checkinRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var att *jifen.Attendance
	var err error
	if in {
		att, err = s.svc.Activities.CheckIn(r.Context(), id, req.Code, req.Lat, req.Lon)
	} else {
		att, err = s.svc.Activities.CheckOut(r.Context(), id, req.Code, req.Lat, req.Lon)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, att)
}

func (s *Server) apiBackfill(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	var in backfillRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	att, err := s.svc.Activities.Backfill(r.Context(), id, in.PersonID, in.StartedAt, in.EndedAt, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, att)
}

func (s *Server) apiAttendance(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	atts, err := s.svc.Activities.Attendance(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listOf(atts))
}

func (s *Server) apiVerify(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "activity")
	if !ok {
		return
	}
	n, err := s.svc.Activities.Verify(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, verifyResponse{Status: jifen.ActivityVerified, Records: n})
}

func (s *Server) apiServiceRecords(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "person")
	if !ok {
		return
	}
	page, err := queryInt(r.URL.Query().Get("page"))
	if err != nil {
		s.fail(w, r, badQuery("page"))
		return
	}
	f := jifen.RecordFilter{PersonID: id, Page: max(int(page), 1), PerPage: 50}
	recs, total, err := s.svc.Records.Records(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := listOf(recs)
	l.Total, l.Page, l.PerPage = total, f.Page, f.PerPage
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) apiHours(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "person")
	if !ok {
		return
	}
	h, err := s.svc.Records.Hours(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) apiRequestCorrection(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "record")
	if !ok {
		return
	}
	var in correctionRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.svc.Records.RequestCorrection(r.Context(), id, in.WantedMinutes, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiRequestTransfer(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	var in transferRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.PersonID == 0 {
		in.PersonID = a.PersonID
	}
	t, err := s.svc.Transfers.RequestTransfer(r.Context(), in.PersonID, in.ToOrgID, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) apiApproveTransfer(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "transfer")
	if !ok {
		return
	}
	if err := s.svc.Transfers.Approve(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": jifen.TransferApproved})
}

func (s *Server) apiRejectTransfer(w http.ResponseWriter, r *http.Request) {
	id, ok := s.apiID(w, r, "id", "transfer")
	if !ok {
		return
	}
	var in answerRequest
	if err := decodeOptional(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.Transfers.Reject(r.Context(), id, in.Answer); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": jifen.TransferRejected})
}

func (s *Server) apiIssueCertificate(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	var in certificateRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.PersonID == 0 {
		in.PersonID = a.PersonID
	}
	to := in.To.Time
	if !to.IsZero() && to.Hour() == 0 && to.Minute() == 0 && to.Second() == 0 {
		to = to.AddDate(0, 0, 1) // a date as the end means the whole of that day
	}
	c, err := s.svc.Certificates.Issue(r.Context(), in.PersonID, in.From.Time, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, certificateResponse{Serial: c.Serial, URL: s.verifyURL(c), PDF: s.cfg.PublicURL + "/certificates/" + c.Serial + ".pdf",
		Minutes: c.Minutes, IssuedAt: c.IssuedAt.Format(time.RFC3339), IssuerName: c.IssuerName})
}

// verifyURL is the public check page printed on a certificate.
func (s *Server) verifyURL(c *jifen.Certificate) string {
	return s.cfg.PublicURL + "/verify/" + c.VerifyCode()
}
