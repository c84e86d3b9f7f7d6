/*
 * cli_generate_model.c -- the population model of `atbalsts generate`: from a preset, a
 * scale and a seed, the persons and households of a municipality's year of social
 * assistance and what each household does in it. Pure: no NATS, no printing.
 *
 * Invariants:
 *  - the same (preset, scale, seed) gives the same plan on every machine (xorshift64*,
 *    integer arithmetic only; no clock, no locale);
 *  - personal codes are valid (old format with birth date and check digit, checked with
 *    at_pcode_validate) and unique within a municipality;
 *  - every household has exactly one applicant, an adult; children are younger than the
 *    adults who bring them; every date lies in GEN_YEAR;
 *  - incomes are int64 cents.
 *
 * The shares below and their sources are in docs/generate.md ("The population model");
 * when a share changes, change the table there too.
 */
#include "cli_generate.h"

#include <stdlib.h>
#include <string.h>

#include "at_pcode.h"

/* ---- the presets -------------------------------------------------------------------- */

/* Clients at 100 %: document 004 counts about 20,000 clients a year in Daugavpils (22 % of
 * 90,912 inhabitants); Tērvete (document 002: 3,582 inhabitants) and Kandava are given the
 * same 22 % (an assumption: neither document counts its clients). */
static const gen_preset presets[] = {
    {"tervete", "Tērvete: a small rural municipality (document 002)", 1,
     {{"tervete", 790, false, 0, {NULL, NULL, NULL, 0, false},
       {"home_care", "tervete", "aprupe_majas", 20, true}, "dobele", "krizes_centrs"}}},
    {"daugavpils", "Daugavpils: the large city (document 004)", 1,
     {{"daugavpils", 20000, true, 34400, {"night_shelter", "daugavpils", "nakts_patversme", 0, false},
       {"home_care", "daugavpils", "aprupes_birojs", 10, true}, "daugavpils", "saura26"}}},
    {"region", "Tērvete and Kandava, buying crisis places from Dobele (documents 000, 002, 003)", 2,
     {{"tervete", 790, false, 0, {NULL, NULL, NULL, 0, false},
       {"home_care", "tervete", "aprupe_majas", 20, true}, "dobele", "krizes_centrs"},
      {"kandava", 1870, false, 0, {NULL, NULL, NULL, 0, false},
       {"home_care", "kandava", "aprupe_majas", 20, true}, NULL, NULL}}},
};
const char *const gen_preset_names = "tervete|daugavpils|region";

const gen_preset *gen_preset_find(const char *name)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

/* ---- randomness --------------------------------------------------------------------- */

static uint64_t rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

static int below(uint64_t *s, int n) { return (int)(rng(s) % (uint64_t)n); }
static bool chance(uint64_t *s, int percent) { return below(s, 100) < percent; }

/* ---- names and codes ---------------------------------------------------------------- */

static const char *const given_f[] = {"Anna", "Olga", "Ilze", "Jeļena", "Inese", "Tatjana", "Līga", "Svetlana",
                                      "Marija", "Kristīne", "Natālija", "Zane", "Valentīna", "Laura", "Irina",
                                      "Ludmila", "Dace", "Sandra", "Gaļina", "Ieva"};
static const char *const given_m[] = {"Jānis", "Sergejs", "Andris", "Aleksandrs", "Pēteris", "Vladimirs", "Māris",
                                      "Igors", "Edgars", "Dmitrijs", "Juris", "Nikolajs", "Artūrs", "Oļegs",
                                      "Aivars", "Viktors", "Valdis", "Gunārs", "Romāns", "Kārlis"};
/* Family names in pairs: masculine, feminine (a family shares one pair). */
static const char *const family[][2] = {
    {"Bērziņš", "Bērziņa"},     {"Kalniņš", "Kalniņa"},       {"Ozols", "Ozola"},           {"Jansons", "Jansone"},
    {"Liepiņš", "Liepiņa"},     {"Ivanovs", "Ivanova"},       {"Petrovs", "Petrova"},       {"Smirnovs", "Smirnova"},
    {"Kuzņecovs", "Kuzņecova"}, {"Vasiļjevs", "Vasiļjeva"},   {"Balodis", "Balode"},        {"Vītols", "Vītola"},
    {"Zariņš", "Zariņa"},       {"Kļaviņš", "Kļaviņa"},       {"Ivanovskis", "Ivanovska"},  {"Pavlovs", "Pavlova"},
    {"Krūmiņš", "Krūmiņa"},     {"Ozoliņš", "Ozoliņa"},       {"Grigorjevs", "Grigorjeva"}, {"Lapiņš", "Lapiņa"}};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* DDMMYY-CNNNN: C is the century digit, the last digit makes (1101 - sum of digits x
 * weights) mod 11 come out right; false when this serial has no valid check digit. */
