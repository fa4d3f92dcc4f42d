// Records and array views read and write the mapping in place, refuse what
// does not fit before writing anything, and fail clearly once the region is
// closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  array,
  bytes,
  char,
  ClosedError,
  f32,
  f64,
  type FieldType,
  i16,
  i32,
  i64,
  i8,
  RecordArray,
  SharedMemory,
  struct,
  toObject,
  u16,
  u32,
  u64,
  u8,
  ValueArray,
} from "../mod.ts";
import { _setCodegen } from "../layout/_codegen.ts";
import { inspect } from "node:util";
import { uniqueName } from "./_helpers.ts";

function withRegion(size: number, fn: (shm: SharedMemory) => void): void {
  const shm = SharedMemory.create(uniqueName("layout"), size);
  try {
    fn(shm);
  } finally {
    shm.close();
    shm.unlink();
  }
}

/** A copy of the region's bytes, to show that a refused write changed nothing. */
function bytesOf(shm: SharedMemory, from = 0, to = 256): number[] {
  return [...shm.view(Uint8Array, from, to - from)];
}

const People = struct({ name: char(4), age: i32 }, { name: "People" });
const Shared = struct({ writtenByYou: i32, someText: char(2048) });

test("struct() lays out the docs' people and shared_use_st like C", () => {
  assert.equal(People.byteLength, 8);
  assert.equal(People.alignment, 4);
  assert.equal(People.offsetOf("name"), 0);
  assert.equal(People.offsetOf("age"), 4);
  assert.equal(Shared.byteLength, 2052);
  assert.equal(Shared.offsetOf("someText"), 4);
  const Padded = struct({ a: u8, b: f64, c: u8 });
  assert.deepEqual([
    Padded.offsetOf("b"),
    Padded.offsetOf("c"),
    Padded.byteLength,
    Padded.alignment,
  ], [
    8,
    16,
    24,
    8,
  ]);
  assert.equal(People.fields.age, i32);
  assert.equal(People.name, "People");
});

test("at() gives a record whose properties read and write the mapping, no copy", () => {
  withRegion(4096, (shm) => {
    const a = People.at(shm, 16);
    const b = People.at(shm, 16);
    a.age = 23;
    a.name = "Ann";
    assert.equal(b.age, 23);
    assert.equal(b.name, "Ann");
    const dv = new DataView(shm.buffer);
    assert.equal(dv.getInt32(20, true), 23);
    assert.deepEqual(bytesOf(shm, 16, 20), [65, 110, 110, 0]);
    dv.setInt32(20, -7, true);
    assert.equal(a.age, -7);
  });
});

const NUMBER_CASES: [string, FieldType, unknown[], unknown[], unknown[]][] = [
  // type, good values, out-of-range values (RangeError), wrong types (TypeError)
  ["i8", i8, [-128, 0, 127], [128, -129, 1.5, NaN], ["1", 1n, null]],
  ["u8", u8, [0, 255], [256, -1, 0.5], ["1", undefined]],
  ["i16", i16, [-32768, 32767], [32768, -32769], [true]],
  ["u16", u16, [0, 65535], [65536, -1], [{}]],
  ["i32", i32, [-(2 ** 31), 2 ** 31 - 1, 0], [2 ** 31, -(2 ** 31) - 1, Infinity], ["5", 5n]],
  ["u32", u32, [0, 2 ** 32 - 1], [2 ** 32, -1, 1e-9], [[1]]],
  ["i64", i64, [-(2n ** 63n), 2n ** 63n - 1n, 0n], [2n ** 63n, -(2n ** 63n) - 1n, 2 ** 60, 0.5], [
    "1",
  ]],
  ["u64", u64, [0n, 2n ** 64n - 1n], [2n ** 64n, -1n, -1], ["1", null]],
  ["f32", f32, [0, -1.5, Infinity], [], ["1", 1n]],
  ["f64", f64, [Math.PI, -0, Number.MAX_VALUE, NaN], [], ["1", 1n, undefined]],
];

