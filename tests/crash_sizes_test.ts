/**
 * Sizes that used to kill a process: an object shrunk under a mapping by
 * another handle's resize(), racing openOrCreate calls with different sizes,
 * objects bigger than the space left in /dev/shm, and FIFOs handed to
 * MappedFile. Every scenario runs in child processes, so that a SIGBUS or a
 * hang shows up as a failed assertion rather than a dead test runner.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { ErrnoError, SharedMemory } from "../mod.ts";
import {
  commandFor,
  compileC,
  MOD_URL,
  runCommand,
  runScript,
  type Runtime,
  RUNTIMES,
  scratchPath,
  uniqueName,
} from "./_helpers.ts";

function unlinkAll(prefix: string): void {
  for (const entry of readdirSync("/dev/shm")) {
    if (`/${entry}`.startsWith(prefix)) SharedMemory.unlink(`/${entry}`);
  }
}

// Deno asks for --allow-all before it stats anything under /dev.
const ALL = ["--allow-all"];

function other(runtime: Runtime): Runtime {
  return runtime === "deno" ? "bun" : "deno";
}

/** Writes a child script and returns the command line that runs it. */
function scriptCommand(runtime: Runtime, source: string, args: string[]) {
  const file = scratchPath(`child-${runtime}`, ".ts");
  writeFileSync(file, source.replaceAll("$MOD", MOD_URL));
  return commandFor(runtime, file, args, ALL);
}

function describeExit(result: { code: number | null; signal: string | null; stderr: string }) {
  return `exit ${result.code ?? result.signal}\n${result.stderr}`;
}

// The creator maps 1 MiB with a Mutex at 512 KiB; another handle then asks
// for 4096 bytes. Before the fix that ftruncate-d the object under the
// creator, whose next lock() died of SIGBUS.
const CREATOR = `
  import process from "node:process";
  import { spawnSync } from "node:child_process";
  import { statSync } from "node:fs";
  import { Mutex, SharedMemory } from "$MOD";
  const [name, resizer] = process.argv.slice(2);
  using shm = SharedMemory.create(name, 1 << 20);
  const mutex = Mutex.init(shm, 512 * 1024);
  if (resizer === "same") {
    using other = SharedMemory.open(name);
    other.resize(4096);
    if (other.size !== 4096) throw new Error("the other handle maps " + other.size);
  } else {
    const { command, args } = JSON.parse(resizer);
    const r = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error("the resizer exited with " + (r.status ?? r.signal));
  }
  mutex.lock().unlock();
  const bytes = shm.view(Uint8Array);
  bytes[bytes.length - 1] = 1;
  console.log(JSON.stringify({ objectSize: statSync("/dev/shm" + name).size, mapped: shm.size }));
`;

const RESIZER = `
  import process from "node:process";
  import { SharedMemory } from "$MOD";
  using shm = SharedMemory.open(process.argv[2]);
  shm.resize(4096);
  shm.view(Uint8Array)[4095] = 2;
`;

for (const runtime of RUNTIMES) {
  for (const resizer of ["same", other(runtime)] as const) {
    const who = resizer === "same" ? "a second handle in the same process" : `a ${resizer} process`;
    test(`${runtime}: resize(4096) by ${who} leaves the creator's 1 MiB mapping whole`, async () => {
      const name = uniqueName("shrink");
      try {
        const arg = resizer === "same"
          ? "same"
          : JSON.stringify(scriptCommand(resizer, RESIZER, [name]));
        const result = await runScript(runtime, CREATOR, {
          args: [name, arg],
          timeoutMs: 30_000,
          denoFlags: ALL,
        });
        assert.equal(result.code, 0, describeExit(result));
        assert.deepEqual(JSON.parse(result.stdout), { objectSize: 1 << 20, mapped: 1 << 20 });
      } finally {
        unlinkAll(name);
      }
    });
  }
}

