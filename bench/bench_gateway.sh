#!/usr/bin/env bash
# bench_gateway -- the web gateway under load with wrk, against a static file served by
# the same gateway in the same run:
#
#   static    GET /app.css: h2o's file handler, no session, no worker thread (the baseline)
#   session   GET /api/v1/session: a worker thread and the session, from the gateway's
#             session cache (ATB_GATEWAY_SESSION_CACHE_SECONDS, default 5) or PostgreSQL
#   nocache   the same against a second gateway started with the cache off: the session
#             lookup in PostgreSQL on every request
#   read      GET /api/v1/t/tervete/persons/KEY: session lookup in PostgreSQL, the grant,
#             the GetPerson query over NATS to atbalsts-intake, one access-log row
#   submit    POST /api/v1/t/tervete/applications: session, CSRF, JSON -> protobuf, the
#             SubmitApplication command appended by atbalsts-intake (a new application
#             each request)
#
# Each runs wrk for ATB_BENCH_SECONDS (default 10) with 2 threads and C connections
# (ATB_BENCH_CONNECTIONS, default 16), and prints requests/s, p50 and p99 and the ratio to
# the static baseline. It asserts nothing. Servers: ATB_PG_HOST, ATB_PG_PORT,
# ATB_PG_SUPERUSER, ATB_NATS_URL as for the tests; it makes its own database and subject
# prefix and removes them. The binaries are the build tree's (../services/*).
set -eu -o pipefail
here="$(cd "$(dirname "$0")" && pwd)"
svc="$here/../services"
pg_host="${ATB_PG_HOST:-127.0.0.1}" pg_port="${ATB_PG_PORT:-54329}" pg_user="${ATB_PG_SUPERUSER:-postgres}"
nats="${ATB_NATS_URL:-nats://127.0.0.1:4229}"
secs="${ATB_BENCH_SECONDS:-10}" conns="${ATB_BENCH_CONNECTIONS:-16}"
command -v wrk >/dev/null || { echo "bench_gateway: wrk is not installed (scripts/deps.sh)" >&2; exit 1; }

db="atb_bench_gw_$$"
prefix="bgw$$"
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    psql -X -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

psql -X -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "CREATE DATABASE $db" >/dev/null
admin="postgresql://$pg_user@$pg_host:$pg_port/$db"
start() {   # name
    ATB_PG_URL="postgresql://atb_$1@$pg_host:$pg_port/$db" ATB_PG_ADMIN_URL="$admin" ATB_NATS_URL="$nats" \
        ATB_PREFIX="$prefix" ATB_STREAM="BGW$$" ATB_HTTP_PORT=0 ATB_LOG_LEVEL=warn \
        "$svc/$1/atbalsts-$1" </dev/null >>"$work/$1.log" 2>&1 &
    pids+=($!)
}
start intake
sleep 1   # intake applies the log's migrations first
start relay

printf 'correct horse battery\n' |
    ATB_PG_URL="postgresql://atb_gateway@$pg_host:$pg_port/$db" ATB_PG_ADMIN_URL="$admin" \
    "$svc/gateway/atbalsts-gateway" adduser bench --grant tervete:social_worker >/dev/null
ATB_PG_URL="postgresql://atb_gateway@$pg_host:$pg_port/$db" ATB_PG_ADMIN_URL="$admin" ATB_NATS_URL="$nats" \
    ATB_PREFIX="$prefix" ATB_GATEWAY_PORT=0 ATB_GATEWAY_PORT_FILE="$work/port" ATB_LOG_LEVEL=warn ATB_WORKERS=4 \
    "$svc/gateway/atbalsts-gateway" </dev/null >>"$work/gateway.log" 2>&1 &
