/**
 * What each Worker thread holds (mappings with their descriptor, named
 * semaphore handles), listed where every thread of the process can see it,
 * so that another thread releases it once the Worker is gone.
 *
 * A terminated Worker runs no more JavaScript and its FinalizationRegistry
 * never fires; a Worker that finishes on its own does not run its finalizers
 * either. Its mappings, descriptors and sem_open handles would stay for the
 * life of the process. Every isolate has its own copy of this module, so the
 * list lives outside JavaScript: one anonymous mapping per process, whose
 * address is published once in the C environment as `SHMKIT_REGISTRY_<pid>`
 * (glibc's setenv serializes writers; with overwrite=0 racing first threads
 * agree on one list and the losers unmap theirs). The variable is set only
 * once a Worker opens something, and a thread stops reading it once found.
 * Children inherit it, harmlessly: the pid in the name keeps them from
 * trusting their parent's address, and the address must also be mapped and
 * carry the list's magic word before it is used.
 *
 * Each entry is owned by a thread, named by the identity of _thread.ts
 * (thread id and start-time tag). An entry goes in when memory is mapped or
 * a semaphore opened, and out when it is closed or finalized. Entries whose
 * thread died are claimed with a compare-and-swap and released:
 * - at every map or sem_open in any thread (a dead thread is one whose id no
 *   longer exists);
 * - about once a second from an unref'd timer of each thread that loaded
 *   shmkit (that check also reads the start time, so a reused id is seen).
 *
 * So what a Worker held is released within about a second of its thread's
 * end while any other thread that loaded shmkit runs its event loop, and at
 * the latest at the next open anywhere. (A terminated Worker's thread ends at
 * once in Bun; Deno tears the isolate down first, which took up to about 2.5
 * s for 40 Workers on a busy two-core machine.) A thread is judged dead only
 * when its id is gone or now names a task with another start time; while
 * unsure, nothing is released. The main thread never dies before the
 * process, so its objects are never listed.
 *
 * Memory is never unmapped by the sweep: the Worker may have transferred the
 * region's ArrayBuffer to a living thread, so the range is replaced with
 * private zero pages instead (see {@linkcode replaceWithZeroPages}).
 *
 * @module
 */
import { setInterval } from "node:timers";
import { backend, libc, platform } from "./_libc.ts";
import { cString } from "./_validate.ts";
import { mapAnonymous } from "./_fd.ts";
import { holderAlive, holderGone, threadIdentity } from "./_thread.ts";

/**
 * Swaps `byteLength` bytes at `address` for private, unreserved zero pages in
 * one mmap(MAP_FIXED) call. The shared object (file, POSIX or System V
 * segment) is dropped exactly as munmap/shmdt would (a System V segment's
 * attach count goes down), but the addresses stay valid, so a buffer that
 * escaped by transfer reads zeros instead of faulting or seeing shared data.
 * Costs address space only. Returns false on failure (errno is set).
 */
export function replaceWithZeroPages(address: bigint, byteLength: number): boolean {
  const { PROT_READ, PROT_WRITE, MAP_FIXED, MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE } = platform;
  const result = libc.mmap(
    backend.pointer(address),
    BigInt(byteLength),
    PROT_READ | PROT_WRITE,
    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    -1,
    0n,
  );
  return result === address;
}

/** What an entry holds: a mapping at its address, plus its descriptor unless -1. */
export const KIND_MAPPING = 1;
/** What an entry holds: a sem_open handle at its address. */
export const KIND_SEMAPHORE = 2;

// Layout: 32-byte slots of eight int32 words. Slot 0 is the header.
const SLOT_WORDS = 8;
const SLOTS = 32768;
const BYTES = SLOTS * SLOT_WORDS * 4; // 1 MiB of address space; untouched pages cost nothing
const MAGIC = 0x73686d6b; // "shmk"
// Header words.
const H_MAGIC = 0;
const H_HIGH = 1; // slots [1, high) have ever been used
const H_LAST_SWEEP = 2; // seconds (Date.now() / 1000, truncated to int32) of the last timed sweep
// Slot words (relative to the slot's first word).
const S_OWNER = 0; // 0 free, a thread identity, or CLAIMED
const S_KIND = 1; // 0 while being written or released, else KIND_MAPPING or KIND_SEMAPHORE
const S_FD = 2;
// The address and length are the slot's third and fourth int64 (words 4-7).
const S_ADDRESS64 = 2;
const S_LENGTH64 = 3;

