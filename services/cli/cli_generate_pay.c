/*
 * cli_generate_pay.c -- the money and the report of a generated year (cli_generate.h):
 * payee accounts, twelve monthly batches with their pain.001 files and the bank's reports,
 * and the year's AssistanceReport once reporting's projections hold every decision.
 *
 * Accounts come from the plan and the decisions, not from the orders still scheduled, so a
 * second run of the seed sends the same commands.
 */
#include "cli_generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_time.h"

#include "at_uuid.h"
#include "atb/v1/payments.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

/* Namespace of the municipality's own (debtor) account key. */
#define GEN_DEBTOR_NS "b7a1c3e5-2d4f-4a6b-8c9d-0e1f2a3b4c5d"

/* ---- payments ---------------------------------------------------------------------- */

/* A Latvian IBAN with a valid check (ISO 13616), its account number from `serial`. */
static void make_iban(uint64_t serial, char out[22])
{
    char bban[18];
    snprintf(bban, sizeof bban, "HABA%013llu", (unsigned long long)(serial % 10000000000000ULL));
    char digits[64];
    size_t n = 0;
    const char *parts[2] = {bban, "LV00"};
    for (int k = 0; k < 2; k++)
        for (const char *p = parts[k]; *p; p++)
            n += (size_t)snprintf(digits + n, sizeof digits - n, "%d", *p >= 'A' ? *p - 'A' + 10 : *p - '0');
    unsigned rem = 0;
    for (size_t i = 0; i < n; i++)
        rem = (rem * 10 + (unsigned)(digits[i] - '0')) % 97;
    snprintf(out, 22, "LV%02u%s", 98 - rem, bban);
}

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static Atb__V1__OrderList *due_orders(gen_year *u, const char *tenant, at_date due)
{
    Atb__V1__Date d;
    Atb__V1__ListDueOrders q = ATB__V1__LIST_DUE_ORDERS__INIT;
    if (due)
        q.due = gen_date(&d, due);
    ProtobufCMessage *m = NULL;
    if (gen_query(u->g, tenant, "payments", "ListDueOrders", &q.base, &atb__v1__order_list__descriptor, &m) != CLI_OK)
        return NULL;
    if (cli_refused(((Atb__V1__OrderList *)m)->error)) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return (Atb__V1__OrderList *)m;
}

static bool set_payee(gen_year *u, const char *tenant, const char *payee, Atb__V1__PayeeKind kind, const char *name)
{
    char iban[22], what[120];
    make_iban(hash_text(payee), iban);
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__SetPayeeAccount sp = ATB__V1__SET_PAYEE_ACCOUNT__INIT;
    sp.meta = &meta;
    sp.payee = (char *)payee;
    sp.kind = kind;
    sp.name = (char *)name;
    sp.iban = iban;
    snprintf(what, sizeof what, "payee/%s", payee);
    bool ok = gen_cmd(u->g, tenant, "payments", "SetPayeeAccount", &sp.base, &meta, what, 0, NULL) == AT_OK;
    if (ok) {
        pthread_mutex_lock(&u->mu);
        u->r->payees++;
        pthread_mutex_unlock(&u->mu);
    }
    return ok;
}

/* Accounts for the applicant of every household granted GMI (the orders pay the
 * applicant: docs/payments.md), and for the providers and municipalities the town's
 * services are bought from. Taken from the plan and the decisions, not from the orders
 * still scheduled, so a second run of the seed sends the same commands. */
