package sqldb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"jifen"
	"jifen/secret"
)

// randomDigits draws n decimal digits from the system's secure source.
func randomDigits(n int) string {
	var b strings.Builder
	for b.Len() < n {
		v, _ := rand.Int(rand.Reader, big.NewInt(1e9))
		fmt.Fprintf(&b, "%09d", v.Int64())
	}
	return b.String()[:n]
}

func paycodeHash(code string) string { return secret.SHA256("paycode:" + code) }

// maxPaycodeFailures bounds wrong pay codes and PINs a counter (or a card)
// may try in the throttle window before it must wait.
const maxPaycodeFailures = 10

// NewPaycode issues the actor a pay code for one sale in the next minute.
func (s *StoreService) NewPaycode(ctx context.Context) (*jifen.Paycode, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil || a.PersonID == 0 {
		return nil, jifen.ErrUnauthorized
	}
	// Codes start with 9 so they never look like a volunteer number, a
	// phone or an ID number typed into the same box.
	code := "9" + randomDigits(jifen.PaycodeDigits-1)
	now := s.db.now()
	pc := &jifen.Paycode{Code: code, ExpiresAt: now.Add(jifen.PaycodeLifetime).In(jifen.Zone)}
	// A new code leaves the person's other codes as they are: each works
	// once, until its minute is up. Voiding the older one (as 0013 did)
	// made two phones, or two fetches of one, spend each other's codes,
	// and every such sale counted as a guess against the clerk. There is
	// no bound on how many a person holds: a bound refuses the page a
	// code (a mix that opens it often met one), and the sweep keeps what
	// any fetching leaves to an hour's worth.
	const issue = "INSERT INTO paycodes (code_hash, person_id, expires_at) VALUES (?, ?, ?)"
	old, hash, expires := now.Add(-time.Hour), paycodeHash(code), now.Add(jifen.PaycodeLifetime)
	args := []any{hash, a.PersonID, expires}
	if s.db.dialect.name() == "postgres" {
		// Every counter sale starts here: one statement is one
		// transaction and one round trip, where BEGIN, two statements
		// and COMMIT were four.
		var err error
		for try := 0; try < 4; try++ {
			_, err = s.db.w.ExecContext(ctx, s.db.q("WITH old AS ("+paycodeSweep+") "+issue), append([]any{old}, args...)...)
			if err == nil || !s.db.dialect.retryable(err) {
				break
			}
		}
		if err != nil {
			return nil, s.db.mapErr(err)
		}
		return pc, nil
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, paycodeSweep, old); err != nil {
			return err
		}
		_, err := tx.exec(ctx, issue, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pc, nil
}

// paycodeSweep deletes pay codes an hour past their minute, used or not,
// on every fetch: the expiry index (0020_paycodes_live) holds just the
// hour's codes and those to delete, so it reads no more than it deletes.
// An hour, so that a code replayed in that time is still known as spent
// or expired, not counted as a guess (knownPaycode). At most 100 a fetch,
// oldest first: a fetch adds one, so the sweep keeps up, and the first
// fetch of a morning does not take the whole evening's codes in a
// resident's request (nor fetches side by side lock them in two orders).
const paycodeSweep = "DELETE FROM paycodes WHERE code_hash IN (SELECT code_hash FROM paycodes WHERE expires_at < ? ORDER BY expires_at LIMIT 100)"

var errBadPaycode = jifen.Errorf(jifen.KindInvalid, "invalid_paycode", "paycode", "付款码无效、已使用或已过期，请让居民刷新付款码", "The pay code is wrong, used or expired; ask for a fresh one")

var errBadPIN = jifen.Errorf(jifen.KindInvalid, "invalid_pin", "pin", "编号或密码不正确", "The number or PIN is wrong")

func wellFormedPaycode(code string) bool { return len(code) == jifen.PaycodeDigits && isDigits(code) }

// buyerFromPaycode spends a pay code (once, even with two counters at it
// at the same moment: the conditional update lets one through).
func (t *Tx) buyerFromPaycode(ctx context.Context, code string) (int64, error) {
	if !wellFormedPaycode(code) {
		return 0, errBadPaycode
	}
	var person int64
	err := t.queryRow(ctx, "UPDATE paycodes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING person_id",
		t.db.now(), paycodeHash(code), t.db.now()).Scan(&person)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errBadPaycode
	}
	return person, err
}

// buyerFromCard checks a printed card's volunteer number and PIN.
func (t *Tx) buyerFromCard(ctx context.Context, no, pin string) (int64, error) {
	var person int64
	var hash sql.NullString
	err := t.queryRow(ctx, "SELECT id, pin_hash FROM people WHERE volunteer_no = ? AND status = 'active'", strings.TrimSpace(no)).Scan(&person, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		secret.DummyCheck(pin, t.db.PasswordParams)
		return 0, errBadPIN
	}
	if err != nil {
		return 0, err
	}
	if !hash.Valid || !secret.CheckPassword(pin, hash.String) {
		return 0, errBadPIN
	}
	return person, nil
}

func redemptionRequestHash(in jifen.RedemptionInput) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%s|%s|", in.StoreID, in.Paycode, in.VolunteerNo)
	ls := append([]jifen.Line(nil), in.Lines...)
	sort.Slice(ls, func(i, j int) bool { return ls[i].ItemID < ls[j].ItemID })
	for _, l := range ls {
		fmt.Fprintf(h, "%d:%d|", l.ItemID, l.Quantity)
	}
	return hex.EncodeToString(h.Sum(nil))
}

