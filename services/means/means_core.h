/*
 * means_core.h -- This file is private to services/means: the part of the means service
 * that other programs may link (library atb_means_core): the decision record (decision.c),
 * rule sets from files and from the log (ruleset.c) and the replay (replay.c). A future
 * `atbalsts audit` links this library and calls replay_application() on its own store.
 *
 * Nothing here logs, exits or touches the service runtime (libs/service): functions return
 * an at_code and fill the caller's at_error. Protobuf messages built here live in the
 * caller's at_arena.
 */
#ifndef MEANS_CORE_H
#define MEANS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at_buf.h"
#include "at_date.h"
#include "at_error.h"
#include "es.h"
#include "rules.h"
#include "atb/v1/means.pb-c.h"

/* Event types of the means service, by stream category. */
#define MEANS_EV_RULESET_PUBLISHED "RuleSetPublished"
#define MEANS_EV_STATUS_GRANTED "StatusGranted"
#define MEANS_EV_STATUS_REFUSED "StatusRefused"
#define MEANS_EV_BENEFIT_GRANTED "BenefitGranted"
#define MEANS_EV_BENEFIT_REFUSED "BenefitRefused"
#define MEANS_EV_OVERRIDDEN "DecisionOverridden"

#define MEANS_MAX_ASKS 16
#define MEANS_MAX_KEY 64          /* bytes of a key, a code or a flag name */

/* ------------------------------------------------------------------------------------ */
/* decision.c: the decision record                                                      */

/* Lower-case the ASCII letters of s in place (NULL is a no-op): keys and ids are UUIDs,
 * compared as text in stream ids and tables, so they are kept in one case. */
void means_lower(char *s);

/* Hex SHA-256 (libcrypto) of n bytes into out[65]. */
void means_sha256_hex(const void *p, size_t n, char out[65]);

/* A proto Date to an at_date: NULL or all zero is AT_DATE_NONE (true); a date that does
 * not exist is false. With month_only, day 0 means the first of the month. */
bool decision_date_in(const Atb__V1__Date *d, bool month_only, at_date *out);
/* An at_date as a proto Date in the arena; AT_DATE_NONE gives NULL (not given). */
Atb__V1__Date *decision_date_out(at_arena *a, at_date d);
/* "2018-03-15", or "-" for AT_DATE_NONE, into buf of at least 11 bytes. */
const char *decision_date_text(at_date d, char *buf, size_t n);

/* The rules-library view of a DecisionInput: the structs rules_decide() reads, built in
 * the arena (strings are borrowed from the input message). */
typedef struct decision_rules {
    rules_household h;
    rules_application a;
    rules_history hist;
} decision_rules;

/* Convert and check a DecisionInput (member keys, flags, enums, dates). Field names in
 * errors are those of AssessApplication; ask_path ("application.asks.2") prefixes the
 * fields of the ask. Errors: AT_VALIDATION (field set), AT_INTERNAL (out of memory). */
at_code decision_to_rules(const Atb__V1__DecisionInput *in, const char *ask_path, at_arena *a,
                          decision_rules *out, at_error *err);

/* Turn an error of rules_decide() into the service's reply: every input error is
 * AT_VALIDATION (the rules library's message, detail and hint kept), with the field as
 * an AssessApplication path; AT_INTERNAL stays. */
at_code decision_rules_error(at_code code, const char *ask_path, at_error *err);

/* The canonical bytes of an input (its protobuf-c encoding) and their hex SHA-256. */
at_code decision_input_hash(const Atb__V1__DecisionInput *in, at_arena *a, char out[65], at_error *err);

/* Build the Decision of one ask from its input and the result of rules_decide() under
 * the rule set `ref` (all copied into the arena). */
at_code decision_build(at_arena *a, const Atb__V1__DecisionInput *in, const rules_result *r,
                       const Atb__V1__RuleSetRef *ref, Atb__V1__Decision **out, at_error *err);

/* The event type of a result: StatusGranted / StatusRefused for a status ask,
 * BenefitGranted / BenefitRefused otherwise. */
const char *decision_event_type(const Atb__V1__DecisionResult *r);
/* True for the four decision event types. */
bool decision_is_event_type(const char *type);

/* Pack a decision as the payload of its event (the four event messages share one
 * layout: field 1 is the Decision). NULL when out of memory. */
uint8_t *decision_pack(at_arena *a, Atb__V1__Decision *d, size_t *len);
/* Unpack the Decision of a decision event; NULL if the payload does not decode. */
Atb__V1__Decision *decision_unpack(at_arena *a, const es_event *ev);

/* ------------------------------------------------------------------------------------ */
/* ruleset.c: rule sets from the directory and from the log                               */

/* What is known of one municipality's rule set: national.yaml with <scope>.yaml. */
typedef struct ruleset_info {
    char scope[MEANS_MAX_KEY + 1];
    char version[65];
    at_period valid;           /* where both scopes are in force (to may be AT_DATE_NONE) */
    int64_t position;          /* of its RuleSetPublished event; 0 before publishing */
    const rules_set *set;      /* loaded from the published bytes once published */
} ruleset_info;

typedef struct ruleset_cache ruleset_cache;

/* Load every <scope>.yaml of dir with national.yaml (strictly: any error stops it, naming
 * the file and line). No database is touched. dir NULL gives an empty cache that only
 * loads sets from the log (for replay). Errors: AT_VALIDATION (a bad rule file, no
 * national.yaml, a file whose scope is not its name), AT_NOT_FOUND (no such directory),
 * AT_INTERNAL. Free with ruleset_cache_free. Thread-safe after creation. */
