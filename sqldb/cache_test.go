package sqldb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"jifen"
)

// An award's plan reads its rule, the rule in force, the settings and the
// beneficiary through a cache (cache.go). A change made through this
// process is seen by the very next award; a change made behind its back
// (another server on the same database, a script) within a second.
func TestConfigCache(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		who := p.resident.p.ID
		r := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("cache", 5))
		if aw := p.posted(t, p.adminA.ctx, who, r); aw.Points != 5 {
			t.Fatalf("first award %d points, want 5", aw.Points)
		}

		t.Run("a new version of the rule counts at once", func(t *testing.T) {
			in := ruleIn("cache", 7)
			must(p.pts.UpdateRule(p.adminA.ctx, r.ID, in))(t)
			if aw := p.posted(t, p.adminA.ctx, who, r); aw.Points != 7 || aw.RuleVersion != 2 {
				t.Fatalf("award after the update: %d points, version %d; want 7, 2", aw.Points, aw.RuleVersion)
			}
		})
		t.Run("a daily cap set now stops the next award", func(t *testing.T) {
			p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.DailyCap = 15 })
			_, err := p.give(p.adminA.ctx, who, r) // 5 + 7 + 7 > 15
			wantCode(t, err, jifen.KindConflict, "cap_exceeded")
			p.set(t, p.villageA, func(s *jifen.PointsSettings) { s.DailyCap = 0 })
			p.posted(t, p.adminA.ctx, who, r)
		})
		t.Run("an archived rule is refused at once", func(t *testing.T) {
			if err := p.pts.ArchiveRule(p.adminA.ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			_, err := p.give(p.adminA.ctx, who, r)
			wantCode(t, err, jifen.KindInvalid, "invalid")
		})
		t.Run("a change behind the server's back is seen within a second", func(t *testing.T) {
			r2 := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("cache2", 3))
			p.posted(t, p.adminA.ctx, who, r2)
			p.exec(t, "UPDATE rule_versions SET points = 4 WHERE rule_id = ?", r2.ID)
			p.exec(t, "UPDATE people SET name = ? WHERE id = ?", "居民甲改", who)
			// Within the second the award is decided on what the cache
			// holds (and so does not equal a fresh read of itself).
			if aw := must(p.give(p.adminA.ctx, who, r2))(t); aw.Points != 3 || aw.PersonName != "居民甲" {
				t.Fatalf("at once: %d points for %q, want the cached 3 for 居民甲", aw.Points, aw.PersonName)
			}
			p.clock.Advance(1100 * time.Millisecond)
			if aw := p.posted(t, p.adminA.ctx, who, r2); aw.Points != 4 || aw.PersonName != "居民甲改" {
				t.Fatalf("a second later: %d points for %q, want 4 for 居民甲改", aw.Points, aw.PersonName)
			}
		})
	})
}

// Every request is authenticated through the same cache: a sign-out, a
// grant taken back or a password changed through this process counts for
// the very next request; a session deleted behind its back within a
// second.
func TestSessionCache(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		ctx := context.Background()
		signIn := func(t *testing.T, phone string) string {
			t.Helper()
			tok := must(p.auth.SignIn(ctx, phone, pw, "web", localIP))(t)
			must(p.auth.Authenticate(ctx, tok, localIP))(t) // now cached
			return tok
		}
		refused := func(t *testing.T, tok, when string) {
			t.Helper()
			if a, err := p.auth.Authenticate(ctx, tok, localIP); !errors.Is(err, jifen.ErrUnauthorized) {
				t.Fatalf("%s: authenticated as %v (err %v), want refused", when, a, err)
			}
		}
		t.Run("signing out counts at once", func(t *testing.T) {
			tok := signIn(t, p.resident.phone)
			if err := p.auth.SignOut(ctx, tok); err != nil {
				t.Fatal(err)
			}
			refused(t, tok, "after signing out")
		})
		t.Run("a grant taken back counts at once", func(t *testing.T) {
			u := p.user(t, "撤权", p.villageA, p.villageA, jifen.RoleOrgAdmin)
			tok := signIn(t, u.phone)
			gs := must(p.auth.Grants(p.super.ctx, u.p.ID))(t)
			if len(gs) != 1 {
				t.Fatalf("grants %v", gs)
			}
			if err := p.auth.RevokeGrant(p.super.ctx, gs[0].ID); err != nil {
				t.Fatal(err)
			}
			if a := must(p.auth.Authenticate(ctx, tok, localIP))(t); len(a.Grants) != 0 {
				t.Fatalf("after the grant was taken back the actor holds %v", a.Grants)
			}
		})
		t.Run("a session deleted behind the server's back is refused within a second", func(t *testing.T) {
			tok := signIn(t, p.resident.phone)
			p.exec(t, "DELETE FROM sessions WHERE person_id = ?", p.resident.p.ID)
			// Within the second the cache still answers.
			must(p.auth.Authenticate(ctx, tok, localIP))(t)
			p.clock.Advance(1100 * time.Millisecond)
			refused(t, tok, "a second later")
		})
		t.Run("a session past its lifetime is refused", func(t *testing.T) {
			tok := signIn(t, p.resident.phone)
			p.clock.Advance(31 * 24 * time.Hour)
			refused(t, tok, "a month later")
		})
	})
}
