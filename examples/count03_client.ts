/**
 * count03_client: opens the object `count03_server` created and adds 1 to
 * its counter LOOPS times, each time under the memory semaphore that lives
 * in the same object, as the docs' `count03_client.c` does. Start as many as
 * you like, in Deno and Bun at once: the total stays exact.
 *
 *   deno run --allow-ffi examples/count03_client.ts 1000
 *   bun examples/count03_client.ts 1000
 *
 * @module
 */
import process from "node:process";
import { SharedMemory } from "../mod.ts";
import { acquire, breathe, main, RUNTIME } from "./_cli.ts";
import { Count03, COUNT03_NAME } from "./_count03.ts";

const spec = {
  name: "count03_client",
  summary: "add 1 to the counter of count03_server LOOPS times under its semaphore",
  details: `Prints "pid P: N" for every increment (unless --quiet), then
"count03_client: RUNTIME pid P added LOOPS, counter now N". It creates nothing, so it
removes nothing.`,
  positionals: {
    loops: { kind: "integer", help: "increments to make", default: 1000, min: 0 },
  },
  options: {
    name: { kind: "string", help: "the server's shared memory object", default: COUNT03_NAME },
    quiet: { kind: "boolean", short: "q", help: "print only the final line" },
  },
} as const;

await main(spec, async ({ args, cleanup, signal }) => {
  const shm = SharedMemory.open(args.name);
  cleanup.defer("unmap the object", () => shm.close());
  // The header check refuses an object laid out differently.
  const shared = Count03.attach(shm, 0, { header: true });
  const { mutex, done } = shared;

  await acquire(mutex, signal);
  shared.clients += 1;
  mutex.post();

  let last = 0;
  for (let i = 0; i < args.loops; i++) {
    await breathe();
    await acquire(mutex, signal);
    last = ++shared.count;
    mutex.post();
    if (!args.quiet) console.log(`pid ${process.pid}: ${last}`);
  }

  await acquire(mutex, signal);
  shared.finished += 1;
  last = shared.count;
  mutex.post();
  done.post();
  console.log(
    `count03_client: ${RUNTIME} pid ${process.pid} added ${args.loops}, counter now ${last}`,
  );
});