// Generated accessors and the closures used without codegen test values
// with two forms of one check: both must agree on every edge value.
for (const codegen of [true, false]) {
  for (const [name, type, good, outOfRange, wrongType] of NUMBER_CASES) {
    test(
      `${name} fields round-trip edge values and refuse others before writing${
        codegen ? "" : " (closures)"
      }`,
      () => {
        const before = _setCodegen(codegen);
        try {
          roundTrip(type, name, good, outOfRange, wrongType);
        } finally {
          _setCodegen(before);
        }
      },
    );
  }
}

function roundTrip(
  type: FieldType,
  name: string,
  good: unknown[],
  outOfRange: unknown[],
  wrongType: unknown[],
): void {
  withRegion(4096, (shm) => {
    const S = struct({ before: u8, value: type, after: u8 });
    const s = S.at(shm, 0) as { value: unknown; before: number; after: number };
    const list = array(type, 2).at(shm, 64) as ValueArray<unknown>;
    for (const v of good) {
      list.set(1, v);
      assert.ok(Object.is(list.get(1), v), `${name}[1] ${String(v)}`);
    }
    for (const v of outOfRange) assert.throws(() => list.set(0, v), RangeError);
    for (const v of wrongType) {
      assert.throws(
        () => (list[0] = v),
        (e: unknown) => e instanceof TypeError && / must be /.test(e.message),
      );
    }
    s.before = 0xaa;
    s.after = 0xbb;
    for (const v of good) {
      s.value = v;
      assert.ok(Object.is(s.value, v), `${name} ${String(v)} read back ${String(s.value)}`);
    }
    const snapshot = bytesOf(shm, 0, S.byteLength);
    for (const v of outOfRange) {
      assert.throws(() => (s.value = v), RangeError, `${name} accepted ${String(v)}`);
    }
    for (const v of wrongType) {
      assert.throws(
        () => (s.value = v),
        (e: unknown) => e instanceof TypeError && e.message.includes(`(${name}) must be`),
        `${name} accepted ${typeof v}, or refused it with the engine's message`,
      );
    }
    assert.deepEqual(bytesOf(shm, 0, S.byteLength), snapshot);
  });
}

test("i64 and u64 read as bigint and accept safe integers", () => {
  withRegion(4096, (shm) => {
    const S = struct({ a: i64, b: u64 });
    const s = S.at(shm, 0);
    s.a = -5 as unknown as bigint;
    s.b = 2 ** 53 - 1 as unknown as bigint;
    assert.equal(s.a, -5n);
    assert.equal(s.b, 2n ** 53n - 1n);
  });
});

test("f32 fields store the nearest float", () => {
  withRegion(4096, (shm) => {
    const s = struct({ x: f32 }).at(shm, 0);
    s.x = 0.1;
    assert.equal(s.x, Math.fround(0.1));
  });
});

test("char(n) reads up to the first NUL and writes text, NUL and zeroes", () => {
  withRegion(4096, (shm) => {
    const S = struct({ s: char(8), tail: u8 });
    const s = S.at(shm, 0);
    s.tail = 9;
    s.s = "abcdefg";
    assert.equal(s.s, "abcdefg");
    s.s = "hi";
    assert.equal(s.s, "hi");
    assert.deepEqual(bytesOf(shm, 0, 9), [104, 105, 0, 0, 0, 0, 0, 0, 9]);
    s.s = "";
    assert.equal(s.s, "");
    s.s = "hé✓!";
    assert.equal(s.s, "hé✓!", "7 bytes of UTF-8 fill char[8]");
  });
});

test("char(n) reads a field a C writer filled without a NUL as all n bytes", () => {
  withRegion(4096, (shm) => {
    const s = struct({ s: char(4), next: i32 }).at(shm, 0);
    shm.view(Uint8Array, 0, 4).set([119, 120, 121, 122]);
    s.next = 0x41414141;
    assert.equal(s.s, "wxyz");
  });
});

