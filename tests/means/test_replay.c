/*
 * test_replay.c -- ReplayDecision through the atbalsts-means binary (services/means/
 * replay.c): a recorded decision is rebuilt from the log alone and proven equal; after a
 * rule file changed, old decisions still prove with their own version while new ones use
 * the new value and a new version; decisions forged into the log (through atb.append, as a
 * superuser could) are reported with the first differing step or field and both values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "at_uuid.h"
#include "meanshelp.h"
#include "means_core.h"

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

static Atb__V1__AssessReply *assess_ok(mh_family *f)
{
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f->cmd);
    if (r->error && r->error->code)
        fail_msg("error %d %s: %s (%s)", r->error->code, r->error->field, r->error->message, r->error->detail);
    return r;
}

static void assert_proven(const char *application_id, const char *version)
{
    Atb__V1__ReplayReply *p = mh_replay(&M, "daugavpils", application_id);
    assert_true(p->error == NULL || p->error->code == 0);
    for (size_t i = 0; i < p->n_decisions; i++)
        if (!p->decisions[i]->proven)
            fail_msg("decision %d not proven: %s step %d %s: recorded \"%s\", replayed \"%s\"",
                     p->decisions[i]->ask_index, p->decisions[i]->mismatch->where, p->decisions[i]->mismatch->step,
                     p->decisions[i]->mismatch->field, p->decisions[i]->mismatch->recorded,
                     p->decisions[i]->mismatch->replayed);
    assert_true(p->proven);
    assert_int_equal(p->n_decisions, 2);
    for (size_t i = 0; i < p->n_decisions; i++) {
        assert_true(p->decisions[i]->steps >= 2);
        assert_null(p->decisions[i]->mismatch);
        assert_false(p->decisions[i]->overridden);
        assert_string_equal(p->decisions[i]->rule_set_versions[0], version);
    }
    assert_string_equal(p->decisions[0]->event_type, "StatusGranted");
    assert_string_equal(p->decisions[1]->event_type, "BenefitGranted");
    atb__v1__replay_reply__free_unpacked(p, NULL);
}

static void replay_proves_a_recorded_decision(void **state)
{
    (void)state;
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = assess_ok(&f);
    assert_proven(f.app_id, r->decisions[1]->rule_set_versions[0]);
    atb__v1__assess_reply__free_unpacked(r, NULL);
}

/* ---- a copy of the rule sets with one value changed */

