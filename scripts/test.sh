#!/usr/bin/env bash
# Runs keyhold's whole test suite: what CI runs (.ci/run) and what a developer runs.
# It installs what the tests need beyond Go modules (Chromium for the browser tests, PostgreSQL for
# the database tests) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-test-server.sh

# One apt-get update for all that is missing. env passes DEBIAN_FRONTEND through sudo, which resets
# the environment.
packages=()
if ! command -v chromium >/dev/null 2>&1 && [ -z "${KEYHOLD_CHROMIUM:-}" ]; then packages+=(chromium); fi
if [ -z "${KEYHOLD_TEST_DATABASE_URL:-}" ] && ! pg_test_bindir >/dev/null; then packages+=(postgresql); fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "test.sh: installing ${packages[*]} for the tests" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
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
# fuzzing below uses it too.
if [ -z "${KEYHOLD_TEST_DATABASE_URL:-}" ]; then pg_test_server_start; fi
go test -count=1 -timeout 20m "$@" ./...

# Every fuzz target in the repo runs briefly beyond its seed corpus: KEYHOLD_FUZZTIME each (default 3s;
# 0 skips). A failing input is saved under the package's testdata/fuzz/ and fails the run. New inputs
# are minimized 100 runs at most: by default that alone can take up the whole run.
fuzztime="${KEYHOLD_FUZZTIME:-3s}"
if [ "$fuzztime" != 0 ]; then
  for file in $(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do
    for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x "./$(dirname "${file#./}")"
    done
  done
fi
