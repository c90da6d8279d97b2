package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"jifen"
)

// OrgService implements jifen.OrgService.
type OrgService struct{ db *DB }

// NewOrgService returns the org service on db.
func NewOrgService(db *DB) *OrgService { return &OrgService{db} }

const orgCols = `o.id, o.parent_id, o.kind, o.name, o.path, o.depth, o.leader_name, o.contact_phone, o.address,
	o.seal IS NOT NULL, o.signup_requires_approval, o.archived_at, o.created_at`

func scanOrg(row interface{ Scan(...any) error }) (*jifen.Org, error) {
	o := &jifen.Org{}
	var parent sql.NullInt64
	var archived sql.NullTime
	if err := row.Scan(&o.ID, &parent, &o.Kind, &o.Name, &o.Path, &o.Depth, &o.LeaderName, &o.ContactPhone,
		&o.Address, &o.HasSeal, &o.SignupRequiresApproval, &archived, &o.CreatedAt); err != nil {
		return nil, err
	}
	o.CreatedAt = o.CreatedAt.In(jifen.Zone)
	if parent.Valid {
		o.ParentID = &parent.Int64
	}
	if archived.Valid {
		t := archived.Time.In(jifen.Zone)
		o.ArchivedAt = &t
	}
	return o, nil
}

// orgPath returns an org's path, or not found.
func (db *DB) orgPath(ctx context.Context, id int64) (string, error) {
	var path string
	err := db.queryRow(ctx, "SELECT path FROM orgs WHERE id = ?", id).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) {
		return "", jifen.NotFound("org")
	}
	return path, err
}

