/*
 * cli_files.c -- the JSON files of `atbalsts application` (an application with its
 * declaration, a declaration alone) and the prompts that build the same JSON when the
 * caseworker types the application in. Pure: files and streams in, messages or JSON out.
 *
 * The prompts produce exactly what a file would hold and go through the same conversion
 * (cli_application_from_json), so a typed-in application and a file cannot differ in
 * meaning. The format is documented in docs/cli.md ("JSON files"); when a field is added
 * to SubmitApplication or SubmitDeclaration the file reads it with no change here, the
 * prompts ask for the fields a caseworker fills in most often.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "at_money.h"
#include "at_uuid.h"

at_code cli_json_load(const char *file, json_t **out, at_error *err)
{
    json_error_t je;
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        at_error_set(err, AT_NOT_FOUND, "file", "could not open \"%s\": %s", file, strerror(errno));
        return AT_NOT_FOUND;
    }
    *out = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    if (f != stdin)
        fclose(f);
    if (!*out) {
        at_error_set(err, AT_VALIDATION, "file", "\"%s\" is not JSON: line %d, column %d: %s", file, je.line,
                     je.column, je.text);
        return AT_VALIDATION;
    }
    return AT_OK;
}

at_code cli_declaration_from_json(const json_t *j, const char *path, Atb__V1__SubmitDeclaration **decl,
                                  at_error *err)
{
    *decl = NULL;
    /* the command line sets these: a file that names them would be ignored or contradict */
    static const char *const own[] = {"meta", "application_id", NULL};
    for (const char *const *k = own; *k; k++) {
        if (json_is_object(j) && json_object_get(j, *k)) {
            char field[64];
            snprintf(field, sizeof field, "%s%s%s", *path ? path : "", *path ? "." : "", *k);
            at_error_set(err, AT_VALIDATION, field, "%s cannot be given in the file", field);
            at_error_detail(err, "The command line sets it: the application id comes from the command line "
                                 "or from the application submitted with the declaration.");
            return AT_VALIDATION;
        }
    }
    Atb__V1__SubmitDeclaration *d = malloc(sizeof *d);
    if (!d)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__submit_declaration__init(d);
    if (cli_json_fill(j, &d->base, path, NULL, err) != AT_OK) {
        protobuf_c_message_free_unpacked(&d->base, NULL);
        return err ? err->code : AT_VALIDATION;
    }
    *decl = d;
    return AT_OK;
}

at_code cli_application_from_json(const json_t *j, Atb__V1__SubmitApplication **app,
                                  Atb__V1__SubmitDeclaration **decl, at_error *err)
{
    *app = NULL;
    *decl = NULL;
    if (!json_is_object(j)) {
        at_error_set(err, AT_VALIDATION, NULL, "the application file must hold one JSON object");
        return AT_VALIDATION;
    }
    if (json_object_get(j, "meta")) {
        at_error_set(err, AT_VALIDATION, "meta", "meta cannot be given in the file");
        at_error_detail(err, "The command line sets the command id and the actor (--command-id, --actor).");
        return AT_VALIDATION;
    }
    const json_t *hh = json_object_get(j, "household");
    if (hh && json_object_get(j, "household_key")) {
        at_error_set(err, AT_VALIDATION, "household", "household is given twice, as household and household_key");
        return AT_VALIDATION;
    }
    Atb__V1__SubmitApplication *a = malloc(sizeof *a);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__submit_application__init(a);
    static const char *const skip[] = {"household", "declaration", NULL};
    if (cli_json_fill(j, &a->base, "", skip, err) != AT_OK)
        goto fail;
    if (hh && !json_is_null(hh)) {
        if (!json_is_string(hh)) {
            at_error_set(err, AT_VALIDATION, "household", "household must be a household key string");
            goto fail;
        }
        char *k = strdup(json_string_value(hh));
        if (!k) {
            at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            goto fail;
        }
        a->household_key = k;
    }
    const json_t *dj = json_object_get(j, "declaration");
    if (dj && !json_is_null(dj) && cli_declaration_from_json(dj, "declaration", decl, err) != AT_OK)
        goto fail;
    *app = a;
    return AT_OK;
fail:
    protobuf_c_message_free_unpacked(&a->base, NULL);
    return err ? err->code : AT_VALIDATION;
}

