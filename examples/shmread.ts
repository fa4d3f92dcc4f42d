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
import { SharedMemory } from "../mod.ts";
import { main } from "./_cli.ts";

const spec = {
  name: "shmread",
  summary: "verify the pattern i % 256 in a POSIX shared memory object",
  positionals: {
    name: { kind: "string", help: "the object's name", default: "/shmkit-example" },
  },
  options: {},
} as const;

await main(spec, ({ args }) => {
  using shm = SharedMemory.open(args.name, { readOnly: true });
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
