/**
 * shm2: the docs' System V shared memory writer (`shm2.c`). It attaches (or
 * creates) the segment with key 1234, and for each line of standard input
 * waits for its turn (`written_by_you` back to 0), stores the line in
 * `some_text` and sets the flag; a line starting with `end` stops both
 * sides. Standard input can be a pipe:
 *
 *   printf 'hello\nend\n' | deno run --allow-ffi examples/shm2.ts
 *   printf 'hello\nend\n' | bun examples/shm2.ts
 *
 * The reader may be `shm1` in either runtime or the docs' `shm1.c`. At the
 * end of input without `end`, shm2 sends `end` itself.
 *
 * @module
 */
import { main, modeOption, sendLines } from "./_cli.ts";
import { attachOrCreate, removeQuietly, SharedUse, SHM_KEY } from "./_shm_com.ts";

const spec = {
  name: "shm2",
  summary: 'write lines of standard input into struct shared_use_st for the reader, until "end"',
  details: `Attaches the segment (creating it with --mode if the reader has not) and prints
"Memory attached at key K, id I". Each line is stored with its newline, as fgets keeps
it. The reader removes the segment after "end"; if shm2 created it, shm2 waits for the
reader to take "end" and then removes it too. Interrupted, it removes it only if it
created it.`,
  positionals: {},
  options: {
    key: { kind: "integer", help: "System V key (decimal or 0x hex)", default: SHM_KEY },
    mode: modeOption("segment"),
  },
} as const;

await main(spec, async ({ args, cleanup, signal }) => {
  const seg = attachOrCreate(args.key, args.mode);
  if (seg.created) cleanup.defer("remove the segment", () => removeQuietly(seg));
  cleanup.defer("detach the segment", () => seg.detach());
  const shared = seg.created ? SharedUse.init(seg) : SharedUse.at(seg);
  const flag = shared.writtenByYou;
  console.log(`Memory attached at key ${args.key}, id ${seg.id}`);

  const { sent, ended } = await sendLines(async (line) => {
    await flag.waitForAsync(0, { signal });
    shared.someText = `${line}\n`;
    flag.set(1);
  });
  if (seg.created) {
    // Leave only once the reader took "end", so that removing is safe.
    await flag.waitForAsync(0, { signal });
  }
  console.log(`shm2: ${sent} texts written${ended ? "" : ' (the last an "end" for end of input)'}`);
});
