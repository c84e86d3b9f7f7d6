/*
 * test_intake_idempotent.c -- every state-changing intake command sent twice with the same
 * command id answers the same reply and appends nothing the second time, also when the
 * first try (or what followed it) changed the state the command checks: a completed
 * application, a household its members are now in, a decided appeal, a decision made.
 * docs/cli.md promises "repeating with --command-id is always safe", and the bus resends
 * a request that got no answer.
 *
 * The table below runs in order; each row builds its message from the keys the rows
 * before it made (in `ctx`) and may change the state between the two tries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "at_uuid.h"
#include "skeleton.h"
#include "atb/v1/intake.pb-c.h"

#define TENANT "daugavpils"
#define WORKER "user:ilze.ozola"

static Atb__V1__Date D(int y, int m, int d)
{
    Atb__V1__Date x = ATB__V1__DATE__INIT;
    x.year = y;
    x.month = m;
    x.day = d;
    return x;
}

static Atb__V1__CommandMeta *meta(void)
{
    static Atb__V1__CommandMeta m[64];
    static char ids[64][37];
    static int next;
    int i = next++ % 64;
    atb__v1__command_meta__init(&m[i]);
    at_uuid_v4(ids[i]);
    m[i].command_id = ids[i];
    m[i].actor = WORKER;
    return &m[i];
}

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

/* Events a command could have appended; means testing and intake's own consumer append
 * in the background (decisions, ApplicationDecided) and are left out. */
static int64_t log_count(void)
{
    return sk_sql_int("SELECT count(*) FROM atb.events WHERE category NOT IN ('decision', 'ruleset') "
                      "AND type <> 'ApplicationDecided'");
}

/* ---- the scenario the rows share ---- */

static struct {
    char a[37], b[37], c[37], d[37];                /* persons; d is registered by a row */
    char hh[37], app[37], app2[37], app3[37];      /* app is decided on the way */
    char visit[37], agr[37], appeal[37], cs[37];
    char code[32];
} ctx;

/* Messages live here so a row's message outlives its builder. */
static Atb__V1__Date d_2015, d_2018, d_2019_1, d_recv, d_decl, d_decision, d_month, d_filed, d_ruled;
static Atb__V1__MemberIn mi_a, mi_b, mi_c, *members[2];
static Atb__V1__PersonFact fact;
static Atb__V1__Ask ask, *asks[1];
static Atb__V1__MonthlyIncome inc, *incomes[1];
static Atb__V1__Duty duty, *duties[1];
static char *missing[1] = {"income_statement"};

static void person(const char *given, char key[37])
{
    static int n;
    Atb__V1__Date birth = D(1980, 1, 1);
    char code[32];
    snprintf(code, sizeof code, "33%04d-%05d", (int)(getpid() % 10000), ++n);
    Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
    rp.meta = meta();
    rp.personal_code = code;
    rp.given_name = (char *)given;
    rp.family_name = "Liepa";
    rp.birth_date = &birth;
    rp.sex = ATB__V1__SEX__FEMALE;
    ok("RegisterPerson", &rp.base, key);
}

static void submit(char app[37], bool declare)
{
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    sa.meta = meta();
    sa.applicant = ctx.a;
    sa.household_key = ctx.hh;
    sa.n_asks = 1;
    sa.asks = asks;
    sa.received = &d_recv;
    sa.channel = ATB__V1__CHANNEL__CHANNEL_OFFICE;
    sa.social_worker = WORKER;
    ok("SubmitApplication", &sa.base, app);
    if (!declare)
        return;
    Atb__V1__SubmitDeclaration sd = ATB__V1__SUBMIT_DECLARATION__INIT;
    sd.meta = meta();
    sd.application_id = app;
    sd.n_incomes = 1;
    sd.incomes = incomes;
    sd.declared_on = &d_decl;
    ok("SubmitDeclaration", &sd.base, NULL);
}

/* ---- builders: one per state-changing command ---- */

static ProtobufCMessage *b_register(void)
{
    static Atb__V1__RegisterPerson m;
    atb__v1__register_person__init(&m);
    snprintf(ctx.code, sizeof ctx.code, "34%04d-00001", (int)(getpid() % 10000));
    m.personal_code = ctx.code;
    m.given_name = "Dace";
    m.family_name = "Zariņa";
    m.birth_date = &d_2015;
    m.sex = ATB__V1__SEX__FEMALE;
    return &m.base;
}

