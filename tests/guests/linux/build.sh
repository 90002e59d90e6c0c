#!/usr/bin/env bash
# tests/guests/linux/build.sh OUTDIR [x86_64|aarch64]: a real Linux guest for system-mode tests, from
# Debian packages, without installing any of them:
#
#   OUTDIR/vmlinuz (and bzImage, the same file)  Debian's linux-image-6.1.0-N-amd64 kernel
#   OUTDIR/System.map                            the real one, from the matching -dbg
#                                                package (the image's is a placeholder)
#   OUTDIR/fw/                                   firmware for QEMU's -L: seabios's
#                                                bios-256k.bin (and VGA BIOSes), the option
#                                                ROMs (linuxboot_dma.bin, ...) from
#                                                bookworm-backports' qemu-system-data
#   OUTDIR/initrd.gz                             busybox initramfs: /init (init.sh here) runs
#                                                /workload (workload.c here, static), prints
#                                                CFLOW-WORKLOAD-DONE, then poweroff -f
#   OUTDIR/workload                              that program, unstripped (for nm)
#   OUTDIR/kernel-package                        which kernel package it is
#
# Boot: qemu-system-x86_64 -M q35 -smp 2 -m 512 -nographic -no-reboot -nic none -L OUTDIR/fw \
#         -kernel OUTDIR/vmlinuz -initrd OUTDIR/initrd.gz -append "console=ttyS0 quiet panic=-1"
#
# aarch64 (ARCH aarch64): the same from Debian's arm64 packages (linux-image-6.1.0-N-arm64,
# busybox-static:arm64, the workload built with aarch64-linux-gnu-gcc); no firmware and no
# System.map. apt sees arm64 packages through a private apt state of its own in the cache
# (APT::Architectures=arm64, its own lists and status): dpkg's architectures stay untouched.
#   qemu-system-aarch64 -M virt -cpu max -smp 2 -m 512 -nographic -no-reboot -nic none \
#     -kernel OUTDIR/vmlinuz -initrd OUTDIR/initrd.gz -append "console=ttyAMA0 quiet panic=-1"
#
# Packages are fetched with `apt-get download` and unpacked with `dpkg -x` into a cache
# (${CFLOW_CACHE:-~/.cache/cflow}/linux), once: later runs use what is there and ask apt
# nothing. busybox-static and seabios are taken from the machine when installed
# (scripts/deps installs them), else fetched the same way. Cheap when OUTDIR is up to date.
# Exits non-zero with a message naming what could not be had (no network, no apt lists).
set -euo pipefail

OUT=${1:?usage: build.sh OUTDIR [x86_64|aarch64]}
ARCH=${2:-x86_64}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${CFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cflow}/linux
mkdir -p "$OUT" "$CACHE/debs"
OUT=$(cd "$OUT" && pwd)

die() { printf 'linux guest (%s): %s\n' "$ARCH" "$*" >&2; exit 2; }

APT_OPTS=()
case "$ARCH" in
    x86_64) DARCH=amd64 CC=gcc STRIP=strip ;;
    aarch64)
        DARCH=arm64 CC=aarch64-linux-gnu-gcc STRIP=aarch64-linux-gnu-strip
        A="$CACHE/apt-arm64"
        APT_OPTS=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
            -o "Dir::State::Lists=$A/lists" -o "Dir::State::status=$A/status"
            -o "Dir::Cache=$A" -o "Dir::Cache::archives=$A/archives" -o Acquire::Languages=none)
        ;;
    *) die "unknown architecture (x86_64 or aarch64)" ;;
esac
apt_get() { apt-get "${APT_OPTS[@]}" "$@"; }
apt_cache() { apt-cache "${APT_OPTS[@]}" "$@"; }
# the private arm64 package lists: fetched once, when something must be downloaded
arm64_lists() {
    [ "$ARCH" = aarch64 ] || return 0
    [ -f "$A/.updated" ] && return 0
    mkdir -p "$A/lists/partial" "$A/archives/partial"
    touch "$A/status"
    apt_get -q -o Acquire::Check-Valid-Until=false update >"$A/update.log" 2>&1 ||
        { sed 's/^/  | /' "$A/update.log" >&2; die "apt-get update of the private arm64 lists failed"; }
    touch "$A/.updated"
}

