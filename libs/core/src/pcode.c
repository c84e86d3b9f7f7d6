/*
 * pcode.c -- Latvian personal code (personas kods) validation (see at_pcode.h).
 *
 * Old format DDMMYY-CNNNN, issued until 30 June 2017: the birth date, the century digit C
 * (0 = 1800s, 1 = 1900s, 2 = 2000s), three serial digits and a check digit. The check digit
 * is (1101 - sum of d_i * w_i) mod 11 over the first ten digits, w = 1,6,3,7,9,10,5,8,4,2.
 * Every public description of the rule uses these weights. They differ on a remainder of
 * 10: some validators write it as the digit 0 ("mod 11 mod 10"), others treat it as no
 * digit at all. We take the second: a code must equal its check value, and 10 is not a
 * digit, so such a serial number cannot have been issued with a check digit; the
 * validators that fold 10 into 0 say themselves that their rule is unconfirmed. If a real
 * code is ever refused for this reason, the fix is here (check_digit) and nowhere else.
 *
 * New format, issued from 1 July 2017: no birth date. The Population Register Law, as the
 * Office of Citizenship and Migration Affairs (PMLP) describes it, makes the first digit 3,
 * the second a random digit 2..9 and the other nine random digits 0..9. It names no check
 * digit, while some third-party validators apply the old checksum to these codes too.
 * Because sources disagree, and refusing a real person's code would block their
 * application, a new-format code is accepted on its shape alone: eleven digits starting
 * with 3 and then 2..9 (codes seen so far start with 32). This cannot be confused
 * with an old code, whose first two digits are a day of the month, 01..31.
 */
#include "at_pcode.h"

#include <stdio.h>
#include <string.h>

#define SHAPE_DETAIL "A personal code is written DDMMYY-CNNNN or 32NNNN-NNNNN; the dash is optional."

static const int weights[10] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int num2(const char *d)
{
    return (d[0] - '0') * 10 + (d[1] - '0');
}

/* Copy the eleven digits of s into d, dropping the one dash allowed after the sixth digit.
 * A bad character is reported before a wrong count, since it is the likelier cause.
 * Fills err on failure. */
static at_code take_digits(const char *s, const char *field, char d[11], at_error *err)
{
    size_t n = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '-' && i == 6)
            continue;
        if (!is_digit(s[i])) {
            at_error_set(err, AT_VALIDATION, field, "personal code may contain only digits and a dash after the sixth digit");
            at_error_detail(err, SHAPE_DETAIL);
            return AT_VALIDATION;
        }
        if (n < 11)
            d[n] = s[i];
        n++;
    }
    if (n != 11) {
        at_error_set(err, AT_VALIDATION, field, "personal code must have 11 digits");
        at_error_detail(err, "It has %zu. " SHAPE_DETAIL, n);
        return AT_VALIDATION;
    }
    return AT_OK;
}

/* The check value of the first ten digits, 0..10; 10 matches no digit. */
static int check_digit(const char d[11])
{
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += (d[i] - '0') * weights[i];
    return (1101 - sum) % 11;   /* sum <= 9 * 55 = 495, so 1101 - sum stays positive */
}

static bool is_new_format(const char d[11])
{
    return d[0] == '3' && d[1] >= '2';
}

static at_code validate_old(const char d[11], const char *field, at_pcode *pc, at_error *err)
{
    int century = d[6] - '0';
    if (century > 2) {
        at_error_set(err, AT_VALIDATION, field, "personal code has an invalid century digit %c", d[6]);
        at_error_detail(err, "The seventh digit of an old-format code is 0 (1800s), 1 (1900s) or 2 (2000s).");
        return AT_VALIDATION;
    }
    int year = 1800 + century * 100 + num2(d + 4);
    if (!at_date_from_ymd(year, num2(d + 2), num2(d), &pc->birth_date)) {
        at_error_set(err, AT_VALIDATION, field, "personal code contains a date that does not exist");
        at_error_detail(err, "The first six digits %.6s with century digit %c give a day that is not in the calendar.",
                        d, d[6]);
        at_error_hint(err, "Check the code for a typing mistake.");
        return AT_VALIDATION;
    }
    if (check_digit(d) != d[10] - '0') {
        at_error_set(err, AT_VALIDATION, field, "personal code checksum is wrong");
        at_error_detail(err, "The last digit of %s does not match the check digit of the first ten.",
                        pc->normalised);
        at_error_hint(err, "Check the code for a typing mistake.");
        return AT_VALIDATION;
    }
    pc->kind = AT_PCODE_OLD;
    return AT_OK;
}

at_code at_pcode_validate(const char *s, const char *field, at_pcode *out, at_error *err)
{
    char d[11];
    at_code rc = take_digits(s ? s : "", field, d, err);
    if (rc != AT_OK)
        return rc;
    at_pcode pc;
    memset(&pc, 0, sizeof pc);
    snprintf(pc.normalised, sizeof pc.normalised, "%.6s-%.5s", d, d + 6);
    if (is_new_format(d)) {
        pc.kind = AT_PCODE_NEW;
        pc.birth_date = AT_DATE_NONE;
    } else if ((rc = validate_old(d, field, &pc, err)) != AT_OK) {
        return rc;
    }
    if (out)
        *out = pc;
    return AT_OK;
}
