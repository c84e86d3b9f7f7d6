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
#include <stdlib.h>
#include <string.h>

#include "at_date.h"
#include "at_pcode.h"
#include "at_time.h"
#include "at_uuid.h"
#include "rules.h"

static const Atb__V1__PersonFactView *fact_in_force(const person_state *p, Atb__V1__PersonFactKind kind,
                                                    const char *flag, at_date on);

/* Namespace of person keys derived from command ids. Never change it: a command retried
 * across the change would name another person than its first attempt. */
#define PERSON_KEY_NS "1b0d8f9e-5c2a-4f47-9a61-6c1f3e0f2a10"

static at_code check_name(const char *s, const char *field, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n > IDENTITY_NAME_MAX) {
        at_error_set(err, AT_VALIDATION, field, "%s is longer than %d bytes", field, IDENTITY_NAME_MAX);
        at_error_detail(err, "It has %zu bytes; letters with diacritics take two.", n);
        return AT_VALIDATION;
    }
    if (intake_check_text(s, field, IDENTITY_NAME_MAX, false, err) != AT_OK)
        return AT_VALIDATION;
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
    if (given && !(svc_date_in(bd, birth) && *birth != AT_DATE_NONE)) {
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
    at_date today = svc_today();
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
    pr.birth_date = svc_date_out(req->arena, birth);
    pr.registered_on = svc_date_out(req->arena, svc_today());
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

    person_state ps;
    if ((code = person_fold(req, id.person_key, &ps, err)) != AT_OK)
        return code;
    Atb__V1__PersonView *v = at_arena_alloc(req->arena, sizeof *v);
    if (!v)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__person_view__init(v);
    v->person_key = at_arena_strdup(req->arena, id.person_key);
    v->personal_code = at_arena_strdup(req->arena, id.personal_code);
    v->given_name = at_arena_strdup(req->arena, id.given_name);
    v->family_name = at_arena_strdup(req->arena, id.family_name);
    v->version = ps.version;
    v->birth_date = svc_date_out(req->arena, ps.birth_date);
    v->registered_on = svc_date_out(req->arena, ps.registered_on);
    v->sex = ps.sex;
    v->n_facts = ps.n_facts;
    v->facts = ps.facts;
    for (size_t i = 0; i < ps.n_facts; i++) {   /* note keys -> their text */
        ps.facts[i]->reason = (char *)note_get(req, ps.facts[i]->reason);
        ps.facts[i]->address = (char *)note_get(req, ps.facts[i]->address);
    }
    at_date today = svc_today();
    char hh[37];
    if ((code = household_of(req, id.person_key, today, hh, err)) != AT_OK)
        return code;
    v->household_key = at_arena_strdup(req->arena, hh);
    const Atb__V1__PersonFactView *res = fact_in_force(&ps, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE,
                                                       NULL, today);
    v->address = (char *)(res ? res->address : "");
    if (!v->person_key || !v->personal_code || !v->given_name || !v->family_name || !v->household_key)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    *reply = &v->base;
    return AT_OK;
}

/* ---- the stream folded ---- */

