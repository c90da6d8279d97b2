package sqldb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"jifen"
)

// LedgerService implements jifen.LedgerService. See ARCHITECTURE.md for
// why it is shaped this way: conditional updates instead of locks on
// spendable accounts, no stored balance on issuance accounts, a hash per
// transaction and a sealer that chains blocks after the fact, so writers
// never queue behind one chain head.
type LedgerService struct{ db *DB }

// NewLedgerService returns the ledger on db.
func NewLedgerService(db *DB) *LedgerService { return &LedgerService{db} }

// genesis is the previous hash of the first block.
var genesis = strings.Repeat("0", 64)

// maxAmount bounds one posting, far above any real award, so sums of many
// postings cannot overflow int64.
const maxAmount = 1_000_000_000_000

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// requestHash fingerprints what a caller asked for, to tell a retry (same
// key, same request) from a different request reusing a key.
func requestHash(in jifen.TxInput) string {
	ps := append([]jifen.Posting(nil), in.Postings...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].AccountID < ps[j].AccountID })
	var b strings.Builder
	rev := int64(0)
	if in.Reverses != nil {
		rev = *in.Reverses
	}
	fmt.Fprintf(&b, "%s|%d|%d|%t|%s", in.Kind, in.OrgID, rev, in.Clamp, in.Reason)
	for _, p := range ps {
		fmt.Fprintf(&b, "|%d:%d:%d", p.AccountID, p.Amount, p.Score)
	}
	return sha(b.String())
}

// accountID names an account in hashes: its id with its kind and owner,
// so turning a person's account into an issuance one (which may go
// negative) or handing it to another owner breaks every hash it is in.
type accountID struct {
	kind  jifen.AccountKind
	owner int64
}

