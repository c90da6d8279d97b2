package jifen

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// OrgKind is the level of an organisation in the tree.
type OrgKind string

// The kinds of organisation. Towns include streets (街道); work units are
// federations, companies and mines that hang in the same tree.
const (
	OrgCity      OrgKind = "city"
	OrgCounty    OrgKind = "county"
	OrgTown      OrgKind = "town"
	OrgVillage   OrgKind = "village"
	OrgCommunity OrgKind = "community"
	OrgTeam      OrgKind = "team"
	OrgWorkUnit  OrgKind = "work_unit"
)

// OrgKinds lists the kinds in display order.
var OrgKinds = []OrgKind{OrgCity, OrgCounty, OrgTown, OrgVillage, OrgCommunity, OrgTeam, OrgWorkUnit}

var orgKindZh = map[OrgKind]string{
	OrgCity: "市", OrgCounty: "区县", OrgTown: "乡镇/街道", OrgVillage: "村",
	OrgCommunity: "社区", OrgTeam: "志愿服务队", OrgWorkUnit: "单位",
}

// Zh is the kind's Chinese name.
func (k OrgKind) Zh() string { return orgKindZh[k] }

// Valid reports whether k is a known kind.
func (k OrgKind) Valid() bool { _, ok := orgKindZh[k]; return ok }

// rank orders the administrative levels; work units and teams fit in
// between, see CanParent.
var orgRank = map[OrgKind]int{OrgCity: 0, OrgCounty: 1, OrgTown: 2, OrgVillage: 3, OrgCommunity: 3, OrgTeam: 4}

// CanParent reports whether an org of kind parent may hold a child of kind
// child. Levels only go down; a work unit sits under a city, county, town
// or another work unit and holds work units and teams; teams may hold
// sub-teams (分队).
func CanParent(parent, child OrgKind) bool {
	switch {
	case child == OrgTeam:
		return true
	case parent == OrgTeam:
		return false
	case child == OrgWorkUnit:
		return parent == OrgCity || parent == OrgCounty || parent == OrgTown || parent == OrgWorkUnit
	case parent == OrgWorkUnit:
		return false
	}
	return orgRank[child] > orgRank[parent]
}

// Org is one organisation: an administrative level, a work unit or a team.
type Org struct {
	ID       int64   `json:"id"`
	ParentID *int64  `json:"parent_id"`
	Kind     OrgKind `json:"kind"`
	Name     string  `json:"name"`
	// Path is the materialised path of ids, "/1/5/23/": a subtree is one
	// index range scan on both databases.
	Path                   string     `json:"path"`
	Depth                  int        `json:"depth"`
	LeaderName             string     `json:"leader_name"`
	ContactPhone           string     `json:"contact_phone"`
	Address                string     `json:"address"`
	HasSeal                bool       `json:"has_seal"`
	SignupRequiresApproval bool       `json:"signup_requires_approval"`
	ArchivedAt             *time.Time `json:"archived_at"`
	CreatedAt              time.Time  `json:"created_at"`
	// Children counts the direct, unarchived children; filled by lists.
	Children int `json:"children_count"`
}

// OrgPath builds the path of a child from its parent's path.
func OrgPath(parentPath string, id int64) string {
	if parentPath == "" {
		parentPath = "/"
	}
	return parentPath + strconv.FormatInt(id, 10) + "/"
}

// PathContains reports whether path lies in the subtree rooted at root.
func PathContains(root, path string) bool { return strings.HasPrefix(path, root) }

// PathUpper returns the exclusive upper bound of the subtree range that
// starts at path: every descendant d satisfies path <= d < PathUpper(path),
// because '/' sorts just below '0'. Both databases serve it from an index.
func PathUpper(path string) string { return path[:len(path)-1] + "0" }

// PathIDs returns the ids along a path, root first.
func PathIDs(path string) []int64 {
	var ids []int64
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// OrgInput is what a caller may set on an org.
type OrgInput struct {
	Name                   string  `json:"name"`
	Kind                   OrgKind `json:"kind"`
	ParentID               *int64  `json:"parent_id"`
	LeaderName             string  `json:"leader_name"`
	ContactPhone           string  `json:"contact_phone"`
	Address                string  `json:"address"`
	SignupRequiresApproval bool    `json:"signup_requires_approval"`
}

// Validate checks the values of an org, field by field.
func (in *OrgInput) Validate() error {
	in.Name = CleanText(in.Name)
	in.LeaderName = CleanText(in.LeaderName)
	in.Address = CleanText(in.Address)
	in.ContactPhone = strings.TrimSpace(in.ContactPhone)
	if err := CheckName("name", in.Name, 60); err != nil {
		return err
	}
	if !in.Kind.Valid() {
		return Invalid("kind", "组织类型不正确", "Unknown organisation kind")
	}
	if utf8.RuneCountInString(in.LeaderName) > 30 {
		return Invalid("leader_name", "负责人姓名不能超过30个字", "The person in charge's name is too long")
	}
	if utf8.RuneCountInString(in.Address) > 200 {
		return Invalid("address", "地址不能超过200个字", "Address is too long")
	}
	if in.ContactPhone != "" && !validContactPhone(in.ContactPhone) {
		return Invalid("contact_phone", "联系电话格式不正确", "Contact phone is not valid")
	}
	return nil
}

// validContactPhone accepts a mobile number or a landline with area code.
func validContactPhone(s string) bool {
	if ValidMobile(s) {
		return true
	}
	if len(s) < 7 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '-' && r != ' ' {
			return false
		}
	}
	return true
}

// OrgService manages the organisation tree. Every method checks that the
// actor in ctx may do what it asks.
type OrgService interface {
	CreateOrg(ctx context.Context, in OrgInput) (*Org, error)
	// Org returns one org visible to the actor.
	Org(ctx context.Context, id int64) (*Org, error)
	// Children lists the direct children of an org.
	Children(ctx context.Context, id int64, includeArchived bool) ([]*Org, error)
	// Ancestors lists the orgs above id, root first.
	Ancestors(ctx context.Context, id int64) ([]*Org, error)
	UpdateOrg(ctx context.Context, id int64, in OrgInput) (*Org, error)
	MoveOrg(ctx context.Context, id, newParentID int64) (*Org, error)
	ArchiveOrg(ctx context.Context, id int64) error
	SetSeal(ctx context.Context, id int64, png []byte) error
	Seal(ctx context.Context, id int64) ([]byte, error)
	// SignupOrgs lists orgs anyone may register into (unarchived), for the
	// sign-up form; it needs no actor.
	SignupOrgs(ctx context.Context) ([]*Org, error)
	// FindOrgByName finds an org by exact name inside the subtree of root.
	FindOrgByName(ctx context.Context, root int64, name string) (*Org, error)
}
