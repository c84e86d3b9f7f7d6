/*
 * test_usage.c -- the atbalsts binary before it talks to anyone: --help of every command,
 * usage errors (exit 1, nothing sent), and a well-formed command against a NATS URL where
 * nothing listens (exit 3, with the command id to retry with). No servers: port 1 of the
 * loopback never answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY "nats://127.0.0.1:1"
#define KEY "8fe2b937-1ac3-4df2-b201-50805cbea8c7"
#define KEY2 "0c4e1c56-3e0a-4c36-9d4b-2a8f1f7b9e21"

typedef struct run {
    int code;
    char out[16384];
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

/* Run the CLI with argv (NULL-ended) and `input` on stdin (NULL: /dev/null); fills r. */
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
        setenv("ATB_NATS_URL", NOBODY, 1);
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
        fprintf(stderr, "exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.out, r.err);
}

#define CLI(...) cli_argv(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define CLI_IN(input, ...) cli_argv(input, (const char *const[]){__VA_ARGS__, NULL})

static void usage_error(const char *want)
{
    if (r.code != 1)
        fail_msg("exit %d, not 1; stderr: %s", r.code, r.err);
    if (want && !strstr(r.err, want))
        fail_msg("stderr does not say \"%s\":\n%s", want, r.err);
}

static void every_command_answers_help_with_exit_0(void **state)
{
    (void)state;
    static const char *const groups[][9] = {
        {"person", "register", "show", "find", "fact", "correct", NULL},
        {"household", "create", "add", "remove", "show", NULL},
        {"application", "submit", "declare", "incomplete", "complete", "withdraw", "show", NULL},
        {"visit", "record", NULL},
        {"agreement", "make", "outcome", NULL},
        {"appeal", "file", "decide", NULL},
        {"case", "open", "change", "log", "history", NULL},
    };
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        CLI(groups[g][0], "--help");
        assert_int_equal(r.code, 0);
        assert_non_null(strstr(r.out, "usage: atbalsts"));
        for (size_t s = 1; groups[g][s]; s++) {
            CLI(groups[g][0], groups[g][s], "--help");
            if (r.code != 0 || !strstr(r.out, "usage: atbalsts ") || !strstr(r.out, groups[g][s]))
                fail_msg("%s %s --help: exit %d\n%s%s", groups[g][0], groups[g][s], r.code, r.out, r.err);
            /* the group's usage lists the command */
        }
        CLI(groups[g][0]);
        assert_int_equal(r.code, 1);
        CLI(groups[g][0], "frobnicate");
        usage_error("unknown");
    }
    CLI("--help");
    assert_int_equal(r.code, 0);
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        assert_non_null(strstr(r.out, groups[g][0]));
}