// txHash is the content hash of a posted transaction: ids and amounts only,
// no names and no reason text, so erasing a person's data under PIPL never
// breaks the chain. Postings are in account order.
func txHash(kind jifen.TxKind, key string, org int64, createdAt time.Time, reverses *int64, shortfall int64, ps []jifen.Posting, accts map[int64]accountID) string {
	rev := int64(0)
	if reverses != nil {
		rev = *reverses
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%d|%d|%d|%d", kind, sha(key), org, createdAt.UTC().UnixMicro(), rev, shortfall)
	for _, p := range ps {
		a := accts[p.AccountID]
		fmt.Fprintf(&b, "|%d/%s/%d:%d:%d", p.AccountID, a.kind, a.owner, p.Amount, p.Score)
	}
	return sha(b.String())
}

// blockRoot hashes a block's transactions in id order, ids included, so a
// swapped, dropped or added transaction changes it.
func blockRoot(ids []int64, hashes []string) string {
	var b strings.Builder
	for i, id := range ids {
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte(':')
		b.WriteString(hashes[i])
		b.WriteByte('\n')
	}
	return sha(b.String())
}

func blockHash(number int64, prev, root string, count int, sealedAt time.Time) string {
	return sha(fmt.Sprintf("%d|%s|%s|%d|%d", number, prev, root, count, sealedAt.UTC().UnixMicro()))
}

// account returns the account of an owner, creating it on first use.
func (t *Tx) account(ctx context.Context, kind jifen.AccountKind, owner int64) (*jifen.Account, error) {
	if !kind.Valid() {
		return nil, jifen.Invalid("kind", "账户类型不正确", "Unknown account kind")
	}
	a := &jifen.Account{}
	get := func() error {
		return t.queryRow(ctx, "SELECT id, kind, owner_id, balance, score FROM accounts WHERE kind = ? AND owner_id = ?", kind, owner).
			Scan(&a.ID, &a.Kind, &a.OwnerID, &a.Balance, &a.Score)
	}
	// Almost always the account exists: read first, write only the first time.
	if err := get(); !errors.Is(err, sql.ErrNoRows) {
		return a, err
	}
	t.openedAccount = true
	if _, err := t.exec(ctx, "INSERT INTO accounts (kind, owner_id, created_at) VALUES (?, ?, ?) ON CONFLICT (kind, owner_id) DO NOTHING",
		kind, owner, t.db.now()); err != nil {
		return nil, err
	}
	return a, get()
}

var errMismatch = jifen.Conflict("idempotency_mismatch", "这个幂等键已用于另一笔不同的请求", "This idempotency key was used for a different request")

// post writes one transaction inside the caller's transaction. Spendable
// accounts are debited by a conditional update, so no balance ever goes
// below zero whatever runs beside it; issuance accounts are not updated.
func (t *Tx) post(ctx context.Context, in jifen.TxInput) (*jifen.Transaction, error) {
	return t.postKeyed(ctx, in, false, 0, false)
}

// postFresh is post for a key no transaction can hold yet, because it is
// made from a row written in this same transaction ("award:<id>"): the
// idempotency lookup is skipped; the unique index still stands behind it.
// id, when not 0, is the transaction's id drawn ahead (idblock.go).
func (t *Tx) postFresh(ctx context.Context, in jifen.TxInput, id int64) (*jifen.Transaction, error) {
	return t.postKeyed(ctx, in, true, id, t.defersRows())
}

// postLater is postFresh for a transaction whose row always waits with
// its postings for the end (a sale's: redeem): id must be drawn ahead
// (aheadID).
func (t *Tx) postLater(ctx context.Context, in jifen.TxInput, id int64) (*jifen.Transaction, error) {
	return t.postKeyed(ctx, in, true, id, true)
}

func (t *Tx) postKeyed(ctx context.Context, in jifen.TxInput, fresh bool, id int64, waits bool) (*jifen.Transaction, error) {
	if !in.Kind.Valid() {
		return nil, jifen.Invalid("kind", "交易类型不正确", "Unknown transaction kind")
	}
	in.Key = strings.TrimSpace(in.Key)
	if in.Key == "" || len(in.Key) > 200 {
		return nil, jifen.Invalid("idempotency_key", "缺少幂等键（Idempotency-Key），或长度超过200", "An Idempotency-Key of 1 to 200 characters is required")
	}
	if len(in.Postings) < 2 {
		return nil, jifen.Invalid("postings", "一笔交易至少有两条分录", "A transaction has at least two postings")
	}
	var sum int64
	moves := false
	for _, p := range in.Postings {
		// A leg may be zero (the counterpart of a score-only change, such as
		// reversing a deduction that found nothing to take), but something
		// must move.
		moves = moves || p.Amount != 0 || p.Score != 0
		if p.Amount > maxAmount || p.Amount < -maxAmount || p.Score > maxAmount || p.Score < -maxAmount {
			return nil, jifen.Invalid("amount", "积分数额超出范围", "The amount is out of range")
		}
		sum += p.Amount
	}
	if sum != 0 {
		return nil, jifen.Invalid("postings", "分录合计必须为零", "Postings must sum to zero")
	}
	if !moves {
		return nil, jifen.Invalid("amount", "分录金额不能全部为零", "A transaction must move something")
	}
	rh := requestHash(in)
	if !fresh {
		var existing int64
		var existingHash string
		err := t.queryRow(ctx, "SELECT id, request_hash FROM ledger_transactions WHERE idem_key = ?", in.Key).Scan(&existing, &existingHash)
		if err == nil {
			if existingHash != rh {
				return nil, errMismatch
			}
			return t.loadTx(ctx, existing) // a retry: the first answer, nothing written
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}

	ps := append([]jifen.Posting(nil), in.Postings...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].AccountID < ps[j].AccountID })
	kinds := map[int64]jifen.AccountKind{}
	accts := map[int64]accountID{}
	if err := t.nameAccounts(ctx, ps, kinds, accts); err != nil {
		return nil, err
	}
	for _, p := range ps {
		if _, ok := kinds[p.AccountID]; !ok {
			return nil, jifen.Invalid("account_id", "账户不存在", "No such account")
		}
	}
	var shortfall int64
	var err error
	if in.Clamp {
		if shortfall, err = t.clamp(ctx, ps, kinds); err != nil {
			return nil, err
		}
	}
	// Debits now, in id order so two transactions never wait on each
	// other in opposite orders; credits, which cannot fail, wait for the
	// commit (later.go), so a store's account, which every sale credits,
	// is held only for the commit. A refund (debit of the store, credit of
	// the buyer) beside a sale of the same pair can then wait in a circle;
	// PostgreSQL breaks it and the loser runs again (retryTx).
	for _, p := range ps {
		if !kinds[p.AccountID].Spendable() || p.Amount >= 0 {
			continue
		}
		// The debit's answer depends on its account's row alone: what
		// waits to be written for other accounts (a group's earlier sales'
		// credits to their store) need not be written first.
		run := t.exec
		if !t.held.credited(p.AccountID) && !t.pending.credited(p.AccountID) {
			run = t.rawExec
		}
		res, err := run(ctx, "UPDATE accounts SET balance = balance + ?, score = score + ? WHERE id = ? AND balance + ? >= 0",
			p.Amount, p.Score, p.AccountID, p.Amount)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, jifen.Conflict("insufficient_points", "积分不足", "Not enough points")
		}
	}
	// Queued after the debits: a debit of an account with a credit
	// waiting writes what waits first.
	for _, p := range ps {
		if kinds[p.AccountID].Spendable() && p.Amount >= 0 {
			t.pending.credit(p.AccountID, p.Amount, p.Score)
		}
	}
	now := t.db.now()
	tx := &jifen.Transaction{Kind: in.Kind, Key: in.Key, Reason: in.Reason, OrgID: in.OrgID, Reverses: in.Reverses,
		Shortfall: shortfall, CreatedAt: now.In(jifen.Zone), Postings: ps}
	tx.Hash = txHash(in.Kind, in.Key, in.OrgID, now, in.Reverses, shortfall, ps, accts)
	var org any
	if in.OrgID != 0 {
		org = in.OrgID
	}
	args := []any{in.Kind, in.Key, rh, in.Reason, org, in.Reverses, shortfall, actorID(jifen.ActorFrom(ctx)), now, tx.Hash}
	const cols, values = "kind, idem_key, request_hash, reason, org_id, reverses_id, shortfall, created_by, created_at, hash", "?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
	switch {
	case fresh && id != 0 && waits:
		// An award's in a group, or a sale's: its id is known and the
		// row that refers to it waits too; the row waits with its
		// postings and goes with the others at the end.
		tx.ID = id
		t.insertLater("ledger_transactions", "id, "+cols, append([]any{id}, args...)...)
	case id != 0:
		tx.ID = id
		if _, err := t.exec(ctx, "INSERT INTO ledger_transactions (id, "+cols+") VALUES (?, "+values+")", append([]any{id}, args...)...); err != nil {
			return nil, err
		}
	default:
		if tx.ID, err = t.insertRow(ctx, &t.db.txIDs, cols, values, args...); err != nil {
			return nil, err
		}
	}
	// Nothing in this transaction reads them back: they are written with
	// the others' at its end (later.go).
	for _, p := range ps {
		t.insertLater("postings", "tx_id, account_id, amount, score", tx.ID, p.AccountID, p.Amount, p.Score)
	}
	t.insertLater("unsealed", "tx_id", tx.ID)
	return tx, nil
}

