/*
 * cli_generate_run.c -- the workload driver of `atbalsts generate`: a planned year driven
 * through the public command API only, phase by phase:
 *
 *   persons      RegisterPerson for every member                   (cli_generate_intake.c)
 *   intake       per household: facts, household, application, declaration, home visit,
 *                co-operation agreement and its outcome, completion
 *   decisions    wait until means testing decided (or returned) every completed one
 *   appeals      FileAppeal to the council and DecideAppeal
 *   services     assessments, requests, offers, crisis admissions   (cli_generate_services.c)
 *   payments     payee accounts, twelve monthly batches and files   (cli_generate_pay.c)
 *   report       the year's AssistanceReport of every municipality of the preset
 *
 * A refusal is tallied, never fatal. The clock: intake answered, every application
 * decided, the report projection holding every decision (the end-to-end benchmark's
 * "to report"), the end.
 */
#include "cli_generate.h"

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "at_time.h"

void gen_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

Atb__V1__Date *gen_date(Atb__V1__Date *d, at_date x)
{
    atb__v1__date__init(d);
    int y, m, dd;
    at_date_to_ymd(x, &y, &m, &dd);
    d->year = y;
    d->month = m;
    d->day = dd;
    return d;
}

at_date gen_ymd(int y, int m, int d)
{
    at_date x;
    at_date_from_ymd(y, m, d, &x);
    return x;
}

const char *gen_tenant_of(const gen_year *u, const gen_household *h) { return u->pl->preset->towns[h->town].tenant; }

/* ---- the year ---------------------------------------------------------------------- */

int gen_run(gen *g, gen_plan *pl, const gen_options *o, gen_result *r)
{
    gen_year u = {.g = g, .pl = pl, .o = o, .r = r};
    pthread_mutex_init(&u.mu, NULL);
    u.decided_before = gen_decided_in_report(&u);
    int64_t t0 = at_mono_ns();
    int c = o->concurrency;
    if (o->out_dir)
        mkdir(o->out_dir, 0755);

    gen_phase(g, "persons", pl->nh);
    gen_parallel(c, pl->nh, gen_register_household, &u);
    gen_phase(g, "intake", pl->nh);
    gen_parallel(c, pl->nh, gen_intake_household, &u);
    r->t_intake = (double)(at_mono_ns() - t0) / 1e9;
    gen_wait_decisions(&u);
    r->t_decided = (double)(at_mono_ns() - t0) / 1e9;
    gen_report(&u, false);
    r->t_report = (double)(at_mono_ns() - t0) / 1e9;
    if (o->appeals) {
        gen_phase(g, "appeals", pl->nh);
        gen_parallel(c, pl->nh, gen_appeal, &u);
    }
    if (o->services) {
        gen_phase(g, "services", pl->nh);
        gen_parallel(pl->preset->n_towns, pl->preset->n_towns, gen_services_town, &u);
    }
    if (o->payments) {
        int gmi = 0;
        for (int i = 0; i < pl->nh; i++)
            gmi += pl->h[i].gmi;
        gen_phase(g, "payments", gmi);
        gen_parallel(pl->preset->n_towns, pl->preset->n_towns, gen_payments_town, &u);
    }
    gen_phase(g, "report", 1);
    gen_report(&u, true);
    gen_step(g);
    r->t_end = (double)(at_mono_ns() - t0) / 1e9;
    pthread_mutex_destroy(&u.mu);
    gen_tally t;
    gen_tally_get(g, &t);
    return t.sent > 0 && t.unanswered == t.sent ? CLI_UNREACHABLE : CLI_OK;
}
