/*
 * cli_report.c -- atbalsts report assistance | services | budget | indicators | ministry |
 * rebuild: the reporting service's reports (docs/reporting.md defines every figure) as a
 * terminal table or CSV (cli_report_print.c), JSON, or an HTML page (cli_report_html.c);
 * and the operator's rebuild of the projections.
 *
 * Every report takes the same options: the municipalities (--tenants; a region is several),
 * the period (--from, --to; the ministry report: --year), "as known on" (--as-known-on
 * DATE, --as-of-position N), the output (--csv | --json | --html PATH) and the labels'
 * language (--lang lv | en; Latvian by default). The figures are the service's; the command
 * line only prints them.
 *
 * To add a report: 3 things to do. Its ask_<kind>() here (builds the query from
 * report_args), its cli_report_table_<kind>() and cli_report_csv_<kind>() in
 * cli_report_print.c, and a row in `kinds` and `subs`.
 */
#include "cli_report.h"
#include "cli_report_html.h"
#include "reporting.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atb/v1/reporting.pb-c.h"

/* ---- the sub-commands ---- */

typedef struct report_kind {
    const char *name;
    const char *method;                         /* the reporting query */
    const ProtobufCMessageDescriptor *query, *reply;
    void (*table)(const report_args *a, const ProtobufCMessage *r, const char *from, const char *to);
    void (*csv)(const report_args *a, const ProtobufCMessage *r);
} report_kind;

static const report_kind kinds[] = {
    {"assistance", "AssistanceReport", &atb__v1__assistance_report__descriptor,
     &atb__v1__assistance_report_reply__descriptor, cli_report_table_assistance, cli_report_csv_assistance},
    {"services", "ServicesReport", &atb__v1__services_report__descriptor,
     &atb__v1__services_report_reply__descriptor, cli_report_table_services, cli_report_csv_services},
    {"budget", "BudgetExecutionReport", &atb__v1__budget_execution_report__descriptor,
     &atb__v1__budget_execution_reply__descriptor, cli_report_table_budget, cli_report_csv_budget},
    {"indicators", "IndicatorsReport", &atb__v1__indicators_report__descriptor,
     &atb__v1__indicators_report_reply__descriptor, cli_report_table_indicators, cli_report_csv_indicators},
    {"ministry", "MinistryReport", &atb__v1__ministry_report__descriptor,
     &atb__v1__ministry_report_reply__descriptor, cli_report_table_ministry, cli_report_csv_ministry},
};

/* The field `name` of message m when it has that type; NULL otherwise. */
static void *query_field(ProtobufCMessage *m, const char *name, ProtobufCType type,
                         const ProtobufCFieldDescriptor **fd)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (fd)
        *fd = f;
    return f && f->type == type ? (char *)m + f->offset : NULL;
}

/* Ask for one report. Every kind's query has tenants, as_known_on and as_of_position, and
 * either from and to or year (reporting.proto), so one function fills any of them through
 * its descriptor; a query without them is a programming error, answered CLI_USAGE (as
 * out of memory is) rather than sent half filled. The reply (NULL on failure); *rc the exit
 * code. */
static ProtobufCMessage *ask_report(cli *c, const report_kind *k, const report_args *a, int *rc)
{
    ProtobufCMessage *q = calloc(1, k->query->sizeof_message), *r = NULL;
    if (!q) {
        fprintf(stderr, "atbalsts: out of memory\n");
        *rc = CLI_USAGE;
        return NULL;
    }
    protobuf_c_message_init(k->query, q);
    const ProtobufCFieldDescriptor *tf = NULL;
    char ***tenants = query_field(q, "tenants", PROTOBUF_C_TYPE_STRING, &tf);
    const Atb__V1__Date **known = query_field(q, "as_known_on", PROTOBUF_C_TYPE_MESSAGE, NULL);
    int64_t *position = query_field(q, "as_of_position", PROTOBUF_C_TYPE_INT64, NULL);
    const Atb__V1__Date **from = query_field(q, "from", PROTOBUF_C_TYPE_MESSAGE, NULL);
    const Atb__V1__Date **to = query_field(q, "to", PROTOBUF_C_TYPE_MESSAGE, NULL);
    int32_t *year = query_field(q, "year", PROTOBUF_C_TYPE_INT32, NULL);
    if (!tenants || tf->label != PROTOBUF_C_LABEL_REPEATED || !known || !position || !(year || (from && to))) {
        fprintf(stderr, "atbalsts: report %s: the query %s lacks the report fields\n", k->name, k->query->name);
        free(q);
        *rc = CLI_USAGE;
        return NULL;
    }
    *tenants = a->tenants.items;
    *(size_t *)((char *)q + tf->quantifier_offset) = a->tenants.n;
    if (year) {
        *year = (int32_t)a->year;
    } else {
        *from = &a->from;
        *to = &a->to;
    }
    *known = a->has_known_on ? &a->known_on : NULL;
    *position = a->position;
    *rc = cli_call(c, "qry", c->tenant, "reporting", k->method, q, k->reply, &r);
    free(q);
    return r;
}

