/**
 * Layout accessors against hand-written DataView code, on the same records
 * in a real shared-memory object.
 *
 *   deno run -A bench/layout_bench.ts
 *   bun bench/layout_bench.ts
 *
 * Each case touches every record of an array of 1,000 records, many times
 * over, and reports nanoseconds per record touched (median of 7 runs) and
 * the ratio to the DataView baseline of the same work.
 *
 * @module
 */
import process from "node:process";
import { array, char, f64, i32, SharedMemory, struct, u8 } from "../mod.ts";
import { _setCodegen } from "../layout/_codegen.ts";

const N = 1000;
const ROUNDS = Number(process.env.LAYOUT_BENCH_ROUNDS ?? 2000);
const RUNS = 7;
const runtime = "Deno" in globalThis ? "deno" : "bun";

const Person = struct({ id: i32, age: i32, score: f64, name: char(16), tag: u8 }, {
  name: "Person",
});
// Offsets for the hand-written code, straight from the C rules.
const AGE = 4, SCORE = 8, NAME = 16, STRIDE = 40;
if (
  Person.offsetOf("age") !== AGE || Person.offsetOf("score") !== SCORE ||
  Person.offsetOf("name") !== NAME || Person.byteLength !== STRIDE
) throw new Error("the hand-written offsets are wrong");

// A program rarely has one layout: use a few others first so that shared
// code paths see several record shapes, as they would in an application.
// With `codegen` false they are built from closures, as where code
// generation is not allowed: then the closures every layout shares see all
// those shapes, which is the cost that generating accessors avoids.
function warmOtherLayouts(shm: SharedMemory, codegen: boolean): void {
  const before = _setCodegen(codegen);
  try {
    for (let k = 0; k < 4; k++) {
      const Other = struct(
        { a: u8, b: i32, c: f64, d: array(i32, k + 1) },
        { name: `Other${k}${codegen ? "" : "Closures"}` },
      );
      const others = Other.array(shm, 1 << 16, 64);
      for (let r = 0; r < 200; r++) {
        for (let i = 0; i < 64; i++) {
          const o = others.get(i);
          o.b = o.b + 1;
          o.c += o.d.get(0);
        }
      }
    }
  } finally {
    _setCodegen(before);
  }
}

interface Row {
  name: string;
  ns: number;
  base?: string;
}
const rows: Row[] = [];

function bench(name: string, fn: () => number, perRound = N, base?: string): number {
  const rounds = Math.max(1, Math.floor(ROUNDS * N / perRound / 4));
  for (let w = 0; w < 3; w++) fn();
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let k = 0; k < rounds; k++) sink += fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ns = (times[RUNS >> 1] * 1e6) / (rounds * perRound);
  rows.push({ name, ns, base });
  if (Number.isNaN(sink)) console.log("");
  return ns;
}

