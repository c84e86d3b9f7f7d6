/*
 * test_flow.c -- the caseworker's command line driving all of intake as a social worker
 * would: the atbalsts binary as a subprocess against the real intake, means and relay
 * services (tests/intake/skeleton.c; reporting runs too), on a fresh database.
 *
 * One Daugavpils household from registration to a decided application: two persons, a
 * household the child joins later (shown as of the day before and the day), an
 * application with its declaration from a JSON file (one expense document too old), a
 * home visit, an agreement with a duty, a case, completion and the decisions, the case
 * history. JSON output is parsed with jansson, never searched; plain output is checked
 * line by line where the manual promises its shape.
 *
 * The application is of 2019: the rule sets in services/means/rulesets are in force for
 * 2016..2020, and the document limit and the decisions come from them. Other dates are
 * counted from it (incomes of the three full months before it, a document 500 days old).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "at_date.h"
#include "skeleton.h"

#define WORKER "user:ilze.ozola"

typedef struct run {
    int code;                 /* exit code; -1 when it did not exit normally */
    char out[65536];
    char err[16384];
} run;

static run r;

static void slurp(FILE *f, char *buf, size_t n)
{
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

/* Run the CLI with args (NULL-ended) and `input` on stdin (NULL: empty); fills r. */
static void cli_argv(const char *input, const char *const *args)
{
    const char *argv[64] = {CLI_PATH};
    int argc = 1;
    for (; args[argc - 1] && argc < 63; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    FILE *out = tmpfile(), *err = tmpfile(), *in = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    assert_non_null(in);
    if (input)
        fputs(input, in);
    rewind(in);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fileno(in), 0);
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        setenv("ATB_NATS_URL", t_nats_url(), 1);
        setenv("ATB_PREFIX", sk.prefix, 1);
        setenv("ATB_ACTOR", WORKER, 1);
        unsetenv("ATB_TENANT");
        execv(CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    fclose(in);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out, r.out, sizeof r.out);
    slurp(err, r.err, sizeof r.err);
    if (getenv("ATB_TEST_VERBOSE"))
        fprintf(stderr, "$ atbalsts ...%s\nexit %d\n--- stdout\n%s--- stderr\n%s", args[0], r.code, r.out, r.err);
}

#define CLI(...) cli_argv(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define CLI_IN(input, ...) cli_argv(input, (const char *const[]){__VA_ARGS__, NULL})

/* The run must have exited 0 with one JSON object on stdout; returns it. */
static json_t *ok_json(void)
{
    if (r.code != 0)
        fail_msg("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    if (!j)
        fail_msg("stdout is not one JSON value: %s: %s", e.text, r.out);
    return j;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("no string \"%s\" in %s", key, json_dumps(o, JSON_COMPACT));
    return s;
}

/* Copy o[key] (a key or id) into out[37]. */
static void key_of(const json_t *o, const char *key, char out[37])
{
    const char *s = str(o, key);
    assert_int_equal(strlen(s), 36);
    memcpy(out, s, 37);
}

static at_date received;
static char anna[37], janis[37], hh[37], app[37], visit[37], agr[37], cs[37];

static const char *day(at_date d)
{
    static char buf[8][11];
    static int next;
    char *b = buf[next++ % 8];
    at_date_format(d, b, 11);
    return b;
}

static void persons_are_registered_found_and_given_facts(void **state)
{
    (void)state;
    CLI("--json", "person", "register", "--code", "111111-11111", "--given-name", "Anna", "--family-name", "Bērziņa",
        "--sex", "f");
    json_t *j = ok_json();
    key_of(j, "person_key", anna);
    assert_int_equal(strlen(str(j, "command_id")), 36);
    json_decref(j);
    CLI("--json", "person", "register", "--code", "32123456789", "--given", "Jānis", "--family", "Bērziņš", "--sex",
        "m", "--birth", "2014-03-04");
    j = ok_json();
    key_of(j, "person_key", janis);
    json_decref(j);

    CLI("--json", "person", "find", "--family-name", "bērziņ");
    j = ok_json();
    json_t *persons = json_object_get(j, "persons");
    assert_int_equal(json_array_size(persons), 2);
    assert_true(json_is_false(json_object_get(j, "truncated")));
    json_decref(j);
    CLI("person", "find", "--family-name", "Bērziņ", "--given-name", "jā");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, janis));
    assert_null(strstr(r.out, anna));
    CLI("person", "find", "--code", "321234-56789");
    assert_int_equal(r.code, 0);
    assert_true(strncmp(r.out, janis, 36) == 0);

    /* A residence, then its correction: the replaced fact stays, marked */
    const char *since = day(received - 3000);
    CLI("--json", "person", "fact", anna, "--kind", "residence", "--from", since, "--municipality", "daugavpils",
        "--address", "Rīgas iela 1-5, Daugavpils");
    j = ok_json();
    json_int_t first = json_integer_value(json_object_get(j, "position"));
    json_decref(j);
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)first);
    CLI("--json", "person", "fact", anna, "--kind", "residence", "--from", day(received - 3100), "--municipality",
        "daugavpils", "--address", "Rīgas iela 1-5, Daugavpils", "--corrects", pos, "--reason",
        "the declaration register shows an earlier date");
    j = ok_json();
    json_int_t fixed = json_integer_value(json_object_get(j, "position"));
    json_decref(j);
    CLI("person", "fact", janis, "--kind", "school", "--school", "other", "--from", day(received - 400));
    assert_int_equal(r.code, 0);
    assert_true(strncmp(r.out, "recorded a fact of person ", 26) == 0);

    CLI("--json", "person", "show", anna);
    j = ok_json();
    assert_string_equal(str(j, "address"), "Rīgas iela 1-5, Daugavpils");
    json_t *facts = json_object_get(j, "facts");
    assert_int_equal(json_array_size(facts), 2);
    json_t *f0 = json_array_get(facts, 0);
    assert_int_equal(json_integer_value(json_object_get(f0, "position")), first);
    assert_int_equal(json_integer_value(json_object_get(f0, "corrected_by")), fixed);
    assert_string_equal(str(json_object_get(f0, "fact"), "kind"), "residence");
    assert_string_equal(str(json_object_get(f0, "fact"), "from"), since);
    json_decref(j);
    CLI("person", "show", "--key", anna);
    assert_int_equal(r.code, 0);
    char line[256];
    snprintf(line, sizeof line, "  [corrected by %lld]", (long long)fixed);
    assert_non_null(strstr(r.out, line));
    assert_non_null(strstr(r.out, "reason: the declaration register shows an earlier date\n"));
    assert_non_null(strstr(r.out, "household      (none today)\n"));

    /* A correction of the registration, with who made it */
    CLI("person", "correct", janis, "--given-name", "Jānis Pēteris", "--reason", "the birth certificate");
    assert_int_equal(r.code, 0);
    CLI("--json", "person", "show", "--key", janis);
    j = ok_json();
    assert_string_equal(str(j, "given_name"), "Jānis Pēteris");
    json_decref(j);
}

