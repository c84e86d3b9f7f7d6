/*
 * visit.c -- home visits (apsekošana dzīvesvietā): stream visit-<key>, category "visit".
 *
 * A visit establishes who really lives at the address and in what conditions (document
 * 004 §5 citing the Law on Social Services and Social Assistance art. 45; document 000
 * §1.1). The event holds the structured findings (the registered persons found, how many
 * others, condition codes); the worker's words are a note in the erasable note store.
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

#define VISIT_MAX_ITEMS 30

/* The condition codes a visit records. A new code is added here and in intake.proto. */
static const char *const conditions[] = {"adequate",     "no_heating",   "no_water",           "unsanitary",
                                         "overcrowded",  "needs_repair", "no_bath",            "children_neglected",
                                         "unsafe",       "no_electricity"};

static bool known_condition(const char *s)
{
    for (size_t i = 0; i < sizeof conditions / sizeof conditions[0]; i++)
        if (strcmp(s, conditions[i]) == 0)
            return true;
    return false;
}

at_code visit_record(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RecordHomeVisit *c = (const Atb__V1__RecordHomeVisit *)req->msg;
    at_code code;
    at_date on;
    if ((code = intake_check_key(c->household_key, "household_key", true, err)) != AT_OK ||
        (code = intake_check_key(c->application_id, "application_id", false, err)) != AT_OK ||
        (code = intake_check_date(c->visited_on, "visited_on", true, true, &on, err)) != AT_OK ||
        (code = intake_check_text(c->findings, "findings", INTAKE_TEXT_MAX, false, err)) != AT_OK ||
        (code = intake_check_text(c->social_worker, "social_worker", 100, true, err)) != AT_OK)
        return code;
    if (c->others_found < 0 || c->others_found > 100)
        return at_error_set(err, AT_VALIDATION, "others_found", "others_found is outside 0..100");
    if (c->n_found > VISIT_MAX_ITEMS || c->n_conditions > VISIT_MAX_ITEMS)
        return at_error_set(err, AT_VALIDATION, "found", "a visit lists at most %d persons and conditions",
                            VISIT_MAX_ITEMS);
    household_state h;
    if ((code = household_fold(req, c->household_key, 0, &h, err)) != AT_OK)
        return code;
    if (h.version == 0) {
        at_error_set(err, AT_NOT_FOUND, "household_key", "household not found");
        at_error_detail(err, "No household with the key %s exists in %s.", c->household_key, req->tenant);
        return AT_NOT_FOUND;
    }
    for (size_t i = 0; i < c->n_found; i++) {
        char f[48];
        snprintf(f, sizeof f, "found.%zu", i + 1);
        if ((code = intake_check_key(c->found[i], f, true, err)) != AT_OK)
            return code;
        /* Found at the address but not in the household is a finding, not an error: the
         * worker records it; only a key nobody registered is refused. */
        person_state ps;
        if ((code = person_fold(req, c->found[i], &ps, err)) != AT_OK)
            return code;
        if (ps.version == 0)
            return at_error_set(err, AT_NOT_FOUND, f, "person not found");
    }
    for (size_t i = 0; i < c->n_conditions; i++) {
        char f[48];
        snprintf(f, sizeof f, "conditions.%zu", i + 1);
        if ((code = intake_check_code(c->conditions[i], f, err)) != AT_OK)
            return code;
        if (!known_condition(c->conditions[i])) {
            at_error_set(err, AT_VALIDATION, f, "unknown condition \"%s\"", c->conditions[i]);
            at_error_detail(err, "Conditions are: adequate, no_heating, no_water, unsanitary, overcrowded, "
                                 "needs_repair, no_bath, children_neglected, unsafe, no_electricity.");
            return AT_VALIDATION;
        }
    }
    if (c->application_id && *c->application_id) {
        application_state a;
        if ((code = application_fold(req, c->application_id, &a, err)) != AT_OK)
            return code;
        if (!a.received || strcmp(a.received->household_key, c->household_key) != 0)
            return at_error_set(err, AT_VALIDATION, "application_id", "no application of this household has that id");
    }

    char key[37], stream[64];
    intake_key(req, "visit", key);
    snprintf(stream, sizeof stream, "visit-%s", key);
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    char note[37];
    if ((code = note_put(req, t, "findings", c->findings, note, err)) != AT_OK ||
        (code = link_put(t, req->tenant, stream, "visit", NULL, c->household_key, c->application_id, err)) != AT_OK)
        return code;
    Atb__V1__HomeVisitRecorded ev = ATB__V1__HOME_VISIT_RECORDED__INIT;
    ev.visit_key = key;
    ev.household_key = c->household_key;
    ev.application_id = c->application_id;
    ev.visited_on = c->visited_on;
    ev.n_found = c->n_found;
    ev.found = c->found;
    ev.others_found = c->others_found;
    ev.n_conditions = c->n_conditions;
    ev.conditions = c->conditions;
    ev.findings_note = note;
    ev.social_worker = c->social_worker;
    es_event_in in;
    es_append_res res;
    if ((code = svc_pack(req->arena, &ev.base, "HomeVisitRecorded", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = intake_append(req, t, stream, ES_VERSION_NONE, &in, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, key, &res, reply, err);
}
