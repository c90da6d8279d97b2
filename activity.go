package jifen

import (
	"context"
	"math"
	"time"
	"unicode/utf8"
)

// Project is a named volunteer-service project (志愿服务项目, e.g. 关爱同行)
// that groups an org's activities under its goals.
type Project struct {
	ID          int64     `json:"id"`
	OrgID       int64     `json:"org_id"`
	OrgName     string    `json:"org_name,omitempty"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	// Totals over the project's activities, computed when read.
	Activities int `json:"activities"`
	People     int `json:"people"`
	Minutes    int `json:"minutes"`
}

// ProjectInput creates a project.
type ProjectInput struct {
	OrgID       int64  `json:"org_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Validate checks a project.
func (in *ProjectInput) Validate() error {
	in.Name, in.Description = CleanText(in.Name), CleanText(in.Description)
	if err := CheckName("name", in.Name, 60); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Description) > 2000 {
		return Invalid("description", "简介不能超过2000字", "The description must be at most 2000 characters")
	}
	if in.OrgID <= 0 {
		return Invalid("org_id", "请选择组织", "Choose an organisation")
	}
	return nil
}

// ActivityStatus is where an activity is in its life.
type ActivityStatus string

// An activity goes draft → published → finished → verified, or is
// cancelled with a reason. "finished" is not stored: a published activity
// whose end has passed reads as finished.
const (
	ActivityDraft     ActivityStatus = "draft"
	ActivityPublished ActivityStatus = "published"
	ActivityFinished  ActivityStatus = "finished"
	ActivityVerified  ActivityStatus = "verified"
	ActivityCancelled ActivityStatus = "cancelled"
)

var activityStatusZh = map[ActivityStatus]string{
	ActivityDraft: "草稿", ActivityPublished: "报名中", ActivityFinished: "已结束待核验",
	ActivityVerified: "已核验", ActivityCancelled: "已取消",
}

// Zh is the Chinese name of the status.
func (s ActivityStatus) Zh() string { return activityStatusZh[s] }

// En is the status in English.
func (s ActivityStatus) En() string { return english(activityStatusEn[s], string(s)) }

var activityStatusEn = map[ActivityStatus]string{
	ActivityDraft: "Draft", ActivityPublished: "Open for sign-up", ActivityFinished: "Ended, to be verified",
	ActivityVerified: "Verified", ActivityCancelled: "Cancelled",
}

// ActivityCategories are the common kinds of activity; others are allowed.
var ActivityCategories = []string{"学雷锋", "无偿献血", "环境整治", "文明交通", "关爱老人", "关爱儿童", "助残帮困", "社区服务", "文化宣传", "应急救援", "移风易俗", "其他"}

// Location is where an activity happens; a radius makes check-in check
// the phone's position.
type Location struct {
	Address string   `json:"address"`
	Lat     *float64 `json:"lat"`
	Lon     *float64 `json:"lon"`
	RadiusM int      `json:"radius_m"`
}

// Activity is one volunteer-service activity (志愿服务活动).
type Activity struct {
	ID             int64          `json:"id"`
	OrgID          int64          `json:"org_id"`
	OrgName        string         `json:"org_name,omitempty"`
	OrgPath        string         `json:"-"`
	ProjectID      *int64         `json:"project_id"`
	ProjectName    string         `json:"project_name,omitempty"`
	Title          string         `json:"title"`
	Description    string         `json:"description"`
	Category       string         `json:"category"`
	Location       Location       `json:"location"`
	StartsAt       time.Time      `json:"starts_at"`
	EndsAt         time.Time      `json:"ends_at"`
	Capacity       int            `json:"capacity"`
	SignupDeadline *time.Time     `json:"signup_deadline"`
	MinAge         int            `json:"min_age"`
	Skills         []string       `json:"required_skills"`
	PointsPerHour  int64          `json:"points_per_hour"`
	Status         ActivityStatus `json:"status"`
	CancelReason   string         `json:"cancel_reason,omitempty"`
	Confirmed      int            `json:"confirmed"`
	Waitlisted     int            `json:"waitlisted"`
	CreatedAt      time.Time      `json:"created_at"`
	VerifiedAt     *time.Time     `json:"verified_at"`
}

// EffectiveStatus shows a published activity whose end has passed as finished.
func (a *Activity) EffectiveStatus(now time.Time) ActivityStatus {
	if a.Status == ActivityPublished && !now.Before(a.EndsAt) {
		return ActivityFinished
	}
	return a.Status
}

