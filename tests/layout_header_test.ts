// The optional header: init() writes it, attach() verifies it, and a process
// with a different idea of the layout fails at attach with an error that
// names the field, in this process and across Deno and Bun.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  array,
  char,
  f64,
  i16,
  i32,
  LayoutMismatchError,
  SharedMemory,
  struct,
  u32,
  u8,
} from "../mod.ts";
import { assertSucceeded, runScript, RUNTIMES, uniqueName } from "./_helpers.ts";

function withRegion(size: number, fn: (shm: SharedMemory) => void): void {
  const shm = SharedMemory.create(uniqueName("layout-hdr"), size);
  try {
    fn(shm);
  } finally {
    shm.close();
    shm.unlink();
  }
}

const People = struct({ name: char(4), age: i32 }, { name: "People" });

function mismatch(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof LayoutMismatchError, `not a LayoutMismatchError: ${error}`);
    assert.match(error.message, pattern);
    return true;
  };
}

test("init({ header: true }) places the data after the header and attach() finds it", () => {
  withRegion(4096, (shm) => {
    const created = People.init(shm, 64, { header: true, values: { name: "Ann", age: 30 } });
    assert.equal(People.headerByteLength % 8, 0);
    const dv = new DataView(shm.buffer);
    assert.equal(dv.getUint32(64, true), 0x4c4b4853);
    assert.equal(new TextDecoder().decode(shm.view(Uint8Array, 64, 4)), "SHKL");
    assert.equal(dv.getUint32(64 + 20, true), People.headerByteLength);
    assert.equal(dv.getInt32(64 + People.headerByteLength + 4, true), 30);
    const attached = People.attach(shm, 64, { header: true });
    assert.equal(attached.name, "Ann");
    attached.age = 31;
    assert.equal(created.age, 31);
  });
});

test("attach() names the field whose type differs", () => {
  withRegion(4096, (shm) => {
    People.init(shm, 0, { header: true });
    const Other = struct({ name: char(4), age: u32 }, { name: "People" });
    assert.throws(
      () => Other.attach(shm, 0, { header: true }),
      mismatch(/field "age" is u32 at offset 4 here but i32 at offset 4 in the region/),
    );
  });
});

