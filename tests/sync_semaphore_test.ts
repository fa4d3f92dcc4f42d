/**
 * Semaphore (a sem_t in any region) and NamedSemaphore (sem_open): blocking,
 * timed and async waits, no lost post on abort or timeout, C interop, names
 * and permissions, and errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import process from "node:process";
import {
  ClosedError,
  ErrnoError,
  Flag,
  IPC_PRIVATE,
  MappedFile,
  NamedSemaphore,
  Semaphore,
  SharedMemory,
  SysVSharedMemory,
} from "../mod.ts";
import {
  assertSucceeded,
  compileC,
  CURRENT,
  runCommand,
  runScript,
  scratchPath,
  uniqueName,
} from "./_helpers.ts";
import { delay, otherRuntime, withRegion } from "./_sync_helpers.ts";

/** Runs `body` with a fresh named semaphore, always closed and unlinked. */
async function withNamed<T>(
  value: number,
  body: (sem: NamedSemaphore, name: string) => T | Promise<T>,
): Promise<T> {
  const name = uniqueName("nsem");
  const sem = NamedSemaphore.create(name, value);
  try {
    return await body(sem, name);
  } finally {
    sem.close();
    try {
      NamedSemaphore.unlink(name);
    } catch {
      // the test unlinked it
    }
  }
}

/** Both kinds, so that each behaviour is checked on each. */
const KINDS = [
  {
    kind: "Semaphore",
    with: <T>(value: number, body: (sem: Semaphore | NamedSemaphore) => Promise<T>) =>
      withRegion("sem", (shm) => body(Semaphore.init(shm, 0, value))),
  },
  {
    kind: "NamedSemaphore",
    with: <T>(value: number, body: (sem: Semaphore | NamedSemaphore) => Promise<T>) =>
      withNamed(value, (sem) => body(sem)),
  },
];

