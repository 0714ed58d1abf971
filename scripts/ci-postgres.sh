#!/usr/bin/env bash
# Ensure a PostgreSQL 15 server with pgvector is running on 127.0.0.1:5432 and
# accepts user postgres without a password (trust on loopback), so that
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
# works. Idempotent: on a machine that already has all of it, it only checks.
# Used by .ci/run; developers can run it too (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/ci-lib.sh
source scripts/ci-lib.sh

PG_HOST=127.0.0.1
# Overridable only to test this script on a throwaway cluster.
PG_PORT=${CI_PG_PORT:-5432}
PG_CLUSTER=${CI_PG_CLUSTER:-main}
psql_tcp() { PGOPTIONS='-c client_min_messages=warning' psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -w -X -q "$@"; }
# Over the unix socket as the postgres OS user (peer auth): works even
# before loopback trust is set up.
psql_local() { as_root runuser -u postgres -- psql -p "$PG_PORT" -X -q "$@"; }

# 1. Server package. A fresh machine gets Debian's postgresql-15.
if [[ ! -x $CI_PG_BIN/postgres ]]; then
  # pgvector will have to be built too: add its source entry now so the
  # single `apt-get update` of this run covers it.
  ci_pgvector_installed || ci_enable_trixie_src
  apt_install postgresql-15
fi
if ! pg_lsclusters -h 2>/dev/null | awk -v c="$PG_CLUSTER" '$1=="15" && $2==c' | grep -q .; then
  note "creating cluster 15/$PG_CLUSTER"
  as_root pg_createcluster 15 "$PG_CLUSTER" --port "$PG_PORT"
fi

# 2. Running? Without systemd (containers, CI) pg_ctlcluster must not
#    redirect to systemctl.
if ! pg_isready -h "$PG_HOST" -p "$PG_PORT" -q; then
  note "starting PostgreSQL 15/$PG_CLUSTER"
  as_root pg_ctlcluster --skip-systemctl-redirect 15 "$PG_CLUSTER" start || true
  for _ in $(seq 1 30); do
    pg_isready -h "$PG_HOST" -p "$PG_PORT" -q && break
    sleep 1
  done
  pg_isready -h "$PG_HOST" -p "$PG_PORT" -q \
    || { as_root tail -n 30 "/var/log/postgresql/postgresql-15-$PG_CLUSTER.log" >&2 || true
         die "PostgreSQL did not come up on $PG_HOST:$PG_PORT"; }
fi

# 3. Trust on loopback for the tests' password-less URL. Debian's default
#    pg_hba asks for a password on 127.0.0.1, so put trust lines first
#    (first match wins) and reload.
if ! psql_tcp -tAc 'select 1' >/dev/null 2>&1; then
  hba=$(psql_local -tAc 'show hba_file')
  [[ -f $hba ]] || die "cannot find pg_hba.conf (got '$hba')"
  if ! as_root grep -q '^# ci-postgres.sh: trust on loopback' "$hba"; then
    note "enabling trust auth on loopback in $hba"
    tmp=$(mktemp)
    { printf '%s\n' '# ci-postgres.sh: trust on loopback' \
        'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust'
      as_root cat "$hba"; } >"$tmp"
    # shellcheck disable=SC2016  # $1/$2 are for the inner sh
    as_root sh -c 'cat "$1" > "$2"' _ "$tmp" "$hba"   # keeps owner/mode
    rm -f "$tmp"
  fi
  psql_local -tAc 'select pg_reload_conf()' >/dev/null
  sleep 1
  psql_tcp -tAc 'select 1' >/dev/null || die "cannot connect as postgres@$PG_HOST:$PG_PORT"
fi
ver=$(psql_tcp -tAc 'show server_version_num')
[[ $ver == 15* ]] || die "server on $PG_HOST:$PG_PORT is not PostgreSQL 15 (server_version_num=$ver)"
note "PostgreSQL $(psql_tcp -tAc 'show server_version') on $PG_HOST:$PG_PORT, trust auth OK"

# 4. pgvector. Bookworm has no pgvector package at all, so
#    build Debian's own trixie source package against PostgreSQL 15.
has_vector() { [[ -n $(psql_tcp -tAc "select 1 from pg_available_extensions where name='vector'") ]]; }
if ! has_vector; then
  t_build=$(date +%s)
  note "pgvector missing: building it from Debian's source package"
  ci_enable_trixie_src
  apt_install postgresql-server-dev-15 build-essential dpkg-dev
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # apt downloads as user _apt: let it write here (else it warns).
  chown _apt "$work" 2>/dev/null || chmod 777 "$work"
  (cd "$work" && apt-get source -q pgvector)
  src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
  [[ -n $src ]] || die "apt-get source pgvector produced no source tree"
  note "building $(basename "$src")"
  # OPTFLAGS= : no -march=native, so the build works on any x86-64 machine.
  make -s -C "$src" PG_CONFIG="$CI_PG_CONFIG" OPTFLAGS= -j"$(nproc)"
  as_root make -s -C "$src" PG_CONFIG="$CI_PG_CONFIG" OPTFLAGS= install
  ci_disable_trixie_src
  has_vector || die "pgvector still not available after install"
  # Prove the library loads, in a throwaway database.
  psql_tcp -d postgres -c 'drop database if exists ci_pgvector_check' \
           -c 'create database ci_pgvector_check' >/dev/null
  psql_tcp -d ci_pgvector_check -tAc "create extension vector; select '[1,2,3]'::vector <-> '[1,2,4]'::vector" >/dev/null
  psql_tcp -d postgres -c 'drop database ci_pgvector_check' >/dev/null
  note "pgvector built and installed in $(( $(date +%s) - t_build ))s"
fi
note "pgvector $(psql_tcp -tAc "select default_version from pg_available_extensions where name='vector'") available"
