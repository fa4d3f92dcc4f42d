import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { ClosedError, ErrnoError, MappedFile } from "../mod.ts";
import { assertSucceeded, runScript, RUNTIMES, scratchPath } from "./_helpers.ts";

test("MappedFile keeps its data in the file after flush() and close()", () => {
  const path = scratchPath("keep");
  const file = MappedFile.open(path, { create: true, size: 4096 });
  assert.equal(file.created, true);
  assert.equal(file.size, 4096);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  new TextEncoder().encodeInto("persisted", file.view(Uint8Array));
  file.flush();
  file.flush({ async: true });
  file.close();
  file.close();
  const bytes = readFileSync(path);
  assert.equal(bytes.length, 4096);
  assert.equal(bytes.subarray(0, 9).toString(), "persisted");
  using again = MappedFile.open(path);
  assert.equal(again.created, false);
  assert.equal(new TextDecoder().decode(again.view(Uint8Array, 0, 9)), "persisted");
});

test("MappedFile refuses to map past the end of a file instead of letting it SIGBUS", () => {
  const path = scratchPath("short");
  writeFileSync(path, new Uint8Array(100));
  assert.throws(
    () => MappedFile.open(path, { size: 200 }),
    (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /only 100 bytes.*SIGBUS.*grow: true/);
      return true;
    },
  );
  assert.equal(statSync(path).size, 100, "a refused open must not change the file");
  using grown = MappedFile.open(path, { size: 200, grow: true });
  assert.equal(grown.size, 200);
  assert.equal(statSync(path).size, 200);
  const empty = scratchPath("empty");
  writeFileSync(empty, "");
  assert.throws(() => MappedFile.open(empty), RangeError);
});

test("MappedFile with create refuses an existing file unless exclusive: false", () => {
  const path = scratchPath("excl");
  writeFileSync(path, "x".repeat(64));
  assert.throws(() => MappedFile.open(path, { create: true, size: 64 }), (e: unknown) => {
    assert.ok(e instanceof ErrnoError);
    assert.equal(e.code, "EEXIST");
    assert.equal(e.syscall, "open");
    assert.equal(e.path, path);
    return true;
  });
  using f = MappedFile.open(path, { create: true, exclusive: false, size: 64 });
  assert.equal(f.created, false);
  assert.equal(f.view(Uint8Array)[0], "x".charCodeAt(0));
});

test("MappedFile of a missing file fails with ENOENT and creates nothing", () => {
  const path = scratchPath("missing");
  assert.throws(() => MappedFile.open(path), (e: unknown) => (e as ErrnoError).code === "ENOENT");
  assert.equal(existsSync(path), false);
});

test("a private MappedFile is copy-on-write: its writes never reach the file", () => {
  const path = scratchPath("private");
  writeFileSync(path, new Uint8Array(64).fill(1));
  using shared = MappedFile.open(path);
  using priv = MappedFile.open(path, { private: true });
  assert.equal(priv.private, true);
  priv.view(Uint8Array)[0] = 9;
  priv.flush();
  assert.equal(shared.view(Uint8Array)[0], 1);
  assert.equal(readFileSync(path)[0], 1);
});

test("a readOnly MappedFile sees the file and a stray write cannot fault the process", () => {
  const path = scratchPath("ro");
  writeFileSync(path, new Uint8Array(64).fill(3));
  using ro = MappedFile.open(path, { readOnly: true });
  assert.equal(ro.readOnly, true);
  assert.equal(ro.view(Uint8Array)[10], 3);
  ro.view(Uint8Array)[10] = 4;
  assert.equal(readFileSync(path)[10], 3);
});

for (const writer of RUNTIMES) {
  const reader = writer === "deno" ? "bun" : "deno";
  test(`a ${reader} process mapping the same file sees what a ${writer} process wrote`, async () => {
    const path = scratchPath(`cross-${writer}`);
    const w = await runScript(
      writer,
      `
      import { MappedFile } from "$MOD";
      using f = MappedFile.open(${JSON.stringify(path)}, { create: true, size: 40 });
      const people = new DataView(f.buffer);
      for (let i = 0; i < 5; i++) {
        people.setUint8(i * 8, 97 + i);
        people.setInt32(i * 8 + 4, 20 + i, true);
      }
      f.flush();
    `,
    );
    assertSucceeded(w, "writer");
    const r = await runScript(
      reader,
      `
      import { MappedFile } from "$MOD";
      using f = MappedFile.open(${JSON.stringify(path)}, { readOnly: true });
      const people = new DataView(f.buffer);
      const out = [];
      for (let i = 0; i < 5; i++) {
        out.push(String.fromCharCode(people.getUint8(i * 8)) + ":" + people.getInt32(i * 8 + 4, true));
      }
      console.log(out.join(" "));
    `,
    );
    assertSucceeded(r, "reader");
    assert.equal(r.stdout.trim(), "a:20 b:21 c:22 d:23 e:24");
  });
}

test("MappedFile.close() detaches views and later use throws ClosedError", () => {
  const path = scratchPath("closed");
  const f = MappedFile.open(path, { create: true, size: 64 });
  const v = f.view(Int32Array);
  f.close();
  assert.equal(v.length, 0);
  assert.throws(() => f.buffer, ClosedError);
  assert.throws(() => f.flush(), ClosedError);
  assert.throws(() => f.view(Uint8Array), ClosedError);
});

test("MappedFile refuses bad arguments before any system call", () => {
  const path = scratchPath("bad");
  const flushed = scratchPath("bad-flush");
  const types: [string, () => unknown][] = [
    ["path number", () => MappedFile.open(3 as unknown as string)],
    ["options string", () => MappedFile.open(path, "rw" as unknown as undefined)],
    ["size string", () => MappedFile.open(path, { size: "10" as unknown as number })],
    ["create string", () => MappedFile.open(path, { create: "yes" as unknown as boolean })],
    [
      "readOnly with create",
      () => MappedFile.open(path, { readOnly: true, create: true, size: 1 }),
    ],
    ["create without size", () => MappedFile.open(path, { create: true })],
    ["flush async", () => {
      using f = MappedFile.open(flushed, { create: true, exclusive: false, size: 8 });
      f.flush({ async: 1 as unknown as boolean });
    }],
  ];
  for (const [label, call] of types) assert.throws(call, TypeError, label);
  const ranges: [string, () => unknown][] = [
    ["empty path", () => MappedFile.open("")],
    ["NUL path", () => MappedFile.open("/tmp/a\0b")],
    ["size 0", () => MappedFile.open(path, { size: 0 })],
    ["size fraction", () => MappedFile.open(path, { size: 1.5 })],
    ["mode wide", () => MappedFile.open(path, { create: true, size: 1, mode: 0o10000 })],
  ];
  for (const [label, call] of ranges) assert.throws(call, RangeError, label);
  // Nothing was opened or created on the way to any of those errors.
  assert.equal(existsSync(path), false, "a refused open created the file");
});
