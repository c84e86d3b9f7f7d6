/*
 * test_gateway_browser.c -- the caseworker's path in real headless Chromium (browser/
 * flow.mjs, driven by playwright-core) against the running gateway and real services.
 * The screenshots are the test's artefacts: <build>/tests/gateway/artefacts/.
 *
 * Needs node, Debian's chromium and playwright-core (installed by the ctest fixture
 * gateway_browser_npm with `npm ci`). Without them the test is skipped (77), or fails when
 * ATB_REQUIRE_SERVICES=1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gwhelp.h"

static int setup(void **state)
{
    t_require_servers(1);
    bool strict = getenv("ATB_REQUIRE_SERVICES") && strcmp(getenv("ATB_REQUIRE_SERVICES"), "1") == 0;
    if (access("/usr/bin/chromium", X_OK) != 0 || t_system("command -v node >/dev/null") != 0 ||
        access(GWT_OUT_DIR "/browser/node_modules/playwright-core/package.json", R_OK) != 0) {
        fprintf(stderr, "chromium, node or playwright-core (npm ci in %s/browser) is missing\n", GWT_OUT_DIR);
        exit(strict ? 1 : T_SKIP);
    }
    /* payments too: the person page shows the person's payments */
    return gwt_start() != 0 ? -1 : gwt_start_more();
}

static int teardown(void **state)
{
    return gwt_stop();
}

static void social_worker_applies_and_reads_the_decision(void **state)
{
    long long before = sk_sql_int("SELECT count(*) FROM atb.events WHERE category = 'decision'");
    int rc = t_system("cd %s/browser && GW_URL=http://127.0.0.1:%d GW_LOGIN=ilze GW_AUDITOR=auditore GW_PASSWORD='%s' "
                      "GW_PERSONAL_CODE=150585-12343 GW_SHOTS=%s/artefacts node flow.mjs",
                      GWT_OUT_DIR, gwt.port, GWT_PASSWORD, GWT_OUT_DIR);
    if (rc != 0) {
        /* say what the log holds: the decision's events, or why there are none */
        char types[2048];
        sk_sql_text(types, sizeof types, "SELECT string_agg(type || '@' || category, ' ' ORDER BY position) FROM "
                                         "atb.events WHERE category NOT IN ('ruleset', 'catalogue')");
        fprintf(stderr, "events: %s\n", types);
        sk_sql_text(types, sizeof types, "SELECT string_agg(consumer || ': ' || message || ' ' || coalesce(detail, ''), ' | ') FROM atb.dead_letters");
        fprintf(stderr, "dead letters: %s\n", types);
        sk_sql_text(types, sizeof types, "SELECT stream_id FROM atb.events WHERE type = 'ApplicationReceived' "
                                         "ORDER BY position DESC LIMIT 1");
        gwt_session s = gwt_sign_in("ilze", GWT_PASSWORD);
        char path[256];
        snprintf(path, sizeof path, "/api/v1/t/tervete/applications/%.64s", types + strlen("application-"));
        gwt_resp r = gwt_http("GET", path, NULL, 0, s.cookie);
        fprintf(stderr, "application: %s\n", r.body);
        gwt_resp_free(&r);
    }
    assert_int_equal(rc, 0);
    /* what the pages showed is in the log, done by the signed-in worker */
    assert_true(sk_sql_int("SELECT count(*) FROM atb.events WHERE category = 'decision'") > before);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE type IN ('PersonRegistered', "
                                "'HouseholdCreated', 'ApplicationReceived', 'DeclarationSubmitted', "
                                "'ApplicationCompleted') AND actor <> 'user:ilze'"), 0);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE type = 'DeclarationSubmitted' AND actor = "
                                "'user:ilze'"), 1);
    /* reading the file was recorded */
    assert_true(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = 'ilze' AND outcome = 'read' "
                           "AND subject_kind = 'person'") >= 1);
    assert_true(sk_sql_int("SELECT count(*) FROM gateway.access_log WHERE login = 'ilze' AND outcome = 'read' "
                           "AND action = 'PaymentHistory'") >= 1);
    /* the duty outcome typed on its page */
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE type = 'DutyFailed' AND actor = 'user:ilze'"),
                     1);
    for (int i = 1; i <= 9; i++) {
        static const char *const names[] = {"", "01-sign-in", "02-search", "03-household", "04-application-validation",
                                            "05-application", "06-decision", "07-decision-en", "08-person-as-of",
                                            "09-duty-outcome"};
        char path[512];
        snprintf(path, sizeof path, "%s/artefacts/%s.png", GWT_OUT_DIR, names[i]);
        assert_int_equal(access(path, R_OK), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(social_worker_applies_and_reads_the_decision),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
