// Sync slots: a struct can hold its own Mutex, Semaphore or Flag. init()
// initializes them, reading attaches to them, and nothing else overwrites
// them.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  array,
  char,
  Flag,
  flag,
  i32,
  i64,
  Mutex,
  mutex,
  Semaphore,
  semaphore,
  SharedMemory,
  struct,
  toObject,
} from "../mod.ts";
import { platform } from "../ffi/internal.ts";
import { assertSucceeded, runScript, RUNTIMES, uniqueName } from "./_helpers.ts";

function withRegion(size: number, fn: (shm: SharedMemory) => void): void {
  const shm = SharedMemory.create(uniqueName("layout-slot"), size);
  try {
    fn(shm);
  } finally {
    shm.close();
    shm.unlink();
  }
}

const Account = struct({
  lock: mutex,
  balance: i64,
  items: semaphore,
  ready: flag,
  owner: char(8),
});

test("slots reserve the sizes of the sync classes: an 8-byte futex lock, sem_t and int", () => {
  assert.deepEqual([mutex.byteLength, mutex.alignment], [8, 8]);
  assert.deepEqual([Mutex.byteLength, Mutex.alignment], [8, 8]);
  assert.deepEqual([semaphore.byteLength, semaphore.alignment], [
    platform.SEM_T_SIZE,
    platform.SEM_T_ALIGN,
  ]);
  assert.deepEqual([flag.byteLength, flag.alignment], [4, 4]);
  assert.equal(Account.offsetOf("balance"), mutex.byteLength);
  assert.equal(mutex.slot, "mutex");
});

test("slot fields cannot be assigned, and assigning the record leaves them alone", () => {
  withRegion(4096, (shm) => {
    const list = array(Account, 2).init(shm, 0, { values: [{ balance: 1n, items: 2, ready: 3 }] });
    const a = list[0];
    assert.throws(() => ((a as { lock: unknown }).lock = null), TypeError);
    assert.throws(() => ((a as { ready: unknown }).ready = 1), TypeError);
    const lockBytes = () => [...shm.view(Uint8Array, 0, Account.offsetOf("balance"))];
    const slotBytes = () => [
      ...lockBytes(),
      ...shm.view(Uint8Array, Account.offsetOf("items"), semaphore.byteLength + flag.byteLength),
    ];
    shm.view(Uint8Array, 0, 4).fill(0x5a); // make the slot bytes recognisable
    const before = slotBytes();
    list.set(0, { balance: 7n, owner: "ann" });
    assert.deepEqual(slotBytes(), before);
    assert.equal(a.balance, 7n);
    assert.throws(() => list.set(0, { lock: 1 } as never), TypeError);
    assert.deepEqual(
      Object.keys(toObject(a)).sort(),
      ["balance", "owner"],
      "snapshots leave slots out",
    );
  });
});

test("init() refuses bad initial values for slots before writing", () => {
  withRegion(4096, (shm) => {
    shm.view(Uint8Array).fill(1);
    assert.throws(() => Account.init(shm, 0, { values: { items: -1 } }), RangeError);
    assert.throws(() => Account.init(shm, 0, { values: { items: "2" as never } }), TypeError);
    assert.throws(() => Account.init(shm, 0, { values: { ready: 2 ** 31 } }), RangeError);
    assert.throws(() => Account.init(shm, 0, { values: { lock: 1 as never } }), TypeError);
    assert.ok(shm.view(Uint8Array, 0, Account.byteLength).every((b) => b === 1));
  });
});

test("reading a slot attaches the sync object", () => {
  withRegion(4096, (shm) => {
    const acct = Account.init(shm, 64, { values: { items: 2, ready: 5 } });
    assert.equal(acct.lock, acct.lock, "the attached object is cached per record");
    assert.ok(acct.lock instanceof Mutex);
    assert.ok(acct.items instanceof Semaphore);
    assert.ok(acct.ready instanceof Flag);
    assert.equal(acct.ready.value, 5);
    assert.equal(acct.items.value, 2);
    acct.lock.lock()[Symbol.dispose]();
  });
});

test("a counter guarded by the lock in its own record", () => {
  withRegion(4096, (shm) => {
    const Counter = struct({ lock: mutex, n: i32 });
    const c = Counter.init(shm, 0);
    for (let i = 0; i < 100; i++) {
      const guard = c.lock.lock();
      try {
        c.n += 1;
      } finally {
        guard[Symbol.dispose]();
      }
    }
    assert.equal(c.n, 100);
  });
});

// Past the record and its header: children that reached the start line,
// and the start flag.
const READY_AT = 2048;
const GO_AT = 2052;

const COUNTER_CHILD = `
import process from "node:process";
import { Flag, i32, mutex, struct, SharedMemory } from "$MOD";
const [name, mode, count] = process.argv.slice(2);
const Counter = struct({ lock: mutex, n: i32 });
const shm = SharedMemory.open(name);
const c = Counter.attach(shm, 0, { header: true });
let sink = 0;
Atomics.add(shm.view(Int32Array, ${READY_AT}, 1), 0, 1);
Flag.attach(shm, ${GO_AT}).waitFor(1, 30_000);
for (let i = 0; i < Number(count); i++) {
  const guard = mode === "locked" ? c.lock.lock() : undefined;
  try {
    const seen = c.n;
    for (let k = 0; k < 200; k++) sink = (sink * 31 + k) | 0;
    c.n = seen + 1;
  } finally {
    guard?.[Symbol.dispose]();
  }
}
console.log(sink === 0.5);
shm.close();
`;

/**
 * A Deno and a Bun process add `count` each to the record's counter,
 * released together by a start flag so that they contend.
 */
async function countInRecord(mode: "locked" | "unlocked", count: number): Promise<number> {
  const name = uniqueName("layout-slot-x");
  const shm = SharedMemory.create(name, 4096);
  try {
    const c = struct({ lock: mutex, n: i32 }).init(shm, 0, { header: true });
    const go = Flag.init(shm, GO_AT, 0);
    const children = RUNTIMES.map((runtime) =>
      runScript(runtime, COUNTER_CHILD, { args: [name, mode, String(count)] })
    );
    // The children bump READY without a wake-up; a Flag notices plain stores.
    await Flag.attach(shm, READY_AT).waitForAsync(RUNTIMES.length, { timeout: 30_000 });
    go.set(1);
    (await Promise.all(children)).forEach((r, i) => assertSucceeded(r, RUNTIMES[i]));
    return c.n;
  } finally {
    shm.close();
    shm.unlink();
  }
}

test("a Deno and a Bun process, started together, add exactly under the lock kept in the record", async () => {
  assert.equal(await countInRecord("locked", 20_000), 20_000 * RUNTIMES.length);
});

test("the same record counter without its lock loses updates (control)", async () => {
  const total = await countInRecord("unlocked", 200_000);
  assert.ok(total < 200_000 * RUNTIMES.length, `expected lost updates, got ${total}`);
});

test("an array of sync slots attaches each element once", () => {
  withRegion(4096, (shm) => {
    const locks = array(mutex, 2).init(shm, 0);
    assert.equal(locks[0], locks[0]);
    assert.equal(locks.get(1), locks.get(1));
    assert.equal(locks[1], locks.get(1));
    const Table = struct({ free: array(semaphore, 2) });
    const t = Table.init(shm, 64, { values: { free: [3, 4] } });
    assert.equal(t.free[1], t.free.get(1));
    assert.equal(t.free[1].value, 4);
  });
});
