/*
 * log.c -- JSON lines on stderr, one per event, for every service.
 *
 * A line is {"ts":"2024-05-01T12:00:00.123Z","level":"info","service":"intake","msg":"..."}
 * plus optional string fields. The level is checked before anything is formatted. Each
 * line goes out with one write(2) under a mutex, so lines of different threads never
 * interleave. Strings are escaped for JSON and invalid UTF-8 becomes U+FFFD, so a
 * subject or a value from a client can never break the line.
 *
 * Invariants: svc_log_set_service is called before other threads start (svc_main does);
 * the level may change at any time (an atomic).
 */
#include "svc_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = SVC_LOG_INFO;
static char log_service[65] = "atbalsts";
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

#define LOG_LINE_MAX 16384   /* longer lines are cut (the msg is cut first) */
#define LOG_MSG_MAX 4096

static const char *level_name[] = {"debug", "info", "warn", "error"};

void svc_log_set_level(svc_log_level level)
{
    if (level >= SVC_LOG_DEBUG && level <= SVC_LOG_ERROR)
        atomic_store(&log_level, (int)level);
}

void svc_log_set_service(const char *name)
{
    snprintf(log_service, sizeof log_service, "%s", name && *name ? name : "atbalsts");
}

bool svc_log_enabled(svc_log_level level)
{
    return (int)level >= atomic_load(&log_level);
}

/* Length of the valid UTF-8 sequence at p (at most avail bytes), 0 if it is not one.
 * Overlong forms, surrogates and values above U+10FFFF are not valid. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c == 0xE0)
        n = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        n = 3;
    else if (c == 0xED)
        n = 3, hi = 0x9F;
    else if (c == 0xF0)
        n = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        n = 4;
    else if (c == 0xF4)
        n = 4, hi = 0x8F;
    else
        return 0;
    if (avail < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

bool svc__utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

bool svc__json_escape(at_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    size_t i = 0;
    while (i < len) {
        /* copy the longest run that needs no escaping at once */
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i && !at_buf_append(b, p + i, run - i))
            return false;
        i = run;
        if (i >= len)
            break;
        unsigned c = p[i];
        bool ok = true;
        if (c == '"')
            ok = at_buf_puts(b, "\\\"");
        else if (c == '\\')
            ok = at_buf_puts(b, "\\\\");
        else if (c == '\n')
            ok = at_buf_puts(b, "\\n");
        else if (c == '\r')
            ok = at_buf_puts(b, "\\r");
        else if (c == '\t')
            ok = at_buf_puts(b, "\\t");
        else if (c < 0x20)
            ok = at_buf_printf(b, "\\u%04x", c);
        else {
            size_t n = utf8_seq(p + i, len - i);
            if (n == 0) {
                ok = at_buf_puts(b, "\\ufffd");
                n = 1;
            } else {
                ok = at_buf_append(b, p + i, n);
            }
            if (!ok)
                return false;
            i += n;
            continue;
        }
        if (!ok)
            return false;
        i++;
    }
    return true;
}

void svc__redact(const char *in, char *out, size_t n)
{
    if (n == 0)
        return;
    snprintf(out, n, "%s", in ? in : "");
    /* URL form: scheme://user:password@host */
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *user = scheme + 3;
        char *at = strchr(user, '@');
        char *slash = strchr(user, '/');
        char *colon = strchr(user, ':');
        if (at && (!slash || at < slash) && colon && colon < at) {
            char rest[1024];
            snprintf(rest, sizeof rest, "%s", at);
            snprintf(colon, n - (size_t)(colon - out), ":***%s", rest);
        }
    }
    /* keyword form (libpq) or URL parameter: password=secret */
    char *pw = strstr(out, "password=");
    while (pw) {
        char *v = pw + strlen("password=");
        char *end = v;
        while (*end && *end != ' ' && *end != '&')
            end++;
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", end);
        snprintf(v, n - (size_t)(v - out), "***%s", rest);
        pw = strstr(v, "password=");
    }
}

static void timestamp(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, 32 - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void write_all(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;               /* nowhere left to report it */
        }
        p += w;
        len -= (size_t)w;
    }
}

/* Emit one line: msg, then key/value pairs from ap (NULL-terminated) if ap is given. */
static void emit(svc_log_level level, const char *msg, const char *const *kv, size_t n_kv)
{
    char ts[32];
    timestamp(ts);
    at_buf b;
    at_buf_init(&b, LOG_LINE_MAX);
    bool ok = at_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"", ts,
                            level_name[level]) &&
              svc__json_escape(&b, log_service) && at_buf_puts(&b, "\",\"msg\":\"") &&
              svc__json_escape(&b, msg) && at_buf_puts(&b, "\"");
    for (size_t i = 0; ok && i + 1 < n_kv; i += 2) {
        if (!kv[i])
            break;
        ok = at_buf_puts(&b, ",\"") && svc__json_escape(&b, kv[i]) && at_buf_puts(&b, "\":\"") &&
             svc__json_escape(&b, kv[i + 1] ? kv[i + 1] : "") && at_buf_puts(&b, "\"");
    }
    if (ok)
        ok = at_buf_puts(&b, "}\n");
    pthread_mutex_lock(&log_mu);
    if (ok) {
        write_all(b.ptr, b.len);
    } else {
        /* out of memory or too long: still say something, in valid JSON */
        char line[256];
        int k = snprintf(line, sizeof line,
                         "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"msg\":\"log line "
                         "too long or out of memory\"}\n",
                         ts, level_name[level], "atbalsts");
        write_all(line, (size_t)k);
    }
    pthread_mutex_unlock(&log_mu);
    at_buf_free(&b);
}

void svc_log(svc_log_level level, const char *fmt, ...)
{
    if (level < SVC_LOG_DEBUG || level > SVC_LOG_ERROR || !svc_log_enabled(level))
        return;
    char msg[LOG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, msg, NULL, 0);
}

void svc_log_kv(svc_log_level level, const char *msg, ...)
{
    if (level < SVC_LOG_DEBUG || level > SVC_LOG_ERROR || !svc_log_enabled(level))
        return;
    const char *kv[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (n + 2 <= sizeof kv / sizeof kv[0]) {
            kv[n++] = k;
            kv[n++] = v;
        }
    }
    va_end(ap);
    emit(level, msg ? msg : "", kv, n);
}
