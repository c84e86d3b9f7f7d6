/*
 * cli_pbjson.c -- JSON <-> protobuf for the command line, by the messages' descriptors,
 * so every message of the .proto files reads and prints the same way without code per
 * message: the files a caseworker writes (application, declaration, decision result) and
 * the --json output of the views. The conventions are in cli.h (cli_json_fill) and
 * docs/cli.md ("JSON files").
 *
 * Everything a filled message holds is malloc'd (protobuf-c's default allocator), so
 * protobuf_c_message_free_unpacked(m, NULL) frees it, partly filled or not.
 *
 * Invariant: proto3 without `optional` (protoc-c 1.4.1), so a singular field has no has_
 * flag: label NONE or REPEATED only. A label this file does not know is refused.
 */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "at_money.h"

static bool is_date(const ProtobufCMessageDescriptor *d)
{
    return d == &atb__v1__date__descriptor;
}

/* ---- enum words ----------------------------------------------------------------------- */

/* "AskKind" -> "ASK_KIND_": the prefix of the enum's value names. */
static void enum_prefix(const ProtobufCEnumDescriptor *e, char *buf, size_t n)
{
    size_t len = 0;
    const char *s = e->short_name;
    for (size_t i = 0; s[i] && len + 2 < n; i++) {
        if (i > 0 && isupper((unsigned char)s[i]) && !isupper((unsigned char)s[i - 1]))
            buf[len++] = '_';
        buf[len++] = (char)toupper((unsigned char)s[i]);
    }
    buf[len++] = '_';
    buf[len] = 0;
}

/* The value's name without the prefix, lower case. */
static void value_word(const ProtobufCEnumDescriptor *e, const ProtobufCEnumValue *v, char *buf, size_t n)
{
    char prefix[64];
    enum_prefix(e, prefix, sizeof prefix);
    const char *name = v->name;
    size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) == 0 && name[plen])
        name += plen;
    size_t i = 0;
    for (; name[i] && i + 1 < n; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    buf[i] = 0;
}

const char *cli_enum_word(const ProtobufCEnumDescriptor *e, int value)
{
    static _Thread_local char buf[64];
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(e, value);
    if (!v)
        return "";
    value_word(e, v, buf, sizeof buf);
    return buf;
}

/* A word (or the full value name) into the enum's value; '-' counts as '_'. */
static bool enum_parse(const ProtobufCEnumDescriptor *e, const char *s, int *out)
{
    char want[64];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof want; i++)
        want[i] = s[i] == '-' ? '_' : (char)tolower((unsigned char)s[i]);
    want[i] = 0;
    for (unsigned k = 0; k < e->n_values; k++) {
        char w[64];
        value_word(e, &e->values[k], w, sizeof w);
        if (strcmp(w, want) == 0 || strcasecmp(e->values[k].name, s) == 0) {
            *out = e->values[k].value;
            return true;
        }
    }
    return false;
}

static void enum_words(const ProtobufCEnumDescriptor *e, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (unsigned k = 0; k < e->n_values && len < n; k++) {
        char w[64];
        value_word(e, &e->values[k], w, sizeof w);
        if (strcmp(w, "unspecified") != 0)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "", w);
    }
}

/* ---- JSON -> protobuf ----------------------------------------------------------------- */

static void join(char *out, size_t n, const char *path, const char *name)
{
    snprintf(out, n, "%s%s%s", path && *path ? path : "", path && *path ? "." : "", name);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "a whole number";
    case JSON_REAL: return "a number with decimals";
    case JSON_TRUE:
    case JSON_FALSE: return "true or false";
    case JSON_NULL: return "null";
    }
    return "a value";
}

