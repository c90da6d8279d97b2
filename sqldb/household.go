package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"jifen"
)

// householdRow is a household with its path for access checks.
type householdRow struct {
	*jifen.Household
	path string
}

func getHousehold(ctx context.Context, q querier, id int64) (*householdRow, error) {
	h := &jifen.Household{}
	var path string
	err := q.queryRow(ctx, `SELECT h.id, h.org_id, o.name, h.org_path, h.name, h.head_person_id, p.name,
		COALESCE(ac.balance, 0), COALESCE(ac.score, 0)
		FROM households h JOIN orgs o ON o.id = h.org_id JOIN people p ON p.id = h.head_person_id
		LEFT JOIN accounts ac ON ac.kind = 'household' AND ac.owner_id = h.id WHERE h.id = ?`, id).
		Scan(&h.ID, &h.OrgID, &h.OrgName, &path, &h.Name, &h.HeadID, &h.HeadName, &h.Balance, &h.Score)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("household")
	}
	if err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, `SELECT m.person_id, p.name, p.phone IS NOT NULL FROM household_members m JOIN people p ON p.id = m.person_id
		WHERE m.household_id = ? ORDER BY m.joined_at, m.person_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	h.Members = []jifen.HouseholdMember{}
	for rows.Next() {
		var m jifen.HouseholdMember
		if err := rows.Scan(&m.PersonID, &m.Name, &m.HasPhone); err != nil {
			return nil, err
		}
		m.IsHead = m.PersonID == h.HeadID
		h.Members = append(h.Members, m)
	}
	return &householdRow{h, path}, rows.Err()
}

// addMember puts a person of the household's subtree into it.
// field names the request's field that named the person.
func (t *Tx) addMember(ctx context.Context, h *householdRow, personID int64, field string) error {
	a := jifen.ActorFrom(ctx)
	p, err := t.db.getPerson(ctx, t.tx, personID)
	if jifen.ErrorCode(err) == "not_found" || err == nil && !a.Has(p.path, jifen.RoleOrgAdmin) {
		// Someone the admin cannot see is answered as no one: no name,
		// and the same answer as for an id nobody has.
		return jifen.Invalid(field, "没有找到这个人", "No such person")
	}
	if err != nil {
		return err
	}
	if !jifen.PathContains(h.path, p.path) {
		return jifen.Invalid(field, p.Name+"不属于本户所在的组织", p.Name+" does not live in the household's org")
	}
	var other int64
	err = t.queryRow(ctx, "SELECT household_id FROM household_members WHERE person_id = ?", personID).Scan(&other)
	if err == nil {
		if other == h.ID {
			return nil
		}
		return jifen.Errorf(jifen.KindConflict, "already_in_household", field, p.Name+"已属于另一户，请先从那一户移出", p.Name+" already belongs to another household")
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = t.exec(ctx, "INSERT INTO household_members (person_id, household_id, joined_at) VALUES (?, ?, ?)", personID, h.ID, t.db.now())
	if jifen.ErrorCode(err) == "duplicate" {
		// Another household took them a moment ago.
		return jifen.Errorf(jifen.KindConflict, "already_in_household", field, p.Name+"已属于另一户，请先从那一户移出", p.Name+" already belongs to another household")
	}
	return err
}

// CreateHousehold groups people under a head (户主).
func (s *PointsService) CreateHousehold(ctx context.Context, in jifen.HouseholdInput) (*jifen.Household, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if in.HeadID <= 0 {
		return nil, jifen.Invalid("head_person_id", "请指定户主", "Choose the head of the household")
	}
	if len(in.MemberIDs) > 50 {
		return nil, jifen.Invalid("member_ids", "一户最多50人", "At most 50 members")
	}
	path, err := s.manageRules(ctx, in.OrgID)
	if err != nil {
		return nil, err
	}
	in.Name = jifen.CleanText(in.Name)
	if len([]rune(in.Name)) > 40 {
		return nil, jifen.Invalid("name", "户名不能超过40字", "The name is at most 40 characters")
	}
	var id int64
	err = s.db.inTx(ctx, func(tx *Tx) error {
		head, err := s.db.getPerson(ctx, tx.tx, in.HeadID)
		if err != nil {
			return jifen.Invalid("head_person_id", "户主不存在", "No such person")
		}
		if in.Name == "" {
			in.Name = head.Name + "户"
		}
		if id, err = tx.insert(ctx, "INSERT INTO households (org_id, org_path, name, head_person_id, created_at) VALUES (?, ?, ?, ?, ?)",
			in.OrgID, path, in.Name, in.HeadID, s.db.now()); err != nil {
			return err
		}
		h := &householdRow{&jifen.Household{ID: id, OrgID: in.OrgID}, path}
		members := append([]int64{in.HeadID}, in.MemberIDs...)
		slices.Sort(members[1:])
		for _, m := range slices.Compact(members) {
			field := "member_ids"
			if m == in.HeadID {
				field = "head_person_id"
			}
			if err := tx.addMember(ctx, h, m, field); err != nil {
				return err
			}
		}
		return tx.audit(ctx, in.OrgID, path, "household.create", "household", id, fmt.Sprintf("%s，%d人", in.Name, len(members)))
	})
	if err != nil {
		return nil, err
	}
	return s.Household(ctx, id)
}

// seesHousehold: its members and staff over its org.
func (s *PointsService) seesHousehold(ctx context.Context, h *householdRow) bool {
	a := jifen.ActorFrom(ctx)
	if a.Has(h.path, jifen.StaffRoles...) {
		return true
	}
	for _, m := range h.Members {
		if m.PersonID == a.PersonID {
			return true
		}
	}
	return false
}

// Household returns a household to its members and staff.
func (s *PointsService) Household(ctx context.Context, id int64) (*jifen.Household, error) {
	if jifen.ActorFrom(ctx) == nil {
		return nil, jifen.ErrUnauthorized
	}
	h, err := getHousehold(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if !s.seesHousehold(ctx, h) {
		return nil, jifen.NotFound("household")
	}
	return h.Household, nil
}

// MyHousehold returns the actor's household, or nil.
func (s *PointsService) MyHousehold(ctx context.Context) (*jifen.Household, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	var id int64
	err := s.db.queryRow(ctx, "SELECT household_id FROM household_members WHERE person_id = ?", a.PersonID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.Household(ctx, id)
}

// Households lists an org subtree's households for staff.
func (s *PointsService) Households(ctx context.Context, orgID int64, page int) ([]*jifen.Household, int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	where, args, err := s.db.scopeWhere(ctx, a, "h.org_path", orgID, jifen.StaffRoles...)
	if err != nil {
		return nil, 0, err
	}
	page, per := jifen.Paging(page, 50, 50, 50)
	total, from, bound, err := s.db.listPage(ctx, "households", "h", "", where, args, (page-1)*per, per)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, `SELECT h.id, h.org_id, o.name, h.name, h.head_person_id, p.name, COALESCE(ac.balance, 0), COALESCE(ac.score, 0),
		(SELECT COUNT(*) FROM household_members m WHERE m.household_id = h.id)
		FROM `+from+` JOIN orgs o ON o.id = h.org_id JOIN people p ON p.id = h.head_person_id
		LEFT JOIN accounts ac ON ac.kind = 'household' AND ac.owner_id = h.id
		WHERE `+where+bound+" ORDER BY h.id LIMIT ? OFFSET ?", append(args, per, (page-1)*per)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*jifen.Household{}
	for rows.Next() {
		h := &jifen.Household{}
		var n int
		if err := rows.Scan(&h.ID, &h.OrgID, &h.OrgName, &h.Name, &h.HeadID, &h.HeadName, &h.Balance, &h.Score, &n); err != nil {
			return nil, 0, err
		}
		h.Members = make([]jifen.HouseholdMember, 0, n)
		for i := 0; i < n; i++ {
			h.Members = append(h.Members, jifen.HouseholdMember{})
		}
		out = append(out, h)
	}
	return out, total, rows.Err()
}

// manageHousehold loads a household for an admin over its org.
func (s *PointsService) manageHousehold(ctx context.Context, tx *Tx, id int64) (*householdRow, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	h, err := getHousehold(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if !a.Has(h.path, jifen.RoleOrgAdmin) {
		if s.seesHousehold(ctx, h) {
			return nil, jifen.ErrForbidden
		}
		return nil, jifen.NotFound("household")
	}
	return h, nil
}

// AddMember puts a person into a household.
func (s *PointsService) AddMember(ctx context.Context, householdID, personID int64) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		h, err := s.manageHousehold(ctx, tx, householdID)
		if err != nil {
			return err
		}
		if err := tx.addMember(ctx, h, personID, "person_id"); err != nil {
			return err
		}
		return tx.audit(ctx, h.OrgID, h.path, "household.add_member", "household", h.ID, fmt.Sprint(personID))
	})
}

// RemoveMember takes a person out of a household; the head stays.
func (s *PointsService) RemoveMember(ctx context.Context, householdID, personID int64) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		// The head as it is once no change of head is under way.
		if err := tx.lockHousehold(ctx, householdID); err != nil {
			return err
		}
		h, err := s.manageHousehold(ctx, tx, householdID)
		if err != nil {
			return err
		}
		if personID == h.HeadID {
			return jifen.Conflict("head_member", "户主不能移出本户", "The head cannot leave the household")
		}
		res, err := tx.exec(ctx, "DELETE FROM household_members WHERE person_id = ? AND household_id = ?", personID, householdID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return jifen.NotFound("person")
		}
		return tx.audit(ctx, h.OrgID, h.path, "household.remove_member", "household", h.ID, fmt.Sprint(personID))
	})
}

// lockHousehold takes a household's row on PostgreSQL, before it is
// read, so that a change of its head and a removal of a member go one at
// a time. SQLite's one writer needs none.
func (t *Tx) lockHousehold(ctx context.Context, id int64) error {
	if t.db.dialect.name() != "postgres" {
		return nil
	}
	_, err := t.exec(ctx, "SELECT id FROM households WHERE id = ? FOR NO KEY UPDATE", id)
	return err
}

// ChangeHousehold renames a household or hands it to another member as
// head. A household still named after its head ("张三户", as
// CreateHousehold names it, or "已注销户" after the head's erasure)
// follows the new head unless a name is given.
func (s *PointsService) ChangeHousehold(ctx context.Context, id int64, in jifen.HouseholdChange) (*jifen.Household, error) {
	if jifen.ActorFrom(ctx) == nil {
		return nil, jifen.ErrUnauthorized
	}
	in.Name = jifen.CleanText(in.Name)
	if in.Name == "" && in.HeadID == 0 {
		return nil, jifen.Invalid("name", "请填写新户名，或选择新户主", "Give a new name or choose a new head")
	}
	if len([]rune(in.Name)) > 40 {
		return nil, jifen.Invalid("name", "户名不能超过40字", "The name is at most 40 characters")
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		// On PostgreSQL the new head's row before the household's, as an
		// erasure takes them (it renames the household it is in): under a
		// key share, so their erasure under way is waited for and seen.
		if in.HeadID != 0 && tx.db.dialect.name() == "postgres" {
			if _, err := tx.exec(ctx, "SELECT id FROM people WHERE id = ? FOR KEY SHARE", in.HeadID); err != nil {
				return err
			}
		}
		if err := tx.lockHousehold(ctx, id); err != nil {
			return err
		}
		h, err := s.manageHousehold(ctx, tx, id)
		if err != nil {
			return err
		}
		name, head, headName := h.Name, h.HeadID, h.HeadName
		if in.HeadID != 0 && in.HeadID != h.HeadID {
			member := slices.ContainsFunc(h.Members, func(m jifen.HouseholdMember) bool { return m.PersonID == in.HeadID })
			if !member {
				return jifen.Invalid("head_person_id", "新户主须是本户成员，请先把他（她）加入本户", "The new head must be a member: add them first")
			}
			p, err := s.db.getPerson(ctx, tx.tx, in.HeadID)
			if err != nil {
				return err
			}
			if p.Status == jifen.PersonErased {
				return jifen.Invalid("head_person_id", "这位成员的个人信息已删除，不能当户主", "This member's data was erased: they cannot be the head")
			}
			if name == h.HeadName+"户" {
				name = p.Name + "户"
			}
			head, headName = p.ID, p.Name
		}
		if in.Name != "" {
			name = in.Name
		}
		if name == h.Name && head == h.HeadID {
			return nil
		}
		if _, err := tx.exec(ctx, "UPDATE households SET name = ?, head_person_id = ? WHERE id = ?", name, head, id); err != nil {
			return err
		}
		if err := tx.audit(ctx, h.OrgID, h.path, "household.change", "household", id,
			fmt.Sprintf("%s → %s，户主%s", h.Name, name, headName)); err != nil {
			return err
		}
		// Boards that rank households show its name, not its head: those
		// of its org and the orgs above, where an award to it is ranked,
		// and those below it, where a member living there earns for it
		// (such an award is the member's home org's).
		if name == h.Name {
			return nil
		}
		ph, over := idList(jifen.PathIDs(h.path))
		return tx.patchBoards(ctx, boardPatch{households: map[int64]string{id: name}},
			"org_id IN ("+ph+") OR org_id IN (SELECT id FROM orgs WHERE path >= ? AND path < ?)", append(over, h.path, jifen.PathUpper(h.path))...)
	})
	if err != nil {
		return nil, err
	}
	return s.Household(ctx, id)
}

// canSeePoints: oneself, staff who see the person, and the head of the
// person's household.
func (s *PointsService) canSeePoints(ctx context.Context, personID int64) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	if personID == a.PersonID {
		return nil
	}
	if head, err := headOf(ctx, s.db, a.PersonID, personID); err != nil || head {
		return err
	}
	_, err := NewPersonService(s.db).Person(ctx, personID)
	return err
}

// summary adds up an account's postings by what moved them.
func (s *PointsService) summary(ctx context.Context, kind jifen.AccountKind, owner int64) (*jifen.PointsSummary, error) {
	out := &jifen.PointsSummary{}
	err := s.db.queryRow(ctx, "SELECT id, balance, score FROM accounts WHERE kind = ? AND owner_id = ?", kind, owner).Scan(&out.AccountID, &out.Balance, &out.Score)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	err = s.db.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN p.score > 0 THEN p.score ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN p.score < 0 THEN -p.score ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN t.kind IN ('redemption', 'refund') THEN -p.amount ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN t.kind = 'expiry' THEN -p.amount ELSE 0 END), 0)
		FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id WHERE p.account_id = ?`, out.AccountID).
		Scan(&out.Earned, &out.Deducted, &out.Spent, &out.Expired)
	return out, err
}

