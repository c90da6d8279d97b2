package jifen

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// RuleCategory groups the rules of a catalogue (积分规则) as village
// practice does.
type RuleCategory string

// The rule categories.
const (
	CatVolunteerService RuleCategory = "volunteer_service"
	CatEnvironment      RuleCategory = "environment"
	CatFilialPiety      RuleCategory = "filial_piety"
	CatCustomsReform    RuleCategory = "customs_reform"
	CatCivility         RuleCategory = "civility"
	CatLawAbiding       RuleCategory = "law_abiding"
	CatLearning         RuleCategory = "learning"
	CatOther            RuleCategory = "other"
)

// RuleCategories lists them in display order.
var RuleCategories = []RuleCategory{CatVolunteerService, CatEnvironment, CatFilialPiety, CatCustomsReform, CatCivility, CatLawAbiding, CatLearning, CatOther}

var categoryZh = map[RuleCategory]string{
	CatVolunteerService: "志愿服务", CatEnvironment: "环境卫生", CatFilialPiety: "孝老爱亲",
	CatCustomsReform: "移风易俗", CatCivility: "文明新风", CatLawAbiding: "遵纪守法",
	CatLearning: "学习提升", CatOther: "其他",
}

// Zh is the category's Chinese name.
func (c RuleCategory) Zh() string { return categoryZh[c] }

// En is the category's English name.
func (c RuleCategory) En() string { return english(categoryEn[c], string(c)) }

var categoryEn = map[RuleCategory]string{
	CatVolunteerService: "Volunteer service", CatEnvironment: "Environment", CatFilialPiety: "Caring for elders",
	CatCustomsReform: "Reformed customs", CatCivility: "Civility", CatLawAbiding: "Law-abiding",
	CatLearning: "Learning", CatOther: "Other",
}

// Valid reports whether c is known.
func (c RuleCategory) Valid() bool { _, ok := categoryZh[c]; return ok }

// ParseRuleCategory accepts the code or the Chinese name (and a few
// synonyms catalogues use).
func ParseRuleCategory(s string) (RuleCategory, bool) {
	s = strings.TrimSpace(s)
	if c := RuleCategory(strings.ToLower(s)); c.Valid() {
		return c, true
	}
	for c, zh := range categoryZh {
		if zh == s {
			return c, true
		}
	}
	switch s {
	case "志愿", "志愿活动":
		return CatVolunteerService, true
	case "人居环境", "环境整治", "卫生":
		return CatEnvironment, true
	case "孝老", "孝亲", "敬老", "家庭美德":
		return CatFilialPiety, true
	case "移风易俗、红白事", "红白事", "婚丧":
		return CatCustomsReform, true
	case "文明", "文明礼仪", "社会公德":
		return CatCivility, true
	case "守法", "法治", "遵纪", "平安建设":
		return CatLawAbiding, true
	case "学习":
		return CatLearning, true
	}
	return "", false
}

// RuleUnit says what one quantity of a rule is.
type RuleUnit string

// The units.
const (
	PerEvent RuleUnit = "per_event"
	PerHour  RuleUnit = "per_hour"
	PerItem  RuleUnit = "per_item"
)

var unitZh = map[RuleUnit]string{PerEvent: "每次", PerHour: "每小时", PerItem: "每件"}

// Zh is the unit's Chinese name.
func (u RuleUnit) Zh() string { return unitZh[u] }

// Valid reports whether u is known.
func (u RuleUnit) Valid() bool { _, ok := unitZh[u]; return ok }

// ParseRuleUnit accepts the code or the Chinese name.
func ParseRuleUnit(s string) (RuleUnit, bool) {
	s = strings.TrimSpace(s)
	if u := RuleUnit(strings.ToLower(s)); u.Valid() {
		return u, true
	}
	switch s {
	case "每次", "次", "", "按次":
		return PerEvent, true
	case "每小时", "小时", "按小时":
		return PerHour, true
	case "每件", "件", "按件", "每个", "个":
		return PerItem, true
	}
	return "", false
}

