/*
 * assess.c -- AssessApplication: decide every ask of an application and append the
 * decision events; and the projection of grants (means.grants, means.members) that gives
 * later decisions the household's history from the log. assess_decide() is the one way an
 * application is decided: the command calls it, and so does the consumer of intake's
 * ApplicationCompleted (consume.c), inside the consumer's transaction.
 *
 * Invariants:
 *  - One application, one append: the decisions of all its asks go to
 *    decision-<application id> in one append with expected version ES_VERSION_NONE, so an
 *    application is decided once, wholly or not at all. A change is an OverrideDecision.
 *  - The projection rows of a decision are written in the same transaction as its events
 *    (es_txn_append, then commit): the history a later decision reads is exactly the
 *    decisions the log holds. That transaction holds the log's head lock from the append to
 *    its commit, so decisions do not share group commits (docs/performance.md).
 *  - Decisions of one household, and of any household sharing a member, are serialised by
 *    transaction-level advisory locks on the application, the household and every member
 *    key (taken in hash order, so two transactions never wait for each other in a cycle):
 *    a "once per five years" check and a "member of two households" check never race, and
 *    a twin of a command that got the locks second finds the first one's decision in the
 *    log (read after the locks) instead of deciding again.
 *  - Every decision event records the whole input it was computed from, history included,
 *    and the history's facts say where they came from: "command", or the decision in the
 *    log ("decision-<application id>/<ask>"). The replay needs nothing else.
 *  - The same command id again gets the first result: found in the log before anything is
 *    decided, or reported by the append (a concurrent twin), then read back from the log.
 *  - Asks of kind ASK_KIND_SERVICE are never decided here: the command refuses them; the
 *    consumer (skip_services) leaves them out and their index unused, so the other asks
 *    keep the indexes intake gave them.
 *  - The rule set is taken after the locks: when it has to be published inside the
 *    transaction, that append holds the log's head lock, and a transaction holding it
 *    must never wait for an advisory lock another decision holds.
 */
#include "means.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

/* The class (first key) of the means service's advisory locks. */
#define LOCK_CLASS "1835365741"
#define MAX_LOG_FACTS 4096

ruleset_cache *means_rulesets;

/* ---- PostgreSQL helpers */

static at_code pg_fail(PGconn *pg, PGresult *r, const char *what, at_error *err)
{
    bool down = PQstatus(pg) != CONNECTION_OK;
    at_error_set(err, down ? AT_UNAVAILABLE : AT_INTERNAL, NULL, "could not %s", what);
    at_error_detail(err, "%.300s", r ? PQresultErrorMessage(r) : PQerrorMessage(pg));
    PQclear(r);
    return down ? AT_UNAVAILABLE : AT_INTERNAL;
}

/* Text parameters, text results; the caller checks the status (NULL reads as an error). */
static PGresult *pg_exec(PGconn *pg, const char *sql, int n, const char *const *params)
{
    return PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
}

/* '{"a","b"}' of keys that are UUIDs or tenant ids (no quote or backslash can occur). */
static bool text_array(at_buf *b, const char *prefix, char *const *keys, size_t n, const char *const *more,
                       size_t n_more)
{
    bool ok = at_buf_puts(b, "{");
    for (size_t i = 0; i < n; i++)
        ok = ok && at_buf_printf(b, "%s\"%s%s\"", i ? "," : "", prefix, keys[i]);
    for (size_t i = 0; i < n_more; i++)
        ok = ok && at_buf_printf(b, "%s\"%s\"", n + i ? "," : "", more[i]);
    return ok && at_buf_puts(b, "}");
}

static const char *date_param(at_date d, char *buf, size_t n)
{
    if (d == AT_DATE_NONE)
        return NULL;
    at_date_format(d, buf, n);
    return buf;
}

static const char *proto_date_param(const Atb__V1__Date *pd, char *buf, size_t n)
{
    at_date d;
    if (!decision_date_in(pd, false, &d))
        return NULL;
    return date_param(d, buf, n);
}

static Atb__V1__Date *pg_date(at_arena *a, PGresult *r, int row, int col)
{
    at_date d;
    if (PQgetisnull(r, row, col) || at_date_parse(PQgetvalue(r, row, col), "date", &d, NULL) != AT_OK)
        return NULL;
    return decision_date_out(a, d);
}

static bool is_status_ask(Atb__V1__AskKind k)
{
    return k == ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS || k == ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS;
}

/* ---- the projection of grants */

static const char *member_of_grant(const Atb__V1__DecisionInput *in)
{
    return in->ask->subject && in->ask->subject[0] ? in->ask->subject : in->applicant;
}

static const char *benefit_of_grant(const Atb__V1__DecisionResult *r)
{
    /* a composite (HOUSING) grants one component: its own limits count against it */
    return r->component && r->component[0] ? r->component : r->benefit;
}

