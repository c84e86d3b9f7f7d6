/*
 * cli_simulate_html.c -- the simulation report as an HTML page (cli_simulate_html.h).
 *
 * The page, in order: what was simulated (draft, scope, decisions re-decided and left
 * out, the log position); a bar chart of the change in cost per benefit; a bar chart of
 * the households that gain, lose, newly qualify and drop out (the total line: each
 * household once); the table of every line with cost before, with the draft, change and
 * the six groups; the example households (keys, never names). Every chart is followed by
 * its data table (libs/htmlreport). When adding a figure to sim_line: add its column to
 * line_table() and to the --csv and --json output of cli_simulate.c.
 */
#include "cli_simulate_html.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hr.h"

#define T(lv, lv_text, en_text) ((lv) ? (lv_text) : (en_text))

static const char *group_label(bool lv, sim_group g)
{
    static const char *const lvs[SIM_N_GROUPS] = {"saņemtu vairāk", "saņemtu mazāk", "kļūtu tiesīgas",
                                                  "zaudētu tiesības", "bez izmaiņām", "atteikts abos gadījumos"};
    static const char *const ens[SIM_N_GROUPS] = {"gain", "lose", "newly qualify", "drop out", "unchanged",
                                                  "refused either way"};
    return lv ? lvs[g] : ens[g];
}

/* "total" is the report's own word for the last line; the page names it in its language. */
static const char *line_label(bool lv, const sim_line *l)
{
    return strcmp(l->benefit, "total") == 0 ? T(lv, "Kopā", "Total") : l->benefit;
}

static void cost_chart(hr_doc *d, bool lv, const sim_report *r)
{
    size_t n = r->n_lines ? r->n_lines - 1 : 0;   /* the benefits, not the total */
    const char **labels = calloc(n ? n : 1, sizeof *labels);
    int64_t *values = calloc(n ? n : 1, sizeof *values);
    if (!labels || !values)
        n = 0;   /* the chart says there are no data; the table below still has every line */
    for (size_t i = 0; i < n; i++) {
        labels[i] = r->lines[i].benefit;
        values[i] = r->lines[i].after - r->lines[i].before;
    }
    hr_chart c = {.kind = HR_BARS,
                  .title = T(lv, "Izmaksu izmaiņas pa pabalstiem", "Change in cost per benefit"),
                  .desc = T(lv, "Cik vairāk (pozitīvs) vai mazāk (negatīvs) izmaksātu katrs pabalsts ar projektu, "
                                "salīdzinot ar pieņemtajiem lēmumiem, eiro.",
                            "How much more (positive) or less (negative) each benefit would cost with the draft "
                            "than as decided, in euros."),
                  .label_heading = T(lv, "Pabalsts", "Benefit"),
                  .value_heading = T(lv, "Izmaiņas, EUR", "Change, EUR"),
                  .labels = labels, .values = values, .n = n, .decimals = 2};
    hr_chart_add(d, &c);
    free(labels);
    free(values);
}

static void group_chart(hr_doc *d, bool lv, const sim_report *r)
{
    const sim_line *t = r->n_lines ? &r->lines[r->n_lines - 1] : NULL;
    static const sim_group shown[] = {SIM_GAIN, SIM_LOSE, SIM_NEW, SIM_DROP};
    const char *labels[4];
    int64_t values[4];
    for (size_t i = 0; i < 4; i++) {
        labels[i] = group_label(lv, shown[i]);
        values[i] = t ? t->households[shown[i]] : 0;
    }
    hr_chart c = {.kind = HR_BARS,
                  .title = T(lv, "Mājsaimniecības, kuras projekts ietekmētu", "Households the draft would change"),
                  .desc = T(lv, "Mājsaimniecību skaits, kuras ar projektu saņemtu vairāk, mazāk, kļūtu tiesīgas "
                                "uz pabalstu vai zaudētu tiesības; katra mājsaimniecība skaitīta vienreiz.",
                            "The number of households that would receive more, less, newly qualify or drop out "
                            "with the draft; each household counted once."),
                  .label_heading = T(lv, "Grupa", "Group"),
                  .value_heading = T(lv, "Mājsaimniecības", "Households"),
                  .labels = labels, .values = values, .n = t ? 4 : 0, .decimals = 0};
    hr_chart_add(d, &c);
}

