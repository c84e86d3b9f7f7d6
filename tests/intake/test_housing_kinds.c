/*
 * test_housing_kinds.c -- housing expenses by kind from intake's declaration to a real
 * decision (docs/rules.md §9.2): atbalsts-intake, -relay and -means on a fresh database. A
 * single pensioner in Kandava, 2024, declares rent, heat and the real estate tax by kind;
 * means testing decides the housing benefit with the kinds the rule set counts (the tax is
 * not one), and a declaration with a kind the rule set does not know comes back to the
 * caseworker with that reason. Intake itself refuses a kind listed twice and a total that is
 * not the sum of the kinds.
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
#include "atb/v1/means.pb-c.h"

#define TENANT "kandava"
#define WORKER "user:ilze.ozola"

static Atb__V1__CommandReply *cmd(const char *name, const ProtobufCMessage *msg)
{
    return (Atb__V1__CommandReply *)sk_call("cmd", TENANT, "intake", name, msg, &atb__v1__command_reply__descriptor);
}

static void ok(const char *name, const ProtobufCMessage *msg, char key[37])
{
    Atb__V1__CommandReply *r = cmd(name, msg);
    if (r->error)
        fail_msg("%s refused: %s (%s) field %s", name, r->error->message, r->error->detail, r->error->field);
    if (key)
        snprintf(key, 37, "%s", r->key);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void refused(const char *name, const ProtobufCMessage *msg, const char *field, const char *words)
{
    int64_t before = sk_sql_int("SELECT count(*) FROM atb.events WHERE category = 'application'");
    Atb__V1__CommandReply *r = cmd(name, msg);
    if (!r->error)
        fail_msg("%s was accepted; expected a refusal on %s", name, field);
    if (r->error->code != ATB__V1__ERROR_CODE__VALIDATION || strcmp(r->error->field, field) != 0 ||
        !strstr(r->error->message, words))
        fail_msg("%s: got \"%s\" on %s", name, r->error->message, r->error->field);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE category = 'application'"), before);
}

/* A single pensioner (born 1950) living in Kandava since 2015, alone in a household. */
static void pensioner_alone(char person[37], char hh[37])
{
    static int n;
    char code[32];
    snprintf(code, sizeof code, "32%04d-%05d", (int)(getpid() % 10000), ++n);
    Atb__V1__Date birth = sk_date(1950, 5, 5), since = sk_date(2015, 1, 1);
    Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
    rp.meta = sk_meta(WORKER);
    rp.personal_code = code;
    rp.given_name = "Anna";
    rp.family_name = "Kalniņa";
    rp.birth_date = &birth;
    rp.sex = ATB__V1__SEX__FEMALE;
    ok("RegisterPerson", &rp.base, person);
    Atb__V1__PersonFact f = ATB__V1__PERSON_FACT__INIT;
    f.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE;
    f.from = &since;
    f.municipality = TENANT;
    Atb__V1__RecordPersonFact rf = ATB__V1__RECORD_PERSON_FACT__INIT;
    rf.meta = sk_meta(WORKER);
    rf.person_key = person;
    rf.fact = &f;
    rf.address = "Kandava, Lielā iela 1";
    ok("RecordPersonFact", &rf.base, NULL);
    Atb__V1__MemberIn a = ATB__V1__MEMBER_IN__INIT;
    a.person_key = person;
    a.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
    a.joined = &since;
    Atb__V1__MemberIn *members[1] = {&a};
    Atb__V1__CreateHousehold c = ATB__V1__CREATE_HOUSEHOLD__INIT;
    c.meta = sk_meta(WORKER);
    c.n_members = 1;
    c.members = members;
    ok("CreateHousehold", &c.base, hh);
}

/* Needy status and the housing benefit asked on 2024-03-04, 300.00 of pension in each of
 * the three months before. The declaration is left to the caller. */
