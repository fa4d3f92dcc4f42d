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
 * @module
 */
import * as sync from "../sync/mod.ts";
import { platform } from "../ffi/_platform.ts";
import type { SharedRegion } from "../ffi/region.ts";
import { type Binding, live } from "./_binding.ts";
import { defineType, describe, type Entry, type FieldType } from "./_field.ts";

/**
 * Where a slot's primitive lives, given instead of the primitive itself when
 * `sync/` does not provide that class.
 *
 * @example
 * ```ts
 * import { type SlotPlace } from "../mod.ts";
 * function describePlace(place: SlotPlace): string {
 *   return `byte ${place.byteOffset} of a ${place.region.size}-byte region`;
 * }
 * console.assert(typeof describePlace === "function");
 * ```
 */
export interface SlotPlace {
  readonly region: SharedRegion;
  readonly byteOffset: number;
}

type SyncName = "Mutex" | "Semaphore" | "Flag";

/**
 * What reading a slot gives: the attached sync object, e.g. a `Mutex`.
 *
 * @example
 * ```ts
 * import { type Attached, Mutex } from "../mod.ts";
 * const isMutex = (m: Attached<"Mutex">): m is Mutex => m instanceof Mutex;
 * console.assert(typeof isMutex === "function");
 * ```
 */
export type Attached<N extends SyncName> = typeof sync extends {
  readonly [K in N]: { attach(region: SharedRegion, byteOffset: number): infer R };
} ? R
  : SlotPlace;

interface SyncClass {
  readonly byteLength?: number;
  readonly alignment?: number;
  init(region: SharedRegion, byteOffset: number, value?: number): unknown;
  attach(region: SharedRegion, byteOffset: number): unknown;
}

function syncClass(name: SyncName): SyncClass | undefined {
  const found = (sync as Record<string, unknown>)[name];
  return typeof found === "function" ? found as unknown as SyncClass : undefined;
}

function sizeOf(cls: SyncClass | undefined, byteLength: number, alignment: number) {
  const n = cls?.byteLength;
  const a = cls?.alignment;
  return {
    byteLength: typeof n === "number" && n > 0 ? n : byteLength,
    alignment: typeof a === "number" && a > 0 ? a : alignment,
  };
}

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
  /** Which primitive the slot holds. */
  readonly slot: string;
}

function slot<T>(
  syncName: SyncName,
  typeName: string,
  fallback: { byteLength: number; alignment: number },
  checkInitial: (value: unknown, where: string) => number | undefined,
): SlotType<T> {
  const cls = syncClass(syncName);
  const { byteLength, alignment } = sizeOf(cls, fallback.byteLength, fallback.alignment);
  const descriptor = `${typeName}(${byteLength} bytes)`;
  return defineType<T, { readonly slot: string }>({
    name: typeName,
    descriptor,
    byteLength,
    alignment,
    kind: "slot",
    stable: false,
    hasSlots: true,
    read(b: Binding, o: number): unknown {
      live(b, o, byteLength);
      return cls !== undefined
        ? cls.attach(b.region, o)
        : Object.freeze({ region: b.region, byteOffset: o });
    },
    prepare(value: unknown, where: string, init: boolean): number | undefined {
      if (!init) {
        throw new TypeError(
          `${where} is a ${typeName} slot and cannot be assigned; use the ${syncName} it gives`,
        );
      }
      return value === undefined ? undefined : checkInitial(value, where);
    },
    store(): void {
      // Slots are never overwritten by assigning their parent.
    },
    initialize(b: Binding, o: number, prepared: unknown): void {
      live(b, o, byteLength);
      const value = prepared as number | undefined;
      if (cls !== undefined) {
        if (syncName === "Mutex") cls.init(b.region, o);
        else cls.init(b.region, o, value ?? 0);
      } else if (syncName === "Flag" && value !== undefined) {
        b.dv.setInt32(o, value, true);
      }
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
export const mutex: SlotType<Attached<"Mutex">> = slot(
  "Mutex",
  "mutex",
  { byteLength: platform.PTHREAD_MUTEX_SIZE, alignment: platform.PTHREAD_MUTEX_ALIGN },
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
export const semaphore: SlotType<Attached<"Semaphore">> = slot(
  "Semaphore",
  "semaphore",
  { byteLength: platform.SEM_T_SIZE, alignment: platform.SEM_T_ALIGN },
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
export const flag: SlotType<Attached<"Flag">> = slot(
  "Flag",
  "flag",
  { byteLength: 4, alignment: 4 },
  integerIn(-0x80000000, 0x7fffffff, "flag"),
);
