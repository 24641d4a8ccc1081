#!/bin/bash
# tests/vm/test.sh [XUNIT-ARGS...] -- the VM test stage: tests that need a real kernel with DRM.
#
#   1. setup    tests/vm/setup.sh (about a second when cached)
#   2. build    on the host: tests/Compositor.VmTests published self-contained for linux-x64 into
#               artifacts/vm-tests/bin (the guest root has no dotnet); the compositor with NativeAOT into
#               artifacts/compositor when that binary is missing and src/Compositor exists, and
#               tools/dmabuf-info into artifacts/dmabuf-info likewise
#   3. boot+run one VM (tests/vm/run.sh) that runs the test executable directly: `dotnet test` under the
#               VM's emulation takes twice as long
#
# Results come back through the shared repository: artifacts/vm-tests/results (xunit XML, compositor logs,
# wayland-info output) and artifacts/vm-tests/output.log. The last line is `vm: N passed, N failed, N skipped`;
# the exit code is non-zero when a test failed or the VM gave no result.
#
# XUNIT-ARGS go to the test executable, e.g. `-method '*Udmabuf*'` or `-class Compositor.VmTests.KernelDeviceTests`.
# Env: COMPOSITOR_BIN (the compositor to test, default artifacts/compositor/compositor, which is built only
# when missing: delete it to have it rebuilt), COMPOSITOR_VM_OUT (instead of artifacts/vm-tests; inside the
# repository, which is what the guest shares), and run.sh's knobs.
set -uo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# COMPOSITOR_VM_OUT: another place for the build and the results, so that two runs at once (two sessions in one
# checkout) do not publish over each other's test binaries or delete each other's results.
OUT=${COMPOSITOR_VM_OUT:-$REPO/artifacts/vm-tests}
RESULTS=$OUT/results
cd "$REPO" || exit 1

now() { date +%s.%N; }
seconds() { awk "BEGIN {printf \"%.1f\", $2 - $1}"; }
fail() { echo "vm-tests: $*" >&2; echo "vm: 0 passed, 0 failed, 0 skipped"; exit 1; }

T0=$(now)
"$HERE/setup.sh" || fail "setup.sh failed"
T1=$(now)
echo "vm-tests: setup $(seconds "$T0" "$T1") s"

echo "vm-tests: build"
timeout 600 dotnet publish tests/Compositor.VmTests/Compositor.VmTests.csproj -c Release -r linux-x64 --self-contained \
  -p:InvariantGlobalization=true -p:PublishReadyToRun=true -o "$OUT/bin" -nologo -v:q || fail "publishing tests/Compositor.VmTests failed"
COMPOSITOR_DEFAULT=$REPO/artifacts/compositor/compositor
if [ -z "${COMPOSITOR_BIN:-}" ] && [ ! -x "$COMPOSITOR_DEFAULT" ] && [ -f src/Compositor/Compositor.csproj ]; then
  echo "vm-tests: no $COMPOSITOR_DEFAULT yet: publishing src/Compositor with NativeAOT"
  # Its build needs the protocol XML that tools/setup.sh fetches. PublishAot is set in the project: as a
  # global -p: property it would also reach the netstandard2.0 binding generator (NETSDK1207). A compositor
  # that does not build must not hide the kernel tests: its smoke test fails instead.
  if [ -x tools/setup.sh ] && ! tools/setup.sh >/dev/null; then
    echo "vm-tests: tools/setup.sh failed; the compositor smoke test will fail" >&2
  elif ! timeout 900 dotnet publish src/Compositor/Compositor.csproj -c Release -r linux-x64 \
         -o artifacts/compositor -nologo -v:q; then
    echo "vm-tests: publishing src/Compositor failed; the compositor smoke test will fail" >&2
  fi
