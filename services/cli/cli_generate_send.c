/*
 * cli_generate_send.c -- how `atbalsts generate` sends: one command at a time per thread,
 * each with an id derived from the seed, every answer tallied by command and by error
 * code; the command log (--commands FILE); progress on stderr; a small thread pool.
 *
 * Invariants:
 *  - a command's id depends only on (seed, tenant, what, n): never on time or order, so
 *    a second run of the seed is recognised by the services as done before;
 *  - the command log holds one line per command sent: tenant, service, name, id and a
 *    hash of the protobuf bytes, sorted, so two runs of a seed compare line by line
 *    whatever order the threads sent in;
 *  - progress goes to stderr only (stdout carries the summary).
 */
#include "cli_generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "at_time.h"
#include "at_uuid.h"

/* Namespace of the generator's command ids. */
#define GEN_NS "6d3f0a52-8c1e-4b7a-9f2d-1e5c7a9b3d40"

typedef struct log_line {
    char text[160];
} log_line;

struct gen {
    cli *c;
    uint64_t seed;
    pthread_mutex_t mu;
    gen_tally t;
    int64_t t0;
    /* progress */
    const char *phase;
    long total, steps;
    bool stop;
    pthread_t th;
    bool th_started;
    pthread_cond_t cv;
    /* command log */
    const char *log_file;
    log_line *log;
    size_t n_log, cap_log;
};

