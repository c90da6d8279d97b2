package web

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"jifen"
)

// TestEveryAuditActionHasAName reads the actions the database layer writes
// to the audit log and fails for any without an audit.* catalogue entry in
// both languages: 操作日志 would show the bare key.
func TestEveryAuditActionHasAName(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "sqldb", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sqldb sources found: %v", err)
	}
	// Actions built from a prefix and a status, with the endings they take.
	composed := map[string][]string{
		"appeal.":            {string(jifen.AppealUpheld), string(jifen.AppealReversed)},
		"record.correction_": {"accepted", "rejected"},
	}
	var (
		auditCall = regexp.MustCompile(`\.audit\(|\baudit\.add\(|INSERT INTO audit_log\b`)
		// An action is the first literal on the call shaped like one:
		// "person.erase", 'demo.generate', or a prefix such as "appeal.".
		literal  = regexp.MustCompile(`["']([a-z][a-z_]*\.[a-z_]*)["'](\s*\+)?`)
		variable = regexp.MustCompile(`\.audit\([^"\n]*\baction\b`)
		assigned = regexp.MustCompile(`\baction\s*:?=\s*"([^"]+)"`)
	)
	actions := map[string]string{} // action → where it is written
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for i, line := range strings.Split(src, "\n") {
			if !auditCall.MatchString(line) || strings.Contains(line, "func (t *Tx) audit(") {
				continue
			}
			at := filepath.Base(f) + ":" + strconv.Itoa(i+1)
			if variable.MatchString(line) {
				found := assigned.FindAllStringSubmatch(src, -1)
				if len(found) == 0 {
					t.Errorf("%s: the action is a variable this test cannot follow", at)
				}
				for _, a := range found {
					actions[a[1]] = at
				}
				continue
			}
			m := literal.FindStringSubmatch(line)
			switch {
			case m == nil:
				t.Errorf("%s: no action found in %q", at, strings.TrimSpace(line))
			case m[2] != "":
				ends, ok := composed[m[1]]
				if !ok {
					t.Errorf("%s: action %q+… is built at run time; name its endings in this test", at, m[1])
				}
				for _, e := range ends {
					actions[m[1]+e] = at
				}
			default:
				actions[m[1]] = at
			}
		}
	}
	if len(actions) < 50 {
		t.Fatalf("only %d audit actions found in sqldb: is the pattern right? %v", len(actions), actions)
	}
	for _, want := range []string{"person.erase", "transfer.consent", "demo.generate", "award.claim_on_behalf", "appeal.upheld"} {
		if _, ok := actions[want]; !ok {
			t.Errorf("the scan missed %q: is the pattern right?", want)
		}
	}
	var names []string
	for a := range actions {
		names = append(names, a)
	}
	slices.Sort(names)
	for _, a := range names {
		m, ok := catalog["audit."+a]
		if !ok {
			t.Errorf("%s writes audit action %q, but the catalogue has no %q", actions[a], a, "audit."+a)
			continue
		}
		if m[0] == "" || m[1] == "" || strings.ContainsFunc(m[1], func(r rune) bool { return r > 0x2e80 }) {
			t.Errorf("audit.%s needs a Chinese and an English name, has %q", a, m)
		}
	}
}
