/*
 * test_files.c -- services/cli/cli_files.c: the application file (with its declaration),
 * the declaration file, and the prompts that build the same JSON. No servers. The full
 * example of docs/cli.md is read from the source tree, so the manual cannot drift from
 * what the command line accepts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_date.h"
#include "cli.h"

#define APPLICANT "8fe2b937-1ac3-4df2-b201-50805cbea8c7"
#define CHILD "0c4e1c56-3e0a-4c36-9d4b-2a8f1f7b9e21"
#define HOUSEHOLD "5b1f9a4e-7c2d-4e8b-a3f6-9d0c1e2b3a47"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("test JSON does not parse: %s: %s", e.text, text);
    return j;
}

static void free_both(Atb__V1__SubmitApplication *a, Atb__V1__SubmitDeclaration *d)
{
    protobuf_c_message_free_unpacked((ProtobufCMessage *)a, NULL);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)d, NULL);
}

static void an_application_with_its_declaration_becomes_two_commands(void **state)
{
    (void)state;
    json_t *j = J("{\"applicant\": \"" APPLICANT "\", \"household\": \"" HOUSEHOLD "\","
                  " \"received\": \"2024-05-02\", \"channel\": \"office\", \"social_worker\": \"user:ilze.ozola\","
                  " \"asks\": [{\"kind\": \"needy_status\"}, {\"kind\": \"gmi\"},"
                  "   {\"kind\": \"benefit\", \"benefit\": \"HEATING\", \"heating\": \"district\","
                  "    \"bill\": {\"amount\": \"45.12\", \"issued\": \"2024-03-15\"}}],"
                  " \"declaration\": {\"incomes\": [{\"member\": \"" APPLICANT "\", \"type\": \"wage\","
                  "   \"month\": \"2024-04\", \"amount\": \"450.00\"}],"
                  "   \"savings_cents\": 0, \"housing_expenses\": \"120\", \"declared_on\": \"2024-05-02\"}}");
    Atb__V1__SubmitApplication *a = NULL;
    Atb__V1__SubmitDeclaration *d = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(cli_application_from_json(j, &a, &d, &err), AT_OK);
    json_decref(j);
    assert_non_null(a);
    assert_null(a->meta);
    assert_string_equal(a->applicant, APPLICANT);
    assert_string_equal(a->household_key, HOUSEHOLD);
    assert_int_equal(a->received->year, 2024);
    assert_int_equal(a->channel, ATB__V1__CHANNEL__CHANNEL_OFFICE);
    assert_string_equal(a->social_worker, "user:ilze.ozola");
    assert_int_equal(a->n_asks, 3);
    assert_int_equal(a->asks[0]->kind, ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS);
    assert_int_equal(a->asks[1]->kind, ATB__V1__ASK_KIND__ASK_KIND_GMI);
    assert_int_equal(a->asks[2]->kind, ATB__V1__ASK_KIND__ASK_KIND_BENEFIT);
    assert_int_equal(a->asks[2]->heating, ATB__V1__HEATING__HEATING_DISTRICT);
    assert_int_equal(a->asks[2]->bill->amount_cents, 4512);
    assert_int_equal(a->asks[2]->bill->issued->day, 15);
    assert_non_null(d);
    assert_null(d->meta);
    assert_string_equal(d->application_id, "");
    assert_int_equal(d->n_incomes, 1);
    assert_int_equal(d->incomes[0]->amount_cents, 45000);
    assert_int_equal(d->incomes[0]->month->month, 4);
    assert_int_equal(d->incomes[0]->month->day, 1);
    assert_int_equal(d->housing_expenses_cents, 12000);
    assert_int_equal(d->declared_on->day, 2);
    free_both(a, d);

    /* without a declaration: the application alone */
    j = J("{\"applicant\": \"" APPLICANT "\", \"household_key\": \"" HOUSEHOLD "\", \"declaration\": null}");
    assert_int_equal(cli_application_from_json(j, &a, &d, &err), AT_OK);
    json_decref(j);
    assert_string_equal(a->household_key, HOUSEHOLD);
    assert_null(d);
    free_both(a, d);
}

static void the_file_cannot_set_what_the_command_line_sets(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field, *message;
    } cases[] = {
        {"{\"meta\": {\"command_id\": \"x\"}}", "meta", "meta cannot be given in the file"},
        {"{\"household\": \"a\", \"household_key\": \"b\"}", "household",
         "household is given twice, as household and household_key"},
        {"{\"household\": 7}", "household", "household must be a household key string"},
        {"{\"declaration\": {\"application_id\": \"x\"}}", "declaration.application_id",
         "declaration.application_id cannot be given in the file"},
        {"{\"declaration\": {\"incomes\": [{\"amount_cents\": 1.5}]}}", "declaration.incomes.0.amount_cents", NULL},
        {"{\"asks\": [{\"kind\": \"needy\"}]}", "asks.0.kind", "unknown asks.0.kind \"needy\""},
        {"{\"recieved\": \"2024-05-02\"}", "recieved", "unknown field \"recieved\""},
        {"[]", "", "the application file must hold one JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = J(cases[i].json);
        Atb__V1__SubmitApplication *a = (void *)1;
        Atb__V1__SubmitDeclaration *d = (void *)1;
        at_error err;
        at_error_clear(&err);
        assert_int_equal(cli_application_from_json(j, &a, &d, &err), AT_VALIDATION);
        json_decref(j);
        assert_null(a);
        assert_null(d);
        assert_string_equal(err.field, cases[i].field);
        if (cases[i].message)
            assert_string_equal(err.message, cases[i].message);
    }
    json_t *j = J("{\"meta\": null}");
    Atb__V1__SubmitDeclaration *d = NULL;
    at_error err;
    assert_int_equal(cli_declaration_from_json(j, "", &d, &err), AT_VALIDATION);
    assert_string_equal(err.field, "meta");
    json_decref(j);
}

