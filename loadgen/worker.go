package loadgen

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// urlRef is a request target parsed once before the run.
type urlRef struct {
	method string
	path   string // as the API names it, for setup's calls
	target string // as the request line names it (any base path before it)
}

func (r *run) ref(method, path string) urlRef {
	return urlRef{method: method, path: path, target: r.c.url(path).RequestURI()}
}

// worker is one simulated client: one request at a time, its own
// residents, its own histograms and error counts (merged after the run,
// so the hot path takes no lock).
type worker struct {
	r    *run
	id   int
	rng  *rand.Rand
	mine []int  // indexes of the residents only this client uses
	next int    // the next of mine, round robin
	in   []bool // by resident: checked in now
	seq  int64

	hist [numKinds]Histogram
	ok   [numKinds]uint64
	errs []map[string]*int64 // by kind: "409 out_of_stock" → count

	conn    *conn  // its own connection, made by loop
	buf     []byte // the answer being read
	scratch []byte
	timer   *time.Timer
}

func newRand(w uint64) *rand.Rand {
	return rand.New(rand.NewPCG(w, uint64(time.Now().UnixNano())))
}

func (w *worker) loop(ctx context.Context) {
	r := w.r
	w.conn = r.c.newConn(ctx, w.id)
	defer w.conn.close()
	w.buf = make([]byte, 0, 4096)
	for ctx.Err() == nil {
		var due time.Time
		if r.interval > 0 {
			// Open loop: the next free client takes the next slot and
			// waits for it; when every client is busy the slots wait and
			// their latency counts from when they were due.
			k := r.slot.Add(1) - 1
			if r.cfg.Requests > 0 && k >= r.cfg.Requests {
				return
			}
			due = r.start.Add(time.Duration(k) * r.interval)
			if !r.deadline.IsZero() && !due.Before(r.deadline) {
				return
			}
			if time.Now().After(r.cutoff) {
				return
			}
			if d := time.Until(due); d > 0 {
				if !w.sleep(ctx, d) {
					return
				}
			} else if d < -10*time.Millisecond {
				r.late.Add(1)
			}
		} else {
			if !r.deadline.IsZero() && !time.Now().Before(r.deadline) {
				return
			}
			if r.cfg.Requests > 0 && r.slot.Add(1) > r.cfg.Requests {
				return
			}
			due = time.Now()
		}
		r.ops.Add(1)
		x := w.rng.IntN(r.totalWeight)
		for i, cum := range r.cumWeights {
			if x < cum {
				operations[i](w, due)
				break
			}
		}
	}
}

// operations are the scenarios' operations, in the order of scenarios.
var operations = [len(scenarios)]func(w *worker, due time.Time){
	(*worker).award, (*worker).checkin, (*worker).order, (*worker).redeem, (*worker).cancel,
	(*worker).refund, (*worker).pickup, (*worker).deduct,
}

func (w *worker) sleep(ctx context.Context, d time.Duration) bool {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		w.timer.Stop()
		return false
	case <-w.timer.C:
		return true
	}
}

func (w *worker) nextMine() int {
	p := w.mine[w.next]
	w.next = (w.next + 1) % len(w.mine)
	return p
}

// buyer is the resident a counter sale is for: one of the client's own,
// or with SharedBuyers any resident.
func (w *worker) buyer() int {
	if w.r.cfg.SharedBuyers {
		return w.rng.IntN(len(w.r.residentAuth))
	}
	return w.nextMine()
}

// key is a fresh Idempotency-Key: the run, the client, a counter.
func (w *worker) key() string {
	w.seq++
	b := append(w.scratch[:0], w.r.runID...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(w.id), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, w.seq, 10)
	w.scratch = b
	return string(b)
}

// pickItem is 0 (the popular item) for the popular share, else one of
// the everyday items at random.
func (w *worker) pickItem() int {
	if w.rng.Float64() < w.r.cfg.Popular || len(w.r.orderBodies) == 1 {
		return 0
	}
	return 1 + w.rng.IntN(len(w.r.orderBodies)-1)
}

func (w *worker) award(due time.Time) {
	p := w.rng.IntN(len(w.r.awardBodies))
	w.send(kAward, w.r.awardURL, w.r.adminAuth, w.key(), w.r.awardBodies[p], due)
}

// deduct takes a point from a resident by the deduction rule: unlike an
// award it debits the account under its lock, so it waits on the sales,
// refunds and other deductions of the same person.
func (w *worker) deduct(due time.Time) {
	p := w.rng.IntN(len(w.r.deductBodies))
	w.send(kDeduct, w.r.awardURL, w.r.adminAuth, w.key(), w.r.deductBodies[p], due)
}

func (w *worker) checkin(due time.Time) {
	p := w.nextMine()
	a := p % len(w.r.codeBodies)
	body := *w.r.codeBodies[a].Load()
	kind, u := kCheckin, w.r.checkinURLs[a]
	if w.in[p] {
		kind, u = kCheckout, w.r.checkoutURLs[a]
	}
	status, ans := w.send(kind, u, w.r.residentAuth[p], "", body, due)
	switch {
	case status/100 == 2:
		w.in[p] = !w.in[p]
	case status == http.StatusConflict:
		// Left over from an interrupted run: take the server's word.
		switch string(jsonField(ans, "code")) {
		case "already_checked_in":
			w.in[p] = true
		case "not_checked_in":
			w.in[p] = false
		}
	}
}

func (w *worker) order(due time.Time) {
	p, item := w.nextMine(), w.pickItem()
	status, _ := w.send(kOrder, w.r.redeemURL, w.r.residentAuth[p], w.key(), w.r.orderBodies[item], due)
	if item == 0 && status/100 == 2 {
		w.r.popularSold.Add(1)
	}
}

