package web

import (
	"context"
	"net/http"
	"strings"

	"jifen"
)

// The points API. Paths, field names and status codes are fixed with
// integrators.
type (
	// ruleRequest is jifen.RuleInput: code, name, category, points, unit,
	// the caps, needs_evidence, needs_review, valid_from, valid_to.
	ruleRequest = jifen.RuleInput
	// awardRequest is jifen.AwardInput; the key comes in the
	// Idempotency-Key header.
	awardRequest  = jifen.AwardInput
	awardResponse struct {
		ID     int64             `json:"id"`
		Status jifen.AwardStatus `json:"status"`
		Points int64             `json:"points"`
	}
	bulkAwardRequest struct {
		Items []jifen.AwardInput `json:"items"`
	}
	rejectRequest struct {
		Reason string `json:"reason"`
	}
	memberRequest struct {
		PersonID int64 `json:"person_id"`
	}
	appealRequest struct {
		TxID   int64  `json:"transaction_id"`
		Reason string `json:"reason"`
	}
	appealResponse struct {
		ID     int64              `json:"id"`
		Status jifen.AppealStatus `json:"status"`
	}
	kioskResponse struct {
		Token string `json:"token"`
		URL   string `json:"url"`
	}
)

func (s *Server) registerPointsAPI() {
	api := func(method, path, summary string, body, resp any, h http.HandlerFunc) {
		s.handle(Route{Method: method, Path: "/api/v1" + path, API: true, Summary: summary, Body: body, Resp: resp}, h)
	}
	pts := s.svc.Points
	ctx := func(r *http.Request) context.Context { return r.Context() }
	page := func(r *http.Request) (int, error) {
		p, err := queryInt(r.URL.Query().Get("page"))
		if err != nil {
			return 0, badQuery("page")
		}
		return int(p), nil
	}

	// Rule catalogues and settings.
	api("POST", "/orgs/{id}/rules", "Create a rule in an org's catalogue (org admin); a code the org already has is a conflict", ruleRequest{}, idResponse{},
		endpoint(s, "org", http.StatusCreated, func(r *http.Request, id int64, in *ruleRequest) (idResponse, error) {
			ru, err := pts.CreateRule(ctx(r), id, *in)
			if err != nil {
				return idResponse{}, err
			}
			return idResponse{ID: ru.ID}, nil
		}))
	api("GET", "/orgs/{id}/rules", "The rules in force at an org: its own and those inherited from above (inherited=true)", nil, list[jifen.Rule]{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.Rule], error) {
			rules, err := pts.Rules(ctx(r), id)
			return listOf(rules), err
		}))
	api("GET", "/rules/{id}", "One rule in its current version", nil, jifen.Rule{},
		endpoint(s, "rule", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Rule, error) {
			return pts.Rule(ctx(r), id)
		}))
	api("POST", "/rules/{id}", "Write a new version of a rule (org admin); awards keep the version they used", ruleRequest{}, jifen.Rule{},
		endpoint(s, "rule", http.StatusOK, func(r *http.Request, id int64, in *ruleRequest) (*jifen.Rule, error) {
			return pts.UpdateRule(ctx(r), id, *in)
		}))
	api("POST", "/rules/{id}/archive", "Archive a rule: no new awards by it (org admin)", nil, nil,
		endpoint(s, "rule", http.StatusNoContent, func(r *http.Request, id int64, _ *none) (*none, error) {
			return nil, pts.ArchiveRule(ctx(r), id)
		}))
	api("GET", "/orgs/{id}/points-settings", "An org's points settings (its own or the nearest ancestor's: from_org_id)", nil, jifen.PointsSettings{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.PointsSettings, error) {
			return pts.Settings(ctx(r), id)
		}))
	api("PUT", "/orgs/{id}/points-settings", "Set an org's points settings (org admin)", jifen.PointsSettings{}, jifen.PointsSettings{},
		endpoint(s, "org", http.StatusOK, func(r *http.Request, id int64, in *jifen.PointsSettings) (*jifen.PointsSettings, error) {
			if err := pts.SaveSettings(ctx(r), id, *in); err != nil {
				return nil, err
			}
			return pts.Settings(ctx(r), id)
		}))
	api("POST", "/orgs/{id}/kiosk-tokens", "A read-only token for the org's public board on a lobby screen (org admin)", nil, kioskResponse{},
		endpoint(s, "org", http.StatusCreated, func(r *http.Request, id int64, _ *none) (kioskResponse, error) {
			tok, err := pts.NewKioskToken(ctx(r), id)
			return kioskResponse{Token: tok, URL: s.cfg.PublicURL + "/board/" + itoa(id) + "?k=" + tok}, err
		}))

	// Households.
	api("POST", "/households", "Create a household (户) in an org with its head and members (org admin)", jifen.HouseholdInput{}, idResponse{},
		endpoint(s, "household", http.StatusCreated, func(r *http.Request, _ int64, in *jifen.HouseholdInput) (idResponse, error) {
			h, err := pts.CreateHousehold(ctx(r), *in)
			if err != nil {
				return idResponse{}, err
			}
			return idResponse{ID: h.ID}, nil
		}))
	api("GET", "/households/{id}", "One household with its members, balance and score", nil, jifen.Household{},
		endpoint(s, "household", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Household, error) {
			return pts.Household(ctx(r), id)
		}))
	api("POST", "/households/{id}", "Rename a household or hand it to another member as head (org admin); a household named after its head follows the new one", jifen.HouseholdChange{}, jifen.Household{},
		endpoint(s, "household", http.StatusOK, func(r *http.Request, id int64, in *jifen.HouseholdChange) (*jifen.Household, error) {
			return pts.ChangeHousehold(ctx(r), id, *in)
		}))
	api("POST", "/households/{id}/members", "Add a person to a household (org admin)", memberRequest{}, nil,
		endpoint(s, "household", http.StatusNoContent, func(r *http.Request, id int64, in *memberRequest) (*none, error) {
			return nil, pts.AddMember(ctx(r), id, in.PersonID)
		}))
	api("DELETE", "/households/{id}/members/{person_id}", "Remove a person from a household (org admin)", nil, nil,
		endpoint(s, "household", http.StatusNoContent, func(r *http.Request, id int64, _ *none) (*none, error) {
			pid, err := pathID(r, "person_id")
			if err != nil {
				return nil, jifen.NotFound("person")
			}
			return nil, pts.RemoveMember(ctx(r), id, pid)
		}))
	api("GET", "/households/{id}/points", "A household's balance, score and where they came from", nil, jifen.PointsSummary{},
		endpoint(s, "household", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.PointsSummary, error) {
			return pts.HouseholdPoints(ctx(r), id)
		}))
	api("GET", "/households/{id}/ledger", "A household's ledger lines, newest first (page)", nil, list[jifen.LedgerLine]{},
		endpoint(s, "household", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.LedgerLine], error) {
			return s.apiLedger(r, jifen.LedgerFilter{HouseholdID: id})
		}))

	// Awards.
	api("POST", "/awards", "Award or deduct by rule for a person or a household (header Idempotency-Key required); for oneself it is a claim that waits for review",
		awardRequest{}, awardResponse{},
		endpoint(s, "award", http.StatusCreated, func(r *http.Request, _ int64, in *awardRequest) (awardResponse, error) {
			if in.Key = idempotencyKey(r); in.Key == "" {
				return awardResponse{}, missingKey
			}
			aw, err := pts.Award(ctx(r), *in)
			if err != nil {
				return awardResponse{}, err
			}
			return awardResponse{ID: aw.ID, Status: aw.Status, Points: aw.Points}, nil
		}))
	api("POST", "/awards/bulk", "Award a list in one transaction, all or none (header Idempotency-Key required)", bulkAwardRequest{}, list[jifen.Award]{},
		endpoint(s, "award", http.StatusCreated, func(r *http.Request, _ int64, in *bulkAwardRequest) (list[jifen.Award], error) {
			key := idempotencyKey(r)
			if key == "" {
				return list[jifen.Award]{}, missingKey
			}
			awards, err := pts.AwardBulk(ctx(r), key, in.Items)
			return listOf(awards), err
		}))
	api("GET", "/awards", "Awards: org_id, person_id, household_id, status, public=true (on public display), page, per_page", nil, list[jifen.Award]{}, s.apiAwards)
	api("GET", "/awards/{id}", "One award with its status, rule version, transaction and shortfall", nil, jifen.Award{},
		endpoint(s, "award", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Award, error) {
			return pts.GetAward(ctx(r), id)
		}))
	api("POST", "/awards/{id}/approve", "Approve a pending award or claim (reviewer; never one's own)", nil, jifen.Award{},
		endpoint(s, "award", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.Award, error) {
			return pts.Approve(ctx(r), id)
		}))
	api("POST", "/awards/{id}/reject", "Reject a pending award or claim with a reason (reviewer)", rejectRequest{}, jifen.Award{},
		endpoint(s, "award", http.StatusOK, func(r *http.Request, id int64, in *rejectRequest) (*jifen.Award, error) {
			return pts.Reject(ctx(r), id, in.Reason)
		}))

	// Points and ledgers.
	api("GET", "/people/{id}/points", "A person's balance (可用积分), score (累计积分), earned, deducted, spent and expired", nil, jifen.PointsSummary{},
		endpoint(s, "person", http.StatusOK, func(r *http.Request, id int64, _ *none) (*jifen.PointsSummary, error) {
			return pts.Points(ctx(r), id)
		}))
	api("GET", "/people/{id}/ledger", "A person's ledger lines with the running balance, newest first (page)", nil, list[jifen.LedgerLine]{},
		endpoint(s, "person", http.StatusOK, func(r *http.Request, id int64, _ *none) (list[jifen.LedgerLine], error) {
			return s.apiLedger(r, jifen.LedgerFilter{PersonID: id})
		}))

	// Appeals.
	api("POST", "/appeals", "Appeal an award or deduction of one's own within its window", appealRequest{}, appealResponse{},
		endpoint(s, "appeal", http.StatusCreated, func(r *http.Request, _ int64, in *appealRequest) (appealResponse, error) {
			return appealAnswer(pts.Appeal(ctx(r), in.TxID, in.Reason))
		}))
	api("GET", "/appeals", "Appeals: org_id, status (open, upheld, reversed), page", nil, list[jifen.Appeal]{},
		endpoint(s, "appeal", http.StatusOK, func(r *http.Request, _ int64, _ *none) (list[jifen.Appeal], error) {
			q := r.URL.Query()
			org, err := queryInt(q.Get("org_id"))
			if err != nil {
				return list[jifen.Appeal]{}, badQuery("org_id")
			}
			p, err := page(r)
			if err != nil {
				return list[jifen.Appeal]{}, err
			}
			appeals, total, err := pts.Appeals(ctx(r), org, jifen.AppealStatus(q.Get("status")), p)
			l := listOf(appeals)
			served, _ := jifen.Paging(p, listPerPage, listPerPage, listPerPage)
			l.Total, l.Page, l.PerPage = total, served, listPerPage
			return l, err
		}))
	api("POST", "/appeals/{id}/uphold", "Keep the award appealed against, with an answer (reviewer)", answerRequest{}, appealResponse{},
		endpoint(s, "appeal", http.StatusOK, func(r *http.Request, id int64, in *answerRequest) (appealResponse, error) {
			return appealAnswer(pts.Uphold(ctx(r), id, in.Answer))
		}))
	api("POST", "/appeals/{id}/reverse", "Undo the award appealed against in the ledger, with an answer (reviewer)", answerRequest{}, appealResponse{},
		endpoint(s, "appeal", http.StatusOK, func(r *http.Request, id int64, in *answerRequest) (appealResponse, error) {
			return appealAnswer(pts.Reverse(ctx(r), id, in.Answer))
		}))

	// The board.
	api("GET", "/board/{org}", "An org's public board: rankings (month, year, all time), honour roll, recent awards, the latest block", nil, jifen.Board{},
		func(w http.ResponseWriter, r *http.Request) {
			if s.signedIn(w, r) == nil {
				return
			}
			id, err := pathID(r, "org")
			if err != nil {
				s.fail(w, r, jifen.NotFound("org"))
				return
			}
			b, err := pts.Board(ctx(r), id, "")
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, b)
		})
}