test("attach() names a field that moved, one that is missing and one that is extra", () => {
  withRegion(4096, (shm) => {
    const V1 = struct({ id: u32, name: char(8), score: f64 });
    V1.init(shm, 0, { header: true });
    const Inserted = struct({ id: u32, flags: u8, name: char(8), score: f64 });
    assert.throws(() => Inserted.attach(shm, 0, { header: true }), (error: unknown) => {
      assert.ok(error instanceof LayoutMismatchError);
      assert.ok(
        error.differences.includes(
          `field "name" is char[8] at offset 5 here but char[8] at offset 4 in the region`,
        ),
        error.differences.join("\n"),
      );
      assert.ok(
        error.differences.some((d) => d.startsWith(`field "flags" is u8 at offset 4 here`)),
      );
      return true;
    });
    const Fewer = struct({ id: u32, name: char(8) });
    assert.throws(
      () => Fewer.attach(shm, 0, { header: true }),
      mismatch(/the region's layout has field "score" \(f64 at offset 16\) that is not here/),
    );
  });
});

test("attach() names the nested field that differs, not just its parent", () => {
  withRegion(4096, (shm) => {
    const Pos = struct({ x: i16, y: i16 });
    struct({ tag: u8, pos: Pos, list: array(Pos, 3) }).init(shm, 0, { header: true });
    const Pos3 = struct({ x: i16, y: i16, z: i16 });
    assert.throws(
      () => struct({ tag: u8, pos: Pos3, list: array(Pos, 3) }).attach(shm, 0, { header: true }),
      mismatch(
        /field "pos\.z" is i16 at offset 6 here but the region's layout has no field "pos\.z"/,
      ),
    );
    assert.throws(
      () => struct({ tag: u8, pos: Pos, list: array(Pos, 4) }).attach(shm, 0, { header: true }),
      mismatch(
        /field "list" is struct\(4 bytes\)\[4\] at offset 6 here but struct\(4 bytes\)\[3\]/,
      ),
    );
  });
});

test("attach() checks the version given to init()", () => {
  withRegion(4096, (shm) => {
    People.init(shm, 0, { header: true, version: 3 });
    People.attach(shm, 0, { header: true, version: 3 });
    assert.throws(
      () => People.attach(shm, 0, { header: true }),
      mismatch(/version 1 is expected here but the region holds version 3/),
    );
  });
});

test("attach() says so when there is no header, and plain at() still reads the bytes", () => {
  withRegion(4096, (shm) => {
    assert.throws(
      () => People.attach(shm, 0, { header: true }),
      mismatch(/no layout header \(magic is 0\).*not been initialized/),
    );
    shm.view(Uint32Array)[0] = 0xdeadbeef;
    assert.throws(() => People.attach(shm, 0, { header: true }), mismatch(/found 0xdeadbeef/));
    People.at(shm, 0).age = 5;
    assert.equal(People.attach(shm, 0).age, 5, "attach without header is at()");
  });
});

test("init() checks every value and option before writing a byte", () => {
  withRegion(4096, (shm) => {
    shm.view(Uint8Array).fill(0xee);
    const before = [...shm.view(Uint8Array, 0, 256)];
    assert.throws(() => People.init(shm, 0, { values: { age: 2 ** 40 } }), RangeError);
    assert.throws(() => People.init(shm, 0, { values: { nope: 1 } as never }), TypeError);
    assert.throws(() => People.init(shm, 4, { header: true }), /multiple of 8/);
    assert.throws(() => People.init(shm, 0, { version: 2 }), TypeError);
    assert.throws(() => People.init(shm, 0, { header: "yes" as unknown as boolean }), TypeError);
    assert.throws(() => People.init(shm, 4088, { header: true }), RangeError);
    assert.deepEqual([...shm.view(Uint8Array, 0, 256)], before);
    const p = People.init(shm, 0, { values: { age: 2 } });
    assert.deepEqual([p.name, p.age], ["", 2], "init zeroes what values do not give");
  });
});

test("a layout whose description passes 1 MiB is written by init() and read back by attach()", () => {
  const fields: Record<string, typeof i32> = {};
  for (let i = 0; i < 4; i++) fields[`f${i}_${"x".repeat(300_000)}`] = i32;
  const Long = struct(fields);
  assert.ok(Long.describe().length > 1 << 20);
  withRegion(Long.headerByteLength + 4096, (shm) => {
    const written = Long.init(shm, 0, { header: true, values: { [Object.keys(fields)[3]]: 7 } });
    const read = Long.attach(shm, 0, { header: true });
    assert.equal(read[Object.keys(fields)[3]], 7);
    assert.equal(written[Object.keys(fields)[3]], 7);
  });
});

test("a header whose description runs past the region is reported as corrupt, with sizes", () => {
  withRegion(4096, (shm) => {
    People.init(shm, 0, { header: true });
    new DataView(shm.buffer).setUint32(16, 5000, true);
    assert.throws(
      () => People.attach(shm, 0, { header: true }),
      mismatch(/corrupt: its description claims 5000 bytes but 4064 follow the header/),
    );
  });
});

test("array layouts carry a header too", () => {
  withRegion(4096, (shm) => {
    const Crowd = array(People, 10);
    const crowd = Crowd.init(shm, 0, { header: true, values: [{ name: "A" }, { age: 2 }] });
    assert.equal(crowd.length, 10);
    assert.equal(Crowd.attach(shm, 0, { header: true })[1].age, 2);
    assert.throws(() => array(People, 11).attach(shm, 0, { header: true }), LayoutMismatchError);
  });
});

const CHILD = `
import { char, i32, u32, struct, SharedMemory, LayoutMismatchError } from "$MOD";
const [name, which] = process.argv.slice(2).length ? process.argv.slice(2) : Deno.args;
const People = which === "same"
  ? struct({ name: char(4), age: i32 })
  : struct({ name: char(4), age: u32 });
const shm = SharedMemory.open(name);
try {
  const p = People.attach(shm, 0, { header: true });
  console.log("attached", p.name, p.age);
  p.age = 99;
} catch (error) {
  console.log(error instanceof LayoutMismatchError ? "mismatch" : "other", error.message);
} finally {
  shm.close();
}
`;

for (const runtime of RUNTIMES) {
  test(`a ${runtime} process attaches with the same layout and fails with a different one`, async () => {
    const name = uniqueName("layout-hdr-x");
    using shm = SharedMemory.create(name, 4096);
    try {
      const p = People.init(shm, 0, { header: true, values: { name: "Zed", age: 41 } });
      const same = await runScript(runtime, CHILD, { args: [name, "same"] });
      assertSucceeded(same, `${runtime} child`);
      assert.equal(same.stdout.trim(), "attached Zed 41");
      assert.equal(p.age, 99);
      const other = await runScript(runtime, CHILD, { args: [name, "other"] });
      assertSucceeded(other, `${runtime} child`);
      assert.match(
        other.stdout.trim(),
        /^mismatch .*field "age" is u32 at offset 4 here but i32 at offset 4 in the region/,
      );
      assert.equal(p.age, 99, "the mismatched process wrote nothing");
    } finally {
      shm.unlink();
    }
  });
}
