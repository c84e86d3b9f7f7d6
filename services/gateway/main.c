/*
 * main.c -- atbalsts-gateway: configuration, then `serve` (the default) or `adduser`.
 *
 * adduser reads the password from ATB_GATEWAY_PASSWORD or, when that is not set, from the
 * first line of stdin: never from the command line, where ps and shell histories show it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "svc.h"

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: atbalsts-gateway [serve]\n"
            "       atbalsts-gateway adduser LOGIN --grant TENANT:ROLE [--grant ...] [--name \"Full Name\"]\n\n"
            "serve: the caseworker's web application and its JSON API (docs/gateway.md).\n"
            "adduser: create a user; the password comes from ATB_GATEWAY_PASSWORD or the first line\n"
            "  of stdin (at least 12 characters). Roles: social_worker, assistance_officer,\n"
            "  head_of_service, accountant, auditor, administrator.\n\n"
            "environment:\n"
            "  ATB_PG_URL              PostgreSQL as role atb_gateway\n"
            "  ATB_PG_ADMIN_URL        owner/superuser: applies the gateway's migrations (optional)\n"
            "  ATB_NATS_URL            default nats://127.0.0.1:4222 (ATB_NATS_USER, ATB_NATS_PASSWORD)\n"
            "  ATB_PREFIX              subject prefix, default atb\n"
            "  ATB_GATEWAY_LISTEN      address, default 127.0.0.1\n"
            "  ATB_GATEWAY_PORT        default ATB_HTTP_PORT, else 8080; 0 = any free port\n"
            "  ATB_GATEWAY_PORT_FILE   write the bound port here\n"
            "  ATB_GATEWAY_WEB         the pages' directory (default: the source tree's web/)\n"
            "  ATB_WORKERS             worker threads and PostgreSQL connections, default 4\n"
            "  ATB_GATEWAY_SESSION_MINUTES  session lifetime, default 480\n"
            "  ATB_GATEWAY_IDLE_MINUTES     idle timeout, default 30\n"
            "  ATB_GATEWAY_COOKIE_SECURE    1: mark the cookie Secure (serve behind TLS)\n"
            "  ATB_GATEWAY_SESSION_CACHE_SECONDS  trust a session read from PostgreSQL this long\n"
            "                          (0..60, default 5; 0 = ask PostgreSQL on every request)\n"
            "  ATB_GATEWAY_SESSION_CACHE_SLOTS    sessions remembered at most, default 1024\n"
            "  ATB_LOG_LEVEL           debug|info|warn|error\n");
}

static gw_config config(void)
{
    gw_config c = {
        .pg_url = env_or("ATB_PG_URL", "postgresql://atb_gateway@127.0.0.1:5432/atbalsts"),
        .pg_admin_url = env_or("ATB_PG_ADMIN_URL", NULL),
        .nats_url = env_or("ATB_NATS_URL", "nats://127.0.0.1:4222"),
        .nats_user = env_or("ATB_NATS_USER", NULL),
        .nats_password = env_or("ATB_NATS_PASSWORD", NULL),
        .prefix = env_or("ATB_PREFIX", "atb"),
        .listen = env_or("ATB_GATEWAY_LISTEN", "127.0.0.1"),
        /* scripts/platform.sh gives every service ATB_HTTP_PORT for /healthz: the gateway
         * serves /healthz with everything else on its one port */
        .port = env_int("ATB_GATEWAY_PORT", env_int("ATB_HTTP_PORT", 8080)),
        .port_file = env_or("ATB_GATEWAY_PORT_FILE", NULL),
        .web_dir = env_or("ATB_GATEWAY_WEB", ATB_GATEWAY_WEB_DEFAULT),
        .workers = env_int("ATB_WORKERS", 4),
        .session_minutes = env_int("ATB_GATEWAY_SESSION_MINUTES", 480),
        .idle_minutes = env_int("ATB_GATEWAY_IDLE_MINUTES", 30),
        .cookie_secure = env_int("ATB_GATEWAY_COOKIE_SECURE", 0) == 1,
        .call_timeout_ms = 10000,
        .session_cache_seconds = env_int("ATB_GATEWAY_SESSION_CACHE_SECONDS", 5),
        .session_cache_slots = env_int("ATB_GATEWAY_SESSION_CACHE_SLOTS", 1024),
    };
    /* the idle clock in PostgreSQL moves only when a session is read there (auth.c): a
     * minute at most keeps it true */
    if (c.session_cache_seconds < 0 || c.session_cache_seconds > 60)
        c.session_cache_seconds = 5;
    if (c.session_cache_slots < 1 || c.session_cache_slots > 1000000)
        c.session_cache_slots = 1024;
    if (c.workers < 1 || c.workers > 64)
        c.workers = 4;
    return c;
}

static void log_error(const char *what, const at_error *err)
{
    svc_log_kv(SVC_LOG_ERROR, what, "error", err->message, "detail", err->detail, "hint", err->hint, NULL);
}