static ProtobufCMessage *b_fact(void)
{
    static Atb__V1__RecordPersonFact m;
    atb__v1__record_person_fact__init(&m);
    atb__v1__person_fact__init(&fact);
    fact.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_FLAG;
    fact.flag = "lonely";
    fact.from = &d_2018;
    m.person_key = ctx.a;
    m.fact = &fact;
    return &m.base;
}

static ProtobufCMessage *b_correct(void)
{
    static Atb__V1__CorrectPerson m;
    atb__v1__correct_person__init(&m);
    m.person_key = ctx.a;
    m.family_name = "Liepa-Ozola";
    m.reason = "the passport says so";
    return &m.base;
}

static ProtobufCMessage *b_erase(void)
{
    static Atb__V1__ErasePerson m;
    atb__v1__erase_person__init(&m);
    m.person_key = ctx.d;
    m.basis = "data_subject_request";
    return &m.base;
}

static ProtobufCMessage *b_household(void)
{
    static Atb__V1__CreateHousehold m;
    atb__v1__create_household__init(&m);
    atb__v1__member_in__init(&mi_a);
    mi_a.person_key = ctx.a;
    mi_a.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
    mi_a.joined = &d_2015;
    mi_b = mi_a;
    mi_b.person_key = ctx.b;
    mi_b.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE;
    members[0] = &mi_a;
    members[1] = &mi_b;
    m.n_members = 2;
    m.members = members;
    return &m.base;
}

static ProtobufCMessage *b_add(void)
{
    static Atb__V1__AddHouseholdMember m;
    atb__v1__add_household_member__init(&m);
    atb__v1__member_in__init(&mi_c);
    mi_c.person_key = ctx.c;
    mi_c.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
    mi_c.joined = &d_2015;
    m.household_key = ctx.hh;
    m.member = &mi_c;
    return &m.base;
}

static ProtobufCMessage *b_remove(void)
{
    static Atb__V1__RemoveHouseholdMember m;
    atb__v1__remove_household_member__init(&m);
    m.household_key = ctx.hh;
    m.person_key = ctx.c;
    m.left = &d_2019_1;
    return &m.base;
}

static ProtobufCMessage *b_submit(void)
{
    static Atb__V1__SubmitApplication m;
    atb__v1__submit_application__init(&m);
    m.applicant = ctx.a;
    m.household_key = ctx.hh;
    m.n_asks = 1;
    m.asks = asks;
    m.received = &d_recv;
    m.channel = ATB__V1__CHANNEL__CHANNEL_OFFICE;
    m.social_worker = WORKER;
    return &m.base;
}

static ProtobufCMessage *b_declare(void)
{
    static Atb__V1__SubmitDeclaration m;
    atb__v1__submit_declaration__init(&m);
    m.application_id = ctx.app;
    m.n_incomes = 1;
    m.incomes = incomes;
    m.declared_on = &d_decl;
    return &m.base;
}

/* Between the two declarations: the application is completed and means testing decides. */
static void complete_and_decide(void)
{
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    ca.meta = meta();
    ca.application_id = ctx.app;
    ca.decision_date = &d_decision;
    ok("CompleteApplication", &ca.base, NULL);
    assert_int_equal(sk_wait_sql(1, 30000, "SELECT count(*) FROM atb.events WHERE stream_id = 'application-%s' AND "
                                           "type = 'ApplicationDecided'", ctx.app), 1);
}

static ProtobufCMessage *b_incomplete(void)
{
    static Atb__V1__MarkApplicationIncomplete m;
    atb__v1__mark_application_incomplete__init(&m);
    submit(ctx.app3, false);
    m.application_id = ctx.app3;
    m.n_missing = 1;
    m.missing = missing;
    m.on = &d_decl;
    return &m.base;
}

static ProtobufCMessage *b_withdraw(void)
{
    static Atb__V1__WithdrawApplication m;
    atb__v1__withdraw_application__init(&m);
    m.application_id = ctx.app3;
    m.on = &d_decl;
    m.reason = "found work";
    return &m.base;
}

