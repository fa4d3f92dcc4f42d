/**
 * Regions say what they are: every region names itself (`description`) and
 * says what a write does (`access`), and layouts and sync primitives ask
 * nothing else of it, so a region of the user's own making works as long as
 * it has every member of SharedRegion, and one that lacks some is refused
 * with a TypeError that names the member.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import {
  ClosedError,
  Flag,
  i32,
  IPC_PRIVATE,
  MappedFile,
  Semaphore,
  SharedMemory,
  type SharedRegion,
  struct,
  SysVSharedMemory,
} from "../mod.ts";
import { scratchPath, uniqueName } from "./_helpers.ts";

test("every kind of region describes itself, also after it is closed", () => {
  const name = uniqueName("describe");
  const shm = SharedMemory.create(name, 4096);
  const key = 0x5a00_0000 + (process.pid % 0x10_0000);
  const seg = SysVSharedMemory.create(key, 4096);
  const byId = SysVSharedMemory.attach(seg.id);
  const path = scratchPath("describe", ".bin");
  writeFileSync(path, new Uint8Array(4096));
  const file = MappedFile.open(path);
  try {
    assert.equal(shm.description, `shared memory "${name}"`);
    assert.equal(seg.description, `System V segment with key 0x${key.toString(16)}`);
    assert.equal(byId.description, `System V segment id ${seg.id}`);
    assert.equal(file.description, `mapped file "${path}"`);
  } finally {
    shm.close();
    SharedMemory.unlink(name);
    byId.detach();
    seg.remove();
    seg.detach();
    file.close();
  }
  assert.equal(shm.description, `shared memory "${name}"`);
  assert.equal(seg.description, `System V segment with key 0x${key.toString(16)}`);
});

test("layouts and sync primitives name a closed region by its description", () => {
  const seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
  const Point = struct({ x: i32, y: i32 });
  const point = Point.init(seg, 0);
  const flag = Flag.init(seg, 64);
  seg.remove();
  seg.detach();
  assert.equal(seg.description, "System V segment with key 0x00000000");
  const named = (error: unknown) =>
    error instanceof ClosedError && error.message.includes(seg.description);
  assert.throws(() => point.x, named);
  assert.throws(() => flag.value, named);
  assert.throws(() => Point.at(seg, 0), named);
  assert.throws(() => Flag.attach(seg, 64), named);
});

/** A region of the user's own: every member of SharedRegion, over a real one. */
function ownRegion(inner: SharedRegion): SharedRegion {
  return {
    get size() {
      return inner.size;
    },
    get closed() {
      return inner.closed;
    },
    get access() {
      return inner.access;
    },
    description: "my region",
    get buffer() {
      return inner.buffer;
    },
    view: (type, byteOffset, length) => inner.view(type, byteOffset, length),
    unsafePointer: (byteOffset) => inner.unsafePointer(byteOffset),
  };
}

test("a region of the user's own making works with layouts and semaphores", async () => {
  const name = uniqueName("own-region");
  const shm = SharedMemory.create(name, 4096);
  try {
    const mine = ownRegion(shm);
    const point = struct({ x: i32, y: i32 }).init(mine, 0, { values: { x: 1, y: 2 } });
    assert.equal(point.y, 2);
    const sem = Semaphore.init(mine, 64, 1);
    await sem.waitAsync({ timeout: 1000 });
    assert.equal(sem.value, 0);
    sem.post();
    assert.equal(Semaphore.attach(shm, 64).value, 1);
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
});

test("a region without a description, or with an unknown access, is refused with TypeError", () => {
  const name = uniqueName("own-region-bad");
  const shm = SharedMemory.create(name, 4096);
  try {
    const { description: _, ...rest } = Object.getOwnPropertyDescriptors(ownRegion(shm));
    const undescribed = Object.defineProperties({}, rest) as SharedRegion;
    const Point = struct({ x: i32 });
    const missing = /region\.description must be a string naming the region, got undefined/;
    assert.throws(() => Point.at(undescribed, 0), { name: "TypeError", message: missing });
    assert.throws(() => Semaphore.init(undescribed, 0), { name: "TypeError", message: missing });
    const odd = { ...ownRegion(shm), access: "shared" } as unknown as SharedRegion;
    const access = /region\.access must be "read-write", "copy-on-write" or "read-only"/;
    assert.throws(() => Point.at(odd, 0), { name: "TypeError", message: access });
    assert.throws(() => Flag.init(odd, 0), { name: "TypeError", message: access });
    assert.throws(() => Point.at({} as SharedRegion, 0), {
      name: "TypeError",
      message: /region must be a SharedRegion/,
    });
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
});
