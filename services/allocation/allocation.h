/*
 * allocation.h -- This file is private to services/allocation: what its files share.
 *
 * catalogue.c   the catalogue files (one per municipality): services with dated
 *               eligibility, limits, tariffs and payers; providers and their units; purchase
 *               agreements. Loaded at start, published into the log (CataloguePublished).
 * eligible.c    the eligibility rule and the priority rule, pure functions
 * common.c      dates, checks, packing, transactions, derived keys (the write path)
 * request.c     RequestService, RecordAssessment, GetWaitingList
 * place.c       Allocate, AnswerOffer, EmergencyAdmission, ChangePlacement, Discharge: the
 *               only writers of places, each under the unit's row lock (allocation.units
 *               FOR UPDATE)
 * occupancy.c   GetOccupancy: a unit's occupancy on any date, folded from the log
 * charges.c     RecordCharges: ChargeRecorded and InterMunicipalCharge for a period
 * withdraw.c    WithdrawServiceRequest and ExpireOffers: a request or an offer that ends
 *               without a placement, its place offered to the next person at once
 * consume.c     the consumers: statuses from means testing's decisions (allocation.statuses),
 *               requests from the service asks of intake's completed applications
 * handlers.c    the command table and the schema
 *
 * Every handler runs on a worker thread of libs/service and may block. The handlers take
 * only what svc_request carries, so bench/bench_allocation.c calls them without NATS.
 */
#ifndef ALLOCATION_H
#define ALLOCATION_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "at_date.h"
#include "svc.h"
#include "atb/v1/allocation.pb-c.h"

#define AL_CODE_MAX 48
#define AL_MAX_LIST 16

/* ---- catalogue.c ---------------------------------------------------------------------- */

typedef enum al_unit { AL_UNIT_HOUR, AL_UNIT_DAY, AL_UNIT_PLACE, AL_UNIT_TRIP } al_unit;

typedef struct al_limit {            /* a weekly ceiling for persons of an age range */
    int age_min, age_max;            /* inclusive; age_max -1 = no upper bound */
    int per_week;                    /* hours or trips */
} al_limit;

/* One dated version of a service type of a municipality. */
typedef struct al_service {
    char code[AL_CODE_MAX + 1];
    at_period valid;
    al_unit unit;
    bool emergency;                  /* admits outside the waiting list (crisis centre) */
    int age_min, age_max;            /* age_max -1 = none */
    int care_level_min;              /* 0 = no assessment needed */
    int n_groups;
    int disability_groups[4];        /* empty = any; else one of these is needed */
    bool needy_only, low_income_ok;  /* status: needy_only, or needy/low-income, or any */
    bool any_status;
    bool residents_only;
    int n_targets;
    char targets[AL_MAX_LIST][AL_CODE_MAX + 1];   /* empty = any; else one is needed */
    int n_limits;
    al_limit limits[4];
    int64_t tariff_cents;            /* per unit */
    char funding[24];                /* municipality, state, eu_fund */
    char ekk[16];
    int copay_needy, copay_low_income, copay_other;   /* percent of the tariff the client pays */
    int offer_days;                  /* an offer open longer expires (passed on); 0 = never */
} al_service;

typedef struct al_unit_def {         /* a provider's capacity for one service */
    char owner[AL_CODE_MAX + 1];
    char provider[AL_CODE_MAX + 1];
    char service[AL_CODE_MAX + 1];
    char kind[16];                   /* own, ngo, municipality */
    int capacity;                    /* places, or hours/trips a week */
    at_period valid;
} al_unit_def;

typedef struct al_agreement {        /* buyer may place up to `places` at seller's unit */
    char id[AL_CODE_MAX + 1];
    char buyer[AL_CODE_MAX + 1];
    char seller[AL_CODE_MAX + 1];
    char provider[AL_CODE_MAX + 1];
    char service[AL_CODE_MAX + 1];
    int places;
    int64_t price_cents;             /* per unit of the seller's service */
    at_period valid;
    char ekk[16];
} al_agreement;

