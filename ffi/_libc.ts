/**
 * Loads the C library once, through whichever FFI this runtime has. Every
 * other module takes `libc`, `errno` and friends from here.
 *
 * @module
 */
import type { Backend, LoadBackend } from "./_backend.ts";
import { LIBC_SYMBOLS } from "./_symbols.ts";
import { platform } from "./_platform.ts";

async function chooseLoader(): Promise<LoadBackend> {
  if ("Deno" in globalThis) return (await import("./_deno.ts")).load;
  if ("Bun" in globalThis) return (await import("./_bun.ts")).load;
  throw new Error("shmkit runs under Deno or Bun; this runtime has neither FFI");
}

/** The one backend of this thread. */
export const backend: Backend = (await chooseLoader())(
  LIBC_SYMBOLS,
  platform.libraries,
);
export const libc = backend.libc;
export const libcAsync = backend.libcAsync;
export const errno = backend.errno;
export { platform };
