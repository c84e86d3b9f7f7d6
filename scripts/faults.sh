#!/usr/bin/env bash
# scripts/faults.sh -- fault injection: run a workload once cleanly (one instance of every
# service, one nats-server) and once under faults (two instances of every service on a
# 3-node JetStream cluster with replicated streams) and prove that the faults changed
# nothing.
#
# The faults, while the workload runs: kill -9 of each service in turn (and its restart),
# a restart of PostgreSQL, a kill -9 of one NATS node (and its restart), a consumer
# stalled with SIGSTOP for a while (then SIGCONT).
#
# What is proved afterwards (each failure is named, the script exits 1):
#   - no event lost: log positions are 1..head without a hole, and the JetStream stream
#     holds exactly 1..head (first sequence 1, last sequence and message count = head);
#   - no decision made twice: one ApplicationDecided per application;
#   - no order paid twice: one paid order per grant and month;
#   - every result equal to the clean run of the same workload: events per type, the
#     payment orders, the social-assistance report (docs/reporting.md);
#   - the audit replay (atbalsts audit) re-derives every decision without a mismatch.
#
# Invariants of the script: it starts its OWN PostgreSQL, nats-server and NATS cluster
# (ports from ATB_FAULTS_PORT_BASE), never the development or shared servers, and an EXIT
# trap stops everything it started (a stalled process is continued first) and removes its
# run directory.
set -eu -o pipefail

usage() {
    cat <<'EOF'
Usage: scripts/faults.sh [--long] [--no-faults] [--keep] [--help]

  (default)    the short run: a small workload, every fault once (a few minutes)
  --long       a larger workload and the faults in rounds until it ends (ATB_FAULTS_LONG=1)
  --no-faults  scale-out only: the second run has two instances of every service on the
               3-node cluster, but nothing is killed (results must still be identical)
  --keep       keep the run directory (logs, databases) and print where it is

Environment (defaults):
  ATB_BUILD_DIR            <repo>/build   the built services and the cli
  ATB_FAULTS_PORT_BASE     27100          PostgreSQL BASE, nats-server BASE+1 (monitor
                                          BASE+2), cluster nodes BASE+11..13 (routes
                                          BASE+21..23, monitors BASE+31..33), service
                                          health ports from BASE+100
  ATB_FAULTS_PG_PORT, ATB_FAULTS_NATS_PORT, ATB_FAULTS_NATS_MONITOR_PORT,
  ATB_FAULTS_CLUSTER_BASE, ATB_FAULTS_ROUTE_BASE, ATB_FAULTS_CLUSTER_MONITOR_BASE,
  ATB_FAULTS_HEALTH_BASE   each port on its own, overriding the base
  ATB_FAULTS_RUN_DIR       a new temporary directory
  ATB_FAULTS_SEED          7              the workload's seed
  ATB_FAULTS_SCALE         50 (long: 300)     percent of the tervete preset (generate)
  ATB_FAULTS_PERSONS       400 (long: 1500)   residents of the demo workload

The workload is `atbalsts generate --preset tervete` when the cli has it (commands carry
ids derived from the seed, so a run interrupted by a fault is simply run again), else
`atbalsts demo` (fresh command ids: a request lost to a fault is not sent again, so the
comparison with the clean run is made on what both runs completed; see docs/deploy.md).
EOF
}

long=${ATB_FAULTS_LONG:-0}
faults=1
keep=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --long) long=1 ;;
        --no-faults) faults=0 ;;
        --keep) keep=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; echo "faults.sh: error: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done

# Our own servers: set every port before lib.sh (which would default to the development
# ones), and export them for the scripts we call.
base=${ATB_FAULTS_PORT_BASE:-27100}
export ATB_PG_PORT=${ATB_FAULTS_PG_PORT:-$base}
export ATB_NATS_PORT=${ATB_FAULTS_NATS_PORT:-$((base + 1))}
export ATB_NATS_MONITOR_PORT=${ATB_FAULTS_NATS_MONITOR_PORT:-$((base + 2))}
export ATB_NATS_CLUSTER_BASE=${ATB_FAULTS_CLUSTER_BASE:-$((base + 10))}
export ATB_NATS_ROUTE_BASE=${ATB_FAULTS_ROUTE_BASE:-$((base + 20))}
export ATB_NATS_CLUSTER_MONITOR_BASE=${ATB_FAULTS_CLUSTER_MONITOR_BASE:-$((base + 30))}
export ATB_HEALTH_PORT_BASE=${ATB_FAULTS_HEALTH_BASE:-$((base + 100))}
own_run_dir=0
if [ -z "${ATB_FAULTS_RUN_DIR:-}" ]; then
    ATB_FAULTS_RUN_DIR="$(mktemp -d -t atbalsts-faults.XXXXXX)"
    # PostgreSQL runs as user postgres: let it reach its files here (else services.sh
    # puts them elsewhere, out of our clean-up's reach).
    chmod 755 "$ATB_FAULTS_RUN_DIR"
    own_run_dir=1
