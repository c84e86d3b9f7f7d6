/*
 * test_persons.c -- services/reporting/persons.c called as the consumer runtime calls it:
 * events appended to a fresh log (as role atb_intake), read back, each projected inside a
 * transaction that also moves the checkpoint (as role atb_reporting); CountPersons as the
 * query runtime calls it. The consumer's delivery (JetStream, redelivery, gap fill) is
 * libs/bus's and tested there; the whole path is in tests/intake/test_walking_skeleton.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "at_uuid.h"
#include "reporting.h"
#include "tsupport.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

static t_db db;
static es_store *writer;   /* atb_intake: appends */
static es_store *es;       /* atb_reporting: projects */

static void sql_text(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sql_text(char *out, size_t n, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGconn *c = PQconnectdb(db.admin);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    out[0] = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) && !PQgetisnull(r, 0, 0))
        snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
}

static int64_t sql_int(const char *sql)
{
    char out[64];
    sql_text(out, sizeof out, "%s", sql);
    return strtoll(out, NULL, 10);
}

/* Append PersonRegistered for a new key in tenant; the key into key_out. */
static int64_t append_person(const char *tenant, int y, int m, int d, Atb__V1__Sex sex, char key_out[37])
{
    at_uuid_v4(key_out);
    Atb__V1__Date birth = ATB__V1__DATE__INIT, reg = ATB__V1__DATE__INIT;
    birth.year = y, birth.month = m, birth.day = d;
    reg.year = 2026, reg.month = 3, reg.day = 2;
    Atb__V1__PersonRegistered pr = ATB__V1__PERSON_REGISTERED__INIT;
    pr.person_key = key_out;
    pr.birth_date = &birth;
    pr.registered_on = &reg;
    pr.sex = sex;
    uint8_t buf[256];
    size_t n = atb__v1__person_registered__pack(&pr, buf);
    char stream[64];
    snprintf(stream, sizeof stream, "person-%s", key_out);
    es_event_in ev = {.type = "PersonRegistered", .payload = buf, .payload_len = n};
    es_append_req req = {.tenant = tenant, .stream_id = stream, .expected_version = ES_VERSION_NONE,
                         .events = &ev, .n_events = 1};
    es_append_res res;
    at_error err;
    assert_int_equal(es_append(writer, &req, &res, &err), ES_OK);
    return res.first_position;
}

/* Project the log's person events after `after` as the consumer would, one transaction
 * per event with the checkpoint. Returns the number projected. */
static int project_from(int64_t after)
{
    static const char *const cats[] = {"person"};
    es_filter f = {.categories = cats, .n_categories = 1};
    es_batch *b = NULL;
    at_error err;
    assert_int_equal(es_read_all(es, after, 10000, &f, &b, &err), ES_OK);
    int n = 0;
    for (size_t i = 0; i < es_batch_count(b); i++) {
        const es_event *ev = es_batch_get(b, i);
        es_txn *t = NULL;
        assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
        at_code code = persons_project(NULL, t, ev, &err);
        if (code != AT_OK)
            fail_msg("position %lld: %s: %s", (long long)ev->position, err.message, err.detail);
        assert_int_equal(es_txn_checkpoint_set(t, PERSONS_CONSUMER, ev->position, &err), ES_OK);
        assert_int_equal(es_txn_commit(t, &err), ES_OK);
        n++;
    }
    es_batch_free(b);
    return n;
}

/* Project one hand-made event in a transaction that is rolled back whatever happens. */
static at_code project_one(const es_event *ev, at_error *err)
{
    es_txn *t = NULL;
    assert_int_equal(es_txn_begin(es, &t, err), ES_OK);
    at_code code = persons_project(NULL, t, ev, err);
    es_txn_rollback(t);
    return code;
}

static char anna[37];
static int64_t anna_pos;

