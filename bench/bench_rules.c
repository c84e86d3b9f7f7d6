/*
 * bench_rules.c -- decisions per second of the pure means-testing calculation (libs/rules)
 * over a realistic household mix: sizes 1 to 6, incomes around the thresholds (needy
 * 128.06, low-income 344.00, the Daugavpils heating bands), every kind of application
 * (needy and low-income status, GMI, housing, school supplies, health care), in
 * Daugavpils 2018 and Kandava 2020, with the explanation recorded as in production.
 *
 * The baseline measured in the same run is one parameter lookup (rules_param), so the
 * ratio says how many lookups one decision costs; the baseline against the event log
 * comes with the means service. Prints figures, asserts nothing about speed.
 *
 * The rule sets are read from ATB_RULESETS_DIR, or from services/means/rulesets next to
 * this source file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rules.h"

#define HOUSEHOLDS 1024
#define DECISIONS 200000

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)l + 1);
    if (b && fread(b, 1, (size_t)l, f) != (size_t)l) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)l;
    return b;
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

static at_date day(int y, int m, int d)
{
    at_date x;
    at_date_from_ymd(y, m, d, &x);
    return x;
}

typedef struct fixture {
    rules_member members[6];
    char keys[6][16];
    rules_income incomes[6 * 3];
    rules_household h;
    rules_application a;
    rules_status_record status;
    rules_history hist;
} fixture;

static const char *const tenants[] = {"daugavpils", "kandava"};

static void make(fixture *f, int i)
{
    memset(f, 0, sizeof *f);
    int n = 1 + i % 6;
    bool kandava = i % 5 == 4;
    at_date on = kandava ? day(2020, 5, 4 + i % 20) : day(2018, 3, 5 + i % 20);
    at_period win = at_last_full_months(on, 3);
    /* income per member around the thresholds: 90 .. 380 EUR */
    at_cents per_member = 9000 + (at_cents)(rnd() % 29000);
    for (int k = 0; k < n; k++) {
        rules_member *m = &f->members[k];
        snprintf(f->keys[k], sizeof f->keys[k], "m%d", k);
        m->key = f->keys[k];
        m->disability.from = m->disability.to = AT_DATE_NONE;
        m->residence_since = day(2005, 1, 1);
        if (k == 0 && n == 1 && i % 3 == 0) {
            m->birth = day(1945, 1 + i % 12, 1);
            m->flags = RULES_MF_PENSIONER | RULES_MF_LIVES_ALONE | (i % 2 ? RULES_MF_LONELY : 0);
        } else if (k < 2) {
            m->birth = day(1975 + k, 1 + i % 12, 1);
            m->flags = RULES_MF_ABLE_TO_WORK | (k ? RULES_MF_REGISTERED_UNEMPLOYED : RULES_MF_EMPLOYED);
        } else {
            m->birth = day(2005 + k, 1 + i % 12, 1);
            m->school = (rules_school)(1 + k % 3);
        }
    }
    int ni = 0;
    for (int mo = 0; mo < 3; mo++)
        f->incomes[ni++] = (rules_income){f->keys[0], f->members[0].flags & RULES_MF_PENSIONER ? "pension" : "wage",
                                          at_date_add_months(win.from, mo), per_member * n};
    f->h = (rules_household){.id = "h", .members = f->members, .n_members = (size_t)n,
                             .incomes = f->incomes, .n_incomes = (size_t)ni};
    static const rules_ask asks[] = {RULES_ASK_NEEDY_STATUS, RULES_ASK_LOW_INCOME_STATUS, RULES_ASK_GMI,
                                     RULES_ASK_HOUSING, RULES_ASK_BENEFIT, RULES_ASK_BENEFIT};
    int which = i % 6;
    f->a = (rules_application){.tenant = tenants[kandava], .submitted = on, .decision = on, .ask = asks[which],
                               .applicant = f->keys[0], .event = AT_DATE_NONE, .bill_date = AT_DATE_NONE};
    if (kandava && (which == 1 || which == 3 || which >= 4))
        f->a.ask = RULES_ASK_GMI;               /* Kandava has no low-income, housing or school rules */
    if (f->a.ask == RULES_ASK_BENEFIT) {
        f->a.benefit = which == 4 ? "SCHOOL" : "HEALTH_NEEDY";
        f->a.has_bill = true;
        f->a.bill = 8000 + (at_cents)(rnd() % 10000);
        f->a.bill_date = at_date_add_months(on, -1);
    }
    f->a.heating = RULES_HEATING_DISTRICT;
    bool needy = per_member <= 12806;
    f->status = (rules_status_record){needy ? RULES_STATUS_NEEDY : RULES_STATUS_LOW_INCOME,
                                      {at_date_add_months(on, -1), at_date_add_months(on, 2)}};
    f->hist = (rules_history){.statuses = &f->status, .n_statuses = 1};
}