func (db *DB) getOrg(ctx context.Context, id int64) (*jifen.Org, error) {
	o, err := scanOrg(db.queryRow(ctx, "SELECT "+orgCols+" FROM orgs o WHERE o.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("org")
	}
	return o, err
}

func (t *Tx) getOrg(ctx context.Context, id int64) (*jifen.Org, error) {
	o, err := scanOrg(t.queryRow(ctx, "SELECT "+orgCols+" FROM orgs o WHERE o.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("org")
	}
	return o, err
}

// lockedOrg takes an org's row lock, then reads it. Whatever is created
// under an org reads its path this way: a concurrent move (which rewrites
// that row's path) then either finishes first or waits, and the new row
// never keeps a path from before the move.
func (t *Tx) lockedOrg(ctx context.Context, id int64) (*jifen.Org, error) {
	if _, err := t.exec(ctx, "UPDATE orgs SET path = path WHERE id = ?", id); err != nil {
		return nil, err
	}
	return t.getOrg(ctx, id)
}

// canSeeOrg: staff see their subtrees; everyone sees the orgs on the path
// to their own home org (their village, town, county) and their teams.
func canSeeOrg(a *jifen.Actor, o *jifen.Org) bool {
	if a == nil {
		return false
	}
	if a.Has(o.Path, jifen.StaffRoles...) {
		return true
	}
	if jifen.PathContains(o.Path, a.HomeOrgPath) {
		return true
	}
	for _, g := range a.Grants {
		if jifen.PathContains(o.Path, g.OrgPath) || jifen.PathContains(g.OrgPath, o.Path) {
			return true
		}
	}
	return false
}

// CreateOrg adds an org under a parent the actor administers; only a super
// admin creates a root.
func (s *OrgService) CreateOrg(ctx context.Context, in jifen.OrgInput) (*jifen.Org, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		parentPath, depth := "/", 0
		if in.ParentID != nil {
			parent, err := tx.lockedOrg(ctx, *in.ParentID)
			if err != nil {
				if jifen.ErrorKind(err) == jifen.KindNotFound {
					return jifen.Invalid("parent_id", "上级组织不存在", "The parent organisation does not exist")
				}
				return err
			}
			if !a.Has(parent.Path, jifen.RoleOrgAdmin) {
				if !canSeeOrg(a, parent) {
					return jifen.NotFound("org") // another subtree is not shown, not even as forbidden
				}
				return jifen.ErrForbidden
			}
			if parent.ArchivedAt != nil {
				return jifen.Conflict("org_archived", "上级组织已归档", "The parent organisation is archived")
			}
			if !jifen.CanParent(parent.Kind, in.Kind) {
				return &jifen.Error{Kind: jifen.KindInvalid, Code: "invalid", Field: "kind",
					Zh: fmt.Sprintf("%s下不能设立%s", parent.Kind.Zh(), in.Kind.Zh()),
					En: fmt.Sprintf("A %s cannot hold a %s", parent.Kind, in.Kind)}
			}
			parentPath, depth = parent.Path, parent.Depth+1
		} else if !a.IsSuperAdmin() {
			return jifen.ErrForbidden
		}
		var err error
		// The path needs the id, which the insert gives; a unique placeholder
		// holds the row until the update in the same transaction.
		id, err = tx.insert(ctx, `INSERT INTO orgs (parent_id, kind, name, path, depth, leader_name, contact_phone, address, signup_requires_approval, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.ParentID, in.Kind, in.Name, "pending:"+randomSuffix(), depth,
			in.LeaderName, in.ContactPhone, in.Address, in.SignupRequiresApproval, s.db.now())
		if err != nil {
			return err
		}
		path := jifen.OrgPath(parentPath, id)
		if _, err := tx.exec(ctx, "UPDATE orgs SET path = ? WHERE id = ?", path, id); err != nil {
			return err
		}
		return tx.audit(ctx, id, path, "org.create", "org", id, in.Name)
	})
	if err != nil {
		return nil, err
	}
	return s.db.getOrg(ctx, id)
}

// Org returns one org visible to the actor; an invisible org is not found.
func (s *OrgService) Org(ctx context.Context, id int64) (*jifen.Org, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	o, err := s.db.getOrg(ctx, id)
	if err != nil {
		return nil, err
	}
	if !canSeeOrg(a, o) {
		return nil, jifen.NotFound("org")
	}
	return o, nil
}

// Children lists the direct children the actor may see.
func (s *OrgService) Children(ctx context.Context, id int64, includeArchived bool) ([]*jifen.Org, error) {
	if _, err := s.Org(ctx, id); err != nil {
		return nil, err
	}
	a := jifen.ActorFrom(ctx)
	q := "SELECT " + orgCols + `, (SELECT COUNT(*) FROM orgs c WHERE c.parent_id = o.id AND c.archived_at IS NULL)
		FROM orgs o WHERE o.parent_id = ?`
	if !includeArchived {
		q += " AND o.archived_at IS NULL"
	}
	rows, err := s.db.query(ctx, q+" ORDER BY o.name, o.id", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*jifen.Org
	for rows.Next() {
		var n int
		o, err := scanOrg(scanPlus{rows, &n})
		if err != nil {
			return nil, err
		}
		o.Children = n
		if canSeeOrg(a, o) {
			out = append(out, o)
		}
	}
	return out, rows.Err()
}

// scanPlus scans an org followed by extra columns.
type scanPlus struct {
	rows  *sql.Rows
	extra *int
}

func (s scanPlus) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.extra)...) }

// Ancestors lists the orgs from the root down to id, inclusive.
func (s *OrgService) Ancestors(ctx context.Context, id int64) ([]*jifen.Org, error) {
	o, err := s.Org(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []*jifen.Org
	for _, aid := range jifen.PathIDs(o.Path) {
		if aid == id {
			out = append(out, o)
			continue
		}
		anc, err := s.db.getOrg(ctx, aid)
		if err != nil {
			return nil, err
		}
		out = append(out, anc)
	}
	return out, nil
}

// UpdateOrg renames an org and changes its profile; the kind stays.
func (s *OrgService) UpdateOrg(ctx context.Context, id int64, in jifen.OrgInput) (*jifen.Org, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		o, err := tx.getOrg(ctx, id)
		if err != nil {
			return err
		}
		if !a.Has(o.Path, jifen.RoleOrgAdmin) {
			if canSeeOrg(a, o) {
				return jifen.ErrForbidden
			}
			return jifen.NotFound("org")
		}
		in.Kind = o.Kind
		if err := in.Validate(); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE orgs SET name = ?, leader_name = ?, contact_phone = ?, address = ?, signup_requires_approval = ? WHERE id = ?`,
			in.Name, in.LeaderName, in.ContactPhone, in.Address, in.SignupRequiresApproval, id); err != nil {
			return err
		}
		detail := in.Name
		if o.Name != in.Name {
			detail = o.Name + " → " + in.Name
		}
		return tx.audit(ctx, id, o.Path, "org.update", "org", id, detail)
	})
	if err != nil {
		return nil, err
	}
	return s.db.getOrg(ctx, id)
}

