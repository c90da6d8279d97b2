package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"jifen"
)

func (s *Server) registerActivityPages() {
	page := func(method, path string, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: path}, h)
	}
	page("GET", "/activities", s.activitiesPage)
	page("GET", "/activities/new", s.activityNewPage)
	page("POST", "/activities", s.activityCreate)
	act, console := s.activityDetail(), s.consoleDetail()
	page("GET", "/activities/{id}", act.show)
	page("GET", "/activities/{id}/edit", s.activityEditPage)
	page("POST", "/activities/{id}", s.activityUpdate)
	page("POST", "/activities/{id}/publish", act.action(then("published", func(r *http.Request, id int64) error {
		return s.svc.Activities.Publish(r.Context(), id)
	})))
	page("POST", "/activities/{id}/cancel", act.action(then("cancelled", func(r *http.Request, id int64) error {
		return s.svc.Activities.Cancel(r.Context(), id, r.FormValue("reason"))
	})))
	page("POST", "/activities/{id}/signup", act.action(func(r *http.Request, id int64) (string, error) {
		st, err := s.svc.Activities.SignUp(r.Context(), id, jifen.ActorFrom(r.Context()).PersonID)
		return "signup_" + string(st), err
	}))
	page("POST", "/activities/{id}/withdraw", act.action(then("withdrawn", func(r *http.Request, id int64) error {
		return s.svc.Activities.CancelSignup(r.Context(), id, jifen.ActorFrom(r.Context()).PersonID)
	})))
	page("GET", "/activities/{id}/console", console.show)
	page("POST", "/activities/{id}/signups", console.action(then("added", s.consoleAdd)))
	page("POST", "/activities/{id}/signups/{person_id}/remove", console.action(then("removed", s.consoleRemove)))
	page("GET", "/activities/{id}/screen", s.screenPage)
	page("GET", "/activities/{id}/screen.png", s.screenQR)
	page("POST", "/activities/{id}/scan", console.action(then("scanned", s.consoleScan)))
	page("POST", "/activities/{id}/backfill", console.action(then("backfilled", s.consoleBackfill)))
	page("POST", "/attendance/{id}/trim", s.consoleTrim)
	page("POST", "/activities/{id}/verify", console.action(then("verified", func(r *http.Request, id int64) error {
		_, err := s.svc.Activities.Verify(r.Context(), id)
		return err
	})))
	page("GET", "/checkin/{id}", s.checkinPage)
	page("POST", "/checkin/{id}", s.checkin)
	page("POST", "/projects", s.projectCreate)
	page("GET", "/projects/{id}", s.projectPage)
}

// parseLocal reads a datetime-local input ("2026-11-29T09:00"), which a
// phone fills in the person's own time: Asia/Shanghai.
func parseLocal(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), jifen.Zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, jifen.Invalid("starts_at", "时间格式不正确", "The time is not valid")
}

func optFloat(v string) *float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return nil
	}
	return &f
}

