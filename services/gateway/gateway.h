/*
 * gateway.h -- This file is private to services/gateway: what its files share.
 *
 * atbalsts-gateway is the caseworker's web application: an HTTP/1.1 server (libh2o on a
 * libuv loop) that serves the pages (web/) and a JSON API. Every API call becomes one
 * protobuf command or query over NATS to the service that owns it; the gateway holds no
 * business logic and no state beyond users, sessions and the access log, which live in
 * the PostgreSQL schema `gateway` (its migrations are in db.c).
 *
 * Threads. h2o and the listener run on the loop thread (http.c). An API request is copied
 * into a gw_req there and handed to a libuv worker thread, where gw_api_handle() runs:
 * session, CSRF, grants and roles (PostgreSQL), JSON -> protobuf, the NATS request, the
 * access log. The answer (gw_resp) goes back to the loop thread to be sent. Nothing the
 * workers do blocks the loop.
 */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

#include "at_error.h"
#include "bus.h"

/* Largest JSON body the API reads; a larger one is a 400 naming the field "body". */
#define GW_MAX_BODY 65536
/* Failed sign-ins in a row that lock an account, and for how long. */
#define GW_LOCK_AFTER 5
#define GW_LOCK_MINUTES 15

typedef struct gw_config {
    const char *pg_url;          /* ATB_PG_URL: role atb_gateway */
    const char *pg_admin_url;    /* ATB_PG_ADMIN_URL: migrations (optional) */
    const char *nats_url;
    const char *nats_user, *nats_password;
    const char *prefix;          /* subject prefix, default "atb" */
    const char *listen;          /* address, default 127.0.0.1 */
    int port;                    /* 0 = any free port (written to port_file) */
    const char *port_file;       /* where the bound port is written, or NULL */
    const char *web_dir;         /* the pages and their assets */
    int workers;                 /* worker threads = PostgreSQL connections */
    int session_minutes;         /* absolute lifetime of a session */
    int idle_minutes;            /* a session unused this long ends */
    bool cookie_secure;          /* add Secure to the cookie (behind TLS) */
    int call_timeout_ms;         /* NATS request timeout */
    int session_cache_seconds;   /* how long a session read from PostgreSQL is trusted; 0 = off */
    int session_cache_slots;     /* sessions remembered at most */
} gw_config;

/* ---- db.c: a pool of PostgreSQL connections and the gateway's migrations ------------ */

typedef struct gw_db gw_db;
/* Open n connections to url. AT_UNAVAILABLE when PostgreSQL does not answer. */
at_code gw_db_open(gw_db **out, const char *url, int n, at_error *err);
void gw_db_close(gw_db *db);                    /* NULL is a no-op */
/* Borrow a connection (waits while all are lent); reconnects a broken one. */
PGconn *gw_db_get(gw_db *db);
void gw_db_put(gw_db *db, PGconn *c);
/* Apply the gateway's migrations once each (atb.service_migrations, service "gateway"),
 * as the admin, under an advisory lock. */
at_code gw_db_migrate(const char *admin_url, at_error *err);
/* PQexecParams with text parameters; NULL-terminated list not needed: n is given. The
 * result is PGRES_COMMAND_OK or PGRES_TUPLES_OK, else NULL with err set (AT_UNAVAILABLE). */
PGresult *gw_sql(PGconn *c, at_error *err, const char *sql, int n, const char *const *params);

/* ---- auth.c: users, passwords, sessions ------------------------------------------------ */

typedef struct gw_scache gw_scache;   /* scache.c, below */

enum gw_role {
    GW_SOCIAL_WORKER = 1u << 0,
    GW_ASSISTANCE_OFFICER = 1u << 1,
    GW_HEAD_OF_SERVICE = 1u << 2,
    GW_ACCOUNTANT = 1u << 3,
    GW_AUDITOR = 1u << 4,
    GW_ADMINISTRATOR = 1u << 5,
};
/* The role's bit for its name ("social_worker"), 0 for an unknown name. */
unsigned gw_role_bit(const char *name);

#define GW_MAX_GRANTS 32
typedef struct gw_grant {
    char tenant[64];
    unsigned role;               /* one gw_role bit */
} gw_grant;

typedef struct gw_user {
    char login[65];
    char display_name[129];
    char csrf[65];               /* the session's CSRF token (hex) */
    gw_grant grants[GW_MAX_GRANTS];
    int n_grants;
} gw_user;

/* The role bits the user holds in tenant (0 = not granted). */
unsigned gw_user_roles(const gw_user *u, const char *tenant);

/* Hash a password with Argon2id (encoded string into out). */
at_code gw_password_hash(const char *password, char *out, size_t n, at_error *err);

/* Create a user with grants (tenant, role pairs). AT_VALIDATION for a bad login, role,
 * tenant or a password shorter than 12 characters; AT_CONFLICT when the login exists. */
at_code gw_user_add(PGconn *c, const char *login, const char *display_name, const char *password,
                    const gw_grant *grants, int n, at_error *err);

typedef enum gw_signin {
    GW_SIGNIN_OK,
    GW_SIGNIN_REFUSED,           /* a known login, wrong password (or disabled) */
    GW_SIGNIN_UNKNOWN,           /* no such login; the client is told the same as REFUSED */
    GW_SIGNIN_LOCKED,            /* too many failures: locked until later */
} gw_signin;
/* Check the password (Argon2id), count failures and lock, and on success open a session:
 * token (64 hex, for the cookie) and the user with a fresh CSRF token. A lockout makes
 * cache forget the login's sessions (cache may be NULL). */
at_code gw_sign_in(PGconn *c, const gw_config *cfg, gw_scache *cache, const char *login, const char *password,
                   gw_signin *out, char token[65], gw_user *u, at_error *err);
