/*
 * decision.c -- the decision record: a DecisionInput turned into the structs of
 * libs/rules, and a rules_result turned into the Decision that the decision events carry.
 *
 * Invariants:
 *  - The conversion is a pure function of the DecisionInput: the service and the replay
 *    call the same decision_to_rules(), so a recorded input always means the same thing.
 *  - A Decision holds only copies in the caller's arena; the rules_result may be freed
 *    as soon as decision_build() returns.
 *  - The canonical bytes of an input are protobuf-c's encoding of it (fields in number
 *    order, proto3 defaults omitted, repeated fields in their order); the SHA-256 of those
 *    bytes is what Decision.input_sha256 records and what the replay checks.
 *  - Persons are named by UUID keys only (household.id, members.key): a personal code or a
 *    name is refused before it can reach an event.
 *
 * When adding a field to DecisionInput (or anything it contains): read it in
 * decision_to_rules() and describe it in docs/events.md; old events lack it, so its zero
 * value must mean what the rules assumed before the field existed.
 */
#include "means_core.h"

#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "at_money.h"
#include "at_uuid.h"

/* The proto enums number their values as rules.h does; the conversions rely on it. */
_Static_assert((int)ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS == (int)RULES_ASK_NEEDY_STATUS &&
                   (int)ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS == (int)RULES_ASK_LOW_INCOME_STATUS &&
                   (int)ATB__V1__ASK_KIND__ASK_KIND_GMI == (int)RULES_ASK_GMI &&
                   (int)ATB__V1__ASK_KIND__ASK_KIND_HOUSING == (int)RULES_ASK_HOUSING &&
                   (int)ATB__V1__ASK_KIND__ASK_KIND_BENEFIT == (int)RULES_ASK_BENEFIT,
               "AskKind and rules_ask differ");
_Static_assert((int)ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY == (int)RULES_STATUS_NEEDY &&
                   (int)ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME == (int)RULES_STATUS_LOW_INCOME,
               "MeansStatus and rules_status differ");
_Static_assert((int)ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE == (int)RULES_PER_ONCE &&
                   (int)ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH == (int)RULES_PER_MONTH &&
                   (int)ATB__V1__AMOUNT_PER__AMOUNT_PER_YEAR == (int)RULES_PER_YEAR,
               "AmountPer and rules_per differ");
_Static_assert((int)ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH == (int)RULES_PAY_CASH &&
                   (int)ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT == (int)RULES_PAY_ACCOUNT &&
                   (int)ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH_OR_ACCOUNT == (int)RULES_PAY_CASH_OR_ACCOUNT &&
                   (int)ATB__V1__PAYMENT_FORM__PAYMENT_FORM_IN_KIND == (int)RULES_PAY_IN_KIND &&
                   (int)ATB__V1__PAYMENT_FORM__PAYMENT_FORM_PROVIDER == (int)RULES_PAY_PROVIDER,
               "PaymentForm and rules_payment differ");
_Static_assert((int)ATB__V1__SCHOOL__SCHOOL_PRESCHOOL == (int)RULES_SCHOOL_PRESCHOOL &&
                   (int)ATB__V1__SCHOOL__SCHOOL_GRADE_1 == (int)RULES_SCHOOL_GRADE_1 &&
                   (int)ATB__V1__SCHOOL__SCHOOL_OTHER == (int)RULES_SCHOOL_OTHER,
               "School and rules_school differ");
_Static_assert((int)ATB__V1__PROPERTY_USE__PROPERTY_USE_OWN_HOME == (int)RULES_PROPERTY_OWN_HOME &&
                   (int)ATB__V1__PROPERTY_USE__PROPERTY_USE_OTHER == (int)RULES_PROPERTY_OTHER,
               "PropertyUse and rules_property_use differ");
_Static_assert((int)ATB__V1__HEATING__HEATING_DISTRICT == (int)RULES_HEATING_DISTRICT &&
                   (int)ATB__V1__HEATING__HEATING_INDIVIDUAL == (int)RULES_HEATING_INDIVIDUAL,
               "Heating and rules_heating differ");
