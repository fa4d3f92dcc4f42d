/**
 * shmwrite: open an existing POSIX shared memory object and fill it with
 * the pattern byte[i] = i % 256, as the docs' `shmwrite.c` does; `shmread`
 * verifies it, from any process or runtime.
 *
 *   deno run --allow-ffi examples/shmwrite.ts /shmkit-example
 *   bun examples/shmwrite.ts /shmkit-example
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SharedMemory } from "../mod.ts";
import { ARGS, main, noMore } from "./_cli.ts";

const HELP = `shmwrite: fill an existing POSIX shared memory object with the pattern i % 256

usage: shmwrite [NAME]

arguments:
  NAME                       the object's name (default "/shmkit-example")

options:
  -h, --help                 show this help and exit

Create the object first with shmcreate; its size is read back with fstat.

run with:
  deno run --allow-ffi examples/shmwrite.ts ...
  bun examples/shmwrite.ts ...`;

await main("shmwrite", HELP, () => {
  const { positionals: [name = "/shmkit-example", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
  });
  noMore(extra);

  using shm = SharedMemory.open(name);
  const bytes = shm.view(Uint8Array);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
  console.log(`shmwrite: wrote ${bytes.length} bytes of the pattern i % 256 to ${shm.name}`);
});
