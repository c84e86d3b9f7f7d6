/*
 * test_person_query.c -- ListPersonStatuses through the atbalsts-means binary
 * (services/means/person_query.c): a person's granted status and GMI from the projection,
 * an override marked as such, nothing for a stranger or another municipality, and a
 * person key that is not a UUID refused by field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"
#include "meanshelp.h"

static mh M;

static int setup(void **state)
{
    (void)state;
    mh_prepare(&M);
    mh_start(&M, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mh_cleanup(&M);
    return 0;
}

static Atb__V1__PersonStatuses *statuses(const char *tenant, const char *person)
{
    Atb__V1__ListPersonStatuses q = ATB__V1__LIST_PERSON_STATUSES__INIT;
    q.person = (char *)person;
    natsMsg *m = mh_request(&M, "qry", tenant, "ListPersonStatuses", &q.base);
    Atb__V1__PersonStatuses *r = atb__v1__person_statuses__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                                  (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(r);
    return r;
}

static void assert_ok(const Atb__V1__PersonStatuses *r)
{
    if (r->error && r->error->code)
        fail_msg("error %d %s: %s", r->error->code, r->error->field, r->error->message);
}

static void granted_status_and_gmi_are_listed_for_every_member(void **state)
{
    (void)state;
    mh_family f;
    /* document 004 (seeds 7.1 case 2): needy, GMI 59.00 a month */
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *a = mh_assess(&M, "daugavpils", &f.cmd);
    assert_int_equal(a->n_decisions, 2);
    atb__v1__assess_reply__free_unpacked(a, NULL);

    for (int k = 0; k < 3; k++) {
        Atb__V1__PersonStatuses *r = statuses("daugavpils", f.key[k]);
        assert_ok(r);
        assert_string_equal(r->person, f.key[k]);
        assert_int_equal(r->n_statuses, 2);
        const Atb__V1__PersonStatus *s = r->statuses[0]->kind[0] == 's' ? r->statuses[0] : r->statuses[1];
        const Atb__V1__PersonStatus *g = s == r->statuses[0] ? r->statuses[1] : r->statuses[0];
        assert_string_equal(s->kind, "status");
        assert_int_equal(s->status, ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY);
        assert_string_equal(s->application_id, f.app_id);
        assert_string_equal(s->household, f.household);
        assert_int_equal(s->period_from->month, 3);
        assert_int_equal(s->period_from->day, 15);
        assert_int_equal(s->period_to->month, 6);
        assert_int_equal(s->period_to->day, 14);
        assert_int_equal(s->decided_on->day, 15);
        assert_false(s->overridden);
        assert_string_equal(g->kind, "benefit");
        assert_string_equal(g->benefit, "GMI");
        assert_int_equal(g->amount_cents, 5900);
        assert_false(g->overridden);
        atb__v1__person_statuses__free_unpacked(r, NULL);
    }
}

static void an_overridden_status_is_marked(void **state)
{
    (void)state;
    mh_family f;
    /* 600.00 a month: status refused, so nothing is listed */
    mh_family_init(&f, 2018, 3, 15, 60000);
    Atb__V1__AssessReply *a = mh_assess(&M, "daugavpils", &f.cmd);
    assert_string_equal(a->decisions[0]->event_type, "StatusRefused");
    atb__v1__assess_reply__free_unpacked(a, NULL);
    Atb__V1__PersonStatuses *r = statuses("daugavpils", f.key[1]);
    assert_ok(r);
    assert_int_equal(r->n_statuses, 0);
    atb__v1__person_statuses__free_unpacked(r, NULL);

    /* a commission grants needy status */
    char cid[37];
    at_uuid_v4(cid);
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    meta.command_id = cid;
    meta.actor = "user:anna.commission";
    meta.expected_version = 2;
    Atb__V1__Date on = ATB__V1__DATE__INIT, to = ATB__V1__DATE__INIT;
    on.year = 2018, on.month = 3, on.day = 20;
    to.year = 2018, to.month = 6, to.day = 19;
    Atb__V1__DecisionResult res = ATB__V1__DECISION_RESULT__INIT;
    res.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    res.status = ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY;
    res.period_from = &on;
    res.period_to = &to;
    Atb__V1__OverrideDecision o = ATB__V1__OVERRIDE_DECISION__INIT;
    o.meta = &meta;
    o.application_id = f.app_id;
    o.ask_index = 1;
    o.kind = ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_COMMISSION;
    o.decided_by = "commission:social-assistance";
    o.reference = "protocol No. 7 of 2018-03-20";
    o.reason = "crisis: the family's home burnt down";
    o.decided_on = &on;
    o.result = &res;
    Atb__V1__CommandReply *c = mh_override(&M, "daugavpils", &o);
    if (c->error && c->error->code)
        fail_msg("override: %s", c->error->message);
    atb__v1__command_reply__free_unpacked(c, NULL);

    r = statuses("daugavpils", f.key[1]);
    assert_ok(r);
    assert_int_equal(r->n_statuses, 1);
    assert_string_equal(r->statuses[0]->kind, "status");
    assert_int_equal(r->statuses[0]->status, ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY);
    assert_int_equal(r->statuses[0]->period_from->day, 20);
    assert_true(r->statuses[0]->overridden);
    atb__v1__person_statuses__free_unpacked(r, NULL);
}

static void strangers_and_other_municipalities_get_nothing(void **state)
{
    (void)state;
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *a = mh_assess(&M, "daugavpils", &f.cmd);
    atb__v1__assess_reply__free_unpacked(a, NULL);

    Atb__V1__PersonStatuses *r = statuses("tervete", f.key[0]);
    assert_ok(r);
    assert_int_equal(r->n_statuses, 0);
    atb__v1__person_statuses__free_unpacked(r, NULL);

    char stranger[37];
    at_uuid_v4(stranger);
    r = statuses("daugavpils", stranger);
    assert_ok(r);
    assert_int_equal(r->n_statuses, 0);
    atb__v1__person_statuses__free_unpacked(r, NULL);

    r = statuses("daugavpils", "x' OR '1'='1");
    assert_non_null(r->error);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(r->error->field, "person");
    assert_string_equal(r->error->message, "person is not a UUID");
    atb__v1__person_statuses__free_unpacked(r, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(granted_status_and_gmi_are_listed_for_every_member),
        cmocka_unit_test(an_overridden_status_is_marked),
        cmocka_unit_test(strangers_and_other_municipalities_get_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
