#!/usr/bin/env bash
# scripts/jetstream.sh -- inspect or delete the JetStream events stream without the `nats`
# CLI (Debian 12 does not package it): a minimal NATS client in bash that sends one
# JetStream API request ($JS.API.STREAM.*) over /dev/tcp and prints the JSON reply.
#
# Deleting the stream loses nothing: it is a cache of the PostgreSQL log, and the relay
# rebuilds it from the whole log when it starts (docs/operations.md, "Rebuilding").
set -eu -o pipefail
ATB_SCRIPT=jetstream.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: scripts/jetstream.sh names|info [STREAM]|delete STREAM|--help

  names           the names of all streams
  info [STREAM]   the configuration and state of STREAM (default ATB_EVENTS), as JSON
  delete STREAM   delete STREAM (asks for confirmation unless ATB_YES=1)

Connects to 127.0.0.1:ATB_NATS_PORT (default 4229). Credentials: ATB_NATS_USER and
ATB_NATS_PASSWORD if set; otherwise none, which the dev server maps to its admin user.
For a production server use an operator's credentials (atb_admin).
EOF
}

atb_check_port ATB_NATS_PORT "$ATB_NATS_PORT"
export LC_ALL=C   # read -N counts bytes
# A server that refuses the credentials closes the connection: let a write fail with
# EPIPE instead of killing the script, so that its -ERR line is read and reported.
trap '' PIPE

# Send one request to subject with payload; print the reply payload.
js_request() {
    local subject="$1" payload="$2" inbox line connect n reply
    inbox="_INBOX.jetstream_sh.$$.$RANDOM"
    exec 3<>"/dev/tcp/127.0.0.1/$ATB_NATS_PORT" ||
        atb_die "cannot connect to nats-server on 127.0.0.1:$ATB_NATS_PORT"
    IFS= read -r -t 5 line <&3 || atb_die "no INFO from nats-server"
    case "$line" in INFO*) ;; *) atb_die "unexpected greeting from nats-server: $line" ;; esac
    connect='{"verbose":false,"pedantic":false,"name":"jetstream.sh","lang":"bash","version":"1","protocol":1'
    if [ -n "${ATB_NATS_USER:-}" ]; then
        case "${ATB_NATS_USER}${ATB_NATS_PASSWORD:-}" in
            *[\"\\]*) atb_die "ATB_NATS_USER/ATB_NATS_PASSWORD must not contain \" or \\" ;;
        esac
        connect="$connect,\"user\":\"$ATB_NATS_USER\",\"pass\":\"${ATB_NATS_PASSWORD:-}\""
    fi
    connect="$connect}"
    printf 'CONNECT %s\r\nSUB %s 1\r\nPUB %s %s %d\r\n%s\r\nPING\r\n' \
        "$connect" "$inbox" "$subject" "$inbox" "${#payload}" "$payload" >&3 2>/dev/null || true
    while IFS= read -r -t 10 line <&3; do
        line="${line%$'\r'}"
        case "$line" in
            PING) printf 'PONG\r\n' >&3 2>/dev/null || true ;;
            PONG | +OK) ;;
            -ERR*) atb_die "nats-server refused: ${line#-ERR }" ;;
            MSG\ *)
                n="${line##* }"
                IFS= read -r -N "$n" -t 10 reply <&3 || atb_die "short reply from nats-server"
                printf '%s\n' "$reply"
                exec 3>&-
                return 0
                ;;
        esac
    done
    atb_die "no reply to $subject within 10 s (is JetStream enabled? do these credentials allow it?)"
}

if [ "$#" -lt 1 ]; then
    usage >&2
    exit 2
fi
case "$1" in
    -h | --help | help) usage ;;
    names)
        # shellcheck disable=SC2016  # a literal '$': JetStream's API prefix
        js_request '$JS.API.STREAM.NAMES' ''
        ;;
    info)
        reply="$(js_request "\$JS.API.STREAM.INFO.${2:-ATB_EVENTS}" '')"
        printf '%s\n' "$reply"
        case "$reply" in
            *'"error":'*) atb_die "no information about stream ${2:-ATB_EVENTS} (error above)" ;;
        esac
        ;;
    delete)
        [ "$#" -eq 2 ] || atb_die "delete needs the stream's name"
        case "$2" in *[!A-Za-z0-9_-]*) atb_die "invalid stream name '$2'" ;; esac
        if [ "${ATB_YES:-0}" != 1 ]; then
            if [ ! -t 0 ]; then
                atb_die "refusing to delete $2 without confirmation; set ATB_YES=1"
            fi
            printf 'Delete stream %s on 127.0.0.1:%s? The relay rebuilds it from the log. [y/N] ' \
                "$2" "$ATB_NATS_PORT" >&2
            read -r answer
            case "$answer" in y | Y | yes) ;; *) atb_die "not deleted" ;; esac
        fi
        reply="$(js_request "\$JS.API.STREAM.DELETE.$2" '')"
        printf '%s\n' "$reply"
        case "$reply" in
            *'"success":true'*) atb_say "stream $2 deleted" ;;
            *) atb_die "stream $2 not deleted" ;;
        esac
        ;;
    *) usage >&2; atb_die "unknown command '$1'" ;;
esac
