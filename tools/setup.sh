#!/bin/bash
# tools/setup.sh -- install what building, running and testing the compositor needs on Debian 12 (idempotent;
# about a second when everything is there). The README's two commands call it first.
#
#  * Debian packages: libwayland (server, client, and -dev for wayland.xml), libdrm, libgbm, EGL/GLES, the real
#    clients the tests drive (weston's demo clients, wayland-info), and the image tools the tests read
#    screenshots with.
#  * wayland-protocols from Debian forky, any version >= 1.49 (a testing suite moves on; 1.49 has linux-dmabuf v6
#    and everything trixie's 1.44 had): Debian 12's 1.31 lacks linux-dmabuf v5 and linux-drm-syncobj. It is
#    architecture-independent XML, so it is fetched with `apt-get download` through a private apt configuration
#    into the cache and unpacked there as wayland-protocols-forky (its version in VERSION); the system's package is
#    never replaced. forky's Release file was served past its Valid-Until (seen 2026-12-01), so that private
#    configuration, and nothing else, sets Acquire::Check-Valid-Until=false.
#
# Env: COMPOSITOR_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/compositor), DEBIAN_MIRROR.
set -euo pipefail
CACHE=${COMPOSITOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/compositor}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PROTOCOLS_SUITE=forky
PROTOCOLS_MIN=1.49

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

PROT=$CACHE/wayland-protocols-$PROTOCOLS_SUITE
if [ ! -f "$PROT/stable/linux-dmabuf/linux-dmabuf-v1.xml" ] || [ ! -f "$PROT/VERSION" ]; then
  echo "setup: fetching wayland-protocols >= $PROTOCOLS_MIN (Debian $PROTOCOLS_SUITE) into $PROT" >&2
  A=$CACHE/apt-$PROTOCOLS_SUITE
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/debs"
  echo "deb $MIRROR $PROTOCOLS_SUITE main" > "$A/sources.list"
  APT=(-oDir::Etc::SourceList="$A/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$A/lists"
       -oDir::Cache="$A/cache" -oDir::Etc::Preferences=/dev/null -oDir::Etc::PreferencesParts=/dev/null
       -oAPT::Sandbox::User=root -oDebug::NoLocking=1 -oAcquire::Check-Valid-Until=false)
  apt-get "${APT[@]}" -q update >&2
  ver=$(apt-cache "${APT[@]}" policy wayland-protocols | awk '/Candidate:/{print $2}')
  if [ -z "$ver" ] || [ "$ver" = "(none)" ] || ! dpkg --compare-versions "$ver" ge "$PROTOCOLS_MIN"; then
    echo "setup: $PROTOCOLS_SUITE has wayland-protocols '$ver', need >= $PROTOCOLS_MIN (linux-dmabuf v6)" >&2; exit 1
  fi
  rm -f "$A/debs"/wayland-protocols_*.deb
  ( cd "$A/debs" && apt-get "${APT[@]}" -q download "wayland-protocols=$ver" >&2 )
  tmp=$(mktemp -d "$CACHE/wp.XXXXXX")
  dpkg-deb -x "$A/debs"/wayland-protocols_"${ver//:/%3a}"_all.deb "$tmp"
  echo "$ver" > "$tmp/usr/share/wayland-protocols/VERSION"
  rm -rf "$PROT"; mv "$tmp/usr/share/wayland-protocols" "$PROT"; rm -rf "$tmp"
fi
echo "$PROT"