at_code projection_record(PGconn *pg, const char *tenant, const Atb__V1__DecisionInput *in,
                          const Atb__V1__DecisionResult *r, at_date decided_on, at_error *err)
{
    if (r->outcome != ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED)
        return AT_OK;
    bool status = is_status_ask(r->ask);
    char ask[16], amount[32], units[32], don[16], pf[16], pt[16], ev[16];
    snprintf(ask, sizeof ask, "%d", (int)in->ask_index);
    snprintf(amount, sizeof amount, "%" PRId64, r->has_amount ? r->amount_cents : 0);
    snprintf(units, sizeof units, "%" PRId64, r->units);
    const char *p[14] = {
        in->application_id, ask, tenant, in->household->id, status ? "status" : "benefit",
        status ? rules_status_name((rules_status)r->status) : NULL, status ? NULL : benefit_of_grant(r),
        status ? NULL : member_of_grant(in), date_param(decided_on, don, sizeof don),
        proto_date_param(r->period_from, pf, sizeof pf), proto_date_param(r->period_to, pt, sizeof pt), amount,
        units, proto_date_param(in->ask->event_date, ev, sizeof ev),
    };
    PGresult *res = pg_exec(pg,
                            "INSERT INTO means.grants (application_id, ask_index, tenant, household, kind, status, "
                            "benefit, member, decided_on, period_from, period_to, amount_cents, units, event_date) "
                            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                            14, p);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(pg, res, "record the grant", err);
    PQclear(res);
    if (!status)
        return AT_OK;
    /* While the household holds the status, its members are its members. */
    at_buf keys;
    at_buf_init(&keys, 64 * 1024);
    const Atb__V1__Household *hh = in->household;
    char **mk = malloc((hh->n_members + 1) * sizeof *mk);
    if (!mk)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < hh->n_members; i++)
        mk[i] = hh->members[i]->key;
    bool ok = text_array(&keys, "", mk, hh->n_members, NULL, 0);
    free(mk);
    if (!ok) {
        at_buf_free(&keys);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    const char *q[7] = {in->application_id, ask, tenant, hh->id, p[9], p[10], keys.ptr};
    res = pg_exec(pg,
                  "INSERT INTO means.members (application_id, ask_index, tenant, household, member, period_from, "
                  "period_to) SELECT $1, $2, $3, $4, m, $5, $6 FROM unnest($7::text[]) AS m",
                  7, q);
    at_buf_free(&keys);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(pg, res, "record the household's members", err);
    PQclear(res);
    return AT_OK;
}

at_code projection_forget(PGconn *pg, const char *application_id, int ask_index, at_error *err)
{
    char ask[16];
    snprintf(ask, sizeof ask, "%d", ask_index);
    const char *p[2] = {application_id, ask};
    PGresult *r = pg_exec(pg, "DELETE FROM means.members WHERE application_id = $1 AND ask_index = $2", 2, p);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return pg_fail(pg, r, "update the household's members", err);
    PQclear(r);
    r = pg_exec(pg, "DELETE FROM means.grants WHERE application_id = $1 AND ask_index = $2", 2, p);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return pg_fail(pg, r, "update the grant", err);
    PQclear(r);
    return AT_OK;
}

/* ---- the history a decision reads */

typedef struct acc {
    Atb__V1__GrantFact **g;
    size_t ng, cg;
    Atb__V1__StatusFact **s;
    size_t ns, cs;
    Atb__V1__MembershipFact **m;
    size_t nm, cm;
} acc;

static char *source_of(at_arena *a, const char *application_id, int ask_index)
{
    char buf[96];
    snprintf(buf, sizeof buf, "decision-%s/%d", application_id, ask_index);
    return at_arena_strdup(a, buf);
}

static bool listed(const Atb__V1__Application *app, const char *application_id)
{
    for (size_t i = 0; i < app->n_receipts_submitted; i++)
        if (strcmp(app->receipts_submitted[i], application_id) == 0)
            return true;
    return false;
}

