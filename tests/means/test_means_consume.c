/*
 * test_means_consume.c -- the consumers of intake's events (services/means/consume.c)
 * through the atbalsts-means binary and atbalsts-relay, against real PostgreSQL and NATS.
 * The events are appended into the log as intake appends them (es_append as role
 * atb_intake, real protobuf bytes): an ApplicationCompleted is decided exactly as
 * AssessApplication decides the same input; once, across a crash and a checkpoint moved
 * back; a payload that does not decode, or a household the rules refuse, is a dead letter
 * and appends nothing; a service ask is skipped (and refused by the command); an appeal's
 * CHANGED outcome becomes exactly one DecisionOverridden of kind APPEAL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "at_uuid.h"
#include "es.h"
#include "meanshelp.h"
#include "atb/v1/intake.pb-c.h"

#define WAIT_MS 60000

static mh M;
static es_store *ES;   /* as role atb_intake: the events are appended as intake appends them */

static int setup(void **state)
{
    (void)state;
    mh_prepare(&M);
    mh_relay_start(&M);
    mh_start(&M, NULL);
    char ci[600];
    t_db_conninfo(&M.sv.db, "atb_intake", ci, sizeof ci);
    es_config cfg = {.conninfo = ci, .pool_size = 2};
    at_error err;
    if (es_open(&ES, &cfg, &err) != ES_OK) {
        fprintf(stderr, "es_open as atb_intake: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    es_close(ES);
    mh_cleanup(&M);
    return 0;
}

static int64_t sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t sql(const char *fmt, ...)
{
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    return sh_sql(&M.sv, q);
}

static int64_t wait_sql(int64_t want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t wait_sql(int64_t want, const char *fmt, ...)
{
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    return mh_wait_sql(&M, want, WAIT_MS, q);
}

/* Append one event as intake would; its event id into event_id; returns its position. */
static int64_t append(const char *stream, const char *type, const uint8_t *payload, size_t len,
                      char event_id[AT_UUID_LEN + 1])
{
    char command_id[AT_UUID_LEN + 1], correlation[AT_UUID_LEN + 1];
    at_uuid_v4(event_id);
    at_uuid_v4(command_id);
    at_uuid_v4(correlation);
    es_event_in ev = {.type = type, .payload = payload, .payload_len = len, .event_id = event_id};
    es_append_req req = {
        .tenant = "daugavpils",
        .stream_id = stream,
        .expected_version = ES_VERSION_ANY,
        .command_id = command_id,
        .correlation_id = correlation,
        .actor = "user:ilze.test",
        .events = &ev,
        .n_events = 1,
    };
    es_append_res res;
    at_error err;
    if (es_append(ES, &req, &res, &err) != ES_OK)
        fail_msg("append %s to %s: %s (%s)", type, stream, err.message, err.detail);
    return res.first_position;
}

static int64_t append_msg(const char *stream, const char *type, const ProtobufCMessage *m,
                          char event_id[AT_UUID_LEN + 1])
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n + 1);
    protobuf_c_message_pack(m, buf);
    int64_t pos = append(stream, type, buf, n, event_id);
    free(buf);
    return pos;
}

/* ApplicationCompleted of the family, as intake's CompleteApplication appends it. */
static int64_t complete(mh_family *f, char event_id[AT_UUID_LEN + 1])
{
    Atb__V1__ApplicationCompleted ac = ATB__V1__APPLICATION_COMPLETED__INIT;
    ac.application_id = f->app_id;
    ac.application = &f->app;
    ac.household = &f->hh;
    ac.completed_on = &f->decision;
    char stream[64];
    snprintf(stream, sizeof stream, "application-%s", f->app_id);
    return append_msg(stream, "ApplicationCompleted", &ac.base, event_id);
}

static int64_t decisions_of(const char *app_id)
{
    return sql("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s'", app_id);
}

static void wait_decisions(const char *app_id, int64_t n)
{
    assert_int_equal(wait_sql(n, "SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s'", app_id), n);
}

static void wait_checkpoint(const char *consumer, int64_t position)
{
    assert_int_equal(wait_sql(1, "SELECT count(*) FROM atb.checkpoints WHERE consumer = '%s' AND position >= %lld",
                              consumer, (long long)position),
                     1);
}

/* The Decision of event `version` of decision-<app_id>, and its type. Free with
 * atb__v1__status_granted__free_unpacked (the four decision events share one layout). */
static Atb__V1__StatusGranted *decision_at(const char *app_id, int version, char *type, size_t n)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT type FROM atb.events WHERE stream_id = 'decision-%s' AND version = %d", app_id,
             version);
    sh_sql_text(&M.sv, q, type, n);
    snprintf(q, sizeof q, "SELECT payload FROM atb.events WHERE stream_id = 'decision-%s' AND version = %d", app_id,
             version);
    size_t len = 0;
    uint8_t *p = mh_sql_bytes(&M, q, &len);
    assert_non_null(p);
    Atb__V1__StatusGranted *d = atb__v1__status_granted__unpack(NULL, len, p);
    free(p);
    assert_non_null(d);
    assert_non_null(d->decision);
    return d;
}