test("char(n) refuses a string that does not fit, or contains NUL, without writing", () => {
  withRegion(4096, (shm) => {
    const s = People.at(shm, 0);
    s.name = "Bob";
    const before = bytesOf(shm, 0, 8);
    assert.throws(
      () => (s.name = "Bobby"),
      (e: unknown) => e instanceof RangeError && /at most 3 bytes/.test(e.message),
    );
    assert.throws(() => (s.name = "abcd"), RangeError, "no room for the NUL");
    assert.throws(() => (s.name = "é✓"), RangeError, "5 UTF-8 bytes");
    assert.throws(() => (s.name = "a\0b"), RangeError);
    assert.throws(() => ((s as { name: unknown }).name = 42), TypeError);
    assert.deepEqual(bytesOf(shm, 0, 8), before);
    assert.equal(s.name, "Bob");
  });
});

test("char(n, { truncate: true }) cuts at a UTF-8 boundary", () => {
  withRegion(4096, (shm) => {
    const s = struct({ a: char(4, { truncate: true }), b: char(3, { truncate: true }) }).at(shm, 0);
    s.a = "Annabel";
    assert.equal(s.a, "Ann");
    s.b = "hé";
    assert.equal(s.b, "h");
    s.a = "✓✓";
    assert.equal(s.a, "✓");
  });
});

test("bytes(n) reads as a live Uint8Array over exactly the field", () => {
  withRegion(4096, (shm) => {
    const S = struct({ id: bytes(4), n: u32 });
    const s = S.at(shm, 0);
    s.n = 0xffffffff;
    s.id[1] = 7;
    assert.equal(shm.view(Uint8Array)[1], 7);
    assert.equal(s.id.length, 4);
    (s as { id: unknown }).id = [1, 2];
    assert.deepEqual([...s.id], [1, 2, 0, 0]);
    s.id = new Uint8Array([9, 9, 9, 9]);
    assert.deepEqual([...s.id], [9, 9, 9, 9]);
    assert.throws(() => (s.id = new Uint8Array(5)), RangeError);
    assert.throws(() => (s.id = [1, 256] as unknown as Uint8Array), RangeError);
    assert.throws(() => (s.id = "abc" as unknown as Uint8Array), TypeError);
    assert.deepEqual([...s.id], [9, 9, 9, 9]);
    assert.equal(s.n, 0xffffffff);
  });
});

test("array(i32, n) fields index in place and refuse out-of-range indexes", () => {
  withRegion(4096, (shm) => {
    const Team = struct({ pre: i32, scores: array(i32, 4), post: i32 });
    const t = Team.at(shm, 0);
    t.pre = 1;
    t.post = 2;
    assert.ok(t.scores instanceof ValueArray);
    t.scores[0] = 10;
    t.scores.set(3, 40);
    assert.equal(t.scores.get(0), 10);
    assert.equal(t.scores[3], 40);
    assert.equal(t.scores.length, 4);
    assert.deepEqual([...t.scores], [10, 0, 0, 40]);
    const before = bytesOf(shm, 0, Team.byteLength);
    assert.throws(() => (t.scores[4] = 1), RangeError);
    assert.throws(() => (t.scores[-1] = 1), RangeError);
    assert.throws(() => t.scores[4], RangeError);
    assert.throws(() => t.scores.set(4, 1), RangeError);
    assert.throws(() => t.scores.get(1.5), RangeError);
    assert.throws(() => t.scores.set(0, 2 ** 40), RangeError);
    assert.deepEqual(bytesOf(shm, 0, Team.byteLength), before);
    (t as { scores: unknown }).scores = [1, 2];
    assert.deepEqual([...t.scores], [1, 2, 0, 0]);
    assert.throws(() => ((t as { scores: unknown }).scores = [1, 2, 3, 4, 5]), RangeError);
    assert.deepEqual([t.pre, t.post], [1, 2]);
  });
});

test("ValueArray.asTypedArray() shares the elements, for Atomics", () => {
  withRegion(4096, (shm) => {
    const Stats = struct({ flag: u8, counters: array(i32, 4) });
    const s = Stats.at(shm, 0);
    const counters = s.counters.asTypedArray() as Int32Array;
    assert.equal(counters.length, 4);
    Atomics.add(counters, 2, 5);
    assert.equal(s.counters[2], 5);
    assert.throws(() => array(char(4), 2).at(shm, 0).asTypedArray(), TypeError);
  });
});

