/*
 * handlers.c -- the commands and queries of the intake service, and its schema.
 *
 * To add a command: 3 things to do.
 *  1. Add its request message (field 1: atb.v1.CommandMeta) and its event to
 *     proto/atb/v1/intake.proto, and their rows to docs/events.md.
 *  2. Write the handler in the file of its aggregate (person.c, ...), declared in intake.h.
 *  3. Add a row below (SVC_QUERY for a query: no CommandMeta, appends nothing; SVC_REPLAY for
 *     a command, so a repeated command id gets its first result: svc.h).
 */
#include "intake.h"

const svc_command intake_commands[] = {
    {"RegisterPerson", &atb__v1__register_person__descriptor, person_register, SVC_REPLAY},
    {"GetPerson", &atb__v1__get_person__descriptor, person_get, SVC_QUERY},
    {"FindPersons", &atb__v1__find_persons__descriptor, person_find, SVC_QUERY},
    {"RecordPersonFact", &atb__v1__record_person_fact__descriptor, person_record_fact, SVC_REPLAY},
    {"CorrectPerson", &atb__v1__correct_person__descriptor, person_correct, SVC_REPLAY},
    {"ErasePerson", &atb__v1__erase_person__descriptor, person_erase, SVC_REPLAY},
    {"CreateHousehold", &atb__v1__create_household__descriptor, household_create, SVC_REPLAY},
    {"AddHouseholdMember", &atb__v1__add_household_member__descriptor, household_add, SVC_REPLAY},
    {"RemoveHouseholdMember", &atb__v1__remove_household_member__descriptor, household_remove, SVC_REPLAY},
    {"GetHousehold", &atb__v1__get_household__descriptor, household_get, SVC_QUERY},
    {"SubmitApplication", &atb__v1__submit_application__descriptor, application_submit, SVC_REPLAY},
    {"SubmitDeclaration", &atb__v1__submit_declaration__descriptor, application_declare, SVC_REPLAY},
    {"MarkApplicationIncomplete", &atb__v1__mark_application_incomplete__descriptor, application_incomplete, SVC_REPLAY},
    {"CompleteApplication", &atb__v1__complete_application__descriptor, application_complete, SVC_REPLAY},
    {"WithdrawApplication", &atb__v1__withdraw_application__descriptor, application_withdraw, SVC_REPLAY},
    {"RecordReceipts", &atb__v1__record_receipts__descriptor, application_receipts, SVC_REPLAY},
    {"GetApplication", &atb__v1__get_application__descriptor, application_get, SVC_QUERY},
    {"RecordHomeVisit", &atb__v1__record_home_visit__descriptor, visit_record, SVC_REPLAY},
    {"MakeAgreement", &atb__v1__make_agreement__descriptor, agreement_make, SVC_REPLAY},
    {"RecordDutyOutcome", &atb__v1__record_duty_outcome__descriptor, agreement_outcome, SVC_REPLAY},
    {"FileAppeal", &atb__v1__file_appeal__descriptor, appeal_file, SVC_REPLAY},
    {"DecideAppeal", &atb__v1__decide_appeal__descriptor, appeal_decide, SVC_REPLAY},
    {"OpenCase", &atb__v1__open_case__descriptor, case_open, SVC_REPLAY},
    {"ChangeCase", &atb__v1__change_case__descriptor, case_change, SVC_REPLAY},
    {"LogActivity", &atb__v1__log_activity__descriptor, case_log, SVC_REPLAY},
    {"GetCaseHistory", &atb__v1__get_case_history__descriptor, case_history, SVC_QUERY},
    {"ListPersonCases", &atb__v1__list_person_cases__descriptor, lists_person_cases, SVC_QUERY},
    {"ListHouseholdApplications", &atb__v1__list_household_applications__descriptor, lists_household_applications,
     SVC_QUERY},
    {"ListPersonAgreements", &atb__v1__list_person_agreements__descriptor, lists_person_agreements, SVC_QUERY},
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
    /* 3: free text kept out of events, the stream index, and memberships (the
     * one-household-at-a-time rule is checked here under the person's row lock). */
    "CREATE TABLE intake.notes (\n"
    "    note_key   uuid PRIMARY KEY,\n"
    "    tenant     text NOT NULL,\n"
    "    text       text,\n"
    "    created_at timestamptz NOT NULL DEFAULT now(),\n"
    "    erased_at  timestamptz\n"
    ");\n"
    "COMMENT ON TABLE intake.notes IS 'Free text a caseworker wrote, erasable: events carry the key only.';\n"
    "CREATE TABLE intake.links (\n"
    "    stream_id      text PRIMARY KEY,\n"
    "    tenant         text NOT NULL,\n"
    "    kind           text NOT NULL,\n"
    "    person_key     uuid,\n"
    "    household_key  uuid,\n"
    "    application_id uuid\n"
    ");\n"
    "CREATE INDEX links_person ON intake.links (tenant, person_key) WHERE person_key IS NOT NULL;\n"
    "CREATE INDEX links_household ON intake.links (tenant, household_key) WHERE household_key IS NOT NULL;\n"
    "CREATE INDEX links_application ON intake.links (tenant, application_id) WHERE application_id IS NOT NULL;\n"
    "COMMENT ON TABLE intake.links IS 'Which person, household and application each intake stream belongs to; "
    "written with the stream''s first event, rebuildable from the log.';\n"
    "CREATE TABLE intake.memberships (\n"
    "    tenant        text NOT NULL,\n"
    "    person_key    uuid NOT NULL,\n"
    "    household_key uuid NOT NULL,\n"
    "    joined        date NOT NULL,\n"
    "    left_on       date,\n"
    "    PRIMARY KEY (tenant, person_key, household_key, joined)\n"
    ");\n"
    "COMMENT ON TABLE intake.memberships IS 'Household memberships [joined, left_on), written with the "
    "MemberJoined/MemberLeft events; rebuildable from the log.';\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON intake.notes, intake.links, intake.memberships TO atb_intake;\n",
};
const size_t intake_n_migrations = sizeof intake_migrations / sizeof intake_migrations[0];
