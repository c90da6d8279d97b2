package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"jifen"
)

// PointsService implements jifen.PointsService.
type PointsService struct{ db *DB }

// NewPointsService returns the points service on db.
func NewPointsService(db *DB) *PointsService { return &PointsService{db} }

// querier is what both the database and a transaction offer for reading,
// so a lookup can run inside a write or on its own.
type querier interface {
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// builtinOrgPath is where the built-in service-hours rule lives: above
// every org, so every org inherits it.
const builtinOrgPath = "/"

const ruleCols = `r.id, r.org_id, COALESCE(o.name, ''), r.org_path, r.code, v.name, v.category, v.points, v.unit, v.daily_cap, v.monthly_cap,
	v.yearly_cap, v.life_cap, v.needs_evidence, v.needs_review, v.valid_from, v.valid_to, r.version, r.version_id, r.archived_at IS NOT NULL, r.created_at`

const ruleFrom = ` FROM rules r JOIN rule_versions v ON v.id = r.version_id LEFT JOIN orgs o ON o.id = r.org_id`

type ruleRow struct {
	*jifen.Rule
	path string
}

func scanRule(row interface{ Scan(...any) error }) (*ruleRow, error) {
	r := &jifen.Rule{}
	var path string
	if err := row.Scan(&r.ID, &r.OrgID, &r.OrgName, &path, &r.Code, &r.Name, &r.Category, &r.Points, &r.Unit, &r.DailyCap, &r.MonthlyCap,
		&r.YearlyCap, &r.LifeCap, &r.NeedsEvidence, &r.NeedsReview, &r.ValidFrom, &r.ValidTo, &r.Version, &r.VersionID, &r.Archived, &r.CreatedAt); err != nil {
		return nil, err
	}
	r.CreatedAt = r.CreatedAt.In(jifen.Zone)
	if r.OrgID == 0 {
		r.OrgName = "系统内置"
	}
	return &ruleRow{r, path}, nil
}

func getRule(ctx context.Context, q querier, id int64) (*ruleRow, error) {
	r, err := scanRule(q.queryRow(ctx, "SELECT "+ruleCols+ruleFrom+" WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("rule")
	}
	return r, err
}

// rulesAt returns the rules in force at an org path: for each code, the
// one of the nearest org on the path (an override below hides the one
// above). Archived overrides still hide, so an org can switch an
// inherited rule off by overriding and archiving it.
func rulesAt(ctx context.Context, q querier, path string) ([]*ruleRow, error) {
	ids := append([]int64{0}, jifen.PathIDs(path)...)
	ph, args := idList(ids)
	rows, err := q.query(ctx, "SELECT "+ruleCols+ruleFrom+" WHERE r.org_id IN ("+ph+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	best := map[string]*ruleRow{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		if cur, ok := best[r.Code]; !ok || len(r.path) > len(cur.path) {
			best[r.Code] = r
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*ruleRow, 0, len(best))
	for _, r := range best {
		r.Inherited = r.path != path
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return slicesIndex(jifen.RuleCategories, out[i].Category) < slicesIndex(jifen.RuleCategories, out[j].Category)
		}
		return out[i].Code < out[j].Code
	})
	return out, nil
}

func slicesIndex(cs []jifen.RuleCategory, c jifen.RuleCategory) int {
	for i, x := range cs {
		if x == c {
			return i
		}
	}
	return len(cs)
}

// manageRules checks that the actor may keep an org's catalogue.
func (s *PointsService) manageRules(ctx context.Context, orgID int64) (string, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return "", jifen.ErrUnauthorized
	}
	path, err := s.db.orgPath(ctx, orgID)
	if err != nil {
		return "", err
	}
	if !a.Has(path, jifen.RoleOrgAdmin) {
		if a.Has(path, jifen.StaffRoles...) || canSeeOrgPath(a, path) {
			return "", jifen.ErrForbidden
		}
		return "", jifen.NotFound("org")
	}
	return path, nil
}

// refuse is the answer to an actor without the role on an org: forbidden
// where they can see the org, not_found where they cannot, so probing
// ids outside one's view learns nothing.
func refuse(a *jifen.Actor, path string) error {
	if canSeeOrgPath(a, path) {
		return jifen.ErrForbidden
	}
	return jifen.NotFound("org")
}

// canSeeOrgPath: the org is on the actor's own branch or in a scope.
func canSeeOrgPath(a *jifen.Actor, path string) bool {
	if a == nil {
		return false
	}
	if jifen.PathContains(path, a.HomeOrgPath) || a.Has(path, jifen.Roles...) {
		return true
	}
	return false
}

// writeRule creates a rule or, when the org already has one under the
// code, a new version of it. It reports whether anything changed.
func (t *Tx) writeRule(ctx context.Context, orgID int64, path string, in jifen.RuleInput, mustBeNew bool) (int64, bool, error) {
	if err := in.Validate(); err != nil {
		return 0, false, err
	}
	a := jifen.ActorFrom(ctx)
	now := t.db.now()
	var id int64
	var version int
	err := t.queryRow(ctx, "SELECT id, version FROM rules WHERE org_id = ? AND code = ?", orgID, in.Code).Scan(&id, &version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id, err = t.insert(ctx, "INSERT INTO rules (org_id, org_path, code, version, version_id, created_at) VALUES (?, ?, ?, 0, 0, ?)", orgID, path, in.Code, now)
		if err != nil {
			return 0, false, err
		}
	case err != nil:
		return 0, false, err
	case mustBeNew:
		return 0, false, jifen.Conflict("code_taken", "本组织已有这个编码的规则，请修改该规则或换一个编码", "This org already has a rule with this code")
	default:
		cur, err := getRule(ctx, t, id)
		if err != nil {
			return 0, false, err
		}
		if !cur.Archived && sameRule(cur.Rule, in) {
			return id, false, nil
		}
	}
	vid, err := t.insert(ctx, `INSERT INTO rule_versions (rule_id, version, name, category, points, unit, daily_cap, monthly_cap, yearly_cap, life_cap,
		needs_evidence, needs_review, valid_from, valid_to, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, version+1, in.Name, in.Category, in.Points, in.Unit, in.DailyCap, in.MonthlyCap, in.YearlyCap, in.LifeCap,
		in.NeedsEvidence, in.NeedsReview, in.ValidFrom, in.ValidTo, actorID(a), now)
	if err != nil {
		return 0, false, err
	}
	if _, err := t.exec(ctx, "UPDATE rules SET version = ?, version_id = ?, archived_at = NULL WHERE id = ?", version+1, vid, id); err != nil {
		return 0, false, err
	}
	return id, true, t.audit(ctx, orgID, path, "rule.write", "rule", id, fmt.Sprintf("%s v%d %s %+d", in.Code, version+1, in.Name, in.Points))
}

func sameRule(r *jifen.Rule, in jifen.RuleInput) bool {
	return r.Name == in.Name && r.Category == in.Category && r.Points == in.Points && r.Unit == in.Unit &&
		r.DailyCap == in.DailyCap && r.MonthlyCap == in.MonthlyCap && r.YearlyCap == in.YearlyCap && r.LifeCap == in.LifeCap &&
		r.NeedsEvidence == in.NeedsEvidence && r.NeedsReview == in.NeedsReview && r.ValidFrom == in.ValidFrom && r.ValidTo == in.ValidTo
}

// CreateRule adds a rule to an org's catalogue (or overrides an inherited
// one with the same code).
func (s *PointsService) CreateRule(ctx context.Context, orgID int64, in jifen.RuleInput) (*jifen.Rule, error) {
	path, err := s.manageRules(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.db.inTx(ctx, func(tx *Tx) error {
		var err error
		id, _, err = tx.writeRule(ctx, orgID, path, in, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Rule(ctx, id)
}

// UpdateRule writes a new version of a rule.
func (s *PointsService) UpdateRule(ctx context.Context, ruleID int64, in jifen.RuleInput) (*jifen.Rule, error) {
	cur, err := getRule(ctx, s.db, ruleID)
	if err != nil {
		return nil, err
	}
	if cur.OrgID == 0 {
		return nil, jifen.Errorf(jifen.KindForbidden, "builtin_rule", "", "内置规则不能修改；可在本组织新建同编码的规则来覆盖", "The built-in rule cannot be edited; override it with a rule of the same code")
	}
	path, err := s.manageRules(ctx, cur.OrgID)
	if err != nil {
		return nil, err
	}
	if in.Code == "" {
		in.Code = cur.Code
	}
	if in.Code != cur.Code {
		return nil, jifen.Invalid("code", "规则编码不能修改", "A rule's code cannot change")
	}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		_, _, err := tx.writeRule(ctx, cur.OrgID, path, in, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Rule(ctx, ruleID)
}

// ArchiveRule takes a rule out of use; past awards keep it.
func (s *PointsService) ArchiveRule(ctx context.Context, ruleID int64) error {
	cur, err := getRule(ctx, s.db, ruleID)
	if err != nil {
		return err
	}
	if cur.OrgID == 0 {
		return jifen.Errorf(jifen.KindForbidden, "builtin_rule", "", "内置规则不能停用", "The built-in rule cannot be archived")
	}
	path, err := s.manageRules(ctx, cur.OrgID)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "UPDATE rules SET archived_at = ? WHERE id = ? AND archived_at IS NULL", s.db.now(), ruleID); err != nil {
			return err
		}
		return tx.audit(ctx, cur.OrgID, path, "rule.archive", "rule", ruleID, cur.Code)
	})
}

// ImportRules writes a whole catalogue in one transaction.
func (s *PointsService) ImportRules(ctx context.Context, orgID int64, in []jifen.RuleInput) (int, error) {
	path, err := s.manageRules(ctx, orgID)
	if err != nil {
		return 0, err
	}
	if len(in) > 5000 {
		return 0, jifen.Invalid("rules", "一次最多导入5000条规则", "At most 5000 rules at a time")
	}
	n := 0
	err = s.db.inTx(ctx, func(tx *Tx) error {
		n = 0 // a retried transaction counts afresh
		seen := map[string]bool{}
		for i, r := range in {
			if seen[strings.TrimSpace(r.Code)] {
				return rowErr(i, jifen.Invalid("code", "编码重复："+r.Code, "Duplicate code: "+r.Code))
			}
			seen[strings.TrimSpace(r.Code)] = true
			_, changed, err := tx.writeRule(ctx, orgID, path, r, false)
			if err != nil {
				return rowErr(i, err)
			}
			if changed {
				n++
			}
		}
		return nil
	})
	return n, err
}

// Rule returns one rule in its current version, to anyone on its branch.
func (s *PointsService) Rule(ctx context.Context, ruleID int64) (*jifen.Rule, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	r, err := getRule(ctx, s.db, ruleID)
	if err != nil {
		return nil, err
	}
	if r.OrgID != 0 && !canSeeOrgPath(a, r.path) && !jifen.PathContains(r.path, a.HomeOrgPath) {
		return nil, jifen.NotFound("rule")
	}
	return r.Rule, nil
}

// Rules lists the rules in force at an org.
func (s *PointsService) Rules(ctx context.Context, orgID int64) ([]*jifen.Rule, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	path, err := s.db.orgPath(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if !canSeeOrgPath(a, path) {
		return nil, jifen.NotFound("org")
	}
	rows, err := rulesAt(ctx, s.db, path)
	if err != nil {
		return nil, err
	}
	out := make([]*jifen.Rule, len(rows))
	for i, r := range rows {
		out[i] = r.Rule
	}
	return out, nil
}

// settingsAt returns the settings in force at an org path: the nearest
// org's own, else the defaults; the budget is only ever the org's own.
func settingsAt(ctx context.Context, q querier, orgID int64, path string) (jifen.PointsSettings, error) {
	out := jifen.DefaultPointsSettings(orgID)
	ids := jifen.PathIDs(path)
	if len(ids) == 0 {
		return out, nil
	}
	ph, args := idList(ids)
	rows, err := q.query(ctx, `SELECT org_id, points_to, daily_cap, yearly_budget, mask_names, public_days, appeal_days, backfill_earns, expiry, expiry_months
		FROM points_settings WHERE org_id IN (`+ph+")", args...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	found := map[int64]jifen.PointsSettings{}
	for rows.Next() {
		var s jifen.PointsSettings
		if err := rows.Scan(&s.FromOrgID, &s.PointsTo, &s.DailyCap, &s.YearlyBudget, &s.MaskNames, &s.PublicDays, &s.AppealDays,
			&s.BackfillEarns, &s.Expiry, &s.ExpiryMonths); err != nil {
			return out, err
		}
		found[s.FromOrgID] = s
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	for i := len(ids) - 1; i >= 0; i-- {
		if s, ok := found[ids[i]]; ok {
			s.OrgID = orgID
			if s.FromOrgID != orgID {
				s.YearlyBudget = 0
			}
			return s, nil
		}
	}
	return out, nil
}

// Settings returns the points settings in force at an org.
func (s *PointsService) Settings(ctx context.Context, orgID int64) (*jifen.PointsSettings, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	path, err := s.db.orgPath(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if !canSeeOrgPath(a, path) {
		return nil, jifen.NotFound("org")
	}
	st, err := settingsAt(ctx, s.db, orgID, path)
	return &st, err
}

// SaveSettings sets an org's own points settings. A changed yearly budget
// takes effect for the current year at once: what is left of it is
// spread over the budget's stripes again.
func (s *PointsService) SaveSettings(ctx context.Context, orgID int64, in jifen.PointsSettings) error {
	path, err := s.manageRules(ctx, orgID)
	if err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	a := jifen.ActorFrom(ctx)
	return s.db.inTx(ctx, func(tx *Tx) error {
		var budget int64
		err := tx.queryRow(ctx, "SELECT yearly_budget FROM points_settings WHERE org_id = ?", orgID).Scan(&budget)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if in.YearlyBudget != budget && !a.SetsBudgetOf(path) {
			return jifen.Errorf(jifen.KindForbidden, "forbidden", "yearly_budget", "年度积分预算由上级组织设定，本组织不能修改",
				"The yearly budget is set by the org above; this org cannot change it")
		}
		if _, err := tx.exec(ctx, `INSERT INTO points_settings (org_id, points_to, daily_cap, yearly_budget, mask_names, public_days, appeal_days,
			backfill_earns, expiry, expiry_months, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET points_to = excluded.points_to, daily_cap = excluded.daily_cap, yearly_budget = excluded.yearly_budget,
			mask_names = excluded.mask_names, public_days = excluded.public_days, appeal_days = excluded.appeal_days,
			backfill_earns = excluded.backfill_earns, expiry = excluded.expiry, expiry_months = excluded.expiry_months,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			orgID, in.PointsTo, in.DailyCap, in.YearlyBudget, in.MaskNames, in.PublicDays, in.AppealDays, in.BackfillEarns, in.Expiry, in.ExpiryMonths,
			actorID(a), s.db.now()); err != nil {
			return err
		}
		// Only a changed budget is spread again: what is left of one
		// unchanged is already on its stripes.
		if in.YearlyBudget != budget {
			if err := tx.resetBudget(ctx, orgID, in.YearlyBudget); err != nil {
				return err
			}
		}
		// The subtree's kept public boards show names as the settings
		// said (masked or not), and people or households (board.go).
		if err := tx.dropBoards(ctx, path); err != nil {
			return err
		}
		return tx.audit(ctx, orgID, path, "points.settings", "org", orgID,
			settingsText(in))
	})
}

// settingsText is the audit line of saved points settings, in the words of
// the settings page (the audit log is read in Chinese).
func settingsText(in jifen.PointsSettings) string {
	to := "个人"
	if in.PointsTo == jifen.ToHousehold {
		to = "户"
	}
	expiry := map[string]string{jifen.ExpiryNever: "永不过期", jifen.ExpiryYearEnd: "年底过期", jifen.ExpiryMonths: fmt.Sprintf("%d个月后过期", in.ExpiryMonths)}[in.Expiry]
	return fmt.Sprintf("积分记入%s，每日上限%d，年度预算%d，%s", to, in.DailyCap, in.YearlyBudget, expiry)
}