static at_code wrong_type(at_error *err, const char *field, const json_t *v, const char *want)
{
    at_error_set(err, AT_VALIDATION, field, "%s must be %s, not %s", field, want, json_kind(v));
    return AT_VALIDATION;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static at_code fill_date(const json_t *v, Atb__V1__Date *d, const char *field, bool month_ok, at_error *err)
{
    if (!json_is_string(v))
        return wrong_type(err, field, v, "a date string \"YYYY-MM-DD\"");
    const char *s = json_string_value(v);
    char buf[16];
    /* a month of income: "2024-04" means the month, day 1 */
    if (month_ok && strlen(s) == 7) {
        snprintf(buf, sizeof buf, "%s-01", s);
        s = buf;
    }
    if (cli_date_parse(s, field, d, err) != AT_OK) {
        at_error_set(err, AT_VALIDATION, field, "%s \"%s\" is not a date", field, json_string_value(v));
        at_error_detail(err, month_ok ? "A month is written YYYY-MM (or YYYY-MM-DD), e.g. 2024-04."
                                      : "A date is written YYYY-MM-DD, e.g. 2024-05-02.");
        return AT_VALIDATION;
    }
    return AT_OK;
}

/* One scalar (or message) value of field f into the storage at p. */
static at_code fill_value(const json_t *v, const ProtobufCFieldDescriptor *f, void *p, const char *field,
                          at_error *err)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        if (!json_is_integer(v)) {
            if (ends_with(f->name, "_cents")) {
                at_error_set(err, AT_VALIDATION, field, "%s must be a whole number of cents, not %s", field,
                             json_kind(v));
                at_error_detail(err, "Write 1234 for 12.34 euros, or the amount in euros as a string in the "
                                     "key without \"_cents\": \"%.*s\": \"12.34\".",
                                (int)(strlen(f->name) - 6), f->name);
                return AT_VALIDATION;
            }
            return wrong_type(err, field, v, "a whole number");
        }
        json_int_t n = json_integer_value(v);
        bool is32 = f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_SINT32 ||
                    f->type == PROTOBUF_C_TYPE_SFIXED32 || f->type == PROTOBUF_C_TYPE_UINT32 ||
                    f->type == PROTOBUF_C_TYPE_FIXED32;
        bool is_unsigned = f->type == PROTOBUF_C_TYPE_UINT32 || f->type == PROTOBUF_C_TYPE_FIXED32 ||
                           f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_FIXED64;
        if ((is32 && (n > (is_unsigned ? 4294967295LL : 2147483647LL) || n < (is_unsigned ? 0 : -2147483647LL - 1))) ||
            (is_unsigned && n < 0)) {
            at_error_set(err, AT_VALIDATION, field, "%s %lld is out of range", field, (long long)n);
            return AT_VALIDATION;
        }
        if (is32)
            *(int32_t *)p = (int32_t)n;
        else
            *(int64_t *)p = (int64_t)n;
        return AT_OK;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return wrong_type(err, field, v, "true or false");
        *(protobuf_c_boolean *)p = json_is_true(v);
        return AT_OK;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        int val;
        if (!json_is_string(v))
            return wrong_type(err, field, v, "a word");
        if (!enum_parse(e, json_string_value(v), &val)) {
            char words[384];
            enum_words(e, words, sizeof words);
            at_error_set(err, AT_VALIDATION, field, "unknown %s \"%s\"", field, json_string_value(v));
            at_error_detail(err, "The %s is one of: %s.", f->name, words);
            return AT_VALIDATION;
        }
        *(int *)p = val;
        return AT_OK;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v))
            return wrong_type(err, field, v, "a string");
        char *s = strdup(json_string_value(v));
        if (!s)
            return at_error_set(err, AT_INTERNAL, field, "out of memory");
        *(char **)p = s;
        return AT_OK;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *d = f->descriptor;
        ProtobufCMessage *sub = malloc(d->sizeof_message);
        if (!sub)
            return at_error_set(err, AT_INTERNAL, field, "out of memory");
        d->message_init(sub);
        *(ProtobufCMessage **)p = sub;
        if (is_date(d))
            return fill_date(v, (Atb__V1__Date *)sub, field, strcmp(f->name, "month") == 0, err);
        if (!json_is_object(v))
            return wrong_type(err, field, v, "an object");
        return cli_json_fill(v, sub, field, NULL, err);
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_BYTES:
        break;
    }
    at_error_set(err, AT_VALIDATION, field, "%s cannot be given in a file", field);
    return AT_VALIDATION;
}

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    default: return 0;
    }
}

