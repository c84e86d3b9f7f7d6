/*
 * cli_application.c -- atbalsts application submit | declare | incomplete | complete |
 * withdraw | show: SubmitApplication (with SubmitDeclaration), SubmitDeclaration,
 * MarkApplicationIncomplete, CompleteApplication, WithdrawApplication and GetApplication.
 *
 * `submit` sends two commands when the file holds a declaration. The declaration's
 * command id is derived from the application's (at_uuid_derive), so repeating `submit`
 * with --command-id repeats both commands with their ids and neither is done twice.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "at_money.h"
#include "at_time.h"
#include "at_uuid.h"

static int app_submit(cli *c, const cli_sub *s, int argc, char **argv);
static int app_declare(cli *c, const cli_sub *s, int argc, char **argv);
static int app_incomplete(cli *c, const cli_sub *s, int argc, char **argv);
static int app_complete(cli *c, const cli_sub *s, int argc, char **argv);
static int app_withdraw(cli *c, const cli_sub *s, int argc, char **argv);
static int app_show(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"submit", app_submit, "application submit [--file app.json | --interactive]",
     "Submits an application and, when the file holds one, its means declaration (two\n"
     "commands: SubmitApplication, then SubmitDeclaration). The file format is in\n"
     "docs/cli.md (\"JSON files\"); --file - reads standard input. Without --file at a\n"
     "terminal (or with --interactive) it asks for the fields one by one, shows the JSON\n"
     "and asks before submitting. Prints the application id. If the declaration is\n"
     "refused the application stays submitted: send the declaration with `declare`.\n"},
    {"declare", app_declare, "application declare ID --file decl.json",
     "Submits the means declaration of application ID (it replaces an earlier one as a\n"
     "whole). An expense with a document older than the municipality's limit is not\n"
     "refused: it is recorded as rejected, and `application show` says why.\n"},
    {"incomplete", app_incomplete, "application incomplete ID --missing CODE... --on YYYY-MM-DD",
     "Marks the application incomplete: documents are missing (codes, e.g.\n"
     "income_statement; several after one --missing, or comma-separated).\n"},
    {"complete", app_complete,
     "application complete ID --decision-date YYYY-MM-DD [--receipts-submitted APPID...]",
     "The file is complete: the household as of the decision date and the declaration go\n"
     "to means testing, which decides each ask. `application show` prints the decisions\n"
     "once they are made. --receipts-submitted names earlier grants whose receipts came.\n"},
    {"withdraw", app_withdraw, "application withdraw ID --on YYYY-MM-DD --reason TEXT",
     "Withdraws the application; the reason is kept as a note.\n"},
    {"show", app_show, "application show ID",
     "Prints the application: status, applicant, household, received date and channel, the\n"
     "legal deadline, what is asked, what is missing, the latest declaration (with each\n"
     "rejected expense and why), the decisions (outcome, amount, period, reasons) and the\n"
     "appeals.\n"},
};

int cli_application(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "application", "Applications for a status, a benefit or a service, and their means "
                                          "declarations.",
                        subs, sizeof subs / sizeof subs[0], argc, argv);
}

/* The file's error as a usage error (exit 1): nothing was sent. */
static int file_error(const cli_sub *s, const char *file, const at_error *err)
{
    cli_usage_error(s, "%s%s%s", *file ? file : "", *file ? ": " : "", err->message);
    if (*err->detail)
        fprintf(stderr, "DETAIL:  %s\n", err->detail);
    if (*err->field)
        fprintf(stderr, "FIELD:  %s\n", err->field);
    return CLI_USAGE;
}

/* The JSON of the application: from the file, or asked for on the terminal. NULL when
 * it was not given (message printed, *rc the exit code). */
static json_t *application_json(cli *c, const cli_sub *s, const char *file, bool interactive, int *rc)
{
    json_t *j = NULL;
    if (file) {
        at_error err;
        at_error_clear(&err);
        if (cli_json_load(file, &j, &err) != AT_OK) {
            *rc = file_error(s, "", &err);
            return NULL;
        }
        return j;
    }
    if (!interactive && !isatty(STDIN_FILENO)) {
        *rc = cli_usage_error(s, "needs --file FILE (standard input is not a terminal to ask on)");
        return NULL;
    }
    /* prompts go to stderr, so that stdout holds only the result (and stays JSON) */
    j = cli_prompt_application(stdin, stderr, c->actor, at_today_utc());
    if (!j)
        *rc = CLI_USAGE;
    return j;
}