/* Lock the household and its members, then read their facts from the projection. */
static at_code read_log_history(PGconn *pg, const assess_cmd *cmd, PGresult **grants, PGresult **members,
                                at_error *err)
{
    const Atb__V1__Household *hh = cmd->household;
    at_buf keys;
    at_buf_init(&keys, 64 * 1024);
    char **mk = malloc((hh->n_members + 1) * sizeof *mk);
    if (!mk)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < hh->n_members; i++)
        mk[i] = hh->members[i]->key;
    char hkey[160], akey[160];
    snprintf(hkey, sizeof hkey, "%s/h/%s", cmd->tenant, hh->id);
    snprintf(akey, sizeof akey, "%s/a/%s", cmd->tenant, cmd->app->id);
    char mprefix[80];
    snprintf(mprefix, sizeof mprefix, "%s/m/", cmd->tenant);
    const char *more[2] = {hkey, akey};
    bool ok = text_array(&keys, mprefix, mk, hh->n_members, more, 2);
    if (!ok) {
        free(mk);
        at_buf_free(&keys);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    const char *p1[1] = {keys.ptr};
    PGresult *r = pg_exec(pg,
                          "SELECT pg_advisory_xact_lock(" LOCK_CLASS ", s.h) FROM (SELECT DISTINCT hashtext(k) AS h "
                          "FROM unnest($1::text[]) AS k ORDER BY 1) AS s",
                          1, p1);
    at_buf_free(&keys);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        free(mk);
        return pg_fail(pg, r, "lock the household", err);
    }
    PQclear(r);

    const char *p2[2] = {cmd->tenant, hh->id};
    *grants = pg_exec(pg,
                      "SELECT kind, status, benefit, member, to_char(decided_on, 'YYYY-MM-DD'), "
                      "to_char(period_from, 'YYYY-MM-DD'), to_char(period_to, 'YYYY-MM-DD'), amount_cents, units, "
                      "to_char(event_date, 'YYYY-MM-DD'), application_id, ask_index FROM means.grants "
                      "WHERE tenant = $1 AND household = $2 ORDER BY decided_on, application_id, ask_index "
                      "LIMIT 4097",
                      2, p2);
    if (PQresultStatus(*grants) != PGRES_TUPLES_OK) {
        free(mk);
        at_code c = pg_fail(pg, *grants, "read the household's grants", err);
        *grants = NULL;
        return c;
    }
    at_buf_init(&keys, 64 * 1024);
    ok = text_array(&keys, "", mk, hh->n_members, NULL, 0);
    free(mk);
    char don[16];
    at_date dd;
    decision_date_in(cmd->app->decision_date, false, &dd);
    const char *p3[4] = {cmd->tenant, keys.ptr, hh->id, date_param(dd, don, sizeof don)};
    *members = ok ? pg_exec(pg,
                            "SELECT member, household, to_char(period_from, 'YYYY-MM-DD'), "
                            "to_char(period_to, 'YYYY-MM-DD'), application_id, ask_index FROM means.members "
                            "WHERE tenant = $1 AND member = ANY ($2::text[]) AND household <> $3 "
                            "AND period_from <= $4::date AND (period_to IS NULL OR period_to >= $4::date) "
                            "ORDER BY period_from, application_id, ask_index, member LIMIT 4097",
                            4, p3)
                  : NULL;
    at_buf_free(&keys);
    if (!ok)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (PQresultStatus(*members) != PGRES_TUPLES_OK) {
        at_code c = pg_fail(pg, *members, "read the members' other households", err);
        *members = NULL;
        return c;
    }
    if (PQntuples(*grants) > MAX_LOG_FACTS || PQntuples(*members) > MAX_LOG_FACTS)
        return at_error_set(err, AT_INTERNAL, NULL, "the household's history has more than %d facts",
                            MAX_LOG_FACTS);
    return AT_OK;
}

static at_code already_decided(const char *application_id, int64_t n, at_error *err)
{
    at_error_set(err, AT_CONFLICT, "application.id", "application %s is already decided", application_id);
    at_error_detail(err, "Stream decision-%s holds %lld event(s) appended by another command.", application_id,
                    (long long)n);
    at_error_hint(err, "A decision is changed by OverrideDecision; a new application needs a new id.");
    return AT_CONFLICT;
}

/* Under the locks: did a twin of this command (or another command) decide the application
 * while we waited? A twin's result is ours: out->res as the log's duplicate answer. */
