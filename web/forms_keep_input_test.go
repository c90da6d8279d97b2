package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jifen"
)

// TestFailedFormKeepsWhatWasTyped: a form that fails validation comes back
// (422) with the error in words and everything the person typed, its
// fold-out open, and no stored value put back in place of a typed one.
func TestFailedFormKeepsWhatWasTyped(t *testing.T) {
	e := newDemoCountyServer(t)
	rec := regexp.MustCompile(`/records/(\d+)/correction`).FindStringSubmatch(e.signedIn(t, volunteer).get(t, "/me/service").Body)[1]
	today := time.Now().In(jifen.Zone).Format("2006-01-02")
	for _, c := range []struct {
		name, who, page, path string
		form                  url.Values
		alert                 string   // the error above the form, exactly
		want                  []string // exact pieces of the page
		not                   []string // pieces that must be gone
	}{
		{
			name: "我的: a mistyped phone keeps the phone and skills as typed", who: resident, page: "/me", path: "/me",
			form:  url.Values{"phone": {"1390000006"}, "political_status": {"league_member"}, "skills": {"剪纸、缝补"}},
			alert: "手机号应为11位大陆手机号码",
			want: []string{`<label class="bad">手机号<input name="phone" value="1390000006"`, `<input name="skills" value="剪纸、缝补"`,
				`<option value="league_member" selected>`},
			not: []string{`name="phone" value="13900000006"`, `<option value="masses" selected>`},
		},
		{
			name: "申请更正: mistyped hours open the record's form with hours and reason", who: volunteer, page: "/me/service", path: "/records/" + rec + "/correction",
			form:  url.Values{"wanted_hours": {"三"}, "reason": {"签退时手机没电，少记了一小时"}},
			alert: "请填写正确的小时数，如 2.5",
			want: []string{`<details open><summary>记录有误？申请更正</summary>
  <form method="post" action="/records/` + rec + `/correction"`,
				`<label class="bad">正确的时长（小时）<input name="wanted_hours" inputmode="decimal" required value="三"></label>`,
				`<input name="reason" required maxlength="200" value="签退时手机没电，少记了一小时"></label>`},
		},
		{
			name: "关系转接: a refused request keeps the chosen org and the reason", who: volunteer, page: "/transfers", path: "/transfers",
			form:  url.Values{"to_org_id": {"4"}, "reason": {"搬到新窑村居住"}},
			alert: "已经在该组织",
			want:  []string{`<option value="4" selected>`, `<input name="reason" required maxlength="200" value="搬到新窑村居住"></label>`},
		},
		{
			name: "批量转接: an unknown number keeps the pasted list open", who: villageAdmin, page: "/transfers", path: "/transfers/bulk",
			form:  url.Values{"volunteer_nos": {"123\n202650238411"}, "to_org_id": {"5"}, "reason": {"整队转入"}},
			alert: "没有找到这个志愿者编号：123",
			want: []string{`<details open><summary>批量转移人员</summary>`,
				`<textarea name="volunteer_nos" rows="4" required>123
202650238411</textarea>`, `<option value="5" selected>`, `<input name="reason" required maxlength="200" value="整队转入"></label>`},
		},
		{
			name: "新增下级组织: a bad phone keeps name, kind, leader and address", who: villageAdmin, page: "/orgs/4", path: "/orgs/4/children",
			form: url.Values{"form": {"child"}, "name": {"三组志愿服务队"}, "kind": {"team"}, "leader_name": {"王秀兰"},
				"contact_phone": {"村委会"}, "address": {"新窑村三组"}, "signup_requires_approval": {"yes"}},
			alert: "联系电话格式不正确",
			want: []string{`<details open><summary>新增下级组织</summary>`, `<input name="name" id="child-name" required maxlength="60" value="三组志愿服务队">`,
				`<option value="team" selected>`, `<input name="leader_name" maxlength="30" value="王秀兰">`,
				`<label class="bad">联系电话<input name="contact_phone" maxlength="20" value="村委会">`,
				`<input name="address" maxlength="200" value="新窑村三组">`,
				`<input type="checkbox" name="signup_requires_approval" value="yes" checked>`},
		},
		{
			name: "补录: an unknown number keeps the form open with all four boxes", who: teamLeader, page: "/activities/6/console", path: "/activities/6/backfill",
			form: url.Values{"volunteer_no": {"20265023841"}, "started_at": {today + "T09:00"}, "ended_at": {today + "T10:00"},
				"reason": {"老人不会用手机签到"}},
			alert: "没有找到这个志愿者编号",
			want: []string{`<details id="backfill" open>`,
				`<label class="bad">志愿者编号<input name="volunteer_no" inputmode="numeric" required maxlength="40" value="20265023841">`,
				`<input type="datetime-local" name="started_at" value="` + today + `T09:00" required>`,
				`<input type="datetime-local" name="ended_at" value="` + today + `T10:00" required>`,
				`<input name="reason" required maxlength="200" value="老人不会用手机签到">`},
			not: []string{`id="scan-no"` + ` class="bad"`, `<label class="bad">志愿者编号<input name="volunteer_no" id="scan-no"`},
		},
		{
			name: "发送消息: a blank title is called a title and the text is kept", who: villageAdmin, page: "/people/36", path: "/people/36/message",
			form:  url.Values{"title": {" "}, "body": {"请明天上午到村部领取慰问品"}},
			alert: "标题不能为空",
			want: []string{`<details open><summary>发送消息</summary>`, `<label class="bad">标题<input name="title" maxlength="60" required value=" ">`,
				`<textarea name="body" maxlength="2000" required rows="4">请明天上午到村部领取慰问品</textarea>`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := e.signedIn(t, c.who)
			b.get(t, c.page)
			r := b.post(t, c.path, c.form)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422 (%s)", r.Status, answerText(r.Body))
			}
			if got := formAlert(r.Body); got != c.alert {
				t.Errorf("the error reads %q, want %q", got, c.alert)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Body, w) {
					t.Errorf("the page lacks %s", w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(r.Body, n) {
					t.Errorf("the page still has %s", n)
				}
			}
		})
	}
}

