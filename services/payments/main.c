/*
 * main.c -- atbalsts-payments: wiring only. Commands, queries and consumers are in
 * handlers.c; the ledger in ledger.c; batches and the bank in batch.c.
 */
#include "payments.h"

#include <libxml/parser.h>

int main(int argc, char **argv)
{
    svc_def def = {
        .name = "payments",
        .commands = pay_commands,
        .n_commands = pay_n_commands,
        .consumers = pay_consumers,
        .n_consumers = pay_n_consumers,
        .migrations = pay_migrations,
        .n_migrations = pay_n_migrations,
    };
    xmlInitParser();   /* once, before worker threads parse */
    int rc = svc_main(&def, argc, argv);
    xmlCleanupParser();
    return rc;
}
