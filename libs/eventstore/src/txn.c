/*
 * txn.c -- transactions: a handler's own statements, its appends and its consumer
 * checkpoint, committed together or not at all.
 *
 * An es_txn holds one pooled connection from es_txn_begin() until es_txn_commit() or
 * es_txn_rollback(), which both give it back and free the es_txn. Transactions run at
 * READ COMMITTED whatever the role's default: atb.append() relies on each statement
 * seeing the latest committed head once it holds the head lock.
 *
 * Invariants: once any statement of ours failed inside the transaction, `failed` is set
 * and commit rolls back and reports that failure; COMMIT's own reply is checked (a
 * failed transaction answers COMMIT with "ROLLBACK"), so a commit is never reported that
 * did not happen.
 */
#include <stdlib.h>
#include <string.h>

#include "es_int.h"

struct es_txn {
    es_store *es;
    es_conn *c;
    bool failed;
    es_status fail_status;
    at_error fail_err;
};

static void mark_failed(es_txn *t, es_status s, const at_error *err)
{
    if (t->failed)
        return;
    t->failed = true;
    t->fail_status = s;
    if (err)
        t->fail_err = *err;
}

es_status es_txn_begin(es_store *es, es_txn **out, at_error *err)
{
    if (out)
        *out = NULL;
    if (!es || !out)
        return es__fail(err, ES_INVALID, NULL, "cannot begin a transaction: no store or no output");
    es_txn *t = calloc(1, sizeof *t);
    if (!t)
        return es__fail(err, ES_NOMEM, NULL, "could not begin a transaction: out of memory");
    t->es = es;
    /* Nothing has happened yet, so a pooled connection found broken by BEGIN is opened
     * again and BEGIN repeated, once. */
    for (int attempt = 0;; attempt++) {
        es_status s = es__pool_get(es, &t->c, err);
        if (s != ES_OK) {
            free(t);
            return s;
        }
        PGresult *r = PQexec(t->c->pg, "BEGIN ISOLATION LEVEL READ COMMITTED");
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            *out = t;
            return ES_OK;
        }
        s = es__pg_fail(err, t->c->pg, r, "begin a transaction");
        bool broken = PQstatus(t->c->pg) != CONNECTION_OK;
        PQclear(r);
        es__pool_put(es, t->c);
        if (!broken || attempt == 1) {
            free(t);
            return s;
        }
    }
}

PGconn *es_txn_conn(es_txn *t)
{
    return t ? t->c->pg : NULL;
}

es_store *es_txn_store(es_txn *t)
{
    return t ? t->es : NULL;
}

bool es_txn_failed(const es_txn *t)
{
    return t && t->failed;
}

es_status es_txn_append(es_txn *t, const es_append_req *req, es_append_res *res, at_error *err)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (!t)
        return es__fail(err, ES_INVALID, NULL, "cannot append: no transaction");
    if (t->failed) {
        if (err)
            *err = t->fail_err;
        return t->fail_status;
    }
    es_status s = es__validate(req, err);
    if (s != ES_OK)
        return s;
    es__pending p;
    memset(&p, 0, sizeof p);
    p.req = req;
    es__pending *items[1] = {&p};
    s = es__append_call(t->c, items, 1);
    if (s != ES_OK)
        mark_failed(t, s, &p.err);
    if (res)
        *res = p.res;
    if (p.status != ES_OK && err)
        *err = p.err;
    return p.status;
}

static bool consumer_ok(const char *consumer)
{
    return consumer && *consumer && strlen(consumer) <= 200;
}

