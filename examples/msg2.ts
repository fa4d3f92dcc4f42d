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
import { MessageQueue } from "../mod.ts";
import { main, modeOption, sendLines } from "./_cli.ts";

const spec = {
  name: "msg2",
  summary: 'send lines of standard input to a System V message queue until "end"',
  details: `Opens the queue, or creates it with --mode. The queue outlives msg2 on
purpose: it holds the messages until msg1 takes them, and msg1 removes it after "end".
Interrupted before "end" was sent, msg2 removes the queue if it created it.`,
  positionals: {},
  options: {
    key: { kind: "integer", help: "System V key (decimal or 0x hex)", default: 1234 },
    mode: modeOption("queue"),
    type: { kind: "integer", help: "the type of every message sent", default: 1, min: 1 },
  },
} as const;

await main(spec, async ({ args, cleanup, signal }) => {
  const queue = MessageQueue.create(args.key, { mode: args.mode, exclusive: false });
  let handedOver = false;
  if (queue.created) {
    cleanup.defer("remove the message queue", () => handedOver || queue.remove());
  }
  const { sent, ended } = await sendLines((line) =>
    queue.sendAsync(args.type, `${line}\n\0`, { signal })
  );
  handedOver = true;
  console.log(`msg2: ${sent} messages sent${ended ? "" : ' (the last an "end" for end of input)'}`);
});
