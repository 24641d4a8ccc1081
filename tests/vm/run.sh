#!/bin/bash
# tests/vm/run.sh 'COMMAND' -- run COMMAND as root in a throwaway VM on Debian trixie's 6.12 kernel and exit
# with its exit code.
#
# The guest has vkms (overlay, cursor and writeback enabled), vgem, virtio-gpu, udmabuf and
# /dev/dma_heap/system. Its root is the debootstrapped trixie tree from setup.sh, read-only under a tmpfs
# overlay; the repository is shared read-write at the same path as on the host, so COMMAND can run what the
# host built and leave results there. COMMAND runs with /bin/sh -c in a clean environment (PATH, HOME=/root,
# LANG=C.UTF-8, XDG_RUNTIME_DIR=/run/user/0), in the current directory if that is shared (else /root); set
# anything else inside COMMAND.
#
# Its output is streamed to stdout; the guest kernel log is kept in the job directory (console.log), whose
# tail is printed when COMMAND fails. Exit code: COMMAND's; 124 when the VM gave no exit status (timeout,
# panic, qemu failure); 125 when the VM could not be prepared; 2 for usage errors.
#
# Env:
#   COMPOSITOR_VM_DIR      cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/compositor-vm)
#   COMPOSITOR_VM_ROOT     guest root (default: the trixie root in the cache; / boots on the host's root)
#   COMPOSITOR_VM_SHARE    more host directories to share read-write at the same path, ':'-separated
#   COMPOSITOR_VM_TIMEOUT  seconds for the whole VM (default 600)
#   COMPOSITOR_VM_SMP, COMPOSITOR_VM_MEM   guest CPUs and memory (default 2, 4G)
#   COMPOSITOR_VM_ACCEL    qemu accelerator (default tcg: KVM does not work on the development machines)
#   COMPOSITOR_VM_CPU      qemu CPU model (default max)
#   COMPOSITOR_VM_VKMS_PARAMS        vkms parameters (default enable_overlay=1 enable_cursor=1 enable_writeback=1)
#   COMPOSITOR_VM_VIRTIO_GPU=0       no virtio-gpu device
#   COMPOSITOR_VM_APPEND   more kernel command line
#   COMPOSITOR_VM_KEEP=1   keep the job directory even when COMMAND succeeded
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$HERE/initramfs.sh"
case "${1:-}" in -h|--help) sed -n '2,/^set -u$/{/^set -u$/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;; esac
[ $# -eq 1 ] || { echo "usage: tests/vm/run.sh 'COMMAND'   (knobs: tests/vm/run.sh --help)" >&2; exit 2; }

CACHE=${COMPOSITOR_VM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/compositor-vm}
export COMPOSITOR_VM_DIR=$CACHE
kernel_ready() {
  KVER=$(cat "$CACHE/kver" 2>/dev/null)
  KERNEL=$CACHE/kernel/$KVER/boot/vmlinuz-$KVER
  INITRAMFS=$(initramfs_path "$CACHE" "$KVER")
  [ -n "$KVER" ] && [ -f "$KERNEL" ] && [ -f "$INITRAMFS" ] && [ "$INITRAMFS" -nt "$HERE/setup.sh" ] &&
    [ -f "$CACHE/trixie-root/.complete" ]
}
if ! kernel_ready; then
  "$HERE/setup.sh" >&2 || { echo "vm: setup.sh failed" >&2; exit 125; }
  kernel_ready || { echo "vm: setup.sh left no kernel, initramfs or root in $CACHE" >&2; exit 125; }
fi
ROOT=${COMPOSITOR_VM_ROOT:-$CACHE/trixie-root}
ROOT=$(cd "$ROOT" 2>/dev/null && pwd) || { echo "vm: COMPOSITOR_VM_ROOT=$COMPOSITOR_VM_ROOT is not a directory" >&2; exit 2; }

mkdir -p "$CACHE/jobs"
# Jobs of failed commands are kept for inspection; a few days is long enough.
find "$CACHE/jobs" -mindepth 1 -maxdepth 1 -name 'job-*' -mtime +3 -exec rm -rf {} + 2>/dev/null
JOB=$(mktemp -d "$CACHE/jobs/job-$(date +%Y%m%d-%H%M%S)-XXXX") || exit 125
mkdir -p "$JOB/in"
printf '%s\n' "$1" > "$JOB/in/cmd.sh"
{
  printf 'VKMS_PARAMS=%q\n' "${COMPOSITOR_VM_VKMS_PARAMS-enable_overlay=1 enable_cursor=1 enable_writeback=1}"
  printf 'VIRTIO_GPU_PARAMS=%q\n' ""
} > "$JOB/in/env"

qemu_escape() { printf '%s' "${1//,/,,}"; }   # in qemu option values ',' is written ',,'
ACCEL=${COMPOSITOR_VM_ACCEL:-tcg}
[ "$ACCEL" = tcg ] && ACCEL=tcg,thread=multi
ARGS=(-nodefaults -no-user-config -display none -monitor none -no-reboot
  -machine q35 -accel "$ACCEL" -cpu "${COMPOSITOR_VM_CPU:-max}" -smp "${COMPOSITOR_VM_SMP:-2}" -m "${COMPOSITOR_VM_MEM:-4G}"
  -kernel "$KERNEL" -initrd "$INITRAMFS"
  -serial "file:$(qemu_escape "$JOB/console.log")"
  -device virtio-serial-pci -chardev "file,id=out,path=$(qemu_escape "$JOB/output.log")" -device virtconsole,chardev=out
  -device virtio-rng-pci
  -virtfs "local,path=$(qemu_escape "$JOB/in"),mount_tag=job,security_model=none,readonly=on,id=job"
  # The host's directories span several filesystems; without multidevs=remap their inode numbers can
  # collide in the guest, which confuses overlayfs and anything that compares inodes.
  -virtfs "local,path=$(qemu_escape "$ROOT"),mount_tag=root,security_model=none,readonly=on,multidevs=remap,id=root")

: > "$JOB/in/shares"
i=0
IFS=: read -ra SHARES <<< "$REPO:${COMPOSITOR_VM_SHARE:-}"
for dir in "${SHARES[@]}"; do
  [ -n "$dir" ] || continue
  path=$(cd "$dir" 2>/dev/null && pwd) || { echo "vm: COMPOSITOR_VM_SHARE: '$dir' is not a directory" >&2; rm -rf "$JOB"; exit 2; }
  case "$path" in *[[:space:]]*) echo "vm: cannot share a path with blanks: '$path'" >&2; rm -rf "$JOB"; exit 2 ;; esac
  ARGS+=(-virtfs "local,path=$(qemu_escape "$path"),mount_tag=share$i,security_model=none,multidevs=remap,id=share$i")
  printf 'share%d %s\n' "$i" "$path" >> "$JOB/in/shares"
  i=$((i + 1))
