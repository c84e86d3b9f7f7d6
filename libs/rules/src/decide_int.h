/*
 * This file is private to libs/rules.
 *
 * The rules_result being recorded, shared by decide.c (which records) and result.c (which
 * stores and renders).
 */
#ifndef RULES_DECIDE_INT_H
#define RULES_DECIDE_INT_H

#include "rules_int.h"

struct rules_result {
    rules__pool *pool;
    rules_decision d;
    rules_step *steps;
    size_t n_steps, cap_steps;
    size_t *first_read;         /* index of each step's first read */
    size_t cap_first;
    rules_param_read *reads;
    size_t n_reads, cap_reads;
    rules_reason *reasons;
    size_t n_reasons, cap_reasons;
    int cur;                    /* the step being recorded, -1 before the first */
    char vbuf[8192];            /* its values text */
    size_t vlen;
    bool oom;
};

rules_result *rules__result_new(void);
/* Open a new step; it is current until the next. */
bool rules__step(rules_result *r, const char *lv, const char *en);
void rules__values(rules_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rules__result_line(rules_result *r, rules_step_result o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rules__on_read_cb(void *ctx, const rules_param_value *v);
void rules__read_raw(rules_result *r, const char *name, const char *value, at_date from, at_date to,
                     const char *scope_name, const char *source, const char *note);
void rules__reason(rules_result *r, const char *code, const char *lv, const char *en);
void rules__result_seal(rules_result *r);

#endif
