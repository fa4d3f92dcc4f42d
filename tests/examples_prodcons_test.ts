/**
 * producer/consumer under Deno and Bun, across runtimes: messages come out
 * in order, and the consumer accounts for every message sent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedMemory } from "../mod.ts";
import { RUNTIMES, uniqueName } from "./_helpers.ts";
import {
  assertClean,
  assertExit,
  assertHelp,
  assertOneLineError,
  other,
  runExample,
  Running,
} from "./examples_helpers.ts";

const COUNT = 200;

test("--help of producer and consumer in both runtimes", async () => {
  await Promise.all(
    RUNTIMES.flatMap((rt) => ["producer", "consumer"].map((n) => assertHelp(rt, n))),
  );
});

function account(stdout: string) {
  const m = /consumer: received (\d+) \+ dropped (\d+) = sent (\d+) \((\d+) producers\)\n$/.exec(
    stdout,
  );
  assert.ok(m, `a summary line in: ${stdout.slice(-300)}`);
  const [received, dropped, sent, producers] = m.slice(1).map(Number);
  return { received, dropped, sent, producers };
}

for (const runtime of RUNTIMES) {
  const peer = other(runtime);

  test(`a ${runtime} consumer prints a Deno and a Bun producer's messages in order; received + dropped = sent`, async () => {
    const name = uniqueName("prodcons");
    const consumer = new Running(runtime, "consumer", [
      "--name",
      name,
      "--producers",
      "2",
      "--slots",
      "4",
    ]);
    try {
      await consumer.waitFor(/ready on /);
      const producers = await Promise.all(
        RUNTIMES.map((rt) => runExample(rt, "producer", [String(COUNT), "--name", name])),
      );
      const mine = producers.map((p) => {
        assertExit(p, 0, "producer");
        const m = /^producer: sent (\d+), stored (\d+), dropped (\d+)\n$/.exec(p.stdout);
        assert.ok(m, p.stdout);
        const [sent, stored, dropped] = m.slice(1).map(Number);
        assert.equal(sent, COUNT);
        assert.equal(stored + dropped, sent);
        return { stored, dropped };
      });
      const done = await consumer.done;
      assertExit(done, 0, "consumer");
      const total = account(done.stdout);
      assert.equal(total.sent, 2 * COUNT);
      assert.equal(total.producers, 2);
      assert.equal(total.received + total.dropped, total.sent);
      assert.equal(total.dropped, mine[0].dropped + mine[1].dropped);
      assert.equal(total.received, mine[0].stored + mine[1].stored);

      // Each message printed once, and each producer's in the order it sent them.
      const lines = done.stdout.split("\n").filter((l) => l.startsWith("slot "));
      assert.equal(lines.length, total.received);
      const last = new Map<string, number>();
      lines.forEach((line, i) => {
        const m = /^slot (\d+): (deno|bun) pid (\d+): message (\d+)$/.exec(line);
        assert.ok(m, line);
        assert.equal(Number(m[1]), i % 4, "slots are taken in turn");
        const who = `${m[2]} ${m[3]}`;
        assert.ok(Number(m[4]) > (last.get(who) ?? -1), `in order: ${line}`);
        last.set(who, Number(m[4]));
      });
      await assertClean({ label: name.slice(1) });
    } finally {
      consumer.child.kill("SIGKILL");
    }
  });

  test(`${runtime} producer with a delay loses nothing to a ${peer} consumer`, async () => {
    const name = uniqueName("prodslow");
    const consumer = new Running(peer, "consumer", ["--name", name, "--producers", "1", "-q"]);
    try {
      await consumer.waitFor(/ready on /);
      const producer = await runExample(runtime, "producer", [
        "20",
        "--name",
        name,
        "--delay",
        "2",
      ]);
      assertExit(producer, 0, "producer");
      assert.equal(producer.stdout, "producer: sent 20, stored 20, dropped 0\n");
      const done = await consumer.done;
      assertExit(done, 0, "consumer");
      assert.equal(
        done.stdout.split("\n").slice(1).join("\n"),
        "consumer: received 20 + dropped 0 = sent 20 (1 producers)\n",
      );
      await assertClean({ label: name.slice(1) });
    } finally {
      consumer.child.kill("SIGKILL");
    }
  });

  test(`${runtime} consumer: Ctrl-C prints the account and removes the region; bad input`, async () => {
    const name = uniqueName("prodint");
    const consumer = new Running(runtime, "consumer", ["--name", name]);
    try {
      await consumer.waitFor(/ready on /);
      const producer = await runExample(peer, "producer", ["10", "--name", name]);
      assertExit(producer, 0, "producer");
      // The consumer keeps running (no --producers) until Ctrl-C.
      await consumer.waitFor(/: message 9\n/);
      const stopped = await consumer.interrupt("SIGINT");
      assertExit(stopped, 130, "interrupted consumer");
      const total = account(stopped.stdout);
      assert.deepEqual(total, { received: 10, dropped: 0, sent: 10, producers: 1 });
      await assertClean({ label: name.slice(1) });
    } finally {
      consumer.child.kill("SIGKILL");
      try {
        SharedMemory.unlink(name);
      } catch { /* removed */ }
    }
    const [slots, missing, count] = await Promise.all([
      runExample(runtime, "consumer", ["--slots", "0"]),
      runExample(runtime, "producer", ["--name", name]),
      runExample(runtime, "producer", ["lots"]),
    ]);
    assertOneLineError(slots, 2, /^consumer: --slots must be an integer from 1 to 65536, got 0/);
    assertOneLineError(missing, 1, /^producer: Cannot open shared memory .* does not exist/);
    assertOneLineError(count, 2, /^producer: COUNT must be an integer, got "lots"/);
  });
}
