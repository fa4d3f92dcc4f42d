/**
 * msg1: the docs' System V message-queue receiver (`msg1.c`). It opens (or
 * creates) the queue with key 1234, prints every message until one starts
 * with `end`, then removes the queue.
 *
 *   deno run --allow-ffi examples/msg1.ts
 *   bun examples/msg1.ts
 *
 * Any sender on the same key works: `msg2` in either runtime, or the docs'
 * `msg2.c`. Waiting polls the queue (IPC_NOWAIT, at most every 20 ms) so that
 * Ctrl-C is handled at once; the docs block in `msgrcv`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ErrnoError, MessageQueue } from "../mod.ts";
import { ARGS, integer, main, octal } from "./_cli.ts";

const HELP = `msg1: print messages from a System V message queue until "end" (the docs' msg1.c)

usage: msg1 [options]

options:
  --key N                    System V key (decimal or 0x hex) (default 1234)
  --mode MODE                permissions of the queue if created; the docs use 0666 (default 0600)
  --type N                   which messages to take (default 0)
  --keep                     leave the queue in place at the end
  -h, --help                 show this help and exit

Opens the queue, or creates it with --mode, prints "msg1: waiting on key K, queue
id I", then "You wrote: TEXT" for each message, stops after a message starting with
"end" and removes the queue, unless --keep. Interrupted, it removes the queue only if
it created it.
--type selects as msgrcv does: 0 any message, N the first of type N, -N the first of
the lowest type up to N.

run with:
  deno run --allow-ffi examples/msg1.ts ...
  bun examples/msg1.ts ...`;

function removeQuietly(queue: MessageQueue): void {
  try {
    queue.remove();
  } catch (error) {
    // Someone else (another msg1) removed it first: nothing left to do.
    if (!(error instanceof ErrnoError && (error.code === "EINVAL" || error.code === "EIDRM"))) {
      throw error;
    }
  }
}

await main("msg1", HELP, async ({ cleanup, signal }) => {
  const { values } = parseArgs({
    args: ARGS,
    options: {
      key: { type: "string", default: "1234" },
      mode: { type: "string", default: "0600" },
      type: { type: "string", default: "0" },
      keep: { type: "boolean", default: false },
    },
  });
  const key = integer("--key", values.key);
  const mode = octal("--mode", values.mode);
  const type = integer("--type", values.type);

  const queue = MessageQueue.openOrCreate(key, { mode });
  let finished = false;
  if (queue.created && !values.keep) cleanup.defer(() => finished || removeQuietly(queue));
  console.log(`msg1: waiting on key ${key}, queue id ${queue.id}`);
  let count = 0;
  for (;;) {
    const message = await queue.receiveAsync({ type, signal });
    // The text of the NUL-terminated C string the message holds.
    const end = message.data.indexOf(0);
    const text = new TextDecoder().decode(message.data.subarray(0, end < 0 ? undefined : end));
    count += 1;
    console.log(`You wrote: ${text.replace(/\r?\n$/, "")}`);
    if (text.startsWith("end")) break;
  }
  if (!values.keep) removeQuietly(queue);
  finished = true;
  const after = values.keep ? "the queue stays" : "queue removed";
  console.log(`msg1: ${count} messages received, ${after}`);
});
