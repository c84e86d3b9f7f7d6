/*
 * ministry.c -- MinistryReport: the annual statistical report on social services and social
 * assistance to the Ministry of Welfare (docs/reporting.md, "MinistryReport", says which
 * sections and what is not covered).
 *
 * The sections are the other reports for the calendar year, asked through their own
 * handlers, plus the persons of needy and low-income households by age and sex. The cutoff
 * is resolved once (the query's "as known on", or else the log's head now) and handed to
 * every section, so the sections agree with each other even though each reads in its own
 * snapshot.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atb/v1/reporting.pb-c.h"

/* Needy (1) and low-income (2) status decisions in force on a day of [$2, $3] as known at
 * $4: their members, by age on $3 and sex as reporting.persons holds them. */
static const char SQL_PERSONS[] =
    "WITH s AS (SELECT DISTINCT k.tenant, k.status, m FROM " REP_KNOWN_DECISIONS " k, unnest(k.members) m "
    "  WHERE k.outcome = 1 AND k.ask IN (1, 2) AND k.status IN (1, 2) "
    "  AND coalesce(k.period_from, k.decided_on) <= $3::date AND coalesce(k.period_to, $2::date) >= $2::date), "
    "x AS (SELECT s.tenant, s.status, s.m, extract(year FROM age($3::date, p.birth_date))::int AS age, p.sex "
    "  FROM s LEFT JOIN reporting.persons p ON p.person_key::text = s.m AND p.position <= $4) "
    "SELECT GROUPING(tenant), tenant, status, "
    "  count(DISTINCT m) FILTER (WHERE age < 18), count(DISTINCT m) FILTER (WHERE age BETWEEN 18 AND 64), "
    "  count(DISTINCT m) FILTER (WHERE age >= 65), count(DISTINCT m) FILTER (WHERE age IS NULL), "
    "  count(DISTINCT m) FILTER (WHERE sex = 1), count(DISTINCT m) FILTER (WHERE sex = 2) "
    "FROM x GROUP BY GROUPING SETS ((tenant, status), (status)) ORDER BY GROUPING(tenant), tenant, status";

/* The cutoff: the query's, or the log's head now. */
static at_code resolve_cutoff(svc_request *req, const Atb__V1__MinistryReport *q, int64_t *cutoff, at_error *err)
{
    es_txn *t = NULL;
    at_code code = rep_snapshot_begin(req->es, &t, err);
    if (code != AT_OK)
        return code;
    char text[24];
    code = rep_cutoff(t, q->as_known_on, q->as_of_position, cutoff, text, err);
    if (code == AT_OK && *cutoff == INT64_MAX) {
        PGresult *r = rep_query(t, "SELECT position FROM atb.log_head", 0, NULL, err);
        if (r) {
            *cutoff = rep_num(r, 0, 0);
            PQclear(r);
        } else {
            code = AT_UNAVAILABLE;
        }
    }
    es_txn_rollback(t);
    return code;
}

/* Run a section's handler on `msg` as if it had been asked itself; its reply is in the
 * same arena. */
static at_code section(svc_request *req, at_code (*fn)(svc_request *, ProtobufCMessage **, at_error *),
                       const ProtobufCMessage *msg, ProtobufCMessage **out, at_error *err)
{
    svc_request sub = *req;
    sub.msg = msg;
    return fn(&sub, out, err);
}

static at_code persons_by_age(svc_request *req, const char *const p[4], Atb__V1__MinistryReportReply *rep,
                              at_error *err)
{
    es_txn *t = NULL;
    at_code code = rep_snapshot_begin(req->es, &t, err);
    if (code != AT_OK)
        return code;
    PGresult *r = rep_query(t, SQL_PERSONS, 4, p, err);
    if (!r) {
        es_txn_rollback(t);
        return AT_UNAVAILABLE;
    }
    int n = PQntuples(r);
    rep->persons_by_age = at_arena_alloc(req->arena, (size_t)(n ? n : 1) * sizeof *rep->persons_by_age);
    Atb__V1__PersonsByAge *x = at_arena_alloc(req->arena, (size_t)(n ? n : 1) * sizeof *x);
    if (!rep->persons_by_age || !x)
        code = at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    for (int i = 0; code == AT_OK && i < n; i++) {
        atb__v1__persons_by_age__init(&x[i]);
        x[i].tenant = at_arena_strdup(req->arena, rep_num(r, i, 0) == 1 ? "" : PQgetvalue(r, i, 1));
        if (!x[i].tenant)
            code = at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
        x[i].status = (int32_t)rep_num(r, i, 2);
        x[i].children = rep_num(r, i, 3);
        x[i].working_age = rep_num(r, i, 4);
        x[i].pension_age = rep_num(r, i, 5);
        x[i].age_unknown = rep_num(r, i, 6);
        x[i].women = rep_num(r, i, 7);
        x[i].men = rep_num(r, i, 8);
        rep->persons_by_age[rep->n_persons_by_age++] = &x[i];
    }
    PQclear(r);
    es_txn_rollback(t);
    return code;
}

