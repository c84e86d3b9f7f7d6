#!/usr/bin/env bash
# scripts/test.sh -- THE test command: install, build, start the servers, run every test
# on the normal tree and on the sanitizer tree, stop the servers, summarise.
#
# Invariants:
#  - ATB_REQUIRE_SERVICES=1: a test that cannot reach PostgreSQL or NATS fails; nothing is
#    silently skipped for want of a server;
#  - ctest runs with --no-tests=error: a run that finds no test fails;
#  - the servers this script started are stopped on exit, whatever happened (unless
#    KEEP_SERVICES=1); servers that were already running are left running;
#  - the exit status is non-zero if a build or any test failed.
set -eu -o pipefail
ATB_SCRIPT=test.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/test.sh [--quick] [-L label] [-R regex] [--help]

Install the Debian packages (scripts/deps.sh), build the normal and the sanitizer
(ASan + UBSan) trees, start a private PostgreSQL (fast mode: fsync off) and nats-server
(scripts/services.sh), run ctest on both trees, stop the servers, print one summary
line per tree. Exits non-zero if anything failed.

  --quick     the normal tree only (no sanitizer build or run)
  -L label    only tests with this ctest label (unit, needs-pg, needs-nats, slow)
  -R regex    only tests whose name matches
  --help      this text

Environment: KEEP_SERVICES=1 leaves the servers running afterwards;
ATB_CTEST_JOBS (default 2) parallel tests; the knobs of scripts/services.sh
(ATB_RUN_DIR, ports) and scripts/build.sh (build directories).
A suppression file tests/lsan.supp, if present, is given to LeakSanitizer.
EOF
}

quick=0
ctest_filter=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --quick) quick=1 ;;
        -L | -R)
            [ "$#" -ge 2 ] || atb_die "$1 needs an argument"
            ctest_filter+=("$1" "$2")
            shift
            ;;
        *) usage >&2; atb_die "unknown argument '$1'" ;;
    esac
    shift
done

S="$ATB_ROOT/scripts"
started_services=0
summary=()

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local rc=$?
    if [ "$started_services" = 1 ]; then
        if [ "${KEEP_SERVICES:-0}" = 1 ]; then
            atb_say "KEEP_SERVICES=1: servers left running (scripts/services.sh stop)"
        else
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
if [ "$quick" = 0 ]; then
    "$S/build.sh" --asan >/dev/null
fi

if ! "$S/services.sh" status >/dev/null 2>&1; then
    started_services=1
fi
ATB_PG_FAST=1 "$S/services.sh" start
eval "$("$S/services.sh" env)"
export ATB_REQUIRE_SERVICES=1

# The number in attribute $1="N" of the XML tag text $2; 0 if absent.
attr() {
    local v
    v="$(printf '%s' "$2" | grep -o " $1=\"[0-9]*\"" | tr -dc '0-9' || true)"
    printf '%s\n' "${v:-0}"
}

# Run ctest on one tree; record "tree: N passed, N failed, N skipped" in summary.
run_tree() {
    local name="$1" dir="$2" junit rc=0 total failed skipped hdr passed
    junit="$dir/ctest-junit.xml"
    rm -f "$junit"
    atb_say "running tests: $name tree ($dir)"
    ctest --test-dir "$dir" --output-on-failure --no-tests=error \
        -j "${ATB_CTEST_JOBS:-2}" --output-junit "$junit" "${ctest_filter[@]}" || rc=$?
    total=0 failed=0 skipped=0
    if [ -f "$junit" ]; then
        # <testsuite name=".." tests="N" failures="F" disabled="D" skipped="S" ..>, with
        # the attributes on lines of their own.
        hdr="$(tr '\n\t' '  ' <"$junit" | grep -o '<testsuite [^>]*' | head -n 1 || true)"
        total="$(attr tests "$hdr")"
        failed="$(attr failures "$hdr")"
        skipped=$(($(attr skipped "$hdr") + $(attr disabled "$hdr")))
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        # No failing test, yet ctest failed: no test found, or an error of ctest's own.
        atb_say "$name tree: ctest exited with status $rc"
    fi
    passed=$((total - failed - skipped))
    if [ "$passed" -lt 0 ]; then
        passed=0
    fi
    summary+=("$name: $passed passed, $failed failed, $skipped skipped")
    return "$rc"
}

overall=0
run_tree normal "$ATB_BUILD_DIR" || overall=1

if [ "$quick" = 0 ]; then
    # halt_on_error: the first report fails the test; leaks are errors too.
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    if [ -f "$ATB_ROOT/tests/lsan.supp" ]; then
        export LSAN_OPTIONS="suppressions=$ATB_ROOT/tests/lsan.supp:print_suppressions=0"
    fi
    run_tree asan "$ATB_ASAN_BUILD_DIR" || overall=1
fi

# Stop the servers before the summary, so that the summary lines close the output.
if [ "$started_services" = 1 ] && [ "${KEEP_SERVICES:-0}" != 1 ]; then
    "$S/services.sh" stop || true
    started_services=0
fi
for line in "${summary[@]}"; do
    printf '%s\n' "$line"
done
if [ "$overall" -ne 0 ]; then
    atb_say "FAILED (see the ctest output above)"
fi
exit "$overall"
