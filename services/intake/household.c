/*
 * household.c -- the Household aggregate: stream household-<key>, category "household".
 *
 * A household (family, ģimene) is a set of memberships: a person, their relationship to
 * the applicant, and the dates [joined, left) of the membership. Events: HouseholdCreated,
 * MemberJoined, MemberLeft. Nothing is edited: a member who leaves gets MemberLeft, a
 * member who returns a new MemberJoined.
 *
 * Invariants:
 *  - a person is in at most one household on any day. The memberships are mirrored in
 *    intake.memberships, written in the transaction of their event, and every change of a
 *    person's memberships first locks the person's identity row (in key order when a
 *    command names several persons, so two commands never deadlock), so the overlap check
 *    and the insert cannot interleave with another household's;
 *  - every command appends at the version it folded: two workers changing one household
 *    at once both validate, one appends, the other gets CONFLICT and can retry;
 *  - the view "as of" a date uses the dates of the facts (joined <= date < left); "at
 *    position" folds only what the log held then (what a caseworker saw on that day).
 *
 * When adding a Household event, also change: household_fold(), history.c's summary,
 * proto/atb/v1/intake.proto, docs/events.md and docs/intake.md.
 */
#include "intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUSEHOLD_MAX_MEMBERS 30

/* ---- folding ---- */

at_code household_fold(svc_request *req, const char *key, int64_t at_position, household_state *out,
                       at_error *err)
{
    memset(out, 0, sizeof *out);
    char stream[64];
    snprintf(stream, sizeof stream, "household-%s", key);
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
    size_t n = es_batch_count(b);
    out->m = at_arena_alloc(req->arena, (n + 1) * sizeof *out->m);
    if (!out->m) {
        es_batch_free(b);
        return at_error_set(err, AT_INTERNAL, NULL, "could not fold the household: out of memory");
    }
    for (size_t i = 0; i < n && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        if (at_position > 0 && e->position > at_position)
            break;
        out->version = e->version;
        if (strcmp(e->type, "MemberJoined") == 0) {
            Atb__V1__MemberJoined *j =
                (Atb__V1__MemberJoined *)intake_unpack(req->arena, &atb__v1__member_joined__descriptor, e, err);
            if (!j) {
                code = AT_INTERNAL;
                break;
            }
            household_member_state *m = &out->m[out->n++];
            m->person_key = j->person_key;
            m->relationship = j->relationship;
            svc_date_in(j->joined, &m->joined);
            m->left = AT_DATE_NONE;
        } else if (strcmp(e->type, "MemberLeft") == 0) {
            Atb__V1__MemberLeft *l =
                (Atb__V1__MemberLeft *)intake_unpack(req->arena, &atb__v1__member_left__descriptor, e, err);
            if (!l) {
                code = AT_INTERNAL;
                break;
            }
            for (size_t k = 0; k < out->n; k++)
                if (out->m[k].left == AT_DATE_NONE && strcmp(out->m[k].person_key, l->person_key) == 0)
                    svc_date_in(l->left, &out->m[k].left);
        }
    }
    es_batch_free(b);
    return code;
}

bool household_has(const household_state *h, const char *person_key, at_date on)
{
    for (size_t i = 0; i < h->n; i++) {
        const household_member_state *m = &h->m[i];
        if (strcmp(m->person_key, person_key) == 0 && m->joined <= on && (m->left == AT_DATE_NONE || on < m->left))
            return true;
    }
    return false;
}

/* The open membership of the person, or NULL. */
static household_member_state *open_membership(household_state *h, const char *person_key)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->m[i].left == AT_DATE_NONE && strcmp(h->m[i].person_key, person_key) == 0)
            return &h->m[i];
    return NULL;
}

