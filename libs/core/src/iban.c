/*
 * iban.c -- IBAN validation, ISO 13616 (see at_iban.h).
 *
 * The length table covers the countries of the SWIFT IBAN registry that payments can meet
 * (all SEPA countries and their neighbours). The mod-97 check runs digit by digit on the
 * rearranged string, so no big integers are needed.
 */
#include "at_iban.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct {
    char cc[3];
    int len;
} lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
    {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
    {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

static int country_length(const char *cc)
{
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
        if (cc[0] == lengths[i].cc[0] && cc[1] == lengths[i].cc[1])
            return lengths[i].len;
    return 0;
}

at_code at_iban_validate(const char *s, const char *field, char *out, at_error *err)
{
    char iban[AT_IBAN_MAX + 1];
    size_t n = 0;
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == ' ')
            continue;
        if (!isalnum((unsigned char)*p)) {
            at_error_set(err, AT_VALIDATION, field, "IBAN contains an invalid character '%c'", *p);
            at_error_detail(err, "An IBAN has only letters and digits; spaces are ignored.");
            return AT_VALIDATION;
        }
        if (n == AT_IBAN_MAX)
            return at_error_set(err, AT_VALIDATION, field, "IBAN is longer than %d characters", AT_IBAN_MAX);
        iban[n++] = (char)toupper((unsigned char)*p);
    }
    iban[n] = '\0';
    if (n < 5 || !isalpha((unsigned char)iban[0]) || !isalpha((unsigned char)iban[1]) ||
        !isdigit((unsigned char)iban[2]) || !isdigit((unsigned char)iban[3])) {
        at_error_set(err, AT_VALIDATION, field, "IBAN must start with a country code and two check digits");
        at_error_detail(err, "For example LV80BANK0000435195001.");
        return AT_VALIDATION;
    }
    int want = country_length(iban);
    if (want == 0)
        return at_error_set(err, AT_VALIDATION, field, "IBAN country code %.2s is not known", iban);
    if ((int)n != want) {
        at_error_set(err, AT_VALIDATION, field, "IBAN has %zu characters, %.2s needs %d", n, iban, want);
        return AT_VALIDATION;
    }
    /* Move the first four characters to the end, letters to 10..35, then mod 97. */
    unsigned rem = 0;
    for (size_t i = 0; i < n; i++) {
        char c = iban[(i + 4) % n];
        if (isdigit((unsigned char)c)) {
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        } else {
            unsigned v = (unsigned)(c - 'A') + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    if (rem != 1) {
        at_error_set(err, AT_VALIDATION, field, "IBAN check digits are wrong");
        at_error_detail(err, "The check digits of %s do not match the rest of the number.", iban);
        at_error_hint(err, "Check the account number for a typing mistake.");
        return AT_VALIDATION;
    }
    if (out)
        memcpy(out, iban, n + 1);
    return AT_OK;
}