/* "housing_expenses" is the list by kind, or (a string) the total in euros as before */
static void housing_expenses_by_kind_or_as_a_total(void **state)
{
    (void)state;
    json_t *j = J("{\"housing_expenses\": [{\"kind\": \"heat\", \"amount\": \"45.00\"},"
                  " {\"kind\": \"rent\", \"amount_cents\": 6000}], \"declared_on\": \"2024-05-02\"}");
    Atb__V1__SubmitDeclaration *d = NULL;
    at_error err;
    at_error_clear(&err);
    if (cli_declaration_from_json(j, "", &d, &err) != AT_OK)
        fail_msg("%s (%s)", err.message, err.field);
    json_decref(j);
    assert_int_equal(d->n_housing_expenses, 2);
    assert_string_equal(d->housing_expenses[0]->kind, "heat");
    assert_int_equal(d->housing_expenses[0]->amount_cents, 4500);
    assert_int_equal(d->housing_expenses[1]->amount_cents, 6000);
    assert_int_equal(d->housing_expenses_cents, 0);   /* intake fills in the sum */
    protobuf_c_message_free_unpacked(&d->base, NULL);

    j = J("{\"housing_expenses\": \"120.50\"}");
    assert_int_equal(cli_declaration_from_json(j, "", &d, &err), AT_OK);
    json_decref(j);
    assert_int_equal(d->housing_expenses_cents, 12050);
    assert_int_equal(d->n_housing_expenses, 0);
    protobuf_c_message_free_unpacked(&d->base, NULL);

    j = J("{\"housing_expenses\": \"120.50\", \"housing_expenses_cents\": 12050}");
    assert_int_equal(cli_declaration_from_json(j, "", &d, &err), AT_VALIDATION);
    json_decref(j);
    assert_string_equal(err.field, "housing_expenses");
    assert_non_null(strstr(err.message, "given twice"));
}

static void a_file_that_is_not_json_names_line_and_column(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/broken_XXXXXX", TEST_TMP_DIR);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\n  \"applicant\": \"x\",\n  \"asks\": [,]\n}\n", f);
    fclose(f);
    json_t *j = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(cli_json_load(path, &j, &err), AT_VALIDATION);
    assert_null(j);
    assert_non_null(strstr(err.message, "is not JSON: line 3, column"));
    remove(path);
    assert_int_equal(cli_json_load(path, &j, &err), AT_NOT_FOUND);
    assert_non_null(strstr(err.message, "could not open"));
}

/* The example of docs/cli.md between the markers, as a caseworker would copy it. */
static char *manual_example(const char *marker)
{
    FILE *f = fopen(DOCS_CLI_MD, "r");
    if (!f)
        fail_msg("cannot open %s", DOCS_CLI_MD);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char begin[128];
    snprintf(begin, sizeof begin, "<!-- %s -->\n```json\n", marker);
    char *p = strstr(text, begin);
    if (!p)
        fail_msg("docs/cli.md has no example marked %s", marker);
    p += strlen(begin);
    char *end = strstr(p, "```");
    if (!end)
        fail_msg("the example %s does not end", marker);
    *end = 0;
    return p;
}

static void the_manuals_examples_are_accepted(void **state)
{
    (void)state;
    json_t *j = J(manual_example("example: app.json"));
    Atb__V1__SubmitApplication *a = NULL;
    Atb__V1__SubmitDeclaration *d = NULL;
    at_error err;
    at_error_clear(&err);
    if (cli_application_from_json(j, &a, &d, &err) != AT_OK)
        fail_msg("app.json: %s (%s)", err.message, err.field);
    json_decref(j);
    assert_true(a->n_asks >= 2);
    assert_non_null(d);
    assert_true(d->n_incomes >= 1);
    assert_true(d->n_expenses >= 1);
    free_both(a, d);

    j = J(manual_example("example: decl.json"));
    if (cli_declaration_from_json(j, "", &d, &err) != AT_OK)
        fail_msg("decl.json: %s (%s)", err.message, err.field);
    json_decref(j);
    protobuf_c_message_free_unpacked(&d->base, NULL);

    j = J(manual_example("example: result.json"));
    ProtobufCMessage *r = cli_json_to_pb(j, &atb__v1__decision_result__descriptor, "", &err);
    if (!r)
        fail_msg("result.json: %s (%s)", err.message, err.field);
    json_decref(j);
    protobuf_c_message_free_unpacked(r, NULL);
}

