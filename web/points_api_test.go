package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// award posts an award through the API with an Idempotency-Key.
func (e *svcEnv) award(t testing.TB, tok, key string, body map[string]any) *result {
	t.Helper()
	return e.api(t, "POST", "/api/v1/awards", tok, body, "Idempotency-Key", key)
}

// wantKeys fails unless m has exactly the keys want.
func wantKeys(t testing.TB, what string, m map[string]any, want ...string) {
	t.Helper()
	got := keys(m)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s answered the keys %v, want exactly %v", what, got, want)
	}
}

// points reads a person's summary as tok.
func (e *svcEnv) points(t testing.TB, tok string, person int64) map[string]any {
	t.Helper()
	r := e.api(t, "GET", "/api/v1/people/"+itoa(person)+"/points", tok, nil)
	r.wantStatus(t, "points", http.StatusOK)
	return r.JSON(t)
}

// wantPoints checks balance, score, earned, deducted and spent.
func wantPoints(t testing.TB, what string, m map[string]any, balance, score, earned, deducted int64) {
	t.Helper()
	for _, k := range []string{"balance", "score", "earned", "deducted", "spent", "expired"} {
		jsonInt(t, m, k)
	}
	if b, s, ea, d := jsonInt(t, m, "balance"), jsonInt(t, m, "score"), jsonInt(t, m, "earned"), jsonInt(t, m, "deducted"); b != balance || s != score || ea != earned || d != deducted {
		t.Errorf("%s: balance %d, score %d, earned %d, deducted %d; want %d, %d, %d, %d", what, b, s, ea, d, balance, score, earned, deducted)
	}
}