test("array(char(n), k) holds k bounded strings", () => {
  withRegion(4096, (shm) => {
    const names = array(char(8), 3).at(shm, 0);
    names[0] = "ada";
    names.set(2, "grace");
    assert.deepEqual([...names], ["ada", "", "grace"]);
    assert.throws(() => (names[1] = "toolongname"), RangeError);
  });
});

test("array(i16, n) of arrays lays out rows like C and indexes both levels", () => {
  withRegion(4096, (shm) => {
    const Grid = array(array(i16, 4), 3);
    assert.equal(Grid.name, "i16[3][4]");
    assert.equal(Grid.byteLength, 24);
    const g = Grid.at(shm, 0);
    g[2][3] = -1;
    assert.equal(shm.view(Int16Array)[11], -1);
    assert.equal(Grid.offsetOf("[2][3]"), 22);
    assert.throws(() => g[3], RangeError);
    assert.throws(() => g[0][4], RangeError);
  });
});

test("layout.array() gives indexable records: people[3].age = 23", () => {
  withRegion(4096, (shm) => {
    const people = People.array(shm, 0, 10);
    assert.ok(people instanceof RecordArray);
    people[3].age = 23;
    people[3].name = "Cy";
    assert.equal(people.get(3).age, 23);
    assert.equal(new DataView(shm.buffer).getInt32(3 * 8 + 4, true), 23);
    assert.equal(people.length, 10);
    assert.equal(people[3], people[3], "index access gives the same record each time");
    let n = 0;
    for (const p of people) {
      p.age += 1;
      n++;
    }
    assert.equal(n, 10);
    assert.deepEqual(Array.from(people, (p) => p.age), [1, 1, 1, 24, 1, 1, 1, 1, 1, 1]);
  });
});

test("out-of-range record indexes throw RangeError and write nothing", () => {
  withRegion(4096, (shm) => {
    const people = People.array(shm, 8, 10);
    const before = bytesOf(shm, 0, 200);
    for (const bad of [10, 11, -1, 1.5, 2 ** 32]) {
      assert.throws(() => people[bad].age = 1, RangeError, `people[${bad}]`);
      assert.throws(() => people.get(bad), RangeError, `people.get(${bad})`);
      assert.throws(() => people.set(bad, { age: 1 }), RangeError, `people.set(${bad})`);
    }
    assert.throws(() => (people as unknown as Record<number, unknown>)[12] = {}, RangeError);
    assert.throws(() => people.get("3" as unknown as number), TypeError);
    assert.deepEqual(bytesOf(shm, 0, 200), before);
    assert.equal((people as unknown as Record<string, unknown>).nothing, undefined);
  });
});

test("records cannot be replaced by assignment; set(i, values) overwrites like a compound literal", () => {
  withRegion(4096, (shm) => {
    const people = People.array(shm, 0, 4);
    people.set(1, { name: "Ann", age: 30 });
    assert.throws(
      () => ((people as unknown as Record<number, unknown>)[1] = { age: 1 }),
      TypeError,
    );
    people[2].age = 5;
    assert.throws(
      () => ((people as unknown as Record<number, unknown>)[2] = { age: 1 }),
      TypeError,
    );
    people.set(1, { age: 31 });
    assert.deepEqual(toObject(people[1]), { name: "", age: 31 });
    assert.throws(() => people.set(1, { agee: 3 }), TypeError);
    assert.throws(() => people.set(1, { name: "toolong", age: 3 }), RangeError);
    assert.throws(() => people.set(1, 5), TypeError);
    assert.deepEqual(toObject(people[1]), { name: "", age: 31 });
  });
});

