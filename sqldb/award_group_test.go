package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"jifen"
)

// TestAwardGroupRows runs groups of writes by hand, as a committer would.
// Grouped awards send no statement of their own: their ledger
// transactions and award rows wait for the group's end (later.go,
// defersRows). The first group mixes them with transfers (the first's
// postings wait before theirs; the second's ledger transaction takes an
// id by itself) and with a write that makes the waiting rows be written
// and then fails: the group's end must still succeed, so every write runs
// once. The second holds a retry of an award: its duplicate key
// fails the group's end, and its writes run again alone. On both
// databases the answers must be those of one transaction each, each award
// answered equals the award read back, and the ledger verifies.
func TestAwardGroupRows(t *testing.T) {
	for name, dsn := range benchDSNs(t) {
		t.Run(name, func(t *testing.T) {
			db := benchDB(t, dsn)
			v := newAwarding(t, db)
			sys, ctx, village, rule, people, points := v.sys, v.ctx, v.village, v.rule, v.people, v.points
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			var folk []int64
			for i := range 3 {
				in := jifen.PersonInput{Name: fmt.Sprintf("村民%d", i), Gender: jifen.Male, OrgID: village.ID}
				must(in.Validate(time.Now()))
				p, err := people.CreatePerson(sys, in)
				must(err)
				folk = append(folk, p.ID)
				// Each one's first award opens their account (and the
				// first the village's issuance account): an award that
				// opens one writes alone.
				_, err = points.Award(ctx, jifen.AwardInput{PersonID: p.ID, RuleID: rule.ID, Quantity: 1, Key: fmt.Sprintf("first-%d", i)})
				must(err)
			}

			// award is a grouped write of in; ran counts its runs and sent
			// tells whether it sent a statement of its own.
			type award struct {
				in   jifen.AwardInput
				got  *jifen.Award
				ran  int
				sent bool
			}
			write := func(a *award) *groupReq {
				var p *awardPlan
				must(db.reads(ctx, func(tx *Tx) error {
					var err error
					p, err = tx.planAward(ctx, a.in)
					return err
				}))
				if p.waits() {
					t.Fatalf("award %s waits on a row; the test needs awards a group takes", a.in.Key)
				}
				return &groupReq{done: make(chan struct{}), fn: func(tx *Tx) error {
					a.ran++
					aw, err := tx.writeAward(ctx, p)
					if sp, ok := tx.tx.(*savepointConn); ok && sp.open {
						a.sent = true
					}
					a.got = aw
					return err
				}}
			}
			run := func(batch ...*groupReq) {
				newCommitter(db, 1, groupMax).run(batch)
				for _, r := range batch {
					<-r.done
				}
			}
			answered := func(a *award, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("award %s: %v", a.in.Key, err)
				}
				back, err := points.GetAward(ctx, a.got.ID)
				must(err)
				got, _ := json.Marshal(a.got)
				read, _ := json.Marshal(back)
				if string(got) != string(read) {
					t.Errorf("award %s answered\n%s\nbut reads back\n%s", a.in.Key, got, read)
				}
				if back.Status != jifen.AwardPosted || back.TxID == nil {
					t.Errorf("award %s is %s, tx %v; want it posted", a.in.Key, back.Status, back.TxID)
				}
			}

			// 0. Ledger transaction ids grow with time whichever kind of
			// write takes them: a person's history lists them newest first
			// by id (on PostgreSQL awards draw theirs ahead, 64 at a time,
			// and every other posting must draw from the same block).
			var last int64
			for i, kind := range []string{"post", "award", "post", "award"} {
				var id int64
				if kind == "post" {
					from, err := NewLedgerService(db).Account(sys, jifen.AccountIssuance, village.ID)
					must(err)
					to, err := NewLedgerService(db).Account(sys, jifen.AccountPerson, folk[0])
					must(err)
					tx, err := NewLedgerService(db).Post(sys, jifen.TxInput{Kind: jifen.TxOpening, Key: fmt.Sprintf("order-%d", i), OrgID: village.ID,
						Postings: []jifen.Posting{{AccountID: from.ID, Amount: -1}, {AccountID: to.ID, Amount: 1, Score: 1}}})
					must(err)
					id = tx.ID
				} else {
					aw, err := points.Award(ctx, jifen.AwardInput{PersonID: folk[0], RuleID: rule.ID, Quantity: 1, Key: fmt.Sprintf("order-%d", i)})
					must(err)
					id = *aw.TxID
				}
				if id <= last {
					t.Fatalf("write %d (%s) took ledger transaction %d after %d: ids must grow with time", i, kind, id, last)
				}
				last = id
			}

			// 1. A group whose first write is a transfer (its postings
			// wait, before any award's ledger transaction that theirs
			// will refer to), then awards, and a write that causes the
			// waiting rows to be written and then fails (they wait again,
			// and their ids must not be handed out again: on SQLite the
			// next award reads MAX(id) after writing them). Nothing here
			// fails the group's end: every write runs once.
			a := &award{in: jifen.AwardInput{PersonID: folk[0], RuleID: rule.ID, Quantity: 1, Key: "a"}}
			b := &award{in: jifen.AwardInput{PersonID: folk[1], RuleID: rule.ID, Quantity: 2, Key: "b"}}
			c := &award{in: jifen.AwardInput{PersonID: folk[2], RuleID: rule.ID, Quantity: 3, Key: "c", Note: "扫雪"}}
			var transfers, flushes int
			transfer := func(key string) *groupReq {
				return &groupReq{done: make(chan struct{}), fn: func(tx *Tx) error {
					transfers++
					from, err := tx.account(ctx, jifen.AccountIssuance, village.ID)
					if err != nil {
						return err
					}
					to, err := tx.account(ctx, jifen.AccountPerson, folk[2])
					if err != nil {
						return err
					}
					_, err = tx.post(ctx, jifen.TxInput{Kind: jifen.TxOpening, Key: key, OrgID: village.ID,
						Postings: []jifen.Posting{{AccountID: from.ID, Amount: -5}, {AccountID: to.ID, Amount: 5, Score: 5}}})
					return err
				}}
			}
			boom := errors.New("refused after reading the ledger")
			flushThenFail := &groupReq{done: make(chan struct{}), fn: func(tx *Tx) error {
				flushes++
				var n int
				if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM ledger_transactions").Scan(&n); err != nil {
					return err
				}
				return boom
			}}
			// The second transfer's ledger transaction takes the next id
			// by itself, after a's.
			first, second := transfer("opening-1"), transfer("opening-2")
			run(first, write(a), flushThenFail, second, write(b), write(c))
			if first.err != nil || second.err != nil {
				t.Fatalf("the transfers: %v, %v", first.err, second.err)
			}
			if !errors.Is(flushThenFail.err, boom) {
				t.Fatalf("the failing write answered %v", flushThenFail.err)
			}
			for _, aw := range []*award{a, b, c} {
				answered(aw, nil)
			}
			if transfers != 2 || flushes != 1 || a.ran != 1 || b.ran != 1 || c.ran != 1 {
				t.Errorf("runs: transfers %d, failing write %d, awards %d %d %d; want each once (the group's end failed, and all ran again alone)",
					transfers, flushes, a.ran, b.ran, c.ran)
			}
			// On SQLite an award after a statement that named the table
			// reads the ids to count on from; the one after it sends none.
			if db.dialect.name() == "postgres" && (a.sent || b.sent) {
				t.Error("a grouped award sent a statement of its own; its rows should wait for the group's end")
			}
			if c.sent {
				t.Error("the last grouped award sent a statement of its own; its rows should wait for the group's end")
			}

			// 2. A retry of a beside a new award: the duplicate key fails
			// the group, its writes run again alone, and the retry is
			// refused as a duplicate.
			// A transfer after them makes the waiting rows (the retry's
			// among them) be written by its first statement: that failure
			// is not the transfer's, which must run again and succeed.
			d := &award{in: jifen.AwardInput{PersonID: folk[1], RuleID: rule.ID, Quantity: 1, Key: "d"}}
			again := &award{in: a.in}
			dr, againr, third := write(d), write(again), transfer("opening-3")
			run(dr, againr, third)
			answered(d, dr.err)
			if third.err != nil {
				t.Errorf("a transfer grouped after a retried award answered %v", third.err)
			}
			var je *jifen.Error
			if !errors.As(againr.err, &je) || je.Code != "duplicate" {
				t.Errorf("the retry in the group answered %v, want the duplicate key refused", againr.err)
			}
			var n int
			must(db.queryRow(ctx, "SELECT COUNT(*) FROM awards WHERE idem_key IN ('a', 'b', 'c', 'd')").Scan(&n))
			if n != 4 {
				t.Errorf("%d awards for the keys a, b, c, d, want 4", n)
			}
			rep, err := NewLedgerService(db).Verify(sys, "")
			must(err)
			if rep.Problem != "" {
				t.Fatal(rep.Problem)
			}
		})
	}
}