static void the_household_as_of_before_and_after_the_child_joined(void **state)
{
    (void)state;
    char m1[128], m2[128];
    snprintf(m1, sizeof m1, "%s:applicant:%s", anna, day(received - 700));
    CLI("--json", "household", "create", "--member", m1);
    json_t *j = ok_json();
    key_of(j, "household_key", hh);
    json_int_t version = json_integer_value(json_object_get(j, "version"));
    json_decref(j);
    /* the child joins 300 days before the application; a stale version is refused */
    snprintf(m2, sizeof m2, "%s:child:%s", janis, day(received - 300));
    CLI("household", "add", hh, "--member", m2, "--expect-version", "99");
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "ERROR:  CONFLICT: "));
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    CLI("household", "add", hh, "--member", m2, "--expect-version", v);
    assert_int_equal(r.code, 0);
    int64_t joined_at = sk_sql_int("SELECT max(position) FROM atb.events");

    CLI("--json", "household", "show", hh, "--as-of", day(received - 301));
    j = ok_json();
    assert_string_equal(str(j, "as_of"), day(received - 301));
    json_t *members = json_object_get(j, "members"), *others = json_object_get(j, "others");
    assert_int_equal(json_array_size(members), 1);
    assert_string_equal(str(json_array_get(members, 0), "person_key"), anna);
    assert_string_equal(str(json_array_get(members, 0), "relationship"), "applicant");
    assert_string_equal(str(json_array_get(members, 0), "family_name"), "Bērziņa");
    assert_int_equal(json_array_size(others), 1);
    assert_string_equal(str(json_array_get(others, 0), "person_key"), janis);
    assert_string_equal(str(json_array_get(others, 0), "joined"), day(received - 300));
    json_decref(j);

    CLI("--json", "household", "show", "--person", janis, "--as-of", day(received - 300));
    j = ok_json();
    assert_string_equal(str(j, "household_key"), hh);
    assert_int_equal(json_array_size(json_object_get(j, "members")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "others")), 0);
    json_decref(j);

    /* as the log knew it before the child was added: one member even on that day */
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)(joined_at - 1));
    CLI("--json", "household", "show", hh, "--as-of", day(received - 300), "--at-position", at);
    j = ok_json();
    assert_int_equal(json_array_size(json_object_get(j, "members")), 1);
    json_decref(j);

    /* plain: the members' lines */
    CLI("household", "show", hh, "--as-of", day(received - 300));
    assert_int_equal(r.code, 0);
    char line[256];
    snprintf(line, sizeof line, "members on %s (2):\n  %s  applicant  Anna Bērziņa  111111-11111  born 1911-11-11  f",
             day(received - 300), anna);
    assert_non_null(strstr(r.out, line));
}

