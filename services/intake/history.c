/*
 * history.c -- GetCaseHistory: everything the log holds about a case, in log order.
 *
 * The streams of a case: the case itself, its client's person stream, and every stream
 * intake.links ties to the client or the case's household (the household, applications,
 * visits, agreements, appeals), with the decision and assessment streams of each
 * application. They are
 * read whole and merged by log position, which is the order the facts were recorded in;
 * each entry carries who recorded it (the envelope's actor) and a one-line summary in
 * which note keys are replaced by the notes' text while it is kept.
 *
 * When adding an intake event, add its line to summarise().
 */
#include "intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_MAX_STREAMS 512

static const char *d(const Atb__V1__Date *p, char *buf)
{
    at_date x;
    if (!svc_date_in(p, &x))
        return strcpy(buf, "?");
    return intake_date_text(x, buf);
}

static const char *fact_kind(Atb__V1__PersonFactKind k)
{
    switch (k) {
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE: return "residence";
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY: return "disability group";
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_CARE_LEVEL: return "care level";
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT: return "employment";
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_FLAG: return "flag";
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_SCHOOL: return "school";
    default: return "fact";
    }
}

static const char *relationship(Atb__V1__Relationship r)
{
    static const char *const names[] = {"?", "applicant", "spouse", "child", "parent", "relative", "other"};
    return r >= 0 && r <= 6 ? names[r] : "?";
}

static const char *ask_kind(Atb__V1__AskKind k)
{
    static const char *const names[] = {"?", "needy status", "low-income status", "GMI", "housing benefit",
                                        "benefit", "service"};
    return k >= 0 && k <= 6 ? names[k] : "?";
}

static const char *money(int64_t cents, char *buf)
{
    snprintf(buf, 32, "%lld.%02lld EUR", (long long)(cents / 100), (long long)(cents % 100));
    return buf;
}

/* One line about the event, or NULL for a type this file does not know (the entry then
 * shows the type alone). *corrects gets the position a correction replaces. */
