/**
 * Loads the C library once per thread, through whichever FFI this runtime
 * has. Every other module takes `libc`, `errno` and friends from here.
 *
 * The backends only translate (`_deno.ts`, `_bun.ts`); trying the candidate
 * libraries in order, saying why none loaded, and finding errno are done
 * here, once for both.
 *
 * @module
 */
import type { Backend, RuntimeFfi } from "./_backend.ts";
import { LIBC_SYMBOLS } from "./_symbols.ts";
import { platform } from "./_platform.ts";

async function runtimeFfi(): Promise<RuntimeFfi> {
  if ("Deno" in globalThis) return (await import("./_deno.ts")).ffi;
  if ("Bun" in globalThis) return (await import("./_bun.ts")).ffi;
  throw new Error("shmkit runs under Deno or Bun; this runtime has neither FFI");
}

/** Opens the first of `libraries` that loads, naming each one tried and why it failed otherwise. */
function load(ffi: RuntimeFfi, libraries: readonly string[]): Backend {
  const failures: string[] = [];
  for (const libraryPath of libraries) {
    try {
      const { libc, libcAsync } = ffi.open(libraryPath, LIBC_SYMBOLS);
      // errno is per thread: this module is evaluated again in every Worker,
      // so each thread reads its own cell.
      const errnoCell = new Int32Array(ffi.arrayBuffer(libc.__errno_location(), 4));
      return {
        runtime: ffi.runtime,
        libraryPath,
        libc,
        libcAsync,
        errno: () => errnoCell[0],
        pointer: ffi.pointer,
        address: ffi.address,
        arrayBuffer: ffi.arrayBuffer,
      };
    } catch (error) {
      failures.push(`${libraryPath}: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  throw new Error(`Cannot load the C library (${failures.join("; ")})`);
}

/** The one backend of this thread. */
export const backend: Backend = load(await runtimeFfi(), platform.libraries);
export const libc = backend.libc;
export const libcAsync = backend.libcAsync;
export const errno = backend.errno;
export { platform };