/* The application file of docs/cli.md's shape, for this household and these dates. */
static void write_application(const char *path)
{
    at_period months = at_last_full_months(received, 3);
    json_t *incomes = json_array();
    for (at_date m = months.from; m <= months.to; m = at_date_add_months(m, 1)) {
        char month[11];
        at_date_format(m, month, sizeof month);
        month[7] = 0;
        json_array_append_new(incomes, json_pack("{s:s, s:s, s:s, s:s}", "member", anna, "type", "wage", "month",
                                                 month, "amount", "150.00"));
    }
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:[{s:s}, {s:s}],"
        " s:{s:o, s:i, s:s, s:[{s:s, s:s, s:i, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}], s:s}}",
        "applicant", anna, "household", hh, "received", day(received), "channel", "office", "social_worker", WORKER,
        "asks", "kind", "needy_status", "kind", "gmi",
        "declaration", "incomes", incomes, "savings_cents", 0, "housing_expenses", "120",
        "expenses", "member", "", "kind", "heating", "amount_cents", 8000, "document",
        "Daugavpils Siltums 5531", "issued", day(received - 30),
        "member", "", "kind", "heating", "amount", "80.00", "document", "Daugavpils Siltums 0042", "issued",
        day(received - 500),
        "declared_on", day(received));
    assert_non_null(j);
    assert_int_equal(json_dump_file(j, path, JSON_INDENT(2)), 0);
    json_decref(j);
}

static void an_application_and_its_declaration_come_from_one_file(void **state)
{
    (void)state;
    json_t *decl_j;
    char path[1024];
    snprintf(path, sizeof path, "%s/app-%d.json", TEST_TMP_DIR, (int)getpid());
    write_application(path);
    CLI("--json", "application", "submit", "--file", path);
    json_t *j = ok_json();
    key_of(j, "application_id", app);
    json_t *d = json_object_get(j, "declaration");
    assert_true(json_is_object(d));
    assert_true(json_integer_value(json_object_get(d, "position")) >
                json_integer_value(json_object_get(j, "position")));
    json_decref(j);
    remove(path);

    CLI("--json", "application", "show", app);
    j = ok_json();
    assert_string_equal(str(j, "status"), "received");
    json_t *rec = json_object_get(j, "received");
    assert_string_equal(str(rec, "applicant"), anna);
    assert_string_equal(str(rec, "channel"), "office");
    assert_string_equal(str(json_array_get(json_object_get(rec, "asks"), 1), "kind"), "gmi");
    assert_string_equal(str(rec, "deadline"), day(at_date_add_months(received, 1)));
    json_t *decl = json_object_get(j, "declaration");
    assert_int_equal(json_array_size(json_object_get(decl, "incomes")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(decl, "incomes"), 0),
                                                        "amount_cents")),
                     15000);
    assert_int_equal(json_integer_value(json_object_get(decl, "housing_expenses_cents")), 12000);
    assert_int_equal(json_array_size(json_object_get(decl, "expenses")), 1);
    json_t *rejected = json_object_get(decl, "rejected");
    assert_int_equal(json_array_size(rejected), 1);
    assert_string_equal(str(json_array_get(rejected, 0), "reason"), "document_too_old");
    assert_string_equal(str(json_object_get(json_array_get(rejected, 0), "expense"), "document"),
                        "Daugavpils Siltums 0042");
    json_decref(j);

    /* plain: the rejected expense and why */
    CLI("application", "show", app);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "status         received\n"));
    assert_non_null(
        strstr(r.out, "  rejected   the household, heating, 80.00 EUR, document \"Daugavpils Siltums 0042\""));
    assert_non_null(strstr(r.out, "             because document_too_old"));

    /* documents missing, then a new declaration replaces the first as a whole */
    CLI("application", "incomplete", app, "--missing", "income_statement", "bank_statement", "--on",
        day(received + 1));
    assert_int_equal(r.code, 0);
    CLI("application", "show", app);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "status         incomplete\n"));
    assert_non_null(strstr(r.out, "missing        income_statement bank_statement\n"));
    char decl_path[1024];
    snprintf(decl_path, sizeof decl_path, "%s/decl-%d.json", TEST_TMP_DIR, (int)getpid());
    at_period months = at_last_full_months(received, 3);
    json_t *incomes = json_array();
    for (at_date m = months.from; m <= months.to; m = at_date_add_months(m, 1))
        json_array_append_new(incomes, json_pack("{s:s, s:s, s:s, s:i}", "member", anna, "type", "wage", "month",
                                                 day(m), "amount_cents", 15000));
    j = json_pack("{s:o, s:s, s:s}", "incomes", incomes, "housing_expenses", "120.00", "declared_on",
                  day(received + 2));
    assert_int_equal(json_dump_file(j, decl_path, 0), 0);
    json_decref(j);
    CLI("--json", "application", "declare", app, "--file", decl_path);
    j = ok_json();
    assert_string_equal(str(j, "application_id"), app);
    json_decref(j);
    remove(decl_path);
    CLI("--json", "application", "show", app);
    j = ok_json();
    decl_j = json_object_get(j, "declaration");
    assert_string_equal(str(decl_j, "declared_on"), day(received + 2));
    assert_int_equal(json_array_size(json_object_get(decl_j, "expenses")), 0);
    assert_int_equal(json_array_size(json_object_get(decl_j, "rejected")), 0);
    json_decref(j);
}

