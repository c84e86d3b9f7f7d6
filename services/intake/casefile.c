/*
 * casefile.c -- the social case (sociālā lieta): stream case-<key>, category "case".
 *
 * A case is the social worker's file on a client: its sector (the department that works
 * it: social assistance, family support, elderly, ... — document 000 §IV, document 001
 * §1), its responsible worker, whether it is active, and an activity log of what was done
 * with the client (consultations, calls, referrals; document 000 §1.1). The case history
 * (history.c) shows the case with everything recorded about its client and household.
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

static const char *const sectors[] = {"social_assistance", "family_support", "elderly",      "disability",
                                      "addiction",         "homelessness",   "crisis",       "other"};
static const char *const activities[] = {"consultation", "phone_call", "referral", "document", "meeting",
                                         "home_visit",   "other"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

at_code case_fold(svc_request *req, const char *key, case_state *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    char stream[64];
    snprintf(stream, sizeof stream, "case-%s", key);
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
    for (size_t i = 0; i < es_batch_count(b) && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        out->version = e->version;
        if (strcmp(e->type, "CaseOpened") == 0) {
            out->opened = (Atb__V1__CaseOpened *)intake_unpack(req->arena, &atb__v1__case_opened__descriptor, e, err);
            code = out->opened ? AT_OK : AT_INTERNAL;
            if (out->opened) {
                out->worker = out->opened->social_worker;
                out->active = true;
            }
        } else if (strcmp(e->type, "CaseWorkerChanged") == 0) {
            Atb__V1__CaseWorkerChanged *w = (Atb__V1__CaseWorkerChanged *)intake_unpack(
                req->arena, &atb__v1__case_worker_changed__descriptor, e, err);
            code = w ? AT_OK : AT_INTERNAL;
            if (w)
                out->worker = w->social_worker;
        } else if (strcmp(e->type, "CaseClosed") == 0) {
            out->active = false;
        } else if (strcmp(e->type, "CaseReopened") == 0) {
            out->active = true;
        }
    }
    es_batch_free(b);
    return code;
}

/* Fold the case a command names; NOT_FOUND when it does not exist. */
static at_code load(svc_request *req, const char *key, case_state *c, char stream[64], at_error *err)
{
    at_code code = intake_check_key(key, "case_key", true, err);
    if (code != AT_OK || (code = case_fold(req, key, c, err)) != AT_OK)
        return code;
    snprintf(stream, 64, "case-%s", key);
    if (!c->opened) {
        at_error_set(err, AT_NOT_FOUND, "case_key", "case not found");
        at_error_detail(err, "No case with the key %s exists in %s.", key, req->tenant);
        return AT_NOT_FOUND;
    }
    return intake_expect(req, stream, c->version, err);
}