fi
export ATB_RUN_DIR="$ATB_FAULTS_RUN_DIR"
export ATB_PG_FAST=1          # a restart of PostgreSQL, not of the machine: fsync is moot
export ATB_STOP_TIMEOUT=10
export ATB_HEALTH_TIMEOUT=60
unset ATB_PLATFORM_NATS_URL ATB_STREAM_REPLICAS ATB_INSTANCES
ATB_SCRIPT=faults.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
atb_check_env

S="$ATB_ROOT/scripts"
CLI="$ATB_BUILD_DIR/services/cli/atbalsts"
ADMIN="postgresql://postgres@127.0.0.1:$ATB_PG_PORT/$ATB_DB_NAME"
SEED=${ATB_FAULTS_SEED:-7}
if [ "$long" = 1 ]; then PERSONS=${ATB_FAULTS_PERSONS:-1500}; else PERSONS=${ATB_FAULTS_PERSONS:-400}; fi
if [ "$long" = 1 ]; then SCALE=${ATB_FAULTS_SCALE:-300}; else SCALE=${ATB_FAULTS_SCALE:-50}; fi
CLUSTER_URL="nats://127.0.0.1:$((ATB_NATS_CLUSTER_BASE + 1)),nats://127.0.0.1:$((ATB_NATS_CLUSTER_BASE + 2)),nats://127.0.0.1:$((ATB_NATS_CLUSTER_BASE + 3))"
SINGLE_URL="nats://127.0.0.1:$ATB_NATS_PORT"
OUT="$ATB_RUN_DIR/results"
failures=0
stalled=""

