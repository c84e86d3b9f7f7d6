/*
 * money.c -- integer euro cents (see at_money.h).
 *
 * Invariant: no function here ever produces a value it could not represent; overflow is
 * reported, never wrapped. muldiv uses a 128-bit intermediate so percentages and pro-rating
 * of any realistic amount are exact before the one explicit rounding step.
 */
#include "at_money.h"

#include <ctype.h>
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

/* Round the exact quotient q + rem/den (den > 0, rem has the sign of the dividend) by mode. */
static __int128 round_quotient(__int128 q, __int128 rem, __int128 den, at_rounding mode)
{
    if (rem == 0)
        return q;
    int neg = rem < 0;                       /* the true value lies below q if negative */
    __int128 arem = neg ? -rem : rem;
    __int128 twice = arem * 2;
    int away;                                /* round away from zero? */
    switch (mode) {
    case AT_ROUND_HALF_UP:   away = twice >= den; break;
    case AT_ROUND_HALF_EVEN: away = twice > den || (twice == den && (q & 1)); break;
    case AT_ROUND_DOWN:      away = 0; break;
    case AT_ROUND_UP:        away = 1; break;
    case AT_ROUND_FLOOR:     away = neg; break;
    case AT_ROUND_CEIL:      away = !neg; break;
    default:                 away = twice >= den; break;
    }
    if (!away)
        return q;
    return neg ? q - 1 : q + 1;
}

bool at_cents_muldiv(at_cents amount, int64_t num, int64_t den, at_rounding mode, at_cents *out)
{
    if (den <= 0)
        return false;
    __int128 p = (__int128)amount * num;    /* |amount|,|num| < 2^63: fits in 127 bits */
    __int128 q = p / den;                   /* truncates toward zero */
    __int128 rem = p % den;                 /* sign of p */
    __int128 r = round_quotient(q, rem, den, mode);
    if (r > INT64_MAX || r < INT64_MIN)
        return false;
    *out = (at_cents)r;
    return true;
}

at_code at_cents_parse(const char *s, const char *field, at_cents *out, at_error *err)
{
    if (!s || !*s)
        return at_error_set(err, AT_VALIDATION, field, "amount is empty");
    const char *p = s;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (!isdigit((unsigned char)*p)) {
        at_error_set(err, AT_VALIDATION, field, "invalid amount \"%.40s\"", s);
        at_error_detail(err, "An amount is euros with at most two decimals, such as 128.06.");
        return AT_VALIDATION;
    }
    __int128 euros = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        euros = euros * 10 + (*p - '0');
        if (++digits > 16)
            return at_error_set(err, AT_VALIDATION, field, "amount \"%.40s\" is too large", s);
        p++;
    }
    int cents = 0, decimals = 0;
    if (*p == '.' || *p == ',') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (++decimals > 2) {
                at_error_set(err, AT_VALIDATION, field, "amount \"%.40s\" has more than two decimals", s);
                at_error_detail(err, "Amounts are in euro cents; a fraction of a cent is not rounded silently.");
                return AT_VALIDATION;
            }
            cents = cents * 10 + (*p - '0');
            p++;
        }
        if (decimals == 0) {
            at_error_set(err, AT_VALIDATION, field, "invalid amount \"%.40s\"", s);
            at_error_detail(err, "A decimal separator must be followed by one or two digits.");
            return AT_VALIDATION;
        }
        if (decimals == 1)
            cents *= 10;
    }
    if (*p != '\0') {
        at_error_set(err, AT_VALIDATION, field, "invalid amount \"%.40s\"", s);
        at_error_detail(err, "An amount is euros with at most two decimals, such as 128.06.");
        return AT_VALIDATION;
    }
    __int128 v = euros * 100 + cents;
    if (neg)
        v = -v;
    if (v > INT64_MAX || v < INT64_MIN)
        return at_error_set(err, AT_VALIDATION, field, "amount \"%.40s\" is too large", s);
    *out = (at_cents)v;
    return AT_OK;
}

int at_cents_format(at_cents c, char *buf, size_t n)
{
    /* Work in unsigned so INT64_MIN formats correctly. */
    uint64_t u = c < 0 ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
    return snprintf(buf, n, "%s%llu.%02llu", c < 0 ? "-" : "", (unsigned long long)(u / 100),
                    (unsigned long long)(u % 100));
}