static void projects_person_registered_with_its_position(void **state)
{
    (void)state;
    anna_pos = append_person("daugavpils", 1911, 11, 11, ATB__V1__SEX__FEMALE, anna);
    assert_int_equal(project_from(0), 1);
    char row[256], want[256];
    sql_text(row, sizeof row,
             "SELECT tenant || '|' || birth_date || '|' || sex || '|' || registered_on || '|' || position "
             "FROM reporting.persons WHERE person_key = '%s'",
             anna);
    snprintf(want, sizeof want, "daugavpils|1911-11-11|1|2026-03-02|%lld", (long long)anna_pos);
    assert_string_equal(row, want);
}

static void projecting_an_event_again_leaves_one_row(void **state)
{
    (void)state;
    /* as after a crash between commit and acknowledgement, without the checkpoint's help */
    assert_int_equal(project_from(0), 1);
    assert_int_equal(sql_int("SELECT count(*) FROM reporting.persons"), 1);
}

static void other_person_events_change_nothing(void **state)
{
    (void)state;
    es_event ev = {.position = 999, .tenant = "daugavpils", .stream_id = "person-x", .category = "person",
                   .version = 2, .type = "PersonAddressChanged", .payload = (const uint8_t *)"\x0a\x01x",
                   .payload_len = 3};
    at_error err;
    at_error_clear(&err);
    assert_int_equal(project_one(&ev, &err), AT_OK);
    assert_int_equal(sql_int("SELECT count(*) FROM reporting.persons"), 1);
}

static void an_event_that_cannot_be_projected_is_malformed_not_retried(void **state)
{
    (void)state;
    at_error err;
    /* bytes that are not a PersonRegistered */
    es_event junk = {.position = 1000, .tenant = "daugavpils", .stream_id = "person-x", .category = "person",
                     .version = 1, .type = "PersonRegistered", .payload = (const uint8_t *)"\xff\xff\xff",
                     .payload_len = 3};
    at_error_clear(&err);
    assert_int_equal(project_one(&junk, &err), AT_MALFORMED);
    assert_string_equal(err.message, "cannot project PersonRegistered at position 1000");

    /* a person key that is not a UUID */
    Atb__V1__PersonRegistered pr = ATB__V1__PERSON_REGISTERED__INIT;
    pr.person_key = "someone";
    uint8_t buf[128];
    es_event ev = junk;
    ev.payload = buf;
    ev.payload_len = atb__v1__person_registered__pack(&pr, buf);
    at_error_clear(&err);
    assert_int_equal(project_one(&ev, &err), AT_MALFORMED);
    assert_string_equal(err.detail, "Its person_key is not a UUID.");

    /* a birth date that does not exist: PostgreSQL refuses it, and always will */
    char key[37];
    at_uuid_v4(key);
    Atb__V1__Date bad = ATB__V1__DATE__INIT;
    bad.year = 2019, bad.month = 2, bad.day = 30;
    pr.person_key = key;
    pr.birth_date = &bad;
    pr.sex = ATB__V1__SEX__MALE;
    ev.payload_len = atb__v1__person_registered__pack(&pr, buf);
    at_error_clear(&err);
    assert_int_equal(project_one(&ev, &err), AT_MALFORMED);
    assert_string_equal(err.message, "cannot write reporting.persons");
    assert_non_null(strstr(err.detail, "SQLSTATE 22008"));
    assert_int_equal(sql_int("SELECT count(*) FROM reporting.persons"), 1);
}

static at_code count(const char *tenant, int64_t *persons, int64_t *position)
{
    Atb__V1__CountPersons q = ATB__V1__COUNT_PERSONS__INIT;
    at_arena *a = at_arena_new(1024);
    svc_request req = {.es = es, .tenant = tenant, .name = "CountPersons", .command_id = "", .actor = "",
                       .correlation_id = "", .expected_version = ES_VERSION_ANY, .msg = &q.base, .arena = a};
    ProtobufCMessage *reply = NULL;
    at_error err;
    at_code code = persons_count(&req, &reply, &err);
    if (code == AT_OK) {
        const Atb__V1__PersonCount *pc = (const Atb__V1__PersonCount *)reply;
        assert_null(pc->error);
        *persons = pc->persons;
        *position = pc->position;
    }
    at_arena_free(a);
    return code;
}

