/*
 * catalogue.c -- the catalogue files: one <municipality>.yaml per municipality in the
 * catalogue directory (format: docs/allocation.md, "The catalogue").
 *
 * A file holds the municipality's services (each a dated version with its eligibility,
 * weekly limits, tariff and payers), its providers with the capacity of each unit, and the
 * purchase agreements under which it buys places from another municipality's provider.
 * Every record carries its `source`; a record without one is refused, so no value enters
 * the catalogue without the document it comes from.
 *
 * Invariants:
 *  - What YAML offers beyond maps, lists and plain scalars is refused (anchors, tags).
 *  - Unknown keys are refused, naming file and line: a typo never silently drops a limit.
 *  - The catalogue is read-only once loaded; handlers share it without a lock.
 *  - Each file is published into the log once per version (its SHA-256), by a command id
 *    derived from the version, so restarts and replicas append it only once.
 */
#include "allocation.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "at_uuid.h"

#define CATALOGUE_COMMAND_NS "2b8e4f61-9c3a-4d7e-8a15-6f0c3b9d2e47"
#define MAX_FILE (1u << 20)
#define MAX_DEPTH 16

al_catalogue *al_cat;

/* ---- a small tree of the YAML document ---- */

typedef enum ykind { Y_SCALAR, Y_MAP, Y_SEQ } ykind;
typedef struct ynode {
    ykind kind;
    int line;
    char *text;                 /* scalars */
    struct ynode **kids;        /* map: key, value, key, value ...; seq: items */
    size_t n;
} ynode;

static void ynode_free(ynode *y)
{
    if (!y)
        return;
    for (size_t i = 0; i < y->n; i++)
        ynode_free(y->kids[i]);
    free(y->kids);
    free(y->text);
    free(y);
}

typedef struct yp {
    yaml_parser_t parser;
    const char *file;
    at_error *err;
} yp;

static at_code bad(const char *file, int line, at_error *err, const char *what, const char *key)
{
    at_error_set(err, AT_VALIDATION, "catalogue", "%s:%d: %s%s%s%s", file, line, what, key ? " \"" : "",
                 key ? key : "", key ? "\"" : "");
    at_error_hint(err, "See docs/allocation.md, \"The catalogue\".");
    return AT_VALIDATION;
}

static at_code ynext(yp *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev))
        return bad(y->file, (int)y->parser.problem_mark.line + 1, y->err, "cannot parse YAML:",
                   y->parser.problem ? y->parser.problem : "unknown problem");
    return AT_OK;
}

static bool ypush(ynode *p, ynode *k)
{
    ynode **n = realloc(p->kids, (p->n + 1) * sizeof *n);
    if (!n)
        return false;
    p->kids = n;
    p->kids[p->n++] = k;
    return true;
}

