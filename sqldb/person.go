package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"jifen"
	"jifen/secret"
)

// PersonService implements jifen.PersonService.
type PersonService struct{ db *DB }

// NewPersonService returns the person service on db.
func NewPersonService(db *DB) *PersonService { return &PersonService{db} }

const personCols = `p.id, p.name, p.gender, p.birth_date, COALESCE(p.phone, ''), p.id_masked, p.political_status, p.skills,
	p.home_org_id, o.name, p.home_org_path, p.volunteer_no, p.status, p.password_hash IS NOT NULL, p.pin_hash IS NOT NULL, p.created_at, p.updated_at`

const personFrom = ` FROM people p` + personJoins

const personJoins = ` JOIN orgs o ON o.id = p.home_org_id`

// personRow is a person with the path used for access checks.
type personRow struct {
	*jifen.Person
	path string
}

func scanPerson(row interface{ Scan(...any) error }) (*personRow, error) {
	p := &jifen.Person{}
	var skills, path string
	if err := row.Scan(&p.ID, &p.Name, &p.Gender, &p.BirthDate, &p.Phone, &p.IDMasked, &p.PoliticalStatus, &skills,
		&p.HomeOrgID, &p.HomeOrgName, &path, &p.VolunteerNo, &p.Status, &p.HasPassword, &p.HasPIN, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.In(jifen.Zone), p.UpdatedAt.In(jifen.Zone)
	p.Skills = []string{}
	if skills != "" {
		p.Skills = strings.Split(skills, ",")
	}
	return &personRow{p, path}, nil
}

func (db *DB) getPerson(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (*personRow, error) {
	p, err := scanPerson(q.QueryRowContext(ctx, db.q("SELECT "+personCols+personFrom+" WHERE p.id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.NotFound("person")
	}
	return p, err
}

// teamPaths returns the paths of the teams a person belongs to.
func (db *DB) teams(ctx context.Context, personID int64) ([]*jifen.Org, error) {
	rows, err := db.query(ctx, "SELECT "+orgCols+" FROM memberships m JOIN orgs o ON o.id = m.team_id WHERE m.person_id = ? ORDER BY o.name", personID)
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

// administers reports whether the actor may act on a person's account
// (issue a password code, set a PIN, change the record): org admin over the
// person's home and over every org where they hold a role, and super admin
// for a super admin, so a village admin cannot take over the county's.
func (db *DB) administers(ctx context.Context, a *jifen.Actor, p *personRow) (bool, error) {
	if !a.Has(p.path, jifen.RoleOrgAdmin) {
		return false, nil
	}
	grants, err := db.grants(ctx, p.ID)
	if err != nil {
		return false, err
	}
	for _, g := range grants {
		if g.Role == jifen.RoleSuperAdmin && !a.IsSuperAdmin() || !a.Has(g.OrgPath, jifen.RoleOrgAdmin) {
			return false, nil
		}
	}
	return true, nil
}

// notAdministered is the answer when the actor sees a person but may not
// act on their account.
var notAdministered = &jifen.Error{Kind: jifen.KindForbidden, Code: "forbidden",
	Zh: "此人在上级组织担任管理职务，需由上级管理员操作", En: "This person holds a role higher up; an admin there must do this"}

// canSeePerson: oneself, or staff whose subtree holds the person's home
// org or one of their teams.
func canSeePerson(a *jifen.Actor, p *personRow, teams []*jifen.Org, roles ...jifen.Role) bool {
	if a == nil {
		return false
	}
	if len(roles) == 0 {
		if a.PersonID == p.ID {
			return true
		}
		roles = jifen.StaffRoles
	}
	if a.Has(p.path, roles...) {
		return true
	}
	for _, t := range teams {
		if a.Has(t.Path, roles...) {
			return true
		}
	}
	return false
}

// Person returns one person the actor may see; others are not found.
func (s *PersonService) Person(ctx context.Context, id int64) (*jifen.Person, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	p, err := s.db.getPerson(ctx, s.db.r, id)
	if err != nil {
		return nil, err
	}
	teams, err := s.db.teams(ctx, id)
	if err != nil {
		return nil, err
	}
	if !canSeePerson(a, p, teams) {
		return nil, jifen.NotFound("person")
	}
	p.Teams = teams
	return p.Person, nil
}

// volunteerNo draws a public volunteer number: 12 digits starting with
// the year (in Asia/Shanghai, where the new year comes 8 hours before
// UTC's), random after it so numbers cannot be walked.
func (db *DB) volunteerNo(ctx context.Context, tx *Tx) (string, error) {
	for range 10 {
		n, _ := rand.Int(rand.Reader, big.NewInt(1e8))
		no := fmt.Sprintf("%d%08d", db.Now().In(jifen.Zone).Year(), n.Int64())
		var c int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM people WHERE volunteer_no = ?", no).Scan(&c); err != nil {
			return "", err
		}
		if c == 0 {
			return no, nil
		}
	}
	return "", errors.New("sqldb: could not draw a free volunteer number")
}

// placement resolves where a person is registered: naming a team makes the
// team's nearest non-team ancestor the home org and the team a membership.
func (t *Tx) placement(ctx context.Context, in *jifen.PersonInput) (*jifen.Org, error) {
	home, err := t.lockedOrg(ctx, in.OrgID)
	if err != nil {
		if jifen.ErrorKind(err) == jifen.KindNotFound {
			return nil, jifen.Invalid("org_id", "所属组织不存在", "The organisation does not exist")
		}
		return nil, err
	}
	if home.ArchivedAt != nil {
		return nil, jifen.Invalid("org_id", "所属组织已归档", "The organisation is archived")
	}
	for home.Kind == jifen.OrgTeam && home.ParentID != nil {
		if !containsID(in.TeamIDs, home.ID) {
			in.TeamIDs = append(in.TeamIDs, home.ID)
		}
		if home, err = t.getOrg(ctx, *home.ParentID); err != nil {
			return nil, err
		}
	}
	in.OrgID = home.ID
	return home, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// idFields encrypts an ID number for storage: ciphertext, keyed hash for
// uniqueness, and the masked form shown everywhere.
func (db *DB) idFields(id string) (cipher []byte, hash, masked any) {
	if id == "" {
		return nil, nil, ""
	}
	return db.Keys.Encrypt([]byte(id)), db.Keys.Hash(id), jifen.MaskIDNumber(id)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// createPerson inserts a validated person and their team memberships.
func (t *Tx) createPerson(ctx context.Context, in jifen.PersonInput, status jifen.PersonStatus) (int64, string, error) {
	home, err := t.placement(ctx, &in)
	if err != nil {
		return 0, "", err
	}
	no, err := t.db.volunteerNo(ctx, t)
	if err != nil {
		return 0, "", err
	}
	var pw any
	if in.Password != "" {
		pw = secret.HashPassword(in.Password, t.db.PasswordParams)
	}
	cipher, hash, masked := t.db.idFields(in.IDNumber)
	now := t.db.now()
	id, err := t.insert(ctx, `INSERT INTO people (name, gender, birth_date, phone, id_cipher, id_hash, id_masked, political_status, skills,
		home_org_id, home_org_path, volunteer_no, password_hash, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.Name, in.Gender, in.BirthDate, nullIfEmpty(in.Phone), cipher, hash, masked, in.PoliticalStatus,
		strings.Join(in.Skills, ","), home.ID, home.Path, no, pw, status, now, now)
	if err != nil {
		return 0, "", err
	}
	for _, team := range in.TeamIDs {
		if err := t.joinTeam(ctx, id, team); err != nil {
			return 0, "", err
		}
	}
	return id, no, nil
}

func (t *Tx) joinTeam(ctx context.Context, personID, teamID int64) error {
	team, err := t.getOrg(ctx, teamID)
	if err != nil || team.Kind != jifen.OrgTeam {
		return jifen.Invalid("team_ids", "志愿服务队不存在", "The team does not exist")
	}
	if a := jifen.ActorFrom(ctx); a != nil && a.PersonID != personID {
		if !a.Has(team.Path, jifen.RoleOrgAdmin, jifen.RoleTeamLeader) {
			return jifen.ErrForbidden
		}
		// Adding someone to a team makes them visible to its leader, so the
		// actor must already see them as staff.
		p, err := t.db.getPerson(ctx, t.tx, personID)
		if err != nil {
			return err
		}
		teams, err := t.teamsOf(ctx, personID)
		if err != nil {
			return err
		}
		if !a.IsSuperAdmin() && !canSeePerson(a, p, teams, jifen.StaffRoles...) {
			return jifen.NotFound("person")
		}
	}
	var n int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM memberships WHERE person_id = ? AND team_id = ?", personID, teamID).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err = t.exec(ctx, "INSERT INTO memberships (person_id, team_id, joined_at) VALUES (?, ?, ?)", personID, teamID, t.db.now())
	return err
}

// CreatePerson adds a person to an org the actor administers.
func (s *PersonService) CreatePerson(ctx context.Context, in jifen.PersonInput) (*jifen.Person, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if err := in.Validate(s.db.Now()); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		org, err := tx.getOrg(ctx, in.OrgID)
		if err != nil {
			if jifen.ErrorKind(err) == jifen.KindNotFound {
				return jifen.Invalid("org_id", "所属组织不存在", "The organisation does not exist")
			}
			return err
		}
		if !a.Has(org.Path, jifen.RoleOrgAdmin) {
			return refuse(a, org.Path)
		}
		var no string
		if id, no, err = tx.createPerson(ctx, in, jifen.PersonActive); err != nil {
			return err
		}
		return tx.audit(ctx, org.ID, org.Path, "person.create", "person", id, in.Name+" "+no)
	})
	if err != nil {
		return nil, err
	}
	return s.Person(ctx, id)
}

// UpdatePerson changes a record. Admins change everything but the
// password; a person changes their own phone, skills and political status.
func (s *PersonService) UpdatePerson(ctx context.Context, id int64, in jifen.PersonInput) (*jifen.Person, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	in.Password = ""
	err := s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, id)
		if err != nil {
			return err
		}
		admin, err := s.db.administers(ctx, a, p)
		if err != nil {
			return err
		}
		if !admin {
			if a.PersonID != id {
				if a.Has(p.path, jifen.RoleOrgAdmin) {
					return notAdministered
				}
				return jifen.NotFound("person")
			}
			// Self-service keeps the real-name fields as registered.
			in.Name, in.Gender, in.BirthDate, in.OrgID = p.Name, p.Gender, p.BirthDate, p.HomeOrgID
			in.IDNumber = ""
		}
		if in.OrgID == 0 {
			in.OrgID = p.HomeOrgID
		}
		keepID := in.IDNumber == ""
		if keepID && p.IDMasked != "" {
			// The stored number still binds birth date and gender: check the
			// edit against it, then keep it as it is.
			var cipher []byte
			if err := tx.queryRow(ctx, "SELECT id_cipher FROM people WHERE id = ?", id).Scan(&cipher); err != nil {
				return err
			}
			plain, err := s.db.Keys.Decrypt(cipher)
			if err != nil {
				return fmt.Errorf("decrypt id number of person %d: %w", id, err)
			}
			in.IDNumber = string(plain)
		}
		if err := in.Validate(s.db.Now()); err != nil {
			return err
		}
		home, err := tx.placement(ctx, &in)
		if err != nil {
			return err
		}
		if home.ID != p.HomeOrgID && !a.Has(home.Path, jifen.RoleOrgAdmin) {
			return jifen.ErrForbidden
		}
		if _, err := tx.exec(ctx, `UPDATE people SET name = ?, gender = ?, birth_date = ?, phone = ?, political_status = ?, skills = ?,
			home_org_id = ?, home_org_path = ?, updated_at = ? WHERE id = ?`,
			in.Name, in.Gender, in.BirthDate, nullIfEmpty(in.Phone), in.PoliticalStatus, strings.Join(in.Skills, ","),
			home.ID, home.Path, s.db.now(), id); err != nil {
			return err
		}
		if err := tx.rehome(ctx, id, home.ID, home.Path); err != nil {
			return err
		}
		if !keepID {
			cipher, hash, masked := s.db.idFields(in.IDNumber)
			if _, err := tx.exec(ctx, "UPDATE people SET id_cipher = ?, id_hash = ?, id_masked = ? WHERE id = ?", cipher, hash, masked, id); err != nil {
				return err
			}
		}
		for _, team := range in.TeamIDs {
			if err := tx.joinTeam(ctx, id, team); err != nil {
				return err
			}
		}
		return tx.audit(ctx, home.ID, home.Path, "person.update", "person", id, in.Name)
	})
	if err != nil {
		return nil, err
	}
	return s.Person(ctx, id)
}

// likeEscape escapes LIKE wildcards so a search for "%" finds a percent sign.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// People searches the actor's scope. Chinese names are two or three
// characters, so a substring match is used instead of a tokenizer.
func (s *PersonService) People(ctx context.Context, f jifen.PersonFilter) ([]*jifen.Person, int, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, 0, jifen.ErrUnauthorized
	}
	f.Normalize()
	where, args, err := s.db.scopeWhere(ctx, a, "p.home_org_path", f.OrgID, jifen.StaffRoles...)
	if err != nil {
		return nil, 0, err
	}
	// Team leaders also see the members of their teams who live elsewhere.
	twhere, targs, _ := s.db.scopeWhere(ctx, a, "t.path", f.OrgID, jifen.StaffRoles...)
	where = "(" + where + " OR p.id IN (SELECT m.person_id FROM memberships m JOIN orgs t ON t.id = m.team_id WHERE " + twhere + "))"
	args = append(args, targs...)
	if f.Q != "" {
		if isDigits(f.Q) {
			where += " AND (p.phone LIKE ? OR p.volunteer_no LIKE ?)"
			args = append(args, f.Q+"%", f.Q+"%")
		} else {
			where += ` AND p.name LIKE ? ESCAPE '\'`
			args = append(args, "%"+likeEscape(f.Q)+"%")
		}
	}
	if f.Status != "" {
		where += " AND p.status = ?"
		args = append(args, f.Status)
	}
	offset := (f.Page - 1) * f.PerPage
	total, from, bound, err := s.db.listPage(ctx, "people", "p", "", where, args, offset, f.PerPage)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.db.query(ctx, "SELECT "+personCols+" FROM "+from+personJoins+" WHERE "+where+bound+" ORDER BY p.id DESC LIMIT ? OFFSET ?",
		append(args, f.PerPage, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*jifen.Person{}
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, p.Person)
	}
	return out, total, rows.Err()
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// RevealIDNumber decrypts an ID number for an org admin and logs the read.
func (s *PersonService) RevealIDNumber(ctx context.Context, id int64) (string, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return "", jifen.ErrUnauthorized
	}
	var out string
	err := s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, id)
		if err != nil {
			return err
		}
		if !a.Has(p.path, jifen.RoleOrgAdmin) && a.PersonID != id {
			return jifen.NotFound("person")
		}
		var cipher []byte
		if err := tx.queryRow(ctx, "SELECT id_cipher FROM people WHERE id = ?", id).Scan(&cipher); err != nil {
			return err
		}
		if cipher == nil {
			return jifen.Errorf(jifen.KindNotFound, "no_id_number", "id_number", "未登记身份证号", "No ID number on record")
		}
		plain, err := s.db.Keys.Decrypt(cipher)
		if err != nil {
			return fmt.Errorf("decrypt id number of person %d (is the secret file the right one?): %w", id, err)
		}
		out = string(plain)
		return tx.audit(ctx, p.HomeOrgID, p.path, "person.reveal_id", "person", id, p.Name)
	})
	return out, err
}

// ErasePerson removes a person's personal data, keeping what the ledger
// and the service records need (ids, the volunteer number, numbers).
func (s *PersonService) ErasePerson(ctx context.Context, id int64, reason string) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	reason = jifen.CleanText(reason)
	if reason == "" {
		return jifen.Invalid("reason", "请填写删除依据（如本人申请的日期和方式）", "Say on what grounds (e.g. the date and form of the person's request)")
	}
	if a.PersonID == id {
		return jifen.Conflict("self_approval", "本人申请须由管理员办理", "An administrator carries out a person's own request")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		if tx.db.dialect.name() == "postgres" {
			// The activities whose places it gives up first, as a sign-up,
			// a cancellation or a verification takes an activity before
			// the people it writes to: the other way round, an activity's
			// cancellation, writing to this person, met the erasure in a
			// circle (TestErasureBesideCancellingAnActivityTheyJoined).
			held, err := tx.placesHeld(ctx, id, s.db.now())
			if err != nil {
				return err
			}
			for _, act := range held {
				if err := tx.lockActivity(ctx, act); err != nil {
					return err
				}
			}
			// FOR UPDATE, not the UPDATE's lock: it waits for awards being
			// written to the person (whose rows hold KEY SHARE on theirs),
			// which this erasure then scrubs, and awards after it wait for
			// it and are refused (erasedAmong).
			if _, err := tx.exec(ctx, "SELECT id FROM people WHERE id = ? FOR UPDATE", id); err != nil {
				return err
			}
		}
		p, err := s.db.getPerson(ctx, tx.tx, id)
		if err != nil {
			return err
		}
		if !a.Has(p.path, jifen.RoleOrgAdmin) {
			return jifen.NotFound("person")
		}
		if p.Status == jifen.PersonErased {
			return jifen.Conflict("already_erased", "该人员的个人信息已删除", "This person's data is already erased")
		}
		var supers int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM grants WHERE person_id = ? AND role = 'super_admin'", id).Scan(&supers); err != nil {
			return err
		}
		if supers > 0 {
			return jifen.Conflict("super_admin", "超级管理员不能删除，请先移交", "A super admin cannot be erased; hand the role over first")
		}
		// Every name they have gone by, as their record's audit lines tell
		// it, before those lines are cleared below: award lines written
		// before a change of name carry the old one.
		names, err := tx.formerNames(ctx, id, p.Name)
		if err != nil {
			return err
		}
		now := s.db.now()
		// The volunteer number stays: it is public, identifies nobody on
		// its own, and keeps certificates and records checkable.
		if _, err := tx.exec(ctx, `UPDATE people SET name = ?, birth_date = '', phone = NULL, id_cipher = NULL, id_hash = NULL,
			id_masked = '', skills = '', password_hash = NULL, pin_hash = NULL, status = 'erased', updated_at = ? WHERE id = ?`, jifen.ErasedName, now, id); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM sessions WHERE person_id = ?",
			"DELETE FROM reset_codes WHERE person_id = ?",
			"DELETE FROM grants WHERE person_id = ?",
			"DELETE FROM messages WHERE person_id = ?",
			"DELETE FROM paycodes WHERE person_id = ?",
			"DELETE FROM store_clerks WHERE person_id = ?",
			"UPDATE consents SET guardian_name = '', guardian_phone = '', ip = '' WHERE person_id = ?",
			"UPDATE sessions SET ip = '' WHERE person_id = ?",
			"DELETE FROM award_evidence WHERE award_id IN (SELECT id FROM awards WHERE person_id = ?)",
			// Claims and awards waiting for review are closed: nothing
			// more is posted to them (refuseErased).
			"UPDATE awards SET status = 'rejected', reject_reason = '本人信息已删除' WHERE person_id = ? AND status = 'pending'",
			// Earlier audit lines about the person keep who did what, not
			// the name they wrote down.
			"UPDATE audit_log SET detail = '（已删除）' WHERE target_type = 'person' AND target_id = ?",
		} {
			if _, err := tx.exec(ctx, q, id); err != nil {
				return err
			}
		}
		// Award lines name whom the points went to ("help ×1 = +10 → 李秀英"):
		// the names go, what was done stays.
		for _, name := range names {
			if _, err := tx.exec(ctx, `UPDATE audit_log SET detail = replace(detail, ?, '（已删除）')
				WHERE target_type = 'award' AND target_id IN (SELECT id FROM awards WHERE person_id = ?)`, name, id); err != nil {
				return err
			}
		}
		renamed, err := tx.unnameHouseholds(ctx, id, names)
		if err != nil {
			return err
		}
		if err := tx.releasePlaces(ctx, id, now); err != nil {
			return err
		}
		// Kept public boards may rank them, or their households, by name
		// (board.go).
		if err := tx.patchBoards(ctx, boardPatch{erased: id, households: renamed}, "org_id <> 0"); err != nil {
			return err
		}
		// The audit line names the number, not the person.
		return tx.audit(ctx, p.HomeOrgID, p.path, "person.erase", "person", id, p.VolunteerNo+"："+reason)
	})
}

