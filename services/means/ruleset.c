/*
 * ruleset.c -- rule sets from the directory, published into the log, and loaded back from
 * the log by version.
 *
 * One rule set per municipality: national.yaml with <scope>.yaml, loaded together by
 * rules_set_load(), so its version (the SHA-256 of the canonical bytes) changes when
 * either file changes and only then; a change of kandava.yaml leaves Daugavpils' version
 * alone.
 *
 * Invariants:
 *  - Decisions use the set loaded back from the published RuleSetPublished event, never
 *    the set parsed from the files: what a decision names is exactly what the log holds.
 *  - A version is appended at most once: the command id of its RuleSetPublished is
 *    derived from the version, so the log answers a second publication (another process,
 *    a restart, a file changed back) with the first result.
 *  - Every rules_set the cache hands out lives until ruleset_cache_free(): sets are never
 *    replaced or freed while the process runs, so a pointer taken under the mutex stays
 *    valid after it is released. Versions are few (one per rule change), so the cache of
 *    sets loaded from the log is not bounded.
 *  - One mutex guards the cache; publishing happens once, under it, on the first call.
 *  - A set published inside a caller's transaction (ruleset_cache_publish_txn) counts as
 *    published only once the log shows it committed: until then it is "staged", handed to
 *    that transaction alone, with the position its uncommitted event holds. Nothing else
 *    names that position, so a rollback leaves no trace in the cache.
 */
#include "means_core.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

/* Namespaces of the ids derived from a version. Never change them: a restart would no
 * longer recognise the versions it published. */
#define RULESET_COMMAND_NS "7d7c3a52-0f5e-4b8e-9c61-2a4f8e1b9d03"
#define RULESET_EVENT_NS "c3a9e1f4-6b2d-4f1a-8e57-9d0b4c6a2e18"

#define MAX_FILE (4u * 1024u * 1024u)
#define MAX_FILES 64

typedef struct file {
    char name[MEANS_MAX_KEY + 8];
    char *bytes;
    size_t len;
    char sha256[65];
} file;

/* A municipality's set as loaded from the files, and once published, from the log. */
typedef struct entry {
    char scope[MEANS_MAX_KEY + 1];
    const file *national, *own;
    rules_set *from_files;
    char version[65];
    at_period valid;
    rules_set *published;      /* loaded from the log; NULL until published */
    int64_t position;
    rules_set *staged;         /* loaded back inside a transaction that has not shown its
                                  commit yet (ruleset_cache_publish_txn); kept to the end */
} entry;

/* A set loaded from the log for a replay. */
typedef struct logged {
    char scope[MEANS_MAX_KEY + 1];
    char version[65];
    int64_t position;
    rules_set *set;
} logged;

struct ruleset_cache {
    pthread_mutex_t mu;
    file files[MAX_FILES];
    size_t n_files;
    entry *entries;
    size_t n_entries;
    bool published;
    logged *logged;
    size_t n_logged, cap_logged;
};

/* ---- loading the directory */

/* A scope is a tenant id: it becomes a stream id and a subject token. */
static bool scope_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MEANS_MAX_KEY)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}


static at_code read_file(const char *dir, const char *name, file *f, at_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return at_error_set(err, AT_NOT_FOUND, "rulesets", "cannot read rule file %s: %s", name, strerror(errno));
    char *buf = malloc(MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, MAX_FILE + 1, fp) : 0;
    bool failed = ferror(fp);
    fclose(fp);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (failed || n > MAX_FILE) {
        free(buf);
        return at_error_set(err, AT_VALIDATION, "rulesets", "cannot read rule file %s: %s", name,
                            failed ? "read error" : "larger than 4 MiB");
    }
    buf[n] = 0;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->bytes = buf;
    f->len = n;
    means_sha256_hex(buf, n, f->sha256);
    return AT_OK;
}

