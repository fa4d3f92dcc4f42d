/**
 * The Bun Worker that sleeps for a sleeper of the JS thread (see
 * `_sleepers.ts`). It only sleeps: each message is one futex call, made as
 * given, and its raw result is posted back. It reads and writes no memory
 * itself (the kernel reads the sleeper's page when the call starts), so a
 * region closed meanwhile cannot fault it.
 *
 * @module
 */
import { libc } from "../ffi/_libc.ts";
import { type SleepCall, type SleepResult, syscallArguments } from "./_sleep_page.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<SleepCall>) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as WorkerScope;

const timeout = new Uint32Array(4);

scope.onmessage = (event) => {
  const result: SleepResult = Number(libc.syscall(...syscallArguments(event.data, timeout)));
  scope.postMessage(result);
};
// Bun drops messages that arrive before this module has run (its imports
// await), so the JS thread sends the first call only after this one.
scope.postMessage("ready");