// awarding is a county and its village, whose admin awards by a 10-point
// rule, on a database of its own.
type awarding struct {
	sys, ctx context.Context // the system's, the village admin's
	village  *jifen.Org
	rule     *jifen.Rule
	people   *PersonService
	points   *PointsService
}

func newAwarding(t *testing.T, db *DB) *awarding {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	v := &awarding{sys: jifen.WithActor(context.Background(), jifen.SystemActor()), people: NewPersonService(db), points: NewPointsService(db)}
	orgs, auth := NewOrgService(db), NewAuthService(db)
	county, err := orgs.CreateOrg(v.sys, jifen.OrgInput{Name: "县", Kind: jifen.OrgCounty})
	must(err)
	v.village, err = orgs.CreateOrg(v.sys, jifen.OrgInput{Name: "村", Kind: jifen.OrgVillage, ParentID: &county.ID})
	must(err)
	must(v.points.SaveSettings(v.sys, county.ID, jifen.PointsSettings{PointsTo: jifen.ToPerson, PublicDays: 7, AppealDays: 7}))
	v.rule, err = v.points.CreateRule(v.sys, v.village.ID, jifen.RuleInput{Code: "clean-yard", Name: "庭院整洁", Category: jifen.CatEnvironment, Points: 10})
	must(err)
	admin, err := v.people.CreatePerson(v.sys, jifen.PersonInput{Name: "村管理员", Gender: jifen.Female, OrgID: v.village.ID})
	must(err)
	_, err = auth.Grant(v.sys, admin.ID, v.village.ID, jifen.RoleOrgAdmin)
	must(err)
	actor := &jifen.Actor{PersonID: admin.ID, Name: admin.Name, HomeOrgID: v.village.ID, HomeOrgPath: v.village.Path}
	actor.Grants, err = db.grants(v.sys, admin.ID)
	must(err)
	v.ctx = jifen.WithActor(context.Background(), actor)
	return v
}
