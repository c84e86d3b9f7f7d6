/*
 * gwhelp.h -- what the gateway tests share: the walking-skeleton services and means
 * testing (tests/intake/skeleton.c) on a fresh database, atbalsts-gateway as a child
 * process on a free port with its log captured, users created with `adduser`, and a small
 * HTTP/1.1 client (one connection per request).
 *
 * The binary's path comes from CMake (GATEWAY_PATH), as the services' paths do.
 */
#ifndef GWHELP_H
#define GWHELP_H

#include <stddef.h>
#include <jansson.h>
#include "skeleton.h"

typedef struct gw_test {
    int port;
    pid_t pid;
    pid_t allocation;
    char log_path[256];        /* the gateway's stderr */
    char port_path[256];
} gw_test;

extern gw_test gwt;

/* sk_start + means + the gateway; users (password "correct horse 1"):
 *   ilze (social_worker in tervete), dace (social_worker in daugavpils),
 *   auditore (auditor in tervete and daugavpils), admins (administrator in tervete). */
int gwt_start(void);
/* Also start atbalsts-allocation and atbalsts-payments (after gwt_start; compiled with
 * ALLOCATION_PATH and PAYMENTS_PATH). 0 or -1. */
int gwt_start_more(void);
int gwt_stop(void);
#define GWT_PASSWORD "correct horse 1"

/* Run `atbalsts-gateway adduser LOGIN --grant G...` with the password on stdin; its exit code. */
int gwt_adduser(const char *login, const char *password, const char *grants);

typedef struct gwt_resp {
    int status;
    char *headers;             /* raw header block */
    char *body;
    size_t len;
} gwt_resp;
void gwt_resp_free(gwt_resp *r);

/* Send method path with optional body (raw bytes, may be NULL), extra header lines (each
 * ending in \r\n, may be NULL). Fails the test when the gateway does not answer. */
gwt_resp gwt_http(const char *method, const char *path, const char *body, size_t len, const char *headers);

/* A signed-in session: the cookie header line and the CSRF token. */
typedef struct gwt_session {
    char cookie[128];          /* "Cookie: atb_session=...\r\n" */
    char csrf[80];
    char both[256];            /* cookie + "X-CSRF-Token: ...\r\n" */
} gwt_session;
/* Sign in (fails the test unless 200). */
gwt_session gwt_sign_in(const char *login, const char *password);

/* The body parsed as JSON (fails the test when it is not). */
json_t *gwt_json(const gwt_resp *r);

/* Count of rows in atb.events, and of the gateway's access log with a condition. */
long long gwt_events(void);

#endif