static at_code fill_field(const json_t *v, const ProtobufCFieldDescriptor *f, ProtobufCMessage *m,
                          const char *field, at_error *err)
{
    char *base = (char *)m;
    if (json_is_null(v))
        return AT_OK;
    if (f->label == PROTOBUF_C_LABEL_NONE)
        return fill_value(v, f, base + f->offset, field, err);
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return at_error_set(err, AT_INTERNAL, field, "%s has a label the command line does not know", field);
    if (!json_is_array(v))
        return wrong_type(err, field, v, "an array");
    size_t n = json_array_size(v), sz = value_size(f);
    if (n == 0)
        return AT_OK;
    if (sz == 0) {
        at_error_set(err, AT_VALIDATION, field, "%s cannot be given in a file", field);
        return AT_VALIDATION;
    }
    void *arr = calloc(n, sz);
    if (!arr)
        return at_error_set(err, AT_INTERNAL, field, "out of memory");
    /* set the array first, so that free_unpacked frees what is filled on an error */
    *(void **)(base + f->offset) = arr;
    size_t *count = (size_t *)(base + f->quantifier_offset);
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        char item[96];   /* a field path of up to 63 bytes, ".", an index */
        snprintf(item, sizeof item, "%s.%zu", field, i);
        at_code rc = fill_value(json_array_get(v, i), f, (char *)arr + i * sz, item, err);
        /* a message that was allocated is counted even when it failed, to be freed */
        if (rc == AT_OK || (f->type == PROTOBUF_C_TYPE_MESSAGE && ((void **)arr)[i]))
            (*count)++;
        if (rc != AT_OK)
            return rc;
    }
    return AT_OK;
}

/* The euro form of an int64 <name>_cents field: key <name> with a string "12.34". */
static at_code fill_euros(const json_t *v, const ProtobufCFieldDescriptor *f, ProtobufCMessage *m,
                          const char *key, const char *field, at_error *err)
{
    if (json_is_null(v))
        return AT_OK;
    if (!json_is_string(v)) {
        at_error_set(err, AT_VALIDATION, field, "%s must be a string of euros, not %s", field, json_kind(v));
        at_error_detail(err, "Write \"%s\": \"12.34\", or the whole number of cents in \"%s\".", key, f->name);
        return AT_VALIDATION;
    }
    int64_t cents;
    if (cli_cents_parse(json_string_value(v), field, &cents, err) != AT_OK)
        return AT_VALIDATION;
    *(int64_t *)((char *)m + f->offset) = cents;
    return AT_OK;
}

at_code cli_json_fill(const json_t *j, ProtobufCMessage *m, const char *path, const char *const *skip,
                      at_error *err)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (!json_is_object(j)) {
        at_error_set(err, AT_VALIDATION, path, "%s must be an object, not %s", path && *path ? path : "the file",
                     json_kind(j));
        return AT_VALIDATION;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        bool skipped = false;
        for (const char *const *s = skip; s && *s && !skipped; s++)
            skipped = strcmp(*s, key) == 0;
        if (skipped)
            continue;
        char field[64];
        join(field, sizeof field, path, key);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        at_code rc;
        char cents_key[80];
        snprintf(cents_key, sizeof cents_key, "%s_cents", key);
        const ProtobufCFieldDescriptor *fc = protobuf_c_message_descriptor_get_field_by_name(d, cents_key);
        if (f && json_is_string(v) && f->label == PROTOBUF_C_LABEL_REPEATED && fc &&
            fc->type == PROTOBUF_C_TYPE_INT64 && fc->label == PROTOBUF_C_LABEL_NONE) {
            /* "housing_expenses": "120.00" is the total in euros (housing_expenses_cents);
               a list under the same key is the repeated field (the expenses by kind) */
            if (json_object_get(j, cents_key)) {
                at_error_set(err, AT_VALIDATION, field, "%s is given twice, as %s and as %s", field, key, cents_key);
                return AT_VALIDATION;
            }
            rc = fill_euros(v, fc, m, key, field, err);
        } else if (f) {
            rc = fill_field(v, f, m, field, err);
        } else {
            char cents[80];
            snprintf(cents, sizeof cents, "%s_cents", key);
            f = protobuf_c_message_descriptor_get_field_by_name(d, cents);
            if (f && f->type == PROTOBUF_C_TYPE_INT64 && f->label == PROTOBUF_C_LABEL_NONE) {
                if (json_object_get(j, cents)) {
                    at_error_set(err, AT_VALIDATION, field, "%s is given twice, as %s and as %s", field, key, cents);
                    return AT_VALIDATION;
                }
                rc = fill_euros(v, f, m, key, field, err);
            } else {
                char names[512];
                size_t len = 0;
                names[0] = 0;
                for (unsigned i = 0; i < d->n_fields && len < sizeof names; i++)
                    if (strcmp(d->fields[i].name, "meta") != 0)
                        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "",
                                                d->fields[i].name);
                at_error_set(err, AT_VALIDATION, field, "unknown field \"%s\"", field);
                at_error_detail(err, "The fields here are: %s.", names);
                return AT_VALIDATION;
            }
        }
        if (rc != AT_OK)
            return rc;
    }
    return AT_OK;
}

