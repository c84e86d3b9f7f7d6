/*
 * decide.c -- the pure calculation: household + application + history + rule set ->
 * decision + explanation.
 *
 * Order of work, each recorded as a step of the explanation:
 *   1. the input is checked; bad input is an error, never a silent zero (a member twice
 *      or in another household, a negative income, an income month outside the window,
 *      an unknown income type, benefit code or tenant, no rule set in force on the date);
 *   2. the income window (the last three full months before the application) and the
 *      income, counted and disregarded by type;
 *   3. the ask: needy / low-income status (status_test), GMI (gmi), or a catalogue benefit
 *      (catalogue; a composite such as HOUSING tries its components in order).
 * Every condition is evaluated even after one failed, so a refusal lists every reason.
 *
 * Money is integer cents. The only divisions are averages (rounded half up, once, from the
 * three-month total) and shares (rounded down), both through at_cents_muldiv and both
 * named in the explanation. Dates come from the application; there is no clock here.
 *
 * When adding a condition: evaluate it in catalogue() before the amount, record a step
 * with a Latvian and an English label, add a reason code (docs/rules.md lists them) and a
 * rule case in tests/rules/cases for both of its sides.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "decide_int.h"

#define MAX_INCOME_CENTS 1000000000000LL   /* 10 000 000 000.00 EUR: beyond is not a fact */

typedef struct mem {
    const rules_member *m;
    int age;
    uint32_t flags;             /* given flags plus CHILD / DISABLED (and PENSION_AGE once known) */
    at_cents income3;           /* counted income over the window */
} mem;

typedef struct ctx {
    const rules_set *s;
    const scope *ten;
    const rules_household *h;
    const rules_application *a;
    const rules_history *hist;
    at_date on, sub;
    at_period window;
    mem *m;
    size_t n;
    int applicant, subject;
    at_cents total3;
    bool pension_done;
    int htype;                  /* rules_household_type once classified, else RULES_HT_NONE */
    rules_result *r;
    at_error *err;
} ctx;

/* ---- small helpers */

static char *fmt(ctx *c, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(ctx *c, const char *f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    char *s = rules__pstrdup(c->r->pool, buf);
    if (!s) {
        c->r->oom = true;
        return "";
    }
    return s;
}

static const char *eur(ctx *c, at_cents v)
{
    char b[32];
    at_cents_format(v, b, sizeof b);
    return fmt(c, "%s", b);
}

static const char *day(ctx *c, at_date d)
{
    char b[16];
    if (d == AT_DATE_NONE)
        return "-";
    at_date_format(d, b, sizeof b);
    return fmt(c, "%s", b);
}

static void reason(ctx *c, const char *code, const char *lv, const char *en)
{
    rules__reason(c->r, code, lv, en);
}

static at_code lookup(ctx *c, const char *name, rules_param_value *v)
{
    return rules__lookup(c->s, c->ten, name, c->on, v, rules__on_read_cb, c->r, c->err);
}

static at_code overflow(ctx *c)
{
    return at_error_set(c->err, AT_INTERNAL, NULL, "arithmetic overflow in the calculation");
}

static int find_member(ctx *c, const char *key)
{
    if (!key)
        return -1;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->m[i].m->key, key) == 0)
            return (int)i;
    return -1;
}

static const char *flag_names(ctx *c, uint32_t mask, bool app)
{
    char buf[512];
    size_t o = 0;
    buf[0] = 0;
    for (int b = 0; b < 32; b++)
        if (mask & (1u << b))
            o += (size_t)snprintf(buf + o, o < sizeof buf ? sizeof buf - o : 0, "%s%s", o ? ", " : "",
                                  app ? rules__aflag_name(1u << b) : rules__mflag_name(1u << b));
    return fmt(c, "%s", buf);
}

static const bversion *version_on(const benefit *b, at_date on);

/* The benefit named `code`: the tenant's when it has a version in force on the decision
 * date, else the national one (override by name and date, as for parameters). */
static const benefit *find_benefit(const rules_set *s, const scope *ten, const char *code, at_date on)
{
    const benefit *b = rules__benefit_in(ten, code);
    const benefit *n = rules__benefit_in(s->national, code);
    if (b && n && !version_on(b, on) && version_on(n, on))
        return n;
    return b ? b : n;
}

static const bversion *version_on(const benefit *b, at_date on)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->versions[i].from <= on && (b->versions[i].to == AT_DATE_NONE || on <= b->versions[i].to))
            return &b->versions[i];
    return NULL;
}

static void read_version(ctx *c, const benefit *b, const bversion *v)
{
    rules__read_raw(c->r, b->code, fmt(c, "version from %s", day(c, v->from)), v->from, v->to,
                    rules__benefit_in(c->ten, b->code) == b ? c->ten->name : "national", v->source, v->note);
}

/* The state pension age is a dated parameter; it is read only when a rule needs it. */
static at_code pension(ctx *c)
{
    if (c->pension_done)
        return AT_OK;
    rules_param_value v;
    at_code rc = lookup(c, "pension_age", &v);
    if (rc != AT_OK)
        return rc;
    for (size_t i = 0; i < c->n; i++)
        if (at_date_add_months(c->m[i].m->birth, (int)v.value) <= c->on)
            c->m[i].flags |= RULES_MF_PENSION_AGE;
    c->pension_done = true;
    return AT_OK;
}

static const rules_status_record *status_on(ctx *c, uint32_t mask, at_date on)
{
    const rules_status_record *best = NULL;
    for (size_t i = 0; i < c->hist->n_statuses; i++) {
        const rules_status_record *s = &c->hist->statuses[i];
        if (!(mask & RULES_STATUS_BIT(s->status)))
            continue;
        if (s->period.from <= on && (s->period.to == AT_DATE_NONE || on <= s->period.to) &&
            (!best || s->period.from > best->period.from))
            best = s;
    }
    return best;
}

static const char *status_names(ctx *c, uint32_t mask)
{
    bool needy = mask & RULES_STATUS_BIT(RULES_STATUS_NEEDY), low = mask & RULES_STATUS_BIT(RULES_STATUS_LOW_INCOME);
    return fmt(c, "%s%s%s", needy ? "needy" : "", needy && low ? " or " : "", low ? "low_income" : "");
}

/* ---- household type (the 2021 reform) */

/* Classify the household once (docs/rules.md, household types) and record it as a step;
 * only rules that depend on the type call this, so earlier explanations are unchanged. */
static at_code classify(ctx *c)
{
    if (c->htype != RULES_HT_NONE)
        return AT_OK;
    uint32_t *f = rules__palloc(c->r->pool, c->n * sizeof *f);
    if (!f)
        return at_error_set(c->err, AT_INTERNAL, NULL, "out of memory");
    rules__step(c->r, "Mājsaimniecības veids", "Household type");
    at_code rc = pension(c);    /* read in this step when no earlier rule needed it */
    if (rc != AT_OK)
        return rc;
    for (size_t i = 0; i < c->n; i++) {
        uint32_t x = c->m[i].flags;
        f[i] = x;
        rules__values(c->r, "%s%s %s", i ? "; " : "", c->m[i].m->key,
                      x & RULES_MF_CHILD ? (x & RULES_MF_DISABLED ? "child with disability" : "child")
                      : x & (RULES_MF_PENSION_AGE | RULES_MF_PENSIONER) ? "pensioner"
                      : x & RULES_MF_DISABLED ? "person with disability" : "working age");
    }
    c->htype = rules_household_classify(f, c->n);
    c->r->d.household_type = c->htype;
    rules__result_line(c->r, RULES_STEP_INFO, "%s", rules_household_type_name(c->htype));
    return AT_OK;
}

/* The name of the household-type variant of `name` when a scope defines one ("" if not). */
static const char *variant(ctx *c, const char *name, int type, char *buf, size_t n)
{
    snprintf(buf, n, "%s.%s", name, rules_household_type_name(type));
    return rules__param_in(c->ten, buf) || rules__param_in(c->s->national, buf) ? buf : "";
}

static bool has_variants(ctx *c, const char *name)
{
    char buf[160];
    for (int t = RULES_HT_NONE + 1; t <= RULES_HT_OTHER; t++)
        if (variant(c, name, t, buf, sizeof buf)[0])
            return true;
    return false;
}

/* A parameter that may differ by household type: the variant NAME.<type> when a scope
 * defines it, else NAME. Call classify() first (before opening the step that reads). */
static at_code typed_lookup(ctx *c, const char *name, rules_param_value *v)
{
    char buf[160];
    const char *vn = c->htype != RULES_HT_NONE ? variant(c, name, c->htype, buf, sizeof buf) : "";
    return lookup(c, vn[0] ? vn : name, v);
}

/* ---- input checks and the income window */

static at_code bad(ctx *c, at_code code, const char *field, const char *msg, const char *detail, const char *hint)
{
    at_error_set(c->err, code, field, "%s", msg);
    if (detail)
        at_error_detail(c->err, "%s", detail);
    if (hint)
        at_error_hint(c->err, "%s", hint);
    return code;
}

