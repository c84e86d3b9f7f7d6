/*
 * cli_audit.c -- atbalsts audit: re-derive decisions from the log alone and prove each.
 *
 * An auditor's tool, so it does not ask a service: it reads the log in PostgreSQL with a
 * read-only connection (--pg, ATB_PG_URL: any role that may read atb.events, such as the
 * auditor's), takes every decision event (category "decision") in the period, rebuilds it
 * from its recorded input with the rule set of its recorded version -- loaded from that
 * version's RuleSetPublished event in the log, never from today's files -- and compares
 * every step and the result (services/means/replay.c). A recalculation at a change of the
 * GMI level (DecisionOverridden of kind LEVEL_CHANGE) is a decision of the machine and is
 * proven the same way: re-decided from the grant's recorded input as the means service
 * did (one function, decision_redecide_at_level_change) with the rule-set version it
 * names, and compared in its input hash, steps and result. Such an event is rare, so it
 * costs one read of its stream; decisions without one take the path they always took. An
 * override by people (commission, appeal, correction) is counted, not replayed: it is a
 * decision of people, with who and why.
 *
 * Output: one line per mismatch (the application, the decision, where it differs, both
 * values) and a summary; with --json one object. A progress bar on stderr when stderr is a
 * terminal (decision events done of those in scope, the replay rate), redrawn at most ten
 * times a second; nothing at all when it is not a terminal (a pipe, a file, cron). Exit 0
 * when every decision is proven, 2 when any is not, 3 when the database cannot be read, 1
 * for a usage error.
 */
#include "cli.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "at_date.h"
#include "at_time.h"
#include "es.h"
#include "means_core.h"

#define AUDIT_BATCH 2000
#define AUDIT_MAX_JOBS 16

typedef struct audit_opts {
    const char *pg;
    const char *tenant;           /* NULL: every municipality */
    at_date from, to;             /* recorded in the log on these days (UTC); NONE: open */
    const char *application;      /* one application only */
    const char *household;        /* one household's decisions only */
    int jobs;                     /* replaying threads, 1..AUDIT_MAX_JOBS */
} audit_opts;

typedef struct audit_tally {
    long decisions, proven, mismatched, overridden, skipped;
    long recalculations, recalculations_proven, recalculations_mismatched;   /* LEVEL_CHANGE */
    int64_t last_position;
} audit_tally;

static void audit_usage(FILE *f)
{
    fprintf(f, "usage: atbalsts audit [--pg URL] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
               "                      [--application ID | --household KEY] [--all-tenants] [--jobs N]\n\n"
               "Re-derives every decision recorded in the period from the log alone, with the\n"
               "rule-set version each one names (loaded from the log), and proves it equal to\n"
               "what was decided, step by step; so is every recalculation at a change of the\n"
               "GMI level (an override of kind LEVEL_CHANGE), re-decided from the grant's\n"
               "recorded input. Overrides by people are counted, not replayed. Prints every\n"
               "mismatch with the differing step and both values, and a summary. Reads\n"
               "PostgreSQL directly, read-only.\n"
               "  --pg URL          the log's database (ATB_PG_URL); a role that may read atb.events\n"
               "  --from, --to      days the decisions were recorded (UTC), both inclusive\n"
               "  --application ID  the decisions of one application\n"
               "  --household KEY   the decisions of one household, its whole history\n"
               "  --all-tenants     every municipality (default: --tenant's)\n"
               "  --jobs N          replay on N threads (default: the CPUs online, at most 16);\n"
               "                    the output is the same for any N\n"
               "exit codes: 0 all proven, 2 a decision is not proven, 3 the database cannot be\n"
               "read, 1 usage error.\n");
}

/* The progress bar: decision events read of those in scope (tenant and days; an
 * --application or --household run reads them all too), and decisions replayed a second. */
typedef struct audit_progress {
    bool on;
    int64_t total;       /* decision events in scope; -1 when they could not be counted */
    int64_t done;
    int64_t t0, drawn;   /* at_mono_ns of the start and of the last drawing */
} audit_progress;

/* Count the decision events in scope with one query; -1 when the database will not say
 * (the bar then shows the count without a total). */
