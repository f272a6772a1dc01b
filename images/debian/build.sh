# shellcheck shell=bash
# How scripts/build-images.sh builds the Debian base. Sourced by that script, which defines the
# helpers used here (bud, build_from_containerfile, write_archive, report, run_step).

DEBIAN_REF="localhost/hzz-debian:$DEBIAN_SUITE"

# What debuerreotype does to make debian:<suite>-slim, in short: apt sources of the suite, its
# updates and its security archive; no services started by package scripts; no docs, man pages or
# translations (only copyright files), now or from later installs; nothing of this machine left in
# it (resolv.conf, hostname, machine-id, logs, apt lists).
configure_rootfs() {
  local root="$1"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/90hzz-slim"
  printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\n' \
    >"$root/etc/apt/apt.conf.d/90hzz-clean"
  cat >"$root/etc/dpkg/dpkg.cfg.d/90hzz-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/lintian/"*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  # The suite's updates and security fixes, which debootstrap (main suite only) does not take.
  chroot "$root" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -y -qq upgrade
  chroot "$root" apt-get clean
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/log/"*.log \
    "$root/var/log/apt/"* "$root/tmp/"* "$root/var/tmp/"*
  : >"$root/etc/resolv.conf"
  : >"$root/etc/machine-id"
  printf 'localhost\n' >"$root/etc/hostname"
}

# Unmounts whatever debootstrap may have left mounted below DIR (a killed run), so that rm -rf
# cannot reach into the host's /proc or /sys.
unmount_below() {
  local dir="$1" mnt
  while read -r mnt; do umount -l "$mnt" || true; done < <(findmnt -rn -o TARGET | grep -F "$dir/" | sort -r)
}

# debootstrap, slim, and one tar of the result: the debian image's only layer.
bootstrap_rootfs() {
  local dir="$1"
  debootstrap --variant=minbase --cache-dir="$dir/debs" "$DEBIAN_SUITE" "$dir/rootfs" "$DEBIAN_MIRROR"
  configure_rootfs "$dir/rootfs"
  # Numeric owners and file capabilities kept; /dev, /proc and /sys are the runtime's to fill.
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$dir/rootfs" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$dir/rootfs.tar.tmp" .
}

# The .deb files stay in a cache of their own, so a re-bootstrap downloads only what changed.
make_debian_rootfs() {
  local dir="$BUILD/debian-$DEBIAN_SUITE" logfile="$BUILD/debian-rootfs.log" key="$1"
  if [[ "${HZZ_IMAGES_REBUILD:-}" != 1 && -f "$dir/rootfs.tar" && "$(cat "$dir/rootfs.key" 2>/dev/null)" == "$key" ]]; then
    return
  fi
  unmount_below "$dir"
  rm -rf "$dir/rootfs" "$dir/rootfs.tar"
  mkdir -p "$dir/debs"
  : >"$logfile"
  run_step "debian: debootstrap of $DEBIAN_SUITE" "$logfile" bootstrap_rootfs "$dir"
  unmount_below "$dir"
  mv -f "$dir/rootfs.tar.tmp" "$dir/rootfs.tar"
  rm -rf "$dir/rootfs"
  printf '%s' "$key" >"$dir/rootfs.key"
}

build_debian() {
  local key
  key="$(printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR" \
    "$(declare -f configure_rootfs bootstrap_rootfs)" "$(cat "$REPO_ROOT/images/debian/Containerfile")" | hash_text)"
  if is_up_to_date debian "$DEBIAN_REF" "$key"; then
    report debian "up to date:" "$DEBIAN_REF"
    return
  fi
  make_debian_rootfs "$key"
  # The context is the folder holding rootfs.tar; ADD unpacks it as the image's one layer.
  build_from_containerfile debian "$DEBIAN_REF" "$REPO_ROOT/images/debian/Containerfile" "$BUILD/debian-$DEBIAN_SUITE" "$key"
}