func (s *Server) activitiesPage(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	q := r.URL.Query()
	f := jifen.ActivityFilter{Category: q.Get("category"), Mine: q.Get("mine") == "1", MySkills: q.Get("skills") == "1"}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	f.OrgID, _ = strconv.ParseInt(q.Get("org_id"), 10, 64)
	if !f.Mine {
		f.Status = jifen.ActivityPublished
	}
	if q.Get("week") == "1" {
		now := time.Now().In(jifen.Zone)
		f.From, f.To = now, now.AddDate(0, 0, 7)
	}
	if lat, lon := optFloat(q.Get("lat")), optFloat(q.Get("lon")); lat != nil && lon != nil {
		f.Near = &[2]float64{*lat, *lon}
	}
	acts, total, err := s.svc.Activities.Activities(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if f.Page < 1 {
		f.Page = 1
	}
	pages := (total + 19) / 20
	s.render(w, r, http.StatusOK, "activities", map[string]any{"Activities": acts, "Total": total, "Q": q, "Categories": jifen.ActivityCategories,
		"Prev": f.Page - 1, "Next": nextPage(f.Page, pages), "Near": f.Near != nil})
}

// leaderOrgs lists the orgs where the actor may publish activities.
func (s *Server) leaderOrgs(r *http.Request) ([]*jifen.Org, error) {
	all, err := s.svc.Orgs.SignupOrgs(r.Context())
	if err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(r.Context())
	var out []*jifen.Org
	for _, o := range all {
		if a.Has(o.Path, jifen.RoleOrgAdmin, jifen.RoleTeamLeader) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (s *Server) activityFormData(r *http.Request, in jifen.ActivityInput, id int64) (map[string]any, error) {
	orgs, err := s.leaderOrgs(r)
	if err != nil {
		return nil, err
	}
	if in.OrgID == 0 && len(orgs) > 0 {
		in.OrgID = orgs[len(orgs)-1].ID
		for _, o := range orgs {
			if o.Kind == jifen.OrgTeam {
				in.OrgID = o.ID
				break
			}
		}
	}
	var projects []*jifen.Project
	if in.OrgID != 0 {
		if projects, err = s.svc.Activities.Projects(r.Context(), in.OrgID); err != nil {
			return nil, err
		}
	}
	lat, lon := "", ""
	if in.Location.Lat != nil {
		lat, lon = strconv.FormatFloat(*in.Location.Lat, 'f', -1, 64), strconv.FormatFloat(*in.Location.Lon, 'f', -1, 64)
	}
	deadline := ""
	if in.SignupDeadline != nil {
		deadline = in.SignupDeadline.In(jifen.Zone).Format("2006-01-02T15:04")
	}
	local := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(jifen.Zone).Format("2006-01-02T15:04")
	}
	return map[string]any{"In": in, "ID": id, "Orgs": orgs, "Projects": projects, "Categories": jifen.ActivityCategories,
		"Lat": lat, "Lon": lon, "Deadline": deadline, "Starts": local(in.StartsAt), "Ends": local(in.EndsAt),
		"Capacity": strconv.Itoa(in.Capacity), "MinAge": strconv.Itoa(in.MinAge), "PointsPerHour": strconv.FormatInt(in.PointsPerHour, 10),
		"RadiusM": strconv.Itoa(in.Location.RadiusM), "Publish": true}, nil
}

// activityTyped are the activity form's boxes whose parsed value can differ
// from what was typed (a time or number that did not parse reads as zero),
// by their name in the template data.
var activityTyped = map[string]string{"Starts": "starts_at", "Ends": "ends_at", "Deadline": "signup_deadline", "Lat": "lat", "Lon": "lon",
	"Capacity": "capacity", "MinAge": "min_age", "PointsPerHour": "points_per_hour", "RadiusM": "radius_m"}

func (s *Server) activityNewPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	now := time.Now().In(jifen.Zone)
	start := time.Date(now.Year(), now.Month(), now.Day()+1, 9, 0, 0, 0, jifen.Zone)
	in := jifen.ActivityInput{OrgID: formInt(r, "org_id"), StartsAt: start, EndsAt: start.Add(3 * time.Hour), Category: "学雷锋", Capacity: 20, PointsPerHour: 10}
	data, err := s.activityFormData(r, in, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "activity_form", data)
}

// activityInput reads the activity form; unreadable times become a
// validation error on their field.
func activityInput(r *http.Request) (jifen.ActivityInput, error) {
	in := jifen.ActivityInput{
		OrgID: formInt(r, "org_id"), Title: r.FormValue("title"), Description: r.FormValue("description"), Category: r.FormValue("category"),
		Skills:   jifen.SplitSkills(r.FormValue("required_skills")),
		Location: jifen.Location{Address: r.FormValue("address"), Lat: optFloat(r.FormValue("lat")), Lon: optFloat(r.FormValue("lon"))},
	}
	if p := formInt(r, "project_id"); p > 0 {
		in.ProjectID = &p
	}
	var err error
	num := func(name string) int {
		n, e := strconv.Atoi(strings.TrimSpace(r.FormValue(name)))
		if e != nil && strings.TrimSpace(r.FormValue(name)) != "" && err == nil {
			err = jifen.Invalid(name, "请填写整数", "Enter a whole number")
		}
		return n
	}
	in.Capacity, in.MinAge, in.Location.RadiusM = num("capacity"), num("min_age"), num("radius_m")
	in.PointsPerHour = int64(num("points_per_hour"))
	if err != nil {
		return in, err
	}
	if in.StartsAt, err = parseLocal(r.FormValue("starts_at")); err != nil {
		return in, err
	}
	if in.EndsAt, err = parseLocal(r.FormValue("ends_at")); err != nil {
		return in, jifen.Invalid("ends_at", "结束时间格式不正确", "The end time is not valid")
	}
	if v := r.FormValue("signup_deadline"); v != "" {
		d, err := parseLocal(v)
		if err != nil {
			return in, jifen.Invalid("signup_deadline", "报名截止时间格式不正确", "The sign-up deadline is not valid")
		}
		in.SignupDeadline = &d
	}
	return in, nil
}

func (s *Server) activityFormFail(w http.ResponseWriter, r *http.Request, in jifen.ActivityInput, id int64, err error) {
	data, derr := s.activityFormData(r, in, id)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	// The activity form itself failed (not the project form below it):
	// show each box as typed, and the publish tick as it was left.
	if r.PostForm.Has("starts_at") {
		for k, name := range activityTyped {
			data[k] = r.PostForm.Get(name)
		}
		data["Publish"] = r.PostForm.Get("publish") == "yes"
	} else if r.PostForm.Has("name") {
		// The project form below failed: it opens again as typed, and the
		// activity form above stays as it was.
		data["ProjectFailed"] = true
		data["ProjectName"], data["ProjectDescription"] = r.PostForm.Get("name"), r.PostForm.Get("description")
	}
	s.formFail(w, r, "activity_form", data, err)
}

func (s *Server) activityCreate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	in, err := activityInput(r)
	publish := r.FormValue("publish") == "yes"
	if err == nil {
		// A mistake in the form is named before the publish check below
		// (Validate tidies its copy; CreateActivity validates again).
		check := in
		err = check.Validate()
	}
	if err == nil && publish && !s.now().Before(in.EndsAt) {
		// Refuse before saving: a draft saved and then refused publication
		// would stay behind, and every retry would add another.
		err = jifen.Invalid("ends_at", "活动结束时间已过，不能发布；如只需保存，请取消勾选“保存后立即发布”",
			"The activity has already ended, so it cannot be published; to only save it, untick “Publish right away”")
	}
	if err != nil {
		s.activityFormFail(w, r, in, 0, err)
		return
	}
	act, err := s.svc.Activities.CreateActivity(r.Context(), in)
	if err != nil {
		s.activityFormFail(w, r, in, 0, err)
		return
	}
	if publish {
		if err := s.svc.Activities.Publish(r.Context(), act.ID); err != nil {
			// Saved but not published (its end passed meanwhile): show the
			// draft with the reason, so a retry publishes it, not a copy.
			s.activityDetail().fail(w, r, act.ID, err)
			return
		}
	}
	redirect(w, r, "/activities/"+itoa(act.ID)+"?done=created")
}

