/*
 * common.c -- what every intake aggregate uses: dates, field checks, packing events,
 * reading a stream, appending in a transaction, the note store and the stream index.
 *
 * The write path of every command is the same (CONTRIBUTING.md, "a command"):
 *   1. check the fields (nothing touched yet);
 *   2. fold the streams the command depends on (es_read_stream) and check the rules
 *      against that state; the version folded is the version the append must meet, so a
 *      concurrent change between 2 and 4 is a CONFLICT, never a lost update;
 *   3. intake_begin(), write the side tables (notes, identities, memberships, links);
 *   4. intake_append() last (it takes the log's head lock), intake_finish() commits.
 * A refused command leaves nothing: the transaction is rolled back on every error.
 * A repeated command id never gets here once it appended: the runtime answers it with its
 * first result before step 1 (SVC_REPLAY in handlers.c), so a repeat is not refused by a
 * state its first try changed.
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

#include "at_uuid.h"

/* Namespace of keys derived from command ids (households, applications, notes, ...).
 * Never change it: a command retried across the change would create a second record. */
#define INTAKE_KEY_NS "6f1c2e7a-3b8d-4c55-9e0a-2d4b7f9c1a36"

void intake_lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* ---- dates ---- */




const char *intake_date_text(at_date d, char *buf)
{
    if (d == AT_DATE_NONE)
        return strcpy(buf, "-");
    at_date_format(d, buf, 11);
    return buf;
}

/* ---- checks ---- */

at_code intake_check_date(const Atb__V1__Date *d, const char *field, bool required, bool not_future, at_date *out,
                          at_error *err)
{
    if (!svc_date_in(d, out)) {
        at_error_set(err, AT_VALIDATION, field, "%s does not exist", field);
        at_error_detail(err, "%04d-%02d-%02d is not a date between 1800 and 2199.", (int)d->year, (int)d->month,
                        (int)d->day);
        return AT_VALIDATION;
    }
    if (*out == AT_DATE_NONE) {
        if (required)
            return at_error_set(err, AT_VALIDATION, field, "%s is required", field);
        return AT_OK;
    }
    if (not_future) {
        at_date today = svc_today();
        if (*out > today) {
            char a[11], b[11];
            at_error_set(err, AT_VALIDATION, field, "%s is in the future", field);
            at_error_detail(err, "It is %s; today is %s in Latvia.", intake_date_text(*out, a),
                            intake_date_text(today, b));
            at_error_hint(err, "Record a fact when it has happened.");
            return AT_VALIDATION;
        }
    }
    return AT_OK;
}

at_code intake_check_key(const char *s, const char *field, bool required, at_error *err)
{
    if (!s || !*s) {
        if (required)
            return at_error_set(err, AT_VALIDATION, field, "%s is required", field);
        return AT_OK;
    }
    if (!at_uuid_valid(s)) {
        at_error_set(err, AT_VALIDATION, field, "%s is not a UUID", field);
        at_error_detail(err, "Keys are UUIDs such as 0b6f3c1e-...; the value sent was \"%.64s\".", s);
        return AT_VALIDATION;
    }
    intake_lower((char *)s);   /* the request's own copy, in its arena: stream ids use one case */
    return AT_OK;
}

/* Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
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

at_code intake_check_text(const char *s, const char *field, size_t max, bool required, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max) {
        at_error_set(err, AT_VALIDATION, field, "%s is longer than %zu bytes", field, max);
        at_error_detail(err, "It has %zu bytes; letters with diacritics take two.", n);
        return AT_VALIDATION;
    }
    if (!utf8_valid((const unsigned char *)s, n))
        return at_error_set(err, AT_VALIDATION, field, "%s is not valid UTF-8", field);
    bool blank = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7F)
            return at_error_set(err, AT_VALIDATION, field, "%s contains a control character", field);
        if (ch != ' ' && ch != '\n' && ch != '\t')
            blank = false;
    }
    if (required && blank)
        return at_error_set(err, AT_VALIDATION, field, "%s is required", field);
    return AT_OK;
}

at_code intake_check_code(const char *s, const char *field, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return at_error_set(err, AT_VALIDATION, field, "%s is required", field);
    bool ok = n <= INTAKE_CODE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
    if (!ok) {
        at_error_set(err, AT_VALIDATION, field, "%s is not a code", field);
        at_error_detail(err, "Codes are lower-case letters, digits and '_', at most %d bytes: \"%.64s\".",
                        INTAKE_CODE_MAX, s);
        return AT_VALIDATION;
    }
    return AT_OK;
}

at_code intake_check_cents(int64_t v, const char *field, at_error *err)
{
    if (v >= 0)
        return AT_OK;
    at_error_set(err, AT_VALIDATION, field, "%s is negative", field);
    at_error_detail(err, "Amounts are euro cents, 0 or more; the value sent was %lld.", (long long)v);
    return AT_VALIDATION;
}

/* ---- events ---- */


at_code intake_read(svc_request *req, const char *stream, es_batch **out, at_error *err)
{
    es_status st = es_read_stream(req->es, stream, 1, SIZE_MAX, out, err);
    return st == ES_OK ? AT_OK : es_status_code(st);
}

