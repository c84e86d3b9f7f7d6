/*
 * config.c -- the settings of every service, one table row per setting.
 *
 * Each row names the setting, its flag, its environment variable, its default and its
 * bounds; svc__config_load applies the defaults, then the environment, then the flags, so
 * a flag always wins over the environment whatever the order. An error names the setting,
 * the rule, the value and its source: "--workers: must be 1..256, got 0 (from ATB_WORKERS)".
 *
 * To add a setting: a field in svc_config (svc_config.h), a row in `rows` below, and the
 * list in svc.h (svc_main's comment) -- --help prints this table, so it documents itself.
 */
#include "svc_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

typedef enum row_type { T_STR, T_INT, T_LEVEL } row_type;

typedef struct row {
    const char *name;             /* setting name; err->field */
    const char *flag;
    const char *env;
    row_type type;
    const char *def;              /* default as text; NULL = none */
    int64_t min, max;             /* T_INT: range; T_STR: min 1 = required, max = bytes */
    size_t offset;                /* into svc_config */
    size_t size;                  /* T_STR: buffer size */
    bool secret;                  /* never echoed in errors */
    const char *arg;              /* for --help */
    const char *help;
    /* T_STR: extra check; fills why (a rule, "must be ...") when v is refused */
    bool (*check)(const char *v, char *why, size_t n);
} row;

static bool check_prefix(const char *v, char *why, size_t n)
{
    /* dot-separated subject tokens, as bus_connect requires */
    char tok[130];
    const char *p = v;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len >= sizeof tok)
            goto bad;
        memcpy(tok, p, len);
        tok[len] = 0;
        if (!bus_token_valid(tok))
            goto bad;
        if (!dot)
            return true;
        p = dot + 1;
    }
bad:
    snprintf(why, n, "must be subject tokens joined by '.' (no '*', '>', spaces or empty tokens)");
    return false;
}

static bool check_stream(const char *v, char *why, size_t n)
{
    if (bus_token_valid(v) && !strchr(v, '/') && !strchr(v, '\\'))
        return true;
    snprintf(why, n, "must be a stream name without '.', '*', '>', '/', '\\' or spaces");
    return false;
}

static bool check_url(const char *v, char *why, size_t n)
{
    if (strstr(v, "://") && !strpbrk(v, " \t\r\n"))
        return true;
    snprintf(why, n, "must be a URL such as nats://127.0.0.1:4222");
    return false;
}

#define STR(f) offsetof(svc_config, f), sizeof(((svc_config *)0)->f)
#define INT(f) offsetof(svc_config, f), 0

static const row rows[] = {
    {"pg", "--pg", "ATB_PG_URL", T_STR, NULL, 1, 1023, STR(pg), true, "URL",
     "PostgreSQL connection string of the service's own role (atb_<service>)", NULL},
    {"pg-admin", "--pg-admin", "ATB_PG_ADMIN_URL", T_STR, "", 0, 1023, STR(pg_admin), true, "URL",
     "owner or superuser connection string: run the migrations at start (optional)", NULL},
    {"pg-pool", "--pg-pool", "ATB_PG_POOL", T_INT, "0", 0, 256, INT(pg_pool), false, "N",
     "PostgreSQL connections for reads and transactions; 0 = workers + consumers + 2", NULL},
    {"nats", "--nats", "ATB_NATS_URL", T_STR, "nats://127.0.0.1:4222", 1, 511, STR(nats), true,
     "URL", "NATS server", check_url},
    {"nats-user", "--nats-user", "ATB_NATS_USER", T_STR, "", 0, 127, STR(nats_user), false, "U",
     "NATS user (none = no authentication)", NULL},
    {"nats-password", "--nats-password", "ATB_NATS_PASSWORD", T_STR, "", 0, 255,
     STR(nats_password), true, "P", "NATS password", NULL},
    {"prefix", "--prefix", "ATB_PREFIX", T_STR, "atb", 1, 128, STR(prefix), false, "P",
     "subject prefix", check_prefix},
    {"stream", "--stream", "ATB_STREAM", T_STR, "ATB_EVENTS", 1, 64, STR(stream), false, "S",
     "JetStream stream of the events", check_stream},
    {"stream-replicas", "--stream-replicas", "ATB_STREAM_REPLICAS", T_INT, "1", 1, 5,
     INT(stream_replicas), false, "N",
     "replicas of the stream when the relay creates it (3 on a NATS cluster)", NULL},
    {"http", "--http", "ATB_HTTP_PORT", T_INT, "0", 0, 65535, INT(http_port), false, "PORT",
     "/healthz and /metrics on 127.0.0.1:PORT; 0 = off", NULL},
    {"workers", "--workers", "ATB_WORKERS", T_INT, "8", 1, 256, INT(workers), false, "N",
     "handler threads (requests handled at once)", NULL},
    {"max-msg", "--max-msg", "ATB_MAX_MSG", T_INT, "65536", 64, 64 * 1024 * 1024, INT(max_msg),
     false, "BYTES", "largest request accepted; larger ones get TOO_LARGE", NULL},
    {"log-level", "--log-level", "ATB_LOG_LEVEL", T_LEVEL, "info", 0, 0,
     offsetof(svc_config, log_level), 0, false, "L", "debug, info, warn or error", NULL},
};
#define N_ROWS (sizeof rows / sizeof rows[0])

