/*
 * run_cases.c -- runs the rule test cases (the .yaml files of tests/rules/cases) against the real
 * rule sets of services/means/rulesets and the example municipalities of tests/rules/rulesets
 * (directories given by compile definitions).
 *
 * Each case file is a mapping with a list `cases:`; each case gives a tenant, a decision
 * date, a household, an application, optional history facts, and what is expected: the
 * outcome, status, period, amount, per, units, payment, the refusal reasons (exact codes in
 * order), or an error (code and part of the message). The expected amounts come from the
 * documents and the hand arithmetic in the case's comment, never from running this code.
 *
 * Output: one line per case, "ok" or "FAIL" with the first differing value; the exit status
 * is non-zero if any case fails, a case file does not parse, or there are fewer than 60
 * cases. RULES_EXPLAIN=<case name> prints that case's explanation (Latvian and English).
 * Every decision is also checked for an explanation whose parameter reads all carry a
 * source.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules.h"
#include "rules_int.h"

#ifndef RULES_RULESETS_DIR
#error "RULES_RULESETS_DIR must name services/means/rulesets"
#endif
#ifndef RULES_EXTRA_RULESETS_DIR
#error "RULES_EXTRA_RULESETS_DIR must name tests/rules/rulesets"
#endif
#ifndef RULES_CASES_DIR
#error "RULES_CASES_DIR must name tests/rules/cases"
#endif

#define MIN_CASES 60

typedef struct cctx {
    const char *file;
    const char *name;
    char why[512];
    rules__pool *pool;
} cctx;

static int bad(cctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(cctx *c, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char m[400];
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(c->why, sizeof c->why, "case file line %d: %s", line, m);
    return -1;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)l + 1);
    if (b && fread(b, 1, (size_t)l, f) != (size_t)l) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[l] = 0;
        *n = (size_t)l;
    }
    return b;
}

static int keys_ok(cctx *c, const ynode *m, const char *const *allowed)
{
    if (!m || m->kind != YN_MAP)
        return bad(c, m ? m->line : 0, "a mapping was expected");
    for (size_t i = 0; i < m->n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || strcmp(*a, m->keys[i]) == 0;
        if (!ok)
            return bad(c, m->key_lines[i], "unknown key \"%s\"", m->keys[i]);
    }
    return 0;
}

static const char *s_(const ynode *n) { return n && n->kind == YN_SCALAR ? n->text : NULL; }

static int date_(cctx *c, const ynode *n, at_date *out)
{
    if (!n) {
        *out = AT_DATE_NONE;
        return 0;
    }
    if (!s_(n) || at_date_parse(n->text, "date", out, NULL) != AT_OK)
        return bad(c, n->line, "not a date");
    return 0;
}

static int month_(cctx *c, const ynode *n, at_date *out)
{
    char buf[16];
    if (!s_(n) || strlen(n->text) != 7)
        return bad(c, n ? n->line : 0, "a month is YYYY-MM");
    snprintf(buf, sizeof buf, "%s-01", n->text);
    if (at_date_parse(buf, "month", out, NULL) != AT_OK)
        return bad(c, n->line, "not a month");
    return 0;
}

static int money_(cctx *c, const ynode *n, at_cents *out)
{
    if (!s_(n) || at_cents_parse(n->text, "amount", out, NULL) != AT_OK)
        return bad(c, n ? n->line : 0, "not an amount");
    return 0;
}

static int int_(cctx *c, const ynode *n, int64_t *out)
{
    char *end;
    if (!s_(n))
        return bad(c, n ? n->line : 0, "not a number");
    *out = strtoll(n->text, &end, 10);
    if (*end)
        return bad(c, n->line, "not a number");
    return 0;
}

static int flags_(cctx *c, const ynode *n, bool app, uint32_t *out)
{
    *out = 0;
    if (!n)
        return 0;
    if (n->kind != YN_SEQ)
        return bad(c, n->line, "flags are a list");
    for (size_t i = 0; i < n->n; i++) {
        int b = app ? rules_app_flag(s_(n->items[i])) : rules_member_flag(s_(n->items[i]));
        if (b <= 0)
            return bad(c, n->items[i]->line, "unknown flag \"%s\"", s_(n->items[i]) ? s_(n->items[i]) : "");
        *out |= (uint32_t)b;
    }
    return 0;
}

static int pick(cctx *c, const ynode *n, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (s_(n) && names[i][0] && strcmp(names[i], n->text) == 0) {
            *out = i;
            return 0;
        }
    return bad(c, n ? n->line : 0, "unexpected value \"%s\"", s_(n) ? s_(n) : "");
}

#define ALLOC(c, T, n) ((T *)rules__palloc((c)->pool, (n) * sizeof(T) + 1))

typedef struct kase {
    rules_household h;
    rules_application a;
    rules_history hist;
    const ynode *expect;
} kase;

static int build_household(cctx *c, const ynode *hn, at_period window, kase *k)
{
    static const char *const hk[] = {"id", "members", "incomes", "properties", "vehicles", "savings",
                                     "housing_expenses", "expenses", NULL};
    static const char *const mk[] = {"key", "born", "relationship", "flags", "disability", "school",
                                     "residence_since", NULL};
    static const char *const ik[] = {"member", "type", "month", "amount", "each_month", NULL};
    static const char *const rels[] = {"applicant", "spouse", "child", "parent", "other_relative", "other", NULL};
    static const char *const schools[] = {"", "preschool", "grade_1", "other", NULL};
    if (keys_ok(c, hn, hk))
        return -1;
    const ynode *ms = rules__ymap_get(hn, "members");
    if (!ms || ms->kind != YN_SEQ)
        return bad(c, hn->line, "household needs members");
    k->h.id = s_(rules__ymap_get(hn, "id")) ? s_(rules__ymap_get(hn, "id")) : "h";
    rules_member *m = ALLOC(c, rules_member, ms->n);
    for (size_t i = 0; i < ms->n; i++) {
        const ynode *x = ms->items[i];
        if (keys_ok(c, x, mk))
            return -1;
        m[i].key = s_(rules__ymap_get(x, "key"));
        if (date_(c, rules__ymap_get(x, "born"), &m[i].birth))
            return -1;
        int rel = i == 0 ? RULES_REL_APPLICANT : RULES_REL_OTHER;
        if (rules__ymap_get(x, "relationship") && pick(c, rules__ymap_get(x, "relationship"), rels, &rel))
            return -1;
        m[i].relationship = (rules_relationship)rel;
        if (flags_(c, rules__ymap_get(x, "flags"), false, &m[i].flags))
            return -1;
        const ynode *d = rules__ymap_get(x, "disability");
        m[i].disability.from = m[i].disability.to = AT_DATE_NONE;
        if (d) {
            static const char *const dk[] = {"group", "from", "to", NULL};
            int64_t g = 0;
            if (keys_ok(c, d, dk) || int_(c, rules__ymap_get(d, "group"), &g) ||
                date_(c, rules__ymap_get(d, "from"), &m[i].disability.from) ||
                date_(c, rules__ymap_get(d, "to"), &m[i].disability.to))
                return -1;
            m[i].disability_group = (int)g;
        }
        int sc = 0;
        if (rules__ymap_get(x, "school") && pick(c, rules__ymap_get(x, "school"), schools, &sc))
            return -1;
        m[i].school = (rules_school)sc;
        if (date_(c, rules__ymap_get(x, "residence_since"), &m[i].residence_since))
            return -1;
    }
    k->h.members = m;
    k->h.n_members = ms->n;

    const ynode *is = rules__ymap_get(hn, "incomes");
    if (is) {
        size_t cap = is->n * 3;
        rules_income *in = ALLOC(c, rules_income, cap);
        size_t n = 0;
        for (size_t i = 0; i < is->n; i++) {
            const ynode *x = is->items[i];
            if (keys_ok(c, x, ik))
                return -1;
            const char *mem = s_(rules__ymap_get(x, "member")), *type = s_(rules__ymap_get(x, "type"));
            const ynode *each = rules__ymap_get(x, "each_month");
            if (each) {
                /* the same amount in each month of the window */
                at_cents a;
                if (money_(c, each, &a))
                    return -1;
                for (int mo = 0; mo < 3; mo++)
                    in[n++] = (rules_income){mem, type, at_date_add_months(window.from, mo), a};
            } else {
                rules_income *r = &in[n++];
                r->member = mem;
                r->type = type;
                if (month_(c, rules__ymap_get(x, "month"), &r->month) || money_(c, rules__ymap_get(x, "amount"), &r->amount))
                    return -1;
            }
        }
        k->h.incomes = in;
        k->h.n_incomes = n;
    }
    const ynode *ps = rules__ymap_get(hn, "properties");
    if (ps) {
        static const char *const pk[] = {"member", "use", "cadastral", NULL};
        static const char *const uses[] = {"", "own_home", "other", NULL};
        rules_property *p = ALLOC(c, rules_property, ps->n);
        for (size_t i = 0; i < ps->n; i++) {
            int use;
            if (keys_ok(c, ps->items[i], pk) || pick(c, rules__ymap_get(ps->items[i], "use"), uses, &use) ||
                money_(c, rules__ymap_get(ps->items[i], "cadastral"), &p[i].cadastral_value))
                return -1;
            p[i].member = s_(rules__ymap_get(ps->items[i], "member"));
            p[i].use = (rules_property_use)use;
        }
        k->h.properties = p;
        k->h.n_properties = ps->n;
    }
    const ynode *vs = rules__ymap_get(hn, "vehicles");
    if (vs) {
        static const char *const vk[] = {"member", "for_disability", NULL};
        rules_vehicle *v = ALLOC(c, rules_vehicle, vs->n);
        for (size_t i = 0; i < vs->n; i++) {
            if (keys_ok(c, vs->items[i], vk))
                return -1;
            v[i].member = s_(rules__ymap_get(vs->items[i], "member"));
            const char *fd = s_(rules__ymap_get(vs->items[i], "for_disability"));
            v[i].needed_for_disability = fd && strcmp(fd, "true") == 0;
        }
        k->h.vehicles = v;
        k->h.n_vehicles = vs->n;
    }
    if (rules__ymap_get(hn, "savings") && money_(c, rules__ymap_get(hn, "savings"), &k->h.savings))
        return -1;
    if (rules__ymap_get(hn, "housing_expenses") &&
        money_(c, rules__ymap_get(hn, "housing_expenses"), &k->h.housing_expenses))
        return -1;
    const ynode *es = rules__ymap_get(hn, "expenses");
    if (es) {
        static const char *const ek[] = {"kind", "amount", NULL};
        if (es->kind != YN_SEQ)
            return bad(c, es->line, "expenses are a list");
        rules_expense *e = ALLOC(c, rules_expense, es->n);
        for (size_t i = 0; i < es->n; i++) {
            if (keys_ok(c, es->items[i], ek) || money_(c, rules__ymap_get(es->items[i], "amount"), &e[i].amount))
                return -1;
            e[i].kind = s_(rules__ymap_get(es->items[i], "kind"));
        }
        k->h.expenses = e;
        k->h.n_expenses = es->n;
    }
    return 0;
}

