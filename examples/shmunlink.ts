/**
 * shmunlink: remove the name of a POSIX shared memory object, as the docs'
 * `shmunlink.c` does with `shm_unlink`. Processes that have it mapped keep
 * their mapping; new opens fail.
 *
 *   deno run --allow-ffi examples/shmunlink.ts /shmkit-example
 *   bun examples/shmunlink.ts /shmkit-example
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SharedMemory } from "../mod.ts";
import { ARGS, main, noMore } from "./_cli.ts";

const HELP = `shmunlink: remove the name of a POSIX shared memory object (shm_unlink)

usage: shmunlink [NAME]

arguments:
  NAME                       the object's name (default "/shmkit-example")

options:
  -h, --help                 show this help and exit

run with:
  deno run --allow-ffi examples/shmunlink.ts ...
  bun examples/shmunlink.ts ...`;

await main("shmunlink", HELP, () => {
  const { positionals: [name = "/shmkit-example", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
  });
  noMore(extra);

  SharedMemory.unlink(name);
  console.log(`shmunlink: removed ${name}`);
});
