#!/usr/bin/env bash
# tests/guests/build.sh: build the hand-written guest programs.
#
#   tests/guests/build.sh [OUTDIR [ARCH...]]
#
# Builds every tests/guests/<arch>/<name>.S into OUTDIR/<arch>/<name> (OUTDIR defaults to
# build/guests, relative to the current directory; ARCH defaults to all three). A program is
# rebuilt only when its source or this script is newer than the binary.
# Compilers can be overridden with CC_x86_64, CC_aarch64, CC_riscv64.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-build/guests}
shift || true
ARCHES=("$@")
if [ ${#ARCHES[@]} -eq 0 ]; then
    ARCHES=(x86_64 aarch64 riscv64)
fi

# Static, no libc, no build-id note, not position-independent (the jump tables hold absolute
# addresses).
CFLAGS=(-nostdlib -static -no-pie -Wl,--build-id=none)

compiler_for() {
    case "$1" in
        x86_64) echo "${CC_x86_64:-gcc}" ;;
        aarch64) echo "${CC_aarch64:-aarch64-linux-gnu-gcc}" ;;
        riscv64) echo "${CC_riscv64:-riscv64-linux-gnu-gcc}" ;;
        *) echo "build.sh: unknown architecture '$1'" >&2; return 1 ;;
    esac
}

status=0
for arch in "${ARCHES[@]}"; do
    cc=$(compiler_for "$arch")
    if ! command -v "$cc" >/dev/null 2>&1; then
        echo "build.sh: $cc not found (needed for $arch)" >&2
        status=1
        continue
    fi
    mkdir -p "$OUT/$arch"
    for src in "$HERE/$arch"/*.S; do
        [ -e "$src" ] || continue
        name=$(basename "$src" .S)
        bin="$OUT/$arch/$name"
        if [ -e "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$HERE/build.sh" ]; then
            continue
        fi
        if "$cc" "${CFLAGS[@]}" -o "$bin.tmp" "$src"; then
            mv -f "$bin.tmp" "$bin"
        else
            rm -f "$bin.tmp"
            echo "build.sh: failed to build $src" >&2
            status=1
        fi
    done
done
exit $status