ProtobufCMessage *intake_unpack(at_arena *a, const ProtobufCMessageDescriptor *d, const es_event *e, at_error *err)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, at_arena_pbc(a), e->payload_len, e->payload);
    if (!m) {
        at_error_set(err, AT_INTERNAL, NULL, "cannot read the stream %s", e->stream_id);
        at_error_detail(err, "The %s event at position %lld does not decode as %s.", e->type,
                        (long long)e->position, d->name);
    }
    return m;
}

/* ---- writes ---- */

at_code intake_begin(svc_request *req, es_txn **t, at_error *err)
{
    es_status st = es_txn_begin(req->es, t, err);
    return st == ES_OK ? AT_OK : es_status_code(st);
}

at_code intake_append(svc_request *req, es_txn *t, const char *stream, int64_t expected, es_event_in *evs,
                      size_t n, int part, es_append_res *res, at_error *err)
{
    es_append_req ar;
    svc_append_req_init(req, &ar);
    char derived[37];
    if (part > 0) {
        char name[64];
        snprintf(name, sizeof name, "%s/part%d", req->command_id, part);
        at_uuid_derive(INTAKE_KEY_NS, name, derived);
        ar.command_id = derived;
    }
    ar.stream_id = stream;
    ar.expected_version = expected;
    ar.events = evs;
    ar.n_events = n;
    es_status st = es_txn_append(t, &ar, res, err);
    if (st != ES_OK) {
        es_txn_rollback(t);
        return es_status_code(st);
    }
    return AT_OK;
}

at_code intake_finish(svc_request *req, es_txn *t, const char *stream, const char *key, const es_append_res *res,
                      ProtobufCMessage **reply, at_error *err)
{
    if (res->duplicate) {
        /* Done before: answer as the first time and keep nothing of this try. */
        es_txn_rollback(t);
    } else {
        es_status st = es_txn_commit(t, err);
        if (st != ES_OK)
            return es_status_code(st);
    }
    *reply = svc_reply_appended(req, stream, key, res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
}

at_code intake_expect(const svc_request *req, const char *stream, int64_t current, at_error *err)
{
    if (req->expected_version == ES_VERSION_ANY || req->expected_version == current)
        return AT_OK;
    at_error_set(err, AT_CONFLICT, NULL, "stale version");
    at_error_detail(err, "The command expected %s at version %lld; it is at version %lld.", stream,
                    (long long)req->expected_version, (long long)current);
    at_error_hint(err, "Read it again, then repeat the change if it still applies.");
    return AT_CONFLICT;
}

void intake_key(const svc_request *req, const char *what, char out[37])
{
    char name[160];
    snprintf(name, sizeof name, "%s/%s", req->command_id, what);
    at_uuid_derive(INTAKE_KEY_NS, name, out);
}

at_code intake_pg_failed(PGresult *r, const char *what, at_error *err)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    at_error_set(err, AT_UNAVAILABLE, NULL, "could not %s", what);
    at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s).", PQresultErrorMessage(r), state ? state : "none");
    at_error_hint(err, "retry with the same command id");
    return AT_UNAVAILABLE;
}

/* Run one statement in the transaction; on failure roll back and report. */
static at_code exec_in(es_txn *t, const char *sql, int n, const char *const *params, const char *what,
                       at_error *err)
{
    PGresult *r = PQexecParams(es_txn_conn(t), sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        at_code code = intake_pg_failed(r, what, err);
        PQclear(r);
        es_txn_rollback(t);
        return code;
    }
    PQclear(r);
    return AT_OK;
}

/* ---- notes ---- */

at_code note_put(svc_request *req, es_txn *t, const char *what, const char *text, char out[37], at_error *err)
{
    out[0] = '\0';
    if (!text || !*text)
        return AT_OK;
    char name[64];
    snprintf(name, sizeof name, "note:%s", what);
    intake_key(req, name, out);
    const char *p[3] = {out, req->tenant, text};
    /* A retry of the same command finds its own note: same key, nothing new. */
    return exec_in(t,
                   "INSERT INTO intake.notes (note_key, tenant, text) VALUES ($1::uuid, $2, $3) "
                   "ON CONFLICT (note_key) DO NOTHING",
                   3, p, "store the note", err);
}

const char *note_get(svc_request *req, const char *key)
{
    if (!key || !*key)
        return "";
    es_txn *t = NULL;
    at_error e;
    if (es_txn_begin(req->es, &t, &e) != ES_OK)
        return "";
    const char *p[2] = {key, req->tenant};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT text FROM intake.notes WHERE note_key = $1::uuid AND tenant = $2 "
                               "AND erased_at IS NULL",
                               2, NULL, p, NULL, NULL, 0);
    const char *s = "";
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        char *copy = at_arena_strdup(req->arena, PQgetvalue(r, 0, 0));
        if (copy)
            s = copy;
    }
    PQclear(r);
    es_txn_rollback(t);
    return s;
}

/* ---- the stream index ---- */

static const char *or_null(const char *s)
{
    return s && *s ? s : NULL;
}

at_code link_put(es_txn *t, const char *tenant, const char *stream, const char *kind, const char *person,
                 const char *household, const char *application, at_error *err)
{
    const char *p[6] = {stream, tenant, kind, or_null(person), or_null(household), or_null(application)};
    return exec_in(t,
                   "INSERT INTO intake.links (stream_id, tenant, kind, person_key, household_key, application_id) "
                   "VALUES ($1, $2, $3, $4::uuid, $5::uuid, $6::uuid) ON CONFLICT (stream_id) DO NOTHING",
                   6, p, "index the stream", err);
}
