#!/bin/bash
# bench/fuzz-run.sh [--weston] [--seed S] [--iterations N] [--requests M] [--out FILE] -- the long protocol fuzz of
# issue 12 (tests/Compositor.Fuzz): by default 25,000 connections x 40 requests = up to 1,000,000 requests against
# the headless compositor (artifacts/compositor/compositor, or $COMPOSITOR_BIN); --weston runs the same seeds
# and counts against Weston 10's headless backend. Totals go to bench/results/fuzz-<target>-<date>[-n].txt.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
SEED=1 ITER=25000 REQ=40 TARGET=compositor OUT="" EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --weston) TARGET=weston ;;
    --seed) SEED=$2; shift ;;
    --iterations) ITER=$2; shift ;;
    --requests) REQ=$2; shift ;;
    --out) OUT=$2; shift ;;
    --help|-h) sed -n 2,5p "$0"; exit 0 ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
dotnet build tests/Compositor.Fuzz -c Release -nologo -v:q >/dev/null
if [ -z "$OUT" ]; then
  base=bench/results/fuzz-$TARGET-$(date -u +%F); OUT=$base.txt; n=2
  while [ -e "$OUT" ]; do OUT=$base-$n.txt; n=$((n + 1)); done
fi
mkdir -p "$(dirname "$OUT")"
ARGS=(--seed "$SEED" --iterations "$ITER" --requests "$REQ" --check-every 500 --results "$OUT.tmp")
[ "$TARGET" = weston ] && ARGS+=(--compositor weston)
set +e
tests/Compositor.Fuzz/bin/Release/net10.0/Compositor.Fuzz "${ARGS[@]}" "${EXTRA[@]}"
rc=$?
set -e
{ echo "# bench/fuzz-run.sh $(date -u +%FT%TZ) on $(nproc) cores, $(uname -r), libwayland $(pkg-config --modversion wayland-server 2>/dev/null || echo '?'), git $(git rev-parse --short HEAD)"
  cat "$OUT.tmp"; } > "$OUT"
rm -f "$OUT.tmp"
echo "totals written to $OUT"
exit $rc
