package sqldb_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"jifen"
	"jifen/secret"
	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// upgradeStep writes rows an installation of that schema version would
// hold, through raw SQL (the services of today may touch later tables).
type upgradeStep func(t *testing.T, u *upgrading)

// upgradeSteps has one entry per migration. A new migration without an
// entry fails the test: say what an installation of it holds.
var upgradeSteps = map[string]upgradeStep{
	"0001_foundation": func(t *testing.T, u *upgrading) {
		u.city = u.insert(t, "INSERT INTO orgs (parent_id, kind, name, path, depth, leader_name, contact_phone, address, signup_requires_approval, created_at) VALUES (NULL, 'city', '平凉市', 'pending', 0, '', '', '', ?, ?)", false, u.now)
		u.exec(t, "UPDATE orgs SET path = ? WHERE id = ?", fmt.Sprintf("/%d/", u.city), u.city)
		u.village = u.insert(t, "INSERT INTO orgs (parent_id, kind, name, path, depth, leader_name, contact_phone, address, signup_requires_approval, created_at) VALUES (?, 'village', '新窑村', 'pending', 1, '王润莲', '13900000002', '新窑村村委会', ?, ?)", u.city, true, u.now)
		u.villagePath = fmt.Sprintf("/%d/%d/", u.city, u.village)
		u.exec(t, "UPDATE orgs SET path = ? WHERE id = ?", u.villagePath, u.village)
		hash := secret.HashPassword("password1", sqldbtest.Fast)
		u.admin = u.insert(t, `INSERT INTO people (name, gender, birth_date, phone, political_status, home_org_id, home_org_path, volunteer_no, password_hash, status, created_at, updated_at)
			VALUES ('赵文明', 'male', '1970-05-01', '13900000000', 'party_member', ?, ?, '202600000001', ?, 'active', ?, ?)`, u.city, fmt.Sprintf("/%d/", u.city), hash, u.now, u.now)
		u.idNumber = idNo("19480302", 42)
		u.resident = u.insert(t, `INSERT INTO people (name, gender, birth_date, phone, id_cipher, id_hash, id_masked, political_status, home_org_id, home_org_path, volunteer_no, pin_hash, status, created_at, updated_at)
			VALUES ('陈桂兰', 'female', '1948-03-02', NULL, ?, ?, ?, 'masses', ?, ?, '202600000002', ?, 'active', ?, ?)`,
			u.keys.Encrypt([]byte(u.idNumber)), u.keys.Hash(u.idNumber), jifen.MaskIDNumber(u.idNumber), u.village, u.villagePath, secret.HashPassword("246810", sqldbtest.Fast), u.now, u.now)
		u.insert(t, "INSERT INTO grants (person_id, org_id, role, granted_by, created_at) VALUES (?, ?, 'super_admin', NULL, ?)", u.admin, u.city, u.now)
		u.insert(t, "INSERT INTO consents (person_id, kind, version, guardian_name, guardian_phone, ip, at) VALUES (?, 'privacy_notice', '2026-01', '', '', '10.0.0.1', ?)", u.resident, u.now)
		u.exec(t, "INSERT INTO sessions (token_hash, person_id, kind, ip, created_at, expires_at) VALUES (?, ?, 'web', '10.0.0.1', ?, ?)", secret.SHA256("a-session"), u.admin, u.now, u.now.Add(24*time.Hour))
		u.insert(t, "INSERT INTO audit_log (at, actor_id, org_id, org_path, action, target_type, target_id, detail, ip) VALUES (?, ?, ?, ?, 'person.create', 'person', ?, '陈桂兰', '10.0.0.1')", u.now, u.admin, u.village, u.villagePath, u.resident)
		u.insert(t, "INSERT INTO messages (person_id, title, body, created_at) VALUES (?, '欢迎', '您已登记为新窑村居民', ?)", u.resident, u.now)
		u.insert(t, "INSERT INTO uploads (person_id, name, data, created_at) VALUES (?, 'roster.csv', ?, ?)", u.admin, []byte("姓名,手机号\n"), u.now)
	},
	"0002_volunteer_service": func(t *testing.T, u *upgrading) {
		start, end := u.now.Add(-48*time.Hour), u.now.Add(-45*time.Hour)
		project := u.insert(t, "INSERT INTO projects (org_id, name, description, created_by, created_at) VALUES (?, '关爱同行', '', ?, ?)", u.village, u.admin, u.now)
		u.activity = u.insert(t, `INSERT INTO activities (org_id, org_path, project_id, title, category, address, starts_at, ends_at, capacity, status, confirmed, created_by, created_at, published_at, verified_at, verified_by)
			VALUES (?, ?, ?, '村道清扫', 'environment', '新窑村', ?, ?, 20, 'verified', 1, ?, ?, ?, ?, ?)`, u.village, u.villagePath, project, start, end, u.admin, u.now, u.now, u.now, u.admin)
		u.insert(t, "INSERT INTO signups (activity_id, person_id, status, queued_at, added_by, updated_at) VALUES (?, ?, 'confirmed', ?, NULL, ?)", u.activity, u.resident, u.now, u.now)
		u.insert(t, "INSERT INTO attendance (activity_id, person_id, started_at, ended_at, how, created_at) VALUES (?, ?, ?, ?, 'code', ?)", u.activity, u.resident, start, end, u.now)
		u.insert(t, `INSERT INTO service_records (person_id, org_id, org_path, activity_id, content, place, started_at, ended_at, minutes, how, recorded_by, verified_by, verified_at)
			VALUES (?, ?, ?, ?, '村道清扫', '新窑村', ?, ?, 180, 'self', NULL, ?, ?)`, u.resident, u.village, u.villagePath, u.activity, start, end, u.admin, u.now)
		u.insert(t, `INSERT INTO certificates (serial, check_code, person_id, org_id, from_at, to_at, minutes, records, content, issued_by, issued_at, issuer_name)
			VALUES ('ZM20260000001', 'abcdefghjk', ?, ?, ?, ?, 180, 1, '村道清扫', ?, ?, '新窑村')`, u.resident, u.village, start, u.now, u.resident, u.now)
	},
	"0003_ledger": func(t *testing.T, u *upgrading) {
		// The ledger's hashes are the code's business: post through it. It
		// touches only this migration's tables.
		ledger := sqldb.NewLedgerService(u.db)
		iss, err := ledger.Account(u.sys, jifen.AccountIssuance, u.village)
		if err != nil {
			t.Fatal(err)
		}
		acct, err := ledger.Account(u.sys, jifen.AccountPerson, u.resident)
		if err != nil {
			t.Fatal(err)
		}
		u.account = acct.ID
		tx, err := ledger.Post(u.sys, jifen.TxInput{Kind: jifen.TxAward, Key: "upgrade-1", Reason: "清扫村道", OrgID: u.village,
			Postings: []jifen.Posting{{AccountID: acct.ID, Amount: 6, Score: 6}, {AccountID: iss.ID, Amount: -6}}})
		if err != nil {
			t.Fatal(err)
		}
		u.tx = tx.ID
		if _, err := ledger.Seal(u.sys); err != nil {
			t.Fatal(err)
		}
	},
	"0004_points": func(t *testing.T, u *upgrading) {
		u.exec(t, "INSERT INTO points_settings (org_id, daily_cap, yearly_budget, mask_names, updated_by, updated_at) VALUES (?, 100, 0, ?, ?, ?)", u.village, true, u.admin, u.now)
		rule := u.insert(t, "INSERT INTO rules (org_id, org_path, code, version, version_id, created_at) VALUES (?, ?, 'env.sorting', 1, 0, ?)", u.village, u.villagePath, u.now)
		version := u.insert(t, "INSERT INTO rule_versions (rule_id, version, name, category, points, unit, daily_cap, created_by, created_at) VALUES (?, 1, '垃圾分类投放正确', 'environment', 1, 'per_event', 1, ?, ?)", rule, u.admin, u.now)
		u.exec(t, "UPDATE rules SET version_id = ? WHERE id = ?", version, rule)
		household := u.insert(t, "INSERT INTO households (org_id, org_path, name, head_person_id, created_at) VALUES (?, ?, '陈桂兰户', ?, ?)", u.village, u.villagePath, u.resident, u.now)
		u.exec(t, "INSERT INTO household_members (person_id, household_id, joined_at) VALUES (?, ?, ?)", u.resident, household, u.now)
		award := u.insert(t, `INSERT INTO awards (org_id, org_path, issuer_org_id, rule_id, rule_version_id, person_id, account_id, quantity, points, note, status, source, idem_key, day, created_by, created_at, tx_id, posted_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 6, 6, '清扫村道', 'posted', 'manual', 'upgrade-1', ?, ?, ?, ?, ?)`,
			u.village, u.villagePath, u.village, rule, version, u.resident, u.account, u.now.In(jifen.Zone).Format("2006-01-02"), u.admin, u.now, u.tx, u.now)
		u.exec(t, "INSERT INTO award_evidence (award_id, data) VALUES (?, ?)", award, sqldbtest.PNG(0))
	},
	"0005_stores": func(t *testing.T, u *upgrading) {
		store := u.insert(t, `INSERT INTO stores (org_id, org_path, name, kind, serves_org_id, serves_path, created_at) VALUES (?, ?, '新窑村积分超市', 'supermarket', ?, ?, ?)`,
			u.village, u.villagePath, u.village, u.villagePath, u.now)
		u.exec(t, "INSERT INTO store_clerks (store_id, person_id, created_at) VALUES (?, ?, ?)", store, u.admin, u.now)
		item := u.insert(t, "INSERT INTO items (store_id, name, points, stock, photo, created_at) VALUES (?, '洗衣粉', 20, 10, ?, ?)", store, sqldbtest.PNG(0), u.now)
		u.insert(t, "INSERT INTO stock_movements (item_id, delta, kind, note, created_by, created_at) VALUES (?, 10, 'receive', '首批', ?, ?)", item, u.admin, u.now)
		u.insert(t, `INSERT INTO redemptions (store_id, person_id, account_id, status, points, idem_key, request_hash, created_by, created_at)
			VALUES (?, ?, ?, 'held', 20, 'upgrade-order', '', ?, ?)`, store, u.resident, u.account, u.resident, u.now)
	},
	// The roll-ups hold nothing of their own: the migration fills them from
	// the records and awards the earlier steps wrote.
	"0006_reports": func(t *testing.T, u *upgrading) {
		// Step 0002 served 180 minutes in one record two days ago, step
		// 0004 awarded 6 now: one month, or two in a month's first days.
		got := u.strings(t, "SELECT org_id, month, SUM(minutes), SUM(records), SUM(awarded) FROM report_months GROUP BY org_id, month ORDER BY month")
		served, awarded := u.now.Add(-48*time.Hour).In(jifen.Zone).Format("2006-01"), u.now.In(jifen.Zone).Format("2006-01")
		want := []string{fmt.Sprintf("|%d|%s|180|1|6", u.village, awarded)}
		if served != awarded {
			want = []string{fmt.Sprintf("|%d|%s|180|1|0", u.village, served), fmt.Sprintf("|%d|%s|0|0|6", u.village, awarded)}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("report roll-ups after the migration: %q, want %q", got, want)
		}
		if people := u.strings(t, "SELECT person_id, minutes FROM report_people"); len(people) != 1 || people[0] != fmt.Sprintf("|%d|180", u.resident) {
			t.Fatalf("volunteers' minutes after the migration: %q", people)
		}
	},
	// An index only: a pay code on screen when it runs stays valid.
	"0007_paycode_person": func(t *testing.T, u *upgrading) {
		u.exec(t, "INSERT INTO paycodes (code_hash, person_id, expires_at) VALUES ('upgrade-code', ?, ?)", u.resident, u.now.Add(time.Minute))
		if got := u.strings(t, "SELECT person_id FROM paycodes WHERE person_id = ?", u.resident); len(got) != 1 {
			t.Fatalf("pay codes after the migration: %q", got)
		}
	},
	// An index only: sessions, expired ones among them, stay until the
	// server's purge runs.
	"0008_sessions_expires": func(t *testing.T, u *upgrading) {
		u.exec(t, "INSERT INTO sessions (token_hash, person_id, kind, ip, created_at, expires_at) VALUES (?, ?, 'web', '10.0.0.1', ?, ?)",
			secret.SHA256("an-expired-session"), u.admin, u.now.Add(-31*24*time.Hour), u.now.Add(-24*time.Hour))
		if got := u.strings(t, "SELECT token_hash FROM sessions WHERE expires_at < ?", u.now); len(got) != 1 {
			t.Fatalf("expired sessions after the migration: %q", got)
		}
	},
	// Indexes only (one waiting correction request per record, one
	// waiting transfer per person, open check-ins by person): an
	// installation holds one of each, and a second waiting one is refused.
	"0009_one_at_a_time": func(t *testing.T, u *upgrading) {
		start, end := u.now.Add(-30*time.Hour), u.now.Add(-29*time.Hour)
		record := u.insert(t, `INSERT INTO service_records (person_id, org_id, org_path, activity_id, content, place, started_at, ended_at, minutes, how, recorded_by, verified_by, verified_at)
			VALUES (?, ?, ?, NULL, '义务理发', '新窑村', ?, ?, 50, 'self', NULL, ?, ?)`, u.resident, u.village, u.villagePath, start, end, u.admin, u.now)
		request := "INSERT INTO correction_requests (record_id, person_id, wanted_minutes, reason, status, created_at) VALUES (?, ?, 60, '少记了', 'pending', ?)"
		u.insert(t, request, record, u.resident, u.now)
		if err := u.db.ExecForTest(u.sys, request, record, u.resident, u.now); err == nil {
			t.Fatal("a second waiting correction request for one record was stored")
		}
		transfer := "INSERT INTO transfers (person_id, from_org_id, to_org_id, reason, status, requested_by, created_at) VALUES (?, ?, ?, '搬家', 'pending', ?, ?)"
		u.insert(t, transfer, u.resident, u.village, u.city, u.resident, u.now)
		if err := u.db.ExecForTest(u.sys, transfer, u.resident, u.village, u.city, u.resident, u.now); err == nil {
			t.Fatal("a second waiting transfer for one person was stored")
		}
		u.insert(t, "INSERT INTO attendance (activity_id, person_id, started_at, how, created_at) VALUES (?, ?, ?, 'code', ?)", u.activity, u.admin, u.now, u.now)
	},
	// Transfers made before it stand as they were (consented); an admin's
	// request for someone else made after it waits for them.
	"0010_transfer_consent": func(t *testing.T, u *upgrading) {
		if got := u.strings(t, "SELECT status FROM transfers WHERE consented_at IS NULL"); len(got) != 0 {
			t.Fatalf("transfers made before the migration left waiting for consent: %q", got)
		}
		u.insert(t, "INSERT INTO transfers (person_id, from_org_id, to_org_id, reason, status, requested_by, created_at) VALUES (?, ?, ?, '村里调整', 'pending', ?, ?)",
			u.admin, u.village, u.city, u.resident, u.now)
	},
	// Messages written before it have no English and show as written; a
	// new one keeps both.
	"0012_message_english": func(t *testing.T, u *upgrading) {
		u.insert(t, "INSERT INTO messages (person_id, title, body, title_en, body_en, created_at) VALUES (?, '欢迎注册', '欢迎加入新窑村。', 'Welcome', 'Welcome to 新窑村.', ?)", u.resident, u.now)
		if got := u.strings(t, "SELECT title_en FROM messages WHERE title_en = ''"); len(got) == 0 {
			t.Fatal("no message from before the migration is left without English")
		}
		// Two fetches at one moment on PostgreSQL could leave a person two
		// unused pay codes (0013 keeps the newest), beside one used.
		u.exec(t, "INSERT INTO paycodes (code_hash, person_id, expires_at) VALUES ('upgrade-newer', ?, ?)", u.resident, u.now.Add(2*time.Minute))
		u.exec(t, "INSERT INTO paycodes (code_hash, person_id, expires_at, used_at) VALUES ('upgrade-used', ?, ?, ?)", u.resident, u.now.Add(3*time.Minute), u.now)
	},
	// A person keeps only the newest of their unused pay codes, and can
	// hold no second one.
	"0013_one_paycode": func(t *testing.T, u *upgrading) {
		if got := u.strings(t, "SELECT code_hash FROM paycodes WHERE person_id = ? ORDER BY code_hash", u.resident); strings.Join(got, " ") != "|upgrade-newer |upgrade-used" {
			t.Fatalf("pay codes after the migration: %q, want the newest unused one and the used one", got)
		}
		if err := u.db.ExecForTest(u.sys, "INSERT INTO paycodes (code_hash, person_id, expires_at) VALUES ('upgrade-third', ?, ?)", u.resident, u.now.Add(time.Minute)); err == nil {
			t.Fatal("a second unused pay code for one person was stored")
		}
	},
	// The codes stay as they were; what the sweep will find among them is
	// the used one, by the index of used codes.
	"0014_paycode_sweep": func(t *testing.T, u *upgrading) {
		if got := u.strings(t, "SELECT code_hash FROM paycodes WHERE expires_at < ? AND used_at IS NOT NULL", u.now.Add(time.Hour)); strings.Join(got, " ") != "|upgrade-used" {
			t.Fatalf("used pay codes the sweep would find after the migration: %q, want the used one", got)
		}
	},
	// Indexes only: every row stays (the generic check), and the indexes
	// the county's reads search are there under their names.
	"0015_county_reads": func(t *testing.T, u *upgrading) {
		u.wantIndexes(t, "activities_open", "appeals_person", "awards_household", "awards_issuer", "awards_path", "awards_person", "awards_record",
			"awards_status", "redemptions_store_created", "service_records_corrects")
	},
	// An index only: the records stay (the generic check), and the index
	// the newest-first list walks is there.
	"0016_newest_first": func(t *testing.T, u *upgrading) {
		u.wantIndexes(t, "service_records_started")
	},
	// The generation's row is there from the start; a board kept under it
	// stays through later migrations (the generic check); the index that
	// counts the erased is there.
	"0017_kept_boards": func(t *testing.T, u *upgrading) {
		if got := u.strings(t, "SELECT org_id, generation FROM kept_boards"); strings.Join(got, " ") != "|0|1" {
			t.Fatalf("kept_boards after the migration: %q, want the generation's row (0, 1)", got)
		}
		u.exec(t, "INSERT INTO kept_boards (org_id, generation, made_at, body) VALUES (?, 1, ?, '{}')", u.city, u.now)
		u.wantIndexes(t, "people_erased")
	},
	// The erasure's lookups have their indexes.
	"0018_audit_target": func(t *testing.T, u *upgrading) {
		u.wantIndexes(t, "audit_left", "audit_target")
	},
	// A certificate issued before covers all the person's service, as it
	// did: its home org's.
	"0019_certificate_scope": func(t *testing.T, u *upgrading) {
		if got := u.strings(t, "SELECT serial, CASE WHEN org_only THEN 'org' ELSE 'all' END FROM certificates"); strings.Join(got, " ") != "|ZM20260000001|all" {
			t.Fatalf("certificates after the migration: %q, want the earlier one covering all service", got)
		}
		if got := u.strings(t, "SELECT COUNT(*) FROM certificate_records"); strings.Join(got, " ") != "|0" {
			t.Fatalf("certificate_records after the migration: %q, want none (the earlier certificate lists its records by period)", got)
		}
	},
	// The codes stay as they were; a person may now hold a second unused
	// one, and the sweep's index is there.
	"0020_paycodes_live": func(t *testing.T, u *upgrading) {
		if got := u.strings(t, "SELECT code_hash FROM paycodes WHERE person_id = ? ORDER BY code_hash", u.resident); strings.Join(got, " ") != "|upgrade-newer |upgrade-used" {
			t.Fatalf("pay codes after the migration: %q, want the two there were", got)
		}
		u.exec(t, "INSERT INTO paycodes (code_hash, person_id, expires_at) VALUES ('upgrade-second', ?, ?)", u.resident, u.now.Add(time.Minute))
		u.wantIndexes(t, "paycodes_expiry", "paycodes_person")
		q := "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('paycodes_unused', 'paycodes_used')"
		if u.db.Dialect() == "postgres" {
			q = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN ('paycodes_unused', 'paycodes_used')"
		}
		if got := u.strings(t, q); len(got) != 0 {
			t.Fatalf("indexes 0020 drops are still there: %q", got)
		}
	},
	// Sales made before it are booked where the buyer lives when it runs.
	"0011_redemption_buyer_org": func(t *testing.T, u *upgrading) {
		if got := u.strings(t, "SELECT buyer_org_id FROM redemptions"); len(got) != 1 || got[0] != fmt.Sprintf("|%d", u.village) {
			t.Fatalf("the buyer's org of a sale made before the migration: %q, want the village %d", got, u.village)
		}
	},
}

