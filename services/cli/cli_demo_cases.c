/*
 * cli_demo_cases.c -- the second half of `atbalsts demo`: a social service's caseload.
 *
 * The registered residents are grouped into households (1 to 4 persons with at least one
 * adult: the applicant), and every household goes the way a caseworker takes it, through
 * intake's command API only:
 *   CreateHousehold; RecordPersonFact (registered unemployed, for adults with no income);
 *   SubmitApplication (needy status, low-income status and GMI, received on a working day
 *   of 2020: the rule sets in the repository end on 2020-12-31); SubmitDeclaration (the
 *   three full months before: wages, pensions); RecordHomeVisit for every fourth
 *   household; CompleteApplication with the decision date a week later.
 * Means testing decides each application from intake's ApplicationCompleted event; intake
 * records ApplicationDecided, or ApplicationReturned when means testing could not decide it
 * (a municipality whose rule set has no low-income threshold, say). The demo waits until
 * every application is decided or returned (or 120 s pass) and tallies the decisions:
 * statuses granted, GMI granted and its monthly total, refusals by reason, returns.
 */
#include "cli.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "at_date.h"
#include "at_time.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

typedef struct household_plan {
    int first, n;                 /* members: persons[first .. first + n) */
    int applicant;                /* index into persons */
    at_date received, decision;
    int64_t income[4];            /* each member's monthly income, cents */
    bool visit;
    char key[37], application[37];
    bool done;                    /* every command accepted */
    char failure[160];            /* the first refusal, when not done */
} household_plan;

typedef struct cases_job {
    cli *c;
    const demo_person *p;
    household_plan *h;
    int n;
    int next;
    pthread_mutex_t mu;
} cases_job;

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

static void set_date(Atb__V1__Date *d, at_date x)
{
    atb__v1__date__init(d);
    int y, m, dd;
    at_date_to_ymd(x, &y, &m, &dd);
    d->year = y;
    d->month = m;
    d->day = dd;
}

/* Send one intake command; false (with the refusal in h->failure) when it is refused. */
static bool send(cli *c, household_plan *h, const char *name, ProtobufCMessage *msg, Atb__V1__CommandMeta *meta,
                 char key[37])
{
    char id[37];
    cli_meta(c, meta, id);
    ProtobufCMessage *m = NULL;
    if (cli_call(c, "cmd", c->tenant, "intake", name, msg, &atb__v1__command_reply__descriptor, &m) != CLI_OK) {
        snprintf(h->failure, sizeof h->failure, "%s: no answer", name);
        return false;
    }
    Atb__V1__CommandReply *r = (Atb__V1__CommandReply *)m;
    bool ok = !cli_refused(r->error);
    if (!ok)
        snprintf(h->failure, sizeof h->failure, "%s: %s", name, r->error->message);
    else if (key)
        snprintf(key, 37, "%s", r->key);
    protobuf_c_message_free_unpacked(m, NULL);
    return ok;
}

static Atb__V1__Relationship relationship(const demo_person *p, int i, int applicant, at_date on, bool *spouse)
{
    if (i == applicant)
        return ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
    if (at_age_on(p[i].birth, on) < 18)
        return ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
    if (!*spouse) {
        *spouse = true;
        return ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE;
    }
    return ATB__V1__RELATIONSHIP__RELATIONSHIP_PARENT;
}

