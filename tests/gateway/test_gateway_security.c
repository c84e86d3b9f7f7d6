/*
 * test_gateway_security.c -- the gateway's refusals against the running gateway and real
 * services: no session, another municipality, no CSRF token, injection strings, oversized
 * bodies, lockout; and that no password reaches a log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwhelp.h"

static int setup(void **state)
{
    t_require_servers(1);
    return gwt_start();
}

static int teardown(void **state)
{
    return gwt_stop();
}

/* Register a person in tenant through the API as s; the person key. */
static void register_person(const gwt_session *s, const char *tenant, const char *code, char key[37])
{
    char path[128], body[512];
    snprintf(path, sizeof path, "/api/v1/t/%s/persons", tenant);
    int n = snprintf(body, sizeof body,
                     "{\"personal_code\":\"%s\",\"given_name\":\"Anna\",\"family_name\":\"Bērziņa\","
                     "\"birth_date\":null,\"sex\":\"female\"}",
                     code);
    gwt_resp r = gwt_http("POST", path, body, (size_t)n, s->both);
    if (r.status != 201)
        fail_msg("register: %d %s", r.status, r.body);
    json_t *j = gwt_json(&r);
    snprintf(key, 37, "%s", json_string_value(json_object_get(j, "key")));
    json_decref(j);
    gwt_resp_free(&r);
}

static void expect_error(gwt_resp *r, int status, const char *code, const char *field)
{
    if (r->status != status)
        fail_msg("expected %d, got %d: %s", status, r->status, r->body);
    json_t *j = gwt_json(r);
    json_t *e = json_object_get(j, "error");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    if (field) {
        const char *f = json_string_value(json_object_get(e, "field"));
        if (!f || strcmp(f, field) != 0)
            fail_msg("expected field %s: %s", field, r->body);
    }
    json_decref(j);
    gwt_resp_free(r);
}

static void no_session_is_401(void **state)
{
    gwt_resp r = gwt_http("GET", "/api/v1/t/tervete/persons/00000000-0000-4000-8000-000000000000", NULL, 0, NULL);
    expect_error(&r, 401, "unauthenticated", NULL);
    r = gwt_http("POST", "/api/v1/t/tervete/persons", "{}", 2, NULL);
    expect_error(&r, 401, "unauthenticated", NULL);
    r = gwt_http("GET", "/api/v1/session", NULL, 0, "Cookie: atb_session=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n");
    expect_error(&r, 401, "unauthenticated", NULL);
    r = gwt_http("GET", "/api/v1/t/tervete/persons?family_name=B", NULL, 0, "Cookie: atb_session='; DROP TABLE x; --\r\n");
    expect_error(&r, 401, "unauthenticated", NULL);
}

static void sign_in_sets_a_strict_http_only_cookie(void **state)
{
    const char *body = "{\"login\":\"ilze\",\"password\":\"" GWT_PASSWORD "\"}";
    gwt_resp r = gwt_http("POST", "/api/v1/session", body, strlen(body), NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "HttpOnly"));
    assert_non_null(strstr(r.headers, "SameSite=Strict"));
    assert_non_null(strstr(r.headers, "Max-Age=28800"));
    json_t *j = gwt_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "login")), "ilze");
    assert_int_equal(strlen(json_string_value(json_object_get(j, "csrf_token"))), 64);
    json_decref(j);
    gwt_resp_free(&r);
    const char *wrong = "{\"login\":\"ilze\",\"password\":\"wrong password 1\"}";
    r = gwt_http("POST", "/api/v1/session", wrong, strlen(wrong), NULL);
    expect_error(&r, 401, "unauthenticated", "password");
    const char *nobody = "{\"login\":\"nobody\",\"password\":\"wrong password 1\"}";
    r = gwt_http("POST", "/api/v1/session", nobody, strlen(nobody), NULL);
    expect_error(&r, 401, "unauthenticated", "password");
}

