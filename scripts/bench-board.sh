#!/usr/bin/env bash
# bench-board.sh sqlite|postgres — the table "A county's board after a
# restart" of BENCHMARKS.md: build jifen, generate a county of PEOPLE
# people on a fresh database, serve it, time GET /api/v1/board/2 (the
# county) for its first reader, the next, the first after a restart and
# (PostgreSQL) the first on a second server; then the erasure of the
# person of the county's latest award, and the first reader after it;
# then drop what it made.
#
# Settings (environment): PEOPLE=100000 PORT=18580 ORG=2
# PG=postgres://postgres@127.0.0.1:5432 (a server where we may create and
# drop a database of our own), KEEP=1 keeps the temporary folder.
set -euo pipefail

db_kind=${1:-}
case "$db_kind" in sqlite | postgres) ;; *)
	echo "usage: $0 sqlite|postgres" >&2
	exit 2
	;;
esac
people=${PEOPLE:-100000}
port=${PORT:-18580}
org=${ORG:-2}
pg=${PG:-postgres://postgres@127.0.0.1:5432}

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jifen-bench-board.XXXXXX")
servers=()
pgdb=""
cleanup() {
	for server in "${servers[@]}"; do stop "$server"; done
	if [[ -n "$pgdb" ]]; then
		dropdb --if-exists --force --maintenance-db="$pg/postgres" "$pgdb" >/dev/null 2>&1 || true
	fi
	if [[ -z "${KEEP:-}" ]]; then rm -rf "$tmp"; else echo "kept $tmp" >&2; fi
}
trap cleanup EXIT
# stop PID: a server, and wait until it has gone (serve starts it in a
# subshell, so it is not ours to wait for).
stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	while kill -0 "$1" 2>/dev/null; do sleep 0.1; done
}

echo "building jifen…" >&2
(cd "$root" && CGO_ENABLED=0 go build -o "$tmp/jifen" ./cmd/jifen)
case "$db_kind" in
sqlite) dsn="sqlite:$tmp/data/jifen.db" ;;
postgres)
	pgdb="jifen_board_$$"
	createdb --maintenance-db="$pg/postgres" "$pgdb"
	dsn="$pg/$pgdb?sslmode=disable"
	;;
esac
mkdir -p "$tmp/data"
# Every server reads one secret (docs/instances.md).
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp/secret.key"
export JIFEN_SECRET_FILE="$tmp/secret.key"

echo "generating $people people…" >&2
"$tmp/jifen" demo --people "$people" --years 1 --data "$tmp/data" --db "$dsn" | tail -1 >&2

# serve N: a server on PORT+N; prints its pid.
serve() {
	"$tmp/jifen" serve --addr "127.0.0.1:$((port + $1))" --data "$tmp/data" --db "$dsn" >"$tmp/server$1.log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do
		curl -fs -o /dev/null "http://127.0.0.1:$((port + $1))/healthz" && break
		sleep 0.1
	done
	echo "$pid"
}
# token N: a session of the demo's first login on server N.
token() {
	curl -fs -H 'Content-Type: application/json' -d '{"phone":"13900000000","password":"jifen2026"}' \
		"http://127.0.0.1:$((port + $1))/api/v1/sessions" | sed -E 's/.*"token":"([^"]+)".*/\1/'
}
# board N TOKEN WHAT: one table row, the time of GET /api/v1/board/ORG on
# server N; a board being made past the reader's patience (a county's at
# 1 M people) is a 503 board_making, asked again until it comes.
board() {
	local took status made
	for _ in $(seq 60); do
		took=$(curl -s -o "$tmp/board.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $2" "http://127.0.0.1:$((port + $1))/api/v1/board/$org")
		status=${took% *} took=${took#* }
		if [[ $status != 503 ]]; then break; fi
		echo "| $3: 503 board_making | $took s | | |"
		sleep 5
	done
	if [[ $status != 200 ]]; then
		echo "GET /api/v1/board/$org: $status $(cat "$tmp/board.json")" >&2
		exit 1
	fi
	made=$(sed -E 's/.*"generated_at":"([^"]+)".*/\1/' "$tmp/board.json")
	echo "| $3 | $took s | $(stat -c %s "$tmp/board.json") bytes | $made |"
}

echo "| $db_kind, $people people | time | size | generated_at |"
echo "|---|---|---|---|"
first=$(serve 0)
servers+=("$first")
tok=$(token 0)
board 0 "$tok" "the first reader (makes it)"
board 0 "$tok" "the next reader"
stop "$first"
servers=("$(serve 0)")
tok=$(token 0)
board 0 "$tok" "the first reader after a restart"
if [[ $db_kind == postgres ]]; then
	servers+=("$(serve 1)")
	board 1 "$(token 1)" "the first reader on a second server"
fi
# The person of the county's latest award is on the board's list on
# display: erased, the kept board is put right (patchBoards), not made
# again.
person=$(curl -fs -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/api/v1/awards?org_id=$org&per_page=1" |
	sed -E 's/.*"person_id":([0-9]+).*/\1/')
took=$(curl -fs -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	-d '{"reason":"本人书面申请"}' "http://127.0.0.1:$port/api/v1/people/$person/erase")
echo "| the erasure of person $person (POST …/erase) | $took s | | |"
board 0 "$tok" "the first reader after the erasure"