/* ---- prompts ------------------------------------------------------------------------------- */

/* One answer line without its newline, leading and trailing blanks; false at the end of
 * the input. */
static bool ask(FILE *in, FILE *out, const char *question, const char *def, char *buf, size_t n)
{
    if (def && *def)
        fprintf(out, "%s [%s]: ", question, def);
    else
        fprintf(out, "%s: ", question);
    fflush(out);
    if (!fgets(buf, (int)n, in)) {
        fputc('\n', out);
        return false;
    }
    size_t len = strlen(buf);
    /* a line longer than the buffer: drop the rest so it is not read as the next answer */
    if (len == n - 1 && buf[len - 1] != '\n') {
        int ch;
        while ((ch = fgetc(in)) != EOF && ch != '\n')
            ;
    }
    while (len && isspace((unsigned char)buf[len - 1]))
        buf[--len] = 0;
    size_t lead = 0;
    while (isspace((unsigned char)buf[lead]))
        lead++;
    memmove(buf, buf + lead, len - lead + 1);
    if (!*buf && def)
        snprintf(buf, n, "%s", def);
    return true;
}

typedef enum { A_TEXT, A_KEY, A_KEY_OR_EMPTY, A_DATE, A_MONTH, A_EUROS, A_ENUM, A_YESNO } answer_kind;

/* Ask until the answer is of the kind (or empty when `optional`); the JSON value of the
 * answer into *v (NULL for an empty optional answer). false at the end of the input. */
static bool ask_value(FILE *in, FILE *out, const char *question, const char *def, answer_kind kind,
                      const ProtobufCEnumDescriptor *e, bool optional, json_t **v)
{
    char buf[1024];
    for (;;) {
        *v = NULL;
        if (!ask(in, out, question, def, buf, sizeof buf))
            return false;
        if (!*buf) {
            if (optional)
                return true;
            fprintf(out, "  an answer is needed\n");
            continue;
        }
        at_error err;
        at_error_clear(&err);
        switch (kind) {
        case A_TEXT: *v = json_string(buf); break;
        case A_KEY:
        case A_KEY_OR_EMPTY:
            if (at_uuid_valid(buf))
                *v = json_string(buf);
            else
                fprintf(out, "  \"%s\" is not a key (a UUID, as `atbalsts person register` prints it)\n", buf);
            break;
        case A_DATE:
        case A_MONTH: {
            Atb__V1__Date d = ATB__V1__DATE__INIT;
            /* YYYY-MM-DD, or YYYY-MM for a month (day 1); anything longer is not a date */
            char full[16] = "";
            size_t len = strlen(buf);
            if (len <= 10) {
                memcpy(full, buf, len + 1);
                if (kind == A_MONTH && len == 7)
                    memcpy(full + 7, "-01", 4);
            }
            if (*full && cli_date_parse(full, "date", &d, &err) == AT_OK)
                *v = json_string(buf);
            else
                fprintf(out, "  \"%s\" is not a date (%s)\n", buf, kind == A_MONTH ? "YYYY-MM" : "YYYY-MM-DD");
            break;
        }
        case A_EUROS: {
            int64_t c;
            if (cli_cents_parse(buf, "amount", &c, &err) == AT_OK)
                *v = json_integer(c);
            else
                fprintf(out, "  \"%s\" is not an amount in euros (12.34)\n", buf);
            break;
        }
        case A_ENUM: {
            char norm[64];
            size_t i = 0;
            for (; buf[i] && i + 1 < sizeof norm; i++)
                norm[i] = buf[i] == '-' ? '_' : (char)tolower((unsigned char)buf[i]);
            norm[i] = 0;
            for (unsigned k = 0; k < e->n_values && !*v; k++) {
                const char *w = cli_enum_word(e, e->values[k].value);
                if (strcmp(w, norm) == 0 && strcmp(w, "unspecified") != 0)
                    *v = json_string(w);
            }
            if (!*v) {
                fprintf(out, "  \"%s\" is not one of:", buf);
                for (unsigned k = 0; k < e->n_values; k++)
                    if (strcmp(cli_enum_word(e, e->values[k].value), "unspecified") != 0)
                        fprintf(out, " %s", cli_enum_word(e, e->values[k].value));
                fputc('\n', out);
            }
            break;
        }
        case A_YESNO:
            if (strchr("yYjJ", buf[0]) && (!buf[1] || strcasecmp(buf, "yes") == 0 || strcasecmp(buf, "ja") == 0))
                *v = json_true();
            else if (strchr("nN", buf[0]) && (!buf[1] || strcasecmp(buf, "no") == 0 || strcasecmp(buf, "nē") == 0))
                *v = json_false();
            else
                fprintf(out, "  answer y or n\n");
            break;
        }
        if (*v)
            return true;
    }
}