// selfOrSeen lets an actor at a person's records: their own, or those of
// someone they see (Person answers not_found for anyone else).
func (db *DB) selfOrSeen(ctx context.Context, a *jifen.Actor, personID int64) error {
	if personID == a.PersonID {
		return nil
	}
	_, err := NewPersonService(db).Person(ctx, personID)
	return err
}

// unnameHouseholds takes an erased person's names out of the name of the
// household they head or belong to, or once belonged to and left (each
// leaving is an audit line holding their id: the head cannot leave, so a
// former head was first replaced): "张三户" becomes "已注销户", as their
// own name became 已注销, so that boards and lists ranking households no
// longer name them; an admin hands it to its new head (ChangeHousehold),
// whose name it then takes. The household's audit lines, and those of the
// awards made to it ("→ 张三户"), lose the names too. A name held whole in
// another member's or former member's ("李建" in "李建国") is left, not to
// mangle theirs. It returns the households renamed, with their new names.
// On PostgreSQL the households are locked, after the person as every
// write takes them, so that a change of head or name under way is waited
// for and its name read, not written over.
func (t *Tx) unnameHouseholds(ctx context.Context, id int64, names []string) (map[int64]string, error) {
	q := `SELECT id, name, head_person_id FROM households
		WHERE head_person_id = ? OR id IN (SELECT household_id FROM household_members WHERE person_id = ?)
		OR id IN (SELECT target_id FROM audit_log WHERE target_type = 'household' AND action = 'household.remove_member' AND detail = ?)
		ORDER BY id`
	if t.db.dialect.name() == "postgres" {
		q += " FOR NO KEY UPDATE"
	}
	type household struct {
		id, head int64
		name     string
	}
	rows, err := t.query(ctx, q, id, id, strconv.FormatInt(id, 10))
	if err != nil {
		return nil, err
	}
	var hs []household
	renamed := map[int64]string{}
	for rows.Next() {
		var h household
		if err := rows.Scan(&h.id, &h.name, &h.head); err != nil {
			rows.Close()
			return nil, err
		}
		hs = append(hs, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, h := range hs {
		// Its head, members and former members: each joining and leaving
		// is a line holding the member's id (read here, not compared as
		// text in SQL, which would read every person).
		lines, err := t.strings(ctx, `SELECT detail FROM audit_log WHERE target_type = 'household' AND target_id = ?
			AND action IN ('household.add_member', 'household.remove_member')`, h.id)
		if err != nil {
			return nil, err
		}
		ids := []int64{h.head}
		for _, l := range lines {
			if n, err := strconv.ParseInt(l, 10, 64); err == nil {
				ids = append(ids, n)
			}
		}
		ph, idArgs := idList(ids)
		others, err := t.strings(ctx, `SELECT p.name FROM people p WHERE p.id <> ? AND (p.id IN (`+ph+`)
			OR p.id IN (SELECT person_id FROM household_members WHERE household_id = ?))`, append(append([]any{id}, idArgs...), h.id)...)
		if err != nil {
			return nil, err
		}
		var gone []string
		for _, n := range names {
			if !slices.ContainsFunc(others, func(o string) bool { return strings.Contains(o, n) }) {
				gone = append(gone, n)
			}
		}
		name := h.name
		for _, n := range gone {
			name = strings.ReplaceAll(name, n, jifen.ErasedName)
		}
		if name != h.name {
			if _, err := t.exec(ctx, "UPDATE households SET name = ? WHERE id = ?", name, h.id); err != nil {
				return nil, err
			}
			renamed[h.id] = name
		}
		for _, n := range gone {
			if _, err := t.exec(ctx, `UPDATE audit_log SET detail = replace(detail, ?, '（已删除）')
				WHERE (target_type = 'household' AND target_id = ?)
				OR (target_type = 'award' AND target_id IN (SELECT id FROM awards WHERE household_id = ?))`, n, h.id, h.id); err != nil {
				return nil, err
			}
		}
	}
	return renamed, nil
}

// formerNames are the names a person has gone by: current, and those in
// the audit lines of their record (made, changed, approved, its ID number
// shown); longest
// first, so that a name inside a longer one does not leave the rest of
// that one behind. A name of one character is left out: replaced
// wherever it stood, it would blot out that character in every line of
// theirs.
func (t *Tx) formerNames(ctx context.Context, id int64, current string) ([]string, error) {
	rows, err := t.query(ctx, `SELECT action, detail FROM audit_log WHERE target_type = 'person' AND target_id = ?
		AND action IN ('person.create', 'person.update', 'person.approve', 'person.reveal_id')`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[string]bool{current: true}
	names := []string{current}
	for rows.Next() {
		var action, name string
		if err := rows.Scan(&action, &name); err != nil {
			return nil, err
		}
		if action == "person.create" {
			// "name volunteer-number"
			if i := strings.LastIndex(name, " "); i > 0 {
				name = name[:i]
			}
		}
		if name = strings.TrimSpace(name); !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return utf8.RuneCountInString(n) < 2 })
	slices.SortStableFunc(names, func(a, b string) int { return len(b) - len(a) })
	return names, nil
}

// ApprovePerson activates a pending self-sign-up; nobody approves themselves.
func (s *PersonService) ApprovePerson(ctx context.Context, id int64) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	if a.PersonID == id {
		return jifen.Conflict("self_approval", "不能审批自己的申请", "You cannot approve your own request")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, id)
		if err != nil {
			return err
		}
		if !a.Has(p.path, jifen.RoleOrgAdmin) {
			return jifen.NotFound("person")
		}
		if p.Status != jifen.PersonPending {
			return jifen.Conflict("not_pending", "该人员不在待审核状态", "This person is not waiting for approval")
		}
		if _, err := tx.exec(ctx, "UPDATE people SET status = 'active', updated_at = ? WHERE id = ?", s.db.now(), id); err != nil {
			return err
		}
		if err := tx.sendMessage(ctx, id, say("注册已通过审核", "Registration approved"),
			say("您在"+p.HomeOrgName+"的注册已通过审核，现在可以登录使用。", p.HomeOrgName+" has approved your registration; you can sign in now.")); err != nil {
			return err
		}
		return tx.audit(ctx, p.HomeOrgID, p.path, "person.approve", "person", id, p.Name)
	})
}