static void a_visit_an_agreement_and_a_case_are_recorded(void **state)
{
    (void)state;
    CLI("--json", "visit", "record", "--household", hh, "--application", app, "--on", day(received + 1), "--found",
        anna, janis, "--condition", "no_heating", "needs_repair", "--findings",
        "The stove is broken; the family heats one room.", "--worker", WORKER);
    json_t *j = ok_json();
    key_of(j, "visit_key", visit);
    json_decref(j);

    CLI("--json", "agreement", "make", "--person", anna, "--application", app, "--signed", day(received + 1), "--duty",
        "seek_work:2019-04-05:Apply to three jobs: shop, bakery, depot");
    j = ok_json();
    key_of(j, "agreement_key", agr);
    json_decref(j);
    CLI("agreement", "outcome", agr, "1", "--fulfilled", "--on", day(received + 2), "--note",
        "three applications shown");
    assert_int_equal(r.code, 0);
    assert_true(strncmp(r.out, "duty fulfilled: agreement ", 26) == 0);

    CLI("--json", "case", "open", "--person", anna, "--household", hh, "--sector", "social_assistance", "--worker",
        WORKER, "--opened", day(received));
    j = ok_json();
    key_of(j, "case_key", cs);
    json_decref(j);

    /* a retry with the same command id is answered with the first result */
    static const char id[] = "5d2c8c3e-6b0a-4f6e-9a51-0e7d8b3f2a19";
    CLI("--json", "case", "log", cs, "--kind", "consultation", "--on", day(received), "--text",
        "Explained the GMI co-operation duties", "--command-id", id);
    j = ok_json();
    json_int_t position = json_integer_value(json_object_get(j, "position"));
    assert_true(json_is_false(json_object_get(j, "duplicate")));
    assert_string_equal(str(j, "command_id"), id);
    json_decref(j);
    CLI("--json", "--command-id", id, "case", "log", cs, "--kind", "consultation", "--on", day(received), "--text",
        "Explained the GMI co-operation duties");
    j = ok_json();
    assert_true(json_is_true(json_object_get(j, "duplicate")));
    assert_int_equal(json_integer_value(json_object_get(j, "position")), position);
    json_decref(j);
    CLI("--verbose", "case", "change", cs, "--worker", "user:anna.liepa", "--on", day(received + 1), "--reason",
        "Ilze is on leave");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "atbalsts: ChangeCase: command id "));
    assert_non_null(strstr(r.out, "  command id "));
}

