/*
 * cli_demo.c -- atbalsts demo: a realistic workload driven only through the public command
 * API, the README's main job.
 *
 * 1. Generate N residents: Latvian given and family names (the family name agrees with
 *    the sex), an age mix like a city social service's clients (children, working age,
 *    many pensioners), valid personal codes: old format with birth date, century digit and
 *    check digit (each one checked with at_pcode_validate), and about 3% new-format 32...
 *    codes, which carry no birth date, so the birth date is sent alongside.
 * 2. Register them from several client threads at once (--clients requests in flight).
 * 3. Send three commands that must be refused -- a wrong check digit, the same person
 *    again, an unknown municipality -- and show what the services answered.
 * 4. Wait until the reporting projection has passed the last position the replies named,
 *    and print the summary: registered, refused by reason, commands/s, latency p50/p99,
 *    and whether the projection holds as many new persons as were registered.
 * 5. The caseload (cli_demo_cases.c): households of the new residents apply, are visited,
 *    completed, and decided by means testing; the decisions are tallied.
 * 6. The payments (cli_demo_pay.c): the GMI grants' orders, the clients' accounts, a batch
 *    and its pain.001 file, the bank's report, the budget execution.
 *
 * The same --seed gives the same residents, so a second run with the same seed on the
 * same database is refused as CONFLICT throughout (and says so). Without --seed one is
 * drawn from the clock and printed.
 *
 * Exit: 0 when every command was answered, each deliberate bad command was refused with
 * its expected code, no resident was refused for anything but CONFLICT, the projection
 * caught up equal, and every household's application was accepted and decided; 2
 * otherwise; 3 when a service could not be reached.
 */
#include "cli.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "at_date.h"
#include "at_pcode.h"
#include "at_time.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

typedef struct resident {
    char code[13];
    const char *given;
    const char *family;
    at_date birth;
    bool female;
} resident;

/* Common names in Latgale: Latvian and Russian-Latvian forms, as registers spell them. */
static const char *const given_f[] = {"Anna", "Olga", "Ilze", "Jeļena", "Inese", "Tatjana", "Līga", "Svetlana",
                                      "Marija", "Kristīne", "Natālija", "Zane", "Valentīna", "Laura", "Irina",
                                      "Ludmila"};
static const char *const given_m[] = {"Jānis", "Sergejs", "Andris", "Aleksandrs", "Pēteris", "Vladimirs", "Māris",
                                      "Igors", "Edgars", "Dmitrijs", "Juris", "Nikolajs", "Artūrs", "Oļegs",
                                      "Aivars", "Viktors"};
/* Family names in pairs: masculine, feminine. */
static const char *const family[][2] = {
    {"Bērziņš", "Bērziņa"},   {"Kalniņš", "Kalniņa"}, {"Ozols", "Ozola"},         {"Jansons", "Jansone"},
    {"Liepiņš", "Liepiņa"},   {"Ivanovs", "Ivanova"}, {"Petrovs", "Petrova"},     {"Smirnovs", "Smirnova"},
    {"Kuzņecovs", "Kuzņecova"}, {"Vasiļjevs", "Vasiļjeva"}, {"Balodis", "Balode"}, {"Vītols", "Vītola"},
    {"Zariņš", "Zariņa"},     {"Kļaviņš", "Kļaviņa"}, {"Ivanovskis", "Ivanovska"}, {"Pavlovs", "Pavlova"}};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: small, seeded, the same on every machine. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

static int rng_below(uint64_t *s, int n) { return (int)(rng_next(s) % (uint64_t)n); }

/* Age in years: 18% children, 40% working age, 42% pensioners (63+), roughly the clients
 * of a city social service with an old population. */
static int pick_age(uint64_t *s)
{
    int r = rng_below(s, 100);
    if (r < 18)
        return rng_below(s, 18);
    if (r < 58)
        return 18 + rng_below(s, 45);
    return 63 + rng_below(s, 30);
}

/* DDMMYY-CNNNN: C is the century (0 = 1800s, 1 = 1900s, 2 = 2000s); the last digit makes
 * (1101 - sum of digits x weights) mod 11 come out right. */
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
        return false;   /* no valid code with this serial */
    snprintf(out, 13, "%.6s-%.4s%c", ten, ten + 6, (char)('0' + check));
    return true;
}