static void another_municipality_is_403_and_logged(void **state)
{
    gwt_session dace = gwt_sign_in("dace", GWT_PASSWORD);
    gwt_session ilze = gwt_sign_in("ilze", GWT_PASSWORD);
    char key[37];
    register_person(&dace, "daugavpils", "010180-10018", key);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/t/daugavpils/persons/%s", key);
    /* dace reads her own municipality's person: 200 and a "read" entry */
    gwt_resp r = gwt_http("GET", path, NULL, 0, dace.cookie);
    assert_int_equal(r.status, 200);
    gwt_resp_free(&r);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = 'dace' AND tenant = "
                                "'daugavpils' AND subject_key = '%s' AND outcome = 'read'", key), 1);
    /* the Tērvete worker asks for the Daugavpils person */
    r = gwt_http("GET", path, NULL, 0, ilze.cookie);
    expect_error(&r, 403, "forbidden", "tenant");
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = 'ilze' AND tenant = "
                                "'daugavpils' AND subject_key = '%s' AND outcome = 'denied' AND status = 403", key), 1);
    /* through her own municipality's path the person does not exist: tenants are apart */
    char own[160];
    snprintf(own, sizeof own, "/api/v1/t/tervete/persons/%s", key);
    r = gwt_http("GET", own, NULL, 0, ilze.cookie);
    expect_error(&r, 404, "not_found", NULL);
    /* nor may she search there or write there */
    r = gwt_http("GET", "/api/v1/t/daugavpils/persons?family_name=B", NULL, 0, ilze.cookie);
    expect_error(&r, 403, "forbidden", "tenant");
    long long before = gwt_events();
    r = gwt_http("POST", "/api/v1/t/daugavpils/persons", "{\"personal_code\":\"010180-10018\"}", 32, ilze.both);
    expect_error(&r, 403, "forbidden", "tenant");
    assert_int_equal(gwt_events(), before);
    /* the auditor lists who looked at the file, and the refusal */
    gwt_session aud = gwt_sign_in("auditore", GWT_PASSWORD);
    char q[200];
    snprintf(q, sizeof q, "/api/v1/t/daugavpils/access-log?person_key=%s", key);
    r = gwt_http("GET", q, NULL, 0, aud.cookie);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"login\":\"ilze\""));
    assert_non_null(strstr(r.body, "\"outcome\":\"denied\""));
    assert_non_null(strstr(r.body, "\"login\":\"dace\""));
    gwt_resp_free(&r);
    /* a social worker may not read the access log */
    r = gwt_http("GET", "/api/v1/t/daugavpils/access-log", NULL, 0, dace.cookie);
    expect_error(&r, 403, "forbidden", "tenant");
    /* the auditor reads but never writes */
    r = gwt_http("POST", "/api/v1/t/daugavpils/persons", "{\"personal_code\":\"010180-10018\"}", 32, aud.both);
    expect_error(&r, 403, "forbidden", "tenant");
    assert_int_equal(gwt_events(), before);
}

/* A person's lists (cases, agreements) read the person's file: recorded like the person
 * page, and refused across municipalities like it. */
static void person_lists_are_reads_in_the_access_log(void **state)
{
    gwt_session dace = gwt_sign_in("dace", GWT_PASSWORD);
    gwt_session ilze = gwt_sign_in("ilze", GWT_PASSWORD);
    char key[37], path[200];
    register_person(&dace, "daugavpils", "020290-10018", key);
    static const char *const lists[] = {"cases", "agreements"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/api/v1/t/daugavpils/persons/%s/%s", key, lists[i]);
        gwt_resp r = gwt_http("GET", path, NULL, 0, dace.cookie);
        if (r.status != 200)
            fail_msg("%s: %d %s", path, r.status, r.body);
        gwt_resp_free(&r);
        r = gwt_http("GET", path, NULL, 0, ilze.cookie);
        expect_error(&r, 403, "forbidden", "tenant");
    }
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = 'dace' AND subject_key = '%s' "
                                "AND outcome = 'read' AND action IN ('ListPersonCases', 'ListPersonAgreements')", key),
                     2);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = 'ilze' AND subject_key = '%s' "
                                "AND outcome = 'denied'", key),
                     2);
    /* a key that is not one: the service's field-level refusal, nothing recorded as read */
    gwt_resp r = gwt_http("GET", "/api/v1/t/daugavpils/persons/1'%20OR%20'1'='1/cases", NULL, 0, dace.cookie);
    expect_error(&r, 400, "validation", "person_key");
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE subject_key LIKE '%%OR%%'"), 0);
}

