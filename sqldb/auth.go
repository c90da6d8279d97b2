package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"jifen"
	"jifen/secret"
)

// AuthService implements jifen.AuthService.
type AuthService struct{ db *DB }

// NewAuthService returns the auth service on db.
func NewAuthService(db *DB) *AuthService { return &AuthService{db} }

// Throttle limits. A whole village can share one carrier NAT address, so
// the address limit is generous and only failures count; the per-phone
// limit is what stops guessing one person's password.
const (
	throttleWindow      = 15 * time.Minute
	maxFailuresPerPhone = 5
	maxFailuresPerAddr  = 100
	sessionLifetime     = 30 * 24 * time.Hour
	resetCodeLifetime   = 72 * time.Hour
)

// ErrBadCredentials is the one answer to any failed sign-in: it does not
// say whether the phone is registered.
var ErrBadCredentials = &jifen.Error{Kind: jifen.KindUnauthorized, Code: "bad_credentials",
	Zh: "手机号或密码不正确", En: "Phone number or password is incorrect"}

// ErrThrottled answers when too many attempts failed recently.
var ErrThrottled = &jifen.Error{Kind: jifen.KindTooMany, Code: "too_many_attempts",
	Zh: "尝试次数过多，请15分钟后再试，或请管理员发放一次性验证码", En: "Too many failed attempts; wait 15 minutes or ask an admin for a one-time code"}

// failures returns the failures recorded for key in the current window.
func (db *DB) failures(ctx context.Context, key string) (int, error) {
	var n int
	var start time.Time
	err := db.queryRow(ctx, "SELECT failures, window_start FROM throttles WHERE key = ?", key).Scan(&n, &start)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && db.now().Sub(start) > throttleWindow) {
		return 0, nil
	}
	return n, err
}

// recordFailure counts one failure for key, starting a new window when the
// old one has passed. The throttle lives in the database so every instance
// sees the same counts.
func (db *DB) recordFailure(ctx context.Context, keys ...string) error {
	defer func() {
		for _, key := range keys {
			db.config.forget(throttleKey(key)) // cachedFailures
		}
	}()
	return db.inTx(ctx, func(tx *Tx) error {
		now := db.now()
		for _, key := range keys {
			if _, err := tx.exec(ctx, `INSERT INTO throttles (key, window_start, failures) VALUES (?, ?, 1)
				ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN throttles.window_start < ? THEN 1 ELSE throttles.failures + 1 END,
				window_start = CASE WHEN throttles.window_start < ? THEN excluded.window_start ELSE throttles.window_start END`,
				key, now, now.Add(-throttleWindow), now.Add(-throttleWindow)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) clearFailures(ctx context.Context, key string) error {
	defer db.config.forget(throttleKey(key))
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, "DELETE FROM throttles WHERE key = ?", key)
		return err
	})
}

// signinKey is the throttle key of one account's sign-in failures.
func signinKey(personID int64) string { return "signin:person:" + strconv.FormatInt(personID, 10) }

// SignIn checks a phone (or volunteer number) and password and opens a session.
func (s *AuthService) SignIn(ctx context.Context, phone, password, kind string, ip netip.Addr) (string, error) {
	phone = jifen.NormalizeMobile(phone)
	if phone == "" || password == "" {
		return "", jifen.Invalid("phone", "请输入手机号和密码", "Enter your phone number and password")
	}
	if len(password) > 1024 || len(phone) > 32 || !jifen.PlainText(phone) {
		return "", ErrBadCredentials
	}
	var id int64
	var hash sql.NullString
	var status string
	// People without a phone of their own sign in with their volunteer number.
	col := "phone"
	if !jifen.ValidMobile(phone) {
		col = "volunteer_no"
	}
	err := s.db.queryRow(ctx, "SELECT id, password_hash, status FROM people WHERE "+col+" = ?", phone).Scan(&id, &hash, &status)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	// One budget of guesses per account, whichever login names it; an
	// unknown login is throttled by what was typed, which looks the same.
	phoneKey, addrKey := "signin:login:"+phone, "signin:addr:"+ip.String()
	if id != 0 {
		phoneKey = signinKey(id)
	}
	pf, err := s.db.failures(ctx, phoneKey)
	if err != nil {
		return "", err
	}
	if pf >= maxFailuresPerPhone {
		return "", ErrThrottled
	}
	ok := false
	if hash.Valid {
		ok = secret.CheckPassword(password, hash.String)
	} else {
		// Unknown phone or no password yet: spend the same time as a real
		// check so the answer's timing does not tell which.
		secret.DummyCheck(password, s.db.PasswordParams)
	}
	if !ok {
		af, err := s.db.failures(ctx, addrKey)
		if err != nil {
			return "", err
		}
		if err := s.db.recordFailure(ctx, phoneKey, addrKey); err != nil {
			return "", err
		}
		if af >= maxFailuresPerAddr {
			return "", ErrThrottled
		}
		return "", ErrBadCredentials
	}
	if status == string(jifen.PersonPending) {
		return "", jifen.Errorf(jifen.KindForbidden, "pending_approval", "", "您的注册正在等待组织审核，通过后即可登录", "Your registration is waiting for the organisation's approval")
	}
	if status != string(jifen.PersonActive) {
		return "", ErrBadCredentials
	}
	if pf > 0 {
		if err := s.db.clearFailures(ctx, phoneKey); err != nil {
			return "", err
		}
	}
	return s.openSession(ctx, id, kind, ip)
}

func (s *AuthService) openSession(ctx context.Context, personID int64, kind string, ip netip.Addr) (string, error) {
	if kind != "api" {
		kind = "web"
	}
	token := secret.Token(32)
	now := s.db.now()
	err := s.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, "INSERT INTO sessions (token_hash, person_id, kind, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
			secret.SHA256(token), personID, kind, addrString(ip), now, now.Add(sessionLifetime))
		return err
	})
	return token, err
}