static void run_household(cli *c, const demo_person *p, household_plan *h)
{
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__MemberIn mi[4], *mp[4];
    Atb__V1__Date joined[4], received, decision, declared, months[3], from;
    at_date floor;
    at_date_from_ymd(2012, 1, 1, &floor);
    bool spouse = false;
    for (int k = 0; k < h->n; k++) {
        int i = h->first + k;
        atb__v1__member_in__init(&mi[k]);
        mi[k].person_key = (char *)p[i].key;
        mi[k].relationship = relationship(p, i, h->applicant, h->received, &spouse);
        set_date(&joined[k], p[i].birth > floor ? p[i].birth : floor);
        mi[k].joined = &joined[k];
        mp[k] = &mi[k];
    }
    Atb__V1__CreateHousehold ch = ATB__V1__CREATE_HOUSEHOLD__INIT;
    ch.meta = &meta;
    ch.n_members = (size_t)h->n;
    ch.members = mp;
    if (!send(c, h, "CreateHousehold", &ch.base, &meta, h->key))
        return;

    /* Adults of working age with no income: registered with the employment agency. */
    at_date unemployed_from = at_date_add_months(h->received, -9);
    for (int k = 0; k < h->n; k++) {
        int i = h->first + k, age = at_age_on(p[i].birth, h->received);
        if (age < 18 || age >= 63 || h->income[k] > 0)
            continue;
        Atb__V1__PersonFact f = ATB__V1__PERSON_FACT__INIT;
        f.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT;
        f.employment = ATB__V1__EMPLOYMENT__EMPLOYMENT_REGISTERED_UNEMPLOYED;
        set_date(&from, unemployed_from);
        f.from = &from;
        Atb__V1__RecordPersonFact rf = ATB__V1__RECORD_PERSON_FACT__INIT;
        rf.meta = &meta;
        rf.person_key = (char *)p[i].key;
        rf.fact = &f;
        if (!send(c, h, "RecordPersonFact", &rf.base, &meta, NULL))
            return;
    }

    Atb__V1__Ask asks[3], *ap[3];
    static const Atb__V1__AskKind kinds[3] = {ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS,
                                              ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS,
                                              ATB__V1__ASK_KIND__ASK_KIND_GMI};
    for (int k = 0; k < 3; k++) {
        atb__v1__ask__init(&asks[k]);
        asks[k].kind = kinds[k];
        ap[k] = &asks[k];
    }
    set_date(&received, h->received);
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = &meta;
    sa.applicant = (char *)p[h->applicant].key;
    sa.household_key = h->key;
    sa.n_asks = 3;
    sa.asks = ap;
    sa.received = &received;
    sa.channel = h->visit ? ATB__V1__CHANNEL__CHANNEL_HOME_VISIT : ATB__V1__CHANNEL__CHANNEL_OFFICE;
    sa.social_worker = (char *)c->actor;
    if (!send(c, h, "SubmitApplication", &sa.base, &meta, h->application))
        return;

    Atb__V1__MonthlyIncome inc[12], *ip[12];
    size_t n_inc = 0;
    at_period window = at_last_full_months(h->received, 3);
    for (int m = 0; m < 3; m++)
        set_date(&months[m], at_date_add_months(window.from, m));
    for (int k = 0; k < h->n; k++) {
        if (h->income[k] == 0)
            continue;
        int i = h->first + k;
        for (int m = 0; m < 3; m++) {
            atb__v1__monthly_income__init(&inc[n_inc]);
            inc[n_inc].member = (char *)p[i].key;
            inc[n_inc].type = at_age_on(p[i].birth, h->received) >= 63 ? "pension" : "wage";
            inc[n_inc].month = &months[m];
            inc[n_inc].amount_cents = h->income[k];
            ip[n_inc] = &inc[n_inc];
            n_inc++;
        }
    }
    set_date(&declared, h->received);
    Atb__V1__SubmitDeclaration sd = ATB__V1__SUBMIT_DECLARATION__INIT;
    sd.meta = &meta;
    sd.application_id = h->application;
    sd.n_incomes = n_inc;
    sd.incomes = ip;
    sd.housing_expenses_cents = 9000 + 1500 * h->n;
    sd.declared_on = &declared;
    if (!send(c, h, "SubmitDeclaration", &sd.base, &meta, NULL))
        return;

    if (h->visit) {
        char *found[4], *cond[1] = {h->n > 3 ? "overcrowded" : "adequate"};
        for (int k = 0; k < h->n; k++)
            found[k] = (char *)p[h->first + k].key;
        Atb__V1__RecordHomeVisit hv = ATB__V1__RECORD_HOME_VISIT__INIT;
        hv.meta = &meta;
        hv.household_key = h->key;
        hv.application_id = h->application;
        hv.visited_on = &declared;
        hv.n_found = (size_t)h->n;
        hv.found = found;
        hv.n_conditions = 1;
        hv.conditions = cond;
        hv.social_worker = (char *)c->actor;
        if (!send(c, h, "RecordHomeVisit", &hv.base, &meta, NULL))
            return;
    }

    set_date(&decision, h->decision);
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    ca.meta = &meta;
    ca.application_id = h->application;
    ca.decision_date = &decision;
    h->done = send(c, h, "CompleteApplication", &ca.base, &meta, NULL);
}