static void line_table(hr_doc *d, bool lv, const char *lang, const sim_report *r)
{
    const char *head[5 + SIM_N_GROUPS] = {T(lv, "Pabalsts", "Benefit"), T(lv, "Lēmumi", "Decisions"),
                                          T(lv, "Kā izlemts, EUR", "As decided, EUR"),
                                          T(lv, "Ar projektu, EUR", "With the draft, EUR"),
                                          T(lv, "Izmaiņas, EUR", "Change, EUR")};
    unsigned char num[5 + SIM_N_GROUPS];
    memset(num, 1, sizeof num);
    num[0] = 0;
    for (int g = 0; g < SIM_N_GROUPS; g++)
        head[5 + g] = group_label(lv, (sim_group)g);
    hr_table_begin(d, T(lv, "Izmaksas un mājsaimniecības pa pabalstiem", "Cost and households per benefit"), head,
                   num, 5 + SIM_N_GROUPS);
    char b[4 + SIM_N_GROUPS][48];
    for (size_t i = 0; i < r->n_lines; i++) {
        const sim_line *l = &r->lines[i];
        const char *cells[5 + SIM_N_GROUPS] = {line_label(lv, l), hr_number(l->decisions, 0, lang, b[0], 48),
                                               hr_number(l->before, 2, lang, b[1], 48),
                                               hr_number(l->after, 2, lang, b[2], 48),
                                               hr_number(l->after - l->before, 2, lang, b[3], 48)};
        for (int g = 0; g < SIM_N_GROUPS; g++)
            cells[5 + g] = hr_number(l->households[g], 0, lang, b[4 + g], 48);
        hr_table_row(d, cells);
    }
    hr_table_end(d);
    hr_para(d, T(lv, "Mājsaimniecība katrā rindā skaitīta vienreiz; rindā “Kopā” katra mājsaimniecība skaitīta "
                     "vienreiz, un tur tiesīgu to padara tikai pabalsts (ne statuss viens pats).",
                 "A household is counted once per line; on the Total line each household is counted once, and "
                 "there only a benefit (not a status alone) makes it granted."));
}

static void example_table(hr_doc *d, bool lv, const char *lang, const sim_report *r)
{
    const char *head[6] = {T(lv, "Pabalsts", "Benefit"), T(lv, "Grupa", "Group"),
                           T(lv, "Mājsaimniecība", "Household"), T(lv, "Iesniegums", "Application"),
                           T(lv, "Kā izlemts, EUR", "As decided, EUR"), T(lv, "Ar projektu, EUR", "With the draft, EUR")};
    static const unsigned char num[6] = {0, 0, 0, 0, 1, 1};
    hr_table_begin(d, T(lv, "Mājsaimniecību piemēri (atslēgas, ne vārdi)", "Example households (keys, never names)"),
                   head, num, 6);
    char b1[48], b2[48];
    for (size_t i = 0; i < r->n_lines; i++)
        for (int g = 0; g < SIM_N_GROUPS; g++) {
            if (g == SIM_SAME || g == SIM_NEITHER)
                continue;
            for (size_t k = 0; k < r->lines[i].n_examples[g]; k++) {
                const sim_example *e = &r->lines[i].examples[g][k];
                const char *cells[6] = {line_label(lv, &r->lines[i]), group_label(lv, (sim_group)g), e->household,
                                        e->application, hr_number(e->before, 2, lang, b1, 48),
                                        hr_number(e->after, 2, lang, b2, 48)};
                hr_table_row(d, cells);
            }
        }
    hr_table_end(d);
}

at_code cli_simulate_html(const char *path, const char *lang, const char *draft, const char *scope,
                          const sim_report *r, at_error *err)
{
    lang = lang ? lang : "lv";
    bool lv = strcmp(lang, "lv") == 0;
    if (!lv && strcmp(lang, "en") != 0)
        return at_error_set(err, AT_VALIDATION, "lang", "language \"%s\" has no labels", lang);
    /* the file's name, not where it lies on the machine that ran the simulation */
    const char *slash = strrchr(draft, '/');
    char sub[400];
    snprintf(sub, sizeof sub, T(lv, "Projekts %s (darbības joma %s): ko tas būtu mainījis žurnālā reģistrētajos "
                                    "lēmumos. Nekas netika ierakstīts.",
                                "Draft %s (scope %s): what it would have changed in the decisions recorded in the "
                                "log. Nothing was written."),
             slash ? slash + 1 : draft, scope);
    hr_doc *d = NULL;
    at_code c = hr_open(&d, lang, T(lv, "Noteikumu projekta simulācija", "Simulation of a draft rule set"), sub, err);
    if (c != AT_OK)
        return c;
    char para[400];
    snprintf(para, sizeof para,
             T(lv, "No jauna izlemti %ld lēmumi. Neiekļauti: %ld cilvēku pārskatīti, %ld, kurus projekts nevar "
                   "izlemt; %ld pašvaldību, kuras projekts nemaina, lēmumi.",
               "%ld decisions re-decided. Left out: %ld overridden by people, %ld the draft cannot decide; %ld "
               "decisions of municipalities the draft does not change."),
             r->decisions, r->overridden, r->undecidable, r->untouched);
    hr_section(d, T(lv, "Kopsavilkums", "Summary"));
    hr_para(d, para);
    hr_para(d, T(lv, "Izmaksas: mēneša pabalsts par katru kalendāro mēnesi, kuru skar tā periods, gada pabalsts par "
                     "katru kalendāro gadu, vienreizējs pabalsts vienreiz.",
                 "Cost: a monthly grant counts its amount for every calendar month its period touches, a yearly "
                 "one for every calendar year, a one-off grant once."));
    hr_section(d, T(lv, "Izmaksas", "Cost"));
    cost_chart(d, lv, r);
    line_table(d, lv, lang, r);
    hr_section(d, T(lv, "Mājsaimniecības", "Households"));
    group_chart(d, lv, r);
    example_table(d, lv, lang, r);
    char foot[160];
    snprintf(foot, sizeof foot, T(lv, "Žurnāls nolasīts līdz pozīcijai %lld.", "The log read up to position %lld."),
             (long long)r->head);
    hr_footer(d, foot);
    c = hr_write(d, path, err);
    hr_free(d);
    return c;
}
