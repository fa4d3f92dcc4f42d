/**
 * The docs' `people` record, `typedef struct { char name[4]; int age; }`,
 * shared by map_normalfile1 and map_normalfile2.
 *
 * @module
 */
import type { SharedRegion } from "../mod.ts";
import { cText } from "./_cli.ts";

/** sizeof(people): char[4] then an int at offset 4. */
export const PEOPLE_BYTES = 8;

/** Stores the docs' records: name "a", "b", ... and age 20, 21, ... */
export function writePeople(region: SharedRegion, count: number): void {
  const bytes = region.view(Uint8Array, 0, count * PEOPLE_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    bytes.fill(0, i * PEOPLE_BYTES, i * PEOPLE_BYTES + 4);
    bytes[i * PEOPLE_BYTES] = "a".charCodeAt(0) + i;
    view.setInt32(i * PEOPLE_BYTES + 4, 20 + i, true);
  }
}

/** Reads `count` records back. */
export function readPeople(region: SharedRegion, count: number): { name: string; age: number }[] {
  const bytes = region.view(Uint8Array, 0, count * PEOPLE_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let i = 0; i < count; i++) {
    const at = i * PEOPLE_BYTES;
    out.push({ name: cText(bytes.subarray(at, at + 4)), age: view.getInt32(at + 4, true) });
  }
  return out;
}