static void payees(gen_year *u, int town)
{
    const gen_town *t = &u->pl->preset->towns[town];
    for (int i = 0; i < u->pl->nh; i++) {
        const gen_household *h = &u->pl->h[i];
        if (h->town != town || !h->gmi)
            continue;
        const gen_person *p = &u->pl->p[h->applicant];
        char name[160];
        snprintf(name, sizeof name, "%s %s", p->given, p->family);
        set_payee(u, t->tenant, p->key, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON, name);
        gen_step(u->g);
    }
    gen_service crisis_unit = {"crisis_centre", t->crisis_owner, t->crisis_provider, 0, false};
    const gen_service *units[3] = {&t->care, &t->winter, t->crisis_owner ? &crisis_unit : NULL};
    for (int k = 0; k < 3; k++) {
        if (!units[k] || !units[k]->service)
            continue;
        char payee[160], name[200];
        if (strcmp(units[k]->owner, t->tenant) == 0) {
            snprintf(payee, sizeof payee, "provider:%s.%s", units[k]->owner, units[k]->provider);
            snprintf(name, sizeof name, "Pakalpojumu sniedzējs %s.%s", units[k]->owner, units[k]->provider);
            set_payee(u, t->tenant, payee, ATB__V1__PAYEE_KIND__PAYEE_KIND_PROVIDER, name);
        } else {
            snprintf(payee, sizeof payee, "municipality:%s", units[k]->owner);
            snprintf(name, sizeof name, "Pašvaldība %s", units[k]->owner);
            set_payee(u, t->tenant, payee, ATB__V1__PAYEE_KIND__PAYEE_KIND_MUNICIPALITY, name);
        }
    }
}

/* One month's batch: created, exported (the file written when --out is given), and the
 * bank's report with every order executed. */
