#!/bin/bash
# bench/vm-egl-client.sh [SECONDS] [ROUNDS] -- issue 6's CPU benchmark with its own client: compositor CPU time per
# frame of weston-simple-dmabuf-egl (trixie's, 256x256, GBM on vkms' card0), ours (--backend=drm) against Weston
# 14 (--backend=drm --renderer=gl), in one VM boot, alternating ROUNDS times (default 3) so that drift and
# order effects show. Per run: the client's frames (its wl_surface.commit requests, each throttled by a frame
# callback, counted from WAYLAND_DEBUG) and the compositor's utime+stime over the same window from /proc.
# Prints one line per run and the ratio of medians; the report goes to bench/results/vm-egl-DATE.md.
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
if [ "${1:-}" != --guest ]; then
  SECONDS_PER_RUN=${1:-15} ROUNDS=${2:-3}
  OUT=$REPO/bench/results/vm-egl-$(date -u +%Y-%m-%d-%H%M)
  mkdir -p "$OUT"
  [ -x "$REPO/artifacts/compositor/compositor" ] || { echo "build the compositor first (./run.sh or ./test.sh)" >&2; exit 2; }
  {
    echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "commit $(git -C "$REPO" rev-parse HEAD) ($(git -C "$REPO" status --porcelain src | wc -l) changed files under src)"
    echo "host_load_before $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cpus"
  } > "$OUT/machine.txt"
  "$REPO/tests/vm/run.sh" "$REPO/bench/vm-egl-client.sh --guest $SECONDS_PER_RUN $ROUNDS $OUT" | tee "$OUT/runs.txt"
  echo "host_load_after $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
  exit "${PIPESTATUS[0]}"
fi

# ---- in the guest
SECONDS_PER_RUN=$2 ROUNDS=$3 OUT=$4
BIN=$REPO/artifacts/compositor/compositor
CARD=/dev/dri/card0
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
start() { # who
  RT=$(mktemp -d /tmp/bench-rt-XXXX); chmod 700 "$RT"; SOCK=egl-$1; LOG=$OUT/$1.$r.log
  if [ "$1" = ours ]; then
    XDG_RUNTIME_DIR=$RT setsid "$BIN" --backend=drm --socket=$SOCK >"$LOG" 2>&1 &
    SID=$!; PID=$SID
    for i in $(seq 300); do grep -q "listening on" "$LOG" && break; sleep 0.1; done
  else
    XDG_RUNTIME_DIR=$RT setsid seatd-launch -- weston --backend=drm --drm-device=card0 --renderer=gl \
      --continue-without-input --socket=$SOCK --idle-time=0 --config="$REPO/bench/weston.ini" >"$LOG" 2>&1 &
    SID=$!; PID=""
    for i in $(seq 600); do
      [ -z "$PID" ] && PID=$(pgrep -s "$SID" -x weston | head -1)
      [ -n "$PID" ] && [ -S "$RT/$SOCK" ] && break
      sleep 0.1
    done
    sleep 3 # its shell helper and first frames
  fi
}
stop() { kill -TERM -- -"$SID" 2>/dev/null; for i in $(seq 50); do kill -0 -- -"$SID" 2>/dev/null || break; sleep 0.1; done; kill -KILL -- -"$SID" 2>/dev/null; wait "$SID" 2>/dev/null; rm -rf "$RT"; }

for r in $(seq "$ROUNDS"); do
  for who in ours weston; do
    start $who
    # Warm-up: the client's first frames compile its shaders (seconds under emulation); not measured.
    XDG_RUNTIME_DIR=$RT WAYLAND_DISPLAY=$SOCK timeout 8 weston-simple-dmabuf-egl -d $CARD >/dev/null 2>&1
    TRACE=$OUT/$who.$r.trace
    XDG_RUNTIME_DIR=$RT WAYLAND_DISPLAY=$SOCK WAYLAND_DEBUG=client weston-simple-dmabuf-egl -d $CARD >/dev/null 2>"$TRACE" &
    C=$!
    # Measure from its first commit on, for SECONDS_PER_RUN.
    for i in $(seq 300); do grep -q "wl_surface#[0-9]*\.commit" "$TRACE" && break; sleep 0.1; done
    f0=$(grep -c "wl_surface#[0-9]*\.commit" "$TRACE"); t0=$(ticks "$PID")
    sleep "$SECONDS_PER_RUN"
    f1=$(grep -c "wl_surface#[0-9]*\.commit" "$TRACE"); t1=$(ticks "$PID")
    kill -TERM $C 2>/dev/null; wait $C 2>/dev/null
    alive=$(kill -0 "$PID" 2>/dev/null && echo 1 || echo 0)
    frames=$((f1 - f0)); ms=$(( (t1 - t0) * 1000 / $(getconf CLK_TCK) ))
    echo "run $r $who frames $frames cpu_ms $ms ms_per_frame $(awk -v m=$ms -v f=$frames 'BEGIN{printf "%.2f", f ? m/f : 0}') alive_after_disconnect $alive load $(cut -d' ' -f1 /proc/loadavg)"
    stop
    rm -f "$TRACE"
  done
done | tee "$OUT/runs.raw"
median() { grep " $1 frames " "$OUT/runs.raw" | awk '{print $9}' | sort -n | awk '{a[NR]=$1} END {print NR ? (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2) : 0}'; }
mo=$(median ours) mw=$(median weston)
echo "median ours ms_per_frame $mo"
echo "median weston ms_per_frame $mw"
awk -v o="$mo" -v w="$mw" 'BEGIN { if (w > 0) printf "ratio ours/weston %.2f\n", o / w }'
