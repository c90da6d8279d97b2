package sqldb_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// serialPattern is the register's numbering: ZM, the year of issue and a
// seven-digit running number.
var serialPattern = regexp.MustCompile(`^ZM2026[0-9]{7}$`)

func TestCertificate(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		must(v.orgs.UpdateOrg(v.super.ctx, v.villageA.ID, jifen.OrgInput{Name: v.villageA.Name, LeaderName: "王书记",
			ContactPhone: "0933-6121234", Address: "城关村村委会"}))(t)
		phone := v.phone()
		id := idNo("19900101", 123)
		p := must(v.people.CreatePerson(v.super.ctx, jifen.PersonInput{Name: "持证人", Gender: jifen.Male, IDNumber: id, Phone: phone, Password: pw, OrgID: v.villageA.ID}))(t)
		vol := user{ctx: v.signIn(t, phone), p: p, phone: phone}

		first := v.serve(t, v.villageA, 2*time.Hour, vol)
		v.clock.Advance(30 * 24 * time.Hour)
		second := v.serve(t, v.villageA, 90*time.Minute, vol)
		must(v.recs.Correct(v.adminA.ctx, v.recordOf(t, vol.p.ID, second.ID, jifen.HowSelf).ID, 60, "提前半小时离开"))(t)
		between := first.EndsAt.Add(24 * time.Hour)
		if h := v.hours(t, vol.p.ID); h.VerifiedMinutes != 180 {
			t.Fatalf("hours %+v, want 180 minutes", h)
		}

		var all *jifen.Certificate
		t.Run("a certificate of all service is numbered ZM, the year and seven digits, and counts the records' minutes", func(t *testing.T) {
			all = must(v.certs.Issue(vol.ctx, jifen.CertificateRequest{PersonID: vol.p.ID}))(t)
			if !serialPattern.MatchString(all.Serial) {
				t.Fatalf("serial %q", all.Serial)
			}
			if all.Minutes != 180 || all.Records != 2 || all.PersonID != vol.p.ID || all.PersonName != "持证人" || all.VolunteerNo != vol.p.VolunteerNo ||
				all.IDMasked != jifen.MaskIDNumber(id) || all.OrgID != v.villageA.ID || all.IssuedBy != vol.p.ID || !all.IssuedAt.Equal(v.now()) {
				t.Fatalf("certificate = %+v", all)
			}
			if all.IssuerName != v.villageA.Name || all.IssuerLeader != "王书记" || all.IssuerPhone != "0933-6121234" || all.IssuerAddr != "城关村村委会" {
				t.Fatalf("issuer = %q %q %q %q", all.IssuerName, all.IssuerLeader, all.IssuerPhone, all.IssuerAddr)
			}
			if !strings.Contains(all.Content, first.Title) || !strings.Contains(all.Content, second.Title) {
				t.Fatalf("content %q", all.Content)
			}
			if len(all.Check) != 10 || strings.Trim(all.Check, "23456789abcdefghjkmnpqrstuvwxyz") != "" {
				t.Fatalf("check part %q", all.Check)
			}
			recs := must(v.certs.Records(v.super.ctx, all))(t)
			sum := 0
			for _, r := range recs {
				sum += r.Minutes
			}
			if len(recs) != 3 || sum != all.Minutes {
				t.Fatalf("the certificate covers %d records of %d minutes, says %d", len(recs), sum, all.Minutes)
			}
			if strings.Contains(all.IDMasked, id[6:14]) {
				t.Fatal("the certificate shows the birth date digits of the ID number")
			}
		})
		if all == nil {
			t.Fatal("the steps below need the certificate")
		}
		issues := []struct {
			name        string
			by          user
			who         int64
			from, to    time.Time
			minutes     int
			kind        jifen.Kind
			code, field string
		}{
			{"a period covering only the first activity counts only its record", vol, vol.p.ID, base, between, 120, "", "", ""},
			{"a period covering only the corrected activity counts the correction", vol, vol.p.ID, between, time.Time{}, 60, "", "", ""},
			{"the county's admin issues for a person in scope", v.adminA, vol.p.ID, time.Time{}, time.Time{}, 180, "", "", ""},
			{"a period without service is refused with no_service", vol, vol.p.ID, base.AddDate(-1, 0, 0), base.AddDate(0, -6, 0), 0, jifen.KindConflict, "no_service", ""},
			{"a person without any service is refused with no_service", v.resident, v.resident.p.ID, time.Time{}, time.Time{}, 0, jifen.KindConflict, "no_service", ""},
			{"an end before the start is invalid", vol, vol.p.ID, between, base, 0, jifen.KindInvalid, "invalid", "to"},
			{"another county's admin cannot issue for someone outside their scope", v.adminB, vol.p.ID, time.Time{}, time.Time{}, 0, jifen.KindNotFound, "not_found", ""},
			{"a resident cannot issue for someone else", v.residentB, vol.p.ID, time.Time{}, time.Time{}, 0, jifen.KindNotFound, "not_found", ""},
		}
		for _, tc := range issues {
			t.Run(tc.name, func(t *testing.T) {
				audits := len(v.auditEntries(t, "certificate.issue"))
				c, err := v.certs.Issue(tc.by.ctx, jifen.CertificateRequest{PersonID: tc.who, From: tc.from, To: tc.to})
				wantErr(t, err, tc.kind, tc.code, tc.field)
				if tc.kind != "" {
					if n := len(v.auditEntries(t, "certificate.issue")); n != audits {
						t.Fatal("a refused issue was registered")
					}
					return
				}
				issuer := tc.by.p.Name
				if tc.by.p.ID == tc.who {
					issuer = "系统自动出具（本人申请）" // self-service
				}
				if c.Minutes != tc.minutes || c.IssuedBy != tc.by.p.ID || c.IssuedByName != issuer {
					t.Fatalf("certificate %s: %d minutes issued by %d %q", c.Serial, c.Minutes, c.IssuedBy, c.IssuedByName)
				}
			})
		}

		other := must(v.certs.Issue(v.adminA.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, From: base, To: between}))(t)
		checks := []struct {
			name string
			code string
			ok   bool
		}{
			{"the right code finds the certificate, with nobody signed in", all.VerifyCode(), true},
			{"the check part typed in capitals still finds it", all.Serial + "-" + strings.ToUpper(all.Check), true},
			{"surrounding spaces are ignored", " " + all.VerifyCode() + "\n", true},
			{"a wrong check part finds nothing", all.Serial + "-" + strings.Map(func(r rune) rune {
				if r == '2' {
					return '3'
				}
				return '2'
			}, all.Check), false},
			{"a check part one character short finds nothing", all.Serial + "-" + all.Check[:9], false},
			{"another certificate's serial with this check part finds nothing", other.Serial + "-" + all.Check, false},
			{"a serial alone finds nothing", all.Serial, false},
			{"a serial with an empty check part finds nothing", all.Serial + "-", false},
			{"an unknown serial finds nothing", "ZM20269999999-" + all.Check, false},
			{"an overlong code finds nothing", all.Serial + "-" + strings.Repeat("a", 100), false},
		}
		for _, tc := range checks {
			t.Run(tc.name, func(t *testing.T) {
				c, err := v.certs.Check(context.Background(), tc.code)
				if !tc.ok {
					wantErr(t, err, jifen.KindNotFound, "not_found", "")
					return
				}
				wantErr(t, err, "", "", "")
				if c.Serial != all.Serial || c.Minutes != all.Minutes || c.PersonName != all.PersonName {
					t.Fatalf("check found %+v", c)
				}
			})
		}

		t.Run("the person and staff over them read a certificate, others find nothing", func(t *testing.T) {
			for _, u := range []user{vol, v.adminA, v.super} {
				must(v.certs.Certificate(u.ctx, all.Serial))(t)
			}
			for _, u := range []user{v.residentB, v.adminB, v.resident} {
				_, err := v.certs.Certificate(u.ctx, all.Serial)
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
		})
		t.Run("serials from the register are unique and increasing", func(t *testing.T) {
			var serials []string
			for range 4 {
				v.clock.Advance(time.Second)
				serials = append(serials, must(v.certs.Issue(vol.ctx, jifen.CertificateRequest{PersonID: vol.p.ID}))(t).Serial)
			}
			if !slices.IsSorted(serials) || len(slices.Compact(slices.Clone(serials))) != len(serials) {
				t.Fatalf("serials in issue order: %v", serials)
			}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := v.certs.Issue(v.adminA.ctx, jifen.CertificateRequest{PersonID: vol.p.ID})
					if err != nil {
						t.Errorf("concurrent issue: %v", err)
						return
					}
					mu.Lock()
					serials = append(serials, c.Serial)
					mu.Unlock()
				}()
			}
			wg.Wait()
			seen := map[string]bool{all.Serial: true, other.Serial: true}
			for _, s := range serials {
				if seen[s] || !serialPattern.MatchString(s) {
					t.Fatalf("serial %q repeats or is malformed", s)
				}
				seen[s] = true
			}
		})
	})
}