static void sent_json_fields(json_t *o, const Atb__V1__CommandReply *r, const char *id)
{
    json_object_set_new(o, "stream_id", json_string(r->stream_id));
    json_object_set_new(o, "version", json_integer((json_int_t)r->version));
    json_object_set_new(o, "position", json_integer((json_int_t)r->first_position));
    json_object_set_new(o, "last_position", json_integer((json_int_t)r->last_position));
    json_object_set_new(o, "duplicate", json_boolean(r->duplicate));
    json_object_set_new(o, "command_id", json_string(id));
}

static int app_submit(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, 0, 'f'}, {"interactive", no_argument, 0, 'i'}, CLI_COMMON_OPTIONS};
    const char *file = NULL;
    bool interactive = false;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'f': file = optarg; break;
        case 'i': interactive = true; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (optind < argc)
        return cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    if (file && interactive)
        return cli_usage_error(s, "give --file or --interactive, not both");
    json_t *j = application_json(c, s, file, interactive, &rc);
    if (!j)
        return rc;
    Atb__V1__SubmitApplication *app = NULL;
    Atb__V1__SubmitDeclaration *decl = NULL;
    at_error err;
    at_error_clear(&err);
    at_code code = cli_application_from_json(j, &app, &decl, &err);
    json_decref(j);
    if (code != AT_OK)
        return file_error(s, file ? file : "", &err);

    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT, dmeta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__CommandReply *r = NULL, *dr = NULL;
    char app_cmd[37], decl_cmd[37];
    app->meta = &meta;
    rc = cli_command(c, "SubmitApplication", &app->base, &meta, &r);
    snprintf(app_cmd, sizeof app_cmd, "%s", c->last_id);
    if (rc == CLI_OK && cli_refused(r->error))
        rc = cli_print_error(c, r->error, r->key);
    if (rc == CLI_OK && decl) {
        decl->application_id = strdup(r->key);
        decl->meta = &dmeta;
        at_uuid_derive(app_cmd, "SubmitDeclaration", decl_cmd);
        rc = decl->application_id ? cli_command_id(c, "SubmitDeclaration", &decl->base, &dmeta, decl_cmd, &dr)
                                  : CLI_UNREACHABLE;
        if (rc == CLI_OK && cli_refused(dr->error))
            rc = cli_print_error(c, dr->error, r->key);
        if (rc != CLI_OK)
            fprintf(stderr, "NOTE:  Application %s was submitted without its declaration. Send the "
                            "declaration with: atbalsts application declare %s --file FILE\n",
                    r->key, r->key);
    }
    if (rc == CLI_OK && c->json) {
        json_t *out = json_object();
        json_object_set_new(out, "application_id", json_string(r->key));
        sent_json_fields(out, r, app_cmd);
        json_t *d = json_null();
        if (dr) {
            d = json_object();
            sent_json_fields(d, dr, decl_cmd);
        }
        json_object_set_new(out, "declaration", d);
        cli_print_json(out);
    } else if (rc == CLI_OK) {
        printf("submitted application %s\n  stream %s, version %lld, log position %lld\n", r->key, r->stream_id,
               (long long)r->version, (long long)r->first_position);
        if (r->duplicate)
            printf("  (this command was done before: this is its first result)\n");
        if (c->verbose)
            printf("  command id %s\n", app_cmd);
        if (dr) {
            printf("  declaration: version %lld, log position %lld%s\n", (long long)dr->version,
                   (long long)dr->first_position, dr->duplicate ? " (done before: its first result)" : "");
            if (c->verbose)
                printf("  declaration command id %s\n", decl_cmd);
        }
    }
    app->meta = NULL;
    protobuf_c_message_free_unpacked(&app->base, NULL);
    if (decl) {
        decl->meta = NULL;
        protobuf_c_message_free_unpacked(&decl->base, NULL);
    }
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)dr, NULL);
    return rc;
}

