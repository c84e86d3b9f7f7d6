/*
 * cli_report_html.h -- This file is private to services/cli: a report reply of
 * proto/atb/v1/reporting.proto as a self-contained HTML page with SVG charts
 * (libs/htmlreport), for `atbalsts report <kind> --html PATH`.
 *
 * Pure: no NATS, no printing; the caller has the reply already. Part of atb_cli_core, so
 * tests render real replies without the command line. Labels are Latvian ("lv") or
 * English ("en"); the figures are the reply's, exactly (money in euros with cents, shares
 * computed with integer arithmetic as the terminal table does).
 */
#ifndef CLI_REPORT_HTML_H
#define CLI_REPORT_HTML_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "at_error.h"

/* One point of a series: the same report asked for a shorter period (a month, a year). */
typedef struct cli_html_point {
    const char *label;                 /* "2026-03", "2026" */
    const ProtobufCMessage *reply;     /* the same message type as the main reply */
} cli_html_point;

/* What the reply itself does not carry. Every member may be 0 / NULL. */
typedef struct cli_html_ctx {
    const char *from, *to;             /* the period asked, YYYY-MM-DD */
    const cli_html_point *months;      /* the period month by month, in order */
    size_t n_months;
    const cli_html_point *years;       /* the period year by year, in order */
    size_t n_years;
} cli_html_ctx;

/* Render `reply` (kind names the report for the page's title, e.g. "assistance"; the
 * reply's descriptor decides the layout) into the file at path, written whole or not at
 * all. lang NULL means "lv". Errors: AT_VALIDATION (lang is not lv or en; a reply type
 * without an HTML layout), AT_UNAVAILABLE (the file cannot be written), AT_INTERNAL. */
int cli_report_html(const char *path, const char *kind, const ProtobufCMessage *reply, const char *lang,
                    at_error *err);
/* The same with series by month and by year (charts over time) and the period. */
int cli_report_html_ex(const char *path, const char *kind, const ProtobufCMessage *reply, const cli_html_ctx *ctx,
                       const char *lang, at_error *err);

#endif
