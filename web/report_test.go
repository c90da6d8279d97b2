package web_test

import (
	"encoding/json"
	"html"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"jifen"
)

func init() {
	// Reports read an org's subtree: a foreign org_id is not found.
	orgQuery := func(f *foreign) string { return "org_id=" + itoa(f.org) }
	for k, v := range map[string]access{
		"GET /reports":                       {query: orgQuery},
		"GET /api/v1/reports/monthly":        {query: orgQuery},
		"GET /api/v1/reports/top-volunteers": {query: orgQuery},
		"GET /api/v1/reports/stars":          {query: orgQuery},
		"GET /api/v1/reports/stores":         {query: orgQuery},
	} {
		if _, dup := matrix[k]; dup {
			panic("authorization matrix: " + k + " twice")
		}
		matrix[k] = v
	}
}

// reportWorld is what reportFixtures made, all of it inside 崇信县:
//
//	May 2026: 60 minutes back-filled for a neighbour in 城关社区 (锦屏镇).
//	June 2026, 新窑村志愿服务队 (新窑镇): 7200 minutes for the volunteer (one
//	star) and 120 for the resident; 5 points awarded to the resident, 10
//	deducted from the volunteer; at 新窑村积分超市 the resident buys two
//	bars of soap (10 points) and one more (5), which is refunded.
type reportWorld struct {
	county, town, jinping, village int64
	res, vol                       member
	neighbour                      int64
	store, soap                    int64
}

var (
	may20 = time.Date(2026, 5, 20, 8, 0, 0, 0, jifen.Zone)
	june1 = time.Date(2026, 6, 1, 9, 0, 0, 0, jifen.Zone)
)

func reportFixtures(t *testing.T, e *svcEnv) *reportWorld {
	t.Helper()
	w := &reportWorld{county: e.org(t, "崇信县"), town: e.org(t, "新窑镇"), jinping: e.org(t, "锦屏镇"), village: e.org(t, "新窑村")}
	cityCommunity, team := e.org(t, "城关社区"), e.org(t, "新窑村志愿服务队")
	for _, p := range e.peopleIn(t, "城关社区") {
		if p.HomeOrgID == cityCommunity {
			w.neighbour = p.ID
			break
		}
	}
	if w.neighbour == 0 {
		t.Fatal("nobody lives in 城关社区")
	}
	super := e.token(t, superAdmin)
	call := func(method, path string, body any, want int, hdr ...string) map[string]any {
		t.Helper()
		r := e.api(t, method, path, super, body, hdr...)
		r.wantStatus(t, method+" "+path, want)
		if want == http.StatusNoContent {
			return nil
		}
		return r.JSON(t)
	}
	serve := func(org int64, title string, start, end time.Time, people map[int64][2]time.Time) {
		t.Helper()
		act := e.published(t, super, activityBody(org, title, start, end, nil))
		e.clock.Set(end.Add(30 * time.Minute))
		for pid, span := range people {
			call("POST", "/api/v1/activities/"+itoa(act)+"/attendance", map[string]any{"person_id": pid,
				"started_at": span[0].Format(time.RFC3339), "ended_at": span[1].Format(time.RFC3339), "reason": "纸质签到表补录"}, http.StatusCreated)
		}
		call("POST", "/api/v1/activities/"+itoa(act)+"/verify", nil, http.StatusOK)
	}

	e.clock.Set(may20)
	w.res, w.vol = e.demoMember(t, resident), e.demoMember(t, volunteer)
	at9 := may20.Add(time.Hour)
	serve(cityCommunity, "社区义诊", at9, at9.Add(time.Hour), map[int64][2]time.Time{w.neighbour: {at9, at9.Add(time.Hour)}})

	e.clock.Set(june1.Add(-25 * time.Hour))
	end := june1.Add(5 * 24 * time.Hour)
	serve(team, "抗旱保苗连续值守", june1, end, map[int64][2]time.Time{
		w.vol.id: {june1, end},
		w.res.id: {june1, june1.Add(2 * time.Hour)},
	})

	rule := jsonInt(t, call("POST", "/api/v1/orgs/"+itoa(w.village)+"/rules", map[string]any{"code": "rep_clean", "name": "清扫门前三包",
		"category": "environment", "points": 5, "needs_review": false}, http.StatusCreated), "id")
	fine := jsonInt(t, call("POST", "/api/v1/orgs/"+itoa(w.county)+"/rules", map[string]any{"code": "rep_fight", "name": "打架斗殴",
		"category": "law_abiding", "points": -10}, http.StatusCreated), "id")
	call("POST", "/api/v1/awards", map[string]any{"person_id": w.res.id, "rule_id": rule, "quantity": 1}, http.StatusCreated, "Idempotency-Key", "rep-award")
	call("POST", "/api/v1/awards", map[string]any{"person_id": w.vol.id, "rule_id": fine, "quantity": 1}, http.StatusCreated, "Idempotency-Key", "rep-fine")

	w.store = jsonInt(t, call("POST", "/api/v1/stores", map[string]any{"org_id": w.village, "name": "新窑村积分超市", "kind": "supermarket"}, http.StatusCreated), "id")
	w.soap = jsonInt(t, call("POST", "/api/v1/stores/"+itoa(w.store)+"/items", map[string]any{"name": "香皂", "points": 5, "stock": 10, "low_stock": 9}, http.StatusCreated), "id")
	call("POST", "/api/v1/stores/"+itoa(w.store)+"/items", map[string]any{"name": "理发", "points": 20}, http.StatusCreated)
	e.fund(t, w.res.id, w.village, 100, "rep-fund")
	seller := e.token(t, villageAdmin)
	sell := func(key string, n int64) int64 {
		t.Helper()
		r := e.redeem(t, seller, key, map[string]any{"store_id": w.store, "paycode": e.paycode(t, w.res.tok), "lines": basket(w.soap, n)})
		r.wantStatus(t, "sale "+key, http.StatusCreated)
		return jsonInt(t, r.JSON(t), "id")
	}
	sell("rep-sale-1", 2)
	second := sell("rep-sale-2", 1)
	r := e.api(t, "POST", "/api/v1/redemptions/"+itoa(second)+"/refund", seller, map[string]any{"reason": "包装破损"})
	r.wantStatus(t, "refund", http.StatusOK)
	return w
}

