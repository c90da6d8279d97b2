package sqldb

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"jifen"
)

// BenchmarkSignUp measures sign-ups racing for one activity's places
// through the service (actor, checks, the per-activity row lock, the
// capacity counter, the waitlist) beside the bare SQL of the same writes
// (one conditional counter update and one insert per transaction), with
// 32 goroutines on each database.
func BenchmarkSignUp(b *testing.B) {
	for name, dsn := range benchDSNs(b) {
		b.Run(name, func(b *testing.B) {
			db := benchDB(b, dsn)
			ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
			orgs, people, acts := NewOrgService(db), NewPersonService(db), NewActivityService(db)
			root, err := orgs.CreateOrg(ctx, jifen.OrgInput{Name: "市", Kind: jifen.OrgCity})
			if err != nil {
				b.Fatal(err)
			}
			const n = 2000
			ids := make([]int64, n)
			for i := range ids {
				p, err := people.CreatePerson(ctx, jifen.PersonInput{Name: fmt.Sprintf("志愿者%d", i), Gender: jifen.Female, OrgID: root.ID})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = p.ID
			}
			start := time.Now().Add(24 * time.Hour)
			newActivity := func() int64 {
				a, err := acts.CreateActivity(ctx, jifen.ActivityInput{OrgID: root.ID, Title: "活动", StartsAt: start, EndsAt: start.Add(time.Hour), Capacity: n / 4})
				if err != nil {
					b.Fatal(err)
				}
				if err := acts.Publish(ctx, a.ID); err != nil {
					b.Fatal(err)
				}
				return a.ID
			}
			run := func(b *testing.B, one func(activity, person int64) error) {
				var activity, next atomic.Int64
				activity.Store(newActivity())
				b.SetParallelism(16) // 32 goroutines on 2 cores
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := next.Add(1) - 1
						if i%n == 0 && i > 0 {
							// A fresh activity every n sign-ups keeps each person's
							// sign-up a real write.
							activity.Store(newActivity())
						}
						if err := one(activity.Load(), ids[i%n]); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signups/s")
			}
			b.Run("service", func(b *testing.B) {
				run(b, func(activity, person int64) error {
					_, err := acts.SignUp(jifen.WithActor(context.Background(), &jifen.Actor{PersonID: person}), activity, person)
					return err
				})
			})
			b.Run("bare_sql", func(b *testing.B) {
				run(b, func(activity, person int64) error {
					return db.inTx(context.Background(), func(tx *Tx) error {
						res, err := tx.exec(context.Background(), "UPDATE activities SET confirmed = confirmed + 1 WHERE id = ? AND (capacity = 0 OR confirmed < capacity)", activity)
						if err != nil {
							return err
						}
						status := "waitlisted"
						if k, _ := res.RowsAffected(); k == 1 {
							status = "confirmed"
						}
						now := time.Now().UTC()
						_, err = tx.exec(context.Background(), `INSERT INTO signups (activity_id, person_id, status, queued_at, updated_at) VALUES (?, ?, ?, ?, ?)
							ON CONFLICT (activity_id, person_id) DO NOTHING`, activity, person, status, now, now)
						return err
					})
				})
			})
		})
	}
}