static const char *summarise(svc_request *req, const es_event *e, int64_t *corrects)
{
    at_buf b;
    at_buf_init(&b, 2048);
    char x[16], y[16], m[32];
    at_error err;
    const char *t = e->type;
#define UNPACK(T, desc) T *v = (T *)intake_unpack(req->arena, &desc, e, &err); if (!v) goto done;
    if (strcmp(t, "PersonRegistered") == 0) {
        UNPACK(Atb__V1__PersonRegistered, atb__v1__person_registered__descriptor);
        at_buf_printf(&b, "person registered, born %s", d(v->birth_date, x));
    } else if (strcmp(t, "PersonFactRecorded") == 0) {
        UNPACK(Atb__V1__PersonFactRecorded, atb__v1__person_fact_recorded__descriptor);
        const Atb__V1__PersonFact *f = v->fact;
        at_buf_printf(&b, "%s %s%s%s from %s to %s", v->corrects_position ? "corrected" : "recorded",
                      fact_kind(f ? f->kind : 0), f && f->flag[0] ? " " : "", f ? f->flag : "",
                      f ? d(f->from, x) : "?", f && f->to ? d(f->to, y) : "open");
        if (f && f->municipality[0])
            at_buf_printf(&b, " in %s", f->municipality);
        if (f && f->level)
            at_buf_printf(&b, ", level %d", (int)f->level);
        if (f && f->cleared)
            at_buf_puts(&b, " (does not hold)");
        if (v->corrects_position)
            at_buf_printf(&b, "; replaces position %lld", (long long)v->corrects_position);
        if (v->reason_note[0])
            at_buf_printf(&b, "; reason: %s", note_get(req, v->reason_note));
        *corrects = v->corrects_position;
    } else if (strcmp(t, "PersonCorrected") == 0) {
        UNPACK(Atb__V1__PersonCorrected, atb__v1__person_corrected__descriptor);
        at_buf_puts(&b, "person corrected:");
        if (v->birth_date)
            at_buf_printf(&b, " birth date %s", d(v->birth_date, x));
        if (v->sex)
            at_buf_printf(&b, " sex %s", v->sex == ATB__V1__SEX__FEMALE ? "female" : "male");
        if (v->names_changed)
            at_buf_puts(&b, " names");
        at_buf_printf(&b, "; reason: %s", note_get(req, v->reason_note));
    } else if (strcmp(t, "PersonErased") == 0) {
        UNPACK(Atb__V1__PersonErased, atb__v1__person_erased__descriptor);
        at_buf_printf(&b, "identifying data erased (%s), %d notes", v->basis, (int)v->notes_erased);
    } else if (strcmp(t, "HouseholdCreated") == 0) {
        at_buf_puts(&b, "household created");
    } else if (strcmp(t, "MemberJoined") == 0) {
        UNPACK(Atb__V1__MemberJoined, atb__v1__member_joined__descriptor);
        at_buf_printf(&b, "%s joined as %s on %s", v->person_key, relationship(v->relationship), d(v->joined, x));
    } else if (strcmp(t, "MemberLeft") == 0) {
        UNPACK(Atb__V1__MemberLeft, atb__v1__member_left__descriptor);
        at_buf_printf(&b, "%s left on %s", v->person_key, d(v->left, x));
    } else if (strcmp(t, "ApplicationReceived") == 0) {
        UNPACK(Atb__V1__ApplicationReceived, atb__v1__application_received__descriptor);
        at_buf_printf(&b, "application received %s, deadline %s, asks:", d(v->received, x), d(v->deadline, y));
        for (size_t i = 0; i < v->n_asks; i++)
            at_buf_printf(&b, "%s %s%s%s", i ? "," : "", ask_kind(v->asks[i]->kind), v->asks[i]->benefit[0] ? " " : "",
                          v->asks[i]->benefit);
    } else if (strcmp(t, "DeclarationSubmitted") == 0) {
        UNPACK(Atb__V1__DeclarationSubmitted, atb__v1__declaration_submitted__descriptor);
        at_buf_printf(&b, "declaration of %s: %zu incomes, %zu properties, %zu expenses accepted, %zu rejected",
                      d(v->declared_on, x), v->n_incomes, v->n_properties, v->n_expenses, v->n_rejected);
        for (size_t i = 0; i < v->n_rejected; i++)
            at_buf_printf(&b, "; rejected %s (%s)", v->rejected[i]->expense ? v->rejected[i]->expense->document : "",
                          v->rejected[i]->reason);
    } else if (strcmp(t, "ApplicationIncomplete") == 0) {
        UNPACK(Atb__V1__ApplicationIncomplete, atb__v1__application_incomplete__descriptor);
        at_buf_printf(&b, "incomplete on %s, missing:", d(v->on, x));
        for (size_t i = 0; i < v->n_missing; i++)
            at_buf_printf(&b, " %s", v->missing[i]);
    } else if (strcmp(t, "ApplicationCompleted") == 0) {
        UNPACK(Atb__V1__ApplicationCompleted, atb__v1__application_completed__descriptor);
        at_buf_printf(&b, "file complete, to be decided as of %s (%zu members)",
                      v->application ? d(v->application->decision_date, x) : "?",
                      v->household ? v->household->n_members : 0);
    } else if (strcmp(t, "ApplicationDecided") == 0) {
        UNPACK(Atb__V1__ApplicationDecided, atb__v1__application_decided__descriptor);
        at_buf_printf(&b, "decided: %d granted, %d refused", (int)v->granted, (int)v->refused);
    } else if (strcmp(t, "ApplicationReturned") == 0) {
        UNPACK(Atb__V1__ApplicationReturned, atb__v1__application_returned__descriptor);
        at_buf_printf(&b, "returned by means testing: %s%s%s", v->error ? v->error->message : "?",
                      v->error && v->error->detail[0] ? " -- " : "", v->error ? v->error->detail : "");
    } else if (strcmp(t, "ApplicationWithdrawn") == 0) {
        UNPACK(Atb__V1__ApplicationWithdrawn, atb__v1__application_withdrawn__descriptor);
        at_buf_printf(&b, "withdrawn on %s; reason: %s", d(v->on, x), note_get(req, v->reason_note));
    } else if (strcmp(t, "ReceiptsSubmitted") == 0) {
        UNPACK(Atb__V1__ReceiptsSubmitted, atb__v1__receipts_submitted__descriptor);
        at_buf_printf(&b, "receipts handed in on %s", d(v->submitted_on, x));
        if (v->note[0])
            at_buf_printf(&b, "; %s", note_get(req, v->note));
    } else if (strcmp(t, "ApplicationAppealed") == 0) {
        UNPACK(Atb__V1__ApplicationAppealed, atb__v1__application_appealed__descriptor);
        at_buf_printf(&b, "appealed to the %s on %s", v->body == ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT ? "court" : "council",
                      d(v->filed_on, x));
    } else if (strcmp(t, "StatusGranted") == 0 || strcmp(t, "StatusRefused") == 0 ||
               strcmp(t, "BenefitGranted") == 0 || strcmp(t, "BenefitRefused") == 0) {
        UNPACK(Atb__V1__StatusGranted, atb__v1__status_granted__descriptor);
        const Atb__V1__DecisionResult *r = v->decision ? v->decision->result : NULL;
        at_buf_printf(&b, "decision %d: %s %s", v->decision ? (int)v->decision->ask_index : 0,
                      r && r->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED ? "granted" : "refused",
                      r && r->benefit[0] ? r->benefit : r ? ask_kind(r->ask) : "");
        if (r && r->has_amount)
            at_buf_printf(&b, " %s", money(r->amount_cents, m));
        if (r && r->period_from)
            at_buf_printf(&b, " %s..%s", d(r->period_from, x), r->period_to ? d(r->period_to, y) : "");
        for (size_t i = 0; r && i < r->n_reasons; i++)
            at_buf_printf(&b, "; %s", r->reasons[i]->text_en);
    } else if (strcmp(t, "AssessmentFailed") == 0) {
        UNPACK(Atb__V1__AssessmentFailed, atb__v1__assessment_failed__descriptor);
        at_buf_printf(&b, "means testing could not decide: %s", v->error ? v->error->message : "?");
    } else if (strcmp(t, "DecisionOverridden") == 0) {
        UNPACK(Atb__V1__DecisionOverridden, atb__v1__decision_overridden__descriptor);
        at_buf_printf(&b, "decision %d overridden by %s (%s) on %s", (int)v->ask_index, v->decided_by, v->reference,
                      d(v->decided_on, x));
        *corrects = v->overridden_position;
    } else if (strcmp(t, "HomeVisitRecorded") == 0) {
        UNPACK(Atb__V1__HomeVisitRecorded, atb__v1__home_visit_recorded__descriptor);
        at_buf_printf(&b, "home visit on %s by %s: %zu members found, %d others;", d(v->visited_on, x),
                      v->social_worker, v->n_found, (int)v->others_found);
        for (size_t i = 0; i < v->n_conditions; i++)
            at_buf_printf(&b, " %s", v->conditions[i]);
        if (v->findings_note[0])
            at_buf_printf(&b, "; findings: %s", note_get(req, v->findings_note));
    } else if (strcmp(t, "AgreementMade") == 0) {
        UNPACK(Atb__V1__AgreementMade, atb__v1__agreement_made__descriptor);
        at_buf_printf(&b, "co-operation agreement signed %s:", d(v->signed_on, x));
        for (size_t i = 0; i < v->n_duties; i++)
            at_buf_printf(&b, " %d) %s by %s", (int)v->duties[i]->index, v->duties[i]->kind, d(v->duties[i]->due, y));
    } else if (strcmp(t, "DutyFulfilled") == 0 || strcmp(t, "DutyFailed") == 0) {
        UNPACK(Atb__V1__DutyFulfilled, atb__v1__duty_fulfilled__descriptor);
        at_buf_printf(&b, "duty %d %s on %s", (int)v->duty, t[4] == 'F' && t[5] == 'u' ? "fulfilled" : "failed",
                      d(v->on, x));
        if (v->note[0])
            at_buf_printf(&b, "; %s", note_get(req, v->note));
    } else if (strcmp(t, "AppealFiled") == 0) {
        UNPACK(Atb__V1__AppealFiled, atb__v1__appeal_filed__descriptor);
        at_buf_printf(&b, "appeal of decision %d to the %s filed %s", (int)v->ask_index,
                      v->body == ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT ? "court" : "council", d(v->filed_on, x));
        if (v->grounds_note[0])
            at_buf_printf(&b, "; grounds: %s", note_get(req, v->grounds_note));
    } else if (strcmp(t, "AppealDecided") == 0) {
        static const char *const outcomes[] = {"?", "upheld", "changed", "annulled", "withdrawn"};
        UNPACK(Atb__V1__AppealDecided, atb__v1__appeal_decided__descriptor);
        at_buf_printf(&b, "appeal %s on %s (%s)", v->outcome >= 0 && v->outcome <= 4 ? outcomes[v->outcome] : "?",
                      d(v->decided_on, x), v->reference);
    } else if (strcmp(t, "CaseOpened") == 0) {
        UNPACK(Atb__V1__CaseOpened, atb__v1__case_opened__descriptor);
        at_buf_printf(&b, "case opened %s, sector %s, worker %s", d(v->opened_on, x), v->sector, v->social_worker);
    } else if (strcmp(t, "CaseWorkerChanged") == 0) {
        UNPACK(Atb__V1__CaseWorkerChanged, atb__v1__case_worker_changed__descriptor);
        at_buf_printf(&b, "worker now %s from %s", v->social_worker, d(v->on, x));
    } else if (strcmp(t, "CaseClosed") == 0 || strcmp(t, "CaseReopened") == 0) {
        UNPACK(Atb__V1__CaseClosed, atb__v1__case_closed__descriptor);
        at_buf_printf(&b, "case %s on %s", t[4] == 'C' ? "closed" : "reopened", d(v->on, x));
        if (v->reason_note[0])
            at_buf_printf(&b, "; reason: %s", note_get(req, v->reason_note));
    } else if (strcmp(t, "ActivityLogged") == 0) {
        UNPACK(Atb__V1__ActivityLogged, atb__v1__activity_logged__descriptor);
        at_buf_printf(&b, "%s on %s: %s", v->kind, d(v->on, x), note_get(req, v->text_note));
    }
#undef UNPACK
done:;
    const char *out = b.len ? at_arena_strdup(req->arena, b.ptr) : NULL;
    at_buf_free(&b);
    return out;
}

