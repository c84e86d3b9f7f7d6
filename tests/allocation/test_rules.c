/*
 * test_rules.c -- services/allocation's catalogue loader and its pure rules (eligible.c),
 * no servers: the source tree's catalogue loads; a bad file is refused naming file and
 * line; eligibility, the weekly limits by age, the winter priority and the care level.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "allocation.h"

static at_date ymd(int y, int m, int d)
{
    at_date x;
    assert_true(at_date_from_ymd(y, m, d, &x));
    return x;
}

static void source_catalogue_loads_with_units_and_agreements(void **state)
{
    at_error err;
    at_error_clear(&err);
    al_catalogue *c = NULL;
    if (al_catalogue_load(CATALOGUE_DIR, &c, &err) != AT_OK)
        fail_msg("%s (%s)", err.message, err.detail);
    al_cat = c;
    const al_unit_def *u = al_unit_find("daugavpils", "grupu_dzivokli", "group_apartment", ymd(2019, 1, 1));
    assert_non_null(u);
    assert_int_equal(u->capacity, 16);
    assert_non_null(al_agreement_find("tervete", "dobele", "krizes_centrs", "crisis_centre", ymd(2019, 1, 1)));
    assert_null(al_agreement_find("kandava", "dobele", "krizes_centrs", "crisis_centre", ymd(2019, 1, 1)));
    assert_null(al_agreement_find("tervete", "dobele", "krizes_centrs", "crisis_centre", ymd(2021, 1, 1)));
    assert_string_equal(strlen(al_catalogue_version("daugavpils")) == 64 ? "sha" : "?", "sha");
    al_cat = NULL;
    al_catalogue_free(c);
}

static void bad_catalogue_is_refused_with_file_and_line(void **state)
{
    al_catalogue c = {0};
    at_error err;
    static const char unknown[] = "municipality: demo\nsource: x\nservices:\n  - code: a\n    unit: day\n"
                                  "    from: 2019-01-01\n    tarif_cents: 5\n    source: y\n";
    assert_int_equal(al_catalogue_parse(&c, "demo.yaml", unknown, strlen(unknown), &err), AT_VALIDATION);
    assert_string_equal(err.message, "demo.yaml:7: unknown key \"tarif_cents\"");
    static const char nosource[] = "municipality: demo\nsource: x\nservices:\n  - code: a\n    unit: day\n"
                                   "    from: 2019-01-01\n    tariff_cents: 5\n    funding: state\n";
    assert_int_equal(al_catalogue_parse(&c, "demo.yaml", nosource, strlen(nosource), &err), AT_VALIDATION);
    assert_string_equal(err.message, "demo.yaml:4: every record needs a source");
    static const char misnamed[] = "municipality: dobele\nsource: x\n";
    assert_int_equal(al_catalogue_parse(&c, "demo.yaml", misnamed, strlen(misnamed), &err), AT_VALIDATION);
    free(c.services);
    free(c.service_owner);
}

static void eligibility_checks_age_level_group_status_and_weekly_limits(void **state)
{
    al_service s;
    memset(&s, 0, sizeof s);
    strcpy(s.code, "child_care_impaired");
    s.unit = AL_UNIT_HOUR;
    s.age_max = 17;
    s.any_status = true;
    s.n_limits = 2;
    s.limits[0] = (al_limit){0, 4, 50};
    s.limits[1] = (al_limit){5, 17, 10};
    al_person p = {.birth_date = ymd(2016, 3, 1), .load = 50};
    at_error err;
    assert_int_equal(al_eligible(&s, &p, ymd(2019, 6, 1), &err), AT_OK);
    p.load = 51;
    assert_int_equal(al_eligible(&s, &p, ymd(2019, 6, 1), &err), AT_VALIDATION);
    assert_string_equal(err.field, "hours_per_week");
    p.load = 11;   /* on the fifth birthday the limit becomes 10 */
    assert_int_equal(al_eligible(&s, &p, ymd(2021, 2, 28), &err), AT_OK);
    assert_int_equal(al_eligible(&s, &p, ymd(2021, 3, 1), &err), AT_VALIDATION);
    p.load = 10;
    assert_int_equal(al_eligible(&s, &p, ymd(2034, 2, 28), &err), AT_OK);
    assert_int_equal(al_eligible(&s, &p, ymd(2034, 3, 1), &err), AT_VALIDATION);   /* 18 */
    assert_string_equal(err.field, "birth_date");

    memset(&s, 0, sizeof s);
    strcpy(s.code, "x");
    s.unit = AL_UNIT_DAY;
    s.age_max = -1;
    s.care_level_min = 3;
    s.n_groups = 2;
    s.disability_groups[0] = 1, s.disability_groups[1] = 2;
    s.needy_only = true;
    al_person q = {.birth_date = ymd(1950, 1, 1), .care_level = 3, .disability_group = 2,
                   .status = ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY, .load = 1};
    assert_int_equal(al_eligible(&s, &q, ymd(2019, 1, 1), &err), AT_OK);
    q.care_level = 2;
    assert_int_equal(al_eligible(&s, &q, ymd(2019, 1, 1), &err), AT_VALIDATION);
    assert_string_equal(err.message, "not eligible: care level 2 is below 3");
    q.care_level = 4, q.disability_group = 3;
    assert_int_equal(al_eligible(&s, &q, ymd(2019, 1, 1), &err), AT_VALIDATION);
    assert_string_equal(err.field, "disability_group");
    q.disability_group = 1, q.status = ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME;
    assert_int_equal(al_eligible(&s, &q, ymd(2019, 1, 1), &err), AT_VALIDATION);
    assert_string_equal(err.message, "not eligible: status low-income");
}

