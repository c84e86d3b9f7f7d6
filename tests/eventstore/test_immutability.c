/*
 * test_immutability.c -- the log cannot be changed: service roles hold no privilege to
 * change atb.events or atb.commands (nor to insert around atb.append()), and triggers
 * refuse UPDATE, DELETE and TRUNCATE even to the superuser that owns the tables.
 */
#include "helpers.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static PGconn *connect_as(const char *role)
{
    char ci[512];
    t_db_conninfo(&h_db, role, ci, sizeof ci);
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect as %s: %s", role, PQerrorMessage(c));
    return c;
}

/* Run sql, expect it to fail with sqlstate; return the primary message in msg. */
static void expect_error(PGconn *c, const char *sql, const char *sqlstate, char *msg, size_t n)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_FATAL_ERROR)
        fail_msg("%s: expected SQLSTATE %s, got %s", sql, sqlstate, PQresStatus(PQresultStatus(r)));
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (!st || strcmp(st, sqlstate) != 0)
        fail_msg("%s: expected SQLSTATE %s, got %s (%s)", sql, sqlstate, st ? st : "-",
                 PQresultErrorMessage(r));
    if (msg)
        snprintf(msg, n, "%s", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    PQclear(r);
}

static void seed(void)
{
    es_store *es = h_open("atb_intake", 1);
    char stream[80], cmd[37];
    h_stream(stream, sizeof stream, "person");
    h_uuid(cmd);
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "demo", stream, 0, cmd, "p", &res, &err), ES_OK);
    es_close(es);
}

static void service_role_cannot_change_or_bypass_the_log(void **state)
{
    (void)state;
    seed();
    long long events = h_scalar("SELECT count(*) FROM atb.events");
    long long head = h_scalar("SELECT position FROM atb.log_head");
    PGconn *c = connect_as("atb_intake");
    char msg[256];
    const char *refused[] = {
        "UPDATE atb.events SET type = 'Forged'",
        "DELETE FROM atb.events",
        "TRUNCATE atb.events",
        "UPDATE atb.commands SET version = 99",
        "DELETE FROM atb.commands",
        "TRUNCATE atb.commands",
        /* A direct insert would not take the head lock: refused too. */
        "INSERT INTO atb.events (position, event_id, tenant, stream_id, category, version, type, "
        "occurred_at, payload) VALUES (1000000, gen_random_uuid(), 'demo', 'person-x', 'person', 1, "
        "'Forged', now(), '')",
        "INSERT INTO atb.commands (command_id, tenant, stream_id, first_position, last_position, "
        "version) VALUES (gen_random_uuid(), 'demo', 'person-x', 1, 1, 1)",
        "UPDATE atb.log_head SET position = position + 10",
        "INSERT INTO atb.tenants (code, name) VALUES ('forged', 'Forged')",
        "DELETE FROM atb.checkpoints",
        "DELETE FROM atb.dead_letters",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        expect_error(c, refused[i], "42501", msg, sizeof msg);
        assert_non_null(strstr(msg, "permission denied for table"));
    }
    PQfinish(c);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events"), events);
    assert_int_equal(h_scalar("SELECT position FROM atb.log_head"), head);
}

static void superuser_cannot_change_the_log_either(void **state)
{
    (void)state;
    long long events = h_scalar("SELECT count(*) FROM atb.events");
    assert_true(events > 0);
    PGconn *c = h_admin();
    char msg[256];
    struct {
        const char *sql, *message, *op;
    } cases[] = {
        {"UPDATE atb.events SET type = 'Forged'", "atb.events is append-only", "UPDATE"},
        {"DELETE FROM atb.events", "atb.events is append-only", "DELETE"},
        {"TRUNCATE atb.events CASCADE", "atb.events is append-only", "TRUNCATE"},
        {"UPDATE atb.commands SET version = 99", "atb.commands is append-only", "UPDATE"},
        {"DELETE FROM atb.commands", "atb.commands is append-only", "DELETE"},
        {"TRUNCATE atb.commands", "atb.commands is append-only", "TRUNCATE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error(c, cases[i].sql, "ZA001", msg, sizeof msg);
        assert_string_equal(msg, cases[i].message);
    }
    PGresult *r = PQexec(c, "DELETE FROM atb.events");
    char want[128];
    snprintf(want, sizeof want, "DELETE on atb.events is refused for every role, its owner included.");
    assert_string_equal(PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL), want);
    assert_string_equal(PQresultErrorField(r, PG_DIAG_MESSAGE_HINT),
                        "Append an event that corrects the earlier one instead.");
    PQclear(r);
    PQfinish(c);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events"), events);
}

static void failed_statement_in_a_transaction_fails_its_commit(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 1);
    long long head = h_scalar("SELECT position FROM atb.log_head");
    at_error err;
    es_txn *t;
    char stream[80];
    h_stream(stream, sizeof stream, "person");
    es_event_in ev = h_event("PersonRegistered", "p", 1);
    es_append_req req = {.tenant = "demo", .stream_id = stream, .expected_version = 0,
                         .events = &ev, .n_events = 1};
    es_append_res res;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(es_txn_append(t, &req, &res, &err), ES_OK);
    PGresult *r = PQexec(es_txn_conn(t), "DELETE FROM atb.events");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    assert_int_equal(es_txn_commit(t, &err), ES_REFUSED);
    assert_string_equal(err.message, "cannot commit: a statement of the transaction failed, so it "
                                     "was rolled back");
    assert_int_equal(h_scalar("SELECT position FROM atb.log_head"), head);
    /* The pooled connection is usable again. */
    assert_int_equal(es_append(es, &req, &res, &err), ES_OK);
    es_close(es);
}

static void auditor_reads_and_cannot_write(void **state)
{
    (void)state;
    PGconn *c = h_admin();
    PQclear(PQexec(c, "SET ROLE atb_auditor"));
    PGresult *r = PQexec(c, "SELECT count(*) FROM atb.events");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    r = PQexec(c, "SELECT count(*) FROM atb.schema_migrations");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    expect_error(c, "INSERT INTO atb.checkpoints (consumer, position) VALUES ('x', 1)", "42501",
                 NULL, 0);
    expect_error(c, "SELECT * FROM atb.append(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                    "NULL, NULL, NULL)", "42501", NULL, 0);
    PQfinish(c);
}

static void role_without_grants_is_refused(void **state)
{
    (void)state;
    char role[64];
    t_unique(role, sizeof role, "atb_t_nobody");
    PGconn *c = h_admin();
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN", role);
    PQclear(PQexec(c, sql));
    es_config cfg = {.pool_size = 1};
    char ci[512];
    t_db_conninfo(&h_db, role, ci, sizeof ci);
    cfg.conninfo = ci;
    es_store *es = NULL;
    at_error err;
    es_status s = es_open(&es, &cfg, &err);
    snprintf(sql, sizeof sql, "DROP ROLE %s", role);
    PQclear(PQexec(c, sql));
    PQfinish(c);
    assert_int_equal(s, ES_REFUSED);
    assert_null(es);
    assert_string_equal(err.message, "cannot open the event store: permission denied for schema atb");
    assert_non_null(strstr(err.detail, "SQLSTATE 42501"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(service_role_cannot_change_or_bypass_the_log),
        cmocka_unit_test(superuser_cannot_change_the_log_either),
        cmocka_unit_test(failed_statement_in_a_transaction_fails_its_commit),
        cmocka_unit_test(auditor_reads_and_cannot_write),
        cmocka_unit_test(role_without_grants_is_refused),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