static void completing_the_application_gets_it_decided(void **state)
{
    (void)state;
    /* an application without a declaration cannot be completed: the service says so */
    CLI_IN(NULL, "application", "submit", "--interactive");
    assert_int_equal(r.code, 1);
    char answers[512];
    snprintf(answers, sizeof answers, "%s\n%s\n%s\n\n\n\n\n\nn\ny\n", anna, hh, day(received));
    CLI_IN(answers, "--json", "application", "submit", "--interactive");
    json_t *j = ok_json();
    char second[37];
    key_of(j, "application_id", second);
    assert_true(json_is_null(json_object_get(j, "declaration")));
    json_decref(j);
    CLI("application", "complete", second, "--decision-date", day(received + 3));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "ERROR:  CONFLICT: the application has no declaration\n"));
    CLI("application", "withdraw", second, "--on", day(received + 1), "--reason", "submitted twice by mistake");
    assert_int_equal(r.code, 0);
    CLI("--json", "application", "show", second);
    j = ok_json();
    assert_string_equal(str(j, "status"), "withdrawn");
    json_decref(j);

    CLI("application", "complete", app, "--decision-date", day(received + 3));
    assert_int_equal(r.code, 0);
    assert_true(strncmp(r.out, "completed application ", 22) == 0);
    /* means testing decides asynchronously; intake then records ApplicationDecided */
    assert_int_equal(sk_wait_sql(1, 30000,
                                 "SELECT count(*) FROM atb.events WHERE stream_id = 'application-%s' AND "
                                 "type = 'ApplicationDecided'",
                                 app),
                     1);
    CLI("--json", "application", "show", app);
    j = ok_json();
    assert_string_equal(str(j, "status"), "decided");
    json_t *decisions = json_object_get(j, "decisions");
    assert_int_equal(json_array_size(decisions), 2);
    json_t *d1 = json_array_get(decisions, 0);
    assert_int_equal(json_integer_value(json_object_get(d1, "ask_index")), 1);
    /* 150 EUR a month for two is below the needy threshold */
    assert_string_equal(str(d1, "event_type"), "StatusGranted");
    assert_string_equal(str(json_object_get(d1, "result"), "outcome"), "granted");
    assert_string_equal(str(json_object_get(d1, "result"), "status"), "needy");
    json_decref(j);
    CLI("application", "show", app);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "status         decided\n"));
    assert_non_null(strstr(r.out, "decisions:\n  ask 1  StatusGranted    granted  needy status"));
}

static void an_appeal_changes_the_refused_decision(void **state)
{
    (void)state;
    char appeal[37];
    CLI("--json", "appeal", "file", "--application", app, "--ask", "2", "--body", "council", "--filed",
        day(received + 10), "--grounds", "The wage stopped in February; the certificate was late.");
    json_t *j = ok_json();
    key_of(j, "appeal_key", appeal);
    json_decref(j);
    CLI("--json", "application", "show", app);
    j = ok_json();
    assert_string_equal(str(j, "status"), "appealed");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "appeals"), 0)), appeal);
    json_decref(j);

    char path[1024];
    snprintf(path, sizeof path, "%s/result-%d.json", TEST_TMP_DIR, (int)getpid());
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "outcome", "granted", "ask", "gmi", "benefit",
                  "GMI", "period_from", day(received + 3), "period_to", day(at_date_add_months(received + 3, 6) - 1),
                  "has_amount", 1, "amount", "10.00", "per", "month", "payment", "account");
    assert_int_equal(json_dump_file(j, path, 0), 0);
    json_decref(j);
    CLI("appeal", "decide", appeal, "--outcome", "changed", "--on", day(received + 25), "--reference",
        "Dome 2019/41", "--reasoning", "The February wage was not paid.", "--result-file", path);
    remove(path);
    assert_int_equal(r.code, 0);
    assert_true(strncmp(r.out, "decided appeal ", 15) == 0);
    /* means testing carries it into the decision stream as an override */
    assert_int_equal(sk_wait_sql(1, 30000,
                                 "SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s' AND "
                                 "type = 'DecisionOverridden'",
                                 app),
                     1);
    /* a second decision of the same appeal is the service's to refuse */
    CLI("appeal", "decide", appeal, "--outcome", "upheld", "--on", day(received + 26));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "ERROR:  CONFLICT: the appeal is decided already\n"));
}