var errOutOfStock = func(name string) error {
	return jifen.Conflict("out_of_stock", "“"+name+"”库存不足", name+" is out of stock")
}

// Redeem sells at the counter (a clerk with the buyer's pay code or card
// and PIN) or places a pick-up order (the signed-in resident). In one
// transaction: stock goes down (a conditional update: never below zero),
// the points move from the buyer's account to the store's, and the sale
// is recorded with its lines.
func (s *StoreService) Redeem(ctx context.Context, in jifen.RedemptionInput) (*jifen.Redemption, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := checkKey(in.Key); err != nil {
		return nil, err
	}
	st, err := s.db.cachedStore(ctx, in.StoreID)
	if jifen.ErrorCode(err) == "not_found" {
		return nil, errNoStore
	}
	if err != nil {
		return nil, err
	}
	counter := in.Paycode != "" || in.VolunteerNo != ""
	type throttle struct {
		key   string
		limit int
	}
	var throttles []throttle
	if counter {
		ok, err := s.db.cachedSells(ctx, a, st)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, notClerk(a, st, "store")
		}
		// Wrong pay codes count against the counter; wrong PINs against the
		// card and, more loosely, against the counter too, so one clerk
		// cannot try ten PINs on each of many cards.
		throttles = []throttle{{"paycode:clerk:" + strconv.FormatInt(a.PersonID, 10), maxPaycodeFailures}}
		if in.Paycode == "" {
			throttles = []throttle{{"pin:card:" + strings.TrimSpace(in.VolunteerNo), maxPaycodeFailures},
				{"pin:clerk:" + strconv.FormatInt(a.PersonID, 10), 3 * maxPaycodeFailures}}
		}
		for _, th := range throttles {
			if n, err := s.db.cachedFailures(ctx, th.key); err != nil {
				return nil, err
			} else if n >= th.limit {
				// A throttled counter still gets the answer to a sale it
				// already made: a retry is not a guess.
				if first, same := s.earlierSale(ctx, in); same {
					return s.redemption(ctx, first)
				}
				return nil, ErrThrottled
			}
		}
	}
	if st.Archived {
		return nil, jifen.Conflict("store_closed", "这家店已停业", "This store is closed")
	}
	var id int64
	var out *jifen.Redemption
	for try := 0; try < 2; try++ {
		err = s.db.inTx(ctx, func(tx *Tx) error {
			var err error
			id, out, err = tx.redeem(ctx, st, in, counter)
			return err
		})
		if jifen.ErrorCode(err) != "duplicate" {
			break
		}
	}
	if refused := (*jifen.Error)(nil); errors.As(err, &refused) && refused.Code != "idempotency_mismatch" {
		// A retry racing its first try (or behind it in one group) is
		// refused by what that try did: the code it spent, the points it
		// took, the last unit it sold. The sale's row, the only thing
		// that would have made the retry a duplicate, is written at the
		// end (redeem). The answer is the first try's sale, not the
		// refusal; and for a different request under the same key, the
		// mismatch, as the lookup would have said, counted as no wrong
		// code or PIN.
		switch first, same := s.earlierSale(ctx, in); {
		case same:
			return s.redemption(ctx, first)
		case first != 0:
			return nil, errMismatch
		}
	}
	if jifen.ErrorCode(err) == "invalid_paycode" {
		// A code that was issued, spent or expired, is not a guess: a
		// replay, the loser of two counters at one code, a screen left
		// open. The clerk is told which, and it is not counted.
		if known := s.knownPaycode(ctx, in.Paycode); known != nil {
			return nil, known
		}
	}
	if code := jifen.ErrorCode(err); code == "invalid_paycode" || code == "invalid_pin" {
		for _, th := range throttles {
			if ferr := s.db.recordFailure(ctx, th.key); ferr != nil {
				return nil, ferr
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if out == nil {
		return s.redemption(ctx, id) // a retry: the first request's sale
	}
	if out.PersonID != a.PersonID {
		out.PickupCode = "" // the code is the buyer's to show (redemption)
	}
	return out, nil
}

var (
	errPaycodeUsed    = jifen.Errorf(jifen.KindInvalid, "invalid_paycode", "paycode", "这个付款码已经用过了，请让居民刷新付款码", "This pay code has been used; ask for a fresh one")
	errPaycodeExpired = jifen.Errorf(jifen.KindInvalid, "invalid_paycode", "paycode", "这个付款码已过期，请让居民刷新付款码", "This pay code has expired; ask for a fresh one")
)

// knownPaycode tells a refused pay code that was issued (spent or
// expired, kept an hour past its minute: paycodeSweep) from a guess, which
// is nil. A guess can hardly match an issued code: 10^17 of them.
func (s *StoreService) knownPaycode(ctx context.Context, code string) error {
	if !wellFormedPaycode(code) {
		return nil
	}
	var used sql.NullTime
	var expires time.Time
	if err := s.db.queryRow(ctx, "SELECT used_at, expires_at FROM paycodes WHERE code_hash = ?", paycodeHash(code)).Scan(&used, &expires); err != nil {
		return nil // not issued, or not known to be: counted as a guess
	}
	if used.Valid || expires.After(s.db.now()) {
		// Unused and live is all but impossible (a spend waits for the
		// other counter's, and then sees the code used or spends it);
		// told as used, as it was at that moment, and not a guess.
		return errPaycodeUsed
	}
	return errPaycodeExpired
}

// saleByKey is the sale (or order) a person made under an idempotency key.
const saleByKey = "SELECT id, request_hash FROM redemptions WHERE created_by = ? AND idem_key = ?"

// earlierSale is the id of the actor's committed sale or order under
// in's key, if any, and whether it was this same request.
func (s *StoreService) earlierSale(ctx context.Context, in jifen.RedemptionInput) (id int64, same bool) {
	var hash string
	err := s.db.queryRow(ctx, saleByKey, jifen.ActorFrom(ctx).PersonID, strings.TrimSpace(in.Key)).
		Scan(&id, &hash)
	if err != nil {
		return 0, false
	}
	return id, hash == redemptionRequestHash(in)
}

// redeem writes a sale or an order. It returns the new redemption as
// getRedemption would read it back, or, for a retry of an earlier
// request, that request's id and no redemption.
//
// It sends few statements, because on PostgreSQL a counter rush is paid
// in round trips: the buyer, the settings and the accounts are decided
// from memory (cacheReads, as an award's plan), and the sale's rows (the
// redemption, its lines, its ledger transaction and postings, stock
// movements) take ids drawn ahead and wait for the end, where they go in
// one statement with the roll-ups (later.go). What is left are the
// statements that decide: the idempotency lookup, the pay code, the
// buyer's debit (and lock, for a limit), and the stock; the item too when
// its remembered stock would refuse the sale (saleItem). On PostgreSQL
// the lookup and the pay code are one statement.
func (t *Tx) redeem(ctx context.Context, st *storeRow, in jifen.RedemptionInput, counter bool) (int64, *jifen.Redemption, error) {
	a := jifen.ActorFrom(ctx)
	rh := redemptionRequestHash(in)
	key := strings.TrimSpace(in.Key)
	var existing, spentBy sql.NullInt64
	var existingHash sql.NullString
	var err error
	// On PostgreSQL the idempotency lookup and the pay code are one round
	// trip: the code is spent only when the key is new.
	oneTrip := t.db.dialect.name() == "postgres" && wellFormedPaycode(in.Paycode)
	// In a group an earlier write's sale under the key may still wait for
	// the group's end (later.go): it is looked for in memory, and the
	// database is asked around the waiting rows (queryRowAround).
	if row := t.held.waitingRow("redemptions", "created_by", a.PersonID, "idem_key", key); row != nil {
		existing = sql.NullInt64{Int64: row["id"].(int64), Valid: true}
		existingHash = sql.NullString{String: row["request_hash"].(string), Valid: true}
	} else if oneTrip {
		now := t.db.now()
		err = t.queryRowAround(ctx, `WITH e AS (`+saleByKey+`),
			p AS (UPDATE paycodes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? AND NOT EXISTS (SELECT 1 FROM e) RETURNING person_id)
			SELECT (SELECT id FROM e), (SELECT request_hash FROM e), (SELECT person_id FROM p)`,
			a.PersonID, key, now, paycodeHash(in.Paycode), now).Scan(&existing, &existingHash, &spentBy)
	} else {
		err = t.queryRowAround(ctx, saleByKey, a.PersonID, key).Scan(&existing, &existingHash)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
	}
	if err != nil {
		return 0, nil, err
	}
	if existing.Valid {
		if existingHash.String != rh {
			return 0, nil, errMismatch
		}
		return existing.Int64, nil, nil
	}
	t.cacheReads = true
	defer func() { t.cacheReads = false }()
	buyer := a.PersonID
	pinGiven := false
	switch {
	case in.Paycode != "":
		switch {
		case spentBy.Valid:
			buyer = spentBy.Int64
		case oneTrip:
			return 0, nil, errBadPaycode
		default:
			if buyer, err = t.buyerFromPaycode(ctx, in.Paycode); err != nil {
				return 0, nil, err
			}
		}
		if in.PIN != "" {
			var hash sql.NullString
			if err := t.queryRow(ctx, "SELECT pin_hash FROM people WHERE id = ?", buyer).Scan(&hash); err != nil {
				return 0, nil, err
			}
			if !hash.Valid || !secret.CheckPassword(in.PIN, hash.String) {
				return 0, nil, errBadPIN
			}
			pinGiven = true
		}
	case in.VolunteerNo != "":
		if buyer, err = t.buyerFromCard(ctx, in.VolunteerNo, in.PIN); err != nil {
			return 0, nil, err
		}
		pinGiven = true
	}
	if counter && buyer == a.PersonID {
		return 0, nil, jifen.Conflict("self_approval", "店员不能给自己收银，请由其他店员操作", "A clerk cannot ring up their own purchase")
	}
	g, err := t.resolveTarget(ctx, buyer, 0)
	if err != nil {
		return 0, nil, err
	}
	if !jifen.PathContains(st.serves, g.path) {
		if !counter && !a.Has(st.path, jifen.StaffRoles...) {
			// A resident ordering sees only the stores that serve them:
			// another is answered as one that does not exist. Staff who
			// can open the store are told why instead.
			return 0, nil, errNoStore
		}
		return 0, nil, jifen.Errorf(jifen.KindForbidden, "not_served", "store_id", "这家店不为您所在的组织服务", "This store does not serve the buyer's org")
	}
	now := t.db.now()
	lines := append([]jifen.Line(nil), in.Lines...)
	sort.Slice(lines, func(i, j int) bool { return lines[i].ItemID < lines[j].ItemID })
	var total int64
	day := localDay(now)
	stocked := map[int64]bool{}
	locked := false
	for i, l := range lines {
		it, err := t.saleItem(ctx, l.ItemID, l.Quantity)
		if err != nil || it.StoreID != st.ID {
			return 0, nil, jifen.Errorf(jifen.KindInvalid, "invalid", "item_id", "商品不属于这家店", "The item is not sold here")
		}
		if it.Archived || (it.ValidFrom != "" && day < it.ValidFrom) || (it.ValidTo != "" && day > it.ValidTo) {
			return 0, nil, jifen.Errorf(jifen.KindInvalid, "invalid", "item_id", "“"+it.Name+"”已下架或不在兑换期内", it.Name+" is not on sale")
		}
		if it.PerPersonLimit > 0 {
			// One buyer at a time: limits are counted under the account's
			// lock. With no limit to count there is nothing to lock: the
			// debit is a conditional update that no overdraft gets past.
			if !locked {
				// The buyer's row, then the account (lockSubject).
				if err := t.lockSubject(ctx, buyer); err != nil {
					return 0, nil, err
				}
				if err := t.lockAccount(ctx, g.accountID); err != nil {
					return 0, nil, err
				}
				locked = true
			}
			var used int64
			if err := t.queryRow(ctx, `SELECT COALESCE(SUM(l.quantity), 0) FROM redemption_lines l JOIN redemptions r ON r.id = l.redemption_id
				WHERE r.person_id = ? AND l.item_id = ? AND r.status IN ('completed', 'held', 'confirming') AND r.created_at >= ?`,
				buyer, it.ID, it.LimitPeriod.Start(now).UTC()).Scan(&used); err != nil {
				return 0, nil, err
			}
			if used+l.Quantity > it.PerPersonLimit {
				return 0, nil, jifen.Conflict("limit_reached", fmt.Sprintf("“%s”%s每人限兑%d件，已兑%d件", it.Name, it.LimitPeriod.Zh(), it.PerPersonLimit, used),
					fmt.Sprintf("%s is limited to %d per person per %s; %d taken", it.Name, it.PerPersonLimit, it.LimitPeriod, used))
			}
		}
		if it.Stock != nil {
			// Too little on the shelf as just read is a refusal, as it
			// was a moment ago; enough is decided by the conditional
			// update at the end.
			if *it.Stock < l.Quantity {
				return 0, nil, errOutOfStock(it.Name)
			}
			stocked[it.ID] = true
		}
		lines[i].Name, lines[i].Points = it.Name, it.Points
		total += it.Points * l.Quantity
	}
	status := jifen.RedemptionCompleted
	var heldUntil any
	pickup := ""
	switch {
	case !counter:
		status = jifen.RedemptionHeld
		heldUntil = now.Add(time.Duration(st.HoldHours) * time.Hour)
		pickup = randomDigits(8)
	case st.ConfirmAbove > 0 && total > st.ConfirmAbove && !pinGiven:
		status = jifen.RedemptionConfirming
		heldUntil = now.Add(10 * time.Minute)
	}
	var doneAt, clerk any
	if status == jifen.RedemptionCompleted {
		doneAt = now
	}
	if counter {
		clerk = a.PersonID
	}
	id, err := t.aheadID(ctx, &t.db.redemptionIDs)
	if err != nil {
		return 0, nil, err
	}
	txID, err := t.aheadID(ctx, &t.db.txIDs)
	if err != nil {
		return 0, nil, err
	}
	storeAcct, err := t.accountID(ctx, jifen.AccountStore, st.ID)
	if err != nil {
		return 0, nil, err
	}
	if storeAcct == 0 {
		acct, err := t.account(ctx, jifen.AccountStore, st.ID)
		if err != nil {
			return 0, nil, err
		}
		storeAcct = acct.ID
	}
	if _, err := t.postLater(ctx, jifen.TxInput{Kind: jifen.TxRedemption, Key: "redemption:" + strconv.FormatInt(id, 10), OrgID: st.OrgID,
		Reason:   fmt.Sprintf("%s：%s", st.Name, linesText(lines)),
		Postings: []jifen.Posting{{AccountID: g.accountID, Amount: -total}, {AccountID: storeAcct, Amount: total}}}, txID); err != nil {
		return 0, nil, err
	}
	// A retry that raced this one here meets the unique key on
	// (created_by, idem_key) at the end, and Redeem answers it with the
	// first request's sale.
	t.insertLater("redemptions", `id, store_id, person_id, household_id, account_id, status, points, pickup_code, held_until, clerk_id,
		idem_key, request_hash, created_by, created_at, done_at, tx_id, buyer_org_id`,
		id, st.ID, buyer, nullZero(g.householdID), g.accountID, status, total, pickup, heldUntil, clerk, key, rh, a.PersonID, now, doneAt, txID, g.orgID)
	for _, l := range lines {
		t.insertLater("redemption_lines", "redemption_id, item_id, name, quantity, points", id, l.ItemID, l.Name, l.Quantity, l.Points)
	}
	_, subject := g.subject()
	if err := t.tallySale(ctx, g.orgID, g.path, subject, st.ID, month(now), total, false); err != nil {
		return 0, nil, err
	}
	// Stock is taken last, in item order: a popular item's row is then
	// locked only from here to the commit, not for the whole sale (at a
	// counter rush on PostgreSQL, sales queued on it for most of their
	// time). Taking it in the statement of the rows at the end, or after
	// them with the store's credit, held the item and the store longer
	// and sold less (BENCHMARKS.md, run I).
	//
	// On PostgreSQL a sale first waits its turn at the item in a queue of
	// its own (an advisory lock on the item, in the same statement): the
	// row's own lock is not first come, first served, and at a counter
	// rush some sales of a popular item waited ten times as long as the
	// rest (pgbench, 16 clients on one row: p99 86–119 ms plain, 35–45
	// ms queued, the same rate; BENCHMARKS.md, run U). Restocks, refunds
	// and releases take the row without queueing. A sale queues at each
	// item just before taking its row, in item order, the order in which
	// give-backs take the rows too, so none waits on another in a circle.
	kind := map[bool]string{true: "sale", false: "order"}[counter]
	for _, l := range lines {
		if !stocked[l.ItemID] {
			continue // unlimited: no stock, so no movement
		}
		var after int64
		const take = "UPDATE items SET stock = stock - ? WHERE id = ? AND stock >= ? RETURNING stock"
		args := []any{l.Quantity, l.ItemID, l.Quantity}
		var err error
		if t.db.dialect.name() == "postgres" {
			err = t.queryRow(ctx, queuedTake, append([]any{l.ItemID}, args...)...).Scan(&after)
			if errors.Is(err, sql.ErrNoRows) {
				// The statement read the row as it was before its turn
				// came: stock given back meanwhile (a refund, a restock)
				// was not there to see. Its turn held, the plain update
				// reads afresh.
				err = t.queryRow(ctx, take, args...).Scan(&after)
			}
		} else {
			err = t.queryRow(ctx, take, args...).Scan(&after)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil, errOutOfStock(l.Name)
		}
		if err != nil {
			return 0, nil, err
		}
		t.insertLater("stock_movements", "item_id, delta, kind, note, stock_after, redemption_id, created_by, created_at",
			l.ItemID, -l.Quantity, kind, "", after, id, actorID(a), now)
	}
	out := &jifen.Redemption{ID: id, StoreID: st.ID, StoreName: st.Name, PersonID: buyer, PersonName: g.name, Status: status, Points: total,
		Lines: lines, PickupCode: pickup, TxID: &txID, CreatedAt: now.In(jifen.Zone)}
	if g.householdID != 0 {
		out.HouseholdID = &g.householdID
	}
	if counter {
		out.ClerkID = &a.PersonID
	}
	if held, ok := heldUntil.(time.Time); ok {
		held = held.In(jifen.Zone)
		out.HeldUntil = &held
	}
	if status == jifen.RedemptionCompleted {
		done := now.In(jifen.Zone)
		out.DoneAt = &done
	}
	return id, out, nil
}

// queuedTake is PostgreSQL's stock update behind the item's queue (redeem):
// MATERIALIZED and EXISTS make the advisory lock a one-time filter, taken
// before the row is read. Keyed by schema too, as lockPresence is.
const queuedTake = `WITH turn AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), 7351005) # ?))
	UPDATE items SET stock = stock - ? WHERE id = ? AND stock >= ? AND EXISTS (SELECT 1 FROM turn) RETURNING stock`

func linesText(lines []jifen.Line) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprintf("%s×%d", l.Name, l.Quantity)
	}
	return strings.Join(parts, "、")
}