static void usage_errors_exit_1_and_say_what_is_wrong(void **state)
{
    (void)state;
    CLI("person", "find");
    usage_error("give either --family-name");
    CLI("person", "find", "--family-name", "Bē", "--code", "111111-11111");
    usage_error("give either --family-name");
    CLI("person", "find", "--family-name", "Bē", "--limit", "501");
    usage_error("--limit \"501\": limit 501 is out of range");
    CLI("person", "fact", KEY, "--kind", "residence");
    usage_error("needs --kind and --from");
    CLI("person", "fact", KEY, "--kind", "hobby", "--from", "2024-01-01");
    usage_error("unknown kind \"hobby\"");
    CLI("person", "fact", KEY, "--kind", "employment", "--employment", "astronaut", "--from", "2024-01-01");
    usage_error("unknown employment \"astronaut\"");
    CLI("person", "fact", KEY, "--kind", "flag", "--flag", "lonely", "--from", "2024-01-01", "--corrects", "12");
    usage_error("--corrects needs --reason");
    CLI("person", "fact", "--kind", "flag", "--flag", "lonely", "--from", "2024-01-01");
    usage_error("needs the person key");
    CLI("person", "correct", KEY, "--given-name", "Anna");
    usage_error("needs --reason");
    CLI("person", "correct", KEY, "--sex", "x", "--reason", "typo");
    usage_error("--sex must be f or m, not \"x\"");
    CLI("household", "create");
    usage_error("needs at least one --member");
    CLI("household", "create", "--member", KEY ":applicant:2024-01-01", KEY2 ":kid:2024-01-01");
    usage_error("unknown relationship \"kid\"");
    CLI("household", "add", KEY, "--member", KEY2 ":child:2024-01-01", "--expect-version", "v2");
    usage_error("--expect-version \"v2\"");
    CLI("household", "add", KEY, "--member", KEY2 ":child:2024-01-01", KEY ":spouse:2024-01-01");
    usage_error("needs the household key first, then one --member");
    CLI("household", "remove", KEY, KEY2);
    usage_error("needs --left");
    CLI("household", "remove", KEY, KEY2, "--left", "2024-02-30");
    usage_error("--left \"2024-02-30\"");
    CLI("household", "show");
    usage_error("give either the household key or --person PKEY");
    CLI("household", "show", KEY, "--person", KEY2);
    usage_error("give either the household key or --person PKEY");
    CLI("household", "show", KEY, "--at-position", "0");
    usage_error("--at-position");
    CLI("application", "declare", KEY);
    usage_error("needs the application id and --file FILE");
    CLI("application", "incomplete", KEY, "--on", "2024-05-03");
    usage_error("--missing CODE...");
    CLI("application", "complete", KEY);
    usage_error("--decision-date");
    CLI("application", "withdraw", KEY, "--on", "2024-05-03");
    usage_error("--reason TEXT");
    CLI("application", "show");
    usage_error("needs the application id");
    CLI("visit", "record", "--household", KEY, "--on", "2024-05-03", "--findings", "ok", "--worker", "user:x");
    usage_error("needs --household, --on, --condition, --findings and --worker");
    CLI("visit", "record", "--household", KEY, "--on", "2024-05-03", "--condition", "adequate", "--findings", "ok",
        "--worker", "user:x", "--others", "many");
    usage_error("--others \"many\"");
    CLI("agreement", "make", "--person", KEY, "--signed", "2024-05-03");
    usage_error("at least one --duty");
    CLI("agreement", "make", "--person", KEY, "--signed", "2024-05-03", "--duty", "seek_work");
    usage_error("is not KIND:DUE[:TEXT]");
    CLI("agreement", "outcome", KEY, "1", "--fulfilled", "--failed", "--on", "2024-05-03");
    usage_error("--fulfilled or --failed");
    CLI("agreement", "outcome", KEY, "first", "--failed", "--on", "2024-05-03");
    usage_error("--duty \"first\"");
    CLI("appeal", "file", "--application", KEY, "--ask", "1", "--body", "parliament", "--filed", "2024-05-03",
        "--grounds", "g");
    usage_error("unknown body \"parliament\"");
    CLI("appeal", "decide", KEY, "--outcome", "changed", "--on", "2024-05-03");
    usage_error("--outcome changed needs --result-file");
    CLI("appeal", "decide", KEY, "--outcome", "upheld", "--on", "2024-05-03", "--result-file", "r.json");
    usage_error("--result-file goes only with --outcome changed");
    CLI("appeal", "decide", KEY, "--outcome", "changed", "--on", "2024-05-03", "--result-file", "no-such-result.json");
    usage_error("could not open");
    CLI("case", "open", "--person", KEY, "--sector", "elderly", "--worker", "user:x");
    usage_error("needs --person, --sector, --worker and --opened");
    CLI("case", "change", KEY, "--on", "2024-05-03");
    usage_error("nothing to change");
    CLI("case", "change", KEY, "--close", "--reopen", "--on", "2024-05-03");
    usage_error("give --close or --reopen, not both");
    CLI("case", "log", KEY, "--kind", "phone_call", "--on", "2024-05-03");
    usage_error("needs the case key, --kind, --on and --text");
    CLI("case", "history", KEY, KEY2);
    usage_error("unexpected argument");
    CLI("--command-id", "not-a-uuid", "case", "history", KEY);
    usage_error("--command-id \"not-a-uuid\" is not a UUID");
    CLI("case", "log", KEY, "--command-id", "42", "--kind", "k", "--on", "2024-05-03", "--text", "t");
    usage_error("--command-id \"42\" is not a UUID");
}

