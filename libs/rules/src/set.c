/*
 * set.c -- loading a rule set (from YAML files or from its canonical bytes), its canonical
 * serialisation and version id, and parameter lookup with municipal override.
 *
 * Invariants of a loaded rules_set: it has exactly one "national" scope; scopes,
 * parameters, income types and benefits are sorted by name; the dated values of one name
 * do not overlap; every name a rule refers to (a derived value's base, an income limit
 * parameter, a component) exists; `bytes` is the canonical JSON of all scopes and
 * `version` its SHA-256. Nothing changes after loading, so sets are shared across threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules_int.h"

#define FORMAT "atbalsts-rules/1"

void rules_set_free(rules_set *s)
{
    if (!s)
        return;
    free(s->bytes);
    rules__pool_free(s->pool);
    free(s);
}

const void *rules_set_bytes(const rules_set *s, size_t *len)
{
    *len = s->len;
    return s->bytes;
}

const char *rules_set_version(const rules_set *s) { return s->version; }

/* ---- lookup by name (arrays are sorted by the compiler) */

#define BSEARCH(arr, n, field, key)                                   \
    do {                                                              \
        size_t lo = 0, hi = (n);                                      \
        while (lo < hi) {                                             \
            size_t mid = (lo + hi) / 2;                               \
            int c = strcmp((arr)[mid].field, (key));                  \
            if (c == 0)                                               \
                return &(arr)[mid];                                   \
            if (c < 0)                                                \
                lo = mid + 1;                                         \
            else                                                      \
                hi = mid;                                             \
        }                                                             \
        return NULL;                                                  \
    } while (0)

const scope *rules__scope(const rules_set *s, const char *name) { BSEARCH(s->scopes, s->n, name, name); }
const param *rules__param_in(const scope *sc, const char *name) { BSEARCH(sc->params, sc->n_params, name, name); }
const itype *rules__itype_in(const scope *sc, const char *code) { BSEARCH(sc->itypes, sc->n_itypes, code, code); }
const benefit *rules__benefit_in(const scope *sc, const char *code) { BSEARCH(sc->benefits, sc->n_benefits, code, code); }

const pval *rules__pval_on(const param *p, at_date on)
{
    for (size_t i = 0; i < p->n; i++) {
        const pval *v = &p->values[i];
        if (v->from <= on && (v->to == AT_DATE_NONE || on <= v->to))
            return v;
    }
    return NULL;
}

bool rules_set_covers(const rules_set *s, const char *tenant, at_date on)
{
    const scope *sc = tenant ? rules__scope(s, tenant) : NULL;
    return sc && sc->from <= on && (sc->to == AT_DATE_NONE || on <= sc->to);
}

int rules__value_text(const rules_param_value *v, char *buf, size_t n)
{
    char a[32], b[32];
    switch (v->unit) {
    case RULES_UNIT_EUR:
        at_cents_format(v->value, a, sizeof a);
        return snprintf(buf, n, "%s", a);
    case RULES_UNIT_EUR_SCALE:
        at_cents_format(v->first, a, sizeof a);
        if (!v->household)
            return snprintf(buf, n, "%s per person", a);
        at_cents_format(v->others, b, sizeof b);
        return snprintf(buf, n, "%s first person + %s each other person", a, b);
    case RULES_UNIT_RATIO:
        return snprintf(buf, n, "%lld.%04lld", (long long)(v->value / 10000), (long long)(v->value % 10000));
    case RULES_UNIT_BOOL:
        return snprintf(buf, n, "%s", v->value ? "true" : "false");
    case RULES_UNIT_MONTHS:
        return snprintf(buf, n, "%lld months", (long long)v->value);
    case RULES_UNIT_DAYS:
        return snprintf(buf, n, "%lld days", (long long)v->value);
    case RULES_UNIT_YEARS:
        return snprintf(buf, n, "%lld years", (long long)v->value);
    default:
        return snprintf(buf, n, "%lld", (long long)v->value);
    }
}

