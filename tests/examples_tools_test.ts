/**
 * The POSIX object tools (shmcreate, shmwrite, shmread, shmunlink), the
 * mapped-file pair (map_normalfile1/2) and the message-queue pair
 * (msg1/msg2), each under Deno and Bun, crossing runtimes where they talk.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync, unlinkSync } from "node:fs";
import { MessageQueue, SharedMemory } from "../mod.ts";
import { RUNTIMES, scratchPath, uniqueName } from "./_helpers.ts";
import * as ex from "./examples_helpers.ts";

test("all 18 examples answer --help (with the Deno flags of their header) and refuse an unknown option, in both runtimes", async () => {
  assert.equal(ex.EXAMPLES.length, 18, ex.EXAMPLES.join(" "));
  // A few at a time: 32 runtimes starting at once only queue up on two cores.
  const pending = RUNTIMES.flatMap((rt) => ex.EXAMPLES.map((name) => [rt, name] as const));
  const worker = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      const [runtime, name] = next;
      await ex.assertHelp(runtime, name);
      const bad = await ex.run(runtime, name, ["--no-such-option"]);
      ex.assertOneLineError(bad, 2, new RegExp(`^${name}: unknown option --no-such-option`));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
});

test("deno examples given fewer flags than their header declares exit 2 with one line, creating nothing", async () => {
  const [count01, count02, people] = [
    scratchPath("perm"),
    scratchPath("perm"),
    scratchPath("perm"),
  ];
  const sem = uniqueName("perm");
  const [a, b, c] = await Promise.all([
    ex.run("deno", "count01", ["3", "--file", count01, "--sem", sem], {
      denoFlags: ["--allow-ffi"],
    }),
    ex.run("deno", "count02", ["3", "--file", count02], {
      denoFlags: ["--allow-ffi", "--allow-write"],
    }),
    ex.run("deno", "map_normalfile1", [people, "--sleep", "0"], {
      denoFlags: ["--allow-ffi", "--allow-read"],
    }),
  ]);
  ex.assertOneLineError(a, 2, /^count01: Deno needs --allow-write --allow-run for this example/);
  ex.assertOneLineError(b, 2, /^count02: Deno needs --allow-run for this example/);
  ex.assertOneLineError(c, 2, /^map_normalfile1: Deno needs --allow-write for this example/);
  for (const file of [count01, count02, people]) await ex.assertClean({ file });
  await ex.assertClean({ label: sem.slice(1) });
});

for (const runtime of RUNTIMES) {
  const peer = ex.other(runtime);

  test(`${runtime} shmcreate + shmwrite, ${peer} shmread, ${runtime} shmunlink`, async () => {
    const name = uniqueName("tools");
    try {
      const created = await ex.run(runtime, "shmcreate", [name, "10000"]);
      ex.assertExit(created, 0, "shmcreate");
      assert.equal(created.stdout, `shmcreate: created ${name}, 10000 bytes\n`);
      assert.equal(statSync(`/dev/shm${name}`).mode & 0o777, 0o600);
      const wrote = await ex.run(runtime, "shmwrite", [name]);
      ex.assertExit(wrote, 0, "shmwrite");
      assert.match(wrote.stdout, /wrote 10000 bytes of the pattern i % 256/);
      const read = await ex.run(peer, "shmread", [name]);
      ex.assertExit(read, 0, "shmread");
      assert.equal(read.stdout, `shmread: ${name}: all 10000 bytes match the pattern i % 256\n`);

      // One wrong byte is found and reported.
      using shm = SharedMemory.open(name);
      shm.view(Uint8Array)[4097] = 7;
      const bad = await ex.run(runtime, "shmread", [name]);
      ex.assertExit(bad, 1, "shmread of a changed object");
      assert.match(bad.stdout, /1 of 10000 bytes differ; first at byte 4097: 7, expected 1/);

      const removed = await ex.run(runtime, "shmunlink", [name]);
      ex.assertExit(removed, 0, "shmunlink");
      assert.equal(removed.stdout, `shmunlink: removed ${name}\n`);
      await ex.assertClean({ label: name.slice(1) });
    } finally {
      try {
        SharedMemory.unlink(name);
      } catch { /* already removed */ }
    }
  });

  test(`${runtime} POSIX tools refuse bad input with one line and a non-zero exit`, async () => {
    const name = uniqueName("toolsbad");
    const [missing, length, option, extra, unlinkMissing] = await Promise.all([
      ex.run(runtime, "shmread", [name]),
      ex.run(runtime, "shmcreate", [name, "-5"]),
      ex.run(runtime, "shmwrite", ["--size", "3"]),
      ex.run(runtime, "shmunlink", [name, "surplus"]),
      ex.run(runtime, "shmunlink", [name]),
    ]);
    ex.assertOneLineError(
      missing,
      1,
      /^shmread: Cannot open shared memory ".*": it does not exist/,
    );
    ex.assertOneLineError(length, 2, /^shmcreate: LENGTH must be an integer at least 1, got -5/);
    ex.assertOneLineError(option, 2, /^shmwrite: unknown option --size/);
    ex.assertOneLineError(extra, 2, /^shmunlink: unexpected argument "surplus"/);
    ex.assertOneLineError(unlinkMissing, 1, /ENOENT/);

    try {
      const made = await ex.run(runtime, "shmcreate", [name, "64"]);
      ex.assertExit(made, 0);
      const again = await ex.run(runtime, "shmcreate", ["-e", name, "64"]);
      ex.assertOneLineError(again, 1, /it already exists \(EEXIST/);
      const opened = await ex.run(runtime, "shmcreate", [name, "128"]);
      assert.equal(opened.stdout, `shmcreate: opened existing ${name}, now 128 bytes\n`);
    } finally {
      SharedMemory.unlink(name);
    }
  });

  test(`${runtime} map_normalfile1 writes ten people, ${peer} map_normalfile2 reads them`, async () => {
    const file = scratchPath("people");
    using writer = ex.start(runtime, "map_normalfile1", [file, "--sleep", "30"]);
    try {
      await writer.waitFor(/initialize over\n/);
      const reader = await ex.run(peer, "map_normalfile2", [file]);
      ex.assertExit(reader, 0, "map_normalfile2");
      const expected = [..."abcdefghij"].map((c, i) => `name: ${c} age ${20 + i};`);
      assert.deepEqual(reader.stdout.trimEnd().split("\n"), expected);
      // Ctrl-C during the docs' sleep: the file it created is removed.
      const stopped = await writer.interrupt("SIGINT");
      ex.assertExit(stopped, 130, "interrupted map_normalfile1");
      assert.doesNotMatch(stopped.stdout, /umap ok/);
      await ex.assertClean({ file });
    } finally {
      if (existsSync(file)) unlinkSync(file);
    }
  });

  test(`${runtime} map_normalfile1 --keep leaves the records; removes the file without it`, async () => {
    const kept = scratchPath("kept");
    const gone = scratchPath("gone");
    try {
      const [a, b] = await Promise.all([
        ex.run(runtime, "map_normalfile1", [kept, "--sleep", "0", "--keep"]),
        ex.run(runtime, "map_normalfile1", [gone, "--sleep", "0"]),
      ]);
      for (const r of [a, b]) {
        ex.assertExit(r, 0, "map_normalfile1");
        assert.equal(r.stdout, "initialize over\numap ok\n");
      }
      await ex.assertClean({ file: gone });
      const reader = await ex.run(peer, "map_normalfile2", [kept, "--records", "10"]);
      ex.assertExit(reader, 0, "map_normalfile2");
      assert.equal(reader.stdout.split("\n")[9], "name: j age 29;");
    } finally {
      if (existsSync(kept)) unlinkSync(kept);
    }
  });

  test(`${runtime} map_normalfile1 with the docs' 5-record file refuses clearly, no SIGBUS`, async () => {
    const file = scratchPath("short");
    const missing = scratchPath("missing");
    const [docs, reader, records] = await Promise.all([
      ex.run(runtime, "map_normalfile1", [file, "--file-records", "5", "--sleep", "0"]),
      ex.run(runtime, "map_normalfile2", [missing]),
      ex.run(runtime, "map_normalfile1", [file, "--records", "ten"]),
    ]);
    ex.assertOneLineError(
      docs,
      1,
      /^map_normalfile1: the file is sized for 5 records but 10 are mapped .*40 bytes.*SIGBUS/,
    );
    assert.equal(docs.signal, null);
    await ex.assertClean({ file });
    ex.assertOneLineError(
      reader,
      1,
      /^map_normalfile2: Cannot open ".*" for mapping: it does not exist/,
    );
    ex.assertOneLineError(records, 2, /--records must be an integer/);
  });

  test(`${runtime} msg2 sends lines, ${peer} msg1 prints them and removes the queue`, async () => {
    const key = ex.uniqueKey();
    try {
      const sender = await ex.run(runtime, "msg2", ["--key", String(key)], {
        stdin: "hello\nshared memory\nend\nnot sent\n",
      });
      ex.assertExit(sender, 0, "msg2");
      assert.equal(sender.stdout, "msg2: 3 messages sent\n");
      assert.equal(MessageQueue.open(key).stat().mode, 0o600, "private unless --mode");
      const receiver = await ex.run(peer, "msg1", ["--key", String(key)]);
      ex.assertExit(receiver, 0, "msg1");
      assert.equal(
        receiver.stdout.replace(/^msg1: waiting on key \d+, queue id \d+\n/, ""),
        "You wrote: hello\nYou wrote: shared memory\nYou wrote: end\nmsg1: 3 messages received, queue removed\n",
      );
      await ex.assertClean({ key });
    } finally {
      removeQueue(key);
    }
  });

  // Each step waits for what the last one printed, never for a fixed time:
  // with a pause instead, a loaded machine let msg2 create the queue before
  // msg1, or sent SIGINT before msg1 handled it (it died of the signal and
  // left its queue).
  test(`${runtime} msg1 waits for ${peer} msg2; end of input sends "end"; SIGINT removes its queue`, async () => {
    const key = ex.uniqueKey();
    try {
      using receiver = ex.start(runtime, "msg1", ["--key", String(key), "--type", "-2"]);
      // msg1 created the queue; msg2 (started later) uses it.
      await receiver.waitFor(/msg1: waiting on key/);
      const sender = await ex.run(peer, "msg2", ["--key", String(key), "--type", "2"], {
        stdin: "one\ntwo",
      });
      ex.assertExit(sender, 0, "msg2");
      const done = await receiver.done;
      ex.assertExit(done, 0, "msg1");
      assert.match(done.stdout, /You wrote: one\nYou wrote: two\nYou wrote: end\n/);
      await ex.assertClean({ key });

      // msg1 prints that line once its SIGINT handler is in place.
      using waiting = ex.start(runtime, "msg1", ["--key", String(key), "--mode", "644"]);
      await waiting.waitFor(/msg1: waiting on key/);
      assert.equal(MessageQueue.open(key).stat().mode, 0o644);
      const stopped = await waiting.interrupt("SIGINT");
      ex.assertExit(stopped, 130, "interrupted msg1");
      assert.match(stopped.stderr, /interrupted by SIGINT/);
      await ex.assertClean({ key });
    } finally {
      removeQueue(key);
    }
  });
}

/** Removes the queue with `key` if a failed test left it. */
function removeQueue(key: number): void {
  try {
    MessageQueue.open(key).remove();
  } catch { /* none */ }
}
