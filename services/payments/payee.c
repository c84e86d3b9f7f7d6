/*
 * payee.c -- SetPayeeAccount and ErasePayee: who is paid where, and forgetting it.
 *
 * The account holder's name and the IBAN are identifying: they go to payments.payees (an
 * erasable table), never into the event, which names only the payee key, its kind, the
 * benefits a provider is paid for and the orders put back in the queue. A corrected
 * account re-queues the payee's orders the bank rejected: they become due again, with the
 * same order id, and go into the next batch. ErasePayee deletes the row and clears the
 * stored files that name the payee (their SHA-256 stays, the proof of what was sent); the
 * payee's unpaid orders wait until an account is set again.
 */
#include "payments.h"

#include <stdio.h>
#include <string.h>

#include "at_iban.h"
#include "at_uuid.h"

static const char *kind_name(Atb__V1__PayeeKind k)
{
    switch (k) {
    case ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON: return "person";
    case ATB__V1__PAYEE_KIND__PAYEE_KIND_PROVIDER: return "provider";
    case ATB__V1__PAYEE_KIND__PAYEE_KIND_MUNICIPALITY: return "municipality";
    case ATB__V1__PAYEE_KIND__PAYEE_KIND_DEBTOR: return "debtor";
    default: return NULL;
    }
}

static at_code check_text(const char *s, const char *field, size_t max, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    bool blank = true;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return at_error_set(err, AT_VALIDATION, field, "%s contains a control character", field);
        if (s[i] != ' ')
            blank = false;
    }
    if (blank)
        return at_error_set(err, AT_VALIDATION, field, "%s is required", field);
    if (n > max) {
        at_error_set(err, AT_VALIDATION, field, "%s is longer than %zu bytes", field, max);
        at_error_detail(err, "A credit transfer carries at most %zu bytes of it.", max);
        return AT_VALIDATION;
    }
    return AT_OK;
}

static at_code check_bic(const char *s, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return AT_OK;
    bool ok = n == 8 || n == 11;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'A' && s[i] <= 'Z') || (i >= 4 && s[i] >= '0' && s[i] <= '9');
    if (!ok) {
        at_error_set(err, AT_VALIDATION, "bic", "bic is not a BIC");
        at_error_detail(err, "A BIC has 8 or 11 characters: 4 letters of the bank, 2 of the country, then letters "
                             "or digits; the value sent was \"%.32s\".", s);
        return AT_VALIDATION;
    }
    return AT_OK;
}

/* A payee key: a UUID (persons; any other payee the municipality keys itself), or the
 * names service allocation gives: "provider:<owner>.<provider>", "municipality:<code>". */
