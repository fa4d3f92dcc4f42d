/**
 * Sleeping threads where the FFI runs foreign calls off the JS thread
 * (Deno): each futex call goes through the asynchronous twin of `syscall`,
 * which runs it on one of the runtime's helper threads. Such a call keeps the
 * process alive exactly while it is in flight, and Deno.test's op sanitizer
 * sees it only then. The helper's errno is not visible here; sleepers do
 * without it.
 *
 * @module
 */
import type { LibcAsyncFunctions } from "../ffi/internal.ts";
import type { SleepersOptions } from "./_sleepers.ts";
import { syscallArguments } from "./_sleep_page.ts";

/**
 * Deno's helper threads also serve file I/O, and a call holds one for as
 * long as it sleeps: 16 leave most of them to I/O and, with futex_waitv,
 * still arm 2,032 words.
 */
const MAX_SLEEPERS = 16;

/** Sleepers whose calls run on the runtime's helper threads. */
export function helperThreadSleepers(
  libcAsync: LibcAsyncFunctions,
  multiplexed: boolean,
): SleepersOptions {
  return {
    multiplexed,
    maxSleepers: MAX_SLEEPERS,
    startThread: () => {
      // Stays referenced by this closure until the call has returned.
      const timeout = new Uint32Array(4);
      let used = false;
      return {
        get mayRead() {
          return used;
        },
        sleep(call) {
          used = true;
          return libcAsync.syscall(...syscallArguments(call, timeout)).then(Number);
        },
        end() {},
      };
    },
  };
}