/** Owner word of an entry a sweeper is releasing; no identity has bit 31 set. */
const CLAIMED = -1;

interface Registry {
  words: Int32Array;
  longs: BigInt64Array;
}

const mainThread = libc.gettid() === libc.getpid();
const variable = cString(`SHMKIT_REGISTRY_${libc.getpid()}`);
let found: Registry | null = null;

function view(address: bigint): Registry {
  const buffer = backend.arrayBuffer(address, BYTES);
  return { words: new Int32Array(buffer), longs: new BigInt64Array(buffer) };
}

/** The address in the environment, if it names a live list of ours. */
function published(): bigint {
  const text = libc.getenv(variable);
  if (text === 0n) return 0n;
  const length = Number(libc.strlen(backend.pointer(text)));
  if (length === 0 || length > 16) return 0n;
  const chars = new Uint8Array(backend.arrayBuffer(text, length)).slice();
  const hex = new TextDecoder().decode(chars);
  if (!/^[0-9a-f]+$/.test(hex)) return 0n;
  const address = BigInt(`0x${hex}`);
  // The variable may be stale (inherited across an exec that kept the pid),
  // and its address a hole or a PROT_NONE reservation: look before touching.
  return readWord(address + BigInt(H_MAGIC * 4)) === MAGIC ? address : 0n;
}

/**
 * The 32-bit word at `address`, copied by the kernel (process_vm_readv on
 * this process), which answers EFAULT where a load would fault; null then.
 */
function readWord(address: bigint): number | null {
  let scratch: bigint;
  try {
    scratch = mapAnonymous(4096, "map a scratch page");
  } catch {
    return null;
  }
  try {
    // The local iovec at 0 names the destination at 16.
    const local = new BigUint64Array(backend.arrayBuffer(scratch, 24));
    local[0] = scratch + 16n;
    local[1] = 4n;
    const remote = new BigUint64Array([address, 4n]);
    const pid = backend.pointer(BigInt(libc.getpid()));
    const copied = libc.syscall(
      platform.SYS_process_vm_readv,
      pid,
      scratch,
      1,
      remote,
      backend.pointer(1n),
      0,
    );
    return Number(copied) === 4 ? Number(BigInt.asIntN(32, local[2])) : null;
  } finally {
    libc.munmap(backend.pointer(scratch), 4096n);
  }
}

function registry(create: boolean): Registry | null {
  if (found !== null) return found;
  let address = published();
  if (address === 0n && create) {
    let mine: bigint;
    try {
      mine = mapAnonymous(BYTES, "map the process-wide registry");
    } catch {
      return null; // no registry: only what Workers leave is not released
    }
    const words = view(mine).words;
    words[H_HIGH] = 1;
    Atomics.store(words, H_MAGIC, MAGIC);
    libc.setenv(variable, cString(mine.toString(16)), 0);
    address = published();
    if (address !== mine) libc.munmap(backend.pointer(mine), BigInt(BYTES));
  }
  if (address !== 0n) found = view(address);
  return found;
}

function release(registry: Registry, slot: number): void {
  const base = slot * SLOT_WORDS;
  const kind = Atomics.load(registry.words, base + S_KIND);
  const address = registry.longs[slot * 4 + S_ADDRESS64];
  if (kind === KIND_MAPPING) {
    replaceWithZeroPages(address, Number(registry.longs[slot * 4 + S_LENGTH64]));
    const fd = registry.words[base + S_FD];
    if (fd >= 0) libc.close(fd);
  } else if (kind === KIND_SEMAPHORE) {
    libc.sem_close(backend.pointer(address));
  }
}

