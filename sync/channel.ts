/**
 * A message channel in one POSIX shared memory object: a ring of
 * variable-length messages that any number of processes send to and
 * receive from.
 *
 * @module
 */
import type { WaitOptions } from "../ffi/wait_options.ts";
import {
  abortError,
  type CheckedWait,
  checkWaitOptions,
  describe,
  holderAlive,
  onRelease,
  openOrCreate,
  platform,
  threadIdentity,
  timeoutError,
  validateInteger,
  validateOptions,
} from "../ffi/internal.ts";
import { ClosedError, CorruptedError, ErrnoError } from "../ffi/errors.ts";
import { SharedMemory } from "../ffi/shared_memory.ts";
import { futexWait, futexWake, WAKE_ALL } from "./_futex.ts";
import {
  DEFAULT_CAPACITY,
  type Geometry,
  HEADER_BYTES,
  KIND_MESSAGE,
  KIND_PAD,
  largestMessage,
  MAX_CAPACITY,
  MIN_CAPACITY,
  readHeader,
  RECORD_HEADER,
  recordBytes,
  SLOT_COUNT,
  W,
  writeHeader,
} from "./_channel_header.ts";
import { Serial } from "./_serial.ts";
import { monotonicMs } from "./_time.ts";
import { waitLoop } from "./_wait_loop.ts";
import { ChannelEndedError, ChannelFormatError } from "./channel_errors.ts";
import { BorrowedMessage, lendMessage, putBack } from "./borrowed_message.ts";
import { Mutex, type MutexGuard } from "./mutex.ts";

/**
 * How long a waiting receiver sleeps before it looks on its own: how late
 * it notices that the last sender died.
 */
const LIVENESS_MS = 100;

/**
 * How many looks at the other side's word a waiting side takes before it
 * sleeps (one look: 10-25 ns). A message crosses between cores in well
 * under a microsecond, while a sleep and its wake-up cost two system calls
 * of several each: when one side is only slightly faster, spinning a few
 * microseconds keeps both out of the kernel. Longer spins only take the
 * CPU from the other side on a machine with few cores.
 */
const SPINS = 200;

/** Marks a claim word that holds a position (positions are multiples of 8). */
const CLAIMED = 1;

/** Messages up to this long are copied byte by byte: a view costs more. */
const SHORT_COPY = 64;

/** How long `open` waits for a creator to finish writing the header. */
const HEADER_WAIT_MS = 500;
/** A word nobody changes: `Atomics.wait` on it sleeps 1 ms. */
const nap = new Int32Array(new SharedArrayBuffer(4));

// What a look for the next message found instead of one.
const EMPTY = -1;
const END = -2;

// What a take does with the message it found.
const COPY = 0;
const INTO = 1;
const BORROW = 2;
type How = typeof COPY | typeof INTO | typeof BORROW;

const DONE = { value: undefined };

/** Options of {@linkcode Channel.create}. */
export interface ChannelCreateOptions {
  /**
   * Bytes of ring, from 64 to 2^30, rounded up to a multiple of 8
   * (default 1 MiB). Each message takes its length rounded up to 8, plus 8.
   */
  capacity?: number;
  /**
   * The largest message in bytes; at most, and by default, half the
   * capacity minus 8, so that a message always fits once the ring drains.
   */
  maxMessage?: number;
  /** Permission bits of the new object (default `0o600`), given exactly. */
  mode?: number;
}

/** A reservation: the send lock and where the message goes. */
interface Reservation {
  readonly guard: MutexGuard;
  readonly tail: number;
  readonly pad: number;
  readonly offset: number;
  readonly length: number;
}

/** What a handle leaves behind for `dropped`: not the handle itself. */
interface Dropped {
  readonly shm: SharedMemory;
  readonly header: Int32Array;
  slot: number;
  identity: number;
}

/**
 * A handle collected without `close()` gives its sender slot back (so the
 * stream can end, and the slot serves another sender) and its mapping.
 */
const dropped = new FinalizationRegistry<Dropped>(({ shm, header, slot, identity }) => {
  try {
    if (slot >= 0 && !shm.closed) Atomics.compareExchange(header, W.firstSlot + slot, identity, 0);
  } finally {
    shm.close();
  }
});

/**
 * A message channel in shared memory: a ring of variable-length messages
 * in one POSIX shared memory object that processes of Deno and Bun (and
 * Workers) open by name. Many of them may send and receive at once (up to
 * 768 sending handles; receivers are not counted):
 * each message goes to exactly one receiver, whole, and in the order the
 * ring got them. One sender with one receiver makes no system call while
 * the ring is neither empty nor full: the sides meet through `Atomics` on
 * the mapping, and wake each other only when one sleeps.
 *
 * **End of stream.** A handle becomes a sender the first time it sends
 * or tries to (`send`, `trySend`, `sendAsync`, the `reserve` calls, a
 * `writable` closing). When every handle that has sent has closed (or its thread or process
 * died: waiting receivers notice within about 100 ms), receivers get what
 * is left, then the end: `recv()` returns `null`, iteration finishes, and
 * `readable` closes. A handle that only receives never holds the stream
 * open, and `end()` ends it at once. Sending after the end throws
 * {@linkcode ChannelEndedError}.
 *
 * **Crashes.** A sender killed halfway through a message publishes nothing
 * of it (a message becomes visible with one store, after it was written),
 * and the next sender takes over the sending side. A receiver killed
 * inside `recv()` (or `recvInto`, `recvAsync`) never returned the message
 * it was copying, so the next receiver gets it. One killed while holding a
 * borrowed message loses that message (its code saw it): the next receiver
 * skips it and goes on with the one after. So a crash loses at most the
 * one message lent out, and never delivers a torn or repeated one.
 *
 * **Threads.** Each side is guarded by a shmkit {@linkcode Mutex}, held by
 * a thread only while it copies one message, or from `reserve()` to
 * `commit()` and from `borrow()` to `release()`. While one handle holds a
 * side that way, blocking calls of another handle in the same thread on
 * the same side fail with `EDEADLK` instead of hanging; async calls wait.
 *
 * The format is documented in `sync/_channel_header.ts`.
 *
 * @example One process creates, others open; the last sender ends the stream
 * ```ts
 * import { Channel } from "../mod.ts";
 * const name = `/doc-channel-${Date.now()}`;
 * using ch = Channel.create(name, { capacity: 1 << 16 });
 * {
 *   using tx = Channel.open(name); // in another process, as a rule
 *   tx.send(new TextEncoder().encode("hello"));
 *   await tx.sendAsync(new TextEncoder().encode("world"), { timeout: 1000 });
 * } // tx closes: it was the only sender, so the stream ends
 * const words: string[] = [];
 * for await (const message of ch) words.push(new TextDecoder().decode(message));
 * console.assert(words.join(" ") === "hello world");
 * ch.unlink();
 * ```
 */
