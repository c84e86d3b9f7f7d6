/*
 * test_migrate.c -- migrations (libs/eventstore/src/migrate.c): versioned, idempotent,
 * safe from several processes at once, and es_open() refuses a database not migrated.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static void admin_exec(const char *sql)
{
    char ci[512];
    snprintf(ci, sizeof ci, "host=%s port=%s user=%s dbname=postgres", t_pg_host(), t_pg_port(),
             getenv("ATB_PG_SUPERUSER") && *getenv("ATB_PG_SUPERUSER") ? getenv("ATB_PG_SUPERUSER")
                                                                       : "postgres");
    PGconn *c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* A database without the atb schema. */
static void fresh_db(t_db *db)
{
    memset(db, 0, sizeof *db);
    t_unique(db->name, sizeof db->name, "atb_t_fresh_");
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db->name);
    admin_exec(sql);
    t_db_conninfo(db, NULL, db->admin, sizeof db->admin);
}

static void migrate_twice_applies_nothing_the_second_time(void **state)
{
    (void)state;
    int applied = -1;
    at_error err;
    assert_int_equal(es_migrate(h_db.admin, &applied, &err), ES_OK);
    assert_int_equal(applied, 0);
    assert_true(es_schema_version() >= 3);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.schema_migrations"), es_schema_version());
    assert_int_equal(h_scalar("SELECT max(version) FROM atb.schema_migrations"), es_schema_version());
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.schema_migrations WHERE version = 2 "
                              "AND name = 'append'"), 1);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.log_head"), 1);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.tenants WHERE code = 'demo'"), 1);
}

struct migrator {
    const char *conninfo;
    es_status st;
    int applied;
    at_error err;
};

static void *migrate_thread(void *arg)
{
    struct migrator *m = arg;
    m->st = es_migrate(m->conninfo, &m->applied, &m->err);
    return NULL;
}

static void migrate_from_four_threads_on_a_fresh_database(void **state)
{
    (void)state;
    t_db db;
    fresh_db(&db);
    struct migrator m[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        m[i] = (struct migrator){.conninfo = db.admin, .applied = -1};
        pthread_create(&th[i], NULL, migrate_thread, &m[i]);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (m[i].st != ES_OK)
            fail_msg("migrator %d: %s: %s (%s)", i, es_status_str(m[i].st), m[i].err.message,
                     m[i].err.detail);
        total += m[i].applied;
    }
    assert_int_equal(total, es_schema_version());

    /* The result is usable by a service role. */
    t_db saved = h_db;
    h_db = db;
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.schema_migrations"), es_schema_version());
    es_store *es = h_open("atb_intake", 1);
    es_append_res res;
    assert_int_equal(h_append1(es, "demo", "person-1", 0, NULL, "p", &res, NULL), ES_OK);
    assert_int_equal(res.first_position, 1);
    es_close(es);
    h_db = saved;
    t_db_drop(&db);
}

static void open_refuses_a_database_not_migrated(void **state)
{
    (void)state;
    t_db db;
    fresh_db(&db);
    es_config cfg = {.pool_size = 1, .conninfo = db.admin};
    es_store *es = NULL;
    at_error err;
    assert_int_equal(es_open(&es, &cfg, &err), ES_INVALID);
    assert_null(es);
    assert_string_equal(err.message, "cannot open the event store: relation "
                                     "\"atb.schema_migrations\" does not exist");
    assert_non_null(strstr(err.hint, "es_migrate()"));
    t_db_drop(&db);
}

static void migrate_refuses_a_database_of_another_build(void **state)
{
    (void)state;
    t_db db;
    fresh_db(&db);
    at_error err;
    assert_int_equal(es_migrate(db.admin, NULL, &err), ES_OK);
    PGconn *c = PQconnectdb(db.admin);
    PQclear(PQexec(c, "UPDATE atb.schema_migrations SET name = 'something_else' WHERE version = 2"));
    PQfinish(c);
    assert_int_equal(es_migrate(db.admin, NULL, &err), ES_INVALID);
    assert_string_equal(err.message, "cannot migrate: version 2 of the database is "
                                     "\"something_else\", this program's is \"append\"");
    t_db_drop(&db);
}

static void migrate_reports_an_unreachable_server(void **state)
{
    (void)state;
    at_error err;
    int applied = -1;
    assert_int_equal(es_migrate("host=127.0.0.1 port=1 dbname=x connect_timeout=2", &applied, &err),
                     ES_IO);
    assert_int_equal(applied, 0);
    assert_string_equal(err.message, "could not connect to PostgreSQL to migrate");
    assert_int_equal(err.code, AT_UNAVAILABLE);
    assert_true(strlen(err.detail) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrate_twice_applies_nothing_the_second_time),
        cmocka_unit_test(migrate_from_four_threads_on_a_fresh_database),
        cmocka_unit_test(open_refuses_a_database_not_migrated),
        cmocka_unit_test(migrate_refuses_a_database_of_another_build),
        cmocka_unit_test(migrate_reports_an_unreachable_server),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
