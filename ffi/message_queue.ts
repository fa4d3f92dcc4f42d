/**
 * System V message queues: `msgget`, `msgsnd`, `msgrcv`, `msgctl`.
 *
 * @module
 */
import type { WaitOptions } from "./wait_options.ts";
import { errno, libc, platform } from "./_libc.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { check } from "./_check.ts";
import { nullOnErrno, openOrCreate } from "./_open_or_create.ts";
import { abortError, type CheckedWait, checkWaitOptions, timeoutError } from "./_wait_options.ts";
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
   * Fail with EEXIST if the key is taken (IPC_EXCL). Default true.
   * `exclusive: false` is the same as {@linkcode MessageQueue.openOrCreate},
   * kept for compatibility.
   */
  exclusive?: boolean;
}

/**
 * Options for {@linkcode MessageQueue.openOrCreate}.
 *
 * @example A queue the owner's group may use too, made by whoever comes first
 * ```ts
 * import { MessageQueue, type MessageQueueOpenOrCreateOptions } from "./mod.ts";
 * const options: MessageQueueOpenOrCreateOptions = { mode: 0o660 };
 * const queue = MessageQueue.openOrCreate(0x5eed0000 + (Date.now() % 0xffff), options);
 * queue.remove();
 * ```
 */
export interface MessageQueueOpenOrCreateOptions {
  /** Permission bits when this call creates the queue. Default 0o600. */
  mode?: number;
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
 * await queue.receiveAsync(options).catch((error) => {
 *   console.assert(error.name === "TimeoutError");
 * });
 * queue.remove();
 * ```
 */
export interface MessageReceiveAsyncOptions extends WaitOptions {
  /** As for {@linkcode MessageQueue.receive}. */
  type?: number;
  /** As for {@linkcode MessageQueue.receive}. */
  maxBytes?: number;
  /** As for {@linkcode MessageQueue.receive}. */
  truncate?: boolean;
}

/**
 * Options for {@linkcode MessageQueue.sendAsync}.
 *
 * @example A send bounded in time and abortable
 * ```ts
 * import { IPC_PRIVATE, MessageQueue, type MessageSendAsyncOptions } from "./mod.ts";
 * const queue = MessageQueue.create(IPC_PRIVATE);
 * const options: MessageSendAsyncOptions = { timeout: 100, signal: AbortSignal.timeout(1000) };
 * await queue.sendAsync(1, "hi", options);
 * console.assert(queue.stat().messages === 1);
 * queue.remove();
 * ```
 */
export type MessageSendAsyncOptions = WaitOptions;

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

function statQueue(id: number, what: string): MessageQueueStat {
  const out = new Uint8Array(platform.MSQID_DS_SIZE);
  check(libc.msgctl(id, platform.IPC_STAT, out), "msgctl", `read the status of ${what}`, what);
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

/**
 * A System V message queue (`ipcs -q`). Messages carry a positive type, so
 * that a receiver can take the first message of one type, or the first of
 * the lowest type, instead of strict arrival order. The queue outlives every
 * process until `remove()`; any process using the same key (Deno, Bun, or
 * the docs' `msg1.c`/`msg2.c`) shares it.
 *
 * The queue is not mapped and holds no descriptor, so this object is only
 * the queue's id; `close()` (or `using`) ends this object's use of it, and
 * its pending async waits, the way closing ends a `sync/` primitive's.
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
export class MessageQueue implements Disposable {
  readonly #id: number;
  readonly #key: number;
  readonly #created: boolean;
  readonly #what: string;
  #closed = false;
  /** Rejects each pending async wait's current pause, for close(). */
  readonly #pending = new Set<() => void>();

  private constructor(id: number, key: number, created: boolean, what: string) {
    this.#id = id;
    this.#key = key;
    this.#created = created;
    this.#what = what;
  }

  /**
   * Creates a queue for `key`.
   *
   * @param key A key (e.g. from `ftok`) or `IPC_PRIVATE` for a new queue
   *   reachable only through its `id`.
   * @param options `mode` (default 0o600), `exclusive` (default true;
   *   `false` is the same as {@linkcode MessageQueue.openOrCreate}, kept for
   *   compatibility).
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
    const cKey = key | 0;
    if (options?.exclusive === false) return MessageQueue.#openOrCreate(cKey, mode);
    const what = describeKey("message queue", cKey);
    const { IPC_CREAT, IPC_EXCL } = platform;
    const id = check(
      libc.msgget(cKey, IPC_CREAT | IPC_EXCL | mode),
      "msgget",
      `create ${what}`,
      what,
    );
    return new MessageQueue(id, cKey, true, what);
  }

  /**
   * Opens the queue for `key` if it exists, else creates it. Exactly one of
   * several racing processes sees `created === true`; a queue removed
   * between this call's create and open attempts is created again.
   *
   * @param key A key (e.g. from `ftok`); `IPC_PRIVATE` always creates.
   * @param options `mode` when this call creates the queue (default 0o600).
   * @returns The queue; `created` tells whether this call made it.
   * @throws {TypeError|RangeError} On a bad key or option.
   * @throws {ErrnoError} `EACCES` if the queue exists and is not ours to use;
   *   `ENOSPC` when the system has no queues left.
   *
   * @example Only the first of two calls creates
   * ```ts
   * import { MessageQueue } from "./mod.ts";
   * const key = 0x5eed0000 + (Date.now() % 0xffff);
   * const first = MessageQueue.openOrCreate(key);
   * const second = MessageQueue.openOrCreate(key);
   * console.assert(first.created && !second.created && first.id === second.id);
   * first.remove();
   * ```
   */
  static openOrCreate(key: number, options?: MessageQueueOpenOrCreateOptions): MessageQueue {
    validateKey(key);
    validateOptions(options);
    const mode = options?.mode ?? 0o600;
    validateMode(mode, "options.mode");
    return MessageQueue.#openOrCreate(key | 0, mode);
  }

  static #openOrCreate(cKey: number, mode: number): MessageQueue {
    const what = describeKey("message queue", cKey);
    const { IPC_CREAT, IPC_EXCL, EEXIST, ENOENT, EIDRM } = platform;
    const { handle, created } = openOrCreate(
      {
        tryCreate() {
          const id = libc.msgget(cKey, IPC_CREAT | IPC_EXCL | mode);
          return id >= 0 ? id : nullOnErrno([EEXIST], "msgget", `create ${what}`, what);
        },
        tryOpen() {
          const id = libc.msgget(cKey, 0);
          return id >= 0 ? id : nullOnErrno([ENOENT, EIDRM], "msgget", `open ${what}`, what);
        },
      },
      "msgget",
      what,
      what,
    );
    return new MessageQueue(handle, cKey, created, what);
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
    const id = check(libc.msgget(cKey, 0), "msgget", `open ${what}`, what);
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
   * True if the call that made this object (`create`, `openOrCreate`)
   * created the queue.
   *
   * @example Only the first of two calls creates
   * ```ts
   * import { MessageQueue } from "./mod.ts";
   * const key = 0x5eed0000 + (Date.now() % 0xffff);
   * const first = MessageQueue.openOrCreate(key);
   * const second = MessageQueue.openOrCreate(key);
   * console.assert(first.created && !second.created);
   * first.remove();
   * ```
   */
  get created(): boolean {
    return this.#created;
  }

  /**
   * True after `close()`.
   *
   * @example
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * queue.close();
   * console.assert(queue.closed);
   * queue.remove();
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Ends this object's use of the queue: later sends and receives throw
   * `ClosedError`, and pending `sendAsync`/`receiveAsync` calls reject with
   * it at once, as pending waits of a closed `sync/` primitive do. The queue
   * itself stays, with its messages, until `remove()`; `stat()` and
   * `remove()` still work, as `SysVSharedMemory`'s do after `detach()`.
   * Calling it again does nothing.
   *
   * @example Ending a pending receive
   * ```ts
   * import { ClosedError, IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * const pending = queue.receiveAsync();
   * queue.close();
   * await pending.catch((error) => console.assert(error instanceof ClosedError));
   * queue.remove();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const reject of this.#pending) reject();
  }