static bool same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    if (na != nb)
        return false;
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    bool same = memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

static void malformed_events_are_dead_letters_and_undecidable_ones_are_returned(void **state)
{
    (void)state;
    int64_t before = sql("SELECT coalesce(max(position), 0) FROM atb.events");
    char ev_received[37], ev_garbage[37], ev_refused[37], stream[64];

    /* another event type of the category: acknowledged, no effect, no dead letter */
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__ApplicationReceived ar = ATB__V1__APPLICATION_RECEIVED__INIT;
    ar.application_id = f.app_id;
    ar.applicant = f.key[0];
    ar.household_key = f.household;
    ar.asks = f.ap;
    ar.n_asks = 2;
    ar.received = &f.decision;
    snprintf(stream, sizeof stream, "application-%s", f.app_id);
    append_msg(stream, "ApplicationReceived", &ar.base, ev_received);

    /* bytes that are not an ApplicationCompleted: field 1 claims 5 bytes, 1 follows */
    static const uint8_t garbage[] = {0x0a, 0x05, 0x01};
    int64_t p_garbage = append(stream, "ApplicationCompleted", garbage, sizeof garbage, ev_garbage);

    /* a household the rules refuse (a negative income): not a dead letter but an
     * AssessmentFailed with the reason, which intake returns to the caseworker */
    mh_family g;
    mh_family_init(&g, 2018, 3, 15, 10000);
    g.inc[1].amount_cents = -100;
    int64_t p_refused = complete(&g, ev_refused);

    assert_int_equal(wait_sql(1, "SELECT count(*) FROM atb.dead_letters WHERE consumer = 'means-applications'"), 1);
    wait_checkpoint("means-applications", p_refused);
    assert_int_equal(sql("SELECT code FROM atb.dead_letters WHERE consumer = 'means-applications' AND position = %lld",
                         (long long)p_garbage),
                     ATB__V1__ERROR_CODE__MALFORMED);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE stream_id = 'assessment-%s' AND "
                         "type = 'AssessmentFailed' AND causation_id = '%s'", g.app_id, ev_refused),
                     1);
    char q[160];
    snprintf(q, sizeof q, "SELECT payload FROM atb.events WHERE stream_id = 'assessment-%s'", g.app_id);
    size_t n = 0;
    uint8_t *bytes = mh_sql_bytes(&M, q, &n);
    assert_non_null(bytes);
    Atb__V1__AssessmentFailed *af = atb__v1__assessment_failed__unpack(NULL, n, bytes);
    free(bytes);
    assert_non_null(af);
    assert_non_null(af->error);
    assert_int_equal(af->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_non_null(strstr(af->error->message, "negative income for member"));
    assert_int_equal(af->completed_position, p_refused);
    atb__v1__assessment_failed__free_unpacked(af, NULL);
    /* nothing but the three events themselves and the failure: no decision, no rule set,
     * no projection (the attempt was undone to its savepoint) */
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE position > %lld", (long long)before), 4);
    assert_int_equal(decisions_of(f.app_id), 0);
    assert_int_equal(decisions_of(g.app_id), 0);
    /* (the rule sets were published when the service started, before `before`) */
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE type = 'RuleSetPublished' AND position > %lld",
                         (long long)before), 0);
    assert_int_equal(sql("SELECT count(*) FROM means.grants"), 0);
}

