/*
 * test_tailing.c -- the gap problem (Marten, Axon) does not exist here: a reader that
 * tails the log with es_read_all(after = last) sees every committed event exactly once,
 * in position order without holes, and never an event that was rolled back, while many
 * writers append at once, some in transactions that sleep before committing while they
 * hold their positions, some of which roll back.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { WRITERS = 10, ITERATIONS = 30, MAX_EVENTS = 3 };
enum { NONE = 0, COMMITTED = 1, ROLLED_BACK = 2 };

#define SLOT(w, it, k) (((w) * ITERATIONS + (it)) * MAX_EVENTS + (k))
#define N_SLOTS (WRITERS * ITERATIONS * MAX_EVENTS)

static int fate[N_SLOTS];          /* written by the writer owning the slot */
static int seen[N_SLOTS];          /* written by the reader */
static volatile int writers_left;
static char category[32];

struct writer {
    es_store *es;
    int id;
    unsigned seed;
    int failures;
};

static int rnd(struct writer *w, int n)
{
    return (int)(rand_r(&w->seed) % (unsigned)n);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char stream[64];
    snprintf(stream, sizeof stream, "%s-w%d", category, w->id);
    int64_t version = 0;
    for (int it = 0; it < ITERATIONS; it++) {
        int n = 1 + rnd(w, MAX_EVENTS);
        char payloads[MAX_EVENTS][16];
        es_event_in evs[MAX_EVENTS];
        for (int k = 0; k < n; k++) {
            snprintf(payloads[k], sizeof payloads[k], "%d", SLOT(w->id, it, k));
            evs[k] = h_event("Tailed", payloads[k], strlen(payloads[k]));
        }
        es_append_req req = {.tenant = "demo", .stream_id = stream, .expected_version = version,
                             .events = evs, .n_events = (size_t)n};
        es_append_res res;
        at_error err;
        if (w->id % 2 == 0) {
            /* Through the group committer. */
            if (es_append(w->es, &req, &res, &err) != ES_OK) {
                w->failures++;
                continue;
            }
            for (int k = 0; k < n; k++)
                fate[SLOT(w->id, it, k)] = COMMITTED;
            version = res.version;
            continue;
        }
        /* In a transaction that works a while, appends, then holds its positions (and the
         * head lock) for up to 15 ms before it commits or rolls back. */
        es_txn *t;
        if (es_txn_begin(w->es, &t, &err) != ES_OK) {
            w->failures++;
            continue;
        }
        usleep((useconds_t)rnd(w, 3000));
        if (es_txn_append(t, &req, &res, &err) != ES_OK) {
            es_txn_rollback(t);
            w->failures++;
            continue;
        }
        usleep((useconds_t)rnd(w, 15000));
        if (it % 4 == 3) {
            es_txn_rollback(t);
            for (int k = 0; k < n; k++)
                fate[SLOT(w->id, it, k)] = ROLLED_BACK;
            continue;
        }
        if (es_txn_commit(t, &err) != ES_OK) {
            w->failures++;
            continue;
        }
        for (int k = 0; k < n; k++)
            fate[SLOT(w->id, it, k)] = COMMITTED;
        version = res.version;
    }
    __atomic_sub_fetch(&writers_left, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void tailing_reader_sees_every_committed_event_once_in_order(void **state)
{
    (void)state;
    char u[37];
    h_uuid(u);
    snprintf(category, sizeof category, "tail%.8s", u);
    es_store *wes = h_open("atb_intake", WRITERS);
    es_store *res = h_open("atb_relay", 1);
    at_error err;
    int64_t last = 0;
    assert_int_equal(es_head(res, &last, &err), ES_OK);
    int64_t first = last;

    writers_left = WRITERS;
    struct writer w[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){.es = wes, .id = i, .seed = 7919u * (unsigned)(i + 1)};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }

    size_t reads = 0, events = 0;
    for (;;) {
        bool done = __atomic_load_n(&writers_left, __ATOMIC_SEQ_CST) == 0;
        int64_t head_before = 0;
        if (done)
            assert_int_equal(es_head(res, &head_before, &err), ES_OK);
        es_batch *b;
        assert_int_equal(es_read_all(res, last, 7, NULL, &b, &err), ES_OK);
        reads++;
        for (size_t i = 0; i < es_batch_count(b); i++) {
            const es_event *e = es_batch_get(b, i);
            /* Gapless and strictly increasing: nothing is ever skipped. */
            assert_int_equal(e->position, last + 1);
            last = e->position;
            char buf[16] = {0};
            assert_true(e->payload_len < sizeof buf);
            memcpy(buf, e->payload, e->payload_len);
            int slot = atoi(buf);
            assert_true(slot >= 0 && slot < N_SLOTS);
            seen[slot]++;
            events++;
        }
        size_t got = es_batch_count(b);
        es_batch_free(b);
        if (done && got == 0 && last == head_before)
            break;
        if (got == 0)
            es_wait(res, last, 50, NULL, &err);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }

    int committed = 0, rolled_back = 0;
    for (int s = 0; s < N_SLOTS; s++) {
        if (fate[s] == COMMITTED) {
            committed++;
            assert_int_equal(seen[s], 1);
        } else {
            if (fate[s] == ROLLED_BACK)
                rolled_back++;
            assert_int_equal(seen[s], 0);
        }
    }
    assert_true(rolled_back > 0);
    assert_int_equal((int64_t)events, last - first);
    assert_int_equal(events, (size_t)committed);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE category = '%s'", category),
                     committed);
    print_message("tailing: %d events committed, %d rolled back, %zu reads\n", committed,
                  rolled_back, reads);
    es_close(res);
    es_close(wes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tailing_reader_sees_every_committed_event_once_in_order),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
