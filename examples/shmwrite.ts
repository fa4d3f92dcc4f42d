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
import { SharedMemory } from "../mod.ts";
import { main } from "./_cli.ts";

const spec = {
  name: "shmwrite",
  summary: "fill an existing POSIX shared memory object with the pattern i % 256",
  details: "Create the object first with shmcreate; its size is read back with fstat.",
  positionals: {
    name: { kind: "string", help: "the object's name", default: "/shmkit-example" },
  },
  options: {},
} as const;

await main(spec, ({ args }) => {
  using shm = SharedMemory.open(args.name);
  const bytes = shm.view(Uint8Array);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
  console.log(`shmwrite: wrote ${bytes.length} bytes of the pattern i % 256 to ${shm.name}`);
});