_Static_assert((int)ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER - 1 == (int)RULES_REL_OTHER,
               "Relationship and rules_relationship differ");

#define MAX_MEMBERS 32
#define MAX_INCOMES 512
#define MAX_ITEMS 64          /* properties, vehicles */
#define MAX_HISTORY 4096      /* facts of each kind */

void means_lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

void means_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    static const char hex[] = "0123456789abcdef";
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32) {
        /* libcrypto fails only without memory; an impossible hash never matches a real one */
        memset(out, '0', 64);
        out[64] = 0;
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = 0;
}

/* ---- dates */

bool decision_date_in(const Atb__V1__Date *d, bool month_only, at_date *out)
{
    *out = AT_DATE_NONE;
    if (!d || (d->year == 0 && d->month == 0 && d->day == 0))
        return true;
    int day = d->day;
    if (month_only && day == 0)
        day = 1;
    return at_date_from_ymd(d->year, d->month, day, out);
}

Atb__V1__Date *decision_date_out(at_arena *a, at_date d)
{
    if (d == AT_DATE_NONE)
        return NULL;
    Atb__V1__Date *p = at_arena_alloc(a, sizeof *p);
    if (!p)
        return NULL;
    atb__v1__date__init(p);
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    p->year = y;
    p->month = m;
    p->day = dd;
    return p;
}

const char *decision_date_text(at_date d, char *buf, size_t n)
{
    if (d == AT_DATE_NONE)
        snprintf(buf, n, "-");
    else
        at_date_format(d, buf, n);
    return buf;
}

/* ---- input checks */

static bool given(const char *s)
{
    return s && *s;
}

/* A code of the rule set (benefit, income type): letters, digits, '_', at most 64 bytes. */
static bool code_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MEANS_MAX_KEY)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static at_code bad_key(at_error *err, const char *field, const char *what, const char *value)
{
    at_error_set(err, AT_VALIDATION, field, "%s is not a person key", what);
    at_error_detail(err, "\"%.60s\" is not a UUID. Persons are named by their pseudonymous person key "
                         "from intake, never by a personal code or a name: the decision records its input.",
                    value ? value : "");
    at_error_hint(err, "Register the person with intake and use the key it returns.");
    return AT_VALIDATION;
}

static at_code bad_date(at_error *err, const char *field)
{
    return at_error_set(err, AT_VALIDATION, field, "%s is not a valid date", field);
}

static void *zalloc(at_arena *a, size_t n)
{
    void *p = at_arena_alloc(a, n ? n : 1);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

static at_code member_flags(char *const *names, size_t n, const char *field, uint32_t *out, at_error *err)
{
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        int bit = rules_member_flag(names[i]);
        if (bit < 0) {
            at_error_set(err, AT_VALIDATION, field, "unknown member flag \"%.40s\"", names[i]);
            at_error_hint(err, "Member flags are the names of docs/rules.md: pensioner, lives_alone, lonely, "
                               "able_to_work, registered_unemployed, ...");
            return AT_VALIDATION;
        }
        if ((uint32_t)bit & (RULES_MF_CHILD | RULES_MF_PENSION_AGE | RULES_MF_DISABLED)) {
            at_error_set(err, AT_VALIDATION, field, "member flag \"%s\" is computed, not given", names[i]);
            at_error_detail(err, "child comes from the birth date, pension_age from the birth date and the "
                                 "pension-age parameter, disabled from the disability group and its dates.");
            return AT_VALIDATION;
        }
        *out |= (uint32_t)bit;
    }
    return AT_OK;
}

static at_code ask_flags(char *const *names, size_t n, const char *field, uint32_t *out, at_error *err)
{
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        int bit = rules_app_flag(names[i]);
        if (bit < 0) {
            at_error_set(err, AT_VALIDATION, field, "unknown application flag \"%.40s\"", names[i]);
            at_error_hint(err, "Application flags are the names of docs/rules.md: specialist_opinion, "
                               "food_crisis, no_state_funeral_benefit, ...");
            return AT_VALIDATION;
        }
        *out |= (uint32_t)bit;
    }
    return AT_OK;
}