static int64_t count_in_scope(const audit_opts *o)
{
    PGconn *pg = PQconnectdb(o->pg);
    int64_t n = -1;
    if (PQstatus(pg) == CONNECTION_OK) {
        char from[16] = "", to[16] = "";
        if (o->from != AT_DATE_NONE)
            snprintf(from, sizeof from, "%lld", (long long)o->from);
        if (o->to != AT_DATE_NONE)
            snprintf(to, sizeof to, "%lld", (long long)o->to + 1);
        const char *params[3] = {o->tenant, from[0] ? from : NULL, to[0] ? to : NULL};
        /* days as at_date numbers: days since 1970-01-01, UTC like the replay's filter */
        PGresult *r = PQexecParams(pg,
                                   "SELECT count(*) FROM atb.events WHERE category = 'decision' "
                                   "AND type <> 'DecisionOverridden' AND ($1::text IS NULL OR tenant = $1) "
                                   "AND ($2::int IS NULL OR recorded_at >= 'epoch'::timestamptz + $2::int * interval '1 day') "
                                   "AND ($3::int IS NULL OR recorded_at < 'epoch'::timestamptz + $3::int * interval '1 day')",
                                   3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            n = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(pg);
    return n;
}

static void progress_draw(audit_progress *p, const audit_tally *t, bool last)
{
    int64_t now = at_mono_ns();
    if (!p->on || (!last && now - p->drawn < 100000000))
        return;
    p->drawn = now;
    double secs = (double)(now - p->t0) / 1e9;
    double rate = secs > 0 ? (double)t->decisions / secs : 0;
    char bar[31];
    int filled = p->total > 0 ? (int)(30 * (p->done < p->total ? p->done : p->total) / p->total) : 0;
    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[30] = '\0';
    if (p->total >= 0)
        fprintf(stderr, "\raudit [%s] %3d%% %lld/%lld decisions, %.0f/s, %ld not proven ", bar,
                p->total ? (int)(100 * (p->done < p->total ? p->done : p->total) / p->total) : 100,
                (long long)p->done, (long long)p->total, rate, t->mismatched);
    else
        fprintf(stderr, "\raudit %lld decisions, %.0f/s, %ld not proven ", (long long)p->done, rate, t->mismatched);
    if (last)
        fputc('\n', stderr);
}

/* Erase the bar before other output reaches the terminal; the next draw puts it back. */
static void progress_clear(audit_progress *p)
{
    if (!p->on)
        return;
    fputs("\r\033[K", stderr);
    p->drawn = 0;
}

/* Does the decision event belong to the household? Its recorded input says. */
static bool of_household(const es_event *ev, const char *household, at_arena *a)
{
    Atb__V1__StatusGranted *w = atb__v1__status_granted__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    return w && w->decision && w->decision->input && w->decision->input->household &&
           strcasecmp(w->decision->input->household->id, household) == 0;
}

static void print_mismatch(const cli *c, const es_event *ev, const Atb__V1__ReplayedDecision *d)
{
    const Atb__V1__ReplayMismatch *m = d->mismatch;
    if (c->json)
        return;
    printf("NOT PROVEN  %s %s %d (%s, position %lld)\n", ev->stream_id + 9,
           strcmp(ev->type, "DecisionOverridden") == 0 ? "recalculation of decision" : "decision", (int)d->ask_index,
           ev->type, (long long)ev->position);
    if (m) {
        printf("  where     %s%s%d%s%s\n", m->where, m->step ? " " : "", (int)m->step, m->label_en[0] ? " " : "",
               m->label_en);
        if (m->field[0])
            printf("  field     %s\n", m->field);
        printf("  recorded  %s\n  replayed  %s\n", m->recorded, m->replayed);
    }
}

/* The decision streams of the household seen so far (--household): few, so a list. */
typedef struct audit_streams {
    char **ids;
    size_t n, cap;
} audit_streams;

static bool streams_has(const audit_streams *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return true;
    return false;
}

/* false when out of memory */
static bool streams_add(audit_streams *s, const char *id)
{
    if (streams_has(s, id))
        return true;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **p = realloc(s->ids, cap * sizeof *p);
        if (!p)
            return false;
        s->ids = p;
        s->cap = cap;
    }
    if (!(s->ids[s->n] = strdup(id)))
        return false;
    s->n++;
    return true;
}

static void streams_free(audit_streams *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->ids);
}

/* The next batch, read on its own thread. */
typedef struct audit_reader {
    es_store *es;
    int64_t after;
    const es_filter *f;
    es_batch *out;
    es_status status;
    at_error err;
} audit_reader;

static void *reader_main(void *arg)
{
    audit_reader *r = arg;
    r->status = es_read_all(r->es, r->after, AUDIT_BATCH, r->f, &r->out, &r->err);
    return NULL;
}

/* ---- replaying a batch on several threads ---------------------------------------------
 *
 * Replaying is CPU work (the rules, the explanation text, hashing, comparing) and each
 * decision is independent, so a batch is split into contiguous parts, one per thread, while
 * the main thread reads the next batch. Results land in the batch's items and are reported
 * in log order after the join, so the output does not depend on the number of threads. */