/* The user of a live session token (NULL/"" or expired: *found false): from cache while it
 * trusts the entry, else from PostgreSQL (c), then remembered in cache. */
at_code gw_session_user(PGconn *c, const gw_config *cfg, gw_scache *cache, const char *token, bool *found,
                        gw_user *u, at_error *err);
/* End the session in PostgreSQL and forget it in cache. */
at_code gw_session_end(PGconn *c, gw_scache *cache, const char *token, at_error *err);
/* The SHA-256 of a token in hex: what the database and the cache key sessions by. */
void gw_token_digest(const char *token, char out[65]);

/* ---- scache.c: live sessions in memory for a few seconds --------------------------------- */

/* A table of `slots` sessions trusted for ttl_seconds (NULL, no cache, when either is 0). */
gw_scache *gw_scache_new(size_t slots, int ttl_seconds);
void gw_scache_free(gw_scache *c);                          /* NULL is a no-op */
/* The user of the session with this token digest, if remembered and still trusted. */
bool gw_scache_get(gw_scache *c, const char *digest, gw_user *u);
/* Remember a session read from PostgreSQL; expires_at: its end, Unix seconds. */
void gw_scache_put(gw_scache *c, const char *digest, const gw_user *u, int64_t expires_at);
void gw_scache_forget(gw_scache *c, const char *digest);
void gw_scache_forget_login(gw_scache *c, const char *login);

/* ---- access.c: who read whose file ------------------------------------------------------- */

/* Record one access: outcome "read" or "denied". subject_kind "person", "household",
 * "application" or "search"; key may be "". */
at_code gw_access_record(PGconn *c, const char *login, const char *tenant, const char *action,
                         const char *subject_kind, const char *key, const char *outcome, int status, at_error *err);

/* ---- api.c: one API request, on a worker thread --------------------------------------- */

typedef struct gw gw;          /* the running gateway: config, pool, NATS */

typedef struct gw_req {
    char method[8];
    char *path;                  /* without the query string; malloc'd */
    char *query;                 /* the raw query string or NULL; malloc'd */
    char *body;                  /* malloc'd, body_len bytes */
    size_t body_len;
    bool body_too_large;         /* more than GW_MAX_BODY arrived (body is NULL) */
    char session[80];            /* the atb_session cookie, "" when none */
    char csrf[80];               /* the X-CSRF-Token header */
    char idempotency_key[40];    /* the Idempotency-Key header (a UUID) or "" */
} gw_req;

typedef struct gw_resp {
    int status;
    const char *content_type;    /* static */
    char *body;                  /* malloc'd */
    size_t len;
    char *set_cookie;            /* malloc'd or NULL */
    char log_login[65];          /* for the request log line */
} gw_resp;

void gw_req_free(gw_req *r);
void gw_resp_free(gw_resp *r);

struct gw {
    gw_config cfg;
    gw_db *db;
    bus *bus;
    gw_scache *sessions;         /* NULL when ATB_GATEWAY_SESSION_CACHE_SECONDS=0 */
};

/* Answer one API request (path starts with /api/ or is /healthz). Never fails: every
 * problem becomes a JSON error response {"error":{code,message,detail,hint,field}}. */
void gw_api_handle(gw *g, const gw_req *rq, gw_resp *rs);

/* ---- http.c: serve until SIGTERM/SIGINT; 0, or 1 when it cannot listen ----------------- */
int gw_http_run(gw *g);

/* ---- routes.c: the API's table ------------------------------------------------------------- */

/* What an access to a route records in the access log. GW_LOG_CASE: the case's client,
 * from the CaseHistory the service answered. */
enum { GW_LOG_NONE = 0, GW_LOG_PERSON, GW_LOG_HOUSEHOLD, GW_LOG_APPLICATION, GW_LOG_SEARCH, GW_LOG_CASE };

struct gw_route;
typedef void (*gw_route_fn)(gw *g, const struct gw_route *rt, const gw_req *rq, const gw_user *u,
                            const char *tenant, gw_resp *rs);

typedef struct gw_route {
    const char *method;          /* "GET", "POST", "DELETE" */
    const char *pattern;         /* "/api/v1/t/{tenant}/persons/{person_key}" */
    const char *kind;            /* "cmd" or "qry"; NULL for a gateway route */
    const char *service;
    const char *name;            /* command or query name */
    const ProtobufCMessageDescriptor *request, *reply;
    unsigned roles;              /* role bits allowed in the tenant; 0 = any signed-in user */
    int log;                     /* GW_LOG_* */
    bool public_route;           /* no session needed */
    gw_route_fn fn;              /* a gateway route (session, audit) instead of a call */
} gw_route;

extern const gw_route gw_routes[];
extern const size_t gw_n_routes;

/* Gateway routes (api.c). */
void gw_route_health(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant, gw_resp *rs);
void gw_route_sign_in(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant, gw_resp *rs);
void gw_route_session(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant, gw_resp *rs);
void gw_route_sign_out(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant, gw_resp *rs);
void gw_route_access_log(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant,
                         gw_resp *rs);
void gw_route_routes(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant, gw_resp *rs);

/* ---- json.c: responses ------------------------------------------------------------------ */

/* Set rs to status with j as its body (j is released). */
void gw_json(gw_resp *rs, int status, json_t *j);
/* Set rs to an error response: {"error":{"code","message","detail","hint","field"}}. */
void gw_error(gw_resp *rs, int status, const char *code, const char *field, const char *message,
              const char *detail, const char *hint);
/* The same from an at_error, with the HTTP status its code maps to. */
void gw_error_at(gw_resp *rs, const at_error *err);
/* The HTTP status for a service's error code (atb.v1.ErrorCode). */
int gw_status_of(int code);

#endif
