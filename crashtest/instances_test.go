package crashtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// TestTwoInstances runs two `jifen serve` processes on one PostgreSQL
// database, started at the same moment on an empty schema (the migration
// lock), as behind a load balancer, and checks that they behave as one:
// a session, a pay code and a check-in code made on one work on the
// other; sign-in failures and wrong pay codes count across both (and a
// retried sale still answers the sale); awards split over both, and
// the same Idempotency-Key sent to both at once, have one effect each;
// many buyers racing for a popular item through both never oversell it,
// and concurrent orders through both never overdraw anyone; `jifen
// verify` passes while both run and after.
func TestTwoInstances(t *testing.T) {
	newDeployment, ok := deployments(t)["postgres"]
	if !ok {
		t.Skip("several instances need PostgreSQL: set JIFEN_TEST_POSTGRES")
	}
	began := time.Now()
	d := newDeployment(t)
	d.secretByEnv = true
	a := d.launch(t, freeAddr(t), true)
	b := d.launch(t, freeAddr(t), false)
	a.ready(t)
	b.ready(t)
	t.Logf("two instances on one schema, serving after %s", time.Since(began).Round(time.Millisecond))

	const buyers, popularStock, popularPoints, orderPoints = 24, 10, 20, 10
	hc := newHTTP()
	w := setup(t, hc, a.url, buyers, []item{{points: popularPoints, stock: popularStock}, {points: orderPoints, stock: 100000}})
	popular, cheap := w.items[0], w.items[1]
	on := func(c *client, s *server) *client { return c.with(s.url) }
	inst := []*server{a, b}
	t.Logf("set up %d buyers after %s", buyers, time.Since(began).Round(time.Millisecond))

	t.Run("a session made on A works on B, and signing out on A ends it on B", func(t *testing.T) {
		var me idOnly
		on(w.admin, b).must(t, http.StatusOK, "GET", "/api/v1/me", nil, "", &me)
		if me.ID == 0 {
			t.Fatal("no person behind A's session on B")
		}
		c := signIn(t, hc, b.url, adminPhone, demoPassword)
		on(c, a).must(t, http.StatusOK, "GET", "/api/v1/me", nil, "", nil)
		on(c, a).must(t, http.StatusNoContent, "DELETE", "/api/v1/sessions", nil, "", nil)
		if r := on(c, b).do("GET", "/api/v1/me", nil, ""); r.status != http.StatusUnauthorized {
			t.Fatalf("B after signing out on A: %s", r)
		}
	})

	t.Run("sign-in failures on A and B count together", func(t *testing.T) {
		phone := w.buyers[buyers-1].phone
		for i, s := range []*server{a, a, a, b, b} {
			c := &client{base: s.url, hc: hc}
			if r := c.do("POST", "/api/v1/sessions", map[string]string{"phone": phone, "password": "wrong-password"}, ""); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %s", i+1, r)
			}
		}
		// Five failures across the two: the right password is now refused
		// on both, as it would be on one.
		for _, s := range inst {
			c := &client{base: s.url, hc: hc}
			if r := c.do("POST", "/api/v1/sessions", map[string]string{"phone": phone, "password": buyerPass}, ""); r.status != http.StatusTooManyRequests || r.code() != "too_many_attempts" {
				t.Fatalf("right password after 5 failures split over A and B, on %s: %s", s.url, r)
			}
		}
	})

	t.Run("a check-in code shown by A is accepted by B", func(t *testing.T) {
		w.openActivity(t)
		var code struct {
			Code string `json:"code"`
		}
		on(w.admin, a).must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/activities/%d/checkin-code", w.activity), nil, "", &code)
		on(w.buyers[0].c, b).must(t, http.StatusCreated, "POST", fmt.Sprintf("/api/v1/activities/%d/checkins", w.activity), map[string]string{"code": code.Code}, "", nil)
	})

	// Awards: four per buyer with their own keys, alternating instances,
	// all buyers at once; and a fifth sent with one key to both at once.
	// Each buyer ends with 50 points.
	type answer struct {
		r   reply
		key string
	}
	var mu sync.Mutex
	var answers []answer
	twin := map[string][2]reply{}
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for _, by := range w.buyers {
		body := map[string]any{"person_id": by.id, "rule_id": w.rule, "quantity": 1}
		for k := range 4 {
			wg.Go(func() {
				<-gate
				key := fmt.Sprintf("two-award-%d-%d", by.n, k)
				r := on(w.admin, inst[k%2]).do("POST", "/api/v1/awards", body, key)
				mu.Lock()
				answers = append(answers, answer{r, key})
				mu.Unlock()
			})
		}
		key := fmt.Sprintf("two-award-%d-both", by.n)
		var pair [2]reply
		var pw sync.WaitGroup
		for i, s := range inst {
			pw.Go(func() {
				<-gate
				pair[i] = on(w.admin, s).do("POST", "/api/v1/awards", body, key)
			})
		}
		wg.Go(func() {
			pw.Wait()
			mu.Lock()
			twin[key] = pair
			mu.Unlock()
		})
	}
	close(gate)
	wg.Wait()
	for _, x := range answers {
		if x.r.status != http.StatusCreated {
			t.Errorf("award %s: %s", x.key, x.r)
		}
	}
	for key, pair := range twin {
		var ids [2]idOnly
		for i, r := range pair {
			if r.status != http.StatusCreated {
				t.Errorf("award %s sent to both at once, on %s: %s", key, inst[i].url, r)
			}
			json.Unmarshal(r.body, &ids[i])
		}
		if ids[0].ID == 0 || ids[0] != ids[1] {
			t.Errorf("award %s sent to both at once answered ids %d and %d", key, ids[0].ID, ids[1].ID)
		}
	}
	raw := d.raw(t)
	defer raw.close()
	for _, by := range w.buyers {
		if bal, _ := w.points(t, on(w.admin, inst[by.n%2]), by.id); bal != 50 {
			t.Errorf("%s has %d points after 5 awards of 10, one sent to both instances", by.phone, bal)
		}
		if n := raw.int(t, "SELECT COUNT(*) FROM awards WHERE person_id = ?", by.id); n != 5 {
			t.Errorf("%s has %d awards, want 5", by.phone, n)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The counter: every buyer's phone takes a pay code from one instance
	// and the clerk rings the popular item up on the other, all at once;
	// every third sale is sent to both instances with one key.
	type sale struct {
		by      *buyer
		body    map[string]any
		replies []reply
	}
	sales := make([]*sale, len(w.buyers))
	gate2 := make(chan struct{})
	for i, by := range w.buyers {
		var pc struct {
			Code string `json:"code"`
		}
		on(by.c, inst[i%2]).must(t, http.StatusOK, "GET", "/api/v1/me/paycode", nil, "", &pc)
		body := map[string]any{"store_id": w.store, "paycode": pc.Code, "lines": []map[string]int64{{"item_id": popular.id, "quantity": 1}}}
		sales[i] = &sale{by: by, body: body}
		targets := []*server{inst[(i+1)%2]}
		if i%3 == 0 {
			targets = inst
		}
		sales[i].replies = make([]reply, len(targets))
		for j, s := range targets {
			wg.Go(func() {
				<-gate2
				sales[i].replies[j] = on(w.clerk, s).do("POST", "/api/v1/redemptions", body, fmt.Sprintf("two-sale-%d", i))
			})
		}
	}
	close(gate2)
	wg.Wait()
	sold := 0
	for _, s := range sales {
		var ids []int64
		codes := map[string]bool{}
		for _, r := range s.replies {
			switch {
			case r.status == http.StatusCreated:
				var out idOnly
				json.Unmarshal(r.body, &out)
				ids = append(ids, out.ID)
			case r.status == http.StatusConflict && r.code() == "out_of_stock":
				codes[r.code()] = true
			default:
				t.Errorf("sale to %s: %s", s.by.phone, r)
			}
		}
		if len(ids) > 0 && len(codes) > 0 {
			t.Errorf("one sale to %s (one key on both instances) answered both a sale %v and out of stock", s.by.phone, ids)
		}
		for _, id := range ids[min(1, len(ids)):] {
			if id != ids[0] {
				t.Errorf("one sale to %s (one key on both instances) answered two sales: %v", s.by.phone, ids)
			}
		}
		if len(ids) > 0 {
			sold++
		}
	}
	if sold != popularStock {
		t.Errorf("%d buyers raced for %d in stock: %d sales answered, want %d", buyers, popularStock, sold, popularStock)
	}
	if got := w.stock(t, on(w.admin, b), popular); got != 0 {
		t.Errorf("the popular item has %d in stock after the race, want 0", got)
	}
	if n := raw.int(t, "SELECT COALESCE(SUM(l.quantity), 0) FROM redemption_lines l JOIN redemptions r ON r.id = l.redemption_id WHERE l.item_id = ? AND r.status = 'completed'", popular.id); n != popularStock {
		t.Errorf("%d of the popular item sold in the database, want %d (its stock)", n, popularStock)
	}
	if n := raw.int(t, "SELECT COUNT(*) FROM stock_movements WHERE item_id = ? AND stock_after < 0", popular.id); n != 0 {
		t.Errorf("%d stock movements of the popular item left negative stock", n)
	}
	for i := range w.buyers {
		if n := raw.int(t, "SELECT COUNT(*) FROM redemptions WHERE idem_key = ?", fmt.Sprintf("two-sale-%d", i)); n > 1 {
			t.Errorf("sale key two-sale-%d took effect %d times", i, n)
		}
	}

	// Pick-up orders: every buyer orders more than they can pay for, six
	// orders at once split over both instances (the last one's key sent to
	// both). A winner of the race has 30 points left, a loser 50: exactly
	// 3 or 5 orders go through and everyone ends at zero.
	type orders struct {
		by      *buyer
		replies []reply
		keys    []string
	}
	all := make([]*orders, len(w.buyers))
	gate3 := make(chan struct{})
	for i, by := range w.buyers {
		o := &orders{by: by}
		all[i] = o
		body := map[string]any{"store_id": w.store, "lines": []map[string]int64{{"item_id": cheap.id, "quantity": 1}}}
		for k := range 6 {
			key := fmt.Sprintf("two-order-%d-%d", i, k)
			targets := []*server{inst[k%2]}
			if k == 5 {
				targets = inst
			}
			for _, s := range targets {
				o.keys = append(o.keys, key)
				o.replies = append(o.replies, reply{})
				j := len(o.replies) - 1
				wg.Go(func() {
					<-gate3
					o.replies[j] = on(by.c, s).do("POST", "/api/v1/redemptions", body, key)
				})
			}
		}
	}
	close(gate3)
	wg.Wait()
	for _, o := range all {
		ok := map[string]int64{}
		for j, r := range o.replies {
			switch {
			case r.status == http.StatusCreated:
				var out idOnly
				json.Unmarshal(r.body, &out)
				if first, seen := ok[o.keys[j]]; seen && first != out.ID {
					t.Errorf("order %s on both instances answered %d and %d", o.keys[j], first, out.ID)
				}
				ok[o.keys[j]] = out.ID
			case r.status == http.StatusConflict && r.code() == "insufficient_points":
			default:
				t.Errorf("order %s of %s: %s", o.keys[j], o.by.phone, r)
			}
		}
		bal, _ := w.points(t, w.admin, o.by.id)
		want := 50
		if n := raw.int(t, "SELECT COUNT(*) FROM redemptions WHERE person_id = ? AND idem_key LIKE 'two-sale-%'", o.by.id); n > 0 {
			want -= popularPoints
		}
		if bal != 0 || len(ok) != want/orderPoints {
			t.Errorf("%s: %d orders of %d points went through, balance %d; want %d and 0", o.by.phone, len(ok), orderPoints, bal, want/orderPoints)
		}
		if n := raw.int(t, "SELECT COUNT(*) FROM redemptions WHERE person_id = ? AND idem_key LIKE 'two-order-%'", o.by.id); n != int64(len(ok)) {
			t.Errorf("%s: %d orders in the database, %d answered", o.by.phone, n, len(ok))
		}
	}
	if n := raw.int(t, "SELECT COUNT(*) FROM accounts WHERE kind <> 'issuance' AND balance < 0"); n != 0 {
		t.Errorf("%d accounts below zero", n)
	}

	t.Run("wrong pay codes on A and B count together, and a retried sale still answers the sale", func(t *testing.T) {
		first, key := -1, ""
		for i, s := range sales {
			if s.replies[0].status == http.StatusCreated {
				first, key = i, fmt.Sprintf("two-sale-%d", i)
				break
			}
		}
		if first < 0 {
			t.Fatal("no sale went through")
		}
		var want idOnly
		json.Unmarshal(sales[first].replies[0].body, &want)
		lines := []map[string]int64{{"item_id": cheap.id, "quantity": 1}}
		for k := range 10 {
			r := on(w.clerk, inst[k%2]).do("POST", "/api/v1/redemptions", map[string]any{"store_id": w.store, "paycode": fmt.Sprintf("9%017d", k+1), "lines": lines},
				fmt.Sprintf("two-wrong-%d", k))
			if r.code() != "invalid_paycode" {
				t.Fatalf("wrong pay code %d: %s", k+1, r)
			}
		}
		for _, s := range inst {
			r := on(w.clerk, s).do("POST", "/api/v1/redemptions", map[string]any{"store_id": w.store, "paycode": "900000000000000099", "lines": lines}, "two-wrong-more")
			if r.status != http.StatusTooManyRequests || r.code() != "too_many_attempts" {
				t.Fatalf("a wrong pay code after 10 split over A and B, on %s: %s", s.url, r)
			}
		}
		// The network lost the answer to a sale that went through; the
		// counter retries it with its key.
		r := on(w.clerk, b).do("POST", "/api/v1/redemptions", sales[first].body, key)
		var got idOnly
		json.Unmarshal(r.body, &got)
		if r.status == http.StatusTooManyRequests {
			msg := "fixed bug came back: sqldb/redemption.go Redeem checks the counter's throttles before the Idempotency-Key, so once a clerk has 10 wrong pay codes " +
				"a retry of a sale that went through answers 429 too_many_attempts instead of the sale"
			t.Fatal(msg)
		}
		if r.status != http.StatusCreated || got.ID != want.ID {
			t.Fatalf("retry of sale %s (id %d) while the clerk is throttled: %s", key, want.ID, r)
		}
	})

	// The ledger checks out while both instances run (their sealers share
	// the work through the advisory lock) and after they stop.
	d.verify(t)
	a.stop()
	b.stop()
	out := d.verify(t)
	t.Logf("two instances: done in %s; %s", time.Since(began).Round(time.Millisecond), firstLine(out))
	if os.Getenv("JIFEN_TEST_KEEP") != "" {
		t.Logf("kept: %s", d.db)
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
