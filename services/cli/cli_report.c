/*
 * cli_report.c -- atbalsts report assistance: the reporting service's AssistanceReport
 * (docs/reporting.md defines every figure) as a terminal table, CSV or JSON.
 *
 * The figures are the service's; the command line only prints them, and computes the two
 * shares (decided on time, appealed) from the counts the reply carries, for the table.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "atb/v1/reporting.pb-c.h"

static int report_assistance(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"assistance", report_assistance,
     "report assistance [--tenants M1,M2,...] --from YYYY-MM-DD --to YYYY-MM-DD [--csv | --json]",
     "Social assistance in the period for each municipality (default: --tenant's; a region\n"
     "is several) and in total: households and persons with needy and with low-income\n"
     "status in force, recipients, grants and amounts of GMI, the housing benefit and every\n"
     "catalogue benefit, decisions made, the share of applications decided within the legal\n"
     "deadline (target 98%) and the share appealed (target at most 2%). For a date, give it\n"
     "as both --from and --to. --csv prints one figure a line: municipality,figure,benefit,\n"
     "value (amounts in euros). docs/reporting.md defines each figure.\n"},
};

int cli_report(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "report", "Reports from the reporting service's projections of the log.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

static void money(int64_t cents, char *buf, size_t n)
{
    int64_t a = cents < 0 ? -cents : cents;
    snprintf(buf, n, "%s%lld.%02lld", cents < 0 ? "-" : "", (long long)(a / 100), (long long)(a % 100));
}

/* part/whole as a percentage with one decimal, "-" when whole is 0 (integer arithmetic,
 * rounded half up). */
static void share(int64_t part, int64_t whole, char *buf, size_t n)
{
    if (whole <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    int64_t tenths = (part * 2000 + whole) / (2 * whole);
    snprintf(buf, n, "%lld.%lld%%", (long long)(tenths / 10), (long long)(tenths % 10));
}

static const char *name_of(const Atb__V1__AssistanceRow *r)
{
    return r->tenant[0] ? r->tenant : "total";
}

static void print_table(const Atb__V1__AssistanceReportReply *r, const char *from, const char *to)
{
    char on_time[32], appealed[32], amount[32];
    printf("Social assistance %s .. %s\n\n", from, to);
    printf("%-16s %9s %9s %9s %9s %9s %9s %9s %9s\n", "municipality", "needy hh", "persons", "low hh", "persons",
           "decisions", "apps", "on time", "appealed");
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__AssistanceRow *w = i < r->n_rows ? r->rows[i] : r->total;
        if (!w)
            continue;
        share(w->decided_on_time, w->applications_decided, on_time, sizeof on_time);
        share(w->appealed, w->applications_decided, appealed, sizeof appealed);
        printf("%-16s %9lld %9lld %9lld %9lld %9lld %9lld %9s %9s\n", name_of(w),
               (long long)(w->needy ? w->needy->households : 0), (long long)(w->needy ? w->needy->persons : 0),
               (long long)(w->low_income ? w->low_income->households : 0),
               (long long)(w->low_income ? w->low_income->persons : 0), (long long)w->decisions,
               (long long)w->applications_decided, on_time, appealed);
    }
    printf("\n%-16s %-12s %10s %8s %14s\n", "municipality", "benefit", "households", "grants", "amount EUR");
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__AssistanceRow *w = i < r->n_rows ? r->rows[i] : r->total;
        for (size_t k = 0; w && k < w->n_benefits; k++) {
            const Atb__V1__BenefitFigures *b = w->benefits[k];
            money(b->amount_cents, amount, sizeof amount);
            printf("%-16s %-12s %10lld %8lld %14s\n", name_of(w), b->benefit, (long long)b->households,
                   (long long)b->grants, amount);
        }
    }
    printf("\ntargets: decided on time >= 98%%, appealed <= 2%% (log positions: decisions %lld, "
           "applications %lld)\n",
           (long long)r->decisions_position, (long long)r->applications_position);
}

