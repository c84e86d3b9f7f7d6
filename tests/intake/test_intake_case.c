/*
 * test_intake_case.c -- intake end to end over NATS against the real services: a whole
 * Daugavpils-style case from first contact to a decided application (means testing
 * running), the household as of a date, corrections with who made them, every refusal
 * with nothing appended, and two workers changing one household at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "at_uuid.h"
#include "skeleton.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

#define TENANT "daugavpils"
#define WORKER "user:ilze.ozola"

/* ---- helpers ---- */

static Atb__V1__Date D(int y, int m, int d)
{
    Atb__V1__Date x = ATB__V1__DATE__INIT;
    x.year = y;
    x.month = m;
    x.day = d;
    return x;
}

/* A fresh CommandMeta (random command id) in static storage per call site's slot. */
static Atb__V1__CommandMeta *meta(int64_t expected)
{
    static __thread Atb__V1__CommandMeta m[8];
    static __thread char ids[8][37];
    static __thread int next;
    int i = next++ % 8;
    atb__v1__command_meta__init(&m[i]);
    at_uuid_v4(ids[i]);
    m[i].command_id = ids[i];
    m[i].actor = WORKER;
    m[i].expected_version = expected;
    return &m[i];
}

/* Send a command; the reply (free with protobuf_c_message_free_unpacked). */
static Atb__V1__CommandReply *cmd(const char *name, const ProtobufCMessage *msg)
{
    return (Atb__V1__CommandReply *)sk_call("cmd", TENANT, "intake", name, msg, &atb__v1__command_reply__descriptor);
}

/* Send a command that must succeed; copy the key into key (may be NULL). Returns the
 * stream version after it. */
static int64_t ok(const char *name, const ProtobufCMessage *msg, char key[37])
{
    Atb__V1__CommandReply *r = cmd(name, msg);
    if (r->error)
        fail_msg("%s refused: %s (%s) field %s", name, r->error->message, r->error->detail, r->error->field);
    if (key)
        snprintf(key, 37, "%s", r->key);
    int64_t v = r->version;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return v;
}

/* Events a command could have appended. Means testing (decisions, rule sets) and intake's
 * own consumer (ApplicationDecided) append in the background and are left out. */
static int64_t log_count(void)
{
    return sk_sql_int("SELECT count(*) FROM atb.events WHERE category NOT IN ('decision', 'ruleset') "
                      "AND type <> 'ApplicationDecided'");
}

/* Send a command that must be refused with `code` naming `field` (NULL: any) and append
 * nothing. */
static void refused(const char *name, const ProtobufCMessage *msg, Atb__V1__ErrorCode code, const char *field)
{
    int64_t before = log_count();
    Atb__V1__CommandReply *r = cmd(name, msg);
    if (!r->error)
        fail_msg("%s was accepted; expected %d on %s", name, (int)code, field ? field : "-");
    if (r->error->code != code || (field && strcmp(r->error->field, field) != 0))
        fail_msg("%s: got %d on \"%s\" (%s), expected %d on \"%s\"", name, (int)r->error->code, r->error->field,
                 r->error->message, (int)code, field ? field : "-");
    assert_true(strlen(r->error->message) > 0);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_int_equal(log_count(), before);
}

static void person(const char *given, const char *family, Atb__V1__Date birth, Atb__V1__Sex sex, char key[37])
{
    static int n;
    char code[32];
    snprintf(code, sizeof code, "32%04d-%05d", (int)(getpid() % 10000), ++n % 100000);
    Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
    rp.meta = meta(0);
    rp.personal_code = code;
    rp.given_name = (char *)given;
    rp.family_name = (char *)family;
    rp.birth_date = &birth;
    rp.sex = sex;
    ok("RegisterPerson", &rp.base, key);
}

static int64_t fact(const char *key, Atb__V1__PersonFactKind kind, Atb__V1__Date from, const char *flag, int level,
                    const char *address, int64_t corrects, const char *reason)
{
    Atb__V1__PersonFact f = ATB__V1__PERSON_FACT__INIT;
    f.kind = kind;
    f.from = &from;
    f.flag = (char *)(flag ? flag : "");
    f.level = level;
    if (kind == ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE)
        f.municipality = TENANT;
    if (kind == ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT)
        f.employment = level;
    Atb__V1__RecordPersonFact c = ATB__V1__RECORD_PERSON_FACT__INIT;
    c.meta = meta(0);
    c.person_key = (char *)key;
    c.fact = &f;
    c.address = (char *)(address ? address : "");
    c.corrects_position = corrects;
    c.reason = (char *)(reason ? reason : "");
    Atb__V1__CommandReply *r = cmd("RecordPersonFact", &c.base);
    if (r->error)
        fail_msg("RecordPersonFact refused: %s (%s)", r->error->message, r->error->detail);
    int64_t pos = r->last_position;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return pos;
}

static Atb__V1__HouseholdView *household(const char *key, Atb__V1__Date as_of, int64_t at_position)
{
    Atb__V1__GetHousehold q = ATB__V1__GET_HOUSEHOLD__INIT;
    q.household_key = (char *)key;
    q.as_of = &as_of;
    q.at_position = at_position;
    Atb__V1__HouseholdView *v = (Atb__V1__HouseholdView *)sk_call("qry", TENANT, "intake", "GetHousehold", &q.base,
                                                                  &atb__v1__household_view__descriptor);
    if (v->error)
        fail_msg("GetHousehold: %s", v->error->message);
    return v;
}

static Atb__V1__ApplicationView *application(const char *id)
{
    Atb__V1__GetApplication q = ATB__V1__GET_APPLICATION__INIT;
    q.application_id = (char *)id;
    Atb__V1__ApplicationView *v = (Atb__V1__ApplicationView *)sk_call(
        "qry", TENANT, "intake", "GetApplication", &q.base, &atb__v1__application_view__descriptor);
    if (v->error)
        fail_msg("GetApplication: %s", v->error->message);
    return v;
}

static bool has_member(const Atb__V1__HouseholdView *v, const char *key)
{
    for (size_t i = 0; i < v->n_members; i++)
        if (strcmp(v->members[i]->person_key, key) == 0)
            return true;
    return false;
}

/* A household of an applicant (and a spouse when given) from 2015-01-01. */
static void make_household(const char *applicant, const char *spouse, char key[37])
{
    Atb__V1__Date joined = D(2015, 1, 1);
    Atb__V1__MemberIn a = ATB__V1__MEMBER_IN__INIT, s = ATB__V1__MEMBER_IN__INIT;
    a.person_key = (char *)applicant;
    a.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
    a.joined = &joined;
    s.person_key = (char *)spouse;
    s.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE;
    s.joined = &joined;
    Atb__V1__MemberIn *members[2] = {&a, &s};
    Atb__V1__CreateHousehold c = ATB__V1__CREATE_HOUSEHOLD__INIT;
    c.meta = meta(0);
    c.n_members = spouse ? 2 : 1;
    c.members = members;
    ok("CreateHousehold", &c.base, key);
}

