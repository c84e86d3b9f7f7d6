/*
 * cli_simulate_html.h -- This file is private to services/cli: the report of `atbalsts
 * simulate` (services/means/simulate.h) as a self-contained HTML page with SVG charts,
 * written with libs/htmlreport, so it looks like the reports of `atbalsts report --html`.
 *
 * Pure: no database, no printing; the caller has run the simulation. Labels are Latvian
 * ("lv", the default) or English ("en"); the figures are the report's, exactly (the same
 * cents the table, --csv and --json print).
 */
#ifndef CLI_SIMULATE_HTML_H
#define CLI_SIMULATE_HTML_H

#include "at_error.h"
#include "simulate.h"

/* Write the page for report r of the draft file `draft` (the page shows its file name,
 * without the folder) of scope `scope` to path, whole or not at all. lang NULL means
 * "lv". Errors: AT_VALIDATION (lang is not lv or en), AT_UNAVAILABLE (the file cannot be written),
 * AT_INTERNAL (out of memory). */
at_code cli_simulate_html(const char *path, const char *lang, const char *draft, const char *scope,
                          const sim_report *r, at_error *err);

#endif
