/*
 * report.c -- AssistanceReport: the social assistance figures of a period for one or more
 * municipalities (docs/reporting.md defines each figure and its source), read from
 * reporting.decisions and reporting.applications.
 *
 * Every figure and both checkpoints are read in one REPEATABLE READ transaction, so the
 * reply is exactly what the projections held at the positions it names. The totals are
 * computed by PostgreSQL over all the municipalities asked (GROUPING SETS), so a household
 * or person counted in two of them counts once in the total.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_buf.h"
#include "at_date.h"
#include "atb/v1/reporting.pb-c.h"

#define MAX_TENANTS 128

/* Status decisions granted and in force on at least one day of [$2, $3]. */
static const char SQL_STATUSES[] =
    "WITH s AS (SELECT tenant, status, household_id, members FROM " REP_KNOWN_DECISIONS " k "
    "  WHERE tenant = ANY($1::text[]) AND outcome = 1 AND ask IN (1, 2) AND status IN (1, 2) "
    "  AND coalesce(period_from, decided_on) <= $3::date AND coalesce(period_to, $2::date) >= $2::date) "
    "SELECT GROUPING(tenant), tenant, status, count(DISTINCT household_id), count(DISTINCT m) "
    "FROM s LEFT JOIN LATERAL unnest(s.members) AS m ON true "
    "GROUP BY GROUPING SETS ((tenant, status), (status))";

/* Benefit grants in force in [$2, $3] (a one-off grant: its period starts in it) and their
 * amount for the period: a monthly amount for each calendar month of the grant's period in
 * [$2, $3], a yearly amount for each calendar year, a one-off amount once. */
static const char SQL_BENEFITS[] =
    "WITH g AS (SELECT tenant, benefit, household_id, has_amount, per, amount_cents, "
    "    greatest(coalesce(period_from, decided_on), $2::date) AS a, "
    "    least(coalesce(period_to, $3::date), $3::date) AS b "
    "  FROM " REP_KNOWN_DECISIONS " k "
    "  WHERE tenant = ANY($1::text[]) AND outcome = 1 AND benefit <> '' AND ask NOT IN (1, 2) "
    "  AND coalesce(period_from, decided_on) <= $3::date "
    "  AND CASE WHEN per = 1 THEN coalesce(period_from, decided_on) >= $2::date "
    "      ELSE coalesce(period_to, $2::date) >= $2::date END) "
    "SELECT GROUPING(tenant), tenant, benefit, count(DISTINCT household_id), count(*), "
    "  coalesce(sum(CASE WHEN NOT has_amount THEN 0 "
    "    WHEN per = 1 THEN amount_cents "
    "    WHEN per = 2 THEN amount_cents * ((extract(year FROM b)::int * 12 + extract(month FROM b)::int) "
    "                                    - (extract(year FROM a)::int * 12 + extract(month FROM a)::int) + 1) "
    "    WHEN per = 3 THEN amount_cents * (extract(year FROM b)::int - extract(year FROM a)::int + 1) "
    "    ELSE 0 END), 0)::bigint "
    "FROM g GROUP BY GROUPING SETS ((tenant, benefit), (benefit)) ORDER BY 3";

static const char SQL_DECISIONS[] =
    "SELECT GROUPING(tenant), tenant, count(*) FROM " REP_KNOWN_DECISIONS " k "
    "WHERE tenant = ANY($1::text[]) AND decided_on BETWEEN $2::date AND $3::date "
    "GROUP BY GROUPING SETS ((tenant), ())";

/* An application's decision date is the latest decision date of its decisions. */
static const char SQL_APPLICATIONS[] =
    "WITH a AS (SELECT a.tenant, a.deadline, a.appealed, "
    "    (SELECT max(d.decided_on) FROM reporting.decisions d "
    "     WHERE d.tenant = a.tenant AND d.application_id = a.application_id AND d.position <= $4) AS decided_on, "
    "    coalesce(a.appealed_position <= $4, false) AS appealed_then "
    "  FROM reporting.applications a "
    "  WHERE a.tenant = ANY($1::text[]) AND a.first_decided_position <= $4) "
    "SELECT GROUPING(tenant), tenant, count(*), count(*) FILTER (WHERE decided_on <= deadline), "
    "  count(*) FILTER (WHERE appealed_then) "
    "FROM a WHERE decided_on BETWEEN $2::date AND $3::date GROUP BY GROUPING SETS ((tenant), ())";

static const char SQL_POSITIONS[] =
    "SELECT coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '" DECISIONS_CONSUMER "'), 0), "
    "coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '" APPLICATIONS_CONSUMER "'), 0)";

typedef struct report {
    Atb__V1__AssistanceReportReply *reply;
    const char *tenants[MAX_TENANTS];
    size_t n;
} report;