static at_code household_to_rules(const Atb__V1__Household *hh, at_arena *a, rules_household *h, at_error *err)
{
    char f[96];
    memset(h, 0, sizeof *h);
    if (!hh)
        return at_error_set(err, AT_VALIDATION, "household", "household is not given");
    if (!at_uuid_valid(hh->id))
        return bad_key(err, "household.id", "household id", hh->id);
    h->id = hh->id;
    if (hh->n_members == 0)
        return at_error_set(err, AT_VALIDATION, "household.members", "household has no members");
    if (hh->n_members > MAX_MEMBERS)
        return at_error_set(err, AT_VALIDATION, "household.members", "household has more than %d members",
                            MAX_MEMBERS);
    if (hh->n_incomes > MAX_INCOMES)
        return at_error_set(err, AT_VALIDATION, "household.incomes", "more than %d incomes", MAX_INCOMES);
    if (hh->n_properties > MAX_ITEMS || hh->n_vehicles > MAX_ITEMS)
        return at_error_set(err, AT_VALIDATION, hh->n_properties > MAX_ITEMS ? "household.properties"
                                                                             : "household.vehicles",
                            "more than %d items", MAX_ITEMS);
    rules_member *m = zalloc(a, hh->n_members * sizeof *m);
    rules_income *in = zalloc(a, hh->n_incomes * sizeof *in);
    rules_property *pr = zalloc(a, hh->n_properties * sizeof *pr);
    rules_vehicle *ve = zalloc(a, hh->n_vehicles * sizeof *ve);
    if (!m || !in || !pr || !ve)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < hh->n_members; i++) {
        const Atb__V1__HouseholdMember *pm = hh->members[i];
        snprintf(f, sizeof f, "household.members.%zu.key", i);
        if (!at_uuid_valid(pm->key))
            return bad_key(err, f, "member key", pm->key);
        m[i].key = pm->key;
        snprintf(f, sizeof f, "household.members.%zu.birth_date", i);
        if (!decision_date_in(pm->birth_date, false, &m[i].birth))
            return bad_date(err, f);
        if (pm->relationship < 0 || pm->relationship > ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER) {
            snprintf(f, sizeof f, "household.members.%zu.relationship", i);
            return at_error_set(err, AT_VALIDATION, f, "unknown relationship %d", (int)pm->relationship);
        }
        /* rules_relationship counts from the applicant at 0; not stated reads as "other" */
        m[i].relationship = pm->relationship == 0 ? RULES_REL_OTHER
                                                  : (rules_relationship)(pm->relationship - 1);
        snprintf(f, sizeof f, "household.members.%zu.flags", i);
        at_code c = member_flags(pm->flags, pm->n_flags, f, &m[i].flags, err);
        if (c != AT_OK)
            return c;
        m[i].disability_group = pm->disability_group;
        snprintf(f, sizeof f, "household.members.%zu.disability_from", i);
        if (!decision_date_in(pm->disability_from, false, &m[i].disability.from))
            return bad_date(err, f);
        snprintf(f, sizeof f, "household.members.%zu.disability_to", i);
        if (!decision_date_in(pm->disability_to, false, &m[i].disability.to))
            return bad_date(err, f);
        if (pm->school < 0 || pm->school > ATB__V1__SCHOOL__SCHOOL_OTHER) {
            snprintf(f, sizeof f, "household.members.%zu.school", i);
            return at_error_set(err, AT_VALIDATION, f, "unknown school level %d", (int)pm->school);
        }
        m[i].school = (rules_school)pm->school;
        snprintf(f, sizeof f, "household.members.%zu.residence_since", i);
        if (!decision_date_in(pm->residence_since, false, &m[i].residence_since))
            return bad_date(err, f);
    }
    for (size_t i = 0; i < hh->n_incomes; i++) {
        const Atb__V1__MonthlyIncome *pi = hh->incomes[i];
        in[i].member = pi->member;
        snprintf(f, sizeof f, "household.incomes.%zu.type", i);
        if (!code_ok(pi->type))
            return at_error_set(err, AT_VALIDATION, f, "income type is not a code of the rule set");
        in[i].type = pi->type;
        snprintf(f, sizeof f, "household.incomes.%zu.month", i);
        if (!decision_date_in(pi->month, true, &in[i].month))
            return bad_date(err, f);
        if (in[i].month == AT_DATE_NONE)
            return at_error_set(err, AT_VALIDATION, f, "income month is not given");
        in[i].amount = pi->amount_cents;
    }
    for (size_t i = 0; i < hh->n_properties; i++) {
        pr[i].member = hh->properties[i]->member;
        pr[i].use = (rules_property_use)hh->properties[i]->use;
        pr[i].cadastral_value = hh->properties[i]->cadastral_value_cents;
    }
    for (size_t i = 0; i < hh->n_vehicles; i++) {
        ve[i].member = hh->vehicles[i]->member;
        ve[i].needed_for_disability = hh->vehicles[i]->needed_for_disability;
    }
    h->members = m;
    h->n_members = hh->n_members;
    h->incomes = in;
    h->n_incomes = hh->n_incomes;
    h->properties = pr;
    h->n_properties = hh->n_properties;
    h->vehicles = ve;
    h->n_vehicles = hh->n_vehicles;
    h->savings = hh->savings_cents;
    h->housing_expenses = hh->housing_expenses_cents;
    /* By kind, when given: the rules check each kind against the housing benefit's list
     * (an unknown kind is refused) and apply its norm. */
    rules_expense *ex = zalloc(a, hh->n_housing_expenses * sizeof *ex);
    if (!ex)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < hh->n_housing_expenses; i++) {
        const Atb__V1__HousingExpense *x = hh->housing_expenses[i];
        snprintf(f, sizeof f, "household.housing_expenses.%zu.kind", i);
        if (!code_ok(x->kind))
            return at_error_set(err, AT_VALIDATION, f, "housing expense kind is not given");
        if (x->amount_cents < 0) {
            snprintf(f, sizeof f, "household.housing_expenses.%zu.amount_cents", i);
            return at_error_set(err, AT_VALIDATION, f, "an expense is never negative");
        }
        ex[i].kind = x->kind;
        ex[i].amount = x->amount_cents;
    }
    h->expenses = ex;
    h->n_expenses = hh->n_housing_expenses;
    return AT_OK;
}

