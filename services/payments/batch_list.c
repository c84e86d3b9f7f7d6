/*
 * batch_list.c -- ListBatches: the tenant's payment batches with what became of them
 * (exported, confirmed, orders paid and rejected), read from the service's tables.
 */
#include "payments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows in one reply: a reply must fit in one NATS message. */
#define BATCH_LIST_MAX 2000

static at_code fill(svc_request *req, PGresult *r, Atb__V1__BatchList *l, at_error *err)
{
    size_t n = (size_t)PQntuples(r);
    l->batches = at_arena_alloc(req->arena, (n + 1) * sizeof *l->batches);
    Atb__V1__BatchSummary *b = at_arena_alloc(req->arena, (n + 1) * sizeof *b);
    if (!l->batches || !b)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int k = (int)i;
        atb__v1__batch_summary__init(&b[i]);
        b[i].batch_id = PQgetvalue(r, k, 0);
        b[i].created = svc_date_out(req->arena, pay_date_parse(PQgetvalue(r, k, 1)));
        b[i].execution_date = svc_date_out(req->arena, pay_date_parse(PQgetvalue(r, k, 2)));
        b[i].count = (int32_t)strtol(PQgetvalue(r, k, 3), NULL, 10);
        b[i].total_cents = strtoll(PQgetvalue(r, k, 4), NULL, 10);
        b[i].sha256 = PQgetvalue(r, k, 5);
        b[i].exported = b[i].sha256[0] != '\0';
        b[i].report_id = PQgetvalue(r, k, 6);
        b[i].confirmed = b[i].report_id[0] != '\0';
        b[i].paid = (int32_t)strtol(PQgetvalue(r, k, 7), NULL, 10);
        b[i].rejected = (int32_t)strtol(PQgetvalue(r, k, 8), NULL, 10);
        l->batches[i] = &b[i];
        l->total_cents += b[i].total_cents;
    }
    l->n_batches = n;
    return AT_OK;
}

at_code batch_list_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ListBatches *m = (const Atb__V1__ListBatches *)req->msg;
    at_date from, to;
    if (!svc_date_in(m->from, &from))
        return at_error_set(err, AT_VALIDATION, "from", "from does not exist");
    if (!svc_date_in(m->to, &to))
        return at_error_set(err, AT_VALIDATION, "to", "to does not exist");
    if (from != AT_DATE_NONE && to != AT_DATE_NONE && to < from) {
        at_error_set(err, AT_VALIDATION, "to", "to is before from");
        at_error_detail(err, "The period must end on or after its first day.");
        return AT_VALIDATION;
    }
    char f[11], t[11], lim[16];
    snprintf(lim, sizeof lim, "%d", BATCH_LIST_MAX);
    const char *p[4] = {req->tenant, from == AT_DATE_NONE ? NULL : pay_date_sql(from, f),
                        to == AT_DATE_NONE ? NULL : pay_date_sql(to, t), lim};
    /* "Created" is the day in Latvia, as every other date of the service. */
    static const char sql[] =
        "SELECT b.batch_id, (b.created_at AT TIME ZONE 'Europe/Riga')::date, b.execution_date, b.count, "
        "b.control_sum_cents, coalesce(b.sha256, ''), coalesce(b.report_id, ''), "
        "count(o.order_id) FILTER (WHERE o.status = 'paid'), count(o.order_id) FILTER (WHERE o.status = 'rejected') "
        "FROM payments.batches b LEFT JOIN payments.batch_orders bo ON bo.batch_id = b.batch_id "
        "LEFT JOIN payments.orders o ON o.order_id = bo.order_id "
        "WHERE b.tenant = $1 AND ($2::date IS NULL OR (b.created_at AT TIME ZONE 'Europe/Riga')::date >= $2::date) "
        "AND ($3::date IS NULL OR (b.created_at AT TIME ZONE 'Europe/Riga')::date <= $3::date) "
        "GROUP BY b.batch_id ORDER BY b.created_at DESC, b.batch_id LIMIT $4::int";
    es_txn *tx;
    at_code c = pay_begin(req->es, &tx, err);
    if (c != AT_OK)
        return c;
    PGresult *r = NULL;
    c = pay_sql(tx, sql, 4, p, &r, err);
    es_txn_rollback(tx);
    if (c != AT_OK)
        return c;
    Atb__V1__BatchList *l = at_arena_alloc(req->arena, sizeof *l);
    if (!l) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__batch_list__init(l);
    c = fill(req, r, l, err);
    /* the strings point into r: copy before it goes */
    for (size_t i = 0; c == AT_OK && i < l->n_batches; i++) {
        Atb__V1__BatchSummary *b = l->batches[i];
        char **fs[] = {&b->batch_id, &b->sha256, &b->report_id};
        for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++)
            if (!(*fs[k] = at_arena_strdup(req->arena, *fs[k])))
                c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    PQclear(r);
    if (c != AT_OK)
        return c;
    *reply = &l->base;
    return AT_OK;
}
