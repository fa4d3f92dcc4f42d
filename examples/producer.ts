/**
 * producer: stores COUNT messages in the slots of the region `consumer`
 * created. When no slot is free (`tryWait` on the empty-slot semaphore
 * fails) it drops the message and counts it, as the classic version does,
 * so that the consumer can account for every message sent.
 *
 *   deno run --allow-ffi examples/producer.ts 100
 *   bun examples/producer.ts 100 --delay 1
 *
 * @module
 */
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { SharedMemory } from "../mod.ts";
import { ARGS, integer, main, noMore, number, RUNTIME } from "./_cli.ts";
import { Control, messages, PRODCONS_NAME } from "./_prodcons.ts";
import { acquire, breathe } from "./_wait.ts";

const HELP =
  `producer: store COUNT messages in the consumer's shared slots, dropping when all are full

usage: producer [COUNT] [options]

arguments:
  COUNT                      messages to send (default 100)

options:
  --name NAME                the consumer's shared memory object (default "${PRODCONS_NAME}")
  --delay MS                 milliseconds to wait before each message (default 0)
  -h, --help                 show this help and exit

Each message reads "RUNTIME pid P: message I". Prints
"producer: sent S, stored T, dropped D" at the end. It creates nothing, so it removes
nothing.

run with:
  deno run --allow-ffi examples/producer.ts ...
  bun examples/producer.ts ...`;

await main("producer", HELP, async ({ cleanup, signal }) => {
  const { values, positionals: [countText = "100", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
    options: {
      name: { type: "string", default: PRODCONS_NAME },
      delay: { type: "string", default: "0" },
    },
  });
  const count = integer("COUNT", countText, { min: 0 });
  noMore(extra);
  const delay = number("--delay", values.delay, { min: 0 });

  const shm = cleanup.use(SharedMemory.open(values.name));
  // The header check refuses a region laid out differently.
  const control = Control.attach(shm, 0, { header: true });
  const { mutex, nempty, nstored } = control;
  const slots = messages(shm, control.slots);

  await acquire(mutex, signal);
  control.producers += 1;
  mutex.post();

  // Between taking a free slot and filling it, the slot is ours alone: if
  // Ctrl-C comes while we wait for the mutex, give it back, or the region
  // would have one slot fewer for good.
  let slotTaken = false;
  cleanup.defer(() => slotTaken && nempty.post());

  let stored = 0;
  let dropped = 0;
  for (let i = 0; i < count; i++) {
    if (delay > 0) await sleep(delay, undefined, { signal });
    else await breathe();
    const text = `${RUNTIME} pid ${process.pid}: message ${i}`;
    if (!nempty.tryWait()) {
      await acquire(mutex, signal);
      control.sent += 1;
      control.dropped += 1;
      mutex.post();
      dropped += 1;
      continue;
    }
    slotTaken = true;
    await acquire(mutex, signal);
    slots[control.nput] = text;
    control.nput = (control.nput + 1) % slots.length;
    control.sent += 1;
    mutex.post();
    slotTaken = false;
    nstored.post();
    stored += 1;
  }

  await acquire(mutex, signal);
  control.finished += 1;
  mutex.post();
  console.log(`producer: sent ${count}, stored ${stored}, dropped ${dropped}`);
});
