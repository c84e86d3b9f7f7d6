/*
 * person.c -- the Person aggregate: stream person-<person key>, category "person".
 *
 * PersonRegistered carries the person key, birth date and sex: the facts decisions need.
 * The personal code and the names go to the identity store (identity.c) in the same
 * transaction as the event, so a person is either registered with both or not at all.
 *
 * The person key is derived from the command id, so a retried RegisterPerson (same command
 * id) names the same person and gets the first reply, whichever step it was retried after.
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

#include "at_date.h"
#include "at_pcode.h"
#include "at_time.h"
#include "at_uuid.h"

/* Namespace of person keys derived from command ids. Never change it: keys of retried
 * commands would no longer match the first. */
#define PERSON_KEY_NS "1b0d8f9e-5c2a-4f47-9a61-6c1f3e0f2a10"

#define NAME_MAX_BYTES 100

static bool date_from_proto(const Atb__V1__Date *d, at_date *out)
{
    return d && at_date_from_ymd(d->year, d->month, d->day, out);
}

static Atb__V1__Date *date_to_proto(at_arena *a, at_date d)
{
    Atb__V1__Date *p = at_arena_alloc(a, sizeof *p);
    if (!p)
        return NULL;
    atb__v1__date__init(p);
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    p->year = y;
    p->month = m;
    p->day = dd;
    return p;
}

static at_code check_name(const char *s, const char *field, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return at_error_set(err, AT_VALIDATION, field, "%s is empty", field);
    if (n > NAME_MAX_BYTES)
        return at_error_set(err, AT_VALIDATION, field, "%s is longer than %d bytes", field, NAME_MAX_BYTES);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20)
            return at_error_set(err, AT_VALIDATION, field, "%s contains a control character", field);
    return AT_OK;
}

/* Validate the request; fill the birth date and the normalised personal code. */
static at_code validate(const Atb__V1__RegisterPerson *rp, at_pcode *pc, at_date *birth, at_error *err)
{
    at_code c = at_pcode_validate(rp->personal_code, "personal_code", pc, err);
    if (c != AT_OK)
        return c;
    if ((c = check_name(rp->given_name, "given_name", err)) != AT_OK ||
        (c = check_name(rp->family_name, "family_name", err)) != AT_OK)
        return c;
    bool given = rp->birth_date && (rp->birth_date->year || rp->birth_date->month || rp->birth_date->day);
    if (given && !date_from_proto(rp->birth_date, birth))
        return at_error_set(err, AT_VALIDATION, "birth_date", "birth date does not exist");
    if (pc->kind == AT_PCODE_OLD) {
        if (given && *birth != pc->birth_date) {
            char a[11], b[11];
            at_date_format(*birth, a, sizeof a);
            at_date_format(pc->birth_date, b, sizeof b);
            at_error_set(err, AT_VALIDATION, "birth_date", "birth date does not match the personal code");
            at_error_detail(err, "The birth date is %s, the personal code says %s.", a, b);
            return AT_VALIDATION;
        }
        *birth = pc->birth_date;
    } else if (!given) {
        at_error_set(err, AT_VALIDATION, "birth_date", "birth date is required");
        at_error_detail(err, "A new-format personal code (32...) does not contain the birth date.");
        return AT_VALIDATION;
    }
    if (*birth > at_today_utc())
        return at_error_set(err, AT_VALIDATION, "birth_date", "birth date is in the future");
    if (rp->sex != ATB__V1__SEX__FEMALE && rp->sex != ATB__V1__SEX__MALE)
        return at_error_set(err, AT_VALIDATION, "sex", "sex is not given");
    return AT_OK;
}

static at_code pack_registered(svc_request *req, const char *key, at_date birth, Atb__V1__Sex sex,
                               es_event_in *ev, at_error *err)
{
    Atb__V1__PersonRegistered pr = ATB__V1__PERSON_REGISTERED__INIT;
    pr.person_key = (char *)key;
    pr.birth_date = date_to_proto(req->arena, birth);
    pr.registered_on = date_to_proto(req->arena, at_today_utc());
    pr.sex = sex;
    if (!pr.birth_date || !pr.registered_on)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    size_t n = atb__v1__person_registered__get_packed_size(&pr);
    uint8_t *buf = at_arena_alloc(req->arena, n + 1);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__person_registered__pack(&pr, buf);
    memset(ev, 0, sizeof *ev);
    ev->type = "PersonRegistered";
    ev->payload = buf;
    ev->payload_len = n;
    return AT_OK;
}