at_code household_of(svc_request *req, const char *person_key, at_date on, char out[37], at_error *err)
{
    out[0] = '\0';
    char day[11];
    intake_date_text(on, day);
    const char *p[3] = {req->tenant, person_key, day};
    es_txn *t = NULL;
    at_code code = intake_begin(req, &t, err);
    if (code != AT_OK)
        return code;
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT household_key::text FROM intake.memberships WHERE tenant = $1 "
                               "AND person_key = $2::uuid AND joined <= $3::date "
                               "AND (left_on IS NULL OR left_on > $3::date) LIMIT 1",
                               3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        code = intake_pg_failed(r, "read the memberships", err);
    else if (PQntuples(r) == 1)
        snprintf(out, 37, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    es_txn_rollback(t);
    return code;
}

/* ---- checks shared by create and add ---- */

static at_code check_member(const Atb__V1__MemberIn *m, const char *prefix, at_date *joined, at_error *err)
{
    char field[64];
    at_code code;
    if (!m)
        return at_error_set(err, AT_VALIDATION, prefix, "%s is required", prefix);
    snprintf(field, sizeof field, "%s.person_key", prefix);
    if ((code = intake_check_key(m->person_key, field, true, err)) != AT_OK)
        return code;
    snprintf(field, sizeof field, "%s.relationship", prefix);
    if (m->relationship < ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT ||
        m->relationship > ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER) {
        at_error_set(err, AT_VALIDATION, field, "%s is not given", field);
        at_error_detail(err, "It is APPLICANT (1) .. OTHER (6); the value sent was %d.", (int)m->relationship);
        return AT_VALIDATION;
    }
    snprintf(field, sizeof field, "%s.joined", prefix);
    return intake_check_date(m->joined, field, true, true, joined, err);
}

/* Lock the person and refuse a membership from `joined` on (open-ended) when it
 * overlaps one the person has in any household. Rolls back on failure. */
static at_code claim_membership(svc_request *req, es_txn *t, const char *household, const char *person,
                                at_date joined, const char *field, at_error *err)
{
    at_code code = identity_lock(es_txn_conn(t), req->tenant, person, err);
    if (code != AT_OK) {
        snprintf(err->field, sizeof err->field, "%s", field);
        es_txn_rollback(t);
        return code;
    }
    char day[11];
    intake_date_text(joined, day);
    const char *p[4] = {req->tenant, person, day, household};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT household_key::text, joined::text, coalesce(left_on::text, '') "
                               "FROM intake.memberships WHERE tenant = $1 AND person_key = $2::uuid "
                               "AND (left_on IS NULL OR left_on > $3::date) ORDER BY joined LIMIT 1",
                               3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        code = intake_pg_failed(r, "read the memberships", err);
        PQclear(r);
        es_txn_rollback(t);
        return code;
    }
    if (PQntuples(r) == 1) {
        bool same = strcmp(PQgetvalue(r, 0, 0), household) == 0;
        at_error_set(err, AT_CONFLICT, field, same ? "person is already a member of this household"
                                                   : "person is a member of another household");
        at_error_detail(err, "%s is a member of household %s from %s%s%s; a person is in at most one household "
                             "at a time.", person, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
                        *PQgetvalue(r, 0, 2) ? " until " : "", PQgetvalue(r, 0, 2));
        at_error_hint(err, same ? "Nothing to do." : "Record that the person left the other household first.");
        PQclear(r);
        es_txn_rollback(t);
        return AT_CONFLICT;
    }
    PQclear(r);
    PGresult *w = PQexecParams(es_txn_conn(t),
                               "INSERT INTO intake.memberships (tenant, person_key, household_key, joined) "
                               "VALUES ($1, $2::uuid, $4::uuid, $3::date)",
                               4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(w) != PGRES_COMMAND_OK) {
        code = intake_pg_failed(w, "record the membership", err);
        PQclear(w);
        es_txn_rollback(t);
        return code;
    }
    PQclear(w);
    return AT_OK;
}

static at_code pack_joined(svc_request *req, const char *household, const Atb__V1__MemberIn *m, es_event_in *ev,
                           at_error *err)
{
    Atb__V1__MemberJoined j = ATB__V1__MEMBER_JOINED__INIT;
    j.household_key = (char *)household;
    j.person_key = m->person_key;
    j.relationship = m->relationship;
    j.joined = m->joined;
    return svc_pack(req->arena, &j.base, "MemberJoined", ev, err);
}