static int build_history(cctx *c, const ynode *hn, kase *k)
{
    static const char *const hk[] = {"statuses", "grants", "memberships", NULL};
    if (!hn)
        return 0;
    if (keys_ok(c, hn, hk))
        return -1;
    const ynode *ss = rules__ymap_get(hn, "statuses");
    if (ss) {
        static const char *const sk[] = {"status", "from", "to", NULL};
        static const char *const sts[] = {"", "needy", "low_income", NULL};
        rules_status_record *s = ALLOC(c, rules_status_record, ss->n);
        for (size_t i = 0; i < ss->n; i++) {
            int st;
            if (keys_ok(c, ss->items[i], sk) || pick(c, rules__ymap_get(ss->items[i], "status"), sts, &st) ||
                date_(c, rules__ymap_get(ss->items[i], "from"), &s[i].period.from) ||
                date_(c, rules__ymap_get(ss->items[i], "to"), &s[i].period.to))
                return -1;
            s[i].status = (rules_status)st;
        }
        k->hist.statuses = s;
        k->hist.n_statuses = ss->n;
    }
    const ynode *gs = rules__ymap_get(hn, "grants");
    if (gs) {
        static const char *const gk[] = {"benefit", "date", "member", "amount", "units", "event", "receipts_pending", NULL};
        rules_grant *g = ALLOC(c, rules_grant, gs->n);
        for (size_t i = 0; i < gs->n; i++) {
            const ynode *x = gs->items[i];
            if (keys_ok(c, x, gk) || date_(c, rules__ymap_get(x, "date"), &g[i].date) ||
                date_(c, rules__ymap_get(x, "event"), &g[i].event))
                return -1;
            g[i].benefit = s_(rules__ymap_get(x, "benefit"));
            g[i].member = s_(rules__ymap_get(x, "member"));
            if (rules__ymap_get(x, "amount") && money_(c, rules__ymap_get(x, "amount"), &g[i].amount))
                return -1;
            if (rules__ymap_get(x, "units") && int_(c, rules__ymap_get(x, "units"), &g[i].units))
                return -1;
            const char *rp = s_(rules__ymap_get(x, "receipts_pending"));
            g[i].receipts_pending = rp && strcmp(rp, "true") == 0;
        }
        k->hist.grants = g;
        k->hist.n_grants = gs->n;
    }
    const ynode *ms = rules__ymap_get(hn, "memberships");
    if (ms) {
        static const char *const mk[] = {"member", "household", "from", "to", NULL};
        rules_membership *m = ALLOC(c, rules_membership, ms->n);
        for (size_t i = 0; i < ms->n; i++) {
            if (keys_ok(c, ms->items[i], mk) || date_(c, rules__ymap_get(ms->items[i], "from"), &m[i].period.from) ||
                date_(c, rules__ymap_get(ms->items[i], "to"), &m[i].period.to))
                return -1;
            m[i].member = s_(rules__ymap_get(ms->items[i], "member"));
            m[i].household = s_(rules__ymap_get(ms->items[i], "household"));
        }
        k->hist.memberships = m;
        k->hist.n_memberships = ms->n;
    }
    return 0;
}

