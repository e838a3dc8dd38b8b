#!/usr/bin/env bash
# TEST-ONLY PostgreSQL: never keep results in it. It runs with fsync, synchronous_commit and
# full_page_writes off and its data in /tmp (a crash of the machine can lose or corrupt it), and
# its user nas_test has the public password nas_test. For a real server see docs/storage.md,
# "PostgreSQL for real results".
#
# PostgreSQL for the storage contract tests (tests/storage/*, the "postgres" parameter).
# Sourced by .ci/test: installs Debian's postgresql when missing, runs a private cluster on
# 127.0.0.1:${NAS_PG_PORT:-55432} with its data in ${NAS_PG_DIR:-/tmp/nas-ci-postgres}, creates
# the user and database nas_test, and exports NAS_TEST_POSTGRES_URL. Idempotent: a second run
# finds the cluster up and only exports. Never fails CI: when PostgreSQL cannot be had it says
# why, leaves NAS_TEST_POSTGRES_URL unset and exports NAS_TEST_POSTGRES_SKIP_REASON, which the
# skipped tests print. Everything runs in functions that return (`exit` would end .ci/test),
# called in an `if` so `set -e` from the sourcing shell cannot abort half way.

nas_pg_as_owner() {  # nas_pg_as_owner CMD... : run as the cluster owner (postgres when root)
  if [[ $(id -u) -eq 0 ]]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u postgres -- "$@"
    else
      su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

nas_pg_bindir() {  # print the newest PostgreSQL server bin directory, if any
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$dir" && -x "$dir/pg_ctl" ]] && echo "$dir"
}

nas_pg_install() {
  command -v apt-get >/dev/null 2>&1 || { NAS_PG_WHY="no PostgreSQL and no apt-get"; return 1; }
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      NAS_PG_WHY="no PostgreSQL, and not root and no sudo to install it"; return 1
    fi
  fi
  echo "postgres.sh: installing Debian's postgresql" >&2
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      $sudo apt-get install -y -qq --no-install-recommends postgresql; } >/dev/null 2>&1 \
    || { NAS_PG_WHY="apt-get install postgresql failed"; return 1; }
}

nas_pg_setup() {
  local port="${NAS_PG_PORT:-55432}" root="${NAS_PG_DIR:-/tmp/nas-ci-postgres}"
  local data="$root/data" bin
  bin=$(nas_pg_bindir) || { nas_pg_install && bin=$(nas_pg_bindir); } \
    || { NAS_PG_WHY="${NAS_PG_WHY:-postgresql installed but no server binaries found}"; return 1; }
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    NAS_PG_WHY="running as root but there is no postgres user to own the cluster"; return 1
  fi
  mkdir -p "$root" 2>/dev/null || { NAS_PG_WHY="cannot create $root"; return 1; }
  [[ $(id -u) -eq 0 ]] && chown postgres: "$root"
  if [[ ! -s "$data/PG_VERSION" ]]; then
    nas_pg_as_owner "$bin/initdb" -D "$data" -U postgres -E UTF8 --no-sync \
      --auth-local=trust --auth-host=scram-sha-256 >"$root/initdb.log" 2>&1 \
      || { NAS_PG_WHY="initdb failed (see $root/initdb.log)"; return 1; }
  fi
  if ! nas_pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    nas_pg_as_owner "$bin/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null 2>&1 \
      || { NAS_PG_WHY="the server did not start (see $root/server.log)"; return 1; }
  fi
  local psql=("$bin/psql" -h "$root" -p "$port" -U postgres -d postgres -tAq -v ON_ERROR_STOP=1)
  if [[ $(nas_pg_as_owner "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'nas_test'") != 1 ]]; then
    nas_pg_as_owner "${psql[@]}" -c "CREATE ROLE nas_test LOGIN PASSWORD 'nas_test'" >/dev/null \
      || { NAS_PG_WHY="cannot create role nas_test"; return 1; }
  fi
  if [[ $(nas_pg_as_owner "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'nas_test'") != 1 ]]; then
    nas_pg_as_owner "${psql[@]}" -c "CREATE DATABASE nas_test OWNER nas_test" >/dev/null \
      || { NAS_PG_WHY="cannot create database nas_test"; return 1; }
  fi
  NAS_PG_URL="postgresql+psycopg://nas_test:nas_test@127.0.0.1:$port/nas_test"
}

NAS_PG_WHY=""
NAS_PG_URL=""
if nas_pg_setup; then
  export NAS_TEST_POSTGRES_URL="$NAS_PG_URL"
  unset NAS_TEST_POSTGRES_SKIP_REASON
  echo "postgres.sh: NAS_TEST_POSTGRES_URL=$NAS_TEST_POSTGRES_URL" >&2
else
  unset NAS_TEST_POSTGRES_URL
  export NAS_TEST_POSTGRES_SKIP_REASON="postgres.sh: ${NAS_PG_WHY:-setup failed}"
  echo "$NAS_TEST_POSTGRES_SKIP_REASON; PostgreSQL tests will skip" >&2
fi
unset NAS_PG_WHY NAS_PG_URL
