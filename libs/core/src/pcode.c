/*
 * pcode.c -- Latvian personal code validation (see at_pcode.h).
 *
 * Old format DDMMYY-CNNNN: C is the century (0 1800s, 1 1900s, 2 2000s) and the last digit
 * is a check digit: (1101 - sum of digit_i * w_i) mod 11 with w = 1,6,3,7,9,10,5,8,4,2
 * over the first ten digits. When that remainder is 10 no digit can match, so such a code
 * is invalid (a code with that remainder is never issued).
 * New format (issued from 1 July 2017): no birth date; the first digit is 3 and the second
 * 2..9 (codes seen so far start with 32), as the Office of Citizenship and Migration Affairs
 * describes it. No check digit is published for it, so it is accepted on its shape alone.
 * It cannot be taken for an old code, whose first two digits are a day of the month 01..31.
 */
#include "at_pcode.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const int weights[10] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};

/* Copy the 11 digits of s into d (dash after the sixth digit optional). */
static int take_digits(const char *s, char d[11])
{
    size_t len = strlen(s);
    if (len == 12 && s[6] == '-') {
        memcpy(d, s, 6);
        memcpy(d + 6, s + 7, 5);
    } else if (len == 11) {
        memcpy(d, s, 11);
    } else {
        return -1;
    }
    for (int i = 0; i < 11; i++)
        if (!isdigit((unsigned char)d[i]))
            return -2;
    return 0;
}

static int check_digit(const char d[11])
{
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += (d[i] - '0') * weights[i];
    return (1101 - sum) % 11;
}

at_code at_pcode_validate(const char *s, const char *field, at_pcode *out, at_error *err)
{
    char d[11];
    int r = take_digits(s ? s : "", d);
    if (r == -1) {
        at_error_set(err, AT_VALIDATION, field, "personal code must have 11 digits");
        at_error_detail(err, "A personal code is written DDMMYY-CNNNN or 32NNNN-NNNNN; the dash is optional.");
        return AT_VALIDATION;
    }
    if (r == -2) {
        at_error_set(err, AT_VALIDATION, field, "personal code may contain only digits and one dash");
        at_error_detail(err, "A personal code is written DDMMYY-CNNNN or 32NNNN-NNNNN; the dash is optional.");
        return AT_VALIDATION;
    }
    at_pcode pc;
    memset(&pc, 0, sizeof pc);
    snprintf(pc.normalised, sizeof pc.normalised, "%.6s-%.5s", d, d + 6);
    if (d[0] == '3' && d[1] >= '2') {
        pc.kind = AT_PCODE_NEW;
        pc.birth_date = AT_DATE_NONE;
    } else {
        int day = (d[0] - '0') * 10 + (d[1] - '0');
        int mon = (d[2] - '0') * 10 + (d[3] - '0');
        int yy = (d[4] - '0') * 10 + (d[5] - '0');
        int century = d[6] - '0';
        if (century > 2) {
            at_error_set(err, AT_VALIDATION, field, "personal code has an invalid century digit %c", d[6]);
            at_error_detail(err, "The seventh digit of an old-format code is 0 (1800s), 1 (1900s) or 2 (2000s).");
            return AT_VALIDATION;
        }
        if (!at_date_from_ymd(1800 + century * 100 + yy, mon, day, &pc.birth_date)) {
            at_error_set(err, AT_VALIDATION, field, "personal code contains a date that does not exist");
            at_error_detail(err, "The first six digits %.6s must be a birth date DDMMYY.", d);
            return AT_VALIDATION;
        }
        int check = check_digit(d);
        if (check == 10 || check != d[10] - '0') {
            at_error_set(err, AT_VALIDATION, field, "personal code checksum is wrong");
            at_error_detail(err, "The last digit of %s does not match the check digit of the first ten.",
                            pc.normalised);
            at_error_hint(err, "Check the code for a typing mistake.");
            return AT_VALIDATION;
        }
        pc.kind = AT_PCODE_OLD;
    }
    if (out)
        *out = pc;
    return AT_OK;
}