// tally is a month's or an org's numbers as the API spells them.
type tally struct{ minutes, records, awarded, deducted, redeemed int64 }

func tallyOf(t testing.TB, m map[string]any) tally {
	t.Helper()
	return tally{jsonInt(t, m, "minutes"), jsonInt(t, m, "records"), jsonInt(t, m, "points_awarded"),
		jsonInt(t, m, "points_deducted"), jsonInt(t, m, "points_redeemed")}
}

// TestReportAPI checks the figures of the four report routes against
// what the fixtures did, their shapes, the caller's scope and the months.
func TestReportAPI(t *testing.T) {
	t.Parallel()
	eachServiceDB(t, func(t *testing.T, e *svcEnv) {
		w := reportFixtures(t, e)
		admin := e.token(t, countyAdmin)
		get := func(tok, path string) map[string]any {
			t.Helper()
			r := e.api(t, "GET", path, tok, nil)
			r.wantStatus(t, path, http.StatusOK)
			return r.JSON(t)
		}
		q := "?org_id=" + itoa(w.county) + "&from=2026-05&to=2026-06"

		t.Run("monthly sums the subtree by month and by child", func(t *testing.T) {
			m := get(admin, "/api/v1/reports/monthly"+q)
			wantKeys(t, "the monthly report", m, "org", "from", "to", "months", "children", "total")
			if org, _ := m["org"].(map[string]any); org == nil || jsonInt(t, org, "id") != w.county || org["name"] != "崇信县" {
				t.Errorf("org is %v, want 崇信县", m["org"])
			}
			if m["from"] != "2026-05" || m["to"] != "2026-06" {
				t.Errorf("from %v to %v, want 2026-05 to 2026-06", m["from"], m["to"])
			}
			months, _ := m["months"].([]any)
			if len(months) != 2 {
				t.Fatalf("%d months, want 2: %v", len(months), m["months"])
			}
			wantKeys(t, "a month", months[0].(map[string]any), "month", "minutes", "records", "points_awarded", "points_deducted", "points_redeemed")
			want := map[string]tally{"2026-05": {60, 1, 0, 0, 0}, "2026-06": {7320, 2, 5, 10, 10}}
			for _, x := range months {
				mt := x.(map[string]any)
				if got := tallyOf(t, mt); got != want[mt["month"].(string)] {
					t.Errorf("%v: %+v, want %+v", mt["month"], got, want[mt["month"].(string)])
				}
			}
			if got := tallyOf(t, m["total"].(map[string]any)); got != (tally{7380, 3, 5, 10, 10}) {
				t.Errorf("total %+v, want 7380 minutes, 3 records, 5 awarded, 10 deducted, 10 spent", got)
			}
			kids := map[int64]tally{}
			for _, x := range m["children"].([]any) {
				c := x.(map[string]any)
				wantKeys(t, "a child", c, "org_id", "name", "minutes", "records", "points_awarded", "points_deducted", "points_redeemed")
				kids[jsonInt(t, c, "org_id")] = tallyOf(t, c)
			}
			if len(kids) != 2 || kids[w.town] != (tally{7320, 2, 5, 10, 10}) || kids[w.jinping] != (tally{60, 1, 0, 0, 0}) {
				t.Errorf("children %+v, want 新窑镇 with June's numbers and 锦屏镇 with May's", kids)
			}
			// One month alone, and a subtree alone.
			june := get(admin, "/api/v1/reports/monthly?org_id="+itoa(w.county)+"&from=2026-06&to=2026-06")
			if got := tallyOf(t, june["total"].(map[string]any)); got != (tally{7320, 2, 5, 10, 10}) {
				t.Errorf("June alone: %+v", got)
			}
			village := get(e.token(t, villageAdmin), "/api/v1/reports/monthly?org_id="+itoa(w.village)+"&from=2026-05&to=2026-06")
			if got := tallyOf(t, village["total"].(map[string]any)); got != (tally{7320, 2, 5, 10, 10}) {
				t.Errorf("新窑村 as its admin: %+v", got)
			}
		})

		t.Run("without months the twelve up to the database's now, without org_id the caller's org", func(t *testing.T) {
			m := get(admin, "/api/v1/reports/monthly")
			if m["from"] != "2025-07" || m["to"] != "2026-06" || len(m["months"].([]any)) != 12 {
				t.Errorf("from %v to %v with %d months, want 2025-07 to 2026-06, 12", m["from"], m["to"], len(m["months"].([]any)))
			}
			if org := m["org"].(map[string]any); jsonInt(t, org, "id") != w.county {
				t.Errorf("the county admin's default org is %v, want 崇信县", org["name"])
			}
			if org := get(e.token(t, reviewer), "/api/v1/reports/stars")["items"]; len(org.([]any)) != 5 {
				t.Errorf("the reviewer's stars: %v", org)
			}
		})

		t.Run("top volunteers rank by verified minutes and agree with each person's hours", func(t *testing.T) {
			l := get(admin, "/api/v1/reports/top-volunteers?org_id="+itoa(w.county))
			items := objects(t, l)
			if len(items) != 3 {
				t.Fatalf("%d volunteers, want 3: %v", len(items), items)
			}
			wantKeys(t, "a top volunteer", items[0], "person_id", "name", "volunteer_no", "org_id", "org_name", "minutes", "star")
			wantIDs := []int64{w.vol.id, w.res.id, w.neighbour}
			wantStars := []int64{1, 0, 0}
			for i, v := range items {
				id := jsonInt(t, v, "person_id")
				if id != wantIDs[i] || jsonInt(t, v, "star") != wantStars[i] {
					t.Errorf("#%d is %v (%v) with %v stars, want person %d with %d", i+1, v["name"], id, v["star"], wantIDs[i], wantStars[i])
				}
				if h := jsonInt(t, e.hours(t, e.token(t, superAdmin), id), "verified_minutes"); h != jsonInt(t, v, "minutes") {
					t.Errorf("%v: the report says %d minutes, their hours say %d", v["name"], jsonInt(t, v, "minutes"), h)
				}
			}
			if one := objects(t, get(admin, "/api/v1/reports/top-volunteers?n=1&org_id="+itoa(w.county))); len(one) != 1 || jsonInt(t, one[0], "person_id") != w.vol.id {
				t.Errorf("n=1 answered %v", one)
			}
			if mine := objects(t, get(admin, "/api/v1/reports/top-volunteers?org_id="+itoa(w.jinping))); len(mine) != 1 || jsonInt(t, mine[0], "person_id") != w.neighbour {
				t.Errorf("锦屏镇's top volunteers are %v, want only its neighbour", mine)
			}
		})

		t.Run("stars count volunteers at each level", func(t *testing.T) {
			items := objects(t, get(admin, "/api/v1/reports/stars?org_id="+itoa(w.county)))
			if len(items) != 5 {
				t.Fatalf("%d star levels, want 5", len(items))
			}
			for i, s := range items {
				wantKeys(t, "a star level", s, "star", "people")
				want := int64(0)
				if i == 0 {
					want = 1
				}
				if jsonInt(t, s, "star") != int64(i+1) || jsonInt(t, s, "people") != want {
					t.Errorf("level %d: %v, want star %d with %d people", i, s, i+1, want)
				}
			}
			for _, s := range objects(t, get(admin, "/api/v1/reports/stars?org_id="+itoa(w.jinping))) {
				if jsonInt(t, s, "people") != 0 {
					t.Errorf("锦屏镇 has a star volunteer: %v", s)
				}
			}
		})

		t.Run("stores show sales, refunds and stock", func(t *testing.T) {
			items := objects(t, get(admin, "/api/v1/reports/stores"+q))
			if len(items) != 1 {
				t.Fatalf("%d stores, want 1: %v", len(items), items)
			}
			s := items[0]
			wantKeys(t, "a store", s, "store_id", "name", "org_id", "sales", "points", "points_refunded", "items", "stock", "low_stock", "unlimited")
			soap := get(admin, "/api/v1/stores/"+itoa(w.store)+"/items/"+itoa(w.soap))
			if jsonInt(t, s, "store_id") != w.store || jsonInt(t, s, "sales") != 2 || jsonInt(t, s, "points") != 15 || jsonInt(t, s, "points_refunded") != 5 ||
				jsonInt(t, s, "items") != 2 || jsonInt(t, s, "stock") != jsonInt(t, soap, "stock") || jsonInt(t, s, "low_stock") != 1 || jsonInt(t, s, "unlimited") != 1 {
				t.Errorf("the store reads %v; want 2 sales of 15 points, 5 refunded, 2 items, stock %d as the catalogue says, 1 low, 1 unlimited", s, jsonInt(t, soap, "stock"))
			}
			if may := objects(t, get(admin, "/api/v1/reports/stores?org_id="+itoa(w.county)+"&from=2026-05&to=2026-05")); len(may) != 1 || jsonInt(t, may[0], "sales") != 0 {
				t.Errorf("May's sales: %v, want the store with none", may)
			}
		})

		t.Run("an org outside the caller's staff scope is not found", func(t *testing.T) {
			cases := []struct {
				phone string
				org   int64
			}{
				{countyAdmin, e.org(t, "叶集区")},
				{countyAdmin, e.org(t, "平凉市")},
				{reviewer, e.org(t, "史河街道")},
				{villageAdmin, w.county},
				{villageAdmin, w.jinping},
				{teamLeader, e.org(t, "新窑村志愿服务队")},
				{volunteer, w.village},
				{resident, w.village},
				{countyAdmin, 987654},
			}
			for _, c := range cases {
				for _, p := range []string{"monthly", "top-volunteers", "stars", "stores"} {
					path := "/api/v1/reports/" + p + "?org_id=" + itoa(c.org)
					wantAPIError(t, c.phone+" "+path, e.api(t, "GET", path, e.token(t, c.phone), nil), http.StatusNotFound, "not_found", "")
				}
			}
			// Without org_id, someone who runs no org has no report either.
			wantAPIError(t, "a resident's default", e.api(t, "GET", "/api/v1/reports/monthly", e.token(t, resident), nil), http.StatusNotFound, "not_found", "")
			wantAPIError(t, "no token", e.api(t, "GET", "/api/v1/reports/monthly"+q, "", nil), http.StatusUnauthorized, "unauthorized", "")
		})

		t.Run("bad months and counts name their field", func(t *testing.T) {
			org := "org_id=" + itoa(w.county)
			for _, c := range []struct {
				query, field string
				status       int
			}{
				{"from=2026-13", "from", 422},
				{"from=2026-1", "from", 422},
				{"to=26-01", "to", 422},
				{"to=2026-06-01", "to", 422},
				{"from=2026-07&to=2026-06", "from", 422},
				{"from=2020-01&to=2026-06", "from", 422},
			} {
				for _, p := range []string{"monthly", "stores"} {
					path := "/api/v1/reports/" + p + "?" + org + "&" + c.query
					wantAPIError(t, path, e.api(t, "GET", path, admin, nil), c.status, "invalid", c.field)
				}
			}
			wantAPIError(t, "org_id=abc", e.api(t, "GET", "/api/v1/reports/monthly?org_id=abc", admin, nil), http.StatusBadRequest, "malformed", "org_id")
			wantAPIError(t, "org_id=-1", e.api(t, "GET", "/api/v1/reports/stars?org_id=-1", admin, nil), http.StatusBadRequest, "malformed", "org_id")
			for _, n := range []string{"0", "101"} {
				wantAPIError(t, "n="+n, e.api(t, "GET", "/api/v1/reports/top-volunteers?"+org+"&n="+n, admin, nil), http.StatusUnprocessableEntity, "invalid", "n")
			}
			wantAPIError(t, "n=ten", e.api(t, "GET", "/api/v1/reports/top-volunteers?"+org+"&n=ten", admin, nil), http.StatusBadRequest, "malformed", "n")
			// Five years exactly is allowed.
			e.api(t, "GET", "/api/v1/reports/monthly?"+org+"&from=2021-06&to=2026-06", admin, nil).wantStatus(t, "five years", http.StatusOK)
		})
	})
}

