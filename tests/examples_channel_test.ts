/**
 * channel_producer/channel_consumer under Deno and Bun, across runtimes:
 * every message arrives, each producer's in order, the stream ends when the
 * producers close (or die), and the channel is removed at the end, also on
 * Ctrl-C.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Channel, SharedMemory } from "../mod.ts";
import { type ProcessResult, RUNTIMES, uniqueName } from "./_helpers.ts";
import * as ex from "./examples_helpers.ts";

const SUMMARY =
  /^channel_consumer: received (\d+) from (\d+) producers(?: \(([^)]*)\))?, each in order, none missing(.*)$/;

/**
 * The consumer's output, checked line by line: the ready line, then only
 * producers' messages, each producer's numbered 0, 1, 2, ... with none
 * skipped or repeated, then the summary, which must agree with what was
 * printed. Returns how many messages each producer ("deno pid 12") had.
 */
function delivered(stdout: string, name: string): { counts: Map<string, number>; rest: string } {
  const lines = stdout.split("\n");
  assert.equal(lines.pop(), "", "the output ends with a line end");
  assert.match(lines[0], new RegExp(`^channel_consumer: ready on ${name}, \\d+ bytes$`));
  const counts = new Map<string, number>();
  for (const line of lines.slice(1, -1)) {
    const m = /^(deno|bun) pid (\d+): message (\d+)$/.exec(line);
    assert.ok(m, `a producer's message: ${line}`);
    const who = `${m[1]} pid ${m[2]}`;
    const next = counts.get(who) ?? 0;
    assert.equal(Number(m[3]), next, `${who}'s messages in order, none missing`);
    counts.set(who, next + 1);
  }
  const summary = SUMMARY.exec(lines.at(-1)!);
  assert.ok(summary, `a summary line: ${lines.at(-1)}`);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  assert.equal(Number(summary[1]), total);
  assert.equal(Number(summary[2]), counts.size);
  assert.equal(summary[3] ?? "", [...counts].map(([who, n]) => `${who}: ${n}`).join(", "));
  return { counts, rest: summary[4] };
}

/** A producer that sent `count` messages and said so, in one line. */
function sent(result: ProcessResult, count: number, name: string): void {
  ex.assertExit(result, 0, "channel_producer");
  assert.equal(result.stdout, `channel_producer: sent ${count} to ${name}\n`);
  assert.equal(result.stderr, "");
}