  /**
   * Same as `close()`, for `using`; the queue stays until `remove()`.
   *
   * @example
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * let id: number;
   * {
   *   using queue = MessageQueue.create(IPC_PRIVATE);
   *   id = queue.id;
   * }
   * MessageQueue.attach(id).remove();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
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
   * @throws {ClosedError} After `close()`.
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
   * Its options and rejections are those of every `sync/` wait (`waitAsync`,
   * `lockAsync`, `waitForAsync`). Earlier versions resolved to false when the
   * timeout passed and rejected with the signal's bare reason on abort; both
   * now reject as described below.
   *
   * @param type A positive integer the receiver can select on.
   * @param data The body: bytes, or text to encode as UTF-8.
   * @param options `timeout` (default `Infinity`), `signal`.
   * @returns Resolves once the message is queued.
   * @throws {TypeError|RangeError} On a bad type, body or option (rejects).
   * @throws {DOMException} Named `"TimeoutError"` when `timeout` passes,
   *   `"AbortError"` when `signal` aborts.
   * @throws {ClosedError} After `close()`, or when it is called meanwhile.
   * @throws {ErrnoError} As `send`.
   *
   * @example Sending while the event loop runs
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * await queue.sendAsync(1, "hi", { timeout: 100 });
   * console.assert(queue.stat().messages === 1);
   * queue.remove();
   * ```
   */
  async sendAsync(
    type: number,
    data: Uint8Array | string,
    options?: MessageSendAsyncOptions,
  ): Promise<void> {
    const message = MessageQueue.#pack(type, data);
    await this.#poll(
      () => (this.#send(message, false) ? true : undefined),
      checkWaitOptions(options),
    );
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
   * @throws {ClosedError} After `close()`.
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
    const buffer = new Uint8Array(TYPE_BYTES + maxBytes);
    return this.#receive(buffer, type, truncate, options?.wait ?? true);
  }