static void csv_line(const char *who, const char *figure, const char *benefit, long long v)
{
    printf("%s,%s,%s,%lld\n", who, figure, benefit, v);
}

/* Municipality codes and benefit codes are identifiers without commas or quotes, so no
 * field needs quoting. */
static void print_csv(const Atb__V1__AssistanceReportReply *r)
{
    char amount[24];
    printf("municipality,figure,benefit,value\n");
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__AssistanceRow *w = i < r->n_rows ? r->rows[i] : r->total;
        if (!w)
            continue;
        const char *who = name_of(w);
        csv_line(who, "needy_households", "", w->needy ? w->needy->households : 0);
        csv_line(who, "needy_persons", "", w->needy ? w->needy->persons : 0);
        csv_line(who, "low_income_households", "", w->low_income ? w->low_income->households : 0);
        csv_line(who, "low_income_persons", "", w->low_income ? w->low_income->persons : 0);
        csv_line(who, "decisions", "", w->decisions);
        csv_line(who, "applications_decided", "", w->applications_decided);
        csv_line(who, "decided_on_time", "", w->decided_on_time);
        csv_line(who, "appealed", "", w->appealed);
        for (size_t k = 0; k < w->n_benefits; k++) {
            const Atb__V1__BenefitFigures *b = w->benefits[k];
            csv_line(who, "benefit_households", b->benefit, b->households);
            csv_line(who, "benefit_grants", b->benefit, b->grants);
            money(b->amount_cents, amount, sizeof amount);
            printf("%s,benefit_amount_eur,%s,%s\n", who, b->benefit, amount);
        }
    }
}

enum { OPT_CSV = 0x201 };

static int report_assistance(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"tenants", required_argument, 0, 'm'}, {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},      {"csv", no_argument, 0, OPT_CSV},
                                         CLI_COMMON_OPTIONS};
    Atb__V1__AssistanceReport q = ATB__V1__ASSISTANCE_REPORT__INIT;
    Atb__V1__Date from = ATB__V1__DATE__INIT, to = ATB__V1__DATE__INIT;
    cli_list tenants = {0};
    bool csv = false;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'm') {
            if (!cli_list_add(&tenants, optarg))
                rc = cli_usage_error(s, "out of memory");
        } else if (o == 'f') {
            if ((rc = cli_opt_date(s, "from", optarg, &from)) == CLI_NEXT)
                q.from = &from;
        } else if (o == 't') {
            if ((rc = cli_opt_date(s, "to", optarg, &to)) == CLI_NEXT)
                q.to = &to;
        } else if (o == OPT_CSV) {
            csv = true;
        } else {
            rc = cli_option(c, s, o, optarg);
        }
    }
    if (rc == CLI_NEXT && optind < argc)
        rc = cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    if (rc == CLI_NEXT && (!q.from || !q.to))
        rc = cli_usage_error(s, "needs --from and --to");
    if (rc == CLI_NEXT && csv && c->json)
        rc = cli_usage_error(s, "--csv and --json exclude each other");
    if (rc != CLI_NEXT) {
        cli_list_free(&tenants);
        return rc;
    }
    q.tenants = tenants.items;
    q.n_tenants = tenants.n;
    Atb__V1__AssistanceReportReply *r = NULL;
    rc = cli_call(c, "qry", c->tenant, "reporting", "AssistanceReport", &q.base,
                  &atb__v1__assistance_report_reply__descriptor, (ProtobufCMessage **)&r);
    cli_list_free(&tenants);
    if (rc != CLI_OK)
        return rc;
    if (cli_refused(r->error)) {
        rc = cli_print_error(c, r->error, NULL);
    } else if (c->json) {
        cli_print_json(cli_pb_to_json(&r->base));
    } else if (csv) {
        print_csv(r);
    } else {
        char f[11], t[11];
        cli_date_text(&from, f);
        cli_date_text(&to, t);
        print_table(r, f, t);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}