// ActivityInput creates or edits an activity. Field names are the API's.
type ActivityInput struct {
	OrgID          int64      `json:"org_id"`
	ProjectID      *int64     `json:"project_id"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	Category       string     `json:"category"`
	StartsAt       time.Time  `json:"starts_at"`
	EndsAt         time.Time  `json:"ends_at"`
	Capacity       int        `json:"capacity"`
	SignupDeadline *time.Time `json:"signup_deadline"`
	MinAge         int        `json:"min_age"`
	Skills         []string   `json:"required_skills"`
	PointsPerHour  int64      `json:"points_per_hour"`
	Location       Location   `json:"location"`
}

// MaxActivityLength bounds one activity; longer work is several activities.
const MaxActivityLength = 7 * 24 * time.Hour

// Validate checks an activity's values.
func (in *ActivityInput) Validate() error {
	in.Title, in.Description, in.Category = CleanText(in.Title), CleanText(in.Description), CleanText(in.Category)
	in.Location.Address = CleanText(in.Location.Address)
	if err := CheckName("title", in.Title, 60); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Description) > 5000 {
		return Invalid("description", "活动内容不能超过5000字", "The description must be at most 5000 characters")
	}
	if in.Category == "" {
		in.Category = "其他"
	}
	if utf8.RuneCountInString(in.Category) > 20 {
		return Invalid("category", "类别不能超过20个字", "The category must be at most 20 characters")
	}
	if in.OrgID <= 0 {
		return Invalid("org_id", "请选择组织", "Choose an organisation")
	}
	if in.StartsAt.IsZero() || in.EndsAt.IsZero() {
		return Invalid("starts_at", "请填写开始和结束时间", "Give a start and an end time")
	}
	if !in.EndsAt.After(in.StartsAt) {
		return Invalid("ends_at", "结束时间必须晚于开始时间", "The end must be after the start")
	}
	if in.EndsAt.Sub(in.StartsAt) > MaxActivityLength {
		return Invalid("ends_at", "单次活动不能超过7天", "One activity may last at most 7 days")
	}
	if in.StartsAt.Year() < 2000 || in.StartsAt.Year() > 2100 {
		return Invalid("starts_at", "开始时间不合理", "The start time is not plausible")
	}
	if in.SignupDeadline != nil && in.SignupDeadline.After(in.EndsAt) {
		return Invalid("signup_deadline", "报名截止时间不能晚于活动结束", "The sign-up deadline must not be after the end")
	}
	if in.Capacity < 0 || in.Capacity > 100000 {
		return Invalid("capacity", "人数上限应在0到100000之间（0为不限）", "Capacity must be 0 (no limit) to 100000")
	}
	if in.MinAge < 0 || in.MinAge > 100 {
		return Invalid("min_age", "最低年龄应在0到100之间", "Minimum age must be 0 to 100")
	}
	if in.PointsPerHour < 0 || in.PointsPerHour > 1000 {
		return Invalid("points_per_hour", "每小时积分应在0到1000之间", "Points per hour must be 0 to 1000")
	}
	l := &in.Location
	if utf8.RuneCountInString(l.Address) > 200 {
		return Invalid("location.address", "地址不能超过200个字", "The address must be at most 200 characters")
	}
	if (l.Lat == nil) != (l.Lon == nil) {
		return Invalid("location.lat", "经纬度需同时填写", "Give both latitude and longitude")
	}
	if l.Lat != nil && (math.IsNaN(*l.Lat) || *l.Lat < -90 || *l.Lat > 90 || math.IsNaN(*l.Lon) || *l.Lon < -180 || *l.Lon > 180) {
		return Invalid("location.lat", "经纬度不正确", "Latitude or longitude is out of range")
	}
	if l.RadiusM < 0 || l.RadiusM > 50000 {
		return Invalid("location.radius_m", "签到范围应在0到50000米之间", "The check-in radius must be 0 to 50000 m")
	}
	if l.RadiusM > 0 && l.Lat == nil {
		return Invalid("location.radius_m", "设置签到范围需要填写活动地点的经纬度", "A check-in radius needs the activity's latitude and longitude")
	}
	var skills []string
	for _, s := range in.Skills {
		if s = CleanText(s); s != "" {
			skills = append(skills, s)
		}
	}
	if len(skills) > 10 {
		return Invalid("required_skills", "所需技能最多10项", "At most 10 required skills")
	}
	in.Skills = skills
	return nil
}

// SignupStatus is a place on an activity.
type SignupStatus string

// The sign-up statuses.
const (
	SignupConfirmed  SignupStatus = "confirmed"
	SignupWaitlisted SignupStatus = "waitlisted"
	SignupCancelled  SignupStatus = "cancelled"
)

// Signup is a person's place on an activity.
type Signup struct {
	ActivityID  int64        `json:"activity_id"`
	PersonID    int64        `json:"person_id"`
	Name        string       `json:"name,omitempty"`
	VolunteerNo string       `json:"volunteer_no,omitempty"`
	Status      SignupStatus `json:"status"`
	CreatedAt   time.Time    `json:"created_at"`
	Activity    *Activity    `json:"activity,omitempty"`
}

// Attendance is one interval of presence at an activity: a volunteer may
// leave and come back, so presence is a set of these.
type Attendance struct {
	ID         int64      `json:"id"`
	ActivityID int64      `json:"activity_id"`
	PersonID   int64      `json:"person_id"`
	Name       string     `json:"name,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	EndedAt    *time.Time `json:"ended_at"`
	// How: "self" (checked in on site), "scan" (the leader scanned the
	// person's code), "backfilled" (entered afterwards with a reason).
	How        string `json:"how"`
	AutoClosed bool   `json:"auto_closed"`
	Reason     string `json:"reason,omitempty"`
}

