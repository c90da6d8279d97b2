package jifen

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Gender of a person as the roster records it.
type Gender string

// The two genders recorded on Chinese rosters.
const (
	Male   Gender = "male"
	Female Gender = "female"
)

// Zh is the Chinese word for the gender.
func (g Gender) Zh() string {
	switch g {
	case Male:
		return "男"
	case Female:
		return "女"
	}
	return ""
}

// En is the English word for the gender.
func (g Gender) En() string {
	switch g {
	case Male:
		return "Male"
	case Female:
		return "Female"
	}
	return ""
}

// PoliticalStatus is a person's 政治面貌.
type PoliticalStatus string

// The political statuses.
const (
	Masses             PoliticalStatus = "masses"
	LeagueMember       PoliticalStatus = "league_member"
	PartyMember        PoliticalStatus = "party_member"
	ProbationaryMember PoliticalStatus = "probationary_member"
	DemocraticParty    PoliticalStatus = "democratic_party"
)

// PoliticalStatuses lists them in display order.
var PoliticalStatuses = []PoliticalStatus{Masses, LeagueMember, PartyMember, ProbationaryMember, DemocraticParty}

var politicalZh = map[PoliticalStatus]string{
	Masses: "群众", LeagueMember: "共青团员", PartyMember: "中共党员",
	ProbationaryMember: "中共预备党员", DemocraticParty: "民主党派",
}

// Zh is the Chinese name of the status.
func (p PoliticalStatus) Zh() string { return politicalZh[p] }

// En is the status in English, as the roster's form names it.
func (p PoliticalStatus) En() string { return english(politicalEn[p], string(p)) }

var politicalEn = map[PoliticalStatus]string{
	Masses: "Ordinary citizen", LeagueMember: "Communist Youth League member", PartyMember: "CPC member",
	ProbationaryMember: "CPC probationary member", DemocraticParty: "Democratic party member",
}

// Valid reports whether p is known.
func (p PoliticalStatus) Valid() bool { _, ok := politicalZh[p]; return ok }

// ParsePoliticalStatus accepts the code or the Chinese words rosters use,
// including common short forms (党员, 团员, 预备党员).
func ParsePoliticalStatus(s string) (PoliticalStatus, bool) {
	s = strings.TrimSpace(s)
	if p := PoliticalStatus(s); p.Valid() {
		return p, true
	}
	for p, zh := range politicalZh {
		if zh == s {
			return p, true
		}
	}
	switch s {
	case "党员", "共产党员":
		return PartyMember, true
	case "团员", "共青团":
		return LeagueMember, true
	case "预备党员":
		return ProbationaryMember, true
	case "民主党派人士":
		return DemocraticParty, true
	case "", "无":
		return Masses, true
	}
	return "", false
}

// ParseGender accepts male/female or 男/女.
func ParseGender(s string) (Gender, bool) {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "male", "m", "男":
		return Male, true
	case "female", "f", "女":
		return Female, true
	}
	return "", false
}

// PersonStatus tells whether a person may sign in.
type PersonStatus string

// The person statuses.
const (
	PersonActive   PersonStatus = "active"
	PersonPending  PersonStatus = "pending" // self-signed-up into an org that approves first
	PersonArchived PersonStatus = "archived"
	// PersonErased: personal data removed on request (个人信息删除, PIPL
	// art. 47); the volunteer number, service records and points remain.
	PersonErased PersonStatus = "erased"
)

// ErasedName stands where an erased person's name was, and for their
// name inside a household's.
const ErasedName = "已注销"

