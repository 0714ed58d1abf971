# shellcheck shell=bash
# Shared helpers for .ci/run and scripts/ci-*.sh. Source it, don't run it.
#
# Keeps one clock for the whole run (CI_T0, exported so child scripts print
# elapsed time against the same start) and makes sure `apt-get update` runs
# at most once per run (CI_APT_UPDATED, exported for the same reason).

: "${CI_T0:=$(date +%s)}"
export CI_T0
export DEBIAN_FRONTEND=noninteractive

ci_elapsed() { echo $(( $(date +%s) - CI_T0 )); }
# `step NAME` prints a banner with the run's elapsed seconds and closes the
# previous step with its own duration (`step_end` closes the last one).
CI_STEP_NAME=""; CI_STEP_T=0
step_end() {
  [[ -n $CI_STEP_NAME ]] && printf -- '-- %s: %ss\n' "$CI_STEP_NAME" "$(( $(date +%s) - CI_STEP_T ))"
  CI_STEP_NAME=""
}
step() {
  step_end
  CI_STEP_NAME=$*; CI_STEP_T=$(date +%s)
  printf '\n== %s  [t=%ss]\n' "$*" "$(ci_elapsed)"
}
note() { printf -- '-- %s\n' "$*"; }
warn() { printf 'WARN: %s\n' "$*" >&2; }
die()  { printf 'FATAL: %s\n' "$*" >&2; exit 1; }

# Run as root when we are not (a developer's machine); CI is root already.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo -E "$@"
  else die "need root for: $*"
  fi
}

# A source-only trixie entry: lets `apt-get source pgvector` find Debian's
# pgvector source package (bookworm has no pgvector package) without ever
# pulling a binary package from trixie.
CI_TRIXIE_SRC=/etc/apt/sources.list.d/ci-trixie-src.sources

ci_enable_trixie_src() {
  [[ -f $CI_TRIXIE_SRC ]] && return 0
  note "adding deb-src entry for trixie ($CI_TRIXIE_SRC)"
  as_root tee "$CI_TRIXIE_SRC" >/dev/null <<'EOF'
# Added by scripts/ci-postgres.sh: source packages only (for pgvector).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  if [[ -n ${CI_APT_UPDATED:-} ]]; then
    # The one full update already ran without this entry (only when a script
    # is used out of the planned order): refresh this source alone.
    note "apt-get update (trixie sources only)"
    as_root apt-get update -q -o Dir::Etc::SourceList="$CI_TRIXIE_SRC" \
      -o Dir::Etc::SourceParts=/dev/null -o APT::Get::List-Cleanup=0
  fi
}

ci_disable_trixie_src() {
  # Drop it again so later `apt-get update`s don't keep fetching trixie's
  # source index; the built extension stays installed.
  [[ -f $CI_TRIXIE_SRC ]] && as_root rm -f "$CI_TRIXIE_SRC"
  return 0
}

apt_update_once() {
  [[ -n ${CI_APT_UPDATED:-} ]] && return 0
  note "apt-get update"
  # A broken third-party list must not stop us from reaching Debian's own.
  as_root apt-get update -q || warn "apt-get update reported errors; continuing"
  export CI_APT_UPDATED=1
}

pkg_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Install only the packages that are missing (no gratuitous upgrades, and no
# `apt-get update` at all when everything is there).
apt_install() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  apt_update_once
  note "apt-get install ${missing[*]}"
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# PostgreSQL 15 layout on Debian.
# shellcheck disable=SC2034  # used by scripts/ci-postgres.sh
{
  CI_PG_BIN=/usr/lib/postgresql/15/bin
  CI_PG_CONFIG=$CI_PG_BIN/pg_config
}

# pgvector's control file is what pg_available_extensions lists, so its
# presence predicts the psql check without needing a running server.
ci_pgvector_installed() { [[ -f /usr/share/postgresql/15/extension/vector.control ]]; }
