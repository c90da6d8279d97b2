package sqldb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

func TestAuditRecordsEveryAdminChange(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		a := f.adminA.ctx
		var town, village *jifen.Org
		var p *jifen.Person
		var grant *jifen.Grant
		approvals := must(f.orgs.CreateOrg(f.super.ctx, jifen.OrgInput{Name: "审核村", Kind: jifen.OrgVillage, ParentID: &f.townA.ID, SignupRequiresApproval: true}))(t)
		cases := []struct {
			action string
			do     func(t *testing.T) int64 // returns the target id
		}{
			{"org.create", func(t *testing.T) int64 { town = f.org(t, a, f.countyA, jifen.OrgTown, "审计镇"); return town.ID }},
			{"org.update", func(t *testing.T) int64 {
				return must(f.orgs.UpdateOrg(a, town.ID, jifen.OrgInput{Name: "审计镇（改）"}))(t).ID
			}},
			{"org.seal", func(t *testing.T) int64 {
				wantErr(t, f.orgs.SetSeal(a, town.ID, sqldbtest.PNG(0)), "", "", "")
				return town.ID
			}},
			{"org.move", func(t *testing.T) int64 {
				village = f.org(t, a, f.townA, jifen.OrgVillage, "审计村")
				return must(f.orgs.MoveOrg(a, village.ID, town.ID))(t).ID
			}},
			{"org.archive", func(t *testing.T) int64 {
				wantErr(t, f.orgs.ArchiveOrg(a, village.ID), "", "", "")
				return village.ID
			}},
			{"person.create", func(t *testing.T) int64 {
				p = must(f.people.CreatePerson(a, jifen.PersonInput{Name: "审计人", Gender: jifen.Male, IDNumber: idNo("19770707", 7), OrgID: town.ID}))(t)
				return p.ID
			}},
			{"person.update", func(t *testing.T) int64 {
				return must(f.people.UpdatePerson(a, p.ID, jifen.PersonInput{Name: "审计人", Gender: jifen.Male, Phone: f.phone(), OrgID: town.ID}))(t).ID
			}},
			{"person.reveal_id", func(t *testing.T) int64 { must(f.people.RevealIDNumber(a, p.ID))(t); return p.ID }},
			{"person.set_pin", func(t *testing.T) int64 { wantErr(t, f.people.SetPIN(a, p.ID, "123456"), "", "", ""); return p.ID }},
			{"person.issue_code", func(t *testing.T) int64 {
				_, _, err := f.auth.IssueResetCode(a, p.ID)
				wantErr(t, err, "", "", "")
				return p.ID
			}},
			{"person.import", func(t *testing.T) int64 {
				must(f.people.ImportPeople(a, town.ID, []jifen.PersonInput{{Name: "导入人", Gender: jifen.Female, PoliticalStatus: jifen.Masses}}))(t)
				return town.ID
			}},
			{"person.approve", func(t *testing.T) int64 {
				q, _ := must2(f.auth.Signup(context.Background(), adult("待审人", f.phone(), approvals.ID), localIP))(t)
				wantErr(t, f.people.ApprovePerson(a, q.ID), "", "", "")
				return q.ID
			}},
			{"role.grant", func(t *testing.T) int64 {
				grant = must(f.auth.Grant(a, p.ID, f.teamA.ID, jifen.RoleVolunteer))(t)
				return p.ID
			}},
			{"role.revoke", func(t *testing.T) int64 { wantErr(t, f.auth.RevokeGrant(a, grant.ID), "", "", ""); return p.ID }},
			{"team.join", func(t *testing.T) int64 { wantErr(t, f.people.JoinTeam(a, p.ID, f.teamA.ID), "", "", ""); return p.ID }},
			{"team.leave", func(t *testing.T) int64 { wantErr(t, f.people.LeaveTeam(a, p.ID, f.teamA.ID), "", "", ""); return p.ID }},
			{"message.send", func(t *testing.T) int64 {
				wantErr(t, f.inbox.SendMessage(a, p.ID, "通知", "请到村委会领取证书"), "", "", "")
				return p.ID
			}},
		}
		for _, tc := range cases {
			t.Run(tc.action+" is audited with actor, target, org and address", func(t *testing.T) {
				start := time.Now().Add(-time.Second)
				target := tc.do(t)
				l, n := must2(f.audit.Audit(a, jifen.AuditFilter{Action: tc.action}))(t)
				if n == 0 {
					t.Fatal("no entry")
				}
				e := l[0]
				if e.Action != tc.action || e.ActorID != f.adminA.p.ID || e.ActorName != f.adminA.p.Name || e.TargetID != target || e.IP != localIP.String() || e.At.Before(start) {
					t.Fatalf("entry = %+v", e)
				}
				org := must(f.orgs.Org(f.super.ctx, e.OrgID))(t)
				if !strings.HasPrefix(org.Path, f.countyA.Path) {
					t.Fatalf("entry filed under %s", org.Path)
				}
			})
		}
		t.Run("a refused change leaves no entry", func(t *testing.T) {
			before := f.auditTotal(t)
			_, err := f.orgs.CreateOrg(a, jifen.OrgInput{Name: "越权镇", Kind: jifen.OrgTown, ParentID: &f.countyB.ID})
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			_, err = f.people.CreatePerson(a, jifen.PersonInput{Name: "越权人", Gender: jifen.Male, OrgID: f.villageB.ID})
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
			if n := f.auditTotal(t); n != before {
				t.Fatalf("audit %d → %d", before, n)
			}
		})
	})
}

