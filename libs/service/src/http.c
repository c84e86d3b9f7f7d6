/*
 * http.c -- the smallest HTTP/1.1 server that serves /healthz and /metrics on the loop.
 *
 * One request per connection: read until the end of the headers (into a fixed 4 KiB
 * buffer: a longer request is answered 431), parse the request line by hand, answer with
 * Content-Length and "Connection: close", shut the socket down, close it. GET and HEAD
 * only. A connection that sends nothing complete within 5 s is closed; at most 64 are open
 * at once (more are closed on accept). Everything runs on the loop thread; the answer
 * function must not block.
 *
 * Lifetime (the libuv way): each connection owns a uv_tcp_t and a uv_timer_t and is freed
 * when both close callbacks ran; svc__http_close closes the listener and every connection
 * and calls its callback once the last handle is closed.
 */
#include "svc_int.h"

#include <stdlib.h>
#include <string.h>

#define REQ_MAX 4096
#define RESP_MAX (4u * 1024u * 1024u)
#define CONN_MAX 64
#define IDLE_MS 5000

typedef struct http_conn {
    struct http_conn *prev, *next;
    svc_http *h;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    int open_handles;         /* tcp, timer: freed at 0 */
    bool closing;
    bool answered;
    size_t len;
    char req[REQ_MAX];
    at_buf resp;
} http_conn;

static void maybe_done(svc_http *h)
{
    if (h->closing && h->n_conns == 0 && !h->listening && h->close_cb) {
        svc_http_close_cb cb = h->close_cb;
        h->close_cb = NULL;
        cb(h);
    }
}

static void conn_handle_closed(uv_handle_t *handle)
{
    http_conn *c = handle->data;
    if (--c->open_handles > 0)
        return;
    svc_http *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->n_conns--;
    at_buf_free(&c->resp);
    free(c);
    maybe_done(h);
}

static void conn_close(http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void on_idle(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void on_written(uv_write_t *req, int status)
{
    http_conn *c = req->data;
    if (status != 0 || c->closing) {
        conn_close(c);
        return;
    }
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void respond(http_conn *c, int status, const char *ctype, const at_buf *body, bool head)
{
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    at_buf_reset(&c->resp);
    size_t blen = body ? body->len : 0;
    bool ok = at_buf_printf(&c->resp,
                            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                            "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
                            status, reason(status), ctype, blen,
                            status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (ok && body && !head)
        ok = at_buf_append(&c->resp, body->ptr, body->len);
    if (!ok) {
        conn_close(c);
        return;
    }
    uv_buf_t b = uv_buf_init(c->resp.ptr, (unsigned)c->resp.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        conn_close(c);
}

static void respond_text(http_conn *c, int status, const char *text)
{
    at_buf b;
    at_buf_init(&b, 256);
    at_buf_puts(&b, text);
    respond(c, status, "text/plain; charset=utf-8", &b, false);
    at_buf_free(&b);
}

/* The end of the header block ("\r\n\r\n" or, leniently, "\n\n"), or NULL. */
static const char *headers_end(const char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (p[i] == '\n' && p[i + 1] == '\n')
            return p + i + 2;
        if (i + 3 < len && p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return p + i + 4;
    }
    return NULL;
}

/* "METHOD SP target SP HTTP/1.x" up to the first line end. */
static void handle_request(http_conn *c)
{
    const char *p = c->req;
    const char *eol = memchr(p, '\n', c->len);
    size_t line = (size_t)(eol - p);
    if (line > 0 && p[line - 1] == '\r')
        line--;
    size_t i = 0;
    char method[16];
    size_t m = 0;
    while (i < line && p[i] >= 'A' && p[i] <= 'Z' && m < sizeof method - 1)
        method[m++] = p[i++];
    method[m] = 0;
    if (m == 0 || i >= line || p[i] != ' ') {
        respond_text(c, 400, "bad request line\n");
        return;
    }
    i++;
    char path[256];
    size_t t = 0;
    if (i >= line || p[i] != '/') {
        respond_text(c, 400, "bad request target\n");
        return;
    }
    while (i < line && p[i] != ' ' && p[i] != '?' && t < sizeof path - 1)
        path[t++] = p[i++];
    path[t] = 0;
    while (i < line && p[i] != ' ')
        i++;                       /* the query string, ignored */
    if (i >= line || line - i != 9 || strncmp(p + i, " HTTP/1.", 8) != 0 ||
        (p[i + 8] != '0' && p[i + 8] != '1')) {
        respond_text(c, 400, "bad request line\n");
        return;
    }
    bool head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        respond_text(c, 405, "only GET and HEAD\n");
        return;
    }
    at_buf body;
    at_buf_init(&body, RESP_MAX);
    const char *ctype = "text/plain; charset=utf-8";
    int status = c->h->fn(c->h->ctx, path, &body, &ctype);
    respond(c, status, ctype, &body, head);
    at_buf_free(&body);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    http_conn *c = handle->data;
    size_t room = sizeof c->req - c->len;
    *buf = uv_buf_init(c->req + c->len, (unsigned)room);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    http_conn *c = stream->data;
    if (nread < 0) {
        conn_close(c);            /* EOF or error before a whole request */
        return;
    }
    if (nread == 0 || c->answered)
        return;
    c->len += (size_t)nread;
    if (headers_end(c->req, c->len)) {
        handle_request(c);
        return;
    }
    if (c->len == sizeof c->req)
        respond_text(c, 431, "request too large\n");
}

static void on_connection(uv_stream_t *server, int status)
{
    svc_http *h = server->data;
    if (status != 0 || h->closing)
        return;
    http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;   /* the connection stays in the backlog; the client times out */
    c->h = h;
    at_buf_init(&c->resp, RESP_MAX + 1024);
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || h->n_conns > CONN_MAX) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_idle, IDLE_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

at_code svc__http_start(svc_http *h, uv_loop_t *loop, int port, svc_http_fn fn, void *ctx,
                        at_error *err)
{
    memset(h, 0, sizeof *h);
    h->loop = loop;
    h->fn = fn;
    h->ctx = ctx;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    int r = uv_tcp_init(loop, &h->listener);
    if (r != 0)
        return at_error_set(err, AT_INTERNAL, "http", "could not create the HTTP socket: %s",
                            uv_strerror(r));
    h->listening = true;
    h->listener.data = h;
    r = uv_tcp_bind(&h->listener, (const struct sockaddr *)&addr, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
    if (r != 0) {
        at_error_set(err, AT_UNAVAILABLE, "http", "could not listen on 127.0.0.1:%d: %s", port,
                     uv_strerror(r));
        at_error_hint(err, "another program uses the port: choose another with --http or "
                           "ATB_HTTP_PORT");
        return AT_UNAVAILABLE;
    }
    return AT_OK;
}

static void listener_closed(uv_handle_t *handle)
{
    svc_http *h = handle->data;
    h->listening = false;
    maybe_done(h);
}

void svc__http_close(svc_http *h, svc_http_close_cb cb)
{
    h->closing = true;
    h->close_cb = cb;
    if (h->listening && !uv_is_closing((uv_handle_t *)&h->listener)) {
        h->listener.data = h;
        uv_close((uv_handle_t *)&h->listener, listener_closed);
    }
    for (http_conn *c = h->conns; c; c = c->next)
        conn_close(c);
    maybe_done(h);
}