static void completed_application_is_decided_as_assess_application_decides(void **state)
{
    (void)state;
    mh_family f;
    /* document 004 (seeds 7.1 case 2): needy status and 59.00 GMI a month in 2018 */
    mh_family_init(&f, 2018, 3, 15, 10000);
    char ev[37];
    complete(&f, ev);
    wait_decisions(f.app_id, 2);

    /* the same input under other ids (its own household, so no history is shared) */
    mh_family g;
    mh_family_init(&g, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &g.cmd);
    assert_true(r->error == NULL || r->error->code == 0);
    assert_int_equal(r->n_decisions, 2);
    Atb__V1__ExplainReply *e = mh_explain(&M, "daugavpils", g.app_id);
    assert_int_equal(e->n_decisions, 2);
    for (int i = 0; i < 2; i++) {
        char type[64];
        Atb__V1__StatusGranted *d = decision_at(f.app_id, i + 1, type, sizeof type);
        Atb__V1__Decision *ours = d->decision, *theirs = e->decisions[i]->decision;
        assert_string_equal(type, r->decisions[i]->event_type);
        assert_int_equal(ours->ask_index, r->decisions[i]->ask_index);
        assert_true(same_message(&ours->result->base, &r->decisions[i]->result->base));
        assert_int_equal(ours->n_rule_sets, 1);
        assert_string_equal(ours->rule_sets[0]->version, r->decisions[i]->rule_set_versions[0]);
        assert_int_equal(ours->rule_sets[0]->position, theirs->rule_sets[0]->position);
        assert_int_equal(ours->n_steps, theirs->n_steps);
        for (size_t s = 0; s < ours->n_steps; s++) {
            assert_string_equal(ours->steps[s]->label_en, theirs->steps[s]->label_en);
            assert_string_equal(ours->steps[s]->result, theirs->steps[s]->result);
            assert_int_equal(ours->steps[s]->outcome, theirs->steps[s]->outcome);
        }
        assert_string_equal(ours->input->application_id, f.app_id);
        assert_string_equal(ours->input->tenant, "daugavpils");
        atb__v1__status_granted__free_unpacked(d, NULL);
    }
    assert_int_equal(r->decisions[1]->result->amount_cents, 5900);
    atb__v1__explain_reply__free_unpacked(e, NULL);
    atb__v1__assess_reply__free_unpacked(r, NULL);

    /* caused by the event, recorded for the worker who completed the application, in one
     * append, and the rule set published once */
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s' AND causation_id = '%s' "
                         "AND actor = 'user:ilze.test'",
                         f.app_id, ev),
                     2);
    assert_int_equal(sql("SELECT count(DISTINCT command_id) FROM atb.events WHERE stream_id = 'decision-%s'",
                         f.app_id),
                     1);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE type = 'RuleSetPublished' AND tenant = "
                         "'daugavpils'"),
                     1);
    /* the grants are in the projection a later decision of the household reads */
    assert_int_equal(sql("SELECT count(*) FROM means.grants WHERE application_id = '%s'", f.app_id), 2);
    Atb__V1__ReplayReply *rp = mh_replay(&M, "daugavpils", f.app_id);
    assert_true(rp->proven);
    atb__v1__replay_reply__free_unpacked(rp, NULL);
}

