/*
 * rlog.c -- see rlog.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "at_uuid.h"
#include "rlog.h"
#include "atb/v1/intake.pb-c.h"

void rl_household_new(rl_household *h, int n)
{
    at_uuid_v4(h->id);
    h->n = n;
    for (int i = 0; i < n; i++)
        at_uuid_v4(h->keys[i]);
}

int64_t rl_append(rl_log *l, const char *tenant, const char *category, const char *id, const char *type,
                  const ProtobufCMessage *m)
{
    uint8_t buf[4096];
    assert_true(protobuf_c_message_get_packed_size(m) <= sizeof buf);
    size_t n = protobuf_c_message_pack(m, buf);
    char stream[80];
    snprintf(stream, sizeof stream, "%s-%s", category, id);
    es_event_in ev = {.type = type, .payload = buf, .payload_len = n};
    es_append_req req = {.tenant = tenant, .stream_id = stream, .expected_version = ES_VERSION_ANY,
                         .events = &ev, .n_events = 1};
    es_append_res res;
    at_error err;
    if (es_append(l->writer, &req, &res, &err) != ES_OK)
        fail_msg("es_append %s: %s: %s", type, err.message, err.detail);
    if (strcmp(category, "decision") == 0)
        l->last_decision = res.first_position;
    else
        l->last_application = res.first_position;
    return res.first_position;
}

void rl_received(rl_log *l, const char *tenant, const char *app, Atb__V1__Date on, Atb__V1__Date deadline)
{
    Atb__V1__ApplicationReceived a = ATB__V1__APPLICATION_RECEIVED__INIT;
    a.application_id = (char *)app;
    a.received = &on;
    a.deadline = &deadline;
    rl_append(l, tenant, "application", app, "ApplicationReceived", &a.base);
}

void rl_decided(rl_log *l, const char *tenant, const char *app)
{
    Atb__V1__ApplicationDecided a = ATB__V1__APPLICATION_DECIDED__INIT;
    a.application_id = (char *)app;
    rl_append(l, tenant, "application", app, "ApplicationDecided", &a.base);
}

void rl_decision(rl_log *l, const char *tenant, const char *app, int ask_index, const rl_household *h,
                 Atb__V1__Date on, Atb__V1__DecisionResult r)
{
    Atb__V1__HouseholdMember mem[3], *pm[3];
    for (int i = 0; i < h->n; i++) {
        atb__v1__household_member__init(&mem[i]);
        mem[i].key = (char *)h->keys[i];
        pm[i] = &mem[i];
    }
    Atb__V1__Household hh = ATB__V1__HOUSEHOLD__INIT;
    hh.id = (char *)h->id;
    hh.members = pm;
    hh.n_members = (size_t)h->n;
    Atb__V1__DecisionInput in = ATB__V1__DECISION_INPUT__INIT;
    in.tenant = (char *)tenant;
    in.application_id = (char *)app;
    in.decision_date = &on;
    in.ask_index = ask_index;
    in.household = &hh;
    Atb__V1__Decision d = ATB__V1__DECISION__INIT;
    d.application_id = (char *)app;
    d.ask_index = ask_index;
    d.input = &in;
    d.result = &r;
    bool status =
        r.ask == ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS || r.ask == ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS;
    bool granted = r.outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    /* the four events are the same message */
    Atb__V1__StatusGranted ev = ATB__V1__STATUS_GRANTED__INIT;
    ev.decision = &d;
    rl_append(l, tenant, "decision", app,
              status ? (granted ? "StatusGranted" : "StatusRefused") : (granted ? "BenefitGranted" : "BenefitRefused"),
              &ev.base);
}
