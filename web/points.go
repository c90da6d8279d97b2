package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"jifen"
	"jifen/importer"
	"jifen/secret"
)

// The points pages: rule catalogues and settings per org, awards and
// claims with their review, a person's and a household's ledger, appeals,
// the public board and its printable notice, and the ledger's check.

func init() {
	funcs["category"] = func(lang string, c jifen.RuleCategory) string {
		if lang == "en" {
			return c.En()
		}
		return c.Zh()
	}
	funcs["unit"] = func(lang string, u jifen.RuleUnit) string {
		if lang == "en" {
			return strings.ReplaceAll(string(u), "_", " ")
		}
		return u.Zh()
	}
	funcs["awardStatus"] = func(lang string, st jifen.AwardStatus) string {
		if lang == "en" {
			return st.En()
		}
		return st.Zh()
	}
	funcs["appealStatus"] = func(lang string, st jifen.AppealStatus) string {
		if lang == "en" {
			return st.En()
		}
		return st.Zh()
	}
	funcs["txKind"] = func(lang string, k jifen.TxKind) string { return tr(lang, "tx."+string(k)) }
	// signed shows a points amount with its sign: +10, -5, 0.
	funcs["signed"] = func(n int64) string {
		if n > 0 {
			return "+" + strconv.FormatInt(n, 10)
		}
		return strconv.FormatInt(n, 10)
	}
}

// photoUpload names the pages that take a photo or a spreadsheet, which
// get the upload body limit: a phone's photo is several megabytes.
func photoUpload(path string) bool {
	return path == "/me/claim" || path == "/awards" || path == "/awards/bulk" || path == "/api/v1/awards" || strings.HasSuffix(path, "/rules/import")
}

// maxPhoto bounds an evidence photo as read from the form.
const maxPhoto = 15 << 20

func (s *Server) registerPointsPages() {
	page := func(method, path string, public bool, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: path, Public: public}, h)
	}
	// Rule catalogues and settings of an org.
	rules, settings := s.rulesDetail(), s.settingsDetail()
	page("GET", "/orgs/{id}/rules", false, rules.show)
	page("POST", "/orgs/{id}/rules", false, rules.action(then("created", func(r *http.Request, id int64) error {
		in, err := ruleInput(r)
		if err != nil {
			return err
		}
		_, err = s.svc.Points.CreateRule(r.Context(), id, in)
		return err
	})))
	page("POST", "/orgs/{id}/rules/import", false, s.rulesImportUpload)
	page("POST", "/rules/import/{id}/commit", false, s.rulesImportCommit)
	page("GET", "/rules/{id}/edit", false, s.ruleEditPage)
	page("POST", "/rules/{id}", false, s.ruleUpdate)
	page("POST", "/rules/{id}/archive", false, s.ruleArchive)
	page("GET", "/orgs/{id}/points", false, settings.show)
	page("POST", "/orgs/{id}/points", false, settings.action(then("saved", func(r *http.Request, id int64) error {
		in, err := settingsInput(r)
		if err != nil {
			return err
		}
		return s.svc.Points.SaveSettings(r.Context(), id, in)
	})))
	page("POST", "/orgs/{id}/kiosk", false, settings.reply(func(r *http.Request, id int64) (map[string]any, error) {
		tok, err := s.svc.Points.NewKioskToken(r.Context(), id)
		if err != nil {
			return nil, err
		}
		board := s.cfg.PublicURL + "/board/" + itoa(id) + "?k=" + url.QueryEscape(tok)
		return map[string]any{"KioskURL": board, "KioskTV": board + "&tv=1"}, nil
	}))

	// Awards: by staff one at a time or in bulk, claimed by residents,
	// reviewed, listed and exported.
	award := s.awardDetail()
	page("GET", "/awards", false, s.awardsPage)
	page("GET", "/awards/export", false, s.awardsExport)
	page("GET", "/awards/new", false, s.awardNewPage)
	page("POST", "/awards", false, s.awardCreate)
	page("GET", "/awards/bulk", false, s.awardBulkPage)
	page("POST", "/awards/bulk", false, s.awardBulk)
	page("GET", "/awards/review", false, s.reviewPage)
	page("GET", "/awards/{id}", false, award.show)
	page("GET", "/awards/{id}/evidence", false, s.awardEvidence)
	page("POST", "/awards/{id}/approve", false, s.awardDecision(func(r *http.Request, id int64) error {
		_, err := s.svc.Points.Approve(r.Context(), id)
		return err
	}))
	page("POST", "/awards/{id}/reject", false, s.awardDecision(func(r *http.Request, id int64) error {
		_, err := s.svc.Points.Reject(r.Context(), id, r.FormValue("reason"))
		return err
	}))
	page("GET", "/me/claim", false, s.claimPage)
	page("POST", "/me/claim", false, s.claim)

	// Ledgers: one's own, a person's (staff), a household's.
	page("GET", "/me/points", false, s.myPointsPage)
	page("GET", "/people/{id}/points", false, s.personPointsPage)
	page("GET", "/people/{id}/ledger.xlsx", false, s.personLedgerExport)
	hh := s.householdDetail()
	page("GET", "/me/household", false, s.myHouseholdPage)
	page("GET", "/households", false, s.householdsPage)
	page("POST", "/households", false, s.householdCreate)
	page("GET", "/households/{id}", false, hh.show)
	page("POST", "/households/{id}", false, hh.action(then("saved", func(r *http.Request, id int64) error {
		// The form shows the name and head as they were (name_was,
		// head_was): a field left so is no change, so that a household
		// named after its head follows a new one, and a change someone else
		// made since the page was shown is not undone.
		in := jifen.HouseholdChange{Name: jifen.CleanText(r.FormValue("name"))}
		if in.Name == jifen.CleanText(r.FormValue("name_was")) {
			in.Name = ""
		}
		if in.HeadID, _ = strconv.ParseInt(r.FormValue("head_person_id"), 10, 64); r.FormValue("head_person_id") == r.FormValue("head_was") {
			in.HeadID = 0
		}
		_, err := s.svc.Points.ChangeHousehold(r.Context(), id, in)
		return err
	})))
	page("POST", "/households/{id}/members", false, hh.action(then("added", func(r *http.Request, id int64) error {
		h, err := s.svc.Points.Household(r.Context(), id)
		if err != nil {
			return err
		}
		pid, err := s.personByKey(r, h.OrgID, r.FormValue("member"), "member")
		if err != nil {
			return err
		}
		return s.svc.Points.AddMember(r.Context(), id, pid)
	})))
	page("POST", "/households/{id}/members/{person_id}/remove", false, hh.action(then("removed", func(r *http.Request, id int64) error {
		pid, err := pathID(r, "person_id")
		if err != nil {
			return err
		}
		return s.svc.Points.RemoveMember(r.Context(), id, pid)
	})))
	page("GET", "/households/{id}/ledger.xlsx", false, s.householdLedgerExport)

	// Appeals.
	page("GET", "/appeals", false, s.appealsPage)
	page("POST", "/appeals", false, s.appealCreate)
	page("POST", "/appeals/{id}/uphold", false, s.appealDecision(func(r *http.Request, id int64) error {
		_, err := s.svc.Points.Uphold(r.Context(), id, r.FormValue("answer"))
		return err
	}))
	page("POST", "/appeals/{id}/reverse", false, s.appealDecision(func(r *http.Request, id int64) error {
		_, err := s.svc.Points.Reverse(r.Context(), id, r.FormValue("answer"))
		return err
	}))

	// The public board: a kiosk token (?k=) opens it without signing in.
	page("GET", "/board/{org}", true, s.boardPage)
	page("GET", "/board/{org}/notice", true, s.noticePage)

	// The ledger's own check, for super admins.
	page("GET", "/ledger/verify", false, s.ledgerVerifyPage)
	page("POST", "/ledger/verify", false, s.ledgerVerify)
}