static at_code history_to_rules(const Atb__V1__HouseholdHistory *ph, at_arena *a, rules_history *h, at_error *err)
{
    char f[96];
    memset(h, 0, sizeof *h);
    if (!ph)
        return AT_OK;
    if (ph->n_grants > MAX_HISTORY || ph->n_statuses > MAX_HISTORY || ph->n_memberships > MAX_HISTORY)
        return at_error_set(err, AT_VALIDATION, "history", "more than %d history facts of one kind", MAX_HISTORY);
    rules_grant *g = zalloc(a, ph->n_grants * sizeof *g);
    rules_status_record *s = zalloc(a, ph->n_statuses * sizeof *s);
    rules_membership *m = zalloc(a, ph->n_memberships * sizeof *m);
    if (!g || !s || !m)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < ph->n_grants; i++) {
        const Atb__V1__GrantFact *pg = ph->grants[i];
        snprintf(f, sizeof f, "history.grants.%zu.benefit", i);
        if (!code_ok(pg->benefit))
            return at_error_set(err, AT_VALIDATION, f, "benefit code is not given");
        g[i].benefit = pg->benefit;
        snprintf(f, sizeof f, "history.grants.%zu.decided_on", i);
        if (!decision_date_in(pg->decided_on, false, &g[i].date) || g[i].date == AT_DATE_NONE)
            return bad_date(err, f);
        if (given(pg->member) && !at_uuid_valid(pg->member)) {
            snprintf(f, sizeof f, "history.grants.%zu.member", i);
            return bad_key(err, f, "member key", pg->member);
        }
        g[i].member = given(pg->member) ? pg->member : NULL;
        if (pg->amount_cents < 0 || pg->units < 0) {
            snprintf(f, sizeof f, "history.grants.%zu.amount_cents", i);
            return at_error_set(err, AT_VALIDATION, f, "a grant's amount and units are never negative");
        }
        g[i].amount = pg->amount_cents;
        g[i].units = pg->units;
        snprintf(f, sizeof f, "history.grants.%zu.event_date", i);
        if (!decision_date_in(pg->event_date, false, &g[i].event))
            return bad_date(err, f);
        g[i].receipts_pending = pg->receipts_pending;
    }
    for (size_t i = 0; i < ph->n_statuses; i++) {
        const Atb__V1__StatusFact *ps = ph->statuses[i];
        snprintf(f, sizeof f, "history.statuses.%zu.status", i);
        if (ps->status != ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY &&
            ps->status != ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME)
            return at_error_set(err, AT_VALIDATION, f, "status must be needy or low income");
        s[i].status = (rules_status)ps->status;
        snprintf(f, sizeof f, "history.statuses.%zu.from", i);
        if (!decision_date_in(ps->from, false, &s[i].period.from) || s[i].period.from == AT_DATE_NONE)
            return bad_date(err, f);
        snprintf(f, sizeof f, "history.statuses.%zu.to", i);
        if (!decision_date_in(ps->to, false, &s[i].period.to) || !at_period_valid(s[i].period))
            return bad_date(err, f);
    }
    for (size_t i = 0; i < ph->n_memberships; i++) {
        const Atb__V1__MembershipFact *pm = ph->memberships[i];
        snprintf(f, sizeof f, "history.memberships.%zu.member", i);
        if (!at_uuid_valid(pm->member))
            return bad_key(err, f, "member key", pm->member);
        snprintf(f, sizeof f, "history.memberships.%zu.household", i);
        if (!at_uuid_valid(pm->household))
            return bad_key(err, f, "household id", pm->household);
        m[i].member = pm->member;
        m[i].household = pm->household;
        snprintf(f, sizeof f, "history.memberships.%zu.from", i);
        if (!decision_date_in(pm->from, false, &m[i].period.from) || m[i].period.from == AT_DATE_NONE)
            return bad_date(err, f);
        snprintf(f, sizeof f, "history.memberships.%zu.to", i);
        if (!decision_date_in(pm->to, false, &m[i].period.to) || !at_period_valid(m[i].period))
            return bad_date(err, f);
    }
    h->grants = g;
    h->n_grants = ph->n_grants;
    h->statuses = s;
    h->n_statuses = ph->n_statuses;
    h->memberships = m;
    h->n_memberships = ph->n_memberships;
    return AT_OK;
}

