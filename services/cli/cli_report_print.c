/*
 * cli_report_print.c -- the report replies as terminal tables (Latvian labels, English with
 * --lang en; columns aligned by characters, not bytes) and as CSV (stable English names,
 * amounts in euros). The figures are the reply's; shares and averages are computed from
 * its counts with integer arithmetic (one decimal, rounded half up).
 */
#include "cli_report.h"

#include <stdio.h>
#include <string.h>

/* ---- formatting ---- */

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

/* sum/count with one decimal, "-" when count is 0. */
static void average(int64_t sum, int64_t count, char *buf, size_t n)
{
    if (count <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    int64_t tenths = (sum * 20 + count) / (2 * count);
    snprintf(buf, n, "%lld.%lld", (long long)(tenths / 10), (long long)(tenths % 10));
}

/* s left-aligned in `width` characters (not bytes: Latvian labels are UTF-8). */
static void col(const char *s, int width)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    printf("%s%*s ", s, width > chars ? width - chars : 0, "");
}

/* s right-aligned in `width` characters. */
static void rcol(const char *s, int width)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    printf("%*s%s ", width > chars ? width - chars : 0, "", s);
}

/* A table's column headings, right-aligned in width, and the end of the line. */
static void rheads(const char *const *heads, int n, int width)
{
    for (int i = 0; i < n; i++)
        rcol(heads[i], width);
    printf("\n");
}

static void ncol(int64_t v, int width)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    rcol(b, width);
}

static const char *who(const report_args *a, const char *tenant)
{
    return tenant[0] ? tenant : L(a, "kopā", "total");
}

static void footer(const report_args *a, int64_t as_of)
{
    if (as_of > 0)
        printf("\n%s %lld\n", L(a, "Kā zināms līdz žurnāla pozīcijai", "As known up to log position"),
               (long long)as_of);
}

/* ---- assistance ---- */

void cli_report_table_assistance(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to)
{
    const Atb__V1__AssistanceReportReply *r = (const Atb__V1__AssistanceReportReply *)m;
    char on_time[32], appealed[32], amount[32];
    printf("%s %s .. %s\n\n", L(a, "Sociālā palīdzība", "Social assistance"), from, to);
    col(L(a, "pašvaldība", "municipality"), 16);
    const char *heads[8] = {L(a, "trūc. mājs.", "needy hh"), L(a, "personas", "persons"),
                            L(a, "maznodr. mājs.", "low hh"), L(a, "personas", "persons"),
                            L(a, "lēmumi", "decisions"), L(a, "iesniegumi", "apps"),
                            L(a, "laikā", "on time"), L(a, "pārsūdzēti", "appealed")};
    rheads(heads, 8, 14);
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__AssistanceRow *w = i < r->n_rows ? r->rows[i] : r->total;
        if (!w)
            continue;
        share(w->decided_on_time, w->applications_decided, on_time, sizeof on_time);
        share(w->appealed, w->applications_decided, appealed, sizeof appealed);
        col(who(a, w->tenant), 16);
        ncol(w->needy ? w->needy->households : 0, 14);
        ncol(w->needy ? w->needy->persons : 0, 14);
        ncol(w->low_income ? w->low_income->households : 0, 14);
        ncol(w->low_income ? w->low_income->persons : 0, 14);
        ncol(w->decisions, 14);
        ncol(w->applications_decided, 14);
        rcol(on_time, 14);
        rcol(appealed, 14);
        printf("\n");
    }
    printf("\n");
    col(L(a, "pašvaldība", "municipality"), 16);
    col(L(a, "pabalsts", "benefit"), 12);
    rcol(L(a, "mājsaimniecības", "households"), 15);
    rcol(L(a, "piešķīrumi", "grants"), 10);
    rcol(L(a, "summa EUR", "amount EUR"), 14);
    printf("\n");
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__AssistanceRow *w = i < r->n_rows ? r->rows[i] : r->total;
        for (size_t k = 0; w && k < w->n_benefits; k++) {
            const Atb__V1__BenefitFigures *b = w->benefits[k];
            money(b->amount_cents, amount, sizeof amount);
            col(who(a, w->tenant), 16);
            col(b->benefit, 12);
            ncol(b->households, 15);
            ncol(b->grants, 10);
            rcol(amount, 14);
            printf("\n");
        }
    }
    printf("\n%s (%s %lld, %s %lld)\n",
           L(a, "mērķi: lēmumi laikā >= 98%, pārsūdzēti <= 2%", "targets: decided on time >= 98%, appealed <= 2%"),
           L(a, "žurnāla pozīcijas: lēmumi", "log positions: decisions"), (long long)r->decisions_position,
           L(a, "iesniegumi", "applications"), (long long)r->applications_position);
    footer(a, r->as_of_position);
}

