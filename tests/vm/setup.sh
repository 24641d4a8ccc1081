#!/bin/bash
# tests/vm/setup.sh -- prepare everything the test VM needs, in the cache directory.
#
# The host kernel has no DRM, dma-heaps or udmabuf and cannot load modules, so kernel-facing tests run in a
# qemu VM on Debian trixie's 6.12 kernel. This script gathers that VM: the host tools, the trixie kernel,
# vkms.ko (Debian does not build vkms, so it is built here from Debian's unmodified source), an initramfs
# and a debootstrapped trixie root that the guest runs from.
#
# Idempotent: each step is skipped when its result is already in the cache, so a cached run takes about a
# second. Nothing is written inside the repository.
#
# Usage: tests/vm/setup.sh [--update]
#   --update   refresh the trixie package lists and move to trixie's current kernel ABI (unless
#              COMPOSITOR_VM_KVER pins one)
# Env:
#   COMPOSITOR_VM_DIR     cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/compositor-vm)
#   COMPOSITOR_VM_KVER    kernel ABI, e.g. 6.12.117+deb13-amd64 (default: the one prepared before, else the
#                         one trixie's linux-image-amd64 depends on)
#   COMPOSITOR_VM_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   COMPOSITOR_VM_EXTRA_PACKAGES  more trixie packages for the guest root
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
. "$HERE/initramfs.sh"
UPDATE=0
for arg in "$@"; do
  case "$arg" in
    --update) UPDATE=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

CACHE=${COMPOSITOR_VM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/compositor-vm}
mkdir -p "$CACHE"; CACHE=$(cd "$CACHE" && pwd)
# qemu's -virtfs option syntax cannot carry these characters through every layer.
case "$CACHE" in *[[:space:],:]*) echo "setup.sh: the cache path must not contain blanks, commas or colons: $CACHE" >&2; exit 2 ;; esac
MIRROR=${COMPOSITOR_VM_MIRROR:-http://deb.debian.org/debian}
START=$SECONDS
step() { echo "[setup $(date +%T)] $*"; }
cached() { echo "[setup $(date +%T)]   cached: $*"; }
die() { echo "setup.sh: $*" >&2; exit 1; }
not_installed() { # not_installed DPKG_ADMINDIR PACKAGE...: print those of PACKAGE... that are not installed there
  local admindir=$1 installed p; shift
  installed=$(dpkg-query --admindir="$admindir" -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null |
              awk '$2 == "installed" {print $1}') || true
  for p in "$@"; do grep -qxF "$p" <<<"$installed" || printf '%s ' "$p"; done
}

# run.sh may start setup while test.sh runs it: one at a time.
exec 9>"$CACHE/.setup.lock"
flock 9

# -------------------------------------------------------------------------------------------------------
# Host tools. Another apt-get may hold the dpkg lock (a fresh machine installs things in the background):
# wait for it instead of failing.
HOST_PACKAGES="qemu-system-x86 debootstrap gcc make libc6-dev libelf-dev binutils xz-utils zstd cpio busybox-static kmod"
missing=$(not_installed /var/lib/dpkg $HOST_PACKAGES)
if [ -n "${missing// /}" ]; then
  step "host packages: $missing"
  [ "$(id -u)" = 0 ] || die "missing host packages: $missing (run as root, or install them)"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends $missing; }
  { apt_install || { apt-get -q -o DPkg::Lock::Timeout=600 update && apt_install; }; } >"$CACHE/host-packages.log" 2>&1 ||
    { tail -n 20 "$CACHE/host-packages.log" >&2; die "apt-get install failed (log: $CACHE/host-packages.log)"; }
else
  cached "host packages"
fi