// SetPIN sets the 6-digit counter PIN for someone who uses the printed card.
func (s *PersonService) SetPIN(ctx context.Context, id int64, pin string) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	if len(pin) != 6 || !isDigits(pin) {
		return jifen.Invalid("pin", "密码应为6位数字", "The PIN must be 6 digits")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, id)
		if err != nil {
			return err
		}
		if a.PersonID != id {
			if !a.Has(p.path, jifen.RoleOrgAdmin) {
				return jifen.NotFound("person")
			}
			if ok, err := s.db.administers(ctx, a, p); err != nil || !ok {
				return cmpErr(err, notAdministered)
			}
		}
		if _, err := tx.exec(ctx, "UPDATE people SET pin_hash = ?, updated_at = ? WHERE id = ?",
			secret.HashPassword(pin, s.db.PasswordParams), s.db.now(), id); err != nil {
			return err
		}
		return tx.audit(ctx, p.HomeOrgID, p.path, "person.set_pin", "person", id, p.Name)
	})
}

// JoinTeam adds a membership; team leaders and admins of the team do it.
func (s *PersonService) JoinTeam(ctx context.Context, personID, teamID int64) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := s.db.getPerson(ctx, tx.tx, personID); err != nil {
			return err
		}
		team, err := tx.getOrg(ctx, teamID)
		if err != nil {
			return err
		}
		if err := tx.joinTeam(ctx, personID, teamID); err != nil {
			return err
		}
		return tx.audit(ctx, teamID, team.Path, "team.join", "person", personID, team.Name)
	})
}