static int report_run(cli *c, const cli_sub *s, int argc, char **argv);
static int report_rebuild(cli *c, const cli_sub *s, int argc, char **argv);

#define REPORT_OPTIONS                                                                            \
    "[--tenants M1,M2,...] --from YYYY-MM-DD --to YYYY-MM-DD [--as-known-on YYYY-MM-DD]\n"        \
    "       [--as-of-position N] [--lang lv|en] [--csv | --json | --html FILE]"

static const cli_sub subs[] = {
    {"assistance", report_run, "report assistance " REPORT_OPTIONS,
     "Social assistance in the period for each municipality (default: --tenant's; a region\n"
     "is several) and in total: households and persons with needy and with low-income\n"
     "status in force, recipients, grants and amounts of GMI, the housing benefit and every\n"
     "catalogue benefit, decisions made, the share of applications decided within the legal\n"
     "deadline (target 98%) and the share appealed (target at most 2%). For a date, give it\n"
     "as both --from and --to. --csv prints one figure a line: municipality,figure,benefit,\n"
     "value (amounts in euros). docs/reporting.md defines each figure.\n"},
    {"services", report_run, "report services " REPORT_OPTIONS,
     "Social services in the period for each municipality and in total: per service and\n"
     "provider the clients, those in place on the last day and their load, the unit's\n"
     "capacity in its catalogue, place days, hours and trips delivered, admissions\n"
     "(emergency ones too) and discharges; per service the waiting list: requests made,\n"
     "waiting on the last day and how long, admitted from the list and how long they\n"
     "waited.\n"},
    {"budget", report_run, "report budget " REPORT_OPTIONS,
     "Budget execution in the period by EKK code and funding source, for each municipality\n"
     "and in total: orders due (not cancelled), paid (bank execution or cash date), recovery\n"
     "claims and the net paid, in euros.\n"},
    {"indicators", report_run, "report indicators " REPORT_OPTIONS,
     "The strategy indicators of the period for each municipality and in total: the share of\n"
     "applications decided within the legal deadline (target 98%), the shares appealed and\n"
     "overturned on appeal (target at most 2%), clients per social worker, applicants who\n"
     "applied again within a year, providers and services with clients; and the regional\n"
     "result indicators of document 003 over the municipalities asked, against their\n"
     "baselines and 2018 targets.\n"},
    {"ministry", report_run,
     "report ministry [--tenants M1,M2,...] --year YYYY [--as-known-on YYYY-MM-DD]\n"
     "       [--as-of-position N] [--lang lv|en] [--csv | --json | --html FILE]",
     "The annual statistical report on social services and social assistance to the\n"
     "Ministry of Welfare for a calendar year, in four sections (social assistance with its\n"
     "persons by age and sex, social services, spending by EKK code and funding source,\n"
     "social work), every section as known at one log position. docs/reporting.md says\n"
     "which parts of the ministry's forms are not covered. --csv prints each section's CSV\n"
     "after a line \"## <section>\".\n"},
    {"rebuild", report_rebuild, "report rebuild [--projection NAME] [--pg URL]",
     "An operator's command, run with atbalsts-reporting stopped: drops a projection (its\n"
     "rows and its checkpoint, in one transaction) and replays the log into it with the\n"
     "service's own handlers, up to the log's head when it started; every projection when\n"
     "no --projection is given (persons, decisions, applications, placements, requests,\n"
     "payments, appeals, catalogue). It connects to PostgreSQL itself (--pg or ATB_PG_URL,\n"
     "as the role atb_reporting) and prints, per projection, the events replayed, the log\n"
     "position the projection now reflects and whether its rows are identical to those\n"
     "before (md5 of the ordered rows of each table). While atbalsts-reporting runs it\n"
     "refuses (exit 2) and changes nothing.\n"},
};