static at_code decided_meanwhile(PGconn *pg, const assess_cmd *cmd, assess_out *out, at_error *err)
{
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", cmd->app->id);
    const char *p[2] = {stream, cmd->command_id};
    PGresult *r = pg_exec(pg,
                          "SELECT count(*), count(*) FILTER (WHERE command_id = $2::uuid), "
                          "min(position) FILTER (WHERE command_id = $2::uuid), "
                          "max(position) FILTER (WHERE command_id = $2::uuid), "
                          "max(version) FILTER (WHERE command_id = $2::uuid) FROM atb.events WHERE stream_id = $1",
                          2, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(pg, r, "read the application's stream", err);
    int64_t all = strtoll(PQgetvalue(r, 0, 0), NULL, 10), ours = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    if (ours > 0) {
        out->res.duplicate = true;
        out->res.first_position = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        out->res.last_position = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        out->res.version = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    }
    PQclear(r);
    if (all > 0 && ours == 0) {
        out->existing = all;
        return already_decided(cmd->app->id, all, err);
    }
    return AT_OK;
}

/* The command's facts first (their source set to "command"), then the log's. */
static at_code fill_history(const assess_cmd *cmd, PGresult *grants, PGresult *members, at_arena *a, acc *h,
                            at_error *err)
{
    const Atb__V1__HouseholdHistory *ch = cmd->history;
    size_t cg = ch ? ch->n_grants : 0, cs = ch ? ch->n_statuses : 0, cm = ch ? ch->n_memberships : 0;
    size_t lg = grants ? (size_t)PQntuples(grants) : 0, lm = members ? (size_t)PQntuples(members) : 0;
    size_t asks = cmd->app->n_asks;
    memset(h, 0, sizeof *h);
    h->cg = cg + lg + asks;
    h->cs = cs + lg + asks;
    h->cm = cm + lm;
    h->g = at_arena_alloc(a, (h->cg + 1) * sizeof *h->g);
    h->s = at_arena_alloc(a, (h->cs + 1) * sizeof *h->s);
    h->m = at_arena_alloc(a, (h->cm + 1) * sizeof *h->m);
    if (!h->g || !h->s || !h->m)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < cg; i++) {
        ch->grants[i]->source = (char *)"command";
        h->g[h->ng++] = ch->grants[i];
    }
    for (size_t i = 0; i < cs; i++) {
        ch->statuses[i]->source = (char *)"command";
        h->s[h->ns++] = ch->statuses[i];
    }
    for (size_t i = 0; i < cm; i++) {
        ch->memberships[i]->source = (char *)"command";
        h->m[h->nm++] = ch->memberships[i];
    }
    bool oom = false;
    for (size_t i = 0; i < lg; i++) {
        const char *app_id = PQgetvalue(grants, (int)i, 10);
        char *src = source_of(a, app_id, atoi(PQgetvalue(grants, (int)i, 11)));
        if (strcmp(PQgetvalue(grants, (int)i, 0), "status") == 0) {
            Atb__V1__StatusFact *f = at_arena_alloc(a, sizeof *f);
            if (!f || !src) {
                oom = true;
                break;
            }
            atb__v1__status_fact__init(f);
            f->status = strcmp(PQgetvalue(grants, (int)i, 1), "needy") == 0 ? ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY
                                                                            : ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME;
            f->from = pg_date(a, grants, (int)i, 5);
            f->to = pg_date(a, grants, (int)i, 6);
            f->source = src;
            h->s[h->ns++] = f;
        } else {
            Atb__V1__GrantFact *f = at_arena_alloc(a, sizeof *f);
            if (!f || !src) {
                oom = true;
                break;
            }
            atb__v1__grant_fact__init(f);
            f->benefit = at_arena_strdup(a, PQgetvalue(grants, (int)i, 2));
            f->member = at_arena_strdup(a, PQgetvalue(grants, (int)i, 3));
            f->decided_on = pg_date(a, grants, (int)i, 4);
            f->amount_cents = strtoll(PQgetvalue(grants, (int)i, 7), NULL, 10);
            f->units = strtoll(PQgetvalue(grants, (int)i, 8), NULL, 10);
            f->event_date = pg_date(a, grants, (int)i, 9);
            /* nothing in the log records receipts yet: the application states them */
            f->receipts_pending = !listed(cmd->app, app_id);
            f->source = src;
            if (!f->benefit || !f->member) {
                oom = true;
                break;
            }
            h->g[h->ng++] = f;
        }
    }
    for (size_t i = 0; i < lm && !oom; i++) {
        Atb__V1__MembershipFact *f = at_arena_alloc(a, sizeof *f);
        char *src = source_of(a, PQgetvalue(members, (int)i, 4), atoi(PQgetvalue(members, (int)i, 5)));
        if (!f || !src) {
            oom = true;
            break;
        }
        atb__v1__membership_fact__init(f);
        f->member = at_arena_strdup(a, PQgetvalue(members, (int)i, 0));
        f->household = at_arena_strdup(a, PQgetvalue(members, (int)i, 1));
        f->from = pg_date(a, members, (int)i, 2);
        f->to = pg_date(a, members, (int)i, 3);
        f->source = src;
        if (!f->member || !f->household) {
            oom = true;
            break;
        }
        h->m[h->nm++] = f;
    }
    return oom ? at_error_set(err, AT_INTERNAL, NULL, "out of memory") : AT_OK;
}

/* The history as it stands now. Facts are only ever appended to the arrays, so an earlier
 * snapshot keeps seeing exactly its own facts. */
static Atb__V1__HouseholdHistory *snapshot(at_arena *a, const acc *h)
{
    Atb__V1__HouseholdHistory *p = at_arena_alloc(a, sizeof *p);
    if (!p)
        return NULL;
    atb__v1__household_history__init(p);
    p->grants = h->g;
    p->n_grants = h->ng;
    p->statuses = h->s;
    p->n_statuses = h->ns;
    p->memberships = h->m;
    p->n_memberships = h->nm;
    return p;
}

