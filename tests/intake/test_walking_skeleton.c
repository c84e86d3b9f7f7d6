/*
 * test_walking_skeleton.c -- a command creates a record, the event is appended, the relay
 * publishes it, another process projects it: intake, relay and reporting run as child
 * processes, each as its own PostgreSQL role, on a fresh database and their own subjects.
 * The caseworker CLI is driven as a client would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "at_uuid.h"
#include "bus.h"
#include "tsupport.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

static t_db db;
static char prefix[48], stream[48];
static pid_t pids[3];
static bus *client;

static pid_t spawn(const char *exe, const char *role)
{
    pid_t pid = fork();
    if (pid == 0) {
        char pg[600];
        t_db_conninfo(&db, role, pg, sizeof pg);
        setenv("ATB_PG_URL", pg, 1);
        setenv("ATB_PG_ADMIN_URL", db.admin, 1);
        setenv("ATB_NATS_URL", t_nats_url(), 1);
        setenv("ATB_PREFIX", prefix, 1);
        setenv("ATB_STREAM", stream, 1);
        setenv("ATB_HTTP_PORT", "0", 1);
        setenv("ATB_WORKERS", "4", 1);
        setenv("ATB_LOG_LEVEL", "warn", 1);
        execl(exe, exe, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int64_t sql_int(const char *sql)
{
    PGconn *c = PQconnectdb(db.admin);
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int64_t v = PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    PQfinish(c);
    return v;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    (void)state;
    t_db_create(&db);
    t_unique(prefix, sizeof prefix, "ws");
    t_unique(stream, sizeof stream, "WS");
    /* The relay and reporting create their schema from the log's migrations; start intake
     * first so its migration runs once, then the others. */
    pids[0] = spawn(INTAKE_PATH, "atb_intake");
    pids[1] = spawn(RELAY_PATH, "atb_relay");
    pids[2] = spawn(REPORTING_PATH, "atb_reporting");
    bus_config cfg = {.url = t_nats_url(), .prefix = prefix, .stream = stream, .name = "walking-skeleton"};
    at_error err;
    if (bus_connect(&client, &cfg, &err) != AT_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (int i = 0; i < 3; i++) {
        int st = 0;
        if (pids[i] > 0)
            waitpid(pids[i], &st, 0);
    }
    at_error err;
    bus_stream_delete(client, &err);
    bus_close(client);
    nats_Close();
    t_db_drop(&db);
    return 0;
}

/* Send a request, retrying while the services start (no responders yet). */
static natsMsg *request(const char *kind, const char *tenant, const char *service, const char *name,
                        const ProtobufCMessage *msg)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s.%s.%s.%s", prefix, kind, tenant, service, name);
    for (int i = 0; i < 100; i++) {
        natsMsg *reply = NULL;
        at_error err;
        if (bus_request(client, subject, msg, 5000, &reply, &err) == AT_OK)
            return reply;
        sleep_ms(100);
    }
    fail_msg("no reply on %s", subject);
    return NULL;
}

