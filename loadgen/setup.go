package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// State is what setup made through the API, kept in --state so the next
// run can skip it: the accounts with their bearer tokens and the ids of
// the village, its rules, stores, items and activities.
type State struct {
	URL         string          `json:"url"`
	Params      SetupParams     `json:"params"`
	VillageID   int64           `json:"village_id"`
	Admin       Account         `json:"admin"`
	Residents   []Account       `json:"residents"`
	Clerks      []Account       `json:"clerks"`
	AwardRule   int64           `json:"award_rule_id"`
	DeductRule  int64           `json:"deduct_rule_id"`
	OpeningRule int64           `json:"opening_rule_id"`
	Stores      []StoreState    `json:"stores"`
	Popular     ItemRef         `json:"popular"`
	Activities  []ActivityState `json:"activities"`
	CreatedAt   time.Time       `json:"created_at"`
}

// SetupParams are the sizes a state was made for; a run asking for other
// sizes sets up afresh.
type SetupParams struct {
	People     int `json:"people"`
	Clerks     int `json:"clerks"`
	Stores     int `json:"stores"`
	Activities int `json:"activities"`
}

// Account is a signed-in person.
type Account struct {
	ID    int64  `json:"id"`
	Phone string `json:"phone"`
	Token string `json:"token"`
}

// StoreState is a bench store and its everyday items (unlimited demand,
// stock large enough never to run out).
type StoreState struct {
	ID    int64   `json:"id"`
	Items []int64 `json:"items"`
}

// ItemRef names an item of a store.
type ItemRef struct {
	StoreID int64 `json:"store_id"`
	ItemID  int64 `json:"item_id"`
}

// ActivityState is a published activity the residents signed up for.
type ActivityState struct {
	ID     int64     `json:"id"`
	EndsAt time.Time `json:"ends_at"`
}

// benchPassword is every bench account's password: only its hash is kept.
const benchPassword = "jifen-bench-2026"

// everyday is the stock of the items that must never run out; it is the
// largest stock an item may have, reset before every run.
const everyday = 1_000_000

// openingQuantity × the opening rule's 100 points: enough for 100,000
// one-point sales per buyer.
const openingQuantity = 1000

// itemsPerStore everyday items in each bench store.
const itemsPerStore = 2

// activityLength keeps activities inside the 7-day limit; a state whose
// activities end too soon gets new ones.
const activityLength = 7*24*time.Hour - time.Hour

func loadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("loadgen: state file %s: %w", path, err)
	}
	return &st, nil
}