func (s *Server) activityEditPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	act, err := s.svc.Activities.Activity(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !jifen.ActorFrom(r.Context()).Has(act.OrgPath, jifen.RoleOrgAdmin, jifen.RoleTeamLeader) {
		s.fail(w, r, jifen.ErrForbidden)
		return
	}
	in := jifen.ActivityInput{OrgID: act.OrgID, ProjectID: act.ProjectID, Title: act.Title, Description: act.Description, Category: act.Category,
		StartsAt: act.StartsAt, EndsAt: act.EndsAt, Capacity: act.Capacity, SignupDeadline: act.SignupDeadline, MinAge: act.MinAge,
		Skills: act.Skills, PointsPerHour: act.PointsPerHour, Location: act.Location}
	data, err := s.activityFormData(r, in, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "activity_form", data)
}

func (s *Server) activityUpdate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := activityInput(r)
	if err == nil {
		if _, err = s.svc.Activities.UpdateActivity(r.Context(), id, in); err == nil {
			redirect(w, r, "/activities/"+itoa(id)+"?done=saved")
			return
		}
	}
	s.activityFormFail(w, r, in, id, err)
}

func (s *Server) activityData(r *http.Request, id int64) (map[string]any, error) {
	act, err := s.svc.Activities.Activity(r.Context(), id)
	if err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(r.Context())
	mine := ""
	sus, err := s.svc.Activities.MySignups(r.Context())
	if err != nil {
		return nil, err
	}
	for _, su := range sus {
		if su.ActivityID == id {
			mine = string(su.Status)
		}
	}
	// While it runs, a confirmed volunteer gets a way to the check-in page
	// that does not depend on scanning (an old phone, WeChat's scanner).
	now := time.Now()
	onSite := act.Status == jifen.ActivityPublished && now.After(act.StartsAt.Add(-30*time.Minute)) && now.Before(act.EndsAt.Add(2*time.Hour)) ||
		act.Status == jifen.ActivityFinished && now.Before(act.EndsAt.Add(2*time.Hour))
	return map[string]any{"A": act, "Mine": mine, "OnSite": onSite, "Leader": a.Has(act.OrgPath, jifen.RoleOrgAdmin, jifen.RoleTeamLeader)}, nil
}

