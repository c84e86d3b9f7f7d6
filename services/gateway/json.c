/*
 * json.c -- JSON responses and the mapping of error codes to HTTP statuses.
 *
 * Every error the API answers has the same shape as a service's error (PostgreSQL-like):
 * {"error":{"code":"validation","message":"...","detail":"...","hint":"...","field":"..."}}.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

void gw_json(gw_resp *rs, int status, json_t *j)
{
    free(rs->body);
    rs->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!rs->body) {
        /* only a string that is not UTF-8 makes jansson refuse; the services check theirs */
        status = 500;
        rs->body = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"could not format the answer\"}}");
    }
    rs->len = rs->body ? strlen(rs->body) : 0;
    rs->status = status;
    rs->content_type = "application/json; charset=utf-8";
}

void gw_error(gw_resp *rs, int status, const char *code, const char *field, const char *message,
              const char *detail, const char *hint)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(code));
    json_object_set_new(e, "message", json_string(message ? message : ""));
    if (detail && *detail)
        json_object_set_new(e, "detail", json_string(detail));
    if (hint && *hint)
        json_object_set_new(e, "hint", json_string(hint));
    if (field && *field)
        json_object_set_new(e, "field", json_string(field));
    gw_json(rs, status, json_pack("{s:o}", "error", e));
}

int gw_status_of(int code)
{
    switch (code) {
    case AT_VALIDATION: return 400;
    case AT_CONFLICT: return 409;
    case AT_NOT_FOUND: return 404;
    case AT_UNAUTHORISED: return 403;
    case AT_UNKNOWN_TENANT: return 404;
    case AT_TOO_LARGE: return 413;
    case AT_MALFORMED: return 400;
    case AT_UNAVAILABLE: return 503;
    case AT_UNKNOWN_COMMAND: return 404;
    default: return 500;
    }
}

void gw_error_at(gw_resp *rs, const at_error *err)
{
    char code[32];
    snprintf(code, sizeof code, "%s", at_code_name(err->code));
    for (char *p = code; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    gw_error(rs, gw_status_of(err->code), code, err->field, err->message, err->detail, err->hint);
}
