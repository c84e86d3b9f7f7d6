/*
 * svchelp.h -- what the service runtime tests share: a fresh database with the role of the
 * test service, the test service (pingsvc) as a child process, a tiny HTTP client.
 */
#ifndef SVCHELP_H
#define SVCHELP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tsupport.h"

typedef struct sh_service {
    t_db db;
    char prefix[48];          /* unique subject prefix */
    char stream[48];          /* unique JetStream stream */
    char pg_url[512];         /* conninfo of role atb_pingsvc */
    int http_port;
    pid_t pid;                /* 0 when not running */
    const char *exe;          /* the binary sh_start runs; NULL = pingsvc */
} sh_service;

/* A fresh database (t_db_create), role atb_pingsvc with a service role's privileges in it,
 * a unique prefix and stream, a free port. Aborts on failure. */
void sh_prepare(sh_service *sv);
/* Delete the stream and drop the database. */
void sh_cleanup(sh_service *sv);

/* Start sv->exe, pingsvc by default (or `wrapper ... exe` when wrapper is not NULL, e.g.
 * valgrind) with the
 * environment of sv plus extra "NAME=value" entries (NULL-terminated, may be NULL) and the
 * arguments args (NULL-terminated, may be NULL). Its stderr is the test's stderr, unless
 * err_fd >= 0, then that fd. Returns the pid (also in sv->pid). */
pid_t sh_start(sh_service *sv, const char *const *wrapper, const char *const *extra_env,
               const char *const *args, int err_fd);
/* Wait until GET /healthz answers 200; false if the child exited or timeout_ms passed. */
bool sh_wait_healthy(sh_service *sv, int timeout_ms);
/* Wait up to timeout_ms for pid to exit: its exit code, 128 + signal, or -1 on timeout. */
int sh_wait_exit(pid_t pid, int timeout_ms);
/* SIGKILL a child still running (cleanup after a failed test). */
void sh_kill(sh_service *sv);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int sh_free_port(void);

/* Send a raw HTTP request to 127.0.0.1:port; the status code (-1 if no answer), the body
 * (NUL-terminated, cut to n-1 bytes) into body. */
int sh_http(int port, const char *request, char *body, size_t n);
/* GET path; status and body as sh_http. */
int sh_get(int port, const char *path, char *body, size_t n);
/* The value of the metric line that starts with `series` + ' ' in a /metrics body, or -1. */
int64_t sh_metric(const char *body, const char *series);

/* Run SQL as the superuser in sv's database; the first value of the first row as int64 (0
 * when there is none). Aborts on failure. */
int64_t sh_sql(const sh_service *sv, const char *sql);

/* The same, the first value as text into out ("" when there is none). */
void sh_sql_text(const sh_service *sv, const char *sql, char *out, size_t n);

#endif