typedef struct audit_item {
    const es_event *ev;
    bool recalculation;          /* a LEVEL_CHANGE override (replay_override) */
    bool proven;
    int32_t ask_index;
    bool has_mismatch;
    Atb__V1__ReplayMismatch m;   /* strings malloc'd (the worker's arena is reset per event) */
    at_code code;                /* AT_OK, or the replay could not run */
    char error[192];
} audit_item;

typedef struct audit_worker {
    pthread_t th;
    ruleset_cache *rc;
    es_store *es;
    at_arena *a;
    audit_item *items;
    size_t from, to;
} audit_worker;

static char *copy_text(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p) {
        fprintf(stderr, "atbalsts: audit: out of memory\n");
        exit(CLI_UNREACHABLE);
    }
    return p;
}

static void *worker_main(void *arg)
{
    audit_worker *w = arg;
    for (size_t i = w->from; i < w->to; i++) {
        audit_item *it = &w->items[i];
        at_arena_reset(w->a);
        Atb__V1__ReplayedDecision d;
        atb__v1__replayed_decision__init(&d);
        at_error err;
        it->code = it->recalculation ? replay_override(w->rc, w->es, it->ev, w->a, &d, &err)
                                     : replay_event(w->rc, w->es, it->ev, w->a, &d, &err);
        if (it->code != AT_OK) {
            snprintf(it->error, sizeof it->error, "%s", err.message);
            break;
        }
        it->proven = d.proven;
        it->ask_index = d.ask_index;
        if (!d.proven && d.mismatch) {
            const Atb__V1__ReplayMismatch *m = d.mismatch;
            atb__v1__replay_mismatch__init(&it->m);
            it->m.where = copy_text(m->where);
            it->m.step = m->step;
            it->m.label_lv = copy_text(m->label_lv);
            it->m.label_en = copy_text(m->label_en);
            it->m.field = copy_text(m->field);
            it->m.recorded = copy_text(m->recorded);
            it->m.replayed = copy_text(m->replayed);
            it->has_mismatch = true;
        }
    }
    return NULL;
}

static void item_free(audit_item *it)
{
    if (!it->has_mismatch)
        return;
    free(it->m.where);
    free(it->m.label_lv);
    free(it->m.label_en);
    free(it->m.field);
    free(it->m.recorded);
    free(it->m.replayed);
}

/* Replay items[0..n) on the workers (inline when the batch is small or there is one). */
static void replay_items(audit_worker *w, int jobs, audit_item *items, size_t n)
{
    if (jobs <= 1 || n < (size_t)jobs * 2) {
        w[0].items = items, w[0].from = 0, w[0].to = n;
        worker_main(&w[0]);
        return;
    }
    size_t part = (n + (size_t)jobs - 1) / (size_t)jobs;
    int started = 0;
    for (int j = 0; j < jobs; j++) {
        w[j].items = items;
        w[j].from = (size_t)j * part < n ? (size_t)j * part : n;
        w[j].to = w[j].from + part < n ? w[j].from + part : n;
        if (j > 0 && pthread_create(&w[j].th, NULL, worker_main, &w[j]) == 0)
            started |= 1 << j;
        else if (j > 0)
            worker_main(&w[j]);   /* no thread: do its part here */
    }
    worker_main(&w[0]);
    for (int j = 1; j < jobs; j++)
        if (started & (1 << j))
            pthread_join(w[j].th, NULL);
}

