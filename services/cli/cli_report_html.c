/*
 * cli_report_html.c -- report replies as HTML pages (cli_report_html.h).
 *
 * One layout function per reply message type, chosen by descriptor, so a new report only
 * adds a function and a row in LAYOUTS. Every label exists in Latvian and English (the
 * T() pairs); figures come from the reply unchanged; the shares (decided on time,
 * appealed) are the terminal table's (cli_report.c): integer tenths, half up.
 *
 * Pages (docs/reporting.md, "HTML report", lists their sections):
 *   assistance  the figures per municipality and in total, the two strategy indicators
 *               against their targets, the benefits (bar charts of amounts and households
 *               by benefit, a table per municipality), and when the caller gives series,
 *               columns and lines by month and by year;
 *   services    clients by service (chart) and the tables by municipality and by provider;
 *               waiting lists (chart of those waiting at the end) with waiting times;
 *   budget      net paid by EKK code (chart), the table by code and funding source;
 *   indicators  the strategy indicators against their targets; the regional indicators of
 *               document 003 (chart of actual values, table with base, start and target);
 *   ministry    the sections above in the report's order, with persons by age and sex.
 * When adding a report reply: write its page function and add a row to LAYOUTS.
 */
#include "cli_report_html.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hr.h"
#include "atb/v1/reporting.pb-c.h"

typedef struct page {
    hr_doc *d;
    bool lv;
    const char *lang;
} page;

#define T(p, lv_text, en_text) ((p)->lv ? (lv_text) : (en_text))

/* part/whole in percent with one decimal, integer arithmetic; "-" when whole is 0. */
static const char *share(const page *p, int64_t part, int64_t whole, char *buf, size_t n)
{
    if (whole <= 0)
        return snprintf(buf, n, "-"), buf;
    int64_t tenths = (part * 2000 + whole) / (2 * whole);
    snprintf(buf, n, "%lld%c%lld%%", (long long)(tenths / 10), p->lv ? ',' : '.', (long long)(tenths % 10));
    return buf;
}

static const char *count(const page *p, int64_t v, char *buf, size_t n)
{
    return hr_number(v, 0, p->lang, buf, n);
}

static const char *euros(const page *p, int64_t cents, char *buf, size_t n)
{
    return hr_number(cents, 2, p->lang, buf, n);
}

/* ---- AssistanceReportReply ------------------------------------------------------------ */

typedef const Atb__V1__AssistanceRow arow;

static const char *row_name(const page *p, arow *w)
{
    return w->tenant && w->tenant[0] ? w->tenant : T(p, "Kopā", "Total");
}

static int64_t benefits_amount(arow *w)
{
    int64_t s = 0;
    for (size_t k = 0; w && k < w->n_benefits; k++)
        s += w->benefits[k]->amount_cents;
    return s;
}

static void assistance_summary(page *p, const Atb__V1__AssistanceReportReply *r)
{
    hr_section(p->d, T(p, "Statusi un lēmumi", "Statuses and decisions"));
    static const char *const lv[] = {"Pašvaldība", "Trūcīgās mājsaimniecības", "Trūcīgās personas",
                                     "Maznodrošinātās mājsaimniecības", "Maznodrošinātās personas", "Lēmumi",
                                     "Izlemtie iesniegumi"};
    static const char *const en[] = {"Municipality", "Needy households", "Needy persons", "Low-income households",
                                     "Low-income persons", "Decisions", "Applications decided"};
    static const unsigned char num[] = {0, 1, 1, 1, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Trūcīgās un maznodrošinātās mājsaimniecības un personas, lēmumi periodā",
                           "Needy and low-income households and persons, decisions in the period"),
                   p->lv ? lv : en, num, 7);
    char b[6][48];
    for (size_t i = 0; i <= r->n_rows; i++) {
        arow *w = i < r->n_rows ? r->rows[i] : r->total;
        if (!w)
            continue;
        const char *cells[7] = {row_name(p, w),
                                count(p, w->needy ? w->needy->households : 0, b[0], 48),
                                count(p, w->needy ? w->needy->persons : 0, b[1], 48),
                                count(p, w->low_income ? w->low_income->households : 0, b[2], 48),
                                count(p, w->low_income ? w->low_income->persons : 0, b[3], 48),
                                count(p, w->decisions, b[4], 48),
                                count(p, w->applications_decided, b[5], 48)};
        hr_table_row(p->d, cells);
    }
    hr_table_end(p->d);
}