/* Run the prompts on `answers`; the JSON (or NULL) and what was asked in asked[]. */
static json_t *prompt(const char *answers, char *asked, size_t n)
{
    FILE *in = fmemopen((void *)answers, strlen(answers), "r");
    FILE *out = fmemopen(asked, n, "w");
    assert_non_null(in);
    assert_non_null(out);
    at_date today;
    assert_true(at_date_from_ymd(2024, 5, 2, &today));
    json_t *j = cli_prompt_application(in, out, "user:ilze.ozola", today);
    fclose(in);
    fclose(out);
    return j;
}

static void the_prompts_build_what_the_file_would_hold(void **state)
{
    (void)state;
    static char asked[16384];
    /* Enter takes the default; a wrong answer is asked again */
    const char *answers = APPLICANT "\n"
                          "not-a-key\n" HOUSEHOLD "\n"
                          "\n"                       /* received: today */
                          "post office\n"            /* not a channel */
                          "\n"                       /* channel: office */
                          "\n"                       /* worker: the actor */
                          "\n"                       /* ask 1: needy_status */
                          "\n"                       /* for the applicant */
                          "benefit\nHEATING\n" CHILD "\n"
                          "\n"                       /* no more asks */
                          "y\n"
                          APPLICANT "\nwage\n2024-04\n450,5\n"
                          "\n"                       /* no more incomes */
                          "12.x\n100\n"              /* savings, asked again */
                          "\n"                       /* housing: 0 */
                          "heating\n45.12\nAS Daugavpils Siltums 12345\n2024-03-15\n\n"
                          "\n"                       /* no more expenses */
                          "\n"                       /* declared on: received */
                          "y\n";
    json_t *j = prompt(answers, asked, sizeof asked);
    if (!j)
        fail_msg("no application; the prompts said:\n%s", asked);
    assert_non_null(strstr(asked, "\"not-a-key\" is not a key"));
    assert_non_null(strstr(asked, "\"post office\" is not one of: office reception_point e_service post home_visit"));
    assert_non_null(strstr(asked, "\"12.x\" is not an amount in euros"));
    Atb__V1__SubmitApplication *a = NULL;
    Atb__V1__SubmitDeclaration *d = NULL;
    at_error err;
    at_error_clear(&err);
    if (cli_application_from_json(j, &a, &d, &err) != AT_OK)
        fail_msg("%s (%s)", err.message, err.field);
    json_decref(j);
    assert_string_equal(a->applicant, APPLICANT);
    assert_string_equal(a->household_key, HOUSEHOLD);
    assert_int_equal(a->received->day, 2);
    assert_int_equal(a->channel, ATB__V1__CHANNEL__CHANNEL_OFFICE);
    assert_string_equal(a->social_worker, "user:ilze.ozola");
    assert_int_equal(a->n_asks, 2);
    assert_int_equal(a->asks[0]->kind, ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS);
    assert_string_equal(a->asks[0]->subject, "");
    assert_int_equal(a->asks[1]->kind, ATB__V1__ASK_KIND__ASK_KIND_BENEFIT);
    assert_string_equal(a->asks[1]->benefit, "HEATING");
    assert_string_equal(a->asks[1]->subject, CHILD);
    assert_non_null(d);
    assert_int_equal(d->n_incomes, 1);
    assert_int_equal(d->incomes[0]->amount_cents, 45050);
    assert_int_equal(d->savings_cents, 10000);
    assert_int_equal(d->housing_expenses_cents, 0);
    assert_int_equal(d->n_expenses, 1);
    assert_int_equal(d->expenses[0]->amount_cents, 4512);
    assert_string_equal(d->expenses[0]->member, "");
    assert_int_equal(d->declared_on->day, 2);
    free_both(a, d);
}

static void the_prompts_submit_nothing_when_told_no_or_the_input_ends(void **state)
{
    (void)state;
    static char asked[16384];
    const char *no = APPLICANT "\n" HOUSEHOLD "\n\n\n\n\n\n\nn\nn\n";
    assert_null(prompt(no, asked, sizeof asked));
    assert_non_null(strstr(asked, "not submitted"));
    assert_null(strstr(asked, "\"declaration\""));   /* no declaration was asked for */
    assert_null(prompt(APPLICANT "\n", asked, sizeof asked));
    assert_non_null(strstr(asked, "stopped: nothing was submitted"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_application_with_its_declaration_becomes_two_commands),
        cmocka_unit_test(the_file_cannot_set_what_the_command_line_sets),
        cmocka_unit_test(a_file_that_is_not_json_names_line_and_column),
        cmocka_unit_test(housing_expenses_by_kind_or_as_a_total),
        cmocka_unit_test(the_manuals_examples_are_accepted),
        cmocka_unit_test(the_prompts_build_what_the_file_would_hold),
        cmocka_unit_test(the_prompts_submit_nothing_when_told_no_or_the_input_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
