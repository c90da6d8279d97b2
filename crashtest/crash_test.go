package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCrashSafety puts write load on `jifen serve` over the API (awards,
// counter sales with pay codes, some refunded, pick-up orders fetched or
// cancelled, sign-ins, check-ins and check-outs), kills the process with
// SIGKILL at a random moment, and checks the database it leaves behind
// before and after a restart:
//
//   - every write a client got a 2xx for is there (by id, in the state the
//     answer said);
//   - nothing is half there: each sale has its lines, its ledger
//     transaction and its stock movements, each cancelled order and
//     refunded sale its give-back, each item's stock is the sum of its
//     movements;
//   - replaying an unanswered request's Idempotency-Key returns the first
//     effect or makes exactly one, and replaying an answered one returns
//     the same id;
//   - balances, scores and stock equal the sum of what the clients know
//     took effect;
//   - `jifen verify`, run as the binary, passes after every round.
//
// JIFEN_CRASH_ROUNDS sets the number of kills (default 3; 50 for a soak).
func TestCrashSafety(t *testing.T) {
	rounds := 3
	if v := os.Getenv("JIFEN_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("JIFEN_CRASH_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	for name, newDeployment := range deployments(t) {
		t.Run(name, func(t *testing.T) {
			began := time.Now()
			d := newDeployment(t)
			addr := freeAddr(t)
			srv := d.start(t, addr, true)
			t.Logf("%s: demo loaded and serving after %s", name, time.Since(began).Round(time.Millisecond))
			hc := newHTTP()
			w := setup(t, hc, srv.url, 6, []item{{points: 5, stock: 100000}, {points: 12, stock: 100000}})
			w.openActivity(t)
			l := newLoad(t, w)
			// Opening balances go through the same path as the load, so
			// they are counted like any other award.
			for _, b := range w.buyers {
				o := l.award(b, 50, 0)
				if o.state != acked {
					t.Fatalf("opening award for %s: %s %s", b.phone, o.state, o.answer)
				}
			}
			d.verify(t)
			t.Logf("%s: set up in %s", name, time.Since(began).Round(time.Millisecond))

			for round := 1; round <= rounds; round++ {
				ctx, stop := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					l.run(ctx, round)
					close(done)
				}()
				// The kill lands anywhere from the first requests to a few
				// seconds in: mid-transaction, mid-commit, mid-seal.
				after := time.Duration(200+rand.IntN(2800)) * time.Millisecond
				time.Sleep(after)
				// Clients stop sending first, so the unanswered writes are
				// those in flight at the kill, not a burst sent to a dead port.
				stop()
				srv.kill()
				<-done
				hc.CloseIdleConnections()

				raw := d.raw(t)
				l.checkDisk(t, raw, round)
				raw.close()
				d.verify(t)

				srv = d.start(t, addr, false)
				l.resolve(t, round)
				raw = d.raw(t)
				l.checkCount(t, raw)
				raw.close()
				l.checkTotals(t, round)
				t.Logf("%s round %d, killed after %s: %s", name, round, after, l.summary(round))
				if t.Failed() {
					break
				}
			}
			srv.stop()
			d.verify(t)
			l.mu.Lock()
			t.Logf("%s: %d rounds in %s; %d keyed writes (%d answered, %d unanswered and replayed), %d check-ins/outs and %d sign-ins answered",
				name, rounds, time.Since(began).Round(time.Millisecond), len(l.ops), l.totals[acked], l.totals[uncertain],
				l.presences, l.signIns)
			l.mu.Unlock()
		})
	}
}

// state is what a client knows of one keyed write.
type state int

const (
	acked     state = iota + 1 // a 2xx came back
	uncertain                  // sent, no answer (or a 5xx)
	refused                    // a 4xx came back: it did not happen
	committed                  // unanswered, then its replay answered 2xx
	absent                     // unanswered, then its replay was refused: it never happened
)

func (s state) String() string {
	return map[state]string{acked: "acked", uncertain: "uncertain", refused: "refused", committed: "committed", absent: "absent"}[s]
}

// took reports whether the write took effect.
func (s state) took() bool { return s == acked || s == committed }

// op is one write sent with an Idempotency-Key: an award, a counter sale
// or a pick-up order.
type op struct {
	kind   string // award, sale, order
	key    string
	by     *client
	byID   int64
	body   map[string]any
	buyer  *buyer
	points int64 // what the write does to the buyer's balance while it stands
	lines  map[int64]int64
	round  int

	state   state
	refusal string
	answer  string // the refusal as it came, for the log
	id      int64
	// status is a redemption's status as last known; want is a status a
	// transition was sent for without an answer.
	status string
	want   string
	// atKill: an unanswered write was found in the database the killed
	// server left (its id in id), so its replay must answer that id.
	atKill bool
}

func (o *op) path() string {
	if o.kind == "award" {
		return "/api/v1/awards"
	}
	return "/api/v1/redemptions"
}

func (o *op) table() string {
	if o.kind == "award" {
		return "awards"
	}
	return "redemptions"
}

// presence is what a buyer's client knows of their check-ins.
type presence struct {
	state string  // in, out, or ? after an unanswered request
	ins   []int64 // attendance opened by an answered check-in
	outs  []int64 // attendance closed by an answered check-out
	maybe int     // check-ins sent without an answer
}

// load drives the world's clients and remembers every write they sent.
type load struct {
	t            *testing.T
	w            *world
	mu           sync.Mutex
	ops          []*op
	seq          int
	pres         map[*buyer]*presence
	presences    int
	totals       map[state]int
	refusals     map[string]int
	serverErrors []string
	code         string
	codeAt       time.Time
	adminID      int64
	clerkID      int64
	// sessions are tokens of answered sign-ins, by buyer, not yet
	// checked after a restart.
	sessions map[string]*buyer
	signIns  int
}

func newLoad(t *testing.T, w *world) *load {
	l := &load{t: t, w: w, pres: map[*buyer]*presence{}, totals: map[state]int{}, refusals: map[string]int{}, sessions: map[string]*buyer{}}
	for _, b := range w.buyers {
		l.pres[b] = &presence{state: "out"}
	}
	l.adminID, l.clerkID = personOf(t, w.admin), personOf(t, w.clerk)
	return l
}

func personOf(t testing.TB, c *client) int64 {
	var me idOnly
	c.must(t, http.StatusOK, "GET", "/api/v1/me", nil, "", &me)
	return me.ID
}

// run sends load until ctx ends: one client per buyer doing one thing
// after another as a person at the counter would, and two admins'
// clients awarding at random.
func (l *load) run(ctx context.Context, round int) {
	var wg sync.WaitGroup
	for _, b := range l.w.buyers {
		wg.Go(func() {
			for ctx.Err() == nil {
				switch n := rand.IntN(50); {
				case n == 0:
					l.signIn(b)
				case n < 20:
					l.sale(ctx, b, round)
				case n < 30:
					l.order(ctx, b, round)
				default:
					l.toggle(ctx, b)
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				l.award(l.w.buyers[rand.IntN(len(l.w.buyers))], int64(1+rand.IntN(5)), round)
			}
		})
	}
	wg.Wait()
}

func (l *load) newKey(kind string, round int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	return fmt.Sprintf("ct-%s-r%d-%d", kind, round, l.seq)
}

// send posts a keyed write and records what came back.
func (l *load) send(o *op) reply {
	l.mu.Lock()
	l.ops = append(l.ops, o)
	l.mu.Unlock()
	r := o.by.do("POST", o.path(), o.body, o.key)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case r.ok():
		o.state = acked
		l.took(o, r)
	case r.uncertain():
		o.state = uncertain
		if r.err == nil {
			l.serverErrors = append(l.serverErrors, fmt.Sprintf("%s %s: %s", o.kind, o.key, r))
		}
	default:
		o.state, o.refusal, o.answer = refused, r.code(), r.String()
		l.refusals[o.kind+":"+o.refusal]++
	}
	l.totals[o.state]++
	return r
}

// took reads the id and status of a write that took effect and checks
// the answer against the request.
func (l *load) took(o *op, r reply) {
	var out struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Points int64  `json:"points"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || out.ID == 0 {
		l.t.Errorf("%s %s answered %s", o.kind, o.key, r)
		return
	}
	o.id, o.status = out.ID, out.Status
	if want := map[string]string{"award": "posted", "sale": "completed", "order": "held"}[o.kind]; out.Status != want {
		l.t.Errorf("%s %s: status %q, want %q", o.kind, o.key, out.Status, want)
	}
	if abs(out.Points) != abs(o.points) {
		l.t.Errorf("%s %s: %d points, want %d", o.kind, o.key, out.Points, abs(o.points))
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// award gives a buyer quantity × 10 points as the village's admin.
func (l *load) award(b *buyer, quantity int64, round int) *op {
	o := &op{kind: "award", key: l.newKey("award", round), by: l.w.admin, byID: l.adminID, buyer: b, points: 10 * quantity, round: round,
		body: map[string]any{"person_id": b.id, "rule_id": l.w.rule, "quantity": quantity, "note": "压测"}}
	l.send(o)
	return o
}

// basket is one or two of the world's items, one to three of each.
func (l *load) basket() (map[int64]int64, []map[string]int64, int64) {
	lines := map[int64]int64{}
	var total int64
	for _, it := range l.w.items {
		if len(lines) == 0 || rand.IntN(2) == 0 {
			q := int64(1 + rand.IntN(3))
			lines[it.id] = q
			total += q * it.points
		}
	}
	var body []map[string]int64
	for _, id := range slices.Sorted(maps.Keys(lines)) {
		body = append(body, map[string]int64{"item_id": id, "quantity": lines[id]})
	}
	return lines, body, total
}

// sale is a counter sale: the buyer's phone shows a pay code, the clerk
// rings it up.
func (l *load) sale(ctx context.Context, b *buyer, round int) {
	r := b.c.do("GET", "/api/v1/me/paycode", nil, "")
	if !r.ok() || ctx.Err() != nil {
		return
	}
	var pc struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(r.body, &pc) != nil {
		return
	}
	lines, body, total := l.basket()
	o := &op{kind: "sale", key: l.newKey("sale", round), by: l.w.clerk, byID: l.clerkID, buyer: b, points: -total, lines: lines, round: round,
		body: map[string]any{"store_id": l.w.store, "paycode": pc.Code, "lines": body}}
	// Now and then the goods come back: a refund gives points and stock
	// back in one more transaction.
	if l.send(o).ok() && rand.IntN(6) == 0 && ctx.Err() == nil {
		l.transition(o, l.w.clerk, "refund", map[string]string{"reason": "压测退货"}, "refunded")
	}
}

// order is a pick-up order the buyer places, then fetches at the counter
// or cancels, or leaves waiting.
func (l *load) order(ctx context.Context, b *buyer, round int) {
	lines, body, total := l.basket()
	o := &op{kind: "order", key: l.newKey("order", round), by: b.c, byID: b.id, buyer: b, points: -total, lines: lines, round: round,
		body: map[string]any{"store_id": l.w.store, "lines": body}}
	if !l.send(o).ok() || ctx.Err() != nil {
		return
	}
	switch rand.IntN(3) {
	case 0:
		var red struct {
			PickupCode string `json:"pickup_code"`
		}
		r := b.c.do("GET", fmt.Sprintf("/api/v1/redemptions/%d", o.id), nil, "")
		if !r.ok() || json.Unmarshal(r.body, &red) != nil || ctx.Err() != nil {
			return
		}
		l.transition(o, l.w.clerk, "fulfil", map[string]string{"code": red.PickupCode}, "completed")
	case 1:
		l.transition(o, b.c, "cancel", nil, "cancelled")
	}
}

func (l *load) transition(o *op, c *client, action string, body any, want string) {
	l.mu.Lock()
	o.want = want
	l.mu.Unlock()
	r := c.do("POST", fmt.Sprintf("/api/v1/redemptions/%d/%s", o.id, action), body, "")
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case r.ok():
		o.status, o.want = want, ""
	case r.uncertain():
		if r.err == nil {
			l.serverErrors = append(l.serverErrors, fmt.Sprintf("%s %d: %s", action, o.id, r))
		}
	default:
		o.want = ""
		l.t.Errorf("%s of %s %d (%s) refused: %s", action, o.kind, o.id, o.key, r)
	}
}

// signIn opens another session for the buyer, as a second phone would.
func (l *load) signIn(b *buyer) {
	r := (&client{base: b.c.base, hc: b.c.hc}).do("POST", "/api/v1/sessions", map[string]string{"phone": b.phone, "password": buyerPass}, "")
	var s struct {
		Token string `json:"token"`
	}
	if r.ok() && json.Unmarshal(r.body, &s) == nil && s.Token != "" {
		l.mu.Lock()
		l.sessions[s.Token] = b
		l.signIns++
		l.mu.Unlock()
	} else if !r.uncertain() {
		l.t.Errorf("sign-in of %s: %s", b.phone, r)
	}
}

// checkinCode is the code on the activity's screen, fetched by its
// leader; a code is good for its 30 seconds and the 30 before.
func (l *load) checkinCode() string {
	l.mu.Lock()
	code, at := l.code, l.codeAt
	l.mu.Unlock()
	if code != "" && time.Since(at) < 15*time.Second {
		return code
	}
	r := l.w.admin.do("GET", fmt.Sprintf("/api/v1/activities/%d/checkin-code", l.w.activity), nil, "")
	var out struct {
		Code string `json:"code"`
	}
	if !r.ok() || json.Unmarshal(r.body, &out) != nil {
		return ""
	}
	l.mu.Lock()
	l.code, l.codeAt = out.Code, time.Now()
	l.mu.Unlock()
	return out.Code
}

// toggle checks the buyer in, or out when they are in.
func (l *load) toggle(ctx context.Context, b *buyer) {
	code := l.checkinCode()
	if code == "" || ctx.Err() != nil {
		return
	}
	l.mu.Lock()
	p := l.pres[b]
	out := p.state == "in"
	l.mu.Unlock()
	path := "checkins"
	if out {
		path = "checkouts"
	}
	r := b.c.do("POST", fmt.Sprintf("/api/v1/activities/%d/%s", l.w.activity, path), map[string]string{"code": code}, "")
	var att struct {
		ID      int64      `json:"id"`
		EndedAt *time.Time `json:"ended_at"`
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case r.ok() && json.Unmarshal(r.body, &att) == nil && att.ID != 0:
		l.presences++
		if out {
			if att.EndedAt == nil {
				l.t.Errorf("check-out of %s answered an open interval: %s", b.phone, r)
			}
			p.outs, p.state = append(p.outs, att.ID), "out"
		} else {
			p.ins, p.state = append(p.ins, att.ID), "in"
		}
	case r.uncertain():
		p.state = "?"
		if !out {
			p.maybe++
		}
		if r.err == nil {
			l.serverErrors = append(l.serverErrors, fmt.Sprintf("%s of %s: %s", path, b.phone, r))
		}
	case r.code() == "already_checked_in":
		p.state = "in"
	case r.code() == "not_checked_in":
		p.state = "out"
	case r.code() == "bad_code":
		l.code = "" // the screen has moved on
	default:
		l.t.Errorf("%s of %s: %s", path, b.phone, r)
	}
}

// checkDisk looks at the database the killed server left, before anything
// opens it through jifen again.
func (l *load) checkDisk(t *testing.T, raw *rawDB, round int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Nothing half there, whoever wrote it.
	for _, c := range []struct{ what, q string }{
		{"sales or orders without their ledger transaction", "SELECT id FROM redemptions WHERE tx_id IS NULL"},
		{"sales or orders whose transaction does not take their points from the buyer",
			`SELECT r.id FROM redemptions r WHERE (SELECT COALESCE(SUM(p.amount), 0) FROM postings p WHERE p.tx_id = r.tx_id AND p.account_id = r.account_id) <> -r.points`},
		{"sales or orders whose lines do not add up to their points",
			"SELECT r.id FROM redemptions r WHERE r.points <> (SELECT COALESCE(SUM(l.quantity * l.points), 0) FROM redemption_lines l WHERE l.redemption_id = r.id)"},
		{"sales or orders of stocked items without their stock movement",
			`SELECT l.redemption_id FROM redemption_lines l JOIN items i ON i.id = l.item_id WHERE i.stock IS NOT NULL AND
			(SELECT COALESCE(SUM(m.delta), 0) FROM stock_movements m WHERE m.redemption_id = l.redemption_id AND m.item_id = l.item_id AND m.kind IN ('sale', 'order')) <> -l.quantity`},
		{"cancelled, released or refunded sales without the points given back",
			`SELECT r.id FROM redemptions r WHERE r.status IN ('cancelled', 'released', 'refunded') AND (r.refund_tx_id IS NULL OR
			(SELECT COALESCE(SUM(p.amount), 0) FROM postings p WHERE p.tx_id = r.refund_tx_id AND p.account_id = r.account_id) <> r.points)`},
		{"cancelled, released or refunded sales without the stock given back",
			`SELECT l.redemption_id FROM redemption_lines l JOIN redemptions r ON r.id = l.redemption_id JOIN items i ON i.id = l.item_id
			WHERE r.status IN ('cancelled', 'released', 'refunded') AND i.stock IS NOT NULL AND
			(SELECT COALESCE(SUM(m.delta), 0) FROM stock_movements m WHERE m.redemption_id = l.redemption_id AND m.item_id = l.item_id AND m.kind IN ('cancel', 'release', 'refund')) <> l.quantity`},
		{"standing sales or orders with a give-back", "SELECT id FROM redemptions WHERE status IN ('completed', 'held', 'confirming') AND refund_tx_id IS NOT NULL"},
		{"items whose stock is not the sum of their movements",
			"SELECT i.id FROM items i WHERE i.stock IS NOT NULL AND i.stock <> (SELECT COALESCE(SUM(m.delta), 0) FROM stock_movements m WHERE m.item_id = i.id)"},
		{"items with negative stock", "SELECT id FROM items WHERE stock < 0"},
		{"stock movements leaving negative stock", "SELECT id FROM stock_movements WHERE stock_after < 0"},
		{"posted awards of the test whose transaction does not credit them",
			`SELECT a.id FROM awards a WHERE a.idem_key LIKE 'ct-%' AND a.status = 'posted' AND (a.tx_id IS NULL OR
			(SELECT COALESCE(SUM(p.amount), 0) FROM postings p WHERE p.tx_id = a.tx_id AND p.account_id = a.account_id) <> a.points)`},
		{"ledger transactions that do not sum to zero", "SELECT tx_id FROM postings GROUP BY tx_id HAVING SUM(amount) <> 0"},
		{"ledger transactions without postings", "SELECT t.id FROM ledger_transactions t WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.tx_id = t.id)"},
		{"spendable accounts below zero", "SELECT id FROM accounts WHERE kind <> 'issuance' AND balance < 0"},
		{"people checked in twice at once", "SELECT person_id FROM attendance WHERE ended_at IS NULL GROUP BY activity_id, person_id HAVING COUNT(*) > 1"},
	} {
		if ids := raw.ints(t, c.q); len(ids) > 0 {
			t.Errorf("round %d, after the kill: %s: %v", round, c.what, ids)
		}
	}
	// What the clients were told is there.
	rows := l.keyedRows(t, raw)
	for _, o := range l.ops {
		row, there := rows[o.kind+" "+o.key]
		switch o.state {
		case acked:
			if !there || row.id != o.id || row.by != o.byID {
				t.Errorf("round %d: %s %s was answered with id %d but is not in the database after the kill (found %+v)", round, o.kind, o.key, o.id, row)
				continue
			}
			if o.kind != "award" && o.want == "" && row.status != o.status {
				t.Errorf("round %d: %s %d is %s after the kill, was answered %s", round, o.kind, o.id, row.status, o.status)
			}
			if o.kind != "award" && o.want != "" && row.status != o.status && row.status != o.want {
				t.Errorf("round %d: %s %d is %s after the kill: neither %s nor %s", round, o.kind, o.id, row.status, o.status, o.want)
			}
		case uncertain:
			if there {
				o.id, o.atKill = row.id, true
			}
		case refused, absent:
			if there {
				t.Errorf("round %d: %s %s was refused (%s) but is in the database as %d", round, o.kind, o.key, o.refusal, row.id)
			}
		}
	}
	for b, p := range l.pres {
		var ids []int64
		open := map[int64]bool{}
		rows, err := raw.db.Query(raw.rebind("SELECT id, ended_at IS NULL FROM attendance WHERE activity_id = ? AND person_id = ?"), l.w.activity, b.id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var o bool
			if err := rows.Scan(&id, &o); err != nil {
				t.Fatal(err)
			}
			ids, open[id] = append(ids, id), o
		}
		rows.Close()
		for _, id := range p.ins {
			if !slices.Contains(ids, id) {
				t.Errorf("round %d: %s's answered check-in %d is gone after the kill", round, b.phone, id)
			}
		}
		for _, id := range p.outs {
			if !slices.Contains(ids, id) || open[id] {
				t.Errorf("round %d: %s's answered check-out of %d is not in the database after the kill", round, b.phone, id)
			}
		}
		if len(ids) > len(p.ins)+p.maybe {
			t.Errorf("round %d: %s has %d attendance intervals, but only %d check-ins were answered and %d unanswered", round, b.phone, len(ids), len(p.ins), p.maybe)
		}
	}
}

// keyedRow is a write of the load as the database has it.
type keyedRow struct {
	id, person, by int64
	status         string
}

// keyedRows reads every award and redemption sent with one of the load's
// keys at once, by kind and key: checking thousands of writes one query
// each would make long soaks crawl. The load's keys name their kind
// (ct-KIND-rROUND-SEQ) and are unique per run.
func (l *load) keyedRows(t *testing.T, raw *rawDB) map[string]keyedRow {
	t.Helper()
	out := map[string]keyedRow{}
	for _, table := range []string{"awards", "redemptions"} {
		q := "SELECT idem_key, id, person_id, created_by, status FROM " + table + " WHERE idem_key LIKE 'ct-%'"
		rs, err := raw.db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rs.Next() {
			var key string
			var r keyedRow
			if err := rs.Scan(&key, &r.id, &r.person, &r.by, &r.status); err != nil {
				t.Fatal(err)
			}
			k := strings.SplitN(key, "-", 3)[1] + " " + key
			if _, dup := out[k]; dup {
				t.Errorf("%s is in the database twice", k)
			}
			out[k] = r
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// resolve replays, on the restarted server, every keyed write that got
// no answer, and reads the state of every sale or order whose refund,
// fetch or cancel got none. It also replays a few answered writes, which must answer the
// same id without doing anything.
func (l *load) resolve(t *testing.T, round int) {
	t.Helper()
	l.mu.Lock()
	ops := slices.Clone(l.ops)
	l.mu.Unlock()
	var again []*op
	for _, o := range ops {
		switch {
		case o.state == uncertain:
			r := o.by.do("POST", o.path(), o.body, o.key)
			switch {
			case r.ok():
				first := o.id
				o.state = committed
				l.took(o, r)
				if o.atKill && o.id != first {
					t.Errorf("replay of %s %s answered id %d, but the write was already in the database as %d", o.kind, o.key, o.id, first)
				}
			case r.uncertain():
				t.Fatalf("replay of %s %s after the restart: %s", o.kind, o.key, r)
			default:
				o.state, o.refusal = absent, r.code()
				if o.atKill {
					t.Errorf("replay of %s %s was refused (%s), but the write is in the database as %d", o.kind, o.key, r, o.id)
				}
				// A replayed sale whose pay code has since expired is
				// refused if it never happened; so is one with no points
				// or stock left.
				if !slices.Contains([]string{"invalid_paycode", "insufficient_points", "out_of_stock"}, o.refusal) {
					t.Errorf("replay of %s %s after the restart: %s", o.kind, o.key, r)
				}
			}
		case o.state == acked && o.round == round && len(again) < 6:
			again = append(again, o)
		}
		if o.want != "" && o.state.took() {
			var red struct {
				Status string `json:"status"`
			}
			o.buyer.c.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/redemptions/%d", o.id), nil, "", &red)
			if red.Status != o.status && red.Status != o.want {
				t.Errorf("%s %d is %s after an unanswered change to %s: neither %s nor %s", o.kind, o.id, red.Status, o.want, o.status, o.want)
			}
			o.status, o.want = red.Status, ""
		}
	}
	// A session a client was given survives the kill.
	for token, b := range l.sessions {
		var me idOnly
		r := (&client{base: b.c.base, hc: b.c.hc, token: token}).do("GET", "/api/v1/me", nil, "")
		if !r.ok() || json.Unmarshal(r.body, &me) != nil || me.ID != b.id {
			t.Errorf("a session %s was given before the kill does not work after the restart: %s", b.phone, r)
		}
		delete(l.sessions, token)
	}
	for _, o := range again {
		r := o.by.do("POST", o.path(), o.body, o.key)
		var out idOnly
		if !r.ok() || json.Unmarshal(r.body, &out) != nil || out.ID != o.id {
			t.Errorf("replay of the answered %s %s (id %d) after the restart: %s", o.kind, o.key, o.id, r)
		}
	}
}

// checkCount: each key took effect exactly once or not at all.
func (l *load) checkCount(t *testing.T, raw *rawDB) {
	t.Helper()
	rows := l.keyedRows(t, raw)
	for _, o := range l.ops {
		row, there := rows[o.kind+" "+o.key]
		switch {
		case o.state.took() && (!there || row.id != o.id):
			t.Errorf("%s %s (%s, id %d) is not in the database (found %+v)", o.kind, o.key, o.state, o.id, row)
		case !o.state.took() && there:
			t.Errorf("%s %s (%s) is in the database as %d", o.kind, o.key, o.state, row.id)
		case there && (row.person != o.buyer.id || row.by != o.byID):
			t.Errorf("%s %s (%d) is person %d's made by %d, not %d's made by %d", o.kind, o.key, row.id, row.person, row.by, o.buyer.id, o.byID)
		}
	}
	// Nobody's account moved by a write no client sent.
	for _, b := range l.w.buyers {
		var awards, sales []int64
		for _, o := range l.ops {
			if o.buyer == b && o.state.took() {
				if o.kind == "award" {
					awards = append(awards, o.id)
				} else {
					sales = append(sales, o.id)
				}
			}
		}
		sort.Slice(awards, func(i, j int) bool { return awards[i] < awards[j] })
		sort.Slice(sales, func(i, j int) bool { return sales[i] < sales[j] })
		if got := raw.ints(t, "SELECT id FROM awards WHERE person_id = ? ORDER BY id", b.id); !slices.Equal(got, awards) {
			t.Errorf("%s's awards in the database %v, the clients know of %v", b.phone, got, awards)
		}
		if got := raw.ints(t, "SELECT id FROM redemptions WHERE person_id = ? ORDER BY id", b.id); !slices.Equal(got, sales) {
			t.Errorf("%s's sales and orders in the database %v, the clients know of %v", b.phone, got, sales)
		}
	}
}

// standing: a sale or order whose points and stock stay taken (not
// cancelled, released or refunded).
func standing(status string) bool {
	return status == "completed" || status == "held" || status == "confirming"
}

// checkTotals compares balances, scores and stock over the API with the
// sum of the writes that took effect.
func (l *load) checkTotals(t *testing.T, round int) {
	t.Helper()
	sold := map[int64]int64{}
	for _, b := range l.w.buyers {
		var balance, score int64
		for _, o := range l.ops {
			if o.buyer != b || !o.state.took() {
				continue
			}
			switch {
			case o.kind == "award":
				balance += o.points
				score += o.points
			case standing(o.status):
				balance += o.points
				for id, q := range o.lines {
					sold[id] += q
				}
			}
		}
		gotB, gotS := l.w.points(t, l.w.admin, b.id)
		if gotB != balance || gotS != score {
			t.Errorf("round %d: %s has balance %d and score %d, the writes that took effect make %d and %d", round, b.phone, gotB, gotS, balance, score)
		}
	}
	for _, it := range l.w.items {
		if got := l.w.stock(t, l.w.admin, it); got != it.stock-sold[it.id] {
			t.Errorf("round %d: item %d has stock %d, want %d − %d sold = %d", round, it.id, got, it.stock, sold[it.id], it.stock-sold[it.id])
		}
	}
	if len(l.serverErrors) > 0 {
		t.Errorf("round %d: the server answered 5xx under load: %s", round, strings.Join(l.serverErrors, "; "))
		l.serverErrors = nil
	}
}

func (l *load) summary(round int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := map[state]int{}
	atKill := 0
	for _, o := range l.ops {
		if o.round == round {
			n[o.state]++
			if o.atKill {
				atKill++
			}
		}
	}
	return fmt.Sprintf("%d keyed writes answered, %d refused; %d unanswered: %d had committed before the kill, %d were made by their replay, %d were refused on replay; refusals so far %v",
		n[acked], n[refused], n[committed]+n[absent], atKill, n[committed]-atKill, n[absent], l.refusals)
}
