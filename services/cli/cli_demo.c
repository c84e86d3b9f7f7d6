/*
 * cli_demo.c -- atbalsts demo: a realistic demo workload driven only through the public
 * command API, for the README's main job.
 *
 * It generates residents of a Daugavpils-like age mix with valid personal codes (old format
 * with the check digit, a few new-format 32... codes), registers them from several
 * concurrent clients, sends a few commands that must be refused (an invalid personal code,
 * a second registration of the same code, an unknown municipality) and shows their errors,
 * then waits for the reporting projection to catch up and prints a summary. The same seed
 * gives the same residents.
 */
#include "cli.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "at_date.h"
#include "at_time.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

typedef struct resident {
    char code[13];
    const char *given;
    const char *family;
    at_date birth;
    int female;
} resident;

static const char *given_f[] = {"Anna", "Olga", "Ilze", "Jeļena", "Inese", "Tatjana", "Līga", "Svetlana",
                                "Marija", "Kristīne", "Natālija", "Zane", "Valentīna", "Laura"};
static const char *given_m[] = {"Jānis", "Sergejs", "Andris", "Aleksandrs", "Pēteris", "Vladimirs", "Māris",
                                "Igors", "Edgars", "Dmitrijs", "Juris", "Nikolajs", "Artūrs", "Oļegs"};
static const char *family_m[] = {"Bērziņš", "Kalniņš", "Ozols", "Jansons", "Liepiņš", "Ivanovs", "Petrovs",
                                 "Smirnovs", "Kuzņecovs", "Vasiļjevs", "Balodis", "Vītols", "Zariņš", "Kļaviņš"};
static const char *family_f[] = {"Bērziņa", "Kalniņa", "Ozola", "Jansone", "Liepiņa", "Ivanova", "Petrova",
                                 "Smirnova", "Kuzņecova", "Vasiļjeva", "Balode", "Vītola", "Zariņa", "Kļaviņa"};
#define NAMES 14

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: small, seeded, reproducible across machines. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

static int rng_below(uint64_t *s, int n) { return (int)(rng_next(s) % (uint64_t)n); }

/* An age in years following roughly the city's mix: many pensioners among clients. */
static int pick_age(uint64_t *s)
{
    int r = rng_below(s, 100);
    if (r < 18) return rng_below(s, 18);
    if (r < 58) return 18 + rng_below(s, 45);
    return 63 + rng_below(s, 30);
}

static void make_resident(uint64_t *s, at_date today, resident *r)
{
    r->female = rng_below(s, 100) < 55;
    r->given = r->female ? given_f[rng_below(s, NAMES)] : given_m[rng_below(s, NAMES)];
    r->family = r->female ? family_f[rng_below(s, NAMES)] : family_m[rng_below(s, NAMES)];
    int age = pick_age(s);
    r->birth = at_date_add_months(today, -12 * age - 1) - rng_below(s, 360);
    if (rng_below(s, 100) < 3) {
        /* new-format code: no birth date in it */
        snprintf(r->code, sizeof r->code, "32%04d-%05d", rng_below(s, 10000), rng_below(s, 100000));
        return;
    }
    static const int w[10] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    for (;;) {
        int y, m, d;
        at_date_to_ymd(r->birth, &y, &m, &d);
        char ten[32];
        snprintf(ten, sizeof ten, "%02d%02d%02d%d%03d", d, m, y % 100, (y - 1800) / 100, rng_below(s, 1000));
        int sum = 0;
        for (int i = 0; i < 10; i++)
            sum += (ten[i] - '0') * w[i];
        int check = (1101 - sum) % 11;
        if (check == 10)
            continue;   /* no valid code with this serial: draw another */
        snprintf(r->code, sizeof r->code, "%.6s-%.4s%c", ten, ten + 6, (char)('0' + check));
        return;
    }
}

typedef struct job {
    cli *c;
    resident *res;
    int n;
    int next;              /* shared cursor */
    pthread_mutex_t mu;
    int64_t *lat_us;       /* per resident */
    int ok, refused, failed;
} job;

