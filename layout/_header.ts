/**
 * The optional layout header: written by `init(..., { header: true })` in
 * front of the data, checked by `attach(..., { header: true })`.
 *
 * ```c
 * struct shmkit_layout_header {     // little-endian, 8-aligned, 32 bytes
 *   uint32_t magic;                 // 0x4C4B4853, the bytes "SHKL"; written last
 *   uint16_t format;                // 1
 *   uint16_t reserved;              // 0
 *   uint32_t version;               // the application's layout version
 *   uint32_t hash;                  // FNV-1a 32 of description[]
 *   uint32_t description_length;    // bytes of description[]
 *   uint32_t data_offset;           // from the header's start to the data
 *   uint64_t data_length;           // sizeof the data
 *   char description[];             // UTF-8 lines: "path type @offset"
 * };
 * ```
 *
 * The description lists every field with its type and offset, so a
 * mismatched attach can say which field differs, not just that a hash did.
 *
 * @module
 */
import { type Binding, live } from "./_binding.ts";
import { alignUp, type Entry, type FieldImpl } from "./_field.ts";
import { LayoutMismatchError } from "./errors.ts";

const HEADER_MAGIC = 0x4c4b4853;
const HEADER_FORMAT = 1;
export const HEADER_FIXED = 32;
/** Headers are placed at multiples of this. */
export const HEADER_ALIGN = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a layout writes into, and expects from, a header. */
export interface Described {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly hash: number;
  /** Header plus description, padded so the data after it is aligned. */
  readonly headerByteLength: number;
}

/** FNV-1a, 32 bits. */
function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i];
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The description of a layout: a root line, then one line per field. */
export function describeImpl(impl: FieldImpl): Described {
  const entries: Entry[] = [];
  impl.entries("", 0, entries);
  const lines = [`${impl.descriptor} align ${impl.alignment}`];
  for (const e of entries) lines.push(`${e.path} ${e.type} @${e.offset}`);
  const text = lines.join("\n");
  const bytes = encoder.encode(text);
  return {
    text,
    bytes,
    hash: fnv1a(bytes),
    headerByteLength: alignUp(HEADER_FIXED + bytes.length, Math.max(HEADER_ALIGN, impl.alignment)),
  };
}

/** Writes everything but the magic (the data is not ready yet). */
export function writeHeader(
  b: Binding,
  o: number,
  described: Described,
  version: number,
  dataLength: number,
): void {
  const { dv, u8 } = b;
  dv.setUint16(o + 4, HEADER_FORMAT, true);
  dv.setUint16(o + 6, 0, true);
  dv.setUint32(o + 8, version, true);
  dv.setUint32(o + 12, described.hash, true);
  dv.setUint32(o + 16, described.bytes.length, true);
  dv.setUint32(o + 20, described.headerByteLength, true);
  dv.setBigUint64(o + 24, BigInt(dataLength), true);
  u8.set(described.bytes, o + HEADER_FIXED);
}

