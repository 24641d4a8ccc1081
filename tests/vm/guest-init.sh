#!/bin/busybox sh
# tests/vm/guest-init.sh -- /init of the test VM's initramfs (busybox; setup.sh packs it).
#
# Nothing else runs in the guest: no systemd, no udev. This script mounts the trixie root read-only under a
# tmpfs overlay (so tests may write anywhere and nothing reaches the cache), loads the DRM drivers, mounts
# the shared host directories at their host paths, runs the job's command in a chroot and powers off.
# Two consoles: ttyS0 carries the kernel log (console.log on the host), hvc0 only the command's output and
# the markers run.sh reads, so kernel messages never interleave with test output.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
log() { echo "guest-init[$(cut -d' ' -f1 /proc/uptime)]: $*" > /dev/ttyS0; }
# Nothing configures networking; servers and clients on 127.0.0.1 need lo up.
ip link set lo up
hostname compositor-vm

MODULES=/lib/modules
load() { # load NAME [PARAMS...]
  name=$1; shift
  [ -e /sys/module/$name ] && return 0
  insmod $MODULES/$name.ko "$@" 2>/dev/ttyS0 || log "insmod $name $* failed"
}
# 9p and overlay first; the DRM drivers later, in a fixed order.
for m in $(cat $MODULES/load-order); do
  case $m in drm|drm_*|vkms|vgem|virtio_gpu|virtio_dma_buf|vivid) ;; *) load $m ;; esac
done
# msize: 512000 is the most the virtio transport accepts (larger values are cut down, with a warning).
ninep() { mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000${3:+,$3} "$1" "$2"; }

# The job: cmd.sh (the command), env (driver parameters, WORKDIR), shares ("TAG PATH" lines).
ninep job /job ro || log "job mount failed"
. /job/env

ninep root /lower ro,cache=loose || log "root mount failed"
mount -t tmpfs -o mode=755,size=75% tmpfs /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot 2>/dev/ttyS0 ||
  log "overlay mount failed"

# vkms first so that it is card0 for people reading logs; tests find devices by driver name anyway.
load drm; load drm_kms_helper; load drm_shmem_helper
load vkms $VKMS_PARAMS
load vgem
load virtio_dma_buf; load virtio_gpu $VIRTIO_GPU_PARAMS
# vivid (V4L2's virtual camera: /dev/video*, a test pattern), after the DRM drivers: it also makes a framebuffer.
load vivid
for m in $(cat $MODULES/load-order); do load $m; done
log "modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"

R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t debugfs debugfs $R/sys/kernel/debug
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tmpfs -o mode=755 tmpfs $R/run
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mkdir -p $R/run/user/0 $R/run/compositor-vm
chmod 700 $R/run/user/0
while read -r tag path; do
  [ -n "$path" ] || continue
  mkdir -p "$R$path" && ninep "$tag" "$R$path" cache=loose || log "share $path ($tag) mount failed"
done < /job/shares
cp /job/cmd.sh $R/run/compositor-vm/cmd.sh

t1=$(cut -d' ' -f1 /proc/uptime)
log "starting the command"
echo "COMPOSITOR_VM_BOOT_SECONDS=$t1" > /dev/hvc0
chroot $R /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root TERM=dumb LANG=C.UTF-8 XDG_RUNTIME_DIR=/run/user/0 \
  WORKDIR="$WORKDIR" /bin/sh -c 'cd "$WORKDIR" && unset WORKDIR && . /run/compositor-vm/cmd.sh' </dev/null >/dev/hvc0 2>&1
rc=$?
t2=$(cut -d' ' -f1 /proc/uptime)
echo "COMPOSITOR_VM_COMMAND_SECONDS=$(awk "BEGIN{print $t2 - $t1}")" > /dev/hvc0
echo "COMPOSITOR_VM_EXIT=$rc" > /dev/hvc0
log "command exited with $rc"
# Only warnings reach the console while booting (fast, and a panic still shows); the whole kernel log is
# written at the end so that console.log has everything the command caused.
{ echo "----- full kernel log -----"; dmesg; } > /dev/ttyS0
sync
poweroff -f
