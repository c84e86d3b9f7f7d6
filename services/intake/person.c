/*
 * person.c -- the Person aggregate: stream person-<person key>, category "person".
 *
 * RegisterPerson validates, then in ONE transaction inserts the identity row (identity.c)
 * and appends PersonRegistered, and commits: a person is registered with both or with
 * neither. The event carries the person key, birth date, sex and registration date, the
 * facts decisions need; the personal code and the names stay in the identity store.
 *
 * Idempotency: the person key is derived from the command id, so a retried command (same
 * command id) names the same person. The identity insert comes first (the append takes
 * the log's head lock, so it goes last); when it finds the key already there, the append
 * in the same transaction meets the command id in the log and returns the first result
 * (res.duplicate), and the transaction is rolled back: the retry gets the first reply and
 * leaves no second row. Two copies in flight at once serialise on the identity row.
 *
 * Invariants: nothing is appended or stored for a refused command; an event payload never
 * holds a personal code or a name (tests/intake/test_walking_skeleton.c checks the bytes).
 *
 * When adding a Person event, also change: proto/atb/v1/intake.proto, docs/events.md,
 * person_get() (it folds the stream) and the consumers that project persons
 * (services/reporting/persons.c).
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

#include "at_date.h"
#include "at_pcode.h"
#include "at_time.h"
#include "at_uuid.h"

/* Namespace of person keys derived from command ids. Never change it: a command retried
 * across the change would name another person than its first attempt. */
#define PERSON_KEY_NS "1b0d8f9e-5c2a-4f47-9a61-6c1f3e0f2a10"

/* ---- small helpers ---- */

/* Today's date in Latvia. EET/EEST: UTC+3 from the last Sunday of March to the last
 * Sunday of October, 01:00 UTC each; UTC+2 otherwise. A child born just after midnight in
 * Riga must not be "born in the future" because UTC is still on the day before. */
static at_date latvian_today(void)
{
    int64_t now = at_now_us();
    int y, m, d;
    at_date_to_ymd(at_date_of_us(now), &y, &m, &d);
    at_date mar, oct;
    at_date_from_ymd(y, 3, 31, &mar);
    at_date_from_ymd(y, 10, 31, &oct);
    mar -= (at_date_weekday(mar) + 1) % 7;   /* back to the Sunday (weekday 6) */
    oct -= (at_date_weekday(oct) + 1) % 7;
    const int64_t day_us = 86400LL * 1000000, hour_us = 3600LL * 1000000;
    bool summer = now >= (int64_t)mar * day_us + hour_us && now < (int64_t)oct * day_us + hour_us;
    return at_date_of_us(now + (summer ? 3 : 2) * hour_us);
}

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

/* Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. The runtime
 * checks every string before a handler runs; this keeps the rule where the data is stored. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static at_code check_name(const char *s, const char *field, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n > IDENTITY_NAME_MAX) {
        at_error_set(err, AT_VALIDATION, field, "%s is longer than %d bytes", field, IDENTITY_NAME_MAX);
        at_error_detail(err, "It has %zu bytes; letters with diacritics take two.", n);
        return AT_VALIDATION;
    }
    if (!utf8_valid((const unsigned char *)s, n))
        return at_error_set(err, AT_VALIDATION, field, "%s is not valid UTF-8", field);
    bool blank = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7F)
            return at_error_set(err, AT_VALIDATION, field, "%s contains a control character", field);
        if (ch != ' ')
            blank = false;
    }
    if (blank)
        return at_error_set(err, AT_VALIDATION, field, "%s is empty", field);
    return AT_OK;
}

/* Validate the request; fill the normalised personal code and the birth date. */
static at_code validate(const Atb__V1__RegisterPerson *rp, at_pcode *pc, at_date *birth, at_error *err)
{
    at_code c = at_pcode_validate(rp->personal_code, "personal_code", pc, err);
    if (c != AT_OK)
        return c;
    if ((c = check_name(rp->given_name, "given_name", err)) != AT_OK ||
        (c = check_name(rp->family_name, "family_name", err)) != AT_OK)
        return c;
    const Atb__V1__Date *bd = rp->birth_date;
    bool given = bd && (bd->year || bd->month || bd->day);
    if (given && !date_from_proto(bd, birth)) {
        at_error_set(err, AT_VALIDATION, "birth_date", "birth date does not exist");
        at_error_detail(err, "%04d-%02d-%02d is not a date between 1800 and 2199.", (int)bd->year, (int)bd->month,
                        (int)bd->day);
        return AT_VALIDATION;
    }
    if (pc->kind == AT_PCODE_OLD) {
        if (given && *birth != pc->birth_date) {
            char a[11], b[11];
            at_date_format(*birth, a, sizeof a);
            at_date_format(pc->birth_date, b, sizeof b);
            at_error_set(err, AT_VALIDATION, "birth_date", "birth date does not match the personal code");
            at_error_detail(err, "The birth date is %s, the personal code says %s.", a, b);
            at_error_hint(err, "Leave the birth date out: an old-format code carries it.");
            return AT_VALIDATION;
        }
        *birth = pc->birth_date;
    } else if (!given) {
        at_error_set(err, AT_VALIDATION, "birth_date", "birth date is required");
        at_error_detail(err, "A new-format personal code (3 then 2-9, e.g. 32...) does not contain the birth "
                             "date.");
        at_error_hint(err, "Take the birth date from the identity document.");
        return AT_VALIDATION;
    }
    at_date today = latvian_today();
    if (*birth > today) {
        char a[11], b[11];
        at_date_format(*birth, a, sizeof a);
        at_date_format(today, b, sizeof b);
        at_error_set(err, AT_VALIDATION, "birth_date", "birth date is in the future");
        at_error_detail(err, "The birth date is %s; today is %s.", a, b);
        return AT_VALIDATION;
    }
    if (rp->sex != ATB__V1__SEX__FEMALE && rp->sex != ATB__V1__SEX__MALE) {
        at_error_set(err, AT_VALIDATION, "sex", "sex is not given");
        at_error_detail(err, "It is FEMALE (1) or MALE (2); the value sent was %d.", (int)rp->sex);
        return AT_VALIDATION;
    }
    return AT_OK;
}

static at_code pack_registered(svc_request *req, const char *key, at_date birth, Atb__V1__Sex sex,
                               es_event_in *ev, at_error *err)
{
    Atb__V1__PersonRegistered pr = ATB__V1__PERSON_REGISTERED__INIT;
    pr.person_key = (char *)key;
    pr.birth_date = date_to_proto(req->arena, birth);
    pr.registered_on = date_to_proto(req->arena, latvian_today());
    pr.sex = sex;
    if (!pr.birth_date || !pr.registered_on)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the event: out of memory");
    size_t n = atb__v1__person_registered__get_packed_size(&pr);
    uint8_t *buf = at_arena_alloc(req->arena, n);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the event: out of memory");
    atb__v1__person_registered__pack(&pr, buf);
    memset(ev, 0, sizeof *ev);
    ev->type = "PersonRegistered";
    ev->payload = buf;
    ev->payload_len = n;
    return AT_OK;
}

/* A refusal that carries a key: an error CommandReply whose key field (and nothing else
 * but the error) names the existing person, so the client can open it. Returned as AT_OK
 * because the runtime builds error replies from err alone, without a key. */
static at_code refuse_with_key(svc_request *req, const at_error *e, const char *key, ProtobufCMessage **reply,
                               at_error *err)
{
    Atb__V1__CommandReply *r = (Atb__V1__CommandReply *)svc_reply_appended(req, NULL, key, NULL);
    Atb__V1__Error *x = at_arena_alloc(req->arena, sizeof *x);
    if (!r || !x)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__error__init(x);
    x->code = (Atb__V1__ErrorCode)e->code;
    x->message = at_arena_strdup(req->arena, e->message);
    x->detail = at_arena_strdup(req->arena, e->detail);
    x->hint = at_arena_strdup(req->arena, e->hint);
    x->field = at_arena_strdup(req->arena, e->field);
    if (!x->message || !x->detail || !x->hint || !x->field)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    r->error = x;
    *reply = &r->base;
    return AT_OK;
}