static void *cases_thread(void *arg)
{
    cases_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n)
            return NULL;
        run_household(j->c, j->p, &j->h[i]);
    }
}

/* Group the persons into households; returns how many. */
static int plan(const demo_person *p, int n, uint64_t *s, household_plan *h)
{
    at_date start;
    at_date_from_ymd(2020, 2, 3, &start);
    int count = 0;
    for (int i = 0; i < n;) {
        int size = 1 + (below(s, 100) < 40 ? 0 : below(s, 100) < 45 ? 1 : 1 + below(s, 3));
        if (size > n - i)
            size = n - i;
        household_plan *x = &h[count];
        memset(x, 0, sizeof *x);
        x->first = i;
        x->n = size;
        x->received = start + below(s, 280);
        while (at_date_weekday(x->received) >= 5)   /* Saturday, Sunday */
            x->received++;
        x->decision = x->received + 7;
        x->applicant = -1;
        for (int k = 0; k < size; k++) {
            int age = at_age_on(p[i + k].birth, x->received);
            if (age < 0) {   /* born after the application: not in this household */
                x->n = k;
                break;
            }
            if (x->applicant < 0 && age >= 18)
                x->applicant = i + k;
            if (age >= 63)
                x->income[k] = 25000 + 500 * below(s, 30);        /* pension 250..395 EUR */
            else if (age >= 18)
                x->income[k] = below(s, 100) < 35 ? 0 : 20000 + 1000 * below(s, 60);   /* wage 200..790 */
        }
        x->visit = count % 4 == 0;
        i += size;
        if (x->applicant >= 0 && x->n > 0)
            count++;
    }
    return count;
}

