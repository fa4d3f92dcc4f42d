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
import { SharedMemory } from "../mod.ts";
import { main } from "./_cli.ts";

const spec = {
  name: "shmcreate",
  summary: "create a POSIX shared memory object of LENGTH bytes (shm_open + ftruncate)",
  details: `Without -e an existing object is opened and grown to LENGTH if smaller (never shrunk).
The object outlives this program: remove it with shmunlink.`,
  positionals: {
    name: {
      kind: "string",
      help: 'the object\'s name, "/" then no other "/"',
      default: "/shmkit-example",
    },
    length: { kind: "integer", help: "size in bytes", default: 4096, min: 1 },
  },
  options: {
    exclusive: { kind: "boolean", short: "e", help: "fail if the object exists (O_EXCL)" },
  },
} as const;

await main(spec, ({ args }) => {
  using shm = SharedMemory.create(args.name, args.length, { exclusive: args.exclusive ?? false });
  const how = shm.created ? "created" : "opened existing";
  console.log(`shmcreate: ${how} ${shm.name}, ${shm.created ? "" : "now "}${shm.size} bytes`);
});
