/*
 * fault.c -- fault points: named places where a test can make the process die as a crash
 * would (_exit(99), no cleanup, no flush), so crash recovery can be tested repeatably.
 *
 * Invariants: n_armed is 0 unless a point is armed, so an unarmed es_fault_point() is one
 * relaxed atomic load and a compare. Names are kept in a fixed table under a mutex; a
 * point that fires takes the mutex only on the slow path.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_int.h"

#define MAX_ARMED 16
#define MAX_NAME 64

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static char armed[MAX_ARMED][MAX_NAME];
static int n_armed;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

void es_fault_arm(const char *name)
{
    if (!name || !*name || strlen(name) >= MAX_NAME)
        return;
    pthread_mutex_lock(&fault_mu);
    bool have = false;
    for (int i = 0; i < n_armed; i++)
        if (strcmp(armed[i], name) == 0)
            have = true;
    if (!have && n_armed < MAX_ARMED) {
        strcpy(armed[n_armed], name);
        __atomic_store_n(&n_armed, n_armed + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&fault_mu);
}

void es_fault_disarm(const char *name)
{
    pthread_mutex_lock(&fault_mu);
    int n = n_armed;
    for (int i = 0; i < n;) {
        if (!name || strcmp(armed[i], name) == 0) {
            memcpy(armed[i], armed[n - 1], MAX_NAME);
            n--;
        } else {
            i++;
        }
    }
    __atomic_store_n(&n_armed, n, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&fault_mu);
}

void es_fault_point(const char *name)
{
    if (__atomic_load_n(&n_armed, __ATOMIC_RELAXED) == 0)
        return;
    if (!name)
        return;
    bool hit = false;
    pthread_mutex_lock(&fault_mu);
    for (int i = 0; i < n_armed; i++)
        if (strcmp(armed[i], name) == 0)
            hit = true;
    pthread_mutex_unlock(&fault_mu);
    if (hit)
        _exit(99);
}

static void arm_from_env(void)
{
    const char *v = getenv("ATB_FAULT");
    if (!v || !*v)
        return;
    char buf[MAX_ARMED * MAX_NAME];
    size_t len = strlen(v);
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
        es_fault_arm(tok);
}

void es__fault_init_env(void)
{
    pthread_once(&env_once, arm_from_env);
}