static void command_carries_the_signed_in_user_as_actor(void **state)
{
    gwt_session ilze = gwt_sign_in("ilze", GWT_PASSWORD);
    char key[37];
    register_person(&ilze, "tervete", "020290-10018", key);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE stream_id = 'person-%s' AND actor = "
                                "'user:ilze'", key), 1);
}

static void missing_csrf_is_403(void **state)
{
    gwt_session ilze = gwt_sign_in("ilze", GWT_PASSWORD);
    long long before = gwt_events();
    const char *body = "{\"personal_code\":\"030370-10004\",\"given_name\":\"A\",\"family_name\":\"B\"}";
    gwt_resp r = gwt_http("POST", "/api/v1/t/tervete/persons", body, strlen(body), ilze.cookie);
    expect_error(&r, 403, "csrf", "X-CSRF-Token");
    char wrong[256];
    char bad[80];
    snprintf(bad, sizeof bad, "%s", ilze.csrf);
    bad[63] = bad[63] == '0' ? '1' : '0';   /* one character off */
    snprintf(wrong, sizeof wrong, "%sX-CSRF-Token: %s\r\n", ilze.cookie, bad);
    r = gwt_http("POST", "/api/v1/t/tervete/persons", body, strlen(body), wrong);
    expect_error(&r, 403, "csrf", "X-CSRF-Token");
    /* another session's token does not do either */
    gwt_session other = gwt_sign_in("ilze", GWT_PASSWORD);
    snprintf(wrong, sizeof wrong, "%sX-CSRF-Token: %s\r\n", ilze.cookie, other.csrf);
    r = gwt_http("POST", "/api/v1/t/tervete/persons", body, strlen(body), wrong);
    expect_error(&r, 403, "csrf", "X-CSRF-Token");
    r = gwt_http("DELETE", "/api/v1/session", NULL, 0, ilze.cookie);
    expect_error(&r, 403, "csrf", "X-CSRF-Token");
    assert_int_equal(gwt_events(), before);
}

