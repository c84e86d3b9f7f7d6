/*
 * intake.h -- This file is private to services/intake: what its files share.
 *
 * handlers.c     the command table and the schema (migrations) of the service
 * common.c       what every aggregate uses: dates, checks, packing, reading a stream,
 *                appending in a transaction, the note store and the stream index
 * person.c       the Person aggregate: RegisterPerson, GetPerson, FindPersons,
 *                RecordPersonFact, CorrectPerson (person_fold() folds its stream)
 * identity.c     the erasable identity store, intake.identities
 * household.c    the Household aggregate and the one-household-at-a-time rule
 * application.c  the Application aggregate: submission, declaration, status, the file
 *                handed to means testing, and the consumer that records decisions
 * visit.c        home visits; agreement.c co-operation agreements and duties;
 * appeal.c       appeals; casefile.c cases and their activity log; history.c the
 *                case history in log order
 *
 * Every function here runs on a worker thread of libs/service and may block.
 */
#ifndef INTAKE_H
#define INTAKE_H

#include <libpq-fe.h>

#include "svc.h"
#include "at_date.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

extern const svc_command intake_commands[];
extern const size_t intake_n_commands;
extern const char *const intake_migrations[];
extern const size_t intake_n_migrations;

/* person.c: the Person aggregate (stream person-<key>, category "person"). Handlers in
 * the svc_handler_fn shape; see person.c for what each answers. */
