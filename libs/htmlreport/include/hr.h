/*
 * hr.h -- libs/htmlreport: a small writer of one self-contained HTML report page.
 *
 * The page needs nothing else to be read: no external file, font, script or network; its
 * CSS is inline and no JavaScript is written at all. It is accessible: a lang attribute,
 * landmarks (<header>, <main>, <footer>), headings in order, tables with <caption> and
 * <th scope="col"/"row">, and every chart an inline SVG with role="img", a <title> and a
 * <desc>, followed by a data table with the same figures (the fallback for screen readers,
 * for print and for copying numbers). The output is also well-formed XML (XHTML syntax:
 * every element closed, attributes quoted), so tests can parse it with an XML parser.
 *
 * Every text given to hr_* functions is HTML-escaped (& < > " '); callers pass plain
 * UTF-8 text, never markup.
 *
 * Lifecycle: hr_open() makes a document, the other functions append to it in order, and
 * hr_write() writes it to a file; free with hr_free() (NULL is a no-op). A document
 * remembers running out of memory: later appends do nothing and hr_write() / hr_html()
 * report AT_INTERNAL. Not thread-safe per document; distinct documents are independent.
 *
 * Numbers are int64 with a fixed number of decimals (money: cents, decimals 2), never
 * float. Chart geometry (pixel positions) is computed in double; that is drawing, not
 * arithmetic anyone reads: the tables carry the exact figures.
 */
#ifndef HR_H
#define HR_H

#include <stddef.h>
#include <stdint.h>

#include "at_error.h"

typedef struct hr_doc hr_doc;

/* A new page in language lang ("lv" or "en"; any BCP 47 tag is written as given and
 * decides the number format: "lv" writes 1 234,56, anything else 1,234.56) with the given
 * title (the <title> and the <h1>) and an optional subtitle paragraph (NULL: none).
 * Errors: AT_VALIDATION (lang empty or not letters, digits and '-'), AT_INTERNAL (out of
 * memory). Free with hr_free. */
at_code hr_open(hr_doc **out, const char *lang, const char *title, const char *subtitle, at_error *err);
void hr_free(hr_doc *d);

/* A section of <main> with its <h2> heading; sections do not nest. hr_section_end closes
 * the open one (a no-op when none is open); hr_write closes it too. */
void hr_section(hr_doc *d, const char *heading);
void hr_section_end(hr_doc *d);
/* A paragraph of plain text. */
void hr_para(hr_doc *d, const char *text);
/* A line of the page footer (after <main>), e.g. the log positions the figures reflect. */
void hr_footer(hr_doc *d, const char *text);

/* A table: a caption, n_cols column headings, then rows of n_cols cells. The first cell
 * of each row is its row heading (<th scope="row">). Cells flagged numeric in
 * hr_table_begin's `numeric` (may be NULL: none) are right-aligned. */
void hr_table_begin(hr_doc *d, const char *caption, const char *const *headings, const unsigned char *numeric,
                    size_t n_cols);
void hr_table_row(hr_doc *d, const char *const *cells);
void hr_table_end(hr_doc *d);

typedef enum hr_chart_kind {
    HR_BARS = 0,     /* horizontal bars: a breakdown by type */
    HR_COLUMNS = 1,  /* vertical columns: a series (by month, by year) */
    HR_LINE = 2      /* a line with a dot per point: a series */
} hr_chart_kind;

/* One chart: n labelled values. Values may be zero or negative (bars then go the other
 * way from the zero line); n may be 0 (the chart says there are no data). */
typedef struct hr_chart {
    hr_chart_kind kind;
    const char *title;            /* the SVG <title>, the figure caption, the table caption */
    const char *desc;             /* the SVG <desc>: what is shown, in a sentence */
    const char *label_heading;    /* the fallback table's first column heading, e.g. "Month" */
    const char *value_heading;    /* its second column heading, e.g. "Amount, EUR" */
    const char *const *labels;    /* n labels */
    const int64_t *values;        /* n values, each value / 10^decimals */
    size_t n;
    int decimals;                 /* 0..6 */
} hr_chart;

/* Append the chart as a <figure>: the SVG, its caption, then the data table. Geometry
 * (in SVG user units): every bar or column of value v has length |v| * HR_PLOT / span,
 * where span = max(values, 0) - min(values, 0) (1 when all are zero), drawn from the zero
 * line; each bar is an <rect class="hr-bar"> carrying data-value="v" (the raw int64). A
 * line chart has a <polyline class="hr-line"> and a <circle class="hr-dot"> per point. */
#define HR_PLOT 300
void hr_chart_add(hr_doc *d, const hr_chart *c);

/* The page so far, completed (sections and the page closed) but the document stays
 * usable for nothing else: call it last. *len may be NULL. Owned by d. Errors:
 * AT_INTERNAL (memory ran out at some point while building). */
at_code hr_html(hr_doc *d, const char **html, size_t *len, at_error *err);
/* hr_html, then write the page to path (created or truncated, written to path.tmp and
 * renamed so that a reader never sees half a page). Errors: AT_INTERNAL, AT_UNAVAILABLE
 * (the file cannot be written; the detail says why). */
at_code hr_write(hr_doc *d, const char *path, at_error *err);

/* v / 10^decimals as text in buf (lv: "-1 234,56"; otherwise "-1,234.56"). Returns buf;
 * truncated (never overflowed) when n is too small; 48 bytes always suffice. */
const char *hr_number(int64_t v, int decimals, const char *lang, char *buf, size_t n);

#endif