/* What a granted ask adds to the history of the asks after it. */
static at_code add_own(at_arena *a, const Atb__V1__DecisionInput *in, const Atb__V1__DecisionResult *r, acc *h,
                       at_error *err)
{
    if (r->outcome != ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED)
        return AT_OK;
    char *src = source_of(a, in->application_id, in->ask_index);
    if (!src)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (is_status_ask(r->ask)) {
        Atb__V1__StatusFact *f = at_arena_alloc(a, sizeof *f);
        if (!f || h->ns == h->cs)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        atb__v1__status_fact__init(f);
        f->status = r->status;
        f->from = r->period_from;
        f->to = r->period_to;
        f->source = src;
        h->s[h->ns++] = f;
        return AT_OK;
    }
    Atb__V1__GrantFact *f = at_arena_alloc(a, sizeof *f);
    if (!f || h->ng == h->cg)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__grant_fact__init(f);
    f->benefit = (char *)benefit_of_grant(r);
    f->decided_on = in->decision_date;
    f->member = (char *)member_of_grant(in);
    f->amount_cents = r->has_amount ? r->amount_cents : 0;
    f->units = r->units;
    f->event_date = in->ask->event_date;
    f->receipts_pending = true;
    f->source = src;
    h->g[h->ng++] = f;
    return AT_OK;
}

static Atb__V1__DecisionInput *input_of(at_arena *a, const assess_cmd *cmd, size_t i, Atb__V1__HouseholdHistory *hist)
{
    Atb__V1__DecisionInput *in = at_arena_alloc(a, sizeof *in);
    if (!in)
        return NULL;
    atb__v1__decision_input__init(in);
    const Atb__V1__Application *app = cmd->app;
    in->tenant = (char *)cmd->tenant;
    in->application_id = app->id;
    in->submitted = app->submitted;
    in->decision_date = app->decision_date;
    in->applicant = app->applicant;
    in->ask_index = (int32_t)i + 1;
    in->ask = app->asks[i];
    in->household = cmd->household;
    in->history = hist;
    return in;
}

/* ---- checking and deciding */

/* Once per process, after the first publication: which versions decisions will name. */
static void log_published(void)
{
    static atomic_bool done;
    if (atomic_exchange(&done, true))
        return;
    for (size_t i = 0; i < ruleset_cache_count(means_rulesets); i++) {
        const char *scope = ruleset_cache_scope(means_rulesets, i);
        ruleset_info info;
        char pos[24], from[16], to[16];
        if (!ruleset_cache_get(means_rulesets, scope, &info)) {
            svc_log_kv(SVC_LOG_WARN, "rule set not published: the municipality is not a registered tenant",
                       "scope", scope, NULL);
            continue;
        }
        snprintf(pos, sizeof pos, "%lld", (long long)info.position);
        svc_log_kv(SVC_LOG_INFO, "rule set in the log", "scope", scope, "version", info.version, "position", pos,
                   "valid_from", decision_date_text(info.valid.from, from, sizeof from), "valid_to",
                   decision_date_text(info.valid.to, to, sizeof to), NULL);
    }
}

static at_code no_rule_set(const char *tenant, const Atb__V1__Application *app, at_error *err)
{
    at_date d;
    char day[16] = "?";
    if (decision_date_in(app->decision_date, false, &d) && d != AT_DATE_NONE)
        at_date_format(d, day, sizeof day);
    at_error_set(err, AT_VALIDATION, "application.decision_date", "no rule set in force for %s on %s", tenant, day);
    at_error_detail(err, "No rule set is published for municipality %s: the rule-set directory has no %s.yaml "
                         "(or the municipality is not registered).", tenant, tenant);
    at_error_hint(err, "A municipality is added with its rule-set file in services/means/rulesets.");
    return AT_VALIDATION;
}

static bool is_service_ask(const Atb__V1__Ask *k)
{
    return k->kind == ATB__V1__ASK_KIND__ASK_KIND_SERVICE;
}

static at_code service_ask(size_t i, const Atb__V1__Ask *k, at_error *err)
{
    char f[64];
    snprintf(f, sizeof f, "application.asks.%zu.kind", i);
    at_error_set(err, AT_VALIDATION, f, "means testing does not decide social services");
    at_error_detail(err, "The ask at application.asks.%zu is of kind ASK_KIND_SERVICE (service \"%.64s\"): "
                         "a social service is allocated, not means-tested.", i, k->benefit ? k->benefit : "");
    at_error_hint(err, "Service allocation decides social services: leave the ask out of AssessApplication.");
    return AT_VALIDATION;
}

