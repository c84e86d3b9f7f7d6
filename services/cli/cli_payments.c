/*
 * cli_payments.c -- atbalsts payment ...: the payments service's commands and queries
 * (docs/payments.md). Accounts of payees, due orders, batches and their pain.001 files, the
 * bank's report, cash at the office, a client's history, budget execution.
 *
 * The file of a batch can be larger than one reply: `payment export` asks for it piece by
 * piece (ExportBatch.offset) and writes the pieces in order, then checks the whole file's
 * size and SHA-256 against the service's.
 */
#include "cli.h"
#include "cli_pain002.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atb/v1/payments.pb-c.h"

static int pay_payee(cli *c, const cli_sub *s, int argc, char **argv);
static int pay_erase(cli *c, const cli_sub *s, int argc, char **argv);
static int pay_due(cli *c, const cli_sub *s, int argc, char **argv);
static int pay_batch(cli *c, const cli_sub *s, int argc, char **argv);
static int pay_export(cli *c, const cli_sub *s, int argc, char **argv);
static int pay_confirm(cli *c, const cli_sub *s, int argc, char **argv);
static int pay_cash(cli *c, const cli_sub *s, int argc, char **argv);
static int pay_history(cli *c, const cli_sub *s, int argc, char **argv);
static int pay_budget(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"payee", pay_payee,
     "payment payee KEY --kind person|provider|municipality|debtor --name NAME --iban IBAN\n"
     "        [--bic BIC] [--benefit CODE ...]",
     "Sets or corrects where a payee is paid: a person (KEY = the person key), a provider\n"
     "(with the benefit codes it is paid for), another municipality, or the municipality's\n"
     "own account (debtor). Orders the bank rejected for this payee are queued again.\n"},
    {"erase", pay_erase, "payment erase KEY",
     "Erases a payee's name and account, and the stored batch files that name them (their\n"
     "SHA-256 stays). Its unpaid orders wait until an account is set again.\n"},
    {"due", pay_due, "payment due [--by YYYY-MM-DD]",
     "Lists the scheduled orders due on or before the date (all when not given).\n"},
    {"batch", pay_batch, "payment batch --due YYYY-MM-DD [--execution YYYY-MM-DD]",
     "Collects the credit transfers due by the date into a new batch. Prints its id, count\n"
     "and control sum. Retry with --command-id to get the same batch.\n"},
    {"export", pay_export, "payment export BATCH [--out FILE]",
     "Writes the batch's pain.001.001.03 file (stdout unless --out). The same file every\n"
     "time; the first export records it.\n"},
    {"confirm", pay_confirm,
     "payment confirm BATCH --report ID [--reject ORDER:REASON ...]\n"
     "       payment confirm [BATCH] --file REPORT.xml",
     "Records the bank's status report: every order not rejected was paid. ORDER is the\n"
     "EndToEndId or the order id, REASON the ISO 20022 code (AC01, AC04, ...). With --file,\n"
     "the bank's pain.002.001.03 file (\"-\" = standard input): its OrgnlMsgId names the batch,\n"
     "its transactions (TxSts RJCT with the reason code) the rejected orders. A file that is\n"
     "not a final pain.002.001.03 report of one of our batches is refused; nothing is recorded.\n"},
    {"cash", pay_cash, "payment cash ORDER --on YYYY-MM-DD",
     "Records a client's order as paid in cash at the office.\n"},
    {"history", pay_history, "payment history PERSON",
     "Shows every order of a person (with what was kept back for recovery claims) and the\n"
     "recovery claims against them with what is collected and what is left.\n"},
    {"budget", pay_budget, "payment budget --from YYYY-MM-DD --to YYYY-MM-DD",
     "Budget execution by EKK code and funding source: paid and recovered, from the log.\n"},
};

