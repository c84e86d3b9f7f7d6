/*
 * cli_args.c -- the words and values of the command line: enum words, dates, whole
 * numbers, euro amounts, KEY:RELATIONSHIP:JOINED members, KIND:DUE[:TEXT] duties and
 * comma-separated lists. Pure: errors come back in an at_error, nothing is printed.
 *
 * When a word is added to an enum of the .proto that the command line names, add it to
 * its table here and to docs/cli.md.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "at_money.h"
#include "at_uuid.h"

const cli_word cli_relationships[] = {
    {"applicant", ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT},
    {"spouse", ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE},
    {"child", ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD},
    {"parent", ATB__V1__RELATIONSHIP__RELATIONSHIP_PARENT},
    {"relative", ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER_RELATIVE},
    {"other", ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER},
    {"other-relative", ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER_RELATIVE},
    {NULL, 0}};

const cli_word cli_fact_kinds[] = {
    {"residence", ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE},
    {"disability", ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY},
    {"care-level", ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_CARE_LEVEL},
    {"employment", ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT},
    {"flag", ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_FLAG},
    {"school", ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_SCHOOL},
    {NULL, 0}};

const cli_word cli_schools[] = {
    {"preschool", ATB__V1__SCHOOL__SCHOOL_PRESCHOOL},
    {"grade-1", ATB__V1__SCHOOL__SCHOOL_GRADE_1},
    {"other", ATB__V1__SCHOOL__SCHOOL_OTHER},
    {NULL, 0}};

const cli_word cli_employments[] = {
    {"employed", ATB__V1__EMPLOYMENT__EMPLOYMENT_EMPLOYED},
    {"self-employed", ATB__V1__EMPLOYMENT__EMPLOYMENT_SELF_EMPLOYED},
    {"registered-unemployed", ATB__V1__EMPLOYMENT__EMPLOYMENT_REGISTERED_UNEMPLOYED},
    {"job-seeker", ATB__V1__EMPLOYMENT__EMPLOYMENT_JOB_SEEKER},
    {"not-working", ATB__V1__EMPLOYMENT__EMPLOYMENT_NOT_WORKING},
    {"student", ATB__V1__EMPLOYMENT__EMPLOYMENT_STUDENT},
    {NULL, 0}};

const cli_word cli_appeal_bodies[] = {
    {"council", ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL},
    {"court", ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT},
    {NULL, 0}};

const cli_word cli_appeal_outcomes[] = {
    {"upheld", ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_UPHELD},
    {"changed", ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_CHANGED},
    {"annulled", ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_ANNULLED},
    {"withdrawn", ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_WITHDRAWN},
    {NULL, 0}};

const cli_word cli_sexes[] = {
    {"f", ATB__V1__SEX__FEMALE},
    {"m", ATB__V1__SEX__MALE},
    {"female", ATB__V1__SEX__FEMALE},
    {"male", ATB__V1__SEX__MALE},
    {NULL, 0}};

/* Equal ignoring case, with '-' and '_' the same. */
static bool word_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '_' ? '-' : (char)tolower((unsigned char)*a);
        char y = *b == '_' ? '-' : (char)tolower((unsigned char)*b);
        if (x != y)
            return false;
    }
    return *a == *b;
}

void cli_words_list(const cli_word *t, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (const cli_word *w = t; w->word && len < n; w++) {
        /* an alias (a second word for a value already listed) is accepted, not offered */
        bool alias = false;
        for (const cli_word *p = t; p < w; p++)
            alias = alias || p->value == w->value;
        if (!alias)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "|" : "", w->word);
    }
}

at_code cli_word_parse(const cli_word *t, const char *s, const char *field, int *out, at_error *err)
{
    for (const cli_word *w = t; w->word; w++) {
        if (word_eq(w->word, s)) {
            *out = w->value;
            return AT_OK;
        }
    }
    char words[256];
    cli_words_list(t, words, sizeof words);
    at_error_set(err, AT_VALIDATION, field, "unknown %s \"%s\"", field, s);
    at_error_detail(err, "The %s is one of %s.", field, words);
    return AT_VALIDATION;
}

const char *cli_word_of(const cli_word *t, int value)
{
    for (const cli_word *w = t; w->word; w++)
        if (w->value == value)
            return w->word;
    return "";
}

at_code cli_date_parse(const char *s, const char *field, Atb__V1__Date *out, at_error *err)
{
    at_date d;
    if (at_date_parse(s, field, &d, err) != AT_OK) {
        at_error_detail(err, "A date is written YYYY-MM-DD, e.g. 2024-05-02.");
        return AT_VALIDATION;
    }
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    out->year = y;
    out->month = m;
    out->day = dd;
    return AT_OK;
}

void cli_date_text(const Atb__V1__Date *d, char out[11])
{
    out[0] = 0;
    if (d && (d->year || d->month || d->day))
        snprintf(out, 11, "%04u-%02u-%02u", (unsigned)d->year % 10000u, (unsigned)d->month % 100u,
                 (unsigned)d->day % 100u);
}