at_code assess_validate(const assess_cmd *cmd, at_arena *a, at_error *err)
{
    const Atb__V1__Application *app = cmd->app;
    if (!app)
        return at_error_set(err, AT_VALIDATION, "application", "application is not given");
    if (!at_uuid_valid(app->id))
        return at_error_set(err, AT_VALIDATION, "application.id", "application id is not a UUID");
    if (!cmd->household)
        return at_error_set(err, AT_VALIDATION, "household", "household is not given");
    if (app->n_asks == 0)
        return at_error_set(err, AT_VALIDATION, "application.asks", "the application asks for nothing");
    if (app->n_asks > MEANS_MAX_ASKS)
        return at_error_set(err, AT_VALIDATION, "application.asks", "an application asks at most %d things",
                            MEANS_MAX_ASKS);
    for (size_t i = 0; i < app->n_receipts_submitted; i++)
        if (!at_uuid_valid(app->receipts_submitted[i])) {
            char f[64];
            snprintf(f, sizeof f, "application.receipts_submitted.%zu", i);
            return at_error_set(err, AT_VALIDATION, f, "not an application id");
        }
    /* Every ask's input with the command's facts: an input error costs no lock. */
    size_t decided = 0;
    for (size_t i = 0; i < app->n_asks; i++) {
        if (is_service_ask(app->asks[i])) {
            if (!cmd->skip_services)
                return service_ask(i, app->asks[i], err);
            continue;
        }
        char path[48];
        snprintf(path, sizeof path, "application.asks.%zu", i);
        Atb__V1__DecisionInput *in = input_of(a, cmd, i, cmd->history);
        if (!in)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        decision_rules dr;
        at_code code = decision_to_rules(in, path, a, &dr, err);
        if (code != AT_OK)
            return code;
        decided++;
    }
    if (decided == 0)
        return at_error_set(err, AT_VALIDATION, "application.asks",
                            "the application asks for nothing that means testing decides");
    return AT_OK;
}

at_code assess_publish(es_store *es, at_error *err)
{
    at_code code = ruleset_cache_publish(means_rulesets, es, NULL, err);
    if (code == AT_OK)
        log_published();
    return code;
}

/* The tenant's rule set: the published one, or published now inside t (a municipality
 * registered after the process published, or a consumer that has no store to publish
 * with). After the locks: an append inside t holds the log's head lock until t ends. */
static at_code rule_set_for(es_txn *t, const assess_cmd *cmd, ruleset_info *rs, assess_out *out, at_error *err)
{
    if (ruleset_cache_get(means_rulesets, cmd->tenant, rs))
        return AT_OK;
    out->written = true;
    at_code code = ruleset_cache_publish_txn(means_rulesets, t, cmd->tenant, rs, err);
    if (code == AT_NOT_FOUND) {
        at_error_clear(err);
        return no_rule_set(cmd->tenant, cmd->app, err);
    }
    return code;
}

at_code assess_decide(es_txn *t, const assess_cmd *cmd, at_arena *a, assess_out *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    at_code code = assess_validate(cmd, a, err);
    if (code != AT_OK)
        return code;
    PGconn *pg = es_txn_conn(t);
    const Atb__V1__Application *app = cmd->app;
    size_t n = app->n_asks;
    PGresult *grants = NULL, *members = NULL;
    acc h;
    code = read_log_history(pg, cmd, &grants, &members, err);
    if (code == AT_OK)
        code = decided_meanwhile(pg, cmd, out, err);
    if (code == AT_OK && !out->res.duplicate)
        code = fill_history(cmd, grants, members, a, &h, err);
    PQclear(grants);
    PQclear(members);
    if (code != AT_OK || out->res.duplicate)
        return code;
    ruleset_info rs;
    if ((code = rule_set_for(t, cmd, &rs, out, err)) != AT_OK)
        return code;

    out->decisions = at_arena_alloc(a, n * sizeof *out->decisions);
    out->types = at_arena_alloc(a, n * sizeof *out->types);
    es_event_in *evs = at_arena_alloc(a, n * sizeof *evs);
    if (!out->decisions || !out->types || !evs)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    Atb__V1__RuleSetRef ref = ATB__V1__RULE_SET_REF__INIT;
    ref.scope = rs.scope;
    ref.version = rs.version;
    ref.position = rs.position;
    at_date decided_on;
    decision_date_in(app->decision_date, false, &decided_on);

    out->written = true;
    size_t m = 0;   /* decisions made; a skipped service ask keeps its index free */
    for (size_t i = 0; i < n; i++) {
        if (is_service_ask(app->asks[i]))
            continue;   /* assess_validate refused it unless cmd->skip_services */
        char path[48];
        snprintf(path, sizeof path, "application.asks.%zu", i);
        Atb__V1__HouseholdHistory *hist = snapshot(a, &h);
        Atb__V1__DecisionInput *in = hist ? input_of(a, cmd, i, hist) : NULL;
        if (!in)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        decision_rules dr;
        if ((code = decision_to_rules(in, path, a, &dr, err)) != AT_OK)
            return code;
        rules_result *res = NULL;
        code = rules_decide(rs.set, &dr.h, &dr.a, &dr.hist, &res, err);
        if (code != AT_OK)
            return decision_rules_error(code, path, err);
        Atb__V1__Decision *d = NULL;
        code = decision_build(a, in, res, &ref, &d, err);
        rules_result_free(res);
        if (code != AT_OK || (code = add_own(a, in, d->result, &h, err)) != AT_OK)
            return code;
        out->decisions[m] = d;
        out->types[m] = decision_event_type(d->result);
        memset(&evs[m], 0, sizeof evs[m]);
        evs[m].type = out->types[m];
        if (!(evs[m].payload = decision_pack(a, d, &evs[m].payload_len)))
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        if ((code = projection_record(pg, cmd->tenant, in, d->result, decided_on, err)) != AT_OK)
            return code;
        m++;
    }

    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", app->id);
    es_append_req ar = {
        .tenant = cmd->tenant,
        .stream_id = stream,
        .expected_version = ES_VERSION_NONE,
        .command_id = cmd->command_id,
        .causation_id = cmd->causation_id,
        .correlation_id = cmd->correlation_id,
        .actor = cmd->actor,
        .events = evs,
        .n_events = m,
    };
    es_status st = es_txn_append(t, &ar, &out->res, err);
    if (st == ES_CONFLICT)
        return already_decided(app->id, out->res.actual_version, err);
    if (st != ES_OK)
        return es_status_code(st);
    out->n = m;
    return AT_OK;
}

