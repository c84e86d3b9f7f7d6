/*
 * batch.c -- batches and the bank: CreateBatch, ExportBatch, ImportConfirmation,
 * RecordCashPayment.
 *
 * An order is paid at most once, whatever crashes or repeats:
 *  - CreateBatch moves due orders from "scheduled" to "batched" under their row locks, in
 *    the transaction that appends BatchCreated: a crash before the commit leaves every
 *    order scheduled and no batch; after it, every order is in exactly one batch. The
 *    batch id is derived from the command id, so a retry finds its batch. Open recovery
 *    claims are collected in the same transaction (offset.c): the file and the control
 *    sum carry amount - offset.
 *  - ExportBatch renders the file once, stores it with its SHA-256 and appends
 *    BatchExported (command id derived from the batch id); every later export returns the
 *    stored bytes and appends nothing. The file's MsgId and EndToEndIds are derived from
 *    the batch and order ids, so a bank that has seen the file refuses it again.
 *  - ImportConfirmation moves "batched" orders of the batch to "paid" or "rejected" once:
 *    the batch records the report id, and a second import of the same report changes
 *    nothing. A paid order is final (a trigger of the schema refuses any change). A
 *    report read from the bank's pain.002 file (pain002.c, by the client) names the file
 *    it answers (original_message_id): another batch's file is refused.
 *  - A rejected order waits for a corrected account (payee.c) and goes into a new batch
 *    with the same order id.
 */
#include "payments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "at_uuid.h"

#define BATCH_NS "e6daf405-8b7c-4d9e-8fa0-ab9c8d7e6f54"
#define EXPORT_NS "f7eb0516-9c8d-4eaf-80b1-bcad9e8f7065"
#define CONFIRM_NS "08fc1627-ad9e-4fb0-91c2-cdbeaf908176"

/* At most this many orders in one batch: BatchCreated lists their ids and must fit in one
 * event (ES_MAX_PAYLOAD); the rest waits for the next batch. */
#define BATCH_MAX 10000
/* Bytes of the file in one ExportBatch reply (NATS carries 1 MiB by default). */
#define EXPORT_CHUNK (512 * 1024)

static void stream_of(const char *batch_id, char *out, size_t n)
{
    snprintf(out, n, "paybatch-%s", batch_id);
}

static at_code reply_batch(svc_request *req, Atb__V1__BatchReply **out, at_error *err)
{
    Atb__V1__BatchReply *r = at_arena_alloc(req->arena, sizeof *r);
    if (!r)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__batch_reply__init(r);
    *out = r;
    return AT_OK;
}

