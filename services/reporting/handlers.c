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
static const char *const categories_placement[] = {"placement"};
static const char *const categories_request[] = {"request"};
static const char *const categories_payments[] = {"paygrant", "paybatch", "paycash"};
static const char *const categories_appeal[] = {"appeal"};
static const char *const categories_catalogue[] = {"catalogue"};

const svc_consumer reporting_consumers[] = {
    {PERSONS_CONSUMER, categories_person, 1, persons_project, NULL},
    {DECISIONS_CONSUMER, categories_decision, 1, decisions_project, NULL},
    {APPLICATIONS_CONSUMER, categories_application, 1, applications_project, NULL},
    {PLACEMENTS_CONSUMER, categories_placement, 1, placements_project, NULL},
    {REQUESTS_CONSUMER, categories_request, 1, requests_project, NULL},
    {PAYMENTS_CONSUMER, categories_payments, 3, payments_project, NULL},
    {APPEALS_CONSUMER, categories_appeal, 1, appeals_project, NULL},
    {UNITS_CONSUMER, categories_catalogue, 1, units_project, NULL},
};
const size_t reporting_n_consumers = sizeof reporting_consumers / sizeof reporting_consumers[0];

const svc_command reporting_commands[] = {
    {"CountPersons", &atb__v1__count_persons__descriptor, persons_count, SVC_QUERY},
    {"AssistanceReport", &atb__v1__assistance_report__descriptor, assistance_report, SVC_QUERY},
    {"ServicesReport", &atb__v1__services_report__descriptor, services_report, SVC_QUERY},
    {"BudgetExecutionReport", &atb__v1__budget_execution_report__descriptor, budget_report, SVC_QUERY},
    {"IndicatorsReport", &atb__v1__indicators_report__descriptor, indicators_report, SVC_QUERY},
    {"MinistryReport", &atb__v1__ministry_report__descriptor, ministry_report, SVC_QUERY},
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
    /* 3: services.c. A placement's end and each change of its load are their own columns /
     * rows with their own positions, so a report "as known on" a date sees them or not. */
    "CREATE TABLE reporting.placements (\n"
    "    placement_key  text PRIMARY KEY,\n"
    "    tenant         text NOT NULL,\n"
    "    request_key    text NOT NULL,\n"
    "    person_key     text NOT NULL,\n"
    "    service        text NOT NULL,\n"
    "    owner          text NOT NULL,\n"
    "    provider       text NOT NULL,\n"
    "    unit           text NOT NULL,\n"
    "    start_on       date NOT NULL,\n"
    "    emergency      boolean NOT NULL,\n"
    "    position       bigint NOT NULL,\n"
    "    ended_on       date,\n"
    "    ended_position bigint\n"
    ");\n"
    "CREATE INDEX placements_tenant ON reporting.placements (tenant, start_on);\n"
    "CREATE INDEX placements_request ON reporting.placements (request_key);\n"
    "CREATE TABLE reporting.placement_loads (\n"
    "    placement_key text NOT NULL,\n"
    "    from_on       date NOT NULL,\n"
    "    load          integer NOT NULL,\n"
    "    suspended     boolean NOT NULL,\n"
    "    position      bigint NOT NULL,\n"
    "    PRIMARY KEY (placement_key, position)\n"
    ");\n"
    "CREATE TABLE reporting.requests (\n"
    "    request_key  text PRIMARY KEY,\n"
    "    tenant       text NOT NULL,\n"
    "    person_key   text NOT NULL,\n"
    "    service      text NOT NULL,\n"
    "    requested_on date NOT NULL,\n"
    "    urgency      smallint NOT NULL,\n"
    "    position     bigint NOT NULL\n"
    ");\n"
    "CREATE INDEX requests_tenant ON reporting.requests (tenant, requested_on);\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.placements, reporting.placement_loads, "
    "reporting.requests TO atb_reporting;\n",
    /* 4: budget.c */
    "CREATE TABLE reporting.payment_orders (\n"
    "    order_id           text PRIMARY KEY,\n"
    "    tenant             text NOT NULL,\n"
    "    grant_id           text NOT NULL,\n"
    "    budget_code        text NOT NULL,\n"
    "    funding            smallint NOT NULL,\n"
    "    amount_cents       bigint NOT NULL,\n"
    "    due                date,\n"
    "    position           bigint NOT NULL,\n"
    "    cancelled_position bigint,\n"
    "    paid_on            date,\n"
    "    paid_position      bigint\n"
    ");\n"
    "CREATE INDEX payment_orders_tenant ON reporting.payment_orders (tenant);\n"
    "CREATE TABLE reporting.payment_batches (\n"
    "    batch_id       text PRIMARY KEY,\n"
    "    tenant         text NOT NULL,\n"
    "    execution_date date NOT NULL,\n"
    "    position       bigint NOT NULL\n"
    ");\n"
    "CREATE TABLE reporting.recoveries (\n"
    "    claim_id     text PRIMARY KEY,\n"
    "    tenant       text NOT NULL,\n"
    "    budget_code  text NOT NULL,\n"
    "    funding      smallint NOT NULL,\n"
    "    amount_cents bigint NOT NULL,\n"
    "    recorded_on  date NOT NULL,\n"
    "    position     bigint NOT NULL\n"
    ");\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.payment_orders, reporting.payment_batches, "
    "reporting.recoveries TO atb_reporting;\n",
    /* 5: "as known on" for decisions.c. Every result of a decision (the first and each
     * override) with its position, and the position of each application fact. The rows
     * written before this migration lack them, so both projections are emptied with their
     * checkpoints: the consumers rebuild them from the log when the service starts. */
    "CREATE TABLE reporting.decision_results (\n"
    "    tenant         text NOT NULL,\n"
    "    application_id text NOT NULL,\n"
    "    ask_index      integer NOT NULL,\n"
    "    position       bigint NOT NULL,\n"
    "    outcome        smallint NOT NULL,\n"
    "    status         smallint NOT NULL,\n"
    "    period_from    date,\n"
    "    period_to      date,\n"
    "    has_amount     boolean NOT NULL,\n"
    "    amount_cents   bigint NOT NULL,\n"
    "    per            smallint NOT NULL,\n"
    "    budget_code    text NOT NULL,\n"
    "    PRIMARY KEY (tenant, application_id, ask_index, position)\n"
    ");\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.decision_results TO atb_reporting;\n"
    "ALTER TABLE reporting.applications ADD COLUMN received_position bigint, "
    "ADD COLUMN first_decided_position bigint, ADD COLUMN appealed_position bigint, "
    "ADD COLUMN applicant text NOT NULL DEFAULT '', ADD COLUMN social_worker text NOT NULL DEFAULT '';\n"
    "CREATE INDEX applications_applicant ON reporting.applications (tenant, applicant, received);\n"
    "DELETE FROM reporting.decisions;\n"
    "DELETE FROM reporting.applications;\n"
    "DELETE FROM atb.checkpoints WHERE consumer IN ('" DECISIONS_CONSUMER "', '" APPLICATIONS_CONSUMER "');\n",
    /* 6: indicators.c */
    "CREATE TABLE reporting.appeals (\n"
    "    appeal_key       text PRIMARY KEY,\n"
    "    tenant           text NOT NULL,\n"
    "    application_id   text NOT NULL,\n"
    "    ask_index        integer NOT NULL,\n"
    "    filed_on         date,\n"
    "    position         bigint NOT NULL,\n"
    "    outcome          smallint,\n"
    "    decided_on       date,\n"
    "    decided_position bigint\n"
    ");\n"
    "CREATE INDEX appeals_application ON reporting.appeals (tenant, application_id);\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.appeals TO atb_reporting;\n",
    /* 7: catalogue.c. Every version stays, with the position that published it. */
    "CREATE TABLE reporting.catalogues (\n"
    "    owner    text NOT NULL,\n"
    "    version  text NOT NULL,\n"
    "    position bigint NOT NULL,\n"
    "    PRIMARY KEY (owner, position)\n"
    ");\n"
    "CREATE TABLE reporting.units (\n"
    "    owner      text NOT NULL,\n"
    "    provider   text NOT NULL,\n"
    "    service    text NOT NULL,\n"
    "    capacity   integer NOT NULL,\n"
    "    valid_from date NOT NULL,\n"
    "    valid_to   date,\n"
    "    position   bigint NOT NULL,\n"
    "    PRIMARY KEY (owner, position, provider, service, valid_from)\n"
    ");\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.catalogues, reporting.units TO atb_reporting;\n",
    /* 8: budget.c. What each order kept back for each recovery claim (RecoveryCollected).
     * The payments consumer reads paybatch already, so the events before this migration are
     * projected again from position 0: every row of the consumer's tables is keyed and
     * written with ON CONFLICT DO NOTHING or a guarded UPDATE, so replaying changes only the
     * new table. */
    "CREATE TABLE reporting.recovery_collections (\n"
    "    claim_id     text NOT NULL,\n"
    "    order_id     text NOT NULL,\n"
    "    tenant       text NOT NULL,\n"
    "    batch_id     text NOT NULL,\n"
    "    budget_code  text NOT NULL,\n"
    "    funding      smallint NOT NULL,\n"
    "    amount_cents bigint NOT NULL,\n"
    "    position     bigint NOT NULL,\n"
    "    PRIMARY KEY (claim_id, order_id)\n"
    ");\n"
    "CREATE INDEX recovery_collections_order ON reporting.recovery_collections (order_id);\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.recovery_collections TO atb_reporting;\n"
    "DELETE FROM atb.checkpoints WHERE consumer = '" PAYMENTS_CONSUMER "';\n",
};
const size_t reporting_n_migrations = sizeof reporting_migrations / sizeof reporting_migrations[0];