/** Makes the header valid: a release store of the magic, after the data. */
export function publishHeader(b: Binding, o: number): void {
  Atomics.store(new Int32Array(b.buffer, o, 1), 0, HEADER_MAGIC);
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * Checks the header at `o` against what this process expects; throws
 * LayoutMismatchError naming the first difference.
 */
export function verifyHeader(
  b: Binding,
  o: number,
  described: Described,
  version: number,
  dataLength: number,
  what: string,
): void {
  live(b, o, HEADER_FIXED);
  const { dv, u8 } = b;
  const magic = Atomics.load(new Int32Array(b.buffer, o, 1), 0) >>> 0;
  if (magic !== HEADER_MAGIC) {
    throw new LayoutMismatchError(what, [
      magic === 0
        ? `there is no layout header (magic is 0): the region has not been initialized with init(region, ${o}, { header: true }), or not yet`
        : `there is no layout header: found ${hex(magic)} where the magic ${
          hex(HEADER_MAGIC)
        } should be`,
    ]);
  }
  const format = dv.getUint16(o + 4, true);
  if (format !== HEADER_FORMAT) {
    throw new LayoutMismatchError(what, [
      `the header has format ${format}; this shmkit reads format ${HEADER_FORMAT}`,
    ]);
  }
  const theirVersion = dv.getUint32(o + 8, true);
  const theirHash = dv.getUint32(o + 12, true);
  const length = dv.getUint32(o + 16, true);
  const dataOffset = dv.getUint32(o + 20, true);
  const theirDataLength = dv.getBigUint64(o + 24, true);
  // No limit but the region: init() writes a description of any size (its
  // length field is 32 bits, more than any string an engine makes).
  const room = b.buffer.byteLength - o - HEADER_FIXED;
  if (length > room) {
    throw new LayoutMismatchError(what, [
      `the header is corrupt: its description claims ${length} bytes but ${room} follow the header in the region`,
    ]);
  }
  // A copy: decoding bytes another process may be changing can fault.
  const theirs = decoder.decode(u8.slice(o + HEADER_FIXED, o + HEADER_FIXED + length));
  const differences = diff(described.text, theirs);
  if (theirVersion !== version) {
    differences.unshift(
      `version ${version} is expected here but the region holds version ${theirVersion}`,
    );
  }
  if (differences.length === 0) {
    if (
      theirHash !== described.hash || dataOffset !== described.headerByteLength ||
      theirDataLength !== BigInt(dataLength)
    ) {
      differences.push(
        `the header is corrupt: its description matches but its hash, data offset or data length do not`,
      );
    }
  }
  if (differences.length > 0) throw new LayoutMismatchError(what, differences);
}

interface Line {
  path: string;
  type: string;
  offset: number;
}

function parse(text: string): { root: string; lines: Line[] } {
  const [root = "", ...rest] = text.split("\n");
  const lines: Line[] = [];
  for (const line of rest) {
    const space = line.indexOf(" ");
    const at = line.lastIndexOf(" @");
    if (space < 0 || at < space) continue;
    lines.push({
      path: line.slice(0, space),
      type: line.slice(space + 1, at),
      offset: Number(line.slice(at + 2)),
    });
  }
  return { root, lines };
}

/** Every difference between two descriptions, leaf fields first. */
function diff(ours: string, theirs: string): string[] {
  if (ours === theirs) return [];
  const here = parse(ours);
  const there = parse(theirs);
  const theirByPath = new Map(there.lines.map((l) => [l.path, l]));
  const ourPaths = new Set(here.lines.map((l) => l.path));
  const found: { text: string; container: boolean }[] = [];
  const isContainer = (path: string, lines: Line[]) =>
    lines.some((l) => l.path.startsWith(path + ".") || l.path.startsWith(path + "["));
  for (const l of here.lines) {
    const t = theirByPath.get(l.path);
    if (t === undefined) {
      found.push({
        text:
          `field "${l.path}" is ${l.type} at offset ${l.offset} here but the region's layout has no field "${l.path}"`,
        container: isContainer(l.path, here.lines),
      });
    } else if (t.type !== l.type || t.offset !== l.offset) {
      found.push({
        text:
          `field "${l.path}" is ${l.type} at offset ${l.offset} here but ${t.type} at offset ${t.offset} in the region`,
        container: isContainer(l.path, here.lines),
      });
    }
  }
  for (const t of there.lines) {
    if (!ourPaths.has(t.path)) {
      found.push({
        text:
          `the region's layout has field "${t.path}" (${t.type} at offset ${t.offset}) that is not here`,
        container: isContainer(t.path, there.lines),
      });
    }
  }
  const out = [
    ...found.filter((f) => !f.container).map((f) => f.text),
    ...found.filter((f) => f.container).map((f) => f.text),
  ];
  if (here.root !== there.root) {
    out.push(`the layout is ${here.root} here but ${there.root} in the region`);
  }
  if (out.length === 0) out.push("the layout descriptions differ");
  return out;
}
