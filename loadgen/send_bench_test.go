package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkSend is the load generator's own cost per request: one client
// sending a pre-built award to a server that answers at once, so the
// figure is the tool's overhead (and the loopback's), not jifen's.
func BenchmarkSend(b *testing.B) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id":1,"status":"posted","points":1}` + "\n"))
	}))
	defer ts.Close()
	c, err := newClient(ts.URL, 4)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &Config{Clients: 1, Mix: Mix{Awards: 1}}
	r := &run{cfg: cfg, c: c, runID: "bench-x", adminAuth: "Bearer token"}
	r.awardURL = r.ref("POST", "/api/v1/awards")
	body := []byte(`{"person_id":1,"rule_id":2,"quantity":1}`)
	w := &worker{r: r, errs: make([]map[string]*int64, numKinds)}
	w.conn = c.newConn(context.Background(), 0)
	defer w.conn.close()
	w.buf = make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if st, _ := w.send(kAward, r.awardURL, r.adminAuth, w.key(), body, time.Now()); st != http.StatusCreated {
			b.Fatal(st)
		}
	}
}
