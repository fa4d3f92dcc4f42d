/**
 * System V message queues: `msgget`, `msgsnd`, `msgrcv`, `msgctl`.
 *
 * @module
 */
import { errno, libc, platform } from "./_libc.ts";
import { ErrnoError } from "./errors.ts";
import {
  describe,
  validateBoolean,
  validateInteger,
  validateMode,
  validateOptions,
} from "./_validate.ts";
import { describeKey, readIpcPerm, readTime, validateKey } from "./_sysv.ts";

/** Bytes of the `long mtype` that starts every `struct msgbuf`. */
const TYPE_BYTES = 8;

/** The largest message Linux accepts by default (`/proc/sys/kernel/msgmax`). */
const DEFAULT_MAX_BYTES = 8192;

/** How long `receiveAsync` and `sendAsync` sleep between polls at most, in ms. */
const POLL_CAP_MS = 20;

const encoder = new TextEncoder();

/**
 * Options for {@linkcode MessageQueue.create}.
 *
 * @example A queue others in the group may read
 * ```ts
 * import { IPC_PRIVATE, MessageQueue, type MessageQueueCreateOptions } from "./mod.ts";
 * const options: MessageQueueCreateOptions = { mode: 0o640, exclusive: true };
 * const queue = MessageQueue.create(IPC_PRIVATE, options);
 * queue.remove();
 * ```
 */
export interface MessageQueueCreateOptions {
  /** Permission bits. Default 0o600. */
  mode?: number;
  /**
   * Fail with EEXIST if the key is taken (IPC_EXCL). Default true. With
   * false an existing queue is opened, and `created` tells which happened.
   */
  exclusive?: boolean;
}

/**
 * Options for {@linkcode MessageQueue.send}.
 *
 * @example Sending without blocking
 * ```ts
 * import { IPC_PRIVATE, MessageQueue, type MessageSendOptions } from "./mod.ts";
 * const queue = MessageQueue.create(IPC_PRIVATE);
 * const options: MessageSendOptions = { wait: false };
 * console.assert(queue.send(1, "now or never", options));
 * queue.remove();
 * ```
 */
export interface MessageSendOptions {
  /**
   * Block while the queue is full. Default true; with false a full queue
   * makes `send` return false (IPC_NOWAIT).
   */
  wait?: boolean;
}

/**
 * Options for {@linkcode MessageQueue.receive}.
 *
 * @example Taking at most 4 bytes of a type-2 message
 * ```ts
 * import { IPC_PRIVATE, MessageQueue, type MessageReceiveOptions } from "./mod.ts";
 * const queue = MessageQueue.create(IPC_PRIVATE);
 * queue.send(2, "0123456789");
 * const options: MessageReceiveOptions = { type: 2, maxBytes: 4, truncate: true, wait: false };
 * console.assert(queue.receive(options)!.data.length === 4);
 * queue.remove();
 * ```
 */
export interface MessageReceiveOptions {
  /**
   * Which message to take, as msgrcv's `msgtyp`: 0 the first of any type,
   * a positive type the first of that type, a negative `-n` the first of the
   * lowest type up to `n`. Default 0.
   */
  type?: number;
  /** The largest message body accepted. Default 8192 (Linux's msgmax). */
  maxBytes?: number;
  /**
   * Cut a longer message to `maxBytes` (MSG_NOERROR) instead of failing
   * with E2BIG and leaving it queued. Default false.
   */
  truncate?: boolean;
  /**
   * Block until a matching message arrives. Default true; with false
   * `receive` returns null when there is none (IPC_NOWAIT).
   */
  wait?: boolean;
}

/**
 * Options for {@linkcode MessageQueue.receiveAsync}.
 *
 * @example Waiting at most 20 ms
 * ```ts
 * import { IPC_PRIVATE, MessageQueue, type MessageReceiveAsyncOptions } from "./mod.ts";
 * const queue = MessageQueue.create(IPC_PRIVATE);
 * const options: MessageReceiveAsyncOptions = { type: 1, timeout: 20 };
 * console.assert((await queue.receiveAsync(options)) === null);
 * queue.remove();
 * ```
 */
