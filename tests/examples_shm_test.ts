/**
 * shm1/shm2, the docs' System V pair on `struct shared_use_st`, under Deno
 * and Bun, against each other and against the docs' own shm1.c and shm2.c
 * compiled from the seed text.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import path from "node:path";
import { SysVSharedMemory } from "../mod.ts";
import { compileC, ROOT, runCommand, RUNTIMES } from "./_helpers.ts";
import * as ex from "./examples_helpers.ts";
import { SharedUse } from "../examples/_shm_com.ts";

// The seed notes live beside the repository, not in it (their C is the
// docs', not ours); SHMKIT_SEEDS points elsewhere. Without them the two
// interop tests are skipped, saying so.
const SEED = path.join(
  process.env.SHMKIT_SEEDS ?? path.join(ROOT, "..", "shared", "seeds"),
  "001_b63e815eaeb5f1cb.txt",
);
const NO_SEED = existsSync(SEED) ? false : `the seed notes are not at ${SEED} (set SHMKIT_SEEDS)`;

/**
 * The C of the docs' `shm1.c` or `shm2.c`, as the seed prints it: taken
 * from the ``` cpp block after its title, with the non-breaking spaces the
 * seed indents with turned into spaces, `shm_com.h` put in place of its
 * #include, and the docs' key 1234 replaced by `key` so that tests do not
 * collide. Nothing else is changed.
 */
function seedProgram(name: "shm1" | "shm2", key: number): string {
  const text = readFileSync(SEED, "utf8");
  const block = (title: string) => {
    const at = text.indexOf(`\`${title}\`如下`);
    assert.ok(at >= 0, `${title} is in the seed`);
    const start = text.indexOf("``` cpp\n", at) + "``` cpp\n".length;
    return text.slice(start, text.indexOf("```", start)).replaceAll("\u00a0", " ");
  };
  const source = block(`${name}.c`)
    .replace('#include "shm_com.h"', block("shm_com.h"))
    .replace("( key_t ) 1234", `( key_t ) ${key}`);
  assert.ok(source.includes(`( key_t ) ${key}`), "the key was substituted");
  return source;
}

/** The docs' program, compiled. -O0: shm1.c polls a non-volatile int. */
function compileSeed(name: "shm1" | "shm2", key: number): Promise<string> {
  return compileC(seedProgram(name, key), `seed-${name}`, ["-O0", "-w"]);
}

function removeSegment(key: number): void {
  try {
    SysVSharedMemory.open(key).remove();
  } catch { /* already gone */ }
}

