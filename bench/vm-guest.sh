#!/bin/bash
# bench/vm-guest.sh TEST OUTDIR -- runs INSIDE the VM (bench/vm-run.sh boots it): one comparison of our compositor
# and Weston 14, both on vkms (card0) with their DRM backends, the same C# client (bench/VmBench) against each.
# TEST: create-destroy | feedback | present | heap | fence. create-destroy and present run BENCH_ROUNDS rounds (default 3); each
# round runs every compositor once, and the order turns round each round (ours, Weston; Weston, ours; ...), so that
# drift in the emulator's speed hits both alike. feedback runs one round. Raw client output goes to
# OUTDIR/TEST.WHO.rN.txt and the compositors' logs to OUTDIR/TEST.WHO.rN.log.
# Env: BENCH_ROUNDS, BENCH_REVERSE=1 (Weston first in round 1), COMPOSITOR_BIN, BENCH_BASELINE_BIN (another build
# of ours, run as "ours-baseline" in every round, for before/after in one boot), BENCH_CREATE_N, BENCH_CREATE_ROUNDS,
# BENCH_FEEDBACK_N, BENCH_PRESENT_S, BENCH_FRESH_N (200: buffers per batch of create-destroy-fresh), BENCH_HEAP_N (50:
# connections per kind for heap-hints), BENCH_ALLOC_N (1000: allocations per round of heap-alloc), BENCH_ALLOC_ROUNDS (6),
# BENCH_FENCE_CLIENTS (8) and BENCH_FENCE_S (8: seconds idle, then blocked; vgem fences time out at 10 s).
set -u
TEST=$1 OUT=$2
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
BIN=${COMPOSITOR_BIN:-$REPO/artifacts/compositor/compositor}
CLIENT=$REPO/bench/VmBench/bin/vm/VmBench
mkdir -p "$OUT"
CREATE_N=${BENCH_CREATE_N:-2000} CREATE_ROUNDS=${BENCH_CREATE_ROUNDS:-5} FRESH_N=${BENCH_FRESH_N:-200}
FEEDBACK_N=${BENCH_FEEDBACK_N:-50} PRESENT_S=${BENCH_PRESENT_S:-10}
HEAP_N=${BENCH_HEAP_N:-50} ALLOC_N=${BENCH_ALLOC_N:-1000} ALLOC_ROUNDS=${BENCH_ALLOC_ROUNDS:-6}
FENCE_CLIENTS=${BENCH_FENCE_CLIENTS:-8} FENCE_S=${BENCH_FENCE_S:-8}
ROUNDS=${BENCH_ROUNDS:-3}
[ "$TEST" = feedback ] && ROUNDS=1

SID=""
wait_listening() {
  for i in $(seq 300); do grep -q "listening on" "$LOG" && return 0; sleep 0.1; done
  echo "$1 did not start"; cat "$LOG"; return 1
}
start_ours() {
  RT=$(mktemp -d /tmp/bench-rt-XXXX); chmod 700 "$RT"
  SOCK=bench-ours
  XDG_RUNTIME_DIR=$RT setsid "$BIN" --backend=drm --socket=$SOCK >"$LOG" 2>&1 &
  SID=$!; PID=$SID
  wait_listening ours
}
# Information only: another build of ours (BENCH_BASELINE_BIN), e.g. the one before a change.
start_ours-baseline() {
  RT=$(mktemp -d /tmp/bench-rt-XXXX); chmod 700 "$RT"
  SOCK=bench-ours-baseline
  XDG_RUNTIME_DIR=$RT setsid "$BENCH_BASELINE_BIN" --backend=drm --socket=$SOCK >"$LOG" 2>&1 &
  SID=$!; PID=$SID
  wait_listening ours-baseline
}
# Information only: ours with its default (headless) backend, to separate the DRM backend's share.
start_ours-headless() {
  RT=$(mktemp -d /tmp/bench-rt-XXXX); chmod 700 "$RT"
  SOCK=bench-ours-headless
  XDG_RUNTIME_DIR=$RT setsid "$BIN" --socket=$SOCK >"$LOG" 2>&1 &
  SID=$!; PID=$SID
  wait_listening "ours (headless)"
}
start_weston() {
  RT=$(mktemp -d /tmp/bench-rt-XXXX); chmod 700 "$RT"
  SOCK=bench-weston
  XDG_RUNTIME_DIR=$RT setsid seatd-launch -- weston --backend=drm --drm-device=card0 --renderer=gl \
    --continue-without-input --socket=$SOCK --idle-time=0 --config="$REPO/bench/weston.ini" >"$LOG" 2>&1 &
  SID=$!
  PID=""
  for i in $(seq 600); do
    [ -z "$PID" ] && PID=$(pgrep -s "$SID" -x weston | head -1)
    [ -n "$PID" ] && [ -S "$RT/$SOCK" ] && break
    sleep 0.1
  done
  [ -n "$PID" ] && [ -S "$RT/$SOCK" ] || { echo "weston did not start"; cat "$LOG"; return 1; }
  # the desktop shell helper and the first frames
  sleep 3
}
stop() {
  [ -n "$SID" ] || return
  kill -TERM -- -"$SID" 2>/dev/null
  for i in $(seq 50); do kill -0 -- -"$SID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- -"$SID" 2>/dev/null
  wait "$SID" 2>/dev/null
  SID=""
  rm -rf "$RT"
}
trap 'stop' EXIT

