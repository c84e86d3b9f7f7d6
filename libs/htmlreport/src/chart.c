/*
 * chart.c -- charts as inline SVG, each followed by a table of the same figures.
 *
 * Geometry (hr.h states it as the contract, tests/htmlreport checks it): the value axis
 * spans from min(values, 0) to max(values, 0), so the zero line is always drawn and a
 * negative value goes the other way from it; HR_PLOT units cover the span. Coordinates
 * are written with one decimal by integer formatting, so the page does not depend on the
 * C locale's decimal point.
 */
#include "hr_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LABEL_W 180     /* HR_BARS: room for the labels left of the bars */
#define VALUE_W 110     /* HR_BARS: room for the value right of the longest bar */
#define ROW_H 22
#define BAR_H 16
#define AXIS_W 90       /* HR_COLUMNS, HR_LINE: room for the value axis labels */
#define FOOT_H 56       /* room for the labels under the columns (slanted when many) */
#define TOP 12

typedef struct scale {
    int64_t lo, hi;     /* lo <= 0 <= hi */
    double span;
} scale;

static scale scale_of(const hr_chart *c)
{
    scale s = {0, 0, 1};
    for (size_t i = 0; i < c->n; i++) {
        if (c->values[i] < s.lo)
            s.lo = c->values[i];
        if (c->values[i] > s.hi)
            s.hi = c->values[i];
    }
    if (s.hi > s.lo)
        s.span = (double)s.hi - (double)s.lo;
    return s;
}

/* Length in plot units of the distance from 0 to v. */
static double extent(const scale *s, int64_t v)
{
    return fabs((double)v) * HR_PLOT / s->span;
}

/* v with one decimal, locale-free. */
static const char *coord(double v, char *buf)
{
    long t = lround(v * 10.0);
    long a = t < 0 ? -t : t;
    snprintf(buf, 24, "%s%ld.%ld", t < 0 ? "-" : "", a / 10, a % 10);
    return buf;
}

static const char *no_data(const hr_doc *d)
{
    return strncmp(d->lang, "lv", 2) == 0 ? "Nav datu" : "No data";
}

static void svg_open(hr_doc *d, const hr_chart *c, unsigned id, double w, double h)
{
    char cw[24], ch[24];
    coord(w, cw);
    coord(h, ch);
    hr__rawf(d,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"hr-c%u-t hr-c%u-d\" "
             "viewBox=\"0 0 %s %s\" width=\"%s\" height=\"%s\">\n<title id=\"hr-c%u-t\">",
             id, id, cw, ch, cw, ch, id);
    hr__text(d, c->title);
    hr__rawf(d, "</title>\n<desc id=\"hr-c%u-d\">", id);
    hr__text(d, c->desc);
    hr__raw(d, "</desc>\n");
}

/* One bar or column: a rect with the raw value and a tooltip title. */
static void bar(hr_doc *d, const hr_chart *c, size_t i, double x, double y, double w, double h)
{
    char sx[24], sy[24], sw[24], sh[24], num[48];
    hr__rawf(d, "<rect class=\"hr-bar%s\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" data-value=\"%lld\"><title>",
             c->values[i] < 0 ? " neg" : "", coord(x, sx), coord(y, sy), coord(w, sw), coord(h, sh),
             (long long)c->values[i]);
    hr__text(d, c->labels[i]);
    hr__raw(d, ": ");
    hr__text(d, hr_number(c->values[i], c->decimals, d->lang, num, sizeof num));
    hr__raw(d, "</title></rect>\n");
}

static void text_at(hr_doc *d, double x, double y, const char *anchor, const char *s)
{
    char sx[24], sy[24];
    hr__rawf(d, "<text x=\"%s\" y=\"%s\" text-anchor=\"%s\">", coord(x, sx), coord(y, sy), anchor);
    hr__text(d, s);
    hr__raw(d, "</text>\n");
}

static void bars_svg(hr_doc *d, const hr_chart *c, unsigned id)
{
    scale s = scale_of(c);
    double x0 = LABEL_W + extent(&s, s.lo);
    double h = TOP * 2 + (double)c->n * ROW_H;
    svg_open(d, c, id, LABEL_W + HR_PLOT + VALUE_W, h);
    char num[48], a[24], b[24], e[24];
    for (size_t i = 0; i < c->n; i++) {
        double y = TOP + (double)i * ROW_H;
        double len = extent(&s, c->values[i]);
        text_at(d, LABEL_W - 6, y + BAR_H - 4, "end", c->labels[i]);
        bar(d, c, i, c->values[i] < 0 ? x0 - len : x0, y, len, BAR_H);
        hr_number(c->values[i], c->decimals, d->lang, num, sizeof num);
        text_at(d, (c->values[i] < 0 ? x0 : x0 + len) + 4, y + BAR_H - 4, "start", num);
    }
    hr__rawf(d, "<line class=\"hr-axis\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", coord(x0, a),
             coord(TOP - 4, b), coord(x0, e), coord(h - TOP + 4, num));
    hr__raw(d, "</svg>\n");
}

