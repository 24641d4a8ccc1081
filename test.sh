#!/bin/bash
# ./test.sh [--host-only] -- the whole test suite: install what is missing, build, run the host tests against
# the NativeAOT compositor, then the kernel tests in the project's VM (tests/vm). Ends with one line
# `tests: N passed, N failed, N skipped` and a non-zero exit code if anything failed.
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")"
HOST_ONLY=0
for a in "$@"; do
  case "$a" in
    --host-only) HOST_ONLY=1 ;;
    *) echo "usage: ./test.sh [--host-only]" >&2; exit 2 ;;
  esac
done
PASSED=0 FAILED=0 SKIPPED=0 BROKEN=""
T0=$SECONDS
step() { echo "== $* ($((SECONDS - T0)) s)"; }

step "setup"
tools/setup.sh >/dev/null || { echo "tools/setup.sh failed" >&2; exit 1; }
step "build"
timeout 900 dotnet publish src/Compositor/Compositor.csproj -c Release -r linux-x64 -o artifacts/compositor -nologo -v:q ||
  { echo "publishing the compositor failed" >&2; exit 1; }
timeout 900 dotnet build Compositor.sln -c Release -nologo -v:q || { echo "building the solution failed" >&2; exit 1; }

# xunit v3 test projects are executables; their summary line is
#   NAME  Total: T, Errors: E, Failed: F, Skipped: S, Not Run: N, Time: ...
run_suite() {
  local name=$1; shift
  step "$name"
  local log=artifacts/test-logs/$name.log
  mkdir -p artifacts/test-logs
  COMPOSITOR_BIN=$PWD/artifacts/compositor/compositor "$@" -noColor 2>&1 | tee "$log" | grep -vE '^\s+(at |Stack Trace)' | grep -E 'FAIL|Total:|Assert|Expected|Actual|error' || true
  local line
  line=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then BROKEN="$BROKEN $name"; return; fi
  local t e f s n
  t=$(sed -E 's/.*Total: ([0-9]+).*/\1/' <<<"$line"); e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
  f=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<<"$line"); s=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<<"$line")
  n=$(sed -nE 's/.*Not Run: ([0-9]+).*/\1/p' <<<"$line"); n=${n:-0}
  PASSED=$((PASSED + t - e - f - s - n)); FAILED=$((FAILED + f + e)); SKIPPED=$((SKIPPED + s + n))
}
run_suite generator tests/Wayland.Scanner.Tests/bin/Release/net10.0/Wayland.Scanner.Tests
run_suite host tests/Compositor.Tests/bin/Release/net10.0/Compositor.Tests

if [ $HOST_ONLY = 0 ]; then
  step "vm"
  VMLOG=artifacts/test-logs/vm.log
  COMPOSITOR_BIN=$PWD/artifacts/compositor/compositor tests/vm/test.sh 2>&1 | tee "$VMLOG"
  line=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$VMLOG" | tail -1)
  if [ -z "$line" ]; then BROKEN="$BROKEN vm"
  else
    read -r p f s <<<"$(sed -E 's/vm: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/' <<<"$line")"
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
    [ "$p" -gt 0 ] || BROKEN="$BROKEN vm(no-tests-passed)"
  fi
fi

step "done"
[ -z "$BROKEN" ] || echo "suites that gave no result:$BROKEN"
echo "tests: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ] && [ -z "$BROKEN" ]
