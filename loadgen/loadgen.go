// Package loadgen is the engine of `jifen bench`: a load generator that
// drives a running server over its fixed JSON API with a mix of awards,
// check-ins, pick-up orders and counter sales, and reports throughput,
// latency percentiles and errors by code.
//
// It is built to cost the server's machine little, since on a 2-core box
// the generator shares the CPU with the server: one keep-alive transport,
// request bodies built before the run, answers scanned for the one field
// needed instead of decoded, and latencies counted into preallocated
// per-client histograms merged at the end. With a rate it is open-loop:
// operations are due at fixed times and each latency counts from when the
// operation was due, so a stalled server is charged for the queue it
// causes (no coordinated omission).
package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"jifen"
)

// Scenario is one kind of operation in the mix.
type Scenario string

// The scenarios. A counter redemption is two requests: the resident's
// phone fetches a pay code, the clerk sells with it.
const (
	Awards      Scenario = "awards"      // an admin awards a resident by rule
	Checkins    Scenario = "checkins"    // a resident checks in, next time out, with the screen's code
	Orders      Scenario = "orders"      // a resident orders an item for pick-up
	Redemptions Scenario = "redemptions" // pay code + counter sale by a clerk
	Cancels     Scenario = "cancels"     // a resident orders an everyday item and cancels before pick-up
	Refunds     Scenario = "refunds"     // pay code + counter sale of an everyday item, refunded by the clerk
	Pickups     Scenario = "pickups"     // a resident orders an everyday item and a clerk hands it over (fulfil)
	Deductions  Scenario = "deductions"  // an admin deducts a point by rule (the buyer's account, under its lock)
)

var scenarios = [...]Scenario{Awards, Checkins, Orders, Redemptions, Cancels, Refunds, Pickups, Deductions}

// scenarioNames lists the scenarios for messages.
func scenarioNames() string {
	names := make([]string, len(scenarios))
	for i, sc := range scenarios {
		names[i] = string(sc)
	}
	return strings.Join(names, ", ")
}

// Mix is the share of each scenario, in any unit (percent by convention).
type Mix map[Scenario]int

// ParseMix reads "awards=40,checkins=20,orders=10,redemptions=30".
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if !ok || err != nil || w < 0 {
			return nil, fmt.Errorf("loadgen: mix %q: want name=weight, e.g. awards=40,redemptions=60", part)
		}
		sc := Scenario(strings.TrimSpace(name))
		known := false
		for _, k := range scenarios {
			known = known || k == sc
		}
		if !known {
			return nil, fmt.Errorf("loadgen: mix: unknown operation %q (%s)", name, scenarioNames())
		}
		m[sc] += w
	}
	total := 0
	for _, w := range m {
		total += w
	}
	if total == 0 {
		return nil, errors.New("loadgen: the mix is empty")
	}
	return m, nil
}

// String is the mix as ParseMix reads it, in a fixed order.
func (m Mix) String() string {
	var parts []string
	for _, sc := range scenarios {
		if m[sc] > 0 {
			parts = append(parts, string(sc)+"="+strconv.Itoa(m[sc]))
		}
	}
	return strings.Join(parts, ",")
}

// Config is one bench run.
type Config struct {
	URL      string        // the server, e.g. http://127.0.0.1:8080, or several instances' separated by commas
	Clients  int           // concurrent connections, each one simulated client
	Duration time.Duration // stop after this long (0: only Requests bounds the run)
	Requests int64         // stop after this many operations (0: only Duration bounds it)
	// Rate, when above 0, starts operations at this many per second
	// (open loop) instead of each client starting its next at once.
	Rate float64
	Mix  Mix
	// Popular is the share of orders and sales that go to one popular
	// item of limited stock (PopularStock, restored before each run).
	Popular      float64
	PopularStock int64
	// SharedBuyers has counter sales (redemptions, refunds) pick any
	// resident at random, as a load that knows nothing of who is at
	// which counter would: several clients may hold pay codes of one
	// resident at once. Otherwise each client sells to residents of
	// its own.
	SharedBuyers bool

	// Setup sizes: residents (buyers, volunteers, award receivers),
	// clerks, stores and activities made by setup.
	People, Clerks, Stores, Activities int
	// AdminPhone and AdminPassword sign in the super admin who sets up.
	AdminPhone, AdminPassword string
	// State is the file setup's accounts and ids are kept in, so another
	// run can skip setup; Setup forces a fresh one.
	State string
	Setup bool

	// Verify, when set, checks the ledger after the run (jifen verify).
	Verify func(ctx context.Context) (*jifen.VerifyReport, error)
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (cfg *Config) logf(format string, args ...any) {
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, format+"\n", args...)
	}
}

