/*
 * application.c -- the Application aggregate: stream application-<id>, category
 * "application".
 *
 * Life of an application (status in brackets):
 *   SubmitApplication          ApplicationReceived    [RECEIVED]   deadline = received + 1 month
 *   SubmitDeclaration          DeclarationSubmitted   (a later one replaces the earlier)
 *   MarkApplicationIncomplete  ApplicationIncomplete  [INCOMPLETE]
 *   CompleteApplication        ApplicationCompleted   [COMPLETE]   the file means testing decides on
 *   (consumer intake-decisions) ApplicationDecided    [DECIDED]    when decision-<id> is written
 *   (consumer intake-decisions) ApplicationReturned   [RECEIVED]   means testing could not decide it
 *   FileAppeal (appeal.c)      ApplicationAppealed    [APPEALED]
 *   WithdrawApplication        ApplicationWithdrawn   [WITHDRAWN]
 *   RecordReceipts             ReceiptsSubmitted      (after the decision: proof of use handed in)
 *
 * ApplicationCompleted carries the household exactly as means testing reads it
 * (atb.v1.Household of means.proto): the members on the received date with the facts of
 * their person streams in force on the decision date, the co-operation flag from the
 * agreements, and the latest declaration. Intake folds; means decides; neither reads the
 * other's tables.
 *
 * Expense documents: the municipality's limit is the rule parameter
 * documents.max_age_months (Daugavpils: 12 months from 2017, 6 before; document 004 §5),
 * read from the rule set means testing published into the log (stream ruleset-<tenant>).
 * An older document is recorded as rejected with its reason, not refused with the command:
 * the caseworker sees why it does not count. When no rule set is in the log, or none is in
 * force on the date, nothing is rejected and the event says so (limit 0).
 */
#include "intake.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "at_time.h"
#include "at_uuid.h"
#include "rules.h"

#define APPLICATION_MAX_ASKS 16
#define DECLARATION_MAX_ITEMS 200       /* incomes, properties, vehicles or expenses */
#define MISSING_MAX 32

/* Namespace of the command ids the decisions consumer derives from event ids. */
#define DECIDED_NS "a3e5d0c4-8f6b-4e21-b7d9-5c0f1e2a9b84"

/* ---- folding ---- */

at_code application_fold(svc_request *req, const char *id, application_state *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    char stream[64];
    snprintf(stream, sizeof stream, "application-%s", id);
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
    size_t n = es_batch_count(b);
    out->appeals = at_arena_alloc(req->arena, (n + 1) * sizeof *out->appeals);
    if (!out->appeals) {
        es_batch_free(b);
        return at_error_set(err, AT_INTERNAL, NULL, "could not fold the application: out of memory");
    }
    for (size_t i = 0; i < n && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        out->version = e->version;
        if (strcmp(e->type, "ApplicationReceived") == 0) {
            out->received = (Atb__V1__ApplicationReceived *)intake_unpack(
                req->arena, &atb__v1__application_received__descriptor, e, err);
            out->status = ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED;
            code = out->received ? AT_OK : AT_INTERNAL;
        } else if (strcmp(e->type, "DeclarationSubmitted") == 0) {
            out->declaration = (Atb__V1__DeclarationSubmitted *)intake_unpack(
                req->arena, &atb__v1__declaration_submitted__descriptor, e, err);
            code = out->declaration ? AT_OK : AT_INTERNAL;
        } else if (strcmp(e->type, "ApplicationIncomplete") == 0) {
            out->incomplete = (Atb__V1__ApplicationIncomplete *)intake_unpack(
                req->arena, &atb__v1__application_incomplete__descriptor, e, err);
            out->status = ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_INCOMPLETE;
            code = out->incomplete ? AT_OK : AT_INTERNAL;
        } else if (strcmp(e->type, "ApplicationCompleted") == 0) {
            out->completed = true;
            out->returned = NULL;
            out->status = ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_COMPLETE;
        } else if (strcmp(e->type, "ApplicationReturned") == 0) {
            Atb__V1__ApplicationReturned *r = (Atb__V1__ApplicationReturned *)intake_unpack(
                req->arena, &atb__v1__application_returned__descriptor, e, err);
            if (!r) {
                code = AT_INTERNAL;
                break;
            }
            out->returned = r->error;
            out->status = ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED;
        } else if (strcmp(e->type, "ApplicationDecided") == 0) {
            out->status = ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_DECIDED;
        } else if (strcmp(e->type, "ReceiptsSubmitted") == 0) {
            out->receipts = true;
        } else if (strcmp(e->type, "ApplicationWithdrawn") == 0) {
            out->status = ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_WITHDRAWN;
        } else if (strcmp(e->type, "ApplicationAppealed") == 0) {
            Atb__V1__ApplicationAppealed *ap = (Atb__V1__ApplicationAppealed *)intake_unpack(
                req->arena, &atb__v1__application_appealed__descriptor, e, err);
            if (!ap) {
                code = AT_INTERNAL;
                break;
            }
            out->appeals[out->n_appeals++] = ap->appeal_key;
            out->status = ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_APPEALED;
        }
    }
    es_batch_free(b);
    return code;
}

/* Fold the application a command names; NOT_FOUND when it does not exist. */
static at_code load(svc_request *req, const char *id, application_state *a, char stream[64], at_error *err)
{
    at_code code = intake_check_key(id, "application_id", true, err);
    if (code != AT_OK)
        return code;
    if ((code = application_fold(req, id, a, err)) != AT_OK)
        return code;
    snprintf(stream, 64, "application-%s", id);
    if (a->version == 0 || !a->received) {
        at_error_set(err, AT_NOT_FOUND, "application_id", "application not found");
        at_error_detail(err, "No application with the id %s exists in %s.", id, req->tenant);
        return AT_NOT_FOUND;
    }
    return intake_expect(req, stream, a->version, err);
}