static int by_position(const void *a, const void *b)
{
    int64_t x = (*(Atb__V1__HistoryEntry *const *)a)->position, y = (*(Atb__V1__HistoryEntry *const *)b)->position;
    return x < y ? -1 : x > y;
}

/* The stream ids of the case, in the arena. */
static at_code case_streams(svc_request *req, const char *case_key, const case_state *cs, char ***out, size_t *n,
                            at_error *err)
{
    char **ids = at_arena_alloc(req->arena, HISTORY_MAX_STREAMS * sizeof *ids);
    if (!ids)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    *n = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "case-%s", case_key);
    ids[(*n)++] = at_arena_strdup(req->arena, buf);
    snprintf(buf, sizeof buf, "person-%s", cs->opened->person_key);
    ids[(*n)++] = at_arena_strdup(req->arena, buf);

    es_txn *t = NULL;
    at_code code = intake_begin(req, &t, err);
    if (code != AT_OK)
        return code;
    const char *household = cs->opened->household_key[0] ? cs->opened->household_key : NULL;
    const char *p[3] = {req->tenant, cs->opened->person_key, household};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT stream_id, coalesce(application_id::text, '') FROM intake.links "
                               "WHERE tenant = $1 AND kind <> 'case' AND (person_key = $2::uuid OR "
                               "household_key = $3::uuid) ORDER BY stream_id LIMIT 400",
                               3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        code = intake_pg_failed(r, "read the stream index", err);
        PQclear(r);
        es_txn_rollback(t);
        return code;
    }
    es_txn_rollback(t);
    for (int i = 0; i < PQntuples(r) && *n + 3 < HISTORY_MAX_STREAMS; i++) {
        ids[(*n)++] = at_arena_strdup(req->arena, PQgetvalue(r, i, 0));
        if (strncmp(PQgetvalue(r, i, 0), "application-", 12) == 0) {
            snprintf(buf, sizeof buf, "decision-%s", PQgetvalue(r, i, 1));
            ids[(*n)++] = at_arena_strdup(req->arena, buf);
            snprintf(buf, sizeof buf, "assessment-%s", PQgetvalue(r, i, 1));
            ids[(*n)++] = at_arena_strdup(req->arena, buf);
        }
    }
    PQclear(r);
    *out = ids;
    return AT_OK;
}

