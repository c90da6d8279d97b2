package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIError is an error answer of the API: {"error":{"code","message","field"}}.
type APIError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Code)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// client is the one HTTP client of a bench. Setup's requests go through
// one transport to the first server, so connections are kept alive and
// reused instead of dialled per request; the simulated clients each keep
// a connection of their own (conn.go), spread over the servers.
type client struct {
	base  string   // the first server: scheme://host[/path], no trailing slash
	bases []string // every server, the first first
	rt    *http.Transport

	targets []target // what the simulated clients' connections dial
}

// target is one server a simulated client's connection dials.
type target struct {
	addr, host, hostname string
	https                bool
}

// newClient takes one server's address, or several instances' of one
// deployment (on one PostgreSQL database) separated by commas; they must
// serve under the same path.
func newClient(urls string, conns int) (*client, error) {
	c := &client{}
	var path string
	for i, raw := range strings.Split(urls, ",") {
		raw = strings.TrimRight(strings.TrimSpace(raw), "/")
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("loadgen: --url %q is not an http(s) address", raw)
		}
		if i > 0 && u.Path != path {
			return nil, fmt.Errorf("loadgen: --url %q serves under %q, the first under %q: instances of one deployment share their path", raw, u.Path, path)
		}
		path = u.Path
		c.bases = append(c.bases, u.Scheme+"://"+u.Host+u.Path)
		t := target{addr: u.Host, host: u.Host, hostname: u.Hostname(), https: u.Scheme == "https"}
		switch {
		case u.Port() != "":
		case t.https:
			t.addr = net.JoinHostPort(u.Hostname(), "443")
		default:
			t.addr = net.JoinHostPort(u.Hostname(), "80")
		}
		c.targets = append(c.targets, t)
	}
	c.base = c.bases[0]
	c.rt = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          2 * conns,
		MaxIdleConnsPerHost:   2 * conns, // ≥ clients, or idle connections are closed and redialled under load
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true, // answers are small; gzip would cost both sides CPU
	}
	return c, nil
}

// url parses base+path once; the bench sends to a few dozen fixed URLs.
func (c *client) url(path string) *url.URL {
	u, err := url.Parse(c.base + path)
	if err != nil {
		panic(err) // paths are built here from numbers, so this is a programming error
	}
	return u
}

// call is a setup request: JSON in and out, allocations do not matter.
func (c *client) call(ctx context.Context, method, path, token, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
				Field   string `json:"field"`
			} `json:"error"`
		}
		_ = json.Unmarshal(b, &env)
		return fmt.Errorf("%s %s: %w", method, path, &APIError{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message, Field: env.Error.Field})
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
		}
	}
	return nil
}

// jsonField returns the string value of the first "name":"…" in a JSON
// answer without decoding it; the API's answers are flat enough that the
// first match is the one meant (the error code, the pay code).
func jsonField(b []byte, name string) []byte {
	b = jsonAfter(b, name, `":"`)
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return nil
	}
	return b[:j]
}

// jsonInt returns the number value of the first "name":123 in a JSON
// answer, or 0.
func jsonInt(b []byte, name string) int64 {
	var n int64
	for _, c := range jsonAfter(b, name, `":`) {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// jsonAfter is what follows the first `"name` and sep in b, or nil.
func jsonAfter(b []byte, name, sep string) []byte {
	var pat [32]byte
	p := append(append(append(pat[:0], '"'), name...), sep...)
	i := bytes.Index(b, p)
	if i < 0 {
		return nil
	}
	return b[i+len(p):]
}