typedef struct al_file {
    char municipality[AL_CODE_MAX + 1];
    char name[AL_CODE_MAX + 8];
    char version[65];
    char *bytes;
    size_t len;
} al_file;

typedef struct al_catalogue {
    al_file *files;      size_t n_files;
    al_service *services; size_t n_services;
    char (*service_owner)[AL_CODE_MAX + 1];   /* municipality of services[i] */
    al_unit_def *units;  size_t n_units;
    al_agreement *agreements; size_t n_agreements;
} al_catalogue;

/* The catalogue the service runs with: set by main() before svc_main(). */
extern al_catalogue *al_cat;

/* Load every <municipality>.yaml of dir. A bad file is AT_VALIDATION naming file and line.
 * Free with al_catalogue_free(). */
at_code al_catalogue_load(const char *dir, al_catalogue **out, at_error *err);
void al_catalogue_free(al_catalogue *c);
/* Parse one file's bytes into c (adds to it); name for messages. */
at_code al_catalogue_parse(al_catalogue *c, const char *name, const char *bytes, size_t len, at_error *err);
/* Publish each file as CataloguePublished (once per version) and write the units into
 * allocation.units. The svc_def start hook. */
at_code al_catalogue_publish(es_store *es, at_error *err);

/* The version of `municipality`'s service in force on `on`; NULL when none. */
const al_service *al_service_find(const char *municipality, const char *code, at_date on);
/* A unit of a provider in force on `on`; NULL when none. */
const al_unit_def *al_unit_find(const char *owner, const char *provider, const char *service, at_date on);
/* The agreement letting buyer place at the unit on `on`; NULL when none. */
const al_agreement *al_agreement_find(const char *buyer, const char *seller, const char *provider,
                                      const char *service, at_date on);
const char *al_unit_name(al_unit u);         /* "hour", ... */
/* The version of the municipality's catalogue file ("" when it has none). */
const char *al_catalogue_version(const char *municipality);

/* ---- eligible.c ----------------------------------------------------------------------- */

typedef struct al_person {           /* what a request says about the person */
    at_date birth_date;
    int disability_group;            /* 0 none */
    int status;                      /* ATB__V1__NEED_STATUS__* */
    bool resident;
    int care_level;                  /* from the latest assessment; 0 none */
    size_t n_targets;
    char **targets;
    int load;                        /* hours/trips a week, or 1 */
} al_person;

/* AT_OK when the person may receive the service on `on`; else AT_VALIDATION with the
 * reason in err (field names the fact: "birth_date", "care_level", ...). */
at_code al_eligible(const al_service *s, const al_person *p, at_date on, at_error *err);

/* The priority of a request on `on`: 1 crisis or violence, 2 homeless in winter
 * (1 November .. 31 March), 3 everyone else. Lower goes first; ties by the log position
 * of the request (earlier first). */
int al_priority(int urgency, at_date on);

/* Care level 1..4 from functional scores (each 0..4): the total against the thresholds of
 * docs/allocation.md. */
int al_care_level(const int32_t *scores, size_t n, int *total);

/* ---- common.c ------------------------------------------------------------------------- */

const char *al_date_text(at_date d, char buf[11]);
at_code al_check_date(const Atb__V1__Date *d, const char *field, bool required, at_date *out, at_error *err);
at_code al_check_key(const char *s, const char *field, at_error *err);
at_code al_check_code(const char *s, const char *field, bool required, at_error *err);
void al_key(const svc_request *req, const char *what, char out[37]);
/* A transaction; al_append, al_exec and al_finish roll it back on any failure. */
at_code al_begin(svc_request *req, es_txn **t, at_error *err);
/* Append (last in the transaction); part 0 uses the command id, part N > 0 one derived. */
at_code al_append(svc_request *req, es_txn *t, const char *stream, int64_t expected, es_event_in *evs, size_t n,
                  int part, es_append_res *res, at_error *err);