// LeaveTeam removes a membership.
func (s *PersonService) LeaveTeam(ctx context.Context, personID, teamID int64) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		team, err := tx.getOrg(ctx, teamID)
		if err != nil {
			return err
		}
		if !a.Has(team.Path, jifen.RoleOrgAdmin, jifen.RoleTeamLeader) && a.PersonID != personID {
			return jifen.ErrForbidden
		}
		if _, err := tx.exec(ctx, "DELETE FROM memberships WHERE person_id = ? AND team_id = ?", personID, teamID); err != nil {
			return err
		}
		return tx.audit(ctx, teamID, team.Path, "team.leave", "person", personID, team.Name)
	})
}

// ImportPeople writes a whole validated roster in one transaction, so a
// failure leaves nothing behind. Rows match existing people by ID number,
// then by phone, and update them instead of adding duplicates.
func (s *PersonService) ImportPeople(ctx context.Context, orgID int64, rows []jifen.PersonInput) (jifen.ImportResult, error) {
	var res jifen.ImportResult
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return res, jifen.ErrUnauthorized
	}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		res = jifen.ImportResult{} // a retried transaction counts afresh
		root, err := tx.getOrg(ctx, orgID)
		if err != nil {
			return err
		}
		if !a.Has(root.Path, jifen.RoleOrgAdmin) {
			return jifen.ErrForbidden
		}
		if err := tx.lockImported(ctx, rows); err != nil {
			return err
		}
		progress := jifen.ProgressFrom(ctx)
		for i, in := range rows {
			progress(i, len(rows))
			if in.OrgID == 0 {
				in.OrgID = orgID
			}
			org, err := tx.getOrg(ctx, in.OrgID)
			if err != nil || !jifen.PathContains(root.Path, org.Path) {
				return jifen.Invalid("org_id", fmt.Sprintf("第%d行：所属组织不在导入范围内", i+1), fmt.Sprintf("row %d: organisation outside the import's scope", i+1))
			}
			line := in.Row
			if line == 0 {
				line = i + 1
			}
			var existing int64
			if in.IDNumber != "" {
				err = tx.queryRow(ctx, "SELECT id FROM people WHERE id_hash = ?", s.db.Keys.Hash(in.IDNumber)).Scan(&existing)
			}
			byPhone := false
			if existing == 0 && in.Phone != "" {
				err = tx.queryRow(ctx, "SELECT id FROM people WHERE phone = ?", in.Phone).Scan(&existing)
				byPhone = existing != 0
			}
			if existing == 0 && in.IDNumber == "" && in.Phone == "" {
				// Nothing to know them by but who they are: the same name,
				// gender and birth date in the same org, kept with no ID
				// number or phone either, is the same row imported again.
				err = tx.queryRow(ctx, `SELECT id FROM people WHERE home_org_path = ? AND name = ? AND gender = ? AND birth_date = ?
					AND id_hash IS NULL AND phone IS NULL AND status = 'active' ORDER BY id LIMIT 1`,
					org.Path, in.Name, in.Gender, in.BirthDate).Scan(&existing)
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if existing == 0 {
				if _, _, err := tx.createPerson(ctx, in, jifen.PersonActive); err != nil {
					return rowErrAt(line, err)
				}
				res.Created++
				continue
			}
			cur, err := s.db.getPerson(ctx, tx.tx, existing)
			if err != nil {
				return err
			}
			if ok, err := s.db.administers(ctx, a, cur); err != nil {
				return err
			} else if !ok {
				return rowErrAt(line, jifen.Conflict("person_elsewhere", "此人已在其他组织登记，需办理转接", "This person is registered in another organisation; use a transfer"))
			}
			if byPhone && in.IDNumber != "" {
				// Found by the phone alone (family members often share
				// one) while the row gives an ID number nobody has: if the
				// phone's holder has another ID number, the row is someone
				// else, who must never be written over them. (A row
				// without an ID number updates the phone's holder: a
				// corrected name on a re-run.)
				var hash sql.NullString
				if err := tx.queryRow(ctx, "SELECT id_hash FROM people WHERE id = ?", existing).Scan(&hash); err != nil {
					return err
				}
				if hash.String != "" && hash.String != s.db.Keys.Hash(in.IDNumber) {
					return rowErrAt(line, jifen.Errorf(jifen.KindConflict, "phone_taken", "phone",
						"手机号"+in.Phone+"已登记给"+cur.Name+"，其身份证号与本行不同；一家人共用手机时，其他人请不填手机号",
						"The phone "+in.Phone+" belongs to "+cur.Name+", whose ID number differs from this row's; for a family sharing a phone, leave it out for the others"))
				}
			}
			home, err := tx.placement(ctx, &in)
			if err != nil {
				return rowErrAt(line, err)
			}
			cipher, hash, masked := s.db.idFields(in.IDNumber)
			if in.IDNumber == "" {
				if _, err := tx.exec(ctx, `UPDATE people SET name = ?, gender = ?, birth_date = ?, phone = ?, political_status = ?, skills = ?, home_org_id = ?, home_org_path = ?, updated_at = ? WHERE id = ?`,
					in.Name, in.Gender, in.BirthDate, nullIfEmpty(in.Phone), in.PoliticalStatus, strings.Join(in.Skills, ","), home.ID, home.Path, s.db.now(), existing); err != nil {
					return rowErrAt(line, err)
				}
			} else if _, err := tx.exec(ctx, `UPDATE people SET name = ?, gender = ?, birth_date = ?, phone = ?, political_status = ?, skills = ?, home_org_id = ?, home_org_path = ?,
				id_cipher = ?, id_hash = ?, id_masked = ?, updated_at = ? WHERE id = ?`,
				in.Name, in.Gender, in.BirthDate, nullIfEmpty(in.Phone), in.PoliticalStatus, strings.Join(in.Skills, ","), home.ID, home.Path,
				cipher, hash, masked, s.db.now(), existing); err != nil {
				return rowErrAt(line, err)
			}
			if err := tx.rehome(ctx, existing, home.ID, home.Path); err != nil {
				return rowErrAt(line, err)
			}
			for _, team := range in.TeamIDs {
				if err := tx.joinTeam(ctx, existing, team); err != nil {
					return rowErrAt(line, err)
				}
			}
			res.Updated++
		}
		progress(len(rows), len(rows))
		return tx.audit(ctx, root.ID, root.Path, "person.import", "org", root.ID, fmt.Sprintf("新增%d人，更新%d人", res.Created, res.Updated))
	})
	if err != nil {
		return jifen.ImportResult{}, err
	}
	return res, nil
}