static void changed_rule_file_leaves_old_replays_proven_and_new_decisions_use_the_new_value(void **state)
{
    (void)state;
    mh_family a;
    mh_family_init(&a, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = assess_ok(&a);
    assert_int_equal(r->decisions[1]->result->amount_cents, 5900);
    char va[65];
    snprintf(va, sizeof va, "%s", r->decisions[1]->rule_set_versions[0]);
    atb__v1__assess_reply__free_unpacked(r, NULL);
    int64_t published = sh_sql(&M.sv, "SELECT count(*) FROM atb.events WHERE stream_id = 'ruleset-daugavpils'");

    char dir[1024];
    /* the 2018-2019 GMI level: 53.00 -> 54.00 */
    mh_rulesets_at_level(RULESETS_DIR, TEST_TMP_DIR, "54.00", dir, sizeof dir);
    assert_int_equal(mh_stop(&M), 0);
    mh_start(&M, dir);

    /* the old decision: still proven, with the old version, from the log */
    assert_proven(a.app_id, va);

    /* a new decision: the new value, a new version, published once more */
    mh_family b;
    mh_family_init(&b, 2018, 3, 15, 10000);
    r = assess_ok(&b);
    assert_int_equal(r->decisions[1]->result->amount_cents, 6200);   /* 3 x 54.00 - 100.00 */
    char vb[65];
    snprintf(vb, sizeof vb, "%s", r->decisions[1]->rule_set_versions[0]);
    assert_string_not_equal(vb, va);
    atb__v1__assess_reply__free_unpacked(r, NULL);
    assert_int_equal(sh_sql(&M.sv, "SELECT count(*) FROM atb.events WHERE stream_id = 'ruleset-daugavpils'"),
                     published + 1);
    assert_proven(b.app_id, vb);
    Atb__V1__ExplainReply *e = mh_explain(&M, "daugavpils", b.app_id);
    assert_non_null(strstr(e->text, "gmi.level = 54.00"));
    atb__v1__explain_reply__free_unpacked(e, NULL);

    /* the files changed back: the first version again, not published a second time */
    assert_int_equal(mh_stop(&M), 0);
    mh_remove_dir(dir);
    mh_start(&M, NULL);
    mh_family c;
    mh_family_init(&c, 2018, 3, 15, 10000);
    r = assess_ok(&c);
    assert_int_equal(r->decisions[1]->result->amount_cents, 5900);
    assert_string_equal(r->decisions[1]->rule_set_versions[0], va);
    atb__v1__assess_reply__free_unpacked(r, NULL);
    assert_int_equal(sh_sql(&M.sv, "SELECT count(*) FROM atb.events WHERE stream_id = 'ruleset-daugavpils'"),
                     published + 1);
    assert_proven(b.app_id, vb);   /* proven after the restart, from the log alone */
}

/* ---- forgeries */

/* The GMI decision of a fresh application, unpacked from the log, moved to application
 * `forged_id` with a correct input hash (a careful forger). Free with
 * atb__v1__benefit_granted__free_unpacked. */
static Atb__V1__BenefitGranted *recorded_gmi(char forged_id[37])
{
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = assess_ok(&f);
    atb__v1__assess_reply__free_unpacked(r, NULL);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT payload FROM atb.events WHERE stream_id = 'decision-%s' AND version = 2",
             f.app_id);
    size_t len = 0;
    uint8_t *p = mh_sql_bytes(&M, sql, &len);
    Atb__V1__BenefitGranted *bg = atb__v1__benefit_granted__unpack(NULL, len, p);
    free(p);
    assert_non_null(bg);
    at_uuid_v4(forged_id);
    /* strings of an unpacked message belong to it: replace in place (same length) */
    memcpy(bg->decision->application_id, forged_id, 36);
    memcpy(bg->decision->input->application_id, forged_id, 36);
    return bg;
}

static void rehash(Atb__V1__Decision *d)
{
    size_t n = atb__v1__decision_input__get_packed_size(d->input);
    uint8_t *b = malloc(n);
    atb__v1__decision_input__pack(d->input, b);
    means_sha256_hex(b, n, d->input_sha256);
    free(b);
}

static void forge(const char *id, Atb__V1__BenefitGranted *bg)
{
    size_t n = atb__v1__benefit_granted__get_packed_size(bg);
    uint8_t *b = malloc(n);
    atb__v1__benefit_granted__pack(bg, b);
    char stream[64];
    snprintf(stream, sizeof stream, "decision-%s", id);
    assert_int_equal(mh_forge(&M, "daugavpils", stream, "BenefitGranted", b, n), 0);
    free(b);
}

static Atb__V1__ReplayedDecision *replay_one(const char *id, Atb__V1__ReplayReply **keep)
{
    Atb__V1__ReplayReply *p = mh_replay(&M, "daugavpils", id);
    assert_true(p->error == NULL || p->error->code == 0);
    assert_false(p->proven);
    assert_int_equal(p->n_decisions, 1);
    assert_false(p->decisions[0]->proven);
    assert_non_null(p->decisions[0]->mismatch);
    *keep = p;
    return p->decisions[0];
}