// TestPointsAPI walks the points API with the field names, status codes
// and error codes fixed with integrators: rule catalogues inherited down
// the tree, awards with their idempotency key and caps, deductions that
// leave a shortfall, claims and their review, households and claims on a
// member's behalf, appeals that reverse or uphold, the budget, the board.
func TestPointsAPI(t *testing.T) {
	t.Parallel()
	eachServiceDB(t, func(t *testing.T, e *svcEnv) {
		village, county := e.org(t, "新窑村"), e.org(t, "崇信县")
		vAdmin, cAdmin, rev := e.token(t, villageAdmin), e.token(t, countyAdmin), e.token(t, reviewer)
		res := e.demoMember(t, resident)
		vol := e.demoMember(t, volunteer)
		rv := e.demoMember(t, reviewer)
		grandma := e.createPerson(t, "王奶奶", village, nil) // no phone: her head claims for her
		grandmaID := jsonInt(t, grandma, "id")
		rules := map[string]int64{}
		var deduction, deductionTx, awardTx, claim int64
		steps := []struct {
			name string
			fn   func(t *testing.T)
		}{
			{"rules", func(t *testing.T) {
				r := e.api(t, "POST", "/api/v1/orgs/"+itoa(village)+"/rules", vAdmin, map[string]any{"code": "env_clean", "name": "清扫门前三包",
					"category": "environment", "points": 5, "unit": "per_event", "daily_cap": 2, "needs_review": false})
				r.wantStatus(t, "create a rule", http.StatusCreated)
				wantKeys(t, "creating a rule", r.JSON(t), "id")
				rules["env_clean"] = jsonInt(t, r.JSON(t), "id")
				r = e.api(t, "POST", "/api/v1/orgs/"+itoa(village)+"/rules", vAdmin, map[string]any{"code": "help_elder", "name": "帮助孤寡老人",
					"category": "filial_piety", "points": 3, "unit": "per_hour", "needs_review": true, "monthly_cap": 20, "yearly_cap": 100, "life_cap": 1000,
					"needs_evidence": false, "valid_from": "2026-01-01", "valid_to": "2026-12-31"})
				r.wantStatus(t, "a rule with every field", http.StatusCreated)
				rules["help_elder"] = jsonInt(t, r.JSON(t), "id")
				r = e.api(t, "POST", "/api/v1/orgs/"+itoa(county)+"/rules", cAdmin, map[string]any{"code": "law_fight", "name": "打架斗殴",
					"category": "law_abiding", "points": -10})
				r.wantStatus(t, "a county deduction", http.StatusCreated)
				rules["law_fight"] = jsonInt(t, r.JSON(t), "id")
				r = e.api(t, "POST", "/api/v1/orgs/"+itoa(county)+"/rules", cAdmin, map[string]any{"code": "study", "name": "参加宣讲", "category": "learning", "points": 2})
				r.wantStatus(t, "a county award", http.StatusCreated)
				rules["study"] = jsonInt(t, r.JSON(t), "id")

				r = e.api(t, "GET", "/api/v1/orgs/"+itoa(village)+"/rules", res.tok, nil)
				r.wantStatus(t, "a resident reads the rules in force", http.StatusOK)
				items := listShape(t, r.JSON(t))
				byCode := map[string]map[string]any{}
				for _, it := range items {
					m := it.(map[string]any)
					byCode[m["code"].(string)] = m
				}
				for code, inherited := range map[string]bool{"env_clean": false, "help_elder": false, "law_fight": true, "study": true} {
					m := byCode[code]
					if m == nil {
						t.Errorf("rule %s is not in force at the village: %s", code, r.Body)
						continue
					}
					if m["inherited"] != inherited {
						t.Errorf("rule %s: inherited %v, want %v", code, m["inherited"], inherited)
					}
				}
				if m := byCode["help_elder"]; m != nil && (m["unit"] != "per_hour" || jsonInt(t, m, "monthly_cap") != 20 || m["valid_to"] != "2026-12-31" || m["needs_review"] != true) {
					t.Errorf("help_elder read back as %v", m)
				}
				if m := byCode["env_clean"]; m != nil && (m["category"] != "environment" || jsonInt(t, m, "points") != 5 || jsonInt(t, m, "version") != 1) {
					t.Errorf("env_clean read back as %v", m)
				}

				wantAPIError(t, "zero points", e.api(t, "POST", "/api/v1/orgs/"+itoa(village)+"/rules", vAdmin, map[string]any{"code": "zero", "name": "零分", "points": 0}),
					http.StatusUnprocessableEntity, "invalid", "points")
				wantAPIError(t, "an unknown category", e.api(t, "POST", "/api/v1/orgs/"+itoa(village)+"/rules", vAdmin, map[string]any{"code": "x", "name": "未知", "points": 1, "category": "sports"}),
					http.StatusUnprocessableEntity, "invalid", "category")
				wantAPIError(t, "a code the org has", e.api(t, "POST", "/api/v1/orgs/"+itoa(village)+"/rules", vAdmin, map[string]any{"code": "env_clean", "name": "重复", "points": 1}),
					http.StatusConflict, "code_taken", "")
				if r := e.api(t, "POST", "/api/v1/orgs/"+itoa(village)+"/rules", vol.tok, map[string]any{"code": "mine", "name": "自定", "points": 100}); r.Status != 403 && r.Status != 404 {
					t.Errorf("a volunteer writes a rule: %d", r.Status)
				}
				// A new version: awards keep theirs.
				r = e.api(t, "POST", "/api/v1/rules/"+itoa(rules["study"]), cAdmin, map[string]any{"code": "study", "name": "参加理论宣讲", "category": "learning", "points": 2})
				r.wantStatus(t, "a new version", http.StatusOK)
				if m := r.JSON(t); jsonInt(t, m, "version") != 2 || m["name"] != "参加理论宣讲" {
					t.Errorf("the new version reads %s", r.Body)
				}
			}},
			{"awards and their key", func(t *testing.T) {
				body := map[string]any{"person_id": res.id, "rule_id": rules["env_clean"], "quantity": 1, "note": "门前干净"}
				wantAPIError(t, "no Idempotency-Key", e.api(t, "POST", "/api/v1/awards", vAdmin, body), http.StatusUnprocessableEntity, "invalid", "idempotency_key")
				r := e.award(t, vAdmin, "k-1", body)
				r.wantStatus(t, "award", http.StatusCreated)
				m := r.JSON(t)
				wantKeys(t, "an award", m, "id", "status", "points")
				if m["status"] != "posted" || jsonInt(t, m, "points") != 5 {
					t.Errorf("award answered %s", r.Body)
				}
				id := jsonInt(t, m, "id")
				again := e.award(t, vAdmin, "k-1", body)
				again.wantStatus(t, "a retry", http.StatusCreated)
				if jsonInt(t, again.JSON(t), "id") != id {
					t.Errorf("a retry with the key made another award: %s, then %s", r.Body, again.Body)
				}
				other := map[string]any{"person_id": res.id, "rule_id": rules["env_clean"], "quantity": 2}
				wantAPIError(t, "the key with another request", e.award(t, vAdmin, "k-1", other), http.StatusConflict, "idempotency_mismatch", "")
				wantAPIError(t, "past the rule's daily cap", e.award(t, vAdmin, "k-2", other), http.StatusConflict, "cap_exceeded", "")
				wantAPIError(t, "no person or household", e.award(t, vAdmin, "k-3", map[string]any{"rule_id": rules["env_clean"]}), http.StatusUnprocessableEntity, "invalid", "person_id")

				r = e.api(t, "GET", "/api/v1/awards/"+itoa(id), res.tok, nil)
				r.wantStatus(t, "the person reads their award", http.StatusOK)
				checkTimes(t, r.Body)
				a := r.JSON(t)
				if a["rule_code"] != "env_clean" || jsonInt(t, a, "rule_version") != 1 || a["source"] != "manual" || a["transaction_id"] == nil || a["public_until"] == nil {
					t.Errorf("the award reads %s", r.Body)
				}
				awardTx = jsonInt(t, a, "transaction_id")
				wantPoints(t, "after one award", e.points(t, res.tok, res.id), 5, 5, 5, 0)
			}},
			{"a deduction beyond the balance", func(t *testing.T) {
				r := e.award(t, vAdmin, "d-1", map[string]any{"person_id": res.id, "rule_id": rules["law_fight"], "quantity": 1, "note": "与邻居争吵动手"})
				r.wantStatus(t, "deduct", http.StatusCreated)
				m := r.JSON(t)
				if m["status"] != "posted" || jsonInt(t, m, "points") != -10 {
					t.Errorf("a deduction answered %s, want posted and points -10", r.Body)
				}
				deduction = jsonInt(t, m, "id")
				a := e.api(t, "GET", "/api/v1/awards/"+itoa(deduction), vAdmin, nil).JSON(t)
				if jsonInt(t, a, "shortfall") != 5 {
					t.Errorf("a deduction of 10 from 5 has shortfall %v, want 5", a["shortfall"])
				}
				deductionTx = jsonInt(t, a, "transaction_id")
				// The balance stops at zero; the score takes the whole deduction.
				wantPoints(t, "after the deduction", e.points(t, res.tok, res.id), 0, -5, 5, 10)
				r = e.api(t, "GET", "/api/v1/people/"+itoa(res.id)+"/ledger", res.tok, nil)
				r.wantStatus(t, "ledger", http.StatusOK)
				checkTimes(t, r.Body)
				items := listShape(t, r.JSON(t))
				if len(items) != 2 {
					t.Fatalf("the ledger has %d lines, want 2: %s", len(items), r.Body)
				}
				newest, oldest := items[0].(map[string]any), items[1].(map[string]any)
				if newest["kind"] != "deduction" || jsonInt(t, newest, "amount") != -5 || jsonInt(t, newest, "score") != -10 || jsonInt(t, newest, "balance") != 0 || jsonInt(t, newest, "shortfall") != 5 {
					t.Errorf("the deduction's line: %v", newest)
				}
				if oldest["kind"] != "award" || jsonInt(t, oldest, "amount") != 5 || jsonInt(t, oldest, "balance") != 5 || jsonInt(t, oldest, "award_id") == 0 {
					t.Errorf("the award's line: %v", oldest)
				}
				wantAPIError(t, "someone else's points", e.api(t, "GET", "/api/v1/people/"+itoa(res.id)+"/points", vol.tok, nil), http.StatusNotFound, "not_found", "")
				wantAPIError(t, "someone else's ledger", e.api(t, "GET", "/api/v1/people/"+itoa(res.id)+"/ledger", vol.tok, nil), http.StatusNotFound, "not_found", "")
				wantAPIError(t, "a bad page", e.api(t, "GET", "/api/v1/people/"+itoa(res.id)+"/ledger?page=x", res.tok, nil), http.StatusBadRequest, "malformed", "page")
			}},
			{"claims and review", func(t *testing.T) {
				r := e.award(t, res.tok, "c-1", map[string]any{"person_id": res.id, "rule_id": rules["help_elder"], "quantity": 2, "note": "给李大爷送饭"})
				r.wantStatus(t, "claim", http.StatusCreated)
				m := r.JSON(t)
				if m["status"] != "pending" || jsonInt(t, m, "points") != 6 {
					t.Errorf("a claim answered %s, want pending, 6 points", r.Body)
				}
				claim = jsonInt(t, m, "id")
				wantPoints(t, "a pending claim moves nothing", e.points(t, res.tok, res.id), 0, -5, 5, 10)
				if r := e.api(t, "POST", "/api/v1/awards/"+itoa(claim)+"/approve", res.tok, nil); r.Status != 403 && r.Status != 404 {
					t.Errorf("the claimant approves their own claim: %d", r.Status)
				}
				wantAPIError(t, "rejecting without a reason", e.api(t, "POST", "/api/v1/awards/"+itoa(claim)+"/reject", rev, map[string]any{"reason": " "}),
					http.StatusUnprocessableEntity, "invalid", "reason")
				r = e.api(t, "POST", "/api/v1/awards/"+itoa(claim)+"/approve", rev, nil)
				r.wantStatus(t, "approve", http.StatusOK)
				if m := r.JSON(t); m["status"] != "posted" || jsonInt(t, m, "id") != claim || jsonInt(t, m, "points") != 6 || m["transaction_id"] == nil || m["decided_by"] == nil {
					t.Errorf("approve answered %s", r.Body)
				}
				wantAPIError(t, "approving twice", e.api(t, "POST", "/api/v1/awards/"+itoa(claim)+"/approve", rev, nil), http.StatusConflict, "already_decided", "")
				wantPoints(t, "after the claim", e.points(t, res.tok, res.id), 6, 1, 11, 10)

				// The reviewer's own claim is not theirs to approve.
				r = e.award(t, rv.tok, "c-2", map[string]any{"person_id": rv.id, "rule_id": rules["study"]})
				r.wantStatus(t, "the reviewer claims", http.StatusCreated)
				own := jsonInt(t, r.JSON(t), "id")
				if st := r.JSON(t)["status"]; st != "pending" {
					t.Errorf("a reviewer's claim for themselves is %v, want pending", st)
				}
				wantAPIError(t, "approving one's own claim", e.api(t, "POST", "/api/v1/awards/"+itoa(own)+"/approve", rev, nil), http.StatusConflict, "self_approval", "")
				r = e.api(t, "POST", "/api/v1/awards/"+itoa(own)+"/reject", cAdmin, map[string]any{"reason": "当天没有宣讲"})
				r.wantStatus(t, "reject", http.StatusOK)
				if m := r.JSON(t); m["status"] != "rejected" || m["reject_reason"] != "当天没有宣讲" {
					t.Errorf("reject answered %s", r.Body)
				}
				wantAPIError(t, "claiming a deduction", e.award(t, res.tok, "c-3", map[string]any{"person_id": res.id, "rule_id": rules["law_fight"]}),
					http.StatusUnprocessableEntity, "invalid", "rule_id")

				r = e.api(t, "GET", "/api/v1/awards?status=pending&org_id="+itoa(county), rev, nil)
				r.wantStatus(t, "the queue", http.StatusOK)
				if items := listShape(t, r.JSON(t)); len(items) != 0 {
					t.Errorf("the queue holds %d awards after every claim was decided: %s", len(items), r.Body)
				}
				wantAPIError(t, "a resident lists an org's awards", e.api(t, "GET", "/api/v1/awards?org_id="+itoa(village), res.tok, nil), http.StatusForbidden, "forbidden", "")
				r = e.api(t, "GET", "/api/v1/awards?person_id="+itoa(res.id), res.tok, nil)
				r.wantStatus(t, "one's own awards", http.StatusOK)
				if items := listShape(t, r.JSON(t)); len(items) != 3 {
					t.Errorf("the resident has %d awards, want 3", len(items))
				}
			}},
			{"households and claims on a member's behalf", func(t *testing.T) {
				r := e.api(t, "POST", "/api/v1/households", vAdmin, map[string]any{"org_id": village, "head_person_id": res.id, "member_ids": []int64{grandmaID}})
				r.wantStatus(t, "household", http.StatusCreated)
				wantKeys(t, "creating a household", r.JSON(t), "id")
				hh := jsonInt(t, r.JSON(t), "id")
				r = e.api(t, "GET", "/api/v1/households/"+itoa(hh), res.tok, nil)
				r.wantStatus(t, "the head reads the household", http.StatusOK)
				h := r.JSON(t)
				if jsonInt(t, h, "head_person_id") != res.id || len(h["members"].([]any)) != 2 {
					t.Errorf("the household reads %s", r.Body)
				}
				wantAPIError(t, "a stranger reads the household", e.api(t, "GET", "/api/v1/households/"+itoa(hh), vol.tok, nil), http.StatusNotFound, "not_found", "")
				r = e.award(t, res.tok, "c-4", map[string]any{"person_id": grandmaID, "rule_id": rules["help_elder"], "note": "代王奶奶申报"})
				r.wantStatus(t, "claim for a member without a phone", http.StatusCreated)
				m := r.JSON(t)
				if m["status"] != "pending" {
					t.Errorf("a claim on a member's behalf is %v, want pending", m["status"])
				}
				a := e.api(t, "GET", "/api/v1/awards/"+itoa(jsonInt(t, m, "id")), res.tok, nil).JSON(t)
				if a["on_behalf"] != true || a["source"] != "claim" {
					t.Errorf("the claim on her behalf reads %v", a)
				}
				if r := e.award(t, vol.tok, "c-5", map[string]any{"person_id": grandmaID, "rule_id": rules["help_elder"]}); r.Status != 403 && r.Status != 404 {
					t.Errorf("someone outside the household claims for her: %d", r.Status)
				}
				r = e.api(t, "POST", "/api/v1/households/"+itoa(hh)+"/members", vAdmin, map[string]any{"person_id": vol.id})
				if r.Status != http.StatusNoContent && r.Status != http.StatusUnprocessableEntity {
					t.Errorf("adding a member: %d %s", r.Status, r.Body)
				}
				if r.Status == http.StatusNoContent {
					e.api(t, "DELETE", "/api/v1/households/"+itoa(hh)+"/members/"+itoa(vol.id), vAdmin, nil).wantStatus(t, "remove a member", http.StatusNoContent)
				}
				wantAPIError(t, "removing the head", e.api(t, "DELETE", "/api/v1/households/"+itoa(hh)+"/members/"+itoa(res.id), vAdmin, nil), http.StatusConflict, "head_member", "")
				e.api(t, "GET", "/api/v1/households/"+itoa(hh)+"/points", res.tok, nil).wantStatus(t, "household points", http.StatusOK)
				listShape(t, e.api(t, "GET", "/api/v1/households/"+itoa(hh)+"/ledger", res.tok, nil).JSON(t))
			}},
			{"appeals", func(t *testing.T) {
				wantAPIError(t, "an appeal without a reason", e.api(t, "POST", "/api/v1/appeals", res.tok, map[string]any{"transaction_id": deductionTx}),
					http.StatusUnprocessableEntity, "invalid", "reason")
				wantAPIError(t, "someone else's deduction", e.api(t, "POST", "/api/v1/appeals", vol.tok, map[string]any{"transaction_id": deductionTx, "reason": "不公平"}),
					http.StatusNotFound, "not_found", "transaction_id")
				r := e.api(t, "POST", "/api/v1/appeals", res.tok, map[string]any{"transaction_id": deductionTx, "reason": "是对方先动手"})
				r.wantStatus(t, "appeal", http.StatusCreated)
				m := r.JSON(t)
				wantKeys(t, "an appeal", m, "id", "status")
				if m["status"] != "open" {
					t.Errorf("a new appeal is %v", m["status"])
				}
				reversed := jsonInt(t, m, "id")
				r = e.api(t, "POST", "/api/v1/appeals", res.tok, map[string]any{"transaction_id": awardTx, "reason": "应该是两次"})
				r.wantStatus(t, "a second appeal", http.StatusCreated)
				upheld := jsonInt(t, r.JSON(t), "id")
				r = e.api(t, "GET", "/api/v1/appeals?status=open", rev, nil)
				r.wantStatus(t, "the reviewer's queue", http.StatusOK)
				if items := listShape(t, r.JSON(t)); len(items) != 2 {
					t.Errorf("the queue holds %d appeals, want 2", len(items))
				}
				wantAPIError(t, "an appeal decided without an answer", e.api(t, "POST", "/api/v1/appeals/"+itoa(reversed)+"/reverse", rev, nil),
					http.StatusUnprocessableEntity, "invalid", "answer")
				// The village admin made the deduction: not theirs to decide.
				wantAPIError(t, "deciding an appeal on one's own award", e.api(t, "POST", "/api/v1/appeals/"+itoa(reversed)+"/reverse", vAdmin, map[string]any{"answer": "撤销"}),
					http.StatusConflict, "self_approval", "")
				r = e.api(t, "POST", "/api/v1/appeals/"+itoa(reversed)+"/reverse", rev, map[string]any{"answer": "经调查属正当防卫"})
				r.wantStatus(t, "reverse", http.StatusOK)
				m = r.JSON(t)
				wantKeys(t, "a reversed appeal", m, "id", "status")
				if m["status"] != "reversed" {
					t.Errorf("reverse answered %s", r.Body)
				}
				r = e.api(t, "POST", "/api/v1/appeals/"+itoa(upheld)+"/uphold", rev, map[string]any{"answer": "核实只有一次"})
				r.wantStatus(t, "uphold", http.StatusOK)
				if m := r.JSON(t); m["status"] != "upheld" || len(m) != 2 {
					t.Errorf("uphold answered %s", r.Body)
				}
				if a := e.api(t, "GET", "/api/v1/awards/"+itoa(deduction), res.tok, nil).JSON(t); a["status"] != "reversed" {
					t.Errorf("the reversed deduction is %v", a["status"])
				}
				// The deduction took 5 and 10 of the score; its reversal gives both back.
				wantPoints(t, "after the reversal", e.points(t, res.tok, res.id), 11, 11, 21, 10)
				wantAPIError(t, "deciding twice", e.api(t, "POST", "/api/v1/appeals/"+itoa(upheld)+"/reverse", rev, map[string]any{"answer": "再改"}),
					http.StatusConflict, "already_decided", "")
			}},
			{"the yearly budget", func(t *testing.T) {
				settings := map[string]any{"points_to": "person", "yearly_budget": 8, "mask_names": true, "public_days": 7, "appeal_days": 7, "expiry": "never"}
				// A budget is set from above: the village's own admin cannot set or lift it.
				wantAPIError(t, "the village sets its own budget", e.api(t, "PUT", "/api/v1/orgs/"+itoa(village)+"/points-settings", vAdmin, settings),
					http.StatusForbidden, "forbidden", "yearly_budget")
				r := e.api(t, "PUT", "/api/v1/orgs/"+itoa(village)+"/points-settings", cAdmin, settings)
				r.wantStatus(t, "settings", http.StatusOK)
				if m := r.JSON(t); jsonInt(t, m, "yearly_budget") != 8 || jsonInt(t, m, "from_org_id") != village {
					t.Errorf("the settings read back as %s", r.Body)
				}
				// 5 of the 8 are issued; 5 more would pass it.
				wantAPIError(t, "past the budget", e.award(t, vAdmin, "b-1", map[string]any{"person_id": vol.id, "rule_id": rules["env_clean"]}),
					http.StatusConflict, "budget_exceeded", "")
				wantAPIError(t, "bad settings", e.api(t, "PUT", "/api/v1/orgs/"+itoa(village)+"/points-settings", vAdmin, map[string]any{"public_days": 0, "appeal_days": 7}),
					http.StatusUnprocessableEntity, "invalid", "public_days")
			}},
			{"bulk", func(t *testing.T) {
				a := e.member(t, "甲村民", village, nil)
				b := e.member(t, "乙村民", village, nil)
				body := map[string]any{"items": []map[string]any{{"person_id": a.id, "rule_id": rules["study"]}, {"person_id": b.id, "rule_id": rules["study"], "quantity": 2}}}
				wantAPIError(t, "bulk without a key", e.api(t, "POST", "/api/v1/awards/bulk", cAdmin, body), http.StatusUnprocessableEntity, "invalid", "idempotency_key")
				r := e.api(t, "POST", "/api/v1/awards/bulk", cAdmin, body, "Idempotency-Key", "bulk-1")
				r.wantStatus(t, "bulk", http.StatusCreated)
				items := listShape(t, r.JSON(t))
				if len(items) != 2 || jsonInt(t, items[1].(map[string]any), "points") != 4 {
					t.Fatalf("bulk answered %s", r.Body)
				}
				r = e.api(t, "POST", "/api/v1/awards/bulk", cAdmin, body, "Idempotency-Key", "bulk-1")
				r.wantStatus(t, "bulk again", http.StatusCreated)
				wantPoints(t, "a bulk list posted twice under one key", e.points(t, b.tok, b.id), 4, 4, 4, 0)
				// One bad line and nothing is posted.
				bad := map[string]any{"items": []map[string]any{{"person_id": a.id, "rule_id": rules["study"]}, {"person_id": b.id, "rule_id": 987654}}}
				if r := e.api(t, "POST", "/api/v1/awards/bulk", cAdmin, bad, "Idempotency-Key", "bulk-2"); r.Status < 400 {
					t.Errorf("a list with a bad line: %d", r.Status)
				}
				wantPoints(t, "after a refused list", e.points(t, a.tok, a.id), 2, 2, 2, 0)
			}},
			{"the board", func(t *testing.T) {
				if _, err := e.svc.Ledger.Seal(e.as(t, "")); err != nil {
					t.Fatal(err)
				}
				r := e.api(t, "GET", "/api/v1/board/"+itoa(village), res.tok, nil)
				r.wantStatus(t, "board", http.StatusOK)
				checkTimes(t, r.Body)
				m := r.JSON(t)
				for _, k := range []string{"month", "year", "all_time", "honour", "recent"} {
					if _, ok := m[k].([]any); !ok {
						t.Errorf("the board's %s is %T, want a list", k, m[k])
					}
				}
				blk, _ := m["latest_block"].(map[string]any)
				if blk == nil || len(blk["hash"].(string)) < 32 {
					t.Errorf("the board has no latest block: %v", m["latest_block"])
				}
				if !strings.Contains(r.Body, `"陈*兰"`) || strings.Contains(r.Body, "陈桂兰") {
					t.Errorf("the board shows names unmasked though the org masks them")
				}
				wantAPIError(t, "a board out of sight", e.api(t, "GET", "/api/v1/board/"+itoa(e.org(t, "万佛社区")), res.tok, nil), http.StatusNotFound, "not_found", "")
			}},
		}
		for _, s := range steps {
			if !t.Run(s.name, s.fn) {
				return
			}
		}
	})
}