static void assistance_indicators(page *p, const Atb__V1__AssistanceReportReply *r)
{
    hr_section(p->d, T(p, "Stratēģijas rādītāji", "Strategy indicators"));
    hr_para(p->d, T(p,
                    "Saucējs ir periodā izlemtie iesniegumi. Mērķi: lēmumi likumā noteiktajā termiņā vismaz 98 %, "
                    "pārsūdzētie ne vairāk kā 2 %.",
                    "The denominator is the applications decided in the period. Targets: decided within the legal "
                    "deadline at least 98%, appealed at most 2%."));
    static const char *const lv[] = {"Pašvaldība", "Izlemti termiņā", "Daļa termiņā", "Mērķis", "Pārsūdzēti",
                                     "Daļa pārsūdzēta", "Mērķis"};
    static const char *const en[] = {"Municipality", "Decided on time", "Share on time", "Target", "Appealed",
                                     "Share appealed", "Target"};
    static const unsigned char num[] = {0, 1, 1, 1, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Lēmumi termiņā un pārsūdzētie lēmumi", "Decisions on time and appealed"),
                   p->lv ? lv : en, num, 7);
    char b[4][48];
    for (size_t i = 0; i <= r->n_rows; i++) {
        arow *w = i < r->n_rows ? r->rows[i] : r->total;
        if (!w)
            continue;
        const char *cells[7] = {row_name(p, w),
                                count(p, w->decided_on_time, b[0], 48),
                                share(p, w->decided_on_time, w->applications_decided, b[1], 48),
                                "≥ 98%",
                                count(p, w->appealed, b[2], 48),
                                share(p, w->appealed, w->applications_decided, b[3], 48),
                                "≤ 2%"};
        hr_table_row(p->d, cells);
    }
    hr_table_end(p->d);
}

