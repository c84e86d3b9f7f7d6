/*
 * bench_simulate.c -- the what-if simulation's rate (recorded decisions re-decided with a
 * draft per second, and households per second) over a city-sized caseload, against the
 * audit replay of the same decisions in the same run:
 *
 *   baseline  the audit replay (replay_event, as `atbalsts audit` runs it): every decision
 *             rebuilt with its recorded rule-set version, its whole explanation compared;
 *   simulate  sim_run(): every decision re-decided with a council's draft (the Daugavpils
 *             GMI level of 2020 raised by 10%), chained within its application, summed per
 *             benefit and household, over a read-only connection.
 *
 * The caseload: APPLICATIONS Daugavpils applications (default 10 000, i.e. 20 000
 * decisions: needy status, then GMI) of 1 to 6 persons with average incomes per person of
 * 0 to 140 EUR, decided through the means service's own code (decision_to_rules,
 * rules_decide, decision_build, with the rule set published into the log) and appended
 * 500 applications per transaction straight into a fresh database: seeding through the
 * service would take minutes and measure the service, not the simulation. One in five
 * households applies twice. Both passes read the log from PostgreSQL; it prints the rates
 * and the ratio, and asserts nothing.
 *
 * Usage: bench_simulate [APPLICATIONS]. Servers: ATB_PG_HOST, ATB_PG_PORT,
 * ATB_PG_SUPERUSER as for the tests. It makes its own database and drops it at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "at_date.h"
#include "at_money.h"
#include "at_uuid.h"
#include "es.h"
#include "simulate.h"

static char drop_sql[160], root_ci[512], draft_path[600];

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_simulate: %s: %s\n", what, why);
    exit(1);
}

static void undo(void)
{
    if (drop_sql[0]) {
        PGconn *c = PQconnectdb(root_ci);
        PQclear(PQexec(c, drop_sql));
        PQfinish(c);
        drop_sql[0] = 0;
    }
    if (draft_path[0])
        unlink(draft_path);
}

static void conninfo(char *buf, size_t n, const char *user, const char *db)
{
    snprintf(buf, n, "host=%s port=%s user=%s dbname=%s", env_or("ATB_PG_HOST", "127.0.0.1"),
             env_or("ATB_PG_PORT", "54329"), user, db);
}

static void exec_or_die(const char *ci, const char *sql)
{
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

static uint64_t rng = 0xb3c4d5e6f7a8b9c1u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static Atb__V1__Date *pdate(at_arena *a, at_date d)
{
    return decision_date_out(a, d);
}

typedef struct family {
    char household[37];
    char key[6][37];
    int members;
} family;

/* One application's two decisions (needy status, then GMI with ask 1's status), appended
 * inside t. */