static void make_resident(uint64_t *s, at_date today, resident *r)
{
    r->female = rng_below(s, 100) < 55;
    r->given = r->female ? given_f[rng_below(s, N_OF(given_f))] : given_m[rng_below(s, N_OF(given_m))];
    r->family = family[rng_below(s, N_OF(family))][r->female];
    r->birth = at_date_add_months(today, -12 * pick_age(s) - 1) - rng_below(s, 330);
    if (rng_below(s, 100) < 3) {
        snprintf(r->code, sizeof r->code, "32%04d-%05d", rng_below(s, 10000), rng_below(s, 100000));
        return;
    }
    at_pcode pc;
    while (!old_code(r->birth, rng_below(s, 1000), r->code) ||
           at_pcode_validate(r->code, "code", &pc, NULL) != AT_OK)
        ;
}

/* ---- sending ---- */

typedef struct outcome {
    at_code code;             /* AT_OK, a refusal's code, or -1 when unanswered */
    int64_t last_position;
    int64_t latency_us;
    char key[37];             /* the person key when registered */
} outcome;

/* A deliberate bad command's answer, as the caseworker would see it (on stdout: it is
 * part of the demo's output). */
static void show_error(const Atb__V1__Error *e, const char *key)
{
    printf("   ERROR:  %s: %s\n", at_code_name((at_code)e->code), e->message ? e->message : "");
    if (e->detail && *e->detail)
        printf("   DETAIL:  %s\n", e->detail);
    if (e->hint && *e->hint)
        printf("   HINT:  %s\n", e->hint);
    if (e->field && *e->field)
        printf("   FIELD:  %s\n", e->field);
    if (key && *key)
        printf("   KEY:  %s\n", key);
}

static outcome register_one(cli *c, const resident *r, const char *tenant, bool quiet)
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
    outcome o = {.code = (at_code)-1};
    int64_t t0 = at_mono_ns();
    ProtobufCMessage *m = NULL;
    int rc = cli_call(c, "cmd", tenant, "intake", "RegisterPerson", &rp.base, &atb__v1__command_reply__descriptor,
                      &m);
    o.latency_us = (at_mono_ns() - t0) / 1000;
    if (rc != CLI_OK)
        return o;
    Atb__V1__CommandReply *rep = (Atb__V1__CommandReply *)m;
    if (cli_refused(rep->error)) {
        int code = (int)rep->error->code;
        o.code = code > 0 && code <= (int)AT_UNKNOWN_COMMAND ? (at_code)code : AT_INTERNAL;
        if (!quiet)
            show_error(rep->error, rep->key);
    } else {
        o.code = AT_OK;
        o.last_position = rep->last_position;
        snprintf(o.key, sizeof o.key, "%s", rep->key ? rep->key : "");
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return o;
}

typedef struct job {
    cli *c;
    const resident *res;
    outcome *out;
    int n;
    int next;                 /* the next resident to send, under mu */
    pthread_mutex_t mu;
} job;

static void *client_thread(void *arg)
{
    job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n)
            return NULL;
        j->out[i] = register_one(j->c, &j->res[i], j->c->tenant, true);
    }
}

