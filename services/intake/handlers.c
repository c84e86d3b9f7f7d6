/*
 * handlers.c -- the commands and queries of the intake service, and its schema.
 *
 * To add a command: 3 things to do.
 *  1. Add its request message (field 1: atb.v1.CommandMeta) and its event to
 *     proto/atb/v1/intake.proto, and their rows to docs/events.md.
 *  2. Write the handler in the file of its aggregate (person.c, ...), declared in intake.h.
 *  3. Add a row below (SVC_QUERY for a query: no CommandMeta, appends nothing).
 */
#include "intake.h"

const svc_command intake_commands[] = {
    {"RegisterPerson", &atb__v1__register_person__descriptor, person_register, 0},
    {"GetPerson", &atb__v1__get_person__descriptor, person_get, SVC_QUERY},
};
const size_t intake_n_commands = sizeof intake_commands / sizeof intake_commands[0];

/* Applied once each, in order, by the runtime as the admin, with search_path = intake.
 * Never edit one that ran anywhere; append a new one. */
const char *const intake_migrations[] = {
    /* 1 */
    "CREATE TABLE intake.identities (\n"
    "    person_key    uuid PRIMARY KEY,\n"
    "    tenant        text NOT NULL,\n"
    "    personal_code text NOT NULL,\n"
    "    given_name    text NOT NULL,\n"
    "    family_name   text NOT NULL,\n"
    "    created_at    timestamptz NOT NULL DEFAULT now(),\n"
    "    UNIQUE (tenant, personal_code)\n"
    ");\n"
    "COMMENT ON TABLE intake.identities IS 'Identifying data, erasable: never copied into events.';\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON intake.identities TO atb_intake;\n",
    /* 2: erasure clears the names and records when. */
    "ALTER TABLE intake.identities\n"
    "    ADD COLUMN erased_at timestamptz,\n"
    "    ALTER COLUMN given_name DROP NOT NULL,\n"
    "    ALTER COLUMN family_name DROP NOT NULL;\n"
    "COMMENT ON COLUMN intake.identities.erased_at IS "
    "'Set when the identity was erased; readers skip such rows.';\n",
};
const size_t intake_n_migrations = sizeof intake_migrations / sizeof intake_migrations[0];
