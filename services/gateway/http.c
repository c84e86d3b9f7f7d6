/*
 * http.c -- the HTTP/1.1 server: libh2o on the libuv loop thread.
 *
 * /api/ and /healthz go to gw_api_handle() on a libuv worker thread (uv_queue_work): the
 * request is copied out of h2o first, and the answer is sent from the after-work callback
 * on the loop thread, if the client is still there. A client that went away frees its
 * h2o request; the dispose hook below then tells the job not to answer.
 * Everything else is a file of the web directory (h2o's file handler), index.html for "/".
 *
 * Every answer carries the security headers: a Content-Security-Policy that allows only
 * the gateway's own scripts and styles, no framing, no MIME sniffing, no referrer.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include <h2o.h>

#include "gateway.h"
#include "svc.h"

typedef struct job job;
typedef struct req_ref {
    job *j;                      /* NULL once the job has answered or is gone */
} req_ref;

struct job {
    uv_work_t work;
    gw *g;
    h2o_req_t *req;              /* NULL when the client went away */
    req_ref *ref;
    gw_req rq;
    gw_resp rs;
    uint64_t t0;
};

typedef struct server {
    gw *g;
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
} server;

static h2o_iovec_t hdr_csp = {H2O_STRLIT("content-security-policy")};
static h2o_iovec_t hdr_xcto = {H2O_STRLIT("x-content-type-options")};
static h2o_iovec_t hdr_xfo = {H2O_STRLIT("x-frame-options")};
static h2o_iovec_t hdr_ref = {H2O_STRLIT("referrer-policy")};
#define CSP "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

static void security_headers(h2o_req_t *req)
{
    h2o_headers_t *h = &req->res.headers;
    h2o_add_header_by_str(&req->pool, h, hdr_csp.base, hdr_csp.len, 0, NULL, H2O_STRLIT(CSP));
    h2o_add_header_by_str(&req->pool, h, hdr_xcto.base, hdr_xcto.len, 0, NULL, H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(&req->pool, h, hdr_xfo.base, hdr_xfo.len, 0, NULL, H2O_STRLIT("DENY"));
    h2o_add_header_by_str(&req->pool, h, hdr_ref.base, hdr_ref.len, 0, NULL, H2O_STRLIT("no-referrer"));
}

static void ref_dispose(void *p)
{
    req_ref *r = p;
    if (r->j)
        r->j->req = NULL;
}

static void copy_header(const h2o_req_t *req, const char *name, char *out, size_t n)
{
    out[0] = 0;
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i >= 0) {
        const h2o_iovec_t *v = &req->headers.entries[i].value;
        if (v->len < n)
            snprintf(out, n, "%.*s", (int)v->len, v->base);
    }
}

/* The atb_session cookie's value ("" when none). */
static void session_cookie(const h2o_req_t *req, char *out, size_t n)
{
    out[0] = 0;
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        const h2o_iovec_t *v = &req->headers.entries[i].value;
        const char *p = v->base, *end = v->base + v->len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';'))
                p++;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *stop = semi ? semi : end;
            if ((size_t)(stop - p) > 12 && memcmp(p, "atb_session=", 12) == 0 && (size_t)(stop - p - 12) < n) {
                snprintf(out, n, "%.*s", (int)(stop - p - 12), p + 12);
                return;
            }
            p = stop;
        }
    }
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void work_cb(uv_work_t *w)
{
    job *j = w->data;
    gw_api_handle(j->g, &j->rq, &j->rs);
}

static void after_cb(uv_work_t *w, int status)
{
    job *j = w->data;
    if (j->ref)
        j->ref->j = NULL;
    h2o_req_t *req = j->req;
    char st[8], ms[16];
    snprintf(st, sizeof st, "%d", j->rs.status);
    snprintf(ms, sizeof ms, "%.1f", (double)(now_us() - j->t0) / 1000.0);
    /* the path only: a query string may hold a personal code */
    svc_log_kv(j->rs.status >= 500 ? SVC_LOG_WARN : SVC_LOG_INFO, "request", "method", j->rq.method, "path",
               j->rq.path, "status", st, "ms", ms, "user", j->rs.log_login, "client_gone", req ? "" : "yes", NULL);
    if (req && status == 0) {
        req->res.status = j->rs.status;
        req->res.reason = j->rs.status < 400 ? "OK" : "Error";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, j->rs.content_type,
                       strlen(j->rs.content_type));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
        if (j->rs.set_cookie)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, j->rs.set_cookie,
                           strlen(j->rs.set_cookie));
        security_headers(req);
        req->res.content_length = j->rs.len;
        h2o_send_inline(req, j->rs.body ? j->rs.body : "", j->rs.len);
    } else if (req) {
        h2o_send_error_503(req, "Service Unavailable", "the gateway is stopping\n", 0);
    }
    gw_req_free(&j->rq);
    gw_resp_free(&j->rs);
    free(j);
}