for (const { kind, with: withSemaphore } of KINDS) {
  test(`${kind}: wait/tryWait/post/value count units`, async () => {
    await withSemaphore(2, async (sem) => {
      assert.equal(sem.value, 2);
      sem.wait();
      assert.equal(sem.tryWait(), true);
      assert.equal(sem.tryWait(), false);
      assert.equal(sem.value, 0);
      sem.post();
      sem.post();
      assert.equal(sem.value, 2);
      assert.equal(sem.tryWait(Infinity), true);
      await sem.waitAsync();
      assert.equal(sem.value, 0);
    });
  });

  test(`${kind}: tryWait(ms) and waitAsync({ timeout }) end no earlier than asked`, async () => {
    await withSemaphore(0, async (sem) => {
      for (const timeout of [1, 25, 120]) {
        let started = performance.now();
        assert.equal(sem.tryWait(timeout), false);
        let took = performance.now() - started;
        assert.ok(took >= timeout, `tryWait(${timeout}) returned after ${took} ms`);
        assert.ok(took < timeout + 250, `tryWait(${timeout}) took ${took} ms`);
        started = performance.now();
        await assert.rejects(sem.waitAsync({ timeout }), (error: DOMException) => {
          assert.ok(error instanceof DOMException);
          assert.equal(error.name, "TimeoutError");
          return true;
        });
        took = performance.now() - started;
        assert.ok(took >= timeout, `waitAsync(${timeout}) rejected after ${took} ms`);
        assert.ok(took < timeout + 250, `waitAsync(${timeout}) took ${took} ms`);
      }
      await assert.rejects(sem.waitAsync({ timeout: 0 }), { name: "TimeoutError" });
      assert.equal(sem.value, 0);
    });
  });

  test(`${kind}: an aborted waitAsync rejects with AbortError and a later post() is still received`, async () => {
    await withSemaphore(0, async (sem) => {
      const controller = new AbortController();
      const aborted = sem.waitAsync({ signal: controller.signal });
      const patient = sem.waitAsync({ timeout: 10_000 });
      await delay(30);
      controller.abort();
      await assert.rejects(aborted, (error: DOMException) => {
        assert.equal(error.name, "AbortError");
        return true;
      });
      sem.post();
      await patient; // the unit went to the waiter still waiting
      assert.equal(sem.value, 0);
      // With nobody waiting, the post stays for the next taker.
      const again = new AbortController();
      const gone = sem.waitAsync({ signal: again.signal });
      again.abort();
      await assert.rejects(gone, { name: "AbortError" });
      sem.post();
      assert.equal(sem.value, 1);
      assert.equal(sem.tryWait(), true);
    });
  });

  test(`${kind}: an abort or timeout racing with post() never loses the unit`, async () => {
    await withSemaphore(0, async (sem) => {
      let received = 0;
      let withdrawn = 0;
      const rounds = 60;
      for (let i = 0; i < rounds; i++) {
        const controller = new AbortController();
        const outcome = sem.waitAsync({
          signal: controller.signal,
          timeout: i % 3 === 0 ? 3 : Infinity,
        }).then(() => "got", (error: DOMException) => error.name);
        const postAfter = i % 7;
        const abortAfter = (i * 3) % 7;
        setTimeout(() => sem.post(), postAfter);
        setTimeout(() => controller.abort(), abortAfter);
        const result = await outcome;
        await delay(8); // both timers have run
        if (result === "got") {
          received += 1;
          assert.equal(sem.value, 0, `round ${i}: got a unit yet one is left`);
        } else {
          assert.ok(result === "AbortError" || result === "TimeoutError", result);
          assert.equal(sem.value, 1, `round ${i}: ${result} lost the posted unit`);
          assert.equal(sem.tryWait(), true);
          withdrawn += 1;
        }
      }
      // Both races were run: some waits won the unit, some gave up first.
      assert.ok(received > 0, `no wait received its unit in ${rounds} rounds`);
      assert.ok(withdrawn > 0, `no wait was aborted or timed out in ${rounds} rounds`);
    });
  });

  test(`${kind}: an already aborted signal rejects at once; a reason that is no DOMException becomes the cause of an AbortError`, async () => {
    await withSemaphore(1, async (sem) => {
      await assert.rejects(sem.waitAsync({ signal: AbortSignal.abort() }), { name: "AbortError" });
      const controller = new AbortController();
      controller.abort("shutting down");
      await assert.rejects(sem.waitAsync({ signal: controller.signal }), (error: Error) => {
        assert.equal(error.name, "AbortError");
        assert.equal(error.cause, "shutting down");
        return true;
      });
      assert.equal(sem.value, 1, "an aborted wait takes nothing, even when a unit is free");
      sem.wait();
      // AbortSignal.timeout() aborts with a TimeoutError, as fetch() reports it.
      await assert.rejects(sem.waitAsync({ signal: AbortSignal.timeout(20) }), {
        name: "TimeoutError",
      });
      sem.post();
    });
  });

  test(`${kind}: bad arguments are refused with TypeError/RangeError`, async () => {
    await withSemaphore(0, async (sem) => {
      assert.throws(() => sem.tryWait(-1), RangeError);
      assert.throws(() => sem.tryWait(Number.NaN), RangeError);
      assert.throws(() => sem.tryWait("5" as unknown as number), TypeError);
      await assert.rejects(sem.waitAsync({ timeout: -5 }), RangeError);
      await assert.rejects(
        sem.waitAsync({ signal: {} as AbortSignal }),
        TypeError,
      );
      await assert.rejects(sem.waitAsync(42 as unknown as undefined), TypeError);
      // null is no number of milliseconds (it used to mean "wait forever").
      await assert.rejects(
        sem.waitAsync({ timeout: null as unknown as number, signal: AbortSignal.timeout(200) }),
        (error: Error) => error instanceof TypeError && /options\.timeout/.test(error.message),
      );
      await assert.rejects(
        sem.waitAsync({ signal: null as unknown as AbortSignal }),
        (error: Error) => error instanceof TypeError && /options\.signal/.test(error.message),
      );
    });
  });
}

test("Semaphore: a process of the other runtime posts, this one's waitAsync wakes", async () => {
  await withRegion("sem-cross", async (shm, name) => {
    const sem = Semaphore.init(shm, 0, 0);
    const done = Semaphore.init(shm, 32, 0);
    const child = runScript(
      otherRuntime(CURRENT),
      `
      import process from "node:process";
      import { Semaphore, SharedMemory } from "$MOD";
      const shm = SharedMemory.open(process.argv[2]);
      const sem = Semaphore.attach(shm, 0);
      const done = Semaphore.attach(shm, 32);
      for (let i = 0; i < 50; i++) {
        sem.post();
        await done.waitAsync({ timeout: 10000 });
      }
      `,
      { args: [name] },
    );
    for (let i = 0; i < 50; i++) {
      await sem.waitAsync({ timeout: 10_000 });
      done.post();
    }
    assertSucceeded(await child);
  });
});