at_code decision_to_rules(const Atb__V1__DecisionInput *in, const char *ask_path, at_arena *a,
                          decision_rules *out, at_error *err)
{
    char f[96];
    memset(out, 0, sizeof *out);
    if (!in || !in->ask)
        return at_error_set(err, AT_VALIDATION, ask_path, "nothing is asked");
    at_code c = household_to_rules(in->household, a, &out->h, err);
    if (c != AT_OK)
        return c;
    if ((c = history_to_rules(in->history, a, &out->hist, err)) != AT_OK)
        return c;

    rules_application *ap = &out->a;
    const Atb__V1__Ask *k = in->ask;
    ap->tenant = in->tenant;
    if (!decision_date_in(in->submitted, false, &ap->submitted))
        return bad_date(err, "application.submitted");
    if (!decision_date_in(in->decision_date, false, &ap->decision))
        return bad_date(err, "application.decision_date");
    if (ap->decision == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "application.decision_date", "decision date is not given");
    if (!at_uuid_valid(in->applicant))
        return bad_key(err, "application.applicant", "applicant", in->applicant);
    ap->applicant = in->applicant;
    if (k->kind < ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS || k->kind > ATB__V1__ASK_KIND__ASK_KIND_BENEFIT) {
        snprintf(f, sizeof f, "%s.kind", ask_path);
        return at_error_set(err, AT_VALIDATION, f, "unknown kind of ask %d", (int)k->kind);
    }
    ap->ask = (rules_ask)k->kind;   /* the proto numbers equal rules_ask */
    if (k->kind == ATB__V1__ASK_KIND__ASK_KIND_BENEFIT) {
        snprintf(f, sizeof f, "%s.benefit", ask_path);
        if (!given(k->benefit))
            return at_error_set(err, AT_VALIDATION, f, "benefit code is not given");
        if (!code_ok(k->benefit)) {
            at_error_set(err, AT_VALIDATION, f, "unknown benefit code \"%.40s\"", k->benefit);
            at_error_detail(err, "A benefit code has letters, digits and '_' only.");
            return AT_VALIDATION;
        }
        ap->benefit = k->benefit;
    } else if (given(k->benefit)) {
        snprintf(f, sizeof f, "%s.benefit", ask_path);
        return at_error_set(err, AT_VALIDATION, f, "benefit is given only with kind ASK_KIND_BENEFIT");
    }
    if (given(k->subject)) {
        if (!at_uuid_valid(k->subject)) {
            snprintf(f, sizeof f, "%s.subject", ask_path);
            return bad_key(err, f, "subject", k->subject);
        }
        ap->subject = k->subject;
    }
    snprintf(f, sizeof f, "%s.flags", ask_path);
    if ((c = ask_flags(k->flags, k->n_flags, f, &ap->flags, err)) != AT_OK)
        return c;
    if (k->heating < 0 || k->heating > ATB__V1__HEATING__HEATING_INDIVIDUAL) {
        snprintf(f, sizeof f, "%s.heating", ask_path);
        return at_error_set(err, AT_VALIDATION, f, "unknown heating %d", (int)k->heating);
    }
    ap->heating = (rules_heating)k->heating;
    if (k->bill) {
        ap->has_bill = true;
        ap->bill = k->bill->amount_cents;
        snprintf(f, sizeof f, "%s.bill.issued", ask_path);
        if (!decision_date_in(k->bill->issued, false, &ap->bill_date))
            return bad_date(err, f);
    } else {
        ap->bill_date = AT_DATE_NONE;
    }
    ap->units = k->units;
    ap->unit_cost = k->unit_cost_cents;
    ap->count = k->count;
    snprintf(f, sizeof f, "%s.event_date", ask_path);
    if (!decision_date_in(k->event_date, false, &ap->event))
        return bad_date(err, f);
    return AT_OK;
}