static int on_api(h2o_handler_t *self, h2o_req_t *req)
{
    server *s = *(server **)(self + 1);
    job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->g = s->g;
    j->req = req;
    j->t0 = now_us();
    j->work.data = j;
    snprintf(j->rq.method, sizeof j->rq.method, "%.*s", (int)(req->method.len < 7 ? req->method.len : 7),
             req->method.base);
    /* path_normalized has no query string and no "..": routes match on it */
    j->rq.path = strndup(req->path_normalized.base, req->path_normalized.len);
    if (req->query_at != SIZE_MAX)
        j->rq.query = strndup(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    if (req->entity.base && req->entity.len > GW_MAX_BODY) {
        j->rq.body_too_large = true;
    } else if (req->entity.base) {
        j->rq.body = malloc(req->entity.len + 1);
        if (j->rq.body) {
            memcpy(j->rq.body, req->entity.base, req->entity.len);
            j->rq.body[req->entity.len] = 0;
        }
        j->rq.body_len = req->entity.len;
    }
    session_cookie(req, j->rq.session, sizeof j->rq.session);
    copy_header(req, "x-csrf-token", j->rq.csrf, sizeof j->rq.csrf);
    copy_header(req, "idempotency-key", j->rq.idempotency_key, sizeof j->rq.idempotency_key);
    if (!j->rq.path || (req->entity.base && !j->rq.body && !j->rq.body_too_large)) {
        gw_req_free(&j->rq);
        free(j);
        return -1;
    }
    j->ref = h2o_mem_alloc_shared(&req->pool, sizeof *j->ref, ref_dispose);
    j->ref->j = j;
    if (uv_queue_work(s->loop, &j->work, work_cb, after_cb) != 0) {
        j->ref->j = NULL;
        gw_req_free(&j->rq);
        free(j);
        return -1;
    }
    return 0;
}

static void on_accept(uv_stream_t *listener, int status)
{
    server *s = listener->data;
    if (status != 0)
        return;
    uv_tcp_t *conn = h2o_mem_alloc(sizeof *conn);
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free);
    h2o_accept(&s->accept_ctx, sock);
}

static void on_signal(uv_signal_t *h, int signum)
{
    server *s = h->data;
    svc_log(SVC_LOG_INFO, "stopping on signal %d", signum);
    /* Stop accepting and leave the loop: answers in flight are given up (the client
     * retries with the same Idempotency-Key; a command is done once or not at all). */
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_signal_stop(&s->sigterm);
    uv_signal_stop(&s->sigint);
    uv_stop(s->loop);
}

static h2o_pathconf_t *api_path(server *s, h2o_hostconf_t *host, const char *path)
{
    h2o_pathconf_t *pc = h2o_config_register_path(host, path, 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof *h + sizeof(server *));
    h->on_req = on_api;
    *(server **)(h + 1) = s;
    return pc;
}

/* Static: it lives until the process exits (see the end of gw_http_run). */
static server the_server;

int gw_http_run(gw *g)
{
    server *s = &the_server;
    s->g = g;
    s->loop = uv_default_loop();
    h2o_config_init(&s->config);
    /* h2o's own limit: beyond it the connection gets 413 without the body being read.
     * Below it, the API answers a body over GW_MAX_BODY with a 400 naming the field. */
    s->config.max_request_entity_size = 1024 * 1024;
    s->config.server_name = h2o_iovec_init(H2O_STRLIT("atbalsts-gateway"));
    h2o_hostconf_t *host = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    api_path(s, host, "/api");
    api_path(s, host, "/healthz");
    h2o_pathconf_t *files = h2o_config_register_path(host, "/", 0);
    static const char *index_files[] = {"index.html", NULL};
    h2o_file_register(files, g->cfg.web_dir, index_files, NULL, 0);
    static h2o_headers_command_t cmds[] = {
        {H2O_HEADERS_CMD_SET, &hdr_csp, {H2O_STRLIT(CSP)}},
        {H2O_HEADERS_CMD_SET, &hdr_xcto, {H2O_STRLIT("nosniff")}},
        {H2O_HEADERS_CMD_SET, &hdr_xfo, {H2O_STRLIT("DENY")}},
        {H2O_HEADERS_CMD_SET, &hdr_ref, {H2O_STRLIT("no-referrer")}},
        {H2O_HEADERS_CMD_NULL, NULL, {NULL, 0}},
    };
    h2o_headers_register(files, cmds);

    h2o_context_init(&s->ctx, s->loop, &s->config);
    s->accept_ctx.ctx = &s->ctx;
    s->accept_ctx.hosts = s->config.hosts;

    struct sockaddr_in addr;
    int rc = uv_ip4_addr(g->cfg.listen, g->cfg.port, &addr);
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    if (rc == 0)
        rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 512, on_accept);
    if (rc != 0) {
        svc_log_kv(SVC_LOG_ERROR, "cannot listen", "address", g->cfg.listen, "error", uv_strerror(rc), NULL);
        return 1;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    int port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (g->cfg.port_file) {
        /* written whole under another name, then renamed: a reader never sees half */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", g->cfg.port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, g->cfg.port_file) != 0) {
            svc_log_kv(SVC_LOG_ERROR, "cannot write the port file", "file", g->cfg.port_file, NULL);
            return 1;
        }
    }
    svc_log_kv(SVC_LOG_INFO, "listening", "address", g->cfg.listen, "port", ps, "web", g->cfg.web_dir, NULL);
    signal(SIGPIPE, SIG_IGN);
    uv_signal_init(s->loop, &s->sigterm);
    uv_signal_init(s->loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_run(s->loop, UV_RUN_DEFAULT);
    /* The loop, h2o's context and open connections are left to the process's exit: h2o
     * 2.2 cannot dispose a context with connections open. */
    return 0;
}
