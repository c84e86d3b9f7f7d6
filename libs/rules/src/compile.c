/*
 * compile.c -- one scope document (YAML tree) to the compiled structures of rules_int.h.
 *
 * This is where a rule file is judged. Every map is checked against the keys its schema
 * allows (an unknown key is an error with its line, never silently ignored: PolicyEngine
 * froze 103 parameters that way); every dated value needs `from` and a non-empty `source`;
 * money is a quoted decimal string with at most two decimals (at_cents_parse), never a
 * float; the values of one name must not overlap in time.
 *
 * While it checks, it normalises the tree in place (dates as YYYY-MM-DD, money as
 * "128.06", integers and booleans as bare JSON, flag lists and dated lists sorted), so
 * that the canonical bytes, and with them the version id, depend on what the rules say and
 * not on how the file was written (comments, key order, "64" versus "64.00").
 *
 * When adding a key: add it to the allowed list of its map here, to the struct in
 * rules_int.h, to docs/rules.md, and use it in decide.c.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules_int.h"

typedef struct cc {
    rules__pool *pool;
    const char *file;
    at_error *err;
    char path[256];
} cc;

/* ---- errors and paths */

static at_code fail(cc *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static at_code fail(cc *c, int line, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    at_error_set(c->err, AT_VALIDATION, c->path[0] ? c->path : NULL, "%s:%d: %s", c->file,
                 line, msg);
    return AT_VALIDATION;
}

static size_t push(cc *c, const char *seg, bool index)
{
    size_t old = strlen(c->path);
    if (index)
        snprintf(c->path + old, sizeof c->path - old, "[%s]", seg);
    else
        snprintf(c->path + old, sizeof c->path - old, "%s%s", old ? "." : "", seg);
    return old;
}

static void pop(cc *c, size_t old) { c->path[old] = 0; }

static at_code oom(cc *c) { return at_error_set(c->err, AT_INTERNAL, NULL, "out of memory"); }

/* ---- shape checks */

static at_code need_kind(cc *c, const ynode *n, ynode_kind k, const char *what)
{
    if (n->kind == k)
        return AT_OK;
    static const char *names[] = {"", "a single value", "a list", "a mapping"};
    return fail(c, n->line, "%s must be %s", what, names[k]);
}

static at_code check_keys(cc *c, const ynode *map, const char *const *allowed, const char *what)
{
    at_code rc = need_kind(c, map, YN_MAP, what);
    if (rc != AT_OK)
        return rc;
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, map->keys[i]) == 0)
                ok = true;
        if (!ok) {
            fail(c, map->key_lines[i], "unknown key \"%s\" in %s", map->keys[i], what);
            char hint[176];
            size_t o = 0;
            hint[0] = 0;
            for (const char *const *a = allowed; *a && o < sizeof hint - 24; a++)
                o += (size_t)snprintf(hint + o, sizeof hint - o, "%s%s", o ? ", " : "", *a);
            at_error_detail(c->err, "Unknown keys are refused rather than ignored, so that a "
                                    "misspelt rule cannot silently have no effect.");
            at_error_hint(c->err, "Allowed here: %s.", hint);
            return AT_VALIDATION;
        }
    }
    return AT_OK;
}

static at_code need(cc *c, const ynode *map, const char *key, const char *what, ynode **out)
{
    *out = rules__ymap_get(map, key);
    if (*out)
        return AT_OK;
    return fail(c, map->line, "missing \"%s\" in %s", key, what);
}

/* ---- scalars */

static at_code str(cc *c, const ynode *n, const char *what, const char **out)
{
    at_code rc = need_kind(c, n, YN_SCALAR, what);
    if (rc != AT_OK)
        return rc;
    if (!n->text[0])
        return fail(c, n->line, "%s must not be empty", what);
    *out = n->text;
    return AT_OK;
}

static at_code date(cc *c, ynode *n, const char *what, at_date *out)
{
    const char *s = NULL;
    at_code rc = str(c, n, what, &s);
    if (rc != AT_OK)
        return rc;
    at_error e;
    at_error_clear(&e);
    if (at_date_parse(s, what, out, &e) != AT_OK)
        return fail(c, n->line, "%s \"%s\" is not a date (YYYY-MM-DD)", what, s);
    char buf[16];
    at_date_format(*out, buf, sizeof buf);
    if (strcmp(buf, n->text) != 0 && !(n->text = rules__pstrdup(c->pool, buf)))
        return oom(c);
    n->plain_text = false;
    return AT_OK;
}

static at_code money(cc *c, ynode *n, const char *what, at_cents *out)
{
    const char *s = NULL;
    at_code rc = str(c, n, what, &s);
    if (rc != AT_OK)
        return rc;
    if (!n->quoted) {
        fail(c, n->line, "%s must be a quoted decimal string, as \"%s\"", what, s);
        at_error_detail(c->err, "An unquoted number is a float in YAML; amounts are written "
                                "as strings and parsed into whole cents.");
        return AT_VALIDATION;
    }
    at_error e;
    at_error_clear(&e);
    if (at_cents_parse(s, what, out, &e) != AT_OK) {
        fail(c, n->line, "%s \"%s\" is not an amount in euro with at most two decimals", what, s);
        at_error_detail(c->err, "%s", e.message);
        return AT_VALIDATION;
    }
    char buf[32];
    at_cents_format(*out, buf, sizeof buf);
    if (strcmp(buf, n->text) != 0 && !(n->text = rules__pstrdup(c->pool, buf)))
        return oom(c);
    return AT_OK;
}

static at_code integer(cc *c, ynode *n, const char *what, int64_t min, int64_t max, int64_t *out)
{
    const char *s = NULL;
    at_code rc = str(c, n, what, &s);
    if (rc != AT_OK)
        return rc;
    const char *p = s;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (!*p)
        return fail(c, n->line, "%s \"%s\" is not a whole number", what, s);
    int64_t v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > (INT64_MAX - 9) / 10)
            return fail(c, n->line, "%s \"%s\" is not a whole number", what, s);
        v = v * 10 + (*p - '0');
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return fail(c, n->line, "%s %lld is outside %lld..%lld", what, (long long)v,
                    (long long)min, (long long)max);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    if (strcmp(buf, n->text) != 0 && !(n->text = rules__pstrdup(c->pool, buf)))
        return oom(c);
    n->plain_text = true;
    *out = v;
    return AT_OK;
}

static at_code int_(cc *c, ynode *n, const char *what, int min, int max, int *out)
{
    int64_t v;
    at_code rc = integer(c, n, what, min, max, &v);
    if (rc == AT_OK)
        *out = (int)v;
    return rc;
}

