package sqldb_test

import (
	"testing"
	"time"

	"jifen"
)

// TestErasePerson: on a person's request their personal data goes, what
// the ledger and the service records need stays, and the chain verifies.
func TestErasePerson(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		p.serveAt(t, p.villageA, 2*time.Hour, 10, []user{p.resident}, nil)
		plus := p.rule(t, p.adminA.ctx, p.villageA, ruleIn("HELP", 5))
		p.posted(t, p.adminA.ctx, p.resident.p.ID, plus)
		id := p.resident.p.ID
		// A change of name, and an award after it: the award lines
		// before it carry the old name, those after it the new.
		cur := must(p.people.Person(p.adminA.ctx, id))(t)
		const renamed = "陈新名"
		must(p.people.UpdatePerson(p.adminA.ctx, id, jifen.PersonInput{Name: renamed, Gender: cur.Gender, BirthDate: cur.BirthDate,
			Phone: cur.Phone, OrgID: cur.HomeOrgID}))(t)
		p.posted(t, p.adminA.ctx, id, plus)
		before := p.points(t, id)
		if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'award' AND (detail LIKE ? OR detail LIKE ?)", "%"+p.resident.p.Name+"%", "%"+renamed+"%"); n != 2 {
			t.Fatalf("%d award lines name the person before the erasure, want 2", n)
		}

		wantCode(t, p.people.ErasePerson(p.adminA.ctx, id, "  "), jifen.KindInvalid, "invalid")
		wantCode(t, p.people.ErasePerson(p.adminB.ctx, id, "本人申请"), jifen.KindNotFound, "not_found")
		wantCode(t, p.people.ErasePerson(p.resident.ctx, id, "本人申请"), jifen.KindConflict, "self_approval")
		wantCode(t, p.people.ErasePerson(p.adminA.ctx, p.super.p.ID, "本人申请"), jifen.KindNotFound, "not_found")
		must(0, p.people.ErasePerson(p.adminA.ctx, id, "2026年6月1日本人书面申请"))(t)
		wantCode(t, p.people.ErasePerson(p.adminA.ctx, id, "再删一次"), jifen.KindConflict, "already_erased")

		got := must(p.people.Person(p.adminA.ctx, id))(t)
		if got.Name != "已注销" || got.Phone != "" || got.IDMasked != "" || got.BirthDate != "" || got.Status != jifen.PersonErased || got.VolunteerNo != p.resident.p.VolunteerNo {
			t.Fatalf("after erasure %+v", got)
		}
		for q, want := range map[string]int64{
			"SELECT COUNT(*) FROM people WHERE id = ? AND (password_hash IS NOT NULL OR id_cipher IS NOT NULL OR phone IS NOT NULL)": 0,
			"SELECT COUNT(*) FROM sessions WHERE person_id = ?":                                                                      0,
			"SELECT COUNT(*) FROM messages WHERE person_id = ?":                                                                      0,
			"SELECT COUNT(*) FROM service_records WHERE person_id = ?":                                                               1,
			"SELECT COUNT(*) FROM awards WHERE person_id = ? AND status = 'posted'":                                                  3,
		} {
			if n := p.one(t, q, id); n != want {
				t.Errorf("%s: %d, want %d", q, n, want)
			}
		}
		for _, name := range []string{p.resident.p.Name, renamed} {
			if n := p.one(t, "SELECT COUNT(*) FROM audit_log WHERE detail LIKE ?", "%"+name+"%"); n != 0 {
				t.Errorf("%d audit lines still name the person as %s", n, name)
			}
		}
		// The points stay where they were, and the ledger still verifies.
		if after := p.points(t, id); after.Balance != before.Balance || after.Score != before.Score {
			t.Fatalf("points %+v → %+v", before, after)
		}
		p.verify(t)
		// Nobody signs in as them any more.
		if _, err := p.auth.SignIn(t.Context(), p.resident.phone, pw, "web", localIP); err == nil {
			t.Fatal("an erased person signed in")
		}
	})
}
