/*
 * meanshelp.h -- what the means service tests share: the atbalsts-means binary as a child
 * process on a fresh database (as role atb_means, with its own subject prefix and stream),
 * a NATS client, requests with their replies decoded, and a household to assess.
 *
 * Built on tests/service's svchelp (sh_prepare, sh_start, sh_sql, ...).
 */
#ifndef MEANSHELP_H
#define MEANSHELP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "svchelp.h"
#include "atb/v1/means.pb-c.h"

typedef struct mh {
    sh_service sv;
    bus *client;
    char rulesets[1024];      /* the directory the service was last started with */
    sh_service relay;         /* atbalsts-relay on the same database, prefix and stream;
                                 relay.pid 0 when not running */
} mh;

/* A fresh database and names; the client connected. Aborts on failure. */
void mh_prepare(mh *m);
/* Start atbalsts-means with this rule-set directory (NULL = the source tree's) and wait
 * until it is healthy. Aborts if it does not become healthy. */
void mh_start(mh *m, const char *rulesets);
/* SIGTERM and wait for a clean exit (0); returns its exit code. */
int mh_stop(mh *m);
/* SIGKILL the service, as a crash would, and reap it. */
void mh_crash(mh *m);
/* Start atbalsts-relay (role atb_relay) on the service's database, prefix and stream, and
 * wait until it is healthy (it has created the stream then). Aborts if it does not. */
void mh_relay_start(mh *m);
/* Stop the service and the relay, close the client, delete the stream, drop the database. */
void mh_cleanup(mh *m);

/* Poll `sql` (run as the superuser; its first value as int64, errors and no row count as
 * -1) every 50 ms until it equals want or timeout_ms passes; the last value seen. */
int64_t mh_wait_sql(mh *m, int64_t want, int timeout_ms, const char *sql);

/* Send a request (kind "cmd" or "qry") to <prefix>.<kind>.<tenant>.means.<name>; the reply
 * bytes in a natsMsg the caller destroys. Fails the test when there is no reply. */
natsMsg *mh_request(mh *m, const char *kind, const char *tenant, const char *name, const ProtobufCMessage *msg);

Atb__V1__AssessReply *mh_assess(mh *m, const char *tenant, const Atb__V1__AssessApplication *cmd);
Atb__V1__ReplayReply *mh_replay(mh *m, const char *tenant, const char *application_id);
Atb__V1__ExplainReply *mh_explain(mh *m, const char *tenant, const char *application_id);
Atb__V1__CommandReply *mh_override(mh *m, const char *tenant, const Atb__V1__OverrideDecision *cmd);

/* The payload of the first row of a query selecting one bytea column (binary); malloc'd,
 * the caller frees it. NULL when there is no row. */
uint8_t *mh_sql_bytes(mh *m, const char *sql, size_t *len);
/* Append one event as the superuser through atb.append() (the ordering lock is respected),
 * bypassing the service: how a forger with database rights would do it. Returns the
 * append's status (0 ok). */
int mh_forge(mh *m, const char *tenant, const char *stream, const char *type, const uint8_t *payload, size_t len);

/* A household of two working-age adults registered as unemployed and one child, in
 * Daugavpils, with `income` cents a month of social insurance benefit (applicant a1) in
 * each of the three full months before the application, asking for needy status and
 * GMI. Decision and application date y-mo-d. Fresh UUIDs for the application, the
 * household, the members and the command. */
typedef struct mh_family {
    char app_id[37], household[37], command_id[37];
    char key[3][37];
    Atb__V1__AssessApplication cmd;
    Atb__V1__CommandMeta meta;
    Atb__V1__Application app;
    Atb__V1__Household hh;
    Atb__V1__HouseholdMember m[4];
    Atb__V1__HouseholdMember *mp[4];
    Atb__V1__MonthlyIncome inc[4];
    Atb__V1__MonthlyIncome *ip[4];
    Atb__V1__Ask ask[4];
    Atb__V1__Ask *ap[4];
    Atb__V1__Date decision, birth[4], month[4];
    char *adult_flags[2];
} mh_family;

void mh_family_init(mh_family *f, int y, int mo, int d, int64_t income);
/* Give the family fresh ids (application, household, members, command). */
void mh_family_renew(mh_family *f);

/* ---- files and the command line */

/* A whole file (up to 1 MiB - 1), NUL-terminated; malloc'd. Fails the test when it cannot
 * be opened. */
char *mh_slurp(const char *path, size_t *len);
/* Copy from to to with `old` (which must occur exactly once) replaced by `new`; old NULL
 * copies as is. */
void mh_copy_changed(const char *from, const char *to, const char *old, const char *new);
/* A fresh directory under tmp_dir (its path in dir) with every .yaml of rulesets_dir, the
 * 2018-2019 GMI level of national.yaml ("53.00") replaced by `level`. */
void mh_rulesets_at_level(const char *rulesets_dir, const char *tmp_dir, const char *level, char *dir, size_t n);
/* Remove a directory and the files in it. */
void mh_remove_dir(const char *dir);
/* Run the command line at cli_path with args (args[0] the program name, NULL-terminated),
 * its stdout into out (cut to n); its exit code (-1 when it did not exit). */
int mh_run_cli(const char *cli_path, const char *tmp_dir, const char *const *args, char *out, size_t n);

#endif