static at_code check_input(ctx *c)
{
    const rules_household *h = c->h;
    const rules_application *a = c->a;
    char d1[16], d2[16], msg[256];
    if (!h->members || h->n_members == 0)
        return bad(c, AT_VALIDATION, "members", "household has no members", NULL, NULL);
    if (!(c->m = rules__palloc(c->r->pool, h->n_members * sizeof *c->m)))
        return at_error_set(c->err, AT_INTERNAL, NULL, "out of memory");
    c->n = h->n_members;
    for (size_t i = 0; i < c->n; i++) {
        const rules_member *m = &h->members[i];
        if (!m->key || !m->key[0])
            return bad(c, AT_VALIDATION, "members.key", "member without a key", NULL, NULL);
        for (size_t j = 0; j < i; j++)
            if (strcmp(h->members[j].key, m->key) == 0) {
                snprintf(msg, sizeof msg, "member %s is listed twice in the household", m->key);
                return bad(c, AT_VALIDATION, "members", msg, NULL, NULL);
            }
        if (m->birth == AT_DATE_NONE || m->birth > c->on) {
            snprintf(msg, sizeof msg, "member %s has no birth date on or before the decision date", m->key);
            return bad(c, AT_VALIDATION, "members.birth", msg, NULL, NULL);
        }
        if ((int)m->school < RULES_SCHOOL_NONE || m->school > RULES_SCHOOL_OTHER)
            return bad(c, AT_VALIDATION, "members.school", "unknown school level", NULL, NULL);
        if (m->disability_group < 0 || m->disability_group > 4)
            return bad(c, AT_VALIDATION, "members.disability_group",
                       "disability group must be 0 (none), 1 to 3, or 4 (a child with disability)", NULL, NULL);
        c->m[i].m = m;
        c->m[i].age = at_age_on(m->birth, c->on);
        c->m[i].flags = m->flags & ~(uint32_t)(RULES_MF_CHILD | RULES_MF_PENSION_AGE | RULES_MF_DISABLED);
        if (c->m[i].age < 18)
            c->m[i].flags |= RULES_MF_CHILD;
        if (m->disability_group >= 1 && m->disability.from != AT_DATE_NONE &&
            m->disability.from <= c->on && (m->disability.to == AT_DATE_NONE || c->on <= m->disability.to))
            c->m[i].flags |= RULES_MF_DISABLED;
    }
    c->applicant = find_member(c, a->applicant);
    if (c->applicant < 0)
        return bad(c, AT_VALIDATION, "applicant", "the applicant is not a member of the household", NULL,
                   "Name the applicant by the member key used in the household.");
    c->subject = a->subject ? find_member(c, a->subject) : c->applicant;
    if (c->subject < 0)
        return bad(c, AT_VALIDATION, "subject", "the subject of the benefit is not a member of the household",
                   NULL, NULL);

    /* A person is in one household at a time: the log says where else they are. */
    for (size_t i = 0; i < c->hist->n_memberships; i++) {
        const rules_membership *ms = &c->hist->memberships[i];
        if (!ms->member || !ms->household || find_member(c, ms->member) < 0)
            continue;
        if (h->id && strcmp(ms->household, h->id) == 0)
            continue;
        if (ms->period.from <= c->on && (ms->period.to == AT_DATE_NONE || c->on <= ms->period.to)) {
            at_date_format(c->on, d1, sizeof d1);
            at_error_set(c->err, AT_CONFLICT, "members", "member %s belongs to two households", ms->member);
            at_error_detail(c->err, "On %s member %s also belongs to household %s. A person's income and "
                                    "rights are assessed in one household only.", d1, ms->member, ms->household);
            at_error_hint(c->err, "Record the move out of household %s first.", ms->household);
            return AT_CONFLICT;
        }
    }

    c->window = at_last_full_months(c->sub, 3);
    at_date_format(c->window.from, d1, sizeof d1);
    at_date_format(c->window.to, d2, sizeof d2);
    for (size_t i = 0; i < h->n_incomes; i++) {
        const rules_income *in = &h->incomes[i];
        int mi = find_member(c, in->member);
        if (mi < 0) {
            snprintf(msg, sizeof msg, "income %zu belongs to %s, who is not a member of the household", i,
                     in->member ? in->member : "nobody");
            return bad(c, AT_VALIDATION, "incomes.member", msg, NULL, NULL);
        }
        if (in->amount < 0) {
            char am[32];
            at_cents_format(in->amount, am, sizeof am);
            at_error_set(c->err, AT_VALIDATION, "incomes.amount", "negative income for member %s", in->member);
            at_error_detail(c->err, "Income %zu (%s) is %s EUR. An income is never negative; a loss or a "
                                    "deduction is declared as such, not as negative income.", i,
                            in->type ? in->type : "?", am);
            return AT_VALIDATION;
        }
        if (in->amount > MAX_INCOME_CENTS)
            return bad(c, AT_VALIDATION, "incomes.amount", "income amount is implausibly large", NULL, NULL);
        if (in->month == AT_DATE_NONE || !at_period_contains(c->window, at_month_first(in->month))) {
            char mo[16];
            if (in->month == AT_DATE_NONE)
                snprintf(mo, sizeof mo, "none");
            else
                at_date_format(at_month_first(in->month), mo, sizeof mo);
            at_error_set(c->err, AT_VALIDATION, "incomes.month", "income month outside the window");
            at_error_detail(c->err, "Income %zu of member %s is for the month starting %s, but the means test "
                                    "counts the last three full months before the application: %s to %s.",
                            i, in->member, mo, d1, d2);
            at_error_hint(c->err, "Declare the incomes of %s to %s only.", d1, d2);
            return AT_VALIDATION;
        }
        const itype *t = in->type ? rules__itype_in(c->ten, in->type) : NULL;
        const itype *tn = in->type ? rules__itype_in(c->s->national, in->type) : NULL;
        if (!t && !tn) {
            at_error_set(c->err, AT_VALIDATION, "incomes.type", "unknown income type \"%s\"",
                         in->type ? in->type : "");
            at_error_hint(c->err, "Use an income type of the rule set (national.yaml, income_types).");
            return AT_VALIDATION;
        }
    }
    for (size_t i = 0; i < h->n_properties; i++)
        if (find_member(c, h->properties[i].member) < 0 || h->properties[i].cadastral_value < 0 ||
            (h->properties[i].use != RULES_PROPERTY_OWN_HOME && h->properties[i].use != RULES_PROPERTY_OTHER))
            return bad(c, AT_VALIDATION, "properties", "a property has no owner in the household, a negative "
                                                       "cadastral value or no use", NULL, NULL);
    for (size_t i = 0; i < h->n_vehicles; i++)
        if (find_member(c, h->vehicles[i].member) < 0)
            return bad(c, AT_VALIDATION, "vehicles", "a vehicle has no owner in the household", NULL, NULL);
    if (h->savings < 0)
        return bad(c, AT_VALIDATION, "savings", "savings must not be negative", NULL, NULL);
    for (size_t i = 0; i < h->n_expenses; i++)
        if (!h->expenses || !h->expenses[i].kind || !h->expenses[i].kind[0] || h->expenses[i].amount < 0)
            return bad(c, AT_VALIDATION, "expenses", "a housing expense has no kind or a negative amount",
                       "Each housing expense is a kind (rent, heat, ...) and a monthly amount of at least 0.00.",
                       NULL);
    return AT_OK;
}

/* The counted / disregarded state of an income type on the decision date (tenant first). */
static at_code income_type(ctx *c, const char *code, bool *counted, bool record)
{
    const itype *t = rules__itype_in(c->ten, code);
    const itval *v = NULL;
    const scope *from = c->ten;
    if (t) {
        for (size_t i = 0; i < t->n && !v; i++)
            if (t->values[i].from <= c->on && (t->values[i].to == AT_DATE_NONE || c->on <= t->values[i].to))
                v = &t->values[i];
    }
    if (!v) {
        t = rules__itype_in(c->s->national, code);
        from = c->s->national;
        for (size_t i = 0; t && i < t->n && !v; i++)
            if (t->values[i].from <= c->on && (t->values[i].to == AT_DATE_NONE || c->on <= t->values[i].to))
                v = &t->values[i];
    }
    if (!v) {
        at_error_set(c->err, AT_NOT_FOUND, "incomes.type", "no rule in force for income type %s on %s", code,
                     day(c, c->on));
        return AT_NOT_FOUND;
    }
    *counted = v->counted;
    if (record)
        rules__read_raw(c->r, fmt(c, "income_type.%s", code), v->counted ? "counted" : "disregarded", v->from,
                        v->to, from->name, v->source, v->note);
    return AT_OK;
}

static at_code incomes(ctx *c)
{
    const rules_household *h = c->h;
    rules__step(c->r, "Ienākumu periods: pēdējie trīs pilnie mēneši pirms iesnieguma",
                "Income window: the last three full months before the application");
    rules__values(c->r, "application %s, decision %s", day(c, c->sub), day(c, c->on));
    rules__result_line(c->r, RULES_STEP_INFO, "%s .. %s", day(c, c->window.from), day(c, c->window.to));

    rules__step(c->r, "Ienākumi pa veidiem (ieskaitītie un neieskaitītie)",
                "Income by type (counted and disregarded)");
    /* Each income type used is read once, in the order first met. */
    const char *seen[64];
    size_t n_seen = 0;
    at_cents disregarded = 0;
    c->total3 = 0;
    for (size_t i = 0; i < h->n_incomes; i++) {
        const rules_income *in = &h->incomes[i];
        bool rec = true;
        for (size_t k = 0; k < n_seen; k++)
            if (strcmp(seen[k], in->type) == 0)
                rec = false;
        if (rec && n_seen < 64)
            seen[n_seen++] = in->type;
        bool counted;
        at_code rc = income_type(c, in->type, &counted, rec);
        if (rc != AT_OK)
            return rc;
        char mo[16];
        at_date_format(at_month_first(in->month), mo, sizeof mo);
        rules__values(c->r, "%s%s %.7s %s %s (%s)", i ? "; " : "", in->member, mo, in->type, eur(c, in->amount),
                      counted ? "counted" : "disregarded");
        mem *m = &c->m[find_member(c, in->member)];
        if (counted) {
            if (!at_cents_add(m->income3, in->amount, &m->income3) || !at_cents_add(c->total3, in->amount, &c->total3))
                return overflow(c);
        } else if (!at_cents_add(disregarded, in->amount, &disregarded)) {
            return overflow(c);
        }
    }
    if (h->n_incomes == 0)
        rules__values(c->r, "no income declared");
    rules__result_line(c->r, RULES_STEP_INFO, "counted %s EUR, disregarded %s EUR over three months",
                       eur(c, c->total3), eur(c, disregarded));
    return AT_OK;
}

/* Monthly averages over the window, rounded half up once from the three-month total. */
static at_code avg_household(ctx *c, at_cents *out)
{
    return at_cents_muldiv(c->total3, 1, 3, AT_ROUND_HALF_UP, out) ? AT_OK : overflow(c);
}

static at_code avg_per_person(ctx *c, at_cents *out)
{
    return at_cents_muldiv(c->total3, 1, 3 * (int64_t)c->n, AT_ROUND_HALF_UP, out) ? AT_OK : overflow(c);
}

static at_code avg_subject(ctx *c, at_cents *out)
{
    return at_cents_muldiv(c->m[c->subject].income3, 1, 3, AT_ROUND_HALF_UP, out) ? AT_OK : overflow(c);
}

static at_code income_measure(ctx *c, int basis, at_cents *out, const char **what)
{
    switch (basis) {
    case BASIS_SUBJECT:
        *what = "the person's average monthly income";
        return avg_subject(c, out);
    case BASIS_HOUSEHOLD:
        *what = "household average monthly income";
        return avg_household(c, out);
    default:
        *what = "average monthly income per household member";
        return avg_per_person(c, out);
    }
}

/* ---- needy and low-income status */

static int children(ctx *c)
{
    int k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->m[i].flags & RULES_MF_CHILD)
            k++;
    return k;
}

