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
import { ErrnoError, MessageQueue } from "../mod.ts";
import { cText, main, modeOption } from "./_cli.ts";

const spec = {
  name: "msg1",
  summary: 'print messages from a System V message queue until "end" (the docs\' msg1.c)',
  details: `Opens the queue, or creates it with --mode, prints "msg1: waiting on key K, queue
id I", then "You wrote: TEXT" for each message, stops after a message starting with
"end" and removes the queue, unless --keep. Interrupted, it removes the queue only if
it created it.
--type selects as msgrcv does: 0 any message, N the first of type N, -N the first of
the lowest type up to N.`,
  positionals: {},
  options: {
    key: { kind: "integer", help: "System V key (decimal or 0x hex)", default: 1234 },
    mode: modeOption("queue"),
    type: { kind: "integer", help: "which messages to take", default: 0 },
    keep: { kind: "boolean", help: "leave the queue in place at the end" },
  },
} as const;

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

await main(spec, async ({ args, cleanup, signal }) => {
  const queue = MessageQueue.create(args.key, { mode: args.mode, exclusive: false });
  let finished = false;
  if (queue.created && !args.keep) {
    cleanup.defer("remove the message queue", () => finished || removeQuietly(queue));
  }
  console.log(`msg1: waiting on key ${args.key}, queue id ${queue.id}`);
  let count = 0;
  for (;;) {
    const message = (await queue.receiveAsync({ type: args.type, signal }))!;
    const text = cText(message.data);
    count += 1;
    console.log(`You wrote: ${text.replace(/\r?\n$/, "")}`);
    if (text.startsWith("end")) break;
  }
  if (!args.keep) removeQuietly(queue);
  finished = true;
  const after = args.keep ? "the queue stays" : "queue removed";
  console.log(`msg1: ${count} messages received, ${after}`);
});
