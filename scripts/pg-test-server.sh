#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on a temporary directory and a free port, removed
# when the shell exits. The database tests run against SQLite and PostgreSQL alike (db/dbtest): a
# server they can create databases on is named by KEYHOLD_TEST_DATABASE_URL.
#
# scripts/test.sh sources this file and calls pg_test_server_start when KEYHOLD_TEST_DATABASE_URL is
# empty. Run alone, it starts a server, runs its arguments with KEYHOLD_TEST_DATABASE_URL pointing
# at it, removes the server and exits with the command's status:
#
#   scripts/pg-test-server.sh go test -count=1 ./db/
#
# It uses initdb and pg_ctl from the system's PostgreSQL and installs the postgresql Debian package
# when they are missing. PostgreSQL refuses to run as root: as root, the server runs as the postgres
# user the package creates (or a system user keyhold-pg, created when there is no postgres user).

# pg_test_bindir prints the directory holding initdb and pg_ctl: the one on PATH, else the highest
# version under /usr/lib/postgresql (Debian installs them there, off PATH). It fails when neither has both.
pg_test_bindir() {
  local dir
  if dir=$(command -v pg_ctl 2>/dev/null) && dir=$(dirname "$dir") && [ -x "$dir/initdb" ]; then
    echo "$dir"
    return 0
  fi
  dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
    return 0
  fi
  return 1
}

# pg_test_as_server runs its arguments as the server's user (pg_test_user; empty: this user), from
# the server's directory: the user may not be allowed into the current one.
pg_test_as_server() {
  if [ -z "$pg_test_user" ]; then
    (cd "$pg_test_dir" && "$@")
  elif command -v runuser >/dev/null 2>&1; then
    (cd "$pg_test_dir" && runuser -u "$pg_test_user" -- "$@")
  else
    (cd "$pg_test_dir" && su -s /bin/bash "$pg_test_user" -c "$(printf '%q ' "$@")")
  fi
}

# pg_test_server_stop stops the server and removes its directory (the EXIT trap). It keeps the exit
# status the shell is leaving with.
pg_test_server_stop() {
  if [ -n "${pg_test_dir:-}" ]; then
    pg_test_as_server "$pg_test_bin/pg_ctl" -D "$pg_test_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_test_dir"
    pg_test_dir=""
  fi
}

# pg_test_server_start starts the server and exports KEYHOLD_TEST_DATABASE_URL: the server's
# postgres database on 127.0.0.1, as its superuser keyhold.
# It sets an EXIT trap that removes the server, and fails the shell when the server cannot start:
# the PostgreSQL half of the tests must not be lost silently.
pg_test_server_start() {
  local sudo password port attempt version
  if ! pg_test_bin=$(pg_test_bindir); then
    echo "pg-test-server.sh: installing PostgreSQL for the database tests" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    if ! pg_test_bin=$(pg_test_bindir); then
      echo "pg-test-server.sh: no initdb and pg_ctl after installing postgresql" >&2
      exit 1
    fi
  fi

  pg_test_user=""
  if [ "$(id -u)" = 0 ]; then
    pg_test_user=postgres
    if ! id -u postgres >/dev/null 2>&1; then
      pg_test_user=keyhold-pg
      if ! id -u keyhold-pg >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin keyhold-pg
      fi
    fi
  fi

  # Under /tmp as root: the server's user must be able to reach it, which root's TMPDIR may not allow.
  if [ -n "$pg_test_user" ]; then
    pg_test_dir=$(mktemp -d /tmp/keyhold-pg.XXXXXXXX)
    chown "$pg_test_user:" "$pg_test_dir"
  else
    pg_test_dir=$(mktemp -d "${TMPDIR:-/tmp}/keyhold-pg.XXXXXXXX")
  fi
  trap pg_test_server_stop EXIT
  # An interrupted run stops the server too (the EXIT trap runs on exit).
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP

  # The superuser keyhold has a random password over TCP: other users of the machine could otherwise
  # connect during the run, as a superuser, who can run programs as the server's user. The socket's
  # directory is the server user's alone.
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  (umask 077 && echo "$password" >"$pg_test_dir/password")
  if [ -n "$pg_test_user" ]; then chown "$pg_test_user:" "$pg_test_dir/password"; fi
  if ! pg_test_as_server "$pg_test_bin/initdb" -D "$pg_test_dir/data" -U keyhold --pwfile="$pg_test_dir/password" \
    --auth-host=scram-sha-256 --auth-local=trust --no-locale -E UTF8 >"$pg_test_dir/initdb.log" 2>&1; then
    echo "pg-test-server.sh: initdb failed:" >&2
    cat "$pg_test_dir/initdb.log" >&2
    exit 1
  fi
  rm -f "$pg_test_dir/password"

  # A random port in 20000-39999 that nothing listens on; the server may still lose it to another
  # process before it binds, so a failed start is retried on another port. The tests open many
  # connections at once (max_connections); durability is of no use to a throwaway server.
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 20000))
    if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    rm -f "$pg_test_dir/log"
    if pg_test_as_server "$pg_test_bin/pg_ctl" -D "$pg_test_dir/data" -w -t 30 -l "$pg_test_dir/log" \
      -o "-p $port -k '$pg_test_dir' -c listen_addresses=127.0.0.1 -c max_connections=600 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB" \
      start >/dev/null 2>&1; then
      version=$("$pg_test_bin/pg_ctl" --version | sed -n 's/^pg_ctl (PostgreSQL) \([^ ]*\).*/\1/p')
      export KEYHOLD_TEST_DATABASE_URL="postgres://keyhold:$password@127.0.0.1:$port/postgres?sslmode=disable"
      echo "pg-test-server.sh: throwaway PostgreSQL $version at 127.0.0.1:$port (in $pg_test_dir, as ${pg_test_user:-$(id -un)}), removed on exit" >&2
      return 0
    fi
    if ! grep -q 'could not bind\|could not create any TCP/IP sockets\|Address already in use' "$pg_test_dir/log" 2>/dev/null; then
      break
    fi
  done
  echo "pg-test-server.sh: the throwaway PostgreSQL server did not start (set KEYHOLD_TEST_DATABASE_URL to use another); its log:" >&2
  tail -n 30 "$pg_test_dir/log" >&2 2>/dev/null || true
  exit 1
}

# Run alone: start a server, run the arguments against it.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ $# = 0 ]; then
    echo "usage: $0 command [args...]: runs the command with KEYHOLD_TEST_DATABASE_URL naming a throwaway PostgreSQL server" >&2
    exit 2
  fi
  pg_test_server_start
  status=0
  "$@" || status=$?
  exit "$status"
fi
