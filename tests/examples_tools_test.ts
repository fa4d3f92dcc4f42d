/**
 * The POSIX object tools (shmcreate, shmwrite, shmread, shmunlink), the
 * mapped-file pair (map_normalfile1/2) and the message-queue pair
 * (msg1/msg2), each under Deno and Bun, crossing runtimes where they talk.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, unlinkSync } from "node:fs";
import { MessageQueue, SharedMemory } from "../mod.ts";
import { RUNTIMES, scratchPath, uniqueName } from "./_helpers.ts";
import {
  assertClean,
  assertExit,
  assertHelp,
  assertOneLineError,
  other,
  runExample,
  Running,
  uniqueKey,
} from "./examples_helpers.ts";

const EXAMPLES = [
  "shmcreate",
  "shmunlink",
  "shmwrite",
  "shmread",
  "map_normalfile1",
  "map_normalfile2",
  "msg1",
  "msg2",
];

test("--help of the tools, the mapped-file pair and msg1/msg2, in both runtimes", async () => {
  await Promise.all(RUNTIMES.flatMap((rt) => EXAMPLES.map((name) => assertHelp(rt, name))));
});

test("deno examples given fewer flags than their header declares exit 2 with one line, creating nothing", async () => {
  const [count01, count02, people] = [
    scratchPath("perm"),
    scratchPath("perm"),
    scratchPath("perm"),
  ];
  const sem = uniqueName("perm");
  const [a, b, c] = await Promise.all([
    runExample("deno", "count01", ["3", "--file", count01, "--sem", sem], {
      denoFlags: ["--allow-ffi"],
    }),
    runExample("deno", "count02", ["3", "--file", count02], {
      denoFlags: ["--allow-ffi", "--allow-write"],
    }),
    runExample("deno", "map_normalfile1", [people, "--sleep", "0"], {
      denoFlags: ["--allow-ffi", "--allow-read"],
    }),
  ]);
  assertOneLineError(a, 2, /^count01: Deno needs --allow-write --allow-run for this example/);
  assertOneLineError(b, 2, /^count02: Deno needs --allow-run for this example/);
  assertOneLineError(c, 2, /^map_normalfile1: Deno needs --allow-write for this example/);
  for (const file of [count01, count02, people]) await assertClean({ file });
  await assertClean({ label: sem.slice(1) });
});

for (const runtime of RUNTIMES) {
  const peer = other(runtime);

  test(`${runtime} shmcreate + shmwrite, ${peer} shmread, ${runtime} shmunlink`, async () => {
    const name = uniqueName("tools");
    try {
      const created = await runExample(runtime, "shmcreate", [name, "10000"]);
      assertExit(created, 0, "shmcreate");
      assert.equal(created.stdout, `shmcreate: created ${name}, 10000 bytes\n`);
      const wrote = await runExample(runtime, "shmwrite", [name]);
      assertExit(wrote, 0, "shmwrite");
      assert.match(wrote.stdout, /wrote 10000 bytes of the pattern i % 256/);
      const read = await runExample(peer, "shmread", [name]);
      assertExit(read, 0, "shmread");
      assert.equal(read.stdout, `shmread: ${name}: all 10000 bytes match the pattern i % 256\n`);

      // One wrong byte is found and reported.
      using shm = SharedMemory.open(name);
      shm.view(Uint8Array)[4097] = 7;
      const bad = await runExample(runtime, "shmread", [name]);
      assertExit(bad, 1, "shmread of a changed object");
      assert.match(bad.stdout, /1 of 10000 bytes differ; first at byte 4097: 7, expected 1/);

      const removed = await runExample(runtime, "shmunlink", [name]);
      assertExit(removed, 0, "shmunlink");
      assert.equal(removed.stdout, `shmunlink: removed ${name}\n`);
      await assertClean({ label: name.slice(1) });
    } finally {
      try {
        SharedMemory.unlink(name);
      } catch { /* already removed */ }
    }
  });

  test(`${runtime} POSIX tools refuse bad input with one line and a non-zero exit`, async () => {
    const name = uniqueName("toolsbad");
    const [missing, length, option, extra, unlinkMissing] = await Promise.all([
      runExample(runtime, "shmread", [name]),
      runExample(runtime, "shmcreate", [name, "-5"]),
      runExample(runtime, "shmwrite", ["--size", "3"]),
      runExample(runtime, "shmunlink", [name, "surplus"]),
      runExample(runtime, "shmunlink", [name]),
    ]);
    assertOneLineError(missing, 1, /^shmread: Cannot open shared memory ".*": it does not exist/);
    assertOneLineError(length, 2, /^shmcreate: LENGTH must be an integer at least 1, got -5/);
    assertOneLineError(option, 2, /^shmwrite: unknown option --size/);
    assertOneLineError(extra, 2, /^shmunlink: unexpected argument "surplus"/);
    assertOneLineError(unlinkMissing, 1, /ENOENT/);

    try {
      const made = await runExample(runtime, "shmcreate", [name, "64"]);
      assertExit(made, 0);
      const again = await runExample(runtime, "shmcreate", ["-e", name, "64"]);
      assertOneLineError(again, 1, /it already exists \(EEXIST/);
      const opened = await runExample(runtime, "shmcreate", [name, "128"]);
      assert.equal(opened.stdout, `shmcreate: opened existing ${name}, now 128 bytes\n`);
    } finally {
      SharedMemory.unlink(name);
    }
  });

  test(`${runtime} map_normalfile1 writes ten people, ${peer} map_normalfile2 reads them`, async () => {
    const file = scratchPath("people");
    const writer = new Running(runtime, "map_normalfile1", [file, "--sleep", "30"]);
    try {
      await writer.waitFor(/initialize over\n/);
      const reader = await runExample(peer, "map_normalfile2", [file]);
      assertExit(reader, 0, "map_normalfile2");
      const expected = [..."abcdefghij"].map((c, i) => `name: ${c} age ${20 + i};`);
      assert.deepEqual(reader.stdout.trimEnd().split("\n"), expected);
      // Ctrl-C during the docs' sleep: the file it created is removed.
      const stopped = await writer.interrupt("SIGINT");
      assertExit(stopped, 130, "interrupted map_normalfile1");
      assert.doesNotMatch(stopped.stdout, /umap ok/);
      await assertClean({ file });
    } finally {
      writer.child.kill("SIGKILL");
      if (existsSync(file)) unlinkSync(file);
    }
  });

  test(`${runtime} map_normalfile1 --keep leaves the records; removes the file without it`, async () => {
    const kept = scratchPath("kept");
    const gone = scratchPath("gone");
    try {
      const [a, b] = await Promise.all([
        runExample(runtime, "map_normalfile1", [kept, "--sleep", "0", "--keep"]),
        runExample(runtime, "map_normalfile1", [gone, "--sleep", "0"]),
      ]);
      for (const r of [a, b]) {
        assertExit(r, 0, "map_normalfile1");
        assert.equal(r.stdout, "initialize over\numap ok\n");
      }
      await assertClean({ file: gone });
      const reader = await runExample(peer, "map_normalfile2", [kept, "--records", "10"]);
      assertExit(reader, 0, "map_normalfile2");
      assert.equal(reader.stdout.split("\n")[9], "name: j age 29;");
    } finally {
      if (existsSync(kept)) unlinkSync(kept);
    }
  });

  test(`${runtime} map_normalfile1 with the docs' 5-record file refuses clearly, no SIGBUS`, async () => {
    const file = scratchPath("short");
    const missing = scratchPath("missing");
    const [docs, reader, records] = await Promise.all([
      runExample(runtime, "map_normalfile1", [file, "--file-records", "5", "--sleep", "0"]),
      runExample(runtime, "map_normalfile2", [missing]),
      runExample(runtime, "map_normalfile1", [file, "--records", "ten"]),
    ]);
    assertOneLineError(
      docs,
      1,
      /^map_normalfile1: the file is sized for 5 records but 10 are mapped .*40 bytes.*SIGBUS/,
    );
    assert.equal(docs.signal, null);
    await assertClean({ file });
    assertOneLineError(
      reader,
      1,
      /^map_normalfile2: Cannot open ".*" for mapping: it does not exist/,
    );
    assertOneLineError(records, 2, /--records must be an integer/);
  });

  test(`${runtime} msg2 sends lines, ${peer} msg1 prints them and removes the queue`, async () => {
    const key = uniqueKey();
    const sender = await runExample(runtime, "msg2", ["--key", String(key)], {
      stdin: "hello\nshared memory\nend\nnot sent\n",
    });
    assertExit(sender, 0, "msg2");
    assert.equal(sender.stdout, "msg2: 3 messages sent\n");
    assert.equal(MessageQueue.open(key).stat().mode, 0o600, "private unless --mode");
    const receiver = await runExample(peer, "msg1", ["--key", String(key)]);
    assertExit(receiver, 0, "msg1");
    assert.equal(
      receiver.stdout.replace(/^msg1: waiting on key \d+, queue id \d+\n/, ""),
      "You wrote: hello\nYou wrote: shared memory\nYou wrote: end\nmsg1: 3 messages received, queue removed\n",
    );
    await assertClean({ key });
  });

  test(`${runtime} msg1 waits for ${peer} msg2; end of input sends "end"; SIGINT removes its queue`, async () => {
    const key = uniqueKey();
    const receiver = new Running(runtime, "msg1", ["--key", String(key), "--type", "-2"]);
    try {
      // msg1 created the queue; msg2 (started later) uses it.
      await receiver.waitFor(/msg1: waiting on key/);
      const sender = await runExample(peer, "msg2", ["--key", String(key), "--type", "2"], {
        stdin: "one\ntwo",
      });
      assertExit(sender, 0, "msg2");
      const done = await receiver.done;
      assertExit(done, 0, "msg1");
      assert.match(done.stdout, /You wrote: one\nYou wrote: two\nYou wrote: end\n/);
      await assertClean({ key });

      const waiting = new Running(runtime, "msg1", ["--key", String(key), "--mode", "644"]);
      await waiting.waitFor(/msg1: waiting on key/);
      assert.equal(MessageQueue.open(key).stat().mode, 0o644);
      const stopped = await waiting.interrupt("SIGINT");
      assertExit(stopped, 130, "interrupted msg1");
      assert.match(stopped.stderr, /interrupted by SIGINT/);
      await assertClean({ key });
    } finally {
      receiver.child.kill("SIGKILL");
    }
  });
}