static at_code append_one(svc_request *req, es_txn *t, const char *stream, int64_t version,
                          const ProtobufCMessage *m, const char *type, const char *key, ProtobufCMessage **reply,
                          at_error *err)
{
    es_event_in ev;
    at_code code = svc_pack(req->arena, m, type, &ev, err);
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    es_append_res res;
    if ((code = intake_append(req, t, stream, version, &ev, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, key, &res, reply, err);
}

at_code case_open(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__OpenCase *c = (const Atb__V1__OpenCase *)req->msg;
    at_code code;
    at_date opened;
    if ((code = intake_check_key(c->person_key, "person_key", true, err)) != AT_OK ||
        (code = intake_check_key(c->household_key, "household_key", false, err)) != AT_OK ||
        (code = intake_check_code(c->sector, "sector", err)) != AT_OK ||
        (code = intake_check_text(c->social_worker, "social_worker", 100, true, err)) != AT_OK ||
        (code = intake_check_date(c->opened_on, "opened_on", true, true, &opened, err)) != AT_OK)
        return code;
    if (!in_list(c->sector, sectors, sizeof sectors / sizeof sectors[0])) {
        at_error_set(err, AT_VALIDATION, "sector", "unknown sector \"%s\"", c->sector);
        at_error_detail(err, "Sectors are: social_assistance, family_support, elderly, disability, addiction, "
                             "homelessness, crisis, other.");
        return AT_VALIDATION;
    }
    person_state ps;
    if ((code = person_fold(req, c->person_key, &ps, err)) != AT_OK)
        return code;
    if (ps.version == 0) {
        at_error_set(err, AT_NOT_FOUND, "person_key", "person not found");
        at_error_detail(err, "No person with the key %s is registered in %s.", c->person_key, req->tenant);
        return AT_NOT_FOUND;
    }
    if (c->household_key && *c->household_key) {
        household_state h;
        if ((code = household_fold(req, c->household_key, 0, &h, err)) != AT_OK)
            return code;
        if (h.version == 0)
            return at_error_set(err, AT_NOT_FOUND, "household_key", "household not found");
    }
    char key[37], stream[64];
    intake_key(req, "case", key);
    snprintf(stream, sizeof stream, "case-%s", key);
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    if ((code = link_put(t, req->tenant, stream, "case", c->person_key, c->household_key, NULL, err)) != AT_OK)
        return code;
    Atb__V1__CaseOpened ev = ATB__V1__CASE_OPENED__INIT;
    ev.case_key = key;
    ev.person_key = c->person_key;
    ev.household_key = c->household_key;
    ev.sector = c->sector;
    ev.social_worker = c->social_worker;
    ev.opened_on = c->opened_on;
    return append_one(req, t, stream, ES_VERSION_NONE, &ev.base, "CaseOpened", key, reply, err);
}

at_code case_change(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ChangeCase *c = (const Atb__V1__ChangeCase *)req->msg;
    at_code code;
    at_date on;
    bool worker = c->social_worker && *c->social_worker;
    if ((worker && (code = intake_check_text(c->social_worker, "social_worker", 100, true, err)) != AT_OK) ||
        (code = intake_check_date(c->on, "on", true, true, &on, err)) != AT_OK ||
        (code = intake_check_text(c->reason, "reason", INTAKE_TEXT_MAX, false, err)) != AT_OK)
        return code;
    if (c->active < 0 || c->active > 2)
        return at_error_set(err, AT_VALIDATION, "active", "active is 0 (unchanged), 1 (reopen) or 2 (close)");
    if (worker == (c->active != 0)) {
        at_error_set(err, AT_VALIDATION, "social_worker", "change either the worker or whether the case is active");
        return AT_VALIDATION;
    }
    case_state cs;
    char stream[64];
    if ((code = load(req, c->case_key, &cs, stream, err)) != AT_OK)
        return code;
    if ((c->active == 1 && cs.active) || (c->active == 2 && !cs.active)) {
        at_error_set(err, AT_CONFLICT, "active", "the case is %s already", cs.active ? "active" : "closed");
        return AT_CONFLICT;
    }
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    if (worker) {
        Atb__V1__CaseWorkerChanged ev = ATB__V1__CASE_WORKER_CHANGED__INIT;
        ev.case_key = c->case_key;
        ev.social_worker = c->social_worker;
        ev.on = c->on;
        return append_one(req, t, stream, cs.version, &ev.base, "CaseWorkerChanged", c->case_key, reply, err);
    }
    char note[37];
    if ((code = note_put(req, t, "reason", c->reason, note, err)) != AT_OK)
        return code;
    if (c->active == 2) {
        Atb__V1__CaseClosed ev = ATB__V1__CASE_CLOSED__INIT;
        ev.case_key = c->case_key;
        ev.on = c->on;
        ev.reason_note = note;
        return append_one(req, t, stream, cs.version, &ev.base, "CaseClosed", c->case_key, reply, err);
    }
    Atb__V1__CaseReopened ev = ATB__V1__CASE_REOPENED__INIT;
    ev.case_key = c->case_key;
    ev.on = c->on;
    ev.reason_note = note;
    return append_one(req, t, stream, cs.version, &ev.base, "CaseReopened", c->case_key, reply, err);
}

at_code case_log(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__LogActivity *c = (const Atb__V1__LogActivity *)req->msg;
    at_code code;
    at_date on;
    if ((code = intake_check_code(c->kind, "kind", err)) != AT_OK ||
        (code = intake_check_date(c->on, "on", true, true, &on, err)) != AT_OK ||
        (code = intake_check_text(c->text, "text", INTAKE_TEXT_MAX, true, err)) != AT_OK)
        return code;
    if (!in_list(c->kind, activities, sizeof activities / sizeof activities[0])) {
        at_error_set(err, AT_VALIDATION, "kind", "unknown activity \"%s\"", c->kind);
        at_error_detail(err, "Activities are: consultation, phone_call, referral, document, meeting, home_visit, "
                             "other.");
        return AT_VALIDATION;
    }
    case_state cs;
    char stream[64];
    if ((code = load(req, c->case_key, &cs, stream, err)) != AT_OK)
        return code;
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    char note[37];
    if ((code = note_put(req, t, "text", c->text, note, err)) != AT_OK)
        return code;
    Atb__V1__ActivityLogged ev = ATB__V1__ACTIVITY_LOGGED__INIT;
    ev.case_key = c->case_key;
    ev.kind = c->kind;
    ev.on = c->on;
    ev.text_note = note;
    return append_one(req, t, stream, cs.version, &ev.base, "ActivityLogged", c->case_key, reply, err);
}
