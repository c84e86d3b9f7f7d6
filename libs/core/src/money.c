/*
 * money.c -- integer euro cents (see at_money.h).
 *
 * Invariants: no function here produces a value it cannot represent; overflow is reported,
 * never wrapped, and on any failure the output is left untouched. at_cents_muldiv works on
 * the exact 128-bit product and rounds exactly once, by the mode the caller names, so a
 * benefit computed as 80% of a wage or pro-rated by days is the same on every machine.
 *
 * Parsing is strict on purpose: amounts come from caseworkers and rule files, and an amount
 * we "repair" (a third decimal rounded away, "1e3" read as 1000) is a wrong payment.
 */
#include "at_money.h"

#include <stdio.h>
#include <string.h>

bool at_cents_add(at_cents a, at_cents b, at_cents *out)
{
    at_cents r;
    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

bool at_cents_sub(at_cents a, at_cents b, at_cents *out)
{
    at_cents r;
    if (__builtin_sub_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

bool at_cents_mul(at_cents a, int64_t n, at_cents *out)
{
    at_cents r;
    if (__builtin_mul_overflow(a, n, &r))
        return false;
    *out = r;
    return true;
}

/* Whether the truncated quotient q of an inexact division moves one step away from zero.
 * twice_rem = 2 * |remainder| compares the dropped fraction with one half; neg says the
 * exact value is negative. */
static bool steps_away(__int128 q, __int128 twice_rem, __int128 den, bool neg, at_rounding mode)
{
    switch (mode) {
    case AT_ROUND_HALF_UP:
        return twice_rem >= den;
    case AT_ROUND_HALF_EVEN:
        /* On an exact half, go to the even neighbour: away only if q is odd. */
        return twice_rem > den || (twice_rem == den && (q & 1) != 0);
    case AT_ROUND_DOWN:
        return false;
    case AT_ROUND_UP:
        return true;
    case AT_ROUND_FLOOR:
        return neg;
    case AT_ROUND_CEIL:
        return !neg;
    }
    return false;   /* not reached: muldiv checks the mode first */
}

/* A mode outside the enum is a caller's bug; refusing it beats guessing a rounding. */
static bool mode_known(at_rounding mode)
{
    return (unsigned)mode <= (unsigned)AT_ROUND_CEIL;
}

bool at_cents_muldiv(at_cents amount, int64_t num, int64_t den, at_rounding mode, at_cents *out)
{
    if (den <= 0 || !mode_known(mode))
        return false;
    /* |amount * num| <= 2^126, so the product is exact in 128 bits for every int64 input. */
    __int128 p = (__int128)amount * num;
    __int128 q = p / den;     /* C truncates toward zero */
    __int128 rem = p % den;   /* has the sign of p */
    if (rem != 0) {
        bool neg = rem < 0;
        __int128 twice = (neg ? -rem : rem) * 2;   /* < 2 * den, no overflow */
        if (steps_away(q, twice, den, neg, mode))
            q += neg ? -1 : 1;
    }
    if (q > INT64_MAX || q < INT64_MIN)
        return false;
    *out = (at_cents)q;
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static at_code reject(at_error *err, const char *field, const char *s, const char *detail)
{
    at_error_set(err, AT_VALIDATION, field, "invalid amount \"%.40s\"", s);
    at_error_detail(err, "%s", detail);
    at_error_hint(err, "Write euros with a point or a comma before the cents, for example 128.06.");
    return AT_VALIDATION;
}

/* The largest magnitude a cent amount may have: INT64_MAX, or one more when negative. */
static unsigned __int128 limit(bool neg)
{
    return neg ? (unsigned __int128)INT64_MAX + 1 : (unsigned __int128)INT64_MAX;
}

/* The digits of the whole euros at *p, as cents, moving *p past them. Stops accumulating
 * (and sets *too_large) once the value passes what int64 can hold, so any number of digits
 * is safe; the scan goes on so the shape is still checked. */
static unsigned __int128 scan_euros(const char **p, bool neg, bool *too_large)
{
    unsigned __int128 v = 0;
    for (; is_digit(**p); (*p)++) {
        v = v * 10 + (unsigned)(**p - '0');
        if (v * 100 > limit(neg)) {
            *too_large = true;
            v = 0;
        }
    }
    return v * 100;
}

/* The digits after a separator at *p, moving *p past them: their count (0, 1, 2 or more),
 * and in *cents the value of the first two as cents ("5" is 50). */
static int scan_decimals(const char **p, unsigned *cents)
{
    int n = 0;
    unsigned v = 0;
    for (; is_digit(**p); (*p)++, n++)
        if (n < 2)
            v = v * 10 + (unsigned)(**p - '0');
    *cents = n == 1 ? v * 10 : v;
    return n;
}

at_code at_cents_parse(const char *s, const char *field, at_cents *out, at_error *err)
{
    if (!s || !*s)
        return at_error_set(err, AT_VALIDATION, field, "amount is empty");
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (!is_digit(*p))
        return reject(err, field, s, "An amount starts with a digit, after an optional minus sign.");
    bool too_large = false;
    unsigned __int128 v = scan_euros(&p, neg, &too_large);
    if (*p == '.' || *p == ',') {
        p++;
        unsigned cents;
        int decimals = scan_decimals(&p, &cents);
        if (decimals > 2) {
            at_error_set(err, AT_VALIDATION, field, "amount \"%.40s\" has more than two decimals", s);
            at_error_detail(err, "Amounts are in euro cents; a fraction of a cent is not rounded silently.");
            return AT_VALIDATION;
        }
        if (decimals == 0)
            return reject(err, field, s, "A decimal point or comma must be followed by one or two digits.");
        v += cents;
    }
    if (*p == ' ')
        return reject(err, field, s, "An amount has no spaces or thousands separators.");
    if (*p != '\0')
        return reject(err, field, s, "An amount has only digits and one decimal point or comma.");
    if (too_large || v > limit(neg)) {
        at_error_set(err, AT_VALIDATION, field, "amount \"%.40s\" is too large", s);
        at_error_detail(err, "Amounts from -92233720368547758.08 to 92233720368547758.07 can be stored.");
        return AT_VALIDATION;
    }
    /* v <= 2^63 here; negate in unsigned arithmetic so -2^63 does not overflow. */
    *out = neg ? (at_cents)(0 - (uint64_t)v) : (at_cents)(uint64_t)v;
    return AT_OK;
}

int at_cents_format(at_cents c, char *buf, size_t n)
{
    /* Work in unsigned so INT64_MIN, whose magnitude int64 cannot hold, formats correctly. */
    uint64_t u = c < 0 ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
    return snprintf(buf, n, "%s%llu.%02llu", c < 0 ? "-" : "", (unsigned long long)(u / 100),
                    (unsigned long long)(u % 100));
}