static ProtobufCMessage *b_complete(void)
{
    static Atb__V1__CompleteApplication m;
    atb__v1__complete_application__init(&m);
    submit(ctx.app2, true);
    m.application_id = ctx.app2;
    m.decision_date = &d_decision;
    return &m.base;
}

static ProtobufCMessage *b_visit(void)
{
    static Atb__V1__RecordHomeVisit m;
    atb__v1__record_home_visit__init(&m);
    m.household_key = ctx.hh;
    m.visited_on = &d_decl;
    m.findings = "All in order.";
    m.social_worker = WORKER;
    return &m.base;
}

static ProtobufCMessage *b_agreement(void)
{
    static Atb__V1__MakeAgreement m;
    atb__v1__make_agreement__init(&m);
    atb__v1__duty__init(&duty);
    duty.kind = "seek_work";
    duty.due = &d_filed;
    duties[0] = &duty;
    m.person_key = ctx.b;
    m.signed_on = &d_decl;
    m.n_duties = 1;
    m.duties = duties;
    return &m.base;
}

static ProtobufCMessage *b_outcome(void)
{
    static Atb__V1__RecordDutyOutcome m;
    atb__v1__record_duty_outcome__init(&m);
    m.agreement_key = ctx.agr;
    m.duty = 1;
    m.fulfilled = true;
    m.on = &d_filed;
    return &m.base;
}

static ProtobufCMessage *b_appeal(void)
{
    static Atb__V1__FileAppeal m;
    atb__v1__file_appeal__init(&m);
    m.application_id = ctx.app;
    m.ask_index = 1;
    m.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL;
    m.filed_on = &d_filed;
    m.grounds = "a one-off payment";
    return &m.base;
}

static ProtobufCMessage *b_decide(void)
{
    static Atb__V1__DecideAppeal m;
    atb__v1__decide_appeal__init(&m);
    m.appeal_key = ctx.appeal;
    m.outcome = ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_UPHELD;
    m.decided_on = &d_ruled;
    m.reference = "council decision 12/2019";
    return &m.base;
}

static ProtobufCMessage *b_receipts(void)
{
    static Atb__V1__RecordReceipts m;
    atb__v1__record_receipts__init(&m);
    m.application_id = ctx.app;
    m.submitted_on = &d_ruled;
    return &m.base;
}

static ProtobufCMessage *b_case(void)
{
    static Atb__V1__OpenCase m;
    atb__v1__open_case__init(&m);
    m.person_key = ctx.a;
    m.household_key = ctx.hh;
    m.sector = "social_assistance";
    m.social_worker = WORKER;
    m.opened_on = &d_recv;
    return &m.base;
}

static ProtobufCMessage *b_activity(void)
{
    static Atb__V1__LogActivity m;
    atb__v1__log_activity__init(&m);
    m.case_key = ctx.cs;
    m.kind = "consultation";
    m.on = &d_recv;
    m.text = "Explained the duties";
    return &m.base;
}

static ProtobufCMessage *b_change_case(void)
{
    static Atb__V1__ChangeCase m;
    atb__v1__change_case__init(&m);
    m.case_key = ctx.cs;
    m.active = 2;
    m.on = &d_ruled;
    m.reason = "the family moved";
    return &m.base;
}

/* ---- the table ---- */

typedef struct row {
    const char *name;
    ProtobufCMessage *(*build)(void);
    char *key;                    /* where the first reply's key goes (NULL: not kept) */
    void (*between)(void);        /* changes the state between the tries (NULL: the first try did) */
} row;