static void a_bad_application_file_is_refused_before_anything_is_sent(void **state)
{
    (void)state;
    CLI_IN("{\"applicant\": \"" KEY "\", \"asks\": [{\"kind\": \"gmi\", \"units\": 1.5}]}", "application", "submit",
           "--file", "-");
    usage_error("asks.0.units must be a whole number, not a number with decimals");
    assert_non_null(strstr(r.err, "FIELD:  asks.0.units\n"));
    CLI_IN("{\"applicant\": ", "application", "submit", "--file", "-");
    usage_error("is not JSON: line 1");
    CLI_IN("{\"incomes\": [{\"amount_cents\": \"12.00\"}]}", "application", "declare", KEY, "--file", "-");
    usage_error("incomes.0.amount_cents must be a whole number of cents, not a string");
    assert_non_null(strstr(r.err, "DETAIL:  Write 1234 for 12.34 euros, or the amount in euros as a string in the "
                                  "key without \"_cents\": \"amount\": \"12.34\".\n"));
    /* standard input is not a terminal: no prompts unless asked for */
    CLI("application", "submit");
    usage_error("needs --file FILE (standard input is not a terminal to ask on)");
    /* --interactive asks on stderr; the input ends at once: nothing is submitted */
    CLI("application", "submit", "--interactive");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "applicant (person key): "));
    assert_non_null(strstr(r.err, "stopped: nothing was submitted"));
    assert_string_equal(r.out, "");
}

static void a_command_that_gets_no_answer_exits_3_with_its_id_to_retry(void **state)
{
    (void)state;
    CLI("household", "create", "--member", KEY ":applicant:2024-01-01", KEY2 ":child:2024-01-01");
    assert_int_equal(r.code, 3);
    assert_non_null(strstr(r.err, "could not connect to NATS"));

    /* the id given is the id sent, printed with --verbose and in the hint */
    CLI("--verbose", "case", "log", KEY, "--kind", "phone_call", "--on", "2024-05-03", "--text", "t", "--command-id",
        KEY2);
    assert_int_equal(r.code, 3);
    assert_non_null(strstr(r.err, "atbalsts: LogActivity: command id " KEY2 "\n"));
    CLI("person", "register", "--code", "111111-11111", "--given", "A", "--family", "B", "--sex", "f");
    assert_int_equal(r.code, 3);
    /* queries have no command id */
    CLI("--verbose", "household", "show", KEY, "--as-of", "2024-05-03");
    assert_int_equal(r.code, 3);
    assert_null(strstr(r.err, "command id"));
}

/* simulate and replay read the log themselves: their options are checked before that */
static void simulate_and_replay_check_their_options_first(void **state)
{
    (void)state;
    CLI("simulate", "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: atbalsts simulate"));
    CLI("replay", "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: atbalsts replay"));
    CLI("--help");
    assert_non_null(strstr(r.out, "simulate"));
    assert_non_null(strstr(r.out, "replay"));
    CLI("simulate", "--pg", "postgresql://127.0.0.1:1/x");
    usage_error("needs --draft FILE");
    CLI("simulate", "--draft", "d.yaml", "--pg", "postgresql://127.0.0.1:1/x", "--csv", "--json");
    usage_error("give at most one of --csv, --json and --html");
    CLI("simulate", "--draft", "d.yaml", "--pg", "postgresql://127.0.0.1:1/x", "--region", "a", "--all-tenants");
    usage_error("give --region or --all-tenants, not both");
    CLI("simulate", "--draft", "d.yaml", "--pg", "postgresql://127.0.0.1:1/x", "--from", "2020-02-30");
    usage_error("--from");
    CLI("simulate", "--draft", "d.yaml", "--pg", "postgresql://127.0.0.1:1/x", "--html", "x.html", "--lang", "de");
    usage_error("--lang \"de\": lv or en");
    CLI("simulate", "--draft", "d.yaml", "--pg", "postgresql://127.0.0.1:1/x", "--lang", "en");
    usage_error("--lang is for --html");
    CLI("simulate", "--draft", "no-such-draft.yaml", "--pg", "postgresql://127.0.0.1:1/x");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "cannot read no-such-draft.yaml"));
    CLI("replay", "--application", KEY, "--from", "2020-01-01", "--pg", "postgresql://127.0.0.1:1/x");
    usage_error("give --application or a period");
}

