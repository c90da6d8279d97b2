package jifen

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// StoreKind tells a points supermarket from a partner merchant.
type StoreKind string

// The store kinds.
const (
	// Supermarket is run by an org and keeps goods in stock (积分超市).
	Supermarket StoreKind = "supermarket"
	// Merchant is a partner business taking points for services or
	// discounts (car wash, barber, grocery); stock is optional.
	Merchant StoreKind = "merchant"
)

var storeKindZh = map[StoreKind]string{Supermarket: "积分超市", Merchant: "合作商户"}

// Zh is the kind in Chinese.
func (k StoreKind) Zh() string { return storeKindZh[k] }

// Valid reports whether k is known.
func (k StoreKind) Valid() bool { _, ok := storeKindZh[k]; return ok }

// RoleClerk is granted on one store (not an org) and reaches that store alone.
const RoleClerk Role = "clerk"

// Store is a points supermarket or a partner merchant.
type Store struct {
	ID      int64     `json:"id"`
	OrgID   int64     `json:"org_id"`
	OrgName string    `json:"org_name,omitempty"`
	Name    string    `json:"name"`
	Kind    StoreKind `json:"kind"`
	Address string    `json:"address"`
	Lat     *float64  `json:"lat"`
	Lon     *float64  `json:"lon"`
	Hours   string    `json:"opening_hours"`
	// ServesOrgID is the root of the subtree whose residents may buy
	// here: the store's org unless that org widened it (e.g. the county).
	ServesOrgID int64 `json:"serves_org_id"`
	// ConfirmAbove: a counter sale of more points than this waits for the
	// resident's own confirmation (phone or PIN); 0 never waits.
	ConfirmAbove int64 `json:"confirm_above"`
	// FenPerPoint is the conversion rate for settlement: 100 fen (1 yuan)
	// per point by default.
	FenPerPoint int64 `json:"fen_per_point"`
	// HoldHours is how long a pick-up order waits before it is released.
	HoldHours int `json:"hold_hours"`
	// RefundDays is how long after a sale it may be refunded.
	RefundDays int       `json:"refund_days"`
	Archived   bool      `json:"archived"`
	CreatedAt  time.Time `json:"created_at"`
}

// StoreInput creates or edits a store.
type StoreInput struct {
	OrgID        int64     `json:"org_id"`
	Name         string    `json:"name"`
	Kind         StoreKind `json:"kind"`
	Address      string    `json:"address"`
	Lat          *float64  `json:"lat"`
	Lon          *float64  `json:"lon"`
	Hours        string    `json:"opening_hours"`
	ServesOrgID  int64     `json:"serves_org_id"`
	ConfirmAbove int64     `json:"confirm_above"`
	FenPerPoint  int64     `json:"fen_per_point"`
	HoldHours    int       `json:"hold_hours"`
	RefundDays   int       `json:"refund_days"`
	// Archived closes the store (on an edit): no sales, not listed to residents.
	Archived bool `json:"archived"`
}

