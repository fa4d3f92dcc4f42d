/**
 * consumer: creates the shared region of message slots and prints the
 * messages that `producer` processes store there, in order. Three memory
 * semaphores guard the slots, as in the classic version: a mutex, a count of
 * empty slots, a count of stored ones. Producers drop a message when no slot
 * is free and count it; the consumer's summary accounts for every message
 * sent: received + dropped = sent.
 *
 *   deno run --allow-ffi examples/consumer.ts --producers 2
 *   bun examples/producer.ts 100 & deno run --allow-ffi examples/producer.ts 100
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SharedMemory } from "../mod.ts";
import { ARGS, integer, main } from "./_cli.ts";
import { Control, messages, PRODCONS_NAME, prodconsBytes } from "./_prodcons.ts";
import { acquire, breathe } from "./_wait.ts";

const HELP = `consumer: print the messages producers store in shared slots; account for every one

usage: consumer [options]

options:
  --name NAME                the shared memory object (default "${PRODCONS_NAME}")
  --slots N                  message slots (default 16)
  --producers N              stop after this many producers finished (0: run until Ctrl-C) (default 0)
  -q, --quiet                print only the ready line and the summary
  --keep                     leave the object in place at exit
  -h, --help                 show this help and exit

Creates NAME (it must not exist) with --slots slots, prints "consumer: ready on
NAME", then "slot I: MESSAGE" for each message (unless --quiet). With --producers K it
stops once K producers finished and every stored message was printed; without it, it
runs until Ctrl-C. Either way it ends with
"consumer: received R + dropped D = sent S (P producers)" and exits 0 when the account
balances. The object is removed at exit, also on Ctrl-C, unless --keep.

run with:
  deno run --allow-ffi examples/consumer.ts ...
  bun examples/consumer.ts ...`;

await main("consumer", HELP, async ({ cleanup, signal }) => {
  const { values } = parseArgs({
    args: ARGS,
    options: {
      name: { type: "string", default: PRODCONS_NAME },
      slots: { type: "string", default: "16" },
      producers: { type: "string", default: "0" },
      quiet: { type: "boolean", short: "q", default: false },
      keep: { type: "boolean", default: false },
    },
  });
  const slotCount = integer("--slots", values.slots, { min: 1, max: 65536 });
  const producers = integer("--producers", values.producers, { min: 0 });

  const shm = SharedMemory.create(values.name, prodconsBytes(slotCount));
  if (!values.keep) cleanup.defer(() => shm.unlink());
  cleanup.use(shm);
  const control = Control.init(shm, 0, {
    header: true,
    values: { mutex: 1, nempty: slotCount, nstored: 0, slots: slotCount },
  });
  const { mutex, nempty, nstored } = control;
  const slots = messages(shm, slotCount);

  let received = 0;
  const summary = () => {
    const { sent, dropped, producers } = control;
    const balanced = received + dropped === sent;
    const line =
      `consumer: received ${received} + dropped ${dropped} = sent ${sent} (${producers} producers)`;
    return { line: balanced ? line : `${line}: does not add up`, balanced };
  };
  // On Ctrl-C the account is printed too, before the region goes.
  let reported = false;
  cleanup.defer(() => reported || console.log(summary().line));
  console.log(`consumer: ready on ${values.name}, ${slotCount} slots`);

  let index = 0;
  for (;;) {
    await breathe();
    if (!nstored.tryWait()) {
      // Nothing stored. With --producers, stop when all of them finished:
      // a producer counts itself finished only after its last post.
      if (producers > 0) {
        await acquire(mutex, signal);
        const finished = control.finished;
        mutex.post();
        if (finished >= producers && !nstored.tryWait()) break;
        if (finished < producers) {
          try {
            await nstored.waitAsync({ timeout: 100, signal });
          } catch (error) {
            if ((error as Error).name === "TimeoutError") continue;
            throw error;
          }
        }
      } else {
        await nstored.waitAsync({ signal });
      }
    }
    await acquire(mutex, signal);
    const text = slots[index];
    const slot = index;
    index = (index + 1) % slotCount;
    mutex.post();
    nempty.post();
    received += 1;
    if (!values.quiet) console.log(`slot ${slot}: ${text}`);
  }
  const { line, balanced } = summary();
  reported = true;
  console.log(line);
  return balanced ? 0 : 1;
});
