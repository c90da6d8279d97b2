package jifen

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// Role is granted to a person on an org and holds for the org's subtree.
type Role string

// The roles of the foundation. Later features add roles on narrower things
// (clerk on a store, grid_member on a grid).
const (
	RoleResident   Role = "resident"
	RoleVolunteer  Role = "volunteer"
	RoleTeamLeader Role = "team_leader"
	RoleOrgAdmin   Role = "org_admin"
	RoleReviewer   Role = "reviewer"
	RoleSuperAdmin Role = "super_admin"
)

// Roles lists the grantable roles in display order.
var Roles = []Role{RoleResident, RoleVolunteer, RoleTeamLeader, RoleOrgAdmin, RoleReviewer, RoleSuperAdmin}

var roleZh = map[Role]string{
	RoleResident: "居民", RoleVolunteer: "志愿者", RoleTeamLeader: "志愿服务队负责人",
	RoleOrgAdmin: "管理员", RoleReviewer: "评审", RoleSuperAdmin: "超级管理员", RoleClerk: "店员",
}

var roleEn = map[Role]string{
	RoleResident: "a resident", RoleVolunteer: "a volunteer", RoleTeamLeader: "a team leader",
	RoleOrgAdmin: "an admin", RoleReviewer: "a reviewer", RoleSuperAdmin: "a super admin", RoleClerk: "a clerk",
}

// Zh is the Chinese name of the role.
func (r Role) Zh() string { return roleZh[r] }

// En is the role in English, with its article ("a team leader").
func (r Role) En() string { return roleEn[r] }

// Valid reports whether r may be granted on an org (clerk is granted on
// a store instead).
func (r Role) Valid() bool { return r != RoleClerk && roleZh[r] != "" }

// Grant is one role on one org.
type Grant struct {
	ID       int64  `json:"id"`
	PersonID int64  `json:"person_id"`
	Role     Role   `json:"role"`
	OrgID    int64  `json:"org_id"`
	OrgName  string `json:"org_name,omitempty"`
	OrgPath  string `json:"-"`
}

// Actor is who is acting: the signed-in person with their grants, resolved
// once per request and carried in ctx.
type Actor struct {
	PersonID    int64
	Name        string
	HomeOrgID   int64
	HomeOrgPath string
	Grants      []Grant
	IP          netip.Addr
	// SessionHash names the session the actor came in with, so changing a
	// password can end every other session but this one.
	SessionHash string
}

// Has reports whether the actor holds any of roles on an org whose
// subtree contains path. A super admin holds every role everywhere.
func (a *Actor) Has(path string, roles ...Role) bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Role == RoleSuperAdmin {
			return true
		}
		if !PathContains(g.OrgPath, path) {
			continue
		}
		for _, r := range roles {
			if g.Role == r {
				return true
			}
		}
	}
	return false
}

// IsSuperAdmin reports whether the actor is a super admin.
func (a *Actor) IsSuperAdmin() bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Role == RoleSuperAdmin {
			return true
		}
	}
	return false
}

// SetsBudgetOf reports whether the actor may change the yearly points
// budget of the org at path. A budget limits what an org issues, so it is
// set from above: by an admin of an org above it (a county for its
// villages), or for a top-level org by a super admin; an org's own admins
// may read it but not lift it.
func (a *Actor) SetsBudgetOf(path string) bool {
	if a.IsSuperAdmin() {
		return true
	}
	trimmed := strings.TrimSuffix(path, "/")
	parent := trimmed[:strings.LastIndex(trimmed, "/")+1]
	return parent != "/" && parent != "" && a.Has(parent, RoleOrgAdmin)
}

// ScopePaths returns the roots of the subtrees where the actor holds any
// of roles; nil with all=true for a super admin.
func (a *Actor) ScopePaths(roles ...Role) (paths []string, all bool) {
	if a == nil {
		return nil, false
	}
	for _, g := range a.Grants {
		if g.Role == RoleSuperAdmin {
			return nil, true
		}
		for _, r := range roles {
			if g.Role == r {
				paths = append(paths, g.OrgPath)
			}
		}
	}
	return paths, false
}

// StaffRoles are the roles that may see people's records in their subtree.
var StaffRoles = []Role{RoleOrgAdmin, RoleTeamLeader, RoleReviewer}

type actorKey struct{}