// Points returns a person's two faces of points.
func (s *PointsService) Points(ctx context.Context, personID int64) (*jifen.PointsSummary, error) {
	if err := s.canSeePoints(ctx, personID); err != nil {
		return nil, err
	}
	out, err := s.summary(ctx, jifen.AccountPerson, personID)
	if err != nil {
		return nil, err
	}
	// Where the person's org credits households, say which one holds
	// their points.
	var hh int64
	var path string
	var org int64
	err = s.db.queryRow(ctx, `SELECT m.household_id, p.home_org_id, p.home_org_path FROM household_members m JOIN people p ON p.id = m.person_id
		WHERE m.person_id = ?`, personID).Scan(&hh, &org, &path)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := settingsAt(ctx, s.db, org, path)
	if err != nil {
		return nil, err
	}
	if st.PointsTo == jifen.ToHousehold {
		out.HouseholdID = &hh
	}
	return out, nil
}

// HouseholdPoints returns a household's account.
func (s *PointsService) HouseholdPoints(ctx context.Context, id int64) (*jifen.PointsSummary, error) {
	if _, err := s.Household(ctx, id); err != nil {
		return nil, err
	}
	out, err := s.summary(ctx, jifen.AccountHousehold, id)
	if out != nil {
		out.HouseholdID = &id
	}
	return out, err
}