var (
	tableRE  = regexp.MustCompile(`(?s)<table[^>]*\bid="([^"]+)"[^>]*>.*?<tbody>(.*?)</tbody>`)
	rowRE    = regexp.MustCompile(`(?s)<tr\b[^>]*>(.*?)</tr>`)
	cellRE   = regexp.MustCompile(`(?s)<t[hd]\b[^>]*>(.*?)</t[hd]>`)
	scriptRE = regexp.MustCompile(`(?s)<script\b([^>]*)>(.*?)</script>`)
	optionRE = regexp.MustCompile(`<option value="\d+"[^>]*>([^<]*)</option>`)
	dataRE   = regexp.MustCompile(`(?s)<script type="application/json" id="report-data">(.*?)</script>`)
)

// tables reads the body rows of every table on a page, by table id, as
// the text of their cells.
func tables(page string) map[string][][]string {
	out := map[string][][]string{}
	for _, t := range tableRE.FindAllStringSubmatch(page, -1) {
		var rows [][]string
		for _, r := range rowRE.FindAllStringSubmatch(t[2], -1) {
			var cells []string
			for _, c := range cellRE.FindAllStringSubmatch(r[1], -1) {
				text := anyTag.ReplaceAllString(strings.ReplaceAll(c[1], "<br>", " "), "")
				cells = append(cells, strings.Join(strings.Fields(html.UnescapeString(text)), " "))
			}
			rows = append(rows, cells)
		}
		out[t[1]] = rows
	}
	return out
}

