#!/usr/bin/env bash
# scripts/services.sh -- a private PostgreSQL 15 cluster and a private nats-server with
# JetStream for this checkout: start, stop, status, env, restart-pg.
#
# Invariants:
#  - both servers listen on 127.0.0.1 only, on this checkout's own ports, with data under
#    this checkout's run dir (ATB_RUN_DIR); nothing of the system's own clusters is used;
#  - start, stop and status are idempotent and safe to repeat; start recovers after a
#    kill -9 of either server (stale pid files, zombies);
#  - nothing here prints to stdout except `env` and `status`, so `eval "$(... env)"` and
#    pipes never hang on a server that kept our stdout (nats-server is started with all
#    three standard streams redirected, in its own session).
set -eu -o pipefail
ATB_SCRIPT=services.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/services.sh start|stop|status|env|restart-pg|--help

  start       start PostgreSQL 15 and nats-server (JetStream) if they are not running;
              create the database "atbalsts" if it is missing
  stop        stop both (harmless when they are not running)
  status      print the state of both; exit 0 if both run, 3 otherwise
  env         print export lines for: eval "$(scripts/services.sh env)"
  restart-pg  stop and start PostgreSQL only (e.g. to leave or enter fast mode)

Environment (defaults):
  ATB_RUN_DIR            <repo>/.run   data, logs, pid files
  ATB_PG_PORT            54329
  ATB_NATS_PORT          4229
  ATB_NATS_MONITOR_PORT  8229
  ATB_PG_FAST=1          start PostgreSQL with fsync=off synchronous_commit=off
                         full_page_writes=off: for tests only, never for benchmarks or
                         data you want to keep (a crash of the machine can corrupt it)

Layout: <run dir>/pg/{data,sock,postgresql.log} (owned by user postgres),
<run dir>/nats (JetStream store), <run dir>/logs/nats-server.log,
<run dir>/pids/nats-server.pid. When user postgres cannot reach the run dir (a parent
directory is private), the PostgreSQL files go to /var/tmp/atbalsts-<uid>-<hash> and
<run dir>/pg is a symbolic link to it.
EOF
}

# ---------------------------------------------------------------- paths and helpers

atb_check_env
NATS_STORE="$ATB_RUN_DIR/nats"
LOG_DIR="$ATB_RUN_DIR/logs"
PID_DIR="$ATB_RUN_DIR/pids"
NATS_PID="$PID_DIR/nats-server.pid"
NATS_LOG="$LOG_DIR/nats-server.log"
PG_USER=postgres
PG_BASE=""        # set by pg_paths
PG_DATA=""
PG_SOCK=""
PG_LOG=""

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a PostgreSQL server program as the user that owns the cluster. PostgreSQL refuses to
# run as root; runuser from / avoids "could not change directory" warnings.
as_pg() {
    if is_root; then
        (cd / && runuser -u "$PG_USER" -- "$@")
    else
        "$@"
    fi
}

# Where the cluster lives. Deterministic for a given run dir, so start, stop and status
# agree without any state of their own.
pg_paths() {
    local hash fallback
    mkdir -p "$ATB_RUN_DIR"
    PG_BASE="$ATB_RUN_DIR/pg"
    if is_root; then
        id -u "$PG_USER" >/dev/null 2>&1 ||
            atb_die "there is no user '$PG_USER'; install postgresql-15 first (scripts/deps.sh)"
        if ! (cd / && runuser -u "$PG_USER" -- test -x "$ATB_RUN_DIR") 2>/dev/null; then
            hash="$(printf '%s' "$ATB_RUN_DIR" | sha256sum | cut -c1-12)"
            fallback="/var/tmp/atbalsts-$(id -u)-$hash"
            if [ ! -L "$PG_BASE" ] || [ "$(readlink "$PG_BASE")" != "$fallback" ]; then
                atb_say "user $PG_USER cannot reach $ATB_RUN_DIR (a parent directory is private);" \
                    "PostgreSQL data goes to $fallback instead ($PG_BASE links to it)"
            fi
            mkdir -p "$fallback"
            if [ ! -e "$PG_BASE" ] || [ -L "$PG_BASE" ]; then
                ln -sfn "$fallback" "$PG_BASE"
            fi
            PG_BASE="$fallback"
        fi
    fi
    PG_DATA="$PG_BASE/data"
    PG_SOCK="$PG_BASE/sock"
    PG_LOG="$PG_BASE/postgresql.log"
}

