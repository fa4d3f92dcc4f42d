/**
 * Shared memory through libc: POSIX objects (`SharedMemory`), System V
 * segments (`SysVSharedMemory`), mapped files (`MappedFile`), and the errors
 * they throw.
 *
 * @module
 */
export { ClosedError, CorruptedError, ErrnoError, errnoName } from "./errors.ts";
export type { RegionAccess, SharedRegion, TypedArrayConstructor, UnsafePointer } from "./region.ts";
export { MappedRegion } from "./mapped_region.ts";
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
  SysVSharedMemory,
  type SysVStat,
} from "./sysv_shared_memory.ts";
export { type FlushOptions, MappedFile, type MappedFileOptions } from "./mapped_file.ts";
export {
  type Message,
  MessageQueue,
  type MessageQueueCreateOptions,
  type MessageQueueStat,
  type MessageReceiveAsyncOptions,
  type MessageReceiveOptions,
  type MessageSendAsyncOptions,
  type MessageSendOptions,
} from "./message_queue.ts";
