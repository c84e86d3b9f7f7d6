/*
 * auth.c -- users, Argon2id passwords, lockout and sessions.
 *
 * Invariants:
 *   - A password is only ever held in memory for the hash or the check; it is never
 *     logged, stored, or sent anywhere (the encoded Argon2id hash is stored).
 *   - A session token is 32 random bytes (64 hex); the database keeps its SHA-256 only.
 *   - An unknown login and a wrong password get the same answer and cost the same time
 *     (a dummy hash is checked), so sign-in does not tell which logins exist.
 *   - After GW_LOCK_AFTER failures in a row the account is locked for GW_LOCK_MINUTES;
 *     while locked, the password is not even checked.
 */
#include <argon2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gateway.h"

/* OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane. */
#define A2_T 2
#define A2_M 19456
#define A2_P 1
#define A2_SALT 16
#define A2_HASH 32

static const struct {
    const char *name;
    unsigned bit;
} roles[] = {
    {"social_worker", GW_SOCIAL_WORKER}, {"assistance_officer", GW_ASSISTANCE_OFFICER},
    {"head_of_service", GW_HEAD_OF_SERVICE}, {"accountant", GW_ACCOUNTANT},
    {"auditor", GW_AUDITOR}, {"administrator", GW_ADMINISTRATOR},
};

unsigned gw_role_bit(const char *name)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(roles[i].name, name) == 0)
            return roles[i].bit;
    return 0;
}

static const char *role_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].bit == bit)
            return roles[i].name;
    return "";
}

unsigned gw_user_roles(const gw_user *u, const char *tenant)
{
    unsigned r = 0;
    for (int i = 0; i < u->n_grants; i++)
        if (strcmp(u->grants[i].tenant, tenant) == 0)
            r |= u->grants[i].role;
    return r;
}

static bool random_hex(char *out, size_t bytes)
{
    unsigned char b[64];
    if (bytes > sizeof b || getrandom(b, bytes, 0) != (ssize_t)bytes)
        return false;
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    return true;
}

void gw_token_digest(const char *s, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < n && i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
    out[64] = 0;
}

at_code gw_password_hash(const char *password, char *out, size_t n, at_error *err)
{
    unsigned char salt[A2_SALT];
    if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt)
        return at_error_set(err, AT_INTERNAL, NULL, "could not read random bytes");
    int rc = argon2id_hash_encoded(A2_T, A2_M, A2_P, password, strlen(password), salt, sizeof salt, A2_HASH, out, n);
    if (rc != ARGON2_OK)
        return at_error_set(err, AT_INTERNAL, NULL, "could not hash the password: %s", argon2_error_message(rc));
    return AT_OK;
}

static char dummy_hash[160];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void dummy_init(void)
{
    char pw[33];
    at_error err;
    if (!random_hex(pw, 16) || gw_password_hash(pw, dummy_hash, sizeof dummy_hash, &err) != AT_OK)
        dummy_hash[0] = 0;
}

static bool login_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

at_code gw_user_add(PGconn *c, const char *login, const char *display_name, const char *password,
                    const gw_grant *grants, int n, at_error *err)
{
    if (!login_valid(login)) {
        at_error_set(err, AT_VALIDATION, "login", "login \"%s\" is not valid", login);
        at_error_detail(err, "A login is 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a "
                             "letter or digit.");
        return AT_VALIDATION;
    }
    if (strlen(password) < 12) {
        at_error_set(err, AT_VALIDATION, "password", "password is too short");
        at_error_detail(err, "A password has at least 12 characters.");
        return AT_VALIDATION;
    }
    if (n < 1) {
        at_error_set(err, AT_VALIDATION, "grants", "no municipality granted");
        at_error_hint(err, "Give at least one --grant TENANT:ROLE.");
        return AT_VALIDATION;
    }
    char hash[160];
    if (gw_password_hash(password, hash, sizeof hash, err) != AT_OK)
        return err->code;
    PGresult *r = gw_sql(c, err, "BEGIN", 0, NULL);
    if (!r)
        return err->code;
    PQclear(r);
    const char *p[] = {login, display_name ? display_name : "", hash};
    r = gw_sql(c, err, "INSERT INTO gateway.users (login, display_name, password_hash) VALUES ($1, $2, $3)", 3, p);
    if (!r && err->code == AT_CONFLICT) {
        at_error_set(err, AT_CONFLICT, "login", "user \"%s\" already exists", login);
    }
    for (int i = 0; r && i < n; i++) {
        PQclear(r);
        const char *g[] = {login, grants[i].tenant, role_name(grants[i].role)};
        r = gw_sql(c, err, "INSERT INTO gateway.grants (login, tenant, role) VALUES ($1, $2, $3)", 3, g);
        if (!r && err->code == AT_VALIDATION)
            at_error_set(err, AT_VALIDATION, "grants", "unknown municipality \"%s\"", grants[i].tenant);
        else if (!r && err->code == AT_CONFLICT)
            at_error_set(err, AT_VALIDATION, "grants", "municipality \"%s\" granted twice", grants[i].tenant);
    }
    if (!r) {
        PQclear(PQexec(c, "ROLLBACK"));
        return err->code;
    }
    PQclear(r);
    r = gw_sql(c, err, "COMMIT", 0, NULL);
    if (!r)
        return err->code;
    PQclear(r);
    return AT_OK;
}

