/**
 * The layouts and values that tests/crash_readonly_test.ts places in a
 * System V segment, shared by the test (the creator) and its children (the
 * read-only attachers), which import this file by URL.
 *
 * @module
 */
import {
  array,
  bytes,
  char,
  f64,
  flag,
  i32,
  i64,
  mutex,
  semaphore,
  struct,
  u64,
  u8,
} from "../mod.ts";

/** Builds the layouts; call again after `_setCodegen(false)` for the closure-built records. */
export function makeLayouts() {
  const Point = struct({ x: i32, y: i32 }, { name: "Point" });
  const Rec = struct({
    ready: flag,
    name: char(8),
    age: i32,
    small: u8,
    ratio: f64,
    big: i64,
    huge: u64,
    id: bytes(4),
    pos: Point,
    scores: array(i32, 3),
    stamps: array(i64, 2),
    names: array(char(4), 2),
    path: array(Point, 2),
    blobs: array(bytes(2), 2),
  }, { name: "Rec" });
  const Guarded = struct({ lock: mutex, jobs: semaphore, n: i32 }, { name: "Guarded" });
  const Scores = array(i32, 4);
  return { Point, Rec, Guarded, Scores };
}

/** Where each thing sits in the segment. */
export const AT = {
  /** A Rec behind its header. */
  rec: 0,
  /** Two Recs, no header. */
  list: 2048,
  guarded: 3072,
  scores: 3200,
  mutex: 3264,
  semaphore: 3328,
  flag: 3392,
  size: 4096,
} as const;

/** What the creator writes into every Rec. */
export const VALUES = {
  name: "Ann",
  age: 30,
  small: 200,
  ratio: 0.5,
  big: -5n,
  huge: 2n ** 63n,
  id: [1, 2, 3, 4],
  pos: { x: 3, y: 4 },
  scores: [7, 8, 9],
  stamps: [11n, 12n],
  names: ["ab", "cd"],
  path: [{ x: 1, y: 2 }, { x: 5, y: 6 }],
  blobs: [[9, 8], [7, 6]],
};

/** The plain copy (toObject) a reader should see of such a Rec, as JSON. */
export const EXPECTED_JSON = JSON.stringify({
  ...VALUES,
  big: "-5",
  huge: String(2n ** 63n),
  stamps: ["11", "12"],
});