// idempotencyKey is the request's Idempotency-Key header.
func idempotencyKey(r *http.Request) string {
	return strings.TrimSpace(r.Header.Get("Idempotency-Key"))
}

var missingKey = jifen.Invalid("idempotency_key", "请求头缺少 Idempotency-Key（每次提交一个新的唯一值，重试时不变）",
	"The Idempotency-Key header is required: a new unique value per request, the same on a retry")

func appealAnswer(a *jifen.Appeal, err error) (appealResponse, error) {
	if err != nil {
		return appealResponse{}, err
	}
	return appealResponse{ID: a.ID, Status: a.Status}, nil
}

// ledgerAPIPerPage is the page size of ledger lists.
const ledgerAPIPerPage = 50

func (s *Server) apiLedger(r *http.Request, f jifen.LedgerFilter) (list[jifen.LedgerLine], error) {
	p, err := queryInt(r.URL.Query().Get("page"))
	if err != nil {
		return list[jifen.LedgerLine]{}, badQuery("page")
	}
	f.Page, f.PerPage = jifen.Paging(int(p), ledgerAPIPerPage, ledgerAPIPerPage, ledgerAPIPerPage)
	lines, total, err := s.svc.Points.Ledger(r.Context(), f)
	l := listOf(lines)
	l.Total, l.Page, l.PerPage = total, f.Page, f.PerPage
	return l, err
}

func (s *Server) apiAwards(w http.ResponseWriter, r *http.Request) {
	if s.signedIn(w, r) == nil {
		return
	}
	q := r.URL.Query()
	f := jifen.AwardFilter{Status: jifen.AwardStatus(q.Get("status")), Public: q.Get("public") == "true"}
	for _, p := range []struct {
		name string
		v    *int64
	}{{"org_id", &f.OrgID}, {"person_id", &f.PersonID}, {"household_id", &f.HouseholdID}} {
		n, err := queryInt(q.Get(p.name))
		if err != nil {
			s.fail(w, r, badQuery(p.name))
			return
		}
		*p.v = n
	}
	for _, p := range []struct {
		name string
		v    *int
	}{{"page", &f.Page}, {"per_page", &f.PerPage}} {
		n, err := queryInt(q.Get(p.name))
		if err != nil || n > 1<<20 {
			s.fail(w, r, badQuery(p.name))
			return
		}
		*p.v = int(n)
	}
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 20, 100)
	awards, total, err := s.svc.Points.Awards(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := listOf(awards)
	l.Total, l.Page, l.PerPage = total, f.Page, f.PerPage
	writeJSON(w, http.StatusOK, l)
}