static at_code status_test(ctx *c, rules_status which)
{
    const char *P = which == RULES_STATUS_NEEDY ? "needy" : "low_income";
    char name[96];
    rules_param_value v;
    at_code rc;
    bool income_ok, other_ok = true;

    rules__step(c->r, "Valsts vecuma pensijas vecums", "State pension age");
    rc = pension(c);
    if (rc != AT_OK)
        return rc;
    for (size_t i = 0; i < c->n; i++)
        rules__values(c->r, "%s%s %s", i ? "; " : "", c->m[i].m->key,
                      c->m[i].flags & RULES_MF_PENSION_AGE ? "of pension age" : "below pension age");
    rules__result_line(c->r, RULES_STEP_INFO, "used for the status period and the duty to register as unemployed");

    /* Income test; a municipality may set its threshold by household type. */
    snprintf(name, sizeof name, "%s.income_threshold", P);
    if (has_variants(c, name) && (rc = classify(c)) != AT_OK)
        return rc;
    rules__step(c->r, "Ienākumu līmeņa pārbaude", "Income test");
    if ((rc = typed_lookup(c, name, &v)) != AT_OK)
        return rc;
    at_cents measure, limit;
    if (v.household) {
        at_cents others;
        if ((rc = avg_household(c, &measure)) != AT_OK)
            return rc;
        if (!at_cents_mul(v.others, (int64_t)c->n - 1, &others) || !at_cents_add(v.first, others, &limit))
            return overflow(c);
        rules__values(c->r, "household average monthly income %s (three-month total %s / 3, rounded half up); "
                            "threshold %s + %s x %zu = %s", eur(c, measure), eur(c, c->total3), eur(c, v.first),
                      eur(c, v.others), c->n - 1, eur(c, limit));
    } else {
        if ((rc = avg_per_person(c, &measure)) != AT_OK)
            return rc;
        limit = v.value;
        rules__values(c->r, "average monthly income per member %s (three-month total %s / (3 x %zu members), "
                            "rounded half up); threshold %s per person", eur(c, measure), eur(c, c->total3), c->n,
                      eur(c, limit));
    }
    income_ok = measure <= limit;
    rules__result_line(c->r, income_ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "%s %s %s", eur(c, measure),
                       income_ok ? "<=" : ">", eur(c, limit));
    if (!income_ok)
        reason(c, "income_above_threshold",
               fmt(c, "Vidējie ienākumi (%s EUR) pārsniedz ienākumu līmeni %s EUR", eur(c, measure), eur(c, limit)),
               fmt(c, "Average income of %s EUR exceeds the threshold of %s EUR", eur(c, measure), eur(c, limit)));

    /* Real estate: the own home is not property; other real estate counts unless its total
     * cadastral value is below the disregard. */
    rules__step(c->r, "Nekustamais īpašums (kadastrālā vērtība)", "Real estate (cadastral value)");
    snprintf(name, sizeof name, "%s.real_estate_disregard_below", P);
    if ((rc = lookup(c, name, &v)) != AT_OK)
        return rc;
    at_cents other = 0;
    for (size_t i = 0; i < c->h->n_properties; i++) {
        const rules_property *p = &c->h->properties[i];
        rules__values(c->r, "%s%s %s %s", i ? "; " : "", p->member,
                      p->use == RULES_PROPERTY_OWN_HOME ? "own home (not property)" : "other",
                      eur(c, p->cadastral_value));
        if (p->use == RULES_PROPERTY_OTHER && !at_cents_add(other, p->cadastral_value, &other))
            return overflow(c);
    }
    bool prop_counted = other > 0 && other >= v.value;
    rules__result_line(c->r, prop_counted ? RULES_STEP_FAIL : RULES_STEP_PASS,
                       "other real estate total %s %s %s: %s", eur(c, other), other < v.value ? "<" : ">=",
                       eur(c, v.value), prop_counted ? "counted as property" : "not counted as property");
    if (prop_counted) {
        other_ok = false;
        reason(c, "property_counted",
               fmt(c, "Ģimenei pieder nekustamais īpašums ar kopējo kadastrālo vērtību %s EUR, kas nav mazāka par %s EUR",
                   eur(c, other), eur(c, v.value)),
               fmt(c, "The household owns real estate with a total cadastral value of %s EUR, not below %s EUR",
                   eur(c, other), eur(c, v.value)));
    }

    rules__step(c->r, "Naudas līdzekļu uzkrājumi", "Savings");
    snprintf(name, sizeof name, "%s.savings_limit", P);
    if ((rc = lookup(c, name, &v)) != AT_OK)
        return rc;
    bool sav_ok = c->h->savings <= v.value;
    rules__values(c->r, "savings %s", eur(c, c->h->savings));
    rules__result_line(c->r, sav_ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "%s %s %s", eur(c, c->h->savings),
                       sav_ok ? "<=" : ">", eur(c, v.value));
    if (!sav_ok) {
        other_ok = false;
        reason(c, "savings_above_limit",
               fmt(c, "Naudas uzkrājumi (%s EUR) pārsniedz %s EUR", eur(c, c->h->savings), eur(c, v.value)),
               fmt(c, "Savings of %s EUR exceed %s EUR", eur(c, c->h->savings), eur(c, v.value)));
    }

    rules__step(c->r, "Transportlīdzekļi", "Vehicles");
    snprintf(name, sizeof name, "%s.vehicles_disregarded", P);
    if ((rc = lookup(c, name, &v)) != AT_OK)
        return rc;
    int64_t cars = 0;
    for (size_t i = 0; i < c->h->n_vehicles; i++)
        if (!c->h->vehicles[i].needed_for_disability)
            cars++;
    rules__values(c->r, "%zu vehicles, %lld not needed for a disability", c->h->n_vehicles, (long long)cars);
    bool cars_ok = cars <= v.value;
    rules__result_line(c->r, cars_ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "%lld %s %lld disregarded",
                       (long long)cars, cars_ok ? "<=" : ">", (long long)v.value);
    if (!cars_ok) {
        other_ok = false;
        reason(c, "vehicles_counted",
               fmt(c, "Ģimenei pieder %lld transportlīdzekļi; neņem vērā tikai %lld", (long long)cars, (long long)v.value),
               fmt(c, "The household owns %lld vehicles; only %lld are disregarded", (long long)cars, (long long)v.value));
    }

    /* Cabinet Regulation No. 299 points 2.2-2.4 */
    uint32_t any = 0;
    for (size_t i = 0; i < c->n; i++)
        any |= c->m[i].flags;
    rules__step(c->r, "Uztura līgums", "Maintenance contract");
    bool mc = any & RULES_MF_MAINTENANCE_CONTRACT;
    rules__result_line(c->r, mc ? RULES_STEP_FAIL : RULES_STEP_PASS, mc ? "a maintenance contract exists" : "none");
    if (mc) {
        other_ok = false;
        reason(c, "maintenance_contract", "Ģimene ir noslēgusi uztura līgumu",
               "The household has concluded a maintenance contract");
    }
    rules__step(c->r, "Ilgstoša sociālā aprūpe institūcijā vai ieslodzījums", "Long-term institutional care or prison");
    bool inst = any & (RULES_MF_LONG_TERM_CARE | RULES_MF_PRISON);
    rules__result_line(c->r, inst ? RULES_STEP_FAIL : RULES_STEP_PASS, inst ? "a member is in care or prison" : "none");
    if (inst) {
        other_ok = false;
        reason(c, "institution_or_prison",
               "Ģimenes loceklis saņem ilgstošas sociālās aprūpes institūcijas pakalpojumus vai atrodas ieslodzījumā",
               "A member receives long-term institutional care or is in prison");
    }
    rules__step(c->r, "Darbspējīgo reģistrācija NVA kā bezdarbniekiem",
                "Members able to work are employed or registered as unemployed with the NVA");
    char who[256];
    size_t o = 0;
    who[0] = 0;
    for (size_t i = 0; i < c->n; i++) {
        uint32_t f = c->m[i].flags;
        if ((f & RULES_MF_ABLE_TO_WORK) &&
            !(f & (RULES_MF_EMPLOYED | RULES_MF_REGISTERED_UNEMPLOYED | RULES_MF_STUDENT | RULES_MF_PENSION_AGE |
                   RULES_MF_DISABLED | RULES_MF_CHILD)))
            o += (size_t)snprintf(who + o, o < sizeof who ? sizeof who - o : 0, "%s%s", o ? ", " : "", c->m[i].m->key);
    }
    rules__result_line(c->r, o ? RULES_STEP_FAIL : RULES_STEP_PASS, "%s", o ? who : "every member able to work is employed or registered");
    if (o) {
        other_ok = false;
        reason(c, "not_registered_unemployed",
               fmt(c, "Darbspējīgs ģimenes loceklis (%s) nestrādā un nav reģistrējies NVA kā bezdarbnieks", who),
               fmt(c, "A member able to work (%s) is neither employed nor registered with the NVA as unemployed", who));
    }

    /* Period */
    rules__step(c->r, "Statusa periods", "Status period");
    c->r->d.status = RULES_STATUS_NONE;
    if (!income_ok) {
        rules__result_line(c->r, RULES_STEP_FAIL, "no status: the income test failed");
        c->r->d.outcome = RULES_REFUSED;
        return AT_OK;
    }
    int64_t months;
    if (!other_ok) {
        snprintf(name, sizeof name, "%s.period_months_income_only", P);
        if ((rc = lookup(c, name, &v)) != AT_OK)
            return rc;
        if (v.value == 0) {
            rules__result_line(c->r, RULES_STEP_FAIL, "no status: a condition other than income failed");
            c->r->d.outcome = RULES_REFUSED;
            return AT_OK;
        }
        months = v.value;
        reason(c, "status_income_test_only",
               fmt(c, "Atbilst tikai ienākumu līmenim: statuss uz %lld mēnesi", (long long)months),
               fmt(c, "Only the income test is met: status for %lld month(s)", (long long)months));
    } else {
        /* The longer period when nobody in the household can be expected to work. */
        bool nonworking = true;
        for (size_t i = 0; i < c->n; i++) {
            uint32_t f = c->m[i].flags;
            if (f & RULES_MF_ABLE_TO_WORK)
                nonworking = false;
            if (!(f & (RULES_MF_CHILD | RULES_MF_PENSION_AGE | RULES_MF_DISABLED)))
                nonworking = false;
        }
        rules__values(c->r, "%s", nonworking ? "every member is of pension age, disabled or a child, and none is able to work"
                                             : "the household has a member of working age");
        snprintf(name, sizeof name, nonworking ? "%s.period_months_long" : "%s.period_months", P);
        if ((rc = lookup(c, name, &v)) != AT_OK)
            return rc;
        months = v.value;
    }
    at_date start = c->on;
    if (which == RULES_STATUS_LOW_INCOME) {
        /* Continuous renewal: applied for at least N days before the end, nothing changed. */
        if ((rc = lookup(c, "low_income.continuous_renewal_days", &v)) != AT_OK)
            return rc;
        const rules_status_record *prev = NULL;
        for (size_t i = 0; i < c->hist->n_statuses; i++) {
            const rules_status_record *s = &c->hist->statuses[i];
            if (s->status == RULES_STATUS_LOW_INCOME && s->period.to != AT_DATE_NONE && s->period.to >= c->sub &&
                s->period.from <= c->sub && (!prev || s->period.to > prev->period.to))
                prev = s;
        }
        if (prev) {
            bool in_time = v.value > 0 && c->sub + v.value <= prev->period.to;
            bool same = c->a->flags & RULES_AF_NO_CHANGE;
            rules__values(c->r, "; current low-income status ends %s, application %s (%lld days before), %s",
                          day(c, prev->period.to), day(c, c->sub), (long long)(prev->period.to - c->sub),
                          same ? "no change in circumstances" : "circumstances changed");
            if (in_time && same)
                start = prev->period.to + 1;
        }
    }
    at_date end = at_date_add_months(start, (int)months) - 1;
    c->r->d.outcome = RULES_GRANTED;
    c->r->d.status = which;
    c->r->d.period.from = start;
    c->r->d.period.to = end;
    rules__result_line(c->r, RULES_STEP_PASS, "%s status for %lld month(s): %s .. %s", P, (long long)months,
                       day(c, start), day(c, end));
    return AT_OK;
}

