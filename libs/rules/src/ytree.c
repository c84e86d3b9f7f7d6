/*
 * ytree.c -- YAML text to a small tree with line numbers, and the tree to canonical JSON.
 *
 * The rule-set compiler walks this tree rather than libyaml events so that it can check
 * keys against a schema and name the line of every error. What YAML offers beyond plain
 * data is refused: anchors and aliases (a rule must be readable where it stands), explicit
 * tags, complex keys, duplicate keys, more than one document.
 *
 * The canonical form is JSON (which libyaml reads as YAML): maps in byte order of their
 * keys, two-space indentation, strings with JSON escapes, numbers and booleans bare where
 * the compiler marked them so (ynode.plain_text). Same tree, same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "rules_int.h"

#define MAX_DEPTH 48

typedef struct yp {
    yaml_parser_t parser;
    rules__pool *pool;
    const char *file;
    at_error *err;
} yp;

static at_code yerr(yp *y, int line, const char *what)
{
    return at_error_set(y->err, AT_MALFORMED, NULL, "%s:%d: %s", y->file, line, what);
}

static at_code next(yp *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev)) {
        at_error_set(y->err, AT_MALFORMED, NULL, "%s:%d: cannot parse YAML: %s", y->file,
                     (int)y->parser.problem_mark.line + 1,
                     y->parser.problem ? y->parser.problem : "unknown problem");
        if (y->parser.context)
            at_error_detail(y->err, "The parser was %s.", y->parser.context);
        return AT_MALFORMED;
    }
    return AT_OK;
}

static bool grow(yp *y, ynode *n, size_t *cap)
{
    if (n->n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 8;
    ynode **items = rules__palloc(y->pool, nc * sizeof *items);
    if (!items)
        return false;
    if (n->n)
        memcpy(items, n->items, n->n * sizeof *items);
    n->items = items;
    if (n->kind == YN_MAP) {
        char **keys = rules__palloc(y->pool, nc * sizeof *keys);
        int *kl = rules__palloc(y->pool, nc * sizeof *kl);
        if (!keys || !kl)
            return false;
        if (n->n) {
            memcpy(keys, n->keys, n->n * sizeof *keys);
            memcpy(kl, n->key_lines, n->n * sizeof *kl);
        }
        n->keys = keys;
        n->key_lines = kl;
    }
    *cap = nc;
    return true;
}

static at_code node(yp *y, yaml_event_t *ev, int depth, ynode **out);

static at_code scalar_text(yp *y, yaml_event_t *ev, char **out)
{
    size_t len = ev->data.scalar.length;
    if (strlen((const char *)ev->data.scalar.value) != len)
        return yerr(y, (int)ev->start_mark.line + 1, "a NUL character inside a value");
    *out = rules__pstrdup(y->pool, (const char *)ev->data.scalar.value);
    return *out ? AT_OK : at_error_set(y->err, AT_INTERNAL, NULL, "out of memory");
}

static at_code node(yp *y, yaml_event_t *ev, int depth, ynode **out)
{
    int line = (int)ev->start_mark.line + 1;
    if (depth > MAX_DEPTH)
        return yerr(y, line, "nesting too deep");
    ynode *n = rules__palloc(y->pool, sizeof *n);
    if (!n)
        return at_error_set(y->err, AT_INTERNAL, NULL, "out of memory");
    n->line = line;
    at_code rc = AT_OK;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return yerr(y, line, "aliases are not allowed in a rule set");
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            return yerr(y, line, "anchors are not allowed in a rule set");
        if (ev->data.scalar.tag)
            return yerr(y, line, "explicit tags are not allowed in a rule set");
        n->kind = YN_SCALAR;
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        rc = scalar_text(y, ev, &n->text);
        break;
    case YAML_SEQUENCE_START_EVENT: {
        if (ev->data.sequence_start.anchor)
            return yerr(y, line, "anchors are not allowed in a rule set");
        if (ev->data.sequence_start.tag)
            return yerr(y, line, "explicit tags are not allowed in a rule set");
        n->kind = YN_SEQ;
        size_t cap = 0;
        for (;;) {
            yaml_event_t e;
            if ((rc = next(y, &e)) != AT_OK)
                return rc;
            if (e.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&e);
                break;
            }
            ynode *child = NULL;
            rc = node(y, &e, depth + 1, &child);
            yaml_event_delete(&e);
            if (rc != AT_OK)
                return rc;
            if (!grow(y, n, &cap))
                return at_error_set(y->err, AT_INTERNAL, NULL, "out of memory");
            n->items[n->n++] = child;
        }
        break;
    }
    case YAML_MAPPING_START_EVENT: {
        if (ev->data.mapping_start.anchor)
            return yerr(y, line, "anchors are not allowed in a rule set");
        if (ev->data.mapping_start.tag)
            return yerr(y, line, "explicit tags are not allowed in a rule set");
        n->kind = YN_MAP;
        size_t cap = 0;
        for (;;) {
            yaml_event_t k;
            if ((rc = next(y, &k)) != AT_OK)
                return rc;
            if (k.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&k);
                break;
            }
            int kline = (int)k.start_mark.line + 1;
            if (k.type != YAML_SCALAR_EVENT) {
                yaml_event_delete(&k);
                return yerr(y, kline, "a key must be a plain word");
            }
            if (k.data.scalar.anchor || k.data.scalar.tag) {
                yaml_event_delete(&k);
                return yerr(y, kline, "anchors and tags are not allowed in a rule set");
            }
            char *key = NULL;
            rc = scalar_text(y, &k, &key);
            yaml_event_delete(&k);
            if (rc != AT_OK)
                return rc;
            for (size_t i = 0; i < n->n; i++)
                if (strcmp(n->keys[i], key) == 0) {
                    at_error_set(y->err, AT_VALIDATION, key, "%s:%d: duplicate key \"%s\"",
                                 y->file, kline, key);
                    at_error_detail(y->err, "The key was first given at line %d.",
                                    n->key_lines[i]);
                    return AT_VALIDATION;
                }
            yaml_event_t v;
            if ((rc = next(y, &v)) != AT_OK)
                return rc;
            ynode *child = NULL;
            rc = node(y, &v, depth + 1, &child);
            yaml_event_delete(&v);
            if (rc != AT_OK)
                return rc;
            if (!grow(y, n, &cap))
                return at_error_set(y->err, AT_INTERNAL, NULL, "out of memory");
            n->keys[n->n] = key;
            n->key_lines[n->n] = kline;
            n->items[n->n++] = child;
        }
        break;
    }
    default:
        return yerr(y, line, "unexpected YAML event");
    }
    *out = n;
    return rc;
}

at_code rules__yparse(rules__pool *pool, const char *file, const void *bytes, size_t len,
                      ynode **out, at_error *err)
{
    *out = NULL;
    if (len > RULES_MAX_DOC) {
        at_error_set(err, AT_TOO_LARGE, NULL, "%s: rule set is too large", file);
        at_error_detail(err, "The document has %zu bytes; at most %u are accepted.", len,
                        RULES_MAX_DOC);
        return AT_TOO_LARGE;
    }
    yp y = {.pool = pool, .file = file, .err = err};
    if (!yaml_parser_initialize(&y.parser))
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    yaml_parser_set_input_string(&y.parser, bytes, len);
    yaml_parser_set_encoding(&y.parser, YAML_UTF8_ENCODING);

    at_code rc = AT_OK;
    ynode *root = NULL;
    int docs = 0;
    for (;;) {
        yaml_event_t ev;
        if ((rc = next(&y, &ev)) != AT_OK)
            break;
        yaml_event_type_t t = ev.type;
        int line = (int)ev.start_mark.line + 1;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            if (++docs > 1) {
                rc = yerr(&y, line, "more than one YAML document");
                break;
            }
            continue;
        }
        rc = node(&y, &ev, 0, &root);
        yaml_event_delete(&ev);
        if (rc != AT_OK)
            break;
    }
    yaml_parser_delete(&y.parser);
    if (rc != AT_OK)
        return rc;
    if (!root || root->kind != YN_MAP)
        return at_error_set(err, AT_VALIDATION, NULL, "%s:1: a rule set must be a mapping",
                            file);
    *out = root;
    return AT_OK;
}

ynode *rules__ymap_get(const ynode *map, const char *key)
{
    if (!map || map->kind != YN_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

/* ---- sorting */