/* ---- the command */

static Atb__V1__DecisionSummary *summary(at_arena *a, const char *type, int64_t position, Atb__V1__Decision *d)
{
    Atb__V1__DecisionSummary *s = at_arena_alloc(a, sizeof *s);
    char **versions = at_arena_alloc(a, (d->n_rule_sets + 1) * sizeof *versions);
    if (!s || !versions)
        return NULL;
    atb__v1__decision_summary__init(s);
    s->ask_index = d->ask_index;
    s->event_type = (char *)type;
    s->position = position;
    s->result = d->result;
    for (size_t i = 0; i < d->n_rule_sets; i++)
        versions[i] = d->rule_sets[i]->version;
    s->rule_set_versions = versions;
    s->n_rule_set_versions = d->n_rule_sets;
    s->input_sha256 = d->input_sha256;
    return s;
}

static Atb__V1__AssessReply *new_reply(at_arena *a, const char *application_id, size_t n)
{
    Atb__V1__AssessReply *r = at_arena_alloc(a, sizeof *r);
    if (!r)
        return NULL;
    atb__v1__assess_reply__init(r);
    r->application_id = at_arena_strdup(a, application_id);
    r->stream_id = at_arena_alloc(a, 96);
    r->decisions = at_arena_alloc(a, (n + 1) * sizeof *r->decisions);
    if (!r->application_id || !r->stream_id || !r->decisions)
        return NULL;
    snprintf(r->stream_id, 96, "decision-%s", application_id);
    return r;
}

/* The reply of the first result: the events our command appended, read back. */
static at_code reply_from_events(svc_request *req, const char *application_id, es_batch *b, Atb__V1__AssessReply **out,
                                 at_error *err)
{
    size_t n = es_batch_count(b);
    Atb__V1__AssessReply *r = new_reply(req->arena, application_id, n);
    if (!r)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    r->duplicate = true;
    for (size_t i = 0; i < n; i++) {
        const es_event *ev = es_batch_get(b, i);
        if (strcmp(ev->command_id, req->command_id) != 0)
            continue;
        if (!r->first_position)
            r->first_position = ev->position;
        r->last_position = ev->position;
        r->version = ev->version;
        Atb__V1__Decision *d = decision_unpack(req->arena, ev);
        if (!d)
            continue;
        char *type = at_arena_strdup(req->arena, ev->type);
        Atb__V1__DecisionSummary *s = type ? summary(req->arena, type, ev->position, d) : NULL;
        if (!s)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        r->decisions[r->n_decisions++] = s;
    }
    *out = r;
    return AT_OK;
}

/* Was this application decided already? AT_OK with *out set: by this command (the first
 * result); AT_CONFLICT: by another; AT_NOT_FOUND: not yet. */