/* ---- GMI */

/* A GMI grant made earlier in the same status period under another GMI level: the rule
 * set says whether it keeps its amount while circumstances are unchanged
 * (gmi.keep_amount_on_level_change: true, Cabinet Regulation No. 550) or is recalculated
 * (false). A set without that parameter decides as before. *kept is set when the earlier
 * amount stays. */
static at_code level_change(ctx *c, const rules_status_record *st, const char *level_param,
                            const rules_param_value *lv, bool *kept, at_cents *amount)
{
    static const char P[] = "gmi.keep_amount_on_level_change";
    *kept = false;
    if (!st || (!rules__param_in(c->ten, P) && !rules__param_in(c->s->national, P)))
        return AT_OK;
    const rules_grant *g = NULL;
    for (size_t i = 0; i < c->hist->n_grants; i++) {
        const rules_grant *x = &c->hist->grants[i];
        if (x->benefit && strcmp(x->benefit, "GMI") == 0 && x->date != AT_DATE_NONE && x->date < c->on &&
            x->date >= st->period.from && (!g || x->date > g->date))
            g = x;
    }
    if (!g)
        return AT_OK;
    rules_param_value old;
    at_error quiet;
    at_error_clear(&quiet);
    if (rules__lookup(c->s, c->ten, level_param, g->date, &old, NULL, NULL, &quiet) != AT_OK ||
        (old.first == lv->first && old.others == lv->others))
        return AT_OK;   /* no level in force then, or the same level: nothing changed */
    char was[96], now[96];
    rules__value_text(&old, was, sizeof was);
    rules__value_text(lv, now, sizeof now);
    rules__step(c->r, "GMI līmeņa maiņa piešķirtā pabalsta laikā", "GMI level changed during a running grant");
    /* the earlier level again, now recorded with its source in this step */
    rules__lookup(c->s, c->ten, level_param, g->date, &old, rules__on_read_cb, c->r, &quiet);
    rules_param_value keep;
    at_code rc = lookup(c, P, &keep);
    if (rc != AT_OK)
        return rc;
    bool same = c->a->flags & RULES_AF_NO_CHANGE;
    rules__values(c->r, "granted %s on %s under the level %s; the level on %s is %s; %s", eur(c, g->amount),
                  day(c, g->date), was, day(c, c->on), now,
                  same ? "no change in composition or circumstances" : "circumstances changed");
    if (keep.value && same) {
        *kept = true;
        *amount = g->amount;
        rules__result_line(c->r, RULES_STEP_INFO, "the earlier amount %s is kept, not recalculated", eur(c, g->amount));
    } else {
        rules__result_line(c->r, RULES_STEP_INFO, "%s", keep.value ? "recalculated: circumstances changed"
                                                                   : "recalculated under the new level");
    }
    return AT_OK;
}

static at_code gmi(ctx *c, const benefit *b, const bversion *v)
{
    at_code rc;
    rules__step(c->r, "Trūcīgas ģimenes statuss lēmuma datumā", "Needy status on the decision date");
    read_version(c, b, v);
    const rules_status_record *st = status_on(c, v->status_any, c->on);
    if (!st) {
        rules__result_line(c->r, RULES_STEP_FAIL, "no needy status on %s", day(c, c->on));
        reason(c, "status_missing", "Ģimenei lēmuma datumā nav trūcīgas ģimenes statusa",
               "The household does not hold needy status on the decision date");
    } else {
        rules__result_line(c->r, RULES_STEP_PASS, "needy %s .. %s", day(c, st->period.from), day(c, st->period.to));
    }

    rules__step(c->r, "GMI līmenis ģimenei", "GMI level for the household");
    rules_param_value lv;
    if ((rc = lookup(c, v->level_param, &lv)) != AT_OK)
        return rc;
    at_cents sum, others;
    if (!at_cents_mul(lv.others, (int64_t)c->n - 1, &others) || !at_cents_add(lv.first, others, &sum))
        return overflow(c);
    rules__values(c->r, "%zu members: %s + %s x %zu", c->n, eur(c, lv.first), eur(c, lv.others), c->n - 1);
    rules__result_line(c->r, RULES_STEP_INFO, "%s", eur(c, sum));

    rules__step(c->r, "Ģimenes vidējie ienākumi mēnesī", "Household average monthly income");
    at_cents income;
    if ((rc = avg_household(c, &income)) != AT_OK)
        return rc;
    rules__values(c->r, "three-month total %s / 3, rounded half up", eur(c, c->total3));
    rules__result_line(c->r, RULES_STEP_INFO, "%s", eur(c, income));

    bool kept;
    at_cents kept_amount = 0;
    if ((rc = level_change(c, st, v->level_param, &lv, &kept, &kept_amount)) != AT_OK)
        return rc;
    rules__step(c->r, "GMI pabalsts: GMI līmeņu summa mīnus ienākumi", "GMI benefit: GMI sum minus income");
    at_cents amount;
    if (!at_cents_sub(sum, income, &amount))
        return overflow(c);
    rules__values(c->r, "%s - %s = %s", eur(c, sum), eur(c, income), eur(c, amount));
    if (kept) {
        rules__values(c->r, "; kept at the earlier amount %s", eur(c, kept_amount));
        amount = kept_amount;
    }
    if (amount <= 0) {
        rules__result_line(c->r, RULES_STEP_FAIL, "no benefit: income is not below the GMI sum");
        reason(c, "income_not_below_gmi",
               fmt(c, "Ģimenes ienākumi (%s EUR) nav mazāki par GMI līmeņu summu (%s EUR)", eur(c, income), eur(c, sum)),
               fmt(c, "Household income of %s EUR is not below the GMI sum of %s EUR", eur(c, income), eur(c, sum)));
        amount = 0;
    } else {
        rules__result_line(c->r, RULES_STEP_PASS, "%s per month", eur(c, amount));
    }

    /* Co-operation duties: a working-age member who fails them loses the benefit except
     * for the children's share (document 000 programme I item 1.1). */
    bool failed = false;
    for (size_t i = 0; i < c->n; i++)
        if ((c->m[i].flags & RULES_MF_COOPERATION_FAILED) && !(c->m[i].flags & RULES_MF_CHILD))
            failed = true;
    if (failed) {
        rules__step(c->r, "Līdzdarbības pienākumu izpilde", "Co-operation duties");
        int k = children(c);
        at_cents share = 0;
        if (!at_cents_muldiv(amount, k, (int64_t)c->n, AT_ROUND_DOWN, &share))
            return overflow(c);
        rules__values(c->r, "an adult failed the co-operation duties; children's share = %s x %d / %zu, rounded down",
                      eur(c, amount), k, c->n);
        rules__result_line(c->r, k ? RULES_STEP_FAIL : RULES_STEP_FAIL, "%s", eur(c, share));
        if (k == 0 || share <= 0) {
            reason(c, "cooperation_failed", "Darbspējīgs ģimenes loceklis nepilda līdzdarbības pienākumus",
                   "A member able to work does not fulfil the co-operation duties");
            amount = 0;
        } else {
            reason(c, "cooperation_failed_children_share",
                   "Vecāki nepilda līdzdarbības pienākumus: pabalsts tikai par nepilngadīgajiem bērniem",
                   "The parents do not fulfil the co-operation duties: the benefit is paid for the minor children only");
            amount = share;
        }
    }
    if (!st || amount <= 0) {
        c->r->d.outcome = RULES_REFUSED;
        return AT_OK;
    }
    c->r->d.outcome = RULES_GRANTED;
    c->r->d.has_amount = true;
    c->r->d.amount = amount;
    c->r->d.per = (rules_per)v->per;
    c->r->d.period = st->period;
    c->r->d.payment = (rules_payment)v->payment;
    c->r->d.ekk = v->ekk;
    return AT_OK;
}

/* ---- housing benefit (2021 on) */

static const expkind *expense_kind(const bversion *v, const char *kind)
{
    for (size_t i = 0; i < v->n_expenses; i++)
        if (strcmp(v->expenses[i].kind, kind) == 0)
            return &v->expenses[i];
    return NULL;
}

/* The eligible monthly housing expenses: by kind when given (each kind counted or not,
 * each expense up to its norm when the rule set has one), else the total in full. */
