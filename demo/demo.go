// Package demo fills an empty database with a small county a newcomer can
// click through: the orgs of the source text, one login per role and a few
// dozen residents.
package demo

import (
	"context"
	"fmt"
	"time"

	"jifen"
)

// Password is shared by every printed demo login.
const Password = "jifen2026"

// Login is one printed demo account.
type Login struct {
	Role  jifen.Role
	Name  string
	Phone string
	Org   string
}

// Services are what the loader needs.
type Services struct {
	Orgs       jifen.OrgService
	People     jifen.PersonService
	Auth       jifen.AuthService
	Activities jifen.ActivityService
	Points     jifen.PointsService
	Stores     jifen.StoreService
	// Travel sets the services' clock (the zero time: back to the real
	// one), so past activities are recorded as they happened; nil leaves
	// the demo without history.
	Travel func(time.Time)
}

// Empty reports whether the database has no orgs yet.
func Empty(ctx context.Context, s Services) (bool, error) {
	orgs, err := s.Orgs.SignupOrgs(ctx)
	return len(orgs) == 0, err
}

// Load writes the demo county and returns the logins. It runs as the
// system actor, through the same services as everyone else.
func Load(ctx context.Context, s Services) ([]Login, error) {
	ctx = jifen.WithActor(ctx, jifen.SystemActor())
	ids := map[string]int64{}
	mk := func(name string, kind jifen.OrgKind, parent string, leader, phone, addr string, approval bool) error {
		in := jifen.OrgInput{Name: name, Kind: kind, LeaderName: leader, ContactPhone: phone, Address: addr, SignupRequiresApproval: approval}
		if parent != "" {
			p := ids[parent]
			in.ParentID = &p
		}
		o, err := s.Orgs.CreateOrg(ctx, in)
		if err != nil {
			return fmt.Errorf("demo: org %s: %w", name, err)
		}
		ids[name] = o.ID
		return nil
	}
	tree := []struct {
		name     string
		kind     jifen.OrgKind
		parent   string
		leader   string
		phone    string
		addr     string
		approval bool
	}{
		{"平凉市", jifen.OrgCity, "", "赵文明", "0933-8210000", "甘肃省平凉市崆峒区", false},
		{"崇信县", jifen.OrgCounty, "平凉市", "李秀英", "0933-6121000", "甘肃省平凉市崇信县锦屏镇", false},
		{"新窑镇", jifen.OrgTown, "崇信县", "马国强", "0933-6281000", "崇信县新窑镇", false},
		{"新窑村", jifen.OrgVillage, "新窑镇", "王润莲", "13900000002", "崇信县新窑镇新窑村村部", false},
		{"新窑村志愿服务队", jifen.OrgTeam, "新窑村", "杨生鹤", "13900000003", "新窑村村部", false},
		{"锦屏镇", jifen.OrgTown, "崇信县", "周建华", "0933-6122000", "崇信县锦屏镇", false},
		{"城关社区", jifen.OrgCommunity, "锦屏镇", "孙丽萍", "0933-6123000", "锦屏镇城关社区服务中心", true},
		{"叶集区", jifen.OrgCounty, "平凉市", "吴海燕", "0564-6610000", "叶集区", false},
		{"史河街道", jifen.OrgTown, "叶集区", "郑志刚", "0564-6611000", "叶集区史河街道", false},
		{"万佛社区", jifen.OrgCommunity, "史河街道", "冯桂芳", "0564-6612000", "史河街道万佛社区", false},
		{"万佛社区志愿服务队", jifen.OrgTeam, "万佛社区", "冯桂芳", "0564-6612000", "万佛社区", false},
		{"史河街道邻里志愿服务队", jifen.OrgTeam, "史河街道", "郑志刚", "0564-6611000", "史河街道", false},
		{"市总工会", jifen.OrgWorkUnit, "平凉市", "钱立新", "0933-8220000", "平凉市总工会", false},
		{"市总工会机关志愿服务队", jifen.OrgTeam, "市总工会", "钱立新", "0933-8220000", "平凉市总工会", false},
		{"华亭煤业", jifen.OrgWorkUnit, "平凉市", "何振国", "0933-7710000", "华亭市", false},
		{"掘进二队志愿服务队", jifen.OrgTeam, "华亭煤业", "何振国", "0933-7710000", "掘进二队", false},
	}
	for _, o := range tree {
		if err := mk(o.name, o.kind, o.parent, o.leader, o.phone, o.addr, o.approval); err != nil {
			return nil, err
		}
	}
	logins := []struct {
		role  jifen.Role
		name  string
		g     jifen.Gender
		birth string
		phone string
		home  string
		on    string
		party jifen.PoliticalStatus
	}{
		{jifen.RoleSuperAdmin, "赵文明", jifen.Male, "1970-03-12", "13900000000", "平凉市", "平凉市", jifen.PartyMember},
		{jifen.RoleOrgAdmin, "李秀英", jifen.Female, "1978-06-02", "13900000001", "崇信县", "崇信县", jifen.PartyMember},
		{jifen.RoleOrgAdmin, "王润莲", jifen.Female, "1975-09-18", "13900000002", "新窑村", "新窑村", jifen.PartyMember},
		{jifen.RoleTeamLeader, "杨生鹤", jifen.Male, "1968-11-05", "13900000003", "新窑村志愿服务队", "新窑村志愿服务队", jifen.PartyMember},
		{jifen.RoleReviewer, "张丽", jifen.Female, "1985-01-20", "13900000004", "崇信县", "崇信县", jifen.Masses},
		{jifen.RoleVolunteer, "刘志强", jifen.Male, "1990-04-15", "13900000005", "新窑村志愿服务队", "新窑村志愿服务队", jifen.LeagueMember},
		{jifen.RoleResident, "陈桂兰", jifen.Female, "1952-08-08", "13900000006", "新窑村", "", jifen.Masses},
	}
	var out []Login
	people := map[string]int64{}
	for _, l := range logins {
		p, err := s.People.CreatePerson(ctx, jifen.PersonInput{Name: l.name, Gender: l.g, BirthDate: l.birth, Phone: l.phone,
			Password: Password, PoliticalStatus: l.party, OrgID: ids[l.home]})
		if err != nil {
			return nil, fmt.Errorf("demo: person %s: %w", l.name, err)
		}
		people[l.name] = p.ID
		if l.on != "" {
			if _, err := s.Auth.Grant(ctx, p.ID, ids[l.on], l.role); err != nil {
				return nil, fmt.Errorf("demo: grant %s: %w", l.name, err)
			}
		}
		out = append(out, Login{Role: l.role, Name: l.name, Phone: l.phone, Org: l.home})
	}
	// Residents without a login, as an imported roster would leave them.
	family := []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭"}
	given := []string{"秀兰", "建军", "桂英", "志强", "玉梅", "国平", "海燕", "文华", "春花", "德胜", "丽娟", "永红"}
	homes := []string{"新窑村志愿服务队", "新窑村", "城关社区", "万佛社区志愿服务队", "史河街道邻里志愿服务队", "市总工会机关志愿服务队", "掘进二队志愿服务队"}
	statuses := []jifen.PoliticalStatus{jifen.Masses, jifen.Masses, jifen.PartyMember, jifen.LeagueMember, jifen.Masses}
	skills := [][]string{{"理发"}, {"家电维修"}, {"义诊"}, {"衣物缝补"}, {"管道疏通"}, nil}
	for i := 0; i < 40; i++ {
		g := jifen.Male
		if i%2 == 1 {
			g = jifen.Female
		}
		in := jifen.PersonInput{
			Name: family[i%len(family)] + given[(i*7)%len(given)], Gender: g,
			BirthDate:       fmt.Sprintf("%d-%02d-%02d", 1945+(i*3)%60, 1+i%12, 1+i%28),
			PoliticalStatus: statuses[i%len(statuses)], Skills: skills[i%len(skills)], OrgID: ids[homes[i%len(homes)]],
		}
		if i%3 != 0 {
			in.Phone = fmt.Sprintf("1370000%04d", i)
		}
		p, err := s.People.CreatePerson(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("demo: resident %d: %w", i, err)
		}
		if _, ok := people[p.Name]; !ok {
			people[p.Name] = p.ID
		}
	}
	if err := loadService(ctx, s, ids, people); err != nil {
		return nil, err
	}
	if err := loadPoints(ctx, s, ids, people); err != nil {
		return nil, err
	}
	clerk, err := loadStores(ctx, s, ids, people)
	if err != nil {
		return nil, err
	}
	if clerk != nil {
		out = append(out, *clerk)
	}
	return out, nil
}
