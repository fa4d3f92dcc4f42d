/**
 * Every number in the per-platform constant files is checked against what a
 * C compiler for that platform says, from the real headers: the native cc for
 * linux-x64, and aarch64-linux-gnu-gcc (when installed) for linux-arm64.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { ERRNO_NAMES, LINUX_ARM64, LINUX_X64 } from "../ffi/internal.ts";
import { runCommand, scratchPath } from "./_helpers.ts";

/** Constants whose C expression is not simply their own name. */
const EXPRESSIONS: Record<string, string> = {
  FUTEX_BITSET_MATCH_ANY: "(long)(unsigned)FUTEX_BITSET_MATCH_ANY",
  TIMESPEC_SIZE: "sizeof(struct timespec)",
  // Named FUTEX_32 in the 6.1 headers, FUTEX2_SIZE_U32 from 6.7 on.
  FUTEX2_SIZE_U32: "FUTEX_32",
  FUTEX_WAITV_SIZE: "sizeof(struct futex_waitv)",
  IPC_PERM_UID: "offsetof(struct shmid_ds, shm_perm.uid)",
  IPC_PERM_GID: "offsetof(struct shmid_ds, shm_perm.gid)",
  IPC_PERM_CUID: "offsetof(struct shmid_ds, shm_perm.cuid)",
  IPC_PERM_CGID: "offsetof(struct shmid_ds, shm_perm.cgid)",
  IPC_PERM_MODE: "offsetof(struct shmid_ds, shm_perm.mode)",
  SHMID_DS_SIZE: "sizeof(struct shmid_ds)",
  SHM_SEGSZ: "offsetof(struct shmid_ds, shm_segsz)",
  SHM_ATIME: "offsetof(struct shmid_ds, shm_atime)",
  SHM_DTIME: "offsetof(struct shmid_ds, shm_dtime)",
  SHM_CTIME: "offsetof(struct shmid_ds, shm_ctime)",
  SHM_CPID: "offsetof(struct shmid_ds, shm_cpid)",
  SHM_LPID: "offsetof(struct shmid_ds, shm_lpid)",
  SHM_NATTCH: "offsetof(struct shmid_ds, shm_nattch)",
  MSQID_DS_SIZE: "sizeof(struct msqid_ds)",
  MSG_STIME: "offsetof(struct msqid_ds, msg_stime)",
  MSG_RTIME: "offsetof(struct msqid_ds, msg_rtime)",
  MSG_CTIME: "offsetof(struct msqid_ds, msg_ctime)",
  MSG_CBYTES: "offsetof(struct msqid_ds, __msg_cbytes)",
  MSG_LSPID: "offsetof(struct msqid_ds, msg_lspid)",
  MSG_LRPID: "offsetof(struct msqid_ds, msg_lrpid)",
  MSG_QNUM: "offsetof(struct msqid_ds, msg_qnum)",
  MSG_QBYTES: "offsetof(struct msqid_ds, msg_qbytes)",
  SEM_T_SIZE: "sizeof(sem_t)",
  SEM_T_ALIGN: "_Alignof(sem_t)",
  STAT_SIZE: "sizeof(struct stat)",
  STAT_MODE: "offsetof(struct stat, st_mode)",
  STAT_UID: "offsetof(struct stat, st_uid)",
  STAT_GID: "offsetof(struct stat, st_gid)",
  STAT_SIZE_FIELD: "offsetof(struct stat, st_size)",
};

const HEADERS = [
  "stddef.h",
  "errno.h",
  "fcntl.h",
  "limits.h",
  "unistd.h",
  "time.h",
  "pthread.h",
  "semaphore.h",
  "sys/mman.h",
  "sys/stat.h",
  "sys/ipc.h",
  "sys/shm.h",
  "sys/msg.h",
  "sys/syscall.h",
  "linux/futex.h",
];

type Platform = Record<string, unknown>;

function cSource(platform: Platform): { source: string; names: string[] } {
  const names = Object.entries(platform)
    .filter(([, value]) => typeof value === "number")
    .map(([name]) => name);
  const lines = HEADERS.map((h) => `#include <${h}>`);
  for (const name of names) {
    const expression = EXPRESSIONS[name] ?? name;
    lines.push(`__attribute__((used)) const long v_${name} = (long)(${expression});`);
  }
  for (const value of Object.keys(ERRNO_NAMES)) {
    const name = ERRNO_NAMES[Number(value)];
    lines.push(`__attribute__((used)) const long e_${name} = ${name};`);
  }
  return { source: "#define _GNU_SOURCE\n" + lines.join("\n") + "\n", names };
}

/** Compiles to assembly and reads each constant's value back. */
async function valuesFromCompiler(compiler: string, source: string) {
  const file = scratchPath("constants", ".c");
  writeFileSync(file, source);
  const r = await runCommand(compiler, ["-S", "-O0", "-o", "-", file]);
  if (r.code !== 0) throw new Error(`${compiler} failed:\n${r.stderr}`);
  const values = new Map<string, number>();
  const lines = r.stdout.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const label = /^([ve]_\w+):$/.exec(lines[i].trim());
    if (!label) continue;
    for (let j = i + 1; j < lines.length; j++) {
      const data = /^\.(?:quad|xword|8byte|dword)\s+(-?\d+)/.exec(lines[j].trim());
      if (data) {
        values.set(label[1], Number(data[1]));
        break;
      }
      if (/^\.zero\s+8/.test(lines[j].trim())) {
        values.set(label[1], 0);
        break;
      }
    }
  }
  return values;
}

async function hasCompiler(compiler: string): Promise<boolean> {
  try {
    return (await runCommand(compiler, ["--version"])).code === 0;
  } catch {
    return false;
  }
}

const TARGETS: [string, Platform, string][] = [
  ["linux-x64", LINUX_X64, "x86_64-linux-gnu-gcc"],
  ["linux-arm64", LINUX_ARM64, "aarch64-linux-gnu-gcc"],
];

for (const [label, platform, compiler] of TARGETS) {
  const available = await hasCompiler(compiler) ||
    (label === "linux-x64" && (await hasCompiler("cc")));
  test(
    `every ${label} constant and struct offset matches the C headers (${compiler})`,
    { skip: available ? false : `${compiler} is not installed` },
    async () => {
      const chosen = (await hasCompiler(compiler)) ? compiler : "cc";
      const { source, names } = cSource(platform);
      const values = await valuesFromCompiler(chosen, source);
      const wrong: string[] = [];
      for (const name of names) {
        const actual = values.get(`v_${name}`);
        if (actual !== platform[name]) wrong.push(`${name}: ours ${platform[name]}, C ${actual}`);
      }
      for (const [number, name] of Object.entries(ERRNO_NAMES)) {
        const actual = values.get(`e_${name}`);
        if (actual !== Number(number)) wrong.push(`${name}: ours ${number}, C ${actual}`);
      }
      assert.deepEqual(wrong, []);
      assert.ok(names.length > 50, `only ${names.length} constants checked`);
    },
  );
}

test("an unsupported OS or architecture is refused with an error naming what is supported", async () => {
  const { selectPlatform } = await import("../ffi/internal.ts");
  for (const [os, arch] of [["darwin", "arm64"], ["linux", "ia32"], ["win32", "x64"]]) {
    assert.throws(
      () => selectPlatform(os, arch),
      new RegExp(`supports linux-x64 and linux-arm64; this machine is ${os}-${arch}`),
    );
  }
  assert.equal(selectPlatform("linux", "x64").name, "linux-x64");
  assert.equal(selectPlatform("linux", "arm64").name, "linux-arm64");
});