static int adduser(const gw_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"grant", required_argument, 0, 'g'}, {"name", required_argument, 0, 'n'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    gw_grant grants[GW_MAX_GRANTS];
    int n = 0, o;
    const char *name = "";
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'g') {
            const char *colon = strchr(optarg, ':');
            unsigned role = colon ? gw_role_bit(colon + 1) : 0;
            if (!colon || !role || colon == optarg || (size_t)(colon - optarg) >= sizeof grants[0].tenant) {
                fprintf(stderr, "atbalsts-gateway: --grant \"%s\": expected TENANT:ROLE with a role of "
                                "social_worker, assistance_officer, head_of_service, accountant, auditor, "
                                "administrator\n", optarg);
                return 1;
            }
            if (n >= GW_MAX_GRANTS) {
                fprintf(stderr, "atbalsts-gateway: at most %d grants\n", GW_MAX_GRANTS);
                return 1;
            }
            snprintf(grants[n].tenant, sizeof grants[n].tenant, "%.*s", (int)(colon - optarg), optarg);
            grants[n++].role = role;
        } else if (o == 'n') {
            name = optarg;
        } else {
            usage(o == 'h' ? stdout : stderr);
            return o == 'h' ? 0 : 1;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 1;
    }
    const char *login = argv[optind];
    char password[512];
    const char *env = getenv("ATB_GATEWAY_PASSWORD");
    if (env) {
        snprintf(password, sizeof password, "%s", env);
    } else {
        if (isatty(STDIN_FILENO))
            fprintf(stderr, "password for %s: ", login);
        if (!fgets(password, sizeof password, stdin)) {
            fprintf(stderr, "atbalsts-gateway: no password on stdin\n");
            return 1;
        }
        password[strcspn(password, "\r\n")] = 0;
    }
    at_error err;
    at_error_clear(&err);
    if (cfg->pg_admin_url && gw_db_migrate(cfg->pg_admin_url, &err) != AT_OK) {
        log_error("cannot apply the gateway's migrations", &err);
        return 1;
    }
    PGconn *c = PQconnectdb(cfg->pg_url);
    int rc = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "ERROR:  could not connect to PostgreSQL\nDETAIL:  %s", PQerrorMessage(c));
        rc = 1;
    } else if (gw_user_add(c, login, name, password, grants, n, &err) != AT_OK) {
        fprintf(stderr, "ERROR:  %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        if (err.hint[0])
            fprintf(stderr, "HINT:  %s\n", err.hint);
        rc = 1;
    } else {
        printf("user %s created with %d grant(s)\n", login, n);
    }
    memset(password, 0, sizeof password);
    PQfinish(c);
    return rc;
}

/* Static: worker threads may still use it while the process exits. */
static gw the_gateway;

static int serve(const gw_config *cfg)
{
    gw *g = &the_gateway;
    g->cfg = *cfg;
    /* libuv reads it when the first work is queued: one worker per PostgreSQL connection */
    char n[16];
    snprintf(n, sizeof n, "%d", cfg->workers);
    setenv("UV_THREADPOOL_SIZE", n, 1);
    at_error err;
    at_error_clear(&err);
    if (cfg->pg_admin_url && gw_db_migrate(cfg->pg_admin_url, &err) != AT_OK) {
        log_error("cannot apply the gateway's migrations", &err);
        return 1;
    }
    g->sessions = gw_scache_new((size_t)cfg->session_cache_slots, cfg->session_cache_seconds);
    if (cfg->session_cache_seconds > 0 && !g->sessions) {
        svc_log_kv(SVC_LOG_ERROR, "out of memory for the session cache", NULL);
        return 1;
    }
    if (gw_db_open(&g->db, cfg->pg_url, cfg->workers, &err) != AT_OK) {
        log_error("cannot connect to PostgreSQL", &err);
        return 1;
    }
    bus_config bc = {.url = cfg->nats_url, .name = "atbalsts-gateway", .prefix = cfg->prefix,
                     .user = cfg->nats_user, .password = cfg->nats_password};
    if (bus_connect(&g->bus, &bc, &err) != AT_OK) {
        log_error("cannot connect to NATS", &err);
        return 1;
    }
    return gw_http_run(g);
}

int main(int argc, char **argv)
{
    svc_log_set_service("gateway");
    const char *lvl = env_or("ATB_LOG_LEVEL", "info");
    svc_log_set_level(strcmp(lvl, "debug") == 0 ? SVC_LOG_DEBUG : strcmp(lvl, "warn") == 0 ? SVC_LOG_WARN
                      : strcmp(lvl, "error") == 0 ? SVC_LOG_ERROR : SVC_LOG_INFO);
    gw_config cfg = config();
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "adduser") == 0)
        return adduser(&cfg, argc - 1, argv + 1);
    if (argc == 1 || (argc == 2 && strcmp(argv[1], "serve") == 0))
        return serve(&cfg);
    usage(stderr);
    return 1;
}