static at_code boolean(cc *c, ynode *n, const char *what, bool *out)
{
    const char *s = NULL;
    at_code rc = str(c, n, what, &s);
    if (rc != AT_OK)
        return rc;
    if (strcmp(s, "true") == 0)
        *out = true;
    else if (strcmp(s, "false") == 0)
        *out = false;
    else
        return fail(c, n->line, "%s must be true or false, not \"%s\"", what, s);
    n->plain_text = true;
    return AT_OK;
}

/* "0.80" -> 8000 parts per 10 000; at most four decimals, 0 .. 100. */
static at_code ratio(cc *c, ynode *n, const char *what, int64_t *out)
{
    const char *s = NULL;
    at_code rc = str(c, n, what, &s);
    if (rc != AT_OK)
        return rc;
    if (!n->quoted)
        return fail(c, n->line, "%s must be a quoted decimal string, as \"0.80\"", what);
    int64_t whole = 0, frac = 0;
    int digits = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return fail(c, n->line, "%s \"%s\" is not a decimal ratio", what, s);
    for (; isdigit((unsigned char)*p); p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > 100)
            return fail(c, n->line, "%s \"%s\" is larger than 100", what, s);
    }
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++) {
            if (++digits > 4)
                return fail(c, n->line, "%s \"%s\" has more than four decimals", what, s);
            frac = frac * 10 + (*p - '0');
        }
        if (digits == 0)
            return fail(c, n->line, "%s \"%s\" is not a decimal ratio", what, s);
    }
    if (*p)
        return fail(c, n->line, "%s \"%s\" is not a decimal ratio", what, s);
    for (; digits < 4; digits++)
        frac *= 10;
    *out = whole * 10000 + frac;
    char *t = rules__psprintf(c->pool, "%lld.%04lld", (long long)whole, (long long)frac);
    if (!t)
        return oom(c);
    n->text = t;
    return AT_OK;
}

static at_code choice(cc *c, ynode *n, const char *what, const char *const *names, int *out)
{
    const char *s = NULL;
    at_code rc = str(c, n, what, &s);
    if (rc != AT_OK)
        return rc;
    for (int i = 0; names[i]; i++)
        if (names[i][0] && strcmp(names[i], s) == 0) {
            *out = i;
            return AT_OK;
        }
    char list[160];
    size_t o = 0;
    list[0] = 0;
    for (int i = 0; names[i] && o < sizeof list - 24; i++)
        if (names[i][0])
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", names[i]);
    fail(c, n->line, "%s \"%s\" is not one of: %s", what, s, list);
    return AT_VALIDATION;
}

static bool name_ok(const char *s, bool upper)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool ok = isdigit((unsigned char)*p) || *p == '_' || (!upper && *p == '.') ||
                  (upper ? isupper((unsigned char)*p) : islower((unsigned char)*p));
        if (!ok)
            return false;
    }
    return true;
}

/* Compare scalar texts for sorting lists of names. */
static int cmp_text(const void *a, const void *b)
{
    return strcmp((*(ynode *const *)a)->text, (*(ynode *const *)b)->text);
}

/* A list of names mapped to bits (flags, statuses): sorted, duplicates refused. */
static at_code bits(cc *c, ynode *n, const char *what, int (*lookup)(const char *), uint32_t *out)
{
    at_code rc = need_kind(c, n, YN_SEQ, what);
    if (rc != AT_OK)
        return rc;
    uint32_t v = 0;
    for (size_t i = 0; i < n->n; i++) {
        const char *s = NULL;
        if ((rc = str(c, n->items[i], what, &s)) != AT_OK)
            return rc;
        int b = lookup(s);
        if (b <= 0)
            return fail(c, n->items[i]->line, "unknown name \"%s\" in %s", s, what);
        if (v & (uint32_t)b)
            return fail(c, n->items[i]->line, "\"%s\" is listed twice in %s", s, what);
        v |= (uint32_t)b;
    }
    qsort(n->items, n->n, sizeof *n->items, cmp_text);
    *out = v;
    return AT_OK;
}

static int status_bit(const char *s)
{
    int st = rules__status_from_name(s);
    return st > 0 ? (int)RULES_STATUS_BIT(st) : -1;
}

static int mflag(const char *s) { return rules_member_flag(s); }
static int aflag(const char *s) { return rules_app_flag(s); }

/* ---- dated values: from / to / source / note */

typedef struct dated {
    at_date from, to;
    const char *source, *note;
    int line;
} dated;

static at_code dated_fields(cc *c, ynode *m, const char *what, dated *d)
{
    ynode *n;
    at_code rc;
    d->line = m->line;
    if ((rc = need(c, m, "from", what, &n)) != AT_OK || (rc = date(c, n, "from", &d->from)) != AT_OK)
        return rc;
    d->to = AT_DATE_NONE;
    if ((n = rules__ymap_get(m, "to")) && (rc = date(c, n, "to", &d->to)) != AT_OK)
        return rc;
    if (d->to != AT_DATE_NONE && d->to < d->from)
        return fail(c, m->line, "%s ends (to) before it starts (from)", what);
    ynode *s = rules__ymap_get(m, "source");
    if (!s) {
        fail(c, m->line, "missing \"source\" in %s", what);
        at_error_detail(c->err, "Every value needs its legal source: the legal act and point, "
                                "or the document and section it comes from.");
        at_error_hint(c->err, "Write for example source: \"document 004 §5, change table row 3\".");
        return AT_VALIDATION;
    }
    if ((rc = str(c, s, "source", &d->source)) != AT_OK)
        return rc;
    d->note = "";
    if ((n = rules__ymap_get(m, "note")) && (rc = str(c, n, "note", &d->note)) != AT_OK)
        return rc;
    return AT_OK;
}