/* Asks: needy status, a social service, GMI. */
static void with_service_ask(mh_family *f)
{
    mh_family_init(f, 2018, 3, 15, 10000);
    f->ask[2] = f->ask[1];
    atb__v1__ask__init(&f->ask[1]);
    f->ask[1].kind = ATB__V1__ASK_KIND__ASK_KIND_SERVICE;
    f->ask[1].benefit = "HOME_CARE";
    f->ap[2] = &f->ask[2];
    f->app.n_asks = 3;
}

static void service_ask_is_refused_by_the_command_and_skipped_in_the_event(void **state)
{
    (void)state;
    mh_family f;
    with_service_ask(&f);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f.cmd);
    assert_non_null(r->error);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(r->error->field, "application.asks.1.kind");
    assert_string_equal(r->error->message, "means testing does not decide social services");
    assert_non_null(strstr(r->error->hint, "Service allocation decides social services"));
    atb__v1__assess_reply__free_unpacked(r, NULL);
    assert_int_equal(decisions_of(f.app_id), 0);

    /* intake leaves service asks out; one that is there anyway is skipped, and the others
     * keep their places */
    char ev[37];
    complete(&f, ev);
    wait_decisions(f.app_id, 2);
    char type[64];
    Atb__V1__StatusGranted *d = decision_at(f.app_id, 1, type, sizeof type);
    assert_string_equal(type, "StatusGranted");
    assert_int_equal(d->decision->ask_index, 1);
    atb__v1__status_granted__free_unpacked(d, NULL);
    d = decision_at(f.app_id, 2, type, sizeof type);
    assert_string_equal(type, "BenefitGranted");
    assert_int_equal(d->decision->ask_index, 3);
    assert_string_equal(d->decision->result->benefit, "GMI");
    atb__v1__status_granted__free_unpacked(d, NULL);
    Atb__V1__ReplayReply *rp = mh_replay(&M, "daugavpils", f.app_id);
    assert_true(rp->proven);
    assert_int_equal(rp->n_decisions, 2);
    atb__v1__replay_reply__free_unpacked(rp, NULL);
}

static int64_t handled_metric(const char *consumer)
{
    char body[65536], series[160];
    if (sh_get(M.sv.http_port, "/metrics", body, sizeof body) != 200)
        return -1;
    snprintf(series, sizeof series, "atb_events_handled_total{service=\"means\",consumer=\"%s\"}", consumer);
    return sh_metric(body, series);
}

static void redelivery_after_a_crash_and_a_checkpoint_moved_back_decides_nothing_twice(void **state)
{
    (void)state;
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    char ev_f[37], ev_g[37];
    complete(&f, ev_f);
    wait_decisions(f.app_id, 2);
    int64_t dead = sql("SELECT count(*) FROM atb.dead_letters");
    int64_t sets = sql("SELECT count(*) FROM atb.events WHERE type = 'RuleSetPublished'");

    /* a crash, and the checkpoint moved back to the start: every ApplicationCompleted of
     * the log is handed to the handler again (from the log, as the stream has them acked) */
    mh_crash(&M);
    sql("UPDATE atb.checkpoints SET position = 0 WHERE consumer = 'means-applications' RETURNING 1");
    mh_start(&M, NULL);
    mh_family g;
    mh_family_init(&g, 2018, 3, 15, 10000);
    int64_t p_g = complete(&g, ev_g);
    wait_decisions(g.app_id, 2);
    wait_checkpoint("means-applications", p_g);

    /* the handler ran again for each of them, and each found its decision in the log */
    int64_t again = sql("SELECT count(*) FROM atb.events e WHERE category = 'application' AND position <= %lld AND "
                        "NOT EXISTS (SELECT 1 FROM atb.dead_letters d WHERE d.consumer = 'means-applications' "
                        "AND d.position = e.position)",
                        (long long)p_g);
    int64_t got = -1;
    for (int i = 0; i < WAIT_MS / 50 && (got = handled_metric("means-applications")) != again; i++)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    assert_int_equal(got, again);
    assert_int_equal(decisions_of(f.app_id), 2);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE causation_id = '%s'", ev_f), 2);
    /* no application of the log has a second decision, no second rule set, no new dead letter */
    assert_int_equal(sql("SELECT count(*) FROM (SELECT stream_id FROM atb.events WHERE category = 'decision' "
                         "GROUP BY stream_id HAVING count(DISTINCT command_id) > 1) AS x"),
                     0);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE type = 'RuleSetPublished'"), sets);
    assert_int_equal(sql("SELECT count(*) FROM atb.dead_letters"), dead);
    assert_int_equal(sql("SELECT count(*) FROM means.grants WHERE application_id = '%s'", f.app_id), 2);

    /* a plain restart: nothing either */
    assert_int_equal(mh_stop(&M), 0);
    mh_start(&M, NULL);
    char ev_h[37];
    mh_family h;
    mh_family_init(&h, 2018, 3, 15, 10000);
    complete(&h, ev_h);
    wait_decisions(h.app_id, 2);
    assert_int_equal(decisions_of(f.app_id), 2);
    assert_int_equal(decisions_of(g.app_id), 2);
}

