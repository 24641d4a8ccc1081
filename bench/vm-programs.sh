#!/bin/bash
# bench/vm-programs.sh -- issue 13's benchmarks, in one VM boot (tests/vm): frames per second of real programs
# and our compositor's CPU per client frame, against Weston 14, and with the writeback connector on and off.
#
# Compositors (all on vkms card0 with their DRM backends): ours, ours with --drm-writeback, Weston 14 (GL renderer
# on llvmpipe, as bench/vm-guest.sh runs it). Programs: weston-simple-egl and es2gears_wayland, the two that print
# their own frame rate (every 5 s). Each program runs BENCH_PROGRAM_S seconds (default 16) per compositor per round,
# BENCH_ROUNDS rounds (default 3), the compositors' order turning each round so drift hits all alike. Frames per
# second (stdout line-buffered: a program ended by timeout would lose its buffered reports): the median of the program's own 5-second reports after the first. CPU per frame: the compositor's
# utime+stime (/proc/PID/stat, 10 ms ticks) over the program's run, divided by the frames it reported.
# Writes bench/results/programs-DATE[-N].md with the raw outputs in bench/results/programs-DATE[-N]/.
set -uo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"
[ -x artifacts/compositor/compositor ] || { echo "bench: no artifacts/compositor/compositor (dotnet publish src/Compositor/Compositor.csproj -c Release -r linux-x64 -o artifacts/compositor)" >&2; exit 1; }
DATE=$(date -u +%F)
NAME=programs-$DATE; n=2
while [ -e "bench/results/$NAME.md" ]; do NAME=programs-$DATE-$n; n=$((n + 1)); done
RAW=$REPO/bench/results/$NAME
mkdir -p "$RAW"
{ echo "date $(date -u '+%F %T') UTC"; echo "commit $(git rev-parse HEAD)"; echo "dirty_src $(git status --short src | wc -l) files";
  echo "host_loadavg $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$RAW/meta.txt"
cat > "$RAW/guest.sh" <<GUEST
#!/bin/bash
set -u
OUT=$RAW; BIN=$REPO/artifacts/compositor/compositor; S=\${BENCH_PROGRAM_S:-16}; ROUNDS=\${BENCH_ROUNDS:-3}
SID=""
ticks() { awk '{print \$14 + \$15}' /proc/\$1/stat; }
start() { # start WHO: sets RT, SOCK, PID
  RT=\$(mktemp -d /tmp/bench-rt-XXXX); chmod 700 "\$RT"; SOCK=bench-\$1
  case \$1 in
    ours) XDG_RUNTIME_DIR=\$RT setsid "\$BIN" --backend=drm --socket=\$SOCK >"\$LOG" 2>&1 & SID=\$!; PID=\$SID ;;
    ours-writeback) XDG_RUNTIME_DIR=\$RT setsid "\$BIN" --backend=drm --drm-writeback --socket=\$SOCK >"\$LOG" 2>&1 & SID=\$!; PID=\$SID ;;
    weston) XDG_RUNTIME_DIR=\$RT setsid seatd-launch -- weston --backend=drm --drm-device=card0 --renderer=gl \\
              --continue-without-input --socket=\$SOCK --idle-time=0 --config=$REPO/bench/weston.ini >"\$LOG" 2>&1 & SID=\$!; PID="" ;;
  esac
  for i in \$(seq 600); do
    [ -z "\$PID" ] && PID=\$(pgrep -s "\$SID" -x weston | head -1)
    [ -n "\$PID" ] && [ -S "\$RT/\$SOCK" ] && break
    sleep 0.1
  done
  sleep 3
  [ -n "\$PID" ] && [ -S "\$RT/\$SOCK" ]
}
stop() {
  [ -n "\$SID" ] || return
  kill -TERM -- -"\$SID" 2>/dev/null
  for i in \$(seq 50); do kill -0 -- -"\$SID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- -"\$SID" 2>/dev/null; wait "\$SID" 2>/dev/null; SID=""; rm -rf "\$RT"
}
trap stop EXIT
WHO="ours ours-writeback weston"
for r in \$(seq \$ROUNDS); do
  order=\$WHO; [ \$((r % 2)) = 0 ] && order="weston ours-writeback ours"
  for who in \$order; do
    for prog in weston-simple-egl es2gears_wayland.x86_64-linux-gnu; do
      p=\${prog%%.*}
      LOG=\$OUT/\$p.\$who.r\$r.log; RES=\$OUT/\$p.\$who.r\$r.txt
      echo "== round \$r: \$who: \$p"
      start \$who || { echo "error start" > "\$RES"; stop; continue; }
      t0=\$(ticks \$PID)
      XDG_RUNTIME_DIR=\$RT WAYLAND_DISPLAY=\$SOCK timeout \$S stdbuf -oL \$prog > "\$RES" 2>&1
      echo "ticks \$(( \$(ticks \$PID) - t0 ))" >> "\$RES"
      stop
    done
  done
