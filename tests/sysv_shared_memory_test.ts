import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { ClosedError, ErrnoError, ftok, IPC_PRIVATE, SysVSharedMemory } from "../mod.ts";
import {
  assertSucceeded,
  compileC,
  ipcObjects,
  newObjects,
  runCommand,
  runScript,
  RUNTIMES,
  scratchPath,
} from "./_helpers.ts";

let keyCounter = 0;
/** A key unlikely to collide with anything else on the machine. */
function uniqueKey(): number {
  keyCounter += 1;
  return (0x5e000000 | ((process.pid & 0xffff) << 8) | keyCounter) | 0;
}

function removeKey(key: number) {
  try {
    using seg = SysVSharedMemory.open(key);
    seg.remove();
  } catch {
    // already gone
  }
}

test("SysVSharedMemory.create() makes a segment that ipcs lists, mode 0o600", () => {
  const key = uniqueKey();
  try {
    using seg = SysVSharedMemory.create(key, 2052);
    assert.equal(seg.key, key);
    assert.equal(seg.size, 2052);
    assert.equal(seg.created, true);
    const listed = readFileSync("/proc/sysvipc/shm", "utf8").split("\n").slice(1)
      .map((l) => l.trim().split(/\s+/)).filter((f) => Number(f[1]) === seg.id);
    assert.equal(listed.length, 1);
    assert.equal(Number(listed[0][0]), key);
    assert.equal(listed[0][2], "600"); // the kernel prints perms in octal
    const st = seg.stat();
    assert.equal(st.size, 2052);
    assert.equal(st.attachCount, 1);
    assert.equal(st.creatorPid, process.pid);
    assert.equal(st.mode, 0o600);
    assert.ok(st.attachTime instanceof Date);
    assert.equal(st.key, key);
  } finally {
    removeKey(key);
  }
});

test("SysVSharedMemory.create() refuses a taken key with EEXIST; exclusive: false opens it", () => {
  const key = uniqueKey();
  try {
    using a = SysVSharedMemory.create(key, 4096);
    assert.throws(() => SysVSharedMemory.create(key, 4096), (e: unknown) => {
      assert.ok(e instanceof ErrnoError);
      assert.equal(e.code, "EEXIST");
      assert.equal(e.syscall, "shmget");
      return true;
    });
    using b = SysVSharedMemory.create(key, 4096, { exclusive: false });
    assert.equal(b.id, a.id);
    assert.equal(b.created, false);
    const fresh = uniqueKey();
    try {
      using c = SysVSharedMemory.create(fresh, 4096, { exclusive: false });
      assert.equal(c.created, true);
    } finally {
      removeKey(fresh);
    }
  } finally {
    removeKey(key);
  }
});

test("SysVSharedMemory.openOrCreate() creates once, then attaches; a smaller segment stays EINVAL", () => {
  const key = uniqueKey();
  try {
    using a = SysVSharedMemory.openOrCreate(key, 8192, { mode: 0o640 });
    assert.deepEqual([a.created, a.size, a.stat().mode], [true, 8192, 0o640]);
    using b = SysVSharedMemory.openOrCreate(key, 4096);
    assert.deepEqual([b.created, b.id, b.size], [false, a.id, 8192], "attached whole");
    using c = SysVSharedMemory.create(key, 8192, { exclusive: false });
    assert.deepEqual([c.created, c.id], [false, a.id]);
    // System V segments cannot grow: asking for more than exists is EINVAL, as before.
    assert.throws(() => SysVSharedMemory.openOrCreate(key, 16384), (e: unknown) => {
      assert.ok(e instanceof ErrnoError);
      assert.deepEqual([e.code, e.syscall], ["EINVAL", "shmget"]);
      return true;
    });
    assert.throws(() => SysVSharedMemory.openOrCreate(key, 0), RangeError);
    assert.throws(() => SysVSharedMemory.openOrCreate(key, 4096, { mode: 0o10000 }), RangeError);
    assert.throws(() => SysVSharedMemory.openOrCreate("1" as unknown as number, 4096), TypeError);
  } finally {
    removeKey(key);
  }
});

test("SysVSharedMemory.open() attaches by key, stat() counts attachments, detach() drops them", () => {
  const key = uniqueKey();
  try {
    using a = SysVSharedMemory.create(key, 8192);
    const b = SysVSharedMemory.open(key);
    assert.equal(b.size, 8192);
    assert.equal(b.created, false);
    a.view(Int32Array)[5] = 99;
    assert.equal(b.view(Int32Array)[5], 99);
    assert.equal(a.stat().attachCount, 2);
    const bytes = b.view(Uint8Array);
    b.detach();
    b.detach();
    assert.equal(bytes.length, 0);
    assert.equal(a.stat().attachCount, 1);
    assert.throws(() => b.view(Uint8Array), ClosedError);
    assert.ok(b.stat().detachTime instanceof Date);
  } finally {
    removeKey(key);
  }
});

test("SysVSharedMemory.open() of a missing key fails with ENOENT", () => {
  assert.throws(() => SysVSharedMemory.open(uniqueKey()), (e: unknown) => {
    assert.ok(e instanceof ErrnoError);
    assert.equal(e.code, "ENOENT");
    return true;
  });
});

test("an IPC_PRIVATE segment is reachable by id from another process", async () => {
  const seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
  try {
    assert.equal(seg.key, IPC_PRIVATE);
    seg.view(Uint32Array)[0] = 0xfeedbeef;
    for (const runtime of RUNTIMES) {
      const r = await runScript(
        runtime,
        `
        import { SysVSharedMemory } from "$MOD";
        using seg = SysVSharedMemory.attach(${seg.id});
        console.log(seg.view(Uint32Array)[0].toString(16));
      `,
      );
      assertSucceeded(r);
      assert.equal(r.stdout.trim(), "feedbeef");
    }
  } finally {
    seg.remove();
    seg.detach();
  }
});

