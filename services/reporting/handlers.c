/*
 * handlers.c -- what the reporting service consumes and answers, and its schema.
 *
 * Each projection is a durable consumer whose handler writes its table inside the
 * transaction that moves its checkpoint, plus the queries that read that table.
 *
 * To add a projection: 3 things to do.
 *  1. A migration below that creates its table and GRANTs it to atb_reporting.
 *  2. A file with its handler and queries (like persons.c), declared in reporting.h; the
 *     query messages go to proto/atb/v1/reporting.proto.
 *  3. A row in reporting_consumers and its queries in reporting_commands.
 */
#include "reporting.h"

#include "atb/v1/reporting.pb-c.h"

static const char *const categories_person[] = {"person"};

const svc_consumer reporting_consumers[] = {
    {PERSONS_CONSUMER, categories_person, 1, persons_project, NULL},
};
const size_t reporting_n_consumers = sizeof reporting_consumers / sizeof reporting_consumers[0];

const svc_command reporting_commands[] = {
    {"CountPersons", &atb__v1__count_persons__descriptor, persons_count, SVC_QUERY},
};
const size_t reporting_n_commands = sizeof reporting_commands / sizeof reporting_commands[0];

/* Applied once each, in order, by the runtime as the admin, with search_path = reporting.
 * Never edit one that ran anywhere; append a new one. */
const char *const reporting_migrations[] = {
    /* 1 */
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
const size_t reporting_n_migrations = sizeof reporting_migrations / sizeof reporting_migrations[0];