at_code person_fold(svc_request *req, const char *person_key, person_state *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    out->birth_date = out->registered_on = AT_DATE_NONE;
    char stream[64];
    snprintf(stream, sizeof stream, "person-%s", person_key);
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
    size_t n = es_batch_count(b);
    out->facts = at_arena_alloc(req->arena, (n + 1) * sizeof *out->facts);
    if (!out->facts) {
        es_batch_free(b);
        return at_error_set(err, AT_INTERNAL, NULL, "could not fold the person: out of memory");
    }
    for (size_t i = 0; i < n && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        out->version = e->version;
        if (strcmp(e->type, "PersonRegistered") == 0) {
            Atb__V1__PersonRegistered *pr = (Atb__V1__PersonRegistered *)intake_unpack(
                req->arena, &atb__v1__person_registered__descriptor, e, err);
            if (!pr) {
                code = AT_INTERNAL;
                break;
            }
            svc_date_in(pr->birth_date, &out->birth_date);
            svc_date_in(pr->registered_on, &out->registered_on);
            out->sex = pr->sex;
        } else if (strcmp(e->type, "PersonCorrected") == 0) {
            Atb__V1__PersonCorrected *pc = (Atb__V1__PersonCorrected *)intake_unpack(
                req->arena, &atb__v1__person_corrected__descriptor, e, err);
            if (!pc) {
                code = AT_INTERNAL;
                break;
            }
            at_date d;
            if (svc_date_in(pc->birth_date, &d) && d != AT_DATE_NONE)
                out->birth_date = d;
            if (pc->sex != ATB__V1__SEX__SEX_UNSPECIFIED)
                out->sex = pc->sex;
        } else if (strcmp(e->type, "PersonFactRecorded") == 0) {
            Atb__V1__PersonFactRecorded *fr = (Atb__V1__PersonFactRecorded *)intake_unpack(
                req->arena, &atb__v1__person_fact_recorded__descriptor, e, err);
            Atb__V1__PersonFactView *fv = at_arena_alloc(req->arena, sizeof *fv);
            if (!fr || !fv) {
                code = fr ? at_error_set(err, AT_INTERNAL, NULL, "could not fold the person: out of memory")
                          : AT_INTERNAL;
                break;
            }
            atb__v1__person_fact_view__init(fv);
            fv->fact = fr->fact;
            fv->position = e->position;
            fv->reason = fr->reason_note;
            fv->address = fr->address_note;
            for (size_t k = 0; fr->corrects_position && k < out->n_facts; k++)
                if (out->facts[k]->position == fr->corrects_position)
                    out->facts[k]->corrected_by = e->position;
            out->facts[out->n_facts++] = fv;
        }
    }
    es_batch_free(b);
    return code;
}

/* The fact of `kind` (and `flag`) in force on `on`: of those whose period holds the
 * date and that no correction replaced, the one that starts last (so a new open-ended
 * fact ends the one before it); on a tie, the one recorded last. */
static const Atb__V1__PersonFactView *fact_in_force(const person_state *p, Atb__V1__PersonFactKind kind,
                                                    const char *flag, at_date on)
{
    const Atb__V1__PersonFactView *best = NULL;
    at_date best_from = AT_DATE_NONE;
    for (size_t i = 0; i < p->n_facts; i++) {
        const Atb__V1__PersonFactView *fv = p->facts[i];
        const Atb__V1__PersonFact *f = fv->fact;
        if (fv->corrected_by || !f || f->kind != kind || (flag && strcmp(f->flag, flag) != 0))
            continue;
        at_date from, to;
        if (!svc_date_in(f->from, &from) || !svc_date_in(f->to, &to) || from == AT_DATE_NONE)
            continue;
        if (on < from || (to != AT_DATE_NONE && on > to))
            continue;
        if (!best || from >= best_from) {
            best = fv;
            best_from = from;
        }
    }
    return best;
}

/* Add a flag name to the member (the arena holds the array; at most `cap`). */
static void member_flag(Atb__V1__HouseholdMember *m, size_t cap, const char *name)
{
    for (size_t i = 0; i < m->n_flags; i++)
        if (strcmp(m->flags[i], name) == 0)
            return;
    if (m->n_flags < cap)
        m->flags[m->n_flags++] = (char *)name;
}