func addrString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}

// SignOut ends a session.
func (s *AuthService) SignOut(ctx context.Context, token string) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, "DELETE FROM sessions WHERE token_hash = ?", secret.SHA256(token))
		return err
	})
}

// sessionPurgeBatch bounds the sessions one purge transaction deletes, so
// the purge never holds SQLite's single writer for long.
const sessionPurgeBatch = 1000

// PurgeExpiredSessions deletes the sessions Authenticate already refuses
// as expired, batch after batch, each its own transaction, until none is
// left, and returns how many went. Instances running it side by side only
// find less to delete.
func (s *AuthService) PurgeExpiredSessions(ctx context.Context) (int, error) {
	if !jifen.ActorFrom(ctx).IsSuperAdmin() {
		return 0, jifen.ErrForbidden
	}
	// One cutoff for the whole run: sessions lapsing meanwhile wait for the
	// next, so the loop ends however busy the server is.
	now := s.db.now()
	total := 0
	for {
		var n int64
		err := s.db.inTx(ctx, func(tx *Tx) error {
			// The subquery finds a batch on sessions_expires; the delete
			// takes each row by its key.
			res, err := tx.exec(ctx, "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at < ? LIMIT ?)",
				now, sessionPurgeBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < sessionPurgeBatch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// Authenticate resolves a token to an actor with grants.
func (s *AuthService) Authenticate(ctx context.Context, token string, ip netip.Addr) (*jifen.Actor, error) {
	if token == "" || len(token) > 200 {
		return nil, jifen.ErrUnauthorized
	}
	hash := secret.SHA256(token)
	// Every request asks this; the answer is kept in the config cache
	// (cache.go), which a sign-in, a sign-out, a grant or a person changed
	// through this server drops at once, and which forgets a change made
	// elsewhere (another server, the command line) within a second.
	sa, err := cachedRead(s.db, sessionKey(hash), func() (*signedIn, error) {
		sa := &signedIn{}
		err := s.db.queryRow(ctx, `SELECT p.id, p.name, p.home_org_id, p.home_org_path, s.expires_at FROM sessions s JOIN people p ON p.id = s.person_id
			WHERE s.token_hash = ? AND p.status = 'active'`, hash).Scan(&sa.personID, &sa.name, &sa.homeOrgID, &sa.homeOrgPath, &sa.expires)
		if err != nil {
			return nil, err
		}
		if sa.grants, err = s.db.grants(ctx, sa.personID); err != nil {
			return nil, err
		}
		return sa, nil
	})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && s.db.now().After(sa.expires)) {
		return nil, jifen.ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	a := &jifen.Actor{IP: ip, SessionHash: hash, PersonID: sa.personID, Name: sa.name, HomeOrgID: sa.homeOrgID, HomeOrgPath: sa.homeOrgPath,
		Grants: slices.Clone(sa.grants)}
	return a, nil
}

// signedIn is who a session token signs in, as the config cache keeps it.
type signedIn struct {
	personID, homeOrgID int64
	name, homeOrgPath   string
	grants              []jifen.Grant
	expires             time.Time
}

func (db *DB) grants(ctx context.Context, personID int64) ([]jifen.Grant, error) {
	rows, err := db.query(ctx, `SELECT g.id, g.person_id, g.role, g.org_id, o.name, o.path FROM grants g JOIN orgs o ON o.id = g.org_id
		WHERE g.person_id = ? AND o.archived_at IS NULL ORDER BY o.path, g.role`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jifen.Grant
	for rows.Next() {
		var g jifen.Grant
		if err := rows.Scan(&g.ID, &g.PersonID, &g.Role, &g.OrgID, &g.OrgName, &g.OrgPath); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Signup registers a resident into a chosen org with their consent.
func (s *AuthService) Signup(ctx context.Context, in jifen.SignupInput, ip netip.Addr) (*jifen.Person, string, error) {
	if in.Password == "" {
		return nil, "", jifen.Invalid("password", "请设置密码", "Choose a password")
	}
	if err := in.Validate(s.db.Now()); err != nil {
		return nil, "", err
	}
	if in.Phone == "" {
		return nil, "", jifen.Invalid("phone", "自助注册需要手机号", "Self sign-up needs a mobile phone number")
	}
	if in.ConsentVersion != jifen.PrivacyNoticeVersion {
		return nil, "", jifen.Invalid("consent", "请阅读并同意《个人信息保护告知书》", "Please read and accept the personal-information notice")
	}
	age := jifen.AgeOn(in.BirthDate, s.db.Now().In(jifen.Zone))
	if in.BirthDate == "" {
		return nil, "", jifen.Invalid("birth_date", "请填写出生日期", "Enter your birth date")
	}
	minor := age >= 0 && age < jifen.GuardianAge
	if minor {
		in.GuardianName = jifen.CleanText(in.GuardianName)
		in.GuardianPhone = jifen.NormalizeMobile(in.GuardianPhone)
		if in.GuardianName == "" || !in.GuardianConsent {
			return nil, "", jifen.Invalid("guardian_name", "未满14周岁需监护人同意，请填写监护人姓名并勾选同意", "Under 14: a guardian must consent; enter their name and tick the box")
		}
		if !jifen.ValidMobile(in.GuardianPhone) {
			return nil, "", jifen.Invalid("guardian_phone", "请填写监护人的11位手机号", "Enter the guardian's 11-digit mobile number")
		}
	}
	// Sign-ups are throttled per address so a script cannot flood an org's
	// approval queue; a village's shared address still allows dozens a day.
	addrKey := "signup:addr:" + ip.String()
	if n, err := s.db.failures(ctx, addrKey); err != nil {
		return nil, "", err
	} else if n >= 30 {
		return nil, "", ErrThrottled
	}
	var id int64
	var status jifen.PersonStatus
	err := s.db.inTx(ctx, func(tx *Tx) error {
		org, err := tx.getOrg(ctx, in.OrgID)
		if err != nil || org.ArchivedAt != nil {
			return jifen.Invalid("org_id", "请选择有效的所属组织", "Choose a valid organisation")
		}
		status = jifen.PersonActive
		if org.SignupRequiresApproval {
			status = jifen.PersonPending
		}
		if id, _, err = tx.createPerson(ctx, in.PersonInput, status); err != nil {
			return err
		}
		now := s.db.now()
		if _, err := tx.exec(ctx, "INSERT INTO consents (person_id, kind, version, ip, at) VALUES (?, 'privacy_notice', ?, ?, ?)",
			id, in.ConsentVersion, addrString(ip), now); err != nil {
			return err
		}
		if minor {
			if _, err := tx.exec(ctx, "INSERT INTO consents (person_id, kind, version, guardian_name, guardian_phone, ip, at) VALUES (?, 'guardian', ?, ?, ?, ?, ?)",
				id, in.ConsentVersion, in.GuardianName, in.GuardianPhone, addrString(ip), now); err != nil {
				return err
			}
		}
		welcome := say("欢迎加入"+org.Name+"。您的志愿者编号可在“我的”页面查看。",
			"Welcome to "+org.Name+". Your volunteer number is on the “Me” page.")
		if status == jifen.PersonPending {
			welcome = say("您的注册申请已提交，"+org.Name+"审核通过后即可登录。",
				"Your registration is in; you can sign in once "+org.Name+" approves it.")
		}
		if err := tx.sendMessage(ctx, id, say("欢迎注册", "Welcome"), welcome); err != nil {
			return err
		}
		return tx.audit(jifen.WithActor(ctx, &jifen.Actor{PersonID: id, IP: ip}), org.ID, org.Path, "person.signup", "person", id, string(status))
	})
	if err != nil {
		return nil, "", err
	}
	if err := s.db.recordFailure(ctx, addrKey); err != nil {
		return nil, "", err
	}
	token := ""
	if status == jifen.PersonActive {
		if token, err = s.openSession(ctx, id, "web", ip); err != nil {
			return nil, "", err
		}
	}
	p, err := s.db.getPerson(ctx, s.db.r, id)
	if err != nil {
		return nil, "", err
	}
	return p.Person, token, nil
}

// IssueResetCode gives an admin a one-time 8-digit code for a person in
// their subtree; the issue is logged and older codes stop working.
func (s *AuthService) IssueResetCode(ctx context.Context, personID int64) (string, time.Time, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return "", time.Time{}, jifen.ErrUnauthorized
	}
	if a.PersonID == personID {
		return "", time.Time{}, jifen.Conflict("self_approval", "不能给自己发放验证码", "You cannot issue a code to yourself")
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1e8))
	code := fmt.Sprintf("%08d", n.Int64())
	expires := s.db.now().Add(resetCodeLifetime)
	err := s.db.inTx(ctx, func(tx *Tx) error {
		p, err := s.db.getPerson(ctx, tx.tx, personID)
		if err != nil {
			return err
		}
		if !a.Has(p.path, jifen.RoleOrgAdmin) {
			return jifen.NotFound("person")
		}
		if ok, err := s.db.administers(ctx, a, p); err != nil || !ok {
			return cmpErr(err, notAdministered)
		}
		if _, err := tx.exec(ctx, "UPDATE reset_codes SET used_at = ? WHERE person_id = ? AND used_at IS NULL", s.db.now(), personID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "INSERT INTO reset_codes (person_id, code_hash, issued_by, expires_at) VALUES (?, ?, ?, ?)",
			personID, secret.SHA256(fmt.Sprintf("%d:%s", personID, code)), a.PersonID, expires); err != nil {
			return err
		}
		return tx.audit(ctx, p.HomeOrgID, p.path, "person.issue_code", "person", personID, p.Name)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return code, expires, nil
}

// ResetPassword sets a password with a one-time code; login is the phone
// or the volunteer number (imported people may have no phone).
func (s *AuthService) ResetPassword(ctx context.Context, login, code, password string, ip netip.Addr) error {
	if err := jifen.CheckPassword(password); err != nil {
		return err
	}
	badCode := &jifen.Error{Kind: jifen.KindInvalid, Code: "bad_code", Field: "code", Zh: "账号或验证码不正确，或验证码已过期", En: "The account or code is wrong, or the code has expired"}
	var personID int64
	login = strings.TrimSpace(login)
	if !jifen.PlainText(login) || len(login) > 32 {
		return badCode
	}
	err := s.db.queryRow(ctx, "SELECT id FROM people WHERE phone = ? OR volunteer_no = ?", jifen.NormalizeMobile(login), login).Scan(&personID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// Guesses are counted per account, however its login is written.
	key := "reset:login:" + jifen.NormalizeMobile(login)
	if personID != 0 {
		key = "reset:person:" + strconv.FormatInt(personID, 10)
	}
	if n, err := s.db.failures(ctx, key); err != nil {
		return err
	} else if n >= maxFailuresPerPhone {
		return ErrThrottled
	}
	var ok bool
	err = s.db.inTx(ctx, func(tx *Tx) error {
		var codeID int64
		err := tx.queryRow(ctx, "SELECT id FROM reset_codes WHERE person_id = ? AND code_hash = ? AND used_at IS NULL AND expires_at > ?",
			personID, secret.SHA256(fmt.Sprintf("%d:%s", personID, code)), s.db.now()).Scan(&codeID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		if _, err := tx.exec(ctx, "UPDATE reset_codes SET used_at = ? WHERE id = ?", s.db.now(), codeID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE people SET password_hash = ?, updated_at = ? WHERE id = ?",
			secret.HashPassword(password, s.db.PasswordParams), s.db.now(), personID); err != nil {
			return err
		}
		// A new password ends every old session, and lifts the sign-in
		// lock that sent the person to ask for a code.
		if _, err := tx.exec(ctx, "DELETE FROM sessions WHERE person_id = ?", personID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM throttles WHERE key = ?", signinKey(personID)); err != nil {
			return err
		}
		p, err := s.db.getPerson(ctx, tx.tx, personID)
		if err != nil {
			return err
		}
		return tx.audit(jifen.WithActor(ctx, &jifen.Actor{PersonID: personID, IP: ip}), p.HomeOrgID, p.path, "person.reset_password", "person", personID, p.Name)
	})
	if err != nil {
		return err
	}
	if !ok {
		if err := s.db.recordFailure(ctx, key); err != nil {
			return err
		}
		return badCode
	}
	return nil
}

// ChangePassword changes the actor's own password.
func (s *AuthService) ChangePassword(ctx context.Context, old, new string) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	if err := jifen.CheckPassword(new); err != nil {
		return err
	}
	var hash sql.NullString
	if err := s.db.queryRow(ctx, "SELECT password_hash FROM people WHERE id = ?", a.PersonID).Scan(&hash); err != nil {
		return err
	}
	if !hash.Valid || !secret.CheckPassword(old, hash.String) {
		return jifen.Invalid("old_password", "原密码不正确", "The current password is wrong")
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "UPDATE people SET password_hash = ?, updated_at = ? WHERE id = ?",
			secret.HashPassword(new, s.db.PasswordParams), s.db.now(), a.PersonID); err != nil {
			return err
		}
		// A stolen session must not survive the change; this one stays.
		_, err := tx.exec(ctx, "DELETE FROM sessions WHERE person_id = ? AND token_hash <> ?", a.PersonID, a.SessionHash)
		return err
	})
}

// Grant gives a role on an org. Org admins grant within their subtree;
// only a super admin grants super_admin; nobody grants themselves.
func (s *AuthService) Grant(ctx context.Context, personID, orgID int64, role jifen.Role) (*jifen.Grant, error) {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return nil, jifen.ErrUnauthorized
	}
	if !role.Valid() {
		return nil, jifen.Invalid("role", "角色不正确", "Unknown role")
	}
	if a.PersonID == personID {
		return nil, jifen.Conflict("self_approval", "不能给自己授予角色", "You cannot grant a role to yourself")
	}
	g := &jifen.Grant{PersonID: personID, OrgID: orgID, Role: role}
	err := s.db.inTx(ctx, func(tx *Tx) error {
		org, err := tx.getOrg(ctx, orgID)
		if err != nil {
			return err
		}
		if !a.Has(org.Path, jifen.RoleOrgAdmin) {
			if canSeeOrg(a, org) {
				return jifen.ErrForbidden
			}
			return jifen.NotFound("org")
		}
		if role == jifen.RoleSuperAdmin && !a.IsSuperAdmin() {
			return jifen.ErrForbidden
		}
		// A missing person and one the actor may not see get the same
		// answer: granting a role to a stranger would reveal which ids exist.
		noPerson := jifen.Invalid("person_id", "该人员不存在", "No such person")
		p, err := s.db.getPerson(ctx, tx.tx, personID)
		if err != nil {
			return noPerson
		}
		teams, err := tx.teamsOf(ctx, personID)
		if err != nil {
			return err
		}
		if !a.IsSuperAdmin() && !canSeePerson(a, p, teams, jifen.RoleOrgAdmin) {
			return noPerson
		}
		if p.Status != jifen.PersonActive {
			return jifen.Conflict("person_inactive", "该人员尚未激活", "This person is not active")
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM grants WHERE person_id = ? AND org_id = ? AND role = ?", personID, orgID, role).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return tx.queryRow(ctx, "SELECT id FROM grants WHERE person_id = ? AND org_id = ? AND role = ?", personID, orgID, role).Scan(&g.ID)
		}
		if g.ID, err = tx.insert(ctx, "INSERT INTO grants (person_id, org_id, role, granted_by, created_at) VALUES (?, ?, ?, ?, ?)",
			personID, orgID, role, a.PersonID, s.db.now()); err != nil {
			return err
		}
		g.OrgName, g.OrgPath = org.Name, org.Path
		if err := tx.sendMessage(ctx, personID, say("角色变更", "New role"),
			say(fmt.Sprintf("您已被授予%s的%s角色。", org.Name, role.Zh()), fmt.Sprintf("You are now %s of %s.", role.En(), org.Name))); err != nil {
			return err
		}
		return tx.audit(ctx, org.ID, org.Path, "role.grant", "person", personID, fmt.Sprintf("%s：%s", role.Zh(), p.Name))
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// RevokeGrant takes a role back.
func (s *AuthService) RevokeGrant(ctx context.Context, grantID int64) error {
	a := jifen.ActorFrom(ctx)
	if a == nil {
		return jifen.ErrUnauthorized
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		var personID, orgID int64
		var role jifen.Role
		var path string
		err := tx.queryRow(ctx, "SELECT g.person_id, g.org_id, g.role, o.path FROM grants g JOIN orgs o ON o.id = g.org_id WHERE g.id = ?", grantID).
			Scan(&personID, &orgID, &role, &path)
		if errors.Is(err, sql.ErrNoRows) {
			return jifen.NotFound("grant")
		}
		if err != nil {
			return err
		}
		if !a.Has(path, jifen.RoleOrgAdmin) {
			return refuse(a, path)
		}
		if role == jifen.RoleSuperAdmin && !a.IsSuperAdmin() {
			return jifen.ErrForbidden
		}
		if _, err := tx.exec(ctx, "DELETE FROM grants WHERE id = ?", grantID); err != nil {
			return err
		}
		return tx.audit(ctx, orgID, path, "role.revoke", "person", personID, string(role))
	})
}

// Grants lists a person's roles, for staff who can see the person.
func (s *AuthService) Grants(ctx context.Context, personID int64) ([]jifen.Grant, error) {
	if _, err := NewPersonService(s.db).Person(ctx, personID); err != nil {
		return nil, err
	}
	return s.db.grants(ctx, personID)
}

// CreateSuperAdmin makes the first administrator from the command line.
// Without any org yet, it creates a root city org to hold the grant.
func (s *AuthService) CreateSuperAdmin(ctx context.Context, name, phone, password string) (*jifen.Person, error) {
	in := jifen.PersonInput{Name: name, Gender: jifen.Male, Phone: phone, Password: password, OrgID: 1}
	if err := jifen.CheckPassword(password); err != nil {
		return nil, err
	}
	in.Phone = jifen.NormalizeMobile(phone)
	if !jifen.ValidMobile(in.Phone) {
		return nil, jifen.Invalid("phone", "手机号应为11位大陆手机号码", "Phone must be an 11-digit mainland mobile number")
	}
	var id int64
	err := s.db.inTx(ctx, func(tx *Tx) error {
		var root int64
		err := tx.queryRow(ctx, "SELECT id FROM orgs WHERE parent_id IS NULL ORDER BY id LIMIT 1").Scan(&root)
		if errors.Is(err, sql.ErrNoRows) {
			if root, err = tx.insert(ctx, "INSERT INTO orgs (kind, name, path, depth, created_at) VALUES ('city', '本市', ?, 0, ?)", "pending:"+randomSuffix(), s.db.now()); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, "UPDATE orgs SET path = ? WHERE id = ?", jifen.OrgPath("/", root), root); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		in.OrgID = root
		if err := in.Validate(s.db.Now()); err != nil {
			return err
		}
		if id, _, err = tx.createPerson(ctx, in, jifen.PersonActive); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "INSERT INTO grants (person_id, org_id, role, created_at) VALUES (?, ?, 'super_admin', ?)", id, root, s.db.now()); err != nil {
			return err
		}
		return tx.audit(ctx, root, jifen.OrgPath("/", root), "admin.create", "person", id, name)
	})
	if err != nil {
		return nil, err
	}
	p, err := s.db.getPerson(ctx, s.db.r, id)
	if err != nil {
		return nil, err
	}
	return p.Person, nil
}

// SetPasswordByPhone resets a password from the command line.
func (s *AuthService) SetPasswordByPhone(ctx context.Context, phone, password string) error {
	if err := jifen.CheckPassword(password); err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		var id int64
		err := tx.queryRow(ctx, "SELECT id FROM people WHERE phone = ?", jifen.NormalizeMobile(phone)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return jifen.NotFound("person")
		}
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "UPDATE people SET password_hash = ?, updated_at = ? WHERE id = ?",
			secret.HashPassword(password, s.db.PasswordParams), s.db.now(), id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM sessions WHERE person_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM throttles WHERE key = ?", signinKey(id)); err != nil {
			return err
		}
		return tx.audit(ctx, 0, "", "admin.reset_password", "person", id, "command line")
	})
}
