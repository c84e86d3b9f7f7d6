/*
 * main.c -- atbalsts-intake: wiring only. The commands and the schema are in handlers.c,
 * the Person aggregate in person.c, the identity store in identity.c; libs/service does
 * the rest (settings, migrations, NATS, workers, health, drain).
 */
#include "intake.h"

int main(int argc, char **argv)
{
    const svc_def def = {
        .name = "intake",
        .commands = intake_commands,
        .n_commands = intake_n_commands,
        .migrations = intake_migrations,
        .n_migrations = intake_n_migrations,
    };
    return svc_main(&def, argc, argv);
}