/* The period where both the municipality and national are in force, found with
 * rules_set_covers(): rules.h has no accessor for a scope's in_force. Intervals only, so
 * a walk to the first covered day and on to the last one is exact. */
static at_period valid_period(const rules_set *s, const char *scope)
{
    at_date lo, hi;
    at_date_from_ymd(1800, 1, 1, &lo);
    at_date_from_ymd(2199, 12, 31, &hi);
    at_period p = {AT_DATE_NONE, AT_DATE_NONE};
    at_date d = lo;
    while (d <= hi && !(rules_set_covers(s, scope, d) && rules_set_covers(s, "national", d)))
        d++;
    if (d > hi)
        return p;
    p.from = d;
    while (d <= hi && rules_set_covers(s, scope, d) && rules_set_covers(s, "national", d))
        d++;
    p.to = d > hi ? AT_DATE_NONE : d - 1;
    return p;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const file *)a)->name, ((const file *)b)->name);
}

static at_code load_dir(ruleset_cache *c, const char *dir, at_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        at_error_set(err, AT_NOT_FOUND, "rulesets", "cannot open the rule-set directory: %s", strerror(errno));
        at_error_detail(err, "The directory is %.300s.", dir);
        at_error_hint(err, "Set --rulesets or ATB_RULESETS to the directory of national.yaml.");
        return AT_NOT_FOUND;
    }
    at_code code = AT_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && code == AT_OK) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || strcmp(de->d_name + n - 5, ".yaml") != 0 || de->d_name[0] == '.')
            continue;
        if (n - 5 > MEANS_MAX_KEY) {
            code = at_error_set(err, AT_VALIDATION, "rulesets", "rule file name %.80s is too long", de->d_name);
        } else if (c->n_files == MAX_FILES) {
            code = at_error_set(err, AT_VALIDATION, "rulesets", "more than %d rule files", MAX_FILES);
        } else {
            code = read_file(dir, de->d_name, &c->files[c->n_files], err);
            if (code == AT_OK)
                c->n_files++;
        }
    }
    closedir(d);
    if (code != AT_OK)
        return code;
    qsort(c->files, c->n_files, sizeof c->files[0], by_name);
    const file *national = NULL;
    for (size_t i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i].name, "national.yaml") == 0)
            national = &c->files[i];
    if (!national) {
        at_error_set(err, AT_VALIDATION, "rulesets", "the rule-set directory has no national.yaml");
        at_error_detail(err, "The directory is %.300s.", dir);
        return AT_VALIDATION;
    }
    if (!(c->entries = calloc(c->n_files, sizeof *c->entries)))
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < c->n_files; i++) {
        const file *f = &c->files[i];
        if (f == national)
            continue;
        entry *e = &c->entries[c->n_entries];
        snprintf(e->scope, sizeof e->scope, "%.*s", (int)(strlen(f->name) - 5), f->name);
        if (!scope_ok(e->scope))
            return at_error_set(err, AT_VALIDATION, "rulesets", "rule file %s is not named <tenant id>.yaml",
                                f->name);
        e->national = national;
        e->own = f;
        rules_source src[2] = {{national->name, national->bytes, national->len}, {f->name, f->bytes, f->len}};
        if ((code = rules_set_load(src, 2, &e->from_files, err)) != AT_OK)
            return code;
        e->valid = valid_period(e->from_files, e->scope);
        if (e->valid.from == AT_DATE_NONE) {
            at_error_set(err, AT_VALIDATION, "rulesets", "%s does not define scope %s", f->name, e->scope);
            at_error_detail(err, "A municipality's file is named after its scope (its tenant id), and the scope "
                                 "must share some days with national.yaml's in_force.");
            return AT_VALIDATION;
        }
        snprintf(e->version, sizeof e->version, "%s", rules_set_version(e->from_files));
        c->n_entries++;
    }
    return AT_OK;
}

