/*
 * indicators.c -- the appeals projection and IndicatorsReport: the strategy indicators
 * (decisions within the legal deadline, decisions appealed and overturned, clients per
 * social worker, repeat applicants, providers and services) and the regional result
 * indicators of document 003 against their targets (docs/reporting.md, "IndicatorsReport").
 *
 * reporting.appeals: one row per appeal (AppealFiled), with its outcome once AppealDecided
 * is recorded; both with their positions, for "as known on". Idempotent as decisions.c.
 *
 * The regional targets are data: targets/003_kurzeme.tsv, one indicator a line with its
 * baseline, target and source, read at each request (it is small), from
 * ATB_REPORTING_TARGETS or the source tree's copy. When document 003 gains a row, add a
 * line there; nothing here changes.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

#ifndef REPORTING_TARGETS_FILE
#define REPORTING_TARGETS_FILE "targets/003_kurzeme.tsv"
#endif

#define MAX_INDICATORS 64

at_code appeals_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    char pos[24], on[16], ask[16], outcome[16];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    if (strcmp(ev->type, "AppealFiled") == 0) {
        Atb__V1__AppealFiled *m = atb__v1__appeal_filed__unpack(NULL, ev->payload_len, ev->payload);
        if (!m || !m->appeal_key[0] || !m->application_id[0]) {
            if (m)
                atb__v1__appeal_filed__free_unpacked(m, NULL);
            return rep_malformed(ev, m ? "Its appeal_key or application_id is empty." : "Its payload does not decode.",
                                 err);
        }
        snprintf(ask, sizeof ask, "%d", (int)m->ask_index);
        const char *p[6] = {m->appeal_key, ev->tenant, m->application_id, ask, rep_date_text(m->filed_on, on), pos};
        at_code code = rep_exec(txn, ev, "reporting.appeals",
                                "INSERT INTO reporting.appeals (appeal_key, tenant, application_id, ask_index, "
                                "filed_on, position) VALUES ($1, $2, $3, $4, $5, $6) "
                                "ON CONFLICT (appeal_key) DO NOTHING",
                                6, p, err);
        atb__v1__appeal_filed__free_unpacked(m, NULL);
        return code;
    }
    if (strcmp(ev->type, "AppealDecided") == 0) {
        Atb__V1__AppealDecided *m = atb__v1__appeal_decided__unpack(NULL, ev->payload_len, ev->payload);
        if (!m || !m->appeal_key[0]) {
            if (m)
                atb__v1__appeal_decided__free_unpacked(m, NULL);
            return rep_malformed(ev, m ? "Its appeal_key is empty." : "Its payload does not decode.", err);
        }
        snprintf(outcome, sizeof outcome, "%d", (int)m->outcome);
        const char *p[4] = {m->appeal_key, outcome, rep_date_text(m->decided_on, on), pos};
        at_code code = rep_exec(txn, ev, "reporting.appeals",
                                "UPDATE reporting.appeals SET outcome = $2, decided_on = $3, decided_position = $4 "
                                "WHERE appeal_key = $1 AND decided_position IS NULL",
                                4, p, err);
        atb__v1__appeal_decided__free_unpacked(m, NULL);
        return code;
    }
    return AT_OK;   /* other appeal events do not change this projection */
}

/* ---- the regional targets ---- */

typedef struct target_file {
    Atb__V1__RegionalIndicator *ind[MAX_INDICATORS];
    size_t n;
} target_file;

static bool number(const char *s, protobuf_c_boolean *has, int64_t *out)
{
    char *end;
    *has = strcmp(s, "-") != 0;
    if (!*has)
        return true;
    *out = strtoll(s, &end, 10);
    return end != s && *end == 0;
}