/* Collect the ids of a query's first column into a PostgreSQL array literal. */
static char *id_array(at_arena *a, PGresult *r, int from, int to)
{
    size_t n = (size_t)(to - from) * (AT_UUID_LEN + 1) + 3;
    char *s = at_arena_alloc(a, n), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (int i = from; i < to; i++) {
        if (i > from)
            *p++ = ',';
        memcpy(p, PQgetvalue(r, i, 0), AT_UUID_LEN);
        p += AT_UUID_LEN;
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

/* ---- CreateBatch ---- */

static at_code existing_batch(es_txn *t, const char *batch_id, Atb__V1__BatchReply *r, bool *found, at_error *err)
{
    const char *p[1] = {batch_id};
    PGresult *q;
    at_code c = pay_sql(t, "SELECT count, control_sum_cents FROM payments.batches WHERE batch_id = $1", 1, p, &q,
                        err);
    if (c != AT_OK)
        return c;
    *found = PQntuples(q) > 0;
    if (*found) {
        r->count = atoi(PQgetvalue(q, 0, 0));
        r->control_sum_cents = strtoll(PQgetvalue(q, 0, 1), NULL, 10);
    }
    PQclear(q);
    return AT_OK;
}

static at_code create_in(svc_request *req, es_txn *t, at_date due, at_date exec, Atb__V1__BatchReply *r,
                         at_error *err)
{
    char *batch_id = at_arena_alloc(req->arena, AT_UUID_LEN + 1);
    if (!batch_id)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_uuid_derive(BATCH_NS, req->command_id, batch_id);
    r->batch_id = batch_id;
    bool found;
    at_code c = existing_batch(t, batch_id, r, &found, err);
    if (c != AT_OK)
        return c;
    if (found) {
        r->duplicate = true;
        return AT_OK;
    }
    char d[11], e[11], lim[16];
    snprintf(lim, sizeof lim, "%d", BATCH_MAX);
    const char *p[3] = {req->tenant, pay_date_sql(due, d), lim};
    /* providers named after the order was scheduled */
    c = pay_sql(t,
                "UPDATE payments.orders o SET payee = pb.payee FROM payments.provider_benefits pb WHERE o.tenant = $1 "
                "AND o.status = 'scheduled' AND o.payee IS NULL AND o.channel = 'provider' AND pb.tenant = o.tenant "
                "AND pb.benefit = o.benefit",
                1, p, NULL, err);
    PGresult *q = NULL;
    if (c == AT_OK)
        c = pay_sql(t,
                    "SELECT o.order_id, o.amount_cents, o.payee, o.benefit, o.offset_cents FROM payments.orders o "
                    "JOIN payments.payees p ON p.tenant = "
                    "o.tenant AND p.payee = o.payee WHERE o.tenant = $1 AND o.status = 'scheduled' AND o.due <= $2 "
                    "AND o.channel <> 'cash' ORDER BY o.due, o.order_id LIMIT $3 FOR UPDATE OF o",
                    3, p, &q, err);
    if (c != AT_OK)
        return c;
    int n = PQntuples(q);
    if (n == 0) {
        PQclear(q);
        at_error_set(err, AT_NOT_FOUND, "due", "no orders are due by %s", d);
        at_error_detail(err, "No scheduled credit transfer is due on or before that day with a payee account.");
        at_error_hint(err, "ListDueOrders shows the orders that wait, also those without an account.");
        return AT_NOT_FOUND;
    }
    /* recovery claims are collected first: the file and its control sum carry what is sent */
    pay_batch_order *bo = at_arena_alloc(req->arena, (size_t)n * sizeof *bo);
    if (!bo) {
        PQclear(q);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (int i = 0; i < n; i++)
        bo[i] = (pay_batch_order){.order_id = PQgetvalue(q, i, 0),
                                  .amount = strtoll(PQgetvalue(q, i, 1), NULL, 10),
                                  .payee = PQgetvalue(q, i, 2),
                                  .benefit = PQgetvalue(q, i, 3),
                                  .offset = strtoll(PQgetvalue(q, i, 4), NULL, 10)};
    Atb__V1__RecoveryCollected **col = NULL;
    size_t n_col = 0;
    c = offset_collect(t, req->tenant, batch_id, exec, bo, (size_t)n, req->arena, &col, &n_col, err);
    if (c != AT_OK) {
        PQclear(q);
        return c;
    }
    at_cents sum = 0;
    for (int i = 0; i < n; i++)
        sum += bo[i].amount - bo[i].offset;
    char cnt[16], total[24];
    snprintf(cnt, sizeof cnt, "%d", n);
    snprintf(total, sizeof total, "%lld", (long long)sum);
    const char *b[5] = {batch_id, req->tenant, pay_date_sql(exec, e), cnt, total};
    c = pay_sql(t,
                "INSERT INTO payments.batches (batch_id, tenant, execution_date, count, control_sum_cents) "
                "VALUES ($1, $2, $3, $4, $5)",
                5, b, NULL, err);
    /* In two halves, with a fault point between them, so a test can crash the service in
     * the middle of building a batch and show that nothing of it survives. */
    int half = n / 2;
    for (int part = 0; c == AT_OK && part < 2; part++) {
        int from = part ? half : 0, to = part ? n : half;
        if (to == from)
            continue;
        char *ids = id_array(req->arena, q, from, to);
        if (!ids) {
            c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            break;
        }
        const char *u[2] = {batch_id, ids};
        c = pay_sql(t,
                    "WITH moved AS (UPDATE payments.orders SET status = 'batched', batch_id = $1 WHERE order_id = "
                    "ANY($2::uuid[]) AND status = 'scheduled' RETURNING order_id) INSERT INTO payments.batch_orders "
                    "(batch_id, order_id) SELECT $1, order_id FROM moved",
                    2, u, NULL, err);
        if (part == 0)
            es_fault_point("payments.batch_half");
    }
    Atb__V1__BatchCreated ev = ATB__V1__BATCH_CREATED__INIT;
    ev.batch_id = batch_id;
    ev.execution_date = svc_date_out(req->arena, exec);
    ev.n_order_ids = (size_t)n;
    ev.order_ids = at_arena_alloc(req->arena, (size_t)n * sizeof(char *));
    if (c == AT_OK && !ev.order_ids)
        c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (int i = 0; c == AT_OK && i < n; i++)
        ev.order_ids[i] = at_arena_strdup(req->arena, PQgetvalue(q, i, 0));
    PQclear(q);
    ev.control_sum_cents = sum;
    ev.count = n;
    es_event_in *evs = at_arena_alloc(req->arena, (n_col + 1) * sizeof *evs);
    es_append_res res;
    char stream[80];
    stream_of(batch_id, stream, sizeof stream);
    if (c == AT_OK && !evs)
        c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (c == AT_OK)
        c = svc_pack(req->arena, &ev.base, "BatchCreated", &evs[0], err);
    for (size_t i = 0; c == AT_OK && i < n_col; i++)
        c = svc_pack(req->arena, &col[i]->base, "RecoveryCollected", &evs[i + 1], err);
    if (c == AT_OK)
        c = pay_append(t, req->tenant, stream, ES_VERSION_NONE, req->command_id, NULL, req->correlation_id,
                       req->actor, evs, n_col + 1, &res, err);
    if (c == AT_OK && res.duplicate)
        return at_error_set(err, AT_CONFLICT, NULL, "command id %s made another batch", req->command_id);
    r->count = n;
    r->control_sum_cents = sum;
    r->version = res.version;
    return c;
}

at_code batch_create_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__CreateBatch *m = (Atb__V1__CreateBatch *)req->msg;
    at_date due, exec;
    if (!svc_date_in(m->due, &due) || due == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "due", "due is required");
    if (!svc_date_in(m->execution_date, &exec))
        return at_error_set(err, AT_VALIDATION, "execution_date", "execution_date does not exist");
    if (exec == AT_DATE_NONE)
        exec = due;
    Atb__V1__BatchReply *r = NULL;
    es_txn *t = NULL;
    at_code c = reply_batch(req, &r, err);
    if (c == AT_OK)
        c = pay_begin(req->es, &t, err);
    if (c != AT_OK)
        return c;
    c = create_in(req, t, due, exec, r, err);
    if (c != AT_OK || r->duplicate)
        es_txn_rollback(t);
    else
        c = pay_commit(t, err);
    if (c != AT_OK)
        return c;
    svc_metric_add(req->service, "orders_batched", r->duplicate ? 0 : r->count);
    *reply = &r->base;
    return AT_OK;
}

/* ---- ExportBatch ---- */

typedef struct batch_row {
    char tenant[64], exec[11], created[24], sha[65];
    int count;
    at_cents sum;
    bool exported, confirmed;
    char report[80];
} batch_row;

static at_code load_batch(es_txn *t, const char *tenant, const char *batch_id, batch_row *b, at_error *err)
{
    const char *p[2] = {batch_id, tenant};
    PGresult *r;
    at_code c = pay_sql(t,
                        "SELECT execution_date, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'), "
                        "count, control_sum_cents, sha256 IS NOT NULL, coalesce(sha256, ''), report_id IS NOT NULL, "
                        "coalesce(report_id, '') FROM payments.batches WHERE batch_id = $1 AND tenant = $2 FOR UPDATE",
                        2, p, &r, err);
    if (c != AT_OK)
        return c;
    if (PQntuples(r) == 0) {
        PQclear(r);
        at_error_set(err, AT_NOT_FOUND, "batch_id", "no batch %s", batch_id);
        at_error_detail(err, "The municipality %s has no payment batch with that id.", tenant);
        at_error_hint(err, "Check the batch id in the bank's report against CreateBatch's reply.");
        return AT_NOT_FOUND;
    }
    snprintf(b->exec, sizeof b->exec, "%s", PQgetvalue(r, 0, 0));
    snprintf(b->created, sizeof b->created, "%s", PQgetvalue(r, 0, 1));
    b->count = atoi(PQgetvalue(r, 0, 2));
    b->sum = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    b->exported = PQgetvalue(r, 0, 4)[0] == 't';
    snprintf(b->sha, sizeof b->sha, "%s", PQgetvalue(r, 0, 5));
    b->confirmed = PQgetvalue(r, 0, 6)[0] == 't';
    snprintf(b->report, sizeof b->report, "%s", PQgetvalue(r, 0, 7));
    PQclear(r);
    return AT_OK;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static at_code render(svc_request *req, es_txn *t, const char *batch_id, const batch_row *b, at_buf *xml,
                      at_error *err)
{
    const char *p[2] = {req->tenant, batch_id};
    PGresult *d, *o;
    at_code c = pay_sql(t, "SELECT name, iban, bic FROM payments.payees WHERE tenant = $1 AND kind = 'debtor'", 1, p,
                        &d, err);
    if (c != AT_OK)
        return c;
    if (PQntuples(d) == 0) {
        PQclear(d);
        at_error_set(err, AT_VALIDATION, "debtor", "the municipality has no debtor account");
        at_error_hint(err, "Set it with SetPayeeAccount, kind PAYEE_KIND_DEBTOR.");
        return AT_VALIDATION;
    }
    c = pay_sql(t,
                "SELECT o.order_id, o.amount_cents - o.offset_cents, coalesce(p.name, ''), coalesce(p.iban, ''), "
                "coalesce(p.bic, ''), o.benefit || ' ' || o.budget_code || ' ' || o.slot_from || '..' || o.slot_to || "
                "CASE WHEN o.offset_cents > 0 THEN ' ieturets ' || to_char(o.offset_cents / 100.0, 'FM9999999990.00') "
                "ELSE '' END FROM "
                "payments.batch_orders bo JOIN payments.orders o USING (order_id) LEFT JOIN payments.payees p ON "
                "p.tenant = o.tenant AND p.payee = o.payee WHERE bo.batch_id = $2 AND o.tenant = $1 ORDER BY "
                "o.order_id",
                2, p, &o, err);
    if (c != AT_OK) {
        PQclear(d);
        return c;
    }
    size_t n = (size_t)PQntuples(o);
    pay_xfer *x = at_arena_alloc(req->arena, (n + 1) * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (pay_xfer){.end_to_end_id = PQgetvalue(o, (int)i, 0),
                          .amount = strtoll(PQgetvalue(o, (int)i, 1), NULL, 10),
                          .creditor_name = PQgetvalue(o, (int)i, 2),
                          .creditor_iban = PQgetvalue(o, (int)i, 3),
                          .creditor_bic = PQgetvalue(o, (int)i, 4),
                          .remittance = PQgetvalue(o, (int)i, 5)};
    pay_batch_file f = {.batch_id = batch_id,
                        .created_at = b->created,
                        .execution_date = pay_date_parse(b->exec),
                        .debtor_name = PQgetvalue(d, 0, 0),
                        .debtor_iban = PQgetvalue(d, 0, 1),
                        .debtor_bic = PQgetvalue(d, 0, 2),
                        .xfers = x,
                        .n_xfers = n};
    if (!x)
        c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    else
        c = pay_pain001_render(&f, xml, err);
    if (c == AT_OK && (int)n != b->count)
        c = at_error_set(err, AT_INTERNAL, NULL, "batch %s has %zu orders, its record says %d", batch_id, n,
                         b->count);
    PQclear(d);
    PQclear(o);
    if (c != AT_OK && err && err->code == AT_VALIDATION)
        at_error_hint(err, "A payee's account was erased after the batch was made: set it again and export.");
    return c;
}

static at_code export_in(svc_request *req, es_txn *t, const char *batch_id, int64_t offset, Atb__V1__BatchReply *r,
                         at_error *err)
{
    batch_row b;
    at_code c = load_batch(t, req->tenant, batch_id, &b, err);
    if (c != AT_OK)
        return c;
    r->batch_id = (char *)batch_id;
    r->count = b.count;
    r->control_sum_cents = b.sum;
    if (!b.exported) {
        at_buf xml;
        at_buf_init(&xml, 64u * 1024 * 1024);
        c = render(req, t, batch_id, &b, &xml, err);
        int64_t count = 0;
        at_cents sum = 0;
        /* the file is checked before anyone sees it: a bug here must never reach the bank */
        if (c == AT_OK && pay_pain001_check((const char *)xml.ptr, xml.len, &count, &sum, err) != AT_OK)
            c = at_error_set(err, AT_INTERNAL, err ? err->field : NULL, "the rendered file is wrong: %s",
                             err ? err->message : "");
        else if (c == AT_OK && (count != b.count || sum != b.sum))
            c = at_error_set(err, AT_INTERNAL, NULL, "the rendered file does not match batch %s", batch_id);
        char sha[65];
        if (c == AT_OK) {
            sha256_hex(xml.ptr, xml.len, sha);
            const char *p[3] = {batch_id, xml.ptr, sha};
            int lens[3] = {0, (int)xml.len, 0}, fmts[3] = {0, 1, 0};
            PGresult *q = PQexecParams(es_txn_conn(t),
                                       "UPDATE payments.batches SET xml = $2::bytea, sha256 = $3 WHERE batch_id = $1",
                                       3, NULL, p, lens, fmts, 0);
            if (PQresultStatus(q) != PGRES_COMMAND_OK) {
                at_error_set(err, AT_UNAVAILABLE, NULL, "could not store the batch file");
                at_error_detail(err, "PostgreSQL said: %.250s", PQresultErrorMessage(q));
                c = AT_UNAVAILABLE;
            }
            PQclear(q);
        }
        at_buf_free(&xml);
        Atb__V1__BatchExported ev = ATB__V1__BATCH_EXPORTED__INIT;
        char msg_id[40] = "ATB", cmd[AT_UUID_LEN + 1], stream[80];
        for (size_t i = 0, k = 3; batch_id[i] && k < 35; i++)
            if (batch_id[i] != '-')
                msg_id[k++] = (char)(batch_id[i] >= 'a' ? batch_id[i] - 32 : batch_id[i]), msg_id[k] = '\0';
        ev.batch_id = (char *)batch_id;
        ev.message_id = msg_id;
        ev.sha256 = sha;
        ev.control_sum_cents = b.sum;
        ev.count = b.count;
        es_event_in e;
        es_append_res res;
        at_uuid_derive(EXPORT_NS, batch_id, cmd);
        stream_of(batch_id, stream, sizeof stream);
        if (c == AT_OK)
            c = svc_pack(req->arena, &ev.base, "BatchExported", &e, err);
        if (c == AT_OK)
            c = pay_append(t, req->tenant, stream, ES_VERSION_ANY, cmd, NULL, req->correlation_id, req->actor, &e, 1,
                           &res, err);
        if (c != AT_OK)
            return c;
        r->version = res.version;
    } else {
        r->duplicate = true;
    }
    /* the reply's piece, from the stored bytes (also on the first export: one path) */
    const char *ep[1] = {batch_id};
    PGresult *eq;
    if ((c = pay_sql(t, "SELECT 1 FROM payments.batches WHERE batch_id = $1 AND xml IS NULL", 1, ep, &eq, err)) !=
        AT_OK)
        return c;
    bool erased = PQntuples(eq) > 0;
    PQclear(eq);
    if (erased) {
        at_error_set(err, AT_CONFLICT, "batch_id", "the file of batch %s was erased", batch_id);
        at_error_detail(err, "It named a payee whose data was erased; its SHA-256 %s stays as the proof of what was "
                             "sent.", b.sha);
        return AT_CONFLICT;
    }
    char off[24], len[24];
    snprintf(off, sizeof off, "%lld", (long long)offset + 1);
    snprintf(len, sizeof len, "%d", EXPORT_CHUNK);
    const char *p[3] = {batch_id, off, len};
    PGconn *conn = es_txn_conn(t);
    PGresult *q = PQexecParams(conn,
                               "SELECT substring(xml FROM $2::int FOR $3::int), length(xml), sha256 FROM "
                               "payments.batches WHERE batch_id = $1",
                               3, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(q) != PGRES_TUPLES_OK || PQntuples(q) != 1) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not read the batch file");
        at_error_detail(err, "PostgreSQL said: %.250s", PQresultErrorMessage(q));
        PQclear(q);
        return AT_UNAVAILABLE;
    }
    size_t n = (size_t)PQgetlength(q, 0, 0);
    r->xml.data = at_arena_alloc(req->arena, n + 1);
    if (r->xml.data)
        memcpy(r->xml.data, PQgetvalue(q, 0, 0), n);
    r->xml.len = n;
    uint32_t total = 0;
    memcpy(&total, PQgetvalue(q, 0, 1), 4);
    r->xml_total = (int64_t)__builtin_bswap32(total);
    r->xml_sha256 = at_arena_alloc(req->arena, 65);
    if (r->xml_sha256)
        snprintf(r->xml_sha256, 65, "%.*s", PQgetlength(q, 0, 2), PQgetvalue(q, 0, 2));
    PQclear(q);
    if (!r->xml.data || !r->xml_sha256)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    return AT_OK;
}

at_code batch_export_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__ExportBatch *m = (Atb__V1__ExportBatch *)req->msg;
    at_code c = pay_check_key(m->batch_id, "batch_id", err);
    if (c != AT_OK)
        return c;
    if (m->offset < 0)
        return at_error_set(err, AT_VALIDATION, "offset", "offset is negative");
    Atb__V1__BatchReply *r = NULL;
    es_txn *t = NULL;
    if ((c = reply_batch(req, &r, err)) != AT_OK || (c = pay_begin(req->es, &t, err)) != AT_OK)
        return c;
    c = export_in(req, t, m->batch_id, m->offset, r, err);
    if (c != AT_OK || r->duplicate)
        es_txn_rollback(t);
    else
        c = pay_commit(t, err);
    if (c != AT_OK)
        return c;
    *reply = &r->base;
    return AT_OK;
}

/* ---- ImportConfirmation ---- */

/* An EndToEndId as the file carries it (32 hex digits) or as a UUID, into a UUID. */
static bool order_id_of(const char *s, char out[AT_UUID_LEN + 1])
{
    size_t n = s ? strlen(s) : 0;
    if (n == AT_UUID_LEN && at_uuid_valid(s)) {
        for (size_t i = 0; i <= n; i++)
            out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] + 32 : s[i]);
        return true;
    }
    if (n != 32)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[k++] = '-';
        out[k++] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] + 32 : s[i]);
    }
    out[k] = '\0';
    return at_uuid_valid(out);
}