export interface MessageReceiveAsyncOptions {
  /** As for {@linkcode MessageQueue.receive}. */
  type?: number;
  /** As for {@linkcode MessageQueue.receive}. */
  maxBytes?: number;
  /** As for {@linkcode MessageQueue.receive}. */
  truncate?: boolean;
  /** Give up after this many milliseconds: the promise resolves to null. */
  timeout?: number;
  /** Abort the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Options for {@linkcode MessageQueue.sendAsync}.
 *
 * @example A send bounded in time and abortable
 * ```ts
 * import { IPC_PRIVATE, MessageQueue, type MessageSendAsyncOptions } from "./mod.ts";
 * const queue = MessageQueue.create(IPC_PRIVATE);
 * const options: MessageSendAsyncOptions = { timeout: 100, signal: AbortSignal.timeout(1000) };
 * console.assert(await queue.sendAsync(1, "hi", options));
 * queue.remove();
 * ```
 */
export interface MessageSendAsyncOptions {
  /** Give up after this many milliseconds: the promise resolves to false. */
  timeout?: number;
  /** Abort the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * One message taken from a queue.
 *
 * @example Its type and its bytes
 * ```ts
 * import { IPC_PRIVATE, type Message, MessageQueue } from "./mod.ts";
 * const queue = MessageQueue.create(IPC_PRIVATE);
 * queue.send(7, "seven");
 * const message: Message = queue.receive()!;
 * console.assert(message.type === 7 && new TextDecoder().decode(message.data) === "seven");
 * queue.remove();
 * ```
 */
export interface Message {
  /** Its type, a positive integer chosen by the sender. */
  type: number;
  /** Its body (a copy). */
  data: Uint8Array;
}

/**
 * What `msgctl(IPC_STAT)` reports about a queue.
 *
 * @example A new queue's status
 * ```ts
 * import { IPC_PRIVATE, MessageQueue, type MessageQueueStat } from "./mod.ts";
 * const queue = MessageQueue.create(IPC_PRIVATE);
 * const stat: MessageQueueStat = queue.stat();
 * console.assert(stat.messages === 0 && stat.mode === 0o600);
 * queue.remove();
 * ```
 */
export interface MessageQueueStat {
  /** The key it was made with (0 for IPC_PRIVATE). */
  key: number;
  /** Messages in the queue now (msg_qnum). */
  messages: number;
  /** Bytes of message bodies in the queue now (msg_cbytes). */
  bytes: number;
  /** The most body bytes the queue holds (msg_qbytes). */
  maxBytes: number;
  /** Pid of the last msgsnd (msg_lspid), 0 if none. */
  lastSendPid: number;
  /** Pid of the last msgrcv (msg_lrpid), 0 if none. */
  lastReceivePid: number;
  /** Last msgsnd, or null if never. */
  sendTime: Date | null;
  /** Last msgrcv, or null if never. */
  receiveTime: Date | null;
  /** Last change (creation or IPC_SET). */
  changeTime: Date;
  /** Permission bits. */
  mode: number;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Creator's user id. */
  cuid: number;
  /** Creator's group id. */
  cgid: number;
}

function validateTimeout(timeout: unknown): void {
  if (timeout === undefined) return;
  if (typeof timeout !== "number") {
    throw new TypeError(`options.timeout must be a number, got ${describe(timeout)}`);
  }
  if (!(timeout >= 0)) {
    throw new RangeError(`options.timeout must be 0 or more milliseconds, got ${timeout}`);
  }
}

function validateSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`options.signal must be an AbortSignal, got ${describe(signal)}`);
  }
}