// everydayItem is one of the everyday items at random, or 0 when there is
// none. The scenarios that give stock back (cancel, refund) leave the
// popular item out, so its stock only ever goes down and its sales can be
// counted.
func (w *worker) everydayItem() int {
	if len(w.r.orderBodies) < 2 {
		return 0
	}
	return 1 + w.rng.IntN(len(w.r.orderBodies)-1)
}

// onRedemption is the target of /redemptions/{id}/{action}.
func (w *worker) onRedemption(id int64, action string) urlRef {
	b := append(append(w.scratch[:0], w.r.redemptionPrefix...), strconv.FormatInt(id, 10)...)
	w.scratch = append(append(b, '/'), action...)
	return urlRef{method: "POST", target: string(w.scratch)}
}

// cancel is a pick-up order of an everyday item, cancelled by the buyer
// before pick-up: its points and stock come back.
func (w *worker) cancel(due time.Time) {
	p, item := w.nextMine(), w.everydayItem()
	if item == 0 {
		return
	}
	status, ans := w.send(kOrder, w.r.redeemURL, w.r.residentAuth[p], w.key(), w.r.orderBodies[item], due)
	id := jsonInt(ans, "id")
	if status/100 != 2 || id <= 0 {
		return
	}
	w.send(kCancel, w.onRedemption(id, "cancel"), w.r.residentAuth[p], "", []byte("{}"), time.Now())
}

// pickup is a pick-up order of an everyday item handed over by the
// client's clerk with the code the order answered.
func (w *worker) pickup(due time.Time) {
	p, item := w.nextMine(), w.everydayItem()
	if item == 0 {
		return
	}
	status, ans := w.send(kOrder, w.r.redeemURL, w.r.residentAuth[p], w.key(), w.r.orderBodies[item], due)
	id, code := jsonInt(ans, "id"), jsonField(ans, "pickup_code")
	if status/100 != 2 || id <= 0 || len(code) == 0 {
		return
	}
	body := append(append([]byte(`{"code":"`), code...), '"', '}')
	w.send(kFulfil, w.onRedemption(id, "fulfil"), w.clerk(), "", body, time.Now())
}

// refund is a counter sale of an everyday item that the clerk refunds at
// once: points and stock come back as new entries, the store's account
// paying.
func (w *worker) refund(due time.Time) {
	p, item := w.buyer(), w.everydayItem()
	if item == 0 {
		return
	}
	status, ans := w.send(kPaycode, w.r.paycodeURL, w.r.residentAuth[p], "", nil, due)
	code := jsonField(ans, "code")
	if status != http.StatusOK || len(code) == 0 {
		return
	}
	status, ans = w.send(kSale, w.r.redeemURL, w.clerk(), w.key(), w.saleBody(item, code), time.Now())
	id := jsonInt(ans, "id")
	if status/100 != 2 || id <= 0 {
		return
	}
	w.send(kRefund, w.onRedemption(id, "refund"), w.clerk(), "", []byte(`{"reason":"压测退货"}`), time.Now())
}

// clerk is the client's clerk, who rings up its sales.
func (w *worker) clerk() string { return w.r.clerkAuth[w.id%len(w.r.clerkAuth)] }

// saleBody is a counter sale of one item with a pay code; a fresh slice,
// as code points into an answer that the next is read over.
func (w *worker) saleBody(item int, code []byte) []byte {
	prefix := w.r.salePrefixes[item]
	body := make([]byte, 0, len(prefix)+len(code)+2)
	return append(append(append(body, prefix...), code...), '"', '}')
}

// redeem is a counter sale: the resident's phone fetches a pay code, the
// client's clerk rings up one item with it.
func (w *worker) redeem(due time.Time) {
	p := w.buyer()
	status, ans := w.send(kPaycode, w.r.paycodeURL, w.r.residentAuth[p], "", nil, due)
	code := jsonField(ans, "code")
	if status != http.StatusOK || len(code) == 0 {
		return
	}
	item := w.pickItem()
	status, _ = w.send(kSale, w.r.redeemURL, w.clerk(), w.key(), w.saleBody(item, code), time.Now())
	if item == 0 && status/100 == 2 {
		w.r.popularSold.Add(1)
	}
}

// send makes one request and records its latency from start (when the
// operation was due, in a rate run) to the end of the answer. It returns
// the status (0 on a transport error) and the answer, valid until the
// next send.
func (w *worker) send(kind int, u urlRef, auth, key string, body []byte, start time.Time) (int, []byte) {
	status, ans, err := w.conn.do(u.method, u.target, auth, key, body, w.buf)
	w.buf = ans
	if err != nil {
		if w.conn.ctx.Err() == nil {
			w.hist[kind].Record(time.Since(start))
			w.count(kind, 0, nil)
			w.r.netError(err)
		}
		return 0, nil
	}
	w.hist[kind].Record(time.Since(start))
	if status/100 == 2 {
		w.ok[kind]++
	} else {
		w.count(kind, status, jsonField(ans, "code"))
	}
	return status, ans
}

// count adds one failure under "STATUS code" ("net error" for a transport
// error); the lookup by bytes does not allocate once the key is known.
func (w *worker) count(kind, status int, code []byte) {
	b := w.scratch[:0]
	if status == 0 {
		b = append(b, "net error"...)
	} else {
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, ' ')
		if len(code) == 0 {
			code = []byte("-")
		}
		b = append(b, code...)
	}
	w.scratch = b
	if n := w.errs[kind][string(b)]; n != nil {
		*n++
		return
	}
	one := int64(1)
	w.errs[kind][string(b)] = &one
}
