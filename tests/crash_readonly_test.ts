/**
 * Issue 8, case 7: writes through a read-only System V attachment
 * (SHM_RDONLY) must throw TypeError instead of killing the process with
 * SIGSEGV, while reads keep working. Every attacher runs in a child process,
 * so a fault shows as a failed assertion naming the signal.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import {
  Flag,
  IPC_PRIVATE,
  MappedFile,
  Mutex,
  Semaphore,
  SharedMemory,
  SysVSharedMemory,
} from "../mod.ts";
import {
  type ProcessResult,
  runScript,
  type Runtime,
  RUNTIMES,
  scratchPath,
  uniqueName,
} from "./_helpers.ts";
import { AT, EXPECTED_JSON, makeLayouts, VALUES } from "./_crash_readonly_layouts.ts";

const LAYOUTS_URL = new URL("./_crash_readonly_layouts.ts", import.meta.url).href;
const CODEGEN_URL = new URL("../layout/_codegen.ts", import.meta.url).href;

/** A segment holding everything the children attach to, removed afterwards. */
async function withSegment(
  body: (seg: SysVSharedMemory, layouts: ReturnType<typeof makeLayouts>) => Promise<void>,
): Promise<void> {
  const seg = SysVSharedMemory.create(IPC_PRIVATE, AT.size);
  try {
    const layouts = makeLayouts();
    const { Rec, Guarded, Scores } = layouts;
    assert.ok(Rec.headerByteLength + Rec.byteLength <= AT.list);
    assert.ok(AT.list + 2 * Rec.byteLength <= AT.guarded);
    Rec.init(seg, AT.rec, { header: true, values: VALUES });
    Rec.array(seg, AT.list, 2).set(0, VALUES);
    Rec.array(seg, AT.list, 2).set(1, VALUES);
    Guarded.init(seg, AT.guarded, { values: { jobs: 2, n: 5 } });
    Scores.init(seg, AT.scores, { values: [1, 2, 3, 4] });
    Mutex.init(seg, AT.mutex);
    Semaphore.init(seg, AT.semaphore, 3);
    Flag.init(seg, AT.flag, 7);
    await body(seg, layouts);
  } finally {
    seg.remove();
    seg.detach();
  }
}

/**
 * Runs `body` in a `runtime` child that attaches `id` read-only. The body
 * fills `out` (label to outcome); the child prints it as JSON.
 */
function attacher(runtime: Runtime, id: number, body: string): Promise<ProcessResult> {
  return runScript(
    runtime,
    `
    import * as m from "$MOD";
    import { AT, EXPECTED_JSON, makeLayouts, VALUES } from "${LAYOUTS_URL}";
    import { _setCodegen } from "${CODEGEN_URL}";
    const out: Record<string, unknown> = {};
    // What a call did: "ok", or the name and message of what it threw.
    function outcome(call: () => unknown): string {
      try {
        call();
        return "ok";
      } catch (error) {
        return \`\${(error as Error).name}: \${(error as Error).message}\`;
      }
    }
    using ro = m.SysVSharedMemory.attach(${id}, { readOnly: true });
    ${body}
    console.log(JSON.stringify(out));
  `,
  );
}