/* Build the node that starts with ev (already read). */
static at_code ybuild(yp *y, yaml_event_t *ev, int depth, ynode **out)
{
    int line = (int)ev->start_mark.line + 1;
    if (depth > MAX_DEPTH)
        return bad(y->file, line, y->err, "nested too deeply", NULL);
    ynode *n = calloc(1, sizeof *n);
    if (!n)
        return at_error_set(y->err, AT_INTERNAL, NULL, "out of memory");
    n->line = line;
    at_code code = AT_OK;
    if (ev->type == YAML_ALIAS_EVENT) {
        code = bad(y->file, line, y->err, "aliases are not allowed", NULL);
    } else if (ev->type == YAML_SCALAR_EVENT) {
        if (ev->data.scalar.anchor || (ev->data.scalar.tag && ev->data.scalar.plain_implicit == 0 &&
                                       ev->data.scalar.quoted_implicit == 0))
            code = bad(y->file, line, y->err, "anchors and tags are not allowed", NULL);
        n->kind = Y_SCALAR;
        n->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n->text && code == AT_OK)
            code = at_error_set(y->err, AT_INTERNAL, NULL, "out of memory");
    } else if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        n->kind = map ? Y_MAP : Y_SEQ;
        yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
        for (;;) {
            yaml_event_t e;
            if ((code = ynext(y, &e)) != AT_OK)
                break;
            if (e.type == end) {
                yaml_event_delete(&e);
                break;
            }
            ynode *k = NULL;
            code = ybuild(y, &e, depth + 1, &k);
            yaml_event_delete(&e);
            if (code != AT_OK) {
                ynode_free(k);
                break;
            }
            if (map && (n->n % 2) == 0) {
                if (k->kind != Y_SCALAR) {
                    ynode_free(k);
                    code = bad(y->file, line, y->err, "keys must be plain words", NULL);
                    break;
                }
                for (size_t i = 0; i < n->n; i += 2)
                    if (strcmp(n->kids[i]->text, k->text) == 0) {
                        code = bad(y->file, k->line, y->err, "duplicate key", k->text);
                        break;
                    }
                if (code != AT_OK) {
                    ynode_free(k);
                    break;
                }
            }
            if (!ypush(n, k)) {
                ynode_free(k);
                code = at_error_set(y->err, AT_INTERNAL, NULL, "out of memory");
                break;
            }
        }
    } else {
        code = bad(y->file, line, y->err, "unexpected YAML event", NULL);
    }
    if (code != AT_OK) {
        ynode_free(n);
        return code;
    }
    *out = n;
    return AT_OK;
}

static at_code yparse(const char *file, const char *bytes, size_t len, ynode **out, at_error *err)
{
    yp y = {.file = file, .err = err};
    if (!yaml_parser_initialize(&y.parser))
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)bytes, len);
    at_code code = AT_OK;
    ynode *root = NULL;
    yaml_event_t ev;
    int docs = 0;
    for (;;) {
        if ((code = ynext(&y, &ev)) != AT_OK)
            break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1)
            code = bad(file, (int)ev.start_mark.line + 1, err, "one document per file", NULL);
        else if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_SCALAR_EVENT ||
                 t == YAML_ALIAS_EVENT)
            code = ybuild(&y, &ev, 0, &root);
        yaml_event_delete(&ev);
        if (code != AT_OK)
            break;
    }
    yaml_parser_delete(&y.parser);
    if (code == AT_OK && (!root || root->kind != Y_MAP))
        code = bad(file, 1, err, "the file must be a map", NULL);
    if (code != AT_OK) {
        ynode_free(root);
        return code;
    }
    *out = root;
    return AT_OK;
}

/* ---- reading records ---- */

typedef struct rd {
    const char *file;
    at_error *err;
} rd;

/* Refuse keys of m that are not in `allowed` (a NULL-terminated list). */
static at_code only_keys(rd *r, const ynode *m, const char *const *allowed)
{
    if (m->kind != Y_MAP)
        return bad(r->file, m->line, r->err, "expected a map", NULL);
    for (size_t i = 0; i < m->n; i += 2) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, m->kids[i]->text) == 0;
        if (!ok)
            return bad(r->file, m->kids[i]->line, r->err, "unknown key", m->kids[i]->text);
    }
    return AT_OK;
}

static const ynode *get(const ynode *m, const char *key)
{
    for (size_t i = 0; m && m->kind == Y_MAP && i + 1 < m->n; i += 2)
        if (strcmp(m->kids[i]->text, key) == 0)
            return m->kids[i + 1];
    return NULL;
}

static at_code get_text(rd *r, const ynode *m, const char *key, bool required, char *out, size_t n)
{
    const ynode *v = get(m, key);
    if (!v) {
        if (required)
            return bad(r->file, m->line, r->err, "missing key", key);
        return AT_OK;
    }
    if (v->kind != Y_SCALAR || strlen(v->text) >= n)
        return bad(r->file, v->line, r->err, "expected a short text for", key);
    snprintf(out, n, "%s", v->text);
    return AT_OK;
}