static const char *level_names[] = {"debug", "info", "warn", "error"};

/* Where a value came from, as the error message says it. */
static void source_text(const char *src, char *out, size_t n)
{
    snprintf(out, n, "%s", src ? src : "the default");
}

/* A number-looking value is shown bare (got 0), anything else quoted (got "abc"). */
static bool parse_int_shape(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] >= '0' && v[i] <= '9') && !(i == 0 && (v[i] == '-' || v[i] == '+')))
            return false;
    return true;
}

static at_code refuse(at_error *err, const row *r, const char *src, const char *rule,
                      const char *value)
{
    char from[64];
    source_text(src, from, sizeof from);
    if (r->secret || !value)
        at_error_set(err, AT_VALIDATION, r->name, "%s: %s (from %s)", r->flag, rule, from);
    else if (r->type == T_INT && parse_int_shape(value))
        at_error_set(err, AT_VALIDATION, r->name, "%s: %s, got %s (from %s)", r->flag, rule, value,
                     from);
    else
        at_error_set(err, AT_VALIDATION, r->name, "%s: %s, got \"%.60s%s\" (from %s)", r->flag,
                     rule, value, strlen(value) > 60 ? "..." : "", from);
    at_error_hint(err, "run with --help to see every setting");
    return AT_VALIDATION;
}

/* Parse a decimal int64: optional sign, digits only, no overflow. */
static bool parse_int(const char *v, int64_t *out)
{
    if (!*v)
        return false;
    errno = 0;
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || !end || *end != 0 || end == v)
        return false;
    for (const char *p = v; *p; p++)
        if (!(*p >= '0' && *p <= '9') && !(p == v && (*p == '-' || *p == '+')))
            return false;
    *out = x;
    return true;
}

static at_code apply(svc_config *cfg, const row *r, const char *v, const char *src, at_error *err)
{
    char *base = (char *)cfg;
    switch (r->type) {
    case T_STR: {
        size_t len = strlen(v);
        char rule[160];
        if ((int64_t)len > r->max) {
            snprintf(rule, sizeof rule, "must be at most %lld bytes, got %zu", (long long)r->max, len);
            return refuse(err, r, src, rule, NULL);
        }
        if (r->check && len > 0 && !r->check(v, rule, sizeof rule))
            return refuse(err, r, src, rule, v);
        memcpy(base + r->offset, v, len + 1);
        return AT_OK;
    }
    case T_INT: {
        int64_t x;
        char rule[96];
        if (!parse_int(v, &x))
            return refuse(err, r, src, "must be a whole number", v);
        if (x < r->min || x > r->max) {
            snprintf(rule, sizeof rule, "must be %lld..%lld", (long long)r->min, (long long)r->max);
            return refuse(err, r, src, rule, v);
        }
        memcpy(base + r->offset, &x, sizeof x);
        return AT_OK;
    }
    case T_LEVEL:
        for (int i = 0; i < 4; i++)
            if (strcmp(v, level_names[i]) == 0) {
                svc_log_level l = (svc_log_level)i;
                memcpy(base + r->offset, &l, sizeof l);
                return AT_OK;
            }
        return refuse(err, r, src, "must be debug, info, warn or error", v);
    }
    return AT_OK;
}

