/**
 * Field types that reserve room for a `sync/` primitive inside a struct, so a
 * record can carry its own lock: `mutex`, `semaphore` and `flag`.
 *
 * Each slot takes the size and alignment its sync class reports
 * (`Mutex.byteLength`, `Semaphore.byteLength`, `Flag.byteLength`): a `sem_t`
 * for a Semaphore, a C `int` for a Flag, and for a Mutex shmkit's own futex
 * lock (8 bytes, 8-aligned). A C program declaring the same struct uses
 * `sem_t`, `int`, and 8 aligned bytes for the mutex.
 *
 * On a read-only region (System V SHM_RDONLY) reading a `mutex` or
 * `semaphore` field throws TypeError, since every use of them writes; a
 * `flag` field can be read and waited on there.
 *
 * @module
 */
import { Flag, Mutex, Semaphore } from "../sync/mod.ts";
import type { SharedRegion } from "../ffi/region.ts";
import { type Binding, live } from "./_binding.ts";
import { defineType, describe, type Entry, type FieldType } from "./_field.ts";

/**
 * A field type that reserves room for a sync primitive; `slot` names which
 * (`"mutex"`, `"semaphore"` or `"flag"`).
 *
 * @example
 * ```ts
 * import { mutex, type SlotType } from "../mod.ts";
 * const slot: SlotType<unknown> = mutex;
 * console.assert(slot.slot === "mutex");
 * ```
 */
export interface SlotType<T> extends FieldType<T> {
  /**
   * Which primitive the slot holds.
   *
   * @example
   * ```ts
   * import { flag, semaphore } from "../mod.ts";
   * console.assert(semaphore.slot === "semaphore" && flag.slot === "flag");
   * ```
   */
  readonly slot: string;
}

/** What a slot needs of its sync class. */
interface SyncClass<T> {
  readonly name: string;
  readonly byteLength: number;
  readonly alignment: number;
  attach(region: SharedRegion, byteOffset: number): T;
}

function slot<T>(
  cls: SyncClass<T>,
  typeName: string,
  init: (region: SharedRegion, byteOffset: number, value: number | undefined) => void,
  checkInitial: (value: unknown, where: string) => number | undefined,
): SlotType<T> {
  const { byteLength, alignment } = cls;
  const descriptor = `${typeName}(${byteLength} bytes)`;
  return defineType<T, { readonly slot: string }>({
    name: typeName,
    descriptor,
    byteLength,
    alignment,
    kind: "slot",
    stable: false,
    hasSlots: true,
    read(b: Binding, o: number): T {
      live(b, o, byteLength);
      return cls.attach(b.region, o);
    },
    prepare(value: unknown, where: string, init: boolean): number | undefined {
      if (!init) {
        throw new TypeError(
          `${where} is a ${typeName} slot and cannot be assigned; use the ${cls.name} it gives`,
        );
      }
      return value === undefined ? undefined : checkInitial(value, where);
    },
    store(): void {
      // Slots are never overwritten by assigning their parent.
    },
    initialize(b: Binding, o: number, prepared: unknown): void {
      live(b, o, byteLength);
      init(b.region, o, prepared as number | undefined);
    },
    clear(): void {
      // Zeroing a live lock would corrupt it; slots are left alone.
    },
    snapshot(): undefined {
      // A lock or a semaphore has no plain value; snapshots leave slots out.
      return undefined;
    },
    entries(path: string, offset: number, out: Entry[]): void {
      out.push({ path, type: descriptor, offset });
    },
  }, { slot: typeName });
}

function integerIn(min: number, max: number, typeName: string) {
  return (value: unknown, where: string): number => {
    if (typeof value !== "number") {
      throw new TypeError(
        `${where} (${typeName}) initial value must be a number, got ${describe(value)}`,
      );
    }
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(
        `${where} (${typeName}) initial value must be an integer from ${min} to ${max}, got ${value}`,
      );
    }
    return value;
  };
}

/**
 * A slot for a process-shared, robust `Mutex` (`Mutex.byteLength` bytes: 8,
 * 8-aligned). `init()` of the enclosing layout initializes it; reading the
 * field attaches to it (once per record). It cannot be assigned, and
 * assigning the enclosing record never touches it.
 *
 * @example A record that carries its own lock
 * ```ts
 * import { i64, mutex, SharedMemory, struct } from "../mod.ts";
 *
 * const Account = struct({ lock: mutex, balance: i64 });
 * using shm = SharedMemory.create(`/doc-slot-mutex-${Date.now()}`, 4096);
 * const acct = Account.init(shm, 0);      // once, by the creator
 * {
 *   using _guard = acct.lock.lock();
 *   acct.balance += 10n;
 * }
 * console.assert(acct.balance === 10n);
 * shm.unlink();
 * ```
 */
export const mutex: SlotType<Mutex> = slot(
  Mutex,
  "mutex",
  (region, o) => Mutex.init(region, o),
  (value, where) => {
    throw new TypeError(`${where} (mutex) takes no initial value, got ${describe(value)}`);
  },
);

/**
 * A slot for a process-shared memory `Semaphore`, a real `sem_t` (32 bytes,
 * 8-aligned). The enclosing layout's `init()` makes it with value 0, or the
 * value given for it in `values`.
 *
 * @example A bounded queue's counting semaphore
 * ```ts
 * import { array, i32, semaphore, SharedMemory, struct } from "../mod.ts";
 *
 * const Queue = struct({ free: semaphore, items: array(i32, 16) });
 * console.assert(Queue.offsetOf("items") === 32);
 * using shm = SharedMemory.create(`/doc-slot-sem-${Date.now()}`, 4096);
 * const q = Queue.init(shm, 0, { values: { free: 16 } });
 * console.assert(q.free.tryWait() && q.free.value === 15);
 * shm.unlink();
 * ```
 */
export const semaphore: SlotType<Semaphore> = slot(
  Semaphore,
  "semaphore",
  (region, o, value) => Semaphore.init(region, o, value ?? 0),
  integerIn(0, 0x7fffffff, "semaphore"),
);

/**
 * A slot for a `Flag`: a plain C `int` that processes wait on (futex), like
 * `written_by_you` in `struct shared_use_st`. The layout's `init()` sets it to
 * 0 or the value given in `values`.
 *
 * @example The docs' shared_use_st with a proper handshake
 * ```ts
 * import { char, flag, SharedMemory, struct } from "../mod.ts";
 *
 * const Shared = struct({ writtenByYou: flag, someText: char(2048) });
 * console.assert(Shared.offsetOf("someText") === 4 && Shared.byteLength === 2052);
 * using shm = SharedMemory.create(`/doc-slot-flag-${Date.now()}`, 4096);
 * const shared = Shared.init(shm, 0);
 * shared.someText = "hello";
 * shared.writtenByYou.set(1);            // wakes a reader waiting with waitFor(1)
 * console.assert(shared.writtenByYou.value === 1);
 * shm.unlink();
 * ```
 */
export const flag: SlotType<Flag> = slot(
  Flag,
  "flag",
  (region, o, value) => Flag.init(region, o, value ?? 0),
  integerIn(-0x80000000, 0x7fffffff, "flag"),
);
