/**
 * The shape both FFI backends give the rest of shmkit. The types are derived
 * from the symbol table, so a call with the wrong argument types does not
 * compile on either runtime.
 *
 * @module
 */
import type { CType, LIBC_SYMBOLS, SymbolSpec } from "./_symbols.ts";

/**
 * An address that libc understands, in the representation the current
 * runtime's FFI wants (an opaque object under Deno, a number under Bun).
 * Only `Backend.pointer` makes one; nothing outside `ffi/` looks inside.
 */
export type UnsafePointer = { readonly __brand: "shmkit.UnsafePointer" };

type Arg<T extends CType> = T extends "i32" | "u32" ? number
  : T extends "i64" | "u64" | "usize" | "isize" ? number | bigint
  : T extends "pointer" ? UnsafePointer | null
  : T extends "buffer" ? ArrayBufferView | null
  : never;

type Result<T extends CType> = T extends "void" ? void
  : T extends "i32" | "u32" ? number
  : T extends "i64" | "u64" | "usize" | "isize" ? number | bigint
  : T extends "pointer" ? bigint
  : never;

type Args<P extends readonly CType[]> = { -readonly [K in keyof P]: Arg<P[K]> };

type Fn<S extends SymbolSpec> = (
  ...args: Args<S["parameters"]>
) => Result<S["result"]>;

type AsyncFn<S extends SymbolSpec> = (
  ...args: Args<S["parameters"]>
) => Promise<Result<S["result"]>>;

type Table = typeof LIBC_SYMBOLS;

/** Every libc function, called synchronously on the calling thread. */
export type LibcFunctions = { readonly [K in keyof Table]: Fn<Table[K]> };

type BlockingName = {
  [K in keyof Table]: Table[K] extends { blocking: true } ? K : never;
}[keyof Table];

/**
 * The blocking functions run on a helper thread, resolving when they return.
 * errno from such a call belongs to that thread and is not visible here, so
 * their callers must decide on the return value alone.
 */
export type LibcAsyncFunctions = {
  readonly [K in BlockingName]: AsyncFn<Table[K]>;
};

/** Pointers and views, in the current runtime's representation. */
interface Pointers {
  /** Turns an address into the runtime's pointer value (`null` for 0). */
  pointer(address: bigint): UnsafePointer | null;
  /** The address behind a pointer value, for handing to another thread. */
  address(pointer: UnsafePointer | null): bigint;
  /** An ArrayBuffer over `byteLength` bytes at `address`; no copy. */
  arrayBuffer(address: bigint, byteLength: number): ArrayBuffer;
}

/** The functions of one opened C library. */
interface OpenedLibc {
  readonly libc: LibcFunctions;
  /** Present where the runtime can run a foreign call off the JS thread. */
  readonly libcAsync: LibcAsyncFunctions | null;
}

/** What a runtime's FFI offers shmkit. */
export interface Backend extends Pointers, OpenedLibc {
  /** Which FFI is underneath, for diagnostics only. */
  readonly runtime: "deno" | "bun";
  readonly libraryPath: string;
  /** The calling thread's errno, read directly from its location. */
  errno(): number;
}

/**
 * What each backend module (`_deno.ts`, `_bun.ts`) exports: the symbol table
 * and pointers translated for its runtime's FFI, nothing more. Which library
 * to open, why none opened and where errno lives are decided once, above
 * the backends (`_libc.ts`).
 */
export interface RuntimeFfi extends Pointers {
  readonly runtime: Backend["runtime"];
  /** Opens the library at `path` with every function of `symbols` bound; throws if it cannot. */
  open(path: string, symbols: Table): OpenedLibc;
}