// Validate normalises and checks the input.
func (in *StoreInput) Validate() error {
	if err := CheckName("name", in.Name, 60); err != nil {
		return err
	}
	in.Name = CleanText(in.Name)
	if in.Kind == "" {
		in.Kind = Supermarket
	}
	if !in.Kind.Valid() {
		return Invalid("kind", "类型应为积分超市（supermarket）或合作商户（merchant）", "Kind must be supermarket or merchant")
	}
	in.Address, in.Hours = CleanText(in.Address), CleanText(in.Hours)
	if utf8.RuneCountInString(in.Address) > 120 {
		return Invalid("address", "地址不能超过120字", "The address is at most 120 characters")
	}
	if utf8.RuneCountInString(in.Hours) > 120 {
		return Invalid("opening_hours", "营业时间不能超过120字", "Opening hours are at most 120 characters")
	}
	if (in.Lat == nil) != (in.Lon == nil) || in.Lat != nil && (!(*in.Lat >= -90 && *in.Lat <= 90) || !(*in.Lon >= -180 && *in.Lon <= 180)) {
		return Invalid("lat", "地图位置不正确", "The map position is not valid")
	}
	if in.ConfirmAbove < 0 || in.ConfirmAbove > 1_000_000 {
		return Invalid("confirm_above", "确认金额应为0（不需要）到1000000", "The confirmation threshold is 0 (none) to 1000000")
	}
	if in.FenPerPoint == 0 {
		in.FenPerPoint = 100
	}
	if in.FenPerPoint < 1 || in.FenPerPoint > 100_000 {
		return Invalid("fen_per_point", "折算比例应为每分1分钱到1000元", "The rate is 1 fen to 1000 yuan per point")
	}
	if in.HoldHours == 0 {
		in.HoldHours = 48
	}
	if in.HoldHours < 1 || in.HoldHours > 24*30 {
		return Invalid("hold_hours", "预订保留时间应为1小时到30天", "Orders are held 1 hour to 30 days")
	}
	if in.RefundDays == 0 {
		in.RefundDays = 7
	}
	if in.RefundDays < 1 || in.RefundDays > 365 {
		return Invalid("refund_days", "退货期限应为1到365天", "Refunds are possible 1 to 365 days")
	}
	return nil
}

// LimitPeriod is the period of a per-person limit.
type LimitPeriod string

// The limit periods.
const (
	PerDay   LimitPeriod = "day"
	PerWeek  LimitPeriod = "week"
	PerMonth LimitPeriod = "month"
	PerYear  LimitPeriod = "year"
)

var periodZh = map[LimitPeriod]string{PerDay: "每天", PerWeek: "每周", PerMonth: "每月", PerYear: "每年"}

// Zh is the period in Chinese.
func (p LimitPeriod) Zh() string { return periodZh[p] }

// Valid reports whether p is known.
func (p LimitPeriod) Valid() bool { _, ok := periodZh[p]; return ok }

// Start is the local start of the period holding t: days and months as
// the calendar has them, weeks from Monday.
func (p LimitPeriod) Start(t time.Time) time.Time {
	l := t.In(Zone)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, Zone)
	switch p {
	case PerWeek:
		wd := (int(d.Weekday()) + 6) % 7 // Monday = 0
		return d.AddDate(0, 0, -wd)
	case PerMonth:
		return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, Zone)
	case PerYear:
		return time.Date(l.Year(), 1, 1, 0, 0, 0, 0, Zone)
	}
	return d
}

// Item is a catalogue entry: goods on a shelf or a merchant's service.
type Item struct {
	ID      int64  `json:"id"`
	StoreID int64  `json:"store_id"`
	Name    string `json:"name"`
	Points  int64  `json:"points"`
	// Stock is nil for unlimited (a service, a discount).
	Stock          *int64      `json:"stock"`
	PerPersonLimit int64       `json:"per_person_limit"`
	LimitPeriod    LimitPeriod `json:"limit_period"`
	LowStock       int64       `json:"low_stock"`
	ValidFrom      string      `json:"valid_from,omitempty"`
	ValidTo        string      `json:"valid_to,omitempty"`
	HasPhoto       bool        `json:"has_photo"`
	Archived       bool        `json:"archived"`
	CreatedAt      time.Time   `json:"created_at"`
}

// Low reports whether the item's stock is at or under its warning level.
func (i *Item) Low() bool { return i.Stock != nil && *i.Stock <= i.LowStock }

// ItemInput creates or edits an item. Photo is a JPEG or PNG, re-encoded
// without metadata when kept.
type ItemInput struct {
	Name           string      `json:"name"`
	Points         int64       `json:"points"`
	Stock          *int64      `json:"stock"`
	PerPersonLimit int64       `json:"per_person_limit"`
	LimitPeriod    LimitPeriod `json:"limit_period"`
	LowStock       int64       `json:"low_stock"`
	ValidFrom      string      `json:"valid_from"`
	ValidTo        string      `json:"valid_to"`
	Photo          []byte      `json:"-"`
	// Archived takes the item off sale (on an edit); past sales keep it.
	Archived bool `json:"archived"`
}

// MaxItemPoints bounds an item's price.
const MaxItemPoints = 1_000_000