static at_code get_code(rd *r, const ynode *m, const char *key, bool required, char *out, size_t n)
{
    at_code code = get_text(r, m, key, required, out, n);
    if (code != AT_OK)
        return code;
    for (const char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return bad(r->file, get(m, key)->line, r->err, "codes are [a-z0-9_]:", key);
    return AT_OK;
}

static at_code get_int(rd *r, const ynode *m, const char *key, bool required, int64_t lo, int64_t hi, int64_t *out)
{
    const ynode *v = get(m, key);
    if (!v) {
        if (required)
            return bad(r->file, m->line, r->err, "missing key", key);
        return AT_OK;
    }
    char *end = NULL;
    errno = 0;
    long long x = v->kind == Y_SCALAR ? strtoll(v->text, &end, 10) : 0;
    if (v->kind != Y_SCALAR || !*v->text || *end || errno || x < lo || x > hi)
        return bad(r->file, v->line, r->err, "expected a whole number in range for", key);
    *out = x;
    return AT_OK;
}

static at_code get_bool(rd *r, const ynode *m, const char *key, bool *out)
{
    const ynode *v = get(m, key);
    if (!v)
        return AT_OK;
    if (v->kind == Y_SCALAR && strcmp(v->text, "true") == 0)
        *out = true;
    else if (v->kind == Y_SCALAR && strcmp(v->text, "false") == 0)
        *out = false;
    else
        return bad(r->file, v->line, r->err, "expected true or false for", key);
    return AT_OK;
}

/* from (required) and to (optional): the record's validity. */
static at_code get_period(rd *r, const ynode *m, at_period *out)
{
    char f[16] = "", t[16] = "";
    at_code code;
    if ((code = get_text(r, m, "from", true, f, sizeof f)) != AT_OK ||
        (code = get_text(r, m, "to", false, t, sizeof t)) != AT_OK)
        return code;
    at_error e;
    if (at_date_parse(f, "from", &out->from, &e) != AT_OK)
        return bad(r->file, get(m, "from")->line, r->err, "not a date:", f);
    out->to = AT_DATE_NONE;
    if (*t && at_date_parse(t, "to", &out->to, &e) != AT_OK)
        return bad(r->file, get(m, "to")->line, r->err, "not a date:", t);
    if (!at_period_valid(*out))
        return bad(r->file, m->line, r->err, "`to` is before `from`", NULL);
    return AT_OK;
}

static at_code need_source(rd *r, const ynode *m)
{
    const ynode *s = get(m, "source");
    if (!s || s->kind != Y_SCALAR || !*s->text)
        return bad(r->file, m->line, r->err, "every record needs a source", NULL);
    return AT_OK;
}

static at_code int_list(rd *r, const ynode *m, const char *key, int *out, int max, int *n, int lo, int hi)
{
    const ynode *v = get(m, key);
    *n = 0;
    if (!v)
        return AT_OK;
    if (v->kind != Y_SEQ || (int)v->n > max)
        return bad(r->file, v->line, r->err, "expected a short list for", key);
    for (size_t i = 0; i < v->n; i++) {
        char *end = NULL;
        long x = v->kids[i]->kind == Y_SCALAR ? strtol(v->kids[i]->text, &end, 10) : -1;
        if (!end || *end || x < lo || x > hi)
            return bad(r->file, v->kids[i]->line, r->err, "a value out of range in", key);
        out[(*n)++] = (int)x;
    }
    return AT_OK;
}

static const char *const service_keys[] = {
    "code", "label_lv", "label_en", "unit", "emergency", "from", "to", "age_min", "age_max",
    "care_level_min", "disability_groups", "status", "residents_only", "target_groups", "limits",
    "tariff_cents", "funding", "ekk", "copay_percent", "offer_days", "source", "note", NULL};

static at_code read_service(rd *r, const ynode *m, al_service *s)
{
    at_code code;
    memset(s, 0, sizeof *s);
    if ((code = only_keys(r, m, service_keys)) != AT_OK || (code = need_source(r, m)) != AT_OK ||
        (code = get_code(r, m, "code", true, s->code, sizeof s->code)) != AT_OK ||
        (code = get_period(r, m, &s->valid)) != AT_OK)
        return code;
    char unit[16] = "";
    if ((code = get_text(r, m, "unit", true, unit, sizeof unit)) != AT_OK)
        return code;
    if (strcmp(unit, "hour") == 0)
        s->unit = AL_UNIT_HOUR;
    else if (strcmp(unit, "day") == 0)
        s->unit = AL_UNIT_DAY;
    else if (strcmp(unit, "place") == 0)
        s->unit = AL_UNIT_PLACE;
    else if (strcmp(unit, "trip") == 0)
        s->unit = AL_UNIT_TRIP;
    else
        return bad(r->file, get(m, "unit")->line, r->err, "unit is hour, day, place or trip, not", unit);
    int64_t v = 0;
    s->age_max = -1;
    if ((code = get_bool(r, m, "emergency", &s->emergency)) != AT_OK ||
        (code = get_bool(r, m, "residents_only", &s->residents_only)) != AT_OK)
        return code;
    if ((code = get_int(r, m, "age_min", false, 0, 130, &v)) != AT_OK)
        return code;
    s->age_min = (int)v;
    v = -1;
    if ((code = get_int(r, m, "age_max", false, 0, 130, &v)) != AT_OK)
        return code;
    s->age_max = (int)v;
    v = 0;
    if ((code = get_int(r, m, "care_level_min", false, 0, 4, &v)) != AT_OK)
        return code;
    s->care_level_min = (int)v;
    if ((code = int_list(r, m, "disability_groups", s->disability_groups, 3, &s->n_groups, 1, 3)) != AT_OK)
        return code;
    char status[16] = "any";
    if ((code = get_text(r, m, "status", false, status, sizeof status)) != AT_OK)
        return code;
    if (strcmp(status, "any") == 0)
        s->any_status = true;
    else if (strcmp(status, "needy") == 0)
        s->needy_only = true;
    else if (strcmp(status, "low_income") == 0)
        s->low_income_ok = true;
    else
        return bad(r->file, get(m, "status")->line, r->err, "status is any, needy or low_income, not", status);
    const ynode *tg = get(m, "target_groups");
    if (tg) {
        if (tg->kind != Y_SEQ || tg->n > AL_MAX_LIST)
            return bad(r->file, tg->line, r->err, "expected a short list for", "target_groups");
        for (size_t i = 0; i < tg->n; i++) {
            if (tg->kids[i]->kind != Y_SCALAR || strlen(tg->kids[i]->text) > AL_CODE_MAX)
                return bad(r->file, tg->kids[i]->line, r->err, "a target group is a code", NULL);
            snprintf(s->targets[s->n_targets++], AL_CODE_MAX + 1, "%s", tg->kids[i]->text);
        }
    }
    const ynode *lim = get(m, "limits");
    if (lim) {
        if (lim->kind != Y_SEQ || lim->n > 4)
            return bad(r->file, lim->line, r->err, "limits: at most 4", NULL);
        static const char *const lk[] = {"age_min", "age_max", "per_week", "source", NULL};
        for (size_t i = 0; i < lim->n; i++) {
            const ynode *l = lim->kids[i];
            al_limit *x = &s->limits[s->n_limits++];
            int64_t a = 0, b = -1, w = 0;
            if ((code = only_keys(r, l, lk)) != AT_OK || (code = need_source(r, l)) != AT_OK ||
                (code = get_int(r, l, "age_min", false, 0, 130, &a)) != AT_OK ||
                (code = get_int(r, l, "age_max", false, 0, 130, &b)) != AT_OK ||
                (code = get_int(r, l, "per_week", true, 1, 168, &w)) != AT_OK)
                return code;
            x->age_min = (int)a, x->age_max = (int)b, x->per_week = (int)w;
        }
    }
    if ((code = get_int(r, m, "tariff_cents", true, 0, 100000000, &s->tariff_cents)) != AT_OK ||
        (code = get_code(r, m, "funding", true, s->funding, sizeof s->funding)) != AT_OK ||
        (code = get_text(r, m, "ekk", false, s->ekk, sizeof s->ekk)) != AT_OK)
        return code;
    if (strcmp(s->funding, "municipality") != 0 && strcmp(s->funding, "state") != 0 &&
        strcmp(s->funding, "eu_fund") != 0)
        return bad(r->file, get(m, "funding")->line, r->err, "funding is municipality, state or eu_fund, not",
                   s->funding);
    v = -1;   /* not given: the file's offers.days */
    if ((code = get_int(r, m, "offer_days", false, 0, 365, &v)) != AT_OK)
        return code;
    s->offer_days = (int)v;
    const ynode *cp = get(m, "copay_percent");
    if (cp) {
        static const char *const ck[] = {"needy", "low_income", "other", NULL};
        int64_t a = 0, b = 0, c = 0;
        if ((code = only_keys(r, cp, ck)) != AT_OK || (code = get_int(r, cp, "needy", true, 0, 0, &a)) != AT_OK ||
            (code = get_int(r, cp, "low_income", true, 0, 100, &b)) != AT_OK ||
            (code = get_int(r, cp, "other", true, 0, 100, &c)) != AT_OK)
            return code;
        s->copay_needy = (int)a, s->copay_low_income = (int)b, s->copay_other = (int)c;
    }
    return AT_OK;
}

static void *grow(void *p, size_t n, size_t size)
{
    return realloc(p, (n + 1) * size);
}

at_code al_catalogue_parse(al_catalogue *c, const char *name, const char *bytes, size_t len, at_error *err)
{
    ynode *root = NULL;
    at_code code = yparse(name, bytes, len, &root, err);
    if (code != AT_OK)
        return code;
    rd r = {.file = name, .err = err};
    static const char *const top[] = {"municipality", "title", "source", "note", "offers", "services", "providers",
                                      "agreements", NULL};
    char muni[AL_CODE_MAX + 1] = "";
    if ((code = only_keys(&r, root, top)) != AT_OK || (code = need_source(&r, root)) != AT_OK ||
        (code = get_code(&r, root, "municipality", true, muni, sizeof muni)) != AT_OK)
        goto out;
    /* offers: {days, source, note}: the days a person has to answer an offer, for every
     * service of the file that gives no offer_days of its own; absent = offers never expire. */
    int64_t offer_days = 0;
    const ynode *of = get(root, "offers");
    if (of) {
        static const char *const ok[] = {"days", "source", "note", NULL};
        if ((code = only_keys(&r, of, ok)) != AT_OK || (code = need_source(&r, of)) != AT_OK ||
            (code = get_int(&r, of, "days", true, 1, 365, &offer_days)) != AT_OK)
            goto out;
    }
    char expect[AL_CODE_MAX + 8];
    snprintf(expect, sizeof expect, "%s.yaml", muni);
    if (strcmp(expect, name) != 0) {
        code = bad(name, get(root, "municipality")->line, err, "the file of a municipality is named <code>.yaml:",
                   muni);
        goto out;
    }
    const ynode *sv = get(root, "services");
    for (size_t i = 0; sv && i < sv->n; i++) {
        if (sv->kind != Y_SEQ) {
            code = bad(name, sv->line, err, "services is a list", NULL);
            goto out;
        }
        al_service s;
        if ((code = read_service(&r, sv->kids[i], &s)) != AT_OK)
            goto out;
        if (s.offer_days < 0)
            s.offer_days = (int)offer_days;
        al_service *ns = grow(c->services, c->n_services, sizeof *ns);
        char(*no)[AL_CODE_MAX + 1] = ns ? grow(c->service_owner, c->n_services, sizeof *no) : NULL;
        if (ns)
            c->services = ns;
        if (!ns || !no) {
            code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            goto out;
        }
        c->service_owner = no;
        snprintf(c->service_owner[c->n_services], AL_CODE_MAX + 1, "%s", muni);
        c->services[c->n_services++] = s;
    }
    const ynode *pv = get(root, "providers");
    static const char *const pk[] = {"code", "name", "kind", "units", "source", "note", NULL};
    static const char *const uk[] = {"service", "capacity", "from", "to", "source", "note", NULL};
    for (size_t i = 0; pv && i < pv->n; i++) {
        const ynode *p = pv->kids[i];
        char code_[AL_CODE_MAX + 1], kind[16], dummy[200];
        if ((code = only_keys(&r, p, pk)) != AT_OK || (code = need_source(&r, p)) != AT_OK ||
            (code = get_code(&r, p, "code", true, code_, sizeof code_)) != AT_OK ||
            (code = get_text(&r, p, "name", true, dummy, sizeof dummy)) != AT_OK ||
            (code = get_code(&r, p, "kind", true, kind, sizeof kind)) != AT_OK)
            goto out;
        const ynode *us = get(p, "units");
        for (size_t k = 0; us && k < us->n; k++) {
            const ynode *u = us->kids[k];
            al_unit_def d;
            memset(&d, 0, sizeof d);
            int64_t cap = 0;
            if ((code = only_keys(&r, u, uk)) != AT_OK || (code = need_source(&r, u)) != AT_OK ||
                (code = get_code(&r, u, "service", true, d.service, sizeof d.service)) != AT_OK ||
                (code = get_int(&r, u, "capacity", true, 1, 1000000, &cap)) != AT_OK ||
                (code = get_period(&r, u, &d.valid)) != AT_OK)
                goto out;
            snprintf(d.owner, sizeof d.owner, "%s", muni);
            snprintf(d.provider, sizeof d.provider, "%s", code_);
            snprintf(d.kind, sizeof d.kind, "%s", kind);
            d.capacity = (int)cap;
            al_unit_def *nu = grow(c->units, c->n_units, sizeof *nu);
            if (!nu) {
                code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
                goto out;
            }
            c->units = nu;
            c->units[c->n_units++] = d;
        }
    }
    const ynode *av = get(root, "agreements");
    static const char *const ak[] = {"id", "seller", "provider", "service", "places", "price_cents", "ekk",
                                     "from", "to", "source", "note", NULL};
    for (size_t i = 0; av && i < av->n; i++) {
        const ynode *a = av->kids[i];
        al_agreement g;
        memset(&g, 0, sizeof g);
        int64_t places = 0;
        if ((code = only_keys(&r, a, ak)) != AT_OK || (code = need_source(&r, a)) != AT_OK ||
            (code = get_code(&r, a, "id", true, g.id, sizeof g.id)) != AT_OK ||
            (code = get_code(&r, a, "seller", true, g.seller, sizeof g.seller)) != AT_OK ||
            (code = get_code(&r, a, "provider", true, g.provider, sizeof g.provider)) != AT_OK ||
            (code = get_code(&r, a, "service", true, g.service, sizeof g.service)) != AT_OK ||
            (code = get_int(&r, a, "places", true, 1, 100000, &places)) != AT_OK ||
            (code = get_int(&r, a, "price_cents", true, 0, 100000000, &g.price_cents)) != AT_OK ||
            (code = get_text(&r, a, "ekk", false, g.ekk, sizeof g.ekk)) != AT_OK ||
            (code = get_period(&r, a, &g.valid)) != AT_OK)
            goto out;
        snprintf(g.buyer, sizeof g.buyer, "%s", muni);
        g.places = (int)places;
        al_agreement *na = grow(c->agreements, c->n_agreements, sizeof *na);
        if (!na) {
            code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            goto out;
        }
        c->agreements = na;
        c->agreements[c->n_agreements++] = g;
    }
out:
    ynode_free(root);
    return code;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    out[0] = 0;
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

at_code al_catalogue_load(const char *dir, al_catalogue **out, at_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        at_error_set(err, AT_NOT_FOUND, "catalogue", "cannot open the catalogue directory: %s", strerror(errno));
        at_error_detail(err, "The directory was \"%.200s\".", dir);
        return AT_NOT_FOUND;
    }
    char *names[256];
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 256) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0 && l < AL_CODE_MAX + 6)
            names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof names[0], by_name);
    al_catalogue *c = calloc(1, sizeof *c);
    at_code code = c ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (c)
        c->files = calloc(nn ? nn : 1, sizeof *c->files);
    for (size_t i = 0; code == AT_OK && i < nn; i++) {
        if (!names[i] || !c->files) {
            code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            break;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            code = at_error_set(err, AT_NOT_FOUND, "catalogue", "cannot read %s: %s", names[i], strerror(errno));
            break;
        }
        char *buf = malloc(MAX_FILE + 1);
        size_t n = buf ? fread(buf, 1, MAX_FILE + 1, fp) : 0;
        fclose(fp);
        if (!buf || n > MAX_FILE) {
            free(buf);
            code = at_error_set(err, AT_VALIDATION, "catalogue", "cannot read %s: larger than 1 MiB", names[i]);
            break;
        }
        buf[n] = 0;
        al_file *f = &c->files[c->n_files++];
        f->bytes = buf;
        f->len = n;
        snprintf(f->name, sizeof f->name, "%s", names[i]);
        snprintf(f->municipality, sizeof f->municipality, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
        sha256_hex(buf, n, f->version);
        code = al_catalogue_parse(c, f->name, buf, n, err);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    /* An agreement names a unit that must exist in the seller's file. */
    for (size_t i = 0; code == AT_OK && i < c->n_agreements; i++) {
        const al_agreement *g = &c->agreements[i];
        bool found = false;
        for (size_t k = 0; k < c->n_units && !found; k++)
            found = strcmp(c->units[k].owner, g->seller) == 0 && strcmp(c->units[k].provider, g->provider) == 0 &&
                    strcmp(c->units[k].service, g->service) == 0;
        if (!found) {
            at_error_set(err, AT_VALIDATION, "catalogue", "%s.yaml: agreement %s names no unit of %s", g->buyer,
                         g->id, g->seller);
            at_error_detail(err, "%s.yaml has no provider %s with a unit for %s.", g->seller, g->provider,
                            g->service);
            code = AT_VALIDATION;
        }
    }
    if (code != AT_OK) {
        al_catalogue_free(c);
        return code;
    }
    *out = c;
    return AT_OK;
}

void al_catalogue_free(al_catalogue *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_files; i++)
        free(c->files[i].bytes);
    free(c->files);
    free(c->services);
    free(c->service_owner);
    free(c->units);
    free(c->agreements);
    free(c);
}

