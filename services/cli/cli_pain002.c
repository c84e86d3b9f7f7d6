/*
 * cli_pain002.c -- see cli_pain002.h.
 */
#include "cli_pain002.h"

#include <errno.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A status report of 10,000 transactions is a few MB; anything far larger is not one. */
#define REPORT_MAX (64u * 1024u * 1024u)

static char *read_all(const char *path, size_t *len, at_error *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        at_error_set(err, AT_NOT_FOUND, "file", "could not open the report: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 64 * 1024, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            char *nb = cap < REPORT_MAX ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                free(b);
                b = NULL;
                at_error_set(err, AT_VALIDATION, "file", "the report is larger than %u MiB", REPORT_MAX >> 20);
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (b && ferror(f)) {
        at_error_set(err, AT_UNAVAILABLE, "file", "could not read the report: %s", strerror(errno));
        free(b);
        b = NULL;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return b;
}

static int report_error(const cli_sub *s, const char *path, const at_error *err)
{
    cli_usage_error(s, "%s: %s", path, err->message);
    if (*err->detail)
        fprintf(stderr, "DETAIL:  %s\n", err->detail);
    if (*err->hint)
        fprintf(stderr, "HINT:  %s\n", err->hint);
    if (*err->field)
        fprintf(stderr, "FIELD:  %s\n", err->field);
    return CLI_USAGE;
}

int cli_pain002_load(const cli_sub *s, const char *path, const char *batch, Atb__V1__ImportConfirmation *cmd,
                     cli_pain002 *p)
{
    memset(p, 0, sizeof *p);
    at_error err;
    at_error_clear(&err);
    size_t len = 0;
    char *xml = read_all(path, &len, &err);
    if (!xml)
        return report_error(s, path, &err);
    at_code c = pay_pain002_parse(xml, len, &p->rep, &err);
    free(xml);
    if (c != AT_OK)
        return report_error(s, path, &err);
    if (!pay_batch_of_msg_id(p->rep.orig_msg_id, p->batch)) {
        at_error_set(&err, AT_VALIDATION, "OrgnlGrpInfAndSts/OrgnlMsgId", "the report is about file %s",
                     p->rep.orig_msg_id);
        at_error_detail(&err, "Files of this system are named ATB and their batch's 32 hex digits; this report "
                              "answers a file sent from elsewhere.");
        return report_error(s, path, &err);
    }
    if (batch && strcasecmp(batch, p->batch) != 0) {
        at_error_set(&err, AT_VALIDATION, "OrgnlGrpInfAndSts/OrgnlMsgId", "the report is about batch %s, not %s",
                     p->batch, batch);
        at_error_hint(&err, "Leave out the batch id: the report names its batch.");
        return report_error(s, path, &err);
    }
    p->res = calloc(p->rep.n_txs + 1, sizeof *p->res);
    p->rp = calloc(p->rep.n_txs + 1, sizeof *p->rp);
    if (!p->res || !p->rp) {
        at_error_set(&err, AT_INTERNAL, NULL, "out of memory");
        return report_error(s, path, &err);
    }
    for (size_t i = 0; i < p->rep.n_txs; i++) {
        atb__v1__order_result__init(&p->res[i]);
        p->res[i].end_to_end_id = p->rep.txs[i].end_to_end_id;
        p->res[i].rejected = p->rep.txs[i].rejected;
        p->res[i].reason = p->rep.txs[i].reason;
        p->rp[i] = &p->res[i];
    }
    cmd->batch_id = p->batch;
    cmd->report_id = p->rep.msg_id;
    cmd->original_message_id = p->rep.orig_msg_id;
    cmd->results = p->rp;
    cmd->n_results = p->rep.n_txs;
    cmd->reject_all = p->rep.reject_all;
    cmd->reject_all_reason = p->rep.reject_all_reason;
    return CLI_NEXT;
}

void cli_pain002_free(cli_pain002 *p)
{
    pay_pain002_free(&p->rep);
    free(p->res);
    free(p->rp);
    p->res = NULL;
    p->rp = NULL;
}