/* "tenant:role,tenant:role" into u->grants. */
static void parse_grants(const char *s, gw_user *u)
{
    u->n_grants = 0;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t && u->n_grants < GW_MAX_GRANTS; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        if (!colon)
            continue;
        *colon = 0;
        gw_grant *g = &u->grants[u->n_grants++];
        snprintf(g->tenant, sizeof g->tenant, "%s", t);
        g->role = gw_role_bit(colon + 1);
    }
}

static at_code load_user(PGconn *c, const char *login, gw_user *u, at_error *err)
{
    const char *p[] = {login};
    PGresult *r = gw_sql(c, err,
                         "SELECT display_name, coalesce((SELECT string_agg(tenant || ':' || role, ',' ORDER BY tenant)"
                         " FROM gateway.grants g WHERE g.login = u.login), '') FROM gateway.users u WHERE login = $1",
                         1, p);
    if (!r)
        return err->code;
    memset(u, 0, sizeof *u);
    snprintf(u->login, sizeof u->login, "%s", login);
    if (PQntuples(r) == 1) {
        snprintf(u->display_name, sizeof u->display_name, "%s", PQgetvalue(r, 0, 0));
        parse_grants(PQgetvalue(r, 0, 1), u);
    }
    PQclear(r);
    return AT_OK;
}

at_code gw_sign_in(PGconn *c, const gw_config *cfg, gw_scache *cache, const char *login, const char *password,
                   gw_signin *out, char token[65], gw_user *u, at_error *err)
{
    pthread_once(&dummy_once, dummy_init);
    *out = GW_SIGNIN_REFUSED;
    token[0] = 0;
    const char *p[] = {login};
    PGresult *r = gw_sql(c, err,
                         "SELECT password_hash, coalesce(locked_until > now(), false), disabled"
                         " FROM gateway.users WHERE login = $1",
                         1, p);
    if (!r)
        return err->code;
    if (PQntuples(r) != 1) {
        PQclear(r);
        *out = GW_SIGNIN_UNKNOWN;
        if (dummy_hash[0])
            (void)argon2id_verify(dummy_hash, password, strlen(password));
        return AT_OK;
    }
    char hash[160];
    snprintf(hash, sizeof hash, "%s", PQgetvalue(r, 0, 0));
    bool locked = PQgetvalue(r, 0, 1)[0] == 't';
    bool disabled = PQgetvalue(r, 0, 2)[0] == 't';
    PQclear(r);
    if (locked) {
        *out = GW_SIGNIN_LOCKED;
        return AT_OK;
    }
    bool ok = argon2id_verify(hash, password, strlen(password)) == ARGON2_OK && !disabled;
    if (!ok) {
        char mins[16];
        snprintf(mins, sizeof mins, "%d", GW_LOCK_MINUTES);
        char after[16];
        snprintf(after, sizeof after, "%d", GW_LOCK_AFTER);
        const char *q[] = {login, after, mins};
        r = gw_sql(c, err,
                   "UPDATE gateway.users SET"
                   " locked_until = CASE WHEN failed_count + 1 >= $2::int"
                   "                THEN now() + make_interval(mins => $3::int) END,"
                   " failed_count = CASE WHEN failed_count + 1 >= $2::int THEN 0 ELSE failed_count + 1 END"
                   " WHERE login = $1 RETURNING locked_until IS NOT NULL",
                   3, q);
        if (!r)
            return err->code;
        if (PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't') {
            *out = GW_SIGNIN_LOCKED;
            /* the next request of each of its sessions is checked in PostgreSQL again */
            gw_scache_forget_login(cache, login);
        }
        PQclear(r);
        return AT_OK;
    }
    char raw[65], digest[65], csrf[65], life[16];
    if (!random_hex(raw, 32) || !random_hex(csrf, 32))
        return at_error_set(err, AT_INTERNAL, NULL, "could not read random bytes");
    gw_token_digest(raw, digest);
    snprintf(life, sizeof life, "%d", cfg->session_minutes);
    const char *s[] = {digest, login, csrf, life};
    r = gw_sql(c, err,
               "WITH reset AS (UPDATE gateway.users SET failed_count = 0 WHERE login = $2),"
               " expired AS (DELETE FROM gateway.sessions WHERE login = $2 AND expires_at < now())"
               " INSERT INTO gateway.sessions (token_sha256, login, csrf_token, expires_at)"
               " VALUES ($1, $2, $3, now() + make_interval(mins => $4::int))",
               4, s);
    if (!r)
        return err->code;
    PQclear(r);
    if (load_user(c, login, u, err) != AT_OK)
        return err->code;
    snprintf(u->csrf, sizeof u->csrf, "%s", csrf);
    memcpy(token, raw, 65);
    *out = GW_SIGNIN_OK;
    return AT_OK;
}

