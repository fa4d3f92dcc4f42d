/**
 * Reading a layout's text while another process changes it gives some text,
 * never a signal. The runtimes' TextDecoders fault (SIGSEGV) when the bytes
 * they decode change under them, and a char() field decoded its bytes in
 * place; found by the adversarial pass (Bun crashed every run).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertSucceeded, runScript, RUNTIMES, uniqueName } from "./_helpers.ts";
import { unlinkIfThere } from "./_sync_helpers.ts";

const SECONDS = 2;

const WRITER = `
import process from "node:process";
import { SharedMemory } from "$MOD";
using shm = SharedMemory.open(process.argv[2]);
const bytes = shm.view(Uint8Array, 0, 256); // the field
const texts = ["héllo wörld ".repeat(10), "日本語のテキスト".repeat(6), "ü".repeat(120), "🙂".repeat(60)]
  .map((t) => new TextEncoder().encode(t));
let seed = 1;
for (let i = 0, end = Date.now() + ${SECONDS * 1000}; Date.now() < end; i++) {
  if (i % 2 === 0) bytes.set(texts[(i >> 1) % texts.length]);
  else for (let k = 0; k < 255; k++) bytes[k] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
}
`;

const READER = `
import process from "node:process";
import { char, SharedMemory, struct } from "$MOD";
using shm = SharedMemory.open(process.argv[2]);
const record = struct({ name: char(256) }).at(shm, 0);
let n = 0;
for (const end = Date.now() + ${SECONDS * 1000}; Date.now() < end; n++) record.name.length;
console.log("read", n);
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: reading a char() field that another process keeps changing never faults`, async () => {
    const name = uniqueName("char-race");
    try {
      const { char, SharedMemory, struct } = await import("../mod.ts");
      using shm = SharedMemory.create(name, 4096);
      const record = struct({ name: char(256) }).init(shm, 0);
      record.name = "start";
      const [writer, reader] = await Promise.all([
        runScript(runtime, WRITER, { args: [name] }),
        runScript(runtime, READER, { args: [name] }),
      ]);
      assertSucceeded(writer, "writer");
      assertSucceeded(reader, "reader");
      assert.match(reader.stdout, /^read \d+/);
    } finally {
      unlinkIfThere({ shm: [name] });
    }
  });
}
