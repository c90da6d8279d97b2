package jifen

import (
	"context"
	"strconv"
	"time"
)

// ServiceRecord is a final, verified record of service (志愿服务记录). Records
// are never edited: a correction is a new record with a reason whose
// minutes (positive or negative) adjust the total.
type ServiceRecord struct {
	ID          int64     `json:"id"`
	PersonID    int64     `json:"person_id"`
	PersonName  string    `json:"person_name,omitempty"`
	VolunteerNo string    `json:"volunteer_no,omitempty"`
	OrgID       int64     `json:"org_id"`
	OrgName     string    `json:"org_name,omitempty"`
	ActivityID  *int64    `json:"activity_id"`
	Content     string    `json:"content"`
	Place       string    `json:"place"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
	Minutes     int       `json:"minutes"`
	// How is "self" (checked in and out on site: 信用时长) or "backfilled"
	// (entered by an organiser afterwards: 荣誉时长), or "correction".
	How        string    `json:"how"`
	RecordedBy *int64    `json:"recorded_by"`
	VerifiedBy int64     `json:"verified_by"`
	VerifiedAt time.Time `json:"verified_at"`
	Corrects   *int64    `json:"corrects_id"`
	Reason     string    `json:"reason,omitempty"`
}

// How a record came about.
const (
	HowSelf       = "self"
	HowScan       = "scan"
	HowBackfilled = "backfilled"
	HowCorrection = "correction"
)

// StarHours are the star thresholds in verified hours (星级志愿者).
var StarHours = [5]int{100, 300, 600, 1000, 1500}

// Stars returns the star level (0-5) for verified minutes.
func Stars(minutes int) int {
	n := 0
	for _, h := range StarHours {
		if minutes >= h*60 {
			n++
		}
	}
	return n
}

// NextStar returns the hours needed for the next star, 0 at five stars.
func NextStar(minutes int) int {
	for _, h := range StarHours {
		if minutes < h*60 {
			return h
		}
	}
	return 0
}

// HoursText shows minutes as hours to one decimal, rounded half up
// (四舍五入), the way certificates print them: 75 minutes is "1.3".
func HoursText(minutes int) string {
	sign := ""
	if minutes < 0 {
		sign, minutes = "-", -minutes
	}
	tenths := (minutes*10 + 30) / 60
	return sign + strconv.Itoa(tenths/10) + "." + strconv.Itoa(tenths%10)
}

// Hours is a person's verified time.
type Hours struct {
	PersonID        int64 `json:"person_id"`
	VerifiedMinutes int   `json:"verified_minutes"`
	SelfMinutes     int   `json:"self_minutes"`
	BackfillMinutes int   `json:"backfilled_minutes"`
	Stars           int   `json:"stars"`
	NextStarHours   int   `json:"next_star_hours"`
	Records         int   `json:"records"`
}

// CorrectionRequest is a volunteer asking for a wrong record to be fixed.
type CorrectionRequest struct {
	ID         int64      `json:"id"`
	RecordID   int64      `json:"record_id"`
	PersonID   int64      `json:"person_id"`
	PersonName string     `json:"person_name,omitempty"`
	Content    string     `json:"content,omitempty"`
	Minutes    int        `json:"minutes"` // the record's current minutes
	Wanted     int        `json:"wanted_minutes"`
	Reason     string     `json:"reason"`
	Status     string     `json:"status"` // pending, accepted, rejected
	Answer     string     `json:"answer,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	DecidedAt  *time.Time `json:"decided_at"`
}

// RecordFilter selects service records for lists and exports.
type RecordFilter struct {
	PersonID int64
	OrgID    int64 // records of activities in this org's subtree
	From, To time.Time
	Page     int
	PerPage  int
}

// RecordService reads and corrects service records.
type RecordService interface {
	Records(ctx context.Context, f RecordFilter) ([]*ServiceRecord, int, error)
	// EachRecord streams records for an export without holding them all.
	EachRecord(ctx context.Context, f RecordFilter, fn func(*ServiceRecord) error) error
	Hours(ctx context.Context, personID int64) (*Hours, error)
	// RequestCorrection asks for one of the actor's own records to be fixed.
	RequestCorrection(ctx context.Context, recordID int64, wantedMinutes int, reason string) (*CorrectionRequest, error)
	CorrectionRequests(ctx context.Context, orgID int64) ([]*CorrectionRequest, error)
	// AnswerCorrection accepts (writing a correction record) or rejects.
	AnswerCorrection(ctx context.Context, requestID int64, accept bool, answer string) error
	// Correct writes a correction record directly (an organiser's fix).
	Correct(ctx context.Context, recordID int64, minutes int, reason string) (*ServiceRecord, error)
}