for (const runtime of RUNTIMES) {
  const peer = ex.other(runtime);

  test(`${runtime} shm1 reads what ${peer} shm2 writes from a pipe; the reader removes the segment`, async () => {
    const key = ex.uniqueKey();
    using reader = ex.start(runtime, "shm1", ["--key", String(key)]);
    try {
      await reader.waitFor(/Memory attached at key/);
      const writer = await ex.run(peer, "shm2", ["--key", String(key)], {
        stdin: "hello\nshared memory\nend\nnever read\n",
      });
      ex.assertExit(writer, 0, "shm2");
      assert.match(writer.stdout, /shm2: 3 texts written\n$/);
      const done = await reader.done;
      ex.assertExit(done, 0, "shm1");
      assert.match(
        done.stdout,
        /You wrote: hello\nYou wrote: shared memory\nYou wrote: end\nshm1: 3 texts read, segment removed\n$/,
      );
      await ex.assertClean({ key });
    } finally {
      removeSegment(key);
    }
  });

  test(`${runtime} shm2 started first keeps its text for a later ${peer} shm1; end of input sends "end"`, async () => {
    const key = ex.uniqueKey();
    using writer = ex.start(runtime, "shm2", ["--key", String(key)], "first\nsecond");
    try {
      await writer.waitFor(/Memory attached at key/);
      const reader = await ex.run(peer, "shm1", ["--key", String(key)]);
      ex.assertExit(reader, 0, "shm1");
      assert.match(reader.stdout, /You wrote: first\nYou wrote: second\nYou wrote: end\n/);
      const done = await writer.done;
      ex.assertExit(done, 0, "shm2");
      assert.match(done.stdout, /3 texts written \(the last an "end" for end of input\)/);
      await ex.assertClean({ key });
    } finally {
      removeSegment(key);
    }
  });

  test(`${runtime} shm1 and shm2 refuse bad input; create 0600 unless --mode; SIGINT removes what they created`, async () => {
    const key = ex.uniqueKey();
    const [badKey, badDelay, badMode] = await Promise.all([
      ex.run(runtime, "shm1", ["--key", "12x"]),
      ex.run(runtime, "shm1", ["--delay", "-1"]),
      ex.run(runtime, "shm2", ["--mode", "0689"]),
    ]);
    ex.assertOneLineError(badKey, 2, /^shm1: --key must be an integer, got "12x"/);
    ex.assertOneLineError(badDelay, 2, /^shm1: --delay must be a number at least 0, got -1/);
    ex.assertOneLineError(badMode, 2, /^shm2: --mode must be octal permission bits, got "0689"/);
    // Private to this user unless --mode says otherwise (the docs' C uses 0666).
    for (const [name, mode] of [["shm1", undefined], ["shm2", "0640"]] as const) {
      // shm2 waits for its input; shm1 for a text.
      using waiting = ex.start(
        runtime,
        name,
        ["--key", String(key), ...(mode ? ["--mode", mode] : [])],
        name === "shm2" ? "x\n" : undefined,
      );
      try {
        await waiting.waitFor(/Memory attached at key/);
        assert.equal(ex.attachCount(key), 1);
        const seg = SysVSharedMemory.open(key);
        const perms = seg.stat().mode;
        seg.detach();
        assert.equal(perms.toString(8), mode?.slice(1) ?? "600", `${name} --mode ${mode}`);
        const stopped = await waiting.interrupt("SIGINT");
        ex.assertExit(stopped, 130, `interrupted ${name}`);
        await ex.assertClean({ key });
      } finally {
        removeSegment(key);
      }
    }
  });

  test(`the docs' shm2.c drives ${runtime} shm1`, { skip: NO_SEED }, async () => {
    const key = ex.uniqueKey();
    const cWriter = await compileSeed("shm2", key);
    using reader = ex.start(runtime, "shm1", ["--key", String(key)]);
    try {
      await reader.waitFor(/Memory attached at key/);
      const c = await runCommand(cWriter, [], { stdin: "hello from C\nend\n", timeoutMs: 20_000 });
      ex.assertExit(c, 0, "shm2.c");
      const done = await reader.done;
      ex.assertExit(done, 0, "shm1");
      assert.match(done.stdout, /You wrote: hello from C\nYou wrote: end\nshm1: 2 texts read/);
      await ex.assertClean({ key });
    } finally {
      removeSegment(key);
    }
  });

  test(`${runtime} shm2 drives the docs' shm1.c`, { skip: NO_SEED }, async () => {
    const key = ex.uniqueKey();
    const cReader = await compileSeed("shm1", key);
    // The segment exists already, 0600 as ours are: the docs' 0666 |
    // IPC_CREAT attaches to it (same user) instead of making a 0666 one.
    SysVSharedMemory.create(key, SharedUse.byteLength).detach();
    const reader = runCommand(cReader, [], { timeoutMs: 20_000 });
    try {
      // shm1.c attaches, then clears written_by_you: shm2 must come after
      // that, or its first text is wiped. Waiting for the attach (a bound,
      // not a pause) leaves a window of one buffered printf, far shorter
      // than a runtime's start.
      const deadline = performance.now() + 20_000;
      while (!ex.attachCount(key) && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(ex.attachCount(key), 1, "shm1.c attached the segment");
      const writer = await ex.run(runtime, "shm2", ["--key", String(key)], {
        stdin: "hello from TS\nend\n",
      });
      ex.assertExit(writer, 0, "shm2");
      const c = await reader;
      ex.assertExit(c, 0, "shm1.c");
      assert.match(c.stdout, /You wrote:hello from TS\nYou wrote:end\n/);
      const seg = SysVSharedMemory.open(key);
      const mode = seg.stat().mode;
      seg.detach();
      assert.equal(mode, 0o600);
    } finally {
      // The seed's shm1.c only detaches; the segment is the test's to remove.
      removeSegment(key);
      await ex.assertClean({ key });
    }
  });
}
