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
import { SharedMemory } from "../mod.ts";
import { acquire, main } from "./_cli.ts";
import { Count03, COUNT03_BYTES, COUNT03_NAME } from "./_count03.ts";

const spec = {
  name: "count03_server",
  summary: "create the shared counter and its semaphore, then report what clients add",
  details: `Creates NAME (it must not exist), prints "count03_server: ready on NAME", and waits.
With --clients K it exits after K clients finished, printing the exact total; without
it, it waits for Ctrl-C and prints the total then. The object is removed at exit unless
--keep (then --status reads it later, and shmunlink removes it).
--status only prints the counter of an existing object.`,
  positionals: {},
  options: {
    name: { kind: "string", help: "the shared memory object", default: COUNT03_NAME },
    clients: {
      kind: "integer",
      help: "exit after this many clients finished (0: wait for Ctrl-C)",
      default: 0,
      min: 0,
    },
    status: { kind: "boolean", help: "print the counter of an existing object and exit" },
    keep: { kind: "boolean", help: "leave the object in place at exit" },
  },
} as const;

await main(spec, async ({ args, cleanup, signal }) => {
  if (args.status) {
    using shm = SharedMemory.open(args.name);
    const shared = Count03.attach(shm, 0, { header: true });
    const mutex = shared.mutex;
    await acquire(mutex, signal);
    const { count, clients, finished } = shared;
    mutex.post();
    console.log(
      `count03_server: ${args.name}: count = ${count} (${clients} clients started, ${finished} finished)`,
    );
    return;
  }

  const shm = SharedMemory.create(args.name, COUNT03_BYTES);
  if (!args.keep) cleanup.defer(`unlink ${args.name}`, () => shm.unlink());
  cleanup.defer("unmap the object", () => shm.close());
  const shared = Count03.init(shm, 0, { header: true, values: { mutex: 1, done: 0 } });
  const { mutex, done } = shared;
  const report = () => {
    const { count, clients, finished } = shared;
    return `count = ${count} (${clients} clients started, ${finished} finished)`;
  };
  // On Ctrl-C the total is printed too, before the object goes.
  let reported = false;
  cleanup.defer("report", () => reported || console.log(`count03_server: final ${report()}`));
  console.log(`count03_server: ready on ${args.name}`);

  for (let seen = 1; args.clients === 0 || seen <= args.clients; seen++) {
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