# fetch PKG[/SUITE] NAME [DEBARCH]: NAME's .deb in the cache, downloaded once; prints its path
fetch() {
    local spec=$1 name=$2 darch=${3:-*} deb
    deb=$(find "$CACHE/debs" -maxdepth 1 -name "${name}_*_${darch}.deb" | sort -V | tail -n1)
    if [ -z "$deb" ]; then
        local tmp
        arm64_lists
        tmp=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
        # apt as root warns that its _apt user cannot write here: harmless
        if ! (cd "$tmp" && apt_get download -q "$spec" >"$tmp/log" 2>&1); then
            sed 's/^/  | /' "$tmp/log" >&2
            rm -rf "$tmp"
            die "cannot download $spec with apt-get download (network? apt lists up to date? run 'make deps' or 'apt-get update')"
        fi
        mv "$tmp"/*.deb "$CACHE/debs/"
        rm -rf "$tmp"
        deb=$(find "$CACHE/debs" -maxdepth 1 -name "${name}_*_${darch}.deb" | sort -V | tail -n1)
        [ -n "$deb" ] || die "apt-get download $spec gave no ${name}_*.deb"
    fi
    echo "$deb"
}

# unpack NAME DEB: DEB unpacked under the cache, once; prints the folder
unpack() {
    local dir="$CACHE/root/$1"
    if [ ! -f "$dir/.unpacked" ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        dpkg -x "$2" "$dir" || die "dpkg -x $2 failed"
        touch "$dir/.unpacked"
    fi
    echo "$dir"
}

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed'; }

# --- the kernel: the 6.1 one apt offers (linux-image-amd64's dependency), chosen once
kpkg=""
[ -f "$CACHE/kernel-package-$DARCH" ] && kpkg=$(cat "$CACHE/kernel-package-$DARCH")
if [ -z "$kpkg" ]; then
    arm64_lists
    kpkg=$(apt_cache depends "linux-image-$DARCH" 2>/dev/null |
        awk -v re="^linux-image-6\\.1\\.0-[0-9]+-$DARCH\$" '$1 == "Depends:" && $2 ~ re {print $2; exit}')
    if [ -z "$kpkg" ]; then
        kpkg=$(apt_cache pkgnames linux-image-6.1.0- 2>/dev/null |
            grep -E "^linux-image-6\.1\.0-[0-9]+-$DARCH\$" | sort -V | tail -n1 || true)
    fi
    [ -n "$kpkg" ] || die "apt offers no linux-image-6.1.0-*-$DARCH package (apt lists missing? run 'apt-get update')"
fi
kroot=$(unpack "$kpkg" "$(fetch "$kpkg" "$kpkg" "$DARCH")")
rm -rf "$kroot/lib" "$kroot/usr"  # the modules (400 MB): the initramfs loads none
echo "$kpkg" >"$CACHE/kernel-package-$DARCH"
vmlinuz=$(find "$kroot/boot" -name 'vmlinuz-*' | head -n1)
[ -n "$vmlinuz" ] || die "$kpkg has no /boot/vmlinuz-*"
# The package's /boot/System.map-* is a one-line placeholder ("The real System.map is in the
# linux-image-<version>-dbg package"): take the real one from that package, same version. It is
# 800+ MB; only the map (4 MB, near the start of the archive) is kept, the .deb is deleted.
sysmap=$(find "$kroot/boot" -name 'System.map-*' | head -n1)
if [ "$ARCH" = x86_64 ] && { [ -z "$sysmap" ] || [ "$(wc -l <"$sysmap")" -lt 1000 ]; }; then
    sysmap="$CACHE/root/$kpkg/System.map"
    if [ ! -s "$sysmap" ]; then
        kver=$(dpkg-deb -f "$(fetch "$kpkg" "$kpkg" "$DARCH")" Version)
        kname=$(basename "$(find "$kroot/boot" -name 'vmlinuz-*' | head -n1)")
        kname=${kname#vmlinuz-}
        tmp=$(mktemp -d "$CACHE/debs/.dbg.XXXXXX")
        if ! (cd "$tmp" && apt-get download -q "$kpkg-dbg=$kver" >"$tmp/log" 2>&1); then
            sed 's/^/  | /' "$tmp/log" >&2
            rm -rf "$tmp"
            die "cannot download $kpkg-dbg=$kver (the real System.map) with apt-get download"
        fi
        # tar stops at the first match; dpkg-deb then complains of a broken pipe: expected
        dpkg-deb --fsys-tarfile "$tmp"/*.deb 2>/dev/null |
            tar -xO --occurrence=1 "./usr/lib/debug/boot/System.map-$kname" >"$tmp/System.map" || true
        if [ "$(wc -l <"$tmp/System.map")" -lt 1000 ]; then
            rm -rf "$tmp"
            die "$kpkg-dbg has no usr/lib/debug/boot/System.map-$kname"
        fi
        mv "$tmp/System.map" "$sysmap"
        rm -rf "$tmp"
    fi
fi

# --- firmware: seabios + QEMU's option ROMs (bookworm's qemu-system-data is 7.2: backports')
if [ "$ARCH" = x86_64 ]; then
    if installed seabios && [ -f /usr/share/seabios/bios-256k.bin ]; then
        seabios=/usr/share/seabios
    else
        seabios=$(unpack seabios "$(fetch seabios seabios)")/usr/share/seabios
    fi
    qdata=$(unpack qemu-system-data "$(fetch qemu-system-data/bookworm-backports qemu-system-data)")/usr/share/qemu
    [ -f "$seabios/bios-256k.bin" ] || die "no bios-256k.bin in seabios"
    [ -f "$qdata/linuxboot_dma.bin" ] || die "no linuxboot_dma.bin in qemu-system-data"
fi

# --- busybox
if [ "$ARCH" = x86_64 ] && installed busybox-static && [ -x /bin/busybox ]; then
    busybox=/bin/busybox
else
    busybox=$(unpack "busybox-static-$DARCH" "$(fetch "busybox-static" busybox-static "$DARCH")")/bin/busybox
fi
command -v cpio >/dev/null || die "cpio is not installed (scripts/deps installs it)"

# --- OUTDIR: copies, refreshed when a source is newer
copy() { # copy SRC DST: when DST is missing or differs
    if [ ! -f "$2" ] || ! cmp -s "$1" "$2"; then cp -L "$1" "$2.tmp" && mv "$2.tmp" "$2"; fi
}
copy "$vmlinuz" "$OUT/vmlinuz"
echo "$kpkg" >"$OUT/kernel-package.tmp" && mv "$OUT/kernel-package.tmp" "$OUT/kernel-package"
if [ "$ARCH" = x86_64 ]; then
    ln -sfn vmlinuz "$OUT/bzImage"
    copy "$sysmap" "$OUT/System.map"
    mkdir -p "$OUT/fw"
    for f in "$qdata"/*.bin "$qdata"/*.rom "$seabios"/*.bin; do
        [ -f "$f" ] && copy "$f" "$OUT/fw/$(basename "$f")"
    done
fi

if [ ! -x "$OUT/workload" ] || [ "$HERE/workload.c" -nt "$OUT/workload" ]; then
    "$CC" -O1 -static -no-pie -o "$OUT/workload.tmp" "$HERE/workload.c" || die "$CC -static failed"
    mv "$OUT/workload.tmp" "$OUT/workload"
fi

initrd="$OUT/initrd.gz"
if [ ! -f "$initrd" ] || [ "$HERE/init.sh" -nt "$initrd" ] || [ "$OUT/workload" -nt "$initrd" ] ||
    [ "$HERE/build.sh" -nt "$initrd" ] || [ "$busybox" -nt "$initrd" ]; then
    root=$(mktemp -d "$OUT/.root.XXXXXX")
    mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/tmp" "$root/dev"
    cp "$busybox" "$root/bin/busybox"
    ln -s busybox "$root/bin/sh"
    cp "$HERE/init.sh" "$root/init"
    chmod 755 "$root/init"
    "$STRIP" -o "$root/workload" "$OUT/workload"
    # /dev/console comes from the kernel's built-in initramfs; no device nodes needed here
    (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
        gzip -9n >"$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
    rm -rf "$root"
fi