// lockImported takes, on PostgreSQL, the rows of the people an import
// will find by ID number or phone, in id order, before it updates any of
// them in the file's order (lockPeople). Those matched by name alone
// (no ID number, no phone) are taken as their rows come.
func (t *Tx) lockImported(ctx context.Context, rows []jifen.PersonInput) error {
	if t.db.dialect.name() != "postgres" {
		return nil
	}
	var hashes, phones []string
	for _, in := range rows {
		if in.IDNumber != "" {
			hashes = append(hashes, t.db.Keys.Hash(in.IDNumber))
		}
		if in.Phone != "" {
			phones = append(phones, in.Phone)
		}
	}
	if len(hashes)+len(phones) == 0 {
		return nil
	}
	ids, err := t.ids(ctx, "SELECT id FROM people WHERE id_hash = ANY(?::text[]) OR phone = ANY(?::text[])", hashes, phones)
	if err != nil {
		return err
	}
	return t.lockPeople(ctx, ids)
}

// placesHeld are the activities, in id order, not begun yet where the
// person holds a place or waits for one and has not checked in.
func (t *Tx) placesHeld(ctx context.Context, personID int64, now time.Time) ([]int64, error) {
	return t.ids(ctx, `SELECT s.activity_id FROM signups s JOIN activities a ON a.id = s.activity_id
		WHERE s.person_id = ? AND s.status IN ('confirmed', 'waitlisted') AND a.status IN ('draft', 'published') AND a.starts_at > ?
		AND NOT EXISTS (SELECT 1 FROM attendance x WHERE x.activity_id = s.activity_id AND x.person_id = s.person_id)
		ORDER BY s.activity_id`, personID, now)
}