// ServiceHoursCode is the built-in rule through which verified service
// hours earn points, at each activity's own rate. An org may override it
// (same code) to set caps; its points field is then the rate for
// activities that set none.
const ServiceHoursCode = "service_hours"

// Rule is one entry of a points catalogue, in its current version.
type Rule struct {
	ID       int64        `json:"id"`
	OrgID    int64        `json:"org_id"`
	OrgName  string       `json:"org_name,omitempty"`
	Code     string       `json:"code"`
	Name     string       `json:"name"`
	Category RuleCategory `json:"category"`
	Points   int64        `json:"points"`
	Unit     RuleUnit     `json:"unit"`
	// Caps count quantities (events, hours or items) per person; 0 is none.
	DailyCap      int64  `json:"daily_cap"`
	MonthlyCap    int64  `json:"monthly_cap"`
	YearlyCap     int64  `json:"yearly_cap"`
	LifeCap       int64  `json:"life_cap"`
	NeedsEvidence bool   `json:"needs_evidence"`
	NeedsReview   bool   `json:"needs_review"`
	ValidFrom     string `json:"valid_from,omitempty"` // YYYY-MM-DD, inclusive
	ValidTo       string `json:"valid_to,omitempty"`   // YYYY-MM-DD, inclusive
	Version       int    `json:"version"`
	VersionID     int64  `json:"version_id"`
	// Inherited marks a rule of an ancestor org, seen from below.
	Inherited bool      `json:"inherited"`
	Archived  bool      `json:"archived"`
	CreatedAt time.Time `json:"created_at"`
}

// ActiveOn reports whether the rule may be used on day (YYYY-MM-DD).
func (r *Rule) ActiveOn(day string) bool {
	if r.Archived {
		return false
	}
	return (r.ValidFrom == "" || day >= r.ValidFrom) && (r.ValidTo == "" || day <= r.ValidTo)
}

// RuleInput creates a rule or a new version of one.
type RuleInput struct {
	Code          string       `json:"code"`
	Name          string       `json:"name"`
	Category      RuleCategory `json:"category"`
	Points        int64        `json:"points"`
	Unit          RuleUnit     `json:"unit"`
	DailyCap      int64        `json:"daily_cap"`
	MonthlyCap    int64        `json:"monthly_cap"`
	YearlyCap     int64        `json:"yearly_cap"`
	LifeCap       int64        `json:"life_cap"`
	NeedsEvidence bool         `json:"needs_evidence"`
	NeedsReview   bool         `json:"needs_review"`
	ValidFrom     string       `json:"valid_from"`
	ValidTo       string       `json:"valid_to"`
}

// MaxRulePoints bounds one rule's points per unit.
const MaxRulePoints = 100000