// MaxStock bounds a stock level or a restock.
const MaxStock = 1_000_000

// Validate normalises and checks the input.
func (in *ItemInput) Validate() error {
	if err := CheckName("name", in.Name, 60); err != nil {
		return err
	}
	in.Name = CleanText(in.Name)
	if in.Points < 1 || in.Points > MaxItemPoints {
		return Invalid("points", fmt.Sprintf("所需积分应为1到%d", MaxItemPoints), fmt.Sprintf("Points must be 1 to %d", MaxItemPoints))
	}
	if in.Stock != nil && (*in.Stock < 0 || *in.Stock > MaxStock) {
		return Invalid("stock", fmt.Sprintf("库存应为0到%d（不填为不限）", MaxStock), fmt.Sprintf("Stock must be 0 to %d (empty: unlimited)", MaxStock))
	}
	if in.PerPersonLimit < 0 || in.PerPersonLimit > MaxStock {
		return Invalid("per_person_limit", "每人限购数量不正确", "The per-person limit is not valid")
	}
	if in.LimitPeriod == "" {
		in.LimitPeriod = PerMonth
	}
	if !in.LimitPeriod.Valid() {
		return Invalid("limit_period", "限购周期应为day、week、month或year", "The limit period is day, week, month or year")
	}
	if in.LowStock < 0 || in.LowStock > MaxStock {
		return Invalid("low_stock", "预警库存不正确", "The low-stock level is not valid")
	}
	if err := checkValidDates(&in.ValidFrom, &in.ValidTo); err != nil {
		return err
	}
	return nil
}

// Movement is one recorded change of an item's stock.
type Movement struct {
	ID           int64     `json:"id"`
	ItemID       int64     `json:"item_id"`
	Delta        int64     `json:"delta"`
	Kind         string    `json:"kind"` // restock, stocktake, sale, order, release, cancel, refund
	Note         string    `json:"note"`
	StockAfter   int64     `json:"stock_after"`
	RedemptionID *int64    `json:"redemption_id"`
	CreatedBy    int64     `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
}

// RedemptionStatus is where a sale or an order stands.
type RedemptionStatus string

// The redemption statuses.
const (
	RedemptionCompleted  RedemptionStatus = "completed"  // handed over
	RedemptionHeld       RedemptionStatus = "held"       // ordered, waiting for pick-up
	RedemptionConfirming RedemptionStatus = "confirming" // at the counter, waiting for the resident
	RedemptionCancelled  RedemptionStatus = "cancelled"  // an order cancelled by the resident
	RedemptionReleased   RedemptionStatus = "released"   // an order nobody fetched
	RedemptionRefunded   RedemptionStatus = "refunded"
)

var redemptionZh = map[RedemptionStatus]string{RedemptionCompleted: "已完成", RedemptionHeld: "待取货", RedemptionConfirming: "待本人确认",
	RedemptionCancelled: "已取消", RedemptionReleased: "超时未取已释放", RedemptionRefunded: "已退货"}

// Zh is the status in Chinese.
func (s RedemptionStatus) Zh() string { return redemptionZh[s] }

// En is the status in English.
func (s RedemptionStatus) En() string { return english(redemptionEn[s], string(s)) }

var redemptionEn = map[RedemptionStatus]string{RedemptionCompleted: "Completed", RedemptionHeld: "Waiting for pick-up",
	RedemptionConfirming: "Waiting for the resident to confirm", RedemptionCancelled: "Cancelled", RedemptionReleased: "Not fetched, released",
	RedemptionRefunded: "Refunded"}

// Line is one item of a redemption.
type Line struct {
	ItemID   int64  `json:"item_id"`
	Name     string `json:"name,omitempty"`
	Quantity int64  `json:"quantity"`
	Points   int64  `json:"points,omitempty"` // per unit, at the time of sale
}

// Redemption is a sale at the counter or a pick-up order.
type Redemption struct {
	ID          int64            `json:"id"`
	StoreID     int64            `json:"store_id"`
	StoreName   string           `json:"store_name,omitempty"`
	PersonID    int64            `json:"person_id"`
	PersonName  string           `json:"person_name,omitempty"`
	HouseholdID *int64           `json:"household_id"`
	Status      RedemptionStatus `json:"status"`
	Points      int64            `json:"points"`
	Lines       []Line           `json:"lines"`
	// PickupCode is shown to the resident for an order; the clerk scans it.
	PickupCode string     `json:"pickup_code,omitempty"`
	HeldUntil  *time.Time `json:"held_until"`
	ClerkID    *int64     `json:"clerk_id"`
	TxID       *int64     `json:"transaction_id"`
	RefundTxID *int64     `json:"refund_transaction_id"`
	// RefundFromOrg: the sale's period was settled when it was refunded,
	// so the org paid the points back, not the store.
	RefundFromOrg bool       `json:"refund_from_org"`
	Reason        string     `json:"reason,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DoneAt        *time.Time `json:"done_at"`
}

