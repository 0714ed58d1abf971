#!/usr/bin/env bash
# Ensure Redis answers on 127.0.0.1:6379 (REDIS_URL=redis://127.0.0.1:6379).
# Idempotent; used by .ci/run, developers can run it too.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/ci-lib.sh
source scripts/ci-lib.sh

# Overridable only to test this script on a throwaway instance.
PORT=${CI_REDIS_PORT:-6379}
redis_up() { [[ $(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null) == PONG ]]; }

if ! command -v redis-cli >/dev/null || ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  if ! redis_up; then
    note "starting redis-server"
    # Throwaway cache for tests: no persistence, loopback only.
    as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" \
      --save "" --appendonly no --dir /tmp --logfile "/tmp/ci-redis-$PORT.log"
    for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
    redis_up || { tail -n 20 "/tmp/ci-redis-$PORT.log" >&2 || true; die "Redis did not come up on 127.0.0.1:$PORT"; }
  fi
fi
note "Redis $(redis-cli -h 127.0.0.1 -p "$PORT" info server | sed -n 's/^redis_version:\(.*\)\r$/\1/p') on 127.0.0.1:$PORT"
