/*
 * appeal.c -- appeals: stream appeal-<key>, category "appeal".
 *
 * A decision is appealed first to the council (or its appeals commission), then to the
 * administrative court (documents 002 and 004; document 000 §1.5 requires the refusal to
 * tell the client how to appeal). FileAppeal appends AppealFiled to the appeal's stream
 * and ApplicationAppealed to the application's, in one transaction. DecideAppeal appends
 * AppealDecided. An outcome that changes the decision is not an edit of it: the means
 * service reads AppealDecided (CHANGED) and records DecisionOverridden on the decision's
 * stream, so the first decision, the appeal and the new result all stay in the log.
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

typedef struct appeal_state {
    int64_t version;
    Atb__V1__AppealFiled *filed;
    Atb__V1__AppealDecided *decided;    /* NULL while pending */
} appeal_state;

static at_code fold(svc_request *req, const char *key, appeal_state *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    char stream[64];
    snprintf(stream, sizeof stream, "appeal-%s", key);
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
    for (size_t i = 0; i < es_batch_count(b) && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        out->version = e->version;
        if (strcmp(e->type, "AppealFiled") == 0) {
            out->filed = (Atb__V1__AppealFiled *)intake_unpack(req->arena, &atb__v1__appeal_filed__descriptor, e, err);
            code = out->filed ? AT_OK : AT_INTERNAL;
        } else if (strcmp(e->type, "AppealDecided") == 0) {
            out->decided =
                (Atb__V1__AppealDecided *)intake_unpack(req->arena, &atb__v1__appeal_decided__descriptor, e, err);
            code = out->decided ? AT_OK : AT_INTERNAL;
        }
    }
    es_batch_free(b);
    return code;
}

/* True when decision-<application> holds a decision of ask `ask`. */
static at_code has_decision(svc_request *req, const char *application, int32_t ask, bool *found, at_error *err)
{
    *found = false;
    char stream[64];
    snprintf(stream, sizeof stream, "decision-%s", application);
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
    for (size_t i = 0; i < es_batch_count(b) && !*found; i++) {
        const es_event *e = es_batch_get(b, i);
        if (strcmp(e->type, "DecisionOverridden") == 0 || strcmp(e->type, "RuleSetPublished") == 0)
            continue;
        Atb__V1__StatusGranted *w =
            (Atb__V1__StatusGranted *)intake_unpack(req->arena, &atb__v1__status_granted__descriptor, e, err);
        if (!w) {
            code = AT_INTERNAL;
            break;
        }
        *found = w->decision && w->decision->ask_index == ask;
    }
    es_batch_free(b);
    return code;
}