/* ---- 1. a whole case ---- */

static void a_daugavpils_case_from_first_contact_to_decision(void **state)
{
    (void)state;
    char anna[37], janis[37], liga[37], marta[37], hh[37], app[37], visit[37], agr[37], cs[37];
    person("Anna", "Bērziņa", D(1985, 3, 15), ATB__V1__SEX__FEMALE, anna);
    person("Jānis", "Bērziņš", D(1983, 6, 1), ATB__V1__SEX__MALE, janis);
    person("Līga", "Bērziņa", D(2012, 9, 1), ATB__V1__SEX__FEMALE, liga);
    person("Marta", "Kalniņa", D(1950, 1, 1), ATB__V1__SEX__FEMALE, marta);

    /* Facts, and a correction of the residence with its reason. */
    int64_t res = fact(anna, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE, D(2012, 1, 1), NULL, 0,
                       "Rīgas iela 1-5, Daugavpils", 0, NULL);
    int64_t fixed = fact(anna, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE, D(2010, 1, 1), NULL, 0,
                         "Rīgas iela 1-5, Daugavpils", res, "the declaration register shows 2010");
    fact(janis, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT, D(2018, 11, 1), NULL,
         ATB__V1__EMPLOYMENT__EMPLOYMENT_REGISTERED_UNEMPLOYED, NULL, 0, NULL);
    fact(liga, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_SCHOOL, D(2018, 9, 1), NULL, ATB__V1__SCHOOL__SCHOOL_OTHER,
         NULL, 0, NULL);

    /* The household; the grandmother joins on 2019-05-01. */
    make_household(anna, janis, hh);
    Atb__V1__Date j15 = D(2015, 1, 1), j19 = D(2019, 5, 1);
    Atb__V1__MemberIn child = ATB__V1__MEMBER_IN__INIT, gran = ATB__V1__MEMBER_IN__INIT;
    child.person_key = liga;
    child.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
    child.joined = &j15;
    Atb__V1__AddHouseholdMember add = ATB__V1__ADD_HOUSEHOLD_MEMBER__INIT;
    add.meta = meta(0);
    add.household_key = hh;
    add.member = &child;
    ok("AddHouseholdMember", &add.base, NULL);
    int64_t before_gran = sk_sql_int("SELECT max(position) FROM atb.events");
    gran.person_key = marta;
    gran.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_PARENT;
    gran.joined = &j19;
    add.meta = meta(0);
    add.member = &gran;
    ok("AddHouseholdMember", &add.base, NULL);

    Atb__V1__HouseholdView *v = household(hh, D(2019, 4, 30), 0);
    assert_int_equal(v->n_members, 3);
    assert_true(has_member(v, anna) && has_member(v, janis) && has_member(v, liga) && !has_member(v, marta));
    assert_int_equal(v->n_others, 1);
    assert_string_equal(v->members[0]->family_name, "Bērziņa");
    protobuf_c_message_free_unpacked(&v->base, NULL);
    v = household(hh, D(2019, 5, 1), 0);
    assert_int_equal(v->n_members, 4);
    assert_true(has_member(v, marta));
    protobuf_c_message_free_unpacked(&v->base, NULL);
    /* As the log knew it before she was added: three members even on 2019-05-01. */
    v = household(hh, D(2019, 5, 1), before_gran);
    assert_int_equal(v->n_members, 3);
    assert_false(has_member(v, marta));
    protobuf_c_message_free_unpacked(&v->base, NULL);

    /* The application: needy status and the GMI benefit. */
    Atb__V1__Ask needy = ATB__V1__ASK__INIT, gmi = ATB__V1__ASK__INIT;
    needy.kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    gmi.kind = ATB__V1__ASK_KIND__ASK_KIND_GMI;
    Atb__V1__Ask *asks[2] = {&needy, &gmi};
    Atb__V1__Date received = D(2019, 3, 4);
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = meta(0);
    sa.applicant = anna;
    sa.household_key = hh;
    sa.n_asks = 2;
    sa.asks = asks;
    sa.received = &received;
    sa.channel = ATB__V1__CHANNEL__CHANNEL_OFFICE;
    sa.social_worker = WORKER;
    ok("SubmitApplication", &sa.base, app);

    /* The declaration: Anna's wage for the three months before; two heating bills, one
     * issued more than 12 months before the application (Daugavpils' limit). */
    Atb__V1__Date m1 = D(2018, 12, 1), m2 = D(2019, 1, 1), m3 = D(2019, 2, 1);
    Atb__V1__MonthlyIncome i1 = ATB__V1__MONTHLY_INCOME__INIT, i2, i3;
    i1.member = anna;
    i1.type = "wage";
    i1.amount_cents = 15000;
    i1.month = &m1;
    i2 = i1;
    i2.month = &m2;
    i3 = i1;
    i3.month = &m3;
    Atb__V1__MonthlyIncome *incomes[3] = {&i1, &i2, &i3};
    Atb__V1__Date fresh = D(2019, 1, 15), stale = D(2017, 12, 1), declared = D(2019, 3, 5);
    Atb__V1__Expense e1 = ATB__V1__EXPENSE__INIT, e2;
    e1.kind = "heating";
    e1.amount_cents = 8000;
    e1.document = "Daugavpils Siltums 2019/01-5531";
    e1.issued = &fresh;
    e2 = e1;
    e2.document = "Daugavpils Siltums 2017/12-0042";
    e2.issued = &stale;
    Atb__V1__Expense *expenses[2] = {&e1, &e2};
    Atb__V1__SubmitDeclaration sd = ATB__V1__SUBMIT_DECLARATION__INIT;
    sd.meta = meta(0);
    sd.application_id = app;
    sd.n_incomes = 3;
    sd.incomes = incomes;
    sd.n_expenses = 2;
    sd.expenses = expenses;
    sd.housing_expenses_cents = 12000;
    sd.declared_on = &declared;
    ok("SubmitDeclaration", &sd.base, NULL);
    Atb__V1__ApplicationView *av = application(app);
    assert_int_equal(av->status, ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED);
    assert_non_null(av->declaration);
    assert_int_equal(av->declaration->n_expenses, 1);
    assert_int_equal(av->declaration->n_rejected, 1);
    assert_string_equal(av->declaration->rejected[0]->reason, "document_too_old");
    assert_int_equal(av->declaration->document_max_age_months, 12);
    assert_int_equal(av->received->deadline->month, 4);
    assert_int_equal(av->received->deadline->day, 4);
    protobuf_c_message_free_unpacked(&av->base, NULL);

    /* The home visit, the agreement with Jānis, the case and its activity. */
    Atb__V1__Date vd = D(2019, 3, 6);
    char *found[3] = {anna, janis, liga};
    char *conds[1] = {"no_heating"};
    Atb__V1__RecordHomeVisit hv = ATB__V1__RECORD_HOME_VISIT__INIT;
    hv.meta = meta(0);
    hv.household_key = hh;
    hv.application_id = app;
    hv.visited_on = &vd;
    hv.n_found = 3;
    hv.found = found;
    hv.n_conditions = 1;
    hv.conditions = conds;
    hv.findings = "The stove is broken; the family heats one room.";
    hv.social_worker = WORKER;
    ok("RecordHomeVisit", &hv.base, visit);

    Atb__V1__Date signed_on = D(2019, 3, 6), due = D(2019, 3, 20), done_on = D(2019, 3, 15);
    Atb__V1__Duty duty = ATB__V1__DUTY__INIT;
    duty.kind = "register_unemployed";
    duty.due = &due;
    duty.text = "Keep the NVA registration and attend the job club";
    Atb__V1__Duty *duties[1] = {&duty};
    Atb__V1__MakeAgreement ma = ATB__V1__MAKE_AGREEMENT__INIT;
    ma.meta = meta(0);
    ma.person_key = janis;
    ma.application_id = app;
    ma.signed_on = &signed_on;
    ma.n_duties = 1;
    ma.duties = duties;
    ok("MakeAgreement", &ma.base, agr);
    Atb__V1__RecordDutyOutcome outc = ATB__V1__RECORD_DUTY_OUTCOME__INIT;
    outc.meta = meta(0);
    outc.agreement_key = agr;
    outc.duty = 1;
    outc.fulfilled = true;
    outc.on = &done_on;
    ok("RecordDutyOutcome", &outc.base, NULL);

    Atb__V1__Date opened = D(2019, 3, 4);
    Atb__V1__OpenCase oc = ATB__V1__OPEN_CASE__INIT;
    oc.meta = meta(0);
    oc.person_key = anna;
    oc.household_key = hh;
    oc.sector = "social_assistance";
    oc.social_worker = WORKER;
    oc.opened_on = &opened;
    ok("OpenCase", &oc.base, cs);
    Atb__V1__LogActivity la = ATB__V1__LOG_ACTIVITY__INIT;
    la.meta = meta(0);
    la.case_key = cs;
    la.kind = "consultation";
    la.on = &opened;
    la.text = "Explained the GMI co-operation duties";
    ok("LogActivity", &la.base, NULL);

    /* Complete: means testing decides, intake records the decision. */
    Atb__V1__Date decision = D(2019, 3, 18);
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    ca.meta = meta(0);
    ca.application_id = app;
    ca.decision_date = &decision;
    ok("CompleteApplication", &ca.base, NULL);
    assert_int_equal(sk_wait_sql(1, 30000,
                                 "SELECT count(*) FROM atb.events WHERE stream_id = 'application-%s' AND "
                                 "type = 'ApplicationDecided'", app), 1);
    av = application(app);
    assert_int_equal(av->status, ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_DECIDED);
    assert_int_equal(av->n_decisions, 2);
    assert_int_equal(av->decisions[0]->ask_index, 1);
    assert_string_equal(av->decisions[0]->event_type, "StatusGranted");   /* 50 EUR a person < 128.06 */
    protobuf_c_message_free_unpacked(&av->base, NULL);
    /* The household means tested is the one on the received date, with its facts. */
    char members[16];
    sk_sql_text(members, sizeof members,
                "SELECT count(*) FROM atb.events WHERE stream_id = 'application-%s' AND type = 'ApplicationCompleted'",
                app);
    assert_string_equal(members, "1");

    /* The case history: everything in log order, the correction with who made it. */
    Atb__V1__GetCaseHistory gh = ATB__V1__GET_CASE_HISTORY__INIT;
    gh.case_key = cs;
    Atb__V1__CaseHistory *h = (Atb__V1__CaseHistory *)sk_call("qry", TENANT, "intake", "GetCaseHistory", &gh.base,
                                                              &atb__v1__case_history__descriptor);
    assert_null(h->error);
    assert_true(h->active);
    bool correction = false, decided = false, granted = false, visit_seen = false, activity = false;
    for (size_t i = 0; i < h->n_entries; i++) {
        const Atb__V1__HistoryEntry *e = h->entries[i];
        if (i > 0)
            assert_true(e->position > h->entries[i - 1]->position);
        if (e->position == fixed) {
            correction = true;
            assert_int_equal(e->corrects_position, res);
            assert_string_equal(e->actor, WORKER);
            assert_non_null(strstr(e->summary, "the declaration register shows 2010"));
        }
        decided |= strcmp(e->type, "ApplicationDecided") == 0;
        granted |= strcmp(e->type, "StatusGranted") == 0;
        visit_seen |= strcmp(e->type, "HomeVisitRecorded") == 0 && strstr(e->summary, "stove is broken") != NULL;
        activity |= strcmp(e->type, "ActivityLogged") == 0 && strstr(e->summary, "co-operation duties") != NULL;
    }
    assert_true(correction && decided && granted && visit_seen && activity);
    protobuf_c_message_free_unpacked(&h->base, NULL);

    /* No identifying data in any event of this test: names, codes, addresses, notes. */
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE position(convert_to('Rīgas iela', 'UTF8') "
                                "IN payload) > 0 OR position(convert_to('Bērziņ', 'UTF8') IN payload) > 0 OR "
                                "position(convert_to('stove', 'UTF8') IN payload) > 0"),
                     0);
}

