/*
 * intake.h -- This file is private to services/intake: what its files share.
 */
#ifndef INTAKE_H
#define INTAKE_H

#include "svc.h"
#include "atb/v1/intake.pb-c.h"

extern const svc_command intake_commands[];
extern const size_t intake_n_commands;
extern const char *const intake_migrations[];
extern const size_t intake_n_migrations;

/* person.c: the Person aggregate (stream person-<key>). */
at_code person_register(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code person_get(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* identity.c: the erasable identity store, intake.identities. Names and personal codes
 * live only here, never in an event. */
typedef struct identity {
    char person_key[37];
    char personal_code[13];
    char given_name[101];
    char family_name[101];
} identity;

/* Insert inside the caller's transaction. AT_CONFLICT (with the existing key in
 * existing_key) when the personal code is registered in the tenant already. */
at_code identity_insert(PGconn *c, const char *tenant, const identity *id, char existing_key[37],
                        at_error *err);
/* Find by key or by personal code (one of them NULL). AT_NOT_FOUND when absent or erased. */
at_code identity_find(PGconn *c, const char *tenant, const char *key, const char *personal_code,
                      identity *out, at_error *err);

#endif