at_code ruleset_cache_open(const char *dir, ruleset_cache **out, at_error *err)
{
    *out = NULL;
    ruleset_cache *c = calloc(1, sizeof *c);
    if (!c)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    if (dir) {
        at_code code = load_dir(c, dir, err);
        if (code != AT_OK) {
            ruleset_cache_free(c);
            return code;
        }
    }
    *out = c;
    return AT_OK;
}

void ruleset_cache_free(ruleset_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_entries; i++) {
        rules_set_free(c->entries[i].from_files);
        rules_set_free(c->entries[i].published);
        rules_set_free(c->entries[i].staged);
    }
    for (size_t i = 0; i < c->n_logged; i++)
        rules_set_free(c->logged[i].set);
    for (size_t i = 0; i < c->n_files; i++)
        free(c->files[i].bytes);
    free(c->entries);
    free(c->logged);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

size_t ruleset_cache_count(const ruleset_cache *c)
{
    return c->n_entries;
}

const char *ruleset_cache_scope(const ruleset_cache *c, size_t i)
{
    return i < c->n_entries ? c->entries[i].scope : NULL;
}

/* ---- the log */

static at_code es_code(es_status st)
{
    return es_status_code(st);
}

/* Load a RuleSetPublished event's set, if the event is one of (scope, version): AT_NOT_FOUND
 * (no error text) when it is another event or another version of the scope. */
static at_code load_published(const char *stream_id, const char *type, const uint8_t *payload, size_t len,
                              int64_t position, const char *scope, const char *version, rules_set **out,
                              at_error *err)
{
    char stream[MEANS_MAX_KEY + 16];
    snprintf(stream, sizeof stream, "ruleset-%s", scope);
    if (strcmp(stream_id, stream) != 0 || strcmp(type, MEANS_EV_RULESET_PUBLISHED) != 0)
        return AT_NOT_FOUND;
    Atb__V1__RuleSetPublished *p = atb__v1__rule_set_published__unpack(NULL, len, payload);
    at_code code;
    if (!p) {
        code = at_error_set(err, AT_MALFORMED, "rule_sets", "the rule set at position %lld does not decode",
                            (long long)position);
    } else if (strcmp(p->version, version) != 0) {
        code = AT_NOT_FOUND;     /* another version of the scope */
    } else if ((code = rules_set_from_bytes(p->canonical.data, p->canonical.len, out, err)) != AT_OK) {
        at_error_set(err, AT_MALFORMED, "rule_sets", "the rule set %.16s... in the log does not load: %.120s",
                     version, err ? err->message : "");
        code = AT_MALFORMED;
    } else if (strcmp(rules_set_version(*out), version) != 0) {
        rules_set_free(*out);
        *out = NULL;
        code = at_error_set(err, AT_MALFORMED, "rule_sets",
                            "the rule set published as %.16s... hashes to another version", version);
    }
    if (p)
        atb__v1__rule_set_published__free_unpacked(p, NULL);
    return code;
}

static at_code not_at(const char *scope, const char *version, int64_t position, at_error *err)
{
    return at_error_set(err, AT_NOT_FOUND, "rule_sets", "rule set %.16s... of %s is not at position %lld", version,
                        scope, (long long)position);
}

/* The RuleSetPublished at `position`, if it is one of (scope, version). */
static at_code read_published(es_store *es, int64_t position, const char *scope, const char *version,
                              rules_set **out, at_error *err)
{
    *out = NULL;
    es_batch *b = NULL;
    es_status st = es_read_all(es, position - 1, 1, NULL, &b, err);
    if (st != ES_OK)
        return es_code(st);
    const es_event *ev = es_batch_get(b, 0);
    at_code code = AT_NOT_FOUND;
    if (ev && ev->position == position)
        code = load_published(ev->stream_id, ev->type, ev->payload, ev->payload_len, position, scope, version, out,
                              err);
    es_batch_free(b);
    return code == AT_NOT_FOUND ? not_at(scope, version, position, err) : code;
}

