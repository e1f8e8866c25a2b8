// A small pool of worker threads for the compute core's parallel loops (Swift `Parallel.forEachChunk`), built for
// many short jobs in a row: a decoding step runs ~200 parallel loops of 0.05–1 ms each. After a job its workers keep
// polling for the next one for a configurable time before they sleep on a futex, so that the next job starts on
// them within a microsecond instead of after a wake-up (tens of microseconds on a virtual machine, where waking an
// idle virtual CPU is a VM exit). One caller at a time: a second caller, or a job started from inside a job, is
// refused (the caller then runs its loop another way). Linux only; elsewhere every call is refused.
#ifndef INDEXTTS_POOL_H
#define INDEXTTS_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

/// One chunk of a job: called once for every chunk index in [0, chunks), on the calling thread or a worker.
typedef void (*indextts_pool_body)(void *context, long chunk);

/// Starts `workers` worker threads (at most 255) that poll for `spin_ns` nanoseconds after each job before sleeping.
/// Only the first call that starts threads counts; returns the number of workers running (0: none, every run is
/// refused).
int indextts_pool_start(int workers, long spin_ns);

/// The most chunks one job may have.
#define INDEXTTS_POOL_MAX_CHUNKS 4096

/// Runs `body(context, c)` for every c in [0, chunks) on the calling thread and the workers, and returns 0 when all
/// have returned; each thread claims the next unclaimed chunk when it finishes one (chunks may outnumber threads).
/// Returns -1 at once, without calling `body`, when the pool cannot take the job: no workers, `chunks` < 2 or more
/// than `INDEXTTS_POOL_MAX_CHUNKS`, another thread's job in progress, or called from inside a job's body.
int indextts_pool_run(long chunks, indextts_pool_body body, void *context);

/// CPUs this process may use: online CPUs, fewer when its affinity mask or a cgroup v2 CPU quota
/// (/sys/fs/cgroup/cpu.max, rounded up) allows fewer. At least 1.
int indextts_pool_usable_cpus(void);

/// Jobs the pool ran, and jobs in which a worker had to be woken from sleep (for tests and diagnostics).
unsigned long indextts_pool_jobs(void);
unsigned long indextts_pool_wakeups(void);

#ifdef __cplusplus
}
#endif

#endif
