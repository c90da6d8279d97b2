package sqldb

import "testing"

func TestWritesConfig(t *testing.T) {
	for query, want := range map[string]bool{
		"UPDATE rules SET archived_at = ? WHERE id = ?":                                   true,
		"  insert into rule_versions (rule_id) VALUES (?)":                                true,
		"INSERT INTO points_settings (org_id) VALUES (?) ON CONFLICT (org_id) DO UPDATE":  true,
		"UPDATE people SET name = ? WHERE id = ?":                                         true,
		"UPDATE orgs SET path = path WHERE id = ?":                                        true,
		"DELETE FROM rules WHERE id = ?":                                                  true,
		"SELECT id FROM rules WHERE code = ?":                                             false,
		"UPDATE awards SET rule_id = ? WHERE id = ?":                                      false,
		"INSERT INTO awards (rule_version_id, person_id) SELECT id, ? FROM rule_versions": true, // conservative: names the table
		"UPDATE rules_archive SET x = 1":                                                  false,
		"UPDATE household_members SET person_id = ?":                                      false,
	} {
		if got := writesConfig(query); got != want {
			t.Errorf("writesConfig(%q) = %v, want %v", query, got, want)
		}
	}
}
