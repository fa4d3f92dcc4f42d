/**
 * Wake-ups are wake-ups: the time from a `Flag.set()` or a semaphore post in
 * another process (Deno, Bun or C) to the return of this process's async wait
 * is measured over 20 hand-offs, and its median must be far below the slice
 * after which a waiter looks again on its own (50 ms for flags, 500 ms for
 * semaphores). Without the FUTEX_WAKE in `set()`, or without the waiter
 * registration in semaphore waits, the hand-offs fall back on those slices
 * and the median is tens or hundreds of milliseconds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Flag, Semaphore } from "../mod.ts";
import { monotonicMs } from "../sync/_time.ts";
import { assertSucceeded, compileC, MOD_URL, runCommand, runScript, RUNTIMES } from "./_helpers.ts";
import { withRegion } from "./_sync_helpers.ts";

const HANDOFFS = 20;
/** The bound on the median: a fifth of the flag's 50 ms re-check slice. */
const MEDIAN_BOUND_MS = 10;

// Layout: the flag being waited on, the waiter's acknowledgement, the time of
// the set/post (monotonic ms), and the semaphore.
const FLAG_AT = 0;
const ACK_AT = 4;
const STAMP_AT = 8;
const SEMAPHORE_AT = 64;

type Kind = "flag" | "semaphore";

const SETTER = `
import process from "node:process";
import { Flag, Semaphore, SharedMemory } from "$MOD";
import { monotonicMs } from "${new URL("./sync/_time.ts", MOD_URL).href}";
const [name, kind] = process.argv.slice(2);
using shm = SharedMemory.open(name);
const flag = Flag.attach(shm, ${FLAG_AT});
const ack = Flag.attach(shm, ${ACK_AT});
const sem = Semaphore.attach(shm, ${SEMAPHORE_AT});
const stamp = shm.view(Float64Array, ${STAMP_AT}, 1);
for (let i = 1; i <= ${HANDOFFS}; i++) {
  // Long enough that the waiter is asleep in the kernel, not still polling.
  await new Promise((resolve) => setTimeout(resolve, 3 + (i % 3)));
  stamp[0] = monotonicMs();
  if (kind === "flag") flag.set(i); else sem.post();
  if (!ack.waitFor(i, 10_000)) throw new Error("no acknowledgement of hand-off " + i);
}
`;

const C_SETTER = `
#include <fcntl.h>
#include <linux/futex.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* usage: prog NAME flag|semaphore: ${HANDOFFS} hand-offs, each stamped with
 * CLOCK_MONOTONIC in ms, then waits for the acknowledgement. */
int main(int argc, char **argv) {
  int fd = shm_open(argv[1], O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 2; }
  char *base = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) { perror("mmap"); return 2; }
  int *flag = (int *)(base + ${FLAG_AT}), *ack = (int *)(base + ${ACK_AT});
  double *stamp = (double *)(base + ${STAMP_AT});
  sem_t *sem = (sem_t *)(base + ${SEMAPHORE_AT});
  int isFlag = strcmp(argv[2], "flag") == 0;
  for (int i = 1; i <= ${HANDOFFS}; i++) {
    struct timespec pause = { 0, (3 + i % 3) * 1000 * 1000 }, now;
    nanosleep(&pause, 0);
    clock_gettime(CLOCK_MONOTONIC, &now);
    *stamp = now.tv_sec * 1e3 + now.tv_nsec / 1e6;
    if (isFlag) {
      __atomic_store_n(flag, i, __ATOMIC_SEQ_CST);
      syscall(SYS_futex, flag, FUTEX_WAKE, INT_MAX, 0, 0, 0);
    } else if (sem_post(sem) != 0) { perror("sem_post"); return 2; }
    int seen;
    while ((seen = __atomic_load_n(ack, __ATOMIC_SEQ_CST)) != i)
      syscall(SYS_futex, ack, FUTEX_WAIT, seen, 0, 0, 0);
  }
  return 0;
}
`;

let cSetter: Promise<string> | undefined;

async function handoffLatencies(setter: "deno" | "bun" | "c", kind: Kind): Promise<number[]> {
  return await withRegion("wakeup", async (shm, name) => {
    const flag = Flag.init(shm, FLAG_AT, 0);
    const ack = Flag.init(shm, ACK_AT, 0);
    const sem = Semaphore.init(shm, SEMAPHORE_AT, 0);
    const stamp = shm.view(Float64Array, STAMP_AT, 1);
    const child = setter === "c"
      ? runCommand(await (cSetter ??= compileC(C_SETTER, "wakeup-setter")), [name, kind])
      : runScript(setter, SETTER, { args: [name, kind] });
    const latencies: number[] = [];
    for (let i = 1; i <= HANDOFFS; i++) {
      if (kind === "flag") await flag.waitForAsync(i, { timeout: 10_000 });
      else await sem.waitAsync({ timeout: 10_000 });
      latencies.push(monotonicMs() - stamp[0]);
      ack.set(i);
    }
    assertSucceeded(await child, `${setter} setter`);
    return latencies;
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

for (const setter of [...RUNTIMES, "c"] as const) {
  for (const kind of ["flag", "semaphore"] as const) {
    const call = kind === "flag" ? "Flag.set()" : "a post";
    test(`${call} from ${setter === "c" ? "C" : `a ${setter} process`} wakes an async wait at once (median of ${HANDOFFS} < ${MEDIAN_BOUND_MS} ms)`, async () => {
      const latencies = await handoffLatencies(setter, kind);
      const m = median(latencies);
      assert.ok(
        m < MEDIAN_BOUND_MS,
        `median ${m.toFixed(2)} ms; all: ${latencies.map((l) => l.toFixed(1)).join(" ")}`,
      );
    });
  }
}
