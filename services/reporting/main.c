/*
 * main.c -- atbalsts-reporting: wiring only. The consumers, queries and schema are in
 * handlers.c, each projection in its own file (persons.c); libs/service runs the durable
 * consumers on their own threads and the queries on its workers.
 */
#include "reporting.h"

int main(int argc, char **argv)
{
    const svc_def def = {
        .name = "reporting",
        .commands = reporting_commands,
        .n_commands = reporting_n_commands,
        .consumers = reporting_consumers,
        .n_consumers = reporting_n_consumers,
        .migrations = reporting_migrations,
        .n_migrations = reporting_n_migrations,
        .start = rep_service_lock,   /* before any consumer runs: no rebuild under it */
    };
    return svc_main(&def, argc, argv);
}