static uint64_t fnv(const uint8_t *b, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static void progress_line(gen *g, bool final)
{
    double secs = (double)(at_mono_ns() - g->t0) / 1e9;
    long refused = 0;
    for (int k = 1; k <= AT_UNKNOWN_COMMAND; k++)
        refused += g->t.refused[k];
    bool tty = isatty(2);
    fprintf(stderr, "%sgenerate: %-12s %7ld/%-7ld  %8ld commands  %6.0f/s  %ld refused  %ld unanswered  %5.0f s%s",
            tty ? "\r" : "", g->phase ? g->phase : "", g->steps, g->total, g->t.sent,
            secs > 0 ? (double)g->t.sent / secs : 0.0, refused, g->t.unanswered, secs,
            tty && !final ? "\033[K" : "\n");
    fflush(stderr);
}

static void *progress_thread(void *arg)
{
    gen *g = arg;
    int tick = isatty(2) ? 1 : 10;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += tick;
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (!g->stop)
            progress_line(g, false);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

gen *gen_new(cli *c, uint64_t seed, const char *commands_file)
{
    gen *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->c = c;
    g->seed = seed;
    g->t0 = at_mono_ns();
    g->log_file = commands_file;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->th_started = pthread_create(&g->th, NULL, progress_thread, g) == 0;
    return g;
}

static int cmp_line(const void *a, const void *b) { return strcmp(((const log_line *)a)->text, ((const log_line *)b)->text); }

bool gen_free(gen *g)
{
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->th_started)
        pthread_join(g->th, NULL);
    if (g->phase)
        progress_line(g, true);
    bool ok = true;
    if (g->log_file) {
        FILE *f = fopen(g->log_file, "w");
        if (!f) {
            fprintf(stderr, "atbalsts: generate: cannot write the command log \"%s\"\n", g->log_file);
            ok = false;
        } else {
            qsort(g->log, g->n_log, sizeof *g->log, cmp_line);
            for (size_t i = 0; i < g->n_log; i++)
                fprintf(f, "%s\n", g->log[i].text);
            ok = fclose(f) == 0;
        }
    }
    free(g->log);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
    return ok;
}

cli *gen_cli(gen *g) { return g->c; }

void gen_phase(gen *g, const char *name, long total)
{
    pthread_mutex_lock(&g->mu);
    if (g->phase && g->steps > 0)
        progress_line(g, true);
    g->phase = name;
    g->total = total;
    g->steps = 0;
    pthread_mutex_unlock(&g->mu);
}

void gen_steps_set(gen *g, long steps)
{
    pthread_mutex_lock(&g->mu);
    g->steps = steps;
    pthread_mutex_unlock(&g->mu);
}

void gen_step(gen *g)
{
    pthread_mutex_lock(&g->mu);
    g->steps++;
    pthread_mutex_unlock(&g->mu);
}

/* Under g->mu: the tally row of a command name. */
static int name_row(gen *g, const char *name)
{
    for (long i = 0; i < g->t.by_name_n; i++)
        if (strcmp(g->t.by_name[i].name, name) == 0)
            return (int)i;
    if (g->t.by_name_n >= (long)(sizeof g->t.by_name / sizeof g->t.by_name[0]))
        return -1;
    snprintf(g->t.by_name[g->t.by_name_n].name, sizeof g->t.by_name[0].name, "%s", name);
    return (int)g->t.by_name_n++;
}

static void log_command(gen *g, const char *tenant, const char *service, const char *name, const char *id,
                        const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return;
    protobuf_c_message_pack(msg, buf);
    uint64_t h = fnv(buf, n);
    free(buf);
    pthread_mutex_lock(&g->mu);
    if (g->n_log == g->cap_log) {
        size_t cap = g->cap_log ? g->cap_log * 2 : 4096;
        log_line *l = realloc(g->log, cap * sizeof *l);
        if (!l) {
            pthread_mutex_unlock(&g->mu);
            return;
        }
        g->log = l;
        g->cap_log = cap;
    }
    snprintf(g->log[g->n_log++].text, sizeof g->log[0].text, "%s %s.%s %s %016llx", tenant, service, name, id,
             (unsigned long long)h);
    pthread_mutex_unlock(&g->mu);
}

int gen_send(gen *g, const char *tenant, const char *service, const char *name, ProtobufCMessage *msg,
             Atb__V1__CommandMeta *meta, const char *what, long n, const ProtobufCMessageDescriptor *reply_type,
             int expected, ProtobufCMessage **out)
{
    char id_name[200], id[37];
    snprintf(id_name, sizeof id_name, "%llu/%s/%s/%ld", (unsigned long long)g->seed, tenant, what, n);
    at_uuid_derive(GEN_NS, id_name, id);
    meta->command_id = id;
    meta->actor = (char *)g->c->actor;
    if (g->log_file)
        log_command(g, tenant, service, name, id, msg);
    *out = NULL;
    int rc = cli_call(g->c, "cmd", tenant, service, name, msg, reply_type, out);
    meta->command_id = NULL;   /* it pointed into this frame */
    int outcome = -1;
    bool duplicate = false;
    const char *why = "";
    if (rc == CLI_OK && *out) {
        /* Every reply has atb.v1.Error at field 1 (docs/events.md). */
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(reply_type, 1);
        const Atb__V1__Error *e = f ? *(Atb__V1__Error *const *)((const char *)*out + f->offset) : NULL;
        if (cli_refused(e)) {
            outcome = (int)e->code > 0 && (int)e->code <= (int)AT_UNKNOWN_COMMAND ? (int)e->code : (int)AT_INTERNAL;
            why = e->message ? e->message : "";
        } else {
            outcome = AT_OK;
            const ProtobufCFieldDescriptor *d = protobuf_c_message_descriptor_get_field_by_name(reply_type, "duplicate");
            duplicate = d && d->type == PROTOBUF_C_TYPE_BOOL && *(const protobuf_c_boolean *)((const char *)*out + d->offset);
        }
    }
    pthread_mutex_lock(&g->mu);
    g->t.sent++;
    int row = name_row(g, name);
    if (row >= 0)
        g->t.by_name[row].sent++;
    if (outcome < 0) {
        g->t.unanswered++;
    } else if (outcome == AT_OK) {
        g->t.done++;
        g->t.duplicate += duplicate;
    } else if (outcome == expected) {
        g->t.expected++;
    } else {
        g->t.refused[outcome]++;
        if (row >= 0 && g->t.by_name[row].refused++ == 0)
            snprintf(g->t.by_name[row].first, sizeof g->t.by_name[row].first, "%s: %s", at_code_name((at_code)outcome),
                     why);
    }
    pthread_mutex_unlock(&g->mu);
    return outcome;
}

int gen_cmd(gen *g, const char *tenant, const char *service, const char *name, ProtobufCMessage *msg,
            Atb__V1__CommandMeta *meta, const char *what, long n, char key[37])
{
    return gen_cmd_expect(g, tenant, service, name, msg, meta, what, n, -1, key);
}

int gen_cmd_expect(gen *g, const char *tenant, const char *service, const char *name, ProtobufCMessage *msg,
                   Atb__V1__CommandMeta *meta, const char *what, long n, int expected, char key[37])
{
    ProtobufCMessage *m = NULL;
    int outcome = gen_send(g, tenant, service, name, msg, meta, what, n, &atb__v1__command_reply__descriptor, expected,
                           &m);
    if (outcome == AT_OK && key) {
        const Atb__V1__CommandReply *r = (const Atb__V1__CommandReply *)m;
        snprintf(key, 37, "%s", r->key ? r->key : "");
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return outcome;
}

int gen_query(gen *g, const char *tenant, const char *service, const char *name, const ProtobufCMessage *msg,
              const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **out)
{
    *out = NULL;
    return cli_call(g->c, "qry", tenant, service, name, msg, reply_type, out);
}

void gen_tally_get(gen *g, gen_tally *t)
{
    pthread_mutex_lock(&g->mu);
    *t = g->t;
    t->elapsed = (double)(at_mono_ns() - g->t0) / 1e9;
    pthread_mutex_unlock(&g->mu);
}

/* ---- a small pool ------------------------------------------------------------------ */

typedef struct pool {
    void (*f)(void *, long);
    void *arg;
    long n, next;
    pthread_mutex_t mu;
} pool;

static void *pool_thread(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        long i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            return NULL;
        p->f(p->arg, i);
    }
}

void gen_parallel(int threads, long n, void (*f)(void *, long), void *arg)
{
    pool p = {.f = f, .arg = arg, .n = n};
    pthread_mutex_init(&p.mu, NULL);
    pthread_t th[256];
    int started = 0;
    for (int i = 0; i < threads && i < 256 && threads > 1; i++)
        if (pthread_create(&th[started], NULL, pool_thread, &p) == 0)
            started++;
    if (started == 0)
        pool_thread(&p);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.mu);
}