WHO="ours weston"
[ "${BENCH_REVERSE:-0}" = 1 ] && WHO="weston ours"
[ -n "${BENCH_BASELINE_BIN:-}" ] && [ "$TEST" != feedback ] && WHO="$WHO ours-baseline"
reversed() { local out=""; for w in $1; do out="$w $out"; done; echo $out; }
for r in $(seq "$ROUNDS"); do
  order=$WHO
  [ $((r % 2)) = 0 ] && order=$(reversed "$WHO")
  # the headless backend (information) once, in the first round
  [ "$r" = 1 ] && [ "$TEST" != present ] && order="$order ours-headless"
  for who in $order; do
    LOG=$OUT/$TEST.$who.r$r.log
    RES=$OUT/$TEST.$who.r$r.txt
    echo "== $TEST: round $r: $who"
    start_$who || { stop; echo "error start" > "$RES"; continue; }
    { echo "pid $PID"; echo "round $r"; echo "guest_loadavg_before $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$RES"
    export XDG_RUNTIME_DIR=$RT
    case $TEST in
      create-destroy) timeout 120 "$CLIENT" create-destroy "$RT/$SOCK" "$PID" "$CREATE_N" "$CREATE_ROUNDS" >>"$RES" 2>"$RES.err"
                      # information: every buffer a udmabuf never wrapped before (no compositor can reuse anything)
                      timeout 180 "$CLIENT" create-destroy-fresh "$RT/$SOCK" "$PID" "$FRESH_N" 3 >>"$RES" 2>>"$RES.err" ;;
      feedback) timeout 120 "$CLIENT" feedback "$RT/$SOCK" "$PID" "$FEEDBACK_N" >>"$RES" 2>"$RES.err"
                timeout 120 "$CLIENT" rss "$RT/$SOCK" "$PID" "$FEEDBACK_N" >>"$RES" 2>>"$RES.err" ;;
      heap) timeout 300 "$CLIENT" heap-hints "$RT/$SOCK" "$PID" "$HEAP_N" >>"$RES" 2>"$RES.err"
            timeout 300 "$CLIENT" heap-alloc "$RT/$SOCK" "$PID" "$ALLOC_N" "$ALLOC_ROUNDS" >>"$RES" 2>>"$RES.err" ;;
      # plain (no viewports) first, then half of them scaled (composited in ours)
      fence) timeout 120 "$CLIENT" fence-blocked "$RT/$SOCK" "$PID" "$FENCE_CLIENTS" "$FENCE_S" plain >>"$RES" 2>"$RES.err"
             timeout 120 "$CLIENT" fence-blocked "$RT/$SOCK" "$PID" "$FENCE_CLIENTS" "$FENCE_S" >>"$RES" 2>>"$RES.err"
             timeout 60 "$CLIENT" fence-loop "$RT/$SOCK" "$PID" 5 >>"$RES" 2>>"$RES.err" ;;
      present) timeout 120 "$CLIENT" present "$RT/$SOCK" "$PID" "$PRESENT_S" 1024 768 >>"$RES" 2>"$RES.err" ;;
    esac
    echo "client_exit $?" >> "$RES"
    kill -0 "$PID" 2>/dev/null && echo "compositor_alive 1" >> "$RES" || echo "compositor_alive 0" >> "$RES"
    echo "guest_loadavg $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RES"
    stop
    cat "$RES"
  done
done
