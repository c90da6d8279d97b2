package sqldb_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// transfersOf lists a person's transfers as the super admin.
func (v *vs) transfersOf(t *testing.T, personID int64) []*jifen.Transfer {
	t.Helper()
	return must(v.moves.Transfers(v.super.ctx, personID, 0))(t)
}

// home is a person's home org as the super admin reads it.
func (v *vs) home(t *testing.T, personID int64) int64 {
	t.Helper()
	return must(v.people.Person(v.super.ctx, personID))(t).HomeOrgID
}

func TestTransfer(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		newVillage := v.org(t, v.super.ctx, v.townA, jifen.OrgVillage, "新建村")
		archived := v.org(t, v.super.ctx, v.townA, jifen.OrgVillage, "撤并村")
		wantErr(t, v.orgs.ArchiveOrg(v.super.ctx, archived.ID), "", "", "")
		teamMember := v.born(t, "队员", v.teamA, "1990-01-01")
		p2, p3, p4 := v.member(t, "二号", v.villageA), v.member(t, "三号", v.villageA), v.member(t, "四号", v.villageA)
		v.serve(t, v.villageA, 2*time.Hour, v.resident)
		v.backfilled(t, v.villageA, time.Hour, v.resident)
		hoursBefore := v.hours(t, v.resident.p.ID)
		recordsBefore := v.records(t, v.resident.p.ID)
		if hoursBefore.VerifiedMinutes != 180 {
			t.Fatalf("hours before the move: %+v", hoursBefore)
		}

		refusals := []struct {
			name        string
			by          user
			who         int64
			to          int64
			reason      string
			kind        jifen.Kind
			code, field string
		}{
			{"a transfer to an org that does not exist is invalid on to_org_id", v.resident, v.resident.p.ID, 987654, "搬家", jifen.KindInvalid, "invalid", "to_org_id"},
			{"a transfer to an archived org is invalid on to_org_id", v.resident, v.resident.p.ID, archived.ID, "搬家", jifen.KindInvalid, "invalid", "to_org_id"},
			{"a transfer to one's own home org is invalid on to_org_id", v.resident, v.resident.p.ID, v.villageA.ID, "搬家", jifen.KindInvalid, "invalid", "to_org_id"},
			{"a transfer to a team one belongs to is invalid on to_org_id", teamMember, teamMember.p.ID, v.teamA.ID, "入队", jifen.KindInvalid, "invalid", "to_org_id"},
			{"a transfer needs a reason", v.resident, v.resident.p.ID, v.villageB.ID, " ", jifen.KindInvalid, "invalid", "reason"},
			{"a resident cannot ask to move someone else", v.residentB, v.resident.p.ID, v.villageB.ID, "搬家", jifen.KindNotFound, "not_found", ""},
			{"a team leader cannot ask to move a member of the team", v.leader, teamMember.p.ID, v.villageB.ID, "搬家", eitherRefusal, "", ""},
			{"another county's admin cannot ask to move someone they do not administer", v.adminB, v.resident.p.ID, v.villageB.ID, "搬家", jifen.KindNotFound, "not_found", ""},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				_, err := v.moves.RequestTransfer(tc.by.ctx, tc.who, tc.to, tc.reason)
				if tc.kind == eitherRefusal {
					wantKinds(t, err, refused...)
				} else {
					wantErr(t, err, tc.kind, tc.code, tc.field)
				}
				if l := v.transfersOf(t, tc.who); len(l) != 0 {
					t.Fatalf("a refused request was written: %+v", l[0])
				}
			})
		}

		var tr *jifen.Transfer
		t.Run("a volunteer asks to move to another village", func(t *testing.T) {
			tr = must(v.moves.RequestTransfer(v.resident.ctx, v.resident.p.ID, v.villageB.ID, "婚后随配偶迁居新村"))(t)
			if tr.Status != jifen.TransferPending || tr.FromOrgID != v.villageA.ID || tr.ToOrgID != v.villageB.ID || tr.RequestedBy != v.resident.p.ID ||
				tr.FromOrgName != v.villageA.Name || tr.ToOrgName != v.villageB.Name || tr.Reason != "婚后随配偶迁居新村" || tr.DecidedBy != nil {
				t.Fatalf("transfer = %+v", tr)
			}
			if v.home(t, v.resident.p.ID) != v.villageA.ID {
				t.Fatal("a request alone moved the person")
			}
		})
		if tr == nil {
			t.Fatal("the steps below need the request")
		}
		t.Run("a second pending transfer is refused with transfer_pending", func(t *testing.T) {
			_, err := v.moves.RequestTransfer(v.resident.ctx, v.resident.p.ID, newVillage.ID, "改主意了")
			wantErr(t, err, jifen.KindConflict, "transfer_pending", "")
			_, err = v.moves.RequestTransfer(v.adminA.ctx, v.resident.p.ID, newVillage.ID, "管理员代办")
			wantErr(t, err, jifen.KindConflict, "transfer_pending", "")
		})
		waiting := func(t *testing.T, u user) bool {
			t.Helper()
			l, err := v.moves.Transfers(u.ctx, 0, 0)
			if err != nil {
				return false
			}
			return slices.ContainsFunc(l, func(x *jifen.Transfer) bool { return x.ID == tr.ID })
		}
		t.Run("the receiving side lists the pending transfer, the sending side does not", func(t *testing.T) {
			if !waiting(t, v.adminB) || waiting(t, v.adminA) {
				t.Fatalf("admin B sees it: %v, admin A sees it: %v", waiting(t, v.adminB), waiting(t, v.adminA))
			}
			_, err := v.moves.Transfers(v.adminA.ctx, 0, v.villageB.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("only the receiving side decides", func(t *testing.T) {
			for _, u := range []user{v.resident, v.adminA, v.leader, v.residentB} {
				wantErr(t, v.moves.Approve(u.ctx, tr.ID), jifen.KindNotFound, "not_found", "")
			}
			if v.home(t, v.resident.p.ID) != v.villageA.ID {
				t.Fatal("a refused approval moved the person")
			}
		})
		t.Run("the receiving admin approves and the home org changes", func(t *testing.T) {
			wantErr(t, v.moves.Approve(v.adminB.ctx, tr.ID), "", "", "")
			if h := v.home(t, v.resident.p.ID); h != v.villageB.ID {
				t.Fatalf("home org %d, want %d", h, v.villageB.ID)
			}
			if p := must(v.people.Person(v.adminB.ctx, v.resident.p.ID))(t); p.HomeOrgName != v.villageB.Name {
				t.Fatalf("the new org's admin reads home %q", p.HomeOrgName)
			}
			_, err := v.people.Person(v.adminA.ctx, v.resident.p.ID)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("hours and records stay with the person", func(t *testing.T) {
			if h := must(v.recs.Hours(v.resident.ctx, v.resident.p.ID))(t); *h != *hoursBefore {
				t.Fatalf("hours %+v, were %+v", h, hoursBefore)
			}
			if h := must(v.recs.Hours(v.adminB.ctx, v.resident.p.ID))(t); h.VerifiedMinutes != 180 {
				t.Fatalf("the new org's admin reads %+v", h)
			}
			after := v.records(t, v.resident.p.ID)
			if len(after) != len(recordsBefore) {
				t.Fatalf("%d records, were %d", len(after), len(recordsBefore))
			}
			for i := range after {
				if !sameRecord(after[i], recordsBefore[i]) {
					t.Fatalf("record changed by the move: %+v", after[i])
				}
			}
		})
		t.Run("the person and the sending side's admin are told", func(t *testing.T) {
			if m := v.msgs(t, v.resident.ctx, "关系转接已完成"); len(m) != 1 || !strings.Contains(m[0].Body, v.villageB.Name) {
				t.Fatalf("the person's messages: %+v", m)
			}
			m := v.msgs(t, v.adminA.ctx, "人员转出通知")
			if len(m) != 1 || !strings.Contains(m[0].Body, v.resident.p.Name) || !strings.Contains(m[0].Body, v.resident.p.VolunteerNo) {
				t.Fatalf("the sending admin's messages: %+v", m)
			}
			if m := v.msgs(t, v.adminB.ctx, "人员转出通知"); len(m) != 0 {
				t.Fatalf("the receiving admin was told of a departure: %+v", m)
			}
		})
		t.Run("the history stays visible to the person and the new org", func(t *testing.T) {
			for _, u := range []user{v.resident, v.adminB} {
				l := must(v.moves.Transfers(u.ctx, v.resident.p.ID, 0))(t)
				if len(l) != 1 || l[0].ID != tr.ID || l[0].Status != jifen.TransferApproved || l[0].DecidedBy == nil ||
					*l[0].DecidedBy != v.adminB.p.ID || l[0].DecidedAt == nil || l[0].Reason != tr.Reason {
					t.Fatalf("%s reads the history %+v", u.p.Name, l)
				}
			}
			if waiting(t, v.adminB) {
				t.Fatal("the approved transfer is still listed as pending")
			}
			_, err := v.moves.Transfers(v.adminA.ctx, v.resident.p.ID, 0)
			wantErr(t, err, jifen.KindNotFound, "not_found", "")
		})
		t.Run("a decided transfer cannot be decided again", func(t *testing.T) {
			wantErr(t, v.moves.Approve(v.adminB.ctx, tr.ID), jifen.KindConflict, "already_decided", "")
			wantErr(t, v.moves.Reject(v.adminB.ctx, tr.ID, "反悔"), jifen.KindConflict, "already_decided", "")
		})

		t.Run("for someone with no phone, who cannot sign in to answer, the admin's request stands for their consent", func(t *testing.T) {
			elder := must(v.people.CreatePerson(v.super.ctx, jifen.PersonInput{Name: "无手机老人", Gender: jifen.Male, OrgID: v.villageA.ID}))(t)
			x := must(v.moves.RequestTransfer(v.adminA.ctx, elder.ID, newVillage.ID, "随子女迁居，本人当面同意"))(t)
			if x.ConsentedAt == nil {
				t.Fatal("a transfer for someone who cannot sign in waits for a consent they cannot give")
			}
			wantErr(t, v.moves.Approve(v.super.ctx, x.ID), "", "", "")
		})

		t.Run("a person who does not agree ends the transfer an admin asked for", func(t *testing.T) {
			p5 := v.member(t, "不想走的村民", v.villageA)
			x := must(v.moves.RequestTransfer(v.adminA.ctx, p5.p.ID, newVillage.ID, "划入新村"))(t)
			wantErr(t, v.moves.Consent(p5.ctx, x.ID, false), "", "", "")
			got := must(v.moves.Transfers(p5.ctx, p5.p.ID, 0))(t)
			if len(got) != 1 || got[0].Status != jifen.TransferRejected || got[0].ConsentedAt != nil {
				t.Fatalf("after refusing: %+v", got)
			}
			wantErr(t, v.moves.Approve(v.super.ctx, x.ID), jifen.KindConflict, "already_decided", "")
			if v.home(t, p5.p.ID) != v.villageA.ID || len(v.msgs(t, v.adminA.ctx, "转接未获本人同意")) != 1 {
				t.Fatal("a refused transfer moved the person, or its asker was not told")
			}
		})

		t.Run("an admin cannot approve a transfer they asked for; another admin of the receiving side can", func(t *testing.T) {
			x := must(v.moves.RequestTransfer(v.adminA.ctx, p2.p.ID, newVillage.ID, "新村建成，划入新村"))(t)
			if x.RequestedBy != v.adminA.p.ID {
				t.Fatalf("requested by %d", x.RequestedBy)
			}
			wantErr(t, v.moves.Approve(v.adminA.ctx, x.ID), jifen.KindConflict, "self_approval", "")
			if v.home(t, p2.p.ID) != v.villageA.ID {
				t.Fatal("a refused self-approval moved the person")
			}
			// Asked for by someone else, it waits for the person's consent
			// (STANDARDS), which they were asked for in their inbox.
			if x.ConsentedAt != nil || len(v.msgs(t, p2.ctx, "转接待您确认")) != 1 {
				t.Fatalf("consented at %v; the person was not asked", x.ConsentedAt)
			}
			wantErr(t, v.moves.Approve(v.super.ctx, x.ID), jifen.KindConflict, "consent_needed", "")
			wantErr(t, v.moves.Consent(v.adminA.ctx, x.ID, true), jifen.KindNotFound, "not_found", "") // only the person answers
			wantErr(t, v.moves.Consent(p2.ctx, x.ID, true), "", "", "")
			wantErr(t, v.moves.Consent(p2.ctx, x.ID, true), jifen.KindConflict, "already_consented", "")
			wantErr(t, v.moves.Approve(v.super.ctx, x.ID), "", "", "")
			if v.home(t, p2.p.ID) != newVillage.ID {
				t.Fatal("the approval did not move the person")
			}
		})
		t.Run("an admin cannot approve their own move into the org they administer", func(t *testing.T) {
			x := must(v.moves.RequestTransfer(v.adminB.ctx, v.adminB.p.ID, v.villageB.ID, "搬到村里住"))(t)
			wantErr(t, v.moves.Approve(v.adminB.ctx, x.ID), jifen.KindConflict, "self_approval", "")
		})
		t.Run("rejecting tells the person why and leaves them where they are", func(t *testing.T) {
			x := must(v.moves.RequestTransfer(p3.ctx, p3.p.ID, v.villageB.ID, "想去新村"))(t)
			wantErr(t, v.moves.Reject(v.adminB.ctx, x.ID, "新村暂不接收"), "", "", "")
			if m := v.msgs(t, p3.ctx, "关系转接未通过"); len(m) != 1 || !strings.Contains(m[0].Body, "新村暂不接收") {
				t.Fatalf("messages %+v", m)
			}
			if v.home(t, p3.p.ID) != v.villageA.ID {
				t.Fatal("a rejected transfer moved the person")
			}
			l := must(v.moves.Transfers(p3.ctx, p3.p.ID, 0))(t)
			if len(l) != 1 || l[0].Status != jifen.TransferRejected || l[0].Answer != "新村暂不接收" {
				t.Fatalf("history %+v", l)
			}
			must(v.moves.RequestTransfer(p3.ctx, p3.p.ID, newVillage.ID, "那就去新建村"))(t)
		})
		t.Run("a transfer to a team adds a membership and keeps the home org", func(t *testing.T) {
			x := must(v.moves.RequestTransfer(p4.ctx, p4.p.ID, v.teamA.ID, "想加入红马甲服务队"))(t)
			wantErr(t, v.moves.Approve(v.leader.ctx, x.ID), "", "", "")
			p := must(v.people.Person(v.leader.ctx, p4.p.ID))(t)
			if p.HomeOrgID != v.villageA.ID || !slices.ContainsFunc(p.Teams, func(o *jifen.Org) bool { return o.ID == v.teamA.ID }) {
				t.Fatalf("person home %d, teams %v", p.HomeOrgID, p.Teams)
			}
			_, err := v.moves.RequestTransfer(p4.ctx, p4.p.ID, v.teamA.ID, "再加一次")
			wantErr(t, err, jifen.KindInvalid, "invalid", "to_org_id")
		})

		b := []user{v.member(t, "合并一", v.villageA), v.member(t, "合并二", v.villageA), v.member(t, "合并三", v.villageA)}
		ids := []int64{b[0].p.ID, b[1].p.ID, b[2].p.ID}
		bulkRefusals := []struct {
			name        string
			by          user
			ids         []int64
			to          int64
			reason      string
			kind        jifen.Kind
			code, field string
		}{
			{"a bulk move needs a reason", v.adminA, ids, newVillage.ID, " ", jifen.KindInvalid, "invalid", "reason"},
			{"a bulk move needs people", v.adminA, nil, newVillage.ID, "村庄合并", jifen.KindInvalid, "invalid", "person_ids"},
			{"a bulk move to an org that does not exist is invalid", v.adminA, ids, 987654, "村庄合并", jifen.KindInvalid, "invalid", "to_org_id"},
			{"a bulk move into an org the admin does not administer is forbidden", v.adminA, ids, v.villageB.ID, "村庄合并", jifen.KindForbidden, "forbidden", ""},
			{"a bulk move with one person outside the admin's scope is refused and moves nobody", v.adminA, append(slices.Clone(ids), v.residentB.p.ID), newVillage.ID, "村庄合并", jifen.KindNotFound, "not_found", ""},
			{"a team leader cannot bulk move", v.leader, ids, v.teamA.ID, "村庄合并", jifen.KindForbidden, "forbidden", ""},
		}
		for _, tc := range bulkRefusals {
			t.Run(tc.name, func(t *testing.T) {
				// The count that comes with an error means nothing: check the people.
				_, err := v.moves.BulkMove(tc.by.ctx, tc.ids, tc.to, tc.reason)
				wantErr(t, err, tc.kind, tc.code, tc.field)
				for _, u := range append(b, v.residentB) {
					if h := v.home(t, u.p.ID); h != u.p.HomeOrgID {
						t.Fatalf("%s moved to %d", u.p.Name, h)
					}
					if l := v.transfersOf(t, u.p.ID); len(l) != 0 {
						t.Fatalf("%s has transfers %+v", u.p.Name, l)
					}
					if m := v.msgs(t, u.ctx, "关系转接"); len(m) != 0 {
						t.Fatalf("%s was told %+v", u.p.Name, m)
					}
				}
			})
		}
		t.Run("a bulk move moves everyone with the reason, and each is told", func(t *testing.T) {
			if n := must(v.moves.BulkMove(v.adminA.ctx, ids, newVillage.ID, "城关村与新建村合并"))(t); n != 3 {
				t.Fatalf("moved %d, want 3", n)
			}
			for _, u := range b {
				if h := v.home(t, u.p.ID); h != newVillage.ID {
					t.Fatalf("%s lives in %d", u.p.Name, h)
				}
				if m := v.msgs(t, u.ctx, "关系转接已完成"); len(m) != 1 {
					t.Fatalf("%s has messages %+v", u.p.Name, m)
				}
				l := v.transfersOf(t, u.p.ID)
				if len(l) != 1 || l[0].Status != jifen.TransferApproved || l[0].Reason != "城关村与新建村合并" || l[0].FromOrgID != v.villageA.ID ||
					l[0].RequestedBy != v.adminA.p.ID || l[0].DecidedBy == nil || *l[0].DecidedBy != v.adminA.p.ID {
					t.Fatalf("%s history %+v", u.p.Name, l)
				}
			}
			if !slices.ContainsFunc(v.auditEntries(t, "transfer.bulk"), func(e *jifen.AuditEntry) bool { return strings.Contains(e.Detail, "城关村与新建村合并") }) {
				t.Fatal("the bulk move is not in the audit log")
			}
		})
		t.Run("a bulk move skips people already there", func(t *testing.T) {
			if n := must(v.moves.BulkMove(v.adminA.ctx, ids, newVillage.ID, "再来一次"))(t); n != 0 {
				t.Fatalf("moved %d again", n)
			}
		})
	})
}