static int build_application(cctx *c, const ynode *an, kase *k)
{
    static const char *const ak[] = {"ask", "applicant", "subject", "flags", "heating", "bill", "units",
                                     "unit_cost", "count", "event", NULL};
    if (keys_ok(c, an, ak))
        return -1;
    rules_application *a = &k->a;
    const char *ask = s_(rules__ymap_get(an, "ask"));
    if (!ask)
        return bad(c, an->line, "application needs ask");
    if (strcmp(ask, "NEEDY_STATUS") == 0)
        a->ask = RULES_ASK_NEEDY_STATUS;
    else if (strcmp(ask, "LOW_INCOME_STATUS") == 0)
        a->ask = RULES_ASK_LOW_INCOME_STATUS;
    else if (strcmp(ask, "GMI") == 0)
        a->ask = RULES_ASK_GMI;
    else if (strcmp(ask, "HOUSING") == 0)
        a->ask = RULES_ASK_HOUSING;
    else {
        a->ask = RULES_ASK_BENEFIT;
        a->benefit = ask;
    }
    a->applicant = s_(rules__ymap_get(an, "applicant")) ? s_(rules__ymap_get(an, "applicant")) : k->h.members[0].key;
    a->subject = s_(rules__ymap_get(an, "subject"));
    if (flags_(c, rules__ymap_get(an, "flags"), true, &a->flags))
        return -1;
    const ynode *h = rules__ymap_get(an, "heating");
    if (h) {
        static const char *const hs[] = {"", "district", "individual", NULL};
        int x;
        if (pick(c, h, hs, &x))
            return -1;
        a->heating = (rules_heating)x;
    }
    const ynode *b = rules__ymap_get(an, "bill");
    a->bill_date = AT_DATE_NONE;
    if (b) {
        static const char *const bk[] = {"amount", "date", NULL};
        if (keys_ok(c, b, bk) || money_(c, rules__ymap_get(b, "amount"), &a->bill) ||
            date_(c, rules__ymap_get(b, "date"), &a->bill_date))
            return -1;
        a->has_bill = true;
    }
    if (rules__ymap_get(an, "units") && int_(c, rules__ymap_get(an, "units"), &a->units))
        return -1;
    if (rules__ymap_get(an, "unit_cost") && money_(c, rules__ymap_get(an, "unit_cost"), &a->unit_cost))
        return -1;
    if (rules__ymap_get(an, "count") && int_(c, rules__ymap_get(an, "count"), &a->count))
        return -1;
    if (date_(c, rules__ymap_get(an, "event"), &a->event))
        return -1;
    return 0;
}