int main(void)
{
    char dir[1024];
    const char *env = getenv("ATB_RULESETS_DIR");
    if (env) {
        snprintf(dir, sizeof dir, "%s", env);
    } else {
        /* this file is bench/bench_rules.c of the source tree */
        snprintf(dir, sizeof dir, "%s", __FILE__);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof dir, "..");
        strncat(dir, "/services/means/rulesets", sizeof dir - strlen(dir) - 1);
    }
    static const char *const files[] = {"national.yaml", "daugavpils.yaml", "kandava.yaml", "tervete.yaml"};
    rules_source src[4];
    char path[1200];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        src[i].name = files[i];
        if (!(src[i].bytes = slurp(path, &src[i].len))) {
            fprintf(stderr, "bench_rules: cannot read %s (set ATB_RULESETS_DIR)\n", path);
            return 1;
        }
    }
    rules_set *set = NULL;
    at_error err;
    at_error_clear(&err);
    double t0 = now_s();
    if (rules_set_load(src, 4, &set, &err) != AT_OK) {
        fprintf(stderr, "bench_rules: rule sets do not load: %s\n", err.message);
        return 1;
    }
    double t_load = now_s() - t0;
    size_t len;
    rules_set_bytes(set, &len);
    printf("bench_rules: rule sets loaded and hashed in %.2f ms (%zu canonical bytes, version %.12s)\n",
           t_load * 1e3, len, rules_set_version(set));

    /* baseline: one parameter lookup with municipal override and a derived value */
    rules_param_value v;
    const int lookups = 1000000;
    long sink = 0;
    t0 = now_s();
    for (int i = 0; i < lookups; i++) {
        if (rules_param(set, "daugavpils", i & 1 ? "low_income.income_threshold" : "needy.income_threshold",
                        day(2018, 1 + i % 12, 15), &v, NULL) == AT_OK)
            sink += v.value;
    }
    double t_lookup = (now_s() - t0) / lookups;

    static fixture fx[HOUSEHOLDS];
    for (int i = 0; i < HOUSEHOLDS; i++)
        make(&fx[i], i);
    long granted = 0, refused = 0, errors = 0, steps = 0;
    for (int i = 0; i < HOUSEHOLDS; i++) {      /* warm-up */
        rules_result *r = NULL;
        if (rules_decide(set, &fx[i].h, &fx[i].a, &fx[i].hist, &r, &err) == AT_OK)
            rules_result_free(r);
    }
    t0 = now_s();
    for (int i = 0; i < DECISIONS; i++) {
        fixture *f = &fx[i % HOUSEHOLDS];
        rules_result *r = NULL;
        if (rules_decide(set, &f->h, &f->a, &f->hist, &r, &err) != AT_OK) {
            errors++;
            continue;
        }
        const rules_decision *d = rules_result_decision(r);
        if (d->outcome == RULES_GRANTED)
            granted++;
        else
            refused++;
        steps += (long)rules_result_n_steps(r);
        rules_result_free(r);
    }
    double t_decide = (now_s() - t0) / DECISIONS;

    /* with the explanation rendered as text (Latvian and English), as for a caseworker */
    const int rendered = 20000;
    static char text[1 << 16];
    size_t chars = 0;
    t0 = now_s();
    for (int i = 0; i < rendered; i++) {
        fixture *f = &fx[i % HOUSEHOLDS];
        rules_result *r = NULL;
        if (rules_decide(set, &f->h, &f->a, &f->hist, &r, &err) != AT_OK)
            continue;
        chars += rules_result_format(r, RULES_LANG_BOTH, text, sizeof text);
        rules_result_free(r);
    }
    double t_render = (now_s() - t0) / rendered;

    printf("baseline: rules_param lookup               %10.0f /s  %8.3f us each\n", 1 / t_lookup, t_lookup * 1e6);
    printf("decide (household mix, sizes 1-6)          %10.0f /s  %8.3f us each  = %.0f lookups\n", 1 / t_decide,
           t_decide * 1e6, t_decide / t_lookup);
    printf("decide + explanation text (LV and EN)      %10.0f /s  %8.3f us each  = %.0f lookups\n", 1 / t_render,
           t_render * 1e6, t_render / t_lookup);
    printf("mix: %d decisions, %ld granted, %ld refused, %ld input errors, %.1f steps and %zu text bytes per "
           "decision (mean threshold read %.2f EUR)\n",
           DECISIONS, granted, refused, errors, (double)steps / (double)(granted + refused ? granted + refused : 1),
           chars / (size_t)rendered, (double)sink / lookups / 100.0);
    rules_set_free(set);
    for (int i = 0; i < 4; i++)
        free((void *)src[i].bytes);
    return 0;
}
