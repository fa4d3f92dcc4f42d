/**
 * Helpers for the sync/ tests: a shared region per test that is always
 * unlinked, a delay, and the other runtime for crossing tests.
 *
 * @module
 */
import { NamedSemaphore, SharedMemory } from "../mod.ts";
import { type Runtime, uniqueName } from "./_helpers.ts";

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `body` with a fresh POSIX shared memory object of `size` bytes, then
 * closes and unlinks it whatever happened.
 */
export async function withRegion<T>(
  label: string,
  body: (shm: SharedMemory, name: string) => T | Promise<T>,
  size = 4096,
): Promise<T> {
  const name = uniqueName(label);
  const shm = SharedMemory.create(name, size);
  try {
    return await body(shm, name);
  } finally {
    try {
      shm.close();
    } finally {
      try {
        SharedMemory.unlink(name);
      } catch {
        // a test may unlink it itself
      }
    }
  }
}

/** The runtime that is not `runtime`, for tests that cross the two. */
export function otherRuntime(runtime: Runtime): Runtime {
  return runtime === "deno" ? "bun" : "deno";
}

/**
 * Removes shared memory objects and named semaphores that a child may or may
 * not have left: names already gone are skipped.
 */
export function unlinkIfThere(names: { shm?: string[]; sem?: string[] }): void {
  const attempts = [
    ...(names.shm ?? []).map((n) => () => SharedMemory.unlink(n)),
    ...(names.sem ?? []).map((n) => () => NamedSemaphore.unlink(n)),
  ];
  for (const unlink of attempts) {
    try {
      unlink();
    } catch {
      // never made, or removed by the child
    }
  }
}
