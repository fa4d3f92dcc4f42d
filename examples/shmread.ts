/**
 * shmread: open an existing POSIX shared memory object read-only and verify
 * the pattern byte[i] = i % 256 that `shmwrite` stored, as the docs'
 * `shmread.c` does. Exits 1 if any byte differs.
 *
 *   deno run --allow-ffi examples/shmread.ts /shmkit-example
 *   bun examples/shmread.ts /shmkit-example
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SharedMemory } from "../mod.ts";
import { ARGS, main, noMore } from "./_cli.ts";

const HELP = `shmread: verify the pattern i % 256 in a POSIX shared memory object

usage: shmread [NAME]

arguments:
  NAME                       the object's name (default "/shmkit-example")

options:
  -h, --help                 show this help and exit

run with:
  deno run --allow-ffi examples/shmread.ts ...
  bun examples/shmread.ts ...`;

await main("shmread", HELP, () => {
  const { positionals: [name = "/shmkit-example", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
  });
  noMore(extra);

  using shm = SharedMemory.open(name, { readOnly: true });
  const bytes = shm.view(Uint8Array);
  let wrong = 0;
  let first = -1;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== i % 256) {
      wrong += 1;
      if (first < 0) first = i;
    }
  }
  if (wrong > 0) {
    console.log(
      `shmread: ${shm.name}: ${wrong} of ${bytes.length} bytes differ; first at byte ${first}: ${
        bytes[first]
      }, expected ${first % 256}`,
    );
    return 1;
  }
  console.log(`shmread: ${shm.name}: all ${bytes.length} bytes match the pattern i % 256`);
});