/* The rules library names its inputs by the fields of rules.h; the reply names them by
 * the fields of AssessApplication. */
at_code decision_rules_error(at_code code, const char *ask_path, at_error *err)
{
    if (code == AT_OK || code == AT_INTERNAL || !err)
        return code;
    static const struct {
        const char *rules, *path;
        bool ask;
    } map[] = {
        {"members.key", "household.members.key", false},
        {"members.birth", "household.members.birth_date", false},
        {"members.school", "household.members.school", false},
        {"members.disability_group", "household.members.disability_group", false},
        {"members", "household.members", false},
        {"incomes.amount", "household.incomes.amount_cents", false},
        {"incomes.month", "household.incomes.month", false},
        {"incomes.type", "household.incomes.type", false},
        {"incomes.member", "household.incomes.member", false},
        {"properties", "household.properties", false},
        {"vehicles", "household.vehicles", false},
        {"savings", "household.savings_cents", false},
        {"applicant", "application.applicant", false},
        {"decision", "application.decision_date", false},
        {"submitted", "application.submitted", false},
        {"tenant", "tenant", false},
        {"subject", "subject", true},
        {"benefit", "benefit", true},
        {"ask", "kind", true},
        {"bill", "bill.amount_cents", true},
        {"bill_date", "bill.issued", true},
        {"count", "count", true},
        {"event", "event_date", true},
        {"unit_cost", "unit_cost_cents", true},
        {"units", "units", true},
    };
    char f[sizeof err->field];
    snprintf(f, sizeof f, "%s", ask_path);     /* anything else is a rule the ask reached */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(err->field, map[i].rules) == 0) {
            if (map[i].ask)
                snprintf(f, sizeof f, "%s.%s", ask_path, map[i].path);
            else
                snprintf(f, sizeof f, "%s", map[i].path);
            break;
        }
    snprintf(err->field, sizeof err->field, "%s", f);
    err->code = AT_VALIDATION;
    return AT_VALIDATION;
}

