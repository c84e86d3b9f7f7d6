/*
 * result.c -- the rules_result: decision, explanation steps, parameter reads, reasons;
 * and its rendering as text.
 *
 * Steps are recorded in order while a decision is calculated; the parameter reads of a
 * step are those looked up while it was the current step. Arrays grow with realloc while
 * recording, so steps refer to reads by index until rules__result_seal() turns the indices
 * into the pointers of the public rules_step. Strings live in the result's pool.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "decide_int.h"

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *np = realloc(*p, nc * size);
    if (!np)
        return false;
    *p = np;
    *cap = nc;
    return true;
}

rules_result *rules__result_new(void)
{
    rules_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!(r->pool = rules__pool_new())) {
        free(r);
        return NULL;
    }
    r->cur = -1;
    return r;
}

void rules_result_free(rules_result *r)
{
    if (!r)
        return;
    free(r->steps);
    free(r->first_read);
    free(r->reads);
    free(r->reasons);
    rules__pool_free(r->pool);
    free(r);
}

static void commit_values(rules_result *r)
{
    if (r->cur < 0)
        return;
    rules_step *s = &r->steps[r->cur];
    char *v = rules__pstrdup(r->pool, r->vbuf);
    s->values = v ? v : "";
    r->vlen = 0;
    r->vbuf[0] = 0;
}

bool rules__step(rules_result *r, const char *lv, const char *en)
{
    commit_values(r);
    if (!grow((void **)&r->steps, &r->cap_steps, r->n_steps, sizeof *r->steps) ||
        !grow((void **)&r->first_read, &r->cap_first, r->n_steps, sizeof *r->first_read)) {
        r->oom = true;
        return false;
    }
    rules_step *s = &r->steps[r->n_steps];
    memset(s, 0, sizeof *s);
    s->label_lv = lv;
    s->label_en = en;
    s->values = "";
    s->result = "";
    r->first_read[r->n_steps] = r->n_reads;
    r->cur = (int)r->n_steps++;
    return true;
}

void rules__values(rules_result *r, const char *fmt, ...)
{
    if (r->cur < 0 || r->vlen >= sizeof r->vbuf - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->vbuf + r->vlen, sizeof r->vbuf - r->vlen, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof r->vbuf - r->vlen) {
        /* The explanation keeps its first 8 KiB of values per step; mark the cut. */
        r->vlen = sizeof r->vbuf - 1;
        memcpy(r->vbuf + sizeof r->vbuf - 5, "...", 4);
    } else {
        r->vlen += (size_t)n;
    }
}