// pointsOrgs lists the orgs where the actor runs points: admins and
// reviewers, in tree order.
func (s *Server) pointsOrgs(r *http.Request) ([]*jifen.Org, error) {
	all, err := s.svc.Orgs.SignupOrgs(r.Context())
	if err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(r.Context())
	var out []*jifen.Org
	for _, o := range all {
		if a.Has(o.Path, jifen.RoleOrgAdmin, jifen.RoleReviewer) {
			out = append(out, o)
		}
	}
	return out, nil
}

// postedForm is what a form sent, for showing it again after an error;
// empty (never nil) on a GET, so templates may call Get on it.
func postedForm(r *http.Request) url.Values {
	if r.Method != http.MethodPost {
		return url.Values{}
	}
	r.ParseForm()
	if r.PostForm == nil {
		return url.Values{}
	}
	return r.PostForm
}

// formKey is a fresh idempotency key for a form that posts points: it is
// rendered into the form, so a double-submit sends the same key twice and
// the service answers the second with the first result.
func formKey() string { return "form-" + secret.Token(18) }

// formNumber reads an optional whole number from a form field.
func formNumber(r *http.Request, field string) (int64, error) {
	v := strings.TrimSpace(r.FormValue(field))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, jifen.Invalid(field, "请填写整数", "Enter a whole number")
	}
	return n, nil
}

// today is the date in China, as rules' validity is written.
func (s *Server) today() string { return s.now().In(jifen.Zone).Format("2006-01-02") }

// Rule catalogues.

func (s *Server) rulesDetail() detail {
	return detail{s: s, name: "rules", path: "/orgs/%d/rules", data: s.rulesData}
}

func (s *Server) rulesData(r *http.Request, id int64) (map[string]any, error) {
	o, err := s.svc.Orgs.Org(r.Context(), id)
	if err != nil {
		return nil, err
	}
	rules, err := s.svc.Points.Rules(r.Context(), id)
	if err != nil {
		return nil, err
	}
	p := postedForm(r)
	// "Override" on an inherited rule opens the form filled with it.
	if c, _ := strconv.ParseInt(r.URL.Query().Get("copy"), 10, 64); c > 0 && r.Method == http.MethodGet {
		for _, ru := range rules {
			if ru.ID == c {
				p = ruleValues(ru)
			}
		}
	}
	// Form names the form shown open: the one posted, or the one asked
	// for by a link at the top of the page (?form=new).
	return map[string]any{"Org": o, "Rules": rules, "P": p, "Categories": jifen.RuleCategories, "Units": ruleUnits,
		"Admin": jifen.ActorFrom(r.Context()).Has(o.Path, jifen.RoleOrgAdmin), "Today": s.today(), "Form": r.FormValue("form")}, nil
}

var ruleUnits = []jifen.RuleUnit{jifen.PerEvent, jifen.PerHour, jifen.PerItem}

// ruleValues fills the rule form from a rule.
func ruleValues(ru *jifen.Rule) url.Values {
	v := url.Values{"code": {ru.Code}, "name": {ru.Name}, "category": {string(ru.Category)}, "points": {strconv.FormatInt(ru.Points, 10)},
		"unit": {string(ru.Unit)}, "valid_from": {ru.ValidFrom}, "valid_to": {ru.ValidTo}}
	for k, n := range map[string]int64{"daily_cap": ru.DailyCap, "monthly_cap": ru.MonthlyCap, "yearly_cap": ru.YearlyCap, "life_cap": ru.LifeCap} {
		if n != 0 {
			v.Set(k, strconv.FormatInt(n, 10))
		}
	}
	if ru.NeedsEvidence {
		v.Set("needs_evidence", "yes")
	}
	if ru.NeedsReview {
		v.Set("needs_review", "yes")
	}
	return v
}

// ruleInput reads the rule form.
func ruleInput(r *http.Request) (jifen.RuleInput, error) {
	in := jifen.RuleInput{Code: r.FormValue("code"), Name: r.FormValue("name"), Category: jifen.RuleCategory(r.FormValue("category")),
		Unit: jifen.RuleUnit(r.FormValue("unit")), NeedsEvidence: r.FormValue("needs_evidence") == "yes", NeedsReview: r.FormValue("needs_review") == "yes",
		ValidFrom: r.FormValue("valid_from"), ValidTo: r.FormValue("valid_to")}
	var err error
	for _, f := range []struct {
		name string
		v    *int64
	}{{"points", &in.Points}, {"daily_cap", &in.DailyCap}, {"monthly_cap", &in.MonthlyCap}, {"yearly_cap", &in.YearlyCap}, {"life_cap", &in.LifeCap}} {
		if *f.v, err = formNumber(r, f.name); err != nil {
			return in, err
		}
	}
	return in, nil
}

