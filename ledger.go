package jifen

import (
	"context"
	"time"
)

// AccountKind says whose points an account holds.
type AccountKind string

// The kinds of account. Issuance accounts are where an org's points come
// from: they go negative as the org awards and store no balance, so that
// no row is locked by every award in a county.
const (
	AccountPerson    AccountKind = "person"
	AccountHousehold AccountKind = "household"
	AccountIssuance  AccountKind = "issuance"
	AccountStore     AccountKind = "store"
	AccountMerchant  AccountKind = "merchant"
)

// Valid reports whether k is known.
func (k AccountKind) Valid() bool {
	switch k {
	case AccountPerson, AccountHousehold, AccountIssuance, AccountStore, AccountMerchant:
		return true
	}
	return false
}

// Spendable reports whether the account's balance must never go below zero.
func (k AccountKind) Spendable() bool { return k != AccountIssuance }

// Account holds points. Balance is what can be spent; Score is what was
// earned (awards minus deductions), never lowered by spending.
type Account struct {
	ID      int64       `json:"id"`
	Kind    AccountKind `json:"kind"`
	OwnerID int64       `json:"owner_id"`
	Balance int64       `json:"balance"`
	Score   int64       `json:"score"`
}

// TxKind is why points moved.
type TxKind string

// The kinds of ledger transaction.
const (
	TxAward      TxKind = "award"
	TxDeduction  TxKind = "deduction"
	TxRedemption TxKind = "redemption"
	TxRefund     TxKind = "refund"
	TxSettlement TxKind = "settlement"
	TxCorrection TxKind = "correction"
	TxExpiry     TxKind = "expiry"
	TxOpening    TxKind = "opening"
)

// Valid reports whether k is known.
func (k TxKind) Valid() bool {
	switch k {
	case TxAward, TxDeduction, TxRedemption, TxRefund, TxSettlement, TxCorrection, TxExpiry, TxOpening:
		return true
	}
	return false
}

// Posting is one leg of a transaction: points into (positive) or out of
// (negative) an account, and the change to its earned score.
type Posting struct {
	AccountID int64 `json:"account_id"`
	Amount    int64 `json:"amount"`
	Score     int64 `json:"score"`
}

// TxInput is a transaction to post. Postings must sum to zero.
type TxInput struct {
	Kind TxKind
	// Key names the transaction for idempotency: a retry with the same key
	// and the same content returns the first result and writes nothing.
	Key    string
	Reason string
	OrgID  int64
	// Reverses points at the transaction this one undoes.
	Reverses *int64
	Postings []Posting
	// Clamp lets the single debit of a spendable account take only what
	// the balance holds (a deduction, or reversing an award already
	// spent); what it could not take is recorded as the shortfall.
	Clamp bool
}

// Transaction is a posted, never-changing set of postings.
type Transaction struct {
	ID        int64     `json:"id"`
	Kind      TxKind    `json:"kind"`
	Key       string    `json:"idempotency_key"`
	Reason    string    `json:"reason"`
	OrgID     int64     `json:"org_id"`
	Reverses  *int64    `json:"reverses_id"`
	Shortfall int64     `json:"shortfall"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
	Postings  []Posting `json:"postings"`
}

// Block seals a run of committed transactions into the chain: its hash
// covers the root of their hashes and the previous block's hash.
type Block struct {
	Number   int64     `json:"number"`
	Count    int       `json:"count"`
	Root     string    `json:"root"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
	SealedAt time.Time `json:"sealed_at"`
}

// VerifyReport is what `jifen verify` found.
type VerifyReport struct {
	Transactions int    `json:"transactions"`
	Postings     int    `json:"postings"`
	Accounts     int    `json:"accounts"`
	Blocks       int    `json:"blocks"`
	Unsealed     int    `json:"unsealed"`
	LastBlock    string `json:"last_block_hash"`
	// Problem names the first mismatch; empty when the ledger is whole.
	Problem string `json:"problem,omitempty"`
}

// LedgerService is the points ledger: accounts, append-only transactions,
// the sealed chain and its verification.
type LedgerService interface {
	// Post writes a transaction (super admin or the system, for openings
	// and corrections; features post through their own services).
	Post(ctx context.Context, in TxInput) (*Transaction, error)
	// Account returns (creating if needed) the account of an owner.
	Account(ctx context.Context, kind AccountKind, ownerID int64) (*Account, error)
	Transaction(ctx context.Context, id int64) (*Transaction, error)
	// Seal puts the committed, unsealed transactions into a new block; nil
	// when there was nothing to seal.
	Seal(ctx context.Context) (*Block, error)
	LatestBlock(ctx context.Context) (*Block, error)
	// Verify recomputes every hash, the chain, the sums and the balances;
	// with an anchor it also checks that history up to that block is
	// unchanged.
	Verify(ctx context.Context, anchor string) (*VerifyReport, error)
}