/* ---- 2. refusals ---- */

static void every_refusal_names_the_field_and_appends_nothing(void **state)
{
    (void)state;
    char a[37], b[37], c[37], hh[37], hh2[37], app[37];
    person("Ilze", "Liepa", D(1970, 1, 1), ATB__V1__SEX__FEMALE, a);
    person("Pēteris", "Liepa", D(1969, 1, 1), ATB__V1__SEX__MALE, b);
    person("Oskars", "Ozols", D(1990, 1, 1), ATB__V1__SEX__MALE, c);
    make_household(a, b, hh);
    make_household(c, NULL, hh2);

    /* Person facts. */
    Atb__V1__Date future = D(2099, 1, 1), past = D(2018, 1, 1);
    Atb__V1__PersonFact f = ATB__V1__PERSON_FACT__INIT;
    f.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_FLAG;
    f.flag = "lonely";
    f.from = &future;
    Atb__V1__RecordPersonFact rf = ATB__V1__RECORD_PERSON_FACT__INIT;
    rf.meta = meta(0);
    rf.person_key = a;
    rf.fact = &f;
    refused("RecordPersonFact", &rf.base, ATB__V1__ERROR_CODE__VALIDATION, "fact.from");
    f.from = &past;
    f.flag = "child";   /* computed by the rules, never recorded */
    rf.meta = meta(0);
    refused("RecordPersonFact", &rf.base, ATB__V1__ERROR_CODE__VALIDATION, "fact.flag");
    f.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY;
    f.level = 7;
    rf.meta = meta(0);
    refused("RecordPersonFact", &rf.base, ATB__V1__ERROR_CODE__VALIDATION, "fact.level");
    f.level = 2;
    rf.person_key = "7d4f8d0e-1111-4222-8333-944455556666";
    rf.meta = meta(0);
    refused("RecordPersonFact", &rf.base, ATB__V1__ERROR_CODE__NOT_FOUND, "person_key");
    rf.person_key = a;
    rf.corrects_position = 999999999;
    rf.reason = "typo";
    rf.meta = meta(0);
    refused("RecordPersonFact", &rf.base, ATB__V1__ERROR_CODE__VALIDATION, "corrects_position");
    rf.corrects_position = 0;
    rf.meta = meta(7);   /* the person stream is at version 1 */
    refused("RecordPersonFact", &rf.base, ATB__V1__ERROR_CODE__CONFLICT, NULL);

    /* Households: a person in two households at once; two applicants; a future join. */
    Atb__V1__Date joined = D(2018, 6, 1);
    Atb__V1__MemberIn m = ATB__V1__MEMBER_IN__INIT;
    m.person_key = c;
    m.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER_RELATIVE;
    m.joined = &joined;
    Atb__V1__AddHouseholdMember add = ATB__V1__ADD_HOUSEHOLD_MEMBER__INIT;
    add.meta = meta(0);
    add.household_key = hh;
    add.member = &m;
    refused("AddHouseholdMember", &add.base, ATB__V1__ERROR_CODE__CONFLICT, "member.person_key");
    m.joined = &future;
    add.meta = meta(0);
    refused("AddHouseholdMember", &add.base, ATB__V1__ERROR_CODE__VALIDATION, "member.joined");
    m.joined = &joined;
    m.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;   /* Ilze is the applicant */
    add.meta = meta(0);
    refused("AddHouseholdMember", &add.base, ATB__V1__ERROR_CODE__VALIDATION, "member.relationship");
    m.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER_RELATIVE;
    add.meta = meta(1);   /* stale: the household is at version 3 */
    refused("AddHouseholdMember", &add.base, ATB__V1__ERROR_CODE__CONFLICT, NULL);
    Atb__V1__MemberIn x = ATB__V1__MEMBER_IN__INIT, y = ATB__V1__MEMBER_IN__INIT;
    x.person_key = "0a4f8d0e-1111-4222-8333-944455556666";
    x.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
    x.joined = &joined;
    y = x;
    y.person_key = "0b4f8d0e-1111-4222-8333-944455556666";
    Atb__V1__MemberIn *two[2] = {&x, &y};
    Atb__V1__CreateHousehold ch = ATB__V1__CREATE_HOUSEHOLD__INIT;
    ch.meta = meta(0);
    ch.n_members = 2;
    ch.members = two;
    refused("CreateHousehold", &ch.base, ATB__V1__ERROR_CODE__VALIDATION, "members");
    y.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
    ch.meta = meta(0);
    refused("CreateHousehold", &ch.base, ATB__V1__ERROR_CODE__NOT_FOUND, NULL);   /* unknown persons */
    Atb__V1__RemoveHouseholdMember rm = ATB__V1__REMOVE_HOUSEHOLD_MEMBER__INIT;
    rm.meta = meta(0);
    rm.household_key = hh;
    rm.person_key = c;
    rm.left = &past;
    refused("RemoveHouseholdMember", &rm.base, ATB__V1__ERROR_CODE__CONFLICT, "person_key");

    /* Applications. */
    Atb__V1__Ask ask = ATB__V1__ASK__INIT;
    ask.kind = ATB__V1__ASK_KIND__ASK_KIND_BENEFIT;
    ask.benefit = "HEATING";
    Atb__V1__ExpenseBill bill = ATB__V1__EXPENSE_BILL__INIT;
    bill.amount_cents = -500;
    bill.issued = &past;
    ask.bill = &bill;
    Atb__V1__Ask *asks[1] = {&ask};
    Atb__V1__Date received = D(2019, 3, 4);
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = meta(0);
    sa.applicant = a;
    sa.household_key = hh;
    sa.n_asks = 1;
    sa.asks = asks;
    sa.received = &received;
    sa.channel = ATB__V1__CHANNEL__CHANNEL_E_SERVICE;
    sa.social_worker = WORKER;
    refused("SubmitApplication", &sa.base, ATB__V1__ERROR_CODE__VALIDATION, "asks.1.bill.amount_cents");
    bill.amount_cents = 5000;
    sa.applicant = c;   /* not in this household */
    sa.meta = meta(0);
    refused("SubmitApplication", &sa.base, ATB__V1__ERROR_CODE__VALIDATION, "applicant");
    sa.applicant = a;
    sa.received = &future;
    sa.meta = meta(0);
    refused("SubmitApplication", &sa.base, ATB__V1__ERROR_CODE__VALIDATION, "received");
    sa.received = &received;
    sa.n_asks = 0;
    sa.meta = meta(0);
    refused("SubmitApplication", &sa.base, ATB__V1__ERROR_CODE__VALIDATION, "asks");
    sa.n_asks = 1;
    sa.channel = 0;
    sa.meta = meta(0);
    refused("SubmitApplication", &sa.base, ATB__V1__ERROR_CODE__VALIDATION, "channel");
    sa.channel = ATB__V1__CHANNEL__CHANNEL_E_SERVICE;
    sa.meta = meta(0);
    /* The unknown municipality: refused before any handler runs. */
    int64_t before = log_count();
    Atb__V1__CommandReply *r = (Atb__V1__CommandReply *)sk_call("cmd", "atlantis", "intake", "SubmitApplication",
                                                                &sa.base, &atb__v1__command_reply__descriptor);
    assert_non_null(r->error);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__UNKNOWN_TENANT);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_int_equal(log_count(), before);
    sa.meta = meta(0);
    ok("SubmitApplication", &sa.base, app);

    /* Declarations: negative money, a month that does not count, a stranger's income. */
    Atb__V1__Date month = D(2019, 2, 1), old_month = D(2018, 6, 1), declared = D(2019, 3, 5);
    Atb__V1__MonthlyIncome in = ATB__V1__MONTHLY_INCOME__INIT;
    in.member = a;
    in.type = "pension";
    in.month = &month;
    in.amount_cents = -1;
    Atb__V1__MonthlyIncome *incomes[1] = {&in};
    Atb__V1__SubmitDeclaration sd = ATB__V1__SUBMIT_DECLARATION__INIT;
    sd.meta = meta(0);
    sd.application_id = app;
    sd.n_incomes = 1;
    sd.incomes = incomes;
    sd.declared_on = &declared;
    refused("SubmitDeclaration", &sd.base, ATB__V1__ERROR_CODE__VALIDATION, "incomes.1.amount_cents");
    in.amount_cents = 30000;
    in.month = &old_month;
    sd.meta = meta(0);
    refused("SubmitDeclaration", &sd.base, ATB__V1__ERROR_CODE__VALIDATION, "incomes.1.month");
    in.month = &month;
    in.member = c;
    sd.meta = meta(0);
    refused("SubmitDeclaration", &sd.base, ATB__V1__ERROR_CODE__VALIDATION, "incomes.1.member");
    sd.savings_cents = -100;
    in.member = a;
    sd.meta = meta(0);
    refused("SubmitDeclaration", &sd.base, ATB__V1__ERROR_CODE__VALIDATION, "savings_cents");
    sd.savings_cents = 0;

    /* Completing without a declaration; appealing an undecided application. */
    Atb__V1__Date decision = D(2019, 3, 10);
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    ca.meta = meta(0);
    ca.application_id = app;
    ca.decision_date = &decision;
    refused("CompleteApplication", &ca.base, ATB__V1__ERROR_CODE__CONFLICT, "application_id");
    Atb__V1__FileAppeal fa = ATB__V1__FILE_APPEAL__INIT;
    fa.meta = meta(0);
    fa.application_id = app;
    fa.ask_index = 1;
    fa.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL;
    fa.filed_on = &decision;
    refused("FileAppeal", &fa.base, ATB__V1__ERROR_CODE__CONFLICT, "application_id");
    fa.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT;   /* a court appeal names the council's */
    fa.meta = meta(0);
    refused("FileAppeal", &fa.base, ATB__V1__ERROR_CODE__VALIDATION, "follows");

    /* Visits, agreements, cases. */
    char *conds[1] = {"haunted"};
    Atb__V1__RecordHomeVisit hv = ATB__V1__RECORD_HOME_VISIT__INIT;
    hv.meta = meta(0);
    hv.household_key = hh;
    hv.visited_on = &decision;
    hv.n_conditions = 1;
    hv.conditions = conds;
    hv.social_worker = WORKER;
    refused("RecordHomeVisit", &hv.base, ATB__V1__ERROR_CODE__VALIDATION, "conditions.1");
    Atb__V1__Date early = D(2019, 3, 1);
    Atb__V1__Duty duty = ATB__V1__DUTY__INIT;
    duty.kind = "seek_work";
    duty.due = &early;
    Atb__V1__Duty *duties[1] = {&duty};
    Atb__V1__MakeAgreement ma = ATB__V1__MAKE_AGREEMENT__INIT;
    ma.meta = meta(0);
    ma.person_key = b;
    ma.signed_on = &decision;
    ma.n_duties = 1;
    ma.duties = duties;
    refused("MakeAgreement", &ma.base, ATB__V1__ERROR_CODE__VALIDATION, "duties.1.due");
    Atb__V1__LogActivity la = ATB__V1__LOG_ACTIVITY__INIT;
    la.meta = meta(0);
    la.case_key = "1c4f8d0e-1111-4222-8333-944455556666";
    la.kind = "consultation";
    la.on = &decision;
    la.text = "x";
    refused("LogActivity", &la.base, ATB__V1__ERROR_CODE__NOT_FOUND, "case_key");
    Atb__V1__OpenCase oc = ATB__V1__OPEN_CASE__INIT;
    oc.meta = meta(0);
    oc.person_key = a;
    oc.sector = "astrology";
    oc.social_worker = WORKER;
    oc.opened_on = &decision;
    refused("OpenCase", &oc.base, ATB__V1__ERROR_CODE__VALIDATION, "sector");
    oc.sector = "elderly";
    oc.person_key = "not-a-key";
    oc.meta = meta(0);
    refused("OpenCase", &oc.base, ATB__V1__ERROR_CODE__VALIDATION, "person_key");

    /* Bytes that are not the message: MALFORMED, nothing appended. */
    before = log_count();
    char subject[200];
    snprintf(subject, sizeof subject, "%s.cmd.%s.intake.CreateHousehold", sk.prefix, TENANT);
    natsMsg *reply = NULL;
    assert_int_equal(natsConnection_Request(&reply, bus_nats(sk.client), subject, "\x0a\xff\xff\xff", 4, 5000),
                     NATS_OK);
    Atb__V1__CommandReply *mr = atb__v1__command_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(reply),
                                                               (const uint8_t *)natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    assert_non_null(mr);
    assert_non_null(mr->error);
    assert_int_equal(mr->error->code, ATB__V1__ERROR_CODE__MALFORMED);
    atb__v1__command_reply__free_unpacked(mr, NULL);
    assert_int_equal(log_count(), before);
}

