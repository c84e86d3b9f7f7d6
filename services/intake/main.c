/*
 * main.c -- atbalsts-intake: wiring only. The commands and the schema are in handlers.c,
 * the aggregates in their files (intake.h lists them); libs/service does the rest
 * (settings, migrations, NATS, workers, consumers, health, drain).
 */
#include "intake.h"

static const char *const decision_categories[] = {"decision", "assessment"};

/* intake-decisions: records ApplicationDecided when means testing has decided, and
 * ApplicationReturned when it could not. */
static const svc_consumer intake_consumers[] = {
    {"intake-decisions", decision_categories, 2, application_on_decision, NULL},
};

int main(int argc, char **argv)
{
    const svc_def def = {
        .consumers = intake_consumers,
        .n_consumers = sizeof intake_consumers / sizeof intake_consumers[0],
        .name = "intake",
        .commands = intake_commands,
        .n_commands = intake_n_commands,
        .migrations = intake_migrations,
        .n_migrations = intake_n_migrations,
    };
    return svc_main(&def, argc, argv);
}