/* Sort a list of dated items (and the tree list in parallel) by `from`, refuse overlaps. */
static at_code sort_dated(cc *c, ynode *seq, void *items, size_t size, size_t n,
                          dated (*get)(const void *), const char *what)
{
    char *base = items;
    char *tmp = malloc(size);
    if (!tmp)
        return oom(c);
    for (size_t i = 1; i < n; i++) {
        memcpy(tmp, base + i * size, size);
        ynode *tn = seq->items[i];
        at_date f = get(tmp).from;
        size_t j = i;
        while (j > 0 && get(base + (j - 1) * size).from > f) {
            memcpy(base + j * size, base + (j - 1) * size, size);
            seq->items[j] = seq->items[j - 1];
            j--;
        }
        memcpy(base + j * size, tmp, size);
        seq->items[j] = tn;
    }
    free(tmp);
    for (size_t i = 1; i < n; i++) {
        dated a = get(base + (i - 1) * size), b = get(base + i * size);
        if (a.to == AT_DATE_NONE || a.to >= b.from) {
            char fa[16], fb[16];
            at_date_format(a.from, fa, sizeof fa);
            at_date_format(b.from, fb, sizeof fb);
            fail(c, b.line, "overlapping dates in %s: the value from %s (line %d) is still in "
                            "force on %s", what, fa, a.line, fb);
            at_error_hint(c->err, "Give the earlier value a \"to\" date before %s.", fb);
            return AT_VALIDATION;
        }
    }
    return AT_OK;
}

/* ---- parameters */

static dated pval_dated(const void *p)
{
    const pval *v = p;
    return (dated){v->from, v->to, v->source, v->note, v->line};
}

static const char *const units[] = {"", "eur", "eur_scale", "ratio", "count", "months", "days",
                                    "years", "bool", NULL};
static const char *const roundings[] = {"half_up", "half_even", "down", "up", "floor", "ceil", NULL};

static at_code param_value(cc *c, param *p, ynode *vn, pval *v)
{
    at_code rc;
    if (vn->kind == YN_MAP && (p->unit == RULES_UNIT_EUR || p->unit == RULES_UNIT_EUR_SCALE) &&
        rules__ymap_get(vn, "ratio")) {
        static const char *const keys[] = {"ratio", "of", "rounding", NULL};
        if ((rc = check_keys(c, vn, keys, "a derived value")) != AT_OK)
            return rc;
        ynode *n;
        v->kind = VK_DERIVED;
        if ((rc = ratio(c, rules__ymap_get(vn, "ratio"), "ratio", &v->ratio)) != AT_OK)
            return rc;
        if ((rc = need(c, vn, "of", "a derived value", &n)) != AT_OK || (rc = str(c, n, "of", &v->of)) != AT_OK)
            return rc;
        int r = 0;
        if ((rc = need(c, vn, "rounding", "a derived value", &n)) != AT_OK ||
            (rc = choice(c, n, "rounding", roundings, &r)) != AT_OK)
            return rc;
        static const at_rounding modes[] = {AT_ROUND_HALF_UP, AT_ROUND_HALF_EVEN, AT_ROUND_DOWN,
                                            AT_ROUND_UP, AT_ROUND_FLOOR, AT_ROUND_CEIL};
        v->rounding = modes[r];
        return AT_OK;
    }
    if (vn->kind == YN_MAP && p->unit == RULES_UNIT_EUR_SCALE) {
        static const char *const keys[] = {"first", "others", NULL};
        if ((rc = check_keys(c, vn, keys, "a first/others value")) != AT_OK)
            return rc;
        ynode *n;
        v->kind = VK_SCALE;
        if ((rc = need(c, vn, "first", "a first/others value", &n)) != AT_OK ||
            (rc = money(c, n, "first", &v->first)) != AT_OK)
            return rc;
        if ((rc = need(c, vn, "others", "a first/others value", &n)) != AT_OK ||
            (rc = money(c, n, "others", &v->others)) != AT_OK)
            return rc;
        return AT_OK;
    }
    v->kind = VK_PLAIN;
    switch (p->unit) {
    case RULES_UNIT_EUR:
    case RULES_UNIT_EUR_SCALE:
        if ((rc = money(c, vn, "value", &v->v)) != AT_OK)
            return rc;
        if (v->v < 0)
            return fail(c, vn->line, "value must not be negative");
        v->first = v->others = v->v;
        return AT_OK;
    case RULES_UNIT_RATIO:
        return ratio(c, vn, "value", &v->v);
    case RULES_UNIT_BOOL: {
        bool b;
        if ((rc = boolean(c, vn, "value", &b)) != AT_OK)
            return rc;
        v->v = b;
        return AT_OK;
    }
    default:
        return integer(c, vn, "value", 0, 100000, &v->v);
    }
}

/* caps: [names] -- the listed parameters may nowhere exceed this one (set.c checks). */
static at_code compile_caps(cc *c, ynode *n, param *p)
{
    at_code rc = need_kind(c, n, YN_SEQ, "caps");
    if (rc != AT_OK)
        return rc;
    if (p->unit != RULES_UNIT_EUR && p->unit != RULES_UNIT_EUR_SCALE)
        return fail(c, n->line, "caps belong to an amount (unit eur or eur_scale)");
    if (n->n == 0)
        return fail(c, n->line, "caps must name at least one parameter");
    qsort(n->items, n->n, sizeof *n->items, cmp_text);
    if (!(p->caps = rules__palloc(c->pool, n->n * sizeof *p->caps)))
        return oom(c);
    for (size_t i = 0; i < n->n; i++) {
        if ((rc = str(c, n->items[i], "caps", &p->caps[i])) != AT_OK)
            return rc;
        if (!name_ok(p->caps[i], false))
            return fail(c, n->items[i]->line, "caps: \"%s\" is not a parameter name", p->caps[i]);
        if (i > 0 && strcmp(p->caps[i - 1], p->caps[i]) == 0)
            return fail(c, n->items[i]->line, "\"%s\" is listed twice in caps", p->caps[i]);
    }
    p->n_caps = n->n;
    return AT_OK;
}