// nameAccounts fills in the kind and owner of each posting's account,
// from memory when every one is known (accounts.go).
func (t *Tx) nameAccounts(ctx context.Context, ps []jifen.Posting, kinds map[int64]jifen.AccountKind, accts map[int64]accountID) error {
	known := true
	for _, p := range ps {
		a, ok := t.db.accounts.lookup(p.AccountID)
		if !ok {
			known = false
			break
		}
		kinds[p.AccountID], accts[p.AccountID] = a.kind, a
	}
	if known {
		return nil
	}
	args := make([]any, len(ps))
	for i, p := range ps {
		args[i] = p.AccountID
	}
	// Around what waits: the credits waiting for accounts change balances,
	// not who owns what. Writing them here, part-way through a group, took
	// its accounts in two rounds, each in id order but not the two
	// together, which another group could meet in a circle (on a
	// county's server, where the names kept in memory start again at
	// 200,000 accounts).
	rows, err := t.queryAround(ctx, "SELECT id, kind, owner_id FROM accounts WHERE id IN ("+marks(len(ps))+")", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a accountID
		if err := rows.Scan(&id, &a.kind, &a.owner); err != nil {
			return err
		}
		kinds[id], accts[id] = a.kind, a
		if t.sawCommittedAccounts() {
			t.db.accounts.keep(id, a.kind, a.owner)
		}
	}
	return rows.Err()
}