test("nested structs and arrays of structs read and write through", () => {
  withRegion(4096, (shm) => {
    const Point = struct({ x: i16, y: i16 }, { name: "Point" });
    const Shape = struct({ id: u8, at: Point, corners: array(Point, 3), label: char(6) });
    assert.equal(Shape.offsetOf("at"), 2);
    assert.equal(Shape.offsetOf("corners[2].y"), 2 + 4 + 8 + 2);
    const s = Shape.at(shm, 0);
    s.at.x = 5;
    s.corners[1].y = -3;
    assert.equal(new DataView(shm.buffer).getInt16(2, true), 5);
    assert.equal(s.corners.get(1).y, -3);
    (s as { at: unknown }).at = { y: 9 };
    assert.deepEqual(
      toObject(s.at),
      { x: 0, y: 9 },
      "assigning a nested struct zeroes what is not given",
    );
    (s as { corners: unknown }).corners = [{ x: 1, y: 1 }, s.at];
    assert.deepEqual(toObject(s.corners), [{ x: 1, y: 1 }, { x: 0, y: 9 }, { x: 0, y: 0 }]);
    const t = Shape.at(shm, 64);
    (t as { at: unknown }).at = s.at;
    assert.equal(t.at.y, 9, "a record can be assigned from another record");
    assert.throws(() => ((s as { at: unknown }).at = { z: 1 }), TypeError);
    assert.throws(() => ((s as { at: unknown }).at = { x: 1 << 20 }), RangeError);
    assert.equal(s.at.y, 9);
  });
});

test("toObject() and JSON.stringify() copy records and arrays out", () => {
  withRegion(4096, (shm) => {
    const S = struct({ n: i64, name: char(4), raw: bytes(2), list: array(u8, 2) });
    const s = S.init(shm, 0, { values: { n: 5n, name: "ab", raw: [1, 2], list: [3] } });
    assert.deepEqual(toObject(s), { n: 5n, name: "ab", raw: new Uint8Array([1, 2]), list: [3, 0] });
    assert.equal(JSON.stringify(s), '{"n":"5","name":"ab","raw":[1,2],"list":[3,0]}');
    assert.deepEqual(toObject(s.list), [3, 0]);
    assert.deepEqual(Object.keys(s), [], "fields live on the prototype");
    assert.throws(() => toObject({}), TypeError);
  });
});

test("offsetOf() follows paths and refuses names that are not fields", () => {
  const S = struct({ a: u8, inner: struct({ b: u16, c: array(u32, 2) }) });
  assert.equal(S.offsetOf("inner.c[1]"), 4 + 4 + 4);
  assert.throws(() => S.offsetOf("nope"), RangeError);
  assert.throws(() => S.offsetOf("inner.c[2]"), RangeError);
  assert.throws(() => S.offsetOf("a.b"), RangeError);
  assert.throws(() => S.offsetOf("inner..b"), RangeError);
  assert.throws(() => S.offsetOf(3 as unknown as string), TypeError);
});

test("struct() and the type makers refuse bad definitions", () => {
  assert.throws(() => struct({}), RangeError);
  assert.throws(() => struct(null as never), TypeError);
  assert.throws(() => struct({ "bad name": i32 }), RangeError);
  assert.throws(() => struct({ constructor: i32 }), RangeError);
  assert.throws(() => struct({ a: 4 as unknown as FieldType }), TypeError);
  assert.throws(() => struct({ a: char as unknown as FieldType }), /call/);
  assert.throws(() => char(0), RangeError);
  assert.throws(() => char(1.5), RangeError);
  assert.throws(() => char("4" as unknown as number), TypeError);
  assert.throws(() => char(4, { truncate: "yes" as unknown as boolean }), TypeError);
  assert.throws(() => bytes(-1), RangeError);
  assert.throws(() => array(i32, 0), RangeError);
  assert.throws(() => array({} as FieldType, 2), TypeError);
});

test("at() and array() refuse bad regions, misaligned offsets and what does not fit", () => {
  withRegion(4096, (shm) => {
    assert.throws(() => People.at({} as SharedMemory, 0), TypeError);
    assert.throws(() => People.at(shm, 2), /multiple of 4/);
    assert.throws(() => People.at(shm, -4), RangeError);
    assert.throws(() => People.at(shm, "0" as unknown as number), TypeError);
    assert.throws(() => People.at(shm, 4092), RangeError);
    People.at(shm, 4088);
    assert.throws(() => People.array(shm, 0, 513), RangeError);
    assert.throws(() => People.array(shm, 0, -1), RangeError);
    assert.equal(People.array(shm, 0, 0).length, 0);
    assert.throws(() => People.array(shm, 0, 0).get(0), RangeError);
  });
});

