package jifen

import (
	"context"
	"time"
)

// Transfer is a membership move (关系转接): a person's home org or team
// changes; their history, hours and points stay with them.
type Transfer struct {
	ID          int64      `json:"id"`
	PersonID    int64      `json:"person_id"`
	PersonName  string     `json:"person_name,omitempty"`
	FromOrgID   int64      `json:"from_org_id"`
	FromOrgName string     `json:"from_org_name,omitempty"`
	ToOrgID     int64      `json:"to_org_id"`
	ToOrgName   string     `json:"to_org_name,omitempty"`
	Reason      string     `json:"reason"`
	Status      string     `json:"status"` // pending, approved, rejected
	RequestedBy int64      `json:"requested_by"`
	DecidedBy   *int64     `json:"decided_by"`
	DecidedAt   *time.Time `json:"decided_at"`
	Answer      string     `json:"answer,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	// ConsentedAt is when the person agreed; a transfer someone else
	// asked for is approved only after (nil: waiting for them).
	ConsentedAt *time.Time `json:"consented_at"`
}

// Transfer statuses.
const (
	TransferPending  = "pending"
	TransferApproved = "approved"
	TransferRejected = "rejected"
)

// TransferService moves people between orgs and teams.
type TransferService interface {
	// RequestTransfer asks to move a person (oneself, or by an admin of
	// their current org) to another org or team; the receiving side decides.
	RequestTransfer(ctx context.Context, personID, toOrgID int64, reason string) (*Transfer, error)
	// Consent is the person's answer to a transfer someone else asked
	// for: agreeing lets the receiving side decide; refusing ends it.
	Consent(ctx context.Context, id int64, agree bool) error
	Approve(ctx context.Context, id int64) error
	Reject(ctx context.Context, id int64, answer string) error
	Transfers(ctx context.Context, personID, orgID int64) ([]*Transfer, error)
	// BulkMove moves people at once when orgs merge or split; each is told.
	BulkMove(ctx context.Context, personIDs []int64, toOrgID int64, reason string) (int, error)
}
