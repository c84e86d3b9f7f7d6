/*
 * svchelp.c -- see svchelp.h.
 */
#include "svchelp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "bus.h"

extern char **environ;

static void die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "FATAL: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    exit(1);
}

int64_t sh_sql(const sh_service *sv, const char *sql)
{
    PGconn *c = PQconnectdb(sv->db.admin);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect: %s%s", PQerrorMessage(c), "");
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        die("%s: %s", sql, PQresultErrorMessage(r));
    int64_t v = 0;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

void sh_sql_text(const sh_service *sv, const char *sql, char *out, size_t n)
{
    PGconn *c = PQconnectdb(sv->db.admin);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect: %s%s", PQerrorMessage(c), "");
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die("%s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, n, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    PQfinish(c);
}

int sh_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("cannot find a free port: %s%s", strerror(errno), "");
    close(fd);
    return ntohs(a.sin_port);
}

void sh_prepare(sh_service *sv)
{
    memset(sv, 0, sizeof *sv);
    t_db_create(&sv->db);
    /* Roles are cluster-wide: another test program may create it at the same moment. */
    sh_sql(sv, "DO $$ BEGIN CREATE ROLE atb_pingsvc LOGIN; "
               "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
    /* What libs/eventstore's roles migration grants every service role. */
    sh_sql(sv, "GRANT USAGE ON SCHEMA atb TO atb_pingsvc;"
               "GRANT SELECT ON atb.events, atb.tenants, atb.commands, atb.log_head,"
               "  atb.schema_migrations TO atb_pingsvc;"
               "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA atb TO atb_pingsvc;"
               "GRANT SELECT, INSERT, UPDATE ON atb.checkpoints TO atb_pingsvc;"
               "GRANT SELECT, INSERT ON atb.dead_letters, atb.service_migrations TO atb_pingsvc");
    t_db_conninfo(&sv->db, "atb_pingsvc", sv->pg_url, sizeof sv->pg_url);
    t_unique(sv->prefix, sizeof sv->prefix, "svct");
    t_unique(sv->stream, sizeof sv->stream, "SVCT");
    sv->http_port = sh_free_port();
}

void sh_cleanup(sh_service *sv)
{
    sh_kill(sv);
    bus *b = NULL;
    bus_config bc = {.url = t_nats_url(), .prefix = sv->prefix, .stream = sv->stream};
    if (bus_connect(&b, &bc, NULL) == AT_OK) {
        bus_stream_delete(b, NULL);
        bus_close(b);
    }
    t_db_drop(&sv->db);
}

pid_t sh_start(sh_service *sv, const char *const *wrapper, const char *const *extra_env,
               const char *const *args, int err_fd)
{
    /* Everything is built before fork: the child of a threaded process may only exec. */
    char vars[9][640];
    snprintf(vars[0], sizeof vars[0], "ATB_PG_URL=%s", sv->pg_url);
    snprintf(vars[1], sizeof vars[1], "ATB_PG_ADMIN_URL=%s", sv->db.admin);
    snprintf(vars[2], sizeof vars[2], "ATB_NATS_URL=%s", t_nats_url());
    snprintf(vars[3], sizeof vars[3], "ATB_PREFIX=%s", sv->prefix);
    snprintf(vars[4], sizeof vars[4], "ATB_STREAM=%s", sv->stream);
    snprintf(vars[5], sizeof vars[5], "ATB_HTTP_PORT=%d", sv->http_port);
    snprintf(vars[6], sizeof vars[6], "ATB_WORKERS=4");
    snprintf(vars[7], sizeof vars[7], "ATB_MAX_MSG=2048");
    snprintf(vars[8], sizeof vars[8], "ATB_LOG_LEVEL=info");
    const char *env[512];
    size_t n = 0;
    /* extra entries first: for a duplicate name, glibc's getenv takes the first */
    for (size_t i = 0; extra_env && extra_env[i] && n < 400; i++)
        env[n++] = extra_env[i];
    for (size_t i = 0; i < 9; i++)
        env[n++] = vars[i];
    for (char **e = environ; *e && n < 510; e++)
        if (strncmp(*e, "ATB_", 4) != 0 && strncmp(*e, "UV_THREADPOOL_SIZE=", 19) != 0)
            env[n++] = *e;
    env[n] = NULL;
    const char *argv[64];
    size_t a = 0;
    for (size_t i = 0; wrapper && wrapper[i] && a < 30; i++)
        argv[a++] = wrapper[i];
    argv[a++] = sv->exe ? sv->exe : PINGSVC_PATH;
    for (size_t i = 0; args && args[i] && a < 62; i++)
        argv[a++] = args[i];
    argv[a] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s%s", strerror(errno), "");
    if (pid == 0) {
        if (err_fd >= 0)
            dup2(err_fd, STDERR_FILENO);
        execve(argv[0], (char *const *)argv, (char *const *)env);
        _exit(127);
    }
    sv->pid = pid;
    return pid;
}

int sh_wait_exit(pid_t pid, int timeout_ms)
{
    for (int waited = 0;; waited += 20) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return -1;
        if (waited >= timeout_ms)
            return -1;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void sh_kill(sh_service *sv)
{
    if (sv->pid > 0) {
        kill(sv->pid, SIGKILL);
        sh_wait_exit(sv->pid, 10000);
        sv->pid = 0;
    }
}

bool sh_wait_healthy(sh_service *sv, int timeout_ms)
{
    char body[512];
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        int st;
        if (waitpid(sv->pid, &st, WNOHANG) == sv->pid) {
            sv->pid = 0;
            return false;
        }
        if (sh_get(sv->http_port, "/healthz", body, sizeof body) == 200)
            return true;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

int sh_http(int port, const char *request, char *body, size_t n)
{
    if (n > 0)
        body[0] = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    size_t len = strlen(request);
    if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 20, got = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        ssize_t r = recv(fd, buf + got, cap - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == cap)
            break;
    }
    close(fd);
    buf[got] = 0;
    int status = -1;
    if (got > 12 && strncmp(buf, "HTTP/1.1 ", 9) == 0)
        status = atoi(buf + 9);
    const char *b = strstr(buf, "\r\n\r\n");
    if (b && n > 0)
        snprintf(body, n, "%s", b + 4);
    free(buf);
    return status;
}

int sh_get(int port, const char *path, char *body, size_t n)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    return sh_http(port, req, body, n);
}

int64_t sh_metric(const char *body, const char *series)
{
    size_t len = strlen(series);
    for (const char *p = body; p && *p;) {
        if (strncmp(p, series, len) == 0 && p[len] == ' ')
            return strtoll(p + len + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}
