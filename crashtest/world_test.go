package crashtest

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// The demo logins the tests act as (README): 王润莲 administers 新窑村,
// 马小燕 is the clerk of its points supermarket.
const (
	demoPassword = "jifen2026"
	adminPhone   = "13900000002"
	clerkPhone   = "13900000007"
	buyerPass    = "crash-test-2026"
)

// world is what a test sets up over the API on top of the demo county, in
// 新窑村 with its daily cap of 100 points lifted: an uncapped rule, items
// in 新窑村's supermarket, buyers with passwords, and an activity open
// for check-in.
type world struct {
	hc       *http.Client
	admin    *client
	clerk    *client
	village  int64
	org      int64
	rule     int64
	store    int64
	items    []*item
	activity int64
	buyers   []*buyer
}

type item struct {
	id, points, stock int64
}

type buyer struct {
	n     int
	id    int64
	phone string
	c     *client
}

type idOnly struct {
	ID int64 `json:"id"`
}

var stems, branches = []rune("甲乙丙丁戊己庚辛壬癸"), []rune("子丑寅卯辰巳午未申酉戌亥")

// buyerName is a plausible two-character given name per number.
func buyerName(i int) string {
	return "居民" + string(stems[i%len(stems)]) + string(branches[(i/len(stems))%len(branches)])
}

// setup signs in the demo's admin and clerk on base and builds the world
// with n buyers and the given items.
func setup(t testing.TB, hc *http.Client, base string, n int, items []item) *world {
	t.Helper()
	w := &world{hc: hc}
	w.admin = signIn(t, hc, base, adminPhone, demoPassword)
	w.clerk = signIn(t, hc, base, clerkPhone, demoPassword)

	var me struct {
		Grants []struct {
			Role  string `json:"role"`
			OrgID int64  `json:"org_id"`
		} `json:"grants"`
	}
	w.admin.must(t, http.StatusOK, "GET", "/api/v1/me", nil, "", &me)
	for _, g := range me.Grants {
		if g.Role == "org_admin" {
			w.village = g.OrgID
		}
	}
	if w.village == 0 {
		t.Fatalf("demo admin %s has no org_admin grant: %+v", adminPhone, me)
	}
	// A person registered into a team lives in the team's parent, so the
	// test's people live in 新窑村 itself, whose daily cap is lifted.
	w.org = w.village
	w.admin.must(t, http.StatusOK, "PUT", fmt.Sprintf("/api/v1/orgs/%d/points-settings", w.org),
		map[string]any{"points_to": "person", "daily_cap": 0, "mask_names": true, "public_days": 7, "appeal_days": 7, "expiry": "never"}, "", nil)
	var rule idOnly
	w.admin.must(t, http.StatusCreated, "POST", fmt.Sprintf("/api/v1/orgs/%d/rules", w.org),
		map[string]any{"code": "CT-1", "name": "压测奖励", "category": "civility", "points": 10}, "", &rule)
	w.rule = rule.ID

	var stores struct {
		Items []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	w.clerk.must(t, http.StatusOK, "GET", "/api/v1/stores?manage=true", nil, "", &stores)
	for _, s := range stores.Items {
		if s.Name == "新窑村积分超市" {
			w.store = s.ID
		}
	}
	if w.store == 0 {
		t.Fatalf("the demo clerk runs no 新窑村积分超市: %+v", stores)
	}
	for i, it := range items {
		var out idOnly
		w.admin.must(t, http.StatusCreated, "POST", fmt.Sprintf("/api/v1/stores/%d/items", w.store),
			map[string]any{"name": fmt.Sprintf("压测商品%d", i+1), "points": it.points, "stock": it.stock}, "", &out)
		w.items = append(w.items, &item{id: out.ID, points: it.points, stock: it.stock})
	}

	for i := range n {
		b := &buyer{n: i, phone: fmt.Sprintf("1380000%04d", i)}
		var p idOnly
		w.admin.must(t, http.StatusCreated, "POST", "/api/v1/people", map[string]any{"name": buyerName(i), "gender": []string{"male", "female"}[i%2],
			"birth_date": fmt.Sprintf("%d-03-15", 1950+i%50), "phone": b.phone, "password": buyerPass, "org_id": w.org}, "", &p)
		b.id = p.ID
		b.c = signIn(t, hc, base, b.phone, buyerPass)
		w.buyers = append(w.buyers, b)
	}
	return w
}

// openActivity publishes an activity of the test's team whose check-in is
// open now (it opens 30 minutes before the start) and signs every buyer up.
func (w *world) openActivity(t testing.TB) {
	t.Helper()
	now := time.Now()
	var act idOnly
	w.admin.must(t, http.StatusCreated, "POST", "/api/v1/activities", map[string]any{"org_id": w.org, "title": "压测签到活动", "category": "社区服务",
		"starts_at": now.Add(20 * time.Minute).Format(time.RFC3339), "ends_at": now.Add(8 * time.Hour).Format(time.RFC3339),
		"location": map[string]any{"address": "新窑村文化广场"}}, "", &act)
	w.activity = act.ID
	w.admin.must(t, http.StatusOK, "POST", fmt.Sprintf("/api/v1/activities/%d/publish", w.activity), nil, "", nil)
	for _, b := range w.buyers {
		b.c.must(t, http.StatusCreated, "POST", fmt.Sprintf("/api/v1/activities/%d/signups", w.activity), map[string]any{}, "", nil)
	}
}

// points reads a person's balance and score as the admin sees them.
func (w *world) points(t testing.TB, c *client, person int64) (balance, score int64) {
	t.Helper()
	var s struct {
		Balance int64 `json:"balance"`
		Score   int64 `json:"score"`
	}
	c.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/people/%d/points", person), nil, "", &s)
	return s.Balance, s.Score
}

// stock reads an item's stock as its store's admin sees it.
func (w *world) stock(t testing.TB, c *client, it *item) int64 {
	t.Helper()
	var out struct {
		Stock *int64 `json:"stock"`
	}
	c.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/stores/%d/items/%d", w.store, it.id), nil, "", &out)
	if out.Stock == nil {
		t.Fatalf("item %d has unlimited stock", it.id)
	}
	return *out.Stock
}

// rebase points every client at another server (the same database).
func (w *world) rebase(base string) {
	w.admin.base, w.clerk.base = base, base
	for _, b := range w.buyers {
		b.c.base = base
	}
}