// RedemptionInput asks for a sale (with a pay code or a card and PIN, by a
// clerk) or an order (neither, by the signed-in resident).
type RedemptionInput struct {
	StoreID int64  `json:"store_id"`
	Lines   []Line `json:"lines"`
	Paycode string `json:"paycode"`
	// VolunteerNo and PIN stand in for a pay code: a printed card.
	VolunteerNo string `json:"volunteer_no"`
	PIN         string `json:"pin"`
	Key         string `json:"-"`
}

// MaxLines bounds a basket.
const MaxLines = 50

// Validate checks the shape of the basket.
func (in *RedemptionInput) Validate() error {
	if in.StoreID <= 0 {
		return Invalid("store_id", "请指定积分超市或商户", "Choose a store")
	}
	if len(in.Lines) == 0 {
		return Invalid("lines", "请至少选择一件商品", "Pick at least one item")
	}
	if len(in.Lines) > MaxLines {
		return Invalid("lines", fmt.Sprintf("一次最多%d种商品", MaxLines), fmt.Sprintf("At most %d items at a time", MaxLines))
	}
	seen := map[int64]bool{}
	for _, l := range in.Lines {
		if l.ItemID <= 0 {
			return Invalid("item_id", "商品不存在", "No such item")
		}
		if l.Quantity < 1 || l.Quantity > 1000 {
			return Invalid("quantity", "数量应为1到1000", "Quantity must be 1 to 1000")
		}
		if seen[l.ItemID] {
			return Invalid("lines", "同一商品请合并为一行", "Put each item on one line")
		}
		seen[l.ItemID] = true
	}
	in.Paycode = strings.TrimSpace(strings.ReplaceAll(in.Paycode, " ", ""))
	return nil
}

// Paycode is "my pay code": a one-time numeric code the clerk scans.
type Paycode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PaycodeDigits is the length of a pay code: long enough that guessing
// one in its minute is hopeless, short enough to read out and type.
const PaycodeDigits = 18

// PaycodeLifetime is how long a pay code works.
const PaycodeLifetime = time.Minute

// RedemptionFilter selects redemptions.
type RedemptionFilter struct {
	StoreID  int64
	PersonID int64 // 0 with Mine false: the store's
	Mine     bool
	Status   RedemptionStatus
	Day      string // YYYY-MM-DD: one local day (today's sales)
	Page     int
	PerPage  int
}

// SettlementLine is one issuing org's share of a statement.
type SettlementLine struct {
	OrgID   int64  `json:"org_id"`
	OrgName string `json:"org_name"`
	Points  int64  `json:"points"`
}

// Settlement is a store's statement for a period (2026-11, or 2026).
type Settlement struct {
	StoreID   int64  `json:"store_id"`
	StoreName string `json:"store_name"`
	OrgName   string `json:"org_name"`
	Period    string `json:"period"`
	Sales     int    `json:"sales"`
	Refunds   int    `json:"refunds"`
	Points    int64  `json:"points"` // net: sales less refunds
	// Transferred is what settling moves out of the store's account: the
	// period's sales less the refunds of them the store paid itself. A
	// refund of a sale from an already settled period was paid by the org
	// and lowers Points (the money due) but not Transferred.
	Transferred int64            `json:"transferred"`
	ByOrg       []SettlementLine `json:"by_org"`
	// AmountFen is what the store's org owes: Points at the store's rate.
	AmountFen   int64         `json:"amount_fen"`
	FenPerPoint int64         `json:"fen_per_point"`
	Settled     bool          `json:"settled"`
	SettledAt   *time.Time    `json:"settled_at"`
	TxID        *int64        `json:"transaction_id"`
	BlockHash   string        `json:"block_hash"`
	Lines       []*Redemption `json:"lines,omitempty"`
}

