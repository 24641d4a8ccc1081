#!/bin/bash
# bench/vm-run.sh [--no-build] -- the VM benchmarks: our compositor vs Weston 14 on vkms, in the VM of tests/vm.
# Three VM boots, one per comparison (create-destroy, feedback, present); in each, bench/vm-guest.sh runs ours
# then Weston with the same C# client (bench/VmBench). Writes bench/results/vm-DATE.md (UTC date; -2, -3 ... for
# later runs that day) with the raw client outputs and compositor logs in bench/results/vm-DATE[-N]/.
# Env: BENCH_CREATE_N (2000), BENCH_CREATE_ROUNDS (5), BENCH_FEEDBACK_N (50), BENCH_PRESENT_S (10),
# BENCH_REVERSE=1 (Weston first), COMPOSITOR_BIN (artifacts/compositor/compositor), and tests/vm/run.sh's knobs.
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
  echo "order $([ "${BENCH_REVERSE:-0}" = 1 ] && echo "weston first" || echo "ours first")"
  echo "load_before $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RAW/machine.txt"
ENVS="BENCH_CREATE_N=${BENCH_CREATE_N:-2000} BENCH_CREATE_ROUNDS=${BENCH_CREATE_ROUNDS:-5} BENCH_FEEDBACK_N=${BENCH_FEEDBACK_N:-50} BENCH_PRESENT_S=${BENCH_PRESENT_S:-10} BENCH_REVERSE=${BENCH_REVERSE:-0}"
ENVS="$ENVS COMPOSITOR_BIN=$BINDIR/compositor"
for t in create-destroy feedback present; do
  echo "bench: $t"
  echo "load_before_$t $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/machine.txt"
  COMPOSITOR_VM_TIMEOUT=${COMPOSITOR_VM_TIMEOUT:-300} tests/vm/run.sh "env $ENVS bench/vm-guest.sh $t $RAW" 2>&1 | tee "$RAW/$t.vm.log"
done
echo "load_after $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/machine.txt"
python3 bench/vm-report.py "$RAW" "bench/results/$NAME.md"
