/*
 * gwhelp.c -- the gateway under test (see gwhelp.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gwhelp.h"

gw_test gwt;

static void gw_env(void)
{
    char pg[600];
    t_db_conninfo(&sk.db, "atb_gateway", pg, sizeof pg);
    setenv("ATB_PG_URL", pg, 1);
    setenv("ATB_PG_ADMIN_URL", sk.db.admin, 1);
    setenv("ATB_NATS_URL", t_nats_url(), 1);
    setenv("ATB_PREFIX", sk.prefix, 1);
}

int gwt_adduser(const char *login, const char *password, const char *grants)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        gw_env();
        unsetenv("ATB_GATEWAY_PASSWORD");
        dup2(fds[0], 0);
        close(fds[1]);
        /* grants: "tervete:social_worker,daugavpils:auditor" */
        char *argv[40];
        int n = 0;
        argv[n++] = (char *)GATEWAY_PATH;
        argv[n++] = (char *)"adduser";
        argv[n++] = (char *)login;
        char *copy = strdup(grants), *save = NULL;
        for (char *g = strtok_r(copy, ",", &save); g && n < 36; g = strtok_r(NULL, ",", &save)) {
            argv[n++] = (char *)"--grant";
            argv[n++] = g;
        }
        argv[n] = NULL;
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execv(GATEWAY_PATH, argv);
        _exit(127);
    }
    close(fds[0]);
    dprintf(fds[1], "%s\n", password);
    close(fds[1]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int gwt_start(void)
{
    if (sk_start() != 0 || sk_start_means() != 0)
        return -1;
    snprintf(gwt.log_path, sizeof gwt.log_path, "%s/gateway-%d.log", GWT_OUT_DIR, (int)getpid());
    snprintf(gwt.port_path, sizeof gwt.port_path, "%s/gateway-%d.port", GWT_OUT_DIR, (int)getpid());
    unlink(gwt.port_path);
    /* adduser applies the gateway's migrations too (the admin URL is given) */
    if (gwt_adduser("ilze", GWT_PASSWORD, "tervete:social_worker") != 0 ||
        gwt_adduser("dace", GWT_PASSWORD, "daugavpils:social_worker") != 0 ||
        gwt_adduser("auditore", GWT_PASSWORD, "tervete:auditor,daugavpils:auditor") != 0 ||
        gwt_adduser("admins", GWT_PASSWORD, "tervete:administrator") != 0) {
        fprintf(stderr, "adduser failed\n");
        return -1;
    }
    gwt.pid = fork();
    if (gwt.pid == 0) {
        gw_env();
        setenv("ATB_GATEWAY_PORT", "0", 1);
        setenv("ATB_GATEWAY_PORT_FILE", gwt.port_path, 1);
        setenv("ATB_LOG_LEVEL", "info", 1);
        /* the longest the cache trusts a session: a test sees a cached session whatever the
         * machine's speed (test_gateway_security, session_cache_...) */
        setenv("ATB_GATEWAY_SESSION_CACHE_SECONDS", "60", 1);
        int fd = open(gwt.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        execl(GATEWAY_PATH, GATEWAY_PATH, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(gwt.port_path, "r");
        if (f) {
            int ok = fscanf(f, "%d", &gwt.port);
            fclose(f);
            if (ok == 1 && gwt.port > 0)
                break;
        }
        sk_sleep_ms(50);
    }
    if (gwt.port <= 0) {
        fprintf(stderr, "the gateway did not start (log: %s)\n", gwt.log_path);
        return -1;
    }
    sk_wait_ready();
    return 0;
}

int gwt_start_more(void)
{
#if defined(ALLOCATION_PATH) && defined(PAYMENTS_PATH)
    if (sk_start_payments() != 0)
        return -1;
    char pg[600];
    t_db_conninfo(&sk.db, "atb_allocation", pg, sizeof pg);
    gwt.allocation = fork();
    if (gwt.allocation == 0) {
        setenv("ATB_PG_URL", pg, 1);
        setenv("ATB_PG_ADMIN_URL", sk.db.admin, 1);
        setenv("ATB_NATS_URL", t_nats_url(), 1);
        setenv("ATB_PREFIX", sk.prefix, 1);
        setenv("ATB_STREAM", sk.stream, 1);
        setenv("ATB_HTTP_PORT", "0", 1);
        setenv("ATB_WORKERS", "2", 1);
        setenv("ATB_LOG_LEVEL", "warn", 1);
        execl(ALLOCATION_PATH, ALLOCATION_PATH, (char *)NULL);
        _exit(127);
    }
    return gwt.allocation > 0 ? 0 : -1;
#else
    return -1;
#endif
}

int gwt_stop(void)
{
    if (gwt.allocation > 0) {
        kill(gwt.allocation, SIGTERM);
        int st = 0;
        waitpid(gwt.allocation, &st, 0);
        gwt.allocation = 0;
    }
    int bad = 0;
    if (gwt.pid > 0) {
        kill(gwt.pid, SIGTERM);
        int st = 0;
        waitpid(gwt.pid, &st, 0);
        gwt.pid = 0;
        /* a clean stop exits 0; a sanitizer's report at exit does not */
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "atbalsts-gateway did not exit cleanly (status %d); its log: %s\n", st, gwt.log_path);
            bad = -1;
        }
    }
    unlink(gwt.port_path);
    return sk_teardown() != 0 || bad ? -1 : 0;
}

void gwt_resp_free(gwt_resp *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

gwt_resp gwt_http(const char *method, const char *path, const char *body, size_t len, const char *headers)
{
    gwt_resp r = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)gwt.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        fail_msg("cannot connect to the gateway: %s", strerror(errno));
    char head[4096];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, headers ? headers : "", body ? "Content-Type: application/json\r\n" : "",
                     body ? len : (size_t)0);
    if (write(fd, head, (size_t)n) != n)
        fail_msg("cannot write the request");
    for (size_t off = 0; body && off < len;) {
        ssize_t w = write(fd, body + off, len - off);
        if (w <= 0)
            break;   /* the server may refuse a large body early; its answer is still read */
        off += (size_t)w;
    }
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (got + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t k = read(fd, buf + got, cap - got - 1);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    buf[got] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (!end || sscanf(buf, "HTTP/1.%*d %d", &r.status) != 1)
        fail_msg("no HTTP answer to %s %s (got %zu bytes)", method, path, got);
    r.headers = strndup(buf, (size_t)(end - buf + 2));
    r.len = got - (size_t)(end + 4 - buf);
    r.body = malloc(r.len + 1);
    memcpy(r.body, end + 4, r.len);
    r.body[r.len] = 0;
    free(buf);
    return r;
}

json_t *gwt_json(const gwt_resp *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body, r->len, 0, &e);
    if (!j)
        fail_msg("not JSON (%d): %s", r->status, r->body);
    return j;
}

gwt_session gwt_sign_in(const char *login, const char *password)
{
    gwt_session s = {0};
    char body[256];
    int n = snprintf(body, sizeof body, "{\"login\":\"%s\",\"password\":\"%s\"}", login, password);
    gwt_resp r = gwt_http("POST", "/api/v1/session", body, (size_t)n, NULL);
    if (r.status != 200)
        fail_msg("sign-in of %s: %d %s", login, r.status, r.body);
    const char *c = strstr(r.headers, "atb_session=");
    if (!c)
        fail_msg("no session cookie: %s", r.headers);
    snprintf(s.cookie, sizeof s.cookie, "Cookie: atb_session=%.64s\r\n", c + 12);
    json_t *j = gwt_json(&r);
    snprintf(s.csrf, sizeof s.csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    json_decref(j);
    snprintf(s.both, sizeof s.both, "%sX-CSRF-Token: %s\r\n", s.cookie, s.csrf);
    gwt_resp_free(&r);
    return s;
}

long long gwt_events(void)
{
    return (long long)sk_sql_int("SELECT count(*) FROM atb.events");
}