// rowErr names the list's line i (0-based) in an error.
func rowErr(i int, err error) error { return rowErrAt(i+1, err) }

// rowErrAt names row n of a file or list (1-based) in an error.
func rowErrAt(n int, err error) error {
	var e *jifen.Error
	if errors.As(err, &e) {
		c := *e
		c.Zh = fmt.Sprintf("第%d行：%s", n, e.Zh)
		c.En = fmt.Sprintf("row %d: %s", n, e.En)
		return &c
	}
	return err
}

// cmpErr returns err when set, else the fallback.
func cmpErr(err error, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// LookupPerson finds a person under an org by an exact volunteer number,
// mobile phone or ID number; the ID number is matched by its keyed hash,
// never decrypted.
func (s *PersonService) LookupPerson(ctx context.Context, orgID int64, ident string) (*jifen.Person, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	where, args, err := s.db.scopeWhere(ctx, a, "p.home_org_path", orgID, jifen.StaffRoles...)
	if err != nil {
		return nil, err
	}
	ident = strings.TrimSpace(ident)
	switch {
	case ident == "" || !jifen.PlainText(ident):
		return nil, jifen.Invalid("ident", "缺少志愿者编号、手机号或身份证号", "A volunteer number, phone or ID number is needed")
	case jifen.ValidMobile(jifen.NormalizeMobile(ident)):
		where += " AND p.phone = ?"
		args = append(args, jifen.NormalizeMobile(ident))
	case len(jifen.NormalizeIDNumber(ident)) == 18:
		where += " AND p.id_hash = ?"
		args = append(args, s.db.Keys.Hash(jifen.NormalizeIDNumber(ident)))
	default:
		where += " AND p.volunteer_no = ?"
		args = append(args, ident)
	}
	p, err := scanPerson(s.db.queryRow(ctx, "SELECT "+personCols+personFrom+" WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jifen.Errorf(jifen.KindNotFound, "not_found", "ident", "没有找到“"+ident+"”对应的人员", "Nobody matches "+ident)
	}
	if err != nil {
		return nil, err
	}
	return p.Person, nil
}

// releasePlaces cancels an erased person's sign-ups to activities not yet
// begun that they have not checked in at (check-in opens before the
// start): nobody erased will come, and their place goes to the first on
// the waitlist. Those under way, or attended, keep them.
func (t *Tx) releasePlaces(ctx context.Context, personID int64, now time.Time) error {
	activities, err := t.placesHeld(ctx, personID, now)
	if err != nil {
		return err
	}
	for _, id := range activities {
		// The sign-up's status is read under the activity's lock: a place
		// freed elsewhere a moment ago may have just confirmed it.
		if err := t.lockActivity(ctx, id); err != nil {
			return err
		}
		var status string
		if err := t.queryRow(ctx, "SELECT status FROM signups WHERE activity_id = ? AND person_id = ?", id, personID).Scan(&status); err != nil {
			return err
		}
		if status == string(jifen.SignupCancelled) {
			continue
		}
		if err := t.cancelPlace(ctx, id, personID, status); err != nil {
			return err
		}
	}
	return nil
}