// Whoever records certifies (谁记录谁证明): a certificate in the name of the
// org that ran the activities covers what it and the teams under it
// recorded; the volunteer or that org's staff may ask for it, staff of
// another org may not, and staff asking for someone it never recorded
// learn nothing of them.
func TestCertificateFromTheOrgThatRecorded(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		v := newVS(t, db)
		vol := v.member(t, "王志愿", v.villageA)
		v.serve(t, v.teamA, 2*time.Hour, vol)
		v.clock.Advance(24 * time.Hour)
		v.serve(t, v.villageA, 90*time.Minute, vol)

		issuers := must(v.certs.Issuers(vol.ctx, vol.p.ID))(t)
		if len(issuers) != 2 || issuers[0].OrgID != v.teamA.ID || issuers[0].Minutes != 120 || issuers[0].Records != 1 || !issuers[0].CanIssue ||
			issuers[1].OrgID != v.villageA.ID || issuers[1].Minutes != 90 || !issuers[1].CanIssue {
			t.Fatalf("issuers for the volunteer: %+v, want the team (120) then the village (90)", issuers)
		}
		team := must(v.certs.Issue(vol.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: v.teamA.ID}))(t)
		if !team.OrgOnly || team.OrgID != v.teamA.ID || team.IssuerName != v.teamA.Name || team.Minutes != 120 || team.Records != 1 || team.Notes == "" {
			t.Fatalf("the team's certificate: %+v", team)
		}
		if recs := must(v.certs.Records(vol.ctx, team))(t); len(recs) != 1 || recs[0].OrgID != v.teamA.ID {
			t.Fatalf("the team's certificate lists %d records, want the team's one", len(recs))
		}
		village := must(v.certs.Issue(vol.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: v.villageA.ID}))(t)
		if village.Minutes != 210 || village.Records != 2 || len(must(v.certs.Records(vol.ctx, village))(t)) != 2 {
			t.Fatalf("the village's certificate: %d minutes, %d records; want its team's too", village.Minutes, village.Records)
		}
		home := must(v.certs.Issue(vol.ctx, jifen.CertificateRequest{PersonID: vol.p.ID}))(t)
		if home.OrgOnly || home.OrgID != v.villageA.ID || home.Notes != "" {
			t.Fatalf("a certificate of the home org: %+v", home)
		}

		// The team's leader does not see the volunteer (who lives in the
		// village), but certifies what the team recorded, and reads it.
		if _, err := v.people.Person(v.leader.ctx, vol.p.ID); jifen.ErrorCode(err) != "not_found" {
			t.Fatalf("the leader sees the volunteer (%v): the test needs one who does not", err)
		}
		byLeader := must(v.certs.Issue(v.leader.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: v.teamA.ID}))(t)
		if byLeader.Minutes != 120 || byLeader.IssuedBy != v.leader.p.ID {
			t.Fatalf("the leader's certificate: %+v", byLeader)
		}
		must(v.certs.Certificate(v.leader.ctx, byLeader.Serial))(t)
		if _, err := v.certs.Certificate(v.leader.ctx, home.Serial); jifen.ErrorCode(err) != "not_found" {
			t.Fatalf("the leader read the home org's certificate: %v", err)
		}
		for _, tc := range []struct {
			name  string
			ctx   context.Context
			in    jifen.CertificateRequest
			code  string
			field string
		}{
			{"the leader in the village's name", v.leader.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: v.villageA.ID}, "forbidden", "org_id"},
			{"another county's admin in the team's name", v.adminB.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: v.teamA.ID}, "invalid", "org_id"},
			{"the leader for someone the team never recorded", v.leader.ctx, jifen.CertificateRequest{PersonID: v.residentB.p.ID, OrgID: v.teamA.ID}, "not_found", ""},
			// A volunteer asks the orgs that recorded them, not those above,
			// and an org that does not exist is answered as one that did not.
			{"the volunteer from an org that recorded nothing of theirs", vol.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: v.townB.ID}, "no_service", "org_id"},
			{"the volunteer in the name of the county above", vol.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: v.countyA.ID}, "no_service", "org_id"},
			{"the volunteer from an org that does not exist", vol.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: 999999}, "no_service", "org_id"},
			{"another county's admin for an org that does not exist", v.adminB.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: 999999}, "invalid", "org_id"},
		} {
			_, err := v.certs.Issue(tc.ctx, tc.in)
			if jifen.ErrorCode(err) != tc.code || tc.field != "" && jifen.AsError(err).Field != tc.field {
				t.Errorf("%s: %v, want %s on %q", tc.name, err, tc.code, tc.field)
			}
		}
		// The county's admin issues in the county's name.
		if c := must(v.certs.Issue(v.adminA.ctx, jifen.CertificateRequest{PersonID: vol.p.ID, OrgID: v.countyA.ID}))(t); c.Minutes != 210 || c.IssuerName != v.countyA.Name {
			t.Errorf("the county's certificate: %+v", c)
		}

		// An issued certificate keeps the records it covered when the team
		// that recorded some of them moves to another village.
		must(v.orgs.MoveOrg(v.super.ctx, v.teamA.ID, v.villageB.ID))(t)
		recs := must(v.certs.Records(vol.ctx, village))(t)
		sum := 0
		for _, r := range recs {
			sum += r.Minutes
		}
		if len(recs) != 2 || sum != village.Minutes {
			t.Errorf("after the team moved away the village's certificate lists %d records of %d minutes, want 2 of %d", len(recs), sum, village.Minutes)
		}
	})
}