/**
 * Releases what threads that ended left listed. `thorough` also compares
 * start times, so that an id reused by a new thread does not hide an end.
 */
export function sweep(thorough = false): void {
  const list = registry(false);
  if (list === null) return;
  const { words } = list;
  const high = Atomics.load(words, H_HIGH);
  const me = mainThread ? 0 : threadIdentity();
  const verdicts = new Map<number, boolean>();
  for (let slot = 1; slot < high; slot++) {
    const base = slot * SLOT_WORDS;
    const owner = Atomics.load(words, base + S_OWNER);
    if (owner === 0 || owner === CLAIMED || owner === me) continue;
    // An entry still being written has kind 0; its owner finishes it.
    if (Atomics.load(words, base + S_KIND) === 0 && !holderGone(owner)) continue;
    let dead = verdicts.get(owner);
    if (dead === undefined) {
      dead = thorough ? !holderAlive(owner) : holderGone(owner);
      verdicts.set(owner, dead);
    }
    if (!dead) continue;
    if (Atomics.compareExchange(words, base + S_OWNER, owner, CLAIMED) !== owner) continue;
    try {
      release(list, slot);
    } finally {
      Atomics.store(words, base + S_KIND, 0);
      Atomics.store(words, base + S_OWNER, 0);
    }
  }
}

/**
 * Lists a resource of this thread (after sweeping what ended threads left).
 * Returns the entry to pass to {@linkcode untrack}, or 0 when nothing was
 * listed: on the main thread, or when the list is full or unavailable.
 */
export function track(kind: number, address: bigint, byteLength: number, fd = -1): number {
  sweep();
  if (mainThread) return 0;
  const list = registry(true);
  if (list === null) return 0;
  const { words, longs } = list;
  const me = threadIdentity();
  for (let slot = 1; slot < SLOTS; slot++) {
    const base = slot * SLOT_WORDS;
    if (Atomics.load(words, base + S_OWNER) !== 0) continue;
    if (Atomics.compareExchange(words, base + S_OWNER, 0, me) !== 0) continue;
    words[base + S_FD] = fd;
    longs[slot * 4 + S_ADDRESS64] = address;
    longs[slot * 4 + S_LENGTH64] = BigInt(byteLength);
    Atomics.store(words, base + S_KIND, kind);
    for (let high = Atomics.load(words, H_HIGH); high <= slot;) {
      const seen = Atomics.compareExchange(words, H_HIGH, high, slot + 1);
      if (seen === high) break;
      high = seen;
    }
    startTimer();
    return slot;
  }
  return 0;
}

/** Takes an entry of this thread off the list, before the resource is released. */
export function untrack(slot: number): void {
  if (slot === 0 || found === null) return;
  const base = slot * SLOT_WORDS;
  Atomics.store(found.words, base + S_KIND, 0);
  Atomics.compareExchange(found.words, base + S_OWNER, threadIdentity(), 0);
}

// One timed sweep a second for the whole process, whichever thread's timer
// comes first; the rest see the stamp and skip.
function timedSweep(): void {
  const list = registry(false);
  if (list === null) return;
  const now = Math.floor(Date.now() / 1000) | 0;
  const last = Atomics.load(list.words, H_LAST_SWEEP);
  if (last === now) return;
  if (Atomics.compareExchange(list.words, H_LAST_SWEEP, last, now) !== last) return;
  sweep(true);
}

let timer: { unref(): unknown } | null = null;

function startTimer(): void {
  if (timer !== null) return;
  // Unref'd: it never keeps a process or Worker alive, and a failing sweep
  // must not surface as an uncaught error in someone's program.
  timer = setInterval(() => {
    try {
      timedSweep();
    } catch {
      // Nothing to report to; the next tick or open tries again.
    }
  }, 1000);
  timer.unref();
}

// Every thread that loads shmkit checks; the main thread matters most, as it
// outlives every Worker.
startTimer();
