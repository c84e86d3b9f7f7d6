/*
 * query.c -- the queries of the means service: ReplayDecision (replay.c does the work) and
 * ExplainDecision (the decisions as recorded, and a text rendering of them in Latvian and
 * English for a caseworker or an auditor).
 *
 * Both read the log only; neither needs the rule-set files. A query for an application of
 * another municipality is NOT_FOUND, as if it did not exist.
 */
#include "means.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "at_money.h"
#include "at_uuid.h"

#define MAX_TEXT (1u << 20)

at_code replay_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ReplayDecision *q = (const Atb__V1__ReplayDecision *)req->msg;
    means_lower(q->application_id);
    Atb__V1__ReplayReply *r = at_arena_alloc(req->arena, sizeof *r);
    if (!r)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_code code = replay_application(means_rulesets, req->es, req->tenant, q->application_id, req->arena, r, err);
    if (code != AT_OK)
        return code;
    svc_metric_add(req->service, r->proven ? "replays_proven" : "replays_mismatched", 1);
    *reply = &r->base;
    return AT_OK;
}

/* ---- text */

static const char *date_txt(const Atb__V1__Date *d, char *buf, size_t n)
{
    if (!d || (d->year == 0 && d->month == 0 && d->day == 0))
        snprintf(buf, n, "…");
    else
        snprintf(buf, n, "%04d-%02d-%02d", (int)d->year, (int)d->month, (int)d->day);
    return buf;
}

static const char *status_txt(Atb__V1__MeansStatus s)
{
    switch (s) {
    case ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY: return "trūcīga / needy";
    case ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME: return "maznodrošināta / low income";
    default: return "-";
    }
}

static const char *per_txt(Atb__V1__AmountPer p)
{
    switch (p) {
    case ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE: return "vienreiz / once";
    case ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH: return "mēnesī / a month";
    case ATB__V1__AMOUNT_PER__AMOUNT_PER_YEAR: return "gadā / a year";
    default: return "";
    }
}

static const char *payment_txt(Atb__V1__PaymentForm p)
{
    return (int)p >= 0 && (int)p <= 5 ? rules_payment_name((rules_payment)p) : "?";
}

static void result_txt(at_buf *b, const Atb__V1__DecisionResult *r)
{
    char f[16], t[16], am[32];
    if (!r) {
        at_buf_puts(b, "(no result)\n");
        return;
    }
    bool granted = r->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    at_buf_printf(b, "%s", granted ? "piešķirts / granted" : "atteikts / refused");
    if (r->benefit && r->benefit[0])
        at_buf_printf(b, " %s", r->benefit);
    if (r->component && r->component[0])
        at_buf_printf(b, " (%s)", r->component);
    if (r->status)
        at_buf_printf(b, ", %s", status_txt(r->status));
    if (r->has_amount) {
        at_cents_format(r->amount_cents, am, sizeof am);
        at_buf_printf(b, ", %s EUR %s", am, per_txt(r->per));
    }
    if (r->units)
        at_buf_printf(b, ", %" PRId64 " %s", r->units, r->unit_name ? r->unit_name : "");
    if (r->period_from)
        at_buf_printf(b, ", %s – %s", date_txt(r->period_from, f, sizeof f), date_txt(r->period_to, t, sizeof t));
    if (granted && r->payment)
        at_buf_printf(b, ", %s", payment_txt(r->payment));
    at_buf_puts(b, "\n");
    for (size_t i = 0; i < r->n_reasons; i++)
        at_buf_printf(b, "    iemesls / reason %s: %s / %s\n", r->reasons[i]->code, r->reasons[i]->text_lv,
                      r->reasons[i]->text_en);
}

static const char *outcome_txt(Atb__V1__StepOutcome o)
{
    switch (o) {
    case ATB__V1__STEP_OUTCOME__STEP_OUTCOME_PASS: return "izpildīts / met";
    case ATB__V1__STEP_OUTCOME__STEP_OUTCOME_FAIL: return "nav izpildīts / not met";
    default: return "";
    }
}

