package loadgen

import (
	"strings"
	"testing"

	"jifen"
)

func TestParseCommitStats(t *testing.T) {
	text := `# HELP jifen_db_commits_total Transactions of the database's committers.
# TYPE jifen_db_commits_total counter
jifen_db_commits_total 1.2345e+06
jifen_db_commit_writes_total 1.8e+07
jifen_db_writer_busy_seconds_total 300.5
jifen_db_commit_seconds_total 120.25 1764470000000
jifen_http_requests_total{method="GET",route="/healthz",status="200"} 3
`
	got, ok := parseCommitStats(strings.NewReader(text))
	want := jifen.CommitStats{Commits: 1234500, Writes: 18000000, BusySeconds: 300.5, CommitSeconds: 120.25}
	if !ok || got != want {
		t.Errorf("parsed %+v (%v), want %+v", got, ok, want)
	}
	if _, ok := parseCommitStats(strings.NewReader("jifen_db_commits_total 3\n")); ok {
		t.Error("a page without every counter parsed as complete")
	}
	twice := "jifen_db_commits_total 3\njifen_db_commits_total 3\njifen_db_commit_writes_total 9\njifen_db_writer_busy_seconds_total 1\n"
	if _, ok := parseCommitStats(strings.NewReader(twice)); ok {
		t.Error("a page with a counter twice and one missing parsed as complete")
	}
	w := writerReport(jifen.CommitStats{Commits: 10, Writes: 100, BusySeconds: 1, CommitSeconds: 0.5},
		jifen.CommitStats{Commits: 110, Writes: 1600, BusySeconds: 9, CommitSeconds: 4.5}, 10)
	if w.Commits != 100 || w.Writes != 1500 || w.WritesPerCommit != 15 || w.BusyShare != 0.8 || w.CommitShare != 0.5 {
		t.Errorf("report %+v", w)
	}
}
