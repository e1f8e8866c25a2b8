// The compute core's worker pool (indextts_pool.h). A job is published by storing a new `ticket` (generation << 32 |
// chunk count << 16 | index of the next unclaimed chunk); the caller and the workers claim chunks by incrementing
// its low bits with a compare-and-swap of the whole word, so that the generation and the count a claim checks are
// those of the job it claims from: a worker that saw an old job can never run a chunk of a newer one, nor one past
// its end. A job may have more chunks than threads: each thread claims the next chunk as it finishes one, so a
// thread that starts late (a worker waking up) or runs slow takes fewer. `job_done` counts finished chunks; the
// caller returns when it reaches the count.
// Workers poll `ticket` for `spin_limit_ns` after a job (a few microseconds of pause loops, then sched_yield between
// looks), then sleep on the futex word `wake_word`; the caller bumps and wakes it only when some worker counts itself
// in `sleepers` (sequentially consistent store-then-load on both sides, so that either the caller sees the sleeper or
// the sleeper sees the new job).
#define _GNU_SOURCE
#include "indextts_pool.h"

#if defined(__linux__)
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t ticket;
static _Atomic(indextts_pool_body) job_body;
static _Atomic(void *) job_context;
static _Atomic long job_done;
static atomic_flag busy = ATOMIC_FLAG_INIT;
static _Atomic uint32_t wake_word;
static _Atomic int sleepers;
static _Atomic int started;
static _Atomic unsigned long jobs_run, jobs_woken;
static long spin_limit_ns;
static uint32_t generation;  // written only by the thread that holds `busy`
static _Thread_local int inside_job;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

_Static_assert(INDEXTTS_POOL_MAX_CHUNKS < 1 << 16, "a chunk count and index fit in 16 bits of the ticket");

static inline uint32_t generation_of(uint64_t t) { return (uint32_t)(t >> 32); }
static inline long count_of(uint64_t t) { return (long)((t >> 16) & 0xFFFF); }
static inline long next_of(uint64_t t) { return (long)(t & 0xFFFF); }

/// Claims and runs chunks of job `gen` until none is left or a newer job has replaced it.
static void run_chunks(uint32_t gen) {
    for (;;) {
        uint64_t t = atomic_load(&ticket);
        if (generation_of(t) != gen) return;
        const long next = next_of(t);
        if (next >= count_of(t)) return;
        if (!atomic_compare_exchange_weak(&ticket, &t, t + 1)) continue;
        // Chunk `next` of the job published as `t` is ours, and that job's caller waits until it is counted as done:
        // its body and context cannot change before then.
        indextts_pool_body body = atomic_load_explicit(&job_body, memory_order_relaxed);
        void *context = atomic_load_explicit(&job_context, memory_order_relaxed);
        body(context, next);
        atomic_fetch_add_explicit(&job_done, 1, memory_order_release);
    }
}

static void *worker_main(void *argument) {
    (void)argument;
    inside_job = 1;  // a job started from a body runs another way
    uint32_t seen = generation_of(atomic_load(&ticket));
    for (;;) {
        uint32_t gen = generation_of(atomic_load(&ticket));
        if (gen != seen) {
            seen = gen;
            run_chunks(gen);
            continue;
        }
        // Poll: a few microseconds of pause loops, then sched_yield between looks, so that a thread that has work
        // on this core (an OpenBLAS or OpenMP worker between our jobs) gets it while we wait.
        long start = now_ns();
        int found = 0;
        for (unsigned i = 1;; i++) {
            if (i < 256) relax(); else sched_yield();
            if (generation_of(atomic_load_explicit(&ticket, memory_order_relaxed)) != seen) {
                found = 1;
                break;
            }
            if ((i >= 256 || (i & 63) == 0) && now_ns() - start >= spin_limit_ns) break;
        }
        if (found) continue;
        uint32_t word = atomic_load(&wake_word);
        atomic_fetch_add(&sleepers, 1);
        if (generation_of(atomic_load(&ticket)) == seen)
            syscall(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, word, NULL, NULL, 0);
        atomic_fetch_sub(&sleepers, 1);
    }
    return NULL;
}

int indextts_pool_start(int workers, long spin_ns) {
    pthread_mutex_lock(&start_lock);
    int running = atomic_load(&started);
    if (running == 0 && workers > 0) {
        spin_limit_ns = spin_ns < 0 ? 0 : spin_ns;
        if (workers > 255) workers = 255;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        for (int i = 0; i < workers; i++) {
            pthread_t thread;
            if (pthread_create(&thread, &attributes, worker_main, NULL) != 0) break;
            running++;
        }
        pthread_attr_destroy(&attributes);
        atomic_store_explicit(&started, running, memory_order_release);
    }
    pthread_mutex_unlock(&start_lock);
    return running;
}

int indextts_pool_run(long chunks, indextts_pool_body body, void *context) {
    int workers = atomic_load_explicit(&started, memory_order_acquire);
    if (workers == 0 || chunks < 2 || chunks > INDEXTTS_POOL_MAX_CHUNKS || inside_job || body == NULL) return -1;
    if (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) return -1;
    atomic_store_explicit(&job_body, body, memory_order_relaxed);
    atomic_store_explicit(&job_context, context, memory_order_relaxed);
    atomic_store_explicit(&job_done, 0, memory_order_relaxed);
    generation += 1;
    atomic_store(&ticket, (uint64_t)generation << 32 | (uint64_t)chunks << 16);
    if (atomic_load(&sleepers) > 0) {
        atomic_fetch_add(&wake_word, 1);
        // Only as many as can take a chunk besides the caller (the others stay asleep).
        syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, (int)(chunks - 1), NULL, NULL, 0);
        atomic_fetch_add_explicit(&jobs_woken, 1, memory_order_relaxed);
    }
    inside_job = 1;
    run_chunks(generation);
    inside_job = 0;
    // The rest are running on workers: wait, giving the core away now and then in case one was descheduled.
    for (unsigned i = 1; atomic_load_explicit(&job_done, memory_order_acquire) < chunks; i++) {
        relax();
        if ((i & 1023) == 0) sched_yield();
    }
    atomic_fetch_add_explicit(&jobs_run, 1, memory_order_relaxed);
    atomic_flag_clear_explicit(&busy, memory_order_release);
    return 0;
}

int indextts_pool_usable_cpus(void) {
    int count = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (count < 1) count = 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int allowed = CPU_COUNT(&set);
        if (allowed >= 1 && allowed < count) count = allowed;
    }
    // cgroup v2 CPU quota ("max 100000" or "<quota> <period>"): a container limited to N CPUs' time.
    FILE *file = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (file) {
        char quota[32] = {0};
        long period = 0;
        if (fscanf(file, "%31s %ld", quota, &period) == 2 && period > 0 && quota[0] >= '0' && quota[0] <= '9') {
            long limit = (atol(quota) + period - 1) / period;
            if (limit >= 1 && limit < count) count = (int)limit;
        }
        fclose(file);
    }
    return count;
}

unsigned long indextts_pool_jobs(void) { return atomic_load(&jobs_run); }
unsigned long indextts_pool_wakeups(void) { return atomic_load(&jobs_woken); }

#else

int indextts_pool_start(int workers, long spin_ns) {
    (void)workers;
    (void)spin_ns;
    return 0;
}
int indextts_pool_run(long chunks, indextts_pool_body body, void *context) {
    (void)chunks;
    (void)body;
    (void)context;
    return -1;
}
int indextts_pool_usable_cpus(void) { return 1; }
unsigned long indextts_pool_jobs(void) { return 0; }
unsigned long indextts_pool_wakeups(void) { return 0; }

#endif
