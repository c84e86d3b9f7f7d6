/*
 * payhelp.c -- see payhelp.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "at_date.h"
#include "at_uuid.h"
#include "payhelp.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void ph_prepare(ph *p)
{
    memset(p, 0, sizeof *p);
    sh_prepare(&p->sv);
    p->sv.exe = PAYMENTS_PATH;
    t_db_conninfo(&p->sv.db, "atb_payments", p->sv.pg_url, sizeof p->sv.pg_url);
    bus_config cfg = {.url = t_nats_url(), .prefix = p->sv.prefix, .stream = p->sv.stream, .name = "payments-test"};
    at_error err;
    if (bus_connect(&p->client, &cfg, &err) != AT_OK) {
        fprintf(stderr, "FATAL: bus_connect: %s\n", err.message);
        exit(1);
    }
    es_config ec = {.conninfo = p->sv.db.admin, .pool_size = 2};
    if (es_open(&p->es, &ec, &err) != ES_OK) {
        fprintf(stderr, "FATAL: es_open: %s %s\n", err.message, err.detail);
        exit(1);
    }
    p->relay = p->sv;
    p->relay.exe = RELAY_PATH;
    p->relay.pid = 0;
    p->relay.http_port = sh_free_port();
    t_db_conninfo(&p->sv.db, "atb_relay", p->relay.pg_url, sizeof p->relay.pg_url);
    const char *env[] = {"ATB_LOG_LEVEL=warn", NULL};
    sh_start(&p->relay, NULL, env, NULL, -1);
    if (!sh_wait_healthy(&p->relay, 30000)) {
        fprintf(stderr, "FATAL: atbalsts-relay did not become healthy\n");
        sh_kill(&p->relay);
        exit(1);
    }
}

bool ph_start(ph *p, const char *const *extra)
{
    const char *env[16] = {"ATB_MAX_MSG=262144", "ATB_LOG_LEVEL=warn"};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    sh_start(&p->sv, NULL, env, NULL, -1);
    if (!sh_wait_healthy(&p->sv, 30000)) {
        if (p->sv.pid > 0 && sh_wait_exit(p->sv.pid, 100) < 0)
            sh_kill(&p->sv);
        p->sv.pid = 0;
        return false;
    }
    return true;
}

int ph_stop(ph *p)
{
    if (p->sv.pid <= 0)
        return -1;
    kill(p->sv.pid, SIGTERM);
    int rc = sh_wait_exit(p->sv.pid, 30000);
    if (rc < 0)
        sh_kill(&p->sv);
    p->sv.pid = 0;
    return rc;
}

int ph_cleanup(ph *p)
{
    int rc = ph_stop(p);
    if (p->relay.pid > 0) {
        kill(p->relay.pid, SIGTERM);
        if (sh_wait_exit(p->relay.pid, 30000) < 0)
            sh_kill(&p->relay);
        p->relay.pid = 0;
    }
    es_close(p->es);
    bus_close(p->client);
    sh_cleanup(&p->sv);
    nats_Close();
    return rc;
}

natsMsg *ph_request(ph *p, const char *kind, const char *name, const ProtobufCMessage *msg, int timeout_ms)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s.%s.payments.%s", p->sv.prefix, kind, PH_TENANT, name);
    natsMsg *reply = NULL;
    at_error err;
    if (bus_request(p->client, subject, msg, timeout_ms, &reply, &err) != AT_OK)
        return NULL;
    return reply;
}

static natsMsg *request_retry(ph *p, const char *kind, const char *name, const ProtobufCMessage *msg)
{
    for (int i = 0; i < 50; i++) {
        natsMsg *r = ph_request(p, kind, name, msg, 20000);
        if (r)
            return r;
        sleep_ms(100);
    }
    fail_msg("no reply to %s", name);
    return NULL;
}

#define DECODE(type, fn, msgp)                                                                        \
    do {                                                                                              \
        natsMsg *r_ = (msgp);                                                                         \
        type *v_ = fn(NULL, (size_t)natsMsg_GetDataLength(r_), (const uint8_t *)natsMsg_GetData(r_)); \
        natsMsg_Destroy(r_);                                                                          \
        assert_non_null(v_);                                                                          \
        return v_;                                                                                    \
    } while (0)

Atb__V1__CommandReply *ph_cmd(ph *p, const char *name, const ProtobufCMessage *msg)
{
    DECODE(Atb__V1__CommandReply, atb__v1__command_reply__unpack, request_retry(p, "cmd", name, msg));
}

Atb__V1__BatchReply *ph_batch(ph *p, const char *name, const ProtobufCMessage *msg)
{
    DECODE(Atb__V1__BatchReply, atb__v1__batch_reply__unpack, request_retry(p, "cmd", name, msg));
}

Atb__V1__OrderList *ph_orders(ph *p, const char *name, const ProtobufCMessage *msg)
{
    DECODE(Atb__V1__OrderList, atb__v1__order_list__unpack, request_retry(p, "qry", name, msg));
}

Atb__V1__BudgetReport *ph_budget(ph *p, int y1, int m1, int d1, int y2, int m2, int d2)
{
    Atb__V1__BudgetExecution q = ATB__V1__BUDGET_EXECUTION__INIT;
    Atb__V1__Date f = ATB__V1__DATE__INIT, t = ATB__V1__DATE__INIT;
    f.year = y1, f.month = m1, f.day = d1;
    t.year = y2, t.month = m2, t.day = d2;
    q.from = &f;
    q.to = &t;
    DECODE(Atb__V1__BudgetReport, atb__v1__budget_report__unpack, request_retry(p, "qry", "BudgetExecution", &q.base));
}

int64_t ph_append(ph *p, const char *stream, const char *type, const ProtobufCMessage *body)
{
    size_t n = protobuf_c_message_get_packed_size(body);
    uint8_t *buf = malloc(n + 1);
    protobuf_c_message_pack(body, buf);
    char cmd[37];
    at_uuid_v4(cmd);
    es_event_in ev = {.type = type, .payload = buf, .payload_len = n};
    es_append_req rq = {.tenant = PH_TENANT, .stream_id = stream, .expected_version = ES_VERSION_ANY,
                        .command_id = cmd, .actor = "service:means", .events = &ev, .n_events = 1};
    es_append_res res;
    at_error err;
    es_status st = es_append(p->es, &rq, &res, &err);
    free(buf);
    if (st != ES_OK)
        fail_msg("es_append %s: %s %s", type, err.message, err.detail);
    return res.last_position;
}

int64_t ph_wait_sql(ph *p, int64_t want, int timeout_ms, const char *sql)
{
    PGconn *c = PQconnectdb(p->sv.db.admin);
    int64_t got = -1;
    for (int waited = 0;; waited += 50) {
        got = -1;
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            got = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (got == want || waited >= timeout_ms)
            break;
        sleep_ms(50);
    }
    PQfinish(c);
    return got;
}

int64_t ph_sql(ph *p, const char *sql)
{
    return sh_sql(&p->sv, sql);
}

void ph_date(Atb__V1__Date *d, const char *s)
{
    atb__v1__date__init(d);
    if (!s || !*s)
        return;
    at_date x;
    if (at_date_parse(s, "date", &x, NULL) != AT_OK)
        fail_msg("bad date %s", s);
    int y, m, dd;
    at_date_to_ymd(x, &y, &m, &dd);
    d->year = y, d->month = m, d->day = dd;
}

void ph_meta(Atb__V1__CommandMeta *m, char id[37])
{
    atb__v1__command_meta__init(m);
    at_uuid_v4(id);
    m->command_id = id;
    m->actor = "user:test.kasiere";
}

int64_t ph_grant(ph *p, const char *application_id, int ask, const char *person, const char *benefit,
                 int64_t amount, Atb__V1__AmountPer per, Atb__V1__PaymentForm form, const char *from, const char *to,
                 const char *decided)
{
    Atb__V1__Date df, dt, dd;
    ph_date(&df, from);
    ph_date(&dt, to);
    ph_date(&dd, decided);
    Atb__V1__Ask a = ATB__V1__ASK__INIT;
    a.kind = ATB__V1__ASK_KIND__ASK_KIND_BENEFIT;
    a.benefit = (char *)benefit;
    a.subject = (char *)person;
    Atb__V1__DecisionInput in = ATB__V1__DECISION_INPUT__INIT;
    in.tenant = PH_TENANT;
    in.application_id = (char *)application_id;
    in.decision_date = &dd;
    in.applicant = (char *)person;
    in.ask_index = ask;
    in.ask = &a;
    Atb__V1__DecisionResult r = ATB__V1__DECISION_RESULT__INIT;
    r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    r.ask = a.kind;
    r.benefit = (char *)benefit;
    r.period_from = &df;
    r.period_to = to && *to ? &dt : NULL;
    r.has_amount = true;
    r.amount_cents = amount;
    r.per = per;
    r.payment = form;
    Atb__V1__Decision d = ATB__V1__DECISION__INIT;
    d.application_id = (char *)application_id;
    d.ask_index = ask;
    d.input = &in;
    d.result = &r;
    Atb__V1__BenefitGranted bg = ATB__V1__BENEFIT_GRANTED__INIT;
    bg.decision = &d;
    char stream[80];
    snprintf(stream, sizeof stream, "decision-%s", application_id);
    return ph_append(p, stream, "BenefitGranted", &bg.base);
}

int64_t ph_override(ph *p, const char *application_id, int ask, const char *benefit, int64_t result_amount,
                    Atb__V1__AmountPer per, const char *from, const char *to, const char *decided)
{
    Atb__V1__Date df, dt, dd;
    ph_date(&df, from);
    ph_date(&dt, to);
    ph_date(&dd, decided);
    Atb__V1__DecisionResult r = ATB__V1__DECISION_RESULT__INIT;
    r.benefit = (char *)benefit;
    if (result_amount > 0) {
        r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
        r.has_amount = true;
        r.amount_cents = result_amount;
        r.per = per;
        r.period_from = &df;
        r.period_to = &dt;
        r.payment = ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT;
    } else {
        r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED;
    }
    Atb__V1__DecisionOverridden o = ATB__V1__DECISION_OVERRIDDEN__INIT;
    o.application_id = (char *)application_id;
    o.ask_index = ask;
    o.kind = ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_CORRECTION;
    o.decided_by = "commission:social-assistance";
    o.decided_on = &dd;
    o.result = &r;
    char stream[80];
    snprintf(stream, sizeof stream, "decision-%s", application_id);
    return ph_append(p, stream, "DecisionOverridden", &o.base);
}

Atb__V1__CommandReply *ph_set_payee(ph *p, const char *payee, Atb__V1__PayeeKind kind, const char *name,
                                    const char *iban, const char *benefit)
{
    char id[37];
    Atb__V1__CommandMeta meta;
    ph_meta(&meta, id);
    Atb__V1__SetPayeeAccount c = ATB__V1__SET_PAYEE_ACCOUNT__INIT;
    c.meta = &meta;
    c.payee = (char *)payee;
    c.kind = kind;
    c.name = (char *)name;
    c.iban = (char *)iban;
    char *b[1] = {(char *)benefit};
    if (benefit) {
        c.benefits = b;
        c.n_benefits = 1;
    }
    return ph_cmd(p, "SetPayeeAccount", &c.base);
}

char *ph_export(ph *p, const char *batch_id, size_t *len, bool *duplicate, int *code)
{
    char id[37];
    Atb__V1__CommandMeta meta;
    ph_meta(&meta, id);
    Atb__V1__ExportBatch c = ATB__V1__EXPORT_BATCH__INIT;
    c.meta = &meta;
    c.batch_id = (char *)batch_id;
    char *out = NULL;
    size_t n = 0;
    for (;;) {
        c.offset = (int64_t)n;
        at_uuid_v4(id);
        Atb__V1__BatchReply *r = ph_batch(p, "ExportBatch", &c.base);
        if (r->error && r->error->code) {
            *code = r->error->code;
            fprintf(stderr, "export: %s\n", r->error->message);
            atb__v1__batch_reply__free_unpacked(r, NULL);
            free(out);
            return NULL;
        }
        if (n == 0 && duplicate)
            *duplicate = r->duplicate;
        out = realloc(out, n + r->xml.len + 1);
        memcpy(out + n, r->xml.data, r->xml.len);
        n += r->xml.len;
        out[n] = '\0';
        bool done = (int64_t)n >= r->xml_total || r->xml.len == 0;
        atb__v1__batch_reply__free_unpacked(r, NULL);
        if (done)
            break;
    }
    *len = n;
    *code = 0;
    return out;
}

void ph_lv_iban(const char *bank, const char *account, char out[32])
{
    char bban[18], digits[64];
    snprintf(bban, sizeof bban, "%s%s", bank, account);
    size_t k = 0;
    const char *parts[2] = {bban, "LV00"};
    for (int p = 0; p < 2; p++)
        for (const char *c = parts[p]; *c; c++)
            k += (size_t)(*c >= 'A' ? snprintf(digits + k, 3, "%d", *c - 'A' + 10) : snprintf(digits + k, 2, "%c", *c));
    int mod = 0;
    for (size_t i = 0; i < k; i++)
        mod = (mod * 10 + (digits[i] - '0')) % 97;
    snprintf(out, 32, "LV%02d%s", 98 - mod, bban);
}

void ph_prepare_with_debtor(ph *p)
{
    t_require_servers(1);
    ph_prepare(p);
    if (!ph_start(p, NULL))
        fail_msg("atbalsts-payments did not start");
    char debtor[37], iban[32];
    at_uuid_v4(debtor);
    ph_lv_iban("PARX", "0000000000001", iban);
    Atb__V1__CommandReply *r = ph_set_payee(p, debtor, ATB__V1__PAYEE_KIND__PAYEE_KIND_DEBTOR,
                                            "Daugavpils pilsētas Sociālais dienests", iban, NULL);
    assert_true(!r->error || r->error->code == 0);
    atb__v1__command_reply__free_unpacked(r, NULL);
}

int64_t ph_sqlf(ph *p, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return ph_sql(p, sql);
}

int64_t ph_wait_sqlf(ph *p, int64_t want, int timeout_ms, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return ph_wait_sql(p, want, timeout_ms, sql);
}