/* ---- 3. two workers, one household ---- */

typedef struct adder {
    const char *household, *person;
    int64_t expected;
    Atb__V1__ErrorCode code;       /* 0 = accepted */
} adder;

static void *add_member(void *arg)
{
    adder *ad = arg;
    Atb__V1__Date joined = D(2019, 2, 1);
    Atb__V1__MemberIn m = ATB__V1__MEMBER_IN__INIT;
    m.person_key = (char *)ad->person;
    m.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
    m.joined = &joined;
    Atb__V1__AddHouseholdMember add = ATB__V1__ADD_HOUSEHOLD_MEMBER__INIT;
    add.meta = meta(ad->expected);
    add.household_key = (char *)ad->household;
    add.member = &m;
    Atb__V1__CommandReply *r = cmd("AddHouseholdMember", &add.base);
    ad->code = r->error ? r->error->code : 0;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return NULL;
}

static void two_workers_editing_one_household_one_wins_the_other_retries(void **state)
{
    (void)state;
    char mum[37], k1[37], k2[37], hh[37];
    person("Inese", "Kalna", D(1980, 1, 1), ATB__V1__SEX__FEMALE, mum);
    person("Roberts", "Kalns", D(2010, 1, 1), ATB__V1__SEX__MALE, k1);
    person("Rūta", "Kalna", D(2012, 1, 1), ATB__V1__SEX__FEMALE, k2);
    make_household(mum, NULL, hh);   /* version 2: created + one member */

    adder a = {hh, k1, 2, 0}, b = {hh, k2, 2, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, add_member, &a);
    pthread_create(&tb, NULL, add_member, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    /* Both saw version 2: exactly one appended, the other got CONFLICT. */
    assert_true((a.code == 0) != (b.code == 0));
    adder *loser = a.code ? &a : &b;
    assert_int_equal(loser->code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE stream_id = 'household-%s'", hh), 3);
    /* The loser reads again and retries: no lost update. */
    Atb__V1__HouseholdView *v = household(hh, D(2019, 3, 1), 0);
    loser->expected = v->version;
    protobuf_c_message_free_unpacked(&v->base, NULL);
    add_member(loser);
    assert_int_equal(loser->code, 0);
    v = household(hh, D(2019, 3, 1), 0);
    assert_int_equal(v->n_members, 3);
    assert_true(has_member(v, mum) && has_member(v, k1) && has_member(v, k2));
    protobuf_c_message_free_unpacked(&v->base, NULL);

    /* One person, two households, at once: one membership, one CONFLICT. */
    char other[37], lone[37], hh2[37];
    person("Aivars", "Kalns", D(1979, 1, 1), ATB__V1__SEX__MALE, other);
    person("Dace", "Zariņa", D(2011, 1, 1), ATB__V1__SEX__FEMALE, lone);
    make_household(other, NULL, hh2);
    adder c = {hh, lone, 0, 0}, d = {hh2, lone, 0, 0};
    pthread_create(&ta, NULL, add_member, &c);
    pthread_create(&tb, NULL, add_member, &d);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_true((c.code == 0) != (d.code == 0));
    assert_int_equal(c.code ? c.code : d.code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE type = 'MemberJoined' AND "
                                "position(convert_to('%s', 'UTF8') IN payload) > 0", lone),
                     1);
}

/* ---- 4. appeals, co-operation, corrections, withdrawal ---- */

/* The payload of the only event of `type` on `stream`, unpacked as `d`. */
static ProtobufCMessage *event_of(const char *stream, const char *type, const ProtobufCMessageDescriptor *d)
{
    char hex[65536];
    sk_sql_text(hex, sizeof hex, "SELECT encode(payload, 'hex') FROM atb.events WHERE stream_id = '%s' AND type = '%s'",
                stream, type);
    size_t n = strlen(hex) / 2;
    uint8_t *bytes = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        bytes[i] = (uint8_t)v;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, bytes);
    free(bytes);
    if (!m)
        fail_msg("no %s on %s", type, stream);
    return m;
}

