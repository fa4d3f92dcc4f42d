/**
 * Permission modes are exact: `{ mode: 0o666 }` gives a 0666 object whatever
 * the umask, for SharedMemory, NamedSemaphore and MappedFile, without the
 * process umask being changed; and another user can then really open it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { NamedSemaphore, SharedMemory } from "../mod.ts";
import { commandFor, MOD_URL, runCommand, RUNTIMES, scratchPath, uniqueName } from "./_helpers.ts";

const NOBODY = 65534;

function describeExit(result: { code: number | null; signal: string | null; stderr: string }) {
  return `exit ${result.code ?? result.signal}\n${result.stderr}`;
}

function semFile(name: string): string {
  return `/dev/shm/sem.${name.slice(1)}`;
}

function removeAll(names: { shm: string[]; sem: string[] }): void {
  for (const name of names.shm) rmSync(`/dev/shm${name}`, { force: true });
  for (const name of names.sem) rmSync(semFile(name), { force: true });
}

const CREATE_ALL = `
  import process from "node:process";
  import { readFileSync } from "node:fs";
  import { MappedFile, NamedSemaphore, SharedMemory } from "$MOD";
  const umask = () => readFileSync("/proc/self/status", "utf8").match(/Umask:\\s*(\\d+)/)[1];
  const [shm, sem, files] = process.argv.slice(2).map((list) => list.split(","));
  const before = umask();
  SharedMemory.create(shm[0], 4096, { mode: 0o666 }).close();
  SharedMemory.openOrCreate(shm[1], 4096, { mode: 0o606 }).close();
  SharedMemory.create(shm[2], 4096, { mode: 0o777, exclusive: false }).close();
  SharedMemory.create(shm[3], 4096).close();
  NamedSemaphore.create(sem[0], 0, { mode: 0o666 }).close();
  NamedSemaphore.openOrCreate(sem[1], 0, { mode: 0o606 }).close();
  NamedSemaphore.create(sem[2], 0, { mode: 0o777, exclusive: false }).close();
  NamedSemaphore.create(sem[3], 0).close();
  MappedFile.open(files[0], { create: true, size: 64, mode: 0o666 }).close();
  MappedFile.open(files[1], { create: true, size: 64, mode: 0o777, exclusive: false }).close();
  MappedFile.open(files[2], { create: true, size: 64 }).close();
  console.log(JSON.stringify({ before, after: umask() }));
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: objects get exactly the mode asked for under umask 022`, async () => {
    const names = {
      shm: [0, 1, 2, 3].map((i) => uniqueName(`mode-shm${i}`)),
      sem: [0, 1, 2, 3].map((i) => uniqueName(`mode-sem${i}`)),
    };
    const files = [0, 1, 2].map((i) => scratchPath(`mode-file${i}`));
    const script = scratchPath(`modes-${runtime}`, ".ts");
    writeFileSync(script, CREATE_ALL.replaceAll("$MOD", MOD_URL));
    const lists = [names.shm.join(","), names.sem.join(","), files.join(",")];
    const { command, args } = commandFor(runtime, script, lists, ["--allow-all"]);
    try {
      const result = await runCommand("sh", [
        "-c",
        'umask 022 && exec "$@"',
        "sh",
        command,
        ...args,
      ]);
      assert.equal(result.code, 0, describeExit(result));
      assert.deepEqual(JSON.parse(result.stdout), { before: "0022", after: "0022" });
      const modeOf = (file: string) => `0o${(statSync(file).mode & 0o777).toString(8)}`;
      assert.deepEqual(
        {
          shm: names.shm.map((name) => modeOf(`/dev/shm${name}`)),
          sem: names.sem.map((name) => modeOf(semFile(name))),
          files: files.map(modeOf),
        },
        {
          shm: ["0o666", "0o606", "0o777", "0o600"],
          sem: ["0o666", "0o606", "0o777", "0o600"],
          files: ["0o666", "0o777", "0o600"],
        },
      );
    } finally {
      removeAll(names);
      for (const file of files) rmSync(file, { force: true });
    }
  });
}

const AS_NOBODY = `
  import process from "node:process";
  import { NamedSemaphore, SharedMemory } from "$MOD";
  const [shmName, semName] = process.argv.slice(2);
  const out = { uid: process.getuid() };
  try {
    using shm = SharedMemory.open(shmName);
    shm.view(Uint8Array)[0] = 42;
    out.shm = "wrote";
  } catch (error) {
    out.shm = error.code ?? String(error);
  }
  try {
    using sem = NamedSemaphore.open(semName);
    sem.post();
    out.sem = "posted";
  } catch (error) {
    out.sem = error.code ?? String(error);
  }
  console.log(JSON.stringify(out));
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: another user opens a 0o666 SharedMemory and NamedSemaphore read-write`, async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip("needs root to run a child as nobody");
      return;
    }
    const shmName = uniqueName("nobody-shm");
    const semName = uniqueName("nobody-sem");
    // The child runs as nobody, so its script lives in a folder nobody may read.
    const dir = mkdtempSync(path.join(tmpdir(), "shmkit-nobody-"));
    try {
      chmodSync(dir, 0o755);
      const script = path.join(dir, "child.ts");
      writeFileSync(script, AS_NOBODY.replaceAll("$MOD", MOD_URL), { mode: 0o644 });
      using shm = SharedMemory.create(shmName, 4096, { mode: 0o666 });
      using sem = NamedSemaphore.create(semName, 0, { mode: 0o666 });
      const { command, args } = commandFor(runtime, script, [shmName, semName]);
      const result = await runCommand("setpriv", [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        command,
        ...args,
      ]);
      assert.equal(result.code, 0, describeExit(result));
      assert.deepEqual(JSON.parse(result.stdout), { uid: NOBODY, shm: "wrote", sem: "posted" });
      assert.equal(shm.view(Uint8Array)[0], 42);
      assert.equal(sem.value, 1);
    } finally {
      removeAll({ shm: [shmName], sem: [semName] });
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