static at_code lookup(const rules_set *s, const scope *tenant, const char *name, at_date on, int depth,
                      rules_param_value *out, rules__on_read cb, void *cbctx, at_error *err)
{
    char day[16];
    if (depth > 4)
        return at_error_set(err, AT_INTERNAL, name, "derived parameter %s refers too deeply", name);
    const param *p = NULL;
    const pval *v = NULL;
    const scope *from = NULL;
    if (tenant && tenant != s->national && (p = rules__param_in(tenant, name)) && (v = rules__pval_on(p, on)))
        from = tenant;
    if (!v) {
        const param *np = rules__param_in(s->national, name);
        if (np && (v = rules__pval_on(np, on))) {
            p = np;
            from = s->national;
        }
        if (!p)
            p = np;
    }
    if (!v) {
        at_date_format(on, day, sizeof day);
        at_error_set(err, AT_NOT_FOUND, name, "no rule in force for %s on %s", name, day);
        if (p)
            at_error_detail(err, "Parameter %s has no value in force on %s for %s; the rules never "
                                 "fall back to zero or to an expired value.", name, day,
                            tenant ? tenant->name : "national");
        else
            at_error_detail(err, "No scope of rule set defines parameter %s.", name);
        at_error_hint(err, "Add a dated value with its source to the rule set, or decide under the "
                           "rules of a date they cover.");
        return AT_NOT_FOUND;
    }
    memset(out, 0, sizeof *out);
    out->name = p->name;
    out->unit = p->unit;
    out->in_force.from = v->from;
    out->in_force.to = v->to;
    out->scope = from->name;
    out->source = v->source;
    out->note = v->note ? v->note : "";
    switch (v->kind) {
    case VK_SCALE:
        out->household = true;
        out->first = v->first;
        out->others = v->others;
        out->value = v->first;
        break;
    case VK_DERIVED: {
        rules_param_value base;
        at_code rc = lookup(s, tenant, v->of, on, depth + 1, &base, cb, cbctx, err);
        if (rc != AT_OK)
            return rc;
        if (base.unit != RULES_UNIT_EUR && !(base.unit == RULES_UNIT_EUR_SCALE && !base.household))
            return at_error_set(err, AT_INTERNAL, name, "derived parameter %s has a base that is not an amount", name);
        if (!at_cents_muldiv(base.value, v->ratio, 10000, v->rounding, &out->value))
            return at_error_set(err, AT_INTERNAL, name, "overflow computing %s", name);
        out->first = out->others = out->value;
        /* The derived value takes effect when either it or its base does. */
        if (base.in_force.from > out->in_force.from)
            out->in_force.from = base.in_force.from;
        if (base.in_force.to != AT_DATE_NONE && (out->in_force.to == AT_DATE_NONE || base.in_force.to < out->in_force.to))
            out->in_force.to = base.in_force.to;
        break;
    }
    default:
        out->value = v->v;
        out->first = out->others = v->v;
        break;
    }
    if (cb)
        cb(cbctx, out);
    return AT_OK;
}

at_code rules__lookup(const rules_set *s, const scope *tenant, const char *name, at_date on,
                      rules_param_value *out, rules__on_read cb, void *cbctx, at_error *err)
{
    return lookup(s, tenant, name, on, 0, out, cb, cbctx, err);
}

at_code rules_param(const rules_set *s, const char *tenant, const char *name, at_date on,
                    rules_param_value *out, at_error *err)
{
    const scope *sc = s->national;
    if (tenant && strcmp(tenant, "national") != 0) {
        sc = rules__scope(s, tenant);
        if (!sc) {
            at_error_set(err, AT_UNKNOWN_TENANT, "tenant", "no rule set for tenant \"%s\"", tenant);
            at_error_hint(err, "Add services/means/rulesets/%s.yaml.", tenant);
            return AT_UNKNOWN_TENANT;
        }
    }
    return rules__lookup(s, sc, name, on, out, NULL, NULL, err);
}

/* ---- cross-scope checks */

static const param *find_param(const rules_set *s, const scope *sc, const char *name)
{
    const param *p = rules__param_in(sc, name);
    return p ? p : rules__param_in(s->national, name);
}

static at_code ref_param(const rules_set *s, const scope *sc, const char *what, const char *name,
                         unsigned units_mask, at_error *err)
{
    const param *p = find_param(s, sc, name);
    if (!p) {
        at_error_set(err, AT_VALIDATION, name, "%s.yaml: %s refers to parameter %s, which is not defined",
                     sc->name, what, name);
        at_error_hint(err, "Define it in %s.yaml or national.yaml.", sc->name);
        return AT_VALIDATION;
    }
    if (!(units_mask & (1u << p->unit)))
        return at_error_set(err, AT_VALIDATION, name, "%s.yaml: %s refers to parameter %s, which has the wrong unit",
                            sc->name, what, name);
    return AT_OK;
}