/* One line: id, unit, services, base, start, target, label_lv, label_en, source. */
static bool target_line(char *line, at_arena *a, Atb__V1__RegionalIndicator *x)
{
    char *col[9];
    int n = 0;
    for (char *p = line; n < 9; n++) {
        col[n] = p;
        char *tab = strchr(p, '\t');
        if (!tab) {
            n++;
            break;
        }
        *tab = 0;
        p = tab + 1;
    }
    if (n != 9 || (strcmp(col[1], "municipalities") != 0 && strcmp(col[1], "providers") != 0))
        return false;
    atb__v1__regional_indicator__init(x);
    protobuf_c_boolean has_target;
    if (!number(col[3], &x->has_base, &x->base_2010) || !number(col[4], &x->has_start, &x->start_2011) ||
        !number(col[5], &has_target, &x->target_2018) || !has_target)
        return false;
    size_t ns = 1;
    for (const char *c = col[2]; *c; c++)
        ns += *c == ',';
    x->services = at_arena_alloc(a, ns * sizeof *x->services);
    x->id = at_arena_strdup(a, col[0]);
    x->unit = at_arena_strdup(a, col[1]);
    x->label_lv = at_arena_strdup(a, col[6]);
    x->label_en = at_arena_strdup(a, col[7]);
    x->source = at_arena_strdup(a, col[8]);
    if (!x->services || !x->id || !x->unit || !x->label_lv || !x->label_en || !x->source)
        return false;
    char *save = NULL;
    for (char *s = strtok_r(col[2], ",", &save); s; s = strtok_r(NULL, ",", &save))
        if (!(x->services[x->n_services++] = at_arena_strdup(a, s)))
            return false;
    return x->n_services > 0;
}

static at_code targets_read(target_file *t, at_arena *a, at_error *err)
{
    const char *path = getenv("ATB_REPORTING_TARGETS");
    if (!path || !path[0])
        path = REPORTING_TARGETS_FILE;
    FILE *f = fopen(path, "r");
    if (!f) {
        at_error_set(err, AT_INTERNAL, NULL, "could not read the regional targets");
        at_error_detail(err, "The file \"%.200s\" could not be opened.", path);
        at_error_hint(err, "Set ATB_REPORTING_TARGETS to the targets file (services/reporting/targets).");
        return AT_INTERNAL;
    }
    char line[1024];
    int no = 0;
    at_code code = AT_OK;
    t->n = 0;
    while (code == AT_OK && fgets(line, sizeof line, f)) {
        no++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        Atb__V1__RegionalIndicator *x = at_arena_alloc(a, sizeof *x);
        if (t->n == MAX_INDICATORS || !x || !target_line(line, a, x)) {
            at_error_set(err, AT_INTERNAL, NULL, "cannot read the regional targets");
            at_error_detail(err, "Line %d of \"%.200s\" is not: id, unit (municipalities or providers), "
                            "services, base, start, target (numbers or -), label_lv, label_en, source, "
                            "separated by tabs (at most %d lines).", no, path, MAX_INDICATORS);
            code = AT_INTERNAL;
        } else {
            t->ind[t->n++] = x;
        }
    }
    fclose(f);
    return code;
}

/* ---- IndicatorsReport ---- */

/* Applications decided in [$2, $3] as known at $4: on time, appealed, an appeal decided
 * CHANGED (2) or ANNULLED (3). An application's decision date is its decisions' latest. */
static const char SQL_DECIDED[] =
    "WITH a AS (SELECT a.tenant, a.deadline, "
    "    (SELECT max(d.decided_on) FROM reporting.decisions d "
    "     WHERE d.tenant = a.tenant AND d.application_id = a.application_id AND d.position <= $4) AS decided_on, "
    "    coalesce(a.appealed_position <= $4, false) AS appealed, "
    "    EXISTS (SELECT 1 FROM reporting.appeals p WHERE p.tenant = a.tenant AND p.application_id = a.application_id "
    "      AND p.decided_position <= $4 AND p.outcome IN (2, 3)) AS overturned "
    "  FROM reporting.applications a WHERE a.tenant = ANY($1::text[]) AND a.first_decided_position <= $4) "
    "SELECT GROUPING(tenant), tenant, count(*), count(*) FILTER (WHERE decided_on <= deadline), "
    "  count(*) FILTER (WHERE appealed), count(*) FILTER (WHERE overturned) "
    "FROM a WHERE decided_on BETWEEN $2::date AND $3::date GROUP BY GROUPING SETS ((tenant), ())";

/* Applications received in [$2, $3] as known at $4: their applicants, workers, and the
 * applicants who had an earlier application of the same municipality within a year. */