static void count_persons_counts_one_tenant_at_the_checkpoint(void **state)
{
    (void)state;
    char k[37];
    append_person("daugavpils", 1950, 5, 1, ATB__V1__SEX__MALE, k);
    append_person("kandava", 2001, 1, 2, ATB__V1__SEX__FEMALE, k);
    int64_t last = append_person("daugavpils", 1988, 12, 31, ATB__V1__SEX__FEMALE, k);
    int64_t persons = -1, position = -1;
    assert_int_equal(count("daugavpils", &persons, &position), AT_OK);
    assert_int_equal(persons, 1);
    assert_int_equal(position, anna_pos);   /* the new events are not projected yet */
    assert_int_equal(project_from(anna_pos), 3);
    assert_int_equal(count("daugavpils", &persons, &position), AT_OK);
    assert_int_equal(persons, 3);
    assert_int_equal(position, last);
    assert_int_equal(count("kandava", &persons, &position), AT_OK);
    assert_int_equal(persons, 1);
    assert_int_equal(count("tervete", &persons, &position), AT_OK);
    assert_int_equal(persons, 0);
}

static void a_rebuild_from_the_log_gives_the_same_rows(void **state)
{
    (void)state;
    const char *snapshot = "SELECT string_agg(person_key || tenant || coalesce(birth_date::text, '-') || sex || "
                           "coalesce(registered_on::text, '-') || position, ',' ORDER BY person_key) "
                           "FROM reporting.persons";
    char before[4096], after[4096];
    sql_text(before, sizeof before, "%s", snapshot);
    assert_true(strlen(before) > 100);
    sql_text(after, sizeof after, "DELETE FROM reporting.persons");
    sql_text(after, sizeof after, "DELETE FROM atb.checkpoints WHERE consumer = '%s'", PERSONS_CONSUMER);
    assert_int_equal(project_from(0), 4);
    sql_text(after, sizeof after, "%s", snapshot);
    assert_string_equal(after, before);
}

/* rebuild.c and pipeline.c: a date PostgreSQL refuses, in the log between two good events,
 * fails the batch's gathered INSERT; the batch is projected again one event at a time,
 * that event skipped (the consumer dead-letters it) and the others written. */
static void a_rebuild_skips_an_event_postgresql_refuses(void **state)
{
    (void)state;
    char bad[37], good[37];
    int64_t rows = sql_int("SELECT count(*) FROM reporting.persons");
    append_person("daugavpils", 2019, 2, 30, ATB__V1__SEX__MALE, bad);
    int64_t last = append_person("daugavpils", 2019, 2, 28, ATB__V1__SEX__MALE, good);
    size_t i = 0;
    while (strcmp(rep_projection_name(i), "persons") != 0)
        i++;
    rep_rebuild_result res;
    at_error err;
    at_error_clear(&err);
    if (rep_projection_rebuild(es, i, &res, &err) != AT_OK)
        fail_msg("%s: %s", err.message, err.detail);
    assert_int_equal(res.malformed, 1);
    assert_int_equal(res.events, rows + 2);
    assert_int_equal(res.position, last);
    assert_int_equal(sql_int("SELECT count(*) FROM reporting.persons"), rows + 1);
    char q[160];
    snprintf(q, sizeof q, "SELECT count(*) FROM reporting.persons WHERE person_key IN ('%s', '%s')", bad, good);
    assert_int_equal(sql_int(q), 1);
    snprintf(q, sizeof q, "SELECT count(*) FROM reporting.persons WHERE person_key = '%s'", good);
    assert_int_equal(sql_int(q), 1);
}

/* lock.c: a rebuild's transaction is refused while a service holds the lock, and a service
 * does not start while a rebuild's transaction holds it. */