// Validate normalises and checks the input.
func (in *RuleInput) Validate() error {
	in.Code = strings.TrimSpace(in.Code)
	if in.Code == "" || utf8.RuneCountInString(in.Code) > 40 || !utf8.ValidString(in.Code) {
		return Invalid("code", "规则编码不能为空，最多40个字符", "A code of 1 to 40 characters is required")
	}
	// Catalogues number their items in many ways (A1, HJ-01, 一.3); a code
	// is any run of printable characters without spaces.
	for _, r := range in.Code {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || strings.ContainsRune(`<>"'&\`, r) {
			return Invalid("code", "规则编码不能包含空格、引号、尖括号等符号", "A code cannot contain spaces, quotes or angle brackets")
		}
	}
	if err := CheckName("name", in.Name, 60); err != nil {
		return err
	}
	in.Name = CleanText(in.Name)
	if in.Category == "" {
		in.Category = CatOther
	}
	if !in.Category.Valid() {
		return Invalid("category", "规则类别不正确", "Unknown category")
	}
	if in.Unit == "" {
		in.Unit = PerEvent
	}
	if !in.Unit.Valid() {
		return Invalid("unit", "计分单位应为每次、每小时或每件", "Unit must be per_event, per_hour or per_item")
	}
	if in.Points == 0 {
		return Invalid("points", "分值不能为零", "Points cannot be zero")
	}
	if in.Points > MaxRulePoints || in.Points < -MaxRulePoints {
		return Invalid("points", fmt.Sprintf("分值应在-%d到%d之间", MaxRulePoints, MaxRulePoints), fmt.Sprintf("Points must be between -%d and %d", MaxRulePoints, MaxRulePoints))
	}
	for _, c := range []struct {
		field string
		v     int64
	}{{"daily_cap", in.DailyCap}, {"monthly_cap", in.MonthlyCap}, {"yearly_cap", in.YearlyCap}, {"life_cap", in.LifeCap}} {
		if c.v < 0 || c.v > 1_000_000 {
			return Invalid(c.field, "上限应为0（不限）到1000000之间的整数", "A cap is a whole number from 0 (none) to 1000000")
		}
	}
	if err := checkValidDates(&in.ValidFrom, &in.ValidTo); err != nil {
		return err
	}
	return nil
}

// PointsTo says where an org's civility points go.
const (
	ToPerson    = "person"
	ToHousehold = "household"
)

// Expiry modes.
const (
	ExpiryNever   = "never"
	ExpiryYearEnd = "year_end"
	ExpiryMonths  = "months"
)

// PointsSettings are an org's points policy. An org without its own
// settings follows the nearest ancestor that has some; YearlyBudget alone
// is never inherited, since it limits what that org itself issues.
type PointsSettings struct {
	OrgID int64 `json:"org_id"`
	// FromOrgID is the org whose settings these are (OrgID or an ancestor;
	// 0 for the defaults).
	FromOrgID int64  `json:"from_org_id"`
	PointsTo  string `json:"points_to"`
	// DailyCap is the most points a person may earn in a day across all
	// rules (Yeji: 100); 0 is none.
	DailyCap int64 `json:"daily_cap"`
	// YearlyBudget is the most points the org may issue in a calendar
	// year; 0 is none.
	YearlyBudget int64 `json:"yearly_budget"`
	// MaskNames shows 张*明 instead of full names on the board.
	MaskNames     bool   `json:"mask_names"`
	PublicDays    int    `json:"public_days"`
	AppealDays    int    `json:"appeal_days"`
	BackfillEarns bool   `json:"backfill_earns"`
	Expiry        string `json:"expiry"`
	ExpiryMonths  int    `json:"expiry_months"`
}

// DefaultPointsSettings apply where no org has set any.
func DefaultPointsSettings(orgID int64) PointsSettings {
	return PointsSettings{OrgID: orgID, PointsTo: ToPerson, MaskNames: true, PublicDays: 7, AppealDays: 7, Expiry: ExpiryNever}
}

// Validate checks the settings.
func (s *PointsSettings) Validate() error {
	if s.PointsTo == "" {
		s.PointsTo = ToPerson
	}
	if s.PointsTo != ToPerson && s.PointsTo != ToHousehold {
		return Invalid("points_to", "积分归属应为个人或家庭", "Points go to the person or the household")
	}
	if s.DailyCap < 0 || s.DailyCap > 1_000_000 {
		return Invalid("daily_cap", "每日上限应为0（不限）到1000000", "The daily cap is 0 (none) to 1000000")
	}
	if s.YearlyBudget < 0 || s.YearlyBudget > 1_000_000_000 {
		return Invalid("yearly_budget", "年度预算应为0（不限）到10亿", "The yearly budget is 0 (none) to 1,000,000,000")
	}
	if s.PublicDays < 1 || s.PublicDays > 90 {
		return Invalid("public_days", "公示期应为1到90天", "The public period is 1 to 90 days")
	}
	if s.AppealDays < 1 || s.AppealDays > 90 {
		return Invalid("appeal_days", "申诉期应为1到90天", "The appeal window is 1 to 90 days")
	}
	switch s.Expiry {
	case "":
		s.Expiry = ExpiryNever
	case ExpiryNever, ExpiryYearEnd:
	case ExpiryMonths:
		if s.ExpiryMonths < 1 || s.ExpiryMonths > 120 {
			return Invalid("expiry_months", "有效月数应为1到120", "Points last 1 to 120 months")
		}
	default:
		return Invalid("expiry", "积分有效期设置不正确", "Unknown expiry setting")
	}
	if s.Expiry != ExpiryMonths {
		s.ExpiryMonths = 0
	}
	return nil
}

// AwardStatus is where an award stands.
type AwardStatus string

// The award statuses.
const (
	AwardPending  AwardStatus = "pending"  // waiting for a reviewer
	AwardPosted   AwardStatus = "posted"   // in the ledger
	AwardRejected AwardStatus = "rejected" // a reviewer said no
	AwardReversed AwardStatus = "reversed" // posted, then undone after an appeal
)

var awardStatusZh = map[AwardStatus]string{AwardPending: "待审核", AwardPosted: "已入账", AwardRejected: "已驳回", AwardReversed: "已撤销"}

// Zh is the status in Chinese.
func (s AwardStatus) Zh() string { return awardStatusZh[s] }

// En is the status in English.
func (s AwardStatus) En() string { return english(awardStatusEn[s], string(s)) }

var awardStatusEn = map[AwardStatus]string{AwardPending: "Waiting for review", AwardPosted: "Posted", AwardRejected: "Rejected", AwardReversed: "Reversed"}

// Award sources.
const (
	SourceManual  = "manual"  // by an admin or reviewer
	SourceClaim   = "claim"   // asked for by the person (or their household head)
	SourceService = "service" // verified service hours
	SourceBulk    = "bulk"    // a list or a spreadsheet
)

// Award is points granted (or deducted) by a rule for a person or a
// household. Points is the whole signed amount; a deduction larger than
// the balance takes the balance to zero and Shortfall says what was left.
type Award struct {
	ID            int64        `json:"id"`
	OrgID         int64        `json:"org_id"`
	OrgName       string       `json:"org_name,omitempty"`
	RuleID        int64        `json:"rule_id"`
	RuleVersion   int          `json:"rule_version"`
	RuleCode      string       `json:"rule_code"`
	RuleName      string       `json:"rule_name"`
	Category      RuleCategory `json:"category"`
	PersonID      *int64       `json:"person_id"`
	PersonName    string       `json:"person_name,omitempty"`
	HouseholdID   *int64       `json:"household_id"`
	HouseholdName string       `json:"household_name,omitempty"`
	Quantity      int64        `json:"quantity"`
	Points        int64        `json:"points"`
	Note          string       `json:"note"`
	Status        AwardStatus  `json:"status"`
	Source        string       `json:"source"`
	HasEvidence   bool         `json:"has_evidence"`
	CreatedBy     int64        `json:"created_by"`
	CreatedByName string       `json:"created_by_name,omitempty"`
	// OnBehalf marks a claim a household head made for a member (代办).
	OnBehalf     bool       `json:"on_behalf"`
	DecidedBy    *int64     `json:"decided_by"`
	DecidedAt    *time.Time `json:"decided_at"`
	RejectReason string     `json:"reject_reason,omitempty"`
	TxID         *int64     `json:"transaction_id"`
	Shortfall    int64      `json:"shortfall"`
	CreatedAt    time.Time  `json:"created_at"`
	PostedAt     *time.Time `json:"posted_at"`
	// PublicUntil ends the public period (公示期); AppealUntil the window
	// for appeals.
	PublicUntil *time.Time `json:"public_until"`
	AppealUntil *time.Time `json:"appeal_until"`
}

// AwardInput asks for an award. Exactly one of PersonID and HouseholdID.
type AwardInput struct {
	PersonID    int64  `json:"person_id"`
	HouseholdID int64  `json:"household_id"`
	RuleID      int64  `json:"rule_id"`
	Quantity    int64  `json:"quantity"`
	Note        string `json:"note"`
	// Key is the idempotency key; a retry with the same key and the same
	// request returns the first award.
	Key string `json:"-"`
	// Evidence is a photo (JPEG or PNG; base64 in JSON); it is re-encoded
	// without its metadata before it is stored.
	Evidence []byte `json:"photo,omitempty"`
	// Source is set by the service (manual or bulk); callers leave it.
	Source string `json:"-"`
}

// MaxQuantity bounds one award's quantity.
const MaxQuantity = 10000

// Validate checks the shape of the input.
func (in *AwardInput) Validate() error {
	if (in.PersonID == 0) == (in.HouseholdID == 0) {
		return Invalid("person_id", "请指定一个人或一户（二选一）", "Give either a person or a household")
	}
	if in.RuleID <= 0 {
		return Invalid("rule_id", "请选择积分规则", "Choose a rule")
	}
	if in.Quantity == 0 {
		in.Quantity = 1
	}
	if in.Quantity < 0 || in.Quantity > MaxQuantity {
		return Invalid("quantity", fmt.Sprintf("数量应为1到%d", MaxQuantity), fmt.Sprintf("Quantity must be 1 to %d", MaxQuantity))
	}
	in.Note = CleanText(in.Note)
	if utf8.RuneCountInString(in.Note) > 200 {
		return Invalid("note", "说明不能超过200字", "The note is at most 200 characters")
	}
	return nil
}

// AwardFilter selects awards. Public lists what is on public display
// inside OrgID (公示), for anyone of that org.
type AwardFilter struct {
	OrgID       int64
	PersonID    int64
	HouseholdID int64
	Status      AwardStatus
	Public      bool
	Page        int
	PerPage     int
}

// PointsSummary is an account's two faces of points and where they went.
type PointsSummary struct {
	AccountID int64 `json:"account_id"`
	Balance   int64 `json:"balance"`
	Score     int64 `json:"score"`
	// Earned is every score added by awards; Deducted every score taken
	// by deductions; Spent what redemptions took (net of refunds);
	// Expired what lapsed.
	Earned   int64 `json:"earned"`
	Deducted int64 `json:"deducted"`
	Spent    int64 `json:"spent"`
	Expired  int64 `json:"expired"`
	// Household is the person's household's account when the org credits
	// households.
	HouseholdID *int64 `json:"household_id,omitempty"`
}

// LedgerLine is one posting of an account, with its transaction.
type LedgerLine struct {
	TxID      int64     `json:"transaction_id"`
	Kind      TxKind    `json:"kind"`
	Amount    int64     `json:"amount"`
	Score     int64     `json:"score"`
	Balance   int64     `json:"balance"` // after this line
	Reason    string    `json:"reason"`
	Reverses  *int64    `json:"reverses_id"`
	Shortfall int64     `json:"shortfall"`
	AwardID   *int64    `json:"award_id"`
	CreatedAt time.Time `json:"created_at"`
}

// LedgerFilter picks an account's lines: a person's or a household's.
type LedgerFilter struct {
	PersonID    int64
	HouseholdID int64
	Page        int
	PerPage     int
}

// Household is a 户: people under a head.
type Household struct {
	ID       int64             `json:"id"`
	OrgID    int64             `json:"org_id"`
	OrgName  string            `json:"org_name,omitempty"`
	Name     string            `json:"name"`
	HeadID   int64             `json:"head_person_id"`
	HeadName string            `json:"head_name,omitempty"`
	Members  []HouseholdMember `json:"members"`
	Balance  int64             `json:"balance"`
	Score    int64             `json:"score"`
}

// HouseholdMember is one person of a household.
type HouseholdMember struct {
	PersonID int64  `json:"person_id"`
	Name     string `json:"name"`
	HasPhone bool   `json:"has_phone"`
	IsHead   bool   `json:"is_head"`
}

// HouseholdInput creates a household.
type HouseholdInput struct {
	OrgID     int64   `json:"org_id"`
	HeadID    int64   `json:"head_person_id"`
	MemberIDs []int64 `json:"member_ids"`
	Name      string  `json:"name"`
}

// HouseholdChange renames a household or hands it to another of its
// members as head (户主变更); a field left empty stays as it is. A
// household still named after its old head ("张三户") follows the new one.
type HouseholdChange struct {
	Name   string `json:"name"`
	HeadID int64  `json:"head_person_id"`
}

// AppealStatus is where an appeal stands.
type AppealStatus string

// The appeal statuses: the award upheld, or reversed.
const (
	AppealOpen     AppealStatus = "open"
	AppealUpheld   AppealStatus = "upheld"
	AppealReversed AppealStatus = "reversed"
)

var appealStatusZh = map[AppealStatus]string{AppealOpen: "待处理", AppealUpheld: "维持原结果", AppealReversed: "已撤销该笔积分"}

// Zh is the status in Chinese.
func (s AppealStatus) Zh() string { return appealStatusZh[s] }

// En is the status in English.
func (s AppealStatus) En() string { return english(appealStatusEn[s], string(s)) }

var appealStatusEn = map[AppealStatus]string{AppealOpen: "Open", AppealUpheld: "Upheld", AppealReversed: "Award reversed"}

// Appeal (申诉) asks a reviewer to reverse an award or deduction.
type Appeal struct {
	ID         int64        `json:"id"`
	AwardID    int64        `json:"award_id"`
	TxID       int64        `json:"transaction_id"`
	PersonID   int64        `json:"person_id"`
	PersonName string       `json:"person_name,omitempty"`
	Reason     string       `json:"reason"`
	Status     AppealStatus `json:"status"`
	Answer     string       `json:"answer,omitempty"`
	DecidedBy  *int64       `json:"decided_by"`
	DecidedAt  *time.Time   `json:"decided_at"`
	CreatedAt  time.Time    `json:"created_at"`
	Award      *Award       `json:"award,omitempty"`
}

// BoardRow is one line of a ranking or the honour roll.
type BoardRow struct {
	Rank    int    `json:"rank"`
	Name    string `json:"name"`
	OrgName string `json:"org_name"`
	Score   int64  `json:"score"`
	// Subject is whom the line ranks (a person, or a household on a board
	// of households): not shown, but kept with a kept board so that an
	// erasure or a household's new name can be put right on it.
	Subject int64 `json:"-"`
}

// Board is what the public board of an org shows (光荣榜 · 公示).
type Board struct {
	Org       *Org           `json:"org"`
	Month     []BoardRow     `json:"month"`
	Year      []BoardRow     `json:"year"`
	AllTime   []BoardRow     `json:"all_time"`
	Honour    []BoardRow     `json:"honour"`
	Recent    []*Award       `json:"recent"`
	Block     *Block         `json:"latest_block"`
	Settings  PointsSettings `json:"settings"`
	Generated time.Time      `json:"generated_at"`
}

// MaskMiddle hides the middle of a name as notice boards do (陈*兰, 张*,
// 欧**明): enough for neighbours to know who, not enough for a stranger,
// and two people sharing a family name still read differently.
func MaskMiddle(name string) string {
	r := []rune(name)
	switch len(r) {
	case 0, 1:
		return name
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// OpeningInput is one line of an opening-balance import from a paper
// ledger (台账).
type OpeningInput struct {
	PersonID int64  `json:"person_id"`
	Points   int64  `json:"points"`
	Note     string `json:"note"`
	// Row is the file's row the balance came from, which the import's
	// errors name; 0 elsewhere.
	Row int `json:"-"`
}

// ExpiryReport says what one run of expiry did.
type ExpiryReport struct {
	Accounts int   `json:"accounts"`
	Points   int64 `json:"points"`
}

// PointsService is the points system: rule catalogues, awards and claims,
// households, the public board, appeals and expiry, all posting through
// the ledger.
type PointsService interface {
	CreateRule(ctx context.Context, orgID int64, in RuleInput) (*Rule, error)
	// UpdateRule writes a new version; awards keep the version they used.
	UpdateRule(ctx context.Context, ruleID int64, in RuleInput) (*Rule, error)
	ArchiveRule(ctx context.Context, ruleID int64) error
	// ImportRules creates or re-versions rules by code; it returns how many
	// changed. All or nothing.
	ImportRules(ctx context.Context, orgID int64, in []RuleInput) (int, error)
	Rule(ctx context.Context, ruleID int64) (*Rule, error)
	// Rules are those in force at an org: its own and those inherited from
	// above that it has not overridden.
	Rules(ctx context.Context, orgID int64) ([]*Rule, error)

	Settings(ctx context.Context, orgID int64) (*PointsSettings, error)
	SaveSettings(ctx context.Context, orgID int64, in PointsSettings) error

	// Award awards or deducts by rule. For oneself (or, as a household
	// head, for a member without a phone) it is a claim and waits for a
	// reviewer.
	Award(ctx context.Context, in AwardInput) (*Award, error)
	// AwardBulk posts a list in one transaction: all or none.
	AwardBulk(ctx context.Context, key string, in []AwardInput) ([]*Award, error)
	Approve(ctx context.Context, awardID int64) (*Award, error)
	Reject(ctx context.Context, awardID int64, reason string) (*Award, error)
	GetAward(ctx context.Context, awardID int64) (*Award, error)
	Awards(ctx context.Context, f AwardFilter) ([]*Award, int, error)
	AwardEvidence(ctx context.Context, awardID int64) ([]byte, error)
	ImportOpening(ctx context.Context, orgID int64, in []OpeningInput) (int, error)

	Points(ctx context.Context, personID int64) (*PointsSummary, error)
	HouseholdPoints(ctx context.Context, householdID int64) (*PointsSummary, error)
	Ledger(ctx context.Context, f LedgerFilter) ([]*LedgerLine, int, error)

	CreateHousehold(ctx context.Context, in HouseholdInput) (*Household, error)
	Household(ctx context.Context, id int64) (*Household, error)
	// MyHousehold is the actor's household, nil when none.
	MyHousehold(ctx context.Context) (*Household, error)
	Households(ctx context.Context, orgID int64, page int) ([]*Household, int, error)
	AddMember(ctx context.Context, householdID, personID int64) error
	RemoveMember(ctx context.Context, householdID, personID int64) error
	ChangeHousehold(ctx context.Context, id int64, in HouseholdChange) (*Household, error)

	Appeal(ctx context.Context, txID int64, reason string) (*Appeal, error)
	// Uphold keeps the award; Reverse undoes it in the ledger.
	Uphold(ctx context.Context, appealID int64, answer string) (*Appeal, error)
	Reverse(ctx context.Context, appealID int64, answer string) (*Appeal, error)
	Appeals(ctx context.Context, orgID int64, status AppealStatus, page int) ([]*Appeal, int, error)

	// Board is an org's public board; kiosk is a read-only token for a
	// lobby screen, used when nobody is signed in.
	Board(ctx context.Context, orgID int64, kiosk string) (*Board, error)
	NewKioskToken(ctx context.Context, orgID int64) (string, error)

	// Expire lapses points as each org's settings say, as of now.
	// Idempotent; safe to run twice or concurrently.
	Expire(ctx context.Context) (*ExpiryReport, error)
}
