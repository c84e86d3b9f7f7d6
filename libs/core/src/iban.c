/*
 * iban.c -- IBAN validation, ISO 13616 (see at_iban.h).
 *
 * One table row per country of the SWIFT IBAN registry: the country code and the BBAN
 * structure in the registry's own notation ("4!a13!c" = 4 letters, then 13 letters or
 * digits; n = digits, a = upper-case letters, c = letters or digits). The length of an IBAN
 * is derived from the structure (4 + the BBAN), so length and structure cannot disagree.
 * The table holds every SEPA country and every other country of the registry; territories
 * that use another country's code (Åland: FI, the French overseas departments: FR,
 * Guernsey, Jersey, Isle of Man: GB) need no row. To add a country, add its row in
 * alphabetical order from the registry and an example to tests/core/test_iban.c.
 *
 * The check is ISO 7064 MOD 97-10 on the rearranged IBAN (the first four characters moved
 * to the end, letters as 10..35). The number has up to 68 digits, so it is reduced piece by
 * piece: each character folds into the running remainder, which stays below 10,000.
 */
#include "at_iban.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct country {
    char cc[3];
    const char *bban;
} country;

static const country countries[] = {
    {"AD", "4!n4!n12!c"},       {"AE", "3!n16!n"},          {"AL", "8!n16!c"},
    {"AT", "5!n11!n"},          {"AZ", "4!a20!c"},          {"BA", "3!n3!n8!n2!n"},
    {"BE", "3!n7!n2!n"},        {"BG", "4!a4!n2!n8!c"},     {"BH", "4!a14!c"},
    {"BI", "5!n5!n11!n2!n"},    {"BR", "8!n5!n10!n1!a1!c"}, {"BY", "4!c4!n16!c"},
    {"CH", "5!n12!c"},          {"CR", "4!n14!n"},          {"CY", "3!n5!n16!c"},
    {"CZ", "4!n6!n10!n"},       {"DE", "8!n10!n"},          {"DJ", "5!n5!n11!n2!n"},
    {"DK", "4!n9!n1!n"},        {"DO", "4!c20!n"},          {"EE", "2!n14!n"},
    {"EG", "4!n4!n17!n"},       {"ES", "4!n4!n1!n1!n10!n"}, {"FI", "3!n11!n"},
    {"FK", "2!a12!n"},          {"FO", "4!n9!n1!n"},        {"FR", "5!n5!n11!c2!n"},
    {"GB", "4!a6!n8!n"},        {"GE", "2!a16!n"},          {"GI", "4!a15!c"},
    {"GL", "4!n9!n1!n"},        {"GR", "3!n4!n16!c"},       {"GT", "4!c20!c"},
    {"HN", "4!a20!n"},          {"HR", "7!n10!n"},          {"HU", "3!n4!n1!n15!n1!n"},
    {"IE", "4!a6!n8!n"},        {"IL", "3!n3!n13!n"},       {"IQ", "4!a3!n12!n"},
    {"IS", "4!n2!n6!n10!n"},    {"IT", "1!a5!n5!n12!c"},    {"JO", "4!a4!n18!c"},
    {"KW", "4!a22!c"},          {"KZ", "3!n13!c"},          {"LB", "4!n20!c"},
    {"LC", "4!a24!c"},          {"LI", "5!n12!c"},          {"LT", "5!n11!n"},
    {"LU", "3!n13!c"},          {"LV", "4!a13!c"},          {"LY", "3!n3!n15!n"},
    {"MC", "5!n5!n11!c2!n"},    {"MD", "2!c18!c"},          {"ME", "3!n13!n2!n"},
    {"MK", "3!n10!c2!n"},       {"MN", "4!n12!n"},          {"MR", "5!n5!n11!n2!n"},
    {"MT", "4!a5!n18!c"},       {"MU", "4!a2!n2!n12!n3!n3!a"}, {"NI", "4!a20!n"},
    {"NL", "4!a10!n"},          {"NO", "4!n6!n1!n"},        {"OM", "3!n16!c"},
    {"PK", "4!a16!c"},          {"PL", "8!n16!n"},          {"PS", "4!a21!c"},
    {"PT", "4!n4!n11!n2!n"},    {"QA", "4!a21!c"},          {"RO", "4!a16!c"},
    {"RS", "3!n13!n2!n"},       {"RU", "9!n5!n15!c"},       {"SA", "2!n18!c"},
    {"SC", "4!a2!n2!n16!n3!a"}, {"SD", "2!n12!n"},          {"SE", "3!n16!n1!n"},
    {"SI", "5!n8!n2!n"},        {"SK", "4!n6!n10!n"},       {"SM", "1!a5!n5!n12!c"},
    {"SO", "4!n3!n12!n"},       {"ST", "8!n11!n2!n"},       {"SV", "4!a20!n"},
    {"TL", "3!n14!n2!n"},       {"TN", "2!n3!n13!n2!n"},    {"TR", "5!n1!n16!c"},
    {"UA", "6!n19!c"},          {"VA", "3!n15!n"},          {"VG", "4!a16!n"},
    {"XK", "4!n10!n2!n"},       {"YE", "4!a4!n18!c"},
};

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

static const country *find_country(const char *cc)
{
    for (size_t i = 0; i < sizeof countries / sizeof countries[0]; i++)
        if (cc[0] == countries[i].cc[0] && cc[1] == countries[i].cc[1])
            return &countries[i];
    return NULL;
}

/* Walk a structure "4!a13!c": each call reads one segment into *count and *type and
 * returns the rest, or NULL at the end. The table is ours, so its shape is trusted. */