func (s *Server) ruleEditData(r *http.Request, id int64) (map[string]any, error) {
	ru, err := s.svc.Points.Rule(r.Context(), id)
	if err != nil {
		return nil, err
	}
	o, err := s.svc.Orgs.Org(r.Context(), ru.OrgID)
	if err != nil {
		return nil, err
	}
	if !jifen.ActorFrom(r.Context()).Has(o.Path, jifen.RoleOrgAdmin) {
		return nil, jifen.ErrForbidden
	}
	p := ruleValues(ru)
	if r.Method == http.MethodPost {
		p = postedForm(r)
	}
	return map[string]any{"Rule": ru, "Org": o, "P": p, "Categories": jifen.RuleCategories, "Units": ruleUnits}, nil
}

func (s *Server) ruleEditPage(w http.ResponseWriter, r *http.Request) {
	detail{s: s, name: "rules_edit", path: "/rules/%d/edit", data: s.ruleEditData}.show(w, r)
}

// ruleUpdate writes a new version of a rule; awards keep the version
// they were made under.
func (s *Server) ruleUpdate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := ruleInput(r)
	if err == nil {
		var ru *jifen.Rule
		if ru, err = s.svc.Points.UpdateRule(r.Context(), id, in); err == nil {
			redirect(w, r, "/orgs/"+itoa(ru.OrgID)+"/rules?done=saved")
			return
		}
	}
	detail{s: s, name: "rules_edit", data: s.ruleEditData}.fail(w, r, id, err)
}

func (s *Server) ruleArchive(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ru, err := s.svc.Points.Rule(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.Points.ArchiveRule(r.Context(), id); err != nil {
		s.rulesDetail().fail(w, r, ru.OrgID, err)
		return
	}
	redirect(w, r, "/orgs/"+itoa(ru.OrgID)+"/rules?done=archived")
}

// rulesImportUpload keeps a catalogue file and shows a dry run: every
// rule it would create or re-version and every bad row. Nothing is saved.
func (s *Server) rulesImportUpload(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fail := func(err error) { s.rulesDetail().failWith(w, r, id, err, map[string]any{"Form": "import"}) }
	if _, err := s.svc.Orgs.Org(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	name, b, err := readUpload(r, "file", maxUpload)
	if err != nil {
		fail(jifen.Invalid("file", "请选择要导入的Excel或CSV文件", "Choose an Excel or CSV file"))
		return
	}
	rules, err := importer.ParseRules(bytes.NewReader(b), name)
	if err != nil {
		fail(err)
		return
	}
	up, err := s.svc.Uploads.SaveUpload(r.Context(), name, b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := s.rulesData(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["Import"], data["UploadID"], data["FileName"], data["Form"] = rules, up, name, "import"
	s.render(w, r, http.StatusOK, "rules", data)
}

// rulesImportCommit saves the previewed catalogue, all or nothing: while
// any row is bad nothing is saved unless the admin chose to skip them.
func (s *Server) rulesImportCommit(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	up, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orgID := formInt(r, "org_id")
	name, b, err := s.svc.Uploads.Upload(r.Context(), up)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rules, err := importer.ParseRules(bytes.NewReader(b), name)
	if err == nil && len(rules.Problems) > 0 && r.FormValue("skip_invalid") != "yes" {
		err = jifen.Invalid("skip_invalid", "文件中还有错误行：请修改后重新上传，或选择跳过错误行", "The file still has bad rows: fix them and upload again, or choose to skip them")
	}
	var n int
	if err == nil {
		n, err = s.svc.Points.ImportRules(r.Context(), orgID, rules.Items)
	}
	if err != nil {
		extra := map[string]any{"Form": "import"}
		if rules != nil {
			extra["Import"], extra["UploadID"], extra["FileName"] = rules, up, name
		}
		s.rulesDetail().failWith(w, r, orgID, err, extra)
		return
	}
	redirect(w, r, "/orgs/"+itoa(orgID)+"/rules?done=rules_imported&n="+strconv.Itoa(n))
}

// readUpload reads the file of a multipart form field.
func readUpload(r *http.Request, field string, limit int64) (name string, data []byte, err error) {
	f, hdr, err := r.FormFile(field)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return "", nil, err
	}
	if int64(len(data)) > limit {
		return "", nil, &jifen.Error{Kind: jifen.KindTooLarge, Code: "too_large", Field: field, Zh: "文件太大", En: "The file is too large"}
	}
	return filepath.Base(hdr.Filename), data, nil
}

// Points settings and the kiosk token.

func (s *Server) settingsDetail() detail {
	return detail{s: s, name: "points_settings", path: "/orgs/%d/points", data: s.settingsData}
}

func (s *Server) settingsData(r *http.Request, id int64) (map[string]any, error) {
	o, err := s.svc.Orgs.Org(r.Context(), id)
	if err != nil {
		return nil, err
	}
	st, err := s.svc.Points.Settings(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost && r.URL.Path == "/orgs/"+itoa(id)+"/points" {
		// Show what was typed, not what is stored, beside the error.
		if in, err := settingsInput(r); err == nil {
			in.OrgID, in.FromOrgID = st.OrgID, st.FromOrgID
			st = &in
		}
	}
	a := jifen.ActorFrom(r.Context())
	return map[string]any{"Org": o, "S": st, "Admin": a.Has(o.Path, jifen.RoleOrgAdmin), "SetsBudget": a.SetsBudgetOf(o.Path)}, nil
}

func settingsInput(r *http.Request) (jifen.PointsSettings, error) {
	in := jifen.PointsSettings{PointsTo: r.FormValue("points_to"), MaskNames: r.FormValue("mask_names") == "yes",
		BackfillEarns: r.FormValue("backfill_earns") == "yes", Expiry: r.FormValue("expiry")}
	var err error
	if in.DailyCap, err = formNumber(r, "daily_cap"); err != nil {
		return in, err
	}
	if in.YearlyBudget, err = formNumber(r, "yearly_budget"); err != nil {
		return in, err
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"public_days", &in.PublicDays}, {"appeal_days", &in.AppealDays}, {"expiry_months", &in.ExpiryMonths}} {
		n, err := formNumber(r, f.name)
		if err != nil {
			return in, err
		}
		if n > 1<<20 || n < -1<<20 {
			return in, jifen.Invalid(f.name, "数字太大", "The number is too large")
		}
		*f.v = int(n)
	}
	return in, nil
}

// Awards.

// awardsPage lists an org's awards for its staff: filters, the way to
// the other points pages, and the export.
func (s *Server) awardsPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	f := awardFilter(r)
	awards, total, err := s.svc.Points.Awards(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orgs, err := s.pointsOrgs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := (total + f.PerPage - 1) / f.PerPage
	s.render(w, r, http.StatusOK, "awards", map[string]any{"Awards": awards, "Total": total, "Orgs": orgs, "F": f, "Q": r.URL.Query(),
		"Statuses": awardStatuses, "Prev": f.Page - 1, "Next": nextPage(f.Page, pages)})
}

var awardStatuses = []jifen.AwardStatus{jifen.AwardPending, jifen.AwardPosted, jifen.AwardRejected, jifen.AwardReversed}

func awardFilter(r *http.Request) jifen.AwardFilter {
	q := r.URL.Query()
	f := jifen.AwardFilter{Status: jifen.AwardStatus(q.Get("status")), PerPage: 50}
	f.OrgID, _ = strconv.ParseInt(q.Get("org_id"), 10, 64)
	f.PersonID, _ = strconv.ParseInt(q.Get("person_id"), 10, 64)
	f.HouseholdID, _ = strconv.ParseInt(q.Get("household_id"), 10, 64)
	f.Page, _ = strconv.Atoi(q.Get("page"))
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 50, 100)
	return f
}

// awardTarget is who an award form is for: a person or a household, with
// the org whose rules apply.
type awardTarget struct {
	Person    *jifen.Person
	Household *jifen.Household
	OrgID     int64
}

func (s *Server) awardTargetOf(r *http.Request, personID, householdID int64) (*awardTarget, error) {
	switch {
	case personID > 0:
		p, err := s.svc.People.Person(r.Context(), personID)
		if err != nil {
			return nil, err
		}
		return &awardTarget{Person: p, OrgID: p.HomeOrgID}, nil
	case householdID > 0:
		h, err := s.svc.Points.Household(r.Context(), householdID)
		if err != nil {
			return nil, err
		}
		return &awardTarget{Household: h, OrgID: h.OrgID}, nil
	}
	return nil, nil
}

// activeRules are the rules of an org one may award by today.
func (s *Server) activeRules(r *http.Request, orgID int64, earningOnly bool) ([]*jifen.Rule, error) {
	all, err := s.svc.Points.Rules(r.Context(), orgID)
	if err != nil {
		return nil, err
	}
	day := s.today()
	var out []*jifen.Rule
	for _, ru := range all {
		if ru.ActiveOn(day) && (!earningOnly || ru.Points > 0) {
			out = append(out, ru)
		}
	}
	return out, nil
}

// awardNewData is the award form: a search for the person (the people
// search: name, phone or volunteer number), or the person or household
// already chosen with the rules that apply to them.
func (s *Server) awardNewData(r *http.Request) (map[string]any, error) {
	q := r.URL.Query()
	personID, householdID := formInt(r, "person_id"), formInt(r, "household_id")
	data := map[string]any{"Q": q.Get("q"), "P": postedForm(r), "Key": formKey()}
	tg, err := s.awardTargetOf(r, personID, householdID)
	if err != nil {
		return nil, err
	}
	if tg != nil {
		data["T"] = tg
		rules, err := s.activeRules(r, tg.OrgID, false)
		if err != nil {
			return nil, err
		}
		data["Rules"], data["Groups"] = rules, groupRules(rules)
	} else if term := strings.TrimSpace(q.Get("q")); term != "" {
		people, _, err := s.svc.People.People(r.Context(), jifen.PersonFilter{Q: term, PerPage: 20})
		if err != nil {
			return nil, err
		}
		data["Found"] = people
		data["Searched"] = true
	}
	return data, nil
}

func (s *Server) awardNewPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "award_new", s.awardNewData)
}