for (const runtime of RUNTIMES) {
  const peer = ex.other(runtime);

  test(`${runtime} channel_producer -> ${peer} channel_consumer: all 300 messages in order through a small ring, then the end`, async () => {
    const name = uniqueName("chan");
    // 256 bytes hold 5 or 6 messages: the producer waits for room again and
    // again, and the ring wraps around many times.
    using consumer = ex.start(peer, "channel_consumer", ["--name", name, "--capacity=256"]);
    await consumer.waitFor(/ready on /);
    const producer = await ex.run(runtime, "channel_producer", ["300", "--name", name]);
    sent(producer, 300, name);
    const done = await consumer.done;
    ex.assertExit(done, 0, "channel_consumer");
    const { counts, rest } = delivered(done.stdout, name);
    assert.deepEqual([...counts.values()], [300]);
    assert.match([...counts.keys()][0], new RegExp(`^${runtime} pid \\d+$`));
    assert.equal(rest, "");
    await ex.assertClean({ label: name.slice(1) });
  });

  test(`a ${runtime} channel_consumer --producers=3: a ${peer} producer that finishes first does not end the stream; then a Deno and a Bun one at once, each one's messages in order`, async () => {
    const name = uniqueName("chanmix");
    using consumer = ex.start(runtime, "channel_consumer", [
      "--name",
      name,
      "--producers=3",
      "--capacity=512",
    ]);
    await consumer.waitFor(/ready on /);
    // Its close would end the stream, but the consumer holds it open.
    sent(await ex.run(peer, "channel_producer", ["150", "--name", name]), 150, name);
    const together = await Promise.all(
      RUNTIMES.map((rt) => ex.run(rt, "channel_producer", ["150", "--name", name])),
    );
    for (const p of together) sent(p, 150, name);
    const done = await consumer.done;
    ex.assertExit(done, 0, "channel_consumer");
    const { counts, rest } = delivered(done.stdout, name);
    assert.deepEqual(
      [...counts.keys()].map((who) => who.split(" ")[0]).slice(1).sort(),
      ["bun", "deno"],
    );
    assert.match([...counts.keys()][0], new RegExp(`^${peer} `));
    assert.deepEqual([...counts.values()], [150, 150, 150]);
    assert.equal(rest, "");
    await ex.assertClean({ label: name.slice(1) });
  });

  test(`a ${runtime} channel_producer that starts first creates the channel; a ${peer} consumer started after it exited reads everything, then removes it`, async () => {
    const name = uniqueName("chanfirst");
    try {
      const producer = await ex.run(runtime, "channel_producer", ["20", "--name", name]);
      sent(producer, 20, name);
      assert.deepEqual(ex.shmEntries(name.slice(1)), [name.slice(1)], "left for the consumer");
      // --producers=1: the stream it would hold open has already ended.
      const consumer = await ex.run(peer, "channel_consumer", ["--name", name, "--producers=1"]);
      ex.assertExit(consumer, 0, "channel_consumer");
      const { counts, rest } = delivered(consumer.stdout, name);
      assert.deepEqual([...counts.values()], [20]);
      assert.equal(rest, "");
      await ex.assertClean({ label: name.slice(1) });
    } finally {
      try {
        Channel.unlink(name);
      } catch { /* removed */ }
    }
  });

  test(`a ${peer} channel_consumer gets the end of the stream when the ${runtime} producer is killed mid-stream; what came is in order`, async () => {
    const name = uniqueName("chankill");
    using consumer = ex.start(peer, "channel_consumer", ["--name", name, "--capacity=256"]);
    await consumer.waitFor(/ready on /);
    using producer = ex.start(runtime, "channel_producer", ["1000000", "--name", name]);
    await consumer.waitFor(/: message 200\n/);
    const killed = await producer.interrupt("SIGKILL");
    assert.equal(killed.signal, "SIGKILL");
    // No producer is left: the consumer notices the dead sender and ends.
    const done = await consumer.done;
    ex.assertExit(done, 0, "channel_consumer");
    const { counts, rest } = delivered(done.stdout, name);
    const [got] = [...counts.values()];
    assert.ok(got > 200 && got < 1000000, `received ${got}`);
    assert.equal(rest, "");
    await ex.assertClean({ label: name.slice(1) });
  });

  test(`Ctrl-C: a ${runtime} channel_consumer prints its account and removes the channel; a ${peer} producer waiting on a full ring removes the one it created`, async () => {
    const name = uniqueName("chanint");
    const lone = uniqueName("chanfull");
    try {
      using consumer = ex.start(runtime, "channel_consumer", ["--name", name, "--producers=2"]);
      await consumer.waitFor(/ready on /);
      sent(await ex.run(peer, "channel_producer", ["10", "--name", name]), 10, name);
      // It holds the stream open for a second producer that never comes.
      await consumer.waitFor(/: message 9\n/);
      const stopped = await consumer.interrupt("SIGINT");
      ex.assertExit(stopped, 130, "interrupted channel_consumer");
      assert.equal(stopped.stderr, "channel_consumer: interrupted by SIGINT, cleaned up\n");
      const { counts, rest } = delivered(stopped.stdout, name);
      assert.deepEqual([...counts.values()], [10]);
      assert.equal(rest, ", but only 1 of 2 producers were heard from");
      await ex.assertClean({ label: name.slice(1) });

      // No consumer: the producer creates the channel, fills its 256 bytes
      // and waits for room that never comes.
      using producer = ex.start(peer, "channel_producer", [
        "1000",
        "--name",
        lone,
        "--capacity=256",
      ]);
      const deadline = performance.now() + 20_000;
      while (ex.shmEntries(lone.slice(1)).length === 0) {
        assert.ok(performance.now() < deadline, "the producer created the channel");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const interrupted = await producer.interrupt("SIGINT");
      ex.assertExit(interrupted, 130, "interrupted channel_producer");
      assert.equal(interrupted.stdout, "");
      assert.equal(interrupted.stderr, "channel_producer: interrupted by SIGINT, cleaned up\n");
      await ex.assertClean({ label: lone.slice(1) });
    } finally {
      for (const n of [name, lone]) {
        try {
          Channel.unlink(n);
        } catch { /* removed */ }
      }
    }
  });

  test(`${runtime} channel examples: sending after the end, a non-channel object, bad command lines`, async () => {
    const ended = uniqueName("chanended");
    const plain = uniqueName("chanplain");
    using channel = Channel.create(ended, { capacity: 4096 });
    using shm = SharedMemory.create(plain, 4096);
    try {
      channel.end();
      const [late, notProducer, notConsumer, capacity, count, producers] = await Promise.all([
        ex.run(runtime, "channel_producer", ["3", "--name", ended]),
        ex.run(runtime, "channel_producer", ["3", "--name", plain]),
        ex.run(runtime, "channel_consumer", ["--name", plain]),
        ex.run(runtime, "channel_consumer", ["--capacity", "10"]),
        ex.run(runtime, "channel_producer", ["lots"]),
        ex.run(runtime, "channel_consumer", ["--producers", "-1"]),
      ]);
      ex.assertOneLineError(late, 1, /^channel_producer: Cannot send on .*: its stream has ended$/);
      assert.equal(late.stdout, "");
      ex.assertOneLineError(notProducer, 1, /^channel_producer: Cannot open .* as a channel: /);
      ex.assertOneLineError(notConsumer, 1, /^channel_consumer: Cannot open .* as a channel: /);
      ex.assertOneLineError(
        capacity,
        2,
        /^channel_consumer: --capacity must be an integer from 64 to 1073741824, got 10/,
      );
      ex.assertOneLineError(count, 2, /^channel_producer: COUNT must be an integer, got "lots"/);
      ex.assertOneLineError(
        producers,
        2,
        /^channel_consumer: --producers must be an integer at least 0, got -1/,
      );
      // Neither failed example removed what it had not created.
      assert.deepEqual(ex.shmEntries(plain.slice(1)), [plain.slice(1)]);
      assert.deepEqual(ex.shmEntries(ended.slice(1)), [ended.slice(1)]);
    } finally {
      channel.unlink();
      shm.unlink();
    }
    await ex.assertClean({ label: ended.slice(1) });
    await ex.assertClean({ label: plain.slice(1) });
  });
}