function statQueue(id: number, what: string): MessageQueueStat {
  const out = new Uint8Array(platform.MSQID_DS_SIZE);
  if (libc.msgctl(id, platform.IPC_STAT, out) !== 0) {
    throw new ErrnoError(errno(), "msgctl", `read the status of ${what}`, what);
  }
  const v = new DataView(out.buffer);
  return {
    ...readIpcPerm(v),
    messages: Number(v.getBigUint64(platform.MSG_QNUM, true)),
    bytes: Number(v.getBigUint64(platform.MSG_CBYTES, true)),
    maxBytes: Number(v.getBigUint64(platform.MSG_QBYTES, true)),
    lastSendPid: v.getInt32(platform.MSG_LSPID, true),
    lastReceivePid: v.getInt32(platform.MSG_LRPID, true),
    sendTime: readTime(v, platform.MSG_STIME),
    receiveTime: readTime(v, platform.MSG_RTIME),
    changeTime: readTime(v, platform.MSG_CTIME) ?? new Date(0),
  };
}

// Resolves after `ms`, or rejects at once when `signal` aborts.
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// Retries `attempt` until it yields a value, backing off from 1 ms to
// POLL_CAP_MS, until `timeout` passes (undefined) or `signal` aborts.
async function poll<T>(
  attempt: () => T | undefined,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
): Promise<T | undefined> {
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  let delay = 1;
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    const value = attempt();
    if (value !== undefined) return value;
    const left = deadline - performance.now();
    if (left <= 0) return undefined;
    await pause(Math.min(delay, left), signal);
    delay = Math.min(delay * 2, POLL_CAP_MS);
  }
}

/**
 * A System V message queue (`ipcs -q`). Messages carry a positive type, so
 * that a receiver can take the first message of one type, or the first of
 * the lowest type, instead of strict arrival order. The queue outlives every
 * process until `remove()`; any process using the same key (Deno, Bun, or
 * the docs' `msg1.c`/`msg2.c`) shares it.
 *
 * There is nothing to close: the queue is not mapped and holds no
 * descriptor, so this object is only the queue's id.
 *
 * @example The docs' msg1/msg2 exchange, in one process
 * ```ts
 * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
 *
 * const queue = MessageQueue.create(IPC_PRIVATE);
 * queue.send(1, "hello\n");
 * queue.send(1, "end\n");
 * for (;;) {
 *   const { data } = queue.receive()!;
 *   const text = new TextDecoder().decode(data);
 *   if (text.startsWith("end")) break;
 * }
 * queue.remove();
 * ```
 */
export class MessageQueue {
  readonly #id: number;
  readonly #key: number;
  readonly #created: boolean;
  readonly #what: string;

  private constructor(id: number, key: number, created: boolean, what: string) {
    this.#id = id;
    this.#key = key;
    this.#created = created;
    this.#what = what;
  }

  /**
   * Creates a queue for `key`, or with `exclusive: false` opens the one that
   * exists.
   *
   * @param key A key (e.g. from `ftok`) or `IPC_PRIVATE` for a new queue
   *   reachable only through its `id`.
   * @param options `mode` (default 0o600), `exclusive` (default true).
   * @returns The queue; `created` tells whether this call made it.
   * @throws {TypeError|RangeError} On a bad key or option.
   * @throws {ErrnoError} `EEXIST` if the key is taken and `exclusive`;
   *   `ENOSPC` when the system has no queues left.
   *
   * @example A queue for a key of its own
   * ```ts
   * import { MessageQueue } from "./mod.ts";
   * const key = 0x5eed0000 + (Date.now() % 0xffff);
   * const queue = MessageQueue.create(key, { mode: 0o600 });
   * console.assert(queue.created && queue.key === key);
   * queue.remove();
   * ```
   */
  static create(key: number, options?: MessageQueueCreateOptions): MessageQueue {
    validateKey(key);
    validateOptions(options);
    const mode = options?.mode ?? 0o600;
    validateMode(mode, "options.mode");
    validateBoolean(options?.exclusive, "options.exclusive");
    const exclusive = options?.exclusive ?? true;
    const cKey = key | 0;
    const what = describeKey("message queue", cKey);
    const { IPC_CREAT, IPC_EXCL, EEXIST, ENOENT } = platform;
    // Without exclusive, IPC_EXCL is still tried first so that `created`
    // is exact; the loop covers a queue removed between the two calls.
    for (let attempt = 0; attempt < 100; attempt++) {
      const id = libc.msgget(cKey, IPC_CREAT | IPC_EXCL | mode);
      if (id >= 0) return new MessageQueue(id, cKey, true, what);
      const code = errno();
      if (exclusive || code !== EEXIST) {
        throw new ErrnoError(code, "msgget", `create ${what}`, what);
      }
      const existing = libc.msgget(cKey, 0);
      if (existing >= 0) return new MessageQueue(existing, cKey, false, what);
      const again = errno();
      if (again !== ENOENT) throw new ErrnoError(again, "msgget", `open ${what}`, what);
    }
    throw new ErrnoError(platform.EAGAIN, "msgget", `open or create ${what} (it kept vanishing)`);
  }