static int run(cli *c, const audit_opts *o, audit_tally *t, json_t *mismatches)
{
    es_config cfg = {.conninfo = o->pg, .pool_size = (size_t)o->jobs + 1, .application_name = "atbalsts-audit"};
    es_store *es = NULL;
    at_error err;
    if (es_open(&es, &cfg, &err) != ES_OK) {
        fprintf(stderr, "ERROR:  cannot read the log: %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        fprintf(stderr, "HINT:  Give the database with --pg or ATB_PG_URL.\n");
        return CLI_UNREACHABLE;
    }
    ruleset_cache *rc = NULL;
    if (ruleset_cache_open(NULL, &rc, &err) != AT_OK) {
        es_close(es);
        fprintf(stderr, "ERROR:  %s\n", err.message);
        return CLI_UNREACHABLE;
    }
    audit_progress pr = {.on = isatty(STDERR_FILENO) == 1, .t0 = at_mono_ns()};
    if (pr.on)
        pr.total = count_in_scope(o);
    static const char *const categories[] = {"decision"};
    es_filter f = {.tenant = o->tenant, .categories = categories, .n_categories = 1};
    at_arena *a = at_arena_new(256 * 1024);
    audit_worker w[AUDIT_MAX_JOBS];
    for (int j = 0; j < o->jobs; j++)
        w[j] = (audit_worker){.rc = rc, .es = es, .a = at_arena_new(256 * 1024)};
    audit_item *items = calloc(AUDIT_BATCH, sizeof *items);
    int rc_out = items ? CLI_OK : CLI_UNREACHABLE;
    int64_t after = 0, from_us = 0, to_us = INT64_MAX;
    if (o->from != AT_DATE_NONE)
        from_us = (int64_t)o->from * 86400LL * 1000000;
    if (o->to != AT_DATE_NONE)
        to_us = ((int64_t)o->to + 1) * 86400LL * 1000000;
    es_batch *b = NULL, *next = NULL;
    audit_streams hs = {0};
    if (rc_out == CLI_OK && es_read_all(es, after, AUDIT_BATCH, &f, &b, &err) != ES_OK) {
        fprintf(stderr, "ERROR:  cannot read the log: %s\n", err.message);
        rc_out = CLI_UNREACHABLE;
    }
    while (rc_out == CLI_OK) {
        size_t n = es_batch_count(b), k = 0;
        for (size_t i = 0; i < n; i++) {
            const es_event *ev = es_batch_get(b, i);
            after = ev->position;
            bool recalculation = false;
            if (strcmp(ev->type, "DecisionOverridden") == 0) {
                at_arena_reset(a);
                if (!replay_is_level_change(ev, a)) {
                    t->overridden++;
                    continue;
                }
                recalculation = true;
            }
            /* a recalculation belongs to the household of its decision, which comes before it
               in the log (also when that was recorded before --from) */
            if (o->household && !recalculation) {
                at_arena_reset(a);
                if (of_household(ev, o->household, a) && !streams_add(&hs, ev->stream_id)) {
                    fprintf(stderr, "ERROR:  out of memory\n");
                    rc_out = CLI_UNREACHABLE;
                    break;
                }
            }
            if (ev->recorded_at_us < from_us || ev->recorded_at_us >= to_us)
                continue;
            if (!recalculation)
                pr.done++;
            if (o->application && strcasecmp(ev->stream_id + 9, o->application) != 0)
                continue;
            if (o->household && !streams_has(&hs, ev->stream_id))
                continue;
            items[k++] = (audit_item){.ev = ev, .recalculation = recalculation};
        }
        /* the next batch is read while this one is replayed */
        bool more = n == AUDIT_BATCH;
        if (more && o->jobs > 1) {
            pthread_t reader;
            audit_reader rd = {.es = es, .after = after, .f = &f};
            bool threaded = pthread_create(&reader, NULL, reader_main, &rd) == 0;
            if (!threaded)
                reader_main(&rd);
            replay_items(w, o->jobs, items, k);
            if (threaded)
                pthread_join(reader, NULL);
            next = rd.out;
            if (rd.status != ES_OK) {
                fprintf(stderr, "ERROR:  cannot read the log: %s\n", rd.err.message);
                rc_out = CLI_UNREACHABLE;
            }
        } else {
            replay_items(w, o->jobs, items, k);
            if (more && es_read_all(es, after, AUDIT_BATCH, &f, &next, &err) != ES_OK) {
                fprintf(stderr, "ERROR:  cannot read the log: %s\n", err.message);
                rc_out = CLI_UNREACHABLE;
            }
        }
        for (size_t i = 0; i < k; i++) {
            audit_item *it = &items[i];
            const es_event *ev = it->ev;
            if (it->code != AT_OK) {
                progress_clear(&pr);
                fprintf(stderr, "ERROR:  cannot replay position %lld: %s\n", (long long)ev->position, it->error);
                rc_out = CLI_UNREACHABLE;
                break;
            }
            t->last_position = ev->position;
            if (it->recalculation) {
                t->recalculations++;
                t->recalculations_proven += it->proven;
                t->recalculations_mismatched += !it->proven;
            } else {
                t->decisions++;
                t->proven += it->proven;
                t->mismatched += !it->proven;
            }
            if (it->proven)
                continue;
            Atb__V1__ReplayedDecision d;
            atb__v1__replayed_decision__init(&d);
            d.ask_index = it->ask_index;
            d.mismatch = it->has_mismatch ? &it->m : NULL;
            if (!c->json)
                progress_clear(&pr);
            print_mismatch(c, ev, &d);
            if (mismatches && json_array_size(mismatches) < 1000) {
                const Atb__V1__ReplayMismatch *m = d.mismatch;
                json_array_append_new(
                    mismatches,
                    json_pack("{s:s, s:i, s:s, s:s, s:I, s:s, s:i, s:s, s:s, s:s}", "application", ev->stream_id + 9,
                              "ask_index", (int)d.ask_index, "kind", it->recalculation ? "recalculation" : "decision",
                              "type", ev->type, "position", (json_int_t)ev->position,
                              "where", m ? m->where : "", "step", m ? (int)m->step : 0, "field", m ? m->field : "",
                              "recorded", m ? m->recorded : "", "replayed", m ? m->replayed : ""));
            }
        }
        for (size_t i = 0; i < k; i++)
            item_free(&items[i]);
        es_batch_free(b);
        b = next;
        next = NULL;
        progress_draw(&pr, t, false);
        if (!more)
            break;
    }
    es_batch_free(b);
    streams_free(&hs);
    progress_draw(&pr, t, true);
    free(items);
    for (int j = 0; j < o->jobs; j++)
        at_arena_free(w[j].a);
    at_arena_free(a);
    ruleset_cache_free(rc);
    es_close(es);
    return rc_out;
}

int cli_audit(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"pg", required_argument, 0, 'p'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"application", required_argument, 0, 'a'},
                                         {"household", required_argument, 0, 'H'},
                                         {"all-tenants", no_argument, 0, 'A'},
                                         {"jobs", required_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    audit_opts o = {.pg = getenv("ATB_PG_URL"), .tenant = c->tenant, .from = AT_DATE_NONE, .to = AT_DATE_NONE,
                    .jobs = cpus < 1 ? 1 : cpus > AUDIT_MAX_JOBS ? AUDIT_MAX_JOBS : (int)cpus};
    at_error err;
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p': o.pg = optarg; break;
        case 'f':
        case 't':
            if (at_date_parse(optarg, opt == 'f' ? "--from" : "--to", opt == 'f' ? &o.from : &o.to, &err) != AT_OK) {
                fprintf(stderr, "atbalsts: audit: %s\n", err.message);
                return CLI_USAGE;
            }
            break;
        case 'a': o.application = optarg; break;
        case 'H': o.household = optarg; break;
        case 'A': o.tenant = NULL; break;
        case 'j': {
            char *end = NULL;
            long j = strtol(optarg, &end, 10);
            if (!*optarg || *end || j < 1 || j > AUDIT_MAX_JOBS) {
                fprintf(stderr, "atbalsts: audit: --jobs \"%s\": give a number from 1 to %d\n", optarg,
                        AUDIT_MAX_JOBS);
                return CLI_USAGE;
            }
            o.jobs = (int)j;
            break;
        }
        case 'h': audit_usage(stdout); return CLI_OK;
        default: audit_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc || (o.application && o.household) || !o.pg || !*o.pg) {
        fprintf(stderr, "atbalsts: audit: %s\n",
                !o.pg || !*o.pg ? "give the database with --pg URL or ATB_PG_URL"
                                : "give at most one of --application and --household, and no other words");
        audit_usage(stderr);
        return CLI_USAGE;
    }
    audit_tally t = {0};
    json_t *mismatches = c->json ? json_array() : NULL;
    int64_t t0 = at_mono_ns();
    int rc = run(c, &o, &t, mismatches);
    double secs = (double)(at_mono_ns() - t0) / 1e9;
    if (rc != CLI_OK) {
        json_decref(mismatches);
        return rc;
    }
    if (c->json) {
        cli_print_json(json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o}", "tenant", o.tenant,
                                 "decisions", (json_int_t)t.decisions, "proven", (json_int_t)t.proven,
                                 "not_proven", (json_int_t)t.mismatched, "recalculations",
                                 (json_int_t)t.recalculations, "recalculations_proven",
                                 (json_int_t)t.recalculations_proven, "recalculations_not_proven",
                                 (json_int_t)t.recalculations_mismatched, "overrides", (json_int_t)t.overridden,
                                 "seconds", secs, "mismatches", mismatches));
    } else {
        printf("audit (%s): %ld decisions replayed from the log, %ld proven, %ld NOT proven; "
               "recalculations at a GMI level change: %ld replayed, %ld proven, %ld NOT proven; %ld human "
               "overrides recorded (not replayed); %.1f s\n",
               o.tenant ? o.tenant : "every municipality", t.decisions, t.proven, t.mismatched, t.recalculations,
               t.recalculations_proven, t.recalculations_mismatched, t.overridden, secs);
    }
    return t.mismatched || t.recalculations_mismatched ? CLI_REFUSED : CLI_OK;
}
