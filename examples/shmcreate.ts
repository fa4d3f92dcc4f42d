/**
 * shmcreate: create a POSIX shared memory object of a given size, as the
 * docs' `shmcreate.c` (UNP vol. 2, ch. 13) does with `shm_open` + `ftruncate`.
 *
 *   deno run --allow-ffi examples/shmcreate.ts /shmkit-example 4096
 *   bun examples/shmcreate.ts /shmkit-example 4096
 *
 * The object is this program's product, so it stays after exit (in
 * /dev/shm) until `shmunlink` removes it; `shmwrite` and `shmread` use it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SharedMemory } from "../mod.ts";
import { ARGS, integer, main, noMore } from "./_cli.ts";

const HELP = `shmcreate: create a POSIX shared memory object of LENGTH bytes (shm_open + ftruncate)

usage: shmcreate [NAME] [LENGTH] [options]

arguments:
  NAME                       the object's name, "/" then no other "/" (default "/shmkit-example")
  LENGTH                     size in bytes (default 4096)

options:
  -e, --exclusive            fail if the object exists (O_EXCL)
  -h, --help                 show this help and exit

Without -e an existing object is opened and grown to LENGTH if smaller (never shrunk).
The object outlives this program: remove it with shmunlink.

run with:
  deno run --allow-ffi examples/shmcreate.ts ...
  bun examples/shmcreate.ts ...`;

await main("shmcreate", HELP, () => {
  const { values, positionals: [name = "/shmkit-example", length = "4096", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
    options: { exclusive: { type: "boolean", short: "e", default: false } },
  });
  const size = integer("LENGTH", length, { min: 1 });
  noMore(extra);

  using shm = SharedMemory.create(name, size, { exclusive: values.exclusive });
  const how = shm.created ? "created" : "opened existing";
  console.log(`shmcreate: ${how} ${shm.name}, ${shm.created ? "" : "now "}${shm.size} bytes`);
});
