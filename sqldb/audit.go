package sqldb

import (
	"context"
	"strings"

	"jifen"
)

// audit writes one audit line inside the transaction of the change it
// records, so a change and its record commit or fail together.
func (t *Tx) audit(ctx context.Context, orgID int64, orgPath, action, targetType string, targetID int64, detail string) error {
	a := jifen.ActorFrom(ctx)
	var actorID any
	ip := ""
	if a != nil {
		if a.PersonID != 0 {
			actorID = a.PersonID
		}
		if a.IP.IsValid() {
			ip = a.IP.String()
		}
	}
	var org any
	if orgID != 0 {
		org = orgID
	}
	t.insertLater("audit_log", "at, actor_id, org_id, org_path, action, target_type, target_id, detail, ip",
		t.db.now(), actorID, org, orgPath, action, targetType, targetID, detail, ip)
	return nil
}

// AuditService browses the audit log.
type AuditService struct{ db *DB }

// NewAuditService returns the audit service on db.
func NewAuditService(db *DB) *AuditService { return &AuditService{db} }

// Audit lists entries for orgs in the actor's admin scope, newest first.
func (s *AuditService) Audit(ctx context.Context, f jifen.AuditFilter) ([]*jifen.AuditEntry, int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 50, 100)
	where, args, err := s.db.scopeWhere(ctx, a, "l.org_path", f.OrgID, jifen.RoleOrgAdmin)
	if err != nil {
		return nil, 0, err
	}
	if f.Action != "" {
		where += " AND l.action = ?"
		args = append(args, f.Action)
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM audit_log l WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, `SELECT l.id, l.at, COALESCE(l.actor_id, 0), COALESCE(p.name, ''), COALESCE(l.org_id, 0), l.action,
		l.target_type, COALESCE(l.target_id, 0), l.detail, l.ip
		FROM audit_log l LEFT JOIN people p ON p.id = l.actor_id WHERE `+where+` ORDER BY l.id DESC LIMIT ? OFFSET ?`,
		append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*jifen.AuditEntry
	for rows.Next() {
		e := &jifen.AuditEntry{}
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.OrgID, &e.Action, &e.TargetType, &e.TargetID, &e.Detail, &e.IP); err != nil {
			return nil, 0, err
		}
		e.At = e.At.In(jifen.Zone)
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// scopeWhere builds a condition limiting col (an org path column) to the
// subtrees where the actor holds one of roles, optionally narrowed to the
// subtree of orgID. It returns forbidden when orgID lies outside the scope.
func (db *DB) scopeWhere(ctx context.Context, a *jifen.Actor, col string, orgID int64, roles ...jifen.Role) (string, []any, error) {
	if orgID != 0 {
		path, err := db.orgPath(ctx, orgID)
		if err != nil {
			return "", nil, err
		}
		if !a.Has(path, roles...) {
			return "", nil, refuse(a, path)
		}
		return col + " >= ? AND " + col + " < ?", []any{path, jifen.PathUpper(path)}, nil
	}
	paths, all := a.ScopePaths(roles...)
	if all {
		return "1=1", nil, nil
	}
	if len(paths) == 0 {
		return "", nil, jifen.ErrForbidden
	}
	var conds []string
	var args []any
	for _, p := range paths {
		conds = append(conds, "("+col+" >= ? AND "+col+" < ?)")
		args = append(args, p, jifen.PathUpper(p))
	}
	return "(" + strings.Join(conds, " OR ") + ")", args, nil
}