// readEvidence reads an optional photo from the form.
func readEvidence(r *http.Request) ([]byte, error) {
	_, b, err := readUpload(r, "evidence", maxPhoto)
	if errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// awardCreate awards or deducts by rule for the chosen person or household.
func (s *Server) awardCreate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	in := jifen.AwardInput{PersonID: formInt(r, "person_id"), HouseholdID: formInt(r, "household_id"), RuleID: formInt(r, "rule_id"),
		Note: r.FormValue("note"), Key: r.FormValue("key")}
	err := func() error {
		var err error
		if in.Quantity, err = formNumber(r, "quantity"); err != nil {
			return err
		}
		if in.Key == "" {
			return jifen.Invalid("key", "表单已过期，请刷新后重试", "This form has expired; reload and try again")
		}
		if in.Evidence, err = readEvidence(r); err != nil {
			return err
		}
		aw, err := s.svc.Points.Award(r.Context(), in)
		if err != nil {
			return err
		}
		redirect(w, r, "/awards/"+itoa(aw.ID)+"?done=awarded_"+string(aw.Status))
		return nil
	}()
	if err == nil {
		return
	}
	data, derr := s.awardNewData(r)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	s.formFail(w, r, "award_new", data, err)
}

// bulkLine is one line of a bulk award as read, before it is resolved.
type bulkLine struct {
	Row      int    // line or sheet row, for messages
	Who      string // volunteer number or phone
	RuleCode string // empty: the form's rule
	Quantity int64
	Note     string
	Bad      string // a catalog key (row, value) when the row cannot be read
}

func (s *Server) awardBulkData(r *http.Request) (map[string]any, error) {
	orgs, err := s.pointsOrgs(r)
	if err != nil {
		return nil, err
	}
	orgID := formInt(r, "org_id")
	if orgID == 0 && len(orgs) > 0 {
		orgID = orgs[0].ID
	}
	data := map[string]any{"Orgs": orgs, "OrgID": orgID, "P": postedForm(r), "Key": formKey(), "FileKey": formKey()}
	if orgID != 0 {
		if data["Rules"], err = s.activeRules(r, orgID, false); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func (s *Server) awardBulkPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "award_bulk", s.awardBulkData)
}