// clamp lets the one debit of a spendable account take no more than its
// balance, moving the rest to the shortfall; the counterpart (the one
// credit) shrinks by as much. The debit's score change is left whole: a
// deduction counts in full against what was earned.
func (t *Tx) clamp(ctx context.Context, ps []jifen.Posting, kinds map[int64]jifen.AccountKind) (int64, error) {
	debit, credit := -1, -1
	for i, p := range ps {
		switch {
		case p.Amount < 0 && kinds[p.AccountID].Spendable():
			if debit >= 0 {
				return 0, jifen.Invalid("postings", "只能对一个账户扣减", "Only one account can be debited here")
			}
			debit = i
		case p.Amount > 0:
			credit = i
		}
	}
	if debit < 0 || credit < 0 || len(ps) != 2 {
		return 0, nil
	}
	// The no-op update takes the row lock: the balance read next is the
	// one the debit will see.
	if _, err := t.exec(ctx, "UPDATE accounts SET balance = balance WHERE id = ?", ps[debit].AccountID); err != nil {
		return 0, err
	}
	var bal int64
	if err := t.queryRow(ctx, "SELECT balance FROM accounts WHERE id = ?", ps[debit].AccountID).Scan(&bal); err != nil {
		return 0, err
	}
	want := -ps[debit].Amount
	if want <= bal {
		return 0, nil
	}
	shortfall := want - bal
	// Legs may reach zero (nothing left to take): they stay, so the record
	// still shows whose points were meant to move.
	ps[debit].Amount += shortfall
	ps[credit].Amount -= shortfall
	return shortfall, nil
}

func (t *Tx) loadTx(ctx context.Context, id int64) (*jifen.Transaction, error) {
	tx := &jifen.Transaction{ID: id}
	var org, rev sql.NullInt64
	err := t.queryRow(ctx, "SELECT kind, idem_key, reason, org_id, reverses_id, shortfall, created_at, hash FROM ledger_transactions WHERE id = ?", id).
		Scan(&tx.Kind, &tx.Key, &tx.Reason, &org, &rev, &tx.Shortfall, &tx.CreatedAt, &tx.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("transaction")
	}
	if err != nil {
		return nil, err
	}
	tx.OrgID = org.Int64
	if rev.Valid {
		tx.Reverses = &rev.Int64
	}
	tx.CreatedAt = tx.CreatedAt.In(jifen.Zone)
	rows, err := t.query(ctx, "SELECT account_id, amount, score FROM postings WHERE tx_id = ? ORDER BY account_id, id", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p jifen.Posting
		if err := rows.Scan(&p.AccountID, &p.Amount, &p.Score); err != nil {
			return nil, err
		}
		tx.Postings = append(tx.Postings, p)
	}
	return tx, rows.Err()
}

// Post writes a transaction for a super admin or the system (openings,
// corrections); features post through their own services with tx.post.
// A concurrent retry with the same key may lose the race on the unique
// key: it is run once more and then finds the first one's answer.
func (s *LedgerService) Post(ctx context.Context, in jifen.TxInput) (*jifen.Transaction, error) {
	if !jifen.ActorFrom(ctx).IsSuperAdmin() {
		return nil, jifen.ErrForbidden
	}
	var out *jifen.Transaction
	var err error
	for try := 0; try < 2; try++ {
		err = s.db.inTx(ctx, func(tx *Tx) error {
			var err error
			out, err = tx.post(ctx, in)
			return err
		})
		if jifen.ErrorCode(err) != "duplicate" {
			break
		}
	}
	return out, err
}

// Account returns an owner's account, creating it on first use.
func (s *LedgerService) Account(ctx context.Context, kind jifen.AccountKind, owner int64) (*jifen.Account, error) {
	if jifen.ActorFrom(ctx) == nil {
		return nil, jifen.ErrUnauthorized
	}
	var a *jifen.Account
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var err error
		a, err = tx.account(ctx, kind, owner)
		return err
	})
	return a, err
}

// Transaction returns one transaction with its postings.
func (s *LedgerService) Transaction(ctx context.Context, id int64) (*jifen.Transaction, error) {
	if jifen.ActorFrom(ctx) == nil {
		return nil, jifen.ErrUnauthorized
	}
	var out *jifen.Transaction
	err := s.db.readTx(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.loadTx(ctx, id)
		return err
	})
	return out, err
}

// maxBlock bounds one block; a backlog is sealed over several.
const maxBlock = 5000

// errSealedMeanwhile: what a sealer read was sealed by another before it
// took the writer (`jifen verify` seals too).
var errSealedMeanwhile = errors.New("sqldb: sealed meanwhile")