static void the_case_history_lists_everything_in_log_order(void **state)
{
    (void)state;
    CLI("--json", "case", "history", cs);
    json_t *j = ok_json();
    assert_string_equal(str(j, "case_key"), cs);
    assert_string_equal(str(j, "social_worker"), "user:anna.liepa");
    json_t *entries = json_object_get(j, "entries");
    size_t n = json_array_size(entries);
    assert_true(n >= 12);
    static const char *const want[] = {"PersonRegistered", "PersonFactRecorded", "HouseholdCreated", "MemberJoined",
                                       "ApplicationReceived", "DeclarationSubmitted", "HomeVisitRecorded",
                                       "AgreementMade", "DutyFulfilled", "CaseOpened", "ActivityLogged",
                                       "CaseWorkerChanged", "ApplicationIncomplete", "ApplicationCompleted",
                                       "StatusGranted", "ApplicationDecided", "ApplicationAppealed"};
    bool seen[sizeof want / sizeof want[0]] = {false};
    json_int_t last = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        json_int_t pos = json_integer_value(json_object_get(e, "position"));
        assert_true(pos > last);
        last = pos;
        /* what the worker did carries the worker; decisions carry the service */
        if (strcmp(str(e, "type"), "ActivityLogged") == 0 || strcmp(str(e, "type"), "HomeVisitRecorded") == 0)
            assert_string_equal(str(e, "actor"), WORKER);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            seen[k] |= strcmp(str(e, "type"), want[k]) == 0;
        /* the body decoded: the application's event names it */
        if (strcmp(str(e, "type"), "ApplicationReceived") == 0 &&
            strcmp(str(json_object_get(e, "payload"), "application_id"), app) == 0)
            assert_string_equal(str(json_object_get(e, "payload"), "applicant"), anna);
    }
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (!seen[k])
            fail_msg("the history has no %s", want[k]);
    json_decref(j);

    /* plain: the case line, then one line per entry, in the same order */
    CLI("case", "history", cs);
    assert_int_equal(r.code, 0);
    size_t lines = 0;
    for (const char *p = r.out; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, n + 1);
    char head[256];
    snprintf(head, sizeof head, "case %s  social_assistance, open, worker user:anna.liepa, client %s", cs, anna);
    assert_true(strncmp(r.out, head, strlen(head)) == 0);
    const char *second = strchr(r.out, '\n') + 1;
    /* "YYYY-MM-DD HH:MM:SS  PersonRegistered ..." */
    assert_int_equal(second[4], '-');
    assert_int_equal(second[13], ':');
    assert_non_null(strstr(r.out, "  ActivityLogged         " WORKER));
    assert_non_null(strstr(r.out, "Explained the GMI co-operation duties"));
}

static void refusals_exit_2_with_the_services_words(void **state)
{
    (void)state;
    CLI("application", "show", "00000000-0000-4000-8000-000000000000");
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "ERROR:  NOT_FOUND: application not found\n"));
    CLI("--json", "household", "show", "00000000-0000-4000-8000-000000000000");
    assert_int_equal(r.code, 2);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    assert_non_null(j);
    assert_string_equal(str(json_object_get(j, "error"), "code"), "NOT_FOUND");
    json_decref(j);
    /* nothing listens for this prefix: the command went out, no answer came */
    CLI("--prefix", "nobodyhome", "case", "log", cs, "--kind", "other", "--on", day(received), "--text", "t");
    assert_int_equal(r.code, 3);
    assert_non_null(strstr(r.err, "HINT:  To retry without doing it twice, repeat the command with --command-id "));
}

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    if (!at_date_from_ymd(2019, 3, 4, &received))
        return -1;
    if (sk_start() != 0 || sk_start_means() != 0)
        return -1;
    sk_wait_ready();
    /* means testing publishes its rule sets at start; declarations read the document
     * limit from them */
    if (sk_wait_sql(1, 30000, "SELECT least(count(*), 1) FROM atb.events WHERE stream_id = 'ruleset-daugavpils'") != 1)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return sk_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(persons_are_registered_found_and_given_facts),
        cmocka_unit_test(the_household_as_of_before_and_after_the_child_joined),
        cmocka_unit_test(an_application_and_its_declaration_come_from_one_file),
        cmocka_unit_test(a_visit_an_agreement_and_a_case_are_recorded),
        cmocka_unit_test(completing_the_application_gets_it_decided),
        cmocka_unit_test(an_appeal_changes_the_refused_decision),
        cmocka_unit_test(the_case_history_lists_everything_in_log_order),
        cmocka_unit_test(refusals_exit_2_with_the_services_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
