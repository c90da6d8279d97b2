#!/usr/bin/env bash
# bench-http.sh sqlite|postgres — the HTTP load tables of BENCHMARKS.md in
# one command: build jifen, serve the demo county on a fresh database, run
# `jifen bench` (awards only, counter redemptions only, the mixed load, and
# the festival peak at a fixed rate), print a markdown table, stop the
# server and drop what it made.
#
# Settings (environment): CLIENTS=32 DURATION=20s RATE=500 PORT=18480
# PG=postgres://postgres@127.0.0.1:5432 (a server where we may create and
# drop a database of our own), KEEP=1 keeps the temporary folder,
# INSTANCES=2 (postgres only) serves from two processes on one database,
# on PORT and PORT+1, the clients spread over both.
set -euo pipefail

db_kind=${1:-}
case "$db_kind" in sqlite | postgres) ;; *)
	echo "usage: $0 sqlite|postgres" >&2
	exit 2
	;;
esac
clients=${CLIENTS:-32}
instances=${INSTANCES:-1}
if [[ $instances -gt 1 && $db_kind != postgres ]]; then
	echo "INSTANCES=$instances: several instances need PostgreSQL (SQLite is one instance)" >&2
	exit 2
fi
duration=${DURATION:-20s}
rate=${RATE:-500}
port=${PORT:-18480}
pg=${PG:-postgres://postgres@127.0.0.1:5432}

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jifen-bench-http.XXXXXX")
servers=()
pgdb=""
cleanup() {
	for server in "${servers[@]}"; do
		if kill -0 "$server" 2>/dev/null; then
			kill -TERM "$server"
			wait "$server" 2>/dev/null || true
		fi
	done
	if [[ -n "$pgdb" ]]; then
		dropdb --if-exists --force --maintenance-db="$pg/postgres" "$pgdb" >/dev/null 2>&1 || true
	fi
	# A failed verify keeps the reports and the server's log to look at.
	if [[ -z "${KEEP:-}" ]] && ! grep -qs '"ok": false' "$tmp"/*.json; then
		rm -rf "$tmp"
	else
		echo "kept $tmp" >&2
	fi
}
trap cleanup EXIT

# Read before anything of ours runs: the machine is shared.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

echo "building jifen…" >&2
(cd "$root" && CGO_ENABLED=0 go build -o "$tmp/jifen" ./cmd/jifen)

case "$db_kind" in
sqlite) dsn="sqlite:$tmp/data/jifen.db" ;;
postgres)
	pgdb="jifen_bench_$$"
	createdb --maintenance-db="$pg/postgres" "$pgdb"
	dsn="$pg/$pgdb?sslmode=disable"
	;;
esac
mkdir -p "$tmp/data"
# serve N [--demo]: instance N (from 0) on PORT+N; the first fills the
# database with the demo county, the others join it with the same secret.
urls=()
serve() {
	local n=$1
	shift
	local url="http://127.0.0.1:$((port + n))"
	echo "serving the demo county on $db_kind at $url (log: $tmp/server$n.log)…" >&2
	JIFEN_SECRET_FILE="$tmp/secret.key" "$tmp/jifen" serve "$@" --addr "127.0.0.1:$((port + n))" --data "$tmp/data" --db "$dsn" \
		>"$tmp/server$n.out" 2>"$tmp/server$n.log" &
	local pid=$!
	servers+=("$pid")
	for _ in $(seq 1 300); do
		curl -fsS "$url/healthz" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || {
			cat "$tmp/server$n.out" "$tmp/server$n.log" >&2
			exit 1
		}
		sleep 0.2
	done
	curl -fsS "$url/healthz" >/dev/null
	urls+=("$url")
}
# Every instance reads one secret (docs/instances.md).
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp/secret.key"
serve 0 --demo
for n in $(seq 1 $((instances - 1))); do
	serve "$n"
done
url=$(
	IFS=,
	echo "${urls[*]}"
)

bench() { # name, then jifen bench flags; the report lands in $tmp/NAME.json
	local name=$1
	shift
	echo "bench $name: $*" >&2
	# A 5xx or a failed verify makes jifen bench exit 1; the table still
	# shows the run, so keep going and report it.
	# GNU time, where there is one, tells what the load generator itself
	# cost: it shares the two cores with the server.
	local timer=()
	[[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f '%U %S' -o "$tmp/$name.cpu")
	"${timer[@]}" "$tmp/jifen" bench --url "$url" --db "$dsn" --state "$tmp/state.json" --clients "$clients" --json "$@" >"$tmp/$name.json" ||
		echo "bench $name: exit status $? (see the errors and verify columns)" >&2
}

# The bare-SQL ceiling of LEDGER.md measured now, on this machine and
# database, so the HTTP figures can be read as ratios of the same run:
# a transfer one commit each, and grouped (set-based, up to 1,000 per
# commit), from 32 goroutines in process (BenchmarkAward in sqldb).
echo "bare SQL ceiling on $db_kind…" >&2
bare_env=()
[[ $db_kind == postgres ]] && bare_env=(JIFEN_TEST_POSTGRES="$dsn")
(cd "$root" && env -u JIFEN_TEST_POSTGRES "${bare_env[@]}" go test ./sqldb/ -run '^$' \
	-bench "^BenchmarkAward\$/^$db_kind\$/^bare_sql_(stores|grouped_stores)\$/^32\$" -benchtime 3000x) >"$tmp/bare.txt" 2>&1 ||
	echo "bare SQL benchmark failed: see $tmp/bare.txt" >&2
bare_one=$(awk '/bare_sql_stores\/32/ {for (i = 1; i < NF; i++) if ($(i + 1) == "ops/s") print $i}' "$tmp/bare.txt")
bare_grouped=$(awk '/bare_sql_grouped_stores\/32/ {for (i = 1; i < NF; i++) if ($(i + 1) == "ops/s") print $i}' "$tmp/bare.txt")

# Setup (people, tokens, stores, activities) happens before the first
# run's clock starts and is kept in state.json for the others.
bench awards --duration "$duration" --mix awards=1
# The popular item gets stock for the whole run: half the sales still
# queue on its row, but each one sells. At the default 500 it sold out in
# the first second and half the sales after that were refusals, which
# halved the sold figure the ratio below reads (runs up to M). The mixed
# run keeps the default and sells it out.
bench redemptions --duration "$duration" --mix redemptions=1 --popular-stock 1000000
bench mixed --duration "$duration"
bench "rate$rate" --duration "$duration" --rate "$rate"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo
where=$db_kind
[[ $instances -gt 1 ]] && where="$db_kind, $instances instances"
echo "### $where — $(date -u +%Y-%m-%d), $(nproc) × $cpu, load before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg), $("$tmp/jifen" version)"
echo
echo "| run | request | count | ok | req/s | ok/s | p50 ms | p95 ms | p99 ms | max ms | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for name in awards redemptions mixed "rate$rate"; do
	[[ -s "$tmp/$name.json" ]] || {
		echo "| $name | (no report) | | | | | | | | | |"
		continue
	}
	jq -r --arg run "$name" '
	  def ms: (. * 10 | round) / 10;
	  def errs: (.errors // {}) | to_entries | map("\(.key): \(.value)") | join(", ");
	  def row(r; secs; name): "| \($run) | \(name) | \(r.count) | \(r.ok) | \(r.per_sec | round) | \(r.ok / secs | round) | \(r.p50_ms | ms) | \(r.p95_ms | ms) | \(r.p99_ms | ms) | \(r.max_ms | ms) | \(r | errs) |";
	  .seconds as $s |
	  (.requests[] | row(.; $s; .name)),
	  row(.total; $s; "**total** (\(.operations) ops, \(.ops_per_sec | round) ops/s\(if .mode == "rate" then ", \(.late // 0) late, \(.unsent // 0) never sent" else "" end); verify \(if .verify.ok then "ok" else "FAILED: \(.verify.error)" end))")
	' "$tmp/$name.json"
done
echo
if [[ -n "$bare_one" && -n "$bare_grouped" ]]; then
	awards=$(jq -r '.total.ok / .seconds' "$tmp/awards.json" 2>/dev/null || echo 0)
	sales=$(jq -r '[.requests[] | select(.name == "sale") | .ok][0] / .seconds' "$tmp/redemptions.json" 2>/dev/null || echo 0)
	awk -v one="$bare_one" -v grouped="$bare_grouped" -v aw="$awards" -v sa="$sales" 'BEGIN {
		printf "- bare SQL in this run (in process, 32 goroutines): one commit each %.0f/s, grouped %.0f/s\n", one, grouped
		printf "- awards over HTTP: %.0f/s = %.2f× one-commit bare SQL, %.2f of grouped\n", aw, aw / one, aw / grouped
		printf "- counter sales over HTTP that sold (each after its pay code): %.0f/s = %.2f× one-commit bare SQL\n", sa, sa / one
	}'
fi
for name in awards redemptions mixed "rate$rate"; do
	[[ -s "$tmp/$name.cpu" && -s "$tmp/$name.json" ]] || continue
	# The CPU time includes setup for the first run; the others are the
	# load alone.
	jq -r --arg run "$name" --arg cpu "$(tail -1 "$tmp/$name.cpu")" \
		'($cpu | split(" ") | map(tonumber) | add) as $c | "- \($run): jifen bench used \($c) s of CPU, \($c * 1e6 / .total.count | round) µs per request"' "$tmp/$name.json"
done
# What the server's committers did in each run (its /metrics, read by
# jifen bench before and after): every write on SQLite, the award groups
# on PostgreSQL (busy above 100 % with two leaders at once; the COMMIT
# share is of groups of two or more).
for name in awards redemptions mixed "rate$rate"; do
	[[ -s "$tmp/$name.json" ]] || continue
	jq -r --arg run "$name" 'select(.writer and .writer.commits > 0) | .writer |
		"- \($run): the committers ran \(.writes) writes (refused ones too) in \(.commits) commits, \(.writes_per_commit * 10 | round / 10) each; busy \(.busy_share * 100 | round) % of the run, \(.commit_share * 100 | round) % of that in COMMIT of groups"' "$tmp/$name.json"
done
