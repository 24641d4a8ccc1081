#!/bin/bash
# ./run.sh [compositor options] -- install what is missing, build the compositor (NativeAOT) and run it
# headless on the first free wayland-N socket. Options go to the compositor (./run.sh --help lists them).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
tools/setup.sh >/dev/null
dotnet publish src/Compositor/Compositor.csproj -c Release -r linux-x64 -o artifacts/compositor -nologo -v:q >&2
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR=/tmp/runtime-$(id -u)
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  echo "run.sh: XDG_RUNTIME_DIR was unset; using $XDG_RUNTIME_DIR" >&2
fi
exec artifacts/compositor/compositor "$@"