static void csv_line(const char *who_, const char *figure, const char *benefit, long long v)
{
    printf("%s,%s,%s,%lld\n", who_, figure, benefit, v);
}

/* Municipality codes and benefit codes are identifiers without commas or quotes, so no
 * field needs quoting. */
void cli_report_csv_assistance(const report_args *a, const ProtobufCMessage *m)
{
    (void)a;
    const Atb__V1__AssistanceReportReply *r = (const Atb__V1__AssistanceReportReply *)m;
    char amount[24];
    printf("municipality,figure,benefit,value\n");
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__AssistanceRow *w = i < r->n_rows ? r->rows[i] : r->total;
        if (!w)
            continue;
        const char *t = w->tenant[0] ? w->tenant : "total";
        csv_line(t, "needy_households", "", w->needy ? w->needy->households : 0);
        csv_line(t, "needy_persons", "", w->needy ? w->needy->persons : 0);
        csv_line(t, "low_income_households", "", w->low_income ? w->low_income->households : 0);
        csv_line(t, "low_income_persons", "", w->low_income ? w->low_income->persons : 0);
        csv_line(t, "decisions", "", w->decisions);
        csv_line(t, "applications_decided", "", w->applications_decided);
        csv_line(t, "decided_on_time", "", w->decided_on_time);
        csv_line(t, "appealed", "", w->appealed);
        for (size_t k = 0; k < w->n_benefits; k++) {
            const Atb__V1__BenefitFigures *b = w->benefits[k];
            csv_line(t, "benefit_households", b->benefit, b->households);
            csv_line(t, "benefit_grants", b->benefit, b->grants);
            money(b->amount_cents, amount, sizeof amount);
            printf("%s,benefit_amount_eur,%s,%s\n", t, b->benefit, amount);
        }
    }
}

/* ---- services ---- */

static void services_lines(const report_args *a, Atb__V1__ServiceFigures *const *f, size_t n, bool providers)
{
    col(L(a, "pašvaldība", "municipality"), 12);
    col(L(a, "pakalpojums", "service"), 16);
    if (providers)
        col(L(a, "sniedzējs", "provider"), 24);
    const char *heads[10] = {L(a, "klienti", "clients"),      L(a, "vietā beigās", "at end"),
                             L(a, "slodze", "load"),           L(a, "kapacitāte", "capacity"),
                             L(a, "vietu dienas", "place days"), L(a, "stundas", "hours"),
                             L(a, "braucieni", "trips"),       L(a, "uzņemti", "admitted"),
                             L(a, "t.sk. ārkārtas", "emergency"), L(a, "izrakstīti", "discharged")};
    rheads(heads, 10, 12);
    for (size_t i = 0; i < n; i++) {
        char unit[128];
        col(who(a, f[i]->tenant), 12);
        col(f[i]->service, 16);
        if (providers) {
            snprintf(unit, sizeof unit, "%s.%s", f[i]->owner, f[i]->provider);
            col(unit, 24);
        }
        int64_t v[10] = {f[i]->clients, f[i]->in_place_on_end, f[i]->load_on_end, f[i]->capacity,
                         f[i]->place_days, f[i]->hours, f[i]->trips, f[i]->admissions,
                         f[i]->emergency_admissions, f[i]->discharges};
        for (int k = 0; k < 10; k++)
            ncol(v[k], 12);
        printf("\n");
    }
}

