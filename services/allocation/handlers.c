/*
 * handlers.c -- the commands and queries of the allocation service, and its schema.
 *
 * To add a command: 3 things to do.
 *  1. Add its request message (field 1: atb.v1.CommandMeta) and its event to
 *     proto/atb/v1/allocation.proto, and rows to docs/events.md.
 *  2. Write the handler in the file of what it changes (request.c, place.c, ...).
 *  3. Add a row below.
 */
#include "allocation.h"

const svc_command allocation_commands[] = {
    {"RequestService", &atb__v1__request_service__descriptor, request_service, 0},
    {"RecordAssessment", &atb__v1__record_assessment__descriptor, request_assess, 0},
    {"Allocate", &atb__v1__allocate__descriptor, place_allocate, 0},
    {"AnswerOffer", &atb__v1__answer_offer__descriptor, place_answer, 0},
    {"EmergencyAdmission", &atb__v1__emergency_admission__descriptor, place_emergency, 0},
    {"ChangePlacement", &atb__v1__change_placement__descriptor, place_change, 0},
    {"Discharge", &atb__v1__discharge__descriptor, place_discharge, 0},
    {"RecordCharges", &atb__v1__record_charges__descriptor, charges_record, 0},
    {"WithdrawServiceRequest", &atb__v1__withdraw_service_request__descriptor, withdraw_request, 0},
    {"ExpireOffers", &atb__v1__expire_offers__descriptor, withdraw_expire, 0},
    {"GetWaitingList", &atb__v1__get_waiting_list__descriptor, request_list, SVC_QUERY},
    {"GetOccupancy", &atb__v1__get_occupancy__descriptor, occupancy_get, SVC_QUERY},
};
const size_t allocation_n_commands = sizeof allocation_commands / sizeof allocation_commands[0];

/* Applied once each, in order, as the admin with search_path = allocation. Never edit one
 * that ran anywhere; append.
 *
 * Every table but units is a projection of the log written in the same transaction as
 * its events; units holds one row per provider unit of the catalogue, the row every
 * command that takes or frees a place of that unit locks first. */
