#!/usr/bin/env bash
# scripts/cluster.sh -- a 3-node nats-server cluster with JetStream on loopback ports, for
# running the platform (and scripts/faults.sh) against replicated streams on one machine.
#
# Invariants: node N (1..3) listens on 127.0.0.1 only, on BASE+N for clients, ROUTE_BASE+N
# for routes and MONITOR_BASE+N for monitoring, with its JetStream store under
# <run dir>/nats-cluster/nN; start and stop are idempotent; start returns once every
# running node is healthy and the JetStream meta group has a leader (streams can be
# created); kill-node is a kill -9 and start-node brings that node back with its store.
set -eu -o pipefail
ATB_SCRIPT=cluster.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/cluster.sh start|stop|status|env|start-node N|stop-node N|kill-node N|--help

  start         start the nodes that are not running, wait until the cluster has a
                JetStream meta leader
  stop          SIGTERM every node (then SIGKILL after 20 s)
  status        one line per node; exit 0 if all three run and are healthy, 3 otherwise
  env           export lines for the services: ATB_NATS_URL (all three nodes),
                ATB_NATS_MONITOR_PORT (node 1) and ATB_STREAM_REPLICAS=3
  start-node N  start node N (1..3) alone, with its store
  stop-node N   SIGTERM node N
  kill-node N   kill -9 node N (fault injection)

Environment (defaults):
  ATB_RUN_DIR                  <repo>/.run   store nats-cluster/nN, logs, pid files
  ATB_NATS_CLUSTER_BASE        4720          node N's client port is BASE+N
  ATB_NATS_ROUTE_BASE          6720          node N's route port is ROUTE_BASE+N
  ATB_NATS_CLUSTER_MONITOR_BASE 8720         node N's monitor port is MONITOR_BASE+N

The nodes use deploy/nats/atbalsts-cluster-dev.conf (the dev users and permissions).
EOF
}

: "${ATB_NATS_CLUSTER_BASE:=4720}"
: "${ATB_NATS_ROUTE_BASE:=6720}"
: "${ATB_NATS_CLUSTER_MONITOR_BASE:=8720}"
for v in ATB_NATS_CLUSTER_BASE ATB_NATS_ROUTE_BASE ATB_NATS_CLUSTER_MONITOR_BASE; do
    atb_check_port "$v" "$((${!v} + 3))"
done
atb_check_env
CONF="$ATB_ROOT/deploy/nats/atbalsts-cluster-dev.conf"
STORE="$ATB_RUN_DIR/nats-cluster"
LOG_DIR="$ATB_RUN_DIR/logs"
PID_DIR="$ATB_RUN_DIR/pids"
NODES=(1 2 3)

client_port() { echo $((ATB_NATS_CLUSTER_BASE + $1)); }
route_port() { echo $((ATB_NATS_ROUTE_BASE + $1)); }
monitor_port() { echo $((ATB_NATS_CLUSTER_MONITOR_BASE + $1)); }
pid_file() { echo "$PID_DIR/nats-node$1.pid"; }
log_file() { echo "$LOG_DIR/nats-node$1.log"; }

node_pid() {
    local pid
    pid="$(atb_read_pid "$(pid_file "$1")")"
    if atb_pid_alive "$pid"; then
        printf '%s\n' "$pid"
    fi
}

node_healthy() {
    curl -fsS -m 2 "http://127.0.0.1:$(monitor_port "$1")/healthz?js-enabled-only=true" >/dev/null 2>&1
}

# True when node $1 knows a JetStream meta leader (the cluster can create streams).
has_meta_leader() {
    curl -fsS -m 2 "http://127.0.0.1:$(monitor_port "$1")/jsz" 2>/dev/null |
        grep -q '"leader": *"[^"]'
}

check_node() {
    case "${1:-}" in
        1 | 2 | 3) ;;
        *) atb_die "a node is 1, 2 or 3, not '${1:-}'" ;;
    esac
}

