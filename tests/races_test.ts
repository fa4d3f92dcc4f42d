/**
 * Racing creators: processes released together by a barrier in shared memory
 * race openOrCreate on a fresh name, round after round, and exactly one of
 * them must be told it created each name. Without the barrier the processes
 * start milliseconds apart and never overlap; with it they enter shm_open /
 * sem_open within microseconds of each other, which is where an
 * open-then-create (no O_EXCL) fails.
 *
 * Then the object vanishing: processes call openOrCreate over and over while
 * another removes the object as fast as it can, so that it disappears between
 * a racer's exclusive create (EEXIST) and its open, or (System V) between
 * shmget and shmat. No ENOENT, EIDRM or EINVAL may reach the caller, and no
 * object may have two creators.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import process from "node:process";
import {
  ErrnoError,
  Flag,
  MessageQueue,
  NamedSemaphore,
  SharedMemory,
  SysVSharedMemory,
} from "../mod.ts";
import { assertSucceeded, runScript, type Runtime, uniqueName } from "./_helpers.ts";
import { delay, withRegion } from "./_sync_helpers.ts";

const ROUNDS = 300;
const RACERS: Runtime[] = ["deno", "bun", "deno", "bun"];

let keySeq = 0;
/** A block of `count` System V keys no other test process uses. */
function uniqueKeys(count: number): number {
  const base = 0x3c000000 + ((process.pid & 0xffff) << 10) + keySeq;
  keySeq += count;
  return base;
}

/** Runs `remove`, ignoring the errors of an object that is not there. */
function removeIfThere(remove: () => void): void {
  try {
    remove();
  } catch (error) {
    const gone = ["ENOENT", "EINVAL", "EIDRM"];
    if (!(error instanceof ErrnoError && gone.includes(error.code))) throw error;
  }
}

// Each kind names its object by `name` (POSIX) or `key` (System V), both
// defined in the child's source before `open` runs.
const KINDS = {
  SharedMemory: {
    open: "SharedMemory.openOrCreate(name, 4096)",
    unlink: (name: string) => SharedMemory.unlink(name),
  },
  NamedSemaphore: {
    open: "NamedSemaphore.openOrCreate(name, 1)",
    unlink: (name: string) => NamedSemaphore.unlink(name),
  },
  SysVSharedMemory: {
    open: "SysVSharedMemory.openOrCreate(key, 4096)",
    unlink: (key: number) => {
      using segment = SysVSharedMemory.open(key);
      segment.remove();
    },
  },
  MessageQueue: {
    open: "MessageQueue.openOrCreate(key)",
    unlink: (key: number) => MessageQueue.open(key).remove(),
  },
  // MappedFile's create-or-open (create, not exclusive) runs the same loop;
  // its files live in /tmp, named after the POSIX names. A joiner may find
  // the file before its creator sized it: grow, as MappedFile documents.
  MappedFile: {
    open:
      'MappedFile.open("/tmp" + name, { create: true, exclusive: false, grow: true, size: 4096 })',
    unlink: (name: string) => rmSync(`/tmp${name}`, { force: true }),
  },
} as const;
type Kind = keyof typeof KINDS;
const BY_KEY: readonly Kind[] = ["SysVSharedMemory", "MessageQueue"];

// A child: for each round, meet the others at the barrier (the last to
// arrive raises the flag), then race for the round's name and record
// whether it was told it created it (1) or not (2).
function racer(kind: Kind, control: string, index: number, prefix: string, keys: number) {
  return `
    import { Flag, MappedFile, MessageQueue, NamedSemaphore, SharedMemory, SysVSharedMemory } from "$MOD";
    using region = SharedMemory.open(${JSON.stringify(control)});
    const round = Flag.attach(region, 0);
    const arrived = region.view(Int32Array, 64, ${ROUNDS});
    const outcome = region.view(Int32Array, 64 + ${ROUNDS * 4}, ${ROUNDS * RACERS.length});
    for (let r = 0; r < ${ROUNDS}; r++) {
      if (Atomics.add(arrived, r, 1) === ${RACERS.length - 1}) round.set(r + 1);
      else round.waitFor(r + 1);
      const name = ${JSON.stringify(prefix)} + "-" + r;
      const key = ${keys} + r;
      const made = ${KINDS[kind].open};
      Atomics.store(outcome, r * ${RACERS.length} + ${index}, made.created ? 1 : 2);
      made.close();
    }
  `;
}

for (const kind of Object.keys(KINDS) as Kind[]) {
  test(`${kind === "MappedFile" ? "MappedFile.open({ create: true, exclusive: false })" : `${kind}.openOrCreate()`}: of 4 processes released together, exactly one creates, ${ROUNDS} rounds`, async () => {
    const prefix = uniqueName(`race-${kind}`);
    const keys = uniqueKeys(ROUNDS);
    await withRegion("race-control", async (region, control) => {
      Flag.init(region, 0, 0);
      try {
        const children = RACERS.map((runtime, i) =>
          runScript(runtime, racer(kind, control, i, prefix, keys), { timeoutMs: 60_000 })
        );
        for (const child of await Promise.all(children)) assertSucceeded(child, "racer");
        const outcome = region.view(Int32Array, 64 + ROUNDS * 4, ROUNDS * RACERS.length);
        for (let r = 0; r < ROUNDS; r++) {
          const told = [...outcome.subarray(r * RACERS.length, (r + 1) * RACERS.length)];
          assert.deepEqual(
            told.filter((o) => o === 1).length,
            1,
            `round ${r}: created ${JSON.stringify(told)} (1 = created, 2 = opened)`,
          );
        }
      } finally {
        for (let r = 0; r < ROUNDS; r++) {
          // Never made if the children failed first.
          removeIfThere(() => unlinkKind(kind, `${prefix}-${r}`, keys + r));
        }
      }
    }, 64 + ROUNDS * 4 + ROUNDS * RACERS.length * 4);
  });
}

