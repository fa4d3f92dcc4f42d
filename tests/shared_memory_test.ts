import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { ClosedError, ErrnoError, SharedMemory } from "../mod.ts";
import {
  assertSucceeded,
  CURRENT,
  runCommand,
  runScript,
  RUNTIMES,
  uniqueName,
} from "./_helpers.ts";

function cleanup(name: string) {
  try {
    SharedMemory.unlink(name);
  } catch {
    // already gone
  }
}

test("SharedMemory.create() makes a zero-filled object of the size asked, mode 0o600", () => {
  const name = uniqueName("create");
  try {
    using shm = SharedMemory.create(name, 10_000);
    assert.equal(shm.name, name);
    assert.equal(shm.size, 10_000);
    assert.equal(shm.created, true);
    assert.equal(shm.readOnly, false);
    assert.equal(shm.buffer.byteLength, 10_000);
    assert.ok(shm.view(Uint8Array).every((b) => b === 0));
    const st = statSync(`/dev/shm${name}`);
    assert.equal(st.size, 10_000);
    assert.equal(st.mode & 0o777, 0o600);
  } finally {
    cleanup(name);
  }
});

test("SharedMemory.create() refuses an existing name with EEXIST", () => {
  const name = uniqueName("exists");
  try {
    using _first = SharedMemory.create(name, 4096);
    assert.throws(() => SharedMemory.create(name, 4096), (error: unknown) => {
      assert.ok(error instanceof ErrnoError);
      assert.equal(error.errno, 17);
      assert.equal(error.code, "EEXIST");
      assert.equal(error.syscall, "shm_open");
      assert.equal(error.path, name);
      assert.match(error.message, /Cannot create shared memory ".*": it already exists \(EEXIST/);
      return true;
    });
  } finally {
    cleanup(name);
  }
});

test("SharedMemory.create({ exclusive: false }) opens an existing object and never shrinks it", () => {
  const name = uniqueName("nonexcl");
  try {
    using big = SharedMemory.create(name, 8192);
    big.view(Uint8Array)[8000] = 9;
    using again = SharedMemory.create(name, 100, { exclusive: false });
    assert.equal(again.created, false);
    assert.equal(again.size, 8192);
    assert.equal(again.view(Uint8Array)[8000], 9);
  } finally {
    cleanup(name);
  }
});

test("SharedMemory.create() honours a wider mode when asked", () => {
  const name = uniqueName("mode");
  try {
    using _shm = SharedMemory.create(name, 4096, { mode: 0o640 });
    assert.equal(statSync(`/dev/shm${name}`).mode & 0o777, 0o640);
  } finally {
    cleanup(name);
  }
});

test("SharedMemory.open() reads the size back with fstat and sees the same bytes", () => {
  const name = uniqueName("open");
  try {
    using a = SharedMemory.create(name, 12_345);
    using b = SharedMemory.open(name);
    assert.equal(b.size, 12_345);
    assert.equal(b.created, false);
    a.view(Int32Array, 0, 4)[2] = 77;
    assert.equal(b.view(Int32Array, 0, 4)[2], 77);
  } finally {
    cleanup(name);
  }
});

test("SharedMemory.open() of a missing name fails with ENOENT", () => {
  assert.throws(() => SharedMemory.open(uniqueName("missing")), (error: unknown) => {
    assert.ok(error instanceof ErrnoError);
    assert.equal(error.code, "ENOENT");
    assert.equal(error.syscall, "shm_open");
    return true;
  });
});

test("SharedMemory.open({ readOnly }) sees writes; its own writes stay private", () => {
  const name = uniqueName("ro");
  try {
    using rw = SharedMemory.create(name, 4096);
    using ro = SharedMemory.open(name, { readOnly: true });
    assert.equal(ro.readOnly, true);
    rw.view(Uint8Array)[0] = 5;
    assert.equal(ro.view(Uint8Array)[0], 5);
    ro.view(Uint8Array)[1] = 6; // copy-on-write: no fault, not shared
    assert.equal(rw.view(Uint8Array)[1], 0);
    assert.throws(() => ro.resize(8192), ErrnoError);
  } finally {
    cleanup(name);
  }
});

test("SharedMemory.openOrCreate() tells exactly one of many racing processes it created", async () => {
  const name = uniqueName("race");
  try {
    const source = `
      import { SharedMemory } from "$MOD";
      using shm = SharedMemory.openOrCreate(${JSON.stringify(name)}, 4096);
      if (shm.created) shm.view(Int32Array)[0] = 1234;
      console.log(JSON.stringify({ created: shm.created, size: shm.size }));
    `;
    const results = await Promise.all(
      [...RUNTIMES, ...RUNTIMES, ...RUNTIMES].map((r) => runScript(r, source)),
    );
    results.forEach((r) => assertSucceeded(r));
    const seen = results.map((r) => JSON.parse(r.stdout));
    assert.equal(seen.filter((s) => s.created).length, 1);
    assert.ok(seen.every((s) => s.size === 4096));
    using shm = SharedMemory.open(name);
    assert.equal(shm.view(Int32Array)[0], 1234);
  } finally {
    cleanup(name);
  }
});

for (const writer of RUNTIMES) {
  for (const reader of RUNTIMES) {
    test(`a ${reader} process reads what a ${writer} process wrote`, async () => {
      const name = uniqueName(`x-${writer}-${reader}`);
      try {
        const wrote = await runScript(
          writer,
          `
          import { SharedMemory } from "$MOD";
          const shm = SharedMemory.create(${JSON.stringify(name)}, 1 << 20);
          const words = shm.view(Uint32Array);
          for (let i = 16; i < words.length; i++) words[i] = (i * 2654435761) >>> 0;
          new TextEncoder().encodeInto("written by ${writer}", shm.view(Uint8Array, 0, 64));
          shm.close();
        `,
        );
        assertSucceeded(wrote, "writer");
        const read = await runScript(
          reader,
          `
          import { SharedMemory } from "$MOD";
          using shm = SharedMemory.open(${JSON.stringify(name)});
          const words = shm.view(Uint32Array);
          let bad = 0;
          for (let i = 16; i < words.length; i++) if (words[i] !== ((i * 2654435761) >>> 0)) bad++;
          const text = new TextDecoder().decode(shm.view(Uint8Array, 0, 64)).replace(/\\0+$/, "");
          console.log(JSON.stringify({ size: shm.size, bad, text }));
        `,
        );
        assertSucceeded(read, "reader");
        assert.deepEqual(JSON.parse(read.stdout), {
          size: 1 << 20,
          bad: 0,
          text: `written by ${writer}`,
        });
      } finally {
        cleanup(name);
      }
    });
  }
}

test("SharedMemory.view() is bounded, aligned and typed", () => {
  const name = uniqueName("view");
  try {
    using shm = SharedMemory.create(name, 100);
    assert.equal(shm.view(Uint8Array).length, 100);
    assert.equal(shm.view(Int32Array).length, 25);
    assert.equal(shm.view(Float64Array).length, 12);
    assert.equal(shm.view(Int32Array, 96).length, 1);
    assert.equal(shm.view(BigInt64Array, 8, 2).length, 2);
    assert.equal(shm.view(Uint8Array, 100).length, 0);
    assert.throws(() => shm.view(Int32Array, 2), RangeError);
    assert.throws(() => shm.view(Int32Array, 0, 26), RangeError);
    assert.throws(() => shm.view(Uint8Array, 101), RangeError);
    assert.throws(() => shm.view(Uint8Array, -1), RangeError);
    assert.throws(() => shm.view(Uint8Array, 0, -1), RangeError);
    assert.throws(() => shm.view(Uint8Array, 1.5), RangeError);
    assert.throws(() => shm.view(Uint8Array, "0" as unknown as number), TypeError);
    assert.throws(() => shm.view(DataView as unknown as Uint8ArrayConstructor), TypeError);
    assert.throws(() => shm.view(Array as unknown as Uint8ArrayConstructor), TypeError);
  } finally {
    cleanup(name);
  }
});

test("SharedMemory refuses bad arguments with TypeError or RangeError before any system call", () => {
  const typeErrors: [string, () => unknown][] = [
    ["name number", () => SharedMemory.create(1 as unknown as string, 1)],
    ["name undefined", () => SharedMemory.open(undefined as unknown as string)],
    ["size string", () => SharedMemory.create("/x", "10" as unknown as number)],
    ["size bigint", () => SharedMemory.create("/x", 10n as unknown as number)],
    ["options null", () => SharedMemory.create("/x", 1, null as unknown as undefined)],
    ["options string", () => SharedMemory.open("/x", "r" as unknown as undefined)],
    ["mode string", () => SharedMemory.create("/x", 1, { mode: "600" as unknown as number })],
    [
      "exclusive number",
      () => SharedMemory.create("/x", 1, { exclusive: 1 as unknown as boolean }),
    ],
    ["readOnly string", () => SharedMemory.open("/x", { readOnly: "y" as unknown as boolean })],
  ];
  for (const [label, call] of typeErrors) assert.throws(call, TypeError, label);
  const rangeErrors: [string, () => unknown][] = [
    ["no slash", () => SharedMemory.create("jobs", 1)],
    ["only slash", () => SharedMemory.create("/", 1)],
    ["inner slash", () => SharedMemory.create("/a/b", 1)],
    ["dot", () => SharedMemory.open("/.")],
    ["dotdot", () => SharedMemory.open("/..")],
    ["NUL", () => SharedMemory.create("/a\0b", 1)],
    ["too long", () => SharedMemory.create("/" + "x".repeat(254), 1)],
    ["size 0", () => SharedMemory.create("/x", 0)],
    ["size negative", () => SharedMemory.create("/x", -4096)],
    ["size fraction", () => SharedMemory.create("/x", 1.5)],
    ["size NaN", () => SharedMemory.create("/x", NaN)],
    ["size Infinity", () => SharedMemory.create("/x", Infinity)],
    ["size unsafe", () => SharedMemory.create("/x", 2 ** 53)],
    ["mode too wide", () => SharedMemory.create("/x", 1, { mode: 0o1777 })],
    ["mode negative", () => SharedMemory.create("/x", 1, { mode: -1 })],
    ["openOrCreate size", () => SharedMemory.openOrCreate("/x", 0)],
    ["unlink name", () => SharedMemory.unlink("x")],
  ];
  for (const [label, call] of rangeErrors) assert.throws(call, RangeError, label);
  // A name at the limit is accepted by validation (and by glibc).
  const longest = "/" + "l".repeat(253);
  try {
    SharedMemory.create(longest, 1).close();
  } finally {
    cleanup(longest);
  }
  assert.deepEqual(readdirSync("/dev/shm").filter((n) => n === "x" || n === "jobs"), []);
});

test("SharedMemory.resize() grows the object, maps less without shrinking it, detaches old views", () => {
  const name = uniqueName("resize");
  try {
    using shm = SharedMemory.create(name, 4096);
    const old = shm.view(Uint8Array);
    const oldBuffer = shm.buffer;
    old[10] = 42;
    shm.resize(1 << 20);
    assert.equal(old.length, 0);
    assert.equal(oldBuffer.byteLength, 0);
    assert.equal(shm.size, 1 << 20);
    assert.equal(shm.view(Uint8Array)[10], 42);
    assert.equal(shm.view(Uint8Array).length, 1 << 20);
    using other = SharedMemory.open(name);
    assert.equal(other.size, 1 << 20);
    shm.resize(100);
    assert.equal(shm.view(Uint8Array).length, 100);
    assert.equal(statSync(`/dev/shm${name}`).size, 1 << 20, "resize() never shrinks the object");
    assert.throws(() => shm.resize(0), RangeError);
  } finally {
    cleanup(name);
  }
});

test("SharedMemory.close() is idempotent, detaches views, and later use throws ClosedError", () => {
  const name = uniqueName("close");
  try {
    const shm = SharedMemory.create(name, 4096);
    const bytes = shm.view(Uint8Array);
    const buffer = shm.buffer;
    bytes[0] = 1;
    shm.close();
    shm.close();
    shm[Symbol.dispose]();
    assert.equal(shm.closed, true);
    assert.equal(bytes.length, 0);
    assert.equal(bytes[0], undefined);
    assert.equal(buffer.byteLength, 0);
    assert.throws(() => shm.buffer, ClosedError);
    assert.throws(() => shm.view(Uint8Array), ClosedError);
    assert.throws(() => shm.unsafePointer(), ClosedError);
    assert.throws(() => shm.resize(8192), ClosedError);
    shm.unlink();
    assert.equal(existsSync(`/dev/shm${name}`), false);
  } finally {
    cleanup(name);
  }
});

test("SharedMemory.unlink() removes the name while mappings stay valid", () => {
  const name = uniqueName("unlink");
  using shm = SharedMemory.create(name, 4096);
  shm.view(Uint8Array)[0] = 3;
  shm.unlink();
  assert.equal(existsSync(`/dev/shm${name}`), false);
  assert.equal(shm.view(Uint8Array)[0], 3);
  assert.throws(
    () => SharedMemory.unlink(name),
    (e: unknown) => (e as ErrnoError).code === "ENOENT",
  );
});

for (const runtime of RUNTIMES) {
  test(`a ${runtime} process that touches views after close() exits 0 instead of faulting`, async () => {
    const name = uniqueName(`stale-${runtime}`);
    const result = await runScript(
      runtime,
      `
      import { SharedMemory } from "$MOD";
      const shm = SharedMemory.create(${JSON.stringify(name)}, 1 << 16);
      shm.unlink();
      const ints = shm.view(Int32Array);
      const bytes = new Uint8Array(shm.buffer);
      const dv = new DataView(shm.buffer);
      ints[0] = 1;
      shm.close();
      // Every one of these would touch unmapped memory if the views were not detached.
      ints[0] = 2;
      let fillThrew = false;
      try { bytes.fill(7); } catch { fillThrew = true; }
      const read = [ints[0], bytes[100], ints.length, bytes.length];
      let dataViewThrew = false;
      try { dv.getInt32(0); } catch { dataViewThrew = true; }
      let atomicsThrew = false;
      try { Atomics.add(ints, 0, 1); } catch { atomicsThrew = true; }
      console.log(JSON.stringify({ read, fillThrew, dataViewThrew, atomicsThrew }));
    `,
    );
    assert.equal(result.signal, null, `child died by ${result.signal}: ${result.stderr}`);
    assertSucceeded(result);
    const out = JSON.parse(result.stdout);
    assert.deepEqual(out.read, [null, null, 0, 0]); // JSON writes undefined as null
    assert.equal(out.fillThrew, true);
    assert.equal(out.dataViewThrew, true);
    assert.equal(out.atomicsThrew, true);
  });
}

function countFds(): number {
  return readdirSync("/proc/self/fd").length;
}

function mappingLines(): string[] {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.length > 0);
}