/* The same as the transaction sees the log: its own uncommitted appends included. */
static at_code read_published_txn(es_txn *t, int64_t position, const char *scope, const char *version,
                                  rules_set **out, at_error *err)
{
    *out = NULL;
    PGconn *pg = es_txn_conn(t);
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)position);
    const char *p[1] = {pos};
    /* binary results: the text columns come as their bytes, the payload as it is */
    PGresult *r = PQexecParams(pg, "SELECT stream_id, type, payload FROM atb.events WHERE position = $1", 1, NULL,
                               p, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        bool down = PQstatus(pg) != CONNECTION_OK;
        at_error_set(err, down ? AT_UNAVAILABLE : AT_INTERNAL, NULL, "could not read the published rule set");
        at_error_detail(err, "%.300s", PQresultErrorMessage(r));
        PQclear(r);
        return down ? AT_UNAVAILABLE : AT_INTERNAL;
    }
    at_code code = AT_NOT_FOUND;
    if (PQntuples(r) == 1)
        code = load_published(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), (const uint8_t *)PQgetvalue(r, 0, 2),
                              (size_t)PQgetlength(r, 0, 2), position, scope, version, out, err);
    PQclear(r);
    return code == AT_NOT_FOUND ? not_at(scope, version, position, err) : code;
}

/* Append the RuleSetPublished of e: through the store (es) or inside the transaction t.
 * The command id is derived from the version, so a version the log holds is not appended
 * again: the log answers with its first result (res->duplicate). */
static at_code append_published(entry *e, es_store *es, es_txn *t, es_append_res *res, at_error *err)
{
    Atb__V1__RuleSetPublished p = ATB__V1__RULE_SET_PUBLISHED__INIT;
    Atb__V1__RuleSetSource s0 = ATB__V1__RULE_SET_SOURCE__INIT, s1 = ATB__V1__RULE_SET_SOURCE__INIT;
    Atb__V1__RuleSetSource *sv[2] = {&s0, &s1};
    Atb__V1__Date vf = ATB__V1__DATE__INIT, vt = ATB__V1__DATE__INIT;
    char *scopes[2] = {(char *)"national", e->scope};
    size_t clen = 0;
    const void *cbytes = rules_set_bytes(e->from_files, &clen);
    p.scope = e->scope;
    p.version = e->version;
    p.canonical.data = (uint8_t *)cbytes;
    p.canonical.len = clen;
    s0.name = (char *)e->national->name;
    s0.bytes = (int64_t)e->national->len;
    s0.sha256 = (char *)e->national->sha256;
    s1.name = (char *)e->own->name;
    s1.bytes = (int64_t)e->own->len;
    s1.sha256 = (char *)e->own->sha256;
    p.sources = sv;
    p.n_sources = 2;
    int y, m, d;
    at_date_to_ymd(e->valid.from, &y, &m, &d);
    vf.year = y, vf.month = m, vf.day = d;
    p.valid_from = &vf;
    if (e->valid.to != AT_DATE_NONE) {
        at_date_to_ymd(e->valid.to, &y, &m, &d);
        vt.year = y, vt.month = m, vt.day = d;
        p.valid_to = &vt;
    }
    p.scopes = scopes;
    p.n_scopes = 2;
    size_t n = atb__v1__rule_set_published__get_packed_size(&p);
    uint8_t *buf = malloc(n + 1);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__rule_set_published__pack(&p, buf);

    char cmd[AT_UUID_LEN + 1], evid[AT_UUID_LEN + 1], stream[MEANS_MAX_KEY + 16];
    at_uuid_derive(RULESET_COMMAND_NS, e->version, cmd);
    at_uuid_derive(RULESET_EVENT_NS, e->version, evid);
    snprintf(stream, sizeof stream, "ruleset-%s", e->scope);
    es_event_in ev = {.type = MEANS_EV_RULESET_PUBLISHED, .payload = buf, .payload_len = n, .event_id = evid};
    es_append_req req = {
        .tenant = e->scope,
        .stream_id = stream,
        .expected_version = ES_VERSION_ANY,
        .command_id = cmd,
        .actor = "service:means",
        .events = &ev,
        .n_events = 1,
    };
    es_status st = t ? es_txn_append(t, &req, res, err) : es_append(es, &req, res, err);
    free(buf);
    return st == ES_OK ? AT_OK : es_code(st);
}