# -------------------------------------------------------------------------------------------------------
# The guest root. debootstrap is the slowest step (about 85 s, mostly network and dpkg), so a missing
# root is built in the background while the kernel is fetched and unpacked.
ROOT=$CACHE/trixie-root
# debootstrap installs only this base: its dependency resolver takes no alternatives ("a | b"), and the
# programs below pull in packages that need them (dconf-service needs default-dbus-session-bus |
# dbus-session-bus), which it leaves unconfigured and then fails on.
ROOT_BASE=(
  # the self-contained .NET test executable needs libstdc++ (no ICU: it runs with InvariantGlobalization)
  libstdc++6
  # trixie's modpost and objtool run on the host through this root's loader and libelf (see below)
  libelf1t64
  kmod procps
)
# Everything else is added with apt-get inside the root, which resolves alternatives; an existing root gets
# what is missing the same way.
ROOT_PACKAGES=(
  "${ROOT_BASE[@]}"
  # what the compositor and the tests use in the guest
  weston wayland-utils wayland-protocols libdrm-tests libgl1-mesa-dri libegl-mesa0 libegl1 libgles2 libgbm1
  mesa-utils-bin seatd libseat1 strace libwayland-server0 libwayland-client0 libdrm2
  # the clients people run (issue 13): GStreamer's waylandsink (bad) and GL elements, mpv, foot
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-gl
  mpv foot
  # Vulkan: lavapipe and vkcube (Mesa's Vulkan WSI on Wayland)
  mesa-vulkan-drivers vulkan-tools
  ${COMPOSITOR_VM_EXTRA_PACKAGES:-}
)
add_missing_packages() { # add_missing_packages ROOT: apt-get install what ROOT_PACKAGES has and ROOT lacks
  local root=$1 missing
  missing=$(not_installed "$root/var/lib/dpkg" "${ROOT_PACKAGES[@]}")
  if [ -z "${missing// /}" ]; then cached "guest root packages"; return 0; fi
  step "guest root: add $missing(log: $CACHE/root-packages.log)"
  [ -s "$root/etc/resolv.conf" ] || cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  { chroot "$root" apt-get -q update &&
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends install $missing &&
    chroot "$root" apt-get clean; } >"$CACHE/root-packages.log" 2>&1 ||
    { tail -n 30 "$CACHE/root-packages.log" >&2; die "apt-get in the guest root failed (log: $CACHE/root-packages.log)"; }
}
DEBOOTSTRAP_PID=
if [ -f "$ROOT/.complete" ]; then
  add_missing_packages "$ROOT"
else
  step "guest root: debootstrap trixie in the background (log: $CACHE/debootstrap.log)"
  # --one-file-system: a failed debootstrap can leave /proc mounted inside the tree
  rm -rf --one-file-system "$ROOT" "$ROOT.tmp"
  mkdir -p "$CACHE/debootstrap-cache"
  packages=$(printf '%s\n' "${ROOT_BASE[@]}" | paste -sd, -)
  debootstrap --variant=minbase --cache-dir="$CACHE/debootstrap-cache" --include="$packages" \
    trixie "$ROOT.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 &
  DEBOOTSTRAP_PID=$!
fi
wait_for_root() {
  [ -n "$DEBOOTSTRAP_PID" ] || return 0
  step "guest root: waiting for debootstrap"
  if ! wait "$DEBOOTSTRAP_PID"; then
    tail -n 30 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"
  fi
  DEBOOTSTRAP_PID=
  add_missing_packages "$ROOT.tmp"
  touch "$ROOT.tmp/.complete"
  mv "$ROOT.tmp" "$ROOT"
}
trap '[ -z "$DEBOOTSTRAP_PID" ] || kill "$DEBOOTSTRAP_PID" 2>/dev/null' EXIT

# -------------------------------------------------------------------------------------------------------
# A private apt configuration for trixie, so that the host's own apt state is never touched.
APTDIR=$CACHE/apt
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
APT=(-oDir::Etc::SourceList="$APTDIR/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$APTDIR/lists"
     -oDir::Cache="$APTDIR/cache" -oDir::Etc::Preferences=/dev/null -oDir::Etc::PreferencesParts=/dev/null
     -oAPT::Sandbox::User=root)