test("1,000 create/close cycles leave descriptors and mappings where they started", () => {
  const prefix = uniqueName("cycle");
  const cycle = (i: number) => {
    const name = `${prefix}-${i}`;
    const shm = SharedMemory.create(name, 65536);
    shm.view(Uint8Array)[i % 65536] = 1;
    shm.unlink();
    shm.close();
  };
  for (let i = 0; i < 50; i++) cycle(i); // warm up the runtime's own allocations
  const fds = countFds();
  const maps = mappingLines().length;
  for (let i = 0; i < 1000; i++) cycle(i);
  assert.equal(countFds(), fds, `descriptors leaked: ${fds} before, ${countFds()} after`);
  const ours = mappingLines().filter((l) => l.includes("shmkit-test-cycle"));
  assert.deepEqual(ours, [], "mappings of our objects remain");
  // The runtime itself maps and unmaps heap pages meanwhile (its GC may
  // release hundreds), so only growth counts: 1,000 leaked mappings would
  // stand out against this bound.
  const growth = mappingLines().length - maps;
  assert.ok(growth < 100, `the mapping count grew by ${growth}`);
});

test(`the backend in this ${CURRENT} process is the one its runtime provides`, async () => {
  const { backend } = await import("../ffi/internal.ts");
  assert.equal(backend.runtime, CURRENT);
  assert.equal(backend.libcAsync === null, CURRENT === "bun");
  assert.match(backend.libraryPath, /libc/);
});

