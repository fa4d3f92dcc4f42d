/**
 * Synchronization primitives that live inside shared memory and work
 * across processes (Deno, Bun, C) and across Workers:
 *
 * - {@linkcode Mutex}: robust, error-checking lock with `using` guards;
 * - {@linkcode Semaphore}: a real `sem_t` in any region (`sem_init`);
 * - {@linkcode NamedSemaphore}: a named `sem_t` (`sem_open`);
 * - {@linkcode CountingSemaphore}: what both semaphores share;
 * - {@linkcode Flag}: a plain `int` that processes wait on (futex);
 * - {@linkcode Channel}: a ring of messages in its own shared memory
 *   object, many senders and receivers, streams and end of stream.
 *
 * Every blocking call has an `*Async` twin that leaves the event loop free
 * and takes `{ timeout, signal }`; they reject with a `DOMException` named
 * `"TimeoutError"` or `"AbortError"`.
 *
 * @example
 * ```ts
 * import { Mutex, SharedMemory } from "../mod.ts";
 * using shm = SharedMemory.create(`/doc-sync-${Date.now()}`, 4096);
 * const mutex = Mutex.init(shm, 0);
 * {
 *   using _guard = await mutex.lockAsync({ timeout: 1000 });
 * }
 * shm.unlink();
 * ```
 *
 * @module
 */
export { BorrowedMessage } from "./borrowed_message.ts";
export { Channel, type ChannelCreateOptions } from "./channel.ts";
export { ChannelEndedError, ChannelFormatError } from "./channel_errors.ts";
export { CountingSemaphore } from "./counting_semaphore.ts";
export { Flag } from "./flag.ts";
export { Mutex, MutexGuard } from "./mutex.ts";
export {
  NamedSemaphore,
  type NamedSemaphoreCreateOptions,
  type NamedSemaphoreOpenOrCreateOptions,
} from "./named_semaphore.ts";
export { Semaphore } from "./semaphore.ts";
export type { WaitOptions } from "../ffi/wait_options.ts";