static const char *status_name(Atb__V1__ApplicationStatus s)
{
    switch (s) {
    case ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED: return "received";
    case ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_INCOMPLETE: return "incomplete";
    case ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_COMPLETE: return "complete";
    case ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_DECIDED: return "decided";
    case ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_WITHDRAWN: return "withdrawn";
    case ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_APPEALED: return "appealed";
    default: return "unknown";
    }
}

/* CONFLICT unless the application is still open for the file to change (received or
 * incomplete). */
static at_code require_open(const application_state *a, const char *what, at_error *err)
{
    if (a->status == ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED ||
        a->status == ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_INCOMPLETE)
        return AT_OK;
    at_error_set(err, AT_CONFLICT, "application_id", "the application is %s", status_name(a->status));
    at_error_detail(err, "%s needs an application that is received or incomplete.", what);
    if (a->status == ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_COMPLETE)
        at_error_hint(err, "The file is with means testing; a change after the decision is a new application "
                           "or an appeal.");
    return AT_CONFLICT;
}

/* Append one event to the application at the folded version and reply. */
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

/* ---- SubmitApplication ---- */

static at_code check_benefit_code(const char *s, const char *field, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    bool ok = n > 0 && n <= INTAKE_CODE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
    if (ok)
        return AT_OK;
    at_error_set(err, AT_VALIDATION, field, n ? "%s is not a catalogue code" : "%s is required", field);
    at_error_detail(err, "Catalogue codes are upper-case letters, digits and '_' (\"HEATING\", \"HOME_CARE\").");
    return AT_VALIDATION;
}