static void set_date(Atb__V1__Date *d, int y, int m, int day)
{
    atb__v1__date__init(d);
    d->year = y;
    d->month = m;
    d->day = day;
}

static int64_t appeal_decided(const char *appeal_key, const char *app_id, Atb__V1__AppealOutcome outcome,
                              Atb__V1__DecisionResult *result, char ev[AT_UUID_LEN + 1])
{
    Atb__V1__Date on;
    set_date(&on, 2018, 4, 2);
    char note[37];
    at_uuid_v4(note);
    Atb__V1__AppealDecided ad = ATB__V1__APPEAL_DECIDED__INIT;
    ad.appeal_key = (char *)appeal_key;
    ad.application_id = (char *)app_id;
    ad.ask_index = 1;
    ad.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL;
    ad.outcome = outcome;
    ad.decided_on = &on;
    ad.reference = "council decision No. 12 of 2018-04-02";
    ad.reasoning_note = note;
    ad.result = result;
    char stream[64];
    snprintf(stream, sizeof stream, "appeal-%s", appeal_key);
    return append_msg(stream, "AppealDecided", &ad.base, ev);
}

static int64_t appeal_filed(const char *appeal_key, const char *app_id, char ev[AT_UUID_LEN + 1])
{
    Atb__V1__Date on;
    set_date(&on, 2018, 3, 20);
    Atb__V1__AppealFiled af = ATB__V1__APPEAL_FILED__INIT;
    af.appeal_key = (char *)appeal_key;
    af.application_id = (char *)app_id;
    af.ask_index = 1;
    af.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL;
    af.filed_on = &on;
    char stream[64];
    snprintf(stream, sizeof stream, "appeal-%s", appeal_key);
    return append_msg(stream, "AppealFiled", &af.base, ev);
}