// TestPointsAPIScope: with a key, an award for someone outside the
// caller's scope is refused like one for nobody, and writes nothing.
func TestPointsAPIScope(t *testing.T) {
	t.Parallel()
	eachServiceDB(t, func(t *testing.T, e *svcEnv) {
		foreignOrg := e.org(t, "万佛社区")
		super := e.token(t, superAdmin)
		r := e.api(t, "POST", "/api/v1/orgs/"+itoa(foreignOrg)+"/rules", super, map[string]any{"code": "f", "name": "外地规则", "points": 5})
		r.wantStatus(t, "rule", http.StatusCreated)
		rule := jsonInt(t, r.JSON(t), "id")
		stranger := e.member(t, "外地人", foreignOrg, nil)
		for _, phone := range []string{countyAdmin, villageAdmin, reviewer, volunteer, resident} {
			tok := e.token(t, phone)
			if r := e.award(t, tok, "scope-"+phone, map[string]any{"person_id": stranger.id, "rule_id": rule}); r.Status != http.StatusNotFound {
				t.Errorf("%s awards someone outside their scope: %d %s", phone, r.Status, r.Body)
			}
			if r := e.api(t, "POST", "/api/v1/awards/bulk", tok, map[string]any{"items": []map[string]any{{"person_id": stranger.id, "rule_id": rule}}},
				"Idempotency-Key", "scope-bulk-"+phone); r.Status != http.StatusNotFound && r.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s awards someone outside their scope in bulk: %d %s", phone, r.Status, r.Body)
			}
		}
		wantPoints(t, "the stranger", e.points(t, stranger.tok, stranger.id), 0, 0, 0, 0)
	})
}
