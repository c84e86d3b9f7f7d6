/*
 * test_walking_skeleton.c -- end to end over the real wire: a RegisterPerson command over
 * NATS creates a record, its event is appended to the log, the relay publishes it to
 * JetStream, the reporting service (another process) consumes it into its projection.
 * intake, relay and reporting run as child processes, each as its own PostgreSQL role,
 * on a fresh database and their own subjects (skeleton.c).
 *
 * The tests run in order and build on each other: the first registers the person the
 * others look at.
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
#include "skeleton.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

/* 111111-11111: a valid old-format code (tests/core/test_pcode.c), born 1911-11-11. */
#define CODE "111111-11111"
#define GIVEN "Anna"
#define FAMILY "Bērziņa"

static char first_cmd[37], key[37];
static int64_t first_position;

static Atb__V1__CommandReply *register_person(const char *command_id, const char *tenant, const char *code,
                                              const char *given, const char *family, int year, int month,
                                              int day, Atb__V1__Sex sex)
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
    rp.given_name = (char *)given;
    rp.family_name = (char *)family;
    rp.birth_date = &bd;
    rp.sex = sex;
    return (Atb__V1__CommandReply *)sk_call("cmd", tenant, "intake", "RegisterPerson", &rp.base,
                                            &atb__v1__command_reply__descriptor);
}

static Atb__V1__CommandReply *register_anna(const char *command_id, const char *tenant, const char *code)
{
    return register_person(command_id, tenant, code, GIVEN, FAMILY, 1911, 11, 11, ATB__V1__SEX__FEMALE);
}

static bool ok(const Atb__V1__CommandReply *r)
{
    if (r->error && r->error->code)
        print_error("refused: %s: %s (%s)\n", r->error->message, r->error->detail, r->error->field);
    return !r->error || r->error->code == 0;
}

static void register_person_replies_with_the_key_and_positions(void **state)
{
    (void)state;
    at_uuid_v4(first_cmd);
    Atb__V1__CommandReply *r = register_anna(first_cmd, "daugavpils", CODE);
    assert_true(ok(r));
    assert_true(at_uuid_valid(r->key));
    snprintf(key, sizeof key, "%s", r->key);
    char stream[64];
    snprintf(stream, sizeof stream, "person-%s", key);
    assert_string_equal(r->stream_id, stream);
    assert_int_equal(r->version, 1);
    assert_true(r->first_position >= 1);
    assert_int_equal(r->last_position, r->first_position);
    assert_false(r->duplicate);
    first_position = r->first_position;
    atb__v1__command_reply__free_unpacked(r, NULL);
}

static void the_event_carries_the_key_and_no_identifying_data(void **state)
{
    (void)state;
    PGconn *c = PQconnectdb(sk.db.admin);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT payload, type, actor, command_id::text, position FROM atb.events WHERE stream_id = "
             "'person-%s'",
             key);
    PGresult *res = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);   /* binary: the raw bytes */
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 1), "PersonRegistered");
    assert_string_equal(PQgetvalue(res, 0, 2), "user:test.worker");
    const char *p = PQgetvalue(res, 0, 0);
    size_t n = (size_t)PQgetlength(res, 0, 0);
    assert_true(n < 512);
    /* nothing of the personal code (with or without the dash, either half) or the names,
     * outside the key (a random UUID could hold "11111" by chance) */
    char bytes[512];
    memcpy(bytes, p, n);
    char *k = memmem(bytes, n, key, 36);
    assert_non_null(k);
    memset(k, 0, 36);
    const char *forbidden[] = {CODE, "11111111111", "111111", "11111", GIVEN, FAMILY, "B\xc4\x93rzi", "Berzi"};
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
        if (memmem(bytes, n, forbidden[i], strlen(forbidden[i])))
            fail_msg("the payload contains \"%s\"", forbidden[i]);
    /* and it is the PersonRegistered the facts say */
    Atb__V1__PersonRegistered *pr = atb__v1__person_registered__unpack(NULL, n, (const uint8_t *)p);
    assert_non_null(pr);
    assert_string_equal(pr->person_key, key);
    assert_int_equal(pr->birth_date->year, 1911);
    assert_int_equal(pr->birth_date->month, 11);
    assert_int_equal(pr->birth_date->day, 11);
    assert_int_equal(pr->sex, ATB__V1__SEX__FEMALE);
    assert_non_null(pr->registered_on);
    atb__v1__person_registered__free_unpacked(pr, NULL);
    PQclear(res);
    PQfinish(c);

    /* the identity went to the erasable store, in intake's own schema */
    char got[128];
    sk_sql_text(got, sizeof got,
                "SELECT personal_code || '|' || given_name || '|' || family_name || '|' || tenant "
                "FROM intake.identities WHERE person_key = '%s' AND erased_at IS NULL",
                key);
    assert_string_equal(got, CODE "|" GIVEN "|" FAMILY "|daugavpils");
}

