package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"jifen"
	"jifen/secret"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// asError returns err as a *jifen.Error, failing the test otherwise.
func asError(t *testing.T, err error) *jifen.Error {
	t.Helper()
	var e *jifen.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a *jifen.Error", err)
	}
	return e
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		noPassword := must(f.people.CreatePerson(f.adminA.ctx, jifen.PersonInput{Name: "无密码", Gender: jifen.Male, Phone: f.phone(), OrgID: f.villageA.ID}))(t)
		cases := []struct {
			name            string
			phone, password string
			want            jifen.Kind
			code            string
		}{
			{"the right phone and password open a session", f.resident.phone, pw, "", ""},
			{"the phone may be typed with +86, spaces and dashes", "+86 " + f.resident.phone[:3] + " " + f.resident.phone[3:7] + "-" + f.resident.phone[7:], pw, "", ""},
			{"a wrong password is refused with bad_credentials", f.leader.phone, "password2", jifen.KindUnauthorized, "bad_credentials"},
			{"an unknown phone is refused with bad_credentials", "13000000000", pw, jifen.KindUnauthorized, "bad_credentials"},
			{"a person without a password is refused with bad_credentials", noPassword.Phone, pw, jifen.KindUnauthorized, "bad_credentials"},
			{"an empty password is refused as invalid", f.resident.phone, "", jifen.KindInvalid, "invalid"},
			{"an empty phone is refused as invalid", "", pw, jifen.KindInvalid, "invalid"},
			{"an absurdly long password is refused with bad_credentials", f.resident.phone, strings.Repeat("p", 2000), jifen.KindUnauthorized, "bad_credentials"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tok, err := f.auth.SignIn(context.Background(), tc.phone, tc.password, "api", localIP)
				if tc.want != "" {
					field := ""
					if tc.want == jifen.KindInvalid {
						field = "phone"
					}
					wantErr(t, err, tc.want, tc.code, field)
					if tok != "" {
						t.Fatal("a refused sign-in returned a token")
					}
					return
				}
				wantErr(t, err, "", "", "")
				a := must(f.auth.Authenticate(context.Background(), tok, localIP))(t)
				if a.PersonID != f.resident.p.ID || a.HomeOrgID != f.villageA.ID || a.HomeOrgPath != f.villageA.Path || a.IP != localIP {
					t.Fatalf("actor = %+v", a)
				}
			})
		}
		t.Run("a wrong password and an unknown phone give the very same answer", func(t *testing.T) {
			_, e1 := f.auth.SignIn(context.Background(), f.adminB.phone, "wrong-password", "web", localIP)
			_, e2 := f.auth.SignIn(context.Background(), "13000000001", "wrong-password", "web", localIP)
			a, b := asError(t, e1), asError(t, e2)
			if a.Kind != b.Kind || a.Code != b.Code || a.Field != b.Field || a.Zh != b.Zh || a.En != b.En {
				t.Fatalf("%v vs %v", a, b)
			}
		})
	})
}

func TestSignInThrottle(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		ip, other := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("198.51.100.9")
		signIn := func(login, password string, ip netip.Addr) func() error {
			return func() error {
				_, err := f.auth.SignIn(context.Background(), login, password, "web", ip)
				return err
			}
		}
		type step struct {
			name string
			do   func() error
			want jifen.Kind
			code string
		}
		var steps []step
		for i := 1; i <= 5; i++ {
			steps = append(steps, step{name: fmt.Sprintf("wrong password %d of 5 is bad_credentials", i),
				do: signIn(f.resident.phone, "nope-nope", ip), want: jifen.KindUnauthorized, code: "bad_credentials"})
		}
		steps = append(steps, []step{
			{name: "the sixth attempt is throttled even with the right password", do: signIn(f.resident.phone, pw, ip), want: jifen.KindTooMany, code: "too_many_attempts"},
			{name: "the phone stays throttled from another address", do: signIn(f.resident.phone, pw, other), want: jifen.KindTooMany, code: "too_many_attempts"},
			{name: "the phone stays throttled when typed differently", do: signIn("+86 "+f.resident.phone, pw, other), want: jifen.KindTooMany, code: "too_many_attempts"},
			{name: "the account stays throttled when signing in by volunteer number", do: signIn(f.resident.p.VolunteerNo, pw, other), want: jifen.KindTooMany, code: "too_many_attempts"},
			{name: "another phone from the same address still signs in", do: signIn(f.leader.phone, pw, ip)},
			{name: "a third phone from the same address still signs in", do: signIn(f.adminA.phone, pw, ip)},
			{name: "a wrong password on another phone is still only bad_credentials", do: signIn(f.residentB.phone, "nope-nope", ip), want: jifen.KindUnauthorized, code: "bad_credentials"},
			{name: "fifteen minutes later the phone signs in again", do: func() error {
				f.db.Now = func() time.Time { return time.Now().Add(16 * time.Minute) }
				defer func() { f.db.Now = time.Now }()
				return signIn(f.resident.phone, pw, ip)()
			}},
		}...)
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				wantErr(t, st.do(), st.want, st.code, "")
			})
		}
	})
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		token := func(t *testing.T) string {
			return must(f.auth.SignIn(context.Background(), f.adminA.phone, pw, "api", localIP))(t)
		}
		cases := []struct {
			name  string
			token func(t *testing.T) string
			clock time.Duration
			ok    bool
		}{
			{"a fresh token resolves to the person and their grants", token, 0, true},
			{"a token 29 days old still works", token, 29 * 24 * time.Hour, true},
			{"a token past its 30 days is unauthorized", token, 30*24*time.Hour + time.Minute, false},
			{"an unknown token is unauthorized", func(t *testing.T) string { return "no-such-token-at-all" }, 0, false},
			{"an empty token is unauthorized", func(t *testing.T) string { return "" }, 0, false},
			{"an overlong token is unauthorized", func(t *testing.T) string { return strings.Repeat("a", 300) }, 0, false},
			{"a signed-out token is unauthorized", func(t *testing.T) string {
				tok := token(t)
				wantErr(t, f.auth.SignOut(context.Background(), tok), "", "", "")
				return tok
			}, 0, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tok := tc.token(t)
				f.db.Now = func() time.Time { return time.Now().Add(tc.clock) }
				defer func() { f.db.Now = time.Now }()
				a, err := f.auth.Authenticate(context.Background(), tok, localIP)
				if !tc.ok {
					wantErr(t, err, jifen.KindUnauthorized, "unauthorized", "")
					return
				}
				wantErr(t, err, "", "", "")
				if a.PersonID != f.adminA.p.ID || len(a.Grants) != 1 || a.Grants[0].Role != jifen.RoleOrgAdmin || a.Grants[0].OrgPath != f.countyA.Path {
					t.Fatalf("actor = %+v", a)
				}
			})
		}
	})
}