export class Channel implements Disposable, AsyncIterable<Uint8Array>, Iterable<Uint8Array> {
  readonly #shm: SharedMemory;
  readonly #name: string;
  readonly #what: string;
  readonly #capacity: number;
  readonly #maxMessage: number;
  readonly #header: Int32Array;
  readonly #data: Uint8Array;
  readonly #records: Int32Array;
  readonly #sendLock: Mutex;
  readonly #recvLock: Mutex;
  readonly #sendSerial = new Serial();
  readonly #recvSerial = new Serial();
  #closed = false;
  /** The sender slot this handle took (-1 for none), shared with `dropped`. */
  readonly #held: Dropped;
  #reservation: Reservation | null = null;
  #borrowed: BorrowedMessage | null = null;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /** Names this handle in the header's last-sender and last-receiver words. */
  readonly #token = 1 + Math.floor(Math.random() * 0x7fff_fffe);

  // Sender side: the tail this handle last published, and a head seen then
  // (valid while this handle was the last to publish: no other sender
  // moved tail, so head cannot have lapped the cached value).
  #lastTail = -1;
  #headSeen = 0;
  // Set by #room for the publish that follows.
  #putPad = 0;
  #putOffset = 0;

  // Receiver side: the head this handle last stored, and a tail seen then.
  #lastHead = -1;
  #tailSeen = 0;
  // Set by #find for the take that follows.
  #takeNext = 0;
  #takeLength = 0;

  private constructor(shm: SharedMemory, name: string, geometry: Geometry) {
    this.#shm = shm;
    this.#name = name;
    this.#what = `channel "${name}"`;
    this.#capacity = geometry.capacity;
    this.#maxMessage = geometry.maxMessage;
    this.#header = shm.view(Int32Array, 0, HEADER_BYTES / 4);
    this.#data = shm.view(Uint8Array, HEADER_BYTES, geometry.capacity);
    this.#records = shm.view(Int32Array, HEADER_BYTES, geometry.capacity / 4);
    this.#sendLock = Mutex.attach(shm, W.sendMutex * 4);
    this.#recvLock = Mutex.attach(shm, W.recvMutex * 4);
    this.#held = { shm, header: this.#header, slot: -1, identity: 0 };
    dropped.register(this, this.#held, this);
  }

  /**
   * Creates a new channel: a shared memory object named `name`, made with
   * `O_EXCL` and mode `0o600` unless `mode` says otherwise.
   *
   * @param name A name like `"/jobs"`.
   * @param options `capacity`, `maxMessage` and `mode`.
   * @throws {TypeError|RangeError} On a bad name or option, before anything
   *   is made.
   * @throws {ErrnoError} `EEXIST` if the name is taken.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-create-${Date.now()}`, { capacity: 1 << 20 });
   * console.assert(ch.capacity === 1 << 20 && ch.maxMessage === (1 << 19) - 8);
   * ch.unlink();
   * ```
   */
  static create(name: string, options?: ChannelCreateOptions): Channel {
    const { capacity, maxMessage } = checkCreate(options);
    const shm = SharedMemory.create(name, HEADER_BYTES + capacity, { mode: options?.mode });
    try {
      writeHeader(shm.view(Int32Array, 0, HEADER_BYTES / 4), capacity, maxMessage);
      return new Channel(shm, name, { capacity, maxMessage });
    } catch (error) {
      shm.close();
      SharedMemory.unlink(name);
      throw error;
    }
  }

  /**
   * Opens an existing channel. Its header is checked before anything in
   * it is trusted.
   *
   * @param name The channel's name.
   * @throws {ErrnoError} `ENOENT` if there is no such object.
   * @throws {ChannelFormatError} If the object is not a channel, or one of
   *   another format version.
   * @throws {CorruptedError} If its header holds impossible numbers.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * const name = `/doc-channel-open-${Date.now()}`;
   * using made = Channel.create(name, { capacity: 4096 });
   * using opened = Channel.open(name);
   * console.assert(opened.capacity === 4096);
   * made.unlink();
   * ```
   */
  static open(name: string): Channel {
    return Channel.#join(Channel.#openObject(name), name);
  }

  /**
   * `SharedMemory.open`, waiting while a creator has made the object but
   * not sized it yet (an empty object cannot be mapped: EINVAL).
   */
  static #openObject(name: string): SharedMemory {
    const until = monotonicMs() + HEADER_WAIT_MS;
    for (;;) {
      try {
        return SharedMemory.open(name);
      } catch (error) {
        const unsized = error instanceof ErrnoError && error.errno === platform.EINVAL;
        if (!unsized || monotonicMs() >= until) throw error;
        Atomics.wait(nap, 0, 0, 1);
      }
    }
  }

  /**
   * Opens the channel `name`, or creates it with `options` if there is
   * none; a process racing to create it waits for the header.
   *
   * @param name The channel's name.
   * @param options Used only when the channel is created.
   * @throws {ChannelFormatError} If the object is not a channel.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * const name = `/doc-channel-ooc-${Date.now()}`;
   * using a = Channel.openOrCreate(name, { capacity: 4096 });
   * using b = Channel.openOrCreate(name);
   * console.assert(b.capacity === 4096);
   * a.unlink();
   * ```
   */
  static openOrCreate(name: string, options?: ChannelCreateOptions): Channel {
    checkCreate(options);
    const { EEXIST, ENOENT } = platform;
    // Not SharedMemory.openOrCreate: an existing channel keeps its size.
    return openOrCreate(
      {
        tryCreate: () => nullOn(EEXIST, () => Channel.create(name, options)),
        tryOpen: () => nullOn(ENOENT, () => Channel.open(name)),
      },
      "shm_open",
      `channel "${name}"`,
      name,
    ).handle;
  }