at_code ministry_report(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__MinistryReport *q = (const Atb__V1__MinistryReport *)req->msg;
    if (q->year < 1990 || q->year > 9999) {
        at_error_set(err, AT_VALIDATION, "year", q->year ? "invalid year" : "missing year");
        at_error_detail(err, "MinistryReport needs the calendar year it reports on, e.g. 2026.");
        return AT_VALIDATION;
    }
    rep_tenants tn;
    at_code code = rep_tenants_check(q->tenants, q->n_tenants, req->tenant, &tn, err);
    int64_t cutoff = 0;
    if (code != AT_OK || (code = resolve_cutoff(req, q, &cutoff, err)) != AT_OK)
        return code;
    Atb__V1__MinistryReportReply *rep = at_arena_alloc(req->arena, sizeof *rep);
    char *tenants = rep_tenants_array(&tn, req->arena);
    if (!rep || !tenants)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__ministry_report_reply__init(rep);
    rep->year = q->year;
    rep->as_of_position = cutoff;

    Atb__V1__Date from = ATB__V1__DATE__INIT, to = ATB__V1__DATE__INIT;
    from.year = to.year = q->year;
    from.month = from.day = 1;
    to.month = 12;
    to.day = 31;
    Atb__V1__AssistanceReport qa = ATB__V1__ASSISTANCE_REPORT__INIT;
    Atb__V1__ServicesReport qs = ATB__V1__SERVICES_REPORT__INIT;
    Atb__V1__BudgetExecutionReport qb = ATB__V1__BUDGET_EXECUTION_REPORT__INIT;
    Atb__V1__IndicatorsReport qi = ATB__V1__INDICATORS_REPORT__INIT;
    qa.tenants = qs.tenants = qb.tenants = qi.tenants = q->tenants;
    qa.n_tenants = qs.n_tenants = qb.n_tenants = qi.n_tenants = q->n_tenants;
    qa.from = qs.from = qb.from = qi.from = &from;
    qa.to = qs.to = qb.to = qi.to = &to;
    /* The date goes along: when nothing was recorded by then the cutoff is 0, which as a
     * position would mean "none"; each section resolves the date to 0 itself. */
    qa.as_of_position = qs.as_of_position = qb.as_of_position = qi.as_of_position = cutoff;
    qa.as_known_on = qs.as_known_on = qb.as_known_on = qi.as_known_on = q->as_known_on;
    ProtobufCMessage *ra = NULL, *rs = NULL, *rb = NULL, *ri = NULL;
    if ((code = section(req, assistance_report, &qa.base, &ra, err)) != AT_OK ||
        (code = section(req, services_report, &qs.base, &rs, err)) != AT_OK ||
        (code = section(req, budget_report, &qb.base, &rb, err)) != AT_OK ||
        (code = section(req, indicators_report, &qi.base, &ri, err)) != AT_OK)
        return code;
    rep->assistance = (Atb__V1__AssistanceReportReply *)ra;
    rep->services = (Atb__V1__ServicesReportReply *)rs;
    rep->budget = (Atb__V1__BudgetExecutionReply *)rb;
    rep->indicators = (Atb__V1__IndicatorsReportReply *)ri;
    char f[16], t[16], cut[24];
    snprintf(f, sizeof f, "%04d-01-01", (int)q->year);
    snprintf(t, sizeof t, "%04d-12-31", (int)q->year);
    snprintf(cut, sizeof cut, "%lld", (long long)cutoff);
    const char *p[4] = {tenants, f, t, cut};
    if ((code = persons_by_age(req, p, rep, err)) != AT_OK)
        return code;
    *reply = &rep->base;
    return AT_OK;
}