static void assistance_benefits(page *p, const Atb__V1__AssistanceReportReply *r)
{
    hr_section(p->d, T(p, "Pabalsti", "Benefits"));
    arow *total = r->total ? r->total : (r->n_rows ? r->rows[0] : NULL);
    size_t n = total ? total->n_benefits : 0;
    const char **labels = calloc(n + 1, sizeof *labels);
    int64_t *amounts = calloc(n + 1, sizeof *amounts), *households = calloc(n + 1, sizeof *households);
    if (labels && amounts && households) {
        for (size_t k = 0; k < n; k++) {
            labels[k] = total->benefits[k]->benefit;
            amounts[k] = total->benefits[k]->amount_cents;
            households[k] = total->benefits[k]->households;
        }
        hr_chart c = {.kind = HR_BARS,
                      .title = T(p, "Piešķirtā summa pa pabalstiem, EUR", "Amount granted by benefit, EUR"),
                      .desc = T(p, "Horizontāli stabiņi: katra pabalsta piešķirtā summa periodā, visas pašvaldības kopā.",
                                "Horizontal bars: the amount granted for the period for each benefit, all the "
                                "municipalities together."),
                      .label_heading = T(p, "Pabalsts", "Benefit"),
                      .value_heading = T(p, "Summa, EUR", "Amount, EUR"),
                      .labels = labels, .values = amounts, .n = n, .decimals = 2};
        hr_chart_add(p->d, &c);
        c.title = T(p, "Saņēmēju mājsaimniecības pa pabalstiem", "Recipient households by benefit");
        c.desc = T(p, "Horizontāli stabiņi: mājsaimniecību skaits, kam pabalsts piešķirts periodā.",
                   "Horizontal bars: the number of households granted each benefit in the period.");
        c.value_heading = T(p, "Mājsaimniecības", "Households");
        c.values = households;
        c.decimals = 0;
        hr_chart_add(p->d, &c);
    }
    free(labels);
    free(amounts);
    free(households);

    static const char *const lv[] = {"Pašvaldība", "Pabalsts", "Mājsaimniecības", "Piešķīrumi", "Summa, EUR"};
    static const char *const en[] = {"Municipality", "Benefit", "Households", "Grants", "Amount, EUR"};
    static const unsigned char num[] = {0, 0, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Pabalsti pa pašvaldībām", "Benefits by municipality"), p->lv ? lv : en, num, 5);
    char b[3][48];
    for (size_t i = 0; i <= r->n_rows; i++) {
        arow *w = i < r->n_rows ? r->rows[i] : r->total;
        for (size_t k = 0; w && k < w->n_benefits; k++) {
            const Atb__V1__BenefitFigures *f = w->benefits[k];
            const char *cells[5] = {row_name(p, w), f->benefit, count(p, f->households, b[0], 48),
                                    count(p, f->grants, b[1], 48), euros(p, f->amount_cents, b[2], 48)};
            hr_table_row(p->d, cells);
        }
    }
    hr_table_end(p->d);
}

/* One series chart of the total rows of the points: fig picks the figure. */
static void assistance_series(page *p, const cli_html_point *pts, size_t n, hr_chart_kind kind, const char *title,
                              const char *desc, const char *label_heading, const char *value_heading,
                              int64_t (*fig)(arow *), int decimals)
{
    const char **labels = calloc(n + 1, sizeof *labels);
    int64_t *values = calloc(n + 1, sizeof *values);
    if (labels && values) {
        for (size_t i = 0; i < n; i++) {
            const Atb__V1__AssistanceReportReply *r = (const Atb__V1__AssistanceReportReply *)pts[i].reply;
            labels[i] = pts[i].label;
            values[i] = r && r->total ? fig(r->total) : 0;
        }
        hr_chart c = {.kind = kind, .title = title, .desc = desc, .label_heading = label_heading,
                      .value_heading = value_heading, .labels = labels, .values = values, .n = n,
                      .decimals = decimals};
        hr_chart_add(p->d, &c);
    }
    free(labels);
    free(values);
}

static int64_t fig_needy(arow *w) { return w->needy ? w->needy->households : 0; }
static int64_t fig_amount(arow *w) { return benefits_amount(w); }
static int64_t fig_decisions(arow *w) { return w->decisions; }

/* The charts over time, by month then by year: one row a chart, texts Latvian then English. */
typedef struct series_chart {
    bool yearly;
    hr_chart_kind kind;
    const char *title[2], *desc[2], *value_heading[2];
    int64_t (*fig)(arow *);
    int decimals;
} series_chart;

static const series_chart over_time[] = {
    {false, HR_COLUMNS, {"Piešķirtā summa pa mēnešiem, EUR", "Amount granted by month, EUR"},
     {"Stabiņi: visu pabalstu piešķirtā summa katrā mēnesī.",
      "Columns: the amount of all benefits granted for each month."},
     {"Summa, EUR", "Amount, EUR"}, fig_amount, 2},
    {false, HR_LINE, {"Trūcīgās mājsaimniecības pa mēnešiem", "Needy households by month"},
     {"Līnija: mājsaimniecības ar trūcīgas personas statusu, kas spēkā mēnesī.",
      "Line: households with needy status in force in each month."},
     {"Mājsaimniecības", "Households"}, fig_needy, 0},
    {false, HR_LINE, {"Lēmumi pa mēnešiem", "Decisions by month"},
     {"Līnija: pieņemto lēmumu skaits katrā mēnesī.", "Line: the number of decisions made in each month."},
     {"Lēmumi", "Decisions"}, fig_decisions, 0},
    {true, HR_COLUMNS, {"Piešķirtā summa pa gadiem, EUR", "Amount granted by year, EUR"},
     {"Stabiņi: visu pabalstu piešķirtā summa katrā gadā.",
      "Columns: the amount of all benefits granted for each year."},
     {"Summa, EUR", "Amount, EUR"}, fig_amount, 2},
    {true, HR_COLUMNS, {"Lēmumi pa gadiem", "Decisions by year"},
     {"Stabiņi: pieņemto lēmumu skaits katrā gadā.", "Columns: the number of decisions made in each year."},
     {"Lēmumi", "Decisions"}, fig_decisions, 0},
};

static void assistance_over_time(page *p, const cli_html_ctx *ctx)
{
    if (!ctx || (ctx->n_months == 0 && ctx->n_years == 0))
        return;
    hr_section(p->d, T(p, "Pa mēnešiem un gadiem", "By month and by year"));
    hr_para(p->d, T(p,
                    "Katrs punkts ir tas pats pārskats par vienu mēnesi vai gadu: persona vai mājsaimniecība, kam "
                    "statuss ir spēkā vairākos mēnešos, tiek skaitīta katrā no tiem.",
                    "Each point is the same report for one month or year: a person or household whose status is in "
                    "force in several months counts in each of them."));
    int en = p->lv ? 0 : 1;
    for (size_t i = 0; i < sizeof over_time / sizeof over_time[0]; i++) {
        const series_chart *sc = &over_time[i];
        const cli_html_point *pts = sc->yearly ? ctx->years : ctx->months;
        size_t n = sc->yearly ? ctx->n_years : ctx->n_months;
        if (n == 0)
            continue;
        assistance_series(p, pts, n, sc->kind, sc->title[en], sc->desc[en],
                          sc->yearly ? T(p, "Gads", "Year") : T(p, "Mēnesis", "Month"), sc->value_heading[en],
                          sc->fig, sc->decimals);
    }
}

static void assistance_page(page *p, const ProtobufCMessage *m, const cli_html_ctx *ctx)
{
    const Atb__V1__AssistanceReportReply *r = (const Atb__V1__AssistanceReportReply *)m;
    assistance_summary(p, r);
    assistance_indicators(p, r);
    assistance_benefits(p, r);
    assistance_over_time(p, ctx);
    char line[256];
    snprintf(line, sizeof line,
             p->lv ? "Dati no notikumu žurnāla: lēmumi līdz pozīcijai %lld, iesniegumi līdz pozīcijai %lld."
                   : "Figures from the event log: decisions up to position %lld, applications up to position %lld.",
             (long long)r->decisions_position, (long long)r->applications_position);
    hr_footer(p->d, line);
}

/* ---- ServicesReportReply ---------------------------------------------------------------- */

static const char *or_total(const page *p, const char *tenant)
{
    return tenant && tenant[0] ? tenant : T(p, "Kopā", "Total");
}

/* A bar chart of n figures picked from rows whose tenant is "" (the totals). */
typedef struct bars {
    const char **labels;
    int64_t *values;
    size_t n;
} bars;

static bool bars_alloc(bars *b, size_t cap)
{
    b->labels = calloc(cap + 1, sizeof *b->labels);
    b->values = calloc(cap + 1, sizeof *b->values);
    b->n = 0;
    return b->labels && b->values;
}

static void bars_draw(page *p, bars *b, const char *title, const char *desc, const char *label_heading,
                      const char *value_heading, int decimals)
{
    if (b->labels && b->values) {
        hr_chart c = {.kind = HR_BARS, .title = title, .desc = desc, .label_heading = label_heading,
                      .value_heading = value_heading, .labels = b->labels, .values = b->values, .n = b->n,
                      .decimals = decimals};
        hr_chart_add(p->d, &c);
    }
    free(b->labels);
    free(b->values);
}

static void services_sections(page *p, const Atb__V1__ServicesReportReply *r)
{
    char b[8][48];
    hr_section(p->d, T(p, "Sociālie pakalpojumi", "Social services"));
    bars ch;
    if (bars_alloc(&ch, r->n_services)) {
        for (size_t i = 0; i < r->n_services; i++)
            if (!r->services[i]->tenant[0]) {
                ch.labels[ch.n] = r->services[i]->service;
                ch.values[ch.n++] = r->services[i]->clients;
            }
    }
    bars_draw(p, &ch, T(p, "Klienti pa pakalpojumiem", "Clients by service"),
              T(p, "Horizontāli stabiņi: klientu skaits katrā pakalpojumā periodā, visas pašvaldības kopā.",
                "Horizontal bars: the clients of each service in the period, all the municipalities together."),
              T(p, "Pakalpojums", "Service"), T(p, "Klienti", "Clients"), 0);
    static const char *const lv[] = {"Pašvaldība", "Pakalpojums", "Vienība", "Klienti", "Vietā perioda beigās",
                                     "Uzņemti", "Ārpus rindas", "Izrakstīti", "Vietu dienas", "Stundas"};
    static const char *const en[] = {"Municipality", "Service", "Unit", "Clients", "In place at the end",
                                     "Admitted", "Emergency", "Discharged", "Place-days", "Hours"};
    static const unsigned char num[] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Pakalpojumi pa pašvaldībām", "Services by municipality"), p->lv ? lv : en, num, 10);
    for (size_t i = 0; i < r->n_services; i++) {
        const Atb__V1__ServiceFigures *f = r->services[i];
        const char *cells[10] = {or_total(p, f->tenant), f->service, f->unit, count(p, f->clients, b[0], 48),
                                 count(p, f->in_place_on_end, b[1], 48), count(p, f->admissions, b[2], 48),
                                 count(p, f->emergency_admissions, b[3], 48), count(p, f->discharges, b[4], 48),
                                 count(p, f->place_days, b[5], 48), count(p, f->hours, b[6], 48)};
        hr_table_row(p->d, cells);
    }
    hr_table_end(p->d);
    static const char *const plv[] = {"Pašvaldība", "Pakalpojums", "Sniedzējs", "Sniedzēja pašvaldība", "Klienti",
                                      "Uzņemti", "Izrakstīti"};
    static const char *const pen[] = {"Municipality", "Service", "Provider", "Provider's municipality", "Clients",
                                      "Admitted", "Discharged"};
    static const unsigned char pnum[] = {0, 0, 0, 0, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Pakalpojumi pa sniedzējiem", "Services by provider"), p->lv ? plv : pen, pnum, 7);
    for (size_t i = 0; i < r->n_providers; i++) {
        const Atb__V1__ServiceFigures *f = r->providers[i];
        const char *cells[7] = {or_total(p, f->tenant), f->service, f->provider, f->owner,
                                count(p, f->clients, b[0], 48), count(p, f->admissions, b[1], 48),
                                count(p, f->discharges, b[2], 48)};
        hr_table_row(p->d, cells);
    }
    hr_table_end(p->d);

    hr_section(p->d, T(p, "Rindas", "Waiting lists"));
    if (bars_alloc(&ch, r->n_waiting)) {
        for (size_t i = 0; i < r->n_waiting; i++)
            if (!r->waiting[i]->tenant[0]) {
                ch.labels[ch.n] = r->waiting[i]->service;
                ch.values[ch.n++] = r->waiting[i]->waiting_on_end;
            }
    }
    bars_draw(p, &ch, T(p, "Rindā perioda beigās pa pakalpojumiem", "Waiting at the end of the period by service"),
              T(p, "Horizontāli stabiņi: pieprasījumi rindā perioda pēdējā dienā.",
                "Horizontal bars: the requests on the list on the last day of the period."),
              T(p, "Pakalpojums", "Service"), T(p, "Rindā", "Waiting"), 0);
    static const char *const wlv[] = {"Pašvaldība", "Pakalpojums", "Pieteicās", "Rindā beigās",
                                      "Vidēji gaida, dienas", "Ilgākais, dienas", "Uzņemti no rindas",
                                      "Vidēji gaidīja, dienas"};
    static const char *const wen[] = {"Municipality", "Service", "Joined", "Waiting at the end", "Average wait, days",
                                      "Longest, days", "Admitted from the list", "Their average wait, days"};
    static const unsigned char wnum[] = {0, 0, 1, 1, 1, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Rindas un gaidīšanas laiks", "Waiting lists and waiting times"), p->lv ? wlv : wen,
                   wnum, 8);
    for (size_t i = 0; i < r->n_waiting; i++) {
        const Atb__V1__WaitingFigures *f = r->waiting[i];
        /* averages in whole days, rounded half up; "-" when nobody waits */
        char avg1[48] = "-", avg2[48] = "-";
        if (f->waiting_on_end > 0)
            count(p, (f->waiting_days_on_end * 2 + f->waiting_on_end) / (2 * f->waiting_on_end), avg1, 48);
        if (f->admitted > 0)
            count(p, (f->admitted_waiting_days * 2 + f->admitted) / (2 * f->admitted), avg2, 48);
        const char *cells[8] = {or_total(p, f->tenant), f->service, count(p, f->joined, b[0], 48),
                                count(p, f->waiting_on_end, b[1], 48), avg1, count(p, f->max_waiting_days, b[2], 48),
                                count(p, f->admitted, b[3], 48), avg2};
        hr_table_row(p->d, cells);
    }
    hr_table_end(p->d);
}

static void positions_footer(page *p, const char *lv_fmt, const char *en_fmt, long long x, long long y)
{
    char line[256];
    snprintf(line, sizeof line, p->lv ? lv_fmt : en_fmt, x, y);
    hr_footer(p->d, line);
}

static void services_page(page *p, const ProtobufCMessage *m, const cli_html_ctx *ctx)
{
    (void)ctx;
    const Atb__V1__ServicesReportReply *r = (const Atb__V1__ServicesReportReply *)m;
    services_sections(p, r);
    positions_footer(p, "Dati no notikumu žurnāla: izvietojumi līdz pozīcijai %lld, pieprasījumi līdz pozīcijai %lld.",
                     "Figures from the event log: placements up to position %lld, requests up to position %lld.",
                     (long long)r->placements_position, (long long)r->requests_position);
}

/* ---- BudgetExecutionReply ----------------------------------------------------------------- */

static const char *funding_name(const page *p, int v)
{
    switch (v) {
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL: return T(p, "pašvaldības budžets", "municipal budget");
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_STATE: return T(p, "valsts budžets", "state budget");
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_EU: return T(p, "ES fondi", "EU funds");
    default: return T(p, "nav norādīts", "not given");
    }
}

static void budget_sections(page *p, const Atb__V1__BudgetExecutionReply *r)
{
    hr_section(p->d, T(p, "Budžeta izpilde", "Budget execution"));
    bars ch;
    if (bars_alloc(&ch, r->n_lines)) {
        /* totals per EKK code over the funding sources, in the order the codes come */
        for (size_t i = 0; i < r->n_lines; i++) {
            const Atb__V1__BudgetFigures *f = r->lines[i];
            if (f->tenant[0])
                continue;
            size_t k = 0;
            while (k < ch.n && strcmp(ch.labels[k], f->budget_code) != 0)
                k++;
            if (k == ch.n)
                ch.labels[ch.n++] = f->budget_code;
            ch.values[k] += f->net_cents;
        }
    }
    bars_draw(p, &ch, T(p, "Izmaksāts (neto) pa EKK kodiem, EUR", "Paid (net) by EKK code, EUR"),
              T(p, "Horizontāli stabiņi: periodā izmaksātais, atskaitot atgūto, katram ekonomiskās klasifikācijas kodam.",
                "Horizontal bars: paid in the period less recovered, for each economic classification code."),
              T(p, "EKK", "EKK"), T(p, "Neto, EUR", "Net, EUR"), 2);
    static const char *const lv[] = {"Pašvaldība", "EKK", "Finansējums", "Plānots", "Izmaksāts", "Maksājumi",
                                     "Atgūstams", "Neto", "Ieturēts"};
    static const char *const en[] = {"Municipality", "EKK", "Funding", "Scheduled", "Paid", "Payments", "Recovered",
                                     "Net", "Recovered by offset"};
    static const unsigned char num[] = {0, 0, 0, 1, 1, 1, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Izdevumi pa EKK kodiem un finansējuma avotiem, EUR",
                           "Spending by EKK code and funding source, EUR"),
                   p->lv ? lv : en, num, 9);
    char b[6][48];
    for (size_t i = 0; i < r->n_lines; i++) {
        const Atb__V1__BudgetFigures *f = r->lines[i];
        const char *cells[9] = {or_total(p, f->tenant), f->budget_code, funding_name(p, f->funding),
                                euros(p, f->scheduled_cents, b[0], 48), euros(p, f->paid_cents, b[1], 48),
                                count(p, f->paid_orders, b[2], 48), euros(p, f->recovered_cents, b[3], 48),
                                euros(p, f->net_cents, b[4], 48), euros(p, f->recovered_by_offset_cents, b[5], 48)};
        hr_table_row(p->d, cells);
    }
    hr_table_end(p->d);
}

static void budget_page(page *p, const ProtobufCMessage *m, const cli_html_ctx *ctx)
{
    (void)ctx;
    const Atb__V1__BudgetExecutionReply *r = (const Atb__V1__BudgetExecutionReply *)m;
    budget_sections(p, r);
    char line[160];
    snprintf(line, sizeof line, p->lv ? "Dati no notikumu žurnāla: maksājumi līdz pozīcijai %lld."
                                      : "Figures from the event log: payments up to position %lld.",
             (long long)r->payments_position);
    hr_footer(p->d, line);
}

/* ---- IndicatorsReportReply ---------------------------------------------------------------- */

static void indicators_sections(page *p, const Atb__V1__IndicatorsReportReply *r)
{
    hr_section(p->d, T(p, "Stratēģijas rādītāji", "Strategy indicators"));
    char on_t[32], ov_t[32];
    snprintf(on_t, sizeof on_t, "≥ %lld%%", (long long)(r->on_time_target_bp / 100));
    snprintf(ov_t, sizeof ov_t, "≤ %lld%%", (long long)(r->overturned_target_bp / 100));
    static const char *const lv[] = {"Pašvaldība", "Izlemtie iesniegumi", "Termiņā", "Mērķis", "Pārsūdzēti",
                                     "Atcelti vai grozīti", "Mērķis", "Klienti", "Sociālie darbinieki",
                                     "Klienti uz darbinieku", "Atkārtoti gada laikā"};
    static const char *const en[] = {"Municipality", "Applications decided", "On time", "Target", "Appealed",
                                     "Annulled or changed", "Target", "Clients", "Social workers",
                                     "Clients per worker", "Repeat within a year"};
    static const unsigned char num[] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Lēmumi, pārsūdzības un klienti", "Decisions, appeals and clients"), p->lv ? lv : en,
                   num, 11);
    char b[9][48];
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__StrategyFigures *f = i < r->n_rows ? r->rows[i] : r->total;
        if (!f)
            continue;
        /* clients per social worker with one decimal, integer arithmetic */
        char per[48] = "-";
        if (f->social_workers > 0)
            hr_number((f->clients * 20 + f->social_workers) / (2 * f->social_workers), 1, p->lang, per, sizeof per);
        const char *cells[11] = {or_total(p, f->tenant), count(p, f->applications_decided, b[0], 48),
                                 share(p, f->decided_on_time, f->applications_decided, b[1], 48), on_t,
                                 share(p, f->appealed, f->applications_decided, b[2], 48),
                                 share(p, f->overturned, f->applications_decided, b[3], 48), ov_t,
                                 count(p, f->clients, b[4], 48), count(p, f->social_workers, b[5], 48), per,
                                 share(p, f->repeat_applicants, f->applicants, b[6], 48)};
        hr_table_row(p->d, cells);
    }
    hr_table_end(p->d);
    if (r->n_regional == 0)
        return;
    hr_section(p->d, T(p, "Reģionālie rezultatīvie rādītāji (dokuments 003)", "Regional result indicators (document 003)"));
    bars ch;
    if (bars_alloc(&ch, r->n_regional))
        for (size_t i = 0; i < r->n_regional; i++) {
            ch.labels[ch.n] = r->regional[i]->id;
            ch.values[ch.n++] = r->regional[i]->actual;
        }
    bars_draw(p, &ch, T(p, "Faktiskā vērtība pa rādītājiem", "Actual value by indicator"),
              T(p, "Horizontāli stabiņi: katra reģionālā rādītāja faktiskā vērtība periodā; mērķi tabulā zemāk.",
                "Horizontal bars: the actual value of each regional indicator in the period; the targets are in "
                "the table below."),
              T(p, "Rādītājs", "Indicator"), T(p, "Faktiski", "Actual"), 0);
    static const char *const rlv[] = {"Nr.", "Rādītājs", "Vienība", "Bāze 2010", "Sākums 2011", "Mērķis 2018",
                                      "Faktiski"};
    static const char *const ren[] = {"No.", "Indicator", "Unit", "Base 2010", "Start 2011", "Target 2018", "Actual"};
    static const unsigned char rnum[] = {0, 0, 0, 1, 1, 1, 1};
    hr_table_begin(p->d, T(p, "Rādītāji un mērķi", "Indicators and targets"), p->lv ? rlv : ren, rnum, 7);
    for (size_t i = 0; i < r->n_regional; i++) {
        const Atb__V1__RegionalIndicator *g = r->regional[i];
        const char *cells[7] = {g->id, p->lv ? g->label_lv : g->label_en, g->unit,
                                g->has_base ? count(p, g->base_2010, b[0], 48) : "-",
                                g->has_start ? count(p, g->start_2011, b[1], 48) : "-",
                                count(p, g->target_2018, b[2], 48), count(p, g->actual, b[3], 48)};
        hr_table_row(p->d, cells);
    }
    hr_table_end(p->d);
}