static at_code check_ask(const Atb__V1__Ask *a, size_t i, const household_state *h, at_date received,
                         at_error *err)
{
    char f[64];
    at_code code;
    snprintf(f, sizeof f, "asks.%zu.kind", i);
    if (a->kind < ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS || a->kind > ATB__V1__ASK_KIND__ASK_KIND_SERVICE) {
        at_error_set(err, AT_VALIDATION, f, "%s is not given", f);
        at_error_detail(err, "It is NEEDY_STATUS (1) .. SERVICE (6); the value sent was %d.", (int)a->kind);
        return AT_VALIDATION;
    }
    snprintf(f, sizeof f, "asks.%zu.benefit", i);
    if (a->kind == ATB__V1__ASK_KIND__ASK_KIND_BENEFIT || a->kind == ATB__V1__ASK_KIND__ASK_KIND_SERVICE) {
        if ((code = check_benefit_code(a->benefit, f, err)) != AT_OK)
            return code;
    } else if (a->benefit && *a->benefit) {
        return at_error_set(err, AT_VALIDATION, f, "%s is only for a BENEFIT or a SERVICE ask", f);
    }
    snprintf(f, sizeof f, "asks.%zu.subject", i);
    if ((code = intake_check_key(a->subject, f, false, err)) != AT_OK)
        return code;
    if (a->subject && *a->subject && !household_has(h, a->subject, received)) {
        at_error_set(err, AT_VALIDATION, f, "%s is not a member of the household", f);
        at_error_detail(err, "%s is not in the household on the received date.", a->subject);
        return AT_VALIDATION;
    }
    for (size_t k = 0; k < a->n_flags; k++) {
        snprintf(f, sizeof f, "asks.%zu.flags.%zu", i, k + 1);
        if (rules_app_flag(a->flags[k]) < 0) {
            at_error_set(err, AT_VALIDATION, f, "unknown application flag \"%.48s\"", a->flags[k]);
            at_error_detail(err, "Application flags are those of docs/rules.md (\"specialist_opinion\", "
                                 "\"food_crisis\", ...).");
            return AT_VALIDATION;
        }
    }
    snprintf(f, sizeof f, "asks.%zu.heating", i);
    if (a->heating < 0 || a->heating > ATB__V1__HEATING__HEATING_INDIVIDUAL)
        return at_error_set(err, AT_VALIDATION, f, "%s is not a Heating value", f);
    if (a->bill) {
        snprintf(f, sizeof f, "asks.%zu.bill.amount_cents", i);
        if ((code = intake_check_cents(a->bill->amount_cents, f, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "asks.%zu.bill.issued", i);
        at_date d;
        if ((code = intake_check_date(a->bill->issued, f, true, true, &d, err)) != AT_OK)
            return code;
    }
    snprintf(f, sizeof f, "asks.%zu.units", i);
    if (a->units < 0 || a->count < 0)
        return at_error_set(err, AT_VALIDATION, f, "units and count are 0 or more");
    snprintf(f, sizeof f, "asks.%zu.unit_cost_cents", i);
    if ((code = intake_check_cents(a->unit_cost_cents, f, err)) != AT_OK)
        return code;
    snprintf(f, sizeof f, "asks.%zu.event_date", i);
    at_date ed;
    return intake_check_date(a->event_date, f, false, false, &ed, err);
}

at_code application_submit(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__SubmitApplication *c = (const Atb__V1__SubmitApplication *)req->msg;
    at_code code;
    at_date received;
    if ((code = intake_check_key(c->applicant, "applicant", true, err)) != AT_OK ||
        (code = intake_check_key(c->household_key, "household_key", true, err)) != AT_OK ||
        (code = intake_check_date(c->received, "received", true, true, &received, err)) != AT_OK ||
        (code = intake_check_text(c->social_worker, "social_worker", 100, true, err)) != AT_OK)
        return code;
    if (c->channel < ATB__V1__CHANNEL__CHANNEL_OFFICE || c->channel > ATB__V1__CHANNEL__CHANNEL_HOME_VISIT) {
        at_error_set(err, AT_VALIDATION, "channel", "channel is not given");
        at_error_detail(err, "It is OFFICE (1) .. HOME_VISIT (5); the value sent was %d.", (int)c->channel);
        return AT_VALIDATION;
    }
    if (c->n_asks == 0 || c->n_asks > APPLICATION_MAX_ASKS) {
        at_error_set(err, AT_VALIDATION, "asks", "an application asks 1..%d things", APPLICATION_MAX_ASKS);
        at_error_detail(err, "It asks %zu.", c->n_asks);
        return AT_VALIDATION;
    }
    household_state h;
    if ((code = household_fold(req, c->household_key, 0, &h, err)) != AT_OK)
        return code;
    if (h.version == 0) {
        at_error_set(err, AT_NOT_FOUND, "household_key", "household not found");
        at_error_detail(err, "No household with the key %s exists in %s.", c->household_key, req->tenant);
        return AT_NOT_FOUND;
    }
    if (!household_has(&h, c->applicant, received)) {
        char d[11];
        at_error_set(err, AT_VALIDATION, "applicant", "the applicant is not a member of the household");
        at_error_detail(err, "%s is not in household %s on %s.", c->applicant, c->household_key,
                        intake_date_text(received, d));
        at_error_hint(err, "Add the person to the household first.");
        return AT_VALIDATION;
    }
    for (size_t i = 0; i < c->n_asks; i++)
        if ((code = check_ask(c->asks[i], i + 1, &h, received, err)) != AT_OK)
            return code;

    char id[37], stream[64];
    intake_key(req, "application", id);
    snprintf(stream, sizeof stream, "application-%s", id);
    Atb__V1__ApplicationReceived ev = ATB__V1__APPLICATION_RECEIVED__INIT;
    ev.application_id = id;
    ev.applicant = c->applicant;
    ev.household_key = c->household_key;
    ev.n_asks = c->n_asks;
    ev.asks = c->asks;
    ev.received = c->received;
    ev.channel = c->channel;
    ev.social_worker = c->social_worker;
    /* Administrative Procedure Law art. 64: one month unless a law says otherwise. */
    ev.deadline = svc_date_out(req->arena, at_date_add_months(received, 1));

    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    if ((code = link_put(t, req->tenant, stream, "application", c->applicant, c->household_key, id, err)) != AT_OK)
        return code;
    return append_one(req, t, stream, ES_VERSION_NONE, &ev.base, "ApplicationReceived", id, reply, err);
}

/* ---- the document limit from the rule set in the log ---- */

/* The latest RuleSetPublished of a tenant, loaded, kept for a few seconds (a new version
 * is seen within CACHE_US). */
#define CACHE_US (10LL * 1000000)
static struct {
    char tenant[64];
    int64_t position, loaded_us;
    char version[65];
    rules_set *set;
} rs_cache[16];
static pthread_mutex_t rs_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct doc_limit {
    int months;                /* 0: no limit known */
    char version[65];
    int64_t position;
    char source[200];
} doc_limit;

static at_code document_limit(svc_request *req, at_date on, doc_limit *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t now = at_now_us();
    pthread_mutex_lock(&rs_mu);
    int slot = -1;
    for (int i = 0; i < 16; i++)
        if (strcmp(rs_cache[i].tenant, req->tenant) == 0)
            slot = i;
    bool fresh = slot >= 0 && now - rs_cache[slot].loaded_us < CACHE_US;
    pthread_mutex_unlock(&rs_mu);

    if (!fresh) {
        char stream[96];
        snprintf(stream, sizeof stream, "ruleset-%s", req->tenant);
        es_batch *b = NULL;
        at_code code = intake_read(req, stream, &b, err);
        if (code != AT_OK)
            return code;
        rules_set *set = NULL;
        int64_t position = 0;
        for (size_t i = es_batch_count(b); i-- > 0 && !set;) {
            const es_event *e = es_batch_get(b, i);
            if (strcmp(e->type, "RuleSetPublished") != 0)
                continue;
            Atb__V1__RuleSetPublished *p = atb__v1__rule_set_published__unpack(NULL, e->payload_len, e->payload);
            at_error ignored;
            if (p && rules_set_from_bytes(p->canonical.data, p->canonical.len, &set, &ignored) == AT_OK)
                position = e->position;
            if (p)
                atb__v1__rule_set_published__free_unpacked(p, NULL);
        }
        es_batch_free(b);
        pthread_mutex_lock(&rs_mu);
        if (slot < 0) {
            for (int i = 0; i < 16 && slot < 0; i++)
                if (!rs_cache[i].tenant[0])
                    slot = i;
            if (slot < 0)
                slot = (int)(now % 16);
            snprintf(rs_cache[slot].tenant, sizeof rs_cache[slot].tenant, "%s", req->tenant);
        }
        if (rs_cache[slot].position != position || !rs_cache[slot].set) {
            rules_set_free(rs_cache[slot].set);
            rs_cache[slot].set = set;
            rs_cache[slot].position = position;
            snprintf(rs_cache[slot].version, sizeof rs_cache[slot].version, "%s",
                     set ? rules_set_version(set) : "");
        } else {
            rules_set_free(set);
        }
        rs_cache[slot].loaded_us = now;
        pthread_mutex_unlock(&rs_mu);
    }

    pthread_mutex_lock(&rs_mu);
    rules_param_value v;
    at_error ignored;
    if (rs_cache[slot].set &&
        rules_param(rs_cache[slot].set, req->tenant, "documents.max_age_months", on, &v, &ignored) == AT_OK) {
        out->months = (int)v.value;
        out->position = rs_cache[slot].position;
        snprintf(out->version, sizeof out->version, "%s", rs_cache[slot].version);
        snprintf(out->source, sizeof out->source, "%s", v.source);
    }
    pthread_mutex_unlock(&rs_mu);
    return AT_OK;
}

/* ---- SubmitDeclaration ---- */

static at_code check_member_ref(const char *key, const char *field, bool required, const household_state *h,
                                at_date on, at_error *err)
{
    at_code code = intake_check_key(key, field, required, err);
    if (code != AT_OK || !key || !*key)
        return code;
    if (household_has(h, key, on))
        return AT_OK;
    at_error_set(err, AT_VALIDATION, field, "%s is not a member of the household", field);
    at_error_detail(err, "%s is not in the household on the application's received date.", key);
    return AT_VALIDATION;
}

/* Housing expenses by kind (the housing benefit from 2021): each kind a code, once, an
 * amount >= 0; their sum fits the total (a total of 0 is filled in with the sum). Which
 * kinds exist and their norms are the rule set's: means testing refuses an unknown kind. */
static at_code check_housing_by_kind(const Atb__V1__SubmitDeclaration *c, at_error *err)
{
    char f[64];
    at_code code;
    if (c->n_housing_expenses > DECLARATION_MAX_ITEMS)
        return at_error_set(err, AT_VALIDATION, "housing_expenses", "a declaration lists at most %d items of a kind",
                            DECLARATION_MAX_ITEMS);
    int64_t sum = 0;
    for (size_t i = 0; i < c->n_housing_expenses; i++) {
        const Atb__V1__HousingExpense *x = c->housing_expenses[i];
        snprintf(f, sizeof f, "housing_expenses.%zu.kind", i + 1);
        if ((code = intake_check_code(x->kind, f, err)) != AT_OK)
            return code;
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->housing_expenses[k]->kind, x->kind) == 0)
                return at_error_set(err, AT_VALIDATION, f, "housing expense kind \"%s\" is listed twice", x->kind);
        snprintf(f, sizeof f, "housing_expenses.%zu.amount_cents", i + 1);
        if ((code = intake_check_cents(x->amount_cents, f, err)) != AT_OK)
            return code;
        if (x->amount_cents > INT64_MAX / 2 / DECLARATION_MAX_ITEMS)
            return at_error_set(err, AT_VALIDATION, f, "%s is too large", f);
        sum += x->amount_cents;
    }
    if (c->n_housing_expenses && c->housing_expenses_cents && c->housing_expenses_cents != sum) {
        at_error_set(err, AT_VALIDATION, "housing_expenses_cents",
                     "housing_expenses_cents is not the sum of the housing expenses by kind");
        at_error_detail(err, "The total is %lld cents; the expenses by kind add up to %lld cents.",
                        (long long)c->housing_expenses_cents, (long long)sum);
        at_error_hint(err, "Give the total as 0 (it is then the sum), or correct the amounts.");
        return AT_VALIDATION;
    }
    return AT_OK;
}