static void the_relay_publishes_the_event_to_jetstream(void **state)
{
    (void)state;
    char subject[160];
    snprintf(subject, sizeof subject, "%s.evt.daugavpils.person.PersonRegistered", sk.prefix);
    natsMsg *m = NULL;
    for (int i = 0; i < 200 && js_GetLastMsg(&m, bus_js(sk.client), sk.stream, subject, NULL, NULL) != NATS_OK; i++)
        sk_sleep_ms(50);
    assert_non_null(m);
    const char *pos = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Atb-Position", &pos), NATS_OK);
    assert_int_equal(strtoll(pos, NULL, 10), first_position);
    natsMsg_Destroy(m);
}

static void the_reporting_projection_gets_the_person(void **state)
{
    (void)state;
    assert_int_equal(sk_wait_sql(1, 15000, "SELECT count(*) FROM reporting.persons WHERE person_key = '%s'", key),
                     1);
    char row[128];
    sk_sql_text(row, sizeof row,
                "SELECT tenant || '|' || birth_date || '|' || sex || '|' || position || '|' || "
                "(registered_on IS NOT NULL) FROM reporting.persons WHERE person_key = '%s'",
                key);
    char want[128];
    snprintf(want, sizeof want, "daugavpils|1911-11-11|1|%lld|true", (long long)first_position);
    assert_string_equal(row, want);

    Atb__V1__CountPersons q = ATB__V1__COUNT_PERSONS__INIT;
    Atb__V1__PersonCount *pc = (Atb__V1__PersonCount *)sk_call("qry", "daugavpils", "reporting", "CountPersons",
                                                               &q.base, &atb__v1__person_count__descriptor);
    assert_true(pc->error == NULL || pc->error->code == 0);
    assert_int_equal(pc->persons, 1);
    assert_true(pc->position >= first_position);
    atb__v1__person_count__free_unpacked(pc, NULL);
}

static void a_retried_command_gets_the_first_reply_and_appends_nothing(void **state)
{
    (void)state;
    Atb__V1__CommandReply *r = register_anna(first_cmd, "daugavpils", CODE);
    assert_true(ok(r));
    assert_true(r->duplicate);
    assert_string_equal(r->key, key);
    assert_int_equal(r->version, 1);
    assert_int_equal(r->first_position, first_position);
    assert_int_equal(r->last_position, first_position);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE type = 'PersonRegistered'"), 1);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM intake.identities"), 1);
}