const al_service *al_service_find(const char *municipality, const char *code, at_date on)
{
    for (size_t i = 0; al_cat && i < al_cat->n_services; i++)
        if (strcmp(al_cat->service_owner[i], municipality) == 0 && strcmp(al_cat->services[i].code, code) == 0 &&
            at_period_contains(al_cat->services[i].valid, on))
            return &al_cat->services[i];
    return NULL;
}

const al_unit_def *al_unit_find(const char *owner, const char *provider, const char *service, at_date on)
{
    for (size_t i = 0; al_cat && i < al_cat->n_units; i++) {
        const al_unit_def *u = &al_cat->units[i];
        if (strcmp(u->owner, owner) == 0 && strcmp(u->provider, provider) == 0 && strcmp(u->service, service) == 0 &&
            at_period_contains(u->valid, on))
            return u;
    }
    return NULL;
}

const al_agreement *al_agreement_find(const char *buyer, const char *seller, const char *provider,
                                      const char *service, at_date on)
{
    for (size_t i = 0; al_cat && i < al_cat->n_agreements; i++) {
        const al_agreement *g = &al_cat->agreements[i];
        if (strcmp(g->buyer, buyer) == 0 && strcmp(g->seller, seller) == 0 && strcmp(g->provider, provider) == 0 &&
            strcmp(g->service, service) == 0 && at_period_contains(g->valid, on))
            return g;
    }
    return NULL;
}

