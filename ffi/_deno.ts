/**
 * The Deno backend: translates the symbol table for `Deno.dlopen`. Blocking
 * symbols get a `nonblocking` twin that Deno runs on a helper thread.
 *
 * @module
 */
import type {
  Backend,
  LibcAsyncFunctions,
  LibcFunctions,
  LoadBackend,
  UnsafePointer,
} from "./_backend.ts";
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

export const load: LoadBackend = (table, libraries) => {
  const deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  const declared: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table) as [string, SymbolSpec][]) {
    declared[name] = translate(spec, false);
    if (spec.blocking) {
      declared[name + ASYNC_SUFFIX] = translate(spec, true, name);
    }
  }

  let opened: ReturnType<DenoFfi["dlopen"]> | undefined;
  let libraryPath = "";
  const failures: string[] = [];
  for (const candidate of libraries) {
    try {
      opened = deno.dlopen(candidate, declared);
      libraryPath = candidate;
      break;
    } catch (error) {
      failures.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  if (opened === undefined) {
    throw new Error(`Cannot load the C library (${failures.join("; ")})`);
  }
  const raw = opened.symbols;

  const toAddress = (p: unknown) => BigInt(deno.UnsafePointer.value(p as DenoPointer));
  const libc: Record<string, unknown> = {};
  const libcAsync: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table) as [string, SymbolSpec][]) {
    const fn = raw[name];
    // Pointers come back as bigint addresses on both backends, so sentinel
    // checks such as MAP_FAILED compare exactly.
    libc[name] = spec.result === "pointer" ? (...args: unknown[]) => toAddress(fn(...args)) : fn;
    if (spec.blocking) {
      const nb = raw[name + ASYNC_SUFFIX];
      libcAsync[name] = spec.result === "pointer"
        ? async (...args: unknown[]) => toAddress(await nb(...args))
        : nb;
    }
  }

  const pointer = (address: bigint): UnsafePointer | null =>
    deno.UnsafePointer.create(address) as UnsafePointer | null;
  const arrayBuffer = (address: bigint, byteLength: number): ArrayBuffer => {
    const p = deno.UnsafePointer.create(address);
    if (p === null) throw new RangeError("Cannot view memory at address 0");
    return deno.UnsafePointerView.getArrayBuffer(p, byteLength);
  };

  const errnoAddress = (libc as unknown as LibcFunctions).__errno_location();
  const errnoCell = new Int32Array(arrayBuffer(errnoAddress, 4));

  const backend: Backend = {
    runtime: "deno",
    libraryPath,
    libc: libc as unknown as LibcFunctions,
    libcAsync: libcAsync as unknown as LibcAsyncFunctions,
    errno: () => errnoCell[0],
    pointer,
    address: (p) => toAddress(p),
    arrayBuffer,
  };
  return backend;
};
