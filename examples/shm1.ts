/**
 * shm1: the docs' System V shared memory reader (`shm1.c`). It attaches (or
 * creates) the segment with key 1234 holding `struct shared_use_st`, waits
 * for the writer to set `written_by_you`, prints `some_text`, hands the turn
 * back by clearing the flag, and stops after a text that starts with `end`;
 * then it detaches and removes the segment.
 *
 *   deno run --allow-ffi examples/shm1.ts
 *   bun examples/shm1.ts
 *
 * The writer may be `shm2` in either runtime or the docs' `shm2.c`: the
 * flag is a plain int at offset 0, and a `Flag` notices a C program's plain
 * store too. Waiting sleeps in the kernel instead of the docs' busy loop.
 *
 * @module
 */
import { main, modeOption, sleep } from "./_cli.ts";
import { attachOrCreate, removeQuietly, SharedUse, SHM_KEY } from "./_shm_com.ts";

const spec = {
  name: "shm1",
  summary: 'print what the writer puts in struct shared_use_st until "end" (the docs\' shm1.c)',
  details: `Attaches the segment (creating it with --mode if the writer has not), prints
"Memory attached at key K, id I", then "You wrote: TEXT" for each text. After "end" it
detaches and removes the segment, unless --keep; interrupted, it removes it only if it
created it. --delay imitates the docs' sleep before handing the turn back.`,
  positionals: {},
  options: {
    key: { kind: "integer", help: "System V key (decimal or 0x hex)", default: SHM_KEY },
    mode: modeOption("segment"),
    delay: {
      kind: "number",
      help: "milliseconds to wait before clearing the flag",
      default: 0,
      min: 0,
      placeholder: "MS",
    },
    keep: { kind: "boolean", help: "leave the segment in place at the end" },
  },
} as const;

await main(spec, async ({ args, cleanup, signal }) => {
  const seg = attachOrCreate(args.key, args.mode);
  let finished = false;
  if (seg.created && !args.keep) {
    cleanup.defer("remove the segment", () => finished || removeQuietly(seg));
  }
  cleanup.defer("detach the segment", () => seg.detach());
  // A new segment starts with the writer's turn; an existing one may already
  // hold a text the writer left for us, so its flag is kept.
  const shared = seg.created ? SharedUse.init(seg) : SharedUse.at(seg);
  const flag = shared.writtenByYou;
  console.log(`Memory attached at key ${args.key}, id ${seg.id}`);

  let count = 0;
  for (;;) {
    await flag.waitForAsync(1, { signal });
    const text = shared.someText;
    count += 1;
    console.log(`You wrote: ${text.replace(/\r?\n$/, "")}`);
    if (args.delay > 0) await sleep(args.delay, signal);
    flag.set(0);
    if (text.startsWith("end")) break;
  }
  seg.detach();
  if (!args.keep) removeQuietly(seg);
  finished = true;
  console.log(`shm1: ${count} texts read, ${args.keep ? "the segment stays" : "segment removed"}`);
});