at_code case_history(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__GetCaseHistory *q = (const Atb__V1__GetCaseHistory *)req->msg;
    at_code code = intake_check_key(q->case_key, "case_key", true, err);
    case_state cs;
    if (code != AT_OK || (code = case_fold(req, q->case_key, &cs, err)) != AT_OK)
        return code;
    if (!cs.opened) {
        at_error_set(err, AT_NOT_FOUND, "case_key", "case not found");
        at_error_detail(err, "No case with the key %s exists in %s.", q->case_key, req->tenant);
        return AT_NOT_FOUND;
    }
    char **streams = NULL;
    size_t n_streams = 0;
    if ((code = case_streams(req, q->case_key, &cs, &streams, &n_streams, err)) != AT_OK)
        return code;

    Atb__V1__CaseHistory *h = at_arena_alloc(req->arena, sizeof *h);
    if (!h)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__case_history__init(h);
    h->case_key = q->case_key;
    h->person_key = cs.opened->person_key;
    h->household_key = cs.opened->household_key;
    h->sector = cs.opened->sector;
    h->social_worker = (char *)cs.worker;
    h->active = cs.active;
    h->version = cs.version;
    size_t cap = 0;
    for (size_t s = 0; s < n_streams && code == AT_OK; s++) {
        es_batch *b = NULL;
        if ((code = intake_read(req, streams[s], &b, err)) != AT_OK)
            break;
        size_t n = es_batch_count(b);
        if (h->n_entries + n > cap) {
            size_t ncap = (h->n_entries + n) * 2 + 16;
            Atb__V1__HistoryEntry **grown = at_arena_alloc(req->arena, ncap * sizeof *grown);
            if (!grown) {
                es_batch_free(b);
                return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            }
            if (h->n_entries)
                memcpy(grown, h->entries, h->n_entries * sizeof *grown);
            h->entries = grown;
            cap = ncap;
        }
        for (size_t i = 0; i < n; i++) {
            const es_event *e = es_batch_get(b, i);
            Atb__V1__HistoryEntry *en = at_arena_alloc(req->arena, sizeof *en);
            uint8_t *payload = at_arena_alloc(req->arena, e->payload_len);
            if (!en || !payload) {
                code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
                break;
            }
            atb__v1__history_entry__init(en);
            en->position = e->position;
            en->recorded_at_us = e->recorded_at_us;
            en->stream_id = at_arena_strdup(req->arena, e->stream_id);
            en->type = at_arena_strdup(req->arena, e->type);
            en->actor = at_arena_strdup(req->arena, e->actor ? e->actor : "");
            memcpy(payload, e->payload, e->payload_len);
            en->payload.data = payload;
            en->payload.len = e->payload_len;
            const char *sum = summarise(req, e, &en->corrects_position);
            en->summary = (char *)(sum ? sum : "");
            h->entries[h->n_entries++] = en;
        }
        es_batch_free(b);
    }
    if (code != AT_OK)
        return code;
    if (h->n_entries > 1)
        qsort(h->entries, h->n_entries, sizeof *h->entries, by_position);
    *reply = &h->base;
    return AT_OK;
}
