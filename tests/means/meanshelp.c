/*
 * meanshelp.c -- see meanshelp.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "at_date.h"
#include "at_uuid.h"
#include "meanshelp.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void mh_prepare(mh *m)
{
    memset(m, 0, sizeof *m);
    sh_prepare(&m->sv);
    m->sv.exe = MEANS_PATH;
    t_db_conninfo(&m->sv.db, "atb_means", m->sv.pg_url, sizeof m->sv.pg_url);
    bus_config cfg = {.url = t_nats_url(), .prefix = m->sv.prefix, .stream = m->sv.stream, .name = "means-test"};
    at_error err;
    if (bus_connect(&m->client, &cfg, &err) != AT_OK) {
        fprintf(stderr, "FATAL: bus_connect: %s\n", err.message);
        exit(1);
    }
}

void mh_start(mh *m, const char *rulesets)
{
    static char env_rules[1100];
    snprintf(m->rulesets, sizeof m->rulesets, "%s", rulesets ? rulesets : RULESETS_DIR);
    snprintf(env_rules, sizeof env_rules, "ATB_RULESETS=%s", m->rulesets);
    const char *env[] = {env_rules, "ATB_MAX_MSG=262144", "ATB_LOG_LEVEL=warn", NULL};
    sh_start(&m->sv, NULL, env, NULL, -1);
    if (!sh_wait_healthy(&m->sv, 30000)) {
        fprintf(stderr, "FATAL: atbalsts-means did not become healthy\n");
        sh_kill(&m->sv);
        exit(1);
    }
}

int mh_stop(mh *m)
{
    if (m->sv.pid <= 0)
        return -1;
    kill(m->sv.pid, SIGTERM);
    int rc = sh_wait_exit(m->sv.pid, 30000);
    if (rc < 0)
        sh_kill(&m->sv);
    m->sv.pid = 0;
    return rc;
}

void mh_crash(mh *m)
{
    sh_kill(&m->sv);
}

void mh_relay_start(mh *m)
{
    m->relay = m->sv;
    m->relay.exe = RELAY_PATH;
    m->relay.pid = 0;
    m->relay.http_port = sh_free_port();
    t_db_conninfo(&m->sv.db, "atb_relay", m->relay.pg_url, sizeof m->relay.pg_url);
    const char *env[] = {"ATB_LOG_LEVEL=warn", NULL};
    sh_start(&m->relay, NULL, env, NULL, -1);
    if (!sh_wait_healthy(&m->relay, 30000)) {
        fprintf(stderr, "FATAL: atbalsts-relay did not become healthy\n");
        sh_kill(&m->relay);
        exit(1);
    }
}

int64_t mh_wait_sql(mh *m, int64_t want, int timeout_ms, const char *sql)
{
    PGconn *c = PQconnectdb(m->sv.db.admin);
    int64_t got = -1;
    for (int waited = 0;; waited += 50) {
        got = -1;
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            got = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (got == want || waited >= timeout_ms)
            break;
        sleep_ms(50);
    }
    PQfinish(c);
    return got;
}

void mh_cleanup(mh *m)
{
    mh_stop(m);
    if (m->relay.pid > 0) {
        kill(m->relay.pid, SIGTERM);
        if (sh_wait_exit(m->relay.pid, 30000) < 0)
            sh_kill(&m->relay);
        m->relay.pid = 0;
    }
    bus_close(m->client);
    m->client = NULL;
    sh_cleanup(&m->sv);
    nats_Close();
}

natsMsg *mh_request(mh *m, const char *kind, const char *tenant, const char *name, const ProtobufCMessage *msg)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s.%s.means.%s", m->sv.prefix, kind, tenant, name);
    for (int i = 0; i < 50; i++) {
        natsMsg *reply = NULL;
        at_error err;
        if (bus_request(m->client, subject, msg, 20000, &reply, &err) == AT_OK)
            return reply;
        sleep_ms(100);
    }
    fail_msg("no reply on %s", subject);
    return NULL;
}

#define DECODE(type, fn, msgp)                                                                            \
    do {                                                                                                  \
        natsMsg *r_ = (msgp);                                                                             \
        type *v_ = fn(NULL, (size_t)natsMsg_GetDataLength(r_), (const uint8_t *)natsMsg_GetData(r_));     \
        natsMsg_Destroy(r_);                                                                              \
        assert_non_null(v_);                                                                              \
        return v_;                                                                                        \
    } while (0)

Atb__V1__AssessReply *mh_assess(mh *m, const char *tenant, const Atb__V1__AssessApplication *cmd)
{
    DECODE(Atb__V1__AssessReply, atb__v1__assess_reply__unpack, mh_request(m, "cmd", tenant, "AssessApplication", &cmd->base));
}

Atb__V1__ReplayReply *mh_replay(mh *m, const char *tenant, const char *application_id)
{
    Atb__V1__ReplayDecision q = ATB__V1__REPLAY_DECISION__INIT;
    q.application_id = (char *)application_id;
    DECODE(Atb__V1__ReplayReply, atb__v1__replay_reply__unpack, mh_request(m, "qry", tenant, "ReplayDecision", &q.base));
}

Atb__V1__ExplainReply *mh_explain(mh *m, const char *tenant, const char *application_id)
{
    Atb__V1__ExplainDecision q = ATB__V1__EXPLAIN_DECISION__INIT;
    q.application_id = (char *)application_id;
    DECODE(Atb__V1__ExplainReply, atb__v1__explain_reply__unpack,
           mh_request(m, "qry", tenant, "ExplainDecision", &q.base));
}

Atb__V1__CommandReply *mh_override(mh *m, const char *tenant, const Atb__V1__OverrideDecision *cmd)
{
    DECODE(Atb__V1__CommandReply, atb__v1__command_reply__unpack,
           mh_request(m, "cmd", tenant, "OverrideDecision", &cmd->base));
}

uint8_t *mh_sql_bytes(mh *m, const char *sql, size_t *len)
{
    PGconn *c = PQconnectdb(m->sv.db.admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    uint8_t *out = NULL;
    *len = 0;
    if (PQntuples(r) > 0) {
        *len = (size_t)PQgetlength(r, 0, 0);
        out = malloc(*len + 1);
        memcpy(out, PQgetvalue(r, 0, 0), *len);
    }
    PQclear(r);
    PQfinish(c);
    return out;
}

int mh_forge(mh *m, const char *tenant, const char *stream, const char *type, const uint8_t *payload, size_t len)
{
    PGconn *c = PQconnectdb(m->sv.db.admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    const char *params[4] = {tenant, stream, type, (const char *)payload};
    int lens[4] = {0, 0, 0, (int)len};
    int fmts[4] = {0, 0, 0, 1};
    PGresult *r = PQexecParams(c,
                               "SELECT status, coalesce(detail, '') FROM atb.append(ARRAY[$1]::text[], "
                               "ARRAY[$2]::text[], ARRAY[0]::bigint[], ARRAY[NULL]::uuid[], ARRAY[NULL]::uuid[], "
                               "ARRAY[NULL]::uuid[], ARRAY['user:forger']::text[], ARRAY[1]::int[], "
                               "ARRAY[gen_random_uuid()]::uuid[], ARRAY[$3]::text[], ARRAY[now()]::timestamptz[], "
                               "ARRAY[$4::bytea])",
                               4, NULL, params, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("atb.append: %s", PQresultErrorMessage(r));
    int status = atoi(PQgetvalue(r, 0, 0));
    if (status != 0)
        fprintf(stderr, "forge: status %d: %s\n", status, PQgetvalue(r, 0, 1));
    PQclear(r);
    PQfinish(c);
    return status;
}

static void set_date(Atb__V1__Date *p, at_date d)
{
    atb__v1__date__init(p);
    int y, mo, dd;
    at_date_to_ymd(d, &y, &mo, &dd);
    p->year = y;
    p->month = mo;
    p->day = dd;
}

void mh_family_renew(mh_family *f)
{
    at_uuid_v4(f->app_id);
    at_uuid_v4(f->household);
    at_uuid_v4(f->command_id);
    for (int i = 0; i < 3; i++)
        at_uuid_v4(f->key[i]);
}

void mh_family_init(mh_family *f, int y, int mo, int d, int64_t income)
{
    memset(f, 0, sizeof *f);
    mh_family_renew(f);
    atb__v1__assess_application__init(&f->cmd);
    atb__v1__command_meta__init(&f->meta);
    atb__v1__application__init(&f->app);
    atb__v1__household__init(&f->hh);
    f->meta.command_id = f->command_id;
    f->meta.actor = "user:ilze.test";
    f->cmd.meta = &f->meta;
    f->cmd.application = &f->app;
    f->cmd.household = &f->hh;

    at_date on;
    at_date_from_ymd(y, mo, d, &on);
    set_date(&f->decision, on);
    f->app.id = f->app_id;
    f->app.decision_date = &f->decision;
    f->app.submitted = &f->decision;
    f->app.applicant = f->key[0];
    for (int i = 0; i < 2; i++) {
        atb__v1__ask__init(&f->ask[i]);
        f->ap[i] = &f->ask[i];
    }
    f->ask[0].kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    f->ask[1].kind = ATB__V1__ASK_KIND__ASK_KIND_GMI;
    f->app.asks = f->ap;
    f->app.n_asks = 2;

    f->adult_flags[0] = "able_to_work";
    f->adult_flags[1] = "registered_unemployed";
    static const int born[3][3] = {{1980, 1, 1}, {1983, 1, 1}, {2012, 1, 1}};
    static const Atb__V1__Relationship rel[3] = {ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT,
                                                 ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE,
                                                 ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD};
    for (int i = 0; i < 3; i++) {
        Atb__V1__HouseholdMember *m = &f->m[i];
        atb__v1__household_member__init(m);
        m->key = f->key[i];
        at_date b;
        at_date_from_ymd(born[i][0], born[i][1], born[i][2], &b);
        set_date(&f->birth[i], b);
        m->birth_date = &f->birth[i];
        m->relationship = rel[i];
        if (i < 2) {
            m->flags = f->adult_flags;
            m->n_flags = 2;
        }
        f->mp[i] = m;
    }
    f->hh.id = f->household;
    f->hh.members = f->mp;
    f->hh.n_members = 3;
    at_period w = at_last_full_months(on, 3);
    for (int i = 0; i < 3; i++) {
        Atb__V1__MonthlyIncome *in = &f->inc[i];
        atb__v1__monthly_income__init(in);
        in->member = f->key[0];
        in->type = "social_insurance_benefit";
        set_date(&f->month[i], at_date_add_months(w.from, i));
        in->month = &f->month[i];
        in->amount_cents = income;
        f->ip[i] = in;
    }
    f->hh.incomes = f->ip;
    f->hh.n_incomes = 3;
}

char *mh_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static const size_t max = 1 << 20;
    char *buf = malloc(max);
    *len = fread(buf, 1, max - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

void mh_copy_changed(const char *from, const char *to, const char *old, const char *new)
{
    size_t n;
    char *buf = mh_slurp(from, &n);
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    char *at = old ? strstr(buf, old) : NULL;
    if (old) {
        assert_non_null(at);
        assert_null(strstr(at + 1, old));   /* the value changed is the only one */
        fwrite(buf, 1, (size_t)(at - buf), out);
        fputs(new, out);
        fputs(at + strlen(old), out);
    } else {
        fwrite(buf, 1, n, out);
    }
    fclose(out);
    free(buf);
}

void mh_rulesets_at_level(const char *rulesets_dir, const char *tmp_dir, const char *level, char *dir, size_t n)
{
    snprintf(dir, n, "%s/rulesets-XXXXXX", tmp_dir);
    assert_non_null(mkdtemp(dir));
    DIR *d = opendir(rulesets_dir);
    assert_non_null(d);
    struct dirent *de;
    char value[32];
    snprintf(value, sizeof value, "value: \"%s\"", level);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
            continue;
        char from[2048], to[2048];
        snprintf(from, sizeof from, "%s/%s", rulesets_dir, de->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, de->d_name);
        bool national = strcmp(de->d_name, "national.yaml") == 0;
        mh_copy_changed(from, to, national ? "value: \"53.00\"" : NULL, value);
    }
    closedir(d);
}

void mh_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int mh_run_cli(const char *cli_path, const char *tmp_dir, const char *const *args, char *out, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/cli-out-XXXXXX", tmp_dir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        execv(cli_path, (char *const *)args);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    close(fd);
    size_t len = 0;
    char *b = mh_slurp(path, &len);
    snprintf(out, n, "%s", b);
    free(b);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
