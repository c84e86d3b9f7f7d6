/*
 * main.c -- atbalsts-intake: wiring only. The commands are in handlers.c, the Person
 * aggregate in person.c, the identity store in identity.c.
 */
#include "intake.h"

int main(int argc, char **argv)
{
    static const svc_def def = {
        .name = "intake",
        .commands = intake_commands,
        .n_commands = 0,   /* set below: the table's length lives in handlers.c */
    };
    svc_def d = def;
    d.n_commands = intake_n_commands;
    d.migrations = intake_migrations;
    d.n_migrations = intake_n_migrations;
    return svc_main(&d, argc, argv);
}