static at_code decided_before(svc_request *req, const char *application_id, Atb__V1__AssessReply **out,
                              at_error *err)
{
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", application_id);
    es_batch *b = NULL;
    es_status st = es_read_stream(req->es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    size_t n = es_batch_count(b);
    bool ours = false;
    for (size_t i = 0; i < n && !ours; i++)
        ours = strcmp(es_batch_get(b, i)->command_id, req->command_id) == 0 &&
               strcmp(es_batch_get(b, i)->tenant, req->tenant) == 0;
    at_code code = AT_NOT_FOUND;
    if (ours) {
        code = reply_from_events(req, application_id, b, out, err);
    } else if (n > 0) {
        code = already_decided(application_id, (int64_t)n, err);
    }
    es_batch_free(b);
    return code;
}

void assess_lower_keys(Atb__V1__Application *app, Atb__V1__Household *hh, Atb__V1__HouseholdHistory *h)
{
    if (app) {
        means_lower(app->id);
        means_lower(app->applicant);
        for (size_t i = 0; i < app->n_asks; i++)
            means_lower(app->asks[i]->subject);
        for (size_t i = 0; i < app->n_receipts_submitted; i++)
            means_lower(app->receipts_submitted[i]);
    }
    if (hh) {
        means_lower(hh->id);
        for (size_t i = 0; i < hh->n_members; i++)
            means_lower(hh->members[i]->key);
        for (size_t i = 0; i < hh->n_incomes; i++)
            means_lower(hh->incomes[i]->member);
        for (size_t i = 0; i < hh->n_properties; i++)
            means_lower(hh->properties[i]->member);
        for (size_t i = 0; i < hh->n_vehicles; i++)
            means_lower(hh->vehicles[i]->member);
    }
    if (h) {
        for (size_t i = 0; i < h->n_grants; i++)
            means_lower(h->grants[i]->member);
        for (size_t i = 0; i < h->n_memberships; i++) {
            means_lower(h->memberships[i]->member);
            means_lower(h->memberships[i]->household);
        }
    }
}

at_code assess_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__AssessApplication *m = (Atb__V1__AssessApplication *)req->msg;
    if (req->expected_version > 0) {
        at_error_set(err, AT_VALIDATION, "meta.expected_version", "an application is decided once");
        at_error_detail(err, "expected_version must be 0 (not sent) or -1: decision-<application id> must not exist.");
        return AT_VALIDATION;
    }
    if (!m->application)
        return at_error_set(err, AT_VALIDATION, "application", "application is not given");
    if (!at_uuid_valid(m->application->id))
        return at_error_set(err, AT_VALIDATION, "application.id", "application id is not a UUID");
    assess_lower_keys(m->application, m->household, m->history);
    Atb__V1__AssessReply *r = NULL;
    at_code code = decided_before(req, m->application->id, &r, err);
    if (code == AT_OK) {
        *reply = &r->base;
        return AT_OK;
    }
    if (code != AT_NOT_FOUND)
        return code;
    at_error_clear(err);
    if ((code = assess_publish(req->es, err)) != AT_OK)
        return code;

    assess_cmd cmd = {
        .tenant = req->tenant,
        .command_id = req->command_id,
        .correlation_id = req->correlation_id[0] ? req->correlation_id : NULL,
        .actor = req->actor[0] ? req->actor : NULL,
        .app = m->application,
        .household = m->household,
        .history = m->history,
    };
    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    assess_out out;
    code = assess_decide(t, &cmd, req->arena, &out, err);
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if (out.res.duplicate) {
        /* A twin of this command committed first: its decisions are the answer. */
        es_txn_rollback(t);
        es_batch *b = NULL;
        size_t count = (size_t)(out.res.last_position - out.res.first_position + 1);
        if ((st = es_read_all(req->es, out.res.first_position - 1, count, NULL, &b, err)) != ES_OK)
            return es_status_code(st);
        code = reply_from_events(req, m->application->id, b, &r, err);
        es_batch_free(b);
        if (code != AT_OK)
            return code;
        *reply = &r->base;
        return AT_OK;
    }
    if ((st = es_txn_commit(t, err)) != ES_OK)
        return es_status_code(st);

    r = new_reply(req->arena, m->application->id, out.n);
    if (!r)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    r->version = out.res.version;
    r->first_position = out.res.first_position;
    r->last_position = out.res.last_position;
    for (size_t i = 0; i < out.n; i++) {
        Atb__V1__DecisionSummary *s =
            summary(req->arena, out.types[i], out.res.first_position + (int64_t)i, out.decisions[i]);
        if (!s)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        r->decisions[r->n_decisions++] = s;
        svc_metric_add(req->service, strcmp(out.types[i], MEANS_EV_STATUS_GRANTED) == 0 ||
                                             strcmp(out.types[i], MEANS_EV_BENEFIT_GRANTED) == 0
                                         ? "decisions_granted"
                                         : "decisions_refused",
                       1);
    }
    *reply = &r->base;
    return AT_OK;
}
