/*
 * simulate_draft.c -- a council's draft rule set: one YAML file replacing the file of its
 * scope in the rule-set directory. Contract in simulate.h.
 *
 * Invariants:
 *  - Every municipality the draft touches is loaded at open with the strict loader, so a
 *    bad draft is refused before the log is read, with the loader's file:line message.
 *  - The draft's file name is the one the loader reports, so the council's clerk reads
 *    "draft-2026.yaml:41: ..." about the file they wrote.
 */
#include "simulate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAFT_MAX_FILE (4u * 1024u * 1024u)
#define DRAFT_MAX_SCOPES 64

typedef struct draft_entry {
    char tenant[MEANS_MAX_KEY + 1];
    rules_set *set;
} draft_entry;

struct sim_draft {
    char scope[MEANS_MAX_KEY + 1];
    draft_entry entries[DRAFT_MAX_SCOPES];
    size_t n;
};

static at_code slurp(const char *path, const char *field, char **out, size_t *len, at_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        at_error_set(err, AT_NOT_FOUND, field, "cannot read %.120s: %s", path, strerror(errno));
        return AT_NOT_FOUND;
    }
    char *buf = malloc(DRAFT_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, DRAFT_MAX_FILE + 1, f) : 0;
    bool failed = ferror(f);
    fclose(f);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (failed || n > DRAFT_MAX_FILE) {
        free(buf);
        return at_error_set(err, AT_VALIDATION, field, "cannot read %.120s: %s", path,
                            failed ? "read error" : "larger than 4 MiB");
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return AT_OK;
}

/* The value of the top-level `scope:` line (quotes and a comment allowed). The loader
 * checks the whole file afterwards; this only says which file the draft replaces. */
static bool scope_of(const char *yaml, char *out, size_t n)
{
    for (const char *p = yaml; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "scope:", 6) != 0)
            continue;
        p += 6;
        while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
            p++;
        size_t k = 0;
        while (k + 1 < n && ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= '0' && p[k] <= '9') || p[k] == '_'))
            k++;
        memcpy(out, p, k);
        out[k] = 0;
        return k > 0;
    }
    return false;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static at_code load_pair(sim_draft *d, const char *tenant, const rules_source *national, const rules_source *own,
                         at_error *err)
{
    if (d->n == DRAFT_MAX_SCOPES)
        return at_error_set(err, AT_VALIDATION, "draft", "more than %d municipalities", DRAFT_MAX_SCOPES);
    rules_source src[2] = {*national, *own};
    draft_entry *e = &d->entries[d->n];
    at_code code = rules_set_load(src, 2, &e->set, err);
    if (code != AT_OK) {
        if (err && !err->hint[0])
            at_error_hint(err, "Fix the draft and run again; nothing was read from the log.");
        return code;
    }
    snprintf(e->tenant, sizeof e->tenant, "%s", tenant);
    d->n++;
    return AT_OK;
}

at_code sim_draft_open(const char *dir, const char *path, sim_draft **out, at_error *err)
{
    *out = NULL;
    sim_draft *d = calloc(1, sizeof *d);
    if (!d)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    char *draft = NULL, *national = NULL;
    size_t draft_len = 0, national_len = 0;
    DIR *dh = NULL;
    char np[4096];
    at_code code = slurp(path, "draft", &draft, &draft_len, err);
    if (code != AT_OK)
        goto done;
    if (!scope_of(draft, d->scope, sizeof d->scope)) {
        code = at_error_set(err, AT_VALIDATION, "draft", "%.120s has no scope", base_name(path));
        at_error_detail(err, "A draft is a copy of national.yaml or of a municipality's file: its first key "
                             "`scope:` says which one it replaces.");
        goto done;
    }
    snprintf(np, sizeof np, "%s/national.yaml", dir);
    if ((code = slurp(np, "rulesets", &national, &national_len, err)) != AT_OK) {
        at_error_hint(err, "Give the directory of the current rule sets with --rulesets or ATB_RULESETS.");
        goto done;
    }
    bool national_draft = strcmp(d->scope, "national") == 0;
    rules_source ns = {national_draft ? base_name(path) : "national.yaml", national_draft ? draft : national,
                       national_draft ? draft_len : national_len};
    rules_source ds = {base_name(path), draft, draft_len};
    if (!national_draft) {
        /* a draft is a copy of a municipality's file: a scope with no file is a typing error
         * that would otherwise simulate nothing */
        char own[4096];
        snprintf(own, sizeof own, "%s/%s.yaml", dir, d->scope);
        FILE *f = fopen(own, "rb");
        if (!f) {
            code = at_error_set(err, AT_VALIDATION, "draft", "%.120s changes scope %s, which has no rule file",
                                base_name(path), d->scope);
            at_error_detail(err, "The rule-set directory %.200s has no %s.yaml.", dir, d->scope);
            at_error_hint(err, "The scope: line of a draft names the municipality (its tenant id) or national.");
            goto done;
        }
        fclose(f);
        code = load_pair(d, d->scope, &ns, &ds, err);
        goto done;
    }
    /* a national draft changes every municipality: each is loaded with it */
    if (!(dh = opendir(dir))) {
        code = at_error_set(err, AT_NOT_FOUND, "rulesets", "cannot open the rule-set directory: %s", strerror(errno));
        goto done;
    }
    struct dirent *de;
    while (code == AT_OK && (de = readdir(dh)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || n - 5 > MEANS_MAX_KEY || strcmp(de->d_name + n - 5, ".yaml") != 0 || de->d_name[0] == '.' ||
            strcmp(de->d_name, "national.yaml") == 0)
            continue;
        char fp[4096], tenant[MEANS_MAX_KEY + 1], *own = NULL;
        size_t own_len = 0;
        snprintf(fp, sizeof fp, "%s/%s", dir, de->d_name);
        snprintf(tenant, sizeof tenant, "%.*s", (int)(n - 5), de->d_name);
        if ((code = slurp(fp, "rulesets", &own, &own_len, err)) != AT_OK)
            break;
        rules_source os = {de->d_name, own, own_len};
        code = load_pair(d, tenant, &ds, &os, err);
        free(own);
    }
done:
    if (dh)
        closedir(dh);
    free(draft);
    free(national);
    if (code != AT_OK) {
        sim_draft_free(d);
        return code;
    }
    *out = d;
    return AT_OK;
}

void sim_draft_free(sim_draft *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        rules_set_free(d->entries[i].set);
    free(d);
}

const char *sim_draft_scope(const sim_draft *d)
{
    return d->scope;
}

const rules_set *sim_draft_set(const sim_draft *d, const char *tenant)
{
    for (size_t i = 0; d && tenant && i < d->n; i++)
        if (strcmp(d->entries[i].tenant, tenant) == 0)
            return d->entries[i].set;
    return NULL;
}

const char *sim_draft_version(const sim_draft *d, const char *tenant)
{
    const rules_set *s = sim_draft_set(d, tenant);
    return s ? rules_set_version(s) : "";
}