int cli_report(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "report", "Reports from the reporting service's projections of the log.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

enum { OPT_CSV = 0x201, OPT_KNOWN, OPT_POSITION, OPT_LANG, OPT_HTML, OPT_YEAR };

static int parse(cli *c, const cli_sub *s, int argc, char **argv, report_args *a)
{
    static const struct option opts[] = {{"tenants", required_argument, 0, 'm'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"as-known-on", required_argument, 0, OPT_KNOWN},
                                         {"as-of-position", required_argument, 0, OPT_POSITION},
                                         {"lang", required_argument, 0, OPT_LANG},
                                         {"html", required_argument, 0, OPT_HTML},
                                         {"csv", no_argument, 0, OPT_CSV},
                                         {"year", required_argument, 0, OPT_YEAR},
                                         CLI_COMMON_OPTIONS};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'm') {
            if (!cli_list_add(&a->tenants, optarg))
                rc = cli_usage_error(s, "out of memory");
        } else if (o == 'f') {
            if ((rc = cli_opt_date(s, "from", optarg, &a->from)) == CLI_NEXT)
                a->has_from = true;
        } else if (o == 't') {
            if ((rc = cli_opt_date(s, "to", optarg, &a->to)) == CLI_NEXT)
                a->has_to = true;
        } else if (o == OPT_KNOWN) {
            if ((rc = cli_opt_date(s, "as-known-on", optarg, &a->known_on)) == CLI_NEXT)
                a->has_known_on = true;
        } else if (o == OPT_POSITION) {
            rc = cli_opt_int64(s, "as-of-position", optarg, 1, INT64_MAX, &a->position);
        } else if (o == OPT_LANG) {
            if (strcmp(optarg, "lv") != 0 && strcmp(optarg, "en") != 0)
                rc = cli_usage_error(s, "--lang \"%s\": lv or en", optarg);
            a->lang = optarg;
            a->en = strcmp(optarg, "en") == 0;
        } else if (o == OPT_HTML) {
            a->html = optarg;
        } else if (o == OPT_CSV) {
            a->csv = true;
        } else if (o == OPT_YEAR && strcmp(s->name, "ministry") == 0) {
            rc = cli_opt_int64(s, "year", optarg, 1990, 9999, &a->year);
        } else {
            rc = cli_option(c, s, o, optarg);
        }
    }
    if (rc == CLI_NEXT && optind < argc)
        rc = cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    bool yearly = strcmp(s->name, "ministry") == 0;
    if (rc == CLI_NEXT && yearly && !a->year)
        rc = cli_usage_error(s, "needs --year");
    if (rc == CLI_NEXT && yearly && (a->has_from || a->has_to))
        rc = cli_usage_error(s, "takes --year, not --from and --to");
    if (rc == CLI_NEXT && !yearly && (!a->has_from || !a->has_to))
        rc = cli_usage_error(s, "needs --from and --to");
    if (rc == CLI_NEXT && (a->csv + c->json + (a->html != NULL)) > 1)
        rc = cli_usage_error(s, "--csv, --json and --html exclude each other");
    return rc;
}

#define HTML_MAX_POINTS 36

/* The same report asked for each calendar month (or year) of the period, clipped to it,
 * for the page's series; nothing when the period lies in one month (year) or spans more
 * than HTML_MAX_POINTS. Returns the points asked (their replies freed by the caller), or
 * -1 when a question failed (printed). */
