/*
 * test_subject.c -- subjects, tokens and envelopes, without servers.
 *
 * Includes libs/bus/src/subject.c and envelope.c (as h2o's unit tests include their
 * sources), so a bus handle can be built on the stack without a connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "subject.c"
#include "envelope.c"

static bus test_bus(const char *prefix)
{
    bus b;
    memset(&b, 0, sizeof b);
    snprintf(b.prefix, sizeof b.prefix, "%s", prefix);
    snprintf(b.stream, sizeof b.stream, "ATB_EVENTS");
    return b;
}

static void token_valid_accepts_plain_tokens(void **state)
{
    assert_true(bus_token_valid("daugavpils"));
    assert_true(bus_token_valid("PersonRegistered"));
    assert_true(bus_token_valid("ventspils_novads"));
    assert_true(bus_token_valid("a-b"));
    assert_true(bus_token_valid("Ērgļi"));     /* UTF-8 is allowed by NATS */
    char max[65];
    memset(max, 'a', 64);
    max[64] = 0;
    assert_true(bus_token_valid(max));
}

static void token_valid_rejects_separators_wildcards_space_and_length(void **state)
{
    assert_false(bus_token_valid(NULL));
    assert_false(bus_token_valid(""));
    assert_false(bus_token_valid("a.b"));
    assert_false(bus_token_valid("*"));
    assert_false(bus_token_valid("a>"));
    assert_false(bus_token_valid("a b"));
    assert_false(bus_token_valid("a\tb"));
    assert_false(bus_token_valid("a\nb"));
    assert_false(bus_token_valid("a\rb"));
    assert_false(bus_token_valid("a\x7f"));
    char long_tok[66];
    memset(long_tok, 'a', 65);
    long_tok[65] = 0;
    assert_false(bus_token_valid(long_tok));
}

static void subject_builders_write_the_documented_shapes(void **state)
{
    bus b = test_bus("atb");
    char buf[256];
    assert_int_equal(bus_subject_event(&b, buf, sizeof buf, "demo", "person", "PersonRegistered"),
                     (int)strlen("atb.evt.demo.person.PersonRegistered"));
    assert_string_equal(buf, "atb.evt.demo.person.PersonRegistered");
    assert_true(bus_subject_command(&b, buf, sizeof buf, "kandava", "intake", "RegisterPerson") > 0);
    assert_string_equal(buf, "atb.cmd.kandava.intake.RegisterPerson");
    assert_true(bus_subject_query(&b, buf, sizeof buf, "dobele", "reporting", "CountPersons") > 0);
    assert_string_equal(buf, "atb.qry.dobele.reporting.CountPersons");

    bus t = test_bus("t1.x9");
    assert_true(bus_subject_event(&t, buf, sizeof buf, "demo", "person", "X") > 0);
    assert_string_equal(buf, "t1.x9.evt.demo.person.X");
}

static void subject_builders_refuse_bad_tokens_and_small_buffers(void **state)
{
    bus b = test_bus("atb");
    char buf[256];
    assert_int_equal(bus_subject_event(&b, buf, sizeof buf, "de.mo", "person", "X"), -1);
    assert_int_equal(bus_subject_event(&b, buf, sizeof buf, "demo", "*", "X"), -1);
    assert_int_equal(bus_subject_command(&b, buf, sizeof buf, "demo", "intake", ">"), -1);
    assert_int_equal(bus_subject_query(&b, buf, sizeof buf, "demo", "", "Q"), -1);
    assert_int_equal(bus_subject_query(&b, buf, sizeof buf, NULL, "s", "Q"), -1);
    char small[16];
    assert_int_equal(bus_subject_event(&b, small, sizeof small, "demo", "person", "PersonRegistered"), -1);
}

static void subject_parse_splits_and_round_trips(void **state)
{
    bus b = test_bus("atb");
    bus_subject s;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_subject_parse(&b, "atb.cmd.daugavpils.intake.RegisterPerson", &s, &err), AT_OK);
    assert_string_equal(s.kind, "cmd");
    assert_string_equal(s.tenant, "daugavpils");
    assert_string_equal(s.service, "intake");
    assert_string_equal(s.name, "RegisterPerson");

    bus t = test_bus("t1.x9");
    assert_int_equal(bus_subject_parse(&t, "t1.x9.evt.demo.person.PersonRegistered", &s, &err), AT_OK);
    assert_string_equal(s.kind, "evt");
    assert_string_equal(s.service, "person");
}

static void subject_parse_rejects_other_shapes(void **state)
{
    bus b = test_bus("atb");
    bus_subject s;
    at_error err;
    const char *bad[] = {
        "atb.cmd.demo.intake",               /* too few tokens */
        "atb.cmd.demo.intake.A.B",           /* too many */
        "atb.xyz.demo.intake.A",             /* unknown kind */
        "other.cmd.demo.intake.A",           /* another prefix */
        "atbx.cmd.demo.intake.A",            /* prefix must end at a dot */
        "atb.cmd..intake.A",                 /* empty token */
        "atb.cmd.demo.intake.",              /* empty last token */
        "atb.cmd.*.intake.A",                /* wildcard */
        "atb",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at_error_clear(&err);
        assert_int_equal(bus_subject_parse(&b, bad[i], &s, &err), AT_VALIDATION);
        assert_int_equal(err.code, AT_VALIDATION);
        assert_string_equal(err.field, "subject");
        assert_string_equal(s.kind, "");
    }
    at_error_clear(&err);
    assert_int_equal(bus_subject_parse(&b, "atb.cmd.demo.intake", &s, &err), AT_VALIDATION);
    assert_string_equal(err.message, "subject \"atb.cmd.demo.intake\" is not <prefix>.<kind>.<tenant>.<service>.<name>");
}