static int register_one(cli *c, const resident *r, const char *tenant, Atb__V1__Error **err_out,
                        char *key, size_t keyn)
{
    Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date bd = ATB__V1__DATE__INIT;
    int y, mo, d;
    at_date_to_ymd(r->birth, &y, &mo, &d);
    bd.year = y;
    bd.month = mo;
    bd.day = d;
    char id[37];
    cli_meta(c, &meta, id);
    rp.meta = &meta;
    rp.personal_code = (char *)r->code;
    rp.given_name = (char *)r->given;
    rp.family_name = (char *)r->family;
    rp.birth_date = &bd;
    rp.sex = r->female ? ATB__V1__SEX__FEMALE : ATB__V1__SEX__MALE;
    char subject[256];
    snprintf(subject, sizeof subject, "%s.cmd.%s.intake.RegisterPerson", c->prefix, tenant);
    natsMsg *m = NULL;
    at_error e;
    at_error_clear(&e);
    if (bus_request(c->bus, subject, &rp.base, 10000, &m, &e) != AT_OK)
        return CLI_UNREACHABLE;
    Atb__V1__CommandReply *rep = atb__v1__command_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                                (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    if (!rep)
        return CLI_UNREACHABLE;
    int rc = CLI_OK;
    if (rep->error && rep->error->code) {
        rc = CLI_REFUSED;
        if (err_out) {
            *err_out = rep->error;
            rep->error = NULL;   /* the caller frees it */
        }
    } else if (key) {
        snprintf(key, keyn, "%s", rep->key);
    }
    atb__v1__command_reply__free_unpacked(rep, NULL);
    return rc;
}

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n)
            break;
        int64_t t0 = at_mono_ns();
        Atb__V1__Error *e = NULL;
        int rc = register_one(j->c, &j->res[i], j->c->tenant, &e, NULL, 0);
        j->lat_us[i] = (at_mono_ns() - t0) / 1000;
        pthread_mutex_lock(&j->mu);
        if (rc == CLI_OK)
            j->ok++;
        else if (rc == CLI_REFUSED)
            j->refused++;
        else
            j->failed++;
        pthread_mutex_unlock(&j->mu);
        if (e)
            atb__v1__error__free_unpacked(e, NULL);
    }
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int count_persons(cli *c, int64_t *persons, int64_t *position)
{
    Atb__V1__CountPersons q = ATB__V1__COUNT_PERSONS__INIT;
    natsMsg *m = NULL;
    int rc = cli_request(c, "qry", "reporting", "CountPersons", &q.base, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__PersonCount *pc = atb__v1__person_count__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                             (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    if (!pc)
        return CLI_UNREACHABLE;
    if (pc->error && pc->error->code) {
        rc = cli_print_error(c, pc->error);
    } else {
        *persons = pc->persons;
        *position = pc->position;
    }
    atb__v1__person_count__free_unpacked(pc, NULL);
    return rc;
}

static void show_refusal(const char *what, Atb__V1__Error *e)
{
    printf("  %-38s -> %s: %s\n", what, e ? at_code_name((at_code)e->code) : "ACCEPTED (unexpected)",
           e && e->message ? e->message : "");
    if (e && e->detail && *e->detail)
        printf("  %-38s    %s\n", "", e->detail);
}

int cli_demo(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"persons", required_argument, 0, 'n'},
                                         {"seed", required_argument, 0, 's'},
                                         {"clients", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int n = 500, clients = 16;
    uint64_t seed = (uint64_t)at_now_us() % 1000000;   /* printed, so a run can be repeated */
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'n': n = atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'c': clients = atoi(optarg); break;
        case 'h':
            printf("usage: atbalsts demo [--persons N (500)] [--seed S] [--clients C (16)]\n"
                   "Registers N generated residents of the --tenant municipality through the\n"
                   "command API, shows refused commands, waits for the reporting projection.\n");
            return CLI_OK;
        default: return CLI_USAGE;
        }
    }
    if (n < 1 || n > 1000000 || clients < 1 || clients > 256) {
        fprintf(stderr, "atbalsts: demo: --persons must be 1..1000000 and --clients 1..256\n");
        return CLI_USAGE;
    }
    int rc = cli_connect(c);
    if (rc != CLI_OK)
        return rc;
    int64_t before = 0, pos0 = 0;
    if ((rc = count_persons(c, &before, &pos0)) != CLI_OK)
        return rc;

    /* The same seed gives the same residents. Without --seed a seed is drawn from the clock
     * (and printed), so a rerun on the same database does not register the same codes. */
    uint64_t s = (seed + 1) * 0x9E3779B97F4A7C15ULL;
    resident *res = calloc((size_t)n, sizeof *res);
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    if (!res || !lat) {
        free(res);
        free(lat);
        fprintf(stderr, "atbalsts: demo: out of memory\n");
        return CLI_UNREACHABLE;
    }
    at_date today = at_today_utc();
    for (int i = 0; i < n; i++)
        make_resident(&s, today, &res[i]);

    printf("demo: registering %d residents of %s with %d concurrent clients (seed %llu)\n", n, c->tenant,
           clients, (unsigned long long)seed);
    job j = {.c = c, .res = res, .n = n, .lat_us = lat};
    pthread_mutex_init(&j.mu, NULL);
    pthread_t th[256];
    int64_t t0 = at_mono_ns();
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, worker, &j);
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(at_mono_ns() - t0) / 1e9;
    pthread_mutex_destroy(&j.mu);

    printf("demo: commands that must be refused, and what the services said:\n");
    resident bad = res[0];
    bad.code[11] = (char)('0' + (bad.code[11] - '0' + 1) % 10);
    Atb__V1__Error *e = NULL;
    register_one(c, &bad, c->tenant, &e, NULL, 0);
    show_refusal("personal code with a wrong check digit", e);
    if (e) atb__v1__error__free_unpacked(e, NULL);
    e = NULL;
    register_one(c, &res[1], c->tenant, &e, NULL, 0);
    show_refusal("the same person registered again", e);
    if (e) atb__v1__error__free_unpacked(e, NULL);
    e = NULL;
    register_one(c, &res[2], "atlantida", &e, NULL, 0);
    show_refusal("an unknown municipality", e);
    if (e) atb__v1__error__free_unpacked(e, NULL);

    int64_t after = before, pos = pos0;
    int64_t deadline = at_mono_ns() + 60LL * 1000000000;
    while (at_mono_ns() < deadline) {
        if ((rc = count_persons(c, &after, &pos)) != CLI_OK)
            break;
        if (after - before >= j.ok)
            break;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp64);
    printf("\ndemo summary (%s)\n", c->tenant);
    printf("  registered             %d\n", j.ok);
    printf("  refused                %d\n", j.refused);
    printf("  unanswered             %d\n", j.failed);
    printf("  commands per second    %.0f\n", (double)n / secs);
    printf("  latency p50 / p99      %.1f / %.1f ms\n", (double)lat[n / 2] / 1000.0,
           (double)lat[(size_t)((double)n * 0.99)] / 1000.0);
    printf("  reporting projection   %lld persons added (log position %lld)%s\n",
           (long long)(after - before), (long long)pos,
           after - before == j.ok ? ", equal to the registered" : ", NOT equal to the registered");
    free(res);
    free(lat);
    if (rc != CLI_OK)
        return rc;
    return (j.failed == 0 && j.refused == 0 && after - before == j.ok) ? CLI_OK : CLI_REFUSED;
}
