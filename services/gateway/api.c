/*
 * api.c -- one API request, on a worker thread: route, session, CSRF, grant, role, JSON
 * -> protobuf, the NATS call, the reply -> JSON, the access log.
 *
 * The order of the checks is the contract (docs/gateway.md):
 *   404/405 unknown route -> 401 no live session -> 403 CSRF token missing or wrong on a
 *   state-changing call -> 403 municipality not granted (recorded in the access log) ->
 *   403 role may not do this -> 400 body too large, not JSON, unknown field, wrong type ->
 *   the service's answer.
 * Nothing is sent to a service before every check passed, so a refused request appends
 * nothing to the log.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"
#include "cli.h"
#include "gateway.h"

void gw_req_free(gw_req *r)
{
    free(r->path);
    free(r->query);
    free(r->body);
    memset(r, 0, sizeof *r);
}

void gw_resp_free(gw_resp *r)
{
    free(r->body);
    free(r->set_cookie);
    memset(r, 0, sizeof *r);
}

/* ---- routing ------------------------------------------------------------------------- */

#define MAX_PARAMS 4
typedef struct params {
    char name[MAX_PARAMS][48];
    char value[MAX_PARAMS][80];
    int n;
} params;

static const char *param(const params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

/* Path segments of a pattern and a path match; {name} captures one segment. */
static bool match(const char *pattern, const char *path, params *out)
{
    out->n = 0;
    const char *a = pattern, *b = path;
    while (*a && *b) {
        if (*a == '{') {
            const char *close = strchr(a, '}');
            const char *end = strchr(b, '/');
            size_t len = end ? (size_t)(end - b) : strlen(b);
            if (!close || len == 0 || out->n >= MAX_PARAMS || len >= sizeof out->value[0])
                return false;
            snprintf(out->name[out->n], sizeof out->name[0], "%.*s", (int)(close - a - 1), a + 1);
            snprintf(out->value[out->n], sizeof out->value[0], "%.*s", (int)len, b);
            out->n++;
            a = close + 1;
            b += len;
        } else if (*a == *b) {
            a++;
            b++;
        } else {
            return false;
        }
    }
    return *a == 0 && *b == 0;
}

/* A path value may hold letters, digits, '-' and '_' only: keys are UUIDs, tenants codes. */
static bool value_safe(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

/* ---- query strings ------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into out (NUL-ended); false on a bad escape or a NUL byte. */
static bool url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return false;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return false;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return true;
}

/* The query string as a JSON object shaped for the request message: integer fields as
 * integers, bools as booleans, everything else (strings, dates, enum words) as strings.
 * An unknown or repeated name, or a bad value, is a 400 naming it. */
static json_t *query_json(const char *q, const ProtobufCMessageDescriptor *d, gw_resp *rs)
{
    json_t *o = json_object();
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        char name[64], value[512];
        size_t nlen = eq ? (size_t)(eq - q) : len;
        if (len == 0) {
            q = amp ? amp + 1 : q + len;
            continue;
        }
        if (!url_decode(q, nlen, name, sizeof name) ||
            !url_decode(eq ? eq + 1 : q + len, eq ? len - nlen - 1 : 0, value, sizeof value)) {
            gw_error(rs, 400, "validation", "query", "query string is not valid",
                     "A parameter has a bad %-escape, a NUL byte, or is longer than 511 bytes.", NULL);
            json_decref(o);
            return NULL;
        }
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);
        char msg[160];
        if (!f || f->label == PROTOBUF_C_LABEL_REPEATED || strcmp(name, "meta") == 0) {
            snprintf(msg, sizeof msg, "unknown parameter \"%.60s\"", name);
            gw_error(rs, 400, "validation", name, msg, "The API reference (docs/api/openapi.json) lists the "
                     "parameters of each path.", NULL);
            json_decref(o);
            return NULL;
        }
        if (json_object_get(o, name)) {
            snprintf(msg, sizeof msg, "parameter \"%.60s\" is given twice", name);
            gw_error(rs, 400, "validation", name, msg, NULL, NULL);
            json_decref(o);
            return NULL;
        }
        json_t *v = NULL;
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_UINT64: {
            char *end = NULL;
            long long x = strtoll(value, &end, 10);
            if (!*value || *end)
                break;
            v = json_integer(x);
            break;
        }
        case PROTOBUF_C_TYPE_BOOL:
            if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
                v = json_boolean(value[0] == 't');
            break;
        default: v = json_string(value); break;
        }
        if (!v) {
            snprintf(msg, sizeof msg, "parameter \"%.60s\" must be %s", name,
                     f->type == PROTOBUF_C_TYPE_BOOL ? "true or false" : f->type == PROTOBUF_C_TYPE_STRING
                                                                             ? "UTF-8 text" : "a whole number");
            gw_error(rs, 400, "validation", name, msg, NULL, NULL);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, name, v);
        q = amp ? amp + 1 : q + len;
    }
    return o;
}

