package web

func init() {
	for k, v := range storeCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: catalog key " + k + " is defined twice")
		}
		catalog[k] = v
	}
}

// storeCatalog is the UI text of stores: the mall and a store's
// catalogue, pay codes and orders, the counter, the admin pages of
// stores, items and stock, and settlements.
var storeCatalog = map[string][2]string{
	"item.archived":     {"下架（停止兑换，已兑记录保留）", "Off sale (past sales are kept)"},
	"store.archive_box": {"停业（不再兑换，不向居民显示）", "Closed (no sales, hidden from residents)"},
	"nav.shop":          {"积分商城", "Points mall"}, "nav.stores": {"商店管理", "Stores"},
	"home.tile.shop": {"积分商城", "Points mall"}, "home.tile.paycode": {"我的付款码", "My pay code"},
	"home.tile.orders": {"我的订单", "My orders"}, "home.tile.counter": {"收银台", "Counter"},
	"home.tile.stores": {"积分超市管理", "Stores"},

	"shop.title": {"积分商城", "Points mall"},
	"shop.intro": {"用积分在积分超市和合作商户兑换：到店出示付款码，或在线预订后到店取货。", "Spend points at points supermarkets and partner merchants: show your pay code at the counter, or order here and fetch it."},
	"shop.none":  {"您所在的村（社区）还没有积分超市或合作商户。", "There is no store for your village or community yet."},

	"store.address": {"地址", "Address"}, "store.map": {"地图", "Map"}, "store.hours": {"营业时间", "Opening hours"},
	"store.hours_hint": {"如：周一至周六 8:30–17:30", "e.g. Mon–Sat 8:30–17:30"}, "store.org": {"所属组织", "Organisation"},
	"store.name": {"名称", "Name"}, "store.manage": {"管理", "Manage"}, "store.catalogue": {"商品目录", "Catalogue"},
	"store.archived": {"已停用", "Archived"}, "store.items": {"商品", "Items"}, "store.no_items": {"还没有可兑换的商品", "Nothing on sale yet"},
	"store.low_stock": {"以下商品库存不足，请及时补货：", "These items are running low; restock them soon:"},
	"store.order":     {"下单，到店取货", "Order for pick-up"},
	"store.order_hint": {"下单后立即扣除积分，请在 %d 小时内凭取货码到店取货，超时自动取消并退回积分。",
		"Points are taken when you order; fetch it with the pick-up code within %d hours, or the order is released and the points come back."},
	"store.pin": {"地图位置（选填）", "Map position (optional)"}, "store.lat": {"纬度", "Latitude"}, "store.lon": {"经度", "Longitude"},
	"store.confirm_above":      {"超过多少积分需本人确认", "Sales above this many points need the resident's confirmation"},
	"store.confirm_above_hint": {"0 或不填为不需要；居民在手机上确认，或在收银台输入本人密码", "0 or empty: never; the resident confirms on their phone or types their PIN at the counter"},
	"store.rate":               {"每积分折合（元）", "Yuan per point"}, "store.rate_hint": {"结算时按此折算应付金额，如 1.00", "Settlements convert points to money at this rate, e.g. 1.00"},
	"store.hold_hours": {"预订保留时间（小时）", "Orders are held (hours)"}, "store.refund_days": {"可退货天数", "Refunds possible for (days)"},
	"store.serves": {"服务范围", "Serves"}, "store.serves_own": {"本组织（默认）", "Its own org (the default)"},
	"store.serves_hint": {"选择上级组织可让其下所有居民都来兑换，如全县通用的合作商户", "An org above lets everyone under it buy here, e.g. a merchant for the whole county"},
	"store.details":     {"商店信息", "Store details"}, "store.clerks": {"店员", "Clerks"},
	"store.clerks_hint": {"店员只能在本店收银、办理取货和退货，不能管理其他事务。", "Clerks ring up sales, hand over orders and refund at this store only."},
	"store.no_clerks":   {"还没有店员", "No clerks yet"}, "store.find_clerk": {"姓名、手机号或志愿者编号", "Name, phone or volunteer number"},
	"store.add_clerk": {"设为店员", "Make clerk"}, "store.nobody_found": {"没有找到", "Nobody found"},

	"stores.title": {"积分超市与合作商户", "Stores and merchants"}, "stores.none": {"您还没有管理或值守的商店", "You run no store yet"},
	"stores.new": {"新开积分超市或签约商户", "Open a store or sign up a merchant"},

	"item.name": {"商品名称", "Item"}, "item.points": {"所需积分", "Points"}, "item.points_n": {"%d 积分", "%d points"},
	"item.stock": {"库存", "Stock"}, "item.stock_hint": {"不填为不限量（如服务类）", "Empty: unlimited (a service, say)"},
	"item.stock_left": {"剩 %d 件", "%d left"}, "item.sold_out": {"已兑完", "Sold out"}, "item.unlimited": {"不限量", "Unlimited"},
	"item.low_stock": {"库存预警线", "Warn at"}, "item.low_stock_hint": {"库存降到此数时提醒补货", "Warn when the stock falls to this"},
	"item.low": {"库存不足", "Low"}, "item.low_at": {"预警线 %d", "warning at %d"},
	"item.limit": {"每人限兑", "Limit per person"}, "item.limit_n": {"%s限兑 %d 件", "at most %[2]d %[1]s"},
	"item.per_person": {"数量（0 或不填为不限）", "Quantity (0 or empty: none)"}, "item.period": {"周期", "Per"},
	"item.valid": {"兑换期", "On sale"}, "item.until": {"兑换截止 %s", "until %s"}, "item.photo": {"照片（可直接拍照）", "Photo (take one or choose)"},
	"item.quantity": {"数量", "Quantity"}, "item.new": {"新增商品", "Add an item"}, "item.add": {"添加", "Add"},
	"item.off_sale": {"不在兑换期", "Not on sale"}, "item.edit": {"修改商品", "Edit the item"},
	"item.edit_hint": {"库存请用补货或盘点调整，每次变动都有记录。", "Change the stock by restocking or a stock-take, so every change is recorded."},
	"item.restock":   {"补货", "Restock"}, "item.restock_quantity": {"补货数量", "Quantity added"}, "item.note": {"备注", "Note"},
	"item.stocktake": {"盘点调整", "Stock-take"}, "item.stocktake_save": {"按盘点结果调整库存", "Set the stock to the count"},
	"item.stocktake_hint": {"填写实际清点的数量和原因（如损耗、过期），库存将调整为该数量。", "Enter what was counted and why (damage, expiry); the stock is set to it."},
	"item.counted":        {"实际数量", "Counted"}, "item.movements": {"库存变动", "Stock movements"}, "item.delta": {"变动", "Change"},
	"item.after": {"变动后", "After"}, "item.no_movements": {"还没有库存变动", "No movements yet"},
	"movement.restock": {"补货", "Restock"}, "movement.stocktake": {"盘点", "Stock-take"}, "movement.sale": {"兑换", "Sale"},
	"movement.order": {"预订", "Order"}, "movement.release": {"超时释放", "Released"}, "movement.cancel": {"取消", "Cancelled"},
	"movement.refund": {"退货", "Refund"},

	"basket.total": {"合计", "Total"}, "basket.points": {"积分", "points"},

	"paycode.title": {"我的付款码", "My pay code"}, "paycode.qr_alt": {"付款码二维码", "Pay code QR"},
	"paycode.valid_until":  {"有效至 %s，到期自动更新", "Valid until %s; it renews itself"},
	"paycode.seconds_left": {"%d 秒后自动更新", "Renews in %d s"}, "paycode.expired": {"付款码已过期，请点“刷新”", "The code has expired: tap Refresh"},
	"paycode.refresh": {"刷新", "Refresh"}, "paycode.paid": {"兑换成功", "Paid"},
	"paycode.changed":      {"兑换状态已更新", "Status changed"},
	"paycode.confirm_hint": {"这笔兑换积分较多，需要您本人确认。", "This sale is above the store's limit and needs your confirmation."},
	"paycode.confirm":      {"确认兑换", "Confirm"}, "paycode.decline": {"不是我，取消", "Not me: cancel"},
	"paycode.hint_show":   {"请把付款码出示给店员扫描，或读出下面的数字。", "Show the code to the clerk, or read out the digits."},
	"paycode.hint_secret": {"付款码一分钟内有效、只能用一次；请勿截图发给他人。", "A code works once, for a minute; never send it to anyone."},
	"paycode.hint_card":   {"没有手机的居民可凭志愿者卡和密码在收银台兑换。", "Without a phone, show your printed card and type your PIN at the counter."},

	"orders.title": {"我的订单", "My orders"}, "orders.total": {"共 %d 笔", "%d in all"}, "orders.none": {"还没有兑换记录", "Nothing yet"},
	"orders.no": {"订单号", "Order"}, "orders.code": {"取货码", "Pick-up code"}, "orders.qr_alt": {"取货码二维码", "Pick-up code QR"},
	"orders.fetch_by": {"请在 %s 前到店取货", "Fetch it by %s"}, "orders.cancel": {"取消订单", "Cancel the order"},
	"orders.refund_reason": {"退货原因：", "Refunded: "},

	"counter.title": {"收银台", "Counter"}, "counter.basket": {"选择商品和数量", "Items and quantities"},
	"counter.paycode": {"居民付款码", "Resident's pay code"}, "counter.paycode_hint": {"扫码或输入18位数字", "Scan, or type the 18 digits"},
	"counter.scan": {"扫描付款码", "Scan the pay code"}, "counter.scan_pickup": {"扫描取货码", "Scan the pick-up code"},
	"counter.card":          {"没有手机？刷卡加密码", "No phone? Card and PIN"},
	"counter.card_hint":     {"输入居民卡上的志愿者编号，请居民本人输入密码。", "Type the volunteer number from the card; the resident types their PIN."},
	"counter.confirm_above": {"超过 %d 积分时，用付款码也可请居民在此输入密码代替手机确认。", "Above %d points, the resident may type their PIN here with the pay code instead of confirming on the phone."},
	"counter.pin":           {"居民密码", "Resident's PIN"}, "counter.sell": {"确认兑换", "Confirm the sale"},
	"counter.waiting":     {"积分较多，正在等待居民在手机上确认……也可取消后，请居民输入密码重新收银。", "Waiting for the resident to confirm on their phone… or cancel and ring it up again with their PIN."},
	"counter.cancel_sale": {"取消这笔兑换", "Cancel this sale"}, "counter.pickup": {"预订取货", "Pick-up orders"},
	"counter.hand_over": {"确认取货", "Hand over"}, "counter.no_waiting": {"没有待取货的预订", "No orders waiting"},
	"counter.today": {"今日兑换", "Today's sales"}, "counter.today_sum": {"共 %d 笔，已完成 %d 积分", "%d sales, %d points completed"},
	"counter.items": {"商品", "Items"}, "counter.refund": {"退货", "Refund"}, "counter.refund_reason": {"退货原因（必填）", "Reason (required)"},
	"counter.none_today": {"今天还没有兑换", "No sales today"},

	"settlement.title": {"结算", "Settlement"}, "settlement.period": {"结算周期", "Period"},
	"settlement.period_hint": {"月份如 2026-11，或年份如 2026", "A month like 2026-11, or a year like 2026"}, "settlement.show": {"查看", "Show"},
	"settlement.settled": {"已结算", "Settled"}, "settlement.open": {"未结算", "Not settled"},
	"settlement.sales": {"兑换笔数", "Sales"}, "settlement.refunds": {"退货笔数", "Refunds"}, "settlement.points": {"净兑换积分", "Net points"},
	"settlement.rate": {"折算标准", "Rate"}, "settlement.rate_n": {"每积分 %s 元", "%s yuan a point"}, "settlement.amount": {"应付金额（元）", "Amount due (yuan)"},
	"settlement.xlsx": {"下载Excel", "Download Excel"}, "settlement.pdf": {"下载PDF结算单", "Download the PDF"},
	"settlement.settle":      {"确认结算", "Mark settled"},
	"settlement.settle_hint": {"结算后本期数字不再变化，积分从商店账户核销；之后的退货计入下一期。", "Once settled the period's figures stay as they are and its points are retired; later refunds count in the next period."},
	"settlement.not_ended":   {"这个周期还没有结束，结束后才能结算。", "This period has not ended yet; settle it once it has."},
	"settlement.by_org":      {"按居民所属组织", "By the buyers' orgs"}, "settlement.buyer_org": {"居民所属组织", "Buyers' org"},
	"settlement.lines": {"兑换明细", "Lines"}, "settlement.none": {"本期没有兑换", "No sales in this period"}, "settlement.refund": {"退货", "Refund"},

	"flash.ordered":        {"下单成功，请凭取货码到店取货", "Ordered: fetch it with the pick-up code"},
	"flash.sold_completed": {"兑换成功", "Sale completed"}, "flash.sold_confirming": {"等待居民确认", "Waiting for the resident to confirm"},
	"flash.fulfilled": {"已取货", "Handed over"}, "flash.sale_confirmed": {"已确认兑换", "Confirmed"},
	"flash.order_cancelled": {"已取消，积分已退回", "Cancelled; the points are back"}, "flash.sale_refunded": {"已退货，积分已退回", "Refunded; the points are back"},
	"flash.store_created": {"商店已创建，请添加商品和店员", "Store created: add its items and clerks"}, "flash.item_created": {"商品已添加", "Item added"},
	"flash.clerk_added": {"已设为店员", "Clerk added"}, "flash.clerk_removed": {"已移除店员", "Clerk removed"},
	"flash.restocked": {"已补货", "Restocked"}, "flash.stocktaken": {"库存已按盘点调整", "Stock set to the count"}, "flash.settled": {"已结算", "Settled"},

	"audit.store.create": {"新开商店", "Opened a store"}, "audit.store.update": {"修改商店", "Edited a store"},
	"audit.store.add_clerk": {"添加店员", "Added a clerk"}, "audit.store.remove_clerk": {"移除店员", "Removed a clerk"},
	"audit.item.create": {"新增商品", "Added an item"}, "audit.item.update": {"修改商品", "Edited an item"},
	"audit.item.restock": {"补货", "Restocked"}, "audit.item.stocktake": {"盘点调整", "Stock-take"},
	"audit.redemption.refund": {"兑换退货", "Refunded a sale"}, "audit.store.settle": {"商店结算", "Settled a store"},
}
