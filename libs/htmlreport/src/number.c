/*
 * number.c -- fixed-point numbers as text in the page's language. Integer arithmetic
 * only: the figures are money and counts, and the text must equal the figure exactly.
 */
#include "hr.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *hr_number(int64_t v, int decimals, const char *lang, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    bool lv = lang && strncmp(lang, "lv", 2) == 0 && (lang[2] == '\0' || lang[2] == '-');
    const char *group = lv ? "\u00a0" : ",";   /* lv: a no-break space keeps 1 234 on one line */
    char point = lv ? ',' : '.';
    /* the magnitude as unsigned, so INT64_MIN has one too */
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    uint64_t whole = a / scale, frac = a % scale;
    char digits[32], out[64];
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)whole);
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0) {
            size_t gl = strlen(group);
            memcpy(out + o, group, gl);
            o += gl;
        }
        out[o++] = digits[i];
    }
    if (decimals > 0) {
        out[o++] = point;
        o += (size_t)snprintf(out + o, sizeof out - o, "%0*llu", decimals, (unsigned long long)frac);
    }
    out[o] = '\0';
    snprintf(buf, n, "%s", out);
    return buf;
}