func saveState(path string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	// Bearer tokens are inside: readable by the owner only.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// prepare returns the state to run on: the one in cfg.State when it fits
// this server and these sizes and its tokens still work, else a fresh
// setup. Either way the activities are made to run past the bench and the
// stock is reset, so every run starts alike.
func prepare(ctx context.Context, c *client, cfg *Config) (*State, bool, error) {
	var st *State
	why := "--setup"
	if !cfg.Setup && cfg.State != "" {
		old, err := loadState(cfg.State)
		switch {
		case errors.Is(err, os.ErrNotExist):
			why = "no state file yet"
		case err != nil:
			return nil, false, err
		case old.URL != c.base:
			why = "the state is for " + old.URL
		case old.Params != cfg.params():
			why = "the state was made for other sizes"
		case old.DeductRule == 0:
			why = "the state has no deduction rule (made by an older jifen bench)"
		default:
			if err := c.call(ctx, "GET", "/api/v1/me", old.Admin.Token, "", nil, nil); err != nil {
				why = "the state's tokens no longer work (" + err.Error() + ")"
			} else {
				st = old
			}
		}
	} else if !cfg.Setup {
		why = "no --state file"
	}
	fresh := st == nil
	if fresh {
		cfg.logf("setup (%s): %d residents, %d clerks, %d stores, %d activities", why, cfg.People, cfg.Clerks, cfg.Stores, cfg.Activities)
		var err error
		if st, err = setup(ctx, c, cfg); err != nil {
			return nil, false, err
		}
	}
	changed := fresh
	for _, a := range st.Activities {
		if time.Until(a.EndsAt) < cfg.Duration+15*time.Minute {
			cfg.logf("setup: the activities end soon; new ones")
			if err := setupActivities(ctx, c, cfg, st); err != nil {
				return nil, false, err
			}
			changed = true
			break
		}
	}
	if changed && cfg.State != "" {
		if err := saveState(cfg.State, st); err != nil {
			return nil, false, err
		}
	}
	if err := restock(ctx, c, cfg, st); err != nil {
		return nil, false, err
	}
	return st, fresh, nil
}

// setup makes, through the API as the super admin, a village of its own
// (so the demo's caps and budgets do not apply), its points settings and
// three rules without caps or review (an award, the opening points, a
// deduction), residents and clerks with passwords, their tokens, stores
// with items and one popular item, opening points, and running activities
// every resident signed up for.
func setup(ctx context.Context, c *client, cfg *Config) (*State, error) {
	start := time.Now()
	st := &State{URL: c.base, Params: cfg.params(), CreatedAt: start.UTC()}
	var sess struct {
		Token string `json:"token"`
	}
	if err := c.call(ctx, "POST", "/api/v1/sessions", "", "", map[string]string{"phone": cfg.AdminPhone, "password": cfg.AdminPassword}, &sess); err != nil {
		return nil, fmt.Errorf("loadgen: signing in as %s (a super admin; the demo's is 13900000000): %w", cfg.AdminPhone, err)
	}
	admin := sess.Token
	var me struct {
		ID     int64  `json:"id"`
		Phone  string `json:"phone"`
		Grants []struct {
			Role  string `json:"role"`
			OrgID int64  `json:"org_id"`
		} `json:"grants"`
	}
	if err := c.call(ctx, "GET", "/api/v1/me", admin, "", nil, &me); err != nil {
		return nil, err
	}
	st.Admin = Account{ID: me.ID, Phone: me.Phone, Token: admin}
	var root int64
	for _, g := range me.Grants {
		if g.Role == "super_admin" {
			root = g.OrgID
			break
		}
	}
	if root == 0 {
		return nil, fmt.Errorf("loadgen: %s is not a super admin; setup needs one", cfg.AdminPhone)
	}
	tag := make([]byte, 3)
	rand.Read(tag)
	var id struct {
		ID int64 `json:"id"`
	}
	if err := c.call(ctx, "POST", "/api/v1/orgs", admin, "", map[string]any{"name": "压测村" + hex.EncodeToString(tag), "kind": "village", "parent_id": root}, &id); err != nil {
		return nil, err
	}
	st.VillageID = id.ID
	v := itoa(st.VillageID)
	if err := c.call(ctx, "PUT", "/api/v1/orgs/"+v+"/points-settings", admin, "", map[string]any{"points_to": "person", "daily_cap": 0, "yearly_budget": 0,
		"mask_names": true, "public_days": 7, "appeal_days": 7, "expiry": "never"}, nil); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		code, name string
		points     int
		to         *int64
	}{{"bench.award", "压测奖励", 1, &st.AwardRule}, {"bench.opening", "压测开户积分", 100, &st.OpeningRule}, {"bench.deduct", "压测扣分", -1, &st.DeductRule}} {
		if err := c.call(ctx, "POST", "/api/v1/orgs/"+v+"/rules", admin, "", map[string]any{"code": r.code, "name": r.name, "category": "other",
			"points": r.points, "unit": "per_event"}, &id); err != nil {
			return nil, err
		}
		*r.to = id.ID
	}

	// People: passwords cost the server an argon2 hash each, to create
	// and again to sign in, so a few at a time keep both cores busy.
	n := cfg.People + cfg.Clerks
	if n > 9999 {
		return nil, errors.New("loadgen: at most 9,999 residents and clerks")
	}
	people := make([]Account, n)
	err := parallel(ctx, n, 4, func(i int) error {
		// Phones are unique: 166, the village id, the person's number.
		phone := fmt.Sprintf("166%04d%04d", st.VillageID%10000, i)
		name := fmt.Sprintf("压测居民%04d", i)
		if i >= cfg.People {
			name = fmt.Sprintf("压测店员%02d", i-cfg.People)
		}
		var p struct {
			ID int64 `json:"id"`
		}
		if err := c.call(ctx, "POST", "/api/v1/people", admin, "", map[string]any{"name": name, "gender": []string{"male", "female"}[i%2],
			"birth_date": "1980-01-01", "phone": phone, "password": benchPassword, "org_id": st.VillageID}, &p); err != nil {
			return err
		}
		var s struct {
			Token string `json:"token"`
		}
		if err := c.call(ctx, "POST", "/api/v1/sessions", "", "", map[string]string{"phone": phone, "password": benchPassword}, &s); err != nil {
			return err
		}
		people[i] = Account{ID: p.ID, Phone: phone, Token: s.Token}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.Residents, st.Clerks = people[:cfg.People], people[cfg.People:]
	cfg.logf("setup: %d people created and signed in (%.1f s)", n, time.Since(start).Seconds())

	item := func(store int64, name string, stock int64) (int64, error) {
		err := c.call(ctx, "POST", "/api/v1/stores/"+itoa(store)+"/items", admin, "", map[string]any{"name": name, "points": 1, "stock": stock}, &id)
		return id.ID, err
	}
	for s := range cfg.Stores {
		if err := c.call(ctx, "POST", "/api/v1/stores", admin, "", map[string]any{"org_id": st.VillageID, "name": fmt.Sprintf("压测超市%d", s+1),
			"kind": "supermarket"}, &id); err != nil {
			return nil, err
		}
		ss := StoreState{ID: id.ID}
		for k := range itemsPerStore {
			it, err := item(ss.ID, fmt.Sprintf("日用品%c", 'A'+k), everyday)
			if err != nil {
				return nil, err
			}
			ss.Items = append(ss.Items, it)
		}
		// Every clerk serves at every store, so a client's clerk can ring
		// up any item, the popular one included.
		for _, k := range st.Clerks {
			if err := c.call(ctx, "POST", "/api/v1/stores/"+itoa(ss.ID)+"/clerks", admin, "", map[string]any{"person_id": k.ID}, nil); err != nil {
				return nil, err
			}
		}
		st.Stores = append(st.Stores, ss)
	}
	pop, err := item(st.Stores[0].ID, "爆款保温杯", cfg.PopularStock)
	if err != nil {
		return nil, err
	}
	st.Popular = ItemRef{StoreID: st.Stores[0].ID, ItemID: pop}

	err = parallel(ctx, cfg.People, 4, func(i int) error {
		return c.call(ctx, "POST", "/api/v1/awards", admin, fmt.Sprintf("bench-opening-%d-%d", st.VillageID, i),
			map[string]any{"person_id": st.Residents[i].ID, "rule_id": st.OpeningRule, "quantity": openingQuantity, "note": "压测开户"}, nil)
	})
	if err != nil {
		return nil, err
	}
	if err := setupActivities(ctx, c, cfg, st); err != nil {
		return nil, err
	}
	cfg.logf("setup: done in %.1f s", time.Since(start).Seconds())
	return st, nil
}

// setupActivities publishes activities running from a little before now
// for almost a week, and signs each resident up for one of them.
func setupActivities(ctx context.Context, c *client, cfg *Config, st *State) error {
	admin := st.Admin.Token
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	end := start.Add(activityLength)
	st.Activities = st.Activities[:0]
	for a := range cfg.Activities {
		var act struct {
			ID int64 `json:"id"`
		}
		if err := c.call(ctx, "POST", "/api/v1/activities", admin, "", map[string]any{"org_id": st.VillageID, "title": fmt.Sprintf("压测志愿服务活动%d", a+1),
			"starts_at": start.Format(time.RFC3339), "ends_at": end.Format(time.RFC3339), "capacity": 0}, &act); err != nil {
			return err
		}
		if err := c.call(ctx, "POST", "/api/v1/activities/"+itoa(act.ID)+"/publish", admin, "", nil, nil); err != nil {
			return err
		}
		st.Activities = append(st.Activities, ActivityState{ID: act.ID, EndsAt: end})
	}
	return parallel(ctx, len(st.Residents), 4, func(i int) error {
		return c.call(ctx, "POST", "/api/v1/activities/"+itoa(st.Activities[i%len(st.Activities)].ID)+"/signups", st.Residents[i].Token, "", nil, nil)
	})
}

// restock counts every bench item back to its starting level (a recorded
// stock-take), so the popular item sells out after the same number of
// sales in every run.
func restock(ctx context.Context, c *client, cfg *Config, st *State) error {
	take := func(store, item, n int64) error {
		return c.call(ctx, "POST", "/api/v1/stores/"+itoa(store)+"/items/"+itoa(item)+"/stocktake", st.Admin.Token, "",
			map[string]any{"counted": n, "reason": "压测前盘点"}, nil)
	}
	for _, s := range st.Stores {
		for _, it := range s.Items {
			if err := take(s.ID, it, everyday); err != nil {
				return err
			}
		}
	}
	return take(st.Popular.StoreID, st.Popular.ItemID, cfg.PopularStock)
}

// parallel runs fn(0..n-1) on width goroutines and returns the first error.
func parallel(ctx context.Context, n, width int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	var failed atomic.Bool
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