at_code ruleset_cache_open(const char *dir, ruleset_cache **out, at_error *err);
void ruleset_cache_free(ruleset_cache *c);           /* NULL is a no-op */

/* The number of municipalities loaded from files and the i-th one's scope. */
size_t ruleset_cache_count(const ruleset_cache *c);
const char *ruleset_cache_scope(const ruleset_cache *c, size_t i);

/* Publish every loaded set into the log, once per process (behind the cache's mutex;
 * later calls return at once): a RuleSetPublished event on ruleset-<scope>, command id
 * derived from the version, so a version already in the log is not appended again.
 * Then each set is loaded back from the published bytes: decisions use the log's copy.
 * A municipality that is not a registered tenant is skipped (*skipped counts them; may
 * be NULL). Errors: AT_UNAVAILABLE (PostgreSQL; the next call tries again), AT_INTERNAL
 * (the published bytes do not load or name another version). Blocks; not on a loop. */
at_code ruleset_cache_publish(ruleset_cache *c, es_store *es, size_t *skipped, at_error *err);

/* The published set of a municipality, or false (no file, or not yet published). *out
 * is valid until ruleset_cache_free. */
bool ruleset_cache_get(ruleset_cache *c, const char *scope, ruleset_info *out);

/* The set of one municipality for a decision made inside the caller's transaction t, for
 * a caller that has no store to publish with (an event consumer): the published set when
 * there is one; otherwise its RuleSetPublished is appended inside t (command id derived
 * from the version, so the log answers with the first result if it is there already)
 * and read back through t. out->position is then that of an event which exists only if
 * t commits: the decision that names it must be appended in t too. Call it at most once
 * per transaction, after the transaction's other locks (the append holds the log's head
 * lock until t ends). *out->set is valid until ruleset_cache_free.
 * Errors: AT_NOT_FOUND (no rule file for the scope), AT_UNAVAILABLE, AT_INTERNAL. */
at_code ruleset_cache_publish_txn(ruleset_cache *c, es_txn *t, const char *scope, ruleset_info *out,
                                  at_error *err);

/* A rule set of any version the log holds (loaded from its RuleSetPublished event and
 * kept in the cache). position_hint (0 = none) is where the decision says it is.
 * *out is owned by the cache. Errors: AT_NOT_FOUND (no such version on ruleset-<scope>),
 * AT_MALFORMED (the event does not decode, its bytes do not load, or they hash to
 * another version), AT_UNAVAILABLE. */
at_code ruleset_cache_version(ruleset_cache *c, es_store *es, const char *scope, const char *version,
                              int64_t position_hint, const rules_set **out, int64_t *position,
                              at_error *err);

/* ------------------------------------------------------------------------------------ */
/* replay.c: rebuild decisions from the log alone                                         */

/* Rebuild one recorded decision event from its recorded input and the rule set of its
 * recorded version (from the log), and compare every step and the result. *out is filled
 * in the arena: proven, or the first mismatch with both values. A decision that cannot
 * be rebuilt (its rule set is not in the log, its input no longer passes the checks) is a
 * mismatch, not an error. Errors: AT_UNAVAILABLE, AT_INTERNAL. */
at_code replay_event(ruleset_cache *c, es_store *es, const es_event *ev, at_arena *a,
                     Atb__V1__ReplayedDecision *out, at_error *err);

/* The re-decision of a running GMI grant on the day its level changes (docs/rules.md
 * §9.3), one function for RecalculateAtLevelChange (levelchange.c), which records it, and
 * for the replay, which proves a recorded one: the recorded input of decision d dated
 * `day`, with the grant itself (its newest result before that day, `current`) added to
 * the input's history as "decision-<application>/<ask>", decided under `set` (named by
 * `ref`). The result keeps the grant's ask and benefit and, when granted, its period.
 * d->input is changed in place (pass a decision unpacked into the arena a). *out in a.
 * Errors: AT_VALIDATION (the input does not decide under the rules of that day; err says
 * why), AT_INTERNAL. */
at_code decision_redecide_at_level_change(at_arena *a, const rules_set *set, const Atb__V1__RuleSetRef *ref,
                                          Atb__V1__Decision *d, const Atb__V1__DecisionResult *current, at_date day,
                                          Atb__V1__Decision **out, at_error *err);

/* True for a DecisionOverridden event of kind LEVEL_CHANGE (a decision of the machine,
 * replayed by replay_override), and for one that does not decode (the replay reports it);
 * false for other events and for the overrides of people (commission, appeal,
 * correction), which are recorded, not replayed. */
bool replay_is_level_change(const es_event *ev, at_arena *a);

/* Rebuild one LEVEL_CHANGE override from the log alone and compare it: the decision of its
 * ask and the results before it (read from its stream up to the override), the rule set of
 * the version it names (from the log), which must say "recalculate" on effective_from;
 * then the re-decision (decision_redecide_at_level_change) must give the recorded input
 * hash, every step and the result. *out as for replay_event. Errors: AT_UNAVAILABLE,
 * AT_INTERNAL. */
at_code replay_override(ruleset_cache *c, es_store *es, const es_event *ev, at_arena *a,
                        Atb__V1__ReplayedDecision *out, at_error *err);

/* Replay every decision on stream decision-<application_id>. Errors: AT_VALIDATION (not a
 * UUID), AT_NOT_FOUND (no decision for it in this tenant), AT_UNAVAILABLE, AT_INTERNAL.
 * tenant NULL = any tenant. */
at_code replay_application(ruleset_cache *c, es_store *es, const char *tenant, const char *application_id,
                           at_arena *a, Atb__V1__ReplayReply *out, at_error *err);

#endif