/* ---- the call to a service ----------------------------------------------------------- */

/* The atb.v1.Error every reply carries as field 1 (NULL when the reply has none set). */
static const Atb__V1__Error *reply_error(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(m->descriptor, 1);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || f->descriptor != &atb__v1__error__descriptor)
        return NULL;
    const Atb__V1__Error *e = *(Atb__V1__Error *const *)((const char *)m + f->offset);
    return e && e->code != ATB__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED ? e : NULL;
}

/* Record in the access log whose file an answered read showed: the person, application or
 * household of the path (a household: also each member), or each person a search found. */
static void log_reads(PGconn *c, const gw_route *rt, const gw_user *u, const char *tenant, const params *pp,
                      const ProtobufCMessage *reply)
{
    at_error err;
    const char *key = NULL;
    switch (rt->log) {
    case GW_LOG_PERSON:
        key = param(pp, "person_key");
        if (!key)
            key = param(pp, "person");
        break;
    case GW_LOG_HOUSEHOLD:
        key = param(pp, "household_key");
        break;
    case GW_LOG_APPLICATION: key = param(pp, "application_id"); break;
    case GW_LOG_CASE: {
        const Atb__V1__CaseHistory *h = (const Atb__V1__CaseHistory *)reply;
        gw_access_record(c, u->login, tenant, rt->name, "case", param(pp, "case_key"), "read", 200, &err);
        if (h->person_key && *h->person_key)
            gw_access_record(c, u->login, tenant, rt->name, "person", h->person_key, "read", 200, &err);
        return;
    }
    case GW_LOG_SEARCH: {
        const Atb__V1__PersonList *l = (const Atb__V1__PersonList *)reply;
        for (size_t i = 0; i < l->n_persons; i++)
            gw_access_record(c, u->login, tenant, rt->name, "person", l->persons[i]->person_key, "read", 200, &err);
        return;
    }
    default: return;
    }
    static const char *const kinds[] = {"", "person", "household", "application", "search"};
    /* the household's own page (other household routes record the household only) */
    if (rt->log == GW_LOG_HOUSEHOLD && reply && reply->descriptor == &atb__v1__household_view__descriptor) {
        /* a household is the file of each of its members: record each */
        const Atb__V1__HouseholdView *h = (const Atb__V1__HouseholdView *)reply;
        gw_access_record(c, u->login, tenant, rt->name, "household", h->household_key, "read", 200, &err);
        for (size_t i = 0; i < h->n_members; i++)
            gw_access_record(c, u->login, tenant, rt->name, "person", h->members[i]->person_key, "read", 200, &err);
        return;
    }
    gw_access_record(c, u->login, tenant, rt->name, kinds[rt->log], key ? key : "", "read", 200, &err);
}

/* The command id a client's Idempotency-Key stands for: derived from the user, the
 * municipality and the key, so the same user's retry is the same command (the service
 * answers it as a duplicate), while the same key sent by another user, or in another
 * municipality, is another command: a key guessed or copied never returns someone else's
 * result. The key's case does not matter. */
