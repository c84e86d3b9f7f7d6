/*
 * This file is private to libs/service.
 *
 * The settings of a service (config.c): one table row per setting, filled from defaults,
 * then the environment, then flags (flags win). tests/service/test_config.c includes it.
 */
#ifndef SVC_CONFIG_H
#define SVC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "at_error.h"
#include "svc.h"

typedef struct svc_config {
    char pg[1024];                /* required */
    char pg_admin[1024];          /* "" = no migrations */
    char nats[512];
    char nats_user[128];
    char nats_password[256];
    char prefix[129];
    char stream[65];
    int64_t stream_replicas;      /* used when the relay creates the stream */
    int64_t http_port;            /* 0 = no health/metrics server */
    int64_t workers;
    int64_t max_msg;
    int64_t pg_pool;              /* 0 = sized from workers and consumers */
    svc_log_level log_level;
    bool help;                    /* --help was given: print svc__config_help, exit 0 */
} svc_config;

/* Fill cfg from the defaults, the environment (getenv) and argv[1..argc-1]. On a bad value
 * returns AT_VALIDATION with err->message naming the setting, the rule, the value and where
 * it came from ("--workers: must be 1..256, got 0 (from ATB_WORKERS)") and err->field the
 * setting's name. Secrets are never echoed. */
at_code svc__config_load(svc_config *cfg, int argc, char **argv, at_error *err);

/* Print the settings table (flag, variable, default, what it is) for binary `prog`. */
void svc__config_help(FILE *out, const char *prog);

#endif
