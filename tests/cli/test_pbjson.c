/*
 * test_pbjson.c -- services/cli/cli_pbjson.c: JSON <-> protobuf by the descriptors, the
 * conventions of docs/cli.md ("JSON files"). No servers. Each message is also packed, so
 * a filled message is one protobuf-c can encode, and freed, so ASan sees what it holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("test JSON does not parse: %s: %s", e.text, text);
    return j;
}

/* Convert text to desc; the error (code) into err. */
static ProtobufCMessage *conv(const char *text, const ProtobufCMessageDescriptor *desc, at_error *err)
{
    json_t *j = J(text);
    at_error_clear(err);
    ProtobufCMessage *m = cli_json_to_pb(j, desc, "", err);
    json_decref(j);
    return m;
}

static void refused(const char *text, const ProtobufCMessageDescriptor *desc, const char *field,
                    const char *message)
{
    at_error err;
    ProtobufCMessage *m = conv(text, desc, &err);
    if (m)
        fail_msg("accepted: %s", text);
    assert_int_equal(err.code, AT_VALIDATION);
    assert_string_equal(err.field, field);
    if (message)
        assert_string_equal(err.message, message);
}

static void a_decision_result_reads_words_dates_and_cents(void **state)
{
    (void)state;
    at_error err;
    ProtobufCMessage *m = conv("{\"outcome\": \"granted\", \"ask\": \"gmi\", \"benefit\": \"GMI\","
                               " \"period_from\": \"2024-05-01\", \"period_to\": \"2024-07-31\","
                               " \"has_amount\": true, \"amount_cents\": 12806, \"per\": \"month\","
                               " \"payment\": \"cash-or-account\","
                               " \"reasons\": [{\"code\": \"appeal\", \"text_en\": \"changed on appeal\"}]}",
                               &atb__v1__decision_result__descriptor, &err);
    assert_non_null(m);
    Atb__V1__DecisionResult *r = (Atb__V1__DecisionResult *)m;
    assert_int_equal(r->outcome, ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED);
    assert_int_equal(r->ask, ATB__V1__ASK_KIND__ASK_KIND_GMI);
    assert_string_equal(r->benefit, "GMI");
    assert_int_equal(r->period_from->year, 2024);
    assert_int_equal(r->period_to->month, 7);
    assert_int_equal(r->period_to->day, 31);
    assert_true(r->has_amount);
    assert_int_equal(r->amount_cents, 12806);
    assert_int_equal(r->per, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH);
    assert_int_equal(r->payment, ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH_OR_ACCOUNT);
    assert_int_equal(r->n_reasons, 1);
    assert_string_equal(r->reasons[0]->code, "appeal");
    assert_string_equal(r->reasons[0]->text_lv, "");
    assert_true(protobuf_c_message_get_packed_size(m) > 0);
    protobuf_c_message_free_unpacked(m, NULL);

    /* the enum's full name is accepted too, and the euro form of amount_cents */
    m = conv("{\"outcome\": \"DECISION_OUTCOME_REFUSED\", \"amount\": \"128.06\"}",
             &atb__v1__decision_result__descriptor, &err);
    assert_non_null(m);
    r = (Atb__V1__DecisionResult *)m;
    assert_int_equal(r->outcome, ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED);
    assert_int_equal(r->amount_cents, 12806);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void mistakes_are_refused_with_the_field_path(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *sd = &atb__v1__submit_declaration__descriptor;
    refused("{\"savings\": 12}", sd, "savings", "savings must be a string of euros, not a whole number");
    refused("{\"savings_cents\": 12.5}", sd, "savings_cents",
            "savings_cents must be a whole number of cents, not a number with decimals");
    refused("{\"savings_cents\": \"12.50\"}", sd, "savings_cents", NULL);
    refused("{\"savings\": \"12.505\"}", sd, "savings", NULL);
    refused("{\"savings\": \"1.00\", \"savings_cents\": 100}", sd, "savings",
            "savings is given twice, as savings and as savings_cents");
    refused("{\"incomes\": [{\"member\": \"k\", \"month\": \"2024-04\", \"amount_cents\": 1},"
            " {\"member\": \"k\", \"monht\": \"2024-04\"}]}",
            sd, "incomes.1.monht", "unknown field \"incomes.1.monht\"");
    refused("{\"incomes\": [{\"month\": \"2024-4\"}]}", sd, "incomes.0.month",
            "incomes.0.month \"2024-4\" is not a date");
    refused("{\"expenses\": [{\"issued\": \"2024-04\"}]}", sd, "expenses.0.issued", NULL);
    refused("{\"incomes\": {\"member\": \"k\"}}", sd, "incomes", "incomes must be an array, not an object");
    refused("{\"incomes\": [\"k\"]}", sd, "incomes.0", "incomes.0 must be an object, not a string");
    refused("{\"properties\": [{\"use\": \"castle\"}]}", sd, "properties.0.use",
            "unknown properties.0.use \"castle\"");
    refused("{\"vehicles\": [{\"needed_for_disability\": 1}]}", sd, "vehicles.0.needed_for_disability",
            "vehicles.0.needed_for_disability must be true or false, not a whole number");
    refused("[1]", sd, "", NULL);
    const ProtobufCMessageDescriptor *dr = &atb__v1__decision_result__descriptor;
    refused("{\"reasons\": [{\"code\": 7}]}", dr, "reasons.0.code",
            "reasons.0.code must be a string, not a whole number");
    refused("{\"units\": \"3\"}", dr, "units", "units must be a whole number, not a string");
    /* an int32 that does not fit */
    refused("{\"ask_index\": 2147483648}", &atb__v1__file_appeal__descriptor, "ask_index",
            "ask_index 2147483648 is out of range");
    refused("{\"body\": 1}", &atb__v1__file_appeal__descriptor, "body", "body must be a word, not a whole number");
    /* bytes are not written in files */
    refused("{\"payload\": \"AA==\"}", &atb__v1__history_entry__descriptor, "payload",
            "payload cannot be given in a file");
}

static void null_means_not_given(void **state)
{
    (void)state;
    at_error err;
    ProtobufCMessage *m = conv("{\"period_from\": null, \"reasons\": null, \"benefit\": null, \"amount\": null}",
                               &atb__v1__decision_result__descriptor, &err);
    assert_non_null(m);
    Atb__V1__DecisionResult *r = (Atb__V1__DecisionResult *)m;
    assert_null(r->period_from);
    assert_int_equal(r->n_reasons, 0);
    assert_string_equal(r->benefit, "");
    assert_int_equal(r->amount_cents, 0);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void a_view_prints_as_json_with_words_and_dates(void **state)
{
    (void)state;
    Atb__V1__HouseholdView v = ATB__V1__HOUSEHOLD_VIEW__INIT;
    Atb__V1__MemberView a = ATB__V1__MEMBER_VIEW__INIT, b = ATB__V1__MEMBER_VIEW__INIT;
    Atb__V1__MemberView *members[] = {&a}, *others[] = {&b};
    Atb__V1__Date as_of = {PROTOBUF_C_MESSAGE_INIT(&atb__v1__date__descriptor), 2024, 5, 2};
    Atb__V1__Date joined = {PROTOBUF_C_MESSAGE_INIT(&atb__v1__date__descriptor), 2020, 1, 1};
    Atb__V1__Date none = ATB__V1__DATE__INIT;
    v.household_key = "h";
    v.as_of = &as_of;
    v.version = 3;
    v.members = members;
    v.n_members = 1;
    v.others = others;
    v.n_others = 1;
    a.person_key = "p1";
    a.given_name = "Anna";
    a.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
    a.sex = ATB__V1__SEX__FEMALE;
    a.joined = &joined;
    a.left = &none;
    b.person_key = "p2";
    b.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER_RELATIVE;
    json_t *j = cli_pb_to_json(&v.base);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text,
        "{\"as_of\":\"2024-05-02\",\"error\":null,\"household_key\":\"h\","
        "\"members\":[{\"birth_date\":null,\"family_name\":\"\",\"given_name\":\"Anna\",\"joined\":\"2020-01-01\","
        "\"left\":null,\"person_key\":\"p1\",\"personal_code\":\"\",\"relationship\":\"applicant\","
        "\"sex\":\"female\"}],"
        "\"others\":[{\"birth_date\":null,\"family_name\":\"\",\"given_name\":\"\",\"joined\":null,\"left\":null,"
        "\"person_key\":\"p2\",\"personal_code\":\"\",\"relationship\":\"other_relative\",\"sex\":\"unspecified\"}],"
        "\"version\":3}");
    free(text);
    json_decref(j);
}

/* A message survives JSON and back: the same protobuf bytes. */
static void json_and_back_gives_the_same_bytes(void **state)
{
    (void)state;
    at_error err;
    const char *text =
        "{\"incomes\": [{\"member\": \"8fe2b937-1ac3-4df2-b201-50805cbea8c7\", \"type\": \"wage\","
        " \"month\": \"2024-04-01\", \"amount_cents\": 45000}],"
        " \"properties\": [{\"member\": \"m\", \"use\": \"own_home\", \"cadastral_value_cents\": 1200000}],"
        " \"vehicles\": [{\"member\": \"m\", \"needed_for_disability\": true}],"
        " \"savings_cents\": 5, \"housing_expenses_cents\": 12000,"
        " \"expenses\": [{\"member\": \"\", \"kind\": \"heating\", \"amount_cents\": 4512,"
        " \"document\": \"AS Daugavpils Siltums 12345\", \"issued\": \"2024-03-15\"}],"
        " \"declared_on\": \"2024-05-02\", \"application_id\": \"a\"}";
    ProtobufCMessage *m = conv(text, &atb__v1__submit_declaration__descriptor, &err);
    assert_non_null(m);
    json_t *j = cli_pb_to_json(m);
    assert_non_null(j);
    /* meta is null in the output: null reads back as not given */
    assert_true(json_is_null(json_object_get(j, "meta")));
    ProtobufCMessage *back = cli_json_to_pb(j, &atb__v1__submit_declaration__descriptor, "", &err);
    assert_non_null(back);
    size_t n1 = protobuf_c_message_get_packed_size(m), n2 = protobuf_c_message_get_packed_size(back);
    assert_int_equal(n1, n2);
    uint8_t *b1 = malloc(n1), *b2 = malloc(n2);
    protobuf_c_message_pack(m, b1);
    protobuf_c_message_pack(back, b2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);
    json_decref(j);
    protobuf_c_message_free_unpacked(m, NULL);
    protobuf_c_message_free_unpacked(back, NULL);
}

static void enum_words_drop_the_enum_prefix(void **state)
{
    (void)state;
    assert_string_equal(cli_enum_word(&atb__v1__ask_kind__descriptor, ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS),
                        "needy_status");
    assert_string_equal(cli_enum_word(&atb__v1__channel__descriptor, ATB__V1__CHANNEL__CHANNEL_E_SERVICE),
                        "e_service");
    assert_string_equal(cli_enum_word(&atb__v1__application_status__descriptor,
                                      ATB__V1__APPLICATION_STATUS__APPLICATION_STATUS_DECIDED),
                        "decided");
    assert_string_equal(cli_enum_word(&atb__v1__person_fact_kind__descriptor,
                                      ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_CARE_LEVEL),
                        "care_level");
    assert_string_equal(cli_enum_word(&atb__v1__sex__descriptor, ATB__V1__SEX__MALE), "male");
    assert_string_equal(cli_enum_word(&atb__v1__error_code__descriptor, ATB__V1__ERROR_CODE__CONFLICT), "conflict");
    assert_string_equal(cli_enum_word(&atb__v1__channel__descriptor, 99), "");
}

static void the_history_knows_the_intake_and_decision_events(void **state)
{
    (void)state;
    assert_ptr_equal(cli_event_descriptor("ApplicationReceived"), &atb__v1__application_received__descriptor);
    assert_ptr_equal(cli_event_descriptor("BenefitGranted"), &atb__v1__benefit_granted__descriptor);
    assert_ptr_equal(cli_event_descriptor("ActivityLogged"), &atb__v1__activity_logged__descriptor);
    assert_null(cli_event_descriptor("PaymentMade"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_decision_result_reads_words_dates_and_cents),
        cmocka_unit_test(mistakes_are_refused_with_the_field_path),
        cmocka_unit_test(null_means_not_given),
        cmocka_unit_test(a_view_prints_as_json_with_words_and_dates),
        cmocka_unit_test(json_and_back_gives_the_same_bytes),
        cmocka_unit_test(enum_words_drop_the_enum_prefix),
        cmocka_unit_test(the_history_knows_the_intake_and_decision_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
