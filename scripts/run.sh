#!/usr/bin/env bash
# scripts/run.sh -- THE main job: install, build, start PostgreSQL (durable), nats-server
# and every service, run a generated municipality's year through the whole pipeline
# (intake -> means testing -> allocation -> payments -> reporting) through the public
# command API, print the year's report, write the SEPA batch files (and the HTML report
# when the command line can), prove every decision with the audit replay, stop everything
# this script started.
#
# Progress goes to stderr; stdout carries the generator's summary, the report and the audit.
set -eu -o pipefail
ATB_SCRIPT=run.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/run.sh [--city | --region] [--seed S] [--scale PCT] [--demo] [--help]
                      [-- generate arguments...]

Install the Debian packages, build, start a private PostgreSQL 15 (durable: fsync on) and
nats-server, start every service binary of the build (scripts/platform.sh), then run a
municipality's year of 2020 made up by `atbalsts generate` (docs/generate.md): residents,
households, applications, home visits, co-operation duties, decisions, appeals, service
requests, crisis admissions, payee accounts and twelve monthly payment batches. Then print
the year's report (`atbalsts report assistance`), write the HTML report when the command
line offers `--html`, list the SEPA files (pain.001.001.03) written to the output folder,
and run `atbalsts audit --all-tenants`, which re-derives every decision from the log.
Servers and services started here are stopped on exit unless KEEP_SERVICES=1.

  (default)    Tērvete, a small rural municipality (790 clients): a minute or two
  --city       Daugavpils, the full city year (20,000 clients)
  --region     Tērvete and Kandava, buying crisis places from Dobele
  --seed S     the seed of the generated year (default 1); the same seed again changes nothing
  --scale PCT  percent of the preset's clients (default 100)
  --demo       the older, smaller `atbalsts demo` instead of the generated year
Arguments after -- go to `atbalsts generate` (or to `atbalsts demo` with --demo).

The output folder is <run dir>/out/<preset>-seed<S>/: the SEPA files, the report as text
and JSON (and HTML when available), the generator's summary.
Environment: KEEP_SERVICES=1, and the knobs of scripts/services.sh, scripts/build.sh and
scripts/platform.sh (ATB_RUN_DIR, ports, build directory).
EOF
}

preset=tervete
seed=1
scale=100
demo=0
extra_args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --city) preset=daugavpils ;;
        --region) preset=region ;;
        --demo) demo=1 ;;
        --seed | --scale)
            [ "$#" -ge 2 ] || atb_die "$1 needs a value"
            case "$2" in '' | *[!0-9]*) atb_die "$1 must be a whole number, got '$2'" ;; esac
            if [ "$1" = --seed ]; then seed="$2"; else scale="$2"; fi
            shift
            ;;
        --) shift; extra_args=("$@"); break ;;
        *) usage >&2; atb_die "unknown argument '$1'" ;;
    esac
    shift
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
# The year's data must survive a crash like real data: never fast mode here.
ATB_PG_FAST=0 "$S/services.sh" start
eval "$("$S/services.sh" env)"

if ! "$S/platform.sh" status >/dev/null 2>&1; then
    started_platform=1
fi
"$S/platform.sh" start
"$S/platform.sh" status >&2 || true

cli="$ATB_BUILD_DIR/services/cli/atbalsts"
if [ ! -x "$cli" ]; then
    atb_warn "nothing to run: $cli is not built yet"
    atb_say "servers and services are up; logs in $ATB_RUN_DIR/logs"
    exit 0
fi

password="$(sed -n 's/.*{[[:space:]]*user:[[:space:]]*cli,[[:space:]]*password:[[:space:]]*"\([^"]*\)".*/\1/p' \
    "$ATB_NATS_DEV_CONF" | head -n 1)"
export ATB_NATS_USER=cli ATB_NATS_PASSWORD="$password"

if [ "$demo" = 1 ]; then
    atb_say "running: atbalsts demo ${extra_args[*]}"
    "$cli" demo "${extra_args[@]}"
    out=""
else
    case "$preset" in
        daugavpils) tenants=daugavpils ;;
        region) tenants=tervete,kandava ;;
        *) tenants=tervete ;;
    esac
    first="${tenants%%,*}"
    out="$ATB_RUN_DIR/out/$preset-seed$seed"
    mkdir -p "$out"
    atb_say "running: atbalsts generate --preset $preset --scale $scale --seed $seed --out $out ${extra_args[*]}"
    # Exit 2 = some commands were refused: the summary says which; the year goes on.
    rc=0
    "$cli" generate --preset "$preset" --scale "$scale" --seed "$seed" --out "$out" "${extra_args[@]}" \
        >"$out/generate.txt" || rc=$?
    cat "$out/generate.txt"
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
        atb_die "atbalsts generate failed (exit $rc)"
    fi

    echo
    echo "== the year's report: social assistance in 2020 ($tenants)"
    period=(--tenants "$tenants" --from 2020-01-01 --to 2020-12-31)
    "$cli" --tenant "$first" report assistance "${period[@]}" | tee "$out/report.txt"
    "$cli" --tenant "$first" report assistance "${period[@]}" --json >"$out/report.json"
    if "$cli" report assistance --help 2>/dev/null | grep -q -- '--html'; then
        "$cli" --tenant "$first" report assistance "${period[@]}" --html "$out/report.html" >/dev/null
        echo "HTML report: $out/report.html"
    else
        echo "HTML report: not written (this build's 'atbalsts report assistance' has no --html)"
    fi

    echo
    echo "== SEPA credit-transfer files (pain.001.001.03) in $out"
    found=0
    for f in "$out"/*-pain001.xml; do
        [ -f "$f" ] || continue
        found=1
        printf '  %-40s %9d bytes\n' "${f##*/}" "$(wc -c <"$f")"
    done
    [ "$found" = 1 ] || echo "  none (no orders were due)"
fi

# Then prove what was decided: every decision re-derived from the log alone, with the
# rule-set version it names (the auditor's command reads PostgreSQL, read-only).
atb_say "running: atbalsts audit --all-tenants"
echo
echo "== audit replay of every decision"
"$cli" audit --all-tenants --pg "$ATB_PG_ADMIN_URL"
atb_say "finished; ${out:+output in $out; }logs in $ATB_RUN_DIR/logs"