func (cfg *Config) params() SetupParams {
	return SetupParams{People: cfg.People, Clerks: cfg.Clerks, Stores: cfg.Stores, Activities: cfg.Activities}
}

func (cfg *Config) check() error {
	switch {
	case cfg.Clients < 1:
		return errors.New("loadgen: --clients must be at least 1")
	case cfg.Duration <= 0 && cfg.Requests <= 0:
		return errors.New("loadgen: give --duration or --requests, or the run never ends")
	case cfg.Rate < 0:
		return errors.New("loadgen: --rate must not be negative")
	case cfg.Popular < 0 || cfg.Popular > 1:
		return errors.New("loadgen: --popular is a share from 0 to 1")
	case cfg.PopularStock < 0 || cfg.PopularStock > everyday:
		return fmt.Errorf("loadgen: --popular-stock is 0 to %d", everyday)
	case cfg.Clerks < 1 || cfg.Stores < 1 || cfg.Activities < 1:
		return errors.New("loadgen: setup needs at least one clerk, store and activity")
	case len(cfg.Mix) == 0:
		return errors.New("loadgen: the mix is empty")
	}
	// A check-in flips the person's presence, so two clients sharing a
	// resident would check each other out; and until migration 0020 a
	// pay code was voided by the person's next one, so two clients
	// selling to one resident spent each other's codes (and tripped the
	// counter's wrong-code throttle, 10 per clerk in 15 minutes). So by
	// default every client has residents of its own; SharedBuyers lifts
	// that for the counter's sales.
	owned := cfg.Mix[Checkins] + cfg.Mix[Orders] + cfg.Mix[Cancels] + cfg.Mix[Pickups]
	if !cfg.SharedBuyers {
		owned += cfg.Mix[Redemptions] + cfg.Mix[Refunds]
	}
	if cfg.People < cfg.Clients && owned > 0 {
		return fmt.Errorf("loadgen: --setup-people (%d) must be at least --clients (%d): each client needs residents of its own", cfg.People, cfg.Clients)
	}
	return nil
}

// The requests, one row each in the report.
const (
	kAward = iota
	kCheckin
	kCheckout
	kPaycode
	kSale
	kOrder
	kCancel
	kRefund
	kFulfil
	kDeduct
	numKinds
)

var kindNames = [numKinds]string{"award", "checkin", "checkout", "paycode", "sale", "order", "cancel", "refund", "fulfil", "deduct"}

// Report is a run's outcome; Write prints it as a table, and it marshals
// to JSON for tooling.
type Report struct {
	URL      string  `json:"url"`
	Mode     string  `json:"mode"` // "closed" (each client back to back) or "rate"
	Rate     float64 `json:"rate,omitempty"`
	Clients  int     `json:"clients"`
	Mix      string  `json:"mix"`
	Popular  float64 `json:"popular"`
	Seconds  float64 `json:"seconds"`
	SetupRan bool    `json:"setup_ran"`
	// Operations started (a redemption is one operation of two requests).
	Operations  int64       `json:"operations"`
	OpsPerSec   float64     `json:"ops_per_sec"`
	Requests    []RowReport `json:"requests"`
	Total       RowReport   `json:"total"`
	PopularSold int64       `json:"popular_sold"` // orders and sales of the popular item that succeeded
	// Late counts operations of a rate run that started more than 10 ms
	// after they were due: the clients could not keep up.
	Late int64 `json:"late,omitempty"`
	// Unsent counts operations of a rate run that were due but never
	// started: the server fell so far behind that the run was cut off
	// ten seconds after its end (their latency would have been longer).
	Unsent int64 `json:"unsent,omitempty"`
	// Writer is what the server's database writer did in the run, when
	// the server publishes it (/metrics).
	Writer *WriterReport `json:"writer,omitempty"`
	Verify *VerifyResult `json:"verify,omitempty"`
}

