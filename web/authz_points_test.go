package web_test

import (
	"net/http"
	"testing"

	"jifen"
)

// The points feature's own things in a foreign subtree, made by the super
// admin (see pointsFixtures).
const (
	ruleTarget      target = certificateTarget + 1 + iota // a rule of the foreign org
	awardTarget                                           // a posted award with a photo for the foreign person
	householdTarget                                       // the foreign person's household
	appealTarget                                          // the foreign person's open appeal of that award
)

type pointsForeign struct {
	rule, award, tx, household, appeal int64
}

func (p pointsForeign) id(tg target) int64 {
	switch tg {
	case ruleTarget:
		return p.rule
	case awardTarget:
		return p.award
	case householdTarget:
		return p.household
	case appealTarget:
		return p.appeal
	}
	return 0
}

// pointsFixtures makes, as the super admin, a rule of f's org, a posted
// award by it with a photo for the foreign person, their household and
// their open appeal of the award.
func pointsFixtures(t *testing.T, e *env, f *foreign) {
	t.Helper()
	super := e.token(t, superAdmin)
	r := e.api(t, "POST", "/api/v1/orgs/"+itoa(f.org)+"/rules", super, map[string]any{"code": "authz_clean", "name": f.orgName + "清扫", "category": "environment", "points": 5})
	r.wantStatus(t, "foreign rule", http.StatusCreated)
	f.points.rule = jsonInt(t, r.JSON(t), "id")
	aw, err := e.svc.Points.Award(e.as(t, superAdmin), jifen.AwardInput{PersonID: f.person, RuleID: f.points.rule, Quantity: 1, Note: "越权测试",
		Key: "authz-" + itoa(f.org), Evidence: sealPNG(t)})
	if err != nil {
		t.Fatal(err)
	}
	if aw.Status != jifen.AwardPosted || aw.TxID == nil || !aw.HasEvidence {
		t.Fatalf("the foreign award is %+v, want posted with a photo", aw)
	}
	f.points.award, f.points.tx = aw.ID, *aw.TxID
	r = e.api(t, "POST", "/api/v1/households", super, map[string]any{"org_id": f.personOrg, "head_person_id": f.person})
	r.wantStatus(t, "foreign household", http.StatusCreated)
	f.points.household = jsonInt(t, r.JSON(t), "id")
	p, err := e.svc.People.Person(e.as(t, ""), f.person)
	if err != nil {
		t.Fatal(err)
	}
	org, err := e.svc.Orgs.Org(e.as(t, ""), p.HomeOrgID)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := e.svc.Points.Appeal(jifen.WithActor(t.Context(), &jifen.Actor{PersonID: f.person, HomeOrgID: org.ID, HomeOrgPath: org.Path}), f.points.tx, "没有参加这次清扫")
	if err != nil {
		t.Fatal(err)
	}
	f.points.appeal = ap.ID
}