static at_code check_payee_key(char *s, Atb__V1__PayeeKind kind, at_error *err)
{
    const char *prefix = kind == ATB__V1__PAYEE_KIND__PAYEE_KIND_PROVIDER       ? "provider:"
                         : kind == ATB__V1__PAYEE_KIND__PAYEE_KIND_MUNICIPALITY ? "municipality:"
                                                                               : NULL;
    size_t pl = prefix ? strlen(prefix) : 0;
    if (!prefix || !s || strncmp(s, prefix, pl) != 0)
        return pay_check_key(s, "payee", err);
    size_t n = strlen(s + pl);
    bool ok = n > 0 && n <= 100;
    for (const char *p = s + pl; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.';
    if (!ok) {
        at_error_set(err, AT_VALIDATION, "payee", "payee is not a key");
        at_error_detail(err, "A payee is a UUID, or %s followed by lower-case letters, digits, '_' and '.': "
                             "\"%.64s\".", prefix, s);
        return AT_VALIDATION;
    }
    return AT_OK;
}

at_code payee_set_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__SetPayeeAccount *m = (Atb__V1__SetPayeeAccount *)req->msg;
    char iban[AT_IBAN_MAX + 1];
    const char *kind = kind_name(m->kind);
    at_code c;
    if (!kind)
        return at_error_set(err, AT_VALIDATION, "kind", "kind is not person, provider, municipality or debtor");
    if ((c = check_payee_key(m->payee, m->kind, err)) != AT_OK)
        return c;
    if ((c = check_text(m->name, "name", 140, err)) != AT_OK)
        return c;
    if (!m->iban || !*m->iban)
        return at_error_set(err, AT_VALIDATION, "iban", "iban is required");
    if ((c = at_iban_validate(m->iban, "iban", iban, err)) != AT_OK) {
        at_error_hint(err, "Check the account number with the client's bank statement.");
        return c;
    }
    if ((c = check_bic(m->bic, err)) != AT_OK)
        return c;
    for (size_t i = 0; i < m->n_benefits; i++)
        if ((c = check_text(m->benefits[i], "benefits", 32, err)) != AT_OK)
            return c;
    if (m->n_benefits > 0 && m->kind != ATB__V1__PAYEE_KIND__PAYEE_KIND_PROVIDER)
        return at_error_set(err, AT_VALIDATION, "benefits", "only a provider is paid for benefits");

    es_txn *t;
    if ((c = pay_begin(req->es, &t, err)) != AT_OK)
        return c;
    PGresult *r = NULL;
    const char *p[6] = {req->tenant, m->payee, kind, m->name, iban, m->bic ? m->bic : ""};
    c = pay_sql(t,
                "INSERT INTO payments.payees (tenant, payee, kind, name, iban, bic) VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT (tenant, payee) DO UPDATE SET kind = $3, name = $4, iban = $5, bic = $6, updated_at = "
                "now() RETURNING (xmax <> 0)",
                6, p, &r, err);
    bool corrected = c == AT_OK && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (c == AT_OK && kind[0] == 'd') {
        /* one debtor account per municipality: the latest wins */
        c = pay_sql(t, "DELETE FROM payments.payees WHERE tenant = $1 AND kind = 'debtor' AND payee <> $2", 2, p,
                    NULL, err);
    }
    for (size_t i = 0; c == AT_OK && i < m->n_benefits; i++) {
        const char *q[3] = {req->tenant, m->benefits[i], m->payee};
        c = pay_sql(t,
                    "INSERT INTO payments.provider_benefits (tenant, benefit, payee) VALUES ($1, $2, $3) "
                    "ON CONFLICT (tenant, benefit) DO UPDATE SET payee = $3",
                    3, q, NULL, err);
    }
    Atb__V1__PayeeAccountSet ev = ATB__V1__PAYEE_ACCOUNT_SET__INIT;
    if (c == AT_OK)
        c = pay_sql(t,
                    "UPDATE payments.orders SET status = 'scheduled', batch_id = NULL WHERE tenant = $1 AND payee = $2 "
                    "AND status = 'rejected' RETURNING order_id",
                    2, p, &r, err);
    if (c == AT_OK) {
        ev.n_requeued = (size_t)PQntuples(r);
        ev.requeued = at_arena_alloc(req->arena, (ev.n_requeued + 1) * sizeof(char *));
        for (size_t i = 0; ev.requeued && i < ev.n_requeued; i++)
            ev.requeued[i] = at_arena_strdup(req->arena, PQgetvalue(r, (int)i, 0));
        PQclear(r);
        if (!ev.requeued)
            c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    ev.payee = m->payee;
    ev.kind = m->kind;
    ev.benefits = m->benefits;
    ev.n_benefits = m->n_benefits;
    ev.corrected = corrected;
    es_event_in e;
    es_append_res res;
    char stream[80];
    snprintf(stream, sizeof stream, "payee-%s", m->payee);
    if (c == AT_OK)
        c = svc_pack(req->arena, &ev.base, "PayeeAccountSet", &e, err);
    if (c == AT_OK)
        c = pay_append(t, req->tenant, stream, req->expected_version, req->command_id, NULL, req->correlation_id,
                       req->actor, &e, 1, &res, err);
    if (c != AT_OK || res.duplicate) {
        es_txn_rollback(t);   /* a duplicate: the first command's rows stand, not this one's */
        if (c != AT_OK)
            return c;
    } else if ((c = pay_commit(t, err)) != AT_OK) {
        return c;
    }
    *reply = svc_reply_appended(req, stream, m->payee, &res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}

at_code payee_erase_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__ErasePayee *m = (Atb__V1__ErasePayee *)req->msg;
    at_code c = AT_OK;
    /* any kind of key: the one it was set under */
    if (!m->payee || !*m->payee || strlen(m->payee) > 120)
        return at_error_set(err, AT_VALIDATION, "payee", "payee is required");
    if (at_uuid_valid(m->payee) && (c = pay_check_key(m->payee, "payee", err)) != AT_OK)
        return c;
    es_txn *t;
    if ((c = pay_begin(req->es, &t, err)) != AT_OK)
        return c;
    const char *p[2] = {req->tenant, m->payee};
    PGresult *r = NULL;
    c = pay_sql(t, "DELETE FROM payments.payees WHERE tenant = $1 AND payee = $2 RETURNING 1", 2, p, &r, err);
    bool found = c == AT_OK && PQntuples(r) > 0;
    PQclear(r);
    if (c == AT_OK && !found) {
        es_txn_rollback(t);
        at_error_set(err, AT_NOT_FOUND, "payee", "no account of payee %.64s", m->payee);
        at_error_detail(err, "The municipality %s holds no name or account for it (never set, or erased).",
                        req->tenant);
        return AT_NOT_FOUND;
    }
    Atb__V1__PayeeErased ev = ATB__V1__PAYEE_ERASED__INIT;
    ev.payee = m->payee;
    if (c == AT_OK)
        c = pay_sql(t, "DELETE FROM payments.provider_benefits WHERE tenant = $1 AND payee = $2", 2, p, NULL, err);
    /* the files that name the payee; their SHA-256 stays, as the proof of what was sent */
    if (c == AT_OK)
        c = pay_sql(t,
                    "UPDATE payments.batches SET xml = NULL WHERE tenant = $1 AND xml IS NOT NULL AND batch_id IN "
                    "(SELECT bo.batch_id FROM payments.batch_orders bo JOIN payments.orders o USING (order_id) "
                    "WHERE o.tenant = $1 AND o.payee = $2) RETURNING 1",
                    2, p, &r, err);
    if (c == AT_OK) {
        ev.files_erased = PQntuples(r);
        PQclear(r);
    }
    es_event_in e;
    es_append_res res;
    char stream[160];
    snprintf(stream, sizeof stream, "payee-%s", m->payee);
    if (c == AT_OK)
        c = svc_pack(req->arena, &ev.base, "PayeeErased", &e, err);
    if (c == AT_OK)
        c = pay_append(t, req->tenant, stream, ES_VERSION_ANY, req->command_id, NULL, req->correlation_id,
                       req->actor, &e, 1, &res, err);
    if (c != AT_OK || res.duplicate) {
        es_txn_rollback(t);
        if (c != AT_OK)
            return c;
    } else if ((c = pay_commit(t, err)) != AT_OK) {
        return c;
    }
    *reply = svc_reply_appended(req, stream, m->payee, &res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}