static bool old_code(at_date birth, int serial, char out[13])
{
    static const int w[10] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int y, m, d;
    at_date_to_ymd(birth, &y, &m, &d);
    char ten[48];
    snprintf(ten, sizeof ten, "%02d%02d%02d%d%03d", d, m, y % 100, (y - 1800) / 100, serial % 1000);
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += (ten[i] - '0') * w[i];
    int check = (1101 - sum) % 11;
    if (check == 10)
        return false;
    snprintf(out, 13, "%.6s-%.4s%c", ten, ten + 6, (char)('0' + check));
    return true;
}

/* A set of the codes given so far in one municipality (open addressing on a hash). */
typedef struct code_set {
    uint64_t *slot;
    size_t cap;
} code_set;

static uint64_t code_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h | 1;   /* 0 marks a free slot */
}

/* true if added, false if the code was there already. */
static bool code_add(code_set *cs, const char *code)
{
    uint64_t h = code_hash(code);
    for (size_t i = h % cs->cap;; i = (i + 1) % cs->cap) {
        if (cs->slot[i] == h)
            return false;
        if (cs->slot[i] == 0) {
            cs->slot[i] = h;
            return true;
        }
    }
}

static void make_person(uint64_t *s, code_set *cs, at_date birth, bool female, const char *const fam[2],
                        gen_person *p)
{
    memset(p, 0, sizeof *p);
    p->female = female;
    p->birth = birth;
    p->given = female ? given_f[below(s, N_OF(given_f))] : given_m[below(s, N_OF(given_m))];
    p->family = fam[female];
    at_pcode pc;
    int serial = below(s, 1000);
    for (int tries = 0; tries < 3000; tries++, serial++) {
        if (old_code(birth, serial, p->code) && at_pcode_validate(p->code, "code", &pc, NULL) == AT_OK &&
            code_add(cs, p->code))
            return;
    }
    p->birth = birth + 1;   /* a thousand persons born that day already: the next day */
    make_person(s, cs, birth + 1, female, fam, p);
}

/* ---- households --------------------------------------------------------------------- */

enum hh_type {
    HH_SINGLE_PENSIONER, HH_SINGLE_ADULT, HH_PENSIONER_COUPLE, HH_COUPLE, HH_SINGLE_PARENT,
    HH_COUPLE_CHILDREN, HH_LARGE_FAMILY, HH_ADULT_AND_PARENT, HH_TYPES
};
/* Shares in percent of households (docs/generate.md). */
static const int hh_share[HH_TYPES] = {22, 20, 8, 7, 15, 15, 8, 5};

static enum hh_type pick_type(uint64_t *s)
{
    int r = below(s, 100);
    for (int t = 0; t < HH_TYPES; t++) {
        if (r < hh_share[t])
            return (enum hh_type)t;
        r -= hh_share[t];
    }
    return HH_SINGLE_ADULT;
}

/* A birth date for an age in years on the reference date (1 July of the year). */
static at_date born(uint64_t *s, at_date ref, int age) { return at_date_add_months(ref, -12 * age) - 1 - below(s, 364); }

/* Per-person income target of a household, cents a month: a third under the needy
 * threshold (128.06 EUR), the rest around the municipality's low-income threshold. */
static int64_t income_target(uint64_t *s, const gen_town *t)
{
    int r = below(s, 100);
    int64_t low = t->low_income ? t->low_income_cents : 25000;
    if (r < 33)
        return 12806 * below(s, 100) / 100;                   /* below needy */
    if (r < 75)
        return 12806 + (low - 12806) * below(s, 100) / 100;   /* between the two */
    return low + 100 * below(s, 20000) / 100;                 /* above, up to 200 EUR more */
}

/* A working day of the year between Jan 6 and Dec 10, the application's received date. */
static at_date working_day(uint64_t *s)
{
    at_date d;
    at_date_from_ymd(GEN_YEAR, 1, 6, &d);
    d += below(s, 339);
    while (at_date_weekday(d) >= 5)   /* Saturday, Sunday */
        d++;
    return d;
}