static bool reason_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 4)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static at_code confirm_in(svc_request *req, es_txn *t, Atb__V1__ImportConfirmation *m, Atb__V1__BatchReply *r,
                          at_error *err)
{
    batch_row b;
    at_code c = load_batch(t, req->tenant, m->batch_id, &b, err);
    if (c != AT_OK)
        return c;
    r->batch_id = m->batch_id;
    r->count = b.count;
    r->control_sum_cents = b.sum;
    if (b.confirmed) {
        if (strcmp(b.report, m->report_id) == 0) {
            r->duplicate = true;   /* the same report again: it changed everything it could the first time */
            return AT_OK;
        }
        at_error_set(err, AT_CONFLICT, "report_id", "batch %s is confirmed already", m->batch_id);
        at_error_detail(err, "Report %s confirmed it; this is report %s.", b.report, m->report_id);
        at_error_hint(err, "A bank sends one final status report per file; a rejected order is paid again in a "
                           "new batch after its account is corrected.");
        return AT_CONFLICT;
    }
    char msg_id[36];
    pay_msg_id_of_batch(m->batch_id, msg_id);
    if (m->original_message_id && *m->original_message_id && strcmp(m->original_message_id, msg_id) != 0) {
        at_error_set(err, AT_VALIDATION, "original_message_id", "the report is about file %.35s, not batch %s",
                     m->original_message_id, m->batch_id);
        at_error_detail(err, "Batch %s was sent as file %s; the report answers another file.", m->batch_id, msg_id);
        at_error_hint(err, "Import the report with the batch its OrgnlMsgId names.");
        return AT_VALIDATION;
    }
    if (m->reject_all && !reason_ok(m->reject_all_reason))
        return at_error_set(err, AT_VALIDATION, "reject_all_reason",
                            "a rejected file needs an ISO 20022 reason code such as AM04");
    if (!b.exported) {
        at_error_set(err, AT_CONFLICT, "batch_id", "batch %s was never exported", m->batch_id);
        at_error_hint(err, "ExportBatch first; the bank can only confirm a file it was given.");
        return AT_CONFLICT;
    }
    Atb__V1__BatchConfirmed ev = ATB__V1__BATCH_CONFIRMED__INIT;
    ev.batch_id = m->batch_id;
    ev.report_id = m->report_id;
    /* a rejected file rejects every order of the batch */
    size_t most = m->reject_all ? (size_t)b.count + m->n_results : m->n_results;
    ev.rejected = at_arena_alloc(req->arena, (most + 1) * sizeof(char *));
    ev.reasons = at_arena_alloc(req->arena, (most + 1) * sizeof(char *));
    if (!ev.rejected || !ev.reasons)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < m->n_results; i++) {
        Atb__V1__OrderResult *o = m->results[i];
        char id[AT_UUID_LEN + 1];
        if (!order_id_of(o->end_to_end_id, id))
            return at_error_set(err, AT_VALIDATION, "results.end_to_end_id", "end_to_end_id %.40s is not an order id",
                                o->end_to_end_id);
        const char *p[2] = {id, m->batch_id};
        PGresult *q;
        if ((c = pay_sql(t, "SELECT status FROM payments.orders WHERE order_id = $1 AND batch_id = $2", 2, p, &q,
                         err)) != AT_OK)
            return c;
        bool in = PQntuples(q) > 0;
        PQclear(q);
        if (!in) {
            at_error_set(err, AT_VALIDATION, "results.end_to_end_id", "order %s is not in batch %s", id, m->batch_id);
            at_error_detail(err, "The report names an order the file did not carry.");
            return AT_VALIDATION;
        }
        if (!o->rejected)
            continue;
        if (!reason_ok(o->reason))
            return at_error_set(err, AT_VALIDATION, "results.reason",
                                "a rejection needs an ISO 20022 reason code such as AC01");
        const char *u[3] = {id, m->batch_id, o->reason};
        if ((c = pay_sql(t,
                         "UPDATE payments.orders SET status = 'rejected', reject_reason = $3 WHERE order_id = $1 AND "
                         "batch_id = $2 AND status = 'batched'",
                         3, u, NULL, err)) != AT_OK)
            return c;
        ev.rejected[ev.n_rejected] = at_arena_strdup(req->arena, id);
        ev.reasons[ev.n_reasons++] = o->reason;
        ev.n_rejected++;
    }
    char exec[11];
    snprintf(exec, sizeof exec, "%s", b.exec);
    const char *p[2] = {m->batch_id, exec};
    PGresult *q;
    if (m->reject_all) {
        const char *u[2] = {m->batch_id, m->reject_all_reason};
        if ((c = pay_sql(t,
                         "UPDATE payments.orders SET status = 'rejected', reject_reason = $2 WHERE batch_id = $1 AND "
                         "status = 'batched' RETURNING order_id",
                         2, u, &q, err)) != AT_OK)
            return c;
        for (int i = 0; i < PQntuples(q); i++) {
            ev.rejected[ev.n_rejected++] = at_arena_strdup(req->arena, PQgetvalue(q, i, 0));
            ev.reasons[ev.n_reasons++] = m->reject_all_reason;
        }
        PQclear(q);
    }
    if ((c = pay_sql(t,
                     "UPDATE payments.orders SET status = 'paid', paid_on = $2 WHERE batch_id = $1 AND status = "
                     "'batched' RETURNING order_id, amount_cents",
                     2, p, &q, err)) != AT_OK)
        return c;
    ev.n_paid = (size_t)PQntuples(q);
    ev.paid = at_arena_alloc(req->arena, (ev.n_paid + 1) * sizeof(char *));
    for (size_t i = 0; ev.paid && i < ev.n_paid; i++) {
        ev.paid[i] = at_arena_strdup(req->arena, PQgetvalue(q, (int)i, 0));
        ev.paid_cents += strtoll(PQgetvalue(q, (int)i, 1), NULL, 10);
    }
    PQclear(q);
    if (!ev.paid)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    const char *rp[2] = {m->batch_id, m->report_id};
    if ((c = pay_sql(t, "UPDATE payments.batches SET report_id = $2 WHERE batch_id = $1", 2, rp, NULL, err)) != AT_OK)
        return c;
    es_event_in e;
    es_append_res res;
    char stream[80], cmd[AT_UUID_LEN + 1];
    stream_of(m->batch_id, stream, sizeof stream);
    at_uuid_derive(CONFIRM_NS, m->batch_id, cmd);
    if ((c = svc_pack(req->arena, &ev.base, "BatchConfirmed", &e, err)) != AT_OK ||
        (c = pay_append(t, req->tenant, stream, ES_VERSION_ANY, cmd, NULL, req->correlation_id, req->actor, &e, 1,
                        &res, err)) != AT_OK)
        return c;
    if (res.duplicate)
        return at_error_set(err, AT_CONFLICT, NULL, "batch %s was confirmed by another command", m->batch_id);
    r->paid = (int32_t)ev.n_paid;
    r->rejected = (int32_t)ev.n_rejected;
    r->version = res.version;
    return AT_OK;
}