// RowReport is one kind of request (or all of them).
type RowReport struct {
	Name   string           `json:"name"`
	Count  uint64           `json:"count"`
	OK     uint64           `json:"ok"`
	PerSec float64          `json:"per_sec"`
	P50    float64          `json:"p50_ms"`
	P95    float64          `json:"p95_ms"`
	P99    float64          `json:"p99_ms"`
	Max    float64          `json:"max_ms"`
	Mean   float64          `json:"mean_ms"`
	Errors map[string]int64 `json:"errors,omitempty"` // "409 out_of_stock": 12
}

// VerifyResult is the ledger check after the run.
type VerifyResult struct {
	OK     bool                `json:"ok"`
	Report *jifen.VerifyReport `json:"report,omitempty"`
	Error  string              `json:"error,omitempty"`
}

// Errors5xx counts the server errors of every row, and transport errors.
func (r *Report) Errors5xx() int64 {
	var n int64
	for code, c := range r.Total.Errors {
		if code[0] == '5' || strings.HasPrefix(code, "net") {
			n += c
		}
	}
	return n
}

// Row returns the row of one kind of request by name.
func (r *Report) Row(name string) *RowReport {
	for i := range r.Requests {
		if r.Requests[i].Name == name {
			return &r.Requests[i]
		}
	}
	return nil
}

// Run sets up (or reuses the state of) the bench data, drives the server
// for the configured time or count, and reports; the ledger is verified
// at the end when cfg.Verify is set.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	c, err := newClient(cfg.URL, max(cfg.Clients, 4))
	if err != nil {
		return nil, err
	}
	defer c.rt.CloseIdleConnections()
	st, fresh, err := prepare(ctx, c, &cfg)
	if err != nil {
		return nil, err
	}
	r := newRun(&cfg, c, st)
	if err := r.refreshCodes(ctx); err != nil {
		return nil, err
	}
	cfg.logf("bench: %d clients, %s, mix %s", cfg.Clients, r.mode(), cfg.Mix)
	before, counted := c.commitStats(ctx)
	elapsed := r.drive(ctx)
	rep := r.report(elapsed)
	if after, ok := c.commitStats(ctx); ok && counted {
		rep.Writer = writerReport(before, after, elapsed.Seconds())
	}
	rep.SetupRan = fresh
	if ctx.Err() != nil {
		return rep, ctx.Err() // interrupted: what was measured, unverified
	}
	r.checkOutAll(ctx)
	if cfg.Verify != nil {
		vr, err := cfg.Verify(ctx)
		rep.Verify = &VerifyResult{Report: vr}
		switch {
		case err != nil:
			rep.Verify.Error = err.Error()
		case vr.Problem != "":
			rep.Verify.Error = vr.Problem
		default:
			rep.Verify.OK = true
		}
	}
	return rep, ctx.Err()
}

// run is one bench run's shared, read-only-while-running data.
type run struct {
	cfg   *Config
	c     *client
	st    *State
	runID string

	awardURL, paycodeURL, redeemURL urlRef
	redemptionPrefix                string   // the target of /redemptions/{id}/… before the id
	checkinURLs, checkoutURLs       []urlRef // by activity
	adminAuth                       string   // "Bearer …"
	residentAuth, clerkAuth         []string
	awardBodies, deductBodies       [][]byte // by resident
	orderBodies, salePrefixes       [][]byte // by item; the popular item first
	codeBodies                      []atomic.Pointer[[]byte]
	cumWeights                      [len(scenarios)]int
	totalWeight                     int
	start                           time.Time
	deadline                        time.Time
	interval                        time.Duration
	cutoff                          time.Time // a rate run starts nothing after this
	due                             int64     // operations a rate run has due
	slot, ops                       atomic.Int64
	popularSold, late               atomic.Int64
	workers                         []*worker
	netOnce                         sync.Once
	stopCodes                       context.CancelFunc
}