for (const runtime of RUNTIMES) {
  test(`in ${runtime}, objects dropped without close() are unmapped and closed once unreachable`, async () => {
    const prefix = uniqueName(`gc-${runtime}`);
    const result = await runScript(
      runtime,
      `
      import { SharedMemory } from "$MOD";
      import { readdirSync, readFileSync } from "node:fs";
      const ours = () =>
        readFileSync("/proc/self/maps", "utf8").split("\\n")
          .filter((l) => l.includes(${JSON.stringify(prefix.slice(1))})).length;
      const fds = () => readdirSync("/proc/self/fd").length;
      const fdsBefore = fds();
      (() => {
        for (let i = 0; i < 50; i++) {
          const shm = SharedMemory.create(${JSON.stringify(prefix)} + "-" + i, 4096);
          shm.view(Uint8Array)[0] = 1;
          shm.unlink();
        }
      })();
      const mappedBefore = ours();
      const gc = "Bun" in globalThis ? () => Bun.gc(true) : globalThis.gc;
      for (let i = 0; i < 50 && ours() > 0; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      console.log(JSON.stringify({ mappedBefore, mappedAfter: ours(), fdDelta: fds() - fdsBefore }));
    `,
      { env: { DENO_V8_FLAGS: "--expose-gc" }, denoFlags: ["--allow-all"] },
    );
    assertSucceeded(result);
    assert.deepEqual(JSON.parse(result.stdout), { mappedBefore: 50, mappedAfter: 0, fdDelta: 0 });
  });
}