/** The child's results; fails naming the signal if it died of one. */
function results(r: ProcessResult): Record<string, unknown> {
  assert.equal(
    r.signal,
    null,
    `the attacher died of ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
  );
  assert.equal(r.code, 0, `the attacher failed\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

/** Asserts that every outcome whose label starts with `prefix` is a read-only TypeError. */
function assertRefused(out: Record<string, unknown>, prefix: string, count: number): void {
  const refused = Object.entries(out).filter(([label]) => label.startsWith(prefix));
  assert.equal(refused.length, count, `${prefix} outcomes: ${JSON.stringify(out)}`);
  for (const [label, outcome] of refused) {
    assert.match(String(outcome), /^TypeError: .*read-only \(SHM_RDONLY\)/, label);
  }
}

for (const runtime of RUNTIMES) {
  test(`Layout.init() on a read-only System V attachment throws TypeError, writes nothing (${runtime})`, async () => {
    await withSegment(async (seg, { Rec, Scores }) => {
      const r = await attacher(
        runtime,
        seg.id,
        `
        const { Rec, Guarded, Scores } = makeLayouts();
        out["refused Rec with header"] = outcome(() => Rec.init(ro, AT.rec, { header: true, values: VALUES }));
        out["refused Rec"] = outcome(() => Rec.init(ro, AT.list));
        out["refused Guarded"] = outcome(() => Guarded.init(ro, AT.guarded));
        out["refused Scores"] = outcome(() => Scores.init(ro, AT.scores, { values: [0] }));
        out.after = JSON.stringify(Rec.attach(ro, AT.rec, { header: true }));
      `,
      );
      const out = results(r);
      assertRefused(out, "refused", 4);
      assert.equal(
        out["refused Rec"],
        "TypeError: Cannot initialize Rec: the region is read-only (SHM_RDONLY)",
      );
      assert.equal(out.after, EXPECTED_JSON);
      assert.equal(JSON.stringify(Rec.attach(seg, AT.rec, { header: true })), EXPECTED_JSON);
      assert.deepEqual([...Scores.at(seg, AT.scores)], [1, 2, 3, 4]);
    });
  });

  test(`every setter of a read-only System V attachment throws TypeError, writes nothing (${runtime})`, async () => {
    await withSegment(async (seg, { Rec }) => {
      const r = await attacher(
        runtime,
        seg.id,
        `
        // Records and array views are built from generated source, then from closures.
        for (const codegen of [true, false]) {
          _setCodegen(codegen);
          const { Rec, Scores } = makeLayouts();
          const tag = codegen ? "generated" : "closures";
          const rec = Rec.attach(ro, AT.rec, { header: true });
          const list = Rec.array(ro, AT.list, 2);
          const scores = Scores.at(ro, AT.scores);
          const setters: Record<string, () => unknown> = {
            "number": () => (rec.age = 31),
            "u8": () => (rec.small = 1),
            "f64": () => (rec.ratio = 1.5),
            "i64 bigint": () => (rec.big = 1n),
            "u64 from a number": () => (rec.huge = 1),
            "char": () => (rec.name = "Bo"),
            "bytes": () => (rec.id = [4, 3, 2, 1]),
            "nested struct": () => (rec.pos = { x: 1 }),
            "nested field": () => (rec.pos.x = 1),
            "whole array": () => (rec.scores = [1]),
            "array index": () => (rec.scores[0] = 1),
            "array set": () => rec.scores.set(1, 1),
            "i64 array set": () => rec.stamps.set(0, 1n),
            "char array index": () => (rec.names[0] = "z"),
            "char array set": () => rec.names.set(1, "z"),
            "struct array set": () => rec.path.set(0, { x: 9 }),
            "struct array element field": () => (rec.path[1].y = 9),
            "bytes array set": () => rec.blobs.set(0, [1, 1]),
            "record array set": () => list.set(0, VALUES),
            "record array element field": () => (list[1].age = 1),
            "record array get field": () => (list.get(0).pos.y = 1),
            "placed array index": () => (scores[0] = 9),
            "placed array set": () => scores.set(3, 9),
            "typed array view": () => scores.asTypedArray(),
          };
          for (const [label, set] of Object.entries(setters)) {
            out[\`refused \${label} (\${tag})\`] = outcome(set);
          }
          // A bytes field reads as a copy here: writing into it cannot reach the region.
          rec.id[0] = 99;
          rec.blobs.get(0)[0] = 99;
          out[\`after (\${tag})\`] = JSON.stringify(rec) + JSON.stringify(list) + [...scores];
        }
      `,
      );
      const out = results(r);
      assertRefused(out, "refused", 48);
      assert.equal(
        out["refused number (generated)"],
        'TypeError: Cannot write field "age" of Rec: the region is read-only (SHM_RDONLY)',
      );
      assert.equal(
        out["refused array set (closures)"],
        "TypeError: Cannot write element 1 of i32[3]: the region is read-only (SHM_RDONLY)",
      );
      const unchanged = EXPECTED_JSON + `[${EXPECTED_JSON},${EXPECTED_JSON}]` + "1,2,3,4";
      assert.equal(out["after (generated)"], unchanged);
      assert.equal(out["after (closures)"], unchanged);
      assert.equal(JSON.stringify(Rec.attach(seg, AT.rec, { header: true })), EXPECTED_JSON);
    });
  });

  test(`reads through a read-only System V attachment see the creator's writes (${runtime})`, async () => {
    await withSegment(async (seg, { Rec }) => {
      const rec = Rec.attach(seg, AT.rec, { header: true });
      const attaching = attacher(
        runtime,
        seg.id,
        `
        const { Rec, Scores } = makeLayouts();
        const rec = Rec.attach(ro, AT.rec, { header: true });
        const list = Rec.array(ro, AT.list, 2);
        out.json = JSON.stringify(list[1]);
        out.plain = String(m.toObject(list[1]).huge);
        // list[1] stays as the creator wrote it; rec.age changes while this runs.
        const item = list[1];
        out.fields = [rec.name, item.age, item.small, item.ratio, String(item.big), String(item.huge)].join();
        out.views = [[...item.id], item.pos.y, [...item.scores], item.names[1], item.path[1].x, [...item.blobs.get(1)]].join(";");
        out.loops = [list.get(1).scores.get(2), [...Scores.at(ro, AT.scores)]].join(";");
        out.shown = (await import("node:util")).inspect(list);
        // The creator raises the flag slot after changing the age.
        await rec.ready.waitForAsync(1, { timeout: 20000 });
        out.live = rec.age;
      `,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      rec.age = 31;
      rec.ready.set(1);
      const out = results(await attaching);
      assert.equal(out.json, EXPECTED_JSON);
      assert.equal(out.plain, String(2n ** 63n));
      assert.equal(out.fields, `Ann,30,200,0.5,-5,${2n ** 63n}`);
      assert.equal(out.views, "1,2,3,4;4;7,8,9;cd;5;7,6");
      assert.equal(out.loops, "9;1,2,3,4");
      assert.match(String(out.shown), /^RecordArray\(2\) \[/);
      assert.equal(out.live, 31);
    });
  });

  test(`sync primitives on a read-only System V attachment refuse every write with TypeError (${runtime})`, async () => {
    await withSegment(async (seg) => {
      const r = await attacher(
        runtime,
        seg.id,
        `
        const { Guarded } = makeLayouts();
        // Every use of a mutex or a semaphore writes: they refuse the region at once.
        out["refused Mutex.init"] = outcome(() => m.Mutex.init(ro, AT.mutex));
        out["refused Mutex.attach"] = outcome(() => m.Mutex.attach(ro, AT.mutex));
        out["refused Semaphore.init"] = outcome(() => m.Semaphore.init(ro, AT.semaphore, 1));
        out["refused Semaphore.attach"] = outcome(() => m.Semaphore.attach(ro, AT.semaphore));
        out["refused mutex slot"] = outcome(() => Guarded.at(ro, AT.guarded).lock);
        out["refused semaphore slot"] = outcome(() => Guarded.at(ro, AT.guarded).jobs);
        // A flag can be read and waited on; only writing it is refused.
        out["refused Flag.init"] = outcome(() => m.Flag.init(ro, AT.flag, 1));
        const flag = m.Flag.attach(ro, AT.flag);
        out["refused Flag.set"] = outcome(() => flag.set(8));
        out.value = flag.value;
        out.waits = [flag.waitFor(7, 0), flag.waitFor(8, 30)].join();
        await flag.waitForAsync(7, { timeout: 5000 });
        out.guardedN = Guarded.at(ro, AT.guarded).n;
      `,
      );
      const out = results(r);
      assertRefused(out, "refused", 8);
      assert.equal(
        out["refused Flag.set"],
        "TypeError: Cannot set the flag at byte 3392: the region is read-only (SHM_RDONLY)",
      );
      assert.equal(out.value, 7);
      assert.equal(out.waits, "true,false");
      assert.equal(out.guardedN, 5);
      assert.equal(Flag.attach(seg, AT.flag).value, 7);
      assert.equal(Semaphore.attach(seg, AT.semaphore).value, 3);
    });
  });
}

test("regions say what a write does: read-write, copy-on-write (kept private) or read-only", () => {
  const name = uniqueName("access");
  const path = scratchPath("access", ".dat");
  writeFileSync(path, new Uint8Array(4096));
  try {
    using shm = SharedMemory.create(name, 4096);
    using copy = SharedMemory.open(name, { readOnly: true });
    using file = MappedFile.open(path);
    using privateFile = MappedFile.open(path, { private: true });
    using readOnlyFile = MappedFile.open(path, { readOnly: true });
    using seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
    using reader = SysVSharedMemory.attach(seg.id, { readOnly: true });
    seg.remove();
    const access = [shm, copy, file, privateFile, readOnlyFile, seg, reader].map((r) => r.access);
    assert.deepEqual(access, [
      "read-write",
      "copy-on-write",
      "read-write",
      "copy-on-write",
      "copy-on-write",
      "read-write",
      "read-only",
    ]);
    // A copy-on-write region keeps today's behaviour: layouts write privately,
    // sync primitives refuse it since their writes would not be shared.
    const { Point } = makeLayouts();
    Point.at(copy, 0).x = 5;
    assert.equal(Point.at(copy, 0).x, 5);
    assert.equal(Point.at(shm, 0).x, 0);
    assert.throws(() => Flag.attach(copy, 64), /copy-on-write/);
    assert.throws(() => Mutex.attach(privateFile, 64), TypeError);
  } finally {
    SharedMemory.unlink(name);
    rmSync(path, { force: true });
  }
});
