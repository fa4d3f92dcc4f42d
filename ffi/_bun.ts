/**
 * The Bun backend: translates the symbol table for `bun:ffi`'s `dlopen`.
 * Bun has no off-thread foreign calls, so `libcAsync` is null.
 *
 * @module
 */
import type { LibcFunctions, RuntimeFfi, UnsafePointer } from "./_backend.ts";
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
const bun = (await import(BUN_FFI)) as BunFfi;

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

export const ffi: RuntimeFfi = {
  runtime: "bun",
  open(path, table) {
    const declared: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(table) as [string, SymbolSpec][]) {
      declared[name] = {
        args: spec.parameters.map((t) => BUN_ARG[t]),
        returns: BUN_RESULT[spec.result],
      };
    }
    return {
      libc: bun.dlopen(path, declared).symbols as unknown as LibcFunctions,
      libcAsync: null,
    };
  },
  pointer: (address) => address === 0n ? null : Number(address) as unknown as UnsafePointer,
  address: (pointer) => pointer === null ? 0n : BigInt(pointer as unknown as number),
  arrayBuffer(address, byteLength) {
    if (address === 0n) throw new RangeError("Cannot view memory at address 0");
    return bun.toArrayBuffer(Number(address), 0, byteLength);
  },
};