/* Set key of o to the answer; false at the end of the input. */
static bool prompt_into(json_t *o, const char *key, FILE *in, FILE *out, const char *question, const char *def,
                        answer_kind kind, const ProtobufCEnumDescriptor *e, bool optional)
{
    json_t *v;
    if (!ask_value(in, out, question, def, kind, e, optional, &v))
        return false;
    if (v)
        json_object_set_new(o, key, v);
    return true;
}

static bool prompt_asks(json_t *app, FILE *in, FILE *out)
{
    json_t *asks = json_array();
    json_object_set_new(app, "asks", asks);
    fprintf(out, "What is asked for, one ask at a time; an empty kind ends the list.\n");
    for (size_t i = 1;; i++) {
        char q[64];
        snprintf(q, sizeof q, "ask %zu: kind", i);
        json_t *kind;
        if (!ask_value(in, out, q, i == 1 ? "needy_status" : "", A_ENUM, &atb__v1__ask_kind__descriptor, i > 1,
                       &kind))
            return false;
        if (!kind)
            return true;
        json_t *a = json_object();
        json_object_set_new(a, "kind", kind);
        json_array_append_new(asks, a);
        const char *k = json_string_value(kind);
        if ((strcmp(k, "benefit") == 0 || strcmp(k, "service") == 0) &&
            !prompt_into(a, "benefit", in, out, "  benefit or service code (HEATING, DENTAL, ...)", NULL, A_TEXT,
                         NULL, false))
            return false;
        if (!prompt_into(a, "subject", in, out, "  for member (person key; empty = the applicant)", "",
                         A_KEY_OR_EMPTY, NULL, true))
            return false;
    }
}

static bool prompt_incomes(json_t *decl, FILE *in, FILE *out)
{
    json_t *incomes = json_array();
    json_object_set_new(decl, "incomes", incomes);
    fprintf(out, "Incomes of the three full months before the application, one month of one member\n"
                 "at a time; an empty member ends the list.\n");
    for (size_t i = 1;; i++) {
        char q[64];
        snprintf(q, sizeof q, "income %zu: member (person key)", i);
        json_t *member;
        if (!ask_value(in, out, q, "", A_KEY, NULL, true, &member))
            return false;
        if (!member)
            return true;
        json_t *o = json_object();
        json_object_set_new(o, "member", member);
        json_array_append_new(incomes, o);
        json_t *cents;
        if (!prompt_into(o, "type", in, out, "  type (wage, pension, ...)", "wage", A_TEXT, NULL, false) ||
            !prompt_into(o, "month", in, out, "  month (YYYY-MM)", NULL, A_MONTH, NULL, false) ||
            !ask_value(in, out, "  amount in euros", NULL, A_EUROS, NULL, false, &cents))
            return false;
        json_object_set_new(o, "amount_cents", cents);
    }
}

