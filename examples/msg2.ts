/**
 * msg2: the docs' System V message-queue sender (`msg2.c`). It reads lines
 * from standard input and sends each as a message of type 1 on the queue
 * with key 1234, stopping after a line that starts with `end`.
 *
 *   printf 'hello\nend\n' | deno run --allow-ffi examples/msg2.ts
 *   printf 'hello\nend\n' | bun examples/msg2.ts
 *
 * Each message is the line, its newline and a NUL, so the docs' `msg1.c`
 * prints it with `%s`. At the end of input without `end`, it sends `end`
 * itself so that the receiver stops.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MessageQueue } from "../mod.ts";
import { ARGS, integer, main, octal } from "./_cli.ts";
import { sendLines } from "./_lines.ts";

const HELP = `msg2: send lines of standard input to a System V message queue until "end"

usage: msg2 [options]

options:
  --key N                    System V key (decimal or 0x hex) (default 1234)
  --mode MODE                permissions of the queue if created; the docs use 0666 (default 0600)
  --type N                   the type of every message sent (default 1)
  -h, --help                 show this help and exit

Opens the queue, or creates it with --mode. The queue outlives msg2 on
purpose: it holds the messages until msg1 takes them, and msg1 removes it after "end".
Interrupted before "end" was sent, msg2 removes the queue if it created it.

run with:
  deno run --allow-ffi examples/msg2.ts ...
  bun examples/msg2.ts ...`;

await main("msg2", HELP, async ({ cleanup, signal }) => {
  const { values } = parseArgs({
    args: ARGS,
    options: {
      key: { type: "string", default: "1234" },
      mode: { type: "string", default: "0600" },
      type: { type: "string", default: "1" },
    },
  });
  const key = integer("--key", values.key);
  const mode = octal("--mode", values.mode);
  const type = integer("--type", values.type, { min: 1 });

  const queue = MessageQueue.openOrCreate(key, { mode });
  let handedOver = false;
  if (queue.created) cleanup.defer(() => handedOver || queue.remove());
  const { sent, ended } = await sendLines((line) =>
    queue.sendAsync(type, `${line}\n\0`, { signal })
  );
  handedOver = true;
  console.log(`msg2: ${sent} messages sent${ended ? "" : ' (the last an "end" for end of input)'}`);
});