void cli_report_table_services(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to)
{
    const Atb__V1__ServicesReportReply *r = (const Atb__V1__ServicesReportReply *)m;
    printf("%s %s .. %s\n\n", L(a, "Sociālie pakalpojumi", "Social services"), from, to);
    services_lines(a, r->providers, r->n_providers, true);
    printf("\n");
    services_lines(a, r->services, r->n_services, false);
    printf("\n%s\n", L(a, "Rindas", "Waiting lists"));
    col(L(a, "pašvaldība", "municipality"), 12);
    col(L(a, "pakalpojums", "service"), 16);
    const char *heads[6] = {L(a, "pieteicās", "joined"),         L(a, "rindā beigās", "waiting"),
                            L(a, "vid. gaida d.", "avg wait d"), L(a, "ilgākā d.", "longest d"),
                            L(a, "uzņemti", "admitted"),          L(a, "vid. gaidīja d.", "avg waited d")};
    rheads(heads, 6, 16);
    for (size_t i = 0; i < r->n_waiting; i++) {
        const Atb__V1__WaitingFigures *w = r->waiting[i];
        char avg[32], avg2[32];
        average(w->waiting_days_on_end, w->waiting_on_end, avg, sizeof avg);
        average(w->admitted_waiting_days, w->admitted, avg2, sizeof avg2);
        col(who(a, w->tenant), 12);
        col(w->service, 16);
        ncol(w->joined, 16);
        ncol(w->waiting_on_end, 16);
        rcol(avg, 16);
        ncol(w->max_waiting_days, 16);
        ncol(w->admitted, 16);
        rcol(avg2, 16);
        printf("\n");
    }
    printf("\n%s %lld, %s %lld\n", L(a, "žurnāla pozīcijas: vietas", "log positions: placements"),
           (long long)r->placements_position, L(a, "pieprasījumi", "requests"), (long long)r->requests_position);
    footer(a, r->as_of_position);
}

void cli_report_csv_services(const report_args *a, const ProtobufCMessage *m)
{
    (void)a;
    const Atb__V1__ServicesReportReply *r = (const Atb__V1__ServicesReportReply *)m;
    static const char *const names[10] = {"clients", "in_place_on_end", "load_on_end", "capacity", "place_days",
                                          "hours", "trips", "admissions", "emergency_admissions", "discharges"};
    printf("municipality,service,provider,figure,value\n");
    for (size_t i = 0; i < r->n_providers + r->n_services; i++) {
        const Atb__V1__ServiceFigures *f = i < r->n_providers ? r->providers[i] : r->services[i - r->n_providers];
        int64_t v[10] = {f->clients, f->in_place_on_end, f->load_on_end, f->capacity, f->place_days, f->hours,
                         f->trips, f->admissions, f->emergency_admissions, f->discharges};
        for (int k = 0; k < 10; k++)
            printf("%s,%s,%s%s%s,%s,%lld\n", f->tenant[0] ? f->tenant : "total", f->service, f->owner,
                   f->owner[0] ? "." : "", f->provider, names[k], (long long)v[k]);
    }
    for (size_t i = 0; i < r->n_waiting; i++) {
        const Atb__V1__WaitingFigures *w = r->waiting[i];
        static const char *const wn[6] = {"joined", "waiting_on_end", "waiting_days_on_end", "max_waiting_days",
                                          "admitted", "admitted_waiting_days"};
        int64_t v[6] = {w->joined, w->waiting_on_end, w->waiting_days_on_end, w->max_waiting_days, w->admitted,
                        w->admitted_waiting_days};
        for (int k = 0; k < 6; k++)
            printf("%s,%s,,%s,%lld\n", w->tenant[0] ? w->tenant : "total", w->service, wn[k], (long long)v[k]);
    }
}

/* ---- budget ---- */

static const char *funding_label(const report_args *a, Atb__V1__FundingSource f)
{
    switch (f) {
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL: return L(a, "pašvaldība", "municipal");
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_STATE: return L(a, "valsts", "state");
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_EU: return L(a, "ES fondi", "EU funds");
    default: return L(a, "nav norādīts", "not given");
    }
}