static int html_series(cli *c, const report_kind *k, const report_args *a, bool years, cli_html_point *pts,
                       char labels[][8])
{
    int y0 = a->from.year, m0 = years ? 1 : a->from.month, y1 = a->to.year, m1 = years ? 1 : a->to.month;
    int n = years ? y1 - y0 + 1 : (y1 - y0) * 12 + (m1 - m0) + 1;
    if (n < 2 || n > HTML_MAX_POINTS)
        return 0;
    for (int i = 0; i < n; i++) {
        report_args b = *a;
        int y = years ? y0 + i : y0 + (m0 - 1 + i) / 12, m = years ? 1 : (m0 - 1 + i) % 12 + 1;
        b.from.year = b.to.year = y;
        b.from.month = m;
        b.from.day = 1;
        b.to.month = years ? 12 : m;
        b.to.day = years ? 31 : at_days_in_month(y, m);
        if (i == 0)
            b.from = a->from;
        if (i == n - 1)
            b.to = a->to;
        snprintf(labels[i], 8, years ? "%04d" : "%04d-%02d", y, m);
        int rc;
        ProtobufCMessage *r = ask_report(c, k, &b, &rc);
        const Atb__V1__Error *e = r ? *(Atb__V1__Error *const *)((const char *)r + r->descriptor->fields[0].offset)
                                    : NULL;
        if (rc != CLI_OK || cli_refused(e)) {
            if (r && cli_refused(e))
                cli_print_error(c, e, NULL);
            if (r)
                protobuf_c_message_free_unpacked(r, NULL);
            for (int j = 0; j < i; j++)
                protobuf_c_message_free_unpacked((ProtobufCMessage *)pts[j].reply, NULL);
            return -1;
        }
        pts[i].label = labels[i];
        pts[i].reply = r;
    }
    return n;
}

static int write_html(cli *c, const report_kind *k, const report_args *a, const ProtobufCMessage *r)
{
    at_error err;
    at_error_clear(&err);
    cli_html_point months[HTML_MAX_POINTS], years[HTML_MAX_POINTS];
    char month_labels[HTML_MAX_POINTS][8], year_labels[HTML_MAX_POINTS][8];
    char from[16], to[16];
    cli_date_text(&a->from, from);
    cli_date_text(&a->to, to);
    int nm = 0, ny = 0;
    if (a->has_from && (nm = html_series(c, k, a, false, months, month_labels)) < 0)
        return CLI_UNREACHABLE;
    if (a->has_from && (ny = html_series(c, k, a, true, years, year_labels)) < 0) {
        for (int j = 0; j < nm; j++)
            protobuf_c_message_free_unpacked((ProtobufCMessage *)months[j].reply, NULL);
        return CLI_UNREACHABLE;
    }
    cli_html_ctx ctx = {.from = a->has_from ? from : NULL, .to = a->has_to ? to : NULL, .months = months,
                        .n_months = (size_t)nm, .years = years, .n_years = (size_t)ny};
    int code = cli_report_html_ex(a->html, k->name, r, &ctx, a->lang, &err);
    for (int j = 0; j < nm; j++)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)months[j].reply, NULL);
    for (int j = 0; j < ny; j++)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)years[j].reply, NULL);
    if (code != AT_OK) {
        fprintf(stderr, "ERROR:  %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        return CLI_USAGE;
    }
    printf("%s %s\n", L(a, "Uzrakstīts", "Written"), a->html);
    return CLI_OK;
}

static int report_run(cli *c, const cli_sub *s, int argc, char **argv)
{
    const report_kind *k = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, s->name) == 0)
            k = &kinds[i];
    report_args a = {.lang = "lv", .from = ATB__V1__DATE__INIT, .to = ATB__V1__DATE__INIT,
                     .known_on = ATB__V1__DATE__INIT};
    int rc = parse(c, s, argc, argv, &a);
    if (rc != CLI_NEXT || !k) {
        cli_list_free(&a.tenants);
        return rc == CLI_NEXT ? CLI_USAGE : rc;
    }
    ProtobufCMessage *r = ask_report(c, k, &a, &rc);
    if (rc == CLI_OK) {
        /* every reply has atb.v1.Error error = 1 */
        const Atb__V1__Error *e = *(Atb__V1__Error *const *)((const char *)r + r->descriptor->fields[0].offset);
        if (cli_refused(e)) {
            rc = cli_print_error(c, e, NULL);
        } else if (c->json) {
            cli_print_json(cli_pb_to_json(r));
        } else if (a.csv) {
            k->csv(&a, r);
        } else if (a.html) {
            rc = write_html(c, k, &a, r);
        } else {
            char f[16], t[16];
            if (a.year) {
                snprintf(f, sizeof f, "%04d-01-01", (int)a.year);
                snprintf(t, sizeof t, "%04d-12-31", (int)a.year);
            } else {
                cli_date_text(&a.from, f);
                cli_date_text(&a.to, t);
            }
            k->table(&a, r, f, t);
        }
        protobuf_c_message_free_unpacked(r, NULL);
    }
    cli_list_free(&a.tenants);
    return rc;
}

