/*
 * test_config.c -- libs/service/src/config.c: the settings table, its precedence and its
 * error messages (exact text: an operator reads them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "svc_config.h"

static const char *const vars[] = {"ATB_PG_URL", "ATB_PG_ADMIN_URL", "ATB_PG_POOL", "ATB_NATS_URL",
                                   "ATB_NATS_USER", "ATB_NATS_PASSWORD", "ATB_PREFIX", "ATB_STREAM",
                                   "ATB_HTTP_PORT", "ATB_WORKERS", "ATB_MAX_MSG", "ATB_LOG_LEVEL"};

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("ATB_PG_URL", "host=127.0.0.1 user=atb_intake dbname=atbalsts", 1);
    return 0;
}

/* Load with argv (NULL-terminated, without the program name). */
static at_code load(svc_config *cfg, at_error *err, const char *const *args)
{
    char *argv[32] = {"atbalsts-test"};
    int argc = 1;
    for (size_t i = 0; args && args[i]; i++)
        argv[argc++] = (char *)args[i];
    return svc__config_load(cfg, argc, argv, err);
}

static void defaults_apply_when_nothing_is_set(void **state)
{
    (void)state;
    svc_config c;
    at_error err;
    assert_int_equal(load(&c, &err, NULL), AT_OK);
    assert_string_equal(c.nats, "nats://127.0.0.1:4222");
    assert_string_equal(c.prefix, "atb");
    assert_string_equal(c.stream, "ATB_EVENTS");
    assert_string_equal(c.pg_admin, "");
    assert_int_equal(c.workers, 8);
    assert_int_equal(c.max_msg, 65536);
    assert_int_equal(c.http_port, 0);
    assert_int_equal(c.pg_pool, 0);
    assert_int_equal(c.log_level, SVC_LOG_INFO);
    assert_false(c.help);
}

static void environment_sets_and_flags_win_over_it(void **state)
{
    (void)state;
    setenv("ATB_WORKERS", "16", 1);
    setenv("ATB_PREFIX", "town.test", 1);
    setenv("ATB_LOG_LEVEL", "debug", 1);
    svc_config c;
    at_error err;
    assert_int_equal(load(&c, &err, NULL), AT_OK);
    assert_int_equal(c.workers, 16);
    assert_string_equal(c.prefix, "town.test");
    assert_int_equal(c.log_level, SVC_LOG_DEBUG);
    /* a flag wins, whichever form */
    const char *const args[] = {"--workers", "3", "--prefix=other", "--log-level", "warn", NULL};
    assert_int_equal(load(&c, &err, args), AT_OK);
    assert_int_equal(c.workers, 3);
    assert_string_equal(c.prefix, "other");
    assert_int_equal(c.log_level, SVC_LOG_WARN);
}

static void empty_variable_counts_as_unset(void **state)
{
    (void)state;
    setenv("ATB_WORKERS", "", 1);
    svc_config c;
    at_error err;
    assert_int_equal(load(&c, &err, NULL), AT_OK);
    assert_int_equal(c.workers, 8);
}

static void out_of_range_value_names_setting_rule_value_and_source(void **state)
{
    (void)state;
    svc_config c;
    at_error err;
    setenv("ATB_WORKERS", "0", 1);
    assert_int_equal(load(&c, &err, NULL), AT_VALIDATION);
    assert_string_equal(err.message, "--workers: must be 1..256, got 0 (from ATB_WORKERS)");
    assert_string_equal(err.field, "workers");
    assert_string_equal(err.hint, "run with --help to see every setting");

    const char *const args[] = {"--workers", "257", NULL};
    assert_int_equal(load(&c, &err, args), AT_VALIDATION);
    assert_string_equal(err.message, "--workers: must be 1..256, got 257 (from --workers)");
    /* a good flag repairs a bad variable: only the winning value is checked */
    const char *const good[] = {"--workers", "2", NULL};
    assert_int_equal(load(&c, &err, good), AT_OK);
    assert_int_equal(c.workers, 2);

    const char *const port[] = {"--http=70000", NULL};
    assert_int_equal(load(&c, &err, port), AT_VALIDATION);
    assert_string_equal(err.message, "--http: must be 0..65535, got 70000 (from --http)");
}

static void non_number_is_refused_quoted(void **state)
{
    (void)state;
    svc_config c;
    at_error err;
    setenv("ATB_MAX_MSG", "64k", 1);
    assert_int_equal(load(&c, &err, NULL), AT_VALIDATION);
    assert_string_equal(err.message, "--max-msg: must be a whole number, got \"64k\" (from ATB_MAX_MSG)");
    setenv("ATB_MAX_MSG", "99999999999999999999999", 1);
    assert_int_equal(load(&c, &err, NULL), AT_VALIDATION);
    assert_string_equal(err.message,
                        "--max-msg: must be a whole number, got \"99999999999999999999999\" (from ATB_MAX_MSG)");
    setenv("ATB_MAX_MSG", " 100", 1);
    assert_int_equal(load(&c, &err, NULL), AT_VALIDATION);
}