static int app_declare(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"file", required_argument, 0, 'f'}, CLI_COMMON_OPTIONS};
    const char *file = NULL;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'f': file = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1 || !file)
        return cli_usage_error(s, "needs the application id and --file FILE");
    json_t *j = NULL;
    at_error err;
    at_error_clear(&err);
    if (cli_json_load(file, &j, &err) != AT_OK)
        return file_error(s, "", &err);
    Atb__V1__SubmitDeclaration *decl = NULL;
    at_code code = cli_declaration_from_json(j, "", &decl, &err);
    json_decref(j);
    if (code != AT_OK)
        return file_error(s, file, &err);
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    decl->meta = &meta;
    decl->application_id = strdup(b.pos[0]);
    Atb__V1__CommandReply *r = NULL;
    rc = decl->application_id ? cli_command(c, "SubmitDeclaration", &decl->base, &meta, &r) : CLI_UNREACHABLE;
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "declared the means of application", "application_id", b.pos[0]);
    decl->meta = NULL;
    protobuf_c_message_free_unpacked(&decl->base, NULL);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int app_incomplete(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"missing", required_argument, 0, 'm'}, {"on", required_argument, 0, 'o'}, CLI_COMMON_OPTIONS};
    Atb__V1__MarkApplicationIncomplete cmd = ATB__V1__MARK_APPLICATION_INCOMPLETE__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_list missing = {0};
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        cli_list *prev = b.last;
        b.last = NULL;
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, prev, optarg, 1); break;
        case 'm': rc = cli_list_opt(s, &b, &missing, optarg); break;
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.on = &on;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (b.n != 1 || missing.n == 0 || !cmd.on))
        rc = cli_usage_error(s, "needs the application id, --missing CODE... and --on YYYY-MM-DD");
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.application_id = (char *)b.pos[0];
        cmd.missing = missing.items;
        cmd.n_missing = missing.n;
        Atb__V1__CommandReply *r = NULL;
        rc = cli_command(c, "MarkApplicationIncomplete", &cmd.base, &meta, &r);
        if (rc == CLI_OK)
            rc = cli_print_reply(c, r, "marked incomplete: application", "application_id", b.pos[0]);
        protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    }
    cli_list_free(&missing);
    return rc;
}

static int app_complete(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"decision-date", required_argument, 0, 'd'}, {"receipts-submitted", required_argument, 0, 'r'},
        CLI_COMMON_OPTIONS};
    Atb__V1__CompleteApplication cmd = ATB__V1__COMPLETE_APPLICATION__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date day = ATB__V1__DATE__INIT;
    cli_list receipts = {0};
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        cli_list *prev = b.last;
        b.last = NULL;
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, prev, optarg, 1); break;
        case 'r': rc = cli_list_opt(s, &b, &receipts, optarg); break;
        case 'd':
            if ((rc = cli_opt_date(s, "decision-date", optarg, &day)) == CLI_NEXT)
                cmd.decision_date = &day;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (b.n != 1 || !cmd.decision_date))
        rc = cli_usage_error(s, "needs the application id and --decision-date YYYY-MM-DD");
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.application_id = (char *)b.pos[0];
        cmd.receipts_submitted = receipts.items;
        cmd.n_receipts_submitted = receipts.n;
        Atb__V1__CommandReply *r = NULL;
        rc = cli_command(c, "CompleteApplication", &cmd.base, &meta, &r);
        if (rc == CLI_OK)
            rc = cli_print_reply(c, r, "completed application", "application_id", b.pos[0]);
        if (rc == CLI_OK && !c->json)
            printf("  means testing decides it now: atbalsts application show %s\n", b.pos[0]);
        protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    }
    cli_list_free(&receipts);
    return rc;
}