static const row *find_flag(const char *flag, size_t len)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (strlen(rows[i].flag) == len && strncmp(rows[i].flag, flag, len) == 0)
            return &rows[i];
    return NULL;
}

at_code svc__config_load(svc_config *cfg, int argc, char **argv, at_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    at_error_clear(err);
    /* The winner of each row: the default, then the environment, then a flag. Only the
     * winner is checked, so a flag repairs a bad variable. src NULL = the default. */
    const char *value[N_ROWS];
    const char *src[N_ROWS];
    for (size_t i = 0; i < N_ROWS; i++) {
        value[i] = rows[i].def;
        src[i] = NULL;
        const char *v = getenv(rows[i].env);
        if (v && *v) {              /* an empty variable counts as unset */
            value[i] = v;
            src[i] = rows[i].env;
        }
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cfg->help = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            at_error_set(err, AT_VALIDATION, NULL, "unexpected argument \"%.60s\"", arg);
            at_error_hint(err, "settings are given as --name VALUE or --name=VALUE; see --help");
            return AT_VALIDATION;
        }
        const char *eq = strchr(arg, '=');
        size_t flag_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const row *r = find_flag(arg, flag_len);
        if (!r) {
            at_error_set(err, AT_VALIDATION, NULL, "unknown option \"%.*s\"",
                         (int)(flag_len > 60 ? 60 : flag_len), arg);
            at_error_hint(err, "run with --help to see every setting");
            return AT_VALIDATION;
        }
        const char *v;
        if (eq) {
            v = eq + 1;
        } else if (a + 1 < argc) {
            v = argv[++a];
        } else {
            at_error_set(err, AT_VALIDATION, r->name, "%s: needs a value", r->flag);
            at_error_hint(err, "write %s %s", r->flag, r->arg);
            return AT_VALIDATION;
        }
        value[r - rows] = v;
        src[r - rows] = r->flag;
    }
    if (cfg->help)
        return AT_OK;
    for (size_t i = 0; i < N_ROWS; i++) {
        if (!value[i] || !*value[i]) {
            if (rows[i].type == T_STR && rows[i].min > 0) {
                at_error_set(err, AT_VALIDATION, rows[i].name,
                             "%s: required, not given (set %s or %s)", rows[i].flag, rows[i].flag,
                             rows[i].env);
                at_error_hint(err, "run with --help to see every setting");
                return AT_VALIDATION;
            }
            if (rows[i].type == T_STR)
                continue;         /* an optional string left empty */
        }
        if (apply(cfg, &rows[i], value[i] ? value[i] : "", src[i], err) != AT_OK)
            return AT_VALIDATION;
    }
    return AT_OK;
}

void svc__config_help(FILE *out, const char *prog)
{
    fprintf(out, "Usage: %s [--name VALUE]...\n\n"
                 "Settings come from flags, then environment variables, then defaults.\n\n",
            prog);
    for (size_t i = 0; i < N_ROWS; i++) {
        const row *r = &rows[i];
        char left[64], dflt[96];
        snprintf(left, sizeof left, "%s %s", r->flag, r->arg);
        if (r->type == T_STR && r->min > 0 && !r->def)
            snprintf(dflt, sizeof dflt, "required");
        else if (!r->def || !r->def[0])
            snprintf(dflt, sizeof dflt, "default none");
        else
            snprintf(dflt, sizeof dflt, "default %s", r->def);
        fprintf(out, "  %-24s %-18s %s (%s", left, r->env, r->help, dflt);
        if (r->type == T_INT)
            fprintf(out, ", %lld..%lld", (long long)r->min, (long long)r->max);
        fprintf(out, ")\n");
    }
    fprintf(out, "  %-24s %-18s print this and exit\n", "--help", "");
}