func init() {
	ruleForm := func(*foreign) any { return form("code", "authz_x", "name", "越权规则", "points", "5") }
	ruleJSON := func(*foreign) any { return map[string]any{"code": "authz_x", "name": "越权规则", "points": 5} }
	settingsForm := func(*foreign) any {
		return form("points_to", "person", "public_days", "7", "appeal_days", "7", "expiry", "never")
	}
	orgQuery := func(f *foreign) string { return "org_id=" + itoa(f.org) }
	for k, v := range map[string]access{
		// Rule catalogues and settings of a foreign org.
		"GET /orgs/{id}/rules":         {id: orgTarget},
		"POST /orgs/{id}/rules":        {id: orgTarget, body: ruleForm},
		"POST /orgs/{id}/rules/import": {id: orgTarget},
		"POST /rules/import/{id}/commit": {id: uploadTarget, body: func(f *foreign) any {
			return form("org_id", itoa(f.org), "skip_invalid", "yes")
		}},
		"GET /rules/{id}/edit":     {id: ruleTarget},
		"POST /rules/{id}":         {id: ruleTarget, body: ruleForm},
		"POST /rules/{id}/archive": {id: ruleTarget},
		"GET /orgs/{id}/points":    {id: orgTarget},
		"POST /orgs/{id}/points":   {id: orgTarget, body: settingsForm},
		"POST /orgs/{id}/kiosk":    {id: orgTarget},

		// Awards: the foreign person, org, award.
		"GET /awards":        {query: orgQuery},
		"GET /awards/export": {query: orgQuery},
		"GET /awards/new":    {query: func(f *foreign) string { return "person_id=" + itoa(f.person) }},
		"POST /awards": {body: func(f *foreign) any {
			return form("person_id", itoa(f.person), "rule_id", itoa(f.points.rule), "quantity", "1", "key", "authz-page-award")
		}},
		"GET /awards/bulk": {query: orgQuery},
		// A foreign org's rules are not found (422 on the org field), nor
		// is a foreign volunteer number (422: no such line).
		"POST /awards/bulk": {body: func(f *foreign) any {
			return form("org_id", itoa(f.org), "rule_id", itoa(f.points.rule), "list", f.volunteerNo, "key", "authz-page-bulk")
		}, deny: []int{403, 404, 422}},
		"GET /awards/review":        {query: orgQuery},
		"GET /awards/{id}":          {id: awardTarget},
		"GET /awards/{id}/evidence": {id: awardTarget},
		"POST /awards/{id}/approve": {id: awardTarget},
		"POST /awards/{id}/reject":  {id: awardTarget, body: func(*foreign) any { return form("reason", "越权驳回") }},
		"GET /me/claim":             {},
		"POST /me/claim": {body: func(f *foreign) any {
			return form("person_id", itoa(f.person), "rule_id", itoa(f.points.rule), "key", "authz-claim")
		}},
		"GET /me/points":               {},
		"GET /people/{id}/points":      {id: personTarget},
		"GET /people/{id}/ledger.xlsx": {id: personTarget},

		// Households.
		"GET /me/household": {},
		"GET /households":   {query: orgQuery},
		// The head is named by volunteer number: one outside the scope is
		// "no such person" on the form (422), like a number that does not exist.
		"POST /households": {body: func(f *foreign) any {
			return form("org_id", itoa(f.personOrg), "head", f.volunteerNo)
		}, deny: []int{403, 404, 422}},
		"GET /households/{id}": {id: householdTarget},
		"POST /households/{id}": {id: householdTarget, body: func(f *foreign) any {
			return form("name", "别人家", "head_person_id", itoa(f.person), "name_was", "别家", "head_was", "1")
		}},
		"POST /households/{id}/members": {id: householdTarget, body: func(f *foreign) any { return form("member", f.volunteerNo) }},
		"POST /households/{id}/members/{person_id}/remove": {id: householdTarget, path: func(f *foreign) string {
			return "/households/" + itoa(f.points.household) + "/members/" + itoa(f.person) + "/remove"
		}},
		"GET /households/{id}/ledger.xlsx": {id: householdTarget},

		// Appeals.
		"GET /appeals":               {query: orgQuery},
		"POST /appeals":              {body: func(f *foreign) any { return form("transaction_id", itoa(f.points.tx), "reason", "越权申诉") }},
		"POST /appeals/{id}/uphold":  {id: appealTarget, body: func(*foreign) any { return form("answer", "越权维持") }},
		"POST /appeals/{id}/reverse": {id: appealTarget, body: func(*foreign) any { return form("answer", "越权撤销") }},

		// The board opens with a kiosk token, else for a signed-in person
		// the service lets see it (TestPointsPages, "the board and its notice").
		"GET /board/{org}":        {public: true, kiosk: true},
		"GET /board/{org}/notice": {public: true, kiosk: true},
		// Super admins only: refused to everyone else (TestPointsPages, "the ledger check").
		"GET /ledger/verify":  {},
		"POST /ledger/verify": {},

		// The API.
		"POST /api/v1/orgs/{id}/rules":          {id: orgTarget, body: ruleJSON},
		"GET /api/v1/orgs/{id}/rules":           {id: orgTarget},
		"GET /api/v1/rules/{id}":                {id: ruleTarget},
		"POST /api/v1/rules/{id}":               {id: ruleTarget, body: ruleJSON},
		"POST /api/v1/rules/{id}/archive":       {id: ruleTarget},
		"GET /api/v1/orgs/{id}/points-settings": {id: orgTarget},
		"PUT /api/v1/orgs/{id}/points-settings": {id: orgTarget, body: func(*foreign) any { return map[string]any{"public_days": 7, "appeal_days": 7} }},
		"POST /api/v1/orgs/{id}/kiosk-tokens":   {id: orgTarget},
		"POST /api/v1/households":               {body: func(f *foreign) any { return map[string]any{"org_id": f.personOrg, "head_person_id": f.person} }},
		"GET /api/v1/households/{id}":           {id: householdTarget},
		"POST /api/v1/households/{id}":          {id: householdTarget, body: func(f *foreign) any { return map[string]any{"name": "别人家", "head_person_id": f.person} }},
		"POST /api/v1/households/{id}/members":  {id: householdTarget, body: func(f *foreign) any { return map[string]any{"person_id": f.person} }},
		"GET /api/v1/households/{id}/points":    {id: householdTarget},
		"GET /api/v1/households/{id}/ledger":    {id: householdTarget},
		"GET /api/v1/awards":                    {query: orgQuery},
		"GET /api/v1/awards/{id}":               {id: awardTarget},
		"POST /api/v1/awards/{id}/approve":      {id: awardTarget},
		"POST /api/v1/awards/{id}/reject":       {id: awardTarget, body: func(*foreign) any { return map[string]any{"reason": "越权驳回"} }},
		"GET /api/v1/people/{id}/points":        {id: personTarget},
		"GET /api/v1/people/{id}/ledger":        {id: personTarget},
		"POST /api/v1/appeals":                  {body: func(f *foreign) any { return map[string]any{"transaction_id": f.points.tx, "reason": "越权申诉"} }},
		"GET /api/v1/appeals":                   {query: orgQuery},
		"POST /api/v1/appeals/{id}/uphold":      {id: appealTarget, body: func(*foreign) any { return map[string]any{"answer": "越权维持"} }},
		"POST /api/v1/appeals/{id}/reverse":     {id: appealTarget, body: func(*foreign) any { return map[string]any{"answer": "越权撤销"} }},
		"DELETE /api/v1/households/{id}/members/{person_id}": {id: householdTarget, path: func(f *foreign) string {
			return "/api/v1/households/" + itoa(f.points.household) + "/members/" + itoa(f.person)
		}},
		"GET /api/v1/board/{org}": {id: orgTarget, path: func(f *foreign) string { return "/api/v1/board/" + itoa(f.org) }},
		// The matrix sends no Idempotency-Key, which the API asks for
		// first (422); TestPointsAPIScope sends one and is refused.
		"POST /api/v1/awards": {body: func(f *foreign) any {
			return map[string]any{"person_id": f.person, "rule_id": f.points.rule}
		}, deny: []int{403, 404, 422}},
		"POST /api/v1/awards/bulk": {body: func(f *foreign) any {
			return map[string]any{"items": []map[string]any{{"person_id": f.person, "rule_id": f.points.rule}}}
		}, deny: []int{403, 404, 422}},
	} {
		matrix[k] = v
	}
}