const C_SEMAPHORE = `
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* usage: prog NAME MODE N
 *   count: bump ready (+68), sleep until go (+72, a Flag) is 1, then
 *          N times sem_wait, counter (+64) += 1 (slowly), sem_post
 *   count-unlocked: the same without the semaphore
 *   post:  N times: sleep 20 ms, sem_post
 *   wait:  N times sem_wait
 *   init:  sem_init(pshared=1, value N) at offset 0 */
int main(int argc, char **argv) {
  int fd = shm_open(argv[1], O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 2; }
  char *base = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) { perror("mmap"); return 2; }
  sem_t *sem = (sem_t *)base;
  volatile int *counter = (volatile int *)(base + 64);
  int *ready = (int *)(base + 68), *go = (int *)(base + 72);
  int n = atoi(argv[3]);
  int locked = strcmp(argv[2], "count") == 0;
  if (strcmp(argv[2], "init") == 0) {
    if (sem_init(sem, 1, n) != 0) { perror("sem_init"); return 2; }
  } else if (locked || strcmp(argv[2], "count-unlocked") == 0) {
    __atomic_add_fetch(ready, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(go, __ATOMIC_SEQ_CST) == 0)
      syscall(SYS_futex, go, FUTEX_WAIT, 0, NULL, NULL, 0);
    for (int i = 0; i < n; i++) {
      if (locked && sem_wait(sem) != 0) { perror("sem_wait"); return 2; }
      int seen = *counter;
      for (volatile int k = 0; k < 200; k++) {}
      *counter = seen + 1;
      if (locked) sem_post(sem);
    }
  } else if (strcmp(argv[2], "post") == 0) {
    for (int i = 0; i < n; i++) {
      struct timespec pause = { 0, 20 * 1000 * 1000 };
      nanosleep(&pause, 0);
      sem_post(sem);
    }
  } else if (strcmp(argv[2], "wait") == 0) {
    for (int i = 0; i < n; i++) if (sem_wait(sem) != 0) { perror("sem_wait"); return 2; }
  }
  printf("ok\\n");
  return 0;
}
`;

let cProgram: Promise<string> | undefined;
const semaphoreProgram = () => (cProgram ??= compileC(C_SEMAPHORE, "sem-interop"));

/**
 * A C process and a TS process add to one counter, released together by a
 * start flag so that they really contend; `locked` false is the control run
 * that shows the test can see lost updates.
 */
async function countWithC(locked: boolean, iterations: number): Promise<number> {
  const exe = await semaphoreProgram();
  return await withRegion("sem-c-count", async (shm, name) => {
    Semaphore.init(shm, 0, 1);
    const go = Flag.init(shm, 72, 0);
    const c = runCommand(exe, [name, locked ? "count" : "count-unlocked", String(iterations)]);
    const ts = runScript(
      CURRENT,
      `
      import process from "node:process";
      import { Flag, Semaphore, SharedMemory } from "$MOD";
      const shm = SharedMemory.open(process.argv[2]);
      const sem = Semaphore.attach(shm, 0);
      const counter = shm.view(Int32Array, 64, 1);
      Atomics.add(shm.view(Int32Array, 68, 1), 0, 1);
      Flag.attach(shm, 72).waitFor(1, 30_000);
      let sink = 0;
      for (let i = 0; i < ${iterations}; i++) {
        if (${locked}) {
          if (i % 4 === 0) await sem.waitAsync(); else sem.wait();
        }
        const seen = counter[0];
        for (let k = 0; k < 200; k++) sink = (sink * 31 + k) | 0;
        counter[0] = seen + 1;
        if (${locked}) sem.post();
      }
      console.log(sink === 0.5);
      `,
      { args: [name] },
    );
    // Both bump the ready word without a wake-up; a Flag notices plain stores.
    await Flag.attach(shm, 68).waitForAsync(2, { timeout: 30_000 });
    go.set(1);
    assertSucceeded(await c, "C counter");
    assertSucceeded(await ts, "TS counter");
    return shm.view(Int32Array, 64, 1)[0];
  });
}

