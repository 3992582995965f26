#!/usr/bin/env bash
# Runs keyhold's whole test suite: what CI runs (.ci/run) and what a developer runs.
# It installs what the tests need beyond Go modules (Chromium for the browser tests, PostgreSQL for
# the database tests) when missing, with apt-get: waiting for another apt-get or dpkg that holds the
# package manager's lock, and going on without them, loudly, when there is no apt-get or it fails.
#
# Extra arguments go to go test, and to the fuzzing after it; with -run (a chosen part of the suite)
# the fuzzing is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-test-server.sh

# have_chromium: the browser tests find KEYHOLD_CHROMIUM, or one of these on $PATH
# (web/browser_test.go, chromiumPath).
have_chromium() {
  local name
  if [ -n "${KEYHOLD_CHROMIUM:-}" ]; then return 0; fi
  for name in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then return 0; fi
  done
  return 1
}

# apt_get runs apt-get with its arguments (as root, through sudo otherwise). While another process
# holds the dpkg or apt lock (an unattended upgrade, another install) it waits and tries again, for up
# to about two minutes (KEYHOLD_APT_WAIT seconds), saying so. It fails, without ending the script,
# when there is no apt-get, no way to root, or apt-get fails otherwise.
apt_get() {
  local sudo="" start=$SECONDS limit="${KEYHOLD_APT_WAIT:-120}" out status
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: no apt-get here to install with" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "test.sh: not root, and no sudo to run apt-get with" >&2
      return 1
    fi
    sudo="sudo"
  fi
  while :; do
    status=0
    # env passes DEBIAN_FRONTEND through sudo, which resets the environment.
    out=$($sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=10 "$@" 2>&1) || status=$?
    if [ "$status" = 0 ]; then return 0; fi
    if ! grep -qiE 'could not get lock|unable to (acquire|lock)|is another process using it|dpkg frontend lock|lock-frontend' <<<"$out"; then
      echo "$out" | tail -n 20 >&2
      return "$status"
    fi
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      echo "test.sh: the package manager is still busy after $((SECONDS - start))s (another apt-get or dpkg holds its lock): giving up" >&2
      return "$status"
    fi
    echo "test.sh: the package manager is busy (another apt-get or dpkg holds its lock): waiting ($((SECONDS - start))s of ${limit}s)" >&2
    sleep 10
  done
}

# One apt-get update for all that is missing.
packages=()
if ! have_chromium; then packages+=(chromium); fi
if [ -z "${KEYHOLD_TEST_DATABASE_URL:-}" ] && ! pg_test_bindir >/dev/null; then packages+=(postgresql); fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "test.sh: installing ${packages[*]} for the tests" >&2
  if ! { apt_get update -qq && apt_get install -y -qq "${packages[@]}"; }; then
    echo "test.sh: could not install ${packages[*]}: going on without" >&2
  fi
fi
if ! have_chromium; then
  echo "test.sh: WARNING: no Chromium (chromium, chromium-browser, google-chrome-stable, google-chrome or KEYHOLD_CHROMIUM): the browser tests are skipped" >&2
fi

# The generated templ files are committed: fail if generating them changes anything.
before=$(cat $(find . -name '*_templ.go' -not -path './.git/*' | sort) | sha256sum)
go tool templ generate >/dev/null 2>&1
after=$(cat $(find . -name '*_templ.go' -not -path './.git/*' | sort) | sha256sum)
if [ "$before" != "$after" ]; then
  echo "test.sh: the *_templ.go files were stale (now regenerated): commit them" >&2
  exit 1
fi
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then echo "test.sh: gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...
# go.mod and go.sum say exactly what the code needs, and staticcheck (pinned) finds nothing.
if ! go mod tidy -diff >/dev/null; then echo "test.sh: go mod tidy would change go.mod/go.sum: run it and commit" >&2; exit 1; fi
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# The database tests run against SQLite and against PostgreSQL (db/dbtest): on the server
# KEYHOLD_TEST_DATABASE_URL names, else on a throwaway one started here and removed on exit. The
# fuzzing below uses it too. Without PostgreSQL they run on SQLite alone, which fails the run when
# $CI is set.
if [ -z "${KEYHOLD_TEST_DATABASE_URL:-}" ]; then
  if pg_test_bindir >/dev/null; then
    pg_test_server_start
  else
    echo "test.sh: WARNING: no PostgreSQL (initdb and pg_ctl) and no KEYHOLD_TEST_DATABASE_URL: the database tests run on SQLite only" >&2
  fi
fi
go test -count=1 -timeout 20m "$@" ./...

# Every fuzz target in the repo runs briefly beyond its seed corpus: KEYHOLD_FUZZTIME each (default 3s;
# 0 skips), with the extra arguments. A failing input is saved under the package's testdata/fuzz/ and
# fails the run. New inputs are minimized 100 runs at most: by default that alone can take up the
# whole run. A -run among the arguments chooses part of the suite: then there is no fuzzing.
fuzztime="${KEYHOLD_FUZZTIME:-3s}"
for arg in "$@"; do
  case "$arg" in
  -run | -run=* | --run | --run=* | -test.run | -test.run=* | --test.run | --test.run=*)
    echo "test.sh: -run given: no fuzzing" >&2
    fuzztime=0
    ;;
  esac
done
if [ "$fuzztime" != 0 ]; then
  for file in $(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do
    for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x "$@" "./$(dirname "${file#./}")"
    done
  done
fi