  /**
   * Opens the existing queue with `key`.
   *
   * @param key The key it was created with.
   * @returns The queue, with `created` false.
   * @throws {TypeError|RangeError} On a bad key.
   * @throws {RangeError} For `IPC_PRIVATE`, which names no existing queue.
   * @throws {ErrnoError} `ENOENT` if no queue has the key.
   *
   * @example Opening a queue another process made
   * ```ts
   * import { MessageQueue } from "./mod.ts";
   * const key = 0x5eed0000 + (Date.now() % 0xffff);
   * const made = MessageQueue.create(key);
   * const seen = MessageQueue.open(key);
   * console.assert(seen.id === made.id && !seen.created);
   * made.remove();
   * ```
   */
  static open(key: number): MessageQueue {
    validateKey(key);
    const cKey = key | 0;
    if (cKey === platform.IPC_PRIVATE) {
      throw new RangeError("key must not be IPC_PRIVATE for open(); use attach(id)");
    }
    const what = describeKey("message queue", cKey);
    const id = libc.msgget(cKey, 0);
    if (id < 0) throw new ErrnoError(errno(), "msgget", `open ${what}`, what);
    return new MessageQueue(id, cKey, false, what);
  }

  /**
   * Uses a queue by its id, e.g. an `IPC_PRIVATE` queue whose id a parent
   * passed to this process.
   *
   * @param id The queue id (msqid), as `id` gives it.
   * @returns The queue, with its key read back (IPC_STAT).
   * @throws {TypeError|RangeError} On a bad id.
   * @throws {ErrnoError} `EINVAL` if no queue has that id.
   *
   * @example Using a queue by its id
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * const same = MessageQueue.attach(queue.id);
   * console.assert(same.key === 0);
   * queue.remove();
   * ```
   */
  static attach(id: number): MessageQueue {
    validateInteger(id, "id", 0, 0x7fff_ffff);
    const what = `message queue id ${id}`;
    const key = statQueue(id, what).key;
    return new MessageQueue(id, key, false, what);
  }

  /**
   * The queue id (msqid), valid in every process.
   *
   * @example Passing the id to another process
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * console.assert(MessageQueue.attach(queue.id).id === queue.id);
   * queue.remove();
   * ```
   */
  get id(): number {
    return this.#id;
  }

  /**
   * The key it was created or opened with.
   *
   * @example A private queue's key
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * console.assert(queue.key === IPC_PRIVATE);
   * queue.remove();
   * ```
   */
  get key(): number {
    return this.#key;
  }

  /**
   * True if this object's `create` call made the queue.
   *
   * @example Only the first of two calls creates
   * ```ts
   * import { MessageQueue } from "./mod.ts";
   * const key = 0x5eed0000 + (Date.now() % 0xffff);
   * const first = MessageQueue.create(key, { exclusive: false });
   * const second = MessageQueue.create(key, { exclusive: false });
   * console.assert(first.created && !second.created);
   * first.remove();
   * ```
   */
  get created(): boolean {
    return this.#created;
  }

