#!/usr/bin/env bash
# scripts/deps.sh -- install every Debian package atbalsts needs, from Debian only.
#
# Idempotent: when everything is installed already, apt is not touched at all (no network,
# no lock). Otherwise it runs apt-get update and one apt-get install. Needs root (or sudo)
# only when something is missing.
#
# When adding a dependency: add its Debian package to PACKAGES below, and say why in a
# comment if the reason is not obvious.
set -eu -o pipefail
ATB_SCRIPT=deps.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/deps.sh [--check] [--help]

Install the Debian 12 packages atbalsts needs to build, test and run (apt-get, no
recommends, non-interactive). Skips apt entirely when all of them are installed.

  --check   only report what is missing; exit 1 if anything is
  --help    this text

Before postgresql-15 is installed, writes create_main_cluster = false to
/etc/postgresql-common/createcluster.d/ so that Debian does not create (and try to start)
its own "main" cluster on port 5432: atbalsts runs its own (scripts/services.sh).
EOF
}

PACKAGES=(
    build-essential cmake pkg-config
    curl ca-certificates           # readiness probes of nats-server (healthz)
    libnats-dev nats-server
    protobuf-c-compiler libprotobuf-c-dev
    libuv1-dev                     # libnats-dev does not pull it, its libuv adapter needs it
    postgresql-15 postgresql-client-15 libpq-dev libssl-dev
    libcmocka-dev
    libjansson-dev libyaml-dev libxml2-dev libxml2-utils
    valgrind
    procps                         # pgrep/ps for the scripts
    libh2o-dev libargon2-dev       # the web gateway: HTTP on libuv, password hashes
    wrk                            # bench_gateway
    chromium nodejs                # the gateway's browser test (playwright-core from npm)
    libpng-dev                     # tests/reporting/html checks its screenshot
)
# npm from Debian, unless the installed nodejs carries its own (NodeSource's does, and
# Debian's npm would conflict with it)
if ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(npm)
fi

check_only=0
for arg in "$@"; do
    case "$arg" in
        -h | --help) usage; exit 0 ;;
        --check) check_only=1 ;;
        *) usage >&2; atb_die "unknown argument '$arg'" ;;
    esac
done

missing=()
for p in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    if [ "$status" != "install ok installed" ]; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    atb_say "all ${#PACKAGES[@]} packages are installed"
    exit 0
fi
if [ "$check_only" = 1 ]; then
    atb_say "missing: ${missing[*]}"
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        atb_die "missing packages (${missing[*]}) and not root; run this script as root"
    fi
fi

atb_say "installing: ${missing[*]}"

# Stop the postgresql-15 postinst from creating the "main" cluster. Written before the
# install, and only if no file there says otherwise already.
conf_dir=/etc/postgresql-common/createcluster.d
if ! grep -qs '^[[:space:]]*create_main_cluster' "$conf_dir"/*.conf; then
    "${SUDO[@]}" mkdir -p "$conf_dir"
    printf '# atbalsts runs its own clusters (scripts/services.sh)\ncreate_main_cluster = false\n' |
        "${SUDO[@]}" tee "$conf_dir/atbalsts.conf" >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2

still=()
for p in "${missing[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    if [ "$status" != "install ok installed" ]; then
        still+=("$p")
    fi
done
if [ "${#still[@]}" -ne 0 ]; then
    atb_die "still not installed after apt-get: ${still[*]}"
fi
atb_say "installed ${#missing[@]} package(s)"
