/*
 * consume.c -- what payments does with other services' events: two durable consumers
 * (handlers.c lists them), each run by libs/service on its own thread, each handler inside
 * the transaction that moves its checkpoint.
 *
 *   payments-decisions  category "decision" (means testing): BenefitGranted with money is
 *                       a grant and its schedule; DecisionOverridden changes or revokes it
 *                       from its date on. Statuses, refusals and in-kind grants carry no
 *                       money and are acknowledged without an effect.
 *   payments-charges    category "charges" (service allocation, stream
 *                       charges-<tenant>.<from>.<to>): InterMunicipalCharge bought by this
 *                       municipality is paid to the seller municipality (payee key
 *                       "municipality:<seller>"); ChargeRecorded whose payer is this
 *                       municipality, the state or an EU fund is paid to its provider (payee
 *                       key "provider:<owner>.<provider>"). A client's share (payer "client")
 *                       is a receivable, not a payment: acknowledged without effect.
 *
 * Invariants:
 *  - Once per event: the event id goes into payments.sources in the same transaction, so a
 *    redelivery, a checkpoint moved back or a restart finds it and does nothing.
 *  - An event that can never be handled (it does not decode, a monthly grant without an
 *    end, a charge of 0 or less or without a payee) returns AT_VALIDATION / AT_MALFORMED: rolled
 *    back, recorded by libs/bus in atb.dead_letters, and the consumer moves on. PostgreSQL
 *    trouble is AT_UNAVAILABLE / AT_INTERNAL: rolled back and retried.
 */
#include "payments.h"
#include "atb/v1/allocation.pb-c.h"

#include <stdio.h>
#include <string.h>

#include "at_time.h"
#include "at_uuid.h"

#define ARENA_BLOCK (64 * 1024)

static at_code malformed(const es_event *ev, const char *what, at_error *err)
{
    at_error_set(err, AT_MALFORMED, NULL, "cannot decode %s at position %lld", ev->type, (long long)ev->position);
    at_error_detail(err, "The payload is not an atb.v1.%s.", what);
    at_error_hint(err, "The event stays in the log; fix the producer and record the fact again.");
    return AT_MALFORMED;
}

/* Claim the event for this consumer; *fresh false when it was handled before. */
static at_code claim_source(es_txn *t, const es_event *ev, const char *consumer, bool *fresh, at_error *err)
{
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[3] = {ev->event_id, consumer, pos};
    PGresult *r;
    at_code c = pay_sql(t,
                        "INSERT INTO payments.sources (event_id, consumer, position) VALUES ($1, $2, $3) "
                        "ON CONFLICT (event_id) DO NOTHING RETURNING 1",
                        3, p, &r, err);
    if (c != AT_OK)
        return c;
    *fresh = PQntuples(r) > 0;
    PQclear(r);
    return AT_OK;
}

static Atb__V1__PaymentChannel channel_of(Atb__V1__PaymentForm f)
{
    switch (f) {
    case ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH:
        return ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_CASH;
    case ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT:
    case ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH_OR_ACCOUNT:
    case ATB__V1__PAYMENT_FORM__PAYMENT_FORM_UNSPECIFIED:
        return ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_ACCOUNT;
    case ATB__V1__PAYMENT_FORM__PAYMENT_FORM_PROVIDER:
        return ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_PROVIDER;
    default:
        return ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_UNSPECIFIED;   /* in kind: no money */
    }
}

/* Does this result pay money? */
static bool pays(const Atb__V1__DecisionResult *r)
{
    return r && r->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED && r->has_amount &&
           r->amount_cents > 0 && r->per != ATB__V1__AMOUNT_PER__AMOUNT_PER_UNSPECIFIED &&
           channel_of(r->payment) != ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_UNSPECIFIED;
}

static at_code terms_of(const Atb__V1__DecisionResult *r, at_date decided_on, pay_terms *tm, at_error *err)
{
    memset(tm, 0, sizeof *tm);
    tm->decided_on = decided_on;
    if (!pays(r))
        return AT_OK;   /* amount 0: nothing is due from the terms' date on */
    tm->amount = r->amount_cents;
    tm->per = (pay_per)r->per;
    if (!svc_date_in(r->period_from, &tm->from) || !svc_date_in(r->period_to, &tm->to))
        return at_error_set(err, AT_VALIDATION, "result.period_from", "the decision's period is not a date");
    if (tm->from == AT_DATE_NONE)
        tm->from = decided_on;   /* a one-off without a period is for the decision's day */
    return AT_OK;
}

