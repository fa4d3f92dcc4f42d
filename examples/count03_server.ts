/**
 * count03_server: creates and initializes the POSIX shared memory object
 * (`shm_open`) that holds a counter and the memory semaphore guarding it, as
 * the docs' `count03_server.c` does; any number of `count03_client`
 * processes, Deno or Bun, started separately, add to it. The server reports
 * each client that finishes and the exact total.
 *
 *   deno run --allow-ffi examples/count03_server.ts --clients 2
 *   bun examples/count03_client.ts 1000 & deno run --allow-ffi examples/count03_client.ts 1000
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SharedMemory } from "../mod.ts";
import { ARGS, integer, main } from "./_cli.ts";
import { Count03, COUNT03_BYTES, COUNT03_NAME } from "./_count03.ts";
import { acquire } from "./_wait.ts";

const HELP =
  `count03_server: create the shared counter and its semaphore, then report what clients add

usage: count03_server [options]

options:
  --name NAME                the shared memory object (default "${COUNT03_NAME}")
  --clients N                exit after this many clients finished (0: wait for Ctrl-C) (default 0)
  --status                   print the counter of an existing object and exit
  --keep                     leave the object in place at exit
  -h, --help                 show this help and exit

Creates NAME (it must not exist), prints "count03_server: ready on NAME", and waits.
With --clients K it exits after K clients finished, printing the exact total; without
it, it waits for Ctrl-C and prints the total then. The object is removed at exit unless
--keep (then --status reads it later, and shmunlink removes it).
--status only prints the counter of an existing object.

run with:
  deno run --allow-ffi examples/count03_server.ts ...
  bun examples/count03_server.ts ...`;

await main("count03_server", HELP, async ({ cleanup, signal }) => {
  const { values } = parseArgs({
    args: ARGS,
    options: {
      name: { type: "string", default: COUNT03_NAME },
      clients: { type: "string", default: "0" },
      status: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
    },
  });
  const { name, keep } = values;
  const clients = integer("--clients", values.clients, { min: 0 });

  if (values.status) {
    using shm = SharedMemory.open(name);
    const shared = Count03.attach(shm, 0, { header: true });
    const mutex = shared.mutex;
    await acquire(mutex, signal);
    const { count, clients: started, finished } = shared;
    mutex.post();
    console.log(
      `count03_server: ${name}: count = ${count} (${started} clients started, ${finished} finished)`,
    );
    return;
  }

  const shm = SharedMemory.create(name, COUNT03_BYTES);
  if (!keep) cleanup.defer(() => shm.unlink());
  cleanup.use(shm);
  const shared = Count03.init(shm, 0, { header: true, values: { mutex: 1, done: 0 } });
  const { mutex, done } = shared;
  const report = () => {
    const { count, clients, finished } = shared;
    return `count = ${count} (${clients} clients started, ${finished} finished)`;
  };
  // On Ctrl-C the total is printed too, before the object goes.
  let reported = false;
  cleanup.defer(() => reported || console.log(`count03_server: final ${report()}`));
  console.log(`count03_server: ready on ${name}`);

  for (let seen = 1; clients === 0 || seen <= clients; seen++) {
    await acquire(done, signal);
    await acquire(mutex, signal);
    const line = `count03_server: client ${seen} finished, ${report()}`;
    mutex.post();
    console.log(line);
  }
  await acquire(mutex, signal);
  const { count: total, finished, clients: started } = shared;
  mutex.post();
  reported = true;
  console.log(`count03_server: total ${total} from ${finished} clients (${started} started)`);
});