static bool prompt_expenses(json_t *decl, FILE *in, FILE *out)
{
    json_t *expenses = json_array();
    json_object_set_new(decl, "expenses", expenses);
    fprintf(out, "Expenses with their documents (bills, receipts); an empty kind ends the list.\n");
    for (size_t i = 1;; i++) {
        char q[80];
        snprintf(q, sizeof q, "expense %zu: kind (housing, heating, medical, ...)", i);
        json_t *kind;
        if (!ask_value(in, out, q, "", A_TEXT, NULL, true, &kind))
            return false;
        if (!kind)
            return true;
        json_t *o = json_object();
        json_object_set_new(o, "kind", kind);
        json_array_append_new(expenses, o);
        json_t *cents;
        if (!ask_value(in, out, "  amount in euros", NULL, A_EUROS, NULL, false, &cents))
            return false;
        json_object_set_new(o, "amount_cents", cents);
        if (!prompt_into(o, "document", in, out, "  document (number, issuer)", NULL, A_TEXT, NULL, false) ||
            !prompt_into(o, "issued", in, out, "  issued on (YYYY-MM-DD)", NULL, A_DATE, NULL, false) ||
            !prompt_into(o, "member", in, out, "  borne by member (person key; empty = the household)", "",
                         A_KEY_OR_EMPTY, NULL, true))
            return false;
    }
}

static bool prompt_declaration(json_t *app, FILE *in, FILE *out, const char *received)
{
    json_t *decl = json_object();
    json_object_set_new(app, "declaration", decl);
    json_t *v;
    if (!prompt_incomes(decl, in, out) ||
        !ask_value(in, out, "savings in euros", "0", A_EUROS, NULL, false, &v))
        return false;
    json_object_set_new(decl, "savings_cents", v);
    if (!ask_value(in, out, "monthly housing expenses in euros", "0", A_EUROS, NULL, false, &v))
        return false;
    json_object_set_new(decl, "housing_expenses_cents", v);
    return prompt_expenses(decl, in, out) &&
           prompt_into(decl, "declared_on", in, out, "declared on (YYYY-MM-DD)", received, A_DATE, NULL, false);
}

json_t *cli_prompt_application(FILE *in, FILE *out, const char *actor, at_date today)
{
    char today_text[16];
    at_date_format(today, today_text, sizeof today_text);
    json_t *app = json_object();
    if (!app)
        return NULL;
    fprintf(out, "New application. Press Enter to take the value in [brackets]; Ctrl-D stops.\n");
    json_t *more = NULL;
    if (!prompt_into(app, "applicant", in, out, "applicant (person key)", NULL, A_KEY, NULL, false) ||
        !prompt_into(app, "household", in, out, "household (household key)", NULL, A_KEY, NULL, false) ||
        !prompt_into(app, "received", in, out, "received on (YYYY-MM-DD)", today_text, A_DATE, NULL, false) ||
        !prompt_into(app, "channel", in, out, "channel (office, reception_point, e_service, post, home_visit)",
                     "office", A_ENUM, &atb__v1__channel__descriptor, false) ||
        !prompt_into(app, "social_worker", in, out, "social worker", actor, A_TEXT, NULL, false) ||
        !prompt_asks(app, in, out) ||
        !ask_value(in, out, "add the means declaration now? (y/n)", "y", A_YESNO, NULL, false, &more))
        goto stop;
    if (json_is_true(more) &&
        !prompt_declaration(app, in, out, json_string_value(json_object_get(app, "received"))))
        goto stop;
    json_decref(more);
    more = NULL;
    fprintf(out, "\nThe application (save it as a file to send it again with --file):\n");
    json_dumpf(app, out, JSON_INDENT(2));
    fputc('\n', out);
    if (!ask_value(in, out, "submit it? (y/n)", "n", A_YESNO, NULL, false, &more) || !json_is_true(more)) {
        fprintf(out, "not submitted\n");
        json_decref(more);
        json_decref(app);
        return NULL;
    }
    json_decref(more);
    return app;
stop:
    fprintf(out, "stopped: nothing was submitted\n");
    json_decref(more);
    json_decref(app);
    return NULL;
}