static void indicators_page(page *p, const ProtobufCMessage *m, const cli_html_ctx *ctx)
{
    (void)ctx;
    const Atb__V1__IndicatorsReportReply *r = (const Atb__V1__IndicatorsReportReply *)m;
    indicators_sections(p, r);
    positions_footer(p, "Dati no notikumu žurnāla: iesniegumi līdz pozīcijai %lld, pārsūdzības līdz pozīcijai %lld.",
                     "Figures from the event log: applications up to position %lld, appeals up to position %lld.",
                     (long long)r->applications_position, (long long)r->appeals_position);
}

/* ---- MinistryReportReply: the sections above, in the report's order ------------------------ */

static void ministry_page(page *p, const ProtobufCMessage *m, const cli_html_ctx *ctx)
{
    (void)ctx;
    const Atb__V1__MinistryReportReply *r = (const Atb__V1__MinistryReportReply *)m;
    if (r->assistance) {
        assistance_summary(p, r->assistance);
        assistance_benefits(p, r->assistance);
    }
    if (r->n_persons_by_age) {
        hr_section(p->d, T(p, "Personas pa vecuma grupām un dzimuma", "Persons by age group and sex"));
        static const char *const lv[] = {"Pašvaldība", "Statuss", "0-17", "18-64", "65+", "Nezināms", "Sievietes",
                                         "Vīrieši"};
        static const char *const en[] = {"Municipality", "Status", "0-17", "18-64", "65+", "Unknown", "Women", "Men"};
        static const unsigned char num[] = {0, 0, 1, 1, 1, 1, 1, 1};
        hr_table_begin(p->d, T(p, "Trūcīgo un maznodrošināto mājsaimniecību personas gada 31. decembrī",
                               "Persons of needy and low-income households, age on 31 December"),
                       p->lv ? lv : en, num, 8);
        char b[6][48];
        for (size_t i = 0; i < r->n_persons_by_age; i++) {
            const Atb__V1__PersonsByAge *f = r->persons_by_age[i];
            const char *st = f->status == 1 ? T(p, "trūcīga", "needy") : T(p, "maznodrošināta", "low income");
            const char *cells[8] = {or_total(p, f->tenant), st, count(p, f->children, b[0], 48),
                                    count(p, f->working_age, b[1], 48), count(p, f->pension_age, b[2], 48),
                                    count(p, f->age_unknown, b[3], 48), count(p, f->women, b[4], 48),
                                    count(p, f->men, b[5], 48)};
            hr_table_row(p->d, cells);
        }
        hr_table_end(p->d);
    }
    if (r->services)
        services_sections(p, r->services);
    if (r->budget)
        budget_sections(p, r->budget);
    if (r->indicators)
        indicators_sections(p, r->indicators);
    positions_footer(p, "Visas sadaļas nolasītas notikumu žurnāla pozīcijā %lld (gads %lld).",
                     "Every section read at event log position %lld (year %lld).", (long long)r->as_of_position,
                     (long long)r->year);
}