static const char *funding_code(Atb__V1__FundingSource f)
{
    switch (f) {
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL: return "municipal";
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_STATE: return "state";
    case ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_EU: return "eu";
    default: return "unspecified";
    }
}

void cli_report_table_budget(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to)
{
    const Atb__V1__BudgetExecutionReply *r = (const Atb__V1__BudgetExecutionReply *)m;
    printf("%s %s .. %s\n\n", L(a, "Budžeta izpilde", "Budget execution"), from, to);
    col(L(a, "pašvaldība", "municipality"), 12);
    col("EKK", 6);
    col(L(a, "finansējums", "funding"), 14);
    const char *heads[6] = {L(a, "plānots EUR", "scheduled EUR"), L(a, "izmaksāts EUR", "paid EUR"),
                            L(a, "maksājumi", "orders"), L(a, "atgūstams EUR", "recovered EUR"),
                            L(a, "neto EUR", "net EUR"), L(a, "ieturēts EUR", "by offset EUR")};
    rheads(heads, 6, 15);
    for (size_t i = 0; i < r->n_lines; i++) {
        const Atb__V1__BudgetFigures *b = r->lines[i];
        char s[32], p[32], rec[32], net[32], off[32];
        money(b->scheduled_cents, s, sizeof s);
        money(b->paid_cents, p, sizeof p);
        money(b->recovered_cents, rec, sizeof rec);
        money(b->net_cents, net, sizeof net);
        money(b->recovered_by_offset_cents, off, sizeof off);
        col(who(a, b->tenant), 12);
        col(b->budget_code[0] ? b->budget_code : "-", 6);
        col(funding_label(a, b->funding), 14);
        rcol(s, 15);
        rcol(p, 15);
        ncol(b->paid_orders, 15);
        rcol(rec, 15);
        rcol(net, 15);
        rcol(off, 15);
        printf("\n");
    }
    printf("\n%s %lld\n", L(a, "žurnāla pozīcija: maksājumi", "log position: payments"),
           (long long)r->payments_position);
    footer(a, r->as_of_position);
}

void cli_report_csv_budget(const report_args *a, const ProtobufCMessage *m)
{
    (void)a;
    const Atb__V1__BudgetExecutionReply *r = (const Atb__V1__BudgetExecutionReply *)m;
    printf("municipality,ekk,funding,scheduled_eur,paid_eur,paid_orders,recovered_eur,net_eur,"
           "recovered_by_offset_eur\n");
    for (size_t i = 0; i < r->n_lines; i++) {
        const Atb__V1__BudgetFigures *b = r->lines[i];
        char s[32], p[32], rec[32], net[32], off[32];
        money(b->scheduled_cents, s, sizeof s);
        money(b->paid_cents, p, sizeof p);
        money(b->recovered_cents, rec, sizeof rec);
        money(b->net_cents, net, sizeof net);
        money(b->recovered_by_offset_cents, off, sizeof off);
        printf("%s,%s,%s,%s,%s,%lld,%s,%s,%s\n", b->tenant[0] ? b->tenant : "total", b->budget_code,
               funding_code(b->funding), s, p, (long long)b->paid_orders, rec, net, off);
    }
}

/* ---- indicators ---- */