test("a size too large to map or to view fails cleanly, leaving nothing mapped or named", () => {
  const maps = () => readFileSync("/proc/self/maps", "utf8");
  // create() reserves the memory, so these must fail (ENOSPC) unless /dev/shm
  // really holds a terabyte.
  for (const size of [2 ** 40, 2 ** 52]) {
    const name = uniqueName("huge");
    try {
      using shm = SharedMemory.create(name, size);
      const bytes = shm.view(Uint8Array);
      bytes[0] = 1;
      bytes[size - 1] = 2;
      assert.equal(shm.size, size);
      shm.unlink();
    } catch (error) {
      // posix_fallocate's ENOSPC or EFBIG, mmap's ENOMEM, or the runtime's
      // ArrayBuffer limit (Bun stops at 4 GiB).
      assert.ok(error instanceof ErrnoError || error instanceof RangeError, String(error));
      assert.equal(existsSync(`/dev/shm${name}`), false, "the object was left behind");
      assert.equal(maps().includes(name), false, "the mapping was left behind");
    } finally {
      cleanup(name);
    }
  }
});

test("a Python program shares a POSIX object with this process", async () => {
  const name = uniqueName("python");
  try {
    using shm = SharedMemory.create(name, 4096);
    new TextEncoder().encodeInto("from TypeScript", shm.view(Uint8Array));
    const python = `
import mmap, os, sys
fd = os.open("/dev/shm" + sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0)
print(m[:15].decode(), len(m))
m[100:111] = b"from Python"
m.close(); os.close(fd)
`;
    const r = await runCommand("python3", ["-c", python, name]);
    assertSucceeded(r, "python3");
    assert.equal(r.stdout.trim(), "from TypeScript 4096");
    assert.equal(new TextDecoder().decode(shm.view(Uint8Array, 100, 11)), "from Python");
  } finally {
    cleanup(name);
  }
});