static at_code not_loaded(const entry *e, at_code code, at_error *err)
{
    if (code == AT_UNAVAILABLE)
        return code;
    return at_error_set(err, AT_INTERNAL, "rule_sets", "the published rule set of %s does not load back: %.100s",
                        e->scope, err ? err->message : "");
}

static at_code publish_one(entry *e, es_store *es, bool *skipped, at_error *err)
{
    *skipped = false;
    bool known = false;
    es_status st = es_tenant_check(es, e->scope, &known, err);
    if (st != ES_OK)
        return es_code(st);
    if (!known) {
        *skipped = true;
        return AT_OK;
    }
    es_append_res res;
    at_code code = append_published(e, es, NULL, &res, err);
    if (code != AT_OK)
        return code;
    rules_set *set = NULL;
    if ((code = read_published(es, res.first_position, e->scope, e->version, &set, err)) != AT_OK)
        return not_loaded(e, code, err);
    e->published = set;
    e->position = res.first_position;
    return AT_OK;
}

static void fill_info(const entry *e, const rules_set *set, int64_t position, ruleset_info *out)
{
    snprintf(out->scope, sizeof out->scope, "%s", e->scope);
    snprintf(out->version, sizeof out->version, "%s", e->version);
    out->valid = e->valid;
    out->position = position;
    out->set = set;
}