/* ---- the table of layouts --------------------------------------------------------------- */

typedef struct layout {
    const ProtobufCMessageDescriptor *type;
    const char *title_lv, *title_en;
    void (*render)(page *p, const ProtobufCMessage *reply, const cli_html_ctx *ctx);
} layout;

static const layout LAYOUTS[] = {
    {&atb__v1__assistance_report_reply__descriptor, "Sociālā palīdzība", "Social assistance", assistance_page},
    {&atb__v1__services_report_reply__descriptor, "Sociālie pakalpojumi", "Social services", services_page},
    {&atb__v1__budget_execution_reply__descriptor, "Budžeta izpilde", "Budget execution", budget_page},
    {&atb__v1__indicators_report_reply__descriptor, "Stratēģijas un reģionālie rādītāji",
     "Strategy and regional indicators", indicators_page},
    {&atb__v1__ministry_report_reply__descriptor, "Pārskats Labklājības ministrijai par sociālajiem pakalpojumiem un "
     "sociālo palīdzību", "Report to the Ministry of Welfare on social services and social assistance", ministry_page},
};

int cli_report_html_ex(const char *path, const char *kind, const ProtobufCMessage *reply, const cli_html_ctx *ctx,
                       const char *lang, at_error *err)
{
    if (!lang)
        lang = "lv";
    if (strcmp(lang, "lv") != 0 && strcmp(lang, "en") != 0) {
        at_error_set(err, AT_VALIDATION, "lang", "unknown report language \"%s\"", lang);
        at_error_detail(err, "Reports are written in Latvian (lv) or English (en).");
        at_error_hint(err, "Give --lang lv or --lang en.");
        return AT_VALIDATION;
    }
    const layout *l = NULL;
    for (size_t i = 0; i < sizeof LAYOUTS / sizeof LAYOUTS[0]; i++)
        if (reply && reply->descriptor == LAYOUTS[i].type)
            l = &LAYOUTS[i];
    if (!l) {
        at_error_set(err, AT_VALIDATION, "html", "no HTML layout for the %s report", kind ? kind : "?");
        at_error_detail(err, "Report %s is printed as a table, CSV or JSON only.",
                        reply ? reply->descriptor->name : "(none)");
        at_error_hint(err, "Leave out --html, or give --csv or --json.");
        return AT_VALIDATION;
    }
    page p = {.lv = strcmp(lang, "lv") == 0, .lang = lang};
    char sub[128] = "";
    if (ctx && ctx->from && ctx->to)
        snprintf(sub, sizeof sub, "%s %s – %s", p.lv ? "Periods" : "Period", ctx->from, ctx->to);
    at_code code = hr_open(&p.d, lang, p.lv ? l->title_lv : l->title_en, sub[0] ? sub : NULL, err);
    if (code != AT_OK)
        return code;
    l->render(&p, reply, ctx);
    hr_footer(p.d, T(&p, "Rādītāju definīcijas: docs/reporting.md. Sagatavots ar atbalsts.",
                     "Definitions of the figures: docs/reporting.md. Made with atbalsts."));
    code = hr_write(p.d, path, err);
    hr_free(p.d);
    return code;
}

int cli_report_html(const char *path, const char *kind, const ProtobufCMessage *reply, const char *lang,
                    at_error *err)
{
    return cli_report_html_ex(path, kind, reply, NULL, lang, err);
}
