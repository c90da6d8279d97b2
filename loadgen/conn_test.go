package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func testConn(t *testing.T, url string) *conn {
	t.Helper()
	c, err := newClient(url, 1)
	if err != nil {
		t.Fatal(err)
	}
	cn := c.newConn(context.Background(), 0)
	t.Cleanup(cn.close)
	return cn
}

// rawServer serves each connection with serve, which may close it at any
// point (the connection is closed when serve returns); it returns the
// address.
func rawServer(t *testing.T, serve func(nc net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				serve(nc, bufio.NewReader(nc))
			}()
		}
	}()
	return ln.Addr().String()
}

// The request arrives as net/http's client would send it, and answers of
// each framing come back whole: a length, chunks, a body to the close.
func TestConnFraming(t *testing.T) {
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("Authorization") + " " + r.Header.Get("Idempotency-Key") + " " +
			r.Header.Get("Content-Type") + " " + string(body)
		switch strings.TrimPrefix(r.URL.Path, "/base") {
		case "/length":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, got)
		case "/chunked":
			w.WriteHeader(http.StatusConflict)
			for _, part := range strings.SplitAfter(got, " ") {
				io.WriteString(w, part)
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, got)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	cn := testConn(t, ts.URL+"/base")

	cases := []struct {
		method, target, auth, key, body string
		status                          int
		want                            string
	}{
		{"POST", "/base/length?x=1", "Bearer a", "k1", `{"a":1}`, 201, `POST /base/length?x=1 Bearer a k1 application/json {"a":1}`},
		{"POST", "/base/chunked", "Bearer b", "k2", `{"b":2}`, 409, `POST /base/chunked Bearer b k2 application/json {"b":2}`},
		{"GET", "/base/length", "Bearer c", "", "", 201, `GET /base/length Bearer c   `},
		{"GET", "/base/empty", "", "", "", 204, ``},
		{"GET", "/base/close", "Bearer d", "", "", 200, `GET /base/close Bearer d   `},
		{"GET", "/base/length", "Bearer e", "", "", 201, `GET /base/length Bearer e   `},
	}
	buf := make([]byte, 0, 8) // smaller than the answers: it must grow
	for _, c := range cases {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		status, ans, err := cn.do(c.method, c.target, c.auth, c.key, body, buf)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.target, err)
		}
		if status != c.status || string(ans) != c.want {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.target, status, ans, c.status, c.want)
		}
		buf = ans
	}
	// One connection for all but the request after "Connection: close".
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// A server that drops a kept-alive connection while it is idle did not
// take the next request: it goes again on a new connection. A fresh
// connection dropped after the request is an error.
func TestConnIdleDrop(t *testing.T) {
	var requests atomic.Int64
	dropAfterRead := make(chan bool, 4)
	addr := rawServer(t, func(nc net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		requests.Add(1)
		if <-dropAfterRead {
			return
		}
		// Answer, then close without saying so, as a server's idle
		// timeout would.
		io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(50 * time.Millisecond)
	})
	cn := testConn(t, "http://"+addr)
	dropAfterRead <- false
	if st, ans, err := cn.do("GET", "/", "", "", nil, nil); err != nil || st != 200 || string(ans) != "ok" {
		t.Fatalf("first: %d %q %v", st, ans, err)
	}
	time.Sleep(150 * time.Millisecond) // the server has closed it
	dropAfterRead <- false
	if st, ans, err := cn.do("POST", "/", "", "k", []byte("{}"), nil); err != nil || st != 200 || string(ans) != "ok" {
		t.Fatalf("after the idle close: %d %q %v", st, ans, err)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("the server read %d requests, want 2", n)
	}
	dropAfterRead <- true
	if _, _, err := cn.do("POST", "/", "", "k2", []byte("{}"), nil); err == nil {
		t.Fatal("a request the server read and dropped was answered")
	}
	time.Sleep(20 * time.Millisecond)
	if n := requests.Load(); n != 3 {
		t.Errorf("the server read %d requests, want 3 (a dropped request is not sent twice)", n)
	}
}

// The end of the run ends a request the server has not answered yet.
func TestConnCancel(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer ts.Close()
	defer close(release)
	c, err := newClient(ts.URL, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cn := c.newConn(ctx, 0)
	defer cn.close()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, err = cn.do("GET", "/", "", "", nil, nil)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want the deadline the cancel set", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the cancelled request took %v", d)
	}
}