const shmName = `/shmkit-bench-layout-${process.pid}`;
const shm = SharedMemory.create(shmName, 1 << 20);
try {
  warmOtherLayouts(shm, true);
  const dv = new DataView(shm.buffer);
  const people = Person.array(shm, 0, N);
  for (let i = 0; i < N; i++) people.set(i, { id: i, age: i % 90, score: i / 7, name: `p${i}` });
  const REPEAT = 4;

  // Read-modify-write of two number fields.
  bench("DataView: age += 1, sum score", () => {
    let s = 0;
    for (let r = 0; r < REPEAT; r++) {
      for (let i = 0; i < N; i++) {
        const o = i * STRIDE;
        dv.setInt32(o + AGE, (dv.getInt32(o + AGE, true) + 1) | 0, true);
        s += dv.getFloat64(o + SCORE, true);
      }
    }
    return s;
  }, N * REPEAT);
  bench(
    "people.get(i): age += 1, sum score",
    () => {
      let s = 0;
      for (let r = 0; r < REPEAT; r++) {
        for (let i = 0; i < N; i++) {
          const p = people.get(i);
          p.age = (p.age + 1) | 0;
          s += p.score;
        }
      }
      return s;
    },
    N * REPEAT,
    "DataView: age += 1, sum score",
  );
  bench(
    "people[i]: age += 1, sum score",
    () => {
      let s = 0;
      for (let r = 0; r < REPEAT; r++) {
        for (let i = 0; i < N; i++) {
          const p = people[i];
          p.age = (p.age + 1) | 0;
          s += p.score;
        }
      }
      return s;
    },
    N * REPEAT,
    "DataView: age += 1, sum score",
  );
  bench(
    "for (const p of people): same",
    () => {
      let s = 0;
      for (let r = 0; r < REPEAT; r++) {
        for (const p of people) {
          p.age = (p.age + 1) | 0;
          s += p.score;
        }
      }
      return s;
    },
    N * REPEAT,
    "DataView: age += 1, sum score",
  );

  // Reads only.
  bench("DataView: sum age", () => {
    let s = 0;
    for (let r = 0; r < REPEAT; r++) {
      for (let i = 0; i < N; i++) s += dv.getInt32(i * STRIDE + AGE, true);
    }
    return s;
  }, N * REPEAT);
  bench(
    "people.get(i).age: sum",
    () => {
      let s = 0;
      for (let r = 0; r < REPEAT; r++) for (let i = 0; i < N; i++) s += people.get(i).age;
      return s;
    },
    N * REPEAT,
    "DataView: sum age",
  );
  const one = people.get(500);
  bench(
    "one record: sum age",
    () => {
      let s = 0;
      for (let r = 0; r < REPEAT; r++) for (let i = 0; i < N; i++) s += one.age;
      return s;
    },
    N * REPEAT,
    "DataView: sum age",
  );

  // Strings.
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const bytes = new Uint8Array(shm.buffer);
  bench("DataView-style: read name (scan NUL + decode)", () => {
    let s = 0;
    for (let i = 0; i < N; i++) {
      const o = i * STRIDE + NAME;
      let end = o;
      while (end < o + 16 && bytes[end] !== 0) end++;
      s += decoder.decode(bytes.subarray(o, end)).length;
    }
    return s;
  });
  bench(
    "people.get(i).name: read",
    () => {
      let s = 0;
      for (let i = 0; i < N; i++) s += people.get(i).name.length;
      return s;
    },
    N,
    "DataView-style: read name (scan NUL + decode)",
  );
  bench("DataView-style: write name (encodeInto + NUL fill)", () => {
    for (let i = 0; i < N; i++) {
      const o = i * STRIDE + NAME;
      const { written } = encoder.encodeInto(`q${i}`, bytes.subarray(o, o + 15));
      bytes.fill(0, o + written, o + 16);
    }
    return 0;
  });
  bench(
    "people.get(i).name = ...: write",
    () => {
      for (let i = 0; i < N; i++) people.get(i).name = `q${i}`;
      return 0;
    },
    N,
    "DataView-style: write name (encodeInto + NUL fill)",
  );

  // Number arrays.
  const Samples = array(f64, N);
  const samples = Samples.at(shm, 1 << 17);
  const f64s = new Float64Array(shm.buffer, 1 << 17, N);
  bench("Float64Array: sum", () => {
    let s = 0;
    for (let r = 0; r < REPEAT; r++) for (let i = 0; i < N; i++) s += f64s[i];
    return s;
  }, N * REPEAT);
  bench(
    "ValueArray.get(i): sum",
    () => {
      let s = 0;
      for (let r = 0; r < REPEAT; r++) for (let i = 0; i < N; i++) s += samples.get(i);
      return s;
    },
    N * REPEAT,
    "Float64Array: sum",
  );
  bench(
    "ValueArray[i]: sum",
    () => {
      let s = 0;
      for (let i = 0; i < N; i++) s += samples[i];
      return s;
    },
    N,
    "Float64Array: sum",
  );
  bench(
    "ValueArray.asTypedArray(): sum",
    () => {
      const t = samples.asTypedArray();
      let s = 0;
      for (let r = 0; r < REPEAT; r++) for (let i = 0; i < N; i++) s += t[i];
      return s;
    },
    N * REPEAT,
    "Float64Array: sum",
  );

  // Without code generation (what runs where new Function is not allowed),
  // in a program that has used other layouts built the same way.
  warmOtherLayouts(shm, false);
  _setCodegen(false);
  const Slow = struct({ id: i32, age: i32, score: f64, name: char(16), tag: u8 }, { name: "Slow" });
  const slow = Slow.array(shm, 0, N);
  _setCodegen(true);
  bench(
    "closure-built accessors (no codegen): same as people.get(i)",
    () => {
      let s = 0;
      for (let r = 0; r < REPEAT; r++) {
        for (let i = 0; i < N; i++) {
          const p = slow.get(i);
          p.age = (p.age + 1) | 0;
          s += p.score;
        }
      }
      return s;
    },
    N * REPEAT,
    "DataView: age += 1, sum score",
  );

  const byName = new Map(rows.map((r) => [r.name, r.ns]));
  console.log(`layout bench, ${runtime}, ${N} records x ${ROUNDS} rounds, median of ${RUNS}`);
  for (const row of rows) {
    const ratio = row.base ? `${(row.ns / byName.get(row.base)!).toFixed(1)}x` : "base";
    console.log(`${row.name.padEnd(62)} ${row.ns.toFixed(2).padStart(8)} ns  ${ratio}`);
  }
} finally {
  shm.close();
  SharedMemory.unlink(shmName);
}