static void apply(const char *person, const char *hh, char app[37])
{
    Atb__V1__Ask a1 = ATB__V1__ASK__INIT, a2 = ATB__V1__ASK__INIT;
    a1.kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    a2.kind = ATB__V1__ASK_KIND__ASK_KIND_HOUSING;
    Atb__V1__Ask *asks[2] = {&a1, &a2};
    Atb__V1__Date received = sk_date(2024, 3, 4);
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = sk_meta(WORKER);
    sa.applicant = (char *)person;
    sa.household_key = (char *)hh;
    sa.n_asks = 2;
    sa.asks = asks;
    sa.received = &received;
    sa.channel = ATB__V1__CHANNEL__CHANNEL_OFFICE;
    sa.social_worker = WORKER;
    ok("SubmitApplication", &sa.base, app);
}

typedef struct decl {
    Atb__V1__SubmitDeclaration sd;
    Atb__V1__MonthlyIncome in[3];
    Atb__V1__MonthlyIncome *ip[3];
    Atb__V1__Date month[3], declared;
    Atb__V1__HousingExpense x[4];
    Atb__V1__HousingExpense *xp[4];
} decl;

static void decl_init(decl *d, const char *app, const char *person)
{
    memset(d, 0, sizeof *d);
    atb__v1__submit_declaration__init(&d->sd);
    d->sd.meta = sk_meta(WORKER);
    d->sd.application_id = (char *)app;
    static const int ym[3][2] = {{2023, 12}, {2024, 1}, {2024, 2}};
    for (int i = 0; i < 3; i++) {
        atb__v1__monthly_income__init(&d->in[i]);
        d->month[i] = sk_date(ym[i][0], ym[i][1], 1);
        d->in[i].member = (char *)person;
        d->in[i].type = "pension";
        d->in[i].month = &d->month[i];
        d->in[i].amount_cents = 30000;
        d->ip[i] = &d->in[i];
    }
    d->sd.incomes = d->ip;
    d->sd.n_incomes = 3;
    d->declared = sk_date(2024, 3, 4);
    d->sd.declared_on = &d->declared;
}

static void decl_expense(decl *d, const char *kind, int64_t cents)
{
    size_t i = d->sd.n_housing_expenses++;
    atb__v1__housing_expense__init(&d->x[i]);
    d->x[i].kind = (char *)kind;
    d->x[i].amount_cents = cents;
    d->xp[i] = &d->x[i];
    d->sd.housing_expenses = d->xp;
}

static void complete(const char *app)
{
    Atb__V1__Date on = sk_date(2024, 3, 11);
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    ca.meta = sk_meta(WORKER);
    ca.application_id = (char *)app;
    ca.decision_date = &on;
    ok("CompleteApplication", &ca.base, NULL);
}

