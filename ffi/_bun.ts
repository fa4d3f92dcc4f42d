/**
 * The Bun backend: translates the symbol table for `bun:ffi`'s `dlopen`.
 * Bun has no off-thread foreign calls, so `libcAsync` is null.
 *
 * @module
 */
import type { Backend, LibcFunctions, LoadBackend, UnsafePointer } from "./_backend.ts";
import type { CType, SymbolSpec } from "./_symbols.ts";

// Only what we use of bun:ffi; imported by a computed specifier so that
// Deno's module graph never tries to resolve the `bun:` scheme.
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, unknown>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  toArrayBuffer(ptr: number, byteOffset: number, byteLength: number): ArrayBuffer;
}
const BUN_FFI = "bun:ffi";
const ffi = (await import(BUN_FFI)) as BunFfi;

// Bun's `ptr` takes a number or a TypedArray, so both pointer kinds map to it.
// Pointer results are read as u64 so that sentinels like MAP_FAILED survive
// exactly instead of rounding through a double.
const BUN_ARG: Readonly<Record<CType, string>> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  usize: "u64",
  isize: "i64",
  pointer: "ptr",
  buffer: "ptr",
};
const BUN_RESULT: Readonly<Record<CType, string>> = {
  ...BUN_ARG,
  pointer: "u64",
};

export const load: LoadBackend = (table, libraries) => {
  const declared: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table) as [string, SymbolSpec][]) {
    declared[name] = {
      args: spec.parameters.map((t) => BUN_ARG[t]),
      returns: BUN_RESULT[spec.result],
    };
  }

  let opened: ReturnType<BunFfi["dlopen"]> | undefined;
  let libraryPath = "";
  const failures: string[] = [];
  for (const candidate of libraries) {
    try {
      opened = ffi.dlopen(candidate, declared);
      libraryPath = candidate;
      break;
    } catch (error) {
      failures.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  if (opened === undefined) {
    throw new Error(`Cannot load the C library (${failures.join("; ")})`);
  }
  const libc = opened.symbols as unknown as LibcFunctions;

  const pointer = (address: bigint): UnsafePointer | null =>
    address === 0n ? null : Number(address) as unknown as UnsafePointer;
  const arrayBuffer = (address: bigint, byteLength: number): ArrayBuffer => {
    if (address === 0n) throw new RangeError("Cannot view memory at address 0");
    return ffi.toArrayBuffer(Number(address), 0, byteLength);
  };

  const errnoCell = new Int32Array(arrayBuffer(libc.__errno_location(), 4));

  const backend: Backend = {
    runtime: "bun",
    libraryPath,
    libc,
    libcAsync: null,
    errno: () => errnoCell[0],
    pointer,
    address: (p) => (p === null ? 0n : BigInt(p as unknown as number)),
    arrayBuffer,
  };
  return backend;
};