done
GUEST
chmod +x "$RAW/guest.sh"
COMPOSITOR_VM_TIMEOUT=${COMPOSITOR_VM_TIMEOUT:-1500} tests/vm/run.sh "$RAW/guest.sh" | tee "$RAW/vm.txt" | grep "^== " || true
python3 - "$RAW" "$REPO/bench/results/$NAME.md" <<'PY'
import re, statistics, sys, glob, os
raw, md = sys.argv[1], sys.argv[2]
rows = {}
for f in sorted(glob.glob(os.path.join(raw, "*.r*.txt"))):
    prog, who, rnd = os.path.basename(f)[:-4].rsplit(".", 2)
    text = open(f, errors="replace").read()
    reports = [(int(a), float(b)) for a, b in re.findall(r"(\d+) frames in ([\d.]+) seconds", text)][1:]
    ticks = re.search(r"ticks (\d+)", text)
    frames = sum(n for n, _ in reports)
    fps = statistics.median(n / s for n, s in reports) if reports else None
    cpu = (int(ticks.group(1)) * 10.0 / frames) if ticks and frames else None   # ms per frame (over the reported frames)
    rows.setdefault((prog, who), []).append((fps, cpu))
def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None
out = ["# Real programs: frames per second and compositor CPU per frame (issue 13)", "",
       open(os.path.join(raw, "meta.txt")).read().strip().replace("\n", "  \n"), "",
       "Each cell: median over rounds (each round's fps is the median of the program's 5-second reports after the first; "
       "CPU is the compositor's utime+stime over the program's whole run divided by the frames it reported, so the "
       "first seconds count too).", "",
       "| Program | Compositor | fps | CPU ms/frame | fps vs Weston | CPU vs Weston |", "|---|---|---:|---:|---:|---:|"]
for prog in sorted({p for p, _ in rows}):
    w = rows.get((prog, "weston"), [])
    wf, wc = med([a for a, _ in w]), med([b for _, b in w])
    for who in ["ours", "ours-writeback", "weston"]:
        r = rows.get((prog, who), [])
        f, c = med([a for a, _ in r]), med([b for _, b in r])
        fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
        ratio = lambda a, b: "-" if a is None or not b else f"{a / b:.2f}"
        out.append(f"| {prog} | {who} | {fmt(f)} | {fmt(c, 2)} | {ratio(f, wf)} | {ratio(c, wc)} |")
for prog in sorted({p for p, _ in rows}):
    a, b = rows.get((prog, "ours"), []), rows.get((prog, "ours-writeback"), [])
    fa, fb = med([x for x, _ in a]), med([x for x, _ in b])
    ca, cb = med([y for _, y in a]), med([y for _, y in b])
    if fa and fb and ca and cb:
        out.append(f"\nWriteback on/off, {prog}: fps {fb / fa:.2f}x, compositor CPU per frame {cb / ca:.2f}x")
open(md, "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
