/**
 * What exists now among IPC objects: /dev/shm entries (POSIX objects and
 * named semaphores) and System V segments, semaphore sets and queues by kind,
 * key and id. One list for the test runner (what the suite must not leave
 * behind) and for tests that show a refused call created nothing.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";

/**
 * The IPC objects of this machine, one string each.
 *
 * @returns {Set<string>}
 */
export function ipcObjects() {
  const found = new Set(readdirSync("/dev/shm").map((n) => `/dev/shm/${n}`));
  for (const kind of ["shm", "sem", "msg"]) {
    const table = `/proc/sysvipc/${kind}`;
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").trim().split("\n").slice(1)) {
      const [key, id] = line.trim().split(/\s+/);
      found.add(`System V ${kind} key ${key} id ${id}`);
    }
  }
  return found;
}
