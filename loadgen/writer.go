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

// WriterReport is what the server's committers (group commit) did during
// the run, read from its /metrics before and after (jifen_db_*): how many
// writes a commit carried and how much of the run they were busy. On
// SQLite that is every write, and a closed-loop run whose one writer is
// busy nearly all the time is at its ceiling; on PostgreSQL it is the
// award groups only, and their busy time includes waiting for rows.
type WriterReport struct {
	Commits         int64   `json:"commits"`
	Writes          int64   `json:"writes"` // refused ones too
	WritesPerCommit float64 `json:"writes_per_commit"`
	// BusyShare is the committers' busy time over the run's: above 1
	// when two leaders run at once (PostgreSQL's award groups).
	BusyShare float64 `json:"busy_share"`
	// CommitShare is the part of the busy time spent in COMMIT, timed
	// for groups of two or more writes only.
	CommitShare float64 `json:"commit_share"`
}

// commitStats reads the servers' commit counters, summed over the
// instances; ok is false when one does not publish them (or its /metrics
// cannot be read).
func (c *client) commitStats(ctx context.Context) (jifen.CommitStats, bool) {
	var sum jifen.CommitStats
	for _, base := range c.bases {
		one, ok := c.commitStatsOf(ctx, base)
		if !ok {
			return sum, false
		}
		sum.Commits += one.Commits
		sum.Writes += one.Writes
		sum.BusySeconds += one.BusySeconds
		sum.CommitSeconds += one.CommitSeconds
	}
	return sum, true
}

func (c *client) commitStatsOf(ctx context.Context, base string) (jifen.CommitStats, bool) {
	var out jifen.CommitStats
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
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

// parseCommitStats picks the four counters out of Prometheus's text
// format (a line is a name, optional labels, a value and an optional
// timestamp); each must appear once, unlabelled.
func parseCommitStats(r io.Reader) (jifen.CommitStats, bool) {
	var out jifen.CommitStats
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
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
		if seen[f[0]] {
			return out, false
		}
		seen[f[0]] = true
	}
	return out, len(seen) == 4 && sc.Err() == nil
}

// writerReport is what happened between two readings over secs seconds.
func writerReport(before, after jifen.CommitStats, secs float64) *WriterReport {
	w := &WriterReport{Commits: after.Commits - before.Commits, Writes: after.Writes - before.Writes}
	busy := after.BusySeconds - before.BusySeconds
	if w.Commits > 0 {
		w.WritesPerCommit = float64(w.Writes) / float64(w.Commits)
	}
	if secs > 0 {
		w.BusyShare = busy / secs
	}
	if busy > 0 {
		w.CommitShare = (after.CommitSeconds - before.CommitSeconds) / busy
	}
	return w
}
