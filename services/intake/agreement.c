/*
 * agreement.c -- co-operation agreements (vienošanās par līdzdarbību): stream
 * agreement-<key>, category "agreement".
 *
 * The agreement sets a member's duties (document 000 §1.1, §1.3; the activation duties
 * of a GMI recipient: register with the State Employment Agency, seek work, attend its
 * measures or the service's skills programme, ...). Each duty gets outcomes over time:
 * DutyFulfilled or DutyFailed. Means testing reads the result as the member flag
 * "cooperation_failed" on the decision date (agreement_failed_on): a duty whose latest
 * outcome up to that date is a failure. The flag removes the adults' share and keeps the
 * children's (docs/rules.md).
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

#define AGREEMENT_MAX_DUTIES 32

static const char *const duty_kinds[] = {"register_unemployed", "seek_work", "attend_programme",
                                         "apply_disability_assessment", "meet_social_worker", "other"};

static bool known_duty(const char *s)
{
    for (size_t i = 0; i < sizeof duty_kinds / sizeof duty_kinds[0]; i++)
        if (strcmp(s, duty_kinds[i]) == 0)
            return true;
    return false;
}

typedef struct agreement_state {
    int64_t version;
    Atb__V1__AgreementMade *made;
    /* Per duty (1-based), the latest outcome by date: 0 none, 1 fulfilled, -1 failed. */
    int outcome[AGREEMENT_MAX_DUTIES + 1];
    at_date outcome_on[AGREEMENT_MAX_DUTIES + 1];
} agreement_state;

/* Fold agreement-<key>; outcomes after `until` are left out (AT_DATE_NONE: all). */
static at_code fold(svc_request *req, const char *key, at_date until, agreement_state *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    char stream[64];
    snprintf(stream, sizeof stream, "agreement-%s", key);
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
    for (size_t i = 0; i < es_batch_count(b) && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        out->version = e->version;
        if (strcmp(e->type, "AgreementMade") == 0) {
            out->made = (Atb__V1__AgreementMade *)intake_unpack(req->arena, &atb__v1__agreement_made__descriptor, e,
                                                                 err);
            code = out->made ? AT_OK : AT_INTERNAL;
            continue;
        }
        bool ok = strcmp(e->type, "DutyFulfilled") == 0;
        if (!ok && strcmp(e->type, "DutyFailed") != 0)
            continue;
        /* DutyFulfilled and DutyFailed have the same fields. */
        Atb__V1__DutyFulfilled *o = (Atb__V1__DutyFulfilled *)intake_unpack(
            req->arena, &atb__v1__duty_fulfilled__descriptor, e, err);
        if (!o) {
            code = AT_INTERNAL;
            break;
        }
        at_date on;
        svc_date_in(o->on, &on);
        if (o->duty < 1 || o->duty > AGREEMENT_MAX_DUTIES || (until != AT_DATE_NONE && on > until))
            continue;
        if (on >= out->outcome_on[o->duty] || out->outcome[o->duty] == 0) {
            out->outcome[o->duty] = ok ? 1 : -1;
            out->outcome_on[o->duty] = on;
        }
    }
    es_batch_free(b);
    return code;
}