static at_date ymd_last(void)
{
    at_date d;
    at_date_from_ymd(GEN_YEAR, 12, 31, &d);
    return d;
}

static bool in_winter(at_date d)
{
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    return m <= 3 || m >= 11;
}

/* Add one household of type t; returns its member count (0 when out of room). */
static int add_household(uint64_t *s, code_set *cs, const gen_town *town, int ti, enum hh_type t, gen_plan *pl,
                         int room)
{
    at_date ref;
    at_date_from_ymd(GEN_YEAR, 7, 1, &ref);
    int ages[8], n = 0;
    bool fem[8];
    switch (t) {
    case HH_SINGLE_PENSIONER: ages[n++] = 63 + below(s, 33); break;
    case HH_SINGLE_ADULT: ages[n++] = 20 + below(s, 43); break;
    case HH_PENSIONER_COUPLE: ages[n++] = 65 + below(s, 25); ages[n] = ages[0] - 3 + below(s, 7); n++; break;
    case HH_COUPLE: ages[n++] = 22 + below(s, 40); ages[n] = ages[0] - 3 + below(s, 7); n++; break;
    case HH_SINGLE_PARENT:
    case HH_COUPLE_CHILDREN:
    case HH_LARGE_FAMILY: {
        ages[n++] = 24 + below(s, 22);
        if (t != HH_SINGLE_PARENT && (t == HH_COUPLE_CHILDREN || chance(s, 70))) {
            ages[n] = ages[0] - 3 + below(s, 7);
            n++;
        }
        int kids = t == HH_LARGE_FAMILY ? 3 + below(s, 3) : 1 + below(s, 2);
        for (int k = 0; k < kids; k++)
            ages[n++] = 1 + below(s, ages[0] - 20 < 17 ? ages[0] - 20 : 17);   /* born before the year */
        break;
    }
    case HH_ADULT_AND_PARENT: ages[n++] = 35 + below(s, 20); ages[n] = ages[0] + 22 + below(s, 10); n++; break;
    default: break;
    }
    if (n > room)
        return 0;
    /* The applicant is the first adult: female in 60 % of households (women apply more
     * often, and single parents are mostly mothers). */
    fem[0] = t == HH_SINGLE_PARENT ? chance(s, 90) : chance(s, 60);
    for (int k = 1; k < n; k++)
        fem[k] = ages[k] >= 18 && k == 1 && t != HH_ADULT_AND_PARENT && t != HH_SINGLE_PARENT ? !fem[0]
                                                                                           : chance(s, 50);
    const char *const *fam = family[below(s, N_OF(family))];
    gen_household *h = &pl->h[pl->nh];
    memset(h, 0, sizeof *h);
    h->town = ti;
    h->first = pl->np;
    h->n = n;
    h->applicant = pl->np;
    h->received = working_day(s);
    h->decision = h->received + 3 + below(s, 23);
    if (chance(s, 3))
        h->decision = h->received + 35 + below(s, 10);   /* late: past the month's deadline */
    if (h->decision > ymd_last())
        h->decision = ymd_last();   /* the rule sets end with the year */
    h->housing_cents = 6000 + 2000 * n + 100 * below(s, 40);

    int64_t target = income_target(s, town);
    int earners = 0;
    for (int k = 0; k < n; k++) {
        gen_person *p = &pl->p[pl->np + k];
        make_person(s, cs, born(s, ref, ages[k]), fem[k], fam, p);
        int age = at_age_on(p->birth, h->received);
        if (age >= 63)
            p->disability = chance(s, 25) ? 2 + below(s, 2) : 0;
        else if (age >= 18)
            p->disability = chance(s, 8) ? 1 + below(s, 3) : 0;
        else
            p->disability = chance(s, 2) ? 4 : 0;   /* a child with disability */
        if (age >= 18 && age < 63 && p->disability == 0 && (target < 12806 || chance(s, 30)))
            p->unemployed = true;
        if (age >= 63 || (age >= 18 && !p->unemployed))
            earners++;
    }
    /* The household's income: the target per person times the members, split over the
     * earners (pensions and wages); none when nobody earns. */
    int64_t total = target * n;
    for (int k = 0; k < n && earners > 0; k++) {
        gen_person *p = &pl->p[pl->np + k];
        int age = at_age_on(p->birth, h->received);
        if (age >= 63 || (age >= 18 && !p->unemployed))
            p->income_cents = total / earners;
    }

    bool unemployed = false;
    for (int k = 0; k < n; k++)
        unemployed = unemployed || pl->p[pl->np + k].unemployed;
    h->visit = chance(s, 30);
    h->agreement = unemployed && chance(s, 80);
    h->duty_failed = h->agreement && chance(s, 15);
    h->appeal = chance(s, 3);
    /* Winter: single adults with no income and no home ask for a shelter place. */
    h->winter = town->winter.service && t == HH_SINGLE_ADULT && earners == 0 && chance(s, 18);
    if (h->winter && !in_winter(h->received)) {
        at_date_from_ymd(GEN_YEAR, chance(s, 50) ? 1 : 11, 6, &h->received);
        h->received += below(s, 50);
        while (at_date_weekday(h->received) >= 5)
            h->received++;
        h->decision = h->received + 3 + below(s, 10);
        if (h->decision > ymd_last())
            h->decision = ymd_last();
    }
    /* Care: the old and disabled living alone (document 002: visits to everyone over 80). */
    int age0 = at_age_on(pl->p[pl->np].birth, h->received);
    h->care = town->care.service && t == HH_SINGLE_PENSIONER && (age0 >= 80 || pl->p[pl->np].disability) &&
              chance(s, 40);
    h->crisis = town->crisis_owner && (t == HH_SINGLE_PARENT || t == HH_LARGE_FAMILY) && chance(s, 4);
    pl->np += n;
    pl->nh++;
    return n;
}