  /**
   * Appends a message of `type`. A string is sent as its UTF-8 bytes, with
   * no terminator: add `"\0"` for C readers that print it with `%s`.
   *
   * A blocking send holds the calling thread until there is room; an
   * interrupted call (EINTR) is retried. Use `sendAsync` to keep the event
   * loop running.
   *
   * @param type A positive integer the receiver can select on.
   * @param data The body: bytes, or text to encode as UTF-8.
   * @param options `wait` (default true).
   * @returns True when queued; false only with `wait: false` and no room.
   * @throws {TypeError|RangeError} On a bad type, body or option.
   * @throws {ErrnoError} `EINVAL` for a body over msgmax or a removed
   *   queue; `EIDRM` if the queue is removed while waiting.
   *
   * @example Sending bytes
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * console.assert(queue.send(2, new Uint8Array([1, 2, 3]), { wait: false }));
   * console.assert(queue.stat().messages === 1);
   * queue.remove();
   * ```
   */
  send(type: number, data: Uint8Array | string, options?: MessageSendOptions): boolean {
    const message = MessageQueue.#pack(type, data);
    validateOptions(options);
    validateBoolean(options?.wait, "options.wait");
    return this.#send(message, options?.wait ?? true);
  }

  /**
   * Like `send`, without blocking the event loop: when the queue is full it
   * retries (IPC_NOWAIT) with a back-off of at most 20 ms, because a System V
   * queue offers nothing to wait on asynchronously.
   *
   * @param type A positive integer the receiver can select on.
   * @param data The body: bytes, or text to encode as UTF-8.
   * @param options `timeout` (default: none), `signal`.
   * @returns True when queued; false when `timeout` passed first.
   * @throws {TypeError|RangeError} On a bad type, body or option.
   * @throws {DOMException|unknown} The signal's reason when it aborts.
   *
   * @example Sending while the event loop runs
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * console.assert(await queue.sendAsync(1, "hi", { timeout: 100 }));
   * queue.remove();
   * ```
   */
  async sendAsync(
    type: number,
    data: Uint8Array | string,
    options?: MessageSendAsyncOptions,
  ): Promise<boolean> {
    const message = MessageQueue.#pack(type, data);
    validateOptions(options);
    validateTimeout(options?.timeout);
    validateSignal(options?.signal);
    const sent = await poll(
      () => (this.#send(message, false) ? true : undefined),
      options?.timeout,
      options?.signal,
    );
    return sent ?? false;
  }

  /**
   * Takes the first message that matches `type`.
   *
   * A blocking receive holds the calling thread until a message comes; an
   * interrupted call (EINTR) is retried. Use `receiveAsync` to keep the
   * event loop running.
   *
   * @param options `type` (default 0: any), `maxBytes` (default 8192),
   *   `truncate` (default false), `wait` (default true).
   * @returns The message, or null with `wait: false` when none matches.
   * @throws {TypeError|RangeError} On a bad option.
   * @throws {ErrnoError} `E2BIG` when the message is longer than `maxBytes`
   *   and not `truncate` (it stays queued); `EIDRM` if the queue is removed
   *   while waiting; `EINVAL` if it was removed before.
   *
   * @example Taking the lowest type first
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * queue.send(5, "later");
   * queue.send(1, "urgent");
   * console.assert(queue.receive({ type: -5 })!.type === 1);
   * console.assert(queue.receive({ type: 7, wait: false }) === null);
   * queue.remove();
   * ```
   */
  receive(options?: MessageReceiveOptions): Message | null {
    const { type, maxBytes, truncate } = MessageQueue.#receiveOptions(options);
    validateBoolean(options?.wait, "options.wait");
    return this.#receive(type, maxBytes, truncate, options?.wait ?? true);
  }

  /**
   * Like `receive`, without blocking the event loop: when no message
   * matches it retries (IPC_NOWAIT) with a back-off of at most 20 ms, so a
   * message is seen at most about 20 ms after it is sent.
   *
   * @param options `type`, `maxBytes` and `truncate` as for `receive`,
   *   `timeout` (default: none), `signal`.
   * @returns The message, or null when `timeout` passed first.
   * @throws {DOMException|unknown} The signal's reason when it aborts.
   * @throws {ErrnoError} As `receive`.
   *
   * @example Waiting for a message sent later
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * setTimeout(() => queue.send(3, "late"), 10);
   * const message = await queue.receiveAsync({ timeout: 1000 });
   * console.assert(message?.type === 3);
   * queue.remove();
   * ```
   */
  async receiveAsync(options?: MessageReceiveAsyncOptions): Promise<Message | null> {
    const { type, maxBytes, truncate } = MessageQueue.#receiveOptions(options);
    validateTimeout(options?.timeout);
    validateSignal(options?.signal);
    const message = await poll(
      () => this.#receive(type, maxBytes, truncate, false) ?? undefined,
      options?.timeout,
      options?.signal,
    );
    return message ?? null;
  }

  /**
   * Reads the queue's status (IPC_STAT): how many messages and bytes wait.
   *
   * @returns The status, read now.
   * @throws {ErrnoError} `EINVAL` once the queue is removed.
   *
   * @example Counting what waits in the queue
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * queue.send(1, "four");
   * const { messages, bytes } = queue.stat();
   * console.assert(messages === 1 && bytes === 4);
   * queue.remove();
   * ```
   */
  stat(): MessageQueueStat {
    return statQueue(this.#id, this.#what);
  }

  /**
   * Removes the queue at once (IPC_RMID): waiting senders and receivers fail
   * with EIDRM, queued messages are discarded, and the key is free.
   *
   * @throws {ErrnoError} `EINVAL` if it was already removed.
   *
   * @example Removing a queue
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * queue.remove();
   * ```
   */
  remove(): void {
    if (libc.msgctl(this.#id, platform.IPC_RMID, null) !== 0) {
      throw new ErrnoError(errno(), "msgctl", `remove ${this.#what}`, this.#what);
    }
  }

  // Validates a send's arguments and lays out `struct msgbuf`.
  static #pack(type: unknown, data: unknown): Uint8Array {
    validateInteger(type, "type", 1, Number.MAX_SAFE_INTEGER);
    let body: Uint8Array;
    if (typeof data === "string") body = encoder.encode(data);
    else if (data instanceof Uint8Array) body = data;
    else throw new TypeError(`data must be a Uint8Array or a string, got ${describe(data)}`);
    const message = new Uint8Array(TYPE_BYTES + body.length);
    new DataView(message.buffer).setBigInt64(0, BigInt(type), true);
    message.set(body, TYPE_BYTES);
    return message;
  }

  static #receiveOptions(options: MessageReceiveOptions | undefined) {
    validateOptions(options);
    const type = options?.type ?? 0;
    validateInteger(type, "options.type", -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
    validateInteger(maxBytes, "options.maxBytes", 0, 0x7fff_ffff);
    validateBoolean(options?.truncate, "options.truncate");
    return { type, maxBytes, truncate: options?.truncate ?? false };
  }

  #send(message: Uint8Array, wait: boolean): boolean {
    const bodyBytes = BigInt(message.length - TYPE_BYTES);
    const flags = wait ? 0 : platform.IPC_NOWAIT;
    for (;;) {
      if (libc.msgsnd(this.#id, message, bodyBytes, flags) === 0) return true;
      const code = errno();
      if (code === platform.EINTR) continue;
      if (code === platform.EAGAIN && !wait) return false;
      throw new ErrnoError(code, "msgsnd", `send to ${this.#what}`, this.#what);
    }
  }

  #receive(type: number, maxBytes: number, truncate: boolean, wait: boolean): Message | null {
    const buffer = new Uint8Array(TYPE_BYTES + maxBytes);
    const flags = (wait ? 0 : platform.IPC_NOWAIT) | (truncate ? platform.MSG_NOERROR : 0);
    for (;;) {
      const got = libc.msgrcv(this.#id, buffer, BigInt(maxBytes), BigInt(type), flags);
      if (got >= 0) {
        const received = Number(new DataView(buffer.buffer).getBigInt64(0, true));
        return { type: received, data: buffer.slice(TYPE_BYTES, TYPE_BYTES + Number(got)) };
      }
      const code = errno();
      if (code === platform.EINTR) continue;
      if (code === platform.ENOMSG && !wait) return null;
      throw new ErrnoError(code, "msgrcv", `receive from ${this.#what}`, this.#what);
    }
  }
}
