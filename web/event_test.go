package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/demo"
)

// TestServiceEvent is a scripted event of 300 volunteers through the API,
// on every database: the super admin registers them, each signs in, an
// activity for 250 is published and all sign up at once; 20 cancel and
// the first 20 on the waitlist move up in the order they joined; at the
// start everyone confirmed checks in with the screen's code at once; some
// leave and come back, some leave early, some forget to check out; the
// leader verifies; every one's hours are what they were there for, and
// the leader's attendance adds up to the records. -short runs 60.
func TestServiceEvent(t *testing.T) {
	t.Parallel()
	n, capacity, cancels := 300, 250, 20
	if testing.Short() {
		n, capacity, cancels = 60, 50, 5
	}
	const workers = 32
	eachServiceDB(t, func(t *testing.T, e *svcEnv) {
		start := time.Now()
		lap := func(what string) { t.Logf("%-28s %6s", what, time.Since(start).Round(time.Millisecond)) }
		team := e.org(t, "新窑村志愿服务队")
		super := e.token(t, superAdmin)
		leader := e.token(t, teamLeader)

		// The super admin registers everyone with a password; each signs in.
		people := make([]member, n)
		noErrors(t, "register", fanOut(n, workers, func(i int) error {
			p := member{name: fmt.Sprintf("活动志愿者%03d", i), phone: fmt.Sprintf("1530000%04d", i)}
			m, err := e.tryJSON("POST", "/api/v1/people", super, map[string]any{"name": p.name, "gender": []string{"male", "female"}[i%2],
				"birth_date": "1990-01-01", "phone": p.phone, "password": demo.Password, "org_id": team}, http.StatusCreated)
			if err != nil {
				return err
			}
			if p.id, err = m["id"].(json.Number).Int64(); err != nil {
				return err
			}
			s, err := e.tryJSON("POST", "/api/v1/sessions", "", map[string]string{"phone": p.phone, "password": demo.Password}, http.StatusCreated)
			if err != nil {
				return err
			}
			p.tok, _ = s["token"].(string)
			people[i] = p
			return nil
		}))
		byID := map[int64]member{}
		for _, p := range people {
			byID[p.id] = p
		}
		lap("registered and signed in")

		const startH, endH = 9, 12
		r := e.api(t, "POST", "/api/v1/projects", leader, map[string]any{"org_id": team, "name": "村容整治"})
		r.wantStatus(t, "project", http.StatusCreated)
		project := jsonInt(t, r.JSON(t), "id")
		act := e.published(t, leader, activityBody(team, "千人清扫", at(startH, 0), at(endH, 0), map[string]any{"capacity": capacity, "project_id": project}))
		path := func(rest string) string { return "/api/v1/activities/" + itoa(act) + rest }

		// Everyone signs up at once. The clock ticks, so the waitlist's
		// join order is the order of the sign-ups' times.
		e.clock.Tick(time.Millisecond)
		status := make([]string, n)
		noErrors(t, "sign up", fanOut(n, workers, func(i int) error {
			m, err := e.tryJSON("POST", path("/signups"), people[i].tok, nil, http.StatusCreated)
			if err != nil {
				return err
			}
			status[i], _ = m["status"].(string)
			return nil
		}))
		e.clock.Tick(0)
		count := map[string]int{}
		for _, s := range status {
			count[s]++
		}
		if count["confirmed"] != capacity || count["waitlisted"] != n-capacity {
			t.Fatalf("%d sign-ups for %d places: %v, want %d confirmed and %d waitlisted", n, capacity, count, capacity, n-capacity)
		}
		r = e.api(t, "GET", path(""), leader, nil)
		if m := r.JSON(t); jsonInt(t, m, "confirmed") != int64(capacity) || jsonInt(t, m, "waitlisted") != int64(n-capacity) {
			t.Fatalf("the activity counts %v confirmed and %v waitlisted", m["confirmed"], m["waitlisted"])
		}
		confirmed, waitlist := signups(t, e, leader, act)
		if len(confirmed) != capacity || len(waitlist) != n-capacity {
			t.Fatalf("the leader's list has %d confirmed and %d waitlisted", len(confirmed), len(waitlist))
		}
		for i, s := range status {
			if got := slices.Contains(confirmed, people[i].id); got != (s == "confirmed") {
				t.Errorf("%s was told %s, the list says confirmed=%v", people[i].name, s, got)
			}
		}
		lap("signed up")

		// cancels of the confirmed leave at once: the first on the waitlist move up.
		var leaving []int64
		for i := 0; i < cancels; i++ {
			leaving = append(leaving, confirmed[i*capacity/cancels])
		}
		noErrors(t, "cancel", fanOut(len(leaving), workers, func(i int) error {
			_, err := e.tryJSON("DELETE", path("/signups/"+itoa(leaving[i])), byID[leaving[i]].tok, nil, http.StatusNoContent)
			return err
		}))
		after, stillWaiting := signups(t, e, leader, act)
		want := slices.DeleteFunc(slices.Clone(confirmed), func(id int64) bool { return slices.Contains(leaving, id) })
		want = append(want, waitlist[:cancels]...)
		if !sameSet(after, want) {
			t.Errorf("after %d cancellations the confirmed are not the %d who stayed and the first %d on the waitlist", cancels, capacity-cancels, cancels)
		}
		if !slices.Equal(stillWaiting, waitlist[cancels:]) {
			t.Errorf("the waitlist after the promotions is not the rest in join order:\n got %v\nwant %v", stillWaiting, waitlist[cancels:])
		}
		confirmed = after
		slices.Sort(confirmed)
		lap("cancelled and promoted")

		// The event. Each confirmed person i follows plan[i%5]: in at the
		// start; then out and back, out early, forget, out at the end, or
		// out after the end (clipped to it).
		type step struct {
			at  time.Time
			dir string // checkins or checkouts
		}
		plans := [][]step{
			{{at(10, 0), "checkouts"}, {at(10, 30), "checkins"}, {at(endH, 0), "checkouts"}},
			{},
			{{at(11, 15), "checkouts"}},
			{{at(endH, 0), "checkouts"}},
			{{at(endH, 20), "checkouts"}},
		}
		wantMinutes := []int{60 + 90, 180, 135, 180, 180}
		moments := []time.Time{at(startH, 0)}
		for _, p := range plans {
			for _, s := range p {
				if !slices.ContainsFunc(moments, s.at.Equal) {
					moments = append(moments, s.at)
				}
			}
		}
		slices.SortFunc(moments, time.Time.Compare)
		for _, now := range moments {
			e.clock.Set(now)
			code := e.code(t, leader, act)
			var who []int
			var dirs []string
			for i := range confirmed {
				if now.Equal(at(startH, 0)) {
					who, dirs = append(who, i), append(dirs, "checkins")
					continue
				}
				for _, s := range plans[i%5] {
					if s.at.Equal(now) {
						who, dirs = append(who, i), append(dirs, s.dir)
					}
				}
			}
			noErrors(t, fmt.Sprintf("%d presence at %s", len(who), now.Format("15:04")), fanOut(len(who), workers, func(k int) error {
				_, err := e.tryJSON("POST", path("/"+dirs[k]), byID[confirmed[who[k]]].tok, map[string]any{"code": code}, http.StatusCreated)
				return err
			}))
			if now.Equal(at(startH, 0)) {
				// Someone still on the waitlist cannot slip in.
				if len(stillWaiting) > 0 {
					wantAPIError(t, "the waitlisted check in", e.api(t, "POST", path("/checkins"), byID[stillWaiting[0]].tok, map[string]any{"code": code}),
						http.StatusConflict, "waitlisted", "")
				}
				lap(fmt.Sprintf("%d checked in", len(who)))
			}
		}
		lap("the event")

		e.clock.Set(at(endH, 30))
		r = e.api(t, "POST", path("/verify"), leader, nil)
		r.wantStatus(t, "verify", http.StatusOK)
		if got := jsonInt(t, r.JSON(t), "records"); got != int64(len(confirmed)) {
			t.Errorf("verification wrote %d records, want one per person present: %d", got, len(confirmed))
		}
		lap("verified")

		// Every one's hours, as they read them themselves.
		expected := map[int64]int{}
		sum := 0
		for i, id := range confirmed {
			expected[id] = wantMinutes[i%5]
			sum += wantMinutes[i%5]
		}
		noErrors(t, "hours", fanOut(len(confirmed), workers, func(i int) error {
			id := confirmed[i]
			m, err := e.tryJSON("GET", "/api/v1/people/"+itoa(id)+"/hours", byID[id].tok, nil, http.StatusOK)
			if err != nil {
				return err
			}
			if got, _ := m["verified_minutes"].(json.Number).Int64(); int(got) != expected[id] {
				return fmt.Errorf("%s (plan %d) has %d minutes, want %d", byID[id].name, i%5, got, expected[id])
			}
			return nil
		}))
		for _, id := range leaving {
			if h := e.hours(t, byID[id].tok, id); jsonInt(t, h, "verified_minutes") != 0 {
				t.Errorf("%s cancelled and has hours: %v", byID[id].name, h)
			}
		}
		lap("hours")

		// The leader's attendance adds up to the records.
		r = e.api(t, "GET", path("/attendance"), leader, nil)
		r.wantStatus(t, "attendance", http.StatusOK)
		var atts struct {
			Items []jifen.Attendance `json:"items"`
			Total int                `json:"total"`
		}
		if err := json.Unmarshal([]byte(r.Body), &atts); err != nil {
			t.Fatal(err)
		}
		spans := map[int64][][2]time.Time{}
		auto := 0
		for _, a := range atts.Items {
			if a.EndedAt == nil {
				t.Fatalf("interval %d of %s is still open after verification", a.ID, a.Name)
			}
			if a.AutoClosed {
				auto++
			}
			spans[a.PersonID] = append(spans[a.PersonID], [2]time.Time{a.StartedAt, *a.EndedAt})
		}
		attended := 0
		for id, sp := range spans {
			m := jifen.Presence(sp, at(startH, 0), at(endH, 0))
			if m != expected[id] {
				t.Errorf("the attendance of %s comes to %d minutes, the plan to %d", byID[id].name, m, expected[id])
			}
			attended += m
		}
		forgot := 0
		for i := range confirmed {
			if len(plans[i%5]) == 0 {
				forgot++
			}
		}
		if auto != forgot {
			t.Errorf("%d intervals closed at the end for forgetting, want %d", auto, forgot)
		}
		if atts.Total != len(atts.Items) || len(spans) != len(confirmed) {
			t.Errorf("attendance: %d intervals (total %d) of %d people, want %d people", len(atts.Items), atts.Total, len(spans), len(confirmed))
		}
		var (
			mu      sync.Mutex
			records int64
		)
		noErrors(t, "records", fanOut(len(confirmed), workers, func(i int) error {
			m, err := e.tryJSON("GET", "/api/v1/people/"+itoa(confirmed[i])+"/service-records", leader, nil, http.StatusOK)
			if err != nil {
				return err
			}
			n, err := m["total"].(json.Number).Int64()
			mu.Lock()
			records += n
			mu.Unlock()
			return err
		}))
		r = e.api(t, "GET", "/api/v1/projects/"+itoa(project), leader, nil)
		r.wantStatus(t, "project", http.StatusOK)
		if m := r.JSON(t); jsonInt(t, m, "minutes") != int64(sum) || jsonInt(t, m, "people") != int64(len(confirmed)) {
			t.Errorf("the project counts %v minutes of %v people, the plan %d of %d", m["minutes"], m["people"], sum, len(confirmed))
		}
		if attended != sum {
			t.Errorf("the attendance adds up to %d minutes, the plan to %d", attended, sum)
		}
		if records != int64(len(confirmed)) {
			t.Errorf("%d service records for %d people", records, len(confirmed))
		}
		lap("totals")
	})
}