static void decision_txt(at_buf *b, const Atb__V1__RecordedDecision *rd)
{
    const Atb__V1__Decision *d = rd->decision;
    at_buf_printf(b, "Lēmums / Decision %d: %s (log position %" PRId64 ")\n", (int)d->ask_index, rd->event_type,
                  rd->position);
    for (size_t i = 0; i < d->n_rule_sets; i++)
        at_buf_printf(b, "  noteikumu kopa / rule set: %s %s\n", d->rule_sets[i]->scope, d->rule_sets[i]->version);
    at_buf_printf(b, "  ievaddati / input sha256: %s\n  rezultāts / result: ", d->input_sha256);
    result_txt(b, d->result);
    for (size_t i = 0; i < d->n_steps; i++) {
        const Atb__V1__ExplanationStep *s = d->steps[i];
        const char *o = outcome_txt(s->outcome);
        at_buf_printf(b, "  %zu. %s / %s%s%s%s\n", i + 1, s->label_lv, s->label_en, o[0] ? " [" : "", o,
                      o[0] ? "]" : "");
        if (s->values && s->values[0])
            at_buf_printf(b, "     %s\n", s->values);
        if (s->result && s->result[0])
            at_buf_printf(b, "     -> %s\n", s->result);
        for (size_t j = 0; j < s->n_reads; j++) {
            const Atb__V1__ParameterRead *r = s->reads[j];
            char f[16], t[16];
            at_buf_printf(b, "     * %s = %s (%s – %s, %s; %s)%s%s\n", r->name, r->value,
                          date_txt(r->from, f, sizeof f), date_txt(r->to, t, sizeof t), r->scope, r->source,
                          r->note && r->note[0] ? " — " : "", r->note ? r->note : "");
        }
    }
}

static void override_txt(at_buf *b, const Atb__V1__DecisionOverridden *o)
{
    static const char *const kinds[] = {"?", "komisijas lēmums / commission decision",
                                        "apstrīdēšanas rezultāts / appeal outcome", "labojums / correction",
                                        "pārrēķins GMI līmeņa maiņā / recalculated at a change of the GMI level"};
    char d[16];
    at_buf_printf(b, "Pārskatīts / Overridden decision %d: %s, %s, %s%s%s\n  pamatojums / reason: %s\n"
                     "  jaunais rezultāts / new result: ",
                  (int)o->ask_index, (int)o->kind >= 0 && (int)o->kind <= 4 ? kinds[o->kind] : "?", o->decided_by,
                  date_txt(o->decided_on, d, sizeof d), o->reference && o->reference[0] ? ", " : "",
                  o->reference ? o->reference : "", o->reason);
    result_txt(b, o->result);
}

at_code explain_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ExplainDecision *q = (const Atb__V1__ExplainDecision *)req->msg;
    if (!at_uuid_valid(q->application_id))
        return at_error_set(err, AT_VALIDATION, "application_id", "application id is not a UUID");
    means_lower(q->application_id);
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", q->application_id);
    es_batch *b = NULL;
    es_status st = es_read_stream(req->es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    size_t n = es_batch_count(b);
    if (n == 0 || strcmp(es_batch_get(b, 0)->tenant, req->tenant) != 0) {
        es_batch_free(b);
        at_error_set(err, AT_NOT_FOUND, "application_id", "no decision for application %s", q->application_id);
        at_error_detail(err, "Stream %s does not exist in this municipality.", stream);
        return AT_NOT_FOUND;
    }
    at_arena *a = req->arena;
    Atb__V1__ExplainReply *r = at_arena_alloc(a, sizeof *r);
    if (!r)
        goto oom;
    atb__v1__explain_reply__init(r);
    r->application_id = at_arena_strdup(a, q->application_id);
    r->decisions = at_arena_alloc(a, n * sizeof *r->decisions);
    r->overrides = at_arena_alloc(a, n * sizeof *r->overrides);
    if (!r->application_id || !r->decisions || !r->overrides)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const es_event *ev = es_batch_get(b, i);
        r->version = ev->version;
        if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) == 0) {
            Atb__V1__DecisionOverridden *o =
                atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
            if (o)
                r->overrides[r->n_overrides++] = o;
            continue;
        }
        Atb__V1__Decision *d = decision_unpack(a, ev);
        if (!d)
            continue;
        Atb__V1__RecordedDecision *rd = at_arena_alloc(a, sizeof *rd);
        if (!rd)
            goto oom;
        atb__v1__recorded_decision__init(rd);
        rd->event_type = at_arena_strdup(a, ev->type);
        rd->actor = at_arena_strdup(a, ev->actor);
        if (!rd->event_type || !rd->actor)
            goto oom;
        rd->position = ev->position;
        rd->version = ev->version;
        rd->recorded_at_us = ev->recorded_at_us;
        rd->decision = d;
        r->decisions[r->n_decisions++] = rd;
    }
    es_batch_free(b);
    b = NULL;

    at_buf t;
    at_buf_init(&t, MAX_TEXT);
    for (size_t i = 0; i < r->n_decisions; i++)
        decision_txt(&t, r->decisions[i]);
    for (size_t i = 0; i < r->n_overrides; i++)
        override_txt(&t, r->overrides[i]);
    r->text = at_arena_strdup(a, t.ptr);
    at_buf_free(&t);
    if (!r->text)
        goto oom;
    *reply = &r->base;
    return AT_OK;
oom:
    es_batch_free(b);
    return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}