static void the_service_and_a_rebuild_exclude_each_other(void **state)
{
    (void)state;
    at_error err;
    es_txn *t = NULL;
    size_t i = 0;
    while (strcmp(rep_projection_name(i), "persons") != 0)
        i++;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(rep_rebuild_guard(t, i, &err), AT_OK);   /* a rebuild's batch in flight */
    assert_int_equal(rep_service_lock(es, &err), AT_CONFLICT);
    assert_string_equal(err.message, "a rebuild of the projections is running");
    assert_non_null(strstr(err.hint, "when the rebuild has finished"));
    es_txn_rollback(t);

    assert_int_equal(rep_service_lock(es, &err), AT_OK);   /* the service starts */
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(rep_rebuild_guard(t, i, &err), AT_CONFLICT);
    assert_string_equal(err.message, "atbalsts-reporting is running");
    assert_non_null(strstr(err.hint, "Stop atbalsts-reporting"));
    es_txn_rollback(t);

    /* and the rebuild itself refuses before it drops anything */
    char before[64], after[64];
    sql_text(before, sizeof before, "SELECT count(*) || '/' || coalesce((SELECT position FROM atb.checkpoints "
                                    "WHERE consumer = '%s')::text, '-') FROM reporting.persons", PERSONS_CONSUMER);
    rep_rebuild_result res;
    assert_int_equal(rep_projection_rebuild(es, i, &res, &err), AT_CONFLICT);
    assert_int_equal(res.events, 0);
    sql_text(after, sizeof after, "SELECT count(*) || '/' || coalesce((SELECT position FROM atb.checkpoints "
                                  "WHERE consumer = '%s')::text, '-') FROM reporting.persons", PERSONS_CONSUMER);
    assert_string_equal(after, before);
    assert_memory_equal(before, "5/", 2);   /* the rows were there and still are */
    rep_service_unlock();
}

/* ---- setup ---- */

static int setup(void **state)
{
    (void)state;
    t_db_create(&db);
    PGconn *c = PQconnectdb(db.admin);
    for (size_t i = 0; i < reporting_n_migrations; i++) {
        /* as the runtime applies them (libs/service/src/migrate.c) */
        PQclear(PQexec(c, "BEGIN; SET LOCAL search_path TO reporting"));
        PGresult *r = PQexec(c, reporting_migrations[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "migration %zu: %s", i + 1, PQresultErrorMessage(r));
            return -1;
        }
        PQclear(r);
        PQclear(PQexec(c, "COMMIT"));
    }
    PQfinish(c);
    char ci[600];
    at_error err;
    t_db_conninfo(&db, "atb_intake", ci, sizeof ci);
    es_config wcfg = {.conninfo = ci, .pool_size = 2};
    if (es_open(&writer, &wcfg, &err) != ES_OK) {
        fprintf(stderr, "es_open: %s\n", err.message);
        return -1;
    }
    t_db_conninfo(&db, "atb_reporting", ci, sizeof ci);
    es_config cfg = {.conninfo = ci, .pool_size = 2};
    if (es_open(&es, &cfg, &err) != ES_OK) {
        fprintf(stderr, "es_open: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    es_close(es);
    es_close(writer);
    t_db_drop(&db);
    return 0;
}

int main(void)
{
    t_require_servers(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(projects_person_registered_with_its_position),
        cmocka_unit_test(projecting_an_event_again_leaves_one_row),
        cmocka_unit_test(other_person_events_change_nothing),
        cmocka_unit_test(an_event_that_cannot_be_projected_is_malformed_not_retried),
        cmocka_unit_test(count_persons_counts_one_tenant_at_the_checkpoint),
        cmocka_unit_test(a_rebuild_from_the_log_gives_the_same_rows),
        cmocka_unit_test(a_rebuild_skips_an_event_postgresql_refuses),
        cmocka_unit_test(the_service_and_a_rebuild_exclude_each_other),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