  static #join(shm: SharedMemory, name: string): Channel {
    try {
      const what = `shared memory "${name}"`;
      if (shm.size < HEADER_BYTES) {
        throw new ChannelFormatError(
          what,
          `it is ${shm.size} bytes, smaller than a channel's ${HEADER_BYTES}-byte header`,
        );
      }
      const words = shm.view(Int32Array, 0, HEADER_BYTES / 4);
      // A creator maps the object before it writes the header: give it time.
      const until = monotonicMs() + HEADER_WAIT_MS;
      while (Atomics.load(words, W.magic0) === 0 && monotonicMs() < until) {
        Atomics.wait(nap, 0, 0, 1);
      }
      return new Channel(shm, name, readHeader(words, shm.size, what));
    } catch (error) {
      shm.close();
      throw error;
    }
  }

  /**
   * Removes the name; handles already open keep working.
   *
   * @param name The channel's name.
   * @throws {ErrnoError} `ENOENT` if there is no such object.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * const name = `/doc-channel-unlink-${Date.now()}`;
   * Channel.create(name).close();
   * Channel.unlink(name);
   * ```
   */
  static unlink(name: string): void {
    SharedMemory.unlink(name);
  }

  /**
   * Removes this channel's name (see {@linkcode Channel.unlink}).
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-unlink2-${Date.now()}`);
   * ch.unlink();
   * ```
   */
  unlink(): void {
    SharedMemory.unlink(this.#name);
  }

  /**
   * The channel's name.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * const name = `/doc-channel-name-${Date.now()}`;
   * using ch = Channel.create(name);
   * console.assert(ch.name === name);
   * ch.unlink();
   * ```
   */
  get name(): string {
    return this.#name;
  }

  /**
   * Bytes of ring.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-cap-${Date.now()}`, { capacity: 1000 });
   * console.assert(ch.capacity === 1000);
   * ch.unlink();
   * ```
   */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * The largest message in bytes.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-max-${Date.now()}`, { maxMessage: 100 });
   * console.assert(ch.maxMessage === 100);
   * ch.unlink();
   * ```
   */
  get maxMessage(): number {
    return this.#maxMessage;
  }

  /**
   * True once the stream has ended (messages may still wait in the ring).
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-ended-${Date.now()}`);
   * ch.end();
   * console.assert(ch.ended);
   * ch.unlink();
   * ```
   */
  get ended(): boolean {
    this.#checkOpen();
    if (Atomics.load(this.#header, W.ended) !== 0) return true;
    this.#lookForEnd();
    return Atomics.load(this.#header, W.ended) !== 0;
  }

  /**
   * True when this handle created the channel (`create`, or the
   * `openOrCreate` call that made it).
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * const name = `/doc-channel-created-${Date.now()}`;
   * using a = Channel.openOrCreate(name);
   * using b = Channel.openOrCreate(name);
   * console.assert(a.created && !b.created);
   * a.unlink();
   * ```
   */
  get created(): boolean {
    return this.#shm.created;
  }

  /**
   * True after `close()`.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * const ch = Channel.create(`/doc-channel-closed-${Date.now()}`);
   * ch.unlink();
   * ch.close();
   * console.assert(ch.closed);
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends one message, blocking this thread while the ring is full. A
   * sender that had to sleep is woken once the ring is at most half full
   * (or after 100 ms), so that it wakes to room for many messages.
   *
   * @param message The bytes: a `Uint8Array` or any `ArrayBufferView`.
   * @throws {TypeError} If `message` is no `ArrayBufferView`.
   * @throws {RangeError} If it is longer than `maxMessage`; nothing is sent.
   * @throws {ChannelEndedError} If the stream has ended.
   * @throws {ClosedError} After `close()`.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-send-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([1, 2, 3]));
   * console.assert(ch.recv()?.length === 3);
   * ch.unlink();
   * ```
   */
  send(message: ArrayBufferView): void {
    const bytes = this.#outgoing(message);
    for (;;) {
      const guard = this.#sendLock.lock();
      let seen: number;
      try {
        const tail = this.#room(bytes.length);
        if (tail >= 0) return this.#put(tail, bytes);
        seen = Atomics.load(this.#header, W.head);
      } finally {
        guard.unlock();
      }
      this.#sleepForRoom(seen);
    }
  }

  /**
   * Sends one message if the ring has room for it now.
   *
   * @param message The bytes.
   * @returns False when the ring is full, or another sender is sending
   *   (also through another handle of this thread).
   * @throws {TypeError|RangeError|ChannelEndedError|ClosedError} As `send`.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-trysend-${Date.now()}`, { capacity: 128 });
   * console.assert(ch.trySend(new Uint8Array(56))); // 64 bytes of ring each
   * console.assert(ch.trySend(new Uint8Array(56)));
   * console.assert(!ch.trySend(new Uint8Array(56))); // full
   * ch.unlink();
   * ```
   */
  trySend(message: ArrayBufferView): boolean {
    const bytes = this.#outgoing(message);
    const guard = this.#trySendLock();
    if (guard === null) return false;
    try {
      const tail = this.#room(bytes.length);
      if (tail < 0) return false;
      this.#put(tail, bytes);
      return true;
    } finally {
      guard.unlock();
    }
  }

  /**
   * Sends one message without blocking the event loop. Calls of one
   * handle send in call order. On a timeout or an abort the promise
   * rejects with a `DOMException` (`"TimeoutError"`, `"AbortError"`) and
   * the message was not sent; once it resolves, it was.
   *
   * @param message The bytes.
   * @param options `timeout` in ms (default `Infinity`) and `signal`.
   * @throws {TypeError|RangeError|ChannelEndedError|ClosedError} As
   *   rejections, as `send`.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-sendasync-${Date.now()}`, { capacity: 4096 });
   * await ch.sendAsync(new Uint8Array([1]), { timeout: 1000 });
   * console.assert(ch.recv()?.[0] === 1);
   * ch.unlink();
   * ```
   */
  sendAsync(message: ArrayBufferView, options?: WaitOptions): Promise<void> {
    try {
      const checked = checkWaitOptions(options);
      if (checked.signal?.aborted) {
        this.#checkMessage(message);
        throw abortError(checked.signal, this.#what);
      }
      const bytes = this.#outgoing(message);
      if (this.#sendSerial.idle && this.#trySendNow(bytes)) return Promise.resolve();
      return this.#sendSerial.run(
        checked,
        this.#what,
        (deadline) =>
          this.#lockRoom(bytes.length, checked, deadline, (guard, tail) => {
            try {
              this.#put(tail, bytes);
            } finally {
              guard.unlock();
            }
          }),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Reserves room for a message of `length` bytes and returns it: a
   * writable view into the ring, blocking while the ring is full. Write the
   * message there, then `commit()` publishes it (zero-copy). Until then the
   * sending side is held (other senders wait).
   *
   * @param length The most bytes the message will have.
   * @returns A view of `length` bytes in the shared ring.
   * @throws {RangeError} If `length` is over `maxMessage`.
   * @throws {ChannelEndedError|ClosedError} As `send`.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-reserve-${Date.now()}`, { capacity: 4096 });
   * const view = ch.reserve(16);
   * const { written } = new TextEncoder().encodeInto("zero-copy", view);
   * ch.commit(written);
   * console.assert(new TextDecoder().decode(ch.recv()!) === "zero-copy");
   * ch.unlink();
   * ```
   */
  reserve(length: number): Uint8Array {
    this.#reserving(length);
    for (;;) {
      const guard = this.#sendLock.lock();
      let seen: number;
      try {
        const tail = this.#room(length);
        if (tail >= 0) return this.#reserved(guard, tail, length);
        seen = Atomics.load(this.#header, W.head);
      } catch (error) {
        guard.unlock();
        throw error;
      }
      guard.unlock();
      this.#sleepForRoom(seen);
    }
  }

  /**
   * Like `reserve`, but returns null instead of waiting.
   *
   * @param length The most bytes the message will have.
   * @returns The view, or null when the ring is full or another sender is
   *   sending.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-tryreserve-${Date.now()}`, { capacity: 64 });
   * const view = ch.tryReserve(8);
   * if (view !== null) ch.commit();
   * ch.unlink();
   * ```
   */
  tryReserve(length: number): Uint8Array | null {
    this.#reserving(length);
    const guard = this.#trySendLock();
    if (guard === null) return null;
    try {
      const tail = this.#room(length);
      if (tail >= 0) return this.#reserved(guard, tail, length);
    } catch (error) {
      guard.unlock();
      throw error;
    }
    guard.unlock();
    return null;
  }

  /**
   * Like `reserve`, without blocking the event loop.
   *
   * @param length The most bytes the message will have.
   * @param options `timeout` in ms and `signal`.
   * @returns The view.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-reserveasync-${Date.now()}`, { capacity: 4096 });
   * const view = await ch.reserveAsync(4, { timeout: 1000 });
   * view.set([1, 2, 3, 4]);
   * ch.commit();
   * ch.unlink();
   * ```
   */
  reserveAsync(length: number, options?: WaitOptions): Promise<Uint8Array> {
    try {
      const checked = checkWaitOptions(options);
      this.#reserving(length);
      if (checked.signal?.aborted) throw abortError(checked.signal, this.#what);
      return this.#sendSerial.run(checked, this.#what, (deadline) =>
        this.#lockRoom(
          length,
          checked,
          deadline,
          (guard, tail) => this.#reserved(guard, tail, length),
        ));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes the reserved message: its first `length` bytes.
   *
   * @param length At most the reserved length (default: all of it).
   * @throws {TypeError} Without a reservation.
   * @throws {RangeError} On a bad `length`.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-commit-${Date.now()}`, { capacity: 4096 });
   * ch.reserve(100).set([9, 9]);
   * ch.commit(2);
   * console.assert(ch.recv()?.length === 2);
   * ch.unlink();
   * ```
   */
  commit(length?: number): void {
    this.#checkOpen();
    const reservation = this.#reservation;
    if (reservation === null) throw new TypeError(`Nothing is reserved on ${this.#what}`);
    const size = length ?? reservation.length;
    validateInteger(size, "length", 0, reservation.length);
    this.#reservation = null;
    try {
      this.#publish(reservation.tail, reservation.pad, reservation.offset, size);
    } finally {
      reservation.guard.unlock();
    }
  }

  /**
   * Drops the reservation: nothing is published. Does nothing without one.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-discard-${Date.now()}`, { capacity: 4096 });
   * ch.reserve(8);
   * ch.discard();
   * console.assert(ch.tryRecv() === null);
   * ch.unlink();
   * ```
   */
  discard(): void {
    const reservation = this.#reservation;
    if (reservation === null) return;
    this.#reservation = null;
    reservation.guard.unlock();
  }

  /**
   * Ends the stream now, for everyone: receivers get what is in the ring,
   * then the end; sending throws {@linkcode ChannelEndedError}. Waits for a
   * sender elsewhere that is in the middle of a message; this handle's own
   * reservation, if any, is discarded.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-end-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([1]));
   * ch.end();
   * console.assert(ch.recv()?.[0] === 1 && ch.recv() === null);
   * ch.unlink();
   * ```
   */
  end(): void {
    this.#checkOpen();
    this.discard();
    if (Atomics.load(this.#header, W.ended) !== 0) return;
    const guard = this.#sendLock.lock();
    try {
      this.#markEnded();
    } finally {
      guard.unlock();
    }
  }

  // -------------------------------------------------------------- receiving

  /**
   * Receives one message (a copy), blocking this thread while the ring is
   * empty.
   *
   * @returns The message, or null once the stream has ended and the ring
   *   is drained.
   * @throws {CorruptedError} If the ring holds something no sender wrote.
   * @throws {ClosedError} After `close()`.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-recv-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([5]));
   * ch.end();
   * console.assert(ch.recv()?.[0] === 5);
   * console.assert(ch.recv() === null);
   * ch.unlink();
   * ```
   */
  recv(): Uint8Array | null {
    return this.#receive(COPY) as Uint8Array | null;
  }

  /**
   * Receives one message if there is one now.
   *
   * @returns The message, or null when the ring is empty (check `ended`
   *   for the end of the stream) or another receiver is taking one.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-tryrecv-${Date.now()}`, { capacity: 4096 });
   * console.assert(ch.tryRecv() === null);
   * ch.send(new Uint8Array([1]));
   * console.assert(ch.tryRecv()?.[0] === 1);
   * ch.unlink();
   * ```
   */
  tryRecv(): Uint8Array | null {
    const got = this.#tryReceive(COPY);
    if (got === EMPTY) this.#lookForEnd();
    return typeof got === "number" ? null : got as Uint8Array;
  }

  /**
   * Receives one message without blocking the event loop. Calls of one
   * handle are served in call order. On a timeout or an abort the promise
   * rejects with a `DOMException` (`"TimeoutError"`, `"AbortError"`) and no
   * message was taken.
   *
   * @param options `timeout` in ms (default `Infinity`) and `signal`.
   * @returns The message, or null once the stream has ended and drained.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-recvasync-${Date.now()}`, { capacity: 4096 });
   * setTimeout(() => ch.send(new Uint8Array([3])), 10);
   * const message = await ch.recvAsync({ timeout: 5000 });
   * console.assert(message?.[0] === 3);
   * ch.unlink();
   * ```
   */
  recvAsync(options?: WaitOptions): Promise<Uint8Array | null> {
    return this.#receiveAsync(COPY, options) as Promise<Uint8Array | null>;
  }

  /**
   * Receives one message into `buffer`, blocking while the ring is empty.
   *
   * @param buffer Where the bytes go: a `Uint8Array` or any
   *   `ArrayBufferView`.
   * @returns The message's length, or null once the stream has ended and
   *   drained.
   * @throws {RangeError} If the next message is longer than `buffer`; it
   *   stays in the ring.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-recvinto-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([1, 2]));
   * const buffer = new Uint8Array(ch.maxMessage);
   * console.assert(ch.recvInto(buffer) === 2 && buffer[1] === 2);
   * ch.unlink();
   * ```
   */
  recvInto(buffer: ArrayBufferView): number | null {
    return this.#receive(INTO, this.#incoming(buffer)) as number | null;
  }

  /**
   * Receives one message without copying it: a view into the ring, lent
   * until it is released (`using`, or `release()`). Blocks while the ring
   * is empty. The receiving side stays held while it is lent.
   *
   * @returns The lent message, or null once the stream has ended and
   *   drained.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-borrow-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([4]));
   * {
   *   using message = ch.borrow()!;
   *   console.assert(message.bytes[0] === 4);
   * }
   * ch.unlink();
   * ```
   */
  borrow(): BorrowedMessage | null {
    return this.#receive(BORROW) as BorrowedMessage | null;
  }

  /**
   * Like `borrow`, but returns null instead of waiting.
   *
   * @returns The lent message, or null when there is none now.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-tryborrow-${Date.now()}`, { capacity: 4096 });
   * console.assert(ch.tryBorrow() === null);
   * ch.unlink();
   * ```
   */
  tryBorrow(): BorrowedMessage | null {
    const got = this.#tryReceive(BORROW);
    return typeof got === "number" ? null : got as BorrowedMessage;
  }

  /**
   * Like `borrow`, without blocking the event loop.
   *
   * @param options `timeout` in ms and `signal`.
   * @returns The lent message, or null at the end of the stream.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-borrowasync-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([6]));
   * using message = (await ch.borrowAsync({ timeout: 1000 }))!;
   * console.assert(message.bytes[0] === 6);
   * ch.unlink();
   * ```
   */
  borrowAsync(options?: WaitOptions): Promise<BorrowedMessage | null> {
    return this.#receiveAsync(BORROW, options) as Promise<BorrowedMessage | null>;
  }

  /**
   * Receives until the end of the stream, without blocking the event loop.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-iter-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([1]));
   * ch.end();
   * for await (const message of ch) console.assert(message[0] === 1);
   * ch.unlink();
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const message = await this.recvAsync();
      if (message === null) return;
      yield message;
    }
  }

  /**
   * Receives until the end of the stream, blocking this thread.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-synciter-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([1]));
   * ch.end();
   * for (const message of ch) console.assert(message[0] === 1);
   * ch.unlink();
   * ```
   */
  *[Symbol.iterator](): Generator<Uint8Array, void, undefined> {
    for (;;) {
      const message = this.recv();
      if (message === null) return;
      yield message;
    }
  }

  /**
   * The messages as a `ReadableStream`, for `pipeTo` and `pipeThrough`. It
   * takes a message from the ring only when it is read (no read-ahead),
   * and closes at the end of the stream. One stream per handle.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-channel-readable-${Date.now()}`, { capacity: 4096 });
   * ch.send(new TextEncoder().encode("text"));
   * ch.end();
   * let text = "";
   * for await (const part of ch.readable.pipeThrough(new TextDecoderStream())) text += part;
   * console.assert(text === "text");
   * ch.unlink();
   * ```
   */
  get readable(): ReadableStream<Uint8Array> {
    // A cancel (or an aborted pipe) aborts the read in flight, which then
    // takes nothing: no message is taken for a stream that can no longer
    // deliver it.
    if (this.#readable !== undefined) return this.#readable;
    const cancelled = new AbortController();
    return this.#readable = new ReadableStream<Uint8Array>({
      // The message is borrowed, and taken only once the stream can
      // still deliver it: a cancel that comes while the borrow resolves
      // puts it back.
      pull: async (controller) => {
        let borrowed: BorrowedMessage | null;
        try {
          borrowed = await this.borrowAsync({ signal: cancelled.signal });
        } catch (error) {
          if (cancelled.signal.aborted) return;
          throw error;
        }
        if (borrowed === null) return controller.close();
        if (cancelled.signal.aborted) return putBack(borrowed);
        const message = borrowed.bytes.slice();
        borrowed.release();
        controller.enqueue(message);
      },
      cancel: () => cancelled.abort(),
    }, { highWaterMark: 0 });
  }

  /**
   * A `WritableStream` whose chunks are sent as messages (`sendAsync`).
   * Closing or aborting it makes this handle a sender that is done (which
   * ends the stream if it was the last one), also when nothing was
   * written; the handle stays open for receiving.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using a = Channel.create(`/doc-channel-wa-${Date.now()}`, { capacity: 4096 });
   * using b = Channel.create(`/doc-channel-wb-${Date.now()}`, { capacity: 4096 });
   * a.send(new Uint8Array([1]));
   * a.end();
   * await a.readable.pipeTo(b.writable); // b's stream ends with a's
   * console.assert(b.recv()?.[0] === 1 && b.recv() === null);
   * a.unlink();
   * b.unlink();
   * ```
   */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      // An abort ends a write waiting for room (which then sent nothing).
      // (bun-types lack the controller's signal, which Bun has.)
      write: (chunk, controller) =>
        this.sendAsync(chunk, { signal: (controller as { signal?: AbortSignal }).signal }),
      // A writable that closes declares a sender done, even one that never
      // wrote: piping an empty stream into it ends this channel's stream too.
      close: () => this.#finishSending(),
      abort: () => this.#finishSending(),
    });
  }

  // --------------------------------------------------------------- closing

  /**
   * Closes this handle: a pending reservation is dropped, a borrowed
   * message released, the handle stops being a sender (ending the stream
   * if it was the last one), and the mapping goes. Pending async calls
   * reject with {@linkcode ClosedError}. Idempotent.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * const ch = Channel.create(`/doc-channel-close-${Date.now()}`);
   * ch.unlink();
   * ch.close();
   * ch.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    try {
      this.discard();
      this.#borrowed?.release();
      this.#stopSending();
    } finally {
      this.#closed = true;
      dropped.unregister(this);
      this.#shm.close();
    }
  }

  /** Same as {@linkcode Channel.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------- internals

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(this.#what);
  }

  /** Checks a message to send, and makes this handle a sender. */
  #outgoing(message: unknown): Uint8Array {
    const bytes = this.#checkMessage(message);
    this.#sending();
    return bytes;
  }

  #checkMessage(message: unknown): Uint8Array {
    if (!ArrayBuffer.isView(message)) {
      throw new TypeError(
        `message must be a Uint8Array or another ArrayBufferView, got ${describe(message)}`,
      );
    }
    const bytes = message instanceof Uint8Array
      ? message
      : new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    if (bytes.length > this.#maxMessage) {
      throw new RangeError(
        `message is ${bytes.length} bytes; ${this.#what} takes at most ${this.#maxMessage}`,
      );
    }
    return bytes;
  }

  #reserving(length: unknown): void {
    validateInteger(length, "length", 0, this.#maxMessage);
    this.#sending();
  }

  #sending(): void {
    this.#checkOpen();
    if (this.#reservation !== null) {
      throw new TypeError(`commit() or discard() the reservation on ${this.#what} first`);
    }
    if (this.#held.slot < 0) this.#becomeSender();
  }

  #incoming(buffer: unknown): Uint8Array {
    if (!ArrayBuffer.isView(buffer)) {
      throw new TypeError(
        `buffer must be a Uint8Array or another ArrayBufferView, got ${describe(buffer)}`,
      );
    }
    return buffer instanceof Uint8Array
      ? buffer
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  /** A position word, checked: a corrupted one must not send a copy astray. */
  #position(index: number): number {
    const value = Atomics.load(this.#header, index);
    if ((value & 7) !== 0 || value < 0 || value >= 2 * this.#capacity) {
      throw new CorruptedError(this.#what, `a ring position is ${value}`);
    }
    return value;
  }

  /** Bytes between `from` and `to`, positions modulo 2 × capacity. */
  #span(from: number, to: number): number {
    const span = to - from;
    return span < 0 ? span + 2 * this.#capacity : span;
  }

  #offsetOf(position: number): number {
    return position >= this.#capacity ? position - this.#capacity : position;
  }

  // Sending, under the send lock.

  /**
   * Under the send lock: the tail if the ring has room for a message of
   * `length` bytes (setting #putPad and #putOffset), else -1.
   */
  #room(length: number): number {
    const header = this.#header;
    if (Atomics.load(header, W.ended) !== 0) throw new ChannelEndedError(this.#what);
    const capacity = this.#capacity;
    const tail = this.#position(W.tail);
    const offset = this.#offsetOf(tail);
    const size = recordBytes(length);
    const pad = capacity - offset >= size ? 0 : capacity - offset;
    const need = pad + size;
    if (
      tail !== this.#lastTail || Atomics.load(header, W.lastSender) !== this.#token ||
      capacity - this.#span(this.#headSeen, tail) < need
    ) {
      this.#headSeen = this.#position(W.head);
      this.#lastTail = tail;
      const used = this.#span(this.#headSeen, tail);
      if (used > capacity) throw new CorruptedError(this.#what, `${used} bytes are in use`);
      if (capacity - used < need) return -1;
    }
    this.#putPad = pad;
    this.#putOffset = (pad === 0 ? offset : 0) + RECORD_HEADER;
    return tail;
  }

  #put(tail: number, bytes: Uint8Array): void {
    this.#data.set(bytes, this.#putOffset);
    this.#publish(tail, this.#putPad, this.#putOffset, bytes.length);
  }

  /** Writes the record words and makes the message visible: one store. */
  #publish(tail: number, pad: number, offset: number, length: number): void {
    const records = this.#records;
    if (pad !== 0) {
      const at = this.#offsetOf(tail) >> 2;
      records[at] = pad - RECORD_HEADER;
      records[at + 1] = KIND_PAD;
    }
    const at = (offset - RECORD_HEADER) >> 2;
    records[at] = length;
    records[at + 1] = KIND_MESSAGE;
    let next = tail + pad + recordBytes(length);
    if (next >= 2 * this.#capacity) next -= 2 * this.#capacity;
    const header = this.#header;
    Atomics.store(header, W.tail, next);
    this.#lastTail = next;
    if (Atomics.load(header, W.lastSender) !== this.#token) {
      Atomics.store(header, W.lastSender, this.#token);
    }
    // One wake-up per sleep: the first publish after it clears the flag.
    if (
      Atomics.load(header, W.recvAsleep) !== 0 && Atomics.exchange(header, W.recvAsleep, 0) !== 0
    ) {
      futexWake(this.#tailPointer(), WAKE_ALL);
    }
  }

  #reserved(guard: MutexGuard, tail: number, length: number): Uint8Array {
    const offset = this.#putOffset;
    this.#reservation = { guard, tail, pad: this.#putPad, offset, length };
    return this.#data.subarray(offset, offset + length);
  }

  /** Blocks until head moves from `seen` (or a slice passes). */
  #sleepForRoom(seen: number): void {
    const header = this.#header;
    if (spinWhile(header, W.head, seen)) return;
    Atomics.store(header, W.sendAsleep, 1); // before the last look: no wake-up is lost
    if (Atomics.load(header, W.head) !== seen || Atomics.load(header, W.ended) !== 0) return;
    futexWait(this.#headPointer(), seen, monotonicMs() + LIVENESS_MS);
  }

  /** The send lock if it is free now; null also when this thread holds it through another handle. */
  #trySendLock(): MutexGuard | null {
    try {
      return this.#sendLock.tryLock();
    } catch (error) {
      if (isDeadlock(error)) return null;
      throw error;
    }
  }

  #trySendNow(bytes: Uint8Array): boolean {
    const guard = this.#trySendLock();
    if (guard === null) return false;
    try {
      const tail = this.#room(bytes.length);
      if (tail < 0) return false;
      this.#put(tail, bytes);
      return true;
    } finally {
      guard.unlock();
    }
  }

  /**
   * Takes the send lock (async) with room for `length` bytes, then runs
   * `then` with the lock held, in the same tick as the look at the room.
   */
  async #lockRoom<T>(
    length: number,
    checked: CheckedWait,
    deadline: number,
    then: (guard: MutexGuard, tail: number) => T,
  ): Promise<T> {
    for (;;) {
      this.#checkOpen();
      const guard = this.#stillOpen(await this.#lockAsync(this.#sendLock, checked, deadline));
      let seen: number;
      try {
        const tail = this.#room(length);
        if (tail >= 0) return then(guard, tail);
        seen = Atomics.load(this.#header, W.head);
      } catch (error) {
        guard.unlock();
        throw error;
      }
      guard.unlock();
      await this.#waitFor(W.head, W.sendAsleep, seen, checked, deadline);
    }
  }

  /**
   * A lock taken by `lockAsync` whose handle was closed before the caller
   * resumed: the close already gave it up (see `Mutex`); the call fails.
   */
  #stillOpen(guard: MutexGuard): MutexGuard {
    if (this.#closed) {
      guard.unlock(); // a no-op once the region is closed
      throw new ClosedError(this.#what);
    }
    return guard;
  }

  /** `mutex.lockAsync` until `deadline`; its TimeoutError names the channel. */
  async #lockAsync(mutex: Mutex, checked: CheckedWait, deadline: number): Promise<MutexGuard> {
    const timeout = deadline === Infinity ? Infinity : Math.max(0, deadline - monotonicMs());
    try {
      return await mutex.lockAsync({ timeout, signal: checked.signal });
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") {
        throw timeoutError(this.#what, checked.timeout);
      }
      throw error;
    }
  }

  /**
   * Waits (async) until the word at `index` moves from `seen`, or the
   * stream ends, raising the flag at `asleep` before each look so that the
   * other side wakes it. A quiet slice looks for dead senders.
   */
  #waitFor(
    index: number,
    asleep: number,
    seen: number,
    checked: CheckedWait,
    deadline: number,
  ): Promise<void> {
    const header = this.#header;
    const word = index === W.tail ? this.#tailPointer() : this.#headPointer();
    return waitLoop({
      what: this.#what,
      owner: this,
      sliceMs: LIVENESS_MS,
      poll: (sliceEnded) => {
        if (sliceEnded && index === W.tail) this.#endIfNoSenders(false);
        Atomics.store(header, asleep, 1); // before the look: no wake-up is lost
        if (Atomics.load(header, index) !== seen || Atomics.load(header, W.ended) !== 0) {
          return DONE;
        }
        return { word, expected: seen };
      },
      abandon: () => {},
      watch: (end) => onRelease(this.#shm, () => end(new ClosedError(this.#what)), HEADER_BYTES),
    }, { timeout: checked.timeout, signal: checked.signal, deadline });
  }

  // Senders and the end of the stream.

  #becomeSender(): void {
    const header = this.#header;
    const me = threadIdentity();
    for (let round = 0; round < 2; round++) {
      for (let slot = 0; slot < SLOT_COUNT; slot++) {
        if (Atomics.compareExchange(header, W.firstSlot + slot, 0, me) === 0) {
          this.#held.slot = slot;
          this.#held.identity = me;
          Atomics.store(header, W.sendersEver, 1);
          return;
        }
      }
      this.#sweepSenders();
    }
    throw new ErrnoError(
      platform.EAGAIN,
      "send",
      `send on ${this.#what}: all ${SLOT_COUNT} sender slots are taken by live senders`,
    );
  }

  /** Frees the slots of dead senders; true if a live one is left. */
  #sweepSenders(): boolean {
    const header = this.#header;
    let live = false;
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const holder = Atomics.load(header, W.firstSlot + slot);
      if (holder === 0) continue;
      if (holderAlive(holder)) live = true;
      else Atomics.compareExchange(header, W.firstSlot + slot, holder, 0);
    }
    return live;
  }

  #finishSending(): void {
    this.#sending();
    this.#stopSending();
  }

  /** This handle stops being a sender: the stream ends if it was the last. */
  #stopSending(): void {
    if (this.#held.slot < 0) return;
    Atomics.store(this.#header, W.firstSlot + this.#held.slot, 0);
    this.#held.slot = -1;
    this.#endIfNoSenders(true);
  }

  /**
   * Ends the stream when someone has sent and no sender is left. Decided
   * under the send lock, which every send holds while it checks `ended`:
   * a sender that comes at the same time either is seen here, or sees the
   * end. `wait` false gives up when the lock is busy (a waiting receiver
   * looks again on its next slice).
   */
  #endIfNoSenders(wait: boolean): void {
    const header = this.#header;
    if (Atomics.load(header, W.sendersEver) === 0 || Atomics.load(header, W.ended) !== 0) return;
    if (this.#sweepSenders()) return;
    let guard: MutexGuard | null;
    try {
      guard = wait ? this.#sendLock.lock() : this.#sendLock.tryLock();
    } catch (error) {
      if (isDeadlock(error)) return; // this thread sends elsewhere: not the last
      throw error;
    }
    if (guard === null) return;
    try {
      if (!this.#sweepSenders()) this.#markEnded();
    } finally {
      guard.unlock();
    }
  }

  /**
   * For callers that poll (`ended`, `tryRecv` on an empty ring): looks for
   * dead senders as a waiting receiver does, at most once per slice.
   */
  #lookForEnd(): void {
    const now = monotonicMs();
    if (now < this.#nextLook) return;
    this.#nextLook = now + LIVENESS_MS;
    this.#endIfNoSenders(false);
  }
  #nextLook = 0;

  #markEnded(): void {
    Atomics.store(this.#header, W.ended, 1);
    futexWake(this.#tailPointer(), WAKE_ALL);
    futexWake(this.#headPointer(), WAKE_ALL);
  }

  #tailPointer() {
    return this.#shm.unsafePointer(W.tail * 4);
  }

  #headPointer() {
    return this.#shm.unsafePointer(W.head * 4);
  }

  // Receiving, under the receive lock.

  /**
   * Under the receive lock: the offset of the next message's bytes
   * (setting #takeNext and #takeLength), EMPTY, or END when the stream has
   * ended and the ring is drained.
   */
  #find(): number {
    const header = this.#header;
    const capacity = this.#capacity;
    const ended = Atomics.load(header, W.ended); // before tail: sends precede the end
    const head = this.#position(W.head);
    let tail = this.#tailSeen;
    if (
      head !== this.#lastHead || head === tail ||
      Atomics.load(header, W.lastReceiver) !== this.#token
    ) {
      tail = this.#tailSeen = this.#position(W.tail);
      this.#lastHead = head;
      if (head === tail) return ended !== 0 ? END : EMPTY;
    }
    const used = this.#span(head, tail);
    let offset = this.#offsetOf(head);
    let pad = 0;
    const records = this.#records;
    if (used > capacity || used < RECORD_HEADER) return this.#corrupt(`${used} bytes are in use`);
    if (records[(offset >> 2) + 1] === KIND_PAD) {
      pad = capacity - offset;
      if (records[offset >> 2] !== pad - RECORD_HEADER || used <= pad) {
        return this.#corrupt(`a padding record at ${offset} is ${records[offset >> 2]} bytes`);
      }
      offset = 0;
    }
    const length = records[offset >> 2];
    const kind = records[(offset >> 2) + 1];
    if (
      kind !== KIND_MESSAGE || length < 0 || length > this.#maxMessage ||
      offset + recordBytes(length) > capacity || pad + recordBytes(length) > used
    ) {
      return this.#corrupt(`the record at ${offset} says kind ${kind}, ${length} bytes`);
    }
    let next = head + pad + recordBytes(length);
    if (next >= 2 * capacity) next -= 2 * capacity;
    this.#takeNext = next;
    this.#takeLength = length;
    return offset + RECORD_HEADER;
  }

  #corrupt(why: string): never {
    throw new CorruptedError(this.#what, why);
  }

  /** Ends a take: the message's bytes go back to the senders. */
  #finishTake(next: number): void {
    const header = this.#header;
    Atomics.store(header, W.head, next);
    this.#lastHead = next;
    if (Atomics.load(header, W.lastReceiver) !== this.#token) {
      Atomics.store(header, W.lastReceiver, this.#token);
    }
    // A sleeping sender is woken once the ring is at most half full (a
    // stale tail only makes that sooner), so that it wakes to room for
    // many messages, not one: any message fits in half the ring.
    if (
      Atomics.load(header, W.sendAsleep) !== 0 &&
      this.#span(next, this.#tailSeen) <= this.#capacity / 2 &&
      Atomics.exchange(header, W.sendAsleep, 0) !== 0
    ) {
      futexWake(this.#headPointer(), WAKE_ALL);
    }
  }

  /**
   * After a receiver died holding the receive lock: if it held a borrowed
   * message (a claim is set), that message counts as taken.
   */
  #repair(): void {
    const claim = Atomics.load(this.#header, W.claim);
    if (claim === 0) return;
    const next = claim & ~CLAIMED;
    const head = this.#position(W.head);
    const tail = this.#position(W.tail);
    if (
      (claim & CLAIMED) === 0 || next < 0 || next >= 2 * this.#capacity ||
      this.#span(head, next) > this.#span(head, tail)
    ) {
      this.#corrupt(`the claim ${claim} is not a position from head ${head} to tail ${tail}`);
    }
    if (next !== head) this.#finishTake(next);
    Atomics.store(this.#header, W.claim, 0);
    // The dead receiver took messages this handle's cached tail predates.
    this.#lastHead = -1;
  }

  /**
   * With the receive lock held by `guard`: takes the next message as `how`
   * says, or returns EMPTY/END. Releases the lock, except for a borrow.
   */
  #take(guard: MutexGuard, how: How, into?: Uint8Array): unknown {
    let keep = false;
    try {
      if (guard.ownerDied) this.#repair();
      const at = this.#find();
      if (at < 0) return at;
      const length = this.#takeLength;
      const next = this.#takeNext;
      if (how === INTO && length > into!.length) {
        throw new RangeError(
          `The next message is ${length} bytes, more than the buffer's ${into!.length}`,
        );
      }
      if (how === BORROW) {
        // Lent out, the message counts as taken from here on: should this
        // process die holding it, the next receiver skips it. A copy needs
        // no claim: a receiver that dies before head moved never returned
        // the message, and the next receiver gets it.
        Atomics.store(this.#header, W.claim, next | CLAIMED);
        keep = true;
        const borrowed = lendMessage(this.#data.subarray(at, at + length), (taken) => {
          this.#borrowed = null;
          try {
            if (!this.#shm.closed) {
              if (taken) this.#finishTake(next);
              Atomics.store(this.#header, W.claim, 0);
            }
          } finally {
            guard.unlock();
          }
        });
        return this.#borrowed = borrowed;
      }
      let result: Uint8Array | number;
      if (how === COPY) {
        result = this.#data.slice(at, at + length);
      } else {
        const data = this.#data;
        if (length <= SHORT_COPY) {
          for (let i = 0; i < length; i++) into![i] = data[at + i];
        } else {
          into!.set(data.subarray(at, at + length));
        }
        result = length;
      }
      this.#finishTake(next);
      return result;
    } finally {
      if (!keep) guard.unlock();
    }
  }

  #receiving(): void {
    this.#checkOpen();
    if (this.#borrowed !== null) {
      throw new TypeError(`release() the message borrowed from ${this.#what} first`);
    }
  }

  #receive(how: How, into?: Uint8Array): unknown {
    this.#receiving();
    for (;;) {
      const got = this.#take(this.#recvLock.lock(), how, into);
      if (got === END) return null;
      if (got !== EMPTY) return got;
      this.#sleepForMessage(this.#tailSeen);
    }
  }

  #tryReceive(how: How): unknown {
    this.#receiving();
    let guard: MutexGuard | null;
    try {
      guard = this.#recvLock.tryLock();
    } catch (error) {
      if (isDeadlock(error)) return EMPTY;
      throw error;
    }
    return guard === null ? EMPTY : this.#take(guard, how);
  }

  /** Blocks until tail moves from `seen`; a quiet slice looks for dead senders. */
  #sleepForMessage(seen: number): void {
    const header = this.#header;
    if (spinWhile(header, W.tail, seen)) return;
    Atomics.store(header, W.recvAsleep, 1); // before the last look: no wake-up is lost
    if (Atomics.load(header, W.tail) !== seen || Atomics.load(header, W.ended) !== 0) return;
    const ended = futexWait(this.#tailPointer(), seen, monotonicMs() + LIVENESS_MS);
    if (ended === "timedOut") this.#endIfNoSenders(false);
  }

  #receiveAsync(how: How, options: WaitOptions | undefined): Promise<unknown> {
    try {
      const checked = checkWaitOptions(options);
      this.#receiving();
      if (checked.signal?.aborted) throw abortError(checked.signal, this.#what);
      if (this.#recvSerial.idle) {
        const got = this.#tryReceive(how);
        if (got === END) return Promise.resolve(null);
        if (got !== EMPTY) return Promise.resolve(got);
      }
      return this.#recvSerial.run(checked, this.#what, async (deadline) => {
        for (;;) {
          this.#receiving();
          const guard = this.#stillOpen(await this.#lockAsync(this.#recvLock, checked, deadline));
          const got = this.#take(guard, how);
          if (got === END) return null;
          if (got !== EMPTY) return got;
          await this.#waitFor(W.tail, W.recvAsleep, this.#tailSeen, checked, deadline);
        }
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** Looks at `words[index]` up to SPINS times; true once it is not `seen` or the stream ended. */
function spinWhile(words: Int32Array, index: number, seen: number): boolean {
  for (let spin = 0; spin < SPINS; spin++) {
    if (Atomics.load(words, index) !== seen || Atomics.load(words, W.ended) !== 0) return true;
  }
  return false;
}

/** `make()`, or null when it fails with errno `code`. */
function nullOn<T>(code: number, make: () => T): T | null {
  try {
    return make();
  } catch (error) {
    if (error instanceof ErrnoError && error.errno === code) return null;
    throw error;
  }
}

function isDeadlock(error: unknown): boolean {
  return error instanceof ErrnoError && error.errno === platform.EDEADLK;
}

function checkCreate(options: unknown): { capacity: number; maxMessage: number } {
  validateOptions(options);
  const given = options as ChannelCreateOptions | undefined;
  const asked = given?.capacity ?? DEFAULT_CAPACITY;
  validateInteger(asked, "options.capacity", MIN_CAPACITY, MAX_CAPACITY);
  const capacity = (asked + 7) & ~7;
  const largest = largestMessage(capacity);
  const maxMessage = given?.maxMessage ?? largest;
  validateInteger(maxMessage, "options.maxMessage", 0, largest);
  return { capacity, maxMessage };
}