static void command_id_of(const char *login, const char *tenant, const char *key, char out[40])
{
    /* the gateway's own namespace for at_uuid_derive; never change it (retries across an
     * upgrade would stop deduplicating) */
    static const char ns[] = "3f0c6a52-9d1e-5b47-8a2c-6e4b1d7f0a93";
    char name[256], lower[40];
    size_t i = 0;
    for (; key[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)key[i]);
    lower[i] = 0;
    /* '\n' cannot occur in a login, a tenant code or a UUID: the parts cannot run together */
    snprintf(name, sizeof name, "gateway-command\n%s\n%s\n%s", login, tenant ? tenant : "", lower);
    at_uuid_derive(ns, name, out);
}

static void call_service(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant,
                         const params *pp, gw_resp *rs)
{
    json_t *in = NULL;
    bool is_cmd = strcmp(rt->kind, "cmd") == 0;
    if (strcmp(rq->method, "GET") == 0) {
        in = query_json(rq->query, rt->request, rs);
        if (!in)
            return;
    } else {
        if (rq->query && *rq->query) {
            gw_error(rs, 400, "validation", "query", "this call takes no query parameters",
                     "Send the fields in the JSON body.", NULL);
            return;
        }
        json_error_t je;
        in = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &je);
        if (!in) {
            char detail[256];
            snprintf(detail, sizeof detail, "At line %d, column %d: %s.", je.line, je.column, je.text);
            gw_error(rs, 400, "validation", "body", "body is not valid JSON", detail,
                     "Send one JSON object, UTF-8, with Content-Type application/json.");
            return;
        }
        if (!json_is_object(in)) {
            json_decref(in);
            gw_error(rs, 400, "validation", "body", "body must be a JSON object", NULL, NULL);
            return;
        }
        if (json_object_get(in, "meta")) {
            json_decref(in);
            gw_error(rs, 400, "validation", "meta", "meta is set by the gateway",
                     "The command id, the actor and the municipality come from the request: the "
                     "Idempotency-Key header, the signed-in user and the path.",
                     NULL);
            return;
        }
    }
    /* Path values name fields of the message too; a body that says otherwise is refused. */
    for (int i = 0; i < pp->n; i++) {
        if (strcmp(pp->name[i], "tenant") == 0)
            continue;
        json_t *have = json_object_get(in, pp->name[i]);
        if (have && !(json_is_string(have) && strcmp(json_string_value(have), pp->value[i]) == 0)) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s differs from the path", pp->name[i]);
            json_decref(in);
            gw_error(rs, 400, "validation", pp->name[i], msg, "Leave it out of the body: the path names it.", NULL);
            return;
        }
        json_object_set_new(in, pp->name[i], json_string(pp->value[i]));
    }
    at_error err;
    at_error_clear(&err);
    ProtobufCMessage *msg = malloc(rt->request->sizeof_message);
    if (!msg) {
        json_decref(in);
        gw_error(rs, 500, "internal", NULL, "out of memory", NULL, NULL);
        return;
    }
    rt->request->message_init(msg);
    if (cli_json_fill(in, msg, "", NULL, &err) != AT_OK) {
        json_decref(in);
        protobuf_c_message_free_unpacked(msg, NULL);
        gw_error_at(rs, &err);
        return;
    }
    json_decref(in);
    char command_id[40], actor[80], client_key[40];
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    if (is_cmd) {
        if (rq->idempotency_key[0])
            snprintf(client_key, sizeof client_key, "%s", rq->idempotency_key);
        else
            at_uuid_v4(client_key);
        command_id_of(u->login, tenant, client_key, command_id);
        snprintf(actor, sizeof actor, "user:%s", u->login);
        meta.command_id = command_id;
        meta.actor = actor;
        /* field 1 of every command is its CommandMeta; the table only names commands */
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(rt->request, 1);
        *(Atb__V1__CommandMeta **)((char *)msg + f->offset) = &meta;
    }
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s.%s.%s.%s", bus_prefix(g->bus), rt->kind, tenant, rt->service, rt->name);
    natsMsg *m = NULL;
    at_code rc = bus_request(g->bus, subject, msg, g->cfg.call_timeout_ms, &m, &err);
    if (is_cmd) {
        /* meta is on the stack: detach it before the message is freed */
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(rt->request, 1);
        *(Atb__V1__CommandMeta **)((char *)msg + f->offset) = NULL;
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc != AT_OK) {
        char detail[400];
        snprintf(detail, sizeof detail, "The %s service did not answer: %s.%s%s", rt->service, err.message,
                 is_cmd ? " The command may have been done: send it again with the Idempotency-Key " : "",
                 is_cmd ? client_key : "");
        gw_error(rs, 503, "unavailable", NULL, "service unavailable", detail, "Try again in a moment.");
        return;
    }
    ProtobufCMessage *reply = protobuf_c_message_unpack(rt->reply, NULL, (size_t)natsMsg_GetDataLength(m),
                                                        (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    if (!reply) {
        gw_error(rs, 502, "malformed", NULL, "the service sent a reply that does not decode", NULL,
                 "Check that the gateway and the services are the same version.");
        return;
    }
    const Atb__V1__Error *e = reply_error(reply);
    if (e) {
        char code[32];
        snprintf(code, sizeof code, "%s", at_code_name((at_code)e->code));
        for (char *p = code; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        /* the error, and the key of the record it names (an existing person, say) */
        json_t *full = cli_pb_to_json(reply);
        json_t *j = json_object();
        json_t *key = json_object_get(full, "key");
        if (json_is_string(key) && *json_string_value(key))
            json_object_set(j, "key", key);
        json_decref(full);
        int status = gw_status_of((int)e->code);
        json_t *ej = json_object();
        json_object_set_new(ej, "code", json_string(code));
        json_object_set_new(ej, "message", json_string(e->message ? e->message : ""));
        if (e->detail && *e->detail)
            json_object_set_new(ej, "detail", json_string(e->detail));
        if (e->hint && *e->hint)
            json_object_set_new(ej, "hint", json_string(e->hint));
        if (e->field && *e->field)
            json_object_set_new(ej, "field", json_string(e->field));
        json_object_set_new(j, "error", ej);
        if (is_cmd)
            json_object_set_new(j, "command_id", json_string(command_id));
        gw_json(rs, status, j);
    } else {
        json_t *j = cli_pb_to_json(reply);
        json_object_del(j, "error");
        if (is_cmd)
            json_object_set_new(j, "command_id", json_string(command_id));
        int status = 200;
        if (is_cmd) {
            const Atb__V1__CommandReply *cr = rt->reply == &atb__v1__command_reply__descriptor
                                                  ? (const Atb__V1__CommandReply *)reply : NULL;
            status = cr && cr->duplicate ? 200 : 201;
        }
        if (rt->log) {
            PGconn *c = gw_db_get(g->db);
            log_reads(c, rt, u, tenant, pp, reply);
            gw_db_put(g->db, c);
        }
        gw_json(rs, status, j);
    }
    protobuf_c_message_free_unpacked(reply, NULL);
}

/* ---- the request --------------------------------------------------------------------- */

static bool csrf_equal(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || strlen(a) != n)
        return false;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

void gw_api_handle(gw *g, const gw_req *rq, gw_resp *rs)
{
    const gw_route *rt = NULL;
    bool path_known = false;
    params pp;
    for (size_t i = 0; i < gw_n_routes; i++) {
        params p;
        if (!match(gw_routes[i].pattern, rq->path, &p))
            continue;
        path_known = true;
        if (strcmp(gw_routes[i].method, rq->method) == 0) {
            rt = &gw_routes[i];
            pp = p;
            break;
        }
    }
    if (!rt) {
        if (path_known)
            gw_error(rs, 405, "method_not_allowed", NULL, "method not allowed on this path", NULL,
                     "GET /api/v1/routes lists every path and its methods.");
        else
            gw_error(rs, 404, "not_found", NULL, "no such path", NULL,
                     "GET /api/v1/routes lists every path and its methods.");
        return;
    }
    for (int i = 0; i < pp.n; i++) {
        if (!value_safe(pp.value[i])) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s is not valid", pp.name[i]);
            gw_error(rs, 400, "validation", pp.name[i], msg,
                     "Keys are UUIDs and municipalities codes: letters, digits, '-' and '_'.", NULL);
            return;
        }
    }
    if (rq->body_too_large) {
        char detail[128];
        snprintf(detail, sizeof detail, "The API reads bodies of at most %d bytes.", GW_MAX_BODY);
        gw_error(rs, 400, "validation", "body", "body is too large", detail, NULL);
        return;
    }
    if (rq->idempotency_key[0] && !at_uuid_valid(rq->idempotency_key)) {
        gw_error(rs, 400, "validation", "Idempotency-Key", "Idempotency-Key is not a UUID",
                 "A retry sends the same UUID as the first attempt; a new command sends none or a new one.", NULL);
        return;
    }
    if (rt->public_route) {
        rt->fn(g, rt, rq, NULL, NULL, rs);
        return;
    }
    gw_user u;
    bool found = false;
    at_error err;
    at_error_clear(&err);
    PGconn *c = gw_db_get(g->db);
    at_code rc = gw_session_user(c, &g->cfg, g->sessions, rq->session, &found, &u, &err);
    gw_db_put(g->db, c);
    if (rc != AT_OK) {
        gw_error_at(rs, &err);
        return;
    }
    if (!found) {
        gw_error(rs, 401, "unauthenticated", NULL, "not signed in", "There is no session, or it has ended.",
                 "Sign in with POST /api/v1/session.");
        return;
    }
    snprintf(rs->log_login, sizeof rs->log_login, "%s", u.login);
    if (strcmp(rq->method, "GET") != 0 && !csrf_equal(rq->csrf, u.csrf)) {
        gw_error(rs, 403, "csrf", "X-CSRF-Token", rq->csrf[0] ? "CSRF token is wrong" : "CSRF token is missing",
                 "Every call that changes something carries the session's CSRF token in the X-CSRF-Token header.",
                 "GET /api/v1/session returns the token.");
        return;
    }
    const char *tenant = param(&pp, "tenant");
    if (tenant) {
        unsigned roles = gw_user_roles(&u, tenant);
        if (roles == 0 || (rt->roles && !(roles & rt->roles))) {
            /* a refusal to see someone's file is recorded like a read */
            const char *key = param(&pp, "person_key");
            const char *kind = "person";
            if (!key)
                key = param(&pp, "person");
            if (!key && (key = param(&pp, "household_key")))
                kind = "household";
            if (!key && (key = param(&pp, "application_id")))
                kind = "application";
            c = gw_db_get(g->db);
            gw_access_record(c, u.login, tenant, rt->name ? rt->name : rt->pattern, key ? kind : "search",
                             key ? key : "", "denied", 403, &err);
            gw_db_put(g->db, c);
            char msg[160];
            if (roles == 0)
                snprintf(msg, sizeof msg, "municipality \"%.64s\" is not granted to you", tenant);
            else
                snprintf(msg, sizeof msg, "your role in \"%.64s\" may not do this", tenant);
            gw_error(rs, 403, "forbidden", "tenant", msg,
                     "Each user sees only the municipalities an administrator granted, with the role granted "
                     "there. This refusal is recorded in the access log.",
                     NULL);
            return;
        }
    }
    if (rt->fn) {
        rt->fn(g, rt, rq, &u, tenant, rs);
        return;
    }
    call_service(g, rt, rq, &u, tenant, &pp, rs);
}

/* ---- the gateway's own routes ---------------------------------------------------------- */

static json_t *user_json(const gw_user *u)
{
    json_t *grants = json_array();
    for (int i = 0; i < u->n_grants; i++) {
        const char *role = "";
        static const char *const names[] = {"social_worker", "assistance_officer", "head_of_service",
                                            "accountant", "auditor", "administrator"};
        for (int b = 0; b < 6; b++)
            if (u->grants[i].role == (1u << b))
                role = names[b];
        json_array_append_new(grants, json_pack("{s:s, s:s}", "tenant", u->grants[i].tenant, "role", role));
    }
    return json_pack("{s:s, s:s, s:o, s:s}", "login", u->login, "display_name", u->display_name, "grants", grants,
                     "csrf_token", u->csrf);
}

void gw_route_health(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant, gw_resp *rs)
{
    PGconn *c = gw_db_get(g->db);
    PGresult *r = PQexec(c, "SELECT 1");
    bool pg = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    gw_db_put(g->db, c);
    bool nats = natsConnection_Status(bus_nats(g->bus)) == NATS_CONN_STATUS_CONNECTED;
    gw_json(rs, pg && nats ? 200 : 503,
            json_pack("{s:s, s:b, s:b}", "status", pg && nats ? "ok" : "unavailable", "postgres", pg, "nats", nats));
}

void gw_route_sign_in(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *none, const char *tenant,
                      gw_resp *rs)
{
    json_error_t je;
    json_t *in = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &je);
    const char *login = NULL, *password = NULL;
    if (!in || !json_is_object(in)) {
        json_decref(in);
        gw_error(rs, 400, "validation", "body", "body must be a JSON object {\"login\", \"password\"}", NULL, NULL);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v) {
        if (strcmp(key, "login") != 0 && strcmp(key, "password") != 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field \"%.60s\"", key);
            json_decref(in);
            gw_error(rs, 400, "validation", key, msg, "The fields here are: login, password.", NULL);
            return;
        }
        if (!json_is_string(v)) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s must be a string", key);
            json_decref(in);
            gw_error(rs, 400, "validation", key, msg, NULL, NULL);
            return;
        }
    }
    login = json_string_value(json_object_get(in, "login"));
    password = json_string_value(json_object_get(in, "password"));
    if (!login || !*login || !password || !*password) {
        json_decref(in);
        gw_error(rs, 400, "validation", !login || !*login ? "login" : "password", "login and password are required",
                 NULL, NULL);
        return;
    }
    gw_signin out;
    char token[65];
    gw_user u;
    at_error err;
    at_error_clear(&err);
    PGconn *c = gw_db_get(g->db);
    at_code rc = gw_sign_in(c, &g->cfg, g->sessions, login, password, &out, token, &u, &err);
    /* A login that is no user's is not recorded as typed: it may be a password typed into
     * the wrong field. "(unknown)" cannot be a login (logins have no parentheses). */
    const char *who = out == GW_SIGNIN_UNKNOWN ? "(unknown)" : login;
    if (rc == AT_OK)
        gw_access_record(c, who, "", "SignIn", "user", out == GW_SIGNIN_UNKNOWN ? "" : login,
                         out == GW_SIGNIN_OK ? "signed_in" : "sign_in_refused",
                         out == GW_SIGNIN_OK ? 200 : out == GW_SIGNIN_LOCKED ? 423 : 401, &err);
    gw_db_put(g->db, c);
    /* the request log names the user only once signed in: a password typed into the
     * login field by mistake must not reach the log */
    if (rc == AT_OK && out == GW_SIGNIN_OK)
        snprintf(rs->log_login, sizeof rs->log_login, "%s", u.login);
    json_decref(in);
    if (rc != AT_OK) {
        gw_error_at(rs, &err);
        return;
    }
    if (out == GW_SIGNIN_LOCKED) {
        char detail[160];
        snprintf(detail, sizeof detail, "After %d failed sign-ins in a row the account is locked for %d minutes.",
                 GW_LOCK_AFTER, GW_LOCK_MINUTES);
        gw_error(rs, 423, "locked", "login", "account is locked", detail,
                 "Wait, or ask an administrator to unlock it.");
        return;
    }
    if (out != GW_SIGNIN_OK) {
        gw_error(rs, 401, "unauthenticated", "password", "login or password is wrong", NULL, NULL);
        return;
    }
    char cookie[256];
    snprintf(cookie, sizeof cookie, "atb_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", token,
             g->cfg.session_minutes * 60, g->cfg.cookie_secure ? "; Secure" : "");
    rs->set_cookie = strdup(cookie);
    gw_json(rs, 200, user_json(&u));
}