// activityDetail is the activity page and its one-button actions.
func (s *Server) activityDetail() detail {
	return detail{s: s, name: "activity", path: "/activities/%d", data: s.activityData}
}

// The leader's console.

func (s *Server) consoleDetail() detail {
	return detail{s: s, name: "console", path: "/activities/%d/console", data: s.consoleData}
}

func (s *Server) consoleData(r *http.Request, id int64) (map[string]any, error) {
	act, err := s.svc.Activities.Activity(r.Context(), id)
	if err != nil {
		return nil, err
	}
	sus, err := s.svc.Activities.Signups(r.Context(), id)
	if err != nil {
		return nil, err
	}
	atts, err := s.svc.Activities.Attendance(r.Context(), id)
	if err != nil {
		return nil, err
	}
	present := 0
	for _, t := range atts {
		if t.EndedAt == nil {
			present++
		}
	}
	local := func(t time.Time) string { return t.In(jifen.Zone).Format("2006-01-02T15:04") }
	// A failed 补录 opens again with what was typed (P); the other forms
	// here share its box names, so it is known by the address it posted to.
	form, trimmed := "", int64(0)
	switch {
	case r.Method != http.MethodPost:
	case r.URL.Path == "/activities/"+itoa(id)+"/backfill":
		form = "backfill"
	case strings.HasPrefix(r.URL.Path, "/attendance/"):
		// A failed trim opens its row again with the times as typed.
		form = "trim"
		trimmed, _ = pathID(r, "id")
	}
	return map[string]any{"A": act, "Signups": sus, "Attendance": atts, "Present": present,
		"Start": local(act.StartsAt), "End": local(act.EndsAt), "Form": form, "Trimmed": trimmed, "P": postedForm(r)}, nil
}

// personByNumber finds someone in the actor's scope by volunteer number.
func (s *Server) consoleAdd(r *http.Request, id int64) error {
	pid, err := s.personByNumber(r, r.FormValue("volunteer_no"))
	if err != nil {
		return err
	}
	_, err = s.svc.Activities.SignUp(r.Context(), id, pid)
	return err
}

func (s *Server) consoleRemove(r *http.Request, id int64) error {
	pid, err := pathID(r, "person_id")
	if err != nil {
		return err
	}
	return s.svc.Activities.CancelSignup(r.Context(), id, pid)
}

func (s *Server) consoleScan(r *http.Request, id int64) error {
	var err error
	if r.FormValue("direction") == "out" {
		_, err = s.svc.Activities.ScanOut(r.Context(), id, r.FormValue("volunteer_no"))
	} else {
		_, err = s.svc.Activities.ScanIn(r.Context(), id, r.FormValue("volunteer_no"))
	}
	return err
}

func (s *Server) consoleBackfill(r *http.Request, id int64) error {
	pid, err := s.personByNumber(r, r.FormValue("volunteer_no"))
	if err != nil {
		return err
	}
	start, err := parseLocal(r.FormValue("started_at"))
	if err != nil {
		return jifen.Invalid("started_at", "开始时间格式不正确", "The start time is not valid")
	}
	end, err := parseLocal(r.FormValue("ended_at"))
	if err != nil {
		return jifen.Invalid("ended_at", "结束时间格式不正确", "The end time is not valid")
	}
	_, err = s.svc.Activities.Backfill(r.Context(), id, pid, start, end, r.FormValue("reason"))
	return err
}

