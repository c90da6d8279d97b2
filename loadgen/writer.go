package loadgen

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"jifen"
)

// WriterReport is what the server's database writer did during the run,
// read from its /metrics before and after (jifen_db_*, group commit): how
// many writes a shared commit carried and how much of the run the writer
// was busy. A writer busy all the time is the ceiling of a closed-loop
// run; a commit carries about as many writes as there are clients waiting
// while the one before it runs.
type WriterReport struct {
	Commits         int64   `json:"commits"`
	Writes          int64   `json:"writes"`
	WritesPerCommit float64 `json:"writes_per_commit"`
	// Busy is the writer's busy time over the run's: above 1 when two
	// leaders run at once (PostgreSQL's award groups).
	Busy float64 `json:"busy"`
	// CommitShare is the part of the busy time spent in COMMIT.
	CommitShare float64 `json:"commit_share"`
}

// commitStats reads the server's commit counters; ok is false when the
// server does not publish them (or /metrics cannot be read).
func (c *client) commitStats(ctx context.Context) (jifen.CommitStats, bool) {
	var out jifen.CommitStats
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/metrics", nil)
	if err != nil {
		return out, false
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return out, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, false
	}
	return parseCommitStats(resp.Body)
}

// parseCommitStats picks the four counters out of Prometheus's text format.
func parseCommitStats(r io.Reader) (jifen.CommitStats, bool) {
	var out jifen.CommitStats
	seen := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "jifen_db_commits_total":
			out.Commits = int64(v)
		case "jifen_db_commit_writes_total":
			out.Writes = int64(v)
		case "jifen_db_writer_busy_seconds_total":
			out.BusySeconds = v
		case "jifen_db_commit_seconds_total":
			out.CommitSeconds = v
		default:
			continue
		}
		seen++
	}
	return out, seen == 4 && sc.Err() == nil
}

// writerReport is what happened between two readings over secs seconds.
func writerReport(before, after jifen.CommitStats, secs float64) *WriterReport {
	w := &WriterReport{Commits: after.Commits - before.Commits, Writes: after.Writes - before.Writes}
	busy := after.BusySeconds - before.BusySeconds
	if w.Commits > 0 {
		w.WritesPerCommit = float64(w.Writes) / float64(w.Commits)
	}
	if secs > 0 {
		w.Busy = busy / secs
	}
	if busy > 0 {
		w.CommitShare = (after.CommitSeconds - before.CommitSeconds) / busy
	}
	return w
}