// WithActor returns ctx carrying the actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or nil.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// Session is a signed-in browser or API client.
type Session struct {
	PersonID  int64
	Kind      string // "web" or "api"
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SignupInput is a resident's self-registration.
type SignupInput struct {
	PersonInput
	// ConsentVersion is the version of the personal-information notice the
	// person agreed to; it must be the current one.
	ConsentVersion  string `json:"consent_version"`
	GuardianName    string `json:"guardian_name"`
	GuardianPhone   string `json:"guardian_phone"`
	GuardianConsent bool   `json:"guardian_consent"`
}

// PrivacyNoticeVersion is the version of the personal-information notice
// shown at sign-up; bump it when the text changes.
const PrivacyNoticeVersion = "2026-11"

// GuardianAge is the age under which a guardian must consent (PIPL art. 31).
const GuardianAge = 14

// AuthService signs people in and out and manages credentials.
type AuthService interface {
	// SignIn checks phone and password and opens a session. Failures are
	// throttled per phone and per address and never say whether the phone
	// is registered.
	SignIn(ctx context.Context, phone, password, kind string, ip netip.Addr) (token string, err error)
	SignOut(ctx context.Context, token string) error
	// Authenticate resolves a session token to an actor.
	Authenticate(ctx context.Context, token string, ip netip.Addr) (*Actor, error)
	// Signup registers a resident and, unless the org approves first, opens
	// a session.
	Signup(ctx context.Context, in SignupInput, ip netip.Addr) (*Person, string, error)
	// IssueResetCode gives an admin a one-time code to hand to a person.
	IssueResetCode(ctx context.Context, personID int64) (code string, expires time.Time, err error)
	// ResetPassword sets a password with a one-time code.
	ResetPassword(ctx context.Context, login, code, password string, ip netip.Addr) error
	// ChangePassword lets a signed-in person change their own password.
	ChangePassword(ctx context.Context, old, new string) error
	// Grant gives a role on an org; RevokeGrant takes it back.
	Grant(ctx context.Context, personID, orgID int64, role Role) (*Grant, error)
	RevokeGrant(ctx context.Context, grantID int64) error
	Grants(ctx context.Context, personID int64) ([]Grant, error)
	// CreateSuperAdmin is for the command line: no actor is needed.
	CreateSuperAdmin(ctx context.Context, name, phone, password string) (*Person, error)
	// SetPasswordByPhone is for the command line (jifen admin reset-password).
	SetPasswordByPhone(ctx context.Context, phone, password string) error
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	ActorID    int64     `json:"actor_id"`
	ActorName  string    `json:"actor_name"`
	OrgID      int64     `json:"org_id"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   int64     `json:"target_id"`
	Detail     string    `json:"detail"`
	IP         string    `json:"ip"`
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	OrgID   int64
	Action  string
	Page    int
	PerPage int
}

// AuditService lets admins browse the audit log of their subtree.
type AuditService interface {
	Audit(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error)
}

// Message is one item in a person's inbox.
type Message struct {
	ID       int64  `json:"id"`
	PersonID int64  `json:"person_id"`
	Title    string `json:"title"`
	Body     string `json:"body"`
	// TitleEn and BodyEn say the same in English for the messages jifen
	// writes itself; empty for those staff type, shown as written.
	TitleEn   string     `json:"title_en,omitempty"`
	BodyEn    string     `json:"body_en,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

// TitleIn is the title in lang ("zh" or "en"), Chinese where there is no
// English.
func (m *Message) TitleIn(lang string) string {
	if lang == "en" && m.TitleEn != "" {
		return m.TitleEn
	}
	return m.Title
}

// BodyIn is the body in lang, as TitleIn.
func (m *Message) BodyIn(lang string) string {
	if lang == "en" && m.BodyEn != "" {
		return m.BodyEn
	}
	return m.Body
}

// MessageService is the database-backed inbox.
type MessageService interface {
	// Messages lists the actor's own messages, newest first.
	Messages(ctx context.Context, page, perPage int) ([]*Message, int, error)
	UnreadCount(ctx context.Context) (int, error)
	MarkRead(ctx context.Context, id int64) error
	// SendMessage writes to a person's inbox; staff only, within scope.
	SendMessage(ctx context.Context, personID int64, title, body string) error
}

// SystemActor acts for the command line and the demo loader: it holds
// super_admin everywhere and writes audit lines with no person behind them.
func SystemActor() *Actor {
	return &Actor{Name: "system", Grants: []Grant{{Role: RoleSuperAdmin, OrgPath: "/"}}}
}