pids+=($!)
ATB_PG_URL="postgresql://atb_gateway@$pg_host:$pg_port/$db" ATB_NATS_URL="$nats" \
    ATB_PREFIX="$prefix" ATB_GATEWAY_PORT=0 ATB_GATEWAY_PORT_FILE="$work/port0" ATB_LOG_LEVEL=warn ATB_WORKERS=4 \
    ATB_GATEWAY_SESSION_CACHE_SECONDS=0 \
    "$svc/gateway/atbalsts-gateway" </dev/null >>"$work/gateway0.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/port" ] && [ -s "$work/port0" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")"
url0="http://127.0.0.1:$(cat "$work/port0")"

curl -fsS -c "$work/jar" -H 'Content-Type: application/json' \
    -d '{"login":"bench","password":"correct horse battery"}' "$url/api/v1/session" >"$work/me.json"
csrf="$(sed -n 's/.*"csrf_token":"\([0-9a-f]*\)".*/\1/p' "$work/me.json")"
cookie="atb_session=$(awk '$6 == "atb_session" {print $7}' "$work/jar")"
call() {   # method path body -> body of the answer; retries while intake starts
    local out
    for _ in $(seq 1 50); do
        if out="$(curl -fsS -X "$1" -b "$cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
            ${3:+-d "$3"} "$url$2")"; then
            printf '%s' "$out"
            return 0
        fi
        sleep 0.2
    done
    echo "bench_gateway: $1 $2 failed" >&2
    return 1
}
key() { sed -n 's/.*"key":"\([0-9a-f-]*\)".*/\1/p'; }
person="$(call POST /api/v1/t/tervete/persons \
    '{"personal_code":"150585-12343","given_name":"Anna","family_name":"Bērziņa","sex":"female"}' | key)"
household="$(call POST /api/v1/t/tervete/households \
    "{\"members\":[{\"person_key\":\"$person\",\"relationship\":\"applicant\",\"joined\":\"2020-01-01\"}]}" | key)"

cat >"$work/submit.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "$cookie"
wrk.headers["X-CSRF-Token"] = "$csrf"
wrk.body = '{"applicant":"$person","household_key":"$household","asks":[{"kind":"needy_status"},{"kind":"gmi"}],"received":"2020-11-16","channel":"office","social_worker":"user:bench"}'
LUA
cat >"$work/read.lua" <<LUA
wrk.headers["Cookie"] = "$cookie"
LUA

# wrk's text output -> "rps p50_ms p99_ms non2xx"
run() {   # name path [script [base url]]
    local out rps p50 p99 bad
    out="$(wrk -t2 -c"$conns" -d"${secs}s" --latency ${3:+-s "$3"} "${4:-$url}$2")"
    rps="$(printf '%s\n' "$out" | awk '/^Requests\/sec/ {print $2}')"
    p50="$(printf '%s\n' "$out" | awk '$1 == "50%" {print $2}')"
    p99="$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')"
    bad="$(printf '%s\n' "$out" | awk '/Non-2xx/ {print $5}')"
    printf '%s %s %s %s\n' "$rps" "$p50" "$p99" "${bad:-0}"
}
read -r s_rps s_p50 s_p99 s_bad < <(run static /app.css)
read -r a_rps a_p50 a_p99 a_bad < <(run session /api/v1/session "$work/read.lua")
read -r n_rps n_p50 n_p99 n_bad < <(run nocache /api/v1/session "$work/read.lua" "$url0")
read -r r_rps r_p50 r_p99 r_bad < <(run read "/api/v1/t/tervete/persons/$person" "$work/read.lua")
read -r w_rps w_p50 w_p99 w_bad < <(run submit /api/v1/t/tervete/applications "$work/submit.lua")
apps="$(psql -X -A -t -h "$pg_host" -p "$pg_port" -U "$pg_user" -d "$db" \
    -c "SELECT count(*) FROM atb.events WHERE type = 'ApplicationReceived'")"

echo "bench_gateway: wrk -t2 -c$conns -d${secs}s against atbalsts-gateway (4 workers), one run"
echo "  session cache: ${ATB_GATEWAY_SESSION_CACHE_SECONDS:-5} s (nocache: a second gateway with it off)"
printf '  %-8s %10s %9s %9s %10s %9s\n' case 'req/s' p50 p99 'non-2xx' 'vs static'
ratio() { awk -v a="$1" -v b="$s_rps" 'BEGIN { printf "%.3f", a / b }'; }
printf '  %-8s %10s %9s %9s %10s %9s\n' static "$s_rps" "$s_p50" "$s_p99" "$s_bad" 1.000
printf '  %-8s %10s %9s %9s %10s %9s\n' session "$a_rps" "$a_p50" "$a_p99" "$a_bad" "$(ratio "$a_rps")"
printf '  %-8s %10s %9s %9s %10s %9s\n' nocache "$n_rps" "$n_p50" "$n_p99" "$n_bad" "$(ratio "$n_rps")"
printf '  %-8s %10s %9s %9s %10s %9s\n' read "$r_rps" "$r_p50" "$r_p99" "$r_bad" "$(ratio "$r_rps")"
printf '  %-8s %10s %9s %9s %10s %9s\n' submit "$w_rps" "$w_p50" "$w_p99" "$w_bad" "$(ratio "$w_rps")"
echo "  applications appended by the submit run: $apps"
