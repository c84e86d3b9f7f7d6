/*
 * main.c -- atbalsts-means: wiring only. The commands and the consumers are in handlers.c
 * (assess.c, override.c, query.c, consume.c), the rule sets in ruleset.c, the replay in
 * replay.c.
 *
 * One setting of its own besides those of libs/service (svc.h):
 *   --rulesets DIR   ATB_RULESETS   the rule-set directory (national.yaml, <tenant>.yaml);
 *                                   default: the source tree's services/means/rulesets.
 * svc_main() refuses options it does not know, so this one is taken out of argv first.
 * The files are loaded (strictly) before the service starts: a bad rule file stops it with
 * exit code 2, naming the file and line. They are published into the log on the first
 * request that needs them.
 */
#include "means.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MEANS_RULESETS_DIR
#define MEANS_RULESETS_DIR "rulesets"
#endif

/* Take --rulesets DIR / --rulesets=DIR out of argv; return its value and where it came
 * from, or the environment's, or the default. NULL when the flag has no value. */
static const char *rulesets_dir(int *argc, char **argv, const char **from)
{
    const char *dir = NULL;
    int out = 1;
    bool missing = false;
    for (int a = 1; a < *argc; a++) {
        if (strcmp(argv[a], "--rulesets") == 0) {
            if (a + 1 < *argc) {
                dir = argv[++a];
                *from = "--rulesets";
            } else {
                missing = true;
            }
            continue;
        }
        if (strncmp(argv[a], "--rulesets=", 11) == 0) {
            dir = argv[a] + 11;
            *from = "--rulesets";
            continue;
        }
        argv[out++] = argv[a];
    }
    argv[out] = NULL;
    *argc = out;
    if (missing)
        return NULL;
    if (dir && *dir)
        return dir;
    const char *env = getenv("ATB_RULESETS");
    if (env && *env) {
        *from = "ATB_RULESETS";
        return env;
    }
    *from = "the default";
    return MEANS_RULESETS_DIR;
}

/* At start, every rule set goes into the log (once per version): intake reads the
 * municipality's document limit from it before the first decision is made. */
static at_code publish_rulesets(es_store *es, at_error *err)
{
    return ruleset_cache_publish(means_rulesets, es, NULL, err);
}

int main(int argc, char **argv)
{
    svc_def def = {
        .name = "means",
        .commands = means_commands,
        .n_commands = means_n_commands,
        .consumers = means_consumers,
        .n_consumers = means_n_consumers,
        .migrations = means_migrations,
        .n_migrations = means_n_migrations,
        .start = publish_rulesets,
    };
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            printf("  --rulesets DIR     ATB_RULESETS      rule-set directory, default %s\n", MEANS_RULESETS_DIR);
            return svc_main(&def, argc, argv);
        }
    svc_log_set_service("means");
    const char *from = "";
    const char *dir = rulesets_dir(&argc, argv, &from);
    if (!dir) {
        svc_log(SVC_LOG_ERROR, "--rulesets: needs a value (write --rulesets DIR)");
        return 2;
    }
    at_error err;
    at_error_clear(&err);
    if (ruleset_cache_open(dir, &means_rulesets, &err) != AT_OK) {
        svc_log_kv(SVC_LOG_ERROR, "cannot load the rule sets", "error", err.message, "detail", err.detail, "hint",
                   err.hint, "rulesets", dir, "from", from, NULL);
        return 2;
    }
    int rc = svc_main(&def, argc, argv);
    ruleset_cache_free(means_rulesets);
    means_rulesets = NULL;
    return rc;
}