// netError logs the first transport error; the rest are only counted.
func (r *run) netError(err error) {
	r.netOnce.Do(func() { r.cfg.logf("bench: transport error (the first; all are counted as \"net error\"): %v", err) })
}

func (r *run) mode() string {
	if r.cfg.Rate > 0 {
		return fmt.Sprintf("open loop at %g operations/s", r.cfg.Rate)
	}
	return "closed loop"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func newRun(cfg *Config, c *client, st *State) *run {
	tag := make([]byte, 4)
	rand.Read(tag)
	r := &run{cfg: cfg, c: c, st: st, runID: "bench-" + hex.EncodeToString(tag)}
	r.awardURL = r.ref("POST", "/api/v1/awards")
	r.paycodeURL = r.ref("GET", "/api/v1/me/paycode")
	r.redeemURL = r.ref("POST", "/api/v1/redemptions")
	r.redemptionPrefix = r.c.url("/api/v1/redemptions/").RequestURI()
	for _, a := range st.Activities {
		r.checkinURLs = append(r.checkinURLs, r.ref("POST", "/api/v1/activities/"+itoa(a.ID)+"/checkins"))
		r.checkoutURLs = append(r.checkoutURLs, r.ref("POST", "/api/v1/activities/"+itoa(a.ID)+"/checkouts"))
	}
	r.codeBodies = make([]atomic.Pointer[[]byte], len(st.Activities))
	r.adminAuth = "Bearer " + st.Admin.Token
	for _, p := range st.Residents {
		r.residentAuth = append(r.residentAuth, "Bearer "+p.Token)
		r.awardBodies = append(r.awardBodies, fmt.Appendf(nil, `{"person_id":%d,"rule_id":%d,"quantity":1}`, p.ID, st.AwardRule))
		r.deductBodies = append(r.deductBodies, fmt.Appendf(nil, `{"person_id":%d,"rule_id":%d,"quantity":1}`, p.ID, st.DeductRule))
	}
	for _, p := range st.Clerks {
		r.clerkAuth = append(r.clerkAuth, "Bearer "+p.Token)
	}
	items := []ItemRef{st.Popular}
	for _, s := range st.Stores {
		for _, it := range s.Items {
			items = append(items, ItemRef{StoreID: s.ID, ItemID: it})
		}
	}
	for _, it := range items {
		lines := fmt.Sprintf(`{"store_id":%d,"lines":[{"item_id":%d,"quantity":1}]`, it.StoreID, it.ItemID)
		r.orderBodies = append(r.orderBodies, []byte(lines+"}"))
		r.salePrefixes = append(r.salePrefixes, []byte(lines+`,"paycode":"`))
	}
	for i, sc := range scenarios {
		r.totalWeight += cfg.Mix[sc]
		r.cumWeights[i] = r.totalWeight
	}
	if cfg.Rate > 0 {
		r.interval = time.Duration(float64(time.Second) / cfg.Rate)
	}
	// Residents are dealt out to clients like cards: client w has
	// residents w, w+clients, …, so no two clients share one.
	for w := range cfg.Clients {
		wk := &worker{r: r, id: w, rng: newRand(uint64(w)), errs: make([]map[string]*int64, numKinds)}
		for i := w; i < len(st.Residents); i += cfg.Clients {
			wk.mine = append(wk.mine, i)
		}
		if len(wk.mine) == 0 { // awards only, more clients than residents
			wk.mine = []int{w % len(st.Residents)}
		}
		wk.in = make([]bool, len(st.Residents))
		for k := range wk.errs {
			wk.errs[k] = map[string]*int64{}
		}
		r.workers = append(r.workers, wk)
	}
	return r
}

// refreshCodes fetches every activity's rotating check-in code, as the
// leader's screen shows it, and keeps it fresh while the bench runs: a
// code works in its 30-second window and the next, so fetching every 10
// seconds keeps every check-in's code valid.
func (r *run) refreshCodes(ctx context.Context) error {
	if r.cfg.Mix[Checkins] == 0 {
		return nil
	}
	fetch := func() error {
		for i, a := range r.st.Activities {
			var code struct {
				Code string `json:"code"`
			}
			if err := r.c.call(ctx, "GET", "/api/v1/activities/"+itoa(a.ID)+"/checkin-code", r.st.Admin.Token, "", nil, &code); err != nil {
				return err
			}
			b := []byte(`{"code":"` + code.Code + `"}`)
			r.codeBodies[i].Store(&b)
		}
		return nil
	}
	if err := fetch(); err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	r.stopCodes = cancel
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
				if err := fetch(); err != nil && cctx.Err() == nil {
					r.cfg.logf("bench: refreshing the check-in codes: %v", err)
				}
			}
		}
	}()
	return nil
}