static void bad_level_prefix_and_stream_are_refused(void **state)
{
    (void)state;
    svc_config c;
    at_error err;
    const char *const lvl[] = {"--log-level", "loud", NULL};
    assert_int_equal(load(&c, &err, lvl), AT_VALIDATION);
    assert_string_equal(err.message,
                        "--log-level: must be debug, info, warn or error, got \"loud\" (from --log-level)");
    setenv("ATB_PREFIX", "atb..x", 1);
    assert_int_equal(load(&c, &err, NULL), AT_VALIDATION);
    assert_string_equal(err.field, "prefix");
    assert_non_null(strstr(err.message, "(from ATB_PREFIX)"));
    unsetenv("ATB_PREFIX");
    const char *const st[] = {"--stream", "A.B", NULL};
    assert_int_equal(load(&c, &err, st), AT_VALIDATION);
    assert_string_equal(err.message, "--stream: must be a stream name without '.', '*', '>', '/', "
                                     "'\\' or spaces, got \"A.B\" (from --stream)");
    const char *const url[] = {"--nats", "localhost", NULL};
    assert_int_equal(load(&c, &err, url), AT_VALIDATION);
    assert_string_equal(err.message, "--nats: must be a URL such as nats://127.0.0.1:4222 (from --nats)");
}

static void secrets_are_never_echoed(void **state)
{
    (void)state;
    svc_config c;
    at_error err;
    char big[400];
    memset(big, 's', sizeof big - 1);
    big[sizeof big - 1] = 0;
    setenv("ATB_NATS_PASSWORD", big, 1);
    assert_int_equal(load(&c, &err, NULL), AT_VALIDATION);
    assert_string_equal(err.message, "--nats-password: must be at most 255 bytes, got 399 (from ATB_NATS_PASSWORD)");
    assert_null(strstr(err.message, "sss"));
}

static void missing_required_pg_says_how_to_give_it(void **state)
{
    (void)state;
    unsetenv("ATB_PG_URL");
    svc_config c;
    at_error err;
    assert_int_equal(load(&c, &err, NULL), AT_VALIDATION);
    assert_string_equal(err.message, "--pg: required, not given (set --pg or ATB_PG_URL)");
    assert_string_equal(err.field, "pg");
    const char *const args[] = {"--pg", "host=x", NULL};
    assert_int_equal(load(&c, &err, args), AT_OK);
    assert_string_equal(c.pg, "host=x");
}

static void unknown_option_missing_value_and_stray_argument_are_refused(void **state)
{
    (void)state;
    svc_config c;
    at_error err;
    const char *const unk[] = {"--wrokers=3", NULL};
    assert_int_equal(load(&c, &err, unk), AT_VALIDATION);
    assert_string_equal(err.message, "unknown option \"--wrokers\"");
    const char *const novalue[] = {"--workers", NULL};
    assert_int_equal(load(&c, &err, novalue), AT_VALIDATION);
    assert_string_equal(err.message, "--workers: needs a value");
    const char *const stray[] = {"intake", NULL};
    assert_int_equal(load(&c, &err, stray), AT_VALIDATION);
    assert_string_equal(err.message, "unexpected argument \"intake\"");
}

static void help_is_reported_and_lists_every_row(void **state)
{
    (void)state;
    unsetenv("ATB_PG_URL");   /* --help works without the required settings */
    svc_config c;
    at_error err;
    const char *const args[] = {"--help", NULL};
    assert_int_equal(load(&c, &err, args), AT_OK);
    assert_true(c.help);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    svc__config_help(f, "atbalsts-test");
    fclose(f);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (!strstr(text, vars[i]))
            fail_msg("help lacks %s", vars[i]);
    assert_non_null(strstr(text, "Usage: atbalsts-test"));
    assert_non_null(strstr(text, "default 8, 1..256"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_apply_when_nothing_is_set, clean_env),
        cmocka_unit_test_setup(environment_sets_and_flags_win_over_it, clean_env),
        cmocka_unit_test_setup(empty_variable_counts_as_unset, clean_env),
        cmocka_unit_test_setup(out_of_range_value_names_setting_rule_value_and_source, clean_env),
        cmocka_unit_test_setup(non_number_is_refused_quoted, clean_env),
        cmocka_unit_test_setup(bad_level_prefix_and_stream_are_refused, clean_env),
        cmocka_unit_test_setup(secrets_are_never_echoed, clean_env),
        cmocka_unit_test_setup(missing_required_pg_says_how_to_give_it, clean_env),
        cmocka_unit_test_setup(unknown_option_missing_value_and_stray_argument_are_refused, clean_env),
        cmocka_unit_test_setup(help_is_reported_and_lists_every_row, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