static at_code compile_param(cc *c, const char *name, ynode *pn, param *p)
{
    static const char *const keys[] = {"unit", "label_lv", "label_en", "values", "caps", NULL};
    at_code rc;
    if ((rc = check_keys(c, pn, keys, "a parameter")) != AT_OK)
        return rc;
    if (!name_ok(name, false))
        return fail(c, pn->line, "parameter name \"%s\" must be lower case words, digits, _ and .", name);
    p->name = name;
    ynode *n;
    int u = 0;
    if ((rc = need(c, pn, "unit", "a parameter", &n)) != AT_OK || (rc = choice(c, n, "unit", units, &u)) != AT_OK)
        return rc;
    p->unit = (rules_unit)u;
    if ((rc = need(c, pn, "label_lv", "a parameter", &n)) != AT_OK || (rc = str(c, n, "label_lv", &p->label_lv)) != AT_OK)
        return rc;
    if ((rc = need(c, pn, "label_en", "a parameter", &n)) != AT_OK || (rc = str(c, n, "label_en", &p->label_en)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(pn, "caps")) && (rc = compile_caps(c, n, p)) != AT_OK)
        return rc;
    ynode *vals;
    if ((rc = need(c, pn, "values", "a parameter", &vals)) != AT_OK || (rc = need_kind(c, vals, YN_SEQ, "values")) != AT_OK)
        return rc;
    if (vals->n == 0)
        return fail(c, vals->line, "a parameter needs at least one value");
    p->n = vals->n;
    if (!(p->values = rules__palloc(c->pool, vals->n * sizeof *p->values)))
        return oom(c);
    static const char *const vkeys[] = {"from", "to", "value", "source", "note", NULL};
    for (size_t i = 0; i < vals->n; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        size_t old = push(c, idx, true);
        ynode *vn = vals->items[i];
        dated d;
        if ((rc = check_keys(c, vn, vkeys, "a parameter value")) != AT_OK ||
            (rc = dated_fields(c, vn, "a parameter value", &d)) != AT_OK)
            return rc;
        pval *v = &p->values[i];
        v->from = d.from;
        v->to = d.to;
        v->source = d.source;
        v->note = d.note;
        v->line = d.line;
        ynode *val;
        if ((rc = need(c, vn, "value", "a parameter value", &val)) != AT_OK || (rc = param_value(c, p, val, v)) != AT_OK)
            return rc;
        pop(c, old);
    }
    char what[128];
    snprintf(what, sizeof what, "parameter %s", name);
    return sort_dated(c, vals, p->values, sizeof *p->values, p->n, pval_dated, what);
}

/* ---- income types */

static dated itval_dated(const void *p)
{
    const itval *v = p;
    return (dated){v->from, v->to, v->source, v->note, 0};
}

static at_code compile_itype(cc *c, const char *code, ynode *tn, itype *t)
{
    static const char *const keys[] = {"label_lv", "label_en", "values", NULL};
    static const char *const vkeys[] = {"from", "to", "counted", "source", "note", NULL};
    at_code rc;
    if ((rc = check_keys(c, tn, keys, "an income type")) != AT_OK)
        return rc;
    if (!name_ok(code, false) || strchr(code, '.'))
        return fail(c, tn->line, "income type \"%s\" must be lower case words, digits and _", code);
    t->code = code;
    ynode *n;
    if ((rc = need(c, tn, "label_lv", "an income type", &n)) != AT_OK || (rc = str(c, n, "label_lv", &t->label_lv)) != AT_OK)
        return rc;
    if ((rc = need(c, tn, "label_en", "an income type", &n)) != AT_OK || (rc = str(c, n, "label_en", &t->label_en)) != AT_OK)
        return rc;
    ynode *vals;
    if ((rc = need(c, tn, "values", "an income type", &vals)) != AT_OK || (rc = need_kind(c, vals, YN_SEQ, "values")) != AT_OK)
        return rc;
    if (vals->n == 0)
        return fail(c, vals->line, "an income type needs at least one value");
    t->n = vals->n;
    if (!(t->values = rules__palloc(c->pool, vals->n * sizeof *t->values)))
        return oom(c);
    for (size_t i = 0; i < vals->n; i++) {
        ynode *vn = vals->items[i];
        dated d;
        if ((rc = check_keys(c, vn, vkeys, "an income type value")) != AT_OK ||
            (rc = dated_fields(c, vn, "an income type value", &d)) != AT_OK)
            return rc;
        itval *v = &t->values[i];
        v->from = d.from;
        v->to = d.to;
        v->source = d.source;
        v->note = d.note;
        if ((rc = need(c, vn, "counted", "an income type value", &n)) != AT_OK ||
            (rc = boolean(c, n, "counted", &v->counted)) != AT_OK)
            return rc;
    }
    char what[128];
    snprintf(what, sizeof what, "income type %s", code);
    return sort_dated(c, vals, t->values, sizeof *t->values, t->n, itval_dated, what);
}

/* ---- benefits */

static at_code compile_group(cc *c, ynode *gn, group *g)
{
    static const char *const keys[] = {"flags_all", "flags_any", "flags_none", "age_min", "age_max",
                                       "residence_months_min", "resident", "status_any", "pupil", NULL};
    at_code rc;
    if ((rc = check_keys(c, gn, keys, "an eligibility group")) != AT_OK)
        return rc;
    g->age_min = g->age_max = g->residence_months = -1;
    ynode *n;
    if ((n = rules__ymap_get(gn, "flags_all")) && (rc = bits(c, n, "flags_all", mflag, &g->all)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(gn, "flags_any")) && (rc = bits(c, n, "flags_any", mflag, &g->any)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(gn, "flags_none")) && (rc = bits(c, n, "flags_none", mflag, &g->none)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(gn, "age_min")) && (rc = int_(c, n, "age_min", 0, 150, &g->age_min)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(gn, "age_max")) && (rc = int_(c, n, "age_max", 0, 150, &g->age_max)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(gn, "residence_months_min")) &&
        (rc = int_(c, n, "residence_months_min", 0, 1200, &g->residence_months)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(gn, "resident")) && (rc = boolean(c, n, "resident", &g->resident)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(gn, "status_any")) && (rc = bits(c, n, "status_any", status_bit, &g->status_any)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(gn, "pupil")) && (rc = boolean(c, n, "pupil", &g->pupil)) != AT_OK)
        return rc;
    if (gn->n == 0)
        return fail(c, gn->line, "an eligibility group must state at least one condition");
    return AT_OK;
}

static at_code compile_groups(cc *c, ynode *sn, const char *what, group **out, size_t *n_out)
{
    at_code rc = need_kind(c, sn, YN_SEQ, what);
    if (rc != AT_OK)
        return rc;
    if (sn->n == 0)
        return fail(c, sn->line, "%s must list at least one group", what);
    group *g = rules__palloc(c->pool, sn->n * sizeof *g);
    if (!g)
        return oom(c);
    for (size_t i = 0; i < sn->n; i++)
        if ((rc = compile_group(c, sn->items[i], &g[i])) != AT_OK)
            return rc;
    *out = g;
    *n_out = sn->n;
    return AT_OK;
}

static const char *const ons[] = {"none", "income", "children", "age", NULL};

static at_code bound(cc *c, ynode *n, const char *what, int on, int64_t *out)
{
    if (on == ON_INCOME)
        return money(c, n, what, out);
    return integer(c, n, what, 0, 1000, out);
}