static void sanitize_replaces_what_a_token_cannot_hold(void **state)
{
    char out[BUS_TOKEN_MAX + 1];
    bus__token_sanitize(out, sizeof out, "a.b*c>d e");
    assert_string_equal(out, "a_b_c_d_e");
    assert_true(bus_token_valid(out));
    bus__token_sanitize(out, sizeof out, "");
    assert_string_equal(out, "_");
    bus__token_sanitize(out, sizeof out, NULL);
    assert_string_equal(out, "_");
    char long_in[200];
    memset(long_in, 'x', sizeof long_in - 1);
    long_in[sizeof long_in - 1] = 0;
    bus__token_sanitize(out, sizeof out, long_in);
    assert_int_equal(strlen(out), BUS_TOKEN_MAX);
    assert_true(bus_token_valid(out));

    bus b = test_bus("atb");
    es_event ev = { 0 };
    ev.tenant = "demo";
    ev.category = "odd.cat";
    ev.type = "Type With Space";
    char buf[256];
    assert_true(bus__subject_event_sanitized(&b, buf, sizeof buf, &ev) > 0);
    assert_string_equal(buf, "atb.evt.demo.odd_cat.Type_With_Space");
}

static void envelope_round_trips_every_field(void **state)
{
    static const uint8_t payload[] = { 0x08, 0x96, 0x01, 0x00, 0xff };
    es_event ev = { 0 };
    ev.position = 123456789012LL;
    ev.event_id = "6f1c2a4e-0000-4000-8000-000000000001";
    ev.tenant = "daugavpils";
    ev.stream_id = "person-6f1c";
    ev.category = "person";
    ev.version = 7;
    ev.type = "PersonRegistered";
    ev.occurred_at_us = 1700000000123456LL;
    ev.recorded_at_us = 1700000000999999LL;
    ev.causation_id = "6f1c2a4e-0000-4000-8000-000000000002";
    ev.correlation_id = "";
    ev.command_id = "6f1c2a4e-0000-4000-8000-000000000003";
    ev.actor = "user:ilze.ozola";
    ev.payload = payload;
    ev.payload_len = sizeof payload;

    uint8_t *buf = NULL;
    size_t n = bus_envelope_pack(&ev, &buf);
    assert_true(n > 0);
    Atb__V1__EventEnvelope *env = atb__v1__event_envelope__unpack(NULL, n, buf);
    assert_non_null(env);
    es_event back;
    bus__envelope_to_event(env, &back);
    assert_int_equal(back.position, ev.position);
    assert_string_equal(back.event_id, ev.event_id);
    assert_string_equal(back.tenant, ev.tenant);
    assert_string_equal(back.stream_id, ev.stream_id);
    assert_string_equal(back.category, ev.category);
    assert_int_equal(back.version, ev.version);
    assert_string_equal(back.type, ev.type);
    assert_int_equal(back.occurred_at_us, ev.occurred_at_us);
    assert_int_equal(back.recorded_at_us, ev.recorded_at_us);
    assert_string_equal(back.causation_id, ev.causation_id);
    assert_string_equal(back.correlation_id, "");
    assert_string_equal(back.command_id, ev.command_id);
    assert_string_equal(back.actor, ev.actor);
    assert_int_equal(back.payload_len, sizeof payload);
    assert_memory_equal(back.payload, payload, sizeof payload);
    atb__v1__event_envelope__free_unpacked(env, NULL);
    free(buf);
}

static void envelope_pack_into_reuses_and_grows_its_buffer(void **state)
{
    es_event ev = { 0 };
    ev.position = 1;
    ev.tenant = "demo";
    ev.type = "T";
    uint8_t *buf = NULL;
    size_t cap = 0;
    size_t a = bus__envelope_pack_into(&ev, &buf, &cap);
    assert_true(a > 0 && cap >= a);
    uint8_t big[5000];
    memset(big, 7, sizeof big);
    ev.payload = big;
    ev.payload_len = sizeof big;
    size_t b = bus__envelope_pack_into(&ev, &buf, &cap);
    assert_true(b > sizeof big && cap >= b);
    Atb__V1__EventEnvelope *env = atb__v1__event_envelope__unpack(NULL, b, buf);
    assert_non_null(env);
    assert_int_equal(env->payload.len, sizeof big);
    assert_memory_equal(env->payload.data, big, sizeof big);
    atb__v1__event_envelope__free_unpacked(env, NULL);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_valid_accepts_plain_tokens),
        cmocka_unit_test(token_valid_rejects_separators_wildcards_space_and_length),
        cmocka_unit_test(subject_builders_write_the_documented_shapes),
        cmocka_unit_test(subject_builders_refuse_bad_tokens_and_small_buffers),
        cmocka_unit_test(subject_parse_splits_and_round_trips),
        cmocka_unit_test(subject_parse_rejects_other_shapes),
        cmocka_unit_test(sanitize_replaces_what_a_token_cannot_hold),
        cmocka_unit_test(envelope_round_trips_every_field),
        cmocka_unit_test(envelope_pack_into_reuses_and_grows_its_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