static at_code check_declaration(const Atb__V1__SubmitDeclaration *c, const household_state *h, at_date received,
                                 at_error *err)
{
    char f[64];
    at_code code;
    if (c->n_incomes > DECLARATION_MAX_ITEMS || c->n_properties > DECLARATION_MAX_ITEMS ||
        c->n_vehicles > DECLARATION_MAX_ITEMS || c->n_expenses > DECLARATION_MAX_ITEMS)
        return at_error_set(err, AT_VALIDATION, "incomes", "a declaration lists at most %d items of a kind",
                            DECLARATION_MAX_ITEMS);
    /* Only the three full months before the application count (Cabinet Regulation
     * No. 299 point 13; means testing refuses other months). */
    at_period months = at_last_full_months(received, 3);
    for (size_t i = 0; i < c->n_incomes; i++) {
        const Atb__V1__MonthlyIncome *in = c->incomes[i];
        snprintf(f, sizeof f, "incomes.%zu.member", i + 1);
        if ((code = check_member_ref(in->member, f, true, h, received, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "incomes.%zu.type", i + 1);
        if ((code = intake_check_code(in->type, f, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "incomes.%zu.amount_cents", i + 1);
        if ((code = intake_check_cents(in->amount_cents, f, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "incomes.%zu.month", i + 1);
        at_date m;
        const Atb__V1__Date *md = in->month;
        if (!md || !at_date_from_ymd(md->year, md->month, md->day ? md->day : 1, &m))
            return at_error_set(err, AT_VALIDATION, f, "%s is not a month", f);
        if (!at_period_contains(months, m)) {
            char a[11], b[11];
            at_error_set(err, AT_VALIDATION, f, "%s is not one of the three months before the application", f);
            at_error_detail(err, "Incomes of %s .. %s count for an application received on %s.",
                            intake_date_text(months.from, a), intake_date_text(months.to, b),
                            intake_date_text(received, (char[11]){0}));
            return AT_VALIDATION;
        }
    }
    for (size_t i = 0; i < c->n_properties; i++) {
        const Atb__V1__RealProperty *p = c->properties[i];
        snprintf(f, sizeof f, "properties.%zu.member", i + 1);
        if ((code = check_member_ref(p->member, f, true, h, received, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "properties.%zu.use", i + 1);
        if (p->use != ATB__V1__PROPERTY_USE__PROPERTY_USE_OWN_HOME && p->use != ATB__V1__PROPERTY_USE__PROPERTY_USE_OTHER)
            return at_error_set(err, AT_VALIDATION, f, "%s is not given (OWN_HOME 1 or OTHER 2)", f);
        snprintf(f, sizeof f, "properties.%zu.cadastral_value_cents", i + 1);
        if ((code = intake_check_cents(p->cadastral_value_cents, f, err)) != AT_OK)
            return code;
    }
    for (size_t i = 0; i < c->n_vehicles; i++) {
        snprintf(f, sizeof f, "vehicles.%zu.member", i + 1);
        if ((code = check_member_ref(c->vehicles[i]->member, f, true, h, received, err)) != AT_OK)
            return code;
    }
    if ((code = intake_check_cents(c->savings_cents, "savings_cents", err)) != AT_OK ||
        (code = intake_check_cents(c->housing_expenses_cents, "housing_expenses_cents", err)) != AT_OK)
        return code;
    for (size_t i = 0; i < c->n_expenses; i++) {
        const Atb__V1__Expense *x = c->expenses[i];
        snprintf(f, sizeof f, "expenses.%zu.member", i + 1);
        if ((code = check_member_ref(x->member, f, false, h, received, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "expenses.%zu.kind", i + 1);
        if ((code = intake_check_code(x->kind, f, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "expenses.%zu.amount_cents", i + 1);
        if ((code = intake_check_cents(x->amount_cents, f, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "expenses.%zu.document", i + 1);
        if ((code = intake_check_text(x->document, f, 200, true, err)) != AT_OK)
            return code;
        snprintf(f, sizeof f, "expenses.%zu.issued", i + 1);
        at_date d;
        if ((code = intake_check_date(x->issued, f, true, true, &d, err)) != AT_OK)
            return code;
    }
    return check_housing_by_kind(c, err);
}

/* The total housing expenses of a declaration: the sum by kind when kinds are given (a
 * total of 0 stands for "the sum"), else the total as given. */
static int64_t housing_total(const Atb__V1__SubmitDeclaration *c)
{
    int64_t sum = 0;
    for (size_t i = 0; i < c->n_housing_expenses; i++)
        sum += c->housing_expenses[i]->amount_cents;
    return c->n_housing_expenses ? sum : c->housing_expenses_cents;
}

at_code application_declare(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__SubmitDeclaration *c = (const Atb__V1__SubmitDeclaration *)req->msg;
    application_state a;
    char stream[64];
    at_code code = load(req, c->application_id, &a, stream, err);
    if (code != AT_OK)
        return code;
    if ((code = require_open(&a, "A declaration", err)) != AT_OK)
        return code;
    at_date received, declared;
    svc_date_in(a.received->received, &received);
    if ((code = intake_check_date(c->declared_on, "declared_on", true, true, &declared, err)) != AT_OK)
        return code;
    if (declared < received) {
        char x[11], y[11];
        at_error_set(err, AT_VALIDATION, "declared_on", "declared_on is before the application was received");
        at_error_detail(err, "Declared %s; received %s.", intake_date_text(declared, x),
                        intake_date_text(received, y));
        return AT_VALIDATION;
    }
    household_state h;
    if ((code = household_fold(req, a.received->household_key, 0, &h, err)) != AT_OK)
        return code;
    if ((code = check_declaration(c, &h, received, err)) != AT_OK)
        return code;
    doc_limit lim;
    if ((code = document_limit(req, received, &lim, err)) != AT_OK)
        return code;

    Atb__V1__DeclarationSubmitted ev = ATB__V1__DECLARATION_SUBMITTED__INIT;
    ev.application_id = c->application_id;
    ev.n_incomes = c->n_incomes;
    ev.incomes = c->incomes;
    ev.n_properties = c->n_properties;
    ev.properties = c->properties;
    ev.n_vehicles = c->n_vehicles;
    ev.vehicles = c->vehicles;
    ev.savings_cents = c->savings_cents;
    ev.housing_expenses_cents = housing_total(c);
    ev.n_housing_expenses = c->n_housing_expenses;
    ev.housing_expenses = c->housing_expenses;
    ev.declared_on = c->declared_on;
    ev.document_max_age_months = lim.months;
    ev.rule_set_version = lim.version;
    ev.rule_set_position = lim.position;
    ev.expenses = at_arena_alloc(req->arena, (c->n_expenses + 1) * sizeof *ev.expenses);
    ev.rejected = at_arena_alloc(req->arena, (c->n_expenses + 1) * sizeof *ev.rejected);
    if (!ev.expenses || !ev.rejected)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_date oldest = lim.months ? at_date_add_months(received, -lim.months) : AT_DATE_NONE;
    for (size_t i = 0; i < c->n_expenses; i++) {
        Atb__V1__Expense *x = c->expenses[i];
        at_date issued;
        svc_date_in(x->issued, &issued);
        if (lim.months && issued < oldest) {
            Atb__V1__RejectedExpense *r = at_arena_alloc(req->arena, sizeof *r);
            char detail[512], d1[11], d2[11];
            if (!r)
                return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            atb__v1__rejected_expense__init(r);
            r->expense = x;
            r->reason = "document_too_old";
            snprintf(detail, sizeof detail,
                     "Issued %s, more than %d months before the application received on %s "
                     "(documents.max_age_months = %d in %s; %s).",
                     intake_date_text(issued, d1), lim.months, intake_date_text(received, d2), lim.months,
                     req->tenant, lim.source);
            r->detail = at_arena_strdup(req->arena, detail);
            ev.rejected[ev.n_rejected++] = r;
        } else {
            ev.expenses[ev.n_expenses++] = x;
        }
    }
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    return append_one(req, t, stream, a.version, &ev.base, "DeclarationSubmitted", c->application_id, reply, err);
}

/* ---- MarkApplicationIncomplete ---- */

at_code application_incomplete(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__MarkApplicationIncomplete *c = (const Atb__V1__MarkApplicationIncomplete *)req->msg;
    application_state a;
    char stream[64];
    at_code code = load(req, c->application_id, &a, stream, err);
    if (code != AT_OK || (code = require_open(&a, "Marking it incomplete", err)) != AT_OK)
        return code;
    at_date on;
    if ((code = intake_check_date(c->on, "on", true, true, &on, err)) != AT_OK)
        return code;
    if (c->n_missing == 0 || c->n_missing > MISSING_MAX)
        return at_error_set(err, AT_VALIDATION, "missing", "name 1..%d missing documents", MISSING_MAX);
    for (size_t i = 0; i < c->n_missing; i++) {
        char f[48];
        snprintf(f, sizeof f, "missing.%zu", i + 1);
        if ((code = intake_check_code(c->missing[i], f, err)) != AT_OK)
            return code;
    }
    Atb__V1__ApplicationIncomplete ev = ATB__V1__APPLICATION_INCOMPLETE__INIT;
    ev.application_id = c->application_id;
    ev.n_missing = c->n_missing;
    ev.missing = c->missing;
    ev.on = c->on;
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    return append_one(req, t, stream, a.version, &ev.base, "ApplicationIncomplete", c->application_id, reply, err);
}

/* ---- CompleteApplication ---- */

/* The household as means testing reads it: the members on `received`, each with the
 * facts in force on `decision`. */
static at_code build_household(svc_request *req, const application_state *a, at_date received, at_date decision,
                               Atb__V1__Household *out, at_error *err)
{
    household_state h;
    at_code code = household_fold(req, a->received->household_key, 0, &h, err);
    if (code != AT_OK)
        return code;
    atb__v1__household__init(out);
    out->id = a->received->household_key;
    out->members = at_arena_alloc(req->arena, (h.n + 1) * sizeof *out->members);
    if (!out->members)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < h.n; i++) {
        const household_member_state *ms = &h.m[i];
        if (!(ms->joined <= received && (ms->left == AT_DATE_NONE || received < ms->left)))
            continue;
        person_state ps;
        if ((code = person_fold(req, ms->person_key, &ps, err)) != AT_OK)
            return code;
        Atb__V1__HouseholdMember *m = at_arena_alloc(req->arena, sizeof *m);
        if (!m)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        atb__v1__household_member__init(m);
        m->key = (char *)ms->person_key;
        m->relationship = ms->relationship;
        if ((code = person_member(req, &ps, decision, m, err)) != AT_OK)
            return code;
        bool failed = false;
        if ((code = agreement_failed_on(req, ms->person_key, decision, &failed, err)) != AT_OK)
            return code;
        if (failed) {
            char **flags = at_arena_alloc(req->arena, (m->n_flags + 1) * sizeof *flags);
            if (!flags)
                return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            memcpy(flags, m->flags, m->n_flags * sizeof *flags);
            flags[m->n_flags++] = "cooperation_failed";
            m->flags = flags;
        }
        out->members[out->n_members++] = m;
    }
    const Atb__V1__DeclarationSubmitted *d = a->declaration;
    out->n_incomes = d->n_incomes;
    out->incomes = d->incomes;
    out->n_properties = d->n_properties;
    out->properties = d->properties;
    out->n_vehicles = d->n_vehicles;
    out->vehicles = d->vehicles;
    out->savings_cents = d->savings_cents;
    out->housing_expenses_cents = d->housing_expenses_cents;
    out->n_housing_expenses = d->n_housing_expenses;
    out->housing_expenses = d->housing_expenses;
    return AT_OK;
}

/* The applications whose receipts were handed in: those the command lists, and every
 * application of the household with ReceiptsSubmitted in its stream. */
static at_code receipts_of_household(svc_request *req, const char *household,
                                     const Atb__V1__CompleteApplication *c, char ***out, size_t *n, at_error *err)
{
    es_txn *t = NULL;
    at_code code = intake_begin(req, &t, err);
    if (code != AT_OK)
        return code;
    const char *p[2] = {req->tenant, household};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT application_id::text FROM intake.links WHERE tenant = $1 AND "
                               "household_key = $2::uuid AND kind = 'application' ORDER BY stream_id",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        code = intake_pg_failed(r, "read the household's applications", err);
        PQclear(r);
        es_txn_rollback(t);
        return code;
    }
    es_txn_rollback(t);
    size_t rows = (size_t)PQntuples(r);
    char **ids = at_arena_alloc(req->arena, (rows + c->n_receipts_submitted + 1) * sizeof *ids);
    if (!ids) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    *n = 0;
    for (size_t i = 0; i < c->n_receipts_submitted; i++)
        ids[(*n)++] = c->receipts_submitted[i];
    for (size_t i = 0; i < rows && code == AT_OK; i++) {
        const char *id = PQgetvalue(r, (int)i, 0);
        application_state other;
        if ((code = application_fold(req, id, &other, err)) != AT_OK)
            break;
        bool listed = false;
        for (size_t k = 0; k < *n && !listed; k++)
            listed = strcmp(ids[k], id) == 0;
        if (other.receipts && !listed)
            ids[(*n)++] = at_arena_strdup(req->arena, id);
    }
    PQclear(r);
    *out = ids;
    return code;
}

at_code application_complete(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__CompleteApplication *c = (const Atb__V1__CompleteApplication *)req->msg;
    application_state a;
    char stream[64];
    at_code code = load(req, c->application_id, &a, stream, err);
    if (code != AT_OK || (code = require_open(&a, "Completing it", err)) != AT_OK)
        return code;
    at_date received, decision;
    svc_date_in(a.received->received, &received);
    if ((code = intake_check_date(c->decision_date, "decision_date", true, true, &decision, err)) != AT_OK)
        return code;
    if (decision < received)
        return at_error_set(err, AT_VALIDATION, "decision_date", "decision_date is before the application was received");
    for (size_t i = 0; i < c->n_receipts_submitted; i++) {
        char f[40];
        snprintf(f, sizeof f, "receipts_submitted.%zu", i + 1);
        if ((code = intake_check_key(c->receipts_submitted[i], f, true, err)) != AT_OK)
            return code;
    }
    char **receipts = NULL;
    size_t n_receipts = 0;
    if ((code = receipts_of_household(req, a.received->household_key, c, &receipts, &n_receipts, err)) != AT_OK)
        return code;
    if (!a.declaration) {
        at_error_set(err, AT_CONFLICT, "application_id", "the application has no declaration");
        at_error_detail(err, "Means testing needs the household's declaration of incomes and assets.");
        at_error_hint(err, "Submit the declaration (SubmitDeclaration), then complete the application.");
        return AT_CONFLICT;
    }

    Atb__V1__ApplicationCompleted ev = ATB__V1__APPLICATION_COMPLETED__INIT;
    Atb__V1__Application *app = at_arena_alloc(req->arena, sizeof *app);
    Atb__V1__Household *hh = at_arena_alloc(req->arena, sizeof *hh);
    const Atb__V1__ApplicationReceived *r = a.received;
    if (!app || !hh)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__application__init(app);
    app->id = c->application_id;
    app->submitted = r->received;
    app->decision_date = c->decision_date;
    app->applicant = r->applicant;
    app->n_receipts_submitted = n_receipts;
    app->receipts_submitted = receipts;
    app->asks = at_arena_alloc(req->arena, (r->n_asks + 1) * sizeof *app->asks);
    ev.service_asks = at_arena_alloc(req->arena, (r->n_asks + 1) * sizeof *ev.service_asks);
    if (!app->asks || !ev.service_asks)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < r->n_asks; i++) {
        if (r->asks[i]->kind == ATB__V1__ASK_KIND__ASK_KIND_SERVICE)
            ev.service_asks[ev.n_service_asks++] = (int32_t)(i + 1);
        else
            app->asks[app->n_asks++] = r->asks[i];
    }
    if ((code = build_household(req, &a, received, decision, hh, err)) != AT_OK)
        return code;
    ev.application_id = c->application_id;
    ev.application = app;
    ev.household = hh;
    ev.completed_on = svc_date_out(req->arena, svc_today());
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    return append_one(req, t, stream, a.version, &ev.base, "ApplicationCompleted", c->application_id, reply, err);
}

/* ---- WithdrawApplication ---- */

at_code application_withdraw(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__WithdrawApplication *c = (const Atb__V1__WithdrawApplication *)req->msg;
    application_state a;
    char stream[64];
    at_code code = load(req, c->application_id, &a, stream, err);
    if (code != AT_OK)
        return code;
    at_date on;
    if ((code = intake_check_date(c->on, "on", true, true, &on, err)) != AT_OK ||
        (code = intake_check_text(c->reason, "reason", INTAKE_TEXT_MAX, false, err)) != AT_OK)
        return code;
    if (a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED &&
        a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_INCOMPLETE &&
        a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_COMPLETE) {
        at_error_set(err, AT_CONFLICT, "application_id", "the application is %s", status_name(a.status));
        at_error_detail(err, "Only an application not yet decided can be withdrawn.");
        return AT_CONFLICT;
    }
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    char note[37];
    if ((code = note_put(req, t, "reason", c->reason, note, err)) != AT_OK)
        return code;
    Atb__V1__ApplicationWithdrawn ev = ATB__V1__APPLICATION_WITHDRAWN__INIT;
    ev.application_id = c->application_id;
    ev.on = c->on;
    ev.reason_note = note;
    return append_one(req, t, stream, a.version, &ev.base, "ApplicationWithdrawn", c->application_id, reply, err);
}

/* ---- RecordReceipts ---- */

at_code application_receipts(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RecordReceipts *c = (const Atb__V1__RecordReceipts *)req->msg;
    application_state a;
    char stream[64];
    at_code code = load(req, c->application_id, &a, stream, err);
    if (code != AT_OK)
        return code;
    at_date on;
    if ((code = intake_check_date(c->submitted_on, "submitted_on", true, true, &on, err)) != AT_OK ||
        (code = intake_check_text(c->note, "note", INTAKE_TEXT_MAX, false, err)) != AT_OK)
        return code;
    if (a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_DECIDED &&
        a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_APPEALED) {
        at_error_set(err, AT_CONFLICT, "application_id", "the application is %s", status_name(a.status));
        at_error_detail(err, "Receipts prove the use of what a decided application granted.");
        return AT_CONFLICT;
    }
    if (a.receipts) {
        at_error_set(err, AT_CONFLICT, "application_id", "the receipts were recorded already");
        return AT_CONFLICT;
    }
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    char note[37];
    if ((code = note_put(req, t, "note", c->note, note, err)) != AT_OK)
        return code;
    Atb__V1__ReceiptsSubmitted ev = ATB__V1__RECEIPTS_SUBMITTED__INIT;
    ev.application_id = c->application_id;
    ev.submitted_on = c->submitted_on;
    ev.note = note;
    return append_one(req, t, stream, a.version, &ev.base, "ReceiptsSubmitted", c->application_id, reply, err);
}

/* ---- GetApplication ---- */

static bool is_decision_type(const char *type)
{
    return strcmp(type, "StatusGranted") == 0 || strcmp(type, "StatusRefused") == 0 ||
           strcmp(type, "BenefitGranted") == 0 || strcmp(type, "BenefitRefused") == 0;
}

at_code application_get(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__GetApplication *q = (const Atb__V1__GetApplication *)req->msg;
    application_state a;
    at_code code = intake_check_key(q->application_id, "application_id", true, err);
    if (code != AT_OK || (code = application_fold(req, q->application_id, &a, err)) != AT_OK)
        return code;
    if (a.version == 0 || !a.received) {
        at_error_set(err, AT_NOT_FOUND, "application_id", "application not found");
        at_error_detail(err, "No application with the id %s exists in %s.", q->application_id, req->tenant);
        return AT_NOT_FOUND;
    }
    Atb__V1__ApplicationView *v = at_arena_alloc(req->arena, sizeof *v);
    if (!v)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__application_view__init(v);
    v->application_id = q->application_id;
    v->status = a.status;
    v->received = a.received;
    v->declaration = a.declaration;
    v->version = a.version;
    v->n_appeals = a.n_appeals;
    v->appeals = a.appeals;
    v->receipts_submitted = a.receipts;
    v->returned = a.returned;
    if (a.status == ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_INCOMPLETE && a.incomplete) {
        v->n_missing = a.incomplete->n_missing;
        v->missing = a.incomplete->missing;
    }
    char stream[64];
    snprintf(stream, sizeof stream, "decision-%s", q->application_id);
    es_batch *b = NULL;
    if ((code = intake_read(req, stream, &b, err)) != AT_OK)
        return code;
    size_t n = es_batch_count(b);
    v->decisions = at_arena_alloc(req->arena, (n + 1) * sizeof *v->decisions);
    for (size_t i = 0; v->decisions && i < n && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        if (!is_decision_type(e->type))
            continue;
        /* Every decision type is a message with the Decision as field 1. */
        Atb__V1__StatusGranted *w = (Atb__V1__StatusGranted *)intake_unpack(
            req->arena, &atb__v1__status_granted__descriptor, e, err);
        Atb__V1__DecisionSummary *s = at_arena_alloc(req->arena, sizeof *s);
        if (!w || !s || !w->decision) {
            code = w ? at_error_set(err, AT_INTERNAL, NULL, "out of memory") : AT_INTERNAL;
            break;
        }
        atb__v1__decision_summary__init(s);
        s->ask_index = w->decision->ask_index;
        s->event_type = at_arena_strdup(req->arena, e->type);
        s->position = e->position;
        s->result = w->decision->result;
        s->input_sha256 = w->decision->input_sha256;
        v->decisions[v->n_decisions++] = s;
    }
    es_batch_free(b);
    if (code != AT_OK)
        return code;
    if (!v->decisions)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    *reply = &v->base;
    return AT_OK;
}

/* ---- the consumer of decisions ---- */

/* A decision event of an application intake holds: when it is the last decision of the
 * first append (its version is the number of asks means decided), record ApplicationDecided
 * in the consumer's transaction. Decisions of applications that did not come through
 * intake (AssessApplication sent directly) are not intake's: nothing to do. */
static at_code append_in(es_txn *txn, const es_event *ev, const char *id, int64_t version,
                         const ProtobufCMessage *m, const char *type, at_arena *arena, at_error *err)
{
    char stream[64], cmd[37];
    snprintf(stream, sizeof stream, "application-%s", id);
    at_uuid_derive(DECIDED_NS, ev->event_id, cmd);
    es_event_in in;
    at_code code = svc_pack(arena, m, type, &in, err);
    if (code != AT_OK)
        return code;
    es_append_req ar = {
        .tenant = ev->tenant,
        .stream_id = stream,
        .expected_version = version,
        .command_id = cmd,
        .causation_id = ev->event_id,
        .correlation_id = ev->correlation_id && *ev->correlation_id ? ev->correlation_id : NULL,
        .actor = "service:intake",
        .events = &in,
        .n_events = 1,
    };
    es_append_res res;
    es_status st = es_txn_append(txn, &ar, &res, err);
    /* A concurrent change of the application (a withdrawal, say): retry on the new state. */
    return st == ES_OK ? AT_OK : st == ES_CONFLICT ? AT_UNAVAILABLE : es_status_code(st);
}

/* AssessmentFailed: the completed application goes back to the caseworker with the reason,
 * unless it moved on meanwhile (withdrawn, or completed again after the failed attempt). */
static at_code on_failed(svc_request *req, es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__AssessmentFailed *f = (Atb__V1__AssessmentFailed *)intake_unpack(
        req->arena, &atb__v1__assessment_failed__descriptor, ev, err);
    if (!f)
        return AT_MALFORMED;
    const char *id = ev->stream_id + 11;   /* "assessment-" */
    application_state a;
    at_code code = application_fold(req, id, &a, err);
    if (code != AT_OK || !a.received || a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_COMPLETE)
        return code;
    Atb__V1__ApplicationReturned r = ATB__V1__APPLICATION_RETURNED__INIT;
    r.application_id = (char *)id;
    r.error = f->error;
    r.failed_position = ev->position;
    return append_in(txn, ev, id, a.version, &r.base, "ApplicationReturned", req->arena, err);
}

at_code application_on_decision(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    bool failed = strcmp(ev->type, "AssessmentFailed") == 0 && strncmp(ev->stream_id, "assessment-", 11) == 0;
    if (failed) {
        if (!at_uuid_valid(ev->stream_id + 11))
            return AT_OK;
        at_arena *arena = at_arena_new(16384);
        if (!arena)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        svc_request req;
        memset(&req, 0, sizeof req);
        req.es = es_txn_store(txn);
        req.tenant = ev->tenant;
        req.arena = arena;
        at_code code = on_failed(&req, txn, ev, err);
        at_arena_free(arena);
        return code;
    }
    if (!is_decision_type(ev->type) || strncmp(ev->stream_id, "decision-", 9) != 0)
        return AT_OK;
    const char *id = ev->stream_id + 9;
    if (!at_uuid_valid(id))
        return AT_OK;
    at_arena *arena = at_arena_new(16384);
    if (!arena)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    svc_request req;
    memset(&req, 0, sizeof req);
    req.es = es_txn_store(txn);
    req.tenant = ev->tenant;
    req.arena = arena;
    application_state a;
    at_code code = application_fold(&req, id, &a, err);
    if (code != AT_OK || a.version == 0 || !a.received || !a.completed ||
        a.status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_COMPLETE) {
        at_arena_free(arena);
        return code;
    }
    int64_t asks = 0;
    for (size_t i = 0; i < a.received->n_asks; i++)
        asks += a.received->asks[i]->kind != ATB__V1__ASK_KIND__ASK_KIND_SERVICE;
    if (ev->version != asks) {
        at_arena_free(arena);
        return AT_OK;
    }
    es_batch *b = NULL;
    es_status st = es_read_stream(req.es, ev->stream_id, 1, (size_t)asks, &b, err);
    if (st != ES_OK) {
        at_arena_free(arena);
        return es_status_code(st);
    }
    Atb__V1__ApplicationDecided d = ATB__V1__APPLICATION_DECIDED__INIT;
    d.application_id = (char *)id;
    d.decision_position = ev->position;
    for (size_t i = 0; i < es_batch_count(b); i++) {
        const char *type = es_batch_get(b, i)->type;
        size_t n = strlen(type);
        if (n > 7 && strcmp(type + n - 7, "Granted") == 0)
            d.granted++;
        else
            d.refused++;
    }
    es_batch_free(b);
    code = append_in(txn, ev, id, a.version, &d.base, "ApplicationDecided", arena, err);
    at_arena_free(arena);
    return code;
}