// Several instances' addresses spread the simulated clients over them.
func TestConnSpreadsOverInstances(t *testing.T) {
	var hits [2]atomic.Int64
	var urls []string
	for i := range hits {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits[i].Add(1) }))
		defer ts.Close()
		urls = append(urls, ts.URL)
	}
	c, err := newClient(urls[0]+", "+urls[1]+"/", 4)
	if err != nil {
		t.Fatal(err)
	}
	if c.base != urls[0] {
		t.Errorf("setup goes to %q, want the first, %q", c.base, urls[0])
	}
	for i := range 4 {
		cn := c.newConn(context.Background(), i)
		if st, _, err := cn.do("GET", "/", "", "", nil, nil); err != nil || st != 200 {
			t.Fatalf("client %d: %d %v", i, st, err)
		}
		cn.close()
	}
	if a, b := hits[0].Load(), hits[1].Load(); a != 2 || b != 2 {
		t.Errorf("the instances served %d and %d of 4 clients, want 2 each", a, b)
	}
	if _, err := newClient(urls[0]+","+urls[1]+"/jifen", 4); err == nil {
		t.Error("instances under different paths were taken")
	}
}

// After the run's end a client sends nothing more (the sale after its pay
// code), however the server answers: nothing is counted, nothing waits.
func TestConnNothingAfterTheEnd(t *testing.T) {
	var n atomic.Int64
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1 {
			<-release // a stalled server
		}
	}))
	defer ts.Close()
	defer close(release) // first: Close waits for the handlers
	c, err := newClient(ts.URL, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{r: &run{c: c}, buf: make([]byte, 0, 64), errs: make([]map[string]*int64, numKinds)}
	for k := range w.errs {
		w.errs[k] = map[string]*int64{}
	}
	w.conn = c.newConn(ctx, 0)
	defer w.conn.close()
	if st, _ := w.send(kPaycode, urlRef{method: "GET", target: "/"}, "", "", nil, time.Now()); st != 200 {
		t.Fatalf("before the end: %d", st)
	}
	cancel()
	time.Sleep(20 * time.Millisecond) // the end's deadline is set
	start := time.Now()
	if st, _ := w.send(kSale, urlRef{method: "POST", target: "/"}, "", "k", []byte("{}"), time.Now()); st != 0 {
		t.Errorf("a sale after the end was answered %d", st)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a sale after the end waited %v", d)
	}
	time.Sleep(20 * time.Millisecond)
	if got := n.Load(); got != 1 || w.ok[kSale] != 0 || len(w.errs[kSale]) != 0 {
		t.Errorf("the server got %d requests (want 1); sales counted ok %d, failed %v (want none)", got, w.ok[kSale], w.errs[kSale])
	}
}

// A key-less POST (a check-in) that the server read and then dropped the
// kept-alive connection under is an error, not sent again: the server may
// have checked the person in.
func TestConnKeylessPostNotSentTwice(t *testing.T) {
	var posts atomic.Int64
	addr := rawServer(t, func(nc net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if req.Method == "POST" {
				posts.Add(1)
				return // read it, then the connection drops
			}
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	cn := testConn(t, "http://"+addr)
	if st, _, err := cn.do("GET", "/", "", "", nil, nil); err != nil || st != 200 {
		t.Fatalf("first: %d %v", st, err)
	}
	if _, _, err := cn.do("POST", "/api/v1/activities/1/checkins", "Bearer x", "", []byte(`{"code":"c"}`), nil); err == nil {
		t.Error("a dropped check-in was answered")
	}
	time.Sleep(50 * time.Millisecond)
	if got := posts.Load(); got != 1 {
		t.Errorf("the server read the check-in %d times, want once", got)
	}
}

func TestJSONInt(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{`{"id":4021,"status":"held","points":30}`, 4021},
		{`{"status":"held","id":7}`, 7},
		{`{"error":{"code":"out_of_stock"}}`, 0},
		{`{"id":"x"}`, 0},
	} {
		if got := jsonInt([]byte(c.in), "id"); got != c.want {
			t.Errorf("jsonInt(%s) = %d, want %d", c.in, got, c.want)
		}
	}
}