static void tampered_decision_is_reported_with_the_differing_step(void **state)
{
    (void)state;
    char id[37];
    Atb__V1__BenefitGranted *bg = recorded_gmi(id);
    Atb__V1__Decision *d = bg->decision;
    /* the forger writes 99.99 where the calculation found 59.00: in the step that computed
     * the benefit ("59.00 per month") and in the result */
    int step = 0;
    const char *field = "result";
    for (size_t i = 0; i < d->n_steps && !step; i++)
        if (strncmp(d->steps[i]->result, "59.00", 5) == 0) {
            memcpy(d->steps[i]->result, "99.99", 5);
            step = (int)i + 1;
        }
    assert_true(step > 0);
    d->result->amount_cents = 9999;
    rehash(d);
    forge(id, bg);
    char label[256];
    snprintf(label, sizeof label, "%s", d->steps[step - 1]->label_en);
    atb__v1__benefit_granted__free_unpacked(bg, NULL);

    Atb__V1__ReplayReply *keep;
    Atb__V1__ReplayedDecision *x = replay_one(id, &keep);
    assert_string_equal(x->mismatch->where, "step");
    assert_int_equal(x->mismatch->step, step);
    assert_string_equal(x->mismatch->field, field);
    assert_string_equal(x->mismatch->label_en, label);
    assert_string_equal(x->mismatch->recorded, "99.99 per month");
    assert_string_equal(x->mismatch->replayed, "59.00 per month");
    if (getenv("MEANS_SHOW"))
        fprintf(stderr, "mismatch: %s step %d (%s / %s) %s: recorded \"%s\", replayed \"%s\"\n", x->mismatch->where,
                x->mismatch->step, x->mismatch->label_lv, x->mismatch->label_en, x->mismatch->field,
                x->mismatch->recorded, x->mismatch->replayed);
    atb__v1__replay_reply__free_unpacked(keep, NULL);
}

static void tampered_amount_alone_is_reported_in_the_result(void **state)
{
    (void)state;
    char id[37];
    Atb__V1__BenefitGranted *bg = recorded_gmi(id);
    bg->decision->result->amount_cents = 9999;
    rehash(bg->decision);
    forge(id, bg);
    atb__v1__benefit_granted__free_unpacked(bg, NULL);
    Atb__V1__ReplayReply *keep;
    Atb__V1__ReplayedDecision *x = replay_one(id, &keep);
    assert_string_equal(x->mismatch->where, "result");
    assert_string_equal(x->mismatch->field, "amount_cents");
    assert_string_equal(x->mismatch->recorded, "9999");
    assert_string_equal(x->mismatch->replayed, "5900");
    atb__v1__replay_reply__free_unpacked(keep, NULL);
}

static void tampered_input_is_reported_by_its_hash(void **state)
{
    (void)state;
    char id[37];
    Atb__V1__BenefitGranted *bg = recorded_gmi(id);
    char recorded[65];
    snprintf(recorded, sizeof recorded, "%s", bg->decision->input_sha256);
    /* the forger forgot the hash: it still names the original application */
    bg->decision->input->household->incomes[0]->amount_cents = 1;
    forge(id, bg);
    atb__v1__benefit_granted__free_unpacked(bg, NULL);
    Atb__V1__ReplayReply *keep;
    Atb__V1__ReplayedDecision *x = replay_one(id, &keep);
    assert_string_equal(x->mismatch->where, "input");
    assert_string_equal(x->mismatch->field, "input_sha256");
    assert_string_equal(x->mismatch->recorded, recorded);
    assert_string_not_equal(x->mismatch->replayed, recorded);
    atb__v1__replay_reply__free_unpacked(keep, NULL);
}

static void replay_of_an_unknown_application_is_not_found(void **state)
{
    (void)state;
    char id[37];
    at_uuid_v4(id);
    Atb__V1__ReplayReply *p = mh_replay(&M, "daugavpils", id);
    assert_non_null(p->error);
    assert_int_equal(p->error->code, ATB__V1__ERROR_CODE__NOT_FOUND);
    char msg[96];
    snprintf(msg, sizeof msg, "no decision for application %s", id);
    assert_string_equal(p->error->message, msg);
    atb__v1__replay_reply__free_unpacked(p, NULL);
    p = mh_replay(&M, "daugavpils", "not-a-uuid");
    assert_int_equal(p->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(p->error->field, "application_id");
    atb__v1__replay_reply__free_unpacked(p, NULL);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_proves_a_recorded_decision),
        cmocka_unit_test(changed_rule_file_leaves_old_replays_proven_and_new_decisions_use_the_new_value),
        cmocka_unit_test(tampered_decision_is_reported_with_the_differing_step),
        cmocka_unit_test(tampered_amount_alone_is_reported_in_the_result),
        cmocka_unit_test(tampered_input_is_reported_by_its_hash),
        cmocka_unit_test(replay_of_an_unknown_application_is_not_found),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