fi
# dmabuf-info, the client tool the tests run (also as an unprivileged user), the same way: built when missing.
if [ ! -x artifacts/dmabuf-info/dmabuf-info ] && [ -f tools/dmabuf-info/dmabuf-info.csproj ]; then
  echo "vm-tests: no artifacts/dmabuf-info/dmabuf-info yet: publishing tools/dmabuf-info with NativeAOT"
  timeout 900 dotnet publish tools/dmabuf-info/dmabuf-info.csproj -c Release -r linux-x64 -o artifacts/dmabuf-info -nologo -v:q ||
    echo "vm-tests: publishing tools/dmabuf-info failed; its tests will fail" >&2
fi
T2=$(now)
echo "vm-tests: build $(seconds "$T1" "$T2") s"

rm -rf "$RESULTS"; mkdir -p "$RESULTS"
# The guest starts with a clean environment: everything the tests read is set in the command.
ENVIRONMENT="COMPOSITOR_REPO=$(printf %q "$REPO") COMPOSITOR_VM_RESULTS=$(printf %q "$RESULTS")"
[ -z "${COMPOSITOR_BIN:-}" ] || ENVIRONMENT="$ENVIRONMENT COMPOSITOR_BIN=$(printf %q "$(readlink -f "$COMPOSITOR_BIN")")"
ARGS=""
for a in "$@"; do ARGS="$ARGS $(printf %q "$a")"; done
# A boot that dies before the tests start (the emulated guest kernel has panicked at boot under TCG: "int3" in
# sched_clock_cpu while patching its text, seen 2026-12-02) is no test result: it is booted once more, and said so.
# A guest that started the tests is never re-run, whatever happened then.
for attempt in 1 2; do
  echo "vm-tests: boot+run"
  "$HERE/run.sh" "cd $(printf %q "$REPO") && env $ENVIRONMENT $(printf %q "$OUT/bin/Compositor.VmTests") -noColor -xml $(printf %q "$RESULTS/results.xml")$ARGS" \
    2>&1 | tee "$OUT/output.log"
  VM_RC=${PIPESTATUS[0]}
  grep -aq 'Starting:' "$OUT/output.log" || [ "$VM_RC" = 0 ] || [ "$attempt" = 2 ] || {
    echo "vm-tests: the guest died before the tests started (run.sh exit $VM_RC): booting it once more" >&2; continue; }
  break
done
T3=$(now)
echo "vm-tests: boot+run $(seconds "$T2" "$T3") s (setup $(seconds "$T0" "$T1") s, build $(seconds "$T1" "$T2") s)"

# xunit's closing line: "   Compositor.VmTests  Total: 6, Errors: 0, Failed: 0, Skipped: 0, Not Run: 0, Time: 4.1s"
SUMMARY=$(grep -aE 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$OUT/output.log" | tail -1)
if [ -z "$SUMMARY" ]; then
  echo "vm-tests: the VM gave no test summary (run.sh exit $VM_RC)" >&2
  echo "vm: 0 passed, 0 failed, 0 skipped"
  exit 1
fi
count() { sed -E "s/.*$1: ([0-9]+).*/\\1/" <<< "$SUMMARY"; }
TOTAL=$(count Total) ERRORS=$(count Errors) FAILED=$(count Failed) SKIPPED=$(count Skipped)
NOT_RUN=$(grep -qE 'Not Run: [0-9]+' <<< "$SUMMARY" && count 'Not Run' || echo 0)
FAILED=$((FAILED + ERRORS))
PASSED=$((TOTAL - FAILED - SKIPPED - NOT_RUN))

if [ "$FAILED" != 0 ] || [ "$VM_RC" != 0 ]; then
  for log in "$RESULTS"/*.log; do
    [ -s "$log" ] || continue
    echo "----- $log (last 50 lines) -----"
    tail -n 50 "$log"
  done
  # Last, so that a CI log cut to its tail still names what failed and why.
  echo "----- failed tests (from $OUT/output.log) -----"
  grep -a -A 15 '\[FAIL\]' "$OUT/output.log" | head -n 120
fi
echo "vm: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ] && [ "$VM_RC" = 0 ] && [ "$TOTAL" -gt 0 ]