/* al_append with the causation id of the envelope (an event a consumer acts on; NULL none). */
at_code al_append_caused(svc_request *req, es_txn *t, const char *stream, int64_t expected, es_event_in *evs,
                         size_t n, int part, const char *causation_id, es_append_res *res, at_error *err);
at_code al_finish(svc_request *req, es_txn *t, const char *stream, const char *key, const es_append_res *res,
                  ProtobufCMessage **reply, at_error *err);
/* Run SQL in the transaction; rows into *out (may be NULL). Rolls back on failure. */
at_code al_exec(es_txn *t, const char *sql, int n, const char *const *params, PGresult **out, const char *what,
                at_error *err);
/* Read the row of one key: `select` has one parameter $1 and no locking clause; lock adds
 * FOR UPDATE. *found false (and *row NULL) when no row or more than one; otherwise *row
 * holds it for the caller to PQclear. Rolls back on failure, as al_exec. */
at_code al_read_row(es_txn *t, const char *select, const char *key, bool lock, const char *what, PGresult **row,
                    bool *found, at_error *err);
/* Column col of a row's first tuple as text into buf (cut to size). */
void al_col_text(const PGresult *row, int col, char *buf, size_t size);
/* A command id the log has seen (a retry after a lost reply): *done true and *reply the
 * first result (duplicate set, key as given: keys derive from the command id). Handlers
 * call it before their checks, which the first run changed the answer of. */
at_code al_seen(svc_request *req, const char *key, ProtobufCMessage **reply, bool *done, at_error *err);

/* request.c: the care level of the person's latest assessment on or before `on` (0: none),
 * read in the caller's transaction. */
at_code al_care_level_of(svc_request *req, es_txn *t, const char *person, at_date on, int *level, at_error *err);

/* Where a request comes from when a consumer makes it (NULL: a worker's command). */
typedef struct al_origin {
    const char *causation_id;        /* the ApplicationCompleted's event id */
    const char *application_id;
    int ask_index;                   /* 1-based, in ApplicationReceived.asks */
    int64_t completed_position;
} al_origin;

/* RequestService on an already decoded command: the handler, and the consumer of intake's
 * applications (consume.c), which passes where the request comes from. Facts the command
 * leaves out (status NONE) are filled from the projections as of requested_on and recorded
 * in ServiceRequested (docs/allocation.md, "Facts from the log"). */
at_code al_request(svc_request *req, const Atb__V1__RequestService *c, const al_origin *o, ProtobufCMessage **reply,
                   at_error *err);
/* Record that an application's service ask was refused (cause): ServiceRequestRefused on
 * request-<key>, the key and command id the request would have had, so a redelivery finds
 * it done. Its own transaction. */
at_code al_request_refuse(svc_request *req, const Atb__V1__RequestService *c, const al_origin *o,
                          const at_error *cause, ProtobufCMessage **reply, at_error *err);

/* ---- consume.c: the projections of other services' events, and intake's applications -- */

/* The means-tested status of the person in force on `on`, from allocation.statuses (the
 * StatusGranted events of means testing, as changed by DecisionOverridden): ATB__V1__NEED_
 * STATUS__*, NONE when none; *position the log position of the event it comes from (0 none)
 * and *event that event's type ("StatusGranted", "DecisionOverridden"; "" none; static
 * storage). The latest event in force wins. Read in the caller's transaction (al_exec:
 * rolled back on failure). */
at_code al_status_of(es_txn *t, const char *tenant, const char *person, at_date on, int *status, int64_t *position,
                     const char **event, at_error *err);
/* What intake's person streams say of a person on a date (allocation.persons and
 * allocation.person_facts); each part unknown when the log has nothing of it. */
typedef struct al_known {
    at_date birth_date;              /* AT_DATE_NONE: unknown */
    int disability_group;            /* -1 unknown; else 0..3 (a child with disability: 0) */
    int resident;                    /* -1 unknown; 1 declared residence in the tenant */
} al_known;
/* Read in the caller's transaction (al_exec: rolled back on failure). */
at_code al_person_of(es_txn *t, const char *tenant, const char *person, at_date on, al_known *out, at_error *err);