static int app_withdraw(cli *c, const cli_sub *s, int argc, char **argv)
{
    cli_ending e;
    int rc = cli_ending_args(c, s, argc, argv, "needs the application id, --on YYYY-MM-DD and --reason TEXT", &e);
    if (rc != CLI_NEXT)
        return rc;
    Atb__V1__WithdrawApplication cmd = ATB__V1__WITHDRAW_APPLICATION__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    cmd.meta = &meta;
    cmd.application_id = (char *)e.key;
    cmd.on = &e.on;
    cmd.reason = (char *)e.reason;
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "WithdrawApplication", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "withdrew application", "application_id", e.key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

/* ---- show ------------------------------------------------------------------------------ */

static const char *member_text(const char *key)
{
    return key && *key ? key : "the household";
}

static void money(int64_t cents, char buf[24])
{
    at_cents_format(cents, buf, 24);
}

static void ask_line(size_t i, const Atb__V1__Ask *a)
{
    printf("  %zu  %s", i + 1, cli_enum_word(&atb__v1__ask_kind__descriptor, a->kind));
    if (*a->benefit)
        printf(" %s", a->benefit);
    if (*a->subject)
        printf(" for %s", a->subject);
    if (a->heating)
        printf(", heating %s", cli_enum_word(&atb__v1__heating__descriptor, a->heating));
    if (a->bill) {
        char amount[24], issued[11];
        money(a->bill->amount_cents, amount);
        cli_date_text(a->bill->issued, issued);
        printf(", bill %s EUR of %s", amount, issued);
    }
    if (a->units) {
        char cost[24];
        money(a->unit_cost_cents, cost);
        printf(", %lld units at %s EUR", (long long)a->units, cost);
    }
    if (a->count)
        printf(", count %lld", (long long)a->count);
    for (size_t k = 0; k < a->n_flags; k++)
        printf("%s%s", k ? " " : ", flags ", a->flags[k]);
    putchar('\n');
}

static void expense_text(const Atb__V1__Expense *e)
{
    char amount[24], issued[11];
    money(e->amount_cents, amount);
    cli_date_text(e->issued, issued);
    printf("%s, %s, %s EUR, document \"%s\" of %s", member_text(e->member), e->kind, amount, e->document, issued);
}

static void declaration_print(const Atb__V1__DeclarationSubmitted *d)
{
    char day[11], amount[24];
    cli_date_text(d->declared_on, day);
    printf("declaration    of %s", day);
    if (d->document_max_age_months)
        printf(" (documents up to %d months old", (int)d->document_max_age_months);
    if (*d->rule_set_version)
        printf("%s rule set %.12s at log position %lld", d->document_max_age_months ? ";" : " (",
               d->rule_set_version, (long long)d->rule_set_position);
    if (d->document_max_age_months || *d->rule_set_version)
        putchar(')');
    putchar('\n');
    for (size_t i = 0; i < d->n_incomes; i++) {
        const Atb__V1__MonthlyIncome *in = d->incomes[i];
        char month[11];
        cli_date_text(in->month, month);
        money(in->amount_cents, amount);
        printf("  income     %s  %s  %.7s  %s EUR\n", in->member, in->type, month, amount);
    }
    for (size_t i = 0; i < d->n_properties; i++) {
        const Atb__V1__RealProperty *p = d->properties[i];
        money(p->cadastral_value_cents, amount);
        printf("  property   %s  %s  cadastral value %s EUR\n", p->member,
               cli_enum_word(&atb__v1__property_use__descriptor, p->use), amount);
    }
    for (size_t i = 0; i < d->n_vehicles; i++)
        printf("  vehicle    %s%s\n", d->vehicles[i]->member,
               d->vehicles[i]->needed_for_disability ? "  (needed for a disability)" : "");
    money(d->savings_cents, amount);
    printf("  savings    %s EUR\n", amount);
    money(d->housing_expenses_cents, amount);
    printf("  housing    %s EUR a month\n", amount);
    for (size_t i = 0; i < d->n_expenses; i++) {
        printf("  expense    ");
        expense_text(d->expenses[i]);
        putchar('\n');
    }
    for (size_t i = 0; i < d->n_rejected; i++) {
        const Atb__V1__RejectedExpense *r = d->rejected[i];
        printf("  rejected   ");
        if (r->expense)
            expense_text(r->expense);
        printf("\n             because %s%s%s\n", r->reason, *r->detail ? ": " : "", r->detail);
    }
}

static void decision_print(const Atb__V1__DecisionSummary *d)
{
    const Atb__V1__DecisionResult *r = d->result;
    printf("  ask %d  %-15s", (int)d->ask_index, d->event_type);
    if (!r) {
        printf("  (no result)\n");
        return;
    }
    printf("  %s", cli_enum_word(&atb__v1__decision_outcome__descriptor, r->outcome));
    if (r->status)
        printf("  %s status", cli_enum_word(&atb__v1__means_status__descriptor, r->status));
    if (*r->benefit)
        printf("  %s%s%s", r->benefit, *r->component ? "/" : "", r->component);
    if (r->has_amount) {
        char amount[24];
        money(r->amount_cents, amount);
        printf("  %s EUR", amount);
        if (r->per)
            printf(" %s", r->per == ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE    ? "once"
                          : r->per == ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH ? "a month"
                                                                             : "a year");
    }
    if (r->units)
        printf("  %lld %s", (long long)r->units, r->unit_name);
    char from[11], to[11];
    cli_date_text(r->period_from, from);
    cli_date_text(r->period_to, to);
    if (*from)
        printf("  %s .. %s", from, to);
    printf("  (log position %lld)\n", (long long)d->position);
    for (size_t k = 0; k < r->n_reasons; k++)
        printf("         %s: %s\n", r->reasons[k]->code, r->reasons[k]->text_en);
}

static void application_print(const Atb__V1__ApplicationView *v)
{
    printf("application    %s\nstatus         %s\nversion        %lld\n", v->application_id,
           cli_enum_word(&atb__v1__application_status__descriptor, v->status), (long long)v->version);
    const Atb__V1__ApplicationReceived *r = v->received;
    if (r) {
        char received[11], deadline[11];
        cli_date_text(r->received, received);
        cli_date_text(r->deadline, deadline);
        printf("applicant      %s\nhousehold      %s\nreceived       %s (%s)\ndeadline       %s\n"
               "social worker  %s\n",
               r->applicant, r->household_key, received, cli_enum_word(&atb__v1__channel__descriptor, r->channel),
               deadline, r->social_worker);
        printf("asks:\n");
        for (size_t i = 0; i < r->n_asks; i++)
            ask_line(i, r->asks[i]);
    }
    if (v->returned && cli_refused(v->returned)) {
        printf("returned       by means testing: %s\n", v->returned->message);
        if (v->returned->detail && *v->returned->detail)
            printf("               %s\n", v->returned->detail);
    }
    if (v->receipts_submitted)
        printf("receipts       handed in\n");
    if (v->n_missing) {
        printf("missing       ");
        for (size_t i = 0; i < v->n_missing; i++)
            printf(" %s", v->missing[i]);
        putchar('\n');
    }
    if (v->declaration)
        declaration_print(v->declaration);
    else
        printf("declaration    (none yet)\n");
    if (v->n_decisions) {
        printf("decisions:\n");
        for (size_t i = 0; i < v->n_decisions; i++)
            decision_print(v->decisions[i]);
    }
    for (size_t i = 0; i < v->n_appeals; i++)
        printf("%s %s\n", i == 0 ? "appeals       " : "              ", v->appeals[i]);
}

static int app_show(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    Atb__V1__GetApplication q = ATB__V1__GET_APPLICATION__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        if (o == 1)
            rc = cli_bare_word(s, &b, NULL, optarg, 1);
        else
            rc = cli_option(c, s, o, optarg);
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1)
        return cli_usage_error(s, "needs the application id");
    q.application_id = (char *)b.pos[0];
    ProtobufCMessage *m = NULL;
    rc = cli_call(c, "qry", c->tenant, "intake", "GetApplication", &q.base, &atb__v1__application_view__descriptor,
                  &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__ApplicationView *v = (Atb__V1__ApplicationView *)m;
    if (cli_refused(v->error)) {
        rc = cli_print_error(c, v->error, NULL);
    } else if (c->json) {
        json_t *j = cli_pb_to_json(m);
        json_object_del(j, "error");
        cli_print_json(j);
    } else {
        application_print(v);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}
