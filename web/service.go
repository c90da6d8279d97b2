package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"jifen"
	"jifen/certpdf"
	"jifen/export"
)

func (s *Server) registerServicePages() {
	page := func(method, path string, public bool, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: path, Public: public}, h)
	}
	page("GET", "/me/service", false, s.myServicePage)
	page("POST", "/me/certificates", false, s.issueCertificate)
	page("GET", "/certificates/{file}", false, s.certificatePDF)
	page("GET", "/verify/{code}", true, s.verifyPage)
	page("POST", "/records/{id}/correction", false, s.requestCorrection)
	page("GET", "/corrections", false, s.correctionsPage)
	page("POST", "/corrections/{id}/answer", false, s.answerCorrection)
	page("GET", "/transfers", false, s.transfersPage)
	page("POST", "/transfers", false, s.requestTransfer)
	page("POST", "/transfers/{id}/consent", false, s.consentTransfer)
	page("POST", "/transfers/{id}/approve", false, s.approveTransfer)
	page("POST", "/transfers/{id}/reject", false, s.rejectTransfer)
	page("POST", "/transfers/bulk", false, s.bulkTransfer)
	page("GET", "/records", false, s.recordsPage)
	page("GET", "/records/export", false, s.recordsExport)
}

// recordsPage lists the service records of the staff member's subtree,
// with the export of the org's 台账.
func (s *Server) recordsPage(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	f, err := recordFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recs, total, err := s.svc.Records.Records(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orgs, err := s.leaderOrgs(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := (total + f.PerPage - 1) / f.PerPage
	s.render(w, r, http.StatusOK, "records", map[string]any{"Records": recs, "Total": total, "Orgs": orgs, "Q": r.URL.Query(),
		"Prev": f.Page - 1, "Next": nextPage(f.Page, pages)})
}

func recordFilter(r *http.Request) (jifen.RecordFilter, error) {
	q := r.URL.Query()
	f := jifen.RecordFilter{PerPage: 50}
	f.OrgID, _ = strconv.ParseInt(q.Get("org_id"), 10, 64)
	f.Page, _ = strconv.Atoi(q.Get("page"))
	if f.Page < 1 {
		f.Page = 1
	}
	var err error
	if f.From, f.To, err = dateRange(r); err != nil {
		return f, err
	}
	return f, nil
}

// maxXLSXRecords is how many records an XLSX export takes (a variable for
// tests, which cannot make a million records).
var maxXLSXRecords = export.MaxXLSXRecords

// recordsExport streams the records as XLSX, CSV or JSON (export/FORMAT.md).
func (s *Server) recordsExport(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	f, err := recordFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format, err := export.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	title := "志愿服务记录台账"
	if f.OrgID != 0 {
		o, err := s.svc.Orgs.Org(r.Context(), f.OrgID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		title = o.Name + title
	}
	// Check access, and that an Excel sheet can hold the records, before
	// the first byte: once streaming starts, an error can no longer become
	// a clean error page (an overfull sheet was an empty file).
	_, total, err := s.svc.Records.Records(r.Context(), jifen.RecordFilter{OrgID: f.OrgID, From: f.From, To: f.To, PerPage: 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if format == export.XLSX && total > maxXLSXRecords {
		s.fail(w, r, jifen.Invalid("format", fmt.Sprintf("共%d条记录，超过一张Excel表最多的%d条；请缩小日期范围，或导出为CSV", total, maxXLSXRecords),
			fmt.Sprintf("%d records are more than one Excel sheet holds (%d); narrow the dates or export CSV", total, maxXLSXRecords)))
		return
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="service-records`+format.Ext()+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	ew, err := export.NewRecordWriter(w, format, export.Meta{Title: title, From: f.From, To: f.To, GeneratedAt: time.Now()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Page, f.PerPage = 0, 0
	if err := s.svc.Records.EachRecord(r.Context(), f, ew.Write); err != nil {
		s.log.Error("export", "id", requestID(r.Context()), "err", err)
		ew.Close()
		return
	}
	if err := ew.Close(); err != nil {
		s.log.Error("export", "id", requestID(r.Context()), "err", err)
	}
}

func (s *Server) myServiceData(r *http.Request) (map[string]any, error) {
	a := jifen.ActorFrom(r.Context())
	h, err := s.svc.Records.Hours(r.Context(), a.PersonID)
	if err != nil {
		return nil, err
	}
	recs, total, err := s.svc.Records.Records(r.Context(), jifen.RecordFilter{PersonID: a.PersonID, PerPage: 100})
	if err != nil {
		return nil, err
	}
	sus, err := s.svc.Activities.MySignups(r.Context())
	if err != nil {
		return nil, err
	}
	issuers, err := s.svc.Certificates.Issuers(r.Context(), a.PersonID)
	if err != nil {
		return nil, err
	}
	now := time.Now().In(jifen.Zone)
	// Correction is the record whose correction form failed (0: none).
	return map[string]any{"Hours": h, "Records": recs, "Total": total, "Signups": sus, "Correction": int64(0), "Issuers": issuers,
		"From": time.Date(now.Year(), 1, 1, 0, 0, 0, 0, jifen.Zone).Format("2006-01-02"), "To": now.Format("2006-01-02")}, nil
}

func (s *Server) myServicePage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "service", s.myServiceData)
}

func (s *Server) myServiceFail(w http.ResponseWriter, r *http.Request, err error) {
	data, derr := s.myServiceData(r)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	s.formFail(w, r, "service", data, err)
}

// dateRange reads from/to date inputs; the end date counts whole.
func dateRange(r *http.Request) (time.Time, time.Time, error) {
	var from, to time.Time
	var err error
	if v := r.FormValue("from"); v != "" {
		if from, err = time.ParseInLocation("2006-01-02", v, jifen.Zone); err != nil {
			return from, to, jifen.Invalid("from", "开始日期格式不正确", "The start date is not valid")
		}
	}
	if v := r.FormValue("to"); v != "" {
		if to, err = time.ParseInLocation("2006-01-02", v, jifen.Zone); err != nil {
			return from, to, jifen.Invalid("to", "结束日期格式不正确", "The end date is not valid")
		}
		to = to.AddDate(0, 0, 1)
	}
	return from, to, nil
}

func (s *Server) issueCertificate(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	from, to, err := dateRange(r)
	if err != nil {
		s.myServiceFail(w, r, err)
		return
	}
	person := a.PersonID
	if p := formInt(r, "person_id"); p > 0 {
		person = p
	}
	c, err := s.svc.Certificates.Issue(r.Context(), jifen.CertificateRequest{PersonID: person, OrgID: formInt(r, "org_id"), From: from, To: to})
	if err != nil {
		if person != a.PersonID {
			s.personDetail().fail(w, r, person, err)
			return
		}
		s.myServiceFail(w, r, err)
		return
	}
	redirect(w, r, "/certificates/"+c.Serial+".pdf")
}

// certificatePDF renders a certificate from the register as a PDF.
func (s *Server) certificatePDF(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	serial := strings.TrimSuffix(r.PathValue("file"), ".pdf")
	c, err := s.svc.Certificates.Certificate(r.Context(), serial)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recs, err := s.svc.Certificates.Records(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	seal, err := s.svc.Certificates.Seal(r.Context(), c.OrgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := certpdf.Render(&buf, c, recs, certpdf.Options{VerifyURL: s.verifyURL(c), Seal: seal}); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+c.Serial+`.pdf"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(buf.Bytes())
}

// verifyPage is the public check page a certificate's QR code opens: it
// confirms the certificate and shows nothing beyond it.
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Certificates.Check(r.Context(), r.PathValue("code"))
	if err != nil && jifen.ErrorKind(err) != jifen.KindNotFound {
		s.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if c == nil {
		code = http.StatusNotFound
	}
	s.render(w, r, code, "verify", map[string]any{"C": c, "MaskedName": maskName(c)})
}

func maskName(c *jifen.Certificate) string {
	if c == nil {
		return ""
	}
	return jifen.MaskName(c.PersonName)
}

func (s *Server) requestCorrection(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hours, err := strconv.ParseFloat(strings.TrimSpace(r.FormValue("wanted_hours")), 64)
	if err != nil || hours < 0 || hours > 24*7 {
		err = jifen.Invalid("wanted_hours", "请填写正确的小时数，如 2.5", "Enter the hours, e.g. 2.5")
	} else {
		_, err = s.svc.Records.RequestCorrection(r.Context(), id, int(hours*60+0.5), r.FormValue("reason"))
	}
	if err != nil {
		// The record's form opens again with what was typed.
		data, derr := s.myServiceData(r)
		if derr != nil {
			s.fail(w, r, derr)
			return
		}
		data["Correction"], data["P"] = id, postedForm(r)
		s.formFail(w, r, "service", data, err)
		return
	}
	redirect(w, r, "/me/service?done=requested")
}

func (s *Server) correctionsData(r *http.Request) (map[string]any, error) {
	reqs, err := s.svc.Records.CorrectionRequests(r.Context(), 0)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Requests": reqs}, nil
}

func (s *Server) correctionsPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "corrections", s.correctionsData)
}

func (s *Server) answerCorrection(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.Records.AnswerCorrection(r.Context(), id, r.FormValue("accept") == "yes", r.FormValue("answer")); err != nil {
		data, derr := s.correctionsData(r)
		if derr != nil {
			s.fail(w, r, derr)
			return
		}
		s.formFail(w, r, "corrections", data, err)
		return
	}
	redirect(w, r, "/corrections?done=saved")
}

func (s *Server) transfersData(r *http.Request) (map[string]any, error) {
	a := jifen.ActorFrom(r.Context())
	mine, err := s.svc.Transfers.Transfers(r.Context(), a.PersonID, 0)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Mine": mine}
	if paths, all := a.ScopePaths(jifen.RoleOrgAdmin, jifen.RoleTeamLeader); all || len(paths) > 0 {
		pending, err := s.svc.Transfers.Transfers(r.Context(), 0, 0)
		if err != nil {
			return nil, err
		}
		data["Pending"] = pending
		if data["AdminOrgs"], err = s.formOrgs(r); err != nil {
			return nil, err
		}
	}
	orgs, err := s.svc.Orgs.SignupOrgs(r.Context())
	if err != nil {
		return nil, err
	}
	data["Orgs"] = orgs
	data["P"] = postedForm(r)
	return data, nil
}

func (s *Server) transfersPage(w http.ResponseWriter, r *http.Request) {
	signedInPage(s, w, r, "transfers", s.transfersData)
}

func (s *Server) transfersFail(w http.ResponseWriter, r *http.Request, err error) {
	s.transferFormFail(w, r, "", err)
}

// transferFormFail shows the page again with err; form ("request" or
// "bulk") names the form that failed, which opens again with what was typed.
func (s *Server) transferFormFail(w http.ResponseWriter, r *http.Request, form string, err error) {
	data, derr := s.transfersData(r)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	data["Form"] = form
	s.formFail(w, r, "transfers", data, err)
}

func (s *Server) requestTransfer(w http.ResponseWriter, r *http.Request) {
	a := s.signedIn(w, r)
	if a == nil {
		return
	}
	person := a.PersonID
	if p := formInt(r, "person_id"); p > 0 {
		person = p
	}
	if _, err := s.svc.Transfers.RequestTransfer(r.Context(), person, formInt(r, "to_org_id"), r.FormValue("reason")); err != nil {
		s.transferFormFail(w, r, "request", err)
		return
	}
	redirect(w, r, "/transfers?done=requested")
}

// consentTransfer is the person's yes (agree=1) or no to a transfer an
// admin asked for.
func (s *Server) consentTransfer(w http.ResponseWriter, r *http.Request) {
	s.transferAction(w, r, func(id int64) error {
		agree := r.FormValue("agree")
		if agree != "1" && agree != "0" {
			// A missing answer must not read as a refusal.
			return jifen.Invalid("agree", "请选择同意或不同意", "Choose whether you agree")
		}
		return s.svc.Transfers.Consent(r.Context(), id, agree == "1")
	})
}

func (s *Server) approveTransfer(w http.ResponseWriter, r *http.Request) {
	s.transferAction(w, r, func(id int64) error { return s.svc.Transfers.Approve(r.Context(), id) })
}

func (s *Server) rejectTransfer(w http.ResponseWriter, r *http.Request) {
	s.transferAction(w, r, func(id int64) error { return s.svc.Transfers.Reject(r.Context(), id, r.FormValue("answer")) })
}

func (s *Server) transferAction(w http.ResponseWriter, r *http.Request, fn func(int64) error) {
	if s.signedIn(w, r) == nil {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := fn(id); err != nil {
		s.transfersFail(w, r, err)
		return
	}
	redirect(w, r, "/transfers?done=saved")
}

// bulkTransfer moves the people listed by volunteer number (one per line,
// or separated by commas) when orgs merge or split.
func (s *Server) bulkTransfer(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	var ids []int64
	for _, no := range strings.FieldsFunc(r.FormValue("volunteer_nos"), func(c rune) bool { return c == ',' || c == '，' || c == '\n' || c == '\r' || c == ' ' }) {
		id, err := s.personByNumber(r, no)
		if err != nil {
			e := asError(err)
			if e.Field == "volunteer_no" {
				e.Field = "volunteer_nos" // the list box on this form
			}
			e.Zh, e.En = e.Zh+"："+no, e.En+": "+no
			s.transferFormFail(w, r, "bulk", e)
			return
		}
		ids = append(ids, id)
	}
	n, err := s.svc.Transfers.BulkMove(r.Context(), ids, formInt(r, "to_org_id"), r.FormValue("reason"))
	if err != nil {
		s.transferFormFail(w, r, "bulk", err)
		return
	}
	redirect(w, r, "/transfers?done=moved&n="+strconv.Itoa(n))
}
