// Layouts agree with the C compiler: the same structs, declared once here,
// are emitted as C and as layouts; a compiled C program prints sizeof,
// _Alignof and offsetof of every field path the layout describes, and each
// must match. Then a C program and a TS process exchange records through
// one POSIX shared-memory object.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  array,
  bytes,
  char,
  f32,
  f64,
  type FieldType,
  flag,
  i16,
  i32,
  i64,
  i8,
  mutex,
  semaphore,
  SharedMemory,
  struct,
  type StructLayout,
  u16,
  u32,
  u64,
  u8,
} from "../mod.ts";
import { assertSucceeded, compileC, runCommand, uniqueName } from "./_helpers.ts";

// A type known to both sides: the layout type and a C declarator.
interface Both {
  ts: FieldType;
  decl(name: string): string;
}
const prim = (ts: FieldType, c: string): Both => ({ ts, decl: (n) => `${c} ${n}` });
const I8 = prim(i8, "int8_t");
const U8 = prim(u8, "uint8_t");
const I16 = prim(i16, "int16_t");
const U16 = prim(u16, "uint16_t");
const I32 = prim(i32, "int32_t");
const U32 = prim(u32, "uint32_t");
const I64 = prim(i64, "int64_t");
const U64 = prim(u64, "uint64_t");
const F32 = prim(f32, "float");
const F64 = prim(f64, "double");
const CHAR = (n: number): Both => ({ ts: char(n), decl: (name) => `char ${name}[${n}]` });
const BYTES = (n: number): Both => ({ ts: bytes(n), decl: (name) => `uint8_t ${name}[${n}]` });
const ARRAY = (e: Both, n: number): Both => ({
  ts: array(e.ts, n),
  decl: (name) => e.decl(`${name}[${n}]`),
});
// shmkit's Mutex is its own futex-based lock, not a pthread_mutex_t: C sees
// its slot as opaque bytes of the size and alignment the Mutex class reports.
const MUTEX: Both = {
  ts: mutex,
  decl: (n) => `_Alignas(${mutex.alignment}) unsigned char ${n}[${mutex.byteLength}]`,
};
const SEM = prim(semaphore, "sem_t");
const FLAG = prim(flag, "int");

const definitions: string[] = [];
interface Shape {
  tag: string;
  layout: StructLayout<Record<string, FieldType>>;
}
const shapes: Shape[] = [];

function STRUCT(tag: string, fields: [string, Both][]): Both {
  const layout = struct(Object.fromEntries(fields.map(([n, b]) => [n, b.ts])), { name: tag });
  definitions.push(`struct ${tag} {\n${fields.map(([n, b]) => `  ${b.decl(n)};`).join("\n")}\n};`);
  shapes.push({ tag, layout });
  return { ts: layout, decl: (name) => `struct ${tag} ${name}` };
}

const People = STRUCT("people", [["name", CHAR(4)], ["age", I32]]);
STRUCT("shared_use_st", [["written_by_you", I32], ["some_text", CHAR(2048)]]);
STRUCT("mixed", [["a", U8], ["b", F64], ["c", I16], ["d", I64], ["e", U8]]);
STRUCT("char_int_char", [["c", I8], ["i", I32], ["d", I8]]);
STRUCT("short_tail", [["a", I16], ["b", U8]]);
STRUCT("only_bytes", [["a", U8], ["b", U8], ["c", U8]]);
const Inner = STRUCT("inner", [["x", U8], ["y", F64]]);
STRUCT("nested", [["tag", U8], ["in", Inner], ["z", U16]]);
STRUCT("arrays", [["a", U8], ["v", ARRAY(I32, 3)], ["b", U8], ["w", ARRAY(F64, 2)], [
  "s",
  CHAR(5),
]]);
STRUCT("people_list", [["n", U8], ["ps", ARRAY(People, 3)], ["tail", U8]]);
STRUCT("grid", [["a", U8], ["g", ARRAY(ARRAY(I16, 4), 3)], ["b", U8]]);
STRUCT("names", [["count", U16], ["names", ARRAY(CHAR(7), 3)], ["last", U32]]);
STRUCT("blob", [["id", BYTES(16)], ["n", U32], ["big", U64], ["odd", BYTES(3)]]);
STRUCT("floats", [["x", F32], ["y", U8], ["z", F32], ["w", U64], ["v", F32]]);
STRUCT("every_number", [
  ["a", I8],
  ["b", U8],
  ["c", I16],
  ["d", U16],
  ["e", I32],
  ["f", U32],
  ["g", I64],
  ["h", U64],
  ["i", F32],
  ["j", F64],
]);
const Locked = STRUCT("locked", [["a", U8], ["lock", MUTEX], ["b", U8], ["sem", SEM], ["f", FLAG], [
  "c",
  I8,
]]);
STRUCT("deep", [["pre", I8], ["l", ARRAY(Locked, 2)], ["inner", ARRAY(Inner, 2)], ["post", I16]]);
STRUCT("struct_in_struct", [["outer", STRUCT("mid", [["i", Inner], ["k", I8]])], ["t", U8]]);