void cli_report_table_indicators(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to)
{
    const Atb__V1__IndicatorsReportReply *r = (const Atb__V1__IndicatorsReportReply *)m;
    char target_on_time[32], target_over[32];
    share(r->on_time_target_bp, 10000, target_on_time, sizeof target_on_time);
    share(r->overturned_target_bp, 10000, target_over, sizeof target_over);
    printf("%s %s .. %s\n\n", L(a, "Stratēģijas rādītāji", "Strategy indicators"), from, to);
    col(L(a, "pašvaldība", "municipality"), 12);
    const char *heads[10] = {L(a, "lēmumi", "decided"),          L(a, "laikā", "on time"),
                             L(a, "pārsūdzēti", "appealed"),     L(a, "atcelti/grozīti", "overturned"),
                             L(a, "klienti", "clients"),         L(a, "soc. darbinieki", "workers"),
                             L(a, "klienti uz darb.", "per worker"), L(a, "atkārtoti", "repeat"),
                             L(a, "sniedzēji", "providers"),     L(a, "pakalpojumi", "services")};
    rheads(heads, 10, 16);
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__StrategyFigures *f = i < r->n_rows ? r->rows[i] : r->total;
        if (!f)
            continue;
        char on_time[32], appealed[32], over[32], per[32], repeat[32];
        share(f->decided_on_time, f->applications_decided, on_time, sizeof on_time);
        share(f->appealed, f->applications_decided, appealed, sizeof appealed);
        share(f->overturned, f->applications_decided, over, sizeof over);
        average(f->clients, f->social_workers, per, sizeof per);
        share(f->repeat_applicants, f->applicants, repeat, sizeof repeat);
        col(who(a, f->tenant), 12);
        ncol(f->applications_decided, 16);
        rcol(on_time, 16);
        rcol(appealed, 16);
        rcol(over, 16);
        ncol(f->clients, 16);
        ncol(f->social_workers, 16);
        rcol(per, 16);
        rcol(repeat, 16);
        ncol(f->providers, 16);
        ncol(f->services, 16);
        printf("\n");
    }
    printf("\n%s %s, %s %s\n", L(a, "mērķi: lēmumi laikā >=", "targets: decided on time >="), target_on_time,
           L(a, "pārsūdzēti un atcelti <=", "appealed and annulled <="), target_over);
    printf("\n%s\n", L(a, "Reģionālie rezultātu rādītāji (dokuments 003)", "Regional result indicators (document 003)"));
    col("Nr.", 22);
    col(L(a, "rādītājs", "indicator"), 48);
    col(L(a, "mērvienība", "unit"), 14);
    const char *rh[4] = {L(a, "2010", "2010"), L(a, "2011", "2011"), L(a, "faktiski", "actual"),
                         L(a, "mērķis 2018", "target 2018")};
    for (int i = 0; i < 4; i++)
        rcol(rh[i], 12);
    printf("\n");
    for (size_t i = 0; i < r->n_regional; i++) {
        const Atb__V1__RegionalIndicator *x = r->regional[i];
        char base[24], start[24];
        snprintf(base, sizeof base, x->has_base ? "%lld" : "-", (long long)x->base_2010);
        snprintf(start, sizeof start, x->has_start ? "%lld" : "-", (long long)x->start_2011);
        col(x->id, 22);
        col(a->en ? x->label_en : x->label_lv, 48);
        col(strcmp(x->unit, "providers") == 0 ? L(a, "sniedzēji", "providers") : L(a, "pašvaldības", "municipalities"),
            14);
        rcol(base, 12);
        rcol(start, 12);
        ncol(x->actual, 12);
        ncol(x->target_2018, 12);
        printf("\n");
    }
    footer(a, r->as_of_position);
}

void cli_report_csv_indicators(const report_args *a, const ProtobufCMessage *m)
{
    (void)a;
    const Atb__V1__IndicatorsReportReply *r = (const Atb__V1__IndicatorsReportReply *)m;
    static const char *const names[10] = {"applications_decided", "decided_on_time", "appealed", "overturned",
                                          "clients", "social_workers", "applicants", "repeat_applicants",
                                          "providers", "services"};
    printf("section,key,figure,value\n");
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__StrategyFigures *f = i < r->n_rows ? r->rows[i] : r->total;
        if (!f)
            continue;
        int64_t v[10] = {f->applications_decided, f->decided_on_time, f->appealed, f->overturned, f->clients,
                         f->social_workers, f->applicants, f->repeat_applicants, f->providers, f->services};
        for (int k = 0; k < 10; k++)
            printf("strategy,%s,%s,%lld\n", f->tenant[0] ? f->tenant : "total", names[k], (long long)v[k]);
    }
    for (size_t i = 0; i < r->n_regional; i++) {
        const Atb__V1__RegionalIndicator *x = r->regional[i];
        if (x->has_base)
            printf("regional,%s,base_2010,%lld\n", x->id, (long long)x->base_2010);
        if (x->has_start)
            printf("regional,%s,start_2011,%lld\n", x->id, (long long)x->start_2011);
        printf("regional,%s,actual_%s,%lld\n", x->id, x->unit, (long long)x->actual);
        printf("regional,%s,target_2018,%lld\n", x->id, (long long)x->target_2018);
    }
}