[ -x "$CLI" ] || atb_die "$CLI is not built (ATB_BUILD_DIR=$ATB_BUILD_DIR)"
[ -x "$ATB_BUILD_DIR/services/relay/atbalsts-relay" ] || atb_die "the services are not built in $ATB_BUILD_DIR"

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local rc=$?
    set +e
    if [ -n "$stalled" ]; then kill -CONT "$stalled" 2>/dev/null; fi
    # A failed run removes its run dir below: show what its logs said first, so a failure
    # on a machine we cannot reach (CI) still says why.
    if [ "$rc" != 0 ] && [ "$keep" != 1 ]; then
        local f
        for f in "$OUT/platform.txt" "$ATB_RUN_DIR"/logs/*.log; do
            [ -s "$f" ] || continue
            echo "---- last lines of ${f#"$ATB_RUN_DIR"/}" >&2
            tail -n 15 "$f" >&2
        done
    fi
    ATB_INSTANCES=2 "$S/platform.sh" stop >/dev/null 2>&1
    "$S/cluster.sh" stop >/dev/null 2>&1
    "$S/services.sh" stop >/dev/null 2>&1
    if [ "$keep" = 1 ]; then
        atb_say "kept $ATB_RUN_DIR (logs in logs/, results in results/)"
    elif [ "$own_run_dir" = 1 ]; then
        rm -rf "$ATB_RUN_DIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { atb_warn "FAILED: $*"; failures=$((failures + 1)); }
sql() { psql -X -q -At -h 127.0.0.1 -p "$ATB_PG_PORT" -U postgres -d "$ATB_DB_NAME" -c "$1"; }

has_generate() { "$CLI" generate --help >/dev/null 2>&1; }

# Run the workload once against $1 (NATS URL); its output goes to $2. Returns its status.
workload_once() {
    local url="$1" out="$2"
    if has_generate; then
        ATB_NATS_USER=cli ATB_NATS_PASSWORD=atb-dev-cli \
            "$CLI" --nats "$url" generate --preset tervete --scale "$SCALE" --seed "$SEED" \
            --wait 180 >>"$out" 2>&1
    else
        ATB_NATS_USER=cli ATB_NATS_PASSWORD=atb-dev-cli \
            "$CLI" --nats "$url" demo --persons "$PERSONS" --seed "$SEED" >>"$out" 2>&1
    fi
}

# The workload to its end: an idempotent workload (generate) is run again after a run a
# fault interrupted; the demo runs once.
workload() {
    local url="$1" out="$2" try rc=0
    for try in 1 2 3 4; do
        rc=0
        workload_once "$url" "$out" || rc=$?
        if [ "$rc" = 0 ] || ! has_generate; then
            return "$rc"
        fi
        printf '\n--- run %d ended with status %d; running the seed again\n' "$try" "$rc" >>"$out"
    done
    return "$rc"
}

# Wait until the platform is idle: the log head, every checkpoint and the stream's last
# sequence unchanged for 5 s, and the stream holding the head.
quiesce() {
    local url_port="$1" prev="" now stable=0 i
    for i in $(seq 1 240); do
        now="$(sql "SELECT (SELECT coalesce(max(position), 0) FROM atb.events) || '/' ||
                           (SELECT coalesce(string_agg(consumer || '=' || position, ',' ORDER BY consumer), '')
                              FROM atb.checkpoints)")/$(stream_field "$url_port" last_seq)"
        if [ "$now" = "$prev" ]; then
            stable=$((stable + 1))
            if [ "$stable" -ge 5 ]; then return 0; fi
        else
            stable=0
            prev="$now"
        fi
        sleep 1
    done
    : "$i"
    fail "the platform did not become idle within 4 minutes (last state $now)"
}

# One number from the JetStream stream's info, asked of the server on port $1.
stream_field() {
    ATB_NATS_PORT="$1" "$S/jetstream.sh" info ATB_EVENTS 2>/dev/null |
        grep -o "\"$2\": *[0-9]*" | head -n 1 | grep -o '[0-9]*$' || echo 0
}

# What must be equal between the clean and the faulted run, one line per item.
fingerprint() {
    local f="$1"
    {
        echo "events by type:"
        sql "SELECT category || ' ' || type || ' ' || count(*) FROM atb.events GROUP BY category, type ORDER BY 1"
        # Without person keys: the demo derives them from fresh command ids.
        echo "payment orders (benefit, amount, due, status, paid on):"
        sql "SELECT benefit || ' ' || amount_cents || ' ' || due || ' ' || status || ' ' ||
                    coalesce(paid_on::text, '-') || ' x' || count(*) FROM payments.orders
              GROUP BY benefit, amount_cents, due, status, paid_on ORDER BY 1"
        echo "social-assistance report 2020:"
        ATB_NATS_USER=cli ATB_NATS_PASSWORD=atb-dev-cli "$CLI" --nats "$2" report assistance \
            --from 2020-01-01 --to 2020-12-31 --csv 2>&1 || echo "(report failed)"
    } >"$f"
}

# The invariants that hold whatever happened.
check_invariants() {
    local url_port="$1" head n gaps msgs first last twice paid_twice audit_rc=0
    head="$(sql "SELECT coalesce(max(position), 0) FROM atb.events")"
    n="$(sql "SELECT count(*) FROM atb.events")"
    gaps="$(sql "SELECT count(*) FROM (SELECT position - lag(position) OVER (ORDER BY position) AS d FROM atb.events) x WHERE d <> 1")"
    if [ "$n" != "$head" ] || [ "$gaps" != 0 ]; then
        fail "log positions are not 1..$head without holes ($n events, $gaps holes)"
    fi
    msgs="$(stream_field "$url_port" messages)"
    first="$(stream_field "$url_port" first_seq)"
    last="$(stream_field "$url_port" last_seq)"
    if [ "$msgs" != "$head" ] || [ "$last" != "$head" ] || [ "$first" != 1 ]; then
        fail "the stream is not the log: $msgs messages, sequences $first..$last, log head $head"
    fi
    twice="$(sql "SELECT count(*) - count(DISTINCT stream_id) FROM atb.events WHERE type = 'ApplicationDecided'")"
    [ "$twice" = 0 ] || fail "$twice applications were decided more than once"
    paid_twice="$(sql "SELECT count(*) FROM (SELECT grant_key, slot_from FROM payments.orders WHERE status = 'paid'
                        GROUP BY 1, 2 HAVING count(*) > 1) x")"
    [ "$paid_twice" = 0 ] || fail "$paid_twice grant months were paid more than once"
    "$CLI" audit --all-tenants --pg "$ADMIN" >"$OUT/audit-$2.txt" 2>&1 || audit_rc=$?
    [ "$audit_rc" = 0 ] || fail "the audit replay found mismatches (exit $audit_rc, $OUT/audit-$2.txt)"
    atb_say "$2: log 1..$head gapless, stream $first..$last ($msgs messages), decided twice $twice," \
        "paid twice $paid_twice, audit exit $audit_rc"
}

# Forget everything of the clean run: the database and the stream (with its consumers).
reset_state() {
    psql -X -q -h 127.0.0.1 -p "$ATB_PG_PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $ATB_DB_NAME WITH (FORCE)" -c "CREATE DATABASE $ATB_DB_NAME" >/dev/null
    local port
    for port in "$ATB_NATS_PORT" $((ATB_NATS_CLUSTER_BASE + 1)); do
        ATB_YES=1 ATB_NATS_PORT="$port" "$S/jetstream.sh" delete ATB_EVENTS >/dev/null 2>&1 || true
    done
}

pid_of() { atb_read_pid "$ATB_RUN_DIR/pids/$1.pid"; }

# kill -9 one instance of a service and start it again.
kill_service() {
    local inst="$1" pid
    pid="$(pid_of "$inst")"
    if [ -z "$pid" ] || ! atb_pid_alive "$pid"; then return 0; fi
    atb_say "fault: kill -9 $inst (pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
    "$S/platform.sh" start "$inst" >>"$OUT/platform.txt" 2>&1 || fail "$inst did not start again after kill -9"
}

# The relay instance that publishes now (its /metrics say atb_relay_leader 1).
publishing_relay() {
    if curl -fsS -m 2 "http://127.0.0.1:$((ATB_HEALTH_PORT_BASE + 41))/metrics" 2>/dev/null |
        grep -q '^atb_relay_leader.* 1$'; then
        echo relay@2
    else
        echo relay
    fi
}

# Go on with the faults? The short run injects each once, even when the workload ended
# before (then they hit an idle platform, which must recover just as well); the long run
# repeats them while the workload runs.
going() { [ "$long" = 0 ] || kill -0 "$1" 2>/dev/null; }

inject_faults() {
    local wl="$1" round=0 s k
    while :; do
        round=$((round + 1))
        k=$(( (round % 2) + 1 ))
        for s in relay intake means allocation payments reporting; do
            going "$wl" || return 0
            if [ "$s" = relay ]; then kill_service "$(publishing_relay)"
            elif [ "$k" = 1 ]; then kill_service "$s"; else kill_service "$s@2"; fi
        done
        going "$wl" || return 0
        atb_say "fault: restart PostgreSQL"
        "$S/services.sh" restart-pg >/dev/null 2>&1 || fail "PostgreSQL did not restart"
        going "$wl" || return 0
        atb_say "fault: kill -9 NATS node $k"
        "$S/cluster.sh" kill-node "$k" >/dev/null 2>&1
        sleep 3
        "$S/cluster.sh" start-node "$k" >/dev/null 2>&1 || fail "NATS node $k did not start again"
        going "$wl" || return 0
        stalled="$(pid_of "means@2")"
        if [ -n "$stalled" ]; then
            atb_say "fault: SIGSTOP means@2 (pid $stalled) for 4 s"
            kill -STOP "$stalled" 2>/dev/null || true
            sleep 4
            kill -CONT "$stalled" 2>/dev/null || true
        fi
        stalled=""
        [ "$long" = 1 ] || return 0
    done
}

rm -rf "$OUT"
mkdir -p "$OUT"
atb_say "run dir $ATB_RUN_DIR; PostgreSQL $ATB_PG_PORT, nats-server $ATB_NATS_PORT," \
    "cluster $((ATB_NATS_CLUSTER_BASE + 1))..$((ATB_NATS_CLUSTER_BASE + 3))"
"$S/services.sh" start >/dev/null 2>&1 || atb_die "could not start PostgreSQL and nats-server (logs in $ATB_RUN_DIR/logs)"
"$S/cluster.sh" start >/dev/null 2>&1 || atb_die "could not start the NATS cluster (logs in $ATB_RUN_DIR/logs)"
if has_generate; then atb_say "workload: atbalsts generate --preset tervete --scale $SCALE --seed $SEED"
else atb_say "workload: atbalsts demo --persons $PERSONS --seed $SEED"; fi

reset_state   # a kept run directory (--keep) holds the last run's database and streams

# 1. The clean run: one instance of every service, one nats-server.
atb_say "clean run: one instance of every service on one nats-server"
ATB_INSTANCES=1 ATB_PLATFORM_NATS_URL="$SINGLE_URL" "$S/platform.sh" start >>"$OUT/platform.txt" 2>&1 ||
    atb_die "the platform did not start (logs in $ATB_RUN_DIR/logs)"
clean_rc=0
workload "$SINGLE_URL" "$OUT/workload-clean.txt" || clean_rc=$?
[ "$clean_rc" = 0 ] || atb_die "the clean run's workload failed (status $clean_rc): $OUT/workload-clean.txt"
quiesce "$ATB_NATS_PORT"
check_invariants "$ATB_NATS_PORT" clean
fingerprint "$OUT/clean.txt" "$SINGLE_URL"
ATB_INSTANCES=1 "$S/platform.sh" stop >/dev/null 2>&1
reset_state

# 2. The same workload on two instances of every service and the 3-node cluster.
node1=$((ATB_NATS_CLUSTER_BASE + 1))
atb_say "second run: two instances of every service on the 3-node cluster (stream replicas 3)$([ "$faults" = 1 ] && echo ", with faults")"
export ATB_INSTANCES=2 ATB_PLATFORM_NATS_URL="$CLUSTER_URL" ATB_STREAM_REPLICAS=3
export ATB_NATS_MONITOR_PORT=$((ATB_NATS_CLUSTER_MONITOR_BASE + 1))
"$S/platform.sh" start >>"$OUT/platform.txt" 2>&1 || atb_die "the platform did not start on the cluster (logs in $ATB_RUN_DIR/logs)"
workload "$CLUSTER_URL" "$OUT/workload-second.txt" &
wl=$!
if [ "$faults" = 1 ]; then
    sleep 1
    inject_faults "$wl"
fi
second_rc=0
wait "$wl" || second_rc=$?
if [ "$second_rc" != 0 ]; then
    if has_generate; then
        fail "the workload did not finish under faults (status $second_rc): $OUT/workload-second.txt"
    else
        atb_warn "the demo reported status $second_rc under faults (a request lost to a kill is not retried)"
    fi
fi
# Every node up, the stream with a leader and every replica current again, and a service
# killed last up again, before the platform can settle. (Not the plain /healthz: nats-server
# 2.9 reports idle consumers as "not current" there for good.)
for i in $(seq 1 120); do
    ok=1
    for n in 1 2 3; do
        curl -fsS -m 2 "http://127.0.0.1:$((ATB_NATS_CLUSTER_MONITOR_BASE + n))/healthz?js-enabled-only=true" \
            >/dev/null 2>&1 || ok=0
    done
    info="$(ATB_NATS_PORT=$((ATB_NATS_CLUSTER_BASE + 1)) "$S/jetstream.sh" info ATB_EVENTS 2>/dev/null || true)"
    case "$info" in *'"leader":"'*) ;; *) ok=0 ;; esac
    case "$info" in *'"current":false'*) ok=0 ;; esac
    [ "$ok" = 0 ] || break
    sleep 0.5
done
: "$i"
[ "$ok" = 1 ] || fail "the NATS cluster's stream did not have a leader and current replicas within 60 s"
"$S/platform.sh" start >>"$OUT/platform.txt" 2>&1 ||
    fail "not every service is running after the faults ($OUT/platform.txt)"
replicas="$(stream_field "$node1" num_replicas)"
[ "$replicas" = 3 ] || fail "the stream on the cluster has $replicas replicas, not 3"
quiesce "$node1"
check_invariants "$node1" second
fingerprint "$OUT/second.txt" "$CLUSTER_URL"

if diff -u "$OUT/clean.txt" "$OUT/second.txt" >"$OUT/diff.txt"; then
    atb_say "results of the second run equal the clean run ($(grep -c '' "$OUT/clean.txt") lines compared)"
elif [ "$second_rc" != 0 ] && ! has_generate; then
    atb_warn "results differ from the clean run; the demo lost requests to the faults, so this is expected:"
    cat "$OUT/diff.txt" >&2
else
    fail "results differ from the clean run:"
    cat "$OUT/diff.txt" >&2
fi

if [ "$failures" -gt 0 ]; then
    atb_say "$failures check(s) FAILED (run with --keep to look at $ATB_RUN_DIR)"
    exit 1
fi
atb_say "all checks passed"