start_node() {
    local n="$1" pid routes="" m i
    [ -x "$ATB_NATS_SERVER" ] || atb_die "$ATB_NATS_SERVER not found; run scripts/deps.sh"
    pid="$(node_pid "$n")"
    if [ -n "$pid" ]; then
        return 0
    fi
    for port in "$(client_port "$n")" "$(route_port "$n")" "$(monitor_port "$n")"; do
        if atb_port_open "$port"; then
            atb_die "port $port of node $n is taken by another program; choose other ATB_NATS_*_BASE"
        fi
    done
    for m in "${NODES[@]}"; do
        routes="${routes:+$routes,}nats://127.0.0.1:$(route_port "$m")"
    done
    mkdir -p "$STORE/n$n" "$LOG_DIR" "$PID_DIR"
    rm -f "$(pid_file "$n")"
    atb_say "starting node $n on 127.0.0.1:$(client_port "$n") (routes $(route_port "$n"), monitor $(monitor_port "$n"))"
    # setsid and no inherited descriptors (see scripts/services.sh).
    setsid "$ATB_NATS_SERVER" -c "$CONF" -js -sd "$STORE/n$n" -n "atb-n$n" \
        -a 127.0.0.1 -p "$(client_port "$n")" -m "$(monitor_port "$n")" \
        --cluster "nats://127.0.0.1:$(route_port "$n")" --cluster_name atbalsts --routes "$routes" \
        -P "$(pid_file "$n")" -l "$(log_file "$n")" </dev/null >/dev/null 2>&1 9>&- &
    for i in $(seq 1 60); do
        if node_healthy "$n"; then
            return 0
        fi
        sleep 0.5
    done
    : "$i"
    tail -n 20 "$(log_file "$n")" >&2 2>/dev/null || true
    atb_die "node $n did not become healthy within 30 s (log: $(log_file "$n"))"
}

signal_node() {
    local n="$1" sig="$2" pid i
    pid="$(node_pid "$n")"
    if [ -z "$pid" ]; then
        rm -f "$(pid_file "$n")"
        return 0
    fi
    atb_say "node $n (pid $pid): SIG$sig"
    kill "-$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do
        atb_pid_alive "$pid" || break
        sleep 0.5
    done
    : "$i"
    if atb_pid_alive "$pid"; then
        atb_warn "node $n did not stop in 20 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pid_file "$n")"
}

wait_meta_leader() {
    local i n
    for i in $(seq 1 120); do
        for n in "${NODES[@]}"; do
            if [ -n "$(node_pid "$n")" ] && has_meta_leader "$n"; then
                return 0
            fi
        done
        sleep 0.5
    done
    : "$i"
    atb_die "the cluster elected no JetStream meta leader within 60 s (logs: $LOG_DIR/nats-node*.log)"
}

cmd_start() {
    local n
    # All three first: a node alone waits for its routes before JetStream is ready.
    for n in "${NODES[@]}"; do
        start_node "$n" &
    done
    wait
    for n in "${NODES[@]}"; do
        [ -n "$(node_pid "$n")" ] || atb_die "node $n did not start (log: $(log_file "$n"))"
    done
    wait_meta_leader
    atb_say "cluster is up; eval \"\$(scripts/cluster.sh env)\" to use it"
}

cmd_status() {
    local n pid rc=0
    for n in "${NODES[@]}"; do
        pid="$(node_pid "$n")"
        if [ -z "$pid" ]; then
            echo "node $n: stopped (nats://127.0.0.1:$(client_port "$n"))"
            rc=3
        elif node_healthy "$n"; then
            echo "node $n: running (pid $pid, nats://127.0.0.1:$(client_port "$n"), monitor" \
                "http://127.0.0.1:$(monitor_port "$n"), log $(log_file "$n"))"
        else
            echo "node $n: running (pid $pid) but NOT healthy"
            rc=3
        fi
    done
    return "$rc"
}

cmd_env() {
    local n urls=""
    for n in "${NODES[@]}"; do
        urls="${urls:+$urls,}nats://127.0.0.1:$(client_port "$n")"
    done
    cat <<EOF
export ATB_NATS_URL=$urls
export ATB_NATS_MONITOR_PORT=$(monitor_port 1)
export ATB_STREAM_REPLICAS=3
EOF
}

case "${1:-}" in
    -h | --help | help) usage ;;
    start) cmd_start ;;
    stop) for n in "${NODES[@]}"; do signal_node "$n" TERM & done; wait ;;
    status) cmd_status ;;
    env) cmd_env ;;
    start-node) check_node "${2:-}"; start_node "$2" ;;
    stop-node) check_node "${2:-}"; signal_node "$2" TERM ;;
    kill-node) check_node "${2:-}"; signal_node "$2" KILL ;;
    *) usage >&2; exit 2 ;;
esac