// Seal puts committed, unsealed transactions into the next block. On
// PostgreSQL an advisory lock lets one instance seal at a time; the others
// find the lock taken and return nil.
func (s *LedgerService) Seal(ctx context.Context) (*jifen.Block, error) {
	// What to seal, and its root, are read and worked out on the read
	// pool before the writer is taken: on SQLite every write waits while
	// a seal holds it, and a second's awards under load (3,000) read there
	// had held it long enough for one request in five to wait
	// (BENCHMARKS.md, run T). One lookup per waiting transaction: as a
	// join, PostgreSQL merged the queue with the whole ledger's index, and
	// under load that query was running a fifth of the time. Most ticks
	// it finds nothing.
	rows, err := s.db.query(ctx, "SELECT u.tx_id, (SELECT t.hash FROM ledger_transactions t WHERE t.id = u.tx_id) FROM unsealed u ORDER BY u.tx_id LIMIT ?", maxBlock)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var hashes []string
	for rows.Next() {
		var id int64
		var h string
		if err := rows.Scan(&id, &h); err != nil {
			rows.Close()
			return nil, err
		}
		ids, hashes = append(ids, id), append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, err
	}
	root := blockRoot(ids, hashes)
	var b *jifen.Block
	err = s.db.inTx(ctx, func(tx *Tx) error {
		b = nil
		if s.db.dialect.name() == "postgres" {
			var got bool
			// One sealer per schema: other jifens (or test runs) in other
			// schemas of the same server seal their own ledgers.
			if err := tx.queryRow(ctx, "SELECT pg_try_advisory_xact_lock(7351002, hashtext(current_schema()))").Scan(&got); err != nil || !got {
				return err
			}
		}
		// Taken off the queue first: if another sealer took some of them
		// since they were read, nothing of this block is written.
		var taken int64
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			res, err := tx.exec(ctx, "DELETE FROM unsealed WHERE tx_id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+")", args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			taken += n
		}
		if taken != int64(len(ids)) {
			return errSealedMeanwhile
		}
		prev, number := genesis, int64(1)
		err := tx.queryRow(ctx, "SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1").Scan(&number, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			prev, number = genesis, 0
		} else if err != nil {
			return err
		}
		number++
		now := s.db.now()
		blk := &jifen.Block{Number: number, Count: len(ids), Root: root, PrevHash: prev, SealedAt: now.In(jifen.Zone)}
		blk.Hash = blockHash(number, prev, blk.Root, blk.Count, now)
		if _, err := tx.exec(ctx, "INSERT INTO blocks (number, tx_count, root, prev_hash, hash, sealed_at) VALUES (?, ?, ?, ?, ?, ?)",
			number, blk.Count, blk.Root, prev, blk.Hash, now); err != nil {
			return err
		}
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			var sb strings.Builder
			args := make([]any, 0, 2*len(chunk))
			sb.WriteString("INSERT INTO block_items (block_number, tx_id) VALUES ")
			for i, id := range chunk {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?)")
				args = append(args, number, id)
			}
			if _, err := tx.exec(ctx, sb.String(), args...); err != nil {
				return err
			}
		}
		b = blk
		return nil
	})
	if errors.Is(err, errSealedMeanwhile) {
		return nil, nil // the next tick reads again
	}
	return b, err
}

