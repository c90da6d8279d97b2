package crashtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jifen/sqldb/sqldbtest"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/jifen once per test run: what is killed and restarted
// is the program people deploy, not a server inside the test process.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "jifen-crashtest-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "jifen")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", binPath, "jifen/cmd/jifen").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build jifen/cmd/jifen: %v\n%s", err, out)
			return
		}
		t.Logf("built the jifen binary in %s", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// deployment is one database with its data folder and secret file, as an
// operator would set it up; servers and commands run against it.
type deployment struct {
	name       string // sqlite or postgres
	dir        string
	db         string // the --db value
	secretFile string
	// secretByEnv passes the secret file as JIFEN_SECRET_FILE, the way
	// docs/instances.md tells several instances to share it.
	secretByEnv bool
	serves      int
}

// deployments returns the databases to run on: SQLite always, PostgreSQL
// (a fresh schema, dropped afterwards) when JIFEN_TEST_POSTGRES is set.
func deployments(t *testing.T) map[string]func(t *testing.T) *deployment {
	m := map[string]func(t *testing.T) *deployment{}
	for name, dsn := range sqldbtest.DSNs(t) {
		m[name] = func(t *testing.T) *deployment {
			d := &deployment{name: name, dir: t.TempDir(), db: dsn(t)}
			d.secretFile = filepath.Join(d.dir, "secret.key")
			writeSecret(t, d.secretFile)
			return d
		}
	}
	return m
}

// writeSecret writes a master secret in the format secret.Load reads.
func writeSecret(t testing.TB, path string) {
	master := make([]byte, 32)
	rand.Read(master)
	if err := os.WriteFile(path, []byte("# crashtest\n"+hex.EncodeToString(master)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (d *deployment) flags() []string {
	if d.secretByEnv {
		return []string{"--data", d.dir, "--db", d.db}
	}
	return []string{"--data", d.dir, "--db", d.db, "--secret-file", d.secretFile}
}

func (d *deployment) env() []string {
	if d.secretByEnv {
		return []string{"JIFEN_SECRET_FILE=" + d.secretFile}
	}
	return nil
}

// cleanEnv is the test's environment without JIFEN_* settings, so what a
// developer exported cannot steer the servers under test.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JIFEN_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// command runs a jifen command to its end.
func (d *deployment) command(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = cleanEnv(d.env()...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// verify runs `jifen verify` as the binary and fails the test unless the
// ledger checks out.
func (d *deployment) verify(t testing.TB) string {
	t.Helper()
	out, err := d.command(t, append([]string{"verify"}, d.flags()...)...)
	if err != nil || !strings.Contains(out, "ledger verified") {
		t.Fatalf("jifen verify on %s: %v\n%s", d.name, err, out)
	}
	return out
}

// freeAddr finds a port nobody listens on. A server restarted after a
// crash takes the same address again, as it would in production.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is one running `jifen serve` process.
type server struct {
	d       *deployment
	addr    string
	url     string
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

// start runs `jifen serve` on addr and waits until /healthz answers.
func (d *deployment) start(t testing.TB, addr string, demo bool, env ...string) *server {
	t.Helper()
	s := d.launch(t, addr, demo, env...)
	s.ready(t)
	return s
}

// launch starts `jifen serve` without waiting for it.
func (d *deployment) launch(t testing.TB, addr string, demo bool, env ...string) *server {
	t.Helper()
	d.serves++
	s := &server{d: d, addr: addr, url: "http://" + addr, exited: make(chan struct{}),
		logPath: filepath.Join(d.dir, fmt.Sprintf("serve-%s-%d.log", strings.ReplaceAll(addr, ":", "_"), d.serves))}
	args := append([]string{"serve", "--addr", addr}, d.flags()...)
	if demo {
		args = append(args, "--demo")
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(binary(t), args...)
	s.cmd.Env = cleanEnv(append(d.env(), env...)...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("the end of %s:\n%s", filepath.Base(s.logPath), s.logTail())
		}
	})
	return s
}

// ready waits until the server answers /healthz.
func (s *server) ready(t testing.TB) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case <-s.exited:
			t.Fatalf("jifen serve on %s exited before it was ready:\n%s", s.addr, s.logTail())
		default:
		}
		if resp, err := hc.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jifen serve on %s not ready after 3 minutes:\n%s", s.addr, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown, no flush, no deferred
// Close; whatever the database has not made durable is lost.
func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop asks the server to shut down as an operator would (SIGTERM).
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
	}
}

// logTail is the end of the server's output without its request lines,
// which would drown the start-up, warnings and errors.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `"level":"INFO","msg":"request"`) {
			keep = append(keep, line)
		}
	}
	out := strings.Join(keep, "\n")
	if len(out) > 4000 {
		out = out[len(out)-4000:]
	}
	return out
}

// client calls the JSON API as one signed-in person.
type client struct {
	base  string
	token string
	hc    *http.Client
}

// newHTTP is shared by a test's clients; a dead server's idle
// connections are dropped on restart.
func newHTTP() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
}

// reply is what came back: a status and body, or a transport error.
type reply struct {
	status int
	body   []byte
	err    error
}

func (r reply) ok() bool { return r.err == nil && r.status/100 == 2 }

// uncertain: the request may or may not have taken effect. Any transport
// error counts, even "connection refused": net/http may have sent the
// request once on a connection that then broke and report only the
// error of its retry. A 5xx is uncertain too (and reported on its own).
func (r reply) uncertain() bool { return r.err != nil || r.status >= 500 }

func (r reply) code() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Code
}

func (r reply) String() string {
	if r.err != nil {
		return "transport error: " + r.err.Error()
	}
	return strconv.Itoa(r.status) + " " + string(r.body)
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
}

func (c *client) with(base string) *client {
	return &client{base: base, token: c.token, hc: c.hc}
}

func (c *client) do(method, path string, body any, key string) reply {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return reply{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: b, err: err}
}

// must is do for setup steps: anything but the wanted status fails.
func (c *client) must(t testing.TB, want int, method, path string, body any, key string, out any) {
	t.Helper()
	r := c.do(method, path, body, key)
	if r.err != nil || r.status != want {
		t.Fatalf("%s %s: want %d, got %s", method, path, want, r)
	}
	if out != nil {
		r.decode(t, out)
	}
}

// signIn opens an API session with a phone and password.
func signIn(t testing.TB, hc *http.Client, base, phone, password string) *client {
	t.Helper()
	c := &client{base: base, hc: hc}
	var s struct {
		Token string `json:"token"`
	}
	c.must(t, http.StatusCreated, "POST", "/api/v1/sessions", map[string]string{"phone": phone, "password": password}, "", &s)
	c.token = s.Token
	return c
}

// rawDB reads the database behind jifen's back, to check what is on disk
// and that nothing is half there.
type rawDB struct {
	db *sql.DB
	pg bool
}

func (d *deployment) raw(t testing.TB) *rawDB {
	t.Helper()
	driver, src := "pgx", d.db
	if path, ok := strings.CutPrefix(d.db, "sqlite:"); ok {
		driver, src = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	return &rawDB{db: db, pg: driver == "pgx"}
}

func (r *rawDB) close() { r.db.Close() }

func (r *rawDB) rebind(q string) string {
	if !r.pg {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// int runs a query answering one integer.
func (r *rawDB) int(t testing.TB, q string, args ...any) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := r.db.QueryRow(r.rebind(q), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n.Int64
}

// ints runs a query answering a column of integers.
func (r *rawDB) ints(t testing.TB, q string, args ...any) []int64 {
	t.Helper()
	rows, err := r.db.Query(r.rebind(q), args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
