#!/bin/bash
# bench/table-run.sh [PAIRS ...] -- what the format table's size costs per client (issue 5's "1,000-pair table"):
# for each size (default 58 1000 4000), bench/TableBench serves our zwp_linux_dmabuf_v1 with a default feedback of
# that many pairs, and bench/VmBench measures against it, as it does against the compositors in the VM: the time from
# bind to the feedback's `done` (median of BENCH_FEEDBACK_N connections, default 50), then the server's RSS with 0, 1
# and N connections each holding its feedback, and the memfds it holds. Runs on the host (memfds and sockets only);
# 58 pairs is what vkms + llvmpipe report in the VM, the others are the fixture's (see bench/TableBench). Writes
# bench/results/table-DATE[-N].md and the raw outputs in bench/results/table-DATE[-N]/.
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"
SIZES=${*:-58 1000 4000}
N=${BENCH_FEEDBACK_N:-50}
[ -x bench/VmBench/bin/vm/VmBench ] || bench/vm-build.sh
dotnet build bench/TableBench/TableBench.csproj -c Release -nologo -v:q -o artifacts/tablebench >/dev/null
DATE=$(date -u +%F)
NAME=table-$DATE; n=2
while [ -e "bench/results/$NAME.md" ]; do NAME=table-$DATE-$n; n=$((n + 1)); done
RAW=bench/results/$NAME
mkdir -p "$RAW"
{
  echo "date $(date -u '+%F %T') UTC"
  echo "commit $(git rev-parse HEAD)"
  echo "host $(uname -r); $(nproc) cpus; load $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RAW/machine.txt"
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null' EXIT
for p in $SIZES; do
  RT=$(mktemp -d /tmp/table-rt-XXXX); chmod 700 "$RT"
  # W^X off: the JIT then keeps no memfd of its own, so the memfds counted are the format tables.
  DOTNET_EnableWriteXorExecute=0 XDG_RUNTIME_DIR=$RT artifacts/tablebench/TableBench "$p" table >"$RAW/server.$p.txt" 2>&1 &
  PID=$!
  for i in $(seq 100); do grep -q "listening on" "$RAW/server.$p.txt" && break; sleep 0.1; done
  sleep 1 # let the runtime settle before the baseline RSS
  { XDG_RUNTIME_DIR=$RT bench/VmBench/bin/vm/VmBench feedback "$RT/table" "$PID" "$N"
    XDG_RUNTIME_DIR=$RT bench/VmBench/bin/vm/VmBench rss "$RT/table" "$PID" "$N"; } >"$RAW/client.$p.txt" 2>&1
  kill $PID; wait $PID 2>/dev/null || true; PID=""
  rm -rf "$RT"
done
python3 - "$RAW" "bench/results/$NAME.md" $SIZES <<'PY'
import sys
raw, out, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
def kv(path):
    d = {}
    for line in open(path):
        k, _, v = line.strip().partition(" ")
        d.setdefault(k, v)
    return d
rows, base = [], None
for p in sizes:
    d = {**kv(f"{raw}/server.{p}.txt"), **kv(f"{raw}/client.{p}.txt")}
    n = next((k[7:] for k in d if k.startswith("rss_kb_") and k[7:].isdigit() and k[7:] not in ("0", "1")), "?")
    per = float(d.get("rss_kb_per_client", "nan")); ms = float(d.get("feedback_ms_median", "nan"))
    memfds = d.get("fd_kinds", "").split(";")
    memfd = next((x.split("=")[1] for x in memfds if x.startswith("/memfd")), "0")
    if base is None: base = (per, ms)
    rows.append(f"| {d.get('table_pairs')} | {d.get('table_bytes')} | {ms:.2f} | {ms / base[1]:.2f} | {d.get('rss_kb_0')} | {d.get(f'rss_kb_{n}')} ({n}) | {per:.1f} | {per / base[0]:.2f} | {memfd} |")
machine = open(f"{raw}/machine.txt").read().strip()
with open(out, "w") as f:
    f.write(f"# Format table size vs cost per client ({out.split('/')[-1][:-3]})\n\nProduced by `bench/table-run.sh` (see bench/README.md). Raw outputs: `{raw.split('/')[-1]}/`.\n")
    f.write("Ratios are to the first row (the table the VM's devices really give).\n\n```\n" + machine + "\n```\n\n")
    f.write("| Pairs | Table bytes | bind → done, ms (median) | ratio | RSS 0 clients, kB | RSS N clients, kB | RSS per client, kB | ratio | table memfds held |\n")
    f.write("|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
print(open(out).read())
PY