static void sort_map(ynode *n)
{
    /* Insertion sort: maps are small, and the sort must be stable and allocation-free. */
    for (size_t i = 1; i < n->n; i++) {
        char *k = n->keys[i];
        ynode *v = n->items[i];
        int kl = n->key_lines[i];
        size_t j = i;
        while (j > 0 && strcmp(n->keys[j - 1], k) > 0) {
            n->keys[j] = n->keys[j - 1];
            n->items[j] = n->items[j - 1];
            n->key_lines[j] = n->key_lines[j - 1];
            j--;
        }
        n->keys[j] = k;
        n->items[j] = v;
        n->key_lines[j] = kl;
    }
}

void rules__ysort(ynode *n)
{
    if (!n || n->kind == YN_SCALAR)
        return;
    if (n->kind == YN_MAP)
        sort_map(n);
    for (size_t i = 0; i < n->n; i++)
        rules__ysort(n->items[i]);
}

/* ---- canonical JSON */

typedef struct out {
    char *p;
    size_t len, cap;
    bool oom;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t nc = o->cap ? o->cap : 4096;
        while (nc < o->len + n + 1)
            nc *= 2;
        char *np = realloc(o->p, nc);
        if (!np) {
            o->oom = true;
            return;
        }
        o->p = np;
        o->cap = nc;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static void indent(out *o, int d)
{
    static const char sp[] = "                                                                ";
    size_t n = (size_t)d * 2;
    while (n > 0) {
        size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        put(o, sp, k);
        n -= k;
    }
}

static void jstring(out *o, const char *s)
{
    put(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': puts_(o, "\\\""); break;
        case '\\': puts_(o, "\\\\"); break;
        case '\n': puts_(o, "\\n"); break;
        case '\t': puts_(o, "\\t"); break;
        case '\r': puts_(o, "\\r"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                puts_(o, esc);
            } else {
                put(o, (const char *)p, 1);
            }
        }
    }
    put(o, "\"", 1);
}

