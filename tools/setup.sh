#!/bin/bash
# tools/setup.sh -- install what building, running and testing the compositor needs on Debian 12 (idempotent;
# about a second when everything is there). The README's two commands call it first.
#
#  * Debian packages: libwayland (server, client, and -dev for wayland.xml), libdrm, libgbm, EGL/GLES, the real
#    clients the tests drive (weston's demo clients, wayland-info), and the image tools the tests read
#    screenshots with.
#  * wayland-protocols 1.44 (Debian trixie's): Debian 12's 1.31 lacks linux-dmabuf v5 and linux-drm-syncobj.
#    It is architecture-independent XML, so it is fetched with `apt-get download` through a private apt
#    configuration into the cache and unpacked there; the system's package is never replaced.
#
# Env: COMPOSITOR_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/compositor), DEBIAN_MIRROR.
set -euo pipefail
CACHE=${COMPOSITOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/compositor}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PROTOCOLS_VERSION=1.44

PKGS="libwayland-server0 libwayland-client0 libwayland-dev libdrm2 libdrm-dev libgbm1 libegl1 libgles2
      libegl-mesa0 libgl1-mesa-dri libxkbcommon0 weston wayland-utils procps"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing" >&2
  [ "$(id -u)" = 0 ] || { echo "setup: need root to install:$missing" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing >&2 ||
    { apt-get -o DPkg::Lock::Timeout=600 update -q >&2 &&
      apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing >&2; }
fi

PROT=$CACHE/wayland-protocols-$PROTOCOLS_VERSION
if [ ! -f "$PROT/stable/linux-dmabuf/linux-dmabuf-v1.xml" ]; then
  echo "setup: fetching wayland-protocols $PROTOCOLS_VERSION (Debian trixie) into $PROT" >&2
  A=$CACHE/apt-trixie
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/debs"
  echo "deb $MIRROR trixie main" > "$A/sources.list"
  APT=(-oDir::Etc::SourceList="$A/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$A/lists"
       -oDir::Cache="$A/cache" -oDir::Etc::Preferences=/dev/null -oDir::Etc::PreferencesParts=/dev/null
       -oAPT::Sandbox::User=root -oDebug::NoLocking=1)
  apt-get "${APT[@]}" -q update >&2
  ver=$(apt-cache "${APT[@]}" policy wayland-protocols | awk '/Candidate:/{print $2}')
  case "$ver" in "$PROTOCOLS_VERSION"*) ;; *) echo "setup: trixie has wayland-protocols '$ver', expected $PROTOCOLS_VERSION" >&2; exit 1 ;; esac
  ( cd "$A/debs" && apt-get "${APT[@]}" -q download "wayland-protocols=$ver" >&2 )
  tmp=$(mktemp -d "$CACHE/wp.XXXXXX")
  dpkg-deb -x "$A/debs"/wayland-protocols_"${ver//:/%3a}"_all.deb "$tmp"
  rm -rf "$PROT"; mv "$tmp/usr/share/wayland-protocols" "$PROT"; rm -rf "$tmp"
fi
echo "$PROT"
