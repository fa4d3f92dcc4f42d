/**
 * The Deno backend: translates the symbol table for `Deno.dlopen`. Each
 * blocking symbol also gets a `nonblocking` twin, which Deno runs on one of
 * its helper threads, resolving when the call returns.
 *
 * @module
 */
import type { LibcAsyncFunctions, LibcFunctions, RuntimeFfi, UnsafePointer } from "./_backend.ts";
import type { CType, SymbolSpec } from "./_symbols.ts";

// Only what we use of Deno's FFI, so that this file also type-checks under
// tsc with bun-types, where the Deno namespace does not exist.
type DenoPointer = object | null;
interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, unknown>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointer: {
    create(value: bigint): DenoPointer;
    value(pointer: DenoPointer): bigint | number;
  };
  UnsafePointerView: {
    getArrayBuffer(pointer: object, byteLength: number): ArrayBuffer;
  };
}
const deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;

const DENO_TYPE: Readonly<Record<CType, string>> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  usize: "usize",
  isize: "isize",
  pointer: "pointer",
  buffer: "buffer",
};

function translate(spec: SymbolSpec, nonblocking: boolean, name?: string) {
  return {
    ...(name === undefined ? {} : { name }),
    parameters: spec.parameters.map((t) => DENO_TYPE[t]),
    result: DENO_TYPE[spec.result],
    nonblocking,
  };
}

const ASYNC_SUFFIX = "$nonblocking";

const address = (pointer: unknown): bigint =>
  BigInt(deno.UnsafePointer.value(pointer as DenoPointer));

export const ffi: RuntimeFfi = {
  runtime: "deno",
  open(path, table) {
    const declared: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(table) as [string, SymbolSpec][]) {
      declared[name] = translate(spec, false);
      if (spec.blocking) declared[name + ASYNC_SUFFIX] = translate(spec, true, name);
    }
    const raw = deno.dlopen(path, declared).symbols;

    const libc: Record<string, unknown> = {};
    const libcAsync: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(table) as [string, SymbolSpec][]) {
      const fn = raw[name];
      // Pointers come back as bigint addresses on both backends, so sentinel
      // checks such as MAP_FAILED compare exactly.
      libc[name] = spec.result === "pointer" ? (...args: unknown[]) => address(fn(...args)) : fn;
      if (spec.blocking) {
        const twin = raw[name + ASYNC_SUFFIX];
        libcAsync[name] = spec.result === "pointer"
          ? async (...args: unknown[]) => address(await twin(...args))
          : twin;
      }
    }
    return {
      libc: libc as unknown as LibcFunctions,
      libcAsync: libcAsync as unknown as LibcAsyncFunctions,
    };
  },
  pointer: (value) => deno.UnsafePointer.create(value) as UnsafePointer | null,
  address,
  arrayBuffer(value, byteLength) {
    const pointer = deno.UnsafePointer.create(value);
    if (pointer === null) throw new RangeError("Cannot view memory at address 0");
    return deno.UnsafePointerView.getArrayBuffer(pointer, byteLength);
  },
};