// LatestBlock is the head of the chain, or nil before the first seal.
func (s *LedgerService) LatestBlock(ctx context.Context) (*jifen.Block, error) {
	b := &jifen.Block{}
	err := s.db.queryRow(ctx, "SELECT number, tx_count, root, prev_hash, hash, sealed_at FROM blocks ORDER BY number DESC LIMIT 1").
		Scan(&b.Number, &b.Count, &b.Root, &b.PrevHash, &b.Hash, &b.SealedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	b.SealedAt = b.SealedAt.In(jifen.Zone)
	return b, err
}

// Verify recomputes the ledger from its rows and stops at the first thing
// that does not add up, naming it in the report's Problem.
func (s *LedgerService) Verify(ctx context.Context, anchor string) (*jifen.VerifyReport, error) {
	var r *jifen.VerifyReport
	err := s.db.snapshot(ctx, func(tx *Tx) error {
		var err error
		r, err = s.verify(ctx, tx, anchor)
		return err
	})
	return r, err
}

// verify reads everything inside one snapshot, so writes landing while it
// runs are either wholly in it or wholly out of it, never half.
//
// It streams: transactions, postings and blocks pass through once each, and
// what stays in memory is a few dozen bytes per account (its kind and owner
// for the hashes, the sums of its postings). A county of 13 M transactions
// and 1 M accounts verifies in the memory of its accounts, not its history.
func (s *LedgerService) verify(ctx context.Context, tx *Tx, anchor string) (*jifen.VerifyReport, error) {
	r := &jifen.VerifyReport{}
	fail := func(format string, args ...any) (*jifen.VerifyReport, error) {
		r.Problem = fmt.Sprintf(format, args...)
		return r, nil
	}
	accts := map[int64]accountID{}
	kinds := map[string]jifen.AccountKind{} // one string per kind, not per account
	arows0, err := tx.query(ctx, "SELECT id, kind, owner_id FROM accounts")
	if err != nil {
		return nil, err
	}
	for arows0.Next() {
		var id int64
		var kind string
		var a accountID
		if err := arows0.Scan(&id, &kind, &a.owner); err != nil {
			arows0.Close()
			return nil, err
		}
		k, ok := kinds[kind]
		if !ok {
			k = jifen.AccountKind(kind)
			kinds[kind] = k
		}
		a.kind = k
		accts[id] = a
	}
	arows0.Close()
	if err := arows0.Err(); err != nil {
		return nil, err
	}
	// 1. Every transaction: its postings sum to zero and its hash holds.
	// Each row says whether a block seals the transaction (an item of a
	// block that exists: an item left behind by a deleted block seals
	// nothing) or the queue holds it, for step 4.
	rows, err := tx.query(ctx, `SELECT t.id, t.kind, t.idem_key, COALESCE(t.org_id, 0), t.created_at, t.reverses_id, t.shortfall, t.hash, p.account_id, p.amount, p.score,
			b.number IS NOT NULL, u.tx_id IS NOT NULL
		FROM ledger_transactions t LEFT JOIN block_items i ON i.tx_id = t.id LEFT JOIN blocks b ON b.number = i.block_number
			LEFT JOIN unsealed u ON u.tx_id = t.id LEFT JOIN postings p ON p.tx_id = t.id
		ORDER BY t.id, p.account_id, p.id`)
	if err != nil {
		return nil, err
	}
	type sums struct{ balance, score int64 }
	accounts := map[int64]sums{}
	var cur jifen.Transaction
	var stored string
	var outside int64 // the first transaction neither sealed nor queued
	check := func() string {
		if cur.ID == 0 {
			return ""
		}
		var sum int64
		for _, p := range cur.Postings {
			sum += p.Amount
		}
		if len(cur.Postings) < 2 {
			return fmt.Sprintf("transaction %d has %d postings", cur.ID, len(cur.Postings))
		}
		if sum != 0 {
			return fmt.Sprintf("transaction %d does not sum to zero (%d)", cur.ID, sum)
		}
		if h := txHash(cur.Kind, cur.Key, cur.OrgID, cur.CreatedAt, cur.Reverses, cur.Shortfall, cur.Postings, accts); h != stored {
			return fmt.Sprintf("transaction %d: hash mismatch (its content was changed)", cur.ID)
		}
		return ""
	}
	for rows.Next() {
		var id, org, shortfall int64
		var kind jifen.TxKind
		var key, hash string
		var at time.Time
		var rev, acct, amount, score sql.NullInt64
		var sealed, queued bool
		if err := rows.Scan(&id, &kind, &key, &org, &at, &rev, &shortfall, &hash, &acct, &amount, &score, &sealed, &queued); err != nil {
			rows.Close()
			return nil, err
		}
		if cur.ID != id {
			if p := check(); p != "" {
				rows.Close()
				return fail("%s", p)
			}
			cur = jifen.Transaction{ID: id, Kind: kind, Key: key, OrgID: org, CreatedAt: at, Shortfall: shortfall, Postings: cur.Postings[:0]}
			if rev.Valid {
				v := rev.Int64
				cur.Reverses = &v
			}
			stored = hash
			r.Transactions++
			if !sealed {
				if !queued && outside == 0 {
					outside = id
				}
				r.Unsealed++
			}
		}
		if acct.Valid {
			cur.Postings = append(cur.Postings, jifen.Posting{AccountID: acct.Int64, Amount: amount.Int64, Score: score.Int64})
			a := accounts[acct.Int64]
			a.balance += amount.Int64
			a.score += score.Int64
			accounts[acct.Int64] = a
			r.Postings++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if p := check(); p != "" {
		return fail("%s", p)
	}
	// 2. Every stored balance and score equals its postings.
	arows, err := tx.query(ctx, "SELECT id, kind, balance, score FROM accounts ORDER BY id")
	if err != nil {
		return nil, err
	}
	for arows.Next() {
		var id, bal, score int64
		var kind jifen.AccountKind
		if err := arows.Scan(&id, &kind, &bal, &score); err != nil {
			arows.Close()
			return nil, err
		}
		r.Accounts++
		got := accounts[id]
		if !kind.Spendable() {
			// Issuance accounts store nothing: their balance is what their
			// postings sum to, and the cache must stay at zero.
			if bal != 0 || score != 0 {
				arows.Close()
				return fail("issuance account %d stores balance %d and score %d; it must store none", id, bal, score)
			}
			continue
		}
		if bal < 0 {
			arows.Close()
			return fail("account %d has a negative balance %d", id, bal)
		}
		if bal != got.balance || score != got.score {
			arows.Close()
			return fail("account %d: stored balance %d and score %d, postings give %d and %d", id, bal, score, got.balance, got.score)
		}
	}
	arows.Close()
	if err := arows.Err(); err != nil {
		return nil, err
	}
	// 3. The chain: each block's root over its transactions, its hash, and
	// the link to the one before. A transaction's stored hash is read
	// again here; step 1 proved each one matches its content.
	brows, err := tx.query(ctx, `SELECT b.number, b.tx_count, b.root, b.prev_hash, b.hash, b.sealed_at, i.tx_id, t.hash
		FROM blocks b LEFT JOIN block_items i ON i.block_number = b.number LEFT JOIN ledger_transactions t ON t.id = i.tx_id
		ORDER BY b.number, i.tx_id`)
	if err != nil {
		return nil, err
	}
	prev, want := genesis, int64(1)
	var blk *jifen.Block
	var ids []int64
	var txHashes []string
	anchored := anchor == ""
	closeBlock := func() string {
		if blk == nil {
			return ""
		}
		if blk.Number != want {
			return fmt.Sprintf("block %d follows block %d: a block is missing", blk.Number, want-1)
		}
		if blk.PrevHash != prev {
			return fmt.Sprintf("block %d does not link to the block before it", blk.Number)
		}
		if len(ids) != blk.Count {
			return fmt.Sprintf("block %d holds %d transactions, it sealed %d", blk.Number, len(ids), blk.Count)
		}
		if blockRoot(ids, txHashes) != blk.Root {
			return fmt.Sprintf("block %d: its transactions are not the ones it sealed", blk.Number)
		}
		if h := blockHash(blk.Number, blk.PrevHash, blk.Root, blk.Count, blk.SealedAt); h != blk.Hash {
			return fmt.Sprintf("block %d: hash mismatch", blk.Number)
		}
		if blk.Hash == anchor {
			anchored = true
		}
		prev, want = blk.Hash, want+1
		r.Blocks++
		r.LastBlock = blk.Hash
		return ""
	}
	for brows.Next() {
		var b jifen.Block
		var txID sql.NullInt64
		var txHash sql.NullString
		if err := brows.Scan(&b.Number, &b.Count, &b.Root, &b.PrevHash, &b.Hash, &b.SealedAt, &txID, &txHash); err != nil {
			brows.Close()
			return nil, err
		}
		if blk == nil || blk.Number != b.Number {
			if p := closeBlock(); p != "" {
				brows.Close()
				return fail("%s", p)
			}
			blk, ids, txHashes = &b, ids[:0], txHashes[:0]
		}
		if txID.Valid {
			if !txHash.Valid {
				brows.Close()
				return fail("block %d seals transaction %d, which is gone", b.Number, txID.Int64)
			}
			ids, txHashes = append(ids, txID.Int64), append(txHashes, txHash.String)
		}
	}
	brows.Close()
	if err := brows.Err(); err != nil {
		return nil, err
	}
	if p := closeBlock(); p != "" {
		return fail("%s", p)
	}
	if !anchored {
		return fail("the anchor %s is not in the chain: history up to it was rewritten", anchor)
	}
	// 4. Every transaction is sealed or waiting in the queue; one that is
	// neither was slipped in behind the ledger's back.
	if outside != 0 {
		return fail("transaction %d is neither sealed nor waiting to be: it was inserted outside the ledger", outside)
	}
	return r, nil
}