func (s *Server) personByNumber(r *http.Request, no string) (int64, error) {
	no = strings.TrimPrefix(strings.TrimSpace(no), PersonQRPrefix)
	people, _, err := s.svc.People.People(r.Context(), jifen.PersonFilter{Q: no, PerPage: 2})
	if err != nil {
		return 0, err
	}
	for _, p := range people {
		if p.VolunteerNo == no {
			return p.ID, nil
		}
	}
	return 0, jifen.Invalid("volunteer_no", "没有找到这个志愿者编号", "No volunteer with this number")
}

func (s *Server) consoleTrim(w http.ResponseWriter, r *http.Request) {
	attID, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	back := formInt(r, "activity_id")
	start, err := parseLocal(r.FormValue("started_at"))
	if err == nil {
		var end time.Time
		if end, err = parseLocal(r.FormValue("ended_at")); err == nil {
			err = s.svc.Activities.TrimAttendance(r.Context(), attID, start, end)
		}
	}
	if err != nil {
		s.consoleDetail().fail(w, r, back, err)
		return
	}
	redirect(w, r, "/activities/"+itoa(back)+"/console?done=saved")
}

// screenPage is the lobby or phone screen with the rotating QR code; it
// reloads itself (a meta refresh, no script) before the code expires.
func (s *Server) screenPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	act, err := s.svc.Activities.Activity(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code, exp, err := s.svc.Activities.CheckinCode(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	refresh := int(time.Until(exp).Seconds()) + 1
	refresh = max(1, min(refresh, 30))
	s.render(w, r, http.StatusOK, "screen", map[string]any{"A": act, "Code": code, "Expires": exp, "Refresh": refresh, "URL": s.checkinURL(id, code)})
}

func (s *Server) screenQR(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code, _, err := s.svc.Activities.CheckinCode(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeQR(w, r, s.checkinURL(id, code))
}

// checkinPage is where a volunteer's camera lands from the screen's QR.
func (s *Server) checkinPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := s.activityData(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["Code"] = r.URL.Query().Get("code")
	s.render(w, r, http.StatusOK, "checkin", data)
}

func (s *Server) checkin(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.signedIn(w, r) == nil {
		return
	}
	code, lat, lon := r.FormValue("code"), optFloat(r.FormValue("lat")), optFloat(r.FormValue("lon"))
	out := r.FormValue("direction") == "out"
	var att *jifen.Attendance
	if out {
		att, err = s.svc.Activities.CheckOut(r.Context(), id, code, lat, lon)
	} else {
		att, err = s.svc.Activities.CheckIn(r.Context(), id, code, lat, lon)
	}
	data, derr := s.activityData(r, id)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	data["Code"] = code
	if err != nil {
		if r.FormValue("geo") == "denied" && jifen.ErrorCode(err) == "location_required" {
			err = &jifen.Error{Kind: jifen.KindInvalid, Code: "location_required", Field: "lat",
				Zh: "您拒绝了定位权限。本活动需要确认您在现场：请在浏览器设置中允许定位后重试，或请负责人扫描您的二维码签到",
				En: "Location was refused. This activity checks you are on site: allow location in the browser and retry, or ask the leader to scan your code"}
		}
		s.formFail(w, r, "checkin", data, err)
		return
	}
	data["Done"], data["Out"], data["Att"] = true, out, att
	s.render(w, r, http.StatusOK, "checkin", data)
}

func (s *Server) projectCreate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	p, err := s.svc.Activities.CreateProject(r.Context(), jifen.ProjectInput{OrgID: formInt(r, "org_id"), Name: r.FormValue("name"), Description: r.FormValue("description")})
	if err != nil {
		in := jifen.ActivityInput{OrgID: formInt(r, "org_id")}
		s.activityFormFail(w, r, in, 0, err)
		return
	}
	redirect(w, r, "/projects/"+itoa(p.ID)+"?done=created")
}

func (s *Server) projectPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.svc.Activities.Project(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "project", map[string]any{"P": p})
}
