#!/bin/bash
set -u
OUT=/work/main/bench/results/programs-2026-12-03; BIN=/work/main/artifacts/compositor/compositor; S=${BENCH_PROGRAM_S:-16}; ROUNDS=${BENCH_ROUNDS:-3}
SID=""
ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
start() { # start WHO: sets RT, SOCK, PID
  RT=$(mktemp -d /tmp/bench-rt-XXXX); chmod 700 "$RT"; SOCK=bench-$1
  case $1 in
    ours) XDG_RUNTIME_DIR=$RT setsid "$BIN" --backend=drm --socket=$SOCK >"$LOG" 2>&1 & SID=$!; PID=$SID ;;
    ours-writeback) XDG_RUNTIME_DIR=$RT setsid "$BIN" --backend=drm --drm-writeback --socket=$SOCK >"$LOG" 2>&1 & SID=$!; PID=$SID ;;
    weston) XDG_RUNTIME_DIR=$RT setsid seatd-launch -- weston --backend=drm --drm-device=card0 --renderer=gl \
              --continue-without-input --socket=$SOCK --idle-time=0 --config=/work/main/bench/weston.ini >"$LOG" 2>&1 & SID=$!; PID="" ;;
  esac
  for i in $(seq 600); do
    [ -z "$PID" ] && PID=$(pgrep -s "$SID" -x weston | head -1)
    [ -n "$PID" ] && [ -S "$RT/$SOCK" ] && break
    sleep 0.1
  done
  sleep 3
  [ -n "$PID" ] && [ -S "$RT/$SOCK" ]
}
stop() {
  [ -n "$SID" ] || return
  kill -TERM -- -"$SID" 2>/dev/null
  for i in $(seq 50); do kill -0 -- -"$SID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- -"$SID" 2>/dev/null; wait "$SID" 2>/dev/null; SID=""; rm -rf "$RT"
}
trap stop EXIT
WHO="ours ours-writeback weston"
for r in $(seq $ROUNDS); do
  order=$WHO; [ $((r % 2)) = 0 ] && order="weston ours-writeback ours"
  for who in $order; do
    for prog in weston-simple-egl es2gears_wayland.x86_64-linux-gnu; do
      p=${prog%%.*}
      LOG=$OUT/$p.$who.r$r.log; RES=$OUT/$p.$who.r$r.txt
      echo "== round $r: $who: $p"
      start $who || { echo "error start" > "$RES"; stop; continue; }
      t0=$(ticks $PID)
      XDG_RUNTIME_DIR=$RT WAYLAND_DISPLAY=$SOCK timeout $S stdbuf -oL $prog > "$RES" 2>&1
      echo "ticks $(( $(ticks $PID) - t0 ))" >> "$RES"
      stop
    done
  done
done