apt_update() { step "trixie package lists"; apt-get "${APT[@]}" -q update >/dev/null; }
if [ "$(cat "$APTDIR/sources.list" 2>/dev/null)" != "deb $MIRROR trixie main" ]; then
  echo "deb $MIRROR trixie main" > "$APTDIR/sources.list"; rm -f "$APTDIR"/lists/*_Packages* "$APTDIR"/lists/*Release*
fi
if [ $UPDATE = 1 ] || ! ls "$APTDIR"/lists/*_Packages* >/dev/null 2>&1; then apt_update; fi
candidate() { apt-cache "${APT[@]}" policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }

DEBS=$CACHE/debs; mkdir -p "$DEBS"
debfile() { (ls "$DEBS/${1}_${2}_"*.deb 2>/dev/null || true) | head -1; }

if [ -n "${COMPOSITOR_VM_KVER:-}" ]; then KVER=$COMPOSITOR_VM_KVER
elif [ $UPDATE = 0 ] && [ -s "$CACHE/kver" ]; then KVER=$(cat "$CACHE/kver")
else
  KVER=$(apt-cache "${APT[@]}" depends linux-image-amd64 2>/dev/null |
         sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -1)
  [ -n "$KVER" ] || die "cannot tell which kernel trixie's linux-image-amd64 depends on"
fi
KABI=${KVER%-amd64}                       # 6.12.117+deb13
KSERIES=$(echo "$KVER" | cut -d. -f1,2)   # 6.12
step "kernel $KVER"

# The unsigned image: the signed one only adds a signature, and the modules are the same.
IMAGE_PKG=linux-image-$KVER-unsigned
KPKGS=("$IMAGE_PKG" "linux-headers-$KVER" "linux-headers-$KABI-common" "linux-kbuild-$KABI" "linux-source-$KSERIES")
KPKGVER=$( (ls "$DEBS/${IMAGE_PKG}_"*.deb 2>/dev/null || true) | head -1 | sed 's/.*_\(.*\)_amd64\.deb$/\1/')
if [ -z "$KPKGVER" ]; then
  KPKGVER=$(candidate "$IMAGE_PKG")
  if [ -z "$KPKGVER" ] || [ "$KPKGVER" = "(none)" ]; then apt_update; KPKGVER=$(candidate "$IMAGE_PKG"); fi
  [ -n "$KPKGVER" ] && [ "$KPKGVER" != "(none)" ] || die "$IMAGE_PKG is not in trixie (try --update, or set COMPOSITOR_VM_KVER)"
fi
want=()
for p in "${KPKGS[@]}"; do [ -n "$(debfile "$p" "$KPKGVER")" ] || want+=("$p=$KPKGVER"); done
if [ ${#want[@]} = 0 ]; then cached "kernel packages $KPKGVER"
else
  step "download ${want[*]}"
  ( cd "$DEBS" && apt-get "${APT[@]}" -q download "${want[@]}" >/dev/null ) ||
    { apt_update && ( cd "$DEBS" && apt-get "${APT[@]}" -q download "${want[@]}" >/dev/null ); } || die "download failed"
fi

KERNEL=$CACHE/kernel/$KVER
if [ -f "$KERNEL/boot/vmlinuz-$KVER" ]; then cached "kernel image"
else
  step "unpack the kernel image"
  rm -rf "$KERNEL" "$KERNEL.tmp"; mkdir -p "$KERNEL.tmp"
  dpkg-deb -x "$(debfile "$IMAGE_PKG" "$KPKGVER")" "$KERNEL.tmp"
  mv "$KERNEL.tmp" "$KERNEL"
fi

# Headers and kbuild: enough to build a module out of tree. Of the 1.8 GB source tree only vkms is needed.
KBUILD_ROOT=$CACHE/kbuild/$KVER
HEADERS=$KBUILD_ROOT/usr/src/linux-headers-$KVER
HEADERS_COMMON=$KBUILD_ROOT/usr/src/linux-headers-$KABI-common
KBUILD_TOOLS=$KBUILD_ROOT/usr/lib/linux-kbuild-$KABI
VKMS_SRC=$KBUILD_ROOT/vkms-src
if [ -f "$KBUILD_ROOT/.unpacked" ]; then cached "headers, kbuild and vkms source"
else
  step "unpack headers, kbuild and the vkms source"
  rm -rf "$KBUILD_ROOT"; mkdir -p "$KBUILD_ROOT" "$VKMS_SRC"
  for p in "linux-headers-$KVER" "linux-headers-$KABI-common" "linux-kbuild-$KABI"; do
    dpkg-deb -x "$(debfile "$p" "$KPKGVER")" "$KBUILD_ROOT"
  done
  dpkg-deb --fsys-tarfile "$(debfile "linux-source-$KSERIES" "$KPKGVER")" |
    tar -xO "./usr/src/linux-source-$KSERIES.tar.xz" | xz -dc -T0 |
    tar -x -C "$VKMS_SRC" --strip-components=5 --wildcards "linux-source-$KSERIES/drivers/gpu/drm/vkms/*"
  [ -f "$VKMS_SRC/vkms_drv.c" ] || die "no drivers/gpu/drm/vkms in linux-source-$KSERIES"
  touch "$KBUILD_ROOT/.unpacked"
fi

wait_for_root

if [ -f "$KBUILD_ROOT/.adapted" ]; then cached "kbuild adapted to this host"
else
  step "adapt kbuild to this host"
  sed -i "s#^include /usr/src/#include $KBUILD_ROOT/usr/src/#" "$HEADERS/Makefile"
  # trixie's kernel was built with gcc-14; bookworm's gcc-12 lacks -fmin-function-alignment, and
  # -falign-functions gives the same alignment for a module.
  if ! echo 'int x;' | gcc -fmin-function-alignment=16 -x c -c -o /dev/null - 2>/dev/null; then
    sed -i 's/^KBUILD_CFLAGS += -fmin-function-alignment=$(CONFIG_FUNCTION_ALIGNMENT)$/KBUILD_CFLAGS += -falign-functions=$(CONFIG_FUNCTION_ALIGNMENT)/' "$HEADERS_COMMON/Makefile"
  fi
  # Without vmlinux kbuild skips BTF for the module: a .BTF made by another pahole can make the load fail.
  [ ! -f "$HEADERS/vmlinux" ] || mv "$HEADERS/vmlinux" "$HEADERS/vmlinux.no-btf"
  # trixie's modpost and objtool need glibc 2.38 (bookworm has 2.36). Rather than rebuilding them from the
  # whole source tree, run the originals through the guest root's dynamic loader and libraries.
  for tool in "$KBUILD_TOOLS/scripts/mod/modpost.real-lsb-64" "$KBUILD_TOOLS/tools/objtool/objtool.real-x86"; do
    complaint=$("$tool" --help </dev/null 2>&1) || true
    if [[ $complaint == *"GLIBC_"*"not found"* ]]; then
      mv "$tool" "$tool.trixie"
      printf '#!/bin/sh\n# trixie binary, needs a newer glibc than the host has (written by tests/vm/setup.sh)\nexec %s --library-path %s %s "$@"\n' \
        "$ROOT/lib64/ld-linux-x86-64.so.2" "$ROOT/usr/lib/x86_64-linux-gnu" "$tool.trixie" > "$tool"
      chmod 755 "$tool"
    fi
  done
  touch "$KBUILD_ROOT/.adapted"
fi

VKMS=$CACHE/vkms/$KVER
if [ -f "$VKMS/vkms.ko" ] && grep -aq "vermagic=$KVER " "$VKMS/vkms.ko"; then cached "vkms.ko"
else
  step "build vkms.ko (CONFIG_DRM_VKMS is off in Debian's kernel)"
  rm -rf "$VKMS"; mkdir -p "$VKMS"
  cp -a "$VKMS_SRC/." "$VKMS/"
  if ! make -C "$HEADERS" M="$VKMS" CC=gcc CONFIG_DRM_VKMS=m -j"$(nproc)" modules >"$VKMS/build.log" 2>&1; then
    tail -n 40 "$VKMS/build.log" >&2; die "vkms build failed (log: $VKMS/build.log)"
  fi
  grep -E "warning:|error:" "$VKMS/build.log" || true
  grep -aq "vermagic=$KVER " "$VKMS/vkms.ko" || die "vkms.ko was built for another kernel"
fi

# -------------------------------------------------------------------------------------------------------
# The initramfs: busybox, guest-init.sh as /init, and the modules the guest loads. No depmod or modprobe on
# either side: the load order is resolved here from each module's "depends=" field.
INITRAMFS=$(initramfs_path "$CACHE" "$KVER")
# Those of other checkouts (another guest-init.sh or module list) are kept while in use, then pruned.
find "$CACHE" -maxdepth 1 -name 'initramfs-*.cpio.zst' ! -path "$INITRAMFS" -mtime +3 -delete
if [ -f "$INITRAMFS" ] && [ "$INITRAMFS" -nt "$HERE/setup.sh" ] && [ "$INITRAMFS" -nt "$VKMS/vkms.ko" ]; then
  cached "initramfs"
else
  step "initramfs"
  MODULES=$KERNEL/lib/modules/$KVER
  [ -d "$MODULES" ] || MODULES=$KERNEL/usr/lib/modules/$KVER
  [ -d "$MODULES" ] || die "no modules for $KVER in $KERNEL"
  ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is not the static one (install busybox-static)"
  WORK=$(mktemp -d "$CACHE/initramfs.XXXXXX")
  mkdir -p "$WORK"/{bin,dev,proc,sys,job,lower,upper,newroot,lib/modules}
  cp /bin/busybox "$WORK/bin/busybox"
  for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$WORK/bin/$applet"; done
  # virtio_pci, virtio_console, udmabuf and the system dma-heap are built into Debian's 6.12 kernel.
  declare -A MODPATH=() SEEN=()
  while IFS= read -r f; do n=${f##*/}; n=${n%%.ko*}; MODPATH[${n//-/_}]=$f; done < <(find "$MODULES" -name '*.ko*')
  MODPATH[vkms]=$VKMS/vkms.ko
  ORDER=()
  add_module() {
    local name=${1//-/_} dep
    [ -z "${SEEN[$name]:-}" ] || return 0
    SEEN[$name]=1
    [ -n "${MODPATH[$name]:-}" ] || return 0          # built in
    for dep in $(modinfo -F depends "${MODPATH[$name]}" | tr , ' '); do add_module "$dep"; done
    ORDER+=("$name")
  }
  for m in $GUEST_MODULES; do add_module $m; done
  for m in "${ORDER[@]}"; do
    case "${MODPATH[$m]}" in
      *.xz) xz -dc "${MODPATH[$m]}" ;; *.zst) zstd -qdc "${MODPATH[$m]}" ;; *) cat "${MODPATH[$m]}" ;;
    esac > "$WORK/lib/modules/$m.ko"
    strip --strip-debug "$WORK/lib/modules/$m.ko"
  done
  printf '%s\n' "${ORDER[@]}" > "$WORK/lib/modules/load-order"
  echo "  modules: ${ORDER[*]}"
  install -m 755 "$HERE/guest-init.sh" "$WORK/init"
  ( cd "$WORK" && find . | LC_ALL=C sort | cpio -o -H newc --quiet ) | zstd -q -T0 -10 > "$INITRAMFS.tmp"
  mv "$INITRAMFS.tmp" "$INITRAMFS"
  rm -rf "$WORK"
fi
# run.sh boots this kernel; an explicit COMPOSITOR_VM_KVER does not replace an existing default.
if [ -z "${COMPOSITOR_VM_KVER:-}" ] || [ ! -s "$CACHE/kver" ]; then echo "$KVER" > "$CACHE/kver"; fi

step "ready in $((SECONDS - START)) s: $CACHE ($(du -sh "$CACHE" 2>/dev/null | cut -f1))"