static void bad_registrations_are_refused_naming_the_field_and_append_nothing(void **state)
{
    (void)state;
    int64_t events = sk_sql_int("SELECT count(*) FROM atb.events");
    int64_t identities = sk_sql_int("SELECT count(*) FROM intake.identities");
    char long_name[102];
    memset(long_name, 'a', 101);
    long_name[101] = 0;
    struct {
        const char *code, *given, *family;
        int y, m, d;
        Atb__V1__Sex sex;
        const char *tenant;
        int want;
        const char *field;
        const char *message;
    } cases[] = {
        {"111111-11112", GIVEN, FAMILY, 1911, 11, 11, ATB__V1__SEX__FEMALE, "daugavpils",
         ATB__V1__ERROR_CODE__VALIDATION, "personal_code", "personal code checksum is wrong"},
        {"12345", GIVEN, FAMILY, 1911, 11, 11, ATB__V1__SEX__FEMALE, "daugavpils", ATB__V1__ERROR_CODE__VALIDATION,
         "personal_code", NULL},
        {"111111-11111", GIVEN, FAMILY, 1912, 11, 11, ATB__V1__SEX__FEMALE, "kandava",
         ATB__V1__ERROR_CODE__VALIDATION, "birth_date", "birth date does not match the personal code"},
        {"32123456789", GIVEN, FAMILY, 0, 0, 0, ATB__V1__SEX__FEMALE, "kandava", ATB__V1__ERROR_CODE__VALIDATION,
         "birth_date", "birth date is required"},
        {"32123456789", GIVEN, FAMILY, 2150, 1, 1, ATB__V1__SEX__FEMALE, "kandava", ATB__V1__ERROR_CODE__VALIDATION,
         "birth_date", "birth date is in the future"},
        {"111111-11111", "", FAMILY, 1911, 11, 11, ATB__V1__SEX__FEMALE, "kandava", ATB__V1__ERROR_CODE__VALIDATION,
         "given_name", "given_name is empty"},
        {"111111-11111", GIVEN, long_name, 1911, 11, 11, ATB__V1__SEX__FEMALE, "kandava",
         ATB__V1__ERROR_CODE__VALIDATION, "family_name", "family_name is longer than 100 bytes"},
        {"111111-11111", GIVEN, FAMILY, 1911, 11, 11, ATB__V1__SEX__SEX_UNSPECIFIED, "kandava",
         ATB__V1__ERROR_CODE__VALIDATION, "sex", "sex is not given"},
        {"111111-11111", GIVEN, FAMILY, 1911, 11, 11, ATB__V1__SEX__FEMALE, "atlantida",
         ATB__V1__ERROR_CODE__UNKNOWN_TENANT, "", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[37];
        at_uuid_v4(cmd);
        Atb__V1__CommandReply *r = register_person(cmd, cases[i].tenant, cases[i].code, cases[i].given,
                                                   cases[i].family, cases[i].y, cases[i].m, cases[i].d, cases[i].sex);
        assert_non_null(r->error);
        assert_int_equal(r->error->code, cases[i].want);
        assert_string_equal(r->error->field, cases[i].field);
        if (cases[i].message)
            assert_string_equal(r->error->message, cases[i].message);
        assert_string_equal(r->key, "");
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    /* a name that is not UTF-8 never reaches the handler: the runtime names the field */
    char cmd[37];
    at_uuid_v4(cmd);
    Atb__V1__CommandReply *r = register_person(cmd, "kandava", CODE, "Ann\xff", FAMILY, 1911, 11, 11,
                                               ATB__V1__SEX__FEMALE);
    assert_non_null(r->error);
    assert_true(r->error->code == ATB__V1__ERROR_CODE__MALFORMED || r->error->code == ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(r->error->field, "given_name");
    atb__v1__command_reply__free_unpacked(r, NULL);

    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events"), events);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM intake.identities"), identities);
}

static void the_same_personal_code_again_is_a_conflict_naming_the_existing_key(void **state)
{
    (void)state;
    int64_t events = sk_sql_int("SELECT count(*) FROM atb.events");
    /* written without the dash: the same code once normalised */
    const char *spellings[] = {CODE, "11111111111"};
    for (size_t i = 0; i < 2; i++) {
        char cmd[37];
        at_uuid_v4(cmd);
        Atb__V1__CommandReply *r = register_anna(cmd, "daugavpils", spellings[i]);
        assert_non_null(r->error);
        assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__CONFLICT);
        assert_string_equal(r->error->message, "person is already registered");
        assert_string_equal(r->error->field, "personal_code");
        assert_non_null(strstr(r->error->detail, key));
        assert_string_equal(r->key, key);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events"), events);
}

static Atb__V1__PersonView *get_person(const char *tenant, const char *by_key, const char *by_code)
{
    Atb__V1__GetPerson g = ATB__V1__GET_PERSON__INIT;
    if (by_key)
        g.person_key = (char *)by_key;
    if (by_code)
        g.personal_code = (char *)by_code;
    return (Atb__V1__PersonView *)sk_call("qry", tenant, "intake", "GetPerson", &g.base,
                                          &atb__v1__person_view__descriptor);
}

static void get_person_returns_the_identity_and_the_facts(void **state)
{
    (void)state;
    for (int by_key = 0; by_key < 2; by_key++) {
        Atb__V1__PersonView *v = get_person("daugavpils", by_key ? key : NULL, by_key ? NULL : "11111111111");
        assert_true(v->error == NULL || v->error->code == 0);
        assert_string_equal(v->person_key, key);
        assert_string_equal(v->personal_code, CODE);
        assert_string_equal(v->given_name, GIVEN);
        assert_string_equal(v->family_name, FAMILY);
        assert_int_equal(v->birth_date->year, 1911);
        assert_int_equal(v->sex, ATB__V1__SEX__FEMALE);
        assert_non_null(v->registered_on);
        assert_int_equal(v->version, 1);
        atb__v1__person_view__free_unpacked(v, NULL);
    }
    /* unknown here, and the person of another municipality is not visible */
    const char *tenants[] = {"daugavpils", "kandava"};
    const char *codes[] = {"010101-10006", CODE};
    for (int i = 0; i < 2; i++) {
        Atb__V1__PersonView *v = get_person(tenants[i], NULL, codes[i]);
        assert_non_null(v->error);
        assert_int_equal(v->error->code, ATB__V1__ERROR_CODE__NOT_FOUND);
        assert_string_equal(v->error->message, "person not found");
        atb__v1__person_view__free_unpacked(v, NULL);
    }
}

static void the_same_code_in_another_municipality_is_another_person(void **state)
{
    (void)state;
    char cmd[37];
    at_uuid_v4(cmd);
    Atb__V1__CommandReply *r = register_anna(cmd, "tervete", CODE);
    assert_true(ok(r));
    assert_string_not_equal(r->key, key);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(sk_wait_sql(2, 15000, "SELECT count(*) FROM reporting.persons"), 2);
}

static void services_stop_cleanly_on_sigterm(void **state)
{
    (void)state;
    assert_int_equal(sk_stop_services(), 0);
}

static int setup(void **state)
{
    (void)state;
    return sk_start();
}

static int teardown(void **state)
{
    (void)state;
    return sk_teardown();
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_person_replies_with_the_key_and_positions),
        cmocka_unit_test(the_event_carries_the_key_and_no_identifying_data),
        cmocka_unit_test(the_relay_publishes_the_event_to_jetstream),
        cmocka_unit_test(the_reporting_projection_gets_the_person),
        cmocka_unit_test(a_retried_command_gets_the_first_reply_and_appends_nothing),
        cmocka_unit_test(bad_registrations_are_refused_naming_the_field_and_append_nothing),
        cmocka_unit_test(the_same_personal_code_again_is_a_conflict_naming_the_existing_key),
        cmocka_unit_test(get_person_returns_the_identity_and_the_facts),
        cmocka_unit_test(the_same_code_in_another_municipality_is_another_person),
        cmocka_unit_test(services_stop_cleanly_on_sigterm),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
