/*
 * error.c -- at_error: one error shape for every library (see at_error.h).
 *
 * Strings are truncated to their fixed buffers, never overflowed; a NULL err makes every
 * call a no-op so callers that do not care about the text may pass NULL.
 */
#include "at_error.h"

#include <stdio.h>
#include <string.h>

void at_error_clear(at_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
}

at_code at_error_set(at_error *err, at_code code, const char *field, const char *fmt, ...)
{
    if (!err)
        return code;
    at_error_clear(err);
    err->code = code;
    if (field)
        snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

void at_error_detail(at_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
}

void at_error_hint(at_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof err->hint, fmt, ap);
    va_end(ap);
}

const char *at_code_name(at_code code)
{
    switch (code) {
    case AT_OK: return "OK";
    case AT_VALIDATION: return "VALIDATION";
    case AT_CONFLICT: return "CONFLICT";
    case AT_NOT_FOUND: return "NOT_FOUND";
    case AT_UNAUTHORISED: return "UNAUTHORISED";
    case AT_UNKNOWN_TENANT: return "UNKNOWN_TENANT";
    case AT_TOO_LARGE: return "TOO_LARGE";
    case AT_MALFORMED: return "MALFORMED";
    case AT_INTERNAL: return "INTERNAL";
    case AT_UNAVAILABLE: return "UNAVAILABLE";
    case AT_UNKNOWN_COMMAND: return "UNKNOWN_COMMAND";
    }
    return "UNKNOWN";
}
