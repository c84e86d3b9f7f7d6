/*
 * cli_report.h -- This file is private to services/cli: what cli_report.c (the report
 * commands: options, questions, HTML, rebuild) and cli_report_print.c (their tables and
 * CSV) share.
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include "cli.h"
#include "atb/v1/reporting.pb-c.h"

/* A report's options as given; the dates are valid when their has_ flag is set. */
typedef struct report_args {
    cli_list tenants;                 /* --tenants; empty = --tenant's */
    Atb__V1__Date from, to, known_on; /* --from, --to, --as-known-on */
    bool has_from, has_to, has_known_on;
    int64_t position;                 /* --as-of-position; 0 = not given */
    int64_t year;                     /* --year (ministry); 0 = not given */
    bool csv, en;                     /* --csv; --lang en */
    const char *lang;                 /* "lv" or "en" */
    const char *html;                 /* --html FILE, or NULL */
} report_args;

/* The label in the language asked: Latvian by default. */
#define L(a, lv, en_) ((a)->en ? (en_) : (lv))

/* Print a reply of the report as a terminal table (from, to: the period, YYYY-MM-DD) or as
 * CSV on stdout; m is the kind's reply message. */
void cli_report_table_assistance(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to);
void cli_report_csv_assistance(const report_args *a, const ProtobufCMessage *m);
void cli_report_table_services(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to);
void cli_report_csv_services(const report_args *a, const ProtobufCMessage *m);
void cli_report_table_budget(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to);
void cli_report_csv_budget(const report_args *a, const ProtobufCMessage *m);
void cli_report_table_indicators(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to);
void cli_report_csv_indicators(const report_args *a, const ProtobufCMessage *m);
void cli_report_table_ministry(const report_args *a, const ProtobufCMessage *m, const char *from, const char *to);
void cli_report_csv_ministry(const report_args *a, const ProtobufCMessage *m);

#endif
