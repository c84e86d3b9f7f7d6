/*
 * rlog.h -- what the reporting tests share: the log written as means testing and intake
 * would write it (application and decision events appended straight to the event store),
 * so that a test knows every figure of its report by construction.
 */
#ifndef RLOG_H
#define RLOG_H

#include <stdint.h>

#include "es.h"
#include "atb/v1/means.pb-c.h"

/* The writer and the positions a test waits for the projections to reach. */
typedef struct rl_log {
    es_store *writer;           /* appends as the means and intake services would */
    int64_t last_decision;      /* the position of the last decision-<app> event */
    int64_t last_application;   /* ... and of the last event of any other stream */
} rl_log;

/* A household of up to three members, random keys. */
typedef struct rl_household {
    char id[37];
    char keys[3][37];
    int n;
} rl_household;

void rl_household_new(rl_household *h, int n);

/* Append one event of type to stream <category>-<id> of tenant (any version); its position,
 * also kept as last_decision or last_application. Fails the test when it cannot. */
int64_t rl_append(rl_log *l, const char *tenant, const char *category, const char *id, const char *type,
                  const ProtobufCMessage *m);
/* ApplicationReceived and ApplicationDecided of app. */
void rl_received(rl_log *l, const char *tenant, const char *app, Atb__V1__Date on, Atb__V1__Date deadline);
void rl_decided(rl_log *l, const char *tenant, const char *app);
/* The decision of ask ask_index of app for household h on `on` with result r: StatusGranted,
 * StatusRefused, BenefitGranted or BenefitRefused by r's ask and outcome. */
void rl_decision(rl_log *l, const char *tenant, const char *app, int ask_index, const rl_household *h,
                 Atb__V1__Date on, Atb__V1__DecisionResult r);

#endif