// rateGrace is how long after its last operation was due a rate run may
// go on working off a backlog.
const rateGrace = 10 * time.Second

// drive runs the clients until the time or the count is up and returns
// how long they ran.
func (r *run) drive(ctx context.Context) time.Duration {
	r.start = time.Now()
	if r.cfg.Duration > 0 {
		r.deadline = r.start.Add(r.cfg.Duration)
	}
	if r.interval > 0 {
		// Every operation due before the end is started, however late, so
		// the latencies show the whole queue; but an overwhelmed server
		// must not keep the bench going for minutes.
		r.due = r.cfg.Requests
		if r.cfg.Duration > 0 {
			n := int64((r.cfg.Duration + r.interval - 1) / r.interval)
			if r.due == 0 || n < r.due {
				r.due = n
			}
		}
		r.cutoff = r.start.Add(time.Duration(r.due)*r.interval + rateGrace)
	}
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	wg.Wait()
	if r.stopCodes != nil {
		r.stopCodes()
	}
	return time.Since(r.start)
}

// checkOutAll leaves nobody checked in, so the next run starts from the
// same state; these requests are not measured.
func (r *run) checkOutAll(ctx context.Context) {
	for _, w := range r.workers {
		for _, p := range w.mine {
			if !w.in[p] {
				continue
			}
			a := p % len(r.st.Activities)
			if b := r.codeBodies[a].Load(); b != nil {
				w.in[p] = false
				_ = r.c.call(ctx, "POST", r.checkoutURLs[a].path, r.st.Residents[p].Token, "", rawJSON(*b), nil)
			}
		}
	}
}

func (r *run) report(elapsed time.Duration) *Report {
	secs := elapsed.Seconds()
	rep := &Report{URL: strings.Join(r.c.bases, ","), Mode: "closed", Rate: r.cfg.Rate, Clients: r.cfg.Clients, Mix: r.cfg.Mix.String(), Popular: r.cfg.Popular,
		Seconds: secs, Operations: r.ops.Load(), PopularSold: r.popularSold.Load(), Late: r.late.Load()}
	if r.cfg.Rate > 0 {
		rep.Mode = "rate"
		rep.Unsent = max(0, r.due-rep.Operations)
	}
	rep.OpsPerSec = float64(rep.Operations) / secs
	var all Histogram
	total := RowReport{Name: "total", Errors: map[string]int64{}}
	for k := range numKinds {
		var h Histogram
		row := RowReport{Name: kindNames[k], Errors: map[string]int64{}}
		for _, w := range r.workers {
			h.Merge(&w.hist[k])
			row.OK += w.ok[k]
			for code, n := range w.errs[k] {
				row.Errors[code] += *n
				total.Errors[code] += *n
			}
		}
		if h.Count() == 0 {
			continue
		}
		row.fill(&h, secs)
		total.OK += row.OK
		all.Merge(&h)
		rep.Requests = append(rep.Requests, row)
	}
	total.fill(&all, secs)
	rep.Total = total
	return rep
}

func (row *RowReport) fill(h *Histogram, secs float64) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	row.Count = h.Count()
	row.PerSec = float64(row.Count) / secs
	row.P50, row.P95, row.P99 = ms(h.Quantile(0.50)), ms(h.Quantile(0.95)), ms(h.Quantile(0.99))
	row.Max, row.Mean = ms(h.Max()), ms(h.Mean())
	if len(row.Errors) == 0 {
		row.Errors = nil
	}
}

// rawJSON is a body already encoded.
type rawJSON []byte

func (b rawJSON) MarshalJSON() ([]byte, error) { return b, nil }
