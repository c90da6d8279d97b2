package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// conn is one simulated client's own keep-alive HTTP/1.1 connection. The
// load generator shares the machine's cores with the server it measures,
// so its cost per request is taken from the server's: net/http's
// transport hands each request to a writing and a reading goroutine of
// the connection and builds a header map and a response per request
// (about 70 µs of CPU a request, BENCHMARKS.md). Here the client's own
// goroutine writes the request in one call and reads the answer in
// place: the status, the body's length, the body. Setup requests, which
// are few, still go through net/http (client.call).
type conn struct {
	ctx  context.Context
	addr string      // host:port to dial
	host string      // the Host header
	tls  *tls.Config // nil for http

	nc     net.Conn
	br     *bufio.Reader
	unhook func() bool // stops the ctx watch of nc
	used   bool        // nc has answered a request before
	out    []byte      // the request being written
}

// requestTimeout bounds one request, as ResponseHeaderTimeout did.
const requestTimeout = 60 * time.Second

// newConn is simulated client i's connection, to one of the servers in
// turn.
func (c *client) newConn(ctx context.Context, i int) *conn {
	t := c.targets[i%len(c.targets)]
	cn := &conn{ctx: ctx, addr: t.addr, host: t.host, out: make([]byte, 0, 1024)}
	if t.https {
		cn.tls = &tls.Config{ServerName: t.hostname}
	}
	return cn
}

func (cn *conn) dial() error {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(cn.ctx, "tcp", cn.addr)
	if err != nil {
		return err
	}
	if cn.tls != nil {
		tc := tls.Client(nc, cn.tls)
		if err := tc.HandshakeContext(cn.ctx); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	cn.nc, cn.used = nc, false
	if cn.br == nil {
		cn.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		cn.br.Reset(nc)
	}
	// The end of the run (or ^C) ends a request waiting on the server.
	cn.unhook = context.AfterFunc(cn.ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return nil
}

func (cn *conn) close() {
	if cn.nc != nil {
		cn.unhook()
		cn.nc.Close()
		cn.nc = nil
	}
}

// errNothing is a reused connection that closed before answering: the
// server dropped it while idle, so the request was not taken and may be
// sent again on a new one, as net/http does.
var errNothing = errors.New("loadgen: connection closed before any answer")

// do sends one request and reads its answer into ans[:0]. It returns the
// status and the answer's body.
func (cn *conn) do(method, target, auth, key string, body, ans []byte) (int, []byte, error) {
	for try := 0; ; try++ {
		status, out, err := cn.try(method, target, auth, key, body, ans)
		if err == nil {
			return status, out, nil
		}
		cn.close()
		// Sent again only if it is safe to repeat, as net/http decides: a
		// GET or a request with an Idempotency-Key. A key-less POST (a
		// check-in) the server may have read before the close is an
		// error, not a second check-in.
		again := method == "GET" || key != ""
		if !errors.Is(err, errNothing) || !again || try > 0 || cn.ctx.Err() != nil {
			return 0, ans[:0], err
		}
	}
}

func (cn *conn) try(method, target, auth, key string, body, ans []byte) (int, []byte, error) {
	if cn.nc == nil {
		if err := cn.dial(); err != nil {
			return 0, nil, err
		}
	}
	b := cn.out[:0]
	b = append(append(append(append(b, method...), ' '), target...), " HTTP/1.1\r\nHost: "...)
	b = append(append(b, cn.host...), "\r\nUser-Agent: jifen-bench\r\n"...)
	if auth != "" {
		b = append(append(append(b, "Authorization: "...), auth...), "\r\n"...)
	}
	if key != "" {
		b = append(append(append(b, "Idempotency-Key: "...), key...), "\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = append(strconv.AppendInt(b, int64(len(body)), 10), "\r\n\r\n"...)
		b = append(b, body...)
	} else {
		b = append(b, "\r\n"...)
	}
	cn.out = b
	cn.nc.SetDeadline(time.Now().Add(requestTimeout))
	// After the run's end nothing more is sent (a sale after its pay
	// code): the deadline just set would undo the past one the end set.
	// An end after this check sets its deadline after ours.
	if err := cn.ctx.Err(); err != nil {
		return 0, nil, err
	}
	if _, err := cn.nc.Write(b); err != nil {
		return 0, nil, cn.nothing(err)
	}
	status, out, err := cn.read(ans[:0])
	if err != nil {
		return 0, nil, err
	}
	cn.used = true
	return status, out, nil
}

// nothing marks an error met before the answer's first byte on a reused
// connection as one the request may be sent again after.
func (cn *conn) nothing(err error) error {
	if cn.used && cn.br.Buffered() == 0 && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)) {
		return fmt.Errorf("%w: %v", errNothing, err)
	}
	return err
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// read reads one answer: the status line, the headers it needs (the
// body's length or chunking, Connection: close) and the body.
func (cn *conn) read(ans []byte) (int, []byte, error) {
	var status int
	for {
		line, err := cn.br.ReadSlice('\n')
		if err != nil {
			if len(line) == 0 {
				return 0, nil, cn.nothing(err)
			}
			return 0, nil, err
		}
		// "HTTP/1.1 201 Created\r\n"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return 0, nil, fmt.Errorf("loadgen: not an HTTP/1.x status line: %q", line)
		}
		status, err = strconv.Atoi(string(line[9:12]))
		if err != nil {
			return 0, nil, fmt.Errorf("loadgen: bad status line: %q", line)
		}
		if status >= 200 || status == 101 {
			break
		}
		if err := cn.skipHeaders(); err != nil { // 1xx: another answer follows
			return 0, nil, err
		}
	}
	length, chunked, closes := int64(-1), false, false
	for {
		line, err := cn.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, fmt.Errorf("loadgen: reading headers: %w", err)
		}
		if len(line) <= 2 { // the blank line
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, fmt.Errorf("loadgen: bad header line: %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, nil, fmt.Errorf("loadgen: bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiContainsFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			closes = asciiContainsFold(value, "close")
		}
	}
	var err error
	switch {
	case status == 204 || status == 304:
	case chunked:
		ans, err = cn.readChunked(ans)
	case length >= 0:
		ans, err = readN(cn.br, ans, length)
	default: // the body runs to the connection's end
		ans, err = readAll(cn.br, ans)
		closes = true
	}
	if err != nil {
		return 0, nil, fmt.Errorf("loadgen: reading the answer: %w", err)
	}
	if closes {
		cn.close()
	}
	return status, ans, nil
}

func (cn *conn) skipHeaders() error {
	for {
		line, err := cn.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			return nil
		}
	}
}

func (cn *conn) readChunked(ans []byte) ([]byte, error) {
	for {
		line, err := cn.br.ReadSlice('\n')
		if err != nil {
			return ans, err
		}
		size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || n < 0 {
			return ans, fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			return ans, cn.skipHeaders() // trailers, then the blank line
		}
		if ans, err = readN(cn.br, ans, n); err != nil {
			return ans, err
		}
		if _, err := cn.br.Discard(2); err != nil { // the chunk's CRLF
			return ans, err
		}
	}
}

// readN appends n bytes of r to b.
func readN(r io.Reader, b []byte, n int64) ([]byte, error) {
	b = grow(b, int(n))
	_, err := io.ReadFull(r, b[len(b):len(b)+int(n)])
	return b[:len(b)+int(n)], err
}

func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		b = grow(b, 512)
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n+cap(b))
		copy(nb, b)
		return nb
	}
	return b
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func asciiContainsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if asciiEqualFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
