/*
 * project.c -- what the projections and reports of services.c and budget.c share: writing
 * a row inside the consumer's transaction, checking a report's period and municipalities,
 * resolving "as known on" to a log position, and reading in one snapshot.
 *
 * Error classes follow persons.c: bad data in an event (SQLSTATE class 22) is the event's
 * fault and never succeeds (AT_MALFORMED, dead-lettered); anything else may succeed on a
 * retry (AT_UNAVAILABLE).
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rep_date_text(const Atb__V1__Date *d, char out[16])
{
    if (!d || (d->year == 0 && d->month == 0 && d->day == 0))
        return NULL;
    snprintf(out, 16, "%04d-%02d-%02d", (int)d->year, (int)d->month, (int)d->day);
    return out;
}

at_code rep_malformed(const es_event *ev, const char *why, at_error *err)
{
    at_error_set(err, AT_MALFORMED, NULL, "cannot project %s at position %lld", ev->type, (long long)ev->position);
    at_error_detail(err, "%s", why);
    return AT_MALFORMED;
}

at_code rep_write_failed(PGresult *r, int64_t position, const char *table, at_error *err)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    bool data = state && strncmp(state, "22", 2) == 0;
    at_code code = data ? AT_MALFORMED : AT_UNAVAILABLE;
    at_error_set(err, code, NULL, "%s write %s", data ? "cannot" : "could not", table);
    at_error_detail(err, "Event at position %lld: PostgreSQL said: %.250s (SQLSTATE %s).", (long long)position,
                    PQresultErrorMessage(r), state ? state : "none");
    return code;
}

at_code rep_exec(es_txn *txn, const es_event *ev, const char *table, const char *sql, int n,
                 const char *const *params, at_error *err)
{
    PGconn *conn = es_txn_conn(txn);
    if (rep_pipeline_on(conn))
        return rep_pipeline_exec(ev, table, sql, n, params, err);
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    at_code code = PQresultStatus(r) == PGRES_COMMAND_OK ? AT_OK : rep_write_failed(r, ev->position, table, err);
    PQclear(r);
    return code;
}

static at_code check_date(const Atb__V1__Date *d, const char *query, const char *field, at_date *out,
                          at_error *err)
{
    if (!d || !at_date_from_ymd(d->year, d->month, d->day, out)) {
        at_error_set(err, AT_VALIDATION, field, d ? "invalid date" : "missing date");
        at_error_detail(err, "%s needs a valid %s date.", query, field);
        return AT_VALIDATION;
    }
    return AT_OK;
}

at_code rep_period_check(const char *query, const Atb__V1__Date *from, const Atb__V1__Date *to,
                         char f[16], char t[16], at_error *err)
{
    at_date a, b;
    at_code code;
    if ((code = check_date(from, query, "from", &a, err)) != AT_OK ||
        (code = check_date(to, query, "to", &b, err)) != AT_OK)
        return code;
    if (b < a) {
        at_error_set(err, AT_VALIDATION, "to", "period ends before it starts");
        at_error_detail(err, "The period's end (to) must be on or after its start (from).");
        return AT_VALIDATION;
    }
    at_date_format(a, f, 16);
    at_date_format(b, t, 16);
    return AT_OK;
}

at_code rep_tenants_check(char *const *asked, size_t n, const char *own, rep_tenants *out, at_error *err)
{
    out->n = 0;
    if (n == 0) {
        out->names[out->n++] = own;
        return AT_OK;
    }
    if (n > REP_MAX_TENANTS) {
        at_error_set(err, AT_VALIDATION, "tenants", "too many tenants");
        at_error_detail(err, "%zu tenants asked; at most %d.", n, REP_MAX_TENANTS);
        return AT_VALIDATION;
    }
    for (size_t i = 0; i < n; i++) {
        const char *t = asked[i];
        if (!t[0] || strpbrk(t, "{},\"\\ ")) {
            at_error_set(err, AT_VALIDATION, "tenants", "invalid tenant \"%.60s\"", t);
            at_error_detail(err, "A tenant is a municipality's identifier, such as \"daugavpils\".");
            return AT_VALIDATION;
        }
        bool seen = false;
        for (size_t k = 0; k < out->n && !seen; k++)
            seen = strcmp(out->names[k], t) == 0;
        if (!seen)
            out->names[out->n++] = t;
    }
    return AT_OK;
}

char *rep_tenants_array(const rep_tenants *t, at_arena *a)
{
    size_t len = 3;
    for (size_t k = 0; k < t->n; k++)
        len += strlen(t->names[k]) + 1;
    char *s = at_arena_alloc(a, len), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (size_t k = 0; k < t->n; k++)
        p += sprintf(p, "%s%s", k ? "," : "", t->names[k]);
    snprintf(p, 2, "}");
    return s;
}

PGresult *rep_query(es_txn *t, const char *sql, int n, const char *const *params, at_error *err)
{
    PGresult *r = PQexecParams(es_txn_conn(t), sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK)
        return r;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    at_error_set(err, AT_UNAVAILABLE, NULL, "could not read the reporting projections");
    at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s).", PQresultErrorMessage(r), state ? state : "none");
    PQclear(r);
    return NULL;
}

at_code rep_snapshot_begin(es_store *es, es_txn **t, at_error *err)
{
    es_status st = es_txn_begin(es, t, err);
    if (st != ES_OK)
        return es_status_code(st);
    PGresult *r = rep_query(*t, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL, err);
    if (!r) {
        es_txn_rollback(*t);
        *t = NULL;
        return AT_UNAVAILABLE;
    }
    PQclear(r);
    return AT_OK;
}

/* The last position recorded before the end of the day in Riga: recorded_at is the time of
 * the appending transaction, and the log's positions follow commit order, so every event of
 * a transaction that committed by then is at or below it. */
at_code rep_cutoff(es_txn *t, const Atb__V1__Date *as_known_on, int64_t as_of_position, int64_t *out,
                   char text[24], at_error *err)
{
    *out = INT64_MAX;
    if (as_of_position < 0) {
        at_error_set(err, AT_VALIDATION, "as_of_position", "negative log position");
        at_error_detail(err, "A log position is 1 or more; 0 means none.");
        return AT_VALIDATION;
    }
    if (as_of_position > 0)
        *out = as_of_position;
    char on[16];
    if (rep_date_text(as_known_on, on)) {
        at_date d;
        if (!at_date_from_ymd(as_known_on->year, as_known_on->month, as_known_on->day, &d)) {
            at_error_set(err, AT_VALIDATION, "as_known_on", "invalid date");
            at_error_detail(err, "\"As known on\" needs a valid date.");
            return AT_VALIDATION;
        }
        const char *p[1] = {on};
        PGresult *r = rep_query(t,
                                "SELECT coalesce(max(position), 0) FROM atb.events "
                                "WHERE recorded_at < (($1::date + 1)::timestamp AT TIME ZONE 'Europe/Riga')",
                                1, p, err);
        if (!r)
            return AT_UNAVAILABLE;
        int64_t pos = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (pos < *out)
            *out = pos;
    }
    snprintf(text, 24, "%lld", (long long)*out);
    return AT_OK;
}

int64_t rep_num(PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}