static void submit(const char *applicant, const char *hh, Atb__V1__AskKind kind, char app[37])
{
    Atb__V1__Ask ask = ATB__V1__ASK__INIT;
    ask.kind = kind;
    Atb__V1__Ask *asks[1] = {&ask};
    Atb__V1__Date received = D(2019, 3, 4), declared = D(2019, 3, 4), month = D(2019, 2, 1);
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = meta(0);
    sa.applicant = (char *)applicant;
    sa.household_key = (char *)hh;
    sa.n_asks = 1;
    sa.asks = asks;
    sa.received = &received;
    sa.channel = ATB__V1__CHANNEL__CHANNEL_RECEPTION_POINT;
    sa.social_worker = WORKER;
    ok("SubmitApplication", &sa.base, app);
    Atb__V1__MonthlyIncome in = ATB__V1__MONTHLY_INCOME__INIT;
    in.member = (char *)applicant;
    in.type = "wage";
    in.month = &month;
    in.amount_cents = 90000;
    Atb__V1__MonthlyIncome *incomes[1] = {&in};
    Atb__V1__SubmitDeclaration sd = ATB__V1__SUBMIT_DECLARATION__INIT;
    sd.meta = meta(0);
    sd.application_id = app;
    sd.n_incomes = 1;
    sd.incomes = incomes;
    sd.declared_on = &declared;
    ok("SubmitDeclaration", &sd.base, NULL);
}

