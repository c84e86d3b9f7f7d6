/*
 * hr_int.h -- This file is private to libs/htmlreport: the document and its growing
 * buffer, shared by doc.c (page, sections, tables, output) and chart.c (SVG charts).
 */
#ifndef HR_INT_H
#define HR_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "hr.h"

#define HR__MAX_COLS 32

struct hr_doc {
    char *buf;          /* the page so far; always NUL-terminated once len > 0 */
    size_t len, cap;
    bool oom;           /* an append failed: the page is incomplete, hr_html reports it */
    bool in_section;
    bool finished;      /* hr_html closed the page */
    char lang[36];
    char *footer;       /* footer lines, escaped, kept until the page is closed */
    size_t footer_len;
    unsigned chart_no;  /* ids of <title>/<desc> are unique per page */
    size_t cols;        /* the open table's columns (at most HR__MAX_COLS are used) */
    unsigned char numeric[HR__MAX_COLS];
};

/* Append raw markup (never user text). */
void hr__raw(hr_doc *d, const char *s);
/* Append printf-formatted raw markup; arguments must not be user text. */
void hr__rawf(hr_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append user text, HTML-escaped (& < > " '); NULL appends nothing. */
void hr__text(hr_doc *d, const char *s);

#endif
