package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"jifen"
)

// CertificateService implements jifen.CertificateService.
type CertificateService struct{ db *DB }

// NewCertificateService returns the certificate service on db.
func NewCertificateService(db *DB) *CertificateService { return &CertificateService{db} }

// checkAlphabet leaves out look-alike characters (0/O, 1/I/L) so a check
// code read off paper can be typed back.
const checkAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

func checkCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = checkAlphabet[int(b[i])%len(checkAlphabet)]
	}
	return string(b)
}

const certCols = `c.id, c.serial, c.check_code, c.person_id, p.name, p.volunteer_no, p.id_masked, c.org_id, c.from_at, c.to_at,
	c.minutes, c.records, c.content, COALESCE(c.issued_by, 0), COALESCE(i.name, ''), c.issued_at, c.issuer_name, c.issuer_leader, c.issuer_phone, c.issuer_address,
	c.org_only`

const certFrom = ` FROM certificates c JOIN people p ON p.id = c.person_id LEFT JOIN people i ON i.id = c.issued_by`

func scanCert(row interface{ Scan(...any) error }) (*jifen.Certificate, error) {
	c := &jifen.Certificate{}
	if err := row.Scan(&c.ID, &c.Serial, &c.Check, &c.PersonID, &c.PersonName, &c.VolunteerNo, &c.IDMasked, &c.OrgID, &c.From, &c.To,
		&c.Minutes, &c.Records, &c.Content, &c.IssuedBy, &c.IssuedByName, &c.IssuedAt, &c.IssuerName, &c.IssuerLeader, &c.IssuerPhone, &c.IssuerAddr,
		&c.OrgOnly); err != nil {
		return nil, err
	}
	if c.OrgOnly {
		c.Notes = "本证明所列为本单位及下属队伍记录的志愿服务。"
	}
	c.From, c.To, c.IssuedAt = c.From.In(jifen.Zone), c.To.In(jifen.Zone), c.IssuedAt.In(jifen.Zone)
	if c.IssuedByName == "" {
		c.IssuedByName = c.IssuerName
	}
	if c.IssuedBy == c.PersonID {
		// Self-service: the register issued it on the person's request.
		c.IssuedByName = "系统自动出具（本人申请）"
	}
	return c, nil
}

// errNotIssuer refuses someone who is not staff of the org named as issuer.
var errNotIssuer = jifen.Errorf(jifen.KindForbidden, "forbidden", "org_id", "只有该组织的工作人员能以它的名义出具证明", "Only the org's staff can issue in its name")