test("after close(), every accessor throws ClosedError instead of touching memory", () => {
  const shm = SharedMemory.create(uniqueName("layout-closed"), 4096);
  shm.unlink();
  const S = struct({ n: i32, s: char(4), b: bytes(2), a: array(i32, 2), p: People });
  const s = S.at(shm, 0);
  const people = People.array(shm, 64, 4);
  const list = s.a;
  shm.close();
  assert.throws(() => s.n, ClosedError);
  assert.throws(() => (s.n = 1), ClosedError);
  assert.throws(() => s.s, ClosedError);
  assert.throws(() => (s.s = "x"), ClosedError);
  assert.throws(() => s.b, ClosedError);
  assert.throws(() => s.p, ClosedError);
  assert.throws(() => list.get(0), ClosedError);
  assert.throws(() => list.set(0, 1), ClosedError);
  assert.throws(() => people.get(1).age, ClosedError);
  assert.throws(() => people.set(1, { age: 1 }), ClosedError);
  assert.throws(() => toObject(people), ClosedError);
  assert.throws(() => People.at(shm, 0), ClosedError);
});

test("records made before resize() keep working on the new mapping", () => {
  withRegion(4096, (shm) => {
    const people = People.array(shm, 0, 4);
    const third = people[3];
    third.age = 33;
    const bytesField = struct({ b: bytes(4) }).at(shm, 128);
    const oldView = bytesField.b;
    shm.resize(8192);
    assert.equal(third.age, 33);
    assert.equal(people.get(3).age, 33);
    third.age = 34;
    assert.equal(new DataView(shm.buffer).getInt32(28, true), 34);
    assert.equal(oldView.length, 0, "a Uint8Array handed out before is detached");
    assert.equal(bytesField.b.length, 4, "reading the field again gives a fresh view");
    const far = People.at(shm, 8000);
    far.age = 1;
    shm.resize(4096);
    assert.throws(() => far.age, RangeError);
    assert.equal(third.age, 34);
  });
});

test("layouts built without code generation behave the same", () => {
  const before = _setCodegen(false);
  try {
    const S = struct({ a: u8, n: i32, big: i64, s: char(4), arr: array(u16, 2), p: People });
    withRegion(4096, (shm) => {
      const list = S.array(shm, 0, 3);
      const s = list[1];
      s.n = -4;
      s.big = 7n;
      s.s = "abc";
      s.arr[1] = 65535;
      s.p.age = 9;
      assert.deepEqual(toObject(list.get(1)), {
        a: 0,
        n: -4,
        big: 7n,
        s: "abc",
        arr: [0, 65535],
        p: { name: "", age: 9 },
      });
      assert.throws(() => (s.n = 2 ** 31), RangeError);
      assert.throws(() => (s.arr[2] = 1), RangeError);
      assert.throws(() => list[3], RangeError);
      let count = 0;
      for (const _ of list) count++;
      assert.equal(count, 3);
    });
  } finally {
    _setCodegen(before);
  }
});

test("struct names that clash with globals or generated code do not break accessors", () => {
  withRegion(4096, (shm) => {
    for (const name of ["BigInt", "Number", "B", "recover", "kid", "not an identifier"]) {
      const S = struct({ a: i64, n: i32, s: char(4) }, { name });
      const s = S.at(shm, 0);
      s.a = 5n;
      s.n = 6;
      s.s = "x";
      assert.deepEqual(toObject(s), { a: 5n, n: 6, s: "x" }, name);
    }
  });
});

test("assigning a struct or array from live views of the same record keeps their bytes", () => {
  withRegion(4096, (shm) => {
    const Outer = struct({ inner: struct({ x: i32, id: bytes(4) }), ids: array(bytes(2), 2) });
    const o = Outer.at(shm, 0);
    o.inner.id.set([1, 2, 3, 4]);
    (o as { inner: unknown }).inner = { x: 8, id: o.inner.id };
    assert.deepEqual([...o.inner.id], [1, 2, 3, 4]);
    assert.equal(o.inner.x, 8);

    o.ids.set(0, [5, 6]);
    o.ids.set(1, [7, 8]);
    (o as { ids: unknown }).ids = [o.ids[1], o.ids[0]];
    assert.deepEqual(toObject(o.ids), [new Uint8Array([7, 8]), new Uint8Array([5, 6])], "a swap");

    const people = struct({ id: bytes(4), age: i32 }).array(shm, 64, 2);
    people[0].id.set([9, 9, 9, 9]);
    people.set(0, { id: people[0].id });
    assert.deepEqual([...people[0].id], [9, 9, 9, 9]);
  });
});