func TestAuditScope(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		wantErr(t, f.auth.SetPasswordByPhone(context.Background(), f.resident.phone, "command-line"), "", "", "")
		paths := map[int64]string{}
		for _, o := range must(f.orgs.SignupOrgs(context.Background()))(t) {
			paths[o.ID] = o.Path
		}
		all, total := must2(f.audit.Audit(f.super.ctx, jifen.AuditFilter{PerPage: 100}))(t)
		if total != len(all) || total < 15 {
			t.Fatalf("the super admin sees %d of %d entries", len(all), total)
		}
		// within counts the entries filed under root's subtree.
		within := func(root *jifen.Org) int {
			n := 0
			for _, e := range all {
				if strings.HasPrefix(paths[e.OrgID], root.Path) && e.OrgID != 0 {
					n++
				}
			}
			return n
		}
		cases := []struct {
			name   string
			who    user
			filter jifen.AuditFilter
			root   *jifen.Org // nil: everything
			want   jifen.Kind
		}{
			{"county A's admin lists only county A's subtree", f.adminA, jifen.AuditFilter{}, f.countyA, ""},
			{"county B's admin lists only county B's subtree", f.adminB, jifen.AuditFilter{}, f.countyB, ""},
			{"county A's admin narrows to a town", f.adminA, jifen.AuditFilter{OrgID: f.townA.ID}, f.townA, ""},
			{"the super admin lists everything, the command line's entries too", f.super, jifen.AuditFilter{}, nil, ""},
			{"county A's admin is refused county B", f.adminA, jifen.AuditFilter{OrgID: f.countyB.ID}, nil, jifen.KindNotFound},
			{"county A's admin is refused the city", f.adminA, jifen.AuditFilter{OrgID: f.root.ID}, nil, jifen.KindForbidden},
			{"a missing org is not found", f.adminA, jifen.AuditFilter{OrgID: 999999}, nil, jifen.KindNotFound},
			{"a resident is refused", f.resident, jifen.AuditFilter{}, nil, jifen.KindForbidden},
			{"a resident is refused their own village", f.resident, jifen.AuditFilter{OrgID: f.villageA.ID}, nil, jifen.KindForbidden},
			{"a team leader is refused", f.leader, jifen.AuditFilter{}, nil, jifen.KindForbidden},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tc.filter.PerPage = 100
				l, n, err := f.audit.Audit(tc.who.ctx, tc.filter)
				if tc.want != "" {
					wantErr(t, err, tc.want, "", "")
					if l != nil || n != 0 {
						t.Fatalf("a refused list returned %d entries", n)
					}
					return
				}
				wantErr(t, err, "", "", "")
				want := total
				if tc.root != nil {
					want = within(tc.root)
				}
				if n != want || len(l) != want || want == 0 {
					t.Fatalf("%d entries (total %d), want %d", len(l), n, want)
				}
				for _, e := range l {
					if tc.root != nil && !strings.HasPrefix(paths[e.OrgID], tc.root.Path) {
						t.Errorf("entry %s filed under %q", e.Action, paths[e.OrgID])
					}
				}
			})
		}
		t.Run("the command line's reset is filed under no org and shown to the super admin only", func(t *testing.T) {
			l, _ := must2(f.audit.Audit(f.super.ctx, jifen.AuditFilter{Action: "admin.reset_password"}))(t)
			if len(l) != 1 || l[0].OrgID != 0 || l[0].ActorID != 0 || l[0].TargetID != f.resident.p.ID {
				t.Fatalf("entries = %v", l)
			}
			if l, _ := must2(f.audit.Audit(f.adminA.ctx, jifen.AuditFilter{Action: "admin.reset_password"}))(t); len(l) != 0 {
				t.Fatal("county A's admin sees the command line's entry")
			}
		})
		t.Run("pages split the list newest first", func(t *testing.T) {
			p1, n := must2(f.audit.Audit(f.adminA.ctx, jifen.AuditFilter{PerPage: 2}))(t)
			p2, _ := must2(f.audit.Audit(f.adminA.ctx, jifen.AuditFilter{PerPage: 2, Page: 2}))(t)
			if n != within(f.countyA) || len(p1) != 2 || len(p2) != 2 || !(p1[0].ID > p1[1].ID && p1[1].ID > p2[0].ID) {
				t.Fatalf("pages %v %v of %d", p1, p2, n)
			}
		})
		t.Run("nobody signed in is unauthorized", func(t *testing.T) {
			_, _, err := f.audit.Audit(context.Background(), jifen.AuditFilter{})
			wantErr(t, err, jifen.KindUnauthorized, "unauthorized", "")
		})
	})
}