static at_code compile_vspec(cc *c, ynode *vn, vspec *s, bool allow_bands)
{
    at_code rc;
    if (vn->kind == YN_SCALAR) {
        s->on = ON_NONE;
        if ((rc = money(c, vn, "value", &s->value)) != AT_OK)
            return rc;
        if (s->value < 0)
            return fail(c, vn->line, "value must not be negative");
        return AT_OK;
    }
    if (!allow_bands)
        return fail(c, vn->line, "value must be an amount here");
    static const char *const keys[] = {"on", "rows", NULL};
    static const char *const rkeys[] = {"min", "max", "value", "unknown", "flags_all", "flags_none",
                                        "application_all", "note", NULL};
    if ((rc = check_keys(c, vn, keys, "bands")) != AT_OK)
        return rc;
    ynode *n, *rows;
    if ((rc = need(c, vn, "on", "bands", &n)) != AT_OK || (rc = choice(c, n, "on", ons, &s->on)) != AT_OK)
        return rc;
    if ((rc = need(c, vn, "rows", "bands", &rows)) != AT_OK || (rc = need_kind(c, rows, YN_SEQ, "rows")) != AT_OK)
        return rc;
    if (rows->n == 0)
        return fail(c, rows->line, "bands need at least one row");
    s->n = rows->n;
    if (!(s->rows = rules__palloc(c->pool, rows->n * sizeof *s->rows)))
        return oom(c);
    for (size_t i = 0; i < rows->n; i++) {
        ynode *rn = rows->items[i];
        row *r = &s->rows[i];
        if ((rc = check_keys(c, rn, rkeys, "a band row")) != AT_OK)
            return rc;
        if ((n = rules__ymap_get(rn, "min"))) {
            if (s->on == ON_NONE)
                return fail(c, n->line, "min needs bands on income, children or age");
            if ((rc = bound(c, n, "min", s->on, &r->min)) != AT_OK)
                return rc;
            r->has_min = true;
        }
        if ((n = rules__ymap_get(rn, "max"))) {
            if (s->on == ON_NONE)
                return fail(c, n->line, "max needs bands on income, children or age");
            if ((rc = bound(c, n, "max", s->on, &r->max)) != AT_OK)
                return rc;
            r->has_max = true;
        }
        if (r->has_min && r->has_max && r->max < r->min)
            return fail(c, rn->line, "band row has max below min");
        if ((n = rules__ymap_get(rn, "unknown")) && (rc = boolean(c, n, "unknown", &r->unknown)) != AT_OK)
            return rc;
        if ((n = rules__ymap_get(rn, "value"))) {
            if (r->unknown)
                return fail(c, n->line, "a row with unknown: true has no value");
            if ((rc = money(c, n, "value", &r->value)) != AT_OK)
                return rc;
            if (r->value < 0)
                return fail(c, n->line, "value must not be negative");
        } else if (!r->unknown) {
            return fail(c, rn->line, "missing \"value\" in a band row (or unknown: true with a note)");
        }
        if ((n = rules__ymap_get(rn, "flags_all")) && (rc = bits(c, n, "flags_all", mflag, &r->all)) != AT_OK)
            return rc;
        if ((n = rules__ymap_get(rn, "flags_none")) && (rc = bits(c, n, "flags_none", mflag, &r->none)) != AT_OK)
            return rc;
        if ((n = rules__ymap_get(rn, "application_all")) &&
            (rc = bits(c, n, "application_all", aflag, &r->app_all)) != AT_OK)
            return rc;
        r->note = "";
        if ((n = rules__ymap_get(rn, "note")) && (rc = str(c, n, "note", &r->note)) != AT_OK)
            return rc;
        if (r->unknown && !r->note[0])
            return fail(c, rn->line, "a row with unknown: true needs a note saying what is missing");
    }
    return AT_OK;
}

static const char *const modes[] = {"", "fixed", "reimburse", "per_unit", "per_member", "in_kind", NULL};

static at_code compile_amount(cc *c, ynode *an, bversion *v)
{
    static const char *const keys[] = {"mode", "value", "rate", "times", "max_per_payout",
                                       "max_per_year", "unit", "annual_cap", "per_member",
                                       "members_any", "item", NULL};
    at_code rc;
    if ((rc = check_keys(c, an, keys, "an amount")) != AT_OK)
        return rc;
    ynode *n;
    if ((rc = need(c, an, "mode", "an amount", &n)) != AT_OK || (rc = choice(c, n, "mode", modes, &v->mode)) != AT_OK)
        return rc;
    v->max_per_payout = v->max_per_year = -1;
    for (int i = 0; i < 4; i++)
        v->school[i] = -1;
    v->unit_name = "";
    v->item = "";
    if ((n = rules__ymap_get(an, "value"))) {
        if (v->mode != MODE_FIXED && v->mode != MODE_REIMBURSE)
            return fail(c, n->line, "value belongs to a fixed or reimburse amount (per_unit uses rate)");
        if ((rc = compile_vspec(c, n, &v->value, true)) != AT_OK)
            return rc;
    }
    switch (v->mode) {
    case MODE_FIXED:
    case MODE_REIMBURSE:
        if (!rules__ymap_get(an, "value"))
            return fail(c, an->line, "missing \"value\" in an amount");
        break;
    case MODE_PER_UNIT:
        if ((rc = need(c, an, "rate", "a per-unit amount", &n)) != AT_OK)
            return rc;
        if (n->kind == YN_SCALAR && strcmp(n->text, "input") == 0)
            v->rate_input = true;
        else if ((rc = compile_vspec(c, n, &v->value, false)) != AT_OK)
            return rc;
        if ((rc = need(c, an, "unit", "a per-unit amount", &n)) != AT_OK || (rc = str(c, n, "unit", &v->unit_name)) != AT_OK)
            return rc;
        break;
    case MODE_PER_MEMBER: {
        static const char *const pk[] = {"preschool", "grade_1", "other", NULL};
        ynode *pm;
        if ((rc = need(c, an, "per_member", "a per-member amount", &pm)) != AT_OK ||
            (rc = check_keys(c, pm, pk, "per_member")) != AT_OK)
            return rc;
        for (int i = 0; pk[i]; i++)
            if ((n = rules__ymap_get(pm, pk[i])) && (rc = money(c, n, pk[i], &v->school[i + 1])) != AT_OK)
                return rc;
        v->unit_name = "pupil";
        break;
    }
    case MODE_IN_KIND:
        if ((rc = need(c, an, "item", "an in-kind amount", &n)) != AT_OK || (rc = str(c, n, "item", &v->item)) != AT_OK)
            return rc;
        v->unit_name = v->item;
        break;
    }
    if ((n = rules__ymap_get(an, "times"))) {
        static const char *const t[] = {"", "count", NULL};
        int x;
        if ((rc = choice(c, n, "times", t, &x)) != AT_OK)
            return rc;
        v->times_count = true;
    }
    if ((n = rules__ymap_get(an, "max_per_payout")) && (rc = integer(c, n, "max_per_payout", 1, 366, &v->max_per_payout)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(an, "max_per_year")) && (rc = integer(c, n, "max_per_year", 1, 366, &v->max_per_year)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(an, "annual_cap")) && (rc = boolean(c, n, "annual_cap", &v->annual_cap)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(an, "members_any")) &&
        (rc = compile_groups(c, n, "members_any", &v->members, &v->n_members)) != AT_OK)
        return rc;
    return AT_OK;
}