test("a bytes value from a second mapping of the same object survives the zeroing", () => {
  withRegion(4096, (shm) => {
    using other = SharedMemory.open(shm.name);
    const S = struct({ n: i32, id: bytes(4) });
    const records = S.array(shm, 0, 1);
    records[0].id.set([4, 3, 2, 1]);
    records.set(0, { n: 1, id: S.at(other, 0).id });
    assert.deepEqual([...records[0].id], [4, 3, 2, 1]);
  });
});

test("number fields refuse a bigint or an object without coercing it, with or without codegen", () => {
  for (const codegen of [true, false]) {
    const before = _setCodegen(codegen);
    try {
      withRegion(4096, (shm) => {
        const types = { a: i8, b: u8, c: i16, d: u16, e: i32, f: u32, g: f32, h: f64 };
        const S = struct({ ...types, list: array(i32, 2) });
        const s = S.at(shm, 0) as unknown as Record<string, unknown> & {
          list: ValueArray<number>;
        };
        let calls = 0;
        const sneaky = {
          valueOf() {
            calls++;
            return 1;
          },
        };
        const ours = (e: unknown) => e instanceof TypeError && / must be /.test(e.message);
        for (const field of Object.keys(types)) {
          assert.throws(() => (s[field] = 5n), ours, `${field} = 5n (codegen ${codegen})`);
          assert.throws(() => (s[field] = sneaky), ours, `${field} = object`);
        }
        assert.throws(() => s.list.set(0, 5n as never), ours);
        assert.throws(() => (s.list[1] = sneaky as never), ours);
        assert.throws(() => S.init(shm, 0, { values: { e: sneaky as never } }), ours);
        assert.equal(calls, 0, "valueOf() never ran");
      });
    } finally {
      _setCodegen(before);
    }
  }
});

test("any struct name works, reserved words included, and names the record class", () => {
  const names = ["class", "if", "new", "let", "static", "yield", "enum", "this", "super"];
  names.push("arguments", "await", "eval", "implements", "null", "true", "not an identifier");
  withRegion(4096, (shm) => {
    for (const codegen of [true, false]) {
      const before = _setCodegen(codegen);
      try {
        for (const name of names) {
          const S = struct({ x: i32, class: i32 }, { name });
          const s = S.array(shm, 0, 2)[1];
          s.x = 3;
          s.class = 4;
          assert.deepEqual(toObject(S.at(shm, 8)), { x: 3, class: 4 }, name);
          assert.equal(s.constructor.name, name);
        }
      } finally {
        _setCodegen(before);
      }
    }
  });
});

test("a struct with more fields than the engine compiles into one class still works", () => {
  const fields: Record<string, FieldType<number>> = {};
  for (let i = 0; i < 40_000; i++) fields[`f${i}`] = i32;
  const Wide = struct(fields);
  assert.equal(Wide.byteLength, 160_000);
  withRegion(1 << 18, (shm) => {
    const w = Wide.at(shm, 0) as Record<string, number>;
    w.f39999 = 7;
    assert.equal(w.f39999, 7);
    assert.equal(new DataView(shm.buffer).getInt32(Wide.offsetOf("f39999"), true), 7);
    assert.throws(() => (w.f0 = 2 ** 40), RangeError);
    assert.equal(Wide.array(shm, 0, 1).get(0).f39999, 7);
  });
});

