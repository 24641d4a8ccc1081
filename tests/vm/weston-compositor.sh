#!/bin/sh
# tests/vm/weston-compositor.sh --socket NAME -- weston (from the guest root) behind the command line the VM
# tests expect of the compositor. It is the reference the smoke tests were checked against, and tells
# whether a failure is the compositor's or the rig's:
#   COMPOSITOR_BIN=$PWD/tests/vm/weston-compositor.sh tests/vm/test.sh
[ "$1" = --socket ] && [ -n "$2" ] || { echo "usage: $0 --socket NAME" >&2; exit 2; }
# headless: no seat, no input devices and no DRM master needed; kiosk shell: no helper client to spawn.
exec weston --backend=headless --shell=kiosk --socket="$2" --idle-time=0