/* ---- comparing */

static int differ(cctx *c, const char *what, const char *want, const char *got)
{
    snprintf(c->why, sizeof c->why, "%s: expected %s, got %s", what, want, got);
    return 1;
}

static int check(cctx *c, const ynode *ex, at_code rc, const at_error *err, const rules_result *r)
{
    static const char *const ek[] = {"outcome", "status", "period", "amount", "per", "units", "payment",
                                     "component", "reasons", "household_type", "error", NULL};
    if (keys_ok(c, ex, ek))
        return -1;
    const ynode *e = rules__ymap_get(ex, "error");
    if (e) {
        static const char *const xk[] = {"code", "message_contains", NULL};
        if (keys_ok(c, e, xk))
            return -1;
        if (rc == AT_OK)
            return differ(c, "result", "an error", "a decision");
        const char *code = s_(rules__ymap_get(e, "code"));
        if (code && strcmp(code, at_code_name(rc)) != 0)
            return differ(c, "error code", code, at_code_name(rc));
        const char *mc = s_(rules__ymap_get(e, "message_contains"));
        if (mc && !strstr(err->message, mc))
            return differ(c, "error message", mc, err->message);
        if (!err->message[0])
            return differ(c, "error message", "a message", "none");
        return 0;
    }
    if (rc != AT_OK) {
        char got[300];
        snprintf(got, sizeof got, "error %s: %s", at_code_name(rc), err->message);
        return differ(c, "result", "a decision", got);
    }
    const rules_decision *d = rules_result_decision(r);
    char buf[64], buf2[64];
    const char *want = s_(rules__ymap_get(ex, "outcome"));
    const char *got = d->outcome == RULES_GRANTED ? "granted" : "refused";
    if (!want)
        return bad(c, ex->line, "expect needs outcome or error");
    if (strcmp(want, got) != 0) {
        char g[400];
        snprintf(g, sizeof g, "%s (%s)", got, d->n_reasons ? d->reasons[0].code : "no reason");
        return differ(c, "outcome", want, g);
    }
    if ((want = s_(rules__ymap_get(ex, "status"))) && strcmp(want, rules_status_name(d->status)) != 0)
        return differ(c, "status", want, rules_status_name(d->status));
    const ynode *p = rules__ymap_get(ex, "period");
    if (p) {
        at_period wp;
        if (date_(c, rules__ymap_get(p, "from"), &wp.from) || date_(c, rules__ymap_get(p, "to"), &wp.to))
            return -1;
        if (wp.from != d->period.from || wp.to != d->period.to) {
            char a1[16] = "-", a2[16] = "-", b1[16] = "-", b2[16] = "-";
            if (wp.from != AT_DATE_NONE) at_date_format(wp.from, a1, sizeof a1);
            if (wp.to != AT_DATE_NONE) at_date_format(wp.to, a2, sizeof a2);
            if (d->period.from != AT_DATE_NONE) at_date_format(d->period.from, b1, sizeof b1);
            if (d->period.to != AT_DATE_NONE) at_date_format(d->period.to, b2, sizeof b2);
            snprintf(buf, sizeof buf, "%s..%s", a1, a2);
            snprintf(buf2, sizeof buf2, "%s..%s", b1, b2);
            return differ(c, "period", buf, buf2);
        }
    }
    const ynode *am = rules__ymap_get(ex, "amount");
    if (am) {
        if (s_(am) && strcmp(s_(am), "none") == 0) {
            if (d->has_amount) {
                at_cents_format(d->amount, buf2, sizeof buf2);
                return differ(c, "amount", "none", buf2);
            }
        } else {
            at_cents wa;
            if (money_(c, am, &wa))
                return -1;
            if (!d->has_amount || d->amount != wa) {
                at_cents_format(wa, buf, sizeof buf);
                if (d->has_amount)
                    at_cents_format(d->amount, buf2, sizeof buf2);
                else
                    snprintf(buf2, sizeof buf2, "none");
                return differ(c, "amount", buf, buf2);
            }
        }
    }
    if ((want = s_(rules__ymap_get(ex, "per"))) && strcmp(want, rules_per_name(d->per)) != 0)
        return differ(c, "per", want, rules_per_name(d->per));
    const ynode *un = rules__ymap_get(ex, "units");
    if (un) {
        int64_t wu = 0;
        if (int_(c, un, &wu))
            return -1;
        if (wu != d->units) {
            snprintf(buf, sizeof buf, "%lld", (long long)wu);
            snprintf(buf2, sizeof buf2, "%lld", (long long)d->units);
            return differ(c, "units", buf, buf2);
        }
    }
    if ((want = s_(rules__ymap_get(ex, "payment"))) && strcmp(want, rules_payment_name(d->payment)) != 0)
        return differ(c, "payment", want, rules_payment_name(d->payment));
    if ((want = s_(rules__ymap_get(ex, "component"))) && strcmp(want, d->component) != 0)
        return differ(c, "component", want, d->component);
    if ((want = s_(rules__ymap_get(ex, "household_type"))) &&
        strcmp(want, rules_household_type_name(d->household_type)) != 0)
        return differ(c, "household_type", want, rules_household_type_name(d->household_type));
    const ynode *rs = rules__ymap_get(ex, "reasons");
    if (rs) {
        if (rs->kind != YN_SEQ)
            return bad(c, rs->line, "reasons are a list");
        char wl[400] = "", gl[400] = "";
        size_t o = 0;
        for (size_t i = 0; i < rs->n; i++)
            o += (size_t)snprintf(wl + o, o < sizeof wl ? sizeof wl - o : 0, "%s%s", i ? "," : "", s_(rs->items[i]));
        o = 0;
        for (size_t i = 0; i < d->n_reasons; i++)
            o += (size_t)snprintf(gl + o, o < sizeof gl ? sizeof gl - o : 0, "%s%s", i ? "," : "", d->reasons[i].code);
        if (strcmp(wl, gl) != 0)
            return differ(c, "reasons", wl[0] ? wl : "none", gl[0] ? gl : "none");
    } else if (d->outcome == RULES_REFUSED) {
        return bad(c, ex->line, "a refused case must list its expected reasons");
    }
    /* The explanation: steps with both labels, every parameter read with its source. */
    size_t ns = rules_result_n_steps(r);
    if (ns == 0)
        return differ(c, "explanation", "steps", "none");
    for (size_t i = 0; i < ns; i++) {
        const rules_step *s = rules_result_step(r, i);
        if (!s->label_lv[0] || !s->label_en[0])
            return differ(c, "explanation", "a Latvian and an English label", "an empty label");
        for (size_t k = 0; k < s->n_reads; k++)
            if (!s->reads[k].source || !s->reads[k].source[0])
                return differ(c, "explanation", "a source for every parameter read", s->reads[k].name);
    }
    return 0;
}

