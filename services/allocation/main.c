/*
 * main.c -- atbalsts-allocation: wiring only. The commands are in handlers.c, the
 * consumers in consume.c, the catalogue in catalogue.c.
 *
 * One setting of its own besides those of libs/service (svc.h):
 *   --catalogue DIR   ATB_CATALOGUE   the catalogue directory (<municipality>.yaml);
 *                                     default: the source tree's services/allocation/catalogue.
 * svc_main() refuses options it does not know, so this one is taken out of argv first.
 * The files are loaded (strictly) before the service starts: a bad file stops it with exit
 * code 2, naming the file and line. At start every file is published into the log
 * (CataloguePublished, once per version) and its units get their lock rows.
 */
#include "allocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AL_CATALOGUE_DIR
#define AL_CATALOGUE_DIR "catalogue"
#endif

/* Take --catalogue DIR / --catalogue=DIR out of argv; its value, the environment's, or
 * the default. NULL when the flag has no value. */
static const char *catalogue_dir(int *argc, char **argv)
{
    const char *dir = NULL;
    int out = 1;
    bool missing = false;
    for (int a = 1; a < *argc; a++) {
        if (strcmp(argv[a], "--catalogue") == 0) {
            if (a + 1 < *argc)
                dir = argv[++a];
            else
                missing = true;
            continue;
        }
        if (strncmp(argv[a], "--catalogue=", 12) == 0) {
            dir = argv[a] + 12;
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
    const char *env = getenv("ATB_CATALOGUE");
    return env && *env ? env : AL_CATALOGUE_DIR;
}

int main(int argc, char **argv)
{
    svc_def def = {
        .name = "allocation",
        .commands = allocation_commands,
        .n_commands = allocation_n_commands,
        .consumers = allocation_consumers,
        .n_consumers = allocation_n_consumers,
        .migrations = allocation_migrations,
        .n_migrations = allocation_n_migrations,
        .start = al_catalogue_publish,
    };
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            printf("  --catalogue DIR    ATB_CATALOGUE     catalogue directory, default %s\n", AL_CATALOGUE_DIR);
            return svc_main(&def, argc, argv);
        }
    svc_log_set_service("allocation");
    const char *dir = catalogue_dir(&argc, argv);
    if (!dir) {
        svc_log(SVC_LOG_ERROR, "--catalogue: needs a value (write --catalogue DIR)");
        return 2;
    }
    at_error err;
    at_error_clear(&err);
    if (al_catalogue_load(dir, &al_cat, &err) != AT_OK) {
        svc_log_kv(SVC_LOG_ERROR, "cannot load the catalogue", "error", err.message, "detail", err.detail, "hint",
                   err.hint, "catalogue", dir, NULL);
        return 2;
    }
    int rc = svc_main(&def, argc, argv);
    al_catalogue_free(al_cat);
    al_cat = NULL;
    return rc;
}