at_code decision_input_hash(const Atb__V1__DecisionInput *in, at_arena *a, char out[65], at_error *err)
{
    size_t n = atb__v1__decision_input__get_packed_size(in);
    uint8_t *buf = at_arena_alloc(a, n + 1);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__decision_input__pack(in, buf);
    means_sha256_hex(buf, n, out);
    return AT_OK;
}

/* ---- the Decision */

typedef struct bld {
    at_arena *a;
    bool oom;
} bld;

static char *str(bld *b, const char *s)
{
    char *p = at_arena_strdup(b->a, s ? s : "");
    if (!p) {
        b->oom = true;
        return (char *)"";
    }
    return p;
}

static void *arr(bld *b, size_t n, size_t size)
{
    void *p = zalloc(b->a, n * size);
    if (!p)
        b->oom = true;
    return p;
}

static Atb__V1__Date *date_out(bld *b, at_date d)
{
    Atb__V1__Date *p = decision_date_out(b->a, d);
    if (!p && d != AT_DATE_NONE)
        b->oom = true;
    return p;
}

static Atb__V1__DecisionResult *result_out(bld *b, const rules_decision *d)
{
    Atb__V1__DecisionResult *r = arr(b, 1, sizeof *r);
    if (!r)
        return NULL;
    atb__v1__decision_result__init(r);
    /* The proto enums number their values as rules.h does (0 = none; asserted above). */
    r->outcome = d->outcome == RULES_GRANTED ? ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED : ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED;
    r->ask = (Atb__V1__AskKind)d->ask;
    r->benefit = str(b, d->benefit);
    r->component = str(b, d->component);
    r->status = (Atb__V1__MeansStatus)d->status;
    r->period_from = date_out(b, d->period.from);
    r->period_to = date_out(b, d->period.to);
    r->has_amount = d->has_amount;
    r->amount_cents = d->amount;
    r->per = (Atb__V1__AmountPer)d->per;
    r->units = d->units;
    r->unit_name = str(b, d->unit_name);
    r->payment = (Atb__V1__PaymentForm)d->payment;
    r->budget_code = str(b, d->ekk);
    r->reasons = arr(b, d->n_reasons, sizeof *r->reasons);
    if (!r->reasons)
        return r;
    r->n_reasons = d->n_reasons;
    for (size_t i = 0; i < d->n_reasons; i++) {
        Atb__V1__DecisionReason *x = arr(b, 1, sizeof *x);
        if (!x) {
            r->n_reasons = i;
            break;
        }
        atb__v1__decision_reason__init(x);
        x->code = str(b, d->reasons[i].code);
        x->text_lv = str(b, d->reasons[i].text_lv);
        x->text_en = str(b, d->reasons[i].text_en);
        r->reasons[i] = x;
    }
    return r;
}

static Atb__V1__ExplanationStep *step_out(bld *b, const rules_step *s)
{
    Atb__V1__ExplanationStep *p = arr(b, 1, sizeof *p);
    if (!p)
        return NULL;
    atb__v1__explanation_step__init(p);
    p->label_lv = str(b, s->label_lv);
    p->label_en = str(b, s->label_en);
    p->values = str(b, s->values);
    p->result = str(b, s->result);
    switch (s->outcome) {
    case RULES_STEP_PASS: p->outcome = ATB__V1__STEP_OUTCOME__STEP_OUTCOME_PASS; break;
    case RULES_STEP_FAIL: p->outcome = ATB__V1__STEP_OUTCOME__STEP_OUTCOME_FAIL; break;
    default: p->outcome = ATB__V1__STEP_OUTCOME__STEP_OUTCOME_INFO; break;
    }
    p->reads = arr(b, s->n_reads, sizeof *p->reads);
    if (!p->reads)
        return p;
    for (size_t i = 0; i < s->n_reads; i++) {
        const rules_param_read *rd = &s->reads[i];
        Atb__V1__ParameterRead *x = arr(b, 1, sizeof *x);
        if (!x)
            break;
        atb__v1__parameter_read__init(x);
        x->name = str(b, rd->name);
        x->value = str(b, rd->value);
        x->from = date_out(b, rd->from);
        x->to = date_out(b, rd->to);
        x->scope = str(b, rd->scope);
        x->source = str(b, rd->source);
        x->note = str(b, rd->note);
        p->reads[p->n_reads++] = x;
    }
    return p;
}