test("Semaphore: a C program and a TS process, started together, count exactly under one sem_t", async () => {
  assert.equal(await countWithC(true, 20_000), 40_000);
});

test("Semaphore: the same C + TS counter without the sem_t loses updates (control)", async () => {
  const total = await countWithC(false, 200_000);
  assert.ok(total < 400_000, `expected lost updates, got ${total}`);
});

test("Semaphore: C's sem_post wakes a TS waitAsync at once; TS's post wakes C's sem_wait", async () => {
  const exe = await semaphoreProgram();
  await withRegion("sem-c-wake", async (shm, name) => {
    // C initializes the sem_t; TS attaches to it.
    assertSucceeded(await runCommand(exe, [name, "init", "0"]), "C init");
    const sem = Semaphore.attach(shm, 0);
    assert.equal(sem.value, 0);
    const posts = 20;
    const c = runCommand(exe, [name, "post", String(posts)]);
    const started = performance.now();
    for (let i = 0; i < posts; i++) await sem.waitAsync({ timeout: 10_000 });
    const took = performance.now() - started;
    // 20 posts 20 ms apart: woken by each post, not by a periodic re-check.
    assert.ok(took < 20 * 20 + 1_500, `20 waits took ${took} ms`);
    assertSucceeded(await c, "C poster");
    const waiter = runCommand(exe, [name, "wait", "3"]);
    await delay(50);
    sem.post();
    sem.post();
    sem.post();
    assertSucceeded(await waiter, "C waiter");
    assert.equal(sem.value, 0);
  });
});

test("Semaphore works in a System V segment and in a mapped file", async () => {
  const segment = SysVSharedMemory.create(IPC_PRIVATE, 4096);
  try {
    const sem = Semaphore.init(segment, 8, 1);
    assert.equal(sem.tryWait(), true);
    sem.post();
    await sem.waitAsync({ timeout: 1000 });
  } finally {
    segment.remove();
    segment.detach();
  }
  const path = scratchPath("sem-file", ".bin");
  const file = MappedFile.open(path, { size: 4096, create: true });
  try {
    const sem = Semaphore.init(file, 0, 0);
    setTimeout(() => sem.post(), 10);
    await sem.waitAsync({ timeout: 5000 });
    using copy = MappedFile.open(path, { private: true });
    assert.throws(() => Semaphore.attach(copy, 0), TypeError);
  } finally {
    file.close();
  }
});

test("Semaphore: after the region closes, calls throw ClosedError and pending waits reject", async () => {
  const name = uniqueName("sem-closed");
  const shm = SharedMemory.create(name, 4096);
  try {
    const sem = Semaphore.init(shm, 0, 0);
    const pending = sem.waitAsync();
    await delay(20);
    shm.close();
    await assert.rejects(pending, ClosedError);
    assert.throws(() => sem.post(), ClosedError);
    assert.throws(() => sem.wait(), ClosedError);
    assert.throws(() => sem.tryWait(5), ClosedError);
    assert.throws(() => sem.value, ClosedError);
    await assert.rejects(sem.waitAsync(), ClosedError);
  } finally {
    SharedMemory.unlink(name);
  }
});

test("Semaphore keeps working when its region is resized (remapped)", async () => {
  await withRegion("sem-resize", async (shm) => {
    const sem = Semaphore.init(shm, 8, 0);
    const pending = sem.waitAsync({ timeout: 5000 });
    await delay(10);
    shm.resize(1 << 16);
    sem.post();
    await pending;
    assert.equal(sem.value, 0);
  });
});

test("Semaphore.destroy() makes the object unusable; calling it twice is harmless", async () => {
  await withRegion("sem-destroy", async (shm) => {
    const sem = Semaphore.init(shm, 0, 0);
    const pending = sem.waitAsync();
    await delay(10);
    sem.destroy();
    sem.destroy();
    await assert.rejects(pending, ClosedError);
    assert.throws(() => sem.post(), ClosedError);
  });
});