/* ---- RegisterPerson ---- */

/* Replies: a CommandReply with the person key, the stream and the positions (duplicate
 * set for a retried command id); VALIDATION naming the field; CONFLICT "person is already
 * registered" with the existing key in the key field; UNKNOWN_TENANT; UNAVAILABLE. */
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
    ar.expected_version = ES_VERSION_NONE;   /* a person is registered once */
    ar.events = &ev;
    ar.n_events = 1;
    es_append_res res;

    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    char existing[37] = "";
    code = identity_insert(es_txn_conn(t), req->tenant, &id, existing, err);
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code == AT_CONFLICT ? refuse_with_key(req, err, existing, reply, err) : code;
    }
    st = es_txn_append(t, &ar, &res, err);
    if (st != ES_OK) {
        es_txn_rollback(t);
        return es_status_code(st);
    }
    if (res.duplicate) {
        /* The command was done before: answer as the first time, keep nothing of this try
         * (also when the first one's identity has since been erased). */
        es_txn_rollback(t);
    } else if ((st = es_txn_commit(t, err)) != ES_OK) {
        return es_status_code(st);
    }
    *reply = svc_reply_appended(req, stream, id.person_key, &res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
}

/* ---- GetPerson ---- */

/* Replies: a PersonView (identity + the facts folded from the stream); VALIDATION when
 * neither or both of key and code are given or one is malformed; NOT_FOUND when the tenant
 * has no such person (or it was erased). */
at_code person_get(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__GetPerson *q = (const Atb__V1__GetPerson *)req->msg;
    bool by_key = q->person_key && *q->person_key;
    bool by_code = q->personal_code && *q->personal_code;
    if (by_key == by_code) {
        at_error_set(err, AT_VALIDATION, "person_key", "give either person_key or personal_code");
        at_error_detail(err, "GetPerson finds one person, by its key or by its personal code.");
        return AT_VALIDATION;
    }
    if (by_key && !at_uuid_valid(q->person_key))
        return at_error_set(err, AT_VALIDATION, "person_key", "person_key is not a UUID");
    at_pcode pc;
    if (by_code && at_pcode_validate(q->personal_code, "personal_code", &pc, err) != AT_OK)
        return AT_VALIDATION;

    /* A transaction only to borrow a pooled connection for the identity store. */
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
    if ((st = es_read_stream(req->es, stream, 1, SIZE_MAX, &b, err)) != ES_OK)
        return es_status_code(st);
    Atb__V1__PersonView *v = at_arena_alloc(req->arena, sizeof *v);
    if (!v) {
        es_batch_free(b);
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    }
    atb__v1__person_view__init(v);
    v->person_key = at_arena_strdup(req->arena, id.person_key);
    v->personal_code = at_arena_strdup(req->arena, id.personal_code);
    v->given_name = at_arena_strdup(req->arena, id.given_name);
    v->family_name = at_arena_strdup(req->arena, id.family_name);
    code = AT_OK;
    for (size_t i = 0; i < es_batch_count(b) && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        v->version = e->version;
        if (strcmp(e->type, "PersonRegistered") != 0)
            continue;   /* later Person events fold here as they are added */
        Atb__V1__PersonRegistered *pr =
            atb__v1__person_registered__unpack(at_arena_pbc(req->arena), e->payload_len, e->payload);
        if (!pr) {
            code = at_error_set(err, AT_INTERNAL, NULL, "cannot read the person's stream");
            at_error_detail(err, "The PersonRegistered event at position %lld does not decode.",
                            (long long)e->position);
            break;
        }
        v->birth_date = pr->birth_date;
        v->registered_on = pr->registered_on;
        v->sex = pr->sex;
    }
    es_batch_free(b);
    if (code != AT_OK)
        return code;
    if (!v->person_key || !v->personal_code || !v->given_name || !v->family_name)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    *reply = &v->base;
    return AT_OK;
}