// Ledger lists an account's lines, newest first, with the balance after
// each.
func (s *PointsService) Ledger(ctx context.Context, f jifen.LedgerFilter) ([]*jifen.LedgerLine, int, error) {
	kind, owner := jifen.AccountPerson, f.PersonID
	if f.HouseholdID != 0 {
		if _, err := s.Household(ctx, f.HouseholdID); err != nil {
			return nil, 0, err
		}
		kind, owner = jifen.AccountHousehold, f.HouseholdID
	} else if err := s.canSeePoints(ctx, f.PersonID); err != nil {
		return nil, 0, err
	}
	f.Page, f.PerPage = jifen.Paging(f.Page, f.PerPage, 50, 500)
	var acct int64
	err := s.db.queryRow(ctx, "SELECT id FROM accounts WHERE kind = ? AND owner_id = ?", kind, owner).Scan(&acct)
	if errors.Is(err, sql.ErrNoRows) {
		return []*jifen.LedgerLine{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM postings WHERE account_id = ?", acct).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, `SELECT x.tx_id, t.kind, x.amount, x.score, x.bal, t.reason, t.reverses_id, t.shortfall, aw.id, t.created_at
		FROM (SELECT p.id, p.tx_id, p.amount, p.score, SUM(p.amount) OVER (ORDER BY p.tx_id, p.id) AS bal FROM postings p WHERE p.account_id = ?) x
		JOIN ledger_transactions t ON t.id = x.tx_id LEFT JOIN awards aw ON aw.tx_id = x.tx_id
		ORDER BY x.tx_id DESC, x.id DESC LIMIT ? OFFSET ?`, acct, f.PerPage, (f.Page-1)*f.PerPage)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*jifen.LedgerLine{}
	for rows.Next() {
		l := &jifen.LedgerLine{}
		var rev, award sql.NullInt64
		if err := rows.Scan(&l.TxID, &l.Kind, &l.Amount, &l.Score, &l.Balance, &l.Reason, &rev, &l.Shortfall, &award, &l.CreatedAt); err != nil {
			return nil, 0, err
		}
		l.Reverses, l.AwardID, l.CreatedAt = nullID(rev), nullID(award), l.CreatedAt.In(jifen.Zone)
		out = append(out, l)
	}
	return out, total, rows.Err()
}