/* Is q the capped name itself or one of its household-type variants ("NAME.<type>")? */
static bool capped_name(const char *q, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(q, name, n) != 0)
        return false;
    if (!q[n])
        return true;
    for (int t = RULES_HT_NONE + 1; t <= RULES_HT_OTHER; t++)
        if (q[n] == '.' && strcmp(q + n + 1, rules_household_type_name(t)) == 0)
            return true;
    return false;
}

static const char *day_text(at_date d, char *buf, size_t n)
{
    if (d == AT_DATE_NONE)
        snprintf(buf, n, "open");
    else
        at_date_format(d, buf, n);
    return buf;
}

/* The values of q in scope sc must not exceed those of the cap m on any day both are in
 * force: first against first, others against others (a per-person amount is both). */
static at_code check_cap(const scope *sc, const param *q, const param *m, at_error *err)
{
    for (size_t i = 0; i < q->n; i++) {
        const pval *qv = &q->values[i];
        for (size_t j = 0; j < m->n; j++) {
            const pval *mv = &m->values[j];
            bool overlap = (qv->to == AT_DATE_NONE || mv->from <= qv->to) && (mv->to == AT_DATE_NONE || qv->from <= mv->to);
            if (!overlap)
                continue;
            char f[16], t[16], a[32], b[32], x[32], y[32];
            day_text(mv->from, f, sizeof f);
            day_text(mv->to, t, sizeof t);
            if (qv->kind == VK_DERIVED) {
                at_error_set(err, AT_VALIDATION, q->name, "%s.yaml:%d: %s cannot be checked against the national "
                             "maximum %s", sc->name, qv->line, q->name, m->name);
                at_error_detail(err, "A derived value is not known when the rule set is loaded, but %s caps it "
                                     "from %s to %s.", m->name, f, t);
                at_error_hint(err, "Write the amount of the threshold for these dates.");
                return AT_VALIDATION;
            }
            at_cents qf = qv->kind == VK_SCALE ? qv->first : qv->v, qo = qv->kind == VK_SCALE ? qv->others : qv->v;
            at_cents mf = mv->kind == VK_SCALE ? mv->first : mv->v, mo = mv->kind == VK_SCALE ? mv->others : mv->v;
            if (mv->kind == VK_DERIVED || (qf <= mf && qo <= mo))
                continue;
            at_cents_format(qf, a, sizeof a);
            at_cents_format(qo, b, sizeof b);
            at_cents_format(mf, x, sizeof x);
            at_cents_format(mo, y, sizeof y);
            at_error_set(err, AT_VALIDATION, q->name, "%s.yaml:%d: %s exceeds the national maximum %s",
                         sc->name, qv->line, q->name, m->name);
            at_error_detail(err, "%s is %s first person / %s each other person; the maximum in force from %s to "
                                 "%s is %s / %s (%s).", q->name, a, b, f, t, x, y, mv->source);
            at_error_hint(err, "Lower the municipal threshold to the maximum, or correct its dates.");
            return AT_VALIDATION;
        }
    }
    return AT_OK;
}

/* Every parameter capped by a national parameter (caps:) stays within it, in every scope. */
static at_code check_caps(const rules_set *s, at_error *err)
{
    const scope *nat = s->national;
    for (size_t j = 0; j < nat->n_params; j++) {
        const param *m = &nat->params[j];
        for (size_t c = 0; c < m->n_caps; c++)
            for (size_t i = 0; i < s->n; i++) {
                const scope *sc = &s->scopes[i];
                for (size_t k = 0; k < sc->n_params; k++) {
                    const param *q = &sc->params[k];
                    if (!capped_name(q->name, m->caps[c]))
                        continue;
                    if (q->unit != RULES_UNIT_EUR && q->unit != RULES_UNIT_EUR_SCALE)
                        return at_error_set(err, AT_VALIDATION, q->name, "%s.yaml: %s is capped by %s but is not "
                                            "an amount", sc->name, q->name, m->name);
                    at_code rc = check_cap(sc, q, m, err);
                    if (rc != AT_OK)
                        return rc;
                }
            }
    }
    return AT_OK;
}