at_code cli_int64_parse(const char *s, const char *field, int64_t min, int64_t max, int64_t *out, at_error *err)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno == ERANGE || isspace((unsigned char)*s)) {
        at_error_set(err, AT_VALIDATION, field, "%s \"%s\" is not a whole number", field, s);
        return AT_VALIDATION;
    }
    if (v < min || v > max) {
        at_error_set(err, AT_VALIDATION, field, "%s %lld is out of range", field, v);
        at_error_detail(err, "The %s is from %lld to %lld.", field, (long long)min, (long long)max);
        return AT_VALIDATION;
    }
    *out = v;
    return AT_OK;
}

at_code cli_cents_parse(const char *s, const char *field, int64_t *out, at_error *err)
{
    at_cents c;
    if (at_cents_parse(s, field, &c, err) != AT_OK) {
        at_error_detail(err, "An amount in euros is written 12.34 (or 12,34), at most two decimals.");
        return AT_VALIDATION;
    }
    *out = c;
    return AT_OK;
}

at_code cli_member_parse(const char *s, cli_member *m, at_error *err)
{
    const char *c1 = strchr(s, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || strchr(c2 + 1, ':')) {
        at_error_set(err, AT_VALIDATION, "member", "member \"%s\" is not KEY:RELATIONSHIP:JOINED", s);
        at_error_detail(err, "Write the person key, the relationship to the applicant and the date the "
                             "person joined, e.g. 8fe2b937-1ac3-4df2-b201-50805cbea8c7:child:2024-05-02.");
        return AT_VALIDATION;
    }
    size_t klen = (size_t)(c1 - s);
    char rel[32];
    size_t rlen = (size_t)(c2 - c1 - 1);
    if (klen != 36 || rlen >= sizeof rel) {
        at_error_set(err, AT_VALIDATION, "member", "member \"%s\": \"%.*s\" is not a person key", s, (int)klen, s);
        at_error_detail(err, "A person key is a UUID of 36 characters, as `atbalsts person register` prints it.");
        return AT_VALIDATION;
    }
    memcpy(m->key, s, 36);
    m->key[36] = 0;
    if (!at_uuid_valid(m->key)) {
        at_error_set(err, AT_VALIDATION, "member", "member \"%s\": \"%s\" is not a person key", s, m->key);
        at_error_detail(err, "A person key is a UUID of 36 characters, as `atbalsts person register` prints it.");
        return AT_VALIDATION;
    }
    memcpy(rel, c1 + 1, rlen);
    rel[rlen] = 0;
    if (cli_word_parse(cli_relationships, rel, "relationship", &m->relationship, err) != AT_OK)
        return AT_VALIDATION;
    Atb__V1__Date init = ATB__V1__DATE__INIT;
    m->joined = init;
    return cli_date_parse(c2 + 1, "joined", &m->joined, err);
}

at_code cli_duty_parse(const char *s, cli_duty *d, at_error *err)
{
    d->text = NULL;
    const char *c1 = strchr(s, ':');
    size_t klen = c1 ? (size_t)(c1 - s) : 0;
    if (!c1 || klen == 0 || klen >= sizeof d->kind) {
        at_error_set(err, AT_VALIDATION, "duty", "duty \"%s\" is not KIND:DUE[:TEXT]", s);
        at_error_detail(err, "Write the kind of duty, the date it is due and optionally what it is in words, "
                             "e.g. register_unemployed:2024-06-01:Register with the NVA in Daugavpils.");
        return AT_VALIDATION;
    }
    memcpy(d->kind, s, klen);
    d->kind[klen] = 0;
    const char *c2 = strchr(c1 + 1, ':');
    char due[16];
    size_t dlen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    if (dlen >= sizeof due) {
        at_error_set(err, AT_VALIDATION, "due", "duty \"%s\": the due date is not YYYY-MM-DD", s);
        return AT_VALIDATION;
    }
    memcpy(due, c1 + 1, dlen);
    due[dlen] = 0;
    Atb__V1__Date init = ATB__V1__DATE__INIT;
    d->due = init;
    if (cli_date_parse(due, "due", &d->due, err) != AT_OK)
        return AT_VALIDATION;
    d->text = strdup(c2 ? c2 + 1 : "");
    if (!d->text)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    return AT_OK;
}

void cli_duty_free(cli_duty *d)
{
    free(d->text);
    d->text = NULL;
}

bool cli_list_add(cli_list *l, const char *s)
{
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len > 0) {
            if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 8;
                char **items = realloc(l->items, cap * sizeof *items);
                if (!items)
                    return false;
                l->items = items;
                l->cap = cap;
            }
            char *w = strndup(s, len);
            if (!w)
                return false;
            l->items[l->n++] = w;
        }
        s += len;
        if (*s == ',')
            s++;
    }
    return true;
}

void cli_list_free(cli_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}