function cProgram(): string {
  const lines: string[] = [];
  for (const { tag, layout } of shapes) {
    lines.push(
      `  printf("%s %zu %zu\\n", "${tag}", sizeof(struct ${tag}), (size_t)_Alignof(struct ${tag}));`,
    );
    for (const line of layout.describe().split("\n").slice(1)) {
      const path = line.slice(0, line.indexOf(" "));
      lines.push(
        `  printf("%s.%s %zu\\n", "${tag}", "${path}", offsetof(struct ${tag}, ${path}));`,
      );
    }
  }
  return `#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <semaphore.h>

${definitions.join("\n\n")}

int main(void) {
${lines.join("\n")}
  return 0;
}
`;
}

test("struct() offsets, sizes and alignments match the C compiler for every shape", async () => {
  const exe = await compileC(cProgram(), "layout_abi");
  const result = await runCommand(exe, []);
  assertSucceeded(result, "layout_abi");
  const reported = new Map<string, number[]>();
  for (const line of result.stdout.trim().split("\n")) {
    const [key, ...numbers] = line.split(" ");
    reported.set(key, numbers.map(Number));
  }
  let checked = 0;
  for (const { tag, layout } of shapes) {
    assert.deepEqual(
      [layout.byteLength, layout.alignment],
      reported.get(tag),
      `sizeof/_Alignof of struct ${tag}`,
    );
    for (const line of layout.describe().split("\n").slice(1)) {
      const path = line.slice(0, line.indexOf(" "));
      const offset = Number(line.slice(line.lastIndexOf("@") + 1));
      assert.equal(offset, reported.get(`${tag}.${path}`)?.[0], `offsetof(struct ${tag}, ${path})`);
      assert.equal(layout.offsetOf(path), offset, `offsetOf("${path}") of ${tag}`);
      checked++;
    }
  }
  assert.ok(checked > 80, `only ${checked} offsets compared`);
});

test("offsetOf() reaches into later array elements like C's offsetof", async () => {
  const deep = shapes.find((s) => s.tag === "deep")!.layout;
  const grid = shapes.find((s) => s.tag === "grid")!.layout;
  const paths: [StructLayout<Record<string, FieldType>>, string, string][] = [
    [deep, "deep", "l[1].sem"],
    [deep, "deep", "inner[1].y"],
    [grid, "grid", "g[2][3]"],
  ];
  const exe = await compileC(
    `#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <semaphore.h>
${definitions.join("\n")}
int main(void) {
${paths.map(([, tag, p]) => `  printf("%zu\\n", offsetof(struct ${tag}, ${p}));`).join("\n")}
  return 0;
}
`,
    "layout_offsets",
  );
  const result = await runCommand(exe, []);
  assertSucceeded(result);
  assert.deepEqual(
    paths.map(([layout, , p]) => layout.offsetOf(p)),
    result.stdout.trim().split("\n").map(Number),
  );
});

const EXCHANGE_C = `#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct point { int16_t x, y; };
struct rec {
  char name[8];
  int32_t age;
  double score;
  int64_t id;
  uint8_t tag[4];
  struct point pos;
  uint16_t flags[3];
};

int main(int argc, char **argv) {
  int fd = shm_open(argv[1], O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 2; }
  struct rec *r = mmap(NULL, 10 * sizeof(struct rec), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (r == MAP_FAILED) { perror("mmap"); return 2; }
  for (int i = 0; i < 10; i++) {
    char want[8];
    snprintf(want, sizeof want, "p%d", i);
    if (strcmp(r[i].name, want) != 0) { printf("rec %d name %s\\n", i, r[i].name); return 1; }
    if (r[i].age != i * 3) { printf("rec %d age %d\\n", i, r[i].age); return 1; }
    if (r[i].score != i * 1.5) { printf("rec %d score %f\\n", i, r[i].score); return 1; }
    if (r[i].id != (int64_t)i * 1000000000000LL) { printf("rec %d id %lld\\n", i, (long long)r[i].id); return 1; }
    for (int k = 0; k < 4; k++) if (r[i].tag[k] != i + k) { printf("rec %d tag\\n", i); return 1; }
    if (r[i].pos.x != -i || r[i].pos.y != i * 2) { printf("rec %d pos\\n", i); return 1; }
    if (r[i].flags[2] != 65535 - i) { printf("rec %d flags\\n", i); return 1; }
    snprintf(r[i].name, sizeof r[i].name, "c%d", i);
    r[i].age += 100;
    r[i].score *= 2;
    r[i].id = -r[i].id;
    r[i].pos.x = 1000 + i;
    r[i].flags[0] = 7;
  }
  printf("ok %zu\\n", sizeof(struct rec));
  return 0;
}
`;