static at_code check_date(const Atb__V1__Date *d, const char *field, at_date *out, at_error *err)
{
    if (!d || !at_date_from_ymd(d->year, d->month, d->day, out)) {
        at_error_set(err, AT_VALIDATION, field, d ? "invalid date" : "missing date");
        at_error_detail(err, "AssistanceReport needs a valid %s date.", field);
        return AT_VALIDATION;
    }
    return AT_OK;
}

/* The tenants asked, without repeats, in order; the subject's when none. */
static at_code check_tenants(const Atb__V1__AssistanceReport *q, const char *own, report *rp, at_error *err)
{
    if (q->n_tenants == 0) {
        rp->tenants[rp->n++] = own;
        return AT_OK;
    }
    if (q->n_tenants > MAX_TENANTS) {
        at_error_set(err, AT_VALIDATION, "tenants", "too many tenants");
        at_error_detail(err, "%zu tenants asked; at most %d.", q->n_tenants, MAX_TENANTS);
        return AT_VALIDATION;
    }
    for (size_t i = 0; i < q->n_tenants; i++) {
        const char *t = q->tenants[i];
        if (!t[0] || strpbrk(t, "{},\"\\ ")) {
            at_error_set(err, AT_VALIDATION, "tenants", "invalid tenant \"%.60s\"", t);
            at_error_detail(err, "A tenant is a municipality's identifier, such as \"daugavpils\".");
            return AT_VALIDATION;
        }
        bool seen = false;
        for (size_t k = 0; k < rp->n && !seen; k++)
            seen = strcmp(rp->tenants[k], t) == 0;
        if (!seen)
            rp->tenants[rp->n++] = t;
    }
    return AT_OK;
}

/* The row result row i is about: the total when GROUPING(tenant) is 1; NULL for a
 * tenant not asked (never: the queries filter on the tenants asked). */
static Atb__V1__AssistanceRow *row_of(report *rp, PGresult *r, int i)
{
    if (strcmp(PQgetvalue(r, i, 0), "1") == 0)
        return rp->reply->total;
    for (size_t k = 0; k < rp->n; k++)
        if (strcmp(rp->tenants[k], PQgetvalue(r, i, 1)) == 0)
            return rp->reply->rows[k];
    return NULL;
}

static int64_t num(PGresult *r, int i, int col)
{
    return strtoll(PQgetvalue(r, i, col), NULL, 10);
}

static Atb__V1__AssistanceRow *new_row(at_arena *a, const char *tenant, size_t max_benefits)
{
    Atb__V1__AssistanceRow *row = at_arena_alloc(a, sizeof *row);
    Atb__V1__StatusFigures *s = at_arena_alloc(a, 2 * sizeof *s);
    Atb__V1__BenefitFigures **b = at_arena_alloc(a, (max_benefits ? max_benefits : 1) * sizeof *b);
    /* a copy: the subject's tenant lives only until the handler returns, the reply longer */
    char *name = at_arena_strdup(a, tenant);
    if (!row || !s || !b || !name)
        return NULL;
    atb__v1__assistance_row__init(row);
    atb__v1__status_figures__init(&s[0]);
    atb__v1__status_figures__init(&s[1]);
    row->tenant = name;
    row->needy = &s[0];
    row->low_income = &s[1];
    row->benefits = b;
    return row;
}

static at_code fill(report *rp, at_arena *a, PGresult *const res[5], at_error *err)
{
    Atb__V1__AssistanceReportReply *rep = rp->reply;
    size_t nb = (size_t)PQntuples(res[1]);
    rep->rows = at_arena_alloc(a, rp->n * sizeof *rep->rows);
    rep->total = new_row(a, "", nb);
    bool ok = rep->rows && rep->total;
    for (size_t k = 0; ok && k < rp->n; k++)
        ok = (rep->rows[k] = new_row(a, rp->tenants[k], nb)) != NULL;
    if (!ok)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    rep->n_rows = rp->n;
    for (int i = 0; i < PQntuples(res[0]); i++) {
        Atb__V1__AssistanceRow *row = row_of(rp, res[0], i);
        if (!row)
            continue;
        Atb__V1__StatusFigures *s = num(res[0], i, 2) == 1 ? row->needy : row->low_income;
        s->households = num(res[0], i, 3);
        s->persons = num(res[0], i, 4);
    }
    for (int i = 0; i < PQntuples(res[1]); i++) {
        Atb__V1__AssistanceRow *row = row_of(rp, res[1], i);
        if (!row)
            continue;
        Atb__V1__BenefitFigures *b = at_arena_alloc(a, sizeof *b);
        char *code = at_arena_strdup(a, PQgetvalue(res[1], i, 2));
        if (!b || !code)
            return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
        atb__v1__benefit_figures__init(b);
        b->benefit = code;
        b->households = num(res[1], i, 3);
        b->grants = num(res[1], i, 4);
        b->amount_cents = num(res[1], i, 5);
        row->benefits[row->n_benefits++] = b;
    }
    for (int i = 0; i < PQntuples(res[2]); i++) {
        Atb__V1__AssistanceRow *row = row_of(rp, res[2], i);
        if (row)
            row->decisions = num(res[2], i, 2);
    }
    for (int i = 0; i < PQntuples(res[3]); i++) {
        Atb__V1__AssistanceRow *row = row_of(rp, res[3], i);
        if (!row)
            continue;
        row->applications_decided = num(res[3], i, 2);
        row->decided_on_time = num(res[3], i, 3);
        row->appealed = num(res[3], i, 4);
    }
    rep->decisions_position = num(res[4], 0, 0);
    rep->applications_position = num(res[4], 0, 1);
    return AT_OK;
}