// Two processes race openOrCreate on a fresh name each round, one asking for
// 4 KiB and the other for 1 MiB (alternating), and touch the last byte of
// what they mapped before and after the other finished sizing. A spin
// barrier in a control object releases them together every round.
const RACER = `
  import process from "node:process";
  import { SharedMemory } from "$MOD";
  const [control, prefix, roleText, roundsText] = process.argv.slice(2);
  const role = Number(roleText);
  using ctl = SharedMemory.open(control);
  const words = ctl.view(Int32Array);
  let passed = 0;
  const barrier = () => {
    passed += 2;
    Atomics.add(words, 0, 1);
    const deadline = Date.now() + 10_000;
    for (let spin = 0; Atomics.load(words, 0) < passed; spin++) {
      if ((spin & 1023) === 0 && Date.now() > deadline) throw new Error("the other racer is gone");
    }
  };
  for (let round = 0; round < Number(roundsText); round++) {
    const name = prefix + "-" + round;
    barrier();
    const shm = SharedMemory.openOrCreate(name, (round + role) % 2 ? 1 << 20 : 4096);
    const bytes = shm.view(Uint8Array);
    bytes[bytes.length - 1] = 1;
    barrier();
    bytes[bytes.length - 1] += 1;
    shm.close();
    if (shm.created) SharedMemory.unlink(name);
  }
`;

const PAIRS: readonly (readonly [Runtime, Runtime])[] = [
  ...RUNTIMES.map((runtime) => [runtime, runtime] as const),
  ["deno", "bun"],
];

for (const pair of PAIRS) {
  test(`${pair.join(" and ")}: openOrCreate racing with 4 KiB and 1 MiB never maps past the end`, async () => {
    const control = uniqueName("race-ctl");
    const prefix = uniqueName("race");
    const rounds = 1000;
    try {
      using _ctl = SharedMemory.create(control, 4096);
      const racers = pair.map((runtime, role) =>
        runScript(runtime, RACER, {
          args: [control, prefix, String(role), String(rounds)],
          timeoutMs: 60_000,
        })
      );
      const results = await Promise.all(racers);
      assert.deepEqual(
        results.map((r) => r.code ?? r.signal),
        [0, 0],
        results.map(describeExit).join("\n"),
      );
    } finally {
      unlinkAll(control);
      unlinkAll(prefix);
    }
  });
}

/**
 * Runs `source` under `runtime` in a private mount namespace whose /dev/shm
 * is an 8 MiB tmpfs of its own, so that filling it disturbs nothing else.
 */
async function runInSmallShm(runtime: Runtime, source: string) {
  const file = scratchPath(`small-shm-${runtime}`, ".ts");
  writeFileSync(file, source.replaceAll("$MOD", MOD_URL));
  const { command, args } = commandFor(runtime, file, [], ALL);
  return await runCommand("unshare", [
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount -t tmpfs -o size=8m tmpfs /dev/shm && exec "$@"',
    "sh",
    command,
    ...args,
  ], { timeoutMs: 60_000 });
}

// /dev/shm inside a private mount namespace is an 8 MiB tmpfs: every request
// beyond that must be an ErrnoError at create/resize/open, not a SIGBUS when
// the memory is first written. Before the fix the objects were accepted, and
// filling one killed the child.
const SMALL_TMPFS = `
  import { existsSync, statSync, writeFileSync } from "node:fs";
  import { ErrnoError, MappedFile, SharedMemory } from "$MOD";
  const MiB = 1 << 20;
  const out = {};
  const attempt = (label, open) => {
    try {
      const region = open();
      region.view(Uint8Array).fill(1); // the first write: SIGBUS if nothing was reserved
      out[label] = "accepted " + region.size;
    } catch (error) {
      out[label] = error instanceof ErrnoError ? error.code : String(error);
    }
  };
  attempt("create 16 MiB", () => SharedMemory.create("/big", 16 * MiB));
  attempt("create 2 ** 40", () => SharedMemory.create("/huge", 2 ** 40));
  attempt("openOrCreate 16 MiB", () => SharedMemory.openOrCreate("/big2", 16 * MiB));
  out.leftBehind = ["/big", "/huge", "/big2"].filter((n) => existsSync("/dev/shm" + n));
  const small = SharedMemory.create("/small", 4 * MiB);
  attempt("resize to 16 MiB", () => (small.resize(16 * MiB), small));
  out.smallStill = [small.size, statSync("/dev/shm/small").size];
  small.view(Uint8Array).fill(2);
  attempt("openOrCreate growing to 16 MiB", () => SharedMemory.openOrCreate("/small", 16 * MiB));
  out.smallData = small.view(Uint8Array)[4 * MiB - 1];
  attempt("file create 16 MiB", () => MappedFile.open("/dev/shm/file", { create: true, size: 16 * MiB }));
  attempt("file create 2 ** 40", () => MappedFile.open("/dev/shm/file", { create: true, size: 2 ** 40 }));
  out.fileLeftBehind = existsSync("/dev/shm/file");
  writeFileSync("/dev/shm/short", new Uint8Array(100));
  attempt("file grow to 16 MiB", () => MappedFile.open("/dev/shm/short", { size: 16 * MiB, grow: true }));
  out.shortStill = statSync("/dev/shm/short").size;
  console.log(JSON.stringify(out));
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: more than /dev/shm holds is ENOSPC at create/resize/open, not SIGBUS later`, async () => {
    const result = await runInSmallShm(runtime, SMALL_TMPFS);
    assert.equal(result.code, 0, describeExit(result));
    const out = JSON.parse(result.stdout);
    const hugeCode = out["create 2 ** 40"];
    const hugeFileCode = out["file create 2 ** 40"];
    assert.ok(hugeCode === "ENOSPC" || hugeCode === "EFBIG", hugeCode);
    assert.ok(hugeFileCode === "ENOSPC" || hugeFileCode === "EFBIG", hugeFileCode);
    assert.deepEqual(out, {
      "create 16 MiB": "ENOSPC",
      "create 2 ** 40": hugeCode,
      "openOrCreate 16 MiB": "ENOSPC",
      leftBehind: [],
      "resize to 16 MiB": "ENOSPC",
      smallStill: [4 << 20, 4 << 20],
      "openOrCreate growing to 16 MiB": "ENOSPC",
      smallData: 2,
      "file create 16 MiB": "ENOSPC",
      "file create 2 ** 40": hugeFileCode,
      fileLeftBehind: false,
      "file grow to 16 MiB": "ENOSPC",
      shortStill: 100,
    });
  });
}