at_code ruleset_cache_publish_txn(ruleset_cache *c, es_txn *t, const char *scope, ruleset_info *out, at_error *err)
{
    pthread_mutex_lock(&c->mu);
    entry *e = NULL;
    for (size_t i = 0; i < c->n_entries && !e; i++)
        if (scope && strcmp(c->entries[i].scope, scope) == 0)
            e = &c->entries[i];
    at_code code = AT_OK;
    if (!e) {
        code = at_error_set(err, AT_NOT_FOUND, "rule_sets", "no rule set for %s", scope ? scope : "");
    } else if (e->published) {
        fill_info(e, e->published, e->position, out);
    } else {
        es_append_res res;
        rules_set *set = NULL;
        code = append_published(e, NULL, t, &res, err);
        if (code == AT_OK && (code = read_published_txn(t, res.first_position, e->scope, e->version, &set, err)) !=
                                 AT_OK)
            code = not_loaded(e, code, err);
        if (code == AT_OK && res.duplicate) {
            /* the log held it already, committed (by another process, or by an earlier
             * transaction of ours): published for everyone from now on */
            e->published = set;
            e->position = res.first_position;
            fill_info(e, set, res.first_position, out);
        } else if (code == AT_OK) {
            /* ours, uncommitted: this transaction alone may use it (see the invariants) */
            if (!e->staged)
                e->staged = set;
            else
                rules_set_free(set);   /* the same version: the same set */
            fill_info(e, e->staged, res.first_position, out);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return code;
}

at_code ruleset_cache_publish(ruleset_cache *c, es_store *es, size_t *skipped, at_error *err)
{
    if (skipped)
        *skipped = 0;
    pthread_mutex_lock(&c->mu);
    at_code code = AT_OK;
    if (!c->published) {
        size_t n_skipped = 0;
        for (size_t i = 0; i < c->n_entries && code == AT_OK; i++) {
            if (c->entries[i].published)
                continue;
            bool sk = false;
            code = publish_one(&c->entries[i], es, &sk, err);
            n_skipped += sk;
        }
        if (code == AT_OK)
            c->published = true;
        if (skipped)
            *skipped = n_skipped;
    }
    pthread_mutex_unlock(&c->mu);
    return code;
}

bool ruleset_cache_get(ruleset_cache *c, const char *scope, ruleset_info *out)
{
    bool found = false;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n_entries && !found; i++) {
        const entry *e = &c->entries[i];
        if (e->published && scope && strcmp(e->scope, scope) == 0) {
            fill_info(e, e->published, e->position, out);
            found = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

/* Look for (scope, version) on its stream: the hint first, then the whole stream. */
static at_code find_in_log(es_store *es, const char *scope, const char *version, int64_t hint, rules_set **out,
                           int64_t *position, at_error *err)
{
    if (hint > 0) {
        at_code code = read_published(es, hint, scope, version, out, err);
        if (code == AT_OK) {
            *position = hint;
            return AT_OK;
        }
        if (code != AT_NOT_FOUND)
            return code;
    }
    char stream[MEANS_MAX_KEY + 16];
    snprintf(stream, sizeof stream, "ruleset-%s", scope);
    es_batch *b = NULL;
    es_status st = es_read_stream(es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_code(st);
    at_code code = AT_NOT_FOUND;
    for (size_t i = 0; i < es_batch_count(b) && code == AT_NOT_FOUND; i++) {
        const es_event *ev = es_batch_get(b, i);
        if (strcmp(ev->type, MEANS_EV_RULESET_PUBLISHED) != 0)
            continue;
        code = read_published(es, ev->position, scope, version, out, err);
        if (code == AT_OK)
            *position = ev->position;
    }
    es_batch_free(b);
    if (code == AT_NOT_FOUND) {
        at_error_set(err, AT_NOT_FOUND, "rule_sets", "rule set %s of %s is not in the log", version, scope);
        at_error_detail(err, "Stream %s has no RuleSetPublished event of this version.", stream);
    }
    return code;
}

at_code ruleset_cache_version(ruleset_cache *c, es_store *es, const char *scope, const char *version,
                              int64_t position_hint, const rules_set **out, int64_t *position, at_error *err)
{
    *out = NULL;
    if (!scope || !scope_ok(scope) || !version || strlen(version) != 64)
        return at_error_set(err, AT_NOT_FOUND, "rule_sets", "the decision names no valid rule set");
    pthread_mutex_lock(&c->mu);
    at_code code = AT_NOT_FOUND;
    for (size_t i = 0; i < c->n_entries && code != AT_OK; i++) {
        const entry *e = &c->entries[i];
        if (e->published && strcmp(e->scope, scope) == 0 && strcmp(e->version, version) == 0) {
            *out = e->published;
            *position = e->position;
            code = AT_OK;
        }
    }
    for (size_t i = 0; i < c->n_logged && code != AT_OK; i++) {
        const logged *l = &c->logged[i];
        if (strcmp(l->scope, scope) == 0 && strcmp(l->version, version) == 0) {
            *out = l->set;
            *position = l->position;
            code = AT_OK;
        }
    }
    if (code != AT_OK) {
        rules_set *set = NULL;
        int64_t pos = 0;
        code = find_in_log(es, scope, version, position_hint, &set, &pos, err);
        if (code == AT_OK && c->n_logged == c->cap_logged) {
            size_t nc = c->cap_logged ? 2 * c->cap_logged : 8;
            logged *nl = realloc(c->logged, nc * sizeof *nl);
            if (!nl) {
                rules_set_free(set);
                code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            } else {
                c->logged = nl;
                c->cap_logged = nc;
            }
        }
        if (code == AT_OK) {
            logged *l = &c->logged[c->n_logged++];
            snprintf(l->scope, sizeof l->scope, "%s", scope);
            snprintf(l->version, sizeof l->version, "%s", version);
            l->position = pos;
            l->set = set;
            *out = set;
            *position = pos;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return code;
}