static ProtobufCMessage *event_of(const char *stream, const char *type, const ProtobufCMessageDescriptor *d)
{
    static char hex[1 << 18];
    sk_sql_text(hex, sizeof hex,
                "SELECT encode(payload, 'hex') FROM atb.events WHERE stream_id = '%s' AND type = '%s' "
                "ORDER BY version DESC LIMIT 1", stream, type);
    size_t n = strlen(hex) / 2;
    uint8_t *bytes = malloc(n + 1);
    assert_non_null(bytes);
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

static void expenses_by_kind_reach_the_housing_benefit(void **state)
{
    (void)state;
    char person[37], hh[37], app[37];
    pensioner_alone(person, hh);
    apply(person, hh, app);
    decl d;
    decl_init(&d, app, person);
    decl_expense(&d, "rent", 6000);
    decl_expense(&d, "heat", 4500);
    decl_expense(&d, "property_tax", 2000);

    /* intake's own checks: a kind twice, a total that is not the sum */
    decl_expense(&d, "heat", 100);
    refused("SubmitDeclaration", &d.sd.base, "housing_expenses.4.kind", "listed twice");
    d.sd.n_housing_expenses = 3;
    d.sd.meta = sk_meta(WORKER);
    d.sd.housing_expenses_cents = 12000;
    refused("SubmitDeclaration", &d.sd.base, "housing_expenses_cents", "not the sum");
    d.sd.meta = sk_meta(WORKER);
    d.sd.housing_expenses_cents = 0;   /* 0: the sum, 125.00 */
    ok("SubmitDeclaration", &d.sd.base, NULL);
    char stream[64];
    snprintf(stream, sizeof stream, "application-%s", app);
    Atb__V1__DeclarationSubmitted *ds = (Atb__V1__DeclarationSubmitted *)event_of(
        stream, "DeclarationSubmitted", &atb__v1__declaration_submitted__descriptor);
    assert_int_equal(ds->housing_expenses_cents, 12500);
    assert_int_equal(ds->n_housing_expenses, 3);
    protobuf_c_message_free_unpacked(&ds->base, NULL);

    complete(app);
    assert_int_equal(sk_wait_sql(1, 30000, "SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s' AND "
                                           "type = 'BenefitGranted'", app), 1);
    snprintf(stream, sizeof stream, "decision-%s", app);
    Atb__V1__BenefitGranted *bg =
        (Atb__V1__BenefitGranted *)event_of(stream, "BenefitGranted", &atb__v1__benefit_granted__descriptor);
    const Atb__V1__Decision *dec = bg->decision;
    assert_string_equal(dec->result->benefit, "HOUSING");
    /* the kinds are in the recorded input, so the replay has them */
    assert_int_equal(dec->input->household->n_housing_expenses, 3);
    assert_int_equal(dec->input->household->housing_expenses_cents, 12500);
    /* 2.5 x 137.00 + (60.00 + 45.00; the real estate tax does not count) - 300.00 = 147.50,
       not the 167.50 the total would give */
    assert_int_equal(dec->result->amount_cents, 14750);
    protobuf_c_message_free_unpacked(&bg->base, NULL);

    Atb__V1__ReplayDecision rd = ATB__V1__REPLAY_DECISION__INIT;
    rd.application_id = app;
    Atb__V1__ReplayReply *rr = (Atb__V1__ReplayReply *)sk_call("qry", TENANT, "means", "ReplayDecision", &rd.base,
                                                               &atb__v1__replay_reply__descriptor);
    assert_true(rr->proven);
    protobuf_c_message_free_unpacked(&rr->base, NULL);
}

static void an_unknown_kind_comes_back_to_the_caseworker(void **state)
{
    (void)state;
    char person[37], hh[37], app[37];
    pensioner_alone(person, hh);
    apply(person, hh, app);
    decl d;
    decl_init(&d, app, person);
    decl_expense(&d, "rent", 6000);
    decl_expense(&d, "yacht_berth", 9000);
    ok("SubmitDeclaration", &d.sd.base, NULL);
    complete(app);
    assert_int_equal(sk_wait_sql(1, 30000, "SELECT count(*) FROM atb.events WHERE stream_id = 'application-%s' AND "
                                           "type = 'ApplicationReturned'", app), 1);
    char msg[512];
    sk_sql_text(msg, sizeof msg, "SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s'", app);
    assert_string_equal(msg, "0");
    Atb__V1__GetApplication q = ATB__V1__GET_APPLICATION__INIT;
    q.application_id = app;
    Atb__V1__ApplicationView *v = (Atb__V1__ApplicationView *)sk_call(
        "qry", TENANT, "intake", "GetApplication", &q.base, &atb__v1__application_view__descriptor);
    assert_non_null(v->returned);
    assert_int_equal(v->returned->code, ATB__V1__ERROR_CODE__VALIDATION);
    if (!strstr(v->returned->message, "yacht_berth"))
        fail_msg("returned: %s", v->returned->message);
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
        cmocka_unit_test(expenses_by_kind_reach_the_housing_benefit),
        cmocka_unit_test(an_unknown_kind_comes_back_to_the_caseworker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
