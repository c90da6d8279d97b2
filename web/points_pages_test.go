package web_test

import (
	"bytes"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

var (
	formKeyRE  = regexp.MustCompile(`name="key" value="([^"]+)"`)
	awardURLRE = regexp.MustCompile(`^/awards/(\d+)\?done=`)
)

// page gets a page and wants 200 with no untranslated key on it.
func (b *browser) page(t testing.TB, path string, keys []string) string {
	t.Helper()
	r := b.get(t, path)
	r.wantStatus(t, "GET "+path, http.StatusOK)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %s, not a page", path, r.Header.Get("Content-Type"))
	}
	if bad := untranslated(r.Body, keys); len(bad) > 0 {
		t.Errorf("GET %s shows untranslated keys %v", path, bad)
	}
	return r.Body
}

// formKey reads the idempotency key a form was rendered with.
func formKey(t testing.TB, body string) string {
	t.Helper()
	m := formKeyRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the form carries no idempotency key")
	}
	return m[1]
}

// awardFrom reads the award id from a redirect to its page.
func awardFrom(t testing.TB, r *result) int64 {
	t.Helper()
	r.wantStatus(t, "award form", http.StatusSeeOther)
	m := awardURLRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("the form went to %q, not an award", r.Header.Get("Location"))
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// contains fails unless the page holds every text.
func contains(t testing.TB, what, body string, texts ...string) {
	t.Helper()
	body = html.UnescapeString(body)
	for _, s := range texts {
		if !strings.Contains(body, s) {
			t.Errorf("%s does not show %q", what, s)
		}
	}
}

// xlsxRows reads the first sheet of a workbook with excelize.
func xlsxRows(t testing.TB, r *result) [][]string {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "spreadsheetml") {
		t.Fatalf("the export is %s: %.200s", ct, r.Body)
	}
	f, err := excelize.OpenReader(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("the export is not a workbook: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// bulkSheet is a bulk-award workbook: header and rows.
func bulkSheet(t testing.TB, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	all := append([][]any{{"志愿者编号", "手机号", "规则编码", "数量", "备注"}}, rows...)
	for i, row := range all {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPointsPages walks the points pages as the people who use them:
// the village admin keeps the catalogue and settings and awards, a
// resident claims with a photo and appeals, the reviewer decides, a lobby
// screen shows the board with its kiosk token, the super admin checks
// the ledger; every page in Chinese and English without a missing text.
func TestPointsPages(t *testing.T) {
	t.Parallel()
	keys := templateKeys(t)
	// The real clock: the pages compare appeal windows with the server's.
	eachDB(t, func(t *testing.T, plain *env) {
		e := &svcEnv{env: plain}
		village, county := e.org(t, "新窑村"), e.org(t, "崇信县")
		v := itoa(village)
		admin, rev, res, super := e.signedIn(t, villageAdmin), e.signedIn(t, reviewer), e.signedIn(t, resident), e.signedIn(t, superAdmin)
		resM := e.demoMember(t, resident)
		vol := e.signedIn(t, volunteer)
		rules := map[string]int64{}
		var kiosk string
		var adminAward, claim, household int64
		ruleID := regexp.MustCompile(`id="rule-(\d+)"`)
		steps := []struct {
			name string
			fn   func(t *testing.T)
		}{
			{"rule catalogue", func(t *testing.T) {
				admin.page(t, "/orgs/"+v+"/rules", keys)
				r := admin.post(t, "/orgs/"+v+"/rules", form("form", "new", "code", "env_clean", "name", "清扫门前三包", "category", "environment",
					"points", "5", "unit", "per_event", "daily_cap", "2"))
				r.wantStatus(t, "create a rule", http.StatusSeeOther)
				if r.Header.Get("Location") != "/orgs/"+v+"/rules?done=created" {
					t.Errorf("created a rule, went to %s", r.Header.Get("Location"))
				}
				admin.post(t, "/orgs/"+v+"/rules", form("code", "old_rule", "name", "旧规则", "category", "other", "points", "1")).wantStatus(t, "a second rule", http.StatusSeeOther)
				e.api(t, "POST", "/api/v1/orgs/"+itoa(county)+"/rules", e.token(t, countyAdmin), map[string]any{"code": "law_fight", "name": "打架斗殴",
					"category": "law_abiding", "points": -10}).wantStatus(t, "a county rule", http.StatusCreated)
				body := admin.page(t, "/orgs/"+v+"/rules", keys)
				contains(t, "the rules page", body, "清扫门前三包", "环境卫生", "每次", "每日上限 2", "+5", "打架斗殴", "遵纪守法", "-10", "上级：崇信县", "在本级另定此规则")
				for _, m := range ruleID.FindAllStringSubmatch(body, -1) {
					id, _ := strconv.ParseInt(m[1], 10, 64)
					i := strings.Index(body, m[0])
					for _, code := range []string{"env_clean", "old_rule", "law_fight"} {
						if j := strings.Index(body[i:], ">"+code+"<"); j >= 0 && j < 400 {
							rules[code] = id
						}
					}
				}
				if len(rules) != 3 {
					t.Fatalf("found the rules %v on the page", rules)
				}

				r = admin.post(t, "/orgs/"+v+"/rules", form("form", "new", "code", "zero_pts", "name", "零分", "points", "0"))
				r.wantStatus(t, "zero points", http.StatusUnprocessableEntity)
				contains(t, "the form after an error", r.Body, `id="form-error"`, "分值不能为零", `value="zero_pts"`, `<details id="new-rule" open>`)
				r = admin.post(t, "/orgs/"+v+"/rules", form("form", "new", "code", "env_clean", "name", "重复", "points", "1"))
				r.wantStatus(t, "a code taken", http.StatusConflict)

				// A new version; awards keep theirs.
				admin.page(t, "/rules/"+itoa(rules["env_clean"])+"/edit", keys)
				r = admin.post(t, "/rules/"+itoa(rules["env_clean"]), form("code", "env_clean", "name", "清扫门前三包", "category", "environment", "points", "6", "unit", "per_event", "daily_cap", "2"))
				r.wantStatus(t, "new version", http.StatusSeeOther)
				r = admin.post(t, "/rules/"+itoa(rules["env_clean"]), form("code", "env_clean", "name", "清扫门前三包", "points", "abc"))
				r.wantStatus(t, "a bad version", http.StatusUnprocessableEntity)
				contains(t, "the edit form after an error", r.Body, "请填写整数", `value="abc"`)
				admin.post(t, "/rules/"+itoa(rules["old_rule"])+"/archive", nil).wantStatus(t, "archive", http.StatusSeeOther)
				body = admin.page(t, "/orgs/"+v+"/rules", keys)
				contains(t, "the rules page", body, "第2版", "+6", `id="rule-`+itoa(rules["old_rule"])+`"`, "已停用")
				if strings.Contains(admin.page(t, "/awards/new?person_id="+itoa(resM.id), keys), "旧规则") {
					t.Errorf("an archived rule is offered on the award form")
				}
				// Residents read the catalogue, without the admin's forms.
				body = res.page(t, "/orgs/"+v+"/rules", keys)
				if strings.Contains(body, `action="/orgs/`+v+`/rules"`) || strings.Contains(body, "/archive") {
					t.Errorf("a resident is offered the admin's forms")
				}
				if r := res.get(t, "/rules/"+itoa(rules["env_clean"])+"/edit"); r.Status != http.StatusForbidden {
					t.Errorf("a resident opens the rule editor: %d", r.Status)
				}
			}},
			{"catalogue import", func(t *testing.T) {
				csv := "编码,名称,类别,分值,单位\nhelp_n,帮助邻居,文明新风,3,次\nbad,,文明新风,x,次\n"
				r := admin.upload(t, "/orgs/"+v+"/rules/import", url.Values{"form": {"import"}}, "file", "rules.csv", []byte(csv))
				r.wantStatus(t, "preview", http.StatusOK)
				contains(t, "the preview", r.Body, `id="rules-preview"`, "共 2 行，有效 1 条", "help_n", "帮助邻居", `id="rules-problems"`)
				m := regexp.MustCompile(`/rules/import/(\d+)/commit`).FindStringSubmatch(r.Body)
				if m == nil {
					t.Fatal("the preview has no commit form")
				}
				admin.post(t, m[0], form("org_id", v)).wantStatus(t, "commit with bad rows", http.StatusUnprocessableEntity)
				r = admin.post(t, m[0], form("org_id", v, "skip_invalid", "yes"))
				r.wantStatus(t, "commit", http.StatusSeeOther)
				body := admin.page(t, "/orgs/"+v+"/rules", keys)
				contains(t, "the rules after the import", body, "帮助邻居", "文明新风")
				for _, mm := range ruleID.FindAllStringSubmatch(body, -1) {
					i := strings.Index(body, mm[0])
					if j := strings.Index(body[i:], ">help_n<"); j >= 0 && j < 400 {
						rules["help_n"], _ = strconv.ParseInt(mm[1], 10, 64)
					}
				}
				if rules["help_n"] == 0 {
					t.Fatal("the imported rule is not on the page")
				}
				// Someone else's upload cannot be committed.
				res.post(t, m[0], form("org_id", v, "skip_invalid", "yes")).wantStatus(t, "a resident commits", http.StatusNotFound)
			}},
			{"settings and the kiosk token", func(t *testing.T) {
				body := admin.page(t, "/orgs/"+v+"/points", keys)
				contains(t, "the settings page", body, `id="settings-inherited"`, "公示期（天）")
				r := admin.post(t, "/orgs/"+v+"/points", form("points_to", "person", "daily_cap", "100", "public_days", "10", "appeal_days", "7", "expiry", "months", "expiry_months", "0"))
				r.wantStatus(t, "months without a number", http.StatusUnprocessableEntity)
				contains(t, "the settings after an error", r.Body, "有效月数应为1到120")
				admin.post(t, "/orgs/"+v+"/points", form("points_to", "person", "daily_cap", "100", "public_days", "10", "appeal_days", "7", "expiry", "never")).
					wantStatus(t, "save", http.StatusSeeOther)
				body = admin.page(t, "/orgs/"+v+"/points", nil)
				if strings.Contains(body, `id="settings-inherited"`) || !strings.Contains(body, `name="public_days" value="10"`) {
					t.Errorf("the saved settings do not show")
				}
				r = admin.post(t, "/orgs/"+v+"/kiosk", nil)
				r.wantStatus(t, "kiosk token", http.StatusOK)
				m := regexp.MustCompile(`id="kiosk-url">http://jifen\.test/board/` + v + `\?k=([A-Za-z0-9_-]+)<`).FindStringSubmatch(r.Body)
				if m == nil {
					t.Fatalf("no kiosk link on the page: %.2000s", r.Body)
				}
				kiosk = m[1]
				if r := res.post(t, "/orgs/"+v+"/kiosk", nil); r.Status != 403 && r.Status != 404 {
					t.Errorf("a resident makes a kiosk token: %d", r.Status)
				}
			}},
			{"the award form posts once", func(t *testing.T) {
				body := admin.page(t, "/awards/new?q=陈桂兰", keys)
				contains(t, "the search", body, `href="/awards/new?person_id=`+itoa(resM.id)+`"`)
				body = admin.page(t, "/awards/new?person_id="+itoa(resM.id), keys)
				contains(t, "the award form", body, "陈桂兰", "清扫门前三包", "打架斗殴")
				key := formKey(t, body)
				f := form("key", key, "person_id", itoa(resM.id), "rule_id", itoa(rules["env_clean"]), "quantity", "1", "note", "门前干净")
				first, second := admin.post(t, "/awards", f), admin.post(t, "/awards", f)
				adminAward = awardFrom(t, first)
				if awardFrom(t, second) != adminAward {
					t.Errorf("a double submit made two awards: %s and %s", first.Header.Get("Location"), second.Header.Get("Location"))
				}
				wantPoints(t, "after a double submit", e.points(t, resM.tok, resM.id), 6, 6, 6, 0)
				body = admin.page(t, "/awards/"+itoa(adminAward)+"?done=awarded_posted", keys)
				contains(t, "the award page", body, "积分已入账", "已入账", "清扫门前三包", "第2版", `id="award-tx"`, "+6", "门前干净")
				r := admin.post(t, "/awards", form("key", key+"x", "person_id", itoa(resM.id), "rule_id", itoa(rules["env_clean"]), "quantity", "5"))
				r.wantStatus(t, "past the cap", http.StatusConflict)
				contains(t, "the form after a cap", r.Body, `id="form-error"`, "每日最多还能记1次", `id="award-target"`)
				if r := admin.post(t, "/awards", form("person_id", itoa(resM.id), "rule_id", itoa(rules["env_clean"]))); r.Status != http.StatusUnprocessableEntity {
					t.Errorf("an award form without its key: %d", r.Status)
				}
			}},
			{"a claim with a photo", func(t *testing.T) {
				body := res.page(t, "/me/claim", keys)
				contains(t, "the claim form", body, "帮助邻居", `capture="environment"`, `enctype="multipart/form-data"`)
				if strings.Contains(body, "打架斗殴") {
					t.Errorf("a deduction is offered to claim")
				}
				r := res.upload(t, "/me/claim", form("key", formKey(t, body), "rule_id", itoa(rules["help_n"]), "quantity", "1", "note", "帮邻居搬家"), "evidence", "photo.png", sealPNG(t))
				claim = awardFrom(t, r)
				body = res.page(t, "/awards/"+itoa(claim)+"?done=claimed", keys)
				contains(t, "the claim", body, "申报已提交", "待审核", "本人申报", `id="evidence"`)
				ev := res.get(t, "/awards/"+itoa(claim)+"/evidence")
				ev.wantStatus(t, "the photo", http.StatusOK)
				if ev.Header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(ev.Body, "\xff\xd8") {
					t.Errorf("the photo is %s", ev.Header.Get("Content-Type"))
				}
				if r := vol.get(t, "/awards/"+itoa(claim)+"/evidence"); r.Status != http.StatusNotFound {
					t.Errorf("another villager sees the photo: %d", r.Status)
				}
				rev.get(t, "/awards/"+itoa(claim)+"/evidence").wantStatus(t, "the reviewer sees the photo", http.StatusOK)
			}},
			{"the review queue", func(t *testing.T) {
				body := rev.page(t, "/awards/review", keys)
				contains(t, "the queue", body, `id="award-`+itoa(claim)+`"`, "陈桂兰", "帮邻居搬家", `src="/awards/`+itoa(claim)+`/evidence"`)
				r := rev.post(t, "/awards/"+itoa(claim)+"/reject", form("back", "review", "award_id", itoa(claim), "reason", ""))
				r.wantStatus(t, "reject without a reason", http.StatusUnprocessableEntity)
				contains(t, "the queue after an error", r.Body, "驳回必须说明原因")
				r = rev.post(t, "/awards/"+itoa(claim)+"/approve", form("back", "review"))
				r.wantStatus(t, "approve", http.StatusSeeOther)
				if r.Header.Get("Location") != "/awards/review?done=decided" {
					t.Errorf("approving went to %s", r.Header.Get("Location"))
				}
				contains(t, "the empty queue", rev.page(t, "/awards/review?done=decided", keys), `id="queue-empty"`)
				wantPoints(t, "after the approval", e.points(t, resM.tok, resM.id), 9, 9, 9, 0)
			}},
			{"my points and an appeal", func(t *testing.T) {
				body := res.page(t, "/me/points", keys)
				contains(t, "my points", body, `id="balance">9<`, `id="score">9<`, "可用积分", "累计积分", "加分", "清扫门前三包：门前干净", "余额 9", `action="/appeals"`)
				tx := regexp.MustCompile(`name="transaction_id" value="(\d+)"`).FindAllStringSubmatch(body, -1)
				if len(tx) != 2 {
					t.Fatalf("%d lines may be appealed, want 2", len(tx))
				}
				// The newest line is the claim; the older one the admin's award.
				adminTx := tx[1][1]
				r := res.post(t, "/appeals", form("transaction_id", adminTx, "reason", ""))
				r.wantStatus(t, "an appeal without a reason", http.StatusUnprocessableEntity)
				res.post(t, "/appeals", form("transaction_id", adminTx, "reason", "我打扫了两次")).wantStatus(t, "appeal", http.StatusSeeOther)
				r = res.post(t, "/appeals", form("transaction_id", adminTx, "reason", "再申诉"))
				r.wantStatus(t, "a second open appeal", http.StatusConflict)
				contains(t, "my points after a refused appeal", r.Body, "已有申诉正在处理")
				body = rev.page(t, "/appeals", keys)
				contains(t, "the appeals queue", body, "陈桂兰", "我打扫了两次", "维持原结果", "撤销该笔积分")
				id := regexp.MustCompile(`id="appeal-(\d+)"`).FindStringSubmatch(body)[1]
				rev.post(t, "/appeals/"+id+"/uphold", form("appeal_id", id, "answer", "")).wantStatus(t, "no answer", http.StatusUnprocessableEntity)
				rev.post(t, "/appeals/"+id+"/uphold", form("appeal_id", id, "answer", "核实为一次")).wantStatus(t, "uphold", http.StatusSeeOther)
				body = res.page(t, "/appeals", keys)
				contains(t, "my appeals", body, "我的申诉", "维持原结果", "核实为一次")
				if strings.Contains(body, "/uphold") {
					t.Errorf("a resident is offered the reviewer's buttons")
				}
			}},
			{"bulk awards", func(t *testing.T) {
				a, b, c := e.member(t, "批量甲", village, nil), e.member(t, "批量乙", village, nil), e.member(t, "批量丙", village, nil)
				body := admin.page(t, "/awards/bulk?org_id="+v, keys)
				key := formKey(t, body)
				f := form("key", key, "org_id", v, "rule_id", itoa(rules["help_n"]), "list", a.no+"\n"+b.no+"\n"+c.phone+"\n", "quantity", "1", "note", "参加义务植树")
				r := admin.post(t, "/awards/bulk", f)
				r.wantStatus(t, "bulk", http.StatusOK)
				contains(t, "the bulk result", r.Body, `id="bulk-done"`, "已处理 3 条，入账积分合计 9", "批量甲", "批量丙")
				admin.post(t, "/awards/bulk", f).wantStatus(t, "bulk again", http.StatusOK)
				wantPoints(t, "after a double submit of a list", e.points(t, c.tok, c.id), 3, 3, 3, 0)

				r = admin.post(t, "/awards/bulk", form("key", formKey(t, body)+"2", "org_id", v, "rule_id", itoa(rules["help_n"]), "list", a.no+"\n99999999999\n"))
				r.wantStatus(t, "a list with a stranger", http.StatusUnprocessableEntity)
				contains(t, "the problems", r.Body, `id="bulk-problems"`, "第2行", "99999999999")
				wantPoints(t, "after a refused list", e.points(t, a.tok, a.id), 3, 3, 3, 0)

				sheet := bulkSheet(t, []any{a.no, "", "help_n", 2, "表格导入"}, []any{"", b.phone, "env_clean", "", ""})
				r = admin.upload(t, "/awards/bulk", form("key", "sheet-"+key, "org_id", v, "source", "file"), "file", "bulk.xlsx", sheet)
				r.wantStatus(t, "a sheet", http.StatusOK)
				contains(t, "the sheet's result", r.Body, "已处理 2 条，入账积分合计 12")
				wantPoints(t, "after the sheet", e.points(t, a.tok, a.id), 9, 9, 9, 0)
				bad := bulkSheet(t, []any{a.no, "", "no_such_rule", 1, ""})
				r = admin.upload(t, "/awards/bulk", form("key", "sheet2-"+key, "org_id", v, "source", "file"), "file", "bulk.xlsx", bad)
				r.wantStatus(t, "a sheet with an unknown rule", http.StatusUnprocessableEntity)
				contains(t, "the sheet's problems", r.Body, "no_such_rule")
			}},
			{"households", func(t *testing.T) {
				grandma := e.createPerson(t, "王奶奶", village, nil)
				gid := jsonInt(t, grandma, "id")
				admin.page(t, "/households?org_id="+v, keys)
				r := admin.post(t, "/households", form("org_id", v, "head", resident, "members", grandma["volunteer_no"].(string)))
				r.wantStatus(t, "create a household", http.StatusSeeOther)
				m := regexp.MustCompile(`^/households/(\d+)\?done=created$`).FindStringSubmatch(r.Header.Get("Location"))
				if m == nil {
					t.Fatalf("created a household, went to %s", r.Header.Get("Location"))
				}
				household, _ = strconv.ParseInt(m[1], 10, 64)
				r = admin.post(t, "/households", form("org_id", v, "head", "00000000000"))
				r.wantStatus(t, "an unknown head", http.StatusUnprocessableEntity)
				body := admin.page(t, "/households/"+m[1], keys)
				contains(t, "the household", body, "陈桂兰户", "户主", "王奶奶", "无手机", "户积分台账")
				someone := e.member(t, "新成员", village, nil)
				admin.post(t, "/households/"+m[1]+"/members", form("member", someone.no)).wantStatus(t, "add", http.StatusSeeOther)
				contains(t, "the household", admin.page(t, "/households/"+m[1], keys), "新成员")
				admin.post(t, "/households/"+m[1]+"/members/"+itoa(someone.id)+"/remove", nil).wantStatus(t, "remove", http.StatusSeeOther)
				r = admin.post(t, "/households/"+m[1]+"/members/"+itoa(resM.id)+"/remove", nil)
				r.wantStatus(t, "removing the head", http.StatusConflict)

				r = res.get(t, "/me/household")
				if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/households/"+m[1] {
					t.Errorf("my household: %d to %s", r.Status, r.Header.Get("Location"))
				}
				contains(t, "nobody's household", vol.page(t, "/me/household", keys), `id="no-household"`)
				if r := vol.get(t, "/households/"+m[1]); r.Status != http.StatusNotFound {
					t.Errorf("a stranger opens the household: %d", r.Status)
				}
				// The head claims for the member without a phone (代办).
				body = res.page(t, "/me/claim", keys)
				contains(t, "the head's claim form", body, `id="claim-for"`, `<option value="`+itoa(gid)+`">王奶奶</option>`)
				id := awardFrom(t, res.upload(t, "/me/claim", form("key", formKey(t, body), "person_id", itoa(gid), "rule_id", itoa(rules["help_n"]), "note", "代办"),
					"evidence", "p.png", sealPNG(t)))
				contains(t, "the claim on her behalf", res.page(t, "/awards/"+itoa(id), keys), "王奶奶", "户主代办", "待审核")
				if strings.Contains(vol.page(t, "/me/claim", keys), `id="claim-for"`) {
					t.Errorf("someone who heads no household may claim for others")
				}
				rows := xlsxRows(t, res.get(t, "/households/"+m[1]+"/ledger.xlsx"))
				if len(rows) < 4 || rows[0][0] != "陈桂兰户积分台账" || rows[2][3] != "摘要" {
					t.Errorf("the household ledger export: %v", rows)
				}
			}},
			{"the board and its notice", func(t *testing.T) {
				if _, err := e.svc.Ledger.Seal(e.as(t, "")); err != nil {
					t.Fatal(err)
				}
				anon := e.browser(t)
				body := anon.page(t, "/board/"+v+"?k="+kiosk, keys)
				contains(t, "the board on a lobby screen", body, "新窑村", "光荣榜", "本月积分榜", "陈桂兰", "清扫门前三包", `id="block-hash"`)
				if strings.Contains(body, `http-equiv="refresh"`) {
					t.Errorf("the phone board reloads itself")
				}
				body = anon.page(t, "/board/"+v+"?k="+kiosk+"&tv=1", keys)
				contains(t, "the TV board", body, `<meta http-equiv="refresh" content="60">`, `class="board tv"`)
				for _, path := range []string{"/board/" + v, "/board/" + v + "?k=wrong", "/board/" + itoa(county) + "?k=" + kiosk, "/board/" + v + "/notice"} {
					r := anon.get(t, path)
					if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
						t.Errorf("GET %s signed out: %d to %q, want the sign-in page", path, r.Status, r.Header.Get("Location"))
					}
				}
				contains(t, "the board signed in", res.page(t, "/board/"+v, keys), "陈桂兰", "清扫门前三包")
				if r := res.get(t, "/board/"+itoa(e.org(t, "万佛社区"))); r.Status != http.StatusNotFound {
					t.Errorf("a resident opens another county's board: %d", r.Status)
				}
				body = anon.page(t, "/board/"+v+"/notice?k="+kiosk, keys)
				contains(t, "the notice", body, "新窑村积分公示名单", "陈桂兰", "批量丙", "参加义务植树", "公示截止")
				if strings.Contains(body, "打架斗殴") {
					t.Errorf("the notice lists something never awarded")
				}
				body = res.page(t, "/board/"+v+"/notice", keys)
				contains(t, "the notice signed in", body, "陈桂兰", "批量丙", "参加义务植树")
				if first, later := strings.Index(body, "门前干净"), strings.Index(body, "参加义务植树"); first < 0 || later < first {
					t.Errorf("the notice does not list the awards oldest first")
				}
				admin.post(t, "/orgs/"+v+"/points", form("points_to", "person", "mask_names", "yes", "public_days", "10", "appeal_days", "7", "expiry", "never")).
					wantStatus(t, "mask names", http.StatusSeeOther)
				for _, p := range []string{"/board/" + v + "/notice", "/board/" + v} {
					body = res.page(t, p, keys)
					contains(t, p+" with masked names", body, "陈*兰")
					if strings.Contains(body, "陈桂兰") {
						t.Errorf("%s shows a full name though the org masks names", p)
					}
				}
			}},
			{"exports", func(t *testing.T) {
				rows := xlsxRows(t, res.get(t, "/people/"+itoa(resM.id)+"/ledger.xlsx"))
				if len(rows) != 3+2+1 || rows[0][0] != "陈桂兰（"+resM.no+"）积分台账" || rows[2][2] != "类型" || rows[3][2] != "加分" || rows[3][3] != "清扫门前三包：门前干净" {
					t.Errorf("my ledger export: %v", rows)
				}
				if rows[5][4] != "9" {
					t.Errorf("the ledger totals %v, want 9", rows[5])
				}
				if r := vol.get(t, "/people/"+itoa(resM.id)+"/ledger.xlsx"); r.Status != http.StatusNotFound {
					t.Errorf("someone else's ledger export: %d", r.Status)
				}
				rows = xlsxRows(t, admin.get(t, "/awards/export?org_id="+v))
				if len(rows) < 5 || rows[0][0] != "新窑村积分发放明细" || rows[2][5] != "规则名称" {
					t.Errorf("the awards export: %v", rows[:min(len(rows), 4)])
				}
			}},
			{"the ledger check", func(t *testing.T) {
				if _, err := e.svc.Ledger.Seal(e.as(t, "")); err != nil {
					t.Fatal(err)
				}
				body := super.page(t, "/ledger/verify", keys)
				m := regexp.MustCompile(`id="latest-hash">([0-9a-f]{64})<`).FindStringSubmatch(body)
				if m == nil {
					t.Fatalf("no latest block on the page")
				}
				r := super.post(t, "/ledger/verify", form("anchor", m[1]))
				r.wantStatus(t, "verify", http.StatusOK)
				contains(t, "the report", r.Body, `id="verify-report"`, "账本完整一致")
				r = super.post(t, "/ledger/verify", form("anchor", "not-a-hash"))
				r.wantStatus(t, "a bad anchor", http.StatusUnprocessableEntity)
				for _, b := range []*browser{admin, rev, res} {
					if r := b.get(t, "/ledger/verify"); r.Status != http.StatusForbidden {
						t.Errorf("the ledger check for someone not a super admin: %d", r.Status)
					}
				}
			}},
			{"home and menu by role", func(t *testing.T) {
				body := res.page(t, "/", keys)
				contains(t, "a resident's home", body, `href="/me/points"`, `href="/me/claim"`, `href="/board/`+v+`"`)
				if strings.Contains(body, `href="/awards/review"`) || strings.Contains(body, `href="/ledger/verify"`) {
					t.Errorf("a resident's home offers staff tiles")
				}
				contains(t, "a reviewer's home", rev.page(t, "/", keys), `href="/awards/review"`, `href="/appeals"`, `href="/awards"`)
				contains(t, "the super admin's home", super.page(t, "/", keys), `href="/ledger/verify"`)
				if strings.Contains(e.signedIn(t, teamLeader).page(t, "/", keys), `href="/awards"`) {
					t.Errorf("a team leader, who awards nothing, is offered the points pages")
				}
			}},
			{"every page in English", func(t *testing.T) {
				en := e.signedIn(t, superAdmin)
				en.setCookie(langCookie, "en")
				for _, p := range []string{"/orgs/" + v + "/rules", "/rules/" + itoa(rules["env_clean"]) + "/edit", "/orgs/" + v + "/points",
					"/awards", "/awards/new?person_id=" + itoa(resM.id), "/awards/bulk", "/awards/review", "/awards/" + itoa(claim),
					"/me/claim", "/me/points", "/people/" + itoa(resM.id) + "/points", "/households", "/households/" + itoa(household),
					"/appeals?status=upheld", "/board/" + v, "/board/" + v + "?tv=1", "/board/" + v + "/notice", "/ledger/verify"} {
					body := en.page(t, p, keys)
					if !strings.Contains(body, `<html lang="en">`) {
						t.Errorf("GET %s is not in English", p)
					}
				}
			}},
		}
		for _, s := range steps {
			if !t.Run(s.name, s.fn) {
				return
			}
		}
	})
}
