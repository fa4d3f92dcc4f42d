/**
 * producer/consumer under Deno and Bun, across runtimes: messages come out
 * in order, and the consumer accounts for every message sent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedMemory } from "../mod.ts";
import { Control } from "../examples/_prodcons.ts";
import { RUNTIMES, uniqueName } from "./_helpers.ts";
import * as ex from "./examples_helpers.ts";

const COUNT = 200;

function account(stdout: string) {
  const m = /consumer: received (\d+) \+ dropped (\d+) = sent (\d+) \((\d+) producers\)\n$/.exec(
    stdout,
  );
  assert.ok(m, `a summary line in: ${stdout.slice(-300)}`);
  const [received, dropped, sent, producers] = m.slice(1).map(Number);
  return { received, dropped, sent, producers };
}

/** Polls `done` every 5 ms until it is true; fails after 20 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!done()) {
    assert.ok(performance.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const runtime of RUNTIMES) {
  const peer = ex.other(runtime);

  test(`a ${runtime} consumer prints a Deno and a Bun producer's messages in order; received + dropped = sent`, async () => {
    const name = uniqueName("prodcons");
    using consumer = ex.start(runtime, "consumer", ["--name", name, "--producers=2", "--slots=4"]);
    await consumer.waitFor(/ready on /);
    const producers = await Promise.all(
      RUNTIMES.map((rt) => ex.run(rt, "producer", [String(COUNT), "--name", name])),
    );
    const mine = producers.map((p) => {
      ex.assertExit(p, 0, "producer");
      const m = /^producer: sent (\d+), stored (\d+), dropped (\d+)\n$/.exec(p.stdout);
      assert.ok(m, p.stdout);
      const [sent, stored, dropped] = m.slice(1).map(Number);
      assert.equal(sent, COUNT);
      assert.equal(stored + dropped, sent);
      return { stored, dropped };
    });
    const done = await consumer.done;
    ex.assertExit(done, 0, "consumer");
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
    await ex.assertClean({ label: name.slice(1) });
  });

  test(`${runtime} producer with a delay: a ${peer} consumer receives all when the slots can hold them`, async () => {
    const name = uniqueName("prodslow");
    // As many slots as messages: nothing can be dropped however late the
    // consumer is scheduled (with 16 slots, that decided whether 20 got in).
    using consumer = ex.start(peer, "consumer", [
      "--name",
      name,
      "--producers=1",
      "--slots=20",
      "-q",
    ]);
    await consumer.waitFor(/ready on /);
    const producer = await ex.run(runtime, "producer", ["20", "--name", name, "--delay=2"]);
    ex.assertExit(producer, 0, "producer");
    assert.equal(producer.stdout, "producer: sent 20, stored 20, dropped 0\n");
    const done = await consumer.done;
    ex.assertExit(done, 0, "consumer");
    assert.equal(
      done.stdout.split("\n").slice(1).join("\n"),
      "consumer: received 20 + dropped 0 = sent 20 (1 producers)\n",
    );
    await ex.assertClean({ label: name.slice(1) });
  });

  test(`${runtime} producer interrupted while it waits for the mutex gives its free slot back`, async () => {
    const name = uniqueName("prodslot");
    using consumer = ex.start(peer, "consumer", ["--name", name, "--slots=4", "-q"]);
    await consumer.waitFor(/ready on /);
    using shm = SharedMemory.open(name);
    const control = Control.attach(shm, 0, { header: true });
    const { mutex, nempty } = control;
    using producer = ex.start(runtime, "producer", ["3", "--name", name, "--delay=100"]);
    await until(() => control.producers === 1, "the producer registered");
    // Holding the mutex, the test stops every store: the producer's next
    // message takes a free slot, then waits for the mutex.
    await until(() => mutex.tryWait(), "the test took the mutex");
    let held = true;
    try {
      const free = nempty.value;
      await until(() => nempty.value === free - 1, "the producer took a free slot");
      ex.assertExit(await producer.interrupt("SIGINT"), 130, "interrupted producer");
      assert.equal(nempty.value, free, "the slot it never filled is free again");
    } finally {
      if (held) mutex.post();
      held = false;
    }
    const stopped = await consumer.interrupt("SIGINT");
    ex.assertExit(stopped, 130, "interrupted consumer");
    const total = account(stopped.stdout);
    assert.equal(total.received + total.dropped, total.sent);
  });

  test(`${runtime} consumer: Ctrl-C prints the account and removes the region; bad input`, async () => {
    const name = uniqueName("prodint");
    using consumer = ex.start(runtime, "consumer", ["--name", name]);
    try {
      await consumer.waitFor(/ready on /);
      const producer = await ex.run(peer, "producer", ["10", "--name", name]);
      ex.assertExit(producer, 0, "producer");
      // The consumer keeps running (no --producers) until Ctrl-C.
      await consumer.waitFor(/: message 9\n/);
      const stopped = await consumer.interrupt("SIGINT");
      ex.assertExit(stopped, 130, "interrupted consumer");
      const total = account(stopped.stdout);
      assert.deepEqual(total, { received: 10, dropped: 0, sent: 10, producers: 1 });
      await ex.assertClean({ label: name.slice(1) });
    } finally {
      try {
        SharedMemory.unlink(name);
      } catch { /* removed */ }
    }
    const [slots, missing, count] = await Promise.all([
      ex.run(runtime, "consumer", ["--slots", "0"]),
      ex.run(runtime, "producer", ["--name", name]),
      ex.run(runtime, "producer", ["lots"]),
    ]);
    ex.assertOneLineError(slots, 2, /^consumer: --slots must be an integer from 1 to 65536, got 0/);
    ex.assertOneLineError(missing, 1, /^producer: Cannot open shared memory .* does not exist/);
    ex.assertOneLineError(count, 2, /^producer: COUNT must be an integer, got "lots"/);
  });
}
