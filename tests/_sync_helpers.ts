/**
 * Helpers for the sync/ tests: a shared region per test that is always
 * unlinked, child processes that report when they are ready, and timing.
 *
 * @module
 */
import { SharedMemory } from "../mod.ts";
import { type ProcessResult, type Runtime, uniqueName } from "./_helpers.ts";

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
    shm.close();
    try {
      SharedMemory.unlink(name);
    } catch {
      // a test may unlink it itself
    }
  }
}

/** The runtimes in the order used for crossing tests: the other one first. */
export function otherRuntime(runtime: Runtime): Runtime {
  return runtime === "deno" ? "bun" : "deno";
}

/** Throws a readable error when a child failed. */
export function childFailed(what: string, result: ProcessResult): Error {
  return new Error(
    `${what} exited with ${
      result.code ?? result.signal
    }\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
}