at_code rules__check_set(const rules_set *s, at_error *err)
{
    const unsigned money = 1u << RULES_UNIT_EUR | 1u << RULES_UNIT_EUR_SCALE;
    at_code rc;
    for (size_t i = 0; i < s->n; i++) {
        const scope *sc = &s->scopes[i];
        for (size_t j = 0; j < sc->n_params; j++) {
            const param *p = &sc->params[j];
            const param *np = sc != s->national ? rules__param_in(s->national, p->name) : NULL;
            if (np && np->unit != p->unit)
                return at_error_set(err, AT_VALIDATION, p->name,
                                    "%s.yaml: parameter %s overrides the national one with a different unit",
                                    sc->name, p->name);
            for (size_t k = 0; k < p->n; k++)
                if (p->values[k].kind == VK_DERIVED &&
                    (rc = ref_param(s, sc, p->name, p->values[k].of, 1u << RULES_UNIT_EUR, err)) != AT_OK)
                    return rc;
        }
        for (size_t j = 0; j < sc->n_benefits; j++) {
            const benefit *b = &sc->benefits[j];
            for (size_t k = 0; k < b->n; k++) {
                const bversion *v = &b->versions[k];
                if (v->income_max_param && (rc = ref_param(s, sc, b->code, v->income_max_param, money, err)) != AT_OK)
                    return rc;
                if (v->bill_age_param &&
                    (rc = ref_param(s, sc, b->code, v->bill_age_param, 1u << RULES_UNIT_MONTHS, err)) != AT_OK)
                    return rc;
                if (v->level_param &&
                    (rc = ref_param(s, sc, b->code, v->level_param, 1u << RULES_UNIT_EUR_SCALE, err)) != AT_OK)
                    return rc;
                if (v->coefficient_param &&
                    (rc = ref_param(s, sc, b->code, v->coefficient_param, 1u << RULES_UNIT_RATIO, err)) != AT_OK)
                    return rc;
                for (size_t m = 0; m < v->n_expenses; m++)
                    if (v->expenses[m].norm_param &&
                        (rc = ref_param(s, sc, b->code, v->expenses[m].norm_param, 1u << RULES_UNIT_EUR, err)) != AT_OK)
                        return rc;
                for (size_t m = 0; m < v->n_components; m++) {
                    const benefit *cb = rules__benefit_in(sc, v->components[m]);
                    if (!cb)
                        cb = rules__benefit_in(s->national, v->components[m]);
                    if (!cb || cb->kind != KIND_CATALOGUE)
                        return at_error_set(err, AT_VALIDATION, b->code,
                                            "%s.yaml: component %s of %s is not a catalogue benefit of the scope",
                                            sc->name, v->components[m], b->code);
                }
            }
        }
    }
    return check_caps(s, err);
}

/* ---- loading */

typedef struct loaded {
    scope sc;
    ynode *tree;
} loaded;

static int cmp_loaded(const void *a, const void *b)
{
    return strcmp(((const loaded *)a)->sc.name, ((const loaded *)b)->sc.name);
}

/* Put the compiled scopes into s, build the canonical bytes and the version. */
static at_code finish(rules_set *s, loaded *ls, size_t n, at_error *err)
{
    qsort(ls, n, sizeof *ls, cmp_loaded);
    size_t national = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(ls[i - 1].sc.name, ls[i].sc.name) == 0)
            return at_error_set(err, AT_VALIDATION, "scope", "scope \"%s\" is given twice", ls[i].sc.name);
        if (strcmp(ls[i].sc.name, "national") == 0)
            national++;
    }
    if (national != 1) {
        at_error_set(err, AT_VALIDATION, "scope", "a rule set needs exactly one national scope");
        at_error_hint(err, "Load national.yaml together with the municipal files.");
        return AT_VALIDATION;
    }
    s->n = n;
    if (!(s->scopes = rules__palloc(s->pool, n * sizeof *s->scopes)))
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++)
        s->scopes[i] = ls[i].sc;
    s->national = rules__scope(s, "national");
    at_code rc = rules__check_set(s, err);
    if (rc != AT_OK)
        return rc;

    /* The canonical document: {"format": ..., "scopes": [scope documents by name]}. */
    ynode *root = rules__palloc(s->pool, sizeof *root);
    ynode *fmt = rules__palloc(s->pool, sizeof *fmt);
    ynode *seq = rules__palloc(s->pool, sizeof *seq);
    char **keys = rules__palloc(s->pool, 2 * sizeof *keys);
    int *kl = rules__palloc(s->pool, 2 * sizeof *kl);
    ynode **items = rules__palloc(s->pool, 2 * sizeof *items);
    ynode **scopes = rules__palloc(s->pool, n * sizeof *scopes);
    if (!root || !fmt || !seq || !keys || !kl || !items || !scopes)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    fmt->kind = YN_SCALAR;
    fmt->text = FORMAT;
    seq->kind = YN_SEQ;
    seq->n = n;
    seq->items = scopes;
    for (size_t i = 0; i < n; i++)
        scopes[i] = ls[i].tree;
    root->kind = YN_MAP;
    root->n = 2;
    root->keys = keys;
    root->key_lines = kl;
    root->items = items;
    keys[0] = "format";
    items[0] = fmt;
    keys[1] = "scopes";
    items[1] = seq;
    rules__ysort(root);
    if ((rc = rules__yemit(root, &s->bytes, &s->len, err)) != AT_OK)
        return rc;
    rules__sha256_hex(s->bytes, s->len, s->version);
    return AT_OK;
}