/* ---- ministry ---- */

static void table_persons(const report_args *a, const Atb__V1__MinistryReportReply *r)
{
    col(L(a, "pašvaldība", "municipality"), 12);
    col(L(a, "statuss", "status"), 14);
    const char *heads[6] = {L(a, "bērni 0-17", "children 0-17"), L(a, "18-64", "18-64"),
                            L(a, "65 un vairāk", "65 and over"),  L(a, "vecums nav zināms", "age unknown"),
                            L(a, "sievietes", "women"),           L(a, "vīrieši", "men")};
    rheads(heads, 6, 17);
    for (size_t i = 0; i < r->n_persons_by_age; i++) {
        const Atb__V1__PersonsByAge *p = r->persons_by_age[i];
        col(who(a, p->tenant), 12);
        col(p->status == 1 ? L(a, "trūcīgs", "needy") : L(a, "maznodrošināts", "low income"), 14);
        int64_t v[6] = {p->children, p->working_age, p->pension_age, p->age_unknown, p->women, p->men};
        for (int k = 0; k < 6; k++)
            ncol(v[k], 17);
        printf("\n");
    }
}

void cli_report_table_ministry(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to)
{
    const Atb__V1__MinistryReportReply *r = (const Atb__V1__MinistryReportReply *)m;
    printf("%s %d\n", L(a, "Pārskats par sociālajiem pakalpojumiem un sociālo palīdzību",
                        "Report on social services and social assistance"), (int)r->year);
    printf("%s %lld\n\n", L(a, "Kā zināms līdz žurnāla pozīcijai", "As known up to log position"),
           (long long)r->as_of_position);
    printf("1. ");
    if (r->assistance)
        cli_report_table_assistance(a, &r->assistance->base, from, to);
    printf("\n%s\n", L(a, "Trūcīgo un maznodrošināto mājsaimniecību personas pēc vecuma (31. decembrī) un dzimuma",
                        "Persons of needy and low-income households by age (on 31 December) and sex"));
    table_persons(a, r);
    printf("\n2. ");
    if (r->services)
        cli_report_table_services(a, &r->services->base, from, to);
    printf("\n3. ");
    if (r->budget)
        cli_report_table_budget(a, &r->budget->base, from, to);
    printf("\n4. ");
    if (r->indicators)
        cli_report_table_indicators(a, &r->indicators->base, from, to);
}

void cli_report_csv_ministry(const report_args *a, const ProtobufCMessage *m)
{
    const Atb__V1__MinistryReportReply *r = (const Atb__V1__MinistryReportReply *)m;
    printf("## assistance\n");
    if (r->assistance)
        cli_report_csv_assistance(a, &r->assistance->base);
    printf("## persons_by_age\nmunicipality,status,children,working_age,pension_age,age_unknown,women,men\n");
    for (size_t i = 0; i < r->n_persons_by_age; i++) {
        const Atb__V1__PersonsByAge *p = r->persons_by_age[i];
        printf("%s,%s,%lld,%lld,%lld,%lld,%lld,%lld\n", p->tenant[0] ? p->tenant : "total",
               p->status == 1 ? "needy" : "low_income", (long long)p->children, (long long)p->working_age,
               (long long)p->pension_age, (long long)p->age_unknown, (long long)p->women, (long long)p->men);
    }
    printf("## services\n");
    if (r->services)
        cli_report_csv_services(a, &r->services->base);
    printf("## budget\n");
    if (r->budget)
        cli_report_csv_budget(a, &r->budget->base);
    printf("## indicators\n");
    if (r->indicators)
        cli_report_csv_indicators(a, &r->indicators->base);
}