static const char *const pers[] = {"", "once", "month", "year", NULL};
static const char *const periods[] = {"", "day", "month", "calendar_year", "status", NULL};
static const char *const starts[] = {"decision", "application", NULL};
static const char *const payments[] = {"", "cash", "account", "cash_or_account", "in_kind", "provider", NULL};
static const char *const heatings[] = {"", "district", "individual", NULL};
static const char *const bases[] = {"", "per_person", "subject", "household", NULL};
static const char *const countings[] = {"", "anniversary", "calendar_years", "window", NULL};
static const char *const scopes_[] = {"", "household", "subject", "member", NULL};

static int month_day(const char *s)
{
    int m, d;
    char extra;
    if (sscanf(s, "%2d-%2d%c", &m, &d, &extra) != 2 || strlen(s) != 5 || m < 1 || m > 12 || d < 1 ||
        d > at_days_in_month(2000, m))
        return -1;
    return m * 100 + d;
}

/* expenses: {kind: {counted, norm_param, source, note}}, one entry per expense kind the
 * housing benefit knows; an expense of another kind is an input error. */
static at_code compile_expenses(cc *c, ynode *en, bversion *v)
{
    static const char *const keys[] = {"counted", "norm_param", "source", "note", NULL};
    at_code rc = need_kind(c, en, YN_MAP, "expenses");
    if (rc != AT_OK)
        return rc;
    if (en->n == 0)
        return fail(c, en->line, "expenses must list at least one kind");
    rules__ysort(en);   /* sorted by kind, for the canonical bytes and the lookup */
    if (!(v->expenses = rules__palloc(c->pool, en->n * sizeof *v->expenses)))
        return oom(c);
    for (size_t i = 0; i < en->n; i++) {
        expkind *e = &v->expenses[i];
        ynode *k = en->items[i], *n;
        e->kind = en->keys[i];
        if (!name_ok(e->kind, false) || strchr(e->kind, '.'))
            return fail(c, en->key_lines[i], "expense kind \"%s\" must be lower case words, digits and _", e->kind);
        if ((rc = check_keys(c, k, keys, "an expense kind")) != AT_OK)
            return rc;
        if ((rc = need(c, k, "counted", "an expense kind", &n)) != AT_OK ||
            (rc = boolean(c, n, "counted", &e->counted)) != AT_OK)
            return rc;
        if ((n = rules__ymap_get(k, "norm_param")) && (rc = str(c, n, "norm_param", &e->norm_param)) != AT_OK)
            return rc;
        if ((rc = need(c, k, "source", "an expense kind", &n)) != AT_OK || (rc = str(c, n, "source", &e->source)) != AT_OK)
            return rc;
        e->note = "";
        if ((n = rules__ymap_get(k, "note")) && (rc = str(c, n, "note", &e->note)) != AT_OK)
            return rc;
    }
    v->n_expenses = en->n;
    return AT_OK;
}

/* A housing benefit version: K x the household's GMI sum + eligible expenses - income. */
static at_code compile_housing(cc *c, ynode *vn, bversion *v)
{
    ynode *n;
    at_code rc;
    if ((rc = need(c, vn, "level_param", "a housing benefit version", &n)) != AT_OK ||
        (rc = str(c, n, "level_param", &v->level_param)) != AT_OK)
        return rc;
    if ((rc = need(c, vn, "coefficient_param", "a housing benefit version", &n)) != AT_OK ||
        (rc = str(c, n, "coefficient_param", &v->coefficient_param)) != AT_OK)
        return rc;
    if ((rc = need(c, vn, "expenses", "a housing benefit version", &n)) != AT_OK ||
        (rc = compile_expenses(c, n, v)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "amount")))
        return fail(c, n->line, "the housing amount is computed from the formula; no amount here");
    if (!v->status_any)
        return fail(c, vn->line, "a housing benefit needs status_any");
    v->mode = MODE_HOUSING;
    v->income_basis = BASIS_HOUSEHOLD;
    return AT_OK;
}