static bool token_valid(const char *t)
{
    if (!t || strlen(t) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    return true;
}

at_code gw_session_user(PGconn *c, const gw_config *cfg, gw_scache *cache, const char *token, bool *found,
                        gw_user *u, at_error *err)
{
    *found = false;
    if (!token_valid(token))
        return AT_OK;
    char digest[65], idle[16];
    gw_token_digest(token, digest);
    if (gw_scache_get(cache, digest, u)) {
        *found = true;
        return AT_OK;
    }
    snprintf(idle, sizeof idle, "%d", cfg->idle_minutes);
    const char *p[] = {digest, idle};
    PGresult *r = gw_sql(c, err,
                         "SELECT s.login, u.display_name, s.csrf_token, s.last_seen < now() - interval '1 minute',"
                         " coalesce((SELECT string_agg(tenant || ':' || role, ',' ORDER BY tenant)"
                         "           FROM gateway.grants g WHERE g.login = s.login), ''),"
                         " floor(extract(epoch FROM s.expires_at))::bigint"
                         " FROM gateway.sessions s JOIN gateway.users u USING (login)"
                         " WHERE s.token_sha256 = $1 AND s.expires_at > now()"
                         " AND s.last_seen > now() - make_interval(mins => $2::int) AND NOT u.disabled",
                         2, p);
    if (!r)
        return err->code;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return AT_OK;
    }
    memset(u, 0, sizeof *u);
    snprintf(u->login, sizeof u->login, "%s", PQgetvalue(r, 0, 0));
    snprintf(u->display_name, sizeof u->display_name, "%s", PQgetvalue(r, 0, 1));
    snprintf(u->csrf, sizeof u->csrf, "%s", PQgetvalue(r, 0, 2));
    bool stale = PQgetvalue(r, 0, 3)[0] == 't';
    parse_grants(PQgetvalue(r, 0, 4), u);
    int64_t expires_at = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
    PQclear(r);
    *found = true;
    /* The idle clock moves at most once a minute: a write per request would cost more
     * than the request. The cache trusts an entry for seconds, so the clock still moves. */
    if (stale) {
        const char *q[] = {digest};
        r = gw_sql(c, err, "UPDATE gateway.sessions SET last_seen = now() WHERE token_sha256 = $1", 1, q);
        if (!r)
            return err->code;
        PQclear(r);
    }
    gw_scache_put(cache, digest, u, expires_at);
    return AT_OK;
}

at_code gw_session_end(PGconn *c, gw_scache *cache, const char *token, at_error *err)
{
    if (!token_valid(token))
        return AT_OK;
    char digest[65];
    gw_token_digest(token, digest);
    gw_scache_forget(cache, digest);
    const char *p[] = {digest};
    PGresult *r = gw_sql(c, err, "DELETE FROM gateway.sessions WHERE token_sha256 = $1", 1, p);
    if (!r)
        return err->code;
    PQclear(r);
    return AT_OK;
}
