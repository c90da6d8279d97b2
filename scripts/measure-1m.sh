#!/usr/bin/env bash
# measure-1m.sh DATA DSN — the "Memory, size, start-up" measures of
# BENCHMARKS.md on a county that `jifen demo --people 1000000` loaded:
# start-up to the first /healthz answer, idle RSS, each dashboard report
# (one warm-up, then twelve timed requests), and the server's RSS sampled
# each second under `jifen bench` (awards only, the mix, 500/s; 20 s each),
# then 100 awards with --db so the whole ledger is verified.
#
# Settings (environment): JIFEN=path of the jifen binary (built if unset),
# PORT=18490.
set -uo pipefail
data=${1:?usage: $0 DATA DSN}
dsn=${2:?usage: $0 DATA DSN}
port=${PORT:-18490}
url="http://127.0.0.1:$port"
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jifen-1m.XXXXXX")
bin=${JIFEN:-}
if [[ -z "$bin" ]]; then
	(cd "$root" && CGO_ENABLED=0 go build -o "$tmp/jifen" ./cmd/jifen) || exit 1
	bin="$tmp/jifen"
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s.%N)
"$bin" serve --addr "127.0.0.1:$port" --data "$data" --db "$dsn" >"$tmp/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; kill $sampler 2>/dev/null' EXIT
until curl -fs "$url/healthz" >/dev/null 2>&1; do
	kill -0 $pid 2>/dev/null || {
		cat "$tmp/serve.log"
		exit 1
	}
	sleep 0.01
done
t1=$(date +%s.%N)
echo "start-up: $(echo "$t1 - $t0" | bc) s"
sleep 5
echo "idle RSS: $(ps -o rss= -p $pid) kB"
tok=$(curl -s -X POST "$url/api/v1/sessions" -H 'Content-Type: application/json' \
	-d '{"phone":"13900000000","password":"jifen2026"}' | jq -r .token)
for q in "monthly?org_id=2" "monthly?org_id=1" "top-volunteers?org_id=2" "stars?org_id=2" "stores?org_id=2"; do
	curl -s -o /dev/null -H "Authorization: Bearer $tok" "$url/api/v1/reports/$q"
	for _ in $(seq 12); do
		curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $tok" "$url/api/v1/reports/$q"
	done | sort -n | awk -v q="$q" '{a[NR] = $1 * 1000} END {printf "report %s: median %.1f ms, min %.1f, max %.1f\n", q, (a[6] + a[7]) / 2, a[1], a[NR]}'
done
echo "RSS after the reports: $(ps -o rss= -p $pid) kB"
echo 0 >"$tmp/peak"
(
	peak=0
	while kill -0 $pid 2>/dev/null; do
		r=$(ps -o rss= -p $pid 2>/dev/null | tr -d ' ')
		if [[ -n "$r" && "$r" -gt "$peak" ]]; then
			peak=$r
			echo $peak >"$tmp/peak"
		fi
		sleep 1
	done
) &
sampler=$!
for run in "--mix awards=1" "" "--rate 500"; do
	# shellcheck disable=SC2086 # the run's flags are words
	"$bin" bench --url "$url" --state "$tmp/state.json" --clients 32 --duration 20s $run --quiet 2>&1 | tail -12
done
"$bin" bench --url "$url" --db "$dsn" --state "$tmp/state.json" --clients 32 --requests 100 --mix awards=1 --quiet 2>&1 | tail -3
echo "peak RSS under load: $(cat "$tmp/peak") kB"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