function unlinkKind(kind: Kind, name: string, key: number): void {
  if (BY_KEY.includes(kind)) (KINDS[kind].unlink as (key: number) => void)(key);
  else (KINDS[kind].unlink as (name: string) => void)(name);
}

/** How long the racers and the remover run, in ms. */
const VANISHING_MS = 1500;
const VANISHING_RACERS: Runtime[] = ["deno", "bun"];

// A child for the vanishing race: once released, it calls `open` until the
// stop word is set. Each time it is told it created the object it claims it
// (the first claim of a fresh object succeeds, a second one fails), so two
// creators of one object show as a failed claim. Anything openOrCreate
// throws ends the child with the error on stderr.
function vanishingRacer(open: string, claim: string, control: string, name: string, key: number) {
  return `
    import { Flag, MappedFile, MessageQueue, NamedSemaphore, SharedMemory, SysVSharedMemory } from "$MOD";
    using region = SharedMemory.open(${JSON.stringify(control)});
    const start = Flag.attach(region, 0);
    const words = region.view(Int32Array, 64, 2); // [stop, ready]
    const name = ${JSON.stringify(name)};
    const key = ${key};
    Atomics.add(words, 1, 1);
    start.waitFor(1);
    let iterations = 0, created = 0, failedClaims = 0;
    while (Atomics.load(words, 0) === 0) {
      const made = ${open};
      try {
        if (made.created) {
          created += 1;
          if (!(${claim})) failedClaims += 1;
        }
      } finally {
        made.close();
      }
      iterations += 1;
    }
    console.log(JSON.stringify({ iterations, created, failedClaims }));
  `;
}

// The first claim of a fresh object succeeds, any later one fails.
const CLAIM_MEMORY = "Atomics.add(made.view(Int32Array, 0, 1), 0, 1) === 0";
const VANISHING = [
  { title: "SharedMemory.openOrCreate()", kind: "SharedMemory", claim: CLAIM_MEMORY },
  { title: "NamedSemaphore.openOrCreate()", kind: "NamedSemaphore", claim: "made.tryWait()" },
  { title: "SysVSharedMemory.openOrCreate()", kind: "SysVSharedMemory", claim: CLAIM_MEMORY },
  {
    title: "MappedFile.open({ create: true, exclusive: false })",
    kind: "MappedFile",
    claim: CLAIM_MEMORY,
  },
  // The spelling kept for compatibility goes through the same loop.
  {
    title: "SysVSharedMemory.create({ exclusive: false })",
    kind: "SysVSharedMemory",
    open: "SysVSharedMemory.create(key, 4096, { exclusive: false })",
    claim: CLAIM_MEMORY,
  },
  // A queue is claimed by a message: a second creator would make it two. The
  // remover may take the queue away in between, which is no double claim.
  {
    title: "MessageQueue.openOrCreate()",
    kind: "MessageQueue",
    claim: `(() => {
      try {
        made.send(1, "mine", { wait: false });
        return made.stat().messages === 1;
      } catch (error) {
        if (["EINVAL", "EIDRM"].includes(error.code)) return true;
        throw error;
      }
    })()`,
  },
] as const;

for (const entry of VANISHING) {
  const { title, kind, claim } = entry;
  const open = "open" in entry ? entry.open : KINDS[kind].open;
  test(`${title} never fails while another process removes the object, and no object has two creators`, async () => {
    const name = uniqueName(`vanish-${kind}`);
    const key = uniqueKeys(1);
    await withRegion("vanish-control", async (region, control) => {
      const start = Flag.init(region, 0, 0);
      const words = region.view(Int32Array, 64, 2);
      let removals = 0;
      try {
        const children = VANISHING_RACERS.map((runtime) =>
          runScript(runtime, vanishingRacer(open, claim, control, name, key), {
            timeoutMs: 30_000,
          })
        );
        const ready = performance.now() + 20_000;
        while (Atomics.load(words, 1) < VANISHING_RACERS.length && performance.now() < ready) {
          await delay(5);
        }
        start.set(1);
        // This process is the remover: a tight loop, blocking, for VANISHING_MS.
        const until = performance.now() + VANISHING_MS;
        while (performance.now() < until) {
          removeIfThere(() => {
            unlinkKind(kind, name, key);
            removals += 1;
          });
        }
        Atomics.store(words, 0, 1);
        const results = [];
        for (const child of await Promise.all(children)) {
          assertSucceeded(child, `${kind} racer`);
          results.push(JSON.parse(child.stdout));
        }
        for (const { iterations, failedClaims } of results) {
          assert.ok(iterations > 0, `a racer never got a handle: ${JSON.stringify(results)}`);
          assert.equal(failedClaims, 0, `an object had two creators: ${JSON.stringify(results)}`);
        }
        const created = results.reduce((sum, r) => sum + r.created, 0);
        assert.ok(removals > 0 && created > 1, `no race: ${removals} removals, ${created} created`);
      } finally {
        Atomics.store(words, 0, 1);
        start.set(1);
        removeIfThere(() => unlinkKind(kind, name, key));
      }
    });
  });
}