int cli_payments(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "payment", "Payments: accounts, batches, the bank's reports, budget execution.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

static const char *const kinds[] = {"", "person", "provider", "municipality", "debtor"};
static const char *const channels[] = {"", "account", "cash", "provider", "municipality"};
static const char *const statuses[] = {"", "scheduled", "batched", "paid", "rejected", "cancelled"};
static const char *const fundings[] = {"", "municipal", "state", "eu"};

static const char *name_of(const char *const *names, int n, int v)
{
    return v > 0 && v < n ? names[v] : "?";
}

static void meta_of(cli *c, Atb__V1__CommandMeta *meta, char id[37])
{
    atb__v1__command_meta__init(meta);
    cli_meta(c, meta, id);
    if (c->command_id)
        meta->command_id = (char *)c->command_id;
    snprintf(c->last_id, sizeof c->last_id, "%s", meta->command_id);
}

/* Send and decode; prints the refusal. CLI_OK with *out set, else the exit code. */
static int call(cli *c, const char *kind, const char *name, const ProtobufCMessage *m,
                const ProtobufCMessageDescriptor *reply, ProtobufCMessage **out)
{
    int rc = cli_call(c, kind, c->tenant, "payments", name, m, reply, out);
    if (rc != CLI_OK)
        return rc;
    /* every reply has atb.v1.Error at field 1 */
    Atb__V1__Error *e = NULL;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(reply, 1);
    if (f)
        e = *(Atb__V1__Error **)((char *)*out + f->offset);
    if (cli_refused(e)) {
        rc = cli_print_error(c, e, NULL);
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}

static void money(int64_t cents, char *buf, size_t n)
{
    snprintf(buf, n, "%s%lld.%02lld", cents < 0 ? "-" : "", (long long)(cents < 0 ? -cents : cents) / 100,
             (long long)(cents < 0 ? -cents : cents) % 100);
}

static void date_text(const Atb__V1__Date *d, char *buf, size_t n)
{
    if (!d || !d->year)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%04d-%02d-%02d", (int)d->year, (int)d->month, (int)d->day);
}

static int print_orders(cli *c, Atb__V1__OrderList *l)
{
    if (c->json) {
        cli_print_json(cli_pb_to_json(&l->base));
        return CLI_OK;
    }
    char a[24], due[11], f[11], t[11];
    for (size_t i = 0; i < l->n_orders; i++) {
        Atb__V1__PaymentOrder *o = l->orders[i];
        money(o->amount_cents, a, sizeof a);
        date_text(o->due, due, sizeof due);
        date_text(o->period_from, f, sizeof f);
        date_text(o->period_to, t, sizeof t);
        printf("%s  %10s  due %s  %s..%s  %-9s %-12s %s EKK %s %s%s%s", o->order_id, a, due, f, t,
               name_of(statuses, 6, o->status), name_of(channels, 5, o->channel), o->benefit, o->budget_code,
               name_of(fundings, 4, o->funding), o->reject_reason[0] ? " rejected " : "", o->reject_reason);
        if (o->offset_cents > 0) {
            char k[24], sent[24];
            money(o->offset_cents, k, sizeof k);
            money(o->amount_cents - o->offset_cents, sent, sizeof sent);
            printf("  kept back %s for claims, sent %s", k, sent);
        }
        printf("\n");
    }
    for (size_t i = 0; i < l->n_recoveries; i++) {
        Atb__V1__RecoveryClaimed *r = l->recoveries[i];
        money(r->amount_cents, a, sizeof a);
        date_text(r->period_from, f, sizeof f);
        date_text(r->period_to, t, sizeof t);
        char got[24], left[24];
        money(r->collected_cents, got, sizeof got);
        money(r->amount_cents - r->collected_cents, left, sizeof left);
        printf("claim %s  %10s  %s..%s  grant %s  collected %s  balance %s\n", r->claim_id, a, f, t, r->grant, got,
               left);
    }
    money(l->total_cents, a, sizeof a);
    printf("%zu orders, %s\n", l->n_orders, a);
    return CLI_OK;
}

static int pay_payee(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"kind", required_argument, 0, 'k'}, {"name", required_argument, 0, 'n'},
                                         {"iban", required_argument, 0, 'i'}, {"bic", required_argument, 0, 'b'},
                                         {"benefit", required_argument, 0, 'B'}, CLI_COMMON_OPTIONS};
    Atb__V1__SetPayeeAccount cmd = ATB__V1__SET_PAYEE_ACCOUNT__INIT;
    cli_bare b = {0};
    cli_list benefits = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, b.last, optarg, 1); break;
        case 'k':
            for (int k = 1; k < 5; k++)
                if (strcmp(optarg, kinds[k]) == 0)
                    cmd.kind = (Atb__V1__PayeeKind)k;
            if (!cmd.kind)
                rc = cli_usage_error(s, "--kind: \"%s\" is not person, provider, municipality or debtor", optarg);
            break;
        case 'n': cmd.name = optarg; break;
        case 'i': cmd.iban = optarg; break;
        case 'b': cmd.bic = optarg; break;
        case 'B': rc = cli_list_opt(s, &b, &benefits, optarg); break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1 || !cmd.kind || !*cmd.name || !*cmd.iban)
        return cli_usage_error(s, "needs the payee key, --kind, --name and --iban");
    cmd.payee = (char *)b.pos[0];
    cmd.benefits = benefits.items;
    cmd.n_benefits = benefits.n;
    Atb__V1__CommandMeta meta;
    char id[37];
    meta_of(c, &meta, id);
    cmd.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = call(c, "cmd", "SetPayeeAccount", &cmd.base, &atb__v1__command_reply__descriptor, (ProtobufCMessage **)&r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "account set for payee", "payee", cmd.payee);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    free(benefits.items);
    return rc;
}