static const char SQL_CLIENTS[] =
    "WITH r AS (SELECT tenant, applicant, social_worker, received, received_position FROM reporting.applications "
    "  WHERE tenant = ANY($1::text[]) AND received_position <= $4 AND applicant <> ''), "
    "p AS (SELECT r.tenant, r.applicant, r.social_worker, EXISTS (SELECT 1 FROM r r2 WHERE r2.tenant = r.tenant "
    "    AND r2.applicant = r.applicant AND r2.received >= (r.received - interval '1 year')::date "
    "    AND (r2.received < r.received OR (r2.received = r.received AND r2.received_position < r.received_position))) "
    "    AS repeat "
    "  FROM r WHERE r.received BETWEEN $2::date AND $3::date) "
    "SELECT GROUPING(tenant), tenant, count(DISTINCT applicant), "
    "  count(DISTINCT social_worker) FILTER (WHERE social_worker <> ''), "
    "  count(DISTINCT applicant) FILTER (WHERE repeat) "
    "FROM p GROUP BY GROUPING SETS ((tenant), ())";

/* Placements with a client in place on a day of [$2, $3], as known at $4. */
#define IN_PERIOD_PLACEMENTS                                                                             \
    "(SELECT tenant, service, owner || '.' || provider AS unit FROM reporting.placements "              \
    " WHERE tenant = ANY($1::text[]) AND position <= $4 AND start_on <= $3::date "                      \
    " AND coalesce(CASE WHEN ended_position <= $4 THEN ended_on END > $2::date, true))"

static const char SQL_PROVIDERS[] =
    "SELECT GROUPING(tenant), tenant, count(DISTINCT unit), count(DISTINCT service) "
    "FROM " IN_PERIOD_PLACEMENTS " p GROUP BY GROUPING SETS ((tenant), ())";

/* Per indicator ($5 its services, comma-separated, "*" = any; in file order): the
 * municipalities and the providers with clients of those services. */
static const char SQL_REGIONAL[] =
    "SELECT i.n, count(DISTINCT p.tenant), count(DISTINCT p.unit) "
    "FROM unnest($5::text[]) WITH ORDINALITY AS i(codes, n) "
    "LEFT JOIN " IN_PERIOD_PLACEMENTS " p ON i.codes = '*' OR p.service = ANY(string_to_array(i.codes, ',')) "
    "GROUP BY i.n ORDER BY i.n";

static const char SQL_POSITIONS[] =
    "SELECT coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '" APPLICATIONS_CONSUMER "'), 0), "
    "coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '" APPEALS_CONSUMER "'), 0), "
    "coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '" PLACEMENTS_CONSUMER "'), 0)";

static Atb__V1__StrategyFigures *row_of(Atb__V1__IndicatorsReportReply *rep, PGresult *r, int i)
{
    if (rep_num(r, i, 0) == 1)
        return rep->total;
    for (size_t k = 0; k < rep->n_rows; k++)
        if (strcmp(rep->rows[k]->tenant, PQgetvalue(r, i, 1)) == 0)
            return rep->rows[k];
    return NULL;
}

/* The indicators' services as a PostgreSQL array of comma-separated codes (codes are
 * identifiers: no quotes or braces). */
static char *codes_array(const target_file *t, at_arena *a)
{
    size_t len = 3;
    for (size_t i = 0; i < t->n; i++)
        for (size_t k = 0; k < t->ind[i]->n_services; k++)
            len += strlen(t->ind[i]->services[k]) + 4;
    char *s = at_arena_alloc(a, len), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < t->n; i++) {
        p += sprintf(p, "%s\"", i ? "," : "");
        for (size_t k = 0; k < t->ind[i]->n_services; k++)
            p += sprintf(p, "%s%s", k ? "," : "", t->ind[i]->services[k]);
        *p++ = '"';
    }
    snprintf(p, 2, "}");
    return s;
}

static at_code new_rows(Atb__V1__IndicatorsReportReply *rep, const rep_tenants *tn, at_arena *a, at_error *err)
{
    rep->rows = at_arena_alloc(a, tn->n * sizeof *rep->rows);
    Atb__V1__StrategyFigures *f = at_arena_alloc(a, (tn->n + 1) * sizeof *f);
    if (!rep->rows || !f)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    for (size_t k = 0; k <= tn->n; k++) {
        atb__v1__strategy_figures__init(&f[k]);
        f[k].tenant = at_arena_strdup(a, k < tn->n ? tn->names[k] : "");
        if (!f[k].tenant)
            return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
        if (k < tn->n)
            rep->rows[rep->n_rows++] = &f[k];
    }
    rep->total = &f[tn->n];
    return AT_OK;
}

