/**
 * shmkit: inter-process shared memory and the synchronization to use it
 * safely, for Deno and Bun, through libc.
 *
 * @example
 * ```ts
 * import { SharedMemory } from "./mod.ts";
 * using shm = SharedMemory.create(`/doc-mod-${Date.now()}`, 4096);
 * shm.view(Int32Array)[0] = 1;
 * shm.unlink();
 * ```
 *
 * @module
 */
export * from "./ffi/mod.ts";
export * from "./sync/mod.ts";
export * from "./layout/mod.ts";