/* Columns or a line over the labels of a series. */
static void series_svg(hr_doc *d, const hr_chart *c, unsigned id)
{
    scale s = scale_of(c);
    double slot = c->n ? 560.0 / (double)c->n : 560.0;
    if (slot > 60)
        slot = 60;
    if (slot < 14)
        slot = 14;
    double w = AXIS_W + slot * (double)c->n + 10;
    double y0 = TOP + extent(&s, s.hi);
    svg_open(d, c, id, w, TOP + HR_PLOT + FOOT_H);
    char num[48], a[24], b[24], e[24], f[24];
    /* the value axis: the top, zero and (when negative) bottom of the span */
    int64_t ticks[3] = {s.hi, 0, s.lo};
    for (int k = 0; k < 3; k++) {
        if (k > 0 && ticks[k] == ticks[k - 1])
            continue;
        double y = ticks[k] >= 0 ? y0 - extent(&s, ticks[k]) : y0 + extent(&s, ticks[k]);
        hr__rawf(d, "<line class=\"%s\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", ticks[k] ? "hr-grid" : "hr-axis",
                 coord(AXIS_W, a), coord(y, b), coord(w - 6, e), coord(y, f));
        text_at(d, AXIS_W - 6, y + 4, "end", hr_number(ticks[k], c->decimals, d->lang, num, sizeof num));
    }
    bool slant = c->n > 12;
    for (size_t i = 0; i < c->n; i++) {
        double cx = AXIS_W + slot * ((double)i + 0.5);
        double len = extent(&s, c->values[i]);
        if (c->kind == HR_COLUMNS)
            bar(d, c, i, cx - slot * 0.35, c->values[i] < 0 ? y0 : y0 - len, slot * 0.7, len);
        double ly = TOP + HR_PLOT + 16;
        if (slant) {
            hr__rawf(d, "<text x=\"%s\" y=\"%s\" text-anchor=\"end\" transform=\"rotate(-45 %s %s)\">", coord(cx, a),
                     coord(ly, b), coord(cx, e), coord(ly, f));
            hr__text(d, c->labels[i]);
            hr__raw(d, "</text>\n");
        } else {
            text_at(d, cx, ly, "middle", c->labels[i]);
        }
    }
    if (c->kind == HR_LINE && c->n > 0) {
        hr__raw(d, "<polyline class=\"hr-line\" points=\"");
        for (size_t i = 0; i < c->n; i++) {
            double cx = AXIS_W + slot * ((double)i + 0.5);
            double len = extent(&s, c->values[i]);
            hr__rawf(d, "%s%s,%s", i ? " " : "", coord(cx, a), coord(c->values[i] < 0 ? y0 + len : y0 - len, b));
        }
        hr__raw(d, "\"/>\n");
        for (size_t i = 0; i < c->n; i++) {
            double cx = AXIS_W + slot * ((double)i + 0.5);
            double len = extent(&s, c->values[i]);
            hr__rawf(d, "<circle class=\"hr-dot\" cx=\"%s\" cy=\"%s\" r=\"3.5\" data-value=\"%lld\"><title>",
                     coord(cx, a), coord(c->values[i] < 0 ? y0 + len : y0 - len, b), (long long)c->values[i]);
            hr__text(d, c->labels[i]);
            hr__raw(d, ": ");
            hr__text(d, hr_number(c->values[i], c->decimals, d->lang, num, sizeof num));
            hr__raw(d, "</title></circle>\n");
        }
    }
    hr__raw(d, "</svg>\n");
}

static void empty_svg(hr_doc *d, const hr_chart *c, unsigned id)
{
    svg_open(d, c, id, 320, 60);
    text_at(d, 160, 34, "middle", no_data(d));
    hr__raw(d, "</svg>\n");
}

void hr_chart_add(hr_doc *d, const hr_chart *c)
{
    unsigned id = ++d->chart_no;
    hr__rawf(d, "<figure aria-labelledby=\"hr-c%u-cap\">\n<figcaption id=\"hr-c%u-cap\">", id, id);
    hr__text(d, c->title);
    hr__raw(d, "</figcaption>\n");
    if (c->n == 0)
        empty_svg(d, c, id);
    else if (c->kind == HR_BARS)
        bars_svg(d, c, id);
    else
        series_svg(d, c, id);
    /* the same figures as a table: for screen readers, print and copying */
    const char *heads[2] = {c->label_heading, c->value_heading};
    static const unsigned char numeric[2] = {0, 1};
    hr_table_begin(d, c->title, heads, numeric, 2);
    char num[48];
    for (size_t i = 0; i < c->n; i++) {
        const char *row[2] = {c->labels[i], hr_number(c->values[i], c->decimals, d->lang, num, sizeof num)};
        hr_table_row(d, row);
    }
    if (c->n == 0) {
        const char *row[2] = {no_data(d), ""};
        hr_table_row(d, row);
    }
    hr_table_end(d);
    hr__raw(d, "</figure>\n");
}