static int pay_erase(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1)
        rc = o == 1 ? cli_bare_word(s, &b, NULL, optarg, 1) : cli_option(c, s, o, optarg);
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1)
        return cli_usage_error(s, "needs the payee key");
    Atb__V1__ErasePayee cmd = ATB__V1__ERASE_PAYEE__INIT;
    cmd.payee = (char *)b.pos[0];
    Atb__V1__CommandMeta meta;
    char id[37];
    meta_of(c, &meta, id);
    cmd.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = call(c, "cmd", "ErasePayee", &cmd.base, &atb__v1__command_reply__descriptor, (ProtobufCMessage **)&r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "erased payee", "payee", cmd.payee);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int pay_due(cli *c, const cli_sub *s, int argc, char **argv)
{
    Atb__V1__ListDueOrders q = ATB__V1__LIST_DUE_ORDERS__INIT;
    Atb__V1__Date by = ATB__V1__DATE__INIT;
    bool dated;
    int rc = cli_date_only_args(c, s, argc, argv, "by", &by, &dated);
    if (rc != CLI_NEXT)
        return rc;
    if (dated)
        q.due = &by;
    Atb__V1__OrderList *l = NULL;
    rc = call(c, "qry", "ListDueOrders", &q.base, &atb__v1__order_list__descriptor, (ProtobufCMessage **)&l);
    if (rc == CLI_OK)
        rc = print_orders(c, l);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)l, NULL);
    return rc;
}

static int print_batch(cli *c, const Atb__V1__BatchReply *r, const char *done)
{
    if (c->json) {
        cli_print_json(cli_pb_to_json(&r->base));
        return CLI_OK;
    }
    char sum[24];
    money(r->control_sum_cents, sum, sizeof sum);
    printf("%s %s: %d orders, %s EUR%s", done, r->batch_id, r->count, sum, r->duplicate ? " (done before)" : "");
    if (r->paid || r->rejected)
        printf("; %d paid, %d rejected", r->paid, r->rejected);
    printf("\n");
    return CLI_OK;
}

