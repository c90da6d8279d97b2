package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Write prints the report as a table: one row per kind of request, the
// total, and the ledger check.
func (r *Report) Write(w io.Writer) {
	mode := "closed loop"
	if r.Mode == "rate" {
		mode = fmt.Sprintf("open loop at %g operations/s (latency from when each was due; %d started >10 ms late)", r.Rate, r.Late)
	}
	fmt.Fprintf(w, "%s: %d clients, %s, %.1f s, mix %s, popular %.2f\n", r.URL, r.Clients, mode, r.Seconds, r.Mix, r.Popular)
	fmt.Fprintf(w, "%d operations (%.0f/s); popular item sold %d\n", r.Operations, r.OpsPerSec, r.PopularSold)
	if r.Unsent > 0 {
		fmt.Fprintf(w, "%d operations due were never sent: the server fell too far behind (cut off %s after the last was due)\n", r.Unsent, rateGrace)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-9s %9s %9s %9s %8s %8s %8s %8s  %s\n", "request", "count", "ok", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors")
	row := func(x RowReport) {
		fmt.Fprintf(w, "%-9s %9d %9d %9.1f %8.2f %8.2f %8.2f %8.1f  %s\n", x.Name, x.Count, x.OK, x.PerSec, x.P50, x.P95, x.P99, x.Max, errorsText(x.Errors))
	}
	for _, x := range r.Requests {
		row(x)
	}
	row(r.Total)
	if x := r.Writer; x != nil && x.Commits > 0 {
		fmt.Fprintf(w, "\nwriter: %d commits ran %d writes (%.1f each, refused ones too); busy %.0f%% of the run, %.0f%% of that in COMMIT of groups\n",
			x.Commits, x.Writes, x.WritesPerCommit, 100*x.BusyShare, 100*x.CommitShare)
	}
	switch v := r.Verify; {
	case v == nil:
		fmt.Fprintln(w, "\nverify: not run (give --db to check the ledger after the run)")
	case v.OK:
		fmt.Fprintf(w, "\nverify: ledger verified: %d transactions, %d postings, %d accounts, %d blocks, %d waiting to be sealed\n",
			v.Report.Transactions, v.Report.Postings, v.Report.Accounts, v.Report.Blocks, v.Report.Unsealed)
	default:
		fmt.Fprintln(w, "\nverify: FAILED:", v.Error)
	}
}

func errorsText(errs map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, errs[k]))
	}
	return strings.Join(parts, ", ")
}