type redemptionRow struct {
	*jifen.Redemption
	accountID int64
	storePath string
}

// errNoStore answers a sale or order at a store that does not exist, or
// that the buyer ordering cannot see.
var errNoStore = jifen.Errorf(jifen.KindNotFound, "not_found", "store_id", "积分超市或商户不存在", "No such store")

const redemptionCols = `r.id, r.store_id, s.name, s.org_path, r.person_id, p.name, r.household_id, r.account_id, r.status, r.points, r.pickup_code,
	r.held_until, r.clerk_id, r.tx_id, r.refund_tx_id, r.refund_from_org, r.reason, r.created_at, r.done_at`

const redemptionFrom = ` FROM redemptions r JOIN stores s ON s.id = r.store_id JOIN people p ON p.id = r.person_id`

func scanRedemption(row interface{ Scan(...any) error }) (*redemptionRow, error) {
	r := &jifen.Redemption{}
	out := &redemptionRow{Redemption: r}
	var hh, clerk, tx, refund sql.NullInt64
	var held, done sql.NullTime
	if err := row.Scan(&r.ID, &r.StoreID, &r.StoreName, &out.storePath, &r.PersonID, &r.PersonName, &hh, &out.accountID, &r.Status, &r.Points,
		&r.PickupCode, &held, &clerk, &tx, &refund, &r.RefundFromOrg, &r.Reason, &r.CreatedAt, &done); err != nil {
		return nil, err
	}
	r.HouseholdID, r.ClerkID, r.TxID, r.RefundTxID = nullID(hh), nullID(clerk), nullID(tx), nullID(refund)
	r.HeldUntil, r.DoneAt, r.CreatedAt = timeOrNil(held), timeOrNil(done), r.CreatedAt.In(jifen.Zone)
	return out, nil
}