// Issue numbers a certificate in the register for a person's verified
// service in [from, to]; the person themselves or staff over them may ask.
// The issuer is the org named (谁记录谁证明: it certifies what it and the
// teams under it recorded; the person or that org's staff may ask), or
// else the person's home org, for all their service. The issuer's profile
// is copied so a later rename does not change an issued certificate.
func (s *CertificateService) Issue(ctx context.Context, in jifen.CertificateRequest) (*jifen.Certificate, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	personID, from, to := in.PersonID, in.From, in.To
	var issuer *jifen.Org
	unseen := false // staff of the issuing org who do not see the person
	if in.OrgID != 0 {
		o, err := s.db.getOrg(ctx, in.OrgID)
		if err != nil && jifen.ErrorKind(err) != jifen.KindNotFound {
			return nil, err
		}
		if personID == a.PersonID {
			// A volunteer asks an org that recorded their service itself
			// (Issuers lists them), not one above it: its staff may
			// issue in its name, they may not. Any other org, or none,
			// is answered alike.
			var n int
			if err == nil {
				if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM service_records WHERE person_id = ? AND org_id = ? LIMIT 1) s",
					personID, o.ID).Scan(&n); err != nil {
					return nil, err
				}
			}
			if n == 0 {
				return nil, jifen.Errorf(jifen.KindConflict, "no_service", "org_id", "这个组织没有记录过您的志愿服务", "This org has recorded no service of yours")
			}
		} else {
			if err != nil || !canSeeOrgPath(a, o.Path) {
				return nil, jifen.Invalid("org_id", "没有找到这个组织", "No such org")
			}
			if !a.Has(o.Path, jifen.StaffRoles...) {
				return nil, errNotIssuer
			}
			_, err := NewPersonService(s.db).Person(ctx, personID)
			if unseen = jifen.ErrorKind(err) == jifen.KindNotFound; err != nil && !unseen {
				return nil, err
			}
		}
		issuer = o
	} else if err := s.db.selfOrSeen(ctx, a, personID); err != nil {
		return nil, err
	}
	if from.IsZero() {
		from = time.Date(2000, 1, 1, 0, 0, 0, 0, jifen.Zone)
	}
	if to.IsZero() {
		to = s.db.Now()
	}
	if !to.After(from) {
		return nil, jifen.Invalid("to", "结束日期必须晚于开始日期", "The end date must be after the start date")
	}
	var serial string
	err := s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, personID)
		if err != nil {
			return err
		}
		var org *jifen.Org
		where, args := "person_id = ? AND started_at >= ? AND started_at < ?", []any{personID, from.UTC(), to.UTC()}
		if issuer == nil {
			if org, err = tx.getOrg(ctx, p.HomeOrgID); err != nil {
				return err
			}
		} else {
			// The issuing org's path is read again under its row lock: a
			// move of it (which rewrites its records' paths with its own)
			// is then wholly before this certificate or after it, and its
			// records are counted under one path. Moved meanwhile, its
			// staff are asked for again.
			if org, err = tx.lockedOrg(ctx, issuer.ID); err != nil {
				return err
			}
			if org.Path != issuer.Path && personID != a.PersonID && !a.Has(org.Path, jifen.StaffRoles...) {
				return errNotIssuer
			}
			where += " AND org_path >= ? AND org_path < ?"
			args = append(args, org.Path, jifen.PathUpper(org.Path))
		}
		var minutes, records int
		if err := tx.queryRow(ctx, `SELECT COALESCE(SUM(minutes), 0), COUNT(CASE WHEN how <> 'correction' THEN 1 END) FROM service_records
			WHERE `+where, args...).Scan(&minutes, &records); err != nil {
			return err
		}
		if records == 0 || minutes <= 0 {
			if unseen {
				// Staff of the org asked for someone it never recorded:
				// whether they exist is not theirs to learn here.
				return jifen.NotFound("person")
			}
			return jifen.Conflict("no_service", "这段时间内没有已核验的服务记录", "No verified service in this period")
		}
		contents, err := tx.strings(ctx, `SELECT content FROM service_records WHERE `+where+` AND how <> 'correction'
			GROUP BY content ORDER BY MIN(started_at) LIMIT 6`, args...)
		if err != nil {
			return err
		}
		now := s.db.now()
		id, err := tx.insert(ctx, `INSERT INTO certificates (serial, check_code, person_id, org_id, from_at, to_at, minutes, records, content, issued_by, issued_at,
			issuer_name, issuer_leader, issuer_phone, issuer_address, org_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			"pending:"+randomSuffix(), checkCode(), personID, org.ID, from.UTC(), to.UTC(), minutes, records, strings.Join(contents, "；"),
			actorID(a), now, org.Name, org.LeaderName, org.ContactPhone, org.Address, issuer != nil)
		if err != nil {
			return err
		}
		// The serial is the register's number: the year and a running number.
		serial = fmt.Sprintf("ZM%d%07d", now.In(jifen.Zone).Year(), id)
		if _, err := tx.exec(ctx, "UPDATE certificates SET serial = ? WHERE id = ?", serial, id); err != nil {
			return err
		}
		if issuer != nil {
			// Which records it covers is kept: the org's subtree may change.
			if _, err := tx.exec(ctx, "INSERT INTO certificate_records (certificate_id, record_id) SELECT ?, id FROM service_records WHERE "+where,
				append([]any{id}, args...)...); err != nil {
				return err
			}
		}
		return tx.audit(ctx, org.ID, org.Path, "certificate.issue", "person", personID, serial)
	})
	if err != nil {
		return nil, err
	}
	return s.bySerial(ctx, serial)
}

// Issuers lists the orgs whose activities recorded a person's service,
// for the person themselves or staff who see them.
func (s *CertificateService) Issuers(ctx context.Context, personID int64) ([]jifen.CertificateIssuer, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := s.db.selfOrSeen(ctx, a, personID); err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `SELECT o.id, o.name, o.path, s.minutes, s.records FROM (SELECT org_id, SUM(minutes) AS minutes,
		COUNT(CASE WHEN how <> 'correction' THEN 1 END) AS records FROM service_records WHERE person_id = ? GROUP BY org_id) s
		JOIN orgs o ON o.id = s.org_id WHERE s.minutes > 0 AND s.records > 0 ORDER BY s.minutes DESC, o.id`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []jifen.CertificateIssuer{}
	for rows.Next() {
		var i jifen.CertificateIssuer
		var path string
		if err := rows.Scan(&i.OrgID, &i.OrgName, &path, &i.Minutes, &i.Records); err != nil {
			return nil, err
		}
		i.CanIssue = personID == a.PersonID || a.Has(path, jifen.StaffRoles...)
		out = append(out, i)
	}
	return out, rows.Err()
}

func (t *Tx) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (s *CertificateService) bySerial(ctx context.Context, serial string) (*jifen.Certificate, error) {
	c, err := scanCert(s.db.queryRow(ctx, "SELECT "+certCols+certFrom+" WHERE c.serial = ?", serial))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("certificate")
	}
	return c, err
}

// Certificate returns a certificate of the actor's or of someone in their scope.
func (s *CertificateService) Certificate(ctx context.Context, serial string) (*jifen.Certificate, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	c, err := s.bySerial(ctx, serial)
	if err != nil {
		return nil, err
	}
	if err := s.db.selfOrSeen(ctx, a, c.PersonID); err != nil && !s.issuersStaff(ctx, a, c) {
		return nil, jifen.NotFound("certificate")
	}
	return c, nil
}

// issuersStaff: the actor is staff of the org that issued c in its own
// name, and so may read what it issued.
func (s *CertificateService) issuersStaff(ctx context.Context, a *jifen.Actor, c *jifen.Certificate) bool {
	if !c.OrgOnly {
		return false
	}
	o, err := s.db.getOrg(ctx, c.OrgID)
	return err == nil && a.Has(o.Path, jifen.StaffRoles...)
}

// Check finds a certificate by its public code "SERIAL-CHECK". The check
// part is random, so serials alone cannot be walked.
func (s *CertificateService) Check(ctx context.Context, code string) (*jifen.Certificate, error) {
	serial, check, ok := strings.Cut(strings.TrimSpace(code), "-")
	if !ok || len(serial) > 40 || len(check) > 40 {
		return nil, jifen.NotFound("certificate")
	}
	c, err := s.bySerial(ctx, serial)
	if err != nil {
		return nil, err
	}
	if !secretEqual(strings.ToLower(check), c.Check) {
		return nil, jifen.NotFound("certificate")
	}
	return c, nil
}

// Records lists what a certificate covers, in time order.
func (s *CertificateService) Records(ctx context.Context, c *jifen.Certificate) ([]*jifen.ServiceRecord, error) {
	// Only what was verified when it was issued: a later correction does
	// not change an issued certificate.
	where, args := "r.person_id = ? AND r.started_at >= ? AND r.started_at < ? AND r.verified_at <= ?", []any{c.PersonID, c.From.UTC(), c.To.UTC(), c.IssuedAt.UTC()}
	if c.OrgOnly {
		// What the issuing org's subtree had recorded when it issued it.
		where += " AND r.id IN (SELECT record_id FROM certificate_records WHERE certificate_id = ?)"
		args = append(args, c.ID)
	}
	rows, err := s.db.query(ctx, "SELECT "+recordCols+recordFrom+" WHERE "+where+" ORDER BY r.started_at, r.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*jifen.ServiceRecord
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Seal returns the issuing org's seal image for the PDF, or nil.
func (s *CertificateService) Seal(ctx context.Context, orgID int64) ([]byte, error) {
	var b []byte
	err := s.db.queryRow(ctx, "SELECT seal FROM orgs WHERE id = ?", orgID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return b, err
}