test("SharedMemory.create(name, 2 ** 40) fails with an ErrnoError and leaves no object", () => {
  const name = uniqueName("tera");
  try {
    assert.throws(() => SharedMemory.create(name, 2 ** 40), (error: unknown) => {
      assert.ok(error instanceof ErrnoError, String(error));
      assert.ok(["ENOSPC", "EFBIG"].includes(error.code), error.code);
      assert.equal(error.syscall, "posix_fallocate");
      return true;
    });
    assert.deepEqual(readdirSync("/dev/shm").filter((n) => `/${n}` === name), []);
  } finally {
    unlinkAll(name);
  }
});

// A FIFO opened O_RDONLY blocks in open(2) until a writer comes; MappedFile
// used to hang there for ever (and suggest grow: true without readOnly).
const NOT_REGULAR = `
  import process from "node:process";
  import { ErrnoError, MappedFile } from "$MOD";
  const [fifo, dir] = process.argv.slice(2);
  const out = {};
  const attempt = (label, path, options) => {
    try {
      MappedFile.open(path, options).close();
      out[label] = "accepted";
    } catch (error) {
      out[label] = error instanceof ErrnoError ? error.code + ": " + error.message : String(error);
    }
  };
  attempt("fifo readOnly", fifo, { readOnly: true });
  attempt("fifo", fifo);
  attempt("fifo grow", fifo, { size: 4096, grow: true });
  attempt("fifo private", fifo, { private: true });
  attempt("directory", dir, { readOnly: true });
  attempt("character device", "/dev/zero", { size: 4096 });
  console.log(JSON.stringify(out));
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: MappedFile refuses a FIFO, a directory or a device at once, without blocking`, async () => {
    const fifo = scratchPath("fifo");
    const dir = scratchPath("dir");
    try {
      const made = await runCommand("mkfifo", [fifo]);
      assert.equal(made.code, 0, made.stderr);
      await runCommand("mkdir", [dir]);
      const result = await runScript(runtime, NOT_REGULAR, {
        args: [fifo, dir],
        timeoutMs: 15_000,
      });
      assert.equal(result.code, 0, describeExit(result));
      const out = JSON.parse(result.stdout);
      const fifoError = `ENODEV: Cannot map "${fifo}": it is a FIFO, not a regular file`;
      for (const label of ["fifo readOnly", "fifo", "fifo grow", "fifo private"]) {
        assert.ok(out[label].startsWith(fifoError), `${label}: ${out[label]}`);
      }
      assert.match(out["directory"], /^EISDIR: Cannot map ".*": it is a directory, not a regular/);
      assert.match(out["character device"], /^ENODEV: .*it is a character device, not a regular/);
    } finally {
      rmSync(fifo, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Objects another program sized with ftruncate are sparse: their pages are
// allocated at the first touch, and in a full /dev/shm that touch raised
// SIGBUS. Opening one for writing now allocates its holes (ENOSPC if the
// space is not there). A named semaphore's file is checked the same way,
// and one shorter than a sem_t (glibc maps 32 bytes of it anyway) is refused.
const SPARSE = `
  import { execFileSync } from "node:child_process";
  import { CorruptedError, ErrnoError, MappedFile, NamedSemaphore, SharedMemory } from "$MOD";
  const MiB = 1 << 20;
  const out = {};
  const attempt = (label, open, write) => {
    try {
      const thing = open();
      write(thing); // the first touch: SIGBUS if nothing was reserved
      out[label] = "accepted";
    } catch (error) {
      out[label] = error instanceof ErrnoError ? error.code : error?.name ?? String(error);
    }
  };
  const fill = (region) => region.view(Uint8Array).fill(1);
  // Sparse objects of 8 MiB, as C's shm_open + ftruncate leave them, in a
  // file system with 1 MiB left.
  for (const name of ["a", "b", "c"]) execFileSync("truncate", ["-s", "8M", "/dev/shm/" + name]);
  execFileSync("truncate", ["-s", "32", "/dev/shm/sem.sparse"]);
  execFileSync("truncate", ["-s", "0", "/dev/shm/sem.empty"]);
  execFileSync("fallocate", ["-l", "7M", "/dev/shm/filler"]);
  attempt("open", () => SharedMemory.open("/a"), fill);
  attempt("openOrCreate", () => SharedMemory.openOrCreate("/b", 4096), fill);
  attempt("MappedFile", () => MappedFile.open("/dev/shm/c"), fill);
  execFileSync("fallocate", ["-l", "1M", "/dev/shm/filler2"]);
  attempt("sem sparse", () => NamedSemaphore.open("/sparse"), (s) => s.post());
  attempt("sem empty", () => NamedSemaphore.open("/empty"), (s) => s.post());
  console.log(JSON.stringify(out));
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: a sparse object or semaphore file in a full /dev/shm is ENOSPC at open, not SIGBUS`, async () => {
    const result = await runInSmallShm(runtime, SPARSE);
    assert.equal(result.code, 0, describeExit(result));
    assert.deepEqual(JSON.parse(result.stdout), {
      open: "ENOSPC",
      openOrCreate: "ENOSPC",
      MappedFile: "ENOSPC",
      "sem sparse": "ENOSPC",
      "sem empty": "CorruptedError",
    });
  });
}

// A System V segment another program made with SHM_HUGETLB | SHM_NORESERVE
// has no pages behind it when no huge pages are free: touching it raised
// SIGBUS. Attaching faults the pages in first (MADV_POPULATE), so it is an
// ErrnoError at attach. Found by the adversarial pass.
const HUGETLB_SEGMENT = `
#include <stdio.h>
#include <sys/shm.h>
int main(void) {
  int id = shmget(IPC_PRIVATE, 2 << 20, IPC_CREAT | SHM_HUGETLB | SHM_NORESERVE | 0600);
  if (id < 0) { perror("shmget"); return 2; }
  printf("%d\\n", id);
  return 0;
}
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: attaching a System V segment that cannot be backed is an error, not SIGBUS`, async () => {
    const exe = await compileC(HUGETLB_SEGMENT, "hugetlb-segment");
    const made = await runCommand(exe, []);
    if (made.code !== 0) {
      // No hugetlb support in this kernel at all: nothing to attach.
      assert.match(made.stderr, /shmget/);
      return;
    }
    const id = Number(made.stdout.trim());
    try {
      const result = await runScript(
        runtime,
        `
        import { ErrnoError, Flag, SysVSharedMemory } from "$MOD";
        try {
          using seg = SysVSharedMemory.attach(${id});
          Flag.init(seg, 0, 1); // the first touch
          console.log("backed");
        } catch (error) {
          console.log(error instanceof ErrnoError ? error.code : String(error));
        }
        `,
      );
      assert.equal(result.signal, null, `the child died of ${result.signal}`);
      assert.ok(["backed", "EFAULT", "ENOMEM"].includes(result.stdout.trim()), result.stdout);
    } finally {
      await runCommand("ipcrm", ["-m", String(id)]);
    }
  });
}