func getRedemption(ctx context.Context, q querier, id int64) (*redemptionRow, error) {
	r, err := scanRedemption(q.queryRow(ctx, "SELECT "+redemptionCols+redemptionFrom+" WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("redemption")
	}
	if err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, "SELECT item_id, name, quantity, points FROM redemption_lines WHERE redemption_id = ? ORDER BY item_id", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l jifen.Line
		if err := rows.Scan(&l.ItemID, &l.Name, &l.Quantity, &l.Points); err != nil {
			return nil, err
		}
		r.Lines = append(r.Lines, l)
	}
	return r, rows.Err()
}

// redemption returns a redemption to its buyer (and their household
// head), the store's clerks and managers.
func (s *StoreService) redemption(ctx context.Context, id int64) (*jifen.Redemption, error) {
	a := jifen.ActorFrom(ctx)
	r, err := getRedemption(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if r.PersonID != a.PersonID {
		st, err := s.db.cachedStore(ctx, r.StoreID)
		if err != nil {
			return nil, err
		}
		ok, err := s.db.cachedSells(ctx, a, st)
		if err != nil {
			return nil, err
		}
		if !ok {
			if head, err := headOf(ctx, s.db, a.PersonID, r.PersonID); err != nil || !head {
				return nil, cmpErr(err, jifen.NotFound("redemption"))
			}
		}
		r.PickupCode = "" // the code is the buyer's to show
	}
	return r.Redemption, nil
}

// Redemption returns one sale or order.
func (s *StoreService) Redemption(ctx context.Context, id int64) (*jifen.Redemption, error) {
	if jifen.ActorFrom(ctx) == nil {
		return nil, jifen.ErrUnauthorized
	}
	return s.redemption(ctx, id)
}

// lockedRedemption locks a redemption row and loads it.
func (t *Tx) lockedRedemption(ctx context.Context, id int64) (*redemptionRow, error) {
	if _, err := t.exec(ctx, "UPDATE redemptions SET status = status WHERE id = ?", id); err != nil {
		return nil, err
	}
	return getRedemption(ctx, t, id)
}

// giveBack returns an undone sale's points and stock as new entries:
// a refund transaction (from the store's account, or from its org's
// issuance account when the sale's period is already settled) and stock
// movements.
func (t *Tx) giveBack(ctx context.Context, r *redemptionRow, st *storeRow, kind, reason string) (int64, bool, error) {
	// Rows are taken in the order a sale takes them (the buyer's account,
	// the items, then the store's account), so a sale and a give-back
	// never wait on each other in a circle.
	if err := t.lockAccount(ctx, r.accountID); err != nil {
		return 0, false, err
	}
	// What needs no item is read before the items are taken: an item's
	// row, once taken, is held to the commit, and every sale of the item
	// queues behind it (a popular item's, at a counter rush).
	var orgID int64
	var path string
	if err := t.queryRow(ctx, "SELECT o.id, o.path FROM redemptions r JOIN orgs o ON o.id = r.buyer_org_id WHERE r.id = ?", r.ID).Scan(&orgID, &path); err != nil {
		return 0, false, err
	}
	now := t.db.now()
	for _, l := range r.Lines {
		// The stock after comes back with the update, and the movement
		// waits for the end, as a sale's does (redeem).
		var after int64
		err := t.queryRow(ctx, "UPDATE items SET stock = stock + ? WHERE id = ? AND stock IS NOT NULL RETURNING stock", l.Quantity, l.ItemID).Scan(&after)
		if errors.Is(err, sql.ErrNoRows) {
			continue // unlimited: no stock, so no movement
		}
		if err != nil {
			return 0, false, err
		}
		t.insertLater("stock_movements", "item_id, delta, kind, note, stock_after, redemption_id, created_by, created_at",
			l.ItemID, l.Quantity, kind, reason, after, r.ID, actorID(jifen.ActorFrom(ctx)), now)
	}
	// The store's account was opened by the sale (redeem), and its id is
	// remembered.
	from, err := t.accountID(ctx, jifen.AccountStore, st.ID)
	if err != nil {
		return 0, false, err
	}
	if from == 0 {
		acct, err := t.account(ctx, jifen.AccountStore, st.ID)
		if err != nil {
			return 0, false, err
		}
		from = acct.ID
	}
	fromOrg := false
	if r.DoneAt != nil {
		// Settle holds the store's account while it reads the period's
		// sales and pays them out: holding it first, a refund racing a
		// settlement sees whether that settlement paid for this sale
		// (the items' rows are taken before, as a sale takes them).
		if err := t.lockAccount(ctx, from); err != nil {
			return 0, false, err
		}
		if fromOrg, err = t.settled(ctx, st.ID, *r.DoneAt); err != nil {
			return 0, false, err
		}
		if fromOrg {
			// The store has been paid for this sale: the refund lands in
			// the statement of the period it is made in, paid from what
			// the org issues.
			org, err := t.account(ctx, jifen.AccountIssuance, st.OrgID)
			if err != nil {
				return 0, false, err
			}
			from = org.ID
		}
	}
	// Its key is new: the redemption's row is ours, and its status lets
	// it be given back once (postFresh).
	rev := *r.TxID
	tx, err := t.postFresh(ctx, jifen.TxInput{Kind: jifen.TxRefund, Key: kind + ":" + strconv.FormatInt(r.ID, 10), OrgID: st.OrgID, Reverses: &rev,
		Reason:   fmt.Sprintf("%s：%s（%s）", st.Name, map[string]string{"refund": "退货", "cancel": "取消预订", "release": "超时未取"}[kind], reason),
		Postings: []jifen.Posting{{AccountID: from, Amount: -r.Points}, {AccountID: r.accountID, Amount: r.Points}}}, 0)
	if err != nil {
		return 0, false, err
	}
	// A cancelled or released order never happened in its month; a refund
	// is counted when it is made. Either is booked where the sale was: the
	// org the buyer lived in then (orgID, read above), whatever their home
	// now.
	when := r.CreatedAt
	if kind == "refund" {
		when = now
	}
	if err := t.tallySale(ctx, orgID, path, r.PersonID, st.ID, month(when), -r.Points, kind == "refund"); err != nil {
		return 0, false, err
	}
	return tx.ID, fromOrg, nil
}

// settled reports whether the month or year holding t is settled for a
// store.
func (t *Tx) settled(ctx context.Context, storeID int64, at time.Time) (bool, error) {
	l := at.In(jifen.Zone)
	var n int
	err := t.queryRow(ctx, "SELECT COUNT(*) FROM settlements WHERE store_id = ? AND period IN (?, ?)", storeID, l.Format("2006-01"), l.Format("2006")).Scan(&n)
	return n > 0, err
}

// Confirm is the buyer agreeing to a counter sale above the threshold.
func (s *StoreService) Confirm(ctx context.Context, id int64) (*jifen.Redemption, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	expired := false
	err := s.db.inTx(ctx, func(tx *Tx) error {
		expired = false
		r, err := tx.lockedRedemption(ctx, id)
		if err != nil {
			return err
		}
		if r.PersonID != a.PersonID {
			return jifen.NotFound("redemption")
		}
		if r.Status != jifen.RedemptionConfirming {
			return jifen.Conflict("not_confirming", "这笔兑换不需要确认（"+r.Status.Zh()+"）", "This sale is not waiting for you")
		}
		if r.HeldUntil != nil && !s.db.now().Before(*r.HeldUntil) {
			// Too late: the counter may have rung it up again since. The
			// sale is released here and now, as the sweeper would.
			st, err := tx.cachedStore(ctx, r.StoreID)
			if err != nil {
				return err
			}
			txID, _, err := tx.giveBack(ctx, r, st, "release", "")
			if err != nil {
				return err
			}
			expired = true
			_, err = tx.exec(ctx, "UPDATE redemptions SET status = 'released', refund_tx_id = ?, refunded_at = ? WHERE id = ?", txID, s.db.now(), id)
			return err
		}
		_, err = tx.exec(ctx, "UPDATE redemptions SET status = 'completed', done_at = ?, held_until = NULL WHERE id = ?", s.db.now(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if expired {
		return nil, jifen.Conflict("confirmation_expired", "确认已超时，这笔兑换已取消，积分已退回；请到柜台重新办理", "Too late to confirm: the sale was cancelled and the points returned")
	}
	return s.redemption(ctx, id)
}

// Fulfil hands over a pick-up order: the clerk scans or types its code.
func (s *StoreService) Fulfil(ctx context.Context, id int64, code string) (*jifen.Redemption, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	code = strings.TrimSpace(code)
	err := s.db.inTx(ctx, func(tx *Tx) error {
		r, err := tx.lockedRedemption(ctx, id)
		if err != nil {
			return err
		}
		// The store and its clerks from memory, as at the counter (Redeem).
		st, err := tx.cachedStore(ctx, r.StoreID)
		if err != nil {
			return err
		}
		if ok, err := tx.cachedSells(ctx, a, st); err != nil || !ok {
			return cmpErr(err, notClerk(a, st, "redemption"))
		}
		if r.Status != jifen.RedemptionHeld {
			return jifen.Conflict("not_held", "这笔预订不能取货（"+r.Status.Zh()+"）", "This order cannot be fetched ("+string(r.Status)+")")
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(r.PickupCode)) != 1 {
			return jifen.Errorf(jifen.KindInvalid, "invalid_code", "code", "取货码不正确", "The pick-up code is wrong")
		}
		_, err = tx.exec(ctx, "UPDATE redemptions SET status = 'completed', done_at = ?, clerk_id = ? WHERE id = ?", s.db.now(), a.PersonID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.redemption(ctx, id)
}

// Cancel undoes an order (or a sale waiting for confirmation) before it
// is handed over: by the buyer, or by the store.
func (s *StoreService) Cancel(ctx context.Context, id int64) (*jifen.Redemption, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		r, err := tx.lockedRedemption(ctx, id)
		if err != nil {
			return err
		}
		st, err := tx.cachedStore(ctx, r.StoreID)
		if err != nil {
			return err
		}
		if r.PersonID != a.PersonID {
			if ok, err := tx.cachedSells(ctx, a, st); err != nil || !ok {
				return cmpErr(err, jifen.NotFound("redemption"))
			}
		}
		if r.Status != jifen.RedemptionHeld && r.Status != jifen.RedemptionConfirming {
			return jifen.Conflict("not_cancellable", "只有待取货或待确认的兑换可以取消（"+r.Status.Zh()+"）", "Only an order not yet handed over can be cancelled")
		}
		txID, _, err := tx.giveBack(ctx, r, st, "cancel", "")
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "UPDATE redemptions SET status = 'cancelled', refund_tx_id = ?, refunded_at = ?, held_until = NULL WHERE id = ?", txID, s.db.now(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.redemption(ctx, id)
}

// Refund reverses a completed sale within the store's window.
func (s *StoreService) Refund(ctx context.Context, id int64, reason string) (*jifen.Redemption, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return nil, jifen.Invalid("reason", "退货必须说明原因", "A refund needs a reason")
	}
	if len([]rune(reason)) > 200 {
		return nil, jifen.Invalid("reason", "原因不能超过200字", "The reason is at most 200 characters")
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		r, err := tx.lockedRedemption(ctx, id)
		if err != nil {
			return err
		}
		st, err := tx.cachedStore(ctx, r.StoreID)
		if err != nil {
			return err
		}
		if ok, err := tx.cachedSells(ctx, a, st); err != nil || !ok {
			if r.PersonID == a.PersonID {
				return jifen.ErrForbidden
			}
			return cmpErr(err, jifen.NotFound("redemption"))
		}
		switch {
		case r.Status == jifen.RedemptionRefunded:
			return jifen.Conflict("already_refunded", "这笔兑换已经退过了", "This sale has already been refunded")
		case r.Status != jifen.RedemptionCompleted:
			return jifen.Conflict("not_refundable", "只有已完成的兑换可以退货（"+r.Status.Zh()+"）", "Only a completed sale can be refunded")
		case r.DoneAt != nil && s.db.now().After(jifen.DaysAfter(*r.DoneAt, st.RefundDays)):
			return jifen.Conflict("refund_window_closed", fmt.Sprintf("已超过%d天的退货期限", st.RefundDays), fmt.Sprintf("Refunds close after %d days", st.RefundDays))
		}
		txID, fromOrg, err := tx.giveBack(ctx, r, st, "refund", reason)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE redemptions SET status = 'refunded', refund_tx_id = ?, refunded_at = ?, reason = ?, refund_from_org = ? WHERE id = ?",
			txID, s.db.now(), reason, fromOrg, id); err != nil {
			return err
		}
		if err := tx.sendMessage(ctx, r.PersonID, say("兑换已退货", "Purchase refunded"),
			say(fmt.Sprintf("您在%s的兑换已退货，%d积分已退回。原因：%s", st.Name, r.Points, reason),
				fmt.Sprintf("Your purchase at %s is refunded: %d points are back. Reason: %s", st.Name, r.Points, reason))); err != nil {
			return err
		}
		return tx.audit(ctx, st.OrgID, st.path, "redemption.refund", "redemption", id, reason)
	})
	if err != nil {
		return nil, err
	}
	return s.redemption(ctx, id)
}

// ReleaseExpired releases pick-up orders nobody fetched and counter sales
// nobody confirmed, giving back their points and stock.
func (s *StoreService) ReleaseExpired(ctx context.Context) (int, error) {
	if !jifen.ActorFrom(ctx).IsSuperAdmin() {
		return 0, jifen.ErrForbidden
	}
	rows, err := s.db.query(ctx, "SELECT id FROM redemptions WHERE status IN ('held', 'confirming') AND held_until < ? ORDER BY id LIMIT 1000", s.db.now())
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		released := false
		err := s.db.inTx(ctx, func(tx *Tx) error {
			released = false
			r, err := tx.lockedRedemption(ctx, id)
			if err != nil {
				return err
			}
			// Another instance, the buyer or the clerk may have got there first.
			if (r.Status != jifen.RedemptionHeld && r.Status != jifen.RedemptionConfirming) || r.HeldUntil == nil || !r.HeldUntil.Before(s.db.now()) {
				return nil
			}
			st, err := tx.cachedStore(ctx, r.StoreID)
			if err != nil {
				return err
			}
			txID, _, err := tx.giveBack(ctx, r, st, "release", "")
			if err != nil {
				return err
			}
			if _, err := tx.exec(ctx, "UPDATE redemptions SET status = 'released', refund_tx_id = ?, refunded_at = ? WHERE id = ?", txID, s.db.now(), id); err != nil {
				return err
			}
			released = true
			return tx.sendMessage(ctx, r.PersonID, say("预订已释放", "Order released"),
				say(fmt.Sprintf("您在%s的预订超时未取，%d积分已退回。", r.StoreName, r.Points),
					fmt.Sprintf("Your order at %s was not picked up in time: %d points are back.", r.StoreName, r.Points)))
		})
		if err != nil {
			return n, err
		}
		if released {
			n++
		}
	}
	return n, nil
}

// Redemptions lists sales and orders: the actor's own (Mine), or a
// store's for its clerks and managers.
func (s *StoreService) Redemptions(ctx context.Context, f jifen.RedemptionFilter) ([]*jifen.Redemption, int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 50, 200)
	var where string
	var args []any
	if f.Mine {
		where, args = "r.person_id = ?", []any{a.PersonID}
	} else {
		st, err := getStore(ctx, s.db, f.StoreID)
		if err != nil {
			return nil, 0, err
		}
		if ok, err := sells(ctx, s.db, a, st); err != nil || !ok {
			return nil, 0, cmpErr(err, jifen.NotFound("store"))
		}
		where, args = "r.store_id = ?", []any{f.StoreID}
		if f.Status == jifen.RedemptionHeld {
			// Orders waiting at the counter: few in the whole county (the
			// unfetched are released), and found by status; "+ 0" keeps
			// the planner off the store's indexes, which hold every sale
			// the store ever made.
			where = "r.store_id + 0 = ?"
		}
	}
	if f.Status != "" {
		where += " AND r.status = ?"
		args = append(args, f.Status)
	}
	if f.Day != "" {
		d, err := time.ParseInLocation("2006-01-02", f.Day, jifen.Zone)
		if err != nil {
			return nil, 0, jifen.Invalid("day", "日期格式应为 年-月-日", "A day looks like 2026-11-29")
		}
		where += " AND r.created_at >= ? AND r.created_at < ?"
		args = append(args, d.UTC(), d.AddDate(0, 0, 1).UTC())
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM redemptions r WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, "SELECT r.id"+redemptionFrom+" WHERE "+where+" ORDER BY r.id DESC LIMIT ? OFFSET ?", append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return nil, 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	out := []*jifen.Redemption{}
	for _, id := range ids {
		r, err := getRedemption(ctx, s.db, id)
		if err != nil {
			return nil, 0, err
		}
		if !f.Mine {
			r.PickupCode = ""
		}
		out = append(out, r.Redemption)
	}
	return out, total, nil
}