// upgradeRewrites are the tables a migration changes rows of on purpose;
// its step checks what it left.
var upgradeRewrites = map[string]string{
	"0013_one_paycode": "paycodes", // a person's older unused codes go
}

// upgrading is a database part-way through its migrations, with the ids
// the steps share.
type upgrading struct {
	db                                 *sqldb.DB
	keys                               *secret.Keys
	sys                                context.Context
	now                                time.Time
	city, village, admin, resident     int64
	activity, account, tx              int64
	villagePath, idNumber, dialectName string
	// lastCols are the columns each table had after the previous step.
	lastCols map[string][]string
}

func (u *upgrading) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if err := u.db.ExecForTest(u.sys, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// insert returns the new row's id; the database assigns it, so
// PostgreSQL's identity sequences stay where later inserts expect them.
func (u *upgrading) insert(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	rows, err := u.db.QueryForTest(u.sys, q+" RETURNING id", args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var id int64
	if !rows.Next() {
		t.Fatalf("%s: no id returned: %v", q, rows.Err())
	}
	if err := rows.Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// strings reads a query's rows as text, sorted.
// wantIndexes fails t unless the database has indexes of these names
// (given in name order).
func (u *upgrading) wantIndexes(t *testing.T, names ...string) {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (%s) ORDER BY name"
	if u.db.Dialect() == "postgres" {
		q = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN (%s) ORDER BY indexname"
	}
	got := u.strings(t, fmt.Sprintf(q, "'"+strings.Join(names, "', '")+"'"))
	if want := "|" + strings.Join(names, " |"); strings.Join(got, " ") != want {
		t.Fatalf("indexes after the migration: %q, want %q", got, want)
	}
}

func (u *upgrading) strings(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := u.db.QueryForTest(u.sys, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "|%x", v)
			case time.Time:
				fmt.Fprintf(&b, "|%d", v.UnixMicro())
			default:
				fmt.Fprintf(&b, "|%v", v)
			}
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// columns lists each table's columns, by table.
func (u *upgrading) columns(t *testing.T) map[string][]string {
	q := "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
	if u.dialectName == "postgres" {
		q = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
	}
	out := map[string][]string{}
	for _, r := range u.strings(t, q) {
		f := strings.Split(r, "|")
		out[f[1]] = append(out[f[1]], f[2])
	}
	return out
}

// contents reads every row of every table, each table by the columns it
// has now, so a later migration that adds a column does not count as a change.
func (u *upgrading) contents(t *testing.T, cols map[string][]string) map[string][]string {
	out := map[string][]string{}
	for table, cs := range cols {
		out[table] = u.strings(t, "SELECT "+strings.Join(cs, ", ")+" FROM "+table)
	}
	return out
}

// schema describes tables, columns, indexes and constraints in words that
// do not depend on the order things were created in or the schema's name.
func (u *upgrading) schema(t *testing.T) []string {
	var qs []string
	if u.dialectName == "postgres" {
		qs = []string{
			`SELECT table_name, column_name, ordinal_position, data_type, is_nullable, COALESCE(column_default, ''), is_identity, COALESCE(collation_name, '')
				FROM information_schema.columns WHERE table_schema = current_schema()`,
			`SELECT tablename, indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes WHERE schemaname = current_schema()`,
			`SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace`,
		}
	} else {
		qs = []string{
			`SELECT m.name, p.cid, p.name, p.type, p."notnull", COALESCE(p.dflt_value, ''), p.pk FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'`,
			`SELECT m.name, l.name, l."unique", l.origin, l.partial FROM sqlite_master m JOIN pragma_index_list(m.name) l WHERE m.type = 'table'`,
			`SELECT m.name, l.name, i.seqno, COALESCE(i.name, '') FROM sqlite_master m JOIN pragma_index_list(m.name) l JOIN pragma_index_info(l.name) i WHERE m.type = 'table'`,
			`SELECT m.name, f.id, f.seq, f."table", f."from", COALESCE(f."to", ''), f.on_delete FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`,
			`SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`,
		}
	}
	var out []string
	for _, q := range qs {
		out = append(out, u.strings(t, q)...)
	}
	sort.Strings(out)
	return out
}

// TestUpgradeFromTheFirstSchemaKeepsEveryRow starts from migration 0001
// alone and walks forward one migration at a time, writing at each step
// what an installation of that version holds. No row written earlier may
// change, the services of today must read and extend the old rows, and the
// schema reached must be the one a fresh database gets.
func TestUpgradeFromTheFirstSchemaKeepsEveryRow(t *testing.T) {
	for name, dsn := range sqldbtest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := jifen.WithActor(context.Background(), jifen.SystemActor())
			keys := sqldbtest.Keys(t)
			d := dsn(t)
			db, err := sqldb.OpenUnmigrated(ctx, d, keys)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.PasswordParams = sqldbtest.Fast
			u := &upgrading{db: db, keys: keys, sys: ctx, now: time.Now().UTC().Truncate(time.Microsecond), dialectName: db.Dialect()}
			versions, err := db.MigrationFiles()
			if err != nil || len(versions) < 2 || versions[0] != "0001_foundation" {
				t.Fatalf("migrations %v %v", versions, err)
			}
			var before map[string][]string
			for _, v := range versions {
				step, ok := upgradeSteps[v]
				if !ok {
					t.Fatalf("migration %s has no upgrade step: add the rows an installation of it holds to upgradeSteps", v)
				}
				if err := db.MigrateOne(ctx, v); err != nil {
					t.Fatal(err)
				}
				if before != nil {
					// What the earlier versions wrote reads the same after this one.
					cols := u.columns(t)
					for table, rows := range before {
						if table == "schema_migrations" || upgradeRewrites[v] == table {
							continue // it gains the migration's own row; the step checks a rewrite
						}
						if _, ok := cols[table]; !ok {
							t.Fatalf("after %s: table %s is gone", v, table)
						}
						if got := u.contents(t, map[string][]string{table: u.lastCols[table]})[table]; strings.Join(got, "\n") != strings.Join(rows, "\n") {
							t.Fatalf("after %s: table %s changed:\nbefore %v\nafter  %v", v, table, rows, got)
						}
					}
				}
				step(t, u)
				u.lastCols = u.columns(t)
				before = u.contents(t, u.lastCols)
			}

			// The real runner finds nothing left to do, and today's services
			// read the old rows and write beside them.
			db.Close()
			db = sqldbtest.Open(t, d)
			u.db = db
			if got := u.strings(t, "SELECT version FROM schema_migrations"); len(got) != len(versions) {
				t.Fatalf("schema_migrations after Open: %v, want %d versions", got, len(versions))
			}
			super := jifen.WithActor(context.Background(), &jifen.Actor{PersonID: u.admin, HomeOrgID: u.city, HomeOrgPath: fmt.Sprintf("/%d/", u.city),
				Grants: []jifen.Grant{{Role: jifen.RoleSuperAdmin, OrgID: u.city, OrgPath: fmt.Sprintf("/%d/", u.city)}}})
			if got, err := sqldb.NewPersonService(db).RevealIDNumber(super, u.resident); err != nil || got != u.idNumber {
				t.Fatalf("the ID number stored at 0001 decrypts to %q %v, want %q", got, err, u.idNumber)
			}
			if a, err := sqldb.NewActivityService(db).Activity(super, u.activity); err != nil || a.Title != "村道清扫" {
				t.Fatalf("activity of 0002: %+v %v", a, err)
			}
			org, err := sqldb.NewOrgService(db).CreateOrg(super, jifen.OrgInput{Name: "新窑村志愿服务队", Kind: jifen.OrgTeam, ParentID: &u.village})
			if err != nil || org.Path != u.villagePath+fmt.Sprint(org.ID)+"/" {
				t.Fatalf("a new org under the old village: %+v %v", org, err)
			}
			ledger := sqldb.NewLedgerService(db)
			iss, err := ledger.Account(ctx, jifen.AccountIssuance, u.village)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ledger.Post(ctx, jifen.TxInput{Kind: jifen.TxAward, Key: "upgrade-2", Reason: "垃圾分类", OrgID: u.village,
				Postings: []jifen.Posting{{AccountID: u.account, Amount: 1, Score: 1}, {AccountID: iss.ID, Amount: -1}}}); err != nil {
				t.Fatalf("posting after the upgrade: %v", err)
			}
			if r, err := ledger.Verify(ctx, ""); err != nil || r.Problem != "" || r.Transactions != 2 || r.Blocks != 1 {
				t.Fatalf("ledger after the upgrade: %+v %v", r, err)
			}
			if s, err := sqldb.NewPointsService(db).Points(super, u.resident); err != nil || s.Balance != 7 {
				t.Fatalf("points of the old account: %+v %v", s, err)
			}

			fresh := &upgrading{db: sqldbtest.Open(t, dsn(t)), sys: ctx, dialectName: u.dialectName}
			got, want := u.schema(t), fresh.schema(t)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("the upgraded schema differs from a fresh one:\n%s", diffLines(got, want))
			}
			t.Logf("%d migrations, schema of %d lines equal to a fresh database's", len(versions), len(want))
		})
	}
}

func diffLines(got, want []string) string {
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var b strings.Builder
	for _, x := range got {
		if !w[x] {
			fmt.Fprintf(&b, "+ upgraded only: %s\n", x)
		}
	}
	for _, x := range want {
		if !g[x] {
			fmt.Fprintf(&b, "- fresh only:    %s\n", x)
		}
	}
	return b.String()
}
