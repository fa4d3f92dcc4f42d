/**
 * channel_consumer: the consumer of producer/consumer, with a `Channel`:
 * it reads what `channel_producer` processes send with `for await`, until
 * the end of the stream (every producer closed, or died), and checks that
 * each producer's messages came in order, none missing. Nothing is dropped:
 * a producer waits while the ring is full.
 *
 *   deno run --allow-ffi examples/channel_consumer.ts --producers 2
 *   bun examples/channel_producer.ts 100 & deno run --allow-ffi examples/channel_producer.ts 100
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Channel, ChannelEndedError } from "../mod.ts";
import { ARGS, integer, main } from "./_cli.ts";
import { CHANNEL_CAPACITY, CHANNEL_NAME, Tally, unlinkQuietly } from "./_channel_prodcons.ts";
import { breathe } from "./_wait.ts";

const HELP = `channel_consumer: print what producers send through a Channel until the stream ends

usage: channel_consumer [options]

options:
  --name NAME                the channel (default "${CHANNEL_NAME}")
  --capacity BYTES           ring size if it creates the channel (default ${CHANNEL_CAPACITY})
  --producers N              keep the stream open until N producers were heard from (default 0)
  -q, --quiet                print only the ready line and the summary
  --keep                     leave the channel in place at exit
  -h, --help                 show this help and exit

Creates the channel NAME with --capacity bytes, or opens it when a producer created it
first, prints "channel_consumer: ready on NAME", then each message (unless --quiet)
until the end of the stream: when every producer that sent has closed it (or died).
With --producers K it holds the stream open itself until it has had a message from K
producers, so that a producer finishing before the next one starts does not end it:
start it before the producers. It ends with
"channel_consumer: received R from P producers (...), each in order, none missing"
and exits 0, or exits 1 when a producer's messages came out of order or fewer than K
producers were heard from. The channel is removed at exit, also on Ctrl-C, unless --keep.

run with:
  deno run --allow-ffi examples/channel_consumer.ts ...
  bun examples/channel_consumer.ts ...`;

await main("channel_consumer", HELP, async ({ cleanup }) => {
  const { values } = parseArgs({
    args: ARGS,
    options: {
      name: { type: "string", default: CHANNEL_NAME },
      capacity: { type: "string", default: String(CHANNEL_CAPACITY) },
      producers: { type: "string", default: "0" },
      quiet: { type: "boolean", short: "q", default: false },
      keep: { type: "boolean", default: false },
    },
  });
  const capacity = integer("--capacity", values.capacity, { min: 64, max: 2 ** 30 });
  const producers = integer("--producers", values.producers, { min: 0 });

  const channel = Channel.openOrCreate(values.name, { capacity });
  // Whoever created it, the consumer is the last to need it.
  if (!values.keep) cleanup.defer(() => unlinkQuietly(values.name));
  cleanup.use(channel);

  // Holding the stream open: a handle becomes a sender with its first
  // reservation (here of nothing, discarded at once), and stops being one
  // when its writable side is closed.
  let hold = (producers > 0 ? "want" : "done") as "want" | "held" | "done";
  const tryHold = () => {
    try {
      if (channel.tryReserve(0) === null) return; // the ring is full: try again later
      channel.discard();
      hold = "held";
    } catch (error) {
      // The producers already came and went: what they sent is still there.
      if (!(error instanceof ChannelEndedError)) throw error;
      hold = "done";
    }
  };
  if (hold === "want") tryHold();

  const tally = new Tally();
  let reported = false;
  const summary = () => {
    const short = producers > tally.producers
      ? `, but only ${tally.producers} of ${producers} producers were heard from`
      : "";
    return `channel_consumer: ${tally.summary()}${short}`;
  };
  // On Ctrl-C the account is printed too, before the channel goes.
  cleanup.defer(() => reported || console.log(summary()));
  console.log(`channel_consumer: ready on ${values.name}, ${channel.capacity} bytes`);

  const decoder = new TextDecoder();
  for await (const bytes of channel) {
    const text = decoder.decode(bytes);
    tally.add(text);
    if (!values.quiet) console.log(text);
    if (hold !== "done" && tally.producers >= producers) {
      // Each of them is a sender now: the stream ends when they all closed.
      if (hold === "held") await channel.writable.close();
      hold = "done";
    } else if (hold === "want") tryHold();
    // for await resolves at once while messages wait: let Ctrl-C in.
    await breathe();
  }
  reported = true;
  console.log(summary());
  return tally.problem === undefined && tally.producers >= producers ? 0 : 1;
});