at_code appeal_file(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__FileAppeal *c = (const Atb__V1__FileAppeal *)req->msg;
    at_code code;
    at_date filed;
    if ((code = intake_check_key(c->application_id, "application_id", true, err)) != AT_OK ||
        (code = intake_check_date(c->filed_on, "filed_on", true, true, &filed, err)) != AT_OK ||
        (code = intake_check_text(c->grounds, "grounds", INTAKE_TEXT_MAX, false, err)) != AT_OK ||
        (code = intake_check_key(c->follows, "follows", false, err)) != AT_OK)
        return code;
    if (c->body != ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL && c->body != ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT)
        return at_error_set(err, AT_VALIDATION, "body", "body is not COUNCIL (1) or COURT (2)");
    bool court = c->body == ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT;
    bool follows = c->follows && *c->follows;
    if (court != follows) {
        at_error_set(err, AT_VALIDATION, "follows", court ? "a court appeal names the council appeal it follows"
                                                          : "a council appeal follows no other appeal");
        at_error_detail(err, "A decision is appealed to the council first, then its outcome to the court.");
        return AT_VALIDATION;
    }
    application_state a;
    if ((code = application_fold(req, c->application_id, &a, err)) != AT_OK)
        return code;
    if (!a.received) {
        at_error_set(err, AT_NOT_FOUND, "application_id", "application not found");
        at_error_detail(err, "No application with the id %s exists in %s.", c->application_id, req->tenant);
        return AT_NOT_FOUND;
    }
    char app_stream[64];
    snprintf(app_stream, sizeof app_stream, "application-%s", c->application_id);
    if ((code = intake_expect(req, app_stream, a.version, err)) != AT_OK)
        return code;
    if (a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_DECIDED &&
        a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_APPEALED) {
        at_error_set(err, AT_CONFLICT, "application_id", "the application is not decided");
        at_error_detail(err, "An appeal is against a decision; this application has none yet.");
        return AT_CONFLICT;
    }
    bool found;
    if ((code = has_decision(req, c->application_id, c->ask_index, &found, err)) != AT_OK)
        return code;
    if (!found) {
        at_error_set(err, AT_VALIDATION, "ask_index", "the application has no decision %d", (int)c->ask_index);
        return AT_VALIDATION;
    }
    if (follows) {
        appeal_state prev;
        if ((code = fold(req, c->follows, &prev, err)) != AT_OK)
            return code;
        if (!prev.filed || strcmp(prev.filed->application_id, c->application_id) != 0 ||
            prev.filed->ask_index != c->ask_index || prev.filed->body != ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL)
            return at_error_set(err, AT_VALIDATION, "follows", "follows is not the council appeal of this decision");
        if (!prev.decided) {
            at_error_set(err, AT_CONFLICT, "follows", "the council has not decided the appeal yet");
            at_error_hint(err, "Record the council's outcome first (DecideAppeal).");
            return AT_CONFLICT;
        }
    }

    char key[37], stream[64];
    intake_key(req, "appeal", key);
    snprintf(stream, sizeof stream, "appeal-%s", key);
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    char note[37];
    if ((code = note_put(req, t, "grounds", c->grounds, note, err)) != AT_OK ||
        (code = link_put(t, req->tenant, stream, "appeal", a.received->applicant, a.received->household_key,
                         c->application_id, err)) != AT_OK)
        return code;
    Atb__V1__AppealFiled f = ATB__V1__APPEAL_FILED__INIT;
    f.appeal_key = key;
    f.application_id = c->application_id;
    f.ask_index = c->ask_index;
    f.body = c->body;
    f.filed_on = c->filed_on;
    f.grounds_note = note;
    f.follows = c->follows;
    Atb__V1__ApplicationAppealed ap = ATB__V1__APPLICATION_APPEALED__INIT;
    ap.application_id = c->application_id;
    ap.appeal_key = key;
    ap.body = c->body;
    ap.filed_on = c->filed_on;
    es_event_in e1, e2;
    es_append_res res, res2;
    if ((code = svc_pack(req->arena, &f.base, "AppealFiled", &e1, err)) != AT_OK ||
        (code = svc_pack(req->arena, &ap.base, "ApplicationAppealed", &e2, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = intake_append(req, t, stream, ES_VERSION_NONE, &e1, 1, 0, &res, err)) != AT_OK)
        return code;
    if (!res.duplicate &&
        (code = intake_append(req, t, app_stream, a.version, &e2, 1, 1, &res2, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, key, &res, reply, err);
}

at_code appeal_decide(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__DecideAppeal *c = (const Atb__V1__DecideAppeal *)req->msg;
    at_code code;
    at_date on;
    if ((code = intake_check_key(c->appeal_key, "appeal_key", true, err)) != AT_OK ||
        (code = intake_check_date(c->decided_on, "decided_on", true, true, &on, err)) != AT_OK ||
        (code = intake_check_text(c->reference, "reference", 200, false, err)) != AT_OK ||
        (code = intake_check_text(c->reasoning, "reasoning", INTAKE_TEXT_MAX, false, err)) != AT_OK)
        return code;
    if (c->outcome < ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_UPHELD ||
        c->outcome > ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_WITHDRAWN)
        return at_error_set(err, AT_VALIDATION, "outcome", "outcome is not given");
    bool changed = c->outcome == ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_CHANGED;
    if (changed && (!c->result || (c->result->outcome != ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED &&
                                   c->result->outcome != ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED))) {
        at_error_set(err, AT_VALIDATION, "result", "a CHANGED outcome carries the new result");
        at_error_detail(err, "result.outcome is GRANTED or REFUSED, with the amount and period decided.");
        return AT_VALIDATION;
    }
    if (!changed && c->result)
        return at_error_set(err, AT_VALIDATION, "result", "only a CHANGED outcome carries a result");
    if (changed && ((code = intake_check_cents(c->result->amount_cents, "result.amount_cents", err)) != AT_OK))
        return code;
    appeal_state ap;
    if ((code = fold(req, c->appeal_key, &ap, err)) != AT_OK)
        return code;
    char stream[64];
    snprintf(stream, sizeof stream, "appeal-%s", c->appeal_key);
    if (!ap.filed) {
        at_error_set(err, AT_NOT_FOUND, "appeal_key", "appeal not found");
        at_error_detail(err, "No appeal with the key %s exists in %s.", c->appeal_key, req->tenant);
        return AT_NOT_FOUND;
    }
    if ((code = intake_expect(req, stream, ap.version, err)) != AT_OK)
        return code;
    if (ap.decided) {
        at_error_set(err, AT_CONFLICT, "appeal_key", "the appeal is decided already");
        at_error_hint(err, "Appeal the outcome to the court (FileAppeal with follows).");
        return AT_CONFLICT;
    }
    at_date filed;
    svc_date_in(ap.filed->filed_on, &filed);
    if (on < filed)
        return at_error_set(err, AT_VALIDATION, "decided_on", "decided_on is before the appeal was filed");

    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    char note[37];
    if ((code = note_put(req, t, "reasoning", c->reasoning, note, err)) != AT_OK)
        return code;
    Atb__V1__AppealDecided d = ATB__V1__APPEAL_DECIDED__INIT;
    d.appeal_key = c->appeal_key;
    d.application_id = ap.filed->application_id;
    d.ask_index = ap.filed->ask_index;
    d.body = ap.filed->body;
    d.outcome = c->outcome;
    d.decided_on = c->decided_on;
    d.reference = c->reference;
    d.reasoning_note = note;
    d.result = c->result;
    es_event_in in;
    es_append_res res;
    if ((code = svc_pack(req->arena, &d.base, "AppealDecided", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = intake_append(req, t, stream, ap.version, &in, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, c->appeal_key, &res, reply, err);
}