test("a C program reads records a layout wrote and writes back what the layout then reads", async () => {
  const Rec = struct({
    name: char(8),
    age: i32,
    score: f64,
    id: i64,
    tag: bytes(4),
    pos: struct({ x: i16, y: i16 }),
    flags: array(u16, 3),
  });
  const exe = await compileC(EXCHANGE_C, "layout_exchange");
  const name = uniqueName("layout-exchange");
  using shm = SharedMemory.create(name, Rec.byteLength * 10);
  try {
    const recs = Rec.array(shm, 0, 10);
    for (let i = 0; i < 10; i++) {
      recs.set(i, {
        name: `p${i}`,
        age: i * 3,
        score: i * 1.5,
        id: BigInt(i) * 1_000_000_000_000n,
        tag: [i, i + 1, i + 2, i + 3],
        pos: { x: -i, y: i * 2 },
        flags: [0, 0, 65535 - i],
      });
    }
    const result = await runCommand(exe, [name]);
    assertSucceeded(result, "layout_exchange");
    assert.equal(result.stdout.trim(), `ok ${Rec.byteLength}`);
    for (let i = 0; i < 10; i++) {
      const r = recs[i];
      assert.equal(r.name, `c${i}`);
      assert.equal(r.age, i * 3 + 100);
      assert.equal(r.score, i * 3);
      assert.equal(r.id, -BigInt(i) * 1_000_000_000_000n);
      assert.deepEqual([...r.tag], [i, i + 1, i + 2, i + 3]);
      assert.deepEqual([r.pos.x, r.pos.y], [1000 + i, i * 2]);
      assert.deepEqual([...r.flags], [7, 0, 65535 - i]);
    }
  } finally {
    shm.unlink();
  }
});

const HEADER_C = `#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct shmkit_layout_header {
  uint32_t magic;
  uint16_t format, reserved;
  uint32_t version, hash, description_length, data_offset;
  uint64_t data_length;
};
struct people { char name[4]; int age; };

int main(int argc, char **argv) {
  int fd = shm_open(argv[1], O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 2; }
  unsigned char *base = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) { perror("mmap"); return 2; }
  struct shmkit_layout_header *h = (void *)base;
  if (memcmp(&h->magic, "SHKL", 4) != 0 || h->format != 1) { printf("bad magic\\n"); return 1; }
  if (h->data_length != 10 * sizeof(struct people)) { printf("data_length %llu\\n", (unsigned long long)h->data_length); return 1; }
  struct people *p = (void *)(base + h->data_offset);
  printf("%u %.*s %s %d\\n", h->version, (int)h->description_length, (char *)(h + 1), p[3].name, p[3].age);
  p[4].age = 44;
  return 0;
}
`;

test("a C program finds the data behind a layout header through its data_offset", async () => {
  const People = struct({ name: char(4), age: i32 });
  const Crowd = array(People, 10);
  const exe = await compileC(HEADER_C, "layout_header_c");
  const name = uniqueName("layout-header-c");
  using shm = SharedMemory.create(name, 4096);
  try {
    const crowd = Crowd.init(shm, 0, { header: true, version: 7 });
    crowd.set(3, { name: "Ann", age: 33 });
    const result = await runCommand(exe, [name]);
    assertSucceeded(result, "layout_header_c");
    const [version, ...rest] = result.stdout.trim().split(" ");
    assert.equal(version, "7");
    assert.ok(rest.join(" ").startsWith(Crowd.describe().split(" ")[0]));
    assert.ok(result.stdout.trim().endsWith("Ann 33"), result.stdout);
    assert.equal(crowd[4].age, 44);
  } finally {
    shm.unlink();
  }
});