bool gen_plan_make(const gen_preset *preset, int scale, uint64_t seed, gen_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->preset = preset;
    pl->scale = scale;
    pl->seed = seed;
    long want[GEN_MAX_TENANTS], all = 0;
    for (int t = 0; t < preset->n_towns; t++) {
        want[t] = (long)preset->towns[t].clients * scale / 100;
        if (want[t] < 1)
            want[t] = 1;
        all += want[t];
    }
    pl->p = calloc((size_t)all + 8, sizeof *pl->p);
    pl->h = calloc((size_t)all + 8, sizeof *pl->h);
    code_set cs = {calloc((size_t)all * 4 + 64, sizeof(uint64_t)), (size_t)all * 4 + 64};
    if (!pl->p || !pl->h || !cs.slot) {
        free(cs.slot);
        gen_plan_free(pl);
        return false;
    }
    for (int t = 0; t < preset->n_towns; t++) {
        memset(cs.slot, 0, cs.cap * sizeof(uint64_t));   /* codes are unique per municipality */
        uint64_t s = (seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)t * 0xD1B54A32D192ED03ULL;
        long start = pl->np;
        while (pl->np - start < want[t]) {
            int room = (int)(want[t] - (pl->np - start));
            enum hh_type ty = room == 1 ? HH_SINGLE_PENSIONER : pick_type(&s);
            if (!add_household(&s, &cs, &preset->towns[t], t, ty, pl, room) && room == 1)
                break;
        }
    }
    free(cs.slot);
    return true;
}

void gen_plan_free(gen_plan *pl)
{
    free(pl->p);
    free(pl->h);
    pl->p = NULL;
    pl->h = NULL;
    pl->np = pl->nh = 0;
}

void gen_plan_shape(const gen_plan *pl, gen_shape *sh)
{
    memset(sh, 0, sizeof *sh);
    sh->persons = pl->np;
    sh->households = pl->nh;
    for (int i = 0; i < pl->nh; i++) {
        const gen_household *h = &pl->h[i];
        const gen_town *t = &pl->preset->towns[h->town];
        int kids = 0, pens = 0;
        int64_t income = 0;
        for (int k = 0; k < h->n; k++) {
            const gen_person *p = &pl->p[h->first + k];
            int age = at_age_on(p->birth, h->received);
            kids += age < 18;
            pens += age >= 63;
            sh->disabled += p->disability > 0;
            sh->unemployed += p->unemployed;
            income += p->income_cents;
        }
        sh->children += kids;
        sh->pensioners += pens;
        sh->large_families += kids >= 3;
        sh->single_pensioners += h->n == 1 && pens == 1;
        sh->visits += h->visit;
        sh->agreements += h->agreement;
        sh->duties_failed += h->duty_failed;
        sh->appeals += h->appeal;
        sh->winter += h->winter;
        sh->care += h->care;
        sh->crisis += h->crisis;
        int64_t per = income / h->n;
        sh->below_needy += per < 12806;
        sh->below_low_income += per <= (t->low_income ? t->low_income_cents : 25000);
    }
}
