/*
 * cli_generate_intake.c -- the intake part of a generated year (cli_generate.h): persons
 * registered, each household taken through intake in order (facts, household,
 * application, declaration, home visit, co-operation agreement and its outcome,
 * completion), the wait for means testing's decisions, appeals.
 *
 * Within a household the commands go in order, each waiting for its answer; households
 * run in parallel. A refused command stops its household there (it is tallied).
 */
#include "cli_generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_time.h"

/* ---- persons ----------------------------------------------------------------------- */

void gen_register_household(void *arg, long i)
{
    gen_year *u = arg;
    gen_household *h = &u->pl->h[i];
    for (int k = 0; k < h->n; k++) {
        gen_person *p = &u->pl->p[h->first + k];
        Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        Atb__V1__Date bd;
        rp.meta = &meta;
        rp.personal_code = p->code;
        rp.given_name = (char *)p->given;
        rp.family_name = (char *)p->family;
        rp.birth_date = gen_date(&bd, p->birth);
        rp.sex = p->female ? ATB__V1__SEX__FEMALE : ATB__V1__SEX__MALE;
        gen_cmd(u->g, gen_tenant_of(u, h), "intake", "RegisterPerson", &rp.base, &meta, "person", h->first + k, p->key);
    }
    gen_step(u->g);
}

/* ---- intake ------------------------------------------------------------------------ */

static bool fact(gen_year *u, gen_household *h, int k, Atb__V1__PersonFact *f)
{
    Atb__V1__RecordPersonFact rf = ATB__V1__RECORD_PERSON_FACT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    rf.meta = &meta;
    rf.person_key = u->pl->p[h->first + k].key;
    rf.fact = f;
    char what[32];
    snprintf(what, sizeof what, "fact%d", f->kind);
    return gen_cmd(u->g, gen_tenant_of(u, h), "intake", "RecordPersonFact", &rf.base, &meta, what, h->first + k,
                   NULL) == AT_OK;
}

static bool person_facts(gen_year *u, gen_household *h)
{
    Atb__V1__Date from;
    for (int k = 0; k < h->n; k++) {
        const gen_person *p = &u->pl->p[h->first + k];
        if (!p->key[0])
            return false;
        if (p->disability) {
            Atb__V1__PersonFact f = ATB__V1__PERSON_FACT__INIT;
            f.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY;
            f.level = p->disability;
            at_date since = at_date_add_months(h->received, -30);
            f.from = gen_date(&from, since > p->birth ? since : p->birth);
            if (!fact(u, h, k, &f))
                return false;
        }
        if (p->unemployed) {
            Atb__V1__PersonFact f = ATB__V1__PERSON_FACT__INIT;
            f.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT;
            f.employment = ATB__V1__EMPLOYMENT__EMPLOYMENT_REGISTERED_UNEMPLOYED;
            f.from = gen_date(&from, at_date_add_months(h->received, -9));
            if (!fact(u, h, k, &f))
                return false;
        }
    }
    return true;
}

