/*
 * The C counterpart of bench/sync_bench.ts, compiled with cc -O2 by
 * scripts/bench.mjs. Same cases, same JSON lines:
 *
 *   ./sync_bench pair
 *   ./sync_bench count mutex|semaphore|named N
 *
 * The Mutex rows use what a C programmer would use for a process-shared,
 * robust, error-checking lock: a pthread_mutex_t with PTHREAD_PROCESS_SHARED,
 * PTHREAD_MUTEX_ROBUST and PTHREAD_MUTEX_ERRORCHECK.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct region {
  pthread_mutex_t mutex;
  sem_t semaphore;
  pthread_barrier_t start;
  int flag;
  int counter;
  double elapsed[2];
};

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static struct region *map_region(void) {
  struct region *r = mmap(0, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) { perror("mmap"); exit(2); }
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&r->mutex, &attr);
  sem_init(&r->semaphore, 1, 1);
  pthread_barrierattr_t battr;
  pthread_barrierattr_init(&battr);
  pthread_barrierattr_setpshared(&battr, PTHREAD_PROCESS_SHARED);
  pthread_barrier_init(&r->start, &battr, 2);
  return r;
}

static int lock(pthread_mutex_t *m) {
  int e = pthread_mutex_lock(m);
  if (e == EOWNERDEAD) e = pthread_mutex_consistent(m);
  return e;
}

#define PAIR(label, n, body)                                          \
  do {                                                                \
    double runs[5];                                                   \
    for (long i = 0; i < (n) / 10; i++) { body; }                     \
    for (int run = 0; run < 5; run++) {                               \
      double t0 = now_ms();                                           \
      for (long i = 0; i < (n); i++) { body; }                        \
      runs[run] = (now_ms() - t0) * 1e6 / (n);                        \
    }                                                                 \
    qsort(runs, 5, sizeof runs[0], compare);                          \
    printf("{\"case\":\"%s\",\"ns\":%.3f}\n", label, runs[2]);        \
  } while (0)

static void pairs(void) {
  struct region *r = map_region();
  char name[64];
  snprintf(name, sizeof name, "/shmkit-bench-c-%d", (int)getpid());
  sem_t *named = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
  if (named == SEM_FAILED) { perror("sem_open"); exit(2); }
  const long N = 20000000;
  PAIR("Mutex lock+unlock", N, { lock(&r->mutex); pthread_mutex_unlock(&r->mutex); });
  PAIR("Mutex tryLock+unlock", N, {
    pthread_mutex_trylock(&r->mutex);
    pthread_mutex_unlock(&r->mutex);
  });
  PAIR("Semaphore wait+post", N, { sem_wait(&r->semaphore); sem_post(&r->semaphore); });
  PAIR("Semaphore tryWait+post", N, { sem_trywait(&r->semaphore); sem_post(&r->semaphore); });
  PAIR("NamedSemaphore wait+post", N, { sem_wait(named); sem_post(named); });
  PAIR("Flag set+waitFor", N / 40, {
    __atomic_store_n(&r->flag, (int)(i & 1), __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &r->flag, FUTEX_WAKE, INT_MAX, 0, 0, 0);
    while (__atomic_load_n(&r->flag, __ATOMIC_SEQ_CST) != (int)(i & 1)) {}
  });
  sem_close(named);
  sem_unlink(name);
}

static void count(const char *primitive, long n) {
  struct region *r = map_region();
  char name[64];
  snprintf(name, sizeof name, "/shmkit-bench-c-count-%d", (int)getpid());
  sem_t *named = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
  if (named == SEM_FAILED) { perror("sem_open"); exit(2); }
  int kind = strcmp(primitive, "mutex") == 0 ? 0 : strcmp(primitive, "semaphore") == 0 ? 1 : 2;
  for (int index = 0; index < 2; index++) {
    if (fork() == 0) {
      volatile int *counter = &r->counter;
      pthread_barrier_wait(&r->start);
      double t0 = now_ms();
      for (long i = 0; i < n; i++) {
        if (kind == 0) {
          lock(&r->mutex);
          *counter += 1;
          pthread_mutex_unlock(&r->mutex);
        } else {
          sem_t *s = kind == 1 ? &r->semaphore : named;
          sem_wait(s);
          *counter += 1;
          sem_post(s);
        }
      }
      r->elapsed[index] = now_ms() - t0;
      _exit(0);
    }
  }
  while (wait(0) > 0) {}
  sem_close(named);
  sem_unlink(name);
  if (r->counter != 2 * n) { fprintf(stderr, "lost updates: %d\n", r->counter); exit(1); }
  double elapsed = r->elapsed[0] > r->elapsed[1] ? r->elapsed[0] : r->elapsed[1];
  printf("{\"case\":\"count %s\",\"perSecond\":%.0f}\n", primitive, 2 * n / (elapsed / 1e3));
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "count") == 0) {
    count(argc > 2 ? argv[2] : "mutex", argc > 3 ? atol(argv[3]) : 200000);
  } else {
    pairs();
  }
  return 0;
}