static const char *next_segment(const char *f, int *count, char *type)
{
    if (!*f)
        return NULL;
    *count = 0;
    while (is_digit(*f))
        *count = *count * 10 + (*f++ - '0');
    f++;   /* '!' */
    *type = *f++;
    return f;
}

static int iban_length(const country *c)
{
    int len = 4, count;
    char type;
    for (const char *f = c->bban; (f = next_segment(f, &count, &type)) != NULL;)
        len += count;
    return len;
}

static bool char_fits(char ch, char type)
{
    switch (type) {
    case 'n': return is_digit(ch);
    case 'a': return is_upper(ch);
    default:  return is_digit(ch) || is_upper(ch);
    }
}

/* Whether bban (already of the right length) follows c's structure. */
static bool bban_fits(const country *c, const char *bban)
{
    int count;
    char type;
    for (const char *f = c->bban; (f = next_segment(f, &count, &type)) != NULL;)
        for (int i = 0; i < count; i++)
            if (!char_fits(*bban++, type))
                return false;
    return true;
}

static const char *kind_name(char type, int count)
{
    if (count == 1)
        return type == 'n' ? "digit" : type == 'a' ? "letter" : "letter or digit";
    return type == 'n' ? "digits" : type == 'a' ? "letters" : "letters or digits";
}

/* "4 letters, then 13 letters or digits" for the error detail; neighbouring segments of
 * one kind are merged, since the person reading it sees no boundary between them. */
static void describe_bban(const country *c, char *out, size_t n)
{
    size_t used = 0;
    int count, run = 0;
    char type, run_type = 0;
    out[0] = '\0';
    for (const char *f = c->bban;;) {
        f = next_segment(f, &count, &type);
        if (f && type == run_type) {
            run += count;
            continue;
        }
        if (run > 0 && used < n) {
            int w = snprintf(out + used, n - used, "%s%d %s", used ? ", then " : "", run, kind_name(run_type, run));
            used += w > 0 ? (size_t)w : 0;
        }
        if (!f)
            break;
        run = count;
        run_type = type;
    }
}

/* ISO 7064 MOD 97-10 remainder of the rearranged IBAN: characters 4.. then 0..3. */
static unsigned mod97(const char *iban, size_t n)
{
    unsigned rem = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = iban[(i + 4) % n];
        if (is_digit(ch))
            rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(ch - 'A') + 10) % 97;   /* a letter is two digits */
    }
    return rem;
}

/* Copy s to iban without spaces and in upper case. Fills err on a bad character or when
 * longer than AT_IBAN_MAX. */
static at_code normalise(const char *s, const char *field, char iban[AT_IBAN_MAX + 1], size_t *len,
                         at_error *err)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ' ')
            continue;
        if (!is_digit(*p) && !is_upper(*p) && !is_lower(*p)) {
            at_error_set(err, AT_VALIDATION, field, "IBAN contains an invalid character '%c'", *p);
            at_error_detail(err, "An IBAN has only letters and digits; spaces are ignored.");
            return AT_VALIDATION;
        }
        if (n == AT_IBAN_MAX) {
            at_error_set(err, AT_VALIDATION, field, "IBAN is longer than %d characters", AT_IBAN_MAX);
            at_error_detail(err, "No country's IBAN has more than %d letters and digits.", AT_IBAN_MAX);
            return AT_VALIDATION;
        }
        iban[n++] = is_lower(*p) ? (char)(*p - 'a' + 'A') : *p;
    }
    iban[n] = '\0';
    *len = n;
    return AT_OK;
}

at_code at_iban_validate(const char *s, const char *field, char *out, at_error *err)
{
    char iban[AT_IBAN_MAX + 1];
    size_t n;
    at_code rc = normalise(s ? s : "", field, iban, &n, err);
    if (rc != AT_OK)
        return rc;
    if (n < 5 || !is_upper(iban[0]) || !is_upper(iban[1]) || !is_digit(iban[2]) || !is_digit(iban[3])) {
        at_error_set(err, AT_VALIDATION, field, "IBAN must start with a country code and two check digits");
        at_error_detail(err, "For example LV80BANK0000435195001.");
        return AT_VALIDATION;
    }
    const country *c = find_country(iban);
    if (!c) {
        at_error_set(err, AT_VALIDATION, field, "IBAN country code %.2s is not known", iban);
        at_error_detail(err, "The first two letters must be a country of the IBAN registry.");
        return AT_VALIDATION;
    }
    int want = iban_length(c);
    if ((int)n != want) {
        at_error_set(err, AT_VALIDATION, field, "IBAN has %zu characters, %.2s needs %d", n, iban, want);
        at_error_hint(err, "Check for a missing or an extra character.");
        return AT_VALIDATION;
    }
    if (!bban_fits(c, iban + 4)) {
        char what[128];
        describe_bban(c, what, sizeof what);
        at_error_set(err, AT_VALIDATION, field, "IBAN does not match the account format of %.2s", iban);
        at_error_detail(err, "After the country code and check digits, %.2s IBANs have %s.", iban, what);
        return AT_VALIDATION;
    }
    /* 00, 01 and 99 can satisfy MOD 97 but are never issued: the check digits are 98 minus
     * a remainder, so 02..98. */
    int cd = (iban[2] - '0') * 10 + (iban[3] - '0');
    if (cd < 2 || cd > 98 || mod97(iban, n) != 1) {
        at_error_set(err, AT_VALIDATION, field, "IBAN check digits are wrong");
        at_error_detail(err, "The check digits of %s do not match the rest of the number.", iban);
        at_error_hint(err, "Check the account number for a typing mistake.");
        return AT_VALIDATION;
    }
    if (out)
        memcpy(out, iban, n + 1);
    return AT_OK;
}
