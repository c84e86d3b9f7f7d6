/*
 * doc.c -- the page: its head and inline style, sections, paragraphs, tables, footer and
 * output; escaping of every text.
 *
 * The page is built in one growing buffer. The <head>, <header> and the opening of <main>
 * are written by hr_open; hr_html closes <main>, writes the footer and closes the page.
 * When adding an element: write it in XHTML syntax (closed, quoted) so that the output
 * stays well-formed XML, and pass every caller's text through hr__text.
 */
#include "hr_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Colours meet WCAG AA contrast on white; print drops the shadows and keeps the tables. */
static const char STYLE[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:0;color:#1b1b1b;"
    "background:#fff;line-height:1.45}"
    "header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}"
    "header{border-bottom:3px solid #9e3039;padding-top:1rem}"
    "h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin-top:2rem}"
    "table{border-collapse:collapse;margin:.75rem 0 1.5rem;font-size:.92rem}"
    "caption{text-align:left;font-weight:600;padding:.25rem 0}"
    "th,td{border:1px solid #b5b5b5;padding:.25rem .5rem;vertical-align:top}"
    "thead th{background:#f0f0f0}th[scope=row]{text-align:left;font-weight:normal}"
    ".num{text-align:right;font-variant-numeric:tabular-nums}td.num{white-space:nowrap}"
    "figure{margin:1rem 0 2rem}figcaption{font-weight:600;margin-bottom:.25rem}"
    "svg{max-width:100%;height:auto}"
    ".hr-bar{fill:#1f5f8b}.hr-bar.neg{fill:#9e3039}.hr-line{fill:none;stroke:#1f5f8b;stroke-width:2}"
    ".hr-dot{fill:#1f5f8b}.hr-axis{stroke:#555;stroke-width:1}.hr-grid{stroke:#ddd;stroke-width:1}"
    "svg text{font-size:11px;fill:#1b1b1b}"
    "footer{border-top:1px solid #b5b5b5;margin-top:2rem;padding-bottom:1rem;font-size:.85rem;color:#444}"
    "@media print{header{border-bottom:1px solid #000}a{color:#000}}";

static void grow(hr_doc *d, size_t more)
{
    if (d->oom)
        return;
    if (d->len + more + 1 <= d->cap)
        return;
    size_t cap = d->cap ? d->cap : 16384;
    while (cap < d->len + more + 1)
        cap *= 2;
    char *p = realloc(d->buf, cap);
    if (!p) {
        d->oom = true;
        return;
    }
    d->buf = p;
    d->cap = cap;
}

static void put(hr_doc *d, const char *s, size_t n)
{
    grow(d, n);
    if (d->oom)
        return;
    memcpy(d->buf + d->len, s, n);
    d->len += n;
    d->buf[d->len] = '\0';
}

void hr__raw(hr_doc *d, const char *s)
{
    put(d, s, strlen(s));
}

void hr__rawf(hr_doc *d, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        d->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        put(d, small, (size_t)n);
        return;
    }
    grow(d, (size_t)n);
    if (d->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(d->buf + d->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    d->len += (size_t)n;
}

void hr__text(hr_doc *d, const char *s)
{
    if (!s)
        return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        put(d, run, (size_t)(p - run));
        hr__raw(d, rep);
        run = p + 1;
    }
    hr__raw(d, run);
}

static bool lang_ok(const char *lang)
{
    if (!lang || !*lang || strlen(lang) >= 36)
        return false;
    for (const char *p = lang; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

at_code hr_open(hr_doc **out, const char *lang, const char *title, const char *subtitle, at_error *err)
{
    *out = NULL;
    if (!lang_ok(lang)) {
        at_error_set(err, AT_VALIDATION, "lang", "language tag is not valid");
        at_error_detail(err, "A page's language is a tag of letters, digits and hyphens such as \"lv\" or \"en\".");
        at_error_hint(err, "Give lv or en.");
        return AT_VALIDATION;
    }
    hr_doc *d = calloc(1, sizeof *d);
    if (!d)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    snprintf(d->lang, sizeof d->lang, "%s", lang);
    hr__rawf(d, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"%s\" xml:lang=\"%s\">\n<head>\n"
                "<meta charset=\"utf-8\"/>\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>",
             d->lang, d->lang);
    hr__text(d, title);
    hr__raw(d, "</title>\n<style>");
    hr__raw(d, STYLE);
    hr__raw(d, "</style>\n</head>\n<body>\n<header>\n<h1>");
    hr__text(d, title);
    hr__raw(d, "</h1>\n");
    if (subtitle) {
        hr__raw(d, "<p>");
        hr__text(d, subtitle);
        hr__raw(d, "</p>\n");
    }
    hr__raw(d, "</header>\n<main>\n");
    if (d->oom) {
        hr_free(d);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    *out = d;
    return AT_OK;
}

void hr_free(hr_doc *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d->footer);
    free(d);
}

void hr_section(hr_doc *d, const char *heading)
{
    hr_section_end(d);
    d->chart_no++;
    hr__rawf(d, "<section aria-labelledby=\"hr-s%u\">\n<h2 id=\"hr-s%u\">", d->chart_no, d->chart_no);
    hr__text(d, heading);
    hr__raw(d, "</h2>\n");
    d->in_section = true;
}

void hr_section_end(hr_doc *d)
{
    if (!d->in_section)
        return;
    hr__raw(d, "</section>\n");
    d->in_section = false;
}

void hr_para(hr_doc *d, const char *text)
{
    hr__raw(d, "<p>");
    hr__text(d, text);
    hr__raw(d, "</p>\n");
}

/* Footer lines are escaped now and written when the page is closed. */
void hr_footer(hr_doc *d, const char *text)
{
    size_t start = d->len;
    hr__raw(d, "<p>");
    hr__text(d, text);
    hr__raw(d, "</p>\n");
    if (d->oom)
        return;
    size_t n = d->len - start;
    char *f = realloc(d->footer, d->footer_len + n + 1);
    if (!f) {
        d->oom = true;
        return;
    }
    memcpy(f + d->footer_len, d->buf + start, n);
    d->footer = f;
    d->footer_len += n;
    f[d->footer_len] = '\0';
    d->len = start;
    d->buf[d->len] = '\0';
}

/* Columns past HR__MAX_COLS are not written: a report table has a handful. */
void hr_table_begin(hr_doc *d, const char *caption, const char *const *headings, const unsigned char *numeric,
                    size_t n_cols)
{
    d->cols = n_cols < HR__MAX_COLS ? n_cols : HR__MAX_COLS;
    hr__raw(d, "<table>\n<caption>");
    hr__text(d, caption);
    hr__raw(d, "</caption>\n<thead><tr>");
    for (size_t i = 0; i < d->cols; i++) {
        d->numeric[i] = numeric && numeric[i];
        hr__raw(d, d->numeric[i] ? "<th scope=\"col\" class=\"num\">" : "<th scope=\"col\">");
        hr__text(d, headings[i]);
        hr__raw(d, "</th>");
    }
    hr__raw(d, "</tr></thead>\n<tbody>\n");
}

void hr_table_row(hr_doc *d, const char *const *cells)
{
    hr__raw(d, "<tr>");
    for (size_t i = 0; i < d->cols; i++) {
        const char *open = i == 0 ? (d->numeric[i] ? "<th scope=\"row\" class=\"num\">" : "<th scope=\"row\">")
                                  : (d->numeric[i] ? "<td class=\"num\">" : "<td>");
        hr__raw(d, open);
        hr__text(d, cells[i]);
        hr__raw(d, i == 0 ? "</th>" : "</td>");
    }
    hr__raw(d, "</tr>\n");
}

void hr_table_end(hr_doc *d)
{
    hr__raw(d, "</tbody>\n</table>\n");
    d->cols = 0;
}

at_code hr_html(hr_doc *d, const char **html, size_t *len, at_error *err)
{
    if (!d->finished) {
        hr_section_end(d);
        hr__raw(d, "</main>\n");
        if (d->footer_len) {
            hr__raw(d, "<footer>\n");
            hr__raw(d, d->footer);
            hr__raw(d, "</footer>\n");
        }
        hr__raw(d, "</body>\n</html>\n");
        d->finished = true;
    }
    if (d->oom)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory while building the report page");
    *html = d->buf;
    if (len)
        *len = d->len;
    return AT_OK;
}

at_code hr_write(hr_doc *d, const char *path, at_error *err)
{
    const char *html = NULL;
    size_t len = 0;
    at_code code = hr_html(d, &html, &len, err);
    if (code != AT_OK)
        return code;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return at_error_set(err, AT_VALIDATION, "path", "file name is too long");
    FILE *f = fopen(tmp, "w");
    if (!f) {
        at_error_set(err, AT_UNAVAILABLE, "path", "could not create \"%s\"", tmp);
        at_error_detail(err, "%s.", strerror(errno));
        return AT_UNAVAILABLE;
    }
    bool ok = fwrite(html, 1, len, f) == len;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        at_error_set(err, AT_UNAVAILABLE, "path", "could not write \"%s\"", path);
        at_error_detail(err, "%s.", strerror(saved));
        return AT_UNAVAILABLE;
    }
    return AT_OK;
}
