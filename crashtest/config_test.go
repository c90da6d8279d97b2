package crashtest

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecretFileIsNeverMadeForPostgres: instances on one PostgreSQL must
// share a secret, so a configured secret file that is missing stops
// jifen instead of being made afresh on each machine, whether it is
// named by JIFEN_SECRET_FILE or by --secret-file (the flag and the
// variable are one setting, cmd/jifen/config.go).
func TestSecretFileIsNeverMadeForPostgres(t *testing.T) {
	newDeployment, ok := deployments(t)["postgres"]
	if !ok {
		t.Skip("needs PostgreSQL: set JIFEN_TEST_POSTGRES")
	}
	d := newDeployment(t)
	run := func(env []string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary(t), args...)
		cmd.Env = cleanEnv(env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	viaEnv := filepath.Join(d.dir, "missing-env.key")
	if out, err := run([]string{"JIFEN_SECRET_FILE=" + viaEnv}, "migrate", "--db", d.db, "--data", d.dir); err == nil {
		t.Fatalf("migrate with JIFEN_SECRET_FILE naming a missing file succeeded:\n%s", out)
	}
	if _, err := os.Stat(viaEnv); err == nil {
		t.Fatal("a missing JIFEN_SECRET_FILE was made")
	}

	viaFlag := filepath.Join(d.dir, "missing-flag.key")
	out, err := run(nil, "migrate", "--db", d.db, "--data", d.dir, "--secret-file", viaFlag)
	if _, serr := os.Stat(viaFlag); err == nil || serr == nil {
		msg := "fixed bug came back: cmd/jifen/main.go open(): on PostgreSQL a missing --secret-file is generated (create is decided by os.Getenv(\"JIFEN_SECRET_FILE\") only), " +
			"so instances configured by flag each make their own secret; JIFEN_SECRET_FILE with the same path is refused"
		t.Fatalf("%s\n%s", msg, out)
	}
}

// TestTrustProxyTakesTheProxysAddress: behind a proxy (--trust-proxy) the
// address jifen records for a sign-in (and counts failures against) is
// the one the proxy saw. With the proxy replacing X-Forwarded-For, as
// docs/instances.md tells nginx to, that is the header's only address;
// with a proxy that appends (nginx's $proxy_add_x_forwarded_for), it is
// the last one, and the first is whatever the visitor sent.
func TestTrustProxyTakesTheProxysAddress(t *testing.T) {
	newDeployment := deployments(t)["sqlite"]
	d := newDeployment(t)
	if out, err := d.command(t, append([]string{"admin", "create", "--name", "赵文明", "--phone", "13900000000", "--password", demoPassword}, d.flags()...)...); err != nil {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	s := d.start(t, freeAddr(t), false, "JIFEN_TRUST_PROXY=1")
	hc := newHTTP()
	signInFrom := func(xff string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url+"/api/v1/sessions", bytes.NewReader([]byte(`{"phone":"13900000000","password":"`+demoPassword+`"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("sign in with X-Forwarded-For %q: %d", xff, resp.StatusCode)
		}
		raw := d.raw(t)
		defer raw.close()
		var ip string
		if err := raw.db.QueryRow("SELECT ip FROM sessions ORDER BY created_at DESC LIMIT 1").Scan(&ip); err != nil {
			t.Fatal(err)
		}
		return ip
	}
	if ip := signInFrom("198.51.100.9"); ip != "198.51.100.9" {
		t.Fatalf("behind a proxy that sets X-Forwarded-For to the visitor's address, the session records %q", ip)
	}
	// The visitor sent "X-Forwarded-For: 203.0.113.7"; the proxy appended
	// the address it saw.
	if ip := signInFrom("203.0.113.7, 198.51.100.9"); ip != "198.51.100.9" {
		msg := "fixed bug came back: web/server.go clientIP takes the first X-Forwarded-For address, which the visitor chooses when the proxy appends " +
			"(nginx $proxy_add_x_forwarded_for): the session records " + strings.TrimSpace(ip) + " and the per-address sign-in throttle can be dodged; take the last address"
		t.Fatal(msg)
	}
}

// TestCookiesAreSecureBehindAnHTTPSProxy: behind a proxy that ends TLS
// (docs/instances.md) the public address is https, and the cookies a
// browser gets must not travel over plain HTTP; web.Config.Secure says it
// is set "when serving TLS or behind an HTTPS proxy".
func TestCookiesAreSecureBehindAnHTTPSProxy(t *testing.T) {
	d := deployments(t)["sqlite"](t)
	s := d.start(t, freeAddr(t), false, "JIFEN_PUBLIC_URL=https://jifen.example.cn", "JIFEN_TRUST_PROXY=1")
	req, _ := http.NewRequest("GET", s.url+"/signin", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := newHTTP().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "jifen_csrf" {
			csrf = c
		}
	}
	if resp.StatusCode != http.StatusOK || csrf == nil {
		t.Fatalf("GET /signin: %d, cookies %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	if !csrf.Secure {
		msg := "fixed bug came back: cmd/jifen/serve.go sets web.Config.Secure only with --tls-cert, so behind an HTTPS proxy (public URL https://…) " +
			"the session and CSRF cookies lack the Secure flag; derive it from an https public URL too"
		t.Fatal(msg)
	}
}
