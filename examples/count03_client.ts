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
import { parseArgs } from "node:util";
import { SharedMemory } from "../mod.ts";
import { ARGS, integer, main, noMore, RUNTIME } from "./_cli.ts";
import { Count03, COUNT03_NAME } from "./_count03.ts";
import { acquire, breathe } from "./_wait.ts";

const HELP = `count03_client: add 1 to the counter of count03_server LOOPS times under its semaphore

usage: count03_client [LOOPS] [options]

arguments:
  LOOPS                      increments to make (default 1000)

options:
  --name NAME                the server's shared memory object (default "${COUNT03_NAME}")
  -q, --quiet                print only the final line
  -h, --help                 show this help and exit

Prints "pid P: N" for every increment (unless --quiet), then
"count03_client: RUNTIME pid P added LOOPS, counter now N". It creates nothing, so it
removes nothing.

run with:
  deno run --allow-ffi examples/count03_client.ts ...
  bun examples/count03_client.ts ...`;

await main("count03_client", HELP, async ({ cleanup, signal }) => {
  const { values, positionals: [count = "1000", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
    options: {
      name: { type: "string", default: COUNT03_NAME },
      quiet: { type: "boolean", short: "q", default: false },
    },
  });
  const loops = integer("LOOPS", count, { min: 0 });
  noMore(extra);

  const shm = cleanup.use(SharedMemory.open(values.name));
  // The header check refuses an object laid out differently.
  const shared = Count03.attach(shm, 0, { header: true });
  const { mutex, done } = shared;

  await acquire(mutex, signal);
  shared.clients += 1;
  mutex.post();

  let last = 0;
  for (let i = 0; i < loops; i++) {
    await breathe();
    await acquire(mutex, signal);
    last = ++shared.count;
    mutex.post();
    if (!values.quiet) console.log(`pid ${process.pid}: ${last}`);
  }

  await acquire(mutex, signal);
  shared.finished += 1;
  last = shared.count;
  mutex.post();
  done.post();
  console.log(`count03_client: ${RUNTIME} pid ${process.pid} added ${loops}, counter now ${last}`);
});