static int pay_batch(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"due", required_argument, 0, 'd'},
                                         {"execution", required_argument, 0, 'e'}, CLI_COMMON_OPTIONS};
    Atb__V1__CreateBatch cmd = ATB__V1__CREATE_BATCH__INIT;
    Atb__V1__Date due = ATB__V1__DATE__INIT, exec = ATB__V1__DATE__INIT;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            if ((rc = cli_opt_date(s, "due", optarg, &due)) == CLI_NEXT)
                cmd.due = &due;
            break;
        case 'e':
            if ((rc = cli_opt_date(s, "execution", optarg, &exec)) == CLI_NEXT)
                cmd.execution_date = &exec;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (!cmd.due)
        return cli_usage_error(s, "needs --due");
    Atb__V1__CommandMeta meta;
    char id[37];
    meta_of(c, &meta, id);
    cmd.meta = &meta;
    Atb__V1__BatchReply *r = NULL;
    rc = call(c, "cmd", "CreateBatch", &cmd.base, &atb__v1__batch_reply__descriptor, (ProtobufCMessage **)&r);
    if (rc == CLI_OK)
        rc = print_batch(c, r, "batch");
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int pay_export(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, CLI_COMMON_OPTIONS};
    const char *out = NULL;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        if (o == 1)
            rc = cli_bare_word(s, &b, NULL, optarg, 1);
        else if (o == 'o')
            out = optarg;
        else
            rc = cli_option(c, s, o, optarg);
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1)
        return cli_usage_error(s, "needs the batch id");
    FILE *f = out ? fopen(out, "wb") : stdout;
    if (!f)
        return cli_usage_error(s, "--out: cannot write %s", out);
    int64_t off = 0, total = 0;
    for (;;) {
        Atb__V1__CommandMeta meta;
        char id[37];
        meta_of(c, &meta, id);
        Atb__V1__ExportBatch cmd = ATB__V1__EXPORT_BATCH__INIT;
        cmd.meta = &meta;
        cmd.batch_id = (char *)b.pos[0];
        cmd.offset = off;
        Atb__V1__BatchReply *r = NULL;
        rc = call(c, "cmd", "ExportBatch", &cmd.base, &atb__v1__batch_reply__descriptor, (ProtobufCMessage **)&r);
        if (rc != CLI_OK)
            break;
        fwrite(r->xml.data, 1, r->xml.len, f);
        off += (int64_t)r->xml.len;
        total = r->xml_total;
        bool done = off >= total || r->xml.len == 0;
        if (done && out)
            fprintf(stderr, "wrote %s: %lld bytes, %d orders, SHA-256 %s\n", out, (long long)off, r->count,
                    r->xml_sha256);
        protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
        if (done)
            break;
    }
    if (out)
        fclose(f);
    if (rc == CLI_OK && off != total) {
        fprintf(stderr, "ERROR:  the file came incomplete (%lld of %lld bytes)\n", (long long)off, (long long)total);
        rc = CLI_UNREACHABLE;
    }
    return rc;
}

/* Send ImportConfirmation (its meta filled here) and print the batch it leaves. */
static int send_confirmation(cli *c, Atb__V1__ImportConfirmation *cmd)
{
    Atb__V1__CommandMeta meta;
    char id[37];
    meta_of(c, &meta, id);
    cmd->meta = &meta;
    Atb__V1__BatchReply *r = NULL;
    int rc = call(c, "cmd", "ImportConfirmation", &cmd->base, &atb__v1__batch_reply__descriptor,
                  (ProtobufCMessage **)&r);
    if (rc == CLI_OK)
        rc = print_batch(c, r, "confirmed batch");
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    cmd->meta = NULL;   /* meta lives on this stack frame */
    return rc;
}

/* ImportConfirmation from the bank's pain.002 file. */
static int confirm_file(cli *c, const cli_sub *s, const char *file, const char *batch)
{
    Atb__V1__ImportConfirmation cmd = ATB__V1__IMPORT_CONFIRMATION__INIT;
    cli_pain002 p;
    int rc = cli_pain002_load(s, file, batch, &cmd, &p);
    if (rc == CLI_NEXT) {
        rc = send_confirmation(c, &cmd);
    }
    cli_pain002_free(&p);
    return rc;
}

static int pay_confirm(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"report", required_argument, 0, 'r'},
                                         {"reject", required_argument, 0, 'x'},
                                         {"file", required_argument, 0, 'f'}, CLI_COMMON_OPTIONS};
    Atb__V1__ImportConfirmation cmd = ATB__V1__IMPORT_CONFIRMATION__INIT;
    cli_bare b = {0};
    cli_list rejects = {0};
    const char *file = NULL;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, b.last, optarg, 1); break;
        case 'r': cmd.report_id = optarg; break;
        case 'x': rc = cli_list_opt(s, &b, &rejects, optarg); break;
        case 'f': file = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (file) {
        bool mixed = *cmd.report_id || rejects.n;
        free(rejects.items);
        if (mixed)
            return cli_usage_error(s, "--file gives the report id and the rejections itself");
        return confirm_file(c, s, file, b.n ? b.pos[0] : NULL);
    }
    if (b.n != 1 || !*cmd.report_id)
        return cli_usage_error(s, "needs the batch id and --report, or --file");
    Atb__V1__OrderResult *res = calloc(rejects.n + 1, sizeof *res);
    Atb__V1__OrderResult **rp = calloc(rejects.n + 1, sizeof *rp);
    for (size_t i = 0; rc == CLI_NEXT && i < rejects.n; i++) {
        char *colon = strchr(rejects.items[i], ':');
        if (!colon) {
            rc = cli_usage_error(s, "--reject \"%s\": write ORDER:REASON, e.g. ...:AC01", rejects.items[i]);
            break;
        }
        *colon = '\0';
        atb__v1__order_result__init(&res[i]);
        res[i].end_to_end_id = rejects.items[i];
        res[i].rejected = true;
        res[i].reason = colon + 1;
        rp[i] = &res[i];
    }
    if (rc == CLI_NEXT) {
        cmd.batch_id = (char *)b.pos[0];
        cmd.results = rp;
        cmd.n_results = rejects.n;
        rc = send_confirmation(c, &cmd);
    }
    free(res);
    free(rp);
    free(rejects.items);
    return rc;
}

