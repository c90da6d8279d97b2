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
