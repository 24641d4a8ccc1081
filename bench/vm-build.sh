#!/bin/bash
# bench/vm-build.sh -- publishes the VM bench client (bench/VmBench) self-contained into bench/VmBench/bin/vm.
# It builds from a snapshot of the committed src/ (git archive HEAD) plus the working bench/VmBench, so that
# uncommitted work in src/ (another session's) cannot break or change the client.
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
S=$(mktemp -d /tmp/vmbench-src-XXXX)
trap 'rm -rf "$S"' EXIT
cd "$REPO"
git archive HEAD src Directory.Build.props Directory.Build.targets protocols | tar -x -C "$S"
mkdir -p "$S/bench/VmBench"
cp bench/VmBench/VmBench.csproj bench/VmBench/Program.cs "$S/bench/VmBench/"
timeout 600 dotnet publish "$S/bench/VmBench/VmBench.csproj" -c Release -r linux-x64 --self-contained \
  -p:PublishReadyToRun=true -o "$REPO/bench/VmBench/bin/vm" -nologo -v:q
