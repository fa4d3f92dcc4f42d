/**
 * Shared memory through libc, with no native addon: each runtime's own FFI
 * calls `shm_open`, `mmap`, `shmget` and `msgsnd` directly.
 *
 * Regions (each a {@linkcode SharedRegion}, `Disposable`, `close()` idempotent):
 * - {@linkcode SharedMemory}: a POSIX object in `/dev/shm` (`create`, `open`,
 *   `openOrCreate`, `unlink`, `resize`), with its option types
 *   {@linkcode SharedMemoryCreateOptions}, {@linkcode SharedMemoryOpenOptions},
 *   {@linkcode SharedMemoryOpenOrCreateOptions};
 * - {@linkcode SysVSharedMemory}: a System V segment (`shmget`/`shmat`), keyed
 *   by a number from {@linkcode ftok} or {@linkcode IPC_PRIVATE}, with
 *   {@linkcode SysVCreateOptions}, {@linkcode SysVOpenOptions},
 *   {@linkcode SysVOpenOrCreateOptions} and {@linkcode SysVStat};
 * - {@linkcode MappedFile}: an ordinary file mapped into memory
 *   ({@linkcode MappedFileOptions}, {@linkcode FlushOptions});
 * - {@linkcode MappedRegion}: what the three share (views, `access`, `close`).
 *
 * What a region is, for code that takes any of them: {@linkcode SharedRegion},
 * {@linkcode RegionAccess}, {@linkcode TypedArrayConstructor} and the opaque
 * {@linkcode UnsafePointer}. {@linkcode WaitOptions} (`{ timeout, signal }`) are
 * what every asynchronous wait takes, here and in `sync/`.
 *
 * Messages: {@linkcode MessageQueue}, a System V queue of typed messages
 * ({@linkcode Message}, {@linkcode MessageQueueCreateOptions},
 * {@linkcode MessageQueueOpenOrCreateOptions}, {@linkcode MessageQueueStat}, {@linkcode MessageSendOptions},
 * {@linkcode MessageSendAsyncOptions}, {@linkcode MessageReceiveOptions},
 * {@linkcode MessageReceiveAsyncOptions}).
 *
 * Errors: {@linkcode ErrnoError} (a call failed: `errno`, `code`, `syscall`,
 * `path`; {@linkcode errnoName} names an errno), {@linkcode ClosedError} (used
 * after `close()`) and {@linkcode CorruptedError} (shared bytes that are not
 * what they should be).
 *
 * @example Two handles on one POSIX object see the same bytes
 * ```ts
 * import { ErrnoError, SharedMemory } from "./mod.ts";
 *
 * const name = `/doc-ffi-${Date.now()}`;
 * using writer = SharedMemory.create(name, 4096); // O_EXCL, mode 0o600
 * using reader = SharedMemory.open(name);
 * writer.view(Int32Array)[0] = 42;
 * console.assert(reader.view(Int32Array)[0] === 42);
 * try {
 *   SharedMemory.create(name, 4096);
 * } catch (error) {
 *   console.assert(error instanceof ErrnoError && error.code === "EEXIST");
 * }
 * writer.unlink();
 * ```
 *
 * @module
 */
export { ClosedError, CorruptedError, ErrnoError, errnoName } from "./errors.ts";
export type { RegionAccess, SharedRegion, TypedArrayConstructor, UnsafePointer } from "./region.ts";
export { MappedRegion } from "./mapped_region.ts";
export type { WaitOptions } from "./wait_options.ts";
export {
  SharedMemory,
  type SharedMemoryCreateOptions,
  type SharedMemoryOpenOptions,
  type SharedMemoryOpenOrCreateOptions,
} from "./shared_memory.ts";
export {
  ftok,
  IPC_PRIVATE,
  type SysVCreateOptions,
  type SysVOpenOptions,
  type SysVOpenOrCreateOptions,
  SysVSharedMemory,
  type SysVStat,
} from "./sysv_shared_memory.ts";
export { type FlushOptions, MappedFile, type MappedFileOptions } from "./mapped_file.ts";
export {
  type Message,
  MessageQueue,
  type MessageQueueCreateOptions,
  type MessageQueueOpenOrCreateOptions,
  type MessageQueueStat,
  type MessageReceiveAsyncOptions,
  type MessageReceiveOptions,
  type MessageSendAsyncOptions,
  type MessageSendOptions,
} from "./message_queue.ts";