int cli_demo_cases(cli *c, const demo_person *p, int n, uint64_t seed, long clients, json_t *summary, bool *ok)
{
    household_plan *h = calloc((size_t)n + 1, sizeof *h);
    if (!h) {
        fprintf(stderr, "atbalsts: demo: out of memory for the households\n");
        return CLI_USAGE;
    }
    uint64_t s = (seed + 7) * 0xD1B54A32D192ED03ULL;
    int households = plan(p, n, &s, h);
    if (!c->json)
        printf("\ndemo: %d households apply for needy status, low-income status and GMI (2020), %ld in flight\n",
               households, clients);
    cases_job j = {.c = c, .p = p, .h = h, .n = households};
    pthread_mutex_init(&j.mu, NULL);
    pthread_t th[256];
    int started = 0;
    int64_t t0 = at_mono_ns();
    for (long i = 0; i < clients; i++)
        if (pthread_create(&th[started], NULL, cases_thread, &j) == 0)
            started++;
    if (started == 0)
        cases_thread(&j);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.mu);
    double t_intake = (double)(at_mono_ns() - t0) / 1e9;

    /* Wait until means testing has decided every completed application. */
    int completed = 0, decided = 0, returned = 0, rc = CLI_OK;
    char returned_why[200] = "";
    long needy = 0, low = 0, gmi = 0, refused = 0;
    int64_t gmi_month = 0;
    char reasons[8][64] = {{0}};
    long reason_n[8] = {0};
    const char *first_failure = NULL;
    for (int i = 0; i < households; i++) {
        completed += h[i].done;
        if (!h[i].done && !first_failure)
            first_failure = h[i].failure;
    }
    int64_t deadline = at_mono_ns() + 120LL * 1000000000;
    for (int i = 0; i < households && rc == CLI_OK; i++) {
        if (!h[i].done)
            continue;
        for (;;) {
            Atb__V1__GetApplication q = ATB__V1__GET_APPLICATION__INIT;
            q.application_id = h[i].application;
            ProtobufCMessage *m = NULL;
            if ((rc = cli_call(c, "qry", c->tenant, "intake", "GetApplication", &q.base,
                               &atb__v1__application_view__descriptor, &m)) != CLI_OK)
                break;
            Atb__V1__ApplicationView *v = (Atb__V1__ApplicationView *)m;
            bool is_decided = !cli_refused(v->error) && v->status == ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_DECIDED;
            bool is_returned = !cli_refused(v->error) && v->returned &&
                               v->status == ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED;
            if (is_returned) {
                returned++;
                if (!returned_why[0])
                    snprintf(returned_why, sizeof returned_why, "%s", v->returned->message);
            }
            if (is_decided) {
                decided++;
                for (size_t k = 0; k < v->n_decisions; k++) {
                    const Atb__V1__DecisionResult *r = v->decisions[k]->result;
                    if (!r)
                        continue;
                    if (r->outcome != ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED) {
                        refused++;
                        const char *code = r->n_reasons ? r->reasons[0]->code : "refused";
                        int slot = 0;
                        while (slot < 7 && reasons[slot][0] && strcmp(reasons[slot], code) != 0)
                            slot++;
                        if (!reasons[slot][0])
                            snprintf(reasons[slot], sizeof reasons[slot], "%s", code);
                        reason_n[slot]++;
                    } else if (r->ask == ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS) {
                        needy++;
                    } else if (r->ask == ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS) {
                        low++;
                    } else if (r->ask == ATB__V1__ASK_KIND__ASK_KIND_GMI) {
                        gmi++;
                        gmi_month += r->amount_cents;
                    }
                }
            }
            protobuf_c_message_free_unpacked(m, NULL);
            if (is_decided || is_returned || at_mono_ns() > deadline)
                break;
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    double t_all = (double)(at_mono_ns() - t0) / 1e9;
    free(h);
    if (rc != CLI_OK)
        return rc;
    *ok = completed == households && decided + returned == completed;

    if (summary) {
        json_t *r = json_object();
        for (int k = 0; k < 8 && reasons[k][0]; k++)
            json_object_set_new(r, reasons[k], json_integer(reason_n[k]));
        json_object_set_new(summary, "cases",
                            json_pack("{s:i, s:i, s:i, s:i, s:s, s:f, s:f, s:I, s:I, s:I, s:I, s:o}", "households",
                                      households, "completed", completed, "decided", decided, "returned", returned,
                                      "returned_reason", returned_why, "intake_seconds", t_intake,
                                      "decided_seconds", t_all, "needy_granted", (json_int_t)needy,
                                      "low_income_granted", (json_int_t)low, "gmi_granted", (json_int_t)gmi,
                                      "gmi_cents_per_month", (json_int_t)gmi_month, "refusals_by_reason", r));
        return CLI_OK;
    }
    printf("\ndemo caseload (%s)\n", c->tenant);
    printf("  households / completed  %d / %d%s%s\n", households, completed, first_failure ? "; first refusal: " : "",
           first_failure ? first_failure : "");
    printf("  decided by means        %d, all within %.1f s (intake commands took %.1f s)\n", decided, t_all, t_intake);
    if (returned)
        printf("  returned by means       %d (%s)\n", returned, returned_why);
    printf("  needy status granted    %ld\n", needy);
    printf("  low-income granted      %ld\n", low);
    printf("  GMI granted             %ld, %lld.%02lld EUR a month in all\n", gmi, (long long)(gmi_month / 100),
           (long long)(gmi_month % 100));
    printf("  refused asks            %ld:", refused);
    for (int k = 0; k < 8 && reasons[k][0]; k++)
        printf(" %s %ld", reasons[k], reason_n[k]);
    printf("\n");
    return CLI_OK;
}