/* The consumers (bus_handler_fn): allocation-decisions ("decision"), allocation-persons
 * ("person") and allocation-applications ("application"). */
at_code consume_decision(void *ctx, es_txn *t, const es_event *ev, at_error *err);
at_code consume_person(void *ctx, es_txn *t, const es_event *ev, at_error *err);
at_code consume_application(void *ctx, es_txn *t, const es_event *ev, at_error *err);
extern const svc_consumer allocation_consumers[];
extern const size_t allocation_n_consumers;

/* ---- place.c: what the writers of places share (place.c, withdraw.c) ----------------- */

typedef struct al_unit_ref {
    const char *owner, *provider, *service;
    const al_unit_def *def;
    const al_agreement *agreement;   /* NULL: the tenant owns the unit */
    const al_service *service_def;   /* the placing municipality's version of the service */
} al_unit_ref;

/* A pending append of a command that writes several streams. */
typedef struct al_pending {
    char stream[64];
    es_event_in ev;
} al_pending;

/* The unit, the tenant's right to use it, and the tenant's service definition on `on`. */
at_code al_resolve_unit(svc_request *req, const char *owner, const char *provider, const char *service, at_date on,
                        al_unit_ref *u, at_error *err);
/* Lock the unit's row (first, before any offer, placement or request row). */
at_code al_lock_unit(es_txn *t, const al_unit_ref *u, at_error *err);
/* Places free for the tenant under the unit's lock. */
at_code al_free_places(svc_request *req, es_txn *t, const al_unit_ref *u, int *free_out, at_error *err);
/* Offer a free place to the first eligible waiting request (offer key from `what`); the
 * event left in *pv; *made false when nobody fits. */
at_code al_offer_next(svc_request *req, es_txn *t, const al_unit_ref *u, at_date on, int free_, const char *what,
                      al_pending *pv, char offer_key[37], bool *made, at_error *err);
/* Append each pending event to its stream (part i), last in the transaction. */
at_code al_append_all(svc_request *req, es_txn *t, al_pending *pv, size_t n, es_append_res *first, at_error *err);

/* ---- withdraw.c ----------------------------------------------------------------------- */

/* Under the unit's lock: every open offer of the tenant at the unit that was not answered
 * within its service's offer_days by `on` becomes expired (offer and request rows), its
 * OfferExpired into pv[*n..cap). *n grows by the number expired. */
at_code al_expire_unit(svc_request *req, es_txn *t, const al_unit_ref *u, at_date on, al_pending *pv, size_t *n,
                       size_t cap, at_error *err);
/* The last day an offer made on `offered_on` of service s can be accepted; AT_DATE_NONE
 * when its offers do not expire. */
at_date al_offer_deadline(const al_service *s, at_date offered_on);

/* ---- handlers ------------------------------------------------------------------------- */

at_code request_service(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code request_assess(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code request_list(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code place_allocate(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code place_answer(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code place_emergency(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code place_discharge(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code place_change(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code occupancy_get(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code charges_record(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code withdraw_request(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code withdraw_expire(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* occupancy.c: fold every placement event of the log (all tenants) up to its head into
 * the loads in place on `on`, per unit; calls fn for each unit with a load (ctx passed
 * through). *events gets the number of events read. Used by GetOccupancy and the bench. */
typedef void (*al_occupancy_fn)(void *ctx, const char *owner, const char *provider, const char *service,
                                int occupied);
at_code al_occupancy_rebuild(es_store *es, at_date on, al_occupancy_fn fn, void *ctx, int64_t *events,
                             at_error *err);

extern const svc_command allocation_commands[];
extern const size_t allocation_n_commands;
extern const char *const allocation_migrations[];
extern const size_t allocation_n_migrations;

#endif