static at_code compile_version(cc *c, int kind, ynode *vn, bversion *v)
{
    static const char *const keys[] = {
        "from", "to", "source", "note", "status_any", "status_lookback_months", "heating",
        "application_all", "children_min", "eligible_any", "income_basis", "income_max",
        "income_max_param", "window", "amount", "limit", "bill_max_age_param", "per", "period",
        "start", "payment", "ekk", "level_param", "components", "coefficient_param", "expenses", NULL};
    at_code rc;
    if ((rc = check_keys(c, vn, keys, "a benefit version")) != AT_OK)
        return rc;
    dated d;
    if ((rc = dated_fields(c, vn, "a benefit version", &d)) != AT_OK)
        return rc;
    v->from = d.from;
    v->to = d.to;
    v->source = d.source;
    v->note = d.note;
    v->line = d.line;
    v->status_lookback_months = -1;
    v->children_min = -1;
    v->max_per_payout = v->max_per_year = -1;
    v->unit_name = v->item = v->ekk = "";
    v->limit_scope = SCOPE_HOUSEHOLD;
    v->per = RULES_PER_ONCE;
    v->period = PERIOD_DAY;
    for (int i = 0; i < 4; i++)
        v->school[i] = -1;
    ynode *n;
    if ((n = rules__ymap_get(vn, "status_any")) && (rc = bits(c, n, "status_any", status_bit, &v->status_any)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "status_lookback_months")) &&
        (rc = int_(c, n, "status_lookback_months", 0, 120, &v->status_lookback_months)) != AT_OK)
        return rc;
    if (v->status_lookback_months >= 0 && !v->status_any)
        return fail(c, vn->line, "status_lookback_months needs status_any");
    if ((n = rules__ymap_get(vn, "heating")) && (rc = choice(c, n, "heating", heatings, &v->heating)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "application_all")) && (rc = bits(c, n, "application_all", aflag, &v->app_all)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "children_min")) && (rc = int_(c, n, "children_min", 0, 50, &v->children_min)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "eligible_any")) &&
        (rc = compile_groups(c, n, "eligible_any", &v->groups, &v->n_groups)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "income_basis")) && (rc = choice(c, n, "income_basis", bases, &v->income_basis)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "income_max"))) {
        if ((rc = money(c, n, "income_max", &v->income_max)) != AT_OK)
            return rc;
        v->has_income_max = true;
    }
    if ((n = rules__ymap_get(vn, "income_max_param"))) {
        if (v->has_income_max)
            return fail(c, n->line, "give income_max or income_max_param, not both");
        if ((rc = str(c, n, "income_max_param", &v->income_max_param)) != AT_OK)
            return rc;
        v->has_income_max = true;
    }
    if ((n = rules__ymap_get(vn, "window"))) {
        static const char *const wk[] = {"from", "to", NULL};
        ynode *f, *t;
        if ((rc = check_keys(c, n, wk, "a window")) != AT_OK || (rc = need(c, n, "from", "a window", &f)) != AT_OK ||
            (rc = need(c, n, "to", "a window", &t)) != AT_OK)
            return rc;
        if (f->kind != YN_SCALAR || (v->win_from = month_day(f->text)) < 0)
            return fail(c, f->line, "window from must be MM-DD");
        if (t->kind != YN_SCALAR || (v->win_to = month_day(t->text)) < 0)
            return fail(c, t->line, "window to must be MM-DD");
        f->plain_text = t->plain_text = false;
        v->has_window = true;
    }
    if ((n = rules__ymap_get(vn, "limit"))) {
        static const char *const lk[] = {"once_per_years", "counting", "scope", "once_per_event",
                                         "requires_receipts", NULL};
        if ((rc = check_keys(c, n, lk, "a limit")) != AT_OK)
            return rc;
        ynode *x;
        if ((x = rules__ymap_get(n, "once_per_years"))) {
            if ((rc = int_(c, x, "once_per_years", 1, 100, &v->once_years)) != AT_OK)
                return rc;
            if ((rc = need(c, n, "counting", "a once-per limit", &x)) != AT_OK ||
                (rc = choice(c, x, "counting", countings, &v->once_counting)) != AT_OK)
                return rc;
        } else if (rules__ymap_get(n, "counting")) {
            return fail(c, n->line, "counting needs once_per_years");
        }
        if ((x = rules__ymap_get(n, "scope")) && (rc = choice(c, x, "scope", scopes_, &v->limit_scope)) != AT_OK)
            return rc;
        if ((x = rules__ymap_get(n, "once_per_event")) && (rc = boolean(c, x, "once_per_event", &v->once_per_event)) != AT_OK)
            return rc;
        if ((x = rules__ymap_get(n, "requires_receipts")) &&
            (rc = boolean(c, x, "requires_receipts", &v->requires_receipts)) != AT_OK)
            return rc;
    }
    if ((n = rules__ymap_get(vn, "bill_max_age_param")) && (rc = str(c, n, "bill_max_age_param", &v->bill_age_param)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "per")) && (rc = choice(c, n, "per", pers, &v->per)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "period")) && (rc = choice(c, n, "period", periods, &v->period)) != AT_OK)
        return rc;
    if ((n = rules__ymap_get(vn, "start"))) {
        if ((rc = choice(c, n, "start", starts, &v->start)) != AT_OK)
            return rc;
        v->has_start = true;
    }
    if ((n = rules__ymap_get(vn, "ekk")) && (rc = str(c, n, "ekk", &v->ekk)) != AT_OK)
        return rc;
    if (v->period == PERIOD_STATUS && !v->status_any)
        return fail(c, vn->line, "period: status needs status_any");
    if (v->once_counting == COUNT_WINDOW && !v->has_window)
        return fail(c, vn->line, "counting: window needs a window");

    if (kind == KIND_COMPOSITE) {
        ynode *cs;
        if ((rc = need(c, vn, "components", "a composite benefit version", &cs)) != AT_OK ||
            (rc = need_kind(c, cs, YN_SEQ, "components")) != AT_OK)
            return rc;
        if (cs->n == 0)
            return fail(c, cs->line, "components must not be empty");
        v->n_components = cs->n;
        if (!(v->components = rules__palloc(c->pool, cs->n * sizeof *v->components)))
            return oom(c);
        for (size_t i = 0; i < cs->n; i++)
            if ((rc = str(c, cs->items[i], "component", &v->components[i])) != AT_OK)
                return rc;
        static const char *const forbidden[] = {"amount", "payment", "level_param", NULL};
        for (int i = 0; forbidden[i]; i++)
            if ((n = rules__ymap_get(vn, forbidden[i])))
                return fail(c, n->line, "\"%s\" belongs to the components, not to a composite", forbidden[i]);
        v->mode = MODE_COMPOSITE;
        return AT_OK;
    }
    if ((n = rules__ymap_get(vn, "components")))
        return fail(c, n->line, "components belong to a composite benefit");
    if (kind != KIND_HOUSING) {
        if ((n = rules__ymap_get(vn, "coefficient_param")) || (n = rules__ymap_get(vn, "expenses")))
            return fail(c, n->line, "coefficient_param and expenses belong to a housing benefit");
    }
    int pay = 0;
    if ((rc = need(c, vn, "payment", "a benefit version", &n)) != AT_OK || (rc = choice(c, n, "payment", payments, &pay)) != AT_OK)
        return rc;
    v->payment = pay;
    if (kind == KIND_GMI) {
        if ((rc = need(c, vn, "level_param", "a GMI benefit version", &n)) != AT_OK ||
            (rc = str(c, n, "level_param", &v->level_param)) != AT_OK)
            return rc;
        if ((n = rules__ymap_get(vn, "amount")))
            return fail(c, n->line, "the GMI amount is computed from level_param; no amount here");
        if (!(v->status_any & RULES_STATUS_BIT(RULES_STATUS_NEEDY)))
            return fail(c, vn->line, "a GMI benefit needs status_any: [needy]");
        v->mode = MODE_GMI;
        if (!v->income_basis)
            v->income_basis = BASIS_HOUSEHOLD;
        return AT_OK;
    }
    if (kind == KIND_HOUSING)
        return compile_housing(c, vn, v);
    if ((n = rules__ymap_get(vn, "level_param")))
        return fail(c, n->line, "level_param belongs to a GMI or housing benefit");
    ynode *an;
    if ((rc = need(c, vn, "amount", "a benefit version", &an)) != AT_OK)
        return rc;
    size_t old = push(c, "amount", false);
    if ((rc = compile_amount(c, an, v)) != AT_OK)
        return rc;
    pop(c, old);
    bool bands_income = v->value.on == ON_INCOME;
    if ((v->has_income_max || bands_income) && !v->income_basis)
        return fail(c, vn->line, "an income limit or income bands need income_basis");
    if (v->rate_input && v->value.n)
        return fail(c, vn->line, "rate input cannot have bands");
    if (v->mode == MODE_PER_MEMBER && v->limit_scope != SCOPE_MEMBER && v->once_years)
        return fail(c, vn->line, "a per-member amount counts its once-per limit per member (scope: member)");
    return AT_OK;
}