static void month_batch(gen_year *u, int town, int month)
{
    const char *tenant = u->pl->preset->towns[town].tenant;
    at_date due = at_month_last(gen_ymd(GEN_YEAR, month, 1));
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date d;
    Atb__V1__CreateBatch cb = ATB__V1__CREATE_BATCH__INIT;
    cb.meta = &meta;
    cb.due = gen_date(&d, due);
    ProtobufCMessage *m = NULL;
    if (gen_send(u->g, tenant, "payments", "CreateBatch", &cb.base, &meta, "batch", month,
                 &atb__v1__batch_reply__descriptor, AT_NOT_FOUND, &m) != AT_OK) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return;   /* NOT_FOUND: no orders due by the month's end */
    }
    const Atb__V1__BatchReply *b = (const Atb__V1__BatchReply *)m;
    char batch[64];
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    int count = b->count;
    protobuf_c_message_free_unpacked(m, NULL);

    char path[512] = "", name[64];
    snprintf(name, sizeof name, "%s-%d-%02d-pain001.xml", tenant, GEN_YEAR, month);
    FILE *f = NULL;
    if (u->o->out_dir) {
        snprintf(path, sizeof path, "%s/%s", u->o->out_dir, name);
        f = fopen(path, "wb");
        if (!f)
            fprintf(stderr, "atbalsts: generate: cannot write \"%s\"\n", path);
    }
    int64_t size = 0, total = -1;
    for (int piece = 0; total < 0 || size < total; piece++) {
        Atb__V1__ExportBatch eb = ATB__V1__EXPORT_BATCH__INIT;
        eb.meta = &meta;
        eb.batch_id = batch;
        eb.offset = size;
        char what[48];
        snprintf(what, sizeof what, "export/%d", month);
        if (gen_send(u->g, tenant, "payments", "ExportBatch", &eb.base, &meta, what, piece,
                     &atb__v1__batch_reply__descriptor, -1, &m) != AT_OK || ((Atb__V1__BatchReply *)m)->xml.len == 0) {
            if (m)
                protobuf_c_message_free_unpacked(m, NULL);
            break;
        }
        b = (const Atb__V1__BatchReply *)m;
        if (f)
            fwrite(b->xml.data, 1, b->xml.len, f);
        size += (int64_t)b->xml.len;
        total = b->xml_total;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    if (f && fclose(f) != 0)
        fprintf(stderr, "atbalsts: generate: could not write \"%s\"\n", path);

    Atb__V1__ImportConfirmation ic = ATB__V1__IMPORT_CONFIRMATION__INIT;
    char report[36];
    snprintf(report, sizeof report, "BANK-%.10s-%d%02d", tenant, GEN_YEAR, month);
    ic.meta = &meta;
    ic.batch_id = batch;
    ic.report_id = report;
    if (gen_send(u->g, tenant, "payments", "ImportConfirmation", &ic.base, &meta, "confirm", month,
                 &atb__v1__batch_reply__descriptor, -1, &m) == AT_OK) {
        b = (const Atb__V1__BatchReply *)m;
        pthread_mutex_lock(&u->mu);
        u->r->batches++;
        u->r->batched += count;
        u->r->paid += b->paid;
        if (size > 0 && u->o->out_dir && u->r->n_files < GEN_MAX_TENANTS * 12)
            snprintf(u->r->files[u->r->n_files / 12][u->r->n_files % 12], 64, "%s", name), u->r->n_files++;
        pthread_mutex_unlock(&u->mu);
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

void gen_payments_town(void *arg, long town)
{
    gen_year *u = arg;
    const char *tenant = u->pl->preset->towns[town].tenant;
    /* Wait until the schedule stops growing: payments' consumer follows the decisions. */
    Atb__V1__OrderList *l = NULL;
    size_t last = (size_t)-1;
    int stable = 0;
    int64_t deadline = at_mono_ns() + (int64_t)u->o->wait_seconds * 1000000000LL;
    while (stable < 3 && at_mono_ns() < deadline) {
        if (l)
            protobuf_c_message_free_unpacked(&l->base, NULL);
        if (!(l = due_orders(u, tenant, 0)))
            return;
        stable = l->n_orders == last ? stable + 1 : 0;
        last = l->n_orders;
        gen_sleep_ms(700);
    }
    if (!l)
        return;
    pthread_mutex_lock(&u->mu);
    u->r->orders += (long)l->n_orders;
    pthread_mutex_unlock(&u->mu);
    payees(u, (int)town);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    char debtor[37], name[120];
    at_uuid_derive(GEN_DEBTOR_NS, tenant, debtor);
    snprintf(name, sizeof name, "Sociālais dienests (%s)", tenant);
    set_payee(u, tenant, debtor, ATB__V1__PAYEE_KIND__PAYEE_KIND_DEBTOR, name);
    for (int month = 1; month <= 12; month++)
        month_batch(u, (int)town, month);
}

/* ---- the report -------------------------------------------------------------------- */

/* The year's AssistanceReport of the preset's municipalities into *out (free it), or
 * CLI_UNREACHABLE. */
static int year_report(gen_year *u, Atb__V1__AssistanceReportReply **out)
{
    Atb__V1__AssistanceReport q = ATB__V1__ASSISTANCE_REPORT__INIT;
    char *tenants[GEN_MAX_TENANTS];
    for (int t = 0; t < u->pl->preset->n_towns; t++)
        tenants[t] = (char *)u->pl->preset->towns[t].tenant;
    Atb__V1__Date from, to;
    q.n_tenants = (size_t)u->pl->preset->n_towns;
    q.tenants = tenants;
    q.from = gen_date(&from, gen_ymd(GEN_YEAR, 1, 1));
    q.to = gen_date(&to, gen_ymd(GEN_YEAR, 12, 31));
    return gen_query(u->g, tenants[0], "reporting", "AssistanceReport", &q.base,
                     &atb__v1__assistance_report_reply__descriptor, (ProtobufCMessage **)out);
}

int64_t gen_decided_in_report(gen_year *u)
{
    Atb__V1__AssistanceReportReply *r = NULL;
    if (year_report(u, &r) != CLI_OK)
        return -1;
    int64_t n = !cli_refused(r->error) && r->total ? r->total->applications_decided : -1;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return n;
}

void gen_report(gen_year *u, bool keep)
{
    /* Reporting's projections follow the log: wait until they hold every application this
     * run saw decided (those an earlier run of the seed decided are counted already). */
    int64_t fresh = 0;
    for (int i = 0; i < u->pl->nh; i++)
        fresh += u->pl->h[i].decided == 1 && !u->pl->h[i].rerun;
    int64_t deadline = at_mono_ns() + (int64_t)u->o->wait_seconds * 1000000000LL;
    for (;;) {
        Atb__V1__AssistanceReportReply *r = NULL;
        if (year_report(u, &r) != CLI_OK)
            return;
        bool ok = !cli_refused(r->error) && r->total;
        bool caught_up = ok && r->decisions_position >= u->r->last_decision_position &&
                         r->total->applications_decided - (u->decided_before > 0 ? u->decided_before : 0) >= fresh;
        if (ok && (caught_up || at_mono_ns() > deadline)) {
            if (keep)
                u->r->report = cli_pb_to_json(&r->base);
            protobuf_c_message_free_unpacked(&r->base, NULL);
            return;
        }
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (!ok || at_mono_ns() > deadline)
            return;
        gen_sleep_ms(500);
    }
}
