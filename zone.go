package jifen

import (
	"time"
	_ "time/tzdata" // the zone database travels in the binary: minimal hosts lack it
)

// Zone is where times are shown to people and written in the API unless an
// org says otherwise: China keeps one time zone.
var Zone = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// DaysAfter is the end of a period of n days begun at from, as the Civil
// Code counts one (arts. 201 and 203): the day of from does not count, and
// the last day runs to 24:00, China time. Posted at 00:30 on 2 June, seven
// days to appeal last until the end of 9 June, as "可在7天内申诉" is read.
// n <= 0 is no period: from itself. The instant is given in UTC, as the
// databases keep times (SQLite compares them as text).
func DaysAfter(from time.Time, n int) time.Time {
	if n <= 0 {
		return from
	}
	l := from.In(Zone)
	return time.Date(l.Year(), l.Month(), l.Day()+n+1, 0, 0, 0, 0, Zone).UTC()
}
