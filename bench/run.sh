#!/usr/bin/env bash
# bench/run.sh: our compositor vs Weston 10 (headless, pixman), side by side in one run. See bench/README.md.
#
#   bench/run.sh [--publish] [bench.py options...]
#
#   --publish          first rebuild artifacts/compositor/compositor (dotnet publish, NativeAOT, ~40 s)
#   --start-runs N     startups per compositor (default 30)
#   --load-runs N      runs per compositor and client count (default 5)
#   --duration S       seconds the clients run (default 8)
#   --clients LIST     client counts (default 1,8)
#   --ours PATH        compositor binary (default artifacts/compositor/compositor)
#   --ours-arg=ARG     an extra argument for it (repeatable), e.g. --ours-arg=--renderer=gl
#   --out FILE         results file (default bench/results/headless-DATE.md)
#   --wait-quiet S     first wait up to S s (default 60) for the machine to be <25% busy (0: do not wait)
#   --keep             keep the work directory with every process's log
#
# Not part of the test suite: nothing here is referenced by a project or by tests/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

publish=0
args=()
for a in "$@"; do
    case "$a" in
        --publish) publish=1 ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$a") ;;
    esac
done

missing=()
for tool in python3 weston weston-simple-shm; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    echo "bench: missing: ${missing[*]}" >&2
    exit 1
fi
command -v wayland-info >/dev/null || echo "bench: wayland-info not found: the output mode check is skipped" >&2

if ((publish)); then
    echo "bench: publishing the compositor (NativeAOT)..." >&2
    dotnet publish "$repo/src/Compositor/Compositor.csproj" -c Release -r linux-x64 -o "$repo/artifacts/compositor" >&2
fi

# bench.py starts every compositor and client in its own session (setsid) and kills their process groups on
# exit, error, SIGINT, SIGTERM and SIGHUP: exec it so that those signals reach it directly.
exec python3 "$here/bench.py" --repo "$repo" "${args[@]+"${args[@]}"}"