const char *const allocation_migrations[] = {
    "CREATE TABLE allocation.units (\n"
    "    owner    text NOT NULL,\n"
    "    provider text NOT NULL,\n"
    "    service  text NOT NULL,\n"
    "    PRIMARY KEY (owner, provider, service)\n"
    ");\n"
    "COMMENT ON TABLE allocation.units IS 'One row per provider unit of the catalogue: the lock taken before "
    "a place of the unit is offered, taken or freed.';\n"
    "CREATE TABLE allocation.assessments (\n"
    "    assessment_key uuid   PRIMARY KEY,\n"
    "    tenant         text   NOT NULL,\n"
    "    person_key     uuid   NOT NULL,\n"
    "    assessed_on    date   NOT NULL,\n"
    "    care_level     int    NOT NULL,\n"
    "    seq            bigserial\n"
    ");\n"
    "CREATE INDEX assessments_person ON allocation.assessments (tenant, person_key, assessed_on, seq);\n"
    "CREATE TABLE allocation.requests (\n"
    "    request_key      uuid    PRIMARY KEY,\n"
    "    tenant           text    NOT NULL,\n"
    "    person_key       uuid    NOT NULL,\n"
    "    service          text    NOT NULL,\n"
    "    urgency          int     NOT NULL,\n"
    "    load             int     NOT NULL,\n"
    "    birth_date       date    NOT NULL,\n"
    "    disability_group int     NOT NULL,\n"
    "    status           int     NOT NULL,\n"
    "    resident         boolean NOT NULL,\n"
    "    target_groups    text[]  NOT NULL,\n"
    "    requested_on     date    NOT NULL,\n"
    "    state            text    NOT NULL CHECK (state IN ('waiting', 'offered', 'placed', 'declined')),\n"
    "    seq              bigserial\n"
    ");\n"
    "CREATE INDEX requests_list ON allocation.requests (tenant, service, state, seq);\n"
    "CREATE TABLE allocation.offers (\n"
    "    offer_key   uuid PRIMARY KEY,\n"
    "    tenant      text NOT NULL,\n"
    "    request_key uuid NOT NULL,\n"
    "    person_key  uuid NOT NULL,\n"
    "    owner       text NOT NULL,\n"
    "    provider    text NOT NULL,\n"
    "    service     text NOT NULL,\n"
    "    agreement   text NOT NULL,\n"
    "    load        int  NOT NULL,\n"
    "    offered_on  date NOT NULL,\n"
    "    state       text NOT NULL CHECK (state IN ('open', 'accepted', 'declined'))\n"
    ");\n"
    "CREATE INDEX offers_unit ON allocation.offers (owner, provider, service, state);\n"
    "CREATE TABLE allocation.placements (\n"
    "    placement_key uuid    PRIMARY KEY,\n"
    "    tenant        text    NOT NULL,\n"
    "    person_key    uuid    NOT NULL,\n"
    "    request_key   uuid,\n"
    "    owner         text    NOT NULL,\n"
    "    provider      text    NOT NULL,\n"
    "    service       text    NOT NULL,\n"
    "    agreement     text    NOT NULL,\n"
    "    load          int     NOT NULL,\n"
    "    status        int     NOT NULL,\n"
    "    emergency     boolean NOT NULL,\n"
    "    start_on      date    NOT NULL,\n"
    "    ended_on      date\n"
    ");\n"
    "CREATE INDEX placements_unit ON allocation.placements (owner, provider, service, ended_on);\n"
    "CREATE INDEX placements_tenant ON allocation.placements (tenant, service, start_on);\n"
    "GRANT SELECT, INSERT, UPDATE ON allocation.units, allocation.assessments, allocation.requests, "
    "allocation.offers, allocation.placements TO atb_allocation;\n"
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA allocation TO atb_allocation;\n",
    /* 2: changes of hours and suspensions, dated; what the charges of a period read. */
    "CREATE TABLE allocation.placement_changes (\n"
    "    placement_key uuid    NOT NULL,\n"
    "    from_on       date    NOT NULL,\n"
    "    load          int     NOT NULL,\n"
    "    suspended     boolean NOT NULL,\n"
    "    seq           bigserial,\n"
    "    PRIMARY KEY (placement_key, seq)\n"
    ");\n"
    "GRANT SELECT, INSERT ON allocation.placement_changes TO atb_allocation;\n"
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA allocation TO atb_allocation;\n",
    /* 3: the means-tested statuses of persons, from means testing's StatusGranted events
     * (consumer allocation-decisions, consume.c); one row per member and decision. */
    "CREATE TABLE allocation.statuses (\n"
    "    tenant     text   NOT NULL,\n"
    "    person_key uuid   NOT NULL,\n"
    "    status     int    NOT NULL CHECK (status IN (1, 2)),\n"
    "    from_on    date   NOT NULL,\n"
    "    to_on      date,\n"
    "    source     text   NOT NULL,\n"
    "    position   bigint NOT NULL,\n"
    "    PRIMARY KEY (tenant, person_key, position)\n"
    ");\n"
    "COMMENT ON TABLE allocation.statuses IS 'Statuses granted by means testing (StatusGranted), per member of "
    "the decision''s household; to_on NULL = open-ended; position = the decision event.';\n"
    "GRANT SELECT, INSERT ON allocation.statuses TO atb_allocation;\n",
    /* 4: persons from intake's person streams (consumer allocation-persons, consume.c): the
     * birth date, and the dated disability and residence facts. */
    "CREATE TABLE allocation.persons (\n"
    "    tenant     text   NOT NULL,\n"
    "    person_key uuid   NOT NULL,\n"
    "    birth_date date   NOT NULL,\n"
    "    position   bigint NOT NULL,\n"
    "    PRIMARY KEY (tenant, person_key)\n"
    ");\n"
    "CREATE TABLE allocation.person_facts (\n"
    "    position     bigint  PRIMARY KEY,\n"
    "    tenant       text    NOT NULL,\n"
    "    person_key   uuid    NOT NULL,\n"
    "    kind         int     NOT NULL,\n"
    "    level        int     NOT NULL,\n"
    "    municipality text    NOT NULL,\n"
    "    from_on      date    NOT NULL,\n"
    "    to_on        date,\n"
    "    replaced     boolean NOT NULL DEFAULT false\n"
    ");\n"
    "CREATE INDEX person_facts_person ON allocation.person_facts (tenant, person_key, kind, from_on);\n"
    "COMMENT ON TABLE allocation.person_facts IS 'DISABILITY (kind 2) and RESIDENCE (kind 1) facts of intake''s "
    "PersonFactRecorded; replaced = a later correction names it.';\n"
    "GRANT SELECT, INSERT, UPDATE ON allocation.persons, allocation.person_facts TO atb_allocation;\n",
    /* 5: statuses changed by means testing's DecisionOverridden (consume.c): the rows of one
     * decision share decision_position (the StatusGranted or StatusRefused the override
     * names); event = the type of the event at position; status 0 = annulled from from_on
     * by an override (a status of another decision still wins). A request remembers whether
     * its status came from the log, so its charges follow the log's later changes. */
    "ALTER TABLE allocation.statuses DROP CONSTRAINT statuses_status_check, ADD CONSTRAINT statuses_status_check "
    "CHECK (status IN (0, 1, 2));\n"
    "ALTER TABLE allocation.statuses ADD COLUMN decision_position bigint, "
    "ADD COLUMN event text NOT NULL DEFAULT 'StatusGranted';\n"
    "UPDATE allocation.statuses SET decision_position = position;\n"
    "ALTER TABLE allocation.statuses ALTER COLUMN decision_position SET NOT NULL;\n"
    "CREATE INDEX statuses_decision ON allocation.statuses (tenant, decision_position);\n"
    "ALTER TABLE allocation.requests ADD COLUMN status_filled boolean NOT NULL DEFAULT false;\n"
    "GRANT UPDATE, DELETE ON allocation.statuses TO atb_allocation;\n",
    /* 6: withdrawn requests, and offers passed on when withdrawn or not answered in time. */
    "ALTER TABLE allocation.requests DROP CONSTRAINT requests_state_check, ADD CONSTRAINT requests_state_check "
    "CHECK (state IN ('waiting', 'offered', 'placed', 'declined', 'withdrawn', 'expired'));\n"
    "ALTER TABLE allocation.offers DROP CONSTRAINT offers_state_check, ADD CONSTRAINT offers_state_check "
    "CHECK (state IN ('open', 'accepted', 'declined', 'withdrawn', 'expired'));\n",
};
const size_t allocation_n_migrations = sizeof allocation_migrations / sizeof allocation_migrations[0];