static void injection_and_oversized_bodies_are_clean_400s(void **state)
{
    gwt_session ilze = gwt_sign_in("ilze", GWT_PASSWORD);
    long long events = gwt_events();
    long long reads = sk_sql_int("SELECT count(*) FROM gateway.access_log");
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"'; DROP TABLE atb.events; --", "body"},
        {"{\"personal_code\":\"x\"} {\"a\":1}", "body"},
        {"[\"personal_code\"]", "body"},
        {"{\"personal_code\":\"010180-10018\",\"personal_code\":\"020290-10018\"}", "body"},
        {"{\"personal_code\":123}", "personal_code"},
        {"{\"personal_code\":\"010180-10018\",\"role\":\"administrator\"}", "role"},
        {"{\"meta\":{\"actor\":\"user:root\",\"command_id\":\"00000000-0000-4000-8000-000000000000\"}}", "meta"},
        {"{\"personal_code\":\"' OR '1'='1\",\"given_name\":\"Robert'); DROP TABLE students;--\","
         "\"family_name\":\"x\"}", "personal_code"},
        {"{\"given_name\":{\"$gt\":\"\"}}", "given_name"},
        {"{\"birth_date\":\"2020-02-30\"}", "birth_date"},
        {"{\"sex\":\"other'--\"}", "sex"},
        {"{\"personal_code\":\"\\u0000\"}", "body"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gwt_resp r = gwt_http("POST", "/api/v1/t/tervete/persons", bad[i].body, strlen(bad[i].body), ilze.both);
        if (r.status != 400)
            fail_msg("case %zu (%s): %d %s", i, bad[i].body, r.status, r.body);
        json_t *j = gwt_json(&r);
        const char *f = json_string_value(json_object_get(json_object_get(j, "error"), "field"));
        if (!f || strcmp(f, bad[i].field) != 0)
            fail_msg("case %zu (%s): field %s, want %s: %s", i, bad[i].body, f ? f : "(none)", bad[i].field, r.body);
        json_decref(j);
        gwt_resp_free(&r);
    }
    /* injection in the path and the query string */
    gwt_resp r = gwt_http("GET", "/api/v1/t/tervete/persons/'%20OR%20'1'='1", NULL, 0, ilze.cookie);
    expect_error(&r, 400, "validation", "person_key");
    r = gwt_http("GET", "/api/v1/t/tervete/persons?limit=1;DROP%20TABLE%20x", NULL, 0, ilze.cookie);
    expect_error(&r, 400, "validation", "limit");
    r = gwt_http("GET", "/api/v1/t/tervete/persons?family_name=B&role=x", NULL, 0, ilze.cookie);
    expect_error(&r, 400, "validation", "role");
    r = gwt_http("GET", "/api/v1/t/tervete/persons?family_name=%zz", NULL, 0, ilze.cookie);
    expect_error(&r, 400, "validation", "query");
    r = gwt_http("GET", "/api/v1/t/tervete'--/persons?family_name=B", NULL, 0, ilze.cookie);
    expect_error(&r, 400, "validation", "tenant");
    r = gwt_http("POST", "/api/v1/t/tervete/persons", "{}", 2, "Idempotency-Key: '; DROP--\r\n");
    expect_error(&r, 400, "validation", "Idempotency-Key");
    /* a search for an injection string finds nobody and breaks nothing */
    r = gwt_http("GET", "/api/v1/t/tervete/persons?family_name=%27%20OR%201%3D1%20--", NULL, 0, ilze.cookie);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"persons\":[]"));
    gwt_resp_free(&r);
    /* oversized: 100 KiB of a valid-looking body */
    size_t n = 100 * 1024;
    char *big = malloc(n + 64);
    int k = snprintf(big, n + 64, "{\"given_name\":\"");
    memset(big + k, 'a', n);
    strcpy(big + k + n, "\"}");
    r = gwt_http("POST", "/api/v1/t/tervete/persons", big, strlen(big), ilze.both);
    expect_error(&r, 400, "validation", "body");
    free(big);
    assert_int_equal(gwt_events(), events);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log"), reads);
}

/* POST a person with an Idempotency-Key as s; the answer's status, and key/command id. */
static int register_with_key(const gwt_session *s, const char *tenant, const char *code, const char *idem,
                             char key[37], char command_id[37], int *duplicate)
{
    char path[128], body[512], headers[512];
    snprintf(path, sizeof path, "/api/v1/t/%s/persons", tenant);
    int n = snprintf(body, sizeof body,
                     "{\"personal_code\":\"%s\",\"given_name\":\"Anna\",\"family_name\":\"Bērziņa\","
                     "\"sex\":\"female\"}", code);
    snprintf(headers, sizeof headers, "%sIdempotency-Key: %s\r\n", s->both, idem);
    gwt_resp r = gwt_http("POST", path, body, (size_t)n, headers);
    int status = r.status;
    json_t *j = gwt_json(&r);
    snprintf(key, 37, "%s", json_is_string(json_object_get(j, "key")) ? json_string_value(json_object_get(j, "key")) : "");
    snprintf(command_id, 37, "%s", json_is_string(json_object_get(j, "command_id")) ? json_string_value(json_object_get(j, "command_id")) : "");
    *duplicate = json_is_true(json_object_get(j, "duplicate"));
    json_decref(j);
    gwt_resp_free(&r);
    return status;
}

/* An Idempotency-Key dedupes one user's retries only: the same key from another user, or
 * in another municipality, is another command and never returns the first user's result. */