// awardBulk awards a pasted list (one volunteer number or phone per line,
// all by the form's rule) or a spreadsheet (志愿者编号 or 手机号, 规则编码,
// 数量, 备注), all in one transaction under the form's one key.
func (s *Server) awardBulk(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	fail := func(err error, problems []string) {
		data, derr := s.awardBulkData(r)
		if derr != nil {
			s.fail(w, r, derr)
			return
		}
		data["Problems"] = problems
		s.formFail(w, r, "award_bulk", data, err)
	}
	orgID, key := formInt(r, "org_id"), r.FormValue("key")
	if key == "" {
		fail(jifen.Invalid("key", "表单已过期，请刷新后重试", "This form has expired; reload and try again"), nil)
		return
	}
	var lines []bulkLine
	if r.FormValue("source") == "file" {
		name, b, err := readUpload(r, "file", maxUpload)
		if err != nil {
			fail(jifen.Invalid("file", "请选择要上传的Excel文件（.xlsx）", "Choose an Excel file (.xlsx)"), nil)
			return
		}
		if lines, err = parseBulkSheet(b, name); err != nil {
			fail(err, nil)
			return
		}
	} else {
		q, err := formNumber(r, "quantity")
		if err != nil {
			fail(err, nil)
			return
		}
		for i, l := range strings.Split(r.FormValue("list"), "\n") {
			if l = strings.TrimSpace(strings.Trim(l, ",，;；\t")); l != "" {
				lines = append(lines, bulkLine{Row: i + 1, Who: l, Quantity: q, Note: r.FormValue("note")})
			}
		}
	}
	if len(lines) == 0 {
		fail(jifen.Invalid("list", "名单是空的", "The list is empty"), nil)
		return
	}
	if len(lines) > 2000 {
		fail(jifen.Invalid("list", "一次最多发放2000条，请分批提交", "At most 2000 lines at a time; split the list"), nil)
		return
	}
	rules, err := s.activeRules(r, orgID, false)
	if err != nil {
		if k := jifen.ErrorKind(err); k == jifen.KindNotFound || k == jifen.KindForbidden {
			err = jifen.Invalid("org_id", "请选择组织", "Choose the organisation")
		}
		fail(err, nil)
		return
	}
	byCode := map[string]int64{}
	for _, ru := range rules {
		byCode[strings.ToLower(ru.Code)] = ru.ID
	}
	formRule := formInt(r, "rule_id")
	var in []jifen.AwardInput
	var problems []string
	lang := langOf(r)
	for _, l := range lines {
		if l.Bad != "" {
			problems = append(problems, tf(lang, l.Bad, l.Row, l.Who))
			continue
		}
		rule := formRule
		if l.RuleCode != "" {
			if rule = byCode[strings.ToLower(l.RuleCode)]; rule == 0 {
				problems = append(problems, tf(lang, "bulk.no_rule", l.Row, l.RuleCode))
				continue
			}
		}
		pid, err := s.personByKey(r, orgID, l.Who, "list")
		if err != nil {
			problems = append(problems, tf(lang, "bulk.no_person", l.Row, l.Who))
			continue
		}
		in = append(in, jifen.AwardInput{PersonID: pid, RuleID: rule, Quantity: l.Quantity, Note: l.Note})
	}
	if len(problems) > 0 {
		fail(jifen.Invalid("list", "名单中有无法识别的行，未发放任何积分", "Some lines could not be matched; nothing was awarded"), problems)
		return
	}
	awards, err := s.svc.Points.AwardBulk(r.Context(), key, in)
	if err != nil {
		fail(err, nil)
		return
	}
	var sum int64
	for _, a := range awards {
		if a.Status == jifen.AwardPosted {
			sum += a.Points
		}
	}
	data, err := s.awardBulkData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data["Done"], data["Sum"] = awards, sum
	s.render(w, r, http.StatusOK, "award_bulk", data)
}

// tf is the template helper tf for handlers.
func tf(lang, key string, args ...any) string { return trf(lang, key, args...) }

// personByKey finds someone under an org by volunteer number, phone or ID
// number, as lists and spreadsheets name people; nobody (or someone out of
// the actor's sight) is a form error on field.
func (s *Server) personByKey(r *http.Request, orgID int64, key, field string) (int64, error) {
	key = strings.TrimPrefix(strings.TrimSpace(key), PersonQRPrefix)
	p, err := s.svc.People.LookupPerson(r.Context(), orgID, key)
	if k := jifen.ErrorKind(err); k == jifen.KindNotFound || k == jifen.KindInvalid {
		return 0, jifen.Invalid(field, "未找到该志愿者编号或手机号："+key, "No one with this volunteer number or phone: "+key)
	}
	if err != nil {
		return 0, err
	}
	return p.ID, nil
}

func (s *Server) reviewPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "award_review", s.reviewData)
}

func (s *Server) reviewData(r *http.Request) (map[string]any, error) {
	f := jifen.AwardFilter{Status: jifen.AwardPending, OrgID: formInt(r, "org_id"), PerPage: 50}
	f.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 50, 100)
	awards, total, err := s.svc.Points.Awards(r.Context(), f)
	if err != nil {
		return nil, err
	}
	pages := (total + f.PerPage - 1) / f.PerPage
	// Awards for the reviewer's own household are decided by another
	// reviewer too (Approve refuses them), as are the reviewer's own.
	var household int64
	if h, err := s.svc.Points.MyHousehold(r.Context()); err != nil {
		return nil, err
	} else if h != nil {
		household = h.ID
	}
	return map[string]any{"Awards": awards, "Total": total, "Prev": f.Page - 1, "Next": nextPage(f.Page, pages), "Rejecting": formInt(r, "award_id"),
		"MyHousehold": household}, nil
}

