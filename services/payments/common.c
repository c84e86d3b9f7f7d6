/*
 * common.c -- what every file of the payments service uses: SQL inside a transaction,
 * dates, packing and appending events, names of enum values.
 *
 * The write path of every command and consumer is the same: check the fields (nothing
 * touched), begin, lock and read the rows the rule depends on, write the rows, append the
 * events last (the append takes the log's head lock), commit. Rows and events commit
 * together or not at all; a refused command leaves nothing.
 */
#include "payments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

at_code pay_sql(es_txn *t, const char *sql, int n, const char *const *params, PGresult **out, at_error *err)
{
    PGconn *c = es_txn_conn(t);
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = r;
        else
            PQclear(r);
        return AT_OK;
    }
    bool gone = PQstatus(c) != CONNECTION_OK;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    at_error_set(err, gone ? AT_UNAVAILABLE : AT_INTERNAL, NULL, "could not %s payments' tables",
                 gone ? "reach" : "update");
    at_error_detail(err, "PostgreSQL said (%s): %.250s", state ? state : "-", PQresultErrorMessage(r));
    at_error_hint(err, "Retry with the same command id.");
    PQclear(r);
    if (out)
        *out = NULL;
    return err ? err->code : (gone ? AT_UNAVAILABLE : AT_INTERNAL);
}

at_code pay_begin(es_store *es, es_txn **t, at_error *err)
{
    es_status st = es_txn_begin(es, t, err);
    return st == ES_OK ? AT_OK : es_status_code(st);
}

at_code pay_commit(es_txn *t, at_error *err)
{
    es_status st = es_txn_commit(t, err);
    return st == ES_OK ? AT_OK : es_status_code(st);
}



const char *pay_date_sql(at_date d, char *buf)
{
    if (d == AT_DATE_NONE)
        return NULL;
    at_date_format(d, buf, 11);
    return buf;
}

at_date pay_date_parse(const char *s)
{
    at_date d;
    if (!s || !*s || at_date_parse(s, "date", &d, NULL) != AT_OK)
        return AT_DATE_NONE;
    return d;
}


at_code pay_append(es_txn *t, const char *tenant, const char *stream, int64_t expected, const char *command_id,
                   const char *causation_id, const char *correlation_id, const char *actor, es_event_in *evs,
                   size_t n, es_append_res *res, at_error *err)
{
    es_append_req rq = {
        .tenant = tenant,
        .stream_id = stream,
        .expected_version = expected,
        .command_id = command_id && *command_id ? command_id : NULL,
        .causation_id = causation_id && *causation_id ? causation_id : NULL,
        .correlation_id = correlation_id && *correlation_id ? correlation_id : NULL,
        .actor = actor && *actor ? actor : NULL,
        .events = evs,
        .n_events = n,
    };
    es_status st = es_txn_append(t, &rq, res, err);
    return st == ES_OK ? AT_OK : es_status_code(st);
}

at_code pay_check_key(char *s, const char *field, at_error *err)
{
    if (!s || !*s)
        return at_error_set(err, AT_VALIDATION, field, "%s is required", field);
    if (!at_uuid_valid(s)) {
        at_error_set(err, AT_VALIDATION, field, "%s is not a UUID", field);
        at_error_detail(err, "Keys are UUIDs; the value sent was \"%.64s\".", s);
        return AT_VALIDATION;
    }
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return AT_OK;
}

static const char *const channel_names[] = {"", "account", "cash", "provider", "municipality"};
static const char *const funding_names[] = {"", "municipal", "state", "eu"};
static const char *const status_names[] = {"", "scheduled", "batched", "paid", "rejected", "cancelled"};

const char *pay_channel_name(Atb__V1__PaymentChannel c)
{
    return (unsigned)c < 5 ? channel_names[c] : "";
}

const char *pay_funding_name(Atb__V1__FundingSource f)
{
    return (unsigned)f < 4 ? funding_names[f] : "";
}

static int index_of(const char *const *names, int n, const char *s)
{
    for (int i = 1; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return 0;
}

Atb__V1__FundingSource pay_funding_of(const char *name)
{
    return (Atb__V1__FundingSource)index_of(funding_names, 4, name);
}

Atb__V1__PaymentChannel pay_channel_of(const char *name)
{
    return (Atb__V1__PaymentChannel)index_of(channel_names, 5, name);
}

Atb__V1__OrderStatus pay_status_of(const char *name)
{
    return (Atb__V1__OrderStatus)index_of(status_names, 6, name);
}
