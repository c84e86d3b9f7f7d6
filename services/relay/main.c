/*
 * main.c -- atbalsts-relay: publishes every committed event of the PostgreSQL log, in
 * position order, to the JetStream stream (libs/bus relay; see libs/bus/README.md).
 *
 * It has no commands and no consumers: the runtime (libs/service) runs the relay thread,
 * the health and metrics endpoint (atb_relay_position, atb_log_head) and the drain on
 * SIGTERM. By the naming rule its PostgreSQL role is atb_relay and its NATS user relay,
 * the only user allowed to publish events and to create the stream.
 *
 * Run one relay per stream: two would publish the same positions (harmless, the stream's
 * duplicate window drops them, but wasteful).
 */
#include "svc.h"

static const svc_def relay = {
    .name = "relay",
    .run_relay = true,
};

int main(int argc, char **argv)
{
    return svc_main(&relay, argc, argv);
}