static void emit(out *o, const ynode *n, int d)
{
    switch (n->kind) {
    case YN_SCALAR:
        if (n->plain_text)
            puts_(o, n->text);
        else
            jstring(o, n->text);
        break;
    case YN_SEQ:
        if (n->n == 0) {
            puts_(o, "[]");
            break;
        }
        puts_(o, "[\n");
        for (size_t i = 0; i < n->n; i++) {
            indent(o, d + 1);
            emit(o, n->items[i], d + 1);
            puts_(o, i + 1 < n->n ? ",\n" : "\n");
        }
        indent(o, d);
        puts_(o, "]");
        break;
    case YN_MAP:
        if (n->n == 0) {
            puts_(o, "{}");
            break;
        }
        puts_(o, "{\n");
        for (size_t i = 0; i < n->n; i++) {
            indent(o, d + 1);
            jstring(o, n->keys[i]);
            puts_(o, ": ");
            emit(o, n->items[i], d + 1);
            puts_(o, i + 1 < n->n ? ",\n" : "\n");
        }
        indent(o, d);
        puts_(o, "}");
        break;
    }
}

at_code rules__yemit(const ynode *root, char **res, size_t *len, at_error *err)
{
    out o = {0};
    emit(&o, root, 0);
    put(&o, "\n", 1);
    if (o.oom) {
        free(o.p);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    *res = o.p;
    *len = o.len;
    return AT_OK;
}
