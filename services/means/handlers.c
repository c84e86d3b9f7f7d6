/*
 * handlers.c -- the commands and queries of the means service, and its schema.
 *
 * To add a command: 3 things to do.
 *  1. Add its request message (field 1: atb.v1.CommandMeta) and its event to
 *     proto/atb/v1/means.proto, and rows to docs/events.md.
 *  2. Write the handler in the file of what it changes (assess.c, override.c, ...).
 *  3. Add a row below.
 */
#include "means.h"

const svc_command means_commands[] = {
    {"AssessApplication", &atb__v1__assess_application__descriptor, assess_handle, 0},
    {"OverrideDecision", &atb__v1__override_decision__descriptor, override_handle, 0},
    {"ReplayDecision", &atb__v1__replay_decision__descriptor, replay_handle, SVC_QUERY},
    {"ExplainDecision", &atb__v1__explain_decision__descriptor, explain_handle, SVC_QUERY},
    {"RecalculateAtLevelChange", &atb__v1__recalculate_at_level_change__descriptor, levelchange_handle, 0},
    {"ListPersonStatuses", &atb__v1__list_person_statuses__descriptor, person_statuses_handle, SVC_QUERY},
};
const size_t means_n_commands = sizeof means_commands / sizeof means_commands[0];

/* The durable consumers (consume.c). A durable's name is also its checkpoint's: never
 * rename one, or it starts again from the beginning of the log (harmless, since every
 * effect is once per event, but slow). One category each, so each maps onto one filter
 * subject and keeps its own place. */
static const char *const application_categories[] = {"application"};
static const char *const appeal_categories[] = {"appeal"};

const svc_consumer means_consumers[] = {
    {"means-applications", application_categories, 1, consume_application, NULL},
    {"means-appeals", appeal_categories, 1, consume_appeal, NULL},
};
const size_t means_n_consumers = sizeof means_consumers / sizeof means_consumers[0];

/* Applied once each, in order, as the admin with search_path = means. Never edit one that
 * ran anywhere; append.
 *
 * means.grants and means.members are the projection of the granted decisions in the log
 * (written in the same transaction as the decision events, updated by overrides): the
 * history a later decision of the household reads. */
const char *const means_migrations[] = {
    "CREATE TABLE means.grants (\n"
    "    application_id uuid   NOT NULL,\n"
    "    ask_index      int    NOT NULL,\n"
    "    tenant         text   NOT NULL,\n"
    "    household      text   NOT NULL,\n"
    "    kind           text   NOT NULL CHECK (kind IN ('status', 'benefit')),\n"
    "    status         text   CHECK (status IN ('needy', 'low_income')),\n"
    "    benefit        text,\n"
    "    member         text,\n"
    "    decided_on     date   NOT NULL,\n"
    "    period_from    date,\n"
    "    period_to      date,\n"
    "    amount_cents   bigint NOT NULL DEFAULT 0,\n"
    "    units          bigint NOT NULL DEFAULT 0,\n"
    "    event_date     date,\n"
    "    PRIMARY KEY (application_id, ask_index)\n"
    ");\n"
    "CREATE INDEX grants_household ON means.grants (tenant, household, decided_on);\n"
    "COMMENT ON TABLE means.grants IS 'Granted statuses and benefits by household: a projection of the "
    "decision events, written with them.';\n"
    "CREATE TABLE means.members (\n"
    "    application_id uuid NOT NULL,\n"
    "    ask_index      int  NOT NULL,\n"
    "    tenant         text NOT NULL,\n"
    "    household      text NOT NULL,\n"
    "    member         text NOT NULL,\n"
    "    period_from    date NOT NULL,\n"
    "    period_to      date,\n"
    "    PRIMARY KEY (application_id, ask_index, member)\n"
    ");\n"
    "CREATE INDEX members_member ON means.members (tenant, member, period_from);\n"
    "COMMENT ON TABLE means.members IS 'Who belonged to a household while it held a granted status.';\n"
    "GRANT SELECT, INSERT, DELETE ON means.grants, means.members TO atb_means;\n",
};
const size_t means_n_migrations = sizeof means_migrations / sizeof means_migrations[0];
