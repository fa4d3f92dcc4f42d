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
import { SharedMemory } from "../mod.ts";
import { main } from "./_cli.ts";

const spec = {
  name: "shmunlink",
  summary: "remove the name of a POSIX shared memory object (shm_unlink)",
  positionals: {
    name: { kind: "string", help: "the object's name", default: "/shmkit-example" },
  },
  options: {},
} as const;

await main(spec, ({ args }) => {
  SharedMemory.unlink(args.name);
  console.log(`shmunlink: removed ${args.name}`);
});
