/*
 * test_gateway_openapi.c -- docs/api/openapi.json against the running gateway: the
 * document lists exactly the routes the gateway serves (GET /api/v1/routes), and each
 * operation, called as its x-check says, answers with the documented status and a body
 * of the documented shape (every required property of the response schema is there).
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

static json_t *doc;
static gwt_session ilze, auditore;
/* placeholders of the x-checks and their values */
static struct {
    const char *name;
    char value[40];
} vars[] = {{"{tenant}", "tervete"}, {"{person_key}", ""}, {"{person2_key}", ""}, {"{person3_key}", ""},
            {"{household_key}", ""}, {"{household2_key}", ""}, {"{application_id}", ""},
            {"{application2_id}", ""}, {"{agreement_key}", ""}};
#define NVARS (sizeof vars / sizeof vars[0])

static void set_var(const char *name, const char *v)
{
    for (size_t i = 0; i < NVARS; i++)
        if (strcmp(vars[i].name, name) == 0)
            snprintf(vars[i].value, sizeof vars[i].value, "%s", v);
}

/* s with every placeholder replaced (malloc'd). */
static char *fill(const char *s)
{
    size_t cap = strlen(s) * 2 + 256;
    char *out = malloc(cap);
    size_t o = 0;
    while (*s) {
        size_t i = 0;
        for (; i < NVARS; i++)
            if (strncmp(s, vars[i].name, strlen(vars[i].name)) == 0)
                break;
        if (i < NVARS) {
            o += (size_t)snprintf(out + o, cap - o, "%s", vars[i].value);
            s += strlen(vars[i].name);
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = 0;
    return out;
}

/* POST a command as ilze; its key. */
static void post(const char *path, const char *body, char *key)
{
    char *p = fill(path), *b = fill(body);
    gwt_resp r = gwt_http("POST", p, b, strlen(b), ilze.both);
    if (r.status != 201)
        fail_msg("%s: %d %s", p, r.status, r.body);
    json_t *j = gwt_json(&r);
    if (key)
        snprintf(key, 37, "%s", json_string_value(json_object_get(j, "key")));
    json_decref(j);
    gwt_resp_free(&r);
    free(p);
    free(b);
}

static int setup(void **state)
{
    t_require_servers(1);
    char path[512];
    snprintf(path, sizeof path, "%s/docs/api/openapi.json", GWT_SOURCE_DIR);
    json_error_t e;
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!doc) {
        fprintf(stderr, "%s: %s at line %d\n", path, e.text, e.line);
        return -1;
    }
    if (gwt_start() != 0 || gwt_start_more() != 0)
        return -1;
    ilze = gwt_sign_in("ilze", GWT_PASSWORD);
    auditore = gwt_sign_in("auditore", GWT_PASSWORD);
    /* the records the checks name: two persons with households, a decided application */
    char k[37];
    post("/api/v1/t/tervete/persons",
         "{\"personal_code\":\"150585-12343\",\"given_name\":\"Anna\",\"family_name\":\"Bērziņa\",\"sex\":\"female\"}", k);
    set_var("{person_key}", k);
    post("/api/v1/t/tervete/persons", "{\"personal_code\":\"010180-10018\",\"given_name\":\"Pēteris\","
                                      "\"family_name\":\"Ozols\",\"sex\":\"male\"}", k);
    set_var("{person2_key}", k);
    post("/api/v1/t/tervete/persons", "{\"personal_code\":\"020290-10018\",\"given_name\":\"Līga\","
                                      "\"family_name\":\"Ozola\",\"sex\":\"female\"}", k);
    set_var("{person3_key}", k);
    post("/api/v1/t/tervete/households", "{\"members\":[{\"person_key\":\"{person_key}\",\"relationship\":\"applicant\","
                                         "\"joined\":\"2020-01-01\"}]}", k);
    set_var("{household_key}", k);
    post("/api/v1/t/tervete/applications", "{\"applicant\":\"{person_key}\",\"household_key\":\"{household_key}\","
                                           "\"asks\":[{\"kind\":\"needy_status\"}],\"received\":\"2020-11-16\","
                                           "\"channel\":\"office\",\"social_worker\":\"user:ilze\"}", k);
    set_var("{application_id}", k);
    post("/api/v1/t/tervete/applications/{application_id}/declaration",
         "{\"incomes\":[{\"member\":\"{person_key}\",\"type\":\"wage\",\"month\":\"2020-10\",\"amount_cents\":10000}],"
         "\"declared_on\":\"2020-11-16\"}", NULL);
    post("/api/v1/t/tervete/applications/{application_id}/complete", "{\"decision_date\":\"2020-11-16\"}", NULL);
    /* means testing decides from intake's event: wait for the decision */
    long long n = sk_wait_sql(1, 30000, "SELECT count(*) FROM atb.events WHERE type = 'ApplicationDecided'");
    if (n != 1) {
        fprintf(stderr, "the application was not decided\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    json_decref(doc);
    return gwt_stop();
}

static void every_route_is_documented_and_every_documented_route_served(void **state)
{
    gwt_resp r = gwt_http("GET", "/api/v1/routes", NULL, 0, ilze.cookie);
    assert_int_equal(r.status, 200);
    json_t *j = gwt_json(&r);
    json_t *routes = json_object_get(j, "routes"), *paths = json_object_get(doc, "paths");
    size_t i, served = json_array_size(routes), documented = 0;
    json_t *route;
    json_array_foreach(routes, i, route) {
        char method[8];
        const char *m = json_string_value(json_object_get(route, "method"));
        for (size_t k = 0; k < 7 && m[k]; k++)
            method[k] = (char)(m[k] | 0x20), method[k + 1] = 0;
        const char *path = json_string_value(json_object_get(route, "path"));
        if (!json_object_get(json_object_get(paths, path), method))
            fail_msg("the gateway serves %s %s: not in docs/api/openapi.json", m, path);
    }
    const char *path;
    json_t *ops;
    json_object_foreach(paths, path, ops) {
        const char *method;
        json_t *op;
        json_object_foreach(ops, method, op) {
            documented++;
            bool found = false;
            json_array_foreach(routes, i, route)
                found = found || (strcasecmp(json_string_value(json_object_get(route, "method")), method) == 0 &&
                                  strcmp(json_string_value(json_object_get(route, "path")), path) == 0);
            if (!found)
                fail_msg("docs/api/openapi.json documents %s %s: the gateway does not serve it", method, path);
        }
    }
    assert_int_equal(documented, served);
    json_decref(j);
    gwt_resp_free(&r);
}

static json_t *resolve(json_t *schema)
{
    const char *ref = json_string_value(json_object_get(schema, "$ref"));
    if (!ref)
        return schema;
    return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                           ref + strlen("#/components/schemas/"));
}

static void every_operation_answers_as_documented(void **state)
{
    json_t *paths = json_object_get(doc, "paths");
    const char *path;
    json_t *ops;
    int checked = 0;
    json_object_foreach(paths, path, ops) {
        const char *method;
        json_t *op;
        json_object_foreach(ops, method, op) {
            json_t *check = json_object_get(op, "x-check");
            if (!check)
                fail_msg("%s %s has no x-check", method, path);
            const char *as = json_string_value(json_object_get(check, "as"));
            char headers[512] = "";
            gwt_session fresh;
            if (!as || strcmp(as, "ilze") == 0)
                snprintf(headers, sizeof headers, "%s", ilze.both);
            else if (strcmp(as, "auditore") == 0)
                snprintf(headers, sizeof headers, "%s", auditore.both);
            else if (strcmp(as, "fresh") == 0)
                fresh = gwt_sign_in("ilze", GWT_PASSWORD), snprintf(headers, sizeof headers, "%s", fresh.both);
            char url[1024];
            const char *q = json_string_value(json_object_get(check, "query"));
            const char *call = json_string_value(json_object_get(check, "path"));
            snprintf(url, sizeof url, "%s%s%s", call ? call : path, q && *q ? "?" : "", q ? q : "");
            char *u = fill(url);
            char *body = NULL;
            json_t *b = json_object_get(check, "body");
            if (b) {
                char *raw = json_dumps(b, JSON_COMPACT);
                body = fill(raw);
                free(raw);
            }
            char upper[8];
            for (size_t k = 0; k < 7 && method[k]; k++)
                upper[k] = (char)(method[k] & ~0x20), upper[k + 1] = 0;
            gwt_resp r = gwt_http(upper, u, body, body ? strlen(body) : 0, headers);
            int want = (int)json_integer_value(json_object_get(check, "status"));
            if (r.status != want)
                fail_msg("%s %s: %d, x-check wants %d: %s", upper, u, r.status, want, r.body);
            char st[8];
            snprintf(st, sizeof st, "%d", r.status);
            json_t *documented = json_object_get(json_object_get(op, "responses"), st);
            if (!documented)
                fail_msg("%s %s answered %d, which is not documented", upper, path, r.status);
            json_t *schema = resolve(json_object_get(
                json_object_get(json_object_get(documented, "content"), "application/json"), "schema"));
            json_t *got = gwt_json(&r);
            const char *sets = json_string_value(json_object_get(check, "sets"));
            if (sets)
                set_var(sets, json_string_value(json_object_get(got, "key")));
            size_t i;
            json_t *req;
            json_array_foreach(json_object_get(schema, "required"), i, req) {
                if (!json_object_get(got, json_string_value(req)))
                    fail_msg("%s %s: the answer lacks \"%s\": %s", upper, path, json_string_value(req), r.body);
            }
            /* a closed schema: nothing undocumented in the answer */
            if (json_is_false(json_object_get(schema, "additionalProperties"))) {
                const char *key;
                json_t *v;
                json_object_foreach(got, key, v)
                    if (!json_object_get(json_object_get(schema, "properties"), key))
                        fail_msg("%s %s: \"%s\" is not documented", upper, path, key);
            }
            json_decref(got);
            gwt_resp_free(&r);
            free(u);
            free(body);
            checked++;
        }
    }
    assert_true(checked >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_is_documented_and_every_documented_route_served),
        cmocka_unit_test(every_operation_answers_as_documented),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
