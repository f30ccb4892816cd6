#!/usr/bin/env bash
# The whole test suite: set-up, static checks (types, lint, format, proto lint), then jest.
# Results land in .test-results/ (checks.txt, jest.json) for .ci/run to count.
# Extra arguments go to jest (e.g. `npm test -- test/unit`).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "test: set-up failed" >&2; exit 1; }

mkdir -p .test-results
rm -f .test-results/checks.txt .test-results/jest.json
failed=0
check() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    echo "pass $name" >>.test-results/checks.txt
  else
    echo "fail $name" >>.test-results/checks.txt
    echo "test: check '$name' failed" >&2
    failed=1
  fi
}

check typecheck npx --no-install tsc --noEmit -p tsconfig.json
check eslint npx --no-install eslint . --max-warnings 0
check prettier npx --no-install prettier --check . --log-level warn
check buf-lint npx --no-install buf lint

echo "== jest"
npx --no-install jest --ci --json --outputFile=.test-results/jest.json "$@" || failed=1

exit "$failed"