// awardDecision approves or rejects, then goes back where the reviewer
// was: the queue or the award's page.
func (s *Server) awardDecision(fn func(r *http.Request, id int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.signedIn(w, r) == nil {
			return
		}
		id, err := pathID(r, "id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		fromQueue := r.FormValue("back") == "review"
		if err := fn(r, id); err != nil {
			if fromQueue {
				data, derr := s.reviewData(r)
				if derr != nil {
					s.fail(w, r, derr)
					return
				}
				data["Rejecting"] = id
				s.formFail(w, r, "award_review", data, err)
				return
			}
			s.awardDetail().fail(w, r, id, err)
			return
		}
		if fromQueue {
			redirect(w, r, "/awards/review?done=decided")
			return
		}
		redirect(w, r, "/awards/"+itoa(id)+"?done=decided")
	}
}

func (s *Server) awardDetail() detail {
	return detail{s: s, name: "award", path: "/awards/%d", data: s.awardData}
}

func (s *Server) awardData(r *http.Request, id int64) (map[string]any, error) {
	aw, err := s.svc.Points.GetAward(r.Context(), id)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"A": aw}
	if o, err := s.svc.Orgs.Org(r.Context(), aw.OrgID); err == nil {
		a := jifen.ActorFrom(r.Context())
		data["Reviewer"] = a.Has(o.Path, jifen.RoleOrgAdmin, jifen.RoleReviewer)
		// The rule's code and the ledger transaction are for staff tracing
		// an award; a resident reads the rule by its name.
		data["Staff"] = a.Has(o.Path, jifen.StaffRoles...)
	}
	if ru, err := s.svc.Points.Rule(r.Context(), aw.RuleID); err == nil {
		data["Rule"] = ru
	}
	return data, nil
}

// awardEvidence serves an award's photo to those the service lets see it.
func (s *Server) awardEvidence(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.svc.Points.AwardEvidence(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(b) == 0 {
		s.fail(w, r, jifen.NotFound("page"))
		return
	}
	ct := http.DetectContentType(b)
	if ct != "image/jpeg" && ct != "image/png" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(b)
}

// Claims.

func (s *Server) claimData(r *http.Request) (map[string]any, error) {
	a := jifen.ActorFrom(r.Context())
	rules, err := s.activeRules(r, a.HomeOrgID, true)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Rules": rules, "Groups": groupRules(rules), "P": postedForm(r), "Key": formKey()}
	// A household head claims for members without a phone (代办).
	h, err := s.svc.Points.MyHousehold(r.Context())
	if err != nil {
		return nil, err
	}
	if h != nil && h.HeadID == a.PersonID {
		var for_ []jifen.HouseholdMember
		for _, m := range h.Members {
			if !m.HasPhone && m.PersonID != a.PersonID {
				for_ = append(for_, m)
			}
		}
		data["Members"] = for_
	}
	return data, nil
}

// ruleGroup is the rules of one category: the claim form lists forty or
// more, and a resident finds one by its category's heading.
type ruleGroup struct {
	Category jifen.RuleCategory
	Rules    []*jifen.Rule
}

// groupRules groups rules by category, in the catalogue's order of
// categories (any other category after them), keeping the rules' order
// within each.
func groupRules(rules []*jifen.Rule) []ruleGroup {
	order := slices.Clone(jifen.RuleCategories)
	byCat := map[jifen.RuleCategory][]*jifen.Rule{}
	for _, ru := range rules {
		if !slices.Contains(order, ru.Category) {
			order = append(order, ru.Category)
		}
		byCat[ru.Category] = append(byCat[ru.Category], ru)
	}
	var out []ruleGroup
	for _, c := range order {
		if len(byCat[c]) > 0 {
			out = append(out, ruleGroup{Category: c, Rules: byCat[c]})
		}
	}
	return out
}

func (s *Server) claimPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "award_claim", s.claimData)
}

// claim asks for points by a rule for oneself, or as a household head for
// a member without a phone; it waits for a reviewer.
func (s *Server) claim(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	in := jifen.AwardInput{PersonID: a.PersonID, RuleID: formInt(r, "rule_id"), Note: r.FormValue("note"), Key: r.FormValue("key")}
	if p := formInt(r, "person_id"); p > 0 {
		in.PersonID = p
	}
	err := func() error {
		var err error
		if in.Quantity, err = formNumber(r, "quantity"); err != nil {
			return err
		}
		if in.Key == "" {
			return jifen.Invalid("key", "表单已过期，请刷新后重试", "This form has expired; reload and try again")
		}
		if in.Evidence, err = readEvidence(r); err != nil {
			return err
		}
		aw, err := s.svc.Points.Award(r.Context(), in)
		if err != nil {
			return err
		}
		redirect(w, r, "/awards/"+itoa(aw.ID)+"?done=claimed")
		return nil
	}()
	if err == nil {
		return
	}
	data, derr := s.claimData(r)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	s.formFail(w, r, "award_claim", data, err)
}

// Ledgers.

const ledgerPerPage = 20

// ledgerLine is a ledger line as the page shows it: with the award behind
// it and whether it may still be appealed.
type ledgerLine struct {
	*jifen.LedgerLine
	Award      *jifen.Award
	Appealable bool
}

// ledgerData reads an account's summary and one page of its lines.
func (s *Server) ledgerData(r *http.Request, f jifen.LedgerFilter, sum *jifen.PointsSummary, appeals bool) (map[string]any, error) {
	f.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	f.Page, f.PerPage = jifen.Paging(f.Page, ledgerPerPage, ledgerPerPage, ledgerPerPage)
	lines, total, err := s.svc.Points.Ledger(r.Context(), f)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]ledgerLine, len(lines))
	for i, l := range lines {
		out[i] = ledgerLine{LedgerLine: l}
		if appeals && l.AwardID != nil && l.Reverses == nil && (l.Kind == jifen.TxAward || l.Kind == jifen.TxDeduction) {
			if aw, err := s.svc.Points.GetAward(r.Context(), *l.AwardID); err == nil {
				out[i].Award = aw
				out[i].Appealable = aw.Status == jifen.AwardPosted && aw.AppealUntil != nil && now.Before(*aw.AppealUntil)
			}
		}
	}
	pages := (total + f.PerPage - 1) / f.PerPage
	return map[string]any{"Sum": sum, "Lines": out, "Total": total, "Page": f.Page, "Prev": f.Page - 1, "Next": nextPage(f.Page, pages)}, nil
}