// Person is a real-name record.
type Person struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Gender Gender `json:"gender"`
	// BirthDate is YYYY-MM-DD, empty when unknown.
	BirthDate       string          `json:"birth_date,omitempty"`
	Phone           string          `json:"phone,omitempty"`
	IDMasked        string          `json:"id_number_masked,omitempty"`
	PoliticalStatus PoliticalStatus `json:"political_status"`
	Skills          []string        `json:"skills"`
	HomeOrgID       int64           `json:"home_org_id"`
	HomeOrgName     string          `json:"home_org_name,omitempty"`
	VolunteerNo     string          `json:"volunteer_no"`
	Status          PersonStatus    `json:"status"`
	HasPassword     bool            `json:"has_password"`
	HasPIN          bool            `json:"has_pin"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	Teams           []*Org          `json:"teams,omitempty"`
}

// Age in whole years on day now, or -1 when the birth date is unknown.
func (p *Person) Age(now time.Time) int { return AgeOn(p.BirthDate, now) }

// AgeOn computes the age in whole years of someone born on birth (YYYY-MM-DD).
func AgeOn(birth string, now time.Time) int {
	b, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return -1
	}
	age := now.Year() - b.Year()
	if now.Month() < b.Month() || (now.Month() == b.Month() && now.Day() < b.Day()) {
		age--
	}
	return age
}

// PersonInput is what an admin, an import or a sign-up sets on a person.
type PersonInput struct {
	Name            string          `json:"name"`
	Gender          Gender          `json:"gender"`
	BirthDate       string          `json:"birth_date"`
	Phone           string          `json:"phone"`
	Password        string          `json:"password"`
	IDNumber        string          `json:"id_number"`
	PoliticalStatus PoliticalStatus `json:"political_status"`
	Skills          []string        `json:"skills"`
	OrgID           int64           `json:"org_id"`
	TeamIDs         []int64         `json:"team_ids"`
	// Row is the file's row of an imported person, which an import's
	// errors name; 0 elsewhere.
	Row int `json:"-"`
}

// Validate normalises and checks every field; it stops at the first bad one.
func (in *PersonInput) Validate(now time.Time) error {
	in.Name = CleanText(in.Name)
	if in.Name == "" {
		return Invalid("name", "姓名不能为空", "Name is required")
	}
	if n := utf8.RuneCountInString(in.Name); n > 30 {
		return Invalid("name", "姓名不能超过30个字", "Name is too long (at most 30 characters)")
	}
	if strings.ContainsAny(in.Name, "\n\t") {
		return Invalid("name", "姓名不能包含换行", "Name must be on one line")
	}
	if in.Gender != Male && in.Gender != Female {
		return Invalid("gender", "请选择性别（男或女）", "Gender must be male or female")
	}
	in.Phone = NormalizeMobile(in.Phone)
	if in.Phone != "" && !ValidMobile(in.Phone) {
		return Invalid("phone", "手机号应为11位大陆手机号码", "Phone must be an 11-digit mainland mobile number")
	}
	in.IDNumber = NormalizeIDNumber(in.IDNumber)
	if in.IDNumber != "" {
		if err := CheckIDNumber(in.IDNumber, now); err != nil {
			return err
		}
		idBirth := IDBirthDate(in.IDNumber)
		if in.BirthDate == "" {
			in.BirthDate = idBirth
		} else if in.BirthDate != idBirth {
			return Invalid("birth_date", "出生日期与身份证号不一致", "Birth date does not match the ID number")
		}
		if g := IDGender(in.IDNumber); in.Gender != g {
			return Invalid("gender", "性别与身份证号不一致", "Gender does not match the ID number")
		}
	}
	in.BirthDate = strings.TrimSpace(in.BirthDate)
	if in.BirthDate != "" {
		b, err := time.Parse("2006-01-02", in.BirthDate)
		if err != nil {
			return Invalid("birth_date", "出生日期格式应为 年-月-日，如 1960-05-01", "Birth date must look like 1960-05-01")
		}
		if b.After(now) || b.Year() < 1900 {
			return Invalid("birth_date", "出生日期不合理", "Birth date is not plausible")
		}
	}
	if in.PoliticalStatus == "" {
		in.PoliticalStatus = Masses
	}
	if !in.PoliticalStatus.Valid() {
		return Invalid("political_status", "政治面貌不正确，应为群众、共青团员、中共党员、中共预备党员或民主党派", "Unknown political status")
	}
	var skills []string
	for _, s := range in.Skills {
		if s = CleanText(s); s != "" {
			if utf8.RuneCountInString(s) > 20 {
				return Invalid("skills", "每项技能不能超过20个字", "Each skill must be at most 20 characters")
			}
			skills = append(skills, s)
		}
	}
	if len(skills) > 20 {
		return Invalid("skills", "技能最多20项", "At most 20 skills")
	}
	in.Skills = skills
	if in.Password != "" {
		if err := CheckPassword(in.Password); err != nil {
			return err
		}
	}
	if in.OrgID <= 0 {
		return Invalid("org_id", "请选择所属组织", "Choose a home organisation")
	}
	return nil
}

// SplitSkills splits a skills cell on the separators people type.
func SplitSkills(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == ';' || r == '；' || r == '/' || r == ' '
	})
}

// CheckPassword enforces the password policy: 8 to 128 characters, which
// in Chinese input is still easy to type on a phone.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < 8 {
		return Invalid("password", "密码至少8位", "Password must be at least 8 characters")
	}
	if n > 128 {
		return Invalid("password", "密码不能超过128位", "Password must be at most 128 characters")
	}
	return nil
}

// PersonFilter selects people for a list.
type PersonFilter struct {
	Q       string // name fragment, phone, or volunteer number
	OrgID   int64  // limit to the subtree of this org (0: all in the actor's scope)
	Status  PersonStatus
	Page    int
	PerPage int
}

// Normalize applies paging defaults and bounds.
func (f *PersonFilter) Normalize() {
	f.Page, f.PerPage = Paging(f.Page, f.PerPage, 20, 100)
	f.Q = CleanText(f.Q)
	if r := []rune(f.Q); len(r) > 60 {
		f.Q = string(r[:60]) // cut by characters: a byte cut splits Chinese
	}
}

// PersonService manages real-name records.
type PersonService interface {
	// CreatePerson adds a person to an org (by an admin).
	CreatePerson(ctx context.Context, in PersonInput) (*Person, error)
	// Person returns one person the actor may see.
	Person(ctx context.Context, id int64) (*Person, error)
	// UpdatePerson changes a person's record; Password is ignored here.
	UpdatePerson(ctx context.Context, id int64, in PersonInput) (*Person, error)
	People(ctx context.Context, f PersonFilter) ([]*Person, int, error)
	// RevealIDNumber returns the full ID number and writes the read to the audit log.
	RevealIDNumber(ctx context.Context, id int64) (string, error)
	// ApprovePerson activates a pending self-sign-up.
	ApprovePerson(ctx context.Context, id int64) error
	// SetPIN sets the counter PIN of a person who uses the printed card.
	SetPIN(ctx context.Context, id int64, pin string) error
	// JoinTeam and LeaveTeam manage team memberships.
	JoinTeam(ctx context.Context, personID, teamID int64) error
	LeaveTeam(ctx context.Context, personID, teamID int64) error
	// ImportPeople writes a validated roster in one transaction: rows are
	// matched by ID number, then phone, and updated rather than duplicated.
	ImportPeople(ctx context.Context, orgID int64, rows []PersonInput) (ImportResult, error)
	// LookupPerson finds one person under an org by an exact volunteer
	// number, mobile phone or ID number, as spreadsheets identify people.
	LookupPerson(ctx context.Context, orgID int64, ident string) (*Person, error)
	// ErasePerson removes a person's personal data on their request (an
	// org admin of their home org acts on it): name, phone, ID number,
	// birth date, skills, passwords, sessions, roles, messages, evidence
	// photos and guardian details go; the volunteer number, service
	// records, awards and the ledger stay, whose hashes hold no personal
	// data, so the chain still verifies.
	ErasePerson(ctx context.Context, id int64, reason string) error
}

// ImportResult counts what an import did.
type ImportResult struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}