test("Semaphore.init/attach refuse bad places and values before any system call", async () => {
  await withRegion("sem-args", (shm) => {
    assert.equal(Semaphore.byteLength, 32);
    assert.equal(Semaphore.alignment, 8);
    assert.throws(() => Semaphore.init(shm, 4), RangeError);
    assert.throws(() => Semaphore.init(shm, 4096 - 16), RangeError);
    assert.throws(() => Semaphore.init(shm, 0, -1), RangeError);
    assert.throws(() => Semaphore.init(shm, 0, 2 ** 31), RangeError);
    assert.throws(() => Semaphore.init(shm, 0, 0.5), RangeError);
    assert.throws(() => Semaphore.init(shm, 0, "1" as unknown as number), TypeError);
    assert.throws(() => Semaphore.attach(shm, null as unknown as number), TypeError);
    assert.throws(() => Semaphore.attach(null as unknown as SharedMemory, 0), TypeError);
    using readOnly = SharedMemory.open(shm.name, { readOnly: true });
    assert.throws(() => Semaphore.attach(readOnly, 0), TypeError);
    // sem_init never ran: the refused inits left every byte as it was.
    assert.ok(shm.view(Uint8Array).every((b) => b === 0), "a refused init wrote the region");
  });
});

test("Semaphore.tryWait() with a timeout too far for a timespec sleeps instead of spinning", async () => {
  await withRegion("sem-far-timeout", async (shm, name) => {
    const sem = Semaphore.init(shm, 0, 0);
    const ready = Flag.init(shm, 64, 0);
    const child = runScript(
      CURRENT,
      `
      import process from "node:process";
      import { Flag, Semaphore, SharedMemory } from "$MOD";
      const shm = SharedMemory.open(process.argv[2]);
      const sem = Semaphore.attach(shm, 0);
      Flag.attach(shm, 64).set(1);
      const before = process.cpuUsage();
      const started = performance.now();
      const got = sem.tryWait(Number.MAX_VALUE);
      const wall = performance.now() - started;
      const cpu = process.cpuUsage(before);
      console.log(JSON.stringify({ got, wall, cpu: (cpu.user + cpu.system) / 1000 }));
      `,
      { args: [name] },
    );
    while (ready.value === 0) await delay(5);
    await delay(300);
    sem.post();
    const result = await child;
    assertSucceeded(result, "waiter");
    const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
    assert.equal(report.got, true);
    assert.ok(report.cpu < report.wall / 3, `${report.cpu} ms of CPU in ${report.wall} ms`);
  });
});

test("Semaphore.post() past 2147483647 throws EOVERFLOW", async () => {
  await withRegion("sem-overflow", (shm) => {
    const sem = Semaphore.init(shm, 0, 2147483647);
    assert.throws(() => sem.post(), (error) => (error as ErrnoError).code === "EOVERFLOW");
  });
});

test("NamedSemaphore.create is exclusive with mode 0o600 by default", async () => {
  await withNamed(0, (sem, name) => {
    assert.ok(sem.created);
    assert.equal(sem.name, name);
    const file = `/dev/shm/sem.${name.slice(1)}`;
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.throws(() => NamedSemaphore.create(name, 0), (error) => {
      assert.ok(error instanceof ErrnoError);
      assert.equal(error.code, "EEXIST");
      assert.equal(error.syscall, "sem_open");
      assert.equal(error.path, name);
      return true;
    });
    using shared = NamedSemaphore.create(name, 5, { exclusive: false });
    assert.equal(shared.created, false);
    assert.equal(shared.value, 0, "an existing semaphore keeps its value");
  });
});

test("NamedSemaphore.openOrCreate tells exactly one caller it created the semaphore", async () => {
  const name = uniqueName("nsem-ooc");
  try {
    using first = NamedSemaphore.openOrCreate(name, 3);
    using second = NamedSemaphore.openOrCreate(name, 9);
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.value, 3);
    const child = await runScript(
      otherRuntime(CURRENT),
      `
      import process from "node:process";
      import { NamedSemaphore } from "$MOD";
      using sem = NamedSemaphore.openOrCreate(process.argv[2], 0);
      sem.wait();
      console.log(sem.created, sem.value);
      `,
      { args: [name] },
    );
    assertSucceeded(child);
    assert.equal(child.stdout.trim(), "false 2");
  } finally {
    NamedSemaphore.unlink(name);
  }
});