static Atb__V1__CommandReply *register_person(const char *command_id, const char *tenant, const char *code,
                                              int year, int month, int day)
{
    Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date bd = ATB__V1__DATE__INIT;
    meta.command_id = (char *)command_id;
    meta.actor = "user:test.worker";
    bd.year = year;
    bd.month = month;
    bd.day = day;
    rp.meta = &meta;
    rp.personal_code = (char *)code;
    rp.given_name = "Anna";
    rp.family_name = "Bērziņa";
    rp.birth_date = &bd;
    rp.sex = ATB__V1__SEX__FEMALE;
    natsMsg *m = request("cmd", tenant, "intake", "RegisterPerson", &rp.base);
    Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                              (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(r);
    return r;
}

/* 111111-11111 is a valid code (see tests/core/test_pcode.c); born 1911-11-11. */
#define CODE "111111-11111"

static void registered_person_reaches_the_projection_without_identifying_data(void **state)
{
    (void)state;
    char cmd[37];
    at_uuid_v4(cmd);
    Atb__V1__CommandReply *r = register_person(cmd, "daugavpils", CODE, 1911, 11, 11);
    assert_true(r->error == NULL || r->error->code == 0);
    assert_true(at_uuid_valid(r->key));
    assert_int_equal(r->version, 1);
    assert_true(r->first_position >= 1);
    char key[37];
    snprintf(key, sizeof key, "%s", r->key);
    atb__v1__command_reply__free_unpacked(r, NULL);

    /* the event is in the log and carries neither the personal code nor a name */
    PGconn *c = PQconnectdb(db.admin);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT payload, type, actor FROM atb.events WHERE stream_id = 'person-%s'", key);
    PGresult *res = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 1), "PersonRegistered");
    assert_string_equal(PQgetvalue(res, 0, 2), "user:test.worker");
    const char *p = PQgetvalue(res, 0, 0);
    int n = PQgetlength(res, 0, 0);
    assert_null(memmem(p, (size_t)n, "111111", 6));
    assert_null(memmem(p, (size_t)n, "Anna", 4));
    assert_null(memmem(p, (size_t)n, "B\xc4\x93rzi", 6));
    assert_non_null(memmem(p, (size_t)n, key, 36));
    PQclear(res);
    PQfinish(c);

    /* the reporting service, another process, projects it via JetStream */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM reporting.persons WHERE person_key = '%s'", key);
    int64_t got = 0;
    for (int i = 0; i < 200 && got == 0; i++) {
        sleep_ms(50);
        got = sql_int("SELECT count(*) FROM pg_tables WHERE schemaname = 'reporting'") ? sql_int(sql) : 0;
    }
    assert_int_equal(got, 1);

    Atb__V1__CountPersons q = ATB__V1__COUNT_PERSONS__INIT;
    natsMsg *m = request("qry", "daugavpils", "reporting", "CountPersons", &q.base);
    Atb__V1__PersonCount *pc = atb__v1__person_count__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                             (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(pc);
    assert_int_equal(pc->persons, 1);
    assert_true(pc->position >= 1);
    atb__v1__person_count__free_unpacked(pc, NULL);

    /* the same command again: the first reply, no second event */
    r = register_person(cmd, "daugavpils", CODE, 1911, 11, 11);
    assert_true(r->duplicate);
    assert_string_equal(r->key, key);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(sql_int("SELECT count(*) FROM atb.events WHERE type = 'PersonRegistered'"), 1);

    /* another command for the same personal code: a conflict naming the existing key */
    char cmd2[37];
    at_uuid_v4(cmd2);
    r = register_person(cmd2, "daugavpils", "11111111111", 1911, 11, 11);
    assert_non_null(r->error);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_string_equal(r->error->message, "person is already registered");
    assert_non_null(strstr(r->error->detail, key));
    atb__v1__command_reply__free_unpacked(r, NULL);

    /* GetPerson joins the identity store and the stream */
    Atb__V1__GetPerson g = ATB__V1__GET_PERSON__INIT;
    g.personal_code = "11111111111";
    m = request("qry", "daugavpils", "intake", "GetPerson", &g.base);
    Atb__V1__PersonView *v = atb__v1__person_view__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                          (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(v);
    assert_string_equal(v->person_key, key);
    assert_string_equal(v->family_name, "Bērziņa");
    assert_int_equal(v->birth_date->year, 1911);
    assert_int_equal(v->version, 1);
    atb__v1__person_view__free_unpacked(v, NULL);

    /* the same code in another municipality is another person there */
    char cmd3[37];
    at_uuid_v4(cmd3);
    r = register_person(cmd3, "tervete", CODE, 1911, 11, 11);
    assert_true(r->error == NULL || r->error->code == 0);
    atb__v1__command_reply__free_unpacked(r, NULL);
}

static void bad_registrations_are_refused_and_append_nothing(void **state)
{
    (void)state;
    int64_t before = sql_int("SELECT count(*) FROM atb.events");
    struct {
        const char *code;
        int y, m, d;
        const char *tenant;
        int want;
        const char *field;
        const char *message;
    } cases[] = {
        {"111111-11112", 1911, 11, 11, "daugavpils", ATB__V1__ERROR_CODE__VALIDATION, "personal_code",
         "personal code checksum is wrong"},
        {"111111-11111", 1912, 11, 11, "kandava", ATB__V1__ERROR_CODE__VALIDATION, "birth_date",
         "birth date does not match the personal code"},
        {"32123456789", 0, 0, 0, "kandava", ATB__V1__ERROR_CODE__VALIDATION, "birth_date",
         "birth date is required"},
        {"32123456789", 2150, 1, 1, "kandava", ATB__V1__ERROR_CODE__VALIDATION, "birth_date",
         "birth date is in the future"},
        {"111111-11111", 1911, 11, 11, "atlantida", ATB__V1__ERROR_CODE__UNKNOWN_TENANT, "", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[37];
        at_uuid_v4(cmd);
        Atb__V1__CommandReply *r = register_person(cmd, cases[i].tenant, cases[i].code, cases[i].y, cases[i].m,
                                                   cases[i].d);
        assert_non_null(r->error);
        assert_int_equal(r->error->code, cases[i].want);
        assert_string_equal(r->error->field, cases[i].field);
        if (cases[i].message)
            assert_string_equal(r->error->message, cases[i].message);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    assert_int_equal(sql_int("SELECT count(*) FROM atb.events"), before);
}

static void cli_registers_and_shows_a_person(void **state)
{
    (void)state;
    char cmdline[1024], out[4096];
    /* The published valid code again, in a third municipality: a new person there. */
    snprintf(cmdline, sizeof cmdline,
             "ATB_NATS_URL='%s' ATB_PREFIX='%s' '%s' --tenant kuldiga --json person register --code 111111-11111 "
             "--given Jānis --family Ozols --sex m",
             t_nats_url(), prefix, CLI_PATH);
    FILE *f = popen(cmdline, "r");
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    assert_int_equal(pclose(f), 0);
    assert_non_null(strstr(out, "\"person_key\":\""));
    snprintf(cmdline, sizeof cmdline,
             "ATB_NATS_URL='%s' ATB_PREFIX='%s' '%s' --tenant kuldiga person show --code 111111-11111",
             t_nats_url(), prefix, CLI_PATH);
    f = popen(cmdline, "r");
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    assert_int_equal(pclose(f), 0);
    assert_non_null(strstr(out, "Jānis Ozols"));
    assert_non_null(strstr(out, "1911-11-11"));
    /* refused: exit code 2 and the error on stderr */
    snprintf(cmdline, sizeof cmdline,
             "ATB_NATS_URL='%s' ATB_PREFIX='%s' '%s' --tenant kuldiga person register --code 111111-11112 "
             "--given A --family B --sex m 2>&1",
             t_nats_url(), prefix, CLI_PATH);
    f = popen(cmdline, "r");
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    assert_int_equal(WEXITSTATUS(pclose(f)), 2);
    assert_non_null(strstr(out, "ERROR:  VALIDATION: personal code checksum is wrong"));
    /* usage errors: exit code 1 */
    snprintf(cmdline, sizeof cmdline, "'%s' person register --code 1 >/dev/null 2>&1", CLI_PATH);
    assert_int_equal(t_system("%s", cmdline), 1);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registered_person_reaches_the_projection_without_identifying_data),
        cmocka_unit_test(bad_registrations_are_refused_and_append_nothing),
        cmocka_unit_test(cli_registers_and_shows_a_person),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
