package jifen

import (
	"context"
	"regexp"
	"time"
)

// Reports answer a county's questions (hours and points by month and by
// org, top volunteers, star volunteers, sales by store) from roll-ups kept
// in the same transaction as every write, so they are exact at once and
// cost the same at 10 million records as at ten.

// ReportFilter picks an org's subtree and a range of months.
type ReportFilter struct {
	OrgID int64
	// From and To are months, "2026-01"; both included. Empty To is this
	// month; empty From is twelve months before To.
	From, To string
}

var monthRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// Normalize fills the default months and checks them.
func (f *ReportFilter) Normalize(now time.Time) error {
	if f.To == "" {
		f.To = now.In(Zone).Format("2006-01")
	}
	if !monthRE.MatchString(f.To) {
		return Invalid("to", "月份格式应为 2026-01", "Months are written 2026-01")
	}
	to, _ := time.ParseInLocation("2006-01", f.To, Zone)
	if f.From == "" {
		f.From = to.AddDate(0, -11, 0).Format("2006-01")
	}
	if !monthRE.MatchString(f.From) {
		return Invalid("from", "月份格式应为 2026-01", "Months are written 2026-01")
	}
	from, _ := time.ParseInLocation("2006-01", f.From, Zone)
	if from.After(to) {
		return Invalid("from", "起始月份不能晚于结束月份", "The first month cannot come after the last")
	}
	if from.AddDate(5, 0, 0).Before(to) {
		return Invalid("from", "一次最多查看五年", "At most five years at a time")
	}
	return nil
}

// Months lists the months of the filter in order.
func (f *ReportFilter) Months() []string {
	from, _ := time.ParseInLocation("2006-01", f.From, Zone)
	to, _ := time.ParseInLocation("2006-01", f.To, Zone)
	var out []string
	for m := from; !m.After(to); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// Tally is what a report counts for a month or an org.
type Tally struct {
	// Minutes of verified service and the records that hold them
	// (corrections change the minutes, not the count).
	Minutes int64 `json:"minutes"`
	Records int64 `json:"records"`
	// Points awarded (service hours included), deducted and spent in
	// stores, net of reversals, cancellations and refunds.
	Awarded  int64 `json:"points_awarded"`
	Deducted int64 `json:"points_deducted"`
	Redeemed int64 `json:"points_redeemed"`
}

// Add adds another tally.
func (t *Tally) Add(o Tally) {
	t.Minutes += o.Minutes
	t.Records += o.Records
	t.Awarded += o.Awarded
	t.Deducted += o.Deducted
	t.Redeemed += o.Redeemed
}

// MonthTally is a month of a subtree.
type MonthTally struct {
	Month string `json:"month"`
	Tally
}

// OrgTally is one child org's subtree over the filter's months.
type OrgTally struct {
	OrgID int64  `json:"org_id"`
	Name  string `json:"name"`
	Tally
}

// MonthlyReport is a subtree's months and its children's totals.
type MonthlyReport struct {
	Org      *Org         `json:"org"`
	From     string       `json:"from"`
	To       string       `json:"to"`
	Months   []MonthTally `json:"months"`
	Children []OrgTally   `json:"children"`
	Total    Tally        `json:"total"`
}

// TopVolunteer is a volunteer ranked by verified hours.
type TopVolunteer struct {
	PersonID    int64  `json:"person_id"`
	Name        string `json:"name"`
	VolunteerNo string `json:"volunteer_no"`
	OrgID       int64  `json:"org_id"`
	OrgName     string `json:"org_name"`
	Minutes     int64  `json:"minutes"`
	Star        int    `json:"star"`
}

// StarCount is how many volunteers of a subtree hold a star level.
type StarCount struct {
	Star   int   `json:"star"`
	People int64 `json:"people"`
}

// StoreSales is one store's sales over the filter's months and its stock now.
type StoreSales struct {
	StoreID   int64  `json:"store_id"`
	Name      string `json:"name"`
	OrgID     int64  `json:"org_id"`
	Sales     int64  `json:"sales"`
	Points    int64  `json:"points"`
	Refunded  int64  `json:"points_refunded"`
	Items     int64  `json:"items"`
	Stock     int64  `json:"stock"`
	LowStock  int64  `json:"low_stock"`
	Unlimited int64  `json:"unlimited"`
}

// ReportService reads the roll-ups. Staff of an org (admins, reviewers)
// see its subtree; everyone else gets not_found.
type ReportService interface {
	Monthly(ctx context.Context, f ReportFilter) (*MonthlyReport, error)
	TopVolunteers(ctx context.Context, orgID int64, n int) ([]TopVolunteer, error)
	Stars(ctx context.Context, orgID int64) ([]StarCount, error)
	StoreSales(ctx context.Context, f ReportFilter) ([]StoreSales, error)
}
