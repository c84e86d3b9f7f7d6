/*
 * at_money.h -- money as integer euro cents. Never float.
 *
 * Every operation that can lose a fraction of a cent takes an explicit rounding mode,
 * and every operation that can overflow reports it.
 */
#ifndef AT_MONEY_H
#define AT_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "at_error.h"

typedef int64_t at_cents;

typedef enum at_rounding {
    AT_ROUND_HALF_UP,   /* half away from zero: 0.005 -> 0.01, -0.005 -> -0.01 (Latvian accounting) */
    AT_ROUND_HALF_EVEN, /* banker's rounding */
    AT_ROUND_DOWN,      /* toward zero (truncate) */
    AT_ROUND_UP,        /* away from zero */
    AT_ROUND_FLOOR,     /* toward minus infinity */
    AT_ROUND_CEIL       /* toward plus infinity */
} at_rounding;

/* a + b / a - b / a * n into *out; false (and *out untouched) on int64 overflow. */
bool at_cents_add(at_cents a, at_cents b, at_cents *out);
bool at_cents_sub(at_cents a, at_cents b, at_cents *out);
bool at_cents_mul(at_cents a, int64_t n, at_cents *out);

/* amount * num / den, rounded by mode, computed without intermediate overflow for
 * |amount| and |num| below 2^62 (128-bit intermediate). den must be > 0.
 * Used for percentages (80% of the minimum wage: num 80, den 100), coefficients (0.7: 7/10)
 * and pro-rating (days 17/31). Returns false (and *out untouched) on overflow, den <= 0 or
 * a mode outside at_rounding. */
bool at_cents_muldiv(at_cents amount, int64_t num, int64_t den, at_rounding mode, at_cents *out);

/* Parse a decimal euro amount: "128.06", "64", "64.5", "-3.10", "+7"; "1 234.50" is refused.
 * At most two decimals (a third is a VALIDATION error, not silently rounded). A comma is
 * accepted as the decimal separator ("128,06"). Nothing else is: no spaces, exponents,
 * thousands separators or bare ".5". Every value at_cents_format writes parses back.
 * field names the input in the error; *out is untouched on error. */
at_code at_cents_parse(const char *s, const char *field, at_cents *out, at_error *err);

/* Format as "128.06" / "-0.50" / "0.00" into buf (at least 24 bytes for any value).
 * Returns the length written. */
int at_cents_format(at_cents c, char *buf, size_t n);

#endif
