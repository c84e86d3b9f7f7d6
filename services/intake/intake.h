/*
 * intake.h -- This file is private to services/intake: what its files share.
 *
 * handlers.c  the command table and the schema (migrations) of the service
 * person.c    the Person aggregate: RegisterPerson, GetPerson
 * identity.c  the erasable identity store, intake.identities
 *
 * Every function here runs on a worker thread of libs/service and may block.
 */
#ifndef INTAKE_H
#define INTAKE_H

#include <libpq-fe.h>

#include "svc.h"
#include "atb/v1/intake.pb-c.h"

extern const svc_command intake_commands[];
extern const size_t intake_n_commands;
extern const char *const intake_migrations[];
extern const size_t intake_n_migrations;

/* person.c: the Person aggregate (stream person-<key>, category "person"). Handlers in
 * the svc_handler_fn shape; see person.c for what each answers. */
at_code person_register(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code person_get(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* identity.c: names and personal codes live only here, never in an event. */
#define IDENTITY_NAME_MAX 100          /* bytes of a given or family name */

typedef struct identity {
    char person_key[37];
    char personal_code[13];            /* normalised, "DDMMYY-CNNNN" */
    char given_name[IDENTITY_NAME_MAX + 1];
    char family_name[IDENTITY_NAME_MAX + 1];
} identity;

/* Insert id inside the caller's transaction (c is es_txn_conn()).
 *  AT_OK        inserted, or a row with id->person_key exists already (the same command
 *               again: its key is derived from the command id; the caller's append then
 *               finds the first result);
 *  AT_CONFLICT  the personal code is registered in the tenant under another key, which is
 *               copied to existing_key; err says so, with the key in the detail;
 *  AT_UNAVAILABLE  PostgreSQL failed (the transaction is then failed too). */
at_code identity_insert(PGconn *c, const char *tenant, const identity *id, char existing_key[37],
                        at_error *err);

/* Find the identity of the tenant by key or by normalised personal code (exactly one of
 * them not NULL). AT_NOT_FOUND when there is none or it was erased; AT_UNAVAILABLE. */
at_code identity_find(PGconn *c, const char *tenant, const char *key, const char *personal_code,
                      identity *out, at_error *err);

#endif