static void seed_application(at_arena *a, es_txn *t, const ruleset_info *rs, const family *f, at_date on,
                             int64_t income)
{
    char app[37], cmd[37];
    at_uuid_v4(app);
    at_uuid_v4(cmd);
    Atb__V1__Household *h = at_arena_alloc(a, sizeof *h);
    atb__v1__household__init(h);
    h->id = (char *)f->household;
    h->members = at_arena_alloc(a, (size_t)f->members * sizeof *h->members);
    h->n_members = (size_t)f->members;
    static char *flags[2] = {"able_to_work", "registered_unemployed"};
    static const int years[6] = {1979, 1982, 2008, 2011, 2014, 2017};
    for (int i = 0; i < f->members; i++) {
        Atb__V1__HouseholdMember *m = at_arena_alloc(a, sizeof *m);
        atb__v1__household_member__init(m);
        m->key = (char *)f->key[i];
        at_date b;
        at_date_from_ymd(years[i], 2 + i, 11, &b);
        m->birth_date = pdate(a, b);
        m->relationship = i == 0   ? ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT
                          : i == 1 ? ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE
                                   : ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
        if (i < 2) {
            m->flags = flags;
            m->n_flags = 2;
        }
        h->members[i] = m;
    }
    at_period w = at_last_full_months(on, 3);
    h->incomes = at_arena_alloc(a, 3 * sizeof *h->incomes);
    h->n_incomes = 3;
    for (int i = 0; i < 3; i++) {
        Atb__V1__MonthlyIncome *in = at_arena_alloc(a, sizeof *in);
        atb__v1__monthly_income__init(in);
        in->member = (char *)f->key[0];
        in->type = "social_insurance_benefit";
        in->month = pdate(a, at_date_add_months(w.from, i));
        in->amount_cents = income;
        h->incomes[i] = in;
    }
    Atb__V1__RuleSetRef ref = ATB__V1__RULE_SET_REF__INIT;
    ref.scope = (char *)rs->scope;
    ref.version = (char *)rs->version;
    ref.position = rs->position;
    es_event_in ev[2];
    Atb__V1__HouseholdHistory *hist = at_arena_alloc(a, sizeof *hist);
    atb__v1__household_history__init(hist);
    for (int k = 0; k < 2; k++) {
        Atb__V1__Ask *ask = at_arena_alloc(a, sizeof *ask);
        atb__v1__ask__init(ask);
        ask->kind = k == 0 ? ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS : ATB__V1__ASK_KIND__ASK_KIND_GMI;
        Atb__V1__DecisionInput *in = at_arena_alloc(a, sizeof *in);
        atb__v1__decision_input__init(in);
        in->tenant = "daugavpils";
        in->application_id = at_arena_strdup(a, app);
        in->submitted = in->decision_date = pdate(a, on);
        in->applicant = (char *)f->key[0];
        in->ask_index = k + 1;
        in->ask = ask;
        in->household = h;
        in->history = hist;
        decision_rules dr;
        rules_result *res = NULL;
        Atb__V1__Decision *d = NULL;
        at_error err;
        if (decision_to_rules(in, "ask", a, &dr, &err) != AT_OK ||
            rules_decide(rs->set, &dr.h, &dr.a, &dr.hist, &res, &err) != AT_OK ||
            decision_build(a, in, res, &ref, &d, &err) != AT_OK)
            die("decide", err.message);
        rules_result_free(res);
        size_t len = 0;
        uint8_t *p = decision_pack(a, d, &len);
        ev[k] = (es_event_in){.type = decision_event_type(d->result), .payload = p, .payload_len = len};
        if (k == 0 && d->result->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED) {
            /* what the service adds for the asks after a granted status (assess.c add_own) */
            Atb__V1__HouseholdHistory *h2 = at_arena_alloc(a, sizeof *h2);
            atb__v1__household_history__init(h2);
            Atb__V1__StatusFact *sf = at_arena_alloc(a, sizeof *sf);
            atb__v1__status_fact__init(sf);
            sf->status = d->result->status;
            sf->from = d->result->period_from;
            sf->to = d->result->period_to;
            char src[64];
            snprintf(src, sizeof src, "decision-%s/1", app);
            sf->source = at_arena_strdup(a, src);
            h2->statuses = at_arena_alloc(a, sizeof *h2->statuses);
            h2->statuses[0] = sf;
            h2->n_statuses = 1;
            hist = h2;
        }
    }
    char stream[64];
    snprintf(stream, sizeof stream, "decision-%s", app);
    es_append_req req = {.tenant = "daugavpils", .stream_id = stream, .expected_version = ES_VERSION_NONE,
                         .command_id = cmd, .actor = "user:bench", .events = ev, .n_events = 2};
    es_append_res res;
    at_error err;
    if (es_txn_append(t, &req, &res, &err) != ES_OK)
        die("append", err.message);
}

static void write_draft(void)
{
    FILE *in = fopen(RULESETS_DIR "/daugavpils.yaml", "rb");
    if (!in)
        die("read", RULESETS_DIR "/daugavpils.yaml");
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = 0;
    char *at = strstr(buf, "value: \"65.00\"");
    if (!at)
        die("draft", "the 2020 Daugavpils GMI level is not in daugavpils.yaml");
    snprintf(draft_path, sizeof draft_path, "%s/bench-draft-%d.yaml", env_or("TMPDIR", P_tmpdir), (int)getpid());
    FILE *out = fopen(draft_path, "wb");
    if (!out)
        die("write", draft_path);
    fwrite(buf, 1, (size_t)(at - buf), out);
    fputs("value: \"71.50\"", out);
    fputs(at + strlen("value: \"65.00\""), out);
    fclose(out);
}

