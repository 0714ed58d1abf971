#!/usr/bin/env bash
# Smoke test: start the platform the way a newcomer does (`npm start`, no
# DATABASE_URL, so embedded PGlite in a fresh DATA_DIR), log in as the demo
# owner, read customers over HTTP, then check that SIGTERM stops it in time.
# Prints PASS/FAIL lines; exits non-zero on the first failure. Leaves no
# process behind on any exit path.
#
# Env: PORT (default: 3999, or a free port if that one is taken),
#      SMOKE_START_CMD (default "npm start"; only for testing this script).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/ci-lib.sh
source scripts/ci-lib.sh

DEMO_PASSWORD='Smoke-Test-Passw0rd!'
START_CMD=${SMOKE_START_CMD:-npm start}
read -ra start_cmd <<<"$START_CMD"
READY_TIMEOUT=120
STOP_TIMEOUT=30

port_free() { node -e 'const s=require("net").createServer();s.once("error",()=>process.exit(1));s.listen(+process.argv[1],"127.0.0.1",()=>s.close())' "$1"; }
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
if [[ -z ${PORT:-} ]]; then
  PORT=3999
  port_free "$PORT" || PORT=$(free_port)
fi
BASE="http://127.0.0.1:$PORT"

work=$(mktemp -d)
DATA_DIR="$work/data"
LOG="$work/server.log"
mkdir -p "$DATA_DIR"
pid=""; pgid=""

# Kill the whole process group (npm and everything it started), TERM first.
cleanup() {
  local rc=$?
  if [[ -n $pgid ]] && pgrep -g "$pgid" >/dev/null 2>&1; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 20); do pgrep -g "$pgid" >/dev/null 2>&1 || break; sleep 0.25; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() { printf 'PASS: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  if [[ -s $LOG ]]; then echo "---- server log (last 200 lines) ----"; tail -n 200 "$LOG"; echo "----"; fi
  exit 1
}

# js EXPR FILE: evaluate EXPR with `o` = the JSON in FILE; prints the result
# (objects as JSON), exits 1 if it is undefined/null/false or FILE isn't JSON.
js() {
  node -e '
    let o; try { o = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8")); } catch { process.exit(1); }
    const v = new Function("o", "return (" + process.argv[1] + ")")(o);
    if (v === undefined || v === null || v === false) process.exit(1);
    console.log(typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"
}

# req METHOD PATH [JSON_BODY]: response body -> $work/body, status -> $code.
TOKEN=""
req() {
  local args=(-sS -o "$work/body" -w '%{http_code}' --max-time 15 -X "$1" "$BASE$2")
  [[ -n $TOKEN ]] && args+=(-H "Authorization: Bearer $TOKEN")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  code=$(curl "${args[@]}") || code=000
}
body() { head -c 2000 "$work/body"; echo; }

# ---- start --------------------------------------------------------------
note "starting '$START_CMD' on port $PORT (DATA_DIR=$DATA_DIR, embedded database)"
# setsid: own process group, so one signal reaches npm and the server under it.
# No DATABASE_URL/REDIS_URL: exactly what a newcomer has.
env -u DATABASE_URL -u REDIS_URL PORT="$PORT" DATA_DIR="$DATA_DIR" DEMO_PASSWORD="$DEMO_PASSWORD" \
  setsid "${start_cmd[@]}" >"$LOG" 2>&1 </dev/null &
pid=$!
# From a non-interactive shell setsid runs in place (no fork), so the group id
# is $pid once setsid() has happened; wait for that before relying on it.
for _ in $(seq 1 50); do
  [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]] && { pgid=$pid; break; }
  sleep 0.1
done
[[ -n $pgid ]] || { kill -TERM "$pid" 2>/dev/null || true; fail "could not put the server in its own process group"; }

t0=$(date +%s)
until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/readyz" || true) == 200 ]]; do
  kill -0 "$pid" 2>/dev/null || { wait "$pid" && rc=0 || rc=$?; pid=""; fail "server exited (code $rc) before /readyz was 200"; }
  (( $(date +%s) - t0 < READY_TIMEOUT )) || fail "/readyz not 200 within ${READY_TIMEOUT}s"
  sleep 1
done
pass "GET /readyz 200 after $(( $(date +%s) - t0 ))s"

# ---- API ----------------------------------------------------------------
login=$(node -e 'console.log(JSON.stringify({email:"owner@acme.demo.test",password:process.argv[1],tenant:"acme"}))' "$DEMO_PASSWORD")
req POST /v1/auth/login "$login"
[[ $code == 200 ]] || { body; fail "POST /v1/auth/login -> $code (want 200)"; }
TOKEN=$(js 'o.access_token' "$work/body") || { body; fail "POST /v1/auth/login: no access_token in response"; }
pass "POST /v1/auth/login 200 with access_token"

req GET /v1/me
[[ $code == 200 ]] || { body; fail "GET /v1/me -> $code (want 200)"; }
tenant_id=$(js 'o.tenant_id' "$work/body") || { body; fail "GET /v1/me: no tenant_id"; }
pass "GET /v1/me 200, tenant_id=$tenant_id"

req GET "/v1/tenants/$tenant_id/customers"
[[ $code == 200 ]] || { body; fail "GET /v1/tenants/$tenant_id/customers -> $code (want 200)"; }
js 'Array.isArray(o.items) && o.items.length > 0 && "next_cursor" in o' "$work/body" >/dev/null \
  || { body; fail "customers list: want {items:[...at least one...], next_cursor}"; }
n=$(js 'o.items.length' "$work/body")
cid=$(js 'o.items[0].id' "$work/body") || { body; fail "customers list: first item has no id"; }
pass "GET /v1/tenants/:tenant/customers 200 with $n item(s) and next_cursor"

req GET "/v1/tenants/$tenant_id/customers/$cid"
[[ $code == 200 ]] || { body; fail "GET /v1/tenants/$tenant_id/customers/$cid -> $code (want 200)"; }
got=$(js 'o.id' "$work/body") || true
[[ $got == "$cid" ]] || { body; fail "GET customer $cid returned id '$got'"; }
pass "GET /v1/tenants/:tenant/customers/:id 200"

# ---- graceful stop ------------------------------------------------------
# The whole group, as a terminal's Ctrl-C or a container stop would: SIGTERM
# to npm alone makes npm exit and orphans the server still running.
t0=$(date +%s)
kill -TERM -- "-$pgid"
while pgrep -g "$pgid" >/dev/null && (( $(date +%s) - t0 < STOP_TIMEOUT )); do sleep 0.2; done
if pgrep -g "$pgid" >/dev/null; then
  ps -o pid,pgid,stat,args -g "$pgid" || true
  fail "server still running ${STOP_TIMEOUT}s after SIGTERM"
fi
wait "$pid" && rc=0 || rc=$?
pid=""
grep -q . "$LOG" && { echo "---- server log (last 5 lines) ----"; tail -n 5 "$LOG"; echo "----"; }
# npm gets the group's SIGTERM too and then exits 143 itself whatever the
# server's own code was, so 143 is as good as 0 here; anything else means the
# start command failed on the way down.
[[ $rc == 0 || $rc == 143 ]] || fail "'$START_CMD' exited with code $rc after SIGTERM (want 0 or 143)"
pass "SIGTERM: server and its process group gone after $(( $(date +%s) - t0 ))s (exit code $rc)"
echo "smoke: all checks passed"