static dated bversion_dated(const void *p)
{
    const bversion *v = p;
    return (dated){v->from, v->to, v->source, v->note, v->line};
}

static const char *const kinds[] = {"", "catalogue", "gmi", "composite", "housing", NULL};

static at_code compile_benefit(cc *c, const char *code, ynode *bn, benefit *b)
{
    static const char *const keys[] = {"kind", "label_lv", "label_en", "versions", NULL};
    at_code rc;
    if ((rc = check_keys(c, bn, keys, "a benefit")) != AT_OK)
        return rc;
    if (!name_ok(code, true))
        return fail(c, bn->line, "benefit code \"%s\" must be upper case words, digits and _", code);
    b->code = code;
    ynode *n;
    if ((rc = need(c, bn, "kind", "a benefit", &n)) != AT_OK || (rc = choice(c, n, "kind", kinds, &b->kind)) != AT_OK)
        return rc;
    if ((rc = need(c, bn, "label_lv", "a benefit", &n)) != AT_OK || (rc = str(c, n, "label_lv", &b->label_lv)) != AT_OK)
        return rc;
    if ((rc = need(c, bn, "label_en", "a benefit", &n)) != AT_OK || (rc = str(c, n, "label_en", &b->label_en)) != AT_OK)
        return rc;
    ynode *vs;
    if ((rc = need(c, bn, "versions", "a benefit", &vs)) != AT_OK || (rc = need_kind(c, vs, YN_SEQ, "versions")) != AT_OK)
        return rc;
    if (vs->n == 0)
        return fail(c, vs->line, "a benefit needs at least one version");
    b->n = vs->n;
    if (!(b->versions = rules__palloc(c->pool, vs->n * sizeof *b->versions)))
        return oom(c);
    for (size_t i = 0; i < vs->n; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        size_t old = push(c, "versions", false);
        push(c, idx, true);
        if ((rc = compile_version(c, b->kind, vs->items[i], &b->versions[i])) != AT_OK)
            return rc;
        pop(c, old);
    }
    char what[128];
    snprintf(what, sizeof what, "benefit %s", code);
    return sort_dated(c, vs, b->versions, sizeof *b->versions, b->n, bversion_dated, what);
}

/* ---- scope */

typedef at_code (*item_fn)(cc *, const char *, ynode *, void *);

static at_code section(cc *c, ynode *doc, const char *key, size_t size, void **out, size_t *n_out,
                       item_fn fn)
{
    ynode *m = rules__ymap_get(doc, key);
    *out = NULL;
    *n_out = 0;
    if (!m)
        return AT_OK;
    at_code rc = need_kind(c, m, YN_MAP, key);
    if (rc != AT_OK)
        return rc;
    rules__ysort(m);    /* items come out sorted by name, for lookup by bsearch */
    char *arr = m->n ? rules__palloc(c->pool, m->n * size) : NULL;
    if (m->n && !arr)
        return oom(c);
    for (size_t i = 0; i < m->n; i++) {
        size_t old = push(c, key, false);
        push(c, m->keys[i], false);
        if ((rc = fn(c, m->keys[i], m->items[i], arr + i * size)) != AT_OK)
            return rc;
        pop(c, old);
    }
    *out = arr;
    *n_out = m->n;
    return AT_OK;
}

static at_code param_fn(cc *c, const char *k, ynode *n, void *o) { return compile_param(c, k, n, o); }
static at_code itype_fn(cc *c, const char *k, ynode *n, void *o) { return compile_itype(c, k, n, o); }
static at_code benefit_fn(cc *c, const char *k, ynode *n, void *o) { return compile_benefit(c, k, n, o); }

at_code rules__compile_scope(rules__pool *pool, const char *file, ynode *doc, scope *sc, at_error *err)
{
    cc c = {.pool = pool, .file = file, .err = err};
    static const char *const keys[] = {"scope", "title", "in_force", "parameters", "income_types",
                                       "benefits", NULL};
    at_code rc;
    if ((rc = check_keys(&c, doc, keys, "a rule set")) != AT_OK)
        return rc;
    ynode *n;
    if ((rc = need(&c, doc, "scope", "a rule set", &n)) != AT_OK || (rc = str(&c, n, "scope", &sc->name)) != AT_OK)
        return rc;
    if (!name_ok(sc->name, false) || strchr(sc->name, '.'))
        return fail(&c, n->line, "scope \"%s\" must be \"national\" or a municipality id (lower case)", sc->name);
    if ((rc = need(&c, doc, "title", "a rule set", &n)) != AT_OK || (rc = str(&c, n, "title", &sc->title)) != AT_OK)
        return rc;
    ynode *inf;
    static const char *const ikeys[] = {"from", "to", "source", "note", NULL};
    size_t old = push(&c, "in_force", false);
    if ((rc = need(&c, doc, "in_force", "a rule set", &inf)) != AT_OK ||
        (rc = check_keys(&c, inf, ikeys, "in_force")) != AT_OK)
        return rc;
    dated d;
    if ((rc = dated_fields(&c, inf, "in_force", &d)) != AT_OK)
        return rc;
    pop(&c, old);
    sc->from = d.from;
    sc->to = d.to;
    sc->source = d.source;
    sc->note = d.note;
    if ((rc = section(&c, doc, "parameters", sizeof(param), (void **)&sc->params, &sc->n_params, param_fn)) != AT_OK)
        return rc;
    if ((rc = section(&c, doc, "income_types", sizeof(itype), (void **)&sc->itypes, &sc->n_itypes, itype_fn)) != AT_OK)
        return rc;
    if ((rc = section(&c, doc, "benefits", sizeof(benefit), (void **)&sc->benefits, &sc->n_benefits, benefit_fn)) != AT_OK)
        return rc;
    return AT_OK;
}