at_code agreement_make(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__MakeAgreement *c = (const Atb__V1__MakeAgreement *)req->msg;
    at_code code;
    at_date signed_on;
    if ((code = intake_check_key(c->person_key, "person_key", true, err)) != AT_OK ||
        (code = intake_check_key(c->application_id, "application_id", false, err)) != AT_OK ||
        (code = intake_check_date(c->signed_on, "signed_on", true, true, &signed_on, err)) != AT_OK)
        return code;
    if (c->n_duties == 0 || c->n_duties > AGREEMENT_MAX_DUTIES)
        return at_error_set(err, AT_VALIDATION, "duties", "an agreement has 1..%d duties", AGREEMENT_MAX_DUTIES);
    for (size_t i = 0; i < c->n_duties; i++) {
        const Atb__V1__Duty *d = c->duties[i];
        char f[48];
        at_date due;
        snprintf(f, sizeof f, "duties.%zu.kind", i + 1);
        if ((code = intake_check_code(d->kind, f, err)) != AT_OK)
            return code;
        if (!known_duty(d->kind)) {
            at_error_set(err, AT_VALIDATION, f, "unknown duty \"%s\"", d->kind);
            at_error_detail(err, "Duties are: register_unemployed, seek_work, attend_programme, "
                                 "apply_disability_assessment, meet_social_worker, other.");
            return AT_VALIDATION;
        }
        snprintf(f, sizeof f, "duties.%zu.due", i + 1);
        if ((code = intake_check_date(d->due, f, true, false, &due, err)) != AT_OK)
            return code;
        if (due < signed_on)
            return at_error_set(err, AT_VALIDATION, f, "%s is before the agreement was signed", f);
        snprintf(f, sizeof f, "duties.%zu.text", i + 1);
        if ((code = intake_check_text(d->text, f, INTAKE_TEXT_MAX, false, err)) != AT_OK)
            return code;
    }
    person_state ps;
    if ((code = person_fold(req, c->person_key, &ps, err)) != AT_OK)
        return code;
    if (ps.version == 0) {
        at_error_set(err, AT_NOT_FOUND, "person_key", "person not found");
        at_error_detail(err, "No person with the key %s is registered in %s.", c->person_key, req->tenant);
        return AT_NOT_FOUND;
    }
    if (c->application_id && *c->application_id) {
        application_state a;
        if ((code = application_fold(req, c->application_id, &a, err)) != AT_OK)
            return code;
        if (!a.received)
            return at_error_set(err, AT_NOT_FOUND, "application_id", "application not found");
    }

    char key[37], stream[64];
    intake_key(req, "agreement", key);
    snprintf(stream, sizeof stream, "agreement-%s", key);
    Atb__V1__DutyRecorded *duties = at_arena_alloc(req->arena, c->n_duties * sizeof *duties);
    Atb__V1__DutyRecorded **dp = at_arena_alloc(req->arena, c->n_duties * sizeof *dp);
    if (!duties || !dp)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    for (size_t i = 0; i < c->n_duties; i++) {
        char what[32], *note = at_arena_alloc(req->arena, 37);
        if (!note) {
            es_txn_rollback(t);
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        }
        snprintf(what, sizeof what, "duty%zu", i + 1);
        if ((code = note_put(req, t, what, c->duties[i]->text, note, err)) != AT_OK)
            return code;
        atb__v1__duty_recorded__init(&duties[i]);
        duties[i].index = (int32_t)(i + 1);
        duties[i].kind = c->duties[i]->kind;
        duties[i].due = c->duties[i]->due;
        duties[i].text_note = note;
        dp[i] = &duties[i];
    }
    if ((code = link_put(t, req->tenant, stream, "agreement", c->person_key, NULL, c->application_id, err)) != AT_OK)
        return code;
    Atb__V1__AgreementMade ev = ATB__V1__AGREEMENT_MADE__INIT;
    ev.agreement_key = key;
    ev.person_key = c->person_key;
    ev.application_id = c->application_id;
    ev.signed_on = c->signed_on;
    ev.n_duties = c->n_duties;
    ev.duties = dp;
    es_event_in in;
    es_append_res res;
    if ((code = svc_pack(req->arena, &ev.base, "AgreementMade", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = intake_append(req, t, stream, ES_VERSION_NONE, &in, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, key, &res, reply, err);
}

at_code agreement_outcome(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RecordDutyOutcome *c = (const Atb__V1__RecordDutyOutcome *)req->msg;
    at_code code;
    at_date on;
    if ((code = intake_check_key(c->agreement_key, "agreement_key", true, err)) != AT_OK ||
        (code = intake_check_date(c->on, "on", true, true, &on, err)) != AT_OK ||
        (code = intake_check_text(c->note, "note", INTAKE_TEXT_MAX, false, err)) != AT_OK)
        return code;
    agreement_state a;
    if ((code = fold(req, c->agreement_key, AT_DATE_NONE, &a, err)) != AT_OK)
        return code;
    char stream[64];
    snprintf(stream, sizeof stream, "agreement-%s", c->agreement_key);
    if (!a.made) {
        at_error_set(err, AT_NOT_FOUND, "agreement_key", "agreement not found");
        at_error_detail(err, "No agreement with the key %s exists in %s.", c->agreement_key, req->tenant);
        return AT_NOT_FOUND;
    }
    if ((code = intake_expect(req, stream, a.version, err)) != AT_OK)
        return code;
    if (c->duty < 1 || (size_t)c->duty > a.made->n_duties) {
        at_error_set(err, AT_VALIDATION, "duty", "the agreement has no duty %d", (int)c->duty);
        at_error_detail(err, "Its duties are numbered 1..%zu.", a.made->n_duties);
        return AT_VALIDATION;
    }
    at_date signed_on;
    svc_date_in(a.made->signed_on, &signed_on);
    if (on < signed_on)
        return at_error_set(err, AT_VALIDATION, "on", "on is before the agreement was signed");

    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    char note[37];
    if ((code = note_put(req, t, "note", c->note, note, err)) != AT_OK)
        return code;
    Atb__V1__DutyFulfilled ok = ATB__V1__DUTY_FULFILLED__INIT;
    Atb__V1__DutyFailed ko = ATB__V1__DUTY_FAILED__INIT;
    ok.agreement_key = ko.agreement_key = c->agreement_key;
    ok.duty = ko.duty = c->duty;
    ok.on = ko.on = c->on;
    ok.note = ko.note = note;
    es_event_in in;
    es_append_res res;
    code = c->fulfilled ? svc_pack(req->arena, &ok.base, "DutyFulfilled", &in, err)
                        : svc_pack(req->arena, &ko.base, "DutyFailed", &in, err);
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = intake_append(req, t, stream, a.version, &in, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, c->agreement_key, &res, reply, err);
}

at_code agreement_failed_on(svc_request *req, const char *person_key, at_date on, bool *failed, at_error *err)
{
    *failed = false;
    es_txn *t = NULL;
    at_code code = intake_begin(req, &t, err);
    if (code != AT_OK)
        return code;
    const char *p[2] = {req->tenant, person_key};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT substr(stream_id, 11) FROM intake.links WHERE tenant = $1 AND "
                               "person_key = $2::uuid AND kind = 'agreement' ORDER BY stream_id",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        code = intake_pg_failed(r, "read the agreements", err);
        PQclear(r);
        es_txn_rollback(t);
        return code;
    }
    es_txn_rollback(t);
    for (int i = 0; i < PQntuples(r) && !*failed && code == AT_OK; i++) {
        agreement_state a;
        if ((code = fold(req, PQgetvalue(r, i, 0), on, &a, err)) != AT_OK)
            break;
        for (size_t d = 1; a.made && d <= a.made->n_duties && d <= AGREEMENT_MAX_DUTIES; d++)
            if (a.outcome[d] < 0)
                *failed = true;
    }
    PQclear(r);
    return code;
}