static void grant_key(const char *application_id, int ask, char *out, size_t n)
{
    snprintf(out, n, "%s/%d", application_id, ask);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static at_code on_granted(es_txn *t, const es_event *ev, at_arena *a, at_error *err)
{
    Atb__V1__BenefitGranted *bg = atb__v1__benefit_granted__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!bg || !bg->decision)
        return malformed(ev, "BenefitGranted", err);
    Atb__V1__Decision *d = bg->decision;
    if (!pays(d->result) || !d->input)
        return AT_OK;   /* in kind, no amount: nothing to pay */
    at_date decided_on;
    if (!svc_date_in(d->input->decision_date, &decided_on) || decided_on == AT_DATE_NONE)
        decided_on = at_date_of_us(ev->occurred_at_us);
    char grant[96];
    grant_key(d->application_id, d->ask_index, grant, sizeof grant);
    const char *person = d->input->ask && d->input->ask->subject && *d->input->ask->subject ? d->input->ask->subject
                                                                                            : d->input->applicant;
    pay_terms_in in = {
        .grant = grant,
        .tenant = ev->tenant,
        .person = person ? person : "",
        .benefit = d->result->benefit && *d->result->benefit ? d->result->benefit : "BENEFIT",
        .budget_code = d->result->budget_code,
        .channel = channel_of(d->result->payment),
        .effective_after = AT_DATE_NONE,
    };
    at_code c = terms_of(d->result, decided_on, &in.terms, err);
    bool changed;
    return c != AT_OK ? c : ledger_apply(t, &in, ev, a, &changed, err);
}

static at_code on_overridden(es_txn *t, const es_event *ev, at_arena *a, at_error *err)
{
    Atb__V1__DecisionOverridden *o =
        atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!o)
        return malformed(ev, "DecisionOverridden", err);
    char grant[96];
    grant_key(o->application_id, o->ask_index, grant, sizeof grant);
    at_date decided_on;
    if (!svc_date_in(o->decided_on, &decided_on) || decided_on == AT_DATE_NONE)
        decided_on = at_date_of_us(ev->occurred_at_us);
    bool exists;
    at_code c = ledger_grant_exists(t, grant, &exists, err);
    if (c != AT_OK)
        return c;
    if (!exists && !pays(o->result))
        return AT_OK;   /* a refusal confirmed, or an in-kind grant changed: no money either way */
    const Atb__V1__DecisionResult *r = o->result;
    pay_terms_in in = {
        .grant = grant,
        .tenant = ev->tenant,
        .person = "",
        .benefit = r && r->benefit && *r->benefit ? r->benefit : "BENEFIT",
        .budget_code = r ? r->budget_code : "",
        .channel = r ? channel_of(r->payment) : ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_ACCOUNT,
        .effective_after = exists ? decided_on : AT_DATE_NONE,
    };
    if (!exists) {
        /* a refusal turned into a grant: the person is in the decision the override names */
        es_batch *b = NULL;
        char stream[80];
        snprintf(stream, sizeof stream, "decision-%s", o->application_id);
        es_status st = es_read_stream(es_txn_store(t), stream, 1, SIZE_MAX, &b, err);
        if (st != ES_OK)
            return es_status_code(st);
        for (size_t i = 0; i < es_batch_count(b); i++) {
            const es_event *e = es_batch_get(b, i);
            if (strcmp(e->type, "BenefitRefused") != 0 && strcmp(e->type, "BenefitGranted") != 0)
                continue;
            Atb__V1__BenefitRefused *br =
                atb__v1__benefit_refused__unpack(at_arena_pbc(a), e->payload_len, e->payload);
            if (br && br->decision && br->decision->ask_index == o->ask_index && br->decision->input) {
                const Atb__V1__DecisionInput *di = br->decision->input;
                const char *p = di->ask && di->ask->subject && *di->ask->subject ? di->ask->subject : di->applicant;
                in.person = at_arena_strdup(a, p ? p : "");
            }
        }
        es_batch_free(b);
        if (!in.person[0]) {
            at_error_set(err, AT_NOT_FOUND, "ask_index", "no decision %d of application %s to pay", o->ask_index,
                         o->application_id);
            return AT_NOT_FOUND;
        }
    }
    if ((c = terms_of(r, decided_on, &in.terms, err)) != AT_OK)
        return c;
    bool changed;
    return ledger_apply(t, &in, ev, a, &changed, err);
}

at_code consume_decision(void *ctx, es_txn *t, const es_event *ev, at_error *err)
{
    (void)ctx;
    bool granted = strcmp(ev->type, "BenefitGranted") == 0, overridden = strcmp(ev->type, "DecisionOverridden") == 0;
    if (!granted && !overridden)
        return AT_OK;
    bool fresh;
    at_code c = claim_source(t, ev, "payments-decisions", &fresh, err);
    if (c != AT_OK || !fresh)
        return c;
    at_arena *a = at_arena_new(ARENA_BLOCK);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    c = granted ? on_granted(t, ev, a, err) : on_overridden(t, ev, a, err);
    at_arena_free(a);
    return c;
}

static Atb__V1__FundingSource funding_of(const char *s)
{
    if (!s || !*s || strcmp(s, "municipality") == 0)
        return ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL;
    if (strcmp(s, "state") == 0)
        return ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_STATE;
    if (strcmp(s, "eu_fund") == 0)
        return ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_EU;
    return ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_UNSPECIFIED;
}

static at_code charge_refused(const char *field, const char *what, const es_event *ev, at_error *err)
{
    at_error_set(err, AT_VALIDATION, field, "%s", what);
    at_error_detail(err, "%s at position %lld cannot be paid.", ev->type, (long long)ev->position);
    at_error_hint(err, "Service allocation records the charge again, corrected.");
    return AT_VALIDATION;
}