static const row rows[] = {
    {"RegisterPerson", b_register, ctx.d, NULL},
    {"RecordPersonFact", b_fact, NULL, NULL},
    {"CorrectPerson", b_correct, NULL, NULL},
    {"ErasePerson", b_erase, NULL, NULL},
    {"CreateHousehold", b_household, ctx.hh, NULL},
    {"AddHouseholdMember", b_add, NULL, NULL},
    {"RemoveHouseholdMember", b_remove, NULL, NULL},
    {"SubmitApplication", b_submit, ctx.app, NULL},
    {"SubmitDeclaration", b_declare, NULL, complete_and_decide},
    {"MarkApplicationIncomplete", b_incomplete, NULL, NULL},
    {"WithdrawApplication", b_withdraw, NULL, NULL},
    {"CompleteApplication", b_complete, NULL, NULL},
    {"RecordHomeVisit", b_visit, ctx.visit, NULL},
    {"MakeAgreement", b_agreement, ctx.agr, NULL},
    {"RecordDutyOutcome", b_outcome, NULL, NULL},
    {"FileAppeal", b_appeal, ctx.appeal, NULL},
    {"DecideAppeal", b_decide, NULL, NULL},
    {"RecordReceipts", b_receipts, NULL, NULL},
    {"OpenCase", b_case, ctx.cs, NULL},
    {"LogActivity", b_activity, NULL, NULL},
    {"ChangeCase", b_change_case, NULL, NULL},
};

/* The fields of the message's CommandMeta (field 1 of every command). */
static void set_meta(ProtobufCMessage *m, Atb__V1__CommandMeta *meta_)
{
    *(Atb__V1__CommandMeta **)((char *)m + m->descriptor->fields[0].offset) = meta_;
}

static void every_command_repeated_answers_its_first_result(void **state)
{
    (void)state;
    person("Ilze", ctx.a);
    person("Pēteris", ctx.b);
    person("Roberts", ctx.c);
    int covered = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        ProtobufCMessage *m = r->build();
        assert_string_equal(m->descriptor->fields[0].name, "meta");
        Atb__V1__CommandMeta *first_meta = meta();
        set_meta(m, first_meta);
        Atb__V1__CommandReply *first = cmd(r->name, m);
        if (first->error)
            fail_msg("%s refused the first time: %s (%s) field %s", r->name, first->error->message,
                     first->error->detail, first->error->field);
        assert_false(first->duplicate);
        if (r->key)
            snprintf(r->key, 37, "%s", first->key);
        if (r->between)
            r->between();
        int64_t before = log_count();
        Atb__V1__CommandReply *again = cmd(r->name, m);   /* the same command id */
        if (again->error)
            fail_msg("%s repeated was refused: %s (%s) field %s", r->name, again->error->message,
                     again->error->detail, again->error->field);
        assert_true(again->duplicate);
        assert_string_equal(again->stream_id, first->stream_id);
        assert_string_equal(again->key, first->key);
        assert_int_equal(again->version, first->version);
        assert_int_equal(again->first_position, first->first_position);
        assert_int_equal(again->last_position, first->last_position);
        assert_int_equal(log_count(), before);
        assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE command_id = '%s'",
                                    first_meta->command_id),
                         first->last_position - first->first_position + 1);
        protobuf_c_message_free_unpacked(&first->base, NULL);
        protobuf_c_message_free_unpacked(&again->base, NULL);
        covered++;
    }
    /* Every state-changing command of intake is in the table. */
    assert_int_equal(covered, 21);
}

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    d_2015 = D(2015, 1, 1);
    d_2018 = D(2018, 1, 1);
    d_2019_1 = D(2019, 1, 1);
    d_recv = D(2019, 3, 4);
    d_decl = D(2019, 3, 5);
    d_decision = D(2019, 3, 11);
    d_month = D(2019, 2, 1);
    d_filed = D(2019, 3, 20);
    d_ruled = D(2019, 4, 10);
    atb__v1__ask__init(&ask);
    ask.kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    asks[0] = &ask;
    atb__v1__monthly_income__init(&inc);
    inc.member = ctx.a;
    inc.type = "wage";
    inc.month = &d_month;
    inc.amount_cents = 9000;
    incomes[0] = &inc;
    if (sk_start() != 0 || sk_start_means() != 0)
        return -1;
    sk_wait_ready();
    if (sk_wait_sql(1, 30000, "SELECT least(count(*), 1) FROM atb.events WHERE stream_id = 'ruleset-daugavpils'") != 1)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int bad = sk_stop_services();
    if (bad)
        fprintf(stderr, "%d service(s) did not exit cleanly\n", bad);
    sk_teardown();
    return bad ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_command_repeated_answers_its_first_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