test("remove() frees the key at once; the attachment stays usable until detach", () => {
  const key = uniqueKey();
  const seg = SysVSharedMemory.create(key, 4096);
  seg.remove();
  seg.view(Uint8Array)[0] = 1;
  assert.equal(seg.view(Uint8Array)[0], 1);
  assert.throws(
    () => SysVSharedMemory.open(key),
    (e: unknown) => (e as ErrnoError).code === "ENOENT",
  );
  seg.detach();
  assert.throws(() => seg.remove(), ErrnoError);
});

test("a System V segment is shared with a C program, both ways", async () => {
  const exe = await compileC(
    `
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/shm.h>
    struct shared_use_st { int written_by_you; char some_text[2048]; };
    int main(int argc, char **argv) {
      key_t key = (key_t)strtol(argv[1], NULL, 0);
      int id = shmget(key, sizeof(struct shared_use_st), 0600);
      if (id < 0) { perror("shmget"); return 2; }
      struct shared_use_st *s = shmat(id, NULL, 0);
      if (s == (void *)-1) { perror("shmat"); return 3; }
      printf("%d %s\\n", s->written_by_you, s->some_text);
      strcpy(s->some_text, "hello from C");
      s->written_by_you = 2;
      shmdt(s);
      return 0;
    }
  `,
    "sysv_peer",
  );
  const key = uniqueKey();
  try {
    using seg = SysVSharedMemory.create(key, 2052);
    seg.view(Int32Array, 0, 1)[0] = 1;
    new TextEncoder().encodeInto("hello from TS", seg.view(Uint8Array, 4, 2048));
    const r = await runCommand(exe, [String(key)]);
    assertSucceeded(r, "C peer");
    assert.equal(r.stdout.trim(), "1 hello from TS");
    assert.equal(seg.view(Int32Array, 0, 1)[0], 2);
    const text = new TextDecoder().decode(seg.view(Uint8Array, 4, 12));
    assert.equal(text, "hello from C");
  } finally {
    removeKey(key);
  }
});

for (const writer of RUNTIMES) {
  const reader = writer === "deno" ? "bun" : "deno";
  test(`a ${reader} process reads a System V segment a ${writer} process wrote`, async () => {
    const key = uniqueKey();
    try {
      const w = await runScript(
        writer,
        `
        import { SysVSharedMemory } from "$MOD";
        const seg = SysVSharedMemory.create(${key}, 65536);
        seg.view(Float64Array).fill(Math.PI);
        seg.detach();
      `,
      );
      assertSucceeded(w, "writer");
      const r = await runScript(
        reader,
        `
        import { SysVSharedMemory } from "$MOD";
        using seg = SysVSharedMemory.open(${key}, { readOnly: true });
        console.log(seg.view(Float64Array).every((x) => x === Math.PI), seg.size);
      `,
      );
      assertSucceeded(r, "reader");
      assert.equal(r.stdout.trim(), "true 65536");
    } finally {
      removeKey(key);
    }
  });
}

test("ftok() gives the C library's key and fails with ENOENT for a missing path", async () => {
  const exe = await compileC(
    `#include <stdio.h>
     #include <sys/ipc.h>
     int main(int c, char **v) { printf("%d\\n", ftok(v[1], 'A')); return 0; }`,
    "ftok",
  );
  const path = scratchPath("ftok");
  writeFileSync(path, "key file");
  const r = await runCommand(exe, [path]);
  assert.equal(ftok(path, 65), Number(r.stdout.trim()));
  assert.throws(() => ftok(path + "-missing", 65), (e: unknown) => {
    assert.ok(e instanceof ErrnoError);
    assert.equal(e.code, "ENOENT");
    assert.equal(e.syscall, "ftok");
    return true;
  });
});

test("SysVSharedMemory refuses bad arguments before any system call", () => {
  const before = ipcObjects();
  const types: [string, () => unknown][] = [
    ["key string", () => SysVSharedMemory.create("1234" as unknown as number, 10)],
    ["size string", () => SysVSharedMemory.create(1234, "10" as unknown as number)],
    ["mode string", () => SysVSharedMemory.create(1, 1, { mode: "0600" as unknown as number })],
    ["readOnly number", () => SysVSharedMemory.open(1, { readOnly: 1 as unknown as boolean })],
    ["ftok path", () => ftok(1 as unknown as string, 1)],
    ["attach id", () => SysVSharedMemory.attach("3" as unknown as number)],
  ];
  for (const [label, call] of types) assert.throws(call, TypeError, label);
  const ranges: [string, () => unknown][] = [
    ["key fraction", () => SysVSharedMemory.create(1.5, 10)],
    ["key too big", () => SysVSharedMemory.create(2 ** 32, 10)],
    ["size 0", () => SysVSharedMemory.create(1234, 0)],
    ["size negative", () => SysVSharedMemory.create(1234, -1)],
    ["mode wide", () => SysVSharedMemory.create(1234, 1, { mode: 0o7777 })],
    ["open private", () => SysVSharedMemory.open(IPC_PRIVATE)],
    ["attach negative", () => SysVSharedMemory.attach(-1)],
    ["ftok proj 0", () => ftok("/tmp", 0)],
    ["ftok proj 256", () => ftok("/tmp", 256)],
    ["ftok empty path", () => ftok("", 1)],
  ];
  for (const [label, call] of ranges) assert.throws(call, RangeError, label);
  assert.deepEqual(newObjects(before), [], "a refused call made a segment");
});
