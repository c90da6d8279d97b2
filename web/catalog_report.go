package web

func init() {
	for k, v := range reportCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: catalog key " + k + " is defined twice")
		}
		catalog[k] = v
	}
}

// reportCatalog is the UI text of the reports dashboard (统计报表), the
// chart labels included: the page hands them to its script.
var reportCatalog = map[string][2]string{
	"nav.reports": {"统计报表", "Reports"}, "home.tile.reports": {"统计报表", "Reports"},

	"report.title":      {"统计报表", "Reports"},
	"report.intro":      {"服务时长按活动开始的月份统计，积分按发放或兑换的月份统计；下方每张图都附有同样数字的表格。", "Service hours count in the month the service started, points in the month they were awarded or spent; every chart has a table of the same numbers below it."},
	"report.org":        {"组织", "Organisation"},
	"report.from":       {"起始月份", "From month"},
	"report.to":         {"结束月份", "To month"},
	"report.month_hint": {"如 2026-01", "e.g. 2026-01"},
	"report.show":       {"查看", "Show"},
	"report.range":      {"%s 至 %s", "%s to %s"},

	"report.totals":     {"合计", "Totals"},
	"report.hours":      {"服务时长（小时）", "Service hours"},
	"report.records":    {"服务记录（条）", "Service records"},
	"report.awarded":    {"发放积分", "Points awarded"},
	"report.deducted":   {"扣减积分", "Points deducted"},
	"report.redeemed":   {"兑换积分", "Points spent"},
	"report.month":      {"月份", "Month"},
	"report.axis_hours": {"小时", "Hours"}, "report.axis_points": {"积分", "Points"},

	"report.months":         {"每月服务时长与积分", "Hours and points by month"},
	"report.months_chart":   {"每月服务时长（柱）与发放、扣减、兑换积分（线）", "Service hours (bars) and points awarded, deducted and spent (lines) by month"},
	"report.children":       {"下级组织", "By organisation below"},
	"report.children_hint":  {"点击柱条或名称查看该组织的报表。", "Click a bar or a name to open that organisation's report."},
	"report.children_chart": {"各下级组织的服务时长与发放积分", "Service hours and points awarded by organisation below"},
	"report.own":            {"本级（直属）", "This organisation itself"},
	"report.no_children":    {"没有下级组织。", "No organisations below this one."},
	"report.total":          {"合计", "Total"},

	"report.stars":       {"星级志愿者（累计）", "Star volunteers (all time)"},
	"report.stars_hint":  {"按累计志愿服务时长评定：一星100小时，二星300小时，三星600小时，四星1000小时，五星1500小时。", "By verified hours all time: one star at 100 hours, two at 300, three at 600, four at 1,000, five at 1,500."},
	"report.stars_chart": {"各星级志愿者人数", "Volunteers at each star level"},
	"report.star":        {"%s星级", "%s-star"},
	"report.people":      {"人数", "People"},

	"report.top":      {"志愿服务时长前十名（累计）", "Top ten volunteers by hours (all time)"},
	"report.rank":     {"名次", "Rank"},
	"report.name":     {"姓名", "Name"},
	"report.number":   {"志愿者编号", "Volunteer no."},
	"report.home_org": {"所在组织", "Organisation"},
	"report.level":    {"星级", "Stars"},
	"report.no_top":   {"还没有核验过的服务时长。", "No verified service hours yet."},

	"report.stores":    {"积分超市与合作商户", "Stores and merchants"},
	"report.store":     {"商店", "Store"},
	"report.sales":     {"兑换笔数", "Sales"},
	"report.points":    {"兑换积分", "Points"},
	"report.refunded":  {"退货积分", "Refunded"},
	"report.items":     {"在售商品", "Items"},
	"report.stock":     {"库存件数", "Stock"},
	"report.low_stock": {"库存不足", "Low stock"},
	"report.unlimited": {"另有 %d 种不限量", "and %d unlimited"},
	"report.no_stores": {"这里还没有积分超市或合作商户。", "No store here yet."},
}
