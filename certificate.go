package jifen

import (
	"context"
	"time"
)

// Certificate is an issued service certificate (志愿服务证明) in the register.
type Certificate struct {
	ID           int64     `json:"id"`
	Serial       string    `json:"serial"`
	Check        string    `json:"-"`
	PersonID     int64     `json:"person_id"`
	PersonName   string    `json:"person_name"`
	VolunteerNo  string    `json:"volunteer_no"`
	IDMasked     string    `json:"id_number_masked"`
	OrgID        int64     `json:"org_id"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Minutes      int       `json:"minutes"`
	Records      int       `json:"records"`
	IssuedBy     int64     `json:"issued_by"`
	IssuedByName string    `json:"issued_by_name"`
	IssuedAt     time.Time `json:"issued_at"`
	// Issuer is the issuing org's profile as of issue (name, person in
	// charge, contact), the seal image comes from the org.
	IssuerName   string `json:"issuer_name"`
	IssuerLeader string `json:"issuer_leader"`
	IssuerPhone  string `json:"issuer_phone"`
	IssuerAddr   string `json:"issuer_address"`
	// OrgOnly: the certificate covers only the service its issuing org
	// and the teams under it recorded (谁记录谁证明), not all of the
	// person's service, which a certificate of their home org covers.
	OrgOnly bool `json:"org_only"`
	// Content lists the kinds of service in the period.
	Content  string `json:"content"`
	Training string `json:"training,omitempty"`
	Notes    string `json:"notes,omitempty"`
}

// LastDay is the last moment the certificate covers: To is exclusive
// (the start of the day after the period), people read the day before it.
func (c *Certificate) LastDay() time.Time {
	if c.To.IsZero() {
		return c.To
	}
	return c.To.Add(-time.Nanosecond)
}

// VerifyCode is the public part of a certificate's check URL.
func (c *Certificate) VerifyCode() string { return c.Serial + "-" + c.Check }

// CertificateRequest asks for a certificate of a person's service in
// [From, To) (zero times: all of it).
type CertificateRequest struct {
	PersonID int64
	// OrgID names the issuing org: the org that recorded the service
	// certifies it (谁记录谁证明), and the certificate covers what that
	// org and the teams under it recorded. 0: the person's home org, for
	// all their service.
	OrgID    int64
	From, To time.Time
}

// CertificateIssuer is an org that recorded some of a person's service,
// and so may certify it.
type CertificateIssuer struct {
	OrgID   int64  `json:"org_id"`
	OrgName string `json:"org_name"`
	Minutes int    `json:"minutes"`
	Records int    `json:"records"`
	// CanIssue: the actor may ask for its certificate (the person
	// themselves, or staff of that org).
	CanIssue bool `json:"can_issue"`
}

// CertificateService issues and checks certificates.
type CertificateService interface {
	// Issue numbers a certificate in the register.
	Issue(ctx context.Context, in CertificateRequest) (*Certificate, error)
	// Issuers lists the orgs that recorded a person's service, most
	// hours first.
	Issuers(ctx context.Context, personID int64) ([]CertificateIssuer, error)
	Certificate(ctx context.Context, serial string) (*Certificate, error)
	// Check looks a certificate up by its public code; it needs no actor.
	Check(ctx context.Context, code string) (*Certificate, error)
	// Records returns the service records a certificate covers.
	Records(ctx context.Context, c *Certificate) ([]*ServiceRecord, error)
	Seal(ctx context.Context, orgID int64) ([]byte, error)
}