static void fill(Atb__V1__IndicatorsReportReply *rep, PGresult *const r[5], const target_file *t)
{
    for (int i = 0; i < PQntuples(r[0]); i++) {
        Atb__V1__StrategyFigures *f = row_of(rep, r[0], i);
        if (f) {
            f->applications_decided = rep_num(r[0], i, 2);
            f->decided_on_time = rep_num(r[0], i, 3);
            f->appealed = rep_num(r[0], i, 4);
            f->overturned = rep_num(r[0], i, 5);
        }
    }
    for (int i = 0; i < PQntuples(r[1]); i++) {
        Atb__V1__StrategyFigures *f = row_of(rep, r[1], i);
        if (f) {
            f->clients = f->applicants = rep_num(r[1], i, 2);
            f->social_workers = rep_num(r[1], i, 3);
            f->repeat_applicants = rep_num(r[1], i, 4);
        }
    }
    for (int i = 0; i < PQntuples(r[2]); i++) {
        Atb__V1__StrategyFigures *f = row_of(rep, r[2], i);
        if (f) {
            f->providers = rep_num(r[2], i, 2);
            f->services = rep_num(r[2], i, 3);
        }
    }
    for (int i = 0; i < PQntuples(r[3]) && (size_t)i < t->n; i++) {
        Atb__V1__RegionalIndicator *x = t->ind[rep_num(r[3], i, 0) - 1];
        x->actual = rep_num(r[3], i, strcmp(x->unit, "providers") == 0 ? 2 : 1);
    }
    rep->regional = (Atb__V1__RegionalIndicator **)t->ind;
    rep->n_regional = t->n;
    rep->applications_position = rep_num(r[4], 0, 0);
    rep->appeals_position = rep_num(r[4], 0, 1);
    rep->placements_position = rep_num(r[4], 0, 2);
}

at_code indicators_report(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__IndicatorsReport *q = (const Atb__V1__IndicatorsReport *)req->msg;
    char f[16], t[16], cut[24];
    rep_tenants tn;
    at_code code;
    if ((code = rep_period_check("IndicatorsReport", q->from, q->to, f, t, err)) != AT_OK ||
        (code = rep_tenants_check(q->tenants, q->n_tenants, req->tenant, &tn, err)) != AT_OK)
        return code;
    target_file *targets = at_arena_alloc(req->arena, sizeof *targets);
    Atb__V1__IndicatorsReportReply *rep = at_arena_alloc(req->arena, sizeof *rep);
    char *tenants = rep_tenants_array(&tn, req->arena);
    if (!targets || !rep || !tenants)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__indicators_report_reply__init(rep);
    rep->on_time_target_bp = 9800;
    rep->overturned_target_bp = 200;
    if ((code = targets_read(targets, req->arena, err)) != AT_OK ||
        (code = new_rows(rep, &tn, req->arena, err)) != AT_OK)
        return code;
    char *codes = codes_array(targets, req->arena);
    if (!codes)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    es_txn *tx = NULL;
    if ((code = rep_snapshot_begin(req->es, &tx, err)) != AT_OK)
        return code;
    int64_t cutoff;
    PGresult *r[5] = {0};
    code = rep_cutoff(tx, q->as_known_on, q->as_of_position, &cutoff, cut, err);
    const char *p[5] = {tenants, f, t, cut, codes};
    static const char *const sqls[4] = {SQL_DECIDED, SQL_CLIENTS, SQL_PROVIDERS, SQL_REGIONAL};
    for (int i = 0; code == AT_OK && i < 4; i++)
        if (!(r[i] = rep_query(tx, sqls[i], i == 3 ? 5 : 4, p, err)))
            code = AT_UNAVAILABLE;
    if (code == AT_OK && !(r[4] = rep_query(tx, SQL_POSITIONS, 0, NULL, err)))
        code = AT_UNAVAILABLE;
    if (code == AT_OK) {
        fill(rep, r, targets);
        rep->as_of_position = cutoff == INT64_MAX ? 0 : cutoff;
        *reply = &rep->base;
    }
    for (int i = 0; i < 5; i++)
        PQclear(r[i]);
    es_txn_rollback(tx);
    return code;
}