static void appeals_duties_corrections_and_withdrawal(void **state)
{
    (void)state;
    char a[37], b[37], hh[37], app[37], agr[37], council[37], court[37], app2[37];
    person("Vija", "Egle", D(1975, 2, 2), ATB__V1__SEX__FEMALE, a);
    person("Gints", "Egle", D(1974, 4, 4), ATB__V1__SEX__MALE, b);
    make_household(a, b, hh);

    /* Gints fails his duty before the decision date: means testing sees the flag. */
    Atb__V1__Date signed_on = D(2019, 1, 10), due = D(2019, 2, 10), failed_on = D(2019, 2, 11);
    Atb__V1__Duty duty = ATB__V1__DUTY__INIT;
    duty.kind = "seek_work";
    duty.due = &due;
    Atb__V1__Duty *duties[1] = {&duty};
    Atb__V1__MakeAgreement ma = ATB__V1__MAKE_AGREEMENT__INIT;
    ma.meta = meta(0);
    ma.person_key = b;
    ma.signed_on = &signed_on;
    ma.n_duties = 1;
    ma.duties = duties;
    ok("MakeAgreement", &ma.base, agr);
    Atb__V1__RecordDutyOutcome o = ATB__V1__RECORD_DUTY_OUTCOME__INIT;
    o.meta = meta(0);
    o.agreement_key = agr;
    o.duty = 1;
    o.fulfilled = false;
    o.on = &failed_on;
    o.note = "did not come to the job club";
    ok("RecordDutyOutcome", &o.base, NULL);
    o.meta = meta(0);
    o.duty = 2;   /* the agreement has one duty */
    refused("RecordDutyOutcome", &o.base, ATB__V1__ERROR_CODE__VALIDATION, "duty");

    submit(a, hh, ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS, app);
    Atb__V1__Date decision = D(2019, 3, 11);
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    ca.meta = meta(0);
    ca.application_id = app;
    ca.decision_date = &decision;
    ok("CompleteApplication", &ca.base, NULL);
    ca.meta = meta(0);   /* a second completion: the file is with means testing */
    refused("CompleteApplication", &ca.base, ATB__V1__ERROR_CODE__CONFLICT, "application_id");
    char stream[64];
    snprintf(stream, sizeof stream, "application-%s", app);
    Atb__V1__ApplicationCompleted *done = (Atb__V1__ApplicationCompleted *)event_of(
        stream, "ApplicationCompleted", &atb__v1__application_completed__descriptor);
    assert_int_equal(done->household->n_members, 2);
    bool flagged = false;
    for (size_t i = 0; i < done->household->n_members; i++) {
        const Atb__V1__HouseholdMember *m = done->household->members[i];
        for (size_t k = 0; k < m->n_flags; k++)
            if (strcmp(m->flags[k], "cooperation_failed") == 0)
                flagged = strcmp(m->key, b) == 0;
    }
    assert_true(flagged);
    assert_int_equal(done->household->n_incomes, 1);
    protobuf_c_message_free_unpacked(&done->base, NULL);
    assert_int_equal(sk_wait_sql(1, 30000, "SELECT count(*) FROM atb.events WHERE stream_id = '%s' AND "
                                           "type = 'ApplicationDecided'", stream), 1);

    /* Council, then court: a CHANGED outcome becomes DecisionOverridden, never an edit. */
    Atb__V1__Date filed = D(2019, 3, 20), ruled = D(2019, 4, 10), court_filed = D(2019, 4, 20),
                  court_ruled = D(2019, 9, 1);
    Atb__V1__FileAppeal fa = ATB__V1__FILE_APPEAL__INIT;
    fa.meta = meta(0);
    fa.application_id = app;
    fa.ask_index = 1;
    fa.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL;
    fa.filed_on = &filed;
    fa.grounds = "the income was a one-off payment";
    ok("FileAppeal", &fa.base, council);
    Atb__V1__DecideAppeal da = ATB__V1__DECIDE_APPEAL__INIT;
    da.meta = meta(0);
    da.appeal_key = council;
    da.outcome = ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_UPHELD;
    da.decided_on = &ruled;
    da.reference = "council decision 12/2019";
    ok("DecideAppeal", &da.base, NULL);
    da.meta = meta(0);
    refused("DecideAppeal", &da.base, ATB__V1__ERROR_CODE__CONFLICT, "appeal_key");
    fa.meta = meta(0);
    fa.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT;
    fa.follows = council;
    fa.filed_on = &court_filed;
    ok("FileAppeal", &fa.base, court);
    Atb__V1__DecisionResult result = ATB__V1__DECISION_RESULT__INIT;
    Atb__V1__Date from = D(2019, 3, 11), to = D(2019, 9, 10);
    result.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    result.ask = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    result.status = ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY;
    result.period_from = &from;
    result.period_to = &to;
    da.meta = meta(0);
    da.appeal_key = court;
    da.outcome = ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_CHANGED;
    da.decided_on = &court_ruled;
    da.reference = "administrative district court A420-19";
    refused("DecideAppeal", &da.base, ATB__V1__ERROR_CODE__VALIDATION, "result");
    da.meta = meta(0);
    da.result = &result;
    ok("DecideAppeal", &da.base, NULL);
    char dstream[64];
    snprintf(dstream, sizeof dstream, "decision-%s", app);
    assert_int_equal(sk_wait_sql(1, 30000, "SELECT count(*) FROM atb.events WHERE stream_id = '%s' AND "
                                           "type = 'DecisionOverridden'", dstream), 1);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE stream_id = '%s' AND type <> "
                                "'DecisionOverridden'", dstream), 1);   /* the first decision is still there */
    Atb__V1__ApplicationView *av = application(app);
    assert_int_equal(av->status, ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_APPEALED);
    assert_int_equal(av->n_appeals, 2);
    protobuf_c_message_free_unpacked(&av->base, NULL);

    /* Receipts of the decided application: a later application hands them to means. */
    Atb__V1__Date handed = D(2019, 4, 1);
    Atb__V1__RecordReceipts rr = ATB__V1__RECORD_RECEIPTS__INIT;
    rr.meta = meta(0);
    rr.application_id = app;
    rr.submitted_on = &handed;
    ok("RecordReceipts", &rr.base, NULL);
    rr.meta = meta(0);
    refused("RecordReceipts", &rr.base, ATB__V1__ERROR_CODE__CONFLICT, "application_id");
    char app3[37];
    submit(a, hh, ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS, app3);
    ca.meta = meta(0);
    ca.application_id = app3;
    ok("CompleteApplication", &ca.base, NULL);
    snprintf(stream, sizeof stream, "application-%s", app3);
    done = (Atb__V1__ApplicationCompleted *)event_of(stream, "ApplicationCompleted",
                                                     &atb__v1__application_completed__descriptor);
    assert_int_equal(done->application->n_receipts_submitted, 1);
    assert_string_equal(done->application->receipts_submitted[0], app);
    protobuf_c_message_free_unpacked(&done->base, NULL);

    /* A correction of the person: the identity changes, the event says who and why. */
    Atb__V1__Date born = D(1975, 2, 3);
    Atb__V1__CorrectPerson cp = ATB__V1__CORRECT_PERSON__INIT;
    cp.meta = meta(0);
    cp.person_key = a;
    cp.family_name = "Egle-Ozola";
    cp.birth_date = &born;
    refused("CorrectPerson", &cp.base, ATB__V1__ERROR_CODE__VALIDATION, "reason");
    cp.meta = meta(0);
    cp.reason = "the passport says 3 February";
    ok("CorrectPerson", &cp.base, NULL);
    Atb__V1__GetPerson gp = ATB__V1__GET_PERSON__INIT;
    gp.person_key = a;
    Atb__V1__PersonView *pv = (Atb__V1__PersonView *)sk_call("qry", TENANT, "intake", "GetPerson", &gp.base,
                                                             &atb__v1__person_view__descriptor);
    assert_null(pv->error);
    assert_string_equal(pv->family_name, "Egle-Ozola");
    assert_int_equal(pv->birth_date->day, 3);
    assert_string_equal(pv->household_key, hh);
    protobuf_c_message_free_unpacked(&pv->base, NULL);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE stream_id = 'person-%s' AND "
                                "type = 'PersonCorrected' AND actor = '%s'", a, WORKER), 1);
    Atb__V1__FindPersons fp = ATB__V1__FIND_PERSONS__INIT;
    fp.family_name = "egle-o";
    Atb__V1__PersonList *pl = (Atb__V1__PersonList *)sk_call("qry", TENANT, "intake", "FindPersons", &fp.base,
                                                             &atb__v1__person_list__descriptor);
    assert_null(pl->error);
    assert_int_equal(pl->n_persons, 1);
    assert_string_equal(pl->persons[0]->person_key, a);
    protobuf_c_message_free_unpacked(&pl->base, NULL);

    /* A withdrawn application: no completion after it. */
    submit(a, hh, ATB__V1__ASK_KIND__ASK_KIND_GMI, app2);
    Atb__V1__Date wd = D(2019, 3, 6);
    Atb__V1__WithdrawApplication w = ATB__V1__WITHDRAW_APPLICATION__INIT;
    w.meta = meta(0);
    w.application_id = app2;
    w.on = &wd;
    w.reason = "found work";
    ok("WithdrawApplication", &w.base, NULL);
    ca.meta = meta(0);
    ca.application_id = app2;
    refused("CompleteApplication", &ca.base, ATB__V1__ERROR_CODE__CONFLICT, "application_id");
    w.meta = meta(0);
    refused("WithdrawApplication", &w.base, ATB__V1__ERROR_CODE__CONFLICT, "application_id");
}

