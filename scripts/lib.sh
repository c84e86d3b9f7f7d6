# shellcheck shell=bash
# scripts/lib.sh -- what the scripts in this folder share; sourced, never run.
#
# Sets ATB_ROOT (the repository, found from this file's location, so the scripts work from
# any current directory) and the environment knobs with their defaults. Every path the
# scripts use is derived from these, so two checkouts (or a test of the scripts) can run
# side by side with different ATB_RUN_DIR and ports.

ATB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export ATB_ROOT

: "${ATB_RUN_DIR:=$ATB_ROOT/.run}"
: "${ATB_PG_PORT:=54329}"
: "${ATB_NATS_PORT:=4229}"
: "${ATB_NATS_MONITOR_PORT:=8229}"
: "${ATB_BUILD_DIR:=$ATB_ROOT/build}"
: "${ATB_ASAN_BUILD_DIR:=$ATB_ROOT/build-asan}"
export ATB_RUN_DIR ATB_PG_PORT ATB_NATS_PORT ATB_NATS_MONITOR_PORT ATB_BUILD_DIR ATB_ASAN_BUILD_DIR

# Used by the scripts that source this file.
# shellcheck disable=SC2034
{
ATB_PG_BIN=/usr/lib/postgresql/15/bin
ATB_NATS_SERVER=/usr/sbin/nats-server
ATB_NATS_DEV_CONF="$ATB_ROOT/deploy/nats/atbalsts-dev.conf"
ATB_DB_NAME=atbalsts
}

# Progress and errors go to stderr, so that `eval "$(scripts/services.sh env)"` and pipes
# see only what a script means to print on stdout.
atb_say() { printf '%s: %s\n' "${ATB_SCRIPT:-atbalsts}" "$*" >&2; }
atb_warn() { printf '%s: warning: %s\n' "${ATB_SCRIPT:-atbalsts}" "$*" >&2; }
atb_die() { printf '%s: error: %s\n' "${ATB_SCRIPT:-atbalsts}" "$*" >&2; exit 1; }

# True if the process exists and is not a zombie. A killed server can linger as a zombie
# until PID 1 reaps it, and kill -0 succeeds on a zombie.
atb_pid_alive() {
    local pid="$1" state
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
    if [ "$state" = Z ] || [ -z "$state" ]; then
        return 1
    fi
    return 0
}

# The first line of a pid file, or nothing.
atb_read_pid() {
    if [ -r "$1" ]; then
        head -n 1 "$1" 2>/dev/null | tr -dc '0-9'
    fi
}

# True if something accepts TCP connections on 127.0.0.1:$1.
atb_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

atb_check_port() {
    case "$2" in
        '' | *[!0-9]*) atb_die "$1 must be a port number, got '$2'" ;;
    esac
    if [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
        atb_die "$1 must be a port number between 1 and 65535, got '$2'"
    fi
}

atb_check_env() {
    atb_check_port ATB_PG_PORT "$ATB_PG_PORT"
    atb_check_port ATB_NATS_PORT "$ATB_NATS_PORT"
    atb_check_port ATB_NATS_MONITOR_PORT "$ATB_NATS_MONITOR_PORT"
    case "$ATB_RUN_DIR" in
        /*) ;;
        *) ATB_RUN_DIR="$(pwd -P)/$ATB_RUN_DIR" ;;
    esac
    # pg_ctl -o is split by a shell: a path with white space cannot be passed safely.
    case "$ATB_RUN_DIR" in
        *[[:space:]]*) atb_die "ATB_RUN_DIR must not contain white space: '$ATB_RUN_DIR'" ;;
    esac
}

atb_nproc() { nproc 2>/dev/null || echo 2; }
