#!/usr/bin/env bash
# scripts/build.sh -- configure (cmake) and build one tree of atbalsts.
#
# Three trees, each in its own directory so switching between them never rebuilds another:
#   normal   ATB_BUILD_DIR          (<repo>/build)          RelWithDebInfo
#   --asan   ATB_ASAN_BUILD_DIR     (<repo>/build-asan)     RelWithDebInfo, ASan + UBSan
#   --release ATB_RELEASE_BUILD_DIR (<repo>/build-release)  Release (benchmarks)
set -eu -o pipefail
ATB_SCRIPT=build.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/build.sh [--asan] [--release] [--target T]... [--help]

Configure with cmake and build with make -j$(nproc) (or ATB_JOBS).

  --asan       build the sanitizer tree (ASan + UBSan, -DATB_SANITIZE=ON) in
               ATB_ASAN_BUILD_DIR (default <repo>/build-asan)
  --release    build a Release tree in ATB_RELEASE_BUILD_DIR (default <repo>/build-release)
  --target T   build only target T (repeatable); default: all
  --help       this text

Without options: the normal tree in ATB_BUILD_DIR (default <repo>/build). Prints the
build directory on stdout when done.
EOF
}

asan=0
release=0
targets=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --asan) asan=1 ;;
        --release) release=1 ;;
        --target)
            [ "$#" -ge 2 ] || atb_die "--target needs a target name"
            targets+=(--target "$2")
            shift
            ;;
        *) usage >&2; atb_die "unknown argument '$1'" ;;
    esac
    shift
done
if [ "$asan" = 1 ] && [ "$release" = 1 ]; then
    atb_die "--asan and --release are separate trees; build them one at a time"
fi

: "${ATB_RELEASE_BUILD_DIR:=$ATB_ROOT/build-release}"
cmake_args=()
if [ "$asan" = 1 ]; then
    dir="$ATB_ASAN_BUILD_DIR"
    cmake_args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DATB_SANITIZE=ON)
elif [ "$release" = 1 ]; then
    dir="$ATB_RELEASE_BUILD_DIR"
    cmake_args+=(-DCMAKE_BUILD_TYPE=Release -DATB_SANITIZE=OFF)
else
    dir="$ATB_BUILD_DIR"
    cmake_args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DATB_SANITIZE=OFF)
fi
jobs="${ATB_JOBS:-$(atb_nproc)}"

command -v cmake >/dev/null 2>&1 || atb_die "cmake not found; run scripts/deps.sh"

atb_say "configuring $dir"
cmake -S "$ATB_ROOT" -B "$dir" "${cmake_args[@]}" >&2
atb_say "building $dir (-j$jobs${targets[*]:+ ${targets[*]}})"
cmake --build "$dir" -j "$jobs" "${targets[@]}" >&2
printf '%s\n' "$dir"