// signups returns the leader's list: the confirmed, and the waitlist in
// its order, which must be the order of joining.
func signups(t *testing.T, e *svcEnv, leader string, act int64) (confirmed, waitlist []int64) {
	t.Helper()
	r := e.api(t, "GET", "/api/v1/activities/"+itoa(act)+"/signups", leader, nil)
	r.wantStatus(t, "sign-ups", http.StatusOK)
	var l struct {
		Items []jifen.Signup `json:"items"`
		Total int            `json:"total"`
	}
	if err := json.Unmarshal([]byte(r.Body), &l); err != nil {
		t.Fatal(err)
	}
	if l.Total != len(l.Items) {
		t.Errorf("sign-ups: total %d, %d items", l.Total, len(l.Items))
	}
	var joined []time.Time
	for _, s := range l.Items {
		switch s.Status {
		case jifen.SignupConfirmed:
			if len(waitlist) > 0 {
				t.Errorf("%s is confirmed but listed after the waitlist began", s.Name)
			}
			confirmed = append(confirmed, s.PersonID)
		case jifen.SignupWaitlisted:
			waitlist = append(waitlist, s.PersonID)
			joined = append(joined, s.CreatedAt)
		default:
			t.Errorf("%s is listed as %s", s.Name, s.Status)
		}
	}
	if !slices.IsSortedFunc(joined, time.Time.Compare) || len(slices.CompactFunc(slices.Clone(joined), time.Time.Equal)) != len(joined) {
		t.Errorf("the waitlist is not listed in the order people joined it")
	}
	return confirmed, waitlist
}

func sameSet(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