at_code batch_confirm_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__ImportConfirmation *m = (Atb__V1__ImportConfirmation *)req->msg;
    at_code c = pay_check_key(m->batch_id, "batch_id", err);
    if (c != AT_OK)
        return c;
    if (!m->report_id || !*m->report_id || strlen(m->report_id) > 35)
        return at_error_set(err, AT_VALIDATION, "report_id", "report_id is required (at most 35 characters)");
    Atb__V1__BatchReply *r = NULL;
    es_txn *t = NULL;
    if ((c = reply_batch(req, &r, err)) != AT_OK || (c = pay_begin(req->es, &t, err)) != AT_OK)
        return c;
    c = confirm_in(req, t, m, r, err);
    if (c != AT_OK || r->duplicate)
        es_txn_rollback(t);
    else
        c = pay_commit(t, err);
    if (c != AT_OK)
        return c;
    *reply = &r->base;
    return AT_OK;
}

/* ---- RecordCashPayment ---- */

at_code cash_paid_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__RecordCashPayment *m = (Atb__V1__RecordCashPayment *)req->msg;
    at_code c = pay_check_key(m->order_id, "order_id", err);
    at_date on;
    if (c != AT_OK)
        return c;
    if (!svc_date_in(m->paid_on, &on) || on == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "paid_on", "paid_on is required");
    es_txn *t = NULL;
    if ((c = pay_begin(req->es, &t, err)) != AT_OK)
        return c;
    const char *p[2] = {m->order_id, req->tenant};
    PGresult *q;
    bool already = false;
    c = pay_sql(t, "SELECT status, channel FROM payments.orders WHERE order_id = $1 AND tenant = $2 FOR UPDATE", 2,
                p, &q, err);
    if (c == AT_OK) {
        if (PQntuples(q) == 0) {
            c = at_error_set(err, AT_NOT_FOUND, "order_id", "no order %s", m->order_id);
        } else if (strcmp(PQgetvalue(q, 0, 0), "cancelled") == 0) {
            c = at_error_set(err, AT_CONFLICT, "order_id", "order %s was cancelled", m->order_id);
            at_error_detail(err, "The grant it paid was revoked or changed; nothing is owed under this order.");
        } else if (strcmp(PQgetvalue(q, 0, 0), "paid") == 0) {
            already = true;   /* a retry of this command is answered below; anything else is refused */
        } else if (strcmp(PQgetvalue(q, 0, 0), "scheduled") != 0) {
            c = at_error_set(err, AT_CONFLICT, "order_id", "order %s is %s", m->order_id, PQgetvalue(q, 0, 0));
            at_error_detail(err, "Only a scheduled order can be paid in cash; an order is paid once.");
        } else if (strcmp(PQgetvalue(q, 0, 1), "cash") != 0 && strcmp(PQgetvalue(q, 0, 1), "account") != 0) {
            /* a client's own money may be handed out at the office (cash or account); a
             * provider's or a municipality's is a transfer */
            c = at_error_set(err, AT_VALIDATION, "order_id", "order %s pays a %s", m->order_id, PQgetvalue(q, 0, 1));
            at_error_hint(err, "It is paid through a batch.");
        }
        PQclear(q);
    }
    char d[11];
    const char *u[2] = {m->order_id, pay_date_sql(on, d)};
    if (c == AT_OK && !already)
        c = pay_sql(t, "UPDATE payments.orders SET status = 'paid', paid_on = $2 WHERE order_id = $1", 2, u, NULL,
                    err);
    Atb__V1__CashPaid ev = ATB__V1__CASH_PAID__INIT;
    ev.order_id = m->order_id;
    ev.paid_on = m->paid_on;
    es_event_in e;
    es_append_res res;
    char stream[80];
    snprintf(stream, sizeof stream, "paycash-%s", m->order_id);
    if (c == AT_OK)
        c = svc_pack(req->arena, &ev.base, "CashPaid", &e, err);
    if (c == AT_OK)
        c = pay_append(t, req->tenant, stream, ES_VERSION_NONE, req->command_id, NULL, req->correlation_id,
                       req->actor, &e, 1, &res, err);
    if (already && (c == AT_CONFLICT || (c == AT_OK && !res.duplicate))) {
        es_txn_rollback(t);
        at_error_set(err, AT_CONFLICT, "order_id", "order %s is paid", m->order_id);
        at_error_detail(err, "An order is paid once: in cash, or by the bank in a batch.");
        return AT_CONFLICT;
    }
    if (c != AT_OK || res.duplicate) {
        es_txn_rollback(t);
        if (c != AT_OK)
            return c;
    } else if ((c = pay_commit(t, err)) != AT_OK) {
        return c;
    }
    *reply = svc_reply_appended(req, stream, m->order_id, &res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}
