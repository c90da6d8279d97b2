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

// TestAwardGroupRows runs one group of awards by hand, as DB.awardGroup
// would, with a retry of one request among them. On PostgreSQL the
// grouped awards send no statement of their own (their rows wait for the
// group's end, later.go defersRows); the duplicate key then fails the
// group's end, and every award runs again alone. On both databases the
// answers must be those of one transaction each: the first of the two
// requests with one key is written and the second refused as a
// duplicate, nothing else is lost, each answer equals the award read
// back, and the ledger verifies.
func TestAwardGroupRows(t *testing.T) {
	for name, dsn := range benchDSNs(t) {
		t.Run(name, func(t *testing.T) {
			db := benchDB(t, dsn)
			sys := jifen.WithActor(context.Background(), jifen.SystemActor())
			orgs, people, auth := NewOrgService(db), NewPersonService(db), NewAuthService(db)
			points := NewPointsService(db)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			county, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: "县", Kind: jifen.OrgCounty})
			must(err)
			village, err := orgs.CreateOrg(sys, jifen.OrgInput{Name: "村", Kind: jifen.OrgVillage, ParentID: &county.ID})
			must(err)
			must(points.SaveSettings(sys, county.ID, jifen.PointsSettings{PointsTo: jifen.ToPerson, PublicDays: 7, AppealDays: 7}))
			rule, err := points.CreateRule(sys, village.ID, jifen.RuleInput{Code: "clean-yard", Name: "庭院整洁", Category: jifen.CatEnvironment, Points: 10})
			must(err)
			admin, err := people.CreatePerson(sys, jifen.PersonInput{Name: "村管理员", Gender: jifen.Female, OrgID: village.ID})
			must(err)
			_, err = auth.Grant(sys, admin.ID, village.ID, jifen.RoleOrgAdmin)
			must(err)
			actor := &jifen.Actor{PersonID: admin.ID, Name: admin.Name, HomeOrgID: village.ID, HomeOrgPath: village.Path}
			actor.Grants, err = db.grants(sys, admin.ID)
			must(err)
			ctx := jifen.WithActor(context.Background(), actor)
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

			inputs := []jifen.AwardInput{
				{PersonID: folk[0], RuleID: rule.ID, Quantity: 1, Key: "a"},
				{PersonID: folk[1], RuleID: rule.ID, Quantity: 2, Key: "b"},
				{PersonID: folk[0], RuleID: rule.ID, Quantity: 1, Key: "a"}, // a's retry
				{PersonID: folk[2], RuleID: rule.ID, Quantity: 3, Key: "c", Note: "扫雪"},
			}
			got := make([]*jifen.Award, len(inputs))
			sent := make([]bool, len(inputs))
			batch := make([]*groupReq, len(inputs))
			for i, in := range inputs {
				var p *awardPlan
				must(db.reads(ctx, func(tx *Tx) error {
					var err error
					p, err = tx.planAward(ctx, in)
					return err
				}))
				if p.waits() {
					t.Fatalf("award %d waits on a row; the test needs awards a group takes", i)
				}
				batch[i] = &groupReq{done: make(chan struct{}), fn: func(tx *Tx) error {
					aw, err := tx.writeAward(ctx, p)
					if sp, ok := tx.tx.(*savepointConn); ok && sp.open {
						sent[i] = true
					}
					got[i] = aw
					return err
				}}
			}
			newCommitter(db, 1, groupMax).run(batch)
			for i := range batch {
				<-batch[i].done
			}
			if db.dialect.name() == "postgres" && sent[0] {
				t.Error("the first grouped award sent a statement of its own; its rows should wait for the group's end")
			}
			for i, r := range batch {
				if i == 2 {
					var je *jifen.Error
					if !errors.As(r.err, &je) || je.Code != "duplicate" {
						t.Errorf("the retry in the group answered %v, want the duplicate key refused", r.err)
					}
					continue
				}
				if r.err != nil {
					t.Fatalf("award %d: %v", i, r.err)
				}
				back, err := points.GetAward(ctx, got[i].ID)
				must(err)
				answered, _ := json.Marshal(got[i])
				read, _ := json.Marshal(back)
				if string(answered) != string(read) {
					t.Errorf("award %d answered\n%s\nbut reads back\n%s", i, answered, read)
				}
				if back.Status != jifen.AwardPosted || back.TxID == nil {
					t.Errorf("award %d is %s, tx %v; want it posted", i, back.Status, back.TxID)
				}
			}
			var n int
			must(db.queryRow(ctx, "SELECT COUNT(*) FROM awards WHERE idem_key IN ('a', 'b', 'c')").Scan(&n))
			if n != 3 {
				t.Errorf("%d awards for the keys a, b, c, want 3", n)
			}
			rep, err := NewLedgerService(db).Verify(sys, "")
			must(err)
			if rep.Problem != "" {
				t.Fatal(rep.Problem)
			}
		})
	}
}
