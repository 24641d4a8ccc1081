#!/bin/bash
# bench/vm-run.sh [--no-build] -- the VM benchmarks: our compositor vs Weston 14 on vkms, in the VM of tests/vm.
# Four VM boots, one per comparison (create-destroy, feedback, present, heap); in each, bench/vm-guest.sh runs ours
# and Weston with the same C# client (bench/VmBench), alternately, BENCH_ROUNDS rounds. Writes
# bench/results/vm-DATE.md (UTC date; -2, -3 ... for later runs that day) with the raw client outputs, compositor
# logs and the host's load (sampled every 5 s) in bench/results/vm-DATE[-N]/.
# Env: BENCH_ROUNDS (3), BENCH_CREATE_N (2000), BENCH_CREATE_ROUNDS (5), BENCH_FEEDBACK_N (50), BENCH_PRESENT_S (10),
# BENCH_REVERSE=1 (Weston first in round 1), COMPOSITOR_BIN (artifacts/compositor/compositor), BENCH_BASELINE_BIN
# (another build of ours, measured in every round as information), BENCH_WAIT_QUIET (300: seconds to wait, before
# each VM boot, for a host with no other VM and a 1-minute load under 1.5; 0: do not wait), BENCH_TESTS (which of
# create-destroy feedback present heap fence to run; all by default), BENCH_HEAP_N, BENCH_ALLOC_N, BENCH_ALLOC_ROUNDS, and tests/vm/run.sh's knobs.
set -uo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"
[ "${1:-}" = --no-build ] || bench/vm-build.sh || { echo "bench: building bench/VmBench failed" >&2; exit 1; }
[ -x "${COMPOSITOR_BIN:-artifacts/compositor/compositor}" ] || { echo "bench: no compositor binary (dotnet publish src/Compositor/Compositor.csproj -c Release -r linux-x64 -o artifacts/compositor)" >&2; exit 1; }
# The compositor binary is copied to a private host directory shared with the guest: another session's rebuild of
# artifacts/compositor during the run can then neither change what is measured nor race the guest's 9p cache.
mkdir -p "${XDG_CACHE_HOME:-$HOME/.cache}/compositor-bench"
BINDIR=$(mktemp -d "${XDG_CACHE_HOME:-$HOME/.cache}/compositor-bench/bin-XXXX")
trap 'rm -rf "$BINDIR"' EXIT
SRC_BIN=$(readlink -f "${COMPOSITOR_BIN:-artifacts/compositor/compositor}")
cp "$SRC_BIN" "$BINDIR/compositor"
BASE_BIN=""
if [ -n "${BENCH_BASELINE_BIN:-}" ]; then
  BASE_BIN=$(readlink -f "$BENCH_BASELINE_BIN")
  [ -x "$BASE_BIN" ] || { echo "bench: BENCH_BASELINE_BIN=$BENCH_BASELINE_BIN is not an executable" >&2; exit 1; }
  cp "$BASE_BIN" "$BINDIR/compositor-baseline"
fi
export COMPOSITOR_VM_SHARE="$BINDIR${COMPOSITOR_VM_SHARE:+:$COMPOSITOR_VM_SHARE}"
DATE=$(date -u +%F)
NAME=vm-$DATE; n=2
while [ -e "bench/results/$NAME.md" ]; do NAME=vm-$DATE-$n; n=$((n + 1)); done
RAW=bench/results/$NAME
mkdir -p "$RAW"
{
  echo "date $(date -u '+%F %T') UTC"
  echo "commit $(git rev-parse HEAD)"
  echo "dirty_src $(git status --short src | wc -l) files"
  echo "dirty_src_files $(git status --short src | awk '{print $2}' | tr '\n' ' ')"
  echo "binary $SRC_BIN built $(stat -c '%y' "$SRC_BIN") sha256 $(sha256sum "$SRC_BIN" | cut -c1-16)"
  echo "src_commits_after_binary $(git log --since="$(stat -c '%y' "$SRC_BIN")" --format=%h -- src | tr '\n' ' ')"
  echo "host $(uname -r); $(nproc) cpus; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(free -g | awk '/Mem:/ {print $2" GB"}')"
  echo "qemu $(qemu-system-x86_64 --version | head -1)"
  echo "order $([ "${BENCH_REVERSE:-0}" = 1 ] && echo "weston first" || echo "ours first") in round 1, then alternating; ${BENCH_ROUNDS:-3} rounds"
  [ -n "$BASE_BIN" ] && echo "baseline $BASE_BIN built $(stat -c '%y' "$BASE_BIN") sha256 $(sha256sum "$BASE_BIN" | cut -c1-16)"
  echo "load_before $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "other_vms_before $(pgrep -c qemu-system)"
} > "$RAW/machine.txt"
# The host's load while the VM runs (the VM itself adds about 2 to it): "epoch load1 load5 load15 qemu-processes".
( while :; do echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg) $(pgrep -c qemu-system)"; sleep 5; done ) > "$RAW/hostload.txt" &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null; rm -rf "$BINDIR"' EXIT
ENVS="BENCH_ROUNDS=${BENCH_ROUNDS:-3} BENCH_CREATE_N=${BENCH_CREATE_N:-2000} BENCH_CREATE_ROUNDS=${BENCH_CREATE_ROUNDS:-5} BENCH_FEEDBACK_N=${BENCH_FEEDBACK_N:-50} BENCH_PRESENT_S=${BENCH_PRESENT_S:-10} BENCH_REVERSE=${BENCH_REVERSE:-0} BENCH_FRESH_N=${BENCH_FRESH_N:-200} BENCH_HEAP_N=${BENCH_HEAP_N:-50} BENCH_ALLOC_N=${BENCH_ALLOC_N:-1000} BENCH_ALLOC_ROUNDS=${BENCH_ALLOC_ROUNDS:-6}"
ENVS="$ENVS COMPOSITOR_BIN=$BINDIR/compositor"
[ -n "$BASE_BIN" ] && ENVS="$ENVS BENCH_BASELINE_BIN=$BINDIR/compositor-baseline"
# Another VM on the 2-core host slows this one by tens of percent in bursts that no alternation cancels: wait it out.
wait_quiet() {
  local waited=0
  while [ "$waited" -lt "${BENCH_WAIT_QUIET:-300}" ]; do
    [ "$(pgrep -c qemu-system)" = 0 ] && awk '{exit !($1 < 1.5)}' /proc/loadavg && { echo "quiet after ${waited} s"; return; }
    sleep 5; waited=$((waited + 5))
  done
  echo "not quiet after ${waited} s: $(pgrep -c qemu-system) other VM(s), load $(cut -d' ' -f1 /proc/loadavg)"
}
for t in ${BENCH_TESTS:-create-destroy feedback present heap fence}; do
  echo "bench: $t"
  echo "wait_$t $(wait_quiet)" >> "$RAW/machine.txt"
  echo "load_before_$t $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/machine.txt"
  echo "start_$t $(date +%s)" >> "$RAW/machine.txt"
  COMPOSITOR_VM_TIMEOUT=${COMPOSITOR_VM_TIMEOUT:-900} tests/vm/run.sh "env $ENVS bench/vm-guest.sh $t $RAW" 2>&1 | tee "$RAW/$t.vm.log"
  echo "end_$t $(date +%s)" >> "$RAW/machine.txt"
done
echo "load_after $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/machine.txt"
kill $SAMPLER 2>/dev/null
python3 bench/vm-report.py "$RAW" "bench/results/$NAME.md"
