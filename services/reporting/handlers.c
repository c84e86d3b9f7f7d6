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
static const char *const categories_decision[] = {"decision"};
static const char *const categories_application[] = {"application"};

const svc_consumer reporting_consumers[] = {
    {PERSONS_CONSUMER, categories_person, 1, persons_project, NULL},
    {DECISIONS_CONSUMER, categories_decision, 1, decisions_project, NULL},
    {APPLICATIONS_CONSUMER, categories_application, 1, applications_project, NULL},
};
const size_t reporting_n_consumers = sizeof reporting_consumers / sizeof reporting_consumers[0];

const svc_command reporting_commands[] = {
    {"CountPersons", &atb__v1__count_persons__descriptor, persons_count, SVC_QUERY},
    {"AssistanceReport", &atb__v1__assistance_report__descriptor, assistance_report, SVC_QUERY},
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
    /* 2: decisions.c. The result columns hold the current result (an override's); the
     * original_* columns the result first decided, kept once the row is overridden. */
    "CREATE TABLE reporting.decisions (\n"
    "    tenant           text NOT NULL,\n"
    "    application_id   text NOT NULL,\n"
    "    ask_index        integer NOT NULL,\n"
    "    event_type       text NOT NULL,\n"
    "    ask              smallint NOT NULL,\n"
    "    benefit          text NOT NULL,\n"
    "    outcome          smallint NOT NULL,\n"
    "    status           smallint NOT NULL,\n"
    "    period_from      date,\n"
    "    period_to        date,\n"
    "    has_amount       boolean NOT NULL,\n"
    "    amount_cents     bigint NOT NULL,\n"
    "    per              smallint NOT NULL,\n"
    "    budget_code      text NOT NULL,\n"
    "    household_id     text NOT NULL,\n"
    "    member_count     integer NOT NULL,\n"
    "    members          text[] NOT NULL,\n"
    "    decided_on       date,\n"
    "    position         bigint NOT NULL,\n"
    "    overridden_position bigint,\n"
    "    original_outcome smallint,\n"
    "    original_status  smallint,\n"
    "    original_period_from date,\n"
    "    original_period_to date,\n"
    "    original_amount_cents bigint,\n"
    "    original_per     smallint,\n"
    "    PRIMARY KEY (tenant, application_id, ask_index)\n"
    ");\n"
    "CREATE INDEX decisions_tenant_decided ON reporting.decisions (tenant, decided_on);\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.decisions TO atb_reporting;\n"
    "CREATE TABLE reporting.applications (\n"
    "    tenant            text NOT NULL,\n"
    "    application_id    text NOT NULL,\n"
    "    received          date,\n"
    "    deadline          date,\n"
    "    decided_position  bigint,\n"
    "    appealed          boolean NOT NULL DEFAULT false,\n"
    "    position          bigint NOT NULL,\n"
    "    PRIMARY KEY (tenant, application_id)\n"
    ");\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.applications TO atb_reporting;\n",
};
const size_t reporting_n_migrations = sizeof reporting_migrations / sizeof reporting_migrations[0];