// TestPurgeExpiredSessions: the purge deletes every session past its
// expiry, a backlog of several batches included, and no live one.
func TestPurgeExpiredSessions(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		sys := jifen.WithActor(context.Background(), jifen.SystemActor())
		signedIn := func(t *testing.T, ago time.Duration) string {
			t.Helper()
			f.db.Now = func() time.Time { return time.Now().Add(-ago) }
			defer func() { f.db.Now = time.Now }()
			return must(f.auth.SignIn(context.Background(), f.resident.phone, pw, "web", localIP))(t)
		}
		count := func(t *testing.T, where string, args ...any) int {
			t.Helper()
			rows, err := db.QueryForTest(sys, "SELECT COUNT(*) FROM sessions WHERE "+where, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			if !rows.Next() || rows.Scan(&n) != nil {
				t.Fatalf("count sessions where %s: %v", where, rows.Err())
			}
			return n
		}
		fresh := signedIn(t, 0)
		lastDay := signedIn(t, 29*24*time.Hour)
		lapsed := signedIn(t, 31*24*time.Hour)
		// A busy server's backlog: more expired sessions than two batches hold.
		const backlog = 2500
		long := time.Now().UTC().Add(-40 * 24 * time.Hour).Truncate(time.Microsecond)
		if err := db.ExecForTest(sys, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO sessions (token_hash, person_id, kind, ip, created_at, expires_at)
			SELECT 'backlog-' || i, ?, 'web', '10.0.0.9', ?, ? FROM n`, backlog, f.resident.p.ID, long, long.Add(30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		expired, all := count(t, "expires_at < ?", now), count(t, "1 = 1")
		if expired != backlog+1 {
			t.Fatalf("%d expired sessions before the purge, want %d", expired, backlog+1)
		}

		t.Run("someone other than the system may not purge, and nothing goes", func(t *testing.T) {
			_, err := f.auth.PurgeExpiredSessions(f.adminA.ctx)
			wantErr(t, err, jifen.KindForbidden, "forbidden", "")
			if n := count(t, "1 = 1"); n != all {
				t.Fatalf("%d sessions after a refused purge, want %d", n, all)
			}
		})

		// SQLite tells which statements the purge runs, to count its batches.
		var mu sync.Mutex
		var heard []string
		stop := sqldb.HearStatements(func(q string) {
			if strings.HasPrefix(q, "DELETE FROM sessions WHERE token_hash IN") {
				mu.Lock()
				heard = append(heard, q)
				mu.Unlock()
			}
		})
		n, err := f.auth.PurgeExpiredSessions(sys)
		stop()
		wantErr(t, err, "", "", "")

		t.Run("every expired session goes, batch after batch", func(t *testing.T) {
			if n != backlog+1 {
				t.Fatalf("purged %d, want %d", n, backlog+1)
			}
			if left := count(t, "expires_at < ?", now); left != 0 {
				t.Fatalf("%d expired sessions left", left)
			}
			if left := count(t, "token_hash = ?", secret.SHA256(lapsed)); left != 0 {
				t.Fatal("the lapsed sign-in's session is still there")
			}
			if db.Dialect() == "sqlite" && len(heard) != 3 {
				t.Fatalf("the purge ran %d deletes, want 3 batches (1,000, 1,000, 501)", len(heard))
			}
		})
		t.Run("live sessions stay and still authenticate", func(t *testing.T) {
			if left := count(t, "1 = 1"); left != all-expired {
				t.Fatalf("%d sessions after the purge, want %d", left, all-expired)
			}
			for name, tok := range map[string]string{"fresh": fresh, "a day left": lastDay} {
				if a, err := f.auth.Authenticate(context.Background(), tok, localIP); err != nil || a.PersonID != f.resident.p.ID {
					t.Fatalf("the %s session after the purge: %+v %v", name, a, err)
				}
			}
			if _, err := f.auth.Authenticate(context.Background(), lapsed, localIP); err == nil {
				t.Fatal("the lapsed session authenticates")
			}
		})
		t.Run("a second purge finds nothing", func(t *testing.T) {
			if n := must(f.auth.PurgeExpiredSessions(sys))(t); n != 0 {
				t.Fatalf("purged %d again", n)
			}
		})
		t.Run("a session purges once its 30 days are over", func(t *testing.T) {
			f.db.Now = func() time.Time { return time.Now().Add(24*time.Hour + time.Minute) }
			defer func() { f.db.Now = time.Now }()
			if n := must(f.auth.PurgeExpiredSessions(sys))(t); n != 1 {
				t.Fatalf("purged %d a day later, want the one with a day left", n)
			}
			if _, err := f.auth.Authenticate(context.Background(), fresh, localIP); err != nil {
				t.Fatalf("the fresh session a day later: %v", err)
			}
		})
		// Query plans are checked on SQLite, as in plan_test.go.
		if db.Dialect() == "sqlite" {
			t.Run("the batches are found by the expiry index", func(t *testing.T) {
				if len(heard) == 0 {
					t.Fatal("the purge's statement was not heard")
				}
				plan, err := queryPlan(sys, db, heard[0], now, 1000)
				if err != nil {
					t.Fatal(err)
				}
				joined := strings.Join(plan, " | ")
				if strings.Contains(joined, "SCAN sessions") || !strings.Contains(joined, "sessions_expires") {
					t.Fatalf("the purge's plan: %s", joined)
				}
			})
		}
	})
}

func adult(name, phone string, org int64) jifen.SignupInput {
	return jifen.SignupInput{PersonInput: jifen.PersonInput{Name: name, Gender: jifen.Female, BirthDate: "1990-03-04", Phone: phone, Password: pw, OrgID: org},
		ConsentVersion: jifen.PrivacyNoticeVersion}
}

// birthYearsAgo counts on the calendar of Asia/Shanghai, as sign-up does:
// between 16:00 and 24:00 UTC that is already tomorrow.
func birthYearsAgo(years, days int) string {
	return time.Now().In(jifen.Zone).AddDate(-years, 0, days).Format("2006-01-02")
}

func TestSignup(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		minor := func(phone string) jifen.SignupInput {
			in := adult("小明", phone, f.villageA.ID)
			in.BirthDate = birthYearsAgo(10, 0)
			return in
		}
		cases := []struct {
			name  string
			in    func(phone string) jifen.SignupInput
			want  jifen.Kind
			code  string
			field string
		}{
			{"an adult with the current consent signs up and is signed in", func(p string) jifen.SignupInput { return adult("自助", p, f.villageA.ID) }, "", "", ""},
			{"a wrong consent version is refused", func(p string) jifen.SignupInput {
				in := adult("旧版", p, f.villageA.ID)
				in.ConsentVersion = "2020-01"
				return in
			}, jifen.KindInvalid, "invalid", "consent"},
			{"no consent is refused", func(p string) jifen.SignupInput {
				in := adult("未同意", p, f.villageA.ID)
				in.ConsentVersion = ""
				return in
			}, jifen.KindInvalid, "invalid", "consent"},
			{"an under-14 without a guardian is refused on guardian_name", minor, jifen.KindInvalid, "invalid", "guardian_name"},
			{"an under-14 whose guardian did not tick consent is refused", func(p string) jifen.SignupInput {
				in := minor(p)
				in.GuardianName, in.GuardianPhone = "大明", "13811112222"
				return in
			}, jifen.KindInvalid, "invalid", "guardian_name"},
			{"an under-14 whose guardian has no valid phone is refused", func(p string) jifen.SignupInput {
				in := minor(p)
				in.GuardianName, in.GuardianPhone, in.GuardianConsent = "大明", "12345", true
				return in
			}, jifen.KindInvalid, "invalid", "guardian_phone"},
			{"an under-14 with a guardian's consent signs up", func(p string) jifen.SignupInput {
				in := minor(p)
				in.GuardianName, in.GuardianPhone, in.GuardianConsent = "大明", "138 1111 2222", true
				return in
			}, "", "", ""},
			{"someone turning 14 today needs no guardian", func(p string) jifen.SignupInput {
				in := minor(p)
				in.BirthDate = birthYearsAgo(14, 0)
				return in
			}, "", "", ""},
			{"someone turning 14 tomorrow still needs a guardian", func(p string) jifen.SignupInput {
				in := minor(p)
				in.BirthDate = birthYearsAgo(14, 1)
				return in
			}, jifen.KindInvalid, "invalid", "guardian_name"},
			{"a sign-up without a birth date is refused", func(p string) jifen.SignupInput {
				in := adult("无生日", p, f.villageA.ID)
				in.BirthDate = ""
				return in
			}, jifen.KindInvalid, "invalid", "birth_date"},
			{"a sign-up without a password is refused", func(p string) jifen.SignupInput {
				in := adult("无密码", p, f.villageA.ID)
				in.Password = ""
				return in
			}, jifen.KindInvalid, "invalid", "password"},
			{"a short password is refused", func(p string) jifen.SignupInput {
				in := adult("短密码", p, f.villageA.ID)
				in.Password = "1234567"
				return in
			}, jifen.KindInvalid, "invalid", "password"},
			{"a sign-up without a phone is refused", func(p string) jifen.SignupInput { return adult("无手机", "", f.villageA.ID) }, jifen.KindInvalid, "invalid", "phone"},
			{"a registered phone is refused with phone_taken", func(p string) jifen.SignupInput { return adult("重号", f.resident.phone, f.villageA.ID) }, jifen.KindConflict, "phone_taken", "phone"},
			{"a missing org is refused", func(p string) jifen.SignupInput { return adult("无组织", p, 999999) }, jifen.KindInvalid, "invalid", "org_id"},
			{"signing up into a team lives in its village and joins it", func(p string) jifen.SignupInput { return adult("入队", p, f.teamA.ID) }, "", "", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if strings.Contains(tc.name, "turning 14") && time.Now().In(jifen.Zone).Format("0102") == "0229" {
					t.Skip("nobody turns 14 on a leap day")
				}
				people := f.peopleCount(t)
				in := tc.in(f.phone())
				p, tok, err := f.auth.Signup(context.Background(), in, localIP)
				wantErr(t, err, tc.want, tc.code, tc.field)
				if tc.want != "" {
					if n := f.peopleCount(t); n != people {
						t.Fatalf("people %d → %d after a refused sign-up", people, n)
					}
					return
				}
				if p.Status != jifen.PersonActive || p.Phone != jifen.NormalizeMobile(in.Phone) || p.HomeOrgID != f.villageA.ID || !p.HasPassword {
					t.Fatalf("person = %+v", p)
				}
				a := must(f.auth.Authenticate(context.Background(), tok, localIP))(t)
				if a.PersonID != p.ID || len(a.Grants) != 0 {
					t.Fatalf("actor = %+v", a)
				}
				if in.OrgID == f.teamA.ID {
					if q := must(f.people.Person(f.leader.ctx, p.ID))(t); len(q.Teams) != 1 || q.Teams[0].ID != f.teamA.ID {
						t.Fatalf("teams = %v", q.Teams)
					}
				}
				if e := f.auditEntries(t, "person.signup")[0]; e.ActorID != p.ID || e.TargetID != p.ID || e.IP != localIP.String() || e.Detail != "active" {
					t.Fatalf("audit = %+v", e)
				}
			})
		}
		t.Run("a phone of only spaces is refused like no phone", func(t *testing.T) {
			people := f.peopleCount(t)
			_, _, err := f.auth.Signup(context.Background(), adult("空格号", "   ", f.villageA.ID), localIP)
			wantErr(t, err, jifen.KindInvalid, "invalid", "phone")
			if n := f.peopleCount(t); n != people {
				t.Fatalf("people %d → %d", people, n)
			}
		})
	})
}

func TestSignupRecordsConsents(t *testing.T) {
	t.Parallel()
	eachSQL(t, func(t *testing.T, db *sqldb.DB, raw *sql.DB) {
		f := newFx(t, db)
		guarded := adult("小红", f.phone(), f.villageA.ID)
		guarded.BirthDate = birthYearsAgo(9, 0)
		guarded.GuardianName, guarded.GuardianPhone, guarded.GuardianConsent = " 红妈 ", "+86 138-2222-3333", true
		cases := []struct {
			name string
			in   jifen.SignupInput
			want []string // kind version guardian_name guardian_phone ip
		}{
			{"an adult's sign-up records the privacy notice", adult("成年", f.phone(), f.villageA.ID),
				[]string{"privacy_notice " + jifen.PrivacyNoticeVersion + "   10.0.0.1"}},
			{"a child's sign-up records the notice and the guardian's consent", guarded,
				[]string{"privacy_notice " + jifen.PrivacyNoticeVersion + "   10.0.0.1", "guardian " + jifen.PrivacyNoticeVersion + " 红妈 13822223333 10.0.0.1"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p, _, err := f.auth.Signup(context.Background(), tc.in, localIP)
				wantErr(t, err, "", "", "")
				rows, err := raw.Query(fmt.Sprintf("SELECT kind, version, guardian_name, guardian_phone, ip FROM consents WHERE person_id = %d ORDER BY id", p.ID))
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var got []string
				for rows.Next() {
					var k, v, gn, gp, ip string
					if err := rows.Scan(&k, &v, &gn, &gp, &ip); err != nil {
						t.Fatal(err)
					}
					got = append(got, strings.Join([]string{k, v, gn, gp, ip}, " "))
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("consents = %q, want %q", got, tc.want)
				}
			})
		}
		t.Run("a refused sign-up records no consent", func(t *testing.T) {
			var before, after int
			raw.QueryRow("SELECT COUNT(*) FROM consents").Scan(&before)
			in := adult("拒绝", f.resident.phone, f.villageA.ID) // phone taken
			_, _, err := f.auth.Signup(context.Background(), in, localIP)
			wantErr(t, err, jifen.KindConflict, "phone_taken", "phone")
			raw.QueryRow("SELECT COUNT(*) FROM consents").Scan(&after)
			if before == 0 || after != before {
				t.Fatalf("consents %d → %d", before, after)
			}
		})
	})
}

func TestSignupApproval(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		village := must(f.orgs.CreateOrg(f.adminA.ctx, jifen.OrgInput{Name: "审核村", Kind: jifen.OrgVillage, ParentID: &f.townA.ID, SignupRequiresApproval: true}))(t)
		phone := f.phone()
		var pending *jifen.Person
		signIn := func(password string) error {
			_, err := f.auth.SignIn(context.Background(), phone, password, "web", localIP)
			return err
		}
		steps := []struct {
			name  string
			do    func(t *testing.T) error
			want  jifen.Kind
			code  string
			field string
		}{
			{"the sign-up is pending and opens no session", func(t *testing.T) error {
				p, tok, err := f.auth.Signup(context.Background(), adult("待审", phone, village.ID), localIP)
				if err == nil && (p.Status != jifen.PersonPending || tok != "") {
					t.Fatalf("status %s, token %q", p.Status, tok)
				}
				pending = p
				return err
			}, "", "", ""},
			{"the pending person cannot sign in", func(*testing.T) error { return signIn(pw) }, jifen.KindForbidden, "pending_approval", ""},
			{"a wrong password does not reveal the pending state", func(*testing.T) error { return signIn("password2") }, jifen.KindUnauthorized, "bad_credentials", ""},
			{"a pending person cannot be granted a role", func(*testing.T) error {
				_, err := f.auth.Grant(f.adminA.ctx, pending.ID, village.ID, jifen.RoleVolunteer)
				return err
			}, jifen.KindConflict, "person_inactive", ""},
			{"nobody approves themselves", func(*testing.T) error { return f.people.ApprovePerson(f.adminA.ctx, f.adminA.p.ID) }, jifen.KindConflict, "self_approval", ""},
			{"county B's admin cannot approve", func(*testing.T) error { return f.people.ApprovePerson(f.adminB.ctx, pending.ID) }, jifen.KindNotFound, "not_found", ""},
			{"a team leader cannot approve", func(*testing.T) error { return f.people.ApprovePerson(f.leader.ctx, pending.ID) }, jifen.KindNotFound, "not_found", ""},
			{"still pending after the refusals", func(*testing.T) error { return signIn(pw) }, jifen.KindForbidden, "pending_approval", ""},
			{"the county admin approves", func(*testing.T) error { return f.people.ApprovePerson(f.adminA.ctx, pending.ID) }, "", "", ""},
			{"the approved person signs in", func(*testing.T) error { return signIn(pw) }, "", "", ""},
			{"a second approval is refused", func(*testing.T) error { return f.people.ApprovePerson(f.adminA.ctx, pending.ID) }, jifen.KindConflict, "not_pending", ""},
			{"the approval is audited and told to the person", func(t *testing.T) error {
				if e := f.auditEntries(t, "person.approve"); len(e) != 1 || e[0].ActorID != f.adminA.p.ID || e[0].TargetID != pending.ID {
					t.Fatalf("audit = %v", e)
				}
				l, _ := must2(f.inbox.Messages(f.signIn(t, phone), 1, 10))(t)
				if len(l) != 2 || l[0].Title != "注册已通过审核" || !strings.Contains(l[1].Body, "审核通过后") {
					t.Fatalf("inbox = %v", l)
				}
				return nil
			}, "", "", ""},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) { wantErr(t, st.do(t), st.want, st.code, st.field) })
		}
	})
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		ctx := context.Background()
		p, phone := f.person(t, "忘密码", f.villageA)
		oldSession := must(f.auth.SignIn(ctx, phone, pw, "web", localIP))(t)
		imported := must(f.people.ImportPeople(f.adminA.ctx, f.villageA.ID, []jifen.PersonInput{{Name: "无手机", Gender: jifen.Male, PoliticalStatus: jifen.Masses}}))(t)
		if imported.Created != 1 {
			t.Fatal("import failed")
		}
		l, _ := must2(f.people.People(f.adminA.ctx, jifen.PersonFilter{Q: "无手机"}))(t)
		noPhone := l[0]
		var code, code2 string
		steps := []struct {
			name  string
			do    func(t *testing.T) error
			want  jifen.Kind
			code  string
			field string
		}{
			{"nobody issues a code to themselves", func(*testing.T) error {
				_, _, err := f.auth.IssueResetCode(f.adminA.ctx, f.adminA.p.ID)
				return err
			}, jifen.KindConflict, "self_approval", ""},
			{"county B's admin cannot issue a code", func(*testing.T) error {
				_, _, err := f.auth.IssueResetCode(f.adminB.ctx, p.ID)
				return err
			}, jifen.KindNotFound, "not_found", ""},
			{"a team leader cannot issue a code", func(*testing.T) error {
				_, _, err := f.auth.IssueResetCode(f.leader.ctx, p.ID)
				return err
			}, jifen.KindNotFound, "not_found", ""},
			{"the county admin issues an 8-digit code valid for 72 hours", func(t *testing.T) error {
				c, exp, err := f.auth.IssueResetCode(f.adminA.ctx, p.ID)
				if err == nil && (len(c) != 8 || exp.Sub(time.Now()) < 71*time.Hour || exp.Sub(time.Now()) > 73*time.Hour) {
					t.Fatalf("code %q expires %v", c, exp)
				}
				code = c
				return err
			}, "", "", ""},
			{"a wrong code is refused", func(*testing.T) error { return f.auth.ResetPassword(ctx, phone, "00000000", "new-password", localIP) }, jifen.KindInvalid, "bad_code", "code"},
			{"a short new password is refused", func(*testing.T) error { return f.auth.ResetPassword(ctx, phone, code, "short", localIP) }, jifen.KindInvalid, "invalid", "password"},
			{"the code is someone else's for another login", func(*testing.T) error {
				return f.auth.ResetPassword(ctx, f.resident.phone, code, "new-password", localIP)
			}, jifen.KindInvalid, "bad_code", "code"},
			{"the code resets the password by phone", func(*testing.T) error { return f.auth.ResetPassword(ctx, phone, code, "new-password", localIP) }, "", "", ""},
			{"the old session has ended", func(*testing.T) error {
				_, err := f.auth.Authenticate(ctx, oldSession, localIP)
				return err
			}, jifen.KindUnauthorized, "unauthorized", ""},
			{"the old password no longer works", func(*testing.T) error {
				_, err := f.auth.SignIn(ctx, phone, pw, "web", localIP)
				return err
			}, jifen.KindUnauthorized, "bad_credentials", ""},
			{"the new password works", func(*testing.T) error {
				_, err := f.auth.SignIn(ctx, phone, "new-password", "web", localIP)
				return err
			}, "", "", ""},
			{"the code works only once", func(*testing.T) error { return f.auth.ResetPassword(ctx, phone, code, "third-password", localIP) }, jifen.KindInvalid, "bad_code", "code"},
			{"a person without a phone gets a code", func(t *testing.T) error {
				c, _, err := f.auth.IssueResetCode(f.adminA.ctx, noPhone.ID)
				code = c
				return err
			}, "", "", ""},
			{"a newer code voids the older one", func(t *testing.T) error {
				c, _, err := f.auth.IssueResetCode(f.adminA.ctx, noPhone.ID)
				code, code2 = c, code
				return err
			}, "", "", ""},
			{"the voided code is refused", func(*testing.T) error {
				return f.auth.ResetPassword(ctx, noPhone.VolunteerNo, code2, "new-password", localIP)
			}, jifen.KindInvalid, "bad_code", "code"},
			{"the newer code resets the password by volunteer number", func(*testing.T) error {
				return f.auth.ResetPassword(ctx, noPhone.VolunteerNo, code, "new-password", localIP)
			}, "", "", ""},
			{"an expired code is refused", func(t *testing.T) error {
				c, _, err := f.auth.IssueResetCode(f.adminA.ctx, p.ID)
				if err != nil {
					return err
				}
				f.db.Now = func() time.Time { return time.Now().Add(73 * time.Hour) }
				defer func() { f.db.Now = time.Now }()
				return f.auth.ResetPassword(ctx, phone, c, "later-password", localIP)
			}, jifen.KindInvalid, "bad_code", "code"},
			{"issues and resets are audited", func(t *testing.T) error {
				if n := len(f.auditEntries(t, "person.issue_code")); n != 4 {
					t.Errorf("%d issue entries", n)
				}
				l := f.auditEntries(t, "person.reset_password")
				if len(l) != 2 || l[0].TargetID != noPhone.ID || l[0].ActorID != noPhone.ID || l[1].TargetID != p.ID {
					t.Errorf("reset entries = %v", l)
				}
				return nil
			}, "", "", ""},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) { wantErr(t, st.do(t), st.want, st.code, st.field) })
		}
	})
}

func TestResetPasswordThrottle(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		ctx := context.Background()
		t.Run("five wrong codes throttle the login", func(t *testing.T) {
			for i := range 5 {
				wantErr(t, f.auth.ResetPassword(ctx, f.resident.phone, fmt.Sprintf("%08d", i), "new-password", localIP), jifen.KindInvalid, "bad_code", "code")
			}
			wantErr(t, f.auth.ResetPassword(ctx, f.resident.phone, "00000009", "new-password", localIP), jifen.KindTooMany, "too_many_attempts", "")
		})
		t.Run("the throttle holds however the login is written", func(t *testing.T) {
			wantErr(t, f.auth.ResetPassword(ctx, "+86 "+f.resident.phone, "00000010", "new-password", localIP), jifen.KindTooMany, "too_many_attempts", "")
			wantErr(t, f.auth.ResetPassword(ctx, f.resident.p.VolunteerNo, "00000011", "new-password", localIP), jifen.KindTooMany, "too_many_attempts", "")
		})
		t.Run("a reset with an admin's code lifts the sign-in lock", func(t *testing.T) {
			for range 5 {
				f.auth.SignIn(ctx, f.leader.phone, "nope-nope", "web", localIP)
			}
			code, _, err := f.auth.IssueResetCode(f.adminA.ctx, f.leader.p.ID)
			wantErr(t, err, "", "", "")
			wantErr(t, f.auth.ResetPassword(ctx, f.leader.phone, code, "new-password", localIP), "", "", "")
			_, err = f.auth.SignIn(ctx, f.leader.phone, "new-password", "web", localIP)
			wantErr(t, err, "", "", "")
		})
	})
}

func TestGrant(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		cases := []struct {
			name  string
			actor func() user
			self  bool
			org   func() *jifen.Org
			role  jifen.Role
			want  jifen.Kind
			code  string
			field string
		}{
			{"an org admin grants team_leader on a team in their county", func() user { return f.adminA }, false, func() *jifen.Org { return f.teamA }, jifen.RoleTeamLeader, "", "", ""},
			{"an org admin grants org_admin on a town in their county", func() user { return f.adminA }, false, func() *jifen.Org { return f.townA }, jifen.RoleOrgAdmin, "", "", ""},
			{"an org admin grants on their own county", func() user { return f.adminA }, false, func() *jifen.Org { return f.countyA }, jifen.RoleReviewer, "", "", ""},
			{"an org admin cannot grant on the sibling county", func() user { return f.adminA }, false, func() *jifen.Org { return f.countyB }, jifen.RoleVolunteer, jifen.KindNotFound, "not_found", ""},
			{"an org admin cannot grant on the city above", func() user { return f.adminA }, false, func() *jifen.Org { return f.root }, jifen.RoleVolunteer, jifen.KindForbidden, "forbidden", ""},
			{"an org admin cannot grant super_admin, even in their county", func() user { return f.adminA }, false, func() *jifen.Org { return f.countyA }, jifen.RoleSuperAdmin, jifen.KindForbidden, "forbidden", ""},
			{"an org admin cannot grant themselves", func() user { return f.adminA }, true, func() *jifen.Org { return f.townA }, jifen.RoleReviewer, jifen.KindConflict, "self_approval", ""},
			{"the super admin cannot grant themselves either", func() user { return f.super }, true, func() *jifen.Org { return f.countyA }, jifen.RoleOrgAdmin, jifen.KindConflict, "self_approval", ""},
			{"a team leader cannot grant on their team", func() user { return f.leader }, false, func() *jifen.Org { return f.teamA }, jifen.RoleVolunteer, jifen.KindForbidden, "forbidden", ""},
			{"an unknown role is refused", func() user { return f.adminA }, false, func() *jifen.Org { return f.teamA }, "mayor", jifen.KindInvalid, "invalid", "role"},
			{"the super admin grants super_admin", func() user { return f.super }, false, func() *jifen.Org { return f.root }, jifen.RoleSuperAdmin, "", "", ""},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				actor := tc.actor()
				grantee := actor.p
				if !tc.self {
					grantee, _ = f.person(t, fmt.Sprintf("受权人%d", i), f.villageA)
				}
				before := f.auditTotal(t)
				g, err := f.auth.Grant(actor.ctx, grantee.ID, tc.org().ID, tc.role)
				wantErr(t, err, tc.want, tc.code, tc.field)
				if tc.want != "" {
					if n := f.auditTotal(t); n != before {
						t.Fatal("a refused grant was audited")
					}
					return
				}
				if g.ID == 0 || g.PersonID != grantee.ID || g.OrgID != tc.org().ID || g.Role != tc.role {
					t.Fatalf("grant = %+v", g)
				}
				gs := must(f.auth.Grants(actor.ctx, grantee.ID))(t)
				if len(gs) != 1 || gs[0].ID != g.ID || gs[0].OrgName != tc.org().Name {
					t.Fatalf("grants = %+v", gs)
				}
				e := f.auditEntries(t, "role.grant")[0]
				if e.ActorID != actor.p.ID || e.TargetID != grantee.ID || e.OrgID != tc.org().ID {
					t.Fatalf("audit = %+v", e)
				}
				again := must(f.auth.Grant(actor.ctx, grantee.ID, tc.org().ID, tc.role))(t)
				if again.ID != g.ID || len(must(f.auth.Grants(actor.ctx, grantee.ID))(t)) != 1 {
					t.Fatal("granting twice made a second grant")
				}
			})
		}
		t.Run("the grantee is told and the grant takes effect at the next sign-in", func(t *testing.T) {
			p, phone := f.person(t, "新队长", f.villageA)
			must(f.auth.Grant(f.adminA.ctx, p.ID, f.teamA.ID, jifen.RoleTeamLeader))(t)
			ctx := f.signIn(t, phone)
			if !jifen.ActorFrom(ctx).Has(f.teamA.Path, jifen.RoleTeamLeader) {
				t.Fatal("the new grant is not in the actor")
			}
			l, _ := must2(f.inbox.Messages(ctx, 1, 10))(t)
			if len(l) != 1 || l[0].Title != "角色变更" || !strings.Contains(l[0].Body, f.teamA.Name) {
				t.Fatalf("inbox = %v", l)
			}
		})
		t.Run("an org admin revokes in their county but not a super_admin grant", func(t *testing.T) {
			p, _ := f.person(t, "被撤销", f.villageA)
			g := must(f.auth.Grant(f.adminA.ctx, p.ID, f.villageA.ID, jifen.RoleVolunteer))(t)
			wantErr(t, f.auth.RevokeGrant(f.adminB.ctx, g.ID), jifen.KindNotFound, "not_found", "")
			wantErr(t, f.auth.RevokeGrant(f.adminA.ctx, g.ID), "", "", "")
			if gs := must(f.auth.Grants(f.adminA.ctx, p.ID))(t); len(gs) != 0 {
				t.Fatalf("grants = %v", gs)
			}
			if e := f.auditEntries(t, "role.revoke")[0]; e.TargetID != p.ID || e.Detail != "volunteer" {
				t.Fatalf("audit = %+v", e)
			}
			sg := must(f.auth.Grant(f.super.ctx, p.ID, f.countyA.ID, jifen.RoleSuperAdmin))(t)
			wantErr(t, f.auth.RevokeGrant(f.adminA.ctx, sg.ID), jifen.KindForbidden, "forbidden", "")
			wantErr(t, f.auth.RevokeGrant(f.adminA.ctx, 999999), jifen.KindNotFound, "not_found", "")
		})
	})
}

func TestInbox(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFx(t, db)
		p, tok := must2(f.auth.Signup(context.Background(), adult("新居民", f.phone(), f.villageA.ID), localIP))(t)
		me := jifen.WithActor(context.Background(), must(f.auth.Authenticate(context.Background(), tok, localIP))(t))
		l, n := must2(f.inbox.Messages(me, 1, 10))(t)
		if n != 1 || len(l) != 1 || l[0].Title != "欢迎注册" || !strings.Contains(l[0].Body, f.villageA.Name) || l[0].ReadAt != nil || l[0].PersonID != p.ID {
			t.Fatalf("inbox = %d %v", n, l)
		}
		welcome := l[0].ID
		wantErr(t, f.inbox.SendMessage(f.adminA.ctx, f.resident.p.ID, "通知", "请参加周六的清扫活动"), "", "", "")
		l, _ = must2(f.inbox.Messages(f.resident.ctx, 1, 10))(t)
		theirs := l[0].ID
		unread := func(ctx context.Context) int { return must(f.inbox.UnreadCount(ctx))(t) }
		cases := []struct {
			name        string
			actor       context.Context
			id          int64
			want        jifen.Kind
			mine, their int // unread counts after
		}{
			{"the welcome message starts unread", me, 0, "", 1, 1},
			{"someone else's message is not found", me, theirs, jifen.KindNotFound, 1, 1},
			{"nor is mine to them", f.resident.ctx, welcome, jifen.KindNotFound, 1, 1},
			{"a message that does not exist is not found", me, 999999, jifen.KindNotFound, 1, 1},
			{"nobody signed in is unauthorized", context.Background(), welcome, jifen.KindUnauthorized, 1, 1},
			{"the owner marks it read", me, welcome, "", 0, 1},
			{"marking it read again is harmless", me, welcome, "", 0, 1},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.id != 0 {
					code := map[jifen.Kind]string{jifen.KindNotFound: "not_found", jifen.KindUnauthorized: "unauthorized"}[tc.want]
					wantErr(t, f.inbox.MarkRead(tc.actor, tc.id), tc.want, code, "")
				}
				if a, b := unread(me), unread(f.resident.ctx); a != tc.mine || b != tc.their {
					t.Fatalf("unread = %d and %d, want %d and %d", a, b, tc.mine, tc.their)
				}
			})
		}
		t.Run("the owner's message shows as read", func(t *testing.T) {
			l, _ := must2(f.inbox.Messages(me, 1, 10))(t)
			if l[0].ReadAt == nil {
				t.Fatal("ReadAt is nil")
			}
		})
		t.Run("staff write only to people in their scope", func(t *testing.T) {
			wantErr(t, f.inbox.SendMessage(f.adminB.ctx, p.ID, "通知", "请参加活动"), jifen.KindNotFound, "not_found", "")
			wantErr(t, f.inbox.SendMessage(f.resident.ctx, p.ID, "通知", "请参加活动"), jifen.KindNotFound, "not_found", "")
			wantErr(t, f.inbox.SendMessage(f.adminA.ctx, p.ID, "通知", ""), jifen.KindInvalid, "invalid", "body")
			wantErr(t, f.inbox.SendMessage(f.adminA.ctx, p.ID, "通知", "请参加活动"), "", "", "")
			if n := unread(me); n != 1 {
				t.Fatalf("unread = %d", n)
			}
		})
	})
}