test("NamedSemaphore: open of a missing name is ENOENT; unlink removes the name", () => {
  const name = uniqueName("nsem-missing");
  assert.throws(
    () => NamedSemaphore.open(name),
    (error) => (error as ErrnoError).code === "ENOENT",
  );
  assert.throws(
    () => NamedSemaphore.unlink(name),
    (error) => (error as ErrnoError).code === "ENOENT",
  );
  const sem = NamedSemaphore.create(name, 1);
  sem.unlink();
  assert.ok(!existsSync(`/dev/shm/sem.${name.slice(1)}`));
  assert.equal(sem.tryWait(), true, "an unlinked semaphore stays usable by who has it open");
  sem.close();
});

test("NamedSemaphore.close() is idempotent; later calls throw ClosedError; pending waits reject", async () => {
  await withNamed(0, async (sem, name) => {
    using other = NamedSemaphore.open(name);
    const pending = other.waitAsync();
    await delay(20);
    other.close();
    other.close();
    assert.ok(other.closed);
    await assert.rejects(pending, ClosedError);
    assert.throws(() => other.post(), ClosedError);
    assert.throws(() => other.value, ClosedError);
    await assert.rejects(other.waitAsync(), ClosedError);
    // The withdrawn waiter left no trace: posts still reach the open handle.
    sem.post();
    assert.equal(sem.value, 1);
    assert.equal(sem.tryWait(), true);
  });
});

test("NamedSemaphore refuses bad names and values", () => {
  const stem = `/shmkit-test-long-${process.pid}-`;
  const long = stem + "x".repeat(250 - stem.length);
  const tooLong = long + "x";
  assert.throws(() => NamedSemaphore.create(tooLong, 0), RangeError);
  const sem = NamedSemaphore.create(long, 0);
  sem.close();
  NamedSemaphore.unlink(long);
  assert.throws(() => NamedSemaphore.create("no-slash", 0), RangeError);
  assert.throws(() => NamedSemaphore.create("/a/b", 0), RangeError);
  assert.throws(() => NamedSemaphore.open(42 as unknown as string), TypeError);
  assert.throws(() => NamedSemaphore.create(uniqueName("nsem-bad"), -1), RangeError);
  assert.throws(
    () => NamedSemaphore.create(uniqueName("nsem-bad"), 0, { mode: 0o1777 }),
    (error: Error) => error instanceof RangeError && /^options\.mode /.test(error.message),
  );
  assert.throws(
    () => NamedSemaphore.openOrCreate(uniqueName("nsem-bad"), 0, { mode: "0o600" as never }),
    (error: Error) => error instanceof TypeError && /^options\.mode /.test(error.message),
  );
  assert.throws(
    () => NamedSemaphore.create(uniqueName("nsem-bad"), 0, { exclusive: 1 as unknown as boolean }),
    TypeError,
  );
});

test("Semaphore: a blocking wait on zeroed memory (a pshared = 0 sem_t) wakes on another process's post", async () => {
  await withRegion("sem-zeroed", async (shm, name) => {
    // Zeroed bytes are a valid glibc sem_t whose futex calls are private to
    // one process; a sleep there could never hear another process's post.
    const ready = Flag.init(shm, 64, 0);
    const child = runScript(
      otherRuntime(CURRENT),
      `
      import process from "node:process";
      import { Flag, Semaphore, SharedMemory } from "$MOD";
      using shm = SharedMemory.open(process.argv[2]);
      const sem = Semaphore.attach(shm, 0);
      Flag.attach(shm, 64).set(1);
      const started = performance.now();
      const took = sem.tryWait(5_000);
      console.log(JSON.stringify({ took, ms: performance.now() - started }));
      `,
      { args: [name] },
    );
    await ready.waitForAsync(1, { timeout: 30_000 });
    await delay(100); // asleep in the kernel
    Semaphore.attach(shm, 0).post();
    const result = await child;
    assertSucceeded(result);
    const { took, ms } = JSON.parse(result.stdout);
    assert.equal(took, true);
    assert.ok(ms < 400, `the post was noticed after ${ms} ms (a slice is 500 ms)`);
  });
});