void gw_route_session(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant,
                      gw_resp *rs)
{
    gw_json(rs, 200, user_json(u));
}

void gw_route_sign_out(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant,
                       gw_resp *rs)
{
    at_error err;
    at_error_clear(&err);
    PGconn *c = gw_db_get(g->db);
    at_code rc = gw_session_end(c, g->sessions, rq->session, &err);
    gw_db_put(g->db, c);
    if (rc != AT_OK) {
        gw_error_at(rs, &err);
        return;
    }
    rs->set_cookie = strdup("atb_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    gw_json(rs, 200, json_pack("{s:b}", "signed_out", 1));
}

void gw_route_access_log(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant,
                         gw_resp *rs)
{
    /* person_key, login and limit filter; the municipality is the path's */
    char person[80] = "", login[80] = "", limit[80] = "200";
    for (const char *q = rq->query; q && *q;) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        char name[32], value[80];
        if (!eq || !url_decode(q, (size_t)(eq - q), name, sizeof name) ||
            !url_decode(eq + 1, len - (size_t)(eq - q) - 1, value, sizeof value)) {
            gw_error(rs, 400, "validation", "query", "query string is not valid", NULL, NULL);
            return;
        }
        if (strcmp(name, "person_key") == 0 && value_safe(value))
            snprintf(person, sizeof person, "%s", value);
        else if (strcmp(name, "login") == 0)
            snprintf(login, sizeof login, "%s", value);
        else if (strcmp(name, "limit") == 0 && strspn(value, "0123456789") == strlen(value) && *value &&
                 strlen(value) < 5)
            snprintf(limit, sizeof limit, "%s", value);
        else {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown or bad parameter \"%.32s\"", name);
            gw_error(rs, 400, "validation", name, msg, "Parameters: person_key, login, limit (1..9999).", NULL);
            return;
        }
        q = amp ? amp + 1 : q + len;
    }
    const char *p[] = {tenant, person, login, limit};
    at_error err;
    at_error_clear(&err);
    PGconn *c = gw_db_get(g->db);
    PGresult *r = gw_sql(c, &err,
                         "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), login,"
                         " action, subject_kind, subject_key, outcome, status FROM gateway.access_log"
                         " WHERE tenant = $1 AND ($2 = '' OR subject_key = $2) AND ($3 = '' OR login = $3)"
                         " ORDER BY id DESC LIMIT $4::int",
                         4, p);
    gw_db_put(g->db, c);
    if (!r) {
        gw_error_at(rs, &err);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "id",
                                             (json_int_t)strtoll(PQgetvalue(r, i, 0), NULL, 10), "at",
                                             PQgetvalue(r, i, 1), "login", PQgetvalue(r, i, 2), "action",
                                             PQgetvalue(r, i, 3), "subject_kind", PQgetvalue(r, i, 4), "subject_key",
                                             PQgetvalue(r, i, 5), "outcome", PQgetvalue(r, i, 6), "status",
                                             atoi(PQgetvalue(r, i, 7))));
    PQclear(r);
    gw_json(rs, 200, json_pack("{s:s, s:o}", "tenant", tenant, "entries", arr));
}

void gw_route_routes(gw *g, const gw_route *rt, const gw_req *rq, const gw_user *u, const char *tenant, gw_resp *rs)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < gw_n_routes; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s}", "method", gw_routes[i].method, "path",
                                             gw_routes[i].pattern));
    gw_json(rs, 200, json_pack("{s:o}", "routes", arr));
}