at_code person_register(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RegisterPerson *rp = (const Atb__V1__RegisterPerson *)req->msg;
    at_pcode pc;
    at_date birth = AT_DATE_NONE;
    at_code code = validate(rp, &pc, &birth, err);
    if (code != AT_OK)
        return code;

    identity id;
    memset(&id, 0, sizeof id);
    at_uuid_derive(PERSON_KEY_NS, req->command_id, id.person_key);
    snprintf(id.personal_code, sizeof id.personal_code, "%s", pc.normalised);
    snprintf(id.given_name, sizeof id.given_name, "%s", rp->given_name);
    snprintf(id.family_name, sizeof id.family_name, "%s", rp->family_name);

    char stream[64];
    snprintf(stream, sizeof stream, "person-%s", id.person_key);
    es_event_in ev;
    if ((code = pack_registered(req, id.person_key, birth, rp->sex, &ev, err)) != AT_OK)
        return code;
    es_append_req ar;
    svc_append_req_init(req, &ar);
    ar.stream_id = stream;
    ar.expected_version = ES_VERSION_NONE;
    ar.events = &ev;
    ar.n_events = 1;
    es_append_res res;

    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    char existing[37] = "";
    code = identity_insert(es_txn_conn(t), req->tenant, &id, existing, err);
    if (code == AT_CONFLICT && strcmp(existing, id.person_key) == 0) {
        /* The same command again: the identity is ours; the log returns the first result. */
        es_txn_rollback(t);
        at_error_clear(err);
        st = es_append(req->es, &ar, &res, err);
        if (st != ES_OK)
            return es_status_code(st);
    } else if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    } else {
        st = es_txn_append(t, &ar, &res, err);
        if (st != ES_OK) {
            es_txn_rollback(t);
            return es_status_code(st);
        }
        if (res.duplicate) {
            /* Registered before and since erased: keep the erasure, answer as the first time. */
            es_txn_rollback(t);
        } else if ((st = es_txn_commit(t, err)) != ES_OK) {
            return es_status_code(st);
        }
    }
    *reply = svc_reply_appended(req, stream, id.person_key, &res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}

at_code person_get(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__GetPerson *q = (const Atb__V1__GetPerson *)req->msg;
    bool by_key = q->person_key && *q->person_key;
    bool by_code = q->personal_code && *q->personal_code;
    if (by_key == by_code)
        return at_error_set(err, AT_VALIDATION, "person_key", "give either person_key or personal_code");
    if (by_key && !at_uuid_valid(q->person_key))
        return at_error_set(err, AT_VALIDATION, "person_key", "person_key is not a UUID");
    at_pcode pc;
    if (by_code && at_pcode_validate(q->personal_code, "personal_code", &pc, err) != AT_OK)
        return AT_VALIDATION;

    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    identity id;
    at_code code = identity_find(es_txn_conn(t), req->tenant, by_key ? q->person_key : NULL,
                                 by_code ? pc.normalised : NULL, &id, err);
    es_txn_rollback(t);
    if (code != AT_OK)
        return code;

    char stream[64];
    snprintf(stream, sizeof stream, "person-%s", id.person_key);
    es_batch *b = NULL;
    if ((st = es_read_stream(req->es, stream, 1, 1000, &b, err)) != ES_OK)
        return es_status_code(st);
    Atb__V1__PersonView *v = at_arena_alloc(req->arena, sizeof *v);
    if (!v) {
        es_batch_free(b);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__person_view__init(v);
    v->person_key = at_arena_strdup(req->arena, id.person_key);
    v->personal_code = at_arena_strdup(req->arena, id.personal_code);
    v->given_name = at_arena_strdup(req->arena, id.given_name);
    v->family_name = at_arena_strdup(req->arena, id.family_name);
    for (size_t i = 0; i < es_batch_count(b); i++) {
        const es_event *e = es_batch_get(b, i);
        v->version = e->version;
        if (strcmp(e->type, "PersonRegistered") != 0)
            continue;
        Atb__V1__PersonRegistered *pr =
            atb__v1__person_registered__unpack(at_arena_pbc(req->arena), e->payload_len, e->payload);
        if (!pr)
            continue;
        v->birth_date = pr->birth_date;
        v->sex = pr->sex;
    }
    es_batch_free(b);
    *reply = &v->base;
    return AT_OK;
}
