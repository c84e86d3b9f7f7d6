/*
 * main.c -- atbalsts-reporting: wiring only. Each projection is a consumer (its handler
 * writes its table inside the transaction that moves its checkpoint) plus the queries that
 * read it.
 *
 * To add a projection: 3 things to do.
 *  1. A migration below that creates its table (and GRANTs it to atb_reporting).
 *  2. A file with its handler and queries (see persons.c).
 *  3. A row in `consumers` and its queries in `commands`.
 */
#include "reporting.h"
#include "atb/v1/reporting.pb-c.h"

static const char *const categories_person[] = {"person"};

static const svc_consumer consumers[] = {
    {PERSONS_CONSUMER, categories_person, 1, persons_project, NULL},
};

static const svc_command commands[] = {
    {"CountPersons", &atb__v1__count_persons__descriptor, persons_count, SVC_QUERY},
};

static const char *const migrations[] = {
    "CREATE TABLE reporting.persons (\n"
    "    person_key    uuid PRIMARY KEY,\n"
    "    tenant        text NOT NULL,\n"
    "    birth_date    date,\n"
    "    sex           smallint NOT NULL,\n"
    "    registered_on date,\n"
    "    position      bigint NOT NULL\n"
    ");\n"
    "CREATE INDEX persons_tenant ON reporting.persons (tenant);\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.persons TO atb_reporting;\n",
};

int main(int argc, char **argv)
{
    const svc_def def = {
        .name = "reporting",
        .commands = commands,
        .n_commands = sizeof commands / sizeof commands[0],
        .consumers = consumers,
        .n_consumers = sizeof consumers / sizeof consumers[0],
        .migrations = migrations,
        .n_migrations = sizeof migrations / sizeof migrations[0],
    };
    return svc_main(&def, argc, argv);
}
