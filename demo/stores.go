package demo

import (
	"context"
	"fmt"
	"time"

	"jifen"
)

// Clerk is the demo's clerk login: 新窑村积分超市's cashier.
const clerkPhone = "13900000007"

// loadStores opens 新窑村's points supermarket (积分超市) with a shelf of
// everyday goods and a partner car wash serving the whole county, makes
// 马小燕 the supermarket's clerk, and records a few weeks of sales at the
// counter and a pick-up order waiting for 陈桂兰.
func loadStores(ctx context.Context, s Services, ids map[string]int64, people map[string]int64) (*Login, error) {
	if s.Stores == nil || s.Travel == nil {
		return nil, nil
	}
	defer s.Travel(time.Time{})
	now := time.Now().In(jifen.Zone)
	s.Travel(now.AddDate(0, 0, -30))
	clerk, err := s.People.CreatePerson(ctx, jifen.PersonInput{Name: "马小燕", Gender: jifen.Female, BirthDate: "1988-07-09", Phone: clerkPhone,
		Password: Password, OrgID: ids["新窑村"]})
	if err != nil {
		return nil, fmt.Errorf("demo: clerk: %w", err)
	}
	people["马小燕"] = clerk.ID
	lat, lon := 35.3065, 107.0352
	shop, err := s.Stores.CreateStore(ctx, jifen.StoreInput{OrgID: ids["新窑村"], Name: "新窑村积分超市", Kind: jifen.Supermarket,
		Address: "新窑村村部一楼", Lat: &lat, Lon: &lon, Hours: "周一至周六 8:30–17:30", ConfirmAbove: 200})
	if err != nil {
		return nil, fmt.Errorf("demo: store: %w", err)
	}
	if err := s.Stores.AddClerk(ctx, shop.ID, clerk.ID); err != nil {
		return nil, err
	}
	wash, err := s.Stores.CreateStore(ctx, jifen.StoreInput{OrgID: ids["崇信县"], Name: "锦屏洗车行", Kind: jifen.Merchant,
		Address: "崇信县锦屏镇东街18号", Hours: "每天 8:00–19:00"})
	if err != nil {
		return nil, fmt.Errorf("demo: merchant: %w", err)
	}
	n := func(v int64) *int64 { return &v }
	items := map[string]int64{}
	for _, it := range []struct {
		store int64
		in    jifen.ItemInput
	}{
		{shop.ID, jifen.ItemInput{Name: "洗衣粉（1kg）", Points: 20, Stock: n(40), LowStock: 5}},
		{shop.ID, jifen.ItemInput{Name: "食用油（5L）", Points: 60, Stock: n(12), LowStock: 3, PerPersonLimit: 1, LimitPeriod: jifen.PerMonth}},
		{shop.ID, jifen.ItemInput{Name: "大米（5kg）", Points: 50, Stock: n(4), LowStock: 5}},
		{shop.ID, jifen.ItemInput{Name: "香皂", Points: 5, Stock: n(100), LowStock: 10}},
		{shop.ID, jifen.ItemInput{Name: "毛巾", Points: 10, Stock: n(30), LowStock: 5}},
		{shop.ID, jifen.ItemInput{Name: "酱油（500ml）", Points: 8, Stock: n(24), LowStock: 5}},
		{shop.ID, jifen.ItemInput{Name: "保温杯", Points: 80, Stock: n(6), LowStock: 2, PerPersonLimit: 1, LimitPeriod: jifen.PerYear}},
		{wash.ID, jifen.ItemInput{Name: "普通洗车一次", Points: 30, PerPersonLimit: 2, LimitPeriod: jifen.PerMonth}},
		{wash.ID, jifen.ItemInput{Name: "汽车内饰清洁", Points: 80, PerPersonLimit: 1, LimitPeriod: jifen.PerMonth}},
	} {
		item, err := s.Stores.CreateItem(ctx, it.store, it.in)
		if err != nil {
			return nil, fmt.Errorf("demo: item %s: %w", it.in.Name, err)
		}
		items[it.in.Name] = item.ID
	}
	vpath, err := s.Orgs.Org(ctx, ids["新窑村"])
	if err != nil {
		return nil, err
	}
	as := func(name string) context.Context {
		return jifen.WithActor(ctx, &jifen.Actor{PersonID: people[name], HomeOrgID: ids["新窑村"], HomeOrgPath: vpath.Path})
	}
	cashier := as("马小燕")
	sales := []struct {
		ago   int
		buyer string
		lines map[string]int64
	}{
		{20, "陈桂兰", map[string]int64{"洗衣粉（1kg）": 1}},
		{12, "李文华", map[string]int64{"香皂": 2, "毛巾": 1}},
		{6, "周春花", map[string]int64{"酱油（500ml）": 1}},
	}
	for i, sale := range sales {
		s.Travel(now.AddDate(0, 0, -sale.ago).Add(-2 * time.Hour))
		code, err := s.Stores.NewPaycode(as(sale.buyer))
		if err != nil {
			return nil, err
		}
		var lines []jifen.Line
		for name, q := range sale.lines {
			lines = append(lines, jifen.Line{ItemID: items[name], Quantity: q})
		}
		if _, err := s.Stores.Redeem(cashier, jifen.RedemptionInput{StoreID: shop.ID, Paycode: code.Code, Lines: lines, Key: fmt.Sprintf("demo-sale-%d", i)}); err != nil {
			return nil, fmt.Errorf("demo: sale to %s: %w", sale.buyer, err)
		}
	}
	s.Travel(now.Add(-time.Hour))
	if _, err := s.Stores.Redeem(as("陈桂兰"), jifen.RedemptionInput{StoreID: shop.ID, Lines: []jifen.Line{{ItemID: items["毛巾"], Quantity: 1}}, Key: "demo-order-1"}); err != nil {
		return nil, fmt.Errorf("demo: order: %w", err)
	}
	return &Login{Role: jifen.RoleClerk, Name: "马小燕", Phone: clerkPhone, Org: "新窑村积分超市"}, nil
}