  /**
   * Like `receive`, without blocking the event loop: when no message
   * matches it retries (IPC_NOWAIT) with a back-off of at most 20 ms, so a
   * message is seen at most about 20 ms after it is sent.
   *
   * Its options and rejections are those of every `sync/` wait (`waitAsync`,
   * `lockAsync`, `waitForAsync`). Earlier versions resolved to null when the
   * timeout passed and rejected with the signal's bare reason on abort; both
   * now reject as described below.
   *
   * @param options `type`, `maxBytes` and `truncate` as for `receive`,
   *   `timeout` (default `Infinity`), `signal`.
   * @returns The message.
   * @throws {TypeError|RangeError} On a bad option (rejects).
   * @throws {DOMException} Named `"TimeoutError"` when `timeout` passes
   *   first, `"AbortError"` when `signal` aborts (the signal's own
   *   `DOMException` reason when it has one; any other reason becomes the
   *   `cause`).
   * @throws {ClosedError} After `close()`, or when it is called meanwhile.
   * @throws {ErrnoError} As `receive`.
   *
   * @example Waiting for a message sent later
   * ```ts
   * import { IPC_PRIVATE, MessageQueue } from "./mod.ts";
   * const queue = MessageQueue.create(IPC_PRIVATE);
   * setTimeout(() => queue.send(3, "late"), 10);
   * const message = await queue.receiveAsync({ timeout: 1000 });
   * console.assert(message.type === 3);
   * queue.remove();
   * ```
   */
  async receiveAsync(options?: MessageReceiveAsyncOptions): Promise<Message> {
    const { type, maxBytes, truncate } = MessageQueue.#receiveOptions(options);
    // One buffer for every try of this call: a wait polls up to ~400 times a second.
    const buffer = new Uint8Array(TYPE_BYTES + maxBytes);
    return await this.#poll(
      () => this.#receive(buffer, type, truncate, false) ?? undefined,
      checkWaitOptions(options),
    );
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
    check(
      libc.msgctl(this.#id, platform.IPC_RMID, null),
      "msgctl",
      `remove ${this.#what}`,
      this.#what,
    );
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

  // Retries `attempt` (IPC_NOWAIT) until it yields a value, backing off from
  // 1 ms to POLL_CAP_MS: a System V queue has no word to sleep on. Ends as
  // sync/'s waitLoop does: TimeoutError, AbortError, or ClosedError.
  async #poll<T>(attempt: () => T | undefined, options: CheckedWait): Promise<T> {
    const { timeout, signal } = options;
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    let delay = 1;
    for (;;) {
      if (signal?.aborted) throw abortError(signal, this.#what);
      const value = attempt();
      if (value !== undefined) return value;
      const left = deadline - performance.now();
      if (left <= 0) throw timeoutError(this.#what, timeout);
      await this.#pause(Math.min(delay, left), signal);
      delay = Math.min(delay * 2, POLL_CAP_MS);
    }
  }

  // Resolves after `ms`; rejects at once when `signal` aborts or close() is called.
  #pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = () => settle(abortError(signal!, this.#what));
      const onClose = () => settle(new ClosedError(this.#what));
      const timer = setTimeout(() => settle(), ms);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.add(onClose);
    });
  }

  #send(message: Uint8Array, wait: boolean): boolean {
    if (this.#closed) throw new ClosedError(this.#what);
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

  // `buffer` holds the type and up to `buffer.length - TYPE_BYTES` bytes.
  #receive(buffer: Uint8Array, type: number, truncate: boolean, wait: boolean): Message | null {
    if (this.#closed) throw new ClosedError(this.#what);
    const maxBytes = buffer.length - TYPE_BYTES;
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
