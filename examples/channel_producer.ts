/**
 * channel_producer: the producer of producer/consumer, with a `Channel`
 * instead of slots and three semaphores. It opens the channel (or creates
 * it, when it starts before `channel_consumer`), sends COUNT messages and
 * closes it: once every producer has closed, the consumer gets the end of
 * the stream. A full ring makes it wait for room, so nothing is dropped.
 *
 *   deno run --allow-ffi examples/channel_producer.ts 100
 *   bun examples/channel_producer.ts 100 --delay 1
 *
 * @module
 */
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Channel } from "../mod.ts";
import { ARGS, integer, main, noMore, number, RUNTIME } from "./_cli.ts";
import { CHANNEL_CAPACITY, CHANNEL_NAME, messageText, unlinkQuietly } from "./_channel_prodcons.ts";
import { breathe } from "./_wait.ts";

const HELP = `channel_producer: send COUNT messages through a Channel, waiting when it is full

usage: channel_producer [COUNT] [options]

arguments:
  COUNT                      messages to send (default 100)

options:
  --name NAME                the channel (default "${CHANNEL_NAME}")
  --capacity BYTES           ring size if it creates the channel (default ${CHANNEL_CAPACITY})
  --delay MS                 milliseconds to wait before each message (default 0)
  -h, --help                 show this help and exit

Opens the channel NAME, or creates it with --capacity bytes when there is none yet,
sends "RUNTIME pid P: message I" for I from 0 to COUNT-1, each waiting while the ring
is full, then closes it: once every producer that sent has closed, the consumer gets
the end of the stream. Prints "channel_producer: sent N to NAME" at the end. A channel
it created is left for channel_consumer to read and remove; on Ctrl-C it removes it.
Sending after the stream ended is an error (exit 1).

run with:
  deno run --allow-ffi examples/channel_producer.ts ...
  bun examples/channel_producer.ts ...`;

await main("channel_producer", HELP, async ({ cleanup, signal }) => {
  const { values, positionals: [countText = "100", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
    options: {
      name: { type: "string", default: CHANNEL_NAME },
      capacity: { type: "string", default: String(CHANNEL_CAPACITY) },
      delay: { type: "string", default: "0" },
    },
  });
  const count = integer("COUNT", countText, { min: 0 });
  noMore(extra);
  const capacity = integer("--capacity", values.capacity, { min: 64, max: 2 ** 30 });
  const delay = number("--delay", values.delay, { min: 0 });

  const channel = Channel.openOrCreate(values.name, { capacity });
  // Interrupted, it removes a channel it created: no consumer may ever come.
  let finished = false;
  if (channel.created) cleanup.defer(() => finished || unlinkQuietly(values.name));
  cleanup.use(channel);

  const encoder = new TextEncoder();
  for (let i = 0; i < count; i++) {
    if (delay > 0) await sleep(delay, undefined, { signal });
    else await breathe();
    const bytes = encoder.encode(messageText(RUNTIME, process.pid, i));
    // At once when there is room; else wait for it, Ctrl-C still heard.
    if (!channel.trySend(bytes)) await channel.sendAsync(bytes, { signal });
  }
  // This producer is done: the stream ends when the last one closes.
  channel.close();
  finished = true;
  console.log(`channel_producer: sent ${count} to ${values.name}`);
});