/* ---- 5. what means testing cannot decide comes back ---- */

static void an_application_means_cannot_decide_is_returned_with_the_reason(void **state)
{
    (void)state;
    char a[37], hh[37], app[37];
    person("Edgars", "Vītols", D(1960, 5, 5), ATB__V1__SEX__MALE, a);
    make_household(a, NULL, hh);
    /* A catalogue code no rule set of Daugavpils has. */
    Atb__V1__Ask ask = ATB__V1__ASK__INIT;
    ask.kind = ATB__V1__ASK_KIND__ASK_KIND_BENEFIT;
    ask.benefit = "MOON_TRIP";
    Atb__V1__Ask *asks[1] = {&ask};
    Atb__V1__Date received = D(2019, 3, 4), decision = D(2019, 3, 11);
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = meta(0);
    sa.applicant = a;
    sa.household_key = hh;
    sa.n_asks = 1;
    sa.asks = asks;
    sa.received = &received;
    sa.channel = ATB__V1__CHANNEL__CHANNEL_OFFICE;
    sa.social_worker = WORKER;
    ok("SubmitApplication", &sa.base, app);
    Atb__V1__SubmitDeclaration sd = ATB__V1__SUBMIT_DECLARATION__INIT;
    sd.meta = meta(0);
    sd.application_id = app;
    sd.declared_on = &received;
    ok("SubmitDeclaration", &sd.base, NULL);
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    ca.meta = meta(0);
    ca.application_id = app;
    ca.decision_date = &decision;
    ok("CompleteApplication", &ca.base, NULL);
    assert_int_equal(sk_wait_sql(1, 30000, "SELECT count(*) FROM atb.events WHERE stream_id = 'application-%s' AND "
                                           "type = 'ApplicationReturned'", app), 1);
    Atb__V1__ApplicationView *v = application(app);
    assert_int_equal(v->status, ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_RECEIVED);
    assert_non_null(v->returned);
    assert_int_equal(v->returned->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_non_null(strstr(v->returned->message, "MOON_TRIP"));
    assert_int_equal(v->n_decisions, 0);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    /* No dead letter: the reason is in the log, and the caseworker can act on it. */
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.dead_letters"), 0);
    /* Back to RECEIVED: it can be withdrawn (or completed again). */
    Atb__V1__WithdrawApplication w = ATB__V1__WITHDRAW_APPLICATION__INIT;
    w.meta = meta(0);
    w.application_id = app;
    w.on = &decision;
    ok("WithdrawApplication", &w.base, NULL);
}

/* ---- 6. erasure: the identity and the notes go, the log and its decisions stay ---- */

static void erasure_blanks_identity_and_notes_and_decisions_still_replay(void **state)
{
    (void)state;
    char a[37], hh[37], app[37], agr[37];
    person("Zigrīda", "Krūmiņa", D(1958, 8, 8), ATB__V1__SEX__FEMALE, a);
    fact(a, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE, D(2001, 1, 1), NULL, 0, "Cietokšņa iela 7-12",
         0, NULL);
    make_household(a, NULL, hh);
    Atb__V1__Date signed_on = D(2019, 1, 10), due = D(2019, 2, 10);
    Atb__V1__Duty duty = ATB__V1__DUTY__INIT;
    duty.kind = "meet_social_worker";
    duty.due = &due;
    duty.text = "Come to Zigrīda's review on Tuesdays";
    Atb__V1__Duty *duties[1] = {&duty};
    Atb__V1__MakeAgreement ma = ATB__V1__MAKE_AGREEMENT__INIT;
    ma.meta = meta(0);
    ma.person_key = a;
    ma.signed_on = &signed_on;
    ma.n_duties = 1;
    ma.duties = duties;
    ok("MakeAgreement", &ma.base, agr);
    submit(a, hh, ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS, app);
    Atb__V1__Date decision = D(2019, 3, 11);
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    ca.meta = meta(0);
    ca.application_id = app;
    ca.decision_date = &decision;
    ok("CompleteApplication", &ca.base, NULL);
    assert_int_equal(sk_wait_sql(1, 30000, "SELECT count(*) FROM atb.events WHERE stream_id = 'application-%s' AND "
                                           "type = 'ApplicationDecided'", app), 1);
    int64_t events = sk_sql_int("SELECT count(*) FROM atb.events");
    char before[4096];
    sk_sql_text(before, sizeof before, "SELECT md5(string_agg(payload::text, ',' ORDER BY position)) FROM atb.events");

    Atb__V1__ErasePerson ep = ATB__V1__ERASE_PERSON__INIT;
    ep.meta = meta(0);
    ep.person_key = a;
    ep.basis = "data subject request";   /* not a code */
    refused("ErasePerson", &ep.base, ATB__V1__ERROR_CODE__VALIDATION, "basis");
    ep.basis = "data_subject_request";
    ep.meta = meta(0);
    char retry_id[37];
    snprintf(retry_id, sizeof retry_id, "%s", ep.meta->command_id);
    ok("ErasePerson", &ep.base, NULL);
    /* The retry of the same command gets the first result; a new command finds nobody. */
    Atb__V1__CommandMeta again = ATB__V1__COMMAND_META__INIT;
    again.command_id = retry_id;
    again.actor = WORKER;
    ep.meta = &again;
    Atb__V1__CommandReply *r = cmd("ErasePerson", &ep.base);
    assert_null(r->error);
    assert_true(r->duplicate);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    ep.meta = meta(0);
    refused("ErasePerson", &ep.base, ATB__V1__ERROR_CODE__NOT_FOUND, "person_key");

    /* Gone: the identity, the address, the duty's text. */
    Atb__V1__GetPerson gp = ATB__V1__GET_PERSON__INIT;
    gp.person_key = a;
    Atb__V1__PersonView *pv = (Atb__V1__PersonView *)sk_call("qry", TENANT, "intake", "GetPerson", &gp.base,
                                                             &atb__v1__person_view__descriptor);
    assert_non_null(pv->error);
    assert_int_equal(pv->error->code, ATB__V1__ERROR_CODE__NOT_FOUND);
    protobuf_c_message_free_unpacked(&pv->base, NULL);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM intake.identities WHERE given_name = 'Zigrīda' OR "
                                "family_name = 'Krūmiņa'"), 0);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM intake.notes WHERE text LIKE '%%Cietokšņa%%' OR "
                                "text LIKE '%%Zigrīda%%'"), 0);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM intake.notes WHERE erased_at IS NOT NULL"), 2);
    /* The log: the same events, byte for byte, and one more that says it happened. */
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events"), events + 1);
    char after[4096];
    sk_sql_text(after, sizeof after, "SELECT md5(string_agg(payload::text, ',' ORDER BY position)) FROM atb.events "
                                     "WHERE position <= (SELECT max(position) FROM atb.events WHERE type <> "
                                     "'PersonErased')");
    assert_string_equal(before, after);
    /* Means testing still proves its decision from the log alone. */
    Atb__V1__ReplayDecision rd = ATB__V1__REPLAY_DECISION__INIT;
    rd.application_id = app;
    Atb__V1__ReplayReply *rr = (Atb__V1__ReplayReply *)sk_call("qry", TENANT, "means", "ReplayDecision", &rd.base,
                                                               &atb__v1__replay_reply__descriptor);
    assert_null(rr->error);
    assert_true(rr->proven);
    protobuf_c_message_free_unpacked(&rr->base, NULL);
    /* The household still folds; the member has no name any more. */
    Atb__V1__HouseholdView *v = household(hh, D(2019, 3, 1), 0);
    assert_int_equal(v->n_members, 1);
    assert_string_equal(v->members[0]->given_name, "");
    protobuf_c_message_free_unpacked(&v->base, NULL);
}

static int setup(void **state)
{
    (void)state;
    return sk_group_setup(TENANT);
}

static int teardown(void **state)
{
    (void)state;
    return sk_group_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_daugavpils_case_from_first_contact_to_decision),
        cmocka_unit_test(every_refusal_names_the_field_and_appends_nothing),
        cmocka_unit_test(two_workers_editing_one_household_one_wins_the_other_retries),
        cmocka_unit_test(appeals_duties_corrections_and_withdrawal),
        cmocka_unit_test(an_application_means_cannot_decide_is_returned_with_the_reason),
        cmocka_unit_test(erasure_blanks_identity_and_notes_and_decisions_still_replay),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