void rules__result_line(rules_result *r, rules_step_result o, const char *fmt, ...)
{
    if (r->cur < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rules_step *s = &r->steps[r->cur];
    char *t = rules__pstrdup(r->pool, buf);
    s->result = t ? t : "";
    s->outcome = o;
    if (!t)
        r->oom = true;
}

void rules__on_read_cb(void *ctx, const rules_param_value *v)
{
    rules_result *r = ctx;
    if (!grow((void **)&r->reads, &r->cap_reads, r->n_reads, sizeof *r->reads)) {
        r->oom = true;
        return;
    }
    char buf[96];
    rules__value_text(v, buf, sizeof buf);
    rules_param_read *rd = &r->reads[r->n_reads++];
    rd->name = v->name;
    rd->value = rules__pstrdup(r->pool, buf);
    rd->from = v->in_force.from;
    rd->to = v->in_force.to;
    rd->scope = v->scope;
    rd->source = v->source;
    rd->note = v->note ? v->note : "";
    if (!rd->value) {
        rd->value = "";
        r->oom = true;
    }
}

void rules__read_raw(rules_result *r, const char *name, const char *value, at_date from, at_date to,
                     const char *scope_name, const char *source, const char *note)
{
    if (!grow((void **)&r->reads, &r->cap_reads, r->n_reads, sizeof *r->reads)) {
        r->oom = true;
        return;
    }
    rules_param_read *rd = &r->reads[r->n_reads++];
    rd->name = name;
    rd->value = value;
    rd->from = from;
    rd->to = to;
    rd->scope = scope_name;
    rd->source = source;
    rd->note = note ? note : "";
}

void rules__reason(rules_result *r, const char *code, const char *lv, const char *en)
{
    if (!grow((void **)&r->reasons, &r->cap_reasons, r->n_reasons, sizeof *r->reasons)) {
        r->oom = true;
        return;
    }
    rules_reason *x = &r->reasons[r->n_reasons++];
    x->code = code;
    x->text_lv = lv ? lv : "";
    x->text_en = en ? en : "";
}

void rules__result_seal(rules_result *r)
{
    commit_values(r);
    r->cur = -1;
    for (size_t i = 0; i < r->n_steps; i++) {
        size_t first = r->first_read[i];
        size_t end = i + 1 < r->n_steps ? r->first_read[i + 1] : r->n_reads;
        r->steps[i].reads = end > first ? &r->reads[first] : NULL;
        r->steps[i].n_reads = end - first;
    }
    r->d.reasons = r->reasons;
    r->d.n_reasons = r->n_reasons;
}

const rules_decision *rules_result_decision(const rules_result *r) { return &r->d; }
size_t rules_result_n_steps(const rules_result *r) { return r->n_steps; }
const rules_step *rules_result_step(const rules_result *r, size_t i)
{
    return i < r->n_steps ? &r->steps[i] : NULL;
}

/* ---- text rendering */

typedef struct txt {
    char *buf;
    size_t n, len;
} txt;

static void tp(txt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tp(txt *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->len < t->n ? t->n - t->len : 0;
    int k = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->len += (size_t)k;
}

static const char *pick(rules_lang lang, const char *lv, const char *en, char *both, size_t n)
{
    if (lang == RULES_LANG_LV)
        return lv;
    if (lang == RULES_LANG_EN)
        return en;
    snprintf(both, n, "%s / %s", lv, en);
    return both;
}

static void period_text(at_period p, char *buf, size_t n)
{
    char a[16], b[16];
    if (p.from == AT_DATE_NONE) {
        snprintf(buf, n, "-");
        return;
    }
    at_date_format(p.from, a, sizeof a);
    if (p.to == AT_DATE_NONE)
        snprintf(buf, n, "%s ..", a);
    else {
        at_date_format(p.to, b, sizeof b);
        snprintf(buf, n, "%s .. %s", a, b);
    }
}

size_t rules_result_format(const rules_result *r, rules_lang lang, char *buf, size_t n)
{
    txt t = {buf, n, 0};
    if (n)
        buf[0] = 0;
    const rules_decision *d = &r->d;
    char both[512], per[64], amt[32];
    bool granted = d->outcome == RULES_GRANTED;
    tp(&t, "%s: %s\n", pick(lang, "Lēmums", "Decision", both, sizeof both),
       pick(lang, granted ? "piešķirts" : "atteikts", granted ? "granted" : "refused", per, sizeof per));
    tp(&t, "  %s: %s%s%s, %s %s, %s %s\n", pick(lang, "pieprasīts", "asked", both, sizeof both),
       d->benefit[0] ? d->benefit : rules_status_name(d->status), d->component[0] ? " / " : "",
       d->component, pick(lang, "pašvaldība", "tenant", per, sizeof per), d->tenant,
       lang == RULES_LANG_LV ? "noteikumu versija" : "rule set", d->version);
    if (d->status != RULES_STATUS_NONE && granted)
        tp(&t, "  status: %s\n", rules_status_name(d->status));
    if (d->has_amount) {
        at_cents_format(d->amount, amt, sizeof amt);
        tp(&t, "  %s: %s EUR (%s)\n", pick(lang, "apmērs", "amount", both, sizeof both), amt,
           rules_per_name(d->per));
    }
    if (d->units)
        tp(&t, "  %s: %lld %s\n", pick(lang, "vienības", "units", both, sizeof both), (long long)d->units,
           d->unit_name);
    period_text(d->period, per, sizeof per);
    tp(&t, "  %s: %s\n", pick(lang, "periods", "period", both, sizeof both), per);
    if (d->payment != RULES_PAY_NONE)
        tp(&t, "  %s: %s\n", pick(lang, "izmaksas veids", "payment form", both, sizeof both),
           rules_payment_name(d->payment));
    if (d->ekk[0])
        tp(&t, "  EKK: %s\n", d->ekk);
    for (size_t i = 0; i < d->n_reasons; i++) {
        char rb[1024];
        tp(&t, "  %s: %s [%s]\n", pick(lang, "iemesls", "reason", both, sizeof both),
           pick(lang, d->reasons[i].text_lv, d->reasons[i].text_en, rb, sizeof rb), d->reasons[i].code);
    }
    tp(&t, "%s:\n", pick(lang, "Aprēķina soļi", "Steps", both, sizeof both));
    for (size_t i = 0; i < r->n_steps; i++) {
        const rules_step *s = &r->steps[i];
        static const char *const lv_o[] = {"", "izpildīts", "nav izpildīts"};
        static const char *const en_o[] = {"", "passed", "failed"};
        tp(&t, "%2zu. %s\n", i + 1, pick(lang, s->label_lv, s->label_en, both, sizeof both));
        if (s->values[0])
            tp(&t, "    %s: %s\n", pick(lang, "vērtības", "values", per, sizeof per), s->values);
        for (size_t k = 0; k < s->n_reads; k++) {
            const rules_param_read *rd = &s->reads[k];
            char f[16], to[16];
            at_date_format(rd->from, f, sizeof f);
            if (rd->to != AT_DATE_NONE)
                at_date_format(rd->to, to, sizeof to);
            tp(&t, "    %s %s = %s (%s %s%s%s, %s; %s: %s)%s%s\n",
               lang == RULES_LANG_LV ? "parametrs" : "parameter", rd->name, rd->value,
               lang == RULES_LANG_LV ? "spēkā no" : "in force from", f, rd->to != AT_DATE_NONE ? " .. " : "",
               rd->to != AT_DATE_NONE ? to : "", rd->scope, lang == RULES_LANG_LV ? "avots" : "source",
               rd->source, rd->note[0] ? "; " : "", rd->note);
        }
        if (s->result[0] || s->outcome)
        {
            char ob[64];
            tp(&t, "    %s: %s%s%s\n", pick(lang, "rezultāts", "result", per, sizeof per),
               s->outcome ? pick(lang, lv_o[s->outcome], en_o[s->outcome], ob, sizeof ob) : "",
               s->outcome && s->result[0] ? ": " : "", s->result);
        }
    }
    return t.len;
}