func (s *Server) personPointsData(r *http.Request, id int64) (map[string]any, error) {
	p, err := s.svc.People.Person(r.Context(), id)
	if err != nil {
		return nil, err
	}
	sum, err := s.svc.Points.Points(r.Context(), id)
	if err != nil {
		return nil, err
	}
	self := jifen.ActorFrom(r.Context()).PersonID == id
	data, err := s.ledgerData(r, jifen.LedgerFilter{PersonID: id}, sum, self)
	if err != nil {
		return nil, err
	}
	data["Person"], data["Self"] = p, self
	data["Appealing"] = formInt(r, "transaction_id")
	return data, nil
}

func (s *Server) myPointsPage(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	data, err := s.personPointsData(r, a.PersonID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "points_person", data)
}

func (s *Server) personPointsPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	detail{s: s, name: "points_person", data: s.personPointsData}.show(w, r)
}

// Households.

func (s *Server) householdDetail() detail {
	return detail{s: s, name: "household", path: "/households/%d", data: s.householdData}
}

func (s *Server) householdData(r *http.Request, id int64) (map[string]any, error) {
	h, err := s.svc.Points.Household(r.Context(), id)
	if err != nil {
		return nil, err
	}
	sum, err := s.svc.Points.HouseholdPoints(r.Context(), id)
	if err != nil {
		return nil, err
	}
	data, err := s.ledgerData(r, jifen.LedgerFilter{HouseholdID: id}, sum, false)
	if err != nil {
		return nil, err
	}
	data["H"] = h
	if o, err := s.svc.Orgs.Org(r.Context(), h.OrgID); err == nil {
		data["Admin"] = jifen.ActorFrom(r.Context()).Has(o.Path, jifen.RoleOrgAdmin)
		data["Staff"] = jifen.ActorFrom(r.Context()).Has(o.Path, jifen.RoleOrgAdmin, jifen.RoleReviewer)
	}
	return data, nil
}

// myHouseholdPage opens one's household, or says there is none.
func (s *Server) myHouseholdPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	h, err := s.svc.Points.MyHousehold(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if h != nil {
		redirect(w, r, "/households/"+itoa(h.ID))
		return
	}
	s.render(w, r, http.StatusOK, "household", map[string]any{"None": true})
}

func (s *Server) householdsData(r *http.Request) (map[string]any, error) {
	orgs, err := s.pointsOrgs(r)
	if err != nil {
		return nil, err
	}
	orgID := formInt(r, "org_id")
	if orgID == 0 && len(orgs) > 0 {
		orgID = orgs[0].ID
	}
	data := map[string]any{"Orgs": orgs, "OrgID": orgID, "P": postedForm(r)}
	if orgID == 0 {
		return data, nil
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page, _ = jifen.Paging(page, 1, 1, 1)
	hs, total, err := s.svc.Points.Households(r.Context(), orgID, page)
	if err != nil {
		return nil, err
	}
	data["Households"], data["Total"], data["Prev"] = hs, total, page-1
	data["Next"] = nextPage(page, (total+listPerPage-1)/listPerPage)
	return data, nil
}

func (s *Server) householdsPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "households", s.householdsData)
}

// householdCreate makes a household: its org, head and members, named by
// volunteer number or phone.
func (s *Server) householdCreate(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	in := jifen.HouseholdInput{OrgID: formInt(r, "org_id"), Name: r.FormValue("name")}
	err := func() error {
		var err error
		if in.HeadID, err = s.personByKey(r, in.OrgID, r.FormValue("head"), "head"); err != nil {
			return err
		}
		for _, m := range splitList(r.FormValue("members")) {
			id, err := s.personByKey(r, in.OrgID, m, "members")
			if err != nil {
				return err
			}
			in.MemberIDs = append(in.MemberIDs, id)
		}
		h, err := s.svc.Points.CreateHousehold(r.Context(), in)
		if err != nil {
			return err
		}
		redirect(w, r, "/households/"+itoa(h.ID)+"?done=created")
		return nil
	}()
	if err == nil {
		return
	}
	data, derr := s.householdsData(r)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	s.formFail(w, r, "households", data, err)
}

// splitList splits a pasted list on lines, commas and spaces.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(c rune) bool {
		return c == ',' || c == '，' || c == '、' || c == ';' || c == '；' || c == '\n' || c == '\r' || c == ' ' || c == '\t'
	})
}

// Appeals.

// appealsData is the reviewers' queue (open appeals first), or for
// everyone else their own appeals.
func (s *Server) appealsData(r *http.Request) (map[string]any, error) {
	paths, all := jifen.ActorFrom(r.Context()).ScopePaths(jifen.RoleOrgAdmin, jifen.RoleReviewer)
	reviewer := all || len(paths) > 0
	q := r.URL.Query()
	st := jifen.AppealStatus(q.Get("status"))
	if reviewer && !q.Has("status") {
		st = jifen.AppealOpen
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page, _ = jifen.Paging(page, 1, 1, 1)
	appeals, total, err := s.svc.Points.Appeals(r.Context(), formInt(r, "org_id"), st, page)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Appeals": appeals, "Total": total, "Status": string(st), "Reviewer": reviewer, "Prev": page - 1,
		"Next": nextPage(page, (total+listPerPage-1)/listPerPage), "Answering": formInt(r, "appeal_id")}, nil
}

// listPerPage is the page size of the service's household and appeal lists.
const listPerPage = 50

func (s *Server) appealsPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "appeals", s.appealsData)
}

// appealCreate appeals a line of one's own ledger, from that page.
func (s *Server) appealCreate(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	if _, err := s.svc.Points.Appeal(r.Context(), formInt(r, "transaction_id"), r.FormValue("reason")); err != nil {
		data, derr := s.personPointsData(r, a.PersonID)
		if derr != nil {
			s.fail(w, r, derr)
			return
		}
		s.formFail(w, r, "points_person", data, err)
		return
	}
	redirect(w, r, "/me/points?done=appealed")
}

func (s *Server) appealDecision(fn func(r *http.Request, id int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.signedIn(w, r) == nil {
			return
		}
		id, err := pathID(r, "id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := fn(r, id); err != nil {
			data, derr := s.appealsData(r)
			if derr != nil {
				s.fail(w, r, derr)
				return
			}
			data["Answering"] = id
			s.formFail(w, r, "appeals", data, err)
			return
		}
		redirect(w, r, "/appeals?done=decided")
	}
}

// The public board.

