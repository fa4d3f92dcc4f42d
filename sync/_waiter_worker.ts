/**
 * The module a web `Worker` of the sleepers' pool runs (see
 * `_worker_pool.ts`): it only connects the Worker's global scope to
 * `serveSleepCalls`.
 *
 * @module
 */
import type { SleepCall } from "./_sleep_page.ts";
import { serveSleepCalls } from "./_worker_pool.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<SleepCall>) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as WorkerScope;

serveSleepCalls({
  listen: (listener) => {
    scope.onmessage = (event) => listener(event.data);
  },
  post: (message) => scope.postMessage(message),
});