static int run_case(const rules_set *set, cctx *c, const ynode *cn, int *failed)
{
    static const char *const ck[] = {"name", "tenant", "date", "submitted", "household", "history",
                                      "application", "expect", NULL};
    kase k;
    memset(&k, 0, sizeof k);
    c->why[0] = 0;
    c->name = s_(rules__ymap_get(cn, "name"));
    if (!c->name) {
        bad(c, cn->line, "a case needs a name");
        c->name = "?";
        return -1;
    }
    if (keys_ok(c, cn, ck))
        return -1;
    k.a.tenant = s_(rules__ymap_get(cn, "tenant"));
    if (date_(c, rules__ymap_get(cn, "date"), &k.a.decision) || date_(c, rules__ymap_get(cn, "submitted"), &k.a.submitted))
        return -1;
    at_period window = at_last_full_months(k.a.submitted != AT_DATE_NONE ? k.a.submitted : k.a.decision, 3);
    if (build_household(c, rules__ymap_get(cn, "household"), window, &k) || build_history(c, rules__ymap_get(cn, "history"), &k) ||
        build_application(c, rules__ymap_get(cn, "application"), &k))
        return -1;
    k.expect = rules__ymap_get(cn, "expect");
    if (!k.expect)
        return bad(c, cn->line, "a case needs expect");
    rules_result *r = NULL;
    at_error err;
    at_error_clear(&err);
    at_code rc = rules_decide(set, &k.h, &k.a, &k.hist, &r, &err);
    int d = check(c, k.expect, rc, &err, r);
    const char *ex = getenv("RULES_EXPLAIN");
    if (r && ex && strcmp(ex, c->name) == 0) {
        size_t n = rules_result_format(r, RULES_LANG_BOTH, NULL, 0);
        char *buf = malloc(n + 1);
        rules_result_format(r, RULES_LANG_BOTH, buf, n + 1);
        fputs(buf, stdout);
        free(buf);
    }
    if (rc != AT_OK && ex && strcmp(ex, c->name) == 0)
        printf("error %s: %s\n  %s\n  %s\n", at_code_name(rc), err.message, err.detail, err.hint);
    rules_result_free(r);
    if (d != 0)
        (*failed)++;
    return d;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static size_t list_yaml(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (d && v && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".yaml") != 0)
            continue;
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = strdup(e->d_name);
    }
    if (d)
        closedir(d);
    qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* The real rule sets, plus the example municipalities kept with the cases (not tenants
     * of the platform, so not in services/means/rulesets). */
    char **files, **extra;
    size_t nreal = list_yaml(RULES_RULESETS_DIR, &files);
    size_t nextra = list_yaml(RULES_EXTRA_RULESETS_DIR, &extra);
    size_t nf = nreal + nextra;
    files = realloc(files, (nf ? nf : 1) * sizeof *files);
    for (size_t i = 0; i < nextra; i++)
        files[nreal + i] = extra[i];
    free(extra);
    rules_source *src = calloc(nf ? nf : 1, sizeof *src);
    char path[1024];
    for (size_t i = 0; i < nf; i++) {
        snprintf(path, sizeof path, "%s/%s", i < nreal ? RULES_RULESETS_DIR : RULES_EXTRA_RULESETS_DIR, files[i]);
        src[i].name = files[i];
        src[i].bytes = slurp(path, &src[i].len);
        if (!src[i].bytes) {
            printf("FAIL cannot read rule set %s\n", path);
            return 1;
        }
    }
    rules_set *set = NULL;
    at_error err;
    at_error_clear(&err);
    if (rules_set_load(src, nf, &set, &err) != AT_OK) {
        printf("FAIL rule sets do not load: %s\n  %s\n  %s\n", err.message, err.detail, err.hint);
        return 1;
    }
    printf("rule set version %s (%zu files)\n", rules_set_version(set), nf);

    char **cases;
    size_t nc = list_yaml(RULES_CASES_DIR, &cases);
    int total = 0, failed = 0, broken = 0;
    for (size_t i = 0; i < nc; i++) {
        snprintf(path, sizeof path, "%s/%s", RULES_CASES_DIR, cases[i]);
        size_t len;
        char *bytes = slurp(path, &len);
        cctx c = {.file = cases[i], .pool = rules__pool_new()};
        ynode *root = NULL;
        if (!bytes || rules__yparse(c.pool, cases[i], bytes, len, &root, &err) != AT_OK) {
            printf("FAIL %s: does not parse: %s\n", cases[i], err.message);
            broken++;
        } else {
            const ynode *list = rules__ymap_get(root, "cases");
            if (!list || list->kind != YN_SEQ || root->n != 1) {
                printf("FAIL %s: a case file is a mapping with one key, cases: [...]\n", cases[i]);
                broken++;
            }
            for (size_t j = 0; list && list->kind == YN_SEQ && j < list->n; j++) {
                total++;
                int rc = run_case(set, &c, list->items[j], &failed);
                if (rc < 0) {
                    printf("FAIL %s: %s: %s\n", cases[i], c.name, c.why);
                    broken++;
                } else if (rc > 0) {
                    printf("FAIL %s: %s: %s\n", cases[i], c.name, c.why);
                } else {
                    printf("ok   %s: %s\n", cases[i], c.name);
                }
            }
        }
        rules__pool_free(c.pool);
        free(bytes);
    }
    printf("%d cases, %d failed, %d broken\n", total, failed, broken);
    int bad_count = total < MIN_CASES;
    if (bad_count)
        printf("FAIL only %d cases; at least %d are required\n", total, MIN_CASES);
    rules_set_free(set);
    for (size_t i = 0; i < nf; i++) {
        free((void *)src[i].bytes);
        free(files[i]);
    }
    for (size_t i = 0; i < nc; i++)
        free(cases[i]);
    free(src);
    free(files);
    free(cases);
    return failed || broken || bad_count ? 1 : 0;
}
