#!/usr/bin/env bash
# scripts/platform.sh -- run every atbalsts service binary of a build in the background.
#
# Each service gets its own PostgreSQL role (ATB_PG_URL, role atb_<name>), the superuser
# URL for its migrations (ATB_PG_ADMIN_URL), its own NATS user and password (from
# deploy/nats/atbalsts-dev.conf), and its own health port on 127.0.0.1. Logs go to
# <run dir>/logs/<service>.log, pid files to <run dir>/pids/<service>.pid.
#
# Invariants: start is idempotent (a running service is left alone); the relay starts
# first, because it creates the JetStream stream the others consume; stop sends SIGTERM
# (graceful drain), waits, and only then SIGKILL.
#
# Instances: ATB_INSTANCES=N runs N processes of every service (docs/deploy.md: requests
# are spread by NATS queue groups, a consumer's instances share its durable and its
# checkpoint, one relay publishes and the others stand by). Instance 1 keeps the plain
# names (<service>.pid, <service>.log); instance k > 1 is <service>@k, on health port
# +40*(k-1).
#
# When adding a service: add it to SERVICES below (its index fixes its health port), and a
# user to deploy/nats/atbalsts-dev.conf.
set -eu -o pipefail
ATB_SCRIPT=platform.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/platform.sh start|stop|status [SERVICE[@K]]|--help

  start    start every service binary found in the build (build/services/*/atbalsts-*)
           that is not running yet, and wait for each one's /healthz
  stop     SIGTERM each running service, wait (ATB_STOP_TIMEOUT, default 20 s), then SIGKILL
  status   one line per service: pid, health port, health

Needs the servers of scripts/services.sh running (same ATB_RUN_DIR and ports).

Environment (defaults):
  ATB_BUILD_DIR          <repo>/build   where the service binaries are
  ATB_RUN_DIR            <repo>/.run    logs/<service>.log, pids/<service>.pid
  ATB_HEALTH_PORT_BASE   9100           service i of the list below listens on BASE+i
  ATB_HEALTH_TIMEOUT     60             seconds to wait for a service's /healthz
  ATB_STOP_TIMEOUT       20             seconds between SIGTERM and SIGKILL
  ATB_INSTANCES          1              processes of every service (1..9); instance k > 1
                                        is <service>@k, health port +40*(k-1)
  ATB_PLATFORM_NATS_URL  nats://127.0.0.1:ATB_NATS_PORT   what the services connect to
                                        (scripts/cluster.sh env sets the cluster's nodes)
  ATB_PG_PORT, ATB_NATS_PORT            as in scripts/services.sh

Services and health ports (BASE+i): relay 1, intake 2, means 3, allocation 4,
payments 5, reporting 6, gateway 7; any other atbalsts-<name> binary gets BASE+20+n.
start, stop and status also take one service name (start intake@2, stop means).
EOF
}

atb_check_env
SERVICES=(relay intake means allocation payments reporting gateway)
: "${ATB_HEALTH_PORT_BASE:=9100}"
: "${ATB_HEALTH_TIMEOUT:=60}"
: "${ATB_STOP_TIMEOUT:=20}"
: "${ATB_INSTANCES:=1}"
: "${ATB_PLATFORM_NATS_URL:=nats://127.0.0.1:$ATB_NATS_PORT}"
case "$ATB_INSTANCES" in
    [1-9]) ;;
    *) atb_die "ATB_INSTANCES must be 1..9, got '$ATB_INSTANCES'" ;;
esac
LOG_DIR="$ATB_RUN_DIR/logs"
PID_DIR="$ATB_RUN_DIR/pids"

# Every built service binary as "name path", known services first, in start order.
# The cli (services/cli/atbalsts) is a tool, not a service, and is not listed.
discover() {
    local name f found=()
    for name in "${SERVICES[@]}"; do
        f="$ATB_BUILD_DIR/services/$name/atbalsts-$name"
        if [ -x "$f" ] && [ -f "$f" ]; then
            printf '%s %s\n' "$name" "$f"
            found+=("$name")
        fi
    done
    for f in "$ATB_BUILD_DIR"/services/*/atbalsts-*; do
        if [ ! -x "$f" ] || [ ! -f "$f" ]; then continue; fi
        name="${f##*/atbalsts-}"
        case " ${found[*]} " in *" $name "*) continue ;; esac
        case "$name" in *[!a-z0-9_]*) continue ;; esac   # not a service binary name
        printf '%s %s\n' "$name" "$f"
        found+=("$name")
    done
}