// Yuan formats an amount in fen as yuan with two decimals.
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// ParsePeriod checks a settlement period: a month (2026-11) or a year
// (2026), and returns its local bounds [from, to).
func ParsePeriod(p string) (time.Time, time.Time, error) {
	p = strings.TrimSpace(p)
	if t, err := time.ParseInLocation("2006-01", p, Zone); err == nil && t.Year() >= 2000 && t.Year() <= 2100 {
		return t, t.AddDate(0, 1, 0), nil
	}
	if t, err := time.ParseInLocation("2006", p, Zone); err == nil && t.Year() >= 2000 && t.Year() <= 2100 {
		return t, t.AddDate(1, 0, 0), nil
	}
	return time.Time{}, time.Time{}, Invalid("period", "结算周期应为月份（如2026-11）或年份（如2026）", "A period is a month (2026-11) or a year (2026)")
}

// StoreService runs points supermarkets and partner merchants.
type StoreService interface {
	CreateStore(ctx context.Context, in StoreInput) (*Store, error)
	UpdateStore(ctx context.Context, id int64, in StoreInput) (*Store, error)
	Store(ctx context.Context, id int64) (*Store, error)
	// Stores lists the stores the actor may buy at (shop) or manage.
	Stores(ctx context.Context, manage bool) ([]*Store, error)
	AddClerk(ctx context.Context, storeID, personID int64) error
	RemoveClerk(ctx context.Context, storeID, personID int64) error
	Clerks(ctx context.Context, storeID int64) ([]*Person, error)
	// Roles tells what the actor may do at a store beyond buying: sell
	// (its clerks and the org admins over it) and manage (those admins).
	Roles(ctx context.Context, storeID int64) (sell, manage bool, err error)

	CreateItem(ctx context.Context, storeID int64, in ItemInput) (*Item, error)
	UpdateItem(ctx context.Context, itemID int64, in ItemInput) (*Item, error)
	Item(ctx context.Context, itemID int64) (*Item, error)
	ItemPhoto(ctx context.Context, itemID int64) ([]byte, error)
	Items(ctx context.Context, storeID int64) ([]*Item, error)
	// Restock adds to an item's stock; StockTake sets it to a counted
	// level. Both are recorded movements.
	Restock(ctx context.Context, itemID, quantity int64, note string) (*Item, error)
	StockTake(ctx context.Context, itemID, counted int64, reason string) (*Item, error)
	Movements(ctx context.Context, itemID int64, page int) ([]*Movement, int, error)

	// NewPaycode issues the actor a one-time pay code.
	NewPaycode(ctx context.Context) (*Paycode, error)
	Redeem(ctx context.Context, in RedemptionInput) (*Redemption, error)
	// Confirm is the resident agreeing on their phone to a counter sale
	// above the store's threshold.
	Confirm(ctx context.Context, id int64) (*Redemption, error)
	Fulfil(ctx context.Context, id int64, code string) (*Redemption, error)
	Cancel(ctx context.Context, id int64) (*Redemption, error)
	Refund(ctx context.Context, id int64, reason string) (*Redemption, error)
	Redemption(ctx context.Context, id int64) (*Redemption, error)
	Redemptions(ctx context.Context, f RedemptionFilter) ([]*Redemption, int, error)
	// ReleaseExpired releases pick-up orders past their time.
	ReleaseExpired(ctx context.Context) (int, error)

	Settlement(ctx context.Context, storeID int64, period string) (*Settlement, error)
	Settle(ctx context.Context, storeID int64, period string) (*Settlement, error)
}
