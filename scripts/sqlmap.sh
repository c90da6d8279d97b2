#!/usr/bin/env bash
# scripts/sqlmap.sh: point sqlmap at a demo server and report what it found.
#
# It installs sqlmap from Debian when missing (apt-get install -y sqlmap),
# builds jifen, starts `jifen serve --demo` on a fresh SQLite database on a
# local port, signs in for a bearer token (API) and a session cookie (pages),
# runs sqlmap in batch mode at level 2, risk 2 against API and page routes
# with parameters (search words, ids in the path, filters, paging, a JSON
# award, the sign-in form), each bounded in time, stops the server and
# prints one line per target plus the server's 5xx count.
#
#   scripts/sqlmap.sh                 # every target, 240 s each at most
#   SQLMAP_TIMEOUT=60 scripts/sqlmap.sh
#   KEEP=1 scripts/sqlmap.sh          # keep the work folder (sqlmap logs, server log)
#
# Exit status: 0 when no target was found injectable and the server never
# answered 5xx; 1 otherwise; 2 when sqlmap cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

TIMEOUT=${SQLMAP_TIMEOUT:-240}
PORT=${PORT:-18391}
BASE="http://127.0.0.1:$PORT"

if ! command -v sqlmap >/dev/null 2>&1; then
	echo "sqlmap not found: installing the Debian package"
	if [ "$(id -u)" != 0 ] || ! { apt-get install -y -qq sqlmap >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq sqlmap >/dev/null 2>&1; }; }; then
		echo "sqlmap is not available (apt-get install -y sqlmap failed or not root); nothing tested" >&2
		exit 2
	fi
fi
for tool in curl python3 go timeout; do
	command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/jifen-sqlmap.XXXXXX)
SERVER_PID=""
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "work folder kept: $WORK"; fi
}
trap cleanup EXIT

started=$(date +%s)
go build -o "$WORK/jifen" ./cmd/jifen
"$WORK/jifen" serve --demo --data "$WORK/data" --addr "127.0.0.1:$PORT" >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
	curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fs "$BASE/healthz" >/dev/null || { echo "the server did not start:"; cat "$WORK/server.log"; exit 1; }

