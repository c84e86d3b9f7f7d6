/*
 * at_error.h -- one error shape for the whole of atbalsts.
 *
 * Shaped like a PostgreSQL error report: a code for the program, a short message for
 * the person (lower case, no full stop; "could not" when a retry may succeed, "cannot"
 * when it never will), a detail in full sentences, a hint of what to do, and the field.
 * The numeric codes equal atb.v1.ErrorCode in proto/atb/v1/common.proto; new codes are
 * added last and never removed.
 *
 * at_error is a plain struct the caller owns (usually on the stack). Functions that can
 * fail take an `at_error *err` that may be NULL; on failure they fill it and return its
 * code. Setting an error on NULL is a no-op.
 *
 * Text longer than its field is truncated, never overflowed, and every field is always
 * valid UTF-8 (a cut character is dropped, a byte that is not UTF-8 becomes '?'), because
 * the fields travel in protobuf strings. The format arguments may point into the same
 * at_error, so an error can be wrapped: at_error_set(err, c, err->field, "could not save:
 * %s", err->message). All functions are thread-safe on distinct at_error values.
 */
#ifndef AT_ERROR_H
#define AT_ERROR_H

#include <stdarg.h>

typedef enum at_code {
    AT_OK = 0,
    AT_VALIDATION = 1,
    AT_CONFLICT = 2,
    AT_NOT_FOUND = 3,
    AT_UNAUTHORISED = 4,
    AT_UNKNOWN_TENANT = 5,
    AT_TOO_LARGE = 6,
    AT_MALFORMED = 7,
    AT_INTERNAL = 8,
    AT_UNAVAILABLE = 9,
    AT_UNKNOWN_COMMAND = 10
} at_code;

typedef struct at_error {
    at_code code;
    char field[64];
    char message[192];
    char detail[384];
    char hint[192];
} at_error;

/* Clear err to AT_OK with empty strings. */
void at_error_clear(at_error *err);

/* Set code, field (may be NULL) and the printf-formatted message; clears detail and
 * hint. Returns code, so callers can write `return at_error_set(err, ...)`. */
at_code at_error_set(at_error *err, at_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Set the detail / hint of an error already set. */
void at_error_detail(at_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void at_error_hint(at_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "VALIDATION", "CONFLICT", ...; "UNKNOWN" for a value outside the enum. Never NULL. */
const char *at_code_name(at_code code);

#endif