const char *al_unit_name(al_unit u)
{
    switch (u) {
    case AL_UNIT_HOUR: return "hour";
    case AL_UNIT_DAY: return "day";
    case AL_UNIT_PLACE: return "place";
    case AL_UNIT_TRIP: return "trip";
    }
    return "?";
}

const char *al_catalogue_version(const char *municipality)
{
    for (size_t i = 0; al_cat && i < al_cat->n_files; i++)
        if (strcmp(al_cat->files[i].municipality, municipality) == 0)
            return al_cat->files[i].version;
    return "";
}

/* ---- publishing ---- */

at_code al_catalogue_publish(es_store *es, at_error *err)
{
    for (size_t i = 0; al_cat && i < al_cat->n_files; i++) {
        const al_file *f = &al_cat->files[i];
        bool known = false;
        es_status st = es_tenant_check(es, f->municipality, &known, err);
        if (st != ES_OK)
            return es_status_code(st);
        if (!known) {
            at_error_set(err, AT_VALIDATION, "catalogue", "%s: no tenant %s", f->name, f->municipality);
            at_error_detail(err, "A catalogue file is named after a registered municipality (atb.tenants).");
            return AT_VALIDATION;
        }
        Atb__V1__CataloguePublished ev = ATB__V1__CATALOGUE_PUBLISHED__INIT;
        ev.municipality = (char *)f->municipality;
        ev.version = (char *)f->version;
        ev.file = (char *)f->name;
        ev.document.data = (uint8_t *)f->bytes;
        ev.document.len = f->len;
        size_t n = protobuf_c_message_get_packed_size(&ev.base);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        protobuf_c_message_pack(&ev.base, buf);
        char cmd[37], stream[80];
        at_uuid_derive(CATALOGUE_COMMAND_NS, f->version, cmd);
        snprintf(stream, sizeof stream, "catalogue-%s", f->municipality);
        es_event_in in = {.type = "CataloguePublished", .payload = buf, .payload_len = n};
        es_append_req ar = {.tenant = f->municipality, .stream_id = stream, .expected_version = ES_VERSION_ANY,
                            .command_id = cmd, .actor = "service:allocation", .events = &in, .n_events = 1};
        st = es_append(es, &ar, NULL, err);
        free(buf);
        if (st != ES_OK)
            return es_status_code(st);
    }
    /* The units table holds the rows allocations lock; capacity itself is read from the
     * catalogue at each allocation (it is dated). */
    es_txn *t = NULL;
    es_status st = es_txn_begin(es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    for (size_t i = 0; al_cat && i < al_cat->n_units; i++) {
        const al_unit_def *u = &al_cat->units[i];
        const char *p[3] = {u->owner, u->provider, u->service};
        PGresult *r = PQexecParams(es_txn_conn(t),
                                   "INSERT INTO allocation.units (owner, provider, service) VALUES ($1, $2, $3) "
                                   "ON CONFLICT DO NOTHING",
                                   3, NULL, p, NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            at_error_set(err, AT_UNAVAILABLE, NULL, "could not record the units: %.150s", PQresultErrorMessage(r));
        PQclear(r);
        if (!ok) {
            es_txn_rollback(t);
            return AT_UNAVAILABLE;
        }
    }
    st = es_txn_commit(t, err);
    return st == ES_OK ? AT_OK : es_status_code(st);
}