at_code person_member(svc_request *req, const person_state *p, at_date on, Atb__V1__HouseholdMember *m,
                      at_error *err)
{
    size_t cap = p->n_facts + 4;
    m->flags = at_arena_alloc(req->arena, cap * sizeof *m->flags);
    if (!m->flags)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the household: out of memory");
    m->n_flags = 0;
    m->birth_date = svc_date_out(req->arena, p->birth_date);

    /* Flags: the latest fact of each flag name decides whether it holds. */
    for (size_t i = 0; i < p->n_facts; i++) {
        const Atb__V1__PersonFact *f = p->facts[i]->fact;
        if (!f || f->kind != ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_FLAG)
            continue;
        const Atb__V1__PersonFactView *in = fact_in_force(p, f->kind, f->flag, on);
        if (in == p->facts[i] && !f->cleared)
            member_flag(m, cap, f->flag);
    }
    const Atb__V1__PersonFactView *emp = fact_in_force(p, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT,
                                                       NULL, on);
    if (emp) {
        switch (emp->fact->employment) {
        case ATB__V1__EMPLOYMENT__EMPLOYMENT_EMPLOYED:
        case ATB__V1__EMPLOYMENT__EMPLOYMENT_SELF_EMPLOYED:
            member_flag(m, cap, "employed");
            break;
        case ATB__V1__EMPLOYMENT__EMPLOYMENT_REGISTERED_UNEMPLOYED:
            member_flag(m, cap, "registered_unemployed");
            break;
        case ATB__V1__EMPLOYMENT__EMPLOYMENT_STUDENT:
            member_flag(m, cap, "student");
            break;
        default:
            break;
        }
    }
    const Atb__V1__PersonFactView *dis = fact_in_force(p, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY,
                                                       NULL, on);
    if (dis) {
        m->disability_group = dis->fact->level;
        m->disability_from = dis->fact->from;
        m->disability_to = dis->fact->to;
    }
    const Atb__V1__PersonFactView *sch = fact_in_force(p, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_SCHOOL, NULL,
                                                       on);
    if (sch)
        m->school = (Atb__V1__School)sch->fact->level;

    /* Residence in the municipality since: the start of the unbroken run of residence
     * facts in this tenant that holds `on` (a move within the city is a new fact). */
    const Atb__V1__PersonFactView *res = fact_in_force(p, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE,
                                                       NULL, on);
    if (res && strcmp(res->fact->municipality, req->tenant) == 0) {
        at_date since;
        svc_date_in(res->fact->from, &since);
        for (bool moved = true; moved;) {
            moved = false;
            const Atb__V1__PersonFactView *prev = fact_in_force(
                p, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE, NULL, since - 1);
            at_date pf;
            if (prev && strcmp(prev->fact->municipality, req->tenant) == 0 &&
                svc_date_in(prev->fact->from, &pf) && pf < since) {
                since = pf;
                moved = true;
            }
        }
        m->residence_since = svc_date_out(req->arena, since);
    }
    return AT_OK;
}

/* ---- RecordPersonFact ---- */

static at_code check_fact(svc_request *req, const Atb__V1__RecordPersonFact *c, at_error *err)
{
    const Atb__V1__PersonFact *f = c->fact;
    if (!f)
        return at_error_set(err, AT_VALIDATION, "fact", "fact is required");
    at_date from, to;
    at_code code;
    if ((code = intake_check_date(f->from, "fact.from", true, true, &from, err)) != AT_OK ||
        (code = intake_check_date(f->to, "fact.to", false, false, &to, err)) != AT_OK)
        return code;
    if (to != AT_DATE_NONE && to < from)
        return at_error_set(err, AT_VALIDATION, "fact.to", "fact.to is before fact.from");
    bool address = c->address && *c->address;
    switch (f->kind) {
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE:
        if ((code = intake_check_code(f->municipality, "fact.municipality", err)) != AT_OK)
            return code;
        if ((code = intake_check_text(c->address, "address", 300, false, err)) != AT_OK)
            return code;
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY:
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_CARE_LEVEL:
        if (f->level < 1 || f->level > 4) {
            at_error_set(err, AT_VALIDATION, "fact.level", "fact.level is out of range");
            at_error_detail(err, "A disability group is 1..3 (4: a child with disability); a care level is 1..4 "
                                 "(I-IV). The value sent was %d.", (int)f->level);
            return AT_VALIDATION;
        }
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT:
        if (f->employment < 1 || f->employment > 6)
            return at_error_set(err, AT_VALIDATION, "fact.employment", "fact.employment is not given");
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_SCHOOL:
        if (f->level < 1 || f->level > 3)
            return at_error_set(err, AT_VALIDATION, "fact.level", "fact.level is not a School value (1..3)");
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_FLAG:
        if ((code = intake_check_code(f->flag, "fact.flag", err)) != AT_OK)
            return code;
        if (strcmp(f->flag, "cooperation_failed") == 0 || strcmp(f->flag, "child") == 0 ||
            strcmp(f->flag, "pension_age") == 0 || strcmp(f->flag, "disabled") == 0 ||
            rules_member_flag(f->flag) < 0) {
            at_error_set(err, AT_VALIDATION, "fact.flag", "unknown flag \"%s\"", f->flag);
            at_error_detail(err, "Flags are the member flags of docs/rules.md; \"child\", \"pension_age\" and "
                                 "\"disabled\" are computed, and \"cooperation_failed\" comes from the "
                                 "co-operation agreements.");
            return AT_VALIDATION;
        }
        break;
    default:
        at_error_set(err, AT_VALIDATION, "fact.kind", "fact.kind is not given");
        at_error_detail(err, "It is one of RESIDENCE (1) .. SCHOOL (6); the value sent was %d.", (int)f->kind);
        return AT_VALIDATION;
    }
    if (address && f->kind != ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE)
        return at_error_set(err, AT_VALIDATION, "address", "an address belongs to a RESIDENCE fact only");
    if (c->corrects_position < 0)
        return at_error_set(err, AT_VALIDATION, "corrects_position", "corrects_position is negative");
    if ((code = intake_check_text(c->reason, "reason", INTAKE_TEXT_MAX, c->corrects_position > 0, err)) != AT_OK)
        return code;
    (void)req;
    return AT_OK;
}