test("an endless iterable or a huge array-like is refused after reading at most length + 1 items", () => {
  withRegion(4096, (shm) => {
    const Team = struct({ scores: array(i32, 4), tail: i32 });
    const t = Team.at(shm, 0) as unknown as { scores: unknown; tail: number };
    t.tail = 9;
    const before = bytesOf(shm, 0, Team.byteLength);
    let pulled = 0;
    let closed = false;
    function* endless() {
      try {
        for (;;) yield ++pulled;
      } finally {
        closed = true;
      }
    }
    assert.throws(() => (t.scores = endless()), /at most 4 elements, got more than 4$/);
    assert.equal(pulled, 5);
    assert.ok(closed, "the iterator is closed, as for-of would");
    const started = performance.now();
    assert.throws(() => (t.scores = { length: 2 ** 26 }), /at most 4 elements, got 67108864/);
    assert.ok(performance.now() - started < 100, "the length is checked before copying");
    assert.throws(() => (t.scores = { length: 1.5 }), RangeError);
    assert.throws(() => (t.scores = { length: -1 }), RangeError);
    assert.deepEqual(bytesOf(shm, 0, Team.byteLength), before);
    t.scores = { length: 2, 0: 5, 1: 6 };
    t.scores = new Set([7, 8]);
    assert.deepEqual(toObject(Team.at(shm, 0)), { scores: [7, 8, 0, 0], tail: 9 });
  });
});

test("struct() reads each field definition once and keeps what it laid out", () => {
  let reads = 0;
  const fields = {
    get a(): FieldType {
      return reads++ === 0 ? i32 : u8;
    },
  };
  const S = struct(fields);
  assert.equal(reads, 1);
  assert.equal(S.fields.a, i32);
  assert.equal(S.byteLength, 4);
});

test("struct() refuses symbol keys and names the record API uses", () => {
  assert.throws(() => struct({ a: i32, [Symbol("b")]: i32 }), /symbol/);
  assert.throws(
    () => struct({ toJSON: i32 }),
    (e: unknown) => e instanceof RangeError && /"toJSON".*JSON\.stringify/.test(e.message),
  );
  for (const name of ["constructor", "__proto__", "prototype"]) {
    assert.throws(
      () => struct(JSON.parse(`{"${name}": 0}`, (_, v) => v === 0 ? i32 : v)),
      RangeError,
    );
  }
});

test("a field type maker passed uncalled gets a hint that shows its arguments", () => {
  const hint = (maker: unknown, example: string) =>
    assert.throws(
      () => struct({ x: maker as FieldType }),
      (e: unknown) => e instanceof TypeError && e.message.includes(example),
      example,
    );
  hint(array, "array(i32, 8)");
  hint(char, "char(8)");
  hint(bytes, "bytes(8)");
  hint(struct, "struct({ x: i32 })");
});

test("people[i] caches records as hidden properties, for the first 1024 indexes only", () => {
  withRegion(1 << 17, (shm) => {
    const people = People.array(shm, 0, 5000);
    assert.equal(people[3], people[3]);
    for (let i = 0; i < 5000; i++) people[i].age = i;
    assert.deepEqual(Object.keys(people), []);
    const own = Reflect.ownKeys(people).filter((k) => typeof k === "string");
    assert.ok(own.length <= 1024, `${own.length} records kept`);
    assert.equal(people[4999].age, 4999);
    assert.notEqual(people[4999], people[4999], "beyond the cache, a new record each time");
  });
});

test("inspecting a record or an array view shows its name and values, and <closed> once closed", () => {
  const g = globalThis as { Deno?: { inspect(v: unknown): string }; Bun?: typeof g.Deno };
  const inspectors = [(g.Deno ?? g.Bun)!.inspect, inspect];
  const shm = SharedMemory.create(uniqueName("layout-inspect"), 4096);
  shm.unlink();
  const people = People.array(shm, 0, 2);
  people.set(0, { name: "Ann", age: 30 });
  const ann = people[0];
  const list = struct({ list: array(i32, 2) }).at(shm, 64).list;
  for (const show of inspectors) {
    assert.match(show(ann), /^People \{.*"?name"?: ['"]Ann['"].*age"?: 30/s);
    assert.match(show(people), /RecordArray\(2\).*Ann/s);
    assert.match(show(list), /ValueArray\(2\).*0/s);
  }
  shm.close();
  for (const show of inspectors) {
    assert.equal(show(ann), "People <closed>");
    assert.equal(show(people), "RecordArray(2) <closed>");
    assert.equal(show(list), "ValueArray(2) <closed>");
  }
});