at_code person_register(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code person_get(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* identity.c: names and personal codes live only here, never in an event. */
#define IDENTITY_NAME_MAX 100          /* bytes of a given or family name */

typedef struct identity {
    char person_key[37];
    char personal_code[13];            /* normalised, "DDMMYY-CNNNN" */
    char given_name[IDENTITY_NAME_MAX + 1];
    char family_name[IDENTITY_NAME_MAX + 1];
} identity;

/* Insert id inside the caller's transaction (c is es_txn_conn()).
 *  AT_OK        inserted, or a row with id->person_key exists already (the same command
 *               again: its key is derived from the command id; the caller's append then
 *               finds the first result);
 *  AT_CONFLICT  the personal code is registered in the tenant under another key, which is
 *               copied to existing_key; err says so, with the key in the detail;
 *  AT_UNAVAILABLE  PostgreSQL failed (the transaction is then failed too). */
at_code identity_insert(PGconn *c, const char *tenant, const identity *id, char existing_key[37],
                        at_error *err);

/* Find the identity of the tenant by key or by normalised personal code (exactly one of
 * them not NULL). AT_NOT_FOUND when there is none or it was erased; AT_UNAVAILABLE. */
at_code identity_find(PGconn *c, const char *tenant, const char *key, const char *personal_code,
                      identity *out, at_error *err);

/* Lock the person's identity row until the transaction ends (FOR UPDATE): changes of one
 * person's memberships serialise on it. AT_NOT_FOUND when the tenant has no such person. */
at_code identity_lock(PGconn *c, const char *tenant, const char *key, at_error *err);

/* Erase the identity: names NULL, the personal code replaced, erased_at set (readers skip
 * the row; the key stays so a retried command still finds what it derived). AT_NOT_FOUND
 * when the tenant has no such person or it was erased already. */
at_code identity_erase(PGconn *c, const char *tenant, const char *key, at_error *err);

/* Change the names of a registered person (CorrectPerson); NULL or "" leaves a name. */
at_code identity_rename(PGconn *c, const char *tenant, const char *key, const char *given, const char *family,
                        at_error *err);

/* ---- common.c ------------------------------------------------------------------------ */

#define INTAKE_TEXT_MAX 4000           /* bytes of a note (findings, reasons, activity) */
#define INTAKE_CODE_MAX 48             /* bytes of a code ("no_heating", "seek_work") */

/* Lower-case the ASCII letters of a key in place (NULL is a no-op): keys are UUIDs,
 * compared as text in stream ids, so they are kept in one case. */
void intake_lower(char *s);

/* "2018-03-15", or "-" for AT_DATE_NONE; buf of at least 11 bytes. */
const char *intake_date_text(at_date d, char *buf);

/* Checks of command fields; each names `field` in err and returns AT_VALIDATION.
 *  intake_check_date: the date exists; required: it is given; not_future: not after today.
 *  intake_check_key: a UUID (required) or "" (optional).
 *  intake_check_text: valid UTF-8, at most max bytes, no control characters but newline
 *                     and tab; required: not blank.
 *  intake_check_code: [a-z0-9_], 1..INTAKE_CODE_MAX bytes.
 *  intake_check_cents: >= 0. */
at_code intake_check_date(const Atb__V1__Date *d, const char *field, bool required, bool not_future, at_date *out,
                          at_error *err);
at_code intake_check_key(const char *s, const char *field, bool required, at_error *err);
at_code intake_check_text(const char *s, const char *field, size_t max, bool required, at_error *err);
at_code intake_check_code(const char *s, const char *field, at_error *err);
at_code intake_check_cents(int64_t v, const char *field, at_error *err);

/* Read a whole stream of the request's tenant (NOT_FOUND-free: a missing stream is an
 * empty batch). Free with es_batch_free(). */
at_code intake_read(svc_request *req, const char *stream, es_batch **out, at_error *err);
/* Unpack an event of the stream into the arena; AT_INTERNAL naming the position when the
 * bytes do not decode (the log holds only what intake packed: that is a fault). */
ProtobufCMessage *intake_unpack(at_arena *a, const ProtobufCMessageDescriptor *d, const es_event *e, at_error *err);

/* A write: a transaction on a pooled connection, appends (last: they take the log's head
 * lock), then the commit and the reply. */
at_code intake_begin(svc_request *req, es_txn **t, at_error *err);
/* Append to `stream` at `expected` (the version the handler validated against, or
 * ES_VERSION_NONE for a new stream). `part` 0 uses the command id; a second stream of the
 * same command passes 1, 2, ... and gets an id derived from the command id (the log keeps
 * one result per command id). On failure the transaction is rolled back. */
at_code intake_append(svc_request *req, es_txn *t, const char *stream, int64_t expected, es_event_in *evs,
                      size_t n, int part, es_append_res *res, at_error *err);
/* Commit (or, when res->duplicate says the command was done before, roll back and answer
 * as the first time) and build the CommandReply with stream, key and positions. */
at_code intake_finish(svc_request *req, es_txn *t, const char *stream, const char *key, const es_append_res *res,
                      ProtobufCMessage **reply, at_error *err);

/* The version a command appends at: the one folded (`current`), after checking the
 * client's expected version against it when one was sent. CONFLICT names both. */
at_code intake_expect(const svc_request *req, const char *stream, int64_t current, at_error *err);

/* Derive a key (UUID) for what the command creates; `what` tells creations of one
 * command apart ("household", "note:findings"). Retries derive the same key. */
void intake_key(const svc_request *req, const char *what, char out[37]);

/* The note store, intake.notes: free text kept out of events. note_put stores text under
 * a key derived from the command id and `what` (nothing for "": out = ""), idempotent for
 * retries. note_get gives the text in the arena, "" when absent or erased. */
at_code note_put(svc_request *req, es_txn *t, const char *what, const char *text, char out[37], at_error *err);
const char *note_get(svc_request *req, const char *key);

/* The stream index, intake.links: which person, household and application a stream
 * belongs to (the case history and "the household of a person" read it). Written in the
 * transaction of the stream's first event. "" or NULL for what does not apply. */
at_code link_put(es_txn *t, const char *tenant, const char *stream, const char *kind, const char *person,
                 const char *household, const char *application, at_error *err);

/* PostgreSQL failed: UNAVAILABLE with its message and SQLSTATE (retry with the same id). */
at_code intake_pg_failed(PGresult *r, const char *what, at_error *err);

/* ---- aggregates ------------------------------------------------------------------------ */

/* person.c */
at_code person_find(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code person_record_fact(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code person_correct(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code person_erase(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* A person's stream folded: the facts the rules need. */
typedef struct person_state {
    int64_t version;                    /* 0: no such stream */
    at_date birth_date, registered_on;
    Atb__V1__Sex sex;
    size_t n_facts;
    Atb__V1__PersonFactView **facts;    /* every fact, in log order, in the arena; reason and
                                           address hold note keys (GetPerson resolves them) */
} person_state;
at_code person_fold(svc_request *req, const char *person_key, person_state *out, at_error *err);
/* The means-testing member of a person on `on`: birth date, flags in force (FLAG facts,
 * employment, school, disability, residence in the tenant since). key and relationship
 * are the caller's. */
at_code person_member(svc_request *req, const person_state *p, at_date on, Atb__V1__HouseholdMember *m,
                      at_error *err);

/* household.c */
at_code household_create(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code household_add(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code household_remove(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code household_get(svc_request *req, ProtobufCMessage **reply, at_error *err);

typedef struct household_member_state {
    const char *person_key;
    Atb__V1__Relationship relationship;
    at_date joined, left;               /* left AT_DATE_NONE: still a member */
} household_member_state;
typedef struct household_state {
    int64_t version;                    /* 0: no such household */
    size_t n;
    household_member_state *m;          /* in the arena, in join order */
} household_state;
/* Fold household-<key> up to log position at_position (0 = all). */
at_code household_fold(svc_request *req, const char *key, int64_t at_position, household_state *out,
                       at_error *err);
/* The household the person is in on `on` (out "" when none). */
at_code household_of(svc_request *req, const char *person_key, at_date on, char out[37], at_error *err);
/* True when the member state holds the person on `on`. */
bool household_has(const household_state *h, const char *person_key, at_date on);

/* application.c */
at_code application_submit(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code application_declare(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code application_incomplete(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code application_complete(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code application_withdraw(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code application_get(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code application_receipts(svc_request *req, ProtobufCMessage **reply, at_error *err);
/* Consumer "intake-decisions": decision events -> ApplicationDecided; AssessmentFailed ->
 * ApplicationReturned. */
at_code application_on_decision(void *ctx, es_txn *txn, const es_event *ev, at_error *err);

typedef struct application_state {
    int64_t version;                    /* 0: no such application */
    Atb__V1__ApplicationStatus status;
    Atb__V1__ApplicationReceived *received;
    Atb__V1__DeclarationSubmitted *declaration;   /* the latest, or NULL */
    Atb__V1__ApplicationIncomplete *incomplete;   /* the latest, or NULL */
    bool completed;
    bool receipts;                      /* ReceiptsSubmitted recorded */
    Atb__V1__Error *returned;           /* the last ApplicationReturned's error, NULL after a
                                           later ApplicationCompleted */
    size_t n_appeals;
    char **appeals;
} application_state;
at_code application_fold(svc_request *req, const char *id, application_state *out, at_error *err);

/* visit.c, agreement.c, appeal.c, casefile.c, history.c */
at_code visit_record(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code agreement_make(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code agreement_outcome(svc_request *req, ProtobufCMessage **reply, at_error *err);
/* The member flag cooperation_failed on `on`: a duty of an agreement of the person has
 * failed on or before `on` and no later outcome of it says fulfilled. */
at_code agreement_failed_on(svc_request *req, const char *person_key, at_date on, bool *failed, at_error *err);
at_code appeal_file(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code appeal_decide(svc_request *req, ProtobufCMessage **reply, at_error *err);
typedef struct case_state {
    int64_t version;                    /* 0: no such case */
    Atb__V1__CaseOpened *opened;
    const char *worker;                 /* the responsible worker now */
    bool active;
} case_state;
at_code case_fold(svc_request *req, const char *key, case_state *out, at_error *err);
at_code case_open(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code case_change(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code case_log(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code case_history(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* lists.c */
at_code lists_person_cases(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code lists_household_applications(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code lists_person_agreements(svc_request *req, ProtobufCMessage **reply, at_error *err);

#endif
