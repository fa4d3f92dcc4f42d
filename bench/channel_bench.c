/*
 * The C reference for bench/channel_bench.ts, compiled with cc -O2 by
 * scripts/bench.mjs: memcpy bandwidth for 64 KiB messages in one process.
 *
 *   ./channel_bench
 *
 * "memcpy 64 KiB" copies 64 KiB blocks out of a 1 MiB ring (the Channel's
 * default capacity) into one 64 KiB buffer, block after block round the ring,
 * as a receiver's recvInto does; "memcpy 64 KiB hot" copies the same 64 KiB
 * block over and over (both sides stay in L2). Prints {"case",
 * "bytesPerSecond"} lines, each the median of 5 runs of about 200 ms.
 *
 * "ring N" is the least a channel between two processes does, in C: a
 * forked sender memcpys fixed N-byte messages into a 1 MiB shared ring and
 * publishes each with a release store of its tail; the receiver spins
 * (acquire loads, pause) for it and memcpys each message out, then
 * publishes its head. One sender, one receiver, no locks, no sleeping (so
 * it needs two idle CPUs); {"case", "bytesPerSecond", "perSecond"} from the
 * receiver over 400 ms after 200 ms of warm-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 65536
#define RING (1 << 20)

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double run(unsigned char *ring, size_t span, unsigned char *out) {
  double rates[5];
  for (int r = 0; r < 5; r++) {
    long copies = 0;
    size_t at = 0;
    double started = now_s(), elapsed;
    do {
      for (int i = 0; i < 256; i++) {
        memcpy(out, ring + at, BLOCK);
        __asm__ volatile("" : : "r"(out) : "memory");
        at = (at + BLOCK) % span;
      }
      copies += 256;
    } while ((elapsed = now_s() - started) < 0.2);
    rates[r] = copies * (double)BLOCK / elapsed;
  }
  qsort(rates, 5, sizeof rates[0], compare);
  return rates[2];
}

struct ring {
  _Alignas(64) unsigned long tail; /* bytes ever sent */
  _Alignas(64) unsigned long head; /* bytes ever taken */
  _Alignas(64) int stop;
  _Alignas(64) unsigned char data[RING];
};

static void c_ring(size_t size) {
  struct ring *r = mmap(0, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) { perror("mmap"); exit(2); }
  memset(r, 0, sizeof *r);
  pid_t child = fork();
  if (child == 0) { /* the sender */
    unsigned char *message = malloc(size);
    memset(message, 3, size);
    unsigned long tail = 0;
    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
      while (tail - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) > RING - size) {
        if (__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) _exit(0);
        __builtin_ia32_pause();
      }
      memcpy(r->data + tail % RING, message, size); /* RING is a multiple of size */
      tail += size;
      __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
    }
    _exit(0);
  }
  unsigned char *out = malloc(size);
  unsigned long head = 0, count = 0;
  double started = now_s(), warm_until = started + 0.2, window = 0;
  for (;;) {
    while (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == head) __builtin_ia32_pause();
    memcpy(out, r->data + head % RING, size);
    __asm__ volatile("" : : "r"(out) : "memory");
    head += size;
    __atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
    if (++count % 64 == 0) {
      double now = now_s();
      if (window == 0) {
        if (now >= warm_until) { window = now; count = 0; }
      } else if (now - window >= 0.4) {
        double per_second = count / (now - window);
        printf("{\"case\":\"ring %zu\",\"bytesPerSecond\":%.0f,\"perSecond\":%.0f}\n", size,
               per_second * size, per_second);
        break;
      }
    }
  }
  __atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
  waitpid(child, 0, 0);
  munmap(r, sizeof *r);
  free(out);
}

int main(void) {
  unsigned char *ring = malloc(RING), *out = malloc(BLOCK);
  if (!ring || !out) return 2;
  memset(ring, 1, RING);
  memset(out, 2, BLOCK);
  printf("{\"case\":\"memcpy 64 KiB\",\"bytesPerSecond\":%.0f}\n", run(ring, RING, out));
  printf("{\"case\":\"memcpy 64 KiB hot\",\"bytesPerSecond\":%.0f}\n", run(ring, BLOCK, out));
  fflush(stdout);
  c_ring(64);
  c_ring(4096);
  c_ring(BLOCK);
  return 0;
}