int main(int argc, char **argv)
{
    long apps = argc > 1 ? atol(argv[1]) : 10000;
    if (apps < 1)
        die("usage", "bench_simulate [APPLICATIONS]");
    const char *super = env_or("ATB_PG_SUPERUSER", "postgres");
    char db[64], admin[512];
    snprintf(db, sizeof db, "atb_bench_simulate_%d", (int)getpid());
    conninfo(root_ci, sizeof root_ci, super, "postgres");
    conninfo(admin, sizeof admin, super, db);
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    exec_or_die(root_ci, sql);
    snprintf(drop_sql, sizeof drop_sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    atexit(undo);
    at_error err;
    if (es_migrate(admin, NULL, &err) != ES_OK)
        die("es_migrate", err.message);
    write_draft();

    /* ---- the caseload */
    es_config cfg = {.conninfo = admin, .pool_size = 2, .application_name = "bench_simulate"};
    es_store *es = NULL;
    if (es_open(&es, &cfg, &err) != ES_OK)
        die("es_open", err.message);
    ruleset_cache *rc = NULL;
    ruleset_info rs;
    if (ruleset_cache_open(RULESETS_DIR, &rc, &err) != AT_OK || ruleset_cache_publish(rc, es, NULL, &err) != AT_OK)
        die("rule sets", err.message);
    if (!ruleset_cache_get(rc, "daugavpils", &rs))
        die("rule sets", "daugavpils is not published");
    at_arena *a = at_arena_new(1 << 20);
    at_date jan6;
    at_date_from_ymd(2020, 1, 6, &jan6);
    family *fam = calloc((size_t)apps, sizeof *fam);
    long n_fam = 0, seeded = 0;
    double t0 = now_s();
    while (seeded < apps) {
        es_txn *t = NULL;
        if (es_txn_begin(es, &t, &err) != ES_OK)
            die("begin", err.message);
        for (int i = 0; i < 500 && seeded < apps; i++, seeded++) {
            family *f;
            if (n_fam > 0 && next() % 5 == 0) {
                f = &fam[next() % (uint32_t)n_fam];   /* a household applying again */
            } else {
                f = &fam[n_fam++];
                at_uuid_v4(f->household);
                for (int k = 0; k < 6; k++)
                    at_uuid_v4(f->key[k]);
                f->members = 1 + (int)(next() % 6);
            }
            at_date on = jan6 + (at_date)(next() % 340);
            seed_application(a, t, &rs, f, on, (int64_t)(next() % 14001) * f->members);
            at_arena_reset(a);
        }
        if (es_txn_commit(t, &err) != ES_OK)
            die("commit", err.message);
    }
    double t_seed = now_s() - t0;
    ruleset_cache_free(rc);
    es_close(es);
    long decisions = apps * 2;
    printf("caseload: %ld applications (%ld decisions) of %ld households in Daugavpils, 2020; seeded in %.1f s\n",
           apps, decisions, n_fam, t_seed);

    /* ---- baseline: the audit replay of every decision */
    es_store *ro = NULL;
    if (sim_open_readonly(admin, "bench_simulate", &ro, &err) != AT_OK)
        die("open", err.message);
    if (ruleset_cache_open(NULL, &rc, &err) != AT_OK)
        die("cache", err.message);
    static const char *const categories[] = {"decision"};
    es_filter filt = {.tenant = "daugavpils", .categories = categories, .n_categories = 1};
    long replayed = 0, proven = 0;
    int64_t after = 0;
    t0 = now_s();
    for (;;) {
        es_batch *b = NULL;
        if (es_read_all(ro, after, 2000, &filt, &b, &err) != ES_OK)
            die("read", err.message);
        size_t n = es_batch_count(b);
        for (size_t i = 0; i < n; i++) {
            const es_event *ev = es_batch_get(b, i);
            after = ev->position;
            at_arena_reset(a);
            Atb__V1__ReplayedDecision d;
            if (replay_event(rc, ro, ev, a, &d, &err) != AT_OK)
                die("replay", err.message);
            replayed++;
            proven += d.proven;
        }
        es_batch_free(b);
        if (n < 2000)
            break;
    }
    double t_replay = now_s() - t0;
    ruleset_cache_free(rc);
    if (proven != decisions)
        fprintf(stderr, "bench_simulate: %ld of %ld decisions not proven\n", replayed - proven, replayed);

    /* ---- the simulation */
    sim_draft *d = NULL;
    if (sim_draft_open(RULESETS_DIR, draft_path, &d, &err) != AT_OK)
        die("draft", err.message);
    static const char *const region[] = {"daugavpils"};
    sim_opts o = {.tenants = region, .n_tenants = 1, .from = AT_DATE_NONE, .to = AT_DATE_NONE};
    sim_report r;
    t0 = now_s();
    if (sim_run(ro, d, &o, &r, &err) != AT_OK)
        die("simulate", err.message);
    double t_sim = now_s() - t0;
    const sim_line *total = &r.lines[r.n_lines - 1];
    long households = 0;
    for (int g = 0; g < SIM_N_GROUPS; g++)
        households += total->households[g];
    char c1[32], c2[32];
    at_cents_format(total->before, c1, sizeof c1);
    at_cents_format(total->after, c2, sizeof c2);
    printf("draft: Daugavpils GMI level 2020 65.00 -> 71.50; cost %s -> %s EUR; %ld households, %ld newly "
           "qualify, %ld gain\n",
           c1, c2, households, total->households[SIM_NEW], total->households[SIM_GAIN]);
    printf("%-34s %10s %10s %14s %8s\n", "", "decisions", "seconds", "decisions/s", "ratio");
    printf("%-34s %10ld %10.2f %14.0f %8.2f\n", "baseline: audit replay", replayed, t_replay,
           (double)replayed / t_replay, 1.0);
    printf("%-34s %10ld %10.2f %14.0f %8.2f\n", "simulate (draft, read-only)", r.decisions, t_sim,
           (double)r.decisions / t_sim, t_replay / t_sim);
    printf("simulate: %.0f households re-decided per second (%ld households)\n", (double)households / t_sim,
           households);
    sim_report_free(&r);
    sim_draft_free(d);
    es_close(ro);
    at_arena_free(a);
    free(fam);
    return 0;
}