/* means recalculate needs the day of the change, as a date */
static void means_recalculate_needs_a_day(void **state)
{
    (void)state;
    CLI("means", "recalculate", "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: atbalsts means recalculate --on YYYY-MM-DD"));
    CLI("means", "recalculate");
    usage_error("needs --on YYYY-MM-DD");
    CLI("means", "recalculate", "--on", "2021-02-30");
    usage_error("--on");
}

static void report_commands_answer_help_and_refuse_bad_options(void **state)
{
    (void)state;
    static const char *const subs[] = {"assistance", "services", "budget", "indicators", "ministry", "rebuild"};
    for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
        CLI("report", subs[k], "--help");
        if (r.code != 0 || !strstr(r.out, "usage: atbalsts report ") || !strstr(r.out, subs[k]))
            fail_msg("report %s --help: exit %d\n%s%s", subs[k], r.code, r.out, r.err);
    }
    CLI("report", "services", "--from", "2026-03-01");
    usage_error("needs --from and --to");
    CLI("report", "budget", "--from", "2026-03-01", "--to", "2026-03-31", "--lang", "ru");
    usage_error("--lang \"ru\": lv or en");
    CLI("report", "indicators", "--from", "2026-03-01", "--to", "2026-03-31", "--csv", "--json");
    usage_error("--csv, --json and --html exclude each other");
    CLI("report", "assistance", "--from", "2026-03-01", "--to", "2026-03-31", "--as-known-on", "2026-02-30");
    usage_error("--as-known-on \"2026-02-30\"");
    CLI("report", "services", "--from", "2026-03-01", "--to", "2026-03-31", "--as-of-position", "0");
    usage_error("--as-of-position");
    CLI("report", "ministry", "--year", "26");
    usage_error("--year \"26\"");
    CLI("report", "ministry", "--year", "2026", "--from", "2026-01-01");
    usage_error("takes --year, not --from and --to");
    CLI("report", "rebuild", "--pg", "postgresql://nobody@127.0.0.1:1/x", "--projection", "everything");
    usage_error("unknown projection \"everything\"");
}

/* atbalsts generate: --help, usage errors before anything is sent, and a dry run, which
 * needs no NATS at all (the URL here answers nothing). */
static void generate_checks_its_options_and_dry_runs_without_nats(void **state)
{
    (void)state;
    CLI("generate", "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: atbalsts generate"));
    CLI("generate", "--preset", "atlantida");
    usage_error("unknown preset \"atlantida\"");
    CLI("generate", "--scale", "1001");
    usage_error("--scale is 1..1000");
    CLI("generate", "--preset", "daugavpils", "--scale", "10", "--dry-run");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "2000 persons"));
    CLI("generate", "--preset", "tervete");
    assert_int_equal(r.code, 3);
    assert_non_null(strstr(r.err, "could not connect to NATS"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(means_recalculate_needs_a_day),
        cmocka_unit_test(simulate_and_replay_check_their_options_first),
        cmocka_unit_test(generate_checks_its_options_and_dry_runs_without_nats),
        cmocka_unit_test(every_command_answers_help_with_exit_0),
        cmocka_unit_test(usage_errors_exit_1_and_say_what_is_wrong),
        cmocka_unit_test(report_commands_answer_help_and_refuse_bad_options),
        cmocka_unit_test(a_bad_application_file_is_refused_before_anything_is_sent),
        cmocka_unit_test(a_command_that_gets_no_answer_exits_3_with_its_id_to_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