// MoveOrg hangs an org and its subtree under a new parent. The actor must
// administer both the org and the new parent.
func (s *OrgService) MoveOrg(ctx context.Context, id, newParentID int64) (*jifen.Org, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	var oldPath, newPath string
	var shift int
	err := s.db.inTx(ctx, func(tx *Tx) error {
		o, err := tx.getOrg(ctx, id)
		if err != nil {
			return err
		}
		parent, err := tx.getOrg(ctx, newParentID)
		if err != nil {
			if jifen.ErrorKind(err) == jifen.KindNotFound {
				return jifen.Invalid("parent_id", "新的上级组织不存在", "The new parent does not exist")
			}
			return err
		}
		if !a.Has(o.Path, jifen.RoleOrgAdmin) || !a.Has(parent.Path, jifen.RoleOrgAdmin) {
			return jifen.ErrForbidden
		}
		if parent.ArchivedAt != nil {
			return jifen.Conflict("org_archived", "新的上级组织已归档", "The new parent is archived")
		}
		if o.ParentID == nil {
			return jifen.Conflict("org_root", "不能移动最上级组织", "The root organisation cannot be moved")
		}
		if jifen.PathContains(o.Path, parent.Path) {
			return jifen.Invalid("parent_id", "不能移动到自己或下级组织之下", "An organisation cannot move under itself or its own descendants")
		}
		if !jifen.CanParent(parent.Kind, o.Kind) {
			return jifen.Invalid("parent_id", fmt.Sprintf("%s下不能设立%s", parent.Kind.Zh(), o.Kind.Zh()), fmt.Sprintf("A %s cannot hold a %s", parent.Kind, o.Kind))
		}
		newPath = jifen.OrgPath(parent.Path, o.ID)
		oldPath, shift = o.Path, parent.Depth+1-o.Depth
		if err := tx.movePaths(ctx, oldPath, newPath, shift); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE orgs SET parent_id = ? WHERE id = ?", parent.ID, o.ID); err != nil {
			return err
		}
		// Its subtree's kept public boards follow the settings of the
		// old parent (names masked or not).
		if err := tx.dropBoards(ctx, newPath); err != nil {
			return err
		}
		return tx.audit(ctx, o.ID, newPath, "org.move", "org", o.ID, fmt.Sprintf("%s → %s", o.Path, newPath))
	})
	if err != nil {
		return nil, err
	}
	s.db.repairMove(id, oldPath)
	return s.db.getOrg(ctx, id)
}

// inSubtree is "col lies in the subtree [?, ?)", for a table that keeps a
// copy of its org's path (every such copy is an org's path: movePaths). On
// SQLite it is the list of the subtree's org paths: an index that starts
// (org_path, x) is then searched org by org with x bounding each search,
// where SQLite reads every entry in the range of paths and tests x row by
// row (the public board read every award a village ever posted, not the
// ones on display: 0015_county_reads). PostgreSQL bounds x inside the
// range itself, and joined to the list it searched every org's awards on
// display once per org of the subtree.
func (db *DB) inSubtree(col string) string {
	if db.dialect.name() == "sqlite" {
		return col + " IN (SELECT path FROM orgs WHERE path >= ? AND path < ?)"
	}
	return col + " >= ? AND " + col + " < ?"
}