static void idempotency_key_is_per_user(void **state)
{
    assert_int_equal(gwt_adduser("inese", GWT_PASSWORD, "tervete:social_worker"), 0);
    gwt_session ilze = gwt_sign_in("ilze", GWT_PASSWORD);
    gwt_session inese = gwt_sign_in("inese", GWT_PASSWORD);
    gwt_session dace = gwt_sign_in("dace", GWT_PASSWORD);
    const char *idem = "7d444840-9dc0-11d1-b245-5ffdce74fad2";
    char k1[37], c1[37], k2[37], c2[37], k3[37], c3[37], k4[37], c4[37];
    int dup;
    long long before = gwt_events();
    assert_int_equal(register_with_key(&ilze, "tervete", "040480-10012", idem, k1, c1, &dup), 201);
    assert_false(dup);
    assert_int_equal(gwt_events(), before + 1);
    /* her retry, the key in upper case too: the first result, nothing appended */
    assert_int_equal(register_with_key(&ilze, "tervete", "040480-10012", "7D444840-9DC0-11D1-B245-5FFDCE74FAD2",
                                       k2, c2, &dup), 200);
    assert_true(dup);
    assert_string_equal(k2, k1);
    assert_string_equal(c2, c1);
    assert_int_equal(gwt_events(), before + 1);
    /* another user of the same municipality with the same key: a command of her own */
    assert_int_equal(register_with_key(&inese, "tervete", "050580-10010", idem, k3, c3, &dup), 201);
    assert_false(dup);
    assert_string_not_equal(k3, k1);
    assert_string_not_equal(c3, c1);
    assert_int_equal(gwt_events(), before + 2);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE stream_id = 'person-%s' AND actor = "
                                "'user:inese'", k3), 1);
    /* another municipality's user with the same key */
    assert_int_equal(register_with_key(&dace, "daugavpils", "040480-10012", idem, k4, c4, &dup), 201);
    assert_false(dup);
    assert_string_not_equal(c4, c1);
    assert_string_not_equal(c4, c3);
    /* the command id sent is not the client's key: a key seen once leads nowhere */
    assert_string_not_equal(c1, idem);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE command_id::text = '%s'", idem), 0);
}

/* A failed sign-in with a login that is no user's is recorded without the login as typed:
 * it may be a password typed into the login field. */
static void unknown_login_is_not_recorded_as_typed(void **state)
{
    const char *body = "{\"login\":\"hunter2-in-the-login-field\",\"password\":\"x\"}";
    long long unknown = sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = '(unknown)' AND "
                                   "outcome = 'sign_in_refused' AND subject_key = '' AND status = 401");
    gwt_resp r = gwt_http("POST", "/api/v1/session", body, strlen(body), NULL);
    expect_error(&r, 401, "unauthenticated", "password");
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = '(unknown)' AND "
                                "outcome = 'sign_in_refused' AND subject_key = '' AND status = 401"), unknown + 1);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login LIKE '%%hunter2%%' OR "
                                "subject_key LIKE '%%hunter2%%'"), 0);
    /* a known login with a wrong password is recorded by name: whose account is attacked */
    const char *wrong = "{\"login\":\"dace\",\"password\":\"wrong password 1\"}";
    long long dace = sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = 'dace' AND "
                                "outcome = 'sign_in_refused'");
    r = gwt_http("POST", "/api/v1/session", wrong, strlen(wrong), NULL);
    expect_error(&r, 401, "unauthenticated", "password");
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = 'dace' AND "
                                "outcome = 'sign_in_refused'"), dace + 1);
    /* nor does the gateway's own log name it */
    FILE *f = fopen(gwt.log_path, "r");
    assert_non_null(f);
    char line[8192];
    while (fgets(line, sizeof line, f))
        if (strstr(line, "hunter2"))
            fail_msg("the gateway's log holds an unknown login: %s", line);
    fclose(f);
}

/* Sessions are remembered in memory (ATB_GATEWAY_SESSION_CACHE_SECONDS, 60 here): a session
 * ended elsewhere lives on here until the entry ages out; one ended here ends at once. */