// TestReportPage renders the dashboard in Chinese and English and reads
// its tables and chart data back against the API.
func TestReportPage(t *testing.T) {
	t.Parallel()
	keys := templateKeys(t)
	eachServiceDB(t, func(t *testing.T, e *svcEnv) {
		w := reportFixtures(t, e)
		admin := e.token(t, countyAdmin)
		q := "?org_id=" + itoa(w.county) + "&from=2026-05&to=2026-06"
		apiGet := func(path string) map[string]any {
			t.Helper()
			r := e.api(t, "GET", path, admin, nil)
			r.wantStatus(t, path, http.StatusOK)
			return r.JSON(t)
		}
		monthly := apiGet("/api/v1/reports/monthly" + q)
		top := objects(t, apiGet("/api/v1/reports/top-volunteers"+q))
		stars := objects(t, apiGet("/api/v1/reports/stars"+q))
		stores := objects(t, apiGet("/api/v1/reports/stores"+q))
		row := func(label string, m map[string]any) []string {
			tl := tallyOf(t, m)
			return []string{label, jifen.HoursText(int(tl.minutes)), itoa(tl.records), itoa(tl.awarded), itoa(tl.deducted), itoa(tl.redeemed)}
		}

		for _, lang := range []string{"zh", "en"} {
			t.Run(lang, func(t *testing.T) {
				b := e.signedIn(t, countyAdmin)
				b.setCookie(langCookie, lang)
				page := b.page(t, "/reports"+q, keys)
				wantLang := map[string]string{"zh": `<html lang="zh-CN">`, "en": `<html lang="en">`}[lang]
				title := map[string]string{"zh": "崇信县 · 统计报表", "en": "崇信县 · Reports"}[lang]
				if !strings.Contains(page, wantLang) || !strings.Contains(page, "<h1>"+title+"</h1>") {
					t.Errorf("the %s page lacks %s or the heading %q", lang, wantLang, title)
				}
				tb := tables(page)

				var want [][]string
				for _, x := range monthly["months"].([]any) {
					m := x.(map[string]any)
					want = append(want, row(m["month"].(string), m))
				}
				wantRows(t, "months", tb["table-months"], want)

				want = nil
				for _, x := range monthly["children"].([]any) {
					c := x.(map[string]any)
					want = append(want, row(c["name"].(string), c))
				}
				wantRows(t, "children", tb["table-children"], want)

				want = nil
				for _, s := range stars {
					star := int(jsonInt(t, s, "star"))
					label := strings.Repeat("★", star) + strings.Repeat("☆", 5-star) + " " +
						map[string]string{"zh": []string{"一", "二", "三", "四", "五"}[star-1] + "星级", "en": itoa(int64(star)) + "-star"}[lang]
					want = append(want, []string{label, itoa(jsonInt(t, s, "people"))})
				}
				wantRows(t, "stars", tb["table-stars"], want)

				want = nil
				for i, v := range top {
					star := ""
					if jsonInt(t, v, "star") == 1 {
						star = map[string]string{"zh": "一星级", "en": "1-star"}[lang]
					}
					want = append(want, []string{itoa(int64(i + 1)), v["name"].(string), v["org_name"].(string),
						jifen.HoursText(int(jsonInt(t, v, "minutes"))), star, v["volunteer_no"].(string)})
				}
				wantRows(t, "top volunteers", tb["table-top"], want)

				want = nil
				for _, s := range stores {
					stock := itoa(jsonInt(t, s, "stock"))
					if n := jsonInt(t, s, "unlimited"); n > 0 {
						stock += " " + map[string]string{"zh": "另有 " + itoa(n) + " 种不限量", "en": "and " + itoa(n) + " unlimited"}[lang]
					}
					want = append(want, []string{s["name"].(string), itoa(jsonInt(t, s, "sales")), itoa(jsonInt(t, s, "points")),
						itoa(jsonInt(t, s, "points_refunded")), itoa(jsonInt(t, s, "items")), stock, itoa(jsonInt(t, s, "low_stock"))})
				}
				wantRows(t, "stores", tb["table-stores"], want)

				for id, n := range map[string]int64{"total-records": 3, "total-awarded": 5, "total-deducted": 10, "total-redeemed": 10} {
					if !strings.Contains(page, `id="`+id+`">`+itoa(n)+`<`) {
						t.Errorf("the totals lack %s = %d", id, n)
					}
				}
				if !strings.Contains(page, `id="total-hours">123.0<`) {
					t.Errorf("the total hours are not 123.0 (7380 minutes)")
				}

				// The chart data says what the tables say, in the page's language.
				m := dataRE.FindStringSubmatch(page)
				if m == nil {
					t.Fatal("no report-data JSON block")
				}
				var chart struct {
					Labels   map[string]string `json:"labels"`
					Months   []string          `json:"months"`
					Hours    []float64         `json:"hours"`
					Awarded  []int64           `json:"awarded"`
					Deducted []int64           `json:"deducted"`
					Redeemed []int64           `json:"redeemed"`
					Children []struct {
						Name    string  `json:"name"`
						Href    string  `json:"href"`
						Hours   float64 `json:"hours"`
						Awarded int64   `json:"awarded"`
					} `json:"children"`
					Stars []struct {
						Label  string `json:"label"`
						People int64  `json:"people"`
					} `json:"stars"`
				}
				if err := json.Unmarshal([]byte(m[1]), &chart); err != nil {
					t.Fatalf("the report-data block is not JSON: %v: %.300s", err, m[1])
				}
				if want := map[string]string{"zh": "服务时长（小时）", "en": "Service hours"}[lang]; chart.Labels["hours"] != want {
					t.Errorf("the hours series is labelled %q, want %q", chart.Labels["hours"], want)
				}
				for i, x := range monthly["months"].([]any) {
					mt := tallyOf(t, x.(map[string]any))
					if chart.Months[i] != x.(map[string]any)["month"] || math.Abs(chart.Hours[i]-float64(mt.minutes)/60) > 0.05 ||
						chart.Awarded[i] != mt.awarded || chart.Deducted[i] != mt.deducted || chart.Redeemed[i] != mt.redeemed {
						t.Errorf("chart month %d: %s %.1f h %d/%d/%d, want %+v", i, chart.Months[i], chart.Hours[i], chart.Awarded[i], chart.Deducted[i], chart.Redeemed[i], mt)
					}
				}
				for i, x := range monthly["children"].([]any) {
					c := x.(map[string]any)
					wantHref := "/reports?org_id=" + itoa(jsonInt(t, c, "org_id")) + "&from=2026-05&to=2026-06"
					if chart.Children[i].Name != c["name"] || chart.Children[i].Href != wantHref || chart.Children[i].Awarded != jsonInt(t, c, "points_awarded") {
						t.Errorf("chart child %d: %+v, want %v linking to %s", i, chart.Children[i], c, wantHref)
					}
					if !strings.Contains(page, `href="`+html.EscapeString(wantHref)+`"`) {
						t.Errorf("the children table does not link %v to %s", c["name"], wantHref)
					}
				}
				if len(chart.Stars) != 5 || chart.Stars[0].People != 1 {
					t.Errorf("chart stars %+v", chart.Stars)
				}

				// Only this page loads ECharts, and no script runs inline.
				for _, s := range scriptRE.FindAllStringSubmatch(page, -1) {
					if !strings.Contains(s[1], `src="/static/`) && !strings.Contains(s[1], `type="application/json"`) {
						t.Errorf("an inline script: <script%s>%.80s", s[1], s[2])
					}
				}
				if !strings.Contains(page, `<script src="/static/vendor/echarts.min.js" defer></script>`) || !strings.Contains(page, `<script src="/static/reports.js" defer></script>`) {
					t.Errorf("the dashboard does not load echarts.min.js and reports.js")
				}
			})
		}

		t.Run("drill down to a child and back up", func(t *testing.T) {
			b := e.signedIn(t, countyAdmin)
			page := b.page(t, "/reports?org_id="+itoa(w.town)+"&from=2026-05&to=2026-06", keys)
			if !strings.Contains(page, "<h1>新窑镇 · 统计报表</h1>") {
				t.Errorf("the drill-down is not 新窑镇's report")
			}
			up := `<a href="` + html.EscapeString("/reports?org_id="+itoa(w.county)+"&from=2026-05&to=2026-06") + `">崇信县</a>`
			if !strings.Contains(page, up) {
				t.Errorf("新窑镇's report has no way back up to 崇信县 (%s)", up)
			}
			if strings.Contains(page, ">平凉市</a> ›") {
				t.Errorf("the breadcrumb climbs above the county admin's scope to 平凉市")
			}
			kids := tables(page)["table-children"]
			if len(kids) != 1 || kids[0][0] != "新窑村" || kids[0][1] != "122.0" {
				t.Errorf("新窑镇's children: %v, want 新窑村 with 122.0 hours", kids)
			}
			// The org picker offers the admin's orgs only.
			var offered []string
			for _, m := range optionRE.FindAllStringSubmatch(page, -1) {
				offered = append(offered, strings.Trim(m[1], "　"))
			}
			if strings.Join(offered, " ") != "崇信县 新窑镇 新窑村 新窑村志愿服务队 锦屏镇 城关社区" {
				t.Errorf("the org picker offers %v, want the county admin's orgs in tree order", offered)
			}
		})

		t.Run("the org's own numbers have a row of their own", func(t *testing.T) {
			// A deduction for someone living at the county itself is in the
			// county's total but in none of its children.
			admin := e.personByPhone(t, countyAdmin)
			fine := jsonInt(t, e.api(t, "POST", "/api/v1/orgs/"+itoa(w.county)+"/rules", e.token(t, superAdmin), map[string]any{"code": "rep_litter", "name": "乱扔垃圾",
				"category": "environment", "points": -3}).JSON(t), "id")
			e.api(t, "POST", "/api/v1/awards", e.token(t, superAdmin), map[string]any{"person_id": admin.ID, "rule_id": fine, "quantity": 1},
				"Idempotency-Key", "rep-own").wantStatus(t, "deduct at the county", http.StatusCreated)
			page := e.signedIn(t, countyAdmin).page(t, "/reports"+q, keys)
			kids := tables(page)["table-children"]
			if len(kids) != 3 || kids[2][0] != "本级（直属）" || kids[2][4] != "3" {
				t.Errorf("the children table is %v, want a last row 本级（直属） with 3 deducted", kids)
			}
		})

		t.Run("an org's name stays data in the chart block", func(t *testing.T) {
			hostile := `</script><script>alert(1)</script>"'&`
			e.api(t, "POST", "/api/v1/orgs", e.token(t, superAdmin), map[string]any{"name": hostile, "kind": "town", "parent_id": w.county}).
				wantStatus(t, "a hostile org name", http.StatusCreated)
			page := e.signedIn(t, countyAdmin).page(t, "/reports"+q, keys)
			m := dataRE.FindStringSubmatch(page)
			var chart struct {
				Children []struct{ Name string } `json:"children"`
			}
			if m == nil || json.Unmarshal([]byte(m[1]), &chart) != nil {
				t.Fatalf("the report-data block does not survive the name %q", hostile)
			}
			if n := len(chart.Children); n != 3 || chart.Children[2].Name != hostile {
				t.Errorf("the chart's children %+v, want the third named %q", chart.Children, hostile)
			}
			if strings.Count(page, "<script") != 4 { // app.js, echarts, reports.js, the data block
				t.Errorf("the page holds %d script elements, want 4", strings.Count(page, "<script"))
			}
		})

		t.Run("bad months show an error over the default range", func(t *testing.T) {
			b := e.signedIn(t, countyAdmin)
			r := b.get(t, "/reports?org_id="+itoa(w.county)+"&from=2026-13")
			r.wantStatus(t, "a bad month", http.StatusUnprocessableEntity)
			if !strings.Contains(r.Body, "月份格式应为 2026-01") || !strings.Contains(r.Body, `<label class="bad">起始月份`) {
				t.Errorf("the page does not say what is wrong with which field")
			}
			if !strings.Contains(r.Body, `value="2025-07"`) || len(tables(r.Body)["table-months"]) != 12 {
				t.Errorf("the page does not fall back to the twelve months up to now")
			}
		})

		t.Run("who sees the dashboard", func(t *testing.T) {
			for _, c := range []struct {
				phone string
				see   bool
			}{{countyAdmin, true}, {reviewer, true}, {villageAdmin, true}, {superAdmin, true}, {teamLeader, false}, {volunteer, false}, {resident, false}} {
				b := e.signedIn(t, c.phone)
				home := b.get(t, "/")
				home.wantStatus(t, "home", http.StatusOK)
				if got := strings.Contains(home.Body, `<a href="/reports">`); got != c.see {
					t.Errorf("%s: a link to the reports on the home page: %v, want %v", c.phone, got, c.see)
				}
				if strings.Contains(home.Body, "echarts") {
					t.Errorf("%s: the home page loads ECharts", c.phone)
				}
				r := b.get(t, "/reports")
				if c.see {
					r.wantStatus(t, c.phone+" /reports", http.StatusOK)
				} else {
					r.wantStatus(t, c.phone+" /reports", http.StatusNotFound)
				}
			}
		})

		t.Run("the vendored ECharts is served with its licence", func(t *testing.T) {
			b := e.browser(t)
			r := b.get(t, "/static/vendor/echarts.min.js")
			r.wantStatus(t, "echarts.min.js", http.StatusOK)
			if len(r.Body) < 500_000 || !strings.Contains(r.Body, "echarts") || !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
				t.Errorf("echarts.min.js: %d bytes of %s", len(r.Body), r.Header.Get("Content-Type"))
			}
			if !strings.Contains(r.Header.Get("Cache-Control"), "max-age=") {
				t.Errorf("echarts.min.js is served without a cache lifetime: %q", r.Header.Get("Cache-Control"))
			}
			lic := b.get(t, "/static/vendor/echarts.LICENSE")
			if lic.Status != http.StatusOK || !strings.Contains(lic.Body, "Apache License") || !strings.Contains(lic.Body, "Version 2.0") {
				t.Errorf("echarts.LICENSE is not the Apache License 2.0: %d", lic.Status)
			}
			b.get(t, "/static/reports.js").wantStatus(t, "reports.js", http.StatusOK)
			b.get(t, "/static/reports.css").wantStatus(t, "reports.css", http.StatusOK)
		})
	})
}

// objects is a list answer's items as objects.
func objects(t testing.TB, m map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, x := range listShape(t, m) {
		o, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("a list item is %T, want an object", x)
		}
		out = append(out, o)
	}
	return out
}

// wantRows compares a page table's rows with the API's, cell by cell.
func wantRows(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows on the page, want %d: %q", what, len(got), len(want), got)
		return
	}
	for i := range want {
		if strings.Join(got[i], " | ") != strings.Join(want[i], " | ") {
			t.Errorf("%s row %d: %q, want %q", what, i+1, got[i], want[i])
		}
	}
}