static int pay_cash(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"on", required_argument, 0, 'd'}, CLI_COMMON_OPTIONS};
    Atb__V1__RecordCashPayment cmd = ATB__V1__RECORD_CASH_PAYMENT__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        if (o == 1)
            rc = cli_bare_word(s, &b, NULL, optarg, 1);
        else if (o == 'd') {
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.paid_on = &on;
        } else
            rc = cli_option(c, s, o, optarg);
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1 || !cmd.paid_on)
        return cli_usage_error(s, "needs the order id and --on");
    cmd.order_id = (char *)b.pos[0];
    Atb__V1__CommandMeta meta;
    char id[37];
    meta_of(c, &meta, id);
    cmd.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = call(c, "cmd", "RecordCashPayment", &cmd.base, &atb__v1__command_reply__descriptor, (ProtobufCMessage **)&r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "paid in cash", "order_id", cmd.order_id);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int pay_history(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1)
        rc = o == 1 ? cli_bare_word(s, &b, NULL, optarg, 1) : cli_option(c, s, o, optarg);
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1)
        return cli_usage_error(s, "needs the person key");
    Atb__V1__PaymentHistory q = ATB__V1__PAYMENT_HISTORY__INIT;
    q.person = (char *)b.pos[0];
    Atb__V1__OrderList *l = NULL;
    rc = call(c, "qry", "PaymentHistory", &q.base, &atb__v1__order_list__descriptor, (ProtobufCMessage **)&l);
    if (rc == CLI_OK)
        rc = print_orders(c, l);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)l, NULL);
    return rc;
}

static int pay_budget(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, 0, 'f'}, {"to", required_argument, 0, 't'},
                                         CLI_COMMON_OPTIONS};
    Atb__V1__BudgetExecution q = ATB__V1__BUDGET_EXECUTION__INIT;
    Atb__V1__Date from = ATB__V1__DATE__INIT, to = ATB__V1__DATE__INIT;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'f') {
            if ((rc = cli_opt_date(s, "from", optarg, &from)) == CLI_NEXT)
                q.from = &from;
        } else if (o == 't') {
            if ((rc = cli_opt_date(s, "to", optarg, &to)) == CLI_NEXT)
                q.to = &to;
        } else {
            rc = cli_option(c, s, o, optarg);
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (!q.from || !q.to)
        return cli_usage_error(s, "needs --from and --to");
    Atb__V1__BudgetReport *r = NULL;
    rc = call(c, "qry", "BudgetExecution", &q.base, &atb__v1__budget_report__descriptor, (ProtobufCMessage **)&r);
    if (rc == CLI_OK && c->json) {
        cli_print_json(cli_pb_to_json(&r->base));
    } else if (rc == CLI_OK) {
        char paid[24], rec[24];
        printf("%-8s %-10s %14s %14s %8s\n", "EKK", "funding", "paid", "recovered", "orders");
        for (size_t i = 0; i < r->n_lines; i++) {
            Atb__V1__BudgetLine *l = r->lines[i];
            money(l->paid_cents, paid, sizeof paid);
            money(l->recovered_cents, rec, sizeof rec);
            printf("%-8s %-10s %14s %14s %8d\n", l->budget_code, name_of(fundings, 4, l->funding), paid, rec,
                   l->orders);
        }
        money(r->paid_cents, paid, sizeof paid);
        printf("total paid %s EUR (log position %lld)\n", paid, (long long)r->position);
    }
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}
