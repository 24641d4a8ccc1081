# tests/vm/initramfs.sh -- sourced by setup.sh (which builds the initramfs) and run.sh (which boots it).
#
# The modules the initramfs carries (their dependencies are added from modinfo), and its file in the cache, named
# by what goes into it (guest-init.sh and this list): checkouts of different branches share one cache, and a
# name by content means none of them boots another's /init or module set.
GUEST_MODULES="9p 9pnet_virtio overlay vkms vgem virtio_gpu vivid"
initramfs_path() { # initramfs_path CACHE KVER
  echo "$1/initramfs-$2-$({ cat "$HERE/guest-init.sh"; echo "$GUEST_MODULES"; } | sha256sum | cut -c1-12).cpio.zst"
}