static at_code housing_expenses(ctx *c, const benefit *b, const bversion *v, at_cents *out)
{
    const rules_household *h = c->h;
    const char *from = rules__benefit_in(c->ten, b->code) == b ? c->ten->name : "national";
    at_cents sum = 0;
    rules__step(c->r, "Attiecināmie mājokļa izdevumi mēnesī", "Eligible housing expenses per month");
    if (h->n_expenses == 0) {
        if (h->housing_expenses < 0)
            return bad(c, AT_VALIDATION, "housing_expenses", "housing expenses must not be negative", NULL, NULL);
        sum = h->housing_expenses;
        rules__values(c->r, "total %s, not broken down by kind: counted in full (assumption: the documents "
                            "presented are within the norms)", eur(c, sum));
    }
    for (size_t i = 0; i < h->n_expenses; i++) {
        const rules_expense *e = &h->expenses[i];
        const expkind *k = expense_kind(v, e->kind);
        if (!k) {
            char list[256];
            size_t o = 0;
            list[0] = 0;
            for (size_t j = 0; j < v->n_expenses && o < sizeof list - 32; j++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", v->expenses[j].kind);
            at_error_set(c->err, AT_VALIDATION, "expenses.kind", "unknown housing expense kind \"%s\"", e->kind);
            at_error_hint(c->err, "Use one of: %s.", list);
            return AT_VALIDATION;
        }
        rules__read_raw(c->r, fmt(c, "expense.%s", k->kind), k->counted ? "counted" : "not counted", v->from, v->to,
                        from, k->source, k->note);
        at_cents amount = e->amount;
        if (!k->counted) {
            rules__values(c->r, "%s%s %s not counted", i ? "; " : "", e->kind, eur(c, amount));
            continue;
        }
        rules__values(c->r, "%s%s %s", i ? "; " : "", e->kind, eur(c, amount));
        if (k->norm_param) {
            rules_param_value nv;
            at_code rc = lookup(c, k->norm_param, &nv);
            if (rc != AT_OK)
                return rc;
            if (amount > nv.value) {
                rules__values(c->r, " (norm %s)", eur(c, nv.value));
                amount = nv.value;
            }
        }
        if (!at_cents_add(sum, amount, &sum))
            return overflow(c);
    }
    rules__result_line(c->r, RULES_STEP_INFO, "%s", eur(c, sum));
    *out = sum;
    return AT_OK;
}

/* Housing benefit = K x the household's GMI threshold sum + eligible expenses - household
 * income (Social Services and Social Assistance Law art. 35), K by household type. */
static at_code housing(ctx *c, const benefit *b, const bversion *v)
{
    rules_decision *d = &c->r->d;
    at_code rc;
    rules__step(c->r, "Statuss lēmuma datumā", "Status on the decision date");
    read_version(c, b, v);
    const rules_status_record *st = status_on(c, v->status_any, c->on);
    if (!st) {
        rules__result_line(c->r, RULES_STEP_FAIL, "no %s status on %s", status_names(c, v->status_any), day(c, c->on));
        reason(c, "status_missing", "Mājsaimniecībai lēmuma datumā nav vajadzīgā statusa",
               fmt(c, "The household does not hold %s status on the decision date", status_names(c, v->status_any)));
    } else {
        rules__result_line(c->r, RULES_STEP_PASS, "%s %s .. %s", rules_status_name(st->status), day(c, st->period.from),
                           day(c, st->period.to));
    }
    if ((rc = classify(c)) != AT_OK)
        return rc;

    rules__step(c->r, "GMI sliekšņu summa mājsaimniecībai", "The household's GMI threshold sum");
    rules_param_value lv;
    if ((rc = lookup(c, v->level_param, &lv)) != AT_OK)
        return rc;
    at_cents sum, others;
    if (!at_cents_mul(lv.others, (int64_t)c->n - 1, &others) || !at_cents_add(lv.first, others, &sum))
        return overflow(c);
    rules__values(c->r, "%zu members: %s + %s x %zu", c->n, eur(c, lv.first), eur(c, lv.others), c->n - 1);
    rules__result_line(c->r, RULES_STEP_INFO, "%s", eur(c, sum));

    rules__step(c->r, "Koeficients pēc mājsaimniecības veida", "Coefficient by household type");
    rules_param_value k;
    if ((rc = typed_lookup(c, v->coefficient_param, &k)) != AT_OK)
        return rc;
    at_cents base;
    if (!at_cents_muldiv(sum, k.value, 10000, AT_ROUND_HALF_UP, &base))
        return overflow(c);
    rules__values(c->r, "%s: %lld.%04lld x %s, rounded half up to the cent", rules_household_type_name(c->htype),
                  (long long)(k.value / 10000), (long long)(k.value % 10000), eur(c, sum));
    rules__result_line(c->r, RULES_STEP_INFO, "%s", eur(c, base));

    at_cents expenses = 0;
    if ((rc = housing_expenses(c, b, v, &expenses)) != AT_OK)
        return rc;

    rules__step(c->r, "Mājsaimniecības vidējie ienākumi mēnesī", "Household average monthly income");
    at_cents income;
    if ((rc = avg_household(c, &income)) != AT_OK)
        return rc;
    rules__values(c->r, "three-month total %s / 3, rounded half up", eur(c, c->total3));
    rules__result_line(c->r, RULES_STEP_INFO, "%s", eur(c, income));

    rules__step(c->r, "Mājokļa pabalsts: K x GMI summa + izdevumi - ienākumi",
                "Housing benefit: K x GMI sum + expenses - income");
    at_cents amount;
    if (!at_cents_add(base, expenses, &amount) || !at_cents_sub(amount, income, &amount))
        return overflow(c);
    rules__values(c->r, "%s + %s - %s = %s", eur(c, base), eur(c, expenses), eur(c, income), eur(c, amount));
    if (amount <= 0) {
        rules__result_line(c->r, RULES_STEP_FAIL, "no benefit: income is not below the housing sum");
        reason(c, "income_not_below_housing_sum",
               fmt(c, "Mājsaimniecības ienākumi (%s EUR) nav mazāki par %s EUR", eur(c, income),
                   eur(c, base + expenses)),
               fmt(c, "Household income of %s EUR is not below K x GMI sum + expenses, %s EUR", eur(c, income),
                   eur(c, base + expenses)));
    } else {
        rules__result_line(c->r, RULES_STEP_PASS, "%s per month", eur(c, amount));
    }
    if (!st || amount <= 0) {
        d->outcome = RULES_REFUSED;
        return AT_OK;
    }
    d->outcome = RULES_GRANTED;
    d->has_amount = true;
    d->amount = amount;
    d->per = (rules_per)v->per;
    if (v->period == PERIOD_STATUS)
        d->period = st->period;
    else if (v->period == PERIOD_MONTH)
        d->period = at_month_of(c->on);
    else
        d->period.from = d->period.to = c->on;
    d->payment = (rules_payment)v->payment;
    d->ekk = v->ekk;
    return AT_OK;
}

/* ---- catalogue benefits */

/* Does member i fall into group g? why receives the first unmet condition. <0 on error. */
static int group_ok(ctx *c, const group *g, int i, char *why, size_t n)
{
    if (((g->all | g->any | g->none) & RULES_MF_PENSION_AGE) && pension(c) != AT_OK)
        return -1;
    const mem *m = &c->m[i];
    uint32_t f = m->flags;
    if ((f & g->all) != g->all) {
        snprintf(why, n, "not %s", flag_names(c, g->all & ~f, false));
        return 0;
    }
    if (g->any && !(f & g->any)) {
        snprintf(why, n, "none of %s", flag_names(c, g->any, false));
        return 0;
    }
    if (f & g->none) {
        snprintf(why, n, "is %s", flag_names(c, f & g->none, false));
        return 0;
    }
    if (g->age_min >= 0 && m->age < g->age_min) {
        snprintf(why, n, "age %d < %d", m->age, g->age_min);
        return 0;
    }
    if (g->age_max >= 0 && m->age > g->age_max) {
        snprintf(why, n, "age %d > %d", m->age, g->age_max);
        return 0;
    }
    if ((g->resident || g->residence_months >= 0) &&
        (m->m->residence_since == AT_DATE_NONE || m->m->residence_since > c->on)) {
        snprintf(why, n, "no declared residence in the municipality");
        return 0;
    }
    if (g->residence_months >= 0) {
        at_date ref = c->a->event != AT_DATE_NONE ? c->a->event : c->on;
        at_date need = at_date_add_months(ref, -g->residence_months);
        if (m->m->residence_since > need) {
            snprintf(why, n, "residence since %s, needed since %s at the latest (%d months before %s)",
                     day(c, m->m->residence_since), day(c, need), g->residence_months, day(c, ref));
            return 0;
        }
    }
    if (g->status_any && !status_on(c, g->status_any, c->on)) {
        snprintf(why, n, "household without %s status", status_names(c, g->status_any));
        return 0;
    }
    if (g->pupil && m->m->school == RULES_SCHOOL_NONE) {
        snprintf(why, n, "not a pupil");
        return 0;
    }
    return 1;
}

/* Grants of `code` that count against a limit for member index mi (-1 = household). */
static bool grant_applies(ctx *c, const rules_grant *g, const char *code, int scope_kind, int mi)
{
    if (!g->benefit || strcmp(g->benefit, code) != 0)
        return false;
    if (scope_kind == SCOPE_HOUSEHOLD || mi < 0)
        return true;
    return g->member && strcmp(g->member, c->m[mi].m->key) == 0;
}

static at_date window_start(const bversion *v, at_date on)
{
    int y, mo, d;
    at_date_to_ymd(on, &y, &mo, &d);
    int md = mo * 100 + d;
    at_date s;
    if (v->win_from <= md || v->win_from <= v->win_to)
        at_date_from_ymd(y, v->win_from / 100, v->win_from % 100, &s);
    else
        at_date_from_ymd(y - 1, v->win_from / 100, v->win_from % 100, &s);
    return s;
}

/* The first day a new grant is possible after a grant on `last`. */
static at_date next_allowed(const bversion *v, at_date last)
{
    int y, mo, d;
    at_date r;
    switch (v->once_counting) {
    case COUNT_CALENDAR_YEARS:
        at_date_to_ymd(last, &y, &mo, &d);
        at_date_from_ymd(y + v->once_years, 1, 1, &r);
        return r;
    case COUNT_WINDOW: {
        /* the window after the one `last` fell in */
        at_date ws = window_start(v, last);
        at_date_to_ymd(ws, &y, &mo, &d);
        at_date_from_ymd(y + v->once_years, mo, d, &r);
        return r;
    }
    default:
        return at_date_add_months(last, 12 * v->once_years);
    }
}

/* The latest grant counting against the once-per limit, or AT_DATE_NONE. */
static at_date last_grant(ctx *c, const char *code, const bversion *v, int mi)
{
    at_date last = AT_DATE_NONE;
    for (size_t i = 0; i < c->hist->n_grants; i++) {
        const rules_grant *g = &c->hist->grants[i];
        if (grant_applies(c, g, code, v->limit_scope, mi) && g->date <= c->on && (last == AT_DATE_NONE || g->date > last))
            last = g->date;
    }
    return last;
}

static at_code year_used(ctx *c, const char *code, const bversion *v, int mi, at_cents *amount, int64_t *units)
{
    int y, mo, d;
    at_date_to_ymd(c->on, &y, &mo, &d);
    *amount = 0;
    *units = 0;
    for (size_t i = 0; i < c->hist->n_grants; i++) {
        const rules_grant *g = &c->hist->grants[i];
        int gy;
        if (!grant_applies(c, g, code, v->limit_scope, mi) || g->date > c->on)
            continue;
        at_date_to_ymd(g->date, &gy, &mo, &d);
        if (gy != y)
            continue;
        if (!at_cents_add(*amount, g->amount, amount))
            return overflow(c);
        *units += g->units;
    }
    return AT_OK;
}

static int limit_subject(const bversion *v, ctx *c) { return v->limit_scope == SCOPE_HOUSEHOLD ? -1 : c->subject; }

/* Bands or a fixed value. Returns 1 with *out, 0 when no band applies (reason recorded),
 * <0 on error. */
static int value_of(ctx *c, const bversion *v, const char *code, at_cents *out)
{
    const vspec *s = &v->value;
    if (s->n == 0) {
        *out = s->value;
        return 1;
    }
    int64_t x = 0;
    const char *what = "";
    switch (s->on) {
    case ON_INCOME:
        if (income_measure(c, v->income_basis, &x, &what) != AT_OK)
            return -1;
        break;
    case ON_CHILDREN:
        x = children(c);
        what = "children in the household";
        break;
    case ON_AGE:
        x = c->m[c->subject].age;
        what = "age";
        break;
    default:
        what = "conditions";
        break;
    }
    rules__step(c->r, "Apmēra grupa", "Amount band");
    if (s->on == ON_INCOME)
        rules__values(c->r, "%s %s", what, eur(c, x));
    else if (s->on != ON_NONE)
        rules__values(c->r, "%s %lld", what, (long long)x);
    for (size_t i = 0; i < s->n; i++) {
        const row *r = &s->rows[i];
        if ((r->has_min && x < r->min) || (r->has_max && x > r->max))
            continue;
        const char *band = s->on == ON_INCOME
                               ? fmt(c, "%s..%s", r->has_min ? eur(c, r->min) : "", r->has_max ? eur(c, r->max) : "")
                           : s->on == ON_NONE ? fmt(c, "%zu", i + 1)
                                              : fmt(c, "%s..%s", r->has_min ? fmt(c, "%lld", (long long)r->min) : "",
                                                    r->has_max ? fmt(c, "%lld", (long long)r->max) : "");
        uint32_t f = c->m[c->subject].flags;
        if ((f & r->all) != r->all || (f & r->none) || (c->a->flags & r->app_all) != r->app_all) {
            if (s->on != ON_NONE) {
                const char *need = (f & r->all) != r->all ? flag_names(c, r->all & ~f, false)
                                   : (f & r->none)          ? fmt(c, "not %s", flag_names(c, f & r->none, false))
                                                            : flag_names(c, r->app_all & ~c->a->flags, true);
                rules__result_line(c->r, RULES_STEP_FAIL, "band %s requires %s", band, need);
                reason(c, "band_condition", fmt(c, "Grupai %s vajadzīgs: %s", band, need),
                       fmt(c, "The band %s requires: %s", band, need));
                return 0;
            }
            continue;   /* rows chosen by conditions only: try the next */
        }
        if (r->unknown) {
            at_error_set(c->err, AT_NOT_FOUND, code, "no rule in force for the amount of %s in band %s", code, band);
            at_error_detail(c->err, "%s", r->note);
            at_error_hint(c->err, "A caseworker decides this case; the rule set gives no amount for it.");
            return -1;
        }
        *out = r->value;
        rules__result_line(c->r, RULES_STEP_PASS, "band %s: %s%s%s", band, eur(c, r->value), r->note[0] ? "; " : "",
                           r->note);
        return 1;
    }
    rules__result_line(c->r, RULES_STEP_FAIL, "no band applies");
    if (s->on == ON_INCOME) {
        const row *top = &s->rows[s->n - 1];
        reason(c, "income_above_limit",
               fmt(c, "Ienākumi (%s EUR) pārsniedz augstāko robežu %s EUR", eur(c, x), top->has_max ? eur(c, top->max) : "-"),
               fmt(c, "Income of %s EUR is above the highest band limit of %s EUR", eur(c, x),
                   top->has_max ? eur(c, top->max) : "-"));
    } else {
        reason(c, "no_band", fmt(c, "Neviena apmēra grupa neatbilst (%s %lld)", what, (long long)x),
               fmt(c, "No amount band applies (%s %lld)", what, (long long)x));
    }
    return 0;
}

/* Evaluate one catalogue version; fills the decision. */
static at_code catalogue(ctx *c, const benefit *b, const bversion *v)
{
    at_code rc;
    size_t reasons_before = c->r->n_reasons;
    const rules_status_record *st = NULL;
    const rules_application *a = c->a;
    char why[256];

    rules__step(c->r, fmt(c, "Pabalsts: %s", b->label_lv), fmt(c, "Benefit: %s", b->label_en));
    read_version(c, b, v);
    rules__values(c->r, "%s, subject %s (age %d)", b->code, c->m[c->subject].m->key, c->m[c->subject].age);
    rules__result_line(c->r, RULES_STEP_INFO, "rules in force from %s", day(c, v->from));

    if (v->status_any) {
        rules__step(c->r, "Statuss", "Status");
        if (v->status_lookback_months >= 0) {
            if (a->event == AT_DATE_NONE)
                return bad(c, AT_VALIDATION, "event", "this benefit needs the event date (e.g. the date of death)",
                           NULL, NULL);
            at_date back = at_date_add_months(a->event, -v->status_lookback_months);
            for (size_t i = 0; i < c->hist->n_statuses; i++) {
                const rules_status_record *s = &c->hist->statuses[i];
                if ((v->status_any & RULES_STATUS_BIT(s->status)) && s->period.from <= a->event &&
                    (s->period.to == AT_DATE_NONE || s->period.to >= back))
                    st = s;
            }
            rules__values(c->r, "%s status on %s or within %d months before (from %s)", status_names(c, v->status_any),
                          day(c, a->event), v->status_lookback_months, day(c, back));
        } else {
            st = status_on(c, v->status_any, c->on);
            rules__values(c->r, "%s status on %s", status_names(c, v->status_any), day(c, c->on));
        }
        if (st) {
            rules__result_line(c->r, RULES_STEP_PASS, "%s %s .. %s", rules_status_name(st->status),
                               day(c, st->period.from), day(c, st->period.to));
        } else {
            rules__result_line(c->r, RULES_STEP_FAIL, "no such status");
            reason(c, "status_missing",
                   fmt(c, "Ģimenei nav vajadzīgā statusa (%s)", status_names(c, v->status_any)),
                   fmt(c, "The household does not hold the required status (%s)", status_names(c, v->status_any)));
        }
    }
    if (v->heating) {
        rules__step(c->r, "Apkures veids", "Kind of heating");
        const char *want = v->heating == RULES_HEATING_DISTRICT ? "district" : "individual";
        const char *got = a->heating == RULES_HEATING_DISTRICT ? "district" : a->heating == RULES_HEATING_INDIVIDUAL ? "individual" : "not stated";
        bool ok = (int)a->heating == v->heating;
        rules__result_line(c->r, ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "%s (needed: %s)", got, want);
        if (!ok)
            reason(c, "heating_kind", fmt(c, "Pabalsts paredzēts apkurei: %s", want),
                   fmt(c, "The benefit is for %s heating", want));
    }
    if (v->app_all) {
        rules__step(c->r, "Iesniegumā norādītie apstākļi", "Facts stated with the application");
        uint32_t miss = v->app_all & ~a->flags;
        rules__values(c->r, "needed: %s", flag_names(c, v->app_all, true));
        rules__result_line(c->r, miss ? RULES_STEP_FAIL : RULES_STEP_PASS, "%s",
                           miss ? fmt(c, "missing: %s", flag_names(c, miss, true)) : "all stated");
        if (miss)
            reason(c, "application_condition", fmt(c, "Nav izpildīts nosacījums: %s", flag_names(c, miss, true)),
                   fmt(c, "Condition not met: %s", flag_names(c, miss, true)));
    }
    if (v->children_min >= 0) {
        rules__step(c->r, "Bērnu skaits ģimenē", "Children in the household");
        int k = children(c);
        bool ok = k >= v->children_min;
        rules__result_line(c->r, ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "%d %s %d", k, ok ? ">=" : "<", v->children_min);
        if (!ok)
            reason(c, "too_few_children", fmt(c, "Ģimenē ir %d bērni, vajadzīgi vismaz %d", k, v->children_min),
                   fmt(c, "The household has %d children; at least %d are required", k, v->children_min));
    }
    if (v->n_groups) {
        rules__step(c->r, "Personas kategorija", "Eligibility category of the person");
        char all[600];
        size_t o = 0;
        all[0] = 0;
        int hit = -1;
        for (size_t g = 0; g < v->n_groups && hit < 0; g++) {
            int ok = group_ok(c, &v->groups[g], c->subject, why, sizeof why);
            if (ok < 0)
                return c->err->code;
            if (ok)
                hit = (int)g;
            else
                o += (size_t)snprintf(all + o, o < sizeof all ? sizeof all - o : 0, "%scategory %zu: %s", o ? "; " : "",
                                      g + 1, why);
        }
        rules__values(c->r, "flags: %s", flag_names(c, c->m[c->subject].flags, false));
        if (hit >= 0) {
            rules__result_line(c->r, RULES_STEP_PASS, "category %d", hit + 1);
        } else {
            rules__result_line(c->r, RULES_STEP_FAIL, "%s", all);
            reason(c, "no_eligible_category", fmt(c, "Persona neatbilst nevienai tiesīgajai kategorijai (%s)", all),
                   fmt(c, "The person is in none of the eligible categories (%s)", all));
        }
    }
    if (v->has_window) {
        rules__step(c->r, "Piešķiršanas laiks gadā", "Time of year for the grant");
        int y, mo, d;
        at_date_to_ymd(c->on, &y, &mo, &d);
        int md = mo * 100 + d;
        bool ok = v->win_from <= v->win_to ? (md >= v->win_from && md <= v->win_to) : (md >= v->win_from || md <= v->win_to);
        const char *w = fmt(c, "%02d.%02d.-%02d.%02d.", v->win_from % 100, v->win_from / 100, v->win_to % 100, v->win_to / 100);
        rules__result_line(c->r, ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "%s in %s", day(c, c->on), w);
        if (!ok)
            reason(c, "outside_window", fmt(c, "Atbalstu piešķir tikai laikā %s", w),
                   fmt(c, "The support is granted only in the period %s", w));
    }
    if (v->has_income_max) {
        rules__step(c->r, "Ienākumu robeža", "Income limit");
        at_cents limit = v->income_max, x;
        const char *what;
        if (v->income_max_param) {
            rules_param_value pv;
            if ((rc = lookup(c, v->income_max_param, &pv)) != AT_OK)
                return rc;
            limit = pv.value;
        }
        if ((rc = income_measure(c, v->income_basis, &x, &what)) != AT_OK)
            return rc;
        rules__values(c->r, "%s %s (rounded half up)", what, eur(c, x));
        bool ok = x <= limit;
        rules__result_line(c->r, ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "%s %s %s", eur(c, x), ok ? "<=" : ">", eur(c, limit));
        if (!ok)
            reason(c, "income_above_limit",
                   fmt(c, "Ienākumi (%s EUR) pārsniedz robežu %s EUR", eur(c, x), eur(c, limit)),
                   fmt(c, "Income of %s EUR exceeds the limit of %s EUR", eur(c, x), eur(c, limit)));
    }
    if (v->bill_age_param && a->has_bill) {
        rules__step(c->r, "Izdevumu dokumenta vecums", "Age of the expense document");
        rules_param_value pv;
        if ((rc = lookup(c, v->bill_age_param, &pv)) != AT_OK)
            return rc;
        if (a->bill_date == AT_DATE_NONE || a->bill_date > c->on)
            return bad(c, AT_VALIDATION, "bill_date", "the expense document needs an issue date on or before the decision",
                       NULL, NULL);
        at_date oldest = at_date_add_months(c->sub, -(int)pv.value);
        bool ok = a->bill_date >= oldest;
        rules__values(c->r, "issued %s; accepted from %s (%lld months before the application)", day(c, a->bill_date),
                      day(c, oldest), (long long)pv.value);
        rules__result_line(c->r, ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "%s", ok ? "accepted" : "too old");
        if (!ok)
            reason(c, "document_too_old",
                   fmt(c, "Izdevumus apliecinošais dokuments izdots agrāk nekā pirms %lld mēnešiem", (long long)pv.value),
                   fmt(c, "The expense document is older than %lld months", (long long)pv.value));
    }
    if (v->requires_receipts) {
        rules__step(c->r, "Izdevumus apliecinoši dokumenti par iepriekšējo izmaksu", "Receipts for the previous payout");
        bool pending = false;
        for (size_t i = 0; i < c->hist->n_grants; i++)
            if (grant_applies(c, &c->hist->grants[i], b->code, v->limit_scope, limit_subject(v, c)) &&
                c->hist->grants[i].receipts_pending)
                pending = true;
        rules__result_line(c->r, pending ? RULES_STEP_FAIL : RULES_STEP_PASS, "%s",
                           pending ? "receipts for a previous payout are missing" : "no receipts missing");
        if (pending)
            reason(c, "receipts_missing", "Nav iesniegti izdevumus apliecinoši dokumenti par iepriekš izmaksāto pabalstu",
                   "Receipts for the previous cash payout have not been submitted");
    }
    if (v->once_years && v->mode != MODE_PER_MEMBER && v->mode != MODE_IN_KIND) {
        if (v->once_years == 1)
            rules__step(c->r, "Ne biežāk kā reizi gadā", "At most once a year");
        else
            rules__step(c->r, fmt(c, "Ne biežāk kā reizi %d gados", v->once_years),
                        fmt(c, "At most once in %d years", v->once_years));
        at_date last = last_grant(c, b->code, v, limit_subject(v, c));
        if (last == AT_DATE_NONE) {
            rules__result_line(c->r, RULES_STEP_PASS, "no earlier grant");
        } else {
            at_date next = next_allowed(v, last);
            bool ok = c->on >= next;
            rules__values(c->r, "last grant %s; counting %s", day(c, last),
                          v->once_counting == COUNT_CALENDAR_YEARS ? "calendar years"
                          : v->once_counting == COUNT_WINDOW       ? "grant periods"
                                                                   : "from the date of the last grant");
            rules__result_line(c->r, ok ? RULES_STEP_PASS : RULES_STEP_FAIL, "next grant possible from %s", day(c, next));
            if (!ok)
                reason(c, "once_per_years",
                       fmt(c, "Pabalsts piešķirts %s; nākamo var piešķirt no %s", day(c, last), day(c, next)),
                       fmt(c, "Granted on %s; the next grant is possible from %s", day(c, last), day(c, next)));
        }
    }
    if (v->once_per_event) {
        rules__step(c->r, "Vienreiz par notikumu", "Once per event");
        if (a->event == AT_DATE_NONE)
            return bad(c, AT_VALIDATION, "event", "this benefit needs the date of the event it is for", NULL, NULL);
        bool dup = false;
        for (size_t i = 0; i < c->hist->n_grants; i++)
            if (grant_applies(c, &c->hist->grants[i], b->code, v->limit_scope, limit_subject(v, c)) &&
                c->hist->grants[i].event == a->event)
                dup = true;
        rules__result_line(c->r, dup ? RULES_STEP_FAIL : RULES_STEP_PASS, "event %s%s", day(c, a->event),
                           dup ? " already paid" : "");
        if (dup)
            reason(c, "already_granted_for_event", fmt(c, "Pabalsts par notikumu %s jau piešķirts", day(c, a->event)),
                   fmt(c, "Already granted for the event of %s", day(c, a->event)));
    }

    /* The amount, only when every condition so far is met. */
    if (c->r->n_reasons > reasons_before) {
        c->r->d.outcome = RULES_REFUSED;
        return AT_OK;
    }
    rules_decision *d = &c->r->d;
    at_cents amount = 0, base = 0;
    int64_t units = 0;
    bool has_amount = true;
    int vo;
    switch (v->mode) {
    case MODE_FIXED: {
        if ((vo = value_of(c, v, b->code, &base)) <= 0)
            return vo < 0 ? c->err->code : (d->outcome = RULES_REFUSED, AT_OK);
        int64_t times = 1;
        if (v->times_count) {
            times = a->count ? a->count : 1;
            if (times < 1 || times > 20)
                return bad(c, AT_VALIDATION, "count", "count must be 1 to 20", NULL, NULL);
        }
        rules__step(c->r, "Pabalsta apmērs", "Amount");
        if (!at_cents_mul(base, times, &amount))
            return overflow(c);
        rules__values(c->r, "%s x %lld", eur(c, base), (long long)times);
        rules__result_line(c->r, RULES_STEP_INFO, "%s", eur(c, amount));
        break;
    }
    case MODE_REIMBURSE: {
        if (!a->has_bill)
            return bad(c, AT_VALIDATION, "bill", "this benefit pays an expense: the bill amount is needed", NULL,
                       "Enter the amount and date of the expense document.");
        if (a->bill < 0)
            return bad(c, AT_VALIDATION, "bill", "the bill amount must not be negative", NULL, NULL);
        if ((vo = value_of(c, v, b->code, &base)) <= 0)
            return vo < 0 ? c->err->code : (d->outcome = RULES_REFUSED, AT_OK);
        rules__step(c->r, v->annual_cap ? "Apmaksa līdz gada limitam" : "Apmaksa līdz limitam",
                    v->annual_cap ? "Payment up to the annual cap" : "Payment up to the cap");
        at_cents cap = base;
        if (v->annual_cap) {
            at_cents used;
            int64_t u;
            if ((rc = year_used(c, b->code, v, limit_subject(v, c), &used, &u)) != AT_OK)
                return rc;
            cap = base - used;
            rules__values(c->r, "cap %s, granted earlier this year %s, remaining %s; ", eur(c, base), eur(c, used),
                          eur(c, cap > 0 ? cap : 0));
            if (cap <= 0) {
                rules__result_line(c->r, RULES_STEP_FAIL, "the annual cap is used up");
                reason(c, "annual_cap_reached", fmt(c, "Gada limits %s EUR jau izmantots", eur(c, base)),
                       fmt(c, "The annual cap of %s EUR is used up", eur(c, base)));
                d->outcome = RULES_REFUSED;
                return AT_OK;
            }
        }
        amount = a->bill < cap ? a->bill : cap;
        rules__values(c->r, "bill %s", eur(c, a->bill));
        rules__result_line(c->r, RULES_STEP_INFO, "%s", eur(c, amount));
        break;
    }
    case MODE_PER_UNIT: {
        at_cents rate;
        if (a->units < 1)
            return bad(c, AT_VALIDATION, "units", "this benefit is counted in days or visits: units are needed", NULL, NULL);
        if (v->rate_input) {
            if (a->unit_cost <= 0)
                return bad(c, AT_VALIDATION, "unit_cost", "this benefit pays the cost of each day or visit: unit_cost is needed",
                           NULL, NULL);
            rate = a->unit_cost;
        } else if ((vo = value_of(c, v, b->code, &rate)) <= 0) {
            return vo < 0 ? c->err->code : (d->outcome = RULES_REFUSED, AT_OK);
        }
        rules__step(c->r, "Dienu vai apmeklējumu skaits", "Number of days or visits");
        units = a->units;
        rules__values(c->r, "asked %lld %s", (long long)units, v->unit_name);
        if (v->max_per_payout >= 0 && units > v->max_per_payout) {
            rules__values(c->r, "; at most %lld per payout", (long long)v->max_per_payout);
            units = v->max_per_payout;
        }
        if (v->max_per_year >= 0) {
            at_cents used;
            int64_t u;
            if ((rc = year_used(c, b->code, v, limit_subject(v, c), &used, &u)) != AT_OK)
                return rc;
            int64_t left = v->max_per_year - u;
            rules__values(c->r, "; at most %lld per calendar year, %lld used, %lld left", (long long)v->max_per_year,
                          (long long)u, (long long)(left > 0 ? left : 0));
            if (left <= 0) {
                rules__result_line(c->r, RULES_STEP_FAIL, "the annual limit is used up");
                reason(c, "annual_limit_reached",
                       fmt(c, "Gada limits (%lld) jau izmantots", (long long)v->max_per_year),
                       fmt(c, "The annual limit of %lld %s is used up", (long long)v->max_per_year, v->unit_name));
                d->outcome = RULES_REFUSED;
                return AT_OK;
            }
            if (units > left)
                units = left;
        }
        if (!at_cents_mul(rate, units, &amount))
            return overflow(c);
        rules__result_line(c->r, RULES_STEP_INFO, "%lld x %s = %s", (long long)units, eur(c, rate), eur(c, amount));
        break;
    }
    case MODE_PER_MEMBER:
    case MODE_IN_KIND: {
        rules__step(c->r, "Tiesīgie ģimenes locekļi", "Members who qualify");
        for (size_t i = 0; i < c->n; i++) {
            const mem *m = &c->m[i];
            at_cents each = 0;
            if (v->mode == MODE_PER_MEMBER) {
                each = v->school[m->m->school];
                if (m->m->school == RULES_SCHOOL_NONE || each < 0)
                    continue;
            }
            if (v->n_members) {
                bool any = false;
                for (size_t g = 0; g < v->n_members && !any; g++) {
                    int ok = group_ok(c, &v->members[g], (int)i, why, sizeof why);
                    if (ok < 0)
                        return c->err->code;
                    any = ok;
                }
                if (!any)
                    continue;
            } else if (v->mode == MODE_IN_KIND && (int)i != c->subject) {
                continue;
            }
            if (v->once_years) {
                at_date last = last_grant(c, b->code, v, (int)i);
                if (last != AT_DATE_NONE && c->on < next_allowed(v, last)) {
                    rules__values(c->r, "%s already granted on %s; ", m->m->key, day(c, last));
                    continue;
                }
            }
            units++;
            if (!at_cents_add(amount, each, &amount))
                return overflow(c);
            if (v->mode == MODE_PER_MEMBER)
                rules__values(c->r, "%s %s %s; ", m->m->key,
                              m->m->school == RULES_SCHOOL_PRESCHOOL ? "pre-school" : m->m->school == RULES_SCHOOL_GRADE_1 ? "grade 1" : "pupil",
                              eur(c, each));
            else
                rules__values(c->r, "%s; ", m->m->key);
        }
        if (units == 0) {
            rules__result_line(c->r, RULES_STEP_FAIL, "nobody qualifies");
            reason(c, "no_eligible_member", "Neviens ģimenes loceklis neatbilst nosacījumiem", "No member of the household qualifies");
            d->outcome = RULES_REFUSED;
            return AT_OK;
        }
        has_amount = v->mode == MODE_PER_MEMBER;
        if (has_amount)
            rules__result_line(c->r, RULES_STEP_INFO, "%lld x: %s", (long long)units, eur(c, amount));
        else
            rules__result_line(c->r, RULES_STEP_INFO, "%lld x %s", (long long)units, v->item);
        break;
    }
    default:
        return at_error_set(c->err, AT_INTERNAL, b->code, "benefit %s has no amount rule", b->code);
    }

    /* Period and form */
    at_date start = v->start == START_APPLICATION ? c->sub : c->on;
    int y, mo, dd;
    at_date_to_ymd(start, &y, &mo, &dd);
    switch (v->period) {
    case PERIOD_MONTH:
        d->period = at_month_of(start);
        break;
    case PERIOD_CALENDAR_YEAR:
        if (v->has_start)
            d->period.from = start;
        else
            at_date_from_ymd(y, 1, 1, &d->period.from);
        at_date_from_ymd(y, 12, 31, &d->period.to);
        break;
    case PERIOD_STATUS:
        d->period = st ? st->period : (at_period){start, start};
        break;
    default:
        d->period.from = d->period.to = start;
        break;
    }
    rules__step(c->r, "Lēmums", "Decision");
    rules__values(c->r, "period %s .. %s, payment %s%s%s", day(c, d->period.from), day(c, d->period.to),
                  rules_payment_name((rules_payment)v->payment), v->ekk[0] ? ", EKK " : "", v->ekk);
    rules__result_line(c->r, RULES_STEP_PASS, "granted");
    d->outcome = RULES_GRANTED;
    d->has_amount = has_amount;
    d->amount = has_amount ? amount : 0;
    d->units = (v->mode == MODE_PER_UNIT || v->mode == MODE_PER_MEMBER || v->mode == MODE_IN_KIND) ? units : 0;
    d->unit_name = d->units ? v->unit_name : "";
    d->per = (rules_per)v->per;
    d->payment = (rules_payment)v->payment;
    d->ekk = v->ekk;
    return AT_OK;
}

static at_code benefit_version(ctx *c, const benefit *b, const bversion **out)
{
    *out = version_on(b, c->on);
    if (*out)
        return AT_OK;
    at_error_set(c->err, AT_NOT_FOUND, "benefit", "no rule in force for benefit %s on %s", b->code, day(c, c->on));
    at_error_detail(c->err, "Benefit %s (%s) has no version in force on %s for %s; it is never decided with the "
                            "amounts of another period.", b->code, b->label_en, day(c, c->on), c->ten->name);
    return AT_NOT_FOUND;
}

static at_code composite(ctx *c, const benefit *b, const bversion *v)
{
    rules__step(c->r, fmt(c, "Pabalsts: %s", b->label_lv), fmt(c, "Benefit: %s", b->label_en));
    read_version(c, b, v);
    rules__values(c->r, "components tried in order:");
    for (size_t i = 0; i < v->n_components; i++)
        rules__values(c->r, " %s", v->components[i]);
    rules__result_line(c->r, RULES_STEP_INFO, "the first component whose conditions are met is granted");
    size_t before = c->r->n_reasons;
    for (size_t i = 0; i < v->n_components; i++) {
        const benefit *cb = find_benefit(c->s, c->ten, v->components[i], c->on);
        const bversion *cv = version_on(cb, c->on);
        if (!cv) {
            rules__step(c->r, fmt(c, "Komponents %s", cb->code), fmt(c, "Component %s", cb->code));
            rules__result_line(c->r, RULES_STEP_FAIL, "not in force on %s", day(c, c->on));
            continue;
        }
        memset(&c->r->d, 0, sizeof c->r->d);
        at_code rc = catalogue(c, cb, cv);
        if (rc != AT_OK)
            return rc;
        if (c->r->d.outcome == RULES_GRANTED) {
            c->r->n_reasons = before;   /* the earlier components' failures stay in the steps */
            c->r->d.component = cb->code;
            return AT_OK;
        }
    }
    memset(&c->r->d, 0, sizeof c->r->d);
    c->r->d.outcome = RULES_REFUSED;
    if (c->r->n_reasons == before)
        reason(c, "no_component_in_force", "Neviens pabalsta veids nav spēkā lēmuma datumā",
               "No component of the benefit is in force on the decision date");
    return AT_OK;
}

/* ---- entry */

at_code rules_decide(const rules_set *s, const rules_household *h, const rules_application *a,
                     const rules_history *hist, rules_result **out, at_error *err)
{
    *out = NULL;
    static const rules_history none = {0};
    at_error local;
    if (!err) {
        at_error_clear(&local);
        err = &local;   /* the calculation reads back the code of errors it raised */
    }
    ctx c = {.s = s, .h = h, .a = a, .hist = hist ? hist : &none, .err = err};
    if (!a || !h)
        return at_error_set(err, AT_VALIDATION, NULL, "no application or household");
    c.on = a->decision;
    c.sub = a->submitted == AT_DATE_NONE ? a->decision : a->submitted;
    char d1[16];
    if (c.on == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "decision", "the decision date is missing");
    if (c.sub > c.on)
        return at_error_set(err, AT_VALIDATION, "submitted", "the application date is after the decision date");
    if (!a->tenant || !(c.ten = rules__scope(s, a->tenant)) || c.ten == s->national) {
        at_error_set(err, AT_UNKNOWN_TENANT, "tenant", "no rule set for tenant \"%s\"", a->tenant ? a->tenant : "");
        at_error_hint(err, "A municipality is added with its rule-set file in services/means/rulesets.");
        return AT_UNKNOWN_TENANT;
    }
    at_date_format(c.on, d1, sizeof d1);
    const scope *need[2] = {c.ten, s->national};
    for (int i = 0; i < 2; i++)
        if (!(need[i]->from <= c.on && (need[i]->to == AT_DATE_NONE || c.on <= need[i]->to))) {
            at_error_set(err, AT_NOT_FOUND, "decision", "no rule set in force for %s on %s", need[i]->name, d1);
            {
                char f[16], t[16] = "open";
                at_date_format(need[i]->from, f, sizeof f);
                if (need[i]->to != AT_DATE_NONE)
                    at_date_format(need[i]->to, t, sizeof t);
                at_error_detail(err, "The %s rule set is in force from %s to %s; decisions outside it are never "
                                     "made with another period's rules.", need[i]->name, f, t);
            }
            return AT_NOT_FOUND;
        }

    const benefit *b = NULL;
    const char *code = NULL;
    switch (a->ask) {
    case RULES_ASK_NEEDY_STATUS:
    case RULES_ASK_LOW_INCOME_STATUS:
        break;
    case RULES_ASK_GMI: code = "GMI"; break;
    case RULES_ASK_HOUSING: code = "HOUSING"; break;
    case RULES_ASK_BENEFIT: code = a->benefit; break;
    default:
        return at_error_set(err, AT_VALIDATION, "ask", "unknown kind of application");
    }
    if (a->ask >= RULES_ASK_GMI) {
        if (!code || !code[0])
            return at_error_set(err, AT_VALIDATION, "benefit", "no benefit code given");
        b = find_benefit(s, c.ten, code, c.on);
        if (!b) {
            at_error_set(err, AT_NOT_FOUND, "benefit", "unknown benefit code \"%s\"", code);
            at_error_detail(err, "Neither the %s rule set nor the national one defines benefit %s.", c.ten->name, code);
            at_error_hint(err, "Use a benefit code of the municipality's catalogue.");
            return AT_NOT_FOUND;
        }
    }

    if (!(c.r = rules__result_new()))
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_code rc = check_input(&c);
    rules_decision *d = &c.r->d;
    if (rc == AT_OK) {
        rules__step(c.r, "Mājsaimniecības sastāvs", "Household composition");
        for (size_t i = 0; i < c.n; i++)
            rules__values(c.r, "%s%s age %d%s%s", i ? "; " : "", c.m[i].m->key, c.m[i].age,
                          c.m[i].flags ? ", " : "", c.m[i].flags ? flag_names(&c, c.m[i].flags, false) : "");
        rules__result_line(c.r, RULES_STEP_INFO, "%zu member(s), %d child(ren)", c.n, children(&c));
        rc = incomes(&c);
    }
    if (rc == AT_OK) {
        if (a->ask == RULES_ASK_NEEDY_STATUS) {
            rc = status_test(&c, RULES_STATUS_NEEDY);
        } else if (a->ask == RULES_ASK_LOW_INCOME_STATUS) {
            rc = status_test(&c, RULES_STATUS_LOW_INCOME);
        } else {
            const bversion *v;
            rc = benefit_version(&c, b, &v);
            if (rc == AT_OK) {
                if (b->kind == KIND_GMI)
                    rc = gmi(&c, b, v);
                else if (b->kind == KIND_HOUSING)
                    rc = housing(&c, b, v);
                else if (b->kind == KIND_COMPOSITE)
                    rc = composite(&c, b, v);
                else
                    rc = catalogue(&c, b, v);
            }
        }
    }
    if (rc == AT_OK && c.r->oom)
        rc = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (rc != AT_OK) {
        rules_result_free(c.r);
        return rc;
    }
    d->ask = a->ask;
    d->benefit = b ? b->code : "";
    if (!d->component)
        d->component = "";
    if (!d->unit_name)
        d->unit_name = "";
    if (!d->ekk)
        d->ekk = "";
    d->tenant = c.ten->name;
    d->version = s->version;
    if (d->outcome != RULES_GRANTED) {
        d->outcome = RULES_REFUSED;
        d->status = RULES_STATUS_NONE;
        d->has_amount = false;
        d->amount = 0;
        d->units = 0;
        d->unit_name = "";
        d->payment = RULES_PAY_NONE;
        d->per = RULES_PER_NONE;
        d->period.from = d->period.to = AT_DATE_NONE;
    }
    rules__result_seal(c.r);
    *out = c.r;
    return AT_OK;
}