/* ---- rebuild ---- */

static int rebuild_print(const rep_rebuild_task *t, json_t *out)
{
    const char *name = rep_projection_name(t->projection);
    if (t->code != AT_OK) {
        fprintf(stderr, "ERROR:  %s: %s\n", name, t->err.message);
        if (t->err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", t->err.detail);
        if (t->err.hint[0])
            fprintf(stderr, "HINT:  %s\n", t->err.hint);
        return t->code == AT_CONFLICT ? CLI_REFUSED : CLI_UNREACHABLE;
    }
    const rep_rebuild_result *res = &t->res;
    bool same = strcmp(t->before, t->after) == 0;
    if (out) {
        json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:b}", "projection", name, "events",
                              (json_int_t)res->events, "malformed", (json_int_t)res->malformed, "position_before",
                              (json_int_t)t->position_before, "position", (json_int_t)res->position,
                              "digest_before", t->before, "digest", t->after, "identical", same);
        json_array_append_new(out, j);
    } else {
        printf("%-13s %lld events replayed up to position %lld (was %lld)%s; rows %s\n", name,
               (long long)res->events, (long long)res->position, (long long)t->position_before,
               res->malformed ? ", some did not decode" : "", same ? "identical" : "CHANGED");
    }
    return CLI_OK;
}

static int report_rebuild(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"projection", required_argument, 0, 'P'},
                                         {"pg", required_argument, 0, 'p'},
                                         CLI_COMMON_OPTIONS};
    const char *pg = getenv("ATB_PG_URL"), *only = NULL;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'P')
            only = optarg;
        else if (o == 'p')
            pg = optarg;
        else
            rc = cli_option(c, s, o, optarg);
    }
    if (rc == CLI_NEXT && optind < argc)
        rc = cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    if (rc == CLI_NEXT && (!pg || !pg[0]))
        rc = cli_usage_error(s, "give the database with --pg URL or ATB_PG_URL");
    size_t n = rep_projections_count(), pick = n;
    for (size_t i = 0; rc == CLI_NEXT && only && i < n; i++)
        if (strcmp(rep_projection_name(i), only) == 0)
            pick = i;
    if (rc == CLI_NEXT && only && pick == n)
        rc = cli_usage_error(s, "unknown projection \"%s\": persons, decisions, applications, placements, "
                                "requests, payments, appeals or catalogue", only);
    if (rc != CLI_NEXT)
        return rc;
    /* the projections side by side, one a CPU: a rebuild is the server's and the decoding's work */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus;
    es_config cfg = {.conninfo = pg, .pool_size = jobs, .application_name = "atbalsts-rebuild"};
    es_store *es = NULL;
    at_error err;
    if (es_open(&es, &cfg, &err) != ES_OK) {
        fprintf(stderr, "ERROR:  cannot open the database: %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        fprintf(stderr, "HINT:  Give the database with --pg or ATB_PG_URL, as the role atb_reporting.\n");
        return CLI_UNREACHABLE;
    }
    rep_rebuild_task *tasks = calloc(n, sizeof *tasks);
    if (!tasks) {
        es_close(es);
        fprintf(stderr, "ERROR:  out of memory\n");
        return CLI_UNREACHABLE;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!only || i == pick)
            tasks[k++] = (rep_rebuild_task){.projection = i, .digests = true};
    rep_rebuild_run(es, tasks, k, jobs);
    es_close(es);
    json_t *out = c->json ? json_array() : NULL;
    rc = CLI_OK;
    for (size_t i = 0; i < k; i++) {
        int one = rebuild_print(&tasks[i], out);
        if (rc == CLI_OK)
            rc = one;
    }
    if (out)
        cli_print_json(out);
    free(tasks);
    return rc;
}