at_code decision_build(at_arena *a, const Atb__V1__DecisionInput *in, const rules_result *r,
                       const Atb__V1__RuleSetRef *ref, Atb__V1__Decision **out, at_error *err)
{
    bld b = {.a = a};
    *out = NULL;
    Atb__V1__Decision *d = arr(&b, 1, sizeof *d);
    Atb__V1__RuleSetRef *rs = arr(&b, 1, sizeof *rs);
    Atb__V1__RuleSetRef **rsv = arr(&b, 1, sizeof *rsv);
    char hash[65];
    if (b.oom || decision_input_hash(in, a, hash, err) != AT_OK)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__decision__init(d);
    atb__v1__rule_set_ref__init(rs);
    rs->scope = str(&b, ref->scope);
    rs->version = str(&b, ref->version);
    rs->position = ref->position;
    rsv[0] = rs;
    d->application_id = str(&b, in->application_id);
    d->ask_index = in->ask_index;
    d->rule_sets = rsv;
    d->n_rule_sets = 1;
    d->input_sha256 = str(&b, hash);
    d->input = (Atb__V1__DecisionInput *)in;
    d->result = result_out(&b, rules_result_decision(r));
    size_t n = rules_result_n_steps(r);
    d->steps = arr(&b, n, sizeof *d->steps);
    for (size_t i = 0; d->steps && i < n; i++) {
        Atb__V1__ExplanationStep *s = step_out(&b, rules_result_step(r, i));
        if (!s)
            break;
        d->steps[d->n_steps++] = s;
    }
    if (b.oom || !d->result)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    *out = d;
    return AT_OK;
}

const char *decision_event_type(const Atb__V1__DecisionResult *r)
{
    bool status = r->ask == ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS || r->ask == ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS;
    bool granted = r->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    if (status)
        return granted ? MEANS_EV_STATUS_GRANTED : MEANS_EV_STATUS_REFUSED;
    return granted ? MEANS_EV_BENEFIT_GRANTED : MEANS_EV_BENEFIT_REFUSED;
}

bool decision_is_event_type(const char *type)
{
    return type && (strcmp(type, MEANS_EV_STATUS_GRANTED) == 0 || strcmp(type, MEANS_EV_STATUS_REFUSED) == 0 ||
                    strcmp(type, MEANS_EV_BENEFIT_GRANTED) == 0 || strcmp(type, MEANS_EV_BENEFIT_REFUSED) == 0);
}

uint8_t *decision_pack(at_arena *a, Atb__V1__Decision *d, size_t *len)
{
    /* StatusGranted stands for all four: each is { Decision decision = 1; } */
    Atb__V1__StatusGranted ev = ATB__V1__STATUS_GRANTED__INIT;
    ev.decision = d;
    size_t n = atb__v1__status_granted__get_packed_size(&ev);
    uint8_t *buf = at_arena_alloc(a, n + 1);
    if (!buf)
        return NULL;
    atb__v1__status_granted__pack(&ev, buf);
    *len = n;
    return buf;
}

Atb__V1__Decision *decision_unpack(at_arena *a, const es_event *ev)
{
    if (!decision_is_event_type(ev->type))
        return NULL;
    Atb__V1__StatusGranted *m = atb__v1__status_granted__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    return m ? m->decision : NULL;
}