es_status es_txn_checkpoint_get(es_txn *t, const char *consumer, int64_t *position, at_error *err)
{
    if (!t || !position)
        return es__fail(err, ES_INVALID, NULL, "cannot read a checkpoint: no transaction");
    *position = 0;
    if (!consumer_ok(consumer))
        return es__fail(err, ES_INVALID, "consumer", "cannot read a checkpoint: the consumer "
                        "name is empty or longer than 200 bytes");
    if (t->failed) {
        if (err)
            *err = t->fail_err;
        return t->fail_status;
    }
    const char *values[1] = {consumer};
    /* Make sure the row exists, so that FOR UPDATE has a row to lock even the first time:
     * two instances of a new consumer then still exclude each other. */
    PGresult *r = PQexecParams(t->c->pg,
                               "INSERT INTO atb.checkpoints (consumer, position, updated_at) "
                               "VALUES ($1, 0, now()) ON CONFLICT (consumer) DO NOTHING",
                               1, NULL, values, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        es_status s = es__pg_fail(err, t->c->pg, r, "read a checkpoint");
        PQclear(r);
        mark_failed(t, s, err);
        return s;
    }
    PQclear(r);
    r = PQexecParams(t->c->pg, "SELECT position FROM atb.checkpoints WHERE consumer = $1 "
                     "FOR UPDATE", 1, NULL, values, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        es_status s = es__pg_fail(err, t->c->pg, r, "read a checkpoint");
        PQclear(r);
        mark_failed(t, s, err);
        return s;
    }
    *position = es__get_int8(PQgetvalue(r, 0, 0));
    PQclear(r);
    return ES_OK;
}

es_status es_txn_checkpoint_set(es_txn *t, const char *consumer, int64_t position, at_error *err)
{
    if (!t)
        return es__fail(err, ES_INVALID, NULL, "cannot set a checkpoint: no transaction");
    if (!consumer_ok(consumer))
        return es__fail(err, ES_INVALID, "consumer", "cannot set a checkpoint: the consumer "
                        "name is empty or longer than 200 bytes");
    if (position < 0)
        return es__fail(err, ES_INVALID, "position", "cannot set checkpoint \"%s\": the position "
                        "is negative", consumer);
    if (t->failed) {
        if (err)
            *err = t->fail_err;
        return t->fail_status;
    }
    char pos[8];
    uint64_t u = (uint64_t)position;
    for (int i = 7; i >= 0; i--, u >>= 8)
        pos[i] = (char)(u & 0xff);
    const char *values[2] = {consumer, pos};
    const int lengths[2] = {(int)strlen(consumer), 8};
    const int formats[2] = {1, 1};
    const Oid types[2] = {ES_OID_TEXT, ES_OID_INT8};
    PGresult *r = PQexecParams(t->c->pg,
                               "INSERT INTO atb.checkpoints (consumer, position, updated_at) "
                               "VALUES ($1, $2, now()) ON CONFLICT (consumer) DO UPDATE "
                               "SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at",
                               2, types, values, lengths, formats, 1);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        es_status s = es__pg_fail(err, t->c->pg, r, "set a checkpoint");
        PQclear(r);
        mark_failed(t, s, err);
        return s;
    }
    PQclear(r);
    return ES_OK;
}

static void txn_end(es_txn *t)
{
    es__pool_put(t->es, t->c);
    free(t);
}

es_status es_txn_commit(es_txn *t, at_error *err)
{
    if (!t)
        return es__fail(err, ES_INVALID, NULL, "cannot commit: no transaction");
    if (t->failed) {
        es_status s = t->fail_status;
        if (err) {
            *err = t->fail_err;
            at_error_detail(err, "The transaction failed before the commit and was rolled back; "
                            "nothing of it was committed.");
        }
        es_txn_rollback(t);
        return s;
    }
    es_fault_point("append.before_commit");
    PGresult *r = PQexec(t->c->pg, "COMMIT");
    es_status s = ES_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        s = es__pg_fail(err, t->c->pg, r, "commit");
        if (s == ES_IO && err)
            at_error_detail(err, "The connection failed during COMMIT, so the transaction may or "
                            "may not have committed.");
    } else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        /* PostgreSQL answers COMMIT of a failed transaction with ROLLBACK: one of the
         * caller's own statements failed. */
        s = es__fail(err, ES_REFUSED, NULL, "cannot commit: a statement of the transaction "
                     "failed, so it was rolled back");
        if (err)
            at_error_hint(err, "Check the statements run on es_txn_conn(); nothing of the "
                          "transaction was committed.");
    }
    PQclear(r);
    if (s == ES_OK)
        es_fault_point("txn.after_commit");
    txn_end(t);
    return s;
}

void es_txn_rollback(es_txn *t)
{
    if (!t)
        return;
    if (t->c->pg && PQstatus(t->c->pg) == CONNECTION_OK) {
        PGresult *r = PQexec(t->c->pg, "ROLLBACK");
        PQclear(r);
    }
    txn_end(t);
}
