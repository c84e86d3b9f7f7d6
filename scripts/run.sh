#!/usr/bin/env bash
# scripts/run.sh -- THE main job: install, build, start PostgreSQL (durable), nats-server
# and every service, run the demo workload through the public command API, print what it
# printed, prove every decision with the audit replay, stop everything this script started.
#
# Progress goes to stderr; stdout carries only the demo's own output.
set -eu -o pipefail
ATB_SCRIPT=run.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/run.sh [--help] [-- demo arguments...]

Install the Debian packages, build, start a private PostgreSQL 15 (durable: fsync on) and
nats-server, start every service binary of the build (scripts/platform.sh), run
`build/services/cli/atbalsts demo` if the CLI is built, and print its output; then
`atbalsts audit --all-tenants`, which re-derives every decision from the log. Servers and
services started here are stopped on exit unless KEEP_SERVICES=1.

Arguments after -- go to `atbalsts demo`.
Environment: KEEP_SERVICES=1, and the knobs of scripts/services.sh, scripts/build.sh and
scripts/platform.sh (ATB_RUN_DIR, ports, build directory).
EOF
}

demo_args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --) shift; demo_args=("$@"); break ;;
        *) usage >&2; atb_die "unknown argument '$1'" ;;
    esac
done

S="$ATB_ROOT/scripts"
started_services=0
started_platform=0

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local rc=$?
    if [ "${KEEP_SERVICES:-0}" = 1 ]; then
        if [ "$started_platform" = 1 ] || [ "$started_services" = 1 ]; then
            atb_say "KEEP_SERVICES=1: left running; stop with scripts/platform.sh stop &&" \
                "scripts/services.sh stop"
        fi
    else
        if [ "$started_platform" = 1 ]; then
            "$S/platform.sh" stop || true
        fi
        if [ "$started_services" = 1 ]; then
            "$S/services.sh" stop || true
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$S/deps.sh"
"$S/build.sh" >/dev/null

if ! "$S/services.sh" status >/dev/null 2>&1; then
    started_services=1
fi
# The demo's data must survive a crash like real data: never fast mode here.
ATB_PG_FAST=0 "$S/services.sh" start
eval "$("$S/services.sh" env)"

if ! "$S/platform.sh" status >/dev/null 2>&1; then
    started_platform=1
fi
"$S/platform.sh" start
"$S/platform.sh" status >&2 || true

cli="$ATB_BUILD_DIR/services/cli/atbalsts"
if [ ! -x "$cli" ]; then
    atb_warn "no demo to run: $cli is not built yet"
    atb_say "servers and services are up; logs in $ATB_RUN_DIR/logs"
    exit 0
fi

password="$(sed -n 's/.*{[[:space:]]*user:[[:space:]]*cli,[[:space:]]*password:[[:space:]]*"\([^"]*\)".*/\1/p' \
    "$ATB_NATS_DEV_CONF" | head -n 1)"
atb_say "running: atbalsts demo ${demo_args[*]}"
ATB_NATS_USER=cli ATB_NATS_PASSWORD="$password" \
    "$cli" demo "${demo_args[@]}"
# Then prove what the demo decided: every decision re-derived from the log alone, with the
# rule-set version it names (the auditor's command reads PostgreSQL, read-only).
atb_say "running: atbalsts audit --all-tenants"
echo
"$cli" audit --all-tenants --pg "$ATB_PG_ADMIN_URL"
atb_say "demo finished; logs in $ATB_RUN_DIR/logs"