// Presence is the union of intervals clipped to [from, to], in minutes:
// overlapping intervals count once and time outside the activity (travel,
// waiting) never counts.
func Presence(intervals [][2]time.Time, from, to time.Time) int {
	type iv struct{ s, e time.Time }
	var list []iv
	for _, x := range intervals {
		s, e := x[0], x[1]
		if s.Before(from) {
			s = from
		}
		if e.After(to) {
			e = to
		}
		if e.After(s) {
			list = append(list, iv{s, e})
		}
	}
	// insertion sort: a person has a handful of intervals
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].s.Before(list[j-1].s); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	var total time.Duration
	var cur iv
	for i, x := range list {
		if i == 0 {
			cur = x
			continue
		}
		if !x.s.After(cur.e) {
			if x.e.After(cur.e) {
				cur.e = x.e
			}
			continue
		}
		total += cur.e.Sub(cur.s)
		cur = x
	}
	if len(list) > 0 {
		total += cur.e.Sub(cur.s)
	}
	return int(total / time.Minute)
}

// DistanceM is the great-circle distance in metres between two points.
func DistanceM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371000.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// ActivityFilter selects activities for a list.
type ActivityFilter struct {
	OrgID    int64
	Category string
	From, To time.Time // activities overlapping this window; zero: no bound
	Near     *[2]float64
	MySkills bool
	Status   ActivityStatus
	Mine     bool // only activities the actor signed up for
	Page     int
	PerPage  int
}

// ActivityService runs activities, sign-ups and attendance.
type ActivityService interface {
	CreateProject(ctx context.Context, in ProjectInput) (*Project, error)
	Project(ctx context.Context, id int64) (*Project, error)
	Projects(ctx context.Context, orgID int64) ([]*Project, error)

	CreateActivity(ctx context.Context, in ActivityInput) (*Activity, error)
	UpdateActivity(ctx context.Context, id int64, in ActivityInput) (*Activity, error)
	Activity(ctx context.Context, id int64) (*Activity, error)
	Activities(ctx context.Context, f ActivityFilter) ([]*Activity, int, error)
	Publish(ctx context.Context, id int64) error
	Cancel(ctx context.Context, id int64, reason string) error

	// SignUp puts a person on an activity (themselves, or a leader adding
	// someone) and answers confirmed or waitlisted.
	SignUp(ctx context.Context, activityID, personID int64) (SignupStatus, error)
	// CancelSignup frees a place; the first on the waitlist moves up.
	CancelSignup(ctx context.Context, activityID, personID int64) error
	Signups(ctx context.Context, activityID int64) ([]*Signup, error)
	MySignups(ctx context.Context) ([]*Signup, error)

	// CheckinCode is the rotating code for the leader's screen.
	CheckinCode(ctx context.Context, activityID int64) (code string, expires time.Time, err error)
	// CheckIn and CheckOut record the actor's own presence with a code
	// from the screen and, when the activity has a radius, their position.
	CheckIn(ctx context.Context, activityID int64, code string, lat, lon *float64) (*Attendance, error)
	CheckOut(ctx context.Context, activityID int64, code string, lat, lon *float64) (*Attendance, error)
	// ScanIn and ScanOut are the leader scanning a volunteer's own QR or card.
	ScanIn(ctx context.Context, activityID int64, volunteerNo string) (*Attendance, error)
	ScanOut(ctx context.Context, activityID int64, volunteerNo string) (*Attendance, error)
	// Backfill records presence entered afterwards, with a reason.
	Backfill(ctx context.Context, activityID, personID int64, start, end time.Time, reason string) (*Attendance, error)
	// TrimAttendance lets the leader correct an interval before verifying.
	TrimAttendance(ctx context.Context, attendanceID int64, start, end time.Time) error
	Attendance(ctx context.Context, activityID int64) ([]*Attendance, error)
	// Verify turns attendance into final service records.
	Verify(ctx context.Context, activityID int64) (int, error)
}