static void session_cache_trusts_for_a_while_and_forgets_on_sign_out(void **state)
{
    gwt_session s = gwt_sign_in("inese", GWT_PASSWORD);
    gwt_resp r = gwt_http("GET", "/api/v1/session", NULL, 0, s.cookie);
    assert_int_equal(r.status, 200);
    gwt_resp_free(&r);
    /* as another gateway instance would: end every session of hers in PostgreSQL */
    assert_int_equal(sk_sql_int("WITH d AS (DELETE FROM gateway.sessions WHERE login = 'inese' RETURNING 1) "
                                "SELECT count(*) FROM d"), 2);
    r = gwt_http("GET", "/api/v1/session", NULL, 0, s.cookie);
    assert_int_equal(r.status, 200);   /* this instance still trusts its cached entry */
    gwt_resp_free(&r);
    /* a session this instance never saw is read from PostgreSQL: gone */
    gwt_session t = gwt_sign_in("inese", GWT_PASSWORD);
    assert_int_equal(sk_sql_int("WITH d AS (DELETE FROM gateway.sessions WHERE login = 'inese' RETURNING 1) "
                                "SELECT count(*) FROM d"), 1);
    /* t was cached by nobody: sign-in does not cache */
    r = gwt_http("GET", "/api/v1/session", NULL, 0, t.cookie);
    expect_error(&r, 401, "unauthenticated", NULL);
    /* sign-out through this instance forgets at once */
    r = gwt_http("DELETE", "/api/v1/session", NULL, 0, s.both);
    assert_int_equal(r.status, 200);
    gwt_resp_free(&r);
    r = gwt_http("GET", "/api/v1/session", NULL, 0, s.cookie);
    expect_error(&r, 401, "unauthenticated", NULL);
}

static void lockout_after_repeated_failures(void **state)
{
    const char *wrong = "{\"login\":\"admins\",\"password\":\"not the password\"}";
    for (int i = 0; i < 4; i++) {
        gwt_resp r = gwt_http("POST", "/api/v1/session", wrong, strlen(wrong), NULL);
        expect_error(&r, 401, "unauthenticated", "password");
    }
    gwt_resp r = gwt_http("POST", "/api/v1/session", wrong, strlen(wrong), NULL);
    expect_error(&r, 423, "locked", "login");
    const char *right = "{\"login\":\"admins\",\"password\":\"" GWT_PASSWORD "\"}";
    r = gwt_http("POST", "/api/v1/session", right, strlen(right), NULL);
    expect_error(&r, 423, "locked", "login");
    assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.users WHERE login = 'admins' AND locked_until > now()"),
                     1);
}

static void sign_out_ends_the_session(void **state)
{
    gwt_session s = gwt_sign_in("ilze", GWT_PASSWORD);
    gwt_resp r = gwt_http("DELETE", "/api/v1/session", NULL, 0, s.both);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "Max-Age=0"));
    gwt_resp_free(&r);
    r = gwt_http("GET", "/api/v1/session", NULL, 0, s.cookie);
    expect_error(&r, 401, "unauthenticated", NULL);
}

/* Runs last: every password the tests sent, right or wrong, is looked for. */
static void passwords_never_reach_a_log(void **state)
{
    static const char *const secrets[] = {GWT_PASSWORD, "wrong password 1", "not the password", "hunter2"};
    FILE *f = fopen(gwt.log_path, "r");
    assert_non_null(f);
    char line[8192];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            if (strstr(line, secrets[i]))
                fail_msg("the gateway's log holds a password: %s", line);
    }
    fclose(f);
    assert_true(lines > 10);   /* the log was written: every request has a line */
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE position(convert_to('%s', 'UTF8') IN "
                                    "payload) > 0 OR actor LIKE '%%%s%%'", secrets[i], secrets[i]), 0);
        assert_int_equal(sk_sql_int("SELECT count(*) FROM gateway.users WHERE password_hash LIKE '%%%s%%' OR "
                                    "password_hash NOT LIKE '$argon2id$%%'", secrets[i]), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_session_is_401),
        cmocka_unit_test(sign_in_sets_a_strict_http_only_cookie),
        cmocka_unit_test(another_municipality_is_403_and_logged),
        cmocka_unit_test(person_lists_are_reads_in_the_access_log),
        cmocka_unit_test(command_carries_the_signed_in_user_as_actor),
        cmocka_unit_test(missing_csrf_is_403),
        cmocka_unit_test(injection_and_oversized_bodies_are_clean_400s),
        cmocka_unit_test(idempotency_key_is_per_user),
        cmocka_unit_test(unknown_login_is_not_recorded_as_typed),
        cmocka_unit_test(session_cache_trusts_for_a_while_and_forgets_on_sign_out),
        cmocka_unit_test(lockout_after_repeated_failures),
        cmocka_unit_test(sign_out_ends_the_session),
        cmocka_unit_test(passwords_never_reach_a_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