done
# COMMAND starts in the current directory when the guest has it (the repository, a shared directory),
# so that relative paths mean the same as on the host.
WORKDIR=/root
while read -r _ path; do
  case "$PWD/" in "$path"/*) WORKDIR=$PWD ;; esac
done < "$JOB/in/shares"
printf 'WORKDIR=%q\n' "$WORKDIR" >> "$JOB/in/env"
[ "${COMPOSITOR_VM_VIRTIO_GPU:-1}" = 0 ] || ARGS+=(-device virtio-gpu-pci)
ARGS+=(-append "console=ttyS0 loglevel=4 panic=-1 mitigations=off ${COMPOSITOR_VM_APPEND:-}")

# The guest writes its output to a file through the virtio console; follow it while the VM runs, with
# the markers taken out (a marker can follow output that had no final newline: split it off first).
: > "$JOB/output.log"
START=$(date +%s.%N)
timeout --foreground -k 5 "${COMPOSITOR_VM_TIMEOUT:-600}" qemu-system-x86_64 "${ARGS[@]}" >"$JOB/qemu.log" 2>&1 &
QEMU=$!
trap 'kill $QEMU 2>/dev/null; exit 130' INT TERM
tail -n +1 -s 0.2 -f --pid=$QEMU "$JOB/output.log" |
  sed -u -E -e 's/\r//g' -e 's/(.)(COMPOSITOR_VM_(EXIT|COMMAND_SECONDS|BOOT_SECONDS)=)/\1\n\2/' |
  grep -av --line-buffered -E '^COMPOSITOR_VM_(EXIT|COMMAND_SECONDS|BOOT_SECONDS)='
wait $QEMU
QEMU_RC=$?
END=$(date +%s.%N)

marker() { tr -d '\r' < "$JOB/output.log" | sed -E 's/(.)(COMPOSITOR_VM_)/\1\n\2/' | sed -n "s/^COMPOSITOR_VM_$1=//p" | tail -1; }
RC=$(marker EXIT)
printf 'vm: wall %.1f s (boot %s s, command %s s), exit %s, job %s\n' "$(awk "BEGIN {print $END - $START}")" \
  "$(marker BOOT_SECONDS)" "$(marker COMMAND_SECONDS)" "${RC:-none}" "$JOB" >&2
if [ -z "$RC" ]; then
  echo "vm: the VM gave no exit status (qemu exit $QEMU_RC; 124 is the timeout of ${COMPOSITOR_VM_TIMEOUT:-600} s)" >&2
  echo "vm: tail of the guest kernel log ($JOB/console.log):" >&2
  tail -n 40 "$JOB/console.log" >&2
  cat "$JOB/qemu.log" >&2
  exit 124
fi
if [ "$RC" != 0 ]; then
  echo "vm: COMMAND exited with $RC; tail of the guest kernel log ($JOB/console.log):" >&2
  tail -n 25 "$JOB/console.log" >&2
elif [ "${COMPOSITOR_VM_KEEP:-0}" != 1 ]; then
  rm -rf "$JOB"
fi
exit "$RC"