# The health port of "<service>" or "<service>@k".
health_port() {
    local base k=1
    case "$1" in *@*) k="${1##*@}" ;; esac
    base="$(base_health_port "${1%@*}")"
    echo $((base + 40 * (k - 1)))
}

base_health_port() {
    local name="$1" i extra=20
    for i in "${!SERVICES[@]}"; do
        if [ "${SERVICES[$i]}" = "$name" ]; then
            echo $((ATB_HEALTH_PORT_BASE + i + 1))
            return
        fi
    done
    # Unknown services: stable order by name after the known ones.
    while read -r n _; do
        case " ${SERVICES[*]} " in *" $n "*) continue ;; esac
        extra=$((extra + 1))
        if [ "$n" = "$name" ]; then
            echo $((ATB_HEALTH_PORT_BASE + extra))
            return
        fi
    done < <(discover | sort)
}

# The dev password of a NATS user, read from the dev config (the one source of truth).
nats_password() {
    sed -n "s/.*{[[:space:]]*user:[[:space:]]*$1,[[:space:]]*password:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" \
        "$ATB_NATS_DEV_CONF" | head -n 1
}

svc_pid() {
    local pid
    pid="$(atb_read_pid "$PID_DIR/$1.pid")"
    if atb_pid_alive "$pid"; then
        printf '%s\n' "$pid"
    fi
}

healthy() {
    curl -fsS -m 2 "http://127.0.0.1:$1/healthz" >/dev/null 2>&1
}

require_servers() {
    pg_isready -q -h 127.0.0.1 -p "$ATB_PG_PORT" -t 2 >/dev/null 2>&1 ||
        atb_die "PostgreSQL does not answer on 127.0.0.1:$ATB_PG_PORT; run scripts/services.sh start"
    # js-enabled-only: a cluster node answers 503 to a plain /healthz while its streams
    # catch up after a node came back, yet serves clients all along.
    curl -fsS -m 2 "http://127.0.0.1:$ATB_NATS_MONITOR_PORT/healthz?js-enabled-only=true" >/dev/null 2>&1 ||
        atb_die "nats-server does not answer on monitor port $ATB_NATS_MONITOR_PORT; run scripts/services.sh start"
}

start_one() {
    local name="$1" exe="$2" port pid password i log svc="${1%@*}"
    port="$(health_port "$name")"
    log="$LOG_DIR/$name.log"
    pid="$(svc_pid "$name")"
    if [ -n "$pid" ]; then
        atb_say "$name already running (pid $pid, health port $port)"
        return 0
    fi
    if atb_port_open "$port"; then
        atb_die "health port $port of $name is taken by another program; set ATB_HEALTH_PORT_BASE"
    fi
    password="$(nats_password "$svc")"
    local nats_env=()
    if [ -n "$password" ]; then
        nats_env=(ATB_NATS_USER="$svc" ATB_NATS_PASSWORD="$password")
    else
        atb_warn "$name has no NATS user in $ATB_NATS_DEV_CONF: it connects without" \
            "credentials (as the dev admin); add a user for it"
    fi
    atb_say "starting $name (health port $port, log $log)"
    printf '\n--- %s start %s\n' "$(date -u +%FT%TZ)" "$name" >>"$log"
    env ATB_PG_URL="postgresql://atb_$svc@127.0.0.1:$ATB_PG_PORT/$ATB_DB_NAME" \
        ATB_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$ATB_PG_PORT/$ATB_DB_NAME" \
        ATB_NATS_URL="$ATB_PLATFORM_NATS_URL" \
        ATB_HTTP_PORT="$port" \
        "${nats_env[@]}" \
        setsid "$exe" </dev/null >>"$log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$PID_DIR/$name.pid"
    for i in $(seq 1 $((ATB_HEALTH_TIMEOUT * 2))); do
        if healthy "$port"; then
            atb_say "$name is healthy (pid $pid)"
            return 0
        fi
        if ! atb_pid_alive "$pid"; then
            tail -n 20 "$log" >&2 || true
            rm -f "$PID_DIR/$name.pid"
            atb_die "$name exited during start (log: $log)"
        fi
        sleep 0.5
    done
    : "$i"
    tail -n 20 "$log" >&2 || true
    atb_die "$name did not answer http://127.0.0.1:$port/healthz within ${ATB_HEALTH_TIMEOUT} s (log: $log)"
}