static void homeless_go_first_only_in_winter(void **state)
{
    assert_int_equal(al_priority(ATB__V1__URGENCY__URGENCY_VIOLENCE, ymd(2019, 7, 1)), 1);
    assert_int_equal(al_priority(ATB__V1__URGENCY__URGENCY_CRISIS, ymd(2019, 7, 1)), 1);
    assert_int_equal(al_priority(ATB__V1__URGENCY__URGENCY_HOMELESS, ymd(2019, 11, 1)), 2);
    assert_int_equal(al_priority(ATB__V1__URGENCY__URGENCY_HOMELESS, ymd(2019, 3, 31)), 2);
    assert_int_equal(al_priority(ATB__V1__URGENCY__URGENCY_HOMELESS, ymd(2019, 4, 1)), 3);
    assert_int_equal(al_priority(ATB__V1__URGENCY__URGENCY_HOMELESS, ymd(2019, 10, 31)), 3);
    assert_int_equal(al_priority(ATB__V1__URGENCY__URGENCY_NONE, ymd(2019, 12, 1)), 3);
}

static void care_level_follows_the_points(void **state)
{
    int32_t s[10] = {0};
    int total;
    assert_int_equal(al_care_level(s, 10, &total), 1);
    for (int i = 0; i < 10; i++)
        s[i] = 1;
    assert_int_equal(al_care_level(s, 10, &total), 2);
    assert_int_equal(total, 10);
    for (int i = 0; i < 10; i++)
        s[i] = 2;
    assert_int_equal(al_care_level(s, 10, &total), 3);
    s[0] = 1;
    assert_int_equal(al_care_level(s, 10, &total), 2);   /* 19 */
    for (int i = 0; i < 10; i++)
        s[i] = 3;
    assert_int_equal(al_care_level(s, 10, &total), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(source_catalogue_loads_with_units_and_agreements),
        cmocka_unit_test(bad_catalogue_is_refused_with_file_and_line),
        cmocka_unit_test(eligibility_checks_age_level_group_status_and_weekly_limits),
        cmocka_unit_test(homeless_go_first_only_in_winter),
        cmocka_unit_test(care_level_follows_the_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
