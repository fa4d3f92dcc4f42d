/**
 * Racing creators: processes released together by a barrier in shared memory
 * race openOrCreate on a fresh name, round after round, and exactly one of
 * them must be told it created each name. Without the barrier the processes
 * start milliseconds apart and never overlap; with it they enter shm_open /
 * sem_open within microseconds of each other, which is where an
 * open-then-create (no O_EXCL) fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Flag, NamedSemaphore, SharedMemory } from "../mod.ts";
import { assertSucceeded, runScript, type Runtime, uniqueName } from "./_helpers.ts";
import { withRegion } from "./_sync_helpers.ts";

const ROUNDS = 300;
const RACERS: Runtime[] = ["deno", "bun", "deno", "bun"];

const KINDS = {
  SharedMemory: {
    open: "SharedMemory.openOrCreate(name, 4096)",
    unlink: (name: string) => SharedMemory.unlink(name),
  },
  NamedSemaphore: {
    open: "NamedSemaphore.openOrCreate(name, 1)",
    unlink: (name: string) => NamedSemaphore.unlink(name),
  },
} as const;

// A child: for each round, meet the others at the barrier (the last to
// arrive raises the flag), then race for the round's name and record
// whether it was told it created it (1) or not (2).
function racer(kind: keyof typeof KINDS, control: string, index: number, prefix: string) {
  return `
    import { Flag, NamedSemaphore, SharedMemory } from "$MOD";
    using region = SharedMemory.open(${JSON.stringify(control)});
    const round = Flag.attach(region, 0);
    const arrived = region.view(Int32Array, 64, ${ROUNDS});
    const outcome = region.view(Int32Array, 64 + ${ROUNDS * 4}, ${ROUNDS * RACERS.length});
    for (let r = 0; r < ${ROUNDS}; r++) {
      if (Atomics.add(arrived, r, 1) === ${RACERS.length - 1}) round.set(r + 1);
      else round.waitFor(r + 1);
      const name = ${JSON.stringify(prefix)} + "-" + r;
      using made = ${KINDS[kind].open};
      Atomics.store(outcome, r * ${RACERS.length} + ${index}, made.created ? 1 : 2);
    }
  `;
}

for (const kind of Object.keys(KINDS) as (keyof typeof KINDS)[]) {
  test(`${kind}.openOrCreate(): of 4 processes released together, exactly one creates, ${ROUNDS} rounds`, async () => {
    const prefix = uniqueName(`race-${kind}`);
    await withRegion("race-control", async (region, control) => {
      Flag.init(region, 0, 0);
      try {
        const children = RACERS.map((runtime, i) =>
          runScript(runtime, racer(kind, control, i, prefix), { timeoutMs: 60_000 })
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
          try {
            KINDS[kind].unlink(`${prefix}-${r}`);
          } catch {
            // never made: the children failed first
          }
        }
      }
    }, 64 + ROUNDS * 4 + ROUNDS * RACERS.length * 4);
  });
}