/* The tenants as a PostgreSQL array literal in the arena (check_tenants refused the
 * characters that would need quoting). */
static char *tenants_array(const report *rp, at_arena *a)
{
    size_t len = 3;
    for (size_t k = 0; k < rp->n; k++)
        len += strlen(rp->tenants[k]) + 1;
    char *s = at_arena_alloc(a, len), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (size_t k = 0; k < rp->n; k++)
        p += sprintf(p, "%s%s", k ? "," : "", rp->tenants[k]);
    snprintf(p, 2, "}");
    return s;
}

/* params: tenants, from, to, and the cutoff position, which is resolved here (in the
 * snapshot) from the query's as_known_on / as_of_position. */
static at_code read_figures(es_txn *t, report *rp, at_arena *a, const Atb__V1__AssistanceReport *q,
                            const char *params[4], at_error *err)
{
    static const char *const sqls[5] = {SQL_STATUSES, SQL_BENEFITS, SQL_DECISIONS, SQL_APPLICATIONS, SQL_POSITIONS};
    PGresult *res[5] = {0};
    at_code code = AT_OK;
    PGresult *iso = PQexec(es_txn_conn(t), "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    bool ok = PQresultStatus(iso) == PGRES_COMMAND_OK;
    PQclear(iso);
    char cut[24];
    int64_t cutoff = 0;
    if (ok && (code = rep_cutoff(t, q->as_known_on, q->as_of_position, &cutoff, cut, err)) != AT_OK)
        return code;
    params[3] = cut;
    for (int i = 0; ok && i < 5; i++) {
        res[i] = PQexecParams(es_txn_conn(t), sqls[i], i == 4 ? 0 : 4, NULL, i == 4 ? NULL : params, NULL, NULL, 0);
        if (PQresultStatus(res[i]) != PGRES_TUPLES_OK) {
            const char *state = PQresultErrorField(res[i], PG_DIAG_SQLSTATE);
            at_error_set(err, AT_UNAVAILABLE, NULL, "could not read the reporting projections");
            at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s).", PQresultErrorMessage(res[i]),
                            state ? state : "none");
            code = AT_UNAVAILABLE;
            ok = false;
        }
    }
    if (!ok && code == AT_OK)
        code = at_error_set(err, AT_UNAVAILABLE, NULL, "could not begin a snapshot of the reporting projections");
    if (ok && (code = fill(rp, a, res, err)) == AT_OK)
        rp->reply->as_of_position = cutoff == INT64_MAX ? 0 : cutoff;
    for (int i = 0; i < 5; i++)
        PQclear(res[i]);
    return code;
}

at_code assistance_report(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__AssistanceReport *q = (const Atb__V1__AssistanceReport *)req->msg;
    at_date from, to;
    at_code code;
    if ((code = check_date(q->from, "from", &from, err)) != AT_OK ||
        (code = check_date(q->to, "to", &to, err)) != AT_OK)
        return code;
    if (to < from) {
        at_error_set(err, AT_VALIDATION, "to", "period ends before it starts");
        at_error_detail(err, "The period's end (to) must be on or after its start (from).");
        return AT_VALIDATION;
    }
    report rp = {0};
    if ((code = check_tenants(q, req->tenant, &rp, err)) != AT_OK)
        return code;
    rp.reply = at_arena_alloc(req->arena, sizeof *rp.reply);
    char *tenants = tenants_array(&rp, req->arena);
    if (!rp.reply || !tenants)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__assistance_report_reply__init(rp.reply);
    char f[16], t2[16];
    at_date_format(from, f, sizeof f);
    at_date_format(to, t2, sizeof t2);
    const char *params[4] = {tenants, f, t2, NULL};
    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    code = read_figures(t, &rp, req->arena, q, params, err);
    es_txn_rollback(t);
    if (code == AT_OK)
        *reply = &rp.reply->base;
    return code;
}