pg_prepare_dirs() {
    mkdir -p "$PG_BASE" "$PG_SOCK"
    if is_root; then
        chown "$PG_USER:" "$PG_BASE" "$PG_SOCK"
        if ! (cd / && runuser -u "$PG_USER" -- test -w "$PG_BASE") 2>/dev/null; then
            atb_die "user $PG_USER cannot write $PG_BASE; make its parent directories" \
                "traversable (chmod o+x) or set ATB_RUN_DIR to a directory under /var/tmp"
        fi
    fi
}

# The postmaster's pid if it runs (a live, non-zombie process called postgres), else "".
pg_pid() {
    local pid comm
    pid="$(atb_read_pid "$PG_DATA/postmaster.pid")"
    if atb_pid_alive "$pid"; then
        comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
        if [ "$comm" = postgres ]; then
            printf '%s\n' "$pid"
        fi
    fi
}

# The port the running cluster listens on (line 4 of postmaster.pid).
pg_running_port() {
    sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null | tr -dc '0-9'
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$1" -t 2 >/dev/null 2>&1; }

pg_psql() {
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$ATB_PG_PORT" -U postgres "$@"
}

pg_setting() {
    psql -X -A -t -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "SHOW $2" 2>/dev/null || true
}

want_fast() { [ "${ATB_PG_FAST:-0}" = 1 ]; }

pg_initdb() {
    if [ -f "$PG_DATA/PG_VERSION" ]; then
        return 0
    fi
    if [ -e "$PG_DATA" ] && [ -n "$(ls -A "$PG_DATA" 2>/dev/null)" ]; then
        atb_die "$PG_DATA exists but holds no cluster (no PG_VERSION); move it away and retry"
    fi
    atb_say "initdb $PG_DATA"
    as_pg "$ATB_PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --no-locale \
        >"$PG_BASE/initdb.log" 2>&1 ||
        { cat "$PG_BASE/initdb.log" >&2; atb_die "initdb failed (log above)"; }
}

pg_start() {
    local pid port opts sockfile tries
    pg_paths
    pid="$(pg_pid)"
    if [ -n "$pid" ]; then
        port="$(pg_running_port)"
        if [ "$port" != "$ATB_PG_PORT" ]; then
            atb_die "PostgreSQL of $PG_DATA already runs on port $port, not $ATB_PG_PORT;" \
                "stop it first (scripts/services.sh stop with ATB_PG_PORT=$port)"
        fi
        if [ "$(pg_setting "$port" fsync)" = off ] && ! want_fast; then
            # Durability was asked for: never leave a cluster running without fsync.
            atb_say "PostgreSQL runs in fast mode (fsync=off); restarting it durable"
            pg_stop
            pid=""
        else
            atb_say "PostgreSQL already running (pid $pid, port $port)"
        fi
    fi
    if [ -z "$pid" ]; then
        if atb_port_open "$ATB_PG_PORT"; then
            atb_die "port $ATB_PG_PORT is taken by another program; choose another ATB_PG_PORT"
        fi
        pg_prepare_dirs
        pg_initdb
        # A postmaster.pid whose process is gone (or a zombie, or another program after a
        # reboot) would make the postmaster refuse to start: remove it. The shared memory
        # check of the postmaster still protects against a second live server.
        if [ -f "$PG_DATA/postmaster.pid" ]; then
            atb_say "removing stale $PG_DATA/postmaster.pid (pid $(atb_read_pid "$PG_DATA/postmaster.pid"))"
            rm -f "$PG_DATA/postmaster.pid"
        fi
        opts="-c listen_addresses=127.0.0.1 -p $ATB_PG_PORT -c max_connections=300"
        sockfile="$PG_SOCK/.s.PGSQL.$ATB_PG_PORT"
        if [ "${#sockfile}" -gt 107 ]; then
            atb_warn "socket path would exceed 107 bytes; PostgreSQL listens on TCP only"
            opts="$opts -c unix_socket_directories=''"
        else
            opts="$opts -k $PG_SOCK"
        fi
        if want_fast; then
            opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            atb_say "starting PostgreSQL in FAST mode (fsync=off): tests only"
        fi
        atb_say "starting PostgreSQL on 127.0.0.1:$ATB_PG_PORT (data $PG_DATA)"
        # Children of a postmaster killed with -9 may hold its shared memory for a moment;
        # the new postmaster then refuses to start. Retry a few times.
        tries=0
        # 9>&-: the server must not inherit (and so hold) the run dir lock.
        until as_pg "$ATB_PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -o "$opts" start \
            >/dev/null 2>&1 9>&-; do
            tries=$((tries + 1))
            if [ "$tries" -ge 5 ]; then
                tail -n 20 "$PG_LOG" >&2 || true
                atb_die "PostgreSQL did not start (log: $PG_LOG)"
            fi
            atb_say "PostgreSQL did not start yet; retrying in 2 s"
            rm -f "$PG_DATA/postmaster.pid.tmp"
            if [ -f "$PG_DATA/postmaster.pid" ] && [ -z "$(pg_pid)" ]; then
                rm -f "$PG_DATA/postmaster.pid"
            fi
            sleep 2
        done
    fi
    mkdir -p "$LOG_DIR"
    ln -sfn "$PG_LOG" "$LOG_DIR/postgresql.log"
    for _ in $(seq 1 60); do
        if pg_ready "$ATB_PG_PORT"; then
            break
        fi
        sleep 0.5
    done
    pg_ready "$ATB_PG_PORT" || atb_die "PostgreSQL does not accept connections (log: $PG_LOG)"
    if [ "$(pg_psql -d postgres -A -t -c "SELECT 1 FROM pg_database WHERE datname = '$ATB_DB_NAME'")" != 1 ]; then
        atb_say "creating database $ATB_DB_NAME"
        pg_psql -d postgres -c "CREATE DATABASE $ATB_DB_NAME" >/dev/null
    fi
}

pg_stop() {
    local pid i
    pg_paths
    pid="$(pg_pid)"
    if [ -z "$pid" ]; then
        atb_say "PostgreSQL not running"
        return 0
    fi
    atb_say "stopping PostgreSQL (pid $pid)"
    if ! as_pg "$ATB_PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1; then
        atb_warn "pg_ctl stop failed; sending SIGQUIT (immediate shutdown)"
        kill -QUIT "$pid" 2>/dev/null || true
        for i in $(seq 1 20); do
            atb_pid_alive "$pid" || break
            sleep 0.5
        done
        if atb_pid_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        : "$i"
    fi
}

pg_status() {
    local pid port mode
    pg_paths
    pid="$(pg_pid)"
    if [ -z "$pid" ]; then
        echo "postgresql: stopped (data $PG_DATA)"
        return 1
    fi
    port="$(pg_running_port)"
    if ! pg_ready "$port"; then
        echo "postgresql: running (pid $pid, port $port) but NOT accepting connections (log $PG_LOG)"
        return 1
    fi
    mode=durable
    if [ "$(pg_setting "$port" fsync)" = off ]; then
        mode="FAST (fsync=off)"
    fi
    echo "postgresql: running (pid $pid, 127.0.0.1:$port, $mode, data $PG_DATA, log $PG_LOG)"
    if [ "$mode" != durable ]; then
        echo "postgresql: WARNING: fast mode is for tests only; benchmarks and real data need" \
            "a durable server (scripts/services.sh restart-pg without ATB_PG_FAST)"
    fi
    if [ "$port" != "$ATB_PG_PORT" ]; then
        echo "postgresql: note: ATB_PG_PORT is $ATB_PG_PORT but the cluster listens on $port"
    fi
}

# ---------------------------------------------------------------- nats-server

nats_healthy() {
    curl -fsS -m 2 "http://127.0.0.1:$1/healthz?js-enabled-only=true" >/dev/null 2>&1
}

nats_pid() {
    local pid
    pid="$(atb_read_pid "$NATS_PID")"
    if atb_pid_alive "$pid"; then
        printf '%s\n' "$pid"
    fi
}

nats_start() {
    local pid i
    [ -x "$ATB_NATS_SERVER" ] || atb_die "$ATB_NATS_SERVER not found; run scripts/deps.sh"
    [ -r "$ATB_NATS_DEV_CONF" ] || atb_die "$ATB_NATS_DEV_CONF not found"
    pid="$(nats_pid)"
    if [ -n "$pid" ]; then
        for i in $(seq 1 20); do
            if nats_healthy "$ATB_NATS_MONITOR_PORT"; then
                atb_say "nats-server already running (pid $pid, port $ATB_NATS_PORT)"
                return 0
            fi
            sleep 0.5
        done
        atb_die "nats-server runs (pid $pid) but http://127.0.0.1:$ATB_NATS_MONITOR_PORT/healthz" \
            "does not answer; is ATB_NATS_MONITOR_PORT right? (log: $NATS_LOG)"
    fi
    rm -f "$NATS_PID"
    for port in "$ATB_NATS_PORT" "$ATB_NATS_MONITOR_PORT"; do
        if atb_port_open "$port"; then
            atb_die "port $port is taken by another program; choose other ATB_NATS_PORT/ATB_NATS_MONITOR_PORT"
        fi
    done
    mkdir -p "$NATS_STORE" "$LOG_DIR" "$PID_DIR"
    atb_say "starting nats-server on 127.0.0.1:$ATB_NATS_PORT (monitor $ATB_NATS_MONITOR_PORT, store $NATS_STORE)"
    # Own session and no inherited descriptors: a server holding our stdout would make
    # $(...) and pipes of the caller hang until it exits, one holding fd 9 the run dir lock.
    setsid "$ATB_NATS_SERVER" -c "$ATB_NATS_DEV_CONF" -js -sd "$NATS_STORE" \
        -a 127.0.0.1 -p "$ATB_NATS_PORT" -m "$ATB_NATS_MONITOR_PORT" \
        -P "$NATS_PID" -l "$NATS_LOG" </dev/null >/dev/null 2>&1 9>&- &
    pid=$!
    for i in $(seq 1 60); do
        if nats_healthy "$ATB_NATS_MONITOR_PORT"; then
            return 0
        fi
        if ! atb_pid_alive "$pid" && [ -z "$(nats_pid)" ]; then
            break
        fi
        sleep 0.5
    done
    tail -n 20 "$NATS_LOG" >&2 2>/dev/null || true
    atb_die "nats-server did not become healthy within 30 s (log: $NATS_LOG)"
}

nats_stop() {
    local pid i
    pid="$(nats_pid)"
    if [ -z "$pid" ]; then
        rm -f "$NATS_PID"
        atb_say "nats-server not running"
        return 0
    fi
    atb_say "stopping nats-server (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do
        atb_pid_alive "$pid" || break
        sleep 0.5
    done
    if atb_pid_alive "$pid"; then
        atb_warn "nats-server did not stop in 20 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    : "$i"
    rm -f "$NATS_PID"
}

nats_status() {
    local pid
    pid="$(nats_pid)"
    if [ -z "$pid" ]; then
        echo "nats-server: stopped (store $NATS_STORE)"
        return 1
    fi
    if nats_healthy "$ATB_NATS_MONITOR_PORT"; then
        echo "nats-server: running (pid $pid, nats://127.0.0.1:$ATB_NATS_PORT, monitor" \
            "http://127.0.0.1:$ATB_NATS_MONITOR_PORT, JetStream store $NATS_STORE, log $NATS_LOG)"
    else
        echo "nats-server: running (pid $pid) but NOT healthy on monitor port $ATB_NATS_MONITOR_PORT (log $NATS_LOG)"
        return 1
    fi
}

print_env() {
    cat <<EOF
export ATB_PG_HOST=127.0.0.1
export ATB_PG_PORT=$ATB_PG_PORT
export ATB_PG_SUPERUSER=postgres
export ATB_PG_ADMIN_URL=postgresql://postgres@127.0.0.1:$ATB_PG_PORT/$ATB_DB_NAME
export ATB_NATS_URL=nats://127.0.0.1:$ATB_NATS_PORT
export ATB_NATS_MONITOR=http://127.0.0.1:$ATB_NATS_MONITOR_PORT
EOF
}

# Refuse before starting anything when a port that a stopped server needs is taken, so a
# failed start does not leave the other server running.
preflight() {
    pg_paths
    if [ -z "$(pg_pid)" ] && atb_port_open "$ATB_PG_PORT"; then
        atb_die "port $ATB_PG_PORT is taken by another program; choose another ATB_PG_PORT"
    fi
    if [ -z "$(nats_pid)" ]; then
        for port in "$ATB_NATS_PORT" "$ATB_NATS_MONITOR_PORT"; do
            if atb_port_open "$port"; then
                atb_die "port $port is taken by another program; choose other" \
                    "ATB_NATS_PORT/ATB_NATS_MONITOR_PORT"
            fi
        done
    fi
}

# Serialise start/stop/restart of one run dir (two scripts starting at once).
lock_run_dir() {
    mkdir -p "$ATB_RUN_DIR"
    exec 9>"$ATB_RUN_DIR/.services.lock"
    flock -w 180 9 || atb_die "another scripts/services.sh holds $ATB_RUN_DIR/.services.lock"
}

# ---------------------------------------------------------------- main

if [ "$#" -ne 1 ]; then
    usage >&2
    exit 2
fi
case "$1" in
    -h | --help | help) usage ;;
    start)
        lock_run_dir
        preflight
        pg_start
        nats_start
        atb_say "services are up; eval \"\$(scripts/services.sh env)\" to use them"
        ;;
    stop)
        lock_run_dir
        nats_stop
        pg_stop
        ;;
    restart-pg)
        lock_run_dir
        pg_stop
        pg_start
        ;;
    status)
        rc=0
        pg_status || rc=3
        nats_status || rc=3
        exit "$rc"
        ;;
    env) print_env ;;
    *)
        usage >&2
        atb_die "unknown command '$1'"
        ;;
esac