// movePaths swaps the old path's prefix for the new one wherever a path
// is kept: every descendant's path starts with the old one.
func (t *Tx) movePaths(ctx context.Context, oldPath, newPath string, shift int) error {
	lo, hi := oldPath, jifen.PathUpper(oldPath)
	if _, err := t.exec(ctx, `UPDATE orgs SET path = ? || substr(path, ?), depth = depth + ? WHERE path >= ? AND path < ?`,
		newPath, len(oldPath)+1, shift, lo, hi); err != nil {
		return err
	}
	// Every table that keeps a copy of an org's path for subtree scans.
	for _, col := range []string{"people.home_org_path", "activities.org_path", "service_records.org_path", "rules.org_path", "households.org_path",
		"awards.org_path", "appeals.org_path", "stores.org_path", "stores.serves_path",
		"report_months.org_path", "report_people.org_path", "report_stars.org_path", "audit_log.org_path"} {
		table, c, _ := strings.Cut(col, ".")
		if _, err := t.exec(ctx, `UPDATE `+table+` SET `+c+` = ? || substr(`+c+`, ?) WHERE `+c+` >= ? AND `+c+` < ?`,
			newPath, len(oldPath)+1, lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// repairMove puts right, within seconds, what was written with an org's
// old path after its move committed: on PostgreSQL a write that read the
// path before the move (or another server's cached settings, a second old
// at most) can stamp it after. Once every transaction that began before
// the move has ended, and a cache's second has passed, rows still under
// the old path are moved to where the org is then (under its row lock, so
// no move runs beside): an org moved on again since goes to its latest
// place, and one moved back has nothing to put right. SQLite's one writer
// has nothing in flight when the move commits.
func (db *DB) repairMove(orgID int64, oldPath string) {
	if db.dialect.name() != "postgres" {
		return
	}
	var moved time.Time
	if err := db.r.QueryRowContext(db.closed, "SELECT clock_timestamp()").Scan(&moved); err != nil {
		db.Log.Error("org move: repair not scheduled", "err", err)
		return
	}
	db.after.Add(1)
	go func() {
		defer db.after.Done()
		// A transaction left open for a minute (someone's psql) is not
		// waited for longer.
		waiting, cancel := context.WithTimeout(db.closed, time.Minute)
		defer cancel()
		for wait := configTTL + 100*time.Millisecond; waiting.Err() == nil; wait = 100 * time.Millisecond {
			select {
			case <-waiting.Done():
			case <-time.After(wait):
			}
			var older int
			// jifen's own sessions: those named as this one is (tests
			// name each schema's sessions after it).
			if err := db.r.QueryRowContext(waiting, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
				AND application_name = current_setting('application_name') AND xact_start < $1 AND pid <> pg_backend_pid()`,
				moved).Scan(&older); err != nil || older == 0 {
				break
			}
		}
		ctx := jifen.WithActor(db.closed, jifen.SystemActor())
		err := db.inTx(ctx, func(tx *Tx) error {
			var now string
			if err := tx.queryRow(ctx, "UPDATE orgs SET path = path WHERE id = ? RETURNING path", orgID).Scan(&now); err != nil || now == oldPath {
				return err
			}
			return tx.movePaths(ctx, oldPath, now, strings.Count(now, "/")-strings.Count(oldPath, "/"))
		})
		if err != nil && db.closed.Err() == nil {
			db.Log.Error("org move: repair failed", "org", orgID, "from", oldPath, "err", err)
		}
	}()
}

// ArchiveOrg hides an org from sign-up and lists. It must have no active
// children and no active people first, so nobody is silently orphaned.
func (s *OrgService) ArchiveOrg(ctx context.Context, id int64) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		o, err := tx.getOrg(ctx, id)
		if err != nil {
			return err
		}
		if !a.Has(o.Path, jifen.RoleOrgAdmin) {
			return jifen.ErrForbidden
		}
		if o.ArchivedAt != nil {
			return nil
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM orgs WHERE parent_id = ? AND archived_at IS NULL", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return jifen.Conflict("org_has_children", "请先归档或移走下级组织", "Archive or move the child organisations first")
		}
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM people WHERE home_org_id = ? AND status <> 'archived'", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return jifen.Conflict("org_has_people", fmt.Sprintf("该组织还有%d名人员，请先转移", n), fmt.Sprintf("%d people still belong here; move them first", n))
		}
		if _, err := tx.exec(ctx, "UPDATE orgs SET archived_at = ? WHERE id = ?", s.db.now(), id); err != nil {
			return err
		}
		return tx.audit(ctx, id, o.Path, "org.archive", "org", id, o.Name)
	})
}

// MaxSealBytes bounds a seal image.
const MaxSealBytes = 512 << 10

// SetSeal stores the org's seal image (PNG) for certificates.
func (s *OrgService) SetSeal(ctx context.Context, id int64, b []byte) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	if len(b) > MaxSealBytes {
		return jifen.Invalid("seal", "印章图片不能超过512KB", "The seal image must be at most 512 KB")
	}
	// Decode it whole now: a seal that cannot be drawn would break every
	// certificate the org issues.
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err == nil && (cfg.Width > 4000 || cfg.Height > 4000 || cfg.Width < 16 || cfg.Height < 16) {
		return jifen.Invalid("seal", "印章图片尺寸应在16到4000像素之间", "The seal image must be 16 to 4000 pixels wide and high")
	}
	if err == nil {
		_, err = png.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return jifen.Invalid("seal", "印章图片应为完整的PNG图片", "The seal image must be a complete PNG")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		o, err := tx.getOrg(ctx, id)
		if err != nil {
			return err
		}
		if !a.Has(o.Path, jifen.RoleOrgAdmin) {
			return jifen.ErrForbidden
		}
		if _, err := tx.exec(ctx, "UPDATE orgs SET seal = ? WHERE id = ?", b, id); err != nil {
			return err
		}
		return tx.audit(ctx, id, o.Path, "org.seal", "org", id, fmt.Sprintf("%d字节", len(b)))
	})
}

// Seal returns the org's seal image.
func (s *OrgService) Seal(ctx context.Context, id int64) ([]byte, error) {
	if _, err := s.Org(ctx, id); err != nil {
		return nil, err
	}
	var b []byte
	err := s.db.queryRow(ctx, "SELECT seal FROM orgs WHERE id = ?", id).Scan(&b)
	if err != nil || b == nil {
		return nil, jifen.NotFound("org")
	}
	return b, nil
}

// SignupOrgs lists every active org for the sign-up picker, in tree order.
func (s *OrgService) SignupOrgs(ctx context.Context) ([]*jifen.Org, error) {
	rows, err := s.db.query(ctx, "SELECT "+orgCols+" FROM orgs o WHERE o.archived_at IS NULL ORDER BY o.path LIMIT 5000")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*jifen.Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// FindOrgByName finds an active org by exact name inside root's subtree;
// an import names orgs this way.
func (s *OrgService) FindOrgByName(ctx context.Context, root int64, name string) (*jifen.Org, error) {
	path, err := s.db.orgPath(ctx, root)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, "SELECT "+orgCols+" FROM orgs o WHERE o.name = ? AND o.path >= ? AND o.path < ? AND o.archived_at IS NULL",
		strings.TrimSpace(name), path, jifen.PathUpper(path))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found []*jifen.Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		found = append(found, o)
	}
	if len(found) == 0 {
		return nil, jifen.NotFound("org")
	}
	if len(found) > 1 {
		return nil, jifen.Conflict("org_ambiguous", "有多个同名组织", "Several organisations have this name")
	}
	return found[0], rows.Err()
}