// TestFailedFormOtherFormsStayClosed: when one form on a page fails, the
// others neither open nor take its values.
func TestFailedFormOtherFormsStayClosed(t *testing.T) {
	e := newDemoCountyServer(t)
	adm := e.signedIn(t, villageAdmin)
	adm.get(t, "/orgs/4")
	r := adm.post(t, "/orgs/4/children", url.Values{"form": {"child"}, "name": {"三组志愿服务队"}, "kind": {"team"}, "contact_phone": {"村委会"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d (%s)", r.Status, answerText(r.Body))
	}
	for _, n := range []string{`<details open><summary>修改资料与印章</summary>`, `<input name="name" value="三组志愿服务队"`} {
		if strings.Contains(r.Body, n) {
			t.Errorf("a failed 新增下级组织 shows %s in 修改资料与印章", n)
		}
	}
	// A failed 修改 shows what was typed, not what is stored.
	r = adm.post(t, "/orgs/4", url.Values{"form": {"edit"}, "name": {"新窑村（改）"}, "contact_phone": {"村委会"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `<input name="name" value="新窑村（改）"`) {
		t.Errorf("a failed 修改资料: status %d, %s, typed name kept: %v", r.Status, answerText(r.Body), strings.Contains(r.Body, `value="新窑村（改）"`))
	}

	// A mismatched password on 我的 leaves the profile boxes as stored.
	res := e.signedIn(t, resident)
	res.get(t, "/me")
	r = res.post(t, "/me/password", url.Values{"old_password": {"x"}, "password": {"abcdefgh1"}, "password2": {"abcdefgh2"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `name="phone" value="`+resident+`"`) {
		t.Errorf("a failed password change: status %d, %s, stored phone shown: %v", r.Status, answerText(r.Body), strings.Contains(r.Body, `value="`+resident+`"`))
	}

	// A failed 关系转接 request leaves 批量转移人员 closed and empty, and the
	// other way round.
	r = adm.post(t, "/transfers", url.Values{"to_org_id": {"4"}, "reason": {"搬到新窑村居住"}})
	if r.Status != http.StatusUnprocessableEntity || strings.Contains(r.Body, `<details open><summary>批量转移人员</summary>`) || strings.Contains(r.Body, `value="整队转入"`) {
		t.Errorf("a failed request: status %d (%s) opened 批量转移人员", r.Status, answerText(r.Body))
	}
	r = adm.post(t, "/transfers/bulk", url.Values{"volunteer_nos": {"123"}, "to_org_id": {"5"}, "reason": {"整队转入"}})
	if i := strings.Index(r.Body, `action="/transfers"`); r.Status != http.StatusUnprocessableEntity || i < 0 || strings.Contains(r.Body[i:i+900], `value="整队转入"`) {
		t.Errorf("a failed bulk transfer: status %d (%s) filled the single request form", r.Status, answerText(r.Body))
	}

	// A failed 补录 does not mark the scan box, and a failed scan does not
	// open 补录.
	lead := e.signedIn(t, teamLeader)
	lead.get(t, "/activities/6/console")
	r = lead.post(t, "/activities/6/scan", url.Values{"volunteer_no": {"1"}, "direction": {"in"}})
	if formAlert(r.Body) == "" || strings.Contains(r.Body, `<details id="backfill" open>`) {
		t.Errorf("a failed scan: status %d (%s), 补录 open: %v", r.Status, answerText(r.Body), strings.Contains(r.Body, `<details id="backfill" open>`))
	}
}

// TestFailedMessageTitleInEnglish: the English page names the title too.
func TestFailedMessageTitleInEnglish(t *testing.T) {
	e := newDemoCountyServer(t)
	adm := e.signedIn(t, villageAdmin)
	adm.get(t, "/lang/en?next=/")
	adm.get(t, "/people/36")
	for _, c := range []struct{ title, alert string }{
		{"", "Title is required"},
		{strings.Repeat("标", 61), "Title is too long (at most 60 characters)"},
	} {
		r := adm.post(t, "/people/36/message", url.Values{"title": {c.title}, "body": {"Please collect the parcel"}})
		if r.Status != http.StatusUnprocessableEntity || formAlert(r.Body) != c.alert {
			t.Errorf("title %q: status %d, error %q, want %q", c.title, r.Status, formAlert(r.Body), c.alert)
		}
	}
}

// TestPastActivityWithPublishKeepsFormAndSavesNothing: 发布新活动 with times
// already past and 保存后立即发布 ticked (the default) answers with the form,
// everything typed in it and the error beside the end time, and saves no
// draft, so a retry does not add another.
func TestPastActivityWithPublishKeepsFormAndSavesNothing(t *testing.T) {
	e := newDemoCountyServer(t)
	lead := e.signedIn(t, teamLeader)
	ctx := e.as(t, teamLeader)
	count := func() int {
		t.Helper()
		_, n, err := e.svc.Activities.Activities(ctx, jifen.ActivityFilter{OrgID: 5, PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	yesterday := time.Now().In(jifen.Zone).AddDate(0, 0, -1).Format("2006-01-02")
	form := url.Values{"org_id": {"5"}, "title": {"清扫积雪"}, "category": {"环境整治"}, "starts_at": {yesterday + "T09:00"}, "ends_at": {yesterday + "T11:00"},
		"capacity": {"20"}, "min_age": {"16"}, "points_per_hour": {"12"}, "address": {"新窑村文化广场"}, "description": {"带铁锹"}, "publish": {"yes"}}
	lead.get(t, "/activities/new")
	for try := 1; try <= 2; try++ {
		r := lead.post(t, "/activities", form)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("try %d: status %d, want 422 (%s)", try, r.Status, answerText(r.Body))
		}
		if got, want := formAlert(r.Body), "活动结束时间已过，不能发布；如只需保存，请取消勾选“保存后立即发布”"; got != want {
			t.Errorf("try %d: the error reads %q, want %q", try, got, want)
		}
		for _, w := range []string{
			`<input name="title" id="title" value="清扫积雪" required maxlength="60">`,
			`<input name="category" list="categories" value="环境整治" maxlength="20">`,
			`<input type="datetime-local" name="starts_at" id="starts_at" value="` + yesterday + `T09:00" required>`,
			`<label class="bad">结束时间<input type="datetime-local" name="ends_at" id="ends_at" value="` + yesterday + `T11:00" required>`,
			`<input name="capacity" inputmode="numeric" value="20">`,
			`<input name="min_age" inputmode="numeric" value="16">`,
			`<input name="points_per_hour" inputmode="numeric" value="12">`,
			`<input name="address" value="新窑村文化广场" maxlength="200">`,
			`<textarea name="description" rows="4" maxlength="5000">带铁锹</textarea>`,
			`<input type="checkbox" name="publish" value="yes" checked>`,
		} {
			if !strings.Contains(r.Body, w) {
				t.Errorf("try %d: the form lacks %s", try, w)
			}
		}
		if n := count(); n != before {
			t.Errorf("try %d: %d activities in the team, want %d: the refused publication left a draft", try, n, before)
		}
	}

	// Unticked, the same activity is kept as a draft.
	form.Del("publish")
	if r := lead.post(t, "/activities", form); r.Status != http.StatusSeeOther {
		t.Fatalf("as a draft: status %d (%s)", r.Status, answerText(r.Body))
	}
	if n := count(); n != before+1 {
		t.Errorf("after saving a draft: %d activities, want %d", n, before+1)
	}

	// A number that does not parse comes back as typed, with the tick as left.
	form.Set("capacity", "二十")
	r := lead.post(t, "/activities", form)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `<input name="capacity" inputmode="numeric" value="二十">`) ||
		!strings.Contains(r.Body, `<input type="checkbox" name="publish" value="yes"> `) {
		t.Errorf("capacity 二十: status %d (%s), capacity kept: %v, tick left off: %v", r.Status, answerText(r.Body),
			strings.Contains(r.Body, `value="二十"`), strings.Contains(r.Body, `name="publish" value="yes"> `))
	}
}

// A failed trim on the console opens that row's fold-out again with the
// times as typed, and no other row's.
func TestFailedTrimKeepsTheTimes(t *testing.T) {
	e := newDemoCountyServer(t)
	lead := e.signedIn(t, teamLeader)
	vol := e.personByPhone(t, volunteer)
	// The demo's consoles hold no attendance yet: back-fill the volunteer
	// on the first activity that takes it, over its whole time.
	trimRe := regexp.MustCompile(`action="/attendance/(\d+)/trim"[^>]*>\s*<input[^>]*><input[^>]*>\s*<input type="datetime-local" name="started_at" value="([^"]+)"`)
	timesRe := regexp.MustCompile(`name="started_at" value="([^"]+)" required></label>\s*<label>[^<]*<input type="datetime-local" name="ended_at" value="([^"]+)"`)
	var act string
	var m []string
	for i := 1; i <= 7 && m == nil; i++ {
		act = itoa(int64(i))
		times := timesRe.FindStringSubmatch(lead.get(t, "/activities/"+act+"/console").Body)
		if times == nil {
			continue
		}
		lead.post(t, "/activities/"+act+"/backfill", url.Values{"volunteer_no": {vol.VolunteerNo}, "started_at": {times[1]}, "ended_at": {times[2]}, "reason": {"纸质签到表补录"}})
		m = trimRe.FindStringSubmatch(lead.get(t, "/activities/"+act+"/console").Body)
	}
	if m == nil {
		t.Fatal("no demo activity took a back-fill to trim")
	}
	id, start := m[1], m[2]
	from, err := time.ParseInLocation("2006-01-02T15:04", start, jifen.Zone)
	if err != nil {
		t.Fatal(err)
	}
	typedEnd := from.Add(48 * time.Hour).Format("2006-01-02T15:04") // past what was recorded: trimming only shortens
	r := lead.post(t, "/attendance/"+id+"/trim", url.Values{"activity_id": {act}, "started_at": {start}, "ended_at": {typedEnd}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a trim that lengthens: %d %s", r.Status, answerText(r.Body))
	}
	for _, want := range []string{`<details open><summary>修改时间</summary><form method="post" action="/attendance/` + id + `/trim"`, `name="ended_at" value="` + typedEnd + `"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the failed trim's row does not show %q", want)
		}
	}
	if n := strings.Count(r.Body, "<details open><summary>修改时间</summary>"); n != 1 {
		t.Errorf("%d trim rows open, want 1", n)
	}
}

// TestFailedProjectFormKeepsWhatWasTyped: the 新建项目 form under the
// activity form opens again with what was typed and its error beside the
// box; the activity form above stays as it was.
func TestFailedProjectFormKeepsWhatWasTyped(t *testing.T) {
	e := newDemoCountyServer(t)
	lead := e.signedIn(t, teamLeader)
	page := lead.get(t, "/activities/new").Body
	org := regexp.MustCompile(`name="org_id" value="(\d+)"`).FindStringSubmatch(page)
	if org == nil {
		t.Fatal("no project form on the new activity page")
	}
	r := lead.post(t, "/projects", url.Values{"org_id": {org[1]}, "name": {"  "}, "description": {"每周三下午陪老人读报"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422 (%s)", r.Status, answerText(r.Body))
	}
	if got := formAlert(r.Body); got != "名称不能为空" {
		t.Errorf("the error reads %q", got)
	}
	for _, w := range []string{`<details open><summary>新建志愿服务项目</summary>`,
		`<label class="bad">项目名称<input name="name" maxlength="60" required value="  "></label>`,
		`<textarea name="description" rows="3" maxlength="2000">每周三下午陪老人读报</textarea>`} {
		if !strings.Contains(r.Body, w) {
			t.Errorf("the page lacks %s", w)
		}
	}
	if strings.Contains(r.Body, `<label class="bad">标题`) {
		t.Error("the activity form's title is marked for the project's error")
	}
}

// TestLanguageSwitchAfterAFailedForm: a form that failed is shown again in
// answer to its POST; the language switch then goes back to the page the
// form was on (its Referer), not to the POST's address, which is no page
// ("not found"), and home when there is no same-site Referer.
func TestLanguageSwitchAfterAFailedForm(t *testing.T) {
	e := newDemoCountyServer(t)
	adm := e.signedIn(t, villageAdmin)
	adm.get(t, "/people/36")
	for _, c := range []struct {
		referer, next string
	}{
		{e.ts.URL + "/people/36?tab=1", "/people/36?tab=1"},
		{"", "/"},
		{"https://elsewhere.example/people/36", "/"},
	} {
		r := adm.post(t, "/people/36/message", url.Values{"title": {""}, "body": {"请来取包裹"}}, "Referer", c.referer)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("referer %q: status %d, want 422", c.referer, r.Status)
		}
		m := langNext.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("referer %q: no English switch on the page", c.referer)
		}
		if next, err := url.QueryUnescape(html.UnescapeString(m[1])); err != nil || next != c.next {
			t.Errorf("referer %q: the language switch goes to %q, want %q", c.referer, next, c.next)
		}
		if got := adm.get(t, c.next); got.Status != http.StatusOK {
			t.Errorf("referer %q: %s answered %d", c.referer, c.next, got.Status)
		}
	}
}

var langNext = regexp.MustCompile(`href="/lang/en\?next=([^"]*)"`)

// TestReviewQueueOffersNoDecisionOnOwnAwards: an award the reviewer
// entered or that is for them or their household is decided by someone else (Approve refuses
// them with self_approval), so the queue shows them no buttons that would
// only fail, and says why.
func TestReviewQueueOffersNoDecisionOnOwnAwards(t *testing.T) {
	e := newDemoCountyServer(t)
	ctx := e.as(t, villageAdmin)
	me := jifen.ActorFrom(ctx).PersonID
	// The reviewer's household, with a neighbour in it whose claim waits,
	// in a village that credits households.
	village := e.org(t, "新窑村")
	set, err := e.svc.Points.Settings(ctx, village)
	if err != nil {
		t.Fatal(err)
	}
	set.PointsTo = jifen.ToHousehold
	if err := e.svc.Points.SaveSettings(ctx, village, *set); err != nil {
		t.Fatal(err)
	}
	people, _, err := e.svc.People.People(ctx, jifen.PersonFilter{OrgID: village, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	var household, neighbour int64
	for _, p := range people {
		if p.ID == me {
			continue
		}
		h, err := e.svc.Points.CreateHousehold(e.as(t, countyAdmin), jifen.HouseholdInput{OrgID: village, HeadID: me, MemberIDs: []int64{me, p.ID}, Name: "王润莲户"})
		if err == nil {
			household, neighbour = h.ID, p.ID
			break
		}
	}
	if household == 0 {
		t.Fatal("no household could be made for the reviewer")
	}
	rules, err := e.svc.Points.Rules(ctx, village)
	if err != nil {
		t.Fatal(err)
	}
	claimed := false
	for _, r := range rules {
		if r.Points <= 0 || r.NeedsEvidence || r.Code == jifen.ServiceHoursCode {
			continue
		}
		by := jifen.WithActor(context.Background(), &jifen.Actor{PersonID: neighbour, HomeOrgID: village, HomeOrgPath: jifen.ActorFrom(ctx).HomeOrgPath})
		if _, err := e.svc.Points.Award(by, jifen.AwardInput{PersonID: neighbour, RuleID: r.ID, Quantity: 1, Key: "household-claim"}); err == nil {
			claimed = true
			break
		}
	}
	if !claimed {
		t.Fatal("the neighbour could claim nothing")
	}
	pending, _, err := e.svc.Points.Awards(ctx, jifen.AwardFilter{Status: jifen.AwardPending, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	own, others := 0, 0
	body := e.signedIn(t, villageAdmin).get(t, "/awards/review").Body
	for _, aw := range pending {
		i := strings.Index(body, `id="award-`+strconv.FormatInt(aw.ID, 10)+`"`)
		if i < 0 {
			t.Fatalf("award %d is not in the queue", aw.ID)
		}
		card := body[i:]
		card = card[:strings.Index(card, "</article>")]
		mine := aw.CreatedBy == me || (aw.PersonID != nil && *aw.PersonID == me) || (aw.HouseholdID != nil && *aw.HouseholdID == household)
		offered := strings.Contains(card, "/approve")
		switch {
		case mine && offered:
			t.Errorf("award %d, entered by the reviewer or for them, is offered to approve", aw.ID)
		case mine && !strings.Contains(card, "own-award"):
			t.Errorf("award %d, entered by the reviewer or for them, does not say who decides it", aw.ID)
		case !mine && !offered:
			t.Errorf("award %d is not offered to approve", aw.ID)
		}
		if mine {
			own++
		} else {
			others++
		}
	}
	if own == 0 || others == 0 {
		t.Fatalf("the demo's queue holds %d of the reviewer's own awards and %d others; the test needs both", own, others)
	}
}

// TestPointsSettingsReadOnlyForNonAdmins: everyone in the org may read its
// points settings; those who may not change them get the fields disabled
// (they looked editable, with no way to save), its admins get them open.
func TestPointsSettingsReadOnlyForNonAdmins(t *testing.T) {
	e := newDemoCountyServer(t)
	path := "/orgs/" + itoa(e.org(t, "新窑村")) + "/points"
	for _, c := range []struct {
		who      string
		disabled bool
	}{{villageAdmin, false}, {resident, true}} {
		r := e.signedIn(t, c.who).get(t, path)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %s answered %d", c.who, path, r.Status)
		}
		if got := strings.Contains(r.Body, `id="settings-fields" disabled`); got != c.disabled {
			t.Errorf("%s: settings disabled %v, want %v", c.who, got, c.disabled)
		}
	}
}