static int cmp_key(const void *a, const void *b)
{
    const Atb__V1__MemberIn *x = *(Atb__V1__MemberIn *const *)a, *y = *(Atb__V1__MemberIn *const *)b;
    return strcmp(x->person_key, y->person_key);
}

/* ---- CreateHousehold ---- */

at_code household_create(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__CreateHousehold *c = (const Atb__V1__CreateHousehold *)req->msg;
    at_code code;
    if (c->n_members == 0 || c->n_members > HOUSEHOLD_MAX_MEMBERS) {
        at_error_set(err, AT_VALIDATION, "members", "a household has 1..%d members", HOUSEHOLD_MAX_MEMBERS);
        at_error_detail(err, "The command names %zu.", c->n_members);
        return AT_VALIDATION;
    }
    size_t applicants = 0;
    for (size_t i = 0; i < c->n_members; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "members.%zu", i + 1);
        at_date joined;
        if ((code = check_member(c->members[i], prefix, &joined, err)) != AT_OK)
            return code;
        applicants += c->members[i]->relationship == ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(c->members[k]->person_key, c->members[i]->person_key) == 0) {
                char f[48];
                snprintf(f, sizeof f, "%s.person_key", prefix);
                return at_error_set(err, AT_VALIDATION, f, "the person is named twice");
            }
    }
    if (applicants != 1) {
        at_error_set(err, AT_VALIDATION, "members", "a household has exactly one APPLICANT");
        at_error_detail(err, "The command names %zu; relationships are stated to the applicant.", applicants);
        return AT_VALIDATION;
    }

    char key[37], stream[64];
    intake_key(req, "household", key);
    snprintf(stream, sizeof stream, "household-%s", key);

    /* Lock in key order: two commands naming the same persons never deadlock. */
    Atb__V1__MemberIn **sorted = at_arena_alloc(req->arena, c->n_members * sizeof *sorted);
    es_event_in *ev = at_arena_alloc(req->arena, (c->n_members + 1) * sizeof *ev);
    if (!sorted || !ev)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    memcpy(sorted, c->members, c->n_members * sizeof *sorted);
    for (size_t i = 0; i < c->n_members; i++)
        intake_lower(sorted[i]->person_key);
    qsort(sorted, c->n_members, sizeof *sorted, cmp_key);

    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    for (size_t i = 0; i < c->n_members; i++) {
        size_t idx = 0;
        while (c->members[idx] != sorted[i])
            idx++;
        char field[48];
        snprintf(field, sizeof field, "members.%zu.person_key", idx + 1);
        at_date joined;
        svc_date_in(sorted[i]->joined, &joined);
        if ((code = claim_membership(req, t, key, sorted[i]->person_key, joined, field, err)) != AT_OK)
            return code;
    }
    if ((code = link_put(t, req->tenant, stream, "household", NULL, key, NULL, err)) != AT_OK)
        return code;

    Atb__V1__HouseholdCreated hc = ATB__V1__HOUSEHOLD_CREATED__INIT;
    hc.household_key = key;
    hc.created_on = svc_date_out(req->arena, svc_today());
    code = svc_pack(req->arena, &hc.base, "HouseholdCreated", &ev[0], err);
    for (size_t i = 0; i < c->n_members && code == AT_OK; i++)
        code = pack_joined(req, key, c->members[i], &ev[i + 1], err);
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    es_append_res res;
    if ((code = intake_append(req, t, stream, ES_VERSION_NONE, ev, c->n_members + 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, key, &res, reply, err);
}

/* ---- AddHouseholdMember ---- */

/* Fold the household named by a command; NOT_FOUND when it does not exist. */
static at_code load(svc_request *req, const char *key, household_state *h, char stream[64], at_error *err)
{
    at_code code = intake_check_key(key, "household_key", true, err);
    if (code != AT_OK)
        return code;
    if ((code = household_fold(req, key, 0, h, err)) != AT_OK)
        return code;
    snprintf(stream, 64, "household-%s", key);
    if (h->version == 0) {
        at_error_set(err, AT_NOT_FOUND, "household_key", "household not found");
        at_error_detail(err, "No household with the key %s exists in %s.", key, req->tenant);
        return AT_NOT_FOUND;
    }
    return intake_expect(req, stream, h->version, err);
}

at_code household_add(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__AddHouseholdMember *c = (const Atb__V1__AddHouseholdMember *)req->msg;
    at_date joined;
    at_code code = check_member(c->member, "member", &joined, err);
    if (code != AT_OK)
        return code;
    household_state h;
    char stream[64];
    if ((code = load(req, c->household_key, &h, stream, err)) != AT_OK)
        return code;
    /* One applicant at a time: a new one only after the last one left. */
    for (size_t i = 0; c->member->relationship == ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT && i < h.n; i++)
        if (h.m[i].relationship == ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT && h.m[i].left == AT_DATE_NONE) {
            at_error_set(err, AT_VALIDATION, "member.relationship", "the household has its APPLICANT already");
            at_error_detail(err, "%s is the applicant; relationships are stated to the applicant.", h.m[i].person_key);
            at_error_hint(err, "Record that the applicant left first, or add the person with another relationship.");
            return AT_VALIDATION;
        }
    intake_lower(c->member->person_key);

    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    if ((code = claim_membership(req, t, c->household_key, c->member->person_key, joined, "member.person_key",
                                 err)) != AT_OK)
        return code;
    es_event_in ev;
    if ((code = pack_joined(req, c->household_key, c->member, &ev, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    es_append_res res;
    if ((code = intake_append(req, t, stream, h.version, &ev, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, c->household_key, &res, reply, err);
}

/* ---- RemoveHouseholdMember ---- */

at_code household_remove(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RemoveHouseholdMember *c = (const Atb__V1__RemoveHouseholdMember *)req->msg;
    at_date left;
    at_code code;
    if ((code = intake_check_key(c->person_key, "person_key", true, err)) != AT_OK ||
        (code = intake_check_date(c->left, "left", true, false, &left, err)) != AT_OK)
        return code;
    household_state h;
    char stream[64];
    if ((code = load(req, c->household_key, &h, stream, err)) != AT_OK)
        return code;
    intake_lower(c->person_key);
    household_member_state *m = open_membership(&h, c->person_key);
    if (!m) {
        at_error_set(err, AT_CONFLICT, "person_key", "person is not a member of this household");
        at_error_detail(err, "%s has no open membership in household %s.", c->person_key, c->household_key);
        return AT_CONFLICT;
    }
    if (left <= m->joined) {
        char a[11], b[11];
        at_error_set(err, AT_VALIDATION, "left", "left is not after joined");
        at_error_detail(err, "The person joined on %s; left (%s) is the first day no longer a member.",
                        intake_date_text(m->joined, a), intake_date_text(left, b));
        return AT_VALIDATION;
    }

    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    if ((code = identity_lock(es_txn_conn(t), req->tenant, c->person_key, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    char day[11];
    intake_date_text(left, day);
    const char *p[4] = {req->tenant, c->person_key, c->household_key, day};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "UPDATE intake.memberships SET left_on = $4::date WHERE tenant = $1 AND "
                               "person_key = $2::uuid AND household_key = $3::uuid AND left_on IS NULL",
                               4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        code = intake_pg_failed(r, "record the membership's end", err);
        PQclear(r);
        es_txn_rollback(t);
        return code;
    }
    PQclear(r);
    Atb__V1__MemberLeft ml = ATB__V1__MEMBER_LEFT__INIT;
    ml.household_key = c->household_key;
    ml.person_key = c->person_key;
    ml.left = c->left;
    es_event_in ev;
    if ((code = svc_pack(req->arena, &ml.base, "MemberLeft", &ev, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    es_append_res res;
    if ((code = intake_append(req, t, stream, h.version, &ev, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, c->household_key, &res, reply, err);
}

/* ---- GetHousehold ---- */

static at_code member_view(svc_request *req, const household_member_state *m, Atb__V1__MemberView **out,
                           at_error *err)
{
    Atb__V1__MemberView *v = at_arena_alloc(req->arena, sizeof *v);
    if (!v)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__member_view__init(v);
    v->person_key = (char *)m->person_key;
    v->relationship = m->relationship;
    v->joined = svc_date_out(req->arena, m->joined);
    v->left = svc_date_out(req->arena, m->left);
    es_txn *t = NULL;
    at_code code = intake_begin(req, &t, err);
    if (code != AT_OK)
        return code;
    identity id;
    at_error ignored;
    if (identity_find(es_txn_conn(t), req->tenant, m->person_key, NULL, &id, &ignored) == AT_OK) {
        v->given_name = at_arena_strdup(req->arena, id.given_name);
        v->family_name = at_arena_strdup(req->arena, id.family_name);
        v->personal_code = at_arena_strdup(req->arena, id.personal_code);
    }
    es_txn_rollback(t);
    person_state ps;
    if ((code = person_fold(req, m->person_key, &ps, err)) != AT_OK)
        return code;
    v->birth_date = svc_date_out(req->arena, ps.birth_date);
    v->sex = ps.sex;
    *out = v;
    return AT_OK;
}

at_code household_get(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__GetHousehold *q = (const Atb__V1__GetHousehold *)req->msg;
    at_code code;
    at_date as_of;
    if ((code = intake_check_date(q->as_of, "as_of", false, false, &as_of, err)) != AT_OK)
        return code;
    if (as_of == AT_DATE_NONE)
        as_of = svc_today();
    if (q->at_position < 0)
        return at_error_set(err, AT_VALIDATION, "at_position", "at_position is negative");
    bool by_key = q->household_key && *q->household_key, by_person = q->person_key && *q->person_key;
    if (by_key == by_person) {
        at_error_set(err, AT_VALIDATION, "household_key", "give either household_key or person_key");
        return AT_VALIDATION;
    }
    char key[37];
    if (by_key) {
        if ((code = intake_check_key(q->household_key, "household_key", true, err)) != AT_OK)
            return code;
        snprintf(key, sizeof key, "%s", q->household_key);
    } else {
        if ((code = intake_check_key(q->person_key, "person_key", true, err)) != AT_OK)
            return code;
        if ((code = household_of(req, q->person_key, as_of, key, err)) != AT_OK)
            return code;
        if (!key[0]) {
            char d[11];
            at_error_set(err, AT_NOT_FOUND, "person_key", "the person is in no household on %s",
                         intake_date_text(as_of, d));
            return AT_NOT_FOUND;
        }
    }
    intake_lower(key);
    household_state h;
    if ((code = household_fold(req, key, q->at_position, &h, err)) != AT_OK)
        return code;
    if (h.version == 0) {
        at_error_set(err, AT_NOT_FOUND, "household_key", "household not found");
        at_error_detail(err, "No household with the key %s exists in %s%s.", key, req->tenant,
                        q->at_position ? " at that log position" : "");
        return AT_NOT_FOUND;
    }
    Atb__V1__HouseholdView *v = at_arena_alloc(req->arena, sizeof *v);
    Atb__V1__MemberView **in = at_arena_alloc(req->arena, (h.n + 1) * sizeof *in);
    Atb__V1__MemberView **out = at_arena_alloc(req->arena, (h.n + 1) * sizeof *out);
    if (!v || !in || !out)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__household_view__init(v);
    v->household_key = at_arena_strdup(req->arena, key);
    v->as_of = svc_date_out(req->arena, as_of);
    v->version = h.version;
    v->members = in;
    v->others = out;
    for (size_t i = 0; i < h.n; i++) {
        const household_member_state *m = &h.m[i];
        bool member = m->joined <= as_of && (m->left == AT_DATE_NONE || as_of < m->left);
        Atb__V1__MemberView *mv;
        if ((code = member_view(req, m, &mv, err)) != AT_OK)
            return code;
        if (member)
            in[v->n_members++] = mv;
        else
            out[v->n_others++] = mv;
    }
    *reply = &v->base;
    return AT_OK;
}