at_code person_record_fact(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RecordPersonFact *c = (const Atb__V1__RecordPersonFact *)req->msg;
    at_code code;
    if ((code = intake_check_key(c->person_key, "person_key", true, err)) != AT_OK ||
        (code = check_fact(req, c, err)) != AT_OK)
        return code;
    person_state ps;
    if ((code = person_fold(req, c->person_key, &ps, err)) != AT_OK)
        return code;
    char stream[64];
    snprintf(stream, sizeof stream, "person-%s", c->person_key);
    if (ps.version == 0) {
        at_error_set(err, AT_NOT_FOUND, "person_key", "person not found");
        at_error_detail(err, "No person with the key %s is registered in %s.", c->person_key, req->tenant);
        return AT_NOT_FOUND;
    }
    if ((code = intake_expect(req, stream, ps.version, err)) != AT_OK)
        return code;
    if (c->corrects_position) {
        const Atb__V1__PersonFactView *target = NULL;
        for (size_t i = 0; i < ps.n_facts; i++)
            if (ps.facts[i]->position == c->corrects_position)
                target = ps.facts[i];
        if (!target) {
            at_error_set(err, AT_VALIDATION, "corrects_position", "no fact of this person at that position");
            at_error_detail(err, "Position %lld is not a PersonFactRecorded of %s.", (long long)c->corrects_position,
                            stream);
            return AT_VALIDATION;
        }
        if (target->corrected_by) {
            at_error_set(err, AT_CONFLICT, "corrects_position", "the fact was corrected already");
            at_error_detail(err, "The fact at position %lld was replaced by the one at %lld.",
                            (long long)c->corrects_position, (long long)target->corrected_by);
            at_error_hint(err, "Correct the newer fact instead.");
            return AT_CONFLICT;
        }
    }

    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    Atb__V1__PersonFactRecorded ev = ATB__V1__PERSON_FACT_RECORDED__INIT;
    char reason[37], address[37];
    if ((code = note_put(req, t, "reason", c->reason, reason, err)) != AT_OK ||
        (code = note_put(req, t, "address", c->address, address, err)) != AT_OK)
        return code;
    ev.person_key = c->person_key;
    ev.fact = c->fact;
    ev.corrects_position = c->corrects_position;
    ev.reason_note = reason;
    ev.address_note = address;
    ev.recorded_on = svc_date_out(req->arena, svc_today());
    es_event_in in;
    es_append_res res;
    if ((code = svc_pack(req->arena, &ev.base, "PersonFactRecorded", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = intake_append(req, t, stream, ps.version, &in, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, c->person_key, &res, reply, err);
}

/* ---- CorrectPerson ---- */

at_code person_correct(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__CorrectPerson *c = (const Atb__V1__CorrectPerson *)req->msg;
    at_code code;
    at_date birth;
    bool given_name = c->given_name && *c->given_name, family_name = c->family_name && *c->family_name;
    if ((code = intake_check_key(c->person_key, "person_key", true, err)) != AT_OK ||
        (given_name && (code = check_name(c->given_name, "given_name", err)) != AT_OK) ||
        (family_name && (code = check_name(c->family_name, "family_name", err)) != AT_OK) ||
        (code = intake_check_date(c->birth_date, "birth_date", false, true, &birth, err)) != AT_OK ||
        (code = intake_check_text(c->reason, "reason", INTAKE_TEXT_MAX, true, err)) != AT_OK)
        return code;
    if (c->sex != ATB__V1__SEX__SEX_UNSPECIFIED && c->sex != ATB__V1__SEX__FEMALE && c->sex != ATB__V1__SEX__MALE)
        return at_error_set(err, AT_VALIDATION, "sex", "sex is not FEMALE (1) or MALE (2)");
    if (!given_name && !family_name && birth == AT_DATE_NONE && c->sex == ATB__V1__SEX__SEX_UNSPECIFIED) {
        at_error_set(err, AT_VALIDATION, "given_name", "nothing to correct");
        at_error_detail(err, "Give at least one of given_name, family_name, birth_date, sex.");
        return AT_VALIDATION;
    }
    person_state ps;
    if ((code = person_fold(req, c->person_key, &ps, err)) != AT_OK)
        return code;
    char stream[64];
    snprintf(stream, sizeof stream, "person-%s", c->person_key);
    if (ps.version == 0) {
        at_error_set(err, AT_NOT_FOUND, "person_key", "person not found");
        at_error_detail(err, "No person with the key %s is registered in %s.", c->person_key, req->tenant);
        return AT_NOT_FOUND;
    }
    if ((code = intake_expect(req, stream, ps.version, err)) != AT_OK)
        return code;

    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    if (given_name || family_name) {
        if ((code = identity_rename(es_txn_conn(t), req->tenant, c->person_key, c->given_name, c->family_name,
                                    err)) != AT_OK) {
            es_txn_rollback(t);
            return code;
        }
    }
    char reason[37];
    if ((code = note_put(req, t, "reason", c->reason, reason, err)) != AT_OK)
        return code;
    Atb__V1__PersonCorrected ev = ATB__V1__PERSON_CORRECTED__INIT;
    ev.person_key = c->person_key;
    ev.birth_date = svc_date_out(req->arena, birth);
    ev.sex = c->sex;
    ev.names_changed = given_name || family_name;
    ev.reason_note = reason;
    ev.corrected_on = svc_date_out(req->arena, svc_today());
    es_event_in in;
    es_append_res res;
    if ((code = svc_pack(req->arena, &ev.base, "PersonCorrected", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = intake_append(req, t, stream, ps.version, &in, 1, 0, &res, err)) != AT_OK)
        return code;
    return intake_finish(req, t, stream, c->person_key, &res, reply, err);
}

/* ---- FindPersons ---- */

/* Escape LIKE's wildcards so a name is matched as typed. */
static char *like_prefix(at_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = at_arena_alloc(a, 2 * n + 2);
    if (!out)
        return NULL;
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
            *o++ = '\\';
        *o++ = s[i];
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

at_code person_find(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__FindPersons *q = (const Atb__V1__FindPersons *)req->msg;
    bool by_code = q->personal_code && *q->personal_code;
    bool by_name = q->family_name && *q->family_name;
    if (by_code == by_name) {
        at_error_set(err, AT_VALIDATION, "family_name", "give either family_name or personal_code");
        at_error_detail(err, "FindPersons searches by the start of the family name, or by a personal code.");
        return AT_VALIDATION;
    }
    int limit = q->limit == 0 ? 50 : q->limit;
    if (limit < 1 || limit > 500)
        return at_error_set(err, AT_VALIDATION, "limit", "limit is outside 1..500");
    at_code code;
    at_pcode pc;
    if (by_code && at_pcode_validate(q->personal_code, "personal_code", &pc, err) != AT_OK)
        return AT_VALIDATION;
    if (by_name && ((code = intake_check_text(q->family_name, "family_name", IDENTITY_NAME_MAX, true, err)) != AT_OK ||
                    (code = intake_check_text(q->given_name, "given_name", IDENTITY_NAME_MAX, false, err)) != AT_OK))
        return code;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *fam = by_name ? like_prefix(req->arena, q->family_name) : NULL;
    const char *giv = like_prefix(req->arena, q->given_name ? q->given_name : "");
    if ((by_name && !fam) || !giv)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    const char *p[4] = {req->tenant, by_code ? pc.normalised : fam, giv, lim};
    const char *sql = by_code ? "SELECT person_key, personal_code, given_name, family_name FROM intake.identities "
                                "WHERE tenant = $1 AND personal_code = $2 AND erased_at IS NULL AND $3 <> '' "
                                "LIMIT $4::int"
                              : "SELECT person_key, personal_code, given_name, family_name FROM intake.identities "
                                "WHERE tenant = $1 AND erased_at IS NULL AND lower(family_name) LIKE lower($2) "
                                "AND lower(given_name) LIKE lower($3) "
                                "ORDER BY family_name, given_name, person_key LIMIT $4::int";
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    PGresult *r = PQexecParams(es_txn_conn(t), sql, 4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        code = intake_pg_failed(r, "search the identity store", err);
        PQclear(r);
        es_txn_rollback(t);
        return code;
    }
    es_txn_rollback(t);
    int rows = PQntuples(r);
    Atb__V1__PersonList *list = at_arena_alloc(req->arena, sizeof *list);
    if (!list) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    }
    atb__v1__person_list__init(list);
    list->truncated = rows > limit;
    if (rows > limit)
        rows = limit;
    list->persons = at_arena_alloc(req->arena, (size_t)(rows + 1) * sizeof *list->persons);
    code = list->persons ? AT_OK : AT_INTERNAL;
    for (int i = 0; i < rows && code == AT_OK; i++) {
        Atb__V1__PersonView *v = at_arena_alloc(req->arena, sizeof *v);
        if (!v) {
            code = AT_INTERNAL;
            break;
        }
        atb__v1__person_view__init(v);
        v->person_key = at_arena_strdup(req->arena, PQgetvalue(r, i, 0));
        v->personal_code = at_arena_strdup(req->arena, PQgetvalue(r, i, 1));
        v->given_name = at_arena_strdup(req->arena, PQgetvalue(r, i, 2));
        v->family_name = at_arena_strdup(req->arena, PQgetvalue(r, i, 3));
        person_state ps;
        if ((code = person_fold(req, v->person_key, &ps, err)) != AT_OK)
            break;
        v->birth_date = svc_date_out(req->arena, ps.birth_date);
        v->registered_on = svc_date_out(req->arena, ps.registered_on);
        v->sex = ps.sex;
        v->version = ps.version;
        list->persons[list->n_persons++] = v;
    }
    PQclear(r);
    if (code == AT_INTERNAL && !err->message[0])
        at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    if (code != AT_OK)
        return code;
    *reply = &list->base;
    return AT_OK;
}

/* ---- ErasePerson ---- */

/* The note keys a stream's events hold (person facts and corrections; agreements and duty
 * outcomes), appended to keys (capacity cap). */
static at_code stream_notes(svc_request *req, const char *stream, const char **keys, size_t cap, size_t *n,
                            at_error *err)
{
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
#define KEEP(k)                                                                                                        \
    do {                                                                                                               \
        if ((k) && *(k) && *n < cap)                                                                                   \
            keys[(*n)++] = (k);                                                                                        \
    } while (0)
    for (size_t i = 0; i < es_batch_count(b) && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        if (strcmp(e->type, "PersonFactRecorded") == 0) {
            Atb__V1__PersonFactRecorded *v = (Atb__V1__PersonFactRecorded *)intake_unpack(
                req->arena, &atb__v1__person_fact_recorded__descriptor, e, err);
            if (!v)
                code = AT_INTERNAL;
            else {
                KEEP(v->reason_note);
                KEEP(v->address_note);
            }
        } else if (strcmp(e->type, "PersonCorrected") == 0) {
            Atb__V1__PersonCorrected *v = (Atb__V1__PersonCorrected *)intake_unpack(
                req->arena, &atb__v1__person_corrected__descriptor, e, err);
            if (!v)
                code = AT_INTERNAL;
            else
                KEEP(v->reason_note);
        } else if (strcmp(e->type, "AgreementMade") == 0) {
            Atb__V1__AgreementMade *v = (Atb__V1__AgreementMade *)intake_unpack(
                req->arena, &atb__v1__agreement_made__descriptor, e, err);
            if (!v)
                code = AT_INTERNAL;
            for (size_t k = 0; v && k < v->n_duties; k++)
                KEEP(v->duties[k]->text_note);
        } else if (strcmp(e->type, "DutyFulfilled") == 0 || strcmp(e->type, "DutyFailed") == 0) {
            Atb__V1__DutyFulfilled *v = (Atb__V1__DutyFulfilled *)intake_unpack(
                req->arena, &atb__v1__duty_fulfilled__descriptor, e, err);
            if (!v)
                code = AT_INTERNAL;
            else
                KEEP(v->note);
        }
    }
#undef KEEP
    es_batch_free(b);
    return code;
}

/* Blank the notes in the transaction; *erased gets how many were still there. */
static at_code erase_notes(svc_request *req, es_txn *t, const char **keys, size_t n, int *erased, at_error *err)
{
    *erased = 0;
    if (n == 0)
        return AT_OK;
    at_buf arr;
    at_buf_init(&arr, SIZE_MAX);
    at_buf_puts(&arr, "{");
    for (size_t i = 0; i < n; i++)
        at_buf_printf(&arr, "%s%s", i ? "," : "", keys[i]);
    if (!at_buf_puts(&arr, "}")) {
        at_buf_free(&arr);
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    const char *p[2] = {req->tenant, arr.ptr};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "UPDATE intake.notes SET text = NULL, erased_at = now() WHERE tenant = $1 AND "
                               "note_key = ANY($2::uuid[]) AND erased_at IS NULL",
                               2, NULL, p, NULL, NULL, 0);
    at_buf_free(&arr);
    at_code code = AT_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        code = intake_pg_failed(r, "erase the notes", err);
        es_txn_rollback(t);
    } else {
        *erased = atoi(PQcmdTuples(r));
    }
    PQclear(r);
    return code;
}

/* Replies: a CommandReply with the person key; NOT_FOUND when the tenant has no such person
 * (or it was erased by another command); VALIDATION for the key or the basis. */
at_code person_erase(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ErasePerson *c = (const Atb__V1__ErasePerson *)req->msg;
    at_code code;
    if ((code = intake_check_key(c->person_key, "person_key", true, err)) != AT_OK ||
        (code = intake_check_code(c->basis, "basis", err)) != AT_OK)
        return code;
    person_state ps;
    if ((code = person_fold(req, c->person_key, &ps, err)) != AT_OK)
        return code;
    char stream[64];
    snprintf(stream, sizeof stream, "person-%s", c->person_key);
    if (ps.version == 0) {
        at_error_set(err, AT_NOT_FOUND, "person_key", "person not found");
        at_error_detail(err, "No person with the key %s is registered in %s.", c->person_key, req->tenant);
        return AT_NOT_FOUND;
    }
    if ((code = intake_expect(req, stream, ps.version, err)) != AT_OK)
        return code;

    /* The notes: the person's own stream and the agreements that give the person duties. */
    enum { MAX_NOTES = 4096 };
    const char **keys = at_arena_alloc(req->arena, MAX_NOTES * sizeof *keys);
    size_t n = 0;
    if (!keys)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if ((code = stream_notes(req, stream, keys, MAX_NOTES, &n, err)) != AT_OK)
        return code;
    es_txn *t = NULL;
    if ((code = intake_begin(req, &t, err)) != AT_OK)
        return code;
    const char *p[2] = {req->tenant, c->person_key};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT stream_id FROM intake.links WHERE tenant = $1 AND person_key = $2::uuid "
                               "AND kind = 'agreement'",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        code = intake_pg_failed(r, "read the stream index", err);
        PQclear(r);
        es_txn_rollback(t);
        return code;
    }
    for (int i = 0; i < PQntuples(r) && code == AT_OK; i++)
        code = stream_notes(req, PQgetvalue(r, i, 0), keys, MAX_NOTES, &n, err);
    PQclear(r);
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    }

    at_code erased = identity_erase(es_txn_conn(t), req->tenant, c->person_key, err);
    if (erased != AT_OK && erased != AT_NOT_FOUND) {
        es_txn_rollback(t);
        return erased;
    }
    int notes = 0;
    if (erased == AT_OK && (code = erase_notes(req, t, keys, n, &notes, err)) != AT_OK)
        return code;
    Atb__V1__PersonErased ev = ATB__V1__PERSON_ERASED__INIT;
    ev.person_key = c->person_key;
    ev.basis = c->basis;
    ev.erased_on = svc_date_out(req->arena, svc_today());
    ev.notes_erased = notes;
    es_event_in in;
    es_append_res res;
    if ((code = svc_pack(req->arena, &ev.base, "PersonErased", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    at_error first = *err;
    if ((code = intake_append(req, t, stream, ps.version, &in, 1, 0, &res, err)) != AT_OK)
        return code;
    if (erased == AT_NOT_FOUND && !res.duplicate) {
        /* erased before, by another command: nothing to do, nothing recorded */
        es_txn_rollback(t);
        *err = first;
        return AT_NOT_FOUND;
    }
    return intake_finish(req, t, stream, c->person_key, &res, reply, err);
}
