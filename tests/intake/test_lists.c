/*
 * test_lists.c -- intake's lists over NATS against the real services (services/intake/
 * lists.c): the cases of a person and of the households the person belongs to, a
 * household's applications with their statuses in date order, a person's agreements
 * with each duty's latest outcome; nothing for another municipality; keys checked.
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

#include "at_uuid.h"
#include "skeleton.h"
#include "atb/v1/intake.pb-c.h"

#define TENANT "daugavpils"
#define WORKER "user:ilze.ozola"

static void ok(const char *name, const ProtobufCMessage *msg, char key[37])
{
    Atb__V1__CommandReply *r = (Atb__V1__CommandReply *)sk_call("cmd", TENANT, "intake", name, msg,
                                                                &atb__v1__command_reply__descriptor);
    if (r->error)
        fail_msg("%s refused: %s (%s) field %s", name, r->error->message, r->error->detail, r->error->field);
    if (key)
        snprintf(key, 37, "%s", r->key);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void person(char key[37])
{
    static int n;
    char code[32];
    snprintf(code, sizeof code, "32%04d-%05d", (int)(getpid() % 10000), ++n % 100000);
    Atb__V1__Date birth = sk_date(1980, 1, 1);
    Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
    rp.meta = sk_meta(WORKER);
    rp.personal_code = code;
    rp.given_name = "Inese";
    rp.family_name = "Liepa";
    rp.birth_date = &birth;
    rp.sex = ATB__V1__SEX__FEMALE;
    ok("RegisterPerson", &rp.base, key);
}

static void household(const char *a, const char *b, char key[37])
{
    Atb__V1__Date joined = sk_date(2015, 1, 1);
    Atb__V1__MemberIn x = ATB__V1__MEMBER_IN__INIT, y = ATB__V1__MEMBER_IN__INIT;
    x.person_key = (char *)a;
    x.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
    x.joined = &joined;
    y.person_key = (char *)b;
    y.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE;
    y.joined = &joined;
    Atb__V1__MemberIn *members[2] = {&x, &y};
    Atb__V1__CreateHousehold c = ATB__V1__CREATE_HOUSEHOLD__INIT;
    c.meta = sk_meta(WORKER);
    c.n_members = 2;
    c.members = members;
    ok("CreateHousehold", &c.base, key);
}

static void application(const char *applicant, const char *hh, Atb__V1__Date received, char id[37])
{
    Atb__V1__Ask needy = ATB__V1__ASK__INIT;
    needy.kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    Atb__V1__Ask *asks[1] = {&needy};
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = sk_meta(WORKER);
    sa.applicant = (char *)applicant;
    sa.household_key = (char *)hh;
    sa.n_asks = 1;
    sa.asks = asks;
    sa.received = &received;
    sa.channel = ATB__V1__CHANNEL__CHANNEL_OFFICE;
    sa.social_worker = WORKER;
    ok("SubmitApplication", &sa.base, id);
}

static ProtobufCMessage *query(const char *tenant, const char *name, const ProtobufCMessage *q,
                               const ProtobufCMessageDescriptor *reply)
{
    return sk_call("qry", tenant, "intake", name, q, reply);
}

static void cases_of_a_person_include_the_households(void **state)
{
    (void)state;
    char anna[37], janis[37], other[37], hh[37], own[37], shared[37];
    person(anna);
    person(janis);
    person(other);
    household(anna, janis, hh);
    Atb__V1__Date opened = sk_date(2019, 3, 4);
    Atb__V1__OpenCase oc = ATB__V1__OPEN_CASE__INIT;
    oc.meta = sk_meta(WORKER);
    oc.person_key = anna;
    oc.household_key = hh;
    oc.sector = "social_assistance";
    oc.social_worker = WORKER;
    oc.opened_on = &opened;
    ok("OpenCase", &oc.base, shared);
    oc.meta = sk_meta(WORKER);
    oc.person_key = other;
    oc.household_key = "";
    oc.sector = "family_support";
    ok("OpenCase", &oc.base, own);
    Atb__V1__Date closed = sk_date(2019, 4, 1);
    Atb__V1__ChangeCase cc = ATB__V1__CHANGE_CASE__INIT;
    cc.meta = sk_meta(WORKER);
    cc.case_key = own;
    cc.active = 2;
    cc.on = &closed;
    cc.reason = "moved away";
    ok("ChangeCase", &cc.base, NULL);

    /* Jānis has no case of his own: he reaches the household's. */
    Atb__V1__ListPersonCases q = ATB__V1__LIST_PERSON_CASES__INIT;
    q.person_key = janis;
    Atb__V1__CaseList *l = (Atb__V1__CaseList *)query(TENANT, "ListPersonCases", &q.base,
                                                      &atb__v1__case_list__descriptor);
    assert_null(l->error);
    assert_int_equal(l->n_cases, 1);
    assert_string_equal(l->cases[0]->case_key, shared);
    assert_string_equal(l->cases[0]->person_key, anna);
    assert_string_equal(l->cases[0]->household_key, hh);
    assert_string_equal(l->cases[0]->sector, "social_assistance");
    assert_string_equal(l->cases[0]->social_worker, WORKER);
    assert_int_equal(l->cases[0]->opened_on->day, 4);
    assert_true(l->cases[0]->active);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    q.person_key = other;
    l = (Atb__V1__CaseList *)query(TENANT, "ListPersonCases", &q.base, &atb__v1__case_list__descriptor);
    assert_null(l->error);
    assert_int_equal(l->n_cases, 1);
    assert_string_equal(l->cases[0]->case_key, own);
    assert_false(l->cases[0]->active);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* another municipality sees nothing */
    q.person_key = janis;
    l = (Atb__V1__CaseList *)query("tervete", "ListPersonCases", &q.base, &atb__v1__case_list__descriptor);
    assert_null(l->error);
    assert_int_equal(l->n_cases, 0);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    q.person_key = "1' OR '1'='1";
    l = (Atb__V1__CaseList *)query(TENANT, "ListPersonCases", &q.base, &atb__v1__case_list__descriptor);
    assert_non_null(l->error);
    assert_int_equal(l->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(l->error->field, "person_key");
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

static void applications_of_a_household_in_date_order_with_status(void **state)
{
    (void)state;
    char a[37], b[37], hh[37], later[37], earlier[37];
    person(a);
    person(b);
    household(a, b, hh);
    application(a, hh, sk_date(2019, 5, 2), later);
    application(b, hh, sk_date(2019, 2, 1), earlier);
    Atb__V1__Date on = sk_date(2019, 5, 3);
    Atb__V1__WithdrawApplication w = ATB__V1__WITHDRAW_APPLICATION__INIT;
    w.meta = sk_meta(WORKER);
    w.application_id = later;
    w.on = &on;
    w.reason = "found work";
    ok("WithdrawApplication", &w.base, NULL);

    Atb__V1__ListHouseholdApplications q = ATB__V1__LIST_HOUSEHOLD_APPLICATIONS__INIT;
    q.household_key = hh;
    Atb__V1__ApplicationList *l = (Atb__V1__ApplicationList *)query(TENANT, "ListHouseholdApplications", &q.base,
                                                                    &atb__v1__application_list__descriptor);
    assert_null(l->error);
    assert_int_equal(l->n_applications, 2);
    assert_string_equal(l->applications[0]->application_id, earlier);
    assert_string_equal(l->applications[0]->applicant, b);
    assert_int_equal(l->applications[0]->received->month, 2);
    assert_int_equal(l->applications[0]->deadline->month, 3);
    assert_int_equal(l->applications[0]->status, ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED);
    assert_string_equal(l->applications[1]->application_id, later);
    assert_int_equal(l->applications[1]->status, ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_WITHDRAWN);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    l = (Atb__V1__ApplicationList *)query("tervete", "ListHouseholdApplications", &q.base,
                                          &atb__v1__application_list__descriptor);
    assert_null(l->error);
    assert_int_equal(l->n_applications, 0);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    q.household_key = "";
    l = (Atb__V1__ApplicationList *)query(TENANT, "ListHouseholdApplications", &q.base,
                                          &atb__v1__application_list__descriptor);
    assert_non_null(l->error);
    assert_string_equal(l->error->field, "household_key");
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

static void agreements_of_a_person_with_latest_outcomes(void **state)
{
    (void)state;
    char p[37], agr[37];
    person(p);
    Atb__V1__Date signed_on = sk_date(2019, 3, 6), due1 = sk_date(2019, 3, 20), due2 = sk_date(2019, 4, 30);
    Atb__V1__Duty d1 = ATB__V1__DUTY__INIT, d2 = ATB__V1__DUTY__INIT;
    d1.kind = "register_unemployed";
    d1.due = &due1;
    d2.kind = "meet_social_worker";
    d2.due = &due2;
    Atb__V1__Duty *duties[2] = {&d1, &d2};
    Atb__V1__MakeAgreement ma = ATB__V1__MAKE_AGREEMENT__INIT;
    ma.meta = sk_meta(WORKER);
    ma.person_key = p;
    ma.signed_on = &signed_on;
    ma.n_duties = 2;
    ma.duties = duties;
    ok("MakeAgreement", &ma.base, agr);
    /* failed on 03-21, fulfilled on 03-25: the later one stands, whatever the order */
    Atb__V1__Date failed = sk_date(2019, 3, 21), done = sk_date(2019, 3, 25);
    Atb__V1__RecordDutyOutcome o = ATB__V1__RECORD_DUTY_OUTCOME__INIT;
    o.meta = sk_meta(WORKER);
    o.agreement_key = agr;
    o.duty = 1;
    o.fulfilled = true;
    o.on = &done;
    ok("RecordDutyOutcome", &o.base, NULL);
    o.meta = sk_meta(WORKER);
    o.fulfilled = false;
    o.on = &failed;
    ok("RecordDutyOutcome", &o.base, NULL);

    Atb__V1__ListPersonAgreements q = ATB__V1__LIST_PERSON_AGREEMENTS__INIT;
    q.person_key = p;
    Atb__V1__AgreementList *l = (Atb__V1__AgreementList *)query(TENANT, "ListPersonAgreements", &q.base,
                                                                &atb__v1__agreement_list__descriptor);
    assert_null(l->error);
    assert_int_equal(l->n_agreements, 1);
    Atb__V1__AgreementRef *a = l->agreements[0];
    assert_string_equal(a->agreement_key, agr);
    assert_int_equal(a->signed_on->day, 6);
    assert_int_equal(a->n_duties, 2);
    assert_int_equal(a->duties[0]->index, 1);
    assert_string_equal(a->duties[0]->kind, "register_unemployed");
    assert_int_equal(a->duties[0]->due->day, 20);
    assert_int_equal(a->duties[0]->outcome, 1);
    assert_int_equal(a->duties[0]->outcome_on->day, 25);
    assert_int_equal(a->duties[1]->outcome, 0);
    assert_null(a->duties[1]->outcome_on);
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

static int setup(void **state)
{
    (void)state;
    return sk_group_setup(NULL);
}

static int teardown(void **state)
{
    (void)state;
    return sk_group_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cases_of_a_person_include_the_households),
        cmocka_unit_test(applications_of_a_household_in_date_order_with_status),
        cmocka_unit_test(agreements_of_a_person_with_latest_outcomes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