ProtobufCMessage *cli_json_to_pb(const json_t *j, const ProtobufCMessageDescriptor *desc, const char *path,
                                 at_error *err)
{
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (!m) {
        at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    desc->message_init(m);
    if (cli_json_fill(j, m, path, NULL, err) != AT_OK) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

/* ---- protobuf -> JSON ----------------------------------------------------------------- */

static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return json_integer((json_int_t) * (const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return json_integer((json_int_t) * (const uint64_t *)p);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: return json_string(cli_enum_word(f->descriptor, *(const int *)p));
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        /* a string that is not UTF-8 would make jansson refuse the whole object */
        json_t *js = json_string(s ? s : "");
        return js ? js : json_string("");
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (!sub)
            return json_null();
        if (is_date(sub->descriptor)) {
            char t[11];
            cli_date_text((const Atb__V1__Date *)sub, t);
            return *t ? json_string(t) : json_null();
        }
        return cli_pb_to_json(sub);
    }
    default: return NULL;
    }
}

json_t *cli_pb_to_json(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *o = json_object();
    if (!o)
        return NULL;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_BYTES || f->type == PROTOBUF_C_TYPE_FLOAT || f->type == PROTOBUF_C_TYPE_DOUBLE)
            continue;
        json_t *v;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset), sz = value_size(f);
            const char *arr = *(char *const *)(base + f->offset);
            v = json_array();
            for (size_t k = 0; v && k < n; k++)
                json_array_append_new(v, value_json(f, arr + k * sz));
        } else {
            v = value_json(f, base + f->offset);
        }
        json_object_set_new(o, f->name, v ? v : json_null());
    }
    return o;
}

/* ---- event types of the case history ---------------------------------------------------- */

static const struct {
    const char *type;
    const ProtobufCMessageDescriptor *desc;
} events[] = {
    {"PersonRegistered", &atb__v1__person_registered__descriptor},
    {"PersonFactRecorded", &atb__v1__person_fact_recorded__descriptor},
    {"PersonCorrected", &atb__v1__person_corrected__descriptor},
    {"HouseholdCreated", &atb__v1__household_created__descriptor},
    {"MemberJoined", &atb__v1__member_joined__descriptor},
    {"MemberLeft", &atb__v1__member_left__descriptor},
    {"ApplicationReceived", &atb__v1__application_received__descriptor},
    {"DeclarationSubmitted", &atb__v1__declaration_submitted__descriptor},
    {"ApplicationIncomplete", &atb__v1__application_incomplete__descriptor},
    {"ApplicationCompleted", &atb__v1__application_completed__descriptor},
    {"ApplicationWithdrawn", &atb__v1__application_withdrawn__descriptor},
    {"ApplicationDecided", &atb__v1__application_decided__descriptor},
    {"ApplicationAppealed", &atb__v1__application_appealed__descriptor},
    {"HomeVisitRecorded", &atb__v1__home_visit_recorded__descriptor},
    {"AgreementMade", &atb__v1__agreement_made__descriptor},
    {"DutyFulfilled", &atb__v1__duty_fulfilled__descriptor},
    {"DutyFailed", &atb__v1__duty_failed__descriptor},
    {"AppealFiled", &atb__v1__appeal_filed__descriptor},
    {"AppealDecided", &atb__v1__appeal_decided__descriptor},
    {"CaseOpened", &atb__v1__case_opened__descriptor},
    {"CaseWorkerChanged", &atb__v1__case_worker_changed__descriptor},
    {"CaseClosed", &atb__v1__case_closed__descriptor},
    {"CaseReopened", &atb__v1__case_reopened__descriptor},
    {"ActivityLogged", &atb__v1__activity_logged__descriptor},
    {"StatusGranted", &atb__v1__status_granted__descriptor},
    {"StatusRefused", &atb__v1__status_refused__descriptor},
    {"BenefitGranted", &atb__v1__benefit_granted__descriptor},
    {"BenefitRefused", &atb__v1__benefit_refused__descriptor},
    {"DecisionOverridden", &atb__v1__decision_overridden__descriptor},
};

const ProtobufCMessageDescriptor *cli_event_descriptor(const char *type)
{
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (strcmp(events[i].type, type) == 0)
            return events[i].desc;
    return NULL;
}