static bool create_household(gen_year *u, gen_household *h)
{
    Atb__V1__MemberIn mi[8], *mp[8];
    Atb__V1__Date joined[8];
    at_date floor = gen_ymd(2012, 1, 1);
    bool spouse = false;
    for (int k = 0; k < h->n && k < 8; k++) {
        const gen_person *p = &u->pl->p[h->first + k];
        atb__v1__member_in__init(&mi[k]);
        mi[k].person_key = (char *)p->key;
        int age = at_age_on(p->birth, h->received), age0 = at_age_on(u->pl->p[h->first].birth, h->received);
        if (k == 0)
            mi[k].relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
        else if (age < 18)
            mi[k].relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
        else if (age >= age0 + 18)
            mi[k].relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_PARENT;
        else if (!spouse && (spouse = true))
            mi[k].relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE;
        else
            mi[k].relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER_RELATIVE;
        mi[k].joined = gen_date(&joined[k], p->birth > floor ? p->birth : floor);
        mp[k] = &mi[k];
    }
    Atb__V1__CreateHousehold ch = ATB__V1__CREATE_HOUSEHOLD__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    ch.meta = &meta;
    ch.n_members = (size_t)h->n;
    ch.members = mp;
    ProtobufCMessage *m = NULL;
    int outcome = gen_send(u->g, gen_tenant_of(u, h), "intake", "CreateHousehold", &ch.base, &meta, "household",
                           h - u->pl->h, &atb__v1__command_reply__descriptor, AT_CONFLICT, &m);
    if (outcome == AT_OK) {
        snprintf(h->key, sizeof h->key, "%s", ((Atb__V1__CommandReply *)m)->key);
        /* A second run of the seed: intake answers the same CreateHousehold as done before. */
        h->rerun = ((Atb__V1__CommandReply *)m)->duplicate;
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    if (outcome != AT_CONFLICT)
        return outcome == AT_OK;
    /* A second run against an intake older than its replay of command ids: it refused the
     * same CreateHousehold as CONFLICT (the applicant is in a household: this one, made by
     * the first run). Go on with the household the applicant is in. */
    Atb__V1__Date on;
    Atb__V1__GetHousehold q = ATB__V1__GET_HOUSEHOLD__INIT;
    q.person_key = u->pl->p[h->first].key;
    q.as_of = gen_date(&on, h->received);
    if (gen_query(u->g, gen_tenant_of(u, h), "intake", "GetHousehold", &q.base, &atb__v1__household_view__descriptor,
                  &m) != CLI_OK)
        return false;
    const Atb__V1__HouseholdView *v = (const Atb__V1__HouseholdView *)m;
    bool ok = !cli_refused(v->error) && (size_t)h->n == v->n_members;
    if (ok)
        snprintf(h->key, sizeof h->key, "%s", v->household_key);
    h->rerun = ok;
    protobuf_c_message_free_unpacked(m, NULL);
    return ok;
}

static bool submit(gen_year *u, gen_household *h)
{
    const gen_town *t = &u->pl->preset->towns[h->town];
    long i = h - u->pl->h;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Ask asks[3], *ap[3];
    static const Atb__V1__AskKind kinds[3] = {ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS, ATB__V1__ASK_KIND__ASK_KIND_GMI,
                                              ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS};
    /* Low-income status only where the rule set has a threshold (else means returns it). */
    size_t n_asks = t->low_income ? 3 : 2;
    for (size_t k = 0; k < n_asks; k++) {
        atb__v1__ask__init(&asks[k]);
        asks[k].kind = kinds[k];
        ap[k] = &asks[k];
    }
    Atb__V1__Date received;
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = &meta;
    sa.applicant = u->pl->p[h->applicant].key;
    sa.household_key = h->key;
    sa.n_asks = n_asks;
    sa.asks = ap;
    sa.received = gen_date(&received, h->received);
    sa.channel = h->visit ? ATB__V1__CHANNEL__CHANNEL_HOME_VISIT : ATB__V1__CHANNEL__CHANNEL_OFFICE;
    sa.social_worker = (char *)gen_cli(u->g)->actor;
    return gen_cmd(u->g, t->tenant, "intake", "SubmitApplication", &sa.base, &meta, "application", i,
                   h->application) == AT_OK;
}

/* True when the application went past RECEIVED before: a second run of the seed, whose
 * remaining intake commands were all done before, so they are not sent again. */
static bool taken_through(gen_year *u, gen_household *h)
{
    Atb__V1__GetApplication q = ATB__V1__GET_APPLICATION__INIT;
    q.application_id = h->application;
    ProtobufCMessage *m = NULL;
    if (gen_query(u->g, gen_tenant_of(u, h), "intake", "GetApplication", &q.base, &atb__v1__application_view__descriptor,
                  &m) != CLI_OK)
        return false;
    const Atb__V1__ApplicationView *v = (const Atb__V1__ApplicationView *)m;
    bool through = !cli_refused(v->error) && v->status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED &&
                   v->status != ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_INCOMPLETE;
    protobuf_c_message_free_unpacked(m, NULL);
    return through;
}

static bool declare(gen_year *u, gen_household *h)
{
    const gen_town *t = &u->pl->preset->towns[h->town];
    long i = h - u->pl->h;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    /* The declaration: each earner's income of the three full months before. */
    Atb__V1__MonthlyIncome inc[24], *ip[24];
    Atb__V1__Date months[3], declared;
    size_t n_inc = 0;
    at_period window = at_last_full_months(h->received, 3);
    for (int m = 0; m < 3; m++)
        gen_date(&months[m], at_date_add_months(window.from, m));
    for (int k = 0; k < h->n && n_inc + 3 <= 24; k++) {
        gen_person *p = &u->pl->p[h->first + k];
        if (!p->income_cents)
            continue;
        for (int m = 0; m < 3; m++) {
            atb__v1__monthly_income__init(&inc[n_inc]);
            inc[n_inc].member = p->key;
            inc[n_inc].type = at_age_on(p->birth, h->received) >= 63 ? "pension" : "wage";
            inc[n_inc].month = &months[m];
            inc[n_inc].amount_cents = p->income_cents;
            ip[n_inc] = &inc[n_inc];
            n_inc++;
        }
    }
    Atb__V1__SubmitDeclaration sd = ATB__V1__SUBMIT_DECLARATION__INIT;
    sd.meta = &meta;
    sd.application_id = h->application;
    sd.n_incomes = n_inc;
    sd.incomes = ip;
    sd.housing_expenses_cents = h->housing_cents;
    sd.declared_on = gen_date(&declared, h->received);
    return gen_cmd(u->g, t->tenant, "intake", "SubmitDeclaration", &sd.base, &meta, "declaration", i, NULL) == AT_OK;
}

static bool visit(gen_year *u, gen_household *h)
{
    char *found[8];
    char *cond[1] = {h->n > 4 ? "overcrowded" : "adequate"};
    for (int k = 0; k < h->n && k < 8; k++)
        found[k] = u->pl->p[h->first + k].key;
    Atb__V1__Date on;
    Atb__V1__RecordHomeVisit hv = ATB__V1__RECORD_HOME_VISIT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    hv.meta = &meta;
    hv.household_key = h->key;
    hv.application_id = h->application;
    hv.visited_on = gen_date(&on, h->received + 1 < h->decision ? h->received + 1 : h->received);
    hv.n_found = (size_t)h->n;
    hv.found = found;
    hv.n_conditions = 1;
    hv.conditions = cond;
    hv.social_worker = (char *)gen_cli(u->g)->actor;
    return gen_cmd(u->g, gen_tenant_of(u, h), "intake", "RecordHomeVisit", &hv.base, &meta, "visit", h - u->pl->h,
                   NULL) == AT_OK;
}

/* A co-operation agreement with the first unemployed member: register with the agency
 * and look for work within a month; the outcome on the due date. */
static bool agreement(gen_year *u, gen_household *h)
{
    int who = h->first;
    for (int k = 0; k < h->n; k++)
        if (u->pl->p[h->first + k].unemployed) {
            who = h->first + k;
            break;
        }
    Atb__V1__Date signed_on, due, on;
    Atb__V1__Duty d = ATB__V1__DUTY__INIT, *dp[1] = {&d};
    d.kind = "seek_work";
    d.due = gen_date(&due, h->received + 30);
    Atb__V1__MakeAgreement ma = ATB__V1__MAKE_AGREEMENT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    ma.meta = &meta;
    ma.person_key = u->pl->p[who].key;
    ma.application_id = h->application;
    ma.signed_on = gen_date(&signed_on, h->received);
    ma.n_duties = 1;
    ma.duties = dp;
    long i = h - u->pl->h;
    if (gen_cmd(u->g, gen_tenant_of(u, h), "intake", "MakeAgreement", &ma.base, &meta, "agreement", i, h->agreement_key) !=
        AT_OK)
        return false;
    Atb__V1__RecordDutyOutcome ro = ATB__V1__RECORD_DUTY_OUTCOME__INIT;
    ro.meta = &meta;
    ro.agreement_key = h->agreement_key;
    ro.duty = 1;
    ro.fulfilled = !h->duty_failed;
    ro.on = gen_date(&on, h->received + 30);
    return gen_cmd(u->g, gen_tenant_of(u, h), "intake", "RecordDutyOutcome", &ro.base, &meta, "duty", i, NULL) == AT_OK;
}

void gen_intake_household(void *arg, long i)
{
    gen_year *u = arg;
    gen_household *h = &u->pl->h[i];
    if (!person_facts(u, h) || !create_household(u, h) || !submit(u, h)) {
        gen_step(u->g);
        return;
    }
    if (h->rerun && taken_through(u, h)) {
        h->done = true;
    } else if (declare(u, h) && (!h->visit || visit(u, h)) && (!h->agreement || agreement(u, h))) {
        Atb__V1__Date decision;
        Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        ca.meta = &meta;
        ca.application_id = h->application;
        ca.decision_date = gen_date(&decision, h->decision);
        h->done = gen_cmd(u->g, gen_tenant_of(u, h), "intake", "CompleteApplication", &ca.base, &meta, "complete", i,
                          NULL) == AT_OK;
    }
    gen_step(u->g);
}

/* ---- decisions --------------------------------------------------------------------- */

static void poll_decision(void *arg, long i)
{
    gen_year *u = arg;
    gen_household *h = &u->pl->h[i];
    if (!h->done || h->decided)
        return;
    Atb__V1__GetApplication q = ATB__V1__GET_APPLICATION__INIT;
    q.application_id = h->application;
    ProtobufCMessage *m = NULL;
    if (gen_query(u->g, gen_tenant_of(u, h), "intake", "GetApplication", &q.base, &atb__v1__application_view__descriptor,
                  &m) != CLI_OK)
        return;
    const Atb__V1__ApplicationView *v = (const Atb__V1__ApplicationView *)m;
    bool ok = !cli_refused(v->error);
    bool decided = ok && (v->status == ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_DECIDED ||
                          v->status == ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_APPEALED);
    bool returned = ok && !decided && v->returned && cli_refused(v->returned);
    if (decided || returned) {
        pthread_mutex_lock(&u->mu);
        h->decided = decided ? 1 : -1;
        u->r->decided += decided;
        u->r->returned += returned;
        for (size_t k = 0; decided && k < v->n_decisions; k++) {
            if (v->decisions[k]->position > u->r->last_decision_position)
                u->r->last_decision_position = v->decisions[k]->position;
            const Atb__V1__DecisionResult *d = v->decisions[k]->result;
            if (!d)
                continue;
            if (d->outcome != ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED)
                u->r->refused_asks++;
            else if (d->ask == ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS)
                u->r->needy++;
            else if (d->ask == ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS)
                u->r->low_income++;
            else if (d->ask == ATB__V1__ASK_KIND__ASK_KIND_GMI) {
                h->gmi = true;
                u->r->gmi++;
                u->r->gmi_cents += d->amount_cents;
            }
        }
        pthread_mutex_unlock(&u->mu);
        gen_step(u->g);
    }
    protobuf_c_message_free_unpacked(m, NULL);
}

void gen_wait_decisions(gen_year *u)
{
    int completed = 0;
    for (int i = 0; i < u->pl->nh; i++)
        completed += u->pl->h[i].done;
    u->r->completed = completed;
    gen_phase(u->g, "decisions", completed);
    int64_t now = at_mono_ns(), deadline = now + (int64_t)u->o->wait_seconds * 1000000000LL;
    /* Watch one figure, reporting's count of decided applications, rather than asking
     * intake about every application again and again (which would slow the services it
     * waits for). It stops short of the target when some are returned, not decided: after
     * 20 s without progress, the passes below tell. */
    int fresh = 0;   /* completed by this run, not found done by an earlier run of the seed */
    for (int i = 0; i < u->pl->nh; i++)
        fresh += u->pl->h[i].done && !u->pl->h[i].rerun;
    int64_t last = -2, changed = now;
    while (fresh > 0 && u->decided_before >= 0 && now < deadline) {
        int64_t n = gen_decided_in_report(u);
        if (n < 0)
            break;
        gen_steps_set(u->g, (long)(n - u->decided_before));
        if (n - u->decided_before >= fresh)
            break;
        if (n != last) {
            last = n;
            changed = now;
        } else if (now - changed > 20LL * 1000000000) {
            break;
        }
        gen_sleep_ms(500);
        now = at_mono_ns();
    }
    /* Then each application once (again only for those not decided yet): the tallies. */
    gen_phase(u->g, "tally", completed);
    for (;;) {
        gen_parallel(u->o->concurrency, u->pl->nh, poll_decision, u);
        if (u->r->decided + u->r->returned >= completed || at_mono_ns() > deadline)
            break;
        gen_sleep_ms(1000);
    }
}

/* ---- appeals ----------------------------------------------------------------------- */

void gen_appeal(void *arg, long i)
{
    gen_year *u = arg;
    gen_household *h = &u->pl->h[i];
    if (!h->appeal || h->decided != 1)
        return;
    Atb__V1__Date filed, decided;
    Atb__V1__FileAppeal fa = ATB__V1__FILE_APPEAL__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    fa.meta = &meta;
    fa.application_id = h->application;
    fa.ask_index = 1;
    fa.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL;
    fa.filed_on = gen_date(&filed, h->decision + 10);
    char key[37];
    if (gen_cmd(u->g, gen_tenant_of(u, h), "intake", "FileAppeal", &fa.base, &meta, "appeal", i, key) != AT_OK)
        return;
    Atb__V1__DecideAppeal da = ATB__V1__DECIDE_APPEAL__INIT;
    da.meta = &meta;
    da.appeal_key = key;
    da.outcome = ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_UPHELD;
    da.decided_on = gen_date(&decided, h->decision + 40);
    char ref[64];
    snprintf(ref, sizeof ref, "council %d/%ld", GEN_YEAR, i + 1);
    da.reference = ref;
    /* A second run: the same DecideAppeal is answered as done before (an older intake
     * refused it as CONFLICT, "decided already"). */
    if (gen_cmd_expect(u->g, gen_tenant_of(u, h), "intake", "DecideAppeal", &da.base, &meta, "appeal-decided", i,
                       h->rerun ? AT_CONFLICT : -1, NULL) == AT_OK) {
        pthread_mutex_lock(&u->mu);
        u->r->appeals++;
        pthread_mutex_unlock(&u->mu);
    }
    gen_step(u->g);
}