static int count_persons(cli *c, int64_t *persons, int64_t *position)
{
    Atb__V1__CountPersons q = ATB__V1__COUNT_PERSONS__INIT;
    ProtobufCMessage *m = NULL;
    int rc = cli_call(c, "qry", c->tenant, "reporting", "CountPersons", &q.base, &atb__v1__person_count__descriptor,
                      &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__PersonCount *pc = (Atb__V1__PersonCount *)m;
    if (cli_refused(pc->error)) {
        rc = cli_print_error(c, pc->error, NULL);
    } else {
        *persons = pc->persons;
        *position = pc->position;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void demo_usage(FILE *f)
{
    fprintf(f, "usage: atbalsts demo [--persons N] [--seed S] [--clients C] [--no-cases] [--no-payments]\n\n"
               "Registers N generated residents of the --tenant municipality through the\n"
               "command API from C concurrent clients, sends three commands that must be\n"
               "refused and shows the answers, waits for the reporting projection to catch up\n"
               "and prints a summary. Then the caseload: the new residents form households\n"
               "that apply for needy status, low-income status and GMI (2020 dates), with\n"
               "declarations and home visits; means testing decides each one, and the demo\n"
               "tallies the decisions (with --json: one JSON object for everything).\n"
               "  --persons N   residents to register (default 500, at most 1000000)\n"
               "  --seed S      the same seed gives the same residents (default: from the clock)\n"
               "  --clients C   requests in flight at once (default 16, at most 256)\n"
               "  --no-cases    registrations only\n"
               "  --no-payments no payments part (accounts, a batch and its SEPA file, the\n"
               "                bank's report, the budget execution of 2020)\n");
}

/* ---- the demo ---- */

int cli_demo(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"persons", required_argument, 0, 'n'},
                                         {"seed", required_argument, 0, 's'},
                                         {"clients", required_argument, 0, 'c'},
                                         {"no-cases", no_argument, 0, 'x'},
                                         {"no-payments", no_argument, 0, 'y'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    long n = 500, clients = 16;
    bool cases = true, payments = true;
    uint64_t seed = (uint64_t)(at_now_us() % 1000000);
    char *end;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'n': n = strtol(optarg, &end, 10); if (*end) n = -1; break;
        case 's': seed = strtoull(optarg, &end, 10); if (*end) { n = -1; } break;
        case 'c': clients = strtol(optarg, &end, 10); if (*end) clients = -1; break;
        case 'x': cases = false; break;
        case 'y': payments = false; break;
        case 'h': demo_usage(stdout); return CLI_OK;
        default: demo_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc || n < 1 || n > 1000000 || clients < 1 || clients > 256) {
        fprintf(stderr, "atbalsts: demo: --persons is 1..1000000, --clients 1..256, --seed a number\n");
        demo_usage(stderr);
        return CLI_USAGE;
    }
    int rc = cli_connect(c);
    if (rc != CLI_OK)
        return rc;
    int64_t before = 0, pos_before = 0;
    if ((rc = count_persons(c, &before, &pos_before)) != CLI_OK)
        return rc;

    resident *res = calloc((size_t)n, sizeof *res);
    outcome *out = calloc((size_t)n, sizeof *out);
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    if (!res || !out || !lat) {
        free(res), free(out), free(lat);
        fprintf(stderr, "atbalsts: demo: out of memory for %ld residents\n", n);
        return CLI_USAGE;
    }
    uint64_t s = (seed + 1) * 0x9E3779B97F4A7C15ULL;
    at_date today = at_today_utc();
    for (long i = 0; i < n; i++)
        make_resident(&s, today, &res[i]);

    if (!c->json)
        printf("demo: registering %ld residents of %s, %ld requests in flight (seed %llu)\n", n, c->tenant,
               clients, (unsigned long long)seed);
    job j = {.c = c, .res = res, .out = out, .n = (int)n};
    pthread_mutex_init(&j.mu, NULL);
    pthread_t th[256];
    int started = 0;
    int64_t t0 = at_mono_ns();
    for (long i = 0; i < clients; i++)
        if (pthread_create(&th[started], NULL, client_thread, &j) == 0)
            started++;
    if (started == 0)
        client_thread(&j);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(at_mono_ns() - t0) / 1e9;
    pthread_mutex_destroy(&j.mu);

    /* Tally: by outcome code; AT_UNKNOWN_COMMAND is the last code, -1 = unanswered. */
    long by_code[AT_UNKNOWN_COMMAND + 1] = {0}, unanswered = 0, refused_residents = 0;
    bool residents_ok = true;   /* no resident refused but as CONFLICT (a repeated seed) */
    int64_t last_pos = 0;
    for (long i = 0; i < n; i++) {
        lat[i] = out[i].latency_us;
        if ((int)out[i].code < 0) {
            unanswered++;
            continue;
        }
        by_code[out[i].code]++;
        if (out[i].code != AT_OK) {
            refused_residents++;
            residents_ok = residents_ok && out[i].code == AT_CONFLICT;
        }
        if (out[i].last_position > last_pos)
            last_pos = out[i].last_position;
    }
    long registered = by_code[AT_OK];

    /* The deliberate ones, each with the code it must get. */
    if (!c->json)
        printf("\ndemo: three commands that must be refused, and what the services said:\n");
    /* An old-format resident's code with another last digit: the check digit is unique, so
     * any other digit is wrong. (New-format codes, 3 then 2-9, have no check digit.) */
    long old = 0;
    while (old < n - 1 && res[old].code[0] == '3' && res[old].code[1] >= '2')
        old++;
    resident bad = res[old];
    bad.code[11] = (char)('0' + (bad.code[11] - '0' + 1) % 10);
    if (bad.code[0] == '3' && bad.code[1] >= '2')
        bad.code[11] = 'X';   /* only new-format residents (a tiny --persons): spoil the digits */
    struct {
        const char *what;
        const resident *r;
        const char *tenant;
        at_code want;
    } bads[] = {
        {"a personal code with a wrong check digit", &bad, c->tenant, AT_VALIDATION},
        {"the same resident registered again", &res[n > 1 ? 1 : 0], c->tenant, AT_CONFLICT},
        {"an unknown municipality (atlantida)", &res[0], "atlantida", AT_UNKNOWN_TENANT},
    };
    bool bads_ok = true;
    for (size_t i = 0; i < N_OF(bads); i++) {
        if (!c->json)
            printf("\n-- %s:\n", bads[i].what);
        outcome x = register_one(c, bads[i].r, bads[i].tenant, c->json);
        if ((int)x.code < 0) {
            unanswered++;
            bads_ok = false;
            continue;
        }
        by_code[x.code]++;
        if (x.code != bads[i].want) {
            bads_ok = false;
            if (!c->json)
                printf("   unexpected: the service answered %s, not %s\n",
                       x.code == AT_OK ? "OK" : at_code_name(x.code), at_code_name(bads[i].want));
        }
    }

    /* Wait for the projection to pass the last position a reply named. */
    int64_t after = before, pos = pos_before;
    int64_t deadline = at_mono_ns() + 60LL * 1000000000;
    while ((rc = count_persons(c, &after, &pos)) == CLI_OK && pos < last_pos && at_mono_ns() < deadline)
        sleep_ms(100);
    bool caught_up = rc == CLI_OK && pos >= last_pos;
    bool equal = caught_up && after - before == registered;

    json_t *summary = NULL;
    qsort(lat, (size_t)n, sizeof *lat, cmp64);
    double p50 = (double)lat[(n - 1) / 2] / 1000.0, p99 = (double)lat[(size_t)((double)(n - 1) * 0.99)] / 1000.0;
    double rate = (double)n / secs;

    if (c->json) {
        json_t *refused = json_object();
        for (int k = 1; k <= AT_UNKNOWN_COMMAND; k++)
            if (by_code[k])
                json_object_set_new(refused, at_code_name((at_code)k), json_integer(by_code[k]));
        summary = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:f, s:f, s:f, s:I, s:I, s:b}", "tenant",
                                 c->tenant, "seed", (json_int_t)seed, "residents", (json_int_t)n, "registered",
                                 (json_int_t)registered, "unanswered", (json_int_t)unanswered, "refused", refused,
                                 "clients", (json_int_t)clients, "commands_per_second", rate, "latency_p50_ms",
                                 p50, "latency_p99_ms", p99, "projection_added", (json_int_t)(after - before),
                                 "projection_position", (json_int_t)pos, "projection_equals_registered",
                                 (int)equal);
    } else {
        printf("\ndemo summary (%s, seed %llu)\n", c->tenant, (unsigned long long)seed);
        printf("  residents sent          %ld\n", n);
        printf("  registered              %ld\n", registered);
        printf("  refused                 %ld residents + %zu deliberate:", refused_residents, N_OF(bads));
        for (int k = 1; k <= AT_UNKNOWN_COMMAND; k++)
            if (by_code[k])
                printf(" %s %ld", at_code_name((at_code)k), by_code[k]);
        printf("\n");
        if (by_code[AT_CONFLICT] > 1 && registered == 0)
            printf("                          (every resident was known: the same seed ran before)\n");
        if (unanswered)
            printf("  unanswered              %ld\n", unanswered);
        printf("  commands per second     %.0f (%ld in flight)\n", rate, clients);
        printf("  latency p50 / p99       %.1f / %.1f ms\n", p50, p99);
        printf("  reporting projection    %lld persons added, at log position %lld: %s\n",
               (long long)(after - before), (long long)pos,
               equal ? "equal to the registered"
                     : caught_up ? "NOT equal to the registered (another client was registering too?)"
                                 : "did not catch up within 60 s");
    }
    bool cases_ok = true;
    if (rc == CLI_OK && cases && registered > 0) {
        demo_person *dp = calloc((size_t)registered, sizeof *dp);
        int k = 0;
        for (long i = 0; dp && i < n; i++)
            if (out[i].code == AT_OK && out[i].key[0]) {
                snprintf(dp[k].key, sizeof dp[k].key, "%s", out[i].key);
                dp[k].given = res[i].given;
                dp[k].family = res[i].family;
                dp[k++].birth = res[i].birth;
            }
        rc = dp ? cli_demo_cases(c, dp, k, seed, clients, summary, &cases_ok) : CLI_USAGE;
        if (rc == CLI_OK && dp && payments) {
            bool pay_ok = true;
            rc = cli_demo_payments(c, dp, k, summary, &pay_ok);
            cases_ok = cases_ok && pay_ok;
        }
        free(dp);
    }
    if (summary)
        cli_print_json(summary);
    free(res);
    free(out);
    free(lat);
    if (rc != CLI_OK)
        return rc;
    if (unanswered)
        return CLI_UNREACHABLE;
    return bads_ok && residents_ok && equal && cases_ok ? CLI_OK : CLI_REFUSED;
}