static at_code new_set(rules_set **out, at_error *err)
{
    rules_set *s = calloc(1, sizeof *s);
    if (!s || !(s->pool = rules__pool_new())) {
        free(s);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    *out = s;
    return AT_OK;
}

at_code rules_set_load(const rules_source *srcs, size_t n, rules_set **out, at_error *err)
{
    *out = NULL;
    if (n == 0)
        return at_error_set(err, AT_VALIDATION, NULL, "no rule-set documents to load");
    rules_set *s = NULL;
    at_code rc = new_set(&s, err);
    if (rc != AT_OK)
        return rc;
    loaded *ls = calloc(n, sizeof *ls);
    if (!ls) {
        rules_set_free(s);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < n && rc == AT_OK; i++) {
        const char *file = srcs[i].name ? srcs[i].name : "rule set";
        rc = rules__yparse(s->pool, file, srcs[i].bytes, srcs[i].len, &ls[i].tree, err);
        if (rc == AT_OK)
            rc = rules__compile_scope(s->pool, file, ls[i].tree, &ls[i].sc, err);
    }
    if (rc == AT_OK)
        rc = finish(s, ls, n, err);
    free(ls);
    if (rc != AT_OK) {
        rules_set_free(s);
        return rc;
    }
    *out = s;
    return AT_OK;
}

at_code rules_set_from_bytes(const void *bytes, size_t len, rules_set **out, at_error *err)
{
    *out = NULL;
    rules_set *s = NULL;
    at_code rc = new_set(&s, err);
    if (rc != AT_OK)
        return rc;
    ynode *root = NULL;
    loaded *ls = NULL;
    const char *file = "canonical rule set";
    rc = rules__yparse(s->pool, file, bytes, len, &root, err);
    if (rc == AT_OK) {
        ynode *fmt = rules__ymap_get(root, "format");
        ynode *seq = rules__ymap_get(root, "scopes");
        if (root->n != 2 || !fmt || fmt->kind != YN_SCALAR || strcmp(fmt->text, FORMAT) != 0 || !seq ||
            seq->kind != YN_SEQ || seq->n == 0) {
            rc = at_error_set(err, AT_MALFORMED, NULL, "not a canonical rule set (format %s expected)", FORMAT);
        } else if (!(ls = calloc(seq->n, sizeof *ls))) {
            rc = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        } else {
            for (size_t i = 0; i < seq->n && rc == AT_OK; i++) {
                ls[i].tree = seq->items[i];
                rc = rules__compile_scope(s->pool, file, ls[i].tree, &ls[i].sc, err);
            }
            if (rc == AT_OK)
                rc = finish(s, ls, seq->n, err);
        }
    }
    free(ls);
    if (rc == AT_OK && (s->len != len || memcmp(s->bytes, bytes, len) != 0)) {
        at_error_set(err, AT_MALFORMED, NULL, "rule-set bytes are not in canonical form");
        at_error_detail(err, "The version id is the hash of the canonical bytes; bytes that load but "
                             "serialise differently would give a decision a version nobody can reproduce.");
        rc = AT_MALFORMED;
    }
    if (rc != AT_OK) {
        rules_set_free(s);
        return rc;
    }
    *out = s;
    return AT_OK;
}