// boardPage is an org's 光荣榜 and 公示: rankings, the honour roll, the
// recent awards and the chain's head. ?tv=1 is the lobby screen: very
// large type and a reload every minute (a meta refresh: no script).
func (s *Server) boardPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "org")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k := r.URL.Query().Get("k")
	b, err := s.svc.Points.Board(r.Context(), id, k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tv := r.URL.Query().Get("tv") == "1"
	if !tv && len(b.Recent) > 30 {
		b.Recent = b.Recent[:30] // the notice list has them all
	}
	if tv {
		// A lobby screen shows one screenful and never scrolls: the top
		// five of each ranking and the latest awards.
		b.Month, b.Year, b.AllTime, b.Honour = firstRows(b.Month, 5), firstRows(b.Year, 5), firstRows(b.AllTime, 5), firstRows(b.Honour, 5)
		if len(b.Recent) > 8 {
			b.Recent = b.Recent[:8]
		}
	}
	s.render(w, r, http.StatusOK, "board", map[string]any{"B": b, "TV": tv, "K": k})
}

// noticePage is the printable 公示名单: every award in its public period.
// A lobby screen (no one signed in) gets what the board shows; names
// follow the org's choice either way.
func (s *Server) noticePage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "org")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k := r.URL.Query().Get("k")
	b, err := s.svc.Points.Board(r.Context(), id, k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	awards := slices.Clone(b.Recent)
	slices.Reverse(awards) // a notice lists oldest first
	if jifen.ActorFrom(r.Context()) != nil {
		if awards, err = s.publicAwards(r, id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	now := s.now()
	shown := awards[:0:0]
	for _, a := range awards {
		if a.PublicUntil != nil && now.Before(*a.PublicUntil) {
			shown = append(shown, a)
		}
	}
	s.render(w, r, http.StatusOK, "board_notice", map[string]any{"B": b, "Awards": shown, "K": k})
}

// publicAwards reads all of an org's awards on public display, oldest
// first as a notice lists them, with names as the org shows them.
func (s *Server) publicAwards(r *http.Request, orgID int64) ([]*jifen.Award, error) {
	var out []*jifen.Award
	for page := 1; page <= 50; page++ {
		got, total, err := s.svc.Points.Awards(r.Context(), jifen.AwardFilter{OrgID: orgID, Public: true, Page: page, PerPage: 200})
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		if len(got) == 0 || len(out) >= total {
			break
		}
	}
	slices.Reverse(out) // names come masked as the org chooses (PointsService.Awards)
	return out, nil
}

// The ledger's check.

func (s *Server) ledgerVerifyData(r *http.Request) (map[string]any, error) {
	if !jifen.ActorFrom(r.Context()).IsSuperAdmin() {
		return nil, jifen.ErrForbidden
	}
	b, err := s.svc.Ledger.LatestBlock(r.Context())
	if err != nil {
		return nil, err
	}
	return map[string]any{"Block": b, "Anchor": r.PostFormValue("anchor")}, nil
}

func (s *Server) ledgerVerifyPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "ledger_verify", s.ledgerVerifyData)
}

// ledgerVerify runs what `jifen verify` runs and shows its report; the
// check is only for super admins, since it reads the whole ledger.
func (s *Server) ledgerVerify(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	data, err := s.ledgerVerifyData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	anchor := strings.ToLower(strings.TrimSpace(r.FormValue("anchor")))
	if anchor != "" && !isHex(anchor) {
		s.formFail(w, r, "ledger_verify", data, jifen.Invalid("anchor", "锚定哈希应为十六进制字符", "The anchor is a hexadecimal hash"))
		return
	}
	rep, err := s.svc.Ledger.Verify(r.Context(), anchor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The check seals first; show the head as it is now.
	if data["Block"], err = s.svc.Ledger.LatestBlock(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	data["Report"], data["Anchor"] = rep, anchor
	s.render(w, r, http.StatusOK, "ledger_verify", data)
}

func isHex(s string) bool {
	if len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Exports: a person's or a household's 台账, an org's awards.

func (s *Server) personLedgerExport(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
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
	s.ledgerExport(w, r, jifen.LedgerFilter{PersonID: id}, p.Name+"（"+p.VolunteerNo+"）积分台账", "points-ledger-"+p.VolunteerNo)
}

func (s *Server) householdLedgerExport(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.svc.Points.Household(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := h.Name
	if name == "" {
		name = h.HeadName + "户"
	}
	s.ledgerExport(w, r, jifen.LedgerFilter{HouseholdID: id}, name+"积分台账", "household-ledger-"+itoa(id))
}

// exportPage is how many lines an export reads at a time.
const exportPage = 100

// allPages reads a paged list to its end (or the last page anyone may ask
// for), for an export.
func allPages[T any](fetch func(page int) ([]T, int, error)) ([]T, error) {
	var out []T
	for page := 1; ; page++ {
		got, total, err := fetch(page)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		if len(got) == 0 || len(out) >= total || page >= jifen.MaxPage {
			return out, nil
		}
	}
}

func (s *Server) ledgerExport(w http.ResponseWriter, r *http.Request, f jifen.LedgerFilter, title, file string) {
	lines, err := allPages(func(page int) ([]*jifen.LedgerLine, int, error) {
		f.Page, f.PerPage = page, exportPage
		return s.svc.Points.Ledger(r.Context(), f)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := writeLedgerXLSX(&buf, title, lines); err != nil {
		s.fail(w, r, err)
		return
	}
	sendXLSX(w, file, buf.Bytes())
}

func (s *Server) awardsExport(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	f := awardFilter(r)
	title := "积分发放明细"
	if f.OrgID != 0 {
		o, err := s.svc.Orgs.Org(r.Context(), f.OrgID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		title = o.Name + title
	}
	awards, err := allPages(func(page int) ([]*jifen.Award, int, error) {
		f.Page, f.PerPage = page, exportPage
		return s.svc.Points.Awards(r.Context(), f)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := writeAwardsXLSX(&buf, title, awards); err != nil {
		s.fail(w, r, err)
		return
	}
	sendXLSX(w, "awards", buf.Bytes())
}

func firstRows(rows []jifen.BoardRow, n int) []jifen.BoardRow {
	if len(rows) > n {
		return rows[:n]
	}
	return rows
}