static void appeal_changed_becomes_one_override_of_kind_appeal(void **state)
{
    (void)state;
    /* 600.00 a month: status refused */
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 60000);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f.cmd);
    assert_true(r->error == NULL || r->error->code == 0);
    assert_string_equal(r->decisions[0]->event_type, "StatusRefused");
    int64_t refused_at = r->decisions[0]->position;
    atb__v1__assess_reply__free_unpacked(r, NULL);

    char a1[37], a2[37], ev[37], ev_changed[37];
    at_uuid_v4(a1);
    at_uuid_v4(a2);
    appeal_filed(a1, f.app_id, ev);
    appeal_decided(a1, f.app_id, ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_UPHELD, NULL, ev);
    appeal_filed(a2, f.app_id, ev);
    Atb__V1__DecisionResult res = ATB__V1__DECISION_RESULT__INIT;
    Atb__V1__Date from, to;
    set_date(&from, 2018, 4, 2);
    set_date(&to, 2018, 7, 1);
    res.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    res.status = ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY;
    res.period_from = &from;
    res.period_to = &to;
    int64_t p_changed = appeal_decided(a2, f.app_id, ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_CHANGED, &res, ev_changed);

    wait_checkpoint("means-appeals", p_changed);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s' AND type = "
                         "'DecisionOverridden'",
                         f.app_id),
                     1);
    assert_int_equal(sql("SELECT count(*) FROM atb.dead_letters WHERE consumer = 'means-appeals'"), 0);
    char q[256];
    snprintf(q, sizeof q, "SELECT payload FROM atb.events WHERE stream_id = 'decision-%s' AND type = "
                          "'DecisionOverridden'", f.app_id);
    size_t len = 0;
    uint8_t *p = mh_sql_bytes(&M, q, &len);
    Atb__V1__DecisionOverridden *o = atb__v1__decision_overridden__unpack(NULL, len, p);
    free(p);
    assert_non_null(o);
    assert_string_equal(o->application_id, f.app_id);
    assert_int_equal(o->ask_index, 1);
    assert_int_equal(o->kind, ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_APPEAL);
    assert_string_equal(o->decided_by, "appeal:council");
    assert_string_equal(o->reference, "council decision No. 12 of 2018-04-02");
    assert_int_equal(o->decided_on->year, 2018);
    assert_int_equal(o->decided_on->month, 4);
    assert_int_equal(o->decided_on->day, 2);
    assert_int_equal(o->previous->outcome, ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED);
    assert_int_equal(o->result->outcome, ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED);
    assert_int_equal(o->result->status, ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY);
    assert_int_equal(o->result->ask, ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS);
    assert_int_equal(o->overridden_position, refused_at);
    assert_string_equal(o->actor, "user:ilze.test");
    assert_non_null(strstr(o->reason, a2));
    atb__v1__decision_overridden__free_unpacked(o, NULL);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE type = 'DecisionOverridden' AND causation_id = '%s' "
                         "AND actor = 'user:ilze.test'",
                         ev_changed),
                     1);
    /* the projection follows: a later decision of the household sees the status */
    assert_int_equal(sql("SELECT count(*) FROM means.grants WHERE application_id = '%s' AND kind = 'status' AND "
                         "period_from = '2018-04-02'",
                         f.app_id),
                     1);

    /* once: a crash and the appeals checkpoint moved back hand every appeal event to the
     * handler again */
    mh_crash(&M);
    sql("UPDATE atb.checkpoints SET position = 0 WHERE consumer = 'means-appeals' RETURNING 1");
    mh_start(&M, NULL);
    char a3[37];
    at_uuid_v4(a3);
    int64_t p_last = appeal_filed(a3, f.app_id, ev);
    wait_checkpoint("means-appeals", p_last);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s' AND type = "
                         "'DecisionOverridden'",
                         f.app_id),
                     1);
    assert_int_equal(sql("SELECT count(*) FROM atb.dead_letters WHERE consumer = 'means-appeals'"), 0);
    Atb__V1__ExplainReply *e = mh_explain(&M, "daugavpils", f.app_id);
    assert_int_equal(e->n_overrides, 1);
    assert_int_equal(e->version, 3);
    atb__v1__explain_reply__free_unpacked(e, NULL);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        /* first: nothing has been published yet, so the refused household's rule set
         * append inside the consumer's transaction is part of what must not remain */
        cmocka_unit_test(malformed_events_are_dead_letters_and_undecidable_ones_are_returned),
        cmocka_unit_test(completed_application_is_decided_as_assess_application_decides),
        cmocka_unit_test(service_ask_is_refused_by_the_command_and_skipped_in_the_event),
        cmocka_unit_test(redelivery_after_a_crash_and_a_checkpoint_moved_back_decides_nothing_twice),
        cmocka_unit_test(appeal_changed_becomes_one_override_of_kind_appeal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