/* What both charge events say, and what payments makes of it: a one-off grant
 * charge/<key>, due the day after its period (a charge is billed after the service). */
typedef struct charge_in {
    const char *key, *person, *payee, *service, *ekk, *funding;
    int64_t units, unit_cents, amount;
    const Atb__V1__Date *from, *to;
    Atb__V1__PaymentChannel channel;
} charge_in;

static at_code pay_charge(es_txn *t, const es_event *ev, const charge_in *c, at_arena *a, at_error *err)
{
    if (!c->key || !at_uuid_valid(c->key))
        return charge_refused("charge_key", "the charge has no key", ev, err);
    if (c->amount <= 0)
        return charge_refused("amount_cents", "a charge must be more than 0", ev, err);
    /* a bought place is units x the agreed price; a provider's charge may be the funder's
     * share of it, after the client's */
    bool whole = c->channel == ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_MUNICIPALITY;
    if (whole && c->units > 0 && c->unit_cents > 0 && c->units * c->unit_cents != c->amount)
        return charge_refused("amount_cents", "the charge's amount is not units times the unit price", ev, err);
    if (!c->payee || !*c->payee)
        return charge_refused("payee", "the charge names no payee", ev, err);
    Atb__V1__FundingSource funding = funding_of(c->funding);
    if (!funding)
        return charge_refused("funding_source", "the funding source is not municipality, state or eu_fund", ev, err);
    at_date from, to;
    if (!svc_date_in(c->from, &from) || !svc_date_in(c->to, &to) || from == AT_DATE_NONE)
        return charge_refused("period_from", "the charge's period is not given", ev, err);
    if (to == AT_DATE_NONE)
        to = from;
    char grant[96], key[AT_UUID_LEN + 1];
    snprintf(key, sizeof key, "%s", c->key);
    for (char *p = key; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    snprintf(grant, sizeof grant, "charge/%s", key);
    bool municipality = c->channel == ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_MUNICIPALITY;
    pay_terms_in in = {
        .grant = grant,
        .tenant = ev->tenant,
        .person = c->person ? c->person : "",
        .payee = c->payee,
        .benefit = c->service && *c->service ? c->service : (municipality ? "PLACE" : "SERVICE"),
        .budget_code = c->ekk,
        .funding = funding,
        .channel = c->channel,
        .effective_after = AT_DATE_NONE,
        .terms = {.amount = c->amount, .per = PAY_PER_ONCE, .from = from, .to = to, .decided_on = to + 1},
    };
    bool changed;
    return ledger_apply(t, &in, ev, a, &changed, err);
}

static at_code on_charge(es_txn *t, const es_event *ev, at_arena *a, at_error *err)
{
    char payee[128];
    charge_in c = {0};
    if (strcmp(ev->type, "InterMunicipalCharge") == 0) {
        Atb__V1__InterMunicipalCharge *m =
            atb__v1__inter_municipal_charge__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
        if (!m)
            return malformed(ev, "InterMunicipalCharge", err);
        if (m->buyer && *m->buyer && strcmp(m->buyer, ev->tenant) != 0)
            return AT_OK;   /* another municipality's purchase: not ours to pay */
        if (!m->seller || !*m->seller)
            return charge_refused("seller", "the charge names no seller municipality", ev, err);
        snprintf(payee, sizeof payee, "municipality:%s", m->seller);
        c = (charge_in){m->charge_key, m->person_key, payee, m->service, m->ekk_code, m->funding_source,
                        m->units, m->unit_price_cents, m->amount_cents, m->period_from, m->period_to,
                        ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_MUNICIPALITY};
    } else {
        Atb__V1__ChargeRecorded *m = atb__v1__charge_recorded__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
        if (!m)
            return malformed(ev, "ChargeRecorded", err);
        /* the client's share is owed to the provider or to us: a receivable, not a payment */
        if (!m->payer || strcmp(m->payer, "client") == 0)
            return AT_OK;
        if (strncmp(m->payer, "municipality:", 13) == 0 && strcmp(m->payer + 13, ev->tenant) != 0)
            return AT_OK;   /* another municipality pays it */
        if (!m->payee || strncmp(m->payee, "provider:", 9) != 0)
            return charge_refused("payee", "the municipality's share is owed to no provider", ev, err);
        c = (charge_in){m->charge_key, m->person_key, m->payee, m->service, m->ekk_code, m->funding_source,
                        m->units, m->unit_price_cents, m->amount_cents, m->period_from, m->period_to,
                        ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_PROVIDER};
    }
    return pay_charge(t, ev, &c, a, err);
}

at_code consume_charge(void *ctx, es_txn *t, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "InterMunicipalCharge") != 0 && strcmp(ev->type, "ChargeRecorded") != 0)
        return AT_OK;
    bool fresh;
    at_code c = claim_source(t, ev, "payments-charges", &fresh, err);
    if (c != AT_OK || !fresh)
        return c;
    at_arena *a = at_arena_new(ARENA_BLOCK);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    c = on_charge(t, ev, a, err);
    at_arena_free(a);
    return c;
}