json() { python3 -c "import sys, json; d = json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
token() {
	curl -fs -X POST -H 'Content-Type: application/json' -d "{\"phone\":\"$1\",\"password\":\"jifen2026\"}" "$BASE/api/v1/sessions" | json 'd["token"]'
}
SUPER=$(token 13900000000)   # 赵文明, super admin
VILLAGE=$(token 13900000002) # 王润莲, org admin of 新窑村

# A session cookie through the real sign-in form.
jar="$WORK/cookies.txt"
csrf=$(curl -fs -c "$jar" "$BASE/signin" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -fs -b "$jar" -c "$jar" -o /dev/null --data-urlencode "phone=13900000000" --data-urlencode "password=jifen2026" --data-urlencode "csrf=$csrf" "$BASE/signin"
SESSION=$(awk '$6 == "jifen_session" {print $7}' "$jar")
CSRFRAW=$(awk '$6 == "jifen_csrf" {print $7}' "$jar")
[ -n "$SESSION" ] || { echo "could not sign in through the form" >&2; exit 1; }

# Ids the targets use: a village, one of its residents, a rule without a
# photo or a cap (a deduction, so no daily cap of points stops the requests early).
vid=$(curl -fs -H "Authorization: Bearer $VILLAGE" "$BASE/api/v1/me" | json 'd.get("home_org_id") or d["person"]["home_org_id"]')
pid=$(curl -fs -H "Authorization: Bearer $SUPER" "$BASE/api/v1/people?q=%E9%99%88%E6%A1%82%E5%85%B0" | json 'd["items"][0]["id"]')
rid=$(curl -fs -H "Authorization: Bearer $VILLAGE" "$BASE/api/v1/orgs/$vid/rules" | json '[r["id"] for r in (d["items"] if isinstance(d, dict) else d) if r["code"] == "civ.rumour"][0]')
sid=$(curl -fs -H "Authorization: Bearer $VILLAGE" "$BASE/api/v1/stores?manage=true" | json '(d["items"] if isinstance(d, dict) else d)[0]["id"]')
echo "demo server on $BASE: village $vid, resident $pid, rule $rid, store $sid"

# Every POST to /api/v1/awards needs an Idempotency-Key, and a key reused
# with another body is refused before the body is looked at. The first
# request's fixed key makes sqlmap's baseline a plain retry (the same
# answer each time); this tamper gives every payload a key of its own.
# (A tamper, not --preprocess: Debian's sqlmap 1.7.2 loads preprocess
# scripts with inspect.getargspec, which Python 3.11 no longer has.)
cat >"$WORK/idemkey.py" <<'EOF'
import uuid

from lib.core.enums import PRIORITY

__priority__ = PRIORITY.NORMAL

def dependencies():
    pass

def tamper(payload, **kwargs):
    kwargs.get("headers", {})["Idempotency-Key"] = "sqlmap-" + uuid.uuid4().hex
    return payload
EOF
: >"$WORK/__init__.py" # sqlmap loads tamper scripts as a package

common=(--batch --level=2 --risk=2 --dbms=SQLite --time-sec=2 --flush-session --disable-coloring
	--output-dir="$WORK/sqlmap" --answers="follow=N")
targets=(
	"api people search|$BASE/api/v1/people?q=%E5%BC%A0&org_id=1&status=active&page=1&per_page=20"
	"api person by id (path)|$BASE/api/v1/people/${pid}*"
	"api awards filter|$BASE/api/v1/awards?status=posted&org_id=$vid&person_id=$pid&page=1&per_page=20"
	"api activities filter|$BASE/api/v1/activities?category=environment&status=published&org_id=1&page=1"
	"api org children (path)|$BASE/api/v1/orgs/1*/children?archived=false"
)
summary=()
run_target() { # name, then sqlmap arguments
	local name=$1
	shift
	local log="$WORK/$(echo "$name" | tr -c 'a-z0-9' '_').log"
	local t0 rc verdict codes
	t0=$(date +%s)
	set +e
	timeout "$TIMEOUT" sqlmap "${common[@]}" "$@" >"$log" 2>&1
	rc=$?
	set -e
	if grep -qE "identified the following injection point|appears to be '.*' injectable|is vulnerable" "$log"; then
		verdict="INJECTABLE"
	elif grep -q "might be injectable\|might not be injectable" "$log" && ! grep -q "do not appear to be injectable" "$log"; then
		verdict="inconclusive"
	elif grep -q "do not appear to be injectable" "$log"; then
		verdict="not injectable"
	elif [ $rc = 124 ]; then
		verdict="stopped after ${TIMEOUT}s, nothing found"
	else
		verdict="sqlmap exit $rc: $(grep -E '\[(CRITICAL|ERROR)\]' "$log" | tail -1 | cut -c1-140)"
	fi
	codes=$(grep -A1 "HTTP error codes detected during run:" "$log" | tail -1 | sed 's/^\[.*//' || true)
	summary+=("$(printf '%-28s %-38s %4ss  %s' "$name" "$verdict" "$(($(date +%s) - t0))" "${codes:+HTTP errors:$codes}")")
}

for t in "${targets[@]}"; do
	run_target "${t%%|*}" -H "Authorization: Bearer $SUPER" -u "${t#*|}"
done
# The village's own store: its org admin manages it.
run_target "api store redemptions" -H "Authorization: Bearer $VILLAGE" -u "$BASE/api/v1/stores/$sid/redemptions?day=2026-01-15&status=completed&page=1"
run_target "api POST award (JSON)" -H "Authorization: Bearer $VILLAGE" -H "Content-Type: application/json" -H "Idempotency-Key: sqlmap-baseline" --tamper="$WORK/idemkey.py" \
	-u "$BASE/api/v1/awards" --data "{\"person_id\":$pid,\"rule_id\":$rid,\"quantity\":1,\"note\":\"散布谣言\"}"
run_target "page people search" --cookie "jifen_session=$SESSION; jifen_csrf=$CSRFRAW" -u "$BASE/people?q=%E5%BC%A0&page=1"
run_target "page audit filter" --cookie "jifen_session=$SESSION; jifen_csrf=$CSRFRAW" -u "$BASE/audit?action=person.create&page=1"
# Last: its failures fill the per-address sign-in throttle, after which
# every sign-in answers 429 (that is the protection working).
run_target "page sign-in form" --ignore-code=401 --cookie "jifen_csrf=$CSRFRAW" --csrf-token=csrf --csrf-url="$BASE/signin" \
	-u "$BASE/signin" --data "phone=13900000099&password=wrong-password&csrf=$csrf"

errors5xx=$(grep -c '"status":5[0-9][0-9]' "$WORK/server.log" || true)
requests=$(grep -c '"msg":"request"' "$WORK/server.log" || true)
echo
echo "sqlmap $(sqlmap --version 2>/dev/null | head -1) against jifen (SQLite), level 2, risk 2, ${TIMEOUT}s per target at most"
printf '%s\n' "${summary[@]}"
echo "server: $requests requests answered, $errors5xx with a 5xx status; $(($(date +%s) - started))s in all"
if [ "$errors5xx" != 0 ]; then
	echo "5xx answers (first 5):"
	grep '"status":5[0-9][0-9]' "$WORK/server.log" | head -5
fi
if printf '%s\n' "${summary[@]}" | grep -q INJECTABLE || [ "$errors5xx" != 0 ]; then
	exit 1
fi