stop_one() {
    local name="$1" pid i
    pid="$(svc_pid "$name")"
    if [ -z "$pid" ]; then
        rm -f "$PID_DIR/$name.pid"
        return 0
    fi
    atb_say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((ATB_STOP_TIMEOUT * 2))); do
        atb_pid_alive "$pid" || break
        sleep 0.5
    done
    : "$i"
    if atb_pid_alive "$pid"; then
        atb_warn "$name did not stop within ${ATB_STOP_TIMEOUT} s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_DIR/$name.pid"
}

# "name path" for every instance of every service (instances in order within a service,
# so every relay starts before the consumers), or of the one service/instance in $1.
instances() {
    local only="${1:-}" name exe k n="$ATB_INSTANCES"
    case "$only" in *@[1-9]) [ "${only##*@}" -le "$n" ] || n="${only##*@}" ;; esac
    while read -r name exe; do
        for k in $(seq 1 "$n"); do
            local inst="$name"
            [ "$k" = 1 ] || inst="$name@$k"
            if [ -z "$only" ] || [ "$only" = "$name" ] || [ "$only" = "$inst" ]; then
                printf '%s %s\n' "$inst" "$exe"
            fi
        done
    done < <(discover)
}

cmd_start() {
    local list name exe n=0
    require_servers
    mkdir -p "$LOG_DIR" "$PID_DIR"
    list="$(instances "${1:-}")"
    if [ -z "$list" ]; then
        atb_warn "no service binaries in $ATB_BUILD_DIR/services (build first: scripts/build.sh)"
        return 0
    fi
    while read -r name exe; do
        start_one "$name" "$exe"
        n=$((n + 1))
    done <<<"$list"
    atb_say "$n service(s) running"
}

cmd_stop() {
    local f name names=()
    # Everything with a pid file, in reverse start order (consumers before the relay).
    for f in "$PID_DIR"/*.pid; do
        [ -e "$f" ] || continue
        name="${f##*/}"
        name="${name%.pid}"
        case "$name" in nats-server | nats-node*) continue ;; esac
        if [ -n "${1:-}" ] && [ "$1" != "$name" ] && [ "$1" != "${name%@*}" ]; then
            continue
        fi
        names=("$name" "${names[@]}")
    done
    local ordered=() s
    for s in "${SERVICES[@]}"; do
        for name in "${names[@]}"; do
            [ "${name%@*}" = "$s" ] && ordered=("$name" "${ordered[@]}")
        done
    done
    for name in "${names[@]}"; do
        case " ${SERVICES[*]} " in *" ${name%@*} "*) ;; *) ordered=("$name" "${ordered[@]}") ;; esac
    done
    for name in "${ordered[@]}"; do
        stop_one "$name"
    done
}

cmd_status() {
    local list name exe pid port rc=0 state
    list="$(instances "${1:-}")"
    if [ -z "$list" ]; then
        echo "no service binaries in $ATB_BUILD_DIR/services"
        return 0
    fi
    while read -r name exe; do
        port="$(health_port "$name")"
        pid="$(svc_pid "$name")"
        if [ -z "$pid" ]; then
            state=stopped
            rc=3
        elif healthy "$port"; then
            state="running (pid $pid), healthy"
        else
            state="running (pid $pid), NOT healthy"
            rc=3
        fi
        printf '%-11s %s  health http://127.0.0.1:%s/healthz  log %s\n' \
            "$name:" "$state" "$port" "$LOG_DIR/$name.log"
    done <<<"$list"
    return "$rc"
}

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    usage >&2
    exit 2
fi
case "$1" in
    -h | --help | help) usage ;;
    start) cmd_start "${2:-}" ;;
    stop) cmd_stop "${2:-}" ;;
    status) cmd_status "${2:-}" ;;
    *) usage >&2; atb_die "unknown command '$1'" ;;
esac
